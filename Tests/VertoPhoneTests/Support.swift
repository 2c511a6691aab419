import Foundation
import MediaCore
import NIOCore
import NIOPosix
import Testing
import TestSupport
import VertoCore
@testable import VertoPhone

/// Our server on an ephemeral loopback port with the demo users and the test-contract routes.
func startEndpoint(_ configure: (inout VertoEndpointConfiguration) -> Void = { _ in }) async throws -> VertoEndpoint {
    var config = VertoEndpointConfiguration(users: .demo())
    config.port = 0
    configure(&config)
    return try await VertoEndpoint.start(configuration: config)
}

func client(_ endpoint: VertoEndpoint, user: String = "1001", password: String = "verto-test", sessid: String? = nil) -> VertoClient {
    var o = VertoClientOptions(url: "ws://127.0.0.1:\(endpoint.port)/", login: "\(user)@127.0.0.1", password: password)
    o.mediaHost = "127.0.0.1"
    o.callerIDNumber = user
    o.callerIDName = "User \(user)"
    o.sessid = sessid
    o.connectTimeout = .seconds(15)
    return VertoClient(options: o)
}

/// Collects `seconds` of audio received from now on (event-driven, bounded).
func listen(_ media: MediaSession, seconds: Double, timeout: Duration = .seconds(20)) async throws -> [Int16] {
    try await media.listen(seconds: seconds, timeout: .nanoseconds(Int64(timeout.components.seconds) * 1_000_000_000))
}

/// The first endpoint event matching `match` since the endpoint started (every read of
/// `endpoint.events` begins with the events so far), waiting for it if it has not happened yet.
func nextEvent<T: Sendable>(_ endpoint: VertoEndpoint, timeout: Duration = .seconds(20),
                            _ match: @escaping @Sendable (VertoEndpointEvent) -> T?) async throws -> T {
    try await first(in: endpoint.events, within: timeout, "endpoint event", match)
}

/// User 1001 logged in to `endpoint`, in an answered call to the echo extension 9196 sending
/// `frequency`, whose echo has been heard.
func echoCall(_ endpoint: VertoEndpoint, frequency: Double = 440) async throws -> (VertoClient, Call) {
    let c = client(endpoint)
    try await c.connect()
    let call = try await c.call("9196", source: .tone(frequencies: [frequency], amplitude: 0.3))
    try await call.wait { $0 == .active }
    #expect(try await hears(call.media, frequency))
    return (c, call)
}
