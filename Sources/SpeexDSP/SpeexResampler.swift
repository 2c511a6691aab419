internal import CSpeexDSP
import MediaCore

/// Sample-rate conversion over speexdsp's resampler (a windowed-sinc filter: what is above the
/// lower Nyquist frequency is filtered out, not folded back as a linear interpolation would).
/// Mono, 16-bit. Not thread-safe: one owner.
public final class SpeexResampler: Resampler {
    private let handle: OpaquePointer
    public let inputRate: Int
    public let outputRate: Int
    /// Samples the filter delays the output by, at the input rate.
    public let inputLatency: Int

    /// `quality` 0–10 (speexdsp's scale: 3 is its VoIP default, 10 the best); default 5.
    public init(from inputRate: Int, to outputRate: Int, quality: Int = 5) throws(SpeexDSPError) {
        guard inputRate > 0, outputRate > 0 else { throw SpeexDSPError("resampler rates \(inputRate) → \(outputRate)") }
        var err: Int32 = 0
        guard let h = speex_resampler_init(1, UInt32(inputRate), UInt32(outputRate), Int32(min(max(quality, 0), 10)), &err),
              err == 0 else {
            throw SpeexDSPError("speex_resampler_init: \(String(cString: speex_resampler_strerror(err)))")
        }
        handle = h
        self.inputRate = inputRate
        self.outputRate = outputRate
        inputLatency = Int(speex_resampler_get_input_latency(h))
        // The filter's delay is dropped from the start of the output.
        speex_resampler_skip_zeros(h)
    }

    deinit { speex_resampler_destroy(handle) }

    /// Converts the next chunk of the stream.
    public func process(_ input: [Int16]) -> [Int16] {
        guard !input.isEmpty else { return [] }
        var out = [Int16](repeating: 0, count: input.count * outputRate / inputRate + 64)
        var consumed = 0, produced = 0
        input.withUnsafeBufferPointer { inp in
            out.withUnsafeMutableBufferPointer { o in
                while consumed < inp.count {
                    var inLen = UInt32(inp.count - consumed), outLen = UInt32(o.count - produced)
                    _ = speex_resampler_process_int(handle, 0, inp.baseAddress! + consumed, &inLen, o.baseAddress! + produced, &outLen)
                    consumed += Int(inLen)
                    produced += Int(outLen)
                    if inLen == 0 && outLen == 0 { break }
                }
            }
        }
        return Array(out[0..<produced])
    }

    /// Converts a whole signal at once: the filter's delay removed at the start and its tail
    /// flushed at the end, so the output has `input.count * outputRate / inputRate` samples.
    public static func resample(_ input: [Int16], from inputRate: Int, to outputRate: Int, quality: Int = 5) throws(SpeexDSPError) -> [Int16] {
        guard inputRate != outputRate, !input.isEmpty else { return input }
        let r = try SpeexResampler(from: inputRate, to: outputRate, quality: quality)
        var out = r.process(input)
        out += r.process([Int16](repeating: 0, count: r.inputLatency))
        let expected = input.count * outputRate / inputRate
        if out.count > expected { out.removeLast(out.count - expected) }
        return out
    }
}

/// A speexdsp call failed.
public struct SpeexDSPError: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
