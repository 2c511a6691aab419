import Foundation
import Testing
import TestSupport
@testable import VertoPhone

/// `vertophone load` and `vertophone answer --users` as separate processes against `vertophone
/// serve`: many logins, a destination range, rate and ramp, per-phase histograms in the JSON
/// summary, one CSV line per call, failures by cause.
@Suite(.serialized, .realTime) struct LoadToolTests {
    static var binary: URL { CLIAndWAVTests.binary }

    /// A users file with these ids, password `pw` (few PBKDF2 iterations: only logins are timed).
    func usersFile(_ ids: [String]) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("vp-load-users-\(UUID().uuidString).txt").path
        let lines = try ids.map { UserDirectory.fileLine(try UserDirectory.makeEntry(id: $0, password: "pw", iterations: 100)) }
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Starts the binary; its standard output is collected until it exits.
    func spawn(_ args: [String]) throws -> (Process, Pipe) {
        let p = Process()
        p.executableURL = Self.binary
        p.arguments = args
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try ChildProcesses.start(p)
        return (p, out)
    }

    /// Waits (on a thread of its own) for the process to exit by itself within `seconds` (then
    /// stops it); returns its status and JSON lines.
    func finish(_ p: Process, _ out: Pipe, within seconds: Int = 90) async -> (Int32, [[String: Any]], String) {
        // Read while waiting: the pipe ends when the process does, or is stopped after the bound.
        async let read: String = withCheckedContinuation { c in
            Thread.detachNewThread {
                let data = out.fileHandleForReading.readDataToEndOfFile()
                c.resume(returning: String(decoding: data, as: UTF8.self))
            }
        }
        await ChildProcesses.stop(p, exitWithin: .seconds(seconds))
        let text = await read
        let lines = text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        return (p.terminationStatus, lines, text)
    }

    func number(_ o: [String: Any], _ key: String) -> Double? { (o[key] as? NSNumber)?.doubleValue }

