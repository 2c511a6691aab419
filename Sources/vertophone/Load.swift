import ArgumentParser
import Foundation
import NIOCore
import VertoPhone

/// Places many calls (bounded in count and time) and reports setup latency percentiles. Without
/// `--url` it starts the server role in-process on 127.0.0.1; targets stay on loopback by default.
struct Load: AsyncParsableCommand {
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

    func run() async throws {
        output.bootstrapLogging()
        let tl = Timeline(json: output.json)
        var endpoint: VertoEndpoint?
        var target = url ?? ""
        var pw = password ?? ProcessInfo.processInfo.environment["VERTOPHONE_PASSWORD"] ?? ""
        if url == nil {
            var config = VertoEndpointConfiguration(users: .demo())
            config.port = 0
            endpoint = try await VertoEndpoint.start(configuration: config)
            target = "ws://127.0.0.1:\(endpoint!.port)/"
            pw = "verto-test"
        }
        var o = VertoClientOptions(url: target, login: login, password: pw)
        o.mediaHost = "127.0.0.1"
        let client = VertoClient(options: o)
        try await client.connect()
        tl.log("load started", ["url": target, "calls": "\(calls)", "concurrency": "\(concurrency)"])
        let results = LatencyStore()
        let cpu0 = Load.cpuSeconds()
        let wall0 = Date()
        try await withThrowingTaskGroup(of: Void.self) { group in
            var started = 0
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
                        await results.fail()
                        tl.log("call failed", ["index": "\(i)", "error": "\(error)"])
                    }
                }
            }
            for _ in 0..<min(concurrency, calls) { launch() }
            while try await group.next() != nil {
                if started < calls { launch() }
            }
        }
        let wall = Date().timeIntervalSince(wall0)
        let cpu = Load.cpuSeconds() - cpu0
        let (lat, failed) = await results.snapshot()
        let sorted = lat.sorted()
        func pct(_ p: Double) -> String {
            sorted.isEmpty ? "-" : String(format: "%.2f ms", sorted[min(sorted.count - 1, Int(Double(sorted.count - 1) * p))])
        }
        tl.log("load finished", ["completed": "\(lat.count)", "failed": "\(failed)", "p50 invite→first frame (caller)": pct(0.5),
                                 "p99": pct(0.99), "wall": String(format: "%.2f s", wall),
                                 "process CPU per call": String(format: "%.2f ms", lat.isEmpty ? 0 : cpu * 1000 / Double(lat.count))])
        try await client.disconnect()
        if let endpoint { try await endpoint.stop() }
        if failed > 0 { throw ExitCode(1) }
    }

    static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }
}

actor LatencyStore {
    var values: [Double] = []
    var failures = 0
    func add(_ v: Double) { values.append(v) }
    func fail() { failures += 1 }
    func snapshot() -> ([Double], Int) { (values, failures) }
}
