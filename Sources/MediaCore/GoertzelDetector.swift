import Foundation

/// Tone detection with the Goertzel algorithm (a single DFT bin evaluated at any frequency), used by
/// tests and the demo to check audio by content: "440 Hz present, 660 Hz absent".
///
/// Levels are reported as the share of the block's energy found at a frequency (0...1; a pure sine
/// at exactly that frequency gives ≈ 1), so detection does not depend on the signal level — gain
/// changes of a few dB or codec coloring (Opus, G.711) leave the decision unchanged. No allocation.
public struct GoertzelDetector: Sendable {
    public let sampleRate: Int

    public init(sampleRate: Int) {
        self.sampleRate = sampleRate
    }

    /// The squared magnitude of the DFT of `samples` at `frequency` (Goertzel recurrence).
    public func power(at frequency: Double, in samples: UnsafeBufferPointer<Int16>) -> Double {
        let w = 2 * Double.pi * frequency / Double(sampleRate)
        let coeff = 2 * cos(w)
        var s1 = 0.0, s2 = 0.0
        for x in samples {
            let s0 = Double(x) + coeff * s1 - s2
            s2 = s1
            s1 = s0
        }
        // |X(w)|^2 for a possibly non-integer bin.
        return s1 * s1 + s2 * s2 - coeff * s1 * s2
    }

    /// Total energy Σx² of the block.
    public func energy(of samples: UnsafeBufferPointer<Int16>) -> Double {
        var e = 0.0
        for x in samples { e += Double(x) * Double(x) }
        return e
    }

    /// Share of the block's energy at `frequency`: 2·|X(f)|² / (N·Σx²). ≈1 for a pure tone at f,
    /// ≈0 when f is absent; 0 for a silent block.
    public func relativePower(at frequency: Double, in samples: UnsafeBufferPointer<Int16>) -> Double {
        let e = energy(of: samples)
        guard e > 0, samples.count > 0 else { return 0 }
        return min(1, 2 * power(at: frequency, in: samples) / (Double(samples.count) * e))
    }

    /// RMS level of the block in dBFS (full-scale sine ≈ −3 dBFS); −infinity when silent.
    public func levelDBFS(of samples: UnsafeBufferPointer<Int16>) -> Double {
        guard samples.count > 0 else { return -.infinity }
        let rms = (energy(of: samples) / Double(samples.count)).squareRoot()
        return rms > 0 ? 20 * log10(rms / 32768) : -.infinity
    }

    /// True when `frequency` carries at least `minimumShare` of the block's energy and the block is
    /// louder than `minimumLevelDBFS`.
    public func detect(frequency: Double, in samples: UnsafeBufferPointer<Int16>, minimumShare: Double = 0.25,
                       minimumLevelDBFS: Double = -50) -> Bool {
        levelDBFS(of: samples) >= minimumLevelDBFS && relativePower(at: frequency, in: samples) >= minimumShare
    }

    /// The candidate carrying the most energy, if it carries at least `minimumShare` of the block's
    /// energy and the block is louder than `minimumLevelDBFS`; nil otherwise (silence, noise, or a tone
    /// that is not among the candidates).
    public func dominantFrequency(among candidates: [Double], in samples: UnsafeBufferPointer<Int16>,
                                  minimumShare: Double = 0.25, minimumLevelDBFS: Double = -50) -> Double? {
        guard levelDBFS(of: samples) >= minimumLevelDBFS else { return nil }
        var best: (Double, Double)?
        for f in candidates {
            let p = relativePower(at: f, in: samples)
            if p > (best?.1 ?? -1) { best = (f, p) }
        }
        guard let b = best, b.1 >= minimumShare else { return nil }
        return b.0
    }

    /// Array conveniences.
    public func detect(frequency: Double, in samples: [Int16], minimumShare: Double = 0.25,
                       minimumLevelDBFS: Double = -50) -> Bool {
        samples.withUnsafeBufferPointer {
            detect(frequency: frequency, in: $0, minimumShare: minimumShare, minimumLevelDBFS: minimumLevelDBFS)
        }
    }

    public func dominantFrequency(among candidates: [Double], in samples: [Int16], minimumShare: Double = 0.25,
                                  minimumLevelDBFS: Double = -50) -> Double? {
        samples.withUnsafeBufferPointer {
            dominantFrequency(among: candidates, in: $0, minimumShare: minimumShare, minimumLevelDBFS: minimumLevelDBFS)
        }
    }

    public func relativePower(at frequency: Double, in samples: [Int16]) -> Double {
        samples.withUnsafeBufferPointer { relativePower(at: frequency, in: $0) }
    }

    public func levelDBFS(of samples: [Int16]) -> Double {
        samples.withUnsafeBufferPointer { levelDBFS(of: $0) }
    }
}
