import CoreSupport
import NIOCore

/// A sans-IO ICE agent for one data stream with one component (RTP/RTCP multiplexed), full
/// (RFC 8445) or lite (RFC 8445 §2.5), with consent freshness (RFC 7675).
///
/// The owner (a NIO shell or PeerCore) binds UDP sockets and passes their addresses as host
/// candidates, hands over remote credentials and candidates parsed from SDP, feeds every STUN
/// datagram to `handleDatagram`, and after every input drains `pollTransmit()` and `pollEvent()`
/// and re-arms one timer for `nextDeadline()` that calls `handleTimeout(now:)`.
/// The agent never reads a clock and takes randomness (transaction ids, tie-breaker, consent
/// jitter, generated credentials) from the injected generator.
///
/// ```swift
/// var ice = ICEAgent(configuration: .full, role: .controlling, random: .system)
/// let host = ice.addHostCandidate(TransportAddress(boundAddress)!, now: now)   // per bound socket
/// // offer: ice.localCredentials + ice.localCandidates → SDPCore
/// ice.setRemoteDescription(credentials: remoteCreds, candidates: remoteCandidates, now: now)
/// // on every datagram whose first byte is 0...3 (STUN.isSTUN(firstByte:)):
/// _ = ice.handleDatagram(buffer, from: source, localCandidate: host, now: now)
/// // after every input and timer: drain
/// while let t = ice.pollTransmit() { send(t.bytes, from: t.localCandidate, to: t.destination) }
/// while let e = ice.pollEvent() { if case .connected = e { startDTLS(to: ice.selectedPair!) } }
/// rearm(ice.nextDeadline())   // → ice.handleTimeout(now:)
/// ```
///
/// Choices where the RFCs leave room (see `ICEConfiguration` for the numbers):
/// - **No timers on the setup path.** The first ordinary check leaves inside the call that makes
///   both local candidates and the remote description available; later ordinary checks are paced
///   by Ta (5 ms). Triggered checks go out at once. Retransmissions start at 50 ms and double to
///   500 ms, 10 transmissions (~3.75 s), so a peer that dropped our first check because it did not
///   have our SDP yet (FreeSWITCH) is retried quickly; when such a peer then checks us, an
///   in-progress pair whose last check is older than Ta is re-checked immediately.
/// - **Aggressive nomination when controlling** (RFC 5245 §8.1.1.2 style, as FreeSWITCH does):
///   USE-CANDIDATE on every check, so the first pair that succeeds is selected. Ordinary checks
///   stop after selection; if a better pair is nominated later the selection moves to it (the
///   controlled side applies the same rule, so both converge on the best nominated pair).
/// - **Controlled**: a pair is selected when the peer's USE-CANDIDATE and our own successful
///   check on that pair have both happened (RFC 8445 §7.3.1.5, §8.1.1).
/// - **Lite**: answers checks (also before it has the remote description, as verto.js browsers
///   check early), never sends requests, selects the pair of the first valid check provisionally
///   (`ICESelectedPair.nominated == false`; configurable) and the USE-CANDIDATE pair for good.
/// - **One component** (RTCP multiplexed): remote candidates of component 2 are rejected.
/// - Local peer-reflexive candidates are reported but checks keep leaving from their base socket,
///   so the valid pair is tracked on the base pair (the 5-tuple is the same).
/// - After `.failed(.allPairsFailed)` the agent still answers checks and runs triggered checks,
///   so a late peer can still bring it to `.connected` (reported again).
public struct ICEAgent: Sendable {
    struct LocalEntry: Sendable {
        var id: ICELocalCandidateID
        var candidate: ICECandidate
        var address: TransportAddress
        /// Index of the host candidate whose socket this candidate uses (itself for host).
        var base: Int
    }

    struct RemoteEntry: Sendable {
        var candidate: ICECandidate
        var address: TransportAddress
        var socketAddress: SocketAddress
    }

    enum TransactionPurpose: Sendable { case check, consent }

