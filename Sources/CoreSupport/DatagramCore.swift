import NIOCore

/// The sans-IO contract of a core that speaks over one UDP socket (a peer session, an ICE agent, a
/// STUN client). The MediaNIO shell calls `receive` for every datagram and `handleTimeout` when the
/// deadline passes, and after each input drains `pollTransmit` and re-arms one timer at
/// `nextDeadline()` (docs/architecture.md, "drain after every input").
public protocol DatagramCore: AnyObject, SendableMetatype {
    /// One received datagram. The buffer may be modified in place (SRTP unprotects in place).
    func receive(_ datagram: UnsafeMutableRawBufferPointer, from source: SocketAddress, now: NIODeadline)
    /// Writes the next datagram to send into `buffer` (cleared by the caller) and returns its destination.
    func pollTransmit(into buffer: inout ByteBuffer) -> SocketAddress?
    /// Time-driven work (retransmissions, keepalives, media pacing).
    func handleTimeout(now: NIODeadline)
    /// When `handleTimeout` must run next, nil when nothing is timed.
    func nextDeadline() -> NIODeadline?
}

/// A core that can share its loop's UDP port with others: the port hands it the Binding
/// requests that name this local ICE username fragment (RFC 8445 §7.2.2).
public protocol SharedPortCore: DatagramCore {
    var localUsernameFragment: String { get }
}

/// A core that also speaks to TURN servers over TCP or TLS streams (RFC 8656 §3.1): the shell
/// opens one stream per entry of `streamRelays`, writes what `pollRelayStream` gives after every
/// input, and hands over what it reads (raw bytes: the core frames them).
public protocol RelayStreamCore: DatagramCore {
    var streamRelays: [RelayStreamEndpoint] { get }
    func pollRelayStream(_ relay: Int) -> [UInt8]?
    func receiveRelayStream(_ relay: Int, _ bytes: UnsafeRawBufferPointer, now: NIODeadline)
    func relayStreamFailed(_ relay: Int, reason: String, now: NIODeadline)
}

/// One TURN server reached over a stream.
public struct RelayStreamEndpoint: Sendable {
    public enum Trust: Sendable, Hashable {
        case system
        case customCA(pem: String)
        /// Test only.
        case insecureAcceptAnyCertificate
    }

    public var relay: Int
    public var server: SocketAddress
    /// nil: plain TCP; otherwise TLS with this trust.
    public var tls: Trust?
    /// The name the certificate must carry (nil: an IP literal, checked against the address).
    public var serverName: String?

    public init(relay: Int, server: SocketAddress, tls: Trust?, serverName: String?) {
        self.relay = relay
        self.server = server
        self.tls = tls
        self.serverName = serverName
    }
}
