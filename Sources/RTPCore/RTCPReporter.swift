import NIOCore

/// RTCP for one audio stream pair, sans-IO: when to report (RFC 3550 §6.2, §6.3.1), what to send
/// (SR when we sent RTP since the last report, else RR; always an SDES CNAME, §6.1), and what
/// incoming reports mean (LSR for our receive statistics, RTT from report blocks about us, §6.4.1;
/// BYE, §6.6).
///
/// The shell passes `now` (monotonic, for scheduling and DLSR) and `wallClock` (the NTP time of the
/// same instant; any consistent clock works since RTT only uses differences). Report intervals are
/// randomized over [0.5, 1.5] × `interval` with the injected generator (§6.3.1), and the first
/// report goes out after half of that, as §6.2 allows for the initial report.
public struct RTCPReporter: Sendable {
    public struct Configuration: Sendable, Equatable {
        public var ssrc: UInt32
        public var cname: String
        /// Mean interval between reports (RFC 3550 §6.2 recommends a 5 s minimum).
        public var interval: TimeAmount

        public init(ssrc: UInt32, cname: String, interval: TimeAmount = .seconds(5)) {
            self.ssrc = ssrc
            self.cname = cname
            self.interval = interval
        }
    }

    /// What an incoming compound packet told us.
    public enum Event: Sendable, Equatable {
        /// A new round-trip time measured from a report block about our stream.
        case roundTripTime(TimeAmount)
        /// The peer's report about our stream (loss, jitter as it sees them).
        case remoteReport(RTCPReportBlock)
        /// The peer said goodbye for these sources.
        case bye(sources: [UInt32], reason: String?)
    }

    public let configuration: Configuration
    /// When the next report is due.
    public private(set) var nextReportDeadline: NIODeadline
    /// The latest RTT measurement.
    public private(set) var roundTripTime: TimeAmount?
    private var sentPacketsAtLastReport: UInt32 = 0

    public init<R: RandomNumberGenerator>(configuration: Configuration, now: NIODeadline, random: inout R) {
        self.configuration = configuration
        self.nextReportDeadline = now + .nanoseconds(Self.randomized(configuration.interval, random: &random).nanoseconds / 2)
    }

    static func randomized<R: RandomNumberGenerator>(_ interval: TimeAmount, random: inout R) -> TimeAmount {
        let factor = Double.random(in: 0.5...1.5, using: &random)
        return .nanoseconds(Int64(Double(max(interval.nanoseconds, 0)) * factor))
    }

    /// The compound report due now (call when `now >= nextReportDeadline`, or earlier to send one
    /// at once); schedules the next one.
    /// - Parameters:
    ///   - sender: our packetizer, nil when we do not send RTP (then only an RR is possible).
    ///   - rtpTimestamp: the RTP timestamp corresponding to `wallClock` in our stream (the
    ///     packetizer's next media timestamp is close enough).
    ///   - statistics: receive statistics of the peer's stream, if any; its reporting interval restarts.
    public mutating func makeReport<R: RandomNumberGenerator>(
        now: NIODeadline, wallClock: NTPTimestamp, sender: RTPPacketizer?, rtpTimestamp: UInt32,
        statistics: inout ReceiveStatistics?, random: inout R
    ) -> RTCPCompoundPacket {
        var blocks: [RTCPReportBlock] = []
        if var s = statistics, let block = s.makeReportBlock(now: now) {
            blocks.append(block)
            statistics = s
        }
        var packets: [RTCPPacket] = []
        // §6.4: an SR when we sent RTP since the previous report.
        if let sender, sender.packetCount != sentPacketsAtLastReport {
            packets.append(.senderReport(RTCPSenderReport(
                ssrc: configuration.ssrc, ntpTimestamp: wallClock, rtpTimestamp: rtpTimestamp,
                packetCount: sender.packetCount, octetCount: sender.octetCount, reportBlocks: blocks)))
            sentPacketsAtLastReport = sender.packetCount
        } else {
            packets.append(.receiverReport(RTCPReceiverReport(ssrc: configuration.ssrc, reportBlocks: blocks)))
        }
        packets.append(.sourceDescription(RTCPSourceDescription(ssrc: configuration.ssrc, cname: configuration.cname)))
        nextReportDeadline = now + Self.randomized(configuration.interval, random: &random)
        return RTCPCompoundPacket(packets)
    }

    /// A BYE to send when the stream ends (RFC 3550 §6.6), after an RR and SDES as §6.1 requires.
    public func makeBye(reason: String? = nil) -> RTCPCompoundPacket {
        RTCPCompoundPacket([
            .receiverReport(RTCPReceiverReport(ssrc: configuration.ssrc)),
            .sourceDescription(RTCPSourceDescription(ssrc: configuration.ssrc, cname: configuration.cname)),
            .bye(RTCPBye(sources: [configuration.ssrc], reason: reason)),
        ])
    }

    /// Digests an incoming compound packet: SRs from the peer feed `statistics` (LSR/DLSR), report
    /// blocks about our SSRC give RTT, BYEs are reported.
    public mutating func receive(_ compound: RTCPCompoundPacket, now: NIODeadline, wallClock: NTPTimestamp,
                                 statistics: inout ReceiveStatistics?) -> [Event] {
        var events: [Event] = []
        func blocksAboutUs(_ blocks: [RTCPReportBlock]) {
            for b in blocks where b.ssrc == configuration.ssrc {
                events.append(.remoteReport(b))
                if let rtt = b.roundTripTime(arrival: wallClock) {
                    roundTripTime = rtt
                    events.append(.roundTripTime(rtt))
                }
            }
        }
        for packet in compound.packets {
            switch packet {
            case .senderReport(let sr):
                if var s = statistics, s.ssrc == sr.ssrc {
                    s.receivedSenderReport(ntpTimestamp: sr.ntpTimestamp, arrival: now)
                    statistics = s
                }
                blocksAboutUs(sr.reportBlocks)
            case .receiverReport(let rr):
                blocksAboutUs(rr.reportBlocks)
            case .bye(let bye):
                events.append(.bye(sources: bye.sources, reason: bye.reasonText))
            case .sourceDescription, .other:
                break
            }
        }
        return events
    }
}
