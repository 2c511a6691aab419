import CoreSupport
import CryptoCore
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

/// The client role's state, confined to its event loop: not Sendable, held by `VertoClient` in a
/// `NIOLoopBoundBox` and reached from other threads only through `ClientHandle`, which hops there.
final class ClientState {
    var options: VertoClientOptions
    /// The ICE servers were resolved into `options.media` (once, before the first login).
    var iceServersResolved = false
    let loop: EventLoop
    let events: EventHub<VertoClientEngineEvent>
    let incoming: AsyncStream<Call>.Continuation
    let logger: Logger
    var session: VertoClientSession
    var ws: WebSocketConnection?
    var calls: [String: Call] = [:]
    var offers: [String: CallOffer] = [:]
    var applied: Set<String> = []
    var loginPromise: EventLoopPromise<Void>?
    var createdPromises: [String: EventLoopPromise<Void>] = [:]
    var modifyPromises: [String: EventLoopPromise<Void>] = [:]
    /// New peers offered with `updateMedia` (ICE restart), waiting for the server's answer.
    var restarting: [String: DatagramDriver<PeerSession>] = [:]
    /// ICE restarts started because a call's audio stalled or the addresses changed (diagnostics, tests).
    var iceRestartsStarted = 0
    /// The machine's addresses as last seen by the address watch, and its timer.
    var watchedAddresses: [String]?
    var addressWatch: Scheduled<Void>?
    /// The session core's timer.
    lazy var timer = DeadlineTimer(loop: loop)
    /// One bound socket + PeerSession kept ready for the next call (answer, invite, re-attach).
    lazy var peers = PeerPool(loop: loop, host: options.mediaHost, configuration: options.media,
                              advertise: { [weak self] in self?.advertisedHosts() ?? [] })
    /// The local address of the signalling connection's route (IPv4), once connected: the one
    /// address known to reach the server, so it is always a host candidate (first).
    var signallingLocalIP: String?

    /// Host candidate addresses for a socket bound to `mediaHost`: with 0.0.0.0, the signalling
    /// route's local address first, then the machine's other addresses (IPv6 and IPv4 interleaved
    /// by the media factory, RFC 8421).
    func advertisedHosts() -> [String] {
        guard options.mediaHost == "0.0.0.0" else { return [options.mediaHost] }
        var hosts = HostAddresses.ipv4(includeLoopback: false)
        if options.offerIPv6 { hosts += HostAddresses.ipv6(includeLoopback: false) }
        if let route = signallingLocalIP {
            hosts.removeAll { $0 == route }
            hosts.insert(route, at: 0)
        }
        return hosts
    }
    var observers: [@Sendable (VertoClientEvent, Call?) -> Void] = []
    /// The frame trace (`traceJSONRPC`), nil when off.
    lazy var trace: Logger? = options.traceJSONRPC ? Logger(label: "verto.trace") : nil

    /// Given to the calls this client makes (set on the loop right after the client is made).
    var commands: ClientHandle?

    init(options: VertoClientOptions, loop: EventLoop, events: EventHub<VertoClientEngineEvent>,
         incoming: AsyncStream<Call>.Continuation, logger: Logger) {
        self.options = options
        self.loop = loop
        self.events = events
        self.incoming = incoming
        self.logger = logger
        var config = VertoClientConfiguration(login: options.login, password: options.password,
                                              userVariables: options.userVariables, sessid: options.sessid)
        config.autoReconnect = options.autoReconnect
        config.reconnectInitialDelay = TimeAmount(options.reconnectDelay)
        session = VertoClientSession(configuration: config, random: .system, logger: logger)
    }

    // MARK: - drive the core

    func pump() {
        while let out = session.pollOutput() {
            switch out {
            case .connect: openSocket()
            case .send(let text):
                if let trace { trace.info("out", metadata: ["frame": "\(Redact.jsonRPCFrame(text))"]) }
                options.frameTap?(true, text)
                ws?.send(text: text)
            case .close:
                ws?.close()
                ws = nil
            case .event(let e):
                let before = observers.isEmpty ? nil : e.callID.flatMap { calls[$0] }
                handle(e)
                if !observers.isEmpty {
                    let call = before ?? e.callID.flatMap { calls[$0] }
                    for o in observers { o(e, call) }
                }
            }
        }
        arm()
    }

