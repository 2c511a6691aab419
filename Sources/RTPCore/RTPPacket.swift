/// RTP data packets (RFC 3550 §5.1): a parsed, allocation-free view of a packet in a caller's buffer.
///
/// ```
///  0                   1                   2                   3
/// |V=2|P|X|  CC   |M|     PT      |       sequence number         |
/// |                           timestamp                           |
/// |           synchronization source (SSRC) identifier            |
/// |            contributing source (CSRC) identifiers (0..15)     |
/// |  defined by profile           |           length              |  (if X, RFC 3550 §5.3.1)
/// |                        header extension                       |
/// |                        payload ... | padding | pad count      |  (if P)
/// ```
public struct RTPPacket: Sendable, Equatable {
    /// The padding bit P.
    public var hasPadding: Bool
    /// The extension bit X.
    public var hasExtension: Bool
    /// The marker bit M (for audio: first packet of a talkspurt, RFC 3551 §4.1).
    public var marker: Bool
    public var payloadType: UInt8
    public var sequenceNumber: UInt16
    public var timestamp: UInt32
    public var ssrc: UInt32
    /// Number of CSRC identifiers (CC); read them with `csrc(_:in:)`.
    public var csrcCount: Int
    /// "Defined by profile" field of the header extension (0xBEDE: RFC 8285 one-byte elements,
    /// 0x100x: two-byte elements); 0 when there is no extension.
    public var extensionProfile: UInt16
    /// Byte range of the extension data (after its 4-byte header) in the parsed buffer; empty when none.
    public var extensionRange: Range<Int>
    /// Byte range of the payload in the parsed buffer (padding excluded).
    public var payloadRange: Range<Int>
    /// Number of padding bytes at the end, including the count byte itself (0 without padding).
    public var paddingLength: Int

    /// Length of the header (fixed part, CSRCs and extension): the payload's start offset.
    public var headerLength: Int { payloadRange.lowerBound }
    /// Total packet length.
    public var packetLength: Int { payloadRange.upperBound + paddingLength }

    /// Parses the RTP packet that fills `bytes` exactly. Allocation-free; never traps.
    /// - Throws: `RTPError.truncated`, `.badVersion`, `.badExtensionLength`, `.badPadding`.
    @inlinable
    public init(parsing bytes: UnsafeRawBufferPointer) throws(RTPError) {
        let n = bytes.count
        guard n >= 12 else { throw .truncated(what: "RTP fixed header", needed: 12, available: n) }
        let b0 = bytes[0], b1 = bytes[1]
        guard b0 >> 6 == 2 else { throw .badVersion(Int(b0 >> 6)) }
        hasPadding = b0 & 0x20 != 0
        hasExtension = b0 & 0x10 != 0
        csrcCount = Int(b0 & 0x0F)
        marker = b1 & 0x80 != 0
        payloadType = b1 & 0x7F
        sequenceNumber = BE.u16(bytes, 2)
        timestamp = BE.u32(bytes, 4)
        ssrc = BE.u32(bytes, 8)
        var offset = 12 + 4 * csrcCount
        guard offset <= n else { throw .truncated(what: "RTP CSRC list", needed: offset, available: n) }
        if hasExtension {
            guard offset + 4 <= n else {
                throw .truncated(what: "RTP header extension", needed: offset + 4, available: n)
            }
            extensionProfile = BE.u16(bytes, offset)
            let length = Int(BE.u16(bytes, offset + 2)) * 4
            let start = offset + 4
            guard start + length <= n else { throw .badExtensionLength(length: length, available: n - start) }
            extensionRange = start..<(start + length)
            offset = start + length
        } else {
            extensionProfile = 0
            extensionRange = offset..<offset
        }
        var end = n
        if hasPadding {
            // RFC 3550 §5.1: the last octet counts the padding octets, itself included.
            let count = Int(bytes[n - 1])
            guard count >= 1, count <= n - offset else { throw .badPadding(count: count, available: n - offset) }
            end = n - count
            paddingLength = count
        } else {
            paddingLength = 0
        }
        payloadRange = offset..<end
    }

