import EventSocketCore
import Foundation
import Logging
import NIOCore
import VertoCore
import VertoPhone

/// The Webitel provider over the engine's client role: a web phone logged in to a Verto server
/// (Webitel/FreeSWITCH mod_verto, or our `VertoEndpoint`), raising Webitel's call events from the
/// Verto traffic alone as `WebitelCTI.docc/WebitelCTI.md` (docs/verto-protocol.md §6.2) describes.
///
/// Events are derived on the engine's event loop from the signalling events in the order they
/// happened (`VertoClient.observe`), so their order is the wire order. Received RFC 4733 digits are
/// read from each call's `MediaSession.events` (a consumer of its own: the application reads the same
/// events on its own streams).
///
/// Reconnects are the engine's: the same sessid logs in again and the server re-attaches the calls.
/// A re-attached call raises nothing (same uuid, same `MediaSession`); a call the server did not
/// re-attach raises `onHangupCall` with `RECOVERY_ON_TIMER_EXPIRE`.
public final class WebitelCtiProvider: CtiProvider, Sendable {
    public typealias Configuration = WebitelConnectionSettings

    public let configuration: WebitelConnectionSettings
    /// The engine underneath (its `events` and `incomingCalls` streams remain the application's).
    public let client: VertoClient
    /// The provider's events. Each access is a consumer of its own that receives every event since
    /// the provider was made (the latest 1,000), then the new ones; none is dropped.
    public var events: AsyncStream<CtiEvent> { hub.stream() }
    private let hub = EventHub<CtiEvent>(historyLimit: 1000)
    private let loop: EventLoop
    private let logger: Logger
    /// Our own number and name for call objects.
    private let own: (number: String, name: String)

    private struct Tracked {
        var info: CtiCall
        let call: Call
        var accepted = false
        var held = false
        /// When onBridgeCall was last raised (the display and the event socket may both report
        /// one bridge).
        var lastBridge: NIODeadline?
    }

    private static let recentlyEndedLimit = 64
    /// What the PBX event source reports about itself; each access is a consumer of its own.
    public var eventSocketStates: AsyncStream<PBXEventSourceState> { eventSocketStateHub.stream() }
    private let eventSocketStateHub = EventHub<PBXEventSourceState>(historyLimit: 100)

    /// Everything that changes, confined to the engine's event loop.
    private final class State {
        var tracked: [String: Tracked] = [:]
        /// The calls that ended most recently, as they ended (at most `recentlyEndedLimit`): dropping one
        /// of them again is not an error — the far end may hang up while the app drops the call — and
        /// `makeCall` returns a call the server ended at once.
        var recentlyEnded: [CtiCall] = []
        var order: [String] = []
        weak var delegate: (any CtiEventHandler)?
        var observing = false
        var loggedIn = false
        var closed = false
        /// The call whose consult call is being dialled (`makeConsultCall`).
        var pendingConsultFor: String?
        var mediaWatchers: [String: Task<Void, Never>] = [:]
        /// The PBX event source (`eventSocketConnectionString`), and what it reports about itself.
        var pbx: PBXEventSource?
        /// Digits raised lately per call, to raise a digit once when both the media and the PBX's
        /// event socket report it.
        var recentDigits: [String: [(digit: String, fromPBX: Bool, at: NIODeadline)]] = [:]
    }
    private let box: NIOLoopBoundBox<State>
    /// The state, on the loop (traps elsewhere).
    private var s: State { box.value }

    public convenience init(configuration: WebitelConnectionSettings) {
        self.init(configuration: configuration, logger: Logger(label: "vertophone.cti"))
    }

    public init(configuration: WebitelConnectionSettings, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        let options = configuration.clientOptions
        own = (options.callerIDNumber ?? configuration.extensionNumber, options.callerIDName ?? configuration.extensionNumber)
        client = VertoClient(options: options, logger: logger)
        loop = client.eventLoop
        box = .makeBoxSendingValue(State(), eventLoop: loop)
    }

    public func setDelegate(_ handler: (any CtiEventHandler)?) async {
        try? await loop.submit { self.s.delegate = handler }.get()
    }

    // MARK: - connection

