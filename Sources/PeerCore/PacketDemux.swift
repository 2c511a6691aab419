/// RFC 7983 §7 demultiplexing of one UDP 5-tuple carrying STUN, DTLS and SRTP/SRTCP.
public enum PacketKind: Sendable, Equatable {
    case stun
    case dtls
    case rtp
    case rtcp
    case unknown
}

public enum PacketDemux {
    /// Classifies a datagram by its first byte (and, for RTP/RTCP, the second: with rtcp-mux,
    /// RFC 5761 §4, payload types 64–95 are RTCP packet types 192–223).
    @inline(__always)
    public static func classify(_ bytes: UnsafeRawBufferPointer) -> PacketKind {
        guard let first = bytes.first else { return .unknown }
        switch first {
        case 0...3: return .stun
        case 20...63: return .dtls
        case 128...191:
            guard bytes.count >= 2 else { return .unknown }
            let pt = bytes[1] & 0x7F
            return (64...95).contains(pt) ? .rtcp : .rtp
        default: return .unknown
        }
    }
}
