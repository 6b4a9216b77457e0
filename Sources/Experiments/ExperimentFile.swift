import Foundation
public import LLMKit

/// An experiment file: datasets × methods × prompt versions × models × repeats, each cell a
/// normal relabel run, plus ensembles of finished cells and how the report ranks them. Read
/// from YAML with ``load(_:)``; the schema is documented in the DocC article "Experiments".
///
/// Relative input paths (datasets, gold files, prompt files, lexicons, endpoints files,
/// fixtures, prices) are relative to the file's folder; ``output`` is relative to the current
/// folder, like `relabel --out`.
public struct ExperimentFile: Sendable {
    /// The file's path as given.
    public var path: String
    /// Hex SHA-256 of the file's bytes (recorded in the manifest).
    public var sha256: String
    /// The experiment's name (default: the file's stem).
    public var name: String
    /// The experiment folder: one journal per cell, the manifest, ensembles and the report.
    public var output: String
    /// The datasets, in file order.
    public var datasets: [Dataset]
    /// The relabeling methods (default: `adjust`).
    public var methods: [Method]
    /// The prompt versions (default: `paper-reason`).
    public var prompts: [Prompt]
    /// The providers and models.
    public var models: [Model]
    /// How every cell asks its model.
    public var sampling: Sampling
    /// Runs per cell and their seeds.
    public var repeats: Repeats
    /// Cells left out: each filter removes the cells that match all of its keys.
    public var exclude: [Filter]
    /// Ensembles of finished cells.
    public var ensembles: [Ensemble]
    /// The report's ranking, when the file names a metric.
    public var rank: Rank?
    /// The built-in prices with the file's overrides.
    public var prices: PriceTable

    /// A dataset of the grid.
    public struct Dataset: Sendable {
        /// Its name in cell ids (default: the file's stem).
        public var name: String
        /// The dataset file (absolute).
        public var path: String
        /// Its format (default: from the extension).
        public var format: DatasetFormat?
        /// A lab table's column mapping (read by the mapped-table reader).
        public var mapping: ColumnMapping?
        /// A gold relabeling, for the report and `weights: gold` ensembles.
        public var gold: String?
        /// Only the first N items.
        public var limit: Int?
        /// A seeded random sample of N items instead (kept in file order).
        public var sample: Sample?
        /// The entry's line in the experiment file (for error messages).
        public var line: Int
        /// The lines of the entry's keys (`path`, `gold`, `mapping`, ...), for error messages.
        var lines: [String: Int] = [:]

        public struct Sample: Sendable, Hashable {
            /// Items in the sample.
            public var size: Int
            /// The seed of the shuffle that picks them.
            public var seed: Int
        }
    }

    /// A relabeling method with its parameters.
    public struct Method: Sendable {
        /// `adjust`, `logprob` or `lexicon`.
        public var id: MethodID
        /// For `logprob` and `lexicon`: the weight of the descriptions' evidence.
        public var descriptionWeight: Double
        /// For `logprob`: the least mass on the 8 emotion words.
        public var minimumMass: Double
        /// For `lexicon`: the lexicon file.
        public var lexicon: String?
        /// For `logprob` and `lexicon`: a temperature on the evidence before the mix (1: as it is).
        public var evidenceTemperature: Double = 1
        /// For `logprob` and `lexicon`: keep a tie among the reference's top classes.
        public var preservesTies = false
        /// For `logprob`: calibrate against content-free inputs (on by default, as in `relabel`).
        public var calibrates = true
        /// Prompt versions (names) this method pairs with; `nil`: every prompt of the file.
        public var prompts: [String]?
        /// The entry's line in the experiment file (for error messages).
        public var line: Int

        /// Whether the method asks a model (lexicon does not).
        public var needsProvider: Bool { id != .lexicon }
        /// Whether the method renders a prompt version (lexicon does not).
        public var usesPrompt: Bool { id != .lexicon }
    }

    /// A prompt version: a built-in name or a file.
    public struct Prompt: Sendable {
        /// The resolved version.
        public var version: PromptVersion
        /// The file, when given as one.
        public var file: String?
        /// The entry's line in the experiment file (for error messages).
        public var line: Int
    }

