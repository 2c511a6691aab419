import Foundation
import Logging
import MediaCore
import NIOCore
import Testing
import NIOPosix
import OpusCodec
import VertoNIO
import TestSupport
import VertoCore
@testable import VertoPhone

/// Our client role ↔ our server role over real WebSocket + UDP on 127.0.0.1, real DTLS-SRTP and
/// Opus; audio checked by frequency.
@Suite(.serialized, .realTime) struct EndToEndTests {
    @Test func loginGoodAndBad() async throws {
        let endpoint = try await startEndpoint()
        let good = client(endpoint)
        try await good.connect()
        let bad = client(endpoint, password: "wrong")
        await #expect(throws: VertoPhoneError.self) { try await bad.connect(timeout: .seconds(15)) }
        try await good.disconnect()
        try await endpoint.stop()
    }

    /// After a few wrong passwords the user is blocked for a growing delay: even the right password
    /// is refused until it passes, then accepted.
    @Test func failedLoginsBackOffAndEvenTheRightPasswordWaits() async throws {
        let endpoint = try await startEndpoint {
            $0.loginThrottle.freeFailures = 2
            $0.loginThrottle.baseDelay = .seconds(3)
        }
        func attempt(_ password: String) async -> Bool {
            var o = VertoClientOptions(url: "ws://127.0.0.1:\(endpoint.port)/", login: "1001@127.0.0.1", password: password)
            o.autoReconnect = false
            o.connectTimeout = .seconds(15)
            let c = VertoClient(options: o)
            do {
                try await c.connect(timeout: .seconds(15))
                try? await c.disconnect()
                return true
            } catch {
                return false
            }
        }
        for _ in 0..<3 { #expect(await attempt("wrong") == false) }
        #expect(await attempt("verto-test") == false, "blocked after the third failure: the right password waits too")
        let deadline = ContinuousClock.now + .seconds(15)
        var accepted = false
        while !accepted, ContinuousClock.now < deadline {
            accepted = await attempt("verto-test")
            if !accepted { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(accepted, "accepted once the back-off passed")
        try await endpoint.stop()
    }

    /// A call whose media never comes up (the offer's only candidate answers nothing) is ended by
    /// the server with MEDIA_TIMEOUT and verto.bye once the media setup bound passes, instead of
    /// holding its socket until the WebSocket closes.
    @Test func aCallWhoseMediaNeverConnectsIsEndedWithMediaTimeout() async throws {
        let endpoint = try await startEndpoint { $0.mediaSetupTimeout = .seconds(1) }
        let ended = Task { try await nextEvent(endpoint) { e -> (String, HangupCause)? in
            if case .ended(let id, let cause) = e { return (id, cause) } else { return nil }
        } }
        let ws = try await RawVertoSocket.connect("ws://127.0.0.1:\(endpoint.port)/")
        // The candidate port is closed: ICE checks get no answer.
        let sdp = try Fixtures.text("sdp/chromium-offer.sdp")
            .split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.hasPrefix("a=candidate") || $0.contains(" 127.0.0.1 ") && $0.contains(" udp ") }
            .joined(separator: "\n")
        // Pipelined: the invite goes out before the login's reply (the server holds it until then).
        ws.request(id: 1, method: "login", params: ["login": "1001@127.0.0.1", "passwd": "verto-test", "sessid": "media-timeout-test"])
        ws.request(id: 2, method: "verto.invite", params: ["sdp": .string(sdp), "dialogParams": ["callID": "mt-1", "destination_number": "9196"]])
        let bye = try await ws.next("verto.bye") { $0.string("method") == "verto.bye" }.object("params")
        #expect(bye?.int("causeCode") == 604, "verto.bye with MEDIA_TIMEOUT: \(String(describing: bye))")
        let (id, cause) = try await ended.value
        #expect(id == "mt-1" && cause == .mediaTimeout)
        ws.close()
        try await endpoint.stop()
    }

    /// The per-session call cap over a real socket: the call over it is refused with -32002 and
    /// CALL_REJECTED, and hanging up the first call frees the slot.
    @Test func aSessionOverItsCallCapIsRefused() async throws {
        let endpoint = try await startEndpoint { $0.verto.maxCallsPerSession = 1 }
        let ws = try await RawVertoSocket.connect("ws://127.0.0.1:\(endpoint.port)/")
        let sdp = try Fixtures.text("sdp/chromium-offer.sdp")
        func invite(_ id: Int, _ callID: String) {
            ws.request(id: id, method: "verto.invite", params: ["sdp": .string(sdp), "dialogParams": ["callID": .string(callID), "destination_number": "9196"]])
        }
        ws.request(id: 1, method: "login", params: ["login": "1001@127.0.0.1", "passwd": "verto-test", "sessid": "call-cap-test"])
        #expect(try await ws.reply(to: 1).object("result") != nil)
        invite(2, "cap-1")
        #expect(try await ws.reply(to: 2).object("result")?.string("message") == "CALL CREATED")
        invite(3, "cap-2")
        let refused = try await ws.reply(to: 3).object("error")
        #expect(refused?.int("code") == -32002)
        #expect(refused?.string("cause") == "CALL_REJECTED")
        ws.request(id: 4, method: "verto.bye", params: ["dialogParams": ["callID": "cap-1"]])
        #expect(try await ws.reply(to: 4).object("result") != nil)
        invite(5, "cap-3")
        #expect(try await ws.reply(to: 5).object("result")?.string("message") == "CALL CREATED")
        ws.close()
        try await endpoint.stop()
    }

    /// Typed call errors: a call the server refuses surfaces as `refused` with the server's error,
    /// and `hangupCause` names the cause it gave (here CALL_REJECTED from the per-session cap).
    @Test func aRefusedCallCarriesTheServersCause() async throws {
        let endpoint = try await startEndpoint { $0.verto.maxCallsPerSession = 1 }
        let c = client(endpoint)
        try await c.connect()
        let first = try await c.call("9196")
        do {
            _ = try await c.call("9196")
            Issue.record("the second call was accepted")
        } catch let e as VertoPhoneError {
            guard case .refused(let method, .remoteError(_, let code, _, _)) = e else { Issue.record("\(e)"); return }
            #expect(method == "verto.invite" && code == -32002)
            #expect(e.hangupCause == .callRejected)
        }
        try await first.hangup()
        try await c.disconnect()
        try await endpoint.stop()
    }

    /// A destination routed to the application: the app gets the call and its media session from
    /// `newWebRTCCall`, answers it with `VertoEndpoint.answer(callID:)` and plays its own audio.
    @Test func theApplicationAnswersACallRoutedToIt() async throws {
        let endpoint = try await startEndpoint { $0.routing.fallback = .application }
        let delivered = Task { try await nextEvent(endpoint) { e -> (ServerCallInfo, MediaSession)? in
            if case .newWebRTCCall(let info, let media) = e, !info.outbound { return (info, media) } else { return nil }
        } }
        let c = client(endpoint)
        try await c.connect()
        let call = try await c.call("7777")
        let (info, media) = try await delivered.value
        #expect(info.destination == "7777" && info.callID == call.callID)
        media.setSource(.tone(frequencies: [660], amplitude: 0.3))
        try await endpoint.answer(callID: info.callID)
        try await call.wait { $0 == .active }
        #expect(try await hears(call.media, 660))
        await #expect(throws: VertoPhoneError.unknownCall("no-such-call")) { try await endpoint.answer(callID: "no-such-call") }
        try await call.hangup()
        try await c.disconnect()
        try await endpoint.stop()
    }

    /// A G.711 call routed to the application: the session handed over in `newWebRTCCall` says
    /// 8 kHz, and the app's tone is heard at that rate. (The rate is published before the event;
    /// the peer itself is attached on the media loop a moment later — a window this test cannot
    /// hold open, so it checks the rate, not the moment.)
    @Test func aG711CallHandedToTheApplicationRunsAt8kHz() async throws {
        let endpoint = try await startEndpoint { $0.routing.fallback = .application }
        let delivered = Task { try await nextEvent(endpoint) { e -> (ServerCallInfo, MediaSession)? in
            if case .newWebRTCCall(let info, let media) = e, !info.outbound { return (info, media) } else { return nil }
        } }
        var o = VertoClientOptions(url: "ws://127.0.0.1:\(endpoint.port)/", login: "1001@127.0.0.1", password: "verto-test")
        o.mediaHost = "127.0.0.1"
        o.media.offer.codecs = [.pcmu]
        let c = VertoClient(options: o)
        try await c.connect()
        let call = try await c.call("7777")
        let (info, media) = try await delivered.value
        #expect(media.sampleRate == 8_000)
        media.setSource(.tone(frequencies: [660], amplitude: 0.3))
        try await endpoint.answer(callID: info.callID)
        try await call.wait { $0 == .active }
        #expect(call.media.sampleRate == 8_000)
        #expect(try await hears(call.media, 660))
        try await call.hangup()
        try await c.disconnect()
        try await endpoint.stop()
    }

    /// With media on every interface (mediaHost 0.0.0.0, the default), the offer's host candidates
    /// start with the local address of the signalling connection's route — for a server on
    /// loopback, 127.0.0.1, the one address known to reach it — and the call's audio flows.
    @Test func theSignallingRouteAddressIsAlwaysACandidate() async throws {
        let endpoint = try await startEndpoint()
        let offered = Task { try await nextEvent(endpoint) { e -> MediaSession? in
            if case .newWebRTCCall(let info, let media) = e, !info.outbound { return media } else { return nil }
        } }
        var o = VertoClientOptions(url: "ws://127.0.0.1:\(endpoint.port)/", login: "1001@127.0.0.1", password: "verto-test")
        o.mediaHost = "0.0.0.0"
        let c = VertoClient(options: o)
        try await c.connect()
        let call = try await c.call("9196", source: .tone(frequencies: [440], amplitude: 0.3))
        let media = try await offered.value
        let candidates = try await endpoint.eventLoop.submit {
            media.peer?.withCoreOnLoop { $0.negotiated?.remoteCandidates.map(\.address) } ?? []
        }.get()
        #expect(candidates.first == "127.0.0.1", "the client's host candidates: \(candidates)")
        try await call.wait { $0 == .active }
        #expect(try await hears(call.media, 440))
        try await call.hangup()
        try await c.disconnect()
        try await endpoint.stop()
        #expect(HangupCause.incompatibleDestination.setupHint?.contains("mediaHost") == true)
    }

    /// Pre-encoded Opus payloads (a load generator's phones) go out in place of the source: a
    /// call whose source is silence sends a 660 Hz tone encoded beforehand, and the echo returns it.
    @Test func preEncodedPayloadsAreSentInPlaceOfTheSource() async throws {
        let endpoint = try await startEndpoint()
        let c = VertoClient(options: VertoClientOptions(url: "ws://127.0.0.1:\(endpoint.port)/", login: "1001@127.0.0.1", password: "verto-test"))
        try await c.connect()
        let call = try await c.call("9196", source: .silence)
        let encoder = try OpusEncoder(OpusEncoderConfiguration())
        var tone = ToneGenerator(frequencies: [660], amplitude: 0.3, sampleRate: 48_000)
        call.media.sendPreEncoded(try (0..<50).map { _ in try encoder.encode(tone.generate(count: 960)) })
        try await call.wait { $0 == .active }
        #expect(try await hears(call.media, 660))
        try await call.hangup()
        try await c.disconnect()
        try await endpoint.stop()
    }

    /// Calls are spread over the media loops in turn (the signalling loop first), each with its own
    /// audio; with one media loop, media runs on the signalling loop.
    @Test(arguments: [3, 1]) func callsAreSpreadOverTheMediaLoops(_ mediaLoops: Int) async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 3)
        var config = VertoEndpointConfiguration(users: .demo())
        config.port = 0
        config.mediaEventLoops = mediaLoops
        let endpoint = try await VertoEndpoint.start(configuration: config, group: group, logger: Logger(label: "vertophone.server"))
        var held: [(VertoClient, Call, Double)] = []
        for f in [440.0, 660, 880] {
            let (c, call) = try await echoCall(endpoint, frequency: f)
            held.append((c, call, f))
        }
        let media = try await endpoint.eventLoop.submit { endpoint.state.value.calls.values.map(\.media) }.get()
        #expect(media.count == 3)
        let loops = Set(media.map { ObjectIdentifier($0.eventLoop) })
        #expect(loops.count == mediaLoops, "calls on \(loops.count) loops")
        #expect(media.contains { $0.eventLoop === endpoint.eventLoop }, "the signalling loop carries media too")
        for (c, call, f) in held {
            #expect(try await hears(call.media, f), "the echo of \(f) Hz")
            try await call.hangup()
            try await c.disconnect()
        }
        try await endpoint.stop()
        try await group.shutdownGracefully()
    }

