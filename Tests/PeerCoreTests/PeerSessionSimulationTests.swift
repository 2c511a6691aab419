import Foundation
import CoreSupport
import CryptoCore
import MediaCore
import NIOCore
import SDPCore
import Testing
import TestSupport
@testable import PeerCore

let addrA = try! SocketAddress(ipAddress: "10.0.0.1", port: 40000)
let addrB = try! SocketAddress(ipAddress: "10.0.0.2", port: 50000)
let start = NIODeadline.uptimeNanoseconds(10_000_000_000)

/// A connected pair: A offers (full ICE, controlling), B answers (full or lite).
func makePair(seed: UInt64, liteAnswerer: Bool = false) throws -> SimulatedNetwork {
    let a = PeerSession(hostAddresses: [addrA], random: .seeded(seed), now: start)
    let b = PeerSession(configuration: liteAnswerer ? .serverRole : PeerSessionConfiguration(), hostAddresses: [addrB],
                        random: .seeded(seed + 1), now: start)
    let offer = a.createOffer(now: start)
    let answer = try b.acceptOffer(try SessionDescription(parsing: offer.text), now: start)
    try a.applyAnswer(try SessionDescription(parsing: answer.text), now: start)
    return SimulatedNetwork(a, b, addresses: [addrA, addrB], tones: [440, 660], now: start, seed: seed)
}

@Suite struct PeerSessionSimulationTests {
    @Test(arguments: [false, true])
    func cleanNetworkCarriesTonesBothWays(liteAnswerer: Bool) throws {
        let net = try makePair(seed: 11, liteAnswerer: liteAnswerer)
        net.run(until: start + .seconds(3))
        let (a, b) = (net.peers[0], net.peers[1])
        #expect(a.state == .connected && b.state == .connected)
        #expect(tone(lastSecond(net.received[1])) == 440, "B hears A's 440 Hz")
        #expect(tone(lastSecond(net.received[0])) == 660, "A hears B's 660 Hz")
        // On a zero-delay network every setup step happens at the same virtual instant: no timers on the path.
        #expect(a.milestones.iceConnected == start)
        #expect(a.milestones.dtlsConnected == start)
        #expect(b.milestones.dtlsConnected == start)
        #expect(b.statistics.framesConcealed == 0)
        #expect(a.statistics.srtpFailures == 0 && b.statistics.srtpFailures == 0)
        #expect(a.negotiated?.dtlsRole == .server && b.negotiated?.dtlsRole == .client, "answerer is active (RFC 5763)")
    }

    /// A peer that sends 60 ms Opus packets (2,880 samples each, more than the decoder's first
    /// scratch holds) is heard: the scratch grows on the first such packet, nothing is lost as malformed.
    @Test func sixtyMillisecondPacketsAreDecoded() throws {
        let net = try makePair(seed: 31)
        net.frameSamples[0] = 2880
        net.run(until: start + .seconds(3))
        let b = net.peers[1]
        #expect(b.statistics.malformed == 0)
        #expect(b.statistics.framesDecoded > 20)
        #expect(majorityTone(lastSecond(net.received[1])) == 440, "B hears A's 440 Hz")
    }

    /// A browser that answers starts DTLS as soon as ICE works — before its answer reaches us
    /// through signalling (verto.js sends verto.answer after ICE gathering). Its ClientHello arrives
    /// while our offer is outstanding: it is kept and answered the moment the answer is applied, so
    /// the handshake completes then, not after the browser's retransmission timer (about 1 s).
    @Test func aClientHelloBeforeTheAnswerIsAnsweredWhenTheAnswerIsApplied() throws {
        let a = PeerSession(hostAddresses: [addrA], random: .seeded(21), now: start)
        let offer = a.createOffer(now: start)
        // The answer's ICE and SDP come from a real answerer; its DTLS is played by `browser`, a
        // DTLS client with an identity of its own (its fingerprint goes into the answer).
        let b = PeerSession(hostAddresses: [addrB], random: .seeded(22), now: start)
        let answered = try b.acceptOffer(try SessionDescription(parsing: offer.text), now: start)
        let identity = try DTLSIdentity()
        let offerFingerprint = try #require(offer.text.split(whereSeparator: \.isNewline)
            .first { $0.hasPrefix("a=fingerprint:") }.flatMap { DTLSFingerprint(sdpValue: String($0.dropFirst("a=fingerprint:".count))) })
        let answer = answered.text.split(separator: "\r\n", omittingEmptySubsequences: false).map { line in
            line.hasPrefix("a=fingerprint:") ? "a=fingerprint:" + identity.fingerprint.sdpValue : String(line)
        }.joined(separator: "\r\n")
        let browser = try DTLSEndpoint(identity: identity, role: .client, remoteFingerprint: offerFingerprint)
        browser.start(now: start)
        var flights = 0
        while let hello = browser.pollTransmit() {
            var bytes = hello
            bytes.withUnsafeMutableBytes { a.receive($0, from: addrB, now: start) }
            flights += 1
        }
        #expect(flights > 0)
        #expect(a.earlyDatagramsKept == flights, "A kept the ClientHello")
        #expect(a.statistics.unknownDatagrams == 0)

