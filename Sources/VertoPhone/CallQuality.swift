import Foundation
import MediaCore
import NIOCore
import PeerCore

/// The quality of a call over one interval of its media session's statistics stream
/// (`MediaSession.quality(every:)`): what was sent and received, loss, jitter and round-trip time
/// in milliseconds, concealed frames, bitrates, the received audio level, and a MOS estimate from
/// the ITU-T G.107 E-model.
public struct CallQuality: Sendable, Equatable {
    /// The interval these figures cover.
    public var interval: Duration
    public var packetsSent: Int
    public var packetsReceived: Int
    /// Packets lost in the interval (RFC 3550 receive statistics) and as a share of those expected.
    public var packetsLost: Int
    public var lossPercent: Double
    /// Interarrival jitter (RFC 3550 A.8) in milliseconds, at the end of the interval.
    public var jitterMs: Double
    /// Round-trip time from RTCP (RFC 3550 §6.4.1), once known.
    public var roundTripMs: Double?
    /// Frames the jitter buffer had to conceal (late or lost) in the interval.
    public var framesConcealed: Int
    public var sendKbps: Double
    public var receiveKbps: Double
    /// RMS level of the received audio in dBFS (nil when nothing was decoded).
    public var audioLevelDBFS: Double?
    /// The estimated one-way mouth-to-ear delay used for the rating: half the round trip (0 while
    /// unknown) + 20 ms packetization + a jitter buffer of 20 ms + twice the jitter.
    public var estimatedDelayMs: Double
    /// E-model transmission rating R (0...100) and MOS (1...4.5).
    public var rating: Double
    public var mos: Double
}

/// The running totals a quality stream compares each interval with.
struct QualityMark {
    var statistics = PeerStatistics()
    var energy = 0.0
    var samples = 0

    /// The interval's figures from the totals now, then moves the mark.
    mutating func next(_ now: PeerStatistics, clockRate: Int, codec: EModel.Codec, energy: Double, samples: Int,
                       interval: Duration) -> CallQuality {
        let seconds = max(Double(interval.components.seconds) + Double(interval.components.attoseconds) / 1e18, 0.001)
        let sent = now.packetsSent - statistics.packetsSent
        let received = now.packetsReceived - statistics.packetsReceived
        let lost = max(0, Int(now.packetsLost) - Int(statistics.packetsLost))
        let expected = received + lost
        let lossPercent = expected > 0 ? Double(lost) * 100 / Double(expected) : 0
        let jitterMs = clockRate > 0 ? Double(now.jitter) * 1000 / Double(clockRate) : 0
        let rtt = now.roundTripTime.map { Double($0.nanoseconds) / 1e6 }
        let delay = (rtt ?? 0) / 2 + 20 + 20 + 2 * jitterMs
        let rating = EModel.rating(oneWayDelayMs: delay, packetLossPercent: lossPercent, codec: codec)
        let e = energy - self.energy, n = samples - self.samples
        let level: Double? = n > 0 ? 10 * log10(max(e / Double(n), 1e-9) / (32_768.0 * 32_768.0)) : nil
        let q = CallQuality(
            interval: interval, packetsSent: sent, packetsReceived: received, packetsLost: lost, lossPercent: lossPercent,
            jitterMs: jitterMs, roundTripMs: rtt, framesConcealed: max(0, now.framesConcealed - statistics.framesConcealed),
            sendKbps: Double(now.bytesSent - statistics.bytesSent) * 8 / 1000 / seconds,
            receiveKbps: Double(now.bytesReceived - statistics.bytesReceived) * 8 / 1000 / seconds,
            audioLevelDBFS: level, estimatedDelayMs: delay, rating: rating, mos: EModel.mos(rating: rating))
        statistics = now
        self.energy = energy
        self.samples = samples
        return q
    }
}
