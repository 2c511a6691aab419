import CoreSupport
import NIOCore
import Testing
@testable import ICECore

/// Two (or more) ICE agents joined by an in-memory UDP network in virtual time, with seeded
/// loss, fixed delay, optional NAT rewriting and drop filters.
struct InMemoryNetwork {
    struct Packet {
        var deliverAt: NIODeadline
        var bytes: [UInt8]
        var from: TransportAddress
        var to: TransportAddress
        var sender: Int
    }

    struct Sent {
        var at: NIODeadline
        var sender: Int
        var bytes: [UInt8]
        var to: TransportAddress
        var message: STUNMessage? { try? STUNMessage.decode(bytes) }
    }

    var now: NIODeadline
    var agents: [ICEAgent] = []
    /// Per agent: local candidate id → socket address.
    var sockets: [[ICELocalCandidateID: TransportAddress]] = []
    var events: [[(at: NIODeadline, event: ICEEvent)]] = []
    var inFlight: [Packet] = []
    var sent: [Sent] = []
    var delay: TimeAmount = .zero
    /// Extra uniform random delay per packet (reorders packets).
    var jitter: TimeAmount = .zero
    var loss: Double = 0
    var rng = SeededGenerator(seed: 1)
    /// NAT: a socket's packets appear to come from the mapped address; packets to the mapped
    /// address reach the socket.
    var nat: [TransportAddress: TransportAddress] = [:]
    /// Return true to drop a packet.
    var dropFilter: ((Packet, NIODeadline) -> Bool)?
    var delivered = 0
    var dropped = 0

    init(start: NIODeadline = .uptimeNanoseconds(1_000_000_000)) { now = start }

    @discardableResult
    mutating func add(_ agent: ICEAgent) -> Int {
        agents.append(agent)
        sockets.append([:])
        events.append([])
        return agents.count - 1
    }

    @discardableResult
    mutating func addHost(_ agent: Int, _ address: TransportAddress) -> ICELocalCandidateID {
        let id = agents[agent].addHostCandidate(address, now: now)
        sockets[agent][id] = address
        return id
    }

    func candidates(of agent: Int) -> [ICECandidate] { agents[agent].localCandidates }

    /// Moves transmits and events out of every agent.
    mutating func flush() {
        for i in agents.indices {
            while let t = agents[i].pollTransmit() {
                guard let socket = sockets[i][t.localCandidate], let to = TransportAddress(t.destination) else { continue }
                sent.append(Sent(at: now, sender: i, bytes: t.bytes, to: to))
                let from = nat[socket] ?? socket
                var extra = TimeAmount.zero
                if jitter > .zero { extra = .nanoseconds(Int64.random(in: 0...jitter.nanoseconds, using: &rng)) }
                let packet = Packet(deliverAt: now + delay + extra, bytes: t.bytes, from: from, to: to, sender: i)
                if loss > 0, Double.random(in: 0..<1, using: &rng) < loss { dropped += 1; continue }
                if let f = dropFilter, f(packet, now) { dropped += 1; continue }
                inFlight.append(packet)
            }
            while let e = agents[i].pollEvent() { events[i].append((now, e)) }
        }
    }

    /// Delivers what is due, in send order.
    mutating func deliverDue() -> Bool {
        var any = false
        while let k = inFlight.indices.filter({ inFlight[$0].deliverAt <= now }).min(by: { inFlight[$0].deliverAt < inFlight[$1].deliverAt }) {
            let p = inFlight.remove(at: k)
            any = true
            // Find the receiving socket (directly or through a NAT mapping).
            let target = nat.first(where: { $0.value == p.to })?.key ?? p.to
            guard let (agent, id) = owner(of: target) else { dropped += 1; continue }
            delivered += 1
            _ = agents[agent].handleDatagram(p.bytes, from: p.from.socketAddress, localCandidate: id, now: now)
            flush()
        }
        return any
    }

    func owner(of address: TransportAddress) -> (Int, ICELocalCandidateID)? {
        for (i, map) in sockets.enumerated() {
            if let (id, _) = map.first(where: { $0.value == address }) { return (i, id) }
        }
        return nil
    }

    /// Runs the event loop in virtual time until `deadline` or until `stop` is true.
    mutating func run(until deadline: NIODeadline, stop: (InMemoryNetwork) -> Bool = { _ in false }) {
        flush()
        var iterations = 0
        var lastNow = now
        var spinsAtSameTime = 0
        while true {
            iterations += 1
            if now == lastNow { spinsAtSameTime += 1 } else { spinsAtSameTime = 0; lastNow = now }
            // A deadline that does not move virtual time forward must not repeat forever.
            guard spinsAtSameTime < 10_000, iterations < 2_000_000 else {
                Issue.record("event loop spins at \(now) (\(iterations) iterations)")
                return
            }
            _ = deliverDue()
            if stop(self) { return }
            var next: NIODeadline? = inFlight.map(\.deliverAt).min()
            for a in agents { if let d = a.nextDeadline(), next == nil || d < next! { next = d } }
            guard let n = next, n <= deadline else { now = max(now, deadline); return }
            now = max(now, n)
            for i in agents.indices {
                if let d = agents[i].nextDeadline(), d <= now { agents[i].handleTimeout(now: now) }
            }
            flush()
        }
    }

    mutating func run(for duration: TimeAmount, stop: (InMemoryNetwork) -> Bool = { _ in false }) {
        run(until: now + duration, stop: stop)
    }

    /// Exchanges descriptions: each agent learns the other's credentials and candidates.
    mutating func exchange(_ a: Int, _ b: Int) {
        agents[a].setRemoteDescription(credentials: agents[b].localCredentials, candidates: candidates(of: b), now: now)
        agents[b].setRemoteDescription(credentials: agents[a].localCredentials, candidates: candidates(of: a), now: now)
    }

    func selected(_ i: Int) -> ICESelectedPair? { agents[i].selectedPair }

    func bothSelected(_ a: Int, _ b: Int) -> Bool { selected(a) != nil && selected(b) != nil }

    func eventList(_ i: Int) -> [ICEEvent] { events[i].map(\.event) }

    func firstTime(_ i: Int, where match: (ICEEvent) -> Bool) -> NIODeadline? { events[i].first { match($0.event) }?.at }
}

func makeAgent(_ mode: ICEMode = .full, role: ICERole, seed: UInt64, configure: (inout ICEConfiguration) -> Void = { _ in }) -> ICEAgent {
    var random = AnyRandomSource.seeded(seed)
    var configuration = ICEConfiguration(mode: mode)
    configure(&configuration)
    return ICEAgent(configuration: configuration, role: role, localCredentials: .random(using: &random), random: random)
}

extension ICEEvent {
    var isConnected: Bool { if case .connected = self { true } else { false } }
    var isConsentLost: Bool { if case .consentLost = self { true } else { false } }
    var isRoleChanged: Bool { if case .roleChanged = self { true } else { false } }
    var selection: ICESelectedPair? { if case .selectedPair(let p) = self { p } else { nil } }
    var failure: ICEFailureReason? { if case .failed(let r) = self { r } else { nil } }
}
