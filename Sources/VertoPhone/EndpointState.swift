import CallCore
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

/// The server role's shell, confined to its event loop (not Sendable): every method runs on `loop`
/// (future callbacks and scheduled tasks of that loop included); `VertoEndpoint` holds it in a
/// `NIOLoopBound`. It moves bytes,
/// timers and media between NIO and two sans-IO cores: `VertoServerCore` (the protocol) and
/// `ServerCallControl` (the calls: routing, bridges, transfers, forking). It owns no call state of
/// its own — only each leg's media (`ServerCall`) and the sockets.
final class EndpointState {
    let configuration: VertoEndpointConfiguration
    let loop: EventLoop
    let events: EventHub<VertoEndpointEvent>
    let logger: Logger
    var core: VertoServerCore
    var sockets: [VertoConnectionID: WebSocketConnection] = [:]
    var connectionOf: [Int: VertoConnectionID] = [:]
    /// Call control (sans-IO): which legs exist and what happens to them.
    var control: ServerCallControl
    /// Each leg's media, by callID (created when call control starts a leg, released when it ends).
    var calls: [String: ServerCall] = [:]
    /// Offers of inbound legs, until our answer is prepared.
    var offers: [String: SessionDescription] = [:]
    /// The application's own calls: their media source, and the promise of `originate`.
    var applicationSources: [String: MediaSource] = [:]
    var offerPromises: [String: EventLoopPromise<String>] = [:]
    /// The timers of the two cores.
    lazy var controlTimer = DeadlineTimer(loop: loop)
    lazy var timer = DeadlineTimer(loop: loop)
    private var runningControl = false
    /// Connections that have logged in and not closed (the sessions gauge).
    var loggedInConnections: Set<VertoConnectionID> = []
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

