import NIOCore

/// Candidate pair states, RFC 8445 §6.1.2.6.
public enum CandidatePairState: String, Sendable, Hashable {
    case frozen, waiting, inProgress, succeeded, failed
}

/// The agent's role, RFC 8445 §6.1.1.
public enum ICERole: String, Sendable, Hashable {
    case controlling, controlled
}

/// Pair priority, RFC 8445 §6.1.2.3: with G the controlling agent's candidate priority and D the
/// controlled agent's, `2^32 * MIN(G,D) + 2 * MAX(G,D) + (G > D ? 1 : 0)`.
/// Candidate priorities are at most 2^31 - 1 (§5.1.2.1), which keeps the sum below 2^64; a peer
/// may still send anything, so the arithmetic wraps instead of trapping.
public func candidatePairPriority(controlling g: UInt32, controlled d: UInt32) -> UInt64 {
    (UInt64(min(g, d)) << 32) &+ 2 &* UInt64(max(g, d)) &+ (g > d ? 1 : 0)
}

/// One entry of the checklist (RFC 8445 §6.1.2). Indices refer to the agent's candidate tables.
struct CandidatePair: Sendable {
    /// Index into the agent's local table; always a host candidate (the base, §6.1.2.4).
    var local: Int
    /// Index into the agent's remote table.
    var remote: Int
    /// Pair foundation: local foundation + remote foundation (§6.1.2.6).
    var foundation: String
    var priority: UInt64
    var state: CandidatePairState = .frozen
    /// Nominated (RFC 8445 §8.1.1): by our USE-CANDIDATE check when controlling, by the peer's
    /// USE-CANDIDATE when controlled.
    var nominated = false
    /// Controlled side: USE-CANDIDATE arrived before our own check on this pair succeeded
    /// (§7.3.1.5): nominate as soon as it does.
    var nominateOnSuccess = false
    /// The latest check transaction on this pair.
    var currentTransaction: STUNTransactionID?
    var lastCheckSentAt: NIODeadline?
    /// Set when a triggered check is queued and not yet sent.
    var triggeredPending = false
}

/// The pair the agent selected (RFC 8445 §8.1.1): send media from `localCandidateID`'s socket to
/// `remoteAddress`.
public struct ICESelectedPair: Sendable, Hashable {
    public var local: ICECandidate
    public var localCandidateID: ICELocalCandidateID
    public var remote: ICECandidate
    public var remoteAddress: SocketAddress
    /// False only for the lite agent's provisional choice before any USE-CANDIDATE arrived.
    public var nominated: Bool
}

/// A read-only view of one checklist entry.
public struct ICECandidatePairInfo: Sendable, Hashable {
    public var local: ICECandidate
    public var remote: ICECandidate
    public var priority: UInt64
    public var state: CandidatePairState
    public var nominated: Bool
}
