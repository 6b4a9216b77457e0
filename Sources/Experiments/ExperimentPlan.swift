import Foundation
public import LLMKit
import Providers

/// The whole grid's dry run: for each cell what `relabel --dry-run` would print (requests,
/// prompt tokens, completion tokens expected and at most, dollars synchronous and through the
/// Batch API), and the totals. Nothing is sent and no server is asked.
public struct ExperimentPlan: Sendable {
    /// One cell's estimate.
    public struct Row: Sendable {
        public var cell: String
        public var method: MethodID
        public var model: String
        /// The estimate (`nil` for a method the dry run does not price: `logprob`).
        public var estimate: DryRunEstimate?
        /// Items within the dataset's limit.
        public var items: Int
        /// Dollars (expected, at most), synchronous and Batch API; `nil` when no price is known.
        public var synchronous: (expected: Double, most: Double)?
        public var batch: (expected: Double, most: Double)?
        /// Why a cell has no estimate or price.
        public var note: String?
    }

    public var rows: [Row]

    /// Sums over the rows that have them.
    public var total: DryRunEstimate {
        rows.compactMap(\.estimate).reduce(into: DryRunEstimate()) { t, e in
            t.items += e.items
            t.requests += e.requests
            t.promptTokens += e.promptTokens
            t.completionBudget += e.completionBudget
            t.expectedCompletion += e.expectedCompletion
            t.characters += e.characters
        }
    }

    /// Dollars over the priced rows (`nil` when no row has a price).
    public var totalSynchronous: (expected: Double, most: Double)? { Self.sum(rows.compactMap(\.synchronous)) }
    public var totalBatch: (expected: Double, most: Double)? { Self.sum(rows.compactMap(\.batch)) }

    private static func sum(_ pairs: [(expected: Double, most: Double)]) -> (expected: Double, most: Double)? {
        pairs.isEmpty ? nil : pairs.reduce((0, 0)) { ($0.0 + $1.expected, $0.1 + $1.most) }
    }
}

extension ExperimentFile {
    /// The plan of every cell. Cells that would render the same requests (the same dataset,
    /// prompt version, items per request and token limit: repeats, seeds and models) share one
    /// estimate; distinct estimates are made on the I/O pool at the same time.
    public func plan() async throws -> ExperimentPlan {
        var datasets: [String: OpenedDataset] = [:]
        for dataset in self.datasets { datasets[dataset.name] = try dataset.open(in: output, hash: false) }
        let cells = self.cells
        struct Key: Hashable { var dataset: String; var prompt: String; var chunk: Int; var maxTokens: Int? }
        var work: [Key: (OpenedDataset, RelabelConfiguration)] = [:]
        var keys: [Int: Key] = [:]
        for (i, cell) in cells.enumerated() where cell.method.id == .adjust {
            let configuration = configuration(cell, dataset: datasets[cell.dataset.name]!)
            let key = Key(dataset: cell.dataset.name, prompt: cell.prompt.id, chunk: configuration.chunkSize, maxTokens: configuration.maxTokens)
            keys[i] = key
            work[key] = (datasets[cell.dataset.name]!, configuration)
        }
        let estimates = try await withThrowingTaskGroup(of: (Key, DryRunEstimate).self) { group in
            for (key, (dataset, configuration)) in work {
                group.addTask {
                    (key, try await BlockingIOPool.shared.run {
                        try DryRunEstimate.estimate(dataset: dataset.path, format: dataset.format, mapping: dataset.mapping, limit: dataset.limit, configuration: configuration)
                    })
                }
            }
            var all: [Key: DryRunEstimate] = [:]
            for try await (key, estimate) in group { all[key] = estimate }
            return all
        }
        var counts: [String: Int] = [:]
        var rows: [ExperimentPlan.Row] = []
        for (i, cell) in cells.enumerated() {
            let model = cell.method.needsProvider ? (cell.model.model ?? cell.model.provider) : "none"
            var row = ExperimentPlan.Row(cell: cell.id, method: cell.method.id, model: model, items: 0)
            if let key = keys[i], let estimate = estimates[key] {
                row.estimate = estimate
                row.items = estimate.items
                if let (_, price) = prices.price(for: model) {
                    row.synchronous = (price.dollars(estimate.usage(upperBound: false), batch: false), price.dollars(estimate.usage(upperBound: true), batch: false))
                    row.batch = (price.dollars(estimate.usage(upperBound: false), batch: true), price.dollars(estimate.usage(upperBound: true), batch: true))
                } else {
                    row.note = "no price known for '\(model)'"
                }
            } else {
                let dataset = datasets[cell.dataset.name]!
                if counts[cell.dataset.name] == nil {
                    let n = try DatasetReader.countItems(path: dataset.path, format: dataset.format, mapping: dataset.mapping)
                    counts[cell.dataset.name] = min(n, dataset.limit ?? .max)
                }
                row.items = counts[cell.dataset.name]!
                row.note = cell.method.needsProvider ? "one next-token request per item; not priced (the dry run prices the prompted adjustment)"
                    : "no model asked: nothing to pay"
            }
            rows.append(row)
        }
        return ExperimentPlan(rows: rows)
    }

    /// The relabel run of `cell` into `output` (without its method: the runner adds it). Its
    /// configuration is what the run and the dry run use.
    func run(_ cell: ExperimentCell, dataset: OpenedDataset, output: String) -> PromptRuns.Cell {
        let settings = RelabelConfiguration(prompt: cell.prompt, model: "", temperature: sampling.temperature, seed: cell.seed,
                                            maxTokens: sampling.maxTokens, policy: sampling.policy, reaskRounds: sampling.reask)
        var run = PromptRuns.Cell(dataset: dataset.path, format: dataset.format, limit: dataset.limit, prompt: cell.prompt, settings: settings, output: output)
        run.mapping = dataset.mapping
        run.chunkSize = sampling.itemsPerRequest
        run.concurrency = cell.model.concurrency
        run.seed = cell.seed
        return run
    }

    /// The configuration of `cell`'s dry run (the model as `relabel --dry-run` names it: the
    /// model given, else the provider's name).
    func configuration(_ cell: ExperimentCell, dataset: OpenedDataset) -> RelabelConfiguration {
        run(cell, dataset: dataset, output: "").configuration(model: cell.model.model ?? cell.model.provider, slots: nil)
    }
}
