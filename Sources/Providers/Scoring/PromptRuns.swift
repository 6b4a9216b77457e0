import Foundation
public import LLMKit

/// Runs prompt versions and relabeling methods on a dataset with one or more providers,
/// `repeats` times each, and scores every run: one column per method × prompt version ×
/// provider (the run half of `promptlab score`). Each run is a full ``RelabelRunner`` run into
/// its own output under ``outputFolder``, with the journal, cache, recordings and rate limits
/// of any run: a method other than the prompted adjustment runs through the same runner
/// (``RelabelConfiguration/method``), so there is one code path for every column.
public struct PromptRuns: Sendable {
    /// One provider to run, as a ready-to-build client stack, with the label part it adds.
    public struct Arm: Sendable {
        public var stack: ClientStack
        /// `fixture`, `openai gpt-4o-mini`, ...
        public var label: String
        /// Another stack for a method, by method name (the fixture provider replays other
        /// recordings for `logprob`); a method without one uses ``stack``.
        public var methodStacks: [String: ClientStack] = [:]
        public init(stack: ClientStack, label: String) {
            self.stack = stack
            self.label = label
        }
    }

    /// A method to run besides the prompts' adjustment: each becomes one column per provider
    /// (per run when it asks no model).
    public struct MethodRun: Sendable {
        /// The method, with its parameters.
        public var method: any RelabelMethod
        /// The prompt version it reads (`logprob-fewshot`); for a method that asks no model,
        /// only recorded.
        public var prompt: PromptVersion
        /// Whether it asks a model; `false` (`lexicon`): run once, with provider `none`.
        public var asksModel: Bool
        /// What the column names instead of a provider when it asks no model (a lexicon's file stem).
        public var source: String
        /// A method run; `source` names the column when it asks no model.
        public init(method: any RelabelMethod, prompt: PromptVersion, asksModel: Bool, source: String = "none") {
            self.method = method
            self.prompt = prompt
            self.asksModel = asksModel
            self.source = source
        }
    }

    public var dataset: String
    public var format: DatasetFormat?
    /// The lab's column mapping the dataset is read by, if any.
    public var mapping: ColumnMapping?
    public var limit: Int?
    /// The prompt versions run with the prompted adjustment (the paper's method).
    public var prompts: [PromptVersion]
    /// Other methods, each run on every arm (or once, when it asks no model), after the prompts.
    public var methods: [MethodRun] = []
    public var arms: [Arm]
    public var repeats: Int
    /// The settings of each run; `prompt` and `model` are set per run, and the seed grows by
    /// one per repeat when the temperature is above 0.
    public var settings: RelabelConfiguration
    /// Items per chunk for the diversity score (default: each prompt's).
    public var chunkSize: Int?
    /// Requests at a time (`nil`: the backend's parallel slots when it reports them, else 4).
    public var concurrency: Int?
    public var outputFolder: String
    /// Prices for the cost rows (dollars where the model has one).
    public var prices: PriceTable = .builtin

    public init(dataset: String, format: DatasetFormat?, limit: Int?, prompts: [PromptVersion], arms: [Arm], repeats: Int,
                settings: RelabelConfiguration, chunkSize: Int?, outputFolder: String) {
        self.dataset = dataset
        self.format = format
        self.limit = limit
        self.prompts = prompts
        self.arms = arms
        self.repeats = repeats
        self.settings = settings
        self.chunkSize = chunkSize
        self.outputFolder = outputFolder
    }

    /// Runs and scores everything; `announce` hears one line per run as it starts.
    public func run(registry: ProviderRegistry, data: ScoringDataset, announce: @Sendable (String) -> Void = { _ in }) async throws -> [ScoreReport.Column] {
        var columns: [ScoreReport.Column] = []
        // With a method beside the adjustment, every column names its method.
        let named = !methods.isEmpty
        for arm in arms {
            let prepared = try await arm.stack.make(registry: registry)
            for version in prompts {
                let label = (named ? "adjust · " : "") + "\(version.name) · \(arm.label)"
                columns.append(try await column(label: label, version: version, method: nil, prepared: prepared, provider: arm.stack.provider,
                                                data: data, announce: announce))
            }
            for run in methods where run.asksModel {
                let stack = arm.methodStacks[run.method.id.name]
                let preparedForMethod = try await stack?.make(registry: registry) ?? prepared
                columns.append(try await column(label: "\(run.method.id) · \(run.prompt.name) · \(arm.label)", version: run.prompt, method: run.method,
                                                prepared: preparedForMethod, provider: (stack ?? arm.stack).provider, data: data, announce: announce))
            }
        }
        for run in methods where !run.asksModel {
            columns.append(try await column(label: "\(run.method.id) · \(run.source)", version: run.prompt, method: run.method,
                                            prepared: NoModelProvider.prepared(model: run.source), provider: NoModelProvider().id.name,
                                            data: data, announce: announce))
        }
        return columns
    }

