/// JSON-RPC 2.0 as mod_verto speaks it (docs/verto-protocol.md §2.1–§2.2).

/// A request id. mod_verto copies any JSON id verbatim (verto.js: integers from 1, SignalWire: UUID
/// strings); a request without id is answered with `"id": null`.
public enum JSONRPCID: Sendable, Hashable, CustomStringConvertible {
    case int(Int)
    case string(String)
    case null

    public init?(_ value: JSONValue) {
        switch value {
        case .int(let i): self = .int(i)
        case .string(let s): self = .string(s)
        case .null: self = .null
        case .double:
            // An integral double (1.0) is an integer id; 1.5 is not a usable id.
            guard let i = value.intValue else { return nil }
            self = .int(i)
        default: return nil
        }
    }

    public var json: JSONValue {
        switch self {
        case .int(let i): return .int(i)
        case .string(let s): return .string(s)
        case .null: return .null
        }
    }

    /// verto.js answers only requests with a truthy id (docs/testing.md, browser item 3).
    public var isTruthy: Bool { json.isTruthy }

    public var description: String {
        switch self {
        case .int(let i): return String(i)
        case .string(let s): return "\"\(s)\""
        case .null: return "null"
        }
    }
}

/// The `error` member of a reply. `code` may be absent (§2.2: `verto.subscribe` with nothing new,
/// `verto.info` chat without `to`/`body`); every other member (`callID`, `cause`, `holdState`, …) is
/// kept in `data` in order.
public struct JSONRPCErrorObject: Error, Sendable, Equatable {
    public var code: Int?
    public var message: String
    /// The context fields besides `code` and `message`.
    public var data: JSONObject

    public init(code: Int?, message: String, data: JSONObject = [:]) {
        self.code = code
        self.message = message
        self.data = data
    }

    public init(_ error: VertoError, context: JSONObject = [:]) {
        self.init(code: error.jsonRPCCode, message: error.jsonRPCMessage, data: context)
    }

    init(json: JSONValue) {
        guard case .object(var o) = json else {
            self.init(code: nil, message: json.scalarString ?? "", data: [:])
            return
        }
        let code = o.removeValue(forKey: "code")?.intValue
        let message = o.removeValue(forKey: "message")?.scalarString ?? ""
        self.init(code: code, message: message, data: o)
    }

    /// Context first (mod_verto puts `callID`, `action`, … before `message`/`code`), then message, code.
    public var json: JSONValue {
        var o = data
        o["message"] = .string(message)
        if let code { o["code"] = .int(code) }
        return .object(o)
    }
}

/// A request (or, without id, a notification — which mod_verto still answers with `id: null`).
public struct JSONRPCRequest: Sendable, Equatable {
    /// `nil` when the member was absent.
    public var id: JSONRPCID?
    public var method: String
    /// `nil` when absent; mod_verto-originated requests always carry an object (docs/testing.md item 3).
    public var params: JSONObject?

    public init(id: JSONRPCID?, method: String, params: JSONObject?) {
        self.id = id
        self.method = method
        self.params = params
    }
}

/// One JSON-RPC message.
public enum JSONRPCMessage: Sendable, Equatable {
    case request(JSONRPCRequest)
    /// A success reply. mod_verto always sends an object; any JSON value is tolerated.
    case result(id: JSONRPCID, result: JSONValue)
    case error(id: JSONRPCID, error: JSONRPCErrorObject)

    public var id: JSONRPCID? {
        switch self {
        case .request(let r): return r.id
        case .result(let id, _), .error(let id, _): return id
        }
    }

    public var json: JSONValue {
        var o: JSONObject = ["jsonrpc": "2.0"]
        switch self {
        case .request(let r):
            if let id = r.id { o["id"] = id.json }
            o["method"] = .string(r.method)
            if let p = r.params { o["params"] = .object(p) }
        case .result(let id, let result):
            o["id"] = id.json
            o["result"] = result
        case .error(let id, let error):
            o["id"] = id.json
            o["error"] = error.json
        }
        return .object(o)
    }

