import NIOCore

/// The one timer a shell keeps for a sans-IO core (docs/architecture.md, "The sans-IO contract"):
/// armed for the earliest deadline the core asks for, re-armed only when the core wants an earlier
/// one (firing early is harmless: the core re-checks its deadlines), cancelled when it wants none.
/// Confined to its event loop: every call, and the firing, happen there.
public final class DeadlineTimer {
    private let loop: EventLoop
    private var scheduled: Scheduled<Void>?
    private var deadline: NIODeadline?

    public init(loop: EventLoop) {
        self.loop = loop
    }

    /// Arms for `deadline` (nil: cancels); `fire` runs on the loop when it is reached.
    public func arm(_ deadline: NIODeadline?, fire: @escaping () -> Void) {
        guard let deadline else { return cancel() }
        if let pending = self.deadline, scheduled != nil, pending <= deadline { return }
        scheduled?.cancel()
        self.deadline = deadline
        scheduled = loop.assumeIsolated().scheduleTask(deadline: deadline) { [weak self] in
            self?.scheduled = nil
            self?.deadline = nil
            fire()
        }
    }

    public func cancel() {
        scheduled?.cancel()
        scheduled = nil
        deadline = nil
    }
}
