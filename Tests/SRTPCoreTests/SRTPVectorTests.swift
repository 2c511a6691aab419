import CoreSupport
import CryptoCore
import SRTPCore
import Testing

/// Known-answer vectors. Master key and salt are those of RFC 3711 Appendix B.3; the expected
/// protected packets are the reference values published in libsrtp's test driver (srtp_driver.c,
/// "srtp_validate" and "srtp_validate_gcm"), which exercise RFC 3711 §4.3 key derivation, AES-CM
/// (§4.1.1) and HMAC-SHA1-80 (§4.2.1), and RFC 7714 AEAD_AES_128_GCM. See Fixtures/README.md.
@Suite struct SRTPVectorTests {
    static let rtpPlain = Hex.decode("800f1234decafbadcafebabe" + String(repeating: "ab", count: 16))!
    static let rtcpPlain = Hex.decode("81c8000bcafebabe" + String(repeating: "ab", count: 16))!

    // RFC 3711 B.3 master key / salt.
    static let cmKey = Hex.decode("e1f97a0d3e018be0d64fa32c06de4139")!
    static let cmSalt = Hex.decode("0ec675ad498afeebb6960b3aabe6")!
    static let cmSRTP = Hex.decode("800f1234decafbadcafebabe4e55dc4ce79978d88ca4d215949d2402b78d6acc99ea179b8dbb")!
    static let cmSRTCP = Hex.decode("81c8000bcafebabe7128035be487b9bdbef89041f977a5a880000001993e08cd54d6c1230798")!

    static let gcmKey = Hex.decode("000102030405060708090a0b0c0d0e0f")!
    static let gcmSalt = Hex.decode("a0a1a2a3a4a5a6a7a8a9aaab")!
    static let gcmSRTP = Hex.decode("800f1234decafbadcafebabec5002ede04cfdd2eb91159e0880aa06ed2976826f796b201df3131a127e8a392")!
    static let gcmSRTCP = Hex.decode("81c8000bcafebabec98b8b5df0392a55852b6c21ac8e7025c52c6fbea2b3b446ea31123ba88ce61e80000001")!

    @Test func aesCM128HMACSHA1_80ProtectsToTheReferenceBytes() throws {
        let tx = try SRTPContext(profile: .aes128CMHMACSHA1_80, key: Self.cmKey, salt: Self.cmSalt, direction: .outbound)
        #expect(try tx.protectRTP(Self.rtpPlain) == Self.cmSRTP)
        #expect(try tx.protectRTCP(Self.rtcpPlain) == Self.cmSRTCP)
        let rx = try SRTPContext(profile: .aes128CMHMACSHA1_80, key: Self.cmKey, salt: Self.cmSalt, direction: .inbound)
        #expect(try rx.unprotectRTP(Self.cmSRTP) == Self.rtpPlain)
        #expect(try rx.unprotectRTCP(Self.cmSRTCP) == Self.rtcpPlain)
    }

    @Test func aeadAES128GCMProtectsToTheReferenceBytes() throws {
        let tx = try SRTPContext(profile: .aeadAES128GCM, key: Self.gcmKey, salt: Self.gcmSalt, direction: .outbound)
        #expect(try tx.protectRTP(Self.rtpPlain) == Self.gcmSRTP)
        #expect(try tx.protectRTCP(Self.rtcpPlain) == Self.gcmSRTCP)
        let rx = try SRTPContext(profile: .aeadAES128GCM, key: Self.gcmKey, salt: Self.gcmSalt, direction: .inbound)
        #expect(try rx.unprotectRTP(Self.gcmSRTP) == Self.rtpPlain)
        #expect(try rx.unprotectRTCP(Self.gcmSRTCP) == Self.rtcpPlain)
    }

    @Test func wrongKeySizesAreTypedErrors() {
        #expect(throws: SRTPError.badKey("master salt must be 12 bytes, got 14")) {
            try SRTPContext(profile: .aeadAES128GCM, key: Self.gcmKey, salt: Self.cmSalt, direction: .outbound)
        }
        #expect(throws: SRTPError.self) {
            try SRTPContext(profile: .aes128CMHMACSHA1_80, key: [1, 2, 3], salt: Self.cmSalt, direction: .outbound)
        }
    }
}
