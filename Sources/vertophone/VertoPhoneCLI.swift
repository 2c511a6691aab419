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
            version: VertoPhoneVersion.summary,
            subcommands: [Demo.self, Serve.self, CallCommand.self, Answer.self, Load.self, Abuse.self, AddUser.self],
            defaultSubcommand: nil)
    }
}

/// Options shared by the commands that print.
struct OutputOptions: ParsableArguments {
    @Flag(name: .long, help: "Print one JSON object per line instead of human text.")
    var json = false

    @Option(name: .long, help: "Log level for the engine's own logs (trace, debug, info, notice, warning, error).")
    var logLevel: String = "warning"

    func bootstrapLogging() {
        let level = Logger.Level(rawValue: logLevel) ?? .warning
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = level
            return h
        }
    }
}

/// Prints a timeline: human text with times relative to the start, or JSON lines.
final class Timeline: @unchecked Sendable {
    let json: Bool
    let start = Date()
    private let lock = NSLock()

    init(json: Bool) { self.json = json }

    func log(_ event: String, _ fields: [String: String] = [:]) {
        let t = Date().timeIntervalSince(start)
        lock.lock()
        defer { lock.unlock() }
        if json {
            var obj: [String: Any] = ["t": (t * 1000).rounded() / 1000, "event": event]
            for (k, v) in fields { obj[k] = v }
            if let d = try? JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys, .withoutEscapingSlashes]) {
                FileHandle.standardOutput.write(d + Data("\n".utf8))
            }
        } else {
            let extra = fields.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            // Unbuffered write(2): lines reach a pipe as they happen (stdio would hold them).
            FileHandle.standardOutput.write(Data((String(format: "%8.3f s  %@%@", t, event, extra.isEmpty ? "" : "  " + extra) + "\n").utf8))
        }
    }
}
