import CoreSupport

/// The outcome of one audio offer/answer exchange, for the media layer (PeerCore): what to send
/// and how, where the remote ICE agent is, and which DTLS role to play. "Remote" values come from
/// the peer's description; `direction` is from our point of view.
public struct NegotiatedAudio: Sendable, Equatable {
    /// The codec both sides agreed on.
    public struct Codec: Sendable, Equatable {
        public var codec: SDPAudioCodec
        /// The payload type to put in RTP we send (and expect in RTP we receive).
        public var payloadType: UInt8
        public var clockRate: UInt32
        public var channels: Int
        /// The peer's `a=fmtp` for this payload type (its receive preferences, RFC 7587 §6.1:
        /// `useinbandfec`, `stereo`, `maxaveragebitrate`, `maxplaybackrate`, `ptime`, …).
        public var parameters: SDPFormatParameters

        public init(codec: SDPAudioCodec, payloadType: UInt8, clockRate: UInt32, channels: Int, parameters: SDPFormatParameters = SDPFormatParameters()) {
            self.codec = codec
            self.payloadType = payloadType
            self.clockRate = clockRate
            self.channels = channels
            self.parameters = parameters
        }

        /// Opus `useinbandfec=1`: the peer can decode in-band FEC, so our encoder should produce it.
        public var useInbandFEC: Bool { parameters.flag("useinbandfec") }
        /// Opus `stereo=1`: the peer prefers to receive stereo (RFC 7587 §6.1).
        public var stereo: Bool { parameters.flag("stereo") }
        /// Opus `usedtx=1`.
        public var useDTX: Bool { parameters.flag("usedtx") }
        /// Opus `cbr=1`.
        public var constantBitrate: Bool { parameters.flag("cbr") }
        /// Opus `maxaveragebitrate` in bits per second.
        public var maxAverageBitrate: Int? { parameters.integer("maxaveragebitrate") }
        /// Opus `maxplaybackrate` in Hz.
        public var maxPlaybackRate: Int? { parameters.integer("maxplaybackrate") }
    }

    /// The negotiated telephone-event format (RFC 4733 §7.1.1).
    public struct TelephoneEvent: Sendable, Equatable {
        public var payloadType: UInt8
        public var clockRate: UInt32

        public init(payloadType: UInt8, clockRate: UInt32) {
            self.payloadType = payloadType
            self.clockRate = clockRate
        }
    }

    /// Index of the audio media description in both offer and answer (matched by position, RFC 3264 §6).
    public var mediaIndex: Int
    /// `a=mid` of the answer's audio section (nil toward FreeSWITCH).
    public var mid: String?
    public var codec: Codec
    /// Nil when the peer did not offer/accept telephone-event at the codec's clock rate.
    public var telephoneEvent: TelephoneEvent?
    /// Packet time the peer asked for (`a=ptime`, else the Opus fmtp `ptime`), in milliseconds.
    public var ptime: Int?
    /// `a=maxptime` of the peer, in milliseconds.
    public var maxptime: Int?
    /// Our direction: whether we send and/or receive media (RFC 3264 §6.1).
    public var direction: SDPMediaDirection
    public var remoteICE: ICECredentials
    /// The peer's candidates as written (all components and transports; the ICE layer filters).
    public var remoteCandidates: [SDPCandidate]
    public var remoteICELite: Bool
    /// The peer wrote `a=end-of-candidates`.
    public var remoteEndOfCandidates: Bool
    /// The fingerprint to check the peer's DTLS certificate against: its `sha-256` one when it
    /// wrote several (aiortc writes sha-256, sha-384 and sha-512), else its first (RFC 8122 §5).
    public var remoteFingerprint: SDPFingerprint
    /// All the peer's certificate fingerprints (media level, else session level), in order.
    public var remoteFingerprints: [SDPFingerprint]
    /// Our DTLS role: client when our side is `active` (RFC 5763 §5).
    public var dtlsRole: DTLSRole
    /// Our ICE role (RFC 8445 §6.1.1).
    public var iceRole: ICERole
    /// RTP and RTCP share one port (RFC 5761): both sides wrote `a=rtcp-mux`.
    public var rtcpMux: Bool
    /// The peer's first `a=ssrc`, if it wrote any.
    public var remoteSSRC: UInt32?
    /// The peer's default destination: `c=` address and `m=` port (RFC 8839 §4.2.1).
    public var remoteAddress: String?
    public var remotePort: UInt16

    public init(
        mediaIndex: Int, mid: String?, codec: Codec, telephoneEvent: TelephoneEvent?, ptime: Int?, maxptime: Int?,
        direction: SDPMediaDirection, remoteICE: ICECredentials, remoteCandidates: [SDPCandidate],
        remoteICELite: Bool, remoteEndOfCandidates: Bool, remoteFingerprint: SDPFingerprint, remoteFingerprints: [SDPFingerprint],
        dtlsRole: DTLSRole, iceRole: ICERole, rtcpMux: Bool, remoteSSRC: UInt32?,
        remoteAddress: String?, remotePort: UInt16
    ) {
        self.mediaIndex = mediaIndex
        self.mid = mid
        self.codec = codec
        self.telephoneEvent = telephoneEvent
        self.ptime = ptime
        self.maxptime = maxptime
        self.direction = direction
        self.remoteICE = remoteICE
        self.remoteCandidates = remoteCandidates
        self.remoteICELite = remoteICELite
        self.remoteEndOfCandidates = remoteEndOfCandidates
        self.remoteFingerprint = remoteFingerprint
        self.remoteFingerprints = remoteFingerprints
        self.dtlsRole = dtlsRole
        self.iceRole = iceRole
        self.rtcpMux = rtcpMux
        self.remoteSSRC = remoteSSRC
        self.remoteAddress = remoteAddress
        self.remotePort = remotePort
    }
}
