import Foundation
import MediaCore
import NIOCore
import NIOPosix
import Testing
import VertoCore
@testable import VertoPhone

/// Our server on an ephemeral loopback port with the demo users and the test-contract routes.
func startEndpoint() async throws -> VertoEndpoint {
    var config = VertoEndpointConfiguration(users: .demo())
    config.port = 0
    return try await VertoEndpoint.start(configuration: config)
}

func client(_ endpoint: VertoEndpoint, user: String = "1001", password: String = "verto-test", sessid: String? = nil) -> VertoClient {
    var o = VertoClientOptions(url: "ws://127.0.0.1:\(endpoint.port)/", login: "\(user)@127.0.0.1", password: password)
    o.mediaHost = "127.0.0.1"
    o.callerIDNumber = user
    o.callerIDName = "User \(user)"
    o.sessid = sessid
    o.connectTimeout = .seconds(3)
    return VertoClient(options: o)
}

/// Collects `seconds` of audio received from now on (event-driven, bounded).
func listen(_ media: MediaSession, seconds: Double, timeout: Duration = .seconds(10)) async throws -> [Int16] {
    try await media.listen(seconds: seconds, timeout: .nanoseconds(Int64(timeout.components.seconds) * 1_000_000_000))
}

/// The dominant frequency among candidates in the last 0.5 s of `pcm`.
func dominant(_ pcm: [Int16], among: [Double] = [425, 440, 660, 1000], rate: Int = 48_000) -> Double? {
    GoertzelDetector(sampleRate: rate).dominantFrequency(among: among, in: Array(pcm.suffix(rate / 2)))
}

/// Waits for the next endpoint event matching `match`.
func nextEvent<T: Sendable>(_ endpoint: VertoEndpoint, timeout: Duration = .seconds(10),
                            _ match: @escaping @Sendable (VertoEndpointEvent) -> T?) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask {
            for await e in endpoint.events { if let t = match(e) { return t } }
            return nil
        }
        group.addTask {
            try await Task.sleep(for: timeout)
            throw VertoPhoneError.timeout("endpoint event")
        }
        guard let r = try await group.next()!, let t = r as T? else { throw VertoPhoneError.timeout("endpoint closed") }
        group.cancelAll()
        return t
    }
}

/// True when `frequency` dominates some 0.5 s window of the audio received within `seconds`
/// (tolerates start-up transients of external peers on a loaded machine; still detection by content).
func hears(_ media: MediaSession, _ frequency: Double, within seconds: Double = 3) async throws -> Bool {
    for _ in 0..<max(1, Int(seconds / 0.5)) {
        if dominant(try await listen(media, seconds: 0.5)) == frequency { return true }
    }
    return false
}
