import Foundation
import VertoCore
import VertoPhone

/// The server role's derivation of the Webitel events: there the engine knows every leg directly,
/// so the events of one account (Webitel tracks the channels whose presence id is the account,
/// docs/verto-protocol.md §6.1) come from `VertoEndpointEvent`s instead of Verto traffic.
///
/// Like webitel.js, which groups a user's channel and the channels bridged to it into one call, a
/// call here is the account's leg *plus* the leg bridged to it: a hold on either leg is a hold of
/// the call. So when the subscriber holds, the operator's call raises `onHoldCall` (seed Fig. 3) —
/// which the client role cannot see (a hold by the other party is invisible in Verto, §4.4).
///
/// Sans-IO: feed events in order, get the CTI events back. `ServerCtiEventSource` drives it.
public struct ServerCtiEventMapper: Sendable {
    /// The user whose calls are tracked (the directory id, e.g. "1001").
    public let account: String

    private struct Tracked {
        var info: CtiCall
        var accepted = false
        /// Legs currently holding (the account's own leg and/or its partner).
        var holders: Set<String> = []
    }

    private var legs: [String: ServerCallInfo] = [:]
    private var calls: [String: Tracked] = [:]
    /// Partner leg → the account leg it is bridged to.
    private var partnerOf: [String: String] = [:]

    public init(account: String) {
        self.account = account
    }

    /// The account's calls in progress.
    public var activeCalls: [CtiCall] { calls.values.map(\.info).sorted { $0.createdTime < $1.createdTime } }

    /// The CTI events one endpoint event raises. `media` is set for `onNewWebRTCCall`.
    public mutating func map(_ event: VertoEndpointEvent, now: Date = Date()) -> [CtiEvent] {
        switch event {
        case .newWebRTCCall(let info, let media):
            legs[info.callID] = info
            guard info.user == account, calls[info.callID] == nil else { return [] }
            // A leg the user placed (the server's inbound leg) is the user's outbound call, and vice versa.
            let c: CtiCall
            if info.outbound {
                c = CtiCall(uuid: info.callID, direction: .inbound, callerNumber: info.callerIDNumber ?? "",
                            callerName: info.callerIDName ?? info.callerIDNumber ?? "", calleeNumber: account, calleeName: account,
                            createdTime: now)
            } else {
                c = CtiCall(uuid: info.callID, direction: .outbound, callerNumber: info.callerIDNumber ?? account,
                            callerName: info.callerIDName ?? info.callerIDNumber ?? account, calleeNumber: info.destination,
                            calleeName: info.destination, createdTime: now)
            }
            calls[info.callID] = Tracked(info: c)
            return [.newCall(c), .newWebRTCCall(c, media)]
        case .answered(let id):
            guard var t = calls[id], !t.accepted else { return [] }
            t.accepted = true
            t.info.state = t.holders.isEmpty ? .active : .held
            t.info.answeredTime = now
            calls[id] = t
            return [.acceptCall(t.info)]
        case .bridged(let a, let b):
            if calls[a] != nil, calls[b] == nil { return bridged(a, to: b) }
            if calls[b] != nil, calls[a] == nil { return bridged(b, to: a) }
            return []
        case .hold(let leg, let held):
            guard let id = calls[leg] != nil ? leg : partnerOf[leg], var t = calls[id] else { return [] }
            let was = !t.holders.isEmpty
            if held { t.holders.insert(leg) } else { t.holders.remove(leg) }
            let now = !t.holders.isEmpty
            guard was != now else { calls[id] = t; return [] }
            if t.accepted { t.info.state = now ? .held : .active }
            calls[id] = t
            return [now ? .holdCall(t.info) : .unholdCall(t.info)]
        case .dtmf:
            // Signalled digits also reach the leg's MediaSession, where `digits(_:callID:)` picks them
            // up together with RFC 4733 ones; counting them here too would double them.
            return []
        case .ended(let id, let cause):
            legs[id] = nil
            if let acct = partnerOf.removeValue(forKey: id) {
                calls[acct]?.holders.remove(id)
                return []
            }
            guard var t = calls.removeValue(forKey: id) else { return [] }
            partnerOf = partnerOf.filter { $0.value != id }
            t.info.state = .hangup
            t.info.hangupTime = now
            t.info.hangupCause = cause.name
            return [.hangupCall(t.info)]
        case .loggedIn, .loginRejected, .disconnected:
            return []
        }
    }

    /// Digits received on a leg (RFC 4733 or `verto.info`, from its `MediaSession.events`).
    public mutating func digits(_ digits: String, callID: String) -> [CtiEvent] {
        guard let t = calls[callID] else { return [] }
        return digits.map { .dtmfCall(t.info, digits: String($0)) }
    }

    /// The first bridge of a call is its own (silent: the party is the one dialled or calling);
    /// a bridge to another leg afterwards (transfer) raises `onBridgeCall` and `onUuidCall`.
    private mutating func bridged(_ id: String, to other: String) -> [CtiEvent] {
        guard var t = calls[id] else { return [] }
        var out: [CtiEvent] = []
        let previous = t.info.otherLegUuid
        if let p = previous, p != other {
            partnerOf[p] = nil
            // The previous party held the call and left it: the call is no longer on hold.
            if t.holders.remove(p) != nil, t.holders.isEmpty {
                if t.accepted { t.info.state = .active }
                out.append(.unholdCall(t.info))
            }
        }
        partnerOf[other] = id
        t.info.otherLegUuid = other
        if let o = legs[other] {
            let number = o.outbound ? (o.user ?? o.destination) : (o.callerIDNumber ?? o.user ?? "")
            let name = o.outbound ? number : (o.callerIDName ?? number)
            if !number.isEmpty { t.info.setRemote(number: number, name: name) }
        }
        calls[id] = t
        guard let previous, previous != other else { return out }
        return out + [.bridgeCall(t.info), .uuidCall(t.info, newId: other)]
    }
}
