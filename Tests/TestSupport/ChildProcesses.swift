import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Every process a test starts goes through here, so that none outlives its test or the test
/// process: `stop` terminates and reaps one (SIGTERM, then SIGKILL after a grace period), and
/// at exit the test process kills whatever is still running.
public enum ChildProcesses {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var running: [Int32] = []
    nonisolated(unsafe) private static var installed = false

    /// Starts `process` and remembers it.
    public static func start(_ process: Process) throws {
        try process.run()
        lock.lock()
        defer { lock.unlock() }
        running.append(process.processIdentifier)
        if !installed {
            installed = true
            atexit {
                ChildProcesses.killAll()
            }
        }
    }

    /// Up to `exitWithin` for the process to leave on its own, then SIGTERM, up to `grace` more,
    /// then SIGKILL; waits until it is reaped. Safe to call more than once and from any context (it
    /// blocks a thread of its own, never the cooperative pool).
    public static func stop(_ process: Process, exitWithin: Duration = .zero, grace: Duration = .seconds(3)) async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            Thread.detachNewThread {
                stopBlocking(process, exitWithin: exitWithin, grace: grace)
                c.resume()
            }
        }
    }

    /// The blocking form of `stop`, for deinitializers and threads of their own.
    public static func stopBlocking(_ process: Process, exitWithin: Duration = .zero, grace: Duration = .seconds(3)) {
        let pid = process.processIdentifier
        let politeDeadline = ContinuousClock.now + exitWithin
        while process.isRunning && ContinuousClock.now < politeDeadline { usleep(10_000) }
        if process.isRunning {
            process.terminate()
            let deadline = ContinuousClock.now + grace
            while process.isRunning && ContinuousClock.now < deadline { usleep(10_000) }
            if process.isRunning { kill(pid, SIGKILL) }
        }
        process.waitUntilExit()
        lock.lock()
        running.removeAll { $0 == pid }
        lock.unlock()
    }

    private static func killAll() {
        lock.lock()
        let pids = running
        lock.unlock()
        for pid in pids { kill(pid, SIGKILL) }
    }
}

