import CoreSupport
import Testing
@testable import SDPCore

@Suite("Answering a remote offer")
struct AnswerTests {
    let local = SDPFixtures.endpoint(seed: 7)

    func answer(_ name: String, _ options: AudioAnswerOptions = AudioAnswerOptions()) throws -> AudioAnswer {
        try AudioOfferAnswer.makeAnswer(to: SDPFixtures.parsed(name), local: local, options: options)
    }

    static let offerFixtures = SDPFixtures.names.filter { $0.hasSuffix("-offer.sdp") && !$0.contains("answer") }

    @Test("every offer fixture is answered the way Chromium and FreeSWITCH require", arguments: offerFixtures)
    func everyOfferIsAnswered(name: String) throws {
        let offer = try SDPFixtures.parsed(name)
        let a = try AudioOfferAnswer.makeAnswer(to: offer, local: local)
        #expect(try SDPParser.parse(a.answer.text) == a.answer)
        #expect(a.answer.media.count == offer.media.count)
        let m = a.answer.media[a.negotiated.mediaIndex]
        let offered = offer.media[a.negotiated.mediaIndex]
        #expect(m.setup == .active)  // never actpass in an answer
        #expect(m.fingerprints == [SDPFixtures.fingerprint])
        #expect(m.rtcpMux == offered.rtcpMux)
        #expect(m.mid == offered.mid)  // echoed exactly, or absent
        #expect(m.proto == offered.proto)
        #expect(m.formats.first == String(a.negotiated.codec.payloadType))
        #expect(m.formats.count == (a.negotiated.telephoneEvent == nil ? 1 : 2))
        #expect(offered.formats.contains(m.formats[0]))
    }

    @Test func chromeOfferGetsOpusAndTelephoneEvent48k() throws {
        let a = try answer("chrome-offer.sdp")
        let n = a.negotiated
        #expect(n.codec.codec == .opus && n.codec.payloadType == 111 && n.codec.clockRate == 48000 && n.codec.channels == 2)
        #expect(n.codec.useInbandFEC)
        #expect(n.codec.parameters.integer("minptime") == 10)
        #expect(n.telephoneEvent == .init(payloadType: 110, clockRate: 48000))
        #expect(n.mid == "0")
        #expect(n.dtlsRole == .client)
        #expect(n.iceRole == .controlled)
        #expect(n.rtcpMux)
        #expect(n.direction == .sendrecv)
        #expect(n.remoteICE == ICECredentials(ufrag: "Xe7q", password: "3vN9cQ1zKb8Lw5Rt2Yx6Mp0J"))
        #expect(n.remoteCandidates.count == 5)
        #expect(n.remoteSSRC == 3_021_746_598)
        #expect(n.remoteAddress == "192.168.1.34" && n.remotePort == 52114)
        #expect(n.remoteFingerprint.bytes.first == 0x5B)

        let sdp = try SDPParser.parse(a.answer.text)
        #expect(sdp == a.answer)
        let m = sdp.media[0]
        #expect(m.mLineValue == "audio 40000 UDP/TLS/RTP/SAVPF 111 110")
        #expect(m.mid == "0")
        #expect(m.setup == .active)
        #expect(m.rtcpMux)
        #expect(m.direction == .sendrecv)
        #expect(m.fingerprints == [SDPFixtures.fingerprint])
        #expect(sdp.iceCredentials(forMediaAt: 0) == local.iceCredentials)
        #expect(m.formatParameters(for: 111)?.description == "minptime=10;useinbandfec=1")
        // Chrome offered BUNDLE 0: the one accepted section is bundled back (RFC 9143 §7.3).
        #expect(sdp.bundleMids == ["0"])
        #expect(sdp.attributes == [SDPAttribute("group", "BUNDLE 0")])
    }

    @Test func bundleIsNotEchoedWhenDisabledOrAbsent() throws {
        var o = AudioAnswerOptions()
        o.acceptBundle = false
        #expect(try answer("chrome-offer.sdp", o).answer.attributes.isEmpty)
        #expect(try answer("freeswitch-offer.sdp").answer.attributes.isEmpty)
        let noMid = SDPFixtures.removing("mid", from: try SDPFixtures.parsed("chrome-offer.sdp"))
        #expect(try AudioOfferAnswer.makeAnswer(to: noMid, local: local).answer.bundleMids.isEmpty)
    }

