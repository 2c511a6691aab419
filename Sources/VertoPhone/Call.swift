import Foundation
import NIOConcurrencyHelpers
import NIOCore
import VertoCore

/// The state of a call as the application sees it.
public enum CallState: Sendable, Equatable {
    /// Outbound: `verto.invite` sent. Inbound: ringing locally, not answered yet.
    case trying
    /// The server accepted the invite (`CALL CREATED`).
    case created
    /// Early media (`verto.media`).
    case early
    case active
    case held
    /// Re-attaching after a lost connection.
    case recovering
    case ended(HangupCause)

    public var isEnded: Bool { if case .ended = self { return true } else { return false } }
}

public enum CallDirection: String, Sendable, Equatable {
    case outbound, inbound
}

/// One call of the client role. Commands are sent on the engine's event loop; state changes arrive
/// on `states` (and `state` gives the current one).
public final class Call: Sendable {
    public let callID: String
    public let direction: CallDirection
    /// Destination (outbound) or caller (inbound) number and name.
    public let remoteNumber: String
    public let remoteName: String?
    /// The call's audio. The same object survives a re-attach.
    public let media: MediaSession
    /// The call's states from `trying` to `ended`. Each access is a consumer of its own that receives
    /// every state since the call began, then the new ones; none is dropped.
    public var states: AsyncStream<CallState> { hub.stream() }

    private let hub = EventHub<CallState>(historyLimit: 64)
    private let current = NIOLockedValueBox<CallState>(.trying)
    private let display = NIOLockedValueBox<(name: String?, number: String?)>((nil, nil))
    private let waiters = NIOLockedValueBox<[(predicate: @Sendable (CallState) -> Bool, promise: EventLoopPromise<CallState>)]>([])
    let client: ClientCommands

    init(callID: String, direction: CallDirection, remoteNumber: String, remoteName: String?, media: MediaSession,
         client: ClientCommands) {
        self.callID = callID
        self.direction = direction
        self.remoteNumber = remoteNumber
        self.remoteName = remoteName
        self.media = media
        self.client = client
        hub.yield(.trying)
    }

    public var state: CallState { current.withLockedValue { $0 } }

    /// The far end's identity as last shown by `verto.display` (bridges, transfers).
    public var displayIdentity: (name: String?, number: String?) { display.withLockedValue { $0 } }

    func setDisplay(name: String?, number: String?) { display.withLockedValue { $0 = (name, number) } }

    func update(_ s: CallState) {
        let changed = current.withLockedValue { old -> Bool in
            if old.isEnded || old == s { return false }
            old = s
            return true
        }
        guard changed else { return }
        hub.yield(s)
        if s.isEnded { hub.finish() }
        let due = waiters.withLockedValue { w -> [EventLoopPromise<CallState>] in
            let d = w.filter { $0.predicate(s) || s.isEnded }.map(\.promise)
            w.removeAll { $0.predicate(s) || s.isEnded }
            return d
        }
        due.forEach { $0.succeed(s) }
    }

    /// Waits until the call reaches a state matching `predicate` (or ends), bounded by `timeout`.
    @discardableResult
    public func wait(timeout: Duration = .seconds(10), until predicate: @escaping @Sendable (CallState) -> Bool) async throws -> CallState {
        let now = state
        if predicate(now) || now.isEnded { return now }
        let loop = media.eventLoop
        let promise = loop.makePromise(of: CallState.self)
        waiters.withLockedValue { $0.append((predicate, promise)) }
        let again = state
        if predicate(again) || again.isEnded { update(again); promise.succeed(again) }
        let timer = loop.scheduleTask(in: TimeAmount(timeout)) { promise.fail(VertoPhoneError.timeout("call \(self.callID) state")) }
        defer { timer.cancel() }
        return try await promise.futureResult.get()
    }

    // MARK: - Commands

    /// Answers an inbound call.
    public func answer() async throws { try await client.answer(self) }

    /// Rejects an inbound call (`verto.bye` with CALL_REJECTED).
    public func reject(cause: HangupCause = .callRejected) async throws { try await client.hangup(self, cause: cause) }

    /// Hangs up (`verto.bye`). A call that has already ended is left as it is: no error.
    public func hangup(cause: HangupCause = .normalClearing) async throws { try await client.hangup(self, cause: cause) }

    /// Server-side hold (`verto.modify hold`); returns when the server confirmed `holdState: held`.
    public func hold() async throws { try await client.modify(self, .hold) }
    public func unhold() async throws { try await client.modify(self, .unhold) }
    public func toggleHold() async throws { try await client.modify(self, .toggleHold) }

    /// Sends DTMF with `verto.info` (works on every server, docs/verto-protocol.md §4.5) — and, when
    /// telephone-event was negotiated and `alsoRFC4733` is set, as RFC 4733 events too.
    public func sendDTMF(_ digits: String, alsoRFC4733: Bool = false) async throws {
        try await client.dtmf(self, digits)
        if alsoRFC4733 { _ = try await media.sendRFC4733(digits) }
    }

    /// Blind transfer of the other party (`verto.modify transfer`).
    public func transfer(to destination: String) async throws { try await client.modify(self, .transfer, destination: destination) }

    /// Attended transfer: joins this call's party with `other`'s (`verto.modify replace`).
    public func replace(with other: Call) async throws { try await client.modify(self, .replace, replaceCallID: other.callID) }

    /// ICE restart (RFC 8445 §9): new ICE credentials and candidates — and a new DTLS association —
    /// offered with `verto.modify` `updateMedia`; returns once the server's answer is applied. The
    /// call keeps its callID and this `Call` and `MediaSession`; audio continues on the new path.
    /// For a changed network (a new address, a lost path).
    public func restartICE() async throws { try await client.restartICE(self) }

    /// Local mute (sends silence).
    public func mute(_ on: Bool = true) { media.setMuted(on) }
}

/// What a `Call` needs from its client (implemented by `ClientState`).
protocol ClientCommands: Sendable {
    func answer(_ call: Call) async throws
    func hangup(_ call: Call, cause: HangupCause) async throws
    func modify(_ call: Call, _ action: ModifyAction, destination: String?, replaceCallID: String?) async throws
    func dtmf(_ call: Call, _ digits: String) async throws
    func restartICE(_ call: Call) async throws
}

extension ClientCommands {
    func modify(_ call: Call, _ action: ModifyAction, destination: String? = nil, replaceCallID: String? = nil) async throws {
        try await modify(call, action, destination: destination, replaceCallID: replaceCallID)
    }
}
