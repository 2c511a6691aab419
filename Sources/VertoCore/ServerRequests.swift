/// Typed server → client requests (docs/verto-protocol.md §3.3). `decode` is what the client role uses;
/// `params` is what the server role sends (always an object, docs/testing.md browser item 3).

/// A call offered by the server: `verto.invite` (new call) and `verto.attach` (re-offer after
/// reconnect, §1.6) share this shape.
public struct CallOffer: Sendable, Equatable {
    public var callID: String
    /// The server's SDP **offer**.
    public var sdp: String
    public var callerIDName: String?
    public var callerIDNumber: String?
    public var calleeIDName: String?
    public var calleeIDNumber: String?
    /// `"outbound"` = the server originated this leg.
    public var displayDirection: String?
    /// `{verto_svar_*}` (1.10.7+).
    public var variables: JSONObject?
    /// Every `verto_h_*` channel variable, sent as top-level keys.
    public var headers: JSONObject
    public var extra: JSONObject

    public init(callID: String, sdp: String, callerIDName: String? = nil, callerIDNumber: String? = nil,
                calleeIDName: String? = nil, calleeIDNumber: String? = nil, displayDirection: String? = "outbound",
                variables: JSONObject? = nil, headers: JSONObject = [:], extra: JSONObject = [:]) {
        self.callID = callID
        self.sdp = sdp
        self.callerIDName = callerIDName
        self.callerIDNumber = callerIDNumber
        self.calleeIDName = calleeIDName
        self.calleeIDNumber = calleeIDNumber
        self.displayDirection = displayDirection
        self.variables = variables
        self.headers = headers
        self.extra = extra
    }

    init(json: JSONObject, method: VertoMethod) throws(VertoError) {
        var r = FieldReader(json, method: method.rawValue)
        callID = try r.requiredString("callID")
        guard let sdp = try r.string("sdp"), !sdp.isEmpty else { throw .missingField(method: method.rawValue, field: "sdp") }
        self.sdp = sdp
        callerIDName = try r.string("caller_id_name")
        callerIDNumber = try r.string("caller_id_number")
        calleeIDName = try r.string("callee_id_name")
        calleeIDNumber = try r.string("callee_id_number")
        displayDirection = try r.string("display_direction")
        variables = try r.object("variables")
        (headers, extra) = r.remainingHeadersAndRest
    }

    public var json: JSONObject {
        var w = FieldWriter()
        w.set("callID", callID)
        w.set("sdp", sdp)
        w.set("caller_id_name", callerIDName)
        w.set("caller_id_number", callerIDNumber)
        w.set("callee_id_name", calleeIDName)
        w.set("callee_id_number", calleeIDNumber)
        w.set("display_direction", displayDirection)
        w.set("variables", variables)
        w.append(extra: headers)
        w.append(extra: extra)
        return w.object
    }
}

/// `verto.media` (SDP required) and `verto.answer` (SDP only if no `verto.media` came first).
public struct CallMediaParams: Sendable, Equatable {
    public var callID: String
    /// The server's SDP **answer**.
    public var sdp: String?
    public var variables: JSONObject?
    public var extra: JSONObject

    public init(callID: String, sdp: String?, variables: JSONObject? = nil, extra: JSONObject = [:]) {
        self.callID = callID
        self.sdp = sdp
        self.variables = variables
        self.extra = extra
    }

    init(json: JSONObject, method: VertoMethod) throws(VertoError) {
        var r = FieldReader(json, method: method.rawValue)
        callID = try r.requiredString("callID")
        sdp = try r.string("sdp")
        if method == .media, (sdp ?? "").isEmpty { throw .missingField(method: method.rawValue, field: "sdp") }
        variables = try r.object("variables")
        extra = r.remaining
    }

    public var json: JSONObject {
        var w = FieldWriter()
        w.set("callID", callID)
        w.set("sdp", sdp)
        w.set("variables", variables)
        w.append(extra: extra)
        return w.object
    }
}

/// `verto.bye` from the server: `{callID, cause, causeCode}`.
public struct ServerByeParams: Sendable, Equatable {
    public var callID: String
    public var cause: HangupCause
    public var extra: JSONObject

    public init(callID: String, cause: HangupCause, extra: JSONObject = [:]) {
        self.callID = callID
        self.cause = cause
        self.extra = extra
    }

    init(json: JSONObject) throws(VertoError) {
        var r = FieldReader(json, method: VertoMethod.bye.rawValue)
        callID = try r.requiredString("callID")
        cause = HangupCause.fromRemote(cause: r.value("cause"), causeCode: r.value("causeCode"))
        extra = r.remaining
    }

    public var json: JSONObject {
        var w = FieldWriter()
        w.set("callID", callID)
        w.set("cause", cause.name)
        w.set("causeCode", cause.code)
        w.append(extra: extra)
        return w.object
    }
}

/// `verto.display` (§3.3).
public struct DisplayParams: Sendable, Equatable {
    public var callID: String
    public var displayName: String?
    public var displayNumber: String?
    public var callerIDName: String?
    public var callerIDNumber: String?
    public var calleeIDName: String?
    public var calleeIDNumber: String?
    public var displayDirection: String?
    public var headers: JSONObject
    public var extra: JSONObject

    public init(callID: String, displayName: String? = nil, displayNumber: String? = nil, callerIDName: String? = nil,
                callerIDNumber: String? = nil, calleeIDName: String? = nil, calleeIDNumber: String? = nil,
                displayDirection: String? = nil, headers: JSONObject = [:], extra: JSONObject = [:]) {
        self.callID = callID
        self.displayName = displayName
        self.displayNumber = displayNumber
        self.callerIDName = callerIDName
        self.callerIDNumber = callerIDNumber
        self.calleeIDName = calleeIDName
        self.calleeIDNumber = calleeIDNumber
        self.displayDirection = displayDirection
        self.headers = headers
        self.extra = extra
    }

