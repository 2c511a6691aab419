import CoreSupport
import CryptoCore
import Testing

@Suite struct PrimitiveTests {
    /// RFC 2202 §3 test cases 1, 2 and 6.
    @Test(arguments: [
        (Array(repeating: UInt8(0x0b), count: 20), Array("Hi There".utf8), "b617318655057264e28bc0b6fb378c8ef146be00"),
        (Array("Jefe".utf8), Array("what do ya want for nothing?".utf8), "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"),
        (Array(repeating: UInt8(0xaa), count: 80), Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8),
         "aa4ae5e15272d00e95705637ce8a3b55ed402112"),
    ])
    func hmacSHA1(key: [UInt8], message: [UInt8], expected: String) {
        #expect(Hex.encode(HMACSHA1.authenticationCode(key: key, message: message)) == expected)
    }

    @Test func sha256OfABC() {
        #expect(Hex.encode(SHA256Digest.hash(Array("abc".utf8)))
            == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    /// RFC 7914 §11, PBKDF2-HMAC-SHA256 (P="passwd", S="salt", c=1, dkLen=64).
    @Test func pbkdf2Vector() throws {
        let out = try PBKDF2.sha256(password: "passwd", salt: Array("salt".utf8), iterations: 1, length: 64)
        #expect(Hex.encode(out) == "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
            + "49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783")
    }

    @Test func fingerprintSDPValueRoundTrips() throws {
        let id = try DTLSIdentity()
        let parsed = try #require(DTLSFingerprint(sdpValue: id.fingerprint.sdpValue))
        #expect(parsed == id.fingerprint)
        #expect(id.fingerprint.sdpValue.hasPrefix("sha-256 "))
        #expect(id.fingerprint.hex.count == 95)
        #expect(DTLSFingerprint(sdpValue: "sha-256 AB:CD") == nil, "wrong digest length")
        #expect(DTLSFingerprint(sdpValue: "md5 AB:CD") == nil)
        #expect(DTLSFingerprint(sdpValue: "garbage") == nil)
        #expect(id.fingerprint == DTLSFingerprint(algorithm: "sha-256", bytes: SHA256Digest.hash(id.certificateDER)))
    }

    @Test func identityExportsPEMThatLoadsBack() throws {
        let id = try DTLSIdentity()
        #expect(id.certificatePEM.hasPrefix("-----BEGIN CERTIFICATE-----"))
        let again = try DTLSIdentity(certificatePEM: id.certificatePEM, privateKeyPEM: id.privateKeyPEM)
        #expect(again.fingerprint == id.fingerprint)
        #expect(throws: CryptoError.self) { try DTLSIdentity(certificatePEM: "junk", privateKeyPEM: "junk") }
    }

    @Test func fingerprintParserSurvivesRandomText() {
        var rng = SeededGenerator(seed: 7)
        for _ in 0..<2000 {
            let s = rng.string(length: Int.random(in: 0...120, using: &rng), alphabet: "sha-256 0123456789ABCDEF:xyz\t")
            if let f = DTLSFingerprint(sdpValue: s) { #expect(f.bytes.count == DTLSFingerprint.digestLength(f.algorithm)) }
        }
    }
}
