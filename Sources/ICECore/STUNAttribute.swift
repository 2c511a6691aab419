/// STUN attributes used by ICE: RFC 8489 §14 and RFC 8445 §16.1.
public enum STUNAttribute: Sendable, Hashable {
    /// MAPPED-ADDRESS, RFC 8489 §14.1 (classic servers; parse and encode).
    case mappedAddress(TransportAddress)
    /// XOR-MAPPED-ADDRESS, RFC 8489 §14.2.
    case xorMappedAddress(TransportAddress)
    /// USERNAME, RFC 8489 §14.3 (ICE: "RFRAG:LFRAG", RFC 8445 §7.2.2).
    case username(String)
    /// MESSAGE-INTEGRITY (HMAC-SHA1, 20 bytes), RFC 8489 §14.5.
    case messageIntegrity([UInt8])
    /// MESSAGE-INTEGRITY-SHA256, RFC 8489 §14.6 (parsed, never generated).
    case messageIntegritySHA256([UInt8])
    /// FINGERPRINT (CRC-32 ^ 0x5354554e), RFC 8489 §14.7.
    case fingerprint(UInt32)
    /// ERROR-CODE, RFC 8489 §14.8: `code` is class * 100 + number (300–699).
    case errorCode(code: Int, reason: String)
    /// UNKNOWN-ATTRIBUTES, RFC 8489 §14.9.
    case unknownAttributes([UInt16])
    /// SOFTWARE, RFC 8489 §14.14.
    case software(String)
    /// PRIORITY, RFC 8445 §16.1.
    case priority(UInt32)
    /// USE-CANDIDATE, RFC 8445 §16.1 (empty).
    case useCandidate
    /// ICE-CONTROLLED with its tie-breaker, RFC 8445 §16.1.
    case iceControlled(UInt64)
    /// ICE-CONTROLLING with its tie-breaker, RFC 8445 §16.1.
    case iceControlling(UInt64)
    /// Any other attribute, kept verbatim.
    case other(type: UInt16, value: [UInt8])

    /// Attribute type codepoints (RFC 8489 §18.3, RFC 8445 §16.1).
    public enum Kind {
        public static let mappedAddress: UInt16 = 0x0001
        public static let username: UInt16 = 0x0006
        public static let messageIntegrity: UInt16 = 0x0008
        public static let errorCode: UInt16 = 0x0009
        public static let unknownAttributes: UInt16 = 0x000A
        public static let messageIntegritySHA256: UInt16 = 0x001C
        public static let xorMappedAddress: UInt16 = 0x0020
        public static let priority: UInt16 = 0x0024
        public static let useCandidate: UInt16 = 0x0025
        public static let software: UInt16 = 0x8022
        public static let fingerprint: UInt16 = 0x8028
        public static let iceControlled: UInt16 = 0x8029
        public static let iceControlling: UInt16 = 0x802A
    }

    /// The XOR constant of FINGERPRINT, RFC 8489 §14.7.
    public static let fingerprintXOR: UInt32 = 0x5354_554E

    public var type: UInt16 {
        switch self {
        case .mappedAddress: Kind.mappedAddress
        case .xorMappedAddress: Kind.xorMappedAddress
        case .username: Kind.username
        case .messageIntegrity: Kind.messageIntegrity
        case .messageIntegritySHA256: Kind.messageIntegritySHA256
        case .fingerprint: Kind.fingerprint
        case .errorCode: Kind.errorCode
        case .unknownAttributes: Kind.unknownAttributes
        case .software: Kind.software
        case .priority: Kind.priority
        case .useCandidate: Kind.useCandidate
        case .iceControlled: Kind.iceControlled
        case .iceControlling: Kind.iceControlling
        case .other(let t, _): t
        }
    }

    /// Whether this codec understands `type` (everything else in 0x0000–0x7FFF triggers a 420).
    public static func isKnown(_ type: UInt16) -> Bool {
        switch type {
        case Kind.mappedAddress, Kind.xorMappedAddress, Kind.username, Kind.messageIntegrity,
             Kind.messageIntegritySHA256, Kind.fingerprint, Kind.errorCode, Kind.unknownAttributes,
             Kind.software, Kind.priority, Kind.useCandidate, Kind.iceControlled, Kind.iceControlling:
            true
        default:
            false
        }
    }

