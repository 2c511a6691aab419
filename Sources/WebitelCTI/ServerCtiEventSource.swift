import Foundation
import NIOConcurrencyHelpers
import VertoPhone

/// Raises the Webitel events of some accounts in the server role from a `VertoEndpoint`
/// (`ServerCtiEventMapper` does the mapping, one per account). It reads the endpoint's events from
/// its own start on (earlier calls are not raised) and each tracked leg's `MediaSession.events` for
/// received digits, each as a consumer of its own: the application keeps reading them too.
public final class ServerCtiEventSource: Sendable {
    public let accounts: [String]
    private let feeds: [String: Feed]
    private let tasks = NIOLockedValueBox<[Task<Void, Never>]>([])

    private final class Feed: Sendable {
        let hub = EventHub<CtiEvent>(historyLimit: 1000)
        let mapper: NIOLockedValueBox<ServerCtiEventMapper>
        let handler = NIOLockedValueBox<WeakHandler>(WeakHandler())

        init(account: String) {
            mapper = NIOLockedValueBox(ServerCtiEventMapper(account: account))
        }

        /// Maps under the lock and yields there, so the stream's order is the mapping order.
        func run(_ body: (inout ServerCtiEventMapper) -> [CtiEvent]) -> [CtiEvent] {
            let out = mapper.withLockedValue { m -> [CtiEvent] in
                let out = body(&m)
                out.forEach { hub.yield($0) }
                return out
            }
            if !out.isEmpty, let h = handler.withLockedValue({ $0.value }) { out.forEach { h.handle($0) } }
            return out
        }
    }

    private struct WeakHandler: Sendable {
        weak var value: (any CtiEventHandler)?
    }

    /// Tracks `accounts` (directory ids) from now on.
    public init(endpoint: VertoEndpoint, accounts: [String]) {
        self.accounts = accounts
        var feeds: [String: Feed] = [:]
        for a in accounts { feeds[a] = Feed(account: a) }
        self.feeds = feeds
        let stream = endpoint.eventsFromNow
        let task = Task { [weak self] in
            for await e in stream {
                guard let self else { return }
                self.feed(e)
            }
            self?.finish()
        }
        tasks.withLockedValue { $0.append(task) }
    }

    public convenience init(endpoint: VertoEndpoint, account: String) {
        self.init(endpoint: endpoint, accounts: [account])
    }

    /// The events of `account`. Each call is a consumer of its own that receives the account's
    /// events since the source began (the latest 1,000), then the new ones; none is dropped. An
    /// untracked account's stream is empty and finished.
    public func events(for account: String) -> AsyncStream<CtiEvent> {
        if let f = feeds[account] { return f.hub.stream() }
        return AsyncStream { $0.finish() }
    }

    /// The events of the first account.
    public var events: AsyncStream<CtiEvent> { events(for: accounts.first ?? "") }

    /// Sets (or clears) a delegate for `account`'s events (weakly held).
    public func setDelegate(_ handler: (any CtiEventHandler)?, for account: String) {
        feeds[account]?.handler.withLockedValue { $0.value = handler }
    }

    /// Stops listening and ends every stream.
    public func cancel() {
        tasks.withLockedValue { $0.forEach { $0.cancel() } }
        finish()
    }

    private func finish() {
        feeds.values.forEach { $0.hub.finish() }
    }

    private func feed(_ e: VertoEndpointEvent) {
        for (account, f) in feeds {
            let out = f.run { $0.map(e) }
            for case .newWebRTCCall(let call, let media) in out { watchDigits(media, callID: call.uuid, account: account) }
        }
    }

    private func watchDigits(_ media: MediaSession, callID: String, account: String) {
        guard let f = feeds[account] else { return }
        let task = Task {
            for await e in media.events {
                guard case .dtmf(let d) = e else { continue }
                _ = f.run { $0.digits(d, callID: callID) }
            }
        }
        tasks.withLockedValue { $0.append(task) }
    }
}
