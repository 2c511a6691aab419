import Foundation
import MediaCore
import Testing
import NIOPosix
import VertoCore
import VertoNIO
import TestSupport
@testable import VertoPhone

@Suite(.serialized, .realTime) struct CLIAndWAVTests {
    /// The built `vertophone` next to the test bundle.
    static var binary: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("vertophone")
    }

    /// Runs the binary on a thread of its own (a blocking wait on the cooperative pool would starve
    /// the other tests running in parallel).
    func runAsync(_ args: [String]) async throws -> (Int32, String) {
        try await withCheckedThrowingContinuation { c in
            Thread.detachNewThread { c.resume(with: Result { try self.run(args) }) }
        }
    }

    func run(_ args: [String]) throws -> (Int32, String) {
        let p = Process()
        p.executableURL = Self.binary
        p.arguments = args
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try ChildProcesses.start(p)
        let data = out.fileHandleForReading.readDataToEndOfFile()
        ChildProcesses.stopBlocking(p, exitWithin: .seconds(60))
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test func demoCommandPassesAndPrintsJSONTimeline() async throws {
        #expect(FileManager.default.isExecutableFile(atPath: Self.binary.path), "build the vertophone product first")
        let (status, out) = try await runAsync(["demo", "--json"])
        #expect(status == 0, "\(out)")
        let events = out.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(events.filter { $0["event"] as? String == "PASS" }.count == 5)
        #expect(events.contains { $0["event"] as? String == "demo passed" })
        #expect(events.contains { $0["event"] as? String == "setup (callee)" })
    }

    @Test func callWithEventsPrintsTheProviderEvents() async throws {
        let endpoint = try await startEndpoint()
        let url = "ws://127.0.0.1:\(endpoint.port)/"
        let (status, out) = try await runAsync(["call", "9196", "--url", url, "--login", "1001@127.0.0.1", "--password", "verto-test",
                                                "--media-host", "127.0.0.1", "--events", "--json", "--dtmf", "12", "--hangup-after", "1"])
        #expect(status == 0, "\(out)")
        let kinds = out.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            .compactMap { $0["event"] as? String }.filter { $0.hasPrefix("on") }
        #expect(kinds == ["onNewCall", "onNewWebRTCCall", "onAcceptCall", "onDtmfCall", "onDtmfCall", "onHangupCall"], "\(kinds)")
        try await endpoint.stop()
    }

    /// The `vertophone serve` binary itself (the built-in applications of the test contract) with
    /// our client: login, 9196 echo and 9664 tone heard by frequency, 9197 digits, wrong password.
    @Test func serveBinaryAnswersTheContractExtensions() async throws {
        let (p, url) = try await startServe()
        defer { ChildProcesses.stopBlocking(p) }

        var o = VertoClientOptions(url: url, login: "1001@127.0.0.1", password: "verto-test")
        o.mediaHost = "127.0.0.1"
        let client = VertoClient(options: o)
        try await client.connect()
        let echo = try await client.call("9196", source: .tone(frequencies: [440], amplitude: 0.3))
        try await echo.wait { $0 == .active }
        #expect(try await hears(echo.media, 440))
        try await echo.hangup()
        let tone = try await client.call("9664")
        try await tone.wait { $0 == .active }
        #expect(try await hears(tone.media, 1000))
        try await tone.hangup()
        try await client.disconnect()

        var bad = o
        bad.password = "nope"
        bad.autoReconnect = false
        await #expect(throws: VertoPhoneError.self) { try await VertoClient(options: bad).connect(timeout: .seconds(15)) }
    }

    /// User 1001 (demo password) logged in to `url`, media on loopback.
    static func connectedClient(_ url: String, _ configure: (inout VertoClientOptions) -> Void = { _ in }) async throws -> VertoClient {
        var o = VertoClientOptions(url: url, login: "1001@127.0.0.1", password: "verto-test")
        o.mediaHost = "127.0.0.1"
        configure(&o)
        let client = VertoClient(options: o)
        try await client.connect()
        return client
    }

    /// Starts `vertophone serve` on a free port and returns it with its ws:// URL (from its banner).
    func startServe(_ extra: [String] = []) async throws -> (Process, String) {
        let p = Process()
        p.executableURL = Self.binary
        p.arguments = ["serve", "--port", "0", "--json", "--duration", "120"] + extra
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try ChildProcesses.start(p)
        let first: String = await withCheckedContinuation { c in
            Thread.detachNewThread {
                var line = Data()
                while true {
                    let b = out.fileHandleForReading.readData(ofLength: 1)
                    if b.isEmpty || b == Data([0x0A]) { break }
                    line += b
                }
                c.resume(returning: String(decoding: line, as: UTF8.self))
                // Keep draining, so a full pipe never blocks the server.
                _ = out.fileHandleForReading.readDataToEndOfFile()
            }
        }
        let banner = try #require(try JSONSerialization.jsonObject(with: Data(first.utf8)) as? [String: Any], "\(first)")
        let url = try #require(banner["url"] as? String)
        #expect(url.hasPrefix("ws://127.0.0.1:"))
        return (p, url)
    }

    /// Hostile clients against the `serve` binary while a call runs: a 900 KB object of 100k keys
    /// before login is refused unparsed and its socket closed; a password guesser is throttled (the
    /// right password is refused right after four wrong ones); another user presenting our sessid is
    /// refused; and through all of it our call's echo keeps coming back.
    @Test func hostileClientsDoNotDisturbARunningCall() async throws {
        let (p, url) = try await startServe()
        defer { ChildProcesses.stopBlocking(p) }
        let client = try await Self.connectedClient(url) { $0.sessid = "abuse-test-owner-sessid" }
        let call = try await client.call("9196", source: .tone(frequencies: [440], amplitude: 0.3))
        try await call.wait { $0 == .active }
        #expect(try await hears(call.media, 440))

        // 1. 100k distinct keys before login.
        let flood = try await RawVertoSocket.connect(url)
        let keys = (0..<100_000).map { "\"k\($0)\":1" }.joined(separator: ",")
        flood.send(text: #"{"jsonrpc":"2.0","id":1,"method":"login","params":{"# + keys + "}}")
        #expect(try await flood.closed(within: .seconds(15)), "the flood's socket is closed")

        // 2. Password guessing on one socket, then the right password (the server's defaults: three
        //    free failures, then 1 s of back-off doubling per failure).
        //    All five go out at once: the server decides them one after the other, in order, so the
        //    right password arrives well inside the back-off however slow the machine is.
        let guesser = try await RawVertoSocket.connect(url)
        for i in 0..<5 {
            let password = i == 4 ? "verto-test" : "guess\(i)"
            guesser.send(text: #"{"jsonrpc":"2.0","id":\#(i + 1),"method":"login","params":{"login":"1000@127.0.0.1","passwd":"\#(password)"}}"#)
        }
        var codes: [Int?] = []
        for i in 0..<5 { codes.append(try await guesser.reply(to: i + 1).object("error")?.int("code")) }
        #expect(codes.allSatisfy { $0 == -32001 }, "every guess refused, the right password too while throttled: \(codes)")

        // 3. Another user presenting our sessid.
        let thief = try await RawVertoSocket.connect(url)
        thief.send(text: #"{"jsonrpc":"2.0","id":1,"method":"login","params":{"login":"1002@127.0.0.1","passwd":"verto-test","sessid":"abuse-test-owner-sessid"}}"#)
        #expect(try await thief.reply(to: 1).object("error")?.int("code") == -32001)

        #expect(try await hears(call.media, 440), "the echo still comes back")
        #expect(call.state == .active)
        try await call.hangup()
        try await client.disconnect()
    }

    /// SIGTERM stops `serve` cleanly: the running call gets verto.bye (MANAGER_REQUEST) and the
    /// process exits 0.
    @Test func serveStopsCleanlyOnSIGTERM() async throws {
        let (p, url) = try await startServe()
        let client = try await Self.connectedClient(url) { $0.autoReconnect = false }
        let call = try await client.call("9196", source: .tone(frequencies: [440], amplitude: 0.3))
        try await call.wait { $0 == .active }
        p.terminate()
        let end = try await call.wait(timeout: .seconds(20)) { $0.isEnded }
        #expect(end == .ended(.managerRequest))
        await ChildProcesses.stop(p, exitWithin: .seconds(20))
        #expect(p.terminationReason == .exit && p.terminationStatus == 0, "exit \(p.terminationStatus)")
    }

    /// Options on the command line win over the config file, which wins over the defaults.
    @Test func serveCommandLineWinsOverTheConfigFile() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vp-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = dir.appendingPathComponent("server.json")
        try Data(#"{"port": 5999, "routes": {"5000": "tone 1000"}}"#.utf8).write(to: config)
        let (p, url) = try await startServe(["--config", config.path])
        defer { ChildProcesses.stopBlocking(p) }
        #expect(!url.hasSuffix(":5999/"), "--port 0 from the command line, not the file's 5999: \(url)")
        let client = try await Self.connectedClient(url)
        let call = try await client.call("5000")
        try await call.wait { $0 == .active }
        #expect(try await hears(call.media, 1000), "the file's route is still used")
        try await call.hangup()
        try await client.disconnect()
    }

    @Test func serveRefusesACertificateWithoutItsKey() async throws {
        let (status, _) = try await runAsync(["serve", "--port", "0", "--tls-cert", "/nonexistent.pem", "--duration", "1"])
        #expect(status != 0, "wss needs both files; plain ws must not be served instead")
    }

    @Test func versionNamesTheSRTPBackend() async throws {
        let (status, out) = try await runAsync(["--version"])
        #expect(status == 0)
        #expect(out.contains("libsrtp2") && out.contains("crypto backend:"))
        #expect(out.contains("OpenSSL") && out.contains("libopus"))
    }

    @Test func playsAWAVAndRecordsTheEchoToAWAV() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vp-wav-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        // An 8 kHz WAV (the session resamples it to 48 kHz).
        var gen = ToneGenerator(frequency: 660, amplitude: 0.3, sampleRate: 8000)
        let input = dir.appendingPathComponent("in.wav"), output = dir.appendingPathComponent("out.wav")
        try Data(WAVFile(sampleRate: 8000, samples: gen.generate(count: 8000 * 3)).serialize()).write(to: input)

        let endpoint = try await startEndpoint()
        let c = client(endpoint)
        try await c.connect()
        let call = try await c.call("9196")
        try call.media.playWAV(at: input.path, loop: true)
        try await call.wait { $0 == .active }
        call.media.startRecording()
        #expect(try await hears(call.media, 660), "the WAV's 660 Hz comes back from the echo")
        _ = try await listen(call.media, seconds: 1.0)
        try await call.media.stopRecording(toWAV: output.path)
        let recorded = try WAVFile(parsing: Array(try Data(contentsOf: output)))
        #expect(recorded.sampleRate == 48_000)
        #expect(recorded.samples.count >= 48_000)
        #expect(dominatesSomeWindow(recorded.samples, 660), "the recorded WAV holds the echo")
        try await call.hangup()
        try await endpoint.stop()
    }
}