    public func connect() async throws {
        guard configuration.useWebPhone else { throw CtiError.webPhoneDisabled }
        let first = try await loop.submit { () -> Bool in
            defer { self.s.observing = true }
            return !self.s.observing
        }.get()
        if first {
            try await client.observe { [weak self] event, call in self?.observed(event, call) }
        }
        var pbxAddress: EventSocketAddress?
        if let esl = configuration.eventSocketConnectionString {
            do { pbxAddress = try EventSocketAddress(parsing: esl) } catch { throw CtiError.badConfiguration("\(error)") }
        }
        do {
            try await client.connect(timeout: configuration.connectTimeout + .seconds(5))
        } catch VertoPhoneError.loginFailed(let reason) {
            throw CtiError.authenticationFailed(reason)
        } catch {
            throw CtiError.from(error)
        }
        if let pbxAddress {
            try await loop.submit {
                guard self.s.pbx == nil, !self.s.closed else { return }
                let source = PBXEventSource(address: pbxAddress, loop: self.loop, logger: self.logger,
                                            onEvent: { [weak self] e in self?.pbxEvent(e) },
                                            onState: { [weak self] s in self?.eventSocketStateHub.yield(s) },
                                            tap: self.configuration.eventSocketTap)
                self.s.pbx = source
                source.start()
            }.get()
        }
    }

    /// Hangs up every call (each raises `onHangupCall`), logs out and ends `events`. Final.
    public func closeConnection() async throws {
        for call in await calls() { try? await dropCall(call) }
        try? await client.disconnect()
        try await loop.submit {
            self.s.closed = true
            self.s.pbx?.stop()
            self.s.pbx = nil
            self.eventSocketStateHub.finish()
            self.s.mediaWatchers.values.forEach { $0.cancel() }
            self.s.mediaWatchers = [:]
            self.hub.finish()
        }.get()
    }

    // MARK: - queries

    /// The calls in progress, oldest first.
    public func calls() async -> [CtiCall] {
        (try? await loop.submit { self.s.order.compactMap { self.s.tracked[$0]?.info } }.get()) ?? []
    }

    /// The current snapshot of a call (nil once it ended).
    public func currentCall(_ uuid: String) async -> CtiCall? {
        try? await loop.submit { self.s.tracked[uuid]?.info }.get()
    }

    /// The engine's call object under a CTI call (nil once it ended).
    public func engineCall(for call: CtiCall) async -> Call? {
        try? await loop.submit { self.s.tracked[call.uuid]?.call }.get()
    }

    public func getCapabilities(for call: CtiCall? = nil) async -> CtiCapabilities {
        (try? await loop.submit { self.capabilities(call?.uuid) }.get()) ?? []
    }

    /// Features by state (on the loop). The line: DIAL while logged in. A call:
    /// ringing → DROP (+ ANSWER if inbound); active → DROP HOLD BLIND_TRANSFER MAKE_CONSULT_CALL DTMF;
    /// held → DROP UNHOLD DTMF (+ MAKE_CONSULT_CALL). While a consult call exists, both calls offer
    /// CANCEL_TRANSFER, and COMPLETE_TRANSFER once the consult call is answered; MAKE_CONSULT_CALL
    /// and BLIND_TRANSFER are withdrawn.
    private func capabilities(_ uuid: String?) -> CtiCapabilities {
        var caps: CtiCapabilities = s.loggedIn && !s.closed ? [.canDial] : []
        guard let uuid, let t = s.tracked[uuid] else { return caps }
        switch t.info.state {
        case .ringing:
            caps.insert(.canDrop)
            if t.info.direction == .inbound { caps.insert(.canAnswer) }
        case .active:
            caps.formUnion([.canDrop, .canHold, .canBlindTransfer, .canMakeConsultCall, .canDTMF])
        case .held:
            caps.formUnion([.canDrop, .canUnhold, .canDTMF, .canMakeConsultCall])
        case .hangup:
            return caps
        }
        let pair: (main: Tracked, consult: Tracked)?
        if let c = t.info.attendedTransferCallUuid, let consult = s.tracked[c] {
            pair = (t, consult)
        } else if let m = t.info.consultForUuid, let main = s.tracked[m] {
            pair = (main, t)
        } else {
            pair = nil
        }
        if let pair {
            caps.subtract([.canMakeConsultCall, .canBlindTransfer])
            caps.insert(.canCancelTransfer)
            if pair.consult.accepted && pair.main.accepted { caps.insert(.canCompleteTransfer) }
        }
        return caps
    }

    // MARK: - commands

    /// Dials `number`; returns once the server created the call. A call the server ends at once (no
    /// route, busy) comes back in state `hangup` with its cause, after its `onHangupCall`.
    @discardableResult
    public func makeCall(_ number: String) async throws -> CtiCall {
        try await require(.canDial, "makeCall")
        let call: Call
        do { call = try await client.call(number) } catch { throw CtiError.from(error) }
        return try await loop.submit { () -> CtiCall in
            // A call the server ended at once (no route, busy) has already raised onHangupCall.
            if let t = self.s.tracked[call.callID] { return t.info }
            if let ended = self.s.recentlyEnded.last(where: { $0.uuid == call.callID }) { return ended }
            throw CtiError.unknownCall(call.callID)
        }.get()
    }

