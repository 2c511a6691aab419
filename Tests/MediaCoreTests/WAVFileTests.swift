import Testing
import TestSupport
@testable import MediaCore

@Suite struct WAVFileTests {
    @Test func roundTrip() throws {
        var g = ToneGenerator(frequency: 440, sampleRate: 16000)
        let wav = WAVFile(sampleRate: 16000, channels: 2, samples: g.generate(count: 1600, channels: 2))
        let bytes = wav.serialize()
        #expect(bytes.count == 44 + 6400)
        #expect(Array(bytes[0..<4]) == Array("RIFF".utf8) && Array(bytes[8..<16]) == Array("WAVEfmt ".utf8))
        let back = try WAVFile(parsing: bytes)
        #expect(back == wav)
        #expect(back.frameCount == 1600)
    }

    /// A hand-written file: PCM mono 8 kHz, a LIST chunk of odd size (with its pad byte) before data.
    @Test func skipsUnknownChunksWithPadding() throws {
        let bytes: [UInt8] =
            Array("RIFF".utf8) + [0x2F, 0, 0, 0] + Array("WAVE".utf8)
            + Array("fmt ".utf8) + [16, 0, 0, 0, 1, 0, 1, 0, 0x40, 0x1F, 0, 0, 0x80, 0x3E, 0, 0, 2, 0, 16, 0]
            + Array("LIST".utf8) + [3, 0, 0, 0, 0x61, 0x62, 0x63, 0]
            + Array("data".utf8) + [4, 0, 0, 0, 0x01, 0x00, 0xFF, 0xFF]
        let wav = try WAVFile(parsing: bytes)
        #expect(wav.sampleRate == 8000 && wav.channels == 1 && wav.samples == [1, -1])
    }

    @Test func extensiblePCMAndStreamingDataSize() throws {
        var fmt: [UInt8] = [0xFE, 0xFF, 1, 0, 0x80, 0xBB, 0, 0, 0x00, 0x77, 0x01, 0, 2, 0, 16, 0, 22, 0, 16, 0, 4, 0, 0, 0]
        fmt += [1, 0, 0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xAA, 0, 0x38, 0x9B, 0x71]  // KSDATAFORMAT_SUBTYPE_PCM
        let bytes: [UInt8] = Array("RIFF".utf8) + [0xFF, 0xFF, 0xFF, 0xFF] + Array("WAVE".utf8)
            + Array("fmt ".utf8) + [40, 0, 0, 0] + fmt
            + Array("data".utf8) + [0xFF, 0xFF, 0xFF, 0xFF] + [0x10, 0x00, 0x20, 0x00, 0x30]  // trailing partial sample
        let wav = try WAVFile(parsing: bytes)
        #expect(wav.sampleRate == 48000 && wav.channels == 1 && wav.samples == [16, 32])
    }

    static let malformed: [(String, [UInt8])] = {
        let fmt = Array("fmt ".utf8) + [16, 0, 0, 0, 1, 0, 1, 0, 0x40, 0x1F, 0, 0, 0x80, 0x3E, 0, 0, 2, 0, 16, 0]
        let head = Array("RIFF".utf8) + [0, 0, 0, 0] + Array("WAVE".utf8)
        return [
            ("empty", []),
            ("not RIFF", Array("RIFX".utf8) + [0, 0, 0, 0] + Array("WAVE".utf8)),
            ("not WAVE", Array("RIFF".utf8) + [0, 0, 0, 0] + Array("AVI ".utf8)),
            ("no chunks", head),
            ("no data", head + fmt),
            ("no fmt", head + Array("data".utf8) + [2, 0, 0, 0, 1, 0]),
            ("data too long", head + fmt + Array("data".utf8) + [9, 0, 0, 0, 1, 0]),
            ("chunk too long", head + Array("LIST".utf8) + [50, 0, 0, 0, 1]),
            ("short fmt", head + Array("fmt ".utf8) + [4, 0, 0, 0, 1, 0, 1, 0]),
            ("zero channels", head + Array("fmt ".utf8) + [16, 0, 0, 0, 1, 0, 0, 0, 0x40, 0x1F, 0, 0, 0, 0, 0, 0, 0, 0, 16, 0]),
            ("bad block align", head + Array("fmt ".utf8) + [16, 0, 0, 0, 1, 0, 1, 0, 0x40, 0x1F, 0, 0, 0, 0, 0, 0, 4, 0, 16, 0]),
        ]
    }()

    @Test(arguments: malformed)
    func malformedFilesAreTyped(_ v: (String, [UInt8])) {
        #expect(throws: MediaError.self, "\(v.0)") { _ = try WAVFile(parsing: v.1) }
        do {
            _ = try WAVFile(parsing: v.1)
        } catch {
            if case .malformedWAV = error {} else { Issue.record("\(v.0): expected malformedWAV, got \(error)") }
        }
    }

    @Test func unsupportedEncodings() {
        let head = Array("RIFF".utf8) + [0, 0, 0, 0] + Array("WAVE".utf8)
        let float32 = head + Array("fmt ".utf8) + [16, 0, 0, 0, 3, 0, 1, 0, 0x40, 0x1F, 0, 0, 0, 0, 0, 0, 4, 0, 32, 0]
        let pcm8 = head + Array("fmt ".utf8) + [16, 0, 0, 0, 1, 0, 1, 0, 0x40, 0x1F, 0, 0, 0, 0, 0, 0, 1, 0, 8, 0]
        #expect(throws: MediaError.unsupported("WAV format tag 3 (only PCM)")) { _ = try WAVFile(parsing: float32) }
        #expect(throws: MediaError.unsupported("8-bit WAV samples (only 16-bit)")) { _ = try WAVFile(parsing: pcm8) }
    }

    @Test(.cpuBound, arguments: [11, 12, 13])
    func randomAndMutatedBytesNeverTrap(seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        let valid = WAVFile(sampleRate: 8000, samples: [1, 2, 3, 4, 5]).serialize()
        for _ in 0..<3000 {
            var b: [UInt8]
            if Bool.random(using: &rng) {
                b = (0..<Int.random(in: 0...80, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                if b.count >= 12, Bool.random(using: &rng) {
                    b.replaceSubrange(0..<4, with: Array("RIFF".utf8))
                    b.replaceSubrange(8..<12, with: Array("WAVE".utf8))
                }
            } else {
                b = valid
                for _ in 0..<Int.random(in: 1...3, using: &rng) {
                    let i = Int.random(in: 0..<b.count, using: &rng)
                    b[i] = UInt8.random(in: 0...255, using: &rng)
                }
                b.removeLast(Int.random(in: 0...6, using: &rng))
            }
            do {
                let w = try WAVFile(parsing: b)
                #expect(w.channels >= 1 && w.samples.count % w.channels == 0)
            } catch {
                // Typed by the signature: MediaError.
            }
        }
    }
}
