import Foundation
import MediaNIO
import NIOCore
import NIOPosix
import ICECore
import MediaCore
import PeerCore
import Testing
import TestSupport
@testable import VertoPhone

/// An allocation slower than the engine's 3 s default passes the tests' longer bound but is worth
/// knowing about: the time and coturn's own log (timestamped) go to the test output.
func reportSlowAllocation(_ milliseconds: [Double], _ coturn: Coturn) {
    guard let ms = milliseconds.first, ms > 2_000 else { return }
    print("slow TURN allocation: \(Int(ms)) ms; coturn's log:\n\(coturn.log.suffix(4_000))")
}

/// Calls through a real TURN server (coturn, started per test on loopback by `scripts/coturn`):
/// relayed candidates over UDP, TCP and TLS to the server, static and REST credentials, and the
/// typed failures.
@Suite(.serialized, .realTime) struct TURNTests {
    /// A client of user 1001 on `endpoint` with these ICE servers and policy, trusting coturn's certificate.
    func relayClient(_ endpoint: VertoEndpoint, _ servers: [ICEServer], policy: ICETransportPolicy = .relay,
                     coturn: Coturn, configure: (inout VertoClientOptions) -> Void = { _ in }) -> VertoClient {
        var o = VertoClientOptions(url: "ws://127.0.0.1:\(endpoint.port)/", login: "1001@127.0.0.1", password: "verto-test")
        o.mediaHost = "127.0.0.1"
        o.callerIDNumber = "1001"
        o.iceServers = servers
        o.iceTransportPolicy = policy
        o.trust = .customCA(pem: coturn.certificatePEM)
        // A generous bound: the whole suite shares two cores, and an allocation has been seen to
        // need more than the 3 s default while it started (see `reportSlowAllocation`).
        o.media.turn.allocationTimeout = .seconds(10)
        configure(&o)
        return VertoClient(options: o)
    }