    @Test func echoReturnsOurTone() async throws {
        let endpoint = try await startEndpoint()
        let (c, call) = try await echoCall(endpoint)
        let stats = try #require(try await call.media.stats())
        #expect(stats.codec == "opus")
        #expect(stats.milestones.firstFrameDecoded != nil)
        // Both ends received authenticated media, so each freed its DTLS association's OpenSSL
        // state; the echo was heard after that (`echoCall` listens after the first packets).
        let released = try await call.media.eventLoop.submit { call.media.peer?.withCoreOnLoop { $0.dtlsReleased } }.get()
        #expect(released == true, "the client's association")
        let serverMedia = try await endpoint.eventLoop.submit { endpoint.state.value.calls.values.map(\.media) }.get()
        var serverReleased: [Bool?] = []
        for m in serverMedia { serverReleased.append(try await m.eventLoop.submit { m.peer?.withCoreOnLoop { $0.dtlsReleased } }.get()) }
        #expect(serverReleased == [true], "the server leg's association")
        #expect(try await hears(call.media, 440), "audio after the release")
        try await call.hangup()
        #expect(call.state == .ended(.normalClearing))
        try await c.disconnect()
        try await endpoint.stop()
    }

    /// The call-quality stream: any number of consumers, each its own stream; on loopback the
    /// echo call shows packets both ways, no loss, the received tone's level, and a MOS near the
    /// E-model's ceiling; the streams end with the call.
    @Test func callQualityStreamWithMOS() async throws {
        let endpoint = try await startEndpoint()
        let (c, call) = try await echoCall(endpoint)
        let first = call.media.quality(every: .milliseconds(500)), second = call.media.quality(every: .seconds(1))
        func two(_ s: AsyncStream<CallQuality>) async throws -> [CallQuality] {
            try await within(.seconds(20), "two quality reports") {
                var got: [CallQuality] = []
                for await q in s {
                    got.append(q)
                    if got.count == 2 { break }
                }
                return got
            }
        }
        async let a = two(first)
        async let b = two(second)
        let (qa, qb) = try await (a, b)
        #expect(qa.count == 2 && qb.count == 2, "both consumers get reports")
        for q in qa + qb {
            #expect(q.packetsReceived > 0 && q.packetsSent > 0, "\(q)")
            #expect(q.receiveKbps > 0 && q.sendKbps > 0)
            #expect(q.lossPercent == 0 && q.packetsLost == 0, "loopback loses nothing: \(q)")
            #expect((q.audioLevelDBFS ?? -100) > -30, "the echoed tone's level: \(String(describing: q.audioLevelDBFS))")
            #expect(q.mos > 4.2 && q.mos <= 4.5, "MOS \(q.mos)")
        }
        // A 1 s interval carries about twice the packets of a 0.5 s one (50 packets/s).
        #expect(qb[1].packetsReceived > qa[1].packetsReceived)
        let third = call.media.quality(every: .milliseconds(200))
        try await call.hangup()
        let ended = try await within(.seconds(20), "the stream's end") { for await _ in third {}; return true }
        #expect(ended)
        try await c.disconnect()
        try await endpoint.stop()
    }

