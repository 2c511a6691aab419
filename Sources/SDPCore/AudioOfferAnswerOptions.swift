import CoreSupport

/// What we put into every description we write: our ICE credentials, candidates, certificate
/// fingerprint, RTP source and the `o=` identity. Create one per peer connection (fresh credentials
/// mean an ICE restart, RFC 8839 §4.4.1.1.1) and bump `sessionVersion` for each new offer or
/// answer in the same session (RFC 8866 §5.2).
public struct LocalAudioEndpoint: Sendable, Equatable {
    public var iceCredentials: ICECredentials
    /// Our certificate fingerprint(s); the first is written first (RFC 8122 §5).
    public var fingerprints: [SDPFingerprint]
    /// Our candidates in the order to write them; the first UDP component-1 candidate is the
    /// default destination written into `m=` and `c=` (RFC 8839 §4.2.1.2, §4.3).
    public var candidates: [SDPCandidate]
    /// Our RTP SSRC, written as `a=ssrc:<ssrc> cname:<cname>` (RFC 5576 §4.1).
    public var ssrc: UInt32
    /// Our RTCP CNAME (RFC 7022: random, per session).
    public var cname: String
    /// `o=` session id (RFC 8866 §5.2: a numeric string, at most 63 bits as browsers use).
    public var sessionID: UInt64
    /// `o=` session version; increment for every new description in the same session.
    public var sessionVersion: UInt64

    public init(
        iceCredentials: ICECredentials, fingerprints: [SDPFingerprint], candidates: [SDPCandidate],
        ssrc: UInt32, cname: String, sessionID: UInt64, sessionVersion: UInt64 = 2
    ) {
        self.iceCredentials = iceCredentials
        self.fingerprints = fingerprints
        self.candidates = candidates
        self.ssrc = ssrc
        self.cname = cname
        self.sessionID = sessionID
        self.sessionVersion = sessionVersion
    }

    /// Increments `sessionVersion`: call before writing each new offer or answer of the same
    /// session, e.g. a hold re-offer (RFC 3264 §8, RFC 8866 §5.2).
    public mutating func bumpVersion() { sessionVersion &+= 1 }

    /// A new endpoint with random ICE credentials, SSRC, CNAME and session id from `generator`
    /// (inject `AnyRandomSource.system` in production, a seeded one in tests).
    public static func generate(
        fingerprint: SDPFingerprint, candidates: [SDPCandidate], using generator: inout some RandomNumberGenerator
    ) -> LocalAudioEndpoint {
        let ice = ICECredentials.random(using: &generator)
        let ssrc = UInt32.random(in: 1...UInt32.max, using: &generator)
        let cname = generator.string(length: 16, alphabet: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        let sid = UInt64.random(in: 1...UInt64(Int64.max), using: &generator)
        return LocalAudioEndpoint(
            iceCredentials: ice, fingerprints: [fingerprint], candidates: candidates,
            ssrc: ssrc, cname: cname, sessionID: sid)
    }
}

/// A telephone-event format we offer (RFC 4733 §7.1.1).
public struct TelephoneEventFormat: Sendable, Equatable, Hashable {
    public var payloadType: UInt8
    public var clockRate: UInt32
    /// The events, e.g. `0-16` (RFC 4733 §7.1.1); nil writes no `a=fmtp`.
    public var events: String?