    public func answerCall(_ call: CtiCall) async throws {
        let c = try await require(.canAnswer, call, "answerCall")
        try await engine { try await c.answer() }
    }

    /// Hangs up a call. Dropping a call that has just ended (the far end hung up first) does nothing.
    public func dropCall(_ call: CtiCall) async throws {
        let ended = try await loop.submit { self.s.tracked[call.uuid] == nil && self.s.recentlyEnded.contains { $0.uuid == call.uuid } }.get()
        if ended { return }
        let c = try await require(.canDrop, call, "dropCall")
        let state = await currentCall(call.uuid)?.state
        let ringingInbound = call.direction == .inbound && state == .ringing
        try await engine { try await c.hangup(cause: ringingInbound ? .callRejected : .normalClearing) }
    }

    public func holdCall(_ call: CtiCall) async throws {
        let held = try await loop.submit { () -> Bool in
            guard let t = self.s.tracked[call.uuid] else { throw CtiError.unknownCall(call.uuid) }
            return t.held
        }.get()
        if held { return try await unholdCall(call) }
        let c = try await require(.canHold, call, "holdCall")
        try await engine { try await c.hold() }
    }

    public func unholdCall(_ call: CtiCall) async throws {
        let c = try await require(.canUnhold, call, "unholdCall")
        try await engine { try await c.unhold() }
    }

    public func blindTransferCall(_ call: CtiCall, to target: String) async throws {
        let c = try await require(.canBlindTransfer, call, "blindTransferCall")
        try await engine { try await c.transfer(to: target) }
    }

    @discardableResult
    public func makeConsultCall(_ call: CtiCall, to target: String) async throws -> CtiCall {
        _ = try await require(.canMakeConsultCall, call, "makeConsultCall")
        if (await currentCall(call.uuid))?.state != .held { try await holdCall(call) }
        try await loop.submit { self.s.pendingConsultFor = call.uuid }.get()
        do {
            let consult = try await makeCall(target)
            try await loop.submit { self.s.pendingConsultFor = nil }.get()
            return consult
        } catch {
            try? await loop.submit { self.s.pendingConsultFor = nil }.get()
            throw error
        }
    }

    public func transferCall(_ call: CtiCall, consultCall: CtiCall) async throws {
        let c = try await require(.canCompleteTransfer, call, "transferCall")
        guard let other = await engineCall(for: consultCall) else { throw CtiError.unknownCall(consultCall.uuid) }
        do {
            try await c.replace(with: other)
        } catch {
            // The reply to `replace` is advisory (docs/verto-protocol.md §4.7, [FS-I781]); the byes are the
            // ground truth: success when both of our legs end.
            let a = try? await c.wait(timeout: .seconds(3)) { $0.isEnded }
            let b = try? await other.wait(timeout: .seconds(3)) { $0.isEnded }
            guard a?.isEnded == true, b?.isEnded == true else { throw CtiError.from(error) }
        }
    }

    public func cancelTransfer(_ call: CtiCall, consultCall: CtiCall) async throws {
        _ = try await require(.canCancelTransfer, call, "cancelTransfer")
        try await dropCall(consultCall)
        if (await currentCall(call.uuid))?.state == .held { try await unholdCall(call) }
    }

    public func sendDtmf(_ call: CtiCall, digits: String) async throws {
        let c = try await require(.canDTMF, call, "sendDtmf")
        try await engine { try await c.sendDTMF(digits) }
        // FreeSWITCH queues verto.info digits as received on the agent's channel, so Webitel raises
        // DTMF events for digits the agent sent (docs/verto-protocol.md §6.2): echo them, one per digit.
        try await loop.submit {
            for d in digits { self.digit(call.uuid, String(d)) }
        }.get()
    }

    /// Checks the capability on the loop and returns the engine call.
    @discardableResult
    private func require(_ cap: CtiCapabilities, _ call: CtiCall, _ command: String) async throws -> Call {
        guard let c = try await check(cap, call, command) else { throw CtiError.unknownCall(call.uuid) }
        return c
    }

    /// Checks a capability of the line (no call).
    private func require(_ cap: CtiCapabilities, _ command: String) async throws {
        _ = try await check(cap, nil, command)
    }

