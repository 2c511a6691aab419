/// The RFC 4733 §2.3 telephone-event payload (4 bytes):
/// ```
/// |     event     |E|R| volume    |          duration             |
/// ```
public struct TelephoneEvent: Sendable, Equatable, Hashable {
    /// Event code (§3.2: 0–9, 10 = *, 11 = #, 12–15 = A–D, 16 = flash).
    public var event: UInt8
    /// The E bit: this packet reports the end of the event.
    public var isEnd: Bool
    /// Power level in −dBm0, 0...63 (§2.3.4); larger is quieter.
    public var volume: UInt8
    /// Duration so far in RTP timestamp units, counted from the event's timestamp (§2.3.5).
    public var duration: UInt16

    public init(event: UInt8, isEnd: Bool = false, volume: UInt8 = 10, duration: UInt16) {
        self.event = event
        self.isEnd = isEnd
        self.volume = volume & 0x3F
        self.duration = duration
    }

    public static let length = 4

    /// Parses the first event of a payload (more bytes, e.g. RFC 2198 redundancy, are ignored).
    /// The R bit is ignored as §2.3.3 requires.
    public init(parsing payload: UnsafeRawBufferPointer) throws(RTPError) {
        guard payload.count >= 4 else { throw .truncated(what: "telephone-event payload", needed: 4, available: payload.count) }
        event = payload[0]
        isEnd = payload[1] & 0x80 != 0
        volume = payload[1] & 0x3F
        duration = BE.u16(payload, 2)
    }

    public init(parsing payload: [UInt8]) throws(RTPError) {
        let result: Result<TelephoneEvent, RTPError> = payload.withUnsafeBytes { raw in
            do throws(RTPError) { return .success(try TelephoneEvent(parsing: raw)) } catch { return .failure(error) }
        }
        self = try result.get()
    }

    /// Writes the 4-byte payload; returns 4.
    @discardableResult
    public func write(into buffer: UnsafeMutableRawBufferPointer) throws(RTPError) -> Int {
        guard buffer.count >= 4 else { throw .bufferTooSmall(needed: 4, available: buffer.count) }
        buffer[0] = event
        buffer[1] = (isEnd ? 0x80 : 0) | (volume & 0x3F)
        BE.put16(buffer, 2, duration)
        return 4
    }

    /// The payload as a new array.
    public var bytes: [UInt8] {
        [event, (isEnd ? 0x80 : 0) | (volume & 0x3F), UInt8(duration >> 8), UInt8(duration & 0xFF)]
    }

    /// The digit this event stands for, if it is one of the 16 DTMF events.
    public var digit: DTMFDigit? { DTMFDigit(eventCode: event) }
}

/// A DTMF digit and its RFC 4733 §3.2 event code.
public enum DTMFDigit: UInt8, Sendable, CaseIterable, Equatable, Hashable, CustomStringConvertible {
    case d0 = 0, d1, d2, d3, d4, d5, d6, d7, d8, d9
    case star = 10, pound = 11
    case a = 12, b, c, d

    /// The event code (§3.2).
    public var eventCode: UInt8 { rawValue }

    public init?(eventCode: UInt8) {
        self.init(rawValue: eventCode)
    }

    /// From a character: 0–9, *, #, A–D (case-insensitive).
    public init?(_ character: Character) {
        guard let ascii = character.asciiValue else { return nil }
        switch ascii {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): self.init(rawValue: ascii - UInt8(ascii: "0"))
        case UInt8(ascii: "*"): self = .star
        case UInt8(ascii: "#"): self = .pound
        case UInt8(ascii: "A"), UInt8(ascii: "a"): self = .a
        case UInt8(ascii: "B"), UInt8(ascii: "b"): self = .b
        case UInt8(ascii: "C"), UInt8(ascii: "c"): self = .c
        case UInt8(ascii: "D"), UInt8(ascii: "d"): self = .d
        default: return nil
        }
    }

    /// Digits of a string such as "1234#"; nil if any character is not a DTMF digit.
    public static func digits(_ text: String) -> [DTMFDigit]? {
        var out: [DTMFDigit] = []
        for c in text {
            guard let d = DTMFDigit(c) else { return nil }
            out.append(d)
        }
        return out
    }

    public var character: Character {
        switch self {
        case .star: "*"
        case .pound: "#"
        case .a: "A"
        case .b: "B"
        case .c: "C"
        case .d: "D"
        default: Character(UnicodeScalar(UInt8(ascii: "0") + rawValue))
        }
    }

    public var description: String { String(character) }

    /// The low (row) and high (column) frequencies of the DTMF tone pair (ITU-T Q.23), in Hz.
    public var frequencies: (low: Double, high: Double) {
        let rows: [Double] = [697, 770, 852, 941]
        let cols: [Double] = [1209, 1336, 1477, 1633]
        let layout: [DTMFDigit] = [.d1, .d2, .d3, .a, .d4, .d5, .d6, .b, .d7, .d8, .d9, .c, .star, .d0, .pound, .d]
        let i = layout.firstIndex(of: self)!
        return (rows[i / 4], cols[i % 4])
    }
}
