import CoreSupport
import Logging
import Metrics
import NIOCore

/// The client role (a web phone logged in to mod_verto) as a sans-IO state machine.
///
/// Inputs: `start`, `transportConnected`, `transportClosed`, `receive`, `handleTimeout` and the call
/// commands, all taking `now`. Outputs: `pollOutput()` until nil, then arm one timer for
/// `nextDeadline()`.
///
/// Behaviour (docs/verto-protocol.md): full `login` with `sessid` as the first message (§4.1); the sessid is
/// generated once and kept across reconnects (§1.6); `verto.clientReady` reconciles
/// `reattached_sessions` (§4.8); application-level `verto.ping` keepalive where any inbound frame,
/// including a `-32601` error, proves the server alive (§1.3); server requests are answered with
/// `{"method": <same>}`, never with an error (§2.1, §3.3); exponential reconnect backoff keeping the
/// sessid; `verto.punt` stops auto-reconnect (§4.10).
public struct VertoClientSession: Sendable {
    enum ConnectionState: Sendable, Equatable {
        case idle
        case connecting
        case loggingIn
        case ready
        case waitingToReconnect(at: NIODeadline)
        case punted
        case stopped
    }

    enum Pending: Sendable {
        case login
        case ping
        case invite(String)
        case answer(String)
        case attach(String)
        case bye(String)
        case modify(String, ModifyAction)
        case info(String?)
        case other
    }

    public let configuration: VertoClientConfiguration
    /// The session id sent in every request.
    public private(set) var sessid: String
    private var random: AnyRandomSource
    private var ids = JSONRPCIDAllocator()
    private var state: ConnectionState = .idle
    private var pending = PendingRequests<Pending>()
    private var outputs: [VertoClientOutput] = []
    private var outputHead = 0
    public private(set) var dialogs: [String: VertoDialog] = [:]
    private var reconnectAttempt = 0
    private var lastSent: NIODeadline?
    private var lastReceived: NIODeadline?
    private var pingDeadline: NIODeadline?
    private let logger: Logger
    private let badInput: Counter

    public init(configuration: VertoClientConfiguration, random: AnyRandomSource,
                logger: Logger = Logger(label: "VertoCore.client")) {
        self.configuration = configuration
        self.random = random
        self.logger = logger
        self.badInput = Counter(label: "verto_client_bad_input_total")
        if let s = configuration.sessid, !s.isEmpty {
            self.sessid = s
        } else {
            self.sessid = self.random.uuidString()
        }
    }

    // MARK: - State queries

    public var isLoggedIn: Bool { state == .ready }
    public var isPunted: Bool { state == .punted }
    public func dialog(_ callID: String) -> VertoDialog? { dialogs[callID] }

    // MARK: - Outputs

    public mutating func pollOutput() -> VertoClientOutput? {
        guard outputHead < outputs.count else {
            if !outputs.isEmpty {
                outputs.removeAll(keepingCapacity: true)
                outputHead = 0
            }
            return nil
        }
        defer { outputHead += 1 }
        return outputs[outputHead]
    }

    private mutating func emit(_ e: VertoClientEvent) { outputs.append(.event(e)) }

    /// The earliest time `handleTimeout` has work: reconnect, request deadlines, keepalive.
    public func nextDeadline() -> NIODeadline? {
        var candidates: [NIODeadline] = []
        if case .waitingToReconnect(let at) = state { candidates.append(at) }
        if let d = pending.nextDeadline { candidates.append(d) }
        if state == .ready {
            if let p = pingDeadline {
                candidates.append(p)
            } else if let last = lastSent {
                candidates.append(last + configuration.keepaliveInterval)
            }
        }
        return candidates.min()
    }

    // MARK: - Transport inputs

    /// Start (or restart after `stop`) connecting.
    public mutating func start(now: NIODeadline) {
        switch state {
        case .idle, .stopped, .punted, .waitingToReconnect:
            state = .connecting
            outputs.append(.connect)
        case .connecting, .loggingIn, .ready:
            break
        }
    }

