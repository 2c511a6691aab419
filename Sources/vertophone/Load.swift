import ArgumentParser
import Foundation
import NIOCore
import VertoPhone

/// Places many calls (bounded in count and time) and reports setup latency percentiles. Without
/// `--url` it starts the server role in-process on 127.0.0.1; targets stay on loopback by default.
struct Load: ReportingCommand {
    static let configuration = CommandConfiguration(abstract: "Generate calls and report call-setup latency (invite → first decoded frame).")

    @OptionGroup var output: OutputOptions

    @Option(help: "Server URL; default: an in-process server on 127.0.0.1.")
    var url: String?

    @Option(help: "Login (user@domain) when --url is given.")
    var login = "1001@127.0.0.1"

    @Option(help: "Password when --url is given (or VERTOPHONE_PASSWORD).")
    var password: String?

    @Option(help: "Destination to call.")
    var destination = "9196"

    @Option(help: "Number of calls.")
    var calls = 20

    @Option(help: "Calls in flight at once.")
    var concurrency = 1

    @Option(help: "Seconds each call stays up after its first decoded frame.")
    var hold: Double = 0.2

    @Option(help: "Print progress (completed, failures by cause, open fds, RSS) every this many calls (0 = never).")
    var reportEvery = 0

    @Option(help: "Also report the open fds and RSS of this process (e.g. a `vertophone serve` under load).")
    var watchPid: Int32?

    @Option(help: "Stop launching calls after this many seconds (0 = no limit); calls in flight finish.")
    var maxSeconds: Double = 0

    func execute() async throws {
        let tl = Timeline(json: output.json)
        let (target, endpoint) = try await targetServer(url)
        let pw = endpoint != nil ? "verto-test" : password ?? ProcessInfo.processInfo.environment["VERTOPHONE_PASSWORD"] ?? ""
        var o = VertoClientOptions(url: target, login: login, password: pw)
        o.mediaHost = "127.0.0.1"
        let client = VertoClient(options: o)
        try await client.connect()
        tl.log("load started", ["url": .text(target), "calls": .count(calls), "concurrency": .count(concurrency)])
        let results = LatencyStore()
        let cpu0 = Load.cpuSeconds()
        let wall0 = Date()
        let reportEvery = self.reportEvery, watchPid = self.watchPid, maxSeconds = self.maxSeconds
        func report(_ event: String, _ extra: [String: TimelineValue] = [:]) async {
            let (lat, failed, causes) = await results.snapshot()
            var fields = extra
            fields["completed"] = .count(lat.count)
            fields["failed"] = .count(failed)
            fields["causes"] = causes.isEmpty ? .absent : .text(causes.sorted { $0.key < $1.key }.map { "\($0.key)×\($0.value)" }.joined(separator: "; "))
            fields["fds"] = .count(ProcessProbe.openFDs(pid: nil))
            fields["rssKB"] = .count(ProcessProbe.rssKB(pid: nil))
            if let watchPid {
                fields["watchedFds"] = .count(ProcessProbe.openFDs(pid: watchPid))
                fields["watchedRssKB"] = .count(ProcessProbe.rssKB(pid: watchPid))
            }
            tl.log(event, fields)
        }
        await report("baseline")
        try await withThrowingTaskGroup(of: Void.self) { group in
            var started = 0
            var finished = 0
            func launch() {
                let i = started
                started += 1
                group.addTask {
                    let t0 = NIODeadline.now()
                    do {
                        let call = try await client.call(destination, source: .tone(frequencies: [440], amplitude: 0.3))
                        _ = try await call.media.listen(seconds: 0.02, timeout: .seconds(10))
                        let first = NIODeadline.now()
                        await results.add(Double((first - t0).nanoseconds) / 1e6)
                        try await Task.sleep(for: .milliseconds(Int(hold * 1000)))
                        try await call.hangup()
                    } catch {
                        await results.fail(cause: Load.cause(of: error))
                        tl.log("call failed", ["index": .count(i), "error": "\(error)"])
                    }
                }
            }
            func mayLaunch() -> Bool {
                started < calls && (maxSeconds <= 0 || Date().timeIntervalSince(wall0) < maxSeconds)
            }
            for _ in 0..<min(concurrency, calls) { launch() }
            while try await group.next() != nil {
                finished += 1
                if reportEvery > 0, finished % reportEvery == 0 { await report("progress") }
                if mayLaunch() { launch() }
            }
        }
        let wall = Date().timeIntervalSince(wall0)
        let cpu = Load.cpuSeconds() - cpu0
        let (lat, failed, _) = await results.snapshot()
        let sorted = lat.sorted()
        await report("load finished", [
            "p50Ms": .ms(Percentile.of(sorted, 0.5)), "p99Ms": .ms(Percentile.of(sorted, 0.99)), "wallMs": .ms(wall * 1000),
            "cpuMsPerCall": .ms(lat.isEmpty ? nil : cpu * 1000 / Double(lat.count)),
        ])
        try await client.disconnect()
        if let endpoint { try await endpoint.stop() }
        if failed > 0 { throw ExitCode(1) }
    }

    /// A failure's cause without the parts that differ per call (ids, numbers), for counting.
    static func cause(of error: any Error) -> String {
        let text = "\(error)"
        return text.replacingOccurrences(of: "[0-9a-fA-F]{8}-[0-9a-fA-F-]{27}", with: "<id>", options: .regularExpression)
            .replacingOccurrences(of: "[0-9]+(\\.[0-9]+)?", with: "N", options: .regularExpression)
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

actor LatencyStore {
    var values: [Double] = []
    var failures = 0
    var causes: [String: Int] = [:]
    func add(_ v: Double) { values.append(v) }
    func fail(cause: String) {
        failures += 1
        causes[cause, default: 0] += 1
    }
    func snapshot() -> ([Double], Int, [String: Int]) { (values, failures, causes) }
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
