import CryptoCore
import Foundation
import Testing
import TestSupport
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

    /// An unknown user costs the same password hash as a known one (the largest iteration count of
    /// the directory), so a refusal's timing does not reveal which users exist.
    @Test func unknownUsersCostTheSameHashAsKnownOnes() throws {
        let dir = UserDirectory(entries: [try UserDirectory.makeEntry(id: "1000", password: "right", iterations: 1_000),
                                          try UserDirectory.makeEntry(id: "1001", password: "right", iterations: 2_000)])
        var work: [Int] = []
        let hash = { (p: String, salt: [UInt8], n: Int) throws -> [UInt8] in
            work.append(n)
            return try PBKDF2.sha256(password: p, salt: salt, iterations: n)
        }
        #expect(dir.verify(login: "nobody@x", password: "right", hash: hash) == nil)
        #expect(dir.verify(login: "1001@x", password: "wrong", hash: hash) == nil)
        #expect(dir.verify(login: "1001@x", password: "right", hash: hash)?.id == "1001")
        #expect(work == [2_000, 2_000, 2_000])
    }

    @Test func theChangelogsNewestEntryIsTheEngineVersion() throws {
        let changelog = try String(contentsOf: Fixtures.root.deletingLastPathComponent().appendingPathComponent("CHANGELOG.md"), encoding: .utf8)
        let newest = changelog.split(separator: "\n").first { $0.hasPrefix("## ") }.map(String.init) ?? ""
        #expect(newest.hasPrefix("## \(VertoPhoneVersion.engine) "), "\(newest)")
    }

    @Test func configFileTLSNeedsBothFiles() throws {
        let both = try ServerConfigFile(json: Data(#"{"tlsCert":"c.pem","tlsKey":"k.pem"}"#.utf8))
        #expect(both.tlsCert == "c.pem" && both.tlsKey == "k.pem")
        #expect(throws: ServerConfigFile.ParseError.badField("tlsKey")) {
            _ = try ServerConfigFile(json: Data(#"{"tlsCert":"c.pem"}"#.utf8))
        }
    }
}
