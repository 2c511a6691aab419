import CoreSupport
import Logging
import MediaNIO
import NIOCore
import PeerCore

/// One call leg of the server role. Confined to the endpoint's event loop (hence `@unchecked`).
final class ServerCall: @unchecked Sendable {
    var info: ServerCallInfo
    let media: MediaSession
    var route: ServerRoute
    var answered = false
    var held = false
    /// The other leg when bridged (on a ringing leg of a fork: the caller's leg).
    var partner: String?
    /// The caller's leg while this leg rings as one of several (forking); nil once it won.
    var forkOf: String?
    var timers: [Scheduled<Void>] = []
    /// A peer offered by `verto.attach`, waiting for the client's answer.
    var pendingReattach: DatagramDriver<PeerSession>?
    /// Our answer SDP, kept until the route decides to answer.
    var localSDP: String?
    /// The endpoint's logger with this call's `call_id`, `user` and `sessid` (shortened) as metadata.
    let logger: Logger

    init(info: ServerCallInfo, media: MediaSession, route: ServerRoute, sessid: String, logger: Logger) {
        self.info = info
        self.media = media
        self.route = route
        var l = logger
        l[metadataKey: "call_id"] = "\(info.callID)"
        l[metadataKey: "user"] = "\(info.user.map(Redact.number) ?? "-")"
        l[metadataKey: "sessid"] = "\(Redact.identifier(sessid))"
        self.logger = l
    }
}
