import CryptoCore
import NIOCore

/// RFC 7983 demultiplexing and framing checks that need no allocation.
public enum STUN {
    /// The STUN header length, RFC 8489 §5.
    public static let headerLength = 20

    /// RFC 7983 §7: a datagram whose first byte is 0–3 is STUN. This is the one-byte test a
    /// PeerCore demultiplexer uses before anything else.
    @inlinable
    public static func isSTUN(firstByte: UInt8) -> Bool { firstByte <= 3 }

    /// The first-byte test plus the magic cookie and the length rules of RFC 8489 §6.3
    /// (20-byte header, length a multiple of 4 and matching the datagram).
    public static func isSTUN(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard bytes.count >= headerLength, isSTUN(firstByte: bytes[0]) else { return false }
        let cookie = UInt32(bytes[4]) << 24 | UInt32(bytes[5]) << 16 | UInt32(bytes[6]) << 8 | UInt32(bytes[7])
        let length = Int(bytes[2]) << 8 | Int(bytes[3])
        return cookie == stunMagicCookie && length % 4 == 0 && headerLength + length == bytes.count
    }

    public static func isSTUN(_ bytes: [UInt8]) -> Bool { bytes.withUnsafeBytes { isSTUN($0) } }

    public static func isSTUN(_ buffer: ByteBuffer) -> Bool { buffer.withUnsafeReadableBytes { isSTUN($0) } }
}

/// A validated, non-owning view of one STUN message in a caller's buffer (RFC 8489 §6.3).
///
/// Construction checks the header and walks the attribute TLVs without allocating, recording
/// where USERNAME, MESSAGE-INTEGRITY and FINGERPRINT sit, so an agent can reject junk, wrong
/// usernames and bad integrity before it decodes (and allocates) anything; its framing errors
/// carry only literal reasons, so rejecting junk does not allocate either. The view must not
/// outlive the buffer it was made from.
public struct STUNMessageView {
    public let bytes: UnsafeRawBufferPointer
    public let type: STUNMessageType
    public let transactionID: STUNTransactionID
    /// Offsets (of the attribute header) of the first MESSAGE-INTEGRITY / -SHA256 / FINGERPRINT.
    public private(set) var integrityOffset: Int?
    public private(set) var integritySHA256Offset: Int?
    public private(set) var fingerprintOffset: Int?
    /// Range of the first USERNAME value.
    public private(set) var usernameRange: Range<Int>?
    /// The first comprehension-required attribute this codec does not know (RFC 8489 §6.3.1).
    public private(set) var firstUnknownComprehensionRequired: UInt16?
    /// Whether USE-CANDIDATE is present (before MESSAGE-INTEGRITY).
    public private(set) var hasUseCandidate = false
    /// End of the attributes that count: MESSAGE-INTEGRITY's offset, or the message end.
    public private(set) var significantEnd: Int