        // 300 ms later the answer arrives. From then on, no timer fires: each side answers the
        // other's flight at once, at the same virtual instant.
        let applied = start + .milliseconds(300)
        try a.applyAnswer(try SessionDescription(parsing: answer), now: applied)
        var buffer = ByteBufferAllocator().buffer(capacity: 1600)
        func deliverToBrowser() {
            while let to = a.pollTransmit(into: &buffer) {
                let bytes = Array(buffer.readableBytesView)
                buffer.clear()
                if to == addrB, bytes.withUnsafeBytes({ PacketDemux.classify($0) }) == .dtls {
                    bytes.withUnsafeBytes { browser.receive($0, now: applied) }
                }
            }
        }
        for _ in 0..<10 where a.milestones.dtlsConnected == nil {
            deliverToBrowser()
            while var f = browser.pollTransmit() { f.withUnsafeMutableBytes { a.receive($0, from: addrB, now: applied) } }
        }
        deliverToBrowser()  // our last flight (ChangeCipherSpec, Finished)
        #expect(a.milestones.dtlsConnected == applied, "the handshake completes at the moment the answer is applied")
        var browserConnected = false
        while let e = browser.pollEvent() { if case .connected = e { browserConnected = true } }
        #expect(browserConnected)
    }

    /// Early datagrams are bounded: a flood before the answer keeps at most the limit, and the
    /// rest are counted as unknown.
    @Test func earlyDatagramsAreBounded() throws {
        let a = PeerSession(hostAddresses: [addrA], random: .seeded(23), now: start)
        _ = a.createOffer(now: start)
        var record: [UInt8] = [22, 0xFE, 0xFD] + [UInt8](repeating: 0, count: 10) + [0, 100] + [UInt8](repeating: 1, count: 100)
        for _ in 0..<1_000 {
            record.withUnsafeMutableBytes { a.receive($0, from: addrB, now: start) }
        }
        #expect(a.earlyDatagramsKept == PeerSession.earlyDatagramLimit.count)
        #expect(a.statistics.unknownDatagrams == 1_000 - PeerSession.earlyDatagramLimit.count)
    }

    @Test func firstPacketIsDecodedOnArrival() throws {
        let net = try makePair(seed: 3)
        net.delay = .milliseconds(30)
        net.run(until: start + .seconds(1))
        let b = net.peers[1]
        let firstRTP = try #require(b.milestones.firstRTPReceived)
        #expect(b.milestones.firstFrameDecoded == firstRTP, "no jitter-buffer prefetch")
    }

    @Test func lossReorderAndDelayStillCarryTheTones() throws {
        let net = try makePair(seed: 99)
        net.delay = .milliseconds(80)
        net.reorderJitter = .milliseconds(15)
        net.mediaLoss = 0.05
        net.run(until: start + .seconds(12))
        #expect(tone(lastSecond(net.received[1])) == 440)
        #expect(tone(lastSecond(net.received[0])) == 660)
        let b = net.peers[1]
        let jb = try #require(b.jitter?.statistics)
        #expect(jb.lost > 0 && b.statistics.packetsLost > 0, "losses happened and were accounted: \(jb)")
        #expect(jb.late + jb.lost < jb.received / 5, "the buffer adapted to 15 ms of reorder: \(jb)")
        #expect(net.peers[0].statistics.rtcpReceived > 0, "RTCP reports arrive")
        #expect(net.peers[0].statistics.roundTripTime != nil)
        if let rtt = net.peers[0].statistics.roundTripTime {
            #expect(rtt >= .milliseconds(150) && rtt <= .milliseconds(200), "RTT ≈ 2 × 80 ms: \(rtt)")
        }
    }

    @Test func consentFailureWhenThePeerGoesSilent() throws {
        let net = try makePair(seed: 5)
        net.run(until: start + .seconds(1))
        #expect(net.peers[0].state == .connected)
        net.silenced = [1]
        net.run(until: start + .seconds(40), audio: false)
        #expect(net.peers[0].state == .failed)
        #expect(net.events[0].contains(.failed(.consentLost)))
    }

    @Test func rfc4733DigitsArriveExactlyOnce() throws {
        let net = try makePair(seed: 21)
        net.run(until: start + .milliseconds(500))
        try net.peers[0].sendDTMF([.d1, .d2, .d3, .d4, .pound])
        net.run(until: start + .seconds(3))
        #expect(net.dtmf[1] == ["1", "2", "3", "4", "#"])
        #expect(net.peers[1].statistics.dtmfReceived == 5)
    }

    @Test func garbageDatagramsAreCountedNotFatal() throws {
        let net = try makePair(seed: 8)
        net.run(until: start + .milliseconds(300))
        var rng = SeededGenerator(seed: 1)
        let b = net.peers[1]
        for _ in 0..<2000 {
            var bytes = (0..<Int.random(in: 0...200, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            bytes.withUnsafeMutableBytes { b.receive($0, from: addrA, now: net.now) }
        }
        net.run(until: start + .seconds(2))
        #expect(b.state == .connected)
        #expect(b.statistics.srtpFailures + b.statistics.unknownDatagrams + b.statistics.malformed > 0)
        #expect(tone(lastSecond(net.received[1])) == 440)
    }
}

/// The last second of received audio.
func lastSecond(_ pcm: [Int16]) -> [Int16] { Array(pcm.suffix(48_000)) }

/// Which of the tones these simulations send dominates most quarter-second windows of `pcm`.
func tone(_ pcm: [Int16]) -> Double? { majorityTone(pcm, among: [440, 660, 1000]) }

/// A sound card's clock pulling playout at its own pace, 0.5 % slower or faster than the sender's
/// 20 ms: the jitter buffer keeps the delay bounded by dropping frames (slow device) or concealing
/// (fast device), and the audio stays the sender's tone. 60 s of virtual time here;
/// `scripts/bench-drift` runs the same for 10 minutes (VERTOPHONE_DRIFT_SECONDS).
@Suite struct DeviceClockDriftTests {
    static var seconds: Int64 { Int64(ProcessInfo.processInfo.environment["VERTOPHONE_DRIFT_SECONDS"] ?? "") ?? 60 }

    @Test(arguments: [0.995, 1.005])
    func aDeviceClockOffByHalfAPercentKeepsTheDelayBounded(rate: Double) throws {
        let net = try makePair(seed: 21)
        net.delay = .milliseconds(20)
        net.run(until: start + .seconds(1))
        let b = net.peers[1]
        #expect(b.state == .connected)
        b.playoutPulled = true
        // The device consumes `rate` × real time: a frame every 20 ms / rate.
        net.pullPeriod = [nil, .nanoseconds(Int64((20_000_000.0 / rate).rounded()))]
        var maxDelay = TimeAmount.zero, samples: [TimeAmount] = []
        net.afterPull = { i in
            guard i == 1, let jb = b.jitter else { return }
            maxDelay = max(maxDelay, jb.currentDelay)
            if net.pulls[1] % 500 == 0 { samples.append(jb.currentDelay) }
        }
        let received = b.statistics.packetsReceived
        net.run(until: start + .seconds(1 + Self.seconds))
        let jb = try #require(b.jitter?.statistics)
        let sent = b.statistics.packetsReceived - received
        print("device clock ×\(rate): \(net.pulls[1]) pulls for \(sent) packets, max delay \(maxDelay), "
              + "every 10 s: \(samples.map { "\($0.nanoseconds / 1_000_000) ms" }), \(jb)")
        #expect(maxDelay <= .milliseconds(200), "the delay stays bounded: \(maxDelay)")
        #expect(tone(lastSecond(net.received[1])) == 440, "still the sender's tone")
        // 0.5 % of 50 frames/s over the run: frames the buffer had to drop or invent.
        let drift = Int(Double(Self.seconds) * 50 * 0.005)
        if rate < 1 {
            #expect(jb.discarded + jb.late >= drift / 2, "a slow device: the buffer shrank by dropping: \(jb)")
        } else {
            #expect(jb.concealed + jb.waits >= drift / 2, "a fast device: the buffer stretched by concealment: \(jb)")
        }
    }
}
