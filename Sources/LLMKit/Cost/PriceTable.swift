import Foundation

/// What a model costs, in US dollars per million tokens.
public struct ModelPrice: Sendable, Equatable {
    /// Prompt tokens.
    public var input: Double
    /// Prompt tokens served from the provider's cache (`nil`: the input price).
    public var cachedInput: Double?
    /// Completion tokens.
    public var output: Double
    /// The Batch API's discount on everything (0.5: half the price).
    public var batchDiscount: Double

    public init(input: Double, cachedInput: Double? = nil, output: Double, batchDiscount: Double = 0.5) {
        self.input = input
        self.cachedInput = cachedInput
        self.output = output
        self.batchDiscount = batchDiscount
    }

    /// The dollars `usage` costs, at Batch API prices when `batch`.
    public func dollars(_ usage: TokenUsage, batch: Bool) -> Double {
        let cached = Double(min(usage.cachedTokens, usage.promptTokens))
        let fresh = Double(usage.promptTokens) - cached
        let total = (fresh * input + cached * (cachedInput ?? input) + Double(usage.completionTokens) * output) / 1_000_000
        return batch ? total * (1 - batchDiscount) : total
    }
}

/// Prices per model: the built-in table (``builtin``: OpenAI's published list prices, with
/// their source and date) or a JSON file that overrides and extends it (``load(_:over:)``).
/// A model is found by its exact name, else by the longest listed name it starts with
/// followed by `-` (`gpt-4o-mini-2024-07-18` is priced as `gpt-4o-mini`).
public struct PriceTable: Sendable, Equatable {
    /// Where the prices come from, and when they were read.
    public var source: String
    public var date: String
    public var prices: [String: ModelPrice]

    public init(source: String, date: String, prices: [String: ModelPrice]) {
        self.source = source
        self.date = date
        self.prices = prices
    }

    /// OpenAI's standard-tier list prices in USD per million tokens (input, cached input,
    /// output), as published on https://openai.com/api/pricing in August 2025; the Batch API
    /// halves them. Prices change: check them, and pass `--prices FILE` for current ones.
    ///
    /// Anthropic's (claude.com/pricing; Message Batches 50% off; cache reads at 0.1 of input)
    /// and Google's (ai.google.dev/gemini-api/docs/pricing; prompts up to 200K tokens) list
    /// prices were taken from 2026 summaries of those pages (deploybase.ai, dev.to, June 2026),
    /// not checked against the live pages: verify them before relying on a dollar figure.
    public static let builtin = PriceTable(source: "list prices: OpenAI's (openai.com/api/pricing), Anthropic's and Google's (2026-06 summaries of their pricing pages, unverified); batch APIs 50% off", date: "2025-08 / 2026-06", prices: [
        "claude-opus-4-5": ModelPrice(input: 5, cachedInput: 0.5, output: 25),
        "claude-opus-4-6": ModelPrice(input: 5, cachedInput: 0.5, output: 25),
        "claude-sonnet-4": ModelPrice(input: 3, cachedInput: 0.3, output: 15),
        "claude-haiku-4-5": ModelPrice(input: 1, cachedInput: 0.1, output: 5),
        "gemini-2.5-pro": ModelPrice(input: 1.25, cachedInput: 0.31, output: 10),
        "gemini-2.5-flash": ModelPrice(input: 0.3, cachedInput: 0.075, output: 2.5),
        "gemini-2.5-flash-lite": ModelPrice(input: 0.1, output: 0.4),
        "gpt-5": ModelPrice(input: 1.25, cachedInput: 0.125, output: 10),
        "gpt-5-mini": ModelPrice(input: 0.25, cachedInput: 0.025, output: 2),
        "gpt-5-nano": ModelPrice(input: 0.05, cachedInput: 0.005, output: 0.4),
        "gpt-4.1": ModelPrice(input: 2, cachedInput: 0.5, output: 8),
        "gpt-4.1-mini": ModelPrice(input: 0.4, cachedInput: 0.1, output: 1.6),
        "gpt-4.1-nano": ModelPrice(input: 0.1, cachedInput: 0.025, output: 0.4),
        "gpt-4o": ModelPrice(input: 2.5, cachedInput: 1.25, output: 10),
        "gpt-4o-mini": ModelPrice(input: 0.15, cachedInput: 0.075, output: 0.6),
        "o3": ModelPrice(input: 2, cachedInput: 0.5, output: 8),
        "o4-mini": ModelPrice(input: 1.1, cachedInput: 0.275, output: 4.4),
        "gpt-4-turbo": ModelPrice(input: 10, output: 30),
        "gpt-3.5-turbo": ModelPrice(input: 0.5, output: 1.5),
    ])

    /// The price of `model` and the name it was found under.
    public func price(for model: String) -> (name: String, price: ModelPrice)? {
        if let exact = prices[model] { return (model, exact) }
        let match = prices.keys.filter { model.hasPrefix($0 + "-") }.max { $0.count < $1.count }
        return match.map { ($0, prices[$0]!) }
    }

    /// Reads a prices file over `base`: `{"source": "...", "date": "...", "models": {"NAME":
    /// {"input": 0.15, "cached_input": 0.075, "output": 0.6, "batch_discount": 0.5}}}` (prices in
    /// USD per million tokens; `cached_input` and `batch_discount` optional). A bad file
    /// throws ``DatasetError`` naming the field.
    public static func load(_ path: String, over base: PriceTable = .builtin) throws(DatasetError) -> PriceTable {
        try FileChecks.requireRegularFile(path)
        let value: JSONValue
        do { value = try StrictJSON.parse(String(contentsOfFile: path, encoding: .utf8)) } catch let error as JSONParseError {
            throw DatasetError(file: path, line: error.line, reason: "not JSON: \(error.reason)")
        } catch { throw DatasetError(file: path, reason: "cannot read the prices file (\(error.localizedDescription))") }
        guard let models = value["models"]?.objectValue else { throw DatasetError(file: path, field: "models", reason: "missing: an object of model names to prices") }
        var table = base
        table.source = value["source"]?.stringValue ?? path
        table.date = value["date"]?.stringValue ?? "unknown date"
        for (name, entry) in models {
            func number(_ key: String, required: Bool) throws(DatasetError) -> Double? {
                guard let field = entry[key], field != .null else {
                    if required { throw DatasetError(file: path, field: "models.\(name).\(key)", reason: "missing: dollars per million tokens") }
                    return nil
                }
                guard let n = field.doubleValue, n.isFinite, n >= 0 else { throw DatasetError(file: path, field: "models.\(name).\(key)", reason: "must be a number >= 0") }
                return n
            }
            let discount = try number("batch_discount", required: false) ?? 0.5
            guard discount <= 1 else { throw DatasetError(file: path, field: "models.\(name).batch_discount", reason: "must be from 0 to 1") }
            table.prices[name] = ModelPrice(input: try number("input", required: true)!, cachedInput: try number("cached_input", required: false),
                                            output: try number("output", required: true)!, batchDiscount: discount)
        }
        return table
    }
}
