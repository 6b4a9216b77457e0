import Foundation
public import LLMKit

/// One cell of the grid: a dataset × method × prompt version × model × repeat, run as a normal
/// relabel run into its own journal.
public struct ExperimentCell: Sendable {
    /// `dataset.method.prompt.model.rK`: the journal's file name without `.jsonl`.
    public var id: String
    /// The cell's dataset entry.
    public var dataset: ExperimentFile.Dataset
    /// The cell's method and its parameters.
    public var method: ExperimentFile.Method
    /// The prompt version (for `lexicon`, which renders none, the first of the file's, unused).
    public var prompt: PromptVersion
    /// The provider and model (``ExperimentFile`` has a `none` model for methods that ask none).
    public var model: ExperimentFile.Model
    /// The repeat, from 0.
    public var repeatIndex: Int
    /// The seed the cell's requests carry.
    public var seed: Int

    /// Whether the cell runs through its provider's batch API: a model with `batch_api` and the
    /// prompted adjustment (the only method a batch API runs).
    public var usesBatchAPI: Bool { method.id == .adjust && model.batchAPI != nil }

    /// The cell's journal in the experiment folder.
    public func journal(in folder: String) -> String { "\(folder)/cells/\(id).jsonl" }

    /// The cells of the same dataset × method × prompt × model over its repeats share this key.
    public var armID: String { String(id[..<id.range(of: ".r", options: .backwards)!.lowerBound]) }

    /// The cell's relabeling method with its parameters (`nil`: the prompted adjustment).
    public func relabelMethod() throws -> (any RelabelMethod)? {
        switch method.id {
        case .logprob:
            return LogProbMethod(prompt: prompt, weight: method.descriptionWeight, minimumMass: method.minimumMass,
                                 evidenceTemperature: method.evidenceTemperature, preservesTies: method.preservesTies, calibrates: method.calibrates)
        case .lexicon:
            return LexiconMethod(lexicon: try Lexicon(path: method.lexicon!), weight: method.descriptionWeight,
                                 evidenceTemperature: method.evidenceTemperature, preservesTies: method.preservesTies)
        default: return nil
        }
    }

    /// Everything that changes the cell's answers, as JSON in a fixed order (rate limits,
    /// concurrency and prices are left out: they change when, not what). Its hash is the cell's
    /// fingerprint in the manifest; `datasetSHA256` is the bytes the cell reads.
    /// The method's parameters are its ``RelabelMethod/parameters``, as its journal records them
    /// (a lexicon by the hash of its bytes, calibration, the mix; the file's values when the
    /// lexicon cannot be read, which the run then reports).
    public func settings(_ experiment: ExperimentFile, datasetSHA256: String) -> JSONValue {
        let methodParameters = (try? relabelMethod())??.parameters
        var o = JSONObject()
        o["dataset"] = .string(dataset.path)
        o["dataset_sha256"] = .string(datasetSHA256)
        o["format"] = dataset.format.map { .string($0.rawValue) } ?? .null
        if let mapping = dataset.mapping { o["mapping"] = mapping.json }
        o["limit"] = dataset.limit.map(JSONValue.int) ?? .null
        o["sample"] = dataset.sample.map { ["size": .int($0.size), "seed": .int($0.seed)] } ?? .null
        o["method"] = .string(method.id.name)
        switch method.id {
        case _ where methodParameters != nil: o["method_parameters"] = methodParameters
        case .logprob: o["method_parameters"] = ["description_weight": .double(method.descriptionWeight), "min_mass": .double(method.minimumMass)]
        case .lexicon: o["method_parameters"] = ["description_weight": .double(method.descriptionWeight), "lexicon": .string(method.lexicon ?? "")]
        default: o["method_parameters"] = .null
        }
        o["prompt"] = method.usesPrompt ? .string(prompt.id) : .null
        if method.needsProvider {
            o["provider"] = .string(model.provider)
            o["model"] = model.model.map(JSONValue.string) ?? .null
            o["endpoint"] = .string(model.endpointKey)
            o["fixtures"] = model.fixtures.map(JSONValue.string) ?? .null
            o["temperature"] = .double(experiment.sampling.temperature)
            o["seed"] = .int(seed)
            o["max_tokens"] = experiment.sampling.maxTokens.map(JSONValue.int) ?? .null
            o["reask"] = .int(experiment.sampling.reask)
            o["items_per_request"] = .int(experiment.sampling.itemsPerRequest ?? prompt.chunkSize)
            // Only a batch cell names its executor, so synchronous cells keep the fingerprints
            // they had before `batch_api` existed; switching a model either way re-runs its cells.
            if usesBatchAPI { o["executor"] = .string(RunFingerprint.batchAPIExecutor) }
        }
        o["tolerance"] = .double(experiment.sampling.policy.tolerance)
        o["sum_off"] = .string(experiment.sampling.policy.outOfTolerance.rawValue)
        o["repeat"] = .int(repeatIndex + 1)
        return .object(o)
    }