    /// Waits (bounded) for ICE to select a pair and returns its description.
    func candidatePair(_ call: Call) async throws -> String? {
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            if let pair = try await call.media.stats()?.candidatePair { return pair }
            try await Task.sleep(for: .milliseconds(20))
        }
        return nil
    }

    @Test(arguments: [TURNTransport.udp, .tcp, .tls])
    func aRelayOnlyCallThroughCoturnCarriesAudioBothWays(transport: TURNTransport) async throws {
        let coturn = try await Coturn.start()
        defer { coturn.stop() }
        let endpoint = try await startEndpoint { $0.mediaHost = "127.0.0.1" }
        let url = switch transport {
        case .udp: "turn:127.0.0.1:\(coturn.port)"
        case .tcp: "turn:127.0.0.1:\(coturn.port)?transport=tcp"
        case .tls: "turns:127.0.0.1:\(coturn.tlsPort)"
        }
        let c = relayClient(endpoint, [ICEServer(url, username: coturn.user, credential: coturn.password)], coturn: coturn)
        try await c.connect()
        let call = try await c.call("9196", source: .tone(frequencies: [440], amplitude: 0.3))
        try await call.wait { $0 == .active }
        #expect(try await hears(call.media, 440), "the echo of 440 Hz came back through the relay")
        #expect(try await candidatePair(call) == "relay/\(transport.rawValue) ↔ host")
        // The offer carried only the relayed candidate, at coturn's relay address.
        let offered = try await call.media.eventLoop.submit {
            call.media.peer?.withCoreOnLoop { $0.localEndpoint.candidates.map { "\($0.type) \($0.address)" } } ?? []
        }.get()
        #expect(offered.count == 1 && offered.allSatisfy { $0.hasPrefix("relay 127.0.0.1") }, "\(offered)")
        let stats = try #require(try await call.media.stats())
        #expect(stats.relayAllocationMs.count == 1)
        reportSlowAllocation(stats.relayAllocationMs, coturn)
        // coturn's own account: the channel was bound by our client and media was relayed.
        #expect(coturn.log.contains("CHANNEL_BIND processed, success"), "coturn log")
        try await call.hangup()
        try await c.disconnect()
        // Both allocations (the call's and the spare peer's) released with a Refresh of lifetime 0.
        let released = ContinuousClock.now + .seconds(5)
        while coturn.log.components(separatedBy: "REFRESH processed, success").count - 1 < 2, ContinuousClock.now < released {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(coturn.log.components(separatedBy: "REFRESH processed, success").count - 1 >= 2, "deallocations in coturn's log")
        try await endpoint.stop()
    }

    /// The TURN REST API scheme: ephemeral credentials derived from coturn's shared secret.
    @Test func restAPICredentialsFromTheSharedSecretWork() async throws {
        let coturn = try await Coturn.start()
        defer { coturn.stop() }
        let endpoint = try await startEndpoint { $0.mediaHost = "127.0.0.1" }
        let server = ICEServer.ephemeral(urls: ["turn:127.0.0.1:\(coturn.restPort)"], secret: coturn.secret, user: "phone-1001",
                                         unixTime: Int64(Date().timeIntervalSince1970), validFor: 600)
        #expect(server.username?.hasSuffix(":phone-1001") == true)
        let c = relayClient(endpoint, [server], coturn: coturn)
        try await c.connect()
        let call = try await c.call("9196", source: .tone(frequencies: [660], amplitude: 0.3))
        try await call.wait { $0 == .active }
        #expect(try await hears(call.media, 660))
        #expect(try await candidatePair(call) == "relay/udp ↔ host")
        try await call.hangup()
        try await c.disconnect()
        try await endpoint.stop()
    }

    /// Wrong TURN credentials with the relay-only policy: the call fails at once with the typed
    /// error (no candidate could be offered), no invite is sent, nothing hangs.
    @Test func wrongTURNCredentialsFailTheCallWithATypedError() async throws {
        let coturn = try await Coturn.start()
        defer { coturn.stop() }
        let endpoint = try await startEndpoint { $0.mediaHost = "127.0.0.1" }
        for (url, secretWrong) in [("turn:127.0.0.1:\(coturn.port)", false), ("turn:127.0.0.1:\(coturn.restPort)", true)] {
            let server = secretWrong
                ? ICEServer.ephemeral(urls: [url], secret: "not-the-secret", user: "x", unixTime: Int64(Date().timeIntervalSince1970))
                : ICEServer(url, username: coturn.user, credential: "wrong-password")
            let c = relayClient(endpoint, [server], coturn: coturn)
            try await c.connect()
            await #expect(throws: VertoPhoneError.media(.turn(.unauthorized))) {
                _ = try await c.call("9196", timeout: .seconds(10))
            }
            try await c.disconnect()
        }
        try await endpoint.stop()
    }

    /// A TURN server that does not answer (UDP into the void) or refuses the connection (TCP):
    /// typed errors within the allocation bound.
    @Test func anUnreachableTURNServerIsATypedErrorWithinTheBound() async throws {
        let coturn = try await Coturn.start()
        defer { coturn.stop() }
        let endpoint = try await startEndpoint { $0.mediaHost = "127.0.0.1" }
        // A UDP socket that reads and never answers; the same port has no TCP listener.
        let silent = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(silent.localAddress?.port)
        for (url, expected) in [("turn:127.0.0.1:\(port)", TURNError.timedOut),
                                ("turn:127.0.0.1:\(port)?transport=tcp", nil)] {
            let c = relayClient(endpoint, [ICEServer(url, username: "u", credential: "p")], coturn: coturn) {
                $0.media.turn.allocationTimeout = .seconds(1)
            }
            try await c.connect()
            let started = ContinuousClock.now
            do {
                _ = try await c.call("9196", timeout: .seconds(10))
                Issue.record("the call should have failed")
            } catch VertoPhoneError.media(.turn(let error)) {
                if let expected { #expect(error == expected) } else {
                    guard case .transportFailed = error else { Issue.record("\(error)"); continue }
                }
            }
            #expect(ContinuousClock.now - started < .seconds(8), "failed within the 1 s allocation bound, not at the 10 s call timeout")
            try await c.disconnect()
        }
        try await silent.close()
        try await endpoint.stop()
    }

    /// Policy "all" with a TURN server: the relayed candidate is offered beside the host one, and on
    /// loopback the direct pair wins (relayed pairs have the lowest priority, RFC 8445 §5.1.2.2).
    @Test func withPolicyAllTheRelayIsOfferedAndTheDirectPairWins() async throws {
        let coturn = try await Coturn.start()
        defer { coturn.stop() }
        let endpoint = try await startEndpoint { $0.mediaHost = "127.0.0.1" }
        let c = relayClient(endpoint, [ICEServer("turn:127.0.0.1:\(coturn.port)", username: coturn.user, credential: coturn.password)],
                            policy: .all, coturn: coturn)
        try await c.connect()
        let call = try await c.call("9196", source: .tone(frequencies: [440], amplitude: 0.3))
        try await call.wait { $0 == .active }
        let offered = try await call.media.eventLoop.submit {
            call.media.peer?.withCoreOnLoop { $0.localEndpoint.candidates.map { "\($0.type)" } } ?? []
        }.get()
        #expect(offered.sorted() == ["host", "relay"], "\(offered)")
        #expect(try await hears(call.media, 440))
        #expect(try await candidatePair(call) == "host ↔ host")
        try await call.hangup()
        try await c.disconnect()
        try await endpoint.stop()
    }

    /// IPv6: media on ::1 both sides, directly and through coturn's IPv6 relay (the client reaches
    /// the TURN server over IPv6 and asks for an IPv6 relayed address, RFC 8656 §7.2).
    @Test(arguments: [nil, TURNTransport.udp, .tcp, .tls])
    func ipv6CallsDirectAndThroughAnIPv6Relay(transport: TURNTransport?) async throws {
        let coturn = try await Coturn.start()
        defer { coturn.stop() }
        try #require(coturn.host6 != nil, "this host has no ::1")
        let endpoint = try await startEndpoint { $0.mediaHost = "::1" }
        var servers: [ICEServer] = []
        if let transport {
            let url = switch transport {
            case .udp: "turn:[::1]:\(coturn.port)"
            case .tcp: "turn:[::1]:\(coturn.port)?transport=tcp"
            case .tls: "turns:[::1]:\(coturn.tlsPort)"
            }
            servers = [ICEServer(url, username: coturn.user, credential: coturn.password)]
        }
        let c = relayClient(endpoint, servers, policy: transport == nil ? .all : .relay, coturn: coturn) { $0.mediaHost = "::1" }
        try await c.connect()
        let call = try await c.call("9196", source: .tone(frequencies: [880], amplitude: 0.3))
        try await call.wait { $0 == .active }
        #expect(try await hears(call.media, 880))
        let expected = transport.map { "relay/\($0.rawValue) ↔ host" } ?? "host ↔ host"
        #expect(try await candidatePair(call) == expected)
        let offered = try await call.media.eventLoop.submit {
            call.media.peer?.withCoreOnLoop { $0.localEndpoint.candidates.map(\.address) } ?? []
        }.get()
        #expect(!offered.isEmpty && offered.allSatisfy { $0 == "::1" }, "IPv6 candidates only: \(offered)")
        try await call.hangup()
        try await c.disconnect()
        try await endpoint.stop()
    }

    /// The server role with a TURN server and the relay-only policy: its answers carry only its
    /// relayed candidate, it installs permissions for the caller's candidates from the offer, and a
    /// plain client (host candidates, no TURN) reaches it through the relay.
    @Test func theServerRoleAnswersWithARelayedCandidate() async throws {
        let coturn = try await Coturn.start()
        defer { coturn.stop() }
        let endpoint = try await startEndpoint {
            $0.mediaHost = "127.0.0.1"
            $0.iceServers = [ICEServer("turn:127.0.0.1:\(coturn.port)", username: coturn.user, credential: coturn.password)]
            $0.iceTransportPolicy = .relay
            $0.media.turn.allocationTimeout = .seconds(10)
        }
        let c = client(endpoint)
        try await c.connect()
        let call = try await c.call("9196", source: .tone(frequencies: [660], amplitude: 0.3))
        try await call.wait { $0 == .active }
        #expect(try await hears(call.media, 660), "the echo through the server's relay")
        #expect(try await candidatePair(call) == "host ↔ relay")
        let answered = try await call.media.eventLoop.submit {
            call.media.peer?.withCoreOnLoop { $0.negotiated?.remoteCandidates.map { "\($0.type)" } } ?? []
        }.get()
        #expect(answered == ["relay"], "the server's answer: \(answered)")
        try await call.hangup()
        try await c.disconnect()
        try await endpoint.stop()
    }

    /// Bad ICE server settings are typed errors at `connect`, before anything is sent.
    @Test func badICEServerSettingsAreTypedErrorsAtConnect() async throws {
        let coturn = try await Coturn.start()
        defer { coturn.stop() }
        let endpoint = try await startEndpoint()
        for (servers, policy) in [([ICEServer("turn://127.0.0.1", username: "u", credential: "p")], ICETransportPolicy.relay),
                                  ([ICEServer("turn:127.0.0.1")], .relay),  // no credentials
                                  ([ICEServer("stun:127.0.0.1:3478")], .relay),  // relay-only needs TURN
                                  ([ICEServer("turn:no-such-host.invalid", username: "u", credential: "p")], .all)] {
            let c = relayClient(endpoint, servers, policy: policy, coturn: coturn)
            await #expect {
                try await c.connect()
            } throws: { error in
                if case VertoPhoneError.invalidConfiguration = error { return true }
                return false
            }
        }
        try await endpoint.stop()
    }
}

