import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// A small client of FreeSWITCH's event socket (mod_event_socket, "inbound" mode) for the
// integration suite: plain TCP, `auth <password>`, then `api <command>` (synchronous, the output
// comes back as an `api/response` body) and `bgapi <command>` (queued, answered at once with a
// `Job-UUID`). No event subscriptions: replies arrive in the order the commands were sent.
//
// Wire format: a message is a block of `Name: value` header lines ended by an empty line; when a
// `Content-Length` header is present, that many bytes of body follow. Commands are a line (or
// lines) ended by an empty line.

// The C calls whose names members of the client shadow, and the constants that differ by platform.
func sysClose(_ fd: Int32) { _ = close(fd) }
func sysSend(_ fd: Int32, _ p: UnsafeRawPointer?, _ n: Int, _ flags: Int32) -> Int { send(fd, p, n, flags) }
func sysConnect(_ fd: Int32, _ addr: UnsafePointer<sockaddr>!, _ len: socklen_t) -> Int32 { connect(fd, addr, len) }
#if canImport(Glibc)
let sysStreamSocket = Int32(SOCK_STREAM.rawValue)
let sysNoSignal = Int32(MSG_NOSIGNAL)
#else
let sysStreamSocket = SOCK_STREAM
let sysNoSignal: Int32 = 0
#endif

/// One message from the event socket.
public struct EventSocketMessage: Sendable, Equatable {
    /// Headers in arrival order.
    public var headers: [(name: String, value: String)]
    public var body: String

    public init(headers: [(name: String, value: String)], body: String = "") {
        self.headers = headers
        self.body = body
    }

    /// The first header with this name (case-insensitive).
    public subscript(_ name: String) -> String? {
        headers.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }

    public var contentType: String? { self["Content-Type"] }
    /// `Reply-Text` of a `command/reply` (`+OK accepted`, `-ERR invalid`, `+OK Job-UUID: …`).
    public var replyText: String? { self["Reply-Text"] }

    public static func == (a: EventSocketMessage, b: EventSocketMessage) -> Bool {
        a.body == b.body && a.headers.count == b.headers.count
            && zip(a.headers, b.headers).allSatisfy { $0.name == $1.name && $0.value == $1.value }
    }

    /// The message as it travels on the wire (used by the fake server of the tests).
    public func serialized() -> [UInt8] {
        var text = ""
        var hs = headers.filter { $0.name.caseInsensitiveCompare("Content-Length") != .orderedSame }
        let bodyBytes = Array(body.utf8)
        if !bodyBytes.isEmpty { hs.append((name: "Content-Length", value: String(bodyBytes.count))) }
        for h in hs { text += "\(h.name): \(h.value)\n" }
        text += "\n"
        return Array(text.utf8) + bodyBytes
    }
}

public enum EventSocketError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `VERTO_FS_ESL` is not `host:port:password`.
    case badAddress(String)
    case connectFailed(String)
    case authenticationFailed(String)
    case protocolError(String)
    case closed
    case timeout
    /// `api` answered with `-ERR …`, or `bgapi` was refused.
    case commandFailed(command: String, reply: String)

    public var description: String {
        switch self {
        case .badAddress(let s): return "bad event socket address \(s) (expected host:port:password)"
        case .connectFailed(let s): return "event socket connect failed: \(s)"
        case .authenticationFailed(let s): return "event socket authentication failed: \(s)"
        case .protocolError(let s): return "event socket protocol error: \(s)"
        case .closed: return "event socket closed"
        case .timeout: return "event socket timed out"
        case .commandFailed(let c, let r): return "event socket command \(c) failed: \(r)"
        }
    }
}

/// Incremental parser of event-socket messages: feed bytes as they arrive, take complete messages.
public struct EventSocketParser: Sendable {
    private var buffer: [UInt8] = []
    /// Bodies larger than this are refused (protects the tests from a runaway peer).
    public var maxBodyBytes = 16 * 1024 * 1024

    public init() {}

    public mutating func feed<S: Sequence>(_ bytes: S) where S.Element == UInt8 {
        buffer.append(contentsOf: bytes)
    }

