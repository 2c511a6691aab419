import CoreSupport
import Logging
import MediaNIO
import NIOCore
import PeerCore

/// The media of one server call leg (its call state is `ServerCallControl`'s). Confined to the
/// endpoint's event loop (hence `@unchecked`).
final class ServerCall {
    let info: ServerCallInfo
    let media: MediaSession
    /// A peer offered by `verto.attach`, waiting for the client's answer.
    var pendingReattach: DatagramDriver<PeerSession>?
    /// Our answer SDP, kept until the route decides to answer.
    var localSDP: String?
    /// The endpoint's logger with this call's `call_id`, `user` and `sessid` (shortened) as metadata.
    let logger: Logger

    init(info: ServerCallInfo, media: MediaSession, sessid: String, logger: Logger) {
        self.info = info
        self.media = media
        var l = logger
        l[metadataKey: "call_id"] = "\(info.callID)"
        l[metadataKey: "user"] = "\(info.user.map(Redact.number) ?? "-")"
        l[metadataKey: "sessid"] = "\(Redact.identifier(sessid))"
        self.logger = l
    }
}
