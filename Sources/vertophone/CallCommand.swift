import ArgumentParser
import Foundation
import MediaCore
import NIOConcurrencyHelpers
import NIOCore
import VertoPhone
import VertoNIO
import WebitelCTI

/// Connection options of the client-role commands.
struct ClientOptions: ParsableArguments {
    @Option(help: "Verto WebSocket URL (ws:// or wss://, any path).")
    var url = "ws://127.0.0.1:5066/"

    @Option(help: "Login, user or user@domain (with `answer --users`: only its domain is used).")
    var login: String?

    /// `--login`, which every command but `answer --users` needs.
    var requiredLogin: String {
        get throws {
            guard let login, !login.isEmpty else { throw ValidationError("give --login") }
            return login
        }
    }

    @Option(help: "Password (or set VERTOPHONE_PASSWORD).")
    var password: String?

    @Flag(help: "Test only: accept any TLS certificate (self-signed lab servers).")
    var insecure = false

    @Option(help: "PEM CA certificate file to trust for wss.")
    var caFile: String?

    @Option(help: "Address media sockets bind to (0.0.0.0 = all interfaces).")
    var mediaHost = "0.0.0.0"

    @Option(help: "STUN server ip:port for a server-reflexive candidate (bounded 500 ms wait; default: none).")
    var stun: String?

    @Option(name: .customLong("ice-server"),
            help: "STUN/TURN server URI, repeatable: stun:HOST[:PORT], turn:HOST[:PORT][?transport=udp|tcp], turns:HOST[:PORT] (TLS).")
    var iceServers: [String] = []

    @Option(help: "TURN username (or VERTOPHONE_ICE_USERNAME).")
    var iceUsername: String?

    @Option(help: "TURN password (or VERTOPHONE_ICE_CREDENTIAL).")
    var iceCredential: String?

    @Option(help: "TURN REST API shared secret (or VERTOPHONE_ICE_SECRET): ephemeral credentials for --ice-username (default user \"vertophone\"), valid 24 h.")
    var iceSecret: String?

    @Flag(help: "Use TURN relays only (ICE transport policy \"relay\").")
    var relayOnly = false

    @Option(help: "Seconds to wait for a TURN allocation before the call goes on without it (or fails, with --relay-only).")
    var turnTimeout: Double = 3

    func makeClient(trace: Bool = false, login other: String? = nil) throws -> VertoClient {
        let login = try other ?? requiredLogin
        guard let pw = password ?? ProcessInfo.processInfo.environment["VERTOPHONE_PASSWORD"] else {
            throw ValidationError("give --password or VERTOPHONE_PASSWORD")
        }
        var o = VertoClientOptions(url: url, login: login, password: pw)
        o.mediaHost = mediaHost
        o.traceJSONRPC = trace
        if let stun {
            let parts = stun.split(separator: ":")
            guard parts.count == 2, let port = Int(parts[1]), let addr = try? SocketAddress(ipAddress: String(parts[0]), port: port) else {
                throw ValidationError("--stun takes ip:port")
            }
            o.media.stunServer = addr
        }
        let env = ProcessInfo.processInfo.environment
        if !iceServers.isEmpty {
            let user = iceUsername ?? env["VERTOPHONE_ICE_USERNAME"]
            if let secret = iceSecret ?? env["VERTOPHONE_ICE_SECRET"] {
                o.iceServers = [.ephemeral(urls: iceServers, secret: secret, user: user ?? "vertophone",
                                           unixTime: Int64(Date().timeIntervalSince1970))]
            } else {
                o.iceServers = [ICEServer(urls: iceServers, username: user, credential: iceCredential ?? env["VERTOPHONE_ICE_CREDENTIAL"])]
            }
        }
        if relayOnly { o.iceTransportPolicy = .relay }
        guard turnTimeout > 0, turnTimeout <= 60 else { throw ValidationError("--turn-timeout takes 0 < seconds ≤ 60") }
        o.media.turn.allocationTimeout = .milliseconds(Int64(turnTimeout * 1000))
        o.callerIDNumber = String(login.split(separator: "@").first ?? "")
        if insecure { o.trust = .insecureAcceptAnyCertificate }
        if let caFile { o.trust = .customCA(pem: try String(contentsOfFile: caFile, encoding: .utf8)) }
        return VertoClient(options: o)
    }
}