    private func arm() {
        timer.arm(session.nextDeadline()) { [self] in
            session.handleTimeout(now: loop.now)
            pump()
        }
    }

    private func openSocket() {
        // The socket's callbacks may run on another thread: they reach this state on its loop.
        let bound = NIOLoopBound(self, eventLoop: loop)
        let loop = self.loop
        let callbacks = WebSocketCallbacks(
            onText: { c, text in
                loop.execute {
                    let s = bound.value
                    guard s.ws === c else { return }
                    if let trace = s.trace { trace.info("in", metadata: ["frame": "\(Redact.jsonRPCFrame(text))"]) }
                    s.options.frameTap?(false, text)
                    s.session.receive(text, now: loop.now)
                    s.pump()
                }
            },
            onClose: { c in
                loop.execute {
                    let s = bound.value
                    guard s.ws === c else { return }
                    s.ws = nil
                    s.session.transportClosed(now: loop.now)
                    s.pump()
                }
            })
        let config = WebSocketClientConfiguration(trust: options.trust, connectTimeout: TimeAmount(options.connectTimeout))
        let future: EventLoopFuture<WebSocketConnection>
        do {
            future = try WebSocketClient.connectFuture(url: options.url, configuration: config, eventLoop: loop, callbacks: callbacks,
                                                       logger: logger)
        } catch {
            future = loop.makeFailedFuture(error)
        }
        future.assumeIsolated().whenComplete { [self] result in
            switch result {
            case .success(let c):
                ws = c
                if let ip = c.localAddress?.ipAddress, !ip.lowercased().hasPrefix("fe80") { signallingLocalIP = ip }
                session.transportConnected(now: loop.now)
            case .failure(let e):
                logger.info("connect failed", metadata: ["error": "\(e)"])
                session.transportClosed(now: loop.now)
                if let p = loginPromise, !options.autoReconnect {
                    loginPromise = nil
                    p.fail(e)
                }
            }
            pump()
        }
    }

    private func handle(_ e: VertoClientEvent) {
        switch e {
        case .loggedIn(let sessid, _):
            events.yield(.loggedIn(sessid: sessid))
            peers.refill()
            watchAddresses()
            loginPromise?.succeed()
            loginPromise = nil
        case .loginFailed(let err):
            events.yield(.loginFailed("\(err)"))
            loginPromise?.fail(VertoPhoneError.loginFailed("\(err)"))
            loginPromise = nil
        case .ready(_, let ended):
            for id in ended { endCall(id, cause: .recoveryOnTimerExpire) }
        case .incomingCall(let offer):
            let media = MediaSession(callID: offer.callID, eventLoop: loop)
            watchPath(media)
            let call = Call(callID: offer.callID, direction: .inbound, remoteNumber: offer.callerIDNumber ?? "",
                            remoteName: offer.callerIDName, media: media, client: handle)
            calls[offer.callID] = call
            offers[offer.callID] = offer
            incoming.yield(call)
        case .reattachOffer(let offer):
            reattach(offer)
        case .reattached(let callID):
            calls[callID]?.update(.active)
            events.yield(.reattached(callID: callID))
        case .callCreated(let callID):
            calls[callID]?.update(.created)
            createdPromises.removeValue(forKey: callID)?.succeed()
        case .earlyMedia(let callID, let sdp):
            applyRemoteAnswer(callID, sdp)
            calls[callID]?.update(.early)
        case .answered(let callID, let sdp):
            if let sdp { applyRemoteAnswer(callID, sdp) }
            calls[callID]?.update(.active)
        case .callEnded(let callID, let cause, _):
            endCall(callID, cause: cause)
        case .holdStateChanged(let callID, let hold):
            calls[callID]?.update(hold == .held ? .held : .active)
            modifyPromises.removeValue(forKey: callID)?.succeed()
        case .modifyResult(let callID, let action, let result):
            if action == .updateMedia, let driver = restarting.removeValue(forKey: callID) {
                restarted(callID, driver, answer: result.string("sdp"))
            } else {
                modifyPromises.removeValue(forKey: callID)?.succeed()
            }
        case .display(let d):
            calls[d.callID]?.setDisplay(name: d.displayName, number: d.displayNumber)
            events.yield(.display(callID: d.callID, name: d.displayName, number: d.displayNumber))
        case .requestFailed(let method, let callID, let error):
            if let callID {
                if let d = restarting.removeValue(forKey: callID) { _ = d.close() }
                createdPromises.removeValue(forKey: callID)?.fail(VertoPhoneError.refused(method: method, error))
                modifyPromises.removeValue(forKey: callID)?.fail(VertoPhoneError.refused(method: method, error))
            }
        case .disconnected(let at):
            ws = nil
            events.yield(.disconnected(willReconnect: at != nil))
            for c in calls.values where c.state == .active || c.state == .held { c.update(.recovering) }
        case .punted:
            events.yield(.punted)
        case .keepaliveFailed, .info, .vertoEvent, .announce, .prompt, .mediaParams, .reply, .protocolError:
            break
        }
    }

