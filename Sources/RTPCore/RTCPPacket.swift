/// RTCP packets (RFC 3550 §6) and compound packets with the validity checks of Appendix A.2.
///
/// Every RTCP packet starts with a common header:
/// ```
/// |V=2|P|  count  |      PT       |     length (32-bit words - 1) |
/// ```
/// RTCP runs a few times per second, so parsing builds ordinary arrays (not a hot path).
public enum RTCPPacket: Sendable, Equatable {
    case senderReport(RTCPSenderReport)
    case receiverReport(RTCPReceiverReport)
    case sourceDescription(RTCPSourceDescription)
    case bye(RTCPBye)
    /// Any other type (APP, RTPFB, PSFB, XR, …) kept as raw bytes.
    case other(RTCPRawPacket)

    /// Packet type values (RFC 3550 §12.1; RFC 4585 §6.1).
    public enum PacketType {
        public static let senderReport: UInt8 = 200
        public static let receiverReport: UInt8 = 201
        public static let sourceDescription: UInt8 = 202
        public static let bye: UInt8 = 203
        public static let app: UInt8 = 204
        public static let transportFeedback: UInt8 = 205
        public static let payloadFeedback: UInt8 = 206
    }

    public var packetType: UInt8 {
        switch self {
        case .senderReport: PacketType.senderReport
        case .receiverReport: PacketType.receiverReport
        case .sourceDescription: PacketType.sourceDescription
        case .bye: PacketType.bye
        case .other(let raw): raw.packetType
        }
    }

    /// Bytes after the 4-byte common header (always a multiple of 4 when written).
    var bodyLength: Int {
        switch self {
        case .senderReport(let p): p.bodyLength
        case .receiverReport(let p): p.bodyLength
        case .sourceDescription(let p): p.bodyLength
        case .bye(let p): p.bodyLength
        case .other(let p): (p.body.count + 3) / 4 * 4
        }
    }

    /// Length of the packet when serialized, common header included.
    public var serializedLength: Int { 4 + bodyLength }

    /// The 5-bit count field (RC or SC).
    var countField: Int {
        switch self {
        case .senderReport(let p): p.reportBlocks.count
        case .receiverReport(let p): p.reportBlocks.count
        case .sourceDescription(let p): p.chunks.count
        case .bye(let p): p.sources.count
        case .other(let p): Int(p.count)
        }
    }

    /// Writes the packet at `offset`; returns the bytes written.
    func write(into b: UnsafeMutableRawBufferPointer, at offset: Int) throws(RTPError) -> Int {
        let count = countField
        guard count <= 31 else { throw .invalidField("RTCP count \(count) (at most 31)") }
        let body = bodyLength
        guard body / 4 <= 0xFFFF else { throw .invalidField("RTCP packet of \(body) bytes") }
        let total = 4 + body
        guard offset + total <= b.count else { throw .bufferTooSmall(needed: offset + total, available: b.count) }
        b[offset] = 0x80 | UInt8(count)
        b[offset + 1] = packetType
        BE.put16(b, offset + 2, UInt16(body / 4))
        let o = offset + 4
        for i in o..<(o + body) { b[i] = 0 }
        switch self {
        case .senderReport(let p): p.writeBody(b, at: o)
        case .receiverReport(let p): p.writeBody(b, at: o)
        case .sourceDescription(let p): p.writeBody(b, at: o)
        case .bye(let p): p.writeBody(b, at: o)
        case .other(let p): for (i, byte) in p.body.enumerated() { b[o + i] = byte }
        }
        return total
    }

    /// Parses one packet's body given its header fields (`body` excludes header and padding).
    static func parse(type: UInt8, count: Int, body: UnsafeRawBufferPointer) throws(RTPError) -> RTCPPacket {
        switch type {
        case PacketType.senderReport: .senderReport(try RTCPSenderReport(parsingBody: body, count: count))
        case PacketType.receiverReport: .receiverReport(try RTCPReceiverReport(parsingBody: body, count: count))
        case PacketType.sourceDescription: .sourceDescription(try RTCPSourceDescription(parsingBody: body, count: count))
        case PacketType.bye: .bye(try RTCPBye(parsingBody: body, count: count))
        default: .other(RTCPRawPacket(packetType: type, count: UInt8(count), body: Array(body)))
        }
    }
}

