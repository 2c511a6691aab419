import ICECore
import Logging
import NIOCore
import NIOPosix

/// A peer that receives through a `SharedDatagramPort` (a `DatagramDriver` attached to it).
protocol SharedPortMember: AnyObject {
    func received(_ envelope: AddressedEnvelope<ByteBuffer>)
}

/// One UDP socket shared by every peer of one event loop:
/// datagrams are handed to their peer by `SharedPortDemux` (ICE username fragment for Binding
/// requests, otherwise the owner of the source address); sends of every peer are gathered and
/// written together at the end of the loop's current work, so a busy loop reads with `recvmmsg`
/// and writes with `sendmmsg` (NIO's vector reads and writes) instead of a system call per packet.
///
/// Confined to its event loop; `bind` and `close` may be called from anywhere.
public final class SharedDatagramPort: @unchecked Sendable {
    // @unchecked: every mutable field is touched only on `eventLoop` (asserted on the paths that
    // change it); `bind` and `close` hop there.
    public let eventLoop: EventLoop
    public let localAddress: SocketAddress
    private let channel: Channel
    private var demux = SharedPortDemux<ObjectIdentifier>()
    private var members: [ObjectIdentifier: any SharedPortMember] = [:]
    private let logger: Logger
    private var closed = false

    /// The datagrams waiting to be written, back to back, and where each goes. The buffer is
    /// reused once the socket took the last ones (no allocation per write); while NIO still holds
    /// slices of it, the next write copies it.
    private var outBuffer: ByteBuffer
    private var stagedDatagrams: [(offset: Int, length: Int, destination: SocketAddress)] = []
    private var flushScheduled = false
    /// Inside a batch of reads: its end (`channelReadComplete`) writes what the peers sent.
    private var reading = false

    /// Datagrams no peer took (unknown ufrag or source), counted.
    public var unroutedDatagrams: Int { demux.unrouted }
    /// Datagrams received and sent through the port.
    public private(set) var datagramsIn = 0
    public private(set) var datagramsOut = 0
    /// Times the gathered sends were written (one `sendmmsg` each when more than one).
    public private(set) var flushes = 0
    /// Peers attached now.
    public var memberCount: Int { members.count }

    /// Datagrams read per `recvmmsg`.
    public static let vectorReadCount = 32

    private init(channel: Channel, logger: Logger) throws {
        guard let local = channel.localAddress else { throw DatagramDriverError.noLocalAddress }
        self.channel = channel
        self.eventLoop = channel.eventLoop
        self.localAddress = local
        self.logger = logger
        outBuffer = channel.allocator.buffer(capacity: 16 * 1024)
    }

    /// Binds the port on `eventLoop` (`port` 0: any free port).
    public static func bind(host: String, port: Int = 0, on eventLoop: EventLoop,
                            logger: Logger = Logger(label: "vertophone.media.udp")) -> EventLoopFuture<SharedDatagramPort> {
        let handler = NIOLoopBoundBox.makeEmptyBox(valueType: SharedPortInbound.self, eventLoop: eventLoop)
        return DatagramBootstrap(group: eventLoop)
            .channelOption(.datagramVectorReadMessageCount, value: vectorReadCount)
            // NIO divides one receive buffer between the messages of a vector read: room for a
            // full-size datagram each.
            .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: vectorReadCount * 2048))
            // Room for a burst of every call's packets between two reads.
            .channelOption(.socketOption(.so_rcvbuf), value: 4 << 20)
            .channelOption(.socketOption(.so_sndbuf), value: 4 << 20)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let h = SharedPortInbound()
                    handler.value = h
                    try channel.pipeline.syncOperations.addHandler(h)
                }
            }
            .bind(host: host, port: port)
            .flatMapThrowing { channel -> SharedDatagramPort in
                let port = try SharedDatagramPort(channel: channel, logger: logger)
                handler.value?.port = port
                return port
            }
    }

    /// Attaches a peer, reachable by Binding requests for `usernameFragment`; on the port's loop.
    func attach(_ member: any SharedPortMember, usernameFragment: String) {
        eventLoop.preconditionInEventLoop()
        let id = ObjectIdentifier(member)
        members[id] = member
        demux.register(id, usernameFragment: usernameFragment)
    }

    /// Detaches a peer: nothing more reaches it, and the addresses it owned are free.
    func detach(_ member: any SharedPortMember) {
        eventLoop.preconditionInEventLoop()
        let id = ObjectIdentifier(member)
        guard members.removeValue(forKey: id) != nil else { return }
        demux.remove(id)
    }

    /// Gathers a datagram of `member` to `destination`; written with the others at the end of the
    /// loop's current work.
    func send(_ bytes: ByteBuffer, to destination: SocketAddress, from member: any SharedPortMember) {
        guard !closed else { return }
        demux.sent(ObjectIdentifier(member), to: destination)
        if stagedDatagrams.isEmpty { outBuffer.clear() }
        let offset = outBuffer.writerIndex
        outBuffer.writeImmutableBuffer(bytes)
        stagedDatagrams.append((offset, bytes.readableBytes, destination))
        datagramsOut += 1
        if !flushScheduled && !reading {
            flushScheduled = true
            eventLoop.execute { self.flush() }
        }
    }

    /// Writes every gathered datagram: one buffer for all of them, a slice each.
    func flush() {
        flushScheduled = false
        guard !stagedDatagrams.isEmpty, !closed else { return }
        flushes += 1
        for d in stagedDatagrams {
            channel.write(AddressedEnvelope(remoteAddress: d.destination, data: outBuffer.getSlice(at: d.offset, length: d.length)!),
                          promise: nil)
        }
        channel.flush()
        stagedDatagrams.removeAll(keepingCapacity: true)
    }

    func received(_ envelope: AddressedEnvelope<ByteBuffer>) {
        datagramsIn += 1
        reading = true
        let target = envelope.data.withUnsafeReadableBytes { demux.route($0, from: envelope.remoteAddress) }
        guard let target, let member = members[target] else {
            if demux.unrouted & 0x3FF == 1 {
                logger.debug("datagram for no call on the shared media port", metadata: [
                    "unrouted": "\(demux.unrouted)", "port": "\(localAddress.port ?? 0)"])
            }
            return
        }
        member.received(envelope)
    }

    /// The end of a batch of reads: what the peers sent meanwhile leaves now.
    func readsEnded() {
        reading = false
        flush()
    }

    /// Closes the sockets (after what is already queued on the loop).
    public func close() -> EventLoopFuture<Void> {
        eventLoop.flatSubmit {
            self.reading = false
            self.flush()
            self.closed = true
            self.members = [:]
            return self.channel.close()
        }
    }
}

final class SharedPortInbound: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    var port: SharedDatagramPort?

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        port?.received(unwrapInboundIn(data))
    }

    /// The end of a batch of reads: what the peers sent meanwhile leaves now, together.
    func channelReadComplete(context: ChannelHandlerContext) {
        port?.readsEnded()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // ICMP port unreachable and similar: UDP errors never close the socket. The reads before
        // it may have left sends behind.
        port?.readsEnded()
    }
}

