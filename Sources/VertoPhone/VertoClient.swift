import CoreSupport
import Foundation
import Logging
import MediaNIO
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import PeerCore
import SDPCore
import VertoCore
import VertoNIO

/// Settings of the client role.
public struct VertoClientOptions: Sendable {
    /// Any ws:// or wss:// URL (FreeSWITCH, Webitel, our own server); the path is free.
    public var url: String
    public var login: String
    public var password: String
    public var trust: WebSocketClientConfiguration.Trust = .system
    public var connectTimeout: Duration = .seconds(10)
    /// A persisted session id (kept across reconnects); nil → generated once.
    public var sessid: String?
    public var userVariables: JSONObject?
    public var autoReconnect = true
    /// The first automatic reconnect waits this long (± 20 %), each further one twice as long, up
    /// to 30 s.
    public var reconnectDelay: Duration = .seconds(1)
    /// Where media sockets bind. "0.0.0.0" advertises the local address of the signalling
    /// connection's route first, then every other IPv4 interface address (host candidates); a
    /// literal address binds and advertises just that one.
    public var mediaHost = "0.0.0.0"
    public var media = PeerSessionConfiguration()
    /// With `mediaHost` "0.0.0.0": also offer the machine's global and unique-local IPv6 addresses,
    /// from a second (IPv6) socket, interleaved with the IPv4 ones per RFC 8421.
    public var offerIPv6 = true
    /// STUN and TURN servers (`stun:`, `turn:`, `turns:` URIs), resolved when `connect` is called:
    /// each TURN server gives every call a relayed candidate, gathered before the SDP is written
    /// (bounded by `media.turn.allocationTimeout`, 3 s).
    public var iceServers: [ICEServer] = []
    /// `turns:` servers' certificates are checked with `trust`, as for wss.
    /// `.relay`: calls use TURN relays only (the direct path is never tried).
    public var iceTransportPolicy: ICETransportPolicy = .all
    /// Restart ICE on its own when a call's audio stalls (`MediaEvent.pathStalled`, after
    /// `media.stallTimeout`, 2 s): the call survives a network change or a lost NAT binding.
    public var restartICEWhenStalled = true
    /// With `mediaHost` "0.0.0.0": watch the machine's addresses (every `addressWatchInterval`)
    /// and restart ICE on every active call when they change (a new network, a lost one).
    public var restartICEOnAddressChange = true
    public var addressWatchInterval: Duration = .seconds(2)
    public var callerIDName: String?
    public var callerIDNumber: String?
    /// Logs every Verto frame in and out (logger `verto.trace`, level info) with passwords, ICE
    /// passwords and keys redacted and sessids shortened.
    public var traceJSONRPC = false
    /// Test hook: sees every Verto frame as sent (`outgoing`) or received, unredacted, in order,
    /// on the client's event loop — for capturing a server's traffic and checking what it sent.
    package var frameTap: (@Sendable (_ outgoing: Bool, _ text: String) -> Void)?

    public init(url: String, login: String, password: String) {
        self.url = url
        self.login = login
        self.password = password
    }
}

/// Connection-level events of the client role.
public enum VertoClientEngineEvent: Sendable, Equatable {
    case loggedIn(sessid: String)
    case loginFailed(String)
    case disconnected(willReconnect: Bool)
    case reattached(callID: String)
    case punted
    case display(callID: String, name: String?, number: String?)
    /// The engine restarted a call's ICE on its own: `reason` is "audio stalled" or "local
    /// addresses changed".
    case iceRestart(callID: String, reason: String)
}

/// The client role: a web phone logged in to a Verto server (FreeSWITCH mod_verto, Webitel, or our
/// own `VertoEndpoint`). Signalling and every call's media run on one event loop.
public final class VertoClient: Sendable {
    /// The loop that carries this client's signalling and every call's media.
    package let eventLoop: EventLoop
    /// Connection-level events. Each access is a consumer of its own that receives every event since
    /// the client was made (the latest 1,000), then the new ones; none is dropped.
    public var events: AsyncStream<VertoClientEngineEvent> { hub.stream() }
    private let hub = EventHub<VertoClientEngineEvent>(historyLimit: 1000)
    /// Calls from the server (`verto.invite`); answer or reject them.
    public let incomingCalls: AsyncStream<Call>
    /// The client role's state, confined to `eventLoop`.
    let state: NIOLoopBoundBox<ClientState>
    /// The commands of this client's calls (sendable: they hop to `eventLoop`).
    let commands: ClientHandle

    public convenience init(options: VertoClientOptions, logger: Logger = Logger(label: "vertophone.client")) {
        self.init(options: options, group: MultiThreadedEventLoopGroup.singleton, logger: logger)
    }

    package init(options: VertoClientOptions, group: EventLoopGroup, logger: Logger) {
        _ = EngineWarmUp.done
        let loop = group.next()
        eventLoop = loop
        let (incoming, ic) = AsyncStream.makeStream(of: Call.self, bufferingPolicy: .bufferingNewest(50))
        self.incomingCalls = incoming
        let handle = ClientHandle(loop: loop, box: .makeBoxSendingValue(
            ClientState(options: options, loop: loop, events: hub, incoming: ic, logger: logger), eventLoop: loop))
        state = handle.box
        commands = handle
        // Before any other task of this client on the loop: the calls it makes get the handle.
        loop.execute { handle.box.value.commands = handle }
    }

    /// Connects and logs in; throws when the login is refused or the server is unreachable.
    public func connect(timeout: Duration = .seconds(15)) async throws {
        try await commands.connect(timeout: TimeAmount(timeout))
    }

    /// The session id in use.
    public var sessid: String { get async throws { try await eventLoop.submit { [state] in state.value.session.sessid }.get() } }

    /// Places a call. Returns once the server accepted the invite (`CALL CREATED`).
    public func call(_ destination: String, source: MediaSource = .silence, timeout: Duration = .seconds(10)) async throws -> Call {
        try await commands.call(destination, source: source, timeout: TimeAmount(timeout))
    }

    /// Closes the connection without reconnecting. Answered calls survive on the server for its
    /// detach timeout; reconnecting with the same sessid re-attaches them.
    public func disconnect() async throws { try await commands.stop() }

    /// Observes every signalling event after the engine handled it, in order, on `eventLoop`, with
    /// the engine's `Call` it concerns when there is one (looked up before and after handling, so
    /// ended calls and new inbound calls are included). For layers that derive their own events
    /// from the Verto traffic (WebitelCTI); the observer must not block.
    public func observe(_ observer: @escaping @Sendable (VertoClientEvent, Call?) -> Void) async throws {
        try await eventLoop.submit { [state] in state.value.observers.append(observer) }.get()
    }

    /// Test hook: drop the WebSocket as a network failure would (auto-reconnect follows).
    package func simulateConnectionLoss() async throws {
        try await eventLoop.submit { [state] in state.value.ws?.channel.close(promise: nil) }.get()
    }
}
