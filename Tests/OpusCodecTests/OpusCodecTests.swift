import Foundation
import MediaCore
import OpusCodec
import Testing
import TestSupport

func sine(_ frequency: Double, samples: Int, offset: Int = 0, amplitude: Double = 8000, rate: Double = 48_000) -> [Int16] {
    (0..<samples).map { Int16(amplitude * sin(2 * .pi * frequency * Double($0 + offset) / rate)) }
}

/// Goertzel power of `frequency` relative to the signal's total power (0…1).
func relativePower(_ pcm: [Int16], _ frequency: Double, rate: Double = 48_000) -> Double {
    let k = 2 * cos(2 * .pi * frequency / rate)
    var s1 = 0.0, s2 = 0.0, energy = 0.0
    for x in pcm {
        let v = Double(x)
        energy += v * v
        let s = v + k * s1 - s2
        s2 = s1
        s1 = s
    }
    let power = s1 * s1 + s2 * s2 - k * s1 * s2
    return energy > 0 ? power / (energy * Double(pcm.count) / 2) : 0
}

@Suite struct OpusCodecTests {
    /// Encodes a tone for one second and returns the decoded PCM after the first 200 ms.
    func roundTrip(frequency: Double, encoder: OpusEncoder, decoder: OpusDecoder, channels: Int = 1) throws -> [Int16] {
        var out: [Int16] = []
        for f in 0..<50 {
            let mono = sine(frequency, samples: 960, offset: f * 960)
            let pcm = channels == 1 ? mono : mono.flatMap { [$0, $0] }
            let packet = try encoder.encode(pcm)
            #expect(packet.count > 2 && packet.count < 400)
            let decoded = try decoder.decode(packet)
            #expect(decoded.count == 960 * decoder.channels)
            if f >= 10 { out += decoded }
        }
        return out
    }

    @Test(arguments: [0, 5, 10])
    func oneKilohertzToneSurvives(complexity: Int) throws {
        let enc = try OpusEncoder(OpusEncoderConfiguration(complexity: complexity))
        let dec = try OpusDecoder()
        let pcm = try roundTrip(frequency: 1000, encoder: enc, decoder: dec)
        #expect(relativePower(pcm, 1000) > 0.5, "1 kHz dominates after Opus")
        #expect(relativePower(pcm, 1500) < 0.05)
        #expect(relativePower(pcm, 440) < 0.05)
        #expect(enc.configuration.complexity == complexity)
    }

    @Test func stereoPeerDecodesOnAMonoDecoder() throws {
        let enc = try OpusEncoder(OpusEncoderConfiguration(channels: 2, bitrate: 64_000))
        let mono = try OpusDecoder(channels: 1)
        let pcm = try roundTrip(frequency: 660, encoder: enc, decoder: mono, channels: 2)
        #expect(relativePower(pcm, 660) > 0.5)
        let stereo = try OpusDecoder(channels: 2)
        let s = try roundTrip(frequency: 660, encoder: try OpusEncoder(OpusEncoderConfiguration(channels: 2)), decoder: stereo, channels: 2)
        #expect(s.count == 40 * 960 * 2)
    }

    @Test func concealmentAndFECProduceFramesOfTheRightLength() throws {
        let enc = try OpusEncoder(OpusEncoderConfiguration(bitrate: 24_000, inbandFEC: true, packetLossPercent: 20))
        let dec = try OpusDecoder()
        var packets: [[UInt8]] = []
        for f in 0..<30 { packets.append(try enc.encode(sine(440, samples: 960, offset: f * 960))) }
        for p in packets[0..<20] { _ = try dec.decode(p) }
        // Packet 20 is lost: recover it from packet 21's in-band FEC, then decode 21 normally.
        let recovered = try dec.recover(samplesPerChannel: 960, fromNext: packets[21])
        #expect(recovered.count == 960)
        #expect(relativePower(recovered, 440) > 0.3, "FEC recovered the tone")
        _ = try dec.decode(packets[21])
        // Packet 22 lost with nothing after it: concealment.
        let concealed = try dec.conceal(samplesPerChannel: 960)
        #expect(concealed.count == 960)
        // 10 ms concealment also works.
        #expect(try dec.conceal(samplesPerChannel: 480).count == 480)
        #expect(OpusDecoder.samplesPerChannel(in: packets[0]) == 960)
    }

    @Test func settingsApplyAndBadValuesAreTypedErrors() throws {
        let enc = try OpusEncoder()
        try enc.setBitrate(48_000)
        #expect(enc.effectiveBitrate == 48_000)
        try enc.setDTX(true)
        try enc.setPacketLossPercent(5)
        try enc.setInbandFEC(false)
        #expect(throws: OpusError.self) { try enc.setComplexity(42) }
        #expect(throws: OpusError.self) { try OpusEncoder(OpusEncoderConfiguration(sampleRate: 44_100)) }
        #expect(throws: OpusError.self) { try OpusDecoder(channels: 3) }
    }

    @Test func dtxSilenceFramesAreTiny() throws {
        let enc = try OpusEncoder(OpusEncoderConfiguration(dtx: true))
        var sizes: [Int] = []
        for _ in 0..<30 { sizes.append(try enc.encode([Int16](repeating: 0, count: 960)).count) }
        #expect(sizes.suffix(10).allSatisfy { $0 <= 2 }, "DTX sends TOC-only frames in silence: \(sizes)")
    }

    @Test(.cpuBound) func garbagePayloadsAreTypedErrorsNeverTraps() throws {
        let dec = try OpusDecoder()
        var rng = SystemRandomNumberGenerator()
        var failures = 0
        for _ in 0..<3000 {
            let bytes = (0..<Int.random(in: 0...300, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            do {
                let pcm = try dec.decode(bytes)
                #expect(pcm.count <= 5760)
            } catch let e as OpusError {
                #expect(!e.message.isEmpty)
                failures += 1
            }
        }
        #expect(failures > 0, "some random payloads are invalid Opus packets")
        #expect(throws: OpusError.self) { try dec.decode([]) }
    }
}

/// Encoder and decoder states are reused across instances (`OpusStatePool`): a state given back
/// is reset, so an instance made from it encodes and decodes exactly as a fresh one would.
@Suite struct OpusStateReuseTests {
    /// Packets of one second of a tone with speech in it, and their decoding, by one new encoder
    /// and decoder of the given settings.
    func run(complexity: Int) throws -> (packets: [[UInt8]], pcm: [Int16]) {
        let encoder = try OpusEncoder(OpusEncoderConfiguration(bitrate: 24_000, complexity: complexity))
        let decoder = try OpusDecoder()
        var packets: [[UInt8]] = []
        var pcm: [Int16] = []
        for f in 0..<50 {
            let frame = sine(440 + Double(f * 10), samples: 960, offset: f * 960)
            let packet = try encoder.encode(frame)
            packets.append(packet)
            pcm += try decoder.decode(packet)
        }
        return (packets, pcm)
    }

    @Test func aReusedStateEncodesAndDecodesAsAFreshOne() throws {
        // Each run's states go back to the pool when it returns; the next run of the same key
        // takes them (or others given back by parallel tests: all must behave as fresh).
        let first = try run(complexity: 10)
        let afterOther = try run(complexity: 0)  // a state used with other settings in between
        let second = try run(complexity: 10)
        let third = try run(complexity: 0)
        #expect(second.packets == first.packets)
        #expect(second.pcm == first.pcm)
        #expect(third.packets == afterOther.packets)
        #expect(third.pcm == afterOther.pcm)
        #expect(first.packets != afterOther.packets, "the settings differ, so must the packets")
    }
}
