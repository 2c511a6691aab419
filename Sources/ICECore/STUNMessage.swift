import CoreSupport

/// STUN message model (RFC 8489 §5–6).

/// The fixed magic cookie, RFC 8489 §5.
public let stunMagicCookie: UInt32 = 0x2112_A442

/// STUN message classes, RFC 8489 §5 (C1 C0 bits of the message type).
public enum STUNClass: UInt8, Sendable, Hashable {
    case request = 0b00
    case indication = 0b01
    case successResponse = 0b10
    case errorResponse = 0b11
}

/// A 12-bit STUN method, RFC 8489 §18.2. ICE uses only Binding.
public struct STUNMethod: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue & 0x0FFF }
    public static let binding = STUNMethod(rawValue: 0x001)
    public var description: String { self == .binding ? "Binding" : "method 0x\(String(rawValue, radix: 16))" }
}

/// Method + class, packed as RFC 8489 §5 Figure 3 describes (M11..M7 C1 M6..M4 C0 M3..M0).
public struct STUNMessageType: Sendable, Hashable, CustomStringConvertible {
    public var method: STUNMethod
    public var messageClass: STUNClass

    public init(method: STUNMethod, messageClass: STUNClass) {
        self.method = method
        self.messageClass = messageClass
    }

    /// Decodes the 14 low bits of the first two header bytes (the top two bits must be zero).
    public init(rawValue: UInt16) {
        let m = (rawValue & 0x000F) | ((rawValue & 0x00E0) >> 1) | ((rawValue & 0x3E00) >> 2)
        let c = ((rawValue & 0x0010) >> 4) | ((rawValue & 0x0100) >> 7)
        self.method = STUNMethod(rawValue: m)
        self.messageClass = STUNClass(rawValue: UInt8(c))!  // two bits: always one of the four cases
    }

    public var rawValue: UInt16 {
        let m = method.rawValue, c = UInt16(messageClass.rawValue)
        return (m & 0x000F) | ((c & 0b01) << 4) | ((m & 0x0070) << 1) | ((c & 0b10) << 7) | ((m & 0x0F80) << 2)
    }

    public static let bindingRequest = STUNMessageType(method: .binding, messageClass: .request)
    public static let bindingSuccess = STUNMessageType(method: .binding, messageClass: .successResponse)
    public static let bindingError = STUNMessageType(method: .binding, messageClass: .errorResponse)
    public static let bindingIndication = STUNMessageType(method: .binding, messageClass: .indication)

    public var description: String { "\(method) \(messageClass)" }
}

/// The 96-bit transaction id, RFC 8489 §5, stored as three words so that it hashes and compares
/// without allocation.
public struct STUNTransactionID: Sendable, Hashable, CustomStringConvertible {
    public var a: UInt32, b: UInt32, c: UInt32

    public init(a: UInt32, b: UInt32, c: UInt32) {
        self.a = a
        self.b = b
        self.c = c
    }

    /// From 12 bytes (network order); nil for any other count.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 12 else { return nil }
        var w: [UInt32] = [0, 0, 0]
        for (i, byte) in bytes.enumerated() { w[i / 4] = w[i / 4] << 8 | UInt32(byte) }
        self.init(a: w[0], b: w[1], c: w[2])
    }

    /// A fresh id from the injected generator (RFC 8489 §5: uniformly random).
    public static func random<G: RandomNumberGenerator>(using generator: inout G) -> STUNTransactionID {
        let x = generator.next() as UInt64, y = generator.next() as UInt32
        return STUNTransactionID(a: UInt32(truncatingIfNeeded: x >> 32), b: UInt32(truncatingIfNeeded: x), c: y)
    }

    public var bytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(12)
        for w in [a, b, c] { out += [UInt8(w >> 24), UInt8(truncatingIfNeeded: w >> 16), UInt8(truncatingIfNeeded: w >> 8), UInt8(truncatingIfNeeded: w)] }
        return out
    }

    public var description: String { Hex.encode(bytes) }
}

/// A decoded STUN message: header plus attributes in wire order.
///
/// MESSAGE-INTEGRITY, MESSAGE-INTEGRITY-SHA256 and FINGERPRINT are kept for inspection after
/// parsing, but the encoder computes them itself (see `encode(integrityKey:fingerprint:)`), so they
/// are skipped when the message is serialized.
public struct STUNMessage: Sendable, Hashable {
    public var type: STUNMessageType
    public var transactionID: STUNTransactionID
    public var attributes: [STUNAttribute]

    public init(type: STUNMessageType, transactionID: STUNTransactionID, attributes: [STUNAttribute] = []) {
        self.type = type
        self.transactionID = transactionID
        self.attributes = attributes
    }

    // MARK: Attribute accessors (first occurrence wins, RFC 8489 §14)

    public var username: String? { attributes.lazy.compactMap { if case .username(let u) = $0 { u } else { nil } }.first }
    public var software: String? { attributes.lazy.compactMap { if case .software(let s) = $0 { s } else { nil } }.first }
    public var priority: UInt32? { attributes.lazy.compactMap { if case .priority(let p) = $0 { p } else { nil } }.first }
    public var useCandidate: Bool { attributes.contains { if case .useCandidate = $0 { true } else { false } } }
    public var iceControlling: UInt64? { attributes.lazy.compactMap { if case .iceControlling(let t) = $0 { t } else { nil } }.first }
    public var iceControlled: UInt64? { attributes.lazy.compactMap { if case .iceControlled(let t) = $0 { t } else { nil } }.first }
    public var xorMappedAddress: TransportAddress? { attributes.lazy.compactMap { if case .xorMappedAddress(let a) = $0 { a } else { nil } }.first }
    public var mappedAddress: TransportAddress? { attributes.lazy.compactMap { if case .mappedAddress(let a) = $0 { a } else { nil } }.first }
    public var errorCode: (code: Int, reason: String)? {
        attributes.lazy.compactMap { if case .errorCode(let c, let r) = $0 { (c, r) } else { nil } }.first
    }
    public var unknownAttributes: [UInt16]? { attributes.lazy.compactMap { if case .unknownAttributes(let l) = $0 { l } else { nil } }.first }
    public var fingerprint: UInt32? { attributes.lazy.compactMap { if case .fingerprint(let f) = $0 { f } else { nil } }.first }
    public var messageIntegrity: [UInt8]? { attributes.lazy.compactMap { if case .messageIntegrity(let m) = $0 { m } else { nil } }.first }

    /// Comprehension-required attribute types (0x0000–0x7FFF) this codec does not understand
    /// (RFC 8489 §6.3.1: a request carrying any gets a 420 with UNKNOWN-ATTRIBUTES).
    public var unknownComprehensionRequired: [UInt16] {
        attributes.compactMap { if case .other(let t, _) = $0, t < 0x8000 { t } else { nil } }
    }
}
