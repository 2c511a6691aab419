import CoreSupport
import NIOCore
import Testing
@testable import VertoCore

@Suite struct VertoServerCoreTests {
    func errorOf(_ v: JSONValue) -> (code: Int?, message: String?, id: JSONValue?) {
        let o = v.objectValue
        return (o?.object("error")?.int("code"), o?.object("error")?.string("message"), o?["id"])
    }

    @Test(arguments: ["verto.invite", "verto.ping", "verto.bye", "verto.modify", "verto.subscribe", "echo", "jsapi", "no.such.method"])
    func anyMethodBeforeLoginGetsMinus32000(method: String) {
        var s = VertoServerCore(random: .seeded(1))
        let c = s.connectionOpened(now: at(0))
        s.receive(c, rpc(7, method, ["sessid": "x"]), now: at(1))
        let out = drain(&s)
        #expect(out.sent.count == 1)
        let e = errorOf(out.sent[0].1)
        #expect(e.code == -32000)
        #expect(e.message == "Authentication Required")
        #expect(e.id == .int(7))
        #expect(out.sent[0].1.objectValue?.string("jsonrpc") == "2.0")
    }

    @Test func vertoJSSessidOnlyLoginGetsMinus32000ThenCredentialsWork() throws {
        var s = VertoServerCore(random: .seeded(1))
        let c = s.connectionOpened(now: at(0))
        s.receive(c, rpc(1, "login", ["sessid": "S1"]), now: at(1))
        var out = drain(&s)
        #expect(errorOf(out.sent[0].1).code == -32000)
        #expect(out.events.isEmpty)
        s.receive(c, rpc(2, "login", ["login": "1008@d", "passwd": "pw", "sessid": "S1"]), now: at(2))
        out = drain(&s)
        #expect(out.sent.isEmpty)  // nothing until the application decides
        guard case .authenticate(let req)? = out.events.first else {
            Issue.record("no authenticate event")
            return
        }
        #expect(req.params.passwd == "pw")
        #expect(!req.description.contains("pw,"))
        #expect(req.description.contains("<redacted>"))
        s.completeLogin(req, decision: .accept(VertoUser(id: "1008", loginResultExtras: ["moderator": true])), now: at(3))
        out = drain(&s)
        #expect(out.sent.count == 2)
        #expect(out.sent[0].1 == .object(["jsonrpc": "2.0", "id": 2, "result": ["message": "logged in", "moderator": true, "sessid": "S1"]]))
        #expect(out.sent[1].1.objectValue?.string("method") == "verto.clientReady")
        #expect(out.sent[1].1.objectValue?.object("params") == ["reattached_sessions": []])
        #expect(s.sessid(of: c) == "S1")
    }

    @Test func badCredentialsGetMinus32001AndTheSocketStaysUsable() {
        var s = VertoServerCore(random: .seeded(1))
        let c = s.connectionOpened(now: at(0))
        s.receive(c, rpc(1, "login", ["login": "1008@d", "passwd": "wrong", "sessid": "S1"]), now: at(1))
        guard case .authenticate(let req)? = drain(&s).events.first else { Issue.record("no authenticate"); return }
        s.completeLogin(req, decision: .reject(message: "Authentication Failure"), now: at(2))
        var out = drain(&s)
        #expect(errorOf(out.sent[0].1).code == -32001)
        #expect(errorOf(out.sent[0].1).message == "Authentication Failure")
        #expect(out.closed.isEmpty)
        #expect(!s.isAuthenticated(c))
        s.receive(c, rpc(2, "verto.ping", [:]), now: at(3))
        out = drain(&s)
        #expect(errorOf(out.sent[0].1).code == -32000)
    }

    @Test func loginWithoutSessidGetsAGeneratedOneInTheResult() {
        var s = VertoServerCore(random: .seeded(1))
        let c = s.connectionOpened(now: at(0))
        s.receive(c, rpc(1, "login", ["login": "1008@d", "passwd": "pw"]), now: at(1))
        guard case .authenticate(let req)? = drain(&s).events.first else { Issue.record("no authenticate"); return }
        s.completeLogin(req, decision: .accept(VertoUser(id: "1008")), now: at(2))
        let out = drain(&s)
        let sessid = out.sent[0].1.objectValue?.object("result")?.string("sessid")
        #expect(sessid?.count == 36)
        #expect(sessid == s.sessid(of: c))
    }

