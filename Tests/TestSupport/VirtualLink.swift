import CoreSupport
import NIOCore

/// Datagrams in flight in virtual time: the part every in-memory network of the suites shares
/// (ICE agents in ICECoreTests, peer sessions in PeerCoreTests) — a fixed delay, seeded jitter that
/// reorders, seeded loss, a drop filter, and arrival in send order among equal arrival times.
public struct VirtualLink<Address: Hashable & Sendable> {
    public struct Datagram {
        public var deliverAt: NIODeadline
        public var bytes: [UInt8]
        public var from: Address
        public var to: Address
        /// Which endpoint of the simulation sent it.
        public var sender: Int
        /// Send order, for equal arrival times.
        var order = 0

        public init(deliverAt: NIODeadline, bytes: [UInt8], from: Address, to: Address, sender: Int) {
            self.deliverAt = deliverAt
            self.bytes = bytes
            self.from = from
            self.to = to
            self.sender = sender
        }
    }

    public var delay: TimeAmount = .zero
    /// Extra uniform random delay in [0, jitter): datagrams overtake each other.
    public var jitter: TimeAmount = .zero
    /// Probability that a lossy datagram is lost.
    public var loss = 0.0
    /// Return true to drop a datagram (it is counted in `dropped`).
    public var dropFilter: ((Datagram, NIODeadline) -> Bool)?
    public var rng: SeededGenerator
    public private(set) var inFlight: [Datagram] = []
    public private(set) var dropped = 0
    private var sent = 0

    public init(seed: UInt64) {
        rng = SeededGenerator(seed: seed)
    }

    /// Sends a datagram at `now`, unless it is lost (`lossy` ones only) or filtered; true when it
    /// is on its way.
    @discardableResult
    public mutating func send(_ bytes: [UInt8], from: Address, to: Address, sender: Int, now: NIODeadline, lossy: Bool = true) -> Bool {
        var extra = TimeAmount.zero
        if jitter > .zero { extra = .nanoseconds(Int64.random(in: 0..<jitter.nanoseconds, using: &rng)) }
        let d = Datagram(deliverAt: now + delay + extra, bytes: bytes, from: from, to: to, sender: sender)
        if lossy, loss > 0, Double.random(in: 0..<1, using: &rng) < loss {
            dropped += 1
            return false
        }
        if let f = dropFilter, f(d, now) {
            dropped += 1
            return false
        }
        inject(d)
        return true
    }

    /// Puts a datagram on the link as it is (a test's own timing).
    public mutating func inject(_ d: Datagram) {
        var d = d
        sent += 1
        d.order = sent
        inFlight.append(d)
    }

    /// A datagram that arrived nowhere (no socket at its address).
    public mutating func countDropped() { dropped += 1 }

    /// When the next datagram arrives.
    public var nextDelivery: NIODeadline? { inFlight.map(\.deliverAt).min() }

    /// The next datagram due at `now` (earliest arrival, then send order), removed from the link.
    public mutating func takeNext(dueAt now: NIODeadline) -> Datagram? {
        guard let i = inFlight.indices.filter({ inFlight[$0].deliverAt <= now })
            .min(by: { (inFlight[$0].deliverAt, inFlight[$0].order) < (inFlight[$1].deliverAt, inFlight[$1].order) }) else { return nil }
        return inFlight.remove(at: i)
    }
}
