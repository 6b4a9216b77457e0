import ArgumentParser
import Foundation

/// Renamed options keep working: "batch" is kept for provider batch APIs (`--batch-api`,
/// `promptlab batches`), so the items sent in one request are `--items-per-request` (formerly
/// `--batch-size`) and `render --request` (formerly `--batch`). An old name is hidden from
/// `--help` and prints one line on stderr each time it is used.
enum Deprecation {
    /// The value given under `newName` or under its old name `oldName` (which prints the
    /// deprecation line); both at once is a usage error.
    static func value<T>(_ new: T?, _ newName: String, old: T?, _ oldName: String) throws -> T? {
        guard let old else { return new }
        if new != nil { throw ValidationError("\(oldName) is the old name of \(newName): give one") }
        warn(oldName, use: newName)
        return old
    }

    /// `promptlab: OLD is deprecated; use NEW` on stderr.
    static func warn(_ old: String, use new: String) {
        FileHandle.standardError.write(Data("promptlab: \(old) is deprecated; use \(new)\n".utf8))
    }
}

/// The items sent in one request: `--items-per-request N` (formerly `--batch-size`).
struct ItemsPerRequestOptions: ParsableArguments {
    @Option(name: .customLong("items-per-request"), parsing: .unconditional,
            help: "Items sent in one request, 1 to 500 (default: the prompt version's, 30 in the paper).")
    var itemsPerRequest: Int?

    @Option(name: .customLong("batch-size"), parsing: .unconditional,
            help: ArgumentHelp("Deprecated: the old name of --items-per-request.", visibility: .hidden))
    var batchSize: Int?

    func validate() throws {
        try Check.range(itemsPerRequest, "--items-per-request", 1...500)
        try Check.range(batchSize, "--batch-size", 1...500)
        _ = try Deprecation.value(itemsPerRequest, "--items-per-request", old: batchSize, "--batch-size")
    }

    /// The value given under either name; `nil`: the prompt version's.
    var value: Int? { itemsPerRequest ?? batchSize }
}
