import CoreSupport
import Foundation
import Logging
import MediaNIO
import Metrics
import NIOCore
import NIOPosix
import PeerCore
import SDPCore
import VertoCore
import VertoNIO

/// Everything the server role owns, confined to its event loop: every method runs on `loop`
/// (future callbacks and scheduled tasks of that loop included), hence `@unchecked Sendable`.
final class EndpointState: @unchecked Sendable {
    let configuration: VertoEndpointConfiguration
    let loop: EventLoop
    let events: AsyncStream<VertoEndpointEvent>.Continuation
    let logger: Logger
    var core: VertoServerCore
    var sockets: [VertoConnectionID: WebSocketConnection] = [:]
    var connectionOf: [Int: VertoConnectionID] = [:]
    var userOfSessid: [String: String] = [:]
    var calls: [String: ServerCall] = [:]
    /// A caller's leg → its legs still ringing (forking to every session of the called user).
    var ringing: [String: Set<String>] = [:]
    /// Login sequence per sessid: the application's own calls ring the latest session.
    var loginOrder: [String: UInt64] = [:]
    var logins: UInt64 = 0
    /// Connections that have logged in and not closed (the sessions gauge).
    var loggedInConnections: Set<VertoConnectionID> = []
    var timer: Scheduled<Void>?
    var timerDeadline: NIODeadline?
    var stopped = false
    /// Failed logins per user and per client address (exponential back-off).
    var userThrottle: LoginThrottle
    var addressThrottle: LoginThrottle
    /// Password checks running on the thread pool now.
    var verifying = 0
    let loginFailures = Counter(label: "verto_server_login_failures_total")
    let loginThrottled = Counter(label: "verto_server_login_throttled_total")
    /// The frame trace (`traceJSONRPC`), nil when off.
    let trace: Logger?
    /// One bound socket + PeerSession kept ready for the next call leg.
    lazy var peers: PeerPool = {
        let pool = PeerPool(loop: loop, host: configuration.mediaHost, configuration: configuration.media,
                            advertise: { [mediaHost = configuration.mediaHost] in mediaHost == "0.0.0.0" ? HostAddresses.ipv4(includeLoopback: true) : [] })
        pool.externalAddress = configuration.mediaExternalAddress
        pool.ports = configuration.mediaPorts
        return pool
    }()

    init(configuration: VertoEndpointConfiguration, loop: EventLoop, events: AsyncStream<VertoEndpointEvent>.Continuation, logger: Logger) {
        self.configuration = configuration
        self.loop = loop
        self.events = events
        self.logger = logger
        self.trace = configuration.traceJSONRPC ? Logger(label: "verto.trace") : nil
        var verto = configuration.verto
        // serno = unix time, as mod_verto's (the core reads no clock; the shell gives the offset once).
        verto.sernoEpochOffset = Int64(Date().timeIntervalSince1970) - Int64(loop.now.uptimeNanoseconds / 1_000_000_000)
        self.core = VertoServerCore(configuration: verto, random: .system, logger: logger)
        self.userThrottle = LoginThrottle(policy: configuration.loginThrottle)
        self.addressThrottle = LoginThrottle(policy: configuration.addressLoginThrottle)
    }

    // MARK: - logins

