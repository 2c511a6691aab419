import CallCore
import CoreSupport
import NIOCore
import Testing
import VertoCore

/// The server role's call control in virtual time: the contract's applications and their timers,
/// bridges, forking, transfers and hang-up cascades, each in microseconds of test time. A small
/// stand-in shell completes the media steps at once (`prepareAnswer` → `mediaReady`,
/// `offerLeg` → `legOffered`) and records every other action.
struct Harness {
    var control = ServerCallControl(routing: .testContract, random: .seeded(7))
    let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
    var now: NIODeadline
    /// Everything the shell was asked to do, in order (media steps included).
    var actions: [ServerCallAction] = []
    /// Legs offered to each session.
    var offered: [LegOffer] = []

    init() { now = start }

    /// Users logged in: `sessions` sessions per user id.
    mutating func login(_ user: String, sessions: Int = 1) {
        for i in 0..<sessions { control.sessionLoggedIn(sessid: "\(user)-s\(i)", user: user) }
    }

    @discardableResult
    mutating func run() -> [ServerCallAction] {
        var out: [ServerCallAction] = []
        while let a = control.pollAction() {
            out.append(a)
            switch a {
            case .prepareAnswer(let id): control.mediaReady(callID: id, now: now)
            case .offerLeg(let o):
                offered.append(o)
                control.legOffered(callID: o.callID)
            default: break
            }
        }
        actions += out
        return out
    }

    /// A client's call (callID `id`) from `user`'s first session.
    @discardableResult
    mutating func call(_ id: String, from user: String, to destination: String, usable: Bool = true) -> [ServerCallAction] {
        control.callFromClient(callID: id, sessid: "\(user)-s0", destination: destination, callerIDNumber: user,
                               callerIDName: "User \(user)", offerIsUsable: usable, now: now)
        return run()
    }

    /// Moves the clock to `seconds` after the start, firing what is due on the way.
    @discardableResult
    mutating func advance(to seconds: Double) -> [ServerCallAction] {
        let target = start + .nanoseconds(Int64(seconds * 1e9))
        var out: [ServerCallAction] = []
        while let d = control.nextDeadline(), d <= target {
            now = d
            control.handleTimeout(now: now)
            out += run()
        }
        now = target
        return out
    }

    var virtualSeconds: Double { Double((now - start).nanoseconds) / 1e9 }
}

private func answers(_ a: [ServerCallAction]) -> [ServerCallAction] { a.filter { if case .answer = $0 { true } else { false } } }
private func hangups(_ a: [ServerCallAction]) -> [ServerCallAction] { a.filter { if case .hangup = $0 { true } else { false } } }
private func ends(_ a: [ServerCallAction]) -> [String: HangupCause] {
    var out: [String: HangupCause] = [:]
    for case .notice(.ended(let id, let cause)) in a { out[id] = cause }
    return out
}

@Suite struct ServerCallControlTests {
    // MARK: - the contract's applications

    @Test func echo9196AnswersAtOnceWithEcho() {
        var h = Harness()
        h.login("1001")
        let out = h.call("a", from: "1001", to: "9196")
        #expect(out.contains(.play(callID: "a", .echo)))
        #expect(answers(out) == [.answer(callID: "a", withSDP: true)])
        #expect(out.contains(.notice(.answered(callID: "a"))))
        #expect(h.control.legs["a"]?.answered == true && h.control.legs["a"]?.user == "1001")
    }

    @Test func unknownDestinationAndUnusableOfferAreRefused() {
        var h = Harness()
        h.login("1001")
        #expect(h.call("a", from: "1001", to: "12345") == [.hangup(callID: "a", cause: .noRouteDestination)])
        #expect(h.call("b", from: "1001", to: "9196", usable: false) == [.hangup(callID: "b", cause: .incompatibleDestination)])
        #expect(h.control.legs.isEmpty)
    }

    /// A destination outside the table that is a logged-in user's id rings that user (a PBX's local
    /// extension); a user who is not logged in, or with the rule off, is no route.
    @Test func aLoggedInUsersIDBridgesToThatUser() {
        var h = Harness()
        h.login("1001")
        h.login("2042", sessions: 2)
        h.call("a", from: "1001", to: "2042")
        #expect(h.offered.map(\.sessid).sorted() == ["2042-s0", "2042-s1"])
        #expect(h.offered.allSatisfy { $0.user == "2042" && $0.callerIDNumber == "1001" })
        #expect(h.call("b", from: "1001", to: "2043") == [.hangup(callID: "b", cause: .noRouteDestination)])
        h.control.routing.bridgesToLoggedInUsers = false
        #expect(h.call("c", from: "1001", to: "2042") == [.hangup(callID: "c", cause: .noRouteDestination)])
    }