    /// The WebSocket is open: send the full login first (§4.1).
    public mutating func transportConnected(now: NIODeadline) {
        guard state == .connecting else {
            logger.debug("transportConnected ignored", metadata: ["state": "\(state)"])
            return
        }
        state = .loggingIn
        lastReceived = now
        pingDeadline = nil
        let login = LoginParams(login: configuration.login, passwd: configuration.password,
                                loginParams: configuration.loginParams, userVariables: configuration.userVariables,
                                sessid: sessid)
        logger.debug("sending login", metadata: ["login": "\(login)"])
        sendRequest(.login(login), context: .login, now: now)
    }

    /// Sends `login` again on the logged-in socket: how token deployments extend `login-expires`
    /// without reconnecting (1.10.7+, §1.7). The server answers with a new result and, like after
    /// every login, `verto.clientReady`.
    public mutating func refreshLogin(now: NIODeadline) throws(VertoError) {
        try requireReady("login")
        let login = LoginParams(login: configuration.login, passwd: configuration.password,
                                loginParams: configuration.loginParams, userVariables: configuration.userVariables,
                                sessid: sessid)
        sendRequest(.login(login), context: .login, now: now)
    }

    /// The WebSocket closed or failed to open.
    public mutating func transportClosed(now: NIODeadline) {
        switch state {
        case .connecting, .loggingIn, .ready:
            connectionLost(now: now, reason: "transport closed")
        case .idle, .waitingToReconnect, .punted, .stopped:
            break
        }
    }

    /// Log out: close and do not reconnect. Calls are left to the server's detach logic.
    public mutating func stop(now: NIODeadline) {
        let wasOpen = state == .connecting || state == .loggingIn || state == .ready
        failAllPending()
        state = .stopped
        if wasOpen { outputs.append(.close) }
    }

    private mutating func connectionLost(now: NIODeadline, reason: String) {
        logger.info("connection lost", metadata: ["reason": "\(reason)"])
        failAllPending()
        pingDeadline = nil
        // Unanswered calls die with the socket (§1.6: the server ends them with 27); answered calls
        // wait for re-attach.
        for callID in dialogs.keys.sorted() {
            guard var d = dialogs[callID] else { continue }
            if d.state.isAnswered {
                d.applyIfValid(.detach)
                dialogs[callID] = d
            } else {
                endCall(callID, cause: .destinationOutOfOrder, reason: .connectionLost)
            }
        }
        if configuration.autoReconnect {
            let delay = backoffDelay()
            reconnectAttempt += 1
            let at = now + delay
            state = .waitingToReconnect(at: at)
            emit(.disconnected(reconnectAt: at))
        } else {
            state = .stopped
            emit(.disconnected(reconnectAt: nil))
        }
    }

    private mutating func backoffDelay() -> TimeAmount {
        let base = configuration.reconnectInitialDelay.nanoseconds
        let cap = configuration.reconnectMaxDelay.nanoseconds
        var delay = base
        for _ in 0..<min(reconnectAttempt, 40) {
            delay = delay > cap / 2 ? cap : delay * 2
        }
        delay = min(delay, cap)
        let jitter = max(0, min(1, configuration.reconnectJitter))
        if jitter > 0 {
            let fraction = Double.random(in: 0..<jitter, using: &random)
            delay -= Int64(Double(delay) * fraction)
        }
        return .nanoseconds(delay)
    }

    private mutating func failAllPending() {
        for e in pending.removeAll() {
            switch e.context {
            case .login, .ping: break
            default:
                emit(.requestFailed(method: e.method, callID: callID(of: e.context), error: .connectionLost(method: e.method, id: e.id)))
            }
        }
    }

    private func callID(of p: Pending) -> String? {
        switch p {
        case .invite(let c), .answer(let c), .attach(let c), .bye(let c), .modify(let c, _): return c
        case .info(let c): return c
        case .login, .ping, .other: return nil
        }
    }

