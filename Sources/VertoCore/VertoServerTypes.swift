import CoreSupport
import NIOCore

/// One WebSocket connection of the server role, allocated by `VertoServerCore.connectionOpened`.
public struct VertoConnectionID: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let rawValue: UInt64
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }
    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
    public var description: String { "conn#\(rawValue)" }
}

/// Configuration of the server role (the port-5066 endpoint, docs/verto-protocol.md §1, docs/testing.md).
public struct VertoServerConfiguration: Sendable {
    /// Answered calls survive a dropped socket this long (mod_verto `detach-timeout-sec`, default 120 s, §1.6).
    public var detachTimeout: TimeAmount = .seconds(120)
    /// `verto.ping` after this much client silence (§1.3: 30 s).
    public var idlePingInterval: TimeAmount = .seconds(30)
    /// Frames above this size are refused (§1.4: libks `payload_size_max`).
    public var maxMessageBytes: Int = 1_000_000
    /// Added to `now` (seconds) to form the `serno` of server pings; a shell sets it to unix time
    /// minus uptime once, so `serno` is unix time like mod_verto's. The core never reads a clock.
    public var sernoEpochOffset: Int64 = 0
    /// A connection that has not logged in this long after it opened is closed (verto.js logs in
    /// at once; an idle socket must not hold a slot).
    public var loginTimeout: TimeAmount = .seconds(10)
    /// Connections not logged in yet, at most; one more closes the oldest of them (a real client
    /// logs in within milliseconds, so it is rarely the oldest; a flood cannot lock users out).
    public var maxUnauthenticatedConnections: Int = 256
    /// Frames above this size before a successful login are refused and the connection closed
    /// (a login is a few hundred bytes).
    public var maxMessageBytesBeforeLogin: Int = 8192
    /// Requests in one JSON-RPC batch; a larger batch is refused as a whole.
    public var maxBatchRequests: Int = 64
    /// Calls one session (sessid) may hold at once, live or detached; a `verto.invite` over it is
    /// refused with `-32002` and cause CALL_REJECTED, an originate toward it throws.
    public var maxCallsPerSession: Int = 32
    /// Calls the server holds at once, all sessions together; the same refusal over it.
    public var maxCalls: Int = 10_000

    public init() {}
}

/// An authenticated user as the application's authenticator describes it (§2.4).
public struct VertoUser: Sendable, Equatable {
    /// The user id (`login` before `@`).
    public var id: String
    /// `jsonrpc-allowed-methods`: a name or a prefix family (`verto` grants every `verto.*`). `login`
    /// is always allowed. `echo`, `jsapi`, `fsapi` need explicit grants.
    public var allowedMethods: [String]
    /// `jsonrpc-allowed-event-channels` (prefix before the first `.` counts).
    public var allowedEventChannels: [String]
    /// Extra members of the login result (`auth-expires`, `moderator`, `stereoAudio`, `superuser`).
    public var loginResultExtras: JSONObject

    public init(id: String, allowedMethods: [String] = ["verto"], allowedEventChannels: [String] = [],
                loginResultExtras: JSONObject = [:]) {
        self.id = id
        self.allowedMethods = allowedMethods
        self.allowedEventChannels = allowedEventChannels
        self.loginResultExtras = loginResultExtras
    }

    public func permits(method: String) -> Bool {
        if method == VertoMethod.login.rawValue { return true }
        return allowedMethods.contains { method == $0 || method.hasPrefix($0 + ".") }
    }

    public func permits(eventChannel: String) -> Bool {
        let prefix = eventChannel.split(separator: ".", maxSplits: 1).first.map(String.init) ?? eventChannel
        return allowedEventChannels.contains { $0 == eventChannel || $0 == prefix }
    }
}

/// A `login` with credentials, waiting for the application's decision (`completeLogin`).
public struct LoginRequest: Sendable, Equatable, CustomStringConvertible {
    public let connection: VertoConnectionID
    public let requestID: JSONRPCID
    /// The credentials (the password is redacted from `description`).
    public let params: LoginParams

