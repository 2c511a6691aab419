import Testing
import TestSupport

// ProviderScenarios.swift through `WebitelCtiProvider`, against the same two targets as Suites.swift:
// our server role in-process (every build) and FreeSWITCH (opt-in, VERTO_FS_URL). Serialized like the
// engine's call suites: on FreeSWITCH, two scenarios logging in as the same user at once would both
// receive that user's calls — hence also the common parent suite `FreeSWITCHCalls` (opt-in there).

@Suite("Provider layer against our own server: login and extensions", .serialized, .realTime)
struct OwnServerProviderTests {
    @Test func login() async throws { try await runProvider(try await OwnServerTarget.start(), ProviderScenarios.login) }
    @Test func loginOverWSS() async throws { try await runProvider(try await OwnServerTarget.start(wss: true), ProviderScenarios.loginOverWSS) }
    @Test func wrongPasswordFailsCleanly() async throws { try await runProvider(try await OwnServerTarget.start(), ProviderScenarios.wrongPassword) }
    @Test func echo9196() async throws { try await runProvider(try await OwnServerTarget.start(), ProviderScenarios.echo) }
    @Test func tone9664() async throws { try await runProvider(try await OwnServerTarget.start(), ProviderScenarios.tone) }
    @Test func dtmf9197() async throws { try await runProvider(try await OwnServerTarget.start(), ProviderScenarios.dtmf) }
    @Test func earlyMedia9198() async throws { try await runProvider(try await OwnServerTarget.start(), ProviderScenarios.earlyMedia) }
    @Test func ringThenAnswer9195() async throws { try await runProvider(try await OwnServerTarget.start(), ProviderScenarios.ringThenAnswer) }
    @Test func serverHangsUp9199() async throws { try await runProvider(try await OwnServerTarget.start(), ProviderScenarios.serverHangsUp) }
    @Test(.disabled("our server role has no conference application (3000 is FreeSWITCH-only in the contract)"))
    func conference3000() async throws { try await runProvider(try await OwnServerTarget.start(), ProviderScenarios.conference) }
}

/// A second suite so that the two halves of our server's provider scenarios run side by side (each
/// test has its own server; at most two calls at once keeps the 2-core CI machine's audio timing
/// comfortable), halving the wall time.
@Suite("Provider layer against our own server: call control", .serialized, .realTime)
struct OwnServerProviderCallControlTests {
    @Test func holdAndUnhold() async throws { try await runProvider(try await OwnServerTarget.start(), ProviderScenarios.holdAndUnhold) }
    @Test func inboundCallAnswered() async throws { try await runProvider(try await OwnServerTarget.start(), ProviderScenarios.inboundCall) }
    @Test func bridgeOfTwoProviders() async throws { try await runProvider(try await OwnServerTarget.start(), ProviderScenarios.bridge) }
    @Test func blindTransfer() async throws { try await runProvider(try await OwnServerTarget.start(), ProviderScenarios.blindTransfer) }
    @Test func blindTransferToAUser() async throws { try await runProvider(try await OwnServerTarget.start(), ProviderScenarios.blindTransferToUser) }
    @Test func reconnectMidCall() async throws { try await runProvider(try await OwnServerTarget.start(), ProviderScenarios.reconnect) }
    @Test func calleeReconnectsDuringABridge() async throws { try await runProvider(try await OwnServerTarget.start(), ProviderScenarios.reconnectDuringBridge) }
}

/// Nested in `FreeSWITCHCalls` (Suites.swift): serialized with the engine's call suite, which logs
/// in as the same users.
extension FreeSWITCHCalls {
    @Suite("Provider layer against FreeSWITCH", .serialized)
    struct FreeSWITCHProviderTests {
        @Test func login() async throws { try await runProvider(try await FreeSWITCHTarget.reachable(), ProviderScenarios.login) }
        @Test(.enabled(if: FreeSWITCHEnvironment.hasWSS, "VERTO_FS_WSS_URL is not set (make the certificate with Fixtures/freeswitch/make-cert.sh)"))
        func loginOverWSS() async throws { try await runProvider(try await FreeSWITCHTarget.reachable(), ProviderScenarios.loginOverWSS) }
        @Test func wrongPasswordFailsCleanly() async throws { try await runProvider(try await FreeSWITCHTarget.reachable(), ProviderScenarios.wrongPassword) }
        @Test func echo9196() async throws { try await runProvider(try await FreeSWITCHTarget.reachable(), ProviderScenarios.echo) }
        @Test func tone9664() async throws { try await runProvider(try await FreeSWITCHTarget.reachable(), ProviderScenarios.tone) }
        /// Digits read back with the event socket: `uuid_getvar <callID> dtmf_collected`.
        @Test func dtmf9197() async throws { try await runProvider(try await FreeSWITCHTarget.reachable(), ProviderScenarios.dtmf) }
        @Test func earlyMedia9198() async throws { try await runProvider(try await FreeSWITCHTarget.reachable(), ProviderScenarios.earlyMedia) }
        @Test func ringThenAnswer9195() async throws { try await runProvider(try await FreeSWITCHTarget.reachable(), ProviderScenarios.ringThenAnswer) }
        @Test func serverHangsUp9199() async throws { try await runProvider(try await FreeSWITCHTarget.reachable(), ProviderScenarios.serverHangsUp) }
        @Test func conference3000() async throws { try await runProvider(try await FreeSWITCHTarget.reachable(), ProviderScenarios.conference) }
        @Test func holdAndUnhold() async throws { try await runProvider(try await FreeSWITCHTarget.reachable(), ProviderScenarios.holdAndUnhold) }
        @Test func remotePartyHoldsAndUnholds() async throws {
            try await runProvider(try await FreeSWITCHTarget.reachable(), ProviderScenarios.remotePartyHoldsAndUnholds)
        }
        @Test func farEndDTMF() async throws { try await runProvider(try await FreeSWITCHTarget.reachable(), ProviderScenarios.farEndDTMF) }
        @Test func dialplanBridge() async throws { try await runProvider(try await FreeSWITCHTarget.reachable(), ProviderScenarios.dialplanBridge) }
        /// Originated with the event socket: `bgapi originate … user/1000@DOMAIN &echo`.
        @Test func inboundCallAnswered() async throws { try await runProvider(try await FreeSWITCHTarget.reachable(), ProviderScenarios.inboundCall) }
        @Test func bridgeOfTwoProviders() async throws { try await runProvider(try await FreeSWITCHTarget.reachable(), ProviderScenarios.bridge) }
        @Test func blindTransfer() async throws { try await runProvider(try await FreeSWITCHTarget.reachable(), ProviderScenarios.blindTransfer) }
        /// Uses the third user (1002) as the transfer target, like the signalling suite that may run
        /// alongside: a signalling scenario's connection of 1002 would be offered the call too
        /// (`verto_contact` forks to every connection of a user) and lose the race harmlessly.
        @Test func blindTransferToAUser() async throws { try await runProvider(try await FreeSWITCHTarget.reachable(), ProviderScenarios.blindTransferToUser) }
        @Test func reconnectMidCall() async throws { try await runProvider(try await FreeSWITCHTarget.reachable(), ProviderScenarios.reconnect) }
        @Test func calleeReconnectsDuringABridge() async throws {
            try await runProvider(try await FreeSWITCHTarget.reachable(), ProviderScenarios.reconnectDuringBridge)
        }
    }
}