    init(json: JSONObject) throws(VertoError) {
        var r = FieldReader(json, method: VertoMethod.display.rawValue)
        callID = try r.requiredString("callID")
        displayName = try r.string("display_name")
        displayNumber = try r.string("display_number")
        callerIDName = try r.string("caller_id_name")
        callerIDNumber = try r.string("caller_id_number")
        calleeIDName = try r.string("callee_id_name")
        calleeIDNumber = try r.string("callee_id_number")
        displayDirection = try r.string("display_direction")
        (headers, extra) = r.remainingHeadersAndRest
    }

    public var json: JSONObject {
        var w = FieldWriter()
        w.set("callID", callID)
        w.set("display_name", displayName)
        w.set("display_number", displayNumber)
        w.set("caller_id_name", callerIDName)
        w.set("caller_id_number", callerIDNumber)
        w.set("callee_id_name", calleeIDName)
        w.set("callee_id_number", calleeIDNumber)
        w.set("display_direction", displayDirection)
        w.append(extra: headers)
        w.append(extra: extra)
        return w.object
    }
}

/// `verto.prompt` (1.10.7+): ask the user for DTMF or text.
public struct PromptParams: Sendable, Equatable {
    public var callID: String?
    public var type: String?
    public var text: String?
    public var regex: String?
    public var extra: JSONObject

    init(json: JSONObject) throws(VertoError) {
        var r = FieldReader(json, method: VertoMethod.prompt.rawValue)
        callID = try r.string("callID")
        type = try r.string("type")
        text = try r.string("text")
        regex = try r.string("regex")
        extra = r.remaining
    }
}

/// A typed server → client request.
public enum VertoServerRequest: Sendable, Equatable {
    case invite(CallOffer)
    case attach(CallOffer)
    case media(CallMediaParams)
    case answer(CallMediaParams)
    case bye(ServerByeParams)
    case display(DisplayParams)
    /// `{msg:{from,to,body,…}, callID?}` or `{callID, txt:{chars}}`.
    case info(JSONObject)
    /// Event object + `eventChannel`, `eventSerno`, `subscribedChannel`.
    case event(JSONObject)
    case punt
    case clientReady(reattachedSessions: [String])
    case ping(serno: Int?, authExpires: Int?)
    /// `{msg:[string…]}`.
    case announce(JSONObject)
    case prompt(PromptParams)
    /// `{callID, mediaParams:{audio?, video?}}`.
    case mediaParams(callID: String?, mediaParams: JSONObject)

    public var method: VertoMethod {
        switch self {
        case .invite: return .invite
        case .attach: return .attach
        case .media: return .media
        case .answer: return .answer
        case .bye: return .bye
        case .display: return .display
        case .info: return .info
        case .event: return .event
        case .punt: return .punt
        case .clientReady: return .clientReady
        case .ping: return .ping
        case .announce: return .announce
        case .prompt: return .prompt
        case .mediaParams: return .mediaParams
        }
    }

    /// Decodes a request as the client role receives it.
    public static func decode(method name: String, params: JSONObject?) throws(VertoError) -> VertoServerRequest {
        guard let method = VertoMethod(name: name), method.isServerToClient else { throw .unknownMethod(name) }
        let p = params ?? [:]
        switch method {
        case .invite: return .invite(try CallOffer(json: p, method: .invite))
        case .attach: return .attach(try CallOffer(json: p, method: .attach))
        case .media: return .media(try CallMediaParams(json: p, method: .media))
        case .answer: return .answer(try CallMediaParams(json: p, method: .answer))
        case .bye: return .bye(try ServerByeParams(json: p))
        case .display: return .display(try DisplayParams(json: p))
        case .info: return .info(p)
        case .event: return .event(p)
        case .punt: return .punt
        case .clientReady:
            var r = FieldReader(p, method: name)
            return .clientReady(reattachedSessions: try r.stringArray("reattached_sessions") ?? [])
        case .ping:
            var r = FieldReader(p, method: name)
            return .ping(serno: try r.int("serno"), authExpires: try r.int("auth-expires"))
        case .announce: return .announce(p)
        case .prompt: return .prompt(try PromptParams(json: p))
        case .mediaParams:
            var r = FieldReader(p, method: name)
            let callID = try r.string("callID")
            return .mediaParams(callID: callID, mediaParams: try r.object("mediaParams") ?? [:])
        default: throw .unknownMethod(name)
        }
    }

    /// Params as the server role sends them.
    public var params: JSONObject {
        switch self {
        case .invite(let o), .attach(let o): return o.json
        case .media(let m), .answer(let m): return m.json
        case .bye(let b): return b.json
        case .display(let d): return d.json
        case .info(let o), .event(let o), .announce(let o): return o
        case .punt: return [:]
        case .clientReady(let s): return ["reattached_sessions": .array(s.map { .string($0) })]
        case .ping(let serno, let exp):
            var w = FieldWriter()
            w.set("serno", serno)
            w.set("auth-expires", exp)
            return w.object
        case .prompt(let p):
            var w = FieldWriter()
            w.set("callID", p.callID)
            w.set("type", p.type)
            w.set("text", p.text)
            w.set("regex", p.regex)
            w.append(extra: p.extra)
            return w.object
        case .mediaParams(let callID, let mp):
            var w = FieldWriter()
            w.set("callID", callID)
            w.set("mediaParams", mp)
            return w.object
        }
    }
}