    /// A provider and model: one arm of the grid.
    public struct Model: Sendable {
        /// Its name in cell ids.
        public var name: String
        /// The registered provider (`fixture`, `llamacpp`, `openai`, ...).
        public var provider: String
        /// The model asked for (default: the server's, or the recordings').
        /// A model name pattern.
        public var model: String?
        /// One base URL, or several (a pool of servers of the same model).
        public var baseURLs: [String]
        /// A pool's endpoints file (instead of base URLs).
        public var endpoints: String?
        /// The NAME of the environment variable that holds the key (never the key).
        public var apiKeyEnvironment: String?
        /// Whether the model gives next-token log-probabilities (false: no `logprob` cells).
        public var logprobs: Bool
        /// Requests at a time at its endpoint (default: the server's slots, else 4).
        public var concurrency: Int?
        /// This model's seed instead of the sampling's.
        public var seed: Int?
        /// Client-side requests per minute.
        public var requestsPerMinute: Double?
        /// Client-side tokens per minute.
        public var tokensPerMinute: Double?
        /// The recordings folder of the `fixture` provider (default: the bundled recordings).
        public var fixtures: String?
        /// The entry's line in the experiment file (for error messages).
        public var line: Int
        /// `batch_api`: this model's `adjust` cells run through the provider's batch API (its
        /// `logprob` cells stay synchronous); `nil`: one call per chunk.
        public var batchAPI: BatchAPI? = nil

        /// How a model's cells use the provider's batch API (`batch_api: true`, or a mapping
        /// with the polling waits).
        public struct BatchAPI: Sendable {
            /// Seconds before the first poll of a batch (each wait is 1.5 times the last).
            public var pollInterval: Double = 5
            /// The longest wait between two polls, in seconds.
            public var pollMax: Double = 60
        }

        /// Where this model's requests go: cells with the same endpoint share its concurrency budget.
        public var endpointKey: String {
            provider + " " + (endpoints.map { "endpoints:" + $0 } ?? (baseURLs.isEmpty ? "default" : baseURLs.sorted().joined(separator: " ")))
        }
    }

    /// How the model is asked.
    public struct Sampling: Sendable {
        /// Sampling temperature, 0 to 2.
        public var temperature: Double = 0
        /// The seed of every request (see ``Repeats``).
        public var seed: Int = 42
        /// A fixed token limit per request (default: each request's budget).
        public var maxTokens: Int?
        /// Rounds of re-asking missing or invalid items.
        public var reask: Int = 2
        /// Items per request (default: each prompt version's).
        public var itemsPerRequest: Int?
        /// The renormalisation policy (`tolerance`, `sum_off`).
        public var policy: RenormalizationPolicy = .default
        /// Seconds one request may keep being retried.
        public var retryFor: Double = 600
    }

    /// How many runs per cell, and their seeds.
    public struct Repeats: Sendable {
        /// Runs per cell.
        public var count = 1
        /// One seed per run when given; otherwise the seed grows by one per run when the
        /// temperature is above 0 (and stays when it is 0: the same answers, as `score --repeat`).
        public var seeds: [Int]?
    }

    /// Matches cells by dataset, method, prompt and model name (`*` and `?` allowed); a key
    /// left out matches everything.
    public struct Filter: Sendable {
        /// A dataset name pattern.
        public var dataset: String?
        /// A method name pattern.
        public var method: String?
        /// A prompt version name pattern (never matches a method that uses no prompt).
        public var prompt: String?
        /// A model name pattern.
        public var model: String?
        /// The entry's line in the experiment file (for error messages).
        public var line: Int
    }

    /// An ensemble of finished cells.
    public struct Ensemble: Sendable {
        /// Its name (the file `ensembles/<name>.jsonl`).
        public var name: String
        /// Cell ids (`*` and `?` allowed).
        public var members: [String]
        /// How the members are weighed.
        public var weights: EnsembleWeights
        /// The entry's line in the experiment file (for error messages).
        public var line: Int
    }

    /// The report's ranking.
    public struct Rank: Sendable {
        /// A metric key of the score JSON (`argmax_agreement`, `gold.macro_f1`, ...).
        public var metric: String
        /// Whether a higher value ranks first.
        public var higherIsBetter: Bool
        /// The entry's line in the experiment file (for error messages).
        public var line: Int
    }
}

/// How an ensemble weighs its members (see ``Ensembler``).
public enum EnsembleWeights: String, Sendable, CaseIterable {
    /// Every member the same weight.
    case mean
    /// Each member's agreement with the others' mean.
    case agreement
    /// Each member's agreement with the dataset's gold file.
    case gold
}
