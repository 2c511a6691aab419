import CoreSupport
import NIOCore

/// Application commands of the server role (what FreeSWITCH's core does to a Verto leg, §3.3, §4).
extension VertoServerCore {
    private func liveConnection(for call: Call) -> VertoConnectionID? { boundConnection(call.sessid) }

    private func requireCall(_ callID: String) throws(VertoError) -> Call {
        guard let c = callRecord(callID) else { throw .unknownCall(callID: callID) }
        return c
    }

    /// Originates a call to a logged-in sessid (`verto.invite` with the application's SDP offer,
    /// caller/callee ids, `display_direction:"outbound"`, §4.3). An empty `offer.callID` gets a fresh
    /// UUID. Returns the callID.
    @discardableResult
    public mutating func originate(toSessid sessid: String, offer: CallOffer, now: NIODeadline) throws(VertoError) -> String {
        guard let conn = boundConnection(sessid), isAuthenticated(conn) else { throw .notLoggedIn(operation: "originate") }
        var o = offer
        if o.callID.isEmpty { o.callID = newUUID() }
        guard callRecord(o.callID) == nil else { throw .duplicateCall(callID: o.callID) }
        guard admitsCall(for: sessid) else { throw .tooManyCalls(limit: min(configuration.maxCalls, configuration.maxCallsPerSession)) }
        guard !o.sdp.isEmpty else { throw .missingField(method: VertoMethod.invite.rawValue, field: "sdp") }
        var d = VertoDialog(callID: o.callID, direction: .serverOriginated)
        d.callInfo = o
        try d.apply(.invite)
        try d.apply(.ringing)  // ring-ready once sent (§3.3)
        setCall(o.callID, Call(dialog: d, sessid: sessid))
        sendRequest(conn, .invite(o))
        return o.callID
    }

    /// Early media (`verto.media` with the SDP answer) for a client-originated call (§4.2).
    public mutating func earlyMedia(callID: String, sdp: String, now: NIODeadline) throws(VertoError) {
        var call = try requireCall(callID)
        guard call.dialog.direction == .clientOriginated, !call.dialog.earlySDPSent else {
            throw .invalidTransition(callID: callID, from: call.dialog.state, event: "earlyMedia")
        }
        guard !sdp.isEmpty else { throw .missingField(method: VertoMethod.media.rawValue, field: "sdp") }
        guard let conn = liveConnection(for: call) else { throw .invalidState(operation: "verto.media", state: "detached") }
        try call.dialog.apply(.earlyMedia)
        call.dialog.earlySDPSent = true
        setCall(callID, call)
        sendRequest(conn, .media(CallMediaParams(callID: callID, sdp: sdp)))
    }

    /// Answers a client-originated call (`verto.answer`). The SDP is required unless `verto.media`
    /// already carried it, in which case it is never sent again (§3.3).
    public mutating func answer(callID: String, sdp: String?, now: NIODeadline) throws(VertoError) {
        var call = try requireCall(callID)
        guard call.dialog.direction == .clientOriginated else {
            throw .invalidTransition(callID: callID, from: call.dialog.state, event: "answer")
        }
        let sendSDP: String?
        if call.dialog.earlySDPSent {
            sendSDP = nil
        } else {
            guard let sdp, !sdp.isEmpty else { throw .missingField(method: VertoMethod.answer.rawValue, field: "sdp") }
            sendSDP = sdp
        }
        guard let conn = liveConnection(for: call) else { throw .invalidState(operation: "verto.answer", state: "detached") }
        try call.dialog.apply(.answer)
        setCall(callID, call)
        sendRequest(conn, .answer(CallMediaParams(callID: callID, sdp: sendSDP)))
    }

    /// Hangs up a call: `verto.bye {callID, cause, causeCode}` if its client is connected (§3.3).
    public mutating func hangup(callID: String, cause: HangupCause = .normalClearing, now: NIODeadline) throws(VertoError) {
        _ = try requireCall(callID)
        endCall(callID, cause: cause, reason: .applicationHangup, notify: true)
    }

    /// `verto.display` (remembered and re-sent after a re-attach, §1.6).
    public mutating func display(_ params: DisplayParams, now: NIODeadline) throws(VertoError) {
        var call = try requireCall(params.callID)
        call.dialog.lastDisplay = params
        setCall(params.callID, call)
        if let conn = liveConnection(for: call), call.dialog.state != .recovering { sendRequest(conn, .display(params)) }
    }

    /// Supplies the fresh offer for a `.reattachNeeded` call: sends `verto.attach` (§1.6, §4.8).
    public mutating func reattach(callID: String, sdp: String, now: NIODeadline) throws(VertoError) {
        var call = try requireCall(callID)
        guard call.dialog.state == .recovering else {
            throw .invalidTransition(callID: callID, from: call.dialog.state, event: "attach")
        }
        guard let conn = liveConnection(for: call), var c = connectionState(conn),
              let i = c.awaitingOffers.firstIndex(of: callID) else {
            throw .invalidState(operation: "verto.attach", state: "not awaiting a re-offer")
        }
        guard !sdp.isEmpty else { throw .missingField(method: VertoMethod.attach.rawValue, field: "sdp") }
        var offer = call.dialog.callInfo ?? CallOffer(callID: callID, sdp: sdp)
        if call.dialog.callInfo == nil, let dp = call.dialog.dialogParams {
            // A client-originated call: describe it from the client's own dialog params.
            offer.callerIDName = dp.callerIDName
            offer.callerIDNumber = dp.callerIDNumber
            offer.calleeIDName = dp.remoteCallerIDName
            offer.calleeIDNumber = dp.remoteCallerIDNumber ?? dp.destinationNumber
            offer.displayDirection = "inbound"
        }
        offer.sdp = sdp
        call.reoffered = true
        setCall(callID, call)
        c.awaitingOffers.remove(at: i)
        c.reoffered.append(callID)
        setConnection(c)
        sendRequest(conn, .attach(offer))
        maybeSendClientReady(conn)
    }

    /// Sends any server request (info `msg`, `verto.event`, announce, prompt, mediaParams, …) to the
    /// connection bound to `sessid`.
    public mutating func send(_ request: VertoServerRequest, toSessid sessid: String, now: NIODeadline) throws(VertoError) {
        guard let conn = boundConnection(sessid), isAuthenticated(conn) else { throw .notLoggedIn(operation: request.method.rawValue) }
        sendRequest(conn, request)
    }

    /// Delivers `verto.event` to every connection subscribed to `eventChannel` (with `eventSerno`
    /// absent); returns how many received it.
    @discardableResult
    public mutating func publish(eventChannel: String, data: JSONObject, now: NIODeadline) -> Int {
        var n = 0
        for id in openConnections {
            guard let c = connectionState(id), c.subscriptions.contains(eventChannel) else { continue }
            var p = data
            p["eventChannel"] = .string(eventChannel)
            sendRequest(id, .event(p))
            n += 1
        }
        return n
    }

    /// Punts the connection bound to `sessid` (`verto.punt {}` then close, §4.10). Its answered calls
    /// are detached and wait for the sessid to return.
    public mutating func punt(sessid: String, now: NIODeadline) throws(VertoError) {
        guard let conn = boundConnection(sessid) else { throw .notLoggedIn(operation: "verto.punt") }
        sendRequest(conn, .punt)
        emit(.punted(connection: conn, sessid: sessid))
        disconnect(conn, now: now)
    }
}
