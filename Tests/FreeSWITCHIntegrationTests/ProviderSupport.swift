import Foundation
import NIOConcurrencyHelpers
import Testing
import TestSupport
import VertoPhone
import WebitelCTI

/// The providers of one provider scenario: made for a target, all closed at the end whether the
/// scenario passed or threw (so a failed scenario leaves no logged-in user behind on FreeSWITCH).
final class ProviderScope: Sendable {
    let target: any TestTarget
    /// What the providers sent and received.
    let traffic = TrafficRecorder()
    private let providers = NIOLockedValueBox<[(user: String, provider: WebitelCtiProvider, log: ProviderEventLog)]>([])

    init(_ target: any TestTarget) { self.target = target }

    /// Creatio's settings for `user` on the target (the target's password unless given), media on
    /// 127.0.0.1 only; a wss URL's self-signed certificate is accepted (tests only).
    func settings(_ user: String, password: String? = nil, url: String? = nil) -> WebitelConnectionSettings {
        let u = url ?? target.url
        var s = WebitelConnectionSettings(webitelWebrtcConnectionString: u, domain: target.domain, login: user,
                                          password: password ?? target.password)
        s.callerIDName = "User \(user)"
        s.mediaHost = "127.0.0.1"
        s.connectTimeout = .seconds(15)
        if u.lowercased().hasPrefix("wss:") { s.configureEngine = { $0.trust = .insecureAcceptAnyCertificate } }
        return s
    }

    /// A provider for `user` with its event log, not connected yet.
    func provider(_ user: String, password: String? = nil, url: String? = nil,
                  eventSocket: String? = nil) -> (WebitelCtiProvider, ProviderEventLog) {
        var configuration = settings(user, password: password, url: url)
        configuration.eventSocketConnectionString = eventSocket
        let traffic = self.traffic
        let engine = configuration.configureEngine
        configuration.configureEngine = { options in
            engine?(&options)
            options.frameTap = { outgoing, text in traffic.record(user, outgoing ? .c2s : .s2c, text) }
        }
        configuration.eventSocketTap = { body in traffic.record(user, .esl, body) }
        let p = WebitelCtiProvider(configuration: configuration)
        let log = ProviderEventLog(p.events)
        providers.withLockedValue { $0.append((user, p, log)) }
        return (p, log)
    }

    /// A provider for `user`, logged in.
    func connected(_ user: String) async throws -> (WebitelCtiProvider, ProviderEventLog) {
        let (p, log) = provider(user)
        try await p.connect()
        return (p, log)
    }

    /// A provider for `user` with the target's event socket, logged in and subscribed.
    func connectedWithEventSocket(_ user: String) async throws -> (WebitelCtiProvider, ProviderEventLog) {
        let esl = try #require(target.eventSocketConnectionString, "\(target.name) has no event socket")
        let (p, log) = provider(user, eventSocket: esl)
        let connected = Task { for await state in p.eventSocketStates where state == .connected { return true }; return false }
        try await p.connect()
        #expect(try await within(.seconds(20), "the event socket") { await connected.value }, "the event socket is subscribed")
        return (p, log)
    }

    /// The event-socket scenarios' call: the operator (the first user, a provider with the target's
    /// event socket, sending a 440 Hz tone) calls the subscriber (the second user), who answers.
    func operatorCallsSubscriber() async throws -> OperatorCall {
        let (operatorUser, subscriberUser) = (target.users[0], target.users[1])
        let (op, opLog) = try await connectedWithEventSocket(operatorUser)
        let (sub, subLog) = try await connected(subscriberUser)
        let placed = try await op.makeCall(subscriberUser)
        try await opLog.media().setSource(.tone(frequencies: [440], amplitude: 0.3))
        let ring = try await subLog.next(.onNewCall).call
        try await sub.answerCall(ring)
        try await opLog.next(.onAcceptCall)
        try await subLog.next(.onAcceptCall)
        return OperatorCall(op: op, opLog: opLog, sub: sub, subLog: subLog, placed: placed, ring: ring)
    }

    /// The operator hangs up, both providers close; the operator's events, read to their end.
    func operatorHangsUp(_ c: OperatorCall) async throws -> [CtiEvent] {
        try await c.op.dropCall(c.placed)
        try await c.subLog.next(.onHangupCall)
        try await c.op.closeConnection()
        try await c.sub.closeConnection()
        return try await c.opLog.all()
    }

    func close() async {
        for p in providers.withLockedValue({ $0 }) { try? await p.provider.closeConnection() }
    }

    /// Each provider's user and event log, in the order they were made.
    var logs: [(user: String, log: ProviderEventLog)] { providers.withLockedValue { $0.map { ($0.user, $0.log) } } }
}

/// An answered call from the operator's provider to the subscriber's (`operatorCallsSubscriber`).
struct OperatorCall {
    let op: WebitelCtiProvider
    let opLog: ProviderEventLog
    let sub: WebitelCtiProvider
    let subLog: ProviderEventLog
    /// The operator's call, and the subscriber's leg of it.
    let placed: CtiCall
    let ring: CtiCall
}

/// Runs a provider scenario against a target, stopping the target afterwards. With
/// `VERTO_FS_CAPTURE=<folder>` (scripts/capture-freeswitch), a scenario that passed against
/// FreeSWITCH is written there as a transcript, `<test name>.jsonl` (`CapturedTranscript`).
func runProvider(_ target: any TestTarget, _ scenario: @Sendable (ProviderScope) async throws -> Void,
                 name: String = #function) async throws {
    let scope = ProviderScope(target)
    do {
        try await scenario(scope)
    } catch {
        await scope.close()
        await target.stop()
        throw error
    }
    await scope.close()
    if let folder = ProcessInfo.processInfo.environment["VERTO_FS_CAPTURE"], !folder.isEmpty,
       let freeswitch = target as? FreeSWITCHTarget {
        var logs: [(user: String, events: [CtiEvent])] = []
        for (user, log) in scope.logs { logs.append((user, try await log.all())) }
        let server = (try? await freeswitch.version()) ?? "FreeSWITCH"
        let scenarioName = String(name.prefix { $0 != "(" })
        let transcript = CapturedTranscript(scenario: scenarioName, server: server, traffic: scope.traffic, logs: logs)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try transcript.text.write(toFile: "\(folder)/\(scenarioName).jsonl", atomically: true, encoding: .utf8)
    }
    await target.stop()
}

/// A provider's event stream recorder (TestSupport's `EventRecorder`).
typealias ProviderEventLog = EventRecorder<CtiEvent>

extension EventRecorder where Event == CtiEvent {
    /// Waits for the `n`-th event of `kind` (counting from the start) and returns it.
    @discardableResult
    func next(_ kind: CtiEventKind, count n: Int = 1, timeout: Duration = .seconds(20)) async throws -> CtiEvent {
        try await next(kind.rawValue, count: n, timeout: timeout) { $0.kind == kind }
    }

    /// The media session of the first `onNewWebRTCCall`.
    func media(timeout: Duration = .seconds(20)) async throws -> MediaSession {
        guard case .newWebRTCCall(_, let m) = try await next(.onNewWebRTCCall, timeout: timeout) else {
            throw TimedOut(what: "onNewWebRTCCall")
        }
        return m
    }

    var kinds: [CtiEventKind] { events.map(\.kind) }
}

extension Array where Element == CtiEvent {
    var kinds: [CtiEventKind] { map(\.kind) }
}

extension CtiEvent {
    var digits: String? { if case .dtmfCall(_, let d) = self { return d } else { return nil } }
    var newId: String? { if case .uuidCall(_, let n) = self { return n } else { return nil } }
}
