import Foundation
import NIOConcurrencyHelpers
import VertoPhone

/// Raises one account's Webitel events in the server role from a `VertoEndpoint`
/// (`ServerCtiEventMapper` does the mapping). It consumes `endpoint.events` (one consumer per
/// stream), and each tracked leg's `MediaSession.events` for its received digits.
public final class ServerCtiEventSource: Sendable {
    public let account: String
    public let events: AsyncStream<CtiEvent>
    private let continuation: AsyncStream<CtiEvent>.Continuation
    private let mapper: NIOLockedValueBox<ServerCtiEventMapper>
    private let handler = NIOLockedValueBox<WeakHandler>(WeakHandler())
    private let tasks = NIOLockedValueBox<[Task<Void, Never>]>([])

    private struct WeakHandler: @unchecked Sendable {
        weak var value: (any CtiEventHandler)?
    }

    public init(endpoint: VertoEndpoint, account: String) {
        self.account = account
        mapper = NIOLockedValueBox(ServerCtiEventMapper(account: account))
        (events, continuation) = AsyncStream.makeStream(of: CtiEvent.self, bufferingPolicy: .bufferingNewest(1000))
        let stream = endpoint.events
        let task = Task { [weak self] in
            for await e in stream {
                guard let self else { return }
                self.feed(e)
            }
            self?.continuation.finish()
        }
        tasks.withLockedValue { $0.append(task) }
    }

    /// Sets (or clears) a delegate that receives every event too (weakly held).
    public func setDelegate(_ handler: (any CtiEventHandler)?) {
        self.handler.withLockedValue { $0.value = handler }
    }

    /// Stops listening and ends `events`.
    public func cancel() {
        tasks.withLockedValue { $0.forEach { $0.cancel() } }
        continuation.finish()
    }

    private func feed(_ e: VertoEndpointEvent) {
        let out = mapper.withLockedValue { m -> [CtiEvent] in
            let out = m.map(e)
            for case .newWebRTCCall(let call, let media) in out { watchDigits(media, callID: call.uuid) }
            // Yielded under the lock, so the stream's order is the mapping order.
            out.forEach { continuation.yield($0) }
            return out
        }
        notify(out)
    }

    private func notify(_ out: [CtiEvent]) {
        guard let h = handler.withLockedValue({ $0.value }) else { return }
        out.forEach { h.handle($0) }
    }

    private func watchDigits(_ media: MediaSession, callID: String) {
        let task = Task { [weak self] in
            for await e in media.events {
                guard case .dtmf(let d) = e, let self else { continue }
                let out = self.mapper.withLockedValue { m -> [CtiEvent] in
                    let out = m.digits(d, callID: callID)
                    out.forEach { self.continuation.yield($0) }
                    return out
                }
                self.notify(out)
            }
        }
        tasks.withLockedValue { $0.append(task) }
    }
}
