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
