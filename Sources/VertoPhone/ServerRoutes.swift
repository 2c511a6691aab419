import Foundation

/// What the server role does with a call to a destination (the built-in applications follow the
/// FreeSWITCH test contract of docs/testing.md §5, so the same suite runs against either).
public enum ServerRoute: Sendable, Equatable {
    /// Answer and echo the caller's audio (9196).
    case echo
    /// Answer and play an endless tone (9664: 1 kHz).
    case tone(Double)
    /// Answer and collect DTMF (9197; digits queryable by call id).
    case dtmfCollector
    /// Early media (`verto.media` with SDP) with a ringback tone for `seconds`, then answer without
    /// SDP and echo (9198).
    case earlyMediaThenEcho(seconds: Double, ringback: Double)
    /// Ring `seconds` without media, then answer and echo (9195).
    case answerAfter(seconds: Double)
    /// Answer, echo, and hang up after `seconds` with NORMAL_CLEARING (9199).
    case answerThenHangup(seconds: Double)
    /// Bridge to the Verto user logged in with this id (1000–1002), with `verto.display` to both legs.
    case bridge(user: String)
    /// Hand the call to the application (`onNewWebRTCCall` with `answer`/`hangup` up to it).
    case application
}

/// Destination → route.
public struct ServerRoutingTable: Sendable, Equatable {
    public var routes: [String: ServerRoute]
    /// What unknown destinations get: nil = hang up with NO_ROUTE_DESTINATION.
    public var fallback: ServerRoute?

    public init(routes: [String: ServerRoute], fallback: ServerRoute? = nil) {
        self.routes = routes
        self.fallback = fallback
    }

    public func route(for destination: String) -> ServerRoute? { routes[destination] ?? fallback }

    /// The contract of docs/testing.md §5 (3000, the conference room, is not built in).
    public static let testContract = ServerRoutingTable(routes: [
        "9196": .echo,
        "9664": .tone(1000),
        "9197": .dtmfCollector,
        "9198": .earlyMediaThenEcho(seconds: 2, ringback: 425),
        "9195": .answerAfter(seconds: 2),
        "9199": .answerThenHangup(seconds: 3),
        "1000": .bridge(user: "1000"),
        "1001": .bridge(user: "1001"),
        "1002": .bridge(user: "1002"),
    ])
}

extension ServerRoute {
    /// Parses the route syntax of the server config file: `echo`, `tone 1000`, `dtmf`,
    /// `early-media 2 425` (seconds, ringback Hz), `answer-after 2`, `hangup-after 3`,
    /// `bridge 1000`, `application`.
    public init?(configValue: String) {
        let w = configValue.split(separator: " ").map(String.init)
        guard let head = w.first else { return nil }
        func num(_ i: Int) -> Double? { i < w.count ? Double(w[i]) : nil }
        switch (head, w.count) {
        case ("echo", 1): self = .echo
        case ("tone", 2): guard let f = num(1), f > 0 else { return nil }; self = .tone(f)
        case ("dtmf", 1): self = .dtmfCollector
        case ("early-media", 3): guard let s = num(1), let f = num(2) else { return nil }; self = .earlyMediaThenEcho(seconds: s, ringback: f)
        case ("answer-after", 2): guard let s = num(1) else { return nil }; self = .answerAfter(seconds: s)
        case ("hangup-after", 2): guard let s = num(1) else { return nil }; self = .answerThenHangup(seconds: s)
        case ("bridge", 2): self = .bridge(user: w[1])
        case ("application", 1): self = .application
        default: return nil
        }
    }
}

/// The `vertophone serve --config FILE` file (JSON): every key optional.
/// `{"host": "127.0.0.1", "port": 5066, "mediaHost": "127.0.0.1", "users": "users.txt",
///   "routes": {"9196": "echo", "9664": "tone 1000"}, "replaceDefaultRoutes": false}`
public struct ServerConfigFile: Sendable, Equatable {
    public var host: String?
    public var port: Int?
    public var mediaHost: String?
    public var usersFile: String?
    /// PEM certificate chain and private key for wss (both or neither).
    public var tlsCert: String?
    public var tlsKey: String?
    public var routing: ServerRoutingTable
    /// `HOST:PORT` of the Prometheus scrape endpoint (`vertophone serve --metrics`).
    public var metrics: String?
    /// The media address written in SDP (a server behind a NAT), and the media port range
    /// ("16384-32768").
    public var externalIP: String?
    public var rtpPorts: ClosedRange<Int>?

    /// "LOW-HIGH" → LOW...HIGH within 1...65535.
    public static func portRange(_ text: String) -> ClosedRange<Int>? {
        let parts = text.split(separator: "-").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 2, let low = parts[0], let high = parts[1], 1 <= low, low <= high, high <= 65_535 else { return nil }
        return low...high
    }

    /// The keys a config file may have; any other is an error (a typo must not pass silently).
    public static let keys: Set<String> = ["host", "port", "mediaHost", "users", "tlsCert", "tlsKey", "routes",
                                           "replaceDefaultRoutes", "metrics", "externalIP", "rtpPorts"]

    public enum ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        case notJSONObject
        case unknownKey(String)
        case badField(String)
        case badRoute(destination: String, value: String)
        public var description: String {
            switch self {
            case .notJSONObject: return "the config file is not a JSON object"
            case .unknownKey(let k): return "unknown key \"\(k)\" in the config file (known: \(ServerConfigFile.keys.sorted().joined(separator: ", ")))"
            case .badField(let f): return "bad value for \(f)"
            case .badRoute(let d, let v): return "bad route for \(d): \(v)"
            }
        }
    }

    public init(json: Data) throws(ParseError) {
        guard let obj = (try? JSONSerialization.jsonObject(with: json)) as? [String: Any] else { throw .notJSONObject }
        if let unknown = obj.keys.sorted().first(where: { !Self.keys.contains($0) }) { throw .unknownKey(unknown) }
        func string(_ k: String) throws(ParseError) -> String? {
            guard let v = obj[k] else { return nil }
            guard let s = v as? String else { throw .badField(k) }
            return s
        }
        host = try string("host")
        mediaHost = try string("mediaHost")
        usersFile = try string("users")
        tlsCert = try string("tlsCert")
        tlsKey = try string("tlsKey")
        metrics = try string("metrics")
        externalIP = try string("externalIP")
        if let r = try string("rtpPorts") {
            guard let range = Self.portRange(r) else { throw .badField("rtpPorts") }
            rtpPorts = range
        }
        guard (tlsCert == nil) == (tlsKey == nil) else { throw .badField(tlsCert == nil ? "tlsCert" : "tlsKey") }
        if let p = obj["port"] {
            guard let n = p as? Int, (0...65535).contains(n) else { throw .badField("port") }
            port = n
        }
        var table = (obj["replaceDefaultRoutes"] as? Bool ?? false) ? ServerRoutingTable(routes: [:]) : .testContract
        if let r = obj["routes"] {
            guard let routes = r as? [String: Any] else { throw .badField("routes") }
            for (dest, value) in routes {
                guard let s = value as? String, let route = ServerRoute(configValue: s) else {
                    throw .badRoute(destination: dest, value: "\(value)")
                }
                table.routes[dest] = route
            }
        }
        routing = table
    }
}
