import Foundation
import NIOCore
import Testing
import TestSupport
import VertoCore
@testable import VertoPhone

/// The scenarios of docs/testing.md §5, written once against `TestTarget` and run by the suites against
/// FreeSWITCH (opt-in) and against our own server (every build). Users: signalling scenarios log in
/// as the third user (1002); call scenarios use the first two (1000 callee, 1001 caller), so the
/// two groups can run side by side on one FreeSWITCH without one's invites reaching the other.
enum Scenarios {
    // MARK: - signalling

    static func loginOverWS(_ s: Scope) async throws {
        let c = s.client(s.target.users[2])
        try await c.connect()
        let sessid = try await c.sessid
        #expect(!sessid.isEmpty, "the server confirmed a session id")
    }

    static func loginOverWSS(_ s: Scope) async throws {
        let url = try #require(s.target.wssURL, "\(s.target.name) has no wss URL")
        let c = s.client(s.target.users[2], url: url)
        try await c.connect()
        #expect(!(try await c.sessid).isEmpty)
    }

    /// The engine reports the refusal; on the wire it is `-32001`.
    static func wrongPassword(_ s: Scope) async throws {
        let user = s.target.users[2]
        let c = s.client(user, password: "not-\(s.target.password)")
        await #expect(throws: VertoPhoneError.self) { try await c.connect(timeout: .seconds(5)) }

        let raw = try await RawVertoSocket.connect(s.target.url)
        defer { raw.close() }
        raw.request(id: 1, method: "login", params: [
            "login": .string("\(user)@\(s.target.domain)"), "passwd": .string("not-\(s.target.password)"),
            "sessid": .string(UUID().uuidString.lowercased()),
        ])
        let reply = try await raw.reply(to: 1)
        #expect(reply.errorCode == VertoErrorCode.authFailed, "wrong password → -32001, got \(reply)")
    }

    /// Any method before login → `-32000`.
    static func methodBeforeLogin(_ s: Scope) async throws {
        let raw = try await RawVertoSocket.connect(s.target.url)
        defer { raw.close() }
        let callID = UUID().uuidString.lowercased()
        raw.request(id: 7, method: "verto.invite", params: [
            "sessid": .string(UUID().uuidString.lowercased()),
            "sdp": "v=0\r\n",
            "dialogParams": .object(["callID": .string(callID), "destination_number": "9196"]),
        ])
        let reply = try await raw.reply(to: 7)
        #expect(reply.errorCode == VertoErrorCode.authRequired, "method before login → -32000, got \(reply)")
    }

    /// A logged-in client that stays silent gets `verto.ping` from the server (after 30 s on
    /// FreeSWITCH); it answers as verto.js does and the connection stays usable.
    static func serverPingsASilentClient(_ s: Scope) async throws {
        let raw = try await RawVertoSocket.connect(s.target.url)
        defer { raw.close() }
        raw.request(id: 1, method: "login", params: [
            "login": .string("\(s.target.users[2])@\(s.target.domain)"), "passwd": .string(s.target.password),
            "sessid": .string(UUID().uuidString.lowercased()),
        ])
        let login = try await raw.reply(to: 1)
        #expect(login.result != nil, "logged in: \(login)")
        let started = ContinuousClock.now
        let ping = try await raw.next(timeout: s.target.idlePingInterval + .seconds(15), "verto.ping") {
            $0["method"]?.stringValue == "verto.ping"
        }
        let waited = ContinuousClock.now - started
        #expect(waited >= s.target.idlePingInterval - .seconds(2), "the ping came after the client's silence, not before (\(waited))")
        #expect(ping["params"]?.objectValue?["serno"] != nil, "verto.ping carries serno")
        if let id = ping["id"] {
            raw.send(.object(["jsonrpc": "2.0", "id": id, "result": .object(["method": "verto.ping"])]))
        }
        raw.request(id: 2, method: "verto.ping", params: [:])
        let pong = try await raw.reply(to: 2)
        #expect(pong.result != nil, "the connection is still usable after the ping: \(pong)")
    }

    // MARK: - the extensions

