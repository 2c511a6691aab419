import CoreSupport
import NIOCore
import Testing
@testable import ICECore

let addrA = TransportAddress(10, 0, 0, 1, port: 5000)
let addrB = TransportAddress(10, 0, 0, 2, port: 6000)

@Suite("ICE agent: two agents in virtual time")
struct ICEAgentTests {
    /// Full controlling ↔ full controlled on a zero-delay network: the first check leaves at the
    /// very instant both descriptions are applied, and both ends select the same pair without any
    /// virtual time passing (no timers on the setup path, docs/performance.md G2).
    @Test func fullControllingToFullControlled() {
        var net = InMemoryNetwork()
        let a = net.add(makeAgent(role: .controlling, seed: 1))
        let b = net.add(makeAgent(role: .controlled, seed: 2))
        net.addHost(a, addrA)
        net.addHost(b, addrB)
        let t0 = net.now

        net.agents[a].setRemoteDescription(credentials: net.agents[b].localCredentials, candidates: net.candidates(of: b), now: t0)
        // The first check exists right after applying the remote description, at the same `now`.
        let first = net.agents[a].pollTransmit()
        #expect(first != nil)
        #expect(first?.destination == addrB.socketAddress)
        let check = try? STUNMessage.decode(first!.bytes)
        #expect(check?.type == .bindingRequest)
        #expect(check?.useCandidate == true)
        #expect(check?.iceControlling == net.agents[a].tieBreaker)
        #expect(check?.username == net.agents[b].localCredentials.ufrag + ":" + net.agents[a].localCredentials.ufrag)
        // Put it on the wire.
        net.link.inject(.init(deliverAt: t0, bytes: first!.bytes, from: addrA, to: addrB, sender: a))
        net.agents[b].setRemoteDescription(credentials: net.agents[a].localCredentials, candidates: net.candidates(of: a), now: t0)

        net.run(for: .seconds(1)) { $0.bothSelected(a, b) }
        let sa = net.selected(a), sb = net.selected(b)
        #expect(sa?.remoteAddress == addrB.socketAddress)
        #expect(sb?.remoteAddress == addrA.socketAddress)
        #expect(sa?.nominated == true && sb?.nominated == true)
        #expect(net.now == t0)
        #expect(net.agents[a].statistics.selectedAt == t0)
        #expect(net.agents[b].statistics.selectedAt == t0)
        #expect(net.agents[a].state == .connected && net.agents[b].state == .connected)
        #expect(net.eventList(a).contains { $0.isConnected })
        #expect(net.eventList(b).contains { $0.isConnected })
        #expect(net.agents[a].hasConsent)
        // Four datagrams in all: A's check (sent above), B's own check, and one answer each way. B's
        // check was fresh when A's arrived, so no redundant triggered check was sent.
        #expect(net.sent.map { "\($0.sender) \($0.message!.type.messageClass)" } == ["1 request", "1 successResponse", "0 successResponse"])
    }

    /// With a realistic delay the nomination takes about one round trip plus the triggered
    /// check, and no retransmission is needed.
    @Test func fullPairWithDelaySelectsWithinTwoRoundTrips() {
        var net = InMemoryNetwork()
        net.delay = .milliseconds(20)
        let a = net.add(makeAgent(role: .controlling, seed: 3))
        let b = net.add(makeAgent(role: .controlled, seed: 4))
        net.addHost(a, addrA)
        net.addHost(b, addrB)
        let t0 = net.now
        net.exchange(a, b)
        net.run(for: .seconds(2)) { $0.bothSelected(a, b) }
        #expect(net.bothSelected(a, b))
        #expect(net.now - t0 <= .milliseconds(80))
    }

    /// Full controlling ↔ lite: the lite agent never sends a request, answers with
    /// XOR-MAPPED-ADDRESS and selects on USE-CANDIDATE.
    @Test func fullControllingToLite() {
        var net = InMemoryNetwork()
        let a = net.add(makeAgent(role: .controlling, seed: 5))
        let b = net.add(makeAgent(.lite, role: .controlling, seed: 6))
        #expect(net.agents[b].role == .controlled)
        net.addHost(a, addrA)
        net.addHost(b, addrB)
        net.exchange(a, b)
        net.run(for: .seconds(1)) { $0.bothSelected(a, b) }
        #expect(net.bothSelected(a, b))
        #expect(net.selected(b)?.nominated == true)
        #expect(net.selected(b)?.remoteAddress == addrA.socketAddress)
        let fromLite = net.sent.filter { $0.sender == b }.compactMap { $0.message }
        #expect(!fromLite.isEmpty)
        #expect(fromLite.allSatisfy { $0.type == .bindingSuccess })
        #expect(fromLite.first?.xorMappedAddress == addrA)
        // Consent: the full agent keeps checking, the lite one keeps answering; no loss in a minute.
        net.run(for: .seconds(60))
        #expect(!net.eventList(a).contains { $0.isConsentLost })
        #expect(!net.eventList(b).contains { $0.isConsentLost })
        #expect(net.agents[a].statistics.consentChecksSent >= 10)
    }

