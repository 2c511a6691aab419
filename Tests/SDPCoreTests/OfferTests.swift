import CoreSupport
import Testing
@testable import SDPCore

@Suite("Audio offer generation")
struct OfferTests {
    let local = SDPFixtures.endpoint(seed: 42)

    @Test func defaultOfferMatchesTheRecommendedShape() throws {
        let offer = AudioOfferAnswer.makeOffer(local: local)
        let sdp = try SDPParser.parse(offer.text)
        #expect(sdp == offer)
        #expect(sdp.media.count == 1)
        let m = sdp.media[0]
        #expect(m.mLineValue == "audio 40000 UDP/TLS/RTP/SAVPF 111 0 8 110 126")
        #expect(m.connection == SDPConnection(address: "127.0.0.1"))
        #expect(m.rtpMap(for: 111) == SDPRTPMap(payloadType: 111, encodingName: "opus", clockRate: 48000, channels: 2))
        #expect(m.formatParameters(for: 111)?.description == "minptime=10;useinbandfec=1")
        #expect(m.rtpMap(for: 0)?.encodingName == "PCMU")
        #expect(m.rtpMap(for: 8)?.encodingName == "PCMA")
        #expect(m.rtpMap(for: 110) == SDPRTPMap(payloadType: 110, encodingName: "telephone-event", clockRate: 48000))
        #expect(m.rtpMap(for: 126) == SDPRTPMap(payloadType: 126, encodingName: "telephone-event", clockRate: 8000))
        #expect(m.setup == .actpass)
        #expect(m.rtcpMux)
        #expect(m.direction == .sendrecv)
        #expect(m.fingerprints == [SDPFixtures.fingerprint])
        #expect(m.candidates == [SDPFixtures.hostCandidate])
        #expect(m.endOfCandidates)
        #expect(m.ssrcs == [local.ssrc])
        #expect(m.cname() == local.cname)
        #expect(sdp.iceCredentials(forMediaAt: 0) == local.iceCredentials)
        // Toward FreeSWITCH: no BUNDLE group, no mid, no ice-options, no ice-lite (docs/verto-protocol.md §5.1).
        #expect(sdp.bundleMids.isEmpty && !sdp.attributes.contains(named: "group"))
        #expect(m.mid == nil)
        #expect(sdp.iceOptions(forMediaAt: 0).isEmpty)
        #expect(!sdp.iceLite)
        #expect(sdp.origin.sessionID == String(local.sessionID))
        #expect(sdp.origin.sessionVersion == "2")
        #expect(offer.text.hasPrefix("v=0\r\no=- \(local.sessionID) 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio "))
    }

    @Test func iceCredentialsAreRandomIceCharsFromTheInjectedGenerator() {
        let a = SDPFixtures.endpoint(seed: 1), b = SDPFixtures.endpoint(seed: 1), c = SDPFixtures.endpoint(seed: 2)
        #expect(a == b)
        #expect(a.iceCredentials != c.iceCredentials)
        #expect(a.ssrc != c.ssrc)
        for e in [a, c] {
            #expect(e.iceCredentials.isValid)
            #expect(e.iceCredentials.ufrag.count >= 4 && e.iceCredentials.password.count >= 22)
        }
        #expect(AudioOfferAnswer.makeOffer(local: a).text == AudioOfferAnswer.makeOffer(local: b).text)
        var sys = AnyRandomSource.system
        #expect(ICECredentials.random(using: &sys).isValid)
        // Out-of-range lengths are clamped to RFC 8839 §5.4's limits.
        var rng = SeededGenerator(seed: 9)
        let short = ICECredentials.random(ufragLength: 1, passwordLength: 3, using: &rng)
        #expect(short.ufrag.count == 4 && short.password.count == 22)
    }

    @Test func credentialsDescriptionRedactsThePassword() {
        #expect(!String(describing: local.iceCredentials).contains(local.iceCredentials.password))
    }

    @Test func optionsChangeTheOffer() throws {
        var o = AudioOfferOptions()
        o.proto = "RTP/SAVPF"
        o.mid = "audio"
        o.iceLite = true
        o.iceOptions = ["trickle"]
        o.endOfCandidates = false
        o.direction = .sendonly
        o.ptime = 20
        o.opusParameters = AudioOfferOptions.opusParameters(stereo: true)
        o.codecs = [.pcma, .opus]
        o.telephoneEvents = [TelephoneEventFormat(payloadType: 101, clockRate: 8000, events: nil)]
        o.includeSSRC = false
        let sdp = try SDPParser.parse(AudioOfferAnswer.makeOffer(local: local, options: o).text)
        let m = sdp.media[0]
        #expect(m.mLineValue == "audio 40000 RTP/SAVPF 8 111 101")
        #expect(m.mid == "audio")
        #expect(sdp.iceLite)
        #expect(sdp.attributes == [SDPAttribute("ice-lite")])
        #expect(m.iceOptions == ["trickle"])
        #expect(!m.endOfCandidates)
        #expect(m.direction == .sendonly)
        #expect(m.ptime == 20)
        let fmtp = try #require(m.formatParameters(for: 111))
        #expect(fmtp.flag("stereo") && fmtp.flag("sprop-stereo") && fmtp.flag("useinbandfec"))
        #expect(m.formatParameters(for: 101) == nil)
        #expect(m.ssrcAttributes.isEmpty)
    }

    @Test func withoutCandidatesTheDefaultDestinationIsThePlaceholder() throws {
        let e = SDPFixtures.endpoint(seed: 3, candidates: [])
        let m = AudioOfferAnswer.makeOffer(local: e).media[0]
        #expect(m.port == 9)
        #expect(m.connection == SDPConnection(address: "0.0.0.0"))
        #expect(m.candidates.isEmpty)
    }

    @Test func defaultDestinationIsTheFirstUDPComponentOneCandidate() throws {
        let tcp = SDPCandidate(foundation: "9", transport: "tcp", priority: 5, address: "10.0.0.1", port: 9, type: .host,
                               extensions: [.init("tcptype", "active")])
        let v6 = SDPCandidate(foundation: "2", priority: 7, address: "2001:db8::5", port: 5002, type: .host)
        let m = AudioOfferAnswer.makeOffer(local: SDPFixtures.endpoint(seed: 4, candidates: [tcp, v6])).media[0]
        #expect(m.port == 5002)
        #expect(m.connection == SDPConnection(networkType: "IN", addressType: "IP6", address: "2001:db8::5"))
        #expect(m.candidates == [tcp, v6])
    }
}
