/// Parses SDP text (RFC 8866 §5, §9) into a `SessionDescription`.
///
/// Tolerant of what real endpoints send: CRLF or LF line endings, blank lines, trailing spaces and
/// tabs, runs of spaces between fields, lines in any order within a section, a missing `s=` or
/// `t=` (defaulted to `-` and `0 0`), unknown line types (kept in `otherLines`) and unknown
/// attributes (kept in order). Strict where a typed accessor relies on the text: `v=0` first, `o=`
/// present, the grammar of `o=`, `c=`, `b=`, `t=`, `m=`, and of the attributes `candidate`
/// (RFC 8839 §5.1), `fingerprint` (RFC 8122 §5), `rtpmap` (RFC 8866 §6.6), `ssrc` (RFC 5576 §4.1)
/// and `rtcp` (RFC 3605 §2.1). Every failure is an `SDPError` with the 1-based line number and the
/// line itself; no input traps.
public enum SDPParser {
    /// Parses SDP text.
    public static func parse(_ text: String) throws(SDPError) -> SessionDescription {
        var p = Parser()
        return try p.run(text)
    }

    /// Parses SDP bytes (UTF-8; invalid sequences become U+FFFD).
    public static func parse(bytes: some Sequence<UInt8>) throws(SDPError) -> SessionDescription {
        try parse(String(decoding: Array(bytes), as: UTF8.self))
    }
}

private struct Parser {
    var session = SessionDescription(origin: SDPOrigin(sessionID: "", sessionVersion: ""), timings: [])
    var current: MediaDescription?
    var seenSession = Set<Character>()
    var seenMedia = Set<Character>()
    var lineNumber = 0
    var line: Substring = ""

    func fail(_ kind: SDPError.Kind) -> SDPError {
        // Never put an ICE password into an error that may be logged (house rule 5).
        let context = SDPText.lowercased(line.prefix(9)) == "a=ice-pwd" ? "a=ice-pwd:<redacted>" : String(line)
        return SDPError(kind, line: lineNumber, context: context)
    }

    mutating func run(_ text: String) throws(SDPError) -> SessionDescription {
        var sawVersion = false
        let u = text.utf8
        var start = u.startIndex
        var number = 0
        while start != u.endIndex || number == 0 {
            number += 1
            let end = u[start...].firstIndex(of: 10) ?? u.endIndex
            var raw = Substring(text)[start..<end]
            start = end == u.endIndex ? end : u.index(after: end)
            // Strip CR and trailing whitespace.
            while let last = raw.utf8.last, last == 13 || last == 32 || last == 9 {
                raw = raw[..<raw.utf8.index(before: raw.endIndex)]
            }
            lineNumber = number
            line = raw
            if raw.isEmpty {
                if start == u.endIndex { break }
                continue
            }
            for c in raw.utf8 where (c < 32 && c != 9) || c == 127 { throw fail(.invalidCharacter) }
            let bytes = raw.utf8
            let typeByte = bytes.first!
            guard bytes.count >= 2, typeByte >= 97, typeByte <= 122,
                  bytes[bytes.index(after: bytes.startIndex)] == UInt8(ascii: "=")
            else { throw fail(.malformedLine) }
            let type = Character(Unicode.Scalar(typeByte))
            let value = raw[bytes.index(bytes.startIndex, offsetBy: 2)...]
            if !sawVersion {
                guard type == "v", value == "0" else { throw fail(.invalidVersion) }
                session.version = 0
                sawVersion = true
            } else if type == "m" {
                try startMedia(value)
            } else if current != nil {
                try mediaLine(type, value)
            } else {
                try sessionLine(type, value)
            }
            if start == u.endIndex { break }
        }
        lineNumber = 0
        line = ""
        guard sawVersion else { throw SDPError(.empty) }
        finishMedia()
        guard seenSession.contains("o") else { throw SDPError(.missingLine("o"), context: "no o= line") }
        if !seenSession.contains("s") { session.sessionName = "-" }
        if session.timings.isEmpty { session.timings = [SDPTiming()] }
        return session
    }

    /// Records a line that may appear only once in the current section.
    mutating func once(_ type: Character, inMedia: Bool = false) throws(SDPError) {
        let inserted = inMedia ? seenMedia.insert(type).inserted : seenSession.insert(type).inserted
        guard inserted else { throw fail(.duplicateLine(type)) }
    }

