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
    /// A destination that is not in `routes` but is the id of a logged-in user bridges to that user
    /// (ahead of `fallback`), as FreeSWITCH's default dialplan bridges a local extension.
    public var bridgesToLoggedInUsers: Bool

    public init(routes: [String: ServerRoute], fallback: ServerRoute? = nil, bridgesToLoggedInUsers: Bool = true) {
        self.routes = routes
        self.fallback = fallback
        self.bridgesToLoggedInUsers = bridgesToLoggedInUsers
    }

    /// The route in `routes`, else `fallback` (users are looked up by `ServerCallControl.route(for:)`).
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
