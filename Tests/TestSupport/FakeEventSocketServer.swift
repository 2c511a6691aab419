import EventSocketCore
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A tiny stand-in for FreeSWITCH's event socket on 127.0.0.1 (any free port), so the event-socket
/// client is tested without FreeSWITCH: it greets with `auth/request`, checks the password, answers
/// `api` with `api/response` bodies from `respond`, `bgapi` with a `Job-UUID`, and `exit` with a
/// disconnect notice. With `noisy`, every reply is preceded by an unrelated message and written in
/// small pieces, as a busy server's TCP stream may deliver it.
public final class FakeEventSocketServer: @unchecked Sendable {
    // @unchecked: mutable state is behind `lock`; the socket loop runs on its own thread.
    public let port: Int
    private let listenFD: Int32
    private let password: String
    private let noisy: Bool
    private let respond: @Sendable (String) -> String
    private let background: @Sendable (String) -> Void
    private let lock = NSLock()
    private var received: [String] = []
    private var stopped = false
    /// Connections that asked for events (`event json …`).
    private var subscribers: [Int32] = []

    /// Commands received (`auth …`, `api …`, `bgapi …`, `exit`), in order.
    public var commands: [String] { lock.withLock { received } }

    /// - Parameters:
    ///   - port: 0 (the default) for any free port.
    ///   - respond: the output of `api <command>` (called with the command, on the server's thread).
    ///   - background: runs `bgapi <command>` after its `Job-UUID` reply was sent (on the server's
    ///     thread; it may block).
    public init(port requestedPort: Int = 0, password: String = "ClueCon", noisy: Bool = false,
                respond: @escaping @Sendable (String) -> String = { _ in "+OK\n" },
                background: @escaping @Sendable (String) -> Void = { _ in }) throws {
        self.password = password
        self.noisy = noisy
        self.respond = respond
        self.background = background
        let fd = socket(AF_INET, sysStreamSocket, 0)
        guard fd >= 0 else { throw EventSocketError.connectFailed("socket: \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = UInt16(requestedPort).bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 8) == 0 else {
            sysClose(fd)
            throw EventSocketError.connectFailed("bind/listen: \(String(cString: strerror(errno)))")
        }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        listenFD = fd
        port = Int(UInt16(bigEndian: addr.sin_port))
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    public var address: EventSocketAddress { EventSocketAddress(host: "127.0.0.1", port: port, password: password) }

    /// Stops accepting (connections in progress end when their client closes).
    public func stop() {
        let already = lock.withLock { () -> Bool in
            defer { stopped = true }
            return stopped
        }
        // Only shut down: the accept thread closes the socket when it leaves, so the descriptor's
        // number cannot be reused (by another test's socket) while that thread may still use it.
        if !already { shutdown(listenFD, Int32(SHUT_RDWR)) }
    }

    deinit { stop() }

    private func acceptLoop() {
        defer { sysClose(listenFD) }
        while true {
            let c = accept(listenFD, nil, nil)
            if c < 0 {
                if errno == EINTR { continue }
                return
            }
            if lock.withLock({ stopped }) { sysClose(c); return }
            let t = Thread { [self] in serve(c) }
            t.start()
        }
    }

    private func serve(_ fd: Int32) {
        defer {
            lock.withLock { subscribers.removeAll { $0 == fd } }
            sysClose(fd)
        }
        var pending = [UInt8]()
        send(fd, message(["Content-Type": "auth/request"]))
        var authed = false
        while true {
            // One command: bytes up to an empty line.
            var command: String?
            while command == nil {
                if let r = findBlankLine(pending) {
                    command = String(decoding: pending[..<r.0], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                    pending.removeFirst(r.1)
                    break
                }
                var chunk = [UInt8](repeating: 0, count: 4096)
                let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if n <= 0 { return }
                pending += chunk[0..<n]
            }
            guard let cmd = command else { return }
            lock.withLock { received.append(cmd) }
            if noisy { send(fd, message(["Content-Type": "log/data", "Log-Level": "7"], body: "noise before the reply\n\n")) }
            if cmd.hasPrefix("auth ") {
                if String(cmd.dropFirst(5)) == password {
                    authed = true
                    send(fd, message(["Content-Type": "command/reply", "Reply-Text": "+OK accepted"]))
                } else {
                    send(fd, message(["Content-Type": "command/reply", "Reply-Text": "-ERR invalid"]))
                    send(fd, message(["Content-Type": "text/disconnect-notice"], body: "Disconnected, goodbye.\n"))
                    return
                }
            } else if !authed {
                send(fd, message(["Content-Type": "command/reply", "Reply-Text": "-ERR command not found"]))
            } else if cmd.hasPrefix("api ") {
                send(fd, message(["Content-Type": "api/response"], body: respond(String(cmd.dropFirst(4)))))
            } else if cmd.hasPrefix("bgapi ") {
                let job = UUID().uuidString.lowercased()
                send(fd, message(["Content-Type": "command/reply", "Reply-Text": "+OK Job-UUID: \(job)", "Job-UUID": job]))
                background(String(cmd.dropFirst(6)))
            } else if cmd.hasPrefix("event json") {
                // Subscribed before the reply: an event published once the client sees "+OK" reaches it.
                lock.withLock { subscribers.append(fd) }
                send(fd, message(["Content-Type": "command/reply", "Reply-Text": "+OK event listener enabled json"]))
            } else if cmd == "exit" {
                send(fd, message(["Content-Type": "command/reply", "Reply-Text": "+OK bye"]))
                send(fd, message(["Content-Type": "text/disconnect-notice"], body: "Disconnected, goodbye.\n"))
                return
            } else {
                send(fd, message(["Content-Type": "command/reply", "Reply-Text": "-ERR command not found"]))
            }
        }
    }

    /// Connections subscribed to events now.
    public var subscriberCount: Int { lock.withLock { subscribers.count } }

    /// Sends a channel event (`text/event-json`, the fields as the JSON object) to every subscriber.
    public func publish(_ fields: [String: String]) {
        let body = "{" + fields.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\"\($0.value)\"" }.joined(separator: ",") + "}"
        publishRaw(message(["Content-Type": "text/event-json"], body: body))
    }

    /// Sends these bytes as they are to every subscriber (malformed messages, for the tests).
    public func publishRaw(_ bytes: [UInt8]) {
        for fd in lock.withLock({ subscribers }) { send(fd, bytes) }
    }

    /// Drops every subscribed connection, as a PBX restart would.
    public func dropSubscribers() {
        for fd in lock.withLock({ subscribers }) { shutdown(fd, Int32(SHUT_RDWR)) }
    }

    private func message(_ headers: KeyValuePairs<String, String>, body: String = "") -> [UInt8] {
        EventSocketMessage(headers: headers.map { (name: $0.key, value: $0.value) }, body: body).serialized()
    }

    private func send(_ fd: Int32, _ bytes: [UInt8]) {
        // Noisy: a few bytes at a time, so the client sees messages split anywhere.
        let piece = noisy ? 7 : bytes.count
        var i = 0
        while i < bytes.count {
            let end = min(bytes.count, i + max(1, piece))
            let n = bytes[i..<end].withUnsafeBytes { sysSend(fd, $0.baseAddress, $0.count, sysNoSignal) }
            if n <= 0 { return }
            i += n
            if noisy { usleep(200) }
        }
    }

    private func findBlankLine(_ b: [UInt8]) -> (Int, Int)? {
        let nl = UInt8(ascii: "\n")
        var i = 0
        while i + 1 < b.count {
            if b[i] == nl && b[i + 1] == nl { return (i, i + 2) }
            i += 1
        }
        return nil
    }
}