    /// Parses a packet held in an array (convenience; the array is not retained).
    public init(parsing bytes: [UInt8]) throws(RTPError) {
        let result: Result<RTPPacket, RTPError> = bytes.withUnsafeBytes { raw in
            do throws(RTPError) { return .success(try RTPPacket(parsing: raw)) } catch { return .failure(error) }
        }
        self = try result.get()
    }

    /// The CSRC identifier at `index` (0..<csrcCount), read lazily from the buffer that was parsed
    /// (an index out of range is a programming error and traps).
    @inlinable
    public func csrc(_ index: Int, in bytes: UnsafeRawBufferPointer) -> UInt32 {
        precondition(index >= 0 && index < csrcCount, "CSRC index out of range")
        return BE.u32(bytes, 12 + 4 * index)
    }

    /// All CSRC identifiers (allocates; not for the hot path).
    public func csrcs(in bytes: UnsafeRawBufferPointer) -> [UInt32] {
        (0..<csrcCount).map { csrc($0, in: bytes) }
    }

    /// Rebuilds the serializable header (allocates the CSRC list and extension data).
    public func header(in bytes: UnsafeRawBufferPointer) -> RTPHeader {
        RTPHeader(
            marker: marker, payloadType: payloadType, sequenceNumber: sequenceNumber, timestamp: timestamp,
            ssrc: ssrc, csrcs: csrcs(in: bytes),
            extension: hasExtension
                ? RTPHeaderExtension(profile: extensionProfile, data: Array(bytes[extensionRange])) : nil)
    }

    /// The RFC 8285 elements of the header extension (one-byte profile 0xBEDE or two-byte 0x100x),
    /// as ranges into the parsed buffer. Returns [] for other profiles. Allocates the result array.
    public func extensionElements(in bytes: UnsafeRawBufferPointer) throws(RTPError) -> [RTPExtensionElement] {
        guard hasExtension else { return [] }
        return try RTPExtensionElement.parse(profile: extensionProfile, block: extensionRange, in: bytes)
    }
}

/// One RFC 8285 header extension element: its local identifier and where its data lies.
public struct RTPExtensionElement: Sendable, Equatable {
    public var id: UInt8
    public var range: Range<Int>

    public init(id: UInt8, range: Range<Int>) {
        self.id = id
        self.range = range
    }

    /// The one-byte header profile (RFC 8285 §4.2).
    public static let oneByteProfile: UInt16 = 0xBEDE
    /// Two-byte header profiles are 0x100 followed by 4 "appbits" (RFC 8285 §4.3).
    public static func isTwoByteProfile(_ profile: UInt16) -> Bool { profile & 0xFFF0 == 0x1000 }

    /// Parses the elements in `block` (RFC 8285 §4.2/§4.3). Padding bytes (0) are skipped; in the
    /// one-byte form, ID 15 stops parsing (§4.2).
    static func parse(profile: UInt16, block: Range<Int>, in bytes: UnsafeRawBufferPointer) throws(RTPError)
        -> [RTPExtensionElement]
    {
        var out: [RTPExtensionElement] = []
        var i = block.lowerBound
        if profile == oneByteProfile {
            while i < block.upperBound {
                let b = bytes[i]
                if b == 0 { i += 1; continue }
                let id = b >> 4
                if id == 15 { break }
                let len = Int(b & 0x0F) + 1
                guard i + 1 + len <= block.upperBound else {
                    throw .badExtensionLength(length: len, available: block.upperBound - i - 1)
                }
                out.append(RTPExtensionElement(id: id, range: (i + 1)..<(i + 1 + len)))
                i += 1 + len
            }
        } else if isTwoByteProfile(profile) {
            while i < block.upperBound {
                let id = bytes[i]
                if id == 0 { i += 1; continue }
                guard i + 2 <= block.upperBound else {
                    throw .badExtensionLength(length: 2, available: block.upperBound - i)
                }
                let len = Int(bytes[i + 1])
                guard i + 2 + len <= block.upperBound else {
                    throw .badExtensionLength(length: len, available: block.upperBound - i - 2)
                }
                out.append(RTPExtensionElement(id: id, range: (i + 2)..<(i + 2 + len)))
                i += 2 + len
            }
        }
        return out
    }
}
