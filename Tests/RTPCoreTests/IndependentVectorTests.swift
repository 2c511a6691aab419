import Testing
import TestSupport
@testable import RTPCore

/// Vectors from an implementation nobody here wrote (pion, MIT): packet dumps and the fields pion's
/// own tests assert for them.
@Suite struct IndependentVectorTests {
    static func fixtureHex(_ path: String) throws -> [UInt8] {
        let text = try Fixtures.text(path)
        let body = text.split(separator: "\n").filter { !$0.hasPrefix("#") }.joined(separator: " ")
        return hex(body)
    }

    /// `Fixtures/rtp/chrome-rtcp-compound.hex` (pion/rtcp `realPacket`): RR, SDES, BYE, PLI, RRR, APP.
    @Test func realCompoundRTCP() throws {
        let bytes = try Self.fixtureHex("rtp/chrome-rtcp-compound.hex")
        #expect(bytes.count == 132)
        let c = try RTCPCompoundPacket(parsing: bytes)
        #expect(c.packets.count == 6)
        #expect(c.packets[0] == .receiverReport(RTCPReceiverReport(ssrc: 0x902F_9E2E, reportBlocks: [
            RTCPReportBlock(ssrc: 0xBC5E_9A40, fractionLost: 0, cumulativeLost: 0, extendedHighestSequence: 0x46E1,
                            jitter: 273, lastSenderReport: 0x09F3_6432, delaySinceLastSenderReport: 150_137),
        ])))
        #expect(c.packets[1] == .sourceDescription(RTCPSourceDescription(ssrc: 0x902F_9E2E,
                                                                         cname: "{9c00eb92-1afb-9d49-a47d-91f64eee69f5}")))
        #expect(c.packets[2] == .bye(RTCPBye(sources: [0x902F_9E2E])))
        #expect(c.packets[3] == .other(RTCPRawPacket(packetType: 206, count: 1, body: hex("902f9e2e 902f9e2e"))))
        #expect(c.packets[4] == .other(RTCPRawPacket(packetType: 205, count: 5, body: hex("902f9e2e 902f9e2e"))))
        #expect(c.packets[5] == .other(RTCPRawPacket(packetType: 204, count: 0, body: hex("4baae1ab 4e414d45 41424344"))))
        // Our serializer reproduces the dump byte for byte.
        #expect(try c.serialize() == bytes)
        // pion's TestBadCompound: the first 34 bytes leave trailing data; bytes 84..<104 start with BYE.
        #expect(throws: RTPError.self) { _ = try RTCPCompoundPacket(parsing: Array(bytes[0..<34])) }
        #expect(throws: RTPError.invalidRTCP("first packet has type 203, not SR or RR")) {
            _ = try RTCPCompoundPacket(parsing: Array(bytes[84..<104]))
        }
        #expect(try RTCPCompoundPacket(parsing: Array(bytes[84..<104]), requireReportFirst: false).packets.count == 2)
    }

    /// pion/rtp `TestBasic`: marker, extension profile 1 with 4 bytes, PT 96.
    @Test func pionBasicRTPPacket() throws {
        let bytes = hex("90e0698f d9c293da 1c642782 00010001 ffffffff 9836be88 9e")
        let p = try RTPPacket(parsing: bytes)
        #expect(p.marker && p.hasExtension && !p.hasPadding && p.csrcCount == 0)
        #expect(p.payloadType == 96 && p.sequenceNumber == 27023 && p.timestamp == 3_653_407_706 && p.ssrc == 476_325_762)
        #expect(p.extensionProfile == 1 && p.extensionRange == 16..<20)
        #expect(p.payloadRange == 20..<25)
        let header = bytes.withUnsafeBytes { p.header(in: $0) }
        #expect(try header.serialize(payload: Array(bytes[20...])) == bytes)
        // Other profiles than RFC 8285's have no elements.
        #expect(try bytes.withUnsafeBytes { try p.extensionElements(in: $0) }.isEmpty)
    }

    /// pion/rtp `TestExtension`: missing extension data, and an extension length past the end.
    @Test func pionBadExtensions() {
        #expect(throws: RTPError.truncated(what: "RTP header extension", needed: 16, available: 12)) {
            _ = try RTPPacket(parsing: hex("9060698f d9c293da 1c642782"))
        }
        #expect(throws: RTPError.badExtensionLength(length: 0x9999 * 4, available: 0)) {
            _ = try RTPPacket(parsing: hex("9060698f d9c293da 1c642782 99999999"))
        }
    }

    /// pion/rtp `TestRoundtrip`: version 0 is rejected by us (RFC 3550 §5.1 requires 2; pion accepts it).
    @Test func versionZeroIsRejected() {
        #expect(throws: RTPError.badVersion(0)) {
            _ = try RTPPacket(parsing: hex("00102345 12344567 ccddeeff 00112233 44556677"))
        }
    }
}
