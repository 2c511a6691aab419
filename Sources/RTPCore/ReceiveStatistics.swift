import NIOCore

/// Per-source RTP reception statistics (RFC 3550 Appendix A.1, A.3, A.8) that produce report blocks.
///
/// Sequence validation follows A.1: a new source is on probation until `minSequential` packets in
/// sequence arrive; jumps larger than `maxDropout` (or backwards by more than `maxMisorder`) are
/// treated as a restart only when confirmed by the next packet. Loss and fraction lost follow A.3;
/// interarrival jitter follows A.8 in RTP timestamp units. Arrival times come from the caller
/// (`now`). No allocation per packet.
public struct ReceiveStatistics: Sendable {
    public static let maxDropout: UInt16 = 3000
    public static let maxMisorder: UInt16 = 100
    public static let minSequential = 2

    public let ssrc: UInt32
    public let clockRate: Int
    /// Sequential packets needed before the source is valid (A.1 MIN_SEQUENTIAL).
    public let minSequential: Int

    private var maxSeq: UInt16 = 0
    private var cycles: UInt32 = 0
    private var baseSeq: UInt32 = 0
    private var badSeq: UInt32 = 0x1_0000 + 1  // RTP_SEQ_MOD + 1: no bad sequence yet
    private var probation: Int
    /// Packets received, duplicates included (A.1 `received`).
    public private(set) var received: UInt32 = 0
    private var expectedPrior: UInt32 = 0
    private var receivedPrior: UInt32 = 0
    private var jitterEstimator: InterarrivalJitter
    private var lastSR: (compact: UInt32, arrival: NIODeadline)?
    private var initialized = false

    public init(ssrc: UInt32, clockRate: Int, minSequential: Int = ReceiveStatistics.minSequential) {
        self.ssrc = ssrc
        self.clockRate = clockRate
        self.minSequential = max(minSequential, 1)
        self.probation = max(minSequential, 1)
        self.jitterEstimator = InterarrivalJitter(clockRate: clockRate)
    }

    /// True once the source has passed probation.
    public var isValid: Bool { initialized && probation == 0 }

    /// A.1 `init_seq`.
    private mutating func initSequence(_ seq: UInt16) {
        baseSeq = UInt32(seq)
        maxSeq = seq
        badSeq = 0x1_0000 + 1
        cycles = 0
        received = 0
        receivedPrior = 0
        expectedPrior = 0
    }

    /// Records one packet (A.1 `update_seq`, A.8 jitter). Returns false when the packet is not
    /// counted (probation failed, or a large jump not yet confirmed).
    @discardableResult
    public mutating func record(sequenceNumber seq: UInt16, timestamp: UInt32, arrival now: NIODeadline) -> Bool {
        if !initialized {
            initialized = true
            initSequence(seq)
            maxSeq = seq &- 1
        }
        let udelta = seq &- maxSeq
        if probation > 0 {
            // Source is not valid until minSequential packets with sequential numbers arrive.
            if seq == maxSeq &+ 1 {
                probation -= 1
                maxSeq = seq
                if probation == 0 {
                    initSequence(seq)
                    received += 1
                    jitterEstimator.update(timestamp: timestamp, arrival: now)
                    return true
                }
            } else {
                probation = minSequential - 1
                maxSeq = seq
            }
            return false
        } else if udelta < Self.maxDropout {
            // In order, with permissible gap.
            if seq < maxSeq { cycles &+= 0x1_0000 }
            maxSeq = seq
        } else if udelta <= UInt16.max - Self.maxMisorder {
            // The sequence number made a very large jump.
            if UInt32(seq) == badSeq {
                // Two sequential packets: assume the other side restarted without telling us.
                initSequence(seq)
            } else {
                badSeq = (UInt32(seq) + 1) & 0xFFFF
                return false
            }
        } else {
            // Duplicate or reordered packet: counted, does not move max.
        }
        received += 1
        jitterEstimator.update(timestamp: timestamp, arrival: now)
        return true
    }

    /// Extended highest sequence number received (A.3).
    public var extendedHighestSequence: UInt32 { cycles &+ UInt32(maxSeq) }

