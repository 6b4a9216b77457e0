/// What a relabel run was made on, recorded in its journal's header so that `--resume`
/// continues only the same run: the dataset's content, the prompt version, the provider and
/// model, and every setting that changes an answer.
public struct RunFingerprint: Sendable, Equatable {
    /// The version of the output contract (schema, parsing, renormalisation rules).
    public static let contractVersion = "llmkit-contract/1"

    /// Lower-case hex SHA-256 of the dataset file's bytes.
    public var datasetSHA256: String
    /// The prompt version id (`name@hash`).
    public var prompt: String
    public var provider: String
    public var model: String
    /// The provider's base URL (where it has one).
    public var baseURL: String?
    public var chunkSize: Int
    public var seed: Int?
    public var temperature: Double?
    /// The token limit given by the user; `nil` means the budget derived from each batch.
    public var maxTokens: Int?
    public var policy: RenormalizationPolicy
    public var contract: String
    /// How the requests are sent: ``synchronousExecutor`` (one call per batch, the default and
    /// what a header without the field means) or ``batchAPIExecutor`` (a provider's batch
    /// service). Resuming a batch run synchronously, or the other way round, is a difference.
    public var executor: String
    /// The relabeling method (``MethodID``; a header without the field means `adjust`) and
    /// its parameters (``RelabelMethod/parameters``; `null` for `adjust`): a resume with
    /// another method, or other parameters, is a difference like another dataset.
    public var method: String
    public var methodParameters: JSONValue
    /// The lab's column mapping the dataset was read by (``ColumnMapping/json``; `null`: none,
    /// and what a header without the field means): a resume with another mapping is a
    /// difference like another dataset.
    public var mapping: JSONValue

    /// One call per chunk.
    public static let synchronousExecutor = "sync"
    /// A provider's batch service (OpenAI's Batch API).
    public static let batchAPIExecutor = "batch-api"

    public init(datasetSHA256: String, prompt: String, provider: String, model: String, baseURL: String?, chunkSize: Int,
                seed: Int?, temperature: Double?, maxTokens: Int?, policy: RenormalizationPolicy, contract: String = contractVersion,
                executor: String = synchronousExecutor, method: String = MethodID.adjust.name, methodParameters: JSONValue = .null,
                mapping: JSONValue = .null) {
        self.datasetSHA256 = datasetSHA256
        self.prompt = prompt
        self.provider = provider
        self.model = model
        self.baseURL = baseURL
        self.chunkSize = chunkSize
        self.seed = seed
        self.temperature = temperature
        self.maxTokens = maxTokens
        self.policy = policy
        self.contract = contract
        self.executor = executor
        self.method = method
        self.methodParameters = methodParameters
        self.mapping = mapping
    }

    /// The fields as (name, value) pairs, in a fixed order, as written in the journal.
    var fields: [(String, JSONValue)] {
        func optional<T>(_ value: T?, _ make: (T) -> JSONValue) -> JSONValue { value.map(make) ?? .null }
        return [
            ("dataset_sha256", .string(datasetSHA256)), ("prompt", .string(prompt)), ("provider", .string(provider)),
            ("model", .string(model)), ("base_url", optional(baseURL, JSONValue.string)), ("batch_size", .int(chunkSize)),
            ("seed", optional(seed, JSONValue.int)), ("temperature", optional(temperature, JSONValue.double)),
            ("max_tokens", optional(maxTokens, JSONValue.int)), ("tolerance", .double(policy.tolerance)),
            ("sum_off", .string(policy.outOfTolerance.rawValue)), ("contract", .string(contract)),
            ("executor", .string(executor)), ("method", .string(method)), ("method_parameters", methodParameters),
            ("mapping", mapping),
        ]
    }

    /// The fingerprint as a JSON object.
    public var json: JSONValue { .object(JSONObject(fields)) }

    /// Reads a fingerprint written by ``json``; `nil` when a field is missing or mistyped.
    public init?(json value: JSONValue) {
        guard case .object(let o) = value, let hash = o["dataset_sha256"]?.stringValue, let prompt = o["prompt"]?.stringValue,
              let provider = o["provider"]?.stringValue, let model = o["model"]?.stringValue, let batch = o["batch_size"]?.intValue,
              let tolerance = o["tolerance"]?.doubleValue, tolerance >= 0, tolerance.isFinite,
              let sumOff = o["sum_off"]?.stringValue.flatMap(RenormalizationPolicy.OutOfTolerance.init(rawValue:)),
              let contract = o["contract"]?.stringValue
        else { return nil }
        self.init(datasetSHA256: hash, prompt: prompt, provider: provider, model: model, baseURL: o["base_url"]?.stringValue,
                  chunkSize: batch, seed: o["seed"]?.intValue, temperature: o["temperature"]?.doubleValue,
                  maxTokens: o["max_tokens"]?.intValue, policy: RenormalizationPolicy(tolerance: tolerance, outOfTolerance: sumOff),
                  contract: contract, executor: o["executor"]?.stringValue ?? Self.synchronousExecutor,
                  method: o["method"]?.stringValue ?? MethodID.adjust.name, methodParameters: o["method_parameters"] ?? .null,
                  mapping: o["mapping"] ?? .null)
    }

    /// One line per field that differs: `seed: 42 in the output, 7 now`.
    public func differences(from recorded: RunFingerprint) -> [String] {
        zip(recorded.fields, fields).compactMap { old, new in
            old.1 == new.1 ? nil : "\(old.0): \(Self.show(old.1)) in the output, \(Self.show(new.1)) now"
        }
    }

    private static func show(_ value: JSONValue) -> String {
        switch value {
        case .null: "(none)"
        case .string(let s): s.count == 64 ? String(s.prefix(12)) + "…" : s
        default: value.description
        }
    }
}
