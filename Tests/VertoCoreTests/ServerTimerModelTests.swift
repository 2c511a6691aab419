import CoreSupport
import NIOCore
import Testing
@testable import VertoCore

/// The server core's timed work (login timeouts, idle pings, the cap on connections not logged in)
/// against a plain model, over random sequences of opens, logins, frames, closes and time steps:
/// after every step `nextDeadline()` is the model's earliest deadline, and every firing pings and
/// closes exactly the connections the model says, in order.
@Suite struct ServerTimerModelTests {
    struct Model {
        var opened: NIODeadline
        var authed = false
        var nextPing: NIODeadline
    }

    @Test(arguments: [1, 2, 3, 4, 5] as [UInt64]) func timersMatchAModel(seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        var config = VertoServerConfiguration()
        config.maxUnauthenticatedConnections = 8
        let loginTimeout = config.loginTimeout, pingInterval = config.idlePingInterval
        var s = VertoServerCore(configuration: config, random: .seeded(seed))
        var model: [VertoConnectionID: Model] = [:]
        var now = at(0)
        var requestID = 100
        func expectedDeadline() -> NIODeadline? {
            model.values.map { $0.authed ? $0.nextPing : $0.opened + loginTimeout }.min()
        }
        for step in 0..<4_000 {
            let roll = Int.random(in: 0..<100, using: &rng)
            let ids = model.keys.sorted()
            if roll < 12 || ids.isEmpty {
                let c = s.connectionOpened(now: now)
                model[c] = Model(opened: now, nextPing: now + pingInterval)
                let waiting = model.filter { !$0.value.authed }
                if waiting.count > config.maxUnauthenticatedConnections,
                   let oldest = waiting.min(by: { ($0.value.opened, $0.key) < ($1.value.opened, $1.key) }) {
                    model[oldest.key] = nil
                }
                _ = drain(&s)
            } else if roll < 25 {
                guard let c = ids.first(where: { model[$0]?.authed == false }) else { continue }
                requestID += 1
                s.receive(c, rpc(requestID, "login", ["login": "1008@d", "passwd": "pw", "sessid": .string("S\(c.rawValue)")]), now: now)
                guard case .authenticate(let req)? = drain(&s).events.first else {
                    Issue.record("step \(step): no authenticate event")
                    return
                }
                s.completeLogin(req, decision: .accept(VertoUser(id: "1008")), now: now)
                _ = drain(&s)
                model[c]?.authed = true
                model[c]?.nextPing = now + pingInterval
            } else if roll < 55 {
                guard let c = ids.filter({ model[$0]?.authed == true }).randomElement(using: &rng) else { continue }
                requestID += 1
                s.receive(c, rpc(requestID, "verto.ping", [:]), now: now)
                _ = drain(&s)
                model[c]?.nextPing = now + pingInterval
            } else if roll < 65 {
                guard let c = ids.randomElement(using: &rng) else { continue }
                s.connectionClosed(c, now: now)
                _ = drain(&s)
                model[c] = nil
            } else {
                now = now + .milliseconds(Int64.random(in: 0...6_000, using: &rng))
                guard let due = s.nextDeadline(), due <= now else { continue }
                s.handleTimeout(now: now)
                let out = drain(&s)
                let pinged = out.sent.filter { $0.1.objectValue?.string("method") == "verto.ping" }.map(\.0)
                let expectedClosed = model.filter { !$0.value.authed && $0.value.opened + loginTimeout <= now }.keys.sorted()
                let expectedPinged = model.filter { $0.value.authed && $0.value.nextPing <= now }.keys.sorted()
                #expect(out.closed == expectedClosed, "step \(step): closed")
                #expect(pinged == expectedPinged, "step \(step): pinged")
                for c in expectedClosed { model[c] = nil }
                for c in expectedPinged { model[c]?.nextPing = now + pingInterval }
            }
            #expect(s.nextDeadline() == expectedDeadline(), "step \(step): next deadline")
            if s.nextDeadline() != expectedDeadline() { return }
        }
    }
}
