import Foundation
public import LLMKit
import Providers
import Yams

extension ExperimentFile {
    /// Reads and checks an experiment file. Every problem is one ``ExperimentError`` naming
    /// the file, the line and the key: an unknown key, a wrong type, a missing entry, a prompt
    /// version that does not resolve, a key (secret) written literally in the file.
    /// `library` resolves prompt names; `output` replaces the file's `output`.
    public static func load(_ path: String, library: PromptLibrary, output: String? = nil) throws(ExperimentError) -> ExperimentFile {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw ExperimentError(file: path, "cannot read the experiment file (\(error.localizedDescription))")
        }
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: text) else { throw ExperimentError(file: path, "the experiment file is empty") }
            root = node
        } catch let error as ExperimentError {
            throw error
        } catch {
            throw ExperimentError(file: path, line: Self.line(of: error), "not YAML: \(Self.yamlProblem(error))")
        }
        let reader = YAMLReader(file: path, folder: URL(fileURLWithPath: path).absoluteURL.deletingLastPathComponent())
        do {
            try reader.refuseSecrets(root, key: nil)
            return try reader.experiment(root, sha256: CompletionRequest.sha256Hex(text), library: library, output: output)
        } catch let error as ExperimentError {
            throw error
        } catch {
            throw ExperimentError(file: path, "\(error)")
        }
    }

    private static func line(of error: any Error) -> Int? {
        guard let yaml = error as? YamlError else { return nil }
        switch yaml {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _): return mark.line
        default: return nil
        }
    }

    private static func yamlProblem(_ error: any Error) -> String {
        guard let yaml = error as? YamlError else { return "\(error)" }
        switch yaml {
        case .scanner(let context, let problem, _, _), .parser(let context, let problem, _, _), .composer(let context, let problem, _, _):
            return [context.map { "\($0.text)" }, problem].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: ": ")
        case .duplicatedKeysInMapping(let duplicates, _):
            return "a key appears twice in one mapping: \(duplicates.joined(separator: ", "))"
        default:
            return "\(yaml)".split(separator: "\n").first.map(String.init) ?? "unreadable"
        }
    }
}

/// Walks the composed YAML, keeping each node's line for the error messages.
struct YAMLReader {
    let file: String
    let folder: URL

    func fail(_ node: Node?, _ key: String?, _ reason: String) -> ExperimentError {
        ExperimentError(file: file, line: node?.mark?.line, key: key, reason)
    }

    /// A path from the file, relative to the file's folder.
    func resolve(_ path: String) -> String {
        path.hasPrefix("/") ? path : folder.appendingPathComponent(path).standardized.path
    }

    // MARK: Secrets

    static let secretKeys: Set<String> = ["api_key", "apikey", "key", "token", "secret", "password", "authorization", "bearer"]

    /// Refuses a key written literally: a secret-named key with a value, or a value that looks like one.
    func refuseSecrets(_ node: Node, key: String?) throws {
        switch node {
        case .mapping(let mapping):
            for (k, v) in mapping {
                let name = k.string ?? ""
                if Self.secretKeys.contains(name.lowercased()) {
                    throw fail(k, name, "a key does not go in the experiment file; put it in an environment variable and name the variable with api_key_env")
                }
                try refuseSecrets(v, key: name)
            }
        case .sequence(let sequence):
            for v in sequence { try refuseSecrets(v, key: key) }
        case .scalar(let scalar):
            let value = scalar.string.trimmingCharacters(in: .whitespaces)
            if Self.looksLikeSecret(value) {
                throw fail(node, key, "this looks like a key written in the file; put it in an environment variable and name the variable with api_key_env")
            }
        default:
            return
        }
    }

