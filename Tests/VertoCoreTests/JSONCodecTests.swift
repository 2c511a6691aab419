import Testing
@testable import VertoCore

@Suite struct JSONCodecTests {
    @Test func parsesAndSerializesStably() throws {
        let text = #"{"b":1,"a":[true,false,null,"x\n\"y",-2.5,1e3],"c":{"z":"\u00e9\ud83d\ude00"}}"#
        let v = try JSONCodec.parse(text)
        let out = JSONCodec.serialize(v)
        #expect(out == #"{"b":1,"a":[true,false,null,"x\n\"y",-2.5,1000],"c":{"z":"é😀"}}"#)
        #expect(JSONCodec.serialize(try JSONCodec.parse(out)) == out)
    }

    @Test func duplicateKeysKeepTheFirst() throws {
        let v = try JSONCodec.parse(#"{"message":"CODEC ERROR","message":"CALL ERROR","code":-32002}"#)
        #expect(v.objectValue?.string("message") == "CODEC ERROR")
        #expect(v.objectValue?.count == 2)
    }

    @Test func lookupIsCaseInsensitiveLikeCJSON() throws {
        let v = try JSONCodec.parse(#"{"callId":"abc"}"#)
        #expect(v.objectValue?.string("callID") == "abc")
    }

    @Test(arguments: ["", "{", "[1,", "{\"a\"}", "tru", "01x", "\"\\x\"", "{\"a\":1}}", "nul", "[1 2]", "\"\u{01}\""])
    func rejectsMalformed(_ text: String) {
        #expect(throws: VertoError.self) { try JSONCodec.parse(text) }
    }

    @Test func nestingIsCapped() {
        let deep = String(repeating: "[", count: 200) + String(repeating: "]", count: 200)
        #expect(throws: VertoError.self) { try JSONCodec.parse(deep) }
        let ok = String(repeating: "[", count: 60) + String(repeating: "]", count: 60)
        #expect((try? JSONCodec.parse(ok)) != nil)
    }

    /// An object may hold up to `maxMembers` distinct keys (duplicates, which are dropped, do not
    /// count); one more is an error, so a crafted object cannot make every lookup scan 100k keys.
    @Test func membersPerObjectAreCapped() throws {
        let n = JSONCodec.maxMembers
        let full = "{" + (0..<n).map { "\"k\($0)\":\($0),\"k\($0)\":-1" }.joined(separator: ",") + "}"
        let obj = try #require(try JSONCodec.parse(full).objectValue)
        #expect(obj.count == n)
        #expect(obj["K\(n - 1)"] == .int(n - 1), "first value kept, found case-insensitively")
        let over = "{" + (0...n).map { "\"k\($0)\":0" }.joined(separator: ",") + "}"
        #expect(throws: VertoError.self) { try JSONCodec.parse(over) }
    }

    /// An array may hold up to `maxElements` values; one more is an error.
    @Test func elementsPerArrayAreCapped() throws {
        let n = JSONCodec.maxElements
        let full = "[" + Array(repeating: "1", count: n).joined(separator: ",") + "]"
        #expect(try JSONCodec.parse(full).arrayValue?.count == n)
        let over = "[" + Array(repeating: "1", count: n + 1).joined(separator: ",") + "]"
        #expect(throws: VertoError.self) { try JSONCodec.parse(over) }
    }
}
