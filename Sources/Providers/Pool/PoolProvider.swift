import Foundation
public import LLMKit

/// Several servers of the same model as one provider: each request goes to the healthy
/// endpoint with the most free capacity (free slots × weight); an endpoint that fails
/// ``PoolSettings/failuresToTakeOut`` times in a row with a connection failure, a timeout, a
/// 5xx or a broken answer (larger than the limit, an endless stream, a body that is not a chat
/// completion) is taken out for ``PoolSettings/coolDown``, then one request probes it (back in
/// on success, out again on failure). A request that fails with one of those, or with another
/// error that may pass (a 429), is moved to another endpoint at once; only when every
/// endpoint has failed it does the error reach the retry middleware outside the pool.
///
/// ``prepare()`` prepares every endpoint (an endpoint down at the start begins taken out),
/// sums their capacities (llama.cpp's slots from `/props`, or the configured maximum) into the
/// run's concurrency, and checks the model each endpoint reports (the served model its
/// ``LLMProvider/prepare()`` gives, as llama.cpp's `/props`, else the list of a ``ModelListing``
/// provider, as `/v1/models`; see ``checkModels(_:asked:)``), refusing a mixed pool unless
/// ``PoolSettings/allowMixedModels``. The model of every answer is checked too: an answer that
/// names another model than the one asked for (a dated snapshot of it, `m-2024-08-06`, is
/// that model) is not used; its endpoint is taken out at once and the request moves on, as
/// after a broken answer. An answer that names no model gets the model its endpoint reported,
/// so the run can record which model answered (with mixed models, each answer keeps its own).
/// The pool's ``identity`` is its set of endpoints (sorted, space-separated), so the response
/// cache and a run's fingerprint name the servers that answered, in any order, and another
/// pool of the same model asks its own servers.
public final class PoolProvider: LLMProvider {
    public let id: ProviderID
    public let endpoints: [PoolEndpoint]
    let providers: [any LLMProvider]
    let model: String?
    let settings: PoolSettings
    let state: PoolState

    public var capabilities: ProviderCapabilities { providers.first?.capabilities ?? ProviderCapabilities() }

    /// Its endpoints' identities (each member's ``LLMProvider/identity``, else its base URL),
    /// sorted and space-separated: the same for the same endpoints in any order.
    public var identity: String? {
        Set(zip(endpoints, providers).map { $1.identity ?? $0.baseURL }).sorted().joined(separator: " ")
    }

    /// A pool over `members` (each endpoint with the provider that talks to it); `model` is the
    /// model the run asks for, when given.
    public init(id: ProviderID, members: [(PoolEndpoint, any LLMProvider)], model: String?, settings: PoolSettings = PoolSettings()) {
        self.id = id
        endpoints = members.map(\.0)
        providers = members.map(\.1)
        self.model = model
        self.settings = settings
        state = PoolState(endpoints: members.map(\.0), settings: settings)
    }

    /// Prepares every endpoint at once, checks their models (``checkModels(_:asked:)``) and
    /// returns the first ready endpoint's capabilities with the pool's total capacity as its
    /// slot count. Throws the first endpoint's error when none is ready.
    public func prepare() async throws -> ProviderCapabilities {
        let reports = await withTaskGroup(of: (Int, Result<ProviderCapabilities, any Error>, ModelReport).self) { group in
            for (i, provider) in providers.enumerated() {
                group.addTask { [model] in
                    do {
                        let capabilities = try await provider.prepare()
                        return (i, .success(capabilities), await Self.reportedModel(provider, capabilities: capabilities, asked: model))
                    } catch { return (i, .failure(error), ModelReport(model: nil, answered: false)) }
                }
            }
            var all: [(Int, Result<ProviderCapabilities, any Error>, ModelReport)] = []
            for await report in group { all.append(report) }
            return all.sorted { $0.0 < $1.0 }
        }
        guard let firstUp = reports.first(where: { if case .success = $0.1 { true } else { false } }), case .success(var capabilities) = firstUp.1 else {
            if case .failure(let error) = reports.first?.1 { throw error }
            throw LLMError(.configuration, "The pool has no endpoint.")
        }
        if let refusal = reports.lazy.compactMap(\.2.refusal).first { throw refusal }
        let served = reports.map(\.2.model)
        // No model named, and an endpoint lists several (a hosted API lists dozens): the first
        // one listed is not a choice to make for the user.
        if model == nil, let i = reports.firstIndex(where: { $0.2.choices > 1 }) {
            throw LLMError(.configuration, "No model was given and \(endpoints[i].baseURL) lists \(reports[i].2.choices) models; name the one to use.",
                           context: .init(provider: id.name, setting: .model))
        }
        try checkModels(served, asked: reports.map(\.2.answered))
        var total = 0
        for (i, report) in reports.enumerated() {
            var capacity = endpoints[i].maxConcurrency ?? 4
            if case .success(let c) = report.1 { capacity = endpoints[i].maxConcurrency ?? c.parallelSlots ?? 4; total += capacity }
            await state.configure(i, capacity: capacity, model: served[i], down: { if case .failure = report.1 { true } else { false } }())
        }
        capabilities.parallelSlots = max(1, total)
        capabilities.servedModel = model ?? served.compactMap { $0 }.first ?? capabilities.servedModel
        return capabilities
    }