    /// A standard reason phrase for the error codes ICE uses (RFC 8489 §14.8, RFC 8445 §7.3.1.1).
    public static func reasonPhrase(for code: Int) -> String {
        switch code {
        case 300: "Try Alternate"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 420: "Unknown Attribute"
        case 487: "Role Conflict"
        case 500: "Server Error"
        default: "Error"
        }
    }
}

// MARK: - Value decoding

extension STUNAttribute {
    /// Decodes one attribute value. `offset` is the value's offset in the message (for errors);
    /// `transactionID` is needed for the XOR of IPv6 addresses (RFC 8489 §14.2).
    static func decode(type: UInt16, value v: UnsafeRawBufferPointer, offset: Int,
                       transactionID: STUNTransactionID) throws(ICEError) -> STUNAttribute {
        func bad(_ reason: String) -> ICEError { .malformedAttribute(type: type, offset: offset, reason: reason) }
        func u32(_ i: Int) -> UInt32 { UInt32(v[i]) << 24 | UInt32(v[i + 1]) << 16 | UInt32(v[i + 2]) << 8 | UInt32(v[i + 3]) }
        func u64(_ i: Int) -> UInt64 { UInt64(u32(i)) << 32 | UInt64(u32(i + 4)) }
        func utf8(_ limit: Int) throws(ICEError) -> String {
            guard v.count <= limit else { throw bad("longer than \(limit) bytes") }
            guard let s = String(validating: v, as: UTF8.self) else { throw bad("not UTF-8") }
            return s
        }
        switch type {
        case Kind.mappedAddress, Kind.xorMappedAddress:
            let xor = type == Kind.xorMappedAddress
            guard v.count >= 4 else { throw bad("address too short") }
            var port = UInt16(v[2]) << 8 | UInt16(v[3])
            if xor { port ^= UInt16(stunMagicCookie >> 16) }
            switch v[1] {
            case 0x01:
                guard v.count == 8 else { throw bad("IPv4 address length \(v.count)") }
                var ip = u32(4)
                if xor { ip ^= stunMagicCookie }
                return xor ? .xorMappedAddress(TransportAddress(ip: .v4(ip), port: port))
                    : .mappedAddress(TransportAddress(ip: .v4(ip), port: port))
            case 0x02:
                guard v.count == 20 else { throw bad("IPv6 address length \(v.count)") }
                var hi = u64(4), lo = u64(12)
                if xor {
                    hi ^= UInt64(stunMagicCookie) << 32 | UInt64(transactionID.a)
                    lo ^= UInt64(transactionID.b) << 32 | UInt64(transactionID.c)
                }
                let a = TransportAddress(ip: .v6(high: hi, low: lo), port: port)
                return xor ? .xorMappedAddress(a) : .mappedAddress(a)
            default:
                throw bad("address family \(v[1])")
            }
        case Kind.username:
            return .username(try utf8(513))  // RFC 8489 §14.3: < 509 bytes; tolerate a little more
        case Kind.software:
            return .software(try utf8(763))  // RFC 8489 §14.14
        case Kind.messageIntegrity:
            guard v.count == 20 else { throw bad("MESSAGE-INTEGRITY length \(v.count)") }
            return .messageIntegrity(Array(v))
        case Kind.messageIntegritySHA256:
            guard v.count >= 16, v.count <= 32, v.count % 4 == 0 else { throw bad("MESSAGE-INTEGRITY-SHA256 length \(v.count)") }
            return .messageIntegritySHA256(Array(v))
        case Kind.fingerprint:
            guard v.count == 4 else { throw bad("FINGERPRINT length \(v.count)") }
            return .fingerprint(u32(0))
        case Kind.errorCode:
            guard v.count >= 4 else { throw bad("ERROR-CODE too short") }
            let cls = Int(v[2] & 0x07), number = Int(v[3])
            guard cls >= 3, cls <= 6, number < 100 else { throw bad("error class \(cls) number \(number)") }
            let reasonBytes = UnsafeRawBufferPointer(rebasing: v[4...])
            guard reasonBytes.count <= 763, let reason = String(validating: reasonBytes, as: UTF8.self) else {
                throw bad("reason phrase not UTF-8")
            }
            return .errorCode(code: cls * 100 + number, reason: reason)
        case Kind.unknownAttributes:
            guard v.count % 2 == 0 else { throw bad("odd UNKNOWN-ATTRIBUTES length") }
            return .unknownAttributes(stride(from: 0, to: v.count, by: 2).map { UInt16(v[$0]) << 8 | UInt16(v[$0 + 1]) })
        case Kind.priority:
            guard v.count == 4 else { throw bad("PRIORITY length \(v.count)") }
            return .priority(u32(0))
        case Kind.useCandidate:
            guard v.count == 0 else { throw bad("USE-CANDIDATE length \(v.count)") }
            return .useCandidate
        case Kind.iceControlled, Kind.iceControlling:
            guard v.count == 8 else { throw bad("tie-breaker length \(v.count)") }
            return type == Kind.iceControlled ? .iceControlled(u64(0)) : .iceControlling(u64(0))
        default:
            return .other(type: type, value: Array(v))
        }
    }

