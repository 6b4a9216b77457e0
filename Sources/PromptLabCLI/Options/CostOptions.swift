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

    /// A run's cost, as the summary prints it and as `--summary-json` writes it (`"cost"`).
    struct RunCost {
        /// `$0.0123 (gpt-4o-mini at Batch API prices; source, date)`.
        var text: String
        /// `{"dollars", "priced_as", "prices", "source", "date", "text"}`; `dollars` is null when no price is known.
        var json: JSONValue

        /// The cost of a method that asks no model.
        static let noModel = RunCost(text: "nothing (no model asked)", json: ["dollars": .double(0), "priced_as": .null, "text": "nothing (no model asked)"])
    }

    /// What `usage` of `model` cost, at Batch API prices when `batch`.
    func cost(_ usage: TokenUsage, model: String, batch: Bool) throws -> RunCost {
        let table = try table()
        guard let (name, price) = table.price(for: model) else {
            let text = "no price known for \(model) (see --prices)"
            return RunCost(text: text, json: ["dollars": .null, "priced_as": .null, "text": .string(text)])
        }
        let dollars = price.dollars(usage, batch: batch)
        let text = Self.money(dollars) + " (\(name) at \(batch ? "Batch API" : "synchronous") prices; \(table.source), \(table.date))"
        return RunCost(text: text, json: ["dollars": .double(dollars), "priced_as": .string(name), "prices": .string(batch ? "batch_api" : "synchronous"),
                                          "source": .string(table.source), "date": .string(table.date), "text": .string(text)])
    }

    static func money(_ dollars: Double) -> String { dollars >= 100 ? String(format: "$%.2f", dollars) : String(format: "$%.4f", dollars) }

    /// The dry run's report.
    static func render(_ e: DryRunEstimate, prompt: PromptVersion, model: String, table: PriceTable, itemsPerRequest: Int) -> String {
        let perItem = TokenEstimate.expectedCompletionPerItem(prompt)
        let capped = e.expectedCompletion < perItem * e.items
        var rows: [[String]] = [
            ["dry run", "nothing was sent"],
            ["requests", "\(e.requests) (\(e.items) items in requests of \(itemsPerRequest); re-asks and split requests not included)"],
            ["prompt tokens", "\(e.promptTokens) estimated (\(e.characters) characters; by character class, calibrated on Gemma 3's tokenizer: see the docs' CostEstimates article)"],
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
