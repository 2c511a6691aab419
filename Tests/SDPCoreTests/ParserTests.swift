import CoreSupport
import Foundation
import Testing
@testable import SDPCore

@Suite("SDP parser and serializer")
struct ParserTests {
    static let minimal = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\na=rtcp-mux\r\n"

    func error(_ text: String) -> SDPError? {
        do {
            _ = try SDPParser.parse(text)
            return nil
        } catch {
            return error
        }
    }

    @Test func crlfAndLFGiveTheSameModel() throws {
        let crlf = try SDPParser.parse(Self.minimal)
        let lf = try SDPParser.parse(Self.minimal.replacingOccurrences(of: "\r\n", with: "\n"))
        let noFinalNewline = try SDPParser.parse(String(Self.minimal.dropLast()))  // "\r\n" is one Character
        #expect(crlf == lf)
        #expect(crlf == noFinalNewline)
        #expect(crlf.text == Self.minimal)
    }

    @Test func blankLinesAndTrailingWhitespaceAreTolerated() throws {
        let messy = "\n\nv=0  \r\no=- 1 1   IN IP4 127.0.0.1\t\r\n\r\ns=-\r\nt=0 0\r\nm=audio  9 RTP/AVP   0 \r\na=rtcp-mux \t\r\n\r\n"
        #expect(try SDPParser.parse(messy) == SDPParser.parse(Self.minimal))
    }

    @Test func missingSessionNameAndTimingAreDefaulted() throws {
        let sdp = try SDPParser.parse("v=0\no=- 1 1 IN IP4 0.0.0.0\nm=audio 9 RTP/AVP 0\n")
        #expect(sdp.sessionName == "-")
        #expect(sdp.timings == [SDPTiming()])
        #expect(sdp.text == "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\n")
    }

    @Test func allSessionLineTypesAreModelledAndRoundTrip() throws {
        let text = """
        v=0
        o=jdoe 2890844526 2890842807 IN IP4 10.47.16.5
        s=SDP Seminar
        i=A Seminar on the session description protocol
        u=http://www.example.com/seminars/sdp.pdf
        e=j.doe@example.com (Jane Doe)
        p=+1 617 555-6011
        c=IN IP4 224.2.17.12/127
        b=CT:128
        t=2873397496 2873404696
        r=604800 3600 0 90000
        z=2882844526 -1h 2898848070 0
        k=prompt
        x=an unknown line
        a=recvonly
        m=audio 49170/2 RTP/AVP 0
        i=audio stream
        c=IN IP4 224.2.17.13/127
        b=AS:64
        k=clear:secret
        y=media unknown line
        a=ptime:20.5
        m=application 5000 UDP/DTLS/SCTP webrtc-datachannel
        a=sctp-port:5000
        """
        let sdp = try SDPParser.parse(text)
        #expect(sdp.origin == SDPOrigin(username: "jdoe", sessionID: "2890844526", sessionVersion: "2890842807", address: "10.47.16.5"))
        #expect(sdp.sessionName == "SDP Seminar")
        #expect(sdp.information == "A Seminar on the session description protocol")
        #expect(sdp.uri == "http://www.example.com/seminars/sdp.pdf")
        #expect(sdp.emails == ["j.doe@example.com (Jane Doe)"])
        #expect(sdp.phones == ["+1 617 555-6011"])
        #expect(sdp.connection?.address == "224.2.17.12/127")
        #expect(sdp.bandwidths == [SDPBandwidth(type: "CT", value: 128)])
        #expect(sdp.timings == [SDPTiming(start: 2_873_397_496, stop: 2_873_404_696, repeats: ["604800 3600 0 90000"])])
        #expect(sdp.timeZones == "2882844526 -1h 2898848070 0")
        #expect(sdp.encryptionKey == "prompt")
        #expect(sdp.otherLines == [SDPLine(type: "x", value: "an unknown line")])
        #expect(sdp.direction(forMediaAt: 0) == .recvonly)
        let m = sdp.media[0]
        #expect(m.port == 49170 && m.numberOfPorts == 2)
        #expect(m.information == "audio stream")
        #expect(m.bandwidths == [SDPBandwidth(type: "AS", value: 64)])
        #expect(m.encryptionKey == "clear:secret")
        #expect(m.otherLines == [SDPLine(type: "y", value: "media unknown line")])
        #expect(m.ptime == 20)
        #expect(sdp.media[1].formats == ["webrtc-datachannel"])
        #expect(sdp.media[1].payloadTypes.isEmpty)
        let again = try SDPParser.parse(sdp.text)
        #expect(again == sdp)
        #expect(sdp.text.contains("m=audio 49170/2 RTP/AVP 0\r\ni=audio stream\r\nc=IN IP4 224.2.17.13/127\r\nb=AS:64\r\nk=clear:secret\r\ny=media unknown line\r\na=ptime:20.5\r\n"))
    }

