import EventSocketCore
import Foundation
import Testing
import TestSupport

/// The event-socket client of the FreeSWITCH suite, tested without FreeSWITCH: the message parser
/// on hand-made byte streams, the client against `FakeEventSocketServer`. Runs on every build.
@Suite(.realTime) struct EventSocketClientTests {
    @Test func parserSplitsHeadersAndContentLengthBodies() throws {
        var p = EventSocketParser()
        p.feed(Array("Content-Type: auth/request\n\nContent-Type: api/response\nContent-Length: 10\n\n+OK 1234#\n".utf8))
        let first = try #require(try p.next())
        #expect(first.contentType == "auth/request" && first.body.isEmpty)
        let second = try #require(try p.next())
        #expect(second.contentType == "api/response")
        #expect(second.body == "+OK 1234#\n")
        #expect(try p.next() == nil)
    }

    @Test func parserWaitsForTheWholeMessageWhateverTheSplit() throws {
        let wire = Array("Content-Type: command/reply\nReply-Text: +OK Job-UUID: abc\nJob-UUID: abc\n\nContent-Type: api/response\nContent-Length: 5\n\n1234#".utf8)
        for cut in 0...wire.count {
            var p = EventSocketParser()
            p.feed(wire[..<cut])
            var got: [EventSocketMessage] = []
            while let m = try p.next() { got.append(m) }
            p.feed(wire[cut...])
            while let m = try p.next() { got.append(m) }
            #expect(got.count == 2, "cut at \(cut)")
            #expect(got.first?["Job-UUID"] == "abc" && got.first?.replyText == "+OK Job-UUID: abc")
            #expect(got.last?.body == "1234#", "cut at \(cut)")
        }
    }

    @Test func parserAcceptsCRLFAndValueColonsAndRejectsBadLengths() throws {
        var p = EventSocketParser()
        p.feed(Array("Content-Type: text/event-plain\r\nEvent-Date-Local: 2026-11-25 10:00:00\r\n\r\n".utf8))
        let m = try #require(try p.next())
        #expect(m["event-date-local"] == "2026-11-25 10:00:00", "case-insensitive names; colons stay in values")
        var bad = EventSocketParser()
        bad.feed(Array("Content-Type: api/response\nContent-Length: lots\n\n".utf8))
        #expect(throws: EventSocketError.self) { try bad.next() }
    }

    @Test func addressParsing() throws {
        #expect(try EventSocketAddress(parsing: "127.0.0.1:8021:ClueCon") == EventSocketAddress(host: "127.0.0.1", port: 8021, password: "ClueCon"))
        #expect(try EventSocketAddress(parsing: "fs.lab:8021:a:b").password == "a:b", "the password may contain colons")
        #expect(throws: EventSocketError.self) { try EventSocketAddress(parsing: "127.0.0.1:8021") }
        #expect(throws: EventSocketError.self) { try EventSocketAddress(parsing: "127.0.0.1:http:pw") }
    }

    @Test(arguments: [false, true])
    func clientAuthenticatesThenRunsApiAndBgapi(noisy: Bool) async throws {
        let server = try FakeEventSocketServer(noisy: noisy) { command in
            command.hasPrefix("uuid_getvar") ? "1234#" : "-ERR no such command\n"
        }
        defer { server.stop() }
        let client = try await EventSocketClient.connect(server.address)
        #expect(try await client.api("uuid_getvar 3f2a dtmf_collected") == "1234#")
        let job = try await client.bgapi("originate user/1000@127.0.0.1 &echo")
        #expect(UUID(uuidString: job) != nil, "bgapi returns the job's UUID, got \(job)")
        await #expect(throws: EventSocketError.self) { try await client.api("frobnicate") }
        await #expect(throws: EventSocketError.self) { try await client.api("two\nlines") }
        client.close()
        // `exit` is the last thing the client wrote; the server records it on its own thread.
        let deadline = ContinuousClock.now + .seconds(15)
        while server.commands.last != "exit", ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        #expect(server.commands == [
            "auth ClueCon", "api uuid_getvar 3f2a dtmf_collected", "bgapi originate user/1000@127.0.0.1 &echo", "api frobnicate", "exit",
        ])
    }

    @Test func wrongPasswordIsReported() async throws {
        let server = try FakeEventSocketServer(password: "ClueCon")
        defer { server.stop() }
        var wrong = server.address
        wrong.password = "not-it"
        await #expect(throws: EventSocketError.authenticationFailed("-ERR invalid")) {
            _ = try await EventSocketClient.connect(wrong)
        }
    }

    @Test func nothingListeningIsAConnectError() async throws {
        let server = try FakeEventSocketServer()
        let port = server.port
        server.stop()
        await #expect(throws: EventSocketError.self) {
            _ = try await EventSocketClient.connect(EventSocketAddress(host: "127.0.0.1", port: port, password: "x"), timeout: .seconds(2))
        }
    }
}
