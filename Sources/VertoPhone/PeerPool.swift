import CoreSupport
import CryptoCore
import MediaNIO
import NIOCore
import PeerCore
import SDPCore

/// Binds a UDP socket on the engine's event loop and puts a `PeerSession` on it.
enum MediaFactory {
    /// `external`: the address written in SDP instead of the bound one (a server behind a NAT
    /// that forwards the same ports); `ports`: the range to bind in (nil: any free port);
    /// `shared`: the loop's shared port, used instead of a socket of the peer's own (then `ports` is
    /// not used, and the configuration has no STUN or TURN server).
    static func makePeer(on loop: EventLoop, host: String, configuration: PeerSessionConfiguration,
                         advertise: [String], external: String? = nil,
                         ports: ClosedRange<Int>? = nil, shared: SharedDatagramPort? = nil,
                         identity: DTLSIdentity = .shared) -> EventLoopFuture<DatagramDriver<PeerSession>> {
        // With every interface and IPv6 addresses to offer, a second (IPv6) socket: dual stack.
        let v6Hosts = advertise.filter { $0.contains(":") }
        let dualStack = shared == nil && host == "0.0.0.0" && !v6Hosts.isEmpty && external == nil
        let makeCore: @Sendable ([SocketAddress]) throws -> PeerSession = { locals in
            var addresses: [SocketAddress] = []
            let local = locals[0]
            let port = local.port ?? 0
            if let external {
                addresses = [try SocketAddress(ipAddress: external, port: port)]
            } else if host == "0.0.0.0" {
                let v6Port = locals.count > 1 ? locals[1].port ?? 0 : 0
                let v4 = advertise.filter { !$0.contains(":") }
                let first = advertise.first.flatMap { $0.contains(":") && !dualStack ? nil : $0 }
                for ip in HostAddresses.interleaved(ipv6: dualStack ? v6Hosts : [], ipv4: v4, first: first) {
                    if let a = try? SocketAddress(ipAddress: ip, port: ip.contains(":") ? v6Port : port) { addresses.append(a) }
                }
            } else {
                addresses = [local]
            }
            return PeerSession(configuration: configuration, identity: identity, hostAddresses: addresses, random: .system, now: loop.now)
        }
        let bound: EventLoopFuture<DatagramDriver<PeerSession>>
        if let shared {
            bound = DatagramDriver<PeerSession>.attach(to: shared, makeCore: makeCore)
        } else if dualStack {
            bound = DatagramDriver<PeerSession>.bindDualStack(host: host, ports: ports, on: loop, makeCore: makeCore)
        } else {
            let single: @Sendable (SocketAddress) throws -> PeerSession = { try makeCore([$0]) }
            bound = ports.map { DatagramDriver<PeerSession>.bind(host: host, ports: $0, on: loop, makeCore: single) }
                ?? DatagramDriver<PeerSession>.bind(host: host, on: loop, makeCore: single)
        }
        return bound.flatMap { driver in
            // With a STUN server, wait (bounded by the binding client's own limit) for the
            // server-reflexive candidate before the SDP is written: there is no trickle in Verto.
            // The same for TURN allocations. Relay-only with no relayed candidate fails here, typed.
            func finished(_ core: PeerSession) -> Result<DatagramDriver<PeerSession>, Error>? {
                guard core.isGatheringComplete else { return nil }
                if let error = core.gatheringError {
                    _ = driver.close()
                    return .failure(VertoPhoneError.media(error))
                }
                return .success(driver)
            }
            if let done = driver.withCoreOnLoop(finished) { return loop.makeCompletedFuture(done) }
            let promise = loop.makePromise(of: DatagramDriver<PeerSession>.self)
            driver.afterInput = { core in
                if let done = finished(core) {
                    driver.afterInput = nil
                    promise.completeWith(done)
                }
            }
            return promise.futureResult
        }
    }
}

extension DatagramDriver where Core == PeerSession {
    /// Parses the remote side's SDP answer and applies it to this peer (on its loop).
    func applyRemoteAnswer(_ sdp: String) throws {
        let answer = try SessionDescription(parsing: sdp)
        try withCoreOnLoop { [now = eventLoop.now] in try $0.applyAnswer(answer, now: now) }
    }
}

/// Keeps one bound socket with a fresh `PeerSession` ready, so a call's setup path does not pay for
/// the socket, the session's credentials and its candidates (~0.2 ms per leg measured on loopback).
/// Confined to its event loop (not Sendable): every method is called there.
final class PeerPool {
    let loop: EventLoop
    let host: String
    let configuration: PeerSessionConfiguration
    let advertise: () -> [String]
    /// Written in SDP instead of the bound address (NAT with forwarded ports).
    var externalAddress: String?
    /// Media ports are bound within this range (nil: any free port).
    var ports: ClosedRange<Int>?
    /// The loop's shared port: peers use it instead of sockets of their own.
    var shared: SharedDatagramPort?
    private var spare: DatagramDriver<PeerSession>?
    private var filling = false
    private var closed = false

    init(loop: EventLoop, host: String, configuration: PeerSessionConfiguration, advertise: @escaping () -> [String]) {
        self.loop = loop
        self.host = host
        self.configuration = configuration
        self.advertise = advertise
    }

    /// A ready peer (the spare when there is one), and a new spare is prepared behind it.
    func take() -> EventLoopFuture<DatagramDriver<PeerSession>> {
        loop.preconditionInEventLoop()
        defer { refill() }
        if let s = spare {
            spare = nil
            return loop.makeSucceededFuture(s)
        }
        return MediaFactory.makePeer(on: loop, host: host, configuration: configuration, advertise: advertise(),
                                     external: externalAddress, ports: ports, shared: shared)
    }

    /// Prepares the spare now (e.g. after login), off any call's setup path.
    func refill() {
        loop.preconditionInEventLoop()
        guard spare == nil, !filling, !closed else { return }
        filling = true
        MediaFactory.makePeer(on: loop, host: host, configuration: configuration, advertise: advertise(),
                              external: externalAddress, ports: ports, shared: shared)
            .assumeIsolated()
            .whenComplete { [self] result in
                filling = false
                guard case .success(let d) = result else { return }
                if closed || spare != nil { Self.discard(d) } else { spare = d }
            }
    }

    /// Closes an unused peer: its session first (a TURN allocation is released with a Refresh of
    /// lifetime 0, drained before the socket closes), then the socket.
    static func discard(_ d: DatagramDriver<PeerSession>) {
        d.withCoreOnLoop { [now = d.eventLoop.now] in $0.close(now: now) }
        _ = d.close()
    }

    /// Drops the spare (its candidates are stale after an address change) and prepares a new one.
    func replaceSpare() {
        loop.preconditionInEventLoop()
        if let s = spare { Self.discard(s) }
        spare = nil
        refill()
    }

    func close() {
        loop.preconditionInEventLoop()
        closed = true
        if let s = spare { Self.discard(s) }
        spare = nil
    }
}
