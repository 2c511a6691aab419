extension RandomNumberGenerator {
    /// A lowercase RFC 4122 version-4 UUID string (Verto callIDs and sessids are these).
    public mutating func uuidString() -> String {
        var bytes = [UInt8](repeating: 0, count: 16)
        for i in 0..<16 { bytes[i] = UInt8.random(in: 0...255, using: &self) }
        bytes[6] = (bytes[6] & 0x0F) | 0x40
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        let hex = Hex.encode(bytes)
        let chars = Array(hex)
        return String(chars[0..<8]) + "-" + String(chars[8..<12]) + "-" + String(chars[12..<16]) + "-"
            + String(chars[16..<20]) + "-" + String(chars[20..<32])
    }

    /// A random string over `alphabet` (ICE ufrag/pwd use the ice-char set of RFC 8839 §5.4).
    public mutating func string(length: Int, alphabet: String = Self.iceChars) -> String {
        let a = Array(alphabet)
        var s = ""
        s.reserveCapacity(length)
        for _ in 0..<length { s.append(a[Int.random(in: 0..<a.count, using: &self)]) }
        return s
    }

    public static var iceChars: String { "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/" }
}

/// Hexadecimal helpers shared by the cores.
public enum Hex {
    private static let digits: [Character] = Array("0123456789abcdef")

    public static func encode<C: Collection>(_ bytes: C, uppercase: Bool = false, separator: String = "") -> String
    where C.Element == UInt8 {
        var s = ""
        s.reserveCapacity(bytes.count * (2 + separator.count))
        var first = true
        for b in bytes {
            if !first { s += separator }
            first = false
            let hi = digits[Int(b >> 4)], lo = digits[Int(b & 0x0F)]
            s.append(uppercase ? Character(hi.uppercased()) : hi)
            s.append(uppercase ? Character(lo.uppercased()) : lo)
        }
        return s
    }

    /// Decodes hex, ignoring ':' and whitespace separators; nil on any other character or odd length.
    public static func decode(_ text: String) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count / 2)
        var hi: UInt8? = nil
        for c in text.utf8 {
            let v: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): v = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): v = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): v = c - UInt8(ascii: "A") + 10
            case UInt8(ascii: ":"), UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\t"): continue
            default: return nil
            }
            if let h = hi { out.append(h << 4 | v); hi = nil } else { hi = v }
        }
        return hi == nil ? out : nil
    }
}
