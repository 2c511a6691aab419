import CoreSupport

/// Typed client → server requests (docs/verto-protocol.md §3.2). `decode` is what the server role uses;
/// `params` is what the client role sends. Unknown members are kept in `extra`.

/// `login` (§3.2.1).
public struct LoginParams: Sendable, Equatable, CustomStringConvertible {
    public var login: String?
    /// Never logged: `description` redacts it.
    public var passwd: String?
    public var loginParams: JSONObject?
    public var userVariables: JSONObject?
    public var sessid: String?
    public var extra: JSONObject

    public init(login: String?, passwd: String?, loginParams: JSONObject? = nil, userVariables: JSONObject? = nil,
                sessid: String?, extra: JSONObject = [:]) {
        self.login = login
        self.passwd = passwd
        self.loginParams = loginParams
        self.userVariables = userVariables
        self.sessid = sessid
        self.extra = extra
    }

    init(json: JSONObject) throws(VertoError) {
        var r = FieldReader(json, method: VertoMethod.login.rawValue)
        login = try r.string("login")
        passwd = try r.string("passwd")
        loginParams = try r.object("loginParams")
        userVariables = try r.object("userVariables")
        sessid = try r.string("sessid")
        extra = r.remaining
    }

    public var json: JSONObject {
        var w = FieldWriter()
        w.set("login", login)
        w.set("passwd", passwd)
        w.set("loginParams", loginParams)
        w.set("userVariables", userVariables)
        w.set("sessid", sessid)
        w.append(extra: extra)
        return w.object
    }

    /// verto.js's first `login` carries only `sessid` (§1.6, docs/testing.md item 1).
    public var hasCredentials: Bool { !(login ?? "").isEmpty }

    public var description: String {
        "login(\(login.map(Redact.number) ?? "<none>"), passwd: \(Redact.secret(passwd)), sessid: \(sessid.map(Redact.identifier) ?? "<none>"))"
    }
}

/// `verto.invite`, `verto.answer`, `verto.attach` from the client: an SDP plus `dialogParams`.
public struct CallSDPParams: Sendable, Equatable {
    public var sdp: String?
    public var dialogParams: DialogParams
    public var extra: JSONObject

    public init(sdp: String?, dialogParams: DialogParams, extra: JSONObject = [:]) {
        self.sdp = sdp
        self.dialogParams = dialogParams
        self.extra = extra
    }

    init(json: JSONObject, method: VertoMethod, sdpRequired: Bool) throws(VertoError) {
        var r = FieldReader(json, method: method.rawValue)
        sdp = try r.string("sdp")
        if sdpRequired, (sdp ?? "").isEmpty { throw .missingField(method: method.rawValue, field: "sdp") }
        guard let dp = try r.object("dialogParams") else { throw .missingField(method: method.rawValue, field: "dialogParams") }
        dialogParams = try DialogParams(json: dp, method: method.rawValue)
        extra = r.remaining
    }

    public var json: JSONObject {
        var w = FieldWriter()
        w.set("sdp", sdp)
        w.set("dialogParams", dialogParams.json)
        w.append(extra: extra)
        return w.object
    }
}

/// `verto.bye` from the client (§3.2.4).
public struct ByeParams: Sendable, Equatable {
    public var dialogParams: DialogParams
    public var cause: String?
    public var causeCode: Int?
    public var extra: JSONObject

    public init(dialogParams: DialogParams, cause: HangupCause? = nil, extra: JSONObject = [:]) {
        self.dialogParams = dialogParams
        self.cause = cause?.name
        self.causeCode = cause?.code
        self.extra = extra
    }

    init(json: JSONObject) throws(VertoError) {
        let m = VertoMethod.bye.rawValue
        var r = FieldReader(json, method: m)
        guard let dp = try r.object("dialogParams") else { throw .missingField(method: m, field: "dialogParams") }
        dialogParams = try DialogParams(json: dp, method: m)
        let c = r.value("cause")
        let cc = r.value("causeCode")
        cause = c?.scalarString
        causeCode = cc?.intValue
        extra = r.remaining
    }

    /// mod_verto's interpretation (unknown → NORMAL_CLEARING).
    public var hangupCause: HangupCause {
        HangupCause.fromBye(cause: cause.map { .string($0) }, causeCode: causeCode.map { .int($0) })
    }

    public var json: JSONObject {
        var w = FieldWriter()
        w.set("dialogParams", dialogParams.json)
        w.set("cause", cause)
        w.set("causeCode", causeCode)
        w.append(extra: extra)
        return w.object
    }
}