    /// 9196: our 440 Hz tone comes back.
    static func echo(_ s: Scope) async throws {
        let c = s.client(s.target.users[1])
        try await c.connect()
        let call = try await c.call("9196", source: .tone(frequencies: [440], amplitude: 0.3))
        #expect(try await call.wait { $0 == .active } == .active)
        #expect(try await hear(440, on: call.media) == 440, "echo of our 440 Hz tone")
        let stats = try #require(try await call.media.stats())
        #expect(stats.codec == "opus")
        try await call.hangup()
        #expect(call.state == .ended(.normalClearing))
    }

    /// ICE restart on 9196: `restartICE()` offers a new peer (new ICE credentials, a new socket, a
    /// new DTLS association) with `verto.modify` `updateMedia`; the server answers, the call keeps
    /// its id and objects, and the echo comes back on the new path (the old socket is closed).
    static func iceRestart(_ s: Scope) async throws {
        let c = s.client(s.target.users[1])
        try await c.connect()
        let call = try await c.call("9196", source: .tone(frequencies: [440], amplitude: 0.3))
        #expect(try await call.wait { $0 == .active } == .active)
        #expect(try await hear(440, on: call.media) == 440, "echo before the restart")
        let before = try await c.eventLoop.submit { call.media.peer?.localAddress.port }.get()
        try await call.restartICE()
        let after = try await c.eventLoop.submit { call.media.peer?.localAddress.port }.get()
        #expect(before != nil && after != nil && before != after, "a new media socket: \(String(describing: before)) → \(String(describing: after))")
        #expect(call.state == .active)
        #expect(try await hear(440, on: call.media) == 440, "echo on the new path")
        try await call.hangup()
        #expect(call.state == .ended(.normalClearing))
    }

    /// 9196 through a TURN relay (coturn on loopback, started here), relay-only over UDP and TLS:
    /// the target sees only the relayed candidate and answers checks arriving through it.
    static func echoThroughTURN(_ s: Scope) async throws {
        let coturn = try await Coturn.start()
        defer { coturn.stop() }
        for (url, transport) in [("turn:127.0.0.1:\(coturn.port)", "udp"), ("turns:127.0.0.1:\(coturn.tlsPort)", "tls")] {
            let c = s.client(s.target.users[1]) {
                $0.iceServers = [ICEServer(url, username: coturn.user, credential: coturn.password)]
                $0.iceTransportPolicy = .relay
                $0.trust = .customCA(pem: coturn.certificatePEM)
            }
            try await c.connect()
            let call = try await c.call("9196", source: .tone(frequencies: [440], amplitude: 0.3))
            #expect(try await call.wait { $0 == .active } == .active)
            #expect(try await hear(440, on: call.media) == 440, "echo through the \(transport) relay")
            let pair = try await call.media.stats()?.candidatePair
            #expect(pair == "relay/\(transport) ↔ host", "\(String(describing: pair))")
            try await call.hangup()
            try await c.disconnect()
        }
    }

    /// 9664: a 1 kHz tone.
    static func tone(_ s: Scope) async throws {
        let c = s.client(s.target.users[1])
        try await c.connect()
        let call = try await c.call("9664")
        #expect(try await call.wait { $0 == .active } == .active)
        #expect(try await hear(1000, on: call.media) == 1000)
        try await call.hangup()
    }

