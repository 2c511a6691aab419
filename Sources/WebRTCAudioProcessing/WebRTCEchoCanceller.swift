internal import CWebRTCAudioProcessing
import MediaCore

/// Acoustic echo cancellation over webrtc-audio-processing (WebRTC's AudioProcessing module as
/// Debian ships it, 0.3: AEC with the extended filter and delay-agnostic mode, high-pass filter,
/// optional noise suppression and adaptive digital gain). It works on 10 ms frames; `process`
/// takes frames of `frameSize` (a multiple of 10 ms, 20 ms by default) and runs them 10 ms at a time.
/// Not thread-safe: one owner.
public final class WebRTCEchoCanceller: EchoCanceller {
    private let handle: OpaquePointer
    public let sampleRate: Int
    public let frameSize: Int
    /// Far end given → its echo at the microphone, as this device path measures it (ms).
    public var streamDelayMs: Int

    public init(sampleRate: Int, frameDuration: Duration = .milliseconds(20), streamDelayMs: Int = 50,
                noiseSuppression: Bool = false, gainControl: Bool = false) throws(WebRTCAudioProcessingError) {
        let tenMs = sampleRate / 100
        let frames = Int(frameDuration / .milliseconds(10))
        guard frames >= 1, let h = cwap_create(Int32(sampleRate), noiseSuppression ? 1 : 0, gainControl ? 1 : 0) else {
            throw WebRTCAudioProcessingError("AudioProcessing at \(sampleRate) Hz (8, 16, 32 or 48 kHz; 10 ms multiples)")
        }
        handle = h
        self.sampleRate = sampleRate
        self.frameSize = tenMs * frames
        self.streamDelayMs = streamDelayMs
    }

    deinit { cwap_destroy(handle) }

    public func process(capture: [Int16], playback: [Int16]) -> [Int16] {
        precondition(capture.count == frameSize && playback.count == frameSize, "frames of frameSize samples")
        let tenMs = sampleRate / 100
        var out = capture
        playback.withUnsafeBufferPointer { p in
            out.withUnsafeMutableBufferPointer { o in
                for start in stride(from: 0, to: frameSize, by: tenMs) {
                    _ = cwap_far_end(handle, p.baseAddress! + start)
                    _ = cwap_near_end(handle, o.baseAddress! + start, Int32(streamDelayMs))
                }
            }
        }
        return out
    }
}

/// webrtc-audio-processing could not be set up.
public struct WebRTCAudioProcessingError: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
