/// The one error type of RTPCore (docs/architecture.md house rule 9). Every parser in this module
/// reports malformed input with one of these cases and never traps.
public enum RTPError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The input ended before `what` was complete: `needed` bytes at least, `available` present.
    case truncated(what: String, needed: Int, available: Int)
    /// The version field was not 2 (RFC 3550 §5.1, §6.4.1).
    case badVersion(Int)
    /// The padding count was 0 or larger than the bytes after the header (RFC 3550 §5.1).
    case badPadding(count: Int, available: Int)
    /// The header extension's length runs past the packet (RFC 3550 §5.3.1) or an RFC 8285 element
    /// does not fit its extension block.
    case badExtensionLength(length: Int, available: Int)
    /// An RTCP compound packet failed a validity check of RFC 3550 Appendix A.2.
    case invalidRTCP(String)
    /// A caller-provided output buffer is too small.
    case bufferTooSmall(needed: Int, available: Int)
    /// A field value cannot be encoded (e.g. more than 15 CSRCs, an SDES item longer than 255 bytes).
    case invalidField(String)

    public var description: String {
        switch self {
        case .truncated(let what, let needed, let available):
            return "RTP: truncated \(what): needed \(needed) bytes, \(available) available"
        case .badVersion(let v): return "RTP: bad version \(v) (expected 2)"
        case .badPadding(let count, let available):
            return "RTP: bad padding count \(count) with \(available) bytes after the header"
        case .badExtensionLength(let length, let available):
            return "RTP: bad header extension length \(length) with \(available) bytes available"
        case .invalidRTCP(let why): return "RTCP: invalid compound packet: \(why)"
        case .bufferTooSmall(let needed, let available):
            return "RTP: output buffer too small: needed \(needed) bytes, \(available) available"
        case .invalidField(let why): return "RTP: invalid field: \(why)"
        }
    }
}

/// Big-endian reads and writes on raw buffers. Callers check bounds first.
@usableFromInline
enum BE {
    @inlinable static func u16(_ b: UnsafeRawBufferPointer, _ o: Int) -> UInt16 {
        UInt16(b[o]) << 8 | UInt16(b[o + 1])
    }
    @inlinable static func u24(_ b: UnsafeRawBufferPointer, _ o: Int) -> UInt32 {
        UInt32(b[o]) << 16 | UInt32(b[o + 1]) << 8 | UInt32(b[o + 2])
    }
    @inlinable static func u32(_ b: UnsafeRawBufferPointer, _ o: Int) -> UInt32 {
        UInt32(b[o]) << 24 | UInt32(b[o + 1]) << 16 | UInt32(b[o + 2]) << 8 | UInt32(b[o + 3])
    }
    @inlinable static func put16(_ b: UnsafeMutableRawBufferPointer, _ o: Int, _ v: UInt16) {
        b[o] = UInt8(truncatingIfNeeded: v >> 8); b[o + 1] = UInt8(truncatingIfNeeded: v)
    }
    @inlinable static func put24(_ b: UnsafeMutableRawBufferPointer, _ o: Int, _ v: UInt32) {
        b[o] = UInt8(truncatingIfNeeded: v >> 16); b[o + 1] = UInt8(truncatingIfNeeded: v >> 8)
        b[o + 2] = UInt8(truncatingIfNeeded: v)
    }
    @inlinable static func put32(_ b: UnsafeMutableRawBufferPointer, _ o: Int, _ v: UInt32) {
        b[o] = UInt8(truncatingIfNeeded: v >> 24); b[o + 1] = UInt8(truncatingIfNeeded: v >> 16)
        b[o + 2] = UInt8(truncatingIfNeeded: v >> 8); b[o + 3] = UInt8(truncatingIfNeeded: v)
    }
}