/// The client in a network namespace whose only route is to the TURN server's network: the
/// server's media address is unreachable from there (checked with `ip route get`), so the call can
/// only work through the relay. The client is the `vertophone` CLI run inside the namespace.
@Suite(.serialized, .realTime) struct TURNNamespaceTests {
    static var binary: String {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("vertophone").path
    }

    /// With policy "all" the client also offers and checks its host candidate; those checks have no
    /// route (dropped by the shell, not fatal to the socket) and the relayed pair wins.
    @Test(arguments: [false, true])
    func aClientWhoseOnlyRouteIsToTheTURNServerCallsThroughTheRelay(relayOnly: Bool) async throws {
        try #require(NetworkNamespace.isAvailable, "network namespaces need root and iproute2 (CI runs as root)")
        let ns = try NetworkNamespace(index: relayOnly ? 42 : 41, unreachable: 1)
        defer { ns.remove() }
        let mediaAddress = ns.unreachableAddresses[0]
        // Proof that the direct path is impossible: no route from inside to the server's media address.
        let route = await ns.run("ip route get \(mediaAddress)")
        #expect(route.status != 0 && route.output.contains("unreachable"), "route from inside: \(route.output)")
        let coturn = try await Coturn.start(environment: ["TURN_EXTRA_ARGS": "--listening-ip=\(ns.outerAddress)"])
        defer { coturn.stop() }
        // Our server: signalling on the namespace's outer address, media on the unreachable one.
        let endpoint = try await startEndpoint {
            $0.host = ns.outerAddress
            $0.mediaHost = mediaAddress
            $0.users = UserDirectory(entries: [try! UserDirectory.makeEntry(id: "1001", password: "ns-test", iterations: 1_000)])
        }
        let wav = FileManager.default.temporaryDirectory.appendingPathComponent("vp-ns-\(UUID().uuidString.prefix(6)).wav").path
        defer { try? FileManager.default.removeItem(atPath: wav) }
        // Policy "all": the client offers its host candidate too; only the relayed pair can work.
        let call = await ns.run("\(Self.binary) call 9196 --url ws://\(ns.outerAddress):\(endpoint.port)/ --login 1001@\(ns.outerAddress) "
                                + "--password ns-test --tone 440 --record \(wav) --hangup-after 3 --json "
                                + "--ice-server turn:\(ns.outerAddress):\(coturn.port) --ice-username \(coturn.user) "
                                + "--ice-credential \(coturn.password) --turn-timeout 10" + (relayOnly ? " --relay-only" : ""))
        #expect(call.status == 0, "\(call.output)")
        let events = call.output.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        let setup = try #require(events.first { $0["event"] as? String == "setup" }, "\(call.output)")
        #expect(setup["candidate_pair"] as? String == "relay/udp ↔ host", "\(setup)")
        #expect(setup["relay_allocation_ms"] is Double, "\(setup)")
        reportSlowAllocation((setup["relay_allocation_ms"] as? Double).map { [$0] } ?? [], coturn)
        let recorded = try WAVFile(parsing: Array(try Data(contentsOf: URL(fileURLWithPath: wav))))
        #expect(dominatesSomeWindow(recorded.samples, 440), "the echo came back through the relay")
        try await endpoint.stop()
    }

