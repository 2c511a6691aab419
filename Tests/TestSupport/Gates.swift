import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing

/// A counting semaphore for async code: `acquire` suspends (it never blocks a thread) until one of
/// the permits is free.
public actor AsyncGate {
    private var free: Int
    private var waiters: [CheckedContinuation<Void, Never>] = []

    public init(permits: Int) { free = max(1, permits) }

    public func acquire() async {
        if free > 0 {
            free -= 1
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    public func release() {
        if waiters.isEmpty {
            free += 1
        } else {
            waiters.removeFirst().resume()
        }
    }

    public func run<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        await acquire()
        do {
            let r = try await body()
            release()
            return r
        } catch {
            release()
            throw error
        }
    }
}

/// Process-wide gates shared by every test target (they all run in one test process).
///
/// Swift Testing starts every test at once on the cooperative pool, which has one thread per core
/// (two in CI). Two kinds of test must not take that pool over:
/// - **real time**: calls over real sockets, external peers (aiortc, Chromium), the CLI binary.
///   They wait for audio and events with generous bounds, but running a dozen of them at once on two
///   cores stretches every one of them; at most `realTimePermits` run together, whatever suite
///   they are in (a suite's own `.serialized` still orders the tests inside it).
/// - **CPU bound**: property and fuzz tests that run a parser millions of times without suspending.
///   They run on threads of their own (`CPUBoundExecutor`, a task executor preference) at the lowest
///   priority, never on the cooperative pool: the pool stays free for the async tests, and the
///   real-time tests' event loops get the CPU first.
public enum TestGates {
    /// 6 by default; `VERTOPHONE_TEST_REALTIME_PERMITS` overrides it (1 runs them one by one).
    public static let realTimePermits = ProcessInfo.processInfo.environment["VERTOPHONE_TEST_REALTIME_PERMITS"].flatMap { Int($0) } ?? 6
    public static let realTime = AsyncGate(permits: realTimePermits)
    public static let cpuBound = AsyncGate(permits: CPUBoundExecutor.shared.count)
    /// `VERTOPHONE_TEST_GATE_LOG=1` prints, per gated test case, how long it waited and ran.
    static let log = ProcessInfo.processInfo.environment["VERTOPHONE_TEST_GATE_LOG"] == "1"
}

/// Applies a gate to each test case (never to a suite as a whole, which would deadlock on its own
/// tests). Put it on a suite and it reaches every test inside.
public struct GateTrait: TestTrait, SuiteTrait, TestScoping {
    let gate: AsyncGate
    public var isRecursive: Bool { true }

    public func scopeProvider(for test: Test, testCase: Test.Case?) -> GateTrait? {
        (test.isSuite || testCase == nil) ? nil : self
    }

    public func provideScope(for test: Test, testCase: Test.Case?,
                             performing function: @Sendable () async throws -> Void) async throws {
        let queued = ContinuousClock.now
        let executor = gate === TestGates.cpuBound ? CPUBoundExecutor.shared.next() : nil
        try await gate.run {
            let started = ContinuousClock.now
            defer {
                if TestGates.log {
                    let ms = { (d: Duration) in d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000 }
                    FileHandle.standardError.write(Data("[gate] \(test.name) waited \(ms(started - queued)) ms, ran \(ms(ContinuousClock.now - started)) ms\n".utf8))
                }
            }
            if let executor {
                try await withTaskExecutorPreference(executor) { try await function() }
            } else {
                try await function()
            }
        }
    }
}

extension Trait where Self == GateTrait {
    /// A test that runs in real time over real sockets or with an external process (see `TestGates`).
    public static var realTime: GateTrait { GateTrait(gate: TestGates.realTime) }
    /// A test that keeps a CPU busy for a long time without suspending (see `TestGates`).
    public static var cpuBound: GateTrait { GateTrait(gate: TestGates.cpuBound) }
}

/// Dedicated threads that run CPU-bound tests as a task executor preference, off the cooperative pool.
public final class CPUBoundExecutor: @unchecked Sendable {
    // @unchecked: `next` is guarded by `lock`; each `ThreadExecutor` guards its own queue.
    public static let shared = CPUBoundExecutor(threads: 2)
    private let executors: [ThreadExecutor]
    private let lock = NSLock()
    private var turn = 0
    public var count: Int { executors.count }

    init(threads: Int) {
        executors = (0..<threads).map { ThreadExecutor(name: "cpu-bound-test-\($0)") }
    }

    func next() -> ThreadExecutor {
        lock.lock()
        defer { lock.unlock() }
        turn += 1
        return executors[turn % executors.count]
    }
}

/// One thread running the jobs given to it, in order.
final class ThreadExecutor: TaskExecutor, @unchecked Sendable {
    // @unchecked: `jobs` is only touched with `condition` locked.
    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []

    init(name: String) {
        let thread = Thread { [unowned self] in self.run() }
        thread.name = name
        thread.start()
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        condition.lock()
        jobs.append(unowned)
        condition.signal()
        condition.unlock()
    }

    private func run() {
        // Lowest priority (nice 19; on Linux the nice value is per thread): a CPU-bound test takes
        // only the CPU the event loops of the real-time tests leave over.
        #if os(Linux)
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 19)
        #endif
        while true {
            condition.lock()
            while jobs.isEmpty { condition.wait() }
            let job = jobs.removeFirst()
            condition.unlock()
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}
