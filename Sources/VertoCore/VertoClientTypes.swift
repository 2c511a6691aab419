import NIOCore

/// Configuration of the client role (docs/verto-protocol.md §9 "Transport/session").
public struct VertoClientConfiguration: Sendable {
    /// `user@domain` or `user` (§3.2.1).
    public var login: String
    /// Never logged.
    public var password: String
    /// Extra directory lookup params (token auth via xml_curl).
    public var loginParams: JSONObject?
    /// Stored on the connection, copied onto every call (§3.2.1).
    public var userVariables: JSONObject?
    /// A persisted session id; `nil` → one is generated once from the injected random source and kept
    /// for the lifetime of the session (across reconnects, §1.6).
    public var sessid: String?
    /// The client sends `verto.ping` when it has sent nothing for this long (keep below proxy idle
    /// timeouts and below the server's 30 s silence ping, §1.3).
    public var keepaliveInterval: TimeAmount = .seconds(20)
    /// No inbound traffic this long after a keepalive ping → the connection is considered dead.
    public var keepaliveTimeout: TimeAmount = .seconds(10)
    /// Deadline of every other request.
    public var requestTimeout: TimeAmount = .seconds(15)
    /// Exponential reconnect backoff: first delay, cap, and the fraction of random reduction (0 = none).
    public var reconnectInitialDelay: TimeAmount = .seconds(1)
    public var reconnectMaxDelay: TimeAmount = .seconds(30)
    public var reconnectJitter: Double = 0.2
    /// Reconnect automatically after a lost connection (never after a punt or a refused login).
    public var autoReconnect: Bool = true
    /// Inbound frames larger than this are dropped (§1.4).
    public var maxMessageBytes: Int = 1_000_000

    public init(login: String, password: String, loginParams: JSONObject? = nil, userVariables: JSONObject? = nil,
                sessid: String? = nil) {
        self.login = login
        self.password = password
        self.loginParams = loginParams
        self.userVariables = userVariables
        self.sessid = sessid
    }
}

/// Why a call ended, from the client's point of view.
public enum CallEndReason: Sendable, Equatable {
    /// The server sent `verto.bye`.
    case remoteHangup
    /// The application hung up.
    case localHangup
    /// Unanswered when the connection dropped (the server ends those with 27, §1.6).
    case connectionLost
    /// Not listed in `reattached_sessions` after a re-login (§4.8).
    case notReattached
    /// The sessid was taken over by another connection (§4.10).
    case punted
    /// A request for the call failed or timed out.
    case requestFailed(VertoError)
}

/// What the client session tells the application.
public enum VertoClientEvent: Sendable, Equatable {
    /// Login accepted; `sessid` is the one in use (the server's, if it returned a different one).
    case loggedIn(sessid: String, result: JSONObject)
    /// Login refused (-32000/-32001) or timed out. Refusals stop auto-reconnect.
    case loginFailed(VertoError)
    /// `verto.clientReady`: the calls re-offered, and the local calls ended because they were not.
    case ready(reattachedCalls: [String], endedCalls: [String])
    /// A new call from the server (`verto.invite`); answer with `answer(callID:sdp:now:)`.
    case incomingCall(CallOffer)
    /// A fresh server offer for an existing call after reconnect (`verto.attach`); answer with
    /// `attach(callID:sdp:now:)`.
    case reattachOffer(CallOffer)
    /// The call was re-attached (the server accepted our `verto.attach`).
    case reattached(callID: String)
    /// `CALL CREATED` for our `verto.invite`.
    case callCreated(callID: String)
    /// `verto.media`: early-media SDP answer.
    case earlyMedia(callID: String, sdp: String)
    /// `verto.answer` from the server (SDP only if no `verto.media` carried it), or our own answer accepted.
    case answered(callID: String, sdp: String?)
    case callEnded(callID: String, cause: HangupCause, reason: CallEndReason)
    case holdStateChanged(callID: String, state: HoldState)
    /// Result of transfer / replace / updateMedia (with the server's `sdp`) / videoRefresh.
    case modifyResult(callID: String, action: ModifyAction, result: JSONObject)
    case display(DisplayParams)
    case info(JSONObject)
    case vertoEvent(JSONObject)
    case announce(JSONObject)
    case prompt(PromptParams)
    case mediaParams(callID: String?, mediaParams: JSONObject)
    /// The reply to a request sent with `sendRequest` / subscribe / info etc.
    case reply(method: String, id: JSONRPCID, result: JSONValue)
    /// A request failed: error reply, timeout, or connection loss.
    case requestFailed(method: String, callID: String?, error: VertoError)
    /// No sign of life within the keepalive deadline; the connection is being closed.
    case keepaliveFailed
    /// The connection is gone; `reconnectAt` is when the next attempt starts (nil: none).
    case disconnected(reconnectAt: NIODeadline?)
    /// `verto.punt`: another connection took over this sessid; auto-reconnect is off (§4.10).
    case punted
    /// Bad inbound input (counted and logged); the session carries on.
    case protocolError(VertoError)
}

/// What the shell must do, polled with `pollOutput()`.
public enum VertoClientOutput: Sendable, Equatable {
    /// Open the WebSocket, then call `transportConnected(now:)` (or `transportClosed(now:)` on failure).
    case connect
    /// Write one text frame.
    case send(String)
    /// Close the WebSocket (the session already treats it as closed).
    case close
    case event(VertoClientEvent)
}
