import NIOCore
import Testing
@testable import RTPCore

@Suite struct RTCPReporterTests {
    static let t0 = NIODeadline.uptimeNanoseconds(10_000_000_000)
    static let wall0 = NTPTimestamp(seconds: 0xE000_0000, fraction: 0)

    static func wall(_ t: NIODeadline) -> NTPTimestamp {
        NTPTimestamp(rawValue: wall0.rawValue &+ NTPTimestamp(nanosecondsSinceNTPEpoch: UInt64((t - t0).nanoseconds)).rawValue)
    }

    @Test func schedulesWithinTheRandomizedBounds() {
        var rng = SeededRNG(seed: 1)
        var r = RTCPReporter(configuration: .init(ssrc: 1, cname: "a"), now: Self.t0, random: &rng)
        #expect(r.nextReportDeadline >= Self.t0 + .milliseconds(1250) && r.nextReportDeadline <= Self.t0 + .milliseconds(3750))
        var stats: ReceiveStatistics? = nil
        var now = r.nextReportDeadline
        for _ in 0..<50 {
            _ = r.makeReport(now: now, wallClock: Self.wall(now), sender: nil, rtpTimestamp: 0, statistics: &stats, random: &rng)
            let gap = r.nextReportDeadline - now
            #expect(gap >= .milliseconds(2500) && gap <= .milliseconds(7500))
            now = r.nextReportDeadline
        }
    }

    /// Two reporters talk: A sends RTP and an SR, B answers with an RR whose LSR/DLSR give A the RTT
    /// (here 80 ms one way each, B holding the SR for 1 s).
    @Test func senderReportThenReceiverReportGivesRTT() throws {
        var rng = SeededRNG(seed: 2)
        var a = RTCPReporter(configuration: .init(ssrc: 0xA, cname: "a@x"), now: Self.t0, random: &rng)
        var b = RTCPReporter(configuration: .init(ssrc: 0xB, cname: "b@x"), now: Self.t0, random: &rng)
        var pz = RTPPacketizer(ssrc: 0xA, payloadType: 111, clockRate: 48000, initialSequenceNumber: 1, initialTimestamp: 0)
        var bStats: ReceiveStatistics? = ReceiveStatistics(ssrc: 0xA, clockRate: 48000)
        for i in 0..<50 {
            let h = pz.nextAudioHeader(samples: 960, payloadLength: 100)
            bStats!.record(sequenceNumber: h.sequenceNumber, timestamp: h.timestamp,
                           arrival: Self.t0 + .milliseconds(Int64(80 + 20 * i)))
        }
        var none: ReceiveStatistics? = nil
        let tSR = Self.t0 + .seconds(1)
        let sr = a.makeReport(now: tSR, wallClock: Self.wall(tSR), sender: pz, rtpTimestamp: pz.timestamp, statistics: &none, random: &rng)
        guard case .senderReport(let srPacket) = sr.packets[0] else { Issue.record("no SR"); return }
        #expect(srPacket.packetCount == 50 && srPacket.octetCount == 5000 && srPacket.rtpTimestamp == 48000)
        #expect(sr.packets[1] == .sourceDescription(RTCPSourceDescription(ssrc: 0xA, cname: "a@x")))
        // Wire round trip, then B receives it 80 ms later.
        let srBack = try RTCPCompoundPacket(parsing: try sr.serialize())
        let tB = tSR + .milliseconds(80)
        #expect(b.receive(srBack, now: tB, wallClock: Self.wall(tB), statistics: &bStats).isEmpty)
        // B reports 1 s later; it sent nothing, so an RR.
        let tRR = tB + .seconds(1)
        let rr = b.makeReport(now: tRR, wallClock: Self.wall(tRR), sender: nil, rtpTimestamp: 0, statistics: &bStats, random: &rng)
        guard case .receiverReport(let rrPacket) = rr.packets[0] else { Issue.record("no RR"); return }
        let block = rrPacket.reportBlocks[0]
        #expect(block.ssrc == 0xA && block.lastSenderReport == Self.wall(tSR).compact)
        #expect(block.delaySinceLastSenderReport == 65536)  // exactly 1 s
        #expect(block.extendedHighestSequence == 50 && block.cumulativeLost == 0)
        let tA = tRR + .milliseconds(80)
        let events = a.receive(try RTCPCompoundPacket(parsing: try rr.serialize()), now: tA, wallClock: Self.wall(tA), statistics: &none)
        #expect(events.contains(.remoteReport(block)))
        // Compact NTP has 15 µs resolution.
        guard let rtt = a.roundTripTime else { Issue.record("no RTT"); return }
        #expect(abs(rtt.nanoseconds - 160_000_000) < 50_000)
        // Without new RTP, A's next report is an RR.
        let again = a.makeReport(now: tA, wallClock: Self.wall(tA), sender: pz, rtpTimestamp: 0, statistics: &none, random: &rng)
        if case .receiverReport = again.packets[0] {} else { Issue.record("expected RR without new RTP") }
    }

    @Test func byeIsReportedAndWellFormed() throws {
        var rng = SeededRNG(seed: 3)
        var a = RTCPReporter(configuration: .init(ssrc: 0xA, cname: "a"), now: Self.t0, random: &rng)
        let b = RTCPReporter(configuration: .init(ssrc: 0xB, cname: "b"), now: Self.t0, random: &rng)
        let bye = try RTCPCompoundPacket(parsing: try b.makeBye(reason: "hangup").serialize())
        var none: ReceiveStatistics? = nil
        #expect(a.receive(bye, now: Self.t0, wallClock: Self.wall0, statistics: &none) == [.bye(sources: [0xB], reason: "hangup")])
    }
}
