import Foundation

/// A sine (or sum of sines, e.g. a DTMF pair) generator into signed 16-bit PCM, at any sample rate,
/// phase-continuous across calls so consecutive frames join without clicks. No allocation per call.
public struct ToneGenerator: Sendable {
    public let sampleRate: Int
    /// Component frequencies in Hz.
    public let frequencies: [Double]
    /// Peak amplitude of each component as a fraction of full scale (0...1).
    public var amplitude: Double
    private var phases: [Double]
    private let increments: [Double]

    /// - Parameters:
    ///   - frequencies: one frequency for a pure tone, two for a dual tone.
    ///   - amplitude: per component, as a fraction of full scale; the sum is clipped to Int16.
    public init(frequencies: [Double], amplitude: Double = 0.5, sampleRate: Int) {
        self.sampleRate = sampleRate
        self.frequencies = frequencies
        self.amplitude = amplitude
        self.phases = [Double](repeating: 0, count: frequencies.count)
        self.increments = frequencies.map { 2 * Double.pi * $0 / Double(max(sampleRate, 1)) }
    }

    public init(frequency: Double, amplitude: Double = 0.5, sampleRate: Int) {
        self.init(frequencies: [frequency], amplitude: amplitude, sampleRate: sampleRate)
    }

    /// An amplitude given in dBFS (0 dBFS = full-scale peak).
    public static func amplitude(dBFS: Double) -> Double { pow(10, dBFS / 20) }

    /// Fills `buffer` with the next samples, interleaved over `channels` (the same value in each).
    public mutating func fill(_ buffer: UnsafeMutableBufferPointer<Int16>, channels: Int = 1) {
        let ch = max(channels, 1)
        let frames = buffer.count / ch
        let scale = amplitude * 32767
        for f in 0..<frames {
            var v = 0.0
            for k in 0..<phases.count {
                v += sin(phases[k])
                phases[k] += increments[k]
                if phases[k] >= 2 * Double.pi { phases[k] -= 2 * Double.pi }
            }
            let s = Int16(max(-32768, min(32767, (v * scale).rounded())))
            for c in 0..<ch { buffer[f * ch + c] = s }
        }
    }

    /// The next `count` samples (per channel) as a new array (convenience; allocates).
    public mutating func generate(count: Int, channels: Int = 1) -> [Int16] {
        var out = [Int16](repeating: 0, count: count * max(channels, 1))
        out.withUnsafeMutableBufferPointer { fill($0, channels: channels) }
        return out
    }
}