    /// Throttled, and hashed on the thread pool: a PBKDF2 check never runs on the event loop that
    /// carries every call's signalling and media.
    private func authenticate(_ req: LoginRequest) {
        let login = req.params.login ?? ""
        let address = sockets[req.connection]?.remoteAddress?.ipAddress ?? "unknown"
        let userKey = [UserDirectory.userID(of: login)], addressKey = [address]
        if userThrottle.blockedUntil(userKey, now: loop.now) != nil || addressThrottle.blockedUntil(addressKey, now: loop.now) != nil {
            loginThrottled.increment()
            logger.notice("login refused: too many failures", metadata: ["login": "\(Redact.number(login))"])
            rejectLogin(req, login)
            return
        }
        guard verifying < configuration.maxConcurrentPasswordChecks else {
            logger.warning("login refused: password checks saturated")
            rejectLogin(req, login)
            return
        }
        verifying += 1
        let users = configuration.users, password = req.params.passwd ?? ""
        NIOThreadPool.singleton.runIfActive(eventLoop: loop) { users.verify(login: login, password: password) }
            .whenComplete { [self] result in
                verifying -= 1
                guard !stopped else { return }
                if case .success(let user?) = result {
                    userThrottle.recordSuccess(userKey)
                    addressThrottle.recordSuccess(addressKey)
                    core.completeLogin(req, decision: .accept(VertoUser(id: user.id)), now: loop.now)
                } else {
                    userThrottle.recordFailure(userKey, now: loop.now)
                    addressThrottle.recordFailure(addressKey, now: loop.now)
                    rejectLogin(req, login)
                }
                pump()
            }
    }

    private func rejectLogin(_ req: LoginRequest, _ login: String) {
        loginFailures.increment()
        logger.notice("login rejected", metadata: ["login": "\(Redact.number(login))"])
        events.yield(.loginRejected(login: login))
        core.completeLogin(req, decision: .reject(message: "Authentication Failure"), now: loop.now)
    }

    // MARK: - transport inputs

    func opened(_ ws: WebSocketConnection) {
        let id = core.connectionOpened(now: loop.now)
        sockets[id] = ws
        connectionOf[ws.id] = id
        pump()
    }

    func received(_ ws: WebSocketConnection, _ text: String) {
        guard let id = connectionOf[ws.id] else { return }
        if let trace { trace.info("in", metadata: ["connection": "\(id)", "frame": "\(Redact.jsonRPCFrame(text))"]) }
        core.receive(id, text, now: loop.now)
        pump()
    }

    func closed(_ ws: WebSocketConnection) {
        guard let id = connectionOf.removeValue(forKey: ws.id) else { return }
        sockets[id] = nil
        core.connectionClosed(id, now: loop.now)
        pump()
    }

    // MARK: - drive the core

    func pump() {
        while let out = core.pollOutput() {
            switch out {
            case .send(let c, let text):
                if let trace { trace.info("out", metadata: ["connection": "\(c)", "frame": "\(Redact.jsonRPCFrame(text))"]) }
                sockets[c]?.send(text: text)
            case .close(let c):
                if let ws = sockets[c] { ws.close() }
            case .event(let e): handle(e)
            }
        }
        arm()
    }

    private func arm() {
        guard let d = core.nextDeadline() else { timer?.cancel(); timer = nil; timerDeadline = nil; return }
        if let t = timerDeadline, timer != nil, t <= d { return }
        timer?.cancel()
        timerDeadline = d
        timer = loop.scheduleTask(deadline: d) { [weak self] in
            guard let self else { return }
            self.timer = nil
            self.timerDeadline = nil
            self.core.handleTimeout(now: self.loop.now)
            self.pump()
        }
    }