    public var description: String { "LoginRequest(\(connection), \(params))" }
}

/// The application's verdict on a `LoginRequest`.
public enum LoginDecision: Sendable, Equatable {
    case accept(VertoUser)
    /// Answered with `-32001` and this message (mod_verto: "Authentication Failure", "Login Incorrect").
    case reject(message: String)
}

/// A `verto.modify` (transfer / replace / updateMedia) the application must carry out and answer with
/// `completeModify`.
public struct ModifyRequest: Sendable, Equatable {
    public let connection: VertoConnectionID
    public let requestID: JSONRPCID
    public let params: ModifyParams

    public init(connection: VertoConnectionID, requestID: JSONRPCID, params: ModifyParams) {
        self.connection = connection
        self.requestID = requestID
        self.params = params
    }
}

/// Why a server-side call ended.
public enum ServerCallEndReason: Sendable, Equatable {
    /// The client sent `verto.bye`.
    case clientHangup
    /// The application hung up (`hangup(callID:)`).
    case applicationHangup
    /// The socket dropped before the call was answered (27), or with `recoverCall: false` (16).
    case disconnected
    /// Detached longer than `detachTimeout` (RECOVERY_ON_TIMER_EXPIRE).
    case detachTimeout
    /// The client's `verto.answer`/`verto.attach` was refused.
    case failed(VertoError)
}

/// What the server core tells the application.
public enum VertoServerEvent: Sendable, Equatable {
    /// Credentials to check; answer with `completeLogin(_:decision:now:)`.
    case authenticate(LoginRequest)
    case loggedIn(connection: VertoConnectionID, sessid: String, user: String)
    /// An older connection with the same sessid was punted and closed (§1.6).
    case punted(connection: VertoConnectionID, sessid: String)
    case connectionClosed(connection: VertoConnectionID, sessid: String?)
    /// A client placed a call; `CALL CREATED` was already queued. Continue with `earlyMedia`,
    /// `answer` or `hangup`.
    case incomingCall(connection: VertoConnectionID, sessid: String, params: CallSDPParams)
    /// The client answered a call the application originated.
    case callAnswered(callID: String, sdp: String, dialogParams: DialogParams)
    case callEnded(callID: String, cause: HangupCause, reason: ServerCallEndReason)
    /// The socket dropped; the answered call waits `detachTimeout` for the sessid to return.
    case callDetached(callID: String, sessid: String)
    /// The sessid logged in again: supply a fresh offer with `reattach(callID:sdp:now:)` (or hang up).
    /// `verto.clientReady` is sent once every detached call has been re-offered or hung up.
    case reattachNeeded(callID: String, connection: VertoConnectionID)
    /// The client's `verto.attach` carried its SDP answer for the re-offer.
    case callReattached(callID: String, sdp: String)
    case holdChanged(callID: String, state: HoldState)
    /// transfer / replace / updateMedia: answer with `completeModify`.
    case modifyRequested(ModifyRequest)
    case videoRefresh(callID: String)
    case dtmf(callID: String, digits: String)
    /// `verto.info` other than DTMF (chat `msg`, `txt`, `command`, `mediaSettings`).
    case info(connection: VertoConnectionID, params: InfoParams)
    case broadcast(connection: VertoConnectionID, params: JSONObject)
    /// Bad input on a connection: counted, logged, and answered with a JSON-RPC error when possible.
    case badInput(connection: VertoConnectionID, error: VertoError)
}

/// What the shell must do, polled with `pollOutput()`.
public enum VertoServerOutput: Sendable, Equatable {
    case send(VertoConnectionID, String)
    case close(VertoConnectionID)
    case event(VertoServerEvent)
}

/// Another name for the server role's core: one `VertoServerCore` holds every connection's session.
public typealias VertoServerSession = VertoServerCore