    /// verto.js browsers check before their answer reaches the server: the lite server answers
    /// checks before it has the remote credentials, and selects provisionally then on nomination.
    @Test func liteAnswersChecksBeforeRemoteDescription() {
        var net = InMemoryNetwork()
        let browser = net.add(makeAgent(role: .controlling, seed: 7))
        let server = net.add(makeAgent(.lite, role: .controlled, seed: 8))
        net.addHost(browser, addrA)
        net.addHost(server, addrB)
        net.agents[browser].setRemoteDescription(credentials: net.agents[server].localCredentials,
                                                 candidates: net.candidates(of: server), now: net.now)
        net.run(for: .seconds(1)) { $0.bothSelected(browser, server) }
        #expect(net.agents[server].remoteCredentials == nil)
        #expect(net.bothSelected(browser, server))
        #expect(net.selected(server)?.remoteAddress == addrA.socketAddress)
        let remoteCandidates = net.agents[server].remoteCandidates
        #expect(remoteCandidates.count == 1 && remoteCandidates.first?.type == .prflx)
    }

    /// Lite provisional selection: a check without USE-CANDIDATE (from a controlled-looking full
    /// peer) selects provisionally; the later nominated check confirms.
    @Test func liteProvisionalThenNominated() {
        var net = InMemoryNetwork()
        let full = net.add(makeAgent(role: .controlled, seed: 9))
        let lite = net.add(makeAgent(.lite, role: .controlled, seed: 10))
        net.addHost(full, addrA)
        net.addHost(lite, addrB)
        net.exchange(full, lite)
        net.run(for: .milliseconds(10)) { $0.selected(1) != nil }
        #expect(net.selected(lite)?.nominated == false)
        // A check with USE-CANDIDATE on the same 5-tuple confirms the pair.
        var random = AnyRandomSource.seeded(99)
        let creds = net.agents[lite].localCredentials, mine = net.agents[full].localCredentials
        let check = STUNMessage(type: .bindingRequest, transactionID: .random(using: &random),
                                attributes: [.username(creds.ufrag + ":" + mine.ufrag), .priority(1), .iceControlling(1), .useCandidate])
        let bytes = try! check.encode(password: creds.password)
        let r = net.agents[lite].handleDatagram(bytes, from: addrA.socketAddress, localCandidate: ICELocalCandidateID(0), now: net.now)
        #expect(r == .handled)
        #expect(net.selected(lite)?.nominated == true)
    }

    /// FreeSWITCH-like peer: full controlling, ordinary checks at most once per second, 1 s RTO,
    /// and it drops our checks until our answer reaches it 200 ms later. We retry quickly and answer
    /// its first check with a triggered check, so ICE completes right after it gets our answer
    /// instead of on its 1 s cadence.
    @Test func freeSwitchLikeControllingPeer() {
        var net = InMemoryNetwork()
        net.delay = .milliseconds(1)
        let us = net.add(makeAgent(role: .controlled, seed: 11))
        let fs = net.add(makeAgent(role: .controlling, seed: 12) {
            $0.pacing = .seconds(1)
            $0.initialRTO = .seconds(1)
            $0.maximumRTO = .seconds(1)
        })
        net.addHost(us, addrA)
        net.addHost(fs, addrB)
        let t0 = net.now
        let answerArrives = t0 + .milliseconds(200)
        net.dropFilter = { p, now in p.to == addrB && now < answerArrives }
        net.agents[us].setRemoteDescription(credentials: net.agents[fs].localCredentials, candidates: net.candidates(of: fs), now: t0)
        net.run(until: answerArrives)
        #expect(net.selected(us) == nil)
        #expect(net.agents[us].statistics.retransmissions >= 2)
        net.agents[fs].setRemoteDescription(credentials: net.agents[us].localCredentials, candidates: net.candidates(of: us), now: net.now)
        net.run(for: .seconds(3)) { $0.bothSelected(us, fs) }
        #expect(net.bothSelected(us, fs))
        #expect(net.now - answerArrives <= .milliseconds(10))
        #expect(net.selected(us)?.nominated == true)
    }

