import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A real coturn (Debian's `coturn`) on loopback for the test that needs it, started with
/// `scripts/coturn` in a temporary folder and stopped by `stop()` (or when the value goes away).
/// Two instances: long-term credentials (`user`/`password`) and the TURN REST API (`secret`),
/// each with UDP+TCP on one port and TLS on another; `certificatePEM` is its self-signed certificate.
public final class Coturn: @unchecked Sendable {
    // @unchecked: immutable after init except `stopped`, which is guarded by `lock`.
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public let values: [String: String]
    private let state: URL
    private let lock = NSLock()
    private var stopped = false

    public var host: String { values["TURN_HOST"] ?? "127.0.0.1" }
    public var host6: String? { values["TURN_HOST6"].flatMap { $0.isEmpty ? nil : $0 } }
    public var port: Int { Int(values["TURN_PORT"] ?? "") ?? 0 }
    public var tlsPort: Int { Int(values["TURN_TLS_PORT"] ?? "") ?? 0 }
    public var restPort: Int { Int(values["TURN_REST_PORT"] ?? "") ?? 0 }
    public var restTLSPort: Int { Int(values["TURN_REST_TLS_PORT"] ?? "") ?? 0 }
    public var user: String { values["TURN_USER"] ?? "" }
    public var password: String { values["TURN_PASSWORD"] ?? "" }
    public var secret: String { values["TURN_SECRET"] ?? "" }
    public var certificatePEM: String { (try? String(contentsOfFile: values["TURN_CERT"] ?? "", encoding: .utf8)) ?? "" }
    /// Everything both instances logged so far.
    public var log: String {
        [values["TURN_LOG"], values["TURN_REST_LOG"]].compactMap { $0 }
            .compactMap { try? String(contentsOfFile: $0, encoding: .utf8) }.joined(separator: "\n")
    }

    /// Starts both instances (listening on 127.0.0.1, and ::1 where the host has it, plus
    /// `extraListen` addresses). Runs the script off the cooperative pool.
    public static func start(extraArguments: [String] = [], environment: [String: String] = [:]) async throws -> Coturn {
        // The script picks free ports and then starts coturn on them; another test starting its own
        // coturn at the same moment can take one in between. That is the harness, not the engine:
        // start again (with fresh ports), at most three times.
        var failure: Error?
        for _ in 0..<3 {
            do { return try await startOnce(extraArguments: extraArguments, environment: environment) } catch { failure = error }
        }
        throw failure!
    }

    private static func startOnce(extraArguments: [String], environment: [String: String]) async throws -> Coturn {
        let state = FileManager.default.temporaryDirectory.appendingPathComponent("vp-coturn-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: state, withIntermediateDirectories: true)
        let script = Fixtures.root.deletingLastPathComponent().appendingPathComponent("scripts/coturn").path
        let out = state.appendingPathComponent("start.out").path, err = state.appendingPathComponent("start.err").path
        let env = environment.map { "\($0.key)='\($0.value)' " }.joined()
        let command = "\(env)'\(script)' start '\(state.path)' both \(extraArguments.joined(separator: " ")) >'\(out)' 2>'\(err)' </dev/null"
        let status = await Shell.runDetached(command)
        let stdout = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
        guard status == 0 else {
            Shell.run("'\(script)' stop '\(state.path)' >/dev/null 2>&1 </dev/null")
            let stderr = (try? String(contentsOfFile: err, encoding: .utf8)) ?? ""
            throw Failure(description: "scripts/coturn start failed (\(status)): \(stdout)\(stderr)")
        }
        var values: [String: String] = [:]
        for line in stdout.split(separator: "\n") {
            guard let eq = line.firstIndex(of: "=") else { continue }
            values[String(line[..<eq])] = String(line[line.index(after: eq)...])
        }
        return Coturn(values: values, state: state)
    }

    private init(values: [String: String], state: URL) {
        self.values = values
        self.state = state
    }

    public func stop() {
        let run: Bool = lock.withLock {
            defer { stopped = true }
            return !stopped
        }
        guard run else { return }
        let script = Fixtures.root.deletingLastPathComponent().appendingPathComponent("scripts/coturn").path
        Shell.run("'\(script)' stop '\(state.path)' >/dev/null 2>&1 </dev/null")
        try? FileManager.default.removeItem(at: state)
    }

    deinit { stop() }
}
