import CryptoCore

/// TURN's STUN methods and attributes (RFC 8656 §17, §18) and ChannelData framing (§12.4).

extension STUNMethod {
    public static let allocate = STUNMethod(rawValue: 0x003)
    public static let refresh = STUNMethod(rawValue: 0x004)
    public static let send = STUNMethod(rawValue: 0x006)
    public static let data = STUNMethod(rawValue: 0x007)
    public static let createPermission = STUNMethod(rawValue: 0x008)
    public static let channelBind = STUNMethod(rawValue: 0x009)
}

/// TURN attribute codepoints (RFC 8656 §18), carried as `STUNAttribute.other`.
public enum TURNAttribute {
    public static let channelNumber: UInt16 = 0x000C
    public static let lifetime: UInt16 = 0x000D
    public static let xorPeerAddress: UInt16 = 0x0012
    public static let data: UInt16 = 0x0013
    public static let realm: UInt16 = 0x0014
    public static let nonce: UInt16 = 0x0015
    public static let xorRelayedAddress: UInt16 = 0x0016
    public static let requestedAddressFamily: UInt16 = 0x0017
    public static let evenPort: UInt16 = 0x0018
    public static let requestedTransport: UInt16 = 0x0019
    public static let dontFragment: UInt16 = 0x001A
    public static let reservationToken: UInt16 = 0x0022
    public static let passwordAlgorithms: UInt16 = 0x8002
    public static let alternateDomain: UInt16 = 0x8003
    public static let icmp: UInt16 = 0x8004
    public static let addressErrorCode: UInt16 = 0x8001
    public static let alternateServer: UInt16 = 0x8023
    public static let responseOrigin: UInt16 = 0x802B
    public static let otherAddress: UInt16 = 0x802C

    /// The comprehension-required attributes a TURN client understands in responses and
    /// indications (RFC 8489 §6.3.3: any other one in 0x0000–0x7FFF makes a response unusable).
    static func isKnownComprehensionRequired(_ type: UInt16) -> Bool {
        switch type {
        case STUNAttribute.Kind.mappedAddress, STUNAttribute.Kind.xorMappedAddress, STUNAttribute.Kind.username,
             STUNAttribute.Kind.messageIntegrity, STUNAttribute.Kind.messageIntegritySHA256, STUNAttribute.Kind.errorCode,
             STUNAttribute.Kind.unknownAttributes, channelNumber, lifetime, xorPeerAddress, data, realm, nonce,
             xorRelayedAddress, requestedAddressFamily, evenPort, requestedTransport, dontFragment, reservationToken:
            true
        default:
            false
        }
    }

    /// An XOR-encoded address attribute (XOR-PEER-ADDRESS, XOR-RELAYED-ADDRESS: the encoding of
    /// XOR-MAPPED-ADDRESS, RFC 8489 §14.2).
    public static func xorAddress(_ type: UInt16, _ address: TransportAddress, transactionID: STUNTransactionID) -> STUNAttribute {
        var out: [UInt8] = []
        // Encoding an address cannot fail.
        try? STUNAttribute.xorMappedAddress(address).encode(into: &out, transactionID: transactionID, padding: 0)
        return .other(type: type, value: Array(out.dropFirst(4)))
    }

    /// Decodes an XOR-encoded address value; nil when malformed.
    static func decodeXORAddress(_ value: [UInt8], transactionID: STUNTransactionID) -> TransportAddress? {
        let decoded: STUNAttribute? = value.withUnsafeBytes { v in
            try? STUNAttribute.decode(type: STUNAttribute.Kind.xorMappedAddress, value: v, offset: 0, transactionID: transactionID)
        }
        if case .xorMappedAddress(let a)? = decoded { return a }
        return nil
    }

    static func u32(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8(truncatingIfNeeded: value >> 16), UInt8(truncatingIfNeeded: value >> 8), UInt8(truncatingIfNeeded: value)]
    }
}

extension STUNMessage {
    /// The value of the first attribute of `type` kept verbatim (`.other`), if any.
    func otherValue(_ type: UInt16) -> [UInt8]? {
        for a in attributes { if case .other(let t, let v) = a, t == type { return v } }
        return nil
    }

    func otherString(_ type: UInt16) -> String? {
        otherValue(type).flatMap { String(validating: $0, as: UTF8.self) }
    }
}

/// ChannelData messages (RFC 8656 §12.4): a 4-byte header (channel number 0x4000–0x4FFF, length)
/// and the application data; over TCP and TLS padded to a multiple of 4 bytes (§12.5).
public enum ChannelData {
    public static let channelRange: ClosedRange<UInt16> = 0x4000...0x4FFF
    /// The length field is 16 bits.
    public static let maximumPayload = 0xFFFF

