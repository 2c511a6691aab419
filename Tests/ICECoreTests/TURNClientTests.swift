import CoreSupport
import CryptoCore
import Foundation
import NIOCore
import Testing
@testable import ICECore

/// The sans-IO TURN client (RFC 8656) in virtual time: the test plays the TURN server, decoding
/// what the client sends and answering with messages it builds and signs itself.
@Suite("TURN client (RFC 8656), sans-IO in virtual time")
struct TURNClientTests {
    static let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000)
    static let server = TransportAddress(192, 0, 2, 1, port: 3478)
    static let relayed = TransportAddress(192, 0, 2, 1, port: 49_152)
    static let mapped = TransportAddress(203, 0, 113, 7, port: 40_000)
    static let peer = TransportAddress(198, 51, 100, 20, port: 5000)
    static let otherPeer = TransportAddress(198, 51, 100, 21, port: 6000)
    static let realm = "example.org"
    static let credentials = TURNCredentials(username: "alice", password: "wonderland")
    /// The long-term key, RFC 8489 §9.2.2: MD5(username ":" realm ":" password).
    static let key = MD5Digest.hash(Array("alice:example.org:wonderland".utf8))
    static let wrongKey = MD5Digest.hash(Array("alice:example.org:guess".utf8))

    // MARK: - The client side

    func makeClient(transport: TURNTransport = .udp, credentials: TURNCredentials? = TURNClientTests.credentials,
                    seed: UInt64 = 1, configure: (inout TURNClient.Configuration) -> Void = { _ in }) -> TURNClient {
        var configuration = TURNClient.Configuration()
        configure(&configuration)
        return TURNClient(server: Self.server.socketAddress, transport: transport, credentials: credentials,
                          configuration: configuration, random: .seeded(seed), now: Self.t0)
    }

    /// The next message the client sends, decoded, with its bytes.
    func nextRequest(_ client: inout TURNClient) throws -> (message: STUNMessage, bytes: [UInt8]) {
        let sent = client.pollTransmit()
        let bytes = try #require(sent, "the client should have sent a request")
        return (try STUNMessage.decode(bytes), bytes)
    }

    /// Runs the 401 round trip: the first Allocate is challenged, the authenticated one is returned.
    func authenticatedAllocate(_ client: inout TURNClient, at now: NIODeadline) throws -> (message: STUNMessage, bytes: [UInt8]) {
        let first = try nextRequest(&client).message
        let challengeBytes = try challenge(to: first)
        let consumed = client.handleFromServer(challengeBytes, now: now)
        #expect(consumed == .control)
        return try nextRequest(&client)
    }

    /// A client whose allocation succeeded at `t0` with `lifetime`; events and transmits drained.
    func allocated(transport: TURNTransport = .udp, lifetime: UInt32 = 600, seed: UInt64 = 1) throws -> TURNClient {
        var client = makeClient(transport: transport, seed: seed)
        let request = try authenticatedAllocate(&client, at: Self.t0).message
        let success = try allocateSuccess(to: request, lifetime: lifetime)
        let consumed = client.handleFromServer(success, now: Self.t0)
        #expect(consumed == .control)
        #expect(client.state == .allocated)
        while client.pollEvent() != nil {}
        let extra = client.pollTransmit()
        #expect(extra == nil)
        return client
    }

    /// Binds a channel for `peer` by sending `payload` and answering the ChannelBind; the flushed
    /// ChannelData is drained. Returns the channel number.
    @discardableResult
    func bindChannel(_ client: inout TURNClient, to peer: TransportAddress, payload: [UInt8] = [0xAB], now: NIODeadline) throws -> UInt16 {
        client.send(payload, to: peer, now: now)
        let bind = try nextRequest(&client).message
        let number = try #require(channelNumber(bind))
        let answer = try response(to: bind)
        let consumed = client.handleFromServer(answer, now: now)
        #expect(consumed == .control)
        #expect(client.isBound(peer))
        while client.pollTransmit() != nil {}
        return number
    }

    // MARK: - The server side

    func response(to request: STUNMessage, _ messageClass: STUNClass = .successResponse, _ attributes: [STUNAttribute] = [],
                  key: [UInt8]? = TURNClientTests.key) throws -> [UInt8] {
        try STUNMessage(type: STUNMessageType(method: request.type.method, messageClass: messageClass),
                        transactionID: request.transactionID, attributes: attributes).encode(integrityKey: key, fingerprint: true)
    }

    /// A 401 (or 438) naming the realm and a nonce, unsigned as RFC 8489 §9.2.4 has it.
    func challenge(to request: STUNMessage, code: Int = 401, nonce: String = "nonce-1") throws -> [UInt8] {
        try response(to: request, .errorResponse, [
            .errorCode(code: code, reason: code == 401 ? "Unauthorized" : "Stale Nonce"),
            .other(type: TURNAttribute.realm, value: Array(Self.realm.utf8)),
            .other(type: TURNAttribute.nonce, value: Array(nonce.utf8)),
        ], key: nil)
    }

    func allocateSuccess(to request: STUNMessage, relayed: TransportAddress = TURNClientTests.relayed, lifetime: UInt32 = 600,
                         extra: [STUNAttribute] = [], key: [UInt8]? = TURNClientTests.key) throws -> [UInt8] {
        try response(to: request, .successResponse, [
            TURNAttribute.xorAddress(TURNAttribute.xorRelayedAddress, relayed, transactionID: request.transactionID),
            .xorMappedAddress(Self.mapped),
            .other(type: TURNAttribute.lifetime, value: TURNAttribute.u32(lifetime)),
        ] + extra, key: key)
    }

    func dataIndication(from peer: TransportAddress, payload: [UInt8]) throws -> [UInt8] {
        let id = STUNTransactionID(a: 0x0102_0304, b: 0x0506_0708, c: 0x090A_0B0C)
        return try STUNMessage(type: STUNMessageType(method: .data, messageClass: .indication), transactionID: id, attributes: [
            TURNAttribute.xorAddress(TURNAttribute.xorPeerAddress, peer, transactionID: id),
            .other(type: TURNAttribute.data, value: payload),
        ]).encode(fingerprint: true)
    }

    // MARK: - Reading requests

    func verifies(_ bytes: [UInt8], key: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { raw in
            key.withUnsafeBytes { k in
                guard let view = try? STUNMessageView(raw) else { return false }
                return view.verifyIntegrity(key: k)
            }
        }
    }

    func channelNumber(_ message: STUNMessage) -> UInt16? {
        guard let v = message.otherValue(TURNAttribute.channelNumber), v.count == 4 else { return nil }
        return UInt16(v[0]) << 8 | UInt16(v[1])
    }

    func peerAddress(_ message: STUNMessage) -> TransportAddress? {
        message.otherValue(TURNAttribute.xorPeerAddress).flatMap { TURNAttribute.decodeXORAddress($0, transactionID: message.transactionID) }
    }

    func lifetime(_ message: STUNMessage) -> UInt32? {
        message.otherValue(TURNAttribute.lifetime).flatMap(TURNClient.u32)
    }

    func milliseconds(_ d: NIODeadline) -> Int64 { (d - Self.t0).nanoseconds / 1_000_000 }

    static let allocateRequest = STUNMessageType(method: .allocate, messageClass: .request)
    static let refreshRequest = STUNMessageType(method: .refresh, messageClass: .request)
    static let channelBindRequest = STUNMessageType(method: .channelBind, messageClass: .request)

    // MARK: - Allocation and the long-term credential mechanism

    @Test func firstAllocateRequestsAUDPRelayWithoutMessageIntegrity() throws {
        var client = makeClient()
        #expect(client.state == .allocating)
        let (request, bytes) = try nextRequest(&client)
        #expect(request.type == Self.allocateRequest)
        #expect(request.otherValue(TURNAttribute.requestedTransport) == [17, 0, 0, 0])
        #expect(request.messageIntegrity == nil)
        #expect(request.username == nil)
        #expect(request.otherValue(TURNAttribute.realm) == nil)
        #expect(request.otherValue(TURNAttribute.nonce) == nil)
        #expect(bytes.withUnsafeBytes { (try? STUNMessageView($0))?.verifyFingerprint() } == true)
        let more = client.pollTransmit()
        #expect(more == nil)
        #expect(client.statistics.requestsSent == 1)
    }

    @Test func unauthorizedWithRealmAndNonceResendsAllocateSignedWithTheLongTermKey() throws {
        var client = makeClient()
        let first = try nextRequest(&client).message
        let consumed = client.handleFromServer(try challenge(to: first), now: Self.t0 + .milliseconds(20))
        #expect(consumed == .control)
        #expect(client.state == .allocating)
        let (second, bytes) = try nextRequest(&client)
        #expect(second.type == Self.allocateRequest)
        #expect(second.transactionID != first.transactionID)
        #expect(second.otherValue(TURNAttribute.requestedTransport) == [17, 0, 0, 0])
        #expect(second.username == "alice")
        #expect(second.otherString(TURNAttribute.realm) == Self.realm)
        #expect(second.otherValue(TURNAttribute.nonce) == Array("nonce-1".utf8))
        #expect(second.messageIntegrity != nil)
        #expect(verifies(bytes, key: Self.key))
        #expect(!verifies(bytes, key: Self.wrongKey))
        #expect(Self.credentials.key(realm: Self.realm) == Self.key)
        let events = client.pollEvent()
        #expect(events == nil)
    }

    @Test func signedSuccessYieldsTheRelayedAndMappedAddressesAndLifetime() throws {
        var client = makeClient()
        let request = try authenticatedAllocate(&client, at: Self.t0).message
        let at = Self.t0 + .milliseconds(40)
        let consumed = client.handleFromServer(try allocateSuccess(to: request), now: at)
        #expect(consumed == .control)
        #expect(client.state == .allocated)
        let event = client.pollEvent()
        #expect(event == .allocated(relayed: Self.relayed, mapped: Self.mapped, lifetime: 600))
        let more = client.pollEvent()
        #expect(more == nil)
        #expect(client.relayedAddress == Self.relayed)
        #expect(client.mappedAddress == Self.mapped)
        #expect(client.allocatedAt == at)
        #expect(client.nextDeadline() == at + .seconds(540), "the only timer left is the refresh")
    }

    @Test func anIPv6RelayedAddressIsUnmaskedWithTheTransactionID() throws {
        var client = makeClient()
        let request = try authenticatedAllocate(&client, at: Self.t0).message
        let v6 = try #require(TransportAddress(literal: "2001:db8::7", port: 50_000))
        let consumed = client.handleFromServer(try allocateSuccess(to: request, relayed: v6), now: Self.t0)
        #expect(consumed == .control)
        let event = client.pollEvent()
        #expect(event == .allocated(relayed: v6, mapped: Self.mapped, lifetime: 600))
    }

    @Test func aSuccessWithoutRelayedAddressFails() throws {
        var client = makeClient()
        let request = try authenticatedAllocate(&client, at: Self.t0).message
        let answer = try response(to: request, .successResponse, [.xorMappedAddress(Self.mapped)])
        let consumed = client.handleFromServer(answer, now: Self.t0)
        #expect(consumed == .control)
        #expect(client.state == .failed)
        let event = client.pollEvent()
        #expect(event == .failed(.noRelayedAddress))
    }

    @Test func aSignedErrorOtherThanAChallengeIsRejected() throws {
        var client = makeClient()
        let request = try authenticatedAllocate(&client, at: Self.t0).message
        let answer = try response(to: request, .errorResponse, [.errorCode(code: 486, reason: "Allocation Quota Reached")])
        let consumed = client.handleFromServer(answer, now: Self.t0)
        #expect(consumed == .control)
        #expect(client.state == .failed)
        let event = client.pollEvent()
        #expect(event == .failed(.rejected(code: 486, reason: "Allocation Quota Reached")))
    }

    @Test func unauthorizedAfterCredentialsWereSentFails() throws {
        var client = makeClient()
        let second = try authenticatedAllocate(&client, at: Self.t0).message
        let consumed = client.handleFromServer(try challenge(to: second), now: Self.t0 + .milliseconds(30))
        #expect(consumed == .control)
        #expect(client.state == .failed)
        let event = client.pollEvent()
        #expect(event == .failed(.unauthorized))
        let sent = client.pollTransmit()
        #expect(sent == nil, "no third attempt with the same wrong password")
        #expect(client.nextDeadline() == nil)
    }

    @Test func unauthorizedWithoutConfiguredCredentialsFails() throws {
        var client = makeClient(credentials: nil)
        let first = try nextRequest(&client).message
        let consumed = client.handleFromServer(try challenge(to: first), now: Self.t0)
        #expect(consumed == .control)
        #expect(client.state == .failed)
        let event = client.pollEvent()
        #expect(event == .failed(.unauthorized))
        let sent = client.pollTransmit()
        #expect(sent == nil)
    }

    @Test func withoutCredentialsAnUnsignedSuccessIsAccepted() throws {
        var client = makeClient(credentials: nil)
        let first = try nextRequest(&client).message
        let consumed = client.handleFromServer(try allocateSuccess(to: first, key: nil), now: Self.t0)
        #expect(consumed == .control)
        #expect(client.state == .allocated)
    }

    @Test func staleNonceResendsWithTheNewNonce() throws {
        var client = makeClient()
        let second = try authenticatedAllocate(&client, at: Self.t0).message
        let consumed = client.handleFromServer(try challenge(to: second, code: 438, nonce: "nonce-2"), now: Self.t0 + .milliseconds(30))
        #expect(consumed == .control)
        #expect(client.state == .allocating)
        let (third, bytes) = try nextRequest(&client)
        #expect(third.type == Self.allocateRequest)
        #expect(third.transactionID != second.transactionID)
        #expect(third.otherValue(TURNAttribute.nonce) == Array("nonce-2".utf8))
        #expect(third.username == "alice")
        #expect(verifies(bytes, key: Self.key))
        let allocatedNow = client.handleFromServer(try allocateSuccess(to: third), now: Self.t0 + .milliseconds(60))
        #expect(allocatedNow == .control)
        #expect(client.state == .allocated)
    }

    // MARK: - What is dropped

    @Test func aSuccessWithWrongMessageIntegrityIsDropped() throws {
        var client = makeClient()
        let request = try authenticatedAllocate(&client, at: Self.t0).message
        let forged = client.handleFromServer(try allocateSuccess(to: request, key: Self.wrongKey), now: Self.t0)
        #expect(forged == .dropped)
        #expect(client.statistics.badIntegrity == 1)
        #expect(client.state == .allocating)
        let unsigned = client.handleFromServer(try allocateSuccess(to: request, key: nil), now: Self.t0)
        #expect(unsigned == .dropped, "once credentials were sent, an unsigned success is not trusted")
        #expect(client.statistics.badIntegrity == 2)
        let event = client.pollEvent()
        #expect(event == nil)
        // The transaction stayed open: the genuine answer still completes it.
        let genuine = client.handleFromServer(try allocateSuccess(to: request), now: Self.t0)
        #expect(genuine == .control)
        #expect(client.state == .allocated)
    }

    /// Only a 401/438 *error response* may come unsigned (RFC 8489 §9.2.5): an ERROR-CODE attribute
    /// slipped into a success response must not switch the MESSAGE-INTEGRITY check off.
    @Test(arguments: [401, 438])
    func anUnsignedSuccessCarryingAChallengeErrorCodeIsStillDropped(code: Int) throws {
        var client = makeClient()
        let request = try authenticatedAllocate(&client, at: Self.t0).message
        let attacker = TransportAddress(203, 0, 113, 66, port: 9)
        let forged = try allocateSuccess(to: request, relayed: attacker,
                                         extra: [.errorCode(code: code, reason: "Unauthorized")], key: nil)
        let r = client.handleFromServer(forged, now: Self.t0)
        #expect(r == .dropped)
        #expect(client.statistics.badIntegrity == 1)
        #expect(client.state == .allocating)
        #expect(client.relayedAddress == nil)
    }

    @Test func aResponseWithAnUnknownTransactionIDIsDroppedAndCounted() throws {
        var client = makeClient()
        let first = try nextRequest(&client).message
        let consumed = client.handleFromServer(try challenge(to: first), now: Self.t0)
        #expect(consumed == .control)
        let second = try nextRequest(&client).message
        var stranger = second
        stranger.transactionID = STUNTransactionID(a: 1, b: 2, c: 3)
        let r1 = client.handleFromServer(try allocateSuccess(to: stranger), now: Self.t0)
        #expect(r1 == .dropped)
        #expect(client.statistics.unmatchedResponses == 1)
        // A duplicate of the (already consumed) challenge to the first Allocate is no longer matched.
        let r2 = client.handleFromServer(try challenge(to: first), now: Self.t0)
        #expect(r2 == .dropped)
        #expect(client.statistics.unmatchedResponses == 2)
        #expect(client.state == .allocating)
        let sent = client.pollTransmit()
        #expect(sent == nil)
    }

    /// RFC 8489 §6.3.3: a response with an unknown comprehension-required attribute is not used,
    /// and the transaction fails.
    @Test func aSignedSuccessWithAnUnknownComprehensionRequiredAttributeFailsTheTransaction() throws {
        var client = makeClient()
        let request = try authenticatedAllocate(&client, at: Self.t0).message
        let answer = try allocateSuccess(to: request, extra: [.other(type: 0x7F01, value: [0, 0, 0, 0])])
        let r = client.handleFromServer(answer, now: Self.t0)
        #expect(r == .dropped)
        #expect(client.statistics.unknownComprehensionRequired == 1)
        #expect(client.state == .failed)
        #expect(client.relayedAddress == nil)
    }

    /// An unknown comprehension-optional attribute (0x8000–0xFFFF) is ignored.
    @Test func anUnknownComprehensionOptionalAttributeIsIgnored() throws {
        var client = makeClient()
        let request = try authenticatedAllocate(&client, at: Self.t0).message
        let optional = try allocateSuccess(to: request, extra: [.other(type: 0xC001, value: [1, 2, 3, 4])])
        let accepted = client.handleFromServer(optional, now: Self.t0)
        #expect(accepted == .control)
        #expect(client.state == .allocated)
    }

    @Test func garbageAndTruncatedMessagesAreDroppedAsMalformed() throws {
        var client = makeClient()
        let request = try authenticatedAllocate(&client, at: Self.t0).message
        let genuine = try allocateSuccess(to: request)
        let serverRequest = try STUNMessage(type: Self.allocateRequest, transactionID: request.transactionID).encode(fingerprint: true)
        let inputs: [[UInt8]] = [
            [0xDE, 0xAD, 0xBE, 0xEF, 0x00, 0x01],  // neither STUN nor ChannelData
            [0x01, 0x03, 0x00],  // shorter than a STUN header
            Array(genuine.prefix(20)),  // the header alone; its length announces attributes
            Array(genuine.prefix(genuine.count - 4)),  // truncated
            genuine + [0, 0, 0, 0],  // trailing bytes
            serverRequest,  // a request is not an answer
        ]
        for (i, input) in inputs.enumerated() {
            let r = client.handleFromServer(input, now: Self.t0)
            #expect(r == .dropped, "input \(i)")
        }
        #expect(client.statistics.malformed == inputs.count)
        let empty = client.handleFromServer([UInt8](), now: Self.t0)
        #expect(empty == .dropped)
        #expect(client.state == .allocating)
        let accepted = client.handleFromServer(genuine, now: Self.t0)
        #expect(accepted == .control)
        #expect(client.state == .allocated)
    }

    @Test func anOversizeAttributeLengthIsDropped() throws {
        var client = makeClient()
        let request = try authenticatedAllocate(&client, at: Self.t0).message
        let t = STUNMessageType(method: .allocate, messageClass: .successResponse).rawValue
        for announced in [UInt16(0x0100), 0xFFFF, 0x000C] {
            // A well-formed header (length 8) and an XOR-RELAYED-ADDRESS announcing more than there is.
            var bytes: [UInt8] = [UInt8(t >> 8), UInt8(t & 0xFF), 0x00, 0x08, 0x21, 0x12, 0xA4, 0x42] + request.transactionID.bytes
            bytes += [0x00, 0x16, UInt8(announced >> 8), UInt8(announced & 0xFF), 0x00, 0x01, 0x12, 0x34]
            let r = client.handleFromServer(bytes, now: Self.t0)
            #expect(r == .dropped, "announced \(announced)")
        }
        #expect(client.statistics.malformed == 3)
        // A ChannelData message announcing more than the datagram holds.
        let channel = client.handleFromServer([0x40, 0x00, 0xFF, 0xFF, 1, 2, 3, 4], now: Self.t0)
        #expect(channel == .dropped)
        #expect(client.state == .allocating)
    }

    @Test func everyBitFlipInASignedAnswerIsDropped() throws {
        var client = makeClient()
        let request = try authenticatedAllocate(&client, at: Self.t0).message
        let genuine = try allocateSuccess(to: request)
        // Everything before FINGERPRINT (the last 8 bytes) is covered by it and by MESSAGE-INTEGRITY.
        for index in 0..<(genuine.count - 8) {
            for bit in 0..<8 {
                var flipped = genuine
                flipped[index] ^= UInt8(1 << bit)
                let r = client.handleFromServer(flipped, now: Self.t0)
                if r != .dropped {
                    Issue.record("bit \(bit) of byte \(index) flipped was accepted: \(r)")
                    return
                }
            }
        }
        #expect(client.state == .allocating)
        let accepted = client.handleFromServer(genuine, now: Self.t0)
        #expect(accepted == .control)
    }

    @Test func randomBytesNeverTrapAndAreDropped() throws {
        var client = makeClient()
        _ = try authenticatedAllocate(&client, at: Self.t0)
        var rng = SeededGenerator(seed: 0x7E57)
        for i in 0..<5_000 {
            var bytes: [UInt8] = []
            if i % 2 == 0 {
                // A plausible STUN header so the attribute walk is reached.
                let words = Int.random(in: 0...16, using: &rng)
                let typeHigh = UInt8.random(in: 0...3, using: &rng)
                let typeLow = UInt8.random(in: 0...255, using: &rng)
                bytes = [typeHigh, typeLow, 0, UInt8(words * 4)]
                bytes += [0x21, 0x12, 0xA4, 0x42]
                for _ in 0..<(12 + words * 4) { bytes.append(UInt8.random(in: 0...255, using: &rng)) }
            } else {
                for _ in 0..<Int.random(in: 0...96, using: &rng) { bytes.append(UInt8.random(in: 0...255, using: &rng)) }
            }
            let r = client.handleFromServer(bytes, now: Self.t0)
            if r != .dropped {
                Issue.record("random input \(i) was not dropped: \(r)")
                return
            }
        }
        #expect(client.state == .allocating)
    }

    // MARK: - Retransmission and the allocation bound

    @Test func unansweredAllocateIsRetransmittedWithDoublingRTOUntilTheAllocationTimeout() {
        var client = makeClient()
        var sentAt: [Int64] = []
        var sent: [[UInt8]] = []
        var now = Self.t0
        for _ in 0..<100 where client.state == .allocating {
            while let bytes = client.pollTransmit() {
                sentAt.append(milliseconds(now))
                sent.append(bytes)
            }
            guard let deadline = client.nextDeadline() else { break }
            now = deadline
            client.handleTimeout(now: now)
        }
        #expect(sentAt == [0, 100, 300, 700, 1500], "RTO 100, 200, 400, 800 ms")
        #expect(Set(sent).count == 1, "a retransmission is the same request, same transaction")
        #expect(client.statistics.retransmissions == 4)
        #expect(client.statistics.requestsSent == 1)
        #expect(now - Self.t0 == .seconds(3))
        #expect(client.state == .failed)
        let event = client.pollEvent()
        #expect(event == .failed(.timedOut))
        #expect(client.nextDeadline() == nil)
    }

    @Test func overTCPNothingIsRetransmittedButTheAllocationStillTimesOut() throws {
        var client = makeClient(transport: .tcp)
        _ = try nextRequest(&client)
        #expect(client.nextDeadline() == Self.t0 + .seconds(3))
        client.handleTimeout(now: Self.t0 + .seconds(1))
        let retransmitted = client.pollTransmit()
        #expect(retransmitted == nil)
        #expect(client.state == .allocating)
        client.handleTimeout(now: Self.t0 + .seconds(3))
        #expect(client.state == .failed)
        let event = client.pollEvent()
        #expect(event == .failed(.timedOut))
        #expect(client.statistics.retransmissions == 0)
        let after = client.pollTransmit()
        #expect(after == nil)
    }

    @Test func theAllocationTimeoutCoversTheChallengeRoundTrip() throws {
        var client = makeClient()
        _ = try authenticatedAllocate(&client, at: Self.t0 + .milliseconds(50))
        var now = Self.t0 + .milliseconds(50)
        for _ in 0..<100 where client.state == .allocating {
            guard let deadline = client.nextDeadline() else { break }
            now = deadline
            client.handleTimeout(now: now)
            while client.pollTransmit() != nil {}
        }
        #expect(now - Self.t0 == .seconds(3), "the bound runs from the first Allocate, not the second")
        let event = client.pollEvent()
        #expect(event == .failed(.timedOut))
    }

    // MARK: - Channels: sending

    @Test func sendQueuesBehindAChannelBindAndFlushesAsChannelDataOnSuccess() throws {
        var client = try allocated()
        let now = Self.t0 + .seconds(1)
        let payload = Array("hello relay".utf8)
        client.send(payload, to: Self.peer, now: now)
        #expect(!client.isBound(Self.peer))
        let (bind, bytes) = try nextRequest(&client)
        #expect(bind.type == Self.channelBindRequest)
        let number = try #require(channelNumber(bind))
        #expect(ChannelData.channelRange.contains(number))
        #expect((0x4000...0x4FFF).contains(Int(number)))
        #expect(peerAddress(bind) == Self.peer)
        #expect(bind.username == "alice")
        #expect(verifies(bytes, key: Self.key))
        let early = client.pollTransmit()
        #expect(early == nil, "the payload waits for the binding")

        // A second datagram before the answer waits behind the same bind.
        let second: [UInt8] = [1, 2, 3]
        client.send(second, to: Self.peer, now: now)
        let noSecondBind = client.pollTransmit()
        #expect(noSecondBind == nil)

        let consumed = client.handleFromServer(try response(to: bind), now: now + .milliseconds(30))
        #expect(consumed == .control)
        #expect(client.isBound(Self.peer))
        let polled1 = client.pollTransmit()
        let flushed1 = try #require(polled1)
        #expect(Array(flushed1.prefix(4)) == [UInt8(number >> 8), UInt8(number & 0xFF), 0, UInt8(payload.count)])
        #expect(Array(flushed1.dropFirst(4)) == payload)
        let flushed2 = client.pollTransmit()
        #expect(flushed2 == ChannelData.header(channel: number, length: second.count) + second)
        #expect(client.statistics.channelDataSent == 2)

        // Once bound, data goes out at once.
        let later = Array("later".utf8)
        client.send(later, to: Self.peer, now: now + .seconds(1))
        let immediate = client.pollTransmit()
        #expect(immediate == [UInt8(number >> 8), UInt8(number & 0xFF), 0, 5] + later)
        let nothingElse = client.pollTransmit()
        #expect(nothingElse == nil)
        #expect(client.statistics.channelDataSent == 3)
    }

    @Test func frameWritesTheSameChannelDataIntoAByteBuffer() throws {
        var client = try allocated()
        let number = try bindChannel(&client, to: Self.peer, now: Self.t0 + .seconds(1))
        let payload = Array("framed in place".utf8)
        var buffer = ByteBufferAllocator().buffer(capacity: 64)
        let framed = payload.withUnsafeBytes { client.frame($0, to: Self.peer, into: &buffer) }
        #expect(framed)
        client.send(payload, to: Self.peer, now: Self.t0 + .seconds(1))
        let polled = client.pollTransmit()
        let sent = try #require(polled)
        #expect(Array(buffer.readableBytesView) == sent)
        #expect(sent == ChannelData.header(channel: number, length: payload.count) + payload)

        // A peer without a bound channel is not framed.
        var other = ByteBufferAllocator().buffer(capacity: 16)
        let refused = payload.withUnsafeBytes { client.frame($0, to: Self.otherPeer, into: &other) }
        #expect(!refused)
        #expect(other.readableBytes == 0)
    }

    @Test func overTCPChannelDataIsPaddedToAMultipleOfFour() throws {
        var client = try allocated(transport: .tcp)
        let payload: [UInt8] = [1, 2, 3, 4, 5]
        client.send(payload, to: Self.peer, now: Self.t0 + .seconds(1))
        let bind = try nextRequest(&client).message
        let number = try #require(channelNumber(bind))
        let consumed = client.handleFromServer(try response(to: bind), now: Self.t0 + .seconds(1))
        #expect(consumed == .control)
        let polled = client.pollTransmit()
        let flushed = try #require(polled)
        #expect(flushed == ChannelData.header(channel: number, length: 5) + payload + [0, 0, 0])
        #expect(flushed.count % 4 == 0)

        var buffer = ByteBufferAllocator().buffer(capacity: 64)
        let framed = payload.withUnsafeBytes { client.frame($0, to: Self.peer, into: &buffer) }
        #expect(framed)
        #expect(Array(buffer.readableBytesView) == flushed)

        // Already a multiple of four: no padding.
        let aligned: [UInt8] = [9, 8, 7, 6, 5, 4, 3, 2]
        client.send(aligned, to: Self.peer, now: Self.t0 + .seconds(2))
        let sent = client.pollTransmit()
        #expect(sent == ChannelData.header(channel: number, length: 8) + aligned)
    }

    @Test func sendBeforeAllocationAndBeyondTheQueueBoundIsDroppedAndCounted() throws {
        var early = makeClient()
        _ = early.pollTransmit()
        early.send([1, 2, 3], to: Self.peer, now: Self.t0)
        #expect(early.statistics.queuedDropped == 1)
        let nothing = early.pollTransmit()
        #expect(nothing == nil)

        var client = try allocated()
        let now = Self.t0 + .seconds(1)
        for i in 0..<20 { client.send([UInt8(i)], to: Self.peer, now: now) }
        #expect(client.statistics.queuedDropped == 4, "16 wait per peer")
        let bind = try nextRequest(&client).message
        let consumed = client.handleFromServer(try response(to: bind), now: now)
        #expect(consumed == .control)
        var flushed: [UInt8] = []
        while let d = client.pollTransmit() { flushed.append(d[4]) }
        #expect(flushed == (0..<16).map { UInt8($0) }, "the first 16, in order")
    }

    @Test func anUnansweredChannelBindDropsItsQueueButKeepsTheAllocation() throws {
        var client = try allocated()
        let start = Self.t0 + .seconds(1)
        client.send([1, 2, 3], to: Self.peer, now: start)
        var binds = 0
        while client.pollTransmit() != nil { binds += 1 }
        while let deadline = client.nextDeadline(), deadline <= start + .seconds(8) {
            client.handleTimeout(now: deadline)
            while client.pollTransmit() != nil { binds += 1 }
        }
        #expect(binds == 7, "sent at 0, 100, 300, 700, 1500, 3100, 6300 ms")
        #expect(!client.isBound(Self.peer))
        #expect(client.statistics.queuedDropped == 1)
        #expect(client.state == .allocated)
        let event = client.pollEvent()
        #expect(event == nil)
        // The next datagram for the peer tries again.
        client.send([4], to: Self.peer, now: start + .seconds(9))
        let again = try nextRequest(&client).message
        #expect(again.type == Self.channelBindRequest)
        #expect(peerAddress(again) == Self.peer)
    }

    // MARK: - Channels and indications: receiving

    @Test func channelDataOnTheBoundChannelIsDeliveredInPlace() throws {
        var client = try allocated()
        let number = try bindChannel(&client, to: Self.peer, now: Self.t0 + .seconds(1))
        let payload = Array("from the peer".utf8)
        let message = ChannelData.header(channel: number, length: payload.count) + payload
        let r = client.handleFromServer(message, now: Self.t0 + .seconds(2))
        #expect(r == .data(peer: Self.peer, payload: 4..<(4 + payload.count)))
        if case .data(let from, let range) = r {
            #expect(from == Self.peer)
            #expect(Array(message[range]) == payload)
        } else {
            Issue.record("expected data, got \(r)")
        }
        // Padded (as over a stream, or by a generous sender): the range still holds just the payload.
        let padded = message + [0, 0, 0]
        let r2 = client.handleFromServer(padded, now: Self.t0 + .seconds(2))
        #expect(r2 == .data(peer: Self.peer, payload: 4..<(4 + payload.count)))
        #expect(client.statistics.channelDataReceived == 2)
    }

    @Test func channelDataOnAnUnboundChannelIsDropped() throws {
        var client = try allocated()
        let number = try bindChannel(&client, to: Self.peer, now: Self.t0 + .seconds(1))
        let stray = ChannelData.header(channel: number + 1, length: 3) + [1, 2, 3]
        let r = client.handleFromServer(stray, now: Self.t0 + .seconds(2))
        #expect(r == .dropped)
        #expect(client.statistics.unknownChannel == 1)
        #expect(client.statistics.channelDataReceived == 0)
    }

    @Test func aDataIndicationFromAPeerWithAChannelIsDelivered() throws {
        var client = try allocated()
        try bindChannel(&client, to: Self.peer, now: Self.t0 + .seconds(1))
        let payload: [UInt8] = [0xDE, 0xAD, 0xBE, 0xEF, 0x01, 0x02, 0x03]  // odd length: padded on the wire
        let indication = try dataIndication(from: Self.peer, payload: payload)
        let r = client.handleFromServer(indication, now: Self.t0 + .seconds(2))
        guard case .data(let from, let range) = r else {
            Issue.record("expected data, got \(r)")
            return
        }
        #expect(from == Self.peer)
        #expect(Array(indication[range]) == payload)
        #expect(client.statistics.dataIndicationsReceived == 1)
    }

    @Test func aDataIndicationFromAnUnknownPeerIsDropped() throws {
        var client = try allocated()
        try bindChannel(&client, to: Self.peer, now: Self.t0 + .seconds(1))
        let indication = try dataIndication(from: Self.otherPeer, payload: [1, 2, 3, 4])
        let r = client.handleFromServer(indication, now: Self.t0 + .seconds(2))
        #expect(r == .dropped)
        #expect(client.statistics.noPermission == 1)
        #expect(client.statistics.dataIndicationsReceived == 0)
    }

    // MARK: - Refresh and deallocation

    @Test func theAllocationIsRefreshedAMinuteBeforeItsLifetimeEnds() throws {
        var client = try allocated(lifetime: 600)
        #expect(client.nextDeadline() == Self.t0 + .seconds(540))
        client.handleTimeout(now: Self.t0 + .seconds(539))
        let tooEarly = client.pollTransmit()
        #expect(tooEarly == nil)
        client.handleTimeout(now: Self.t0 + .seconds(540))
        let (refresh, bytes) = try nextRequest(&client)
        #expect(refresh.type == Self.refreshRequest)
        #expect(lifetime(refresh) == 600)
        #expect(refresh.username == "alice")
        #expect(verifies(bytes, key: Self.key))
        // The server grants less: the next refresh comes a minute before that ends.
        let consumed = client.handleFromServer(
            try response(to: refresh, .successResponse, [.other(type: TURNAttribute.lifetime, value: TURNAttribute.u32(300))]),
            now: Self.t0 + .seconds(540))
        #expect(consumed == .control)
        #expect(client.statistics.refreshes == 1)
        #expect(client.state == .allocated)
        #expect(client.nextDeadline() == Self.t0 + .seconds(540 + 240))
    }

    @Test func aStaleNonceOnRefreshIsRetriedWithTheNewNonce() throws {
        var client = try allocated()
        client.handleTimeout(now: Self.t0 + .seconds(540))
        let refresh = try nextRequest(&client).message
        let consumed = client.handleFromServer(try challenge(to: refresh, code: 438, nonce: "nonce-2"), now: Self.t0 + .seconds(540))
        #expect(consumed == .control)
        let (retry, bytes) = try nextRequest(&client)
        #expect(retry.type == Self.refreshRequest)
        #expect(retry.otherValue(TURNAttribute.nonce) == Array("nonce-2".utf8))
        #expect(lifetime(retry) == 600)
        #expect(verifies(bytes, key: Self.key))
        #expect(client.state == .allocated)
    }

    @Test func aRejectedRefreshLosesTheAllocation() throws {
        var client = try allocated()
        client.handleTimeout(now: Self.t0 + .seconds(540))
        let refresh = try nextRequest(&client).message
        let answer = try response(to: refresh, .errorResponse, [.errorCode(code: 437, reason: "Allocation Mismatch")])
        let consumed = client.handleFromServer(answer, now: Self.t0 + .seconds(540))
        #expect(consumed == .control)
        #expect(client.state == .failed)
        let event = client.pollEvent()
        #expect(event == .failed(.rejected(code: 437, reason: "Allocation Mismatch")))
    }

    @Test func channelBindingsAreRefreshedAfter240Seconds() throws {
        var client = try allocated()
        let bindAt = Self.t0 + .seconds(10)
        let number = try bindChannel(&client, to: Self.peer, now: bindAt)
        #expect(client.nextDeadline() == bindAt + .seconds(240))
        client.handleTimeout(now: bindAt + .seconds(239))
        let tooEarly = client.pollTransmit()
        #expect(tooEarly == nil)
        client.handleTimeout(now: bindAt + .seconds(240))
        let (rebind, bytes) = try nextRequest(&client)
        #expect(rebind.type == Self.channelBindRequest)
        #expect(channelNumber(rebind) == number, "the same channel")
        #expect(peerAddress(rebind) == Self.peer)
        #expect(verifies(bytes, key: Self.key))
        #expect(client.isBound(Self.peer), "data keeps flowing while the binding is refreshed")
        client.send([7], to: Self.peer, now: bindAt + .seconds(240))
        let data = client.pollTransmit()
        #expect(data == ChannelData.header(channel: number, length: 1) + [7])
        let consumed = client.handleFromServer(try response(to: rebind), now: bindAt + .seconds(241))
        #expect(consumed == .control)
        // The binding's next refresh runs from this answer; it comes before the allocation's at 540 s.
        #expect(client.nextDeadline() == bindAt + .seconds(241 + 240))
    }

    @Test func closeSendsARefreshWithLifetimeZero() throws {
        var client = try allocated()
        client.close(now: Self.t0 + .seconds(5))
        let (refresh, bytes) = try nextRequest(&client)
        #expect(refresh.type == Self.refreshRequest)
        #expect(lifetime(refresh) == 0)
        #expect(verifies(bytes, key: Self.key))
        #expect(client.state == .closed)
        #expect(client.nextDeadline() == nil)
        let more = client.pollTransmit()
        #expect(more == nil)
        // Closed: nothing is taken any more, and no timer sends anything.
        let late = client.handleFromServer(try response(to: refresh), now: Self.t0 + .seconds(5))
        #expect(late == .dropped)
        client.handleTimeout(now: Self.t0 + .seconds(600))
        let afterTimeout = client.pollTransmit()
        #expect(afterTimeout == nil)
    }

    @Test func closeWhileAllocatingSendsNothing() {
        var client = makeClient()
        _ = client.pollTransmit()
        client.close(now: Self.t0 + .milliseconds(10))
        let sent = client.pollTransmit()
        #expect(sent == nil)
        #expect(client.state == .closed)
        #expect(client.nextDeadline() == nil)
    }

    // MARK: - Stream framing (TCP/TLS)

    func frameAll(_ framer: inout TURNStreamFramer, _ chunk: ArraySlice<UInt8>, into out: inout [TURNStreamFramer.Framed]) {
        Array(chunk).withUnsafeBytes { framer.append($0) }
        while let f = framer.next() {
            out.append(f)
            if f == .framingError { return }
        }
    }

    @Test func theStreamFramerSplitsMessagesAcrossArbitraryChunkBoundaries() throws {
        let stun = try STUNMessage(type: STUNMessageType(method: .allocate, messageClass: .successResponse),
                                   transactionID: STUNTransactionID(a: 1, b: 2, c: 3),
                                   attributes: [.xorMappedAddress(Self.mapped)]).encode(integrityKey: Self.key, fingerprint: true)
        let payload: [UInt8] = [10, 20, 30, 40, 50]
        let channelData = ChannelData.header(channel: 0x4001, length: payload.count) + payload
        let stream = stun + channelData + [0, 0, 0]  // padded to 4 over a stream
        let expected: [TURNStreamFramer.Framed] = [.message(stun), .message(channelData)]

        // Every split into two chunks.
        for split in 0...stream.count {
            var framer = TURNStreamFramer()
            var out: [TURNStreamFramer.Framed] = []
            frameAll(&framer, stream[0..<split], into: &out)
            frameAll(&framer, stream[split...], into: &out)
            #expect(out == expected, "split at \(split)")
        }
        // Random chunk sizes, including single bytes, with the stream repeated.
        var rng = SeededGenerator(seed: 42)
        let repeated = stream + stream + stream
        var framer = TURNStreamFramer()
        var out: [TURNStreamFramer.Framed] = []
        var i = 0
        while i < repeated.count {
            let n = min(repeated.count - i, Int.random(in: 1...9, using: &rng))
            frameAll(&framer, repeated[i..<(i + n)], into: &out)
            i += n
        }
        #expect(out == expected + expected + expected)
        let none = framer.next()
        #expect(none == nil)
    }

    @Test func theStreamFramerRejectsAFirstByteThatIsNeitherSTUNNorChannelData() {
        var framer = TURNStreamFramer()
        ([0xFF, 0x00, 0x00, 0x00] as [UInt8]).withUnsafeBytes { framer.append($0) }
        let first = framer.next()
        #expect(first == .framingError)
        // The stream is unusable from then on.
        let stun: [UInt8] = [0x01, 0x01, 0x00, 0x00, 0x21, 0x12, 0xA4, 0x42] + [UInt8](repeating: 0, count: 12)
        stun.withUnsafeBytes { framer.append($0) }
        let second = framer.next()
        #expect(second == .framingError)
    }

    @Test func theStreamFramerRejectsALengthOverTheMaximum() {
        var stunFramer = TURNStreamFramer()
        ([0x01, 0x01, 0x10, 0x00] as [UInt8]).withUnsafeBytes { stunFramer.append($0) }  // 20 + 4096 bytes
        let stun = stunFramer.next()
        #expect(stun == .framingError)

        var channelFramer = TURNStreamFramer()
        ([0x40, 0x00, 0xFF, 0xFF] as [UInt8]).withUnsafeBytes { channelFramer.append($0) }
        let channel = channelFramer.next()
        #expect(channel == .framingError)

        // At the bound exactly it is a message; one byte over, an error.
        var bounded = TURNStreamFramer()
        bounded.maximumMessage = 64
        let fits = ChannelData.header(channel: 0x4000, length: 60) + [UInt8](repeating: 7, count: 60)
        fits.withUnsafeBytes { bounded.append($0) }
        let ok = bounded.next()
        #expect(ok == .message(fits))
        let over = ChannelData.header(channel: 0x4000, length: 61) + [UInt8](repeating: 7, count: 61)
        over.withUnsafeBytes { bounded.append($0) }
        let tooLong = bounded.next()
        #expect(tooLong == .framingError)
    }

    @Test func framedStreamMessagesFeedTheTCPClient() throws {
        var client = try allocated(transport: .tcp)
        let number = try bindChannel(&client, to: Self.peer, now: Self.t0 + .seconds(1))
        let payload: [UInt8] = [1, 2, 3, 4, 5, 6]
        let stream = ChannelData.header(channel: number, length: payload.count) + payload + [0, 0]
        var framer = TURNStreamFramer()
        stream.withUnsafeBytes { framer.append($0) }
        let framed = framer.next()
        guard case .message(let message)? = framed else {
            Issue.record("expected a message, got \(String(describing: framed))")
            return
        }
        let r = client.handleFromServer(message, now: Self.t0 + .seconds(2))
        #expect(r == .data(peer: Self.peer, payload: 4..<10))
    }

    // MARK: - Ephemeral credentials

    @Test func ephemeralCredentialsFollowTheTURNRESTScheme() {
        let c = TURNCredentials.ephemeral(secret: "north-wind", user: "alice", unixTime: 1_700_000_000, validFor: 3600)
        #expect(c.username == "1700003600:alice")
        let mac = HMACSHA1.authenticationCode(key: Array("north-wind".utf8), message: Array("1700003600:alice".utf8))
        #expect(c.password == Data(mac).base64EncodedString())
        let day = TURNCredentials.ephemeral(secret: "north-wind", user: "bob", unixTime: 1_700_000_000)
        #expect(day.username == "1700086400:bob", "valid for a day by default")
        let dayMAC = HMACSHA1.authenticationCode(key: Array("north-wind".utf8), message: Array("1700086400:bob".utf8))
        #expect(day.password == Data(dayMAC).base64EncodedString())
    }

    @Test func base64MatchesFoundationForEveryPaddingCase() {
        var rng = SeededGenerator(seed: 64)
        for count in 0..<40 {
            let bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) }
            #expect(Base64.encode(bytes) == Data(bytes).base64EncodedString(), "\(count) bytes")
        }
    }
}