    // MARK: - Timers

    public mutating func handleTimeout(now: NIODeadline) {
        if case .waitingToReconnect(let at) = state, at <= now {
            state = .connecting
            outputs.append(.connect)
        }
        for e in pending.expire(now: now) {
            let err = VertoError.requestTimedOut(method: e.method, id: e.id)
            switch e.context {
            case .login:
                logger.warning("login timed out")
                emit(.loginFailed(err))
                outputs.append(.close)
                connectionLost(now: now, reason: "login timeout")
            case .ping:
                break  // handled by pingDeadline below
            case .invite(let c):
                emit(.requestFailed(method: e.method, callID: c, error: err))
                if dialogs[c] != nil {
                    _ = send(.bye(ByeParams(dialogParams: .callOnly(c), cause: .normalTemporaryFailure)), context: .other, now: now)
                    endCall(c, cause: .normalTemporaryFailure, reason: .requestFailed(err))
                }
            default:
                emit(.requestFailed(method: e.method, callID: callID(of: e.context), error: err))
            }
        }
        guard state == .ready else { return }
        if let p = pingDeadline, p <= now {
            logger.warning("keepalive: no reply from server")
            pingDeadline = nil
            emit(.keepaliveFailed)
            outputs.append(.close)
            connectionLost(now: now, reason: "keepalive timeout")
            return
        }
        if pingDeadline == nil, let last = lastSent, last + configuration.keepaliveInterval <= now {
            sendRequest(.ping([:]), context: .ping, now: now)
            pingDeadline = now + configuration.keepaliveTimeout
        }
    }

    // MARK: - Sending

    @discardableResult
    private mutating func send(_ request: VertoClientRequest, context: Pending, now: NIODeadline) -> JSONRPCID {
        let id = ids.allocate()
        let msg = JSONRPCMessage.request(JSONRPCRequest(id: id, method: request.method.rawValue, params: request.params(sessid: sessid)))
        outputs.append(.send(msg.text))
        let timeout: TimeAmount = {
            if case .ping = context { return configuration.keepaliveTimeout }
            return configuration.requestTimeout
        }()
        pending.add(id: id, method: request.method.rawValue, deadline: now + timeout, context: context)
        lastSent = now
        return id
    }

    private mutating func sendRequest(_ request: VertoClientRequest, context: Pending, now: NIODeadline) {
        send(request, context: context, now: now)
    }

    private func requireReady(_ op: String) throws(VertoError) {
        guard state == .ready else { throw .notLoggedIn(operation: op) }
    }

    private func existingDialog(_ callID: String) throws(VertoError) -> VertoDialog {
        guard let d = dialogs[callID] else { throw .unknownCall(callID: callID) }
        return d
    }

    // MARK: - Call commands

    /// Places a call (§4.2). `dialogParams.callID` is replaced by a fresh lowercase UUID when empty.
    /// Returns the callID.
    @discardableResult
    public mutating func invite(sdp: String, dialogParams: DialogParams, now: NIODeadline) throws(VertoError) -> String {
        try requireReady("verto.invite")
        var dp = dialogParams
        if dp.callID.isEmpty { dp.callID = random.uuidString() }
        guard dialogs[dp.callID] == nil else { throw .duplicateCall(callID: dp.callID) }
        guard !sdp.isEmpty else { throw .missingField(method: VertoMethod.invite.rawValue, field: "sdp") }
        var d = VertoDialog(callID: dp.callID, direction: .clientOriginated)
        d.dialogParams = dp
        d.recoverCall = dp.recoverCall ?? true
        try d.apply(.invite)
        dialogs[dp.callID] = d
        send(.invite(CallSDPParams(sdp: sdp, dialogParams: dp)), context: .invite(dp.callID), now: now)
        return dp.callID
    }

