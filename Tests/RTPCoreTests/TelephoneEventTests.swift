import NIOCore
import Testing
@testable import RTPCore

@Suite struct TelephoneEventTests {
    /// RFC 4733 §2.3: event 5, volume 10, duration 800 (100 ms at 8 kHz); the same with E set.
    static let vectors: [(TelephoneEvent, String)] = [
        (TelephoneEvent(event: 5, isEnd: false, volume: 10, duration: 800), "05 0A 03 20"),
        (TelephoneEvent(event: 5, isEnd: true, volume: 10, duration: 800), "05 8A 03 20"),
        (TelephoneEvent(event: 11, isEnd: false, volume: 63, duration: 160), "0B 3F 00 A0"),
        (TelephoneEvent(event: 15, isEnd: true, volume: 0, duration: 65535), "0F 80 FF FF"),
    ]

    @Test(arguments: vectors)
    func serializesAndParses(_ v: (TelephoneEvent, String)) throws {
        #expect(v.0.bytes == hex(v.1))
        var buf = [UInt8](repeating: 0, count: 4)
        try buf.withUnsafeMutableBytes { _ = try v.0.write(into: $0) }
        #expect(buf == hex(v.1))
        #expect(try TelephoneEvent(parsing: hex(v.1)) == v.0)
    }

    @Test func reservedBitIsIgnored() throws {
        #expect(try TelephoneEvent(parsing: hex("05 CA 03 20")) == TelephoneEvent(event: 5, isEnd: true, volume: 10, duration: 800))
    }

    @Test func shortPayloadIsTyped() {
        #expect(throws: RTPError.truncated(what: "telephone-event payload", needed: 4, available: 3)) {
            _ = try TelephoneEvent(parsing: [5, 10, 3])
        }
    }

    /// RFC 4733 §3.2 event codes.
    @Test func digitCodes() {
        #expect(DTMFDigit.digits("0123456789*#ABCD")?.map(\.eventCode) == Array(0...15))
        #expect(DTMFDigit.digits("12x") == nil)
        #expect(DTMFDigit("d") == .d)
        // Not ASCII digits: a combining accent, Arabic-Indic three, fullwidth one.
        #expect(DTMFDigit("1\u{301}") == nil && DTMFDigit("٣") == nil && DTMFDigit("１") == nil)
        #expect(DTMFDigit.allCases.map(\.description).joined() == "0123456789*#ABCD")
        #expect(TelephoneEvent(event: 16, duration: 0).digit == nil)  // flash
        #expect(DTMFDigit.d5.frequencies == (770, 1336))
        #expect(DTMFDigit.pound.frequencies == (941, 1477))
    }
}

/// An RTP-level packet the tests assemble from the sender's decisions.
struct SentPacket: Equatable {
    var header: RTPHeader
    var event: TelephoneEvent?
}

/// Drives packetizer + DTMF sender like a shell would, for `ticks` 20 ms ticks at 8 kHz.
func runSender(digits: [(DTMFDigit, TimeAmount?)], ticks: Int, packetizer: inout RTPPacketizer,
               sender: inout DTMFSender, eventPT: UInt8 = 101) -> [SentPacket] {
    for (d, duration) in digits { sender.enqueue(d, duration: duration) }
    var out: [SentPacket] = []
    for _ in 0..<ticks {
        switch sender.tick(mediaTimestamp: packetizer.timestamp) {
        case .idle:
            out.append(SentPacket(header: packetizer.nextAudioHeader(samples: 160, payloadLength: 160), event: nil))
        case .event(let p):
            for i in 0..<p.transmissions {
                let h = packetizer.nextEventHeader(payloadType: eventPT, timestamp: p.timestamp, marker: p.marker && i == 0)
                out.append(SentPacket(header: h, event: p.event))
            }
            packetizer.advance(samples: 160)
        }
    }
    return out
}

@Suite struct DTMFSenderTests {
    @Test func fullSequenceForOneDigit() {
        var pz = RTPPacketizer(ssrc: 7, payloadType: 0, clockRate: 8000, initialSequenceNumber: 65533, initialTimestamp: 1000)
        var sender = DTMFSender(configuration: .init(clockRate: 8000))
        // One audio frame first (it starts the talkspurt), then the digit.
        let first = runSender(digits: [], ticks: 1, packetizer: &pz, sender: &sender)
        let sent = first + runSender(digits: [(.d5, .milliseconds(100))], ticks: 10, packetizer: &pz, sender: &sender)
        let events = sent.filter { $0.event != nil }
        #expect(events.count == 7)  // first + 3 continuations + end x3
        #expect(events.map { $0.event!.duration } == [160, 320, 480, 640, 800, 800, 800])
        #expect(events.map { $0.event!.isEnd } == [false, false, false, false, true, true, true])
        #expect(events.map(\.header.marker) == [true, false, false, false, false, false, false])
        #expect(Set(events.map(\.header.timestamp)) == [1160])
        #expect(events.allSatisfy { $0.event!.event == 5 && $0.event!.volume == 10 && $0.header.payloadType == 101 })
        // One sequence space for events and audio, wrapping.
        #expect(sent.map(\.header.sequenceNumber) == [65533, 65534, 65535, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
        // Audio resumes with the media clock advanced by the event's 5 ticks; the marker is set on the
        // very first audio packet only (not again after the event).
        let audio = sent.filter { $0.event == nil }
        #expect(audio.map(\.header.timestamp) == [1000, 1960, 2120, 2280, 2440, 2600])
        #expect(audio.map(\.header.marker) == [true, false, false, false, false, false])
        // Wire bytes of the first and last event payloads.
        #expect(events[0].event!.bytes == hex("05 0A 00 A0"))
        #expect(events[6].event!.bytes == hex("05 8A 03 20"))
    }

