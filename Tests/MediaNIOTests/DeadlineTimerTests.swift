import MediaNIO
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing
import TestSupport

/// Signals every datagram read on the channel.
private final class ReadSignal: ChannelInboundHandler, Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    let continuation: AsyncStream<Void>.Continuation
    init(_ continuation: AsyncStream<Void>.Continuation) { self.continuation = continuation }
    func channelRead(context: ChannelHandlerContext, data: NIOAny) { continuation.yield() }
}

@Suite(.realTime) struct DeadlineTimerTests {
    /// Timers fire in the order of their deadlines, a re-armed one at its new deadline, a cancelled
    /// one never (checked once a timer later than its deadline has fired).
    @Test func timersFireInDeadlineOrderAndACancelledOneNever() async throws {
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let (fired, continuation) = AsyncStream<String>.makeStream()
        let timers = try await loop.submit {
            let now = loop.now
            var timers: [String: DeadlineTimer] = [:]
            for (name, ms) in [("a", 30), ("b", 10), ("c", 20), ("cancelled", 40), ("moved", 50), ("last", 80)] {
                let t = DeadlineTimer(loop: loop) { continuation.yield(name) }
                t.arm(now + .milliseconds(Int64(ms)))
                timers[name] = t
            }
            timers["cancelled"]!.cancel()
            timers["moved"]!.arm(now + .milliseconds(5))
            return NIOLoopBound(timers, eventLoop: loop)
        }.get()
        let order = try await scan(fired, from: [String](), within: .seconds(10), "the last timer") { seen, name in
            seen.append(name)
            return name == "last" ? seen : nil
        }
        #expect(order == ["moved", "b", "c", "a", "last"])
        try await loop.submit { _ = timers.value.count }.get()
    }

    /// A loop whose timers need more than real time still reads its sockets: NIO alone keeps
    /// running scheduled work while any is due, so 40 timers that each take 1 ms and are due again
    /// at once would keep the datagram below unread for as long as they run.
    @Test func socketsAreReadWhileTimersNeedMoreThanRealTime() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let (reads, continuation) = AsyncStream<Void>.makeStream()
        let receiver = try await DatagramBootstrap(group: loop)
            .channelInitializer { $0.pipeline.addHandler(ReadSignal(continuation)) }
            .bind(host: "127.0.0.1", port: 0).get()
        let sender = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).get()
        let running = NIOLockedValueBox(true)
        let timers = try await loop.submit {
            var timers: [DeadlineTimer] = []
            for _ in 0..<40 {
                let t = DeadlineTimer(loop: loop)
                t.arm(loop.now) { [unowned t] in
                    let end = NIODeadline.now() + .milliseconds(1)
                    while NIODeadline.now() < end {}
                    if running.withLockedValue({ $0 }) { t.arm(loop.now) }
                }
                timers.append(t)
            }
            return NIOLoopBound(timers, eventLoop: loop)
        }.get()
        var payload = sender.allocator.buffer(capacity: 4)
        payload.writeString("ping")
        try await sender.writeAndFlush(AddressedEnvelope(remoteAddress: receiver.localAddress!, data: payload)).get()
        let read: Void? = try? await first(in: reads, within: .seconds(10), "the datagram read") { $0 }
        running.withLockedValue { $0 = false }
        #expect(read != nil)
        try await loop.submit {
            for t in timers.value { t.cancel() }
        }.get()
        try await sender.close()
        try await receiver.close()
        try await group.shutdownGracefully()
    }
}