    /// Answers a server `verto.invite` (§4.3).
    public mutating func answer(callID: String, sdp: String, calleeIDName: String? = nil, calleeIDNumber: String? = nil,
                                now: NIODeadline) throws(VertoError) {
        try requireReady("verto.answer")
        var d = try existingDialog(callID)
        guard d.direction == .serverOriginated else {
            throw .invalidTransition(callID: callID, from: d.state, event: "answer")
        }
        try d.apply(.answer)
        dialogs[callID] = d
        var dp = DialogParams.callOnly(callID)
        dp.calleeIDName = calleeIDName
        dp.calleeIDNumber = calleeIDNumber
        send(.answer(CallSDPParams(sdp: sdp, dialogParams: dp)), context: .answer(callID), now: now)
    }

    /// Answers a server re-offer (`verto.attach`) with our SDP answer (§3.2.7, §4.8).
    public mutating func attach(callID: String, sdp: String, now: NIODeadline) throws(VertoError) {
        try requireReady("verto.attach")
        let d = try existingDialog(callID)
        guard d.state == .recovering else { throw .invalidTransition(callID: callID, from: d.state, event: "attach") }
        send(.attach(CallSDPParams(sdp: sdp, dialogParams: .callOnly(callID))), context: .attach(callID), now: now)
    }

    /// Hangs up (or rejects, with `.callRejected` / `.userBusy`) a call (§3.2.4). The call ends locally
    /// at once; a `-32002 CALL DOES NOT EXIST` reply is ignored.
    public mutating func hangup(callID: String, cause: HangupCause = .normalClearing, now: NIODeadline) throws(VertoError) {
        _ = try existingDialog(callID)
        if state == .ready {
            send(.bye(ByeParams(dialogParams: .callOnly(callID), cause: cause)), context: .bye(callID), now: now)
        }
        endCall(callID, cause: cause, reason: .localHangup)
    }

    /// `verto.modify` hold / unhold / toggleHold / transfer / replace / updateMedia / videoRefresh
    /// (§3.2.5). The state is checked first: modifying an unanswered call is an invalid transition.
    public mutating func modify(callID: String, action: ModifyAction, destination: String? = nil,
                                replaceCallID: String? = nil, sdp: String? = nil, now: NIODeadline) throws(VertoError) {
        try requireReady("verto.modify")
        let d = try existingDialog(callID)
        let event: DialogEvent
        switch action {
        case .hold: event = .hold
        case .unhold: event = .unhold
        case .toggleHold: event = .toggleHold
        default: event = .modify(action.rawValue)
        }
        _ = try DialogStateMachine.transition(from: d.state, on: event, callID: callID)
        if d.state == .recovering { throw .invalidTransition(callID: callID, from: d.state, event: action.rawValue) }
        let m = VertoMethod.modify.rawValue
        switch action {
        case .transfer where (destination ?? "").isEmpty: throw .missingField(method: m, field: "destination")
        case .replace where (replaceCallID ?? "").isEmpty: throw .missingField(method: m, field: "replaceCallID")
        case .updateMedia where (sdp ?? "").isEmpty: throw .missingField(method: m, field: "sdp")
        default: break
        }
        let p = ModifyParams(action: action, dialogParams: .callOnly(callID), destination: destination,
                             replaceCallID: replaceCallID, sdp: sdp)
        send(.modify(p), context: .modify(callID, action), now: now)
    }

    public mutating func hold(callID: String, now: NIODeadline) throws(VertoError) { try modify(callID: callID, action: .hold, now: now) }
    public mutating func unhold(callID: String, now: NIODeadline) throws(VertoError) { try modify(callID: callID, action: .unhold, now: now) }
    public mutating func transfer(callID: String, to destination: String, now: NIODeadline) throws(VertoError) {
        try modify(callID: callID, action: .transfer, destination: destination, now: now)
    }
    /// Attended transfer: bridge the partner of `callID` with the partner of `otherCallID` (§4.7).
    public mutating func replace(callID: String, with otherCallID: String, now: NIODeadline) throws(VertoError) {
        try modify(callID: callID, action: .replace, replaceCallID: otherCallID, now: now)
    }

