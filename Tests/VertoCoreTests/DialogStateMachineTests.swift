import Testing
@testable import VertoCore

@Suite struct DialogStateMachineTests {
    struct Row: Sendable, CustomTestStringConvertible {
        var from: DialogState
        var event: DialogEvent
        var to: DialogState?  // nil = invalid transition
        var testDescription: String { "\(from) --\(event)--> \(to.map { "\($0)" } ?? "error")" }
    }

    static let table: [Row] = [
        Row(from: .new, event: .invite, to: .trying),
        Row(from: .trying, event: .ringing, to: .ringing),
        Row(from: .trying, event: .earlyMedia, to: .early),
        Row(from: .trying, event: .answer, to: .active),
        Row(from: .ringing, event: .earlyMedia, to: .early),
        Row(from: .ringing, event: .answer, to: .active),
        Row(from: .early, event: .answer, to: .active),
        Row(from: .early, event: .ringing, to: .early),
        Row(from: .active, event: .hold, to: .held),
        Row(from: .held, event: .unhold, to: .active),
        Row(from: .held, event: .hold, to: .held),
        Row(from: .active, event: .unhold, to: .active),
        Row(from: .active, event: .toggleHold, to: .held),
        Row(from: .held, event: .toggleHold, to: .active),
        Row(from: .active, event: .modify("transfer"), to: .active),
        Row(from: .held, event: .modify("replace"), to: .held),
        Row(from: .active, event: .detach, to: .recovering),
        Row(from: .held, event: .detach, to: .recovering),
        Row(from: .recovering, event: .reattach, to: .active),
        Row(from: .active, event: .hangup(.normalClearing), to: .hangup(.normalClearing)),
        Row(from: .ringing, event: .hangup(.originatorCancel), to: .hangup(.originatorCancel)),
        Row(from: .recovering, event: .hangup(.recoveryOnTimerExpire), to: .hangup(.recoveryOnTimerExpire)),
        Row(from: .hangup(.normalClearing), event: .destroy, to: .destroyed),
        // Invalid: modifying or holding an unanswered call, answering twice, anything after hangup.
        Row(from: .trying, event: .hold, to: nil),
        Row(from: .ringing, event: .hold, to: nil),
        Row(from: .early, event: .unhold, to: nil),
        Row(from: .new, event: .answer, to: nil),
        Row(from: .early, event: .earlyMedia, to: nil),
        Row(from: .active, event: .answer, to: nil),
        Row(from: .ringing, event: .modify("transfer"), to: nil),
        Row(from: .trying, event: .modify("updateMedia"), to: nil),
        Row(from: .ringing, event: .detach, to: nil),
        Row(from: .active, event: .reattach, to: nil),
        Row(from: .hangup(.normalClearing), event: .hangup(.userBusy), to: nil),
        Row(from: .destroyed, event: .invite, to: nil),
        Row(from: .active, event: .destroy, to: nil),
    ]

    @Test(arguments: table)
    func transition(_ row: Row) {
        if let to = row.to {
            #expect((try? DialogStateMachine.transition(from: row.from, on: row.event, callID: "c")) == to)
        } else {
            #expect(throws: VertoError.self) { try DialogStateMachine.transition(from: row.from, on: row.event, callID: "c") }
        }
    }

    @Test func holdOnUnansweredCallMapsToTheMod_vertoError() {
        do {
            _ = try DialogStateMachine.transition(from: .ringing, on: .hold, callID: "c1")
            Issue.record("expected an error")
        } catch {
            #expect(error == .invalidTransition(callID: "c1", from: .ringing, event: "hold"))
            #expect(error.jsonRPCCode == -32002)
            #expect(error.jsonRPCMessage == "Cannot update a call that has not been answered.")
        }
    }

    @Test func failedApplyLeavesStateUnchanged() {
        var d = VertoDialog(callID: "c", direction: .clientOriginated)
        expectThrows(.invalidTransition(callID: "c", from: .new, event: "answer")) { try d.apply(.answer) }
        #expect(d.state == .new)
        let applied = d.applyIfValid(.invite)
        #expect(applied)
        #expect(d.state == .trying)
    }

    @Test func detachRemembersHold() throws {
        var d = VertoDialog(callID: "c", direction: .clientOriginated)
        try d.apply(.invite)
        try d.apply(.answer)
        try d.apply(.hold)
        try d.apply(.detach)
        #expect(d.wasHeld)
        #expect(d.state == .recovering)
        #expect(d.state.isAnswered)
    }
}

@Suite struct HangupCauseTests {
    @Test(arguments: [
        (HangupCause.normalClearing, "NORMAL_CLEARING", 16), (.userBusy, "USER_BUSY", 17), (.noAnswer, "NO_ANSWER", 19),
        (.callRejected, "CALL_REJECTED", 21), (.destinationOutOfOrder, "DESTINATION_OUT_OF_ORDER", 27),
        (.bearerCapabilityNotAuth, "BEARERCAPABILITY_NOTAUTH", 57), (.bearerCapabilityNotAvail, "BEARERCAPABILITY_NOTAVAIL", 58),
        (.incompatibleDestination, "INCOMPATIBLE_DESTINATION", 88), (.invalidMsgUnspecified, "INVALID_MSG_UNSPECIFIED", 95),
        (.recoveryOnTimerExpire, "RECOVERY_ON_TIMER_EXPIRE", 102), (.originatorCancel, "ORIGINATOR_CANCEL", 487),
        (.loseRace, "LOSE_RACE", 502), (.pickedOff, "PICKED_OFF", 605),
    ])
    func namesAndCodes(_ cause: HangupCause, _ name: String, _ code: Int) {
        #expect(cause.name == name)
        #expect(cause.code == code)
        #expect(HangupCause(name: name) == cause)
        #expect(HangupCause(code: code) == cause)
    }

    @Test func byeInterpretationFollowsMod_verto() {
        #expect(HangupCause.fromBye(cause: "USER_BUSY", causeCode: nil) == .userBusy)
        #expect(HangupCause.fromBye(cause: nil, causeCode: "21") == .callRejected)
        #expect(HangupCause.fromBye(cause: nil, causeCode: 17) == .userBusy)
        #expect(HangupCause.fromBye(cause: "NONSENSE", causeCode: nil) == .normalClearing)
        #expect(HangupCause.fromBye(cause: nil, causeCode: nil) == .normalClearing)
        #expect(HangupCause.fromRemote(cause: "WEIRD", causeCode: 999) == .other(name: "WEIRD", code: 999))
    }
}
