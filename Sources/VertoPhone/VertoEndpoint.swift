import CoreSupport
import Foundation
import Logging
import MediaNIO
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL
import PeerCore
import VertoCore
import VertoNIO

/// Settings of the server role.
public struct VertoEndpointConfiguration: Sendable {
    /// Signalling bind address: loopback unless told otherwise.
    public var host: String = "127.0.0.1"
    /// 5066 by default (the Webitel/Creatio web-phone port, docs/verto-protocol.md §1.2); 0 = any free port.
    public var port: Int = 5066
    /// The certificate of a wss listener; nil: ws.
    public var tls: TLSServerIdentity?
    public var users: UserDirectory
    public var routing: ServerRoutingTable = .testContract
    /// Where media sockets bind, and the address advertised in SDP (unless `mediaExternalAddress`
    /// is set). "0.0.0.0" binds every interface and advertises each IPv4 address.
    public var mediaHost: String = "127.0.0.1"
    /// The address written in SDP instead of the bound one: a server behind a NAT (or a firewall
    /// with port forwarding) that maps the same ports on this public address to the bind address.
    public var mediaExternalAddress: String?
    /// Media sockets bind within this port range (e.g. 16384...32768 for a firewall rule or a
    /// NAT's forwarded range), a socket per call; nil: `mediaSockets` decides.
    public var mediaPorts: ClosedRange<Int>?
    /// One UDP port per media loop, shared by the calls on that loop (the default), or a socket
    /// per call. A socket per call is used whatever this says when `mediaPorts` is set or STUN/TURN
    /// servers are configured (their answers to different calls could not be told apart).
    public var mediaSockets: MediaSockets = .sharedPerLoop(firstPort: 0)
    public var media: PeerSessionConfiguration = .serverRole
    /// STUN/TURN servers for the server role's calls (resolved at `start`): each TURN server adds a
    /// relayed candidate to every answer, for a server whose own addresses browsers cannot reach.
    /// The relay learns the caller's candidates from its offer (mDNS names cannot be permitted).
    public var iceServers: [ICEServer] = []
    /// `.relay`: answers carry only relayed candidates.
    public var iceTransportPolicy: ICETransportPolicy = .all
    /// Whom to trust for `turns:` servers.
    public var iceServerTrust: WebSocketClientConfiguration.Trust = .system
    public var verto: VertoServerConfiguration = VertoServerConfiguration()
    public var maxConnections: Int = 1024
    /// Connections from one client address at most.
    public var maxConnectionsPerAddress: Int = 64
    /// Back-off after failed logins of one user (from anywhere).
    public var loginThrottle = LoginThrottle.Policy()
    /// Back-off after failed logins from one client address (for any user): more free failures,
    /// since many users may share an address behind a NAT.
    public var addressLoginThrottle: LoginThrottle.Policy = {
        var p = LoginThrottle.Policy()
        p.freeFailures = 20
        return p
    }()
    /// Password checks (PBKDF2, off the event loop) in flight at once; logins beyond are refused.
    public var maxConcurrentPasswordChecks = 32
    /// A call whose media (ICE + DTLS) is not up this long after its peer connection was made, or
    /// whose media fails later, ends with MEDIA_TIMEOUT and `verto.bye`: its socket and buffers go.
    public var mediaSetupTimeout: Duration = .seconds(30)
    /// How many of the event loop group's loops carry call media (the group's loops, the signalling
    /// loop first); calls are spread over them in turn, a bridge's legs on one loop. Signalling and
    /// call control stay on one loop. nil: one per CPU the process may run on (its affinity, e.g.
    /// under `taskset`), at most the group's loops; 1: media shares the signalling loop.
    public var mediaEventLoops: Int?
    /// Two bridged legs that negotiated the same codec pass their payloads to each other as they
    /// are (SRTP undone and redone, RTP header rewritten) instead of decoding and encoding. Off: the
    /// bridge decodes and re-encodes (needed when the application listens to or records the legs).
    public var bridgesWithoutTranscoding = true
    /// Logs every Verto frame in and out (logger `verto.trace`, level info) with passwords, ICE
    /// passwords and keys redacted and sessids shortened.
    public var traceJSONRPC = false

    public init(users: UserDirectory) {
        self.users = users
    }

    /// Whether calls' media share one port per media loop: `mediaSockets` asks for it and nothing
    /// needs a socket per call (a port range, STUN or TURN servers).
    var sharesMediaPorts: Bool {
        guard case .sharedPerLoop = mediaSockets else { return false }
        return mediaPorts == nil && media.stunServer == nil && media.turnServers.isEmpty && iceServers.isEmpty
    }
}

/// How the server role's call media meets the network.
public enum MediaSockets: Sendable, Equatable {
    /// One UDP port per media loop, shared by every call on the loop: datagrams are told apart by
    /// ICE username fragment and remote address (RFC 7983 classification first), and a busy loop
    /// reads and writes many datagrams per system call. Ports `firstPort`, `firstPort + 1`, … (one
    /// per media loop); 0: any free ports.
    case sharedPerLoop(firstPort: Int)
    /// A UDP socket per call leg (the client role always works this way).
    case perCall
}

