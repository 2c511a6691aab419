import Foundation
@testable import FuzzTargets
import ICECore
import Testing
import TestSupport

/// Every input saved under Fixtures/fuzz-regressions/<target>/ (crashes and slow inputs found by
/// scripts/fuzz) goes through its parser again on every build, with the real messages of Fixtures/
/// as seeds (SDP files, each line of the Verto transcripts, the captured RTCP): none may trap.
@Suite struct RegressionReplayTests {
    @Test(.cpuBound, arguments: FuzzTarget.allCases)
    func savedInputsNeverTrap(_ target: FuzzTarget) throws {
        let inputs = try Self.inputs(for: target)
        for bytes in inputs { bytes.withUnsafeBytes { target.run($0) } }
        if [.sdp, .verto, .rtp, .websocket, .eventsocket, .turn, .sharedport].contains(target) { #expect(!inputs.isEmpty, "seeds for \(target.rawValue)") }
    }

    static func inputs(for target: FuzzTarget) throws -> [[UInt8]] {
        var inputs = try Fixtures.files(in: "fuzz-regressions/\(target.rawValue)", withExtension: "bin").map { [UInt8](try Data(contentsOf: $0)) }
        switch target {
        case .sdp:
            inputs += try Fixtures.files(in: "sdp", withExtension: "sdp").map { [UInt8](try Data(contentsOf: $0)) }
        case .verto:
            for url in Fixtures.files(in: "verto", withExtension: "jsonl") {
                inputs += try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map { Array($0.utf8) }
            }
        case .rtp:
            for url in Fixtures.files(in: "rtp", withExtension: "hex") {
                let hex = try String(contentsOf: url, encoding: .utf8).split(separator: "\n")
                    .filter { !$0.hasPrefix("#") }.joined().filter(\.isHexDigit)
                inputs.append(stride(from: 0, to: hex.count - 1, by: 2).compactMap {
                    UInt8(String(hex[hex.index(hex.startIndex, offsetBy: $0)...].prefix(2)), radix: 16)
                })
            }
        case .websocket:
            // Each transcript line as the masked frames a browser sends: one frame, then three
            // fragments, then with a ping between the fragments and a close after.
            for url in Fixtures.files(in: "verto", withExtension: "jsonl") {
                for line in try String(contentsOf: url, encoding: .utf8).split(separator: "\n") {
                    let payload = Array(line.utf8)
                    let third = max(1, payload.count / 3)
                    let parts = [payload.prefix(third), payload.dropFirst(third).prefix(third), payload.dropFirst(2 * third)].map(Array.init)
                    inputs.append(Self.frame(opcode: 1, fin: true, payload))
                    inputs.append(Self.frame(opcode: 1, fin: false, parts[0]) + Self.frame(opcode: 0, fin: false, parts[1])
                        + Self.frame(opcode: 9, fin: true, Array("p".utf8)) + Self.frame(opcode: 0, fin: true, parts[2])
                        + Self.frame(opcode: 8, fin: true, [0x03, 0xE8]))
                }
            }
        case .eventsocket:
            // A hold event, a message without a colon, a bad length, a DTMF event, split anywhere.
            let good = "Content-Type: text/event-json\nContent-Length: 45\n\n{\"Event-Name\":\"CHANNEL_HOLD\",\"Unique-ID\":\"a\"}"
            inputs.append(Array((good + "no colon\n\nContent-Length: x\n\n" + good).utf8))
        case .turn:
            // ChannelData on the bound channel (padded, as over TCP), on an unbound one, with a
            // length past the end; a Data indication without its DATA attribute.
            inputs.append([0x40, 0x00, 0x00, 0x05, 0x80, 1, 2, 3, 4, 0, 0, 0])
            inputs.append([0x4F, 0xFF, 0x00, 0x01, 0x00, 0, 0, 0])
            inputs.append([0x40, 0x00, 0xFF, 0xFF, 1])
            inputs.append([0x00, 0x17, 0x00, 0x00, 0x21, 0x12, 0xA4, 0x42] + [UInt8](repeating: 7, count: 12))
        case .sharedport:
            // A Binding request for "gHadDeVk" (USERNAME, PRIORITY, MESSAGE-INTEGRITY as a browser
            // sends them), then the same header claiming more attributes than it carries, and a
            // USERNAME without a colon.
            let header: [UInt8] = [0x00, 0x01, 0x00, 0x50, 0x21, 0x12, 0xA4, 0x42] + [UInt8](repeating: 9, count: 12)
            let username: [UInt8] = [0x00, 0x06, 0x00, 0x11] + Array("gHadDeVk:1Oy8nLy/".utf8) + [0, 0, 0]
            let rest: [UInt8] = [0x00, 0x24, 0x00, 0x04, 0x6E, 0xFF, 0xFF, 0xFF] + [0x00, 0x08, 0x00, 0x14] + [UInt8](repeating: 1, count: 20)
                + [0x80, 0x28, 0x00, 0x04, 1, 2, 3, 4] + [0x80, 0x2A, 0x00, 0x08] + [UInt8](repeating: 2, count: 8)
            inputs.append(header + username + rest + [UInt8](repeating: 0, count: 0x50 - username.count - rest.count))
            inputs.append(header + username)
            inputs.append([0x00, 0x01, 0x00, 0x08, 0x21, 0x12, 0xA4, 0x42] + [UInt8](repeating: 9, count: 12) + [0x00, 0x06, 0x00, 0x04] + Array("abcd".utf8))
        case .stun, .dtls:
            break
        }
        return inputs
    }

    /// A client frame (RFC 6455 §5.2): masked, with the 7-, 16- or 64-bit length form its size needs.
    static func frame(opcode: UInt8, fin: Bool, _ payload: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [(fin ? 0x80 : 0) | opcode]
        switch payload.count {
        case ..<126: out.append(0x80 | UInt8(payload.count))
        case ..<65_536: out += [0x80 | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
        default: out.append(0x80 | 127); out += (0..<8).reversed().map { UInt8((payload.count >> ($0 * 8)) & 0xFF) }
        }
        let mask: [UInt8] = [0x37, 0xFA, 0x21, 0x3D]
        out += mask
        out += payload.enumerated().map { $0.element ^ mask[$0.offset % 4] }
        return out
    }
}

/// The TURN target's prepared client really is allocated with a bound channel, so fuzzed bytes reach
/// the ChannelData and Data-indication paths, and a well-formed ChannelData is delivered.
@Suite struct TURNFuzzTargetTests {
    @Test func thePreparedClientIsAllocatedWithABoundChannel() {
        var c = FuzzTarget.allocatedTURNClient
        #expect(c.state == .allocated)
        #expect(c.isBound(TransportAddress(127, 0, 0, 1, port: 5000)))
        let data: [UInt8] = [0x40, 0x00, 0x00, 0x04, 0x80, 1, 2, 3]
        #expect(c.handleFromServer(data, now: .uptimeNanoseconds(1_000_000_000))
            == .data(peer: TransportAddress(127, 0, 0, 1, port: 5000), payload: 4..<8))
    }
}
