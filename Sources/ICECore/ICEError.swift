/// The one error type of ICECore (docs/architecture.md house rule 9). Every case carries enough context to
/// log the problem without exposing credentials.
public enum ICEError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The datagram is not a STUN message (RFC 8489 §6: top two bits, magic cookie, length rules).
    case notSTUN(reason: String)
    /// A STUN message whose framing or attribute is malformed (RFC 8489 §14).
    case malformedMessage(reason: String, offset: Int)
    /// An attribute value that does not fit its definition (type, offset, reason).
    case malformedAttribute(type: UInt16, offset: Int, reason: String)
    /// FINGERPRINT present but wrong (RFC 8489 §14.7).
    case fingerprintMismatch
    /// MESSAGE-INTEGRITY missing or wrong (RFC 8489 §14.5).
    case integrityCheckFailed
    /// The caller's buffer is too small for the encoded message.
    case bufferTooSmall(needed: Int, available: Int)
    /// A value that cannot be encoded (e.g. an attribute longer than 65535 bytes).
    case encodingFailed(reason: String)
    /// An address that is not an IPv4/IPv6 literal with a port.
    case invalidAddress(String)
    /// An API call that does not make sense in the agent's current state or mode.
    case invalidState(String)

    public var description: String {
        switch self {
        case .notSTUN(let r): "not a STUN message: \(r)"
        case .malformedMessage(let r, let o): "malformed STUN message at byte \(o): \(r)"
        case .malformedAttribute(let t, let o, let r): "malformed STUN attribute 0x\(String(t, radix: 16)) at byte \(o): \(r)"
        case .fingerprintMismatch: "STUN FINGERPRINT mismatch"
        case .integrityCheckFailed: "STUN MESSAGE-INTEGRITY check failed"
        case .bufferTooSmall(let n, let a): "buffer too small: need \(n) bytes, have \(a)"
        case .encodingFailed(let r): "cannot encode STUN message: \(r)"
        case .invalidAddress(let a): "invalid transport address \(a)"
        case .invalidState(let s): "invalid ICE agent state: \(s)"
        }
    }
}

/// RFC 8489 uses "STUN error"; in this module every error is an `ICEError`.
public typealias STUNError = ICEError