    struct Transaction: Sendable {
        var pair: Int
        var bytes: [UInt8]
        var sentAsControlling: Bool
        var useCandidate: Bool
        var priority: UInt32
        var purpose: TransactionPurpose
        var transmissions: Int
        var rto: TimeAmount
        /// nil: no more retransmissions (superseded, or a consent check); then `expiresAt` applies.
        var nextRetransmit: NIODeadline?
        var expiresAt: NIODeadline
    }

    public let configuration: ICEConfiguration
    public internal(set) var role: ICERole
    public internal(set) var localCredentials: ICECredentials
    public internal(set) var remoteCredentials: ICECredentials?
    public internal(set) var state: ICEConnectionState = .new
    public internal(set) var statistics = ICEStatistics()
    /// RFC 8445 §16.1: our tie-breaker for role conflicts.
    public private(set) var tieBreaker: UInt64

    var random: AnyRandomSource
    var locals: [LocalEntry] = []
    var remotes: [RemoteEntry] = []
    var pairs: [CandidatePair] = []
    var transactions: [STUNTransactionID: Transaction] = [:]
    var triggeredQueue: [Int] = []
    var nextOrdinaryCheck: NIODeadline = .distantPast
    var selected: Int?
    var selectedProvisional = false
    var consent = ConsentFreshness()
    var checkingDeadline: NIODeadline?
    var foundations: [String: Int] = [:]
    var prflxCounter = 0
    var transmits = CircularBuffer<ICETransmit>()
    var events = CircularBuffer<ICEEvent>()
    /// Lite: provisional/nominated selection by 5-tuple (the lite agent keeps no checklist).
    var failedReported = false

    /// - Parameters:
    ///   - role: ignored for lite agents, which are always controlled (RFC 8445 §6.1.1).
    ///   - localCredentials: generate with `ICECredentials.random(using:)` and put in the SDP.
    ///   - random: `.system` in production, `.seeded(n)` in tests.
    public init(configuration: ICEConfiguration = .full, role: ICERole, localCredentials: ICECredentials,
                random: AnyRandomSource = .system) {
        self.configuration = configuration
        self.role = configuration.mode == .lite ? .controlled : role
        self.localCredentials = localCredentials
        self.random = random
        self.tieBreaker = self.random.next()
    }

    /// Same, generating fresh local credentials from `random` (read them back from
    /// `localCredentials` for the SDP).
    public init(configuration: ICEConfiguration = .full, role: ICERole, random: AnyRandomSource = .system) {
        var random = random
        let credentials = ICECredentials.random(using: &random)
        self.init(configuration: configuration, role: role, localCredentials: credentials, random: random)
    }

    // MARK: - Local candidates

    /// Adds a local candidate. Host candidates are the sockets the owner bound (`base` nil);
    /// server-reflexive ones name their host `base` (RFC 8445 §5.1.1.2) and are only advertised:
    /// checks leave from the base (§6.1.2.4). The address must be an IP literal.
    @discardableResult
    public mutating func addLocalCandidate(_ candidate: ICECandidate, base: ICELocalCandidateID? = nil,
                                           now: NIODeadline) throws(ICEError) -> ICELocalCandidateID {
        guard let address = candidate.transportAddress else { throw .invalidAddress("\(candidate.address)") }
        let id = ICELocalCandidateID(locals.count)
        var baseIndex = locals.count
        if let base {
            guard base.rawValue < locals.count, locals[base.rawValue].candidate.type == .host else {
                throw .invalidState("base \(base) is not a host candidate")
            }
            baseIndex = base.rawValue
        } else if candidate.type != .host && candidate.type != .relay {
            throw .invalidState("a \(candidate.type.rawValue) candidate needs a host base")
        }
        locals.append(LocalEntry(id: id, candidate: candidate, address: address, base: baseIndex))
        if candidate.type.isOwnBase, configuration.mode == .full {
            for r in remotes.indices { formPair(local: locals.count - 1, remote: r) }
            runChecks(now: now)
        }
        return id
    }

