import Testing
@testable import RTPCore

/// House rule 5: bad input never traps. Seeded random and mutated inputs go through every parser;
/// each call must either succeed with in-bounds ranges or throw `RTPError`.
@Suite struct RTPFuzzTests {
    static func randomBytes(_ rng: inout SeededRNG, maxLength: Int) -> [UInt8] {
        let n = Int.random(in: 0...maxLength, using: &rng)
        return (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
    }

    static func mutate(_ base: [UInt8], _ rng: inout SeededRNG) -> [UInt8] {
        var b = base
        for _ in 0..<Int.random(in: 1...4, using: &rng) {
            switch Int.random(in: 0..<3, using: &rng) {
            case 0 where !b.isEmpty: b[Int.random(in: 0..<b.count, using: &rng)] ^= UInt8(1) << UInt8.random(in: 0..<8, using: &rng)
            case 1 where !b.isEmpty: b.removeLast(Int.random(in: 0...min(8, b.count), using: &rng))
            default: b.append(UInt8.random(in: 0...255, using: &rng))
            }
        }
        return b
    }

    static func checkRTP(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { raw in
            do {
                let p = try RTPPacket(parsing: raw)
                guard p.payloadRange.lowerBound >= 12, p.payloadRange.upperBound <= raw.count,
                      p.packetLength == raw.count, p.extensionRange.upperBound <= p.payloadRange.lowerBound
                else { return false }
                _ = p.csrcs(in: raw)
                if let elements = try? p.extensionElements(in: raw) {
                    return elements.allSatisfy { p.extensionRange.contains($0.range.lowerBound) || $0.range.isEmpty }
                }
                return true
            } catch {
                return true  // typed by the signature
            }
        }
    }

    @Test(arguments: [1, 2, 3, 4])
    func randomBytesIntoEveryParser(seed: UInt64) {
        var rng = SeededRNG(seed: seed)
        var parsedRTP = 0
        for _ in 0..<5000 {
            var bytes = Self.randomBytes(&rng, maxLength: 80)
            if Bool.random(using: &rng), !bytes.isEmpty { bytes[0] = 0x80 | (bytes[0] & 0x3F) }  // get past the version check
            #expect(Self.checkRTP(bytes))
            if (try? RTPPacket(parsing: bytes)) != nil { parsedRTP += 1 }
            _ = try? RTCPCompoundPacket(parsing: bytes)
            _ = try? RTCPCompoundPacket(parsing: bytes, requireReportFirst: false)
            _ = try? TelephoneEvent(parsing: bytes)
        }
        #expect(parsedRTP > 0)
    }

    @Test func mutatedValidPacketsIntoEveryParser() throws {
        var rng = SeededRNG(seed: 99)
        let rtp = try RTPHeader(marker: true, payloadType: 111, sequenceNumber: 1, timestamp: 2, ssrc: 3, csrcs: [4, 5],
                                extension: RTPHeaderExtension.oneByte([(id: 1, data: [1, 2]), (id: 2, data: [3])]))
            .serialize(payload: [1, 2, 3, 4], paddingCount: 4)
        let rtcp = try RTCPCompoundPacket([
            .senderReport(RTCPSenderReport(ssrc: 1, ntpTimestamp: NTPTimestamp(seconds: 1, fraction: 2), rtpTimestamp: 3,
                                           packetCount: 4, octetCount: 5, reportBlocks: [RTCPReportBlock(ssrc: 6)])),
            .sourceDescription(RTCPSourceDescription(ssrc: 1, cname: "fuzz")),
            .bye(RTCPBye(sources: [1], reason: "x")),
        ]).serialize()
        var rtcpOK = 0
        for _ in 0..<20_000 {
            #expect(Self.checkRTP(Self.mutate(rtp, &rng)))
            let m = Self.mutate(rtcp, &rng)
            do {
                let c = try RTCPCompoundPacket(parsing: m)
                rtcpOK += 1
                // Whatever parsed must serialize again without error.
                _ = try c.serialize()
            } catch {}
        }
        #expect(rtcpOK > 0)
    }
}
