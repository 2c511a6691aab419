import CoreSupport
import Testing
@testable import SDPCore

/// Every fixture: parse → serialize → parse is stable, and the typed accessors read what the file says.
@Suite("SDP fixtures")
struct FixtureTests {
    @Test func fixturesArePresent() {
        #expect(SDPFixtures.names.count >= 12, "fixtures: \(SDPFixtures.names)")
        #expect(SDPFixtures.names.contains("chromium-offer.sdp"))
        #expect(SDPFixtures.names.contains("aiortc-offer.sdp"))
        #expect(SDPFixtures.names.contains("aiortc-answer.sdp"))
    }

    @Test("parse → serialize → parse gives an equal model and identical text", arguments: SDPFixtures.names)
    func roundTripIsStable(name: String) throws {
        let first = try SDPFixtures.parsed(name)
        let text = SDPSerializer.serialize(first)
        let second = try SDPParser.parse(text)
        #expect(second == first)
        #expect(SDPSerializer.serialize(second) == text)
        #expect(text.hasSuffix("\r\n"))
        #expect(!text.contains("\n\n") && !text.replacingOccurrences(of: "\r\n", with: "").contains("\n"))
    }

    @Test("every attribute line of the file survives, in order", arguments: SDPFixtures.names)
    func attributesKeptInOrder(name: String) throws {
        let raw = try SDPFixtures.text(name)
        let lines = raw.split(omittingEmptySubsequences: true, whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" })
            .map { String($0).trimmingCharacters(in: .whitespaces) }
            .filter { $0.hasPrefix("a=") }
        let sdp = try SDPParser.parse(raw)
        let parsed = (sdp.attributes + sdp.media.flatMap(\.attributes)).map { "a=" + $0.description }
        #expect(parsed == lines)
    }

    struct Expected: Sendable, CustomStringConvertible {
        var name: String
        var mediaCount = 1
        var proto = "UDP/TLS/RTP/SAVPF"
        var formats: [String]
        var ufrag: String
        var pwd: String
        var candidates: Int
        var firstCandidateType: SDPCandidate.CandidateType = .host
        var fingerprintHashes = ["sha-256"]
        var fingerprintFirstByte: UInt8
        var setup: SDPSetupRole?
        var rtcpMux = true
        var direction: SDPMediaDirection = .sendrecv
        var mid: String?
        var ssrc: UInt32?
        var cname: String?
        var iceOptions: [String] = []
        var endOfCandidates = false
        var ptime: Int?
        var description: String { name }
    }

    static let expectations: [Expected] = [
        Expected(name: "aiortc-offer.sdp", formats: ["96", "9", "0", "8"], ufrag: "WD1z", pwd: "o6spFM9UaU7BIwwZboXSAN",
                 candidates: 1, fingerprintHashes: ["sha-256", "sha-384", "sha-512"], fingerprintFirstByte: 0xCA,
                 setup: .actpass, mid: "0", ssrc: 2_476_453_186, cname: "a5dfad5a-7a83-4cf1-902c-f356e5b809f1",
                 endOfCandidates: true),
        Expected(name: "aiortc-answer.sdp", formats: ["96", "9", "0", "8"], ufrag: "i5cZ", pwd: "sBJ9LhNWxpXybJ4sKA90bu",
                 candidates: 1, fingerprintHashes: ["sha-256", "sha-384", "sha-512"], fingerprintFirstByte: 0x19,
                 setup: .active, mid: "0", ssrc: 1_677_014_061, cname: "b7cf7447-635a-4313-b093-5d78cfb5a917",
                 endOfCandidates: true),
        Expected(name: "chrome-offer.sdp", formats: ["111", "63", "9", "0", "8", "13", "110", "126"], ufrag: "Xe7q",
                 pwd: "3vN9cQ1zKb8Lw5Rt2Yx6Mp0J", candidates: 5, fingerprintFirstByte: 0x5B, setup: .actpass, mid: "0",
                 ssrc: 3_021_746_598, cname: "q8VtX2mB5nLk9RzW", iceOptions: ["trickle"]),
        Expected(name: "chromium-offer.sdp", formats: ["111", "63", "9", "0", "8", "13", "110", "126"], ufrag: "axV7",
                 pwd: "DLTGv2ZkPUriZS2JtAeRJhf/", candidates: 8, fingerprintFirstByte: 0x12, setup: .actpass, mid: "0",
                 ssrc: 182_841_051, cname: "I4jpf19DgLungAnW", iceOptions: ["trickle"]),
        Expected(name: "chromium-answer.sdp", formats: ["111", "63", "9", "0", "8", "13", "110", "126"], ufrag: "2Hkw",
                 pwd: "DbFEltcwXb3/MAMZ0SB7GbVN", candidates: 4, fingerprintFirstByte: 0xFB, setup: .active, mid: "0",
                 ssrc: 2_839_708_204, cname: "UgPXITwY4D1Fq1rc", iceOptions: ["trickle"]),
        Expected(name: "firefox-offer.sdp", formats: ["109", "9", "0", "8", "101"], ufrag: "c4f1a9e2",
                 pwd: "5d7b0e93a1c846f2b8e03d6a9f17c254", candidates: 3, fingerprintFirstByte: 0xE1, setup: .actpass,
                 mid: "0", ssrc: 2_847_103_956, cname: "{8f2c6b1e-d930-4a57-b2e4-06c9f1a7d385}", iceOptions: ["trickle"],
                 endOfCandidates: true),
        Expected(name: "freeswitch-answer.sdp", formats: ["111", "110"], ufrag: "Tq8ZbW2mLxR5vKpN",
                 pwd: "gH4sJ9dLq2WzX7cV0bN5mRtY", candidates: 2, firstCandidateType: .srflx, fingerprintFirstByte: 0x3A,
                 setup: .active, ssrc: 2_873_340_915, cname: "Lp3XwQ8nRz5TbKv2", endOfCandidates: true, ptime: 20),
        Expected(name: "freeswitch-answer-old.sdp", formats: ["111", "126"], ufrag: "a8Bq3ZrW7nLk2XpV",
                 pwd: "Ht5cM9vQ2bW6xN8zR1kL4jYs", candidates: 2, fingerprintFirstByte: 0x8D, setup: .active,
                 ssrc: 903_417_625, cname: "Mz4kP8wQ2nXb6RtL", ptime: 20),
        Expected(name: "freeswitch-offer.sdp", proto: "RTP/SAVPF", formats: ["0", "8", "102"], ufrag: "Rk5WmZ8pQ2vLxT7c",
                 pwd: "yN3bV6cX9zL2qW5eR8tK1mJs", candidates: 4, firstCandidateType: .srflx, fingerprintFirstByte: 0xC2,
                 setup: .actpass, ssrc: 1_650_832_907, cname: "Vb6NqT3wXr9LmZ2k", ptime: 20),
    ]

    @Test("typed accessors", arguments: expectations)
    func typedAccessors(_ e: Expected) throws {
        let sdp = try SDPFixtures.parsed(e.name)
        #expect(sdp.media.count == e.mediaCount)
        let m = try #require(sdp.media.first)
        #expect(m.media == "audio")
        #expect(m.proto == e.proto)
        #expect(m.formats == e.formats)
        #expect(sdp.iceCredentials(forMediaAt: 0) == ICECredentials(ufrag: e.ufrag, password: e.pwd))
        #expect(m.candidates.count == e.candidates)
        #expect(m.candidates.first?.type == e.firstCandidateType)
        let fps = sdp.fingerprints(forMediaAt: 0)
        #expect(fps.map(\.hashFunction) == e.fingerprintHashes)
        #expect(fps.first?.bytes.first == e.fingerprintFirstByte)
        #expect(fps.first.map { $0.bytes.count } == 32)
        #expect(sdp.setup(forMediaAt: 0) == e.setup)
        #expect(m.rtcpMux == e.rtcpMux)
        #expect(sdp.direction(forMediaAt: 0) == e.direction)
        #expect(m.mid == e.mid)
        #expect(m.ssrcs.first == e.ssrc)
        #expect(m.cname() == e.cname)
        #expect(sdp.iceOptions(forMediaAt: 0) == e.iceOptions)
        #expect(m.endOfCandidates == e.endOfCandidates)
        #expect(m.ptime == e.ptime)
        #expect(sdp.iceLite == false)
        // Every payload type of the m-line resolves to an rtpmap (explicit or RFC 3551 static).
        for pt in m.payloadTypes { #expect(m.rtpMap(for: pt) != nil, "PT \(pt)") }
    }

    @Test func freeSWITCHOfferDetails() throws {
        let sdp = try SDPFixtures.parsed("freeswitch-offer.sdp")
        let m = sdp.media[0]
        #expect(sdp.origin.username == "FreeSWITCH")
        #expect(sdp.sessionName == "FreeSWITCH")
        #expect(sdp.connection == SDPConnection(address: "198.51.100.23"))
        #expect(sdp.attributes.first?.name == "msid-semantic")
        #expect(m.rtcp == SDPRTCPAttribute(port: 31874, connection: SDPConnection(address: "198.51.100.23")))
        #expect(m.candidates.map(\.component) == [1, 1, 2, 2])
        #expect(m.candidates.map(\.priority) == [2_130_706_431, 2_130_706_431, 2_130_706_430, 2_130_706_430])
        #expect(m.candidates[0].relatedAddress == "172.18.0.4")
        #expect(m.candidates[0].relatedPort == 31874)
        #expect(m.candidates[0].foundation == "2718281828")
        #expect(m.candidates[0].generation == 0)
        #expect(m.rtpMap(for: 102) == SDPRTPMap(payloadType: 102, encodingName: "opus", clockRate: 48000, channels: 2))
        let fmtp = try #require(m.formatParameters(for: 102))
        #expect(fmtp["useinbandfec"] == "1")
        #expect(fmtp.integer("maxaveragebitrate") == 30000)
        #expect(fmtp.integer("maxptime") == 40)
        #expect(fmtp.parameters.map(\.key) == ["useinbandfec", "maxaveragebitrate", "maxplaybackrate", "ptime", "minptime", "maxptime"])
        #expect(m.attributes.contains(SDPAttribute("silenceSupp", "off - - - -")))
        #expect(m.ssrcAttributes.count == 4)
        #expect(m.ssrcAttributes[1] == SDPSSRCAttribute(ssrc: 1_650_832_907, name: "msid", value: "Hn2bV8qXc5Ld7PzR4tKw9mJs3GfY6eUa a0"))
    }

    @Test func oldFreeSWITCHAnswerDetails() throws {
        let sdp = try SDPFixtures.parsed("freeswitch-answer-old.sdp")
        let m = sdp.media[0]
        // Trailing spaces/tabs are dropped, LF endings accepted.
        #expect(sdp.connection?.address == "192.0.2.10")
        #expect(m.attributes.contains(SDPAttribute("silenceSupp", "off - - - -")))
        #expect(m.candidates.map(\.priority) == [659_136, 659_136])
        #expect(m.candidates.allSatisfy { $0.type == .host })
        let fmtp = try #require(m.formatParameters(for: 111))
        #expect(fmtp.flag("stereo"))
        #expect(!fmtp.flag("useinbandfec"))
        #expect(fmtp["useinbandfec"] == "0")
    }

    @Test func chromeOfferDetails() throws {
        let sdp = try SDPFixtures.parsed("chrome-offer.sdp")
        let m = sdp.media[0]
        #expect(sdp.bundleMids == ["0"])
        #expect(sdp.attributes.contains(SDPAttribute("extmap-allow-mixed")))
        let c = m.candidates
        #expect(c[0].extensions == [.init("generation", "0"), .init("network-id", "1"), .init("network-cost", "10")])
        #expect(c[0].networkCost == 10)
        #expect(c[1].address == "fd00:5e2a:41b7::9c3")
        #expect(c[2].address.hasSuffix(".local"))
        #expect(!c[3].isUDP && c[3].tcpType == "active" && c[3].port == 9)
        #expect(c[4].type == .srflx && c[4].relatedAddress == "192.168.1.34" && c[4].relatedPort == 52114)
        #expect(m.rtcp == SDPRTCPAttribute(port: 9, connection: SDPConnection(address: "0.0.0.0")))
        #expect(m.formatParameters(for: 63)?.parameters == [.init("111/111", "")])
        #expect(m.rtpMap(for: 126) == SDPRTPMap(payloadType: 126, encodingName: "telephone-event", clockRate: 8000))
        #expect(m.rtpMap(for: 13)?.encodingName == "CN")
    }

    @Test func firefoxOfferUsesSessionLevelFallbacks() throws {
        let sdp = try SDPFixtures.parsed("firefox-offer.sdp")
        let m = sdp.media[0]
        #expect(m.fingerprints.isEmpty && m.iceUfrag == nil && m.icePwd == nil && m.iceOptions.isEmpty)
        #expect(sdp.fingerprints(forMediaAt: 0).count == 1)
        #expect(sdp.iceCredentials(forMediaAt: 0)?.ufrag == "c4f1a9e2")
        #expect(m.candidates[0].transport == "UDP" && m.candidates[0].isUDP)
        #expect(m.rtpMap(for: 9)?.channels == 1)
        #expect(m.formatParameters(for: 101)?.parameters == [.init("0-15", "")])
        #expect(sdp.origin.username == "mozilla...THIS_IS_SDPARTA-99.0")
        #expect(sdp.origin.sessionVersion == "0")
    }
}
