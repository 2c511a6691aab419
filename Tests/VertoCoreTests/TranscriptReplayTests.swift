import CoreSupport
import Foundation
import NIOCore
import TestSupport
import Testing
@testable import VertoCore

/// Replays `Fixtures/verto/*.jsonl` (format: Fixtures/verto/PROVENANCE.md) through the client session
/// and the server core: one side's messages are fed in, the other side's outputs are asserted
/// message by message (JSON compared with object members in any order).
struct Transcript {
    struct Line {
        var number: Int
        var dir: String
        var t: Int64
        var msg: JSONValue?
        var side: String?
        var action: String?
        var args: JSONObject
        var expect: String?
        var by: String?
        var conn: Int
        var only: String?
    }

    var name: String
    var meta: JSONObject
    var lines: [Line]

    static var all: [String] {
        Fixtures.files(in: "verto", withExtension: "jsonl").map { $0.deletingPathExtension().lastPathComponent }
    }

    static func load(_ name: String) throws -> Transcript {
        let text = try Fixtures.text("verto/\(name).jsonl")
        var meta = JSONObject()
        var lines: [Line] = []
        for (i, raw) in text.split(separator: "\n").enumerated() where !raw.isEmpty {
            guard case .object(let o) = try JSONCodec.parse(String(raw)) else { throw VertoError.invalidMessage("line \(i + 1)") }
            if o.string("dir") == "meta" {
                meta = o
                continue
            }
            lines.append(Line(number: i + 1, dir: o.string("dir") ?? "", t: Int64(o.int("t") ?? 0), msg: o["msg"],
                              side: o.string("side"), action: o.string("do"), args: o.object("args") ?? [:],
                              expect: o.string("expect"), by: o.string("by"), conn: o.int("conn") ?? 1, only: o.string("only")))
        }
        return Transcript(name: name, meta: meta, lines: lines)
    }

    var roles: [String] { meta.array("roles")?.compactMap(\.stringValue) ?? [] }
}

/// Recursively sorts object members so that member order does not matter in comparisons.
func canonical(_ v: JSONValue) -> JSONValue {
    switch v {
    case .object(let o):
        return .object(JSONObject(o.members.sorted { $0.key < $1.key }.map { ($0.key, canonical($0.value)) }))
    case .array(let a): return .array(a.map(canonical))
    default: return v
    }
}

func caseName<T>(_ value: T) -> String {
    let s = String(describing: value)
    return String(s.prefix { $0 != "(" })
}

struct ReplayFailure: Error, CustomStringConvertible {
    var description: String
}

let replayBase = NIODeadline.uptimeNanoseconds(0)

// MARK: - Server replay

struct ServerReplay {
    enum Out { case send(Int, String), close(Int) }
    var server: VertoServerCore
    var connMap: [Int: VertoConnectionID] = [:]
    var queue: [Out] = []
    var events: [VertoServerEvent] = []
    var lastAuth: LoginRequest?
    var modifyRequests: [String: ModifyRequest] = [:]
    let transcript: Transcript

    init(_ t: Transcript) {
        var cfg = VertoServerConfiguration()
        cfg.sernoEpochOffset = Int64(t.meta.int("sernoEpochOffset") ?? 0)
        server = VertoServerCore(configuration: cfg, random: .seeded(7))
        transcript = t
    }

    func fixtureConn(_ c: VertoConnectionID) -> Int { connMap.first { $0.value == c }?.key ?? -1 }

    mutating func drain() {
        while let o = server.pollOutput() {
            switch o {
            case .send(let c, let text): queue.append(.send(fixtureConn(c), text))
            case .close(let c): queue.append(.close(fixtureConn(c)))
            case .event(let e):
                events.append(e)
                if case .authenticate(let r) = e { lastAuth = r }
                if case .modifyRequested(let r) = e { modifyRequests[r.params.dialogParams.callID] = r }
            }
        }
    }