    /// Seeded loss: retransmissions get both sides through.
    @Test(arguments: [UInt64(1), 2, 3, 4, 5, 6, 7, 8])
    func retransmissionUnderLoss(seed: UInt64) {
        var net = InMemoryNetwork()
        net.delay = .milliseconds(5)
        net.loss = 0.3
        net.rng = SeededGenerator(seed: seed)
        let a = net.add(makeAgent(role: .controlling, seed: seed * 10))
        let b = net.add(makeAgent(role: .controlled, seed: seed * 10 + 1))
        net.addHost(a, addrA)
        net.addHost(b, addrB)
        net.exchange(a, b)
        net.run(for: .seconds(10)) { $0.bothSelected(a, b) }
        #expect(net.bothSelected(a, b))
        #expect(net.selected(a)?.remoteAddress == addrB.socketAddress)
        #expect(net.selected(b)?.remoteAddress == addrA.socketAddress)
    }

    /// The retransmission schedule: 50 ms doubling to 500 ms, 10 transmissions, then the pair
    /// fails and ICE reports it.
    @Test func unreachablePeerFails() {
        var net = InMemoryNetwork()
        let a = net.add(makeAgent(role: .controlling, seed: 13))
        net.addHost(a, addrA)
        let ghost = ICECandidate(foundation: "1", priority: ICECandidate.priority(type: .host), address: TransportAddress(10, 9, 9, 9, port: 9), type: .host)
        var random = AnyRandomSource.seeded(5)
        let t0 = net.now
        net.agents[a].setRemoteDescription(credentials: .random(using: &random), candidates: [ghost], now: t0)
        net.run(for: .seconds(10)) { n in n.eventList(0).contains { $0.failure != nil } }
        let times = net.sent.filter { $0.sender == a }.map { ($0.at - t0).nanoseconds / 1_000_000 }
        #expect(times == [0, 50, 150, 350, 750, 1250, 1750, 2250, 2750, 3250])
        #expect(net.eventList(a).compactMap(\.failure) == [.allPairsFailed])
        #expect(net.now - t0 == .milliseconds(3750))
        #expect(net.agents[a].state == .failed)
    }

    /// Both agents think they are controlling: the 487 / tie-breaker rules leave exactly one
    /// controlling agent and both select the same pair.
    @Test(arguments: [ICERole.controlling, .controlled])
    func roleConflictResolved(role: ICERole) {
        var net = InMemoryNetwork()
        net.delay = .milliseconds(2)
        let a = net.add(makeAgent(role: role, seed: 21))
        let b = net.add(makeAgent(role: role, seed: 22))
        net.addHost(a, addrA)
        net.addHost(b, addrB)
        net.exchange(a, b)
        net.run(for: .seconds(5)) { $0.bothSelected(a, b) }
        #expect(net.bothSelected(a, b))
        #expect(net.agents[a].role != net.agents[b].role)
        let changed = net.eventList(a).filter(\.isRoleChanged).count + net.eventList(b).filter(\.isRoleChanged).count
        #expect(changed >= 1)
        // The higher tie-breaker wins the controlling role (RFC 8445 §7.3.1.1).
        let winner = net.agents[a].tieBreaker > net.agents[b].tieBreaker ? a : b
        #expect(net.agents[winner].role == .controlling)
        #expect(net.agents[a].statistics.roleConflicts + net.agents[b].statistics.roleConflicts >= 1)
    }

    /// The controlled agent sits behind a NAT and advertises only its private host address. The
    /// controlling agent learns the NAT address as a peer-reflexive candidate from the incoming
    /// check and nominates it; the controlled agent learns its own mapped address.
    @Test func peerReflexiveLearning() {
        var net = InMemoryNetwork()
        net.delay = .milliseconds(3)
        let a = net.add(makeAgent(role: .controlling, seed: 31))
        let b = net.add(makeAgent(role: .controlled, seed: 32))
        net.addHost(a, addrA)
        let privateB = TransportAddress(192, 168, 1, 20, port: 6000)
        let publicB = TransportAddress(203, 0, 113, 5, port: 40000)
        net.addHost(b, privateB)
        net.nat[privateB] = publicB
        net.exchange(a, b)
        net.run(for: .seconds(5)) { $0.bothSelected(a, b) }
        #expect(net.bothSelected(a, b))
        #expect(net.selected(a)?.remote.type == .prflx)
        #expect(net.selected(a)?.remoteAddress == publicB.socketAddress)
        #expect(net.eventList(a).contains { if case .peerReflexiveCandidate(let c) = $0 { c.transportAddress == publicB } else { false } })
        #expect(net.eventList(b).contains { if case .localPeerReflexiveCandidate(let c) = $0 { c.transportAddress == publicB } else { false } })
        #expect(net.agents[a].statistics.peerReflexiveLearned == 1)
    }