    public init(_ bytes: UnsafeRawBufferPointer) throws(ICEError) {
        guard bytes.count >= STUN.headerLength else { throw .notSTUN(reason: "shorter than a STUN header") }
        guard bytes[0] & 0xC0 == 0 else { throw .notSTUN(reason: "top bits of the first byte set") }
        let cookie = UInt32(bytes[4]) << 24 | UInt32(bytes[5]) << 16 | UInt32(bytes[6]) << 8 | UInt32(bytes[7])
        guard cookie == stunMagicCookie else { throw .notSTUN(reason: "no magic cookie") }
        let length = Int(bytes[2]) << 8 | Int(bytes[3])
        guard length % 4 == 0 else { throw .malformedMessage(reason: "length not a multiple of 4", offset: 2) }
        guard STUN.headerLength + length == bytes.count else {
            throw .malformedMessage(reason: "length does not match the datagram", offset: 2)
        }
        self.bytes = bytes
        self.type = STUNMessageType(rawValue: UInt16(bytes[0]) << 8 | UInt16(bytes[1]))
        func word(_ i: Int) -> UInt32 { UInt32(bytes[i]) << 24 | UInt32(bytes[i + 1]) << 16 | UInt32(bytes[i + 2]) << 8 | UInt32(bytes[i + 3]) }
        self.transactionID = STUNTransactionID(a: word(8), b: word(12), c: word(16))
        self.significantEnd = bytes.count

        var offset = STUN.headerLength
        while offset < bytes.count {
            guard bytes.count - offset >= 4 else { throw .malformedMessage(reason: "truncated attribute header", offset: offset) }
            let type = UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
            let valueLength = Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])
            let padded = (valueLength + 3) & ~3
            guard padded <= bytes.count - offset - 4 else {
                throw .malformedAttribute(type: type, offset: offset, reason: "overruns the message")
            }
            if fingerprintOffset != nil {
                throw .malformedMessage(reason: "attribute after FINGERPRINT", offset: offset)
            }
            switch type {
            case STUNAttribute.Kind.fingerprint:
                guard valueLength == 4 else { throw .malformedAttribute(type: type, offset: offset, reason: "FINGERPRINT length is not 4") }
                fingerprintOffset = offset
                if integrityOffset == nil { significantEnd = offset }
            case STUNAttribute.Kind.messageIntegritySHA256:
                if integritySHA256Offset == nil { integritySHA256Offset = offset }
                if integrityOffset == nil { significantEnd = min(significantEnd, offset) }
            case _ where integrityOffset != nil:
                break  // RFC 8489 §14.5: attributes after MESSAGE-INTEGRITY are ignored
            case STUNAttribute.Kind.messageIntegrity:
                guard valueLength == 20 else { throw .malformedAttribute(type: type, offset: offset, reason: "MESSAGE-INTEGRITY length is not 20") }
                integrityOffset = offset
                significantEnd = min(significantEnd, offset)
            case STUNAttribute.Kind.username:
                if usernameRange == nil { usernameRange = (offset + 4)..<(offset + 4 + valueLength) }
            case STUNAttribute.Kind.useCandidate:
                hasUseCandidate = true
            default:
                if type < 0x8000, !STUNAttribute.isKnown(type), firstUnknownComprehensionRequired == nil {
                    firstUnknownComprehensionRequired = type
                }
            }
            offset += 4 + padded
        }
    }

    /// The FINGERPRINT check of RFC 8489 §14.7: nil when the attribute is absent.
    public func verifyFingerprint() -> Bool? {
        guard let fp = fingerprintOffset else { return nil }
        let expected = UInt32(bytes[fp + 4]) << 24 | UInt32(bytes[fp + 5]) << 16 | UInt32(bytes[fp + 6]) << 8 | UInt32(bytes[fp + 7])
        return CRC32.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<fp])) ^ STUNAttribute.fingerprintXOR == expected
    }

    /// The MESSAGE-INTEGRITY check of RFC 8489 §14.5 with a short-term key (the ICE password's
    /// UTF-8 bytes, RFC 8489 §9.1.1). False when the attribute is absent. Allocation-free: the
    /// covered bytes are copied into a temporary (stack) buffer to patch the length field.
    public func verifyIntegrity(key: UnsafeRawBufferPointer) -> Bool {
        guard let mi = integrityOffset else { return false }
        return withUnsafeTemporaryAllocation(byteCount: mi + HMACSHA1.length, alignment: 1) { scratch in
            let covered = UnsafeMutableRawBufferPointer(rebasing: scratch[0..<mi])
            covered.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[0..<mi]))
            let adjusted = mi + 24 - STUN.headerLength
            covered[2] = UInt8(adjusted >> 8)
            covered[3] = UInt8(truncatingIfNeeded: adjusted)
            let mac = UnsafeMutableRawBufferPointer(rebasing: scratch[mi...])
            HMACSHA1.authenticationCode(key: key, message: UnsafeRawBufferPointer(covered), into: mac)
            var diff: UInt8 = 0
            for i in 0..<HMACSHA1.length { diff |= mac[i] ^ bytes[mi + 4 + i] }
            return diff == 0
        }
    }

    public func verifyIntegrity(password: String) -> Bool {
        var pw = password
        return pw.withUTF8 { verifyIntegrity(key: UnsafeRawBufferPointer($0)) }
    }

    /// Compares the USERNAME value with `expected` exactly, without allocating.
    public func usernameEquals(_ expected: UnsafeRawBufferPointer) -> Bool {
        guard let r = usernameRange, r.count == expected.count else { return false }
        return bytes[r].elementsEqual(expected)
    }

    /// ICE usernames are "LFRAG:RFRAG" from the receiver's point of view (RFC 8445 §7.2.2). True when
    /// the part before the first colon equals `ufrag`.
    public func usernamePrefixEquals(_ ufrag: UnsafeRawBufferPointer) -> Bool {
        guard let r = usernameRange, r.count > ufrag.count, bytes[r.lowerBound + ufrag.count] == UInt8(ascii: ":") else { return false }
        return bytes[r.lowerBound..<(r.lowerBound + ufrag.count)].elementsEqual(ufrag)
    }

    /// The receiver's ufrag: the USERNAME part before the first colon (RFC 8445 §7.2.2), for a
    /// server that demultiplexes many sessions on one UDP port by ufrag. nil without USERNAME,
    /// colon, or valid UTF-8.
    public var receiverUfrag: String? {
        guard let r = usernameRange, let colon = bytes[r].firstIndex(of: UInt8(ascii: ":")) else { return nil }
        return String(validating: UnsafeRawBufferPointer(rebasing: bytes[r.lowerBound..<colon]), as: UTF8.self)
    }

    /// Decodes every attribute into an owned `STUNMessage` (allocates).
    public func decode() throws(ICEError) -> STUNMessage {
        var attributes: [STUNAttribute] = []
        var offset = STUN.headerLength
        var afterIntegrity = false
        while offset < bytes.count {
            let type = UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
            let valueLength = Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])
            let value = UnsafeRawBufferPointer(rebasing: bytes[(offset + 4)..<(offset + 4 + valueLength)])
            let counts = !afterIntegrity || type == STUNAttribute.Kind.fingerprint || type == STUNAttribute.Kind.messageIntegritySHA256
            if counts {
                attributes.append(try STUNAttribute.decode(type: type, value: value, offset: offset + 4, transactionID: transactionID))
            }
            if type == STUNAttribute.Kind.messageIntegrity { afterIntegrity = true }
            offset += 4 + ((valueLength + 3) & ~3)
        }
        return STUNMessage(type: type, transactionID: transactionID, attributes: attributes)
    }
}

extension STUNMessage {
    /// Parses and fully decodes one datagram. Never traps; every failure is an `ICEError`.
    /// Integrity and fingerprint are not verified here: use `STUNMessageView` for that.
    public static func decode(_ bytes: UnsafeRawBufferPointer) throws(ICEError) -> STUNMessage {
        try STUNMessageView(bytes).decode()
    }

    public static func decode(_ bytes: [UInt8]) throws(ICEError) -> STUNMessage {
        let result: Result<STUNMessage, ICEError> = bytes.withUnsafeBytes { raw in
            do throws(ICEError) { return .success(try decode(raw)) } catch { return .failure(error) }
        }
        return try result.get()
    }
}
