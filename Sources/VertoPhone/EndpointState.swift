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
///
/// Signalling runs on `loop`; each call's media on one of `mediaLoops` (in turn; a leg placed for
/// a partner on the partner's loop, so a bridge forwards payloads without a hop). The state
/// reaches a call's media only through `MediaSession.run` (a task of the media's loop, in the
/// order sent), and the media's callbacks come back through `home`.
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
    /// The loops that carry call media, each with a PeerSession kept ready for its next call leg
    /// (on the loop's shared port, or with a socket of its own).
    let mediaLoops: [MediaLoop]
    private var nextMediaLoop = 0
    /// The way back to this state from a media loop's callbacks.
    private(set) lazy var home = EndpointHome(self)

    /// `sharedPorts`: one per media loop, in the same order (empty: a socket per call).
    init(configuration: VertoEndpointConfiguration, loop: EventLoop, mediaLoops: [EventLoop], sharedPorts: [SharedDatagramPort] = [],
         events: EventHub<VertoEndpointEvent>, logger: Logger) {
        self.configuration = configuration
        self.loop = loop
        let loops = mediaLoops.isEmpty ? [loop] : mediaLoops
        self.mediaLoops = loops.indices.map { i in
            MediaLoop(loop: loops[i], configuration: configuration, shared: sharedPorts.indices.contains(i) ? sharedPorts[i] : nil)
        }
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
            for m in mediaLoops { m.refill() }
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
            call.media.run { $0.receivedSignalledDigits(digits) }
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
            let collects = source == .digitCollector, mediaSource = Self.mediaSource(source)
            call.media.run { media in
                media.setSourceOnLoop(mediaSource)
                if collects { media.addObserver { _ in } }
            }
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
            let forward = configuration.bridgesWithoutTranscoding
            legA.media.run { [weak b = legB.media] mediaA in
                guard let mediaB = b else { return }
                // Payloads pass as they are when both legs are on this loop with the same codec.
                if forward, mediaA.forwardOnLoop(with: mediaB) { return }
                mediaA.addObserver { [weak mediaB] f in mediaB?.send(f.samples) }
                mediaB.run { [weak mediaA] mediaB in mediaB.addObserver { f in mediaA?.send(f.samples) } }
            }
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
            let call = ServerCall(info: info, media: makeMedia(leg.callID, partner: leg.partner), sessid: leg.sessid, logger: logger)
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
            call.media.run { $0.closeOnLoop() }
            if let peer = call.pendingReattach { _ = peer.close() }
            call.pendingReattach = nil
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
    /// come back with a new peer connection. A leg placed for a partner shares the partner's loop.
    private func makeMedia(_ callID: String, partner: String?) -> MediaSession {
        let mediaLoop: EventLoop
        if let partner, let other = calls[partner] {
            mediaLoop = other.media.eventLoop
        } else {
            mediaLoop = mediaLoops[nextMediaLoop].loop
            nextMediaLoop = (nextMediaLoop + 1) % mediaLoops.count
        }
        let media = MediaSession(callID: callID, eventLoop: mediaLoop)
        let timeout = TimeAmount(configuration.mediaSetupTimeout), home = self.home, id = ObjectIdentifier(media)
        media.run { media in
            media.setupTimeout = timeout
            media.onFailure = { reason in
                home.run { state in
                    // This call's media (a later call may reuse the callID by the time it arrives).
                    guard state.calls[callID].map({ ObjectIdentifier($0.media) }) == id,
                          state.core.dialog(callID)?.state != .recovering else { return }
                    state.calls[callID]?.logger.notice("media failed: ending the call", metadata: ["reason": "\(reason)"])
                    state.hangup(callID, cause: .mediaTimeout)
                }
            }
        }
        return media
    }

    /// Why `takePeer` failed: no socket, or `prepare` threw.
    private enum PeerSetupFailure: Error {
        case socket(Error)
        case prepare(Error)
    }

    /// A ready peer from the pool of `media`'s loop with `prepare` run on it there (the peer's SDP
    /// work needs its loop); completes on the endpoint's loop. A `prepare` that throws closes the peer.
    private func takePeer<T: Sendable>(for media: MediaSession,
                                       _ prepare: @escaping @Sendable (DatagramDriver<PeerSession>, NIODeadline) throws -> T)
        -> EventLoopFuture<(driver: DatagramDriver<PeerSession>, prepared: T)> {
        let mediaLoop = media.eventLoop
        guard let pool = mediaLoops.first(where: { $0.loop === mediaLoop }) else {
            return loop.makeFailedFuture(PeerSetupFailure.socket(VertoPhoneError.invalidState("no media loop")))
        }
        return mediaLoop.flatSubmit { pool.take() }
            .flatMapErrorThrowing { throw PeerSetupFailure.socket($0) }
            .flatMapThrowing { driver in
                do { return (driver, try prepare(driver, mediaLoop.now)) } catch {
                    _ = driver.close()
                    throw PeerSetupFailure.prepare(error)
                }
            }
            .hop(to: loop)
    }

    /// Our answer to an inbound leg's offer, on a fresh peer; then its route starts.
    private func prepareAnswer(_ callID: String) {
        guard let call = calls[callID], let offer = offers.removeValue(forKey: callID) else { return }
        takePeer(for: call.media) { driver, now in
            try driver.withCoreOnLoop { core in (answer: try core.acceptOffer(offer, now: now).text, rate: core.audioFormat.sampleRate) }
        }
            .assumeIsolated().whenComplete { [self] result in
                guard calls[callID] === call else {
                    if case .success(let p) = result { _ = p.driver.close() }
                    return
                }
                switch result {
                case .failure(PeerSetupFailure.prepare(let error)):
                    call.logger.info("cannot answer offer", metadata: ["error": "\(error)"])
                    hangup(callID, cause: .incompatibleDestination)
                case .failure(let error):
                    call.logger.error("media socket failed", metadata: ["error": "\(error)"])
                    hangup(callID, cause: .normalTemporaryFailure)
                case .success(let (driver, prepared)):
                    call.localSDP = prepared.answer
                    call.media.announceSampleRate(prepared.rate)
                    let home = self.home, id = ObjectIdentifier(call.media)
                    call.media.run { media in
                        media.attach(driver)
                        media.whenConnected {
                            home.run { state in
                                guard state.calls[callID].map({ ObjectIdentifier($0.media) }) == id else { return }
                                state.control.mediaConnected(callID: callID, now: state.loop.now)
                                state.runControl()
                            }
                        }
                    }
                    events.yield(.newWebRTCCall(call.info, call.media))
                    control.mediaReady(callID: callID, now: loop.now)
                    runControl()
                }
            }
    }

    /// A leg call control places to a client: a fresh peer, its offer in `verto.invite`.
    private func offerLeg(_ o: LegOffer) {
        guard let placed = calls[o.callID] else {
            offerPromises.removeValue(forKey: o.callID)?.fail(VertoPhoneError.unknownCall(o.callID))
            return
        }
        takePeer(for: placed.media) { driver, now in driver.withCoreOnLoop { $0.createOffer(now: now) }.text }
            .assumeIsolated().whenComplete { [self] result in
                guard control.wantsOffer(o.callID), let call = calls[o.callID], call === placed else {
                    // Over meanwhile: the caller hung up, or another leg of the fork answered.
                    if case .success(let p) = result { _ = p.driver.close() }
                    return
                }
                let driver: DatagramDriver<PeerSession>, offer: String
                switch result {
                case .failure(let error):
                    call.logger.error("media socket failed", metadata: ["error": "\(error)"])
                    offerPromises.removeValue(forKey: o.callID)?.fail(error)
                    control.legFailed(callID: o.callID, cause: .normalTemporaryFailure)
                    runControl()
                    return
                case .success(let p):
                    (driver, offer) = p
                }
                do {
                    _ = try core.originate(toSessid: o.sessid, offer: CallOffer(
                        callID: o.callID, sdp: offer, callerIDName: o.callerIDName, callerIDNumber: o.callerIDNumber,
                        calleeIDName: o.user, calleeIDNumber: o.user, displayDirection: "outbound",
                        headers: Self.otherLeg(o.partner)), now: loop.now)
                } catch {
                    _ = driver.close()
                    offerPromises.removeValue(forKey: o.callID)?.fail(error)
                    control.legFailed(callID: o.callID, cause: .normalTemporaryFailure)
                    runControl()
                    return
                }
                let source = applicationSources.removeValue(forKey: o.callID) ?? Self.mediaSource(o.source)
                call.media.run { media in
                    media.attach(driver)
                    media.setSourceOnLoop(source)
                }
                control.legOffered(callID: o.callID)
                events.yield(.newWebRTCCall(call.info, call.media))
                pump()
                offerPromises.removeValue(forKey: o.callID)?.succeed(o.callID)
            }
    }

    /// The client's answer to a leg we offered, applied on the leg's media loop; call control
    /// hears of it once it is applied.
    private func remoteAnswered(_ callID: String, sdp: String) {
        guard let call = calls[callID] else { return }
        let home = self.home
        call.media.run { media in
            guard let driver = media.peer else { return }
            do {
                try driver.applyRemoteAnswer(sdp)
                home.run { state in
                    guard state.calls[callID]?.media === media else { return }
                    state.control.remoteAnswered(callID: callID, now: state.loop.now)
                    state.runControl()
                }
            } catch {
                let reason = "\(error)"
                home.run { state in
                    guard let call = state.calls[callID], call.media === media else { return }
                    call.logger.info("bad answer from client", metadata: ["error": "\(reason)"])
                    state.hangup(callID, cause: .incompatibleDestination)
                }
            }
        }
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
        takePeer(for: call.media) { driver, now in driver.withCoreOnLoop { $0.createOffer(now: now) }.text }
            .assumeIsolated().whenComplete { [self] result in
                guard calls[callID] === call, case .success(let (driver, offer)) = result else {
                    if case .success(let p) = result { _ = p.driver.close() }
                    return
                }
                call.pendingReattach = driver
                do { try core.reattach(callID: callID, sdp: offer, now: loop.now) } catch {
                    _ = driver.close()
                    hangup(callID, cause: .bearerCapabilityNotAvail)
                }
                pump()
            }
    }

    private func applyReattachAnswer(_ callID: String, sdp: String) {
        guard let call = calls[callID], let driver = call.pendingReattach else { return }
        call.pendingReattach = nil
        let home = self.home
        call.media.run { media in
            do {
                try driver.applyRemoteAnswer(sdp)
                media.attach(driver)
            } catch {
                _ = driver.close()
                home.run { state in
                    guard state.calls[callID]?.media === media else { return }
                    state.hangup(callID, cause: .bearerCapabilityNotAvail)
                }
            }
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
        takePeer(for: call.media) { driver, now in try driver.withCoreOnLoop { try $0.acceptOffer(offer, now: now) }.text }
            .assumeIsolated().whenComplete { [self] result in
                guard case .success(let (driver, answer)) = result, calls[callID] === call else {
                    if case .success(let p) = result { _ = p.driver.close() }
                    return fail()
                }
                call.media.run { $0.attach(driver) }
                core.completeModify(req, result: .success(["sdp": .string(answer)]), now: loop.now)
                pump()
            }
    }

    func shutdown() {
        stopped = true
        for m in mediaLoops { m.close() }
        control.hangupAll(cause: .managerRequest)
        runControl()
        for ws in sockets.values { ws.close() }
        timer.cancel()
        controlTimer.cancel()
        events.finish()
    }
}

/// An event loop that carries call media, with its spare peer (`PeerPool`, confined to the loop).
struct MediaLoop: Sendable {
    let loop: EventLoop
    private let peers: NIOLoopBoundBox<PeerPool>

    init(loop: EventLoop, configuration: VertoEndpointConfiguration, shared: SharedDatagramPort?) {
        precondition(shared.map { $0.eventLoop === loop } ?? true, "a shared port serves its own loop")
        let pool = PeerPool(loop: loop, host: configuration.mediaHost, configuration: configuration.media,
                            advertise: { [mediaHost = configuration.mediaHost] in mediaHost == "0.0.0.0" ? HostAddresses.ipv4(includeLoopback: true) : [] })
        pool.externalAddress = configuration.mediaExternalAddress
        pool.ports = configuration.mediaPorts
        pool.shared = shared
        self.loop = loop
        self.peers = .makeBoxSendingValue(pool, eventLoop: loop)
    }

    /// A ready peer; on `loop` only.
    func take() -> EventLoopFuture<DatagramDriver<PeerSession>> { peers.value.take() }

    /// Prepares the spare (from any loop).
    func refill() { loop.execute { [peers] in peers.value.refill() } }

    func close() { loop.execute { [peers] in peers.value.close() } }
}

/// The way back from a call's media (its loop's callbacks) to the endpoint's state, on the
/// endpoint's loop. Weak: a call's media does not keep the endpoint alive.
struct EndpointHome: Sendable {
    private final class Reference {
        weak var state: EndpointState?
        init(_ state: EndpointState) { self.state = state }
    }
    private let loop: EventLoop
    private let reference: NIOLoopBound<Reference>

    init(_ state: EndpointState) {
        loop = state.loop
        reference = NIOLoopBound(Reference(state), eventLoop: state.loop)
    }

    /// Runs `body` with the state: at once on the endpoint's loop, else as a task of it.
    func run(_ body: @escaping @Sendable (EndpointState) -> Void) {
        if loop.inEventLoop {
            if let state = reference.value.state { body(state) }
        } else {
            loop.execute { [reference] in if let state = reference.value.state { body(state) } }
        }
    }
}
