import MediaCore
import NIOCore
import NIOPosix
import SDPCore
import Testing
import TestSupport
@testable import PeerCore

/// The same as the simulation, over real UDP sockets on 127.0.0.1.
@Suite(.realTime) struct PeerSessionLoopbackTests {
    @Test(arguments: [false, true])
    func tonesBothWaysOverRealUDP(liteAnswerer: Bool) async throws {
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let a = try await LoopbackPeer.make(on: loop, seed: 1)
        let b = try await LoopbackPeer.make(on: loop, configuration: liteAnswerer ? .serverRole : PeerSessionConfiguration(), seed: 2)
        let offer = try await a.driver.withCore { $0.createOffer(now: loop.now).text }.get()
        let answer = try await b.driver.withCore { try $0.acceptOffer(try SessionDescription(parsing: offer), now: loop.now).text }.get()
        try await a.driver.withCore { try $0.applyAnswer(try SessionDescription(parsing: answer), now: loop.now) }.get()
        a.startTone(440)
        b.startTone(660)
        #expect(try await b.hears(440), "B hears A's 440 Hz")
        #expect(try await a.hears(660), "A hears B's 660 Hz")
        let (stateA, milestones) = try await a.driver.withCore { ($0.state, $0.milestones) }.get()
        #expect(stateA == .connected)
        // The milestones are recorded in order (their durations are measured by the benchmarks).
        let applied = try #require(milestones.remoteDescriptionApplied)
        let dtls = try #require(milestones.dtlsConnected)
        #expect(applied <= dtls)
        try await a.stop()
        try await b.stop()
    }
}