    init(configuration: VertoEndpointConfiguration, loop: EventLoop, events: EventHub<VertoEndpointEvent>, logger: Logger) {
        self.configuration = configuration
        self.loop = loop
        self.events = events
        self.logger = logger
        self.trace = configuration.traceJSONRPC ? Logger(label: "verto.trace") : nil
        var verto = configuration.verto
        // serno = unix time, as mod_verto's (the core reads no clock; the shell gives the offset once).
        verto.sernoEpochOffset = Int64(Date().timeIntervalSince1970) - Int64(loop.now.uptimeNanoseconds / 1_000_000_000)
        self.core = VertoServerCore(configuration: verto, random: .system, logger: logger)
        self.control = ServerCallControl(routing: configuration.routing, random: .system)
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
            .assumeIsolated().whenComplete { [self] result in
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

    // MARK: - drive the cores

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
        timer.arm(core.nextDeadline()) { [weak self] in
            guard let self else { return }
            self.core.handleTimeout(now: self.loop.now)
            self.pump()
        }
    }

    /// Carries out call control's actions, in order (an action that feeds call control again
    /// appends to the same run).
    func runControl() {
        guard !runningControl else { return }
        runningControl = true
        while let a = control.pollAction() { execute(a) }
        runningControl = false
        controlTimer.arm(control.nextDeadline()) { [weak self] in
            guard let self else { return }
            self.control.handleTimeout(now: self.loop.now)
            self.runControl()
        }
    }

    private func handle(_ e: VertoServerEvent) {
        switch e {
        case .authenticate(let req):
            authenticate(req)
        case .loggedIn(let connection, let sessid, let user):
            sockets[connection]?.peerAuthenticated()
            control.sessionLoggedIn(sessid: sessid, user: user)
            loggedInConnections.insert(connection)
            EngineMetrics.sessionsActive.record(loggedInConnections.count)
            peers.refill()
            events.yield(.loggedIn(user: user, sessid: sessid))
        case .punted:
            break
        case .connectionClosed(let connection, let sessid):
            if loggedInConnections.remove(connection) != nil { EngineMetrics.sessionsActive.record(loggedInConnections.count) }
            // Only live sessions ring; a sessid that logs in again is added again.
            if let sessid, core.connection(forSessid: sessid) == nil { control.sessionGone(sessid: sessid) }
            events.yield(.disconnected(sessid: sessid))
        case .incomingCall(_, let sessid, let params):
            let dp = params.dialogParams
            let offer = params.sdp.flatMap { try? SessionDescription(parsing: $0) }
            if let offer { offers[dp.callID] = offer }
            control.callFromClient(callID: dp.callID, sessid: sessid, destination: dp.destinationNumber, callerIDNumber: dp.callerIDNumber,
                                   callerIDName: dp.callerIDName, offerIsUsable: offer != nil, now: loop.now)
            runControl()
        case .callAnswered(let callID, let sdp, _):
            remoteAnswered(callID, sdp: sdp)
        case .callEnded(let callID, let cause, _):
            control.ended(callID, cause: cause)
            runControl()
        case .callDetached:
            break
        case .reattachNeeded(let callID, _):
            reattach(callID)
        case .callReattached(let callID, let sdp):
            applyReattachAnswer(callID, sdp: sdp)
        case .holdChanged(let callID, let state):
            control.holdChanged(callID: callID, held: state == .held)
            runControl()
        case .modifyRequested(let req):
            control.modify(req, now: loop.now)
            runControl()
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

    private func execute(_ action: ServerCallAction) {
        switch action {
        case .prepareAnswer(let callID):
            prepareAnswer(callID)
        case .offerLeg(let offer):
            offerLeg(offer)
        case .play(let callID, let source):
            guard let call = calls[callID] else { return }
            call.media.setSourceOnLoop(Self.mediaSource(source))
            if source == .digitCollector { call.media.addObserver { _ in } }
        case .answer(let callID, let withSDP):
            try? core.answer(callID: callID, sdp: withSDP ? calls[callID]?.localSDP : nil, now: loop.now)
            pump()
        case .earlyMedia(let callID):
            try? core.earlyMedia(callID: callID, sdp: calls[callID]?.localSDP ?? "", now: loop.now)
            pump()
        case .hangup(let callID, let cause):
            offers[callID] = nil
            try? core.hangup(callID: callID, cause: cause, now: loop.now)
            pump()
        case .connectAudio(let a, let b):
            guard let legA = calls[a], let legB = calls[b] else { return }
            if configuration.bridgesWithoutTranscoding, legA.media.forwardOnLoop(with: legB.media) { return }
            legA.media.addObserver { [weak legB] f in legB?.media.send(f.samples) }
            legB.media.addObserver { [weak legA] f in legA?.media.send(f.samples) }
        case .display(let callID, let name, let number, let direction, let otherLeg):
            // Like a dialplan exporting `verto_h_other_leg_unique_id`: WebitelCTI derives bridges from it.
            try? core.display(DisplayParams(callID: callID, displayName: name, displayNumber: number, displayDirection: direction,
                                            headers: Self.otherLeg(otherLeg)), now: loop.now)
            pump()
        case .mute(let callID, let held):
            // mod_verto pauses RTP toward a held client (docs/verto-protocol.md §4.4).
            calls[callID]?.media.setMuted(held)
        case .completeModify(let req, let result, let error):
            let outcome: Result<JSONObject, JSONRPCErrorObject> = result.map { .success($0) }
                ?? .failure(JSONRPCErrorObject(code: VertoErrorCode.sessionError, message: error ?? "failed"))
            core.completeModify(req, result: outcome, now: loop.now)
            pump()
        case .renegotiate(let req):
            updateMedia(req)
        case .notice(let notice):
            self.notice(notice)
        }
    }

    private func notice(_ n: ServerCallNotice) {
        switch n {
        case .started(let leg):
            let info = ServerCallInfo(callID: leg.callID, user: leg.user, destination: leg.destination,
                                      callerIDNumber: leg.callerIDNumber, callerIDName: leg.callerIDName, outbound: leg.outbound)
            let call = ServerCall(info: info, media: makeMedia(leg.callID), sessid: leg.sessid, logger: logger)
            calls[leg.callID] = call
            (leg.outbound ? EngineMetrics.outboundCalls : EngineMetrics.inboundCalls).increment()
            EngineMetrics.callsActive.record(calls.count)
            call.logger.info("call started", metadata: ["destination": "\(leg.destination)",
                                                        "direction": "\(leg.outbound ? "to client" : "from client")"])
        case .answered(let callID):
            events.yield(.answered(callID: callID))
        case .bridged(let a, let b):
            events.yield(.bridged(callID: a, otherCallID: b))
        case .held(let callID, let held):
            events.yield(.hold(callID: callID, held: held))
        case .ended(let callID, let cause):
            offers[callID] = nil
            applicationSources[callID] = nil
            offerPromises.removeValue(forKey: callID)?.fail(VertoPhoneError.callEnded(cause))
            guard let call = calls.removeValue(forKey: callID) else { return }
            EngineMetrics.callsActive.record(calls.count)
            EngineMetrics.callEnded(cause: cause.name)
            call.logger.info("call ended", metadata: ["cause": "\(cause.name)"])
            call.media.closeOnLoop()
            events.yield(.ended(callID: callID, cause: cause))
        }
    }

    static func mediaSource(_ s: LegSource) -> MediaSource {
        switch s {
        case .silence, .digitCollector: return .silence
        case .echo: return .echo
        case .tone(let f): return .tone(frequencies: [f], amplitude: 0.3)
        }
    }

    static func otherLeg(_ callID: String?) -> JSONObject {
        guard let callID else { return [:] }
        return ["verto_h_other_leg_unique_id": .string(callID)]
    }

    // MARK: - media of the legs

    /// A leg's media session, ending the call (MEDIA_TIMEOUT) when its peer connection fails or is
    /// not up within `mediaSetupTimeout` — unless the call is detached and waits for its client to
    /// come back with a new peer connection.
    private func makeMedia(_ callID: String) -> MediaSession {
        let media = MediaSession(callID: callID, eventLoop: loop)
        media.setupTimeout = TimeAmount(configuration.mediaSetupTimeout)
        media.onFailure = { [weak self] reason in
            guard let self, self.calls[callID] != nil, self.core.dialog(callID)?.state != .recovering else { return }
            self.calls[callID]?.logger.notice("media failed: ending the call", metadata: ["reason": "\(reason)"])
            self.hangup(callID, cause: .mediaTimeout)
        }
        return media
    }

    /// Our answer to an inbound leg's offer, on a fresh peer; then its route starts.
    private func prepareAnswer(_ callID: String) {
        guard let call = calls[callID], let offer = offers.removeValue(forKey: callID) else { return }
        peers.take()
            .assumeIsolated().whenComplete { [self] result in
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
                        let answer = try driver.withCoreOnLoop { [now = loop.now] in try $0.acceptOffer(offer, now: now) }
                        call.localSDP = answer.text
                        call.media.attach(driver)
                        events.yield(.newWebRTCCall(call.info, call.media))
                        control.mediaReady(callID: callID, now: loop.now)
                        runControl()
                        call.media.whenConnected { [weak self] in
                            guard let self else { return }
                            self.control.mediaConnected(callID: callID, now: self.loop.now)
                            self.runControl()
                        }
                    } catch {
                        call.logger.info("cannot answer offer", metadata: ["error": "\(error)"])
                        _ = driver.close()
                        hangup(callID, cause: .incompatibleDestination)
                    }
                }
            }
    }

    /// A leg call control places to a client: a fresh peer, its offer in `verto.invite`.
    private func offerLeg(_ o: LegOffer) {
        peers.take()
            .assumeIsolated().whenComplete { [self] result in
                guard control.wantsOffer(o.callID), let call = calls[o.callID] else {
                    // Over meanwhile: the caller hung up, or another leg of the fork answered.
                    if case .success(let d) = result { _ = d.close() }
                    return
                }
                let driver: DatagramDriver<PeerSession>
                switch result {
                case .failure(let error):
                    call.logger.error("media socket failed", metadata: ["error": "\(error)"])
                    offerPromises.removeValue(forKey: o.callID)?.fail(error)
                    control.legFailed(callID: o.callID, cause: .normalTemporaryFailure)
                    runControl()
                    return
                case .success(let d):
                    driver = d
                }
                let offer = driver.withCoreOnLoop { [now = loop.now] in $0.createOffer(now: now) }
                do {
                    _ = try core.originate(toSessid: o.sessid, offer: CallOffer(
                        callID: o.callID, sdp: offer.text, callerIDName: o.callerIDName, callerIDNumber: o.callerIDNumber,
                        calleeIDName: o.user, calleeIDNumber: o.user, displayDirection: "outbound",
                        headers: Self.otherLeg(o.partner)), now: loop.now)
                } catch {
                    _ = driver.close()
                    offerPromises.removeValue(forKey: o.callID)?.fail(error)
                    control.legFailed(callID: o.callID, cause: .normalTemporaryFailure)
                    runControl()
                    return
                }
                call.media.attach(driver)
                call.media.setSourceOnLoop(applicationSources.removeValue(forKey: o.callID) ?? Self.mediaSource(o.source))
                control.legOffered(callID: o.callID)
                events.yield(.newWebRTCCall(call.info, call.media))
                pump()
                offerPromises.removeValue(forKey: o.callID)?.succeed(o.callID)
            }
    }

    private func remoteAnswered(_ callID: String, sdp: String) {
        guard let call = calls[callID], let driver = call.media.peer else { return }
        do {
            try driver.applyRemoteAnswer(sdp)
        } catch {
            call.logger.info("bad answer from client", metadata: ["error": "\(error)"])
            hangup(callID, cause: .incompatibleDestination)
            return
        }
        control.remoteAnswered(callID: callID, now: loop.now)
        runControl()
    }

    // MARK: - the application's commands

    /// The application calls a logged-in user (the session that logged in last); the future
    /// completes once the offer went out.
    func originate(toUser user: String, callerIDNumber: String, callerIDName: String, source: MediaSource) -> EventLoopFuture<String> {
        let ids: [String]
        do {
            ids = try control.originate(toUser: user, callerIDNumber: callerIDNumber, callerIDName: callerIDName, route: .application,
                                        source: .silence, partner: nil, now: loop.now)
        } catch {
            runControl()
            return loop.makeFailedFuture(VertoPhoneError.userNotLoggedIn(user))
        }
        let promise = loop.makePromise(of: String.self)
        applicationSources[ids[0]] = source
        offerPromises[ids[0]] = promise
        runControl()
        return promise.futureResult
    }

    /// `VertoEndpoint.answer(callID:)`: only a call routed to the application, not yet answered.
    func answerForApplication(_ callID: String) throws {
        do {
            try control.answerForApplication(callID: callID)
        } catch .unknownCall {
            throw VertoPhoneError.unknownCall(callID)
        } catch {
            throw VertoPhoneError.invalidState("\(error)")
        }
        runControl()
    }

    func hangup(_ callID: String, cause: HangupCause) {
        control.hangup(callID, cause: cause)
        runControl()
    }

    /// Live sessions and their users.
    var userOfSessid: [String: String] { control.liveSessions }

    // MARK: - re-attach (docs/verto-protocol.md §4.8)

    private func reattach(_ callID: String) {
        guard let call = calls[callID] else { return }
        peers.take()
            .assumeIsolated().whenComplete { [self] result in
                guard calls[callID] === call, case .success(let driver) = result else {
                    if case .success(let d) = result { _ = d.close() }
                    return
                }
                let offer = driver.withCoreOnLoop { [now = loop.now] in $0.createOffer(now: now) }
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
            try driver.applyRemoteAnswer(sdp)
            call.media.attach(driver)
        } catch {
            _ = driver.close()
            hangup(callID, cause: .bearerCapabilityNotAvail)
        }
    }

    /// `verto.modify` `updateMedia`: the client's new offer answered on a new peer.
    private func updateMedia(_ req: ModifyRequest) {
        let callID = req.params.dialogParams.callID
        func fail() {
            core.completeModify(req, result: .failure(JSONRPCErrorObject(code: VertoErrorCode.sessionError, message: "MEDIA ERROR")),
                                now: loop.now)
            pump()
        }
        guard let call = calls[callID], let sdp = req.params.sdp, let offer = try? SessionDescription(parsing: sdp) else { return fail() }
        peers.take()
            .assumeIsolated().whenComplete { [self] result in
                guard case .success(let driver) = result, calls[callID] === call,
                      let answer = try? driver.withCoreOnLoop({ [now = loop.now] in try $0.acceptOffer(offer, now: now) }) else {
                    if case .success(let d) = result { _ = d.close() }
                    return fail()
                }
                call.media.attach(driver)
                core.completeModify(req, result: .success(["sdp": .string(answer.text)]), now: loop.now)
                pump()
            }
    }

    func shutdown() {
        stopped = true
        peers.close()
        control.hangupAll(cause: .managerRequest)
        runControl()
        for ws in sockets.values { ws.close() }
        timer.cancel()
        controlTimer.cancel()
        events.finish()
    }
}
