import CoreSupport
import NIOCore
import SDPCore
import Testing
@testable import ICECore
@testable import PeerCore

/// Identifiers a peer could guess (ICE transaction ids, tie-breakers, consent checks) come from the
/// operating system's secure generator in production; only a seeded session is reproducible.
@Suite struct RandomnessTests {
    @Test func aProductionSessionGivesItsICEAgentTheSystemGenerator() throws {
        let local = try SocketAddress(ipAddress: "127.0.0.1", port: 40_000)
        let offerer = PeerSession(hostAddresses: [local], random: .system, now: .now())
        #expect(offerer.ice.random.isSystem)
        let answerer = PeerSession(hostAddresses: [local], random: .system, now: .now())
        let offer = try SessionDescription(parsing: offerer.createOffer(now: .now()).text)
        _ = try answerer.acceptOffer(offer, now: .now())
        #expect(answerer.ice.random.isSystem, "the agent re-created for the answer too")
        let simulated = PeerSession(hostAddresses: [local], random: .seeded(7), now: .now())
        #expect(!simulated.ice.random.isSystem)
    }

    /// Before ICE has selected a pair, DTLS from an address ICE does not know is dropped and does not
    /// become the media destination; from a remote candidate's address it does.
    @Test func dtlsFromAStrangerIsDroppedBeforeICESelects() throws {
        let a = PeerSession(hostAddresses: [addrA], random: .seeded(1), now: start)
        let b = PeerSession(hostAddresses: [addrB], random: .seeded(2), now: start)
        let answer = try b.acceptOffer(try SessionDescription(parsing: a.createOffer(now: start).text), now: start)
        try a.applyAnswer(try SessionDescription(parsing: answer.text), now: start)
        var hello: [UInt8] = [22, 254, 253] + [UInt8](repeating: 0, count: 40)
        let stranger = try SocketAddress(ipAddress: "10.9.9.9", port: 4444)
        let before = a.statistics.unknownDatagrams
        hello.withUnsafeMutableBytes { a.receive($0, from: stranger, now: start) }
        #expect(a.mediaDestination == nil)
        #expect(a.statistics.unknownDatagrams == before + 1)
        hello.withUnsafeMutableBytes { a.receive($0, from: addrB, now: start) }
        #expect(a.mediaDestination == addrB)
    }
}