    @Test func attributesKeepPropertyEmptyAndValueForms() throws {
        let sdp = try SDPParser.parse(Self.minimal + "a=foo\r\na=bar:\r\na=baz:x:y z\r\na=Quux:1\r\n")
        let a = sdp.media[0].attributes
        #expect(a == [SDPAttribute("rtcp-mux"), SDPAttribute("foo"), SDPAttribute("bar", ""), SDPAttribute("baz", "x:y z"), SDPAttribute("Quux", "1")])
        #expect(a.first(named: "quux")?.value == "1")
        #expect(try SDPParser.parse(sdp.text) == sdp)
    }

    @Test func staticPayloadTypesWithoutRtpmap() throws {
        let m = try SDPParser.parse("v=0\no=- 1 1 IN IP4 0.0.0.0\ns=-\nt=0 0\nm=audio 4000 RTP/SAVPF 8 0 18 96\n").media[0]
        #expect(m.rtpMap(for: 8) == SDPRTPMap(payloadType: 8, encodingName: "PCMA", clockRate: 8000))
        #expect(m.rtpMap(for: 0)?.encodingName == "PCMU")
        #expect(m.rtpMap(for: 18)?.encodingName == "G729")
        #expect(m.rtpMap(for: 96) == nil)
        #expect(m.payloadTypes == [8, 0, 18, 96])
    }

    @Test func fmtpSplitsOnSemicolonAndTrims() {
        let p = SDPFormatParameters(parsing: " useinbandfec=1;  stereo = 1 ;;maxaveragebitrate=30000; 0-16 ")
        #expect(p.parameters == [.init("useinbandfec", "1"), .init("stereo", "1"), .init("maxaveragebitrate", "30000"), .init("0-16", "")])
        #expect(p["STEREO"] == "1")
        #expect(p.integer("maxaveragebitrate") == 30000)
        #expect(p.integer("useinbandfec") == 1)
        #expect(p["missing"] == nil)
        #expect(p.description == "useinbandfec=1;stereo=1;maxaveragebitrate=30000;0-16")
    }

    @Test func directionAccessors() throws {
        for d in SDPMediaDirection.allCases {
            let sdp = try SDPParser.parse(Self.minimal + "a=\(d.rawValue)\r\n")
            #expect(sdp.media[0].direction == d)
            #expect(sdp.direction(forMediaAt: 0) == d)
        }
        #expect(try SDPParser.parse(Self.minimal).direction(forMediaAt: 0) == .sendrecv)
        #expect(SDPMediaDirection.sendonly.reversed == .recvonly)
        #expect(SDPMediaDirection.inactive.reversed == .inactive)
    }

    // MARK: Errors carry a line number and the line

