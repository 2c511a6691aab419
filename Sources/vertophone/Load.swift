import ArgumentParser
import Foundation
import MediaCore
import NIOConcurrencyHelpers
import NIOCore
import OpusCodec
import VertoPhone

/// A Verto call generator in the manner of sipp: calls at a rate (with a ramp) or as fast as a
/// concurrency limit allows, for a number of calls or a duration, from one login or a range of
/// users (one WebSocket each), to one destination or a range; per-phase latency histograms
/// (HdrHistogram), a live progress line, failures by cause, a JSON summary and a CSV line per call.
/// Without `--url` it starts the server role in-process on 127.0.0.1.
struct Load: ReportingCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate calls and report setup latency per phase (login, created, answer, ICE, DTLS, first frame).",
        discussion: """
            Times of a call count from the moment its verto.invite is sent; login counts per connection. \
            The JSON summary (`load_finished`) has, per phase, <phase>_p50_ms, _p90_ms, _p99_ms, _max_ms and \
            _count (phases: login, created, answer, ice, dtls, first_frame), p50_ms/p99_ms of first_frame, \
            failures by cause in `causes`, cpu_ms_per_call of this process. Exit code 1 when a call failed.
            """)

    @OptionGroup var output: OutputOptions

    @Option(help: "Server URL (ws:// or wss://); default: an in-process server on 127.0.0.1.")
    var url: String?

    @Option(help: "Login (user@domain) when --users is not given.")
    var login = "1001@127.0.0.1"

    @Option(help: "Log in as each of these users, LOW-HIGH (e.g. 1000-1999), one connection each; calls take them in turn.")
    var users: IDRange?

    @Option(help: "Domain of the --users logins (default: the domain of --login).")
    var domain: String?

    @Option(help: "Password of every login (or VERTOPHONE_PASSWORD).")
    var password: String?

    @Option(help: "Destination, or LOW-HIGH to call each in turn (e.g. the users of `vertophone answer --users`).")
    var destination = IDRange(argument: "9196")!

    @Option(help: "Number of calls (default 20 unless --duration is given).")
    var calls: Int?

    @Option(help: "Stop launching calls after this many seconds (calls in flight finish).")
    var duration: Double?

    @Option(help: "Calls per second (default: as fast as --concurrency allows).")
    var rate: Double = 0

    @Option(help: "Seconds over which the rate rises linearly from 0 to --rate.")
    var ramp: Double = 0

    @Option(help: "Calls in flight at most (default 1, or 10000 with --rate).")
    var concurrency: Int?

    @Option(help: "Seconds each call stays up after its first decoded frame.")
    var hold: Double = 0.2

    @Option(help: "Seconds a call may take to reach each phase before it counts as failed.")
    var callTimeout: Double = 10

    @Option(help: "Write one CSV line per call to this file (times in ms since the invite).")
    var csv: String?

    @Option(help: "Print a progress event every this many seconds (0 = never; a terminal gets a live line anyway).")
    var reportInterval: Double = 0

    @Option(help: "Print a progress event every this many finished calls (0 = never).")
    var reportEvery = 0

    @Option(help: "Also report the open fds and RSS of this process (e.g. a `vertophone serve` under load).")
    var watchPid: Int32?

    @Option(help: "Same as --duration (kept for older scripts).")
    var maxSeconds: Double?

    @Option(help: "Address media sockets bind to.")
    var mediaHost = "127.0.0.1"

    @Flag(help: "Encode each call's 440 Hz tone frame by frame, as a phone does (default: one second of it encoded once and sent in turn when Opus is negotiated, so that the generator spends its CPU on signalling, ICE, DTLS and SRTP rather than on encoding, and starves later).")
    var encodeLive = false

    func validate() throws {
        if rate < 0 || ramp < 0 || hold < 0 || callTimeout <= 0 { throw ValidationError("--rate, --ramp, --hold must be ≥ 0 and --call-timeout > 0") }
        if let c = concurrency, c < 1 { throw ValidationError("--concurrency must be ≥ 1") }
        if let c = calls, c < 0 { throw ValidationError("--calls must be ≥ 0") }
        if ramp > 0 && rate == 0 { throw ValidationError("--ramp needs --rate") }
    }

    func execute() async throws {
        let tl = Timeline(json: output.json)
        let (target, endpoint) = try await targetServer(url)
        let pw = endpoint != nil ? "verto-test" : password ?? ProcessInfo.processInfo.environment["VERTOPHONE_PASSWORD"] ?? ""
        let domain = self.domain ?? login.split(separator: "@", maxSplits: 1).dropFirst().first.map(String.init) ?? "127.0.0.1"
        let logins = users.map { $0.values.map { "\($0)@\(domain)" } } ?? [login]
        let results = try LoadResults(csvPath: csv)
        let duration = self.duration ?? maxSeconds
        let total = calls ?? (duration != nil ? Int.max : 20)
        let limit = concurrency ?? (rate > 0 ? 10_000 : 1)
        let schedule = LoadSchedule(rate: rate, ramp: ramp)
        let timeout = Duration.milliseconds(Int64(callTimeout * 1000))
        let watchPid = self.watchPid, json = output.json
        let preEncoded = encodeLive ? [] : try Self.toneFrames()
        let mediaHost = self.mediaHost

        // Logins, a bounded number at a time.
        let clients = await Self.connectAll(logins, results: results) { login in
            var o = VertoClientOptions(url: target, login: login, password: pw)
            o.mediaHost = mediaHost
            o.autoReconnect = false
            o.callerIDNumber = String(login.split(separator: "@").first ?? "")
            return VertoClient(options: o)
        }
        guard !clients.isEmpty else {
            let causes = results.snapshot.causes
            throw NoLoginSucceeded(causes: causes.keys.sorted())
        }
        tl.log("load started", ["url": .text(target), "logins": .count(clients.count), "calls": total == .max ? .absent : .count(total),
                                "rate": rate > 0 ? .decimal(rate) : .absent, "concurrency": .count(limit)])

        let start = NIODeadline.now()
        let cpu0 = Load.cpuSeconds()
        func elapsed() -> Double { Double((NIODeadline.now() - start).nanoseconds) / 1e9 }
        func summary(_ s: LoadResults.Snapshot) -> [String: TimelineValue] {
            var f: [String: TimelineValue] = [
                "launched": .count(s.launched), "completed": .count(s.completed), "failed": .count(s.failed),
                "inFlight": .count(s.inFlight), "causes": .table(s.causes),
                "fds": .count(ProcessProbe.openFDs(pid: nil)), "rssKB": .count(ProcessProbe.rssKB(pid: nil)),
            ]
            if let watchPid {
                f["watchedFds"] = .count(ProcessProbe.openFDs(pid: watchPid))
                f["watchedRssKB"] = .count(ProcessProbe.rssKB(pid: watchPid))
            }
            f["p50Ms"] = .ms(s.ms(.firstFrame, 50))
            f["p99Ms"] = .ms(s.ms(.firstFrame, 99))
            return f
        }

        // The live line on a terminal and the periodic progress events.
        let terminal = !json && ProgressLine.isTerminal
        let interval = reportInterval
        let ticker = Task {
            var lastEvent = 0.0
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(terminal ? 500 : Int(max(interval, 0.1) * 1000)))
                if Task.isCancelled { break }
                let s = results.snapshot, t = elapsed()
                if terminal {
                    let causes = s.causes.sorted { $0.value > $1.value }.prefix(2).map { "\($0.key) ×\($0.value)" }.joined(separator: ", ")
                    ProgressLine.show(String(format: "%6.1f s  calls %d ok %d failed %d  in flight %d  %.1f/s  first frame p50 %@ p99 %@ ms%@",
                                             t, s.launched, s.completed, s.failed, s.inFlight, Double(s.completed + s.failed) / max(t, 0.001),
                                             s.ms(.firstFrame, 50).map { String(format: "%.2f", $0) } ?? "-",
                                             s.ms(.firstFrame, 99).map { String(format: "%.2f", $0) } ?? "-",
                                             causes.isEmpty ? "" : "  (" + causes + ")"))
                }
                if interval > 0, t - lastEvent >= interval {
                    lastEvent = t
                    var f = summary(s)
                    f["rate"] = .decimal(Double(s.completed + s.failed) / max(t, 0.001))
                    tl.log("progress", f)
                }
            }
        }
        if reportEvery == 0, interval == 0 { tl.log("baseline", summary(results.snapshot)) }

        let slots = CallSlots(limit: limit)
        let reportEvery = self.reportEvery
        let finishedCount = NIOLockedValueBox(0)
        await withDiscardingTaskGroup { group in
            var k = 0
            while k < total {
                let due = schedule.due(k)
                if let duration, max(due, elapsed()) >= duration { break }
                let wait = due - elapsed()
                if wait > 0 { try? await Task.sleep(for: .microseconds(Int64(wait * 1e6))) }
                await slots.acquire()
                if let duration, elapsed() >= duration { slots.release(); break }
                let i = k
                k += 1
                let client = clients[i % clients.count]
                let first = LoadCallRecord(index: i, user: client.login, destination: destination[i], start: elapsed())
                results.launched()
                group.addTask {
                    var record = first
                    await Self.place(client.phone, &record, timeout: timeout, hold: hold, preEncoded: preEncoded)
                    results.finish(record)
                    slots.release()
                    let n = finishedCount.withLockedValue { $0 += 1; return $0 }
                    if reportEvery > 0, n % reportEvery == 0 { tl.log("progress", summary(results.snapshot)) }
                    if let failure = record.failure, !terminal { tl.log("call failed", ["index": .count(i), "error": .text(failure)]) }
                }
            }
        }
        ticker.cancel()
        if terminal { ProgressLine.end() }
        let wall = elapsed()
        let cpu = Load.cpuSeconds() - cpu0
        let s = results.snapshot
        results.close()
        var f = summary(s)
        f["wallMs"] = .ms(wall * 1000)
        f["rate"] = .decimal(Double(s.launched) / max(wall, 0.001))
        f["cpuMsPerCall"] = .ms(s.completed == 0 ? nil : cpu * 1000 / Double(s.completed))
        for p in LoadPhase.allCases {
            let key = p.rawValue
            f["\(key)_p50_ms"] = .ms(s.ms(p, 50))
            f["\(key)_p90_ms"] = .ms(s.ms(p, 90))
            f["\(key)_p99_ms"] = .ms(s.ms(p, 99))
            f["\(key)_max_ms"] = .ms(s.histograms[p].map { Double($0.max) / 1000 })
            f["\(key)_count"] = .count(s.histograms[p].map { Int($0.totalCount) } ?? 0)
        }
        tl.log("load finished", f)
        for c in clients { try? await c.phone.disconnect() }
        if let endpoint { try await endpoint.stop() }
        if s.failed > 0 { throw ExitCode(1) }
    }

    /// Logs in every login (16 at a time), recording each login's time; failures are counted by cause.
    static func connectAll(_ logins: [String], results: LoadResults,
                           makeClient: @escaping @Sendable (String) throws -> VertoClient) async -> [(login: String, phone: VertoClient)] {
        var connected: [(Int, String, VertoClient)] = []
        await withTaskGroup(of: (Int, String, VertoClient?).self) { group in
            var next = 0
            func add() {
                let i = next, login = logins[i]
                next += 1
                group.addTask {
                    let t0 = NIODeadline.now()
                    let phone: VertoClient
                    do { phone = try makeClient(login) } catch {
                        results.loginFailed(cause: failureCause(of: error))
                        return (i, login, nil)
                    }
                    do {
                        try await phone.connect()
                        results.login(ms: Double((NIODeadline.now() - t0).nanoseconds) / 1e6)
                        return (i, login, phone)
                    } catch {
                        try? await phone.disconnect()
                        results.loginFailed(cause: failureCause(of: error))
                        return (i, login, nil)
                    }
                }
            }
            for _ in 0..<min(16, logins.count) { add() }
            while let (i, login, phone) = await group.next() {
                if let phone { connected.append((i, login, phone)) }
                if next < logins.count { add() }
            }
        }
        return connected.sorted { $0.0 < $1.0 }.map { ($0.1, $0.2) }
    }

    /// One call: invite, answer, first decoded frame (phases from the media's milestones), hold, hang up.
    /// One second of a 440 Hz tone as 50 Opus payloads (20 ms, 48 kHz mono, the engine's settings).
    static func toneFrames() throws -> [[UInt8]] {
        let encoder = try OpusEncoder(OpusEncoderConfiguration())
        var tone = ToneGenerator(frequencies: [440], amplitude: 0.3, sampleRate: 48_000)
        return try (0..<50).map { _ in try encoder.encode(tone.generate(count: 960)) }
    }

    static func place(_ phone: VertoClient, _ r: inout LoadCallRecord, timeout: Duration, hold: Double,
                      preEncoded: [[UInt8]] = []) async {
        let t0 = NIODeadline.now()
        func since(_ d: NIODeadline?) -> Double? { d.map { Double(($0 - t0).nanoseconds) / 1e6 } }
        var call: Call?
        // The media phases reached (a failed call's too: where it stopped is in the CSV).
        func recordMilestones() async {
            guard let m = try? await call?.media.stats()?.milestones else { return }
            r.phases[.ice] = since(m.iceConnected)
            r.phases[.dtls] = since(m.dtlsConnected)
            r.phases[.firstFrame] = since(m.firstFrameDecoded)
        }
        do {
            let c = try await phone.call(r.destination, source: .tone(frequencies: [440], amplitude: 0.3), timeout: timeout)
            call = c
            if !preEncoded.isEmpty { c.media.sendPreEncoded(preEncoded) }
            r.callID = c.callID
            r.phases[.created] = since(.now())
            let state = try await c.wait(timeout: timeout) { $0 == .active }
            if case .ended(let cause) = state { throw LoadCallFailure.ended(cause.name) }
            r.phases[.answer] = since(.now())
            _ = try await c.media.listen(seconds: 0.02, timeout: timeout)
            await recordMilestones()
            if hold > 0 { try await Task.sleep(for: .milliseconds(Int64(hold * 1000))) }
            if case .ended(let cause) = c.state { throw LoadCallFailure.ended(cause.name) }
            try await c.hangup()
        } catch let e as LoadCallFailure {
            r.failure = e.description
        } catch {
            await recordMilestones()
            if case .ended(let cause)? = call?.state { r.failure = LoadCallFailure.ended(cause.name).description } else { r.failure = failureCause(of: error) }
            if let call, !call.state.isEnded { try? await call.hangup() }
        }
    }

    static func cpuSeconds() -> Double {
        var usage = rusage()
        #if os(Linux)
        getrusage(RUSAGE_SELF.rawValue, &usage)
        #else
        getrusage(RUSAGE_SELF, &usage)
        #endif
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }
}

/// Not one login of a load or answer run went through: a failure of the run (exit code 1), not of
/// its arguments.
struct NoLoginSucceeded: Error, CustomStringConvertible {
    let causes: [String]
    var description: String { "no login succeeded: " + causes.joined(separator: "; ") }
}

enum LoadCallFailure: Error, CustomStringConvertible {
    case ended(String)
    var description: String {
        switch self {
        case .ended(let cause): return "ended: \(cause)"
        }
    }
}

/// Open file descriptors and resident memory of a process (this one when `pid` is nil), from
/// /proc on Linux; nil where there is no /proc.
enum ProcessProbe {
    static func openFDs(pid: Int32?) -> Int? {
        let dir = "/proc/\(pid.map(String.init) ?? "self")/fd"
        return (try? FileManager.default.contentsOfDirectory(atPath: dir)).map(\.count)
    }

    static func rssKB(pid: Int32?) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid.map(String.init) ?? "self")/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
        }
        return nil
    }
}