/// Places one call: plays a tone or WAV, records, sends DTMF, holds, hangs up; prints the timeline.
struct CallCommand: ReportingCommand {
    static let configuration = CommandConfiguration(commandName: "call", abstract: "Call a destination and print the event timeline.")

    @Argument(help: "Destination number or extension.")
    var destination: String

    @OptionGroup var client: ClientOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var sound: AudioOptions

    @Option(help: "Send a tone of this frequency (Hz).")
    var tone: Double?

    @Option(help: "Send this WAV file (16-bit PCM).")
    var wav: String?

    @Option(help: "Record the far end to this WAV file.")
    var record: String?

    @Option(help: "Send these DTMF digits once answered.")
    var dtmf: String?

    @Option(help: "Hold after this many seconds (and unhold 2 s later).")
    var holdAfter: Double?

    @Option(help: "Hang up after this many seconds of conversation.")
    var hangupAfter: Double = 10

    @Flag(help: "Run the call through the Webitel CTI provider layer and print its events (onNewCall, onAcceptCall, …).")
    var events = false

    func execute() async throws {
        if events { return try await runThroughProvider() }
        let tl = Timeline(json: output.json)
        let phone = try client.makeClient(trace: output.traceJSONRPC)
        try await phone.connect()
        tl.log("logged in", ["url": .text(client.url)])
        let engineEvents = Task {
            for await e in phone.events {
                if case .iceRestart(let id, let reason) = e { tl.log("ice restart", ["callID": .text(id), "reason": .text(reason)]) }
            }
        }
        defer { engineEvents.cancel() }
        let source: MediaSource = tone.map { .tone(frequencies: [$0], amplitude: 0.3) } ?? .silence
        let t0 = NIODeadline.now()
        let call = try await phone.call(destination, source: source)
        if record != nil { call.media.startRecording() }
        tl.log("call created", ["callID": .text(call.callID)])
        var devices: CallAudio?
        defer { devices?.stop() }
        let states = Task {
            for await s in call.states { tl.log("state", ["state": "\(s)"]) }
        }
        let answered = try await call.wait(timeout: .seconds(60)) { $0 == .active }
        if answered == .active {
            // Once answered: the codec (and its rate) is settled.
            if let wav { try call.media.playWAV(at: wav, loop: true) }
            devices = try sound.attach(to: call.media, timeline: tl)
        }
        guard answered == .active else {
            var fields: [String: TimelineValue] = ["state": "\(answered)"]
            if case .ended(let cause) = answered, let hint = cause.setupHint { fields["hint"] = .text(hint) }
            tl.log("call failed", fields)
            throw ExitCode(2)
        }
        // The setup line once media is up (the first frame decoded, within 10 s), with the milestones
        // measured from the invite.
        var stats = try await call.media.stats()
        let mediaBound = Date().addingTimeInterval(10)
        while stats?.milestones.firstFrameDecoded == nil, !call.state.isEnded, Date() < mediaBound {
            try await Task.sleep(for: .milliseconds(10))
            stats = try await call.media.stats()
        }
        if let stats {
            func ms(_ d: NIODeadline?) -> TimelineValue { .ms(d.map { Double(($0 - t0).nanoseconds) / 1e6 }) }
            tl.log(stats.milestones.firstFrameDecoded == nil ? "setup (no audio within 10 s)" : "setup",
                   ["iceMs": ms(stats.milestones.iceConnected), "dtlsMs": ms(stats.milestones.dtlsConnected),
                    "firstFrameMs": ms(stats.milestones.firstFrameDecoded), "codec": .text(stats.codec),
                    "candidatePair": stats.candidatePair.map { .text($0) } ?? .absent,
                    "relayAllocationMs": stats.relayAllocationMs.first.map { .ms($0) } ?? .absent])
        }
        if let dtmf {
            try await call.sendDTMF(dtmf)
            tl.log("dtmf sent", ["digits": .text(dtmf)])
        }
        // Call quality every 2 s (E-model MOS, jitter and RTT in ms, loss, bitrates, level).
        let live = Task {
            for await q in call.media.quality(every: .seconds(2)) {
                tl.log("quality", ["mos": .number((q.mos * 100).rounded() / 100), "lossPercent": .decimal(q.lossPercent),
                                   "jitterMs": .ms(q.jitterMs), "rttMs": .ms(q.roundTripMs), "sent": .count(q.packetsSent),
                                   "received": .count(q.packetsReceived), "concealed": .count(q.framesConcealed),
                                   "sendKbps": .decimal(q.sendKbps), "receiveKbps": .decimal(q.receiveKbps),
                                   "levelDBFS": .decimal(q.audioLevelDBFS)])
            }
        }
        defer { live.cancel() }
        let start = Date()
        if let holdAfter, holdAfter < hangupAfter {
            try await Task.sleep(for: .milliseconds(Int(holdAfter * 1000)))
            try await call.hold()
            try await Task.sleep(for: .seconds(2))
            try await call.unhold()
        }
        let remaining = hangupAfter - Date().timeIntervalSince(start)
        if remaining > 0 {
            _ = try? await call.wait(timeout: .milliseconds(Int64(remaining * 1000))) { $0.isEnded }
        }
        // The figures before the hangup closes the media session.
        let final = try? await call.media.stats()
        if !call.state.isEnded { try await call.hangup() }
        if let record { try await call.media.stopRecording(toWAV: record); tl.log("recorded", ["file": .text(record)]) }
        if let s = final ?? nil {
            tl.log("stats", ["sent": .count(s.peer.packetsSent), "received": .count(s.peer.packetsReceived), "lost": .count(s.peer.packetsLost)])
        }
        if let d = devices {
            d.stop()
            let c = d.counters
            tl.log("audio stats", ["captured": .count(c.captured), "played": .count(c.played), "underruns": .count(c.underruns),
                                   "dropped": .count(c.dropped), "failure": d.failure.map { .text($0) } ?? .absent])
        }
        states.cancel()
        tl.log("ended", ["state": "\(call.state)"])
        try await phone.disconnect()
        if case .ended(let cause) = call.state, cause != .normalClearing { throw ExitCode(3) }
    }
}

