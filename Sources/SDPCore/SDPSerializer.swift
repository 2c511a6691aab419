/// Writes a `SessionDescription` as SDP text (RFC 8866 §5): CRLF line endings and the canonical
/// order `v o s i u e p c b t r z k`, then session lines of unknown type, then session attributes
/// in their order, then each media description as `m i c b k`, its unknown lines, its attributes.
/// Parsing the output gives back an equal model.
public enum SDPSerializer {
    public static func serialize(_ sdp: SessionDescription) -> String {
        var out = ""
        out.reserveCapacity(1024)
        func line(_ type: String, _ value: String) {
            out += type
            out += "="
            out += value
            out += "\r\n"
        }
        line("v", String(sdp.version))
        line("o", sdp.origin.value)
        line("s", sdp.sessionName)
        if let i = sdp.information { line("i", i) }
        if let u = sdp.uri { line("u", u) }
        for e in sdp.emails { line("e", e) }
        for p in sdp.phones { line("p", p) }
        if let c = sdp.connection { line("c", c.value) }
        for b in sdp.bandwidths { line("b", b.text) }
        for t in sdp.timings.isEmpty ? [SDPTiming()] : sdp.timings {
            line("t", "\(t.start) \(t.stop)")
            for r in t.repeats { line("r", r) }
        }
        if let z = sdp.timeZones { line("z", z) }
        if let k = sdp.encryptionKey { line("k", k) }
        for l in sdp.otherLines { line(String(l.type), l.value) }
        for a in sdp.attributes { line("a", a.description) }
        for m in sdp.media {
            line("m", m.mLineValue)
            if let i = m.information { line("i", i) }
            if let c = m.connection { line("c", c.value) }
            for b in m.bandwidths { line("b", b.text) }
            if let k = m.encryptionKey { line("k", k) }
            for l in m.otherLines { line(String(l.type), l.value) }
            for a in m.attributes { line("a", a.description) }
        }
        return out
    }
}