/// An RTCP packet of a type this module does not interpret, kept verbatim.
public struct RTCPRawPacket: Sendable, Equatable {
    public var packetType: UInt8
    /// The 5-bit count/subtype field (FMT for feedback messages).
    public var count: UInt8
    /// Everything after the common header, padding excluded (zero-padded to 32 bits when written).
    public var body: [UInt8]

    public init(packetType: UInt8, count: UInt8, body: [UInt8]) {
        self.packetType = packetType
        self.count = count
        self.body = body
    }
}

/// A compound RTCP packet (RFC 3550 §6.1): one or more RTCP packets in one datagram.
public struct RTCPCompoundPacket: Sendable, Equatable {
    public var packets: [RTCPPacket]

    public init(_ packets: [RTCPPacket]) {
        self.packets = packets
    }

    /// Parses and validates a compound packet (RFC 3550 Appendix A.2): every packet has version 2,
    /// only the last may have the padding bit, the lengths add up to the datagram's length, and (when
    /// `requireReportFirst`, the default) the first packet is an SR or RR. Pass `false` to accept
    /// reduced-size RTCP (RFC 5506).
    public init(parsing bytes: UnsafeRawBufferPointer, requireReportFirst: Bool = true) throws(RTPError) {
        var packets: [RTCPPacket] = []
        var o = 0
        let n = bytes.count
        guard n >= 4 else { throw .truncated(what: "RTCP header", needed: 4, available: n) }
        while o < n {
            guard o + 4 <= n else { throw .truncated(what: "RTCP header", needed: o + 4, available: n) }
            let b0 = bytes[o]
            guard b0 >> 6 == 2 else { throw .badVersion(Int(b0 >> 6)) }
            let padding = b0 & 0x20 != 0
            let count = Int(b0 & 0x1F)
            let type = bytes[o + 1]
            let length = (Int(BE.u16(bytes, o + 2)) + 1) * 4
            guard o + length <= n else {
                throw .invalidRTCP("packet type \(type) claims \(length) bytes, \(n - o) left (length sum)")
            }
            if packets.isEmpty && requireReportFirst
                && type != RTCPPacket.PacketType.senderReport && type != RTCPPacket.PacketType.receiverReport
            {
                throw .invalidRTCP("first packet has type \(type), not SR or RR")
            }
            var end = o + length
            if padding {
                guard o + length == n else { throw .invalidRTCP("padding bit set on a packet that is not the last") }
                let pad = Int(bytes[end - 1])
                guard pad >= 1, pad <= length - 4 else { throw .badPadding(count: pad, available: length - 4) }
                end -= pad
            }
            let body = UnsafeRawBufferPointer(rebasing: bytes[(o + 4)..<end])
            packets.append(try RTCPPacket.parse(type: type, count: count, body: body))
            o += length
        }
        self.packets = packets
    }

    /// Parses a compound packet held in an array.
    public init(parsing bytes: [UInt8], requireReportFirst: Bool = true) throws(RTPError) {
        let result: Result<RTCPCompoundPacket, RTPError> = bytes.withUnsafeBytes { raw in
            do throws(RTPError) { return .success(try RTCPCompoundPacket(parsing: raw, requireReportFirst: requireReportFirst)) }
            catch { return .failure(error) }
        }
        self = try result.get()
    }

    /// Bytes the compound packet occupies when serialized.
    public var serializedLength: Int { packets.reduce(0) { $0 + $1.serializedLength } }

    /// Writes all packets back to back into `buffer`; returns the length.
    public func write(into buffer: UnsafeMutableRawBufferPointer) throws(RTPError) -> Int {
        var o = 0
        for p in packets { o += try p.write(into: buffer, at: o) }
        return o
    }

    /// Serializes into a new array.
    public func serialize() throws(RTPError) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: serializedLength)
        let result: Result<Int, RTPError> = out.withUnsafeMutableBytes { buf in
            do throws(RTPError) { return .success(try write(into: buf)) } catch { return .failure(error) }
        }
        _ = try result.get()
        return out
    }
}