    @Test func freeSWITCHOfferPCMUFirstIsHonoured() throws {
        let a = try answer("freeswitch-offer.sdp")
        let n = a.negotiated
        #expect(n.codec.codec == .pcmu && n.codec.payloadType == 0 && n.codec.clockRate == 8000 && n.codec.channels == 1)
        #expect(n.telephoneEvent == nil)  // FreeSWITCH offers none (docs/testing.md)
        #expect(n.mid == nil)
        #expect(n.dtlsRole == .client)  // actpass → we answer active (docs/verto-protocol.md §5.4)
        #expect(n.iceRole == .controlled)
        #expect(n.ptime == 20)
        #expect(n.remoteCandidates.map(\.component) == [1, 1, 2, 2])
        let m = a.answer.media[0]
        #expect(m.proto == "RTP/SAVPF")  // the offer's profile echoed
        #expect(m.formats == ["0"])
        #expect(m.mid == nil)
        #expect(m.setup == .active)
        #expect(m.rtcpMux)
    }

    @Test func offererOrderDecidesNotOurs() throws {
        var o = AudioAnswerOptions()
        o.codecs = [.pcma, .pcmu, .opus]  // our list order does not matter
        #expect(try answer("chrome-offer.sdp", o).negotiated.codec.codec == .opus)
        #expect(try answer("freeswitch-offer.sdp", o).negotiated.codec.codec == .pcmu)
    }

