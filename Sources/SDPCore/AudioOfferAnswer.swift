import CoreSupport

/// Offer/answer (RFC 3264) for one audio stream over ICE (RFC 8839) and DTLS-SRTP (RFC 5763,
/// RFC 8842), shaped by what FreeSWITCH produces and accepts (docs/verto-protocol.md §5): no BUNDLE
/// group, `a=mid` only when the peer uses it, media sections matched by position.
public enum AudioOfferAnswer {
    // MARK: - Offer (RFC 3264 §5)

    /// Writes an audio-only offer: one `m=audio` with our codecs, ICE credentials and candidates,
    /// fingerprint, `a=setup:actpass` (RFC 5763 §5), `a=rtcp-mux` (RFC 5761 §5.1.1) and direction.
    public static func makeOffer(local: LocalAudioEndpoint, options: AudioOfferOptions = AudioOfferOptions()) -> SessionDescription {
        var formats: [String] = []
        var codecAttributes: [SDPAttribute] = []
        var seen = Set<SDPAudioCodec>()
        for codec in options.codecs where seen.insert(codec).inserted {
            let pt = codec == .opus ? options.opusPayloadType : codec.defaultPayloadType
            formats.append(String(pt))
            codecAttributes.append(codec.rtpMap(payloadType: pt).attribute)
            if codec == .opus, !options.opusParameters.isEmpty {
                codecAttributes.append(SDPAttribute("fmtp", "\(pt) \(options.opusParameters)"))
            }
        }
        for te in options.telephoneEvents {
            formats.append(String(te.payloadType))
            codecAttributes.append(SDPRTPMap(payloadType: te.payloadType, encodingName: "telephone-event", clockRate: te.clockRate).attribute)
            if let events = te.events { codecAttributes.append(SDPAttribute("fmtp", "\(te.payloadType) \(events)")) }
        }
        let media = audioSection(
            local: local, proto: options.proto, formats: formats, codecAttributes: codecAttributes,
            mid: options.mid, setup: .actpass, rtcpMux: true, direction: options.direction,
            iceOptions: options.iceOptions, endOfCandidates: options.endOfCandidates,
            ptime: options.ptime, includeSSRC: options.includeSSRC)
        return session(local: local, iceLite: options.iceLite, media: [media])
    }

    // MARK: - Answer (RFC 3264 §6)