    /// Adds a host candidate for a bound socket, computing foundation (§5.1.1.3) and priority
    /// (§5.1.2.1). Give IPv6 or preferred interfaces a higher `localPreference`.
    @discardableResult
    public mutating func addHostCandidate(_ address: TransportAddress, localPreference: UInt16 = 65535,
                                          now: NIODeadline) -> ICELocalCandidateID {
        let candidate = ICECandidate(foundation: foundation(type: .host, base: address), priority:
                                        ICECandidate.priority(type: .host, localPreference: localPreference),
                                     address: address, type: .host)
        // Cannot fail: literal address, host type.
        return (try? addLocalCandidate(candidate, now: now)) ?? ICELocalCandidateID(locals.count - 1)
    }

    /// Adds a server-reflexive candidate learned with `STUNBindingClient` (RFC 8445 §5.1.1.2).
    @discardableResult
    public mutating func addServerReflexiveCandidate(_ mapped: TransportAddress, base: ICELocalCandidateID,
                                                     localPreference: UInt16 = 65535,
                                                     now: NIODeadline) throws(ICEError) -> ICELocalCandidateID {
        guard base.rawValue < locals.count else { throw .invalidState("unknown base \(base)") }
        let baseAddress = locals[base.rawValue].address
        let candidate = ICECandidate(foundation: foundation(type: .srflx, base: baseAddress),
                                     priority: ICECandidate.priority(type: .srflx, localPreference: localPreference),
                                     address: mapped, type: .srflx, relatedAddress: baseAddress)
        return try addLocalCandidate(candidate, base: base, now: now)
    }

    /// Adds a relayed candidate allocated on a TURN server (RFC 8445 §5.1.1.2, RFC 8656): its own
    /// base, so it forms pairs and checks leave "from" it; the owner carries those datagrams through
    /// the TURN server. `mapped` (the server-reflexive address the server saw) becomes raddr/rport.
    @discardableResult
    public mutating func addRelayedCandidate(_ relayed: TransportAddress, mapped: TransportAddress?,
                                             localPreference: UInt16 = 65535, now: NIODeadline) -> ICELocalCandidateID {
        let candidate = ICECandidate(foundation: foundation(type: .relay, base: relayed),
                                     priority: ICECandidate.priority(type: .relay, localPreference: localPreference),
                                     address: relayed, type: .relay, relatedAddress: mapped)
        // Cannot fail: literal address, a type that is its own base.
        return (try? addLocalCandidate(candidate, now: now)) ?? ICELocalCandidateID(locals.count - 1)
    }

    /// The type of a local candidate by id (nil for an unknown id).
    public func localCandidateType(_ id: ICELocalCandidateID) -> ICECandidateType? {
        locals.indices.contains(id.rawValue) ? locals[id.rawValue].candidate.type : nil
    }

    /// Candidates to advertise in SDP (host and server-reflexive; peer-reflexive ones are not
    /// signalled, RFC 8445 §7.2.5.3.1), best first.
    public var localCandidates: [ICECandidate] {
        locals.filter { $0.candidate.type != .prflx }.map(\.candidate).sorted { $0.priority > $1.priority }
    }

    /// RFC 8445 §5.1.1.3: same type, base IP and transport → same foundation.
    mutating func foundation(type: ICECandidateType, base: TransportAddress) -> String {
        let key = "\(type.rawValue)|\(base.ipString)"
        if let n = foundations[key] { return String(n) }
        let n = foundations.count + 1
        foundations[key] = n
        return String(n)
    }

    // MARK: - Remote description

    /// The peer's ufrag and password (from its SDP). Starts checking if candidates are known, and
    /// flushes triggered checks queued for early checks that arrived before this (RFC 8445 §7.3).
    public mutating func setRemoteCredentials(_ credentials: ICECredentials, now: NIODeadline) {
        remoteCredentials = credentials
        startChecking(now: now)
        runChecks(now: now)
    }

    /// Call when the peer's SDP carries `a=ice-lite`: a full agent facing a lite agent must be
    /// controlling (RFC 8445 §6.1.1), whatever role the signalling suggested.
    public mutating func setRemoteIsLite(_ isLite: Bool) {
        if isLite, configuration.mode == .full { switchRole(to: .controlling) }
    }

