import CoreSupport

/// Candidate types, RFC 8445 §5.1.1 (with the recommended type preferences of §5.1.2.2).
public enum ICECandidateType: String, Sendable, Hashable, CaseIterable {
    case host, srflx, prflx, relay

    /// Host and relayed candidates are their own base (RFC 8445 §5.1.1.3): checks leave from them.
    public var isOwnBase: Bool { self == .host || self == .relay }

    /// Recommended type preference, RFC 8445 §5.1.2.2.
    public var typePreference: UInt32 {
        switch self {
        case .host: 126
        case .prflx: 110
        case .srflx: 100
        case .relay: 0
        }
    }
}

/// Candidate transport. Only UDP is used (RFC 8445 §5.1; TCP candidates, RFC 6544, are ignored).
public enum ICETransportProtocol: Sendable, Hashable {
    case udp
    case tcp
    case other(String)

    public init(_ text: String) {
        switch text.lowercased() {
        case "udp": self = .udp
        case "tcp": self = .tcp
        default: self = .other(text)
        }
    }
}

/// The connection address of a candidate as written in SDP: an IP literal, or a host name such
/// as a browser's mDNS `.local` name (which this agent does not resolve).
public enum ICEConnectionAddress: Sendable, Hashable, CustomStringConvertible {
    case ip(TransportAddress)
    case hostname(String, port: UInt16)

    /// An IP literal becomes `.ip`, anything else `.hostname`.
    public init(host: String, port: UInt16) {
        if let a = TransportAddress(literal: host, port: port) { self = .ip(a) } else { self = .hostname(host, port: port) }
    }

    public var transportAddress: TransportAddress? { if case .ip(let a) = self { a } else { nil } }

    /// mDNS names end in ".local" (RFC 6762; draft-ietf-mmusic-mdns-ice-candidates).
    public var isMDNS: Bool {
        if case .hostname(let h, _) = self { h.lowercased().hasSuffix(".local") || h.lowercased().hasSuffix(".local.") } else { false }
    }

    public var description: String {
        switch self {
        case .ip(let a): a.description
        case .hostname(let h, let p): "\(h):\(p)"
        }
    }
}

/// One ICE candidate (RFC 8445 §5.1), local or remote, as a value. SDP text (`a=candidate:`)
/// is parsed and written by SDPCore; this module only uses the fields.
public struct ICECandidate: Sendable, Hashable, CustomStringConvertible {
    public var foundation: String
    /// Component id (1 = RTP; with rtcp-mux the only one used).
    public var component: UInt16
    public var transport: ICETransportProtocol
    public var priority: UInt32
    public var address: ICEConnectionAddress
    public var type: ICECandidateType
    /// `raddr`/`rport` for reflexive and relayed candidates.
    public var relatedAddress: TransportAddress?

    public init(foundation: String, component: UInt16 = 1, transport: ICETransportProtocol = .udp, priority: UInt32,
                address: ICEConnectionAddress, type: ICECandidateType, relatedAddress: TransportAddress? = nil) {
        self.foundation = foundation
        self.component = component
        self.transport = transport
        self.priority = priority
        self.address = address
        self.type = type
        self.relatedAddress = relatedAddress
    }

    /// Convenience for a literal address.
    public init(foundation: String, component: UInt16 = 1, priority: UInt32, address: TransportAddress,
                type: ICECandidateType, relatedAddress: TransportAddress? = nil) {
        self.init(foundation: foundation, component: component, transport: .udp, priority: priority, address: .ip(address),
                  type: type, relatedAddress: relatedAddress)
    }

    /// The candidate priority formula of RFC 8445 §5.1.2.1:
    /// `2^24 * type preference + 2^8 * local preference + (256 - component id)`.
    public static func priority(type: ICECandidateType, localPreference: UInt16 = 65535, component: UInt16 = 1) -> UInt32 {
        (type.typePreference << 24) | (UInt32(localPreference) << 8) | (256 - UInt32(min(max(component, 1), 256)))
    }

    /// The literal transport address, if the candidate has one.
    public var transportAddress: TransportAddress? { address.transportAddress }

    public var description: String {
        "\(foundation) \(component) \(transport == .udp ? "udp" : "\(transport)") \(priority) \(address) typ \(type.rawValue)"
            + (relatedAddress.map { " raddr \($0.ipString) rport \($0.port)" } ?? "")
    }
}

/// Opaque handle of a local candidate, returned by `ICEAgent.addLocalCandidate`; transmits name the
/// host candidate (socket) they must leave from with it.
public struct ICELocalCandidateID: Sendable, Hashable, CustomStringConvertible {
    public let rawValue: Int
    init(_ rawValue: Int) { self.rawValue = rawValue }
    public var description: String { "local#\(rawValue)" }
}

