import Foundation
import NIOCore
import Testing
import TestSupport
import VertoCore
import VertoPhone
@testable import WebitelCTI


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

/// A CTI event stream's recorder (TestSupport's `EventRecorder`).
typealias EventLog = EventRecorder<CtiEvent>

extension EventRecorder where Event == CtiEvent {
    /// Waits for the `n`-th event of `kind` (counting from the start) and returns it.
    @discardableResult
    func next(_ kind: CtiEventKind, count n: Int = 1, timeout: Duration = .seconds(20)) async throws -> CtiEvent {
        try await next(kind.rawValue, count: n, timeout: timeout) { $0.kind == kind }
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
    try await nth(count, in: endpoint.events, within: timeout, "endpoint event", match)
}

/// The digits the server received on a call, once there are at least `count` (however the client
/// split them into messages).
func digitsAtServer(_ endpoint: VertoEndpoint, callID: String, count: Int, timeout: Duration = .seconds(20)) async throws -> String {
    try await scan(endpoint.events, from: "", within: timeout, "\(count) digits at the server") { digits, e in
        if case .dtmf(let c, let d) = e, c == callID { digits += d }
        return digits.count >= count ? digits : nil
    }
}

/// Waits for the `count`-th engine event of a client matching `match`, counting from the client's
/// start (the provider leaves `client.events` to the app; every read begins with the events so far).
func nextClientEvent(_ client: VertoClient, count: Int = 1, timeout: Duration = .seconds(20),
                     _ match: @escaping @Sendable (VertoClientEngineEvent) -> Bool) async throws {
    _ = try await nth(count, in: client.events, within: timeout, "client event") { match($0) ? true : nil }
}
