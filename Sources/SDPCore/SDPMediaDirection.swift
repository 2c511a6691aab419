/// The media direction attributes `a=sendrecv|sendonly|recvonly|inactive` (RFC 8866 §6.7,
/// RFC 3264 §5.1, §6.1). Absent means `sendrecv`.
public enum SDPMediaDirection: String, Sendable, Equatable, Hashable, CaseIterable {
    case sendrecv, sendonly, recvonly, inactive

    public init(sends: Bool, receives: Bool) {
        switch (sends, receives) {
        case (true, true): self = .sendrecv
        case (true, false): self = .sendonly
        case (false, true): self = .recvonly
        case (false, false): self = .inactive
        }
    }

    /// True when the side that wrote this attribute sends media.
    public var sends: Bool { self == .sendrecv || self == .sendonly }
    /// True when the side that wrote this attribute receives media.
    public var receives: Bool { self == .sendrecv || self == .recvonly }

    /// The same stream seen from the other side (`sendonly` ↔ `recvonly`).
    public var reversed: SDPMediaDirection { SDPMediaDirection(sends: receives, receives: sends) }

    /// Both sides' wishes combined: send/receive only where both allow it.
    public func intersection(_ other: SDPMediaDirection) -> SDPMediaDirection {
        SDPMediaDirection(sends: sends && other.sends, receives: receives && other.receives)
    }

    /// The direction an answerer writes for an offered direction, given what the answerer itself
    /// wants (e.g. `sendonly` to put the call on hold), per RFC 3264 §6.1: a `sendonly` offer is
    /// answered `recvonly` or `inactive`, `recvonly` with `sendonly` or `inactive`, `inactive` with
    /// `inactive`, and `sendrecv` with any direction.
    public static func answer(to offered: SDPMediaDirection, local: SDPMediaDirection) -> SDPMediaDirection {
        offered.reversed.intersection(local)
    }

    public var attribute: SDPAttribute { SDPAttribute(rawValue) }
}

/// The DTLS connection role `a=setup` (RFC 4145 §4, RFC 5763 §5, RFC 8842 §5).
public enum SDPSetupRole: String, Sendable, Equatable, Hashable, CaseIterable {
    case actpass, active, passive, holdconn

    public init?(attributeValue: String) {
        self.init(rawValue: SDPText.lowercased(SDPText.trimmed(Substring(attributeValue))))
    }

    public var attribute: SDPAttribute { SDPAttribute("setup", rawValue) }
}

/// Our DTLS role once offer and answer agree (RFC 5763 §5): the `active` side is the DTLS client.
public enum DTLSRole: String, Sendable, Equatable, Hashable {
    case client, server
}

/// Our ICE role (RFC 8445 §6.1.1, RFC 8839 §4.2): the offerer controls unless it is lite and the
/// answerer is full.
public enum ICERole: String, Sendable, Equatable, Hashable {
    case controlling, controlled
}