    @Test func restrictingCodecsPicksTheNextOfferedOneWithMatchingTelephoneEvent() throws {
        var o = AudioAnswerOptions()
        o.codecs = [.pcmu, .pcma]
        let n = try answer("chrome-offer.sdp", o).negotiated
        #expect(n.codec.codec == .pcmu && n.codec.payloadType == 0)
        #expect(n.telephoneEvent == .init(payloadType: 126, clockRate: 8000))
        #expect(try answer("chrome-offer.sdp", o).answer.media[0].formats == ["0", "126"])
        o.codecs = [.opus]
        #expect(try answer("freeswitch-offer.sdp", o).negotiated.codec == .init(
            codec: .opus, payloadType: 102, clockRate: 48000, channels: 2,
            parameters: SDPFormatParameters(parsing: "useinbandfec=1; maxaveragebitrate=30000; maxplaybackrate=48000; ptime=20; minptime=10; maxptime=40")))
    }

    @Test func firefoxOfferWithOnlyTelephoneEvent8kAndOpusHasNoTelephoneEvent() throws {
        let n = try answer("firefox-offer.sdp").negotiated
        #expect(n.codec.codec == .opus && n.codec.payloadType == 109)
        #expect(n.codec.stereo)
        #expect(n.codec.maxPlaybackRate == 48000)
        #expect(n.telephoneEvent == nil)
        // Session-level credentials and fingerprint are used.
        #expect(n.remoteICE.ufrag == "c4f1a9e2")
        #expect(n.remoteFingerprint.bytes.first == 0xE1)
        #expect(n.remoteEndOfCandidates)
    }

    @Test func aiortcOfferIsAnswered() throws {
        let a = try answer("aiortc-offer.sdp")
        #expect(a.negotiated.codec.payloadType == 96 && a.negotiated.codec.codec == .opus)
        #expect(a.negotiated.telephoneEvent == nil)
        #expect(a.negotiated.mid == "0")
        #expect(a.negotiated.remoteFingerprints.map(\.hashFunction) == ["sha-256", "sha-384", "sha-512"])
        #expect(a.negotiated.remoteFingerprint.hashFunction == "sha-256")
        #expect(a.answer.media[0].mid == "0")
    }

    // MARK: DTLS roles (RFC 5763 §5, RFC 4145 §4.1)

    @Test("setup in the answer", arguments: [
        (SDPSetupRole.actpass, SDPSetupRole.active, DTLSRole.client),
        (.passive, .active, .client),
        (.active, .passive, .server),
    ])
    func dtlsRoles(offered: SDPSetupRole, answered: SDPSetupRole, role: DTLSRole) throws {
        let offer = SDPFixtures.replacing("setup", with: offered.rawValue, in: try SDPFixtures.parsed("chrome-offer.sdp"))
        let a = try AudioOfferAnswer.makeAnswer(to: offer, local: local)
        #expect(a.answer.media[0].setup == answered)
        #expect(a.negotiated.dtlsRole == role)
    }

    @Test func actpassMayBeAnsweredPassiveOnRequest() throws {
        var o = AudioAnswerOptions()
        o.setupForActpass = .passive
        let a = try answer("chrome-offer.sdp", o)
        #expect(a.answer.media[0].setup == .passive)
        #expect(a.negotiated.dtlsRole == .server)
    }

    @Test func missingSetupMeansTheOffererIsActive() throws {
        let offer = SDPFixtures.removing("setup", from: try SDPFixtures.parsed("chrome-offer.sdp"))
        let a = try AudioOfferAnswer.makeAnswer(to: offer, local: local)
        #expect(a.answer.media[0].setup == .passive)
        #expect(a.negotiated.dtlsRole == .server)
    }

    @Test func holdconnOfferIsRejected() throws {
        let offer = SDPFixtures.replacing("setup", with: "holdconn", in: try SDPFixtures.parsed("chrome-offer.sdp"))
        #expect(throws: SDPError(.invalidSetup("holdconn"), context: "offer a=setup:holdconn")) {
            try AudioOfferAnswer.makeAnswer(to: offer, local: local)
        }
    }

    // MARK: Direction (RFC 3264 §6.1) and hold

    @Test("answer direction", arguments: [
        (SDPMediaDirection.sendrecv, SDPMediaDirection.sendrecv, SDPMediaDirection.sendrecv),
        (.sendonly, .sendrecv, .recvonly),
        (.recvonly, .sendrecv, .sendonly),
        (.inactive, .sendrecv, .inactive),
        (.sendrecv, .sendonly, .sendonly),   // we hold
        (.sendrecv, .inactive, .inactive),
        (.sendonly, .sendonly, .inactive),   // both hold
        (.recvonly, .recvonly, .inactive),
        (.sendonly, .recvonly, .recvonly),
    ])
    func answerDirection(offered: SDPMediaDirection, local wanted: SDPMediaDirection, expected: SDPMediaDirection) throws {
        let offer = SDPFixtures.withDirection(offered, try SDPFixtures.parsed("chrome-offer.sdp"))
        var o = AudioAnswerOptions()
        o.direction = wanted
        let a = try AudioOfferAnswer.makeAnswer(to: offer, local: local, options: o)
        #expect(a.answer.media[0].direction == expected)
        #expect(a.negotiated.direction == expected)
    }

    @Test func sessionLevelDirectionApplies() throws {
        var offer = SDPFixtures.removing("sendrecv", from: try SDPFixtures.parsed("freeswitch-offer.sdp"))
        offer.attributes.append(SDPAttribute("sendonly"))
        #expect(try AudioOfferAnswer.makeAnswer(to: offer, local: local).negotiated.direction == .recvonly)
    }

    // MARK: mid, rtcp-mux, rejection of other m-lines

    @Test func midIsEchoedOnlyWhenPresent() throws {
        let chrome = try answer("chrome-offer.sdp").answer
        #expect(chrome.media[0].mid == "0")
        let withoutMid = SDPFixtures.removing("mid", from: try SDPFixtures.parsed("chrome-offer.sdp"))
        #expect(try AudioOfferAnswer.makeAnswer(to: withoutMid, local: local).answer.media[0].mid == nil)
        let odd = SDPFixtures.replacing("mid", with: "audio-main", in: try SDPFixtures.parsed("chrome-offer.sdp"))
        #expect(try AudioOfferAnswer.makeAnswer(to: odd, local: local).answer.media[0].mid == "audio-main")
    }

    @Test func rtcpMuxOnlyWhenOffered() throws {
        let offer = SDPFixtures.removing("rtcp-mux", from: try SDPFixtures.parsed("freeswitch-offer.sdp"))
        let a = try AudioOfferAnswer.makeAnswer(to: offer, local: local)
        #expect(!a.answer.media[0].rtcpMux)
        #expect(!a.negotiated.rtcpMux)
    }

    @Test func otherMediaLinesAreRejectedByPosition() throws {
        var offer = try SDPFixtures.parsed("chrome-offer.sdp")
        let video = MediaDescription(media: "video", port: 9, proto: "UDP/TLS/RTP/SAVPF", formats: ["96", "97"],
                                     attributes: [SDPAttribute("mid", "1"), SDPAttribute("rtpmap", "96 VP8/90000")])
        let disabledAudio = MediaDescription(media: "audio", port: 0, proto: "UDP/TLS/RTP/SAVPF", formats: ["0"])
        offer.media.insert(video, at: 0)
        offer.media.insert(disabledAudio, at: 1)
        let a = try AudioOfferAnswer.makeAnswer(to: offer, local: local)
        #expect(a.negotiated.mediaIndex == 2)
        #expect(a.answer.media.count == 3)
        #expect(a.answer.media[0] == MediaDescription(media: "video", port: 0, proto: "UDP/TLS/RTP/SAVPF", formats: ["96", "97"],
                                                      attributes: [SDPAttribute("mid", "1")]))
        #expect(a.answer.media[1].port == 0 && a.answer.media[1].media == "audio")
        #expect(a.answer.media[2].port == 40000 && a.answer.media[2].mid == "0")
        #expect(try SDPParser.parse(a.answer.text) == a.answer)
    }

    @Test func iceLiteAnswerAndOfferer() throws {
        var o = AudioAnswerOptions()
        o.iceLite = true
        let a = try answer("chrome-offer.sdp", o)
        #expect(a.answer.iceLite)
        #expect(a.answer.attributes.first == SDPAttribute("ice-lite"))
        #expect(a.negotiated.iceRole == .controlled)
        var liteOffer = try SDPFixtures.parsed("freeswitch-offer.sdp")
        liteOffer.attributes.append(SDPAttribute("ice-lite"))
        let n = try AudioOfferAnswer.makeAnswer(to: liteOffer, local: local).negotiated
        #expect(n.remoteICELite)
        #expect(n.iceRole == .controlling)
    }

    // MARK: Errors

    @Test func offerWithoutFingerprintIsRejected() throws {
        let offer = SDPFixtures.removing("fingerprint", from: try SDPFixtures.parsed("chrome-offer.sdp"))
        let error = try #require(throws: SDPError.self) { try AudioOfferAnswer.makeAnswer(to: offer, local: local) }
        #expect(error.kind == .missingFingerprint)
        let firefox = SDPFixtures.removing("fingerprint", from: try SDPFixtures.parsed("firefox-offer.sdp"))
        #expect(throws: SDPError.self) { try AudioOfferAnswer.makeAnswer(to: firefox, local: local) }
    }

    @Test func offerWithoutICECredentialsIsRejected() throws {
        for attr in ["ice-ufrag", "ice-pwd"] {
            for name in ["chrome-offer.sdp", "firefox-offer.sdp"] {
                let offer = SDPFixtures.removing(attr, from: try SDPFixtures.parsed(name))
                let error = try #require(throws: SDPError.self) { try AudioOfferAnswer.makeAnswer(to: offer, local: local) }
                #expect(error.kind == .missingICECredentials, "\(name) without \(attr)")
            }
        }
        let empty = SDPFixtures.replacing("ice-pwd", with: "", in: try SDPFixtures.parsed("chrome-offer.sdp"))
        #expect((try? AudioOfferAnswer.makeAnswer(to: empty, local: local)) == nil)
    }

    @Test func offerWithoutUsableCodecIsRejected() throws {
        var offer = try SDPFixtures.parsed("chrome-offer.sdp")
        offer.media[0].formats = ["9", "13", "63", "110", "126"]  // G722, CN, red, telephone-event only
        let error = try #require(throws: SDPError.self) { try AudioOfferAnswer.makeAnswer(to: offer, local: local) }
        #expect(error.kind == .noUsableAudioCodec)
        #expect(error.line == nil)
        #expect(error.context.contains("m=audio"))
        // Opus with a wrong clock rate is not Opus.
        var wrong = try SDPFixtures.parsed("aiortc-offer.sdp")
        wrong.media[0].formats = ["96"]
        wrong = SDPFixtures.replacing("rtpmap", with: "96 opus/16000/2", in: wrong)
        #expect(throws: SDPError.self) { try AudioOfferAnswer.makeAnswer(to: wrong, local: local) }
    }

    @Test func offerWithoutAudioOrWithInsecureProfileIsRejected() throws {
        var offer = try SDPFixtures.parsed("chrome-offer.sdp")
        offer.media[0].media = "video"
        #expect(throws: SDPError(.noAudioMedia, context: "offer has no audio m-line with a non-zero port")) {
            try AudioOfferAnswer.makeAnswer(to: offer, local: local)
        }
        var plain = try SDPFixtures.parsed("freeswitch-offer.sdp")
        plain.media[0].proto = "RTP/AVP"
        let error = try #require(throws: SDPError.self) { try AudioOfferAnswer.makeAnswer(to: plain, local: local) }
        #expect(error.kind == .unsupportedProtocol("RTP/AVP"))
        let noMedia = SessionDescription(origin: SDPOrigin(sessionID: "1", sessionVersion: "1"))
        #expect(throws: SDPError.self) { try AudioOfferAnswer.makeAnswer(to: noMedia, local: local) }
    }
}
