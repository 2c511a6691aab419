import Foundation
import NIOCore
import Testing
import VertoCore
import VertoPhone
@testable import WebitelCTI

struct TestTimeout: Error, CustomStringConvertible {
    let what: String
    var description: String { "timed out waiting for \(what)" }
}

/// Our server on an ephemeral loopback port with the demo users (1000–1002) and the test routes.
func startEndpoint(detachTimeout: TimeAmount? = nil) async throws -> VertoEndpoint {
    var config = VertoEndpointConfiguration(users: .demo())
    config.port = 0
    if let detachTimeout { config.verto.detachTimeout = detachTimeout }
    return try await VertoEndpoint.start(configuration: config)
}

func settings(_ endpoint: VertoEndpoint, user: String, sessid: String? = nil) -> WebitelConnectionSettings {
    var s = WebitelConnectionSettings(webitelWebrtcConnectionString: "ws://127.0.0.1:\(endpoint.port)/", domain: "127.0.0.1",
                                      login: user, password: "verto-test")
    s.callerIDName = "User \(user)"
    s.mediaHost = "127.0.0.1"
    s.connectTimeout = .seconds(15)
    s.sessid = sessid
    return s
}

/// A connected provider for `user` with its event log.
func provider(_ endpoint: VertoEndpoint, user: String) async throws -> (WebitelCtiProvider, EventLog) {
    let p = WebitelCtiProvider(configuration: settings(endpoint, user: user))
    let log = EventLog(p.events)
    try await p.connect()
    return (p, log)
}

/// Records a CTI event stream; tests wait on it for conditions (bounded), never sleep.
actor EventLog {
    private(set) var events: [CtiEvent] = []
    private(set) var finished = false
    private var waiters: [Int: (predicate: @Sendable ([CtiEvent], Bool) -> Bool, continuation: CheckedContinuation<[CtiEvent], Error>)] = [:]
    private var nextID = 0
    private var task: Task<Void, Never>?

    init(_ stream: AsyncStream<CtiEvent>) {
        Task { await self.start(stream) }
    }

    private func start(_ stream: AsyncStream<CtiEvent>) {
        task = Task {
            for await e in stream { self.append(e) }
            self.finish()
        }
    }

    private func append(_ e: CtiEvent) {
        events.append(e)
        check()
    }

    private func finish() {
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
        waiters.removeValue(forKey: id)?.continuation.resume(throwing: TestTimeout(what: "\(what); got \(events.map(\.description))"))
    }

    /// Waits until `predicate(events, finished)` holds; throws after `timeout`.
    func wait(_ what: String, timeout: Duration = .seconds(20),
              until predicate: @escaping @Sendable ([CtiEvent], Bool) -> Bool) async throws -> [CtiEvent] {
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

    /// Waits for the `n`-th event of `kind` (counting from the start) and returns it.
    @discardableResult
    func next(_ kind: CtiEventKind, count n: Int = 1, timeout: Duration = .seconds(20)) async throws -> CtiEvent {
        let all = try await wait("\(n)× \(kind.rawValue)", timeout: timeout) { es, _ in es.filter { $0.kind == kind }.count >= n }
        return all.filter { $0.kind == kind }[n - 1]
    }

    /// Waits for the stream to end (the provider closed) and returns everything it carried.
    func all(timeout: Duration = .seconds(20)) async throws -> [CtiEvent] {
        try await wait("the end of the stream", timeout: timeout) { _, finished in finished }
    }

    var kinds: [CtiEventKind] { events.map(\.kind) }
}

extension Array where Element == CtiEvent {
    var kinds: [CtiEventKind] { map(\.kind) }
}

/// The `count`-th endpoint event matching `match`, counting from the endpoint's start (every read of
/// `endpoint.events` begins with the events so far), waiting for it if it has not happened yet.
func nextEndpointEvent<T: Sendable>(_ endpoint: VertoEndpoint, count: Int = 1, timeout: Duration = .seconds(20),
                                    _ match: @escaping @Sendable (VertoEndpointEvent) -> T?) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask {
            var seen = 0
            for await e in endpoint.events {
                guard let t = match(e) else { continue }
                seen += 1
                if seen == count { return t }
            }
            return nil
        }
        group.addTask {
            try await Task.sleep(for: timeout)
            throw TestTimeout(what: "endpoint event")
        }
        defer { group.cancelAll() }
        guard let r = try await group.next(), let t = r else { throw TestTimeout(what: "endpoint event (closed)") }
        return t
    }
}

/// The digits the server received on a call, once there are at least `count` (however the client
/// split them into messages).
func digitsAtServer(_ endpoint: VertoEndpoint, callID: String, count: Int, timeout: Duration = .seconds(20)) async throws -> String {
    try await withThrowingTaskGroup(of: String?.self) { group in
        group.addTask {
            var digits = ""
            for await e in endpoint.events {
                if case .dtmf(let c, let d) = e, c == callID { digits += d }
                if digits.count >= count { return digits }
            }
            return nil
        }
        group.addTask {
            try await Task.sleep(for: timeout)
            throw TestTimeout(what: "\(count) digits at the server")
        }
        defer { group.cancelAll() }
        guard let r = try await group.next(), let t = r else { throw TestTimeout(what: "digits (closed)") }
        return t
    }
}

/// Waits for the `count`-th engine event of a client matching `match`, counting from the client's
/// start (the provider leaves `client.events` to the app; every read begins with the events so far).
func nextClientEvent(_ client: VertoClient, count: Int = 1, timeout: Duration = .seconds(20),
                     _ match: @escaping @Sendable (VertoClientEngineEvent) -> Bool) async throws {
    try await withThrowingTaskGroup(of: Bool.self) { group in
        group.addTask {
            var seen = 0
            for await e in client.events where match(e) {
                seen += 1
                if seen == count { return true }
            }
            return false
        }
        group.addTask {
            try await Task.sleep(for: timeout)
            throw TestTimeout(what: "client event")
        }
        defer { group.cancelAll() }
        guard try await group.next() == true else { throw TestTimeout(what: "client event (closed)") }
    }
}