extension CallCommand {
    /// `--events`: the same call placed by `WebitelCtiProvider`, printing the provider events as they happen.
    func runThroughProvider() async throws {
        let tl = Timeline(json: output.json)
        guard let pw = client.password ?? ProcessInfo.processInfo.environment["VERTOPHONE_PASSWORD"] else {
            throw ValidationError("give --password or VERTOPHONE_PASSWORD")
        }
        let parts = try client.requiredLogin.split(separator: "@", maxSplits: 1).map(String.init)
        var settings = WebitelConnectionSettings(webitelWebrtcConnectionString: client.url, domain: parts.count > 1 ? parts[1] : "",
                                                 login: parts[0], password: pw)
        settings.mediaHost = client.mediaHost
        let insecure = client.insecure
        settings.configureEngine = { o in if insecure { o.trust = .insecureAcceptAnyCertificate } }
        let provider = WebitelCtiProvider(configuration: settings)
        let printer = Task {
            for await e in provider.events {
                var fields: [String: TimelineValue] = ["uuid": .text(e.call.uuid), "state": .text(e.call.state.rawValue)]
                if case .dtmfCall(_, let d) = e { fields["digits"] = .text(d) }
                if case .uuidCall(_, let n) = e { fields["newId"] = .text(n) }
                if case .hangupCall(let c) = e { fields["cause"] = c.hangupCause.map { .text($0) } ?? .absent }
                tl.log(e.kind.rawValue, fields)
            }
        }
        try await provider.connect()
        tl.log("logged in", ["url": .text(settings.vertoURL)])
        let call = try await provider.makeCall(destination)
        if let tone, let engineCall = await provider.engineCall(for: call) {
            engineCall.media.setSource(.tone(frequencies: [tone], amplitude: 0.3))
        }
        if let engineCall = await provider.engineCall(for: call) {
            _ = try? await engineCall.wait(timeout: .seconds(60)) { $0 == .active }
        }
        // The far end may end the call at any point: each step is taken only while it is up.
        if let dtmf, await provider.engineCall(for: call) != nil { try await provider.sendDtmf(call, digits: dtmf) }
        if let holdAfter, holdAfter < hangupAfter {
            try await Task.sleep(for: .milliseconds(Int(holdAfter * 1000)))
            if await provider.engineCall(for: call) != nil { try await provider.holdCall(call) }
            try await Task.sleep(for: .seconds(1))
            if await provider.engineCall(for: call) != nil { try await provider.unholdCall(call) }
        }
        if let engineCall = await provider.engineCall(for: call) {
            _ = try? await engineCall.wait(timeout: .milliseconds(Int64(hangupAfter * 1000))) { $0.isEnded }
            if !engineCall.state.isEnded { try await provider.dropCall(call) }
        }
        try await provider.closeConnection()
        await printer.value
    }
}

