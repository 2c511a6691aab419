import Logging
import NIOCore
import NIOWebSocket

/// Sits after `NIOWebSocketFrameAggregator`: delivers text (and binary, as FreeSWITCH does) messages,
/// answers pings, completes the close handshake. Runs on the channel's event loop.
final class WebSocketFrameHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    private let callbacks: WebSocketCallbacks
    private let isClient: Bool
    private let logger: Logger
    private var connection: WebSocketConnection?
    /// The connection object, once the handler is in a pipeline.
    var currentConnection: WebSocketConnection? { connection }
    private var closeSent = false

    init(callbacks: WebSocketCallbacks, isClient: Bool, logger: Logger) {
        self.callbacks = callbacks
        self.isClient = isClient
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let c = WebSocketConnection(id: ConnectionIDs.next(), channel: context.channel, isClient: isClient)
        connection = c
        if context.channel.isActive { callbacks.onOpen(c) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let c = connection {
            connection = nil
            callbacks.onClose(c)
        }
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        if let c = connection {
            connection = nil
            callbacks.onClose(c)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        guard !closeSent else { return }
        // RFC 6455 §5.2: no extension was negotiated, so every RSV bit must be clear; §5.1: a
        // client masks every frame, a server none.
        if frame.rsv1 || frame.rsv2 || frame.rsv3 || (frame.maskKey == nil) != isClient {
            failConnection(context, .protocolError)
            return
        }
        switch frame.opcode {
        case .text, .binary:
            guard let c = connection else { return }
            var payload = frame.unmaskedData
            let bytes = payload.readBytes(length: payload.readableBytes) ?? []
            // §8.1: a text message that is not valid UTF-8 fails the connection with 1007. Binary
            // messages are read as text too (as FreeSWITCH does), under the same rule.
            guard let text = String(validating: bytes, as: UTF8.self) else {
                failConnection(context, .dataInconsistentWithMessage)
                return
            }
            callbacks.onText(c, text)
        case .ping:
            // RFC 6455 §5.5.2. (libks does not answer pings; we do, which is harmless.)
            var payload = frame.unmaskedData
            let pong = WebSocketFrame(fin: true, opcode: .pong, maskKey: isClient ? .random() : nil,
                                      data: payload.readSlice(length: payload.readableBytes) ?? context.channel.allocator.buffer(capacity: 0))
            context.writeAndFlush(wrapOutboundOut(pong), promise: nil)
        case .connectionClose:
            if !closeSent {
                closeSent = true
                var data = frame.unmaskedData
                let code = data.readWebSocketErrorCode() ?? .normalClosure
                var reply = context.channel.allocator.buffer(capacity: 2)
                reply.write(webSocketErrorCode: code)
                let close = WebSocketFrame(fin: true, opcode: .connectionClose, maskKey: isClient ? .random() : nil, data: reply)
                let channel = context.channel
                context.writeAndFlush(wrapOutboundOut(close)).whenComplete { _ in channel.close(promise: nil) }
            } else {
                context.close(promise: nil)
            }
        case .pong:
            break
        default:
            // §5.2: reserved opcodes fail the connection.
            failConnection(context, .protocolError)
        }
    }

    /// Sends a close frame with `code` and closes (RFC 6455 §7.1.7 "fail the WebSocket connection").
    private func failConnection(_ context: ChannelHandlerContext, _ code: WebSocketErrorCode) {
        logger.info("failing the WebSocket connection", metadata: ["code": "\(code)"])
        closeSent = true
        var reply = context.channel.allocator.buffer(capacity: 2)
        reply.write(webSocketErrorCode: code)
        let close = WebSocketFrame(fin: true, opcode: .connectionClose, maskKey: isClient ? .random() : nil, data: reply)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(close)).whenComplete { _ in channel.close(promise: nil) }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        logger.debug("websocket error, closing", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }
}
