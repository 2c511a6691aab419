import Testing
@testable import RTPCore

@Suite struct RTPPacketTests {
    /// V=2 P=1 X=1 CC=2, M=1 PT=111, seq 0x1234, ts 0xDEADBEEF, SSRC 0x01020304, 2 CSRCs,
    /// one-byte extension (id 1, 1 byte 0xAA, 2 padding bytes), payload 01 02 03, 3 bytes of padding.
    static let full = hex("""
        B2 EF 12 34 DE AD BE EF 01 02 03 04
        11 11 11 11 22 22 22 22
        BE DE 00 01 10 AA 00 00
        01 02 03
        00 00 03
        """)

    @Test func parsesHeaderWithCSRCExtensionAndPadding() throws {
        let p = try parseRTP(Self.full)
        #expect(p.hasPadding && p.hasExtension && p.marker)
        #expect(p.payloadType == 111)
        #expect(p.sequenceNumber == 0x1234)
        #expect(p.timestamp == 0xDEAD_BEEF)
        #expect(p.ssrc == 0x0102_0304)
        #expect(p.csrcCount == 2)
        #expect(p.extensionProfile == 0xBEDE)
        #expect(p.extensionRange == 24..<28)
        #expect(p.payloadRange == 28..<31)
        #expect(p.paddingLength == 3)
        #expect(p.headerLength == 28)
        #expect(p.packetLength == Self.full.count)
        Self.full.withUnsafeBytes { raw in
            #expect(p.csrcs(in: raw) == [0x1111_1111, 0x2222_2222])
            #expect(Array(raw[p.payloadRange]) == [1, 2, 3])
            let elements = try? p.extensionElements(in: raw)
            #expect(elements == [RTPExtensionElement(id: 1, range: 25..<26)])
            #expect(raw[25] == 0xAA)
        }
    }

    @Test func minimalHeaderHasEmptyRanges() throws {
        let bytes = hex("80 00 00 01 00 00 00 02 00 00 00 03")
        let p = try parseRTP(bytes)
        #expect(!p.marker && p.payloadType == 0 && p.sequenceNumber == 1 && p.timestamp == 2 && p.ssrc == 3)
        #expect(p.payloadRange == 12..<12 && p.extensionRange.isEmpty && p.paddingLength == 0)
    }

    @Test func serializesTheSameBytes() throws {
        let header = RTPHeader(
            marker: true, payloadType: 111, sequenceNumber: 0x1234, timestamp: 0xDEAD_BEEF, ssrc: 0x0102_0304,
            csrcs: [0x1111_1111, 0x2222_2222], extension: try RTPHeaderExtension.oneByte([(id: 1, data: [0xAA])]))
        let bytes = try header.serialize(payload: [1, 2, 3], paddingCount: 3)
        #expect(bytes == Self.full)
    }

    @Test func roundTripsThroughHeader() throws {
        let p = try parseRTP(Self.full)
        let header = Self.full.withUnsafeBytes { p.header(in: $0) }
        let again = try header.serialize(payload: [1, 2, 3], paddingCount: 3)
        #expect(again == Self.full)
    }

    @Test func writesIntoCallerBufferAndReportsSmallBuffer() throws {
        let header = RTPHeader(payloadType: 0, sequenceNumber: 7, timestamp: 160, ssrc: 42)
        var small = [UInt8](repeating: 0, count: 11)
        _ = small.withUnsafeMutableBytes { buf in
            #expect(throws: RTPError.bufferTooSmall(needed: 12, available: 11)) { try header.write(into: buf) }
        }
        var buf = [UInt8](repeating: 0xFF, count: 20)
        let n = try buf.withUnsafeMutableBytes { out in
            try [UInt8]([9, 8, 7]).withUnsafeBytes { try header.writePacket(payload: $0, into: out) }
        }
        #expect(n == 15)
        #expect(Array(buf[0..<15]) == hex("80 00 00 07 00 00 00 A0 00 00 00 2A 09 08 07"))
    }