/// Logs in and answers inbound calls with echo or a WAV.
struct Answer: ReportingCommand {
    static let configuration = CommandConfiguration(
        abstract: "Log in and answer inbound calls (echo, tone or WAV); with --users, the answering side of a load run.",
        discussion: """
            Calls are answered as they come, several at once; beyond --concurrency they are refused with \
            USER_BUSY. With --users every user of the range logs in on its own connection (the answering \
            side of `vertophone load --destination LOW-HIGH`), per-call lines are left out and a summary \
            (`answer_finished`: answered, refused, failed, logins) is printed at the end.
            """)

    @OptionGroup var client: ClientOptions
    @OptionGroup var output: OutputOptions

    @Option(help: "Play this WAV instead of echoing.")
    var wav: String?

    @Option(help: "Play a tone (Hz) instead of echoing.")
    var tone: Double?

    @Option(help: "Exit after this many calls (0 = forever).")
    var count = 0

    @Option(help: "Answer as each of these users, LOW-HIGH (e.g. 2000-2099), one connection each; the domain is --login's.")
    var users: IDRange?

    @Option(help: "Calls in flight at most; more are refused with USER_BUSY (0 = no limit).")
    var concurrency = 0

    @Option(help: "Exit after this many seconds (0 = no limit).")
    var duration: Double = 0

    @Option(help: "Print a progress event every this many seconds (0 = never).")
    var reportInterval: Double = 0

    @OptionGroup var sound: AudioOptions

    private struct Counts: Sendable {
        var answered = 0, refused = 0, failed = 0, inFlight = 0, handled = 0
    }

