import CoreSupport
import NIOCore
import Testing
@testable import VertoCore

/// Our client session against our server core through an in-memory "socket", in virtual time.
/// (Agreement between two halves written together proves little on its own; the transcripts pin
/// each half to the protocol document. This checks that the halves compose: reconnect, re-attach.)
struct Loop {
    var client: VertoClientSession
    var server = VertoServerCore(random: .seeded(21))
    var conn: VertoConnectionID?
    var now = at(0)
    var clientEvents: [VertoClientEvent] = []
    var serverEvents: [VertoServerEvent] = []
    var accept = true
    var clientMethods: [String] = []
    var serverMethods: [String] = []

    init() {
        var cfg = VertoClientConfiguration(login: "1008@example.test", password: "pw")
        cfg.reconnectJitter = 0
        client = VertoClientSession(configuration: cfg, random: .seeded(20))
    }

    /// Moves messages both ways until both sides are quiet.
    mutating func pump() {
        var progress = true
        while progress {
            progress = false
            while let o = client.pollOutput() {
                progress = true
                switch o {
                case .connect:
                    conn = server.connectionOpened(now: now)
                    client.transportConnected(now: now)
                case .send(let text):
                    if let m = (try? JSONCodec.parse(text))?.objectValue?.string("method") { clientMethods.append(m) }
                    if let c = conn { server.receive(c, text, now: now) }
                case .close:
                    if let c = conn { server.connectionClosed(c, now: now) }
                    conn = nil
                case .event(let e): clientEvents.append(e)
                }
            }
            while let o = server.pollOutput() {
                progress = true
                switch o {
                case .send(let c, let text):
                    if let m = (try? JSONCodec.parse(text))?.objectValue?.string("method") { serverMethods.append(m) }
                    if c == conn { client.receive(text, now: now) }
                case .close(let c):
                    if c == conn {
                        conn = nil
                        client.transportClosed(now: now)
                    }
                case .event(let e):
                    serverEvents.append(e)
                    if case .authenticate(let r) = e {
                        server.completeLogin(r, decision: accept ? .accept(VertoUser(id: "1008")) : .reject(message: "Authentication Failure"), now: now)
                    }
                    if case .reattachNeeded(let callID, _) = e { try? server.reattach(callID: callID, sdp: "v=0 fresh offer", now: now) }
                }
            }
        }
    }

    mutating func advance(to t: NIODeadline) {
        now = t
        client.handleTimeout(now: now)
        server.handleTimeout(now: now)
        pump()
    }

    /// The network drops the socket without close frames on either side.
    mutating func dropSocket() {
        if let c = conn { server.connectionClosed(c, now: now) }
        conn = nil
        client.transportClosed(now: now)
        pump()
    }
}

@Suite struct ClientServerLoopTests {
    @Test func callSurvivesAReconnectWithinTheDetachTimeout() throws {
        var l = Loop()
        l.client.start(now: l.now)
        l.pump()
        #expect(l.client.isLoggedIn)
        #expect(l.clientEvents.contains(.ready(reattachedCalls: [], endedCalls: [])))
        let callID = try l.client.invite(sdp: "v=0 offer", dialogParams: DialogParams(callID: "", destinationNumber: "9196"), now: l.now)
        l.pump()
        try l.server.answer(callID: callID, sdp: "v=0 answer", now: l.now)
        l.pump()
        #expect(l.client.dialog(callID)?.state == .active)
        #expect(l.server.dialog(callID)?.state == .active)

        l.advance(to: at(10_000))
        l.dropSocket()
        #expect(l.server.dialog(callID)?.state == .recovering)
        #expect(l.client.dialog(callID)?.state == .recovering)
        l.advance(to: at(11_000))  // backoff 1 s → reconnect, login with the same sessid
        #expect(l.client.isLoggedIn)
        #expect(l.clientEvents.contains { if case .reattachOffer(let o) = $0 { return o.callID == callID && o.sdp == "v=0 fresh offer" } else { return false } })
        #expect(l.clientEvents.contains(.ready(reattachedCalls: [callID], endedCalls: [])))
        try l.client.attach(callID: callID, sdp: "v=0 re-answer", now: l.now)
        l.pump()
        #expect(l.client.dialog(callID)?.state == .active)
        #expect(l.server.dialog(callID)?.state == .active)
        #expect(l.serverEvents.contains(.callReattached(callID: callID, sdp: "v=0 re-answer")))
    }

