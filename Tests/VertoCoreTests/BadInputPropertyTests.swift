import CoreSupport
import NIOCore
import Testing
import TestSupport
@testable import VertoCore

/// House rule 5: bad input never traps; it gets a JSON-RPC error reply or a typed error.
/// Seeded random bytes, strings and JSON shapes are fed to both roles.
@Suite struct BadInputPropertyTests {
    static let methods = VertoMethod.allCases.map(\.rawValue) + ["", "verto.", "x", "LOGIN"]
    static let keys = ["jsonrpc", "id", "method", "params", "result", "error", "callID", "dialogParams", "sdp", "action",
                       "sessid", "login", "passwd", "code", "message", "eventChannel", "dtmf", "cause", "causeCode",
                       "reattached_sessions", "destination", "replaceCallID", "msg"]

    static func randomJSON(_ g: inout SeededGenerator, depth: Int = 0) -> JSONValue {
        let pick = Int.random(in: 0..<(depth > 3 ? 6 : 8), using: &g)
        switch pick {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &g))
        case 2: return .int(Int.random(in: -3...3, using: &g))
        case 3: return .double(Double.random(in: -1e6...1e6, using: &g))
        case 4: return .string(["", "2.0", "a", "verto.invite", "hold", "x1", "v=0"].randomElement(using: &g)!)
        case 5: return .string(methods.randomElement(using: &g)!)
        case 6: return .array((0..<Int.random(in: 0...3, using: &g)).map { _ in randomJSON(&g, depth: depth + 1) })
        default:
            var o = JSONObject()
            for _ in 0..<Int.random(in: 0...5, using: &g) { o[keys.randomElement(using: &g)!] = randomJSON(&g, depth: depth + 1) }
            return .object(o)
        }
    }

    /// A JSON-RPC-ish message with random parts, more likely to reach deep code paths than pure noise.
    static func randomMessage(_ g: inout SeededGenerator) -> String {
        var o: JSONObject = ["jsonrpc": Int.random(in: 0..<6, using: &g) == 0 ? randomJSON(&g) : "2.0"]
        switch Int.random(in: 0..<4, using: &g) {
        case 0: o["id"] = .int(Int.random(in: 0...5, using: &g))
        case 1: o["id"] = randomJSON(&g)
        default: break
        }
        let r = Int.random(in: 0..<10, using: &g)
        if r < 7 {
            o["method"] = .string(methods.randomElement(using: &g)!)
            var params = randomJSON(&g).objectValue ?? [:]
            if Bool.random(using: &g) { params["dialogParams"] = .object(["callID": .string(["A", "B", ""].randomElement(using: &g)!)]) }
            o["params"] = Int.random(in: 0..<8, using: &g) == 0 ? randomJSON(&g) : .object(params)
        } else if r < 9 {
            o["result"] = randomJSON(&g)
        } else {
            o["error"] = randomJSON(&g)
        }
        var text = JSONCodec.serialize(.object(o))
        if Int.random(in: 0..<10, using: &g) == 0, !text.isEmpty {
            // Truncate or corrupt.
            let cut = Int.random(in: 0..<text.count, using: &g)
            text = String(text.prefix(cut))
        }
        return text
    }

    static func randomBytes(_ g: inout SeededGenerator) -> String {
        let n = Int.random(in: 0...64, using: &g)
        let alphabet = Array("{}[]\":,0123456789.eE-+tfnrul \\/abc\u{0}\u{7f}é")
        return String((0..<n).map { _ in alphabet.randomElement(using: &g)! })
    }

    @Test(.cpuBound, arguments: [1, 2, 3, 4] as [UInt64])
    func serverNeverTrapsAndAnswersEveryRequestLikeFrame(seed: UInt64) throws {
        var g = SeededGenerator(seed: seed)
        var (s, c) = loggedInServer()
        _ = try s.originate(toSessid: testSessid, offer: CallOffer(callID: "B", sdp: "v=0"), now: at(1))
        s.receive(c, rpc(2, "verto.invite", ["sdp": "v=0", "dialogParams": ["callID": "A"]]), now: at(1))
        _ = drain(&s)
        let anon = s.connectionOpened(now: at(1))
        for i in 0..<400 {
            let text = i % 3 == 0 ? Self.randomBytes(&g) : Self.randomMessage(&g)
            let conn = i % 2 == 0 ? c : anon
            s.receive(conn, text, now: at(Int64(10 + i)))
            let out = drain(&s)
            for (_, v) in out.sent {
                // Every reply is a JSON-RPC 2.0 message (or a batch of them) with an id member.
                let items = v.arrayValue ?? [v]
                for item in items {
                    let o = try #require(item.objectValue)
                    #expect(o.string("jsonrpc") == "2.0")
                    #expect(o["id"] != nil || o["method"] != nil)
                    if let e = o.object("error") { #expect(e["message"] != nil) }
                }
            }
            // A request-shaped object with a method gets exactly one reply unless it is a credentialed
            // login (deferred) or a deferred modify; anything unparseable gets a -32700 reply.
            if (try? JSONCodec.parse(text)) == nil {
                #expect(out.sent.count == 1)
                #expect(out.sent.first?.1.objectValue?.object("error")?.int("code") == -32700)
            }
            // Keep the pending logins from piling up: refuse them.
            for case .authenticate(let r) in out.events {
                s.completeLogin(r, decision: .reject(message: "no"), now: at(Int64(10 + i)))
                _ = drain(&s)
            }
        }
        s.handleTimeout(now: at(1_000_000))
        _ = drain(&s)
    }

    @Test(.cpuBound, arguments: [5, 6, 7, 8] as [UInt64])
    func clientNeverTrapsAndNeverAnswersWithAnError(seed: UInt64) throws {
        var g = SeededGenerator(seed: seed)
        var c = loggedInClient()
        try c.invite(sdp: "v=0", dialogParams: DialogParams(callID: "A"), now: at(1))
        _ = drain(&c)
        var protocolErrors = 0
        for i in 0..<400 {
            let text = i % 3 == 0 ? Self.randomBytes(&g) : Self.randomMessage(&g)
            c.receive(text, now: at(Int64(10 + i)))
            let out = drain(&c)
            for m in out.sent {
                #expect(m["error"] == nil)
                #expect(m.string("jsonrpc") == "2.0")
            }
            protocolErrors += out.events.filter { caseName($0) == "protocolError" }.count
            if (try? JSONCodec.parse(text)) == nil {
                #expect(out.events.contains { caseName($0) == "protocolError" })
            }
            if !c.isLoggedIn {
                // A random punt: no reconnect may be scheduled; bring a session back for the next input.
                if c.isPunted { #expect(c.nextDeadline() == nil) }
                c.handleTimeout(now: at(Int64(10 + i) + 3_600_000))
                _ = drain(&c)
                c = loggedInClient()
            }
        }
        #expect(protocolErrors > 0)
    }

    @Test func hugePayloadIsRefusedBeforeParsing() {
        var c = loggedInClient { $0.maxMessageBytes = 1_000_000 }
        let huge = #"{"jsonrpc":"2.0","id":5,"method":"verto.info","params":{"x":""# + String(repeating: "a", count: 1_000_001) + #""}}"#
        c.receive(huge, now: at(100))
        let out = drain(&c)
        #expect(out.sent.isEmpty)
        #expect(out.events == [.protocolError(.payloadTooLarge(size: huge.utf8.count, limit: 1_000_000))])
        var (s, conn) = loggedInServer()
        s.receive(conn, huge, now: at(100))
        let sout = drain(&s)
        #expect(sout.sent.first?.1.objectValue?.object("error")?.int("code") == -32600)
    }

    @Test(arguments: [
        #"{"jsonrpc":"2.0","id":1,"method":"verto.invite","params":{"sdp":{"x":1},"dialogParams":{"callID":"A"}}}"#,
        #"{"jsonrpc":"2.0","id":1,"method":"verto.invite","params":{"sdp":"v=0","dialogParams":"A"}}"#,
        #"{"jsonrpc":"2.0","id":1,"method":"verto.modify","params":{"action":"fly","dialogParams":{"callID":"A"}}}"#,
        #"{"jsonrpc":"2.0","id":1,"method":"verto.modify","params":{"action":"transfer","dialogParams":{"callID":"A"}}}"#,
        #"{"jsonrpc":"2.0","id":1,"method":"verto.bye","params":[1,2]}"#,
        #"{"jsonrpc":"2.0","id":1,"method":"verto.subscribe","params":{}}"#,
        #"{"jsonrpc":"2.0","id":1,"method":7}"#,
        #"{"jsonrpc":"2.0","id":true,"method":"verto.ping"}"#,
    ])
    func wrongTypesGetJSONRPCErrors(_ text: String) {
        var (s, c) = loggedInServer()
        s.receive(c, text, now: at(1))
        let out = drain(&s)
        #expect(out.sent.count == 1)
        let code = out.sent.first?.1.objectValue?.object("error")?.int("code")
        #expect(code != nil)
        #expect(out.events.contains { caseName($0) == "badInput" })
    }

    /// Random interleavings of application commands, client traffic, disconnects and time: the server
    /// never traps, every request it originates has a params object and an integer id ≥ 1, and every
    /// call it reports ended is gone from the registry.
    @Test(arguments: [11, 12, 13] as [UInt64])
    func serverSurvivesRandomCommandSequences(seed: UInt64) {
        var g = SeededGenerator(seed: seed)
        var (s, first) = loggedInServer()
        var conns = [first]
        let callIDs = ["A", "B", "C"]
        var t: Int64 = 0
        for _ in 0..<600 {
            t += Int64.random(in: 0...20_000, using: &g)
            let now = at(t)
            let callID = callIDs.randomElement(using: &g)!
            let conn = conns.randomElement(using: &g)!
            switch Int.random(in: 0..<14, using: &g) {
            case 0: _ = try? s.originate(toSessid: testSessid, offer: CallOffer(callID: callID, sdp: "v=0"), now: now)
            case 1: try? s.answer(callID: callID, sdp: Bool.random(using: &g) ? "v=0 a" : nil, now: now)
            case 2: try? s.earlyMedia(callID: callID, sdp: "v=0 e", now: now)
            case 3: try? s.hangup(callID: callID, cause: .userBusy, now: now)
            case 4: try? s.display(DisplayParams(callID: callID, displayName: "x"), now: now)
            case 5: try? s.reattach(callID: callID, sdp: "v=0 r", now: now)
            case 6: try? s.punt(sessid: testSessid, now: now)
            case 7: s.connectionClosed(conn, now: now)
            case 8:
                let c = s.connectionOpened(now: now)
                conns.append(c)
                login(&s, c, sessid: Bool.random(using: &g) ? testSessid : "other", now: now)
            case 9: s.receive(conn, rpc(Int.random(in: 1...9, using: &g), "verto.invite", ["sdp": "v=0", "dialogParams": .object(["callID": .string(callID)])]), now: now)
            case 10: s.receive(conn, rpc(3, ["verto.bye", "verto.attach", "verto.answer"].randomElement(using: &g)!,
                                         ["sdp": "v=0", "dialogParams": .object(["callID": .string(callID)])]), now: now)
            case 11: s.receive(conn, rpc(4, "verto.modify", ["action": .string(ModifyAction.allCases.randomElement(using: &g)!.rawValue),
                                                               "destination": "1", "replaceCallID": "B", "sdp": "v=0",
                                                               "dialogParams": .object(["callID": .string(callID)])]), now: now)
            case 12: s.receive(conn, Self.randomMessage(&g), now: now)
            default: s.handleTimeout(now: now)
            }
            let out = drain(&s)
            for (_, v) in out.sent {
                for item in v.arrayValue ?? [v] {
                    guard let o = item.objectValue, o["method"] != nil else { continue }
                    #expect(o.object("params") != nil)
                    #expect((o["id"]?.intValue ?? 0) >= 1)
                }
            }
            for case .callEnded(let id, _, _) in out.events { #expect(s.dialog(id) == nil) }
            for case .modifyRequested(let r) in out.events {
                s.completeModify(r, result: .success([:]), now: now)
                _ = drain(&s)
            }
        }
    }
}