    /// A browser offering only an mDNS `.local` candidate: the candidate is rejected and counted,
    /// and the browser is still reached once it checks us (peer-reflexive).
    @Test func mdnsCandidateRejectedButPeerStillReached() {
        var net = InMemoryNetwork()
        let server = net.add(makeAgent(role: .controlled, seed: 41))
        let browser = net.add(makeAgent(role: .controlling, seed: 42))
        net.addHost(server, addrA)
        net.addHost(browser, addrB)
        let mdns = ICECandidate(foundation: "1", transport: .udp, priority: ICECandidate.priority(type: .host),
                                address: ICEConnectionAddress(host: "0a1b2c3d-1111-2222-3333-444455556666.local", port: 6000), type: .host)
        #expect(mdns.address.isMDNS)
        let results = net.agents[server].setRemoteDescription(credentials: net.agents[browser].localCredentials,
                                                              candidates: [mdns], now: net.now)
        #expect(results == [.rejected(.mdnsHostname)])
        #expect(net.agents[server].statistics.mdnsCandidatesRejected == 1)
        #expect(net.agents[server].checklist.isEmpty)
        net.agents[browser].setRemoteDescription(credentials: net.agents[server].localCredentials,
                                                 candidates: net.candidates(of: server), now: net.now)
        net.run(for: .seconds(1)) { $0.bothSelected(server, browser) }
        #expect(net.bothSelected(server, browser))
        #expect(net.selected(server)?.remote.type == .prflx)
    }

    @Test func otherUnusableCandidatesRejected() {
        var agent = makeAgent(role: .controlling, seed: 43)
        let now = NIODeadline.uptimeNanoseconds(0)
        agent.addHostCandidate(addrA, now: now)
        let p = ICECandidate.priority(type: .host)
        let tcp = ICECandidate(foundation: "2", transport: .tcp, priority: p, address: .ip(addrB), type: .host)
        let rtcp = ICECandidate(foundation: "3", component: 2, priority: p, address: addrB, type: .host)
        let name = ICECandidate(foundation: "4", transport: .udp, priority: p, address: ICEConnectionAddress(host: "media.example.com", port: 1), type: .host)
        let zeroPort = ICECandidate(foundation: "5", priority: p, address: TransportAddress(10, 0, 0, 3, port: 0), type: .host)
        let good = ICECandidate(foundation: "6", priority: p, address: addrB, type: .host)
        let v6 = ICECandidate(foundation: "7", priority: p, address: TransportAddress(literal: "2001:db8::1", port: 7)!, type: .host)
        #expect(agent.addRemoteCandidate(tcp, now: now) == .rejected(.unsupportedTransport))
        #expect(agent.addRemoteCandidate(rtcp, now: now) == .rejected(.unsupportedComponent))
        #expect(agent.addRemoteCandidate(name, now: now) == .rejected(.unresolvedHostname))
        #expect(agent.addRemoteCandidate(zeroPort, now: now) == .rejected(.invalidAddress))
        #expect(agent.addRemoteCandidate(good, now: now) == .added)
        #expect(agent.addRemoteCandidate(good, now: now) == .duplicate)
        #expect(agent.addRemoteCandidate(v6, now: now) == .added)
        #expect(agent.statistics.otherCandidatesRejected == 4)
        // IPv6 remote with only an IPv4 host: no pair (same-family pairing, RFC 8445 §6.1.2.2).
        #expect(agent.checklist.count == 1)
        // No credentials yet: nothing is sent.
        #expect(agent.pollTransmit() == nil)
    }

    /// Pacing: with three remote candidates the first check leaves at once and the others follow
    /// Ta apart, best pair first.
    @Test func checksArePacedAndOrdered() {
        var net = InMemoryNetwork()
        let a = net.add(makeAgent(role: .controlling, seed: 51) { $0.pacing = .milliseconds(5) })
        net.addHost(a, addrA)
        var random = AnyRandomSource.seeded(52)
        let remotes = (1...3).map { i in
            ICECandidate(foundation: "\(i)", priority: ICECandidate.priority(type: .host, localPreference: UInt16(1000 * i)),
                         address: TransportAddress(10, 0, 1, UInt8(i), port: 7000), type: .host)
        }
        let t0 = net.now
        net.agents[a].setRemoteDescription(credentials: .random(using: &random), candidates: remotes, now: t0)
        net.run(for: .milliseconds(12))
        let firsts = net.sent.filter { $0.sender == a }.prefix(3)
        #expect(firsts.map { ($0.at - t0).nanoseconds / 1_000_000 } == [0, 5, 10])
        #expect(firsts.map(\.to) == [remotes[2], remotes[1], remotes[0]].compactMap(\.transportAddress))
    }

