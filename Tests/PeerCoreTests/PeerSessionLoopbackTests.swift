import MediaCore
import NIOCore
import NIOPosix
import SDPCore
import Testing
@testable import PeerCore

/// The same as the simulation, over real UDP sockets on 127.0.0.1.
@Suite struct PeerSessionLoopbackTests {
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
        try await a.waitForAudio(samples: 48_000)
        try await b.waitForAudio(samples: 48_000)
        let detector = GoertzelDetector(sampleRate: 48_000)
        #expect(detector.dominantFrequency(among: [440, 660], in: Array(b.audio.suffix(24_000))) == 440)
        #expect(detector.dominantFrequency(among: [440, 660], in: Array(a.audio.suffix(24_000))) == 660)
        let (stateA, milestones) = try await a.driver.withCore { ($0.state, $0.milestones) }.get()
        #expect(stateA == .connected)
        let applied = try #require(milestones.remoteDescriptionApplied)
        let dtls = try #require(milestones.dtlsConnected)
        #expect(dtls - applied < .milliseconds(500), "setup on loopback takes milliseconds: \(dtls - applied)")
        try await a.stop()
        try await b.stop()
    }
}