    @Test("malformed input gives a typed error with its line", arguments: [
        ("", SDPError.Kind.empty, nil as Int?),
        ("\r\n\r\n", .empty, nil),
        ("o=- 1 1 IN IP4 0.0.0.0\n", .invalidVersion, 1),
        ("v=1\n", .invalidVersion, 1),
        ("v=0\nv=0\n", .duplicateLine("v"), 2),
        ("v=0\ns=-\n", .missingLine("o"), nil),
        ("v=0\no=- 1 1 IN IP4\n", .invalidOrigin, 2),
        ("v=0\no=- 1 1 IN IP4 0.0.0.0\no=- 1 1 IN IP4 0.0.0.0\n", .duplicateLine("o"), 3),
        ("v=0\no=- 1 1 IN IP4 0.0.0.0\nhello\n", .malformedLine, 3),
        ("v=0\no=- 1 1 IN IP4 0.0.0.0\nA=foo\n", .malformedLine, 3),
        ("v=0\no=- 1 1 IN IP4 0.0.0.0\ns=a\u{0}b\n", .invalidCharacter, 3),
        ("v=0\no=- 1 1 IN IP4 0.0.0.0\ns=a\rb\n", .invalidCharacter, 3),
        ("v=0\no=- 1 1 IN IP4 0.0.0.0\nc=IN IP4\n", .invalidConnection, 3),
        ("v=0\no=- 1 1 IN IP4 0.0.0.0\nb=AS\n", .invalidBandwidth, 3),
        ("v=0\no=- 1 1 IN IP4 0.0.0.0\nb=AS:-1\n", .invalidBandwidth, 3),
        ("v=0\no=- 1 1 IN IP4 0.0.0.0\nt=0\n", .invalidTiming, 3),
        ("v=0\no=- 1 1 IN IP4 0.0.0.0\nr=1 2 3\n", .unexpectedLine("r"), 3),
        ("v=0\no=- 1 1 IN IP4 0.0.0.0\nm=audio 70000 RTP/AVP 0\n", .invalidMedia, 3),
        ("v=0\no=- 1 1 IN IP4 0.0.0.0\nm=audio 9\n", .invalidMedia, 3),
        ("v=0\no=- 1 1 IN IP4 0.0.0.0\nm=audio x RTP/AVP 0\n", .invalidMedia, 3),
        ("v=0\no=- 1 1 IN IP4 0.0.0.0\nm=audio 9 RTP/AVP 0\nt=0 0\n", .unexpectedLine("t"), 4),
        ("v=0\no=- 1 1 IN IP4 0.0.0.0\nm=audio 9 RTP/AVP 0\nc=IN IP4 1.2.3.4\nc=IN IP4 1.2.3.4\n", .duplicateLine("c"), 5),
        ("v=0\no=- 1 1 IN IP4 0.0.0.0\na=:x\n", .invalidAttribute, 3),
        ("v=0\no=- 1 1 IN IP4 0.0.0.0\nm=audio 9 RTP/AVP 0\na=rtpmap:0 PCMU\n", .invalidAttributeValue(name: "rtpmap"), 4),
        ("v=0\no=- 1 1 IN IP4 0.0.0.0\nm=audio 9 RTP/AVP 0\na=rtpmap:200 PCMU/8000\n", .invalidAttributeValue(name: "rtpmap"), 4),
        ("v=0\no=- 1 1 IN IP4 0.0.0.0\nm=audio 9 RTP/AVP 0\na=candidate:1 1 udp 1 1.2.3.4 99999 typ host\n", .invalidAttributeValue(name: "candidate"), 4),
        ("v=0\no=- 1 1 IN IP4 0.0.0.0\nm=audio 9 RTP/AVP 0\na=fingerprint:sha-256 AB:CD\n", .invalidAttributeValue(name: "fingerprint"), 4),
        ("v=0\no=- 1 1 IN IP4 0.0.0.0\nm=audio 9 RTP/AVP 0\na=ssrc:abc cname:x\n", .invalidAttributeValue(name: "ssrc"), 4),
        ("v=0\no=- 1 1 IN IP4 0.0.0.0\nm=audio 9 RTP/AVP 0\na=rtcp:x\n", .invalidAttributeValue(name: "rtcp"), 4),
    ])
    func malformed(text: String, kind: SDPError.Kind, line: Int?) {
        let e = error(text)
        #expect(e?.kind == kind)
        #expect(e?.line == line)
        if let line {
            let expectedLine = text.split(separator: "\n", omittingEmptySubsequences: false)[line - 1]
            #expect(e?.context == String(expectedLine.prefix(80)) || e?.context.hasPrefix(String(expectedLine.prefix(80))) == true)
        }
    }

    @Test func errorDescriptionNamesLineAndContext() {
        let e = SDPError(.invalidMedia, line: 7, context: String(repeating: "x", count: 200))
        #expect(e.context.count == 81)
        #expect(e.description.hasPrefix("SDPError.invalidMedia at line 7: xxx"))
    }

