#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Audio-processing protocols (MediaCore owns them; the SpeexDSP module implements them), so an
/// application or a device path can pick an implementation without depending on its library.

/// Acoustic echo cancellation: removes from the microphone signal what the loudspeaker played,
/// as it came back through the room (a linear filter adapted to the echo path), frame by frame.
public protocol EchoCanceller: AnyObject {
    /// Samples per frame, both arguments and the result.
    var frameSize: Int { get }
    var sampleRate: Int { get }
    /// `capture`: the microphone's frame; `playback`: the frame the loudspeaker played at the same
    /// time (the far end). Returns the capture with the echo removed.
    func process(capture: [Int16], playback: [Int16]) -> [Int16]
}

/// Sample-rate conversion with an anti-aliasing filter (a stateful stream: call `process` with
/// consecutive chunks).
public protocol Resampler: AnyObject {
    var inputRate: Int { get }
    var outputRate: Int { get }
    func process(_ input: [Int16]) -> [Int16]
}

/// Echo return loss enhancement (ITU-T G.168): how much quieter the echo is after cancellation,
/// 10·log10(power of `echo` / power of `residual`) in dB.
public func echoReturnLossEnhancement(echo: [Int16], residual: [Int16]) -> Double {
    func power(_ x: [Int16]) -> Double { x.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(max(1, x.count)) }
    return 10 * log10(power(echo) / max(power(residual), 1e-9))
}
