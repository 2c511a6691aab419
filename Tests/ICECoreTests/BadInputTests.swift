import CoreSupport
import NIOCore
import Testing
import TestSupport
@testable import ICECore

@Suite("Bad input never traps; wrong credentials are refused")
struct BadInputTests {
    static let now = NIODeadline.uptimeNanoseconds(5_000_000_000)

    /// An agent with a host candidate and known remote credentials, plus the peer's credentials.
    func agent(_ mode: ICEMode = .full) -> (ICEAgent, ICECredentials) {
        var random = AnyRandomSource.seeded(500)
        let peer = ICECredentials.random(using: &random)
        var a = makeAgent(mode, role: .controlled, seed: 501)
        a.addHostCandidate(addrA, now: Self.now)
        a.setRemoteCredentials(peer, now: Self.now)
        while a.pollTransmit() != nil {}
        return (a, peer)
    }

    func check(to agent: ICEAgent, from peer: ICECredentials, password: String? = nil, username: String? = nil,
               extra: [STUNAttribute] = [], priority: Bool = true, seed: UInt64 = 1) -> [UInt8] {
        var random = AnyRandomSource.seeded(seed)
        var attributes: [STUNAttribute] = [.username(username ?? agent.localCredentials.ufrag + ":" + peer.ufrag)]
        if priority { attributes.append(.priority(ICECandidate.priority(type: .prflx))) }
        attributes += [.iceControlling(7)] + extra
        let m = STUNMessage(type: .bindingRequest, transactionID: .random(using: &random), attributes: attributes)
        return try! m.encode(password: password ?? agent.localCredentials.password)
    }

    func answer(_ agent: inout ICEAgent) -> STUNMessage? {
        agent.pollTransmit().flatMap { try? STUNMessage.decode($0.bytes) }
    }