    /// Refuses a pool whose endpoints do not all report the same model, naming each, unless
    /// mixed models are allowed. The rule, over the endpoints that answered the question at the
    /// start (`asked`): when any of them reports a model, every one must report the model asked
    /// for (or, when none was given, the first one reported); one that answered without a
    /// model (`/v1/models` missing or empty) is refused then, as its model cannot be confirmed.
    /// When none reports a model there is nothing to compare before the run. Endpoints that
    /// could not be asked (down, or the question failed in transit) are checked by their
    /// answers, as every endpoint is.
    func checkModels(_ served: [String?], asked: [Bool]) throws(LLMError) {
        let reported = zip(served, asked).filter(\.1).map(\.0)
        guard !settings.allowMixedModels, let expected = model ?? reported.compactMap({ $0 }).first,
              reported.contains(where: { $0 != nil }), reported.contains(where: { $0 != expected }) else { return }
        let list = zip(endpoints, zip(served, asked)).compactMap { endpoint, report -> String? in
            guard report.1 else { return nil }
            return report.0.map { "\(endpoint.baseURL) serves \($0)" } ?? "\(endpoint.baseURL) reports no model"
        }.joined(separator: "; ")
        throw LLMError(.configuration, "The pool's endpoints do not all serve \(model.map { "the model \($0)" } ?? "the same model"): \(list).",
                       context: .init(provider: id.name))
    }

    /// Whether an answer naming `answered` comes from the model `asked`: the same name, the
    /// same model file (llama.cpp answers with the path it loaded,
    /// `.venv-llama/models/gemma3-270m-q4_k_m.gguf`, and reports the file's stem,
    /// `gemma3-270m-q4_k_m`, in `/props`; Gemini's `models/gemini-2.5-flash` is
    /// `gemini-2.5-flash`: the last path component, without `.gguf`, and nothing else cut at
    /// a dot), or a dated snapshot of it (`gpt-4o-2024-08-06` for `gpt-4o`, Anthropic's
    /// `claude-sonnet-4-5-20250929` for `claude-sonnet-4-5`: the name, a dash, then a date,
    /// ``isDate(_:)``), as OpenAI and Anthropic name the model behind an alias.
    static func isSameModel(_ answered: String, as asked: String) -> Bool {
        guard answered != asked else { return true }
        if answered.contains("/") || answered.hasSuffix(".gguf") || asked.contains("/") || asked.hasSuffix(".gguf") {
            func stem(_ name: String) -> Substring {
                let last = name.split(separator: "/").last ?? Substring(name)
                return last.hasSuffix(".gguf") ? last.dropLast(".gguf".count) : last
            }
            if stem(answered) == stem(asked) { return true }
        }
        guard answered.hasPrefix(asked + "-") else { return false }
        return isDate(answered.dropFirst(asked.count + 1))
    }

