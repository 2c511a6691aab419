import Foundation

/// The state of a call as Webitel reports it (`WebitelCall.state`).
public enum CtiCallState: String, Sendable, Equatable {
    /// Created, not answered yet (ringing either way, or early media).
    case ringing
    case active
    case held
    case hangup
}

/// Webitel's call direction (`inbound` / `outbound`; Webitel's `callback` is not produced).
public enum CtiCallDirection: String, Sendable, Equatable {
    case inbound, outbound
}

/// A call as Webitel's `WebitelCall.getJSONObject()` shapes it (docs/verto-protocol.md §6.2), so existing
/// Creatio handlers find the fields they expect. Each event carries a snapshot taken when it fired.
public struct CtiCall: Sendable, Equatable, Identifiable {
    /// This leg's id: the Verto `callID` (the FreeSWITCH channel UUID of the web-phone leg).
    public var uuid: String
    public var direction: CtiCallDirection
    public var state: CtiCallState
    public var callerNumber: String
    public var callerName: String
    public var calleeNumber: String
    public var calleeName: String
    /// The number to show for the far end (the callee of an outbound call, the caller of an inbound one).
    public var displayNumber: String { direction == .outbound ? calleeNumber : callerNumber }
    /// True when this side originated the call.
    public var isOriginator: Bool { direction == .outbound }
    /// The bridged leg's id, when the server exports it (`verto_h_other_leg_unique_id`).
    public var otherLegUuid: String?
    /// For the first call of an attended transfer: the consult call's uuid (`attended-transfer-call-uuid`).
    public var attendedTransferCallUuid: String?
    /// For a consult call: the uuid of the call it consults about.
    public var consultForUuid: String?
    public var createdTime: Date
    public var answeredTime: Date?
    public var hangupTime: Date?
    /// Q.850 cause name (e.g. `NORMAL_CLEARING`), set at hang-up.
    public var hangupCause: String?

    public var id: String { uuid }

    public init(uuid: String, direction: CtiCallDirection, state: CtiCallState = .ringing, callerNumber: String = "",
                callerName: String = "", calleeNumber: String = "", calleeName: String = "", otherLegUuid: String? = nil,
                createdTime: Date = Date()) {
        self.uuid = uuid
        self.direction = direction
        self.state = state
        self.callerNumber = callerNumber
        self.callerName = callerName
        self.calleeNumber = calleeNumber
        self.calleeName = calleeName
        self.otherLegUuid = otherLegUuid
        self.createdTime = createdTime
    }

    /// The far end's number and name as the call object shows them.
    var remote: (number: String, name: String) {
        direction == .outbound ? (calleeNumber, calleeName) : (callerNumber, callerName)
    }

    mutating func setRemote(number: String, name: String?) {
        if direction == .outbound {
            calleeNumber = number
            calleeName = name ?? number
        } else {
            callerNumber = number
            callerName = name ?? number
        }
    }

    /// The keys and values of Webitel's `getJSONObject()` (absent values omitted; times in ms since 1970).
    public var webitelJSON: [String: String] {
        var o: [String: String] = [
            "uuid": uuid, "state": state.rawValue, "direction": direction.rawValue,
            "callerNumber": callerNumber, "callerName": callerName, "calleeNumber": calleeNumber, "calleeName": calleeName,
            "displayNumber": displayNumber, "isOriginator": isOriginator ? "true" : "false",
            "call-created-time": Self.ms(createdTime),
        ]
        if let otherLegUuid { o["other-leg-unique-id"] = otherLegUuid }
        if let attendedTransferCallUuid { o["attended-transfer-call-uuid"] = attendedTransferCallUuid }
        if let answeredTime { o["call-answered-time"] = Self.ms(answeredTime) }
        if let hangupTime { o["call-hangup-time"] = Self.ms(hangupTime) }
        if let hangupCause { o["hangup_cause"] = hangupCause }
        return o
    }

    private static func ms(_ d: Date) -> String { String(Int64((d.timeIntervalSince1970 * 1000).rounded())) }
}
