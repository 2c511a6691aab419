import NIOCore
import RTPCore
import Testing
@testable import MediaCore

/// The pieces composed the way a peer connection will: tone → G.711 → packetizer (+ DTMF sender)
/// → RTP bytes → seeded lossy, jittery network → RTP parse → DTMF receiver / jitter buffer →
/// decoder → Goertzel. Virtual time throughout.
@Suite struct PipelineTests {
    struct InFlight {
        var bytes: [UInt8]
        var arrival: NIODeadline
    }

    @Test(arguments: [G711Law.ulaw, .alaw])
    func toneAndDigitsSurviveALossyJitteryPath(_ law: G711Law) throws {
        var rng = SeededGenerator(seed: 4733)
        let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
        let eventPT: UInt8 = 101
        var tone = ToneGenerator(frequency: 440, amplitude: 0.3, sampleRate: 8000)
        let encoder = G711Encoder(law: law)
        let decoder = G711Decoder(law: law)
        var packetizer = RTPPacketizer(payloadType: law.payloadType, clockRate: 8000, using: &rng)
        var dtmf = DTMFSender(configuration: .init(clockRate: 8000))
        var network: [InFlight] = []
        var pcm = [Int16](repeating: 0, count: 160)
        var payload = [UInt8](repeating: 0, count: 160)
        var datagram = [UInt8](repeating: 0, count: 200)
        let ticks = 400
        var audioSent = 0

        // Sender: one tick per 20 ms; the digits go out from tick 100 on.
        // Event packets dropped on purpose: the marked first packet of "2", two of the three end
        // packets of "4".
        let droppedEvents: Set<Int> = [7, 25, 26]
        var eventIndex = 0
        func send(_ header: RTPHeader, _ body: ArraySlice<UInt8>, at tick: Int) throws {
            let n = try datagram.withUnsafeMutableBytes { out in
                try body.withUnsafeBytes { try header.writePacket(payload: $0, into: out) }
            }
            if header.payloadType == eventPT {
                eventIndex += 1
                if droppedEvents.contains(eventIndex - 1) { return }
            }
            if Double.random(in: 0..<1, using: &rng) < 0.03 { return }  // 3 % loss
            let jitter = TimeAmount.milliseconds(Int64.random(in: 0...30, using: &rng))
            network.append(InFlight(bytes: Array(datagram[0..<n]), arrival: start + .milliseconds(Int64(20 * tick + 40)) + jitter))
        }
        for tick in 0..<ticks {
            if tick == 100 { dtmf.enqueue(DTMFDigit.digits("1234#")!) }
            pcm.withUnsafeMutableBufferPointer { tone.fill($0) }
            switch dtmf.tick(mediaTimestamp: packetizer.timestamp) {
            case .idle:
                let n = try pcm.withUnsafeBufferPointer { p in try payload.withUnsafeMutableBytes { try encoder.encode(pcm: p, into: $0) } }
                try send(packetizer.nextAudioHeader(samples: 160, payloadLength: n), payload[0..<n], at: tick)
                audioSent += 1
            case .event(let p):
                for i in 0..<p.transmissions {
                    let header = packetizer.nextEventHeader(payloadType: eventPT, timestamp: p.timestamp, marker: p.marker && i == 0)
                    try send(header, p.event.bytes[...], at: tick)
                }
                packetizer.advance(samples: 160)
            }
        }
        #expect(packetizer.nextPacketStartsTalkspurt == false)

        // Receiver: deliver by arrival time, play one frame per tick.
        network.sort { $0.arrival < $1.arrival }
        let jb = JitterBuffer(configuration: .init(clockRate: 8000, maxPayloadSize: 200))
        var receiver = DTMFReceiver()
        var digits = ""
        var next = 0
        var played: [[Int16]] = []
        let detector = GoertzelDetector(sampleRate: 8000)
        var out = [Int16](repeating: 0, count: 160)
        for k in 0..<(ticks + 10) {
            let now = start + .milliseconds(Int64(40 + 20 * k))
            while next < network.count && network[next].arrival <= now {
                let d = network[next]
                next += 1
                try d.bytes.withUnsafeBytes { raw in
                    let packet = try RTPPacket(parsing: raw)
                    if packet.payloadType == eventPT {
                        let event = try TelephoneEvent(parsing: UnsafeRawBufferPointer(rebasing: raw[packet.payloadRange]))
                        if let found = receiver.receive(event, timestamp: packet.timestamp, marker: packet.marker) {
                            digits.append(found.digit.character)
                        }
                        jb.insertNonAudio(sequenceNumber: packet.sequenceNumber, ssrc: packet.ssrc, now: d.arrival)
                    } else {
                        #expect(packet.payloadType == law.payloadType)
                        jb.insert(packet, in: raw, now: d.arrival)
                    }
                }
            }
            switch jb.playout(now: now) {
            case .decode(let f):
                _ = try jb.withPayload(of: f) { p in try out.withUnsafeMutableBufferPointer { try decoder.decode(payload: p, into: $0) } }
                played.append(out)
            case .recover, .conceal:
                _ = try out.withUnsafeMutableBufferPointer { try decoder.conceal(samplesPerChannel: 160, into: $0) }
            case .wait:
                break
            }
        }
        // Every digit exactly once, in order, although event packets were lost.
        #expect(digits == "1234#")
        // The decoded audio is the 440 Hz tone, frame by frame.
        #expect(played.count > 300)
        let with440 = played.filter { detector.dominantFrequency(among: [440, 660], in: $0) == 440 }.count
        #expect(with440 == played.count)
        #expect(played.allSatisfy { !detector.detect(frequency: 660, in: $0) })
        let s = jb.statistics
        #expect(s.decoded == played.count)
        #expect(s.duplicate == 0 && s.nonAudio > 30)
        // Packets lost on the way (3 % plus the dropped events) are exactly what the buffer counts as
        // lost; every audio packet that arrived was played (none late), and the event sequence
        // numbers that arrived did not count as loss.
        #expect(audioSent == 375 && eventIndex == 35)
        #expect(s.lost > 0 && s.lost == (audioSent - s.received) + (eventIndex - s.nonAudio))
        #expect(eventIndex - s.nonAudio >= droppedEvents.count)
        #expect(s.decoded == s.received && s.late == 0 && s.oversized == 0 && s.resets == 0)
    }
}