    /// Adds one remote candidate. Only UDP candidates of component 1 with IP literals are used;
    /// `.local` mDNS names are rejected (we do not resolve them; the peer still reaches us and
    /// is learned as peer-reflexive when it checks us).
    @discardableResult
    public mutating func addRemoteCandidate(_ candidate: ICECandidate, now: NIODeadline) -> ICERemoteCandidateResult {
        let result = acceptCountingRemote(candidate)
        if case .added = result { runChecks(now: now) }
        return result
    }

    /// Sets credentials and candidates from one SDP at once.
    @discardableResult
    public mutating func setRemoteDescription(credentials: ICECredentials, candidates: [ICECandidate],
                                              now: NIODeadline) -> [ICERemoteCandidateResult] {
        remoteCredentials = credentials
        startChecking(now: now)
        // All candidates first, so that the immediate first check goes to the best pair.
        let results = candidates.map { acceptCountingRemote($0) }
        runChecks(now: now)
        return results
    }

    mutating func acceptCountingRemote(_ candidate: ICECandidate) -> ICERemoteCandidateResult {
        let result = acceptRemote(candidate)
        if case .rejected(let reason) = result {
            if reason == .mdnsHostname { statistics.mdnsCandidatesRejected += 1 } else { statistics.otherCandidatesRejected += 1 }
        }
        return result
    }

    mutating func acceptRemote(_ candidate: ICECandidate) -> ICERemoteCandidateResult {
        guard candidate.transport == .udp else { return .rejected(.unsupportedTransport) }
        guard candidate.component == 1 else { return .rejected(.unsupportedComponent) }
        guard let address = candidate.transportAddress else {
            return .rejected(candidate.address.isMDNS ? .mdnsHostname : .unresolvedHostname)
        }
        guard address.port != 0 else { return .rejected(.invalidAddress) }
        if address.ip == .v4(0) || address.ip == .v6(high: 0, low: 0) { return .rejected(.invalidAddress) }
        if let existing = remotes.firstIndex(where: { $0.address == address }) {
            // A signalled candidate replaces what we learned as peer-reflexive (§7.3.1.3 note).
            if remotes[existing].candidate.type == .prflx && candidate.type != .prflx {
                remotes[existing].candidate = candidate
                for i in pairs.indices where pairs[i].remote == existing {
                    pairs[i].priority = pairPriority(local: pairs[i].local, remote: existing)
                    pairs[i].foundation = locals[pairs[i].local].candidate.foundation + ":" + candidate.foundation
                }
            }
            return .duplicate
        }
        guard remotes.count < configuration.maximumRemoteCandidates else { return .rejected(.tooManyCandidates) }
        remotes.append(RemoteEntry(candidate: candidate, address: address, socketAddress: address.socketAddress))
        if configuration.mode == .full {
            for l in locals.indices where locals[l].candidate.type.isOwnBase { formPair(local: l, remote: remotes.count - 1) }
        }
        return .added
    }

    /// Creates the pair (host local, remote) if families match and it does not exist (§6.1.2.2).
    @discardableResult
    mutating func formPair(local: Int, remote: Int) -> Int? {
        guard locals[local].address.sameFamily(as: remotes[remote].address) else { return nil }
        if let i = pairs.firstIndex(where: { $0.local == local && $0.remote == remote }) { return i }
        guard pairs.count < configuration.maximumPairs else { return nil }
        pairs.append(CandidatePair(local: local, remote: remote,
                                   foundation: locals[local].candidate.foundation + ":" + remotes[remote].candidate.foundation,
                                   priority: pairPriority(local: local, remote: remote)))
        return pairs.count - 1
    }

    func pairPriority(local: Int, remote: Int) -> UInt64 {
        let l = locals[local].candidate.priority, r = remotes[remote].candidate.priority
        return role == .controlling ? candidatePairPriority(controlling: l, controlled: r)
            : candidatePairPriority(controlling: r, controlled: l)
    }

    mutating func startChecking(now: NIODeadline) {
        guard state == .new else { return }
        state = .checking
        statistics.checkingStartedAt = now
        checkingDeadline = now + configuration.checkingTimeout
    }

    // MARK: - Restart and close

