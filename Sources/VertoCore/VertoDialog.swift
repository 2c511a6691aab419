/// The per-callID dialog state machine shared by both roles.
///
/// ```
///  new ──invite──▶ trying ──ringing──▶ ringing ──earlyMedia──▶ early ──answer──▶ active ⇄ held
///                    │ └────earlyMedia───────────────────────────▲  │               │      │
///                    └──────────────answer──────────────────────────┴──────────────▶│      │
///  active/held ──detach──▶ recovering ──reattach──▶ active                          │      │
///  any live state ──hangup(cause)──▶ hangup ──destroy──▶ destroyed
/// ```
/// `trying`: invite sent / received, not yet presented. `ringing`: presented (the server acknowledged
/// with CALL CREATED, or the client is alerting its user). `early`: early-media SDP exchanged
/// (`verto.media`, §4.2). `recovering`: the socket dropped after answer; the call waits for re-attach
/// (§1.6, §4.8).
public enum DialogState: Sendable, Hashable, CustomStringConvertible {
    case new
    case trying
    case ringing
    case early
    case active
    case held
    case recovering
    case hangup(HangupCause)
    case destroyed

    /// Answered calls (active, held, recovering): the ones that may be modified and that survive a
    /// dropped socket.
    public var isAnswered: Bool {
        switch self {
        case .active, .held, .recovering: return true
        default: return false
        }
    }

    /// Not yet hung up.
    public var isLive: Bool {
        switch self {
        case .hangup, .destroyed: return false
        default: return true
        }
    }

    public var description: String {
        switch self {
        case .new: return "new"
        case .trying: return "trying"
        case .ringing: return "ringing"
        case .early: return "early"
        case .active: return "active"
        case .held: return "held"
        case .recovering: return "recovering"
        case .hangup(let c): return "hangup(\(c.name))"
        case .destroyed: return "destroyed"
        }
    }
}

/// Inputs to the dialog state machine.
public enum DialogEvent: Sendable, Hashable, CustomStringConvertible {
    /// `verto.invite` sent or received.
    case invite
    /// Presented: CALL CREATED received/sent, or the callee starts alerting.
    case ringing
    /// `verto.media` with the early SDP.
    case earlyMedia
    /// `verto.answer`.
    case answer
    /// `verto.modify` hold / unhold / toggleHold.
    case hold
    case unhold
    case toggleHold
    /// Other `verto.modify` actions that need an answered call (transfer, replace, updateMedia,
    /// videoRefresh); the state does not change.
    case modify(String)
    /// The socket dropped (server: detach_calls; client: connection lost).
    case detach
    /// `verto.attach` completed.
    case reattach
    case hangup(HangupCause)
    /// Removed from the registry.
    case destroy

    public var name: String {
        switch self {
        case .invite: return "invite"
        case .ringing: return "ringing"
        case .earlyMedia: return "earlyMedia"
        case .answer: return "answer"
        case .hold: return "hold"
        case .unhold: return "unhold"
        case .toggleHold: return "toggleHold"
        case .modify(let a): return a
        case .detach: return "detach"
        case .reattach: return "attach"
        case .hangup: return "hangup"
        case .destroy: return "destroy"
        }
    }

    public var description: String { name }
}

/// Who created the dialog, from this side's point of view.
public enum DialogDirection: Sendable, Hashable {
    /// The client placed the call (`verto.invite` client → server).
    case clientOriginated
    /// The server placed the call (`verto.invite` server → client).
    case serverOriginated
}

/// Pure transition function.
public enum DialogStateMachine {
    public static func transition(from state: DialogState, on event: DialogEvent, callID: String) throws(VertoError) -> DialogState {
        func invalid() -> VertoError { .invalidTransition(callID: callID, from: state, event: event.name) }
        switch (state, event) {
        case (.new, .invite): return .trying
        case (.trying, .ringing): return .ringing
        case (.ringing, .ringing), (.early, .ringing): return state
        case (.trying, .earlyMedia), (.ringing, .earlyMedia): return .early
        case (.trying, .answer), (.ringing, .answer), (.early, .answer): return .active
        case (.active, .hold), (.held, .hold): return .held
        case (.active, .unhold), (.held, .unhold): return .active
        case (.active, .toggleHold): return .held
        case (.held, .toggleHold): return .active
        case (.active, .modify), (.held, .modify): return state
        case (.active, .detach), (.held, .detach): return .recovering
        case (.recovering, .detach): return .recovering
        case (.recovering, .reattach): return .active
        case (let s, .hangup(let cause)) where s.isLive: return .hangup(cause)
        case (.hangup, .destroy): return .destroyed
        default: throw invalid()
        }
    }
}

/// One call leg as a VertoCore session tracks it.
public struct VertoDialog: Sendable, Equatable {
    public let callID: String
    public let direction: DialogDirection
    public private(set) var state: DialogState = .new
    /// Whether the call was held before a detach (restored on re-attach).
    public private(set) var wasHeld = false
    /// Dialog parameters of the invite (client-originated calls).
    public var dialogParams: DialogParams?
    /// The server's call description (server-originated calls, re-attach offers).
    public var callInfo: CallOffer?
    /// `recoverCall: false` in the invite: hang up instead of detaching (§3.2.2).
    public var recoverCall: Bool = true
    /// Early media SDP already sent/received (then `verto.answer` carries none, §3.3).
    public var earlySDPSent = false
    /// The last `verto.display` sent for the call (re-sent after a re-attach, §1.6).
    public var lastDisplay: DisplayParams?

    public init(callID: String, direction: DialogDirection) {
        self.callID = callID
        self.direction = direction
    }

    /// Applies an event; on failure the state is unchanged.
    @discardableResult
    public mutating func apply(_ event: DialogEvent) throws(VertoError) -> DialogState {
        let next = try DialogStateMachine.transition(from: state, on: event, callID: callID)
        if case .detach = event { wasHeld = state == .held || (state == .recovering && wasHeld) }
        state = next
        return next
    }

    /// Applies an event when the table allows it; returns whether it did (for paths where an
    /// impossible transition simply means "nothing to do").
    @discardableResult
    public mutating func applyIfValid(_ event: DialogEvent) -> Bool {
        do {
            try apply(event)
            return true
        } catch {
            return false
        }
    }
}
