import CoreSupport
import HeapModule
import Logging
import Metrics
import NIOCore

/// The server role (the port-5066 endpoint, compatible with verto.js) as one sans-IO core owning every
/// connection, the sessid registry and the call registry.
///
/// Inputs: `connectionOpened`, `receive`, `connectionClosed`, `handleTimeout`, the `complete…`
/// answers to deferred requests, and the application's call commands, all taking `now`.
/// Outputs: `pollOutput()` until nil (`.send(conn, text)`, `.close(conn)`, `.event`), then arm one
/// timer for `nextDeadline()`.
///
/// Authentication is asynchronous and pluggable: a credentialed `login` produces
/// `.event(.authenticate(LoginRequest))`; the application decides (directory, token, anything) and
/// calls `completeLogin(_:decision:now:)`. Nothing is sent on that connection's behalf until then.
public struct VertoServerCore: Sendable {
    enum AuthState: Sendable, Equatable {
        case anonymous
        case authenticating(JSONRPCID)
        case authenticated(VertoUser)
    }

    struct Connection: Sendable {
        let id: VertoConnectionID
        var auth: AuthState = .anonymous
        /// Bound once, at the first successful login (current mod_verto master, §1.6).
        var sessid: String?
        var lastInbound: NIODeadline
        var nextPing: NIODeadline
        /// When it opened: the login deadline and eviction order of connections not logged in.
        var openedAt: NIODeadline
        /// Frames that arrived while the login was being decided, handled once it is (in order, as
        /// mod_verto, which decides a login before it reads the next frame).
        var held: [String] = []
        /// Bad inputs seen on this connection (only the first few are logged).
        var badInputs = 0
        /// Detached calls waiting for the application's fresh offer before `verto.clientReady`.
        var awaitingOffers: [String] = []
        /// Calls re-offered during this login, listed in `verto.clientReady`.
        var reoffered: [String] = []
        var clientReadyPending = false
        var subscriptions: Set<String> = []
    }

    struct Call: Sendable {
        var dialog: VertoDialog
        var sessid: String
        var detachDeadline: NIODeadline?
        var reoffered = false
    }

    public let configuration: VertoServerConfiguration
    private var random: AnyRandomSource
    private var nextConnection: UInt64 = 1
    /// One counter for every server-originated request of the process, from 1 (§2.1 `next_id`).
    private var ids = JSONRPCIDAllocator()
    private var connections: [VertoConnectionID: Connection] = [:]
    /// Connections not logged in (yet): their number is capped.
    private var unauthenticated: Set<VertoConnectionID> = []
    /// The calls of each session (sessid).
    private var callsOfSession: [String: Set<String>] = [:]
    /// Timed work, earliest first (`handleTimeout`), and the earliest entry each key has in it.
    private var timers = Heap<TimerEntry>()
    private var scheduled: [TimerKey: NIODeadline] = [:]
    /// sessid → the connection currently bound to it.
    private var sessions: [String: VertoConnectionID] = [:]
    /// sessid → the user it was first logged in as, for as long as it has a connection or a call
    /// (detached calls included): a sessid never changes hands between users.
    private var sessionOwners: [String: String] = [:]
    private var calls: [String: Call] = [:]
    /// Live calls per sessid (connected or detached), for the per-session cap and owner release.
    private var callCounts: [String: Int] = [:]
    private var outputs: [VertoServerOutput] = []
    private var outputHead = 0
    private let logger: Logger
    private let badInput: Counter

    public init(configuration: VertoServerConfiguration = VertoServerConfiguration(), random: AnyRandomSource,
                logger: Logger = Logger(label: "VertoCore.server")) {
        self.configuration = configuration
        self.random = random
        self.logger = logger
        self.badInput = Counter(label: "verto_server_bad_input_total")
    }

    // MARK: - Queries

    public func dialog(_ callID: String) -> VertoDialog? { calls[callID]?.dialog }
    public func sessid(of connection: VertoConnectionID) -> String? { connections[connection]?.sessid }
    public func connection(forSessid sessid: String) -> VertoConnectionID? { sessions[sessid] }
    public var openConnections: [VertoConnectionID] { connections.keys.sorted() }
    public func isAuthenticated(_ connection: VertoConnectionID) -> Bool {
        if case .authenticated = connections[connection]?.auth { return true }
        return false
    }

    // MARK: - Outputs

