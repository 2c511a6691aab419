import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A throwaway PulseAudio server with no sound card (`scripts/pulseaudio`): null sinks `vp_speaker`
/// (default output) and `vp_mic` (its monitor `vp_mic.monitor` is the default input). Play into
/// `vp_mic` to speak into a phone's microphone; record `vp_speaker.monitor` to hear its loudspeaker.
public final class PulseAudioServer: @unchecked Sendable {
    // @unchecked: immutable after init except `stopped`, guarded by `lock`.
    public struct Failure: Error, CustomStringConvertible { public var description: String }

    /// The value for PULSE_SERVER, or a client's `server` argument.
    public let address: String
    private let state: URL
    private let lock = NSLock()
    private var stopped = false

    private static var script: String { Fixtures.root.deletingLastPathComponent().appendingPathComponent("scripts/pulseaudio").path }

    public static func start() async throws -> PulseAudioServer {
        let state = FileManager.default.temporaryDirectory.appendingPathComponent("vp-pulse-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: state, withIntermediateDirectories: true)
        let out = state.appendingPathComponent("start.txt").path
        let command = "'\(script)' start '\(state.path)' >'\(out)' 2>&1 </dev/null"
        let status = await Shell.runDetached(command)
        let text = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
        guard status == 0, let line = text.split(separator: "\n").first(where: { $0.hasPrefix("PULSE_SERVER=") }) else {
            throw Failure(description: "scripts/pulseaudio start failed: \(text)")
        }
        return PulseAudioServer(address: String(line.dropFirst("PULSE_SERVER=".count)), state: state)
    }

    private init(address: String, state: URL) {
        self.address = address
        self.state = state
    }

    /// Runs `pactl` against this server (e.g. to unload a sink mid-call); returns its exit status.
    @discardableResult
    public func pactl(_ arguments: String) -> Int32 {
        Shell.run("PULSE_SERVER='\(address)' pactl \(arguments) >/dev/null 2>&1 </dev/null")
    }

    public func stop() {
        let go: Bool = lock.withLock {
            defer { stopped = true }
            return !stopped
        }
        guard go else { return }
        Shell.run("'\(Self.script)' stop '\(state.path)' >/dev/null 2>&1 </dev/null")
        try? FileManager.default.removeItem(at: state)
    }

    deinit { stop() }
}