    @Test func callIsGoneAfterTheDetachTimeoutAndTheClientReconciles() throws {
        var l = Loop()
        l.client.start(now: l.now)
        l.pump()
        let callID = try l.client.invite(sdp: "v=0 offer", dialogParams: DialogParams(callID: ""), now: l.now)
        l.pump()
        try l.server.answer(callID: callID, sdp: "v=0 answer", now: l.now)
        l.pump()
        // The server side goes away for longer than 120 s: the client cannot connect meanwhile.
        l.dropSocket()
        var t: Int64 = 0
        while t < 130_000 {
            t += 500
            l.now = at(t)
            l.server.handleTimeout(now: l.now)
            l.client.handleTimeout(now: l.now)
            while let o = l.client.pollOutput() {
                if case .connect = o { l.client.transportClosed(now: l.now) }  // connection refused
                if case .event(let e) = o { l.clientEvents.append(e) }
            }
            while let o = l.server.pollOutput() { if case .event(let e) = o { l.serverEvents.append(e) } }
        }
        #expect(l.serverEvents.contains(.callEnded(callID: callID, cause: .recoveryOnTimerExpire, reason: .detachTimeout)))
        // Now the network is back: the next attempt logs in and clientReady lists nothing.
        l.advance(to: l.client.nextDeadline()!)
        #expect(l.client.isLoggedIn)
        #expect(l.clientEvents.contains(.ready(reattachedCalls: [], endedCalls: [callID])))
        #expect(l.client.dialog(callID) == nil)
    }

    @Test func clientKeepaliveKeepsTheServerFromPinging() {
        var l = Loop()
        l.client.start(now: l.now)
        l.pump()
        // Client keepalive (20 s) fires before the server's 30 s silence timer: no server ping ever.
        for s in stride(from: 1, through: 120, by: 1) { l.advance(to: at(Int64(s) * 1000)) }
        #expect(l.client.isLoggedIn)
        #expect(!l.clientEvents.contains(.keepaliveFailed))
        #expect(l.clientMethods.filter { $0 == "verto.ping" }.count == 6)  // t = 20, 40, … 120 s
        #expect(!l.serverMethods.contains("verto.ping"))
    }

    @Test func aSilentClientIsPingedByTheServerAndAnswers() {
        var l = Loop()
        l.client = VertoClientSession(configuration: {
            var cfg = VertoClientConfiguration(login: "1008@example.test", password: "pw")
            cfg.keepaliveInterval = .seconds(3600)
            return cfg
        }(), random: .seeded(20))
        l.client.start(now: l.now)
        l.pump()
        for s in stride(from: 1, through: 65, by: 1) { l.advance(to: at(Int64(s) * 1000)) }
        #expect(l.serverMethods.filter { $0 == "verto.ping" }.count == 2)  // t = 30 s, 60 s
        #expect(l.client.isLoggedIn)
    }

    @Test func wrongPasswordStopsTheClient() {
        var l = Loop()
        l.accept = false
        l.client.start(now: l.now)
        l.pump()
        #expect(l.clientEvents.contains(.loginFailed(.authenticationFailed(code: -32001, message: "Authentication Failure"))))
        #expect(!l.client.isLoggedIn)
        #expect(l.client.nextDeadline() == nil)
    }

    @Test func reloginOnTheOpenSocketKeepsTheSessionAndGetsClientReadyAgain() throws {
        var l = Loop()
        l.client.start(now: l.now)
        l.pump()
        let sessid = l.client.sessid
        l.clientEvents.removeAll()
        try l.client.refreshLogin(now: at(1000))
        l.now = at(1000)
        l.pump()
        #expect(l.client.isLoggedIn)
        #expect(l.client.sessid == sessid)
        #expect(l.clientEvents.contains { caseName($0) == "loggedIn" })
        #expect(l.clientEvents.contains(.ready(reattachedCalls: [], endedCalls: [])))
        #expect(l.serverEvents.filter { caseName($0) == "loggedIn" }.count == 2)
        #expect(l.server.openConnections.count == 1)
    }
}
