import CryptoCore
import ICECore
import SDPCore
import SRTPCore

/// Errors of PeerCore.
public enum PeerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The remote SDP could not be used.
    case sdp(SDPError)
    /// The remote fingerprint is missing or malformed.
    case badFingerprint(String)
    /// ICE found no working pair (every pair failed, or none was selected in time).
    case ice(ICEFailureReason)
    /// The peer stopped answering consent checks (RFC 7675 §5.1).
    case consentLost
    /// The DTLS handshake failed (e.g. fingerprint mismatch).
    case dtls(CryptoError)
    /// SRTP could not be keyed.
    case srtp(SRTPError)
    /// A codec could not be created.
    case codec(String)
    /// The call was made in a state that does not allow it.
    case invalidState(String)
    /// A TURN allocation failed (wrong credentials, no answer, refused); with the relay-only
    /// policy this leaves no candidate.
    case turn(TURNError)
    /// Nothing to offer: the relay-only policy without a relayed candidate, or no usable address.
    case noCandidates

    public var description: String {
        switch self {
        case .sdp(let e): return "SDP: \(e)"
        case .badFingerprint(let s): return "bad remote fingerprint: \(s)"
        case .ice(let r): return "ICE: \(r.rawValue)"
        case .consentLost: return "ICE: consent lost (RFC 7675)"
        case .dtls(let e): return "DTLS: \(e)"
        case .srtp(let e): return "SRTP: \(e)"
        case .codec(let s): return "codec: \(s)"
        case .invalidState(let s): return "invalid state: \(s)"
        case .turn(let e): return "TURN: \(e)"
        case .noCandidates: return "no ICE candidate to offer (relay-only without a TURN allocation?)"
        }
    }
}
