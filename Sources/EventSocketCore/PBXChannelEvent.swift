import VertoCore

/// A FreeSWITCH channel event from the event socket (`event json …`, Content-Type
/// `text/event-json`), reduced to what call control needs: which channel, which other leg, and the
/// event's own facts.
public struct PBXChannelEvent: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        case hold = "CHANNEL_HOLD"
        case unhold = "CHANNEL_UNHOLD"
        case dtmf = "DTMF"
        case bridge = "CHANNEL_BRIDGE"
        case uuidChange = "CHANNEL_UUID"
        case hangupComplete = "CHANNEL_HANGUP_COMPLETE"
        case answer = "CHANNEL_ANSWER"
    }

    /// The event names to subscribe to (`event json <names>`).
    public static let subscription = Kind.allCases.map(\.rawValue).joined(separator: " ")

    public var kind: Kind
    /// The channel the event is about (`Unique-ID`; for a Verto leg, its callID).
    public var uuid: String
    /// The channel it is bridged to, where the event names one (`Other-Leg-Unique-ID`, else the
    /// `bridge_uuid` / `signal_bond` variables, else the other side of a CHANNEL_BRIDGE).
    public var otherLeg: String?
    /// DTMF: the digit.
    public var digit: String?
    /// CHANNEL_UUID: the id the channel had before.
    public var oldUUID: String?
    /// CHANNEL_HANGUP_COMPLETE: the cause name.
    public var hangupCause: String?
    /// The channel's caller id number, when the event carries it.
    public var callerNumber: String?

    public init(kind: Kind, uuid: String, otherLeg: String? = nil, digit: String? = nil, oldUUID: String? = nil,
                hangupCause: String? = nil, callerNumber: String? = nil) {
        self.kind = kind
        self.uuid = uuid
        self.otherLeg = otherLeg
        self.digit = digit
        self.oldUUID = oldUUID
        self.hangupCause = hangupCause
        self.callerNumber = callerNumber
    }

    /// Decodes an event message. Nil for an event of a kind not listed here (not an error: the
    /// socket may carry others); a typed error for a message that claims to be a JSON event and is
    /// not a well-formed one.
    public init?(message: EventSocketMessage) throws(EventSocketError) {
        guard message.contentType == "text/event-json" else { return nil }
        let object: JSONObject
        do {
            guard let o = try JSONCodec.parse(message.body).objectValue else { throw EventSocketError.protocolError("event body is not an object") }
            object = o
        } catch let e as EventSocketError {
            throw e
        } catch {
            throw .protocolError("event body is not JSON: \(error)")
        }
        guard let name = object.string("Event-Name") else { throw .protocolError("event without Event-Name") }
        guard let kind = Kind(rawValue: name) else { return nil }
        guard let uuid = object.string("Unique-ID"), !uuid.isEmpty else { throw .protocolError("\(name) without Unique-ID") }
        var other = object.string("Other-Leg-Unique-ID") ?? object.string("variable_bridge_uuid") ?? object.string("variable_signal_bond")
        if kind == .bridge {
            let a = object.string("Bridge-A-Unique-ID"), b = object.string("Bridge-B-Unique-ID")
            other = other ?? (a == uuid ? b : a)
        }
        self.init(kind: kind, uuid: uuid, otherLeg: other?.isEmpty == false ? other : nil,
                  digit: object.string("DTMF-Digit"), oldUUID: object.string("Old-Unique-ID"),
                  hangupCause: object.string("Hangup-Cause"), callerNumber: object.string("Caller-Caller-ID-Number"))
    }
}