    /// A client whose machine gains an address mid-call (the CLI in a namespace; a second address
    /// appears on its interface) restarts ICE on its own; the call goes on with audio both ways.
    @Test func aLocalAddressChangeRestartsICE() async throws {
        try #require(NetworkNamespace.isAvailable, "network namespaces need root and iproute2 (CI runs as root)")
        let ns = try NetworkNamespace(index: 43)
        defer { ns.remove() }
        let endpoint = try await startEndpoint {
            $0.host = ns.outerAddress
            $0.mediaHost = ns.outerAddress
            $0.users = UserDirectory(entries: [try! UserDirectory.makeEntry(id: "1001", password: "ns-test", iterations: 1_000)])
        }
        let wav = FileManager.default.temporaryDirectory.appendingPathComponent("vp-ns-\(UUID().uuidString.prefix(6)).wav").path
        defer { try? FileManager.default.removeItem(atPath: wav) }
        let answered = Task {
            try await first(in: endpoint.events, within: .seconds(20), "the call is answered") { e -> Bool? in
                if case .answered = e { return true } else { return nil }
            }
        }
        let run = Task {
            await ns.run("\(Self.binary) call 9196 --url ws://\(ns.outerAddress):\(endpoint.port)/ --login 1001@\(ns.outerAddress) "
                         + "--password ns-test --tone 440 --record \(wav) --hangup-after 8 --json")
        }
        _ = try await answered.value
        let added = await ns.run("ip addr add \(ns.innerAddress.dropLast())3/24 dev \(ns.innerInterface)")
        #expect(added.status == 0, "\(added.output)")
        let call = await run.value
        #expect(call.status == 0, "\(call.output)")
        let events = call.output.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        let restart = events.first { $0["event"] as? String == "ice_restart" }
        #expect(restart?["reason"] as? String == "local addresses changed", "\(call.output)")
        let recorded = try WAVFile(parsing: Array(try Data(contentsOf: URL(fileURLWithPath: wav))))
        // The echo in the last 2 s of the recording: after the restart.
        #expect(dominatesSomeWindow(Array(recorded.samples.suffix(96_000)), 440), "audio after the restart")
        try await endpoint.stop()
    }