    // MARK: - Value encoding

    /// Appends the attribute (header, value, padding) to `out`.
    func encode(into out: inout [UInt8], transactionID: STUNTransactionID, padding: UInt8) throws(ICEError) {
        var value: [UInt8] = []
        func put32(_ x: UInt32) { value += [UInt8(x >> 24), UInt8(truncatingIfNeeded: x >> 16), UInt8(truncatingIfNeeded: x >> 8), UInt8(truncatingIfNeeded: x)] }
        func put64(_ x: UInt64) { put32(UInt32(x >> 32)); put32(UInt32(truncatingIfNeeded: x)) }
        func address(_ a: TransportAddress, xor: Bool) {
            let port = xor ? a.port ^ UInt16(stunMagicCookie >> 16) : a.port
            switch a.ip {
            case .v4(let ip):
                value += [0, 0x01, UInt8(port >> 8), UInt8(truncatingIfNeeded: port)]
                put32(xor ? ip ^ stunMagicCookie : ip)
            case .v6(var hi, var lo):
                value += [0, 0x02, UInt8(port >> 8), UInt8(truncatingIfNeeded: port)]
                if xor {
                    hi ^= UInt64(stunMagicCookie) << 32 | UInt64(transactionID.a)
                    lo ^= UInt64(transactionID.b) << 32 | UInt64(transactionID.c)
                }
                put64(hi)
                put64(lo)
            }
        }
        switch self {
        case .mappedAddress(let a): address(a, xor: false)
        case .xorMappedAddress(let a): address(a, xor: true)
        case .username(let s), .software(let s): value = Array(s.utf8)
        case .messageIntegrity(let m), .messageIntegritySHA256(let m): value = m
        case .fingerprint(let f): put32(f)
        case .errorCode(let code, let reason):
            guard (300...699).contains(code) else { throw .encodingFailed(reason: "error code \(code) out of range") }
            value = [0, 0, UInt8(code / 100), UInt8(code % 100)] + Array(reason.utf8)
        case .unknownAttributes(let list):
            for t in list { value += [UInt8(t >> 8), UInt8(truncatingIfNeeded: t)] }
        case .priority(let p): put32(p)
        case .useCandidate: break
        case .iceControlled(let t), .iceControlling(let t): put64(t)
        case .other(_, let v): value = v
        }
        guard value.count <= 0xFFFF else { throw .encodingFailed(reason: "attribute 0x\(String(type, radix: 16)) too long") }
        let t = type, n = UInt16(value.count)
        out += [UInt8(t >> 8), UInt8(truncatingIfNeeded: t), UInt8(n >> 8), UInt8(truncatingIfNeeded: n)]
        out += value
        let pad = (4 - value.count % 4) % 4
        for _ in 0..<pad { out.append(padding) }
    }
}
