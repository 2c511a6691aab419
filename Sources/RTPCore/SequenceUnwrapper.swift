/// Extends wrapping counters to 64 bits: 16-bit RTP sequence numbers (RFC 3550 §5.1, A.1) and 32-bit
/// RTP timestamps. Each value is placed at the distance nearest to the highest value seen so far
/// (serial number arithmetic, RFC 1982), so reordering around a wrap is handled both ways.
///
/// The first value maps to itself (0 ..< 2^bits); values reordered before it may map below it, down
/// to negative numbers. No allocation.
public struct WrappingCounterUnwrapper<Value: FixedWidthInteger & UnsignedInteger & Sendable>: Sendable {
    private var highest: Int64?

    public init() {}

    /// The highest extended value seen, nil before the first value.
    public var highestExtended: Int64? { highest }

    /// Extends `value`; a value ahead of the highest seen (by less than half the range) becomes the new highest.
    public mutating func unwrap(_ value: Value) -> Int64 {
        let extended = peek(value)
        if extended > (highest ?? Int64.min) { highest = extended }
        return extended
    }

    /// Extends `value` without updating the state.
    public func peek(_ value: Value) -> Int64 {
        guard let h = highest else { return Int64(value) }
        let bits = Value.bitWidth
        let mask: UInt64 = bits >= 64 ? .max : (1 << UInt64(bits)) - 1
        let diff = (UInt64(value) &- UInt64(truncatingIfNeeded: h)) & mask
        // Interpret the modular difference as a signed distance of `bits` width.
        let half: UInt64 = 1 << UInt64(bits - 1)
        let delta: Int64 = diff >= half ? Int64(bitPattern: diff) - Int64(bitPattern: mask) - 1 : Int64(diff)
        return h + delta
    }

    /// Forgets the history (e.g. on an SSRC change).
    public mutating func reset() { highest = nil }
}

/// 16-bit RTP sequence numbers → 64-bit.
public typealias SequenceUnwrapper = WrappingCounterUnwrapper<UInt16>
/// 32-bit RTP timestamps → 64-bit.
public typealias TimestampUnwrapper = WrappingCounterUnwrapper<UInt32>