    @Test func toneExtensionPlaysOneKilohertz() async throws {
        let endpoint = try await startEndpoint()
        let c = client(endpoint)
        try await c.connect()
        let call = try await c.call("9664")
        try await call.wait { $0 == .active }
        #expect(try await hears(call.media, 1000))
        try await call.hangup()
        try await endpoint.stop()
    }

    @Test func dtmfIsCollectedExactly() async throws {
        let endpoint = try await startEndpoint()
        let c = client(endpoint)
        try await c.connect()
        let call = try await c.call("9197")
        try await call.wait { $0 == .active }
        let seen = Task { try await nextEvent(endpoint) { e -> String? in
            if case .dtmf(_, let d) = e { return d } else { return nil }
        } }
        try await call.sendDTMF("1234#")
        #expect(try await seen.value == "1234#")
        #expect(try await endpoint.collectedDigits(callID: call.callID) == "1234#")
        try await call.hangup()
        try await endpoint.stop()
    }

    @Test func earlyMediaThenAnswer() async throws {
        let endpoint = try await startEndpoint()
        let c = client(endpoint)
        try await c.connect()
        // Everything received before the answer is kept (recording starts on the client's loop the
        // moment verto.media arrives): the ringback must dominate some 0.5 s of it.
        try await c.observe { event, call in
            if case .earlyMedia = event { call?.media.startRecording() }
        }
        let call = try await c.call("9198", source: .tone(frequencies: [660], amplitude: 0.3))
        _ = try await reached(call) { $0 == .early }
        try await call.wait(timeout: .seconds(15)) { $0 == .active }
        let beforeAnswer = try await call.media.stopRecording()
        #expect(dominatesSomeWindow(beforeAnswer, 425), "ringback during early media")
        #expect(try await hears(call.media, 660), "echo after answer")
        try await call.hangup()
        try await endpoint.stop()
    }

