import NIOCore

/// A 64-bit NTP timestamp (RFC 3550 §4): seconds since 1900-01-01 and a 32-bit binary fraction.
///
/// Cores never read clocks: the shell converts its wall clock (or any consistent clock: only
/// differences matter for RTT, RFC 3550 §6.4.1) into nanoseconds and passes them here.
public struct NTPTimestamp: Sendable, Equatable, Hashable, Comparable {
    public var seconds: UInt32
    public var fraction: UInt32

    public init(seconds: UInt32, fraction: UInt32) {
        self.seconds = seconds
        self.fraction = fraction
    }

    /// Seconds between the NTP epoch (1900) and the Unix epoch (1970).
    public static let unixEpochOffset: UInt64 = 2_208_988_800

    /// From nanoseconds since the NTP epoch (wraps every 2^32 s as NTP era 0 does).
    public init(nanosecondsSinceNTPEpoch ns: UInt64) {
        let secs = ns / 1_000_000_000
        let rem = ns % 1_000_000_000
        self.seconds = UInt32(truncatingIfNeeded: secs)
        self.fraction = UInt32(truncatingIfNeeded: (rem << 32) / 1_000_000_000)
    }

    /// From nanoseconds since the Unix epoch.
    public init(unixNanoseconds: UInt64) {
        self.init(nanosecondsSinceNTPEpoch: unixNanoseconds &+ Self.unixEpochOffset * 1_000_000_000)
    }

    /// From a monotonic `NIODeadline` (its uptime nanoseconds): good enough for RTT, which only uses
    /// differences, when no wall clock is wanted.
    public init(_ deadline: NIODeadline) {
        self.init(nanosecondsSinceNTPEpoch: deadline.uptimeNanoseconds)
    }

    /// The 64-bit value.
    public var rawValue: UInt64 { UInt64(seconds) << 32 | UInt64(fraction) }

    public init(rawValue: UInt64) {
        self.init(seconds: UInt32(truncatingIfNeeded: rawValue >> 32), fraction: UInt32(truncatingIfNeeded: rawValue))
    }

    /// The middle 32 bits (16.16 fixed point), as used by LSR and RTT computations (RFC 3550 §6.4.1).
    public var compact: UInt32 { UInt32(truncatingIfNeeded: rawValue >> 16) }

    /// A duration in compact NTP units (1/65536 s), e.g. DLSR. Negative durations give 0; long ones saturate.
    public static func compact(_ amount: TimeAmount) -> UInt32 {
        guard amount.nanoseconds > 0 else { return 0 }
        let units = (UInt64(amount.nanoseconds) << 16) / 1_000_000_000
        return UInt32(min(units, UInt64(UInt32.max)))
    }

    /// A compact NTP duration as a `TimeAmount`.
    public static func timeAmount(compact: UInt32) -> TimeAmount {
        .nanoseconds(Int64((UInt64(compact) * 1_000_000_000) >> 16))
    }

    public static func < (lhs: NTPTimestamp, rhs: NTPTimestamp) -> Bool { lhs.rawValue < rhs.rawValue }
}
