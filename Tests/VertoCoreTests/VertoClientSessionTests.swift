import CoreSupport
import NIOCore
import Testing
@testable import VertoCore

@Suite struct VertoClientSessionTests {
    @Test func firstMessageIsTheFullLoginWithSessid() throws {
        let cfg = VertoClientConfiguration(login: "1008@example.test", password: "pw",
                                           loginParams: ["token": "abc"], userVariables: ["verto_user_agent": "VertoPhone/1"])
        var c = VertoClientSession(configuration: cfg, random: .seeded(42))
        c.start(now: at(0))
        #expect(c.pollOutput() == .connect)
        c.transportConnected(now: at(0))
        let out = drain(&c)
        let login = try #require(out.sent.first)
        #expect(out.sent.count == 1)
        #expect(login.string("method") == "login")
        #expect(login["id"] == .int(1))
        let p = try #require(login.object("params"))
        #expect(p.string("login") == "1008@example.test")
        #expect(p.string("passwd") == "pw")
        #expect(p.object("loginParams") == ["token": "abc"])
        #expect(p.object("userVariables") == ["verto_user_agent": "VertoPhone/1"])
        #expect(p.string("sessid") == c.sessid)
    }

    @Test func sessidComesFromTheInjectedRandomSourceAndSurvivesReconnects() throws {
        let cfg = VertoClientConfiguration(login: "u", password: "p")
        var a = VertoClientSession(configuration: cfg, random: .seeded(9))
        let b = VertoClientSession(configuration: cfg, random: .seeded(9))
        let other = VertoClientSession(configuration: cfg, random: .seeded(10))
        #expect(a.sessid == b.sessid)
        #expect(a.sessid != other.sessid)
        #expect(a.sessid.count == 36 && a.sessid == a.sessid.lowercased())
        let first = a.sessid
        a.start(now: at(0))
        a.transportConnected(now: at(0))
        a.transportClosed(now: at(100))
        _ = drain(&a)
        a.handleTimeout(now: at(100_000))
        #expect(a.pollOutput() == .connect)
        a.transportConnected(now: at(100_001))
        let login = try #require(drain(&a).sent.first)
        #expect(login.object("params")?.string("sessid") == first)
    }

    @Test func serverChosenSessidIsAdopted() {
        var c = VertoClientSession(configuration: VertoClientConfiguration(login: "u", password: "p", sessid: "mine"), random: .seeded(1))
        c.start(now: at(0))
        c.transportConnected(now: at(0))
        c.receive(result(1, ["message": "logged in", "sessid": "theirs"]), now: at(1))
        #expect(c.sessid == "theirs")
        #expect(drain(&c).events.contains(.loggedIn(sessid: "theirs", result: ["message": "logged in", "sessid": "theirs"])))
    }

    @Test(arguments: [VertoErrorCode.authFailed, VertoErrorCode.authRequired])
    func refusedLoginStopsWithoutReconnecting(code: Int) {
        var c = VertoClientSession(configuration: VertoClientConfiguration(login: "u", password: "bad", sessid: "s"), random: .seeded(1))
        c.start(now: at(0))
        c.transportConnected(now: at(0))
        _ = drain(&c)
        c.receive(errorReply(1, code, "Authentication Failure"), now: at(5))
        let out = drain(&c)
        #expect(out.events.contains(.loginFailed(.authenticationFailed(code: code, message: "Authentication Failure"))))
        #expect(out.other == [.close])
        #expect(c.nextDeadline() == nil)
        c.handleTimeout(now: at(3_600_000))
        #expect(c.pollOutput() == nil)
    }

    @Test func keepalivePingAfterIntervalAndAnyReplyCountsEvenMinus32601() throws {
        var c = loggedInClient { $0.keepaliveInterval = .seconds(20); $0.keepaliveTimeout = .seconds(10) }
        // Login was the last thing sent (t=0): ping due at t=20 s.
        #expect(c.nextDeadline() == at(20_000))
        c.handleTimeout(now: at(19_999))
        #expect(drain(&c).sent.isEmpty)
        c.handleTimeout(now: at(20_000))
        let ping = try #require(drain(&c).sent.first)
        #expect(ping.string("method") == "verto.ping")
        let id = try #require(ping["id"]?.intValue)
        #expect(id == 2)
        #expect(c.nextDeadline() == at(30_000))
        // FreeSWITCH ≤ 1.10.6 has no verto.ping: -32601 still proves the server alive (§1.3).
        c.receive(errorReply(id, -32601, "Invalid Method, Missing Method or Permission Denied"), now: at(20_050))
        c.handleTimeout(now: at(30_000))
        let out = drain(&c)
        #expect(!out.events.contains(.keepaliveFailed))
        #expect(!out.events.contains { caseName($0) == "requestFailed" })
        #expect(c.isLoggedIn)
    }

