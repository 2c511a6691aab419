/// A small, tolerant JSON parser and a stable serializer for `JSONValue`.
///
/// Written here (rather than using `JSONSerialization`) because Verto needs ordered keys for stable
/// output, a clean integer/bool distinction on every platform, duplicate keys accepted (mod_verto
/// sends two `message` keys in `verto.invite` errors, docs/verto-protocol.md §2.2), and a nesting cap so
/// hostile input cannot exhaust the stack. Never traps: every failure is a `VertoError.malformedJSON`.
public enum JSONCodec {
    /// Maximum nesting of arrays/objects accepted by the parser.
    public static let maxDepth = 64
    /// Members of one object. Verto messages carry tens; user variables a few hundred at most.
    public static let maxMembers = 4096
    /// Elements of one array. Verto's arrays (batches, candidates, channel lists) hold tens.
    public static let maxElements = 4096

    public static func parse(_ text: String) throws(VertoError) -> JSONValue {
        var parser = Parser(bytes: Array(text.utf8))
        return try parser.parseDocument()
    }

    public static func parse(bytes: [UInt8]) throws(VertoError) -> JSONValue {
        var parser = Parser(bytes: bytes)
        return try parser.parseDocument()
    }

    /// Compact serialization; object members in stored order.
    public static func serialize(_ value: JSONValue) -> String {
        var out = ""
        write(value, into: &out)
        return out
    }

    static func write(_ value: JSONValue, into out: inout String) {
        switch value {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .double(let d):
            if !d.isFinite {
                out += "null"
            } else if d.rounded() == d, abs(d) < 1e15 {
                out += String(Int(d))
            } else {
                out += String(d)
            }
        case .string(let s): writeString(s, into: &out)
        case .array(let a):
            out += "["
            for (i, v) in a.enumerated() {
                if i > 0 { out += "," }
                write(v, into: &out)
            }
            out += "]"
        case .object(let o):
            out += "{"
            for (i, m) in o.members.enumerated() {
                if i > 0 { out += "," }
                writeString(m.key, into: &out)
                out += ":"
                write(m.value, into: &out)
            }
            out += "}"
        }
    }

    static func writeString(_ s: String, into out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }

    private struct Parser {
        let bytes: [UInt8]
        var pos = 0
        var depth = 0

        init(bytes: [UInt8]) { self.bytes = bytes }

        func fail(_ what: String) -> VertoError { .malformedJSON("\(what) at byte \(pos)") }

        mutating func skipWhitespace() {
            while pos < bytes.count {
                switch bytes[pos] {
                case 0x20, 0x09, 0x0A, 0x0D: pos += 1
                default: return
                }
            }
        }

        mutating func parseDocument() throws(VertoError) -> JSONValue {
            // Tolerate a UTF-8 byte order mark.
            if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { pos = 3 }
            skipWhitespace()
            let v = try parseValue()
            skipWhitespace()
            guard pos == bytes.count else { throw fail("trailing characters") }
            return v
        }

        mutating func parseValue() throws(VertoError) -> JSONValue {
            guard pos < bytes.count else { throw fail("unexpected end") }
            switch bytes[pos] {
            case UInt8(ascii: "{"): return try parseObject()
            case UInt8(ascii: "["): return try parseArray()
            case UInt8(ascii: "\""): return .string(try parseString())
            case UInt8(ascii: "t"): try literal("true"); return .bool(true)
            case UInt8(ascii: "f"): try literal("false"); return .bool(false)
            case UInt8(ascii: "n"): try literal("null"); return .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
            default: throw fail("unexpected character")
            }
        }

        mutating func literal(_ word: String) throws(VertoError) {
            let w = Array(word.utf8)
            guard pos + w.count <= bytes.count, Array(bytes[pos..<pos + w.count]) == w else {
                throw fail("invalid literal")
            }
            pos += w.count
        }

        mutating func enter() throws(VertoError) {
            depth += 1
            guard depth <= JSONCodec.maxDepth else { throw fail("nesting deeper than \(JSONCodec.maxDepth)") }
        }

        mutating func parseObject() throws(VertoError) -> JSONValue {
            try enter()
            defer { depth -= 1 }
            pos += 1
            var obj = JSONObject()
            // Duplicate detection in constant time per key: a crafted object with many distinct keys
            // must cost linear time, not quadratic, on the shared event loop.
            var seen = Set<String>()
            skipWhitespace()
            if pos < bytes.count, bytes[pos] == UInt8(ascii: "}") {
                pos += 1
                return .object(obj)
            }
            while true {
                skipWhitespace()
                guard pos < bytes.count, bytes[pos] == UInt8(ascii: "\"") else { throw fail("expected key") }
                let key = try parseString()
                skipWhitespace()
                guard pos < bytes.count, bytes[pos] == UInt8(ascii: ":") else { throw fail("expected ':'") }
                pos += 1
                skipWhitespace()
                let value = try parseValue()
                // Duplicate keys: keep the first (§2.2).
                if seen.insert(key).inserted {
                    guard obj.count < JSONCodec.maxMembers else { throw fail("more than \(JSONCodec.maxMembers) members in an object") }
                    obj.appendUnchecked(key, value)
                }
                skipWhitespace()
                guard pos < bytes.count else { throw fail("unterminated object") }
                if bytes[pos] == UInt8(ascii: ",") {
                    pos += 1
                    continue
                }
                if bytes[pos] == UInt8(ascii: "}") {
                    pos += 1
                    return .object(obj)
                }
                throw fail("expected ',' or '}'")
            }
        }