    /// The client's logger with a call's `call_id`, `user` and (shortened) `sessid` as metadata.
    private func callLogger(_ callID: String) -> Logger {
        var l = logger
        l[metadataKey: "call_id"] = "\(callID)"
        l[metadataKey: "user"] = "\(Redact.number(options.login.split(separator: "@").first.map(String.init) ?? ""))"
        l[metadataKey: "sessid"] = "\(Redact.identifier(session.sessid))"
        return l
    }

    private func endCall(_ callID: String, cause: HangupCause) {
        guard let call = calls.removeValue(forKey: callID) else { return }
        callLogger(callID).info("call ended", metadata: ["cause": "\(cause.name)"])
        offers[callID] = nil
        if let d = restarting.removeValue(forKey: callID) { _ = d.close() }
        call.update(.ended(cause))
        call.media.closeOnLoop()
        createdPromises.removeValue(forKey: callID)?.fail(VertoPhoneError.callEnded(cause))
        modifyPromises.removeValue(forKey: callID)?.fail(VertoPhoneError.callEnded(cause))
    }

    private func applyRemoteAnswer(_ callID: String, _ sdp: String) {
        guard !applied.contains(callID), let call = calls[callID], let driver = call.media.peer else { return }
        applied.insert(callID)
        do {
            try driver.applyRemoteAnswer(sdp)
        } catch {
            callLogger(callID).info("cannot apply the server's answer", metadata: ["error": "\(error)"])
            try? session.hangup(callID: callID, cause: .incompatibleDestination, now: loop.now)
            pump()
        }
    }

    private func reattach(_ offer: CallOffer) {
        guard let call = calls[offer.callID] else { return }
        call.update(.recovering)
        peers.take()
            .assumeIsolated()
            .whenComplete { [self] result in
                guard case .success(let driver) = result, calls[offer.callID] === call,
                      let sdp = try? SessionDescription(parsing: offer.sdp),
                      let answer = try? driver.withCoreOnLoop({ [now = loop.now] in try $0.acceptOffer(sdp, now: now) }) else {
                    if case .success(let d) = result { _ = d.close() }
                    return
                }
                call.media.attach(driver)
                try? session.attach(callID: offer.callID, sdp: answer.text, now: loop.now)
                pump()
            }
    }


    // MARK: - commands (on the loop; `ClientHandle` brings them there)

    func startLogin(_ promise: EventLoopPromise<Void>) {
        loginPromise = promise
        session.start(now: loop.now)
        pump()
    }

    func stop() {
        addressWatch?.cancel()
        addressWatch = nil
        peers.close()
        session.stop(now: loop.now)
        pump()
        ws?.close()
        ws = nil
    }