    /// 9197: `1234#` sent with `verto.info` is collected exactly.
    static func dtmf(_ s: Scope) async throws {
        let c = s.client(s.target.users[1])
        try await c.connect()
        let call = try await c.call("9197")
        #expect(try await call.wait { $0 == .active } == .active)
        try await call.sendDTMF("1234#")
        var digits: String?
        let deadline = ContinuousClock.now + .seconds(10)
        while digits != "1234#", ContinuousClock.now < deadline {
            digits = try await s.target.collectedDTMF(callID: call.callID)
            if digits != "1234#" { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(digits == "1234#")
        try await call.hangup()
    }

    /// 9198: early media (`verto.media` with SDP) carrying a ringback tone (any frequency), then the
    /// answer (without SDP) and the echo of our 660 Hz tone instead of the ringback.
    static func earlyMedia(_ s: Scope) async throws {
        let c = s.client(s.target.users[1])
        try await c.connect()
        // Everything received before the answer is kept: the ringback must dominate some 0.5 s of it.
        try await recordFromEarlyMedia(c)
        let call = try await c.call("9198", source: .tone(frequencies: [660], amplitude: 0.3))
        #expect(try await reached(call) { $0 == .early || $0 == .active } == .early, "verto.media before verto.answer")
        #expect(try await call.wait(timeout: .seconds(15)) { $0 == .active } == .active)
        let beforeAnswer = try await call.media.stopRecording()
        let ringback = steadyTone(in: beforeAnswer, rate: try await call.media.stats()?.sampleRate ?? 48_000)
        #expect(ringback != nil, "a ringback tone during early media: \(windowReport(beforeAnswer))")
        #expect(try await hear(660, on: call.media) == 660, "the echo, not the ringback, after the answer")
        try await call.hangup()
    }

    /// 9195: about 2 s without any answer or early media, then the answer and the echo.
    static func ringThenAnswer(_ s: Scope) async throws {
        let c = s.client(s.target.users[1])
        try await c.connect()
        let started = ContinuousClock.now
        let call = try await c.call("9195", source: .tone(frequencies: [440], amplitude: 0.3))
        let state = try await call.wait(timeout: .seconds(15)) { $0 == .early || $0 == .active }
        let ringing = ContinuousClock.now - started
        #expect(state == .active, "answered without early media")
        #expect(ringing >= .milliseconds(1500), "rang about 2 s before the answer (\(ringing))")
        #expect(try await hear(440, on: call.media) == 440)
        try await call.hangup()
    }

    /// 9199: the server hangs up after about 3 s with NORMAL_CLEARING.
    static func serverHangsUp(_ s: Scope) async throws {
        let c = s.client(s.target.users[1])
        try await c.connect()
        let call = try await c.call("9199")
        #expect(try await call.wait { $0 == .active } == .active)
        let answered = ContinuousClock.now
        let end = try await call.wait(timeout: .seconds(8)) { $0.isEnded }
        #expect(end == .ended(.normalClearing))
        #expect(ContinuousClock.now - answered >= .seconds(2), "hung up about 3 s after the answer")
    }

    /// 3000: two of our clients in the room, each hearing the other's tone.
    static func conference(_ s: Scope) async throws {
        let a = s.client(s.target.users[1])
        let b = s.client(s.target.users[0])
        try await a.connect()
        try await b.connect()
        let ca = try await a.call("3000", source: .tone(frequencies: [440], amplitude: 0.3))
        let cb = try await b.call("3000", source: .tone(frequencies: [660], amplitude: 0.3))
        #expect(try await ca.wait { $0 == .active } == .active)
        #expect(try await cb.wait { $0 == .active } == .active)
        #expect(try await hear(660, on: ca.media) == 660, "A hears B in the room")
        #expect(try await hear(440, on: cb.media) == 440, "B hears A in the room")
        try await ca.hangup()
        try await cb.hangup()
    }

    // MARK: - calls to the client, bridges, call control

    /// A call originated by the server to a logged-in user (FreeSWITCH: event socket
    /// `originate user/1000@DOMAIN &echo`; ours: `VertoEndpoint.call(user:)`), answered, and our
    /// 440 Hz tone echoed back.
    static func inboundCall(_ s: Scope) async throws {
        let user = s.target.users[0]
        let c = s.client(user)
        try await c.connect()
        let serverID = try await s.target.originateEcho(toUser: user)
        let call = try await nextIncomingCall(c)
        #expect(call.direction == .inbound)
        #expect(call.remoteNumber == "9000", "caller id of the originate")
        if s.target.originatedCallIDIsKnown { #expect(call.callID == serverID) }
        call.media.setSource(.tone(frequencies: [440], amplitude: 0.3))
        try await call.answer()
        #expect(call.state == .active)
        #expect(try await hear(440, on: call.media) == 440, "the server's leg echoes us")
        try await call.hangup()
        try? await s.target.hangup(callID: serverID)
    }

    /// 1001 calls 1000 through the server; each hears the other's tone.
    static func bridge(_ s: Scope) async throws {
        let (callee, caller) = (s.target.users[0], s.target.users[1])
        let b = s.client(callee)
        let a = s.client(caller)
        try await b.connect()
        try await a.connect()
        let ca = try await a.call(callee, source: .tone(frequencies: [440], amplitude: 0.3))
        let cb = try await nextIncomingCall(b)
        #expect(cb.remoteNumber == caller, "the callee sees the caller's number")
        cb.media.setSource(.tone(frequencies: [660], amplitude: 0.3))
        try await cb.answer()
        #expect(try await ca.wait { $0 == .active } == .active)
        #expect(try await hear(660, on: ca.media) == 660, "caller hears callee")
        #expect(try await hear(440, on: cb.media) == 440, "callee hears caller")
        try await ca.hangup()
        let end = try await cb.wait { $0.isEnded }
        #expect(end.isEnded, "the bridge's other leg ends too")
    }

    /// Hold (`verto.modify hold` → held, the echo stops) and unhold (→ active, the echo is back).
    static func holdAndUnhold(_ s: Scope) async throws {
        let c = s.client(s.target.users[1])
        try await c.connect()
        let call = try await c.call("9196", source: .tone(frequencies: [440], amplitude: 0.3))
        #expect(try await call.wait { $0 == .active } == .active)
        #expect(try await hear(440, on: call.media) == 440)
        try await call.hold()
        #expect(call.state == .held)
        #expect(try await stops(440, on: call.media), "no echo while held")
        try await call.unhold()
        #expect(call.state == .active)
        #expect(try await hear(440, on: call.media) == 440, "echo back after unhold")
        try await call.hangup()
    }

    /// 1001 calls 1000, then blind-transfers its partner (1000) to 9664: 1001's leg ends and 1000
    /// now hears the 1 kHz tone.
    static func blindTransfer(_ s: Scope) async throws {
        let (callee, caller) = (s.target.users[0], s.target.users[1])
        let b = s.client(callee)
        let a = s.client(caller)
        try await b.connect()
        try await a.connect()
        let ca = try await a.call(callee, source: .tone(frequencies: [440], amplitude: 0.3))
        let cb = try await nextIncomingCall(b)
        try await cb.answer()
        #expect(try await ca.wait { $0 == .active } == .active)
        #expect(try await hear(440, on: cb.media) == 440, "bridged before the transfer")
        try await ca.transfer(to: "9664")
        let endA = try await ca.wait(timeout: .seconds(8)) { $0.isEnded }
        #expect(endA.isEnded, "the transferring leg is released")
        #expect(try await hear(1000, on: cb.media) == 1000, "the partner now hears 9664's tone")
        #expect(!cb.state.isEnded)
        try await cb.hangup()
    }

    /// The WebSocket drops mid-call; the client logs in again with the same sessid, the server
    /// re-offers the call (`verto.attach`), and the echo is heard again.
    static func reconnectReattaches(_ s: Scope) async throws {
        let c = s.client(s.target.users[1])
        try await c.connect()
        let call = try await c.call("9196", source: .tone(frequencies: [440], amplitude: 0.3))
        #expect(try await call.wait { $0 == .active } == .active)
        #expect(try await hear(440, on: call.media) == 440)
        let sessid = try await c.sessid
        try await c.simulateConnectionLoss()
        #expect(try await reached(call) { $0 == .recovering } == .recovering)
        #expect(try await call.wait(timeout: .seconds(15)) { $0 == .active } == .active)
        #expect(try await c.sessid == sessid, "same session id after the reconnect")
        let callID = call.callID
        let reattached = try await within(.seconds(15), "the reattached event") {
            for await e in c.events where e == .reattached(callID: callID) { return true }
            return false
        }
        #expect(reattached, "verto.attach for the call")
        #expect(try await hear(440, on: call.media) == 440, "echo after verto.attach")
        try await call.hangup()
    }
}
