import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOWebSocket

/// Settings of the WebSocket listener (the Verto server role).
public struct WebSocketServerConfiguration: Sendable {
    /// Bind address. Loopback by default (secure defaults).
    public var host: String
    /// 5066 by default: the port Webitel/Creatio deployments use for the web phone (docs/verto-protocol.md §1.2).
    public var port: Int
    /// TLS (wss) when set.
    public var tls: NIOSSLContext?
    /// Largest reassembled message; mod_verto's libks uses 1 000 000 bytes (docs/verto-protocol.md §1.4).
    public var maxMessageSize: Int
    /// Connections beyond this are closed at once.
    public var maxConnections: Int
    /// Connections from one IP address beyond this are closed at once.
    public var maxConnectionsPerAddress: Int
    /// The TLS handshake and the HTTP upgrade must be complete this long after the TCP accept, or
    /// the socket is closed (a half-sent request must not hold a slot).
    public var upgradeTimeout: TimeAmount
    /// Until the application calls `WebSocketConnection.peerAuthenticated()`, a frame whose header
    /// announces more payload than this closes the connection with 1009 before the payload is read
    /// (nil: no such limit).
    public var maxFrameSizeBeforeAuthentication: Int?

    public init(host: String = "127.0.0.1", port: Int = 5066, tls: NIOSSLContext? = nil,
                maxMessageSize: Int = 1_000_000, maxConnections: Int = 1024,
                maxConnectionsPerAddress: Int = 64, upgradeTimeout: TimeAmount = .seconds(10),
                maxFrameSizeBeforeAuthentication: Int? = nil) {
        self.host = host
        self.port = port
        self.tls = tls
        self.maxMessageSize = maxMessageSize
        self.maxConnections = maxConnections
        self.maxConnectionsPerAddress = maxConnectionsPerAddress
        self.upgradeTimeout = upgradeTimeout
        self.maxFrameSizeBeforeAuthentication = maxFrameSizeBeforeAuthentication
    }
}

/// A WebSocket server: any request path is accepted (mod_verto ignores the path), no subprotocol,
/// no extensions. Non-upgrade HTTP requests get 426.
public final class WebSocketServer: Sendable {
    public let localAddress: SocketAddress
    private let channel: Channel
    private let connections: NIOLockedValueBox<Int>

    private init(channel: Channel, connections: NIOLockedValueBox<Int>) throws {
        guard let address = channel.localAddress else { throw WebSocketError.noLocalAddress }
        self.channel = channel
        self.localAddress = address
        self.connections = connections
    }

    /// Number of open WebSocket connections.
    public var connectionCount: Int { connections.withLockedValue { $0 } }

