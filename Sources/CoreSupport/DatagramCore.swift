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
