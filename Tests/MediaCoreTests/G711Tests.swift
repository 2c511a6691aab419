import Testing
import TestSupport
@testable import MediaCore

@Suite struct G711Tests {
    /// Reference values of ITU-T G.711 (Sun g711.c / G.191), cross-checked with CPython's audioop.
    static let ulawDecode: [(UInt8, Int16)] = [
        (0x00, -32124), (0x80, 32124), (0xFF, 0), (0x7F, 0), (0x0F, -16764), (0x8F, 16764),
        (0x70, -120), (0xF0, 120), (0x7E, -8), (0xFE, 8), (0x5A, -556), (0xDA, 556),
    ]
    static let alawDecode: [(UInt8, Int16)] = [
        (0xD5, 8), (0x55, -8), (0xAA, 32256), (0x2A, -32256), (0xD4, 24), (0xC5, 264),
        (0x80, 5504), (0x00, -5504), (0xFF, 848), (0x7F, -848),
    ]
    static let ulawEncode: [(Int16, UInt8)] = [
        (0, 0xFF), (-1, 0x7E), (1, 0xFF), (32767, 0x80), (-32768, 0x00), (8, 0xFE), (-8, 0x7E), (120, 0xF0), (1000, 0xCE),
    ]
    static let alawEncode: [(Int16, UInt8)] = [
        (0, 0xD5), (-1, 0x55), (8, 0xD5), (16, 0xD4), (32767, 0xAA), (-32768, 0x2A), (1000, 0xFA),
    ]

    @Test(arguments: ulawDecode) func ulawDecodes(_ v: (UInt8, Int16)) { #expect(G711.linear(fromULaw: v.0) == v.1) }
    @Test(arguments: alawDecode) func alawDecodes(_ v: (UInt8, Int16)) { #expect(G711.linear(fromALaw: v.0) == v.1) }
    @Test(arguments: ulawEncode) func ulawEncodes(_ v: (Int16, UInt8)) { #expect(G711.ulaw(fromLinear: v.0) == v.1) }
    @Test(arguments: alawEncode) func alawEncodes(_ v: (Int16, UInt8)) { #expect(G711.alaw(fromLinear: v.0) == v.1) }

    /// All 256 codes of both laws and 680 encodings against `Fixtures/rfc/g711.txt` (audioop-generated).
    @Test func matchesTheReferenceFixture() throws {
        let text = try Fixtures.text("rfc/g711.txt")
        var checked = 0
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let f = line.split(separator: " ")
            if f[0] == "decode" {
                let code = UInt8(f[1], radix: 16)!
                #expect(G711.linear(fromULaw: code) == Int16(f[2])!, "ulaw \(f[1])")
                #expect(G711.linear(fromALaw: code) == Int16(f[3])!, "alaw \(f[1])")
            } else {
                let x = Int16(f[1])!
                #expect(G711.ulaw(fromLinear: x) == UInt8(f[2], radix: 16)!, "ulaw of \(x)")
                #expect(G711.alaw(fromLinear: x) == UInt8(f[3], radix: 16)!, "alaw of \(x)")
            }
            checked += 1
        }
        #expect(checked == 256 + 680)
    }

    /// Every code decodes to a value that encodes back to it (μ-law 0x7F, "negative zero", maps to 0xFF).
    @Test func everyCodeRoundTrips() {
        for c in 0...255 {
            let b = UInt8(c)
            #expect(G711.alaw(fromLinear: G711.linear(fromALaw: b)) == b)
            if b != 0x7F { #expect(G711.ulaw(fromLinear: G711.linear(fromULaw: b)) == b) }
        }
    }

    /// Companding is monotonic and the error stays within half a quantization step (about 1/8 of the
    /// magnitude, at least 16; μ-law clips at ±32124).
    @Test func companderIsMonotonicWithBoundedError() {
        var lastU = Int.min, lastA = Int.min
        for x in -32768...32767 {
            let s = Int16(x)
            let u = Int(G711.linear(fromULaw: G711.ulaw(fromLinear: s)))
            let a = Int(G711.linear(fromALaw: G711.alaw(fromLinear: s)))
            let bound = max(abs(x) / 8, 16) + (abs(x) > 32124 ? 700 : 0)
            if u < lastU || a < lastA || abs(u - x) > bound || abs(a - x) > bound {
                Issue.record("x=\(x): ulaw \(u), alaw \(a)")
                return
            }
            lastU = u
            lastA = a
        }
    }

    @Test(arguments: [G711Law.ulaw, .alaw])
    func codecRoundTripKeepsTheToneDetectable(_ law: G711Law) throws {
        let encoder = G711Encoder(law: law)
        let decoder = G711Decoder(law: law)
        #expect(encoder.sampleRate == 8000 && encoder.rtpClockRate == 8000 && encoder.channels == 1)
        var tone = ToneGenerator(frequency: 440, amplitude: 0.3, sampleRate: 8000)
        let detector = GoertzelDetector(sampleRate: 8000)
        var payload = [UInt8](repeating: 0, count: 160)
        var decoded = [Int16](repeating: 0, count: 160)
        for _ in 0..<10 {
            let pcm = tone.generate(count: 160)
            let n = try pcm.withUnsafeBufferPointer { p in try payload.withUnsafeMutableBytes { try encoder.encode(pcm: p, into: $0) } }
            #expect(n == 160)
            let m = try payload.withUnsafeBytes { p in try decoded.withUnsafeMutableBufferPointer { try decoder.decode(payload: p, into: $0) } }
            #expect(m == 160)
            #expect(detector.dominantFrequency(among: [440, 660, 1000], in: decoded) == 440)
            #expect(!detector.detect(frequency: 660, in: decoded))
        }
    }

    @Test func concealmentFadesThenSilence() throws {
        let decoder = G711Decoder(law: .ulaw)
        var pcm = [Int16](repeating: 0, count: 160)
        // Before any packet: silence.
        _ = try pcm.withUnsafeMutableBufferPointer { try decoder.conceal(samplesPerChannel: 160, into: $0) }
        #expect(pcm.allSatisfy { $0 == 0 })
        let payload = [UInt8](repeating: 0x80, count: 160)  // +32124
        _ = try payload.withUnsafeBytes { p in try pcm.withUnsafeMutableBufferPointer { try decoder.decode(payload: p, into: $0) } }
        var peaks: [Int16] = []
        for _ in 0..<4 {
            _ = try pcm.withUnsafeMutableBufferPointer { try decoder.conceal(samplesPerChannel: 160, into: $0) }
            peaks.append(pcm.max()!)
        }
        #expect(peaks == [16062, 8031, 4015, 0])
        // recover() without FEC conceals too (the protocol's default).
        let n = try payload.withUnsafeBytes { p in
            try pcm.withUnsafeMutableBufferPointer { try decoder.recover(samplesPerChannel: 160, fromNext: p, into: $0) }
        }
        #expect(n == 160)
    }

    @Test func smallBuffersAreTypedErrors() {
        let encoder = G711Encoder(law: .alaw)
        let pcm = [Int16](repeating: 0, count: 160)
        var out = [UInt8](repeating: 0, count: 100)
        #expect(throws: MediaError.bufferTooSmall(needed: 160, available: 100)) {
            try pcm.withUnsafeBufferPointer { p in try out.withUnsafeMutableBytes { _ = try encoder.encode(pcm: p, into: $0) } }
        }
    }
}