    @Test func methodsOutsideThePermissionsGetMinus32601() {
        var s = VertoServerCore(random: .seeded(1))
        let c = s.connectionOpened(now: at(0))
        s.receive(c, rpc(1, "login", ["login": "1008@d", "passwd": "pw", "sessid": "S"]), now: at(1))
        guard case .authenticate(let req)? = drain(&s).events.first else { Issue.record("no authenticate"); return }
        s.completeLogin(req, decision: .accept(VertoUser(id: "1008", allowedMethods: ["verto.invite", "verto.ping", "jsapi"])), now: at(2))
        _ = drain(&s)
        s.receive(c, rpc(2, "verto.modify", ["action": "hold", "dialogParams": ["callID": "x"]]), now: at(3))
        s.receive(c, rpc(3, "echo", ["a": 1]), now: at(3))
        s.receive(c, rpc(4, "verto.nonexistent", [:]), now: at(3))
        s.receive(c, rpc(5, "jsapi", ["command": "fsapi"]), now: at(3))
        s.receive(c, rpc(6, "verto.ping", [:]), now: at(3))
        let out = drain(&s)
        #expect(out.sent.map { errorOf($0.1).code } == [-32601, -32601, -32601, -32602, nil])
        #expect(out.sent[4].1.objectValue?.object("result") == ["message": "PONG", "sessid": "S"])
        #expect(out.events.filter { caseName($0) == "badInput" }.count == 3)
    }

    @Test func serverPingsAfterThirtySecondsOfClientSilenceOnly() {
        var (s, c) = loggedInServer { $0.sernoEpochOffset = 1_700_000_000 }
        #expect(s.nextDeadline() == at(30_000))
        s.handleTimeout(now: at(29_999))
        #expect(drain(&s).sent.isEmpty)
        // Inbound traffic resets the silence timer; the server's own sends do not.
        s.receive(c, result(99, ["method": "verto.clientReady"]), now: at(20_000))
        s.handleTimeout(now: at(49_999))
        #expect(drain(&s).sent.isEmpty)
        s.handleTimeout(now: at(50_000))
        let out = drain(&s)
        #expect(out.sent.count == 1)
        let ping = out.sent[0].1.objectValue
        #expect(ping?.string("method") == "verto.ping")
        #expect(ping?.object("params")?.int("serno") == 1_700_000_000 + Int(at(50_000).uptimeNanoseconds / 1_000_000_000))
        #expect((ping?["id"]?.intValue ?? 0) > 0)
    }

    func answeredClientCall(_ s: inout VertoServerCore, _ c: VertoConnectionID, callID: String, recover: Bool? = nil, now: NIODeadline) throws {
        var dp: JSONObject = ["callID": .string(callID), "destination_number": "9196"]
        if let recover { dp["recoverCall"] = .bool(recover) }
        s.receive(c, rpc(50, "verto.invite", ["sdp": "v=0 o", "dialogParams": .object(dp)]), now: now)
        try s.answer(callID: callID, sdp: "v=0 a", now: now)
        _ = drain(&s)
    }

    /// A client may send its next request without waiting for the login's reply: it is handled
    /// after the (asynchronous) login decision, never refused with -32000.
    @Test func framesPipelinedBehindALoginAreHandledAfterTheDecision() {
        var s = VertoServerCore(configuration: VertoServerConfiguration(), random: .seeded(5))
        let c = s.connectionOpened(now: at(0))
        s.receive(c, rpc(1, "login", ["login": "1008@example.test", "passwd": "pw", "sessid": .string(testSessid)]), now: at(1))
        s.receive(c, rpc(2, "verto.invite", ["sdp": "v=0 o", "dialogParams": ["callID": "P", "destination_number": "9196"]]), now: at(2))
        var req: LoginRequest?
        var out = drain(&s)
        for e in out.events { if case .authenticate(let r) = e { req = r } }
        #expect(out.sent.isEmpty, "nothing answered before the decision")
        s.completeLogin(req!, decision: .accept(VertoUser(id: "1008")), now: at(3))
        out = drain(&s)
        let replies = out.sent.compactMap { $0.1.objectValue }.filter { $0["method"] == nil }.compactMap { $0["id"]?.intValue }
        #expect(replies == [1, 2], "the login's reply, then the invite's")
        #expect(out.events.contains { if case .incomingCall = $0 { return true } else { return false } })
    }