    @Test func rewritesHeaderFieldsInPlace() throws {
        var bytes = Self.full
        try bytes.withUnsafeMutableBytes { buf in
            try RTPPacket.rewrite(buf, marker: false, payloadType: 0, sequenceNumber: 7, timestamp: 8, ssrc: 9)
        }
        let p = try parseRTP(bytes)
        #expect(!p.marker && p.payloadType == 0 && p.sequenceNumber == 7 && p.timestamp == 8 && p.ssrc == 9)
        #expect(p.csrcCount == 2 && p.payloadRange == 28..<31 && Array(bytes[12...]) == Array(Self.full[12...]))
        var short: [UInt8] = [0x80, 0, 0]
        _ = short.withUnsafeMutableBytes { buf in
            #expect(throws: RTPError.truncated(what: "RTP fixed header", needed: 12, available: 3)) {
                try RTPPacket.rewrite(buf, ssrc: 1)
            }
        }
    }

    @Test func twoByteExtensionElements() throws {
        let ext = try RTPHeaderExtension.twoByte([(id: 3, data: []), (id: 200, data: [1, 2, 3])])
        #expect(ext.profile == 0x1000)
        #expect(ext.data == [3, 0, 200, 3, 1, 2, 3, 0])
        let header = RTPHeader(payloadType: 96, sequenceNumber: 1, timestamp: 1, ssrc: 1, extension: ext)
        let bytes = try header.serialize(payload: [0x55])
        let p = try parseRTP(bytes)
        try bytes.withUnsafeBytes { raw in
            let e = try p.extensionElements(in: raw)
            #expect(e.map(\.id) == [3, 200])
            #expect(e[0].range.isEmpty)
            #expect(Array(raw[e[1].range]) == [1, 2, 3])
        }
        #expect(p.payloadRange == 24..<25)
    }

    @Test func oneByteElementsStopAtId15AndSkipPadding() throws {
        // padding byte, id 2 (2 bytes), id 15 (stop), junk.
        let bytes = hex("90 00 00 01 00 00 00 01 00 00 00 01 BE DE 00 02 00 21 AB CD F0 FF FF FF")
        let p = try parseRTP(bytes)
        let e = try bytes.withUnsafeBytes { try p.extensionElements(in: $0) }
        #expect(e == [RTPExtensionElement(id: 2, range: 18..<20)])
    }

    @Test func oneByteElementOverrunIsTyped() throws {
        let bytes = hex("90 00 00 01 00 00 00 01 00 00 00 01 BE DE 00 01 13 AB CD EF")
        let p = try parseRTP(bytes)
        _ = bytes.withUnsafeBytes { raw in
            #expect(throws: RTPError.badExtensionLength(length: 4, available: 3)) {
                _ = try p.extensionElements(in: raw)
            }
        }
    }

    static let malformed: [(String, String, RTPError)] = [
        ("short", "80 00 00 01 00 00 00 02 00 00 00", .truncated(what: "RTP fixed header", needed: 12, available: 11)),
        ("version 1", "40 00 00 01 00 00 00 02 00 00 00 03", .badVersion(1)),
        ("version 0", "00 00 00 01 00 00 00 02 00 00 00 03", .badVersion(0)),
        ("CSRC list cut", "82 00 00 01 00 00 00 02 00 00 00 03 00 00 00 04",
         .truncated(what: "RTP CSRC list", needed: 20, available: 16)),
        ("extension header cut", "90 00 00 01 00 00 00 02 00 00 00 03 BE DE",
         .truncated(what: "RTP header extension", needed: 16, available: 14)),
        ("extension length too long", "90 00 00 01 00 00 00 02 00 00 00 03 BE DE 00 02 00 00 00 00",
         .badExtensionLength(length: 8, available: 4)),
        ("padding count zero", "A0 00 00 01 00 00 00 02 00 00 00 03 01 00", .badPadding(count: 0, available: 2)),
        ("padding past header", "A0 00 00 01 00 00 00 02 00 00 00 03 01 03", .badPadding(count: 3, available: 2)),
        ("padding without bytes", "A0 00 00 01 00 00 00 02 00 00 00 03", .badPadding(count: 3, available: 0)),
    ]

    @Test(arguments: malformed)
    func malformedPacketsGiveTypedErrors(_ vector: (String, String, RTPError)) {
        #expect(throws: vector.2, "\(vector.0)") { _ = try parseRTP(hex(vector.1)) }
    }

    @Test func paddingMayConsumeWholePayload() throws {
        let p = try parseRTP(hex("A0 00 00 01 00 00 00 02 00 00 00 03 00 00 03"))
        #expect(p.payloadRange == 12..<12 && p.paddingLength == 3)
    }

    @Test func headerRejectsUnencodableFields() {
        let tooMany = RTPHeader(payloadType: 0, sequenceNumber: 0, timestamp: 0, ssrc: 0, csrcs: Array(repeating: 1, count: 16))
        #expect(throws: RTPError.self) { _ = try tooMany.serialize(payload: []) }
        let badPT = RTPHeader(payloadType: 128, sequenceNumber: 0, timestamp: 0, ssrc: 0)
        #expect(throws: RTPError.self) { _ = try badPT.serialize(payload: []) }
        let ok = RTPHeader(payloadType: 0, sequenceNumber: 0, timestamp: 0, ssrc: 0)
        #expect(throws: RTPError.self) { _ = try ok.serialize(payload: [], paddingCount: 256) }
    }
}
