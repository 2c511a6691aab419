import EventSocketCore
import Foundation
import Testing
import TestSupport
import VertoCore
@testable import VertoPhone
@testable import WebitelCTI

/// The provider with a PBX event socket, against our server role and a stand-in event socket that
/// publishes the channel events FreeSWITCH would: the other party's hold, unhold and DTMF reach
/// the operator's provider (matched by the Verto legs' uuids), a malformed event is reported and
/// the next one still counts, and a dropped event socket is reported and reconnected while the
/// Verto side keeps working.
@Suite(.serialized, .realTime) struct PBXEventTests {
    @Test func theOtherPartysHoldDTMFAndAReconnectingEventSocket() async throws {
        let endpoint = try await startEndpoint()
        let pbx = try FakeEventSocketServer(noisy: true)
        var s = settings(endpoint, user: "1001")
        s.eventSocketConnectionString = "127.0.0.1:\(pbx.port):ClueCon"
        let op = WebitelCtiProvider(configuration: s)
        let log = EventLog(op.events)
        let states = StateLog(op.eventSocketStates)
        try await op.connect()
        try await states.wait(for: .connected, count: 1)

        // The subscriber: a plain engine client of user 1000, which answers.
        var o = VertoClientOptions(url: "ws://127.0.0.1:\(endpoint.port)/", login: "1000@127.0.0.1", password: "verto-test")
        o.mediaHost = "127.0.0.1"
        let subscriber = VertoClient(options: o)
        try await subscriber.connect()
        var incoming = subscriber.incomingCalls.makeAsyncIterator()
        let placed = try await op.makeCall("1000")
        let leg = try #require(await incoming.next())
        try await leg.answer()
        _ = try await log.next(.onAcceptCall)

        let other = ["Unique-ID": leg.callID, "Other-Leg-Unique-ID": placed.uuid]
        pbx.publish(other.merging(["Event-Name": "CHANNEL_HOLD"]) { a, _ in a })
        #expect(try await log.next(.onHoldCall).call.state == .held)
        // A malformed event (not JSON) is reported; the one after it still arrives.
        pbx.publishRaw(EventSocketMessage(headers: [(name: "Content-Type", value: "text/event-json")], body: "{not json").serialized())
        try await states.waitForBadMessage()
        pbx.publish(other.merging(["Event-Name": "CHANNEL_UNHOLD"]) { a, _ in a })
        #expect(try await log.next(.onUnholdCall).call.state == .active)
        pbx.publish(other.merging(["Event-Name": "DTMF", "DTMF-Digit": "7"]) { a, _ in a })
        guard case .dtmfCall(_, let digits) = try await log.next(.onDtmfCall) else { Issue.record("not a DTMF event"); return }
        #expect(digits == "7")
        // Events about calls the provider does not know are ignored.
        pbx.publish(["Event-Name": "CHANNEL_HOLD", "Unique-ID": "someone-else"])

        // The event socket drops: reported, reconnected; meanwhile the Verto side works.
        pbx.dropSubscribers()
        try await states.wait(for: .connected, count: 2)
        pbx.publish(other.merging(["Event-Name": "CHANNEL_HOLD"]) { a, _ in a })
        #expect(try await log.next(.onHoldCall, count: 2).call.state == .held)
        try await op.dropCall(placed)
        _ = try await log.next(.onHangupCall)
        try await op.closeConnection()

        let kinds = try await log.all().map(\.kind).filter { $0 != .onBridgeCall && $0 != .onUuidCall }
        #expect(kinds == [.onNewCall, .onNewWebRTCCall, .onAcceptCall, .onHoldCall, .onUnholdCall, .onDtmfCall, .onHoldCall, .onHangupCall],
                "\(kinds)")
        #expect(await states.sawDisconnect)
        try await subscriber.disconnect()
        pbx.stop()
        try await endpoint.stop()
    }
}

/// Records the provider's event-socket states; tests wait on them with a bound.
actor StateLog {
    private var states: [PBXEventSourceState] = []

    init(_ stream: AsyncStream<PBXEventSourceState>) {
        Task { for await s in stream { await self.append(s) } }
    }

    private func append(_ s: PBXEventSourceState) { states.append(s) }

    var sawDisconnect: Bool { states.contains { if case .disconnected = $0 { return true } else { return false } } }

    func wait(for state: PBXEventSourceState, count: Int) async throws {
        try await poll("\(count)× \(state)") { $0.filter { $0 == state }.count >= count }
    }

    func waitForBadMessage() async throws {
        try await poll("a bad message") { $0.contains { if case .badMessage = $0 { return true } else { return false } } }
    }

    private func poll(_ what: String, _ done: ([PBXEventSourceState]) -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(20)
        while !done(states) {
            guard ContinuousClock.now < deadline else { throw TimedOut(what: what) }
            try await Task.sleep(for: .milliseconds(10))
        }
    }
}
