import EventSocketCore
import Logging
import NIOCore
import NIOPosix

/// What the PBX event source reports about itself.
public enum PBXEventSourceState: Sendable, Equatable {
    /// Authenticated and subscribed: channel events flow.
    case connected
    /// The connection is gone (or could not be made); a new attempt follows after a back-off.
    case disconnected(String)
    /// One message could not be read (it is dropped; the ones after it still come).
    case badMessage(EventSocketError)
}

/// FreeSWITCH's inbound event socket as a source of channel events: connects, authenticates,
/// subscribes to `event json` for the channel events call control needs, and delivers each as a
/// `PBXChannelEvent`. Reconnects with a doubling back-off (0.5 s to 10 s) whenever the connection
/// drops or the password is refused. Confined to `loop` (not Sendable): it is made, used and
/// called back there only; the one closure NIO may run elsewhere reaches it through `NIOLoopBound`.
final class PBXEventSource {
    private let address: EventSocketAddress
    private let loop: EventLoop
    private let logger: Logger
    private let onEvent: (PBXChannelEvent) -> Void
    private let onState: (PBXEventSourceState) -> Void
    private let tap: (@Sendable (String) -> Void)?
    private var channel: Channel?
    private var parser = EventSocketParser()
    private enum Stage { case greeting, authenticating, subscribing, live }
    private var stage = Stage.greeting
    private var backoff = TimeAmount.milliseconds(500)
    private var retry: Scheduled<Void>?
    private var stopped = false

    init(address: EventSocketAddress, loop: EventLoop, logger: Logger,
         onEvent: @escaping (PBXChannelEvent) -> Void, onState: @escaping (PBXEventSourceState) -> Void,
         tap: (@Sendable (String) -> Void)? = nil) {
        self.tap = tap
        self.address = address
        self.loop = loop
        self.logger = logger
        self.onEvent = onEvent
        self.onState = onState
        parser.maxBodyBytes = 1_000_000
    }

    /// On `loop`.
    func start() { connect() }

    /// On `loop`.
    func stop() {
        stopped = true
        retry?.cancel()
        channel?.close(promise: nil)
    }

    private func connect() {
        guard !stopped else { return }
        parser = EventSocketParser()
        parser.maxBodyBytes = 1_000_000
        stage = .greeting
        let bound = NIOLoopBound(self, eventLoop: loop)
        ClientBootstrap(group: loop)
            .connectTimeout(.seconds(5))
            .channelInitializer { ch in
                ch.eventLoop.makeCompletedFuture { try ch.pipeline.syncOperations.addHandler(Inbound(source: bound.value)) }
            }
            .connect(host: address.host, port: address.port)
            .assumeIsolated()
            .whenComplete { [self] result in
                switch result {
                case .success(let ch):
                    if stopped { ch.close(promise: nil) } else { channel = ch }
                case .failure(let error):
                    lost("cannot connect: \(error)")
                }
            }
    }

    fileprivate func received(_ buffer: ByteBuffer) {
        parser.feed(buffer.readableBytesView)
        while true {
            let message: EventSocketMessage?
            do {
                message = try parser.next()
            } catch {
                logger.warning("bad event socket message", metadata: ["error": "\(error)"])
                onState(.badMessage(error))
                continue
            }
            guard let message else { return }
            handle(message)
        }
    }

    private func handle(_ m: EventSocketMessage) {
        switch m.contentType {
        case "auth/request":
            stage = .authenticating
            send("auth \(address.password)")
        case "command/reply":
            let ok = m.replyText?.hasPrefix("+OK") == true
            switch stage {
            case .authenticating:
                guard ok else {
                    logger.error("event socket refused the password")
                    channel?.close(promise: nil)
                    return
                }
                stage = .subscribing
                send("event json \(PBXChannelEvent.subscription)")
            case .subscribing:
                guard ok else {
                    channel?.close(promise: nil)
                    return
                }
                stage = .live
                backoff = .milliseconds(500)
                onState(.connected)
            case .greeting, .live:
                break
            }
        case "text/event-json":
            tap?(m.body)
            do {
                if let e = try PBXChannelEvent(message: m) { onEvent(e) }
            } catch {
                logger.warning("bad event", metadata: ["error": "\(error)"])
                onState(.badMessage(error))
            }
        case "text/disconnect-notice":
            channel?.close(promise: nil)
        default:
            break
        }
    }

    private func send(_ command: String) {
        guard let channel else { return }
        channel.writeAndFlush(channel.allocator.buffer(string: command + "\n\n"), promise: nil)
    }

    fileprivate func closed() {
        channel = nil
        lost(stage == .authenticating ? "authentication failed" : "connection closed")
    }

    private func lost(_ reason: String) {
        stage = .greeting
        guard !stopped else { return }
        onState(.disconnected(reason))
        let delay = backoff
        backoff = min(backoff * 2, .seconds(10))
        retry = loop.assumeIsolated().scheduleTask(in: delay) { [self] in connect() }
    }

    private final class Inbound: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        private let source: PBXEventSource
        init(source: PBXEventSource) { self.source = source }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) { source.received(unwrapInboundIn(data)) }
        func channelInactive(context: ChannelHandlerContext) {
            source.closed()
            context.fireChannelInactive()
        }
        func errorCaught(context: ChannelHandlerContext, error: Error) { context.close(promise: nil) }
    }
}
