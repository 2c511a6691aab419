import CoreSupport
import NIOCore
import VertoCore

/// What the server plays on a leg.
public enum LegSource: Sendable, Equatable {
    case silence
    /// The leg's own audio back (9196).
    case echo
    case tone(Double)
    /// Silence, while received digits are collected (9197).
    case digitCollector
}

/// One call leg of the server role, as call control sees it (its media belongs to the shell).
public struct ServerLeg: Sendable, Equatable {
    public let callID: String
    /// The session the leg's client is logged in with.
    public let sessid: String
    public var user: String?
    public var destination: String
    public var callerIDNumber: String?
    public var callerIDName: String?
    /// True for a leg the server placed to a client (a bridge's B-leg, the application's call).
    public let outbound: Bool
    public var route: ServerRoute
    public var answered = false
    public var held = false
    /// The other leg when bridged (on a ringing leg of a fork: the caller's leg).
    public var partner: String?
    /// The caller's leg while this leg rings as one of several (forking); nil once it won.
    public var forkOf: String?
    /// Inbound: our answer to the client's offer is ready. Outbound: the offer went out.
    public var mediaReady = false
    /// 9198: the answer comes this long after the leg's media is up.
    var answerAfterMedia: Double?

    /// The party on this leg: the logged-in user of a leg the server placed, else the caller.
    public var party: (name: String, number: String) {
        if outbound, let u = user { return (u, u) }
        return (callerIDName ?? user ?? "", callerIDNumber ?? user ?? "")
    }
}

/// A leg for the shell to offer to a client: take a peer, write the offer, send `verto.invite` with
/// these ids, then report `legOffered` or `legFailed`.
public struct LegOffer: Sendable, Equatable {
    public var callID: String
    public var sessid: String
    public var user: String
    public var callerIDNumber: String
    public var callerIDName: String
    /// The leg it is bridged to when answered (named in `verto_h_other_leg_unique_id`).
    public var partner: String?
    public var source: LegSource
}

/// What call control tells the application about calls.
public enum ServerCallNotice: Sendable, Equatable {
    case started(ServerLeg)
    case answered(callID: String)
    case bridged(callID: String, otherCallID: String)
    case held(callID: String, Bool)
    case ended(callID: String, cause: HangupCause)
}

/// An action for the shell, in order.
public enum ServerCallAction: Sendable, Equatable {
    /// Prepare our answer to the client's offer on an inbound leg; report `mediaReady` or
    /// `hangup(…, .incompatibleDestination)`.
    case prepareAnswer(callID: String)
    case offerLeg(LegOffer)
    case play(callID: String, LegSource)
    /// `verto.answer`, with our SDP unless early media already carried it.
    case answer(callID: String, withSDP: Bool)
    /// `verto.media` with our SDP.
    case earlyMedia(callID: String)
    /// `verto.bye` with the cause; the leg's media ends.
    case hangup(callID: String, cause: HangupCause)
    /// Audio of each leg to the other.
    case connectAudio(String, String)
    /// `verto.display` naming the other leg's party and its id (`verto_h_other_leg_unique_id`).
    case display(callID: String, name: String, number: String, direction: String, otherLeg: String)
    /// Pause (or resume) our audio toward a held client, as mod_verto does.
    case mute(callID: String, Bool)
    /// Answer a `verto.modify`: a result object, or a -32000 error with the message.
    case completeModify(ModifyRequest, result: JSONObject?, error: String?)
    /// `updateMedia`: the shell answers the new offer with a new peer and completes the request.
    case renegotiate(ModifyRequest)
    case notice(ServerCallNotice)
}

public enum ServerCallError: Error, Sendable, Equatable, CustomStringConvertible {
    case userNotLoggedIn(String)
    case unknownCall(String)
    case notRoutedToApplication(String)
    public var description: String {
        switch self {
        case .userNotLoggedIn(let u): return "user \(u) is not logged in"
        case .unknownCall(let c): return "unknown call \(c)"
        case .notRoutedToApplication(let c): return "call \(c) is not routed to the application"
        }
    }
}

