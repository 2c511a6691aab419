import CoreSupport

/// JSON-RPC error codes as mod_verto uses them (docs/verto-protocol.md §2.3, `mod_verto.h`).
public enum VertoErrorCode {
    /// `-32000` Authentication Required: any method before login; `login` without `login` field.
    public static let authRequired = -32000
    /// `-32001` Authentication Failure / Login Incorrect / Session in use.
    public static let authFailed = -32001
    /// `-32002` per-call and event-channel handler failures (`CALL DOES NOT EXIST`, …).
    public static let sessionError = -32002
    /// `-32700` Parse error: the text is not JSON (JSON-RPC 2.0 §5.1). mod_verto answers these with
    /// `-32600` "Invalid Request"; clients (verto.js) treat both alike.
    public static let parseError = -32700
    /// `-32600` Invalid message / Invalid Request (envelope errors).
    public static let invalid = -32600
    /// `-32601` Invalid Method, Missing Method or Permission Denied.
    public static let methodNotFound = -32601
    /// `-32602` Permission Denied (e.g. `jsapi`/`fsapi` not allowed).
    public static let permissionDenied = -32602
}

/// The one error type of VertoCore (docs/architecture.md house rule 9). Every case carries its context.
public enum VertoError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The text is not JSON (or nests too deep).
    case malformedJSON(String)
    /// JSON, but not a JSON-RPC 2.0 message (no `"jsonrpc":"2.0"`, not an object, …).
    case invalidMessage(String)
    /// A frame larger than the configured cap (default 1 MB, §1.4).
    case payloadTooLarge(size: Int, limit: Int)
    /// A method name this core does not know.
    case unknownMethod(String)
    /// A required field is absent.
    case missingField(method: String, field: String)
    /// A field has the wrong JSON type.
    case wrongType(method: String, field: String, expected: String)
    /// No dialog with this callID.
    case unknownCall(callID: String)
    /// A callID that already exists.
    case duplicateCall(callID: String)
    /// The dialog state machine refused an event.
    case invalidTransition(callID: String, from: DialogState, event: String)
    /// An operation that needs a logged-in session.
    case notLoggedIn(operation: String)
    /// The session cannot do this in its current state.
    case invalidState(operation: String, state: String)
    /// The server refused the credentials (`-32001`) or demanded them (`-32000`).
    case authenticationFailed(code: Int, message: String)
    /// The method is not allowed for this user (`-32601`/`-32602`).
    case permissionDenied(method: String)
    /// A request got no reply before its deadline.
    case requestTimedOut(method: String, id: JSONRPCID)
    /// The peer answered a request with a JSON-RPC error.
    case remoteError(method: String, code: Int?, message: String, data: JSONObject)
    /// The connection went away while the request was pending.
    case connectionLost(method: String, id: JSONRPCID)
    /// An unknown connection id was passed to the server core.
    case unknownConnection(UInt64)
    /// A connection did not log in within the server's login timeout.
    case loginTimeout
    /// More connections without a login than the server allows; the oldest was closed.
    case tooManyConnections(limit: Int)
    /// A call over the server's per-session or global call cap.
    case tooManyCalls(limit: Int)

    /// The JSON-RPC error code a server replies with for this error (§2.3).
    public var jsonRPCCode: Int {
        switch self {
        case .malformedJSON: return VertoErrorCode.parseError
        case .invalidMessage, .payloadTooLarge: return VertoErrorCode.invalid
        case .unknownMethod: return VertoErrorCode.methodNotFound
        case .notLoggedIn: return VertoErrorCode.authRequired
        case .authenticationFailed(let code, _): return code
        case .permissionDenied: return VertoErrorCode.methodNotFound
        case .remoteError(_, let code, _, _): return code ?? VertoErrorCode.sessionError
        case .missingField, .wrongType, .unknownCall, .duplicateCall, .invalidTransition, .invalidState,
            .requestTimedOut, .connectionLost, .unknownConnection, .loginTimeout, .tooManyConnections, .tooManyCalls:
            return VertoErrorCode.sessionError
        }
    }

    /// The `message` text mod_verto uses for the corresponding failure (§2.3).
    public var jsonRPCMessage: String {
        switch self {
        case .malformedJSON: return "Parse error"
        case .invalidMessage: return "Invalid message"
        case .payloadTooLarge: return "Invalid Request"
        case .unknownMethod, .permissionDenied: return "Invalid Method, Missing Method or Permission Denied"
        case .notLoggedIn: return "Authentication Required"
        case .authenticationFailed(_, let m): return m
        case .missingField(_, let field):
            switch field {
            case "params": return "Params data missing"
            case "dialogParams": return "Dialog data missing"
            case "callID": return "CallID missing"
            case "sdp": return "SDP missing"
            case "action": return "action missing"
            case "destination": return "destination missing"
            case "replaceCallID": return "replaceCallID missing"
            default: return "\(field) missing"
            }
        case .wrongType(_, let field, let expected): return "\(field) must be \(expected)"
        case .unknownCall: return "CALL DOES NOT EXIST"
        case .duplicateCall: return "Cannot create channel"
        case .invalidTransition(_, let from, let event):
            if !from.isAnswered, ["hold", "unhold", "toggleHold", "transfer", "replace", "updateMedia", "videoRefresh"].contains(event) {
                return "Cannot update a call that has not been answered."
            }
            if !from.isAnswered, event == "attach" { return "Cannot attach to a call that has not been answered." }
            return "Invalid call state"
        case .invalidState: return "Unexpected Error"
        case .remoteError(_, _, let m, _): return m
        case .requestTimedOut: return "Request timed out"
        case .connectionLost: return "Connection lost"
        case .unknownConnection: return "Unexpected Error"
        case .loginTimeout: return "Login timeout"
        case .tooManyConnections: return "Too many connections"
        case .tooManyCalls: return "Too many calls"
        }
    }

    public var description: String {
        switch self {
        case .malformedJSON(let d): return "malformed JSON: \(d)"
        case .invalidMessage(let d): return "invalid JSON-RPC message: \(d)"
        case .payloadTooLarge(let s, let l): return "payload of \(s) bytes exceeds the \(l)-byte limit"
        case .unknownMethod(let m): return "unknown method \(m)"
        case .missingField(let m, let f): return "\(m): missing \(f)"
        case .wrongType(let m, let f, let e): return "\(m): \(f) must be \(e)"
        case .unknownCall(let c): return "unknown call \(Redact.identifier(c))"
        case .duplicateCall(let c): return "duplicate call \(Redact.identifier(c))"
        case .invalidTransition(let c, let s, let e): return "call \(Redact.identifier(c)): \(e) not allowed in state \(s)"
        case .notLoggedIn(let op): return "\(op) needs a logged-in session"
        case .invalidState(let op, let st): return "\(op) not possible in state \(st)"
        case .authenticationFailed(let c, let m): return "authentication failed (\(c)): \(m)"
        case .permissionDenied(let m): return "permission denied for \(m)"
        case .requestTimedOut(let m, let id): return "\(m) request \(id) timed out"
        case .remoteError(let m, let c, let msg, _): return "\(m) failed: \(c.map(String.init) ?? "no code") \(msg)"
        case .connectionLost(let m, let id): return "connection lost with \(m) request \(id) pending"
        case .unknownConnection(let id): return "unknown connection \(id)"
        case .loginTimeout: return "no login within the login timeout"
        case .tooManyConnections(let l): return "more than \(l) connections without a login"
        case .tooManyCalls(let l): return "call cap of \(l) reached"
        }
    }
}

