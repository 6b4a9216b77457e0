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

    /// An endpoint for one request, with the model it reported, waiting while every usable
    /// endpoint is busy (or out and cooling down); `nil` when every endpoint is in `excluded`.
    func acquire(excluding excluded: Set<Int>) async throws -> (index: Int, model: String?)? {
        while true {
            try Task.checkCancellation()
            guard excluded.count < slots.count else { return nil }
            let now = ContinuousClock.now
            var best: (index: Int, score: Double)?
            for i in slots.indices where !excluded.contains(i) && slots[i].inFlight < slots[i].capacity {
                let slot = slots[i]
                if let until = slot.outUntil, until > now || slot.probing { continue }
                let score = Double(slot.capacity - slot.inFlight) * slot.endpoint.weight
                if best == nil || score > best!.score { best = (i, score) }
            }
            if let (i, _) = best {
                slots[i].inFlight += 1
                if slots[i].outUntil != nil { slots[i].probing = true }
                slots[i].statistics.requests += 1
                return (i, slots[i].statistics.model)
            }
            // Everything usable is busy or cooling down: look again shortly (a release or the
            // end of a cool-down frees a slot).
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
