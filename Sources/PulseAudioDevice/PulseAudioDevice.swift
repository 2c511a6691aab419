internal import CPulseAudio
import Foundation
import NIOConcurrencyHelpers
import VertoPhone

/// Why a PulseAudio device could not be used.
public struct PulseAudioError: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// An `AudioDevice` on PulseAudio (or PipeWire's pulse server): a capture stream and a playback
/// stream of 16-bit mono at the call's rate, each on a thread of its own that blocks in libpulse
/// until the device has taken or given a frame, so the sound card's clock paces both directions.
public final class PulseAudioDevice: AudioDevice {
    public let sampleRate: Int
    public let frameSamples: Int
    /// nil: the default devices.
    public let input: String?
    public let output: String?
    /// nil: the default server (PULSE_SERVER or the user's).
    public let server: String?

    /// The current run's flags (fresh per start, so threads of an earlier run never resume).
    private let run = NIOLockedValueBox<(running: NIOLockedValueBox<Bool>, finished: NIOLockedValueBox<Int>)?>(nil)

    public init(input: String? = nil, output: String? = nil, server: String? = nil, sampleRate: Int = 48_000,
                frameDuration: Duration = .milliseconds(20)) {
        self.input = input
        self.output = output
        self.server = server
        self.sampleRate = sampleRate
        self.frameSamples = Int(Double(sampleRate) * (frameDuration / .milliseconds(1)) / 1000)
    }

    /// The server's sinks (outputs) and sources (inputs, monitors included), defaults marked.
    public static func devices(server: String? = nil) throws(PulseAudioError) -> [AudioDeviceInfo] {
        final class Collector { var list: [(Bool, String, String)] = [] }
        let collector = Collector()
        var defaultSink = [CChar](repeating: 0, count: 256), defaultSource = [CChar](repeating: 0, count: 256)
        let ok = withExtendedLifetime(collector) {
            cpulse_list_devices(server, { ctx, isInput, name, description in
                guard let ctx, let name else { return }
                let c = Unmanaged<Collector>.fromOpaque(ctx).takeUnretainedValue()
                c.list.append((isInput != 0, String(cString: name), description.map { String(cString: $0) } ?? String(cString: name)))
            }, Unmanaged.passUnretained(collector).toOpaque(), &defaultSink, 256, &defaultSource, 256)
        }
        guard ok == 0 else { throw PulseAudioError("cannot reach the PulseAudio server\(server.map { " at \($0)" } ?? "")") }
        func text(_ chars: [CChar]) -> String { String(decoding: chars.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) }
        let sink = text(defaultSink), source = text(defaultSource)
        return collector.list.map { isInput, name, description in
            AudioDeviceInfo(name: name, description: description, isInput: isInput, isDefault: name == (isInput ? source : sink))
        }
    }

    public func start(capture: @escaping @Sendable ([Int16]) -> Void, playout: @escaping @Sendable () -> [Int16]?,
                      failure: @escaping @Sendable (String) -> Void) throws {
        let running = NIOLockedValueBox(true), finished = NIOLockedValueBox(0)
        try run.withLockedValue { current in
            if let current, current.finished.withLockedValue({ $0 }) < 2 {
                throw PulseAudioError("already running (stop it first)")
            }
            current = (running, finished)
        }
        var error: Int32 = 0
        // Open both before starting either: a missing device is a typed error here, not a thread's.
        guard let rec = cpulse_open(server, "vertophone", 1, input, UInt32(sampleRate), UInt32(frameSamples), &error) else {
            run.withLockedValue { $0 = nil }
            throw PulseAudioError("capture \(input ?? "(default)"): \(String(cString: cpulse_strerror(error)))")
        }
        guard let play = cpulse_open(server, "vertophone", 0, output, UInt32(sampleRate), UInt32(frameSamples), &error) else {
            cpulse_close(rec)
            run.withLockedValue { $0 = nil }
            throw PulseAudioError("playout \(output ?? "(default)"): \(String(cString: cpulse_strerror(error)))")
        }
        let frame = frameSamples
        let streams = Streams(record: rec, play: play)
        let reported = NIOLockedValueBox(false)
        let fail: @Sendable (String) -> Void = { why in
            running.withLockedValue { $0 = false }
            if !reported.withLockedValue({ let r = $0; $0 = true; return r }) { failure(why) }
        }
        Thread.detachNewThread {
            var buffer = [Int16](repeating: 0, count: frame)
            var err: Int32 = 0
            while running.withLockedValue({ $0 }) {
                let r = buffer.withUnsafeMutableBufferPointer { cpulse_read(streams.record, $0.baseAddress, frame, &err) }
                if r != 0 { fail("capture: \(String(cString: cpulse_strerror(err)))"); break }
                capture(buffer)
            }
            streams.closeRecord()
            finished.withLockedValue { $0 += 1 }
        }
        Thread.detachNewThread {
            let silence = [Int16](repeating: 0, count: frame)
            var err: Int32 = 0
            while running.withLockedValue({ $0 }) {
                var next = playout() ?? silence
                if next.count != frame { next = silence }
                let r = next.withUnsafeBufferPointer { cpulse_write(streams.play, $0.baseAddress, frame, &err) }
                if r != 0 { fail("playout: \(String(cString: cpulse_strerror(err)))"); break }
            }
            streams.closePlay()
            finished.withLockedValue { $0 += 1 }
        }
    }

