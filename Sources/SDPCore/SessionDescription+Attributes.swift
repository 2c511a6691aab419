import CoreSupport

/// Typed views of session-level attributes, and the effective value for one media description:
/// media level first, falling back to session level where RFC 8839 (ICE credentials, options),
/// RFC 8122 (fingerprint), RFC 4145 (setup) and RFC 8866 §6.7 (direction) allow both.
extension SessionDescription {
    /// `a=ice-lite` (RFC 8839 §5.3; a session-level attribute).
    public var iceLite: Bool { attributes.contains(named: "ice-lite") }

    /// `a=group:BUNDLE …` mids (RFC 9143 §7.1), empty when there is no BUNDLE group.
    public var bundleMids: [String] {
        for v in attributes.values(named: "group") {
            let f = SDPText.fields(v)
            if let first = f.first, SDPText.equalsIgnoringCase(first, "BUNDLE") { return f.dropFirst().map(String.init) }
        }
        return []
    }

    /// The ICE ufrag/pwd for media description `index`: media level, falling back to session level
    /// (RFC 8839 §5.4). Nil when either is missing or empty.
    public func iceCredentials(forMediaAt index: Int) -> ICECredentials? {
        guard media.indices.contains(index) else { return nil }
        let m = media[index]
        let ufrag = m.iceUfrag ?? attributes.first(named: "ice-ufrag")?.value
        let pwd = m.icePwd ?? attributes.first(named: "ice-pwd")?.value
        guard let ufrag, let pwd, !ufrag.isEmpty, !pwd.isEmpty else { return nil }
        return ICECredentials(ufrag: ufrag, password: pwd)
    }

    /// The `a=ice-options` tokens for media description `index`: media level, else session level (RFC 8839 §5.6).
    public func iceOptions(forMediaAt index: Int) -> [String] {
        if media.indices.contains(index), !media[index].iceOptions.isEmpty { return media[index].iceOptions }
        return attributes.values(named: "ice-options").flatMap { SDPText.fields($0).map(String.init) }
    }

    /// The fingerprints for media description `index`: media level, else session level (RFC 8122 §5;
    /// Firefox writes it at session level).
    public func fingerprints(forMediaAt index: Int) -> [SDPFingerprint] {
        if media.indices.contains(index), !media[index].fingerprints.isEmpty { return media[index].fingerprints }
        return attributes.all(named: "fingerprint").compactMap { $0.value.flatMap(SDPFingerprint.init(attributeValue:)) }
    }

    /// `a=setup` for media description `index`: media level, else session level (RFC 4145 §4).
    public func setup(forMediaAt index: Int) -> SDPSetupRole? {
        if media.indices.contains(index), let s = media[index].setup { return s }
        return attributes.first(named: "setup")?.value.flatMap(SDPSetupRole.init(attributeValue:))
    }

    /// The direction of media description `index`: media level, else session level, else
    /// `sendrecv` (RFC 8866 §6.7; RFC 3264 §5.1).
    public func direction(forMediaAt index: Int) -> SDPMediaDirection {
        if media.indices.contains(index), let d = media[index].direction { return d }
        for a in attributes where a.value == nil {
            if let d = SDPMediaDirection(rawValue: SDPText.lowercased(a.name)) { return d }
        }
        return .sendrecv
    }

    /// The connection address of media description `index`: media-level `c=`, else session-level.
    public func connection(forMediaAt index: Int) -> SDPConnection? {
        guard media.indices.contains(index) else { return nil }
        return media[index].connection ?? connection
    }
}
