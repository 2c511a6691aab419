import CoreSupport

/// A certificate fingerprint as carried in SDP `a=fingerprint` (RFC 8122 §5): a hash function name
/// and the digest of the DER certificate, written as uppercase hex pairs separated by colons.
public struct DTLSFingerprint: Sendable, Hashable, CustomStringConvertible {
    /// Lowercase hash name: "sha-256" (the WebRTC default), "sha-1", "sha-384" or "sha-512".
    public let algorithm: String
    public let bytes: [UInt8]

    public init(algorithm: String, bytes: [UInt8]) {
        self.algorithm = algorithm.lowercased()
        self.bytes = bytes
    }

    /// Parses the attribute value, e.g. `sha-256 AB:CD:...`. Nil when malformed or when the digest
    /// length does not match the hash function.
    public init?(sdpValue: String) {
        let parts = sdpValue.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard parts.count == 2, let bytes = Hex.decode(String(parts[1])) else { return nil }
        let algorithm = parts[0].lowercased()
        guard let expected = DTLSFingerprint.digestLength(algorithm), expected == bytes.count else { return nil }
        self.init(algorithm: algorithm, bytes: bytes)
    }

    /// The SDP attribute value: `sha-256 AB:CD:...`.
    public var sdpValue: String { "\(algorithm) \(hex)" }

    /// Uppercase colon-separated hex.
    public var hex: String { Hex.encode(bytes, uppercase: true, separator: ":") }

    public var description: String { sdpValue }

    /// Digest length in bytes of a supported hash function, nil otherwise.
    public static func digestLength(_ algorithm: String) -> Int? {
        switch algorithm.lowercased() {
        case "sha-1": return 20
        case "sha-256": return 32
        case "sha-384": return 48
        case "sha-512": return 64
        default: return nil
        }
    }
}
