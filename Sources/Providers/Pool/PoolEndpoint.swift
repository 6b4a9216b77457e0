import Foundation
public import LLMKit

/// One server of a pool (``PoolProvider``): its base URL, its share of the work and how many
/// requests it takes at once.
public struct PoolEndpoint: Sendable, Equatable {
    public var baseURL: String
    /// Relative weight: among endpoints with free slots, free slots × weight decides.
    public var weight: Double
    /// Requests in flight at most; `nil`: llama.cpp's slot count from `/props`, else 4.
    public var maxConcurrency: Int?

    public init(baseURL: String, weight: Double = 1, maxConcurrency: Int? = nil) {
        self.baseURL = baseURL
        self.weight = weight
        self.maxConcurrency = maxConcurrency
    }

    /// Why `url` cannot be an endpoint's base URL, or `nil` when it can: it must be an
    /// `http://` or `https://` URL with a host. The endpoints file and `--base-url` are checked
    /// with this one rule.
    public static func problem(withBaseURL url: String) -> String? {
        let scheme = url.prefix(while: { $0 != ":" }).lowercased()
        guard scheme == "http" || scheme == "https", let host = URLComponents(string: url)?.host, !host.isEmpty else {
            return "'\(url)' is not an http:// or https:// URL"
        }
        return nil
    }

    /// Reads an endpoints file: one endpoint per line, `URL [WEIGHT [MAX_CONCURRENCY]]`
    /// separated by spaces or tabs; blank lines are skipped, and a `#` at the start of a field
    /// starts a comment that runs to the end of the line (`http://a:8080/v1 2  # the big box`).
    /// A bad line throws ``DatasetError`` naming the file, the line and the field.
    public static func parseFile(_ path: String) throws(DatasetError) -> [PoolEndpoint] {
        try FileChecks.requireRegularFile(path)
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw DatasetError(file: path, reason: "cannot read the endpoints file (\(error.localizedDescription))")
        }
        var endpoints: [PoolEndpoint] = []
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let fields = raw.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).prefix(while: { !$0.hasPrefix("#") }).map(String.init)
            guard let url = fields.first else { continue }
            let line = index + 1
            if let problem = problem(withBaseURL: url) { throw DatasetError(file: path, line: line, field: "url", reason: problem) }
            guard fields.count <= 3 else { throw DatasetError(file: path, line: line, reason: "expected URL [WEIGHT [MAX_CONCURRENCY]], found \(fields.count) fields") }
            var endpoint = PoolEndpoint(baseURL: url)
            if fields.count >= 2 {
                guard let weight = Double(fields[1]), weight.isFinite, weight > 0 else {
                    throw DatasetError(file: path, line: line, field: "weight", reason: "'\(fields[1])' is not a number above 0")
                }
                endpoint.weight = weight
            }
            if fields.count == 3 {
                guard let limit = Int(fields[2]), (1...1024).contains(limit) else {
                    throw DatasetError(file: path, line: line, field: "max_concurrency", reason: "'\(fields[2])' is not a whole number from 1 to 1024")
                }
                endpoint.maxConcurrency = limit
            }
            endpoints.append(endpoint)
        }
        guard !endpoints.isEmpty else { throw DatasetError(file: path, reason: "no endpoint listed (one per line: URL [WEIGHT [MAX_CONCURRENCY]])") }
        return endpoints
    }
}

/// How a pool decides an endpoint is down and when to try it again.
public struct PoolSettings: Sendable, Equatable {
    /// Consecutive connection failures, timeouts, 5xx or broken answers (too large, endless,
    /// not a chat completion) that take an endpoint out.
    public var failuresToTakeOut: Int
    /// How long an endpoint stays out before one request probes it.
    public var coolDown: Duration
    /// Accept endpoints that report different models (or none), and answers from any model:
    /// each answer then keeps the model that gave it.
    public var allowMixedModels: Bool

    /// How long one request waits in all while every endpoint it may use is out, before it
    /// fails with ``LLMError/Kind/unavailable`` (the retry policy then decides): by default
    /// twice ``coolDown``, time for the earliest cool-down to end and its probe to answer.
    public var maximumWait: Duration

    public init(failuresToTakeOut: Int = 3, coolDown: Duration = .seconds(5), allowMixedModels: Bool = false, maximumWait: Duration? = nil) {
        self.failuresToTakeOut = max(1, failuresToTakeOut)
        self.coolDown = coolDown
        self.allowMixedModels = allowMixedModels
        self.maximumWait = maximumWait ?? coolDown * 2
    }
}

/// What one endpoint of a pool did during a run.
public struct EndpointStatistics: Sendable, Equatable {
    public var baseURL: String
    /// The model it reported (`nil`: it did not say).
    public var model: String?
    public var capacity: Int
    /// Requests sent to it, and those that failed (any error).
    public var requests: Int
    public var errors: Int
    /// Seconds per request (answers and errors).
    public var latencies: [Double]
    /// Times the circuit breaker took it out, and times a probe brought it back.
    public var takenOut: Int
    public var probedBack: Int
    /// Whether it is out now.
    public var isOut: Bool

    /// Mean seconds per request (0 without requests).
    public var meanLatency: Double { latencies.isEmpty ? 0 : latencies.reduce(0, +) / Double(latencies.count) }
}