    /// `sk-...`, `Bearer ...`, or a long token of letters and digits (OpenAI, Anthropic, Hugging Face, GitHub styles).
    static func looksLikeSecret(_ value: String) -> Bool {
        let prefixes = ["sk-", "sk_", "hf_", "ghp_", "gho_", "xoxb-", "AKIA", "AIza"]
        if value.lowercased().hasPrefix("bearer ") { return true }
        guard value.count >= 20, !value.contains(" "), !value.contains("/"), !value.contains(".") else { return false }
        if prefixes.contains(where: { value.hasPrefix($0) }) { return true }
        let hasDigit = value.contains { $0.isNumber }, hasLower = value.contains { $0.isLowercase }, hasUpper = value.contains { $0.isUppercase }
        return value.count >= 32 && hasDigit && hasLower && hasUpper && value.allSatisfy { $0.isLetter || $0.isNumber || "-_".contains($0) }
    }

    // MARK: Typed access

    func mapping(_ node: Node, _ key: String, known: [String]) throws -> [String: (key: Node, value: Node)] {
        guard case .mapping(let m) = node else { throw fail(node, key, "must be a mapping (key: value lines)") }
        var out: [String: (key: Node, value: Node)] = [:]
        for (k, v) in m {
            guard let name = k.string else { throw fail(k, key, "a key must be a string") }
            guard known.contains(name) else {
                throw fail(k, key == "" ? name : "\(key).\(name)", "unknown key (known here: \(known.joined(separator: ", ")))")
            }
            out[name] = (k, v)
        }
        return out
    }

    func sequence(_ node: Node, _ key: String) throws -> [Node] {
        if case .sequence(let s) = node { return Array(s) }
        throw fail(node, key, "must be a list")
    }

    func string(_ node: Node, _ key: String) throws -> String {
        guard case .scalar(let s) = node, !s.string.isEmpty else { throw fail(node, key, "must be a non-empty string") }
        return s.string
    }

    func int(_ node: Node, _ key: String, _ range: ClosedRange<Int>) throws -> Int {
        guard case .scalar = node, let n = node.int else { throw fail(node, key, "must be a whole number") }
        guard range.contains(n) else { throw fail(node, key, "must be from \(range.lowerBound) to \(range.upperBound), not \(n)") }
        return n
    }

    func double(_ node: Node, _ key: String, _ range: ClosedRange<Double>) throws -> Double {
        guard case .scalar = node, let n = node.float ?? node.int.map(Double.init), n.isFinite else { throw fail(node, key, "must be a number") }
        guard range.contains(n) else { throw fail(node, key, "must be from \(range.lowerBound) to \(range.upperBound), not \(n)") }
        return n
    }

    func bool(_ node: Node, _ key: String) throws -> Bool {
        guard case .scalar = node, let b = node.bool else { throw fail(node, key, "must be true or false") }
        return b
    }

    /// A string or a list of strings.
    func strings(_ node: Node, _ key: String) throws -> [String] {
        if case .scalar = node { return [try string(node, key)] }
        var out: [String] = []
        for (i, item) in try sequence(node, key).enumerated() { out.append(try string(item, "\(key)[\(i)]")) }
        return out
    }

    /// An entry that is either a name or a mapping (`- adjust` or `- {name: adjust, ...}`).
    func entry(_ node: Node, _ key: String, known: [String]) throws -> [String: (key: Node, value: Node)] {
        if case .scalar = node { return ["name": (node, node)] }
        return try mapping(node, key, known: known)
    }

    // MARK: The file

    static let topKeys = ["name", "output", "datasets", "methods", "prompts", "models", "sampling", "repeats", "exclude", "ensembles", "report", "prices"]