    @Test func digitsAreSeparatedByTheGapAndGetTheirOwnTimestamps() {
        var pz = RTPPacketizer(ssrc: 7, payloadType: 0, clockRate: 8000, initialSequenceNumber: 0, initialTimestamp: 0)
        var sender = DTMFSender(configuration: .init(clockRate: 8000, defaultDuration: .milliseconds(40),
                                                     interDigitGap: .milliseconds(40)))
        let sent = runSender(digits: [(.d1, nil), (.pound, nil)], ticks: 10, packetizer: &pz, sender: &sender)
        // d1: ticks 0-1 (2 + 2 end repeats), gap ticks 2-3 audio, #: ticks 4-5, gap 6-7, audio 8-9.
        let kinds = sent.map { $0.event.map { String($0.event) } ?? "a" }
        #expect(kinds == ["1", "1", "1", "1", "a", "a", "11", "11", "11", "11", "a", "a", "a", "a"])
        let firstTS = sent.filter { $0.event?.event == 1 }.map(\.header.timestamp)
        let secondTS = sent.filter { $0.event?.event == 11 }.map(\.header.timestamp)
        #expect(Set(firstTS) == [0] && Set(secondTS) == [4 * 160])
        #expect(sent.filter(\.header.marker).count == 3)  // "1" first, the first audio packet, "#" first
        #expect(sender.isIdle)
    }

    @Test func planOfOneDigit() {
        let plan = DTMFSender.plan(.pound, duration: .milliseconds(60), startTimestamp: 4_294_967_000,
                                   configuration: .init(clockRate: 48000, volume: 7))
        #expect(plan == [
            DTMFPacket(event: TelephoneEvent(event: 11, volume: 7, duration: 960), timestamp: 4_294_967_000, marker: true, transmissions: 1),
            DTMFPacket(event: TelephoneEvent(event: 11, volume: 7, duration: 1920), timestamp: 4_294_967_000, marker: false, transmissions: 1),
            DTMFPacket(event: TelephoneEvent(event: 11, isEnd: true, volume: 7, duration: 2880), timestamp: 4_294_967_000,
                       marker: false, transmissions: 3),
        ])
    }

    @Test func shortDigitIsOneEndPacketSentThreeTimesWithOneMarker() {
        var sender = DTMFSender(configuration: .init(clockRate: 48000))
        sender.enqueue(.star, duration: .milliseconds(5))
        guard case .event(let p) = sender.tick(mediaTimestamp: 99) else { Issue.record("no event"); return }
        #expect(p == DTMFPacket(event: TelephoneEvent(event: 10, isEnd: true, volume: 10, duration: 960),
                                timestamp: 99, marker: true, transmissions: 3))
    }

    @Test func longDigitDurationIsCappedToTheField() {
        let sender = DTMFSender(configuration: .init(clockRate: 48000))
        // 65535 / 960 = 68 ticks at most (1.36 s).
        #expect(sender.ticks(for: .seconds(5)) == 68)
        #expect(sender.ticks(for: .milliseconds(100)) == 5)
        #expect(sender.ticks(for: .milliseconds(101)) == 6)
    }

    @Test func cancelStopsEverything() {
        var sender = DTMFSender()
        sender.enqueue(DTMFDigit.digits("123")!)
        #expect(sender.pendingCount == 3)
        _ = sender.tick(mediaTimestamp: 0)
        sender.cancel()
        let t = sender.tick(mediaTimestamp: 160)
        #expect(sender.isIdle && t == .idle)
    }
}

@Suite struct DTMFReceiverTests {
    /// The packets of "1234#" as the sender emits them (100 ms each, 50 ms gaps), events only.
    static func eventPackets() -> [SentPacket] {
        var pz = RTPPacketizer(ssrc: 7, payloadType: 0, clockRate: 8000, initialSequenceNumber: 100, initialTimestamp: 4_294_966_000)
        var sender = DTMFSender(configuration: .init(clockRate: 8000))
        let digits = DTMFDigit.digits("1234#")!.map { ($0, TimeAmount?.none) }
        return runSender(digits: digits, ticks: 60, packetizer: &pz, sender: &sender).filter { $0.event != nil }
    }