/// The server role's call control as a sans-IO state machine (docs/architecture.md): the call
/// registry, routing to the built-in applications with their timers as deadlines, bridges, blind
/// and attended transfer, and forking — a call to a user rings every session the user is logged in
/// with, the first answer wins and the other legs get LOSE_RACE, as FreeSWITCH does with every
/// registration of a user. Inputs carry `now`; outputs are `ServerCallAction`s read with
/// `pollAction()`, and `nextDeadline()` says when to call `handleTimeout(now:)`. Call ids come
/// from the injected random source.
public struct ServerCallControl: Sendable {
    public var routing: ServerRoutingTable
    private var random: AnyRandomSource
    /// Live sessions: sessid → user and login sequence (the application's own calls ring the latest).
    private var sessions: [String: (user: String, order: UInt64)] = [:]
    private var logins: UInt64 = 0
    public private(set) var legs: [String: ServerLeg] = [:]
    /// A caller's leg → its legs still ringing.
    private var ringing: [String: Set<String>] = [:]
    private struct Timer: Sendable {
        enum Kind: Sendable { case answer(withSDP: Bool), hangup }
        var at: NIODeadline
        var callID: String
        var kind: Kind
    }
    /// Ordered by deadline (equal deadlines in the order they were set): the next one is first.
    private var timers: [Timer] = []
    private var actions: [ServerCallAction] = []
    private var actionIndex = 0

    public init(routing: ServerRoutingTable, random: AnyRandomSource) {
        self.routing = routing
        self.random = random
    }

    // MARK: - outputs

    public mutating func pollAction() -> ServerCallAction? {
        guard actionIndex < actions.count else {
            actions.removeAll(keepingCapacity: true)
            actionIndex = 0
            return nil
        }
        defer { actionIndex += 1 }
        return actions[actionIndex]
    }

    public func nextDeadline() -> NIODeadline? { timers.first?.at }

    public mutating func handleTimeout(now: NIODeadline) {
        while let first = timers.first, first.at <= now {
            let t = timers.removeFirst()
            guard let leg = legs[t.callID] else { continue }
            switch t.kind {
            case .answer(let withSDP):
                emit(.play(callID: leg.callID, .echo))
                answer(leg.callID, withSDP: withSDP)
            case .hangup:
                hangup(leg.callID, cause: .normalClearing)
            }
        }
    }

    private mutating func emit(_ a: ServerCallAction) { actions.append(a) }

    /// Inserts after every timer due at or before it (binary search).
    private mutating func schedule(_ t: Timer) {
        var low = 0, high = timers.count
        while low < high {
            let mid = (low + high) / 2
            if timers[mid].at <= t.at { low = mid + 1 } else { high = mid }
        }
        timers.insert(t, at: low)
    }

    private static func duration(_ seconds: Double) -> TimeAmount { .nanoseconds(Int64((seconds * 1e9).rounded())) }

    // MARK: - sessions

    public mutating func sessionLoggedIn(sessid: String, user: String) {
        logins += 1
        sessions[sessid] = (user, logins)
    }

    /// The session is gone (no connection left for it).
    public mutating func sessionGone(sessid: String) { sessions[sessid] = nil }

    public func user(ofSessid sessid: String) -> String? { sessions[sessid]?.user }

    /// The live sessions: sessid → user.
    public var liveSessions: [String: String] { sessions.mapValues(\.user) }

    /// The live sessions of `user`, the latest login first.
    public func sessions(of user: String) -> [String] {
        sessions.filter { $0.value.user == user }.sorted { $0.value.order > $1.value.order }.map(\.key)
    }

    // MARK: - calls from clients

    /// The routing table's route, else — as a PBX's local-extension rule does — a bridge to the user
    /// of that id when one is logged in (`routing.bridgesToLoggedInUsers`).
    public func route(for destination: String) -> ServerRoute? {
        if let r = routing.route(for: destination) { return r }
        if routing.bridgesToLoggedInUsers, sessions.values.contains(where: { $0.user == destination }) { return .bridge(user: destination) }
        return nil
    }

