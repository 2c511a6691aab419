import CoreSupport
import ICECore
import NIOCore
import NIOPosix
import PeerCore
import VertoNIO

/// A STUN or TURN server as a WebRTC application names it (`RTCIceServer`): one or more URIs
/// (RFC 7064 `stun:`/`stuns:`, RFC 7065 `turn:`/`turns:` with `?transport=udp|tcp`) and, for
/// TURN, long-term credentials.
public struct ICEServer: Sendable, Hashable {
    public var urls: [String]
    public var username: String?
    public var credential: String?

    public init(urls: [String], username: String? = nil, credential: String? = nil) {
        self.urls = urls
        self.username = username
        self.credential = credential
    }

    public init(_ url: String, username: String? = nil, credential: String? = nil) {
        self.init(urls: [url], username: username, credential: credential)
    }

    /// A TURN server with the TURN REST API's ephemeral credentials, derived from the shared
    /// secret the server is configured with (coturn's `static-auth-secret`): username
    /// "EXPIRY:user", password base64(HMAC-SHA1(secret, username)). Normally a web backend
    /// computes these and hands them to the phone; `validFor` seconds from `now` (Unix time).
    public static func ephemeral(urls: [String], secret: String, user: String, unixTime now: Int64,
                                 validFor seconds: Int64 = 86_400) -> ICEServer {
        let c = TURNCredentials.ephemeral(secret: secret, user: user, unixTime: now, validFor: seconds)
        return ICEServer(urls: urls, username: c.username, credential: c.password)
    }
}

/// Which candidates a call may use (WebRTC's `RTCIceTransportPolicy`).
public enum ICETransportPolicy: String, Sendable, Hashable, CaseIterable {
    /// Host, server-reflexive and relayed candidates.
    case all
    /// Relayed candidates only: nothing is sent or received except through a TURN server.
    case relay
}

/// One parsed `stun:`/`turn:` URI (RFC 7064 §3.1, RFC 7065 §3.1).
public struct ICEServerURI: Sendable, Hashable, CustomStringConvertible {
    public enum Scheme: String, Sendable, Hashable { case stun, stuns, turn, turns }
    public var scheme: Scheme
    /// Host name or IP literal (without brackets).
    public var host: String
    public var port: Int
    /// How a TURN server is reached: `turn:` UDP unless `?transport=tcp`, `turns:` TLS.
    public var transport: TURNTransport

    public var isTURN: Bool { scheme == .turn || scheme == .turns }

    public init(parsing text: String) throws(VertoPhoneError) {
        func bad(_ why: String) -> VertoPhoneError { .invalidConfiguration("ICE server URI \"\(text)\": \(why)") }
        guard let colon = text.firstIndex(of: ":"), let scheme = Scheme(rawValue: text[..<colon].lowercased()) else {
            throw bad("the scheme must be stun:, stuns:, turn: or turns:")
        }
        self.scheme = scheme
        var rest = Substring(text[text.index(after: colon)...])
        if rest.hasPrefix("//") { throw bad("no \"//\" after the scheme (RFC 7065)") }
        var query: Substring = ""
        if let q = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: q)...]
            rest = rest[..<q]
        }
        if scheme == .stun || scheme == .stuns, !query.isEmpty { throw bad("stun: URIs take no query") }
        var host: Substring
        var portText: Substring?
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw bad("unterminated IPv6 literal") }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw bad("junk after the IPv6 literal") }
                portText = after.dropFirst()
            }
        } else if let c = rest.lastIndex(of: ":") {
            host = rest[..<c]
            portText = rest[rest.index(after: c)...]
        } else {
            host = rest
        }
        let bracketed = rest.hasPrefix("[")
        guard !host.isEmpty, host.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-" || $0 == "_" || (bracketed && $0 == ":")) }) else {
            throw bad("bad host (an IPv6 literal goes in brackets)")
        }
        if bracketed, TransportAddress(literal: String(host), port: 0)?.isIPv4 != false { throw bad("not an IPv6 literal in brackets") }
        self.host = String(host)
        let secure = scheme == .stuns || scheme == .turns
        if let portText {
            guard portText.allSatisfy(\.isASCII), portText.allSatisfy(\.isNumber), let p = Int(portText), (1...65535).contains(p) else {
                throw bad("bad port")
            }
            port = p
        } else {
            port = secure ? 5349 : 3478
        }
        transport = secure ? .tls : .udp
        if query.isEmpty, text.hasSuffix("?") { throw bad("empty query") }
        if !query.isEmpty {
            guard query.lowercased().hasPrefix("transport=") else { throw bad("the only query is transport=udp|tcp") }
            switch query.dropFirst("transport=".count).lowercased() {
            case "udp":
                if secure { throw bad("turns: over UDP (DTLS) is not supported") }
                transport = .udp
            case "tcp": transport = secure ? .tls : .tcp
            default: throw bad("transport must be udp or tcp")
            }
        }
    }

    public var description: String {
        let h = host.contains(":") ? "[\(host)]" : host
        return "\(scheme.rawValue):\(h):\(port)" + (transport == .tcp ? "?transport=tcp" : "")
    }
}

