import LLMKit

/// A relabeling method written outside LLMKit, the way a provider is: it moves a share
/// `weight` of each item's mass onto the reference's most-voted class (a toy "trust the
/// majority" method). It asks no model; a method that does would send its requests through
/// `context.send(_:items:)`, so they pass the run's cache, retries, recordings and answer log.
public struct SharpenMethod: RelabelMethod {
    public let weight: Double

    public init(weight: Double = 0.5) { self.weight = weight }

    public var id: MethodID { "sharpen" }

    /// Recorded in the run's fingerprint: a resume with another weight is refused.
    public var parameters: JSONValue { ["weight": .double(weight)] }

    public func relabel(_ chunk: [DatasetItem], context: MethodContext) async throws -> [ItemOutcome] {
        chunk.map { item in
            let top = Emotion.allCases.max { item.reference[$0] < item.reference[$1] }!
            let adjusted = EvidenceMix.combine(reference: item.reference, evidence: EmotionDistribution(oneHot: top), weight: weight)
            return .relabeled(Relabel(adjusted: adjusted, raw: adjusted.values, reason: "sharpened toward \(top)", sumWasOff: false))
        }
    }
}