    static func receive(_ packets: [SentPacket], into r: inout DTMFReceiver) -> String {
        var s = ""
        for p in packets {
            if let d = r.receive(p.event!, timestamp: p.header.timestamp, marker: p.header.marker) { s.append(d.digit.character) }
        }
        return s
    }

    @Test func everyDigitExactlyOnce() {
        var r = DTMFReceiver()
        let packets = Self.eventPackets()
        #expect(packets.count == 35)
        #expect(Self.receive(packets, into: &r) == "1234#")
        #expect(r.packetsIgnored == 30)
    }

    @Test func survivesLossOfFirstPacketsAndOfSomeEndPackets() {
        var r = DTMFReceiver()
        // Drop every marked packet and the first two end packets of each event.
        var endsSeen: [UInt32: Int] = [:]
        let kept = Self.eventPackets().filter { p in
            if p.header.marker { return false }
            if p.event!.isEnd {
                endsSeen[p.header.timestamp, default: 0] += 1
                return endsSeen[p.header.timestamp]! > 2
            }
            return true
        }
        #expect(Self.receive(kept, into: &r) == "1234#")
    }

    @Test func onlyEndPacketsSuffice() {
        var r = DTMFReceiver()
        let kept = Self.eventPackets().filter { $0.event!.isEnd }
        #expect(Self.receive(kept, into: &r) == "1234#")
    }

    @Test func reorderingWithinEventsAndDuplicates() {
        var rng = SeededRNG(seed: 7)
        var packets: [SentPacket] = []
        // Shuffle the packets of each event among themselves, then duplicate some.
        let all = Self.eventPackets()
        var groups: [[SentPacket]] = []
        for p in all {
            if let last = groups.last?.last, last.header.timestamp == p.header.timestamp {
                groups[groups.count - 1].append(p)
            } else {
                groups.append([p])
            }
        }
        for g in groups { packets += g.shuffled(using: &rng) }
        packets += packets.filter { _ in Bool.random(using: &rng) }
        var r = DTMFReceiver()
        let digits = Self.receive(packets, into: &r)
        #expect(digits == "1234#")
    }

    @Test func lateEndPacketOfPreviousEventDoesNotRepeatIt() {
        var r = DTMFReceiver()
        let p = Self.eventPackets()
        var order = p
        // Move the last end packet of "1" after the first packet of "2".
        let endOfOne = order.remove(at: 6)
        order.insert(endOfOne, at: 8)
        #expect(Self.receive(order, into: &r) == "1234#")
    }

    @Test func repeatedSameDigitIsReportedTwice() {
        var r = DTMFReceiver()
        let a = TelephoneEvent(event: 1, isEnd: true, duration: 800)
        let r1 = r.receive(a, timestamp: 0, marker: true)
        #expect(r1 != nil)
        let r2 = r.receive(a, timestamp: 0, marker: false)
        #expect(r2 == nil)
        let r3 = r.receive(a, timestamp: 2000, marker: false)
        #expect(r3?.digit == .d1)
    }

    @Test func longEventSegmentIsNotANewDigit() {
        var r = DTMFReceiver()
        let r4 = r.receive(TelephoneEvent(event: 3, duration: 65535), timestamp: 0, marker: true)
        #expect(r4?.digit == .d3)
        // §2.5.1.3: next segment, new timestamp, no marker, previous segment not ended.
        let r5 = r.receive(TelephoneEvent(event: 3, duration: 160), timestamp: 65535, marker: false)
        #expect(r5 == nil)
        let r6 = r.receive(TelephoneEvent(event: 3, isEnd: true, duration: 320), timestamp: 65535, marker: false)
        #expect(r6 == nil)
    }

    @Test func staleEventOlderThanHistoryIsIgnored() {
        var r = DTMFReceiver(historySize: 2)
        let r7 = r.receive(TelephoneEvent(event: 1, isEnd: true, duration: 160), timestamp: 1000, marker: true)
        #expect(r7 != nil)
        let r8 = r.receive(TelephoneEvent(event: 2, isEnd: true, duration: 160), timestamp: 2000, marker: true)
        #expect(r8 != nil)
        let r9 = r.receive(TelephoneEvent(event: 3, isEnd: true, duration: 160), timestamp: 3000, marker: true)
        #expect(r9 != nil)
        // 1000 has left the history and predates it: stale, not reported again.
        let r10 = r.receive(TelephoneEvent(event: 1, isEnd: true, duration: 160), timestamp: 1000, marker: false)
        #expect(r10 == nil)
        #expect(r.eventsSeen == 3)
    }
}