    @Test func loadFromManyUsersToAnAnswerProcessWithHistogramsAndCSV() async throws {
        let users = try usersFile((1000...1004).map(String.init) + (2000...2004).map(String.init))
        let (server, url) = try await CLIAndWAVTests().startServe(["--users", users])
        defer { ChildProcesses.stopBlocking(server) }
        let (answer, answerOut) = try spawn(["answer", "--url", url, "--login", "any@127.0.0.1", "--password", "pw", "--users", "2000-2004",
                                             "--count", "20", "--media-host", "127.0.0.1", "--json"])
        defer { ChildProcesses.stopBlocking(answer) }
        // The answer side is ready when its users are logged in: a call to each would otherwise find
        // no route. Its "logged_in" line is the signal.
        try await waitForLine(answerOut, containing: #""event":"logged_in""#)

        let csv = FileManager.default.temporaryDirectory.appendingPathComponent("vp-load-\(UUID().uuidString).csv").path
        let (load, loadOut) = try spawn(["load", "--url", url, "--password", "pw", "--users", "1000-1004", "--destination", "2000-2004",
                                         "--calls", "20", "--rate", "40", "--hold", "0.1", "--json", "--csv", csv])
        let (status, lines, text) = await finish(load, loadOut)
        #expect(status == 0, "\(text)")
        let summary = try #require(lines.last { $0["event"] as? String == "load_finished" }, "\(text)")
        #expect(summary["completed"] as? Int == 20 && summary["failed"] as? Int == 0, "\(summary)")
        #expect(summary["login_count"] as? Int == 5)
        for phase in ["created", "answer", "ice", "dtls", "first_frame"] {
            #expect(summary["\(phase)_count"] as? Int == 20, "\(phase)")
            let p50 = try #require(number(summary, "\(phase)_p50_ms")), p90 = try #require(number(summary, "\(phase)_p90_ms"))
            let p99 = try #require(number(summary, "\(phase)_p99_ms")), max = try #require(number(summary, "\(phase)_max_ms"))
            #expect(p50 > 0 && p50 <= p90 && p90 <= p99 && p99 <= max, "\(phase): \(p50) \(p90) \(p99) \(max)")
        }
        for key in summary.keys { #expect(key.allSatisfy { $0.isLowercase || $0.isNumber || $0 == "_" }, "key \(key)") }

        // One CSV line per call: users and destinations in turn, phases in order.
        let rows = try String(contentsOfFile: csv, encoding: .utf8).split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        #expect(rows.first?.joined(separator: ",") == "index,user,destination,call_id,start_ms,created_ms,answer_ms,ice_ms,dtls_ms,first_frame_ms,result,cause")
        #expect(rows.count == 21)
        for row in rows.dropFirst() {
            let i = try #require(Int(row[0]))
            #expect(row[1] == "\(1000 + i % 5)@127.0.0.1" && row[2] == "\(2000 + i % 5)", "\(row)")
            #expect(row[10] == "ok", "\(row)")
            let ice = try #require(Double(row[7])), dtls = try #require(Double(row[8])), first = try #require(Double(row[9]))
            #expect(ice <= dtls && dtls <= first, "\(row)")
        }

        // The answer process took every call and left after --count.
        let (answerStatus, answerLines, answerText) = await finish(answer, answerOut, within: 30)
        #expect(answerStatus == 0, "\(answerText)")
        let done = try #require(answerLines.last { $0["event"] as? String == "answer_finished" }, "\(answerText)")
        #expect(done["answered"] as? Int == 20 && done["failed"] as? Int == 0 && done["refused"] as? Int == 0, "\(done)")
    }

    /// The ramp and rate decide when each call starts: call k never starts before its due time
    /// (N(t) = rate·t²/(2·ramp) during the ramp, then rate per second), and the duration bounds the
    /// number launched (rate 10, ramp 1 s, 2 s: calls due at 0, 0.45, 0.63, 0.77, 0.89, then every
    /// 0.1 s from 1.0 to 1.9 s: 15).
    @Test func rateAndRampScheduleTheLaunches() async throws {
        let csv = FileManager.default.temporaryDirectory.appendingPathComponent("vp-load-\(UUID().uuidString).csv").path
        let (load, out) = try spawn(["load", "--destination", "9196", "--rate", "10", "--ramp", "1", "--duration", "2", "--hold", "0",
                                     "--json", "--csv", csv])
        let (status, lines, text) = await finish(load, out)
        #expect(status == 0, "\(text)")
        let summary = try #require(lines.last { $0["event"] as? String == "load_finished" }, "\(text)")
        let launched = try #require(summary["launched"] as? Int)
        #expect(launched <= 15 && launched >= 12, "\(summary)")
        let starts = try String(contentsOfFile: csv, encoding: .utf8).split(separator: "\n").dropFirst()
            .map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
            .map { (Int($0[0])!, Double($0[4])!) }
        #expect(starts.count == launched)
        for (k, startMs) in starts {
            let due = k < 5 ? (2.0 * Double(k) / 10).squareRoot() : 1 + Double(k - 5) / 10
            #expect(startMs >= due * 1000 - 1, "call \(k) started at \(startMs) ms, due at \(due * 1000) ms")
        }
    }

    /// Failures are counted by cause, and a run with a failure exits 1: calls to a destination with
    /// no route, calls beyond the answer side's concurrency (refused with USER_BUSY), and a run
    /// whose logins all fail.
    @Test func failuresAreCountedByCause() async throws {
        let (load, out) = try spawn(["load", "--destination", "5555", "--calls", "3", "--json"])
        let (status, lines, text) = await finish(load, out)
        #expect(status == 1, "\(text)")
        let summary = try #require(lines.last { $0["event"] as? String == "load_finished" }, "\(text)")
        #expect((summary["causes"] as? [String: Int]) == ["ended: NO_ROUTE_DESTINATION": 3], "\(summary)")

        let users = try usersFile(["1000", "2000"])
        let (server, url) = try await CLIAndWAVTests().startServe(["--users", users])
        defer { ChildProcesses.stopBlocking(server) }
        let (answer, answerOut) = try spawn(["answer", "--url", url, "--login", "any@127.0.0.1", "--password", "pw", "--users", "2000",
                                             "--concurrency", "1", "--media-host", "127.0.0.1", "--json"])
        defer { ChildProcesses.stopBlocking(answer) }
        try await waitForLine(answerOut, containing: #""event":"logged_in""#)
        // Three at once, each held 3 s once answered: the first is answered, the two that ring while
        // it is up are refused.
        let (busy, busyOut) = try spawn(["load", "--url", url, "--password", "pw", "--login", "1000@127.0.0.1", "--destination", "2000",
                                         "--calls", "3", "--concurrency", "3", "--hold", "3", "--json"])
        let (busyStatus, busyLines, busyText) = await finish(busy, busyOut)
        #expect(busyStatus == 1, "\(busyText)")
        let busySummary = try #require(busyLines.last { $0["event"] as? String == "load_finished" }, "\(busyText)")
        #expect(busySummary["completed"] as? Int == 1, "\(busySummary)")
        #expect((busySummary["causes"] as? [String: Int]) == ["ended: USER_BUSY": 2], "\(busySummary)")

        // No login at all (a wrong password): a failed run, exit 1, not a usage error (64).
        let (denied, deniedOut) = try spawn(["load", "--url", url, "--password", "wrong", "--login", "1000@127.0.0.1",
                                             "--destination", "2000", "--calls", "1", "--json"])
        let (deniedStatus, deniedLines, deniedText) = await finish(denied, deniedOut)
        #expect(deniedStatus == 1, "\(deniedText)")
        #expect((deniedLines.last?["message"] as? String)?.hasPrefix("no login succeeded") == true, "\(deniedText)")
    }

    /// Reads the pipe until a line contains `text` (bounded), leaving the rest to `finish`.
    func waitForLine(_ out: Pipe, containing text: String, within seconds: Double = 30) async throws {
        let found: Bool = await withCheckedContinuation { c in
            Thread.detachNewThread {
                let deadline = Date().addingTimeInterval(seconds)
                var line = Data()
                while Date() < deadline {
                    let b = out.fileHandleForReading.readData(ofLength: 1)
                    if b.isEmpty { break }
                    if b != Data([0x0A]) { line += b; continue }
                    if String(decoding: line, as: UTF8.self).contains(text) { c.resume(returning: true); return }
                    line = Data()
                }
                c.resume(returning: false)
            }
        }
        #expect(found, "no line with \(text)")
        if !found { throw CancellationError() }
    }
}