    /// Answers a remote offer. The first audio section with a non-zero port is accepted with the
    /// first codec of the offer's list that we support (the offerer's preference, RFC 3264 §6.1)
    /// and telephone-event at that codec's clock rate if offered (docs/verto-protocol.md §5.8); every
    /// other section is rejected with port 0 (RFC 3264 §6). Throws when the accepted section has
    /// no usable codec, no fingerprint, no ICE credentials or an insecure profile.
    public static func makeAnswer(
        to offer: SessionDescription, local: LocalAudioEndpoint, options: AudioAnswerOptions = AudioAnswerOptions()
    ) throws(SDPError) -> AudioAnswer {
        guard let index = offer.media.firstIndex(where: { isAudio($0) && $0.port != 0 }) else {
            throw SDPError(.noAudioMedia, context: "offer has no audio m-line with a non-zero port")
        }
        let offered = offer.media[index]
        let remote = try remoteTransport(offer, index)

        // Codec: walk the offer's formats in order (RFC 3264 §6.1).
        var chosen: (SDPAudioCodec, SDPRTPMap)? = nil
        for pt in offered.payloadTypes {
            guard let map = offered.rtpMap(for: pt), let codec = SDPAudioCodec(map), options.codecs.contains(codec) else { continue }
            chosen = (codec, map)
            break
        }
        guard let (codec, map) = chosen else {
            throw SDPError(.noUsableAudioCodec, context: "m=\(offered.mLineValue)")
        }
        let te = telephoneEvent(in: offered, clockRate: map.clockRate)

        // DTLS role (RFC 4145 §4.1, RFC 5763 §5): actpass → our choice (active by default),
        // passive → active, active → passive; absent means the offerer is active.
        let offeredSetup = offer.setup(forMediaAt: index) ?? .active
        let ourSetup: SDPSetupRole
        switch offeredSetup {
        case .actpass: ourSetup = options.setupForActpass == .passive ? .passive : .active
        case .passive: ourSetup = .active
        case .active: ourSetup = .passive
        case .holdconn: throw SDPError(.invalidSetup("holdconn"), context: "offer a=setup:holdconn")
        }
        let offeredDirection = offer.direction(forMediaAt: index)
        let direction = SDPMediaDirection.answer(to: offeredDirection, local: options.direction)
        let rtcpMux = offered.rtcpMux

        var formats = [String(map.payloadType)]
        var codecAttributes = [map.attribute]
        if codec == .opus, !options.opusParameters.isEmpty {
            codecAttributes.append(SDPAttribute("fmtp", "\(map.payloadType) \(options.opusParameters)"))
        }
        if let te {
            formats.append(String(te.payloadType))
            codecAttributes.append(SDPRTPMap(payloadType: te.payloadType, encodingName: "telephone-event", clockRate: te.clockRate).attribute)
            if let p = offered.formatParameters(for: te.payloadType), !p.isEmpty {
                codecAttributes.append(SDPAttribute("fmtp", "\(te.payloadType) \(p)"))
            }
        }

        var sections: [MediaDescription] = []
        for (i, m) in offer.media.enumerated() {
            if i == index {
                sections.append(audioSection(
                    local: local, proto: offered.proto, formats: formats, codecAttributes: codecAttributes,
                    mid: offered.mid, setup: ourSetup, rtcpMux: rtcpMux, direction: direction,
                    iceOptions: options.iceOptions, endOfCandidates: options.endOfCandidates,
                    ptime: options.ptime, includeSSRC: options.includeSSRC))
            } else {
                sections.append(rejected(m))
            }
        }
        var answer = session(local: local, iceLite: options.iceLite, media: sections)
        if options.acceptBundle, let mid = offered.mid, offer.bundleMids.contains(mid) {
            answer.attributes.append(SDPAttribute("group", "BUNDLE \(mid)"))
        }

        let negotiated = NegotiatedAudio(
            mediaIndex: index, mid: offered.mid,
            codec: .init(codec: codec, payloadType: map.payloadType, clockRate: map.clockRate, channels: codec.channels,
                         parameters: offered.formatParameters(for: map.payloadType) ?? SDPFormatParameters()),
            telephoneEvent: te.map { .init(payloadType: $0.payloadType, clockRate: $0.clockRate) },
            ptime: offered.ptime ?? offered.formatParameters(for: map.payloadType)?.integer("ptime"),
            maxptime: offered.maxptime,
            direction: direction,
            remoteICE: remote.ice, remoteCandidates: offered.candidates, remoteICELite: offer.iceLite,
            remoteEndOfCandidates: offered.endOfCandidates,
            remoteFingerprint: remote.fingerprint, remoteFingerprints: remote.fingerprints,
            dtlsRole: ourSetup == .active ? .client : .server,
            // RFC 8445 §6.1.1: the answerer is controlled unless the offerer is lite and we are full.
            iceRole: offer.iceLite && !options.iceLite ? .controlling : .controlled,
            rtcpMux: rtcpMux, remoteSSRC: offered.ssrcs.first,
            remoteAddress: offer.connection(forMediaAt: index)?.address, remotePort: offered.port)
        return AudioAnswer(answer: answer, negotiated: negotiated)
    }

    // MARK: - Applying the answer (RFC 3264 §7)