    /// The hash of ``settings(_:datasetSHA256:)``.
    public func fingerprint(_ experiment: ExperimentFile, datasetSHA256: String) -> String {
        String(CompletionRequest.sha256Hex(settings(experiment, datasetSHA256: datasetSHA256).description).prefix(16))
    }
}

extension ExperimentFile {
    /// The grid: every dataset × method × prompt × model × repeat, without the cells a filter
    /// leaves out, a method's `prompts:` restriction, a model marked `logprobs: false` for
    /// `logprob`, and the prompt and model dimensions of a method that uses neither (`lexicon`:
    /// one cell per dataset, one run: it is deterministic). In file order.
    public var cells: [ExperimentCell] {
        var cells: [ExperimentCell] = []
        for dataset in datasets {
            for method in methods {
                let prompts = method.usesPrompt ? self.prompts.filter { method.prompts?.contains($0.version.name) ?? true } : [self.prompts[0]]
                let models = method.needsProvider ? self.models.filter { method.id != .logprob || $0.logprobs } : [Self.noModel]
                let runs = method.needsProvider ? repeats.count : 1
                for prompt in prompts {
                    for model in models {
                        let promptPart = method.usesPrompt ? prompt.version.name : URL(fileURLWithPath: method.lexicon ?? "none").deletingPathExtension().lastPathComponent
                        if excluded(dataset: dataset.name, method: method.id.name, prompt: method.usesPrompt ? prompt.version.name : nil, model: model.name) { continue }
                        for k in 0..<runs {
                            let seed = repeats.seeds?[k] ?? (model.seed ?? sampling.seed) + (sampling.temperature > 0 ? k : 0)
                            let id = "\(dataset.name).\(method.id.name).\(safe(promptPart)).\(model.name).r\(k + 1)"
                            cells.append(ExperimentCell(id: id, dataset: dataset, method: method, prompt: prompt.version, model: model, repeatIndex: k, seed: seed))
                        }
                    }
                }
            }
        }
        return cells
    }

    /// The model of a cell whose method asks none.
    static let noModel = Model(name: "none", provider: "none", model: nil, baseURLs: [], endpoints: nil, apiKeyEnvironment: nil, logprobs: false,
                               concurrency: nil, seed: nil, requestsPerMinute: nil, tokensPerMinute: nil, fixtures: nil, line: 0)

    private func safe(_ text: String) -> String { String(text.map { $0.isLetter || $0.isNumber || "-_@".contains($0) ? $0 : "_" }) }

    func excluded(dataset: String, method: String, prompt: String?, model: String) -> Bool {
        exclude.contains { f in
            Glob.matches(f.dataset, dataset) && Glob.matches(f.method, method) && Glob.matches(f.model, model)
                && (f.prompt == nil || prompt.map { Glob.matches(f.prompt, $0) } ?? false)
        }
    }
}

/// `*` and `?` patterns for cell ids and filters.
enum Glob {
    /// Whether `pattern` (`nil`: anything) matches the whole of `text`.
    static func matches(_ pattern: String?, _ text: String) -> Bool {
        guard let pattern else { return true }
        return match(Array(pattern), 0, Array(text), 0)
    }

    private static func match(_ p: [Character], _ i: Int, _ t: [Character], _ j: Int) -> Bool {
        if i == p.count { return j == t.count }
        if p[i] == "*" { return (j...t.count).contains { match(p, i + 1, t, $0) } }
        guard j < t.count, p[i] == "?" || p[i] == t[j] else { return false }
        return match(p, i + 1, t, j + 1)
    }
}
