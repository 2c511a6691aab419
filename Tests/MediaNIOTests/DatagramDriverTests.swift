import CoreSupport
#if canImport(Glibc)
import Glibc
#endif
import MediaNIO
import NIOCore
import NIOPosix
import Testing
import TestSupport

/// A core that answers "ping N" with "pong N" and, on its own timer, sends "tick" to the last peer.
final class PingCore: DatagramCore {
    var lastPeer: SocketAddress?
    var outbox: [(String, SocketAddress)] = []
    var tickAt: NIODeadline?
    var received: [String] = []
    var onTick: (() -> Void)?

    func receive(_ datagram: UnsafeMutableRawBufferPointer, from source: SocketAddress, now: NIODeadline) {
        let text = String(decoding: datagram, as: UTF8.self)
        received.append(text)
        lastPeer = source
        if text.hasPrefix("ping") { outbox.append(("pong" + text.dropFirst(4), source)) }
        if text == "arm" { tickAt = now + .milliseconds(20) }
    }

    func pollTransmit(into buffer: inout ByteBuffer) -> SocketAddress? {
        guard !outbox.isEmpty else { return nil }
        let (text, to) = outbox.removeFirst()
        buffer.writeString(text)
        return to
    }

    func handleTimeout(now: NIODeadline) {
        guard let t = tickAt, now >= t, let peer = lastPeer else { return }
        tickAt = nil
        outbox.append(("tick", peer))
        onTick?()
    }

    func nextDeadline() -> NIODeadline? { tickAt }
}

@Suite(.realTime) struct DatagramDriverTests {
    /// A media socket's port is its own: another socket, even one that sets SO_REUSEADDR, cannot
    /// bind it while the driver lives (with SO_REUSEADDR on both, Linux may hand the same ephemeral
    /// port to two sockets, and a live call's datagrams then reach another call's socket).
    @Test func aLiveMediaPortCannotBeSharedWithAnotherSocket() async throws {
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let driver = try await DatagramDriver<PingCore>.bind(host: "127.0.0.1", on: loop) { _ in PingCore() }.get()
        let port = try #require(driver.localAddress.port)
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        #expect(fd >= 0)
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = loopbackSockaddr(port: port)
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        let err = errno
        close(fd)
        #expect(bound != 0 && err == EADDRINUSE, "a second socket bound the live media port \(port)")
        try await driver.close().get()
    }

    @Test func echoesAndFiresTimersOverRealUDP() async throws {
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let driver = try await DatagramDriver<PingCore>.bind(host: "127.0.0.1", on: loop) { _ in PingCore() }.get()
        let port = try #require(driver.localAddress.port)

        // A plain NIO UDP client collects what comes back.
        let (stream, continuation) = AsyncStream<String>.makeStream()
        let client = try await DatagramBootstrap(group: loop).channelInitializer { ch in
            ch.eventLoop.makeCompletedFuture { try ch.pipeline.syncOperations.addHandler(Collect(continuation)) }
        }.bind(host: "127.0.0.1", port: 0).get()
        let server = try SocketAddress(ipAddress: "127.0.0.1", port: port)
        for text in ["ping 1", "ping 2", "arm"] {
            var b = client.allocator.buffer(capacity: 16)
            b.writeString(text)
            try await client.writeAndFlush(AddressedEnvelope(remoteAddress: server, data: b)).get()
        }
        var got: [String] = []
        for await s in stream {
            got.append(s)
            if got.count == 3 { break }
        }
        #expect(got == ["pong 1", "pong 2", "tick"])
        let received = try await driver.withCore { $0.received }.get()
        #expect(received == ["ping 1", "ping 2", "arm"])
        try await client.close()
        try await driver.close().get()
    }

    @Test func hostAddressesAreLiteralIPv4() {
        let a = HostAddresses.ipv4(includeLoopback: true)
        #expect(a.contains("127.0.0.1"))
        #expect(a.allSatisfy { (try? SocketAddress(ipAddress: $0, port: 0)) != nil })
    }
}

final class Collect: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    let c: AsyncStream<String>.Continuation
    init(_ c: AsyncStream<String>.Continuation) { self.c = c }
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var b = unwrapInboundIn(data).data
        c.yield(b.readString(length: b.readableBytes) ?? "")
    }
}