    /// A client's `verto.invite`. `offerIsUsable`: its SDP parsed. Routes the call or refuses it.
    public mutating func callFromClient(callID: String, sessid: String, destination: String?, callerIDNumber: String?,
                                        callerIDName: String?, offerIsUsable: Bool, now: NIODeadline) {
        let destination = destination ?? "service"
        guard let route = route(for: destination) else {
            emit(.hangup(callID: callID, cause: .noRouteDestination))
            return
        }
        guard offerIsUsable else {
            emit(.hangup(callID: callID, cause: .incompatibleDestination))
            return
        }
        let user = sessions[sessid]?.user
        let leg = ServerLeg(callID: callID, sessid: sessid, user: user, destination: destination,
                            callerIDNumber: callerIDNumber ?? user, callerIDName: callerIDName, outbound: false, route: route)
        legs[callID] = leg
        emit(.notice(.started(leg)))
        emit(.prepareAnswer(callID: callID))
    }

    /// Our answer to an inbound leg's offer is ready: the route starts.
    public mutating func mediaReady(callID: String, now: NIODeadline) {
        guard var leg = legs[callID], !leg.outbound, !leg.mediaReady else { return }
        leg.mediaReady = true
        legs[callID] = leg
        switch leg.route {
        case .echo:
            emit(.play(callID: callID, .echo))
            answer(callID, withSDP: true)
        case .tone(let f):
            emit(.play(callID: callID, .tone(f)))
            answer(callID, withSDP: true)
        case .dtmfCollector:
            emit(.play(callID: callID, .digitCollector))
            answer(callID, withSDP: true)
        case .earlyMediaThenEcho(let seconds, let ringback):
            // The ringback lasts `seconds` of media: its time counts from `mediaConnected`, so the
            // caller hears all of it however long ICE and DTLS took.
            emit(.play(callID: callID, .tone(ringback)))
            emit(.earlyMedia(callID: callID))
            legs[callID]?.answerAfterMedia = seconds
        case .answerAfter(let seconds):
            schedule(Timer(at: now + Self.duration(seconds), callID: callID, kind: .answer(withSDP: true)))
        case .answerThenHangup(let seconds):
            emit(.play(callID: callID, .echo))
            answer(callID, withSDP: true)
            schedule(Timer(at: now + Self.duration(seconds), callID: callID, kind: .hangup))
        case .bridge(let user):
            _ = try? originate(toUser: user, callerIDNumber: leg.callerIDNumber ?? leg.user ?? "",
                               callerIDName: leg.callerIDName ?? leg.user ?? "", route: .application, source: .silence,
                               partner: callID, now: now)
        case .application:
            break
        }
    }

    /// The leg's media is up (ICE and DTLS done).
    public mutating func mediaConnected(callID: String, now: NIODeadline) {
        guard let seconds = legs[callID]?.answerAfterMedia else { return }
        legs[callID]?.answerAfterMedia = nil
        schedule(Timer(at: now + Self.duration(seconds), callID: callID, kind: .answer(withSDP: false)))
    }

    /// The application answers a call routed to it.
    public mutating func answerForApplication(callID: String) throws(ServerCallError) {
        guard let leg = legs[callID], leg.mediaReady || leg.outbound else { throw .unknownCall(callID) }
        guard leg.route == .application, !leg.outbound else { throw .notRoutedToApplication(callID) }
        answer(callID, withSDP: true)
    }

    private mutating func answer(_ callID: String, withSDP: Bool) {
        guard let leg = legs[callID], !leg.answered else { return }
        legs[callID]?.answered = true
        emit(.answer(callID: callID, withSDP: withSDP))
        emit(.notice(.answered(callID: callID)))
    }

    // MARK: - calls to clients

