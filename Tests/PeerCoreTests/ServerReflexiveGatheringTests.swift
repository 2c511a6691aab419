import ICECore
import MediaNIO
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import SDPCore
import Testing
import TestSupport
@testable import PeerCore

/// A minimal STUN server (RFC 8489 Binding) on 127.0.0.1 that reports every client as 127.0.0.2 with
/// its real port, so the server-reflexive candidate differs from the host candidate.
final class FakeSTUNServer: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>
    let requests = NIOLockedValueBox(0)

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let env = unwrapInboundIn(data)
        guard let req = try? STUNMessage.decode(Array(env.data.readableBytesView)), req.type == .bindingRequest,
              let port = env.remoteAddress.port else { return }
        requests.withLockedValue { $0 += 1 }
        let mapped = TransportAddress(127, 0, 0, 2, port: UInt16(port))
        let reply = STUNMessage(type: .bindingSuccess, transactionID: req.transactionID, attributes: [.xorMappedAddress(mapped)])
        guard let bytes = try? reply.encode(fingerprint: true) else { return }
        var buf = context.channel.allocator.buffer(capacity: bytes.count)
        buf.writeBytes(bytes)
        context.writeAndFlush(wrapOutboundOut(AddressedEnvelope(remoteAddress: env.remoteAddress, data: buf)), promise: nil)
    }
}

@Suite(.realTime) struct ServerReflexiveGatheringTests {
    /// Binds a session with `config` and waits for its gathering to finish.
    func gathered(_ config: PeerSessionConfiguration, on loop: EventLoop) async throws -> DatagramDriver<PeerSession> {
        let driver = try await DatagramDriver<PeerSession>.bind(host: "127.0.0.1", on: loop) { local in
            PeerSession(configuration: config, hostAddresses: [local], random: .seeded(3), now: loop.now)
        }.get()
        let done = loop.makePromise(of: Void.self)
        try await loop.submit {
            if driver.withCoreOnLoop({ $0.isGatheringComplete }) { done.succeed() }
            driver.afterInput = { core in if core.isGatheringComplete { done.succeed() } }
        }.get()
        let timer = loop.scheduleTask(in: .seconds(5)) { done.fail(LoopbackTimeout()) }
        try await done.futureResult.get()
        timer.cancel()
        return driver
    }

    @Test func offerCarriesTheServerReflexiveCandidate() async throws {
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let stun = FakeSTUNServer()
        let server = try await DatagramBootstrap(group: loop).channelInitializer { ch in
            ch.eventLoop.makeCompletedFuture { try ch.pipeline.syncOperations.addHandler(stun) }
        }.bind(host: "127.0.0.1", port: 0).get()
        var config = PeerSessionConfiguration()
        config.stunServer = server.localAddress
        // Gathering ends as soon as the answer is read; the bound only has to outlast a loaded loop.
        config.stunMaximumWait = .seconds(5)
        let driver = try await gathered(config, on: loop)
        let sdp = try await driver.withCore { $0.createOffer(now: loop.now).text }.get()
        #expect(sdp.contains("typ srflx raddr 127.0.0.1"), "\(sdp)")
        #expect(sdp.contains("127.0.0.2"))
        #expect(stun.requests.withLockedValue { $0 } >= 1)
        _ = try await driver.close().get()
        try await server.close()
    }

    @Test func silentSTUNServerIsBoundedAndLeavesHostCandidates() async throws {
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        // A socket that never answers.
        let silent = try await DatagramBootstrap(group: loop).bind(host: "127.0.0.1", port: 0).get()
        var config = PeerSessionConfiguration()
        config.stunServer = silent.localAddress
        config.stunMaximumWait = .milliseconds(300)
        let start = NIODeadline.now()
        let driver = try await gathered(config, on: loop)
        let waited = NIODeadline.now() - start
        // It waited for the (silent) server, and it finished by itself: the binding client gave up
        // (`gathered` fails after 5 s otherwise). No upper bound here: CI machines stall threads.
        #expect(waited >= .milliseconds(290), "waited for the STUN server: \(waited)")
        let sdp = try await driver.withCore { $0.createOffer(now: loop.now).text }.get()
        #expect(!sdp.contains("srflx") && sdp.contains("typ host"))
        _ = try await driver.close().get()
        try await silent.close()
    }
}
