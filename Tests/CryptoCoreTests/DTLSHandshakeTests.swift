import CryptoCore
import Foundation
import NIOCore
import Testing
import TestSupport

/// Drives two endpoints against each other over an in-memory datagram pair.
/// `drop` decides, per datagram index (counted across both directions), whether it is lost.
@discardableResult
func pump(_ a: DTLSEndpoint, _ b: DTLSEndpoint, now: NIODeadline, maxSteps: Int = 100,
          mtuSeen: inout Int, drop: (Int) -> Bool = { _ in false }) -> (aEvents: [DTLSEvent], bEvents: [DTLSEvent]) {
    var aEvents: [DTLSEvent] = [], bEvents: [DTLSEvent] = []
    var index = 0
    for _ in 0..<maxSteps {
        var moved = false
        while let d = a.pollTransmit() {
            mtuSeen = max(mtuSeen, d.count)
            if !drop(index) { b.receive(d, now: now) }
            index += 1
            moved = true
        }
        while let d = b.pollTransmit() {
            mtuSeen = max(mtuSeen, d.count)
            if !drop(index) { a.receive(d, now: now) }
            index += 1
            moved = true
        }
        while let e = a.pollEvent() { aEvents.append(e) }
        while let e = b.pollEvent() { bEvents.append(e) }
        if !moved { break }
    }
    return (aEvents, bEvents)
}

@discardableResult
func pump(_ a: DTLSEndpoint, _ b: DTLSEndpoint, now: NIODeadline) -> (aEvents: [DTLSEvent], bEvents: [DTLSEvent]) {
    var mtu = 0
    return pump(a, b, now: now, mtuSeen: &mtu)
}

let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000)

/// RSA identities are slow to generate; make one per test process.
let rsaIdentity: DTLSIdentity = try! DTLSIdentity(keyType: .rsa(bits: 2048), commonName: "FreeSWITCH")

@Suite struct DTLSHandshakeTests {
    static let pairs: [(String, DTLSIdentity, DTLSIdentity)] = [
        ("ECDSA client, ECDSA server", try! DTLSIdentity(), try! DTLSIdentity()),
        ("ECDSA client, RSA server (FreeSWITCH answers passive)", try! DTLSIdentity(), rsaIdentity),
        ("RSA client, ECDSA server (FreeSWITCH answers active)", rsaIdentity, try! DTLSIdentity()),
    ]

    @Test(.cpuBound, arguments: 0..<3)
    func handshakeDerivesMirroredSRTPKeys(pair: Int) throws {
        let (_, clientID, serverID) = Self.pairs[pair]
        let client = try DTLSEndpoint(identity: clientID, role: .client, remoteFingerprint: serverID.fingerprint)
        let server = try DTLSEndpoint(identity: serverID, role: .server, remoteFingerprint: clientID.fingerprint)
        server.start(now: t0)
        client.start(now: t0)
        var mtu = 0
        let (ce, se) = pump(client, server, now: t0, mtuSeen: &mtu)
        guard case .connected(let ck)? = ce.first, case .connected(let sk)? = se.first else {
            Issue.record("not connected: client \(ce), server \(se)")
            return
        }
        #expect(ck == sk.mirrored)
        #expect(ck.localMasterKey != ck.remoteMasterKey)
        #expect(ck.profile == .aeadAES128GCM, "both sides prefer GCM")
        #expect(ck.localMasterKey.count == 16 && ck.localMasterSalt.count == 12)
        #expect(client.state == .connected && server.state == .connected)
        #expect(mtu <= 1200, "every handshake datagram fits the default MTU")
        #expect(client.nextDeadline() == nil && server.nextDeadline() == nil)
    }

    @Test(.cpuBound) func rsa4096CertificateIsFragmentedToSmallMTU() throws {
        // FreeSWITCH's certificate is RSA-4096: its Certificate message spans several records.
        let big = try DTLSIdentity(keyType: .rsa(bits: 4096))
        let small = DTLSConfiguration(mtu: 600)
        let mine = try DTLSIdentity()
        let client = try DTLSEndpoint(identity: mine, role: .client, remoteFingerprint: big.fingerprint, configuration: small)
        let server = try DTLSEndpoint(identity: big, role: .server, remoteFingerprint: mine.fingerprint, configuration: small)
        client.start(now: t0)
        var mtu = 0
        let (ce, se) = pump(client, server, now: t0, mtuSeen: &mtu)
        #expect(mtu <= 600)
        #expect(ce.count == 1 && se.count == 1)
        if case .connected = ce.first {} else { Issue.record("client: \(ce)") }
    }

    @Test func fingerprintMismatchFailsWithoutKeys() throws {
        let a = try DTLSIdentity(), b = try DTLSIdentity(), other = try DTLSIdentity()
        let client = try DTLSEndpoint(identity: a, role: .client, remoteFingerprint: other.fingerprint)
        let server = try DTLSEndpoint(identity: b, role: .server, remoteFingerprint: a.fingerprint)
        client.start(now: t0)
        let (ce, _) = pump(client, server, now: t0)
        guard case .failed(.fingerprintMismatch(let alg, let expected, let actual))? = ce.first else {
            Issue.record("expected a fingerprint mismatch, got \(ce)")
            return
        }
        #expect(alg == "sha-256")
        #expect(expected == other.fingerprint.hex && actual == b.fingerprint.hex)
        #expect(!ce.contains { if case .connected = $0 { return true } else { return false } })
        #expect(client.state == .failed)
    }

