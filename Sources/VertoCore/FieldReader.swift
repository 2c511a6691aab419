/// Reads known members out of a params object, leaving the rest for an `extra` map (unknown fields are
/// preserved where the protocol round-trips them). Type errors are `VertoError.wrongType`; keys are
/// matched case-insensitively like mod_verto (§2.1).
struct FieldReader {
    var remaining: JSONObject
    let method: String

    init(_ object: JSONObject, method: String) {
        self.remaining = object
        self.method = method
    }

    /// The members not read yet, split into the `verto_h_*` channel variables FreeSWITCH copies into
    /// server requests (§3.3) and everything else.
    var remainingHeadersAndRest: (headers: JSONObject, rest: JSONObject) {
        var h = JSONObject()
        var rest = JSONObject()
        for m in remaining {
            if m.key.hasPrefix("verto_h_") { h[m.key] = m.value } else { rest[m.key] = m.value }
        }
        return (h, rest)
    }

    mutating func value(_ key: String) -> JSONValue? {
        guard let v = remaining.removeValue(forKey: key) else { return nil }
        return v
    }

    /// A string; numbers and booleans are accepted and rendered (FreeSWITCH does the same). `null` = absent.
    mutating func string(_ key: String) throws(VertoError) -> String? {
        guard let v = value(key), v != .null else { return nil }
        guard let s = v.scalarString else { throw .wrongType(method: method, field: key, expected: "a string") }
        return s
    }

    mutating func requiredString(_ key: String) throws(VertoError) -> String {
        guard let s = try string(key) else { throw .missingField(method: method, field: key) }
        return s
    }

    /// A boolean; "true"/"false" strings and 0/1 accepted.
    mutating func bool(_ key: String) throws(VertoError) -> Bool? {
        guard let v = value(key), v != .null else { return nil }
        switch v {
        case .bool(let b): return b
        case .string(let s) where s.lowercased() == "true": return true
        case .string(let s) where s.lowercased() == "false": return false
        case .int(let i): return i != 0
        default: throw .wrongType(method: method, field: key, expected: "a boolean")
        }
    }

    mutating func int(_ key: String) throws(VertoError) -> Int? {
        guard let v = value(key), v != .null else { return nil }
        guard let i = v.intValue else { throw .wrongType(method: method, field: key, expected: "an integer") }
        return i
    }

    mutating func object(_ key: String) throws(VertoError) -> JSONObject? {
        guard let v = value(key), v != .null else { return nil }
        guard let o = v.objectValue else { throw .wrongType(method: method, field: key, expected: "an object") }
        return o
    }

    mutating func stringArray(_ key: String) throws(VertoError) -> [String]? {
        guard let v = value(key), v != .null else { return nil }
        guard let a = v.arrayValue else { throw .wrongType(method: method, field: key, expected: "an array of strings") }
        var out: [String] = []
        for e in a {
            guard let s = e.scalarString else { throw .wrongType(method: method, field: key, expected: "an array of strings") }
            out.append(s)
        }
        return out
    }
}

/// Builds a params object in a fixed member order, skipping absent values, then appends `extra`.
struct FieldWriter {
    var object = JSONObject()

    mutating func set(_ key: String, _ value: String?) { if let value { object[key] = .string(value) } }
    mutating func set(_ key: String, _ value: Bool?) { if let value { object[key] = .bool(value) } }
    mutating func set(_ key: String, _ value: Int?) { if let value { object[key] = .int(value) } }
    mutating func set(_ key: String, _ value: JSONObject?) { if let value { object[key] = .object(value) } }
    mutating func set(_ key: String, _ value: JSONValue?) { if let value { object[key] = value } }
    mutating func set(_ key: String, _ value: [String]?) { if let value { object[key] = .array(value.map { .string($0) }) } }

    /// Unknown members never override known ones.
    mutating func append(extra: JSONObject) {
        for m in extra where object[m.key] == nil { object[m.key] = m.value }
    }
}
