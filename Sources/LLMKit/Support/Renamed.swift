// Names of the 0.x API kept for downstream code, each pointing at its new name. A "batch" is
// now only a provider's batch job (OpenAI's Batch API); the items sent in one request are a
// "chunk" (issue 23, "one meaning per word").

/// Renamed ``ChunkAnswerParser``.
@available(*, deprecated, renamed: "ChunkAnswerParser")
public typealias BatchResponseParser = ChunkAnswerParser

/// Renamed ``ChunkAnswerSchema``.
@available(*, deprecated, renamed: "ChunkAnswerSchema")
public typealias BatchResponseSchema = ChunkAnswerSchema

/// Renamed ``RenderedChunk``.
@available(*, deprecated, renamed: "RenderedChunk")
public typealias RenderedBatch = RenderedChunk

/// Renamed ``ChunkDone``.
@available(*, deprecated, renamed: "ChunkDone")
public typealias BatchDone = ChunkDone

extension RelabelConfiguration {
    /// Renamed ``chunkSize``.
    @available(*, deprecated, renamed: "chunkSize")
    public var batchSize: Int {
        get { chunkSize }
        set { chunkSize = newValue }
    }
}

extension PromptVersion {
    /// Renamed ``chunkSize``.
    @available(*, deprecated, renamed: "chunkSize")
    public var batchSize: Int {
        get { chunkSize }
        set { chunkSize = newValue }
    }
}