    @Test func aConnectionThatNeverLogsInIsClosedAtTheLoginTimeout() {
        var cfg = VertoServerConfiguration()
        cfg.loginTimeout = .seconds(10)
        var s = VertoServerCore(configuration: cfg, random: .seeded(5))
        let idle = s.connectionOpened(now: at(0))
        let user = s.connectionOpened(now: at(0))
        login(&s, user, sessid: testSessid, now: at(5))
        _ = drain(&s)
        #expect(s.nextDeadline() == at(10_000))
        s.handleTimeout(now: at(9_999))
        #expect(drain(&s).closed.isEmpty)
        s.handleTimeout(now: at(10_000))
        let out = drain(&s)
        #expect(out.closed == [idle], "only the connection without a login is closed")
        #expect(out.events.contains(.badInput(connection: idle, error: .loginTimeout)))
        #expect(s.isAuthenticated(user))
    }

    @Test func connectionsWithoutLoginAreCappedByClosingTheOldest() {
        var cfg = VertoServerConfiguration()
        cfg.maxUnauthenticatedConnections = 2
        var s = VertoServerCore(configuration: cfg, random: .seeded(5))
        let first = s.connectionOpened(now: at(0))
        let user = s.connectionOpened(now: at(1))
        login(&s, user, sessid: testSessid, now: at(1))
        let second = s.connectionOpened(now: at(2))
        #expect(drain(&s).closed.isEmpty, "two without login (and one logged in) are within the cap")
        let third = s.connectionOpened(now: at(3))
        #expect(drain(&s).closed == [first], "the oldest without login goes")
        let fourth = s.connectionOpened(now: at(4))
        #expect(drain(&s).closed == [second])
        #expect(s.openConnections == [user, third, fourth].sorted(), "the logged-in connection is never evicted")
    }

    @Test func largeFramesBeforeLoginAreRefusedUnparsedAndTheSocketClosed() {
        var s = VertoServerCore(configuration: VertoServerConfiguration(), random: .seeded(5))
        let c = s.connectionOpened(now: at(0))
        let padding = String(repeating: "x", count: 9_000)
        s.receive(c, rpc(1, "login", ["login": "1008@example.test", "passwd": "pw", "pad": .string(padding)]), now: at(1))
        let out = drain(&s)
        #expect(out.closed == [c])
        #expect(!out.events.contains { if case .authenticate = $0 { return true } else { return false } })
        #expect(out.sent.first?.1.objectValue?.object("error")?.int("code") == VertoErrorCode.invalid)
        // After a login the same size is fine.
        var (t, d) = loggedInServer()
        t.receive(d, rpc(2, "verto.ping", ["pad": .string(padding)]), now: at(100))
        #expect(drain(&t).closed.isEmpty)
    }

    @Test func oversizedBatchesAreRefusedAsAWhole() {
        var (s, c) = loggedInServer()
        let item = JSONRPCMessage.request(JSONRPCRequest(id: .int(7), method: "verto.ping", params: [:])).json
        s.receive(c, JSONCodec.serialize(.array(Array(repeating: item, count: 65))), now: at(100))
        let out = drain(&s)
        #expect(out.sent.count == 1)
        #expect(out.sent.first?.1.objectValue?.object("error")?.int("code") == VertoErrorCode.invalid)
        s.receive(c, JSONCodec.serialize(.array(Array(repeating: item, count: 64))), now: at(200))
        #expect(drain(&s).sent.first?.1.arrayValue?.count == 64)
    }

