import NIOCore
import Testing
@testable import RTPCore

@Suite struct UnwrapperTests {
    @Test func sequenceAcrossWrap() {
        var u = SequenceUnwrapper()
        #expect([65534, 65535, 0, 1].map { u.unwrap(UInt16($0)) } == [65534, 65535, 65536, 65537])
    }

    @Test func reorderedAroundWrap() {
        var u = SequenceUnwrapper()
        let input: [UInt16] = [65533, 0, 65535, 1, 65534, 2]
        #expect(input.map { u.unwrap($0) } == [65533, 65536, 65535, 65537, 65534, 65538])
        #expect(u.highestExtended == 65538)
    }

    @Test func beforeTheFirstValueGoesNegative() {
        var u = SequenceUnwrapper()
        #expect(u.unwrap(0) == 0)
        #expect(u.unwrap(65535) == -1)
        #expect(u.unwrap(1) == 1)
        #expect(u.peek(30000) == 30000)
    }

    @Test func manyWraps() {
        var u = SequenceUnwrapper()
        var seq: UInt16 = 40000
        var last: Int64 = 0
        for _ in 0..<300_000 {
            last = u.unwrap(seq)
            seq &+= 1
        }
        #expect(last == 40000 + 299_999)
    }

    @Test func timestampsAcrossWrapWithJumps() {
        var u = TimestampUnwrapper()
        #expect(u.unwrap(4_294_966_336) == 4_294_966_336)
        #expect(u.unwrap(0) == 4_294_967_296)  // +960
        #expect(u.unwrap(4_294_967_000) == 4_294_967_000)  // reordered, before the wrap
        #expect(u.unwrap(48000 * 60) == 4_294_967_296 + 48000 * 60)  // a one-minute jump
        u.reset()
        #expect(u.unwrap(5) == 5)
    }
}

@Suite struct ReceiveStatisticsTests {
    static let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000_000)

    /// A.1 probation, A.3 loss: packets 100…109 with 103 and 106 missing.
    /// The first packet only starts probation; base = 101, received = 7, expected = 9, lost = 2,
    /// fraction = (2 << 8) / 9 = 56.
    @Test func lossAndFractionHandComputed() {
        var s = ReceiveStatistics(ssrc: 9, clockRate: 8000)
        for (i, seq) in [100, 101, 102, 104, 105, 107, 108, 109].enumerated() {
            s.record(sequenceNumber: UInt16(seq), timestamp: UInt32(seq * 160),
                     arrival: Self.t0 + .milliseconds(Int64(20 * i)))
        }
        #expect(s.isValid && s.received == 7 && s.expected == 9 && s.cumulativeLost == 2)
        let block = s.makeReportBlock(now: Self.t0 + .seconds(1))
        #expect(block == RTCPReportBlock(ssrc: 9, fractionLost: 56, cumulativeLost: 2, extendedHighestSequence: 109,
                                         jitter: s.jitter))
        // Next interval without loss: fraction 0, cumulative unchanged.
        s.record(sequenceNumber: 110, timestamp: 110 * 160, arrival: Self.t0 + .milliseconds(200))
        s.record(sequenceNumber: 111, timestamp: 111 * 160, arrival: Self.t0 + .milliseconds(220))
        let second = s.makeReportBlock(now: Self.t0 + .seconds(2))
        #expect(second?.fractionLost == 0 && second?.cumulativeLost == 2 && second?.extendedHighestSequence == 111)
    }

    @Test func probationRestartsOnNonSequentialPacket() {
        var s = ReceiveStatistics(ssrc: 1, clockRate: 8000)
        let r1 = s.record(sequenceNumber: 10, timestamp: 0, arrival: Self.t0)
        #expect(!r1)
        let r2 = s.record(sequenceNumber: 50, timestamp: 0, arrival: Self.t0)
        #expect(!r2)
        #expect(!s.isValid)
        #expect(s.makeReportBlock(now: Self.t0) == nil)
        let r3 = s.record(sequenceNumber: 51, timestamp: 0, arrival: Self.t0)
        #expect(r3)
        #expect(s.isValid && s.received == 1 && s.expected == 1)
    }

    @Test func wrapCountsCyclesAndDuplicatesMakeLossNegative() {
        var s = ReceiveStatistics(ssrc: 1, clockRate: 8000)
        for seq: UInt16 in [65533, 65534, 65535, 0, 1, 1, 1] {
            s.record(sequenceNumber: seq, timestamp: 0, arrival: Self.t0)
        }
        #expect(s.extendedHighestSequence == 0x1_0001)
        #expect(s.expected == 4 && s.received == 6 && s.cumulativeLost == -2)
        #expect(s.makeReportBlock(now: Self.t0)?.fractionLost == 0)
    }

    @Test func largeJumpNeedsConfirmation() {
        var s = ReceiveStatistics(ssrc: 1, clockRate: 8000)
        for seq: UInt16 in [1, 2, 3] { s.record(sequenceNumber: seq, timestamp: 0, arrival: Self.t0) }
        let r4 = s.record(sequenceNumber: 20000, timestamp: 0, arrival: Self.t0)
        #expect(!r4)
        #expect(s.extendedHighestSequence == 3)
        let r5 = s.record(sequenceNumber: 20001, timestamp: 0, arrival: Self.t0)
        #expect(r5)
        #expect(s.extendedHighestSequence == 20001 && s.expected == 1 && s.received == 1)
    }

    /// A.8 integer form: 20 ms spacing at 8 kHz (160 units); the third packet 10 ms late (80 units).
    /// D = 0, 80, 80 → J×16 = 0, 80, 80 + 80 − 5 = 155 → J = 0, 5, 9.
    @Test func jitterHandComputed() {
        var j = InterarrivalJitter(clockRate: 8000)
        let arrivals: [Int64] = [0, 20, 50, 60]
        var seen: [UInt32] = []
        for (i, ms) in arrivals.enumerated() {
            j.update(timestamp: UInt32(1000 + 160 * i), arrival: Self.t0 + .milliseconds(ms))
            seen.append(j.jitter)
        }
        #expect(seen == [0, 0, 5, 9])
        #expect(j.jitterTime == .microseconds(1125))
    }

    @Test func jitterIsZeroForAPerfectStreamAcrossTimestampWrap() {
        var j = InterarrivalJitter(clockRate: 48000)
        var ts: UInt32 = 4_294_960_000
        for i in 0..<100 {
            j.update(timestamp: ts, arrival: Self.t0 + .milliseconds(Int64(20 * i)))
            ts &+= 960
        }
        #expect(j.jitter == 0)
    }

    @Test func reportBlockCarriesLSRAndDLSR() {
        var s = ReceiveStatistics(ssrc: 1, clockRate: 8000)
        for seq: UInt16 in [1, 2] { s.record(sequenceNumber: seq, timestamp: 0, arrival: Self.t0) }
        s.receivedSenderReport(ntpTimestamp: NTPTimestamp(seconds: 0xB705, fraction: 0x2000_0000), arrival: Self.t0)
        let block = s.makeReportBlock(now: Self.t0 + .milliseconds(5250))
        #expect(block?.lastSenderReport == 0xB705_2000)
        #expect(block?.delaySinceLastSenderReport == 0x0005_4000)
    }
}

