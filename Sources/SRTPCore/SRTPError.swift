internal import CSRTP

/// Errors of SRTPCore (libsrtp2 status codes mapped to what a caller can act on).
public enum SRTPError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The authentication tag did not verify (RFC 3711 §3.3 step 5, RFC 7714 §9.2): tampered,
    /// wrong key, or not SRTP at all.
    case authenticationFailed
    /// A replayed or too-old packet (RFC 3711 §3.3.2).
    case replay
    /// The packet is too short or its header is malformed, or the caller's buffer has no room for the trailer.
    case badLength(Int)
    /// Keys of the wrong size for the profile.
    case badKey(String)
    /// Any other libsrtp2 failure, with the function name and status code.
    case library(function: String, status: Int32)

    public var description: String {
        switch self {
        case .authenticationFailed: return "SRTP authentication failed"
        case .replay: return "SRTP replay rejected"
        case .badLength(let n): return "SRTP packet of bad length \(n)"
        case .badKey(let s): return "SRTP bad key: \(s)"
        case .library(let f, let s): return "\(f) failed with libsrtp2 status \(s)"
        }
    }

    static func from(_ status: srtp_err_status_t, _ function: String, length: Int) -> SRTPError {
        switch status {
        case srtp_err_status_auth_fail: return .authenticationFailed
        case srtp_err_status_replay_fail, srtp_err_status_replay_old, srtp_err_status_pkt_idx_old: return .replay
        case srtp_err_status_bad_param, srtp_err_status_parse_err: return .badLength(length)
        default: return .library(function: function, status: Int32(bitPattern: status.rawValue))
        }
    }
}
