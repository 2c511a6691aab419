import ArgumentParser
import Foundation
import Histogram
import NIOConcurrencyHelpers
import NIOCore

/// `LOW-HIGH` (inclusive, e.g. `1000-1999`; the width of LOW is kept, so `0100-0199` stays padded)
/// or one value (`9196`, `service`): the user ids and destinations of a load run.
struct IDRange: ExpressibleByArgument, Sendable, Equatable {
    let values: [String]

    init?(argument: String) {
        let parts = argument.split(separator: "-", omittingEmptySubsequences: false)
        if parts.count == 2, let low = Int(parts[0]), let high = Int(parts[1]), !parts[0].isEmpty, low <= high, high - low < 1_000_000 {
            let width = parts[0].count
            values = (low...high).map { n in
                let s = String(n)
                return s.count < width ? String(repeating: "0", count: width - s.count) + s : s
            }
        } else if !argument.isEmpty, !argument.contains(where: { $0 == "@" || $0.isWhitespace }) {
            values = [argument]
        } else {
            return nil
        }
    }

    /// The i-th value, round robin.
    subscript(i: Int) -> String { values[i % values.count] }
}

/// When each call of a load run is due: `rate` calls per second (0: as soon as a slot is free),
/// reached linearly over `ramp` seconds (the launches of a ramp follow N(t) = rate·t²/(2·ramp)).
struct LoadSchedule: Sendable {
    var rate: Double
    var ramp: Double

    /// Seconds after the start at which call `k` (from 0) is due.
    func due(_ k: Int) -> Double {
        guard rate > 0 else { return 0 }
        let rampCalls = rate * ramp / 2
        if ramp > 0, Double(k) < rampCalls { return (2 * ramp * Double(k) / rate).squareRoot() }
        return ramp + (Double(k) - rampCalls) / rate
    }
}

/// Counting semaphore for calls in flight: `acquire` waits (in FIFO order) while `limit` are taken.
final class CallSlots: Sendable {
    private struct State {
        var free: Int
        var waiters: [CheckedContinuation<Void, Never>] = []
    }
    private let state: NIOLockedValueBox<State>

    init(limit: Int) { state = NIOLockedValueBox(State(free: max(1, limit))) }

    func acquire() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let go = state.withLockedValue { s -> Bool in
                if s.free > 0 { s.free -= 1; return true }
                s.waiters.append(c)
                return false
            }
            if go { c.resume() }
        }
    }

    func release() {
        let next = state.withLockedValue { s -> CheckedContinuation<Void, Never>? in
            if s.waiters.isEmpty { s.free += 1; return nil }
            return s.waiters.removeFirst()
        }
        next?.resume()
    }
}

/// The measured phases of a call in a load run. `login` is per connection (from the WebSocket
/// connect to the login's result); the others count from the moment `verto.invite` is sent.
enum LoadPhase: String, CaseIterable, Sendable {
    case login
    /// `CALL CREATED`: the server accepted the invite.
    case created
    /// The call is answered (`verto.answer`).
    case answer
    /// ICE connected (a nominated pair).
    case ice
    /// DTLS done, SRTP keys installed.
    case dtls
    /// The first audio frame decoded: the call-setup time (G1).
    case firstFrame = "first_frame"
}

/// One call's outcome, for the CSV and the histograms.
struct LoadCallRecord: Sendable {
    var index: Int
    var user: String
    var destination: String
    var callID: String = ""
    /// Seconds since the run started when the invite was sent.
    var start: Double
    /// Milliseconds since the invite, per phase reached.
    var phases: [LoadPhase: Double] = [:]
    var failure: String?

    static let csvHeader = "index,user,destination,call_id,start_ms,created_ms,answer_ms,ice_ms,dtls_ms,first_frame_ms,result,cause"

    var csvLine: String {
        func ms(_ p: LoadPhase) -> String { phases[p].map { String(format: "%.3f", $0) } ?? "" }
        let cause = failure.map { "\"" + $0.replacingOccurrences(of: "\"", with: "\"\"") + "\"" } ?? ""
        return [String(index), user, destination, callID, String(format: "%.3f", start * 1000),
                ms(.created), ms(.answer), ms(.ice), ms(.dtls), ms(.firstFrame), failure == nil ? "ok" : "failed", cause]
            .joined(separator: ",")
    }
}

/// What a load run has measured so far: an HdrHistogram per phase (microseconds, 3 significant
/// digits, up to 10 minutes), counts, failures by cause, and the CSV lines.
final class LoadResults: Sendable {
    struct Snapshot: Sendable {
        var launched = 0
        var completed = 0
        var failed = 0
        var causes: [String: Int] = [:]
        var histograms: [LoadPhase: Histogram<UInt64>] = [:]

        var inFlight: Int { launched - completed - failed }

        /// Milliseconds at `percentile` (0–100) of a phase, nil before its first value.
        func ms(_ phase: LoadPhase, _ percentile: Double) -> Double? {
            guard let h = histograms[phase], h.totalCount > 0 else { return nil }
            return Double(h.valueAtPercentile(percentile)) / 1000
        }
    }

    private let state = NIOLockedValueBox(Snapshot())
    private let csv: FileHandle?

    init(csvPath: String?) throws {
        if let csvPath {
            guard FileManager.default.createFile(atPath: csvPath, contents: Data((LoadCallRecord.csvHeader + "\n").utf8)),
                  let h = FileHandle(forWritingAtPath: csvPath) else {
                throw ValidationError("cannot write \(csvPath)")
            }
            h.seekToEndOfFile()
            csv = h
        } else {
            csv = nil
        }
    }

    func launched() { state.withLockedValue { $0.launched += 1 } }

    func login(ms: Double) { state.withLockedValue { Self.record(&$0, .login, ms) } }

    func loginFailed(cause: String) {
        state.withLockedValue { $0.causes["login: " + cause, default: 0] += 1 }
    }

    func finish(_ r: LoadCallRecord) {
        let line = r.csvLine + "\n"
        state.withLockedValue { s in
            if let failure = r.failure {
                s.failed += 1
                s.causes[failure, default: 0] += 1
            } else {
                s.completed += 1
            }
            for (p, v) in r.phases { Self.record(&s, p, v) }
            csv?.write(Data(line.utf8))
        }
    }

    var snapshot: Snapshot { state.withLockedValue { $0 } }

    func close() { try? csv?.close() }

    private static func record(_ s: inout Snapshot, _ phase: LoadPhase, _ ms: Double) {
        var h = s.histograms[phase] ?? Histogram<UInt64>(highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: .three)
        _ = h.record(UInt64(max(0, (ms * 1000).rounded())))
        s.histograms[phase] = h
    }
}

/// The live progress line on a terminal (standard error), rewritten in place.
enum ProgressLine {
    static var isTerminal: Bool { isatty(STDERR_FILENO) != 0 }

    static func show(_ text: String) {
        FileHandle.standardError.write(Data(("\r\u{1B}[K" + text).utf8))
    }

    static func end() { FileHandle.standardError.write(Data("\n".utf8)) }
}

/// A failure's cause without the parts that differ per call (ids, numbers), for counting.
func failureCause(of error: any Error) -> String {
    let text = "\(error)"
    return text.replacingOccurrences(of: "[0-9a-fA-F]{8}-[0-9a-fA-F-]{27}", with: "<id>", options: .regularExpression)
        .replacingOccurrences(of: "[0-9]+(\\.[0-9]+)?", with: "N", options: .regularExpression)
}