    private func check(_ cap: CtiCapabilities, _ call: CtiCall?, _ command: String) async throws -> Call? {
        try await loop.submit { () -> Call? in
            if let call, self.s.tracked[call.uuid] == nil { throw CtiError.unknownCall(call.uuid) }
            guard !self.s.closed, self.s.loggedIn else { throw CtiError.notConnected }
            guard self.capabilities(call?.uuid).contains(cap) else {
                throw CtiError.notAllowed(command: command, state: call.flatMap { self.s.tracked[$0.uuid]?.info.state } ?? .hangup)
            }
            return call.flatMap { self.s.tracked[$0.uuid]?.call }
        }.get()
    }

    private func engine(_ body: () async throws -> Void) async throws {
        do { try await body() } catch { throw CtiError.from(error) }
    }

    // MARK: - event derivation (on the loop, in signalling s.order)

    private func observed(_ event: VertoClientEvent, _ call: Call?) {
        guard !s.closed else { return }
        switch event {
        case .loggedIn:
            s.loggedIn = true
        case .disconnected, .punted:
            s.loggedIn = false
        case .callCreated(let id):
            // `CALL CREATED`: the server created the channel (Webitel: CHANNEL_CREATE).
            guard let call, s.tracked[id] == nil, call.direction == .outbound else { return }
            let o = own
            var info = CtiCall(uuid: id, direction: .outbound, callerNumber: o.number, callerName: o.name,
                               calleeNumber: call.remoteNumber, calleeName: call.remoteName ?? call.remoteNumber)
            if let main = s.pendingConsultFor, s.tracked[main] != nil {
                info.consultForUuid = main
                s.tracked[main]?.info.attendedTransferCallUuid = id
                s.pendingConsultFor = nil
            }
            add(info, call)
        case .incomingCall(let offer):
            guard let call, s.tracked[offer.callID] == nil else { return }
            let o = own
            let number = offer.callerIDNumber ?? call.remoteNumber
            let info = CtiCall(uuid: offer.callID, direction: .inbound, callerNumber: number,
                               callerName: offer.callerIDName ?? number,
                               calleeNumber: offer.calleeIDNumber ?? o.number, calleeName: offer.calleeIDName ?? o.name,
                               otherLegUuid: offer.headers.string(Self.otherLegHeader))
            add(info, call)
        case .answered(let id, _):
            guard var t = s.tracked[id], !t.accepted else { return }
            t.accepted = true
            t.info.state = t.held ? .held : .active
            t.info.answeredTime = Date()
            s.tracked[id] = t
            emit(.acceptCall(t.info))
        case .holdStateChanged(let id, let hold):
            guard var t = s.tracked[id] else { return }
            let held = hold == .held
            guard held != t.held else { return }
            t.held = held
            if t.accepted { t.info.state = held ? .held : .active }
            s.tracked[id] = t
            emit(held ? .holdCall(t.info) : .unholdCall(t.info))
        case .display(let d):
            display(d)
        case .callEnded(let id, let cause, _):
            guard var t = s.tracked.removeValue(forKey: id) else { return }
            s.order.removeAll { $0 == id }
            s.recentDigits[id] = nil
            s.mediaWatchers.removeValue(forKey: id)?.cancel()
            if let c = t.info.attendedTransferCallUuid { s.tracked[c]?.info.consultForUuid = nil }
            if let m = t.info.consultForUuid { s.tracked[m]?.info.attendedTransferCallUuid = nil }
            t.info.state = .hangup
            t.info.hangupTime = Date()
            t.info.hangupCause = cause.name
            s.recentlyEnded.append(t.info)
            if s.recentlyEnded.count > Self.recentlyEndedLimit { s.recentlyEnded.removeFirst() }
            emit(.hangupCall(t.info))
        default:
            break
        }
    }

    static let otherLegHeader = "verto_h_other_leg_unique_id"

    /// `verto.display`: the call is (now) connected to the party it names. A party other than the one
    /// the call object shows — another number, or another `verto_h_other_leg_unique_id` than the one
    /// already known — is a new bridge (`onBridgeCall`); a changed other-leg id also raises
    /// `onUuidCall` with it. The first display of a call's own bridge, and the display re-sent after
    /// a re-attach, name the known party and raise nothing.
    private func display(_ d: DisplayParams) {
        guard var t = s.tracked[d.callID] else { return }
        let number = d.displayNumber ?? d.displayName
        let leg = d.headers.string(Self.otherLegHeader)
        let newParty = number.map { !$0.isEmpty && $0 != t.info.remote.number } ?? false
        let newLeg = leg != nil && t.info.otherLegUuid != nil && leg != t.info.otherLegUuid
        if let number, !number.isEmpty { t.info.setRemote(number: number, name: d.displayName) }
        if let leg { t.info.otherLegUuid = leg }
        // With the PBX's event socket, a bridge it reported a moment ago is this one.
        let reported = s.pbx != nil && t.lastBridge.map { loop.now - $0 < .seconds(2) } == true
        if (newParty || newLeg) && !reported { t.lastBridge = loop.now }
        s.tracked[d.callID] = t
        if (newParty || newLeg) && !reported { emit(.bridgeCall(t.info)) }
        if newLeg, let leg, !reported { emit(.uuidCall(t.info, newId: leg)) }
    }