    /// Packets expected (A.3): extended highest - base + 1.
    public var expected: UInt32 { isValid ? extendedHighestSequence &- baseSeq &+ 1 : 0 }

    /// Cumulative packets lost (A.3), clamped to the 24-bit signed field.
    public var cumulativeLost: Int32 {
        let lost = Int64(expected) - Int64(received)
        return Int32(min(max(lost, Int64(RTCPReportBlock.cumulativeLostRange.lowerBound)),
                         Int64(RTCPReportBlock.cumulativeLostRange.upperBound)))
    }

    /// Interarrival jitter in RTP timestamp units (A.8).
    public var jitter: UInt32 { jitterEstimator.jitter }

    /// Remembers an SR from this source for LSR/DLSR (RFC 3550 §6.4.1).
    public mutating func receivedSenderReport(ntpTimestamp: NTPTimestamp, arrival now: NIODeadline) {
        lastSR = (ntpTimestamp.compact, now)
    }

    /// Builds the report block for this source and starts a new reporting interval (the fraction
    /// lost is computed over the packets since the previous call, A.3). Nil before the source is valid.
    public mutating func makeReportBlock(now: NIODeadline) -> RTCPReportBlock? {
        guard isValid else { return nil }
        let expected = self.expected
        let expectedInterval = Int64(expected) - Int64(expectedPrior)
        expectedPrior = expected
        let receivedInterval = Int64(received) - Int64(receivedPrior)
        receivedPrior = received
        let lostInterval = expectedInterval - receivedInterval
        let fraction: UInt8 =
            (expectedInterval <= 0 || lostInterval <= 0) ? 0 : UInt8(min((lostInterval << 8) / expectedInterval, 255))
        var lsr: UInt32 = 0
        var dlsr: UInt32 = 0
        if let sr = lastSR {
            lsr = sr.compact
            dlsr = NTPTimestamp.compact(now - sr.arrival)
        }
        return RTCPReportBlock(
            ssrc: ssrc, fractionLost: fraction, cumulativeLost: cumulativeLost,
            extendedHighestSequence: extendedHighestSequence, jitter: jitter,
            lastSenderReport: lsr, delaySinceLastSenderReport: dlsr)
    }
}

/// Interarrival jitter estimator (RFC 3550 §6.4.1, Appendix A.8), in RTP timestamp units, with the
/// integer form of A.8 (the estimate is kept scaled by 16). Arrival times are converted to RTP units
/// relative to the first packet, so `NIODeadline` values of any magnitude work.
public struct InterarrivalJitter: Sendable {
    public let clockRate: Int
    private var base: NIODeadline?
    private var lastTransit: Int64 = 0
    private var scaled: Int64 = 0

    public init(clockRate: Int) {
        self.clockRate = clockRate
    }

    /// The current estimate in RTP timestamp units.
    public var jitter: UInt32 { UInt32(truncatingIfNeeded: scaled >> 4) }

    /// The current estimate as a duration.
    public var jitterTime: TimeAmount {
        clockRate > 0 ? .nanoseconds(Int64(jitter) * 1_000_000_000 / Int64(clockRate)) : .zero
    }

    /// An arrival time in RTP units since the first packet (A.8: "the arrival time in RTP units").
    private func arrivalUnits(_ now: NIODeadline, base: NIODeadline) -> Int64 {
        let ns = (now - base).nanoseconds
        let (hi, lo) = ns.multipliedFullWidth(by: Int64(clockRate))
        return Int64(1_000_000_000).dividingFullWidth((high: hi, low: lo)).quotient
    }

    public mutating func update(timestamp: UInt32, arrival now: NIODeadline) {
        guard let base else {
            self.base = now
            lastTransit = -Int64(timestamp)
            return
        }
        let arrival = arrivalUnits(now, base: base)
        // Transit modulo 2^32 like the RTP timestamp; the difference is taken as a signed 32-bit value.
        let transit = arrival &- Int64(timestamp)
        let d = abs(Int64(Int32(truncatingIfNeeded: transit &- lastTransit)))
        lastTransit = transit
        scaled += d - ((scaled + 8) >> 4)
    }

    public mutating func reset() {
        base = nil
        lastTransit = 0
        scaled = 0
    }
}