    private func handle(_ e: VertoServerEvent) {
        switch e {
        case .authenticate(let req):
            authenticate(req)
        case .loggedIn(let connection, let sessid, let user):
            sockets[connection]?.peerAuthenticated()
            userOfSessid[sessid] = user
            logins += 1
            loginOrder[sessid] = logins
            loggedInConnections.insert(connection)
            EngineMetrics.sessionsActive.record(loggedInConnections.count)
            peers.refill()
            events.yield(.loggedIn(user: user, sessid: sessid))
        case .punted:
            break
        case .connectionClosed(let connection, let sessid):
            if loggedInConnections.remove(connection) != nil { EngineMetrics.sessionsActive.record(loggedInConnections.count) }
            // Only live sessions are looked up by user; a sessid that logs in again is added again.
            if let sessid, core.connection(forSessid: sessid) == nil {
                userOfSessid[sessid] = nil
                loginOrder[sessid] = nil
            }
            events.yield(.disconnected(sessid: sessid))
        case .incomingCall(_, let sessid, let params):
            incomingCall(sessid: sessid, params: params)
        case .callAnswered(let callID, let sdp, _):
            remoteAnswered(callID, sdp: sdp)
        case .callEnded(let callID, let cause, _):
            ended(callID, cause: cause)
        case .callDetached:
            break
        case .reattachNeeded(let callID, _):
            reattach(callID)
        case .callReattached(let callID, let sdp):
            applyReattachAnswer(callID, sdp: sdp)
        case .holdChanged(let callID, let state):
            guard let call = calls[callID] else { break }
            call.held = state == .held
            // mod_verto pauses RTP toward a held client (docs/verto-protocol.md §4.4).
            call.media.setMuted(call.held)
            events.yield(.hold(callID: callID, held: call.held))
        case .modifyRequested(let req):
            modify(req)
        case .videoRefresh:
            break
        case .dtmf(let callID, let digits):
            guard let call = calls[callID] else { break }
            call.media.receivedSignalledDigits(digits)
            events.yield(.dtmf(callID: callID, digits: digits))
        case .info, .broadcast:
            break
        case .badInput(let c, let error):
            logger.info("bad input", metadata: ["connection": "\(c)", "error": "\(error)"])
        }
    }

    // MARK: - calls

    private func incomingCall(sessid: String, params: CallSDPParams) {
        let callID = params.dialogParams.callID
        let destination = params.dialogParams.destinationNumber ?? "service"
        guard let route = configuration.routing.route(for: destination) else {
            try? core.hangup(callID: callID, cause: .noRouteDestination, now: loop.now)
            pump()
            return
        }
        guard let sdpText = params.sdp, let offer = try? SessionDescription(parsing: sdpText) else {
            try? core.hangup(callID: callID, cause: .incompatibleDestination, now: loop.now)
            pump()
            return
        }
        let info = ServerCallInfo(callID: callID, user: userOfSessid[sessid], destination: destination,
                                  callerIDNumber: params.dialogParams.callerIDNumber ?? userOfSessid[sessid],
                                  callerIDName: params.dialogParams.callerIDName, outbound: false)
        let media = makeMedia(callID)
        let call = ServerCall(info: info, media: media, route: route, sessid: sessid, logger: logger)
        calls[callID] = call
        callStarted(call)
        peers.take()
            .whenComplete { [self] result in
                guard calls[callID] === call else {
                    if case .success(let d) = result { _ = d.close() }
                    return
                }
                switch result {
                case .failure(let error):
                    call.logger.error("media socket failed", metadata: ["error": "\(error)"])
                    hangup(callID, cause: .normalTemporaryFailure)
                case .success(let driver):
                    do {
                        let answer = try driver.withCoreOnLoop { try $0.acceptOffer(offer, now: loop.now) }
                        call.localSDP = answer.text
                        media.attach(driver)
                        events.yield(.newWebRTCCall(info, media))
                        start(route, call)
                    } catch {
                        call.logger.info("cannot answer offer", metadata: ["error": "\(error)"])
                        _ = driver.close()
                        hangup(callID, cause: .incompatibleDestination)
                    }
                }
            }
    }

    /// A call's media session, ending the call (MEDIA_TIMEOUT) when its peer connection fails or is
    /// not up within `mediaSetupTimeout` — unless the call is detached and waits for its client to
    /// come back with a new peer connection.
    private func makeMedia(_ callID: String) -> MediaSession {
        let media = MediaSession(callID: callID, eventLoop: loop)
        media.setupTimeout = configuration.mediaSetupTimeout
        media.onFailure = { [weak self] reason in
            guard let self, self.calls[callID] != nil, self.core.dialog(callID)?.state != .recovering else { return }
            self.calls[callID]?.logger.notice("media failed: ending the call", metadata: ["reason": "\(reason)"])
            self.hangup(callID, cause: .mediaTimeout)
        }
        return media
    }