    /// Reads the peer's answer to `offer` (an offer we wrote): the audio section at the same
    /// position, the codec it chose among ours, its direction, ICE and DTLS parameters.
    public static func applyAnswer(_ answer: SessionDescription, to offer: SessionDescription) throws(SDPError) -> NegotiatedAudio {
        guard let index = offer.media.firstIndex(where: { isAudio($0) && $0.port != 0 }) else {
            throw SDPError(.noAudioMedia, context: "our offer has no audio m-line")
        }
        guard answer.media.count == offer.media.count else {
            throw SDPError(.answerMismatch, context: "answer has \(answer.media.count) m-lines, offer \(offer.media.count)")
        }
        let ours = offer.media[index]
        let theirs = answer.media[index]
        guard isAudio(theirs) else { throw SDPError(.answerMismatch, context: "m=\(theirs.mLineValue) answers m=audio") }
        guard theirs.port != 0 else { throw SDPError(.audioRejected, context: "m=\(theirs.mLineValue)") }
        let remote = try remoteTransport(answer, index)

        // The codec: the first format of the answer that is one of ours and that we offered.
        let offeredCodecs = Set(ours.payloadTypes.compactMap { ours.rtpMap(for: $0).flatMap(SDPAudioCodec.init) })
        var chosen: (SDPAudioCodec, SDPRTPMap)? = nil
        for pt in theirs.payloadTypes {
            guard let map = theirs.rtpMap(for: pt), let codec = SDPAudioCodec(map), offeredCodecs.contains(codec) else { continue }
            chosen = (codec, map)
            break
        }
        guard let (codec, map) = chosen else {
            throw SDPError(.noUsableAudioCodec, context: "m=\(theirs.mLineValue)")
        }
        let te = ours.rtpMaps.contains { SDPAudioCodec.isTelephoneEvent($0) }
            ? telephoneEvent(in: theirs, clockRate: map.clockRate) : nil

        // DTLS role (RFC 5763 §5, RFC 4145 §4.1: an answer without a=setup means passive).
        let offeredSetup = offer.setup(forMediaAt: index) ?? .actpass
        let answered = answer.setup(forMediaAt: index) ?? .passive
        let dtlsRole: DTLSRole
        switch (offeredSetup, answered) {
        case (.actpass, .active), (.passive, .active): dtlsRole = .server
        case (.actpass, .passive), (.active, .passive): dtlsRole = .client
        default: throw SDPError(.invalidSetup(answered.rawValue), context: "offer a=setup:\(offeredSetup.rawValue), answer a=setup:\(answered.rawValue)")
        }

        let ourDirection = answer.direction(forMediaAt: index).reversed.intersection(offer.direction(forMediaAt: index))
        let weAreLite = offer.iceLite
        return NegotiatedAudio(
            mediaIndex: index, mid: theirs.mid,
            codec: .init(codec: codec, payloadType: map.payloadType, clockRate: map.clockRate, channels: codec.channels,
                         parameters: theirs.formatParameters(for: map.payloadType) ?? SDPFormatParameters()),
            telephoneEvent: te.map { .init(payloadType: $0.payloadType, clockRate: $0.clockRate) },
            ptime: theirs.ptime ?? theirs.formatParameters(for: map.payloadType)?.integer("ptime"),
            maxptime: theirs.maxptime,
            direction: ourDirection,
            remoteICE: remote.ice, remoteCandidates: theirs.candidates, remoteICELite: answer.iceLite,
            remoteEndOfCandidates: theirs.endOfCandidates,
            remoteFingerprint: remote.fingerprint, remoteFingerprints: remote.fingerprints,
            dtlsRole: dtlsRole,
            // RFC 8445 §6.1.1: the offerer controls unless it is lite and the answerer is full.
            iceRole: weAreLite && !answer.iceLite ? .controlled : .controlling,
            rtcpMux: ours.rtcpMux && theirs.rtcpMux, remoteSSRC: theirs.ssrcs.first,
            remoteAddress: answer.connection(forMediaAt: index)?.address, remotePort: theirs.port)
    }

    // MARK: - Pieces

    static func isAudio(_ m: MediaDescription) -> Bool { SDPText.equalsIgnoringCase(m.media, "audio") }

    /// True for the secure RTP profiles (RTP/SAVP, RTP/SAVPF, UDP/TLS/RTP/SAVP[F]; RFC 5764 §8).
    static func isSecureRTP(_ proto: String) -> Bool {
        let p = SDPText.lowercased(proto)
        return p.hasSuffix("rtp/savp") || p.hasSuffix("rtp/savpf")
    }

    struct RemoteTransport {
        var ice: ICECredentials
        var fingerprint: SDPFingerprint
        var fingerprints: [SDPFingerprint]
    }