    /// A detached call's sessid stays bound to its user: another user presenting it is refused
    /// and never sees the call; the owner can still reattach.
    @Test func anotherUserCannotTakeOverADetachedSessid() throws {
        var (s, c) = loggedInServer()
        try answeredClientCall(&s, c, callID: "A", now: at(1000))
        s.connectionClosed(c, now: at(2000))
        _ = drain(&s)
        let thief = s.connectionOpened(now: at(3000))
        login(&s, thief, sessid: testSessid, user: "1009", now: at(3000))
        var out = drain(&s)
        #expect(out.sent.first?.1.objectValue?.object("error")?.int("code") == VertoErrorCode.authFailed)
        #expect(out.closed == [thief])
        #expect(!out.events.contains { if case .reattachNeeded = $0 { return true } else { return false } })
        #expect(!out.sent.map(\.1).contains { $0.objectValue?.string("method") == "verto.clientReady" })
        #expect(s.dialog("A")?.state == .recovering, "the call is still the owner's")
        let owner = s.connectionOpened(now: at(4000))
        login(&s, owner, sessid: testSessid, user: "1008", now: at(4000))
        out = drain(&s)
        #expect(out.events.contains(.reattachNeeded(callID: "A", connection: owner)))
    }

    @Test func dtmfReachesOnlyTheCallersOwnCall() throws {
        var (s, owner) = loggedInServer()
        try answeredClientCall(&s, owner, callID: "A", now: at(1000))
        let other = s.connectionOpened(now: at(1100))
        login(&s, other, sessid: "99999999-2222-4333-8444-555555555555", user: "1009", now: at(1100))
        _ = drain(&s)
        s.receive(other, rpc(60, "verto.info", ["dtmf": "5", "dialogParams": ["callID": "A"]]), now: at(1200))
        var out = drain(&s)
        #expect(!out.events.contains { if case .dtmf = $0 { return true } else { return false } }, "another session's digit reached call A")
        #expect(out.sent.first?.1.objectValue?.object("result")?.string("message") == nil, "not SENT")
        s.receive(owner, rpc(61, "verto.info", ["dtmf": "5", "dialogParams": ["callID": "A"]]), now: at(1300))
        out = drain(&s)
        #expect(out.events.contains(.dtmf(callID: "A", digits: "5")))
    }

    @Test func answeredCallsSurviveADropForTheDetachTimeoutThenEndWith102() throws {
        var (s, c) = loggedInServer { $0.detachTimeout = .seconds(120) }
        try answeredClientCall(&s, c, callID: "A", now: at(1000))
        s.receive(c, rpc(51, "verto.invite", ["sdp": "v=0 o", "dialogParams": ["callID": "U"]]), now: at(1000))
        _ = drain(&s)
        s.connectionClosed(c, now: at(5000))
        var out = drain(&s)
        #expect(out.events.contains(.callEnded(callID: "U", cause: .destinationOutOfOrder, reason: .disconnected)))
        #expect(out.events.contains(.callDetached(callID: "A", sessid: testSessid)))
        #expect(s.dialog("A")?.state == .recovering)
        #expect(s.nextDeadline() == at(125_000))
        s.handleTimeout(now: at(124_999))
        #expect(drain(&s).events.isEmpty)
        s.handleTimeout(now: at(125_000))
        out = drain(&s)
        #expect(out.events == [.callEnded(callID: "A", cause: .recoveryOnTimerExpire, reason: .detachTimeout)])
        #expect(s.dialog("A") == nil)
    }

    @Test func recoverCallFalseEndsWithNormalClearingOnDisconnect() throws {
        var (s, c) = loggedInServer()
        try answeredClientCall(&s, c, callID: "A", recover: false, now: at(1000))
        s.connectionClosed(c, now: at(2000))
        #expect(drain(&s).events.contains(.callEnded(callID: "A", cause: .normalClearing, reason: .disconnected)))
    }

