import Foundation
import NIOCore
import VertoPhone

/// Connection settings as Creatio keeps them for Webitel (system settings `webitelDomain`,
/// `webitelWebrtcConnectionString` and the user connection from `WUserConnectionService`).
public struct WebitelConnectionSettings: Sendable {
    /// The Verto WebSocket URL (`webitelWebrtcConnectionString`), e.g. `wss://webitel.example.com:5066`.
    /// Without a port, 5066 (docs/verto-protocol.md §1.2); without a scheme, `wss://`.
    public var webitelWebrtcConnectionString: String
    /// `webitelDomain`: appended to the login as `user@domain` unless the login has a domain.
    public var domain: String
    /// The user connection: Webitel login and password.
    public var login: String
    public var password: String
    /// The user connection's "Use web phone". Required: without it Creatio places calls through
    /// Webitel's command socket, which this provider does not speak.
    public var useWebPhone: Bool = true
    /// Shown to the called party; defaults to the login.
    public var callerIDName: String?
    public var callerIDNumber: String?

    // Engine settings (not in Creatio).
    /// A persisted Verto session id (nil: one is generated and kept across reconnects).
    public var sessid: String?
    /// Where media sockets bind ("0.0.0.0": every interface).
    public var mediaHost: String = "0.0.0.0"
    public var connectTimeout: Duration = .seconds(10)
    public var autoReconnect = true
    /// The PBX's event socket as `host:port:password` (FreeSWITCH mod_event_socket, e.g.
    /// `127.0.0.1:8021:ClueCon`): with it the provider also learns what the other party does —
    /// its hold and unhold, its DTMF, bridges formed by the dialplan, uuid changes — which the
    /// Verto connection alone does not carry. Nil: Verto only.
    public var eventSocketConnectionString: String?
    /// Test hook: sees the JSON body of every channel event the event socket delivers, before it is
    /// read, on the engine's event loop — for capturing a PBX's events.
    package var eventSocketTap: (@Sendable (String) -> Void)?
    /// Last word on the engine's options (TLS trust, media configuration, …).
    public var configureEngine: (@Sendable (inout VertoClientOptions) -> Void)?

    public init(webitelWebrtcConnectionString: String, domain: String, login: String, password: String, useWebPhone: Bool = true) {
        self.webitelWebrtcConnectionString = webitelWebrtcConnectionString
        self.domain = domain
        self.login = login
        self.password = password
        self.useWebPhone = useWebPhone
    }

    /// The URL actually used: scheme and port 5066 filled in when missing.
    public var vertoURL: String {
        var s = webitelWebrtcConnectionString.trimmingCharacters(in: .whitespaces)
        if !s.contains("://") { s = "wss://" + s }
        guard var c = URLComponents(string: s) else { return s }
        if c.port == nil { c.port = 5066 }
        if c.path.isEmpty { c.path = "/" }
        return c.string ?? s
    }

    /// `login@domain` (Webitel's Verto login, docs/verto-protocol.md §6.1).
    public var vertoLogin: String {
        login.contains("@") || domain.isEmpty ? login : "\(login)@\(domain)"
    }

    /// The user part of the login (the extension).
    public var extensionNumber: String { String(login.split(separator: "@").first ?? Substring(login)) }

    var clientOptions: VertoClientOptions {
        var o = VertoClientOptions(url: vertoURL, login: vertoLogin, password: password)
        o.sessid = sessid
        o.mediaHost = mediaHost
        o.connectTimeout = connectTimeout
        o.autoReconnect = autoReconnect
        o.callerIDNumber = callerIDNumber ?? extensionNumber
        o.callerIDName = callerIDName ?? extensionNumber
        o.userVariables = ["verto_user_agent": .string("VertoPhone-WebitelCTI")]
        configureEngine?(&o)
        return o
    }
}