    @Test func ringThenAnswer9195AnswersAfterTwoSeconds() {
        var h = Harness()
        h.login("1001")
        #expect(answers(h.call("a", from: "1001", to: "9195")).isEmpty, "rings first")
        #expect(answers(h.advance(to: 1.999)).isEmpty)
        let out = h.advance(to: 2.0)
        #expect(out == [.play(callID: "a", .echo), .answer(callID: "a", withSDP: true), .notice(.answered(callID: "a"))])
        #expect(h.virtualSeconds == 2.0)
    }

    @Test func earlyMedia9198CountsTheRingbackFromMediaUp() {
        var h = Harness()
        h.login("1001")
        let out = h.call("a", from: "1001", to: "9198")
        #expect(out.contains(.play(callID: "a", .tone(425))) && out.contains(.earlyMedia(callID: "a")))
        #expect(answers(h.advance(to: 10)).isEmpty, "no answer before the media is up")
        h.control.mediaConnected(callID: "a", now: h.now)
        #expect(answers(h.advance(to: 11.999)).isEmpty)
        // After early media the answer carries no SDP (docs/verto-protocol.md §3.3).
        #expect(h.advance(to: 12) == [.play(callID: "a", .echo), .answer(callID: "a", withSDP: false), .notice(.answered(callID: "a"))])
    }

    @Test func serverHangsUp9199AfterThreeSeconds() {
        var h = Harness()
        h.login("1001")
        #expect(answers(h.call("a", from: "1001", to: "9199")) == [.answer(callID: "a", withSDP: true)])
        #expect(hangups(h.advance(to: 2.9)).isEmpty)
        let out = h.advance(to: 3)
        #expect(out == [.hangup(callID: "a", cause: .normalClearing), .notice(.ended(callID: "a", cause: .normalClearing))])
        #expect(h.control.legs.isEmpty && h.control.nextDeadline() == nil)
    }

    @Test func aCallThatEndsCancelsItsTimers() {
        var h = Harness()
        h.login("1001")
        h.call("a", from: "1001", to: "9195")
        h.control.ended("a", cause: .normalClearing)
        h.run()
        #expect(h.control.nextDeadline() == nil)
        #expect(h.advance(to: 5).isEmpty)
    }

    @Test func theApplicationAnswersOnlyItsOwnCalls() throws {
        var h = Harness()
        h.control.routing.routes["7000"] = .application
        h.login("1001")
        #expect(answers(h.call("a", from: "1001", to: "7000")).isEmpty, "left to the application")
        try h.control.answerForApplication(callID: "a")
        #expect(answers(h.run()) == [.answer(callID: "a", withSDP: true)])
        h.call("b", from: "1001", to: "9196")
        #expect(throws: ServerCallError.notRoutedToApplication("b")) { try h.control.answerForApplication(callID: "b") }
        #expect(throws: ServerCallError.unknownCall("zzz")) { try h.control.answerForApplication(callID: "zzz") }
    }

    // MARK: - bridges and forking

