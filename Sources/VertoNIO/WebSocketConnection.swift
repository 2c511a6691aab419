import NIOConcurrencyHelpers
import NIOCore
import NIOWebSocket

/// Callbacks of a WebSocket endpoint. They run on the connection's event loop, so the owner can
/// drive a sans-IO core there with no thread hop per message (docs/performance.md: a hop costs ~30 µs).
public struct WebSocketCallbacks: Sendable {
    public var onOpen: @Sendable (WebSocketConnection) -> Void
    public var onText: @Sendable (WebSocketConnection, String) -> Void
    public var onClose: @Sendable (WebSocketConnection) -> Void

    public init(onOpen: @escaping @Sendable (WebSocketConnection) -> Void = { _ in },
                onText: @escaping @Sendable (WebSocketConnection, String) -> Void,
                onClose: @escaping @Sendable (WebSocketConnection) -> Void = { _ in }) {
        self.onOpen = onOpen
        self.onText = onText
        self.onClose = onClose
    }
}

/// One upgraded WebSocket connection (client or server side). Methods may be called from any
/// thread; they hop to the channel's event loop only when called from elsewhere.
public final class WebSocketConnection: Sendable, Hashable, CustomStringConvertible {
    /// Process-unique id (for logs and for keying per-connection state in cores).
    public let id: Int
    public let channel: Channel
    public let remoteAddress: SocketAddress?
    /// This side's address of the TCP connection: on a client, the local end of the route to the
    /// server.
    public let localAddress: SocketAddress?
    /// Client frames must be masked (RFC 6455 §5.3); server frames must not be.
    let isClient: Bool

    init(id: Int, channel: Channel, isClient: Bool) {
        self.id = id
        self.channel = channel
        self.remoteAddress = channel.remoteAddress
        self.localAddress = channel.localAddress
        self.isClient = isClient
    }

    public var eventLoop: EventLoop { channel.eventLoop }

    /// Sends one text frame (FreeSWITCH writes each JSON message as one unfragmented text frame).
    public func send(text: String) {
        if channel.eventLoop.inEventLoop {
            write(text)
        } else {
            channel.eventLoop.execute { self.write(text) }
        }
    }

    /// Lifts the frame-size limit a server applies before the peer is authenticated (see
    /// `WebSocketServerConfiguration.maxFrameSizeBeforeAuthentication`).
    public func peerAuthenticated() {
        let channel = self.channel
        channel.eventLoop.execute {
            _ = channel.pipeline.removeHandler(name: PreAuthenticationFrameLimit.name)
        }
    }

    /// Sends a close frame (RFC 6455 §5.5.1) and closes the channel.
    public func close(code: WebSocketErrorCode = .normalClosure) {
        let channel = self.channel
        let isClient = self.isClient
        channel.eventLoop.execute {
            var data = channel.allocator.buffer(capacity: 2)
            data.write(webSocketErrorCode: code)
            let frame = WebSocketFrame(fin: true, opcode: .connectionClose, maskKey: isClient ? .random() : nil, data: data)
            channel.writeAndFlush(frame).whenComplete { _ in channel.close(promise: nil) }
        }
    }

    /// Completes when the underlying channel has closed.
    public var closeFuture: EventLoopFuture<Void> { channel.closeFuture }

    private func write(_ text: String) {
        var buffer = channel.allocator.buffer(capacity: text.utf8.count)
        buffer.writeString(text)
        let frame = WebSocketFrame(fin: true, opcode: .text, maskKey: isClient ? .random() : nil, data: buffer)
        channel.writeAndFlush(frame, promise: nil)
    }

    public static func == (a: WebSocketConnection, b: WebSocketConnection) -> Bool { a.id == b.id }
    public func hash(into hasher: inout Hasher) { hasher.combine(id) }
    public var description: String { "ws#\(id)" }
}

/// Process-wide connection ids.
enum ConnectionIDs {
    private static let counter = NIOLockedValueBox(0)
    static func next() -> Int { counter.withLockedValue { $0 += 1; return $0 } }
}