    mutating func run() throws {
        for line in transcript.lines where line.only != "client" {
            let now = replayBase + .milliseconds(line.t)
            let ctx = "\(transcript.name):\(line.number)"
            server.handleTimeout(now: now)
            drain()
            switch line.dir {
            case "c2s":
                guard let conn = connMap[line.conn], let msg = line.msg else { throw ReplayFailure(description: "\(ctx): no connection") }
                server.receive(conn, JSONCodec.serialize(msg), now: now)
                drain()
            case "s2c":
                guard !queue.isEmpty else { throw ReplayFailure(description: "\(ctx): expected \(line.msg.map(JSONCodec.serialize) ?? "") but the server sent nothing") }
                let out = queue.removeFirst()
                guard case .send(let c, let text) = out else { throw ReplayFailure(description: "\(ctx): expected a message, got \(out)") }
                let got = try JSONCodec.parse(text)
                guard c == line.conn, let want = line.msg, canonical(got) == canonical(want) else {
                    throw ReplayFailure(description: "\(ctx): server sent on \(c)\n  \(text)\nexpected on \(line.conn)\n  \(line.msg.map(JSONCodec.serialize) ?? "")")
                }
            case "net":
                switch (line.action, line.by) {
                case ("open", _):
                    connMap[line.conn] = server.connectionOpened(now: now)
                case ("close", "server"?), ("close", "both"?):
                    guard !queue.isEmpty, case .close(let c) = queue.removeFirst(), c == line.conn else {
                        throw ReplayFailure(description: "\(ctx): expected the server to close connection \(line.conn)")
                    }
                case ("close", _):
                    if let c = connMap[line.conn] { server.connectionClosed(c, now: now) }
                    drain()
                default: throw ReplayFailure(description: "\(ctx): bad net line")
                }
            case "app" where line.side == "server":
                if let action = line.action {
                    try perform(action, line.args, now: now, ctx: ctx)
                    drain()
                }
                if let e = line.expect { try expectEvent(e, ctx: ctx) }
            default: break
            }
        }
        drain()
        if !queue.isEmpty { throw ReplayFailure(description: "\(transcript.name): unexpected server output \(queue)") }
    }

    mutating func expectEvent(_ name: String, ctx: String) throws {
        guard let i = events.firstIndex(where: { caseName($0) == name }) else {
            throw ReplayFailure(description: "\(ctx): no server event \(name) in \(events.map(caseName))")
        }
        events.removeFirst(i + 1)
    }

    mutating func perform(_ action: String, _ a: JSONObject, now: NIODeadline, ctx: String) throws {
        let callID = a.string("callID") ?? ""
        switch action {
        case "auth.accept":
            guard let r = lastAuth else { throw ReplayFailure(description: "\(ctx): no login to accept") }
            server.completeLogin(r, decision: .accept(VertoUser(id: a.string("user") ?? "")), now: now)
        case "auth.reject":
            guard let r = lastAuth else { throw ReplayFailure(description: "\(ctx): no login to reject") }
            server.completeLogin(r, decision: .reject(message: a.string("message") ?? ""), now: now)
        case "answer": try server.answer(callID: callID, sdp: a.string("sdp"), now: now)
        case "media": try server.earlyMedia(callID: callID, sdp: a.string("sdp") ?? "", now: now)
        case "hangup": try server.hangup(callID: callID, cause: HangupCause(name: a.string("cause") ?? "") ?? .normalClearing, now: now)
        case "originate":
            let offer = CallOffer(callID: callID, sdp: a.string("sdp") ?? "", callerIDName: a.string("caller_id_name"),
                                  callerIDNumber: a.string("caller_id_number"))
            try server.originate(toSessid: transcript.meta.string("sessid") ?? "", offer: offer, now: now)
        case "display":
            try server.display(DisplayParams(callID: callID, displayName: a.string("display_name"), displayNumber: a.string("display_number")), now: now)
        case "reattach": try server.reattach(callID: callID, sdp: a.string("sdp") ?? "", now: now)
        case "completeModify":
            guard let r = modifyRequests.removeValue(forKey: callID) else { throw ReplayFailure(description: "\(ctx): no modify request") }
            if let err = a.string("error") {
                server.completeModify(r, result: .failure(JSONRPCErrorObject(code: a.int("code"), message: err)), now: now)
            } else {
                server.completeModify(r, result: .success(a.object("result") ?? [:]), now: now)
            }
        default: throw ReplayFailure(description: "\(ctx): unknown server action \(action)")
        }
    }
}

// MARK: - Client replay

struct ClientReplay {
    var client: VertoClientSession
    var queue: [VertoClientOutput] = []
    var events: [VertoClientEvent] = []
    let transcript: Transcript
    let conns: [Int]

    init(_ t: Transcript) {
        var cfg = VertoClientConfiguration(login: t.meta.string("login") ?? "", password: t.meta.string("passwd") ?? "",
                                           sessid: t.meta.string("sessid"))
        cfg.keepaliveInterval = .milliseconds(Int64(t.meta.int("clientKeepaliveMs") ?? 3_600_000))
        cfg.reconnectJitter = 0
        cfg.reconnectInitialDelay = .seconds(1)
        client = VertoClientSession(configuration: cfg, random: .seeded(11))
        transcript = t
        conns = t.meta.array("clientConns")?.compactMap(\.intValue) ?? [1]
    }

    mutating func drain() {
        while let o = client.pollOutput() {
            if case .event(let e) = o { events.append(e) } else { queue.append(o) }
        }
    }

    mutating func pop(_ ctx: String) throws -> VertoClientOutput {
        guard !queue.isEmpty else { throw ReplayFailure(description: "\(ctx): the client produced nothing") }
        return queue.removeFirst()
    }

