import NIOCore
import NIOPosix

/// Host candidate addresses from the machine's interfaces (RFC 8445 §5.1.1.1): no link-local,
/// loopback only when asked (or, for IPv4, when nothing else exists).
public enum HostAddresses {
    public static func ipv4(includeLoopback: Bool = false) -> [String] {
        let devices = (try? System.enumerateDevices()) ?? []
        var out: [String] = []
        for d in devices {
            guard let a = d.address, case .v4 = a, let ip = a.ipAddress else { continue }
            if ip.hasPrefix("169.254.") { continue }
            if ip.hasPrefix("127.") && !includeLoopback { continue }
            if !out.contains(ip) { out.append(ip) }
        }
        if out.isEmpty && !includeLoopback { return ipv4(includeLoopback: true) }
        return out
    }

    /// The machine's IPv6 addresses fit for host candidates: global and unique-local ones; never
    /// link-local (fe80::/10, they need a zone), IPv4-mapped or, unless asked, loopback.
    public static func ipv6(includeLoopback: Bool = false) -> [String] {
        let devices = (try? System.enumerateDevices()) ?? []
        var out: [String] = []
        for d in devices {
            guard let a = d.address, case .v6 = a, let ip = a.ipAddress?.lowercased() else { continue }
            if ip.hasPrefix("fe8") || ip.hasPrefix("fe9") || ip.hasPrefix("fea") || ip.hasPrefix("feb") { continue }
            if ip.hasPrefix("::ffff:") { continue }
            if ip == "::1" && !includeLoopback { continue }
            if !out.contains(ip) { out.append(ip) }
        }
        return out
    }

    /// RFC 8421 §4: host candidates of both families interleaved, IPv6 first, so that neither
    /// family's checks wait behind all of the other's — after `first` (the signalling route's
    /// local address, the one known to reach the server), when given.
    public static func interleaved(ipv6: [String], ipv4: [String], first: String? = nil) -> [String] {
        var out: [String] = []
        if let first { out.append(first) }
        let ipv6 = ipv6.filter { $0 != first }, ipv4 = ipv4.filter { $0 != first }
        for i in 0..<max(ipv6.count, ipv4.count) {
            if i < ipv6.count { out.append(ipv6[i]) }
            if i < ipv4.count { out.append(ipv4[i]) }
        }
        return out
    }
}
