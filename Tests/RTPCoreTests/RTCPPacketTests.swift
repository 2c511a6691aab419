import NIOCore
import Testing
@testable import RTPCore

@Suite struct RTCPPacketTests {
    /// SR (1 report block) + SDES (CNAME "abcdefgh"), built by hand from RFC 3550 §6.4.1 and §6.5.
    static let srSdes = hex("""
        81 C8 00 0C  AA AA AA AA
        E5 5F 4D 80  80 00 00 00
        00 01 E2 40  00 00 00 64  00 00 3E 80
        BB BB BB BB  19 FF FF FE  00 01 00 10  00 00 00 2A  B7 05 20 00  00 05 40 00
        81 CA 00 04  AA AA AA AA  01 08 61 62  63 64 65 66  67 68 00 00
        """)

    static let expectedSR = RTCPSenderReport(
        ssrc: 0xAAAA_AAAA, ntpTimestamp: NTPTimestamp(seconds: 0xE55F_4D80, fraction: 0x8000_0000),
        rtpTimestamp: 123_456, packetCount: 100, octetCount: 16000,
        reportBlocks: [RTCPReportBlock(ssrc: 0xBBBB_BBBB, fractionLost: 25, cumulativeLost: -2,
                                       extendedHighestSequence: 0x0001_0010, jitter: 42,
                                       lastSenderReport: 0xB705_2000, delaySinceLastSenderReport: 0x0005_4000)])

    @Test func parsesSenderReportAndSDES() throws {
        let c = try RTCPCompoundPacket(parsing: Self.srSdes)
        #expect(c.packets.count == 2)
        #expect(c.packets[0] == .senderReport(Self.expectedSR))
        guard case .sourceDescription(let sdes) = c.packets[1] else {
            Issue.record("second packet is not SDES")
            return
        }
        #expect(sdes.chunks.count == 1)
        #expect(sdes.chunks[0].ssrc == 0xAAAA_AAAA)
        #expect(sdes.chunks[0].cname == "abcdefgh")
    }

    @Test func serializesSenderReportAndSDES() throws {
        let c = RTCPCompoundPacket([.senderReport(Self.expectedSR),
                                    .sourceDescription(RTCPSourceDescription(ssrc: 0xAAAA_AAAA, cname: "abcdefgh"))])
        #expect(try c.serialize() == Self.srSdes)
    }

    @Test func receiverReportRoundTrip() throws {
        let rr = RTCPReceiverReport(ssrc: 1, reportBlocks: [
            RTCPReportBlock(ssrc: 2, fractionLost: 0, cumulativeLost: 0x7F_FFFF, extendedHighestSequence: 5, jitter: 1),
            RTCPReportBlock(ssrc: 3, fractionLost: 255, cumulativeLost: -0x80_0000),
        ])
        let bytes = try RTCPCompoundPacket([.receiverReport(rr)]).serialize()
        #expect(Array(bytes[0..<8]) == hex("82 C9 00 0D 00 00 00 01"))
        #expect(Array(bytes[12..<16]) == hex("00 7F FF FF"))
        #expect(Array(bytes[36..<40]) == hex("FF 80 00 00"))
        #expect(try RTCPCompoundPacket(parsing: bytes).packets == [.receiverReport(rr)])
    }

    @Test func emptyReceiverReport() throws {
        let bytes = hex("80 C9 00 01 12 34 56 78")
        #expect(try RTCPCompoundPacket(parsing: bytes).packets == [.receiverReport(RTCPReceiverReport(ssrc: 0x1234_5678))])
    }

    @Test func cumulativeLostIsClampedWhenWritten() throws {
        let rr = RTCPReceiverReport(ssrc: 1, reportBlocks: [RTCPReportBlock(ssrc: 2, cumulativeLost: 10_000_000)])
        let parsed = try RTCPCompoundPacket(parsing: try RTCPCompoundPacket([.receiverReport(rr)]).serialize())
        guard case .receiverReport(let back) = parsed.packets[0] else { Issue.record("not RR"); return }
        #expect(back.reportBlocks[0].cumulativeLost == 0x7F_FFFF)
    }

