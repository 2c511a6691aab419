/// Logging hygiene (house rule 5): secrets never appear in logs; numbers and addresses are shortened.
public enum Redact {
    /// A password, token or key: never printed.
    public static func secret(_ value: String?) -> String { value == nil ? "<none>" : "<redacted>" }

    /// A phone number / user id: keep the last two characters.
    public static func number(_ value: String) -> String {
        guard value.count > 2 else { return "**" }
        return String(repeating: "*", count: value.count - 2) + value.suffix(2)
    }

    /// A long identifier (sessid, callID, ICE ufrag): keep the first 8 characters.
    public static func identifier(_ value: String) -> String {
        value.count <= 8 ? value : String(value.prefix(8)) + "…"
    }
}

extension Redact {
    private static var secretMembers: Regex<AnyRegexOutput> { try! Regex(#""(passwd|password|token|secret)"\s*:\s*"(?:[^"\\]|\\.)*(?:"|\\?$)"#) }
    private static var sessidMembers: Regex<AnyRegexOutput> { try! Regex(#""sessid"\s*:\s*"([^"\\]{0,8})(?:[^"\\]|\\.)*""#) }
    private static var icePasswords: Regex<AnyRegexOutput> { try! Regex(#"a=ice-pwd:[^\\\r\n"]+"#) }
    private static var cryptoKeys: Regex<AnyRegexOutput> { try! Regex(#"inline:[^\\\r\n" |]+"#) }

    // Made per use (Regex is not Sendable); a trace log is a diagnostic path.

    /// A Verto/JSON-RPC frame for a trace log: passwords, tokens, ICE passwords and SDES keys
    /// replaced by `<redacted>`, sessids cut to their first 8 characters. Works on the text, so a
    /// malformed frame is redacted too.
    public static func jsonRPCFrame(_ text: String) -> String {
        var t = text.replacing(secretMembers) { m in "\"\(m.output[1].substring ?? "")\":\"<redacted>\"" }
        t = t.replacing(sessidMembers) { m in "\"sessid\":\"\(m.output[1].substring ?? "")…\"" }
        t = t.replacing(icePasswords, with: "a=ice-pwd:<redacted>")
        return t.replacing(cryptoKeys, with: "inline:<redacted>")
    }
}
