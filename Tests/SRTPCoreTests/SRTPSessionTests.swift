import CoreSupport
import CryptoCore
import NIOCore
import SRTPCore
import Testing
import TestSupport

/// Real DTLS handshakes key real SRTP sessions; packets go both ways with both profiles.
func keyedPair(profile: SRTPProtectionProfile) throws -> (SRTPSession, SRTPSession) {
    var rng = SeededGenerator(seed: UInt64(profile.rawValue))
    let k = (0..<16).map { _ in UInt8.random(in: 0...255, using: &rng) }
    let k2 = (0..<16).map { _ in UInt8.random(in: 0...255, using: &rng) }
    let s = (0..<profile.saltLength).map { _ in UInt8.random(in: 0...255, using: &rng) }
    let s2 = (0..<profile.saltLength).map { _ in UInt8.random(in: 0...255, using: &rng) }
    let a = SRTPKeyingMaterial(profile: profile, localMasterKey: k, localMasterSalt: s, remoteMasterKey: k2, remoteMasterSalt: s2)
    return (try SRTPSession(keys: a), try SRTPSession(keys: a.mirrored))
}

func rtp(seq: UInt16, ts: UInt32 = 960, ssrc: UInt32 = 0x1234_5678, payload: [UInt8]) -> [UInt8] {
    [0x80, 111, UInt8(seq >> 8), UInt8(seq & 0xff),
     UInt8(ts >> 24), UInt8((ts >> 16) & 0xff), UInt8((ts >> 8) & 0xff), UInt8(ts & 0xff),
     UInt8(ssrc >> 24), UInt8((ssrc >> 16) & 0xff), UInt8((ssrc >> 8) & 0xff), UInt8(ssrc & 0xff)] + payload
}

@Suite struct SRTPSessionTests {
    @Test(arguments: SRTPProtectionProfile.allCases)
    func dtlsKeyedSessionsCarryPacketsBothWays(profile: SRTPProtectionProfile) throws {
        // Key both ends from a real handshake when the profile is the one negotiated (GCM); for
        // AES-CM use fixed keys (both ends of our own stack always pick GCM).
        let (a, b): (SRTPSession, SRTPSession)
        if profile == .aeadAES128GCM {
            let ia = try DTLSIdentity(), ib = try DTLSIdentity()
            let c = try DTLSEndpoint(identity: ia, role: .client, remoteFingerprint: ib.fingerprint)
            let s = try DTLSEndpoint(identity: ib, role: .server, remoteFingerprint: ia.fingerprint)
            let now = NIODeadline.uptimeNanoseconds(1)
            c.start(now: now)
            for _ in 0..<10 {
                while let d = c.pollTransmit() { s.receive(d, now: now) }
                while let d = s.pollTransmit() { c.receive(d, now: now) }
            }
            guard case .connected(let ck)? = c.pollEvent(), case .connected(let sk)? = s.pollEvent() else {
                Issue.record("handshake failed"); return
            }
            #expect(ck.profile == profile)
            (a, b) = (try SRTPSession(keys: ck), try SRTPSession(keys: sk))
        } else {
            (a, b) = try keyedPair(profile: profile)
        }
        for seq in UInt16(1)...50 {
            let pkt = rtp(seq: seq, payload: Array(repeating: UInt8(seq), count: 100))
            let wire = try a.outbound.protectRTP(pkt)
            #expect(wire.count == pkt.count + profile.tagLength)
            #expect(wire[12...] != pkt[12...], "payload is encrypted")
            #expect(try b.inbound.unprotectRTP(wire) == pkt)
            let back = try b.outbound.protectRTP(pkt)
            #expect(try a.inbound.unprotectRTP(back) == pkt)
        }
        let sr: [UInt8] = [0x80, 200, 0, 6, 0x12, 0x34, 0x56, 0x78] + Array(repeating: 7, count: 20)
        let wire = try a.outbound.protectRTCP(sr)
        #expect(wire.count == sr.count + profile.tagLength + 4)
        #expect(try b.inbound.unprotectRTCP(wire) == sr)
    }

    @Test(arguments: SRTPProtectionProfile.allCases)
    func replayAndTamperingAreRejected(profile: SRTPProtectionProfile) throws {
        let (a, b) = try keyedPair(profile: profile)
        let wire = try a.outbound.protectRTP(rtp(seq: 7, payload: [1, 2, 3, 4]))
        _ = try b.inbound.unprotectRTP(wire)
        #expect(throws: SRTPError.replay) { try b.inbound.unprotectRTP(wire) }
        var tampered = try a.outbound.protectRTP(rtp(seq: 8, payload: [1, 2, 3, 4]))
        tampered[13] ^= 0x01
        #expect(throws: SRTPError.authenticationFailed) { try b.inbound.unprotectRTP(tampered) }
        var tag = try a.outbound.protectRTP(rtp(seq: 9, payload: [1, 2, 3, 4]))
        tag[tag.count - 1] ^= 0x80
        #expect(throws: SRTPError.authenticationFailed) { try b.inbound.unprotectRTP(tag) }
        // The session still works after rejected packets.
        let ok = try a.outbound.protectRTP(rtp(seq: 10, payload: [9]))
        #expect(try b.inbound.unprotectRTP(ok) == rtp(seq: 10, payload: [9]))
    }

    @Test func noRoomForTheTrailerIsBadLength() throws {
        let (a, _) = try keyedPair(profile: .aeadAES128GCM)
        var buf = rtp(seq: 1, payload: [1, 2, 3])
        let n = buf.count
        var caught: SRTPError?
        buf.withUnsafeMutableBytes { b in
            do { _ = try a.outbound.protectRTP(b, length: n) } catch { caught = error as? SRTPError }
        }
        #expect(caught == .badLength(n))
        #expect(throws: SRTPError.badLength(4)) { try a.inbound.unprotectRTP([0x80, 0, 0, 1]) }
    }

    @Test(.cpuBound, arguments: SRTPProtectionProfile.allCases)
    func randomBytesNeverTrap(profile: SRTPProtectionProfile) throws {
        let (_, b) = try keyedPair(profile: profile)
        var rng = SeededGenerator(seed: 42)
        var outcomes = 0
        for i in 0..<5000 {
            var bytes = (0..<Int.random(in: 0...200, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            if i % 2 == 0, bytes.count > 1 { bytes[0] = 0x80 | (bytes[0] & 0x3f) }  // RTP version 2
            do {
                _ = try (i % 3 == 0) ? b.inbound.unprotectRTCP(bytes) : b.inbound.unprotectRTP(bytes)
                Issue.record("random bytes authenticated")
            } catch {
                outcomes += 1
            }
        }
        #expect(outcomes == 5000)
    }

    @Test func backendIsReported() {
        #expect(SRTPLibrary.version.contains("2."))
        #expect(!SRTPLibrary.summary.isEmpty)
    }
}