    func experiment(_ root: Node, sha256: String, library: PromptLibrary, output: String?) throws -> ExperimentFile {
        let top = try mapping(root, "", known: Self.topKeys)
        let stem = URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent
        let name = try top["name"].map { try string($0.value, "name") } ?? stem
        for required in ["datasets", "models"] where top[required] == nil {
            throw ExperimentError(file: file, line: root.mark?.line, key: required, "missing: the experiment needs at least one entry")
        }
        let datasets = try list(top["datasets"]!.value, "datasets", datasetEntry)
        let methods = try top["methods"].map { try list($0.value, "methods", methodEntry) }
            ?? [ExperimentFile.Method(id: .adjust, descriptionWeight: EvidenceMix.defaultWeight, minimumMass: LogProbMethod.defaultMinimumMass, line: 1)]
        let prompts: [ExperimentFile.Prompt] = try top["prompts"].map { p in
            try list(p.value, "prompts") { (node: Node, key: String) in try promptEntry(node, key, library: library) }
        } ?? [ExperimentFile.Prompt(version: try resolvePrompt("paper-reason", node: root, key: "prompts", library: library), file: nil, line: 1)]
        let models = try list(top["models"]!.value, "models", modelEntry)
        var experiment = ExperimentFile(
            path: file, sha256: sha256, name: name, output: try top["output"].map { try string($0.value, "output") } ?? "out/experiments/\(name)",
            datasets: datasets, methods: methods, prompts: prompts, models: models,
            sampling: try top["sampling"].map { try sampling($0.value) } ?? ExperimentFile.Sampling(),
            repeats: try top["repeats"].map { try repeats($0.value) } ?? ExperimentFile.Repeats(),
            exclude: try top["exclude"].map { try list($0.value, "exclude", filterEntry) } ?? [],
            ensembles: try top["ensembles"].map { try list($0.value, "ensembles", ensembleEntry) } ?? [],
            rank: try top["report"].map { try rank($0.value) } ?? nil,
            prices: try top["prices"].map { try prices($0.value) } ?? .builtin)
        if let output { experiment.output = output }
        try checkNames(experiment)
        for ensemble in experiment.ensembles { _ = try experiment.members(of: ensemble) }
        return experiment
    }

    func list<T>(_ node: Node, _ key: String, _ make: (Node, String) throws -> T) throws -> [T] {
        let items = try sequence(node, key)
        guard !items.isEmpty else { throw fail(node, key, "must list at least one entry") }
        var out: [T] = []
        for (i, item) in items.enumerated() { out.append(try make(item, "\(key)[\(i)]")) }
        return out
    }

    /// Names end up in file names: letters, digits, `-`, `_`, `.` and `@`; unique per dimension.
    func checkNames(_ e: ExperimentFile) throws {
        func check(_ names: [(String, Int)], _ what: String) throws {
            var seen: [String: Int] = [:]
            for (name, line) in names {
                if let earlier = seen[name] {
                    throw ExperimentError(file: file, line: line, key: what, "'\(name)' is also the name of the entry on line \(earlier); give each entry its own name")
                }
                if !name.allSatisfy({ $0.isLetter || $0.isNumber || "-_@".contains($0) }) {
                    throw ExperimentError(file: file, line: line, key: what, "'\(name)' may hold only letters, digits, '-', '_' and '@' (it is part of file names)")
                }
                seen[name] = line
            }
        }
        try check(e.datasets.map { ($0.name, $0.line) }, "datasets.name")
        try check(e.models.map { ($0.name, $0.line) }, "models.name")
        try check(e.prompts.map { ($0.version.name, $0.line) }, "prompts")
        try check(e.methods.map { ($0.id.name, $0.line) }, "methods.name")
        try check(e.ensembles.map { ($0.name, $0.line) }, "ensembles.name")
        for method in e.methods {
            for name in method.prompts ?? [] where !e.prompts.contains(where: { $0.version.name == name }) {
                throw ExperimentError(file: file, line: method.line, key: "methods.prompts", "'\(name)' is not one of the file's prompts (\(e.prompts.map(\.version.name).joined(separator: ", ")))")
            }
        }
    }

