import Foundation
import MediaCore
import NIOCore
import NIOPosix
import Testing
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

/// The dominant frequency among candidates in the last 0.5 s of `pcm`.
func dominant(_ pcm: [Int16], among: [Double] = [425, 440, 660, 1000], rate: Int = 48_000) -> Double? {
    GoertzelDetector(sampleRate: rate).dominantFrequency(among: among, in: Array(pcm.suffix(rate / 2)))
}

/// The first endpoint event matching `match` since the endpoint started (every read of
/// `endpoint.events` begins with the events so far), waiting for it if it has not happened yet.
func nextEvent<T: Sendable>(_ endpoint: VertoEndpoint, timeout: Duration = .seconds(20),
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

/// True when `frequency` dominates some 0.5 s window of the audio received before `within` has
/// passed (wall clock). Returns as soon as it does, so a generous bound costs nothing when the tone is
/// there, and a loaded machine (late media start, concealed frames, an external peer's start-up)
/// only makes it wait longer. Still detection by content: the tone must dominate a whole window.
func hears(_ media: MediaSession, _ frequency: Double, within: Duration = .seconds(15),
           among: [Double] = [425, 440, 660, 1000]) async throws -> Bool {
    let clock = ContinuousClock()
    let deadline = clock.now + within
    while clock.now < deadline {
        let left = deadline - clock.now
        let pcm: [Int16]
        do {
            pcm = try await media.listen(seconds: 0.5, timeout: .nanoseconds(Int64(left.components.seconds) * 1_000_000_000
                                                                     + left.components.attoseconds / 1_000_000_000))
        } catch VertoPhoneError.timeout {
            return false
        }
        if dominant(pcm, among: among) == frequency { return true }
    }
    return false
}

/// True when `frequency` dominates some 0.5 s window (stepped by 0.25 s) of `pcm`.
func dominatesSomeWindow(_ pcm: [Int16], _ frequency: Double, among: [Double] = [425, 440, 660, 1000],
                         rate: Int = 48_000) -> Bool {
    let window = rate / 2
    var start = 0
    while start + window <= pcm.count {
        if GoertzelDetector(sampleRate: rate).dominantFrequency(among: among, in: Array(pcm[start..<start + window])) == frequency {
            return true
        }
        start += window / 2
    }
    return false
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