    /// 1001 calls 1000, logged in with `sessions` sessions: every one rings; the one that answers
    /// wins, the others lose the race, and the legs are bridged with a display each way.
    @Test(arguments: [1, 2, 3])
    func everySessionRingsAndTheFirstAnswerWins(sessions: Int) throws {
        var h = Harness()
        h.login("1000", sessions: sessions)
        h.login("1001")
        h.call("a", from: "1001", to: "1000")
        #expect(Set(h.offered.map(\.sessid)) == Set((0..<sessions).map { "1000-s\($0)" }), "every session rings")
        #expect(h.offered.allSatisfy { $0.partner == "a" && $0.callerIDNumber == "1001" && $0.user == "1000" })
        #expect(answers(h.actions).isEmpty, "the caller waits")
        let winner = try #require(h.offered.last?.callID)
        h.advance(to: 7)  // the others never answer: nothing waits on them
        h.control.remoteAnswered(callID: winner, now: h.now)
        let out = h.run()
        let losers = h.offered.map(\.callID).filter { $0 != winner }
        for l in losers { #expect(out.contains(.hangup(callID: l, cause: .loseRace))) }
        #expect(out.contains(.connectAudio("a", winner)))
        #expect(answers(out) == [.answer(callID: "a", withSDP: true)])
        #expect(out.contains(.display(callID: "a", name: "1000", number: "1000", direction: "inbound", otherLeg: winner)))
        #expect(out.contains(.display(callID: winner, name: "User 1001", number: "1001", direction: "outbound", otherLeg: "a")))
        #expect(ends(out).keys.sorted() == losers.sorted(), "only the losers ended")
        #expect(h.control.legs["a"]?.partner == winner && h.control.legs[winner]?.partner == "a")
        // The caller hangs up: the bridged leg ends with the same cause.
        h.control.ended("a", cause: .normalClearing)
        #expect(h.run().contains(.hangup(callID: winner, cause: .normalClearing)))
        #expect(h.control.legs.isEmpty)
    }

    @Test func theCallerHangingUpCancelsEveryRingingLeg() {
        var h = Harness()
        h.login("1000", sessions: 2)
        h.login("1001")
        h.call("a", from: "1001", to: "1000")
        h.control.ended("a", cause: .normalClearing)
        let out = h.run()
        #expect(ends(out) == Dictionary(uniqueKeysWithValues: h.offered.map { ($0.callID, .originatorCancel) }).merging(["a": .normalClearing]) { a, _ in a })
        #expect(hangups(out).count == h.offered.count, "a verto.bye to each ringing session")
        #expect(h.control.legs.isEmpty)
        #expect(!h.control.wantsOffer(h.offered[0].callID), "an offer not yet sent is not sent")
    }

    @Test func theCallFailsOnlyWhenEveryLegFailed() {
        var h = Harness()
        h.login("1000", sessions: 2)
        h.login("1001")
        h.call("a", from: "1001", to: "1000")
        h.control.ended(h.offered[0].callID, cause: .callRejected)
        #expect(ends(h.run()).keys.sorted() == [h.offered[0].callID], "the caller still waits for the other session")
        h.control.legFailed(callID: h.offered[1].callID, cause: .normalTemporaryFailure)
        let out = h.run()
        #expect(out.contains(.hangup(callID: "a", cause: .normalTemporaryFailure)), "the last leg's cause")
        #expect(h.control.legs.isEmpty)
    }

    @Test func aUserWithoutSessionIsNotRegistered() {
        var h = Harness()
        h.login("1001")
        let out = h.call("a", from: "1001", to: "1002")
        #expect(out.contains(.hangup(callID: "a", cause: .other(name: "USER_NOT_REGISTERED", code: 606))))
        h.control.sessionGone(sessid: "1001-s0")
        #expect(throws: ServerCallError.userNotLoggedIn("1001")) {
            try h.control.originate(toUser: "1001", callerIDNumber: "9000", callerIDName: "x", route: .application, source: .silence,
                                    partner: nil, now: h.now)
        }
    }

    @Test func theApplicationsOwnCallRingsTheLatestSession() throws {
        var h = Harness()
        h.login("1000", sessions: 3)
        let ids = try h.control.originate(toUser: "1000", callerIDNumber: "9000", callerIDName: "App", route: .application,
                                          source: .tone(1000), partner: nil, now: h.now)
        h.run()
        #expect(ids.count == 1 && h.offered.map(\.sessid) == ["1000-s2"])
        #expect(h.offered[0].source == .tone(1000) && h.offered[0].partner == nil)
    }

    @Test func callIDsComeFromTheInjectedRandomSource() throws {
        var a = Harness(), b = Harness()
        a.login("1000")
        b.login("1000")
        let x = try a.control.originate(toUser: "1000", callerIDNumber: "1", callerIDName: "1", route: .application, source: .silence,
                                        partner: nil, now: a.now)
        let y = try b.control.originate(toUser: "1000", callerIDNumber: "1", callerIDName: "1", route: .application, source: .silence,
                                        partner: nil, now: b.now)
        #expect(x == y, "same seed, same ids")
        #expect(x[0].count == 36)
    }

    // MARK: - transfers

