import Foundation
import NIOPosix
import Testing
import VertoCore
@testable import VertoPhone
@testable import WebitelCTI

/// The server-role mapping alone (sans-IO): endpoint events in, CTI events out.
@Suite struct ServerCtiEventMapperTests {
    let loop = MultiThreadedEventLoopGroup.singleton.next()

    func leg(_ id: String, user: String?, destination: String, caller: String?, outbound: Bool) -> VertoEndpointEvent {
        .newWebRTCCall(ServerCallInfo(callID: id, user: user, destination: destination, callerIDNumber: caller,
                                      callerIDName: caller.map { "User \($0)" }, outbound: outbound),
                       MediaSession(callID: id, eventLoop: loop))
    }

    /// Holds by both legs of the call make one hold; the call is unheld when the last holder lets go.
    @Test func holdsOfBothLegsCountOnce() {
        var m = ServerCtiEventMapper(account: "1001")
        var kinds: [CtiEventKind] = []
        let feed: [VertoEndpointEvent] = [
            leg("A", user: "1001", destination: "1000", caller: "1001", outbound: false),
            leg("B", user: "1000", destination: "1000", caller: "1001", outbound: true),
            .answered(callID: "B"), .answered(callID: "A"), .bridged(callID: "A", otherCallID: "B"),
            .hold(callID: "A", held: true), .hold(callID: "B", held: true),
            .hold(callID: "A", held: false), .hold(callID: "B", held: false),
            .dtmf(callID: "A", digits: "1"),  // counted from the media session instead
            .ended(callID: "A", cause: .normalClearing), .ended(callID: "B", cause: .normalClearing),
        ]
        for e in feed { kinds += m.map(e).map(\.kind) }
        #expect(kinds == [.onNewCall, .onNewWebRTCCall, .onAcceptCall, .onHoldCall, .onUnholdCall, .onHangupCall])
        #expect(m.activeCalls.isEmpty)
    }

    /// The partner hanging up while holding raises no unhold: the call ends with it.
    @Test func partnerLeavingWhileHoldingRaisesOnlyTheHangup() {
        var m = ServerCtiEventMapper(account: "1000")
        var out: [CtiEvent] = []
        let feed: [VertoEndpointEvent] = [
            leg("A", user: "1001", destination: "1000", caller: "1001", outbound: false),
            leg("B", user: "1000", destination: "1000", caller: "1001", outbound: true),
            .answered(callID: "B"), .answered(callID: "A"), .bridged(callID: "A", otherCallID: "B"),
            .hold(callID: "A", held: true),
            .ended(callID: "A", cause: .normalClearing), .ended(callID: "B", cause: .normalClearing),
        ]
        for e in feed { out += m.map(e) }
        #expect(out.kinds == [.onNewCall, .onNewWebRTCCall, .onAcceptCall, .onHoldCall, .onHangupCall])
        #expect(out[0].call.direction == .inbound && out[0].call.callerNumber == "1001" && out[0].call.calleeNumber == "1000")
        #expect(out[3].call.otherLegUuid == "A" && out[3].call.state == .held)
        #expect(m.digits("12", callID: "B").isEmpty, "ended")
    }

    /// Digits of the account's leg, one event per digit; other legs' digits are not the account's.
    @Test func digitsPerDigit() {
        var m = ServerCtiEventMapper(account: "1001")
        _ = m.map(leg("A", user: "1001", destination: "9197", caller: "1001", outbound: false))
        #expect(m.digits("12#", callID: "A").compactMap(\.dtmfDigits) == ["1", "2", "#"])
        #expect(m.digits("5", callID: "other").isEmpty)
    }
}
