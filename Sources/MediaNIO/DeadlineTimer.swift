import NIOCore

/// The one timer a shell keeps for a sans-IO core (docs/architecture.md, "The sans-IO contract"):
/// armed for the earliest deadline the core asks for, re-armed only when the core wants an earlier
/// one (firing early is harmless: the core re-checks its deadlines), cancelled when it wants none.
/// Confined to its event loop: every call, and the firing, happen there.
///
/// All timers of a loop share one `LoopTimerQueue` (one NIO scheduled callback and a heap), which
/// keeps the loop polling its sockets between rounds of timers even when they need more than real
/// time. Re-arming allocates nothing (no task, promise or closure per deadline): a media shell
/// re-arms for every 20 ms frame.
public final class DeadlineTimer {
    private let loop: EventLoop
    private var queue: LoopTimerQueue?
    private var action: (() -> Void)?
    /// Kept by the queue: the deadline armed, the place in its heap, and whether a round that has
    /// taken this timer out of the heap is still to fire it (a cancel in that round clears it).
    var deadline: NIODeadline?
    var heapIndex: Int?
    var firesInRound = false

    public init(loop: EventLoop) {
        self.loop = loop
    }

    /// A timer whose every firing runs `action` (use `arm(_:)`).
    public init(loop: EventLoop, action: @escaping () -> Void) {
        self.loop = loop
        self.action = action
    }

    /// Arms for `deadline` (nil: cancels); `fire` runs on the loop when it is reached (and from
    /// then on, for `arm(_:)` too).
    public func arm(_ deadline: NIODeadline?, fire: @escaping () -> Void) {
        action = fire
        arm(deadline)
    }

    /// Arms for `deadline` (nil: cancels) with the action already given.
    public func arm(_ deadline: NIODeadline?) {
        guard let deadline else { return cancel() }
        if let pending = self.deadline, pending <= deadline { return }
        if queue == nil { queue = LoopTimerQueue.of(loop) }
        queue!.arm(self, at: deadline)
    }

    public func cancel() {
        queue?.cancel(self)
    }

    func fire() {
        action?()
    }
}