    /// A new call to `destination`: its peer, its `verto.invite`; the second future completes at
    /// `CALL CREATED`.
    func startCall(_ destination: String, source: MediaSource) -> EventLoopFuture<(Call, EventLoopFuture<Void>)> {
        peers.take()
            .assumeIsolated()
            .flatMapThrowing { [self] driver in
                let offer = driver.withCoreOnLoop { [now = loop.now] in $0.createOffer(now: now) }
                var dp = DialogParams(callID: "", destinationNumber: destination, callerIDName: options.callerIDName,
                                      callerIDNumber: options.callerIDNumber)
                dp.remoteCallerIDNumber = destination
                let callID: String
                do { callID = try session.invite(sdp: offer.text, dialogParams: dp, now: loop.now) } catch {
                    _ = driver.close()
                    throw VertoPhoneError.call(error)
                }
                let media = MediaSession(callID: callID, eventLoop: loop)
                watchPath(media)
                media.attach(driver)
                media.setSourceOnLoop(source)
                let call = Call(callID: callID, direction: .outbound, remoteNumber: destination, remoteName: nil, media: media,
                                client: handle)
                calls[callID] = call
                let created = loop.makePromise(of: Void.self)
                createdPromises[callID] = created
                pump()
                return (call, created.futureResult)
            }
            .nonisolated()
    }

    /// The server did not confirm the invite within the caller's bound: the call is given up on
    /// both ends (a `verto.bye`, in case the server did create it), so that neither keeps media
    /// running for a call nobody waits for.
    func inviteTimedOut(_ callID: String) {
        guard let promise = createdPromises.removeValue(forKey: callID) else { return }
        promise.fail(VertoPhoneError.timeout("verto.invite"))
        try? session.hangup(callID: callID, cause: .recoveryOnTimerExpire, now: loop.now)
        pump()
        endCall(callID, cause: .recoveryOnTimerExpire)
    }

    func startAnswer(_ call: Call) -> EventLoopFuture<Void> {
        guard let offer = offers[call.callID] else {
            return loop.makeFailedFuture(VertoPhoneError.unknownCall(call.callID))
        }
        return peers.take()
            .assumeIsolated()
            .flatMapThrowing { [self] driver in
                do {
                    let answer = try driver.withCoreOnLoop { [now = loop.now] in
                        try $0.acceptOffer(try SessionDescription(parsing: offer.sdp), now: now)
                    }
                    call.media.attach(driver)
                    try session.answer(callID: call.callID, sdp: answer.text, now: loop.now)
                    pump()
                } catch {
                    _ = driver.close()
                    throw VertoPhoneError.call(error)
                }
            }
            .nonisolated()
    }

    func hangup(_ call: Call, cause: HangupCause) throws {
        // Hanging up a call that has already ended (the far end was first) does nothing.
        if call.state.isEnded { return }
        try session.hangup(callID: call.callID, cause: cause, now: loop.now)
        pump()
        endCall(call.callID, cause: cause)
    }

    func startModify(_ call: Call, _ action: ModifyAction, destination: String?, replaceCallID: String?) -> EventLoopFuture<Void> {
        let p = loop.makePromise(of: Void.self)
        modifyPromises.removeValue(forKey: call.callID)?.fail(VertoPhoneError.invalidState("superseded"))
        modifyPromises[call.callID] = p
        do {
            try session.modify(callID: call.callID, action: action, destination: destination, replaceCallID: replaceCallID,
                               now: loop.now)
        } catch {
            modifyPromises[call.callID] = nil
            p.fail(VertoPhoneError.call(error))
        }
        pump()
        return p.futureResult
    }

