import CoreSupport
import NIOCore
import Testing
@testable import ICECore

@Suite("STUN codec")
struct STUNCodecTests {
    @Test func messageTypeEncoding() {
        // RFC 8489 §5 / §6: Binding request 0x0001, success 0x0101, error 0x0111, indication 0x0011.
        #expect(STUNMessageType.bindingRequest.rawValue == 0x0001)
        #expect(STUNMessageType.bindingSuccess.rawValue == 0x0101)
        #expect(STUNMessageType.bindingError.rawValue == 0x0111)
        #expect(STUNMessageType.bindingIndication.rawValue == 0x0011)
        for m in stride(from: UInt16(0), through: 0xFFF, by: 37) {
            for c in [STUNClass.request, .indication, .successResponse, .errorResponse] {
                let t = STUNMessageType(method: STUNMethod(rawValue: m), messageClass: c)
                #expect(STUNMessageType(rawValue: t.rawValue) == t)
                #expect(t.rawValue & 0xC000 == 0)
            }
        }
    }

    @Test func roundTripAllAttributes() throws {
        var random = AnyRandomSource.seeded(1)
        let id = STUNTransactionID.random(using: &random)
        let v6 = TransportAddress(literal: "2001:db8::42", port: 443)!
        let attributes: [STUNAttribute] = [
            .username("abcd:efgh"), .priority(0x6e00_01ff), .iceControlling(0x0102_0304_0506_0708), .iceControlled(42),
            .useCandidate, .xorMappedAddress(TransportAddress(192, 0, 2, 1, port: 32853)), .xorMappedAddress(v6),
            .mappedAddress(TransportAddress(198, 51, 100, 7, port: 9)), .mappedAddress(v6),
            .errorCode(code: 487, reason: "Role Conflict"), .unknownAttributes([0x0031, 0x7FFF]), .software("VertoPhone ICECore"),
            .other(type: 0xC057, value: [1, 2, 3]),
        ]
        let message = STUNMessage(type: .bindingRequest, transactionID: id, attributes: attributes)
        let bytes = try message.encode(password: "secret-password-1234567", fingerprint: true)
        #expect(bytes.count % 4 == 0)
        #expect(STUN.isSTUN(bytes))
        #expect(try verify(bytes, password: "secret-password-1234567") == (true, true))
        let decoded = try STUNMessage.decode(bytes)
        #expect(Array(decoded.attributes.prefix(attributes.count)) == attributes)
        #expect(decoded.messageIntegrity != nil && decoded.fingerprint != nil)
        #expect(decoded.unknownComprehensionRequired.isEmpty)  // 0xC057 is comprehension-optional
        // Re-encoding the decoded message gives the same bytes.
        #expect(try decoded.encode(password: "secret-password-1234567", fingerprint: true) == bytes)
    }