    @Test func missingKeepaliveReplyClosesAndSchedulesReconnect() {
        var c = loggedInClient { $0.keepaliveInterval = .seconds(20); $0.keepaliveTimeout = .seconds(10) }
        c.handleTimeout(now: at(20_000))
        _ = drain(&c)
        c.handleTimeout(now: at(29_999))
        #expect(drain(&c).events.isEmpty)
        c.handleTimeout(now: at(30_000))
        let out = drain(&c)
        #expect(out.events.contains(.keepaliveFailed))
        #expect(out.other == [.close])
        #expect(out.events.contains(.disconnected(reconnectAt: at(31_000))))
        #expect(!c.isLoggedIn)
    }

    @Test func reconnectBackoffIsExponentialCappedAndResetByLogin() {
        var c = VertoClientSession(configuration: {
            var cfg = VertoClientConfiguration(login: "u", password: "p", sessid: "s")
            cfg.reconnectJitter = 0
            cfg.reconnectInitialDelay = .seconds(1)
            cfg.reconnectMaxDelay = .seconds(10)
            return cfg
        }(), random: .seeded(1))
        var now = at(0)
        var delays: [Int64] = []
        c.start(now: now)
        _ = drain(&c)
        for _ in 0..<6 {
            c.transportClosed(now: now)  // connection attempt failed
            _ = drain(&c)
            let next = c.nextDeadline()!
            delays.append(Int64((next.uptimeNanoseconds - now.uptimeNanoseconds) / 1_000_000))
            now = next
            c.handleTimeout(now: now)
            #expect(c.pollOutput() == .connect)
        }
        #expect(delays == [1000, 2000, 4000, 8000, 10000, 10000])
        c.transportConnected(now: now)
        c.receive(result(1, ["message": "logged in"]), now: now)
        c.transportClosed(now: now)
        _ = drain(&c)
        #expect(c.nextDeadline() == now + .seconds(1))
    }

    @Test func jitterOnlyShortensTheDelay() {
        var cfg = VertoClientConfiguration(login: "u", password: "p", sessid: "s")
        cfg.reconnectJitter = 0.5
        cfg.reconnectInitialDelay = .seconds(4)
        var c = VertoClientSession(configuration: cfg, random: .seeded(77))
        c.start(now: at(0))
        c.transportClosed(now: at(0))
        let d = Int64(c.nextDeadline()!.uptimeNanoseconds - at(0).uptimeNanoseconds)
        #expect(d > 2_000_000_000 && d <= 4_000_000_000)
    }