public enum VertoEndpointError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The demo/test users may only be served on loopback.
    case demoUsersOnNonLoopback(String)
    public var description: String {
        switch self {
        case .demoUsersOnNonLoopback(let h):
            return "refusing to listen on \(h) with the built-in demo users: configure a users file or bind 127.0.0.1"
        }
    }
}

/// A call in the server role, as the application sees it.
public struct ServerCallInfo: Sendable, Equatable {
    public var callID: String
    public var user: String?
    public var destination: String
    public var callerIDNumber: String?
    public var callerIDName: String?
    /// True when the server originated the call to a client (bridge B-leg or `call(user:)`).
    public var outbound: Bool
}

/// Events of the server role.
public enum VertoEndpointEvent: Sendable {
    case loggedIn(user: String, sessid: String)
    case loginRejected(login: String)
    /// A new WebRTC dialog with its media session (the seed's onNewWebRTCCall).
    case newWebRTCCall(ServerCallInfo, MediaSession)
    case answered(callID: String)
    case hold(callID: String, held: Bool)
    case dtmf(callID: String, digits: String)
    case bridged(callID: String, otherCallID: String)
    case ended(callID: String, cause: HangupCause)
    case disconnected(sessid: String?)
}

/// The server role: a Verto endpoint (port 5066 by default) that verto.js browsers and our own
/// client log in to and call. Signalling runs on one event loop, driving the sans-IO
/// `VertoServerCore` and `ServerCallControl`; each call leg's media (one `PeerSession`) runs on one
/// of `VertoEndpointConfiguration.mediaEventLoops` loops.
public final class VertoEndpoint: Sendable {
    /// The loop that carries this endpoint's signalling (and media, with one media loop).
    package let eventLoop: EventLoop
    /// The server's events. Each access is a consumer of its own that receives the latest 256 events
    /// since the endpoint started, then every new one; none is dropped for a consumer that reads.
    public var events: AsyncStream<VertoEndpointEvent> { hub.stream() }
    /// Only the events from now on (a consumer that must not see earlier calls).
    package var eventsFromNow: AsyncStream<VertoEndpointEvent> { hub.stream(replayingHistory: false) }
    private let hub: EventHub<VertoEndpointEvent>
    private let server: WebSocketServer
    /// How many event loops carry this endpoint's call media.
    package let mediaLoopCount: Int
    /// The media loops' shared ports (`MediaSockets.sharedPerLoop`); empty with a socket per call.
    package let sharedPorts: [SharedDatagramPort]
    /// The UDP ports that carry the calls' media, one per media loop; empty when each call has a
    /// socket of its own.
    public var mediaPorts: [Int] { sharedPorts.compactMap { $0.localAddress.port } }
    let state: NIOLoopBound<EndpointState>

    /// The address the WebSocket listener is bound to, and its port (the actual one when the
    /// configuration asked for port 0).
    public var host: String { server.localAddress.ipAddress ?? "" }
    public var port: Int { server.localAddress.port ?? 0 }

    private init(eventLoop: EventLoop, server: WebSocketServer, state: NIOLoopBound<EndpointState>, hub: EventHub<VertoEndpointEvent>,
                 mediaLoopCount: Int, sharedPorts: [SharedDatagramPort]) {
        self.mediaLoopCount = mediaLoopCount
        self.sharedPorts = sharedPorts
        self.eventLoop = eventLoop
        self.server = server
        self.state = state
        self.hub = hub
    }

    public static func start(configuration: VertoEndpointConfiguration,
                             logger: Logger = Logger(label: "vertophone.server")) async throws -> VertoEndpoint {
        try await start(configuration: configuration, group: MultiThreadedEventLoopGroup.singleton, logger: logger)
    }

    /// The configuration with its ICE servers resolved into the media settings.
    static func resolvingICEServers(_ configuration: VertoEndpointConfiguration) async throws -> VertoEndpointConfiguration {
        guard !configuration.iceServers.isEmpty || configuration.iceTransportPolicy == .relay else { return configuration }
        var c = configuration
        let resolved = try await ResolvedICEServers.resolve(c.iceServers, policy: c.iceTransportPolicy)
        resolved.apply(to: &c.media, policy: c.iceTransportPolicy, trust: c.iceServerTrust)
        return c
    }

