/// Typed views of the attributes of a media description. They read `attributes` on every call
/// (the attributes stay the single source of truth) and skip values that do not parse, which the
/// parser already rejects for the typed attributes.
extension MediaDescription {
    /// `a=mid` (RFC 9143 §14 / RFC 5888 §4).
    public var mid: String? { attributes.first(named: "mid")?.value }

    /// `a=ice-ufrag` at media level (RFC 8839 §5.4).
    public var iceUfrag: String? { attributes.first(named: "ice-ufrag")?.value }

    /// `a=ice-pwd` at media level (RFC 8839 §5.4).
    public var icePwd: String? { attributes.first(named: "ice-pwd")?.value }

    /// The tokens of every `a=ice-options` at media level (RFC 8839 §5.6), e.g. `trickle`.
    public var iceOptions: [String] {
        attributes.values(named: "ice-options").flatMap { SDPText.fields($0).map(String.init) }
    }

    /// `a=candidate` lines (RFC 8839 §5.1), in order.
    public var candidates: [SDPCandidate] {
        attributes.all(named: "candidate").compactMap { $0.value.flatMap(SDPCandidate.init(attributeValue:)) }
    }

    /// `a=end-of-candidates` (RFC 8840 §8.2).
    public var endOfCandidates: Bool { attributes.contains(named: "end-of-candidates") }

    /// `a=fingerprint` lines at media level (RFC 8122 §5), in order.
    public var fingerprints: [SDPFingerprint] {
        attributes.all(named: "fingerprint").compactMap { $0.value.flatMap(SDPFingerprint.init(attributeValue:)) }
    }

    /// `a=setup` at media level (RFC 4145 §4); nil when absent or unknown.
    public var setup: SDPSetupRole? { attributes.first(named: "setup")?.value.flatMap(SDPSetupRole.init(attributeValue:)) }

    /// `a=rtcp-mux` (RFC 5761 §5.1.1).
    public var rtcpMux: Bool { attributes.contains(named: "rtcp-mux") }

    /// `a=rtcp` (RFC 3605 §2.1).
    public var rtcp: SDPRTCPAttribute? { attributes.first(named: "rtcp")?.value.flatMap(SDPRTCPAttribute.init(attributeValue:)) }

    /// The explicit direction attribute at media level (the first one), nil when absent.
    public var direction: SDPMediaDirection? {
        for a in attributes where a.value == nil {
            if let d = SDPMediaDirection(rawValue: SDPText.lowercased(a.name)) { return d }
        }
        return nil
    }

    /// `a=ptime` in milliseconds (RFC 8866 §6.4); a fractional value is rounded down.
    public var ptime: Int? { Self.milliseconds(attributes.first(named: "ptime")?.value) }

    /// `a=maxptime` in milliseconds (RFC 8866 §6.5).
    public var maxptime: Int? { Self.milliseconds(attributes.first(named: "maxptime")?.value) }

    /// All `a=rtpmap` lines, in order.
    public var rtpMaps: [SDPRTPMap] {
        attributes.all(named: "rtpmap").compactMap { $0.value.flatMap(SDPRTPMap.init(attributeValue:)) }
    }

    /// The rtpmap of `payloadType`: the `a=rtpmap` line if there is one, else the static audio
    /// assignment of RFC 3551 §6 (PCMU 0, PCMA 8, …) for audio media.
    public func rtpMap(for payloadType: UInt8) -> SDPRTPMap? {
        if let m = rtpMaps.first(where: { $0.payloadType == payloadType }) { return m }
        return SDPText.equalsIgnoringCase(media, "audio") ? SDPRTPMap.staticAudio(payloadType) : nil
    }

    /// The parameters of `a=fmtp:<payloadType>` (RFC 8866 §6.15), nil when there is none.
    public func formatParameters(for payloadType: UInt8) -> SDPFormatParameters? {
        formatParameters(forFormat: String(payloadType))
    }

    /// The parameters of `a=fmtp:<format>`, nil when there is none.
    public func formatParameters(forFormat format: String) -> SDPFormatParameters? {
        for a in attributes.all(named: "fmtp") {
            guard let v = a.value else { continue }
            let (fmt, rest) = SDPText.splitOnce(SDPText.trimmed(Substring(v)), UInt8(ascii: " "))
            if fmt == format { return SDPFormatParameters(parsing: rest ?? "") }
        }
        return nil
    }

    /// All `a=ssrc` lines (RFC 5576 §4.1), in order.
    public var ssrcAttributes: [SDPSSRCAttribute] {
        attributes.all(named: "ssrc").compactMap { $0.value.flatMap(SDPSSRCAttribute.init(attributeValue:)) }
    }

    /// The distinct SSRCs of the `a=ssrc` lines, in order of first appearance.
    public var ssrcs: [UInt32] {
        var seen = Set<UInt32>()
        return ssrcAttributes.compactMap { seen.insert($0.ssrc).inserted ? $0.ssrc : nil }
    }

    /// The `cname` of `ssrc` (RFC 5576 §6.1), or of the first SSRC when `ssrc` is nil.
    public func cname(ssrc: UInt32? = nil) -> String? {
        ssrcAttributes.first { (ssrc == nil || $0.ssrc == ssrc) && SDPText.equalsIgnoringCase($0.name, "cname") }?.value
    }

    static func milliseconds(_ text: String?) -> Int? {
        guard let text else { return nil }
        let (whole, _) = SDPText.splitOnce(SDPText.trimmed(Substring(text)), UInt8(ascii: "."))
        return SDPText.unsigned(whole, max: 100_000).map { Int($0) }
    }
}