    /// RFC 7983 §7: first byte 64–79 is a TURN channel.
    @inlinable
    public static func isChannelData(firstByte: UInt8) -> Bool { (64...79).contains(firstByte) }

    /// Splits one ChannelData message. `datagram`: over UDP the message must fit the datagram
    /// (padding allowed); nil when malformed.
    public static func parse(_ bytes: UnsafeRawBufferPointer) -> (channel: UInt16, payload: Range<Int>)? {
        guard bytes.count >= 4 else { return nil }
        let channel = UInt16(bytes[0]) << 8 | UInt16(bytes[1])
        let length = Int(bytes[2]) << 8 | Int(bytes[3])
        guard channelRange.contains(channel), 4 + length <= bytes.count else { return nil }
        return (channel, 4..<(4 + length))
    }

    /// The header for `length` bytes of data on `channel`.
    public static func header(channel: UInt16, length: Int) -> [UInt8] {
        precondition(length <= maximumPayload, "callers bound the payload")
        return [UInt8(channel >> 8), UInt8(truncatingIfNeeded: channel), UInt8(length >> 8), UInt8(truncatingIfNeeded: length)]
    }
}

/// Splits a TURN-over-TCP/TLS byte stream into messages (RFC 8656 §12.5: STUN messages and
/// ChannelData back to back, ChannelData padded to 4 bytes). Bounded: a message announcing more than
/// `maximumMessage` bytes, or a first byte that is neither, is a framing error (the stream is then
/// unusable).
public struct TURNStreamFramer: Sendable {
    public enum Framed: Sendable, Equatable {
        case message([UInt8])
        case framingError
    }

    public var maximumMessage = 4096
    var buffer: [UInt8] = []
    var failed = false

    public init() {}

    public mutating func append(_ bytes: UnsafeRawBufferPointer) { if !failed { buffer.append(contentsOf: bytes) } }

    /// The next complete message (STUN or ChannelData without its padding), nil when more bytes are needed.
    public mutating func next() -> Framed? {
        guard !failed, buffer.count >= 4 else { return failed ? .framingError : nil }
        let first = buffer[0]
        let length = Int(buffer[2]) << 8 | Int(buffer[3])
        let total: Int, keep: Int
        if STUN.isSTUN(firstByte: first) {
            total = STUN.headerLength + length
            keep = total
        } else if ChannelData.isChannelData(firstByte: first) {
            keep = 4 + length
            total = (keep + 3) & ~3
        } else {
            failed = true
            return .framingError
        }
        guard total <= maximumMessage else {
            failed = true
            return .framingError
        }
        guard buffer.count >= total else { return nil }
        let message = Array(buffer[0..<keep])
        buffer.removeFirst(total)
        return .message(message)
    }
}

/// Long-term credentials (RFC 8489 §9.2) for a TURN server: the key is MD5(username:realm:password),
/// known once the server named its realm.
public struct TURNCredentials: Sendable, Hashable {
    public var username: String
    public var password: String

    public init(username: String, password: String) {
        self.username = username
        self.password = password
    }

    /// The TURN REST API's ephemeral credentials (draft-uberti-behave-turn-rest §2.2, as coturn's
    /// `use-auth-secret` implements it): username "EXPIRY:USER" with EXPIRY in Unix seconds, and
    /// password base64(HMAC-SHA1(secret, username)). The wall-clock time is passed in.
    public static func ephemeral(secret: String, user: String, unixTime: Int64, validFor seconds: Int64 = 86_400) -> TURNCredentials {
        let username = "\(unixTime + seconds):\(user)"
        let mac = HMACSHA1.authenticationCode(key: Array(secret.utf8), message: Array(username.utf8))
        return TURNCredentials(username: username, password: Base64.encode(mac))
    }

    func key(realm: String) -> [UInt8] {
        MD5Digest.hash(Array("\(username):\(realm):\(password)".utf8))
    }
}

/// RFC 4648 §4 base64 (for the REST credential scheme), without line breaks.
enum Base64 {
    static func encode(_ bytes: [UInt8]) -> String {
        let table = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i < bytes.count {
            let b0 = UInt32(bytes[i]), b1 = i + 1 < bytes.count ? UInt32(bytes[i + 1]) : 0, b2 = i + 2 < bytes.count ? UInt32(bytes[i + 2]) : 0
            let n = b0 << 16 | b1 << 8 | b2
            out.append(table[Int(n >> 18 & 63)])
            out.append(table[Int(n >> 12 & 63)])
            out.append(i + 1 < bytes.count ? table[Int(n >> 6 & 63)] : UInt8(ascii: "="))
            out.append(i + 2 < bytes.count ? table[Int(n & 63)] : UInt8(ascii: "="))
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }
}
