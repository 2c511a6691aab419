internal import COpenSSL

/// HMAC-SHA1 (RFC 2104), used by STUN MESSAGE-INTEGRITY (RFC 8489 §14.5).
public enum HMACSHA1 {
    public static let length = 20

    public static func authenticationCode(key: UnsafeRawBufferPointer, message: UnsafeRawBufferPointer,
                                          into out: UnsafeMutableRawBufferPointer) {
        precondition(out.count >= length, "caller provides 20 bytes")
        let ok = copenssl_hmac_sha1(key.baseAddress?.assumingMemoryBound(to: UInt8.self), key.count,
                                    message.baseAddress?.assumingMemoryBound(to: UInt8.self), message.count,
                                    out.baseAddress!.assumingMemoryBound(to: UInt8.self))
        precondition(ok == 1, "HMAC-SHA1 cannot fail for valid buffers")
    }

    public static func authenticationCode(key: [UInt8], message: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: length)
        key.withUnsafeBytes { k in message.withUnsafeBytes { m in out.withUnsafeMutableBytes { authenticationCode(key: k, message: m, into: $0) } } }
        return out
    }
}

/// SHA-256 (FIPS 180-4).
public enum SHA256Digest {
    public static func hash(_ data: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        let ok = data.withUnsafeBufferPointer { copenssl_sha256($0.baseAddress, $0.count, &out) }
        precondition(ok == 1, "SHA-256 cannot fail")
        return out
    }
}

/// MD5 (RFC 1321). Used only where a protocol fixes it: the key of STUN's long-term credential
/// mechanism, MD5(username ":" realm ":" password) (RFC 8489 §9.2.2), which TURN servers use.
public enum MD5Digest {
    public static func hash(_ data: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 16)
        let ok = data.withUnsafeBufferPointer { copenssl_md5($0.baseAddress, $0.count, &out) }
        precondition(ok == 1, "MD5 cannot fail")
        return out
    }
}

/// PBKDF2-HMAC-SHA256 (RFC 8018 §5.2), for stored password hashes.
public enum PBKDF2 {
    public static func sha256(password: String, salt: [UInt8], iterations: Int, length: Int = 32) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: length)
        let pw = Array(password.utf8)
        let ok = pw.withUnsafeBufferPointer { p in
            p.withMemoryRebound(to: CChar.self) { pc in
                copenssl_pbkdf2_sha256(pc.baseAddress, pc.count, salt, salt.count, UInt32(iterations), &out, length)
            }
        }
        guard ok == 1 else { throw CryptoError.fromQueue("PKCS5_PBKDF2_HMAC") }
        return out
    }
}

/// Constant-time comparison and secure random bytes.
public enum SecureBytes {
    public static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        a.count == b.count && copenssl_memcmp(a, b, a.count) == 0
    }

    public static func random(count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        precondition(copenssl_random(&out, count) == 1, "the OpenSSL CSPRNG failed")
        return out
    }
}

/// Versions of the C libraries, for `vertophone --version`.
public enum CryptoLibrary {
    public static var openSSLVersion: String { String(cString: copenssl_version()) }
}
