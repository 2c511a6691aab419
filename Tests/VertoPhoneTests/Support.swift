import Foundation
import MediaCore
import NIOCore
import NIOPosix
import Testing
import TestSupport
import VertoCore
@testable import VertoPhone


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