    /// The next complete message, or nil until more bytes arrive.
    public mutating func next() throws -> EventSocketMessage? {
        // Blank lines between messages are tolerated.
        while let f = buffer.first, f == UInt8(ascii: "\n") || f == UInt8(ascii: "\r") { buffer.removeFirst() }
        guard let (headerEnd, bodyStart) = Self.endOfHeaders(buffer) else { return nil }
        guard let text = String(bytes: buffer[..<headerEnd], encoding: .utf8) else {
            throw EventSocketError.protocolError("headers are not UTF-8")
        }
        var headers: [(name: String, value: String)] = []
        // Lines end in LF (CRLF tolerated; Swift sees "\r\n" as one newline character).
        for line in text.split(whereSeparator: \.isNewline) {
            guard let colon = line.firstIndex(of: ":") else {
                throw EventSocketError.protocolError("header line without a colon: \(line)")
            }
            let name = line[..<colon].trimmingCharacters(in: .whitespaces)
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            headers.append((name: name, value: value))
        }
        var length = 0
        if let cl = headers.first(where: { $0.name.caseInsensitiveCompare("Content-Length") == .orderedSame }) {
            guard let n = Int(cl.value), n >= 0, n <= maxBodyBytes else {
                throw EventSocketError.protocolError("bad Content-Length \(cl.value)")
            }
            length = n
        }
        guard buffer.count - bodyStart >= length else { return nil }
        let body = String(decoding: buffer[bodyStart..<(bodyStart + length)], as: UTF8.self)
        buffer.removeFirst(bodyStart + length)
        return EventSocketMessage(headers: headers, body: body)
    }

    /// Index of the end of the header block and of the first body byte ("\n\n" or "\r\n\r\n").
    private static func endOfHeaders(_ b: [UInt8]) -> (Int, Int)? {
        let nl = UInt8(ascii: "\n"), cr = UInt8(ascii: "\r")
        var i = 0
        while i < b.count {
            if b[i] == nl {
                if i + 1 < b.count, b[i + 1] == nl { return (i, i + 2) }
                if i + 2 < b.count, b[i + 1] == cr, b[i + 2] == nl { return (i, i + 3) }
            }
            i += 1
        }
        return nil
    }
}

/// Where an event socket is: `host:port:password` (the `VERTO_FS_ESL` format; the password may
/// contain colons).
public struct EventSocketAddress: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var password: String

    public init(host: String, port: Int, password: String) {
        self.host = host
        self.port = port
        self.password = password
    }

    public init(parsing s: String) throws {
        let parts = s.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3, !parts[0].isEmpty, let port = Int(parts[1]), (1...65535).contains(port) else {
            throw EventSocketError.badAddress(s)
        }
        self.init(host: parts[0], port: port, password: parts[2])
    }
}

/// A connected, authenticated event-socket client. Blocking socket I/O runs on a private serial
/// queue, one command at a time; the async methods wait for it.
public final class EventSocketClient: @unchecked Sendable {
    // @unchecked: `fd` and `parser` are touched only on `queue`.
    private let queue = DispatchQueue(label: "vertophone.test.eventsocket")
    private var fd: Int32
    private var parser = EventSocketParser()
    private let timeout: Duration

    private init(fd: Int32, timeout: Duration) {
        self.fd = fd
        self.timeout = timeout
    }

    deinit { if fd >= 0 { sysClose(fd) } }

    /// Connects, waits for `auth/request`, authenticates.
    public static func connect(_ address: EventSocketAddress, timeout: Duration = .seconds(5)) async throws -> EventSocketClient {
        let queue = DispatchQueue(label: "vertophone.test.eventsocket.connect")
        let fd: Int32 = try await withCheckedThrowingContinuation { cont in
            queue.async { cont.resume(with: Result { try Self.openSocket(address.host, address.port, timeout: timeout) }) }
        }
        let client = EventSocketClient(fd: fd, timeout: timeout)
        do {
            try await client.run {
                let greeting = try $0.readMessage()
                guard greeting.contentType == "auth/request" else {
                    throw EventSocketError.protocolError("expected auth/request, got \(greeting.contentType ?? "nothing")")
                }
                try $0.write("auth \(address.password)\n\n")
                let reply = try $0.readMessage(until: { $0.contentType == "command/reply" })
                guard reply.replyText?.hasPrefix("+OK") == true else {
                    throw EventSocketError.authenticationFailed(reply.replyText ?? "no reply")
                }
            }
        } catch {
            client.close()
            throw error
        }
        return client
    }

    /// `api <command>`: the command's output (the `api/response` body). `-ERR …` outputs throw.
    @discardableResult
    public func api(_ command: String) async throws -> String {
        try Self.checkCommand(command)
        return try await run {
            try $0.write("api \(command)\n\n")
            let m = try $0.readMessage(until: { $0.contentType == "api/response" })
            if m.body.hasPrefix("-ERR") || m.body.hasPrefix("-USAGE") {
                throw EventSocketError.commandFailed(command: command, reply: m.body.trimmingCharacters(in: .whitespacesAndNewlines))
            }
            return m.body
        }
    }

