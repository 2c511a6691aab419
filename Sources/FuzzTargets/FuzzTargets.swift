import CryptoCore
import EventSocketCore
import ICECore
import Logging
import NIOCore
import NIOEmbedded
import NIOWebSocket
import RTPCore
import SDPCore
import VertoCore
import VertoNIO

/// The parsers a peer can reach, one entry point each, for libFuzzer (`vertophone-fuzz`, built by
/// scripts/fuzz) and for the replay of saved inputs in the tests. Each must return for any bytes:
/// a trap is a bug.
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// JSON-RPC / Verto messages through the server core, before and after a login.
    case verto
    /// SDP text: parse, serialize, parse again.
    case sdp
    /// STUN messages (RFC 8489).
    case stun
    /// RTP, RTCP compound packets and RFC 4733 payloads.
    case rtp
    /// DTLS records into a server endpoint waiting for a ClientHello.
    case dtls
    /// Bytes after the HTTP upgrade into a server connection's WebSocket handlers (RFC 6455 framing,
    /// the pre-login size limit, fragment aggregation, UTF-8 and masking rules); each message that
    /// comes out goes on to the JSON-RPC decoder.
    case websocket
    /// FreeSWITCH event-socket messages (the PBX event source) and the channel events in them.
    case eventsocket
    /// What a TURN server sends (RFC 8656): as a datagram to a client that is allocating and to
    /// one with an allocation and a bound channel, and as a TCP/TLS stream through the framer.
    case turn
    /// A datagram on a shared media port: which call's ICE agent it goes to (`SharedPortDemux`:
    /// the USERNAME of a Binding request, else the owner of its source address).
    case sharedport

    public func run(_ bytes: UnsafeRawBufferPointer) {
        switch self {
        case .verto: Self.verto(bytes)
        case .sdp: Self.sdp(bytes)
        case .stun: _ = try? STUNMessage.decode(Array(bytes))
        case .rtp:
            _ = try? RTPPacket(parsing: bytes)
            _ = try? RTCPCompoundPacket(parsing: bytes, requireReportFirst: false)
            _ = try? TelephoneEvent(parsing: bytes)
        case .dtls: Self.dtls(bytes)
        case .websocket: Self.websocket(bytes)
        case .eventsocket: Self.eventSocket(bytes)
        case .turn: Self.turn(bytes)
        case .sharedport: Self.sharedPort(bytes)
        }
    }

    private static func sharedPort(_ bytes: UnsafeRawBufferPointer) {
        var demux = SharedPortDemux<Int>()
        demux.register(1, usernameFragment: "gHadDeVk")
        demux.register(2, usernameFragment: "x")
        let known = try! SocketAddress(ipAddress: "192.0.2.1", port: 5000)
        demux.sent(2, to: known)
        _ = demux.route(bytes, from: known)
        _ = demux.route(bytes, from: try! SocketAddress(ipAddress: "2001:db8::1", port: 5001))
        _ = SharedPortDemux<Int>.requestRecipient(bytes)
    }

    private static func turn(_ bytes: UnsafeRawBufferPointer) {
        var fresh = TURNClient(server: turnServer, credentials: turnCredentials, random: .seeded(1), now: t0)
        _ = fresh.handleFromServer(bytes, now: t0)
        var allocated = allocatedTURNClient
        _ = allocated.handleFromServer(bytes, now: t0)
        var streamed = allocatedTURNClient
        var framer = TURNStreamFramer()
        framer.append(bytes)
        while case .message(let m)? = framer.next() { _ = streamed.handleFromServer(m, now: t0) }
    }

    private static let turnServer = try! SocketAddress(ipAddress: "127.0.0.1", port: 3478)
    private static let turnCredentials = TURNCredentials(username: "fuzz", password: "fuzz")

    /// A client taken through 401, Allocate success and a ChannelBind for 127.0.0.1:5000 by a
    /// scripted server, so fuzzed input reaches the allocated paths.
    static let allocatedTURNClient: TURNClient = {
        var c = TURNClient(server: turnServer, credentials: turnCredentials, random: .seeded(2), now: t0)
        let realm = "fuzz.test", nonce = Array("nonce".utf8)
        let key = MD5Digest.hash(Array("fuzz:\(realm):fuzz".utf8))
        func answer(_ request: [UInt8]?, _ cls: STUNClass, _ attributes: [STUNAttribute], signed: Bool) {
            guard let request, let m = try? STUNMessage.decode(request),
                  let bytes = try? STUNMessage(type: STUNMessageType(method: m.type.method, messageClass: cls), transactionID: m.transactionID,
                                               attributes: attributes).encode(integrityKey: signed ? key : nil, fingerprint: true) else { return }
            _ = c.handleFromServer(bytes, now: t0)
        }
        answer(c.pollTransmit(), .errorResponse, [.errorCode(code: 401, reason: "Unauthorized"),
                                                  .other(type: TURNAttribute.realm, value: Array(realm.utf8)),
                                                  .other(type: TURNAttribute.nonce, value: nonce)], signed: false)
        let allocate = c.pollTransmit()
        let id = allocate.flatMap { try? STUNMessage.decode($0) }?.transactionID ?? STUNTransactionID(a: 0, b: 0, c: 0)
        answer(allocate, .successResponse, [TURNAttribute.xorAddress(TURNAttribute.xorRelayedAddress, TransportAddress(127, 0, 0, 1, port: 50_000),
                                                                     transactionID: id)], signed: true)
        c.send([0x80, 0, 0, 0], to: TransportAddress(127, 0, 0, 1, port: 5000), now: t0)
        answer(c.pollTransmit(), .successResponse, [], signed: true)
        while c.pollTransmit() != nil {}
        return c
    }()

    private static let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000)

    private static func verto(_ bytes: UnsafeRawBufferPointer) {
        let text = String(decoding: bytes, as: UTF8.self)
        _ = JSONRPC.decode(text, maxBytes: 1_000_000)
        var core = VertoServerCore(configuration: VertoServerConfiguration(), random: .seeded(1), logger: quiet)
        let anonymous = core.connectionOpened(now: t0)
        core.receive(anonymous, text, now: t0)
        let user = core.connectionOpened(now: t0)
        core.receive(user, #"{"jsonrpc":"2.0","id":1,"method":"login","params":{"login":"1000@x","passwd":"p","sessid":"s"}}"#, now: t0)
        while let out = core.pollOutput() {
            if case .event(.authenticate(let request)) = out {
                core.completeLogin(request, decision: .accept(VertoUser(id: "1000")), now: t0)
            }
        }
        core.receive(user, text, now: t0)
        while core.pollOutput() != nil {}
    }

    private static let quiet = Logger(label: "fuzz", factory: { _ in SwiftLogNoOpLogHandler() })

    private static func websocket(_ bytes: UnsafeRawBufferPointer) {
        let channel = EmbeddedChannel()
        let maxMessage = 65_536
        do {
            let ops = channel.pipeline.syncOperations
            try ops.addHandler(ByteToMessageHandler(WebSocketFrameDecoder(maxFrameSize: maxMessage)))
            try ops.addHandler(WebSocketProtocolErrorHandler())
            try WebSocketServerPipeline.addMessageHandlers(
                to: ops, maxMessageBytes: maxMessage, preAuthenticationLimit: 8_192,
                callbacks: WebSocketCallbacks(onText: { _, text in _ = JSONRPC.decode(text, maxBytes: maxMessage) }),
                logger: quiet)
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 5066)).wait()
        } catch {
            fatalError("the fuzz pipeline could not be built: \(error)")
        }
        // Two writes, split in the middle, so frame headers also arrive cut in two.
        var buffer = channel.allocator.buffer(bytes: bytes)
        let first = buffer.readSlice(length: bytes.count / 2)!
        _ = try? channel.writeInbound(first)
        _ = try? channel.writeInbound(buffer)
        while (try? channel.readOutbound(as: WebSocketFrame.self)) ?? nil != nil {}
        // The close a failed connection schedules runs on the embedded loop only when it is run;
        // without it every failed input would keep its channel (and its handlers) alive.
        channel.embeddedEventLoop.run()
        _ = try? channel.finish()
        channel.embeddedEventLoop.run()
    }

    private static func eventSocket(_ bytes: UnsafeRawBufferPointer) {
        var parser = EventSocketParser()
        parser.maxBodyBytes = 65_536
        parser.feed(bytes)
        for _ in 0..<1_000 {
            do {
                guard let m = try parser.next() else { return }
                _ = try? PBXChannelEvent(message: m)
            } catch {
                continue
            }
        }
    }

    private static func sdp(_ bytes: UnsafeRawBufferPointer) {
        guard let parsed = try? SessionDescription(parsing: String(decoding: bytes, as: UTF8.self)) else { return }
        _ = try? SessionDescription(parsing: parsed.text)
    }

    private static func dtls(_ bytes: UnsafeRawBufferPointer) {
        guard let server = try? DTLSEndpoint(role: .server, remoteFingerprint: DTLSIdentity.shared.fingerprint) else { return }
        server.receive(bytes, now: t0)
        while server.pollTransmit() != nil {}
        while server.pollEvent() != nil {}
    }
}
