import Foundation
import MediaCore
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import TestSupport
import VertoCore
import VertoNIO
import VertoPhone

/// The clients of one scenario: made for a target, all disconnected at the end, whether the
/// scenario passed or threw (so a failed scenario leaves no logged-in user behind on FreeSWITCH).
final class Scope: Sendable {
    let target: any TestTarget
    private let clients = NIOLockedValueBox<[VertoClient]>([])

    init(_ target: any TestTarget) { self.target = target }

    /// A client of `user` (the target's password unless given), media on 127.0.0.1 only.
    func client(_ user: String, password: String? = nil, url: String? = nil, sessid: String? = nil,
                configure: (inout VertoClientOptions) -> Void = { _ in }) -> VertoClient {
        let u = url ?? target.url
        var o = VertoClientOptions(url: u, login: "\(user)@\(target.domain)", password: password ?? target.password)
        o.mediaHost = "127.0.0.1"
        o.callerIDNumber = user
        o.callerIDName = "User \(user)"
        o.sessid = sessid
        o.connectTimeout = .seconds(15)
        // wss targets in the lab have self-signed certificates: accepted here, in tests only.
        if u.lowercased().hasPrefix("wss:") { o.trust = .insecureAcceptAnyCertificate }
        configure(&o)
        let c = VertoClient(options: o)
        clients.withLockedValue { $0.append(c) }
        return c
    }

    func close() async {
        for c in clients.withLockedValue({ $0 }) { try? await c.disconnect() }
    }
}

/// Runs a scenario against a target, stopping the target afterwards.
func run(_ target: any TestTarget, _ scenario: @Sendable (Scope) async throws -> Void) async throws {
    let scope = Scope(target)
    do {
        try await scenario(scope)
    } catch {
        await scope.close()
        await target.stop()
        throw error
    }
    await scope.close()
    await target.stop()
}

// MARK: - audio by frequency

/// Makes every call of `client` start recording the moment its early media is announced
/// (`verto.media`, before any audio can flow), on the client's event loop: what the call receives
/// before its answer is all kept, however late the test itself gets to run.
func recordFromEarlyMedia(_ client: VertoClient) async throws {
    try await client.observe { event, call in
        if case .earlyMedia = event { call?.media.startRecording() }
    }
}

/// True when `frequency` dominates some 0.5 s window (stepped by 0.25 s) of `pcm`.
/// A steady tone anywhere between 300 and 1,000 Hz for at least 0.4 s of `pcm` — ringback, whatever
/// its frequency (the contract fixes its length, not its pitch; FreeSWITCH's own is often 440+480
/// Hz, ours 425). Each 40 ms frame counts as tonal when one frequency of a 10 Hz grid holds at least
/// 30 % of the frame's energy (Goertzel; for a dual tone each half holds about half); ten tonal
/// frames in a row within 20 Hz of each other make a tone. Returns its frequency (the median).
func steadyTone(in pcm: [Int16], rate: Int = 48_000) -> Double? {
    let n = rate / 25
    let grid = stride(from: 300.0, through: 1_000, by: 10).map { $0 }
    var run: [Double] = []
    var start = 0
    while start + n <= pcm.count {
        let frame = pcm[start..<start + n].map { Double($0) }
        start += n
        let meanSquare = frame.reduce(0) { $0 + $1 * $1 } / Double(n)
        guard meanSquare > 100 else { run = []; continue }  // silence
        var best = (f: 0.0, fraction: 0.0)
        for f in grid {
            let w = 2 * Double.pi * f / Double(rate), coeff = 2 * cos(w)
            var s1 = 0.0, s2 = 0.0
            for x in frame {
                let s0 = x + coeff * s1 - s2
                s2 = s1
                s1 = s0
            }
            let power = (s1 * s1 + s2 * s2 - coeff * s1 * s2) * 2 / Double(n * n)
            if power / meanSquare > best.fraction { best = (f, power / meanSquare) }
        }
        if best.fraction >= 0.3, run.isEmpty || abs(run.last! - best.f) <= 20 {
            run.append(best.f)
            if run.count >= 10 { return run.sorted()[run.count / 2] }
        } else {
            run = best.fraction >= 0.3 ? [best.f] : []
        }
    }
    return nil
}


// MARK: - waiting with a bound

/// The next call offered to `client` (`verto.invite` from the server).
func nextIncomingCall(_ client: VertoClient, timeout: Duration = .seconds(20)) async throws -> Call {
    try await within(timeout, "an incoming call") {
        for await call in client.incomingCalls { return call }
        throw TimedOut(what: "an incoming call (stream ended)")
    }
}

extension JSONObject {
    /// `error.code` of a JSON-RPC reply.
    var errorCode: Int? { self["error"]?.objectValue?["code"]?.intValue }
    /// `result` of a JSON-RPC reply.
    var result: JSONObject? { self["result"]?.objectValue }
}

/// The dominant frequency of each 0.5 s window of `pcm`, for failure messages.
func windowReport(_ pcm: [Int16], rate: Int = 48_000) -> String {
    let window = rate / 2
    let dominants = stride(from: 0, to: max(0, pcm.count - window + 1), by: window / 2).map {
        dominantFrequency(Array(pcm[$0..<$0 + window]), rate: rate).map { "\(Int($0))" } ?? "-"
    }
    return "\(pcm.count) samples, windows: \(dominants.joined(separator: " "))"
}