    /// A snapshot's date as providers write it: `20250929` (Anthropic), `2024-08-06` or `0613`
    /// (OpenAI). Not any digits and dashes: `claude-sonnet-4-5-20250929` is not a snapshot of
    /// `claude-sonnet-4` (its `5-20250929` is a version, then a date).
    static func isDate(_ suffix: Substring) -> Bool {
        let parts = suffix.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }) else { return false }
        return parts.map(\.count) == [8] || parts.map(\.count) == [4, 2, 2] || parts.map(\.count) == [4]
    }

    /// Gives an answer without a model the model its endpoint reported, and refuses (`nil`
    /// otherwise) an answer from another model than the one asked for, unless mixed models are
    /// allowed.
    func checkAnswer(_ response: inout CompletionResponse, endpoint i: Int, reported: String?, asked: String) -> LLMError? {
        if response.model?.isEmpty ?? true { response.model = reported }
        guard !settings.allowMixedModels, let answered = response.model, !Self.isSameModel(answered, as: asked) else { return nil }
        return LLMError(.invalidOutput, "\(endpoints[i].baseURL) answered with the model \(answered), not \(asked); a pool without mixed models uses no other model's answer.",
                        context: .init(provider: id.name, model: asked))
    }

    /// What an endpoint said about its model at the start: `model` (`nil`: none), and whether
    /// it `answered` the question at all (a failure in transit is no answer).
    struct ModelReport: Sendable {
        var model: String?
        var answered: Bool
        /// How many models the endpoint's list offered, when no model was asked for and the
        /// report is the list's first (more than 1: the report is a guess, not the served model).
        var choices = 1
        /// The list was refused for a reason the run cannot outlive (a wrong key, no access).
        var refusal: LLMError?
    }

    /// The model an endpoint says it serves: the served model its ``LLMProvider/prepare()``
    /// gives (llama.cpp's `/props` name), else, for a ``ModelListing`` provider (the built-in
    /// HTTP providers, or a third party's), the model asked for if its list has it (or a dated
    /// snapshot of it, ``isSameModel(_:as:)``), else its only (or first) model (with no model
    /// asked for, ``prepare()`` refuses a list of several: the first is a guess). A list that
    /// is missing (404, 405, 501) or empty is an answer without a model; a 401 or 403 stops
    /// the pool (``ModelReport/refusal``); any other failure (429, 5xx, connection, timeout)
    /// is no answer. A provider that neither reports nor
    /// lists answers without a model.
    static func reportedModel(_ provider: any LLMProvider, capabilities: ProviderCapabilities, asked: String?) async -> ModelReport {
        if let served = capabilities.servedModel { return ModelReport(model: served, answered: true) }
        guard let lister = provider as? any ModelListing else { return ModelReport(model: nil, answered: true) }
        let listed: [String]
        do { listed = try await lister.listModels() } catch {
            // 404, 405, 501: the server has no list (many OpenAI-compatible ones). 401, 403:
            // the key is wrong or lacks access, which every request would meet: the pool stops.
            // Anything else (a 429, a 5xx, a failure in transit): not answered, the endpoint is
            // checked by its answers.
            let status = (error as? LLMError)?.context.httpStatus ?? 0
            if status == 401 || status == 403 { return ModelReport(model: nil, answered: false, refusal: error as? LLMError) }
            return ModelReport(model: nil, answered: [404, 405, 501].contains(status))
        }
        if let asked, listed.contains(where: { isSameModel($0, as: asked) }) { return ModelReport(model: asked, answered: true) }
        return ModelReport(model: listed.first, answered: true, choices: asked == nil ? listed.count : 1)
    }

    /// Sends `request` to the best endpoint, and on an endpoint's fault to the next one, each
    /// endpoint at most once. When every endpoint it may still use is out, the request waits
    /// for the earliest cool-down to end (and its probe to answer), reporting the wait to the
    /// run's ``RequestObserver``, but ``PoolSettings/maximumWait`` in all at most: then it fails
    /// with ``LLMError/Kind/unavailable`` and the retry middleware outside decides. The
    /// answer's ``CompletionResponse/attempts`` and an error's ``LLMError/Context/attempt``
    /// count every send to every endpoint (0: none was sent).
    public func complete(_ request: CompletionRequest) async throws -> CompletionResponse {
        var excluded: Set<Int> = []
        var last: LLMError?
        var sent = 0
        var deadline: ContinuousClock.Instant?
        var reported: ContinuousClock.Instant?
        while true {
            let i: Int, servedModel: String?
            switch try await state.acquire(excluding: excluded) {
            case .endpoint(let index, let model):
                (i, servedModel) = (index, model)
            case .exhausted:
                var error = last ?? LLMError(.unavailable, "No endpoint of the pool could take the request.", context: .init(provider: id.name, model: request.model))
                error.context.attempt = sent
                throw error
            case .allOut(let until):
                let now = ContinuousClock.now
                let end = deadline ?? now + settings.maximumWait
                deadline = end
                guard now < end else {
                    let why = last.map { " (last error: \($0.message))" } ?? ""
                    throw LLMError(.unavailable, "Every endpoint of the pool is out and none came back within \(settings.maximumWait)\(why).",
                                   context: .init(provider: id.name, model: request.model, attempt: sent))
                }
                // Until the earliest cool-down ends (or, while others probe, the deadline).
                let wake = min(until ?? end, end)
                if wake != reported {
                    RequestObserver.current?.waiting(.poolCoolDown, for: wake - now)
                    reported = wake
                }
                try await Task.sleep(for: min(wake - now, .milliseconds(20)))
                continue
            }
            let started = ContinuousClock.now
            sent += 1
            do {
                var response = try await LLMError.wrapping { try await providers[i].complete(request) }
                if let wrong = checkAnswer(&response, endpoint: i, reported: servedModel, asked: request.model) {
                    await state.release(i, error: wrong.kind, seconds: (ContinuousClock.now - started).seconds, takeOut: true)
                    last = wrong
                    excluded.insert(i)
                    continue
                }
                await state.release(i, error: nil, seconds: (ContinuousClock.now - started).seconds)
                response.attempts = sent
                return response
            } catch let wrapped {
                await state.release(i, error: wrapped.kind, seconds: (ContinuousClock.now - started).seconds)
                var error = wrapped
                error.context.attempt = sent
                if error.kind == .cancelled || Task.isCancelled { throw error }
                guard error.isRetryable || PoolState.endpointFaults.contains(error.kind) else { throw error }
                last = error
                excluded.insert(i)
            }
        }
    }

    /// Each endpoint's requests, errors, latency and circuit-breaker history, in endpoint order.
    public func statistics() async -> [EndpointStatistics] { await state.statistics() }
}
