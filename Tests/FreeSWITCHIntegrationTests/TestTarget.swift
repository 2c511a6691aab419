import EventSocketCore
import CryptoCore
import Foundation
import NIOCore
import TestSupport
import VertoCore
import VertoPhone

/// A Verto server the integration suite runs against: real FreeSWITCH (`FreeSWITCHTarget`, opt-in)
/// or our own server role in-process (`OwnServerTarget`, every build). Both provide the contract of
/// docs/testing.md §5 — users, password, extensions — and differ only in how the suite looks inside the
/// server: FreeSWITCH through its event socket, our server through its query API.
protocol TestTarget: Sendable {
    /// For messages.
    var name: String { get }
    /// The ws:// URL of the Verto listener.
    var url: String { get }
    /// The wss:// URL, when the target has one (its certificate is accepted with the engine's
    /// test-only trust flag).
    var wssURL: String? { get }
    /// The directory domain: users log in as `<user>@<domain>`.
    var domain: String { get }
    /// At least three users (1000, 1001, 1002), all with `password`.
    var users: [String] { get }
    var password: String { get }
    /// How long a logged-in client may stay silent before the server sends `verto.ping`.
    var idlePingInterval: Duration { get }
    /// Room 3000 exists (FreeSWITCH's mod_conference; our server has no conference application).
    var hasConferenceRoom: Bool { get }
    /// `originateEcho` returns the call id the client will see (ours always; through FreeSWITCH's
    /// `user/` endpoint the originated channel's UUID is not checked by this suite).
    var originatedCallIDIsKnown: Bool { get }
    /// Whether the server names the bridged leg in `verto.invite`/`verto.display`
    /// (`verto_h_other_leg_unique_id`), from which the provider fills `CtiCall.otherLegUuid`. Our
    /// server exports it; the FreeSWITCH fixture's dialplan does not (`bridge` without
    /// `export verto_h_other_leg_unique_id=…`), so there the provider never learns the other leg.
    var exportsOtherLegUuid: Bool { get }

    /// The target's event socket for the provider (`host:port:password`), nil when it has none.
    var eventSocketConnectionString: String? { get }

    /// The digits collected on a 9197 call (`dtmf_collected`), nil when none yet.
    func collectedDTMF(callID: String) async throws -> String?
    /// Calls `user` from the server with caller id 9000; once answered the server echoes the
    /// user's audio. Returns the server's id of the call.
    func originateEcho(toUser user: String) async throws -> String
    /// Ends a call from the server side (cleanup).
    func hangup(callID: String) async throws
    func stop() async
}

// MARK: - FreeSWITCH (opt-in)

/// The FreeSWITCH under test, from the environment (docs/testing.md §5). Present only when
/// `VERTO_FS_URL` is set; the other variables default to the contract's values.
struct FreeSWITCHEnvironment: Sendable {
    var url: String
    var wssURL: String?
    var domain: String
    var users: [String]
    var password: String
    /// `host:port:password` (parsed when first used, so a malformed value fails the tests that
    /// need it instead of silently skipping the suite).
    var eventSocket: String

    static let current: FreeSWITCHEnvironment? = FreeSWITCHEnvironment(ProcessInfo.processInfo.environment)
    static var isConfigured: Bool { current != nil }
    static var hasWSS: Bool { current?.wssURL != nil }

    init?(_ env: [String: String]) {
        func value(_ name: String) -> String? {
            guard let v = env[name]?.trimmingCharacters(in: .whitespaces), !v.isEmpty else { return nil }
            return v
        }
        guard let url = value("VERTO_FS_URL") else { return nil }
        self.url = url
        wssURL = value("VERTO_FS_WSS_URL")
        domain = value("VERTO_FS_DOMAIN") ?? "127.0.0.1"
        users = (value("VERTO_FS_USERS") ?? "1000,1001,1002").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        password = value("VERTO_FS_PASSWORD") ?? "verto-test"
        eventSocket = value("VERTO_FS_ESL") ?? "127.0.0.1:8021:ClueCon"
    }
}

struct FreeSWITCHTarget: TestTarget {
    let environment: FreeSWITCHEnvironment

    /// From the process environment (VERTO_FS_*).
    init() throws {
        guard let e = FreeSWITCHEnvironment.current else { throw TargetError.notConfigured("VERTO_FS_URL is not set") }
        try self.init(environment: e)
    }

    /// From the environment, after checking that the Verto listener accepts a WebSocket, so an
    /// unreachable FreeSWITCH fails each test at once instead of after the client's login timeout.
    static func reachable() async throws -> FreeSWITCHTarget {
        let target = try FreeSWITCHTarget()
        do {
            let probe = try await RawVertoSocket.connect(target.url)
            probe.close()
        } catch {
            throw TargetError.notConfigured("FreeSWITCH is not reachable at \(target.url) (VERTO_FS_URL): \(error)")
        }
        return target
    }

    init(environment e: FreeSWITCHEnvironment) throws {
        guard e.users.count >= 3 else { throw TargetError.notConfigured("VERTO_FS_USERS needs three users (1000,1001,1002)") }
        environment = e
    }