    /// Places a call to `user`: the B-leg(s) of a bridge (`partner` set), or the application's own
    /// call. A bridge rings every live session of the user, the application's call the session that
    /// logged in last. Returns the legs' callIDs (the latest session's first). Without a session the
    /// call fails: `userNotLoggedIn`, and a waiting partner ends with USER_NOT_REGISTERED (606).
    @discardableResult
    public mutating func originate(toUser user: String, callerIDNumber: String, callerIDName: String, route: ServerRoute,
                                   source: LegSource, partner: String?, now: NIODeadline) throws(ServerCallError) -> [String] {
        let live = sessions(of: user)
        guard !live.isEmpty else {
            if let p = partner { hangup(p, cause: .other(name: "USER_NOT_REGISTERED", code: 606)) }
            throw .userNotLoggedIn(user)
        }
        let targets = partner == nil ? [live[0]] : live
        var ids: [String] = []
        for sessid in targets {
            let callID = random.uuidString()
            var leg = ServerLeg(callID: callID, sessid: sessid, user: user, destination: user, callerIDNumber: callerIDNumber,
                                callerIDName: callerIDName, outbound: true, route: route)
            leg.partner = partner
            leg.forkOf = partner
            legs[callID] = leg
            if let p = partner { ringing[p, default: []].insert(callID) }
            ids.append(callID)
            emit(.notice(.started(leg)))
            emit(.offerLeg(LegOffer(callID: callID, sessid: sessid, user: user, callerIDNumber: callerIDNumber,
                                    callerIDName: callerIDName, partner: partner, source: source)))
        }
        return ids
    }

    /// Whether the shell should still send this leg's offer (not ended meanwhile).
    public func wantsOffer(_ callID: String) -> Bool { legs[callID]?.mediaReady == false }

    public mutating func legOffered(callID: String) {
        guard legs[callID]?.outbound == true else { return }
        legs[callID]?.mediaReady = true
    }

    /// The client answered a leg the server placed (its SDP already applied by the shell). The
    /// first answer of a fork wins: the other legs lose the race; then the legs are bridged.
    public mutating func remoteAnswered(callID: String, now: NIODeadline) {
        guard var leg = legs[callID], leg.outbound, !leg.answered else { return }
        leg.answered = true
        legs[callID] = leg
        emit(.notice(.answered(callID: callID)))
        if let a = leg.forkOf {
            legs[callID]?.forkOf = nil
            let losers = (ringing.removeValue(forKey: a) ?? []).subtracting([callID])
            for l in losers.sorted() {
                legs[l]?.partner = nil
                legs[l]?.forkOf = nil
                hangup(l, cause: .loseRace)
            }
            legs[a]?.partner = callID
        }
        if let p = legs[callID]?.partner, legs[p] != nil { bridge(p, callID) }
    }

    /// Joins two legs: audio both ways, `verto.display` to each with the other's identity.
    private mutating func bridge(_ a: String, _ b: String) {
        guard let legA = legs[a], let legB = legs[b] else { return }
        legs[a]?.partner = b
        legs[b]?.partner = a
        emit(.play(callID: a, .silence))
        emit(.play(callID: b, .silence))
        emit(.connectAudio(a, b))
        answer(a, withSDP: true)
        let pa = legA.party, pb = legB.party
        emit(.display(callID: a, name: pb.name, number: pb.number, direction: "inbound", otherLeg: b))
        emit(.display(callID: b, name: pa.name, number: pa.number, direction: "outbound", otherLeg: a))
        emit(.notice(.bridged(callID: a, otherCallID: b)))
    }

    // MARK: - ends

    /// Ends a leg from the server side (`verto.bye` with `cause`), and what depends on it.
    public mutating func hangup(_ callID: String, cause: HangupCause) {
        guard legs[callID] != nil else { return }
        emit(.hangup(callID: callID, cause: cause))
        ended(callID, cause: cause)
    }

