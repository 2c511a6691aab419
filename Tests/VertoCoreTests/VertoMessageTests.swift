import Testing
@testable import VertoCore

@Suite struct JSONRPCLayerTests {
    @Test func idAllocatorStartsAtOneAndNeverYieldsZero() {
        var a = JSONRPCIDAllocator()
        #expect(a.allocate() == .int(1))
        #expect(a.allocate() == .int(2))
        var wrap = JSONRPCIDAllocator(startingAt: Int.max)
        #expect(wrap.allocate() == .int(Int.max))
        #expect(wrap.allocate() == .int(1))
        var zero = JSONRPCIDAllocator(startingAt: 0)
        #expect(zero.allocate() == .int(1))
    }

    @Test func decodesRequestsResultsErrorsAndIds() throws {
        let cases: [(String, JSONRPCMessage)] = [
            (#"{"jsonrpc":"2.0","id":"uuid-1","method":"verto.ping"}"#, .request(JSONRPCRequest(id: .string("uuid-1"), method: "verto.ping", params: nil))),
            (#"{"jsonrpc":"2.0","method":"verto.ping","params":{}}"#, .request(JSONRPCRequest(id: nil, method: "verto.ping", params: [:]))),
            (#"{"jsonrpc":"2.0","id":null,"result":{"a":1}}"#, .result(id: .null, result: ["a": 1])),
            (#"{"jsonrpc":"2.0","id":3,"error":{"unauthorizedChannels":["x"]}}"#,
             .error(id: .int(3), error: JSONRPCErrorObject(code: nil, message: "", data: ["unauthorizedChannels": ["x"]]))),
            (#"{"jsonrpc":"2.0","id":4,"error":{"message":"CODEC ERROR","message":"CALL ERROR","code":-32002,"cause":"X"}}"#,
             .error(id: .int(4), error: JSONRPCErrorObject(code: -32002, message: "CODEC ERROR", data: ["cause": "X"]))),
            // §2.2: broadcast failures come back as a result carrying code.
            (#"{"jsonrpc":"2.0","id":5,"result":{"message":"x","code":-32002}}"#, .result(id: .int(5), result: ["message": "x", "code": -32002])),
        ]
        for (text, expected) in cases {
            #expect(JSONRPC.decode(text, maxBytes: 1000) == .success(.single(expected)), "\(text)")
        }
    }

    @Test func errorObjectSerializesContextThenMessageThenCode() {
        let e = JSONRPCErrorObject(code: -32002, message: "transfer failed", data: ["callID": "c", "action": "replace"])
        #expect(JSONCodec.serialize(e.json) == #"{"callID":"c","action":"replace","message":"transfer failed","code":-32002}"#)
    }

    @Test func mod_vertoErrorCodes() {
        #expect(VertoError.notLoggedIn(operation: "x").jsonRPCCode == -32000)
        #expect(VertoError.authenticationFailed(code: -32001, message: "Login Incorrect").jsonRPCCode == -32001)
        #expect(VertoError.unknownCall(callID: "c").jsonRPCCode == -32002)
        #expect(VertoError.unknownCall(callID: "c").jsonRPCMessage == "CALL DOES NOT EXIST")
        #expect(VertoError.invalidMessage("x").jsonRPCCode == -32600)
        #expect(VertoError.malformedJSON("x").jsonRPCMessage == "Parse error")
        #expect(VertoError.malformedJSON("x").jsonRPCCode == -32700)
        #expect(VertoError.unknownMethod("x").jsonRPCCode == -32601)
        #expect(VertoError.permissionDenied(method: "echo").jsonRPCCode == -32601)
        #expect(VertoErrorCode.permissionDenied == -32602)
    }
}

@Suite struct VertoMessageTests {
    @Test func dialogParamsKeepEveryKnownFieldAndUnknownExtras() throws {
        let json: JSONObject = [
            "callID": "c1", "destination_number": "9196", "caller_id_name": "Alice", "caller_id_number": "1008",
            "remote_caller_id_name": "Bob", "remote_caller_id_number": "1010", "ani": "1", "aniii": "2", "rdnis": "3",
            "userVariables": ["k": "v"], "audio": ["echoCancellation": true], "recoverCall": false, "useStereo": true,
            "display_direction": "outbound", "outgoingBandwidth": "default",
            "tag": "webcam", "login": "1008@d", "videoParams": ["w": 1], "pingSupported": true,
        ]
        let dp = try DialogParams(json: json, method: "verto.invite")
        #expect(dp.callID == "c1")
        #expect(dp.destinationNumber == "9196")
        #expect(dp.remoteCallerIDNumber == "1010")
        #expect(dp.rdnis == "3")
        #expect(dp.recoverCall == false)
        #expect(dp.useStereo == true)
        #expect(dp.userVariables == ["k": "v"])
        #expect(dp.displayDirection == "outbound")
        #expect(dp.extra == ["tag": "webcam", "login": "1008@d", "videoParams": ["w": 1], "pingSupported": true])
        #expect(canonical(.object(dp.json)) == canonical(.object(json)))
    }

    @Test func callIDIsMatchedCaseInsensitivelyLikeFreeSWITCH() throws {
        // E7[B]: verto.js variants send "callId".
        let req = try VertoClientRequest.decode(method: "verto.modify", params: [
            "dialogParams": ["callId": "7f3d"], "replaceCallID": "435F", "sessid": "s", "action": "replace"])
        guard case .modify(let m) = req else { Issue.record("not a modify"); return }
        #expect(m.dialogParams.callID == "7f3d")
        #expect(m.action == .replace)
        #expect(m.replaceCallID == "435F")
        #expect(m.extra.isEmpty)  // sessid is not an unknown field
    }

    @Test func serverInviteSplitsHeadersVariablesAndExtras() throws {
        let req = try VertoServerRequest.decode(method: "verto.invite", params: [
            "callID": "y", "sdp": "v=0", "caller_id_name": "Bob", "caller_id_number": "1010", "callee_id_name": "A",
            "callee_id_number": "1008", "display_direction": "outbound", "variables": ["verto_svar_x": "1"],
            "verto_h_X-Tag": "t", "memberID": "m"])
        guard case .invite(let o) = req else { Issue.record("not an invite"); return }
        #expect(o.headers == ["verto_h_X-Tag": "t"])
        #expect(o.variables == ["verto_svar_x": "1"])
        #expect(o.extra == ["memberID": "m"])
        #expect(o.calleeIDNumber == "1008")
        #expect(try VertoServerRequest.decode(method: "verto.invite", params: VertoServerRequest.invite(o).params) == req)
    }

    @Test(arguments: [
        ("verto.media", ["callID": "c"] as JSONObject, "sdp"),
        ("verto.answer", [:] as JSONObject, "callID"),
        ("verto.bye", [:] as JSONObject, "callID"),
        ("verto.attach", ["callID": "c"] as JSONObject, "sdp"),
    ])
    func serverRequestsMissingFieldsAreTyped(method: String, params: JSONObject, field: String) {
        #expect(throws: VertoError.missingField(method: method, field: field)) {
            try VertoServerRequest.decode(method: method, params: params)
        }
    }

    @Test func everyMethodHasADirection() {
        for m in VertoMethod.allCases { #expect(m.isClientToServer || m.isServerToClient, "\(m)") }
        #expect(throws: VertoError.unknownMethod("verto.clientReady")) {
            try VertoClientRequest.decode(method: "verto.clientReady", params: [:])
        }
        #expect(throws: VertoError.unknownMethod("login")) { try VertoServerRequest.decode(method: "login", params: [:]) }
    }

    @Test func serverRequestsAlwaysCarryAParamsObject() {
        let all: [VertoServerRequest] = [
            .punt, .clientReady(reattachedSessions: []), .ping(serno: 1, authExpires: nil),
            .bye(ServerByeParams(callID: "c", cause: .userBusy)), .mediaParams(callID: "c", mediaParams: ["audio": [:]]),
            .announce(["msg": ["hi"]]), .event(["eventChannel": "x"]),
        ]
        for r in all {
            let text = JSONRPCMessage.request(JSONRPCRequest(id: .int(1), method: r.method.rawValue, params: r.params)).text
            #expect((try? JSONCodec.parse(text))?.objectValue?.object("params") != nil, "\(r.method)")
            #expect((try? VertoServerRequest.decode(method: r.method.rawValue, params: r.params)) == r, "\(r.method)")
        }
    }

    @Test func byeCauseAndClientRequestParamsCarrySessid() {
        let bye = VertoClientRequest.bye(ByeParams(dialogParams: .callOnly("c"), cause: .callRejected))
        #expect(bye.params(sessid: "S") == ["dialogParams": ["callID": "c"], "cause": "CALL_REJECTED", "causeCode": 21, "sessid": "S"])
        let login = VertoClientRequest.login(LoginParams(login: "u", passwd: "p", sessid: "S"))
        #expect(login.params(sessid: "other").string("sessid") == "S")
    }

    @Test func loginDescriptionNeverContainsThePassword() {
        let p = LoginParams(login: "1008@example.test", passwd: "hunter2-secret", sessid: "abcdefghijkl")
        #expect(!p.description.contains("hunter2"))
        #expect(!p.description.contains("1008@example"))
        #expect(p.description.contains("<redacted>"))
    }
}
