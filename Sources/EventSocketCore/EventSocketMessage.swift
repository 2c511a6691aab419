import Foundation

// FreeSWITCH's event socket (mod_event_socket) wire format: a message is a block of `Name: value`
// header lines ended by an empty line; when a `Content-Length` header is present, that many bytes
// of body follow. Commands are a line (or lines) ended by an empty line. Sans-IO: bytes in,
// messages out.

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

    /// The message as it travels on the wire.
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
    /// Bodies larger than this are refused (a runaway peer).
    public var maxBodyBytes = 16 * 1024 * 1024

    public init() {}

    public mutating func feed<S: Sequence>(_ bytes: S) where S.Element == UInt8 {
        buffer.append(contentsOf: bytes)
    }

    /// Header blocks longer than this without their blank line are refused (and dropped).
    public var maxHeaderBytes = 64 * 1024

    /// The next complete message, or nil until more bytes arrive. A malformed message is a typed
    /// error and is dropped (its header block, and its body when its length was readable), so the
    /// messages after it still come out.
    public mutating func next() throws(EventSocketError) -> EventSocketMessage? {
        // Blank lines between messages are tolerated.
        let lead = buffer.prefix { $0 == UInt8(ascii: "\n") || $0 == UInt8(ascii: "\r") }.count
        if lead > 0 { buffer.removeFirst(lead) }
        guard let (headerEnd, bodyStart) = Self.endOfHeaders(buffer) else {
            if buffer.count > maxHeaderBytes {
                buffer.removeAll()
                throw .protocolError("a header block over \(maxHeaderBytes) bytes")
            }
            return nil
        }
        guard let text = String(bytes: buffer[..<headerEnd], encoding: .utf8) else {
            buffer.removeFirst(bodyStart)
            throw .protocolError("headers are not UTF-8")
        }
        var headers: [(name: String, value: String)] = []
        // Lines end in LF (CRLF tolerated; Swift sees "\r\n" as one newline character).
        for line in text.split(whereSeparator: \.isNewline) {
            guard let colon = line.firstIndex(of: ":") else {
                buffer.removeFirst(bodyStart)
                throw .protocolError("header line without a colon: \(line.prefix(80))")
            }
            let name = line[..<colon].trimmingCharacters(in: .whitespaces)
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            headers.append((name: name, value: value))
        }
        var length = 0
        if let cl = headers.first(where: { $0.name.caseInsensitiveCompare("Content-Length") == .orderedSame }) {
            guard let n = Int(cl.value), n >= 0, n <= maxBodyBytes else {
                buffer.removeFirst(bodyStart)
                throw .protocolError("bad Content-Length \(cl.value.prefix(20))")
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