    @Test func serverHangsUpAfterThreeSeconds() async throws {
        let endpoint = try await startEndpoint()
        let c = client(endpoint)
        try await c.connect()
        let call = try await c.call("9199")
        try await call.wait { $0 == .active }
        let end = try await call.wait(timeout: .seconds(15)) { $0.isEnded }
        #expect(end == .ended(.normalClearing))
        try await endpoint.stop()
    }

    @Test func holdAndUnhold() async throws {
        let endpoint = try await startEndpoint()
        let c = client(endpoint)
        try await c.connect()
        let call = try await c.call("9196", source: .tone(frequencies: [440], amplitude: 0.3))
        try await call.wait { $0 == .active }
        try await call.hold()
        #expect(call.state == .held)
        try await call.unhold()
        #expect(call.state == .active)
        #expect(try await hears(call.media, 440))
        try await call.hangup()
        try await endpoint.stop()
    }

    @Test func inboundCallAnsweredAndRejected() async throws {
        let endpoint = try await startEndpoint()
        let c = client(endpoint, user: "1000")
        try await c.connect()
        var incoming = c.incomingCalls.makeAsyncIterator()
        let callID = try await endpoint.call(user: "1000", callerIDNumber: "9000", callerIDName: "Tester")
        let call = try #require(await incoming.next())
        #expect(call.callID == callID && call.remoteNumber == "9000" && call.direction == .inbound)
        try await call.answer()
        #expect(try await hears(call.media, 1000))
        try await call.hangup()

        _ = try await endpoint.call(user: "1000")
        let second = try #require(await incoming.next())
        try await second.reject()
        #expect(second.state == .ended(.callRejected))
        try await endpoint.stop()
    }

