import NIOConcurrencyHelpers
import NIOCore

/// One source's events for any number of consumers. Each `stream()` is a consumer of its own: it
/// first receives the events since the hub began (the latest `historyLimit` of them), then every new
/// one, in order; a live consumer's buffer is unbounded, so nothing is dropped for it. A finished hub
/// gives new consumers its history and then ends them.
package final class EventHub<Element: Sendable>: Sendable {
    private struct State {
        var history = CircularBuffer<Element>()
        var consumers: [Int: AsyncStream<Element>.Continuation] = [:]
        var nextID = 0
        var finished = false
    }

    private let state = NIOLockedValueBox(State())
    private let historyLimit: Int

    package init(historyLimit: Int) {
        self.historyLimit = historyLimit
    }

    /// A new consumer: the history, then every new event (`replayingHistory` false: only the new ones).
    package func stream(replayingHistory: Bool = true) -> AsyncStream<Element> {
        let (stream, continuation) = AsyncStream.makeStream(of: Element.self, bufferingPolicy: .unbounded)
        let id: Int? = state.withLockedValue { s in
            // Under the lock, so no event can slip between the history and the live ones.
            if replayingHistory { for e in s.history { continuation.yield(e) } }
            guard !s.finished else { return nil }
            s.nextID += 1
            s.consumers[s.nextID] = continuation
            return s.nextID
        }
        guard let id else {
            continuation.finish()
            return stream
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLockedValue { $0.consumers.removeValue(forKey: id) }
        }
        return stream
    }

    package func yield(_ e: Element) {
        state.withLockedValue { s in
            guard !s.finished else { return }
            if historyLimit > 0 {
                if s.history.count >= historyLimit { s.history.removeFirst() }
                s.history.append(e)
            }
            for c in s.consumers.values { c.yield(e) }
        }
    }

    package func finish() {
        let consumers = state.withLockedValue { s -> [AsyncStream<Element>.Continuation] in
            guard !s.finished else { return [] }
            s.finished = true
            defer { s.consumers = [:] }
            return Array(s.consumers.values)
        }
        consumers.forEach { $0.finish() }
    }

    /// Consumers now reading.
    package var consumerCount: Int { state.withLockedValue { $0.consumers.count } }
}
