import ICECore
import NIOCore
import Testing

/// Which call a datagram on a shared media port belongs to (RFC 8445 §7.2.2 USERNAME, RFC 7983).
@Suite struct SharedPortDemuxTests {
    let browserA = try! SocketAddress(ipAddress: "192.0.2.10", port: 50_000)
    let browserB = try! SocketAddress(ipAddress: "192.0.2.11", port: 50_002)
    let stranger = try! SocketAddress(ipAddress: "198.51.100.7", port: 4_444)

    func request(to recipient: String, from sender: String = "peer", password: String = "p4ssw0rdp4ssw0rdp4ssw0rd") throws -> [UInt8] {
        try STUNMessage(type: .bindingRequest, transactionID: STUNTransactionID(a: 1, b: 2, c: 3),
                        attributes: [.username("\(recipient):\(sender)"), .priority(1_853_824_767)])
            .encode(password: password)
    }

    func route(_ d: inout SharedPortDemux<String>, _ bytes: [UInt8], from source: SocketAddress) -> String? {
        bytes.withUnsafeBytes { d.route($0, from: source) }
    }

    let srtp: [UInt8] = [0x80, 0x6F, 0x00, 0x01] + [UInt8](repeating: 0, count: 28)
    let dtls: [UInt8] = [22, 0xFE, 0xFD] + [UInt8](repeating: 0, count: 20)

    @Test func bindingRequestsGoByTheRecipientsUfragWhateverTheirSource() throws {
        var d = SharedPortDemux<String>()
        d.register("a", usernameFragment: "ufragA01")
        d.register("b", usernameFragment: "ufragB02")
        #expect(route(&d, try request(to: "ufragB02"), from: browserA) == "b")
        // browserA is b's now (the request claimed it), but a request names its recipient.
        #expect(route(&d, try request(to: "ufragA01"), from: browserA) == "a")
        #expect(route(&d, try request(to: "unknown1"), from: stranger) == nil)
        #expect(d.unrouted == 1)
        #expect(try request(to: "ufragA01", from: "x").withUnsafeBytes { SharedPortDemux<String>.requestRecipient($0) } == "ufragA01")
    }

    @Test func mediaGoesToTheOwnerOfItsSourceAddress() throws {
        var d = SharedPortDemux<String>()
        d.register("a", usernameFragment: "ufragA01")
        d.register("b", usernameFragment: "ufragB02")
        // Before anyone sent to it or asked from it, an address belongs to no call.
        #expect(route(&d, srtp, from: browserA) == nil)
        #expect(d.unrouted == 1)
        // A request for a's ufrag claims its source for a; b's send claims browserB.
        #expect(route(&d, try request(to: "ufragA01"), from: browserA) == "a")
        d.sent("b", to: browserB)
        #expect(route(&d, srtp, from: browserA) == "a")
        #expect(route(&d, dtls, from: browserA) == "a")
        #expect(route(&d, srtp, from: browserB) == "b")
        // A STUN response (no USERNAME) follows the address too.
        let response = try STUNMessage(type: .bindingSuccess, transactionID: STUNTransactionID(a: 4, b: 5, c: 6)).encode(password: nil)
        #expect(route(&d, response, from: browserB) == "b")
        #expect(route(&d, srtp, from: stranger) == nil)
        #expect(d.unrouted == 2)
    }

    @Test func anAddressInUseIsNotTakenOverByAnotherCall() throws {
        var d = SharedPortDemux<String>()
        d.register("a", usernameFragment: "ufragA01")
        d.register("b", usernameFragment: "ufragB02")
        d.sent("a", to: browserA)
        // b's peer names browserA as its candidate (b checks it), and even sends b a request from it:
        // the request reaches b (it is for b's ufrag), but browserA's media stays a's.
        d.sent("b", to: browserA)
        #expect(route(&d, try request(to: "ufragB02"), from: browserA) == "b")
        #expect(route(&d, srtp, from: browserA) == "a")
        // Once a is gone, the address is free for whoever uses it next.
        d.remove("a")
        #expect(route(&d, srtp, from: browserA) == nil)
        d.sent("b", to: browserA)
        #expect(route(&d, srtp, from: browserA) == "b")
        #expect(d.count == 1)
    }

    @Test func removedCallsGetNothingAndFreeTheirAddresses() throws {
        var d = SharedPortDemux<String>()
        d.register("a", usernameFragment: "ufragA01")
        d.sent("a", to: browserA)
        d.sent("a", to: browserB)
        #expect(d.addressCount == 2)
        d.remove("a")
        #expect(d.addressCount == 0)
        #expect(route(&d, try request(to: "ufragA01"), from: browserA) == nil)
        #expect(route(&d, srtp, from: browserB) == nil)
        // Sends of a call that is not registered claim nothing.
        d.sent("a", to: browserA)
        #expect(d.addressCount == 0)
    }

    @Test func malformedOrForeignSTUNIsNotARequest() throws {
        let good = try request(to: "ufragA01")
        var cut = good
        cut.removeLast(8)  // the length field now claims more than there is
        let noColon = try STUNMessage(type: .bindingRequest, transactionID: STUNTransactionID(a: 1, b: 1, c: 1),
                                      attributes: [.username("nocolon")]).encode(password: nil)
        let indication = try STUNMessage(type: STUNMessageType(method: .binding, messageClass: .indication),
                                         transactionID: STUNTransactionID(a: 1, b: 1, c: 2),
                                         attributes: [.username("ufragA01:x")]).encode(password: nil)
        var badCookie = good
        badCookie[4] = 0
        for bytes in [cut, noColon, indication, badCookie, Array(good.prefix(19)), [], [0, 1]] {
            #expect(bytes.withUnsafeBytes { SharedPortDemux<String>.requestRecipient($0) } == nil, "\(bytes.prefix(8))")
        }
        var d = SharedPortDemux<String>()
        d.register("a", usernameFragment: "ufragA01")
        #expect(route(&d, cut, from: stranger) == nil)
        #expect(route(&d, indication, from: stranger) == nil)
        #expect(d.unrouted == 2)
    }

    /// Requests for a call's ufrag from ever new sources (spoofed, say) still reach it, but claim
    /// no more than `addressesPerAgent` addresses: the tables stay bounded.
    @Test func aCallOwnsABoundedNumberOfAddresses() throws {
        var d = SharedPortDemux<String>()
        d.register("a", usernameFragment: "ufragA01")
        let request = try request(to: "ufragA01")
        for i in 0..<1_000 {
            let source = try SocketAddress(ipAddress: "10.0.\(i / 250).\(i % 250 + 1)", port: 40_000 + i)
            #expect(route(&d, request, from: source) == "a")
        }
        #expect(d.addressCount == SharedPortDemux<String>.addressesPerAgent)
        // The first ones stay the call's; the rest were routed by ufrag only.
        #expect(route(&d, srtp, from: try SocketAddress(ipAddress: "10.0.0.1", port: 40_000)) == "a")
        #expect(route(&d, srtp, from: try SocketAddress(ipAddress: "10.0.3.250", port: 40_999)) == nil)
    }

    @Test func aReusedUfragReplacesTheOldCall() throws {
        var d = SharedPortDemux<String>()
        d.register("a", usernameFragment: "same0001")
        d.sent("a", to: browserA)
        d.register("b", usernameFragment: "same0001")
        #expect(d.count == 1)
        #expect(route(&d, try request(to: "same0001"), from: browserB) == "b")
        #expect(route(&d, srtp, from: browserA) == nil, "a's addresses went with it")
    }
}