@Suite struct RTPPacketizerTests {
    @Test func markerOnlyAtTalkspurtStarts() {
        var p = RTPPacketizer(ssrc: 5, payloadType: 111, clockRate: 48000, initialSequenceNumber: 65535, initialTimestamp: 4_294_967_000)
        var headers: [RTPHeader] = []
        for _ in 0..<3 { headers.append(p.nextAudioHeader(samples: 960, payloadLength: 80)) }
        p.skipSilence(samples: 960 * 10)  // DTX gap
        for _ in 0..<2 { headers.append(p.nextAudioHeader(samples: 960, payloadLength: 80)) }
        #expect(headers.map(\.marker) == [true, false, false, true, false])
        #expect(headers.map(\.sequenceNumber) == [65535, 0, 1, 2, 3])
        #expect(headers.map(\.timestamp) == [4_294_967_000, 664, 1624, 2584 + 9600, 3544 + 9600])
        #expect(headers.allSatisfy { $0.ssrc == 5 && $0.payloadType == 111 && $0.csrcs.isEmpty && $0.extension == nil })
        #expect(p.packetCount == 5 && p.octetCount == 400)
    }

    @Test func seededStartValuesAreDeterministic() {
        var a = SeededRNG(seed: 42)
        var b = SeededRNG(seed: 42)
        let p1 = RTPPacketizer(payloadType: 0, clockRate: 8000, using: &a)
        let p2 = RTPPacketizer(payloadType: 0, clockRate: 8000, using: &b)
        #expect(p1.ssrc == p2.ssrc && p1.sequenceNumber == p2.sequenceNumber && p1.timestamp == p2.timestamp)
        #expect(p1.ssrc != 0)
        var c = SeededRNG(seed: 43)
        #expect(RTPPacketizer(payloadType: 0, clockRate: 8000, using: &c).ssrc != p1.ssrc)
    }

    @Test func serializedAudioPacketParsesBack() throws {
        var p = RTPPacketizer(ssrc: 0xCAFE, payloadType: 0, clockRate: 8000, initialSequenceNumber: 1, initialTimestamp: 2)
        let h = p.nextAudioHeader(samples: 160, payloadLength: 160)
        let bytes = try h.serialize(payload: [UInt8](repeating: 0xFF, count: 160))
        let parsed = try parseRTP(bytes)
        #expect(parsed.marker && parsed.sequenceNumber == 1 && parsed.timestamp == 2 && parsed.ssrc == 0xCAFE)
        #expect(parsed.payloadRange == 12..<172)
    }
}
