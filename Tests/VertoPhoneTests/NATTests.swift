import MediaNIO
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing
import TestSupport
@testable import VertoPhone

/// A NAT with forwarded ports, in the test: datagrams to `external`:P are sent on to `inside`:P
/// from a socket of the forwarder's own (on `inner`), and what comes back goes out again from
/// `external`:P to the last sender. Nothing else listens on the external address.
final class PortForwarder: Sendable {
    private let channels: [Channel]
    private let relayed: NIOLockedValueBox<Int>
    private let blockedBox: NIOLockedValueBox<Bool>

    private init(channels: [Channel], relayed: NIOLockedValueBox<Int>, blocked: NIOLockedValueBox<Bool>) {
        self.channels = channels
        self.relayed = relayed
        self.blockedBox = blocked
    }

    /// While blocked, every datagram is dropped both ways (the path is down).
    var blocked: Bool {
        get { blockedBox.withLockedValue { $0 } }
        set { blockedBox.withLockedValue { $0 = newValue } }
    }

    static func start(external: String, inside: String, inner: String, ports: ClosedRange<Int>) async throws -> PortForwarder {
        let group = MultiThreadedEventLoopGroup.singleton
        var channels: [Channel] = []
        let counter = NIOLockedValueBox(0)
        let blocked = NIOLockedValueBox(false)
        for port in ports {
            let client = NIOLockedValueBox<SocketAddress?>(nil)
            let outerBox = NIOLockedValueBox<Channel?>(nil)
            let target = try SocketAddress(ipAddress: inside, port: port)
            let innerChannel = try await DatagramBootstrap(group: group)
                .channelInitializer { ch in
                    ch.eventLoop.makeCompletedFuture {
                        try ch.pipeline.syncOperations.addHandler(Relay { envelope in
                            guard !blocked.withLockedValue({ $0 }), let to = client.withLockedValue({ $0 }),
                                  let outer = outerBox.withLockedValue({ $0 }) else { return }
                            counter.withLockedValue { $0 += 1 }
                            outer.writeAndFlush(AddressedEnvelope(remoteAddress: to, data: envelope.data), promise: nil)
                        })
                    }
                }
                .bind(host: inner, port: 0).get()
            let outer = try await DatagramBootstrap(group: group)
                .channelInitializer { ch in
                    ch.eventLoop.makeCompletedFuture {
                        try ch.pipeline.syncOperations.addHandler(Relay { envelope in
                            guard !blocked.withLockedValue({ $0 }) else { return }
                            client.withLockedValue { $0 = envelope.remoteAddress }
                            counter.withLockedValue { $0 += 1 }
                            innerChannel.writeAndFlush(AddressedEnvelope(remoteAddress: target, data: envelope.data), promise: nil)
                        })
                    }
                }
                .bind(host: external, port: port).get()
            outerBox.withLockedValue { $0 = outer }
            channels += [innerChannel, outer]
        }
        return PortForwarder(channels: channels, relayed: counter, blocked: blocked)
    }

    /// Datagrams relayed so far, both ways.
    var count: Int { relayed.withLockedValue { $0 } }

    func stop() async {
        for c in channels { try? await c.close() }
    }
}

private final class Relay: ChannelInboundHandler, Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    let forward: @Sendable (AddressedEnvelope<ByteBuffer>) -> Void
    init(_ forward: @escaping @Sendable (AddressedEnvelope<ByteBuffer>) -> Void) { self.forward = forward }
    func channelRead(context: ChannelHandlerContext, data: NIOAny) { forward(unwrapInboundIn(data)) }
}

