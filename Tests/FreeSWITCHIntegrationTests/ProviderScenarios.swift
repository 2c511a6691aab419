import Foundation
import Testing
import TestSupport
import VertoPhone
import WebitelCTI

private let N = CtiEventKind.onNewCall
private let W = CtiEventKind.onNewWebRTCCall
private let A = CtiEventKind.onAcceptCall
private let D = CtiEventKind.onDtmfCall
private let B = CtiEventKind.onBridgeCall
private let H = CtiEventKind.onHangupCall

/// The scenarios of docs/testing.md §5 once more, through the provider layer (`WebitelCtiProvider`, the
/// Webitel events of docs/verto-protocol.md §6.2 as WebitelCTI.docc describes them): each asserts the
/// exact event sequence of every provider involved, read to the end of its stream after
/// `closeConnection` (so nothing extra or duplicated can hide after the last wait), and the call
/// object's key fields. Audio is checked by frequency on the `MediaSession` the provider hands out
/// with `onNewWebRTCCall`. Users as in `Scenarios`: login scenarios use the third user, call
/// scenarios the first two (1000 callee, 1001 caller).
///
/// What a Verto-only provider cannot see is not expected: a hold by the other party, DTMF from
/// FreeSWITCH to the client (there is none), `onUuidCall` without `verto_h_other_leg_unique_id`.
/// Identities are not predicted: which party a server names in a `verto.display` or a transferred
/// call's invite is its choice, so the scenarios read what it actually sent (`ProviderScope.traffic`)
/// and check that every event agrees with it. Where FreeSWITCH and our server legitimately differ
/// otherwise, the expectation comes from a `TestTarget` property (`exportsOtherLegUuid`), not
/// from a weaker assertion.
enum ProviderScenarios {
    // MARK: - login

    /// Logged in: the line offers DIAL and nothing happens; closed: no events at all.
    static func login(_ s: ProviderScope) async throws {
        let (p, log) = s.provider(s.target.users[2])
        try await p.connect()
        #expect(await p.getCapabilities(for: nil) == [.canDial])
        #expect(await p.calls().isEmpty)
        try await p.closeConnection()
        #expect(await p.getCapabilities(for: nil) == [], "closed: no DIAL")
        #expect(try await log.all().kinds == [])
    }

    static func loginOverWSS(_ s: ProviderScope) async throws {
        let url = try #require(s.target.wssURL, "\(s.target.name) has no wss URL")
        let (p, log) = s.provider(s.target.users[2], url: url)
        try await p.connect()
        #expect(await p.getCapabilities(for: nil) == [.canDial])
        try await p.closeConnection()
        #expect(try await log.all().kinds == [])
    }

    /// A wrong password fails `connect()` cleanly: a `CtiError`, no DIAL, commands refused, no events.
    static func wrongPassword(_ s: ProviderScope) async throws {
        let (p, log) = s.provider(s.target.users[2], password: "not-\(s.target.password)")
        let refused = await #expect(throws: CtiError.self) { try await p.connect() }
        if case .authenticationFailed = refused {} else { Issue.record("expected .authenticationFailed, got \(String(describing: refused))") }
        #expect(await p.getCapabilities(for: nil) == [])
        await #expect(throws: CtiError.notConnected) { try await p.makeCall("9196") }
        try await p.closeConnection()
        #expect(try await log.all().kinds == [])
    }

    // MARK: - the extensions

    /// 9196: `onNewCall, onNewWebRTCCall, onAcceptCall, onHangupCall`; our 440 Hz comes back on the
    /// session of `onNewWebRTCCall`, which is the engine call's.
    static func echo(_ s: ProviderScope) async throws {
        let user = s.target.users[1]
        let (p, log) = try await s.connected(user)
        let call = try await p.makeCall("9196")
        let media = try await log.media()
        media.setSource(.tone(frequencies: [440], amplitude: 0.3))
        let engineCall = try #require(await p.engineCall(for: call))
        #expect(engineCall.callID == call.uuid && media.callID == call.uuid && engineCall.media === media)
        try await log.next(.onAcceptCall)
        #expect(await p.getCapabilities(for: call) == [.canDial, .canDrop, .canHold, .canBlindTransfer, .canMakeConsultCall, .canDTMF])
        #expect(try await hear(440, on: media) == 440, "echo of our 440 Hz tone")
        try await p.dropCall(call)
        try await log.next(.onHangupCall)
        #expect(await p.calls().isEmpty)
        try await p.closeConnection()
        expectPlaced(try await log.all(), [N, W, A, H], uuid: call.uuid, caller: user, callee: "9196")
    }