    @Test func errorsNeverCarryTheICEPassword() {
        let e = error("v=0\no=- 1 1 IN IP4 0.0.0.0\nm=audio 9 RTP/AVP 0\na=ice-pwd:SecretSecretSecret\u{1}\n")
        #expect(e?.kind == .invalidCharacter)
        #expect(e?.line == 4)
        #expect(e?.context == "a=ice-pwd:<redacted>")
    }

    @Test func bytesAreDecodedAsUTF8() throws {
        let sdp = try SDPParser.parse(bytes: Array(Self.minimal.utf8))
        #expect(sdp == (try SDPParser.parse(Self.minimal)))
        #expect(throws: SDPError.self) { try SDPParser.parse(bytes: [0xFF, 0xFE, 0x00]) }
    }
}

@Suite("Candidates and fingerprints")
struct CandidateFingerprintTests {
    @Test func candidateFieldsAndExtensionsRoundTrip() throws {
        let text = "candidate:842163049 1 udp 1677729535 203.0.113.7 46154 typ srflx raddr 10.0.0.5 rport 46154 generation 0 ufrag EsAw network-id 1 network-cost 50"
        let c = try #require(SDPCandidate(attributeValue: text))
        #expect(c.foundation == "842163049" && c.component == 1 && c.transport == "udp" && c.priority == 1_677_729_535)
        #expect(c.address == "203.0.113.7" && c.port == 46154 && c.type == .srflx)
        #expect(c.relatedAddress == "10.0.0.5" && c.relatedPort == 46154)
        #expect(c.generation == 0 && c.networkCost == 50 && c.extensionValue("ufrag") == "EsAw")
        #expect(c.description == text)
        #expect(SDPCandidate(attributeValue: "a=" + text) == c)
        #expect(SDPCandidate(attributeValue: String(text.dropFirst("candidate:".count))) == c)
    }

    @Test("candidate types", arguments: [
        ("host", SDPCandidate.CandidateType.host), ("srflx", .srflx), ("prflx", .prflx), ("relay", .relay), ("RELAY", .relay), ("weird", .other("weird")),
    ])
    func candidateTypes(token: String, type: SDPCandidate.CandidateType) throws {
        let c = try #require(SDPCandidate(attributeValue: "1 1 udp 1 192.0.2.1 5000 typ \(token)"))
        #expect(c.type == type)
    }

    @Test("malformed candidates", arguments: [
        "", "1 1 udp 1 192.0.2.1 5000", "1 1 udp 1 192.0.2.1 5000 type host", "1 0 udp 1 192.0.2.1 5000 typ host",
        "1 1 udp 4294967296 192.0.2.1 5000 typ host", "1 1 udp 1 192.0.2.1 65536 typ host",
        "1 1 udp 1 192.0.2.1 5000 typ srflx raddr 10.0.0.1 rport x", "1 1 udp 1 192.0.2.1 5000 typ host generation",
        "1 x udp 1 192.0.2.1 5000 typ host", "1 1 udp -1 192.0.2.1 5000 typ host",
    ])
    func malformedCandidates(text: String) {
        #expect(SDPCandidate(attributeValue: text) == nil)
    }

    @Test func candidateAddressKinds() throws {
        let chrome = try SDPFixtures.parsed("chrome-offer.sdp").media[0].candidates
        #expect(chrome.map(\.hasIPLiteralAddress) == [true, true, false, true, true])
        #expect(chrome.map(\.isMDNS) == [false, false, true, false, false])
        #expect(chrome.map(\.isIPv6) == [false, true, false, false, false])
        for bad in ["256.1.1.1", "1.2.3", "host.example", "1.2.3.4.5", "01234.1.1.1"] {
            #expect(!SDPCandidate(foundation: "1", priority: 1, address: bad, port: 1, type: .host).hasIPLiteralAddress, "\(bad)")
        }
    }

