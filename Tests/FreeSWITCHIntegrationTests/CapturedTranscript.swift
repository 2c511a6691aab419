import Foundation
import TestSupport
import VertoCore
import WebitelCTI

/// A provider scenario as it ran against a real server: every Verto frame each user's client sent
/// and received, the PBX's channel events, and the provider events each user saw — the format of
/// `Fixtures/freeswitch-transcripts` (PROVENANCE.md there), written by `scripts/capture-freeswitch`
/// and replayed in every build by `CapturedTranscriptReplayTests`.
///
/// One JSON object per line: `{"dir":"meta",…}` first, then `c2s`/`s2c` (`user`, `t` ms since the
/// scenario began, `msg`), `esl` (`user`, `t`, `event`: the channel event's headers that call
/// control reads) and, after all traffic, `event` (`user`, `kind`, `call`, optional `digits`/`newId`).
struct CapturedTranscript: Sendable {
    struct Line: Sendable {
        var dir: String
        var user: String
        var t: Int
        /// c2s/s2c: the message; esl: the event's headers; event: the provider event.
        var body: JSONObject
    }

    var meta: JSONObject
    var lines: [Line]

    var traffic: [Line] { lines.filter { $0.dir != "event" } }
    func events(of user: String) -> [JSONObject] { lines.filter { $0.dir == "event" && $0.user == user }.map(\.body) }
    var users: [String] { meta.array("users")?.compactMap(\.stringValue) ?? [] }

    // MARK: - writing

    /// The channel-event headers kept (call control reads no others; the rest of a FreeSWITCH
    /// event — channel variables, addresses, user agents — is left out).
    static let eslHeaders = ["Event-Name", "Unique-ID", "Other-Leg-Unique-ID", "variable_bridge_uuid", "variable_signal_bond",
                             "Bridge-A-Unique-ID", "Bridge-B-Unique-ID", "DTMF-Digit", "DTMF-Source", "Old-Unique-ID",
                             "Hangup-Cause", "Caller-Caller-ID-Number", "Caller-Caller-ID-Name", "Caller-Callee-ID-Number",
                             "Caller-Destination-Number", "Call-Direction", "Answer-State", "Channel-Call-State"]

    /// A placeholder for ICE passwords: as long as a real one (RFC 8839 §5.4 asks for 22–256 characters).
    static let redactedICEPassword = "REDACTEDREDACTEDREDACTED"

    init(scenario: String, server: String, traffic: TrafficRecorder, logs: [(user: String, events: [CtiEvent])]) {
        var users: [String] = []
        for e in traffic.entries where !users.contains(e.user) { users.append(e.user) }
        for l in logs where !users.contains(l.user) { users.append(l.user) }
        let day = ISO8601DateFormatter().string(from: Date()).prefix(10)
        meta = ["dir": "meta", "scenario": .string(scenario), "server": .string(server), "captured": .string(String(day)),
                "users": .array(users.map { .string($0) })]
        lines = traffic.entries.compactMap { e -> Line? in
            guard case .object(let o)? = try? JSONCodec.parse(e.text) else { return nil }
            switch e.kind {
            case .c2s, .s2c: return Line(dir: e.kind.rawValue, user: e.user, t: e.ms, body: Self.redacted(o))
            case .esl:
                let kept = Self.eslHeaders.compactMap { k in o[k].map { (k, $0) } }
                return Line(dir: "esl", user: e.user, t: e.ms, body: JSONObject(kept))
            }
        }
        for l in logs {
            for e in l.events { lines.append(Line(dir: "event", user: l.user, t: 0, body: Self.json(e))) }
        }
    }

    /// A message with its secrets replaced: the login password, SDP ICE passwords and SDES keys.
    static func redacted(_ o: JSONObject) -> JSONObject {
        func walk(_ v: JSONValue, key: String?) -> JSONValue {
            switch v {
            case .object(let o): return .object(JSONObject(o.map { ($0.key, walk($0.value, key: $0.key)) }))
            case .array(let a): return .array(a.map { walk($0, key: nil) })
            case .string(let s) where key == "passwd": return .string(s.isEmpty ? s : "<redacted>")
            case .string(let s) where s.contains("a=ice-pwd:") || s.contains("inline:"):
                return .string(s.replacing(/a=ice-pwd:[^\r\n]+/, with: "a=ice-pwd:" + redactedICEPassword)
                    .replacing(/inline:[^\s|]+/, with: "inline:REDACTED"))
            default: return v
            }
        }
        return walk(.object(o), key: nil).objectValue ?? o
    }

    static func json(_ e: CtiEvent) -> JSONObject {
        var o: JSONObject = ["kind": .string(e.kind.rawValue), "call": .object(json(e.call))]
        if let d = e.digits { o["digits"] = .string(d) }
        if let n = e.newId { o["newId"] = .string(n) }
        return o
    }

    static func json(_ c: CtiCall) -> JSONObject {
        var o: JSONObject = ["uuid": .string(c.uuid), "direction": .string(c.direction.rawValue), "state": .string(c.state.rawValue),
                             "callerNumber": .string(c.callerNumber), "callerName": .string(c.callerName),
                             "calleeNumber": .string(c.calleeNumber), "calleeName": .string(c.calleeName)]
        if let u = c.otherLegUuid { o["otherLegUuid"] = .string(u) }
        if let h = c.hangupCause { o["hangupCause"] = .string(h) }
        return o
    }

    var text: String {
        var out = JSONCodec.serialize(.object(meta)) + "\n"
        for l in lines {
            var o: JSONObject = ["dir": .string(l.dir), "user": .string(l.user)]
            switch l.dir {
            case "c2s", "s2c":
                o["t"] = .int(l.t)
                o["msg"] = .object(l.body)
            case "esl":
                o["t"] = .int(l.t)
                o["event"] = .object(l.body)
            default:
                for m in l.body { o[m.key] = m.value }
            }
            out += JSONCodec.serialize(.object(o)) + "\n"
        }
        return out
    }

    // MARK: - reading

    init(text: String) throws {
        var meta = JSONObject()
        var lines: [Line] = []
        for (i, raw) in text.split(separator: "\n").enumerated() where !raw.isEmpty {
            guard case .object(let o) = try JSONCodec.parse(String(raw)) else { throw VertoError.invalidMessage("line \(i + 1)") }
            let dir = o.string("dir") ?? ""
            let user = o.string("user") ?? ""
            let t = o.int("t") ?? 0
            switch dir {
            case "meta": meta = o
            case "c2s", "s2c": lines.append(Line(dir: dir, user: user, t: t, body: o.object("msg") ?? [:]))
            case "esl": lines.append(Line(dir: dir, user: user, t: t, body: o.object("event") ?? [:]))
            case "event":
                var body = o
                body["dir"] = nil
                body["user"] = nil
                lines.append(Line(dir: dir, user: user, t: 0, body: body))
            default: throw VertoError.invalidMessage("line \(i + 1): dir \(dir)")
            }
        }
        self.meta = meta
        self.lines = lines
    }

    static func load(_ name: String) throws -> CapturedTranscript {
        try CapturedTranscript(text: try Fixtures.text("freeswitch-transcripts/\(name).jsonl"))
    }

    static var all: [String] {
        Fixtures.files(in: "freeswitch-transcripts", withExtension: "jsonl").map { $0.deletingPathExtension().lastPathComponent }
    }
}