    public mutating func pollOutput() -> VertoServerOutput? {
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

    mutating func emit(_ e: VertoServerEvent) { outputs.append(.event(e)) }

    mutating func send(_ connection: VertoConnectionID, _ message: JSONRPCMessage) {
        outputs.append(.send(connection, message.text))
    }

    mutating func sendRaw(_ connection: VertoConnectionID, _ text: String) {
        outputs.append(.send(connection, text))
    }

    /// A server-originated request: integer id from the shared counter, always a params object.
    mutating func sendRequest(_ connection: VertoConnectionID, _ request: VertoServerRequest) {
        let id = ids.allocate()
        send(connection, .request(JSONRPCRequest(id: id, method: request.method.rawValue, params: request.params)))
    }

    public func nextDeadline() -> NIODeadline? {
        timers.min?.at
    }

    /// The deadline of a connection (its login timeout, or once logged in its next idle ping) or of
    /// a detached call (its expiry); nil when it is gone or has none.
    private func deadline(of key: TimerKey) -> NIODeadline? {
        switch key {
        case .call(let callID):
            return calls[callID]?.detachDeadline
        case .connection(let raw):
            guard let c = connections[VertoConnectionID(raw)] else { return nil }
            return isAuthed(c) ? c.nextPing : c.openedAt + configuration.loginTimeout
        }
    }

    /// Makes sure the timer fires by `at` for `key`: an entry is added unless one as early exists.
    mutating func schedule(_ key: TimerKey, at: NIODeadline) {
        if let s = scheduled[key], s <= at { return }
        scheduled[key] = at
        timers.insert(TimerEntry(at: at, key: key))
    }

    mutating func scheduleConnection(_ id: VertoConnectionID) {
        if let d = deadline(of: .connection(id.rawValue)) { schedule(.connection(id.rawValue), at: d) }
    }

    /// Keeps the earliest entry exact, so `nextDeadline()` is the real next deadline: an entry of a
    /// key that is gone, or whose deadline moved later (a connection that sent a frame), is taken
    /// off the top (and put back at the real deadline). Entries below the top may stay stale; they
    /// are only lower bounds, settled when they reach the top. O(log n) per entry settled.
    private mutating func settleTimers() {
        while let top = timers.min {
            if scheduled[top.key] != top.at {
                _ = timers.removeMin()  // superseded by an earlier entry for the same key
                continue
            }
            let real = deadline(of: top.key)
            if real == top.at { return }
            _ = timers.removeMin()
            scheduled[top.key] = nil
            if let real { schedule(top.key, at: real) }
        }
    }

    private func isAuthed(_ c: Connection) -> Bool {
        if case .authenticated = c.auth { return true }
        return false
    }

    // MARK: - Connections

    /// A new WebSocket connection was accepted.
    public mutating func connectionOpened(now: NIODeadline) -> VertoConnectionID {
        let id = VertoConnectionID(nextConnection)
        nextConnection += 1
        setConnection(Connection(id: id, lastInbound: now, nextPing: now + configuration.idlePingInterval, openedAt: now))
        if unauthenticated.count > configuration.maxUnauthenticatedConnections,
           let oldest = unauthenticated.compactMap({ connections[$0] })
               .min(by: { ($0.openedAt, $0.id.rawValue) < ($1.openedAt, $1.id.rawValue) }) {
            logger.notice("too many connections without login: closing the oldest", metadata: ["connection": "\(oldest.id)"])
            noteBadInput(oldest.id, .tooManyConnections(limit: configuration.maxUnauthenticatedConnections))
            disconnect(oldest.id, now: now)
        }
        return id
    }

    /// The socket closed (close frame, error, or after our `.close`). Idempotent.
    public mutating func connectionClosed(_ connection: VertoConnectionID, now: NIODeadline) {
        guard let c = connections.removeValue(forKey: connection) else { return }
        unauthenticated.remove(connection)
        defer { settleTimers() }
        if let s = c.sessid, sessions[s] == connection {
            sessions[s] = nil
            detachCalls(sessid: s, now: now)
            releaseOwnerIfUnused(s)
        }
        emit(.connectionClosed(connection: connection, sessid: c.sessid))
    }

    /// Closes a connection from the application's side (the `.close` output is emitted).
    public mutating func disconnect(_ connection: VertoConnectionID, now: NIODeadline) {
        guard connections[connection] != nil else { return }
        outputs.append(.close(connection))
        connectionClosed(connection, now: now)
    }

    /// mod_verto `detach_calls` (§1.6): unanswered calls end with DESTINATION_OUT_OF_ORDER (27),
    /// `recoverCall:false` calls with NORMAL_CLEARING (16), answered calls are detached.
    private mutating func detachCalls(sessid: String, now: NIODeadline) {
        for callID in (callsOfSession[sessid] ?? []).sorted() {
            guard var call = calls[callID], call.sessid == sessid, call.dialog.state.isLive else { continue }
            if !call.dialog.state.isAnswered {
                endCall(callID, cause: .destinationOutOfOrder, reason: .disconnected, notify: false)
            } else if !call.dialog.recoverCall {
                endCall(callID, cause: .normalClearing, reason: .disconnected, notify: false)
            } else {
                call.dialog.applyIfValid(.detach)
                call.detachDeadline = now + configuration.detachTimeout
                call.reoffered = false
                setCall(callID, call)
                emit(.callDetached(callID: callID, sessid: sessid))
            }
        }
    }

    /// Ends a call: optionally sends `verto.bye` to its connection, then emits `.callEnded`.
    mutating func endCall(_ callID: String, cause: HangupCause, reason: ServerCallEndReason, notify: Bool) {
        guard var call = calls[callID] else { return }
        setCall(callID, nil)
        if notify, call.dialog.state != .recovering, let conn = sessions[call.sessid] {
            sendRequest(conn, .bye(ServerByeParams(callID: callID, cause: cause)))
        }
        call.dialog.applyIfValid(.hangup(cause))
        call.dialog.applyIfValid(.destroy)
        // A call hung up while its re-offer was awaited no longer holds up clientReady.
        if let conn = sessions[call.sessid], var c = connections[conn], let i = c.awaitingOffers.firstIndex(of: callID) {
            c.awaitingOffers.remove(at: i)
            setConnection(c)
            maybeSendClientReady(conn)
        }
        emit(.callEnded(callID: callID, cause: cause, reason: reason))
        releaseOwnerIfUnused(call.sessid)
    }

    /// Forgets a sessid's user once no connection and no call uses it.
    private mutating func releaseOwnerIfUnused(_ sessid: String) {
        guard sessionOwners[sessid] != nil, sessions[sessid] == nil, callCounts[sessid] == nil else { return }
        sessionOwners[sessid] = nil
    }

    // MARK: - Timers

    public mutating func handleTimeout(now: NIODeadline) {
        // What is due: the top is settled (exact) before each look, so every entry taken is due.
        var dueCalls: [String] = [], dueConnections: [VertoConnectionID] = []
        settleTimers()
        while let top = timers.min, top.at <= now {
            _ = timers.removeMin()
            scheduled[top.key] = nil
            settleTimers()
            switch top.key {
            case .call(let callID): dueCalls.append(callID)
            case .connection(let raw): dueConnections.append(VertoConnectionID(raw))
            }
        }
        dueConnections.sort()
        for callID in dueCalls.sorted() {
            if let d = calls[callID]?.detachDeadline, d <= now {
                logger.info("detached call expired", metadata: ["callID": "\(Redact.identifier(callID))"])
                endCall(callID, cause: .recoveryOnTimerExpire, reason: .detachTimeout, notify: false)
            }
        }
        for id in dueConnections {
            guard let c = connections[id], !isAuthed(c), c.openedAt + configuration.loginTimeout <= now else { continue }
            logger.info("no login in time: closing", metadata: ["connection": "\(id)"])
            noteBadInput(id, .loginTimeout)
            disconnect(id, now: now)
        }
        // §1.3: verto.ping after 30 s of client silence, regardless of what the server sent.
        for id in dueConnections {
            guard var c = connections[id], isAuthed(c), c.nextPing <= now else { continue }
            let serno = Int(Int64(now.uptimeNanoseconds / 1_000_000_000) &+ configuration.sernoEpochOffset)
            sendRequest(id, .ping(serno: serno, authExpires: nil))
            c.nextPing = now + configuration.idlePingInterval
            setConnection(c)
        }
        settleTimers()
    }

    // MARK: - Login completion

    /// The application's decision on `.authenticate(request)`.
    public mutating func completeLogin(_ request: LoginRequest, decision: LoginDecision, now: NIODeadline) {
        guard let c = connections[request.connection], c.auth == .authenticating(request.requestID) else {
            logger.debug("completeLogin for a stale request")
            return
        }
        apply(decision, to: request, c, now: now)
        guard var after = connections[request.connection], !after.held.isEmpty else { return }
        let frames = after.held
        after.held = []
        setConnection(after)
        for frame in frames { receive(request.connection, frame, now: now) }
    }

    private mutating func apply(_ decision: LoginDecision, to request: LoginRequest, _ connection: Connection, now: NIODeadline) {
        var c = connection
        switch decision {
        case .reject(let message):
            logger.info("login refused", metadata: ["login": "\(request.params)"])
            c.auth = .anonymous
            setConnection(c)
            replyError(request.connection, id: request.requestID, code: VertoErrorCode.authFailed, message: message)
        case .accept(let user):
            let sessid = c.sessid ?? request.params.sessid.flatMap { $0.isEmpty ? nil : $0 } ?? random.uuidString()
            if let owner = sessionOwners[sessid], owner != user.id {
                // Another user's sessid, connected or only holding detached calls: refused, and
                // its calls are never re-offered here.
                logger.notice("login with another user's sessid refused")
                c.auth = .anonymous
                setConnection(c)
                replyError(request.connection, id: request.requestID, code: VertoErrorCode.authFailed, message: "Session in use")
                disconnect(request.connection, now: now)
                return
            }
            if let other = sessions[sessid], other != request.connection, let oc = connections[other] {
                if case .authenticated(let ou) = oc.auth, ou.id != user.id {
                    // 2026 mod_verto: cross-user takeover refused and the new socket dropped (§1.6).
                    c.auth = .anonymous
                    setConnection(c)
                    replyError(request.connection, id: request.requestID, code: VertoErrorCode.authFailed, message: "Session in use")
                    disconnect(request.connection, now: now)
                    return
                }
                // Same sessid on a new socket: punt the old one, its calls move here (§1.6 attach_jsock).
                sendRequest(other, .punt)
                emit(.punted(connection: other, sessid: sessid))
                disconnect(other, now: now)
            }
            c.auth = .authenticated(user)
            c.sessid = sessid
            sessionOwners[sessid] = user.id
            c.reoffered = []
            c.clientReadyPending = true
            sessions[sessid] = request.connection
            var result = JSONObject()
            result["message"] = "logged in"
            result.merge(user.loginResultExtras)
            result["sessid"] = .string(sessid)
            send(request.connection, .result(id: request.requestID, result: .object(result)))
            emit(.loggedIn(connection: request.connection, sessid: sessid, user: user.id))
            // §1.6 attach_calls: every detached call of this sessid is re-offered (the application
            // supplies the fresh offer), then one verto.clientReady lists them.
            var awaiting: [String] = []
            for callID in (callsOfSession[sessid] ?? []).sorted() where calls[callID]?.dialog.state == .recovering {
                awaiting.append(callID)
            }
            c.awaitingOffers = awaiting
            setConnection(c)
            for callID in awaiting { emit(.reattachNeeded(callID: callID, connection: request.connection)) }
            maybeSendClientReady(request.connection)
        }
    }

    mutating func maybeSendClientReady(_ connection: VertoConnectionID) {
        guard var c = connections[connection], c.clientReadyPending, c.awaitingOffers.isEmpty else { return }
        c.clientReadyPending = false
        setConnection(c)
        sendRequest(connection, .clientReady(reattachedSessions: c.reoffered))
    }

    /// Answers a deferred `verto.modify` (transfer, replace, updateMedia). On success the result gets
    /// `callID`, `action`, `holdState` and `sessid`; `extra` may add `message` ("CALL TRANSFERRED")
    /// or `sdp` (updateMedia answer). A failure gets the same context members (like mod_verto's
    /// `-32002 "transfer failed"`, docs/verto-protocol.md E7[B]).
    public mutating func completeModify(_ request: ModifyRequest, result: Result<JSONObject, JSONRPCErrorObject>, now: NIODeadline) {
        guard connections[request.connection] != nil else { return }
        let callID = request.params.dialogParams.callID
        let hold: HoldState = calls[callID]?.dialog.state == .held ? .held : .active
        var o: JSONObject = ["callID": .string(callID), "action": .string(request.params.action.rawValue)]
        switch result {
        case .success(let extra):
            o.merge(extra)
            o["holdState"] = .string(hold.rawValue)
            replyResult(request.connection, id: request.requestID, o)
        case .failure(var e):
            o["holdState"] = .string(hold.rawValue)
            o.merge(e.data)
            e.data = o
            send(request.connection, .error(id: request.requestID, error: e))
        }
    }

    // MARK: - Replies

    /// A success reply; `sessid` is appended to every result once the connection has one (§1.6).
    mutating func replyResult(_ connection: VertoConnectionID, id: JSONRPCID?, _ result: JSONObject) {
        guard let id = id else { return }
        send(connection, resultMessage(connection, id: id, result))
    }

    func resultMessage(_ connection: VertoConnectionID, id: JSONRPCID, _ result: JSONObject) -> JSONRPCMessage {
        var r = result
        if let s = connections[connection]?.sessid { r["sessid"] = .string(s) }
        return .result(id: id, result: .object(r))
    }

    mutating func replyError(_ connection: VertoConnectionID, id: JSONRPCID?, code: Int?, message: String, data: JSONObject = [:]) {
        send(connection, .error(id: id ?? .null, error: JSONRPCErrorObject(code: code, message: message, data: data)))
    }

    /// Counts every bad input; logs the first few of each connection only, so a flood of garbage
    /// cannot turn into a flood of log lines written on the event loop.
    mutating func noteBadInput(_ connection: VertoConnectionID, _ error: VertoError) {
        badInput.increment()
        var seen = 0
        if var c = connections[connection] {
            c.badInputs += 1
            seen = c.badInputs
            setConnection(c)
        }
        if seen <= 3 {
            logger.warning("bad input", metadata: ["connection": "\(connection)", "error": "\(error)"])
        } else if seen == 4 {
            logger.warning("more bad input from this connection: counted, no longer logged", metadata: ["connection": "\(connection)"])
        }
        emit(.badInput(connection: connection, error: error))
    }

    // MARK: - Internal accessors for the request handlers

    func connectionState(_ id: VertoConnectionID) -> Connection? { connections[id] }
    /// Every write of a connection's state goes through here: the set of connections not logged in
    /// and the timer follow it (an O(1) check when the deadline only moved later).
    mutating func setConnection(_ c: Connection) {
        connections[c.id] = c
        if isAuthed(c) { unauthenticated.remove(c.id) } else { unauthenticated.insert(c.id) }
        scheduleConnection(c.id)
        settleTimers()
    }

    /// Keeps `callsOfSession` in step with each call's sessid.
    private mutating func index(_ callID: String, from old: String?, to new: String?) {
        if let old {
            callsOfSession[old]?.remove(callID)
            if callsOfSession[old]?.isEmpty == true { callsOfSession[old] = nil }
        }
        if let new { callsOfSession[new, default: []].insert(callID) }
    }
    func callRecord(_ callID: String) -> Call? { calls[callID] }
    mutating func setCall(_ callID: String, _ call: Call?) {
        let old = calls[callID]
        calls[callID] = call
        if old?.sessid != call?.sessid {
            if let old { countCall(of: old.sessid, by: -1) }
            if let call { countCall(of: call.sessid, by: 1) }
            index(callID, from: old?.sessid, to: call?.sessid)
        }
        if let d = call?.detachDeadline { schedule(.call(callID), at: d) }
        settleTimers()
    }

    private mutating func countCall(of sessid: String, by delta: Int) {
        let n = callCounts[sessid, default: 0] + delta
        callCounts[sessid] = n > 0 ? n : nil
    }

    /// Whether one more call may start for `sessid`: under both the per-session and the global cap.
    func admitsCall(for sessid: String) -> Bool {
        calls.count < configuration.maxCalls && callCounts[sessid, default: 0] < configuration.maxCallsPerSession
    }

    /// Calls the core holds now (live or detached).
    public var callCount: Int { calls.count }
    func boundConnection(_ sessid: String) -> VertoConnectionID? { sessions[sessid] }
    mutating func newUUID() -> String { random.uuidString() }
    var log: Logger { logger }
}

/// What a server core's timer entry is for: a connection (login timeout, idle ping) or a detached
/// call (its expiry).
enum TimerKey: Hashable, Comparable {
    case call(String)
    case connection(UInt64)
}

struct TimerEntry: Comparable {
    var at: NIODeadline
    var key: TimerKey
    static func < (a: TimerEntry, b: TimerEntry) -> Bool { (a.at, a.key) < (b.at, b.key) }
}
