import Foundation
import TestSupport
import Testing
@testable import SDPCore

/// SDPCore's own output, pinned byte for byte. The same files are fed to headless Chromium by
/// `tools/capture/chromium_sdp.py`, which records Chromium's answer to our offer
/// (`chromium-answer-to-vertophone-offer.sdp`) and checks that Chromium accepts our answer.
/// Regenerate after an intended change with `SDP_WRITE_GOLDEN=1 swift test --filter GoldenTests`,
/// then re-run the Chromium script.
@Suite("Golden SDPs written by SDPCore")
struct GoldenTests {
    static let offerName = "vertophone-offer.sdp"
    static let answerName = "vertophone-answer-to-chromium-offer.sdp"
    static let aiortcAnswerName = "vertophone-answer-to-aiortc-offer.sdp"

    static var offer: SessionDescription {
        AudioOfferAnswer.makeOffer(local: SDPFixtures.endpoint(seed: 2026))
    }

    static func answer() throws -> AudioAnswer {
        try AudioOfferAnswer.makeAnswer(to: SDPFixtures.parsed("chromium-offer.sdp"), local: SDPFixtures.endpoint(seed: 2027))
    }

    static func answerToAiortc() throws -> AudioAnswer {
        try AudioOfferAnswer.makeAnswer(to: SDPFixtures.parsed("aiortc-offer.sdp"), local: SDPFixtures.endpoint(seed: 2028))
    }

    static func compareOrWrite(_ text: String, _ name: String) throws {
        if ProcessInfo.processInfo.environment["SDP_WRITE_GOLDEN"] == "1" {
            try text.write(to: Fixtures.url("sdp/" + name), atomically: true, encoding: .utf8)
        }
        #expect(try SDPFixtures.text(name) == text)
    }

    @Test func ourOfferIsPinned() throws {
        try Self.compareOrWrite(Self.offer.text, Self.offerName)
    }

    @Test func ourAnswerToChromiumIsPinned() throws {
        try Self.compareOrWrite(try Self.answer().answer.text, Self.answerName)
    }

    @Test func ourAnswerToAiortcIsPinned() throws {
        try Self.compareOrWrite(try Self.answerToAiortc().answer.text, Self.aiortcAnswerName)
    }

    @Test func chromiumAnswerToOurOfferApplies() throws {
        let chromium = try SDPFixtures.parsed("chromium-answer-to-vertophone-offer.sdp")
        let n = try AudioOfferAnswer.applyAnswer(chromium, to: Self.offer)
        #expect(n.codec.codec == .opus && n.codec.payloadType == 111)
        #expect(n.codec.useInbandFEC)
        #expect(n.telephoneEvent == .init(payloadType: 110, clockRate: 48000))
        #expect(n.dtlsRole == .server)  // Chromium answers actpass with active
        #expect(n.iceRole == .controlling)
        #expect(n.rtcpMux)
        #expect(n.direction == .sendrecv)
        // Our offer has no a=mid (FreeSWITCH style); Chromium accepts it and names the section "0".
        #expect(Self.offer.media[0].mid == nil)
        #expect(n.mid == "0")
        #expect(!n.remoteCandidates.isEmpty)
        #expect(n.remoteFingerprint.hashFunction == "sha-256")
    }

    @Test func aiortcAnswerToOurOfferApplies() throws {
        let aiortc = try SDPFixtures.parsed("aiortc-answer-to-vertophone-offer.sdp")
        // aiortc writes "a=group:BUNDLE " with no mids for an offer without mids: read as an empty group.
        #expect(aiortc.attributes.first == SDPAttribute("group", "BUNDLE"))
        #expect(aiortc.bundleMids.isEmpty)
        let n = try AudioOfferAnswer.applyAnswer(aiortc, to: Self.offer)
        #expect(n.codec.codec == .opus && n.codec.payloadType == 111)
        #expect(n.telephoneEvent == nil)  // aiortc has no telephone-event
        #expect(n.mid == nil)
        #expect(n.dtlsRole == .server)
        #expect(n.remoteFingerprints.count == 3 && n.remoteFingerprint.hashFunction == "sha-256")
        #expect(n.remoteCandidates.map(\.address) == ["127.0.0.1"])
    }

    @Test func chromiumOfferAndAnswerApply() throws {
        let n = try AudioOfferAnswer.applyAnswer(try SDPFixtures.parsed("chromium-answer.sdp"), to: try SDPFixtures.parsed("chromium-offer.sdp"))
        #expect(n.codec.codec == .opus && n.codec.payloadType == 111)
        #expect(n.telephoneEvent == .init(payloadType: 110, clockRate: 48000))
        #expect(n.mid == "0")
        #expect(n.dtlsRole == .server)
    }

    @Test func ourAnswerToChromiumHasWhatChromiumRequires() throws {
        // docs/testing.md: Chromium rejects an answer with actpass, without rtcp-mux, without a fingerprint,
        // or with a mid other than the offer's.
        let a = try Self.answer()
        let m = a.answer.media[0]
        #expect(m.setup == .active)
        #expect(m.rtcpMux)
        #expect(!m.fingerprints.isEmpty)
        #expect(m.mid == "0")
        #expect(a.negotiated.codec.codec == .opus)
    }
}
