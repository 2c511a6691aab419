import EventSocketCore
import Testing

/// The event-socket parser keeps going after a malformed message, and channel events decode to the
/// legs they name.
@Suite struct EventSocketParserTests {
    func event(_ json: String) -> [UInt8] {
        EventSocketMessage(headers: [(name: "Content-Type", value: "text/event-json")], body: json).serialized()
    }

    @Test func malformedMessagesAreTypedErrorsAndLaterOnesSurvive() throws {
        var p = EventSocketParser()
        p.feed(event(#"{"Event-Name":"CHANNEL_HOLD","Unique-ID":"a"}"#))
        p.feed(Array("no colon here\n\n".utf8))
        p.feed(Array("Content-Type: text/event-json\nContent-Length: lots\n\n".utf8))
        p.feed(event(#"{"Event-Name":"DTMF","Unique-ID":"b","DTMF-Digit":"5"}"#))
        var messages: [EventSocketMessage] = [], errors = 0
        for _ in 0..<6 {
            do {
                guard let m = try p.next() else { break }
                messages.append(m)
            } catch {
                errors += 1
            }
        }
        #expect(errors == 2)
        let events = try messages.compactMap { try PBXChannelEvent(message: $0) }
        #expect(events.map(\.kind) == [.hold, .dtmf])
        #expect(events.last?.digit == "5" && events.last?.uuid == "b")
        // A truncated body waits for the rest; an oversized header block is refused.
        var q = EventSocketParser()
        q.feed(Array("Content-Type: text/event-json\nContent-Length: 10\n\n{\"a\"".utf8))
        #expect(try q.next() == nil)
        q.maxHeaderBytes = 100
        var r = EventSocketParser()
        r.maxHeaderBytes = 100
        r.feed([UInt8](repeating: UInt8(ascii: "x"), count: 200))
        #expect(throws: EventSocketError.self) { try r.next() }
    }

    @Test func channelEventsNameTheirLegs() throws {
        func decode(_ json: String) throws -> PBXChannelEvent? {
            try PBXChannelEvent(message: EventSocketMessage(headers: [(name: "Content-Type", value: "text/event-json")], body: json))
        }
        let bridge = try #require(try decode(#"{"Event-Name":"CHANNEL_BRIDGE","Unique-ID":"a","Bridge-A-Unique-ID":"a","Bridge-B-Unique-ID":"b"}"#))
        #expect(bridge.kind == .bridge && bridge.otherLeg == "b")
        let uuid = try #require(try decode(#"{"Event-Name":"CHANNEL_UUID","Unique-ID":"new","Old-Unique-ID":"old"}"#))
        #expect(uuid.kind == .uuidChange && uuid.oldUUID == "old")
        #expect(try decode(#"{"Event-Name":"HEARTBEAT","Unique-ID":"x"}"#) == nil, "other events are not ours")
        #expect(throws: EventSocketError.self) { try decode(#"{"Event-Name":"CHANNEL_HOLD"}"#) }
        #expect(throws: EventSocketError.self) { try decode("[1,2]") }
    }
}
