import ICECore
import Testing
@testable import VertoPhone

/// `stun:`/`turn:` URIs as WebRTC applications write them (RFC 7064, RFC 7065).
@Suite("ICE server URIs")
struct ICEServerURITests {
    /// The typed error a bad URI throws, nil when it parses.
    func parseError(_ text: String) -> VertoPhoneError? {
        do throws(VertoPhoneError) {
            _ = try ICEServerURI(parsing: text)
            return nil
        } catch {
            return error
        }
    }

    @Test func turnDefaultsToUDPOnPort3478() throws {
        let uri = try ICEServerURI(parsing: "turn:turn.example.org")
        #expect(uri.scheme == .turn)
        #expect(uri.host == "turn.example.org")
        #expect(uri.port == 3478)
        #expect(uri.transport == .udp)
        #expect(uri.isTURN)
    }

    @Test func turnWithTransportTCPAndAPort() throws {
        let uri = try ICEServerURI(parsing: "turn:1.2.3.4:5000?transport=tcp")
        #expect(uri.scheme == .turn)
        #expect(uri.host == "1.2.3.4")
        #expect(uri.port == 5000)
        #expect(uri.transport == .tcp)
    }

    @Test func turnWithTransportUDPIsUDP() throws {
        let uri = try ICEServerURI(parsing: "turn:turn.example.org:3479?transport=udp")
        #expect(uri.port == 3479)
        #expect(uri.transport == .udp)
    }

    @Test func turnsDefaultsToTLSOnPort5349() throws {
        let uri = try ICEServerURI(parsing: "turns:example.org")
        #expect(uri.scheme == .turns)
        #expect(uri.host == "example.org")
        #expect(uri.port == 5349)
        #expect(uri.transport == .tls)
        #expect(uri.isTURN)
    }

    @Test func turnsWithTransportTCPIsStillTLS() throws {
        let uri = try ICEServerURI(parsing: "turns:example.org:443?transport=tcp")
        #expect(uri.port == 443)
        #expect(uri.transport == .tls)
    }

    @Test func aBracketedIPv6LiteralLosesItsBrackets() throws {
        let uri = try ICEServerURI(parsing: "turn:[::1]:3478")
        #expect(uri.host == "::1")
        #expect(uri.port == 3478)
        #expect(uri.transport == .udp)
        let noPort = try ICEServerURI(parsing: "turn:[2001:db8::1]")
        #expect(noPort.host == "2001:db8::1")
        #expect(noPort.port == 3478)
    }

    @Test func stunWithAPort() throws {
        let uri = try ICEServerURI(parsing: "stun:stun.example.org:19302")
        #expect(uri.scheme == .stun)
        #expect(uri.host == "stun.example.org")
        #expect(uri.port == 19302)
        #expect(!uri.isTURN)
        let defaultPort = try ICEServerURI(parsing: "stun:stun.example.org")
        #expect(defaultPort.port == 3478)
    }

    @Test func schemeAndQueryAreCaseInsensitive() throws {
        let uri = try ICEServerURI(parsing: "TURN:Turn.Example.org?Transport=TCP")
        #expect(uri.scheme == .turn)
        #expect(uri.host == "Turn.Example.org")
        #expect(uri.transport == .tcp)
    }

    @Test(arguments: [
        "turn:turn.example.org:3478",
        "turn:10.0.0.1:5000?transport=tcp",
        "turn:[::1]:3478",
        "turns:turn.example.org:443",
        "stun:stun.example.org:19302",
    ])
    func theDescriptionParsesBackToTheSameURI(_ text: String) throws {
        let uri = try ICEServerURI(parsing: text)
        #expect(uri.description == text)
        let again = try ICEServerURI(parsing: uri.description)
        #expect(again == uri)
    }

    @Test(arguments: [
        "http://x",  // not an ICE scheme
        "turn://x",  // RFC 7065 has no authority part
        "turn:x?transport=sctp",  // unknown transport
        "turn:x?foo=bar",  // unknown query
        "turn:x:0",  // port out of range
        "turn:x:99999",
        "turn:x:",  // empty port
        "turn:x:http",  // not a number
        "turns:x?transport=udp",  // DTLS to the server is not supported
        "turn:[::1",  // unterminated IPv6 literal
        "turn:[::1]x",  // junk after the literal
        "stun:x?transport=udp",  // stun: takes no query
        "turn:",  // empty host
        "turn::3478",
        "turn:[]:3478",
        "turn:exa mple.org",  // not a host name
        "x",
        "",
    ])
    func malformedURIsThrowTheTypedConfigurationError(_ text: String) {
        #expect(throws: VertoPhoneError.self) { _ = try ICEServerURI(parsing: text) }
        let error = parseError(text)
        guard case .invalidConfiguration(let message)? = error else {
            Issue.record("\"\(text)\": expected invalidConfiguration, got \(String(describing: error))")
            return
        }
        #expect(message.contains("\"\(text)\""), "the message names the URI")
    }
}
