import CoreSupport
import Testing
@testable import SDPCore

@Suite("Applying a remote answer to our offer")
struct ApplyAnswerTests {
    let local = SDPFixtures.endpoint(seed: 11)
    var offer: SessionDescription { AudioOfferAnswer.makeOffer(local: local) }

    @Test func freeSWITCHAnswerToOurOffer() throws {
        let answer = try SDPFixtures.parsed("freeswitch-answer.sdp")
        let n = try AudioOfferAnswer.applyAnswer(answer, to: offer)
        #expect(n.mediaIndex == 0)
        #expect(n.codec.codec == .opus && n.codec.payloadType == 111 && n.codec.clockRate == 48000 && n.codec.channels == 2)
        #expect(n.codec.useInbandFEC)
        #expect(n.codec.maxAverageBitrate == 32000)
        #expect(n.codec.maxPlaybackRate == 48000)
        #expect(!n.codec.stereo)
        #expect(n.ptime == 20)
        #expect(n.telephoneEvent == .init(payloadType: 110, clockRate: 48000))
        #expect(n.direction == .sendrecv)
        // FreeSWITCH answered a=setup:active: it is the DTLS client, we are the server (RFC 5763 §5).
        #expect(n.dtlsRole == .server)
        #expect(n.iceRole == .controlling)
        #expect(n.rtcpMux)
        #expect(n.mid == nil)
        #expect(n.remoteICE == ICECredentials(ufrag: "Tq8ZbW2mLxR5vKpN", password: "gH4sJ9dLq2WzX7cV0bN5mRtY"))
        #expect(n.remoteCandidates.map(\.type) == [.srflx, .host])
        #expect(n.remoteEndOfCandidates)
        #expect(!n.remoteICELite)
        #expect(n.remoteSSRC == 2_873_340_915)
        #expect(n.remoteAddress == "203.0.113.45" && n.remotePort == 24306)
        #expect(n.remoteFingerprint.hexValue.hasPrefix("3A:71:C4"))
    }

    @Test func oldFreeSWITCHAnswerWithTelephoneEvent8kAndOpus() throws {
        let n = try AudioOfferAnswer.applyAnswer(try SDPFixtures.parsed("freeswitch-answer-old.sdp"), to: offer)
        #expect(n.codec.codec == .opus)
        #expect(n.codec.stereo && !n.codec.useInbandFEC)
        // telephone-event/8000 does not match Opus's 48 kHz clock: not used (docs/verto-protocol.md §5.8).
        #expect(n.telephoneEvent == nil)
        #expect(!n.remoteEndOfCandidates)
        #expect(n.remoteCandidates.map(\.priority) == [659_136, 659_136])
    }

    @Test func realAiortcOfferAndAnswer() throws {
        // Both written by aiortc on this machine: an independent check of the reading side.
        let n = try AudioOfferAnswer.applyAnswer(try SDPFixtures.parsed("aiortc-answer.sdp"), to: try SDPFixtures.parsed("aiortc-offer.sdp"))
        #expect(n.codec.codec == .opus && n.codec.payloadType == 96)
        #expect(n.dtlsRole == .server)  // aiortc answered active
        #expect(n.iceRole == .controlling)
        #expect(n.mid == "0")
        #expect(n.rtcpMux)
        #expect(n.remoteICE.ufrag == "i5cZ")
        #expect(n.remoteCandidates.count == 1 && n.remoteCandidates[0].address == "127.0.0.1")
    }

    @Test func ourOfferAndOurAnswerAgree() throws {
        let other = SDPFixtures.endpoint(seed: 12)
        var o = AudioOfferOptions()
        o.mid = "0"
        let ours = AudioOfferAnswer.makeOffer(local: local, options: o)
        let a = try AudioOfferAnswer.makeAnswer(to: try SDPParser.parse(ours.text), local: other)
        let n = try AudioOfferAnswer.applyAnswer(try SDPParser.parse(a.answer.text), to: ours)
        #expect(n.codec.codec == a.negotiated.codec.codec)
        #expect(n.codec.payloadType == a.negotiated.codec.payloadType)
        #expect(n.telephoneEvent == a.negotiated.telephoneEvent)
        #expect(n.telephoneEvent == .init(payloadType: 110, clockRate: 48000))
        #expect(n.dtlsRole == .server && a.negotiated.dtlsRole == .client)
        #expect(n.iceRole == .controlling && a.negotiated.iceRole == .controlled)
        #expect(n.remoteICE == other.iceCredentials && a.negotiated.remoteICE == local.iceCredentials)
        #expect(n.remoteFingerprint == SDPFixtures.fingerprint)
        #expect(n.remoteSSRC == other.ssrc && a.negotiated.remoteSSRC == local.ssrc)
        #expect(n.mid == "0" && a.negotiated.mid == "0")
    }

    @Test("hold: our offer's direction and the answer's", arguments: [
        (SDPMediaDirection.sendonly, SDPMediaDirection.recvonly, SDPMediaDirection.sendonly),
        (.sendonly, .inactive, .inactive),
        (.inactive, .inactive, .inactive),
        (.recvonly, .sendonly, .recvonly),
        (.sendrecv, .recvonly, .sendonly),
        (.sendrecv, .sendonly, .recvonly),
        (.sendrecv, .sendrecv, .sendrecv),
        (.sendonly, .sendrecv, .sendonly),  // a non-conforming answer cannot widen what we offered
    ])
    func holdDirections(offered: SDPMediaDirection, answered: SDPMediaDirection, ours: SDPMediaDirection) throws {
        var o = AudioOfferOptions()
        o.direction = offered
        let held = AudioOfferAnswer.makeOffer(local: local, options: o)
        #expect(held.media[0].direction == offered)
        let answer = SDPFixtures.withDirection(answered, try SDPFixtures.parsed("freeswitch-answer.sdp"))
        #expect(try AudioOfferAnswer.applyAnswer(answer, to: held).direction == ours)
    }

