import Foundation
import Synchronization

/// A relabeling method's name, recorded in the run's fingerprint and in each line it writes.
public struct MethodID: Sendable, Hashable, CustomStringConvertible, ExpressibleByStringLiteral {
    public let name: String
    public init(_ name: String) { self.name = name }
    public init(stringLiteral value: String) { name = value }
    public var description: String { name }

    /// The paper's prompted adjustment: a chat model reads the votes and the descriptions and
    /// returns an adjusted distribution with a reason (the default; ``RelabelPipeline`` itself).
    public static let adjust: MethodID = "adjust"
    /// Distributions from a model's next-token log-probabilities over the 8 emotion words.
    public static let logprob: MethodID = "logprob"
    /// The dictionary baseline: the descriptions' words looked up in an emotion lexicon.
    public static let lexicon: MethodID = "lexicon"
}

/// A way to relabel items other than the prompted adjustment: the second seam beside the
/// provider. A method turns a chunk of items into one outcome per item; the run around it is
/// the same for every method (journal, lock, fingerprint, resume, cache, recordings, progress,
/// cost, summary): a method never writes files.
///
/// A method that asks a model sends its requests through ``MethodContext/send(_:items:)``, so
/// they pass the client's middlewares (cache, retry, rate limit, recording, the run's answer
/// log) and are counted and reported like the adjustment's.
public protocol RelabelMethod: Sendable {
    /// Its name (``MethodID/logprob``, ``MethodID/lexicon``, or a third party's).
    var id: MethodID { get }
    /// The settings that change its answers (a weight, a lexicon's hash, a prompt's id): the
    /// fingerprint records them, so a resume with other parameters is refused.
    var parameters: JSONValue { get }
    /// Refuses, before any work, a provider the method cannot use (`nil`: the run has none),
    /// with one sentence naming what is missing.
    func check(provider: ProviderCapabilities?) throws(LLMError)
    /// One outcome per item of `chunk`, in order.
    func relabel(_ chunk: [DatasetItem], context: MethodContext) async throws -> [ItemOutcome]
}

extension RelabelMethod {
    /// Accepts any provider.
    public func check(provider: ProviderCapabilities?) throws(LLMError) {}
}

/// What a method may use while it relabels a chunk: the run's client and settings, and one way
/// to send a request that counts it.
public struct MethodContext: Sendable {
    /// The run's client (its provider behind the run's middlewares).
    public let client: LLMClient
    public let configuration: RelabelConfiguration
    let pipeline: RelabelPipeline
    let counts: Counts

    /// The chunk's request counters (a method may send requests concurrently).
    final class Counts: Sendable {
        let value = Mutex(RelabelSummary())
        func withLock<T>(_ body: (inout RelabelSummary) -> T) -> T { value.withLock { body(&$0) } }
    }

    init(pipeline: RelabelPipeline) {
        self.pipeline = pipeline
        client = pipeline.client
        configuration = pipeline.configuration
        counts = Counts()
    }

    /// Sends `request` (for `items` items) through the run's client, reporting it as events and
    /// counting its attempts, tokens and latency into the run's summary. Throws the provider's
    /// error; a method decides what an error means for its items (``failure(for:)``).
    public func send(_ request: CompletionRequest, items: Int) async throws(LLMError) -> CompletionResponse {
        var summary = RelabelSummary()
        summary.requests = 1
        let result = await pipeline.send(request, items: items, round: 0, summary: &summary)
        counts.withLock { $0.add(summary) }
        return try result.get()
    }

    /// The failure for items whose request failed with `error`; a fatal error (wrong key, no
    /// access, unknown model, no quota) or a cancellation is thrown instead, as the adjustment
    /// does, so the run stops rather than failing every item.
    public func failure(for error: LLMError) throws -> ItemFailure {
        if error.kind == .cancelled || Task.isCancelled { throw CancellationError() }
        return try RunPolicy.failure(for: error)
    }
}

/// Mixes a method's evidence into the reference the way the paper's prompt asks ("focus 25% on
/// the descriptions and 75% on the reference"): `p = (1 − w)·reference + w·evidence`.
///
/// Two refinements, both off by default and recorded in a run's parameters when on:
/// - a **temperature** `T` on the evidence before the mix, `evidence_i^(1/T)` renormalised
///   (`T > 1` flattens a peaked next-token distribution, `T < 1` sharpens it); fitted with
///   ``EvidenceFit`` to a gold relabeling;
/// - **tie-preserving**: when the reference has several maximal classes (two annotators, two
///   emotions), the evidence on those classes is replaced by its mean over them before the mix,
///   so the mix moves them together and never breaks their tie; other classes are untouched.
///   A small mix otherwise breaks nearly every such tie toward the evidence, which GPT-4's
///   relabels mostly keep.
public struct EvidenceMix: Sendable, Hashable {
    /// The paper's weight on the descriptions.
    public static let defaultWeight = 0.25

    /// `w`, in 0...1.
    public var weight: Double
    /// `T` (> 0); 1 leaves the evidence as it is.
    public var temperature: Double
    /// Whether a tie among the reference's maximal classes is kept.
    public var preservesTies: Bool

    /// A mix with weight `w` (clamped to 0...1), temperature `T` (at least 0.01) and the tie rule.
    public init(weight: Double = EvidenceMix.defaultWeight, temperature: Double = 1, preservesTies: Bool = false) {
        self.weight = min(1, max(0, weight))
        self.temperature = max(0.01, temperature)
        self.preservesTies = preservesTies
    }

    /// The settings a run records in its method parameters: `weight` always, `evidence_temperature`
    /// and `preserve_ties` only when they are not the defaults (so older runs resume unchanged).
    public var parameters: JSONObject {
        var object: JSONObject = ["weight": .double(weight)]
        if temperature != 1 { object["evidence_temperature"] = .double(temperature) }
        if preservesTies { object["preserve_ties"] = true }
        return object
    }

    /// The evidence with the temperature applied (8 values summing to 1; unchanged at `T = 1`).
    public func tempered(_ evidence: [Double]) -> [Double] {
        guard temperature != 1 else { return evidence }
        let powered = evidence.map { $0 > 0 ? Foundation.pow($0, 1 / temperature) : 0 }
        let total = powered.reduce(0, +)
        return total > 0 && total.isFinite ? powered.map { $0 / total } : evidence
    }

    /// `(1 − w)·reference + w·evidence'`, where `evidence'` is `evidence` tempered and, when
    /// ties are preserved, averaged over the reference's maximal classes.
    public func apply(reference: EmotionDistribution, evidence: [Double]) -> EmotionDistribution {
        var e = tempered(evidence)
        if preservesTies {
            let top = reference.values.max() ?? 0
            let tied = reference.values.indices.filter { reference.values[$0] >= top - 1e-9 }
            if tied.count > 1 {
                let mean = tied.map { e[$0] }.reduce(0, +) / Double(tied.count)
                for i in tied { e[i] = mean }
            }
        }
        let w = weight
        let values = zip(reference.values, e).map { (1 - w) * $0 + w * $1 }
        return (try? EmotionDistribution.normalizing(values, policy: .default).distribution) ?? reference
    }

    /// `(1 − weight)·reference + weight·evidence`, renormalised (both sum to 1, so only
    /// rounding is corrected).
    public static func combine(reference: EmotionDistribution, evidence: EmotionDistribution, weight: Double) -> EmotionDistribution {
        EvidenceMix(weight: weight).apply(reference: reference, evidence: evidence.values)
    }
}
