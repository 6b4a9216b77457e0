import LLMKit

/// The pool's shared state: each endpoint's capacity, requests in flight, consecutive
/// failures, circuit (in, out until a time, probing) and statistics.
actor PoolState {
    struct Slot {
        var endpoint: PoolEndpoint
        var capacity = 4
        var inFlight = 0
        var failures = 0
        /// Out until this instant (`nil`: in).
        var outUntil: ContinuousClock.Instant?
        /// One request is probing the endpoint while it is out.
        var probing = false
        /// Counters; capacity and whether the endpoint is out are read from the slot itself.
        var statistics: EndpointStatistics
    }

    private var slots: [Slot]
    private let settings: PoolSettings

    init(endpoints: [PoolEndpoint], settings: PoolSettings) {
        self.settings = settings
        slots = endpoints.map {
            Slot(endpoint: $0, statistics: EndpointStatistics(baseURL: $0.baseURL, model: nil, capacity: 4, requests: 0, errors: 0, latencies: [],
                                                               takenOut: 0, probedBack: 0, isOut: false))
        }
    }

    /// Sets an endpoint's capacity and model after ``PoolProvider/prepare()``; an endpoint
    /// that was down then starts out (and is probed after the cool-down).
    func configure(_ i: Int, capacity: Int, model: String?, down: Bool) {
        slots[i].capacity = max(1, capacity)
        slots[i].statistics.model = model
        if down { takeOut(i) }
    }

    /// What ``acquire(excluding:)`` found.
    enum Acquisition: Equatable {
        /// Send to endpoint `index`, which reported `model` at the start.
        case endpoint(Int, model: String?)
        /// Every endpoint is excluded: this request has tried them all.
        case exhausted
        /// Every endpoint the request may use is out: cooling down until `until` at the
        /// earliest, or (`nil`) being probed by another request.
        case allOut(until: ContinuousClock.Instant?)
    }

    /// An endpoint for one request, waiting while every usable endpoint is busy (a request in
    /// flight ends by its timeout at the latest). Never waits for a cool-down: when every
    /// endpoint not in `excluded` is out, it says so (``Acquisition/allOut(until:)``) and the
    /// caller decides how long to wait.
    func acquire(excluding excluded: Set<Int>) async throws -> Acquisition {
        while true {
            try Task.checkCancellation()
            guard excluded.count < slots.count else { return .exhausted }
            let now = ContinuousClock.now
            var best: (index: Int, score: Double)?
            var allOut = true
            var earliest: ContinuousClock.Instant?
            for i in slots.indices where !excluded.contains(i) {
                let slot = slots[i]
                if let until = slot.outUntil, until > now || slot.probing {
                    if !slot.probing { earliest = min(earliest ?? until, until) }
                    continue
                }
                allOut = false
                guard slot.inFlight < slot.capacity else { continue }
                let score = Double(slot.capacity - slot.inFlight) * slot.endpoint.weight
                if best == nil || score > best!.score { best = (i, score) }
            }
            if let (i, _) = best {
                slots[i].inFlight += 1
                if slots[i].outUntil != nil { slots[i].probing = true }
                slots[i].statistics.requests += 1
                return .endpoint(i, model: slots[i].statistics.model)
            }
            if allOut { return .allOut(until: earliest) }
            // Every usable endpoint is busy: look again shortly (a release frees a slot).
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    /// The errors that say the endpoint, not the request, is at fault: it refused or dropped the
    /// connection, timed out, answered 5xx or not ready, or broke its answer (larger than the
    /// limit, an endless stream, a body that is not a chat completion). They count towards
    /// taking it out, and the request moves to another endpoint.
    static let endpointFaults: Set<LLMError.Kind> = [.transport, .timeout, .serverError, .unavailable, .responseTooLarge, .invalidOutput]

    /// Ends one request on endpoint `i`: `error` is `nil` on success. An ``endpointFaults``
    /// error counts towards taking the endpoint out; a probe's outcome brings it back or sends
    /// it out again. `takeOut` takes it out at once (it answered with another model).
    func release(_ i: Int, error: LLMError.Kind?, seconds: Double, takeOut outNow: Bool = false) {
        slots[i].inFlight -= 1
        slots[i].statistics.latencies.append(seconds)
        let probe = slots[i].probing
        slots[i].probing = false
        guard let error else {
            slots[i].failures = 0
            if probe {
                slots[i].outUntil = nil
                slots[i].statistics.probedBack += 1
            }
            return
        }
        slots[i].statistics.errors += 1
        guard Self.endpointFaults.contains(error) else { return }
        slots[i].failures += 1
        if probe {
            slots[i].outUntil = ContinuousClock.now + settings.coolDown
        } else if slots[i].outUntil == nil && (outNow || slots[i].failures >= settings.failuresToTakeOut) {
            takeOut(i)
        }
    }

    private func takeOut(_ i: Int) {
        slots[i].outUntil = ContinuousClock.now + settings.coolDown
        slots[i].statistics.takenOut += 1
    }

    func statistics() -> [EndpointStatistics] {
        slots.map { slot in
            var statistics = slot.statistics
            statistics.capacity = slot.capacity
            statistics.isOut = slot.outUntil != nil
            return statistics
        }
    }
}