    /// Dual stack: the CLI in a namespace with an IPv4 and an IPv6 (unique-local) address, media on
    /// every interface, calls a server whose media is IPv6 only. The offer carries both families
    /// (the signalling route's IPv4 address first, then IPv6 and IPv4 interleaved, RFC 8421) from
    /// two sockets, and the IPv6 pair carries the call.
    @Test func aDualStackClientReachesAnIPv6OnlyServer() async throws {
        try #require(NetworkNamespace.isAvailable, "network namespaces need root and iproute2 (CI runs as root)")
        let ns = try NetworkNamespace(index: 44)
        defer { ns.remove() }
        let (outer6, inner6) = ("fd77:44::1", "fd77:44::2")
        #expect(Shell.run("ip -6 addr add \(outer6)/64 dev \(ns.outerInterface) nodad") == 0)
        let added = await ns.run("ip -6 addr add \(inner6)/64 dev \(ns.innerInterface) nodad")
        #expect(added.status == 0, "\(added.output)")
        let endpoint = try await startEndpoint {
            $0.host = ns.outerAddress
            $0.mediaHost = outer6
            $0.users = UserDirectory(entries: [try! UserDirectory.makeEntry(id: "1001", password: "ns-test", iterations: 1_000)])
        }
        let offered = Task {
            try await first(in: endpoint.events, within: .seconds(20), "the call's media") { e -> MediaSession? in
                if case .newWebRTCCall(let info, let media) = e, !info.outbound { return media } else { return nil }
            }
        }
        let wav = FileManager.default.temporaryDirectory.appendingPathComponent("vp-ns-\(UUID().uuidString.prefix(6)).wav").path
        defer { try? FileManager.default.removeItem(atPath: wav) }
        let run = Task {
            await ns.run("\(Self.binary) call 9196 --url ws://\(ns.outerAddress):\(endpoint.port)/ --login 1001@\(ns.outerAddress) "
                         + "--password ns-test --tone 440 --record \(wav) --hangup-after 3 --json")
        }
        let media = try await offered.value
        let candidates = try await endpoint.eventLoop.submit {
            media.peer?.withCoreOnLoop { $0.negotiated?.remoteCandidates.map(\.address) } ?? []
        }.get()
        #expect(candidates == [ns.innerAddress, inner6], "the client's host candidates: \(candidates)")
        let call = await run.value
        #expect(call.status == 0, "\(call.output)")
        let recorded = try WAVFile(parsing: Array(try Data(contentsOf: URL(fileURLWithPath: wav))))
        #expect(dominatesSomeWindow(recorded.samples, 440), "the echo over IPv6")
        try await endpoint.stop()
    }
}