    @Test func requestTimeoutSurfacesAsTypedError() throws {
        var c = loggedInClient { $0.requestTimeout = .seconds(5); $0.keepaliveInterval = .seconds(3600) }
        let callID = try c.invite(sdp: "v=0 o", dialogParams: DialogParams(callID: "", destinationNumber: "9196"), now: at(100))
        #expect(!callID.isEmpty)
        _ = drain(&c)
        c.receive(result(2, ["message": "CALL CREATED", "callID": .string(callID)]), now: at(200))
        c.receive(rpc(5, "verto.answer", ["callID": .string(callID), "sdp": "v=0 a"]), now: at(300))
        _ = drain(&c)
        try c.hold(callID: callID, now: at(1000))
        let holdID = try #require(drain(&c).sent.first?["id"].flatMap { JSONRPCID($0) })
        c.handleTimeout(now: at(6000))
        let out = drain(&c)
        #expect(out.events.contains(.requestFailed(method: "verto.modify", callID: callID,
                                                   error: .requestTimedOut(method: "verto.modify", id: holdID))))
        #expect(c.dialog(callID)?.state == .active)
    }

    @Test func serverRequestsAreAnsweredWithMethodNeverWithError() throws {
        var c = loggedInClient()
        c.receive(rpc(40, "verto.ping", ["serno": 123]), now: at(100))
        c.receive(rpc(41, "verto.display", ["callID": "unknown", "display_name": "X"]), now: at(100))
        c.receive(rpc(42, "verto.nonsense", [:]), now: at(100))
        c.receive(rpc(43, "verto.bye", [:]), now: at(100))  // missing callID: bad, still acknowledged
        c.receive(rpc(44, "verto.event", ["eventChannel": "presence"]), now: at(100))
        c.receive(rpc(45, "verto.clientReady", ["reattached_sessions": []]), now: at(100))
        let out = drain(&c)
        #expect(out.sent.count == 4)
        for (i, m) in out.sent.enumerated() {
            #expect(m["error"] == nil)
            #expect(m["id"] == .int(40 + i))
        }
        #expect(out.sent.map { $0.object("result")?.string("method") } == ["verto.ping", "verto.display", "verto.nonsense", "verto.bye"])
        #expect(out.events.filter { caseName($0) == "protocolError" }.count == 2)
    }

    @Test func commandsNeedLoginAndValidState() throws {
        var c = VertoClientSession(configuration: VertoClientConfiguration(login: "u", password: "p", sessid: "s"), random: .seeded(1))
        expectThrows(VertoError.notLoggedIn(operation: "verto.invite")) {
            try c.invite(sdp: "v=0", dialogParams: DialogParams(callID: ""), now: at(0))
        }
        var l = loggedInClient()
        let callID = try l.invite(sdp: "v=0", dialogParams: DialogParams(callID: "x1"), now: at(100))
        _ = drain(&l)
        // Hold on an unanswered call: typed error, nothing sent.
        expectThrows(VertoError.invalidTransition(callID: callID, from: .trying, event: "hold")) {
            try l.hold(callID: callID, now: at(200))
        }
        expectThrows(VertoError.unknownCall(callID: "nope")) { try l.hangup(callID: "nope", now: at(200)) }
        expectThrows(nil) { try l.sendDTMF(callID: callID, digits: "1x", now: at(200)) }
        expectThrows(VertoError.duplicateCall(callID: "x1")) {
            try l.invite(sdp: "v=0", dialogParams: DialogParams(callID: "x1"), now: at(300))
        }
        #expect(drain(&l).sent.isEmpty)
    }

    @Test func clientReadyEndsLocalCallsThatWereNotReattached() throws {
        var c = loggedInClient()
        for (i, id) in ["a", "b"].enumerated() {
            try c.invite(sdp: "v=0", dialogParams: DialogParams(callID: id), now: at(100))
            c.receive(rpc(10 + i, "verto.answer", ["callID": .string(id), "sdp": "v=0 a"]), now: at(200))
        }
        try c.invite(sdp: "v=0", dialogParams: DialogParams(callID: "unanswered"), now: at(300))
        _ = drain(&c)
        c.transportClosed(now: at(1000))
        var out = drain(&c)
        // The unanswered call dies with the socket (§1.6), the answered ones wait.
        #expect(out.events.contains(.callEnded(callID: "unanswered", cause: .destinationOutOfOrder, reason: .connectionLost)))
        #expect(c.dialog("a")?.state == .recovering)
        c.handleTimeout(now: at(2000))
        c.transportConnected(now: at(2000))
        let loginID = try #require(drain(&c).sent.first?["id"]?.intValue)
        c.receive(result(loginID, ["message": "logged in"]), now: at(2010))
        c.receive(rpc(20, "verto.attach", ["callID": "a", "sdp": "v=0 re"]), now: at(2020))
        c.receive(rpc(21, "verto.clientReady", ["reattached_sessions": ["a"]]), now: at(2030))
        out = drain(&c)
        #expect(out.events.contains { if case .reattachOffer(let o) = $0 { return o.callID == "a" } else { return false } })
        #expect(out.events.contains(.callEnded(callID: "b", cause: .recoveryOnTimerExpire, reason: .notReattached)))
        #expect(out.events.contains(.ready(reattachedCalls: ["a"], endedCalls: ["b"])))
        try c.attach(callID: "a", sdp: "v=0 ans", now: at(2100))
        let attach = try #require(drain(&c).sent.first)
        #expect(attach.string("method") == "verto.attach")
        c.receive(result(try #require(attach["id"]?.intValue), [:]), now: at(2200))
        #expect(drain(&c).events.contains(.reattached(callID: "a")))
        #expect(c.dialog("a")?.state == .active)
    }

    @Test func legacyReattachedSessionsListingTheSessidKeepsWaitingCalls() throws {
        var c = loggedInClient()
        try c.invite(sdp: "v=0", dialogParams: DialogParams(callID: "a"), now: at(100))
        c.receive(rpc(10, "verto.answer", ["callID": "a", "sdp": "v=0 a"]), now: at(200))
        c.transportClosed(now: at(1000))
        c.handleTimeout(now: at(2000))
        c.transportConnected(now: at(2000))
        _ = drain(&c)
        c.receive(result(3, ["message": "logged in"]), now: at(2010))
        c.receive(rpc(21, "verto.clientReady", ["reattached_sessions": .array([.string(testSessid)])]), now: at(2030))
        #expect(drain(&c).events.contains(.ready(reattachedCalls: [], endedCalls: [])))
        #expect(c.dialog("a")?.state == .recovering)
    }

    @Test func puntStopsAutoReconnect() throws {
        var c = loggedInClient()
        try c.invite(sdp: "v=0", dialogParams: DialogParams(callID: "a"), now: at(100))
        _ = drain(&c)
        c.receive(rpc(9, "verto.punt", [:]), now: at(500))
        let out = drain(&c)
        #expect(out.sent.isEmpty)  // verto.js does not answer a punt
        #expect(out.events.contains(.punted))
        #expect(out.events.contains(.callEnded(callID: "a", cause: .normalClearing, reason: .punted)))
        #expect(out.other == [.close])
        c.transportClosed(now: at(600))
        #expect(c.isPunted)
        #expect(c.nextDeadline() == nil)
        c.handleTimeout(now: at(3_600_000))
        #expect(c.pollOutput() == nil)
    }

    @Test func requestIDsStartAtOneAndNeverRepeat() throws {
        var c = loggedInClient { $0.keepaliveInterval = .seconds(3600) }
        var ids: [Int] = [1]
        for i in 0..<5 {
            try c.sendRequest(.subscribe(SubscribeParams(eventChannels: ["presence.\(i)"])), now: at(100))
            ids.append(try #require(drain(&c).sent.first?["id"]?.intValue))
        }
        #expect(ids == [1, 2, 3, 4, 5, 6])
    }

    @Test func inviteErrorEndsTheCallWithTheServersCause() throws {
        var c = loggedInClient()
        let id = try c.invite(sdp: "v=0", dialogParams: DialogParams(callID: "z"), now: at(100))
        _ = drain(&c)
        c.receive(#"{"jsonrpc":"2.0","id":2,"error":{"message":"CODEC ERROR","message":"CALL ERROR","cause":"INCOMPATIBLE_DESTINATION","causeCode":88,"code":-32002}}"#, now: at(200))
        let out = drain(&c)
        let err = VertoError.remoteError(method: "verto.invite", code: -32002, message: "CODEC ERROR",
                                         data: ["cause": "INCOMPATIBLE_DESTINATION", "causeCode": 88])
        #expect(out.events.contains(.callEnded(callID: id, cause: .incompatibleDestination, reason: .requestFailed(err))))
        #expect(c.dialog(id) == nil)
    }

    @Test func byeAfterRemoteHangupIsNotSent() throws {
        var c = loggedInClient()
        try c.invite(sdp: "v=0", dialogParams: DialogParams(callID: "a"), now: at(100))
        c.receive(rpc(10, "verto.bye", ["callID": "a", "cause": "USER_BUSY", "causeCode": 17]), now: at(200))
        let out = drain(&c)
        #expect(out.events.contains(.callEnded(callID: "a", cause: .userBusy, reason: .remoteHangup)))
        expectThrows(VertoError.unknownCall(callID: "a")) { try c.hangup(callID: "a", now: at(300)) }
    }
}
