import Foundation
import VertoCore
import VertoPhone

/// Call features a provider offers right now (Creatio's `callFeaturesSet` bit mask, the
/// `Terrasoft.CallFeaturesSet` names). They change with the call's state: see `getCapabilities(for:)`.
public struct CtiCapabilities: OptionSet, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let canRecall = CtiCapabilities(rawValue: 1 << 0)
    public static let canDial = CtiCapabilities(rawValue: 1 << 1)
    public static let canAnswer = CtiCapabilities(rawValue: 1 << 2)
    public static let canDrop = CtiCapabilities(rawValue: 1 << 3)
    public static let canHold = CtiCapabilities(rawValue: 1 << 4)
    public static let canUnhold = CtiCapabilities(rawValue: 1 << 5)
    public static let canCompleteTransfer = CtiCapabilities(rawValue: 1 << 6)
    public static let canCancelTransfer = CtiCapabilities(rawValue: 1 << 7)
    public static let canBlindTransfer = CtiCapabilities(rawValue: 1 << 8)
    public static let canMakeConsultCall = CtiCapabilities(rawValue: 1 << 9)
    public static let canDTMF = CtiCapabilities(rawValue: 1 << 10)

    public var description: String {
        let names: [(CtiCapabilities, String)] = [
            (.canRecall, "RECALL"), (.canDial, "DIAL"), (.canAnswer, "ANSWER"), (.canDrop, "DROP"), (.canHold, "HOLD"),
            (.canUnhold, "UNHOLD"), (.canCompleteTransfer, "COMPLETE_TRANSFER"), (.canCancelTransfer, "CANCEL_TRANSFER"),
            (.canBlindTransfer, "BLIND_TRANSFER"), (.canMakeConsultCall, "MAKE_CONSULT_CALL"), (.canDTMF, "DTMF"),
        ]
        return "[" + names.filter { contains($0.0) }.map(\.1).joined(separator: "|") + "]"
    }
}

/// Errors of the provider layer.
public enum CtiError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The call is not (or no longer) known to the provider.
    case unknownCall(String)
    /// The command does not apply in the call's current state (see `getCapabilities(for:)`).
    case notAllowed(command: String, state: CtiCallState)
    /// Without the web phone Creatio drives calls through Webitel's own command socket (port 871),
    /// which this engine does not speak: the provider needs `useWebPhone`.
    case webPhoneDisabled
    case notConnected
    /// The server refused the login (-32000/-32001: wrong password, unknown user).
    case authenticationFailed(String)
    /// The engine refused or failed the command, with its typed error (`hangupCause` tells a busy
    /// callee from a missing route).
    case engine(VertoPhoneError)
    /// A setting cannot be used (e.g. an event socket address that is not host:port:password).
    case badConfiguration(String)

    public var description: String {
        switch self {
        case .unknownCall(let id): return "unknown call \(id)"
        case .notAllowed(let c, let s): return "\(c) is not allowed while the call is \(s.rawValue)"
        case .webPhoneDisabled: return "useWebPhone is off: only the Verto web phone is supported"
        case .notConnected: return "not connected"
        case .badConfiguration(let m): return "bad configuration: \(m)"
        case .authenticationFailed(let m): return "login refused: \(m)"
        case .engine(let e): return e.description
        }
    }

    /// The hang-up cause behind the error, when the engine's error has one.
    public var hangupCause: HangupCause? {
        if case .engine(let e) = self { return e.hangupCause }
        return nil
    }

    /// An engine error as the provider reports it.
    static func from(_ error: any Error) -> CtiError {
        switch error {
        case let e as CtiError: return e
        case let e as VertoPhoneError: return .engine(e)
        default: return .engine(.callFailed("\(error)"))
        }
    }
}

/// A telephony provider for a CTI panel, modelled on Creatio's `Terrasoft.BaseCtiProvider`
/// (docs/verto-protocol.md §6.3): the call-control methods it declares, the Webitel event set as an
/// `AsyncSequence` (`events`) and as a delegate (`CtiEventHandler`).
///
/// Creatio's `init(config)` both stores the configuration and connects; here `init(configuration:)`
/// stores it and `connect()` logs in. Methods name calls by their `CtiCall` (its `uuid`).
public protocol CtiProvider: AnyObject, Sendable {
    associatedtype Configuration: Sendable
    init(configuration: Configuration)

    /// Provider events, in order. One consumer.
    var events: AsyncStream<CtiEvent> { get }
    /// Sets (or clears) the delegate that receives every event as well.
    func setDelegate(_ handler: (any CtiEventHandler)?) async

    /// Connects and logs in (the connecting half of Creatio's `init(config)`).
    func connect() async throws
    func closeConnection() async throws

    /// Dials `number`; returns once the server created the call (`onNewCall` has fired).
    @discardableResult func makeCall(_ number: String) async throws -> CtiCall
    /// Answers a ringing inbound call; returns once it is active (`onAcceptCall` has fired).
    func answerCall(_ call: CtiCall) async throws
    /// Hangs up; a ringing inbound call is rejected (CALL_REJECTED).
    func dropCall(_ call: CtiCall) async throws
    /// Hold **or** unhold, whichever applies (Creatio's `holdCall` toggles).
    func holdCall(_ call: CtiCall) async throws
    func unholdCall(_ call: CtiCall) async throws
    /// Sends the other party to `target` (`verto.modify transfer`); this leg is released.
    func blindTransferCall(_ call: CtiCall, to target: String) async throws
    /// Holds `call` (if not held) and dials `target` as its consult call.
    @discardableResult func makeConsultCall(_ call: CtiCall, to target: String) async throws -> CtiCall
    /// Completes an attended transfer: joins the parties of `call` and `consultCall`
    /// (`verto.modify replace`); both of our legs are released.
    func transferCall(_ call: CtiCall, consultCall: CtiCall) async throws
    /// Cancels an attended transfer: hangs up the consult call and takes `call` off hold.
    func cancelTransfer(_ call: CtiCall, consultCall: CtiCall) async throws
    /// Sends DTMF digits (`0-9*#A-D`).
    func sendDtmf(_ call: CtiCall, digits: String) async throws
    /// The features available now: for `call`, or with no call the line's (dial only).
    func getCapabilities(for call: CtiCall?) async -> CtiCapabilities
}
