/// An ICE candidate as carried in `a=candidate` (RFC 8839 §5.1):
///
///     candidate:<foundation> <component-id> <transport> <priority> <connection-address> <port>
///               typ <cand-type> [raddr <addr>] [rport <port>] *(<extension-att-name> <extension-att-value>)
///
/// Extensions such as `generation`, `network-id`, `network-cost`, `tcptype` and `ufrag` are kept in order.
public struct SDPCandidate: Sendable, Equatable, Hashable, CustomStringConvertible {
    /// The candidate type (RFC 8839 §5.1 `cand-type`, RFC 8445 §5.1.1).
    public enum CandidateType: Sendable, Equatable, Hashable, CustomStringConvertible {
        case host, srflx, prflx, relay
        /// A type token this code does not know, kept for re-emission.
        case other(String)

        public init(_ token: String) {
            switch SDPText.lowercased(token) {
            case "host": self = .host
            case "srflx": self = .srflx
            case "prflx": self = .prflx
            case "relay": self = .relay
            default: self = .other(token)
            }
        }

        public var description: String {
            switch self {
            case .host: "host"
            case .srflx: "srflx"
            case .prflx: "prflx"
            case .relay: "relay"
            case .other(let s): s
            }
        }
    }

    /// An extension attribute (RFC 8839 §5.1 `extension-att-name`/`extension-att-value`).
    public struct Extension: Sendable, Equatable, Hashable {
        public var name: String
        public var value: String

