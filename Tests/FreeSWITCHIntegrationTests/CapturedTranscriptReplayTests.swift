import EventSocketCore
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing
import TestSupport
import VertoCore
import VertoNIO
import VertoPhone
import WebitelCTI

/// Every transcript captured from a real FreeSWITCH (`Fixtures/freeswitch-transcripts`) replayed
/// through the provider layer in every build, so the suite keeps the real server's behaviour — its
/// message shapes, orders, displays, causes, channel events — without a FreeSWITCH.
///
/// `TranscriptReplay` plays FreeSWITCH's side: a WebSocket server that answers each request the
/// clients make with what FreeSWITCH answered and sends what FreeSWITCH sent when it sent it, and
/// a stand-in event socket publishing the channel events FreeSWITCH published. The applications'
/// commands are read back from the clients' requests (a `verto.invite` is `makeCall`, a
/// `verto.modify` hold is `holdCall`, …). Each provider must then raise exactly the events it raised
/// against FreeSWITCH, with the same call objects.
@Suite("Captured FreeSWITCH transcripts through the provider", .serialized)
struct CapturedTranscriptReplayTests {
    @Test func theCapturedScenariosAreAllHere() {
        // The provider scenarios of the FreeSWITCH suite that make calls or log in, one transcript each.
        let expected = ["blindTransfer", "blindTransferToAUser", "bridgeOfTwoProviders", "calleeReconnectsDuringABridge",
                        "conference3000", "dialplanBridge", "dtmf9197", "earlyMedia9198", "echo9196", "farEndDTMF",
                        "holdAndUnhold", "inboundCallAnswered", "login", "reconnectMidCall", "remotePartyHoldsAndUnholds",
                        "ringThenAnswer9195", "serverHangsUp9199", "tone9664", "wrongPasswordFailsCleanly"]
        #expect(Set(CapturedTranscript.all).isSuperset(of: expected), "missing: \(Set(expected).subtracting(CapturedTranscript.all).sorted())")
    }

    @Test(arguments: CapturedTranscript.all)
    func replay(_ name: String) async throws {
        let transcript = try CapturedTranscript.load(name)
        #expect(transcript.meta.string("server")?.hasPrefix("FreeSWITCH") == true, "captured from FreeSWITCH")
        let replay = try await TranscriptReplay.start(transcript)
        let actual: [String: [JSONObject]]
        do {
            actual = try await replay.run()
        } catch {
            await replay.stop()
            throw error
        }
        await replay.stop()
        for user in transcript.users {
            let expected = transcript.events(of: user).map { replay.substituted($0) }
            let got = actual[user] ?? []
            #expect(got.map(\.kind) == expected.map(\.kind), "\(user)'s events")
            for (g, e) in zip(got, expected) where JSONCodec.serialize(.object(g)) != JSONCodec.serialize(.object(e)) {
                Issue.record("\(user): \(JSONCodec.serialize(.object(g)))\n  expected \(JSONCodec.serialize(.object(e)))")
            }
        }
    }
}

private extension JSONObject {
    var kind: String { string("kind") ?? "" }
}

/// FreeSWITCH's side of a captured transcript, and the providers of its users.
final class TranscriptReplay: Sendable {
    let transcript: CapturedTranscript
    private let server: WebSocketServer
    private let inbox: ReplayInbox
    private let silentMedia: Channel
    private let eventSocket: FakeEventSocketServer?
    private let parties: [String: Party]
    /// Transcript values (the callIDs our clients chose) → the values of this replay.
    private let ids = NIOLockedValueBox<[String: String]>([:])

    struct Party: Sendable {
        var provider: WebitelCtiProvider
        var log: ProviderEventLog
        var frames: FrameCounter
        var eventSocketStates: StateWatcher?
    }

    private init(transcript: CapturedTranscript, server: WebSocketServer, inbox: ReplayInbox, silentMedia: Channel,
                 eventSocket: FakeEventSocketServer?, parties: [String: Party]) {
        self.transcript = transcript
        self.server = server
        self.inbox = inbox
        self.silentMedia = silentMedia
        self.eventSocket = eventSocket
        self.parties = parties
    }