    mutating func sessionLine(_ type: Character, _ value: Substring) throws(SDPError) {
        switch type {
        case "v": throw fail(.duplicateLine("v"))
        case "o":
            try once("o")
            let f = SDPText.fields(value)
            guard f.count == 6 else { throw fail(.invalidOrigin) }
            session.origin = SDPOrigin(
                username: String(f[0]), sessionID: String(f[1]), sessionVersion: String(f[2]),
                networkType: String(f[3]), addressType: String(f[4]), address: String(f[5]))
        case "s":
            try once("s")
            session.sessionName = String(value)
        case "i":
            try once("i")
            session.information = String(value)
        case "u":
            try once("u")
            session.uri = String(value)
        case "e": session.emails.append(String(value))
        case "p": session.phones.append(String(value))
        case "c":
            try once("c")
            session.connection = try connection(value)
        case "b": session.bandwidths.append(try bandwidth(value))
        case "t":
            let f = SDPText.fields(value)
            guard f.count == 2, let a = SDPText.unsigned(f[0]), let b = SDPText.unsigned(f[1]) else {
                throw fail(.invalidTiming)
            }
            session.timings.append(SDPTiming(start: a, stop: b))
        case "r":
            guard !session.timings.isEmpty else { throw fail(.unexpectedLine("r")) }
            session.timings[session.timings.count - 1].repeats.append(String(value))
        case "z":
            try once("z")
            session.timeZones = String(value)
        case "k":
            try once("k")
            session.encryptionKey = String(value)
        case "a": session.attributes.append(try attribute(value))
        default: session.otherLines.append(SDPLine(type: type, value: String(value)))
        }
    }

    mutating func startMedia(_ value: Substring) throws(SDPError) {
        finishMedia()
        let f = SDPText.fields(value)
        guard f.count >= 3 else { throw fail(.invalidMedia) }
        let (portText, countText) = SDPText.splitOnce(f[1], UInt8(ascii: "/"))
        guard let port = SDPText.unsigned(portText, max: 65535) else { throw fail(.invalidMedia) }
        var count: UInt16? = nil
        if let countText {
            guard let n = SDPText.unsigned(countText, max: 65535) else { throw fail(.invalidMedia) }
            count = UInt16(n)
        }
        current = MediaDescription(
            media: String(f[0]), port: UInt16(port), numberOfPorts: count, proto: String(f[2]),
            formats: f.dropFirst(3).map(String.init))
        seenMedia = []
    }

    mutating func finishMedia() {
        if let m = current { session.media.append(m) }
        current = nil
    }

    mutating func mediaLine(_ type: Character, _ value: Substring) throws(SDPError) {
        switch type {
        case "v", "o", "s", "u", "e", "p", "t", "r", "z": throw fail(.unexpectedLine(type))
        case "i":
            try once("i", inMedia: true)
            current!.information = String(value)
        case "c":
            try once("c", inMedia: true)
            current!.connection = try connection(value)
        case "b": current!.bandwidths.append(try bandwidth(value))
        case "k":
            try once("k", inMedia: true)
            current!.encryptionKey = String(value)
        case "a": current!.attributes.append(try attribute(value))
        default: current!.otherLines.append(SDPLine(type: type, value: String(value)))
        }
    }

    func connection(_ value: Substring) throws(SDPError) -> SDPConnection {
        let f = SDPText.fields(value)
        guard f.count == 3 else { throw fail(.invalidConnection) }
        return SDPConnection(networkType: String(f[0]), addressType: String(f[1]), address: String(f[2]))
    }

    func bandwidth(_ value: Substring) throws(SDPError) -> SDPBandwidth {
        let (type, amount) = SDPText.splitOnce(value, UInt8(ascii: ":"))
        guard !type.isEmpty, let amount, let v = SDPText.unsigned(SDPText.trimmed(amount)) else {
            throw fail(.invalidBandwidth)
        }
        return SDPBandwidth(type: String(type), value: v)
    }

    /// RFC 8866 §5.13: `a=<attribute-name>[:<attribute-value>]`.
    func attribute(_ value: Substring) throws(SDPError) -> SDPAttribute {
        let (name, v) = SDPText.splitOnce(value, UInt8(ascii: ":"))
        guard !name.isEmpty else { throw fail(.invalidAttribute) }
        if let v {
            let valid: Bool
            switch SDPText.lowercased(name) {
            case "candidate": valid = SDPCandidate(attributeValue: v) != nil
            case "fingerprint": valid = SDPFingerprint(attributeValue: v) != nil
            case "rtpmap": valid = SDPRTPMap(attributeValue: v) != nil
            case "ssrc": valid = SDPSSRCAttribute(attributeValue: v) != nil
            case "rtcp": valid = SDPRTCPAttribute(attributeValue: v) != nil
            default: valid = true
            }
            guard valid else { throw fail(.invalidAttributeValue(name: String(name))) }
        }
        return SDPAttribute(String(name), v.map(String.init))
    }
}