    @Test func reloginWithSameSessidReoffersAndClientReadyWaitsForTheOffers() throws {
        var (s, c) = loggedInServer()
        try answeredClientCall(&s, c, callID: "A", now: at(1000))
        try s.display(DisplayParams(callID: "A", displayName: "Echo", displayNumber: "9196"), now: at(1100))
        _ = drain(&s)
        s.connectionClosed(c, now: at(2000))
        _ = drain(&s)
        let c2 = s.connectionOpened(now: at(3000))
        login(&s, c2, sessid: testSessid, now: at(3000))
        var out = drain(&s)
        #expect(out.events.contains(.reattachNeeded(callID: "A", connection: c2)))
        #expect(out.sent.methods == [])  // only the login result so far: clientReady waits for the offer
        #expect(out.sent.count == 1)
        try s.reattach(callID: "A", sdp: "v=0 re", now: at(3100))
        out = drain(&s)
        #expect(out.sent.methods == ["verto.attach", "verto.clientReady"])
        #expect(out.sent[1].1.objectValue?.object("params") == ["reattached_sessions": ["A"]])
        s.receive(c2, rpc(9, "verto.attach", ["sdp": "v=0 ans", "dialogParams": ["callID": "A"]]), now: at(3200))
        out = drain(&s)
        #expect(out.events.contains(.callReattached(callID: "A", sdp: "v=0 ans")))
        #expect(out.sent.count == 2)
        #expect(out.sent[0].1.objectValue?.object("result") == ["sessid": .string(testSessid)])
        #expect(out.sent.methods == ["verto.display"])  // the last display is re-sent (§1.6)
        #expect(s.dialog("A")?.state == .active)
        #expect(s.nextDeadline() == at(3200 + 30_000))  // no detach timer left, only the idle ping
    }

    @Test func hangingUpAnAwaitedReofferReleasesClientReady() throws {
        var (s, c) = loggedInServer()
        try answeredClientCall(&s, c, callID: "A", now: at(1000))
        s.connectionClosed(c, now: at(2000))
        let c2 = s.connectionOpened(now: at(3000))
        login(&s, c2, sessid: testSessid, now: at(3000))
        _ = drain(&s)
        try s.hangup(callID: "A", now: at(3001))
        let out = drain(&s)
        #expect(out.sent.methods == ["verto.clientReady"])
        #expect(out.sent[0].1.objectValue?.object("params") == ["reattached_sessions": []])
    }

    @Test func sameSessidFromAnotherUserIsRefusedWithSessionInUse() {
        var (s, c) = loggedInServer(user: "1008")
        let c2 = s.connectionOpened(now: at(100))
        login(&s, c2, sessid: testSessid, user: "1009", now: at(100))
        let out = drain(&s)
        #expect(errorOf(out.sent[0].1).code == -32001)
        #expect(errorOf(out.sent[0].1).message == "Session in use")
        #expect(out.closed == [c2])
        #expect(s.isAuthenticated(c))
        #expect(s.connection(forSessid: testSessid) == c)
    }

    @Test func byeForAnEndedCallIsMinus32002CallDoesNotExist() throws {
        var (s, c) = loggedInServer()
        try answeredClientCall(&s, c, callID: "A", now: at(1000))
        try s.hangup(callID: "A", cause: .normalClearing, now: at(2000))
        var out = drain(&s)
        #expect(out.sent.methods == ["verto.bye"])
        #expect(out.sent[0].1.objectValue?.object("params") == ["callID": "A", "cause": "NORMAL_CLEARING", "causeCode": 16])
        s.receive(c, rpc(60, "verto.bye", ["dialogParams": ["callID": "A"], "cause": "NORMAL_CLEARING"]), now: at(2100))
        out = drain(&s)
        #expect(out.sent[0].1 == .object(["jsonrpc": "2.0", "id": 60, "error": ["callID": "A", "message": "CALL DOES NOT EXIST", "code": -32002]]))
    }