    /// ICE restart: new credentials on both sides, the old ones are refused, and a new pair is
    /// selected.
    @Test func iceRestart() {
        var net = InMemoryNetwork()
        net.delay = .milliseconds(1)
        let a = net.add(makeAgent(role: .controlling, seed: 61))
        let b = net.add(makeAgent(role: .controlled, seed: 62))
        net.addHost(a, addrA)
        net.addHost(b, addrB)
        net.exchange(a, b)
        net.run(for: .seconds(1)) { $0.bothSelected(a, b) }
        #expect(net.bothSelected(a, b))
        let oldB = net.agents[b].localCredentials

        var random = AnyRandomSource.seeded(63)
        net.agents[a].restart(localCredentials: .random(using: &random), now: net.now)
        net.agents[b].restart(localCredentials: .random(using: &random), now: net.now)
        #expect(net.agents[a].selectedPair == nil && net.agents[a].state == .new)
        #expect(net.agents[b].localCredentials != oldB)
        let connectedBefore = net.eventList(a).filter(\.isConnected).count
        net.exchange(a, b)
        net.run(for: .seconds(1)) { $0.bothSelected(a, b) }
        #expect(net.bothSelected(a, b))
        #expect(net.eventList(a).filter(\.isConnected).count == connectedBefore + 1)

        // A check made with the old credentials is now refused with 401.
        let stale = STUNMessage(type: .bindingRequest, transactionID: .random(using: &random),
                                attributes: [.username(oldB.ufrag + ":x"), .priority(1), .iceControlling(1)])
        let r = net.agents[b].handleDatagram(try! stale.encode(password: oldB.password), from: addrA.socketAddress,
                                             localCandidate: ICELocalCandidateID(0), now: net.now)
        #expect(r == .answeredWithError(401))
    }

    @Test func pairPriorityFormula() {
        // RFC 8445 §6.1.2.3 with G = controlling, D = controlled.
        #expect(candidatePairPriority(controlling: 10, controlled: 20) == (10 << 32) + 40)
        #expect(candidatePairPriority(controlling: 20, controlled: 10) == (10 << 32) + 40 + 1)
        #expect(ICECandidate.priority(type: .host, localPreference: 65535, component: 1) == 2_130_706_431)
        #expect(ICECandidate.priority(type: .host, localPreference: 65535, component: 2) == 2_130_706_430)
        #expect(ICECandidate.priority(type: .srflx, localPreference: 65535, component: 1) == 1_694_498_815)
    }
}

@Suite("ICE agent: interop-shaped scenarios")
struct ICEInteropScenarioTests {
    /// We are controlling (our outbound call, FreeSWITCH answered `a=setup:active`); the
    /// FreeSWITCH-like peer is controlled, paces its checks at 1 s and ignores our checks until our
    /// SDP reaches it 300 ms later. Its first check triggers ours at once, so both sides select
    /// within a couple of milliseconds of it learning our credentials.
    @Test func controllingTowardsSlowControlledPeer() {
        var net = InMemoryNetwork()
        net.delay = .microseconds(500)
        let us = net.add(makeAgent(role: .controlling, seed: 81))
        let fs = net.add(makeAgent(role: .controlled, seed: 82) {
            $0.pacing = .seconds(1)
            $0.initialRTO = .seconds(1)
            $0.maximumRTO = .seconds(1)
        })
        net.addHost(us, addrA)
        net.addHost(fs, addrB)
        let t0 = net.now
        let sdpArrives = t0 + .milliseconds(300)
        net.dropFilter = { p, now in p.to == addrB && now < sdpArrives }
        net.agents[us].setRemoteDescription(credentials: net.agents[fs].localCredentials, candidates: net.candidates(of: fs), now: t0)
        net.run(until: sdpArrives)
        net.agents[fs].setRemoteDescription(credentials: net.agents[us].localCredentials, candidates: net.candidates(of: us), now: net.now)
        net.run(for: .seconds(3)) { $0.bothSelected(us, fs) }
        #expect(net.bothSelected(us, fs))
        #expect(net.now - sdpArrives <= .milliseconds(3))
    }