    func execute() async throws {
        let tl = Timeline(json: output.json)
        let logins: [String]
        if let users {
            let domain = client.login.flatMap { $0.split(separator: "@", maxSplits: 1).dropFirst().first.map(String.init) } ?? "127.0.0.1"
            logins = users.values.map { "\($0)@\(domain)" }
        } else {
            logins = [try client.requiredLogin]
        }
        let results = try LoadResults(csvPath: nil)
        let client = self.client, trace = output.traceJSONRPC
        let phones = await Load.connectAll(logins, results: results) { login in try client.makeClient(trace: trace, login: login) }
        guard !phones.isEmpty else {
            throw NoLoginSucceeded(causes: results.snapshot.causes.keys.sorted())
        }
        let verbose = users == nil
        tl.log(verbose ? "logged in, waiting for calls" : "logged in", ["url": .text(client.url), "logins": .count(phones.count),
                                                                          "loginFailures": .count(logins.count - phones.count)])
        let counts = NIOLockedValueBox(Counts())
        let limit = concurrency, total = count, tone = self.tone, wav = self.wav, sound = self.sound
        func summary() -> [String: TimelineValue] {
            let c = counts.withLockedValue { $0 }
            return ["answered": .count(c.answered), "refused": .count(c.refused), "failed": .count(c.failed), "inFlight": .count(c.inFlight),
                    "rssKB": .count(ProcessProbe.rssKB(pid: nil)), "fds": .count(ProcessProbe.openFDs(pid: nil))]
        }
        // Every login's calls in one stream; finishing it (duration or count reached) ends the run.
        let (incoming, feed) = AsyncStream.makeStream(of: Call.self)
        let active = NIOLockedValueBox([String: Call]())
        await withDiscardingTaskGroup { group in
            if duration > 0 {
                group.addTask {
                    try? await Task.sleep(for: .milliseconds(Int64(duration * 1000)))
                    feed.finish()
                }
            }
            if reportInterval > 0 {
                group.addTask {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: .milliseconds(Int64(reportInterval * 1000)))
                        if !Task.isCancelled { tl.log("progress", summary()) }
                    }
                }
            }
            for (_, phone) in phones {
                group.addTask { for await call in phone.incomingCalls { feed.yield(call) } }
            }
            for await call in incoming {
                let admitted = counts.withLockedValue { c -> Bool in
                    guard limit == 0 || c.inFlight < limit else { c.refused += 1; return false }
                    c.inFlight += 1
                    return true
                }
                guard admitted else {
                    group.addTask { try? await call.reject(cause: .userBusy) }
                    continue
                }
                active.withLockedValue { $0[call.callID] = call }
                group.addTask {
                    let done = await Self.handle(call, tone: tone, wav: wav, sound: verbose ? sound : nil, timeline: verbose ? tl : nil)
                    active.withLockedValue { $0[call.callID] = nil }
                    let stop = counts.withLockedValue { c -> Bool in
                        c.inFlight -= 1
                        c.handled += 1
                        if done { c.answered += 1 } else { c.failed += 1 }
                        return total > 0 && c.handled >= total
                    }
                    if stop { feed.finish() }
                }
            }
            // Stopped: the feeders and the reporter end on cancellation, calls still up are hung up.
            group.cancelAll()
            for call in active.withLockedValue({ Array($0.values) }) { try? await call.hangup() }
        }
        tl.log("answer finished", summary())
        for (_, phone) in phones { try? await phone.disconnect() }
    }

    /// Answers one call and waits for its end; false when it could not be answered.
    private static func handle(_ call: Call, tone: Double?, wav: String?, sound: AudioOptions?, timeline tl: Timeline?) async -> Bool {
        tl?.log("incoming", ["callID": .text(call.callID), "from": .text(call.remoteNumber)])
        do {
            if let tone { call.media.setSource(.tone(frequencies: [tone], amplitude: 0.3)) } else if wav == nil { call.media.setSource(.echo) }
            try await call.answer()
            if let wav { try call.media.playWAV(at: wav, loop: true) }
            tl?.log("answered", ["callID": .text(call.callID)])
            let devices = try tl.flatMap { try sound?.attach(to: call.media, timeline: $0) }
            let end = try? await call.wait(timeout: .seconds(3600)) { $0.isEnded }
            devices?.stop()
            tl?.log("ended", ["callID": .text(call.callID), "state": "\(end.map { "\($0)" } ?? "timeout")"])
            return true
        } catch {
            tl?.log("answer failed", ["callID": .text(call.callID), "error": .text("\(error)")])
            if !call.state.isEnded { try? await call.hangup() }
            return false
        }
    }
}
