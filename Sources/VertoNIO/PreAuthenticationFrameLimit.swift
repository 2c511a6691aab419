import NIOCore
import NIOWebSocket

/// Sits in front of the WebSocket frame decoder of a server connection until the application says
/// the peer is authenticated: it reads each frame's header as the bytes go by (RFC 6455 §5.2) and
/// closes the connection with 1009 as soon as a header announces a payload — or a message's
/// fragments add up to one — over `limit`, before a byte of it is buffered, unmasked or parsed. Every byte is forwarded unchanged, so the
/// handler can be removed at any point.
final class PreAuthenticationFrameLimit: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    static let name = "vertophone.pre-authentication-frame-limit"
    private let limit: Int
    private var header: [UInt8] = []
    private var payloadLeft: UInt64 = 0
    /// Payload of the data message being received so far (its fragments add up).
    private var messageSoFar: UInt64 = 0
    private var failed = false

    init(limit: Int) {
        self.limit = limit
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !failed else { return }
        let buffer = unwrapInboundIn(data)
        let bytes = buffer.readableBytesView
        var i = bytes.startIndex
        while i < bytes.endIndex {
            if payloadLeft > 0 {
                let skip = min(payloadLeft, UInt64(bytes.endIndex - i))
                i += Int(skip)
                payloadLeft -= skip
                continue
            }
            header.append(bytes[i])
            i += 1
            guard let length = Self.payloadLength(header) else { continue }
            let fin = header[0] & 0x80 != 0, control = header[0] & 0x08 != 0
            header.removeAll(keepingCapacity: true)
            // Control frames (≤ 125 bytes) may come between fragments; data fragments add up. A
            // 64-bit length may be anything a peer writes: the sum must not overflow (RFC 6455
            // §5.2 also wants its top bit clear).
            let (sum, overflow) = messageSoFar.addingReportingOverflow(length)
            let total = control ? length : sum
            if overflow || total > UInt64(limit) {
                fail(context)
                return
            }
            if !control { messageSoFar = fin ? 0 : total }
            payloadLeft = length
        }
        context.fireChannelRead(data)
    }

    /// The payload length once `header` holds a whole frame header, else nil.
    static func payloadLength(_ header: [UInt8]) -> UInt64? {
        guard header.count >= 2 else { return nil }
        let short = header[1] & 0x7F
        let masked = header[1] & 0x80 != 0
        let extended = short == 126 ? 2 : short == 127 ? 8 : 0
        guard header.count == 2 + extended + (masked ? 4 : 0) else { return nil }
        if extended == 0 { return UInt64(short) }
        return header[2..<(2 + extended)].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    }

    /// A close frame with 1009 (message too big), through the frame encoder nearer the socket, then close.
    private func fail(_ context: ChannelHandlerContext) {
        failed = true
        var code = context.channel.allocator.buffer(capacity: 2)
        code.write(webSocketErrorCode: .messageTooLarge)
        let close = WebSocketFrame(fin: true, opcode: .connectionClose, data: code)
        let channel = context.channel
        context.writeAndFlush(NIOAny(close)).whenComplete { _ in channel.close(promise: nil) }
    }
}