    /// RR + BYE with reason "hangup" (RFC 3550 §6.6: length-prefixed, padded to 32 bits).
    @Test func byeWithReason() throws {
        let bytes = hex("""
            80 C9 00 01 00 00 00 01
            81 CB 00 03 00 00 00 01 06 68 61 6E 67 75 70 00
            """)
        let c = try RTCPCompoundPacket(parsing: bytes)
        #expect(c.packets[1] == .bye(RTCPBye(sources: [1], reason: "hangup")))
        if case .bye(let bye) = c.packets[1] { #expect(bye.reasonText == "hangup") }
        #expect(try c.serialize() == bytes)
    }

    @Test func byeWithoutReasonAndUnknownTypesKeptRaw() throws {
        let c = RTCPCompoundPacket([
            .receiverReport(RTCPReceiverReport(ssrc: 9)),
            .other(RTCPRawPacket(packetType: 206, count: 1, body: [0, 0, 0, 9, 0, 0, 0, 10])),  // PLI
            .bye(RTCPBye(sources: [9, 10])),
        ])
        let bytes = try c.serialize()
        #expect(bytes.count == 8 + 12 + 12)
        #expect(try RTCPCompoundPacket(parsing: bytes) == c)
    }

    @Test func sdesWithSeveralItemsAndChunks() throws {
        let sdes = RTCPSourceDescription(chunks: [
            .init(ssrc: 1, items: [RTCPSDESItem(type: RTCPSDESItem.cname, text: "user@host"),
                                   RTCPSDESItem(type: RTCPSDESItem.tool, text: "VertoPhone")]),
            .init(ssrc: 2, items: []),
        ])
        let c = RTCPCompoundPacket([.receiverReport(RTCPReceiverReport(ssrc: 1)), .sourceDescription(sdes)])
        let bytes = try c.serialize()
        #expect(bytes.count % 4 == 0)
        #expect(try RTCPCompoundPacket(parsing: bytes) == c)
    }

    @Test func overlongSDESValueIsTruncatedConsistently() throws {
        let long = RTCPSDESItem(type: RTCPSDESItem.note, value: [UInt8](repeating: 0x61, count: 300))
        let c = RTCPCompoundPacket([.receiverReport(RTCPReceiverReport(ssrc: 1)),
                                    .sourceDescription(RTCPSourceDescription(chunks: [.init(ssrc: 1, items: [long]), .init(ssrc: 2, items: [])]))])
        let back = try RTCPCompoundPacket(parsing: try c.serialize())
        guard case .sourceDescription(let sdes) = back.packets[1] else { Issue.record("no SDES"); return }
        #expect(sdes.chunks.map(\.ssrc) == [1, 2])
        #expect(sdes.chunks[0].items[0].value.count == 255)
    }

    @Test func paddingOnLastPacketIsAccepted() throws {
        // RR with P bit; 4 bytes of padding (count 4) → length 2 words + 1.
        let bytes = hex("A0 C9 00 02 00 00 00 07 00 00 00 04")
        #expect(try RTCPCompoundPacket(parsing: bytes).packets == [.receiverReport(RTCPReceiverReport(ssrc: 7))])
    }

    static let invalid: [(String, String)] = [
        ("empty", ""),
        ("short header", "80 C9 00"),
        ("version 1", "40 C9 00 01 00 00 00 01"),
        ("first is SDES", "81 CA 00 02 00 00 00 01 00 00 00 00"),
        ("first is BYE", "81 CB 00 01 00 00 00 01"),
        ("length past end", "80 C9 00 02 00 00 00 01"),
        ("trailing bytes", "80 C9 00 01 00 00 00 01 80"),
        ("padding not last", "A0 C9 00 02 00 00 00 07 00 00 00 04 80 C9 00 01 00 00 00 01"),
        ("padding count zero", "A0 C9 00 02 00 00 00 07 00 00 00 00"),
        ("SR too short", "80 C8 00 01 00 00 00 01"),
        ("RR missing block", "81 C9 00 01 00 00 00 01"),
        ("SDES item past end", "80 C9 00 01 00 00 00 01 81 CA 00 02 00 00 00 01 01 09 61 62"),
        ("SDES without terminator", "80 C9 00 01 00 00 00 01 81 CA 00 02 00 00 00 01 01 02 61 62"),
        ("BYE reason past end", "80 C9 00 01 00 00 00 01 81 CB 00 02 00 00 00 01 09 61 62 63"),
        ("BYE missing source", "80 C9 00 01 00 00 00 01 82 CB 00 01 00 00 00 01"),
    ]

    @Test(arguments: invalid)
    func invalidCompoundPacketsThrowTypedErrors(_ vector: (String, String)) {
        #expect(throws: RTPError.self, "\(vector.0)") { _ = try RTCPCompoundPacket(parsing: hex(vector.1)) }
    }

    @Test func reducedSizeRTCPWhenAllowed() throws {
        let pli = hex("81 CE 00 02 00 00 00 01 00 00 00 02")
        #expect(throws: RTPError.invalidRTCP("first packet has type 206, not SR or RR")) {
            _ = try RTCPCompoundPacket(parsing: pli)
        }
        let c = try RTCPCompoundPacket(parsing: pli, requireReportFirst: false)
        #expect(c.packets == [.other(RTCPRawPacket(packetType: 206, count: 1, body: [0, 0, 0, 1, 0, 0, 0, 2]))])
    }
}

