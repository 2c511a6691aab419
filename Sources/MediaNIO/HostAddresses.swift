import NIOCore
import NIOPosix

/// Host candidate addresses from the machine's interfaces (RFC 8445 §5.1.1.1): IPv4 first, no
/// link-local, loopback only when asked (or when nothing else exists).
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
}
