import VertoPhone

/// The names of Webitel's public call events (docs/verto-protocol.md §6.2), as `kind` of a `CtiEvent`.
public enum CtiEventKind: String, Sendable, Equatable, CaseIterable {
    case onNewCall, onAcceptCall, onHoldCall, onUnholdCall, onDtmfCall, onBridgeCall, onUuidCall, onHangupCall, onNewWebRTCCall
}

/// One provider event. Every case carries a snapshot of the call object taken when it fired.
/// See `WebitelCTI.docc/WebitelCTI.md` for what raises each one.
public enum CtiEvent: Sendable {
    case newCall(CtiCall)
    case acceptCall(CtiCall)
    case holdCall(CtiCall)
    case unholdCall(CtiCall)
    /// One event per digit, as FreeSWITCH raises one `DTMF` event per digit.
    case dtmfCall(CtiCall, digits: String)
    case bridgeCall(CtiCall)
    case uuidCall(CtiCall, newId: String)
    case hangupCall(CtiCall)
    /// The call's media session (PCM in/out, tones, recording, statistics).
    case newWebRTCCall(CtiCall, MediaSession)

    public var kind: CtiEventKind {
        switch self {
        case .newCall: return .onNewCall
        case .acceptCall: return .onAcceptCall
        case .holdCall: return .onHoldCall
        case .unholdCall: return .onUnholdCall
        case .dtmfCall: return .onDtmfCall
        case .bridgeCall: return .onBridgeCall
        case .uuidCall: return .onUuidCall
        case .hangupCall: return .onHangupCall
        case .newWebRTCCall: return .onNewWebRTCCall
        }
    }

    public var call: CtiCall {
        switch self {
        case .newCall(let c), .acceptCall(let c), .holdCall(let c), .unholdCall(let c), .dtmfCall(let c, _), .bridgeCall(let c),
             .uuidCall(let c, _), .hangupCall(let c), .newWebRTCCall(let c, _):
            return c
        }
    }
}

extension CtiEvent: CustomStringConvertible {
    public var description: String {
        switch self {
        case .dtmfCall(let c, let d): return "\(kind.rawValue)(\(c.uuid.prefix(8)), \(d))"
        case .uuidCall(let c, let n): return "\(kind.rawValue)(\(c.uuid.prefix(8)) → \(n.prefix(8)))"
        default: return "\(kind.rawValue)(\(call.uuid.prefix(8)), \(call.state.rawValue))"
        }
    }
}

/// The same events as a delegate with default no-op handlers (Webitel's `onXxx` subscriptions).
/// Handlers run on the engine's event loop, in event order: return quickly.
public protocol CtiEventHandler: AnyObject, Sendable {
    func onNewCall(_ call: CtiCall)
    func onAcceptCall(_ call: CtiCall)
    func onHoldCall(_ call: CtiCall)
    func onUnholdCall(_ call: CtiCall)
    func onDtmfCall(_ call: CtiCall, digits: String)
    func onBridgeCall(_ call: CtiCall)
    func onUuidCall(_ call: CtiCall, newId: String)
    func onHangupCall(_ call: CtiCall)
    func onNewWebRTCCall(_ call: CtiCall, session: MediaSession)
}

extension CtiEventHandler {
    public func onNewCall(_ call: CtiCall) {}
    public func onAcceptCall(_ call: CtiCall) {}
    public func onHoldCall(_ call: CtiCall) {}
    public func onUnholdCall(_ call: CtiCall) {}
    public func onDtmfCall(_ call: CtiCall, digits: String) {}
    public func onBridgeCall(_ call: CtiCall) {}
    public func onUuidCall(_ call: CtiCall, newId: String) {}
    public func onHangupCall(_ call: CtiCall) {}
    public func onNewWebRTCCall(_ call: CtiCall, session: MediaSession) {}

    /// Calls the handler method matching `event`.
    public func handle(_ event: CtiEvent) {
        switch event {
        case .newCall(let c): onNewCall(c)
        case .acceptCall(let c): onAcceptCall(c)
        case .holdCall(let c): onHoldCall(c)
        case .unholdCall(let c): onUnholdCall(c)
        case .dtmfCall(let c, let d): onDtmfCall(c, digits: d)
        case .bridgeCall(let c): onBridgeCall(c)
        case .uuidCall(let c, let n): onUuidCall(c, newId: n)
        case .hangupCall(let c): onHangupCall(c)
        case .newWebRTCCall(let c, let s): onNewWebRTCCall(c, session: s)
        }
    }
}
