import Foundation
import Testing
import TestSupport
import VertoCore
@testable import VertoPhone

/// A call to a user rings every session the user is logged in with (FreeSWITCH rings every
/// registration): the first to answer is bridged, the others get `verto.bye` with LOSE_RACE, and
/// sessions that never answer (stale ones) hold nothing up.
@Suite(.serialized, .realTime) struct ForkingTests {
    /// `count` sessions of user 1000 that never answer, on raw sockets.
    func staleSessions(_ endpoint: VertoEndpoint, _ count: Int) async throws -> [RawVertoSocket] {
        var sockets: [RawVertoSocket] = []
        for i in 0..<count {
            let ws = try await RawVertoSocket.connect("ws://127.0.0.1:\(endpoint.port)/")
            ws.request(id: 1, method: "login", params: ["login": "1000@127.0.0.1", "passwd": "verto-test", "sessid": .string("stale-session-\(i)")])
            #expect(try await ws.reply(to: 1).object("result") != nil)
            sockets.append(ws)
        }
        return sockets
    }

    @Test(arguments: [1, 2])
    func everySessionRingsAndTheFirstAnswerWins(staleCount: Int) async throws {
        let endpoint = try await startEndpoint()
        let stale = try await staleSessions(endpoint, staleCount)
        let live = client(endpoint, user: "1000")
        try await live.connect()
        let caller = client(endpoint, user: "1001")
        try await caller.connect()
        var incoming = live.incomingCalls.makeAsyncIterator()
        async let placed = caller.call("1000", source: .tone(frequencies: [440], amplitude: 0.3))

        // Every stale session is offered the call too, each its own leg.
        var staleLegs: [String] = []
        for ws in stale {
            let invite = try await ws.next("verto.invite") { $0.string("method") == "verto.invite" }
            staleLegs.append(try #require(invite.object("params")?.string("callID")))
        }
        let callB = try #require(await incoming.next())
        #expect(!staleLegs.contains(callB.callID))
        callB.media.setSource(.tone(frequencies: [660], amplitude: 0.3))
        try await callB.answer()
        let callA = try await placed
        try await callA.wait { $0 == .active }
        #expect(try await hears(callA.media, 660), "the caller hears the session that answered")
        #expect(try await hears(callB.media, 440))
        // The legs that lost the race are ended with LOSE_RACE (502).
        for (ws, leg) in zip(stale, staleLegs) {
            let bye = try await ws.next("verto.bye for the losing leg") { $0.string("method") == "verto.bye" }.object("params")
            #expect(bye?.string("callID") == leg)
            #expect(bye?.int("causeCode") == 502 && bye?.string("cause") == "LOSE_RACE", "\(String(describing: bye))")
        }
        try await callA.hangup()
        #expect(try await callB.wait { $0.isEnded } == .ended(.normalClearing))
        for ws in stale { ws.close() }
        try await caller.disconnect()
        try await live.disconnect()
        try await endpoint.stop()
    }

    /// The caller hangs up while every session still rings: each leg is cancelled
    /// (ORIGINATOR_CANCEL, 487).
    @Test func theCallerHangingUpCancelsEveryLeg() async throws {
        let endpoint = try await startEndpoint()
        let stale = try await staleSessions(endpoint, 2)
        let caller = client(endpoint, user: "1001")
        try await caller.connect()
        let callA = try await caller.call("1000")
        for ws in stale { _ = try await ws.next("verto.invite") { $0.string("method") == "verto.invite" } }
        try await callA.hangup()
        for ws in stale {
            let bye = try await ws.next("verto.bye") { $0.string("method") == "verto.bye" }.object("params")
            #expect(bye?.int("causeCode") == 487, "\(String(describing: bye))")
            ws.close()
        }
        try await caller.disconnect()
        try await endpoint.stop()
    }

    /// Every leg failing fails the caller: both sessions reject, the caller's call ends with the
    /// last leg's cause.
    @Test func whenEveryLegFailsTheCallerFails() async throws {
        let endpoint = try await startEndpoint()
        let stale = try await staleSessions(endpoint, 2)
        let caller = client(endpoint, user: "1001")
        try await caller.connect()
        let callA = try await caller.call("1000")
        var legs: [String] = []
        for ws in stale {
            let invite = try await ws.next("verto.invite") { $0.string("method") == "verto.invite" }
            legs.append(try #require(invite.object("params")?.string("callID")))
        }
        for (i, (ws, leg)) in zip(stale, legs).enumerated() {
            ws.request(id: 10 + i, method: "verto.bye", params: ["dialogParams": ["callID": .string(leg)], "cause": "USER_BUSY", "causeCode": 17])
        }
        let end = try await callA.wait(timeout: .seconds(20)) { $0.isEnded }
        #expect(end == .ended(.userBusy), "\(end)")
        for ws in stale { ws.close() }
        try await caller.disconnect()
        try await endpoint.stop()
    }

    /// The per-session bookkeeping of users goes with the session: twenty logins and logouts
    /// leave nothing behind, and a punted session's close does not forget the session that punted it.
    @Test func sessionBookkeepingIsReleased() async throws {
        let endpoint = try await startEndpoint()
        for i in 0..<20 {
            let ws = try await RawVertoSocket.connect("ws://127.0.0.1:\(endpoint.port)/")
            ws.request(id: 1, method: "login", params: ["login": "1000@127.0.0.1", "passwd": "verto-test", "sessid": .string("short-lived-\(i)")])
            _ = try await ws.reply(to: 1)
            ws.close()
        }
        let first = try await RawVertoSocket.connect("ws://127.0.0.1:\(endpoint.port)/")
        first.request(id: 1, method: "login", params: ["login": "1000@127.0.0.1", "passwd": "verto-test", "sessid": "kept-session"])
        _ = try await first.reply(to: 1)
        let second = try await RawVertoSocket.connect("ws://127.0.0.1:\(endpoint.port)/")
        second.request(id: 1, method: "login", params: ["login": "1000@127.0.0.1", "passwd": "verto-test", "sessid": "kept-session"])
        _ = try await second.reply(to: 1)
        #expect(try await first.closed(within: .seconds(20)), "the first connection is punted")
        let left = try await within(.seconds(20), "the closed sessions forgotten") {
            while true {
                let users = try await endpoint.eventLoop.submit { endpoint.state.value.userOfSessid }.get()
                if users.count == 1 { return users }
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        #expect(left == ["kept-session": "1000"], "only the live session remains")
        second.close()
        try await endpoint.stop()
    }
}