    mutating func run() throws {
        for line in transcript.lines where line.only != "server" && conns.contains(line.conn) {
            let now = replayBase + .milliseconds(line.t)
            let ctx = "\(transcript.name):\(line.number)"
            client.handleTimeout(now: now)
            drain()
            switch line.dir {
            case "s2c":
                guard let msg = line.msg else { continue }
                client.receive(JSONCodec.serialize(msg), now: now)
                drain()
            case "c2s":
                let out = try pop(ctx)
                guard case .send(let text) = out, let want = line.msg, canonical(try JSONCodec.parse(text)) == canonical(want) else {
                    throw ReplayFailure(description: "\(ctx): client output \(out)\nexpected \(line.msg.map(JSONCodec.serialize) ?? "")")
                }
            case "net":
                switch (line.action, line.by) {
                case ("open", _):
                    if !client.isLoggedIn, queue.isEmpty { client.start(now: now) }
                    drain()
                    guard try pop(ctx) == .connect else { throw ReplayFailure(description: "\(ctx): expected .connect") }
                    client.transportConnected(now: now)
                    drain()
                case ("close", "client"?), ("close", "both"?):
                    guard try pop(ctx) == .close else { throw ReplayFailure(description: "\(ctx): expected .close") }
                case ("close", _):
                    client.transportClosed(now: now)
                    drain()
                default: throw ReplayFailure(description: "\(ctx): bad net line")
                }
            case "app" where line.side == "client":
                if let action = line.action {
                    try perform(action, line.args, now: now, ctx: ctx)
                    drain()
                }
                if let e = line.expect { try expectEvent(e, ctx: ctx) }
            default: break
            }
        }
        drain()
        if !queue.isEmpty { throw ReplayFailure(description: "\(transcript.name): unexpected client output \(queue)") }
    }

    mutating func expectEvent(_ name: String, ctx: String) throws {
        guard let i = events.firstIndex(where: { caseName($0) == name }) else {
            throw ReplayFailure(description: "\(ctx): no client event \(name) in \(events.map(caseName))")
        }
        events.removeFirst(i + 1)
    }

    mutating func perform(_ action: String, _ a: JSONObject, now: NIODeadline, ctx: String) throws {
        let callID = a.string("callID") ?? ""
        switch action {
        case "invite":
            var dpJSON = a
            dpJSON.removeValue(forKey: "sdp")
            let dp = try DialogParams(json: dpJSON, method: "verto.invite")
            try client.invite(sdp: a.string("sdp") ?? "", dialogParams: dp, now: now)
        case "answer": try client.answer(callID: callID, sdp: a.string("sdp") ?? "", now: now)
        case "hangup": try client.hangup(callID: callID, cause: HangupCause(name: a.string("cause") ?? "") ?? .normalClearing, now: now)
        case "hold": try client.hold(callID: callID, now: now)
        case "unhold": try client.unhold(callID: callID, now: now)
        case "transfer": try client.transfer(callID: callID, to: a.string("destination") ?? "", now: now)
        case "replace": try client.replace(callID: callID, with: a.string("replaceCallID") ?? "", now: now)
        case "dtmf": try client.sendDTMF(callID: callID, digits: a.string("digits") ?? "", now: now)
        case "attach": try client.attach(callID: callID, sdp: a.string("sdp") ?? "", now: now)
        default: throw ReplayFailure(description: "\(ctx): unknown client action \(action)")
        }
    }
}

@Suite struct TranscriptReplayTests {
    @Test func everyFlowOfSection4HasATranscript() {
        let names = Set(Transcript.all)
        for flow in ["01-login-good", "02-login-bad-password", "03-method-before-login", "04-outbound-call", "05-inbound-call",
                     "06-early-media", "07-hold-unhold", "08-dtmf", "09-blind-transfer", "10-attended-transfer",
                     "11-reconnect-attach", "12-remote-hangup", "13-punt", "14-server-ping"] {
            #expect(names.contains(flow), "missing transcript \(flow)")
        }
    }

    @Test(arguments: Transcript.all)
    func replayThroughServer(_ name: String) throws {
        let t = try Transcript.load(name)
        try #require(t.roles.contains("server"))
        var replay = ServerReplay(t)
        do {
            try replay.run()
        } catch let f as ReplayFailure {
            Issue.record("\(f)")
        }
    }

    @Test(arguments: Transcript.all.filter { (try? Transcript.load($0).roles.contains("client")) == true })
    func replayThroughClient(_ name: String) throws {
        let t = try Transcript.load(name)
        var replay = ClientReplay(t)
        do {
            try replay.run()
        } catch let f as ReplayFailure {
            Issue.record("\(f)")
        }
    }
}
