import ArgumentParser
import LLMKit

/// `promptlab render`: shows exactly what one request sends.
struct RenderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render",
        abstract: "Show the messages and response schema one request of a dataset sends.",
        discussion: "Descriptions are sanitised so no item can break the format of the request; this shows the result.")

    @OptionGroup var prompt: PromptOptions
    @OptionGroup var dataset: DatasetOptions

    @Option(name: .customLong("request"), parsing: .unconditional, help: "Which request to show, 1-based (default: 1).")
    var requestOption: Int?

    @Option(name: .customLong("batch"), parsing: .unconditional, help: ArgumentHelp("Deprecated: the old name of --request.", visibility: .hidden))
    var batch: Int?

    @OptionGroup var slice: SliceOptions

    @Flag(help: "Print the request as canonical JSON (what is hashed for fixtures and the cache) instead of text.")
    var json = false

    func validate() throws {
        if let requestOption, requestOption < 1 { throw ValidationError("--request must be 1 or more") }
        if let batch, batch < 1 { throw ValidationError("--batch must be 1 or more") }
        _ = try Deprecation.value(requestOption, "--request", old: batch, "--batch")
    }

    /// The request to show, under either name.
    var request: Int { requestOption ?? batch ?? 1 }

    func run() throws {
        let version = try prompt.load()
        let size = slice.itemsPerRequest ?? version.chunkSize
        let reader = try DatasetReader(path: dataset.dataset, format: dataset.format, mapping: try dataset.columns.mapping())
        var items: [DatasetItem] = []
        var index = 0
        let first = (request - 1) * size
        while items.count < size, let item = try reader.next() {
            if let limit = slice.limit, index >= limit { break }
            if index >= first { items.append(item) }
            index += 1
        }
        guard !items.isEmpty else { throw ValidationError("the dataset has no request \(request) at \(size) items per request (it has \(index) items)") }
        let rendered = version.render(items)
        if json {
            print(rendered.request(model: "(model)").canonicalEncoding)
            return
        }
        print("# prompt \(version.id), request \(request): items \(first + 1)...\(first + items.count) (\(items.map(\.id).joined(separator: ", ")))")
        for message in rendered.messages {
            print("\n=== \(message.role.rawValue) ===")
            print(message.content)
        }
        print("\n=== response schema (\(rendered.responseSchema.name)) ===")
        print(JSONSerializer.string(rendered.responseSchema.schema, style: .pretty))
    }
}