    /// 1001 (sending 440 Hz) calls 1000 (answering with 660 Hz) through the server's bridge; both
    /// hear the other by frequency. The clients come back too: the caller keeps them up.
    func bridgedCall(_ endpoint: VertoEndpoint) async throws -> (a: Call, b: Call, clients: [VertoClient]) {
        let a = client(endpoint, user: "1001")
        let b = client(endpoint, user: "1000")
        try await a.connect()
        try await b.connect()
        var incoming = b.incomingCalls.makeAsyncIterator()
        async let callA = a.call("1000", source: .tone(frequencies: [440], amplitude: 0.3))
        let callB = try #require(await incoming.next())
        #expect(callB.remoteNumber == "1001")
        callB.media.setSource(.tone(frequencies: [660], amplitude: 0.3))
        try await callB.answer()
        let ca = try await callA
        try await ca.wait { $0 == .active }
        #expect(try await hears(ca.media, 660), "A hears B")
        #expect(try await hears(callB.media, 440), "B hears A")
        return (ca, callB, [a, b])
    }

    @Test func bridgeOfTwoClientsWithDisplay() async throws {
        let endpoint = try await startEndpoint()
        let (ca, callB, clients) = try await bridgedCall(endpoint)
        #expect(ca.displayIdentity.number == "1000")
        #expect(callB.displayIdentity.number == "1001")
        try await ca.hangup()
        let end = try await callB.wait { $0.isEnded }
        #expect(end == .ended(.normalClearing))
        withExtendedLifetime(clients) {}
        try await endpoint.stop()
    }