    @Test func holdOnAnUnansweredCallIsATypedMinus32002() {
        var (s, c) = loggedInServer()
        s.receive(c, rpc(50, "verto.invite", ["sdp": "v=0 o", "dialogParams": ["callID": "A"]]), now: at(1000))
        _ = drain(&s)
        s.receive(c, rpc(51, "verto.modify", ["action": "hold", "dialogParams": ["callID": "A"]]), now: at(1100))
        let out = drain(&s)
        #expect(out.sent[0].1 == .object(["jsonrpc": "2.0", "id": 51, "error": [
            "callID": "A", "action": "hold", "message": "Cannot update a call that has not been answered.", "code": -32002]]))
        #expect(s.dialog("A")?.state == .trying)
    }

    @Test func duplicateCallIDInviteIsCallError() {
        var (s, c) = loggedInServer()
        s.receive(c, rpc(50, "verto.invite", ["sdp": "v=0 o", "dialogParams": ["callID": "A"]]), now: at(1000))
        s.receive(c, rpc(51, "verto.invite", ["sdp": "v=0 o", "dialogParams": ["callID": "A"]]), now: at(1000))
        let out = drain(&s)
        #expect(out.sent.count == 2)
        #expect(errorOf(out.sent[1].1).code == -32002)
        #expect(out.sent[1].1.objectValue?.object("error")?.int("causeCode") == 88)
    }

    @Test func inviteWithoutSDPOrCallIDIsMinus32002() {
        var (s, c) = loggedInServer()
        s.receive(c, rpc(50, "verto.invite", ["dialogParams": ["callID": "A"]]), now: at(1000))
        s.receive(c, rpc(51, "verto.invite", ["sdp": "v=0", "dialogParams": [:]]), now: at(1000))
        s.receive(c, rpc(52, "verto.invite", ["sdp": "v=0"]), now: at(1000))
        let out = drain(&s)
        #expect(out.sent.map { errorOf($0.1).message } == ["SDP missing", "CallID missing", "Dialog data missing"])
        #expect(out.sent.allSatisfy { errorOf($0.1).code == -32002 })
    }

    @Test func earlyMediaThenAnswerWithoutSDP() throws {
        var (s, c) = loggedInServer()
        s.receive(c, rpc(50, "verto.invite", ["sdp": "v=0 o", "dialogParams": ["callID": "A"]]), now: at(1000))
        try s.earlyMedia(callID: "A", sdp: "v=0 early", now: at(1100))
        expectThrows(.invalidTransition(callID: "A", from: .early, event: "earlyMedia")) { try s.earlyMedia(callID: "A", sdp: "v=0", now: at(1150)) }
        try s.answer(callID: "A", sdp: nil, now: at(1200))
        let out = drain(&s)
        #expect(out.sent.map { $0.1.objectValue?.string("method") } == [nil, "verto.media", "verto.answer"])
        #expect(out.sent[2].1.objectValue?.object("params") == ["callID": "A"])
        expectThrows(.missingField(method: "verto.answer", field: "sdp")) {
            s.receive(c, rpc(51, "verto.invite", ["sdp": "v=0 o", "dialogParams": ["callID": "B"]]), now: at(1300))
            try s.answer(callID: "B", sdp: nil, now: at(1300))
        }
    }

    @Test func originateSendsAnInviteWithParamsAndTruthyIds() throws {
        var (s, c) = loggedInServer()
        let callID = try s.originate(toSessid: testSessid, offer: CallOffer(callID: "", sdp: "v=0 offer", callerIDName: "Bob",
                                                                             callerIDNumber: "1010", headers: ["verto_h_x": "1"]), now: at(100))
        let out = drain(&s)
        let inv = try #require(out.sent.first?.1.objectValue)
        #expect(out.sent.first?.0 == c)
        #expect(inv.string("method") == "verto.invite")
        #expect((inv["id"]?.intValue ?? 0) >= 1)
        let p = try #require(inv.object("params"))
        #expect(p.string("callID") == callID)
        #expect(p.string("display_direction") == "outbound")
        #expect(p.string("verto_h_x") == "1")
        s.receive(c, rpc(70, "verto.answer", ["sdp": "v=0 ans", "dialogParams": ["callID": .string(callID), "callee_id_name": "Alice"]]), now: at(200))
        let out2 = drain(&s)
        #expect(out2.events.contains { if case .callAnswered(let id, "v=0 ans", let dp) = $0 { return id == callID && dp.calleeIDName == "Alice" } else { return false } })
        #expect(s.dialog(callID)?.state == .active)
        expectThrows(.notLoggedIn(operation: "originate")) { try s.originate(toSessid: "nobody", offer: CallOffer(callID: "", sdp: "v=0"), now: at(300)) }
    }

    @Test func requestsWithoutIdAndBatchesAreAnswered() {
        var (s, c) = loggedInServer()
        s.receive(c, #"{"jsonrpc":"2.0","method":"verto.ping","params":{}}"#, now: at(1))
        s.receive(c, #"[{"jsonrpc":"2.0","id":1,"method":"verto.ping"},{"jsonrpc":"1.0","id":2,"method":"verto.ping"},{"jsonrpc":"2.0","id":3,"result":{}}]"#, now: at(2))
        let out = drain(&s)
        #expect(out.sent.count == 2)
        #expect(out.sent[0].1.objectValue?["id"] == .null)
        guard case .array(let replies) = out.sent[1].1 else { Issue.record("batch reply is not an array"); return }
        #expect(replies.count == 2)
        #expect(replies[0].objectValue?.object("result")?.string("message") == "PONG")
        #expect(replies[1].objectValue?.object("error")?.int("code") == -32600)
        #expect(replies[1].objectValue?["id"] == .int(2))
    }

    @Test func clientErrorObjectsAreTreatedAsMethodlessRequests() {
        var (s, c) = loggedInServer()
        s.receive(c, errorReply(5, -32000, "no"), now: at(1))
        let out = drain(&s)
        #expect(errorOf(out.sent[0].1).code == -32601)
        #expect(errorOf(out.sent[0].1).id == .int(5))
    }

    @Test func envelopeErrors() {
        var s = VertoServerCore(configuration: { var c = VertoServerConfiguration(); c.maxMessageBytes = 100; return c }(), random: .seeded(1))
        let c = s.connectionOpened(now: at(0))
        s.receive(c, "not json", now: at(1))
        s.receive(c, #"{"id":4,"method":"login"}"#, now: at(1))
        s.receive(c, String(repeating: " ", count: 101), now: at(1))
        s.receive(c, #"{"jsonrpc":"2.0","id":{"x":1},"method":"login"}"#, now: at(1))
        let out = drain(&s)
        #expect(out.sent.map { errorOf($0.1).code } == [-32700, -32600, -32600, -32600])
        #expect(out.sent.map { errorOf($0.1).message } == ["Parse error", "Invalid message", "Invalid Request", "Invalid message"])
        #expect(out.sent.map { errorOf($0.1).id } == [.null, .int(4), .null, .null])
        #expect(out.events.count == 4)
    }

    @Test func secondConnectionWithSameSessidPuntsTheFirst() throws {
        var (s, c) = loggedInServer()
        try answeredClientCall(&s, c, callID: "A", now: at(1000))
        let c2 = s.connectionOpened(now: at(2000))
        login(&s, c2, sessid: testSessid, now: at(2000))
        let out = drain(&s)
        #expect(out.sent.first?.0 == c)
        #expect(out.sent.first?.1.objectValue?.string("method") == "verto.punt")
        #expect(out.sent.first?.1.objectValue?.object("params") == [:])
        #expect(out.closed == [c])
        #expect(out.events.contains(.punted(connection: c, sessid: testSessid)))
        #expect(out.events.contains(.reattachNeeded(callID: "A", connection: c2)))
        #expect(s.connection(forSessid: testSessid) == c2)
        #expect(!s.openConnections.contains(c))
    }

    @Test func subscribeHonoursEventChannelPermissions() {
        var s = VertoServerCore(random: .seeded(1))
        let c = s.connectionOpened(now: at(0))
        s.receive(c, rpc(1, "login", ["login": "1008@d", "passwd": "pw", "sessid": "S"]), now: at(1))
        guard case .authenticate(let req)? = drain(&s).events.first else { Issue.record("no authenticate"); return }
        s.completeLogin(req, decision: .accept(VertoUser(id: "1008", allowedEventChannels: ["presence"])), now: at(2))
        _ = drain(&s)
        s.receive(c, rpc(2, "verto.subscribe", ["eventChannel": ["presence.1008@d", "FSevent.CHANNEL_CREATE"]]), now: at(3))
        s.receive(c, rpc(3, "verto.subscribe", ["eventChannel": "presence.1008@d"]), now: at(3))
        let out = drain(&s)
        #expect(out.sent[0].1.objectValue?.object("result") == ["subscribedChannels": ["presence.1008@d"],
                                                                  "unauthorizedChannels": ["FSevent.CHANNEL_CREATE"], "sessid": "S"])
        #expect(out.sent[1].1.objectValue?.object("error")?["code"] == nil)
        #expect(out.sent[1].1.objectValue?.object("error")?.array("alreadySubscribedChannels") == ["presence.1008@d"])
        #expect(s.publish(eventChannel: "presence.1008@d", data: ["channelCallState": "RINGING"], now: at(4)) == 1)
        #expect(drain(&s).sent.methods == ["verto.event"])
    }

    @Test func echoParamsCopiesTheRequestParamsIntoTheResult() {
        var (s, c) = loggedInServer()
        s.receive(c, rpc(3, "verto.ping", ["echoParams": true, "x": 1]), now: at(1))
        s.receive(c, rpc(4, "verto.ping", ["echoParams": "tag-7"]), now: at(1))
        let out = drain(&s)
        #expect(out.sent[0].1.objectValue?.object("result")?.object("requestParams") == ["echoParams": true, "x": 1])
        #expect(out.sent[1].1.objectValue?.object("result")?["requestParams"] == "tag-7")
    }

    @Test func wrongTypedCredentialsAreMinus32001() {
        var s = VertoServerCore(random: .seeded(1))
        let c = s.connectionOpened(now: at(0))
        s.receive(c, rpc(1, "login", ["login": ["x": 1], "passwd": "pw"]), now: at(1))
        let out = drain(&s)
        #expect(errorOf(out.sent[0].1).code == -32001)
        #expect(!out.events.contains { caseName($0) == "authenticate" })
    }

    /// Per-session and global call caps: the call over a cap is refused with -32002 and cause
    /// CALL_REJECTED (or, for an originate, a typed error); ending a call frees its slot.
    @Test func callCapsPerSessionAndGlobal() throws {
        var (s, c) = loggedInServer { $0.maxCallsPerSession = 2; $0.maxCalls = 3 }
        _ = drain(&s)
        func invite(_ id: Int, _ callID: String, on conn: VertoConnectionID) -> (code: Int?, cause: String?, message: String?) {
            s.receive(conn, rpc(id, "verto.invite", ["sdp": "v=0", "dialogParams": ["callID": .string(callID)]]), now: at(Int64(id)))
            let reply = drain(&s).sent.last { $0.0 == conn }?.1.objectValue
            return (reply?.object("error")?.int("code"), reply?.object("error")?.string("cause"),
                    reply?.object("result")?.string("message"))
        }
        #expect(invite(2, "a", on: c).message == "CALL CREATED")
        #expect(invite(3, "b", on: c).message == "CALL CREATED")
        let third = invite(4, "c", on: c)
        #expect(third.code == -32002 && third.cause == "CALL_REJECTED", "per-session cap: \(third)")
        #expect(s.dialog("c") == nil)
        #expect(throws: VertoError.tooManyCalls(limit: 2)) {
            try s.originate(toSessid: testSessid, offer: CallOffer(callID: "o", sdp: "v=0"), now: at(5))
        }
        // A second session may still call, up to the global cap of 3.
        let other = s.connectionOpened(now: at(6))
        login(&s, other, sessid: "22222222-2222-4333-8444-555555555555", user: "1009", now: at(6))
        _ = drain(&s)
        #expect(invite(7, "d", on: other).message == "CALL CREATED")
        let global = invite(8, "e", on: other)
        #expect(global.code == -32002 && global.cause == "CALL_REJECTED", "global cap: \(global)")
        // Ending one of the first session's calls frees a slot for it.
        s.receive(c, rpc(9, "verto.bye", ["dialogParams": ["callID": "a"]]), now: at(9))
        _ = drain(&s)
        #expect(s.callCount == 2)
        #expect(invite(10, "f", on: c).message == "CALL CREATED")
    }
}
