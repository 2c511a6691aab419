import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Asks the kernel whether a destination has a route, without sending anything: `connect(2)` on a
/// throwaway UDP socket performs the route lookup and fails with ENETUNREACH (or EHOSTUNREACH,
/// EADDRNOTAVAIL for a family the host has no address in) when there is none.
///
/// Why the media shell needs it: a `sendmsg` that fails with ENETUNREACH is fatal to a SwiftNIO
/// datagram channel (only EMSGSIZE and EHOSTUNREACH are recoverable), and one ICE check to a remote
/// candidate this host cannot route to — common: a peer's IPv6 or private-network candidate — would
/// close the socket every other candidate pair and the TURN allocation share.
public enum RouteProbe {
    public static func isRoutable(_ destination: SocketAddress) -> Bool {
        let family: Int32
        switch destination {
        case .v4: family = AF_INET
        case .v6: family = AF_INET6
        case .unixDomainSocket: return false
        }
        #if canImport(Glibc)
        let fd = socket(family, Int32(SOCK_DGRAM.rawValue), 0)
        #else
        let fd = socket(family, SOCK_DGRAM, 0)
        #endif
        guard fd >= 0 else { return true }  // cannot tell: let the send decide
        defer { close(fd) }
        let result = destination.withSockAddr { sa, length in connect(fd, sa, socklen_t(length)) }
        if result == 0 { return true }
        switch errno {
        case ENETUNREACH, EHOSTUNREACH, EADDRNOTAVAIL, EAFNOSUPPORT: return false
        default: return true
        }
    }
}

/// Remembers `RouteProbe` answers per IP for a while (routes change when networks do).
struct RouteCache {
    private var entries: [String: (routable: Bool, until: NIODeadline)] = [:]
    private var last: (address: SocketAddress, until: NIODeadline)?
    let lifetime: TimeAmount

    init(lifetime: TimeAmount = .seconds(5)) { self.lifetime = lifetime }

    /// Dropped datagrams (no route).
    private(set) var unroutable = 0

    mutating func isRoutable(_ destination: SocketAddress, now: NIODeadline) -> Bool {
        // The media path sends to one destination over and over: one comparison.
        if let last, last.address == destination, now < last.until { return true }
        let key = destination.ipAddress ?? ""
        let routable: Bool
        if let e = entries[key], now < e.until {
            routable = e.routable
        } else {
            routable = RouteProbe.isRoutable(destination)
            if entries.count > 256 { entries.removeAll() }
            entries[key] = (routable, now + lifetime)
        }
        if routable { last = (destination, now + lifetime) } else { unroutable += 1 }
        return routable
    }
}
