import ArgumentParser
import Foundation
import MediaCore
import NIOCore
import VertoPhone

/// The README's main job: our server role and our client role in one process on 127.0.0.1, one
/// scripted call through real WebSocket + UDP, DTLS-SRTP and Opus.
struct Demo: ReportingCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a scripted call: server role in-process on 127.0.0.1, client calls the echo extension.")

    @OptionGroup var output: OutputOptions

    @Option(help: "Tone the client sends (Hz).")
    var tone: Double = 440

    func execute() async throws {
        let tl = Timeline(json: output.json)
        var failures: [String] = []
        func check(_ ok: Bool, _ what: String) {
            tl.log(ok ? "PASS" : "FAIL", ["check": .text(what)])
            if !ok { failures.append(what) }
        }

        var config = VertoEndpointConfiguration(users: .demo())
        config.port = 0
        let endpoint = try await VertoEndpoint.start(configuration: config)
        tl.log("server listening", ["url": "ws://127.0.0.1:\(endpoint.port)/", "users": "1000-1002 (demo)"])
        let calleeMedia = Task { () -> MediaSession? in
            for await e in endpoint.events { if case .newWebRTCCall(_, let m) = e { return m } }
            return nil
        }

        var options = VertoClientOptions(url: "ws://127.0.0.1:\(endpoint.port)/", login: "1001@127.0.0.1", password: "verto-test")
        options.mediaHost = "127.0.0.1"
        options.callerIDNumber = "1001"
        let client = VertoClient(options: options)
        try await client.connect()
        tl.log("logged in", ["user": "1001", "sessid": .text(try await client.sessid)])

        let t0 = NIODeadline.now()
        let call = try await client.call("9196", source: .tone(frequencies: [tone], amplitude: 0.3))
        tl.log("verto.invite accepted (CALL CREATED)", ["callID": .text(call.callID), "destination": "9196 (echo)"])
        try await call.wait { $0 == .active }
        tl.log("answered")
        let (heard, after) = try await Demo.listenFor(tone, on: call.media)
        check(heard == tone, "echo of our \(Int(tone)) Hz tone detected by frequency (heard \(heard.map { "\(Int($0)) Hz" } ?? "nothing")"
              + " after \(Demo.format(after)) of audio)")

        if let stats = try await call.media.stats(), let server = await calleeMedia.value, let s = try await server.stats() {
            func ms(_ d: NIODeadline?) -> TimelineValue { .ms(d.map { Double(($0 - t0).nanoseconds) / 1e6 }) }
            tl.log("setup (caller)", ["answerAppliedMs": ms(stats.milestones.remoteDescriptionApplied), "iceMs": ms(stats.milestones.iceConnected),
                                      "dtlsMs": ms(stats.milestones.dtlsConnected), "firstRTPSentMs": ms(stats.milestones.firstRTPSent),
                                      "firstFrameDecodedMs": ms(stats.milestones.firstFrameDecoded)])
            tl.log("setup (callee)", ["offerAppliedMs": ms(s.milestones.remoteDescriptionApplied), "iceMs": ms(s.milestones.iceConnected),
                                      "dtlsMs": ms(s.milestones.dtlsConnected),
                                      "firstFrameDecodedMs": ms(s.milestones.firstFrameDecoded)])
            tl.log("media", ["codec": .text(stats.codec), "packets sent": .count(stats.peer.packetsSent),
                             "packets received": .count(stats.peer.packetsReceived)])
        }

        try await call.hold()
        check(call.state == .held, "hold confirmed by the server (holdState held)")
        try await call.unhold()
        check(call.state == .active, "unhold confirmed (holdState active)")
        let (heard2, after2) = try await Demo.listenFor(tone, on: call.media)
        check(heard2 == tone, "echo again after unhold (after \(Demo.format(after2)) of audio)")

        let seen = Task { () -> String in
            for await e in endpoint.events { if case .dtmf(_, let d) = e { return d } }
            return ""
        }
        try await call.sendDTMF("1234#")
        _ = await seen.value
        let digits = try await endpoint.collectedDigits(callID: call.callID) ?? ""
        check(digits == "1234#", "DTMF 1234# received by the server via verto.info (got \(digits))")

        try await call.hangup()
        tl.log("hung up", ["state": "\(call.state)"])
        try await client.disconnect()
        try await endpoint.stop()
        if failures.isEmpty {
            tl.log("demo passed")
        } else {
            tl.log("demo failed", ["failures": .text(failures.joined(separator: "; "))])
            throw ExitCode(1)
        }
    }
}

extension Demo {
    /// Listens in 0.5 s windows (counted in received samples) until `frequency` dominates one, for at
    /// most 5 s of audio; returns the last dominant frequency and how much audio it took.
    static func listenFor(_ frequency: Double, on media: MediaSession) async throws -> (Double?, Double) {
        var heard: Double?
        var seconds = 0.0
        let detector = GoertzelDetector(sampleRate: 48_000)
        while seconds < 5 {
            let window = try await media.listen(seconds: 0.5)
            seconds += 0.5
            heard = detector.dominantFrequency(among: [frequency, 660, 1000], in: window)
            if heard == frequency { break }
        }
        return (heard, seconds)
    }

    static func format(_ seconds: Double) -> String { String(format: "%.1f s", seconds) }
}
