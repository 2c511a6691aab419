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
