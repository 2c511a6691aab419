import ArgumentParser
import Foundation
import Logging
import VertoPhone

@main
struct VertoPhoneCLI: AsyncParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(
            commandName: "vertophone",
            abstract: "A Verto (FreeSWITCH mod_verto) WebRTC phone: server, client, demo and load generator.",
            discussion: """
                Exit codes: 0 success; 1 failure (cannot connect, login refused, a check or load call \
                failed, bad configuration); 2 the call was not answered (call); 3 the call ended with a \
                cause other than NORMAL_CLEARING (call); 64 bad usage. With --json every line on standard \
                output is one JSON object with snake_case keys and numbers for times (milliseconds) and \
                counts; an error is {"event":"error","message":…} before the exit.
                """,
            version: VertoPhoneVersion.summary,
            subcommands: [Demo.self, Serve.self, CallCommand.self, Answer.self, Load.self, Abuse.self, AddUser.self, Devices.self],
            defaultSubcommand: nil)
    }

    /// The exit code for an error a command throws (see the discussion above).
    static func exitCode(for error: any Error) -> Int32 {
        if let e = error as? ExitCode { return e.rawValue }
        if error is ValidationError { return 64 }
        return 1
    }
}

/// Options shared by the commands that print.
struct OutputOptions: ParsableArguments {
    @Flag(name: .long, help: "Print one JSON object per line instead of human text.")
    var json = false

    @Option(name: .long, help: "Log level for the engine's own logs (trace, debug, info, notice, warning, error).")
    var logLevel: String = "warning"

    @Flag(name: .customLong("trace-jsonrpc"), help: "Log every Verto frame in and out (standard error) with passwords, ICE passwords and keys redacted.")
    var traceJSONRPC = false

    func bootstrapLogging() {
        let level = Logger.Level(rawValue: logLevel) ?? .warning
        let trace = traceJSONRPC
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = label == "verto.trace" && trace ? min(level, .info) : level
            return h
        }
    }
}

/// One value of a timeline line: text, a number (milliseconds, counts) or absent.
enum TimelineValue: Sendable, ExpressibleByStringLiteral, ExpressibleByStringInterpolation, ExpressibleByIntegerLiteral {
    case text(String)
    case number(Double)
    case integer(Int)
    /// Counts by name (failures by cause): a JSON object, `name×count; …` in text.
    case table([String: Int])
    case absent

    init(stringLiteral value: String) { self = .text(value) }
    init(integerLiteral value: Int) { self = .integer(value) }
    /// A measured value (three decimals), or absent.
    static func decimal(_ value: Double?) -> TimelineValue { value.map { .number(($0 * 1000).rounded() / 1000) } ?? .absent }
    /// Milliseconds, or absent.
    static func ms(_ value: Double?) -> TimelineValue { decimal(value) }
    static func count<I: BinaryInteger>(_ value: I?) -> TimelineValue { value.map { .integer(Int($0)) } ?? .absent }

    var json: Any {
        switch self {
        case .text(let t): return t
        case .number(let n): return n
        case .integer(let i): return i
        case .table(let t): return t
        case .absent: return NSNull()
        }
    }

    var human: String {
        switch self {
        case .text(let t): return t
        case .number(let n): return String(format: "%.2f", n)
        case .integer(let i): return String(i)
        case .table(let t): return t.isEmpty ? "-" : t.sorted { $0.key < $1.key }.map { "\($0.key)×\($0.value)" }.joined(separator: "; ")
        case .absent: return "-"
        }
    }
}

/// Prints a timeline: human text with times relative to the start, or JSON lines. In JSON, the
/// keys and event names are snake_case (`callID` → `call_id`, "setup (callee)" → `setup_callee`),
/// times and counts are numbers (milliseconds for times; `t` is seconds since the start) and an
/// absent value is null.
final class Timeline: Sendable {
    let json: Bool
    let start = Date()
    private let lock = NSLock()

    init(json: Bool) { self.json = json }

    func log(_ event: String, _ fields: [String: TimelineValue] = [:]) {
        let t = Date().timeIntervalSince(start)
        lock.lock()
        defer { lock.unlock() }
        if json {
            var obj: [String: Any] = ["t": (t * 1000).rounded() / 1000, "event": Timeline.snakeCase(event)]
            for (k, v) in fields { obj[Timeline.snakeCase(k)] = v.json }
            if let d = try? JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys, .withoutEscapingSlashes]) {
                FileHandle.standardOutput.write(d + Data("\n".utf8))
            }
        } else {
            let extra = fields.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.human)" }.joined(separator: " ")
            // Unbuffered write(2): lines reach a pipe as they happen (stdio would hold them).
            FileHandle.standardOutput.write(Data((String(format: "%8.3f s  %@%@", t, event, extra.isEmpty ? "" : "  " + extra) + "\n").utf8))
        }
    }

    /// `callID` → `call_id`, `p50Ms` → `p50_ms`, `first frame (G1)` → `first_frame_g1`, `ICE` → `ice`.
    static func snakeCase(_ name: String) -> String {
        var out = ""
        let chars = Array(name)
        for (i, c) in chars.enumerated() {
            if c.isLetter || c.isNumber {
                let prev = i > 0 ? chars[i - 1] : " "
                let next = i + 1 < chars.count ? chars[i + 1] : " "
                // A word starts at an upper-case letter after a lower-case one or a digit, or at the
                // last capital of a run followed by a lower-case letter ("RTPSent" → rtp_sent).
                let startsWord = c.isUppercase && (prev.isLowercase || prev.isNumber || (prev.isUppercase && next.isLowercase && next.isLetter))
                if startsWord, !out.isEmpty, out.last != "_" { out.append("_") }
                out.append(contentsOf: c.lowercased())
            } else if !out.isEmpty, out.last != "_" {
                out.append("_")
            }
        }
        while out.last == "_" { out.removeLast() }
        return out
    }
}

/// A command that prints through `OutputOptions`: `run` sets up logging and runs `execute`; an error
/// in `--json` mode becomes one JSON line on standard output (`{"event":"error","message":…}`), then
/// the exit code; in human mode the error goes to ArgumentParser as usual.
protocol ReportingCommand: AsyncParsableCommand {
    var output: OutputOptions { get }
    func execute() async throws
}

extension ReportingCommand {
    func run() async throws {
        output.bootstrapLogging()
        do {
            try await execute()
        } catch let e as ExitCode {
            throw e
        } catch {
            guard output.json else { throw error }
            Timeline(json: true).log("error", ["message": "\(error)"])
            throw ExitCode(VertoPhoneCLI.exitCode(for: error))
        }
    }
}

/// The server to run against: `url`, or (without one) a server role started in this process with
/// the demo users on a free loopback port. Returns the URL and the in-process server, if any.
func targetServer(_ url: String?) async throws -> (url: String, local: VertoEndpoint?) {
    if let url { return (url, nil) }
    var config = VertoEndpointConfiguration(users: .demo())
    config.port = 0
    let endpoint = try await VertoEndpoint.start(configuration: config)
    return ("ws://127.0.0.1:\(endpoint.port)/", endpoint)
}
