import CoreSupport
import MediaCore
import MediaNIO
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import TestSupport
@testable import PeerCore

/// A PeerSession on a real UDP socket (127.0.0.1) driven by MediaNIO, sending a tone every 20 ms
/// and keeping what it decodes.
final class LoopbackPeer: Sendable {
    let driver: DatagramDriver<PeerSession>
    private let received = NIOLockedValueBox<[Int16]>([])
    private let waiters = NIOLockedValueBox<[(Int, EventLoopPromise<Void>)]>([])
    private let ticker = NIOLockedValueBox<RepeatedTask?>(nil)

    private init(driver: DatagramDriver<PeerSession>) {
        self.driver = driver
    }

    static func make(on loop: EventLoop, configuration: PeerSessionConfiguration = PeerSessionConfiguration(),
                     seed: UInt64) async throws -> LoopbackPeer {
        let driver = try await DatagramDriver<PeerSession>.bind(host: "127.0.0.1", on: loop) { local in
            PeerSession(configuration: configuration, hostAddresses: [local], random: .seeded(seed), now: loop.now)
        }.get()
        return LoopbackPeer(driver: driver)
    }

    /// Starts sending `frequency` every 20 ms (frames before DTLS completes are dropped by the session).
    func startTone(_ frequency: Double) {
        let loop = driver.eventLoop
        let tone = NIOLoopBoundBox.makeBoxSendingValue(ToneGenerator(frequency: frequency, amplitude: 0.3, sampleRate: 48_000), eventLoop: loop)
        let task = loop.scheduleRepeatedTask(initialDelay: .zero, delay: .milliseconds(20)) { [self] _ in
            driver.withCoreOnLoop { core in
                let (rate, _) = core.audioFormat
                core.sendAudio(tone.value.generate(count: rate / 50), now: loop.now)
            }
            collect()
        }
        ticker.withLockedValue { $0 = task }
    }

    /// Moves decoded frames out of the session and wakes waiters.
    func collect() {
        let frames: [Int16] = driver.withCoreOnLoop { core in
            var all: [Int16] = []
            while let f = core.pollFrame() { all += f.samples }
            return all
        }
        let total = received.withLockedValue { $0 += frames; return $0.count }
        let due = waiters.withLockedValue { w -> [EventLoopPromise<Void>] in
            let d = w.filter { $0.0 <= total }.map(\.1)
            w.removeAll { $0.0 <= total }
            return d
        }
        due.forEach { $0.succeed() }
    }

    /// Waits until `samples` decoded samples arrived, or fails after `timeout`.
    func waitForAudio(samples: Int, timeout: TimeAmount = .seconds(10)) async throws {
        let loop = driver.eventLoop
        let promise = loop.makePromise(of: Void.self)
        waiters.withLockedValue { $0.append((samples, promise)) }
        let timer = loop.scheduleTask(in: timeout) { promise.fail(LoopbackTimeout()) }
        collectSoon()
        defer { timer.cancel() }
        try await promise.futureResult.get()
    }

    /// Waits until `frequency` dominates some 0.5 s window of the audio decoded from now on (windows
    /// stepped by 0.25 s), bounded by `timeout` on the wall clock; false when it never does.
    func hears(_ frequency: Double, timeout: Duration = .seconds(15)) async throws -> Bool {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        var start = audio.count
        while clock.now < deadline {
            let left = deadline - clock.now
            do {
                try await waitForAudio(samples: start + 24_000, timeout: .nanoseconds(left.components.seconds * 1_000_000_000
                                                                                        + left.components.attoseconds / 1_000_000_000))
            } catch is LoopbackTimeout {
                return false
            }
            let all = audio
            if dominantFrequency(Array(all[start..<start + 24_000])) == frequency { return true }
            start += 12_000
        }
        return false
    }

    private func collectSoon() { driver.eventLoop.execute { self.collect() } }

    var audio: [Int16] { received.withLockedValue { $0 } }

    func stop() async throws {
        ticker.withLockedValue { $0?.cancel() }
        try await driver.close().get()
    }
}

struct LoopbackTimeout: Error {}
