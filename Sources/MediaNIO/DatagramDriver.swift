import CoreSupport
import Logging
import NIOCore
import NIOPosix
import NIOSSL

/// Drives one `DatagramCore` over one UDP socket on one event loop: datagrams in, drain out, one
/// re-armable timer. Everything runs on the channel's event loop, so the per-packet path has no
/// thread hop (docs/performance.md: each hop costs ~30 µs).
///
/// The core is confined to the event loop; call `withCore` to give it input from elsewhere.
public final class DatagramDriver<Core: DatagramCore>: @unchecked Sendable {
    // @unchecked, at a C-handle boundary: the core (a `PeerSession`: OpenSSL, libsrtp2 and libopus
    // handles) and every mutable field are touched only on `eventLoop` (asserted); other threads
    // reach them through `withCore`, which hops there.
    public let eventLoop: EventLoop
    public let localAddress: SocketAddress
    /// The driver's own socket; nil when it sends and receives through `shared`.
    private let channel: Channel?
    /// The loop's shared port this driver is attached to (`attach(to:)`), instead of a socket of its own.
    public let shared: SharedDatagramPort?
    /// The IPv6 socket beside an IPv4 one (dual stack, `bindDualStack`): datagrams to IPv6
    /// destinations leave from it, and what it receives goes to the same core.
    private var companion: Channel?
    /// The companion's bound address.
    public private(set) var companionAddress: SocketAddress?
    private let core: Core
    private let timer: DeadlineTimer
    private var closed = false
    private let logger: Logger
    /// The core as a `RelayStreamCore` when it has TURN servers over TCP/TLS, and their streams
    /// once connected (relay index → channel).
    private let relayCore: (any RelayStreamCore)?
    private var streams: [Int: Channel] = [:]
    /// Destinations without a route are dropped here: such a send would close the socket.
    private var routes = RouteCache()
    private var sendBuffer = ByteBufferAllocator().buffer(capacity: 1500)
    private var receiveBuffer = ByteBufferAllocator().buffer(capacity: 1500)
    /// Datagrams dropped because their destination has no route.
    public var unroutableDatagrams: Int { routes.unroutable }

    /// Runs on the event loop after every input has been processed and drained (datagram, timer,
    /// `withCore`): the owner moves the core's events and decoded output out here.
    public var afterInput: ((Core) -> Void)? {
        get { eventLoop.preconditionInEventLoop(); return _afterInput }
        set { eventLoop.preconditionInEventLoop(); _afterInput = newValue }
    }
    private var _afterInput: ((Core) -> Void)?

    /// Datagrams sent and received, for stats and tests.
    public private(set) var datagramsIn = 0
    public private(set) var datagramsOut = 0

    private convenience init(channel: Channel, core: Core, logger: Logger) throws {
        guard let local = channel.localAddress else { throw DatagramDriverError.noLocalAddress }
        self.init(channel: channel, shared: nil, eventLoop: channel.eventLoop, localAddress: local, core: core, logger: logger)
    }

    private init(channel: Channel?, shared: SharedDatagramPort?, eventLoop: EventLoop, localAddress: SocketAddress,
                 core: Core, logger: Logger) {
        self.channel = channel
        self.shared = shared
        self.eventLoop = eventLoop
        self.localAddress = localAddress
        self.core = core
        self.logger = logger
        timer = DeadlineTimer(loop: eventLoop)
        relayCore = core as? any RelayStreamCore
        // The timer's action, given once (it needs `self`, so not in the timer's initialiser).
        timer.arm(nil) { [weak self] in self?.timerFired() }
    }

