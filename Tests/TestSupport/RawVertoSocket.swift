import Foundation
import NIOPosix
import VertoCore
import VertoNIO
#if canImport(Glibc)
import Glibc
#endif

public struct TimedOut: Error, CustomStringConvertible {
    public var what: String
    public init(what: String) { self.what = what }
    public var description: String { "timed out waiting for \(what)" }
}

/// `body`'s result, or `TimedOut` after `timeout`.
public func within<T: Sendable>(_ timeout: Duration, _ what: String, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: timeout)
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let value = first else { throw TimedOut(what: what) }
        return value
    }
}

/// A WebSocket speaking raw JSON-RPC, for what the engine's own client never sends on purpose: a
/// method before login, a silent client, hostile input.
public final class RawVertoSocket: Sendable {
    public let connection: WebSocketConnection
    let messages: AsyncStream<String>

    private init(connection: WebSocketConnection, messages: AsyncStream<String>) {
        self.connection = connection
        self.messages = messages
    }

    public static func connect(_ url: String) async throws -> RawVertoSocket {
        let (stream, continuation) = AsyncStream.makeStream(of: String.self, bufferingPolicy: .bufferingNewest(100))
        let callbacks = WebSocketCallbacks(onText: { _, text in continuation.yield(text) },
                                           onClose: { _ in continuation.finish() })
        let trust: WebSocketClientConfiguration.Trust = url.lowercased().hasPrefix("wss:") ? .insecureAcceptAnyCertificate : .system
        let c = try await WebSocketClient.connect(url: url, configuration: WebSocketClientConfiguration(trust: trust, connectTimeout: .seconds(15)),
                                                  group: MultiThreadedEventLoopGroup.singleton, callbacks: callbacks)
        return RawVertoSocket(connection: c, messages: stream)
    }

    public func send(_ message: JSONValue) { connection.send(text: JSONCodec.serialize(message)) }

    public func send(text: String) { connection.send(text: text) }

    /// A JSON-RPC request.
    public func request(id: Int, method: String, params: JSONObject) {
        send(.object(["jsonrpc": "2.0", "id": .int(id), "method": .string(method), "params": .object(params)]))
    }

    /// The next message (parsed as a JSON object) for which `match` holds, within `timeout`.
    public func next(timeout: Duration = .seconds(20), _ what: String,
                     where match: @escaping @Sendable (JSONObject) -> Bool) async throws -> JSONObject {
        try await within(timeout, what) { [messages] in
            for await text in messages {
                if let o = (try? JSONCodec.parse(text))?.objectValue, match(o) { return o }
            }
            throw TimedOut(what: "\(what) (socket closed)")
        }
    }

    /// The reply to request `id`.
    public func reply(to id: Int, timeout: Duration = .seconds(20)) async throws -> JSONObject {
        try await next(timeout: timeout, "the reply to request \(id)") { $0["id"]?.intValue == id && $0["method"] == nil }
    }

    /// True once the server has closed the socket, within `bound` (false when it has not).
    public func closed(within bound: Duration) async throws -> Bool {
        do {
            return try await within(bound, "the close") { [messages] in
                for await _ in messages {}
                return true
            }
        } catch is TimedOut {
            return false
        }
    }

    public func close() { connection.close() }
}

/// `sockaddr_in` for 127.0.0.1:`port`, for tests that use raw POSIX sockets.
public func loopbackSockaddr(port: Int) -> sockaddr_in {
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = in_port_t(UInt16(port).bigEndian)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    return addr
}