    @Test(.cpuBound) func randomBytesNeverTrap() {
        var rng = SeededGenerator(seed: 0xBAD)
        var (a, _) = agent()
        var lite = agent(.lite).0
        for i in 0..<20_000 {
            let count = Int.random(in: 0...120, using: &rng)
            var bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) }
            // Half of the inputs get a plausible header so the attribute walker is exercised.
            if i % 2 == 0, bytes.count >= 20 {
                bytes[0] &= 0x01
                bytes[2] = UInt8((bytes.count - 20) >> 8)
                bytes[3] = UInt8(truncatingIfNeeded: (bytes.count - 20) & ~3)
                bytes[4] = 0x21; bytes[5] = 0x12; bytes[6] = 0xA4; bytes[7] = 0x42
            }
            _ = try? STUNMessage.decode(bytes)
            let r = a.handleDatagram(bytes, from: addrB.socketAddress, localCandidate: ICELocalCandidateID(0), now: Self.now)
            if case .handled = r { Issue.record("random bytes were handled: \(Hex.encode(bytes))") }
            _ = lite.handleDatagram(bytes, from: addrB.socketAddress, localCandidate: ICELocalCandidateID(0), now: Self.now)
        }
        // Nothing authenticated got through, so nothing but (unauthenticated) error answers went out.
        while let t = a.pollTransmit() {
            let m = try? STUNMessage.decode(t.bytes)
            #expect(m?.type == .bindingError)
            #expect(m?.messageIntegrity == nil)
        }
        #expect(a.selectedPair == nil && lite.selectedPair == nil)
    }

    /// Valid messages with bytes flipped, truncated or extended: typed errors or drops, no trap,
    /// and a mutated authenticated check is never accepted.
    @Test(.cpuBound) func mutatedValidMessagesNeverTrap() {
        var rng = SeededGenerator(seed: 0xF00D)
        let (base, peer) = agent()
        let valid = check(to: base, from: peer)
        let seeds = [valid, RFC5769.request, RFC5769.ipv4Response, RFC5769.ipv6Response, RFC5769.longTermRequest]
        var accepted = 0
        for i in 0..<20_000 {
            var bytes = seeds[i % seeds.count]
            switch Int.random(in: 0..<4, using: &rng) {
            case 0:
                for _ in 0..<Int.random(in: 1...3, using: &rng) {
                    let k = Int.random(in: 0..<bytes.count, using: &rng)
                    bytes[k] ^= UInt8.random(in: 1...255, using: &rng)
                }
            case 1:
                bytes = Array(bytes.prefix(Int.random(in: 0..<bytes.count, using: &rng)))
            case 2:
                bytes += (0..<(4 * Int.random(in: 1...4, using: &rng))).map { _ in UInt8.random(in: 0...255, using: &rng) }
                let n = bytes.count - 20
                bytes[2] = UInt8(n >> 8)
                bytes[3] = UInt8(truncatingIfNeeded: n)
            default:
                // Corrupt one attribute length field.
                let k = 22 + 4 * Int.random(in: 0..<4, using: &rng)
                if k + 1 < bytes.count { bytes[k] = UInt8.random(in: 0...255, using: &rng); bytes[k + 1] = UInt8.random(in: 0...255, using: &rng) }
            }
            do {
                _ = try STUNMessage.decode(bytes)
            } catch {
                switch error {
                case .notSTUN, .malformedMessage, .malformedAttribute: break
                default: Issue.record("unexpected error \(error)")
                }
            }
            var a = base
            if a.handleDatagram(bytes, from: addrB.socketAddress, localCandidate: ICELocalCandidateID(0), now: Self.now) == .handled {
                accepted += 1
                // Only mutations the integrity does not cover (FINGERPRINT is then checked too) may pass;
                // an accepted request must still carry the right credentials.
                let view = bytes.withUnsafeBytes { try? STUNMessageView($0).decode() }
                #expect(view?.username == base.localCredentials.ufrag + ":" + peer.ufrag)
            }
        }
        #expect(accepted < 200)
    }

    @Test func wrongPasswordGets401() {
        var (a, peer) = agent()
        let bytes = check(to: a, from: peer, password: "not-the-password-at-all")
        #expect(a.handleDatagram(bytes, from: addrB.socketAddress, localCandidate: ICELocalCandidateID(0), now: Self.now) == .answeredWithError(401))
        let r = answer(&a)
        #expect(r?.errorCode?.code == 401)
        #expect(r?.messageIntegrity == nil)
        #expect(a.statistics.unauthorized == 1)
        #expect(a.remoteCandidates.isEmpty)  // nothing learned from an unauthenticated check
    }

    @Test func wrongUsernameGets401() {
        var (a, peer) = agent()
        for user in ["wrong:\(peer.ufrag)", "\(a.localCredentials.ufrag):wrong", a.localCredentials.ufrag, ""] {
            let bytes = check(to: a, from: peer, username: user)
            #expect(a.handleDatagram(bytes, from: addrB.socketAddress, localCandidate: ICELocalCandidateID(0), now: Self.now) == .answeredWithError(401))
            #expect(answer(&a)?.errorCode?.code == 401)
        }
        #expect(a.statistics.unauthorized == 4)
    }

    @Test func missingIntegrityOrPriorityGets400() {
        var (a, peer) = agent()
        var random = AnyRandomSource.seeded(9)
        let noMI = try! STUNMessage(type: .bindingRequest, transactionID: .random(using: &random),
                                    attributes: [.username(a.localCredentials.ufrag + ":" + peer.ufrag), .priority(1)]).encode(fingerprint: true)
        #expect(a.handleDatagram(noMI, from: addrB.socketAddress, localCandidate: ICELocalCandidateID(0), now: Self.now) == .answeredWithError(400))
        #expect(answer(&a)?.errorCode?.code == 400)
        let noPriority = check(to: a, from: peer, priority: false)
        #expect(a.handleDatagram(noPriority, from: addrB.socketAddress, localCandidate: ICELocalCandidateID(0), now: Self.now) == .answeredWithError(400))
        let r = answer(&a)
        #expect(r?.errorCode?.code == 400)
        #expect(a.statistics.badRequests == 2)
    }

    /// RFC 8489 §6.3.1: unknown comprehension-required → 420 with UNKNOWN-ATTRIBUTES (authenticated);
    /// unknown comprehension-optional → ignored.
    @Test func unknownAttributes() {
        var (a, peer) = agent()
        let required = check(to: a, from: peer, extra: [.other(type: 0x7001, value: [1]), .other(type: 0x0033, value: [])])
        #expect(a.handleDatagram(required, from: addrB.socketAddress, localCandidate: ICELocalCandidateID(0), now: Self.now) == .answeredWithError(420))
        let t = a.pollTransmit()!
        let r = try! STUNMessage.decode(t.bytes)
        #expect(r.errorCode?.code == 420)
        #expect(r.unknownAttributes == [0x7001, 0x0033])
        #expect(t.bytes.withUnsafeBytes { (try? STUNMessageView($0))?.verifyIntegrity(password: a.localCredentials.password) } == true)
        let optional = check(to: a, from: peer, extra: [.other(type: 0xC001, value: [1, 2, 3, 4, 5])], seed: 2)
        #expect(a.handleDatagram(optional, from: addrB.socketAddress, localCandidate: ICELocalCandidateID(0), now: Self.now) == .handled)
        #expect(answer(&a)?.type == .bindingSuccess)
    }

    @Test func badFingerprintDropped() {
        var (a, peer) = agent()
        var bytes = check(to: a, from: peer)
        bytes[bytes.count - 1] ^= 0xFF
        #expect(a.handleDatagram(bytes, from: addrB.socketAddress, localCandidate: ICELocalCandidateID(0), now: Self.now) == .dropped(.badFingerprint))
        #expect(a.pollTransmit() == nil)
        #expect(a.statistics.badFingerprint == 1)
    }

    @Test func validCheckAnsweredWithXorMappedAddress() {
        var (a, peer) = agent()
        let bytes = check(to: a, from: peer)
        #expect(a.handleDatagram(bytes, from: addrB.socketAddress, localCandidate: ICELocalCandidateID(0), now: Self.now) == .handled)
        let t = a.pollTransmit()!
        #expect(t.destination == addrB.socketAddress)
        let r = try! STUNMessage.decode(t.bytes)
        #expect(r.type == .bindingSuccess)
        #expect(r.transactionID == (try! STUNMessage.decode(bytes)).transactionID)
        #expect(r.xorMappedAddress == addrB)
        #expect(t.bytes.withUnsafeBytes { (try? STUNMessageView($0))?.verifyIntegrity(password: a.localCredentials.password) } == true)
        #expect(t.bytes.withUnsafeBytes { (try? STUNMessageView($0))?.verifyFingerprint() } == true)
        // And a triggered check goes back at once (RFC 8445 §7.3.1.4).
        let triggered = a.pollTransmit().flatMap { try? STUNMessage.decode($0.bytes) }
        #expect(triggered?.type == .bindingRequest)
        #expect(triggered?.username == peer.ufrag + ":" + a.localCredentials.ufrag)
    }

    /// Responses: unknown transaction, forged integrity and wrong source are dropped and counted.
    @Test func badResponsesDropped() {
        var net = InMemoryNetwork()
        let a = net.add(makeAgent(role: .controlling, seed: 601))
        net.addHost(a, addrA)
        var random = AnyRandomSource.seeded(602)
        let peer = ICECredentials.random(using: &random)
        let remote = ICECandidate(foundation: "1", priority: ICECandidate.priority(type: .host), address: addrB, type: .host)
        net.agents[a].setRemoteDescription(credentials: peer, candidates: [remote], now: net.now)
        let request = try! STUNMessage.decode(net.agents[a].pollTransmit()!.bytes)
        func response(_ id: STUNTransactionID, password: String) -> [UInt8] {
            try! STUNMessage(type: .bindingSuccess, transactionID: id, attributes: [.xorMappedAddress(addrA)]).encode(password: password)
        }
        let local = ICELocalCandidateID(0)
        #expect(net.agents[a].handleDatagram(response(.random(using: &random), password: peer.password), from: addrB.socketAddress, localCandidate: local, now: net.now) == .dropped(.unmatchedResponse))
        #expect(net.agents[a].handleDatagram(response(request.transactionID, password: "forged"), from: addrB.socketAddress, localCandidate: local, now: net.now) == .dropped(.badIntegrity))
        #expect(net.agents[a].handleDatagram(response(request.transactionID, password: peer.password), from: TransportAddress(10, 0, 0, 66, port: 1).socketAddress, localCandidate: local, now: net.now) == .dropped(.unexpectedSource))
        #expect(net.agents[a].selectedPair == nil)
        #expect(net.agents[a].statistics.unmatchedResponses == 1)
        #expect(net.agents[a].statistics.badIntegrity == 1)
        #expect(net.agents[a].statistics.unexpectedSource == 1)
        #expect(net.agents[a].handleDatagram([0x80, 0, 0, 0], from: addrB.socketAddress, localCandidate: local, now: net.now) == .notSTUN)
        #expect(net.agents[a].handleDatagram(RFC5769.request, from: addrB.socketAddress, localCandidate: ICELocalCandidateID(7), now: net.now) == .dropped(.unknownLocalCandidate))
    }
}

