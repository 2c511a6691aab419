import Foundation
import FuzzTargets
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
        if [.sdp, .verto, .rtp].contains(target) { #expect(!inputs.isEmpty, "seeds for \(target.rawValue)") }
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
        case .stun, .dtls:
            break
        }
        return inputs
    }
}