    @Test func sha1FingerprintIsVerifiedToo() throws {
        let a = try DTLSIdentity(), b = try DTLSIdentity()
        let client = try DTLSEndpoint(identity: a, role: .client, remoteFingerprint: try b.fingerprint(algorithm: "sha-1"))
        let server = try DTLSEndpoint(identity: b, role: .server, remoteFingerprint: try a.fingerprint(algorithm: "sha-512"))
        client.start(now: t0)
        let (ce, se) = pump(client, server, now: t0)
        if case .connected = ce.first, case .connected = se.first {} else { Issue.record("\(ce) \(se)") }
    }

    @Test func garbageRecordsNeverConnectAndNeverTrap() throws {
        var rng = SystemRandomNumberGenerator()
        for i in 0..<200 {
            let server = try DTLSEndpoint(role: .server, remoteFingerprint: DTLSIdentity.shared.fingerprint)
            let len = Int.random(in: 0...300, using: &rng)
            var bytes = (0..<len).map { _ in UInt8.random(in: 0...255, using: &rng) }
            if i % 2 == 0, !bytes.isEmpty { bytes[0] = 22 }  // looks like a handshake record
            server.receive(bytes, now: t0)
            while server.pollTransmit() != nil {}
            let events = Array(sequence(state: server) { $0.pollEvent() })
            #expect(events.allSatisfy { if case .failed = $0 { return true } else { return false } })
        }
    }

    @Test func handshakeCapFailsTheSession() throws {
        let client = try DTLSEndpoint(role: .client, remoteFingerprint: DTLSIdentity.shared.fingerprint,
                                      configuration: DTLSConfiguration(handshakeTimeout: .seconds(30)))
        client.start(now: t0)
        #expect(client.pollTransmit() != nil, "ClientHello queued at once")
        let deadline = try #require(client.nextDeadline())
        #expect(deadline <= t0 + .seconds(30))
        client.handleTimeout(now: t0 + .seconds(29))
        #expect(client.state == .handshaking)
        client.handleTimeout(now: t0 + .seconds(30))
        #expect(client.pollEvent() == .failed(.handshakeTimeout(seconds: 30)))
        #expect(client.nextDeadline() == nil)
    }

    @Test func firstRetransmitDeadlineIsShort() throws {
        let client = try DTLSEndpoint(role: .client, remoteFingerprint: DTLSIdentity.shared.fingerprint)
        client.start(now: t0)
        let deadline = try #require(client.nextDeadline())
        #expect(deadline > t0 && deadline <= t0 + .milliseconds(100))
    }

    /// The one real-time test (docs/architecture.md): OpenSSL's retransmission timer reads its own clock.
    @Test func droppedFlightIsRetransmitted() async throws {
        let a = try DTLSIdentity(), b = try DTLSIdentity()
        let config = DTLSConfiguration(initialRetransmitTimeout: .milliseconds(20))
        let client = try DTLSEndpoint(identity: a, role: .client, remoteFingerprint: b.fingerprint, configuration: config)
        let server = try DTLSEndpoint(identity: b, role: .server, remoteFingerprint: a.fingerprint, configuration: config)
        client.start(now: .now())
        // Lose the first ClientHello.
        #expect(client.pollTransmit() != nil)
        #expect(client.pollTransmit() == nil)
        var connected = false
        for _ in 0..<50 where !connected {
            try await Task.sleep(for: .milliseconds(10))
            let now = NIODeadline.now()
            if let d = client.nextDeadline(), now >= d { client.handleTimeout(now: now) }
            let (ce, _) = pump(client, server, now: now)
            connected = ce.contains { if case .connected = $0 { return true } else { return false } }
        }
        #expect(connected, "the retransmitted ClientHello completed the handshake")
    }

    @Test func closeNotifyReachesThePeer() throws {
        let a = try DTLSIdentity(), b = try DTLSIdentity()
        let client = try DTLSEndpoint(identity: a, role: .client, remoteFingerprint: b.fingerprint)
        let server = try DTLSEndpoint(identity: b, role: .server, remoteFingerprint: a.fingerprint)
        client.start(now: t0)
        pump(client, server, now: t0)
        client.close()
        let (_, se) = pump(client, server, now: t0)
        #expect(se == [.closed])
        #expect(server.state == .closed)
    }

    /// Releasing a connected association frees its OpenSSL state: releasing earlier does nothing,
    /// later datagrams (here the peer's close_notify) are ignored without a trap, and `close()`
    /// sends nothing.
    @Test func aReleasedAssociationIgnoresLateDatagramsAndClosesQuietly() throws {
        let a = try DTLSIdentity(), b = try DTLSIdentity()
        let client = try DTLSEndpoint(identity: a, role: .client, remoteFingerprint: b.fingerprint)
        let server = try DTLSEndpoint(identity: b, role: .server, remoteFingerprint: a.fingerprint)
        server.releaseAssociation()
        #expect(!server.isReleased, "nothing is released before the keys exist")
        client.start(now: t0)
        let (ce, se) = pump(client, server, now: t0)
        #expect(ce.count == 1 && se.count == 1)
        guard case .connected(let clientKeys) = ce.first, case .connected(let serverKeys) = se.first else {
            Issue.record("not connected: \(ce) \(se)")
            return
        }
        #expect(clientKeys.localMasterKey == serverKeys.remoteMasterKey)
        server.releaseAssociation()
        #expect(server.isReleased && server.state == .connected)
        client.close()
        let (_, after) = pump(client, server, now: t0)
        #expect(after.isEmpty, "a released association reads nothing")
        #expect(server.state == .connected && server.lastAlert == "")
        server.handleTimeout(now: t0 + .seconds(60))
        server.close()
        #expect(server.state == .closed)
        #expect(server.pollTransmit() == nil, "no close_notify without the association")
    }
}
