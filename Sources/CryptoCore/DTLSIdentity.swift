internal import COpenSSL

/// A private key, its self-signed certificate and the one `SSL_CTX` built on them.
///
/// Create one per process (`DTLSIdentity.shared`): certificate generation costs ~0.25 ms and the
/// context is shared by every DTLS endpoint (docs/performance.md). Immutable after init and safe to share:
/// OpenSSL's `SSL_CTX` may be used by many `SSL_new` callers concurrently.
public final class DTLSIdentity: @unchecked Sendable {
    public enum KeyType: Sendable, Equatable {
        /// ECDSA on P-256 (what browsers use; cheapest handshake).
        case ecdsaP256
        /// RSA with the given modulus size (FreeSWITCH uses 4096).
        case rsa(bits: Int)
    }

    let handle: OpaquePointer
    /// The sha-256 fingerprint, as put into SDP.
    public let fingerprint: DTLSFingerprint
    public let keyType: KeyType?

    /// The process-wide ECDSA P-256 identity, created on first use.
    public static let shared: DTLSIdentity = {
        do { return try DTLSIdentity(keyType: .ecdsaP256) } catch {
            fatalError("cannot create the process DTLS identity: \(error)")
        }
    }()

    /// Generates a new key and self-signed certificate.
    public init(keyType: KeyType = .ecdsaP256, commonName: String = "VertoPhone", validityDays: Int = 30) throws {
        let h: OpaquePointer?
        switch keyType {
        case .ecdsaP256: h = copenssl_identity_new(0, 0, commonName, Int32(validityDays))
        case .rsa(let bits): h = copenssl_identity_new(1, Int32(bits), commonName, Int32(validityDays))
        }
        guard let h else { throw CryptoError.fromQueue("copenssl_identity_new") }
        self.handle = h
        self.keyType = keyType
        self.fingerprint = try DTLSIdentity.digest(h, "sha-256")
    }

    /// Loads an identity from PEM text (certificate and PKCS#8 or traditional private key).
    public init(certificatePEM: String, privateKeyPEM: String) throws {
        let cert = Array(certificatePEM.utf8), key = Array(privateKeyPEM.utf8)
        let h = cert.withUnsafeBufferPointer { c in
            key.withUnsafeBufferPointer { k in
                c.withMemoryRebound(to: CChar.self) { cc in
                    k.withMemoryRebound(to: CChar.self) { kk in
                        copenssl_identity_from_pem(cc.baseAddress, cc.count, kk.baseAddress, kk.count)
                    }
                }
            }
        }
        guard let h else { throw CryptoError.fromQueue("copenssl_identity_from_pem") }
        self.handle = h
        self.keyType = nil
        self.fingerprint = try DTLSIdentity.digest(h, "sha-256")
    }

    deinit { copenssl_identity_free(handle) }

    /// The fingerprint with another hash function (FreeSWITCH answers with the peer's hash).
    public func fingerprint(algorithm: String) throws -> DTLSFingerprint {
        try DTLSIdentity.digest(handle, algorithm)
    }

    /// The certificate in DER.
    public var certificateDER: [UInt8] {
        let n = copenssl_identity_cert_der(handle, nil, 0)
        guard n > 0 else { return [] }
        var out = [UInt8](repeating: 0, count: Int(n))
        _ = copenssl_identity_cert_der(handle, &out, out.count)
        return out
    }

    /// The certificate in PEM (for serving wss with the same identity in tests).
    public var certificatePEM: String { pem(copenssl_identity_cert_pem) }

    /// The private key in PKCS#8 PEM. Handle with care: never log it.
    public var privateKeyPEM: String { pem(copenssl_identity_key_pem) }

    private func pem(_ f: (OpaquePointer?, UnsafeMutablePointer<CChar>?, Int) -> Int32) -> String {
        let n = f(handle, nil, 0)
        guard n > 0 else { return "" }
        var buf = [CChar](repeating: 0, count: Int(n))
        _ = f(handle, &buf, buf.count)
        return String(decoding: buf.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private static func digest(_ h: OpaquePointer, _ algorithm: String) throws -> DTLSFingerprint {
        var out = [UInt8](repeating: 0, count: 64)
        let n = copenssl_identity_fingerprint(h, algorithm.lowercased(), &out, out.count)
        guard n > 0 else { throw CryptoError.unsupportedFingerprintAlgorithm(algorithm) }
        return DTLSFingerprint(algorithm: algorithm, bytes: Array(out.prefix(Int(n))))
    }
}
