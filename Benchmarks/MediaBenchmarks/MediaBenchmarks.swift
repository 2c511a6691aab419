import Benchmark
import CryptoCore
import Foundation
import NIOCore
import OpusCodec
import PeerCore
import SDPCore
import SRTPCore
import VertoCore

// Media-core costs (issue 2): SRTP per packet, DTLS handshake both ends, Opus encode/decode.
// Wall clock per operation with `.kilo` scaling for µs-scale work (docs/toolchain.md §4); allocations
// counted with the malloc interposer. ARC metrics crash on Swift 6.3 Linux and are not used.

var micro: Benchmark.Configuration { .init(
    metrics: [.wallClock, .cpuTotal, .mallocCountTotal],
    timeUnits: .nanoseconds,
    warmupIterations: 10,
    scalingFactor: .kilo,
    maxDuration: .seconds(3),
    maxIterations: 1_000
) }

func makeRTP(payload: Int) -> [UInt8] {
    [0x80, 111, 0, 1, 0, 0, 3, 0xC0, 0x12, 0x34, 0x56, 0x78] + [UInt8](repeating: 0x5A, count: payload)
}

/// One protect + unprotect of a 100-byte payload, in place, with sequence numbers advancing so the
/// replay window accepts every packet.
func srtpBenchmark(_ profile: SRTPProtectionProfile) -> @Sendable (Benchmark) -> Void {
    { benchmark in
        let keys = SRTPKeyingMaterial(profile: profile, localMasterKey: .init(repeating: 1, count: 16),
                                      localMasterSalt: .init(repeating: 2, count: profile.saltLength),
                                      remoteMasterKey: .init(repeating: 3, count: 16),
                                      remoteMasterSalt: .init(repeating: 4, count: profile.saltLength))
        let a = try! SRTPSession(keys: keys), b = try! SRTPSession(keys: keys.mirrored)
        let template = makeRTP(payload: 100)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 2048, alignment: 16)
        defer { buffer.deallocate() }
        var seq: UInt16 = 1
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            template.withUnsafeBytes { buffer.copyMemory(from: $0) }
            seq &+= 1
            buffer[2] = UInt8(seq >> 8)
            buffer[3] = UInt8(seq & 0xFF)
            let n = try! a.outbound.protectRTP(buffer, length: template.count)
            blackHole(try! b.inbound.unprotectRTP(buffer, length: n))
        }
        benchmark.stopMeasurement()
    }
}

func tone(samples: Int, frequency: Double, rate: Double = 48_000) -> [Int16] {
    (0..<samples).map { Int16(8000 * sin(2 * .pi * frequency * Double($0) / rate)) }
}

/// Two PeerSessions connected in memory (ICE, DTLS, SRTP keyed), time advanced by hand: the media
/// path of one 20 ms Opus frame each way is what the per-packet benchmark measures.
final class InMemoryPair {
    let a: PeerSession, b: PeerSession
    let addrA = try! SocketAddress(ipAddress: "10.0.0.1", port: 40000)
    let addrB = try! SocketAddress(ipAddress: "10.0.0.2", port: 50000)
    var now = NIODeadline.uptimeNanoseconds(1_000_000_000)
    var buffer = ByteBufferAllocator().buffer(capacity: 1600)

    init() {
        a = PeerSession(hostAddresses: [addrA], random: .seeded(1), now: now)
        b = PeerSession(configuration: .serverRole, hostAddresses: [addrB], random: .seeded(2), now: now)
        let offer = a.createOffer(now: now)
        let answer = try! b.acceptOffer(try! SessionDescription(parsing: offer.text), now: now)
        try! a.applyAnswer(try! SessionDescription(parsing: answer.text), now: now)
        for _ in 0..<200 where a.state != .connected || b.state != .connected {
            now = now + .milliseconds(1)
            a.handleTimeout(now: now)
            b.handleTimeout(now: now)
            pump()
        }
        precondition(a.state == .connected && b.state == .connected, "the in-memory pair did not connect")
    }

    /// Moves every pending datagram to the other side until both are quiet.
    func pump() {
        var moved = true
        while moved {
            moved = false
            for (from, to, source) in [(a, b, addrA), (b, a, addrB)] {
                while from.pollTransmit(into: &buffer) != nil {
                    buffer.withUnsafeMutableReadableBytes { to.receive($0, from: source, now: now) }
                    buffer.clear()
                    moved = true
                }
            }
        }
    }
}

