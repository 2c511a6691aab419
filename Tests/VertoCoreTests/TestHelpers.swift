import NIOCore
import Testing
@testable import VertoCore

let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000)
func at(_ ms: Int64) -> NIODeadline { t0 + .milliseconds(ms) }

let testSessid = "11111111-2222-4333-8444-555555555555"

/// Drains a client's outputs.
func drain(_ c: inout VertoClientSession) -> (sent: [JSONObject], events: [VertoClientEvent], other: [VertoClientOutput]) {
    var sent: [JSONObject] = [], events: [VertoClientEvent] = [], other: [VertoClientOutput] = []
    while let o = c.pollOutput() {
        switch o {
        case .send(let text): sent.append((try? JSONCodec.parse(text))?.objectValue ?? ["unparseable": .string(text)])
        case .event(let e): events.append(e)
        default: other.append(o)
        }
    }
    return (sent, events, other)
}

/// Drains a server's outputs.
func drain(_ s: inout VertoServerCore) -> (sent: [(VertoConnectionID, JSONValue)], events: [VertoServerEvent], closed: [VertoConnectionID]) {
    var sent: [(VertoConnectionID, JSONValue)] = [], events: [VertoServerEvent] = [], closed: [VertoConnectionID] = []
    while let o = s.pollOutput() {
        switch o {
        case .send(let c, let text): sent.append((c, (try? JSONCodec.parse(text)) ?? .string(text)))
        case .event(let e): events.append(e)
        case .close(let c): closed.append(c)
        }
    }
    return (sent, events, closed)
}

func rpc(_ id: Int, _ method: String, _ params: JSONObject) -> String {
    JSONRPCMessage.request(JSONRPCRequest(id: .int(id), method: method, params: params)).text
}

func result(_ id: Int, _ r: JSONObject) -> String { JSONRPCMessage.result(id: .int(id), result: .object(r)).text }

func errorReply(_ id: Int, _ code: Int?, _ message: String) -> String {
    JSONRPCMessage.error(id: .int(id), error: JSONRPCErrorObject(code: code, message: message)).text
}

/// A client that is connected and logged in (login id 1, clientReady consumed).
func loggedInClient(configure: (inout VertoClientConfiguration) -> Void = { _ in }) -> VertoClientSession {
    var cfg = VertoClientConfiguration(login: "1008@example.test", password: "pw", sessid: testSessid)
    cfg.reconnectJitter = 0
    configure(&cfg)
    var c = VertoClientSession(configuration: cfg, random: .seeded(3))
    c.start(now: at(0))
    c.transportConnected(now: at(0))
    c.receive(result(1, ["message": "logged in", "sessid": .string(testSessid)]), now: at(10))
    c.receive(rpc(1, "verto.clientReady", ["reattached_sessions": []]), now: at(20))
    _ = drain(&c)
    return c
}

/// A server with one logged-in connection.
func loggedInServer(sessid: String = testSessid, user: String = "1008",
                    configure: (inout VertoServerConfiguration) -> Void = { _ in }) -> (VertoServerCore, VertoConnectionID) {
    var cfg = VertoServerConfiguration()
    configure(&cfg)
    var s = VertoServerCore(configuration: cfg, random: .seeded(5))
    let conn = s.connectionOpened(now: at(0))
    login(&s, conn, sessid: sessid, user: user, now: at(0))
    _ = drain(&s)
    return (s, conn)
}

func login(_ s: inout VertoServerCore, _ conn: VertoConnectionID, sessid: String, user: String = "1008", now: NIODeadline) {
    s.receive(conn, rpc(1, "login", ["login": .string(user + "@example.test"), "passwd": "pw", "sessid": .string(sessid)]), now: now)
    var req: LoginRequest?
    var pending: [VertoServerOutput] = []
    while let o = s.pollOutput() {
        if case .event(.authenticate(let r)) = o { req = r } else { pending.append(o) }
    }
    if let req { s.completeLogin(req, decision: .accept(VertoUser(id: user)), now: now) }
}

extension Array where Element == (VertoConnectionID, JSONValue) {
    var methods: [String] { compactMap { $0.1.objectValue?.string("method") } }
}

/// `#expect(throws:)` for bodies that mutate a local session (the macro's closure cannot).
func expectThrows(_ expected: VertoError?, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void) {
    do {
        try body()
        Issue.record("expected an error", sourceLocation: sourceLocation)
    } catch let e as VertoError {
        if let expected { #expect(e == expected, sourceLocation: sourceLocation) }
    } catch {
        Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
    }
}
