import Foundation
import Testing
@testable import VertoPhone

@Suite struct ConfigAndUsersTests {
    @Test func configFileOverridesRoutes() throws {
        let json = #"{"host":"127.0.0.1","port":5070,"routes":{"5000":"tone 800","9196":"hangup-after 1","7000":"early-media 1 425"}}"#
        let c = try ServerConfigFile(json: Data(json.utf8))
        #expect(c.port == 5070)
        #expect(c.routing.route(for: "5000") == .tone(800))
        #expect(c.routing.route(for: "9196") == .answerThenHangup(seconds: 1))
        #expect(c.routing.route(for: "7000") == .earlyMediaThenEcho(seconds: 1, ringback: 425))
        #expect(c.routing.route(for: "9664") == .tone(1000), "defaults kept")
        let replaced = try ServerConfigFile(json: Data(#"{"replaceDefaultRoutes":true,"routes":{"1":"echo"}}"#.utf8))
        #expect(replaced.routing.route(for: "9664") == nil)
    }

    @Test(arguments: ["[]", "{\"port\":\"x\"}", "{\"routes\":{\"1\":\"tone\"}}", "{\"routes\":{\"1\":\"warp 9\"}}", "not json", "{\"port\":70000}"])
    func badConfigsAreTypedErrors(_ text: String) {
        #expect(throws: ServerConfigFile.ParseError.self) { try ServerConfigFile(json: Data(text.utf8)) }
    }

    @Test func usersFileRoundTripAndVerify() throws {
        let e = try UserDirectory.makeEntry(id: "2000", password: "s3cret", displayName: "Bob", iterations: 1000)
        let dir = try UserDirectory(fileContents: "# users\n" + UserDirectory.fileLine(e) + "\n")
        #expect(dir.verify(login: "2000@example.org", password: "s3cret")?.displayName == "Bob")
        #expect(dir.verify(login: "2000", password: "wrong") == nil)
        #expect(dir.verify(login: "2001", password: "s3cret") == nil)
        #expect(!dir.isDemo)
        #expect(!UserDirectory.fileLine(e).contains("s3cret"))
        #expect(throws: UserDirectory.FileError.malformedLine(1)) { try UserDirectory(fileContents: "2000:md5:1:aa:bb") }
    }
}
