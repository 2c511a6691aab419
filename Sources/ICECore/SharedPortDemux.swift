import NIOCore

/// Which ICE agent a datagram on a shared UDP port belongs to, when many agents (one per call)
/// use the same local port. Sans-IO: the shell registers each agent's local username fragment,
/// tells the demultiplexer where each agent sends, and asks it where each received datagram goes.
///
/// - A STUN Binding request names its recipient in USERNAME ("recipient-ufrag:sender-ufrag",
///   RFC 8445 §7.2.2): it goes to the agent with that local ufrag, whatever its source.
/// - Everything else (STUN responses and indications, DTLS, SRTP, SRTCP; RFC 7983 §7) goes to the
///   agent that owns its source address.
/// - An agent owns a remote address once it sends to it, or once a Binding request for its ufrag
///   arrives from it, provided no other agent owns it already. Ownership lasts until the agent is
///   removed. So an address one call uses cannot be taken over by another call's candidates (a peer
///   that names someone else's address in its SDP gets nothing), and only the call's own peer, who
///   knows its ufrag from the SDP, can claim an address by a request.
///
/// Two calls whose far ends share one address and port cannot be told apart: the first to use
/// the address receives its non-STUN traffic. Browsers and phones use a port per peer connection.
public struct SharedPortDemux<Target: Hashable>: Sendable where Target: Sendable {
    private var byUfrag: [String: Target] = [:]
    private var ufragOf: [Target: String] = [:]
    private var owner: [SocketAddress: Target] = [:]
    private var owned: [Target: [SocketAddress]] = [:]
    /// Datagrams no agent took: unknown ufrag, unknown source, or not STUN/DTLS/RTP.
    public private(set) var unrouted = 0
    /// Addresses one agent may own at most: a flood of requests for its ufrag from ever new
    /// (spoofed) sources cannot grow the tables without bound. ICE needs a handful per call.
    public static var addressesPerAgent: Int { 64 }

    public init() {}

    /// Agents registered.
    public var count: Int { ufragOf.count }

    /// Remote addresses owned.
    public var addressCount: Int { owner.count }

    /// Registers an agent by its local username fragment (replacing an agent with the same one).
    public mutating func register(_ target: Target, usernameFragment: String) {
        if let old = byUfrag[usernameFragment], old != target { remove(old) }
        if let previous = ufragOf[target] { byUfrag[previous] = nil }
        byUfrag[usernameFragment] = target
        ufragOf[target] = usernameFragment
    }

    /// Forgets an agent: its ufrag and every address it owned.
    public mutating func remove(_ target: Target) {
        if let u = ufragOf.removeValue(forKey: target) { byUfrag[u] = nil }
        for a in owned.removeValue(forKey: target) ?? [] where owner[a] == target { owner[a] = nil }
    }

    /// The agent sends to `address`: it owns the address unless another agent does.
    @inline(__always)
    public mutating func sent(_ target: Target, to address: SocketAddress) {
        if owner[address] == nil { claim(address, for: target) }
    }

    /// Where a datagram from `source` goes; nil (and counted) when no agent takes it.
    public mutating func route(_ datagram: UnsafeRawBufferPointer, from source: SocketAddress) -> Target? {
        if let first = datagram.first, first <= 3, let ufrag = Self.requestRecipient(datagram) {
            if let target = byUfrag[ufrag] {
                if owner[source] == nil { claim(source, for: target) }
                return target
            }
        }
        if let target = owner[source] { return target }
        unrouted += 1
        return nil
    }

    private mutating func claim(_ address: SocketAddress, for target: Target) {
        guard ufragOf[target] != nil, owned[target, default: []].count < Self.addressesPerAgent else { return }
        owner[address] = target
        owned[target, default: []].append(address)
    }

    /// The recipient's ufrag of a STUN Binding request (the part of USERNAME before ':'), nil for
    /// anything else or a malformed message (RFC 8489 §5: 20-byte header, magic cookie, length a
    /// multiple of 4; §14: attributes padded to 4 bytes).
    public static func requestRecipient(_ d: UnsafeRawBufferPointer) -> String? {
        guard d.count >= 20, d[0] == 0x00, d[1] == 0x01,
              d[4] == 0x21, d[5] == 0x12, d[6] == 0xA4, d[7] == 0x42 else { return nil }
        let length = Int(d[2]) << 8 | Int(d[3])
        guard length % 4 == 0, 20 + length <= d.count else { return nil }
        var i = 20
        let end = 20 + length
        while i + 4 <= end {
            let type = Int(d[i]) << 8 | Int(d[i + 1])
            let size = Int(d[i + 2]) << 8 | Int(d[i + 3])
            let value = i + 4
            guard value + size <= end else { return nil }
            if type == 0x0006 {
                var colon = value
                while colon < value + size, d[colon] != UInt8(ascii: ":") { colon += 1 }
                guard colon > value, colon < value + size else { return nil }
                return String(decoding: UnsafeRawBufferPointer(rebasing: d[value..<colon]), as: UTF8.self)
            }
            i = value + ((size + 3) & ~3)
        }
        return nil
    }
}
