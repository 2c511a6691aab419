import EventSocketCore
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
