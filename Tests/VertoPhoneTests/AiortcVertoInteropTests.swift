import Foundation
import MediaCore
import NIOCore
import Testing
import TestSupport
import VertoCore
@testable import VertoPhone

/// aiortc (an independent WebRTC stack) as a Verto peer, driven by our Python harnesses
/// (tools/interop/aiortc_verto_*.py): it logs in to our server role like verto.js and calls the
/// contract extensions; and our client role calls into an aiortc-backed Verto server.
@Suite(.serialized, .realTime) struct AiortcVertoInteropTests {
    @Test func aiortcClientCallsOurServer() async throws {
        let endpoint = try await startEndpoint()
        let peer = try PythonPeer(script: "aiortc_verto_client.py", arguments: [
            "--url", "ws://127.0.0.1:\(endpoint.port)/", "--login", "1001@127.0.0.1", "--password", "verto-test",
            "--tone", "660", "--max-seconds", "60"])
        let login = try await peer.call(["op": "login"])
        #expect(login["ok"] as? Bool == true)
        #expect(login["prelogin_code"] as? Int == -32000, "verto.js-style sessid-only login gets -32000 first")

        // 9196: our echo returns aiortc's 660 Hz.
        let echo = try await peer.call(["op": "call", "destination": "9196", "timeout": 20])
        let echoID = try #require(echo["callID"] as? String)
        let echoStats = try await peer.call(["op": "stats", "callID": echoID, "seconds": 0.5, "expect_hz": 660, "timeout": 20])
        #expect(abs((echoStats["dominant_hz"] as? Double ?? 0) - 660) < 5, "aiortc hears its echo: \(echoStats)")
        _ = try await peer.call(["op": "hold", "callID": echoID])
        _ = try await peer.call(["op": "unhold", "callID": echoID])
        _ = try await peer.call(["op": "hangup", "callID": echoID])

        // 9664: our 1 kHz tone.
        let tone = try await peer.call(["op": "call", "destination": "9664", "timeout": 20])
        let toneID = try #require(tone["callID"] as? String)
        let toneStats = try await peer.call(["op": "stats", "callID": toneID, "seconds": 0.5, "expect_hz": 1000, "timeout": 20])
        #expect(abs((toneStats["dominant_hz"] as? Double ?? 0) - 1000) < 5, "aiortc hears 1 kHz: \(toneStats)")
        _ = try await peer.call(["op": "hangup", "callID": toneID])

        // 9197: DTMF collected exactly.
        let dtmf = try await peer.call(["op": "call", "destination": "9197", "timeout": 20])
        let dtmfID = try #require(dtmf["callID"] as? String)
        _ = try await peer.call(["op": "dtmf", "callID": dtmfID, "digits": "1234#"])
        #expect(try await endpoint.collectedDigits(callID: dtmfID) == "1234#")
        _ = try await peer.call(["op": "hangup", "callID": dtmfID])

        // Our server calls the aiortc client (inbound for it).
        let callID = try await endpoint.call(user: "1001", callerIDNumber: "9000")
        let incoming = try await peer.call(["op": "wait_incoming", "timeout": 20])
        #expect(incoming["callID"] as? String == callID)
        #expect(incoming["caller_id_number"] as? String == "9000")
        _ = try await peer.call(["op": "answer", "callID": callID])
        let inStats = try await peer.call(["op": "stats", "callID": callID, "seconds": 0.5, "expect_hz": 1000, "timeout": 20])
        #expect(abs((inStats["dominant_hz"] as? Double ?? 0) - 1000) < 5, "aiortc hears our tone on the inbound call")
        try await endpoint.hangup(callID: callID)
        let bye = try await peer.call(["op": "wait_bye", "callID": callID, "timeout": 20])
        #expect(bye["causeCode"] as? Int == 16)
        await peer.close()
        try await endpoint.stop()
    }

    @Test func ourClientCallsAnAiortcServer() async throws {
        let server = try PythonPeer(script: "aiortc_verto_server.py", arguments: [
            "--port", "0", "--tone", "660", "--users", "1000:pw1000,1001:pw1001", "--max-seconds", "60"])
        let banner = try await server.next()
        let port = try #require(banner["listening"] as? Int)
        var o = VertoClientOptions(url: "ws://127.0.0.1:\(port)/", login: "1001@127.0.0.1", password: "pw1001")
        o.mediaHost = "127.0.0.1"
        o.callerIDNumber = "1001"

        let wrong = VertoClient(options: { var w = o; w.password = "nope"; w.autoReconnect = false; return w }())
        await #expect(throws: VertoPhoneError.self) { try await wrong.connect(timeout: .seconds(15)) }

        let client = VertoClient(options: o)
        try await client.connect()
        // Echo: aiortc sends our 440 Hz back.
        let call = try await client.call("9196", source: .tone(frequencies: [440], amplitude: 0.3))
        try await call.wait { $0 == .active }
        #expect(try await hears(call.media, 440), "we hear our 440 Hz echoed by aiortc")
        let heard = try await server.call(["op": "stats", "callID": call.callID, "seconds": 0.5, "expect_hz": 440, "timeout": 20])
        #expect(abs((heard["dominant_hz"] as? Double ?? 0) - 440) < 5, "aiortc hears our 440 Hz: \(heard)")
        try await call.sendDTMF("1234#")
        try await call.hold()
        #expect(call.state == .held)
        try await call.unhold()
        try await call.hangup()
        let calls = try await server.call(["op": "calls"])
        let list = try #require(calls["calls"] as? [[String: Any]])
        #expect(list.first { $0["callID"] as? String == call.callID }?["digits"] as? String == "1234#")

        // Early media from aiortc (9198): SDP in verto.media, answer without SDP.
        let early = try await client.call("9198", source: .tone(frequencies: [440], amplitude: 0.3))
        _ = try await reached(early) { $0 == .early }
        try await early.wait(timeout: .seconds(15)) { $0 == .active }
        #expect(try await hears(early.media, 440), "echo from aiortc after early media")
        try await early.hangup()

        // Inbound from the aiortc server; we answer.
        var incoming = client.incomingCalls.makeAsyncIterator()
        let invite = try await server.call(["op": "invite", "login": "1001", "caller_id_number": "9000", "fs_style": true])
        let inbound = try #require(await incoming.next())
        #expect(inbound.callID == invite["callID"] as? String)
        inbound.media.setSource(.tone(frequencies: [440], amplitude: 0.3))
        try await inbound.answer()
        #expect(try await hears(inbound.media, 660), "we hear the aiortc server's 660 Hz")
        try await inbound.hangup()
        try await client.disconnect()
        await server.close()
    }
}
