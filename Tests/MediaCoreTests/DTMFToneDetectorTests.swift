import RTPCore
import Testing
@testable import MediaCore

@Suite struct DTMFToneDetectorTests {
    static func tone(_ digit: DTMFDigit, ms: Int, sampleRate: Int, amplitude: Double = 0.25) -> [Int16] {
        let f = digit.frequencies
        var g = ToneGenerator(frequencies: [f.low, f.high], amplitude: amplitude, sampleRate: sampleRate)
        return g.generate(count: sampleRate * ms / 1000)
    }

    @Test(arguments: DTMFDigit.allCases)
    func everyDigitIsDetected(_ digit: DTMFDigit) {
        let d = DTMFToneDetector(sampleRate: 8000)
        #expect(d.detect(in: Self.tone(digit, ms: 40, sampleRate: 8000)) == digit)
    }

    @Test func singleTonesSilenceAndNoiseAreNotDigits() {
        let d = DTMFToneDetector(sampleRate: 8000)
        var g = ToneGenerator(frequency: 697, amplitude: 0.5, sampleRate: 8000)
        #expect(d.detect(in: g.generate(count: 320)) == nil)
        #expect(d.detect(in: [Int16](repeating: 0, count: 320)) == nil)
        var rng = SeededGenerator(seed: 3)
        #expect(d.detect(in: (0..<320).map { _ in Int16.random(in: -10000...10000, using: &rng) }) == nil)
        var speechish = ToneGenerator(frequencies: [440, 660, 1000], amplitude: 0.2, sampleRate: 8000)
        #expect(d.detect(in: speechish.generate(count: 320)) == nil)
    }

    @Test func excessiveTwistIsRejected() {
        let d = DTMFToneDetector(sampleRate: 8000)
        var low = ToneGenerator(frequency: 770, amplitude: 0.5, sampleRate: 8000)
        var high = ToneGenerator(frequency: 1336, amplitude: 0.05, sampleRate: 8000)  // 20 dB below
        let a = low.generate(count: 320), b = high.generate(count: 320)
        #expect(d.detect(in: zip(a, b).map { $0 &+ $1 }) == nil)
    }

    /// "1234#" at 48 kHz in 20 ms blocks, 100 ms tones with 60 ms gaps, G.711-free: each digit once.
    @Test func sequenceDetectorReportsEachDigitOnce() {
        var seq = DTMFToneSequenceDetector(sampleRate: 48000)
        var audio: [Int16] = []
        for digit in DTMFDigit.digits("1234#")! {
            audio += Self.tone(digit, ms: 100, sampleRate: 48000)
            audio += [Int16](repeating: 0, count: 48 * 60)
        }
        var found = ""
        for start in stride(from: 0, to: audio.count - 959, by: 960) {
            if let d = seq.process(Array(audio[start..<(start + 960)])) { found.append(d.character) }
        }
        #expect(found == "1234#")
    }

    @Test func survivesG711() throws {
        let enc = G711Encoder(law: .alaw), dec = G711Decoder(law: .alaw)
        let pcm = Self.tone(.d9, ms: 40, sampleRate: 8000, amplitude: 0.2)
        var bytes = [UInt8](repeating: 0, count: pcm.count)
        var out = [Int16](repeating: 0, count: pcm.count)
        _ = try pcm.withUnsafeBufferPointer { p in try bytes.withUnsafeMutableBytes { try enc.encode(pcm: p, into: $0) } }
        _ = try bytes.withUnsafeBytes { p in try out.withUnsafeMutableBufferPointer { try dec.decode(payload: p, into: $0) } }
        #expect(DTMFToneDetector(sampleRate: 8000).detect(in: out) == .d9)
    }
}