    static func start(_ transcript: CapturedTranscript) async throws -> TranscriptReplay {
        let inbox = ReplayInbox()
        let server = try await WebSocketServer.bind(
            configuration: WebSocketServerConfiguration(host: "127.0.0.1", port: 0), group: MultiThreadedEventLoopGroup.singleton,
            callbacks: WebSocketCallbacks(onText: { c, text in inbox.received(c, text) }))
        // The media address in FreeSWITCH's SDPs: a socket that reads and drops (ICE checks go nowhere).
        let silent = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
        let eslUsers = Set(transcript.traffic.filter { $0.dir == "esl" }.map(\.user))
        let esl = eslUsers.isEmpty ? nil : try FakeEventSocketServer()
        var parties: [String: Party] = [:]
        for user in transcript.users {
            let login = transcript.traffic.first { $0.user == user && $0.dir == "c2s" && $0.body.string("method") == "login" }?.body.object("params")
            let domain = login?.string("login")?.split(separator: "@").last.map(String.init) ?? "127.0.0.1"
            var s = WebitelConnectionSettings(webitelWebrtcConnectionString: "ws://127.0.0.1:\(server.localAddress.port ?? 0)/",
                                              domain: domain, login: user, password: "replay")
            s.sessid = login?.string("sessid")
            s.callerIDName = "User \(user)"
            s.mediaHost = "127.0.0.1"
            s.connectTimeout = .seconds(10)
            let frames = FrameCounter()
            s.configureEngine = { $0.frameTap = { outgoing, _ in if !outgoing { frames.count() } } }
            s.eventSocketTap = { _ in frames.countESL() }
            if let esl, eslUsers.contains(user) { s.eventSocketConnectionString = "127.0.0.1:\(esl.port):ClueCon" }
            let p = WebitelCtiProvider(configuration: s)
            let watcher = eslUsers.contains(user) ? StateWatcher(p.eventSocketStates) : nil
            parties[user] = Party(provider: p, log: ProviderEventLog(p.events), frames: frames, eventSocketStates: watcher)
        }
        return TranscriptReplay(transcript: transcript, server: server, inbox: inbox, silentMedia: silent, eventSocket: esl, parties: parties)
    }

    func stop() async {
        for p in parties.values { try? await p.provider.closeConnection() }
        try? await server.close()
        try? await silentMedia.close()
        eventSocket?.stop()
    }

    /// `value` with every transcript id replaced by this replay's.
    func substituted(_ value: JSONObject) -> JSONObject {
        let map = ids.withLockedValue { $0 }
        guard !map.isEmpty else { return value }
        var text = JSONCodec.serialize(.object(value))
        for (from, to) in map { text = text.replacingOccurrences(of: from, with: to) }
        return (try? JSONCodec.parse(text))?.objectValue ?? value
    }

    /// Plays the transcript; returns each user's provider events (as transcript lines), read to the
    /// end of its stream after the providers closed.
    func run() async throws -> [String: [JSONObject]] {
        var requestIDs: [String: [JSONValue: JSONValue]] = [:]   // per user: transcript id → ours
        var skipped: [String: Set<JSONValue>] = [:]               // per user: ids of requests not replayed
        var framesSent: [String: Int] = [:]
        var actions: [Task<Void, Never>] = []
        let failures = NIOLockedValueBox<[String]>([])
        let silentPort = silentMedia.localAddress?.port ?? 9

        for (n, line) in transcript.traffic.enumerated() {
            let at = "line \(n + 2) (\(line.dir) \(line.user) \(line.body.string("method") ?? "result"))"
            guard let party = parties[line.user] else { throw ReplayFailure("\(at): no party") }
            let msg = line.body
            switch line.dir {
            case "c2s":
                if let method = msg.string("method") {
                    let params = msg.object("params") ?? [:]
                    if method == "verto.ping" {
                        if let id = msg["id"] { skipped[line.user, default: []].insert(id) }
                        continue
                    }
                    if method == "login", inbox.isConnected(line.user) {
                        // The client logs in again: its connection was lost (the capture's test dropped it).
                        inbox.drop(line.user)
                    } else if let action = try await action(for: method, params, party: party, at: at) {
                        actions.append(Task {
                            do { try await action() } catch {
                                if method == "login", case CtiError.authenticationFailed = error { return }
                                failures.withLockedValue { $0.append("\(at): \(error)") }
                            }
                        })
                    }
                    let got = try await inbox.take(line.user, at) { m in
                        m.string("method") == method && Self.sameRequest(method, params, m.object("params") ?? [:])
                    }
                    if let id = msg["id"], let ours = got["id"] { requestIDs[line.user, default: [:]][id] = ours }
                    if method == "verto.invite",
                       let theirs = params.object("dialogParams")?.string("callID"),
                       let ours = got.object("params")?.object("dialogParams")?.string("callID") {
                        ids.withLockedValue { $0[theirs] = ours }
                    }
                } else {
                    // The client's reply to one of the server's requests (their ids are the transcript's).
                    let id = msg["id"]
                    _ = try await inbox.take(line.user, at) { m in m.string("method") == nil && m["id"] == id }
                }
            case "s2c":
                var out = substituted(msg)
                if out.string("method") == nil, let id = msg["id"] {
                    if skipped[line.user]?.contains(id) == true { continue }
                    guard let ours = requestIDs[line.user]?[id] else { throw ReplayFailure("\(at): a reply to a request not seen") }
                    out["id"] = ours
                }
                out = Self.withMediaAt(silentPort, out)
                try await inbox.send(line.user, JSONCodec.serialize(.object(out)), at)
                framesSent[line.user, default: 0] += 1
                let want = framesSent[line.user] ?? 0
                try await poll("\(at): the client read it") { party.frames.value >= want }
            case "esl":
                guard let esl = eventSocket, let states = party.eventSocketStates else { throw ReplayFailure("\(at): no event socket") }
                try await poll("\(at): the event socket is subscribed") { states.connected }
                var fields: [String: String] = [:]
                for m in substituted(msg) { fields[m.key] = m.value.stringValue ?? m.value.scalarString ?? "" }
                let before = party.frames.eslValue
                esl.publish(fields)
                try await poll("\(at): the provider read it") { party.frames.eslValue > before }
            default:
                continue
            }
        }
        for t in actions { await t.value }
        if let f = failures.withLockedValue({ $0 }).first { throw ReplayFailure(f) }
        var events: [String: [JSONObject]] = [:]
        for (user, p) in parties {
            try? await p.provider.closeConnection()
            events[user] = try await p.log.all().map { CapturedTranscript.json($0) }
        }
        return events
    }

