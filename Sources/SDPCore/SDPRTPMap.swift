/// `a=rtpmap:<payload type> <encoding name>/<clock rate>[/<encoding parameters>]` (RFC 8866 §6.6).
public struct SDPRTPMap: Sendable, Equatable, Hashable {
    public var payloadType: UInt8
    /// As written (`opus`, `PCMU`, `telephone-event`); compare ignoring case.
    public var encodingName: String
    public var clockRate: UInt32
    /// For audio the number of channels (`opus/48000/2`); nil when absent (meaning 1, RFC 8866 §6.6).
    public var channels: Int?

    public init(payloadType: UInt8, encodingName: String, clockRate: UInt32, channels: Int? = nil) {
        self.payloadType = payloadType
        self.encodingName = encodingName
        self.clockRate = clockRate
        self.channels = channels
    }

    /// Parses the value of an `a=rtpmap` attribute; nil on a grammar error.
    public init?(attributeValue: String) {
        self.init(attributeValue: Substring(attributeValue))
    }

    init?(attributeValue: Substring) {
        let f = SDPText.fields(attributeValue)
        guard f.count == 2, let pt = SDPText.unsigned(f[0], max: 127) else { return nil }
        let parts = SDPText.split(f[1], UInt8(ascii: "/"))
        guard parts.count == 2 || parts.count == 3, !parts[0].isEmpty,
              let rate = SDPText.unsigned(parts[1], max: UInt64(UInt32.max))
        else { return nil }
        var channels: Int? = nil
        if parts.count == 3 {
            guard let c = SDPText.unsigned(parts[2], max: 255) else { return nil }
            channels = Int(c)
        }
        self.init(payloadType: UInt8(pt), encodingName: String(parts[0]), clockRate: UInt32(rate), channels: channels)
    }

    public var attributeValue: String {
        var s = "\(payloadType) \(encodingName)/\(clockRate)"
        if let channels { s += "/\(channels)" }
        return s
    }

    public var attribute: SDPAttribute { SDPAttribute("rtpmap", attributeValue) }

    /// The static audio payload types of RFC 3551 §6 that SDPCore uses when no `a=rtpmap` is given.
    public static func staticAudio(_ payloadType: UInt8) -> SDPRTPMap? {
        switch payloadType {
        case 0: SDPRTPMap(payloadType: 0, encodingName: "PCMU", clockRate: 8000)
        case 3: SDPRTPMap(payloadType: 3, encodingName: "GSM", clockRate: 8000)
        case 4: SDPRTPMap(payloadType: 4, encodingName: "G723", clockRate: 8000)
        case 8: SDPRTPMap(payloadType: 8, encodingName: "PCMA", clockRate: 8000)
        case 9: SDPRTPMap(payloadType: 9, encodingName: "G722", clockRate: 8000)
        case 13: SDPRTPMap(payloadType: 13, encodingName: "CN", clockRate: 8000)
        case 18: SDPRTPMap(payloadType: 18, encodingName: "G729", clockRate: 8000)
        default: nil
        }
    }
}
