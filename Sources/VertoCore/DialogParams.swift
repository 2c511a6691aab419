/// `params.dialogParams` of client call methods (docs/verto-protocol.md §3.2.2–§3.2.7).
///
/// mod_verto reads only the fields named here; verto.js sends its whole dialog object (tag, login,
/// videoParams, useCamera …, and vendor additions), which is kept verbatim in `extra` and written
/// back unchanged.
public struct DialogParams: Sendable, Equatable {
    /// Required on every call method; becomes the FreeSWITCH channel UUID.
    public var callID: String
    public var destinationNumber: String?
    public var callerIDName: String?
    public var callerIDNumber: String?
    /// Set as the callee id and as `verto_remote_caller_id_*` (§3.2.2).
    public var remoteCallerIDName: String?
    public var remoteCallerIDNumber: String?
    /// Sent with `verto.answer` (§3.2.3).
    public var calleeIDName: String?
    public var calleeIDNumber: String?
    public var ani: String?
    public var aniii: String?
    public var rdnis: String?
    /// Each key → channel variable `verto_dvar_<key>`.
    public var userVariables: JSONObject?
    /// `{echoCancellation, noiseSuppression, autoGainControl}` (1.10.7+).
    public var audio: JSONObject?
    /// `false` → hang up instead of detach on disconnect (1.10.7+).
    public var recoverCall: Bool?
    /// Client-side only in verto.js; kept typed for convenience.
    public var useStereo: Bool?
    public var useVideo: Bool?
    public var screenShare: Bool?
    public var displayDirection: String?
    public var outgoingBandwidth: JSONValue?
    public var incomingBandwidth: JSONValue?
    /// Everything else, in received order.
    public var extra: JSONObject

    public init(
        callID: String, destinationNumber: String? = nil, callerIDName: String? = nil, callerIDNumber: String? = nil,
        remoteCallerIDName: String? = nil, remoteCallerIDNumber: String? = nil, calleeIDName: String? = nil,
        calleeIDNumber: String? = nil, ani: String? = nil, aniii: String? = nil, rdnis: String? = nil,
        userVariables: JSONObject? = nil, audio: JSONObject? = nil, recoverCall: Bool? = nil, useStereo: Bool? = nil,
        useVideo: Bool? = nil, screenShare: Bool? = nil, displayDirection: String? = nil,
        outgoingBandwidth: JSONValue? = nil, incomingBandwidth: JSONValue? = nil, extra: JSONObject = [:]
    ) {
        self.callID = callID
        self.destinationNumber = destinationNumber
        self.callerIDName = callerIDName
        self.callerIDNumber = callerIDNumber
        self.remoteCallerIDName = remoteCallerIDName
        self.remoteCallerIDNumber = remoteCallerIDNumber
        self.calleeIDName = calleeIDName
        self.calleeIDNumber = calleeIDNumber
        self.ani = ani
        self.aniii = aniii
        self.rdnis = rdnis
        self.userVariables = userVariables
        self.audio = audio
        self.recoverCall = recoverCall
        self.useStereo = useStereo
        self.useVideo = useVideo
        self.screenShare = screenShare
        self.displayDirection = displayDirection
        self.outgoingBandwidth = outgoingBandwidth
        self.incomingBandwidth = incomingBandwidth
        self.extra = extra
    }

    /// Decodes `dialogParams`; `callID` is required (`-32002 CallID missing`).
    public init(json: JSONObject, method: String) throws(VertoError) {
        var r = FieldReader(json, method: method)
        guard let callID = try r.string("callID"), !callID.isEmpty else {
            throw .missingField(method: method, field: "callID")
        }
        self.callID = callID
        destinationNumber = try r.string("destination_number")
        callerIDName = try r.string("caller_id_name")
        callerIDNumber = try r.string("caller_id_number")
        remoteCallerIDName = try r.string("remote_caller_id_name")
        remoteCallerIDNumber = try r.string("remote_caller_id_number")
        calleeIDName = try r.string("callee_id_name")
        calleeIDNumber = try r.string("callee_id_number")
        ani = try r.string("ani")
        aniii = try r.string("aniii")
        rdnis = try r.string("rdnis")
        userVariables = try r.object("userVariables")
        audio = try r.object("audio")
        recoverCall = try r.bool("recoverCall")
        useStereo = try r.bool("useStereo")
        useVideo = try r.bool("useVideo")
        screenShare = try r.bool("screenShare")
        displayDirection = try r.string("display_direction")
        outgoingBandwidth = r.value("outgoingBandwidth")
        incomingBandwidth = r.value("incomingBandwidth")
        extra = r.remaining
    }

    public var json: JSONObject {
        var w = FieldWriter()
        w.set("callID", callID)
        w.set("destination_number", destinationNumber)
        w.set("caller_id_name", callerIDName)
        w.set("caller_id_number", callerIDNumber)
        w.set("remote_caller_id_name", remoteCallerIDName)
        w.set("remote_caller_id_number", remoteCallerIDNumber)
        w.set("callee_id_name", calleeIDName)
        w.set("callee_id_number", calleeIDNumber)
        w.set("ani", ani)
        w.set("aniii", aniii)
        w.set("rdnis", rdnis)
        w.set("userVariables", userVariables)
        w.set("audio", audio)
        w.set("recoverCall", recoverCall)
        w.set("useStereo", useStereo)
        w.set("useVideo", useVideo)
        w.set("screenShare", screenShare)
        w.set("display_direction", displayDirection)
        w.set("outgoingBandwidth", outgoingBandwidth)
        w.set("incomingBandwidth", incomingBandwidth)
        w.append(extra: extra)
        return w.object
    }

    /// Just the callID: what a client needs in bye/modify/info when it has no richer object.
    public static func callOnly(_ callID: String) -> DialogParams { DialogParams(callID: callID) }
}
