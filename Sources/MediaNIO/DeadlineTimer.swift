import NIOCore

/// The one timer a shell keeps for a sans-IO core (docs/architecture.md, "The sans-IO contract"):
/// armed for the earliest deadline the core asks for, re-armed only when the core wants an earlier
/// one (firing early is harmless: the core re-checks its deadlines), cancelled when it wants none.
/// Confined to its event loop: every call, and the firing, happen there.
///
/// It uses NIO's scheduled callbacks with itself as the handler and an action given once, so
/// re-arming allocates nothing (no task, promise or closure per deadline): a media shell re-arms
/// for every 20 ms frame.
public final class DeadlineTimer: NIOScheduledCallbackHandler {
    private let loop: EventLoop
    private var scheduled: NIOScheduledCallback?
    private var deadline: NIODeadline?
    private var action: (() -> Void)?

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
        if let pending = self.deadline, scheduled != nil, pending <= deadline { return }
        if let s = scheduled { loop.assumeIsolated().cancelScheduledCallback(s) }
        self.deadline = deadline
        // Throws only when the loop is shutting down: then nothing is left to time.
        scheduled = try? loop.assumeIsolated().scheduleCallback(at: deadline, handler: self)
    }

    public func cancel() {
        if let s = scheduled { loop.assumeIsolated().cancelScheduledCallback(s) }
        scheduled = nil
        deadline = nil
    }

    public func handleScheduledCallback(eventLoop: some EventLoop) {
        scheduled = nil
        deadline = nil
        action?()
    }

    public func didCancelScheduledCallback(eventLoop: some EventLoop) {}
}