@Suite struct NTPAndRoundTripTests {
    /// RFC 3550 §6.4.1 Figure 2: A = 0xb710:8000, LSR = 0xb705:2000, DLSR = 0x0005:4000 → 6.125 s.
    @Test func roundTripTimeFromTheRFCExample() throws {
        let block = RTCPReportBlock(ssrc: 1, lastSenderReport: 0xB705_2000, delaySinceLastSenderReport: 0x0005_4000)
        let arrival = NTPTimestamp(seconds: 0x0000_B710, fraction: 0x8000_0000)
        #expect(arrival.compact == 0xB710_8000)
        #expect(block.roundTripTime(arrival: arrival) == .milliseconds(6125))
    }

    @Test func roundTripTimeAbsentWithoutLSRAndNeverNegative() {
        let none = RTCPReportBlock(ssrc: 1)
        #expect(none.roundTripTime(arrival: NTPTimestamp(seconds: 5, fraction: 0)) == nil)
        let future = RTCPReportBlock(ssrc: 1, lastSenderReport: 0x0010_0000, delaySinceLastSenderReport: 0x0001_0000)
        #expect(future.roundTripTime(arrival: NTPTimestamp(seconds: 0x10, fraction: 0)) == nil)
    }

    @Test func roundTripAcrossCompactWrap() {
        let block = RTCPReportBlock(ssrc: 1, lastSenderReport: 0xFFFF_0000, delaySinceLastSenderReport: 0x0000_8000)
        // Arrival 1.5 s after LSR, wrapped: compact 0x0000_8000; minus DLSR 0.5 s → 1 s.
        let arrival = NTPTimestamp(rawValue: UInt64(0x0000_8000) << 16)
        #expect(block.roundTripTime(arrival: arrival) == .seconds(1))
    }

    @Test func ntpConversions() {
        #expect(NTPTimestamp(unixNanoseconds: 0) == NTPTimestamp(seconds: 2_208_988_800, fraction: 0))
        #expect(NTPTimestamp(unixNanoseconds: 1_500_000_000) == NTPTimestamp(seconds: 2_208_988_801, fraction: 0x8000_0000))
        #expect(NTPTimestamp.compact(.milliseconds(5250)) == 0x0005_4000)
        #expect(NTPTimestamp.compact(.seconds(-1)) == 0)
        #expect(NTPTimestamp.timeAmount(compact: 0x0006_2000) == .milliseconds(6125))
        let d = NIODeadline.uptimeNanoseconds(3_250_000_000)
        #expect(NTPTimestamp(d) == NTPTimestamp(seconds: 3, fraction: 0x4000_0000))
    }
}