    /// A leg ended (the client's `verto.bye`, a lost session, a failed offer). A caller that hangs
    /// up while its call rings cancels every leg (ORIGINATOR_CANCEL); a ringing leg that fails
    /// leaves the caller waiting for the others, and fails it with its cause when it was the last;
    /// a bridged leg's end ends its partner with the same cause.
    public mutating func ended(_ callID: String, cause: HangupCause) {
        guard let leg = legs.removeValue(forKey: callID) else { return }
        timers.removeAll { $0.callID == callID }
        emit(.notice(.ended(callID: callID, cause: cause)))
        if let ringingLegs = ringing.removeValue(forKey: callID) {
            for l in ringingLegs.sorted() {
                legs[l]?.partner = nil
                legs[l]?.forkOf = nil
                hangup(l, cause: .originatorCancel)
            }
        }
        if let a = leg.forkOf {
            ringing[a]?.remove(callID)
            if ringing[a]?.isEmpty == true {
                ringing[a] = nil
                hangup(a, cause: cause)
            }
        } else if let p = leg.partner, legs[p] != nil {
            hangup(p, cause: cause)
        }
    }

    /// The shell could not offer a leg (no media socket, the session went away).
    public mutating func legFailed(callID: String, cause: HangupCause) { hangup(callID, cause: cause) }

    public mutating func holdChanged(callID: String, held: Bool) {
        guard legs[callID] != nil else { return }
        legs[callID]?.held = held
        emit(.mute(callID: callID, held))
        emit(.notice(.held(callID: callID, held)))
    }

    /// Ends every call (the server stops).
    public mutating func hangupAll(cause: HangupCause) {
        for id in legs.keys.sorted() { hangup(id, cause: cause) }
    }

    // MARK: - verto.modify: transfer, replace, updateMedia (docs/verto-protocol.md §3.2.5, §4.6, §4.7)

    public mutating func modify(_ req: ModifyRequest, now: NIODeadline) {
        let callID = req.params.dialogParams.callID
        func fail(_ message: String) -> ServerCallAction { .completeModify(req, result: nil, error: message) }
        guard let leg = legs[callID] else { return emit(fail("CALL DOES NOT EXIST")) }
        switch req.params.action {
        case .transfer:
            // Blind transfer of the *other* leg: the partner goes to the destination's application,
            // this leg is released.
            guard let dest = req.params.destination, !dest.isEmpty else { return emit(fail("destination missing")) }
            guard let p = leg.partner, let other = legs[p], let route = route(for: dest) else {
                return emit(fail("call is not bridged"))
            }
            legs[callID]?.partner = nil
            legs[p]?.partner = nil
            legs[p]?.route = route
            emit(.play(callID: p, .silence))
            emit(.completeModify(req, result: ["message": .string("CALL TRANSFERRED")], error: nil))
            startTransferred(route, other, now: now)
            hangup(callID, cause: .normalClearing)
        case .replace:
            // Attended transfer: bridge the partner of this call with the partner of replaceCallID,
            // then release both of our legs.
            guard let rid = req.params.replaceCallID, let other = legs[rid] else { return emit(fail("replaceCallID missing")) }
            guard let p1 = leg.partner, legs[p1] != nil, let p2 = other.partner, legs[p2] != nil else {
                return emit(fail("call is not bridged"))
            }
            legs[callID]?.partner = nil
            legs[rid]?.partner = nil
            emit(.completeModify(req, result: ["message": .string("CALL REPLACED")], error: nil))
            bridge(p1, p2)
            hangup(callID, cause: .normalClearing)
            hangup(rid, cause: .normalClearing)
        case .updateMedia:
            guard req.params.sdp != nil else { return emit(fail("SDP missing")) }
            emit(.renegotiate(req))
        default:
            emit(fail("Invalid action"))
        }
    }

    /// The partner of a blind transfer now talks to the destination's application.
    private mutating func startTransferred(_ route: ServerRoute, _ leg: ServerLeg, now: NIODeadline) {
        switch route {
        case .echo, .answerAfter, .answerThenHangup, .earlyMediaThenEcho: emit(.play(callID: leg.callID, .echo))
        case .tone(let f): emit(.play(callID: leg.callID, .tone(f)))
        case .dtmfCollector, .application: emit(.play(callID: leg.callID, .silence))
        case .bridge(let user):
            let p = leg.party
            _ = try? originate(toUser: user, callerIDNumber: p.number, callerIDName: p.name, route: .application,
                               source: .silence, partner: leg.callID, now: now)
        }
    }
}
