internal import COpenSSL

/// Errors of CryptoCore. Every OpenSSL failure carries the C function that failed and the drained
/// OpenSSL error queue (docs/architecture.md: "C in the basement").
public enum CryptoError: Error, Sendable, Equatable, CustomStringConvertible {
    /// An OpenSSL call failed.
    case openSSL(function: String, detail: String)
    /// The peer's certificate does not match the `a=fingerprint` from the signalling (RFC 5763 §5).
    case fingerprintMismatch(algorithm: String, expected: String, actual: String)
    /// The peer presented no certificate.
    case noPeerCertificate
    /// The fingerprint hash algorithm is not one of sha-1, sha-256, sha-384, sha-512.
    case unsupportedFingerprintAlgorithm(String)
    /// The handshake completed without a use_srtp profile both sides support (RFC 5764 §4.1.2).
    case noSRTPProfile
    /// The handshake failed (bad record, alert, protocol error).
    case handshakeFailed(detail: String)
    /// The handshake did not complete within the configured cap.
    case handshakeTimeout(seconds: Int64)
    /// An operation needed a state the endpoint is not in.
    case invalidState(String)

    public var description: String {
        switch self {
        case .openSSL(let f, let d): return "\(f) failed: \(d)"
        case .fingerprintMismatch(let a, let e, let g): return "DTLS peer certificate \(a) fingerprint mismatch: expected \(e), got \(g)"
        case .noPeerCertificate: return "DTLS peer sent no certificate"
        case .unsupportedFingerprintAlgorithm(let a): return "unsupported fingerprint algorithm \(a)"
        case .noSRTPProfile: return "DTLS handshake negotiated no SRTP protection profile"
        case .handshakeFailed(let d): return "DTLS handshake failed: \(d)"
        case .handshakeTimeout(let s): return "DTLS handshake did not complete within \(s) s"
        case .invalidState(let s): return "invalid DTLS state: \(s)"
        }
    }

    /// Builds `.openSSL` for `function`, draining this thread's OpenSSL error queue.
    static func fromQueue(_ function: String) -> CryptoError {
        .openSSL(function: function, detail: drainedErrors())
    }

    static func drainedErrors() -> String {
        var buf = [CChar](repeating: 0, count: 1024)
        let n = copenssl_drain_errors(&buf, buf.count)
        if n == 0 { return "no OpenSSL error queued" }
        return String(decoding: buf.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
