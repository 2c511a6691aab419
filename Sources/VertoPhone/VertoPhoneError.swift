import VertoCore

/// Errors of the engine.
public enum VertoPhoneError: Error, Sendable, Equatable, CustomStringConvertible {
    case userNotLoggedIn(String)
    case notConnected
    case loginFailed(String)
    case callFailed(String)
    case unknownCall(String)
    case invalidState(String)
    case timeout(String)

    public var description: String {
        switch self {
        case .userNotLoggedIn(let u): return "user \(u) is not logged in"
        case .notConnected: return "not connected"
        case .loginFailed(let s): return "login failed: \(s)"
        case .callFailed(let s): return "call failed: \(s)"
        case .unknownCall(let s): return "unknown call \(s)"
        case .invalidState(let s): return "invalid state: \(s)"
        case .timeout(let s): return "timed out: \(s)"
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
