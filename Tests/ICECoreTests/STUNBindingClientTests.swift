import CoreSupport
import NIOCore
import Testing
@testable import ICECore

@Suite("STUN binding client (server-reflexive gathering)")
struct STUNBindingClientTests {
    let server = TransportAddress(198, 51, 100, 1, port: 3478)
    let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000)

    @Test func mappedAddressLearned() throws {
        var random = AnyRandomSource.seeded(1)
        var client = STUNBindingClient(server: server.socketAddress, localCandidate: ICELocalCandidateID(0), now: t0, random: &random)
        let polled = client.pollTransmit()
        let t = try #require(polled)
        let second = client.pollTransmit()
        #expect(second == nil)
        #expect(t.destination == server.socketAddress)
        let request = try STUNMessage.decode(t.bytes)
        #expect(request.type == .bindingRequest)
        #expect(t.bytes.withUnsafeBytes { (try? STUNMessageView($0))?.verifyFingerprint() } == true)

        let mapped = TransportAddress(203, 0, 113, 9, port: 61000)
        // A response to another transaction is not consumed.
        let other = try STUNMessage(type: .bindingSuccess, transactionID: .random(using: &random), attributes: [.xorMappedAddress(mapped)]).encode(fingerprint: true)
        let consumedOther = client.handleDatagram(other, from: server.socketAddress, now: t0)
        #expect(!consumedOther)
        let response = try STUNMessage(type: .bindingSuccess, transactionID: request.transactionID, attributes: [.xorMappedAddress(mapped)]).encode(fingerprint: true)
        let consumed = client.handleDatagram(response, from: server.socketAddress, now: t0 + .milliseconds(30))
        #expect(consumed)
        #expect(client.outcome == .mapped(mapped))
        #expect(client.nextDeadline() == nil)

        // Advertise it: the agent lists it with its base as related address but checks from the host.
        var agent = makeAgent(role: .controlling, seed: 2)
        let host = agent.addHostCandidate(addrA, now: t0)
        try agent.addServerReflexiveCandidate(mapped, base: host, now: t0)
        let listed = agent.localCandidates
        #expect(listed.map(\.type) == [.host, .srflx])
        #expect(listed[1].relatedAddress == addrA)
        #expect(listed[1].priority == ICECandidate.priority(type: .srflx))
        agent.setRemoteDescription(credentials: .random(using: &random),
                                   candidates: [ICECandidate(foundation: "9", priority: 1, address: addrB, type: .host)], now: t0)
        #expect(agent.checklist.count == 1)
        let first = agent.pollTransmit()
        #expect(first?.localCandidate == host)
    }

    @Test func boundedWaitTimesOut() {
        var random = AnyRandomSource.seeded(3)
        var client = STUNBindingClient(server: server.socketAddress, localCandidate: ICELocalCandidateID(0), now: t0, random: &random,
                                       initialRTO: .milliseconds(100), maximumWait: .milliseconds(500))
        var sentAt: [Int64] = []
        var now = t0
        while client.outcome == nil {
            while client.pollTransmit() != nil { sentAt.append((now - t0).nanoseconds / 1_000_000) }
            guard let d = client.nextDeadline() else { break }
            now = d
            client.handleTimeout(now: now)
        }
        #expect(sentAt == [0, 100, 300])
        #expect(client.outcome == .timedOut)
        #expect(now - t0 == .milliseconds(500))
    }

    @Test func errorResponse() throws {
        var random = AnyRandomSource.seeded(4)
        var client = STUNBindingClient(server: server.socketAddress, localCandidate: ICELocalCandidateID(0), now: t0, random: &random)
        let request = try STUNMessage.decode(client.pollTransmit()!.bytes)
        let response = try STUNMessage(type: .bindingError, transactionID: request.transactionID,
                                       attributes: [.errorCode(code: 500, reason: "Server Error")]).encode()
        let consumed = client.handleDatagram(response, from: server.socketAddress, now: t0)
        #expect(consumed)
        #expect(client.outcome == .error(code: 500))
    }
}