    private func add(_ info: CtiCall, _ call: Call) {
        s.tracked[info.uuid] = Tracked(info: info, call: call)
        s.order.append(info.uuid)
        emit(.newCall(info))
        emit(.newWebRTCCall(info, call.media))
        let id = info.uuid
        let media = call.media
        s.mediaWatchers[id] = Task { [weak self, loop] in
            for await e in media.events {
                guard case .dtmf(let d) = e else { continue }
                guard let provider = self else { return }
                loop.execute { provider.digit(id, d) }
            }
        }
    }

    private func digit(_ uuid: String, _ d: String) {
        guard !s.closed, let t = s.tracked[uuid], firstReport(of: d, on: uuid, fromPBX: false) else { return }
        emit(.dtmfCall(t.info, digits: d))
    }

    /// False when the other source (the media, or the PBX's event socket) reported the same digit
    /// for this call within the last second: both may report one key press. Without an event
    /// socket every digit counts.
    private func firstReport(of digit: String, on uuid: String, fromPBX: Bool) -> Bool {
        guard s.pbx != nil else { return true }
        let now = loop.now
        var recent = (s.recentDigits[uuid] ?? []).filter { now - $0.at < .seconds(1) }
        if let i = recent.firstIndex(where: { $0.digit == digit && $0.fromPBX != fromPBX }) {
            recent.remove(at: i)
            s.recentDigits[uuid] = recent
            return false
        }
        recent.append((digit, fromPBX, now))
        s.recentDigits[uuid] = recent
        return true
    }

    /// A channel event from the PBX's event socket, about one of our calls or about the party it
    /// is bridged to. What the Verto connection already told is not raised again: a hold is raised
    /// when the hold state changes, a bridge when the other leg is a new one, a digit once.
    private func pbxEvent(_ e: PBXChannelEvent) {
        guard !s.closed else { return }
        if e.kind == .uuidChange, let old = e.oldUUID {
            // The other party's channel got a new id.
            for (id, t) in s.tracked where t.info.otherLegUuid == old {
                var u = t
                u.info.otherLegUuid = e.uuid
                s.tracked[id] = u
                emit(.uuidCall(u.info, newId: e.uuid))
            }
            return
        }
        let mine: String? = s.tracked[e.uuid] != nil ? e.uuid : e.otherLeg.flatMap { s.tracked[$0] != nil ? $0 : nil }
        guard let id = mine, var t = s.tracked[id] else { return }
        let aboutTheOtherParty = id != e.uuid
        switch e.kind {
        case .hold, .unhold:
            let held = e.kind == .hold
            guard t.accepted, held != t.held else { return }
            t.held = held
            t.info.state = held ? .held : .active
            s.tracked[id] = t
            emit(held ? .holdCall(t.info) : .unholdCall(t.info))
        case .dtmf:
            guard aboutTheOtherParty, let d = e.digit, firstReport(of: d, on: id, fromPBX: true) else { return }
            emit(.dtmfCall(t.info, digits: d))
        case .bridge:
            let other = aboutTheOtherParty ? e.uuid : e.otherLeg
            guard let other, other != t.info.otherLegUuid else { return }
            let known = t.info.otherLegUuid != nil
            t.info.otherLegUuid = other
            // The display may have reported this bridge a moment ago (without the other leg's id).
            let reported = t.lastBridge.map { loop.now - $0 < .seconds(2) } == true
            if !reported { t.lastBridge = loop.now }
            s.tracked[id] = t
            guard !reported else { return }
            emit(.bridgeCall(t.info))
            if known { emit(.uuidCall(t.info, newId: other)) }
        case .uuidChange, .hangupComplete, .answer:
            break
        }
    }

    private func emit(_ e: CtiEvent) {
        logger.debug("cti event", metadata: ["event": "\(e)"])
        hub.yield(e)
        s.delegate?.handle(e)
    }
}
