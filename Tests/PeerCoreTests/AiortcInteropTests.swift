import MediaCore
import NIOCore
import NIOPosix
import SDPCore
import Testing
import TestSupport
@testable import PeerCore

/// Interop with aiortc (an independent ICE/DTLS/SRTP/Opus stack, docs/testing.md §4): SDP exchanged with
/// our PeerSession over real UDP on 127.0.0.1; we send 440 Hz, aiortc sends 660 Hz, and each end
/// detects the other's tone by frequency.
@Suite(.serialized, .realTime) struct AiortcInteropTests {
    enum Case: String, CaseIterable, Sendable {
        /// We offer; aiortc answers active: we are the DTLS server.
        case weOfferWeAreDTLSServer
        /// aiortc offers actpass; we answer active: we are the DTLS client.
        case aiortcOffersWeAreDTLSClient
        /// aiortc offers actpass; we answer passive: we are the DTLS server.
        case aiortcOffersWeAreDTLSServer
    }

    @Test(arguments: Case.allCases)
    func tonesBothWaysWithAiortc(_ c: Case) async throws {
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        var config = PeerSessionConfiguration()
        if c == .aiortcOffersWeAreDTLSServer { config.answer.setupForActpass = .passive }
        let us = try await LoopbackPeer.make(on: loop, configuration: config, seed: 7)
        let aiortc = try PythonPeer(script: "aiortc_peer.py", arguments: ["--tone", "660", "--max-seconds", "40"])

        switch c {
        case .weOfferWeAreDTLSServer:
            let offer = try await us.driver.withCore { $0.createOffer(now: loop.now).text }.get()
            let reply = try await aiortc.call(["op": "answer", "sdp": offer])
            let answer = try #require(reply["sdp"] as? String)
            try await us.driver.withCore { try $0.applyAnswer(try SessionDescription(parsing: answer), now: loop.now) }.get()
        case .aiortcOffersWeAreDTLSClient, .aiortcOffersWeAreDTLSServer:
            let reply = try await aiortc.call(["op": "offer"])
            let offer = try #require(reply["sdp"] as? String)
            let answer = try await us.driver.withCore { try $0.acceptOffer(try SessionDescription(parsing: offer), now: loop.now).text }.get()
            _ = try await aiortc.call(["op": "remote", "sdp": answer])
        }
        us.startTone(440)
        let connected = try await aiortc.call(["op": "wait_connected", "timeout": 20])
        #expect(connected["connected"] as? Bool == true, "aiortc DTLS state: \(connected)")

        #expect(try await us.hears(660), "we hear aiortc's 660 Hz")
        let stats = try await aiortc.call(["op": "stats", "seconds": 0.5, "expect_hz": 440, "timeout": 20])
        let heard = try #require(stats["dominant_hz"] as? Double)
        #expect(abs(heard - 440) < 5, "aiortc hears our 440 Hz (got \(heard) Hz; \(stats))")

        let (role, state) = try await us.driver.withCore { ($0.negotiated?.dtlsRole, $0.state) }.get()
        #expect(state == .connected)
        switch c {
        case .weOfferWeAreDTLSServer, .aiortcOffersWeAreDTLSServer: #expect(role == .server)
        case .aiortcOffersWeAreDTLSClient: #expect(role == .client)
        }
        await aiortc.close()
        try await us.stop()
    }
}
