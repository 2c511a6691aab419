import NIOCore

/// A reception report block (RFC 3550 §6.4.1), carried in SR and RR packets (24 bytes).
public struct RTCPReportBlock: Sendable, Equatable {
    /// SSRC of the source this block reports on.
    public var ssrc: UInt32
    /// Fraction of packets lost since the previous report, as a fixed-point number /256.
    public var fractionLost: UInt8
    /// Cumulative number of packets lost, a 24-bit signed value (duplicates can make it negative);
    /// clamped to -0x800000...0x7FFFFF when written.
    public var cumulativeLost: Int32
    /// Extended highest sequence number received: cycles in the high 16 bits.
    public var extendedHighestSequence: UInt32
    /// Interarrival jitter in RTP timestamp units (RFC 3550 §6.4.1, Appendix A.8).
    public var jitter: UInt32
    /// Middle 32 bits of the NTP timestamp of the last SR received from this source (0 if none).
    public var lastSenderReport: UInt32
    /// Delay since that SR was received, in units of 1/65536 s (0 if none).
    public var delaySinceLastSenderReport: UInt32

    public init(ssrc: UInt32, fractionLost: UInt8 = 0, cumulativeLost: Int32 = 0, extendedHighestSequence: UInt32 = 0,
                jitter: UInt32 = 0, lastSenderReport: UInt32 = 0, delaySinceLastSenderReport: UInt32 = 0) {
        self.ssrc = ssrc
        self.fractionLost = fractionLost
        self.cumulativeLost = cumulativeLost
        self.extendedHighestSequence = extendedHighestSequence
        self.jitter = jitter
        self.lastSenderReport = lastSenderReport
        self.delaySinceLastSenderReport = delaySinceLastSenderReport
    }

    public static let length = 24

    /// The largest and smallest values the 24-bit cumulative-lost field holds.
    public static let cumulativeLostRange: ClosedRange<Int32> = -0x80_0000...0x7F_FFFF

    /// Reads a block at `offset` (the caller checked that 24 bytes are there).
    static func read(_ b: UnsafeRawBufferPointer, at o: Int) -> RTCPReportBlock {
        let raw = BE.u24(b, o + 5)
        // Sign-extend the 24-bit two's-complement value.
        let lost = Int32(bitPattern: raw << 8) >> 8
        return RTCPReportBlock(
            ssrc: BE.u32(b, o), fractionLost: b[o + 4], cumulativeLost: lost,
            extendedHighestSequence: BE.u32(b, o + 8), jitter: BE.u32(b, o + 12),
            lastSenderReport: BE.u32(b, o + 16), delaySinceLastSenderReport: BE.u32(b, o + 20))
    }

    func write(_ b: UnsafeMutableRawBufferPointer, at o: Int) {
        BE.put32(b, o, ssrc)
        b[o + 4] = fractionLost
        let clamped = min(max(cumulativeLost, Self.cumulativeLostRange.lowerBound), Self.cumulativeLostRange.upperBound)
        BE.put24(b, o + 5, UInt32(bitPattern: clamped) & 0xFF_FFFF)
        BE.put32(b, o + 8, extendedHighestSequence)
        BE.put32(b, o + 12, jitter)
        BE.put32(b, o + 16, lastSenderReport)
        BE.put32(b, o + 20, delaySinceLastSenderReport)
    }

    /// The round-trip time this block implies, seen by the sender of the SR it refers to
    /// (RFC 3550 §6.4.1, Figure 2): `A - LSR - DLSR`, where `A` is the compact NTP time at which this
    /// report arrived. Nil when the block carries no LSR, or when the result would be negative
    /// (clock errors).
    public func roundTripTime(arrival: NTPTimestamp) -> TimeAmount? {
        guard lastSenderReport != 0 else { return nil }
        let a = arrival.compact
        let rtt = Int64(a) &- Int64(lastSenderReport) &- Int64(delaySinceLastSenderReport)
        // Work modulo 2^32 so a wrap of the compact clock between SR and RR is harmless.
        let wrapped = Int64(Int32(truncatingIfNeeded: rtt))
        guard wrapped >= 0 else { return nil }
        return NTPTimestamp.timeAmount(compact: UInt32(wrapped))
    }
}
