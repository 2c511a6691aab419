import Foundation

/// Runs one of our Python interop harnesses (tools/interop/*.py) in the project's venv and talks to
/// it in JSON lines over stdin/stdout. The venv is made by scripts/test (scripts/bootstrap.sh).
public final class PythonPeer: @unchecked Sendable {
    public enum Failure: Error, CustomStringConvertible {
        case noPython(String)
        case exited(String)
        case badReply(String)
        public var description: String {
            switch self {
            case .noPython(let s): return "no Python venv with the interop peers: \(s) (run scripts/test, which creates .venv)"
            case .exited(let s): return "the Python peer exited: \(s)"
            case .badReply(let s): return "the Python peer sent an unexpected reply: \(s)"
            }
        }
    }

    private let process = Process()
    private let stdin = Pipe()
    private let stdout = Pipe()
    private let stderr = Pipe()
    private var buffer = Data()
    private let lock = NSLock()

    public static var pythonPath: String {
        if let p = ProcessInfo.processInfo.environment["VERTOPHONE_PYTHON"], !p.isEmpty { return p }
        return Fixtures.root.deletingLastPathComponent().appendingPathComponent(".venv/bin/python").path
    }

    public static func script(_ name: String) -> String {
        Fixtures.root.deletingLastPathComponent().appendingPathComponent("tools/interop/\(name)").path
    }

    /// Starts `tools/interop/<script>` with `arguments`.
    public init(script: String, arguments: [String]) throws {
        let python = PythonPeer.pythonPath
        guard FileManager.default.isExecutableFile(atPath: python) else { throw Failure.noPython(python) }
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-u", PythonPeer.script(script)] + arguments
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        try ChildProcesses.start(process)
    }

    deinit {
        ChildProcesses.stopBlocking(process, grace: .milliseconds(500))
    }

    /// Sends one command and waits (off the cooperative pool) for its one-line reply.
    public func call(_ command: [String: Any]) async throws -> [String: Any] {
        let data = try JSONSerialization.data(withJSONObject: command) + Data("\n".utf8)
        stdin.fileHandleForWriting.write(data)
        let line = try await readLine()
        guard let obj = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            throw Failure.badReply(line)
        }
        if let e = obj["error"] as? String { throw Failure.badReply(e) }
        return obj
    }

    /// Reads one unsolicited JSON line (e.g. a harness's `{"listening": port}` banner).
    public func next() async throws -> [String: Any] {
        let line = try await readLine()
        guard let obj = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            throw Failure.badReply(line)
        }
        return obj
    }

    /// Waits for the process to exit and returns its status and standard output (for one-shot scripts).
    public func finish() async -> (status: Int32, output: String) {
        stdin.fileHandleForWriting.closeFile()
        return await withCheckedContinuation { c in
            Thread.detachNewThread { [self] in
                let out = stdout.fileHandleForReading.readDataToEndOfFile()
                process.waitUntilExit()
                c.resume(returning: (process.terminationStatus, String(decoding: buffer + out, as: UTF8.self)))
            }
        }
    }

    private func readLine() async throws -> String {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<String, Error>) in
            Thread.detachNewThread { [self] in
                lock.lock()
                defer { lock.unlock() }
                while true {
                    if let nl = buffer.firstIndex(of: 0x0A) {
                        let line = String(decoding: buffer[buffer.startIndex..<nl], as: UTF8.self)
                        buffer.removeSubrange(buffer.startIndex...nl)
                        c.resume(returning: line)
                        return
                    }
                    let chunk = stdout.fileHandleForReading.availableData
                    if chunk.isEmpty {
                        let err = String(decoding: stderr.fileHandleForReading.availableData.suffix(2000), as: UTF8.self)
                        c.resume(throwing: Failure.exited(err))
                        return
                    }
                    buffer.append(chunk)
                }
            }
        }
    }

    /// Asks the peer to close and waits for it to exit (stopping it if it does not within 10 s).
    public func close() async {
        _ = try? await call(["op": "close"])
        stdin.fileHandleForWriting.closeFile()
        await ChildProcesses.stop(process, exitWithin: .seconds(10))
    }
}