    @Test func holdRoundTripThroughOurAnswerer() throws {
        var o = AudioOfferOptions()
        o.direction = .sendonly
        var e = local
        e.bumpVersion()
        let held = AudioOfferAnswer.makeOffer(local: e, options: o)
        #expect(held.origin.sessionVersion == "3")
        #expect(held.origin.sessionID == offer.origin.sessionID)
        #expect(held.media[0].iceUfrag == offer.media[0].iceUfrag)  // same ICE session: no restart
        let a = try AudioOfferAnswer.makeAnswer(to: held, local: SDPFixtures.endpoint(seed: 13))
        #expect(a.answer.media[0].direction == .recvonly)
        #expect(try AudioOfferAnswer.applyAnswer(a.answer, to: held).direction == .sendonly)
    }

    @Test("DTLS role from the answer's setup", arguments: [
        ("active", DTLSRole.server), ("passive", DTLSRole.client),
    ])
    func dtlsRoleFromAnswer(setup: String, role: DTLSRole) throws {
        let answer = SDPFixtures.replacing("setup", with: setup, in: try SDPFixtures.parsed("freeswitch-answer.sdp"))
        #expect(try AudioOfferAnswer.applyAnswer(answer, to: offer).dtlsRole == role)
    }

    @Test func answerWithoutSetupMeansPassive() throws {
        let answer = SDPFixtures.removing("setup", from: try SDPFixtures.parsed("freeswitch-answer.sdp"))
        #expect(try AudioOfferAnswer.applyAnswer(answer, to: offer).dtlsRole == .client)
    }

    @Test("invalid setup in an answer", arguments: ["actpass", "holdconn"])
    func invalidAnswerSetup(setup: String) throws {
        let answer = SDPFixtures.replacing("setup", with: setup, in: try SDPFixtures.parsed("freeswitch-answer.sdp"))
        let error = try #require(throws: SDPError.self) { try AudioOfferAnswer.applyAnswer(answer, to: offer) }
        #expect(error.kind == .invalidSetup(setup))
    }

    @Test func answerMustMatchTheOffer() throws {
        let fs = try SDPFixtures.parsed("freeswitch-answer.sdp")
        var rejected = fs
        rejected.media[0].port = 0
        #expect(try #require(throws: SDPError.self) { try AudioOfferAnswer.applyAnswer(rejected, to: offer) }.kind == .audioRejected)
        var extra = fs
        extra.media.append(MediaDescription(media: "video", port: 0, proto: "UDP/TLS/RTP/SAVPF", formats: ["96"]))
        #expect(try #require(throws: SDPError.self) { try AudioOfferAnswer.applyAnswer(extra, to: offer) }.kind == .answerMismatch)
        var video = fs
        video.media[0].media = "video"
        #expect(try #require(throws: SDPError.self) { try AudioOfferAnswer.applyAnswer(video, to: offer) }.kind == .answerMismatch)
        var unknownCodec = fs
        unknownCodec.media[0].formats = ["9"]
        #expect(try #require(throws: SDPError.self) { try AudioOfferAnswer.applyAnswer(unknownCodec, to: offer) }.kind == .noUsableAudioCodec)
        // A codec we support but did not offer is refused too.
        var o = AudioOfferOptions()
        o.codecs = [.opus]
        let opusOnly = AudioOfferAnswer.makeOffer(local: local, options: o)
        var pcmu = fs
        pcmu.media[0].formats = ["0"]
        #expect(try #require(throws: SDPError.self) { try AudioOfferAnswer.applyAnswer(pcmu, to: opusOnly) }.kind == .noUsableAudioCodec)
        #expect(try #require(throws: SDPError.self) {
            try AudioOfferAnswer.applyAnswer(SDPFixtures.removing("fingerprint", from: fs), to: offer)
        }.kind == .missingFingerprint)
        #expect(try #require(throws: SDPError.self) {
            try AudioOfferAnswer.applyAnswer(SDPFixtures.removing("ice-ufrag", from: fs), to: offer)
        }.kind == .missingICECredentials)
    }

    @Test func pcmuAnswerWithTelephoneEvent8k() throws {
        var fs = try SDPFixtures.parsed("freeswitch-answer.sdp")
        fs.media[0].formats = ["0", "126"]
        fs.media[0].attributes.append(SDPAttribute("rtpmap", "126 telephone-event/8000"))
        let n = try AudioOfferAnswer.applyAnswer(fs, to: offer)
        #expect(n.codec == .init(codec: .pcmu, payloadType: 0, clockRate: 8000, channels: 1))
        #expect(n.telephoneEvent == .init(payloadType: 126, clockRate: 8000))
    }

    @Test func answerWithoutRtcpMuxIsNotMuxed() throws {
        let fs = SDPFixtures.removing("rtcp-mux", from: try SDPFixtures.parsed("freeswitch-answer.sdp"))
        #expect(try AudioOfferAnswer.applyAnswer(fs, to: offer).rtcpMux == false)
    }
}