    /// ICE restart (RFC 8445 §9): a new peer — fresh ICE credentials, candidates and DTLS — offered
    /// with `verto.modify` `updateMedia`; the server's answer moves the call's media onto it. The new
    /// peer has a certificate of its own: a server keeps a DTLS association as long as the
    /// fingerprint stays the same (FreeSWITCH 1.10 does), and a new socket needs a new handshake.
    func startRestartICE(_ call: Call) -> EventLoopFuture<Void> {
        guard calls[call.callID] === call else { return loop.makeFailedFuture(VertoPhoneError.unknownCall(call.callID)) }
        let identity: DTLSIdentity
        do { identity = try DTLSIdentity() } catch { return loop.makeFailedFuture(VertoPhoneError.callFailed("DTLS identity: \(error)")) }
        // The new peer keeps checking while the path is down (500 ms apart, up to the checking
        // timeout) instead of giving up after ~4 s, so audio returns as soon as the path does.
        var media = options.media
        media.ice.maximumTransmissions = max(media.ice.maximumTransmissions, 60)
        return MediaFactory.makePeer(on: loop, host: options.mediaHost, configuration: media, advertise: advertisedHosts(),
                                     identity: identity)
            .assumeIsolated()
            .flatMap { [self] driver -> EventLoopFuture<Void> in
                let offer = driver.withCoreOnLoop { [now = loop.now] in $0.createOffer(now: now) }
                do {
                    try session.modify(callID: call.callID, action: .updateMedia, sdp: offer.text, now: loop.now)
                } catch {
                    _ = driver.close()
                    return loop.makeFailedFuture(VertoPhoneError.call(error))
                }
                modifyPromises.removeValue(forKey: call.callID)?.fail(VertoPhoneError.invalidState("superseded"))
                if let old = restarting.updateValue(driver, forKey: call.callID) { _ = old.close() }
                let p = loop.makePromise(of: Void.self)
                modifyPromises[call.callID] = p
                pump()
                return p.futureResult
            }
            .nonisolated()
    }

    /// Restarts ICE on its own when the call's audio stalls (RFC 8445 §9; as a browser does on
    /// "disconnected"): the new peer offers fresh candidates from wherever this host now is, and
    /// keeps checking (up to `ICEConfiguration.checkingTimeout`) until the path works again. One
    /// restart at a time; a restart that cannot be signalled is retried every 2 s while the call lasts.
    func watchPath(_ media: MediaSession) {
        media.onPathStalled = { [weak self] in self?.restartWhenStalled(media.callID, attempt: 1) }
    }

    private func restartWhenStalled(_ callID: String, attempt: Int) {
        guard options.restartICEWhenStalled else { return }
        restartOnItsOwn(callID, reason: "audio stalled", attempt: attempt)
    }

    private func restartOnItsOwn(_ callID: String, reason: String, attempt: Int) {
        guard let call = calls[callID], call.state == .active, restarting[callID] == nil, modifyPromises[callID] == nil else { return }
        callLogger(callID).info("restarting ICE", metadata: ["reason": "\(reason)", "attempt": "\(attempt)"])
        iceRestartsStarted += 1
        events.yield(.iceRestart(callID: callID, reason: reason))
        startRestartICE(call).assumeIsolated().whenFailure { [self] error in
            callLogger(callID).info("ICE restart failed", metadata: ["error": "\(error)"])
            guard attempt < 15 else { return }
            loop.assumeIsolated().scheduleTask(in: .seconds(2)) { [self] in restartOnItsOwn(callID, reason: reason, attempt: attempt + 1) }
        }
    }

    /// With media on every interface, polls the machine's addresses while logged in; when they
    /// change, the spare peer (made with the old ones) is replaced and every active call restarts
    /// ICE, so its candidates name where the host is now (RFC 8445 §9).
    func watchAddresses() {
        guard options.restartICEOnAddressChange, options.mediaHost == "0.0.0.0", addressWatch == nil else { return }
        watchedAddresses = (HostAddresses.ipv4(includeLoopback: false) + (options.offerIPv6 ? HostAddresses.ipv6() : [])).sorted()
        addressWatch = loop.assumeIsolated().scheduleTask(in: TimeAmount(options.addressWatchInterval)) { [self] in
            addressWatch = nil
            guard ws != nil else { return }
            let now = (HostAddresses.ipv4(includeLoopback: false) + (options.offerIPv6 ? HostAddresses.ipv6() : [])).sorted()
            if let before = watchedAddresses, before != now {
                logger.info("local addresses changed", metadata: ["before": "\(before)", "now": "\(now)"])
                peers.replaceSpare()
                for callID in calls.keys.sorted() { restartOnItsOwn(callID, reason: "local addresses changed", attempt: 1) }
            }
            watchAddresses()
        }
    }