    /// DTMF as `verto.info` (§4.5).
    public mutating func sendDTMF(callID: String, digits: String, now: NIODeadline) throws(VertoError) {
        try requireReady("verto.info")
        let d = try existingDialog(callID)
        guard d.state.isLive, d.state != .new else { throw .invalidTransition(callID: callID, from: d.state, event: "dtmf") }
        guard InfoParams.isValidDTMF(digits) else {
            throw .wrongType(method: VertoMethod.info.rawValue, field: "dtmf", expected: "digits 0-9*#A-D")
        }
        send(.info(InfoParams(dialogParams: .callOnly(callID), dtmf: digits)), context: .info(callID), now: now)
    }

    /// Chat message (`verto.info` msg, §3.2.6), in-dialog when `callID` is given.
    public mutating func sendMessage(to: String, body: String, callID: String? = nil, now: NIODeadline) throws(VertoError) {
        try requireReady("verto.info")
        var msg: JSONObject = ["to": .string(to), "body": .string(body)]
        if callID != nil { msg["inDialog"] = true }
        send(.info(InfoParams(dialogParams: callID.map { .callOnly($0) }, msg: msg)), context: .info(callID), now: now)
    }

    /// Any other request (subscribe, broadcast, echo, …); the reply comes back as `.reply` or
    /// `.requestFailed`. Returns the id.
    @discardableResult
    public mutating func sendRequest(_ request: VertoClientRequest, now: NIODeadline) throws(VertoError) -> JSONRPCID {
        try requireReady(request.method.rawValue)
        return send(request, context: .other, now: now)
    }

    private mutating func endCall(_ callID: String, cause: HangupCause, reason: CallEndReason) {
        guard var d = dialogs[callID] else { return }
        if d.state.isLive { d.applyIfValid(.hangup(cause)) }
        d.applyIfValid(.destroy)
        dialogs[callID] = nil
        emit(.callEnded(callID: callID, cause: cause, reason: reason))
    }
}

// MARK: - Inbound

extension VertoClientSession {
    /// One inbound text frame.
    public mutating func receive(_ text: String, now: NIODeadline) {
        guard state == .loggingIn || state == .ready else {
            logger.debug("frame ignored: not connected")
            return
        }
        lastReceived = now
        // Any inbound frame proves the server alive (§1.3).
        pingDeadline = nil
        switch JSONRPC.decode(text, maxBytes: configuration.maxMessageBytes) {
        case .failure(let f):
            bad(f.error)
        case .success(.single(let m)):
            handle(m, now: now)
        case .success(.batch(let items)):
            for item in items {
                switch item {
                case .success(let m): handle(m, now: now)
                case .failure(let f): bad(f.error)
                }
            }
        }
    }

    private mutating func bad(_ error: VertoError) {
        badInput.increment()
        logger.warning("bad input from server", metadata: ["error": "\(error)"])
        emit(.protocolError(error))
    }

    private mutating func handle(_ message: JSONRPCMessage, now: NIODeadline) {
        switch message {
        case .request(let r): handleServerRequest(r, now: now)
        case .result(let id, let result): handleReply(id: id, result: .success(result), now: now)
        case .error(let id, let e): handleReply(id: id, result: .failure(e), now: now)
        }
    }