/// `verto.modify` (§3.2.5).
public struct ModifyParams: Sendable, Equatable {
    public var action: ModifyAction
    public var dialogParams: DialogParams
    /// `transfer`.
    public var destination: String?
    /// `replace`.
    public var replaceCallID: String?
    /// `updateMedia` (new offer).
    public var sdp: String?
    public var extra: JSONObject

    public init(action: ModifyAction, dialogParams: DialogParams, destination: String? = nil, replaceCallID: String? = nil,
                sdp: String? = nil, extra: JSONObject = [:]) {
        self.action = action
        self.dialogParams = dialogParams
        self.destination = destination
        self.replaceCallID = replaceCallID
        self.sdp = sdp
        self.extra = extra
    }

    init(json: JSONObject) throws(VertoError) {
        let m = VertoMethod.modify.rawValue
        var r = FieldReader(json, method: m)
        guard let dp = try r.object("dialogParams") else { throw .missingField(method: m, field: "dialogParams") }
        dialogParams = try DialogParams(json: dp, method: m)
        guard let a = try r.string("action") else { throw .missingField(method: m, field: "action") }
        guard let action = ModifyAction(rawValue: a) else { throw .wrongType(method: m, field: "action", expected: "a known action") }
        self.action = action
        destination = try r.string("destination")
        replaceCallID = try r.string("replaceCallID")
        sdp = try r.string("sdp")
        switch action {
        case .transfer where (destination ?? "").isEmpty: throw .missingField(method: m, field: "destination")
        case .replace where (replaceCallID ?? "").isEmpty: throw .missingField(method: m, field: "replaceCallID")
        case .updateMedia where (sdp ?? "").isEmpty: throw .missingField(method: m, field: "sdp")
        default: break
        }
        extra = r.remaining
    }

    public var json: JSONObject {
        var w = FieldWriter()
        w.set("action", action.rawValue)
        w.set("destination", destination)
        w.set("replaceCallID", replaceCallID)
        w.set("sdp", sdp)
        w.set("dialogParams", dialogParams.json)
        w.append(extra: extra)
        return w.object
    }
}

/// `verto.info` from the client (§3.2.6).
public struct InfoParams: Sendable, Equatable {
    /// Optional for chat.
    public var dialogParams: DialogParams?
    /// Digits `0-9*#A-D`, optional `@ms` and `+` groups.
    public var dtmf: String?
    /// Chat `{to, body, …}`.
    public var msg: JSONObject?
    /// Real-time text `{code}` or `{chars}`.
    public var txt: JSONObject?
    public var command: JSONValue?
    /// e.g. `"mediaSettings"`.
    public var type: String?
    public var extra: JSONObject

    public init(dialogParams: DialogParams?, dtmf: String? = nil, msg: JSONObject? = nil, txt: JSONObject? = nil,
                command: JSONValue? = nil, type: String? = nil, extra: JSONObject = [:]) {
        self.dialogParams = dialogParams
        self.dtmf = dtmf
        self.msg = msg
        self.txt = txt
        self.command = command
        self.type = type
        self.extra = extra
    }

    init(json: JSONObject) throws(VertoError) {
        let m = VertoMethod.info.rawValue
        var r = FieldReader(json, method: m)
        if let dp = try r.object("dialogParams"), dp["callID"] != nil {
            dialogParams = try DialogParams(json: dp, method: m)
        } else {
            dialogParams = nil
        }
        dtmf = try r.string("dtmf")
        msg = try r.object("msg")
        txt = try r.object("txt")
        command = r.value("command")
        type = try r.string("type")
        extra = r.remaining
    }

    public var json: JSONObject {
        var w = FieldWriter()
        w.set("dtmf", dtmf)
        w.set("msg", msg)
        w.set("txt", txt)
        w.set("command", command)
        w.set("type", type)
        w.set("dialogParams", dialogParams?.json)
        w.append(extra: extra)
        return w.object
    }

    /// True when every DTMF character is one mod_verto queues (`0-9*#A-D`, `@`, `+`, `w`/`W` pauses).
    public static func isValidDTMF(_ digits: String) -> Bool {
        !digits.isEmpty && digits.unicodeScalars.allSatisfy { "0123456789*#ABCDabcd@+wW".unicodeScalars.contains($0) }
    }
}

/// `verto.subscribe` / `verto.unsubscribe` (§3.2.8).
public struct SubscribeParams: Sendable, Equatable {
    public var eventChannels: [String]
    public var subParams: JSONObject?
    public var extra: JSONObject

    public init(eventChannels: [String], subParams: JSONObject? = nil, extra: JSONObject = [:]) {
        self.eventChannels = eventChannels
        self.subParams = subParams
        self.extra = extra
    }

