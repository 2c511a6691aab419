import ICECore
import NIOCore
import SDPCore

/// Converts candidates between SDPCore's text model and ICECore's agent model.
enum SDPBridge {
    /// RFC 8839 §5.1 candidate attribute from an agent candidate (literal IPs only).
    static func sdpCandidate(_ c: ICECandidate) -> SDPCandidate? {
        guard let t = c.transportAddress else { return nil }
        let a = t.socketAddress
        guard let ip = a.ipAddress, let port = a.port else { return nil }
        let type: SDPCandidate.CandidateType
        switch c.type {
        case .host: type = .host
        case .srflx: type = .srflx
        case .prflx: type = .prflx
        case .relay: type = .relay
        }
        let related = c.relatedAddress.map { $0.socketAddress }
        return SDPCandidate(foundation: c.foundation, component: Int(c.component), transport: "udp", priority: c.priority,
                            address: ip, port: UInt16(port), type: type,
                            relatedAddress: related?.ipAddress, relatedPort: related?.port.map { UInt16($0) })
    }

    /// An agent candidate from SDP. TCP, component-2 and mDNS candidates are passed on so the agent
    /// can reject and count them (RFC 8445 §5.1; docs/verto-protocol.md §5.3).
    static func iceCandidate(_ c: SDPCandidate) -> ICECandidate? {
        let type: ICECandidateType
        switch c.type {
        case .host: type = .host
        case .srflx: type = .srflx
        case .prflx: type = .prflx
        case .relay: type = .relay
        case .other: return nil
        }
        let related: TransportAddress? = {
            guard let a = c.relatedAddress, let p = c.relatedPort else { return nil }
            return TransportAddress(literal: a, port: p)
        }()
        return ICECandidate(foundation: c.foundation, component: UInt16(clamping: c.component),
                            transport: ICETransportProtocol(c.transport), priority: c.priority,
                            address: ICEConnectionAddress(host: c.address, port: c.port), type: type, relatedAddress: related)
    }
}
