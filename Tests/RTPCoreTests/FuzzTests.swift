import NIOCore
import Testing
import TestSupport
@testable import RTPCore

/// House rule 5: bad input never traps. Seeded random and mutated inputs go through every parser;
/// each call must either succeed with in-bounds ranges or throw `RTPError`.
@Suite struct RTPFuzzTests {
    static func randomBytes(_ rng: inout SeededRNG, maxLength: Int) -> [UInt8] {
        let n = Int.random(in: 0...maxLength, using: &rng)
        return (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
    }

    static func mutate(_ base: [UInt8], _ rng: inout SeededRNG) -> [UInt8] {
        var b = base
        for _ in 0..<Int.random(in: 1...4, using: &rng) {
            switch Int.random(in: 0..<3, using: &rng) {
            case 0 where !b.isEmpty: b[Int.random(in: 0..<b.count, using: &rng)] ^= UInt8(1) << UInt8.random(in: 0..<8, using: &rng)
            case 1 where !b.isEmpty: b.removeLast(Int.random(in: 0...min(8, b.count), using: &rng))
            default: b.append(UInt8.random(in: 0...255, using: &rng))
            }
        }
        return b
    }

    static func checkRTP(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { raw in
            do {
                let p = try RTPPacket(parsing: raw)
                guard p.payloadRange.lowerBound >= 12, p.payloadRange.upperBound <= raw.count,
                      p.packetLength == raw.count, p.extensionRange.upperBound <= p.payloadRange.lowerBound
                else { return false }
                _ = p.csrcs(in: raw)
                if let elements = try? p.extensionElements(in: raw) {
                    return elements.allSatisfy { p.extensionRange.contains($0.range.lowerBound) || $0.range.isEmpty }
                }
                return true
            } catch {
                return true  // typed by the signature
            }
        }
    }

    @Test(.cpuBound, arguments: [1, 2, 3, 4])
    func randomBytesIntoEveryParser(seed: UInt64) {
        var rng = SeededRNG(seed: seed)
        var parsedRTP = 0
        for _ in 0..<5000 {
            var bytes = Self.randomBytes(&rng, maxLength: 80)
            if Bool.random(using: &rng), !bytes.isEmpty { bytes[0] = 0x80 | (bytes[0] & 0x3F) }  // get past the version check
            #expect(Self.checkRTP(bytes))
            if (try? RTPPacket(parsing: bytes)) != nil { parsedRTP += 1 }
            _ = try? RTCPCompoundPacket(parsing: bytes)
            _ = try? RTCPCompoundPacket(parsing: bytes, requireReportFirst: false)
            _ = try? TelephoneEvent(parsing: bytes)
        }
        #expect(parsedRTP > 0)
    }

    @Test(.cpuBound) func mutatedValidPacketsIntoEveryParser() throws {
        var rng = SeededRNG(seed: 99)
        let rtp = try RTPHeader(marker: true, payloadType: 111, sequenceNumber: 1, timestamp: 2, ssrc: 3, csrcs: [4, 5],
                                extension: RTPHeaderExtension.oneByte([(id: 1, data: [1, 2]), (id: 2, data: [3])]))
            .serialize(payload: [1, 2, 3, 4], paddingCount: 4)
        let rtcp = try RTCPCompoundPacket([
            .senderReport(RTCPSenderReport(ssrc: 1, ntpTimestamp: NTPTimestamp(seconds: 1, fraction: 2), rtpTimestamp: 3,
                                           packetCount: 4, octetCount: 5, reportBlocks: [RTCPReportBlock(ssrc: 6)])),
            .sourceDescription(RTCPSourceDescription(ssrc: 1, cname: "fuzz")),
            .bye(RTCPBye(sources: [1], reason: "x")),
        ]).serialize()
        var rtcpOK = 0
        for _ in 0..<20_000 {
            #expect(Self.checkRTP(Self.mutate(rtp, &rng)))
            let m = Self.mutate(rtcp, &rng)
            do {
                let c = try RTCPCompoundPacket(parsing: m)
                rtcpOK += 1
                // Whatever parsed must serialize again without error.
                _ = try c.serialize()
            } catch {}
        }
        #expect(rtcpOK > 0)
    }
}

/// Random sequences through the stateful receivers: no trap, and their invariants hold.
@Suite struct RTPStatefulPropertyTests {
    @Test(arguments: [5, 6, 7])
    func receiveStatisticsNeverTraps(seed: UInt64) {
        var rng = SeededRNG(seed: seed)
        var s = ReceiveStatistics(ssrc: 1, clockRate: 48000)
        var now = NIODeadline.uptimeNanoseconds(1_000_000)
        var seq = UInt16.random(in: 0...UInt16.max, using: &rng)
        for i in 0..<20_000 {
            switch Int.random(in: 0..<10, using: &rng) {
            case 0: seq = UInt16.random(in: 0...UInt16.max, using: &rng)  // jump anywhere
            case 1: seq &-= UInt16.random(in: 0...200, using: &rng)  // reorder / duplicate
            default: seq &+= UInt16.random(in: 1...3, using: &rng)
            }
            now = now + .milliseconds(Int64.random(in: 0...60, using: &rng))
            s.record(sequenceNumber: seq, timestamp: UInt32.random(in: 0...UInt32.max, using: &rng), arrival: now)
            if i % 97 == 0 {
                if Bool.random(using: &rng) {
                    s.receivedSenderReport(ntpTimestamp: NTPTimestamp(rawValue: rng.next()), arrival: now)
                }
                if let block = s.makeReportBlock(now: now) {
                    #expect(RTCPReportBlock.cumulativeLostRange.contains(block.cumulativeLost))
                }
            }
        }
    }

    /// Random packets over 6 event timestamps (fewer than the history holds), any order, any flags:
    /// no trap, and no timestamp is ever reported twice.
    @Test(arguments: [8, 9, 10])
    func dtmfReceiverReportsEachTimestampAtMostOnce(seed: UInt64) {
        var rng = SeededRNG(seed: seed)
        var r = DTMFReceiver(historySize: 8)
        var reported: [UInt32: Int] = [:]
        for _ in 0..<5_000 {
            let ts = UInt32.random(in: 0..<6, using: &rng) &* 800 &- 1600  // straddles the wrap
            let e = TelephoneEvent(event: UInt8.random(in: 0...20, using: &rng), isEnd: Bool.random(using: &rng),
                                   volume: UInt8.random(in: 0...63, using: &rng), duration: UInt16.random(in: 0...2000, using: &rng))
            if let d = r.receive(e, timestamp: ts, marker: Bool.random(using: &rng)) {
                reported[d.timestamp, default: 0] += 1
            }
        }
        #expect(!reported.isEmpty)
        #expect(reported.values.allSatisfy { $0 == 1 })
    }

    @Test func unwrapperMatchesAReferenceCounter() {
        var rng = SeededRNG(seed: 9)
        var u = SequenceUnwrapper()
        var truth: Int64 = 30000
        _ = u.unwrap(UInt16(truth))
        var highest = truth
        for _ in 0..<100_000 {
            // Move forward mostly, sometimes back a little (reorder), always within ±30000 of the highest.
            let step = Int64.random(in: -300...1000, using: &rng)
            truth = max(truth + step, highest - 30000)
            #expect(u.unwrap(UInt16(truncatingIfNeeded: truth)) == truth)
            highest = max(highest, truth)
        }
    }
}