    /// The server answered an ICE restart: the new peer takes the call's media.
    private func restarted(_ callID: String, _ driver: DatagramDriver<PeerSession>, answer sdp: String?) {
        let promise = modifyPromises.removeValue(forKey: callID)
        guard let call = calls[callID], let sdp else {
            _ = driver.close()
            promise?.fail(VertoPhoneError.callFailed("updateMedia answered without SDP"))
            return
        }
        do {
            try driver.applyRemoteAnswer(sdp)
        } catch {
            _ = driver.close()
            callLogger(callID).info("cannot apply the restart's answer", metadata: ["error": "\(error)"])
            switch error {
            case let e as PeerError: promise?.fail(VertoPhoneError.media(e))
            case let e as SDPError: promise?.fail(VertoPhoneError.media(.sdp(e)))
            default: promise?.fail(VertoPhoneError.callFailed("updateMedia answer: \(error)"))
            }
            return
        }
        call.media.attach(driver)
        promise?.succeed()
    }

    func dtmf(_ call: Call, _ digits: String) throws {
        try session.sendDTMF(callID: call.callID, digits: digits, now: loop.now)
        pump()
    }

    /// The handle given to calls (set right after the client was made, before anything else runs
    /// on the loop for it).
    private var handle: ClientHandle {
        guard let commands else { preconditionFailure("ClientState used before VertoClient finished init") }
        return commands
    }
}

/// The client's commands from any thread: each hops to the client's loop, where `ClientState` lives.
struct ClientHandle: ClientCommands {
    let loop: EventLoop
    let box: NIOLoopBoundBox<ClientState>

    func connect(timeout: TimeAmount) async throws {
        let (servers, policy, resolved) = try await loop.submit {
            (box.value.options.iceServers, box.value.options.iceTransportPolicy, box.value.iceServersResolved)
        }.get()
        if !resolved, !servers.isEmpty || policy == .relay {
            let r = try await ResolvedICEServers.resolve(servers, policy: policy)
            try await loop.submit {
                r.apply(to: &box.value.options.media, policy: policy, trust: box.value.options.trust)
                box.value.iceServersResolved = true
            }.get()
        }
        let promise = loop.makePromise(of: Void.self)
        loop.execute { box.value.startLogin(promise) }
        let t = loop.scheduleTask(in: timeout) { promise.fail(VertoPhoneError.timeout("login")) }
        defer { t.cancel() }
        try await promise.futureResult.get()
    }

    func stop() async throws {
        try await loop.submit { box.value.stop() }.get()
    }

    func call(_ destination: String, source: MediaSource, timeout: TimeAmount) async throws -> Call {
        let (call, created) = try await loop.flatSubmit { box.value.startCall(destination, source: source) }.get()
        let callID = call.callID
        let t = loop.scheduleTask(in: timeout) { box.value.inviteTimedOut(callID) }
        defer { t.cancel() }
        try await created.get()
        return call
    }

    func answer(_ call: Call) async throws {
        try await loop.flatSubmit { box.value.startAnswer(call) }.get()
        try await call.wait { $0 == .active }
    }

    func hangup(_ call: Call, cause: HangupCause) async throws {
        try await loop.submit { try box.value.hangup(call, cause: cause) }.get()
    }

    func modify(_ call: Call, _ action: ModifyAction, destination: String?, replaceCallID: String?) async throws {
        try await loop.flatSubmit {
            box.value.startModify(call, action, destination: destination, replaceCallID: replaceCallID)
        }.get()
    }

    func dtmf(_ call: Call, _ digits: String) async throws {
        try await loop.submit { try box.value.dtmf(call, digits) }.get()
    }

    func restartICE(_ call: Call) async throws {
        try await loop.flatSubmit { box.value.startRestartICE(call) }.get()
    }
}

extension VertoClientEvent {
    /// The call an event concerns, if any.
    var callID: String? {
        switch self {
        case .incomingCall(let o), .reattachOffer(let o): return o.callID
        case .reattached(let c), .callCreated(let c), .earlyMedia(let c, _), .answered(let c, _), .callEnded(let c, _, _),
             .holdStateChanged(let c, _), .modifyResult(let c, _, _):
            return c
        case .display(let d): return d.callID
        case .requestFailed(_, let c, _): return c
        case .mediaParams(let c, _): return c
        case .loggedIn, .loginFailed, .ready, .info, .vertoEvent, .announce, .prompt, .reply, .keepaliveFailed, .disconnected,
             .punted, .protocolError:
            return nil
        }
    }
}
