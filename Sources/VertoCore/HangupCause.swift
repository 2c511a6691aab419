/// Hang-up causes as they travel in `verto.bye` (`cause` = Q.850 name, `causeCode` = number),
/// docs/verto-protocol.md §2.3 and FreeSWITCH `switch_types.h`.
public enum HangupCause: Sendable, Hashable, CustomStringConvertible {
    case unspecified
    case unallocatedNumber
    case noRouteDestination
    case normalClearing
    case userBusy
    case noUserResponse
    case noAnswer
    case subscriberAbsent
    case callRejected
    case numberChanged
    case destinationOutOfOrder
    case invalidNumberFormat
    case normalUnspecified
    case normalTemporaryFailure
    case bearerCapabilityNotAuth
    case bearerCapabilityNotAvail
    case incompatibleDestination
    case invalidMsgUnspecified
    case recoveryOnTimerExpire
    case originatorCancel
    case loseRace
    case managerRequest
    case blindTransfer
    case attendedTransfer
    case mediaTimeout
    case pickedOff
    /// Any other (name, code) pair received from a peer; kept verbatim.
    case other(name: String, code: Int)

    private static let table: [(HangupCause, String, Int)] = [
        (.unspecified, "UNSPECIFIED", 0),
        (.unallocatedNumber, "UNALLOCATED_NUMBER", 1),
        (.noRouteDestination, "NO_ROUTE_DESTINATION", 3),
        (.normalClearing, "NORMAL_CLEARING", 16),
        (.userBusy, "USER_BUSY", 17),
        (.noUserResponse, "NO_USER_RESPONSE", 18),
        (.noAnswer, "NO_ANSWER", 19),
        (.subscriberAbsent, "SUBSCRIBER_ABSENT", 20),
        (.callRejected, "CALL_REJECTED", 21),
        (.numberChanged, "NUMBER_CHANGED", 22),
        (.destinationOutOfOrder, "DESTINATION_OUT_OF_ORDER", 27),
        (.invalidNumberFormat, "INVALID_NUMBER_FORMAT", 28),
        (.normalUnspecified, "NORMAL_UNSPECIFIED", 31),
        (.normalTemporaryFailure, "NORMAL_TEMPORARY_FAILURE", 41),
        (.bearerCapabilityNotAuth, "BEARERCAPABILITY_NOTAUTH", 57),
        (.bearerCapabilityNotAvail, "BEARERCAPABILITY_NOTAVAIL", 58),
        (.incompatibleDestination, "INCOMPATIBLE_DESTINATION", 88),
        (.invalidMsgUnspecified, "INVALID_MSG_UNSPECIFIED", 95),
        // FreeSWITCH switch_types.h: SWITCH_CAUSE_RECOVERY_ON_TIMER_EXPIRE = 102 (the Q.850 value).
        // docs/verto-protocol.md §1.6 prints 605, but 605 is SWITCH_CAUSE_PICKED_OFF; the code FreeSWITCH
        // puts in `causeCode` for this cause is 102.
        (.recoveryOnTimerExpire, "RECOVERY_ON_TIMER_EXPIRE", 102),
        (.originatorCancel, "ORIGINATOR_CANCEL", 487),
        (.loseRace, "LOSE_RACE", 502),
        (.managerRequest, "MANAGER_REQUEST", 503),
        (.blindTransfer, "BLIND_TRANSFER", 600),
        (.attendedTransfer, "ATTENDED_TRANSFER", 601),
        (.mediaTimeout, "MEDIA_TIMEOUT", 604),
        (.pickedOff, "PICKED_OFF", 605),
    ]

    public var name: String {
        if case .other(let n, _) = self { return n }
        return Self.table.first { $0.0 == self }?.1 ?? "UNSPECIFIED"
    }

    public var code: Int {
        if case .other(_, let c) = self { return c }
        return Self.table.first { $0.0 == self }?.2 ?? 0
    }

    public var description: String { "\(name)(\(code))" }

    /// By Q.850 name (case-insensitive).
    public init?(name: String) {
        let upper = name.uppercased()
        guard let e = Self.table.first(where: { $0.1 == upper }) else { return nil }
        self = e.0
    }

    /// By number.
    public init?(code: Int) {
        guard let e = Self.table.first(where: { $0.2 == code }) else { return nil }
        self = e.0
    }

    /// What mod_verto does with a client's `verto.bye` (§3.2.4): `cause` name, else `causeCode`
    /// (number or numeric string); anything unknown falls back to NORMAL_CLEARING.
    public static func fromBye(cause: JSONValue?, causeCode: JSONValue?) -> HangupCause {
        if let n = cause?.stringValue, let c = HangupCause(name: n) { return c }
        if let i = causeCode?.intValue, let c = HangupCause(code: i) { return c }
        return .normalClearing
    }

    /// As received from a server's `verto.bye`: keeps unknown pairs as `.other`.
    public static func fromRemote(cause: JSONValue?, causeCode: JSONValue?) -> HangupCause {
        if let n = cause?.stringValue, let c = HangupCause(name: n) { return c }
        if let i = causeCode?.intValue {
            if let c = HangupCause(code: i) { return c }
            return .other(name: cause?.stringValue ?? "UNKNOWN", code: i)
        }
        if let n = cause?.stringValue, !n.isEmpty { return .other(name: n, code: 0) }
        return .normalClearing
    }
}