@Suite(.serialized, .realTime) struct NATTests {
    /// The server role behind a NAT: media binds 127.0.0.1 within a port range, SDP names the
    /// external address 127.0.0.2 (where only the forwarder listens), and the call's audio flows
    /// through the forwarder — the direct path to the bound address is never offered.
    @Test func aServerBehindANATAdvertisesItsExternalAddressWithinItsPortRange() async throws {
        let ports = 20_000...20_007
        let nat = try await PortForwarder.start(external: "127.0.0.2", inside: "127.0.0.1", inner: "127.0.0.3", ports: ports)
        var config = VertoEndpointConfiguration(users: .demo())
        config.port = 0
        config.mediaHost = "127.0.0.1"
        config.mediaExternalAddress = "127.0.0.2"
        config.mediaPorts = ports
        let endpoint = try await VertoEndpoint.start(configuration: config)
        let c = client(endpoint)
        try await c.connect()
        let call = try await c.call("9196", source: .tone(frequencies: [440], amplitude: 0.3))
        try await call.wait { $0 == .active }
        let candidates = try await call.media.eventLoop.submit {
            call.media.peer?.withCoreOnLoop { $0.negotiated?.remoteCandidates.map { ($0.address, Int($0.port)) } } ?? []
        }.get()
        #expect(!candidates.isEmpty)
        for (address, port) in candidates {
            #expect(address == "127.0.0.2" && ports.contains(port), "server candidate \(address):\(port)")
        }
        #expect(try await hears(call.media, 440), "the echo comes back through the NAT")
        #expect(nat.count > 50, "media went through the forwarder (\(nat.count) datagrams)")
        try await call.hangup()
        try await c.disconnect()
        try await endpoint.stop()
        await nat.stop()
    }

    /// A port range with every port taken fails the call's media with a typed error, not a hang.
    @Test func aFullPortRangeIsATypedError() async throws {
        let taken = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 20_010).get()
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let result = try? await MediaFactory.makePeer(on: loop, host: "127.0.0.1", configuration: .serverRole, advertise: [],
                                                      ports: 20_010...20_010).get()
        #expect(result == nil)
        await #expect(throws: DatagramDriverError.noFreePort(20_010...20_010, attempts: 32)) {
            _ = try await MediaFactory.makePeer(on: loop, host: "127.0.0.1", configuration: .serverRole, advertise: [],
                                                ports: 20_010...20_010).get()
        }
        try await taken.close()
    }
}

/// A call whose media path goes down for seconds and comes back: the client sees its audio stall,
/// restarts ICE on its own (the offer goes over the WebSocket, which stays up), its new peer keeps
/// checking while the path is down, and audio returns when the path does — same call, same callID.
@Suite(.serialized, .realTime) struct ICERestartOnStallTests {
    @Test func audioReturnsAfterThePathComesBackThroughAnAutomaticICERestart() async throws {
        let ports = 20_100...20_115
        let nat = try await PortForwarder.start(external: "127.0.0.2", inside: "127.0.0.1", inner: "127.0.0.3", ports: ports)
        let endpoint = try await startEndpoint {
            $0.mediaHost = "127.0.0.1"
            $0.mediaExternalAddress = "127.0.0.2"
            $0.mediaPorts = ports
        }
        let c = client(endpoint)
        try await c.connect()
        let call = try await c.call("9196", source: .tone(frequencies: [440], amplitude: 0.3))
        try await call.wait { $0 == .active }
        #expect(try await hears(call.media, 440), "the echo through the forwarder")
        let restartsBefore = try await c.eventLoop.submit { c.state.value.iceRestartsStarted }.get()

        nat.blocked = true
        _ = try await first(in: call.media.events, within: .seconds(10), "the audio stalls") { $0 == .pathStalled ? true : nil }
        // The restart is signalled while the path is still down; its peer cannot connect yet.
        let deadline = ContinuousClock.now + .seconds(10)
        while try await c.eventLoop.submit({ c.state.value.iceRestartsStarted }).get() == restartsBefore, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(try await c.eventLoop.submit { c.state.value.iceRestartsStarted }.get() == restartsBefore + 1)
        try await Task.sleep(for: .seconds(2))  // the path stays down a while longer

        // The restarted peer decodes its first frame once the path is back (its milestones start empty).
        let before = try #require(try await call.media.stats())
        #expect(before.milestones.firstFrameDecoded == nil, "the call's media moved to the restart's peer")
        let back = NIODeadline.now()
        nat.blocked = false
        var decoded: NIODeadline?
        let bound = ContinuousClock.now + .seconds(15)
        while decoded == nil, ContinuousClock.now < bound {
            decoded = try await call.media.stats()?.milestones.firstFrameDecoded
            if decoded == nil { try await Task.sleep(for: .milliseconds(5)) }
        }
        let first = try #require(decoded, "audio came back")
        #expect(first > back)
        print("ICE restart: path back → first decoded frame \(Double((first - back).nanoseconds) / 1e6) ms")
        #expect(try await hears(call.media, 440), "the echo of the same tone, on the restarted path")
        #expect(call.state == .active)
        try await call.hangup()
        try await c.disconnect()
        try await endpoint.stop()
        await nat.stop()
    }
}
