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

/// The parameters of an `a=fmtp:<format> <parameters>` attribute (RFC 8866 §6.15), split on `;`
/// with spaces trimmed (FreeSWITCH writes `useinbandfec=1; stereo=1`, browsers write no spaces).
/// Order is kept; a piece without `=` (e.g. telephone-event's `0-16`, red's `111/111`) has value "".
public struct SDPFormatParameters: Sendable, Equatable, Hashable, CustomStringConvertible {
    public struct Parameter: Sendable, Equatable, Hashable {
        public var key: String
        public var value: String

        public init(_ key: String, _ value: String) {
            self.key = key
            self.value = value
        }
    }

    public var parameters: [Parameter]

    public init(_ parameters: [Parameter] = []) {
        self.parameters = parameters
    }

    /// Builds parameters from `(key, value)` pairs in order.
    public init(_ pairs: KeyValuePairs<String, String>) {
        self.parameters = pairs.map { Parameter($0.key, $0.value) }
    }

    /// Parses the text after the format, e.g. `minptime=10;useinbandfec=1`.
    public init(parsing text: String) {
        self.init(parsing: Substring(text))
    }

    init(parsing text: Substring) {
        var out: [Parameter] = []
        for piece in SDPText.split(text, UInt8(ascii: ";")) {
            let p = SDPText.trimmed(piece)
            if p.isEmpty { continue }
            let (k, v) = SDPText.splitOnce(p, UInt8(ascii: "="))
            out.append(Parameter(String(SDPText.trimmed(k)), v.map { String(SDPText.trimmed($0)) } ?? ""))
        }
        self.parameters = out
    }

    /// The value for `key` (ASCII case-insensitive, RFC 7587 §7 keys are case-insensitive).
    public subscript(key: String) -> String? {
        parameters.first { SDPText.equalsIgnoringCase($0.key, key) }?.value
    }

    /// The value for `key` as an unsigned integer.
    public func integer(_ key: String) -> Int? {
        self[key].flatMap { SDPText.unsigned($0, max: UInt64(Int32.max)) }.map { Int($0) }
    }

    /// True when `key` is `1` (the Opus boolean parameters of RFC 7587 §6.1).
    public func flag(_ key: String) -> Bool { self[key] == "1" }

    public var isEmpty: Bool { parameters.isEmpty }

    /// `k=v;k=v` (no spaces, as browsers write it).
    public var description: String {
        parameters.map { $0.value.isEmpty ? $0.key : "\($0.key)=\($0.value)" }.joined(separator: ";")
    }
}

/// One `a=ssrc:<ssrc-id> <attribute>[:<value>]` line (RFC 5576 §4.1), e.g. `cname:…`, `msid:…`.
public struct SDPSSRCAttribute: Sendable, Equatable, Hashable {
    public var ssrc: UInt32
    public var name: String
    public var value: String?

    public init(ssrc: UInt32, name: String, value: String? = nil) {
        self.ssrc = ssrc
        self.name = name
        self.value = value
    }

    public init?(attributeValue: String) {
        self.init(attributeValue: Substring(attributeValue))
    }

    init?(attributeValue: Substring) {
        let (idText, rest) = SDPText.splitOnce(SDPText.trimmed(attributeValue), UInt8(ascii: " "))
        guard let id = SDPText.unsigned(idText, max: UInt64(UInt32.max)), let rest else { return nil }
        let (name, value) = SDPText.splitOnce(SDPText.trimmed(rest), UInt8(ascii: ":"))
        guard !name.isEmpty else { return nil }
        self.init(ssrc: UInt32(id), name: String(name), value: value.map(String.init))
    }

    public var attributeValue: String { "\(ssrc) \(name)" + (value.map { ":\($0)" } ?? "") }

    public var attribute: SDPAttribute { SDPAttribute("ssrc", attributeValue) }
}

/// `a=rtcp:<port> [<nettype> <addrtype> <connection-address>]` (RFC 3605 §2.1).
public struct SDPRTCPAttribute: Sendable, Equatable, Hashable {
    public var port: UInt16
    public var connection: SDPConnection?

    public init(port: UInt16, connection: SDPConnection? = nil) {
        self.port = port
        self.connection = connection
    }

    public init?(attributeValue: String) {
        self.init(attributeValue: Substring(attributeValue))
    }

    init?(attributeValue: Substring) {
        let f = SDPText.fields(attributeValue)
        guard f.count == 1 || f.count == 4, let port = SDPText.unsigned(f[0], max: 65535) else { return nil }
        self.port = UInt16(port)
        self.connection = f.count == 4
            ? SDPConnection(networkType: String(f[1]), addressType: String(f[2]), address: String(f[3])) : nil
    }

    public var attributeValue: String { "\(port)" + (connection.map { " \($0.value)" } ?? "") }
}
