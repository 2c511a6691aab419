import CryptoCore
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL
import Testing
import TestSupport
@testable import VertoNIO

/// Collects what a connection receives; waits without sleeping (a continuation per expected count).
final class Inbox: Sendable {
    private let state = NIOLockedValueBox<(texts: [String], closed: Bool, waiters: [(Int, CheckedContinuation<[String], Never>)])>(([], false, []))

    func received(_ text: String) {
        let ready = state.withLockedValue { s -> [(CheckedContinuation<[String], Never>, [String])] in
            s.texts.append(text)
            let due = s.waiters.filter { $0.0 <= s.texts.count }
            s.waiters.removeAll { $0.0 <= s.texts.count }
            return due.map { ($0.1, s.texts) }
        }
        for (c, t) in ready { c.resume(returning: t) }
    }

    func wait(count: Int) async -> [String] {
        await withCheckedContinuation { c in
            let now = state.withLockedValue { s -> [String]? in
                if s.texts.count >= count { return s.texts }
                s.waiters.append((count, c))
                return nil
            }
            if let now { c.resume(returning: now) }
        }
    }
}

/// An echo server: every text comes back prefixed with "echo:".
func echoServer(_ config: WebSocketServerConfiguration, group: EventLoopGroup) async throws -> WebSocketServer {
    try await WebSocketServer.bind(configuration: config, group: group,
                                   callbacks: WebSocketCallbacks(onText: { c, t in c.send(text: "echo:" + t) }))
}

@Suite(.realTime) struct WebSocketTransportTests {
    let group = MultiThreadedEventLoopGroup.singleton

    @Test func wsRoundTripOnAnyPath() async throws {
        let server = try await echoServer(.init(port: 0), group: group)
        let port = try #require(server.localAddress.port)
        for path in ["/", "/wss2", "/verto?x=1"] {
            let inbox = Inbox()
            let c = try await WebSocketClient.connect(url: "ws://127.0.0.1:\(port)\(path)", group: group,
                                                      callbacks: WebSocketCallbacks(onText: { _, t in inbox.received(t) }))
            c.send(text: #"{"jsonrpc":"2.0","method":"login","id":1,"params":{}}"#)
            c.send(text: "second")
            let got = await inbox.wait(count: 2)
            #expect(got == [#"echo:{"jsonrpc":"2.0","method":"login","id":1,"params":{}}"#, "echo:second"])
            c.close()
            try await c.closeFuture.get()
        }
        try await server.close()
    }

    @Test func wssWithSelfSignedCertificate() async throws {
        let id = try DTLSIdentity()
        let serverTLS = try NIOSSLContext(configuration: .makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMBytes(Array(id.certificatePEM.utf8)).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(id.privateKeyPEM.utf8), format: .pem))))
        let server = try await echoServer(.init(port: 0, tls: serverTLS), group: group)
        let port = try #require(server.localAddress.port)

        // The system trust store rejects a self-signed certificate.
        await #expect(throws: (any Error).self) {
            _ = try await WebSocketClient.connect(url: "wss://localhost:\(port)/", group: group,
                                                  callbacks: WebSocketCallbacks(onText: { _, _ in }))
        }
        // A custom CA (the certificate itself) and the test-only flag both work.
        for trust in [WebSocketClientConfiguration.Trust.customCA(pem: id.certificatePEM), .insecureAcceptAnyCertificate] {
            let inbox = Inbox()
            let c = try await WebSocketClient.connect(url: "wss://localhost:\(port)/", configuration: .init(trust: trust),
                                                      group: group, callbacks: WebSocketCallbacks(onText: { _, t in inbox.received(t) }))
            c.send(text: "hello")
            #expect(await inbox.wait(count: 1) == ["echo:hello"])
            c.close()
        }
        try await server.close()
    }

    @Test func oversizeMessageClosesOnlyThatConnection() async throws {
        let server = try await echoServer(.init(port: 0, maxMessageSize: 1000), group: group)
        let port = try #require(server.localAddress.port)
        let bad = try await WebSocketClient.connect(url: "ws://127.0.0.1:\(port)/", group: group,
                                                    callbacks: WebSocketCallbacks(onText: { _, _ in }))
        let inbox = Inbox()
        let good = try await WebSocketClient.connect(url: "ws://127.0.0.1:\(port)/", group: group,
                                                     callbacks: WebSocketCallbacks(onText: { _, t in inbox.received(t) }))
        bad.send(text: String(repeating: "x", count: 5000))
        try await bad.closeFuture.get()  // the server closed it
        good.send(text: "still here")
        #expect(await inbox.wait(count: 1) == ["echo:still here"])
        good.close()
        try await server.close()
    }

    @Test func connectionLimitIsEnforced() async throws {
        let server = try await echoServer(.init(port: 0, maxConnections: 1), group: group)
        let port = try #require(server.localAddress.port)
        let first = try await WebSocketClient.connect(url: "ws://127.0.0.1:\(port)/", group: group,
                                                      callbacks: WebSocketCallbacks(onText: { _, _ in }))
        await #expect(throws: (any Error).self) {
            _ = try await WebSocketClient.connect(url: "ws://127.0.0.1:\(port)/", group: group,
                                                  callbacks: WebSocketCallbacks(onText: { _, _ in }))
        }
        #expect(server.connectionCount == 1)
        first.close()
        try await server.close()
    }

    @Test func plainHTTPGets426() async throws {
        let server = try await echoServer(.init(port: 0), group: group)
        let port = try #require(server.localAddress.port)
        let channel = try await ClientBootstrap(group: group).connect(host: "127.0.0.1", port: port).get()
        let inbox = Inbox()
        try await channel.pipeline.addHandler(RawCollector(inbox: inbox)).get()
        var buf = channel.allocator.buffer(capacity: 64)
        buf.writeString("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        try await channel.writeAndFlush(buf).get()
        let got = await inbox.wait(count: 1)
        #expect(got.first?.hasPrefix("HTTP/1.1 426") == true)
        try await server.close()
    }

    @Test func connectTimeoutWhenTheServerNeverUpgrades() async throws {
        // A TCP listener that accepts and says nothing.
        let silent = try await ServerBootstrap(group: group).bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(silent.localAddress?.port)
        await #expect(throws: WebSocketError.timeout) {
            _ = try await WebSocketClient.connect(url: "ws://127.0.0.1:\(port)/", configuration: .init(connectTimeout: .milliseconds(200)),
                                                  group: group, callbacks: WebSocketCallbacks(onText: { _, _ in }))
        }
        try await silent.close()
    }

    @Test(arguments: ["http://127.0.0.1/", "ws://", "not a url", "ftp://x/"])
    func invalidURLsAreTypedErrors(url: String) async {
        await #expect(throws: WebSocketError.invalidURL(url)) {
            _ = try await WebSocketClient.connect(url: url, group: MultiThreadedEventLoopGroup.singleton,
                                                  callbacks: WebSocketCallbacks(onText: { _, _ in }))
        }
    }
}

final class RawCollector: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    let inbox: Inbox
    init(inbox: Inbox) { self.inbox = inbox }
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var b = unwrapInboundIn(data)
        inbox.received(b.readString(length: b.readableBytes) ?? "")
    }
}