    /// `VertoEndpoint.answer(callID:)`: only a call routed to the application, not yet answered.
    func answerForApplication(_ callID: String) throws {
        guard let call = calls[callID], call.localSDP != nil || call.info.outbound else { throw VertoPhoneError.unknownCall(callID) }
        guard call.route == .application, !call.info.outbound else {
            throw VertoPhoneError.invalidState("call \(callID) is not routed to the application")
        }
        answer(call)
    }

    private func answer(_ call: ServerCall, withSDP: Bool = true) {
        guard !call.answered else { return }
        call.answered = true
        try? core.answer(callID: call.info.callID, sdp: withSDP ? call.localSDP : nil, now: loop.now)
        events.yield(.answered(callID: call.info.callID))
        pump()
    }

    private func after(_ seconds: Double, _ call: ServerCall, _ body: @escaping @Sendable () -> Void) {
        let t = loop.scheduleTask(in: .milliseconds(Int64(seconds * 1000))) { [weak call] in
            guard call != nil else { return }
            body()
        }
        call.timers.append(t)
    }

    private func start(_ route: ServerRoute, _ call: ServerCall) {
        let callID = call.info.callID
        switch route {
        case .echo:
            call.media.setSourceOnLoop(.echo)
            answer(call)
        case .tone(let f):
            call.media.setSourceOnLoop(.tone(frequencies: [f], amplitude: 0.3))
            answer(call)
        case .dtmfCollector:
            call.media.setSourceOnLoop(.silence)
            call.media.addObserver { _ in }
            answer(call)
        case .earlyMediaThenEcho(let seconds, let ringback):
            call.media.setSourceOnLoop(.tone(frequencies: [ringback], amplitude: 0.3))
            try? core.earlyMedia(callID: callID, sdp: call.localSDP ?? "", now: loop.now)
            pump()
            // The ringback lasts `seconds` of media: its time counts from the moment media is up,
            // so the caller hears all of it however long ICE and DTLS took.
            call.media.whenConnected { [self] in
                after(seconds, call) { [self] in
                    guard calls[callID] === call else { return }
                    call.media.setSourceOnLoop(.echo)
                    answer(call, withSDP: false)
                }
            }
        case .answerAfter(let seconds):
            after(seconds, call) { [self] in
                guard calls[callID] === call else { return }
                call.media.setSourceOnLoop(.echo)
                answer(call)
            }
        case .answerThenHangup(let seconds):
            call.media.setSourceOnLoop(.echo)
            answer(call)
            after(seconds, call) { [self] in hangup(callID, cause: .normalClearing) }
        case .bridge(let user):
            _ = originate(toUser: user, callerIDNumber: call.info.callerIDNumber ?? call.info.user ?? "",
                          callerIDName: call.info.callerIDName ?? call.info.user ?? "", route: .application,
                          source: .silence, partner: callID)
        case .application:
            break
        }
    }

    /// Server → client call: the B-leg(s) of a bridge, or the application calling a user.
    ///
    /// A bridge (`partner` set) rings every session the user is logged in with, as FreeSWITCH rings
    /// every registration: the first to answer is bridged, the others get `verto.bye` with
    /// LOSE_RACE, and a session that never answers (a stale one) holds nothing up. The call fails
    /// only when every leg has failed. The application's own call (`partner` nil) rings the session
    /// that logged in last. Returns the (first) leg's callID.
    func originate(toUser user: String, callerIDNumber: String, callerIDName: String, route: ServerRoute,
                   source: MediaSource, partner: String?) -> EventLoopFuture<String> {
        let live = userOfSessid.filter { $0.value == user && core.connection(forSessid: $0.key) != nil }.keys
            .sorted { (loginOrder[$0] ?? 0) > (loginOrder[$1] ?? 0) }
        guard !live.isEmpty else {
            if let p = partner { hangup(p, cause: .other(name: "USER_NOT_REGISTERED", code: 606)) }
            return loop.makeFailedFuture(VertoPhoneError.userNotLoggedIn(user))
        }
        let sessids = partner == nil ? [live[0]] : live
        if let p = partner { ringing[p] = Set() }
        let legs = sessids.map { sessid in
            originateLeg(toSessid: sessid, user: user, callerIDNumber: callerIDNumber, callerIDName: callerIDName,
                         route: route, source: source, partner: partner)
        }
        if let p = partner {
            // Each leg's outcome: once all are known, a fork with no leg left fails the A-leg.
            EventLoopFuture.whenAllComplete(legs, on: loop).whenSuccess { [self] _ in
                if ringing[p]?.isEmpty == true, calls[p]?.partner == nil {
                    ringing[p] = nil
                    hangup(p, cause: .normalTemporaryFailure)
                }
            }
        }
        return legs[0]
    }