    /// One relabel run of a grid (a prompt version × provider × repeat of `score`, a cell of an
    /// experiment): the one place a grid turns its settings into a ``RelabelJob``.
    public struct Cell: Sendable {
        public var dataset: String
        public var format: DatasetFormat?
        /// The lab's column mapping the dataset is read by, if any.
        public var mapping: ColumnMapping?
        public var limit: Int?
        public var prompt: PromptVersion
        /// The relabeling method (`nil`: the prompted adjustment).
        public var method: (any RelabelMethod)?
        /// The settings; `prompt`, `model`, `chunkSize`, `concurrency` and `method` are set per cell.
        public var settings: RelabelConfiguration
        /// Items per request (default: the prompt's).
        public var chunkSize: Int?
        /// Requests at a time (`nil`: the backend's parallel slots when it reports them, else 4).
        public var concurrency: Int?
        /// The repeat (from 0): the seed grows by it when the temperature is above 0.
        public var repeatIndex = 0
        /// The seed of this cell when given (instead of the settings' seed plus ``repeatIndex``).
        public var seed: Int?
        public var output: String
        public var mode: RelabelJournal.Mode = .fresh(overwrite: true)
        /// Other files the run reads (the output must not be one of them).
        public var otherInputs: [String] = []
        /// One call per chunk, or the provider's batch API (an experiment model's `batch_api`).
        public var executor: RelabelExecutor = .synchronous

        public init(dataset: String, format: DatasetFormat?, limit: Int?, prompt: PromptVersion, settings: RelabelConfiguration, output: String) {
            self.dataset = dataset
            self.format = format
            self.limit = limit
            self.prompt = prompt
            self.settings = settings
            self.output = output
        }

        /// The run's configuration with `prepared`'s model and slots.
        public func configuration(model: String, slots: Int?) -> RelabelConfiguration {
            var configuration = settings
            configuration.prompt = prompt
            configuration.model = model
            configuration.chunkSize = chunkSize ?? prompt.chunkSize
            configuration.concurrency = max(1, concurrency ?? slots ?? 4)
            configuration.method = method
            if let seed {
                configuration.seed = seed
            } else if (settings.temperature ?? 0) > 0, let seed = settings.seed {
                configuration.seed = seed + repeatIndex
            }
            return configuration
        }

        /// Runs the cell with `prepared`'s client through `runner` (a normal relabel run: journal,
        /// answer log, resume).
        public func run(_ prepared: ClientStack.Prepared, runner: RelabelRunner,
                        onEvent: @escaping @Sendable (RelabelEvent) -> Void = { _ in }) async throws -> RelabelReport {
            let configuration = configuration(model: prepared.model, slots: prepared.capabilities.parallelSlots)
            return try await runner.run(RelabelJob(dataset: dataset, format: format, mapping: mapping, output: output, mode: mode, limit: limit,
                                                   configuration: configuration, baseURL: prepared.baseURL, otherInputs: otherInputs,
                                                   executor: executor),
                                        onEvent: onEvent)
        }
    }

    /// One column: `repeats` runs of `version` (with `method`, or the adjustment) on one
    /// prepared client, scored.
    func column(label: String, version: PromptVersion, method: (any RelabelMethod)?, prepared: ClientStack.Prepared, provider: String,
                data: ScoringDataset, announce: @Sendable (String) -> Void) async throws -> ScoreReport.Column {
        let stem = URL(fileURLWithPath: dataset).deletingPathExtension().lastPathComponent
        let runner = RelabelRunner(client: prepared.client)
        let methodPart = method.map { "\($0.id)." } ?? ""
        var runs: [[ScoredItem]] = []
        var cost: CostInput?
        for k in 0..<repeats {
            let out = "\(outputFolder)/\(stem).\(methodPart)\(version.name).\(provider).\(Self.safe(prepared.model)).run\(k + 1).jsonl"
            announce("running \(method.map { "method \($0.id), " } ?? "")\(version.id) on \(provider) (\(prepared.model)), run \(k + 1) of \(repeats) -> \(out)")
            var cell = Cell(dataset: dataset, format: format, limit: limit, prompt: version, settings: settings, output: out)
            cell.mapping = mapping
            cell.method = method
            cell.chunkSize = chunkSize
            cell.concurrency = concurrency
            cell.repeatIndex = k
            let report = try await cell.run(prepared, runner: runner)
            if k == 0 {
                let s = report.summary
                cost = CostInput(requests: s.requests, attempts: s.attempts, cacheHits: s.cacheHits, usage: s.usage, latencies: s.latencies,
                                 requestsAtBudget: s.requestsAtBudget, dollars: prices.price(for: prepared.model)?.price.dollars(s.usage, batch: false))
            }
            runs.append(try await BlockingIOPool.shared.run { try Scoring.loadColumn(out, dataset: data, policy: settings.policy).items })
        }
        return Scoring.column(label: label, items: runs[0], prompt: version, chunkSize: chunkSize ?? version.chunkSize,
                              repeats: runs.count > 1 ? runs.map { $0.map(\.adjusted) } : [], cost: cost)
    }

    /// A model name made safe for a file name.
    package static func safe(_ model: String) -> String {
        String(model.map { $0.isLetter || $0.isNumber || "-_.".contains($0) ? $0 : "_" })
    }
}
