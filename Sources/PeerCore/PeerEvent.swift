import CryptoCore
import NIOCore
import RTPCore

/// Outputs of a `PeerSession` besides datagrams and decoded audio.
public enum PeerEvent: Sendable, Equatable {
    /// Candidate gathering finished (with a server-reflexive candidate when a STUN server answered).
    case gatheringComplete
    /// ICE selected a pair (RFC 8445 §8).
    case iceConnected
    /// DTLS completed and SRTP is keyed: media flows.
    case connected(SRTPProtectionProfile)
    /// A DTMF digit arrived as an RFC 4733 telephone-event.
    case dtmf(DTMFDigit)
    /// The session failed and stopped (ICE failure, consent lost, DTLS failure).
    case failed(PeerError)
    /// The peer closed DTLS (close_notify).
    case closed
    /// Connected, the peer is expected to send audio, and nothing arrived for
    /// `PeerSessionConfiguration.stallTimeout`: the path is probably gone (a network change, a
    /// NAT binding lost). The owner may restart ICE. Reported once per stall.
    case pathStalled
    /// Audio arrives again after `pathStalled`.
    case pathRecovered
}

/// Setup milestones with their times (for stats, the CLI timeline and the benchmarks).
public struct PeerMilestones: Sendable, Equatable {
    public var remoteDescriptionApplied: NIODeadline?
    public var iceConnected: NIODeadline?
    public var dtlsConnected: NIODeadline?
    public var firstRTPSent: NIODeadline?
    public var firstRTPReceived: NIODeadline?
    public var firstFrameDecoded: NIODeadline?

    public init() {}
}

/// Counters and quality figures of a `PeerSession` (RFC 3550 §6.4 terms).
public struct PeerStatistics: Sendable, Equatable {
    public var packetsSent = 0
    public var bytesSent = 0
    public var packetsReceived = 0
    public var bytesReceived = 0
    /// Packets lost as seen by the receive statistics (RFC 3550 A.3).
    public var packetsLost: Int32 = 0
    /// Interarrival jitter in RTP clock units (RFC 3550 A.8).
    public var jitter: UInt32 = 0
    /// Round-trip time from RTCP LSR/DLSR (RFC 3550 §6.4.1), once known.
    public var roundTripTime: TimeAmount?
    /// What the peer reports about our stream.
    public var remoteFractionLost: UInt8 = 0
    public var remoteCumulativeLost: Int32 = 0
    public var rtcpSent = 0
    public var rtcpReceived = 0
    public var framesDecoded = 0
    /// Payloads received and passed on undecoded (`forwardsPayloads`), and sent from another session
    /// (`sendEncoded`).
    public var payloadsForwardedOut = 0
    public var payloadsForwardedIn = 0
    public var framesConcealed = 0
    public var framesRecovered = 0
    public var dtmfSent = 0
    public var dtmfReceived = 0
    /// Datagrams dropped: SRTP authentication/replay failures, malformed RTP/RTCP, unknown kinds.
    public var srtpFailures = 0
    public var malformed = 0
    public var unknownDatagrams = 0
    /// Audio frames offered before media was up (dropped).
    public var framesDroppedBeforeConnected = 0

    public init() {}
}

/// A decoded audio frame, interleaved Int16 at the codec's sample rate.
/// An encoded payload received by a session that forwards (a bridge without transcoding), for
/// `sendEncoded` on a session of the same codec.
public struct ForwardedPayload: Sendable, Equatable {
    public var payload: [UInt8]
    /// RTP clock units since the previous forwarded payload (0 for the first): a gap (DTX, loss)
    /// is kept in the outgoing timestamps.
    public var gap: Int
    /// The sender's marker bit: a talkspurt starts (RFC 3551 §4.1).
    public var marker: Bool

    public init(payload: [UInt8], gap: Int, marker: Bool) {
        self.payload = payload
        self.gap = gap
        self.marker = marker
    }
}

public struct DecodedFrame: Sendable, Equatable {
    public var samples: [Int16]
    public var sampleRate: Int
    public var channels: Int
    /// RTP timestamp of the frame (of the concealed frame for PLC output).
    public var timestamp: UInt32
    public enum Origin: Sendable, Equatable { case decoded, concealed, recovered }
    public var origin: Origin
}