    @Test func candidatePriorityFormula() {
        // RFC 8445 §5.1.2.1 with the recommended type preferences (host 126, srflx 100, relay 0).
        #expect(SDPCandidate.priority(typePreference: 126, localPreference: 65535, component: 1) == 2_130_706_431)
        #expect(SDPCandidate.priority(typePreference: 126, localPreference: 65535, component: 2) == 2_130_706_430)
        #expect(SDPCandidate.priority(typePreference: 100, localPreference: 65535, component: 1) == 1_694_498_815)
        #expect(SDPCandidate.priority(typePreference: 0, localPreference: 0, component: 1) == 255)
    }

    @Test func fingerprintParsesAndWritesUppercaseColonHex() throws {
        let hex = (0..<32).map { String(format: "%02X", $0 * 8) }.joined(separator: ":")
        let f = try #require(SDPFingerprint(attributeValue: "SHA-256 " + hex.lowercased()))
        #expect(f.hashFunction == "sha-256")
        #expect(f.bytes == (0..<32).map { UInt8($0 * 8) })
        #expect(f.attributeValue == "sha-256 " + hex)
        #expect(f.attribute == SDPAttribute("fingerprint", "sha-256 " + hex))
        let sha1 = try #require(SDPFingerprint(attributeValue: "sha-1 " + Array(repeating: "0A", count: 20).joined(separator: ":")))
        #expect(sha1.bytes.count == 20)
        // Unknown hash names are kept with any length.
        #expect(SDPFingerprint(attributeValue: "blake3 01:02:03")?.bytes == [1, 2, 3])
        #expect(SDPFingerprint.digestLength("sha-512") == 64)
    }

    @Test("malformed fingerprints", arguments: [
        "", "sha-256", "sha-256 AB:CD", "sha-256 ABCD", "sha-256 AB::CD", "sha-256 AG:00", "sha-256 A:B:C",
        "sha-256 " + Array(repeating: "00", count: 33).joined(separator: ":"), "sha-1 00 11",
    ])
    func malformedFingerprints(text: String) {
        #expect(SDPFingerprint(attributeValue: text) == nil)
    }

    @Test func rtpmapGrammar() {
        #expect(SDPRTPMap(attributeValue: "111 opus/48000/2") == SDPRTPMap(payloadType: 111, encodingName: "opus", clockRate: 48000, channels: 2))
        #expect(SDPRTPMap(attributeValue: "0 PCMU/8000")?.channels == nil)
        for bad in ["", "111", "111 opus", "128 opus/48000", "x opus/48000", "111 /48000", "111 opus/x", "111 opus/48000/2/1", "111 opus/48000/x"] {
            #expect(SDPRTPMap(attributeValue: bad) == nil, "\(bad)")
        }
    }

    @Test func ssrcAndRtcpGrammar() {
        #expect(SDPSSRCAttribute(attributeValue: "1 cname:abc") == SDPSSRCAttribute(ssrc: 1, name: "cname", value: "abc"))
        #expect(SDPSSRCAttribute(attributeValue: "4294967295 msid:a b")?.value == "a b")
        #expect(SDPSSRCAttribute(attributeValue: "4294967296 cname:x") == nil)
        #expect(SDPSSRCAttribute(attributeValue: "5") == nil)
        #expect(SDPRTCPAttribute(attributeValue: "9") == SDPRTCPAttribute(port: 9))
        #expect(SDPRTCPAttribute(attributeValue: "9 IN IP4") == nil)
    }

    @Test func setupRoleParsing() {
        #expect(SDPSetupRole(attributeValue: "ACTPASS") == .actpass)
        #expect(SDPSetupRole(attributeValue: " active ") == .active)
        #expect(SDPSetupRole(attributeValue: "both") == nil)
    }

    @Test func iceCredentialValidity() {
        #expect(ICECredentials(ufrag: "5+Ix", password: "uK8IlylxzDMUhrkVzdmj0M+v").isValid)
        #expect(!ICECredentials(ufrag: "abc", password: "uK8IlylxzDMUhrkVzdmj0M+v").isValid)
        #expect(!ICECredentials(ufrag: "abcd", password: "short").isValid)
        #expect(!ICECredentials(ufrag: "ab-d", password: "uK8IlylxzDMUhrkVzdmj0M+v").isValid)
    }
}