    public var text: String { JSONCodec.serialize(json) }
}

/// A decoded frame: one message or a batch. Batch elements decode independently.
public enum JSONRPCFrame: Sendable, Equatable {
    case single(JSONRPCMessage)
    case batch([Result<JSONRPCMessage, JSONRPCDecodeFailure>])
}

/// Why one message could not be decoded, with the id to answer (if one could be read).
public struct JSONRPCDecodeFailure: Error, Sendable, Equatable {
    public var error: VertoError
    public var id: JSONRPCID?
    /// The reply a mod_verto-compatible server sends for it (§2.1).
    public var reply: JSONRPCMessage { .error(id: id ?? .null, error: JSONRPCErrorObject(error)) }
}

public enum JSONRPC {
    /// Decodes a frame, enforcing the size cap first (§1.4). `maxBytes` counts UTF-8 bytes.
    public static func decode(_ text: String, maxBytes: Int) -> Result<JSONRPCFrame, JSONRPCDecodeFailure> {
        let size = text.utf8.count
        guard size <= maxBytes else {
            return .failure(JSONRPCDecodeFailure(error: .payloadTooLarge(size: size, limit: maxBytes), id: nil))
        }
        let value: JSONValue
        do {
            value = try JSONCodec.parse(text)
        } catch {
            return .failure(JSONRPCDecodeFailure(error: error, id: .null))
        }
        if case .array(let items) = value {
            guard !items.isEmpty else {
                return .failure(JSONRPCDecodeFailure(error: .invalidMessage("empty batch"), id: .null))
            }
            return .success(.batch(items.map { decodeMessage($0) }))
        }
        return decodeMessage(value).map { .single($0) }
    }

    /// Decodes one message value (§2.1 rules): must be an object with `"jsonrpc":"2.0"`; a `result`
    /// member makes it a reply; an `error` member without `method` is an error reply; anything else is
    /// a request, whose `method` must be a string.
    public static func decodeMessage(_ value: JSONValue) -> Result<JSONRPCMessage, JSONRPCDecodeFailure> {
        guard case .object(let o) = value else {
            return .failure(JSONRPCDecodeFailure(error: .invalidMessage("not an object"), id: .null))
        }
        let rawID = o["id"]
        let id: JSONRPCID? = rawID.flatMap { JSONRPCID($0) }
        if rawID != nil, id == nil {
            return .failure(JSONRPCDecodeFailure(error: .invalidMessage("id must be a number, string or null"), id: .null))
        }
        guard o["jsonrpc"] == .string("2.0") else {
            return .failure(JSONRPCDecodeFailure(error: .invalidMessage("jsonrpc must be \"2.0\""), id: id))
        }
        if let result = o["result"] {
            return .success(.result(id: id ?? .null, result: result))
        }
        let method = o["method"]
        if method == nil, let err = o["error"] {
            return .success(.error(id: id ?? .null, error: JSONRPCErrorObject(json: err)))
        }
        guard let name = method?.stringValue, !name.isEmpty else {
            return .failure(JSONRPCDecodeFailure(error: .unknownMethod(method?.scalarString ?? ""), id: id))
        }
        var params: JSONObject? = nil
        if let p = o["params"] {
            switch p {
            case .object(let po): params = po
            case .null: params = nil
            default:
                return .failure(JSONRPCDecodeFailure(
                    error: .wrongType(method: name, field: "params", expected: "an object"), id: id))
            }
        }
        return .success(.request(JSONRPCRequest(id: id, method: name, params: params)))
    }
}

/// Allocates request ids: integers from 1, never 0 (verto.js ignores falsy ids, docs/testing.md item 3).
public struct JSONRPCIDAllocator: Sendable {
    private var next: Int

    public init(startingAt first: Int = 1) { self.next = max(1, first) }

    public mutating func allocate() -> JSONRPCID {
        let id = next
        next = next == Int.max ? 1 : next + 1
        return .int(id)
    }
}