    /// 9664: the 1 kHz tone, same sequence.
    static func tone(_ s: ProviderScope) async throws {
        let user = s.target.users[1]
        let (p, log) = try await s.connected(user)
        let call = try await p.makeCall("9664")
        let media = try await log.media()
        try await log.next(.onAcceptCall)
        #expect(try await hear(1000, on: media) == 1000)
        try await p.dropCall(call)
        try await p.closeConnection()
        expectPlaced(try await log.all(), [N, W, A, H], uuid: call.uuid, caller: user, callee: "9664")
    }

    /// 9197: `sendDtmf("1234#")` raises one `onDtmfCall` per digit sent (FreeSWITCH queues
    /// `verto.info` digits as received on our channel, so Webitel reports them) and the server
    /// collects exactly `1234#` (FreeSWITCH: `uuid_getvar … dtmf_collected`).
    static func dtmf(_ s: ProviderScope) async throws {
        let user = s.target.users[1]
        let (p, log) = try await s.connected(user)
        let call = try await p.makeCall("9197")
        try await log.next(.onAcceptCall)
        try await p.sendDtmf(call, digits: "1234#")
        var digits: String?
        let deadline = ContinuousClock.now + .seconds(10)
        while digits != "1234#", ContinuousClock.now < deadline {
            digits = try await s.target.collectedDTMF(callID: call.uuid)
            if digits != "1234#" { try await Task.sleep(for: .milliseconds(100)) }  // polling the server's state
        }
        #expect(digits == "1234#", "collected by the server")
        try await p.dropCall(call)
        try await p.closeConnection()
        let all = try await log.all()
        expectPlaced(all, [N, W, A, D, D, D, D, D, H], uuid: call.uuid, caller: user, callee: "9197")
        #expect(all.compactMap(\.digits) == ["1", "2", "3", "4", "#"])
        #expect(all.filter { $0.kind == D }.allSatisfy { $0.call.state == .active })
    }

