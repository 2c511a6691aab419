import CoreSupport
import NIOCore
import Testing
@testable import ICECore

@Suite("Consent freshness (RFC 7675)")
struct ConsentFreshnessTests {
    func connectedPair(seed: UInt64) -> InMemoryNetwork {
        var net = InMemoryNetwork()
        net.delay = .milliseconds(2)
        let a = net.add(makeAgent(role: .controlling, seed: seed))
        let b = net.add(makeAgent(role: .controlled, seed: seed + 1))
        net.addHost(a, addrA)
        net.addHost(b, addrB)
        net.exchange(a, b)
        net.run(for: .seconds(1)) { $0.bothSelected(a, b) }
        return net
    }

    /// Consent checks leave every 4–6 s (randomised from the injected generator) while the peer
    /// answers; consent never expires.
    @Test func consentChecksAreRandomisedBetweenFourAndSixSeconds() {
        var net = connectedPair(seed: 70)
        #expect(net.bothSelected(0, 1))
        let start = net.now
        net.run(for: .seconds(120))
        let consentTimes = net.sent.filter { $0.sender == 0 && $0.at > start && $0.message?.type == .bindingRequest }.map(\.at)
        #expect(consentTimes.count >= 20 && consentTimes.count <= 30)
        let gaps = zip(consentTimes.dropFirst(), consentTimes).map { ($0 - $1).nanoseconds }
        #expect(gaps.allSatisfy { $0 >= 4_000_000_000 && $0 <= 6_000_000_000 })
        #expect(Set(gaps).count > 1)  // randomised, not a fixed period
        #expect(!net.eventList(0).contains { $0.isConsentLost })
        #expect(net.agents[0].hasConsent)
        #expect(net.agents[0].statistics.lastConsentAt! > start + .seconds(110))
    }

    /// The peer goes silent: consent is lost 30 s after the last response, not before.
    @Test func consentLostAfterThirtySecondsOfSilence() {
        var net = connectedPair(seed: 72)
        let silentFrom = net.now + .seconds(12)
        net.dropFilter = { p, now in p.sender == 1 && now >= silentFrom }
        net.run(for: .seconds(60)) { n in n.eventList(0).contains { $0.isConsentLost } }
        let lostAt = net.firstTime(0) { $0.isConsentLost }
        let last = net.agents[0].statistics.lastConsentAt!
        #expect(lostAt != nil)
        #expect(last < silentFrom)
        #expect(lostAt! - last == .seconds(30))
        #expect(!net.agents[0].hasConsent)
        #expect(net.agents[0].state == .failed)
        // No more consent checks after the loss.
        let after = net.sent.filter { $0.sender == 0 && $0.at > lostAt! }
        net.run(for: .seconds(30))
        #expect(net.sent.filter { $0.sender == 0 && $0.at > lostAt! }.count == after.count)
    }

    /// Checks we *answer* do not count as consent (RFC 7675 §5.1): the peer keeps sending
    /// requests, but its responses are lost, so consent still expires.
    @Test func answeredChecksDoNotRefreshConsent() {
        var net = connectedPair(seed: 74)
        let from = net.now
        net.dropFilter = { p, _ in
            p.sender == 1 && (try? STUNMessage.decode(p.bytes))?.type.messageClass == .successResponse
        }
        // The controlled peer's own consent checks keep arriving at agent 0 and are answered.
        net.run(for: .seconds(45)) { n in n.eventList(0).contains { $0.isConsentLost } }
        #expect(net.eventList(0).contains { $0.isConsentLost })
        #expect(net.agents[0].statistics.successResponsesSent > 0)
        #expect(net.firstTime(0) { $0.isConsentLost }! - from <= .seconds(31))
    }

    /// Lite agents send no consent checks; with liveness enabled they report `.consentLost` when
    /// the full peer stops checking for 30 s.
    @Test func liteLivenessTimeout() {
        var net = InMemoryNetwork()
        let a = net.add(makeAgent(role: .controlling, seed: 76))
        let b = net.add(makeAgent(.lite, role: .controlled, seed: 77))
        net.addHost(a, addrA)
        net.addHost(b, addrB)
        net.exchange(a, b)
        net.run(for: .seconds(20))
        #expect(net.bothSelected(a, b))
        #expect(!net.eventList(b).contains { $0.isConsentLost })
        net.agents[a].close()
        let closedAt = net.now
        net.run(for: .seconds(60)) { n in n.eventList(1).contains { $0.isConsentLost } }
        let lost = net.firstTime(b) { $0.isConsentLost }
        #expect(lost != nil)
        #expect(lost! - closedAt <= .seconds(30))
        #expect(lost! - closedAt >= .seconds(24))
        #expect(net.sent.filter { $0.sender == b }.allSatisfy { $0.message?.type.messageClass != .request })
    }
}
