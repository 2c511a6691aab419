import CoreSupport
import CryptoCore
import ICECore
import MediaCore
import NIOCore
import OpusCodec
import SDPCore

/// A TURN server, resolved: where it is, how to reach it, and the long-term credentials.
public struct TURNServerConfiguration: Sendable, Hashable {
    public var address: SocketAddress
    public var transport: TURNTransport
    public var credentials: TURNCredentials?
    /// The name to check the server's TLS certificate against (turns:), nil for an IP literal.
    public var serverName: String?
    /// Whom to trust for `turns:` (TLS).
    public var trust: RelayStreamEndpoint.Trust = .system

    public init(address: SocketAddress, transport: TURNTransport = .udp, credentials: TURNCredentials?, serverName: String? = nil) {
        self.address = address
        self.transport = transport
        self.credentials = credentials
        self.serverName = serverName
    }
}

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
    /// TURN servers (RFC 8656), each giving a relayed candidate gathered before the SDP is
    /// written, bounded by `turn.allocationTimeout` (Verto does not trickle).
    public var turnServers: [TURNServerConfiguration] = []
    /// Timers and limits of the TURN clients.
    public var turn = TURNClient.Configuration()
    /// ICE transport policy "relay" (as in WebRTC's RTCConfiguration): only relayed candidates
    /// are offered and used; nothing is sent or accepted on the direct path.
    public var relayOnly = false
    /// No audio from a peer that should be sending for this long raises `.pathStalled` (nil: never).
    public var stallTimeout: TimeAmount? = .seconds(2)

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
