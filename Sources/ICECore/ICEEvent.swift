import NIOCore

/// Outputs of the agent besides datagrams, polled with `ICEAgent.pollEvent()`.
public enum ICEEvent: Sendable, Hashable {
    /// A remote peer-reflexive candidate learned from a valid check (RFC 8445 §7.3.1.3).
    case peerReflexiveCandidate(ICECandidate)
    /// A local peer-reflexive candidate learned from XOR-MAPPED-ADDRESS (RFC 8445 §7.2.5.3.1).
    case localPeerReflexiveCandidate(ICECandidate)
    /// Our role changed after a role conflict (RFC 8445 §7.2.5.1, §7.3.1.1).
    case roleChanged(ICERole)
    /// A pair was selected, or the selection moved to a better nominated pair.
    case selectedPair(ICESelectedPair)
    /// The first selection: media may flow (send DTLS now).
    case connected
    /// ICE failed; the owner should report it and may restart.
    case failed(ICEFailureReason)
    /// RFC 7675 §5.1: no consent response for `consentTimeout` (lite: no check from the peer).
    /// Stop sending media on the selected pair.
    case consentLost
}

public enum ICEFailureReason: String, Sendable, Hashable {
    /// Every pair failed and nothing is left to check.
    case allPairsFailed
    /// No pair was selected within `checkingTimeout`.
    case timeout
}

/// A datagram to send: from the socket of `localCandidate` to `destination`.
public struct ICETransmit: Sendable, Hashable {
    public var bytes: [UInt8]
    public var destination: SocketAddress
    public var localCandidate: ICELocalCandidateID
}

/// Connection state, for stats and UI.
public enum ICEConnectionState: String, Sendable, Hashable {
    case new, checking, connected, failed, closed
}

/// What `handleDatagram` did with its input.
public enum ICEDatagramResult: Sendable, Hashable {
    /// Not STUN (RFC 7983 demux should have sent it elsewhere).
    case notSTUN
    /// A request answered with success, or a response processed.
    case handled
    /// A request answered with an error response (400, 401, 420, 487).
    case answeredWithError(Int)
    /// Dropped without an answer; counted in `ICEStatistics`.
    case dropped(ICEDropReason)
}

public enum ICEDropReason: String, Sendable, Hashable {
    case malformed, badFingerprint, badIntegrity, unmatchedResponse, unexpectedSource, unknownLocalCandidate,
         unsupportedMessage, closed
}

/// Why a remote candidate was not used (typed result of `addRemoteCandidate`).
public enum ICERemoteCandidateResult: Sendable, Hashable {
    case added
    case duplicate
    case rejected(Reason)

    public enum Reason: String, Sendable, Hashable {
        /// mDNS `.local` host name: not resolved by this agent (FreeSWITCH ignores them too).
        case mdnsHostname
        /// Another non-literal host name.
        case unresolvedHostname
        /// TCP or other non-UDP transport.
        case unsupportedTransport
        /// Component other than 1 (RTCP is multiplexed, RFC 8843/5761).
        case unsupportedComponent
        /// Over `ICEConfiguration.maximumRemoteCandidates`.
        case tooManyCandidates
        /// Port 0 or an unspecified address.
        case invalidAddress
    }
}

/// Counters and milestones (virtual time), for logs and stats.
public struct ICEStatistics: Sendable, Hashable {
    public var checksSent = 0
    public var retransmissions = 0
    public var consentChecksSent = 0
    public var successResponsesReceived = 0
    public var errorResponsesReceived = 0
    public var requestsReceived = 0
    public var successResponsesSent = 0
    public var errorResponsesSent = 0
    public var roleConflicts = 0
    public var notSTUN = 0
    public var malformed = 0
    public var badFingerprint = 0
    public var badIntegrity = 0
    public var unauthorized = 0
    public var badRequests = 0
    public var unknownAttributeRequests = 0
    public var unmatchedResponses = 0
    public var unexpectedSource = 0
    public var mdnsCandidatesRejected = 0
    public var otherCandidatesRejected = 0
    public var peerReflexiveLearned = 0

    /// Milestones.
    public var checkingStartedAt: NIODeadline?
    public var firstCheckSentAt: NIODeadline?
    public var selectedAt: NIODeadline?
    public var lastConsentAt: NIODeadline?

    public init() {}
}