    /// A bridge 1001 (leg a) → 1000 (leg b).
    func bridged() -> (Harness, String) {
        var h = Harness()
        h.login("1000")
        h.login("1001")
        h.login("1002")
        h.call("a", from: "1001", to: "1000")
        let b = h.offered[0].callID
        h.control.remoteAnswered(callID: b, now: h.now)
        h.run()
        return (h, b)
    }

    func modify(_ callID: String, _ action: ModifyAction, destination: String? = nil, replace: String? = nil) -> ModifyRequest {
        ModifyRequest(connection: VertoConnectionID(1), requestID: .int(9),
                      params: ModifyParams(action: action, dialogParams: DialogParams(callID: callID), destination: destination,
                                           replaceCallID: replace))
    }

    @Test func blindTransferToAnApplication() {
        var (h, b) = bridged()
        let req = modify("a", .transfer, destination: "9664")
        h.control.modify(req, now: h.now)
        let out = h.run()
        #expect(out.contains(.completeModify(req, result: ["message": "CALL TRANSFERRED"], error: nil)))
        #expect(out.contains(.play(callID: b, .tone(1000))), "the partner hears the destination")
        #expect(out.contains(.hangup(callID: "a", cause: .normalClearing)))
        #expect(ends(out) == ["a": .normalClearing], "the partner carries on")
        #expect(h.control.legs[b]?.partner == nil && h.control.legs[b]?.route == .tone(1000))
    }

    @Test func blindTransferToAUserBridgesThePartnerToANewLeg() throws {
        var (h, b) = bridged()
        h.control.modify(modify("a", .transfer, destination: "1002"), now: h.now)
        h.run()
        let c = try #require(h.offered.last)
        #expect(c.user == "1002" && c.partner == b && c.callerIDNumber == "1000", "the transferred party calls")
        h.control.remoteAnswered(callID: c.callID, now: h.now)
        let out = h.run()
        #expect(out.contains(.connectAudio(b, c.callID)))
        #expect(out.contains(.display(callID: b, name: "1002", number: "1002", direction: "inbound", otherLeg: c.callID)))
        #expect(h.control.legs[b]?.partner == c.callID)
        #expect(h.control.legs["a"] == nil)
    }

    @Test func attendedTransferJoinsThePartnersAndReleasesOurLegs() throws {
        var (h, b) = bridged()
        // A second bridge: 1001 (leg d) → 1002.
        h.call("d", from: "1001", to: "1002")
        let e = try #require(h.offered.last?.callID)
        h.control.remoteAnswered(callID: e, now: h.now)
        h.run()
        let req = modify("a", .replace, replace: "d")
        h.control.modify(req, now: h.now)
        let out = h.run()
        #expect(out.contains(.completeModify(req, result: ["message": "CALL REPLACED"], error: nil)))
        #expect(out.contains(.connectAudio(b, e)))
        #expect(ends(out) == ["a": .normalClearing, "d": .normalClearing])
        #expect(h.control.legs[b]?.partner == e && h.control.legs[e]?.partner == b)
    }

    @Test func modifyErrors() {
        var h = Harness()
        h.login("1001")
        h.call("a", from: "1001", to: "9196")
        for (req, message) in [(modify("zz", .transfer, destination: "9196"), "CALL DOES NOT EXIST"),
                               (modify("a", .transfer), "destination missing"),
                               (modify("a", .transfer, destination: "9196"), "call is not bridged"),
                               (modify("a", .replace), "replaceCallID missing"),
                               (modify("a", .updateMedia), "SDP missing"),
                               (modify("a", .hold), "Invalid action")] {
            h.control.modify(req, now: h.now)
            #expect(h.run() == [.completeModify(req, result: nil, error: message)])
        }
    }

    @Test func holdMutesAndIsReported() {
        var h = Harness()
        h.login("1001")
        h.call("a", from: "1001", to: "9196")
        h.control.holdChanged(callID: "a", held: true)
        #expect(h.run() == [.mute(callID: "a", true), .notice(.held(callID: "a", true))])
        #expect(h.control.legs["a"]?.held == true)
    }

    @Test func hangupAllEndsEveryCall() {
        var (h, b) = bridged()
        h.control.hangupAll(cause: .managerRequest)
        let out = h.run()
        #expect(Set(ends(out).keys) == ["a", b])
        #expect(h.control.legs.isEmpty)
    }
}
