import Foundation
import Logging
import MediaNIO
import NIOCore
import NIOPosix
import Testing
import TestSupport
@testable import VertoPhone

/// The server role's media ports: one UDP port per media loop shared by that loop's calls
/// (`MediaSockets.sharedPerLoop`, the default), or a socket per call. Real clients, real DTLS-SRTP
/// and Opus over 127.0.0.1; each call's audio checked by its own tone.
@Suite struct SharedMediaPortTests {
    /// The server legs' (port, attached to a shared port) on their loops.
    static func serverLegPorts(_ endpoint: VertoEndpoint) async throws -> [(port: Int?, shared: Bool)] {
        let media = try await endpoint.eventLoop.submit { endpoint.state.value.calls.values.map(\.media) }.get()
        var out: [(Int?, Bool)] = []
        for m in media {
            out.append(try await m.eventLoop.submit { (m.peer?.localAddress.port, m.peer?.shared != nil) }.get())
        }
        return out
    }

    /// Three calls on one media loop share its one port, and each hears its own tone's echo (a
    /// datagram handed to the wrong call would fail its SRTP check, or play the other's tone).
    /// Datagrams from a stranger — garbage, a Binding request for an unknown ufrag, an RTP packet —
    /// reach no call and are counted; the calls go on. Once the calls end, they leave the port.
    @Test func callsOnOneMediaLoopShareItsPort() async throws {
        let endpoint = try await startEndpoint { $0.mediaEventLoops = 1 }
        let port = try #require(endpoint.sharedPorts.first)
        #expect(endpoint.mediaPorts == [port.localAddress.port!])
        var held: [(VertoClient, Call, Double)] = []
        for f in [440.0, 660, 880] {
            let (c, call) = try await echoCall(endpoint, frequency: f)
            held.append((c, call, f))
        }
        let legs = try await Self.serverLegPorts(endpoint)
        #expect(legs.count == 3)
        #expect(legs.allSatisfy { $0.port == port.localAddress.port && $0.shared }, "\(legs)")

        let unroutedBefore = try await port.eventLoop.submit { port.unroutedDatagrams }.get()
        let stranger = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
        let request: [UInt8] = [0x00, 0x01, 0x00, 0x0C, 0x21, 0x12, 0xA4, 0x42] + [UInt8](repeating: 7, count: 12)
            + [0x00, 0x06, 0x00, 0x08] + Array("zzzz:yyy".utf8)
        let rtp: [UInt8] = [0x80, 0x6F, 0x00, 0x01, 0, 0, 0, 1, 0, 0, 0, 2] + [UInt8](repeating: 0xAB, count: 40)
        for bytes in [[UInt8](repeating: 0xFF, count: 30), request, rtp] {
            try await stranger.writeAndFlush(AddressedEnvelope(remoteAddress: port.localAddress, data: ByteBuffer(bytes: bytes)))
        }
        try await within(.seconds(10), "the stranger's datagrams counted") {
            while try await port.eventLoop.submit({ port.unroutedDatagrams }).get() < unroutedBefore + 3 {
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        try await stranger.close()

        for (c, call, f) in held {
            #expect(try await hears(call.media, f), "the echo of \(f) Hz")
            // Two seconds of it: most quarter-second windows carry its own tone, none another's.
            let pcm = try await call.media.listen(seconds: 2, timeout: .seconds(10))
            let tones = windowedTones(pcm, window: 12_000, step: 12_000)
            #expect(majorityTone(pcm) == f, "\(f) Hz: its own echo (windows: \(tones))")
            #expect(!tones.contains { $0 != nil && $0 != f }, "\(f) Hz: no other call's echo (windows: \(tones))")
            try await call.hangup()
            try await c.disconnect()
        }
        // Only the loop's spare peer (kept ready for the next call) is left on the port.
        try await within(.seconds(10), "the calls' peers leave the port") {
            while try await port.eventLoop.submit({ port.memberCount }).get() > 1 {
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        let counters = try await port.eventLoop.submit { (port.datagramsOut, port.flushes) }.get()
        #expect(counters.0 > 0 && counters.1 > 0 && counters.1 <= counters.0)
        try await endpoint.stop()
    }

    /// `.perCall`, or a port range: every call leg has a socket of its own.
    @Test(arguments: [false, true]) func aSocketPerCallWhenAskedOrWithAPortRange(_ range: Bool) async throws {
        let endpoint = try await startEndpoint {
            $0.mediaEventLoops = 1
            if range { $0.mediaPorts = 20_040...20_059 } else { $0.mediaSockets = .perCall }
        }
        #expect(endpoint.mediaPorts.isEmpty)
        let (c1, call1) = try await echoCall(endpoint, frequency: 440)
        let (c2, call2) = try await echoCall(endpoint, frequency: 880)
        let legs = try await Self.serverLegPorts(endpoint)
        #expect(legs.count == 2)
        #expect(Set(legs.compactMap(\.port)).count == 2, "\(legs)")
        #expect(legs.allSatisfy { !$0.shared })
        if range { #expect(legs.allSatisfy { (20_040...20_059).contains($0.port ?? 0) }, "\(legs)") }
        for (c, call) in [(c1, call1), (c2, call2)] {
            try await call.hangup()
            try await c.disconnect()
        }
        try await endpoint.stop()
    }

    /// `.sharedPerLoop(firstPort:)`: the loops' ports are that port and the next ones.
    @Test func sharedPortsStartAtTheFirstPortGiven() async throws {
        // A port that was free a moment ago (bound and released by the kernel's choice); another
        // test's socket may take it meanwhile, then the next one.
        var started: (VertoEndpoint, Int)?
        for _ in 0..<5 where started == nil {
            let probe = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
            let port = try #require(probe.localAddress?.port)
            try await probe.close()
            do {
                started = (try await startEndpoint {
                    $0.mediaEventLoops = 1
                    $0.mediaSockets = .sharedPerLoop(firstPort: port)
                }, port)
            } catch let error as IOError where error.errnoCode == EADDRINUSE {
                continue
            }
        }
        let (endpoint, first) = try #require(started)
        #expect(endpoint.mediaPorts == [first])
        let (c, call) = try await echoCall(endpoint, frequency: 660)
        #expect(try await Self.serverLegPorts(endpoint).map(\.port) == [first])
        try await call.hangup()
        try await c.disconnect()
        try await endpoint.stop()
    }
}
