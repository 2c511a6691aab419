/// One `a=` line (RFC 8866 §5.13): `a=<name>` (a property attribute, `value == nil`) or
/// `a=<name>:<value>`. Attributes are kept in the order they were read, including the ones
/// SDPCore does not interpret, so that they are re-emitted unchanged.
public struct SDPAttribute: Sendable, Equatable, Hashable, CustomStringConvertible {
    /// The attribute name as written (comparisons in the typed accessors ignore ASCII case).
    public var name: String
    /// The value after the first `:`; nil for a property attribute such as `a=rtcp-mux`.
    public var value: String?

    public init(_ name: String, _ value: String? = nil) {
        self.name = name
        self.value = value
    }

    /// The text after `a=`.
    public var description: String { value.map { "\(name):\($0)" } ?? name }

    /// True when `name` equals `other` ignoring ASCII case.
    public func hasName(_ other: String) -> Bool { SDPText.equalsIgnoringCase(name, other) }
}

/// A line whose type letter SDPCore does not model (or that appears where it is not modelled,
/// e.g. `u=` inside a media description). Kept and re-emitted verbatim (RFC 8866 §5: "unknown
/// … lines … MUST be ignored", we keep them so that a parse/serialize round trip loses nothing).
public struct SDPLine: Sendable, Equatable, Hashable {
    public var type: Character
    public var value: String

    public init(type: Character, value: String) {
        self.type = type
        self.value = value
    }
}

/// An array of attributes with the lookups every section needs.
extension Array where Element == SDPAttribute {
    /// The first attribute named `name` (ASCII case-insensitive).
    public func first(named name: String) -> SDPAttribute? { first { $0.hasName(name) } }

    /// All attributes named `name`, in order.
    public func all(named name: String) -> [SDPAttribute] { filter { $0.hasName(name) } }

    /// The values of all attributes named `name` (property attributes give "").
    public func values(named name: String) -> [String] { all(named: name).map { $0.value ?? "" } }

    /// True when an attribute named `name` is present.
    public func contains(named name: String) -> Bool { contains { $0.hasName(name) } }
}

/// Small text helpers that avoid Foundation in the parser.
enum SDPText {
    static func lowercased(_ s: some StringProtocol) -> String {
        String(String.UnicodeScalarView(s.unicodeScalars.map { c in
            (c >= "A" && c <= "Z") ? Unicode.Scalar(c.value + 32)! : c
        }))
    }

    static func equalsIgnoringCase(_ a: some StringProtocol, _ b: some StringProtocol) -> Bool {
        let x = a.utf8, y = b.utf8
        guard x.count == y.count else { return false }
        for (p, q) in zip(x, y) where p != q {
            let lp = (p >= 65 && p <= 90) ? p + 32 : p
            let lq = (q >= 65 && q <= 90) ? q + 32 : q
            if lp != lq { return false }
        }
        return true
    }

    /// Splits on runs of spaces and tabs (byte-wise, so a combining mark after a space cannot hide it).
    static func fields(_ s: Substring) -> [Substring] {
        var out: [Substring] = []
        var start: String.Index? = nil
        let u = s.utf8
        var i = u.startIndex
        while i != u.endIndex {
            let c = u[i]
            if c == 32 || c == 9 {
                if let st = start { out.append(s[st..<i]); start = nil }
            } else if start == nil {
                start = i
            }
            i = u.index(after: i)
        }
        if let st = start { out.append(s[st..<s.endIndex]) }
        return out
    }

    static func fields(_ s: String) -> [Substring] { fields(Substring(s)) }

    /// Trims spaces and tabs at both ends.
    static func trimmed(_ s: Substring) -> Substring {
        let u = s.utf8
        var lo = u.startIndex, hi = u.endIndex
        while lo != hi, u[lo] == 32 || u[lo] == 9 { lo = u.index(after: lo) }
        while hi != lo {
            let p = u.index(before: hi)
            guard u[p] == 32 || u[p] == 9 else { break }
            hi = p
        }
        return s[lo..<hi]
    }

    /// Splits `s` once at the first ASCII `separator`.
    static func splitOnce(_ s: Substring, _ separator: UInt8) -> (Substring, Substring?) {
        guard let i = s.utf8.firstIndex(of: separator) else { return (s, nil) }
        return (s[..<i], s[s.utf8.index(after: i)...])
    }

    /// Splits on every ASCII `separator`, keeping empty pieces.
    static func split(_ s: Substring, _ separator: UInt8) -> [Substring] {
        var out: [Substring] = []
        var rest = s
        while true {
            let (head, tail) = splitOnce(rest, separator)
            out.append(head)
            guard let tail else { return out }
            rest = tail
        }
    }

    /// A decimal unsigned integer with only ASCII digits (no sign, no spaces), at most `max`.
    static func unsigned(_ s: some StringProtocol, max: UInt64 = .max) -> UInt64? {
        guard !s.isEmpty, s.utf8.count <= 20 else { return nil }
        var v: UInt64 = 0
        for c in s.utf8 {
            guard c >= 48, c <= 57 else { return nil }
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(UInt64(c - 48))
            if o1 || o2 { return nil }
            v = a
        }
        return v <= max ? v : nil
    }
}
