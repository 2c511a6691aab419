import NIOCore

/// Exponential back-off for failed logins, per key (the server keeps one throttle keyed by user id
/// and one keyed by client address, with their own policies), sans-IO: `now` is passed in.
///
/// The first `freeFailures` failures of a key cost nothing; each further one blocks the key for
/// `baseDelay` doubled per failure, up to `maxDelay`. While a key is blocked every login on it is
/// refused without looking at the password — also the right one — so guessing is bounded by the
/// delay, not by how fast the server can hash. A success clears the keys it used; a key forgets its
/// failures `forgetAfter` after the last one. At most `maxKeys` keys are kept (the least recently
/// failed are dropped first), so a flood of made-up user names cannot grow memory without bound.
public struct LoginThrottle: Sendable {
    public struct Policy: Sendable, Equatable {
        public var freeFailures: Int = 3
        public var baseDelay: TimeAmount = .seconds(1)
        public var maxDelay: TimeAmount = .seconds(60)
        public var forgetAfter: TimeAmount = .minutes(15)
        public var maxKeys: Int = 10_000
        public init() {}
    }

    struct Entry: Sendable {
        var failures: Int
        var blockedUntil: NIODeadline
        var lastFailure: NIODeadline
    }

    public let policy: Policy
    private var entries: [String: Entry] = [:]

    public init(policy: Policy = Policy()) {
        self.policy = policy
    }

    /// Keys tracked now (for tests and metrics).
    public var count: Int { entries.count }

    /// When the earliest of `keys` is free again, or nil when none is blocked at `now`.
    public func blockedUntil(_ keys: [String], now: NIODeadline) -> NIODeadline? {
        keys.compactMap { k -> NIODeadline? in
            guard let e = entries[k], e.blockedUntil > now, now - e.lastFailure < policy.forgetAfter else { return nil }
            return e.blockedUntil
        }.max()
    }

    public mutating func recordFailure(_ keys: [String], now: NIODeadline) {
        for k in keys {
            var e = entries[k].flatMap { now - $0.lastFailure < policy.forgetAfter ? $0 : nil }
                ?? Entry(failures: 0, blockedUntil: now, lastFailure: now)
            e.failures += 1
            e.lastFailure = now
            let over = e.failures - policy.freeFailures
            if over > 0 {
                let factor = Int64(1) << Int64(min(over - 1, 30))
                let delay = TimeAmount.nanoseconds(min(policy.maxDelay.nanoseconds, policy.baseDelay.nanoseconds &* factor))
                e.blockedUntil = now + delay
            }
            entries[k] = e
        }
        trim(now: now)
    }

    public mutating func recordSuccess(_ keys: [String]) {
        for k in keys { entries[k] = nil }
    }

    private mutating func trim(now: NIODeadline) {
        guard entries.count > policy.maxKeys else { return }
        entries = entries.filter { now - $0.value.lastFailure < policy.forgetAfter }
        while entries.count > policy.maxKeys, let oldest = entries.min(by: { $0.value.lastFailure < $1.value.lastFailure }) {
            entries[oldest.key] = nil
        }
    }
}
