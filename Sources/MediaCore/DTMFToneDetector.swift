import Foundation
import RTPCore

/// Detects in-band DTMF (ITU-T Q.23 dual tones) with Goertzel filters at the 8 DTMF frequencies.
/// Level-independent like `GoertzelDetector`: a block holds a digit when its strongest row and
/// column tones together carry most of the block's energy, each carries a fair share, their levels
/// are within the allowed twist, and no other row or column tone comes close. No allocation.
public struct DTMFToneDetector: Sendable {
    public static let rowFrequencies: [Double] = [697, 770, 852, 941]
    public static let columnFrequencies: [Double] = [1209, 1336, 1477, 1633]
    private static let layout: [DTMFDigit] = [.d1, .d2, .d3, .a, .d4, .d5, .d6, .b, .d7, .d8, .d9, .c, .star, .d0, .pound, .d]

    public let goertzel: GoertzelDetector
    /// Share of the block's energy the two tones must carry together.
    public var minimumPairShare: Double
    /// Largest level difference between the two tones, in dB (Q.24 allows 4–8 dB of twist).
    public var maximumTwistDB: Double
    /// Quietest block considered, in dBFS.
    public var minimumLevelDBFS: Double

    public init(sampleRate: Int, minimumPairShare: Double = 0.6, maximumTwistDB: Double = 8, minimumLevelDBFS: Double = -45) {
        self.goertzel = GoertzelDetector(sampleRate: sampleRate)
        self.minimumPairShare = minimumPairShare
        self.maximumTwistDB = maximumTwistDB
        self.minimumLevelDBFS = minimumLevelDBFS
    }

    /// The digit present in this block (use ≥ 20 ms of audio), or nil.
    public func detect(in samples: UnsafeBufferPointer<Int16>) -> DTMFDigit? {
        guard goertzel.levelDBFS(of: samples) >= minimumLevelDBFS else { return nil }
        func strongest(_ freqs: [Double]) -> (index: Int, share: Double, second: Double) {
            var best = (index: 0, share: -1.0, second: -1.0)
            for (i, f) in freqs.enumerated() {
                let p = goertzel.relativePower(at: f, in: samples)
                if p > best.share {
                    best = (i, p, max(best.share, best.second))
                } else if p > best.second {
                    best.second = p
                }
            }
            return best
        }
        let row = strongest(Self.rowFrequencies)
        let col = strongest(Self.columnFrequencies)
        guard row.share > 0, col.share > 0, row.share + col.share >= minimumPairShare else { return nil }
        let twist = abs(10 * log10(row.share / col.share))
        guard twist <= maximumTwistDB else { return nil }
        // Other tones of the same group must be well below (6 dB).
        guard row.second * 4 < row.share, col.second * 4 < col.share else { return nil }
        return Self.layout[row.index * 4 + col.index]
    }

    public func detect(in samples: [Int16]) -> DTMFDigit? {
        samples.withUnsafeBufferPointer { detect(in: $0) }
    }
}

/// Turns a stream of fixed-size blocks into digits: a digit counts once it is seen in
/// `minimumBlocks` consecutive blocks, and a new digit needs a block without it in between.
public struct DTMFToneSequenceDetector: Sendable {
    public let detector: DTMFToneDetector
    public let minimumBlocks: Int
    private var candidate: DTMFDigit?
    private var run = 0
    private var reported = false

    public init(sampleRate: Int, minimumBlocks: Int = 2) {
        self.detector = DTMFToneDetector(sampleRate: sampleRate)
        self.minimumBlocks = max(minimumBlocks, 1)
    }

    /// Feeds one block; returns a digit the first time it has lasted long enough.
    public mutating func process(_ samples: UnsafeBufferPointer<Int16>) -> DTMFDigit? {
        let d = detector.detect(in: samples)
        if d != candidate {
            candidate = d
            run = d == nil ? 0 : 1
            reported = false
        } else if d != nil {
            run += 1
        }
        if let d, !reported, run >= minimumBlocks {
            reported = true
            return d
        }
        return nil
    }

    public mutating func process(_ samples: [Int16]) -> DTMFDigit? {
        samples.withUnsafeBufferPointer { process($0) }
    }
}
