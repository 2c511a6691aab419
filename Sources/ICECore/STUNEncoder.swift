import CryptoCore

extension STUNMessage {
    /// Serializes the message (RFC 8489 §5, §14).
    ///
    /// - Parameters:
    ///   - integrityKey: when given, MESSAGE-INTEGRITY (HMAC-SHA1, §14.5) is appended, computed over
    ///     the message with the length field covering it. For ICE this is the UTF-8 password.
    ///   - fingerprint: appends FINGERPRINT (§14.7) last.
    ///   - padding: the byte used to pad attribute values to 4 bytes (any value is legal; zero is
    ///     usual, RFC 5769's vectors use 0x20).
    /// Any MESSAGE-INTEGRITY, MESSAGE-INTEGRITY-SHA256 or FINGERPRINT already in `attributes` is skipped.
    public func encode(integrityKey: [UInt8]? = nil, fingerprint: Bool = false, padding: UInt8 = 0) throws(ICEError) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(128)
        let t = type.rawValue
        out += [UInt8(t >> 8), UInt8(truncatingIfNeeded: t), 0, 0]
        out += [0x21, 0x12, 0xA4, 0x42]
        out += transactionID.bytes
        for attribute in attributes {
            switch attribute {
            case .messageIntegrity, .messageIntegritySHA256, .fingerprint: continue
            default: try attribute.encode(into: &out, transactionID: transactionID, padding: padding)
            }
        }
        func setLength(_ n: Int) throws(ICEError) {
            guard n <= 0xFFFF else { throw .encodingFailed(reason: "message longer than 65535 bytes") }
            out[2] = UInt8(n >> 8)
            out[3] = UInt8(truncatingIfNeeded: n)
        }
        if let key = integrityKey {
            try setLength(out.count - STUN.headerLength + 24)
            let mac = HMACSHA1.authenticationCode(key: key, message: out)
            out += [0x00, 0x08, 0x00, 0x14]
            out += mac
        }
        if fingerprint {
            try setLength(out.count - STUN.headerLength + 8)
            let crc = CRC32.checksum(out) ^ STUNAttribute.fingerprintXOR
            out += [0x80, 0x28, 0x00, 0x04, UInt8(crc >> 24), UInt8(truncatingIfNeeded: crc >> 16), UInt8(truncatingIfNeeded: crc >> 8), UInt8(truncatingIfNeeded: crc)]
        }
        try setLength(out.count - STUN.headerLength)
        return out
    }

    /// Same as `encode`, with the password given as a string (ICE short-term credentials).
    public func encode(password: String?, fingerprint: Bool = true) throws(ICEError) -> [UInt8] {
        try encode(integrityKey: password.map { Array($0.utf8) }, fingerprint: fingerprint)
    }

    /// Serializes into a caller buffer; returns the number of bytes written.
    public func encode(into buffer: UnsafeMutableRawBufferPointer, integrityKey: [UInt8]? = nil,
                       fingerprint: Bool = false) throws(ICEError) -> Int {
        let bytes = try encode(integrityKey: integrityKey, fingerprint: fingerprint)
        guard bytes.count <= buffer.count else { throw .bufferTooSmall(needed: bytes.count, available: buffer.count) }
        bytes.withUnsafeBytes { buffer.copyMemory(from: $0) }
        return bytes.count
    }
}
