import CoreSupport
import Testing
import TestSupport
@testable import SDPCore

/// House rule 5: bad input never traps. Seeded random inputs and mutations of the real fixtures:
/// every input either parses (and then round-trips exactly) or gives an `SDPError` whose line
/// number points into the input; negotiation on whatever parses either succeeds or throws.
@Suite("SDP property tests")
struct PropertyTests {
    /// Checks the invariants for one input; returns true when it parsed.
    @discardableResult
    static func check(_ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) -> Bool {
        let text = String(decoding: bytes, as: UTF8.self)
        let lineCount = text.utf8.split(separator: 10, omittingEmptySubsequences: false).count
        let sdp: SessionDescription
        do {
            sdp = try SDPParser.parse(text)
        } catch {
            if let line = error.line {
                #expect((1...max(lineCount, 1)).contains(line), "line \(line) of \(lineCount)", sourceLocation: sourceLocation)
            }
            #expect(error.context.count <= 81, sourceLocation: sourceLocation)
            return false
        }
        let out = sdp.text
        do {
            let again = try SDPParser.parse(out)
            #expect(again == sdp, "round trip changed the model for input \(text.debugDescription)", sourceLocation: sourceLocation)
            #expect(again.text == out, sourceLocation: sourceLocation)
        } catch {
            Issue.record("serialized output does not parse: \(error) for input \(text.debugDescription)", sourceLocation: sourceLocation)
        }
        // Negotiation never traps either; what it produces parses back.
        let local = SDPFixtures.endpoint(seed: 5)
        if let a = try? AudioOfferAnswer.makeAnswer(to: sdp, local: local) {
            #expect((try? SDPParser.parse(a.answer.text)) == a.answer, sourceLocation: sourceLocation)
        }
        _ = try? AudioOfferAnswer.applyAnswer(sdp, to: AudioOfferAnswer.makeOffer(local: local))
        for i in sdp.media.indices {
            _ = sdp.media[i].candidates
            _ = sdp.media[i].rtpMaps
            _ = sdp.media[i].ssrcAttributes
            _ = sdp.fingerprints(forMediaAt: i)
            for pt in sdp.media[i].payloadTypes { _ = sdp.media[i].formatParameters(for: pt) }
        }
        return true
    }

    @Test(.cpuBound) func randomBytesNeverTrap() {
        var rng = SeededGenerator(seed: 0x5D9_0001)
        for _ in 0..<3000 {
            let n = Int.random(in: 0...200, using: &rng)
            Self.check((0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) })
        }
    }

    /// Random lines built from SDP-like pieces, so that many inputs get past `v=0`.
    @Test func randomSDPLikeLinesNeverTrapAndRoundTrip() {
        var rng = SeededGenerator(seed: 0x5D9_0002)
        let types: [String] = ["v", "o", "s", "i", "u", "e", "p", "c", "b", "t", "r", "z", "k", "a", "m", "x", "A", "", "="]
        let pieces = ["0", "9", "65535", "70000", "-", " ", "  ", "\t", ":", "/", ";", "=", "IN", "IP4", "IP6", "audio",
                      "RTP/SAVPF", "candidate", "fingerprint", "rtpmap", "ssrc", "rtcp", "fmtp", "setup", "sha-256", "AB",
                      "typ", "host", "raddr", "rport", "udp", "111", "opus/48000/2", "ice-ufrag", "é", "\u{301}", "\r", "\u{0}"]
        var parsed = 0
        for _ in 0..<3000 {
            var text = "v=0\n"
            if Bool.random(using: &rng) { text += "o=- 1 1 IN IP4 0.0.0.0\n" }
            for _ in 0..<Int.random(in: 0...8, using: &rng) {
                text += types.randomElement(using: &rng)! + "="
                for _ in 0..<Int.random(in: 0...6, using: &rng) { text += pieces.randomElement(using: &rng)! }
                text += Bool.random(using: &rng) ? "\r\n" : "\n"
            }
            if Self.check(Array(text.utf8)) { parsed += 1 }
        }
        #expect(parsed > 100, "only \(parsed) random SDPs parsed: the generator is too hostile to test round trips")
    }

    enum Mutation: CaseIterable {
        case deleteLine, duplicateLine, swapLines, truncateLine, garbleLine, insertByte, truncateDocument, changeType, bigNumber
    }

    static func mutate(_ text: String, _ m: Mutation, _ rng: inout SeededGenerator) -> [UInt8] {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { Array($0.utf8) }
        guard !lines.isEmpty else { return [] }
        let i = Int.random(in: 0..<lines.count, using: &rng)
        switch m {
        case .deleteLine: lines.remove(at: i)
        case .duplicateLine: lines.insert(lines[i], at: i)
        case .swapLines: lines.swapAt(i, Int.random(in: 0..<lines.count, using: &rng))
        case .truncateLine: lines[i] = Array(lines[i].prefix(Int.random(in: 0...lines[i].count, using: &rng)))
        case .garbleLine:
            if !lines[i].isEmpty {
                for _ in 0..<Int.random(in: 1...4, using: &rng) {
                    lines[i][Int.random(in: 0..<lines[i].count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
                }
            }
        case .insertByte:
            lines[i].insert(UInt8.random(in: 0...255, using: &rng), at: Int.random(in: 0...lines[i].count, using: &rng))
        case .truncateDocument:
            let all = Array(text.utf8)
            return Array(all.prefix(Int.random(in: 0...all.count, using: &rng)))
        case .changeType:
            if !lines[i].isEmpty { lines[i][0] = UInt8.random(in: 97...122, using: &rng) }
        case .bigNumber:
            if let d = lines[i].firstIndex(where: { $0 >= 48 && $0 <= 57 }) {
                lines[i].replaceSubrange(d...d, with: Array(String(UInt64.random(in: 0...UInt64.max, using: &rng)).utf8))
            }
        }
        return Array(lines.joined(separator: [10]))
    }

    @Test("mutated real SDPs never trap", .cpuBound, arguments: SDPFixtures.names)
    func mutatedFixtures(name: String) throws {
        let text = try SDPFixtures.text(name)
        var rng = SeededGenerator(seed: UInt64(truncatingIfNeeded: name.utf8.reduce(0) { $0 &* 31 &+ Int($1) }))
        var outcomes = [Bool: Int]()
        for _ in 0..<600 {
            var bytes = Array(text.utf8)
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                bytes = Self.mutate(String(decoding: bytes, as: UTF8.self), Mutation.allCases.randomElement(using: &rng)!, &rng)
            }
            outcomes[Self.check(bytes), default: 0] += 1
        }
        // Both outcomes occur: mutations are neither all harmless nor all fatal.
        #expect(outcomes[true, default: 0] > 0 && outcomes[false, default: 0] > 0, "\(outcomes)")
    }

    @Test("every single-line deletion of a real SDP is handled", arguments: SDPFixtures.names)
    func everyLineDeletion(name: String) throws {
        let text = try SDPFixtures.text(name)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        for i in lines.indices {
            var l = lines
            l.remove(at: i)
            Self.check(Array(l.joined(separator: "\n").utf8))
        }
    }

    @Test(.cpuBound) func hugeInputIsHandled() {
        var text = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
        for i in 0..<2000 { text += "m=audio \(i % 65536) RTP/AVP 0\r\na=x:\(String(repeating: "y", count: 100))\r\n" }
        #expect(Self.check(Array(text.utf8)))
        #expect(Self.check(Array(("v=0\no=- 1 1 IN IP4 0.0.0.0\ns=" + String(repeating: "z", count: 100_000)).utf8)))
    }
}
