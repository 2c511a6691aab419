import Foundation
import NIOConcurrencyHelpers
import Testing
import TestSupport
import VertoCore
import VertoPhone

/// The FreeSWITCH variant's own code path — environment parsing, `FreeSWITCHTarget`, the
/// event-socket commands it sends (`bgapi originate … user/…`, `api uuid_getvar … dtmf_collected`,
/// `api uuid_kill`) — exercised on every build, without FreeSWITCH: our server plays FreeSWITCH's
/// Verto side and a fake event socket translates those three commands into our server's query API.
/// This checks our side of the conversation only; what FreeSWITCH answers is checked by the opt-in
/// suite.
@Suite("FreeSWITCH target against our server behind a fake event socket", .serialized, .realTime)
struct FreeSWITCHTargetPathTests {
    @Test func environmentDefaultsAreTheContract() throws {
        let e = try #require(FreeSWITCHEnvironment(["VERTO_FS_URL": "ws://127.0.0.1:5066"]))
        #expect(e.wssURL == nil && e.domain == "127.0.0.1" && e.users == ["1000", "1001", "1002"])
        #expect(e.password == "verto-test" && e.eventSocket == "127.0.0.1:8021:ClueCon")
        #expect(FreeSWITCHEnvironment(["VERTO_FS_PASSWORD": "x"]) == nil, "no VERTO_FS_URL, no suite")
        let custom = try #require(FreeSWITCHEnvironment([
            "VERTO_FS_URL": "ws://fs:8081", "VERTO_FS_WSS_URL": "wss://fs:8082", "VERTO_FS_DOMAIN": "lab",
            "VERTO_FS_USERS": "2000, 2001,2002", "VERTO_FS_PASSWORD": "pw", "VERTO_FS_ESL": "fs:8021:secret",
        ]))
        #expect(custom.users == ["2000", "2001", "2002"] && custom.wssURL == "wss://fs:8082" && custom.domain == "lab")
    }

    @Test func inboundCallOriginatedThroughTheEventSocket() async throws {
        try await withFacade { target in try await run(target, Scenarios.inboundCall) }
    }

    @Test func dtmfReadThroughTheEventSocket() async throws {
        try await withFacade { target in try await run(target, Scenarios.dtmf) }
    }

    @Test func echoAndLoginThroughTheFreeSWITCHTarget() async throws {
        try await withFacade { target in
            try await run(target, Scenarios.loginOverWS)
            try await run(target, Scenarios.echo)
        }
    }

    /// The provider scenarios that use the event socket (originate, `uuid_getvar`), through it.
    @Test func providerInboundAndDtmfThroughTheEventSocket() async throws {
        try await withFacade { target in
            try await runProvider(target, ProviderScenarios.inboundCall)
            try await runProvider(target, ProviderScenarios.dtmf)
        }
    }

    /// Our server + the fake event socket, seen through `FreeSWITCHTarget`.
    private func withFacade(_ body: (FreeSWITCHTarget) async throws -> Void) async throws {
        let own = try await OwnServerTarget.start()
        let facade = try EventSocketFacade(endpoint: own.endpoint)
        let target = try FreeSWITCHTarget(environment: try #require(FreeSWITCHEnvironment([
            "VERTO_FS_URL": own.url, "VERTO_FS_DOMAIN": own.domain,
            "VERTO_FS_ESL": "127.0.0.1:\(facade.server.port):ClueCon",
        ])))
        do { try await body(target) } catch {
            facade.server.stop()
            await own.stop()
            throw error
        }
        let commands = facade.server.commands
        facade.server.stop()
        await own.stop()
        #expect(commands.allSatisfy { $0 == "auth ClueCon" || $0 == "exit" || $0.hasPrefix("api ") || $0.hasPrefix("bgapi ") })
    }
}

/// A fake event socket in front of our server: understands `uuid_getvar <id> dtmf_collected`,
/// `uuid_kill <id>` and `originate {vars}user/<id>@<domain> &echo`, as FreeSWITCH would for the
/// contract's configuration.
final class EventSocketFacade: Sendable {
    let server: FakeEventSocketServer
    /// origination_uuid → our server's call id.
    private let originated: NIOLockedValueBox<[String: String]>

    init(endpoint: VertoEndpoint, port: Int = 0) throws {
        let originated = NIOLockedValueBox<[String: String]>([:])
        self.originated = originated
        server = try FakeEventSocketServer(
            port: port,
            respond: { command in
                let words = command.split(separator: " ").map(String.init)
                @Sendable func ourID(_ id: String) -> String { originated.withLockedValue { $0[id] } ?? id }
                switch words.first {
                case "uuid_getvar" where words.count == 3 && words[2] == "dtmf_collected":
                    let digits = blocking { try await endpoint.collectedDigits(callID: ourID(words[1])) }
                    switch digits {
                    case .success(let d?) where !d.isEmpty: return d
                    case .success: return "_undef_"
                    case .failure: return "-ERR No such channel!\n"
                    }
                case "uuid_kill" where words.count >= 2:
                    _ = blocking { try await endpoint.hangup(callID: ourID(words[1])) }
                    return "+OK\n"
                default:
                    return "-ERR \(words.first ?? "") Command not found!\n"
                }
            },
            background: { command in
                // originate {origination_uuid=U,origination_caller_id_number=N,…}user/<id>@<domain> &echo
                guard command.hasPrefix("originate {"), let close = command.firstIndex(of: "}") else { return }
                var vars: [String: String] = [:]
                for pair in command[command.index(command.startIndex, offsetBy: 11)..<close].split(separator: ",") {
                    let kv = pair.split(separator: "=", maxSplits: 1).map(String.init)
                    if kv.count == 2 { vars[kv[0]] = kv[1] }
                }
                let variables = vars
                let rest = command[command.index(after: close)...]
                guard rest.hasPrefix("user/"), rest.hasSuffix(" &echo"),
                      let user = rest.dropFirst(5).split(separator: "@").first.map(String.init) else { return }
                let result = blocking {
                    try await endpoint.call(user: user, callerIDNumber: variables["origination_caller_id_number"] ?? "0000000000",
                                            callerIDName: variables["origination_caller_id_name"] ?? "FreeSWITCH", source: .echo)
                }
                if case .success(let id) = result, let uuid = vars["origination_uuid"] {
                    originated.withLockedValue { $0[uuid] = id }
                }
            })
    }
}

/// Runs async work from the fake server's (non-cooperative) thread and waits for it.
private func blocking<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) -> Result<T, any Error> {
    let done = DispatchSemaphore(value: 0)
    let box = NIOLockedValueBox<Result<T, any Error>?>(nil)
    Task {
        let r: Result<T, any Error>
        do { r = .success(try await body()) } catch { r = .failure(error) }
        box.withLockedValue { $0 = r }
        done.signal()
    }
    done.wait()
    return box.withLockedValue { $0 }!
}