        public init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }
    }

    /// 1–32 ice-chars; FreeSWITCH writes 10-digit numbers that exceed 32 bits, so it stays text.
    public var foundation: String
    /// 1 = RTP, 2 = RTCP (RFC 8445 §5.1.1.1).
    public var component: Int
    /// `udp` / `tcp` as written (FreeSWITCH and Chrome write `udp`, Firefox `UDP`).
    public var transport: String
    public var priority: UInt32
    /// An IP literal or an FQDN (browsers' `.local` mDNS names).
    public var address: String
    public var port: UInt16
    public var type: CandidateType
    public var relatedAddress: String?
    public var relatedPort: UInt16?
    public var extensions: [Extension]

    public init(
        foundation: String, component: Int = 1, transport: String = "udp", priority: UInt32,
        address: String, port: UInt16, type: CandidateType,
        relatedAddress: String? = nil, relatedPort: UInt16? = nil, extensions: [Extension] = []
    ) {
        self.foundation = foundation
        self.component = component
        self.transport = transport
        self.priority = priority
        self.address = address
        self.port = port
        self.type = type
        self.relatedAddress = relatedAddress
        self.relatedPort = relatedPort
        self.extensions = extensions
    }

    /// Parses the value of an `a=candidate` attribute. A leading `a=` and/or `candidate:` is
    /// accepted too, so trickled candidate strings can be passed as they are. Nil on a grammar error.
    public init?(attributeValue: String) {
        self.init(attributeValue: Substring(attributeValue))
    }

    init?(attributeValue raw: Substring) {
        var text = SDPText.trimmed(raw)
        if text.hasPrefix("a=") { text = text.dropFirst(2) }
        if text.utf8.count >= 10, SDPText.equalsIgnoringCase(text.prefix(10), "candidate:") { text = text.dropFirst(10) }
        let f = SDPText.fields(text)
        guard f.count >= 8, SDPText.equalsIgnoringCase(f[6], "typ"),
              f[0].utf8.count <= 256,
              let component = SDPText.unsigned(f[1], max: 256), component >= 1,
              let priority = SDPText.unsigned(f[3], max: UInt64(UInt32.max)),
              let port = SDPText.unsigned(f[5], max: 65535)
        else { return nil }
        self.foundation = String(f[0])
        self.component = Int(component)
        self.transport = String(f[2])
        self.priority = UInt32(priority)
        self.address = String(f[4])
        self.port = UInt16(port)
        self.type = CandidateType(String(f[7]))
        self.relatedAddress = nil
        self.relatedPort = nil
        self.extensions = []
        var i = 8
        if i + 1 < f.count, SDPText.equalsIgnoringCase(f[i], "raddr") {
            relatedAddress = String(f[i + 1])
            i += 2
        }
        if i + 1 < f.count, SDPText.equalsIgnoringCase(f[i], "rport") {
            guard let rp = SDPText.unsigned(f[i + 1], max: 65535) else { return nil }
            relatedPort = UInt16(rp)
            i += 2
        }
        // Extensions come in name/value pairs; an odd count is a grammar error.
        guard (f.count - i) % 2 == 0 else { return nil }
        while i < f.count {
            extensions.append(Extension(String(f[i]), String(f[i + 1])))
            i += 2
        }
    }

    /// The value of the `a=candidate` attribute (without `candidate:`).
    public var attributeValue: String {
        var s = "\(foundation) \(component) \(transport) \(priority) \(address) \(port) typ \(type)"
        if let relatedAddress { s += " raddr \(relatedAddress)" }
        if let relatedPort { s += " rport \(relatedPort)" }
        for e in extensions { s += " \(e.name) \(e.value)" }
        return s
    }

    /// `candidate:…` as browsers' `RTCIceCandidate.candidate` writes it.
    public var description: String { "candidate:" + attributeValue }

    /// The `a=candidate` attribute for this candidate.
    public var attribute: SDPAttribute { SDPAttribute("candidate", attributeValue) }

    /// True for UDP candidates (the only transport FreeSWITCH uses, docs/verto-protocol.md §5.3).
    public var isUDP: Bool { SDPText.equalsIgnoringCase(transport, "udp") }

    /// True when the address is an IPv6 literal.
    public var isIPv6: Bool { address.contains(":") }

    /// True when the address is a browser's mDNS name (`<uuid>.local`, RFC 8839 §5.1 allows FQDNs);
    /// FreeSWITCH ignores these (docs/verto-protocol.md §5.3).
    public var isMDNS: Bool {
        address.utf8.count > 6 && SDPText.equalsIgnoringCase(address.suffix(6), ".local")
    }

    /// True when the address is an IPv4 dotted quad or an IPv6 literal rather than a name.
    public var hasIPLiteralAddress: Bool {
        if isIPv6 { return address.utf8.allSatisfy { c in (c >= 48 && c <= 58) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102) || c == 46 || c == 37 } }
        let parts = SDPText.split(Substring(address), UInt8(ascii: "."))
        return parts.count == 4 && parts.allSatisfy { $0.utf8.count <= 3 && SDPText.unsigned($0, max: 255) != nil }
    }

    /// The value of the extension named `name`, if present.
    public func extensionValue(_ name: String) -> String? {
        extensions.first { SDPText.equalsIgnoringCase($0.name, name) }?.value
    }

    /// The `generation` extension (Chrome, FreeSWITCH).
    public var generation: Int? { extensionValue("generation").flatMap { SDPText.unsigned($0, max: UInt64(Int32.max)) }.map { Int($0) } }

    /// The `network-cost` extension (Chrome).
    public var networkCost: Int? { extensionValue("network-cost").flatMap { SDPText.unsigned($0, max: UInt64(Int32.max)) }.map { Int($0) } }

    /// The `tcptype` extension (RFC 6544 §4.5): `active`, `passive` or `so`.
    public var tcpType: String? { extensionValue("tcptype") }

    /// The candidate priority formula of RFC 8445 §5.1.2.1:
    /// `2^24 * type preference + 2^8 * local preference + (256 - component ID)`.
    public static func priority(typePreference: UInt32, localPreference: UInt32, component: Int) -> UInt32 {
        (min(typePreference, 126) << 24) | (min(localPreference, 65535) << 8) | UInt32(256 - max(1, min(component, 256)))
    }
}
