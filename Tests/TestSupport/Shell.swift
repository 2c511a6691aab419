import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Shell lines for the helpers that start servers in the background (coturn, PulseAudio) or work
/// on network namespaces. system(3), not Foundation's Process: a script that leaves a server running
/// in the background was never reaped by Process here (its isRunning stayed true).
public enum Shell {
    /// Runs `line` with /bin/sh and returns its exit status (-1 when the shell could not run).
    @discardableResult
    public static func run(_ line: String) -> Int32 {
        let raw = system(line)
        return raw == -1 ? -1 : (raw >> 8) & 0xFF
    }

    /// The same on a thread of its own, so the cooperative pool is never blocked.
    public static func runDetached(_ line: String) async -> Int32 {
        await withCheckedContinuation { c in Thread.detachNewThread { c.resume(returning: run(line)) } }
    }
}