    private mutating func handleServerRequest(_ r: JSONRPCRequest, now: NIODeadline) {
        // Acknowledge with a result, never an error (§2.1: FreeSWITCH would answer an error object
        // with -32601). Like verto.js: {"method": <same>} for truthy ids, and no reply at all to
        // verto.clientReady, verto.event and verto.punt (§3.3, docs/testing.md browser item 3).
        let silent: Set<String> = [VertoMethod.clientReady.rawValue, VertoMethod.event.rawValue, VertoMethod.punt.rawValue]
        if let id = r.id, id.isTruthy, !silent.contains(r.method) {
            outputs.append(.send(JSONRPCMessage.result(id: id, result: ["method": .string(r.method)]).text))
            lastSent = now
        }
        let request: VertoServerRequest
        do {
            request = try VertoServerRequest.decode(method: r.method, params: r.params)
        } catch {
            bad(error)
            return
        }
        switch request {
        case .invite(let offer):
            guard dialogs[offer.callID] == nil else {
                bad(.duplicateCall(callID: offer.callID))
                return
            }
            var d = VertoDialog(callID: offer.callID, direction: .serverOriginated)
            d.callInfo = offer
            d.applyIfValid(.invite)
            d.applyIfValid(.ringing)
            dialogs[offer.callID] = d
            emit(.incomingCall(offer))
        case .attach(let offer):
            var d = dialogs[offer.callID] ?? VertoDialog(callID: offer.callID, direction: .serverOriginated)
            if d.state == .new {
                // Unknown locally (e.g. the app restarted with a persisted sessid): adopt it.
                d.applyIfValid(.invite)
                d.applyIfValid(.answer)
                d.applyIfValid(.detach)
            } else if d.state != .recovering {
                d.applyIfValid(.detach)
            }
            d.callInfo = offer
            dialogs[offer.callID] = d
            emit(.reattachOffer(offer))
        case .media(let m):
            guard var d = dialogs[m.callID] else { return bad(.unknownCall(callID: m.callID)) }
            do {
                try d.apply(.earlyMedia)
            } catch {
                return bad(error)
            }
            d.earlySDPSent = true
            dialogs[m.callID] = d
            emit(.earlyMedia(callID: m.callID, sdp: m.sdp ?? ""))
        case .answer(let m):
            guard var d = dialogs[m.callID] else { return bad(.unknownCall(callID: m.callID)) }
            do {
                try d.apply(.answer)
            } catch {
                return bad(error)
            }
            dialogs[m.callID] = d
            emit(.answered(callID: m.callID, sdp: m.sdp))
        case .bye(let b):
            guard dialogs[b.callID] != nil else {
                logger.debug("verto.bye for an unknown call")
                return
            }
            endCall(b.callID, cause: b.cause, reason: .remoteHangup)
        case .display(let d):
            if var dlg = dialogs[d.callID] {
                dlg.lastDisplay = d
                dialogs[d.callID] = dlg
            }
            emit(.display(d))
        case .info(let o): emit(.info(o))
        case .event(let o): emit(.vertoEvent(o))
        case .announce(let o): emit(.announce(o))
        case .prompt(let p): emit(.prompt(p))
        case .mediaParams(let c, let mp): emit(.mediaParams(callID: c, mediaParams: mp))
        case .ping: break
        case .punt: punted(now: now)
        case .clientReady(let listed): clientReady(listed)
        }
    }

    private mutating func punted(now: NIODeadline) {
        logger.notice("punted: another connection took over this sessid")
        failAllPending()
        for callID in dialogs.keys.sorted() { endCall(callID, cause: .normalClearing, reason: .punted) }
        state = .punted
        pingDeadline = nil
        emit(.punted)
        outputs.append(.close)
    }

    /// §4.8: local calls waiting for re-attach that the server did not list are gone. ≤ 1.10.6 lists
    /// the sessid once per call instead of callIDs: then every waiting call counts as listed.
    private mutating func clientReady(_ listed: [String]) {
        let legacy = listed.contains(sessid)
        var ended: [String] = []
        for callID in dialogs.keys.sorted() where dialogs[callID]?.state == .recovering {
            if !legacy, !listed.contains(callID) {
                ended.append(callID)
                endCall(callID, cause: .recoveryOnTimerExpire, reason: .notReattached)
            }
        }
        emit(.ready(reattachedCalls: listed.filter { $0 != sessid }, endedCalls: ended))
    }

