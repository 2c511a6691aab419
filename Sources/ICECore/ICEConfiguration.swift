import NIOCore

/// Full agent (RFC 8445) or lite agent (RFC 8445 §2.5).
public enum ICEMode: String, Sendable, Hashable {
    case full, lite
}

/// Tunables of the agent. Defaults are chosen for low-latency setup on fast paths (docs/performance.md,
/// "no timers on the setup path") while staying polite on real networks.
public struct ICEConfiguration: Sendable, Hashable {
    public var mode: ICEMode
    /// Ta, the pacing of *ordinary* checks (RFC 8445 §14.2 lets the application choose; RFC 8445
    /// recommends 50 ms for RTP-only sessions). Default 5 ms: the first check leaves at once, later
    /// ones at most every 5 ms. Triggered checks (answers to a peer's check) are not held back by
    /// Ta: they are bounded by the peer's own pacing.
    public var pacing: TimeAmount
    /// First retransmission timeout of a check (RFC 8489 §6.2.1 allows smaller than 500 ms when
    /// the RTT is known to be small). Default 50 ms, doubling, capped at `maximumRTO`.
    public var initialRTO: TimeAmount
    public var maximumRTO: TimeAmount
    /// Transmissions per check transaction (Rc). Default 10: 50+100+200+400+500×6 ms ≈ 3.75 s, long
    /// enough for FreeSWITCH to receive our answer over signaling and start answering.
    public var maximumTransmissions: Int
    /// RFC 7675 §5.1: consent checks every `consentInterval`, randomised to 0.8–1.2× (4–6 s).
    public var consentInterval: TimeAmount
    /// RFC 7675 §5.1: consent expires after 30 s without a response.
    public var consentTimeout: TimeAmount
    /// Give up (`.failed(.timeout)`) when no pair was selected this long after checking started.
    public var checkingTimeout: TimeAmount
    /// Lite agents only: choose the first pair a valid check arrived on before any USE-CANDIDATE,
    /// so that media (DTLS from the full peer) can be answered at once. The nominated pair replaces
    /// it when USE-CANDIDATE arrives. Default true.
    public var liteProvisionalSelection: Bool
    /// Lite agents do not send consent checks (RFC 7675 is for the sender); instead they report
    /// `.consentLost` when no valid check arrived from the selected remote for this long (browsers
    /// send consent checks every ~5 s). nil disables it.
    public var liteLivenessTimeout: TimeAmount?
    /// Upper bounds (RFC 8445 §6.1.2.5 suggests 100 pairs).
    public var maximumPairs: Int
    public var maximumRemoteCandidates: Int
    /// SOFTWARE attribute for our messages (RFC 8489 §14.14); nil omits it.
    public var software: String?

    public init(mode: ICEMode = .full, pacing: TimeAmount = .milliseconds(5), initialRTO: TimeAmount = .milliseconds(50),
                maximumRTO: TimeAmount = .milliseconds(500), maximumTransmissions: Int = 10,
                consentInterval: TimeAmount = .seconds(5), consentTimeout: TimeAmount = .seconds(30),
                checkingTimeout: TimeAmount = .seconds(30), liteProvisionalSelection: Bool = true,
                liteLivenessTimeout: TimeAmount? = .seconds(30), maximumPairs: Int = 100,
                maximumRemoteCandidates: Int = 100, software: String? = nil) {
        self.mode = mode
        self.pacing = pacing
        self.initialRTO = initialRTO
        self.maximumRTO = maximumRTO
        self.maximumTransmissions = max(1, maximumTransmissions)
        self.consentInterval = consentInterval
        self.consentTimeout = consentTimeout
        self.checkingTimeout = checkingTimeout
        self.liteProvisionalSelection = liteProvisionalSelection
        self.liteLivenessTimeout = liteLivenessTimeout
        self.maximumPairs = maximumPairs
        self.maximumRemoteCandidates = maximumRemoteCandidates
        self.software = software
    }

    public static let full = ICEConfiguration(mode: .full)
    public static let lite = ICEConfiguration(mode: .lite)
}