    init(json: JSONObject, method: VertoMethod) throws(VertoError) {
        var r = FieldReader(json, method: method.rawValue)
        switch r.value("eventChannel") {
        case .string(let s)?: eventChannels = [s]
        case .array(let a)?: eventChannels = a.compactMap(\.scalarString)
        case nil, .null?: throw .missingField(method: method.rawValue, field: "eventChannel")
        default: throw .wrongType(method: method.rawValue, field: "eventChannel", expected: "a string or an array")
        }
        subParams = try r.object("subParams")
        extra = r.remaining
    }

    public var json: JSONObject {
        var w = FieldWriter()
        w.set("eventChannel", eventChannels.count == 1 ? .string(eventChannels[0]) : .array(eventChannels.map { .string($0) }))
        w.set("subParams", subParams)
        w.append(extra: extra)
        return w.object
    }
}

/// A typed client → server request.
public enum VertoClientRequest: Sendable, Equatable {
    case login(LoginParams)
    case invite(CallSDPParams)
    case answer(CallSDPParams)
    case attach(CallSDPParams)
    case bye(ByeParams)
    case modify(ModifyParams)
    case info(InfoParams)
    case subscribe(SubscribeParams)
    case unsubscribe(SubscribeParams)
    /// `{eventChannel, localBroadcast?, …payload}`.
    case broadcast(JSONObject)
    case ping(JSONObject)
    case echo(JSONObject)
    case jsapi(JSONObject)
    case fsapi(JSONObject)

    public var method: VertoMethod {
        switch self {
        case .login: return .login
        case .invite: return .invite
        case .answer: return .answer
        case .attach: return .attach
        case .bye: return .bye
        case .modify: return .modify
        case .info: return .info
        case .subscribe: return .subscribe
        case .unsubscribe: return .unsubscribe
        case .broadcast: return .broadcast
        case .ping: return .ping
        case .echo: return .echo
        case .jsapi: return .jsapi
        case .fsapi: return .fsapi
        }
    }

    /// The callID a call method refers to.
    public var callID: String? {
        switch self {
        case .invite(let p), .answer(let p), .attach(let p): return p.dialogParams.callID
        case .bye(let p): return p.dialogParams.callID
        case .modify(let p): return p.dialogParams.callID
        case .info(let p): return p.dialogParams?.callID
        default: return nil
        }
    }

    /// Decodes a request as a server receives it. `sessid` is read separately by the caller and
    /// removed here so it does not land in `extra` (except for `login`, where it is a field).
    public static func decode(method name: String, params: JSONObject?) throws(VertoError) -> VertoClientRequest {
        guard let method = VertoMethod(name: name), method.isClientToServer else { throw .unknownMethod(name) }
        var p = params ?? [:]
        if method != .login { p.removeValue(forKey: "sessid") }
        func need() throws(VertoError) {
            if params == nil { throw .missingField(method: name, field: "params") }
        }
        switch method {
        case .login: return .login(try LoginParams(json: p))
        case .invite: try need(); return .invite(try CallSDPParams(json: p, method: .invite, sdpRequired: true))
        case .answer: try need(); return .answer(try CallSDPParams(json: p, method: .answer, sdpRequired: false))
        case .attach: try need(); return .attach(try CallSDPParams(json: p, method: .attach, sdpRequired: true))
        case .bye: try need(); return .bye(try ByeParams(json: p))
        case .modify: try need(); return .modify(try ModifyParams(json: p))
        case .info: return .info(try InfoParams(json: p))
        case .subscribe: return .subscribe(try SubscribeParams(json: p, method: .subscribe))
        case .unsubscribe: return .unsubscribe(try SubscribeParams(json: p, method: .unsubscribe))
        case .broadcast:
            guard p["eventChannel"]?.stringValue != nil else { throw .missingField(method: name, field: "eventChannel") }
            return .broadcast(p)
        case .ping: return .ping(p)
        case .echo: return .echo(p)
        case .jsapi: return .jsapi(p)
        case .fsapi: return .fsapi(p)
        default: throw .unknownMethod(name)
        }
    }

    /// Params as sent by the client role, with `sessid` added to every request (§1.6: harmless, and
    /// what verto.js does).
    public func params(sessid: String?) -> JSONObject {
        var o: JSONObject
        switch self {
        case .login(let p): return p.json
        case .invite(let p), .answer(let p), .attach(let p): o = p.json
        case .bye(let p): o = p.json
        case .modify(let p): o = p.json
        case .info(let p): o = p.json
        case .subscribe(let p), .unsubscribe(let p): o = p.json
        case .broadcast(let p), .ping(let p), .echo(let p), .jsapi(let p), .fsapi(let p): o = p
        }
        if let sessid, o["sessid"] == nil { o["sessid"] = .string(sessid) }
        return o
    }
}