    /// 9198: early media (`verto.media`) raises nothing — a ringback tone is heard while the call
    /// is still ringing — and `onAcceptCall` comes once, at the answer (`verto.answer`, ~2 s later).
    static func earlyMedia(_ s: ProviderScope) async throws {
        let user = s.target.users[1]
        let (p, log) = try await s.connected(user)
        // Everything received until onAcceptCall is kept: the ringback must dominate some 0.5 s of
        // it (the server plays it only before the answer).
        try await recordFromEarlyMedia(p.client)
        let call = try await p.makeCall("9198")
        let media = try await log.media()
        media.setSource(.tone(frequencies: [660], amplitude: 0.3))
        let accepted = try await log.next(.onAcceptCall, timeout: .seconds(15)).call
        let beforeAnswer = try await media.stopRecording()
        #expect(steadyTone(in: beforeAnswer, rate: try await media.stats()?.sampleRate ?? 48_000) != nil,
                "a ringback tone during early media, before onAcceptCall: \(windowReport(beforeAnswer))")
        let answered = try #require(accepted.answeredTime)
        #expect(answered.timeIntervalSince(accepted.createdTime) >= 1.5, "accepted at the answer, after ~2 s of early media")
        #expect(try await hear(660, on: media) == 660, "echo after the answer")
        try await p.dropCall(call)
        try await p.closeConnection()
        expectPlaced(try await log.all(), [N, W, A, H], uuid: call.uuid, caller: user, callee: "9198")
    }

    /// 9199: the server hangs up ~3 s after the answer: `onHangupCall` with NORMAL_CLEARING.
    static func serverHangsUp(_ s: ProviderScope) async throws {
        let user = s.target.users[1]
        let (p, log) = try await s.connected(user)
        let call = try await p.makeCall("9199")
        try await log.next(.onAcceptCall)
        let end = try await log.next(.onHangupCall, timeout: .seconds(8)).call
        let answered = try #require(end.answeredTime)
        let hungUp = try #require(end.hangupTime)
        #expect(hungUp.timeIntervalSince(answered) >= 2, "hung up about 3 s after the answer")
        #expect(await p.calls().isEmpty)
        try await p.closeConnection()
        expectPlaced(try await log.all(), [N, W, A, H], uuid: call.uuid, caller: user, callee: "9199")
    }

    /// 9195: rings ~2 s without early media, then answers: `onAcceptCall` once, at the answer.
    static func ringThenAnswer(_ s: ProviderScope) async throws {
        let user = s.target.users[1]
        let (p, log) = try await s.connected(user)
        let call = try await p.makeCall("9195")
        let media = try await log.media()
        media.setSource(.tone(frequencies: [440], amplitude: 0.3))
        #expect(await p.getCapabilities(for: call) == [.canDial, .canDrop], "ringing outbound: drop only")
        let accepted = try await log.next(.onAcceptCall, timeout: .seconds(15)).call
        let answered = try #require(accepted.answeredTime)
        #expect(answered.timeIntervalSince(accepted.createdTime) >= 1.5, "rang about 2 s before onAcceptCall")
        #expect(try await hear(440, on: media) == 440)
        try await p.dropCall(call)
        try await p.closeConnection()
        expectPlaced(try await log.all(), [N, W, A, H], uuid: call.uuid, caller: user, callee: "9195")
    }

    /// 3000 (FreeSWITCH only): two providers in the room hear each other; a conference sends no
    /// `verto.display` (mod_conference raises none), so each sees just its own call:
    /// `onNewCall, onNewWebRTCCall, onAcceptCall, onHangupCall`.
    static func conference(_ s: ProviderScope) async throws {
        let (userA, userB) = (s.target.users[1], s.target.users[0])
        let (a, aLog) = try await s.connected(userA)
        let (b, bLog) = try await s.connected(userB)
        let ca = try await a.makeCall("3000")
        let aMedia = try await aLog.media()
        aMedia.setSource(.tone(frequencies: [440], amplitude: 0.3))
        let cb = try await b.makeCall("3000")
        let bMedia = try await bLog.media()
        bMedia.setSource(.tone(frequencies: [660], amplitude: 0.3))
        try await aLog.next(.onAcceptCall)
        try await bLog.next(.onAcceptCall)
        #expect(try await hear(660, on: aMedia) == 660, "A hears B in the room")
        #expect(try await hear(440, on: bMedia) == 440, "B hears A in the room")
        try await a.dropCall(ca)
        try await b.dropCall(cb)
        try await a.closeConnection()
        try await b.closeConnection()
        expectPlaced(try await aLog.all(), [N, W, A, H], uuid: ca.uuid, caller: userA, callee: "3000")
        expectPlaced(try await bLog.all(), [N, W, A, H], uuid: cb.uuid, caller: userB, callee: "3000")
    }

    // MARK: - call control

    /// Hold (`onHoldCall`, state held, the echo stops) and unhold (`onUnholdCall`, active, echo back),
    /// with Creatio's toggling `holdCall` both times.
    static func holdAndUnhold(_ s: ProviderScope) async throws {
        let user = s.target.users[1]
        let (p, log) = try await s.connected(user)
        let call = try await p.makeCall("9196")
        let media = try await log.media()
        media.setSource(.tone(frequencies: [440], amplitude: 0.3))
        try await log.next(.onAcceptCall)
        #expect(try await hear(440, on: media) == 440)
        try await p.holdCall(call)
        #expect(try await log.next(.onHoldCall).call.state == .held)
        #expect(await p.getCapabilities(for: call) == [.canDial, .canDrop, .canUnhold, .canDTMF, .canMakeConsultCall])
        #expect(try await stops(440, on: media), "no echo while held")
        try await p.holdCall(call)  // toggles back
        #expect(try await log.next(.onUnholdCall).call.state == .active)
        #expect(try await hear(440, on: media) == 440, "echo back after unhold")
        try await p.dropCall(call)
        try await p.closeConnection()
        let all = try await log.all()
        expectPlaced(all, [N, W, A, .onHoldCall, .onUnholdCall, H], uuid: call.uuid, caller: user, callee: "9196")
        #expect(all.map(\.call.state) == [.ringing, .ringing, .active, .held, .active, .hangup])
    }

    /// The seed's sequence, with the PBX's event socket: the operator (user 1000, a provider with
    /// the target's event socket) calls the subscriber (user 1001, a second provider); the
    /// *subscriber* holds and unholds (its client sends the `verto.modify`); the operator hangs up.
    /// The operator's provider raises exactly onNewCall, onNewWebRTCCall, onAcceptCall, onHoldCall,
    /// onUnholdCall, onHangupCall — the hold and unhold learned from the PBX's CHANNEL_HOLD and
    /// CHANNEL_UNHOLD of the other leg — plus onBridgeCall/onUuidCall where the PBX reports them.
    static func remotePartyHoldsAndUnholds(_ s: ProviderScope) async throws {
        let c = try await s.operatorCallsSubscriber()
        try await c.sub.holdCall(c.ring)
        #expect(try await c.opLog.next(.onHoldCall).call.state == .held, "the subscriber's hold reaches the operator")
        try await c.sub.holdCall(c.ring)  // toggles back
        #expect(try await c.opLog.next(.onUnholdCall).call.state == .active)
        let all = try await s.operatorHangsUp(c)
        let placed = c.placed
        #expect(all.map(\.kind).filter { $0 != B && $0 != .onUuidCall } == [N, W, A, .onHoldCall, .onUnholdCall, H], "\(all.map(\.kind))")
        #expect(all.allSatisfy { $0.call.uuid == placed.uuid })
        #expect(all.filter { $0.kind == B }.count <= 1, "one bridge, raised once")
    }

    /// The other party's DTMF, with the PBX's event socket: the operator (1000) calls the subscriber
    /// (1001), who sends "1#" (its client's `verto.info`). FreeSWITCH reports DTMF on the
    /// subscriber's channel, whose other leg is the operator's, and passes the digits on to the
    /// operator's leg as RFC 4733 events: the operator's provider raises `onDtmfCall` once per digit
    /// (the two reports of one key press are one event), on the operator's call.
    static func farEndDTMF(_ s: ProviderScope) async throws {
        let c = try await s.operatorCallsSubscriber()
        try await c.sub.sendDtmf(c.ring, digits: "1#")
        #expect(try await c.opLog.next(.onDtmfCall, count: 2).digits == "#", "the subscriber's digits reach the operator")
        let all = try await s.operatorHangsUp(c)
        let placed = c.placed
        #expect(all.kinds.filter { $0 != B && $0 != .onUuidCall } == [N, W, A, D, D, H], "\(all.kinds)")
        #expect(all.compactMap(\.digits).joined() == "1#", "each digit once, in order")
        #expect(all.allSatisfy { $0.call.uuid == placed.uuid })
    }

    /// A bridge formed by the dialplan, with the PBX's event socket: the operator (1000) calls the
    /// subscriber (1001) and the server's dialplan bridges the two legs. The operator's provider
    /// raises `onBridgeCall` exactly once (the server's `verto.display` and the event socket's
    /// CHANNEL_BRIDGE report the same bridge), and from the bridge on the operator's call names the
    /// subscriber's leg — the subscriber's own call uuid — as its other leg, learned from the event
    /// socket where the Verto traffic does not carry it.
    static func dialplanBridge(_ s: ProviderScope) async throws {
        let c = try await s.operatorCallsSubscriber()
        let (placed, ring) = (c.placed, c.ring)
        let bridged = try await c.opLog.next(.onBridgeCall).call
        #expect(bridged.uuid == placed.uuid && bridged.state == .active)
        #expect(try await hear(440, on: try await c.subLog.media()) == 440, "bridged: the subscriber hears the operator")
        let all = try await s.operatorHangsUp(c)
        #expect(all.kinds == [N, W, A, B, H], "one bridge, no uuid change: \(all.kinds)")
        #expect(all.allSatisfy { $0.call.uuid == placed.uuid })
        #expect(all.last?.call.otherLegUuid == ring.uuid, "the other leg is the subscriber's call")
    }

    /// A call from the server (FreeSWITCH: event socket `originate user/1000@DOMAIN &echo`) raises
    /// `onNewCall` inbound (caller 9000), is answered with `answerCall` (`onAcceptCall`) and echoes.
    static func inboundCall(_ s: ProviderScope) async throws {
        let user = s.target.users[0]
        let (p, log) = try await s.connected(user)
        let serverID = try await s.target.originateEcho(toUser: user)
        let ring = try await log.next(.onNewCall).call
        let media = try await log.media()
        #expect(ring.direction == .inbound && ring.state == .ringing && !ring.isOriginator)
        #expect(ring.callerNumber == "9000" && ring.callerName == "VertoPhone", "caller id of the originate")
        // Through `user/<id>@DOMAIN` mod_verto sets the callee id number to the dialled user
        // (`dialed_user`), unlike a dialplan bridge to `verto_contact` (the leg's sessid).
        #expect(ring.calleeNumber == user && ring.displayNumber == "9000")
        if s.target.originatedCallIDIsKnown { #expect(ring.uuid == serverID) }
        #expect(media.callID == ring.uuid)
        #expect(await p.getCapabilities(for: ring) == [.canDial, .canDrop, .canAnswer])
        media.setSource(.tone(frequencies: [440], amplitude: 0.3))
        try await p.answerCall(ring)
        let accepted = try await log.next(.onAcceptCall).call
        #expect(accepted.state == .active && accepted.answeredTime != nil)
        #expect(try await hear(440, on: media) == 440, "the server's leg echoes us")
        try await p.dropCall(ring)
        try await log.next(.onHangupCall)
        try? await s.target.hangup(callID: serverID)
        try await p.closeConnection()
        let all = try await log.all()
        #expect(all.kinds == [N, W, A, H])
        #expect(all.allSatisfy { $0.call.uuid == ring.uuid && $0.call.direction == .inbound && $0.call.callerNumber == "9000" })
        #expect(all.last?.call.hangupCause == "NORMAL_CLEARING" && all.last?.call.state == .hangup)
    }

    /// Two providers bridged through the server, 1001 → 1000; each hears the other.
    ///
    /// The callee: `onNewCall` (inbound, caller 1001, callee as the invite named it),
    /// `onNewWebRTCCall`, `onAcceptCall`, `onHangupCall` — the bridge display names the caller it
    /// already shows: no `onBridgeCall`. The caller: `onNewCall, onNewWebRTCCall, onAcceptCall`, then
    /// one `onBridgeCall` for each party the displays it received name other than the one shown
    /// (our server names 1000 — none; FreeSWITCH 1.10.12 names the callee leg "Outbound Call" /
    /// <sessid> — one), then `onHangupCall`. No `onUuidCall`: the first other leg learned is stored
    /// silently.
    static func bridge(_ s: ProviderScope) async throws {
        let (callee, caller) = (s.target.users[0], s.target.users[1])
        let (b, bLog) = try await s.connected(callee)
        let (a, aLog) = try await s.connected(caller)

        let placed = try await a.makeCall(callee)
        let aMedia = try await aLog.media()
        aMedia.setSource(.tone(frequencies: [440], amplitude: 0.3))
        let ring = try await bLog.next(.onNewCall).call
        let bMedia = try await bLog.media()
        // The callee id is whatever the invite named (FreeSWITCH: the leg's sessid; ours: the user).
        let invite = try #require(s.traffic.invite(to: callee, callID: ring.uuid))
        #expect(ring.direction == .inbound && ring.callerNumber == caller)
        #expect(ring.calleeNumber == invite.string("callee_id_number") ?? callee, "the invite's callee id")
        #expect(ring.otherLegUuid == (s.target.exportsOtherLegUuid ? placed.uuid : nil))
        bMedia.setSource(.tone(frequencies: [660], amplitude: 0.3))
        try await b.answerCall(ring)
        try await aLog.next(.onAcceptCall)
        #expect(try await hear(660, on: aMedia) == 660, "caller hears callee")
        #expect(try await hear(440, on: bMedia) == 440, "callee hears caller")
        try await a.dropCall(placed)
        let end = try await bLog.next(.onHangupCall).call
        #expect(end.hangupCause == "NORMAL_CLEARING")
        try await a.closeConnection()
        try await b.closeConnection()

        let o = try await aLog.all()
        let parties = newParties(from: callee, s.traffic.displays(to: caller, callID: placed.uuid))
        #expect(parties.count <= 1, "one bridge: \(parties)")
        #expect(o.kinds == [N, W, A] + parties.map { _ in B } + [H])
        #expect(o.allSatisfy { $0.call.uuid == placed.uuid && $0.call.direction == .outbound && $0.call.callerNumber == caller })
        #expect(o.prefix(3).allSatisfy { $0.call.calleeNumber == callee })
        if let party = parties.last, let bridged = o.first(where: { $0.kind == B })?.call {
            #expect(bridged.calleeNumber == party.shown && bridged.calleeName == party.name ?? party.shown && bridged.state == .active,
                    "onBridgeCall names the displayed party \(party)")
        }
        #expect(o.last?.call.calleeNumber == parties.last?.shown ?? callee, "the last displayed party")
        #expect(o.last?.call.otherLegUuid == (s.target.exportsOtherLegUuid ? ring.uuid : nil))
        #expect(o.last?.call.hangupCause == "NORMAL_CLEARING")
        let t = try await bLog.all()
        #expect(t.kinds == [N, W, A, H])
        #expect(t.allSatisfy { $0.call.uuid == ring.uuid && $0.call.direction == .inbound && $0.call.callerNumber == caller })
    }

    /// 1001 calls 1000, then blind-transfers its partner to 9664: 1001's leg is released
    /// (`onHangupCall`, NORMAL_CLEARING); 1000's call carries on (no event: the transfer to an
    /// application sends no display) and now hears the 1 kHz tone.
    static func blindTransfer(_ s: ProviderScope) async throws {
        let (callee, caller) = (s.target.users[0], s.target.users[1])
        let (b, bLog) = try await s.connected(callee)
        let (a, aLog) = try await s.connected(caller)

        let placed = try await a.makeCall(callee)
        let aMedia = try await aLog.media()
        aMedia.setSource(.tone(frequencies: [440], amplitude: 0.3))
        let ring = try await bLog.next(.onNewCall).call
        let bMedia = try await bLog.media()
        try await b.answerCall(ring)
        try await aLog.next(.onAcceptCall)
        #expect(try await hear(440, on: bMedia) == 440, "bridged before the transfer")
        #expect(await a.getCapabilities(for: placed).contains(.canBlindTransfer))
        try await a.blindTransferCall(placed, to: "9664")
        let released = try await aLog.next(.onHangupCall, timeout: .seconds(8)).call
        #expect(released.hangupCause == "NORMAL_CLEARING")
        #expect(await a.calls().isEmpty)
        #expect(try await hear(1000, on: bMedia) == 1000, "the partner now hears 9664's tone")
        #expect(await b.currentCall(ring.uuid)?.state == .active)
        try await b.dropCall(ring)
        try await bLog.next(.onHangupCall)
        try await a.closeConnection()
        try await b.closeConnection()

        let o = try await aLog.all()
        let parties = newParties(from: callee, s.traffic.displays(to: caller, callID: placed.uuid))
        #expect(o.kinds == [N, W, A] + parties.map { _ in B } + [H])
        #expect(o.allSatisfy { $0.call.uuid == placed.uuid && $0.call.direction == .outbound })
        let t = try await bLog.all()
        #expect(t.kinds == [N, W, A, H])
        #expect(t.allSatisfy { $0.call.uuid == ring.uuid && $0.call.direction == .inbound && $0.call.callerNumber == caller })
        #expect(t.last?.call.hangupCause == "NORMAL_CLEARING")
    }

    /// 1001 calls 1000, then blind-transfers its partner to user 1002 (a third provider): 1001 is
    /// released; 1002 gets the call from 1000's leg and answers; 1000's call is now bridged to
    /// another party: `onBridgeCall` (the display names 1002's leg), then — where the server names
    /// the other leg (`exportsOtherLegUuid`) — `onUuidCall` with 1002's leg as the new id. Identities
    /// are those the server sent (FreeSWITCH 1.10.12: "Outbound Call" / <sessid> in displays, the
    /// user's number in the transferred call's invite; ours: the user in both).
    ///
    /// - 1001: `onNewCall, onNewWebRTCCall, onAcceptCall, [onBridgeCall,] onHangupCall`
    /// - 1000: `onNewCall, onNewWebRTCCall, onAcceptCall, onBridgeCall, [onUuidCall,] onHangupCall`
    /// - 1002: `onNewCall, onNewWebRTCCall, onAcceptCall, onHangupCall` (its display names the
    ///   caller it already shows)
    static func blindTransferToUser(_ s: ProviderScope) async throws {
        let (callee, caller, target) = (s.target.users[0], s.target.users[1], s.target.users[2])
        let (b, bLog) = try await s.connected(callee)
        let (a, aLog) = try await s.connected(caller)
        let (c, cLog) = try await s.connected(target)
        let exports = s.target.exportsOtherLegUuid

        let placed = try await a.makeCall(callee)
        try await aLog.media().setSource(.tone(frequencies: [880], amplitude: 0.3))
        let ring = try await bLog.next(.onNewCall).call
        let bMedia = try await bLog.media()
        bMedia.setSource(.tone(frequencies: [440], amplitude: 0.3))
        try await b.answerCall(ring)
        try await aLog.next(.onAcceptCall)
        #expect(try await hear(880, on: bMedia) == 880, "bridged before the transfer")
        try await a.blindTransferCall(placed, to: target)
        try await aLog.next(.onHangupCall, timeout: .seconds(8))

        let transferred = try await cLog.next(.onNewCall).call
        let cMedia = try await cLog.media()
        // The transferred party (1000's leg) calls. Which of its identities the server puts in the
        // invite is the server's choice (FreeSWITCH 1.10.12 sends the user's number, ours the user),
        // so the call object must show what the invite said, on this and every later event.
        let invite = try #require(s.traffic.invite(to: target, callID: transferred.uuid))
        let transferredParty = invite.string("caller_id_number") ?? ""
        #expect(transferred.direction == .inbound && transferred.callerNumber == transferredParty && !transferredParty.isEmpty)
        #expect(transferred.calleeNumber == invite.string("callee_id_number") ?? target, "the invite's callee id")
        #expect(transferred.otherLegUuid == (exports ? ring.uuid : nil))
        cMedia.setSource(.tone(frequencies: [660], amplitude: 0.3))
        try await c.answerCall(transferred)
        let bridged = try await bLog.next(.onBridgeCall).call
        #expect(bridged.uuid == ring.uuid && bridged.state == .active)
        #expect(bridged.otherLegUuid == (exports ? transferred.uuid : nil))
        if exports {
            #expect(try await bLog.next(.onUuidCall).newId == transferred.uuid)
        }
        #expect(try await hear(660, on: bMedia) == 660, "1000 hears 1002")
        #expect(try await hear(440, on: cMedia) == 440, "1002 hears 1000")
        try await b.dropCall(ring)
        let end = try await cLog.next(.onHangupCall).call
        #expect(end.hangupCause == "NORMAL_CLEARING")
        for p in [a, b, c] { try await p.closeConnection() }

        let o = try await aLog.all()
        let callerParties = newParties(from: callee, s.traffic.displays(to: caller, callID: placed.uuid))
        #expect(o.kinds == [N, W, A] + callerParties.map { _ in B } + [H])
        #expect(o.allSatisfy { $0.call.uuid == placed.uuid } && o.last?.call.hangupCause == "NORMAL_CLEARING")
        let m = try await bLog.all()
        // 1000's displays: the transfer's bridge names 1002's leg, as the server chose to name it.
        let newParty = try #require(newParties(from: caller, s.traffic.displays(to: callee, callID: ring.uuid)).last,
                                    "a display naming the new party")
        #expect(m.kinds == [N, W, A, B] + (exports ? [.onUuidCall] : []) + [H])
        #expect(m.allSatisfy { $0.call.uuid == ring.uuid && $0.call.direction == .inbound })
        #expect(m.prefix(3).allSatisfy { $0.call.callerNumber == caller }, "1001 until the transfer's bridge")
        #expect(m.suffix(from: 3).allSatisfy { $0.call.callerNumber == newParty.shown && $0.call.callerName == newParty.name ?? newParty.shown },
                "the displayed new party \(newParty) from then on")
        let t = try await cLog.all()
        #expect(t.kinds == [N, W, A, H])
        #expect(t.allSatisfy { $0.call.uuid == transferred.uuid && $0.call.callerNumber == transferredParty })
    }

    /// The WebSocket drops mid-call; the engine logs in again with the same sessid and the server
    /// re-attaches the call. The provider raises nothing for it (no second onNewCall,
    /// onNewWebRTCCall or onAcceptCall), and the call carries on: the echo is heard again on the
    /// very `MediaSession` of the one `onNewWebRTCCall`.
    static func reconnect(_ s: ProviderScope) async throws {
        let user = s.target.users[1]
        let (p, log) = try await s.connected(user)
        let call = try await p.makeCall("9196")
        let media = try await log.media()
        media.setSource(.tone(frequencies: [440], amplitude: 0.3))
        try await log.next(.onAcceptCall)
        #expect(try await hear(440, on: media) == 440)
        let engineCall = try #require(await p.engineCall(for: call))
        let sessid = try await p.client.sessid
        try await p.client.simulateConnectionLoss()
        #expect(try await reached(engineCall) { $0 == .recovering } == .recovering)
        #expect(try await engineCall.wait(timeout: .seconds(15)) { $0 == .active } == .active)
        #expect(try await p.client.sessid == sessid, "same session id after the reconnect")
        #expect(try await hear(440, on: media) == 440, "echo after verto.attach")
        #expect(await log.kinds == [N, W, A], "the re-attach raised nothing")
        #expect(await p.currentCall(call.uuid)?.state == .active)
        #expect(await p.getCapabilities(for: nil) == [.canDial], "logged in again")
        try await p.dropCall(call)
        try await p.closeConnection()
        expectPlaced(try await log.all(), [N, W, A, H], uuid: call.uuid, caller: user, callee: "9196")
    }

    /// The callee's WebSocket drops during a bridged call (1001 → 1000): the server re-attaches the
    /// inbound call and re-sends its last display (the caller it already shows), which raises
    /// nothing; both parties hear each other again and each side's sequence stays exact.
    static func reconnectDuringBridge(_ s: ProviderScope) async throws {
        let (callee, caller) = (s.target.users[0], s.target.users[1])
        let (b, bLog) = try await s.connected(callee)
        let (a, aLog) = try await s.connected(caller)

        let placed = try await a.makeCall(callee)
        let aMedia = try await aLog.media()
        aMedia.setSource(.tone(frequencies: [440], amplitude: 0.3))
        let ring = try await bLog.next(.onNewCall).call
        let bMedia = try await bLog.media()
        bMedia.setSource(.tone(frequencies: [660], amplitude: 0.3))
        try await b.answerCall(ring)
        try await aLog.next(.onAcceptCall)
        #expect(try await hear(440, on: bMedia) == 440)

        let engineCall = try #require(await b.engineCall(for: ring))
        try await b.client.simulateConnectionLoss()
        #expect(try await reached(engineCall) { $0 == .recovering } == .recovering)
        #expect(try await engineCall.wait(timeout: .seconds(15)) { $0 == .active } == .active)
        #expect(try await hear(440, on: bMedia) == 440, "the callee hears the caller after verto.attach")
        #expect(try await hear(660, on: aMedia) == 660, "the caller hears the callee after the callee's re-attach")
        try await a.dropCall(placed)
        try await bLog.next(.onHangupCall)
        try await a.closeConnection()
        try await b.closeConnection()

        let parties = newParties(from: callee, s.traffic.displays(to: caller, callID: placed.uuid))
        #expect(try await aLog.all().kinds == [N, W, A] + parties.map { _ in B } + [H])
        let t = try await bLog.all()
        #expect(t.kinds == [N, W, A, H], "the re-attach and the re-sent display raised nothing")
        #expect(t.allSatisfy { $0.call.uuid == ring.uuid && $0.call.callerNumber == caller })
        #expect(t.last?.call.hangupCause == "NORMAL_CLEARING")
    }
}

