import MediaCore
import NIOConcurrencyHelpers

/// A sound card (or any audio endpoint with its own clock) a call can use: capture delivers
/// frames as the device produces them, playout asks for the next frame when the device needs one.
/// Implementations: `PulseAudioDevice` (Linux: PulseAudio or PipeWire's pulse server).
public protocol AudioDevice: AnyObject, Sendable {
    /// Samples per second of both directions, and samples per frame (20 ms).
    var sampleRate: Int { get }
    var frameSamples: Int { get }
    /// Starts both directions on threads of the device's own. `capture` gets each microphone frame;
    /// `playout` is asked for the next loudspeaker frame (nil: silence). A device that fails or
    /// vanishes reports it once on `failure` and stops; the call goes on without it.
    func start(capture: @escaping @Sendable ([Int16]) -> Void, playout: @escaping @Sendable () -> [Int16]?,
               failure: @escaping @Sendable (String) -> Void) throws
    func stop()
}

/// A device's description as the system lists it.
public struct AudioDeviceInfo: Sendable, Hashable {
    public var name: String
    public var description: String
    public var isInput: Bool
    public var isDefault: Bool

    public init(name: String, description: String, isInput: Bool, isDefault: Bool) {
        self.name = name
        self.description = description
        self.isInput = isInput
        self.isDefault = isDefault
    }
}

/// Joins a call's media and an audio device: microphone frames (through the echo canceller, if
/// any) are sent into the call; the device's playout clock pulls each frame from the call's jitter
/// buffer (`MediaSession.pullPlayoutFrame`), so the drift between the device's clock and the
/// sender's is absorbed where the delay is managed (the buffer drops a frame to shrink, conceals to
/// stretch). Frames pass through a short hand-over buffer: above `maximumBufferedFrames` the oldest
/// is dropped, when empty the device plays silence (both counted).
public final class CallAudio: Sendable {
    public struct Counters: Sendable, Equatable {
        public var captured = 0
        public var played = 0
        public var underruns = 0
        public var dropped = 0
    }

    private struct State {
        /// Received samples waiting for the device (a FIFO of samples: frames of any length in,
        /// device frames out).
        var buffer: [Int16] = []
        var observing = false
        var counters = Counters()
        /// What the loudspeaker played, newest last: the echo canceller's reference.
        var reference: [[Int16]] = []
        var failure: String?
    }

    public let device: any AudioDevice
    public let media: MediaSession
    public let maximumBufferedFrames: Int
    private let state = NIOLockedValueBox(State())
    private let canceller: CaptureThreadCanceller

    /// The device must run at the call's rate (`media.sampleRate` once media is connected);
    /// `echoCanceller` at the device's rate and frame size.
    public init(device: any AudioDevice, media: MediaSession, echoCanceller: (any EchoCanceller)? = nil,
                maximumBufferedFrames: Int = 6) {
        self.device = device
        self.media = media
        self.maximumBufferedFrames = maximumBufferedFrames
        self.canceller = CaptureThreadCanceller(echoCanceller)
    }

    public var counters: Counters { state.withLockedValue { $0.counters } }
    /// Why the device stopped, if it failed.
    public var failure: String? { state.withLockedValue { $0.failure } }

    public func start() throws {
        let frame = device.frameSamples
        guard device.sampleRate == media.sampleRate else {
            throw VertoPhoneError.invalidState("the device runs at \(device.sampleRate) Hz, the call at \(media.sampleRate) Hz")
        }
        let observe = state.withLockedValue { s -> Bool in
            defer { s.observing = true }
            s.buffer = []
            s.reference = []
            s.failure = nil
            return !s.observing
        }
        media.setPlayoutPulled(true)
        if observe {
            let limit = maximumBufferedFrames * frame
            media.onFrame { [state] f in
                state.withLockedValue { s in
                    s.buffer += f.samples
                    if s.buffer.count > limit {
                        s.counters.dropped += (s.buffer.count - limit + frame - 1) / frame
                        s.buffer.removeFirst(s.buffer.count - limit)
                    }
                }
            }
        }
        do {
            try startDevice(frame: frame)
        } catch {
            media.setPlayoutPulled(false)
            throw error
        }
    }

    private func startDevice(frame: Int) throws {
        try device.start(
            capture: { [state, canceller, media] samples in
                let reference = state.withLockedValue { s -> [Int16]? in
                    s.counters.captured += 1
                    return s.reference.isEmpty ? nil : s.reference.removeFirst()
                }
                let cleaned: [Int16]
                if let aec = canceller.aec, samples.count == aec.frameSize {
                    cleaned = aec.process(capture: samples, playback: reference ?? [Int16](repeating: 0, count: samples.count))
                } else {
                    cleaned = samples
                }
                media.send(cleaned)
            },
            playout: { [state, media] in
                media.pullPlayoutFrame()
                return state.withLockedValue { s -> [Int16]? in
                    guard s.buffer.count >= frame else {
                        s.counters.underruns += 1
                        s.reference.append([Int16](repeating: 0, count: frame))
                        if s.reference.count > 25 { s.reference.removeFirst() }
                        return nil
                    }
                    let f = Array(s.buffer[0..<frame])
                    s.buffer.removeFirst(frame)
                    s.counters.played += 1
                    s.reference.append(f)
                    if s.reference.count > 25 { s.reference.removeFirst() }
                    return f
                }
            },
            failure: { [state, media] why in
                state.withLockedValue { $0.failure = why }
                // The call goes on without the device: the engine's timer takes the playout back.
                media.setPlayoutPulled(false)
            })
    }

    /// Stops the device (waiting for its threads) and gives the playout back to the engine. Not on
    /// the media's event loop: the device's playout thread may be waiting for it.
    public func stop() {
        precondition(!media.eventLoop.inEventLoop, "CallAudio.stop() must not run on the media's event loop")
        device.stop()
        media.setPlayoutPulled(false)
    }
}

/// The echo canceller, used only by the device's capture thread.
private final class CaptureThreadCanceller: @unchecked Sendable {
    // @unchecked, at a C-handle boundary: the canceller (speexdsp state) is touched only by the
    // device's capture thread, one frame at a time; nothing else reads or writes it.
    let aec: (any EchoCanceller)?
    init(_ aec: (any EchoCanceller)?) { self.aec = aec }
}

/// A change in the system's sound devices.
public enum AudioDeviceEvent: Sendable, Hashable {
    /// The watch is in place: every change from now on is reported.
    case watching
    /// A device appeared (plugged in, a new sink or source).
    case added(AudioDeviceInfo)
    /// A device went away.
    case removed(AudioDeviceInfo)
    /// The default input or output is now `name`.
    case defaultChanged(isInput: Bool, name: String)
    /// The sound server cannot be reached (gone, or never there); no more events follow.
    case serverUnavailable
}