    private func originateLeg(toSessid sessid: String, user: String, callerIDNumber: String, callerIDName: String,
                              route: ServerRoute, source: MediaSource, partner: String?) -> EventLoopFuture<String> {
        peers.take()
            .flatMapThrowing { [self] driver -> String in
                if let p = partner, calls[p] == nil || calls[p]?.partner != nil {
                    _ = driver.close()  // the caller hung up, or another leg answered, meanwhile
                    throw VertoPhoneError.invalidState("the call to \(user) is over")
                }
                let callID = UUID().uuidString.lowercased()
                let offer = driver.withCoreOnLoop { $0.createOffer(now: loop.now) }
                do {
                    _ = try core.originate(toSessid: sessid, offer: CallOffer(
                        callID: callID, sdp: offer.text, callerIDName: callerIDName, callerIDNumber: callerIDNumber,
                        calleeIDName: user, calleeIDNumber: user, displayDirection: "outbound",
                        headers: Self.otherLeg(partner)), now: loop.now)
                } catch {
                    _ = driver.close()
                    throw error
                }
                let media = makeMedia(callID)
                media.attach(driver)
                media.setSourceOnLoop(source)
                let info = ServerCallInfo(callID: callID, user: user, destination: user, callerIDNumber: callerIDNumber,
                                          callerIDName: callerIDName, outbound: true)
                let call = ServerCall(info: info, media: media, route: route, sessid: sessid, logger: logger)
                call.partner = partner
                call.forkOf = partner
                calls[callID] = call
                callStarted(call)
                if let p = partner { ringing[p, default: []].insert(callID) }
                events.yield(.newWebRTCCall(info, media))
                pump()
                return callID
            }
    }

    private func remoteAnswered(_ callID: String, sdp: String) {
        guard let call = calls[callID], let driver = call.media.peer else { return }
        do {
            let answer = try SessionDescription(parsing: sdp)
            try driver.withCoreOnLoop { try $0.applyAnswer(answer, now: loop.now) }
        } catch {
            call.logger.info("bad answer from client", metadata: ["error": "\(error)"])
            hangup(callID, cause: .incompatibleDestination)
            return
        }
        call.answered = true
        events.yield(.answered(callID: callID))
        if let a = call.forkOf {
            // First answer wins the fork: the other legs lose the race.
            call.forkOf = nil
            let losers = (ringing.removeValue(forKey: a) ?? []).subtracting([callID])
            for l in losers.sorted() {
                calls[l]?.partner = nil
                calls[l]?.forkOf = nil
                hangup(l, cause: .loseRace)
            }
            calls[a]?.partner = callID
        }
        if let p = call.partner, let a = calls[p] { bridge(a, call) }
    }

