/// Sender-side RTP state for one audio stream: SSRC, sequence number and media timestamp, with the
/// marker-bit rule of RFC 3551 §4.1 — the marker is set **only on the first packet of a
/// talkspurt** (the first packet sent, and the first after a silence / DTX gap). Setting it on every
/// packet silences bridged FreeSWITCH calls (docs/testing.md).
///
/// Random start values (RFC 3550 §5.1: sequence number and timestamp "SHOULD be random") come from
/// an injected generator. No allocation per packet.
public struct RTPPacketizer: Sendable {
    public let ssrc: UInt32
    public var payloadType: UInt8
    /// RTP clock rate of the media (48 000 for Opus, 8 000 for G.711).
    public let clockRate: Int
    /// Sequence number of the next packet.
    public private(set) var sequenceNumber: UInt16
    /// Media timestamp of the next audio frame.
    public private(set) var timestamp: UInt32
    private var talkspurtStarts = true

    /// Packets and payload octets sent (for the SR's sender info, RFC 3550 §6.4.1).
    public private(set) var packetCount: UInt32 = 0
    public private(set) var octetCount: UInt32 = 0

    public init(ssrc: UInt32, payloadType: UInt8, clockRate: Int, initialSequenceNumber: UInt16,
                initialTimestamp: UInt32) {
        self.ssrc = ssrc
        self.payloadType = payloadType
        self.clockRate = clockRate
        self.sequenceNumber = initialSequenceNumber
        self.timestamp = initialTimestamp
    }

    /// Draws SSRC, first sequence number and first timestamp from `random`.
    public init<R: RandomNumberGenerator>(payloadType: UInt8, clockRate: Int, using random: inout R) {
        self.init(ssrc: UInt32.random(in: 1...UInt32.max, using: &random), payloadType: payloadType,
                  clockRate: clockRate, initialSequenceNumber: UInt16.random(in: 0...UInt16.max, using: &random),
                  initialTimestamp: UInt32.random(in: 0...UInt32.max, using: &random))
    }

    /// True when the next audio packet will carry the marker bit.
    public var nextPacketStartsTalkspurt: Bool { talkspurtStarts }

    /// The header for the next audio frame of `samples` samples (per channel, at the RTP clock),
    /// carrying `payloadLength` bytes. Advances the sequence number and the timestamp.
    public mutating func nextAudioHeader(samples: Int, payloadLength: Int) -> RTPHeader {
        let header = RTPHeader(marker: talkspurtStarts, payloadType: payloadType, sequenceNumber: sequenceNumber,
                               timestamp: timestamp, ssrc: ssrc)
        talkspurtStarts = false
        sequenceNumber &+= 1
        timestamp &+= UInt32(truncatingIfNeeded: samples)
        packetCount &+= 1
        octetCount &+= UInt32(truncatingIfNeeded: payloadLength)
        return header
    }

    /// Lets `samples` of media time pass without sending audio (DTX, mute, hold). The next audio
    /// packet starts a new talkspurt and carries the marker bit (RFC 3551 §4.1).
    public mutating func skipSilence(samples: Int) {
        timestamp &+= UInt32(truncatingIfNeeded: samples)
        talkspurtStarts = true
    }

    /// Lets `samples` of media time pass while something else (a telephone event) is sent in place of
    /// audio. Does not start a new talkspurt.
    public mutating func advance(samples: Int) {
        timestamp &+= UInt32(truncatingIfNeeded: samples)
    }

    /// The header for one telephone-event packet (RFC 4733 §2.1: same SSRC and sequence space as the
    /// audio, the event's own timestamp and payload type). Advances the sequence number only.
    public mutating func nextEventHeader(payloadType: UInt8, timestamp: UInt32, marker: Bool,
                                         payloadLength: Int = TelephoneEvent.length) -> RTPHeader {
        let header = RTPHeader(marker: marker, payloadType: payloadType, sequenceNumber: sequenceNumber,
                               timestamp: timestamp, ssrc: ssrc)
        sequenceNumber &+= 1
        packetCount &+= 1
        octetCount &+= UInt32(truncatingIfNeeded: payloadLength)
        return header
    }
}
