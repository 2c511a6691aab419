/// Every Verto method name of docs/verto-protocol.md §3.1 (both directions).
public enum VertoMethod: String, Sendable, CaseIterable {
    case login = "login"
    case clientReady = "verto.clientReady"
    case invite = "verto.invite"
    case answer = "verto.answer"
    case media = "verto.media"
    case bye = "verto.bye"
    case modify = "verto.modify"
    case info = "verto.info"
    case attach = "verto.attach"
    case punt = "verto.punt"
    case display = "verto.display"
    case event = "verto.event"
    case subscribe = "verto.subscribe"
    case unsubscribe = "verto.unsubscribe"
    case broadcast = "verto.broadcast"
    case ping = "verto.ping"
    case announce = "verto.announce"
    case prompt = "verto.prompt"
    case mediaParams = "verto.mediaParams"
    case echo = "echo"
    case jsapi = "jsapi"
    case fsapi = "fsapi"

    /// Method lookup is exact (mod_verto's method table is matched with strcmp-like lookups).
    public init?(name: String) { self.init(rawValue: name) }

    /// Methods a client may send to a server (registered in mod_verto's `jrpc_init`).
    public var isClientToServer: Bool {
        switch self {
        case .login, .invite, .answer, .attach, .bye, .modify, .info, .subscribe, .unsubscribe, .broadcast, .ping,
            .echo, .jsapi, .fsapi:
            return true
        default: return false
        }
    }

    /// Methods a server sends to a client (§3.3).
    public var isServerToClient: Bool {
        switch self {
        case .invite, .media, .answer, .bye, .attach, .display, .info, .event, .punt, .clientReady, .ping, .announce,
            .prompt, .mediaParams:
            return true
        default: return false
        }
    }
}

/// `verto.modify` actions (§3.2.5).
public enum ModifyAction: String, Sendable, CaseIterable {
    case hold, unhold, toggleHold, transfer, replace, updateMedia, videoRefresh
}

/// `"held"` / `"active"` in `verto.modify` results.
public enum HoldState: String, Sendable {
    case held, active
}