    /// The peer's profile, ICE credentials and fingerprint for section `index`, or the typed error.
    static func remoteTransport(_ sdp: SessionDescription, _ index: Int) throws(SDPError) -> RemoteTransport {
        let m = sdp.media[index]
        guard isSecureRTP(m.proto) else { throw SDPError(.unsupportedProtocol(m.proto), context: "m=\(m.mLineValue)") }
        guard let ice = sdp.iceCredentials(forMediaAt: index) else {
            throw SDPError(.missingICECredentials, context: "m=\(m.mLineValue)")
        }
        let fingerprints = sdp.fingerprints(forMediaAt: index)
        guard let first = fingerprints.first else { throw SDPError(.missingFingerprint, context: "m=\(m.mLineValue)") }
        let preferred = fingerprints.first { $0.hashFunction == "sha-256" } ?? first
        return RemoteTransport(ice: ice, fingerprint: preferred, fingerprints: fingerprints)
    }

    /// The first telephone-event of `m` at `clockRate` (docs/verto-protocol.md §5.8).
    static func telephoneEvent(in m: MediaDescription, clockRate: UInt32) -> SDPRTPMap? {
        for pt in m.payloadTypes {
            if let map = m.rtpMap(for: pt), SDPAudioCodec.isTelephoneEvent(map), map.clockRate == clockRate { return map }
        }
        return nil
    }

    /// A rejected section: port 0, the offered profile and formats, and the mid if any (RFC 3264 §6).
    static func rejected(_ m: MediaDescription) -> MediaDescription {
        var r = MediaDescription(media: m.media, port: 0, proto: m.proto, formats: m.formats.isEmpty ? ["0"] : m.formats)
        if let mid = m.mid { r.attributes.append(SDPAttribute("mid", mid)) }
        return r
    }

    static func session(local: LocalAudioEndpoint, iceLite: Bool, media: [MediaDescription]) -> SessionDescription {
        SessionDescription(
            origin: SDPOrigin(sessionID: String(local.sessionID), sessionVersion: String(local.sessionVersion)),
            sessionName: "-",
            attributes: iceLite ? [SDPAttribute("ice-lite")] : [],
            media: media)
    }

    static func audioSection(
        local: LocalAudioEndpoint, proto: String, formats: [String], codecAttributes: [SDPAttribute],
        mid: String?, setup: SDPSetupRole, rtcpMux: Bool, direction: SDPMediaDirection,
        iceOptions: [String], endOfCandidates: Bool, ptime: Int?, includeSSRC: Bool
    ) -> MediaDescription {
        // The default destination (RFC 8839 §4.2.1.2): our first UDP component-1 candidate, else
        // the "discard" placeholder 9 / 0.0.0.0 browsers write before gathering.
        let defaultCandidate = local.candidates.first { $0.isUDP && $0.component == 1 }
        var m = MediaDescription(
            media: "audio", port: defaultCandidate?.port ?? 9, proto: proto, formats: formats,
            connection: SDPConnection(address: defaultCandidate?.address ?? "0.0.0.0"))
        var a: [SDPAttribute] = []
        if let mid { a.append(SDPAttribute("mid", mid)) }
        a.append(SDPAttribute("ice-ufrag", local.iceCredentials.ufrag))
        a.append(SDPAttribute("ice-pwd", local.iceCredentials.password))
        if !iceOptions.isEmpty { a.append(SDPAttribute("ice-options", iceOptions.joined(separator: " "))) }
        a += local.candidates.map(\.attribute)
        if endOfCandidates { a.append(SDPAttribute("end-of-candidates")) }
        a += local.fingerprints.map(\.attribute)
        a.append(setup.attribute)
        if rtcpMux { a.append(SDPAttribute("rtcp-mux")) }
        a.append(direction.attribute)
        a += codecAttributes
        if let ptime { a.append(SDPAttribute("ptime", String(ptime))) }
        if includeSSRC { a.append(SDPSSRCAttribute(ssrc: local.ssrc, name: "cname", value: local.cname).attribute) }
        m.attributes = a
        return m
    }
}
