/// ICE short-term credentials: the username fragment and password of RFC 8445 §5.3, written in SDP
/// as `a=ice-ufrag` / `a=ice-pwd` (RFC 8839 §5.4). One type for the SDP and ICE layers.
public struct ICECredentials: Sendable, Hashable, CustomStringConvertible {
    public var ufrag: String
    public var password: String

    public init(ufrag: String, password: String) {
        self.ufrag = ufrag
        self.password = password
    }

    /// Fresh credentials over the ice-char alphabet from the injected generator (RFC 8839 §5.4:
    /// ufrag 4–256 characters, password 22–256; RFC 8445 §5.3 asks for at least 24 bits of
    /// randomness in the ufrag and 128 in the password). The defaults, 8 and 24 characters of 6 bits
    /// each, give 48 and 144 bits.
    public static func random(
        ufragLength: Int = 8, passwordLength: Int = 24, using generator: inout some RandomNumberGenerator
    ) -> ICECredentials {
        ICECredentials(
            ufrag: generator.string(length: max(4, min(ufragLength, 256))),
            password: generator.string(length: max(22, min(passwordLength, 256))))
    }

    /// True when both satisfy the grammar of RFC 8839 §5.4 (lengths and ice-char set).
    public var isValid: Bool {
        Self.isIceChars(ufrag) && Self.isIceChars(password)
            && (4...256).contains(ufrag.utf8.count) && (22...256).contains(password.utf8.count)
    }

    static func isIceChars(_ s: String) -> Bool {
        s.utf8.allSatisfy { c in
            (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c == 43 || c == 47
        }
    }

    /// Logs never show the password.
    public var description: String { "ICECredentials(ufrag: \(Redact.identifier(ufrag)), pwd: \(Redact.secret(password)))" }
}