/// The sequence of a call we placed to `callee` and hung up (or that the server hung up), and the
/// call object's fields on every event: our leg's uuid, outbound, caller and callee numbers, the
/// state of each step, and NORMAL_CLEARING at the end.
private func expectPlaced(_ events: [CtiEvent], _ kinds: [CtiEventKind], uuid: String, caller: String, callee: String,
                          sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(events.kinds == kinds, sourceLocation: sourceLocation)
    #expect(events.allSatisfy { $0.call.uuid == uuid && $0.call.direction == .outbound && $0.call.isOriginator },
            "uuid = callID, outbound", sourceLocation: sourceLocation)
    #expect(events.allSatisfy { $0.call.callerNumber == caller && $0.call.calleeNumber == callee && $0.call.displayNumber == callee },
            "caller \(caller), callee \(callee)", sourceLocation: sourceLocation)
    let first = events.first?.call
    #expect(first?.state == .ringing && first?.answeredTime == nil && first?.hangupCause == nil, sourceLocation: sourceLocation)
    if let accepted = events.first(where: { $0.kind == .onAcceptCall })?.call {
        #expect(accepted.state == .active && accepted.answeredTime != nil, sourceLocation: sourceLocation)
    }
    let last = events.last?.call
    #expect(last?.state == .hangup && last?.hangupCause == "NORMAL_CLEARING" && last?.hangupTime != nil, sourceLocation: sourceLocation)
    #expect(events.dropLast().allSatisfy { $0.call.hangupCause == nil }, sourceLocation: sourceLocation)
}
