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