/// ICE servers resolved to addresses, as the media layer takes them.
struct ResolvedICEServers: Sendable {
    var stun: SocketAddress?
    var turn: [TURNServerConfiguration] = []

    /// Parses every URI (typed error on a bad one), then resolves host names off the event loops
    /// (getaddrinfo on NIO's thread pool); a name that does not resolve is an error too, so a typo
    /// does not silently turn into a call without a relay.
    static func resolve(_ servers: [ICEServer], policy: ICETransportPolicy) async throws -> ResolvedICEServers {
        var out = ResolvedICEServers()
        for server in servers {
            for url in server.urls {
                let uri = try ICEServerURI(parsing: url)
                let address = try await resolveAddress(uri.host, port: uri.port)
                if uri.isTURN {
                    guard let u = server.username, let c = server.credential else {
                        throw VertoPhoneError.invalidConfiguration("TURN server \(uri) needs a username and a credential")
                    }
                    out.turn.append(TURNServerConfiguration(address: address, transport: uri.transport,
                                                            credentials: TURNCredentials(username: u, password: c),
                                                            serverName: TransportAddress(literal: uri.host, port: 0) == nil ? uri.host : nil))
                } else if uri.scheme == .stuns {
                    throw VertoPhoneError.invalidConfiguration("stuns: (STUN over TLS) is not supported; use stun:")
                } else if out.stun == nil {
                    out.stun = address
                }
            }
        }
        if policy == .relay, out.turn.isEmpty {
            throw VertoPhoneError.invalidConfiguration("the relay-only policy needs a TURN server (turn: or turns:)")
        }
        return out
    }

    static func resolveAddress(_ host: String, port: Int) async throws -> SocketAddress {
        if let literal = try? SocketAddress(ipAddress: host, port: port) { return literal }
        do {
            return try await NIOThreadPool.singleton.runIfActive { try SocketAddress.makeAddressResolvingHost(host, port: port) }
        } catch {
            throw VertoPhoneError.invalidConfiguration("cannot resolve ICE server host \(host): \(error)")
        }
    }

    /// `trust` (the client's, as for wss) checks `turns:` servers' certificates.
    func apply(to media: inout PeerSessionConfiguration, policy: ICETransportPolicy, trust: WebSocketClientConfiguration.Trust) {
        let relayTrust: RelayStreamEndpoint.Trust = switch trust {
        case .system: .system
        case .customCA(let pem): .customCA(pem: pem)
        case .insecureAcceptAnyCertificate: .insecureAcceptAnyCertificate
        }
        if let stun { media.stunServer = stun }
        media.turnServers = turn.map { server in
            var s = server
            s.trust = relayTrust
            return s
        }
        media.relayOnly = policy == .relay
    }
}
