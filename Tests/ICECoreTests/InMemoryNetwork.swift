import CoreSupport
import NIOCore
import Testing
import TestSupport
@testable import ICECore

/// Two (or more) ICE agents joined by an in-memory UDP network in virtual time, with seeded
/// loss, fixed delay, optional NAT rewriting and drop filters.
struct InMemoryNetwork {
    typealias Packet = VirtualLink<TransportAddress>.Datagram

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
    /// The datagrams in flight (delay, jitter, loss, drop filter: TestSupport's `VirtualLink`).
    var link = VirtualLink<TransportAddress>(seed: 1)
    var sent: [Sent] = []
    var delay: TimeAmount { get { link.delay } set { link.delay = newValue } }
    /// Extra uniform random delay per packet (reorders packets).
    var jitter: TimeAmount { get { link.jitter } set { link.jitter = newValue } }
    var loss: Double { get { link.loss } set { link.loss = newValue } }
    /// The link's seeded generator (jitter and loss draws).
    var rng: SeededGenerator { get { link.rng } set { link.rng = newValue } }
    /// NAT: a socket's packets appear to come from the mapped address; packets to the mapped
    /// address reach the socket.
    var nat: [TransportAddress: TransportAddress] = [:]
    /// Return true to drop a packet.
    var dropFilter: ((Packet, NIODeadline) -> Bool)? { get { link.dropFilter } set { link.dropFilter = newValue } }
    var delivered = 0
    var dropped: Int { link.dropped }
    var inFlight: [Packet] { link.inFlight }

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
                link.send(t.bytes, from: nat[socket] ?? socket, to: to, sender: i, now: now)
            }
            while let e = agents[i].pollEvent() { events[i].append((now, e)) }
        }
    }

    /// Delivers what is due, in send order.
    mutating func deliverDue() -> Bool {
        var any = false
        while let p = link.takeNext(dueAt: now) {
            any = true
            // Find the receiving socket (directly or through a NAT mapping).
            let target = nat.first(where: { $0.value == p.to })?.key ?? p.to
            guard let (agent, id) = owner(of: target) else { link.countDropped(); continue }
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
            var next: NIODeadline? = link.nextDelivery
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