    func datasetEntry(_ node: Node, _ key: String) throws -> ExperimentFile.Dataset {
        let m = try mapping(node, key, known: ["name", "path", "format", "mapping", "gold", "limit", "sample"])
        guard let pathNode = m["path"]?.value else { throw fail(node, "\(key).path", "missing: the dataset file") }
        let path = resolve(try string(pathNode, "\(key).path"))
        var format: DatasetFormat?
        if let f = m["format"]?.value {
            let text = try string(f, "\(key).format")
            guard let parsed = DatasetFormat(rawValue: text) else {
                throw fail(f, "\(key).format", "unknown format '\(text)' (known: \(DatasetFormat.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            format = parsed
        }
        var columnMapping: ColumnMapping?
        if let node = m["mapping"]?.value {
            _ = try mapping(node, "\(key).mapping", known: ["format", "id", "emotions", "descriptions", "separator", "keep", "votes"])
            do { columnMapping = try YAMLDecoder().decode(ColumnMapping.self, from: node) } catch {
                throw fail(node, "\(key).mapping", "not a column mapping: \(Self.decodingProblem(error))")
            }
            // Decoding goes through a dictionary: put the emotion columns back in the file's
            // order (the export writes them in the mapping's order).
            if let order = node.mapping?["emotions"]?.mapping?.keys.compactMap(\.string) {
                columnMapping?.emotionColumns.sort { (order.firstIndex(of: $0.column) ?? .max) < (order.firstIndex(of: $1.column) ?? .max) }
            }
            do { try columnMapping?.check(source: file) } catch {
                throw fail(node, "\(key).mapping", error.reason)
            }
        }
        var sample: ExperimentFile.Dataset.Sample?
        if let s = m["sample"]?.value {
            let sm = try mapping(s, "\(key).sample", known: ["size", "seed"])
            guard let size = sm["size"]?.value else { throw fail(s, "\(key).sample.size", "missing: how many items") }
            sample = .init(size: try int(size, "\(key).sample.size", 1...Int(Int32.max)),
                           seed: try sm["seed"].map { try int($0.value, "\(key).sample.seed", 0...Int(Int32.max)) } ?? 1)
        }
        if m["limit"] != nil && sample != nil { throw fail(node, key, "give limit or sample, not both") }
        let stem = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        var dataset = ExperimentFile.Dataset(
            name: try m["name"].map { try string($0.value, "\(key).name") } ?? stem, path: path, format: format, mapping: columnMapping,
            gold: try m["gold"].map { resolve(try string($0.value, "\(key).gold")) },
            limit: try m["limit"].map { try int($0.value, "\(key).limit", 1...Int(Int32.max)) }, sample: sample, line: node.mark?.line ?? 1)
        dataset.lines = m.compactMapValues { $0.key.mark?.line }
        return dataset
    }

    static func decodingProblem(_ error: any Error) -> String {
        switch error as? DecodingError {
        case .dataCorrupted(let c)?: return c.debugDescription
        case .keyNotFound(let k, _)?: return "missing key '\(k.stringValue)'"
        case .typeMismatch(_, let c)?, .valueNotFound(_, let c)?:
            return "\(c.codingPath.map(\.stringValue).joined(separator: ".")): \(c.debugDescription)"
        default: return "\(error)"
        }
    }

    func methodEntry(_ node: Node, _ key: String) throws -> ExperimentFile.Method {
        let m = try entry(node, key, known: ["name", "description_weight", "min_mass", "lexicon", "prompts", "evidence_temperature", "preserve_ties", "calibrate"])
        let nameNode = m["name"]?.value ?? node
        let name = try string(nameNode, "\(key).name")
        let known: [MethodID] = [.adjust, .logprob, .lexicon]
        guard let id = known.first(where: { $0.name == name }) else {
            throw fail(nameNode, "\(key).name", "unknown method '\(name)' (known: \(known.map(\.name).joined(separator: ", ")))")
        }
        var method = ExperimentFile.Method(
            id: id, descriptionWeight: try m["description_weight"].map { try double($0.value, "\(key).description_weight", 0...1) } ?? EvidenceMix.defaultWeight,
            minimumMass: try m["min_mass"].map { try double($0.value, "\(key).min_mass", 0...1) } ?? LogProbMethod.defaultMinimumMass,
            lexicon: try m["lexicon"].map { resolve(try string($0.value, "\(key).lexicon")) },
            prompts: try m["prompts"].map { try strings($0.value, "\(key).prompts") }, line: node.mark?.line ?? 1)
        if let t = m["evidence_temperature"] { method.evidenceTemperature = try double(t.value, "\(key).evidence_temperature", 0.01...100) }
        if let t = m["preserve_ties"] { method.preservesTies = try bool(t.value, "\(key).preserve_ties") }
        if let c = m["calibrate"] { method.calibrates = try bool(c.value, "\(key).calibrate") }
        if id == .adjust, let extra = ["evidence_temperature", "preserve_ties", "calibrate", "description_weight", "min_mass"].first(where: { m[$0] != nil }) {
            throw fail(m[extra]!.key, "\(key).\(extra)", "goes with the logprob and lexicon methods only")
        }
        if id == .lexicon && method.lexicon == nil { throw fail(node, "\(key).lexicon", "missing: the lexicon method needs a lexicon file") }
        if id != .lexicon, let l = m["lexicon"] { throw fail(l.key, "\(key).lexicon", "goes with the lexicon method only") }
        return method
    }

    func promptEntry(_ node: Node, _ key: String, library: PromptLibrary) throws -> ExperimentFile.Prompt {
        let text = try string(node, key)
        let isFile = text.contains("/") || text.hasSuffix(".prompt")
        let version = try resolvePrompt(isFile ? resolve(text) : text, node: node, key: key, library: library)
        return ExperimentFile.Prompt(version: version, file: isFile ? resolve(text) : nil, line: node.mark?.line ?? 1)
    }

    func resolvePrompt(_ nameOrPath: String, node: Node, key: String, library: PromptLibrary) throws -> PromptVersion {
        do { return try library.resolve(nameOrPath) } catch { throw fail(node, key, "\(error)") }
    }

    static let modelKeys = ["name", "provider", "model", "base_url", "base_urls", "endpoints", "api_key_env", "logprobs", "concurrency", "seed",
                            "rpm", "tpm", "fixtures", "batch_api"]

    func modelEntry(_ node: Node, _ key: String) throws -> ExperimentFile.Model {
        let m = try mapping(node, key, known: Self.modelKeys)
        guard let providerNode = m["provider"]?.value else { throw fail(node, "\(key).provider", "missing: the provider (fixture, llamacpp, openai, ...)") }
        let provider = try string(providerNode, "\(key).provider")
        let model = try m["model"].map { try string($0.value, "\(key).model") }
        var urls: [String] = []
        if let one = m["base_url"] { urls.append(try string(one.value, "\(key).base_url")) }
        if let many = m["base_urls"] {
            if !urls.isEmpty { throw fail(many.key, "\(key).base_urls", "give base_url or base_urls, not both") }
            urls = try strings(many.value, "\(key).base_urls")
        }
        let endpoints = try m["endpoints"].map { resolve(try string($0.value, "\(key).endpoints")) }
        if endpoints != nil && !urls.isEmpty { throw fail(node, "\(key).endpoints", "give endpoints or base URLs, not both") }
        var keyVariable: String?
        if let k = m["api_key_env"] {
            let name = try string(k.value, "\(key).api_key_env")
            guard let first = name.first, first.isLetter || first == "_", name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) else {
                throw fail(k.value, "\(key).api_key_env", "must be the NAME of an environment variable (A-Z, 0-9, _), never the key itself")
            }
            keyVariable = name
        }
        let defaultName = [provider, model].compactMap { $0 }.joined(separator: "-")
        let batchAPI = try m["batch_api"].flatMap { try batchAPIEntry($0.value, "\(key).batch_api", provider: provider, pooled: urls.count > 1 || endpoints != nil) }
        var entry = ExperimentFile.Model(
            name: try m["name"].map { try string($0.value, "\(key).name") } ?? String(defaultName.map { $0.isLetter || $0.isNumber || "-_".contains($0) ? $0 : "_" }),
            provider: provider, model: model, baseURLs: urls, endpoints: endpoints, apiKeyEnvironment: keyVariable,
            // Anthropic's and Gemini's APIs give no next-token log-probabilities: no logprob cells
            // for them unless the file says otherwise.
            logprobs: try m["logprobs"].map { try bool($0.value, "\(key).logprobs") } ?? ![ProviderID.anthropic.name, ProviderID.gemini.name].contains(provider),
            concurrency: try m["concurrency"].map { try int($0.value, "\(key).concurrency", 1...1024) },
            seed: try m["seed"].map { try int($0.value, "\(key).seed", Int(Int32.min)...Int(Int32.max)) },
            requestsPerMinute: try m["rpm"].map { try double($0.value, "\(key).rpm", 0.001...10_000_000) },
            tokensPerMinute: try m["tpm"].map { try double($0.value, "\(key).tpm", 1...1_000_000_000_000) },
            fixtures: try m["fixtures"].map { resolve(try string($0.value, "\(key).fixtures")) }, line: node.mark?.line ?? 1)
        entry.batchAPI = batchAPI
        return entry
    }

    /// `batch_api: true|false` or `{poll_interval, poll_max}` (seconds): `nil` when off. Refused
    /// for a provider without a batch API and for a pool (a batch goes to one server).
    func batchAPIEntry(_ node: Node, _ key: String, provider: String, pooled: Bool) throws -> ExperimentFile.Model.BatchAPI? {
        var settings = ExperimentFile.Model.BatchAPI()
        if case .mapping = node {
            let m = try mapping(node, key, known: ["poll_interval", "poll_max"])
            if let v = m["poll_interval"] { settings.pollInterval = try double(v.value, "\(key).poll_interval", 0.001...3600) }
            if let v = m["poll_max"] { settings.pollMax = try double(v.value, "\(key).poll_max", 0.001...86_400) }
        } else if try !bool(node, key) {
            return nil
        }
        guard BatchServices.providers.contains(ProviderID(provider)) else {
            throw fail(node, key, "the \(provider) provider has no batch API (openai, anthropic and gemini have one)")
        }
        if pooled { throw fail(node, key, "a batch goes to one server: give one base_url, not base_urls or endpoints") }
        return settings
    }

    func sampling(_ node: Node) throws -> ExperimentFile.Sampling {
        let m = try mapping(node, "sampling", known: ["temperature", "seed", "max_tokens", "reask", "items_per_request", "tolerance", "sum_off", "retry_for"])
        var s = ExperimentFile.Sampling()
        if let v = m["temperature"] { s.temperature = try double(v.value, "sampling.temperature", 0...2) }
        if let v = m["seed"] { s.seed = try int(v.value, "sampling.seed", Int(Int32.min)...Int(Int32.max)) }
        if let v = m["max_tokens"] { s.maxTokens = try int(v.value, "sampling.max_tokens", 1...10_000_000) }
        if let v = m["reask"] { s.reask = try int(v.value, "sampling.reask", 0...10) }
        if let v = m["items_per_request"] { s.itemsPerRequest = try int(v.value, "sampling.items_per_request", 1...500) }
        if let v = m["tolerance"] { s.policy.tolerance = try double(v.value, "sampling.tolerance", 0...1) }
        if let v = m["sum_off"] {
            let text = try string(v.value, "sampling.sum_off")
            guard let mode = RenormalizationPolicy.OutOfTolerance(rawValue: text) else { throw fail(v.value, "sampling.sum_off", "must be flag or reject") }
            s.policy.outOfTolerance = mode
        }
        if let v = m["retry_for"] { s.retryFor = try double(v.value, "sampling.retry_for", 0...604_800) }
        return s
    }

    func repeats(_ node: Node) throws -> ExperimentFile.Repeats {
        if case .scalar = node { return ExperimentFile.Repeats(count: try int(node, "repeats", 1...100)) }
        let m = try mapping(node, "repeats", known: ["count", "seeds"])
        var r = ExperimentFile.Repeats()
        if let seeds = m["seeds"] {
            var list: [Int] = []
            for (i, s) in try sequence(seeds.value, "repeats.seeds").enumerated() { list.append(try int(s, "repeats.seeds[\(i)]", Int(Int32.min)...Int(Int32.max))) }
            guard !list.isEmpty, Set(list).count == list.count else { throw fail(seeds.value, "repeats.seeds", "must list distinct seeds") }
            r.seeds = list
            r.count = list.count
        }
        if let c = m["count"] {
            let count = try int(c.value, "repeats.count", 1...100)
            if let seeds = r.seeds, seeds.count != count { throw fail(c.value, "repeats.count", "\(count) runs but \(seeds.count) seeds: give one seed per run") }
            r.count = count
        }
        return r
    }

    func filterEntry(_ node: Node, _ key: String) throws -> ExperimentFile.Filter {
        let m = try mapping(node, key, known: ["dataset", "method", "prompt", "model"])
        guard !m.isEmpty else { throw fail(node, key, "an empty filter would leave out every cell") }
        return ExperimentFile.Filter(dataset: try m["dataset"].map { try string($0.value, "\(key).dataset") },
                                     method: try m["method"].map { try string($0.value, "\(key).method") },
                                     prompt: try m["prompt"].map { try string($0.value, "\(key).prompt") },
                                     model: try m["model"].map { try string($0.value, "\(key).model") }, line: node.mark?.line ?? 1)
    }

    func ensembleEntry(_ node: Node, _ key: String) throws -> ExperimentFile.Ensemble {
        let m = try mapping(node, key, known: ["name", "members", "weights"])
        guard let name = m["name"] else { throw fail(node, "\(key).name", "missing: the ensemble's name") }
        guard let members = m["members"] else { throw fail(node, "\(key).members", "missing: the cells to combine (cell ids, * allowed)") }
        var weights = EnsembleWeights.mean
        if let w = m["weights"] {
            let text = try string(w.value, "\(key).weights")
            guard let parsed = EnsembleWeights(rawValue: text) else {
                throw fail(w.value, "\(key).weights", "must be \(EnsembleWeights.allCases.map(\.rawValue).joined(separator: ", ")), not '\(text)'")
            }
            weights = parsed
        }
        return ExperimentFile.Ensemble(name: try string(name.value, "\(key).name"), members: try strings(members.value, "\(key).members"),
                                       weights: weights, line: node.mark?.line ?? 1)
    }

    func rank(_ node: Node) throws -> ExperimentFile.Rank? {
        let m = try mapping(node, "report", known: ["rank_by", "order"])
        guard let metric = m["rank_by"] else { return nil }
        let key = try string(metric.value, "report.rank_by")
        guard ScoreMetric.named(key) != nil else {
            throw fail(metric.value, "report.rank_by", "unknown metric '\(key)' (a key of the score JSON, e.g. argmax_agreement, mean_js_distance, gold.macro_f1)")
        }
        var higher = true
        if let order = m["order"] {
            let text = try string(order.value, "report.order")
            guard ["higher", "lower"].contains(text) else { throw fail(order.value, "report.order", "must be higher or lower (which is better)") }
            higher = text == "higher"
        }
        return ExperimentFile.Rank(metric: key, higherIsBetter: higher, line: metric.value.mark?.line ?? 1)
    }

    func prices(_ node: Node) throws -> PriceTable {
        if case .scalar = node {
            let path = resolve(try string(node, "prices"))
            do { return try PriceTable.load(path) } catch { throw fail(node, "prices", "\(error)") }
        }
        guard case .mapping(let models) = node else { throw fail(node, "prices", "must be a prices file or a mapping of model names to prices") }
        var table = PriceTable.builtin
        table.source = "\(URL(fileURLWithPath: file).lastPathComponent) over the built-in table"
        for (k, v) in models {
            let model = try string(k, "prices")
            let m = try mapping(v, "prices.\(model)", known: ["input", "cached_input", "output", "batch_discount"])
            guard let input = m["input"], let output = m["output"] else { throw fail(v, "prices.\(model)", "needs input and output (dollars per million tokens)") }
            table.prices[model] = ModelPrice(input: try double(input.value, "prices.\(model).input", 0...1_000_000),
                                             cachedInput: try m["cached_input"].map { try double($0.value, "prices.\(model).cached_input", 0...1_000_000) },
                                             output: try double(output.value, "prices.\(model).output", 0...1_000_000),
                                             batchDiscount: try m["batch_discount"].map { try double($0.value, "prices.\(model).batch_discount", 0...1) } ?? 0.5)
        }
        return table
    }
}