    @Test func encodeIntoCallerBuffer() throws {
        let m = STUNMessage(type: .bindingRequest, transactionID: STUNTransactionID(a: 1, b: 2, c: 3), attributes: [.priority(5)])
        let expected = try m.encode(fingerprint: true)
        var buffer = [UInt8](repeating: 0, count: 64)
        let n = try buffer.withUnsafeMutableBytes { try m.encode(into: $0, fingerprint: true) }
        #expect(Array(buffer.prefix(n)) == expected)
        var small = [UInt8](repeating: 0, count: 8)
        #expect(throws: ICEError.bufferTooSmall(needed: expected.count, available: 8)) {
            _ = try small.withUnsafeMutableBytes { try m.encode(into: $0, fingerprint: true) }
        }
    }

    @Test func demultiplexing() {
        // RFC 7983: 0–3 STUN, 20–63 DTLS, 128–191 RTP/RTCP.
        #expect(STUN.isSTUN(firstByte: 0) && STUN.isSTUN(firstByte: 3))
        #expect(!STUN.isSTUN(firstByte: 4) && !STUN.isSTUN(firstByte: 22) && !STUN.isSTUN(firstByte: 0x80))
        #expect(STUN.isSTUN(RFC5769.request))
        var noCookie = RFC5769.request
        noCookie[5] ^= 1
        #expect(!STUN.isSTUN(noCookie))
        #expect(!STUN.isSTUN([0x16, 0xfe, 0xfd]))
        #expect(!STUN.isSTUN(Array(RFC5769.request.dropLast(4))))
    }

    @Test func framingErrorsAreTyped() {
        func error(_ bytes: [UInt8]) -> ICEError? {
            do { _ = try STUNMessage.decode(bytes); return nil } catch { return error }
        }
        if case .notSTUN = error([0, 1, 0]) {} else { Issue.record("short header") }
        if case .notSTUN = error([0x80] + [UInt8](repeating: 0, count: 19)) {} else { Issue.record("top bits") }
        var wrongLength = RFC5769.request
        wrongLength[3] = 0x54
        if case .malformedMessage = error(wrongLength) {} else { Issue.record("length mismatch") }
        // Attribute after FINGERPRINT.
        var afterFP = RFC5769.request + [0x80, 0x22, 0x00, 0x00]
        afterFP[3] += 4
        if case .malformedMessage = error(afterFP) {} else { Issue.record("after fingerprint") }
        // Bad PRIORITY length.
        let badPriority = STUNMessage(type: .bindingRequest, transactionID: STUNTransactionID(a: 0, b: 0, c: 1),
                                      attributes: [.other(type: 0x0024, value: [1, 2])])
        if case .malformedAttribute(let t, _, _) = error(try! badPriority.encode()) { #expect(t == 0x0024) } else { Issue.record("priority") }
        // Unknown address family.
        let badFamily = STUNMessage(type: .bindingSuccess, transactionID: STUNTransactionID(a: 0, b: 0, c: 1),
                                    attributes: [.other(type: 0x0020, value: [0, 3, 0, 0, 0, 0, 0, 0])])
        if case .malformedAttribute = error(try! badFamily.encode()) {} else { Issue.record("family") }
    }

    @Test func attributesAfterIntegrityAreIgnored() throws {
        // RFC 8489 §14.5: only MESSAGE-INTEGRITY-SHA256 and FINGERPRINT may follow.
        var bytes = try STUNMessage(type: .bindingRequest, transactionID: STUNTransactionID(a: 7, b: 8, c: 9),
                                    attributes: [.username("a:b")]).encode(integrityKey: [1, 2, 3])
        bytes += [0x00, 0x24, 0x00, 0x04, 0, 0, 0, 1]  // PRIORITY after MI
        bytes[3] += 8
        let m = try STUNMessage.decode(bytes)
        #expect(m.priority == nil)
        #expect(m.username == "a:b")
        #expect(try verify(bytes, password: "\u{1}\u{2}\u{3}").integrity)
    }

    @Test func receiverUfragForDemultiplexing() throws {
        let ufrag = try RFC5769.request.withUnsafeBytes { try STUNMessageView($0).receiverUfrag }
        #expect(ufrag == "evtj")
        let none = try RFC5769.ipv4Response.withUnsafeBytes { try STUNMessageView($0).receiverUfrag }
        #expect(none == nil)
    }

    @Test func transportAddressConversions() {
        let v4 = TransportAddress(127, 0, 0, 1, port: 5004)
        #expect(TransportAddress(v4.socketAddress) == v4)
        #expect(v4.socketAddress.ipAddress == "127.0.0.1" && v4.socketAddress.port == 5004)
        #expect(v4.description == "127.0.0.1:5004")
        let v6 = TransportAddress(literal: "fe80::1:2", port: 1)!
        #expect(TransportAddress(v6.socketAddress) == v6)
        #expect(v6.description == "[fe80::1:2]:1")
        #expect(TransportAddress(literal: "host.local", port: 1) == nil)
        #expect(TransportAddress(literal: "1.2.3", port: 1) == nil)
        #expect(ICEConnectionAddress(host: "abc.LOCAL", port: 1).isMDNS)
    }

    @Test func credentialsAreIceCharsAndRedacted() {
        var random = AnyRandomSource.seeded(3)
        let c = ICECredentials.random(using: &random)
        #expect(c.ufrag.count == 8 && c.password.count == 24)
        let allowed = Set(AnyRandomSource.iceChars)
        #expect((c.ufrag + c.password).allSatisfy { allowed.contains($0) })
        #expect(!c.description.contains(c.password))
    }
}