    public static func bind(configuration: WebSocketServerConfiguration, group: EventLoopGroup,
                            callbacks: WebSocketCallbacks, logger: Logger = Logger(label: "vertophone.ws.server")) async throws -> WebSocketServer {
        let count = NIOLockedValueBox(0)
        let perAddress = NIOLockedValueBox([String: Int]())
        let tls = configuration.tls
        let maxMessage = configuration.maxMessageSize
        let maxConnections = configuration.maxConnections
        let maxPerAddress = configuration.maxConnectionsPerAddress
        let upgradeTimeout = configuration.upgradeTimeout
        let preAuthenticationLimit = configuration.maxFrameSizeBeforeAuthentication
        let wrapped = callbacks
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                let admitted = count.withLockedValue { n -> Bool in
                    guard n < maxConnections else { return false }
                    n += 1
                    return true
                }
                guard admitted else {
                    logger.warning("connection limit reached, refusing", metadata: ["limit": "\(maxConnections)"])
                    return channel.close()
                }
                channel.closeFuture.whenComplete { _ in count.withLockedValue { $0 -= 1 } }
                let address = channel.remoteAddress?.ipAddress ?? "?"
                let admittedHere = perAddress.withLockedValue { m -> Bool in
                    guard m[address, default: 0] < maxPerAddress else { return false }
                    m[address, default: 0] += 1
                    return true
                }
                guard admittedHere else {
                    logger.warning("per-address connection limit reached, refusing", metadata: ["limit": "\(maxPerAddress)"])
                    return channel.close()
                }
                channel.closeFuture.whenComplete { _ in
                    perAddress.withLockedValue { m in
                        m[address, default: 1] -= 1
                        if m[address] == 0 { m[address] = nil }
                    }
                }
                let upgradeDeadline = channel.eventLoop.scheduleTask(in: upgradeTimeout) {
                    logger.info("no WebSocket upgrade in time, closing")
                    channel.close(promise: nil)
                }
                channel.closeFuture.whenComplete { _ in upgradeDeadline.cancel() }
                let upgrader = NIOWebSocketServerUpgrader(
                    maxFrameSize: maxMessage,
                    shouldUpgrade: { channel, _ in channel.eventLoop.makeSucceededFuture(HTTPHeaders()) },
                    upgradePipelineHandler: { channel, _ in
                        upgradeDeadline.cancel()
                        return channel.eventLoop.makeCompletedFuture {
                            try WebSocketServerPipeline.addMessageHandlers(
                                to: channel.pipeline.syncOperations, maxMessageBytes: maxMessage,
                                preAuthenticationLimit: preAuthenticationLimit, callbacks: wrapped, logger: logger)
                        }
                    })
                return channel.eventLoop.makeCompletedFuture {
                    let ops = channel.pipeline.syncOperations
                    if let tls { try ops.addHandler(NIOSSLServerHandler(context: tls)) }
                    let refuse = NotUpgradedHandler()
                    try ops.configureHTTPServerPipeline(
                        withServerUpgrade: (upgraders: [upgrader], completionHandler: { context in
                            let ops = context.pipeline.syncOperations
                            if let r = try? ops.handler(type: NotUpgradedHandler.self) { ops.removeHandler(r, promise: nil) }
                        }))
                    try ops.addHandler(refuse)
                }
            }
        let channel = try await bootstrap.bind(host: configuration.host, port: configuration.port).get()
        return try WebSocketServer(channel: channel, connections: count)
    }

    /// Stops listening. Open connections stay until their owners close them.
    public func close() async throws {
        try await channel.close()
    }
}

/// Answers non-upgrade HTTP requests with 426 Upgrade Required and closes.
final class NotUpgradedHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .end = unwrapInboundIn(data) else { return }
        var headers = HTTPHeaders()
        headers.add(name: "Connection", value: "close")
        headers.add(name: "Content-Length", value: "0")
        headers.add(name: "Upgrade", value: "websocket")
        let head = HTTPResponseHead(version: .http1_1, status: .upgradeRequired, headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
    }
}

public enum WebSocketError: Error, Sendable, Equatable {
    case noLocalAddress
    case invalidURL(String)
    case upgradeFailed(String)
    case timeout
}

/// The handlers after the upgrade of a server connection, shared by the server and the fuzz target of
/// the frame handling: the pre-authentication size check (in front of the frame decoder the upgrader
/// installed), the fragment aggregator and the frame handler.
package enum WebSocketServerPipeline {
    package static func addMessageHandlers(to ops: ChannelPipeline.SynchronousOperations, maxMessageBytes: Int,
                                           preAuthenticationLimit: Int?, callbacks: WebSocketCallbacks,
                                           logger: Logger) throws {
        if let preAuthenticationLimit {
            let decoder = try ops.handler(type: ByteToMessageHandler<WebSocketFrameDecoder>.self)
            try ops.addHandler(PreAuthenticationFrameLimit(limit: preAuthenticationLimit),
                               name: PreAuthenticationFrameLimit.name, position: .before(decoder))
        }
        try ops.addHandler(NIOWebSocketFrameAggregator(
            minNonFinalFragmentSize: 0, maxAccumulatedFrameCount: 4096, maxAccumulatedFrameSize: maxMessageBytes))
        try ops.addHandler(WebSocketFrameHandler(callbacks: callbacks, isClient: false, logger: logger))
    }
}
