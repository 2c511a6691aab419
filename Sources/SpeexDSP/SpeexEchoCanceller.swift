internal import CSpeexDSP
import MediaCore

/// Acoustic echo cancellation over speexdsp (an MDF adaptive filter, with its preprocessor's
/// residual-echo suppression, and optionally its noise suppression and AGC). Mono, 16-bit; one
/// frame in, one out. Not thread-safe: one owner (the audio device's thread or loop).
public final class SpeexEchoCanceller: EchoCanceller {
    private let echo: OpaquePointer
    private let preprocess: OpaquePointer
    public let frameSize: Int
    public let sampleRate: Int
    /// The longest echo path it models, in samples (the filter length).
    public let tailLength: Int

    /// - Parameters:
    ///   - frameSize: samples per frame (10–20 ms; 20 ms = 320 at 16 kHz).
    ///   - tail: how long an echo path it can cancel (the room's reverberation plus the device
    ///     latency); 200 ms by default.
    ///   - denoise, agc: the preprocessor's noise suppression and automatic gain control.
    public init(sampleRate: Int, frameSize: Int, tail: Duration = .milliseconds(200), denoise: Bool = false,
                agc: Bool = false) throws(SpeexDSPError) {
        let tailSamples = Int((tail / .milliseconds(1)) * Double(sampleRate) / 1000)
        guard sampleRate > 0, frameSize > 0, tailSamples >= frameSize,
              let e = speex_echo_state_init(Int32(frameSize), Int32(tailSamples)) else {
            throw SpeexDSPError("speex_echo_state_init(frame \(frameSize), tail \(tailSamples))")
        }
        guard let p = speex_preprocess_state_init(Int32(frameSize), Int32(sampleRate)) else {
            speex_echo_state_destroy(e)
            throw SpeexDSPError("speex_preprocess_state_init")
        }
        echo = e
        preprocess = p
        self.frameSize = frameSize
        self.sampleRate = sampleRate
        self.tailLength = tailSamples
        _ = cspeex_echo_set_sampling_rate(e, Int32(sampleRate))
        _ = cspeex_preprocess_set_echo_state(p, e)
        _ = cspeex_preprocess_set_denoise(p, denoise ? 1 : 0)
        _ = cspeex_preprocess_set_agc(p, agc ? 1 : 0)
    }

    deinit {
        speex_preprocess_state_destroy(preprocess)
        speex_echo_state_destroy(echo)
    }

    /// One frame: `capture` (microphone) with the echo of `playback` (what the loudspeaker played)
    /// removed. Frames of another length are a programming error.
    public func process(capture: [Int16], playback: [Int16]) -> [Int16] {
        precondition(capture.count == frameSize && playback.count == frameSize, "frames of frameSize samples")
        var out = [Int16](repeating: 0, count: frameSize)
        capture.withUnsafeBufferPointer { c in
            playback.withUnsafeBufferPointer { p in
                out.withUnsafeMutableBufferPointer { o in
                    speex_echo_cancellation(echo, c.baseAddress, p.baseAddress, o.baseAddress)
                }
            }
        }
        _ = out.withUnsafeMutableBufferPointer { speex_preprocess_run(preprocess, $0.baseAddress) }
        return out
    }

    /// Forgets the adapted echo path (a new device or call).
    public func reset() { speex_echo_state_reset(echo) }
}
