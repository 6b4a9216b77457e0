import ArgumentParser
import LLMKit

/// `promptlab render`: shows exactly what one batch sends.
struct RenderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render",
        abstract: "Show the messages and response schema one batch of a dataset sends.",
        discussion: "Descriptions are sanitised so no item can break the batch format; this shows the result.")

    @OptionGroup var prompt: PromptOptions
    @OptionGroup var dataset: DatasetOptions

    @Option(parsing: .unconditional, help: "Which batch to show, 1-based.")
    var batch: Int = 1

    @OptionGroup var slice: SliceOptions

    @Flag(help: "Print the request as canonical JSON (what is hashed for fixtures and the cache) instead of text.")
    var json = false

    func validate() throws {
        guard batch >= 1 else { throw ValidationError("--batch must be 1 or more") }
    }

    func run() throws {
        let version = try prompt.load()
        let size = slice.batchSize ?? version.batchSize
        let reader = try DatasetReader(path: dataset.dataset, format: dataset.format)
        var items: [DatasetItem] = []
        var index = 0
        let first = (batch - 1) * size
        while items.count < size, let item = try reader.next() {
            if let limit = slice.limit, index >= limit { break }
            if index >= first { items.append(item) }
            index += 1
        }
        guard !items.isEmpty else { throw ValidationError("the dataset has no batch \(batch) at batch size \(size) (it has \(index) items)") }
        let rendered = version.render(items)
        if json {
            print(rendered.request(model: "(model)").canonicalEncoding)
            return
        }
        print("# prompt \(version.id), batch \(batch): items \(first + 1)...\(first + items.count) (\(items.map(\.id).joined(separator: ", ")))")
        for message in rendered.messages {
            print("\n=== \(message.role.rawValue) ===")
            print(message.content)
        }
        print("\n=== response schema (\(rendered.responseSchema.name)) ===")
        print(JSONSerializer.string(rendered.responseSchema.schema, style: .pretty))
    }
}