    var name: String { "FreeSWITCH at \(environment.url)" }
    var url: String { environment.url }
    var wssURL: String? { environment.wssURL }
    var domain: String { environment.domain }
    var users: [String] { environment.users }
    var password: String { environment.password }
    /// mod_verto ≥ 1.10.7 pings after 30 s of client silence (docs/verto-protocol.md §1.3).
    var idlePingInterval: Duration { .seconds(30) }
    var hasConferenceRoom: Bool { true }
    var originatedCallIDIsKnown: Bool { false }
    var exportsOtherLegUuid: Bool { false }

    var eventSocketConnectionString: String? { environment.eventSocket }

    private func eventSocket() async throws -> EventSocketClient {
        try await EventSocketClient.connect(try EventSocketAddress(parsing: environment.eventSocket))
    }

    /// `version`, e.g. "FreeSWITCH Version 1.10.12-release~64bit (-release 64bit)".
    func version() async throws -> String {
        let esl = try await eventSocket()
        defer { esl.close() }
        return try await esl.api("version").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func collectedDTMF(callID: String) async throws -> String? {
        let esl = try await eventSocket()
        defer { esl.close() }
        // uuid_getvar prints the value, "_undef_" when unset, "-ERR No such channel!" for a gone call.
        let value = try await esl.api("uuid_getvar \(callID) dtmf_collected").trimmingCharacters(in: .whitespacesAndNewlines)
        return value.isEmpty || value == "_undef_" ? nil : value
    }

    func originateEcho(toUser user: String) async throws -> String {
        let uuid = UUID().uuidString.lowercased()
        let esl = try await eventSocket()
        defer { esl.close() }
        // user/<id>@<domain> expands the directory's dial-string (verto_contact: every Verto
        // connection of that user); &echo runs on the originated leg once the client answers.
        try await esl.bgapi("originate {origination_uuid=\(uuid),origination_caller_id_number=9000,"
                            + "origination_caller_id_name=VertoPhone,originate_timeout=20}user/\(user)@\(domain) &echo")
        return uuid
    }

    func hangup(callID: String) async throws {
        let esl = try await eventSocket()
        defer { esl.close() }
        _ = try? await esl.api("uuid_kill \(callID)")
    }

    func stop() async {}
}

enum TargetError: Error, CustomStringConvertible {
    case notConfigured(String)
    var description: String {
        switch self { case .notConfigured(let s): return s }
    }
}

// MARK: - our own server role (every build)

/// Our `VertoEndpoint`, in-process on 127.0.0.1 (port 0) with the demo users (1000–1002,
/// `verto-test`) and the test-contract routes; optionally a second, TLS endpoint for wss.
final class OwnServerTarget: TestTarget {
    let endpoint: VertoEndpoint
    let tlsEndpoint: VertoEndpoint?
    let idlePingInterval: Duration

    private init(endpoint: VertoEndpoint, tlsEndpoint: VertoEndpoint?, idlePingInterval: Duration) {
        self.endpoint = endpoint
        self.tlsEndpoint = tlsEndpoint
        self.idlePingInterval = idlePingInterval
    }

    /// - Parameters:
    ///   - wss: also start a TLS endpoint with a throw-away self-signed certificate.
    ///   - idlePingInterval: the server's `verto.ping` after client silence (30 s like mod_verto;
    ///     the ping scenario asks for 1 s).
    static func start(wss: Bool = false, idlePingInterval: Duration = .seconds(30)) async throws -> OwnServerTarget {
        func configuration(tls: TLSServerIdentity?) -> VertoEndpointConfiguration {
            var c = VertoEndpointConfiguration(users: .demo())
            c.port = 0
            c.tls = tls
            c.verto.idlePingInterval = TimeAmount(idlePingInterval)
            return c
        }
        let endpoint = try await VertoEndpoint.start(configuration: configuration(tls: nil))
        var tlsEndpoint: VertoEndpoint?
        if wss {
            do {
                let id = try DTLSIdentity(commonName: "127.0.0.1")
                let tls = TLSServerIdentity(certificateChainPEM: id.certificatePEM, privateKeyPEM: id.privateKeyPEM)
                tlsEndpoint = try await VertoEndpoint.start(configuration: configuration(tls: tls))
            } catch {
                try? await endpoint.stop()
                throw error
            }
        }
        return OwnServerTarget(endpoint: endpoint, tlsEndpoint: tlsEndpoint, idlePingInterval: idlePingInterval)
    }

    var name: String { "our server on 127.0.0.1:\(endpoint.port)" }
    var url: String { "ws://127.0.0.1:\(endpoint.port)/" }
    var wssURL: String? { tlsEndpoint.map { "wss://127.0.0.1:\($0.port)/" } }
    var domain: String { "127.0.0.1" }
    var users: [String] { ["1000", "1001", "1002"] }
    var password: String { "verto-test" }
    var hasConferenceRoom: Bool { false }
    var originatedCallIDIsKnown: Bool { true }
    var exportsOtherLegUuid: Bool { true }

    var eventSocketConnectionString: String? { nil }

    func collectedDTMF(callID: String) async throws -> String? {
        let d = try await endpoint.collectedDigits(callID: callID)
        return d?.isEmpty == false ? d : nil
    }

    func originateEcho(toUser user: String) async throws -> String {
        try await endpoint.call(user: user, callerIDNumber: "9000", callerIDName: "VertoPhone", source: .echo)
    }

    func hangup(callID: String) async throws {
        try await endpoint.hangup(callID: callID)
    }

    func stop() async {
        try? await endpoint.stop()
        try? await tlsEndpoint?.stop()
    }
}
