import Foundation
public import LLMKit
import Providers

/// The whole grid's dry run: for each cell what `relabel --dry-run` would print (requests,
/// prompt tokens, completion tokens expected and at most, dollars synchronous and through the
/// Batch API), and the totals. A `logprob` cell counts one next-token request per item with
/// descriptions and, unless it does not calibrate, the calibration's requests (its content-free
/// inputs, asked once per cell); it runs synchronously only. Nothing is sent and no server is
/// asked.
public struct ExperimentPlan: Sendable {
    /// One cell's estimate.
    public struct Row: Sendable {
        public var cell: String
        public var method: MethodID
        public var model: String
        /// The estimate (`nil` for a method that asks no model: `lexicon`).
        public var estimate: DryRunEstimate?
        /// Of the estimate's requests, those of the logprob method's calibration.
        public var calibrationRequests = 0
        /// Items within the dataset's limit.
        public var items: Int
        /// Dollars (expected, at most), synchronous and Batch API; `nil` when no price is known
        /// (and through the Batch API for a method it does not run).
        public var synchronous: (expected: Double, most: Double)?
        public var batch: (expected: Double, most: Double)?
        /// Why a cell has no estimate or price, or what it counts.
        public var note: String?
    }

    public var rows: [Row]

    /// Sums over the rows that have them.
    public var total: DryRunEstimate { rows.compactMap(\.estimate).reduce(into: DryRunEstimate()) { $0.add($1) } }

    /// The calibration requests the total includes.
    public var calibrationRequests: Int { rows.reduce(0) { $0 + $1.calibrationRequests } }

    /// Dollars over the priced rows (`nil` when no row has a price).
    public var totalSynchronous: (expected: Double, most: Double)? { Self.sum(rows.compactMap(\.synchronous)) }
    /// What the grid costs with the Batch API where a cell can use it: a cell's Batch API
    /// price, or its synchronous price when it has none (logprob cells run synchronously), so
    /// the two totals cover the same cells.
    public var totalBatch: (expected: Double, most: Double)? { Self.sum(rows.compactMap { $0.batch ?? $0.synchronous }) }

    private static func sum(_ pairs: [(expected: Double, most: Double)]) -> (expected: Double, most: Double)? {
        pairs.isEmpty ? nil : pairs.reduce((0, 0)) { ($0.0 + $1.expected, $0.1 + $1.most) }
    }
}

extension DryRunEstimate {
    /// Adds another estimate's figures.
    mutating func add(_ other: DryRunEstimate) {
        items += other.items
        requests += other.requests
        promptTokens += other.promptTokens
        completionBudget += other.completionBudget
        expectedCompletion += other.expectedCompletion
        characters += other.characters
    }

    /// Adds one next-token request: its prompt's estimated tokens, and its budget (one token)
    /// as both the expected and the most completion tokens.
    mutating func add(nextToken request: CompletionRequest) {
        requests += 1
        promptTokens += TokenEstimate.promptTokens(request)
        completionBudget += request.maxTokens ?? 1
        expectedCompletion += request.maxTokens ?? 1
        characters += request.prompt?.count ?? 0
    }

    /// The logprob method's item requests over a dataset (within its limit): one per item with
    /// descriptions, as the run renders it (an item without keeps its reference, unasked). The
    /// calibration is not included: it is asked once per cell. Blocking: call it on an I/O pool.
    static func logprob(_ dataset: OpenedDataset, method: LogProbMethod, model: String, policy: RenormalizationPolicy) throws(DatasetError) -> DryRunEstimate {
        let reader = try DatasetReader(path: dataset.path, format: dataset.format, mapping: dataset.mapping, policy: policy)
        var estimate = DryRunEstimate()
        while estimate.items < dataset.limit ?? .max, let item = try reader.next() {
            estimate.items += 1
            if let request = method.request(for: item, model: model) { estimate.add(nextToken: request) }
        }
        return estimate
    }
}

