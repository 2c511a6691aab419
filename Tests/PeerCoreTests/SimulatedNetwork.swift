import CoreSupport
import MediaCore
import NIOCore
@testable import PeerCore
import TestSupport

/// Two peer sessions joined by an in-memory network in virtual time, with seeded loss, delay and
/// reorder. Each side sends a tone every 20 ms once connected and keeps what it decodes.
final class SimulatedNetwork {
    let peers: [PeerSession]
    let addresses: [SocketAddress]
    var now: NIODeadline
    /// The datagrams in flight (TestSupport's `VirtualLink`).
    var link: VirtualLink<SocketAddress>

    /// Loss probability applied to media only (DTLS retransmission runs on OpenSSL's own clock,
    /// so handshakes stay loss-free in virtual time: docs/architecture.md).
    var mediaLoss: Double { get { link.loss } set { link.loss = newValue } }
    var delay: TimeAmount { get { link.delay } set { link.delay = newValue } }
    /// Extra random delay in [0, reorderJitter): packets overtake each other.
    var reorderJitter: TimeAmount { get { link.jitter } set { link.jitter = newValue } }
    /// Senders whose datagrams vanish (to test consent freshness).
    var silenced: Set<Int> = []

    var tones: [ToneGenerator]
    var received: [[Int16]] = [[], []]
    var dtmf: [[String]] = [[], []]
    var events: [[PeerEvent]] = [[], []]
    private var nextAudio: NIODeadline
    /// Samples per channel of each peer's frames (960: 20 ms at 48 kHz), sent every frame's length.
    var frameSamples = [960, 960]
    private let audioEpoch: NIODeadline
    /// A device clock per peer that pulls its playout (`PeerSession.pullPlayout`) this often; nil:
    /// the session's own 20 ms timer.
    var pullPeriod: [TimeAmount?] = [nil, nil] {
        didSet { for i in 0..<2 where pullPeriod[i] != nil { nextPull[i] = now } }
    }
    private var nextPull: [NIODeadline] = [.distantFuture, .distantFuture]
    /// Pulls made per peer.
    var pulls = [0, 0]
    /// Called after each pull (for sampling the buffer's state).
    var afterPull: ((Int) -> Void)?

    init(_ a: PeerSession, _ b: PeerSession, addresses: [SocketAddress], tones: [Double], now: NIODeadline, seed: UInt64) {
        peers = [a, b]
        self.addresses = addresses
        self.now = now
        self.link = VirtualLink(seed: seed)
        self.tones = tones.map { ToneGenerator(frequency: $0, amplitude: 0.3, sampleRate: 48_000) }
        nextAudio = now
        audioEpoch = now
    }

    func flush(_ i: Int) {
        var buffer = ByteBufferAllocator().buffer(capacity: 1600)
        while let to = peers[i].pollTransmit(into: &buffer) {
            let bytes = Array(buffer.readableBytesView)
            buffer.clear()
            guard addresses.contains(to), !silenced.contains(i) else { continue }
            let isMedia = bytes.first.map { $0 >= 128 && $0 <= 191 } ?? false  // RTP/RTCP (RFC 7983)
            link.send(bytes, from: addresses[i], to: to, sender: i, now: now, lossy: isMedia)
        }
    }

    func collect() {
        for i in 0..<2 {
            while let f = peers[i].pollFrame() { received[i] += f.samples }
            while let e = peers[i].pollEvent() {
                events[i].append(e)
                if case .dtmf(let d) = e { dtmf[i].append(d.description) }
            }
        }
    }

    /// Runs until `end`, in discrete events: deliveries, deadlines, and 20 ms audio ticks.
    func run(until end: NIODeadline, audio: Bool = true) {
        flush(0)
        flush(1)
        while now < end {
            var next = end
            if let d = link.nextDelivery { next = min(next, d) }
            for p in peers { if let d = p.nextDeadline() { next = min(next, d) } }
            if audio { next = min(next, nextAudio) }
            for i in 0..<2 where pullPeriod[i] != nil { next = min(next, nextPull[i]) }
            now = max(now, next)
            // Deliver everything due, in arrival order.
            while let d = link.takeNext(dueAt: now), let to = addresses.firstIndex(of: d.to) {
                var bytes = d.bytes
                bytes.withUnsafeMutableBytes { peers[to].receive($0, from: d.from, now: now) }
                flush(to)
            }
            for i in 0..<2 {
                if let d = peers[i].nextDeadline(), d <= now {
                    peers[i].handleTimeout(now: now)
                    flush(i)
                }
            }
            for i in 0..<2 {
                if let period = pullPeriod[i], now >= nextPull[i] {
                    nextPull[i] = nextPull[i] + period
                    peers[i].pullPlayout(now: now)
                    pulls[i] += 1
                    flush(i)
                    afterPull?(i)
                }
            }
            if audio, now >= nextAudio {
                nextAudio = now + .milliseconds(20)
                for i in 0..<2 where peers[i].state == .connected && (now - audioEpoch).nanoseconds % (Int64(frameSamples[i]) * 1_000_000 / 48) == 0 {
                    let pcm = tones[i].generate(count: frameSamples[i])
                    peers[i].sendAudio(pcm, now: now)
                    flush(i)
                }
            }
            collect()
        }
    }
}