    /// `bgapi <command>`: queued by FreeSWITCH; returns the job's UUID (its result comes later as a
    /// BACKGROUND_JOB event, which this client does not subscribe to).
    @discardableResult
    public func bgapi(_ command: String) async throws -> String {
        try Self.checkCommand(command)
        return try await run {
            try $0.write("bgapi \(command)\n\n")
            let m = try $0.readMessage(until: { $0.contentType == "command/reply" })
            guard let text = m.replyText, text.hasPrefix("+OK") else {
                throw EventSocketError.commandFailed(command: command, reply: m.replyText ?? "no reply")
            }
            if let job = m["Job-UUID"] { return job }
            if let r = text.range(of: "Job-UUID:") { return text[r.upperBound...].trimmingCharacters(in: .whitespaces) }
            throw EventSocketError.protocolError("bgapi reply without Job-UUID: \(text)")
        }
    }

    /// Sends `exit` (best effort) and closes the socket.
    public func close() {
        queue.sync {
            guard fd >= 0 else { return }
            _ = try? write("exit\n\n")
            sysClose(fd)
            fd = -1
        }
    }

    // MARK: - internals (on `queue`)

    /// A command is one line: a newline would start another command.
    private static func checkCommand(_ c: String) throws {
        guard !c.isEmpty, !c.contains("\n"), !c.contains("\r") else { throw EventSocketError.protocolError("bad command \(c)") }
    }

    private func run<T: Sendable>(_ body: @escaping @Sendable (EventSocketClient) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { cont in
            queue.async { cont.resume(with: Result { try body(self) }) }
        }
    }

    private func write(_ text: String) throws {
        guard fd >= 0 else { throw EventSocketError.closed }
        var bytes = Array(text.utf8)
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeMutableBytes { p in
                send(fd, p.baseAddress! + sent, p.count - sent, sysNoSignal)
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw EventSocketError.closed
            }
            sent += n
        }
        bytes.removeAll()
    }

    /// Reads until a message matching `until` arrives; other messages (logs, events, notices) are
    /// passed over, except a disconnect notice, which ends the connection.
    private func readMessage(until: (EventSocketMessage) -> Bool = { _ in true }) throws -> EventSocketMessage {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let m = try parser.next() {
                if until(m) { return m }
                if m.contentType == "text/disconnect-notice" { throw EventSocketError.closed }
                continue
            }
            guard fd >= 0 else { throw EventSocketError.closed }
            let left = deadline - ContinuousClock.now
            guard left > .zero else { throw EventSocketError.timeout }
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ms = Int32(max(1, min(Double(Int32.max), left / .milliseconds(1))))
            let r = poll(&pfd, 1, ms)
            if r < 0 { if errno == EINTR { continue }; throw EventSocketError.closed }
            if r == 0 { throw EventSocketError.timeout }
            var chunk = [UInt8](repeating: 0, count: 16 * 1024)
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 { if errno == EINTR || errno == EAGAIN { continue }; throw EventSocketError.closed }
            if n == 0 { throw EventSocketError.closed }
            parser.feed(chunk[0..<n])
        }
    }

    /// A TCP connection to `host:port` (numeric or resolvable), bounded by `timeout`.
    private static func openSocket(_ host: String, _ port: Int, timeout: Duration) throws -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = sysStreamSocket
        var res: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &res)
        guard rc == 0, let first = res else {
            throw EventSocketError.connectFailed("cannot resolve \(host): \(String(cString: gai_strerror(rc)))")
        }
        defer { freeaddrinfo(res) }
        var lastError = "no address"
        var ai: UnsafeMutablePointer<addrinfo>? = first
        while let a = ai {
            ai = a.pointee.ai_next
            let fd = socket(a.pointee.ai_family, a.pointee.ai_socktype, a.pointee.ai_protocol)
            if fd < 0 { lastError = String(cString: strerror(errno)); continue }
            let flags = fcntl(fd, F_GETFL, 0)
            _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
            var r = sysConnect(fd, a.pointee.ai_addr, a.pointee.ai_addrlen)
            if r < 0 && errno == EINPROGRESS {
                var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                let ms = Int32(max(1, min(60_000, timeout / .milliseconds(1))))
                if poll(&pfd, 1, ms) == 1 {
                    var err: Int32 = 0
                    var len = socklen_t(MemoryLayout<Int32>.size)
                    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len)
                    r = err == 0 ? 0 : -1
                    if err != 0 { lastError = String(cString: strerror(err)) }
                } else {
                    lastError = "timed out"
                }
            } else if r < 0 {
                lastError = String(cString: strerror(errno))
            }
            if r == 0 {
                _ = fcntl(fd, F_SETFL, flags)
                var one: Int32 = 1
                setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
                return fd
            }
            sysClose(fd)
        }
        throw EventSocketError.connectFailed("\(host):\(port): \(lastError)")
    }
}
