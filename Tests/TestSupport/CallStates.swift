import VertoPhone

/// `call`'s first state, over its whole history (`Call.states` replays it), that `predicate`
/// accepts, within `timeout`. Unlike `Call.wait`, which looks at the present and the future, a
/// state that came and went before the wait counts: a brief one (`.recovering` during a
/// reconnect, `.early` before the answer) is not missed when the test's task runs late.
public func reached(_ call: Call, within timeout: Duration = .seconds(20), _ what: String = "the call's state",
                    _ predicate: @escaping @Sendable (CallState) -> Bool) async throws -> CallState {
    try await first(in: call.states, within: timeout, what) { predicate($0) ? $0 : nil }
}
