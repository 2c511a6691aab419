import CryptoCore
import ICECore
import NIOCore
import RTPCore
import SDPCore
import VertoCore

/// The parsers a peer can reach, one entry point each, for libFuzzer (`vertophone-fuzz`, built by
/// scripts/fuzz) and for the replay of saved inputs in the tests. Each must return for any bytes:
/// a trap is a bug.
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// JSON-RPC / Verto messages through the server core, before and after a login.
    case verto
    /// SDP text: parse, serialize, parse again.
    case sdp
    /// STUN messages (RFC 8489).
    case stun
    /// RTP, RTCP compound packets and RFC 4733 payloads.
    case rtp
    /// DTLS records into a server endpoint waiting for a ClientHello.
    case dtls

    public func run(_ bytes: UnsafeRawBufferPointer) {
        switch self {
        case .verto: Self.verto(bytes)
        case .sdp: Self.sdp(bytes)
        case .stun: _ = try? STUNMessage.decode(Array(bytes))
        case .rtp:
            _ = try? RTPPacket(parsing: bytes)
            _ = try? RTCPCompoundPacket(parsing: bytes, requireReportFirst: false)
            _ = try? TelephoneEvent(parsing: bytes)
        case .dtls: Self.dtls(bytes)
        }
    }

    private static let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000)

    private static func verto(_ bytes: UnsafeRawBufferPointer) {
        let text = String(decoding: bytes, as: UTF8.self)
        _ = JSONRPC.decode(text, maxBytes: 1_000_000)
        var core = VertoServerCore(configuration: VertoServerConfiguration(), random: .seeded(1))
        let anonymous = core.connectionOpened(now: t0)
        core.receive(anonymous, text, now: t0)
        let user = core.connectionOpened(now: t0)
        core.receive(user, #"{"jsonrpc":"2.0","id":1,"method":"login","params":{"login":"1000@x","passwd":"p","sessid":"s"}}"#, now: t0)
        while let out = core.pollOutput() {
            if case .event(.authenticate(let request)) = out {
                core.completeLogin(request, decision: .accept(VertoUser(id: "1000")), now: t0)
            }
        }
        core.receive(user, text, now: t0)
        while core.pollOutput() != nil {}
    }

    private static func sdp(_ bytes: UnsafeRawBufferPointer) {
        guard let parsed = try? SessionDescription(parsing: String(decoding: bytes, as: UTF8.self)) else { return }
        _ = try? SessionDescription(parsing: parsed.text)
    }

    private static func dtls(_ bytes: UnsafeRawBufferPointer) {
        guard let server = try? DTLSEndpoint(role: .server, remoteFingerprint: DTLSIdentity.shared.fingerprint) else { return }
        server.receive(bytes, now: t0)
        while server.pollTransmit() != nil {}
        while server.pollEvent() != nil {}
    }
}
