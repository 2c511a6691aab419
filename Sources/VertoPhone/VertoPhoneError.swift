import PeerCore
import VertoCore

/// Errors of the engine. The call errors keep their types, so an app can tell a busy callee from
/// a missing route: `hangupCause` gives the cause wherever there is one.
public enum VertoPhoneError: Error, Sendable, Equatable, CustomStringConvertible {
    case userNotLoggedIn(String)
    case notConnected
    case loginFailed(String)
    /// The server answered a request about a call with an error (JSON-RPC `code`, `message` and
    /// any context such as `cause`/`causeCode`), or the request got no answer in time.
    case refused(method: String, VertoError)
    /// The call ended, with this cause, before the operation could complete.
    case callEnded(HangupCause)
    /// The protocol core refused the operation here (the call is unknown, or in a state that does
    /// not allow it).
    case session(VertoError)
    /// The media side could not take the call (SDP, ICE, DTLS, codec).
    case media(PeerError)
    /// Anything else that failed a call.
    case callFailed(String)
    case unknownCall(String)
    case invalidState(String)
    case timeout(String)
    /// A setting cannot be used (a malformed ICE server URI, a host name that does not resolve).
    case invalidConfiguration(String)

    /// The hang-up cause behind the error: the call's own, or the one the server's refusal names.
    public var hangupCause: HangupCause? {
        switch self {
        case .callEnded(let c): return c
        case .refused(_, .remoteError(_, _, _, let data)):
            if let name = data.string("cause") { return HangupCause(name: name) }
            return data.int("causeCode").flatMap { HangupCause(code: $0) }
        default: return nil
        }
    }

    public var description: String {
        switch self {
        case .userNotLoggedIn(let u): return "user \(u) is not logged in"
        case .notConnected: return "not connected"
        case .loginFailed(let s): return "login failed: \(s)"
        case .refused(let m, let e): return "\(m) refused: \(e)"
        case .callEnded(let c): return "the call ended: \(c)"
        case .session(let e): return "call failed: \(e)"
        case .media(let e): return "call failed (media): \(e)"
        case .callFailed(let s): return "call failed: \(s)"
        case .unknownCall(let s): return "unknown call \(s)"
        case .invalidState(let s): return "invalid state: \(s)"
        case .timeout(let s): return "timed out: \(s)"
        case .invalidConfiguration(let s): return "invalid configuration: \(s)"
        }
    }

    /// A call operation's error, typed where it can be.
    static func call(_ error: any Error) -> VertoPhoneError {
        switch error {
        case let e as VertoPhoneError: return e
        case let e as VertoError: return .session(e)
        case let e as PeerError: return .media(e)
        default: return .callFailed("\(error)")
        }
    }
}

extension HangupCause {
    /// What a cause that ends a call before it is answered most likely means for the caller's
    /// configuration, and what fixes it (nil when there is nothing to say).
    public var setupHint: String? {
        switch self {
        case .incompatibleDestination:
            return "the server found no usable media candidate or codec in the offer; if it accepts only some addresses "
                + "(a FreeSWITCH candidate ACL, a server on loopback), bind media to an address it can reach (mediaHost, --media-host)"
        case .mediaTimeout:
            return "media (ICE/DTLS) did not come up: a firewall or NAT between the two sides; try a mediaHost the server can reach"
        default:
            return nil
        }
    }
}