    /// The application command behind a client request, once the provider allows it (nil for
    /// requests the engine makes on its own).
    private func action(for method: String, _ params: JSONObject, party: Party, at: String) async throws -> (@Sendable () async throws -> Void)? {
        let p = party.provider
        let callID = params.object("dialogParams")?.string("callID").map { id in ids.withLockedValue { $0[id] ?? id } }
        func call(_ cap: CtiCapabilities) async throws -> CtiCall {
            let id = try #require(callID, "\(at): no callID")
            var found: CtiCall?
            try await poll("\(at): call \(id.prefix(8)) allows \(cap)") {
                guard let c = await p.currentCall(id), await p.getCapabilities(for: c).contains(cap) else { return false }
                found = c
                return true
            }
            return try #require(found)
        }
        switch method {
        case "login":
            return { try await p.connect() }
        case "verto.invite":
            let destination = params.object("dialogParams")?.string("destination_number") ?? ""
            return { _ = try await p.makeCall(destination) }
        case "verto.answer":
            let c = try await call(.canAnswer)
            return { try await p.answerCall(c) }
        case "verto.bye":
            let c = try await call(.canDrop)
            return { try await p.dropCall(c) }
        case "verto.modify":
            switch params.string("action") {
            case "hold":
                let c = try await call(.canHold)
                return { try await p.holdCall(c) }
            case "unhold":
                let c = try await call(.canUnhold)
                return { try await p.unholdCall(c) }
            case "transfer":
                let c = try await call(.canBlindTransfer)
                let to = params.string("destination") ?? ""
                return { try await p.blindTransferCall(c, to: to) }
            default:
                throw ReplayFailure("\(at): verto.modify \(params.string("action") ?? "-") is not replayed")
            }
        case "verto.info":
            guard let digits = params.string("dtmf") else { return nil }
            let c = try await call(.canDTMF)
            return { try await p.sendDtmf(c, digits: digits) }
        default:
            return nil  // verto.attach and the like: the engine's own
        }
    }

    /// Whether our client's request is the one the transcript shows (what the application asked).
    private static func sameRequest(_ method: String, _ theirs: JSONObject, _ ours: JSONObject) -> Bool {
        switch method {
        case "verto.invite":
            return theirs.object("dialogParams")?.string("destination_number") == ours.object("dialogParams")?.string("destination_number")
        case "verto.modify":
            return theirs.string("action") == ours.string("action") && theirs.string("destination") == ours.string("destination")
        case "verto.info":
            return theirs.string("dtmf") == ours.string("dtmf")
        default:
            return true
        }
    }