    /// Binds a UDP socket (port 0 = any) on `eventLoop` and starts driving `core`.
    /// `makeCore` runs on the event loop and may capture the bound address.
    public static func bind(host: String, port: Int = 0, on eventLoop: EventLoop,
                            logger: Logger = Logger(label: "vertophone.media.udp"),
                            makeCore: @escaping @Sendable (SocketAddress) throws -> Core) -> EventLoopFuture<DatagramDriver<Core>> {
        let handler = NIOLoopBoundBox.makeEmptyBox(valueType: DatagramInbound<Core>.self, eventLoop: eventLoop)
        // No SO_REUSEADDR: on Linux two UDP sockets that both set it may be given the same
        // ephemeral port by a bind to port 0, and one call's datagrams then reach another's socket.
        return DatagramBootstrap(group: eventLoop)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let h = DatagramInbound<Core>()
                    handler.value = h
                    try channel.pipeline.syncOperations.addHandler(h)
                }
            }
            .bind(host: host, port: port)
            .flatMapThrowing { channel in
                guard let local = channel.localAddress else { throw DatagramDriverError.noLocalAddress }
                let core = try makeCore(local)
                let driver = try DatagramDriver(channel: channel, core: core, logger: logger)
                handler.value?.driver = driver
                driver.openRelayStreams()
                driver.drain()
                return driver
            }
    }

    /// Puts a core on `port` (the loop's shared socket) instead of a socket of its own: it receives
    /// the Binding requests for its ICE username fragment and whatever comes from the addresses it
    /// owns (`SharedPortDemux`). `makeCore` runs on the port's loop and gets the port's address.
    /// The core must not use TURN over streams.
    public static func attach(to port: SharedDatagramPort, logger: Logger = Logger(label: "vertophone.media.udp"),
                              makeCore: @escaping @Sendable ([SocketAddress]) throws -> Core) -> EventLoopFuture<DatagramDriver<Core>>
        where Core: SharedPortCore {
        port.eventLoop.submit {
            let core = try makeCore([port.localAddress])
            let driver = DatagramDriver(channel: nil, shared: port, eventLoop: port.eventLoop, localAddress: port.localAddress,
                                        core: core, logger: logger)
            port.attach(driver, usernameFragment: core.localUsernameFragment)
            driver.drain()
            return driver
        }
    }

    /// Binds a port of `ports` (for a firewall or a NAT that forwards a fixed range): random ports of
    /// the range, up to `attempts` of them, the next one whenever a port is taken.
    public static func bind(host: String, ports: ClosedRange<Int>, attempts: Int = 32, on eventLoop: EventLoop,
                            logger: Logger = Logger(label: "vertophone.media.udp"),
                            makeCore: @escaping @Sendable (SocketAddress) throws -> Core) -> EventLoopFuture<DatagramDriver<Core>> {
        bind(host: host, ports: ports, attempt: 1, of: max(1, attempts), on: eventLoop, logger: logger, makeCore: makeCore)
    }

    private static func bind(host: String, ports: ClosedRange<Int>, attempt: Int, of attempts: Int, on eventLoop: EventLoop,
                             logger: Logger, makeCore: @escaping @Sendable (SocketAddress) throws -> Core)
        -> EventLoopFuture<DatagramDriver<Core>> {
        let port = Int.random(in: ports)  // SystemRandomNumberGenerator
        return bind(host: host, port: port, on: eventLoop, logger: logger, makeCore: makeCore).flatMapError { error in
            guard let io = error as? IOError, io.errnoCode == EADDRINUSE || io.errnoCode == EACCES else {
                return eventLoop.makeFailedFuture(error)
            }
            guard attempt < attempts else { return eventLoop.makeFailedFuture(DatagramDriverError.noFreePort(ports, attempts: attempts)) }
            return bind(host: host, ports: ports, attempt: attempt + 1, of: attempts, on: eventLoop, logger: logger, makeCore: makeCore)
        }
    }

    /// Dual stack: an IPv6 socket (IPv6 only, any port) bound first on `eventLoop`, then the IPv4
    /// socket as `bind(host:port:)` or `bind(host:ports:)` does; `makeCore` gets both addresses
    /// (IPv4 first). Each destination's family picks the socket it leaves from.
    public static func bindDualStack(host: String, ports: ClosedRange<Int>?, on eventLoop: EventLoop,
                                     logger: Logger = Logger(label: "vertophone.media.udp"),
                                     makeCore: @escaping @Sendable ([SocketAddress]) throws -> Core) -> EventLoopFuture<DatagramDriver<Core>> {
        let handler = NIOLoopBoundBox.makeEmptyBox(valueType: DatagramInbound<Core>.self, eventLoop: eventLoop)
        return DatagramBootstrap(group: eventLoop)
            .channelOption(ChannelOptions.Types.SocketOption(level: .ipv6, name: .ipv6_v6only), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let h = DatagramInbound<Core>()
                    handler.value = h
                    try channel.pipeline.syncOperations.addHandler(h)
                }
            }
            .bind(host: "::", port: 0)
            .flatMap { v6 in
                guard let v6Address = v6.localAddress else { return eventLoop.makeFailedFuture(DatagramDriverError.noLocalAddress) }
                let make: @Sendable (SocketAddress) throws -> Core = { v4 in try makeCore([v4, v6Address]) }
                let bound = ports.map { bind(host: host, ports: $0, on: eventLoop, logger: logger, makeCore: make) }
                    ?? bind(host: host, on: eventLoop, logger: logger, makeCore: make)
                return bound.map { driver in
                    driver.companion = v6
                    driver.companionAddress = v6Address
                    handler.value?.driver = driver
                    return driver
                }.flatMapErrorThrowing { error in
                    v6.close(promise: nil)
                    throw error
                }
            }
    }

    /// Runs `body` with the core on the event loop, then drains and re-arms (the "after every input" rule).
    public func withCore<T: Sendable>(_ body: @escaping @Sendable (Core) throws -> T) -> EventLoopFuture<T> {
        if eventLoop.inEventLoop {
            return eventLoop.makeCompletedFuture { try self.withCoreOnLoop(body) }
        }
        return eventLoop.submit { try self.withCoreOnLoop(body) }
    }

    /// The same, when already on the event loop (no future, no hop).
    public func withCoreOnLoop<T>(_ body: (Core) throws -> T) rethrows -> T {
        eventLoop.preconditionInEventLoop()
        let result = try body(core)
        drain()
        _afterInput?(core)
        return result
    }

    /// As `withCoreOnLoop`, for a body that only makes the core send (no event, no frame): the
    /// datagrams are written and the timer re-armed, `afterInput` is not called.
    public func sendOnLoop(_ body: (Core) -> Void) {
        eventLoop.preconditionInEventLoop()
        body(core)
        drain()
    }

    public func close() -> EventLoopFuture<Void> {
        eventLoop.flatSubmit {
            self.closed = true
            self.timer.cancel()
            for s in self.streams.values { s.close(promise: nil) }
            self.streams = [:]
            self.companion?.close(promise: nil)
            if let shared = self.shared {
                shared.detach(self)
                return self.eventLoop.makeSucceededVoidFuture()
            }
            return self.channel!.close()
        }
    }

    // MARK: - event-loop side

    func received(_ envelope: AddressedEnvelope<ByteBuffer>) {
        guard !closed else { return }
        datagramsIn += 1
        // SRTP is undone in place: in the driver's own buffer, as the received one is shared with
        // the pipeline (writing to it would copy it, an allocation per packet).
        receiveBuffer.clear()
        receiveBuffer.writeImmutableBuffer(envelope.data)
        let now = eventLoop.now
        receiveBuffer.withUnsafeMutableReadableBytes { core.receive($0, from: envelope.remoteAddress, now: now) }
        drain()
        _afterInput?(core)
    }

    /// Flushes everything the core wants to send and re-arms the timer.
    func drain() {
        guard !closed else { return }
        let now = eventLoop.now
        while true {
            // One buffer for every datagram, flushed at once: the socket takes it there and then
            // (unless it is full), so the buffer is uniquely ours again at the next `clear()` and
            // nothing is allocated per packet (a buffer still queued is copied instead).
            sendBuffer.clear()
            guard let destination = core.pollTransmit(into: &sendBuffer) else { break }
            guard routes.isRoutable(destination, now: now) else { continue }
            datagramsOut += 1
            if let shared {
                shared.send(sendBuffer, to: destination, from: self)
                continue
            }
            let out: Channel
            if let companion, case .v6 = destination { out = companion } else { out = channel! }
            out.writeAndFlush(AddressedEnvelope(remoteAddress: destination, data: sendBuffer), promise: nil)
        }
        sendBuffer.clear()
        if let relayCore, !streams.isEmpty {
            for (r, stream) in streams {
                var any = false
                while let bytes = relayCore.pollRelayStream(r) {
                    stream.write(stream.allocator.buffer(bytes: bytes), promise: nil)
                    any = true
                }
                if any { stream.flush() }
            }
        }
        arm()
    }

    // MARK: - TURN over TCP/TLS

    /// Connects one stream per TURN server the core reaches over TCP or TLS (RFC 8656 §3.1).
    private func openRelayStreams() {
        guard let relayCore else { return }
        for endpoint in relayCore.streamRelays {
            let r = endpoint.relay
            let tls: NIOSSLContext?
            do {
                tls = try endpoint.tls.map { trust in
                    var t = TLSConfiguration.makeClientConfiguration()
                    switch trust {
                    case .system: break
                    case .customCA(let pem): t.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(pem.utf8)))
                    case .insecureAcceptAnyCertificate: t.certificateVerification = .none
                    }
                    return try NIOSSLContext(configuration: t)
                }
            } catch {
                relayCore.relayStreamFailed(r, reason: "TLS configuration: \(error)", now: eventLoop.now)
                continue
            }
            ClientBootstrap(group: eventLoop)
                .connectTimeout(.seconds(3))
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { [weak self] channel in
                    channel.eventLoop.makeCompletedFuture {
                        if let tls {
                            try channel.pipeline.syncOperations.addHandler(
                                try NIOSSLClientHandler(context: tls, serverHostname: endpoint.serverName))
                        }
                        try channel.pipeline.syncOperations.addHandler(RelayStreamInbound(relay: r, driver: self))
                    }
                }
                .connect(to: endpoint.server)
                .assumeIsolated()
                .whenComplete { [self] result in
                    switch result {
                    case .success(let channel):
                        if closed { channel.close(promise: nil); return }
                        streams[r] = channel
                        drain()
                    case .failure(let error):
                        guard !closed else { return }
                        relayCore.relayStreamFailed(r, reason: "\(error)", now: eventLoop.now)
                        drain()
                        _afterInput?(core)
                    }
                }
        }
    }

    func streamRead(_ relay: Int, _ buffer: ByteBuffer) {
        guard !closed, let relayCore else { return }
        let now = eventLoop.now
        buffer.withUnsafeReadableBytes { relayCore.receiveRelayStream(relay, $0, now: now) }
        drain()
        _afterInput?(core)
    }

    func streamClosed(_ relay: Int, reason: String) {
        guard !closed, let relayCore, streams[relay] != nil else { return }
        streams[relay] = nil
        relayCore.relayStreamFailed(relay, reason: reason, now: eventLoop.now)
        drain()
        _afterInput?(core)
    }

    private func arm() {
        timer.arm(core.nextDeadline())
    }

    private func timerFired() {
        guard !closed else { return }
        core.handleTimeout(now: eventLoop.now)
        drain()
        _afterInput?(core)
    }
}

extension DatagramDriver: SharedPortMember {}

public enum DatagramDriverError: Error, Sendable, Equatable {
    case noLocalAddress
    /// Every port tried in the range was taken.
    case noFreePort(ClosedRange<Int>, attempts: Int)
}

final class RelayStreamInbound<Core: DatagramCore>: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let relay: Int
    weak var driver: DatagramDriver<Core>?

    init(relay: Int, driver: DatagramDriver<Core>?) {
        self.relay = relay
        self.driver = driver
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        driver?.streamRead(relay, unwrapInboundIn(data))
    }

    func channelInactive(context: ChannelHandlerContext) {
        driver?.streamClosed(relay, reason: "the TURN server closed the connection")
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        driver?.streamClosed(relay, reason: "\(error)")
        context.close(promise: nil)
    }
}

final class DatagramInbound<Core: DatagramCore>: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    var driver: DatagramDriver<Core>?

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        driver?.received(unwrapInboundIn(data))
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // ICMP port unreachable and similar: UDP errors never close the socket.
    }
}
