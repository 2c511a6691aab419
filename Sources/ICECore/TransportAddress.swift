import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An IP address and UDP port as STUN carries it (RFC 8489 §14.1–14.2): a small, allocation-free,
/// hashable value. Converts to and from NIO's `SocketAddress` at the shell boundary.
public struct TransportAddress: Hashable, Sendable, CustomStringConvertible {
    /// The IP part: IPv4 as a host-order `UInt32`, IPv6 as two host-order halves.
    public enum IP: Hashable, Sendable {
        case v4(UInt32)
        case v6(high: UInt64, low: UInt64)
    }

    public var ip: IP
    public var port: UInt16

    public init(ip: IP, port: UInt16) {
        self.ip = ip
        self.port = port
    }

    /// IPv4 from four octets.
    public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8, port: UInt16) {
        self.init(ip: .v4(UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d)), port: port)
    }

    /// IPv6 from 16 network-order bytes.
    public init?(ipv6Bytes bytes: some Collection<UInt8>, port: UInt16) {
        guard bytes.count == 16 else { return nil }
        var hi: UInt64 = 0, lo: UInt64 = 0
        for (i, b) in bytes.enumerated() {
            if i < 8 { hi = hi << 8 | UInt64(b) } else { lo = lo << 8 | UInt64(b) }
        }
        self.init(ip: .v6(high: hi, low: lo), port: port)
    }

    /// Parses a literal IPv4 or IPv6 address (no host names, no brackets, no zone ids).
    /// Returns nil for anything else, for example an mDNS `.local` name.
    public init?(literal: String, port: UInt16) {
        guard let sa = try? SocketAddress(ipAddress: literal, port: Int(port)) else { return nil }
        self.init(sa)
    }

    /// Converts a NIO socket address; nil for Unix-domain addresses.
    public init?(_ address: SocketAddress) {
        switch address {
        case .v4(let a):
            let raw = a.address
            self.init(ip: .v4(UInt32(bigEndian: raw.sin_addr.s_addr)), port: UInt16(bigEndian: raw.sin_port))
        case .v6(let a):
            var raw = a.address
            let port = UInt16(bigEndian: raw.sin6_port)
            let converted: TransportAddress? = withUnsafeBytes(of: &raw.sin6_addr) { TransportAddress(ipv6Bytes: $0, port: port) }
            guard let converted else { return nil }
            self = converted
        case .unixDomainSocket:
            return nil
        }
    }

    public var isIPv4: Bool { if case .v4 = ip { true } else { false } }

    /// True for the IPv4-mapped or IPv6 link-local/loopback families only when asked; ICE pairs
    /// candidates of the same family (RFC 8445 §6.1.2.2).
    public func sameFamily(as other: TransportAddress) -> Bool { isIPv4 == other.isIPv4 }

    /// The 16 (IPv6) or 4 (IPv4) network-order address bytes.
    public var addressBytes: [UInt8] {
        switch ip {
        case .v4(let v): return [UInt8(v >> 24), UInt8(truncatingIfNeeded: v >> 16), UInt8(truncatingIfNeeded: v >> 8), UInt8(truncatingIfNeeded: v)]
        case .v6(let hi, let lo):
            var out = [UInt8](repeating: 0, count: 16)
            for i in 0..<8 {
                out[i] = UInt8(truncatingIfNeeded: hi >> (56 - 8 * UInt64(i)))
                out[8 + i] = UInt8(truncatingIfNeeded: lo >> (56 - 8 * UInt64(i)))
            }
            return out
        }
    }

    /// The NIO socket address for sending.
    public var socketAddress: SocketAddress {
        switch ip {
        case .v4(let v):
            var sin = sockaddr_in()
            sin.sin_family = sa_family_t(AF_INET)
            sin.sin_port = port.bigEndian
            sin.sin_addr.s_addr = v.bigEndian
            return SocketAddress(sin, host: "")
        case .v6:
            var sin6 = sockaddr_in6()
            sin6.sin6_family = sa_family_t(AF_INET6)
            sin6.sin6_port = port.bigEndian
            let bytes = addressBytes
            withUnsafeMutableBytes(of: &sin6.sin6_addr) { dst in
                for i in 0..<16 { dst[i] = bytes[i] }
            }
            return SocketAddress(sin6, host: "")
        }
    }

    /// The address without the port, in the usual text form (dotted quad, RFC 5952 IPv6).
    public var ipString: String {
        switch ip {
        case .v4(let v):
            return "\(v >> 24).\((v >> 16) & 0xFF).\((v >> 8) & 0xFF).\(v & 0xFF)"
        case .v6:
            return socketAddress.ipAddress ?? "?"
        }
    }

    public var description: String {
        isIPv4 ? "\(ipString):\(port)" : "[\(ipString)]:\(port)"
    }
}