    /// Joins two legs: audio both ways, `verto.display` to each with the other's identity.
    private func bridge(_ a: ServerCall, _ b: ServerCall) {
        a.partner = b.info.callID
        b.partner = a.info.callID
        a.media.setSourceOnLoop(.silence)
        b.media.setSourceOnLoop(.silence)
        a.media.addObserver { [weak b] f in b?.media.send(f.samples) }
        b.media.addObserver { [weak a] f in a?.media.send(f.samples) }
        answer(a)
        // Each display names the other leg's party and, like a dialplan exporting
        // `verto_h_other_leg_unique_id`, the other leg's id (WebitelCTI derives bridges from these).
        try? core.display(DisplayParams(callID: a.info.callID, displayName: b.info.user, displayNumber: b.info.user,
                                        displayDirection: "inbound", headers: Self.otherLeg(b.info.callID)), now: loop.now)
        try? core.display(DisplayParams(callID: b.info.callID, displayName: party(a).name, displayNumber: party(a).number,
                                        displayDirection: "outbound", headers: Self.otherLeg(a.info.callID)),
                          now: loop.now)
        events.yield(.bridged(callID: a.info.callID, otherCallID: b.info.callID))
        pump()
    }

    /// The party on a leg: the logged-in user of a leg the server originated, else the caller.
    func party(_ c: ServerCall) -> (name: String, number: String) {
        if c.info.outbound, let u = c.info.user { return (u, u) }
        return (c.info.callerIDName ?? c.info.user ?? "", c.info.callerIDNumber ?? c.info.user ?? "")
    }

    static func otherLeg(_ callID: String?) -> JSONObject {
        guard let callID else { return [:] }
        return ["verto_h_other_leg_unique_id": .string(callID)]
    }

    func hangup(_ callID: String, cause: HangupCause) {
        guard calls[callID] != nil else { return }
        try? core.hangup(callID: callID, cause: cause, now: loop.now)
        pump()
        ended(callID, cause: cause)
    }

    private func callStarted(_ call: ServerCall) {
        (call.info.outbound ? EngineMetrics.outboundCalls : EngineMetrics.inboundCalls).increment()
        EngineMetrics.callsActive.record(calls.count)
        call.logger.info("call started", metadata: ["destination": "\(call.info.destination)",
                                                    "direction": "\(call.info.outbound ? "to client" : "from client")"])
    }

    private func ended(_ callID: String, cause: HangupCause) {
        guard let call = calls.removeValue(forKey: callID) else { return }
        EngineMetrics.callsActive.record(calls.count)
        EngineMetrics.callEnded(cause: cause.name)
        call.logger.info("call ended", metadata: ["cause": "\(cause.name)"])
        call.timers.forEach { $0.cancel() }
        call.media.closeOnLoop()
        events.yield(.ended(callID: callID, cause: cause))
        if let legs = ringing.removeValue(forKey: callID) {
            // The caller is gone while its call rings: every leg is cancelled.
            for l in legs.sorted() {
                calls[l]?.partner = nil
                calls[l]?.forkOf = nil
                hangup(l, cause: .originatorCancel)
            }
        }
        if let a = call.forkOf {
            // A leg of a fork ended before anyone answered: the caller waits for the others, and
            // fails with this leg's cause when it was the last.
            ringing[a]?.remove(callID)
            if ringing[a]?.isEmpty == true {
                ringing[a] = nil
                if calls[a] != nil { hangup(a, cause: cause) }
            }
        } else if let p = call.partner, calls[p] != nil {
            hangup(p, cause: cause)
        }
    }

    // MARK: - re-attach (docs/verto-protocol.md §4.8)

    private func reattach(_ callID: String) {
        guard let call = calls[callID] else { return }
        peers.take()
            .whenComplete { [self] result in
                guard calls[callID] === call, case .success(let driver) = result else {
                    if case .success(let d) = result { _ = d.close() }
                    return
                }
                let offer = driver.withCoreOnLoop { $0.createOffer(now: loop.now) }
                call.pendingReattach = driver
                do { try core.reattach(callID: callID, sdp: offer.text, now: loop.now) } catch {
                    _ = driver.close()
                    hangup(callID, cause: .bearerCapabilityNotAvail)
                }
                pump()
            }
    }

