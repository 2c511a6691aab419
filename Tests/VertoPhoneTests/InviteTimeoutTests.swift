import NIOPosix
import Testing
import TestSupport
import VertoCore
import VertoNIO
import VertoPhone

/// A Verto server that accepts any login and never answers `verto.invite`.
private func silentInviteServer(requests: AsyncStream<JSONObject>.Continuation) async throws -> WebSocketServer {
    try await WebSocketServer.bind(configuration: .init(port: 0), group: MultiThreadedEventLoopGroup.singleton,
                                   callbacks: WebSocketCallbacks(onText: { ws, text in
        guard let obj = try? JSONCodec.parse(text).objectValue else { return }
        requests.yield(obj)
        if obj.string("method") == "login", let id = obj.int("id") {
            ws.peerAuthenticated()
            ws.send(text: #"{"jsonrpc":"2.0","id":\#(id),"result":{"message":"logged in","sessid":"s1"}}"#)
        }
    }))
}

@Suite(.realTime) struct InviteTimeoutTests {
    /// A call whose `verto.invite` the server leaves unanswered past the caller's bound fails with
    /// a timeout and is given up at once: a `verto.bye` for it reaches the server (it may have
    /// created the call), and the call has ended on the client with its media closed.
    @Test func anUnansweredInviteIsHungUpWhenTheCallerGivesUp() async throws {
        let (requests, continuation) = AsyncStream<JSONObject>.makeStream()
        let server = try await silentInviteServer(requests: continuation)
        var o = VertoClientOptions(url: "ws://127.0.0.1:\(server.localAddress.port ?? 0)/", login: "1001@127.0.0.1", password: "pw")
        o.autoReconnect = false
        let client = VertoClient(options: o)
        try await client.connect(timeout: .seconds(15))
        do {
            _ = try await client.call("9196", timeout: .milliseconds(300))
            Issue.record("the call was created although the server never answered")
        } catch VertoPhoneError.timeout(let what) {
            #expect(what == "verto.invite")
        }
        // Within 10 s: the client's own request timeout (15 s) would send a bye too, but later.
        let (invited, hungUp) = try await scan(requests, from: String?.none, within: .seconds(10), "the invite and its bye") {
            invited, obj -> (String, String)? in
            let callID = obj["params"]?.objectValue?["dialogParams"]?.objectValue?.string("callID")
            if obj.string("method") == "verto.invite" { invited = callID }
            guard obj.string("method") == "verto.bye", let invited else { return nil }
            return (invited, callID ?? "")
        }
        #expect(hungUp == invited)
        try await client.disconnect()
        try await server.close()
    }
}