    /// Stops both directions; returns once both threads have left (within a frame or two).
    public func stop() {
        guard let current = run.withLockedValue({ $0 }) else { return }
        current.running.withLockedValue { $0 = false }
        let deadline = Date().addingTimeInterval(2)
        while current.finished.withLockedValue({ $0 }) < 2, Date() < deadline { usleep(2_000) }
    }
}

/// The two libpulse streams, each closed by the thread that used it.
private final class Streams: @unchecked Sendable {
    // @unchecked, at a C-handle boundary: `record` is used and closed only by the capture thread,
    // `play` only by the playout thread.
    let record: OpaquePointer
    let play: OpaquePointer
    init(record: OpaquePointer, play: OpaquePointer) {
        self.record = record
        self.play = play
    }
    func closeRecord() { cpulse_close(record) }
    func closePlay() { cpulse_close(play) }
}

extension PulseAudioDevice {
    /// Hot-plug and default-device changes: the device list is taken again on each change the
    /// server reports and compared with the last one. The stream ends with `.serverUnavailable`
    /// if the server goes away; cancelling the consumer stops the watch (within 10 ms).
    public static func deviceEvents(server: String? = nil) -> AsyncStream<AudioDeviceEvent> {
        let (stream, continuation) = AsyncStream.makeStream(of: AudioDeviceEvent.self, bufferingPolicy: .bufferingNewest(100))
        guard let watcher = DeviceWatcher(server: server, continuation: continuation) else {
            continuation.yield(.serverUnavailable)
            continuation.finish()
            return stream
        }
        continuation.onTermination = { _ in watcher.requestStop() }
        Thread.detachNewThread { watcher.run() }
        return stream
    }
}

/// Runs `cpulse_watch` on its thread and turns each change into events.
private final class DeviceWatcher: @unchecked Sendable {
    // @unchecked, at a C-handle boundary: `stop` is a C11 atomic flag (set from any thread, read by
    // the watch loop) freed only in deinit, after the loop has returned (the thread keeps `self`
    // alive while it runs); `last` is behind a lock; the rest is immutable.
    let server: String?
    let continuation: AsyncStream<AudioDeviceEvent>.Continuation
    let stop: OpaquePointer
    let last: NIOLockedValueBox<[AudioDeviceInfo]>

    init?(server: String?, continuation: AsyncStream<AudioDeviceEvent>.Continuation) {
        guard let flag = cpulse_flag_new() else { return nil }
        self.server = server
        self.continuation = continuation
        stop = flag
        last = NIOLockedValueBox((try? PulseAudioDevice.devices(server: server)) ?? [])
    }

    deinit { cpulse_flag_free(stop) }

    func requestStop() { cpulse_flag_set(stop) }

    func run() {
        let result = withExtendedLifetime(self) {
            cpulse_watch(server, { ctx in
                guard let ctx else { return }
                Unmanaged<DeviceWatcher>.fromOpaque(ctx).takeUnretainedValue().subscribed()
            }, { ctx in
                guard let ctx else { return }
                Unmanaged<DeviceWatcher>.fromOpaque(ctx).takeUnretainedValue().changed()
            }, Unmanaged.passUnretained(self).toOpaque(), stop)
        }
        if result != 0 { continuation.yield(.serverUnavailable) }
        continuation.finish()
    }

    /// The subscription is in place: the baseline is taken now, so nothing falls between.
    func subscribed() {
        if let now = try? PulseAudioDevice.devices(server: server) { last.withLockedValue { $0 = now } }
        continuation.yield(.watching)
    }

    /// Called on the watch thread: list again, report the differences.
    func changed() {
        guard let now = try? PulseAudioDevice.devices(server: server) else { return }
        let before = last.withLockedValue { old -> [AudioDeviceInfo] in
            defer { old = now }
            return old
        }
        func key(_ d: AudioDeviceInfo) -> String { "\(d.isInput) \(d.name)" }
        let oldKeys = Set(before.map(key)), newKeys = Set(now.map(key))
        for d in now where !oldKeys.contains(key(d)) { continuation.yield(.added(d)) }
        for d in before where !newKeys.contains(key(d)) { continuation.yield(.removed(d)) }
        for isInput in [false, true] {
            let was = before.first { $0.isInput == isInput && $0.isDefault }?.name
            if let name = now.first(where: { $0.isInput == isInput && $0.isDefault })?.name, name != was {
                continuation.yield(.defaultChanged(isInput: isInput, name: name))
            }
        }
    }
}