    /// A message whose SDP (if any) puts every media address at 127.0.0.1:`port`.
    static func withMediaAt(_ port: Int, _ o: JSONObject) -> JSONObject {
        func walk(_ v: JSONValue, _ key: String?) -> JSONValue {
            switch v {
            case .object(let o): return .object(JSONObject(o.map { ($0.key, walk($0.value, $0.key)) }))
            case .string(let s) where key == "sdp":
                return .string(s.replacing(/(a=candidate:\S+ \d+ \S+ \d+ )\S+ \d+/) { m in "\(m.output.1)127.0.0.1 \(port)" }
                    .replacing(/m=audio \d+/, with: "m=audio \(port)")
                    .replacing(/c=IN IP4 \S+/, with: "c=IN IP4 127.0.0.1")
                    .replacing(/a=rtcp:\d+/, with: "a=rtcp:\(port)"))
            default: return v
            }
        }
        return walk(.object(o), nil).objectValue ?? o
    }
}

/// Waits (polling every 5 ms, at most `timeout`) until `condition` holds.
func poll(_ what: String, timeout: Duration = .seconds(10), _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while try await !condition() {
        guard ContinuousClock.now < deadline else { throw ReplayFailure("timed out: \(what)") }
        try await Task.sleep(for: .milliseconds(5))
    }
}

struct ReplayFailure: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// Counts the frames a replayed client received and the channel events its provider read.
final class FrameCounter: Sendable {
    private let box = NIOLockedValueBox((frames: 0, esl: 0))
    func count() { box.withLockedValue { $0.frames += 1 } }
    func countESL() { box.withLockedValue { $0.esl += 1 } }
    var value: Int { box.withLockedValue { $0.frames } }
    var eslValue: Int { box.withLockedValue { $0.esl } }
}

/// Whether a provider's event socket is subscribed now.
final class StateWatcher: Sendable {
    private let box = NIOLockedValueBox(false)
    init(_ states: AsyncStream<PBXEventSourceState>) {
        Task { [box] in
            for await s in states {
                switch s {
                case .connected: box.withLockedValue { $0 = true }
                case .disconnected: box.withLockedValue { $0 = false }
                case .badMessage: break
                }
            }
        }
    }
    var connected: Bool { box.withLockedValue { $0 } }
}

/// What the replayed clients sent, per user, and their connections.
final class ReplayInbox: Sendable {
    private struct State {
        var connections: [String: WebSocketConnection] = [:]
        var pending: [String: [JSONObject]] = [:]
    }
    private let state = NIOLockedValueBox(State())

    func received(_ c: WebSocketConnection, _ text: String) {
        guard case .object(let m)? = try? JSONCodec.parse(text) else { return }
        if m.string("method") == "login", let login = m.object("params")?.string("login") {
            let user = String(login.split(separator: "@").first ?? "")
            state.withLockedValue { $0.connections[user] = c }
        }
        if m.string("method") == "verto.ping", let id = m["id"] {
            // The client's keep-alive, answered as FreeSWITCH does; not part of any transcript line.
            c.send(text: JSONCodec.serialize(.object(["jsonrpc": "2.0", "id": id, "result": .object(["method": "verto.ping"])])))
            return
        }
        state.withLockedValue { s in
            guard let user = s.connections.first(where: { $0.value === c })?.key else { return }
            s.pending[user, default: []].append(m)
        }
    }

    func isConnected(_ user: String) -> Bool { state.withLockedValue { $0.connections[user] != nil } }

    /// Closes `user`'s connection as a network failure would.
    func drop(_ user: String) {
        let c = state.withLockedValue { $0.connections.removeValue(forKey: user) }
        c?.channel.close(promise: nil)
    }

    func send(_ user: String, _ text: String, _ at: String) async throws {
        var c: WebSocketConnection?
        try await poll("\(at): \(user) is connected") {
            c = state.withLockedValue { $0.connections[user] }
            return c != nil
        }
        c?.send(text: text)
    }

    /// The first message from `user` that `matches`, removed; waits for it.
    func take(_ user: String, _ at: String, where matches: @escaping @Sendable (JSONObject) -> Bool) async throws -> JSONObject {
        var found: JSONObject?
        try await poll("\(at): the client sends it") {
            found = state.withLockedValue { s in
                guard let i = s.pending[user]?.firstIndex(where: matches) else { return nil }
                return s.pending[user]?.remove(at: i)
            }
            return found != nil
        }
        return found ?? [:]
    }
}