    /// Two legs of one codec are bridged without transcoding: the server's legs decode nothing and
    /// pass payloads on (their counters say so), and each client hears the other by frequency. With
    /// `bridgesWithoutTranscoding` off the same call is decoded and re-encoded.
    @Test(arguments: [true, false]) func bridgeForwardsPayloadsWithoutTranscoding(_ forward: Bool) async throws {
        let endpoint = try await startEndpoint { $0.bridgesWithoutTranscoding = forward }
        let legs = Task { () -> [MediaSession] in
            var found: [MediaSession] = []
            for await e in endpoint.events {
                if case .newWebRTCCall(_, let m) = e { found.append(m) }
                if found.count == 2 { break }
            }
            return found
        }
        let (ca, callB, clients) = try await bridgedCall(endpoint)
        let serverLegs = try await within(.seconds(10), "the server's two legs") { await legs.value }
        #expect(serverLegs.count == 2)
        #expect(serverLegs.count == 2 && serverLegs[0].eventLoop === serverLegs[1].eventLoop, "a bridge's legs share a media loop")
        for leg in serverLegs {
            let stats = try #require(try await leg.stats())
            if forward {
                #expect(stats.peer.framesDecoded == 0, "a forwarding leg decodes nothing")
                #expect(stats.peer.payloadsForwardedOut > 20 && stats.peer.payloadsForwardedIn > 20, "\(stats.peer)")
            } else {
                #expect(stats.peer.framesDecoded > 20 && stats.peer.payloadsForwardedOut == 0, "\(stats.peer)")
            }
        }
        try await ca.hangup()
        _ = try await callB.wait { $0.isEnded }
        withExtendedLifetime(clients) {}
        try await endpoint.stop()
    }

    @Test func blindTransferSendsThePartnerToTheDestination() async throws {
        let endpoint = try await startEndpoint()
        let a = client(endpoint, user: "1001")
        let b = client(endpoint, user: "1000")
        try await a.connect()
        try await b.connect()
        var incoming = b.incomingCalls.makeAsyncIterator()
        async let callA = a.call("1000")
        let callB = try #require(await incoming.next())
        try await callB.answer()
        let ca = try await callA
        try await ca.wait { $0 == .active }
        try await ca.transfer(to: "9664")
        let endA = try await ca.wait { $0.isEnded }
        #expect(endA.isEnded)
        #expect(try await hears(callB.media, 1000), "B now hears the 9664 tone")
        try await callB.hangup()
        try await endpoint.stop()
    }

