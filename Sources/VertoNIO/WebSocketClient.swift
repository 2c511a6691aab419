import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOWebSocket

/// Settings of the WebSocket client (the Verto client role).
public struct WebSocketClientConfiguration: Sendable {
    /// How the server certificate of a wss URL is checked.
    public enum Trust: Sendable {
        /// The system trust store, with hostname verification.
        case system
        /// Only certificates chaining to these PEM CA certificates (e.g. a lab FreeSWITCH's own CA).
        case customCA(pem: String)
        /// **Test only**: accept any certificate (self-signed FreeSWITCH in a lab). Never the default.
        case insecureAcceptAnyCertificate
    }

    public var trust: Trust
    /// Bound on TCP connect + TLS + HTTP upgrade.
    public var connectTimeout: TimeAmount
    public var maxMessageSize: Int

    public init(trust: Trust = .system, connectTimeout: TimeAmount = .seconds(10), maxMessageSize: Int = 1_000_000) {
        self.trust = trust
        self.connectTimeout = connectTimeout
        self.maxMessageSize = maxMessageSize
    }
}

/// Connects to ws:// or wss:// URLs with any path (docs/verto-protocol.md §1.1: no subprotocol, no extensions).
public enum WebSocketClient {
    public static func connect(url: String, configuration: WebSocketClientConfiguration = WebSocketClientConfiguration(),
                               group: EventLoopGroup, callbacks: WebSocketCallbacks,
                               logger: Logger = Logger(label: "vertophone.ws.client")) async throws -> WebSocketConnection {
        try await connectFuture(url: url, configuration: configuration, eventLoop: group.next(), callbacks: callbacks,
                                logger: logger).get()
    }

    /// The same connect, completed on `eventLoop` without passing through Swift concurrency: an
    /// engine that lives on that loop (the client role) connects and logs in even while the
    /// application's cooperative thread pool is busy. Throws at once for a bad URL or TLS setting.
    public static func connectFuture(url: String, configuration: WebSocketClientConfiguration = WebSocketClientConfiguration(),
                                     eventLoop: EventLoop, callbacks: WebSocketCallbacks,
                                     logger: Logger = Logger(label: "vertophone.ws.client")) throws -> EventLoopFuture<WebSocketConnection> {
        guard let u = URL(string: url), let scheme = u.scheme?.lowercased(), scheme == "ws" || scheme == "wss",
              let host = u.host, !host.isEmpty else {
            throw WebSocketError.invalidURL(url)
        }
        let secure = scheme == "wss"
        let port = u.port ?? (secure ? 443 : 80)
        let path = (u.path.isEmpty ? "/" : u.path) + (u.query.map { "?" + $0 } ?? "")
        let hostHeader = (u.port != nil) ? "\(host):\(port)" : host

        let tls: NIOSSLContext?
        if secure {
            var t = TLSConfiguration.makeClientConfiguration()
            switch configuration.trust {
            case .system: break
            case .customCA(let pem):
                t.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(pem.utf8)))
            case .insecureAcceptAnyCertificate:
                t.certificateVerification = .none
            }
            tls = try NIOSSLContext(configuration: t)
        } else {
            tls = nil
        }
        // NIOSSL rejects IP literals as SNI (docs/toolchain.md §7.7).
        let sni: String? = isIPAddress(host) ? nil : host
        let maxMessage = configuration.maxMessageSize
        let promise = eventLoop.makePromise(of: WebSocketConnection.self)

        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(configuration.connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let ops = channel.pipeline.syncOperations
                    if let tls { try ops.addHandler(try NIOSSLClientHandler(context: tls, serverHostname: sni)) }
                    let requester = UpgradeRequester(host: hostHeader, path: path, promise: promise)
                    let upgrader = NIOWebSocketClientUpgrader(maxFrameSize: maxMessage, upgradePipelineHandler: { channel, _ in
                        channel.eventLoop.makeCompletedFuture {
                            let ops = channel.pipeline.syncOperations
                            try ops.addHandler(NIOWebSocketFrameAggregator(
                                minNonFinalFragmentSize: 0, maxAccumulatedFrameCount: 4096, maxAccumulatedFrameSize: maxMessage))
                            let handler = WebSocketFrameHandler(callbacks: callbacks, isClient: true, logger: logger)
                            try ops.addHandler(handler)
                            if let c = handler.currentConnection { promise.succeed(c) }
                        }
                    })
                    try ops.addHTTPClientHandlers(withClientUpgrade: (upgraders: [upgrader], completionHandler: { context in
                        let ops = context.pipeline.syncOperations
                        if let r = try? ops.handler(type: UpgradeRequester.self) { ops.removeHandler(r, promise: nil) }
                    }))
                    try ops.addHandler(requester)
                }
            }

        let timeout = eventLoop.scheduleTask(in: configuration.connectTimeout) {
            promise.fail(WebSocketError.timeout)
        }
        let channelFuture = bootstrap.connect(host: host, port: port)
        channelFuture.whenFailure { error in
            // The TCP connect's own bound and ours are the same: either way it is our timeout.
            if case ChannelError.connectTimeout = error { promise.fail(WebSocketError.timeout) } else { promise.fail(error) }
        }
        promise.futureResult.whenComplete { result in
            timeout.cancel()
            if case .failure = result { channelFuture.whenSuccess { $0.close(promise: nil) } }
        }
        return promise.futureResult
    }

    static func isIPAddress(_ host: String) -> Bool {
        (try? SocketAddress(ipAddress: host.trimmingCharacters(in: CharacterSet(charactersIn: "[]")), port: 0)) != nil
    }
}

/// Sends the upgrade request once the connection is up, and fails the connect promise on errors or
/// a non-101 response.
final class UpgradeRequester: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    private let host: String
    private let path: String
    private let promise: EventLoopPromise<WebSocketConnection>

    init(host: String, path: String, promise: EventLoopPromise<WebSocketConnection>) {
        self.host = host
        self.path = path
        self.promise = promise
    }

    func channelActive(context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: host)
        headers.add(name: "Content-Length", value: "0")
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: path, headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head(let head) = unwrapInboundIn(data) {
            promise.fail(WebSocketError.upgradeFailed("HTTP \(head.status.code) \(head.status.reasonPhrase)"))
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        promise.fail(error)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.fail(WebSocketError.upgradeFailed("connection closed before the upgrade"))
        context.fireChannelInactive()
    }
}