    private func applyReattachAnswer(_ callID: String, sdp: String) {
        guard let call = calls[callID], let driver = call.pendingReattach else { return }
        call.pendingReattach = nil
        do {
            let answer = try SessionDescription(parsing: sdp)
            try driver.withCoreOnLoop { try $0.applyAnswer(answer, now: loop.now) }
            call.media.attach(driver)
        } catch {
            _ = driver.close()
            hangup(callID, cause: .bearerCapabilityNotAvail)
        }
    }

    // MARK: - verto.modify transfer / replace / updateMedia

    private func modify(_ req: ModifyRequest) {
        let callID = req.params.dialogParams.callID
        @Sendable func fail(_ message: String) {
            core.completeModify(req, result: .failure(JSONRPCErrorObject(code: VertoErrorCode.sessionError, message: message)),
                                now: loop.now)
            pump()
        }
        guard let call = calls[callID] else { return fail("CALL DOES NOT EXIST") }
        switch req.params.action {
        case .transfer:
            // Blind transfer of the *other* leg (docs/verto-protocol.md §3.2.5): the partner goes to the
            // destination's application, this leg is released.
            guard let dest = req.params.destination, !dest.isEmpty else { return fail("destination missing") }
            guard let p = call.partner, let other = calls[p], let route = configuration.routing.route(for: dest) else {
                return fail("call is not bridged")
            }
            call.partner = nil
            other.partner = nil
            other.route = route
            other.media.setSourceOnLoop(.silence)
            core.completeModify(req, result: .success(["message": .string("CALL TRANSFERRED")]), now: loop.now)
            pump()
            startTransferred(route, other)
            hangup(callID, cause: .normalClearing)
        case .replace:
            // Attended transfer: bridge the partner of this call with the partner of replaceCallID,
            // then release both of our legs.
            guard let rid = req.params.replaceCallID, let other = calls[rid] else { return fail("replaceCallID missing") }
            guard let p1 = call.partner, let a = calls[p1], let p2 = other.partner, let b = calls[p2] else {
                return fail("call is not bridged")
            }
            call.partner = nil
            other.partner = nil
            core.completeModify(req, result: .success(["message": .string("CALL REPLACED")]), now: loop.now)
            pump()
            bridge(a, b)
            hangup(callID, cause: .normalClearing)
            hangup(rid, cause: .normalClearing)
        case .updateMedia:
            guard let sdp = req.params.sdp, let offer = try? SessionDescription(parsing: sdp) else { return fail("SDP missing") }
            peers.take()
                .whenComplete { [self] result in
                    guard case .success(let driver) = result, calls[callID] === call,
                          let answer = try? driver.withCoreOnLoop({ try $0.acceptOffer(offer, now: loop.now) }) else {
                        if case .success(let d) = result { _ = d.close() }
                        return fail("MEDIA ERROR")
                    }
                    call.media.attach(driver)
                    core.completeModify(req, result: .success(["sdp": .string(answer.text)]), now: loop.now)
                    pump()
                }
        default:
            fail("Invalid action")
        }
    }

    /// The partner of a blind transfer now talks to the destination's application.
    private func startTransferred(_ route: ServerRoute, _ call: ServerCall) {
        switch route {
        case .echo, .answerAfter, .answerThenHangup, .earlyMediaThenEcho: call.media.setSourceOnLoop(.echo)
        case .tone(let f): call.media.setSourceOnLoop(.tone(frequencies: [f], amplitude: 0.3))
        case .dtmfCollector, .application: call.media.setSourceOnLoop(.silence)
        case .bridge(let user):
            _ = originate(toUser: user, callerIDNumber: party(call).number, callerIDName: party(call).name,
                          route: .application, source: .silence, partner: call.info.callID)
        }
    }

    func shutdown() {
        stopped = true
        peers.close()
        for id in Array(calls.keys) { hangup(id, cause: .managerRequest) }
        for ws in sockets.values { ws.close() }
        timer?.cancel()
        events.finish()
    }
}
