/// Records an event stream from the moment it is made. Tests wait on it for conditions (bounded),
/// never sleep, and read it to its end (`all()`) to assert an exact sequence.
public actor EventRecorder<Event: Sendable & CustomStringConvertible> {
    public private(set) var events: [Event] = []
    public private(set) var finished = false
    private var waiters: [Int: (predicate: @Sendable ([Event], Bool) -> Bool, continuation: CheckedContinuation<[Event], any Error>)] = [:]
    private var nextID = 0

    /// Starts reading `stream` (take the stream before the events it must see can happen).
    public init(_ stream: AsyncStream<Event>) {
        Task { await self.consume(stream) }
    }

    private func consume(_ stream: AsyncStream<Event>) async {
        for await e in stream {
            events.append(e)
            check()
        }
        finished = true
        check()
    }

    private func check() {
        for (id, w) in waiters where w.predicate(events, finished) {
            waiters[id] = nil
            w.continuation.resume(returning: events)
        }
    }

    private func expire(_ id: Int, _ what: String) {
        waiters.removeValue(forKey: id)?.continuation.resume(throwing: TimedOut(what: "\(what); got \(events.map(\.description))"))
    }

    /// Waits until `predicate(events, finished)` holds; throws `TimedOut` after `timeout`.
    @discardableResult
    public func wait(_ what: String, timeout: Duration = .seconds(20),
                     until predicate: @escaping @Sendable ([Event], Bool) -> Bool) async throws -> [Event] {
        if predicate(events, finished) { return events }
        let id = nextID
        nextID += 1
        return try await withCheckedThrowingContinuation { c in
            waiters[id] = (predicate, c)
            Task {
                try? await Task.sleep(for: timeout)
                self.expire(id, what)
            }
        }
    }

    /// Waits for the `n`-th event matching `match` (counting from the start) and returns it.
    @discardableResult
    public func next(_ what: String, count n: Int = 1, timeout: Duration = .seconds(20),
                     where match: @escaping @Sendable (Event) -> Bool) async throws -> Event {
        let all = try await wait("\(n)× \(what)", timeout: timeout) { es, _ in es.filter(match).count >= n }
        return all.filter(match)[n - 1]
    }

    /// Waits for the stream to end and returns everything it carried.
    public func all(timeout: Duration = .seconds(20)) async throws -> [Event] {
        try await wait("the end of the stream", timeout: timeout) { _, finished in finished }
    }
}

/// The first element of `sequence` that `match` maps to a value, within `timeout`; `TimedOut` when
/// none comes in time or the sequence ends first.
public func first<S: AsyncSequence & Sendable, T: Sendable>(
    in sequence: S, within timeout: Duration = .seconds(20), _ what: String,
    _ match: @escaping @Sendable (S.Element) -> T?
) async throws -> T where S.Element: Sendable {
    try await scan(sequence, from: 0, within: timeout, what) { (_: inout Int, e) in match(e) }
}

/// The `n`-th element of `sequence` that `match` maps to a value, within `timeout`.
public func nth<S: AsyncSequence & Sendable, T: Sendable>(
    _ n: Int, in sequence: S, within timeout: Duration = .seconds(20), _ what: String,
    _ match: @escaping @Sendable (S.Element) -> T?
) async throws -> T where S.Element: Sendable {
    try await scan(sequence, from: 0, within: timeout, what) { (seen: inout Int, e) in
        guard let t = match(e) else { return nil }
        seen += 1
        return seen == n ? t : nil
    }
}

/// Reads `sequence` with a running `state` until `step` yields a value, within `timeout`;
/// `TimedOut` when none comes in time or the sequence ends first.
public func scan<S: AsyncSequence & Sendable, State: Sendable, T: Sendable>(
    _ sequence: S, from initial: State, within timeout: Duration = .seconds(20), _ what: String,
    _ step: @escaping @Sendable (inout State, S.Element) -> T?
) async throws -> T where S.Element: Sendable {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask {
            var state = initial
            for try await e in sequence { if let t = step(&state, e) { return t } }
            return nil
        }
        group.addTask {
            try await Task.sleep(for: timeout)
            throw TimedOut(what: what)
        }
        defer { group.cancelAll() }
        guard let r = try await group.next(), let t = r else { throw TimedOut(what: "\(what) (the stream ended)") }
        return t
    }
}
