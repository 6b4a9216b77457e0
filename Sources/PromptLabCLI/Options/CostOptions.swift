import ArgumentParser
import Foundation
import LLMKit

/// Prices and the dry run.
struct CostOptions: ParsableArguments {
    @Flag(help: "Render every request without sending anything and print the requests, the estimated prompt tokens and the expected cost, synchronous vs Batch API.")
    var dryRun = false

    @Option(help: ArgumentHelp("Prices JSON over the built-in table: {\"source\", \"date\", \"models\": {NAME: {\"input\", \"cached_input\", \"output\", \"batch_discount\"}}} in USD per million tokens.", valueName: "file"))
    var prices: String?

    func table() throws -> PriceTable { try prices.map { try PriceTable.load($0) } ?? .builtin }

    /// `$0.0123 (gpt-4o-mini at Batch API prices; source, date)`, or `nil` when no price is known.
    func dollars(_ usage: TokenUsage, model: String, batch: Bool) throws -> String? {
        let table = try table()
        guard let (name, price) = table.price(for: model) else { return nil }
        return Self.money(price.dollars(usage, batch: batch)) + " (\(name) at \(batch ? "Batch API" : "synchronous") prices; \(table.source), \(table.date))"
    }

    static func money(_ dollars: Double) -> String { dollars >= 100 ? String(format: "$%.2f", dollars) : String(format: "$%.4f", dollars) }

    /// The dry run's report.
    static func render(_ e: DryRunEstimate, prompt: PromptVersion, model: String, table: PriceTable, itemsPerRequest: Int) -> String {
        let perItem = TokenEstimate.expectedCompletionPerItem(prompt)
        let capped = e.expectedCompletion < perItem * e.items
        var rows: [[String]] = [
            ["dry run", "nothing was sent"],
            ["requests", "\(e.requests) (\(e.items) items in requests of \(itemsPerRequest); re-asks and split requests not included)"],
            ["prompt tokens", "\(e.promptTokens) estimated (\(e.characters) characters; by character class, calibrated on Gemma 3's tokenizer: see the README)"],
            ["completion tokens", "\(e.expectedCompletion) expected (\(perItem) per item, measured\(capped ? "; capped at each request's token limit" : "")), "
                + "\(e.completionBudget) at most (the sum of the token budgets)"],
        ]
        if let (name, price) = table.price(for: model) {
            for (label, batch) in [("cost, synchronous", false), ("cost, Batch API", true)] {
                rows.append([label, "\(money(price.dollars(e.usage(upperBound: false), batch: batch))) expected, "
                    + "\(money(price.dollars(e.usage(upperBound: true), batch: batch))) at most (\(name))"])
            }
            rows.append(["prices", "\(table.source), \(table.date)"])
        } else {
            rows.append(["cost", "no price known for the model '\(model)' (add it with --prices FILE)"])
        }
        return Table.render(header: ["", ""], rows: rows).split(separator: "\n").dropFirst().joined(separator: "\n")
    }
}