    private mutating func handleReply(id: JSONRPCID, result: Result<JSONValue, JSONRPCErrorObject>, now: NIODeadline) {
        guard let entry = pending.complete(id) else {
            logger.debug("reply to an unknown request id", metadata: ["id": "\(id)"])
            return
        }
        let obj = (try? result.get())?.objectValue ?? [:]
        let error: VertoError? = {
            guard case .failure(let e) = result else { return nil }
            return .remoteError(method: entry.method, code: e.code, message: e.message, data: e.data)
        }()
        switch entry.context {
        case .login:
            if let error {
                let code: Int
                if case .failure(let e) = result, let c = e.code { code = c } else { code = VertoErrorCode.authFailed }
                let msg: String
                if case .failure(let e) = result { msg = e.message } else { msg = "" }
                logger.warning("login refused", metadata: ["error": "\(error)"])
                emit(.loginFailed(.authenticationFailed(code: code, message: msg)))
                state = .stopped
                outputs.append(.close)
                failAllPending()
                return
            }
            if let s = obj.string("sessid"), !s.isEmpty, s != sessid { sessid = s }
            state = .ready
            reconnectAttempt = 0
            emit(.loggedIn(sessid: sessid, result: obj))
        case .ping:
            break  // any reply, even -32601 (≤ 1.10.6), is proof of life
        case .invite(let c):
            if let error {
                if dialogs[c] != nil {
                    var cause = HangupCause.normalTemporaryFailure
                    if case .failure(let e) = result { cause = HangupCause.fromRemote(cause: e.data["cause"], causeCode: e.data["causeCode"]) }
                    emit(.requestFailed(method: entry.method, callID: c, error: error))
                    endCall(c, cause: cause, reason: .requestFailed(error))
                }
                return
            }
            if var d = dialogs[c], d.state == .trying {
                d.applyIfValid(.ringing)
                dialogs[c] = d
            }
            emit(.callCreated(callID: c))
        case .answer(let c):
            if let error {
                emit(.requestFailed(method: entry.method, callID: c, error: error))
                endCall(c, cause: .normalTemporaryFailure, reason: .requestFailed(error))
                return
            }
            if dialogs[c] != nil { emit(.answered(callID: c, sdp: nil)) }
        case .attach(let c):
            if let error {
                emit(.requestFailed(method: entry.method, callID: c, error: error))
                endCall(c, cause: .bearerCapabilityNotAvail, reason: .requestFailed(error))
                return
            }
            if var d = dialogs[c], d.state == .recovering {
                d.applyIfValid(.reattach)
                dialogs[c] = d
                emit(.reattached(callID: c))
            }
        case .bye:
            break  // -32002 CALL DOES NOT EXIST after a remote bye is expected (§4.9)
        case .modify(let c, let action):
            // Replies to modify are advisory for transfers (§4.7): report, keep the call.
            if let error {
                emit(.requestFailed(method: entry.method, callID: c, error: error))
                return
            }
            if let hs = obj.string("holdState").flatMap(HoldState.init(rawValue:)), var d = dialogs[c] {
                let before = d.state
                d.applyIfValid(hs == .held ? .hold : .unhold)
                dialogs[c] = d
                if before != d.state || action == .hold || action == .unhold || action == .toggleHold {
                    emit(.holdStateChanged(callID: c, state: hs))
                }
            }
            if action != .hold, action != .unhold, action != .toggleHold {
                emit(.modifyResult(callID: c, action: action, result: obj))
            }
        case .info(let c):
            if let error {
                emit(.requestFailed(method: entry.method, callID: c, error: error))
            } else {
                emit(.reply(method: entry.method, id: id, result: .object(obj)))
            }
        case .other:
            if let error {
                emit(.requestFailed(method: entry.method, callID: nil, error: error))
            } else {
                emit(.reply(method: entry.method, id: id, result: (try? result.get()) ?? .null))
            }
        }
    }
}
