import Foundation

/// A JSON value with ordered object members, so that serialization is stable and byte-for-byte
/// reproducible in transcript tests (docs/verto-protocol.md §2).
///
/// Numbers keep the distinction between integers (ids, `causeCode`, `serno`) and other numbers.
public enum JSONValue: Sendable, Equatable, Hashable {
    case object(JSONObject)
    case array([JSONValue])
    case string(String)
    case int(Int)
    case double(Double)
    case bool(Bool)
    case null

    public var objectValue: JSONObject? { if case .object(let o) = self { return o } else { return nil } }
    public var arrayValue: [JSONValue]? { if case .array(let a) = self { return a } else { return nil } }
    public var stringValue: String? { if case .string(let s) = self { return s } else { return nil } }
    public var boolValue: Bool? { if case .bool(let b) = self { return b } else { return nil } }
    public var isNull: Bool { self == .null }

    /// Integer value of an integer, an integral double, or a numeric string ("16": FreeSWITCH accepts
    /// `causeCode` as number or numeric string, §3.2.4).
    public var intValue: Int? {
        switch self {
        case .int(let i): return i
        case .double(let d):
            guard d.isFinite, d.rounded() == d, abs(d) < 9.0e15 else { return nil }
            return Int(d)
        case .string(let s): return Int(s.trimmingCharacters(in: .whitespaces))
        default: return nil
        }
    }

    /// A string or a scalar rendered as a string (FreeSWITCH turns booleans into "true"/"false").
    public var scalarString: String? {
        switch self {
        case .string(let s): return s
        case .int(let i): return String(i)
        case .double(let d): return String(d)
        case .bool(let b): return b ? "true" : "false"
        default: return nil
        }
    }

    /// JavaScript truthiness (verto.js replies only to truthy ids; `echoParams` is "true-ish").
    public var isTruthy: Bool {
        switch self {
        case .null: return false
        case .bool(let b): return b
        case .int(let i): return i != 0
        case .double(let d): return d != 0 && !d.isNaN
        case .string(let s): return !s.isEmpty
        case .object, .array: return true
        }
    }
}

/// An ordered JSON object. Keys are unique (the parser keeps the **first** of duplicate keys, which is
/// the specific message in mod_verto's doubled `message` of `verto.invite` errors, §2.2).
/// Lookup is exact first, then ASCII case-insensitive, like FreeSWITCH's cJSON (§2.1: `callId` works).
public struct JSONObject: Sendable, Equatable, Hashable, ExpressibleByDictionaryLiteral, Sequence {
    public struct Member: Sendable, Equatable, Hashable {
        public var key: String
        public var value: JSONValue
    }

    public private(set) var members: [Member] = []

    public init() {}

    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        for (k, v) in elements { self[k] = v }
    }

    public init(_ pairs: [(String, JSONValue)]) {
        for (k, v) in pairs { self[k] = v }
    }

    public var isEmpty: Bool { members.isEmpty }
    public var count: Int { members.count }
    public var keys: [String] { members.map(\.key) }

    public func makeIterator() -> IndexingIterator<[Member]> { members.makeIterator() }

    private func index(of key: String) -> Int? {
        if let i = members.firstIndex(where: { $0.key == key }) { return i }
        // ASCII case folding byte by byte, without allocating a lowercased copy of every key.
        let wanted = key.utf8
        return members.firstIndex { m in
            m.key.utf8.count == wanted.count && m.key.utf8.elementsEqual(wanted) { a, b in
                a == b || (a | 0x20 == b | 0x20 && (a | 0x20) >= 0x61 && (a | 0x20) <= 0x7A)
            }
        }
    }

    /// Get: exact key, else case-insensitive match. Set: replaces the value in place (keeping the
    /// position and the existing spelling of the key), appends when new, removes when `nil`.
    public subscript(key: String) -> JSONValue? {
        get { index(of: key).map { members[$0].value } }
        set {
            if let i = index(of: key) {
                if let v = newValue { members[i].value = v } else { members.remove(at: i) }
            } else if let v = newValue {
                members.append(Member(key: key, value: v))
            }
        }
    }

    /// True when a member with exactly this key exists (no case folding).
    func containsExact(_ key: String) -> Bool { members.contains { $0.key == key } }

    /// Appends without checking for an existing key (used by the parser after its own check).
    mutating func appendUnchecked(_ key: String, _ value: JSONValue) {
        members.append(Member(key: key, value: value))
    }

    @discardableResult
    public mutating func removeValue(forKey key: String) -> JSONValue? {
        guard let i = index(of: key) else { return nil }
        return members.remove(at: i).value
    }

    /// Members of `other` are added or replace ours.
    public mutating func merge(_ other: JSONObject) {
        for m in other.members { self[m.key] = m.value }
    }

    public func string(_ key: String) -> String? { self[key]?.stringValue }
    public func int(_ key: String) -> Int? { self[key]?.intValue }
    public func bool(_ key: String) -> Bool? { self[key]?.boolValue }
    public func object(_ key: String) -> JSONObject? { self[key]?.objectValue }
    public func array(_ key: String) -> [JSONValue]? { self[key]?.arrayValue }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral, ExpressibleByFloatLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) { self = .object(JSONObject(elements)) }
    public init(nilLiteral: ()) { self = .null }
}

extension JSONValue {
    /// `.string` or `.null`.
    public init(_ string: String?) { self = string.map { .string($0) } ?? .null }
}
