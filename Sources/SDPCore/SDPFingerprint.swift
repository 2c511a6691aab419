import CoreSupport

/// A certificate fingerprint, `a=fingerprint:<hash-func> <fingerprint>` (RFC 8122 §5), e.g.
/// `sha-256 AB:CD:…` with upper-case hex pairs separated by colons.
public struct SDPFingerprint: Sendable, Equatable, Hashable, CustomStringConvertible {
    /// The hash function name in lower case (`sha-256`, `sha-1`, …; RFC 8122 §5 names are case-insensitive).
    public var hashFunction: String
    /// The digest bytes.
    public var bytes: [UInt8]

    public init(hashFunction: String = "sha-256", bytes: [UInt8]) {
        self.hashFunction = SDPText.lowercased(hashFunction)
        self.bytes = bytes
    }

    /// Parses the value of an `a=fingerprint` attribute. Nil when the hex is malformed or its length
    /// does not fit a known hash function.
    public init?(attributeValue: String) {
        self.init(attributeValue: Substring(attributeValue))
    }

    init?(attributeValue: Substring) {
        let f = SDPText.fields(attributeValue)
        guard f.count == 2 else { return nil }
        let hash = SDPText.lowercased(f[0])
        var out: [UInt8] = []
        for pair in SDPText.split(f[1], UInt8(ascii: ":")) {
            guard pair.utf8.count == 2, let b = Hex.decode(String(pair)), b.count == 1 else { return nil }
            out.append(b[0])
        }
        if let expected = Self.digestLength(hash), expected != out.count { return nil }
        guard !out.isEmpty else { return nil }
        self.hashFunction = hash
        self.bytes = out
    }

    /// The digest length of the hash functions of RFC 8122 §5 (the IANA "Hash Function Textual
    /// Names" registry); nil for a name this code does not know.
    public static func digestLength(_ hashFunction: String) -> Int? {
        switch SDPText.lowercased(hashFunction) {
        case "md2", "md5": 16
        case "sha-1": 20
        case "sha-224": 28
        case "sha-256": 32
        case "sha-384": 48
        case "sha-512": 64
        default: nil
        }
    }

    /// `AB:CD:…` (upper-case hex, colon-separated, RFC 8122 §5).
    public var hexValue: String { Hex.encode(bytes, uppercase: true, separator: ":") }

    /// The value of the `a=fingerprint` attribute.
    public var attributeValue: String { "\(hashFunction) \(hexValue)" }

    public var description: String { attributeValue }

    /// The `a=fingerprint` attribute.
    public var attribute: SDPAttribute { SDPAttribute("fingerprint", attributeValue) }
}
