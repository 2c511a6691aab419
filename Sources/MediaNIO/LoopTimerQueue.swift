import NIOConcurrencyHelpers
import NIOCore

/// Every `DeadlineTimer` of one event loop, in one min-heap behind one NIO scheduled callback.
///
/// Why not one NIO scheduled callback per timer: NIO runs scheduled work in a loop that re-reads
/// the clock and keeps going while anything is due, and only then polls sockets. A loop with a few
/// hundred calls has a few hundred 20 ms clocks (send clock, playout); once they need more than
/// real time (overload), some clock is always due again and the loop never reaches its sockets:
/// no datagram, no hangup, no login is read until the load stops, so the load never stops. Here
/// the timers due when a round starts fire in that round; a timer armed during the round waits for
/// the next one, and when the next round is already due it is put `minimumGap` later, so the loop
/// polls its sockets between any two rounds. When the loop keeps up, a timer fires at its deadline
/// as before (at most `minimumGap` late when rounds run back to back).
///
/// Re-arming and cancelling are O(log n) (an indexed binary heap; NIO's own cancel searches its
/// heap linearly) and allocate nothing once the heap has grown.
final class LoopTimerQueue {
    /// How long after a round that ran past the next deadline the next round starts at the
    /// earliest: time for the loop to poll its sockets.
    static let minimumGap = TimeAmount.milliseconds(1)

    private let loop: EventLoop
    private var heap: [DeadlineTimer] = []
    private var firing: [DeadlineTimer] = []
    /// The NIO callback that runs the next round, its time and its generation.
    private var scheduled: NIOScheduledCallback?
    private var scheduledAt: NIODeadline?
    private var generation = 0
    /// Triggers not scheduled now (each scheduling takes one: nothing is allocated per round).
    private var spareTriggers: [RoundTrigger] = []
    private var inRound = false

    private init(loop: EventLoop) {
        self.loop = loop
    }

    private struct Entry: Sendable {
        weak var loop: (any EventLoop)?
        let queue: NIOLoopBound<LoopTimerQueue>
    }
    private static let queues = NIOLockedValueBox<[ObjectIdentifier: Entry]>([:])

    /// The queue of `loop`; called on that loop.
    static func of(_ loop: EventLoop) -> LoopTimerQueue {
        let key = ObjectIdentifier(loop)
        return queues.withLockedValue { queues in
            if let e = queues[key], e.loop === loop { return e.queue.value }
            // A loop seen for the first time: forget the queues of loops that are gone.
            queues = queues.filter { $0.value.loop != nil }
            let q = LoopTimerQueue(loop: loop)
            queues[key] = Entry(loop: loop, queue: NIOLoopBound(q, eventLoop: loop))
            return q
        }
    }

    // MARK: - Arming

    func arm(_ timer: DeadlineTimer, at deadline: NIODeadline) {
        if let i = timer.heapIndex {
            let old = heap[i].deadline!
            timer.deadline = deadline
            if deadline < old { siftUp(i) } else { siftDown(i) }
        } else {
            timer.deadline = deadline
            timer.heapIndex = heap.count
            heap.append(timer)
            siftUp(heap.count - 1)
        }
        if !inRound { scheduleRound(gap: false) }
    }

    func cancel(_ timer: DeadlineTimer) {
        timer.deadline = nil
        timer.firesInRound = false
        guard let i = timer.heapIndex else { return }
        timer.heapIndex = nil
        let last = heap.count - 1
        if i != last {
            heap[i] = heap[last]
            heap[i].heapIndex = i
            heap.removeLast()
            siftDown(i)
            siftUp(i)
        } else {
            heap.removeLast()
        }
        // An earlier round than needed is harmless (it fires nothing); no NIO cancel per timer.
    }

    // MARK: - Rounds

    private func scheduleRound(gap: Bool) {
        guard var at = heap.first?.deadline else { return }
        if gap {
            let earliest = loop.now + Self.minimumGap
            if at < earliest { at = earliest }
        }
        if scheduled != nil, let s = scheduledAt, s <= at { return }
        // A cancel can come too late: when the callback is already taken out for this tick, NIO
        // runs it anyway. Each scheduling has a generation, and a callback of an older one is
        // ignored (`triggerFired`), so no stray callback keeps scheduling rounds.
        if let s = scheduled { loop.assumeIsolated().cancelScheduledCallback(s) }
        generation &+= 1
        let trigger = spareTriggers.popLast() ?? RoundTrigger(queue: self)
        trigger.generation = generation
        scheduledAt = at
        do {
            scheduled = try loop.assumeIsolated().scheduleCallback(at: at, handler: trigger)
        } catch {
            // Only when the loop is shutting down: then nothing is left to time.
            scheduled = nil
            spareTriggers.append(trigger)
        }
    }

    fileprivate func triggerCancelled(_ trigger: RoundTrigger) {
        spareTriggers.append(trigger)
    }

    fileprivate func triggerFired(_ trigger: RoundTrigger) {
        spareTriggers.append(trigger)
        guard trigger.generation == generation, scheduled != nil else { return }
        scheduled = nil
        scheduledAt = nil
        let now = loop.now
        while let top = heap.first, top.deadline! <= now {
            firing.append(popMin())
        }
        inRound = true
        for t in firing where t.firesInRound {
            t.firesInRound = false
            t.fire()
        }
        firing.removeAll(keepingCapacity: true)
        inRound = false
        scheduleRound(gap: true)
    }

    // MARK: - Heap

    private func popMin() -> DeadlineTimer {
        let top = heap[0]
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            last.heapIndex = 0
            siftDown(0)
        }
        top.heapIndex = nil
        top.deadline = nil
        top.firesInRound = true
        return top
    }

    private func siftUp(_ start: Int) {
        var i = start
        let t = heap[i]
        let d = t.deadline!
        while i > 0 {
            let parent = (i - 1) / 2
            guard d < heap[parent].deadline! else { break }
            heap[i] = heap[parent]
            heap[i].heapIndex = i
            i = parent
        }
        heap[i] = t
        t.heapIndex = i
    }

    private func siftDown(_ start: Int) {
        var i = start
        let t = heap[i]
        let d = t.deadline!
        let n = heap.count
        while true {
            let l = 2 * i + 1
            guard l < n else { break }
            let r = l + 1
            let c = r < n && heap[r].deadline! < heap[l].deadline! ? r : l
            guard heap[c].deadline! < d else { break }
            heap[i] = heap[c]
            heap[i].heapIndex = i
            i = c
        }
        heap[i] = t
        t.heapIndex = i
    }
}

/// What NIO calls back for one scheduled round of a `LoopTimerQueue`.
private final class RoundTrigger: NIOScheduledCallbackHandler {
    weak var queue: LoopTimerQueue?
    var generation = 0

    init(queue: LoopTimerQueue) { self.queue = queue }

    func handleScheduledCallback(eventLoop: some EventLoop) { queue?.triggerFired(self) }
    func didCancelScheduledCallback(eventLoop: some EventLoop) { queue?.triggerCancelled(self) }
}