    @Test func reconnectMidCallReattachesAndRestoresAudio() async throws {
        let endpoint = try await startEndpoint()
        let c = client(endpoint)
        try await c.connect()
        let call = try await c.call("9196", source: .tone(frequencies: [440], amplitude: 0.3))
        try await call.wait { $0 == .active }
        #expect(try await hears(call.media, 440))
        let firstSessid = try await c.sessid
        try await c.simulateConnectionLoss()
        _ = try await reached(call) { $0 == .recovering }
        try await call.wait(timeout: .seconds(20)) { $0 == .active }
        #expect(try await c.sessid == firstSessid)
        #expect(try await hears(call.media, 440), "echo restored after verto.attach")
        try await call.hangup()
        try await endpoint.stop()
    }

    @Test func secondConnectionWithTheSameSessidPuntsTheFirst() async throws {
        let endpoint = try await startEndpoint()
        let first = client(endpoint, sessid: "punt-test-sessid")
        try await first.connect()
        var events = first.events.makeAsyncIterator()
        let second = client(endpoint, sessid: "punt-test-sessid")
        try await second.connect()
        var punted = false
        while let e = await events.next() {
            if e == .punted { punted = true; break }
        }
        #expect(punted)
        try await second.disconnect()
        try await endpoint.stop()
    }

    @Test func demoUsersRefuseNonLoopback() async throws {
        var config = VertoEndpointConfiguration(users: .demo())
        config.host = "0.0.0.0"
        config.port = 0
        await #expect(throws: VertoEndpointError.demoUsersOnNonLoopback("0.0.0.0")) {
            _ = try await VertoEndpoint.start(configuration: config)
        }
    }
}

/// The first `count` digits of a media session's events, bounded in time.
func digits(_ events: AsyncStream<MediaEvent>, count: Int, timeout: Duration = .seconds(20)) async throws -> String {
    try await withThrowingTaskGroup(of: String.self) { group in
        group.addTask {
            var s = ""
            for await e in events { if case .dtmf(let d) = e { s += d; if s.count >= count { break } } }
            return s
        }
        group.addTask { try await Task.sleep(for: timeout); throw VertoPhoneError.timeout("digits") }
        let r = try await group.next()!
        group.cancelAll()
        return r
    }
}

@Suite(.serialized, .realTime) struct DTMFBothWaysTests {
    /// Client → server with verto.info is covered by EndToEndTests; here RFC 4733 both ways on an
    /// inbound call (our server's offer and our client's answer both carry telephone-event).
    @Test func rfc4733BothWays() async throws {
        let endpoint = try await startEndpoint()
        let c = client(endpoint, user: "1000")
        try await c.connect()
        var incoming = c.incomingCalls.makeAsyncIterator()
        let serverMedia = Task { try await nextEvent(endpoint) { e -> MediaSession? in
            if case .newWebRTCCall(_, let m) = e { return m } else { return nil }
        } }
        let callID = try await endpoint.call(user: "1000", source: .silence)
        let call = try #require(await incoming.next())
        try await call.answer()
        let server = try await serverMedia.value
        _ = try await listen(server, seconds: 0.2)
        // Client → server.
        let atServer = Task { try await digits(server.events, count: 5) }
        #expect(try await call.media.sendRFC4733("1234#"))
        #expect(try await atServer.value == "1234#")
        #expect(try await endpoint.collectedDigits(callID: callID) == "1234#")
        // Server → client.
        let atClient = Task { try await digits(call.media.events, count: 2) }
        #expect(try await server.sendRFC4733("9*"))
        #expect(try await atClient.value == "9*")
        try await call.hangup()
        try await endpoint.stop()
    }
}
