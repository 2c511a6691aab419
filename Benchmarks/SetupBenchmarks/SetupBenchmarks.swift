import Benchmark
import CoreSupport
import Foundation
import MediaNIO
import NIOCore
import NIOPosix
import PeerCore
import SDPCore
import VertoPhone

// Call-setup latency (docs/performance.md G1–G5). Each iteration is one whole setup; the milestones are
// recorded as custom metrics in milliseconds, so the report gives their percentiles. Both ends share
// the process (and, for the peer pair, one event loop on one vCPU).

var g2: BenchmarkMetric { BenchmarkMetric.custom("G2 SDPs applied → ICE nominated both ends (µs)", polarity: .prefersSmaller, useScalingFactor: false) }
var g3: BenchmarkMetric { BenchmarkMetric.custom("G3 ICE done → DTLS done both ends (µs)", polarity: .prefersSmaller, useScalingFactor: false) }
var g4: BenchmarkMetric { BenchmarkMetric.custom("G4 DTLS done → first frame decoded (µs)", polarity: .prefersSmaller, useScalingFactor: false) }
var total: BenchmarkMetric { BenchmarkMetric.custom("createOffer → first frame decoded (µs)", polarity: .prefersSmaller, useScalingFactor: false) }
var g1: BenchmarkMetric { BenchmarkMetric.custom("G1 verto.invite sent → first frame decoded at callee (µs)", polarity: .prefersSmaller, useScalingFactor: false) }

func us(_ a: NIODeadline?, _ b: NIODeadline?) -> Int {
    guard let a, let b else { return -1 }
    return Int((b - a).nanoseconds / 1000)
}

/// One PeerSession pair over real UDP on 127.0.0.1: A offers, B answers; A sends one frame as soon
/// as DTLS is up; the setup ends when B decodes it.
final class PairRun: @unchecked Sendable {
    let loop: EventLoop
    var a: DatagramDriver<PeerSession>!
    var b: DatagramDriver<PeerSession>!
    var sent = false
    let done: EventLoopPromise<Void>

    init(loop: EventLoop) {
        self.loop = loop
        done = loop.makePromise()
    }

    func run() async throws -> (g2: Int, g3: Int, g4: Int, total: Int) {
        let loop = self.loop
        a = try await DatagramDriver<PeerSession>.bind(host: "127.0.0.1", on: loop) { l in
            PeerSession(hostAddresses: [l], now: loop.now)
        }.get()
        b = try await DatagramDriver<PeerSession>.bind(host: "127.0.0.1", on: loop) { l in
            PeerSession(configuration: .serverRole, hostAddresses: [l], now: loop.now)
        }.get()
        let frame = [Int16](repeating: 1000, count: 960)
        let result: (Int, Int, Int, Int) = try await loop.flatSubmit { [self] in
            a.afterInput = { [self] core in
                if core.state == .connected && !sent {
                    sent = true
                    a.eventLoop.execute { self.a.withCoreOnLoop { $0.sendAudio(frame, now: loop.now) } }
                }
            }
            b.afterInput = { [self] core in
                if core.milestones.firstFrameDecoded != nil { done.succeed() }
            }
            let t0 = loop.now
            let offer = a.withCoreOnLoop { $0.createOffer(now: loop.now) }
            let answer = try! b.withCoreOnLoop { try $0.acceptOffer(offer, now: loop.now) }
            try! a.withCoreOnLoop { try $0.applyAnswer(answer, now: loop.now) }
            return done.futureResult.map { [self] in
                let ma = a.withCoreOnLoop { $0.milestones }, mb = b.withCoreOnLoop { $0.milestones }
                let applied = ma.remoteDescriptionApplied
                let ice = max(ma.iceConnected!, mb.iceConnected!)
                let dtls = max(ma.dtlsConnected!, mb.dtlsConnected!)
                return (us(applied, ice), us(ice, dtls), us(dtls, mb.firstFrameDecoded), us(t0, mb.firstFrameDecoded))
            }
        }.get()
        _ = try await a.close().get()
        _ = try await b.close().get()
        return result
    }
}

var setupConfig: Benchmark.Configuration { Benchmark.Configuration(
    metrics: [.wallClock, .cpuTotal, g1, g2, g3, g4, total],
    timeUnits: .microseconds,
    warmupIterations: 3,
    maxDuration: .seconds(20),
    maxIterations: 40
) }

let benchmarks: @Sendable () -> Void = {
    Benchmark("PeerSession pair setup over UDP loopback (ours)", configuration: setupConfig) { benchmark in
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        for _ in benchmark.scaledIterations {
            let r = try await PairRun(loop: loop).run()
            benchmark.measurement(g2, r.g2)
            benchmark.measurement(g3, r.g3)
            benchmark.measurement(g4, r.g4)
            benchmark.measurement(total, r.total)
        }
    }

    Benchmark("Verto call setup, our client ↔ our server, WebSocket + UDP loopback (G1)", configuration: setupConfig) { benchmark in
        var config = VertoEndpointConfiguration(users: .demo())
        config.port = 0
        let endpoint = try await VertoEndpoint.start(configuration: config)
        var o = VertoClientOptions(url: "ws://127.0.0.1:\(endpoint.port)/", login: "1001@127.0.0.1", password: "verto-test")
        o.mediaHost = "127.0.0.1"
        let client = VertoClient(options: o)
        try await client.connect()
        var events = endpoint.events.makeAsyncIterator()
        for _ in benchmark.scaledIterations {
            let t0 = NIODeadline.now()
            let call = try await client.call("9664", source: .tone(frequencies: [440], amplitude: 0.3))
            var callee: MediaSession?
            while callee == nil, let e = await events.next() {
                if case .newWebRTCCall(_, let m) = e { callee = m }
            }
            // The callee's first decoded frame (our client sends on connect).
            _ = try await callee!.listen(seconds: 0.001, timeout: .seconds(5))
            if let s = try await callee!.stats() { benchmark.measurement(g1, us(t0, s.milestones.firstFrameDecoded)) }
            try await call.hangup()
        }
        try await client.disconnect()
        try await endpoint.stop()
    }
}