    public init(payloadType: UInt8, clockRate: UInt32, events: String? = "0-16") {
        self.payloadType = payloadType
        self.clockRate = clockRate
        self.events = events
    }
}

/// How to write an audio offer (docs/verto-protocol.md §5.9). The defaults suit FreeSWITCH: one
/// `m=audio`, `UDP/TLS/RTP/SAVPF`, Opus 111, PCMU 0, PCMA 8, telephone-event 110 (/48000) and
/// 126 (/8000), `a=setup:actpass`, `a=rtcp-mux`, no BUNDLE group, no `a=mid`, no `a=ice-options`.
public struct AudioOfferOptions: Sendable, Equatable {
    /// `UDP/TLS/RTP/SAVPF` (RFC 5764 §8) or `RTP/SAVPF` (what FreeSWITCH itself writes).
    public var proto: String = "UDP/TLS/RTP/SAVPF"
    /// Codecs in order of preference; each at most once.
    public var codecs: [SDPAudioCodec] = [.opus, .pcmu, .pcma]
    /// The dynamic payload type for Opus.
    public var opusPayloadType: UInt8 = 111
    /// Our Opus receive parameters (RFC 7587 §6.1), written as `a=fmtp:111`.
    public var opusParameters: SDPFormatParameters = AudioOfferOptions.defaultOpusParameters
    public var telephoneEvents: [TelephoneEventFormat] = [
        TelephoneEventFormat(payloadType: 110, clockRate: 48000),
        TelephoneEventFormat(payloadType: 126, clockRate: 8000),
    ]
    /// `a=mid` value; nil (the default) writes none, as FreeSWITCH expects (docs/testing.md).
    public var mid: String? = nil
    /// Our direction: `sendonly` or `inactive` to put the call on hold (RFC 3264 §8.4).
    public var direction: SDPMediaDirection = .sendrecv
    /// Write session-level `a=ice-lite` (our server role may run a lite agent, RFC 8839 §5.3).
    public var iceLite: Bool = false
    /// `a=ice-options` tokens (RFC 8839 §5.6); empty writes none.
    public var iceOptions: [String] = []
    /// Write `a=end-of-candidates` after the candidates (RFC 8840 §8.2): we never trickle to FreeSWITCH.
    public var endOfCandidates: Bool = true
    /// `a=ptime` in milliseconds; nil writes none.
    public var ptime: Int? = nil
    /// Write `a=ssrc:<ssrc> cname:<cname>`.
    public var includeSSRC: Bool = true

    public init() {}

    /// `minptime=10;useinbandfec=1`, what browsers offer.
    public static let defaultOpusParameters = SDPFormatParameters([
        .init("minptime", "10"), .init("useinbandfec", "1"),
    ])

    /// The default Opus parameters plus `stereo=1;sprop-stereo=1` (RFC 7587 §6.1) when `stereo`.
    public static func opusParameters(stereo: Bool) -> SDPFormatParameters {
        var p = defaultOpusParameters
        if stereo { p.parameters += [.init("stereo", "1"), .init("sprop-stereo", "1")] }
        return p
    }
}

/// How to answer an audio offer.
public struct AudioAnswerOptions: Sendable, Equatable {
    /// The codecs we accept; the offerer's order decides among them (RFC 3264 §6.1).
    public var codecs: [SDPAudioCodec] = [.opus, .pcmu, .pcma]
    /// Our Opus receive parameters, written as `a=fmtp` when Opus is chosen.
    public var opusParameters: SDPFormatParameters = AudioOfferOptions.defaultOpusParameters
    /// What we want: `sendrecv` normally, `sendonly`/`inactive` to hold. The written direction is
    /// this intersected with the reverse of the offered one (RFC 3264 §6.1).
    public var direction: SDPMediaDirection = .sendrecv
    /// Our `a=setup` when the offer says `actpass`: `active` (RFC 5763 §5's recommendation, and what
    /// FreeSWITCH expects, docs/verto-protocol.md §5.4) or `passive`.
    public var setupForActpass: SDPSetupRole = .active
    /// Write session-level `a=ice-lite`.
    public var iceLite: Bool = false
    /// `a=ice-options` tokens; empty writes none.
    public var iceOptions: [String] = []
    /// Write `a=end-of-candidates`.
    public var endOfCandidates: Bool = true
    /// `a=ptime` in milliseconds; nil writes none.
    public var ptime: Int? = nil
    /// Write `a=ssrc:<ssrc> cname:<cname>`.
    public var includeSSRC: Bool = true
    /// When the offer has a BUNDLE group containing the accepted section's mid, answer
    /// `a=group:BUNDLE <mid>` (RFC 9143 §7.3; harmless with one section, and browsers using
    /// `max-bundle` need it). FreeSWITCH never offers BUNDLE, so this never applies to it.
    public var acceptBundle: Bool = true

    public init() {}
}

/// An answer we wrote and what it negotiated.
public struct AudioAnswer: Sendable, Equatable {
    public var answer: SessionDescription
    public var negotiated: NegotiatedAudio

    public init(answer: SessionDescription, negotiated: NegotiatedAudio) {
        self.answer = answer
        self.negotiated = negotiated
    }
}
