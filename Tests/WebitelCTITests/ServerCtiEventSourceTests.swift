import Foundation
import NIOCore
import Testing
import TestSupport
import VertoCore
import VertoPhone
@testable import WebitelCTI

/// The server role raises the same events from what the endpoint knows directly (`ServerCtiEventSource`
/// for one account). The source consumes `endpoint.events`; the endpoint's stop ends its stream.
@Suite(.serialized, .realTime) struct ServerCtiEventSourceTests {
    /// Seed Fig. 3 from the operator's side, as Webitel sees it: the operator (1001) calls the
    /// subscriber (1000), the subscriber holds and unholds, the operator hangs up → exactly
    /// onNewCall, onNewWebRTCCall, onAcceptCall, onHoldCall, onUnholdCall, onHangupCall.
    @Test func fig3OperatorSeesTheSubscribersHold() async throws {
        let endpoint = try await startEndpoint()
        let source = ServerCtiEventSource(endpoint: endpoint, account: "1001")
        let log = EventLog(source.events)
        let (op, opLog) = try await provider(endpoint, user: "1001")
        let (sub, subLog) = try await provider(endpoint, user: "1000")

        let placed = try await op.makeCall("1000")
        let ringing = try await subLog.next(.onNewCall).call
        try await sub.answerCall(ringing)
        try await log.next(.onAcceptCall)
        try await sub.holdCall(ringing)
        try await log.next(.onHoldCall)
        try await sub.unholdCall(ringing)
        try await log.next(.onUnholdCall)
        try await op.dropCall(placed)
        try await log.next(.onHangupCall)
        try await subLog.next(.onHangupCall)
        try await op.closeConnection()
        try await sub.closeConnection()
        _ = try await opLog.all()
        try await endpoint.stop()

        let all = try await log.all()
        #expect(all.kinds == [.onNewCall, .onNewWebRTCCall, .onAcceptCall, .onHoldCall, .onUnholdCall, .onHangupCall])
        #expect(all.allSatisfy { $0.call.uuid == placed.uuid }, "the operator's leg keys the call")
        let c = all[0].call
        #expect(c.direction == .outbound && c.callerNumber == "1001" && c.callerName == "User 1001" && c.calleeNumber == "1000")
        #expect(c.state == .ringing)
        #expect(all[2].call.state == .active && all[2].call.answeredTime != nil)
        #expect(all[3].call.state == .held && all[3].call.otherLegUuid == ringing.uuid)
        #expect(all[4].call.state == .active)
        #expect(all[5].call.state == .hangup && all[5].call.hangupCause == "NORMAL_CLEARING")
    }

    /// Attended transfer seen by the server role for all three accounts at once: the operator's
    /// two legs end; the subscriber's call, held by the operator, comes off hold when its party
    /// changes, and both remaining parties see the new bridge and the new other leg.
    @Test func attendedTransferForThreeAccounts() async throws {
        let endpoint = try await startEndpoint()
        let source = ServerCtiEventSource(endpoint: endpoint, accounts: ["1001", "1000", "1002"])
        let opSrv = EventLog(source.events(for: "1001"))
        let subSrv = EventLog(source.events(for: "1000"))
        let tgtSrv = EventLog(source.events(for: "1002"))
        let (op, opLog) = try await provider(endpoint, user: "1001")
        let (sub, subLog) = try await provider(endpoint, user: "1000")
        let (target, targetLog) = try await provider(endpoint, user: "1002")

        let first = try await op.makeCall("1000")
        let subCall = try await subLog.next(.onNewCall).call
        try await sub.answerCall(subCall)
        try await opLog.next(.onAcceptCall)
        let consult = try await op.makeConsultCall(first, to: "1002")
        try await subSrv.next(.onHoldCall)
        let targetCall = try await targetLog.next(.onNewCall).call
        try await target.answerCall(targetCall)
        try await opLog.next(.onAcceptCall, count: 2)
        try await op.transferCall(first, consultCall: consult)
        try await subSrv.next(.onUuidCall)
        try await tgtSrv.next(.onUuidCall)
        try await sub.dropCall(subCall)
        try await targetLog.next(.onHangupCall)
        try await tgtSrv.next(.onHangupCall)
        for p in [op, sub, target] { try await p.closeConnection() }
        for l in [opLog, subLog, targetLog] { _ = try await l.all() }
        try await endpoint.stop()

        let o = try await opSrv.all()
        #expect(o.kinds == [.onNewCall, .onNewWebRTCCall, .onAcceptCall, .onHoldCall,
                            .onNewCall, .onNewWebRTCCall, .onAcceptCall, .onHangupCall, .onHangupCall])
        #expect(o.map(\.call.uuid) == [first.uuid, first.uuid, first.uuid, first.uuid,
                                       consult.uuid, consult.uuid, consult.uuid, first.uuid, consult.uuid])
        let s = try await subSrv.all()
        #expect(s.kinds == [.onNewCall, .onNewWebRTCCall, .onAcceptCall, .onHoldCall, .onUnholdCall, .onBridgeCall,
                            .onUuidCall, .onHangupCall])
        #expect(s.allSatisfy { $0.call.uuid == subCall.uuid })
        #expect(s[0].call.direction == .inbound && s[0].call.callerNumber == "1001")
        #expect(s[5].call.callerNumber == "1002" && s[5].call.otherLegUuid == targetCall.uuid)
        if case .uuidCall(_, let newId) = s[6] { #expect(newId == targetCall.uuid) }
        let t = try await tgtSrv.all()
        #expect(t.kinds == [.onNewCall, .onNewWebRTCCall, .onAcceptCall, .onBridgeCall, .onUuidCall, .onHangupCall])
        #expect(t[3].call.callerNumber == "1000" && t[3].call.otherLegUuid == subCall.uuid)
    }

    /// The server role: an inbound call to the account with digits received (verto.info and RFC 4733
    /// both reach the leg's media session), hung up by the server.
    @Test func inboundCallWithDigitsFromTheClient() async throws {
        let endpoint = try await startEndpoint()
        let source = ServerCtiEventSource(endpoint: endpoint, account: "1000")
        let log = EventLog(source.events)
        let (p, pLog) = try await provider(endpoint, user: "1000")
        let id = try await endpoint.call(user: "1000", callerIDNumber: "9000", callerIDName: "Tester", source: .silence)
        let ring = try await pLog.next(.onNewCall).call
        try await p.answerCall(ring)
        try await log.next(.onAcceptCall)
        try await p.sendDtmf(ring, digits: "1234#")
        let got = try await log.wait("5 digits") { es, _ in es.filter { $0.kind == .onDtmfCall }.count >= 5 }
        #expect(got.compactMap(\.dtmfDigits).joined() == "1234#")
        try await endpoint.hangup(callID: id)
        try await pLog.next(.onHangupCall)
        try await p.closeConnection()
        try await endpoint.stop()
        let all = try await log.all()
        #expect(all.kinds == [.onNewCall, .onNewWebRTCCall, .onAcceptCall, .onDtmfCall, .onDtmfCall, .onDtmfCall, .onDtmfCall,
                              .onDtmfCall, .onHangupCall])
        let c = all[0].call
        #expect(c.uuid == id && c.direction == .inbound && c.callerNumber == "9000" && c.callerName == "Tester")
        #expect(all.last?.call.hangupCause == "NORMAL_CLEARING")
    }
}
