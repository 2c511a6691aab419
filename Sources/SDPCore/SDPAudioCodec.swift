/// The audio codecs SDPCore negotiates (docs/verto-protocol.md §5.6): Opus (RFC 7587), PCMU and PCMA
/// (RFC 3551 §4.5.14), plus telephone-event (RFC 4733) handled separately.
public enum SDPAudioCodec: String, Sendable, Equatable, Hashable, CaseIterable {
    case opus, pcmu, pcma

    /// The encoding name as written in `a=rtpmap`.
    public var encodingName: String {
        switch self {
        case .opus: "opus"
        case .pcmu: "PCMU"
        case .pcma: "PCMA"
        }
    }

    /// The RTP clock rate: 48000 for Opus whatever the audio bandwidth (RFC 7587 §4.1), else 8000.
    public var clockRate: UInt32 { self == .opus ? 48000 : 8000 }

    /// The rtpmap channel count: Opus is always written `/2` (RFC 7587 §7), G.711 is mono.
    public var channels: Int { self == .opus ? 2 : 1 }

    /// The payload type used when we offer: 111 for Opus (dynamic, as browsers use), 0 and 8 static (RFC 3551 §6).
    public var defaultPayloadType: UInt8 {
        switch self {
        case .opus: 111
        case .pcmu: 0
        case .pcma: 8
        }
    }

    /// The codec an rtpmap describes, if it is one of ours: name compared ignoring case, clock
    /// rate exact, and for Opus the channel count 2 (or absent, tolerated).
    public init?(_ map: SDPRTPMap) {
        for c in SDPAudioCodec.allCases where SDPText.equalsIgnoringCase(map.encodingName, c.encodingName) {
            guard map.clockRate == c.clockRate else { return nil }
            switch c {
            case .opus: guard map.channels == nil || map.channels == 2 else { return nil }
            case .pcmu, .pcma: guard map.channels == nil || map.channels == 1 else { return nil }
            }
            self = c
            return
        }
        return nil
    }

    /// The rtpmap for this codec at `payloadType`.
    public func rtpMap(payloadType: UInt8) -> SDPRTPMap {
        SDPRTPMap(payloadType: payloadType, encodingName: encodingName, clockRate: clockRate, channels: self == .opus ? 2 : nil)
    }

    /// True when `map` is telephone-event (RFC 4733 §7.1.1).
    static func isTelephoneEvent(_ map: SDPRTPMap) -> Bool { SDPText.equalsIgnoringCase(map.encodingName, "telephone-event") }
}