@Suite("Hostile remote descriptions")
struct HostileDescriptionTests {
    /// Remote candidates with arbitrary priorities, components, ports and families, and checks
    /// with extreme PRIORITY values, never trap; limits hold.
    @Test func arbitraryCandidatesNeverTrap() {
        var rng = SeededGenerator(seed: 0xCAFE)
        var agent = makeAgent(role: .controlling, seed: 700)
        let now = NIODeadline.uptimeNanoseconds(1)
        agent.addHostCandidate(addrA, now: now)
        agent.addHostCandidate(TransportAddress(literal: "2001:db8::1", port: 9)!, now: now)
        var random = AnyRandomSource.seeded(701)
        let peer = ICECredentials.random(using: &random)
        agent.setRemoteCredentials(peer, now: now)
        for i in 0..<500 {
            let v4 = Bool.random(using: &rng)
            let address = v4 ? TransportAddress(ip: .v4(UInt32.random(in: 0...UInt32.max, using: &rng)), port: UInt16.random(in: 0...UInt16.max, using: &rng))
                : TransportAddress(ip: .v6(high: rng.next(), low: rng.next()), port: UInt16.random(in: 0...UInt16.max, using: &rng))
            let priority: UInt32 = [0, 1, UInt32.max, UInt32.max - 1, UInt32.random(in: 0...UInt32.max, using: &rng)][i % 5]
            let c = ICECandidate(foundation: String(i), component: UInt16.random(in: 0...3, using: &rng), priority: priority,
                                 address: address, type: ICECandidateType.allCases[i % 4])
            _ = agent.addRemoteCandidate(c, now: now)
        }
        #expect(agent.remoteCandidates.count <= agent.configuration.maximumRemoteCandidates)
        #expect(agent.checklist.count <= agent.configuration.maximumPairs)
        #expect(candidatePairPriority(controlling: .max, controlled: .max) == candidatePairPriority(controlling: .max, controlled: .max))
        // Peer-reflexive learning with extreme PRIORITY values.
        for (k, p) in [UInt32.max, 0, 1 << 31].enumerated() {
            let m = STUNMessage(type: .bindingRequest, transactionID: .random(using: &random),
                                attributes: [.username(agent.localCredentials.ufrag + ":" + peer.ufrag), .priority(p), .iceControlled(1)])
            let r = agent.handleDatagram(try! m.encode(password: agent.localCredentials.password),
                                         from: TransportAddress(10, 1, 1, UInt8(k), port: 1).socketAddress,
                                         localCandidate: ICELocalCandidateID(0), now: now)
            #expect(r == .handled || r == .answeredWithError(487))
        }
        var t = 0
        while agent.pollTransmit() != nil { t += 1 }
        #expect(t > 0)
        agent.handleTimeout(now: now + .seconds(60))
    }
}