    /// ICE restart (RFC 8445 §9): new local credentials, remote state forgotten, checklist, selection
    /// and consent reset. Host and server-reflexive candidates are kept. The role is kept.
    /// Follow with `setRemoteDescription` for the peer's new credentials and candidates.
    public mutating func restart(localCredentials: ICECredentials, now: NIODeadline) {
        self.localCredentials = localCredentials
        remoteCredentials = nil
        // Local candidate ids stay valid across a restart (the owner's sockets do not change).
        remotes.removeAll()
        pairs.removeAll()
        transactions.removeAll()
        triggeredQueue.removeAll()
        nextOrdinaryCheck = .distantPast
        selected = nil
        selectedProvisional = false
        consent = ConsentFreshness()
        checkingDeadline = nil
        failedReported = false
        state = .new
        statistics.checkingStartedAt = nil
        statistics.firstCheckSentAt = nil
        statistics.selectedAt = nil
        statistics.lastConsentAt = nil
    }

    /// ICE restart with fresh credentials from the injected generator; returns them for the SDP.
    @discardableResult
    public mutating func restart(now: NIODeadline) -> ICECredentials {
        let credentials = ICECredentials.random(using: &random)
        restart(localCredentials: credentials, now: now)
        return credentials
    }

    /// Stops all activity; later inputs are dropped.
    public mutating func close() {
        state = .closed
        transactions.removeAll()
        triggeredQueue.removeAll()
        transmits.removeAll()
    }

    // MARK: - Outputs

    /// The next datagram to send, or nil.
    public mutating func pollTransmit() -> ICETransmit? { transmits.popFirst() }

    /// The next event, or nil.
    public mutating func pollEvent() -> ICEEvent? { events.popFirst() }

    /// The currently selected pair.
    public var selectedPair: ICESelectedPair? { selected.map(selectedPairValue) }

    /// Remote candidates in use (signalled and peer-reflexive).
    public var remoteCandidates: [ICECandidate] { remotes.map(\.candidate) }

    /// The checklist, best pair first (for stats and tests).
    public var checklist: [ICECandidatePairInfo] {
        pairs.sorted { $0.priority > $1.priority }.map {
            ICECandidatePairInfo(local: locals[$0.local].candidate, remote: remotes[$0.remote].candidate, priority: $0.priority,
                                 state: $0.state, nominated: $0.nominated)
        }
    }

    func selectedPairValue(_ i: Int) -> ICESelectedPair {
        let p = pairs[i]
        return ICESelectedPair(local: locals[p.local].candidate, localCandidateID: locals[p.local].id,
                               remote: remotes[p.remote].candidate, remoteAddress: remotes[p.remote].socketAddress,
                               nominated: p.nominated)
    }

    /// When `handleTimeout` wants to be called next, or nil if nothing is scheduled.
    public func nextDeadline() -> NIODeadline? {
        guard state != .closed else { return nil }
        var next: NIODeadline? = nil
        func consider(_ d: NIODeadline?) {
            guard let d else { return }
            if next == nil || d < next! { next = d }
        }
        for t in transactions.values { consider(t.nextRetransmit ?? t.expiresAt) }
        // Only when an ordinary check could actually be sent (a Frozen pair whose foundation is
        // busy is not eligible), so a blocked checklist never yields a deadline in the past.
        if configuration.mode == .full, state == .checking, remoteCredentials != nil, selected == nil, nextOrdinaryPair() != nil {
            consider(nextOrdinaryCheck)
        }
        if selected == nil, state == .checking { consider(checkingDeadline) }
        if selected != nil, state == .connected { consider(consent.nextDeadline) }
        return next
    }

    /// Drives retransmissions, paced checks, consent and timeouts.
    public mutating func handleTimeout(now: NIODeadline) {
        guard state != .closed else { return }
        retransmit(now: now)
        runChecks(now: now)
        if selected == nil, state == .checking, let d = checkingDeadline, now >= d {
            fail(.timeout)
        }
        consentTick(now: now)
    }

    mutating func emit(_ event: ICEEvent) { events.append(event) }

    mutating func fail(_ reason: ICEFailureReason) {
        guard !failedReported else { return }
        failedReported = true
        state = .failed
        emit(.failed(reason))
    }
}
