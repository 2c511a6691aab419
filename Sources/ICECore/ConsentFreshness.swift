import CoreSupport
import NIOCore

/// Consent freshness, RFC 7675: after selection the full agent sends a Binding request on the
/// selected pair every `consentInterval` randomised to 0.8–1.2× (§5.1: "randomized ... to prevent
/// synchronization"), and consent expires `consentTimeout` (30 s) after the last authenticated
/// response from the selected remote. Requests we *answer* do not refresh consent (§5.1).
///
/// The lite agent sends nothing; it treats valid checks from the selected remote as liveness
/// instead (see `ICEConfiguration.liteLivenessTimeout`).
struct ConsentFreshness: Sendable {
    var lastFresh: NIODeadline?
    var nextCheck: NIODeadline?
    var timeout: TimeAmount?
    var lost = false

    mutating func start(now: NIODeadline, configuration: ICEConfiguration, random: inout AnyRandomSource, sendsChecks: Bool) {
        lastFresh = now
        lost = false
        timeout = sendsChecks ? configuration.consentTimeout : configuration.liteLivenessTimeout
        nextCheck = sendsChecks ? now + Self.jittered(configuration.consentInterval, random: &random) : nil
    }

    mutating func fresh(now: NIODeadline) {
        guard !lost else { return }
        lastFresh = now
    }

    var expiry: NIODeadline? {
        guard !lost, let lastFresh, let timeout else { return nil }
        return lastFresh + timeout
    }

    var nextDeadline: NIODeadline? {
        switch (nextCheck, expiry) {
        case (let a?, let b?): min(a, b)
        case (let a?, nil): a
        case (nil, let b?): b
        case (nil, nil): nil
        }
    }

    /// Uniform in [0.8, 1.2] × interval.
    static func jittered(_ interval: TimeAmount, random: inout AnyRandomSource) -> TimeAmount {
        let base = interval.nanoseconds
        let spread = base / 5
        guard spread > 0 else { return interval }
        return .nanoseconds(base - spread + Int64.random(in: 0...(2 * spread), using: &random))
    }
}

extension ICEAgent {
    /// An authenticated response on the selected pair (full), or a valid check from the selected
    /// remote (lite liveness).
    mutating func markConsent(now: NIODeadline) {
        guard !consent.lost else { return }
        consent.fresh(now: now)
        statistics.lastConsentAt = now
    }

    mutating func consentTick(now: NIODeadline) {
        guard state == .connected, let p = selected, !consent.lost else { return }
        if let expiry = consent.expiry, now >= expiry {
            consent.lost = true
            consent.nextCheck = nil
            state = .failed
            failedReported = true
            emit(.consentLost)
            return
        }
        if let next = consent.nextCheck, now >= next {
            sendCheck(pair: p, now: now, purpose: .consent)
            consent.nextCheck = now + ConsentFreshness.jittered(configuration.consentInterval, random: &random)
        }
    }

    /// True while the agent holds consent on its selected pair (RFC 7675 §5.1): the owner must
    /// stop sending media when this turns false.
    public var hasConsent: Bool { selected != nil && state == .connected && !consent.lost }
}