    /// A full agent told that the peer is ICE-lite takes the controlling role (RFC 8445 §6.1.1).
    @Test func fullAgentFacingLiteBecomesControlling() {
        var net = InMemoryNetwork()
        let a = net.add(makeAgent(role: .controlled, seed: 83))
        let b = net.add(makeAgent(.lite, role: .controlled, seed: 84))
        net.addHost(a, addrA)
        net.addHost(b, addrB)
        net.agents[a].setRemoteIsLite(true)
        #expect(net.agents[a].role == .controlling)
        net.exchange(a, b)
        net.run(for: .seconds(1)) { $0.bothSelected(a, b) }
        #expect(net.bothSelected(a, b))
        #expect(net.selected(b)?.nominated == true)
    }

    /// A lite agent answers checks whatever role attribute they carry: it has no role conflict.
    @Test func liteHasNoRoleConflict() {
        var lite = makeAgent(.lite, role: .controlled, seed: 85)
        let now = NIODeadline.uptimeNanoseconds(0)
        lite.addHostCandidate(addrB, now: now)
        var random = AnyRandomSource.seeded(86)
        let check = STUNMessage(type: .bindingRequest, transactionID: .random(using: &random),
                                attributes: [.username(lite.localCredentials.ufrag + ":peer"), .priority(1), .iceControlled(UInt64.max)])
        let result = lite.handleDatagram(try! check.encode(password: lite.localCredentials.password), from: addrA.socketAddress,
                                         localCandidate: ICELocalCandidateID(0), now: now)
        #expect(result == .handled)
        #expect(lite.role == .controlled)
        #expect(lite.statistics.roleConflicts == 0)
    }
}

@Suite("ICE agent: convergence properties")
struct ICEConvergenceTests {
    /// Two candidates per side, one path blocked, seeded loss and reordering: both agents end up
    /// on the same 5-tuple, the selected pair is usable, and the blocked path is never selected.
    @Test(arguments: Array(UInt64(1)...UInt64(24)))
    func bothSidesConvergeOnOneWorkingPair(seed: UInt64) {
        var net = InMemoryNetwork()
        net.rng = SeededGenerator(seed: seed)
        net.delay = .milliseconds(2)
        net.jitter = .milliseconds(8)
        net.loss = Double(seed % 4) * 0.1
        let roles: [ICERole] = seed % 3 == 0 ? [.controlling, .controlling] : [.controlling, .controlled]
        let a = net.add(makeAgent(role: roles[0], seed: seed * 100))
        let b = net.add(makeAgent(role: roles[1], seed: seed * 100 + 1))
        let a1 = TransportAddress(10, 0, 0, 1, port: 5000), a2 = TransportAddress(172, 16, 0, 1, port: 5002)
        let b1 = TransportAddress(10, 0, 0, 2, port: 6000), b2 = TransportAddress(172, 16, 0, 2, port: 6002)
        net.addHost(a, a1)
        net.agents[a].addHostCandidate(a2, localPreference: 60000, now: net.now)
        net.sockets[a][ICELocalCandidateID(1)] = a2
        net.addHost(b, b1)
        net.agents[b].addHostCandidate(b2, localPreference: 60000, now: net.now)
        net.sockets[b][ICELocalCandidateID(1)] = b2
        // The 10.x ↔ 10.x path is blocked in both directions.
        net.dropFilter = { p, _ in (p.from == a1 && p.to == b1) || (p.from == b1 && p.to == a1) }
        net.exchange(a, b)
        net.run(for: .seconds(20))
        guard let sa = net.selected(a), let sb = net.selected(b) else {
            Issue.record("seed \(seed): not selected (a: \(net.agents[a].state), b: \(net.agents[b].state))")
            return
        }
        let aLocal = net.sockets[a][sa.localCandidateID]!, bLocal = net.sockets[b][sb.localCandidateID]!
        #expect(TransportAddress(sa.remoteAddress) == bLocal, "seed \(seed)")
        #expect(TransportAddress(sb.remoteAddress) == aLocal, "seed \(seed)")
        #expect(!(aLocal == a1 && bLocal == b1), "seed \(seed)")
        #expect(net.agents[a].role != net.agents[b].role, "seed \(seed)")
        #expect(net.agents[a].hasConsent && net.agents[b].hasConsent, "seed \(seed)")
    }
}

