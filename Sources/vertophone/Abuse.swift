import ArgumentParser
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import VertoCore
import VertoNIO
import VertoPhone

/// Measures what hostile clients cost the honest ones: a call's audio (the gaps between decoded
/// frames) and another client's `verto.ping` round trip, first on a quiet server, then while
/// flooders hammer it before login (oversize and many-key JSON, wrong passwords, idle sockets).
struct Abuse: ReportingCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure a call's frame gaps and another client's ping while hostile clients flood the server before login.")

    @OptionGroup var output: OutputOptions

    @Option(help: "Server URL; default: an in-process server on 127.0.0.1.")
    var url: String?

    @Option(help: "Seconds of each phase (quiet, then flood).")
    var seconds: Double = 5

    @Option(help: "Flooding connections at once.")
    var flooders = 16

    @Option(help: "Kinds of hostile input, comma-separated: keys (600-key objects), oversize (200 KB), passwords (wrong), garbage (unterminated JSON).")
    var kinds = "keys,oversize,passwords,garbage"

    func execute() async throws {
        let tl = Timeline(json: output.json)
        let (target, endpoint) = try await targetServer(url)
        var o = VertoClientOptions(url: target, login: "1001@127.0.0.1", password: "verto-test")
        o.mediaHost = "127.0.0.1"
        let caller = VertoClient(options: o)
        try await caller.connect()
        let call = try await caller.call("9196", source: .tone(frequencies: [440], amplitude: 0.3))
        try await call.wait { $0 == .active }
        let gaps = Samples()
        let frameWatch = Task {
            var last: ContinuousClock.Instant?
            for await _ in call.media.frames {
                let now = ContinuousClock.now
                if let last { await gaps.add(now - last) }
                last = now
            }
        }
        let pinger = try await Pinger.connect(url: target)
        let pings = Samples()
        let pingLoop = Task {
            while !Task.isCancelled {
                if let rtt = try? await pinger.ping() { await pings.add(rtt) }
                try? await Task.sleep(for: .milliseconds(50))
            }
        }

        // The flooders get an event loop of their own: on the measuring clients' loops their work
        // would show up as the server's latency.
        let floodGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        for phase in ["quiet", "flood"] {
            await gaps.reset()
            await pings.reset()
            let stop = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
            var floodTasks: [Task<Int, Never>] = []
            if phase == "flood" {
                let url = target, group = floodGroup
                let names = ["keys", "oversize", "passwords", "garbage"]
                let chosen = kinds.split(separator: ",").compactMap { names.firstIndex(of: String($0)) }
                guard !chosen.isEmpty else { throw ValidationError("--kinds: choose among \(names.joined(separator: ", "))") }
                for i in 0..<flooders {
                    let kind = chosen[i % chosen.count]
                    floodTasks.append(Task { await Flooder.run(url: url, kind: kind, until: stop, group: group) })
                }
            } else {
                try await Task.sleep(until: stop)
            }
            var sent = 0
            for t in floodTasks { sent += await t.value }
            let g = await gaps.summary(), p = await pings.summary()
            tl.log(phase, ["frames": .count(g.count), "frameGapP50Ms": .ms(g.p50), "frameGapP99Ms": .ms(g.p99), "frameGapMaxMs": .ms(g.max),
                           "pings": .count(p.count), "pingP50Ms": .ms(p.p50), "pingP99Ms": .ms(p.p99), "pingMaxMs": .ms(p.max),
                           "hostileMessages": .count(sent)])
        }
        pingLoop.cancel()
        frameWatch.cancel()
        try await floodGroup.shutdownGracefully()
        pinger.close()
        try await call.hangup()
        try await caller.disconnect()
        if let endpoint { try await endpoint.stop() }
    }
}

/// Durations, summarized in milliseconds.
actor Samples {
    private var values: [Double] = []
    func add(_ d: Duration) { values.append(Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15) }
    func reset() { values = [] }
    func summary() -> (count: Int, p50: Double?, p99: Double?, max: Double?) {
        let s = values.sorted()
        return (s.count, Percentile.of(s, 0.5), Percentile.of(s, 0.99), s.last)
    }
}

/// A logged-in raw connection that measures `verto.ping` round trips.
final class Pinger: Sendable {
    private let connection: WebSocketConnection
    private let replies: AsyncStream<String>

    private init(connection: WebSocketConnection, replies: AsyncStream<String>) {
        self.connection = connection
        self.replies = replies
    }

    static func connect(url: String) async throws -> Pinger {
        let (stream, continuation) = AsyncStream.makeStream(of: String.self)
        let c = try await WebSocketClient.connect(url: url, group: MultiThreadedEventLoopGroup.singleton,
                                                  callbacks: WebSocketCallbacks(onText: { _, t in continuation.yield(t) },
                                                                                onClose: { _ in continuation.finish() }))
        let p = Pinger(connection: c, replies: stream)
        c.send(text: #"{"jsonrpc":"2.0","id":1,"method":"login","params":{"login":"1000@127.0.0.1","passwd":"verto-test"}}"#)
        _ = try await p.reply(to: 1)
        return p
    }

    private let nextID = NIOLockedValueBox(100)

    func ping() async throws -> Duration {
        let id = nextID.withLockedValue { $0 += 1; return $0 }
        let start = ContinuousClock.now
        connection.send(text: #"{"jsonrpc":"2.0","id":\#(id),"method":"verto.ping","params":{}}"#)
        _ = try await reply(to: id)
        return ContinuousClock.now - start
    }

    private func reply(to id: Int) async throws -> String {
        for await text in replies {
            if let m = try? JSONCodec.parse(text).objectValue, m["id"]?.intValue == id, m["method"] == nil { return text }
        }
        throw VertoPhoneError.notConnected
    }

    func close() { connection.close() }
}

/// One flooding client: connects again and again until `until`, each time sending hostile input
/// of one kind before logging in; returns how many hostile messages it got out.
enum Flooder {
    static func run(url: String, kind: Int, until: ContinuousClock.Instant, group: EventLoopGroup) async -> Int {
        var sent = 0
        let manyKeys = "{" + (0..<600).map { "\"k\($0)\":1" }.joined(separator: ",") + "}"
        let oversize = String(repeating: "x", count: 200_000)
        while ContinuousClock.now < until {
            guard let c = try? await WebSocketClient.connect(
                url: url, configuration: WebSocketClientConfiguration(connectTimeout: .seconds(2)),
                group: group, callbacks: WebSocketCallbacks(onText: { _, _ in })) else {
                try? await Task.sleep(for: .milliseconds(20))
                continue
            }
            for i in 0..<50 {
                switch kind {
                case 0: c.send(text: #"{"jsonrpc":"2.0","id":\#(i),"method":"login","params":"# + manyKeys + "}")
                case 1: c.send(text: #"{"jsonrpc":"2.0","id":\#(i),"method":"login","params":{"pad":""# + oversize + #""}}"#)
                case 2: c.send(text: #"{"jsonrpc":"2.0","id":\#(i),"method":"login","params":{"login":"1001@127.0.0.1","passwd":"guess\#(i)"}}"#)
                default: c.send(text: "{\"jsonrpc\":\"2.0\",\"id\":\(i),\"method\":\"verto.invite\"")
                }
                sent += 1
            }
            try? await Task.sleep(for: .milliseconds(10))
            c.close()
        }
        return sent
    }
}

/// The nearest-rank percentile of sorted values (nil when there are none).
enum Percentile {
    static func of(_ sorted: [Double], _ q: Double) -> Double? {
        sorted.isEmpty ? nil : sorted[min(sorted.count - 1, Int(Double(sorted.count - 1) * q))]
    }
}
