import CryptoCore
import ICECore
import MediaCore
import NIOCore
import OpusCodec
import SDPCore

/// Settings of one audio peer connection.
public struct PeerSessionConfiguration: Sendable {
    /// `.full` for the client role; `.lite` for the server role (RFC 8445 §2.5).
    public var ice: ICEConfiguration
    public var dtls: DTLSConfiguration
    /// Encoder settings for Opus (complexity is the capacity knob).
    public var opus: OpusEncoderConfiguration
    /// Jitter buffer bounds; clock rate and FEC follow the negotiated codec.
    public var jitter: JitterBufferConfiguration
    public var offer: AudioOfferOptions
    public var answer: AudioAnswerOptions
    /// RTCP report interval (RFC 3550 §6.2: randomised ×[0.5, 1.5]).
    public var rtcpInterval: TimeAmount
    /// Frame duration (ptime) of what we send.
    public var frameDuration: TimeAmount
    /// Optional STUN server for a server-reflexive candidate (RFC 8445 §5.1.1.2): opt-in and
    /// bounded by `stunMaximumWait` (docs/performance.md §5). Nil: host candidates only.
    public var stunServer: SocketAddress?
    public var stunMaximumWait: TimeAmount = .milliseconds(500)

    public init(ice: ICEConfiguration = .full, dtls: DTLSConfiguration = DTLSConfiguration(),
                opus: OpusEncoderConfiguration = OpusEncoderConfiguration(),
                jitter: JitterBufferConfiguration = JitterBufferConfiguration(),
                offer: AudioOfferOptions = AudioOfferOptions(), answer: AudioAnswerOptions = AudioAnswerOptions(),
                rtcpInterval: TimeAmount = .seconds(5), frameDuration: TimeAmount = .milliseconds(20)) {
        self.ice = ice
        self.dtls = dtls
        self.opus = opus
        self.jitter = jitter
        self.offer = offer
        self.answer = answer
        self.rtcpInterval = rtcpInterval
        self.frameDuration = frameDuration
    }

    /// The server role: ICE-lite, `a=ice-lite` in our SDP.
    public static var serverRole: PeerSessionConfiguration {
        var c = PeerSessionConfiguration(ice: ICEConfiguration(mode: .lite))
        c.offer.iceLite = true
        c.answer.iceLite = true
        return c
    }
}