@Suite("ICE agent: frozen pairs")
struct ICEFrozenPairTests {
    /// Two remote candidates share a foundation, so the second pair stays Frozen while the first is
    /// in progress (RFC 8445 §6.1.4.2) and is checked once the first fails. The agent never asks
    /// for a deadline it cannot act on (the harness records spinning).
    @Test func sameFoundationPairIsUnfrozenAfterFailure() {
        var net = InMemoryNetwork()
        let a = net.add(makeAgent(role: .controlling, seed: 91) { $0.maximumTransmissions = 3 })
        let b = net.add(makeAgent(role: .controlled, seed: 92))
        net.addHost(a, addrA)
        net.addHost(b, addrB)
        let p = ICECandidate.priority(type: .host)
        let dead = ICECandidate(foundation: "same", priority: p, address: TransportAddress(10, 0, 0, 99, port: 6000), type: .host)
        let alive = ICECandidate(foundation: "same", priority: p - 1, address: addrB, type: .host)
        let t0 = net.now
        net.agents[a].setRemoteDescription(credentials: net.agents[b].localCredentials, candidates: [dead, alive], now: t0)
        net.agents[b].setRemoteCredentials(net.agents[a].localCredentials, now: t0)
        #expect(net.agents[a].checklist.map(\.state) == [.inProgress, .frozen])
        net.run(for: .seconds(5)) { $0.selected(0) != nil }
        #expect(net.selected(a)?.remoteAddress == addrB.socketAddress)
        // 50 + 100 + 200 ms of retransmissions on the dead pair, then the frozen one.
        #expect(net.now - t0 == .milliseconds(350))
    }
}

@Suite("ICE agent: address families and incremental input")
struct ICEAddressFamilyTests {
    @Test func ipv6HostCandidates() {
        var net = InMemoryNetwork()
        net.delay = .milliseconds(1)
        let a = net.add(makeAgent(role: .controlling, seed: 101))
        let b = net.add(makeAgent(role: .controlled, seed: 102))
        let a6 = TransportAddress(literal: "2001:db8::a", port: 5000)!, b6 = TransportAddress(literal: "2001:db8::b", port: 6000)!
        net.addHost(a, a6)
        net.addHost(b, b6)
        net.addHost(b, addrB)  // an IPv4 candidate that has no IPv4 partner on A
        net.exchange(a, b)
        #expect(net.agents[a].checklist.count == 1)
        net.run(for: .seconds(1)) { $0.bothSelected(a, b) }
        #expect(net.selected(a)?.remoteAddress == b6.socketAddress)
        #expect(net.selected(b)?.remoteAddress == a6.socketAddress)
        // The XOR-MAPPED-ADDRESS B returned to A carried A's IPv6 address (XORed with the transaction id).
        let mapped = net.sent.filter { $0.sender == b }.compactMap { $0.message?.xorMappedAddress }
        #expect(mapped.contains(a6))
        #expect(!net.eventList(a).contains { if case .localPeerReflexiveCandidate = $0 { true } else { false } })
    }

    /// Candidates arriving one by one after the credentials: the first check leaves with the first
    /// usable candidate, still at the same instant.
    @Test func checksStartWithTheFirstCandidate() {
        var agent = makeAgent(role: .controlling, seed: 103)
        let now = NIODeadline.uptimeNanoseconds(42)
        var random = AnyRandomSource.seeded(104)
        agent.setRemoteCredentials(.random(using: &random), now: now)
        #expect(agent.pollTransmit() == nil)  // no local candidate, no remote candidate yet
        agent.addHostCandidate(addrA, now: now)
        #expect(agent.pollTransmit() == nil)
        #expect(agent.nextDeadline() == now + .seconds(30))  // only the checking timeout
        let result = agent.addRemoteCandidate(ICECandidate(foundation: "1", priority: 1, address: addrB, type: .host), now: now)
        #expect(result == .added)
        let t = agent.pollTransmit()
        #expect(t?.destination == addrB.socketAddress)
        #expect(agent.statistics.firstCheckSentAt == now)
        #expect(agent.nextDeadline() == now + .milliseconds(50))  // the first retransmission
    }
}