extension ExperimentFile {
    /// The plan of every cell. Cells that would render the same requests (the same dataset,
    /// method, prompt version, items per request and token limit: repeats, seeds and models)
    /// share one estimate; distinct estimates are made on the I/O pool at the same time. A
    /// logprob cell adds its own calibration requests to the shared estimate.
    public func plan() async throws -> ExperimentPlan {
        var datasets: [String: OpenedDataset] = [:]
        for dataset in self.datasets { datasets[dataset.name] = try open(dataset, hash: false) }
        let cells = self.cells
        struct Key: Hashable { var dataset: String; var method: String; var prompt: String; var chunk: Int; var maxTokens: Int? }
        var work: [Key: (dataset: Dataset, estimate: @Sendable () throws -> DryRunEstimate)] = [:]
        var keys: [Int: Key] = [:]
        var logprobs: [Int: LogProbMethod] = [:]
        let policy = sampling.policy
        for (i, cell) in cells.enumerated() where cell.method.needsProvider {
            let dataset = datasets[cell.dataset.name]!
            if cell.method.id == .logprob, let method = try cell.relabelMethod() as? LogProbMethod {
                let key = Key(dataset: cell.dataset.name, method: cell.method.id.name, prompt: cell.prompt.id, chunk: 1, maxTokens: nil)
                let model = Self.planModel(cell)
                work[key] = (cell.dataset, { try DryRunEstimate.logprob(dataset, method: method, model: model, policy: policy) })
                keys[i] = key
                logprobs[i] = method
            } else {
                let configuration = configuration(cell, dataset: dataset)
                let key = Key(dataset: cell.dataset.name, method: cell.method.id.name, prompt: cell.prompt.id, chunk: configuration.chunkSize, maxTokens: configuration.maxTokens)
                work[key] = (cell.dataset, {
                    try DryRunEstimate.estimate(dataset: dataset.path, format: dataset.format, mapping: dataset.mapping, limit: dataset.limit, configuration: configuration)
                })
                keys[i] = key
            }
        }
        let estimates = try await withThrowingTaskGroup(of: (Key, DryRunEstimate).self) { group in
            for (key, (dataset, estimate)) in work {
                let opened = datasets[dataset.name]
                group.addTask { (key, try await BlockingIOPool.shared.run { try self.reading(dataset, opened: opened, estimate) }) }
            }
            var all: [Key: DryRunEstimate] = [:]
            for try await (key, estimate) in group { all[key] = estimate }
            return all
        }
        var counts: [String: Int] = [:]
        var rows: [ExperimentPlan.Row] = []
        for (i, cell) in cells.enumerated() {
            let model = cell.method.needsProvider ? Self.planModel(cell) : "none"
            var row = ExperimentPlan.Row(cell: cell.id, method: cell.method.id, model: model, items: 0)
            if let key = keys[i], var estimate = estimates[key] {
                var notes: [String] = []
                if let method = logprobs[i] {
                    let calibration = method.calibrates ? method.calibrationRequests(model: model) : []
                    for request in calibration { estimate.add(nextToken: request) }
                    row.calibrationRequests = calibration.count
                    notes.append("one next-token request per item with descriptions" + (calibration.isEmpty ? "; calibration off" : ", \(calibration.count) calibration requests")
                                 + "; synchronous only")
                }
                if cell.usesBatchAPI { notes.append("runs through the Batch API (batch_api)") }
                row.estimate = estimate
                row.items = estimate.items
                if let (_, price) = prices.price(for: model) {
                    row.synchronous = (price.dollars(estimate.usage(upperBound: false), batch: false), price.dollars(estimate.usage(upperBound: true), batch: false))
                    if logprobs[i] == nil {
                        row.batch = (price.dollars(estimate.usage(upperBound: false), batch: true), price.dollars(estimate.usage(upperBound: true), batch: true))
                    }
                } else {
                    notes.append("no price known for '\(model)'")
                }
                row.note = notes.isEmpty ? nil : notes.joined(separator: "; ")
            } else {
                let dataset = datasets[cell.dataset.name]!
                if counts[cell.dataset.name] == nil {
                    let n = try reading(cell.dataset, opened: dataset) { try DatasetReader.countItems(path: dataset.path, format: dataset.format, mapping: dataset.mapping) }
                    counts[cell.dataset.name] = min(n, dataset.limit ?? .max)
                }
                row.items = counts[cell.dataset.name]!
                row.note = "no model asked: nothing to pay"
            }
            rows.append(row)
        }
        return ExperimentPlan(rows: rows)
    }

    /// The model a cell's dry run names (the model given, else the provider's name, as
    /// `relabel --dry-run` does).
    static func planModel(_ cell: ExperimentCell) -> String { cell.model.model ?? cell.model.provider }

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
        run(cell, dataset: dataset, output: "").configuration(model: Self.planModel(cell), slots: nil)
    }
}