        mutating func parseArray() throws(VertoError) -> JSONValue {
            try enter()
            defer { depth -= 1 }
            pos += 1
            var arr: [JSONValue] = []
            skipWhitespace()
            if pos < bytes.count, bytes[pos] == UInt8(ascii: "]") {
                pos += 1
                return .array(arr)
            }
            while true {
                skipWhitespace()
                guard arr.count < JSONCodec.maxElements else { throw fail("more than \(JSONCodec.maxElements) elements in an array") }
                arr.append(try parseValue())
                skipWhitespace()
                guard pos < bytes.count else { throw fail("unterminated array") }
                if bytes[pos] == UInt8(ascii: ",") {
                    pos += 1
                    continue
                }
                if bytes[pos] == UInt8(ascii: "]") {
                    pos += 1
                    return .array(arr)
                }
                throw fail("expected ',' or ']'")
            }
        }

        mutating func hex4() throws(VertoError) -> UInt32 {
            guard pos + 4 <= bytes.count else { throw fail("short \\u escape") }
            var v: UInt32 = 0
            for _ in 0..<4 {
                let c = bytes[pos]
                let d: UInt32
                switch c {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(c - UInt8(ascii: "0"))
                case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(c - UInt8(ascii: "a") + 10)
                case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(c - UInt8(ascii: "A") + 10)
                default: throw fail("bad hex digit")
                }
                v = v << 4 | d
                pos += 1
            }
            return v
        }

        mutating func parseString() throws(VertoError) -> String {
            pos += 1  // opening quote
            var raw: [UInt8] = []
            while true {
                guard pos < bytes.count else { throw fail("unterminated string") }
                let c = bytes[pos]
                if c == UInt8(ascii: "\"") {
                    pos += 1
                    break
                }
                if c < 0x20 { throw fail("control character in string") }
                if c != UInt8(ascii: "\\") {
                    raw.append(c)
                    pos += 1
                    continue
                }
                pos += 1
                guard pos < bytes.count else { throw fail("unterminated escape") }
                let e = bytes[pos]
                pos += 1
                switch e {
                case UInt8(ascii: "\""): raw.append(0x22)
                case UInt8(ascii: "\\"): raw.append(0x5C)
                case UInt8(ascii: "/"): raw.append(0x2F)
                case UInt8(ascii: "b"): raw.append(0x08)
                case UInt8(ascii: "f"): raw.append(0x0C)
                case UInt8(ascii: "n"): raw.append(0x0A)
                case UInt8(ascii: "r"): raw.append(0x0D)
                case UInt8(ascii: "t"): raw.append(0x09)
                case UInt8(ascii: "u"):
                    var code = try hex4()
                    if (0xD800...0xDBFF).contains(code) {
                        // Surrogate pair; a lone high surrogate becomes U+FFFD.
                        if pos + 6 <= bytes.count, bytes[pos] == UInt8(ascii: "\\"), bytes[pos + 1] == UInt8(ascii: "u") {
                            let save = pos
                            pos += 2
                            let low = try hex4()
                            if (0xDC00...0xDFFF).contains(low) {
                                code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                            } else {
                                pos = save
                                code = 0xFFFD
                            }
                        } else {
                            code = 0xFFFD
                        }
                    } else if (0xDC00...0xDFFF).contains(code) {
                        code = 0xFFFD
                    }
                    let scalar = Unicode.Scalar(code) ?? "\u{FFFD}"
                    raw.append(contentsOf: Array(String(Character(scalar)).utf8))
                default: throw fail("bad escape")
                }
            }
            // Invalid UTF-8 is repaired (U+FFFD), not rejected: a string is opaque to Verto.
            return String(decoding: raw, as: UTF8.self)
        }

        mutating func parseNumber() throws(VertoError) -> JSONValue {
            let start = pos
            var isInteger = true
            if bytes[pos] == UInt8(ascii: "-") { pos += 1 }
            guard pos < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[pos]) else {
                throw fail("bad number")
            }
            while pos < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[pos]) { pos += 1 }
            if pos < bytes.count, bytes[pos] == UInt8(ascii: ".") {
                isInteger = false
                pos += 1
                guard pos < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[pos]) else {
                    throw fail("bad fraction")
                }
                while pos < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[pos]) { pos += 1 }
            }
            if pos < bytes.count, bytes[pos] == UInt8(ascii: "e") || bytes[pos] == UInt8(ascii: "E") {
                isInteger = false
                pos += 1
                if pos < bytes.count, bytes[pos] == UInt8(ascii: "+") || bytes[pos] == UInt8(ascii: "-") { pos += 1 }
                guard pos < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[pos]) else {
                    throw fail("bad exponent")
                }
                while pos < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[pos]) { pos += 1 }
            }
            let text = String(decoding: bytes[start..<pos], as: UTF8.self)
            if isInteger, let i = Int(text) { return .int(i) }
            guard let d = Double(text), d.isFinite else { throw fail("number out of range") }
            return .double(d)
        }
    }
}