@Suite("ICE agent: role change after success")
struct ICERoleChangeTests {
    /// A's check succeeds while A is controlled; only then does a role conflict (a peer check
    /// carrying ICE-CONTROLLED with a smaller tie-breaker) make A controlling. A must nominate the
    /// working pair with a new USE-CANDIDATE check rather than wait for a nomination that never comes.
    @Test func newlyControllingAgentNominatesWorkingPair() throws {
        var a = makeAgent(role: .controlled, seed: 111)
        let now = NIODeadline.uptimeNanoseconds(1_000)
        var random = AnyRandomSource.seeded(112)
        let peer = ICECredentials.random(using: &random)
        let local = a.addHostCandidate(addrA, now: now)
        a.setRemoteDescription(credentials: peer, candidates: [ICECandidate(foundation: "1", priority: 1, address: addrB, type: .host)], now: now)
        let first = a.pollTransmit()
        let check = try STUNMessage.decode(try #require(first).bytes)
        #expect(check.useCandidate == false)
        let ok = try STUNMessage(type: .bindingSuccess, transactionID: check.transactionID, attributes: [.xorMappedAddress(addrA)]).encode(password: peer.password)
        #expect(a.handleDatagram(ok, from: addrB.socketAddress, localCandidate: local, now: now) == .handled)
        #expect(a.checklist.first?.state == .succeeded)
        #expect(a.selectedPair == nil)

        // The peer also thinks it is controlled, with a smaller tie-breaker: A becomes controlling.
        let conflict = try STUNMessage(type: .bindingRequest, transactionID: .random(using: &random),
                                       attributes: [.username(a.localCredentials.ufrag + ":" + peer.ufrag), .priority(1),
                                                    .iceControlled(a.tieBreaker &- 1)]).encode(password: a.localCredentials.password)
        #expect(a.handleDatagram(conflict, from: addrB.socketAddress, localCandidate: local, now: now) == .handled)
        #expect(a.role == .controlling)
        var sent: [STUNMessage] = []
        while let t = a.pollTransmit() { sent.append(try STUNMessage.decode(t.bytes)) }
        let nominating = try #require(sent.first { $0.type == .bindingRequest })
        #expect(nominating.useCandidate && nominating.iceControlling == a.tieBreaker)
        let ok2 = try STUNMessage(type: .bindingSuccess, transactionID: nominating.transactionID, attributes: [.xorMappedAddress(addrA)]).encode(password: peer.password)
        #expect(a.handleDatagram(ok2, from: addrB.socketAddress, localCandidate: local, now: now) == .handled)
        #expect(a.selectedPair?.nominated == true)
        #expect(a.state == .connected)
    }
}

@Suite("ICE agent: failure and recovery")
struct ICEFailureTests {
    /// Only an mDNS candidate and a silent peer: no pair at all, so the checking timeout fires.
    @Test func checkingTimeout() {
        var net = InMemoryNetwork()
        let a = net.add(makeAgent(role: .controlling, seed: 121) { $0.checkingTimeout = .seconds(10) })
        net.addHost(a, addrA)
        var random = AnyRandomSource.seeded(122)
        let mdns = ICECandidate(foundation: "1", transport: .udp, priority: 1, address: ICEConnectionAddress(host: "x.local", port: 1), type: .host)
        let t0 = net.now
        net.agents[a].setRemoteDescription(credentials: .random(using: &random), candidates: [mdns], now: t0)
        net.run(for: .seconds(60))
        #expect(net.eventList(a).compactMap(\.failure) == [.timeout])
        #expect(net.firstTime(a) { $0.failure != nil } == t0 + .seconds(10))
        #expect(net.agents[a].nextDeadline() == nil)
    }

    /// After `.failed(.allPairsFailed)` a late peer that finally checks us still brings the agent
    /// to `.connected` (documented choice).
    @Test func latePeerRevivesFailedAgent() {
        var net = InMemoryNetwork()
        let a = net.add(makeAgent(role: .controlled, seed: 123))
        let b = net.add(makeAgent(role: .controlling, seed: 124))
        net.addHost(a, addrA)
        net.addHost(b, addrB)
        let t0 = net.now
        let peerReady = t0 + .seconds(5)
        net.dropFilter = { p, now in p.to == addrB && now < peerReady }
        net.agents[a].setRemoteDescription(credentials: net.agents[b].localCredentials, candidates: net.candidates(of: b), now: t0)
        net.run(until: peerReady)
        #expect(net.eventList(a).compactMap(\.failure) == [.allPairsFailed])
        net.agents[b].setRemoteDescription(credentials: net.agents[a].localCredentials, candidates: net.candidates(of: a), now: net.now)
        net.run(for: .seconds(1)) { $0.bothSelected(a, b) }
        #expect(net.bothSelected(a, b))
        #expect(net.agents[a].state == .connected)
        #expect(net.eventList(a).last?.isConnected == true)
    }

    @Test func bindingIndicationIsAKeepalive() {
        var agent = makeAgent(role: .controlling, seed: 125)
        let now = NIODeadline.uptimeNanoseconds(1)
        let local = agent.addHostCandidate(addrA, now: now)
        let indication = try! STUNMessage(type: .bindingIndication, transactionID: STUNTransactionID(a: 1, b: 2, c: 3)).encode(fingerprint: true)
        #expect(agent.handleDatagram(indication, from: addrB.socketAddress, localCandidate: local, now: now) == .handled)
        #expect(agent.pollTransmit() == nil)
        agent.close()
        #expect(agent.handleDatagram(indication, from: addrB.socketAddress, localCandidate: local, now: now) == .dropped(.closed))
        #expect(agent.nextDeadline() == nil)
    }
}