    package static func start(configuration: VertoEndpointConfiguration, group: EventLoopGroup,
                              logger: Logger) async throws -> VertoEndpoint {
        _ = EngineWarmUp.done
        if configuration.users.isDemo && !Self.isLoopback(configuration.host) {
            throw VertoEndpointError.demoUsersOnNonLoopback(configuration.host)
        }
        let configuration = try await resolvingICEServers(configuration)
        let loop = group.next()
        let mediaLoops = Self.mediaLoops(of: group, signalling: loop, count: configuration.mediaEventLoops)
        let hub = EventHub<VertoEndpointEvent>(historyLimit: 256)
        let sharedPorts = try await Self.bindSharedPorts(configuration, on: mediaLoops, logger: logger)
        let state: NIOLoopBound<EndpointState>
        do {
            state = try await loop.submit {
                NIOLoopBound(EndpointState(configuration: configuration, loop: loop, mediaLoops: mediaLoops, sharedPorts: sharedPorts,
                                           events: hub, logger: logger),
                             eventLoop: loop)
            }.get()
        } catch {
            for p in sharedPorts { try? await p.close().get() }
            throw error
        }
        let callbacks = WebSocketCallbacks(
            onOpen: { ws in ws.eventLoop.execute { state.value.opened(ws) } },
            onText: { ws, text in
                if ws.eventLoop === loop { state.value.received(ws, text) } else { loop.execute { state.value.received(ws, text) } }
            },
            onClose: { ws in loop.execute { state.value.closed(ws) } })
        // All connections share the endpoint's loop: no hop between signalling, media and the core.
        let server: WebSocketServer
        do {
            server = try await WebSocketServer.bind(
                configuration: WebSocketServerConfiguration(host: configuration.host, port: configuration.port, tls: try configuration.tls?.makeContext(),
                                                            maxMessageSize: configuration.verto.maxMessageBytes,
                                                            maxConnections: configuration.maxConnections,
                                                            maxConnectionsPerAddress: configuration.maxConnectionsPerAddress,
                                                            maxFrameSizeBeforeAuthentication: configuration.verto.maxMessageBytesBeforeLogin),
                group: loop, callbacks: callbacks, logger: logger)
        } catch {
            try? await loop.submit { state.value.shutdown() }.get()
            for p in sharedPorts { try? await p.close().get() }
            throw error
        }
        logger.info("verto endpoint listening", metadata: ["address": "\(server.localAddress)",
                                                           "media_ports": "\(sharedPorts.compactMap { $0.localAddress.port })"])
        return VertoEndpoint(eventLoop: loop, server: server, state: state, hub: hub, mediaLoopCount: mediaLoops.count,
                             sharedPorts: sharedPorts)
    }

    /// One shared port per media loop when the configuration shares them, else none.
    private static func bindSharedPorts(_ configuration: VertoEndpointConfiguration, on loops: [EventLoop],
                                        logger: Logger) async throws -> [SharedDatagramPort] {
        guard configuration.sharesMediaPorts, case .sharedPerLoop(let first) = configuration.mediaSockets else { return [] }
        var ports: [SharedDatagramPort] = []
        do {
            for (i, l) in loops.enumerated() {
                ports.append(try await SharedDatagramPort.bind(host: configuration.mediaHost, port: first == 0 ? 0 : first + i, on: l).get())
            }
        } catch {
            for p in ports { try? await p.close().get() }
            throw error
        }
        return ports
    }

    /// `count` of the group's loops (nil: one per CPU this process may run on), the signalling loop first.
    static func mediaLoops(of group: EventLoopGroup, signalling: EventLoop, count: Int?) -> [EventLoop] {
        var loops: [EventLoop] = [signalling]
        for l in group.makeIterator() where l !== signalling { loops.append(l) }
        return Array(loops.prefix(max(1, count ?? ProcessorAffinity.count)))
    }

    public static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host.hasPrefix("127.") || host == "::1"
    }

    /// Digits collected on a call (9197, and any call: RFC 4733 and `verto.info`).
    public func collectedDigits(callID: String) async throws -> String? {
        guard let media = try await eventLoop.submit({ self.state.value.calls[callID]?.media }).get() else { return nil }
        return try await media.eventLoop.submit { media.digitsOnLoop }.get()
    }

    /// Ids of the calls in progress.
    public func activeCalls() async throws -> [ServerCallInfo] {
        try await eventLoop.submit { self.state.value.calls.values.map(\.info) }.get()
    }

    /// Answers a call that the routing table hands to the application (`ServerRoute.application`),
    /// once `newWebRTCCall` has delivered it; its media session carries the audio from then on.
    public func answer(callID: String) async throws {
        try await eventLoop.submit { try self.state.value.answerForApplication(callID) }.get()
    }

    /// Hangs up a call (cause NORMAL_CLEARING unless given).
    public func hangup(callID: String, cause: HangupCause = .normalClearing) async throws {
        try await eventLoop.submit { self.state.value.hangup(callID, cause: cause) }.get()
    }

    /// Calls a logged-in user from the server (an inbound call for that client); the media session
    /// plays `source` once answered.
    public func call(user: String, callerIDNumber: String = "9000", callerIDName: String = "VertoPhone",
                     source: MediaSource = .tone(frequencies: [1000], amplitude: 0.3)) async throws -> String {
        let future: EventLoopFuture<String> = eventLoop.flatSubmit {
            self.state.value.originate(toUser: user, callerIDNumber: callerIDNumber, callerIDName: callerIDName, source: source)
        }
        return try await future.get()
    }

    /// Stops listening and ends every call.
    public func stop() async throws {
        try await eventLoop.submit { self.state.value.shutdown() }.get()
        try await server.close()
        // After the calls' own closes queued on each media loop by the shutdown.
        for p in sharedPorts { try await p.close().get() }
    }
}