let benchmarks: @Sendable () -> Void = {
    Benchmark("Media path: one 20 ms Opus frame each way (encode, SRTP, demux, jitter buffer, decode)",
              configuration: .init(metrics: [.wallClock, .cpuTotal, .mallocCountTotal], timeUnits: .microseconds,
                                   warmupIterations: 50, maxDuration: .seconds(3), maxIterations: 2_000)) { benchmark in
        let pair = InMemoryPair()
        let pcm = tone(samples: 960, frequency: 440)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            pair.now = pair.now + .milliseconds(20)
            pcm.withUnsafeBufferPointer { p in
                pair.a.sendAudio(p, now: pair.now)
                pair.b.sendAudio(p, now: pair.now)
            }
            pair.pump()
            pair.a.handleTimeout(now: pair.now)
            pair.b.handleTimeout(now: pair.now)
            pair.pump()
            while let f = pair.a.pollFrame() { blackHole(f); pair.a.recycle(f) }
            while let f = pair.b.pollFrame() { blackHole(f); pair.b.recycle(f) }
        }
        benchmark.stopMeasurement()
    }

    Benchmark("SRTP protect+unprotect 100 B, AEAD_AES_128_GCM", configuration: micro, closure: srtpBenchmark(.aeadAES128GCM))
    Benchmark("SRTP protect+unprotect 100 B, AES_CM_128_HMAC_SHA1_80", configuration: micro, closure: srtpBenchmark(.aes128CMHMACSHA1_80))

    Benchmark("DTLS 1.2 handshake both ends, ECDSA P-256 (one SSL_CTX)",
              configuration: .init(metrics: [.wallClock, .cpuTotal, .mallocCountTotal], timeUnits: .microseconds,
                                   warmupIterations: 5, maxDuration: .seconds(5), maxIterations: 300)) { benchmark in
        let a = try! DTLSIdentity(), b = try! DTLSIdentity()
        let now = NIODeadline.uptimeNanoseconds(1)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            let c = try! DTLSEndpoint(identity: a, role: .client, remoteFingerprint: b.fingerprint)
            let s = try! DTLSEndpoint(identity: b, role: .server, remoteFingerprint: a.fingerprint)
            c.start(now: now)
            var done = 0
            while done < 2 {
                var moved = false
                while let d = c.pollTransmit() { s.receive(d, now: now); moved = true }
                while let d = s.pollTransmit() { c.receive(d, now: now); moved = true }
                while let e = c.pollEvent() { if case .connected = e { done += 1 } }
                while let e = s.pollEvent() { if case .connected = e { done += 1 } }
                precondition(moved || done == 2, "handshake stalled")
            }
        }
        benchmark.stopMeasurement()
    }

    for complexity in [0, 5, 10] {
        Benchmark("Opus encode 20 ms 48 kHz mono 32 kbit/s VOIP, complexity \(complexity)",
                  configuration: .init(metrics: [.wallClock, .cpuTotal, .mallocCountTotal], timeUnits: .microseconds,
                                       warmupIterations: 20, maxDuration: .seconds(3), maxIterations: 5_000)) { benchmark in
            let enc = try! OpusEncoder(OpusEncoderConfiguration(complexity: complexity))
            let pcm = tone(samples: 960 * 50, frequency: 440)
            var out = [UInt8](repeating: 0, count: 1500)
            var i = 0
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                let start = (i % 50) * 960
                i += 1
                let n = pcm.withUnsafeBufferPointer { p in
                    out.withUnsafeMutableBytes { try! enc.encode(pcm: UnsafeBufferPointer(rebasing: p[start..<start + 960]), into: $0) }
                }
                blackHole(n)
            }
            benchmark.stopMeasurement()
        }
    }

    Benchmark("Opus decode 20 ms 48 kHz mono",
              configuration: .init(metrics: [.wallClock, .cpuTotal, .mallocCountTotal], timeUnits: .microseconds,
                                   warmupIterations: 20, maxDuration: .seconds(3), maxIterations: 5_000)) { benchmark in
        let enc = try! OpusEncoder(OpusEncoderConfiguration(complexity: 5))
        let pcm = tone(samples: 960 * 50, frequency: 440)
        let packets = (0..<50).map { try! enc.encode(Array(pcm[$0 * 960..<($0 + 1) * 960])) }
        let dec = try! OpusDecoder()
        var out = [Int16](repeating: 0, count: 960)
        var i = 0
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            let p = packets[i % 50]
            i += 1
            let n = p.withUnsafeBytes { raw in out.withUnsafeMutableBufferPointer { try! dec.decode(payload: raw, into: $0) } }
            blackHole(n)
        }
        benchmark.stopMeasurement()
    }

    // The server core's cost per inbound frame must not grow with the number of connections (its
    // timers are a heap: a frame only moves a connection's idle-ping deadline later).
    for connections in [100, 10_000] {
        Benchmark("Verto server core: a frame on one of \(connections) logged-in connections, then the next deadline",
                  configuration: micro) { benchmark in
            var core = VertoServerCore(random: .seeded(1))
            let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000)
            var ids: [VertoConnectionID] = []
            for n in 0..<connections {
                let c = core.connectionOpened(now: t0)
                core.receive(c, #"{"jsonrpc":"2.0","id":1,"method":"login","params":{"login":"1000@d","passwd":"pw","sessid":"S\#(n)"}}"#, now: t0)
                while let o = core.pollOutput() {
                    if case .event(.authenticate(let req)) = o { core.completeLogin(req, decision: .accept(VertoUser(id: "1000")), now: t0) }
                }
                while core.pollOutput() != nil {}
                ids.append(c)
            }
            let ping = #"{"jsonrpc":"2.0","id":2,"method":"verto.ping","params":{}}"#
            var i = 0
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                let now = t0 + .microseconds(Int64(i))
                core.receive(ids[i % ids.count], ping, now: now)
                while let o = core.pollOutput() { blackHole(o) }
                blackHole(core.nextDeadline())
                i += 1
            }
            benchmark.stopMeasurement()
        }
    }
}
