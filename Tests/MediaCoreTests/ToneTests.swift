import Foundation
import Testing
@testable import MediaCore

@Suite struct ToneAndGoertzelTests {
    @Test(arguments: [8000, 16000, 48000])
    func toneAt440IsDetectedAnd660IsNot(sampleRate: Int) {
        var g = ToneGenerator(frequency: 440, amplitude: 0.5, sampleRate: sampleRate)
        let frame = g.generate(count: sampleRate / 50)  // 20 ms
        let d = GoertzelDetector(sampleRate: sampleRate)
        #expect(d.detect(frequency: 440, in: frame))
        #expect(!d.detect(frequency: 660, in: frame))
        #expect(d.dominantFrequency(among: [440, 660], in: frame) == 440)
        #expect(d.relativePower(at: 440, in: frame) > 0.9)
        #expect(d.relativePower(at: 660, in: frame) < 0.05)
    }

    @Test func levelIndependence() {
        let d = GoertzelDetector(sampleRate: 48000)
        for dB in [-6.0, -20.0, -40.0] {
            var g = ToneGenerator(frequency: 1000, amplitude: ToneGenerator.amplitude(dBFS: dB), sampleRate: 48000)
            let frame = g.generate(count: 960)
            #expect(d.dominantFrequency(among: [440, 660, 1000], in: frame) == 1000, "at \(dB) dBFS")
            #expect(abs(d.levelDBFS(of: frame) - (dB - 3.01)) < 0.2)
        }
    }

    @Test func silenceAndNoiseHaveNoDominantFrequency() {
        let d = GoertzelDetector(sampleRate: 8000)
        #expect(d.dominantFrequency(among: [440, 660], in: [Int16](repeating: 0, count: 160)) == nil)
        var rng = SeededGenerator(seed: 1)
        let noise = (0..<1600).map { _ in Int16.random(in: -8000...8000, using: &rng) }
        #expect(d.dominantFrequency(among: [440, 660], in: noise) == nil)
    }

    /// Phase continuity: two frames generated in sequence equal one frame of twice the length.
    @Test func phaseContinuousAcrossFrames() {
        var a = ToneGenerator(frequency: 440, sampleRate: 8000)
        var b = ToneGenerator(frequency: 440, sampleRate: 8000)
        let joined = a.generate(count: 160) + a.generate(count: 160)
        #expect(joined == b.generate(count: 320))
        // And no jump at the boundary larger than the sine's largest step.
        let maxStep = joined.indices.dropFirst().map { abs(Int(joined[$0]) - Int(joined[$0 - 1])) }.max()!
        #expect(maxStep <= Int(0.5 * 32767 * 2 * Double.pi * 440 / 8000) + 2)
    }

    @Test func toneSurvivesLevelChangeAndAddedNoise() {
        var g = ToneGenerator(frequency: 660, amplitude: 0.25, sampleRate: 48000)
        var rng = SeededGenerator(seed: 5)
        var frame = g.generate(count: 960)
        for i in frame.indices {
            let scaled = Double(frame[i]) * 0.7 + Double(Int.random(in: -1500...1500, using: &rng))
            frame[i] = Int16(scaled)
        }
        let d = GoertzelDetector(sampleRate: 48000)
        #expect(d.dominantFrequency(among: [440, 660], in: frame) == 660)
        #expect(!d.detect(frequency: 440, in: frame))
    }

    @Test func dualToneAndStereoInterleave() {
        let (low, high) = DTMFDigitFrequencies.pair(for: "5")
        var g = ToneGenerator(frequencies: [low, high], amplitude: 0.25, sampleRate: 8000)
        let stereo = g.generate(count: 400, channels: 2)
        #expect(stereo.count == 800)
        let left = stride(from: 0, to: 800, by: 2).map { stereo[$0] }
        let right = stride(from: 1, to: 800, by: 2).map { stereo[$0] }
        #expect(left == right)
        let d = GoertzelDetector(sampleRate: 8000)
        #expect(d.relativePower(at: low, in: left) > 0.3 && d.relativePower(at: high, in: left) > 0.3)
        #expect(d.relativePower(at: 941, in: left) < 0.05)
    }
}

/// Test-local DTMF frequency pairs (ITU-T Q.23) to avoid depending on RTPCore's digit type here.
enum DTMFDigitFrequencies {
    static func pair(for c: Character) -> (Double, Double) {
        let keys: [Character] = ["1", "2", "3", "A", "4", "5", "6", "B", "7", "8", "9", "C", "*", "0", "#", "D"]
        let i = keys.firstIndex(of: c)!
        return ([697.0, 770, 852, 941][i / 4], [1209.0, 1336, 1477, 1633][i % 4])
    }
}
