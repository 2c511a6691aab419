import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
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
        #expect(events.filter { $0["event"] as? String == "pass" }.count == 5)
        #expect(events.contains { $0["event"] as? String == "demo_passed" })
        // Machine-readable: snake_case keys, times as numbers (milliseconds).
        let setup = try #require(events.first { $0["event"] as? String == "setup_callee" }, "\(out)")
        #expect(setup["first_frame_decoded_ms"] is Double, "\(setup)")
        #expect(setup["ice_ms"] is Double && setup["dtls_ms"] is Double, "\(setup)")
        for e in events { for key in e.keys { #expect(key.allSatisfy { $0.isLowercase || $0.isNumber || $0 == "_" }, "key \(key)") } }
    }

    @Test func callWithEventsPrintsTheProviderEvents() async throws {
        let endpoint = try await startEndpoint()
        let url = "ws://127.0.0.1:\(endpoint.port)/"
        let (status, out) = try await runAsync(["call", "9196", "--url", url, "--login", "1001@127.0.0.1", "--password", "verto-test",
                                                "--media-host", "127.0.0.1", "--events", "--json", "--dtmf", "12", "--hangup-after", "1"])
        #expect(status == 0, "\(out)")
        let kinds = out.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            .compactMap { $0["event"] as? String }.filter { $0.hasPrefix("on_") }
        #expect(kinds == ["on_new_call", "on_new_web_rtc_call", "on_accept_call", "on_dtmf_call", "on_dtmf_call", "on_hangup_call"], "\(kinds)")
        try await endpoint.stop()
    }

    /// `call --events` to a destination that hangs up by itself (9199: answer, hang up after 3 s)
    /// while the CLI still waits to hang up: the call ends with the server's bye and the command
    /// exits 0, with no error about an unknown call.
    @Test func callWithEventsWhenTheServerHangsUpFirst() async throws {
        let endpoint = try await startEndpoint()
        let url = "ws://127.0.0.1:\(endpoint.port)/"
        let (status, out) = try await runAsync(["call", "9199", "--url", url, "--login", "1001@127.0.0.1", "--password", "verto-test",
                                                "--media-host", "127.0.0.1", "--events", "--json", "--hangup-after", "20"])
        #expect(status == 0, "\(out)")
        let events = out.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(!events.contains { $0["event"] as? String == "error" }, "\(out)")
        let hangup = try #require(events.first { $0["event"] as? String == "on_hangup_call" }, "\(out)")
        #expect(hangup["cause"] as? String == "NORMAL_CLEARING")
        try await endpoint.stop()
    }

    /// An error in --json mode is a JSON line too, and the exit code says what went wrong:
    /// a refused login exits 1 with {"event":"error",...}; bad usage exits 64.
    @Test func errorsInJSONModeAreJSONWithDocumentedExitCodes() async throws {
        let endpoint = try await startEndpoint()
        let url = "ws://127.0.0.1:\(endpoint.port)/"
        let (status, out) = try await runAsync(["call", "9196", "--url", url, "--login", "1001@127.0.0.1", "--password", "wrong",
                                                "--media-host", "127.0.0.1", "--json"])
        #expect(status == 1, "\(out)")
        let last = try #require(out.split(separator: "\n").last.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }, "\(out)")
        #expect(last["event"] as? String == "error")
        #expect((last["message"] as? String)?.isEmpty == false)
        let (usage, _) = try await runAsync(["serve", "--json", "--metrics", "nonsense"])
        #expect(usage == 64)
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
        let (p, url, _) = try await startServeWithBanner(extra)
        return (p, url)
    }

    /// As `startServe`, with every JSON line the server printed up to its "listening" line.
    func startServeWithBanner(_ extra: [String] = [], environment: [String: String]? = nil, portZero: Bool = true,
                              standardError: FileHandle = FileHandle.nullDevice) async throws
        -> (Process, String, [[String: Any]]) {
        let p = Process()
        p.executableURL = Self.binary
        p.arguments = ["serve"] + (portZero ? ["--port", "0"] : []) + ["--json", "--duration", "120"] + extra
        let out = Pipe()
        p.standardOutput = out
        p.standardError = standardError
        if let environment { p.environment = environment }
        try ChildProcesses.start(p)
        let lines: [String] = await withCheckedContinuation { c in
            Thread.detachNewThread {
                var lines: [String] = []
                var line = Data()
                while true {
                    let b = out.fileHandleForReading.readData(ofLength: 1)
                    if b.isEmpty { break }
                    if b != Data([0x0A]) { line += b; continue }
                    lines.append(String(decoding: line, as: UTF8.self))
                    line = Data()
                    if lines.last?.contains(#""event":"listening""#) == true { break }
                }
                c.resume(returning: lines)
                // Keep draining, so a full pipe never blocks the server.
                _ = out.fileHandleForReading.readDataToEndOfFile()
            }
        }
        let banner = lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        let listening = try #require(banner.last { $0["event"] as? String == "listening" }, "\(lines)")
        let url = try #require(listening["url"] as? String)
        #expect(url.hasPrefix("ws://127.0.0.1:"))
        return (p, url, banner)
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
        // Within 5 s of SIGTERM, or it is killed (and the status is not a clean exit).
        await ChildProcesses.stop(p, exitWithin: .seconds(5))
        #expect(p.terminationReason == .exit && p.terminationStatus == 0, "exit \(p.terminationStatus)")
    }

    /// `serve --external-ip --rtp-ports` behind a NAT (the test's port forwarder): the call's echo
    /// comes back through the NAT; a malformed range is bad usage (64).
    @Test func serveBehindANATWithExternalIPAndPortRange() async throws {
        let nat = try await PortForwarder.start(external: "127.0.0.2", inside: "127.0.0.1", inner: "127.0.0.3", ports: 20_020...20_027)
        let (p, url) = try await startServe(["--media-host", "127.0.0.1", "--external-ip", "127.0.0.2", "--rtp-ports", "20020-20027"])
        defer { ChildProcesses.stopBlocking(p) }
        let client = try await Self.connectedClient(url)
        let call = try await client.call("9196", source: .tone(frequencies: [440], amplitude: 0.3))
        try await call.wait { $0 == .active }
        #expect(try await hears(call.media, 440))
        #expect(nat.count > 50, "media went through the NAT (\(nat.count) datagrams)")
        try await call.hangup()
        try await client.disconnect()
        await nat.stop()
        let (status, _) = try await runAsync(["serve", "--port", "0", "--rtp-ports", "5-3", "--duration", "1"])
        #expect(status == 64)
    }

    /// `serve --media-threads 4` (more threads than this machine has cores: an event loop group of
    /// its own) carries concurrent calls, each with its own audio, on one shared media port per
    /// thread; 0 threads or media port 0 are refused.
    @Test func serveCarriesCallsOnItsMediaThreads() async throws {
        let (status, _) = try await runAsync(["serve", "--port", "0", "--media-threads", "0", "--duration", "1"])
        #expect(status == 64)
        let (portStatus, _) = try await runAsync(["serve", "--port", "0", "--media-port", "0", "--duration", "1"])
        #expect(portStatus == 64)
        let (p, url, banner) = try await startServeWithBanner(["--media-threads", "4"])
        defer { ChildProcesses.stopBlocking(p) }
        #expect(banner.last?["media_threads"] as? Int == 4, "\(banner)")
        // One shared media port per media thread.
        let ports = ((banner.last?["media_ports"] as? String) ?? "").split(separator: ",").compactMap { Int($0) }
        #expect(Set(ports).count == 4, "\(banner)")
        let threads = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(p.processIdentifier)/task")) ?? []
        let loops = threads.filter {
            ((try? String(contentsOfFile: "/proc/\(p.processIdentifier)/task/\($0)/comm", encoding: .utf8)) ?? "").hasPrefix("NIO-ELT")
        }
        #expect(loops.count >= 4, "event loop threads: \(loops.count)")
        var calls: [(VertoClient, Call, Double)] = []
        for f in [440.0, 660, 880, 1000] {
            let client = try await Self.connectedClient(url)
            let call = try await client.call("9196", source: .tone(frequencies: [f], amplitude: 0.3))
            try await call.wait { $0 == .active }
            calls.append((client, call, f))
        }
        for (client, call, f) in calls {
            #expect(try await hears(call.media, f), "the echo of \(f) Hz")
            try await call.hangup()
            try await client.disconnect()
        }
    }

    /// Without `--media-threads`, one media loop per CPU the process may run on: under
    /// `taskset -c 0` one, although the machine (and SwiftNIO's shared group) has more.
    @Test func serveUsesOneMediaThreadPerAllowedCPU() async throws {
        let taskset = ["/usr/bin/taskset", "/bin/taskset"].first { FileManager.default.isExecutableFile(atPath: $0) }
        let path = try #require(taskset, "taskset (util-linux) is needed")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = ["-c", "0", Self.binary.path, "serve", "--port", "0", "--json", "--duration", "1"]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try ChildProcesses.start(p)
        let text = await withCheckedContinuation { c in
            Thread.detachNewThread { c.resume(returning: String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)) }
        }
        let listening = text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            .first { $0["event"] as? String == "listening" }
        #expect(listening?["media_threads"] as? Int == 1, "\(text)")
    }

    /// `serve --metrics`: a Prometheus scrape during a call shows the active-calls gauge at 1, the
    /// sessions gauge, the calls-started counter, the setup timers of the call's media and the heap
    /// in use.
    @Test func prometheusScrapeDuringACall() async throws {
        let (p, url, banner) = try await startServeWithBanner(["--metrics", "127.0.0.1:0"])
        defer { ChildProcesses.stopBlocking(p) }
        let scrapeURL = try #require(banner.first { $0["event"] as? String == "metrics" }?["scrape_url"] as? String, "\(banner)")
        let client = try await Self.connectedClient(url)
        let call = try await client.call("9196", source: .tone(frequencies: [440], amplitude: 0.3))
        try await call.wait { $0 == .active }
        #expect(try await hears(call.media, 440))
        let text = try await Self.httpGet(scrapeURL)
        func value(_ series: String) -> Double? {
            text.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap { Double($0.split(separator: " ").last ?? "") }
        }
        #expect(value("verto_server_calls_active") == 1, "\(text)")
        #expect(value("verto_server_sessions_active") == 1, "\(text)")
        #expect(value(#"verto_server_calls_started_total{direction="inbound"}"#) == 1, "\(text)")
        for phase in ["ice", "dtls", "first_frame"] {
            #expect((value(#"verto_media_setup_seconds_count{phase="\#(phase)"}"#) ?? 0) >= 1, "setup timer \(phase): \(text)")
        }
        #expect((value(#"verto_media_setup_seconds_sum{phase="first_frame"}"#) ?? 0) > 0, "\(text)")
        let heap = value("vertophone_heap_in_use_bytes") ?? 0
        #expect(heap > 100_000 && heap < 1e9, "the heap in use, read at the scrape: \(heap) bytes")
        try await call.hangup()
        try await client.disconnect()
        // After the call: the gauge is back to 0 and the call is counted by its cause.
        let after = try await within(.seconds(20), "the gauge back at 0") {
            while true {
                let t = try await Self.httpGet(scrapeURL)
                if t.contains("verto_server_calls_active 0") { return t }
                try await Task.sleep(for: .milliseconds(50))
            }
        }
        #expect(after.contains(#"verto_server_calls_ended_total{cause="NORMAL_CLEARING"} 1"#), "\(after)")
        #expect(try await Self.httpStatus(scrapeURL.replacingOccurrences(of: "/metrics", with: "/other")) == 404)
    }

    /// `serve --trace-jsonrpc` logs every frame of a login and a call, with the password, the ICE
    /// passwords and the sessid redacted; the server's log lines about a call carry its call_id,
    /// user and (shortened) sessid.
    @Test func traceJSONRPCLogsFramesWithoutSecrets() async throws {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("vp-trace-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: log) }
        let handle = try FileHandle(forWritingTo: log)
        let (p, url, _) = try await startServeWithBanner(["--trace-jsonrpc", "--log-level", "info"], standardError: handle)
        let client = try await Self.connectedClient(url) { $0.sessid = "trace-test-sessid-0123456789" }
        let call = try await client.call("9196", source: .tone(frequencies: [440], amplitude: 0.3))
        try await call.wait { $0 == .active }
        try await call.hangup()
        try await client.disconnect()
        await ChildProcesses.stop(p)
        try handle.close()
        let text = try String(contentsOf: log, encoding: .utf8)
        let trace = text.split(separator: "\n").filter { $0.contains("verto.trace") }
        #expect(trace.contains { $0.contains(#""method":"login""#) }, "\(text.prefix(2000))")
        #expect(trace.contains { $0.contains(#""method":"verto.invite""#) })
        #expect(trace.contains { $0.contains(#""method":"verto.answer""#) })
        #expect(trace.contains { $0.contains(#""method":"verto.bye""#) })
        #expect(!text.contains("verto-test"), "the password is in the log")
        #expect(!text.contains("0123456789"), "the whole sessid is in the log")
        #expect(text.contains("a=ice-pwd:<redacted>"))
        #expect(!text.replacingOccurrences(of: "a=ice-pwd:<redacted>", with: "").contains("a=ice-pwd:"), "an ICE password is in the log")
        for what in ["call started", "call ended"] {
            let line = text.split(separator: "\n").first { $0.contains(what) }
            #expect(line?.contains("call_id=\(call.callID)") == true, "\(what): \(String(describing: line))")
            #expect(line?.contains("sessid=trace-te…") == true && line?.contains("user=**01") == true, "\(what): \(String(describing: line))")
        }
    }

    static func httpGet(_ url: String) async throws -> String {
        let (data, response) = try await URLSession.shared.data(from: try #require(URL(string: url)))
        #expect((response as? HTTPURLResponse)?.statusCode == 200)
        return String(decoding: data, as: UTF8.self)
    }

    static func httpStatus(_ url: String) async throws -> Int? {
        let (_, response) = try await URLSession.shared.data(from: try #require(URL(string: url)))
        return (response as? HTTPURLResponse)?.statusCode
    }

    /// One configuration model: command line > environment > file > defaults; an unknown key in
    /// the file is a startup error that names it.
    @Test func serveConfigurationPrecedenceAndUnknownKeys() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vp-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = dir.appendingPathComponent("server.json")
        try Data(#"{"port": 5999}"#.utf8).write(to: config)
        var env = ProcessInfo.processInfo.environment
        env["VERTOPHONE_PORT"] = "0"
        // The environment's port 0 wins over the file's 5999 (no --port on the command line).
        let (p1, url1, _) = try await startServeWithBanner(["--config", config.path], environment: env, portZero: false)
        ChildProcesses.stopBlocking(p1)
        #expect(!url1.hasSuffix(":5999/"), "\(url1)")
        // The command line's --port 0 wins over the environment's 5998.
        env["VERTOPHONE_PORT"] = "5998"
        let (p2, url2, _) = try await startServeWithBanner(["--config", config.path], environment: env)
        ChildProcesses.stopBlocking(p2)
        #expect(!url2.hasSuffix(":5998/") && !url2.hasSuffix(":5999/"), "\(url2)")
        // An unknown key is an error that names it.
        try Data(#"{"prot": 5066}"#.utf8).write(to: config)
        let (status, text) = try await runAsync(["serve", "--json", "--duration", "1", "--config", config.path])
        #expect(status == 1, "\(text)")
        #expect(text.contains("unknown key") && text.contains("prot"), "\(text)")
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
