import CoreSupport
import Foundation
import Testing
import TestSupport

/// The frame trace (`traceJSONRPC`) never shows a password, an ICE password or an SDES key, and
/// shortens sessids — on real messages and on malformed ones.
@Suite struct RedactionTests {
    @Test func loginFramesLoseTheirPasswordAndMostOfTheSessid() {
        let login = #"{"jsonrpc":"2.0","id":1,"method":"login","params":{"login":"1008@example.test","passwd":"secret-1008","sessid":"3f1c6a0e-8d2b-4c57-9e1a-5b7d2c4e6f80"}}"#
        let t = Redact.jsonRPCFrame(login)
        #expect(!t.contains("secret-1008"))
        #expect(t.contains(#""passwd":"<redacted>""#))
        #expect(t.contains(#""sessid":"3f1c6a0e…""#) && !t.contains("5b7d2c4e6f80"))
        #expect(t.contains("1008@example.test"), "the login itself stays: \(t)")
        // An escaped quote inside the password does not end the redaction early.
        let tricky = Redact.jsonRPCFrame(#"{"params":{"passwd":"a\"b-rest-of-secret","x":1}}"#)
        #expect(!tricky.contains("rest-of-secret") && tricky.contains(#""x":1"#), "\(tricky)")
        // A frame cut off inside the password still loses it.
        #expect(!Redact.jsonRPCFrame(#"{"params":{"password":"hunter2"#).contains("hunter2"))
    }

    @Test func sdpInsideAFrameLosesICEPasswordsAndKeys() throws {
        let sdp = try Fixtures.text("sdp/chromium-offer.sdp")
        let pwd = try #require(sdp.split(whereSeparator: \.isNewline).first { $0.hasPrefix("a=ice-pwd:") }?.dropFirst("a=ice-pwd:".count))
        let json = #"{"jsonrpc":"2.0","id":2,"method":"verto.invite","params":{"sdp":""#
            + sdp.replacingOccurrences(of: "\r\n", with: "\\r\\n").replacingOccurrences(of: "\n", with: "\\n")
            + #"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:32\r\n","dialogParams":{"callID":"c"}}}"#
        let t = Redact.jsonRPCFrame(json)
        #expect(!t.contains(String(pwd)), "ICE password left in: \(t)")
        #expect(t.contains("a=ice-pwd:<redacted>"))
        #expect(!t.contains("WVNfX19zZW1jdGwg") && t.contains("inline:<redacted>|2^20"))
        #expect(t.contains("a=fingerprint:"), "public parts stay")
    }
}
