import CoreSupport
import CryptoCore
import ICECore
import MediaCore
import NIOCore
import OpusCodec
import RTPCore
import SDPCore
import SRTPCore

/// One audio peer connection, sans-IO: ICE + DTLS (role from `a=setup`) + SRTP + RTP/RTCP + jitter
/// buffer + codec over one UDP socket, demultiplexed per RFC 7983.
///
/// Signalling: `createOffer` / `applyAnswer`, or `acceptOffer`. Media: `sendAudio` once per frame
/// (20 ms), `pollFrame` for decoded audio. Transport: `DatagramCore` (datagrams in and out, one
/// deadline). There are no timers on the setup path: the first ICE check leaves when the remote
/// description is applied, the ClientHello when ICE selects a pair, and the first received packet is
/// decoded at once (docs/performance.md §4).
///
/// Single owner (one event loop); not thread-safe.
public final class PeerSession: RelayStreamCore {
    public enum State: String, Sendable, Equatable {
        case new, offered, connecting, connected, failed, closed
    }

    public let configuration: PeerSessionConfiguration
    public internal(set) var state: State = .new
    public internal(set) var milestones = PeerMilestones()
    public internal(set) var statistics = PeerStatistics()
    /// What the offer/answer settled, once it has.
    public internal(set) var negotiated: NegotiatedAudio?
    /// Our ICE credentials, fingerprint, candidates and SSRC as they go into SDP.
    public private(set) var localEndpoint: LocalAudioEndpoint

    var ice: ICEAgent
    /// `ice.nextDeadline()` as of the agent's last change (nil: to be asked again). A method call
    /// on the agent through this class copies the whole struct (a retain per field), and the
    /// deadline is asked after every datagram; every change of `ice` clears this (checked in debug
    /// builds at each use).
    private var iceDeadline: NIODeadline?? = nil
    var hostIDs: [ICELocalCandidateID] = []
    /// The family of each host candidate (parallel to `hostIDs`): with two sockets (dual stack),
    /// a datagram arrived on the host candidate of its source's family.
    var hostIsIPv4: [Bool] = []
    /// Server-reflexive gathering in progress (RFC 8489 Binding to the configured STUN server).
    var binding: STUNBindingClient?
    var reflexive: TransportAddress?
    /// TURN allocations (RFC 8656), one per configured server, with the relayed candidate each gave.
    struct Relay {
        var client: TURNClient
        var candidate: ICELocalCandidateID?
        var server: TURNServerConfiguration
        /// Over TCP/TLS: splits the stream into messages.
        var framer = TURNStreamFramer()
    }
    var relays: [Relay] = []
    /// The relay that carries the media path (the selected pair's local candidate is relayed, or
    /// the peer's DTLS came through it first); nil: the direct path.
    var mediaRelay: Int?
    /// The last time an input brought (sends queued behind a TURN channel bind need one).
    var clock: NIODeadline
    var gatheringReported = false
    /// Why gathering produced nothing usable (relay-only and every allocation failed).
    public private(set) var gatheringError: PeerError?
    let hostAddresses: [SocketAddress]
    let identity: DTLSIdentity
    var dtls: DTLSEndpoint?
    /// True once the peer's first authenticated packet released the DTLS association's OpenSSL state.
    public var dtlsReleased: Bool { dtls?.isReleased ?? false }
    var srtp: SRTPSession?
    var localOffer: SessionDescription?
    var random: AnyRandomSource

    /// Where media goes: the selected pair's remote address (or, before selection, the source of
    /// the peer's DTLS).
    var mediaDestination: SocketAddress?
    /// DTLS records that arrived while our offer was outstanding: an answerer may start DTLS as
    /// soon as ICE works, before its answer reaches us through signalling (browsers do). Kept,
    /// within `earlyDatagramLimit`, and fed to DTLS when the answer is applied.
    private var earlyDTLS: [(bytes: [UInt8], source: SocketAddress)] = []
    private var earlyDTLSBytes = 0
    /// Early datagrams kept so far (diagnostics).
    private(set) var earlyDatagramsKept = 0
    static let earlyDatagramLimit = (count: 16, bytes: 32_768)

    // Sending.
    var packetizer: RTPPacketizer?
    var encoder: (any AudioEncoder)?
    var dtmfSender: DTMFSender?
    var samplesPerFrame = 960
    var sending = true

    // Receiving.
    var decoder: (any AudioDecoder)?
    var jitter: JitterBuffer?
    var receiveStats: ReceiveStatistics?
    var dtmfReceiver = DTMFReceiver()
    var nextPlayout: NIODeadline?
    var lastRTPArrival: NIODeadline?
    /// `.pathStalled` was reported and no audio came since.
    var stalled = false
    /// A bridge without transcoding: received audio of the negotiated codec is not decoded; its
    /// payloads wait in `pollForwarded()` for a session of the same codec (`sendEncoded`). RFC 4733
    /// events are still received as DTMF.
    public var forwardsPayloads = false {
        didSet { if !forwardsPayloads { forwarded.removeAll(); lastForwardedTimestamp = nil } }
    }
    var forwarded = CircularBuffer<ForwardedPayload>()
    /// The storage of the last forwarded payload handed back (`recycle(forwarded:)`).
    var spareForwarded: [UInt8]?
    var lastForwardedTimestamp: UInt32?
    var sentEncoded = false

    /// An audio device pulls the playout (`pullPlayout`) instead of the session's 20 ms timer.
    public var playoutPulled = false {
        didSet { if playoutPulled { nextPlayout = nil } }
    }

    // RTCP.
    var nextRTCP: NIODeadline?
    var packetsSentAtLastReport = 0

    // Outputs. Packets and frames leave in arrays whose storage comes back to these spares
    // (`pollTransmit`, `recycle`), so the steady media path allocates nothing per packet.
    var outbox = CircularBuffer<(bytes: [UInt8], to: SocketAddress)>()
    var spareDatagram: [UInt8]?
    var events = CircularBuffer<PeerEvent>()
    var frames = CircularBuffer<DecodedFrame>()
    var spareSamples: [Int16]?
    /// Decoded frames kept when the owner does not poll them (oldest dropped).
    public var maxQueuedFrames = 50

    /// Opus codec and jitter buffer made at creation, so offer/answer does not pay for them
    /// (~0.1 ms per leg); used when Opus is negotiated, dropped otherwise.
    var preparedOpus: (encoder: OpusEncoder, decoder: OpusDecoder, jitter: JitterBuffer)?

    // Scratch buffers (per-packet paths reuse them).
    var packetScratch = [UInt8](repeating: 0, count: 1600)
    var payloadScratch = [UInt8](repeating: 0, count: 1500)
    /// Decoded samples: one 20 ms stereo frame at 48 kHz at first, grown to the largest (120 ms)
    /// by the first packet that needs it.
    var pcmScratch = [Int16](repeating: 0, count: 960 * 2)
    static let largestDecodedFrame = 5760 * 2

    /// - Parameters:
    ///   - hostAddresses: the bound socket address(es) to advertise as host candidates (the socket
    ///     bound by the shell; literal IPs, RFC 8445 §5.1.1.1).
    ///   - random: `.system` in production, `.seeded(n)` in tests.
    public init(configuration: PeerSessionConfiguration = PeerSessionConfiguration(), identity: DTLSIdentity = .shared,
                hostAddresses: [SocketAddress], random: AnyRandomSource = .system, now: NIODeadline) {
        self.configuration = configuration
        self.identity = identity
        self.hostAddresses = hostAddresses
        self.random = random
        self.clock = now
        let credentials = ICECredentials.random(using: &self.random)
        // The offerer is controlling (RFC 8445 §6.1.1); `acceptOffer` re-creates the agent as controlled.
        self.ice = ICEAgent(configuration: configuration.ice, role: .controlling, localCredentials: credentials,
                            random: self.random.split())
        let fingerprint = SDPFingerprint(hashFunction: identity.fingerprint.algorithm, bytes: identity.fingerprint.bytes)
        self.localEndpoint = LocalAudioEndpoint(
            iceCredentials: credentials,
            fingerprints: [fingerprint], candidates: [],
            ssrc: UInt32.random(in: 1...UInt32.max, using: &self.random),
            cname: self.random.string(length: 16, alphabet: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"),
            sessionID: UInt64.random(in: 1...UInt64(Int64.max), using: &self.random))
        for server in configuration.turnServers {
            relays.append(Relay(client: TURNClient(server: server.address, transport: server.transport, credentials: server.credentials,
                                                   configuration: configuration.turn, random: self.random.split(), now: now),
                                server: server))
        }
        addLocalCandidates(now: now)
        var opus = configuration.opus
        opus.sampleRate = 48_000
        var jb = configuration.jitter
        jb.clockRate = 48_000
        jb.frameDuration = configuration.frameDuration
        jb.codecHasFEC = true
        if let e = try? OpusEncoder(opus), let d = try? OpusDecoder(sampleRate: 48_000, channels: 1) {
            preparedOpus = (e, d, JitterBuffer(configuration: jb))
        }
        if let server = configuration.stunServer, !configuration.relayOnly, let base = hostIDs.first {
            binding = STUNBindingClient(server: server, localCandidate: base, now: now, random: &self.random,
                                        maximumWait: configuration.stunMaximumWait)
        }
        updateGathering(now: now)
    }

    /// True once candidates are final (host only, or the STUN answer/timeout came, and every TURN
    /// allocation succeeded or failed): offer or answer then.
    public var isGatheringComplete: Bool {
        (binding == nil || binding?.outcome != nil) && relays.allSatisfy { $0.client.state != .allocating }
    }

    /// Takes the STUN and TURN clients' results into the candidates, and reports the end of gathering once.
    private func updateGathering(now: NIODeadline) {
        if let b = binding, let outcome = b.outcome {
            if case .mapped(let mapped) = outcome, let base = hostIDs.first, reflexive == nil,
               hostAddresses.first.flatMap(TransportAddress.init) != mapped {
                reflexive = mapped
                _ = try? ice.addServerReflexiveCandidate(mapped, base: base, now: now)
                iceDeadline = nil
                localEndpoint.candidates = ice.localCandidates.compactMap(SDPBridge.sdpCandidate)
            }
            binding = nil
        }
        for i in relays.indices {
            while let e = relays[i].client.pollEvent() {
                switch e {
                case .allocated(let relayed, let mapped, _):
                    relays[i].candidate = ice.addRelayedCandidate(relayed, mapped: mapped, now: now)
                    iceDeadline = nil
                    localEndpoint.candidates = ice.localCandidates.compactMap(SDPBridge.sdpCandidate)
                case .failed(let error):
                    if mediaRelay == i, state == .connecting || state == .connected { fail(.turn(error)) }
                    if gatheringError == nil { gatheringError = .turn(error) }
                }
            }
        }
        guard !gatheringReported, isGatheringComplete else { return }
        gatheringReported = true
        if localEndpoint.candidates.isEmpty {
            if gatheringError == nil || !configuration.relayOnly { gatheringError = .noCandidates }
        } else {
            gatheringError = nil
        }
        events.append(.gatheringComplete)
    }

    /// Host candidates (none with the relay-only policy), the server-reflexive one, relayed ones.
    private func addLocalCandidates(now: NIODeadline) {
        hostIDs = []
        hostIsIPv4 = []
        if !configuration.relayOnly {
            for (i, a) in hostAddresses.enumerated() {
                guard let t = TransportAddress(a) else { continue }
                hostIDs.append(ice.addHostCandidate(t, localPreference: UInt16(65535 - min(i, 1000)), now: now))
                iceDeadline = nil
                hostIsIPv4.append(t.isIPv4)
            }
            if let mapped = reflexive, let base = hostIDs.first {
                _ = try? ice.addServerReflexiveCandidate(mapped, base: base, now: now)
                iceDeadline = nil
            }
        }
        for i in relays.indices where relays[i].client.state == .allocated {
            if let relayed = relays[i].client.relayedAddress {
                relays[i].candidate = ice.addRelayedCandidate(relayed, mapped: relays[i].client.mappedAddress, now: now)
                iceDeadline = nil
            }
        }
        localEndpoint.candidates = ice.localCandidates.compactMap(SDPBridge.sdpCandidate)
    }

    /// The host candidate a datagram from `source` arrived on: the first of the source's family.
    func hostID(for source: SocketAddress) -> ICELocalCandidateID? {
        let v4: Bool
        switch source {
        case .v4: v4 = true
        case .v6: v4 = false
        case .unixDomainSocket: return nil
        }
        guard let i = hostIsIPv4.firstIndex(of: v4) else { return hostIDs.first }
        return hostIDs[i]
    }

    func relayIndex(forCandidate id: ICELocalCandidateID) -> Int? {
        relays.firstIndex { $0.candidate == id }
    }

    // MARK: - Signalling (RFC 3264)

    /// Our audio offer (`a=setup:actpass`, all candidates, non-trickle).
    public func createOffer(now: NIODeadline) -> SessionDescription {
        let offer = AudioOfferAnswer.makeOffer(local: localEndpoint, options: configuration.offer)
        localOffer = offer
        if state == .new { state = .offered }
        return offer
    }

    /// Applies the peer's answer to our last offer and starts ICE (the first check leaves now).
    public func applyAnswer(_ answer: SessionDescription, now: NIODeadline) throws(PeerError) {
        guard let offer = localOffer, state == .offered else { throw .invalidState("no outstanding offer (state \(state))") }
        let n: NegotiatedAudio
        do { n = try AudioOfferAnswer.applyAnswer(answer, to: offer) } catch { throw .sdp(error) }
        try start(n, now: now)
    }

    /// Answers the peer's offer and starts ICE.
    public func acceptOffer(_ offer: SessionDescription, now: NIODeadline) throws(PeerError) -> SessionDescription {
        guard state == .new || state == .offered else { throw .invalidState("cannot answer in state \(state)") }
        let result: AudioAnswer
        do { result = try AudioOfferAnswer.makeAnswer(to: offer, local: localEndpoint, options: configuration.answer) } catch {
            throw .sdp(error)
        }
        // We answer: controlled, unless the offerer is lite and we are not (RFC 8445 §6.1.1).
        let role: ICECore.ICERole = result.negotiated.iceRole == .controlling ? .controlling : .controlled
        ice = ICEAgent(configuration: configuration.ice, role: role, localCredentials: ice.localCredentials,
                       random: random.split())
        iceDeadline = nil
        addLocalCandidates(now: now)
        try start(result.negotiated, now: now)
        return result.answer
    }

    private func start(_ n: NegotiatedAudio, now: NIODeadline) throws(PeerError) {
        clock = now
        let fp = n.remoteFingerprints.first { $0.hashFunction.lowercased() == "sha-256" } ?? n.remoteFingerprint
        let remoteFingerprint = DTLSFingerprint(algorithm: fp.hashFunction, bytes: fp.bytes)
        do {
            dtls = try DTLSEndpoint(identity: identity, role: n.dtlsRole == .client ? .client : .server,
                                    remoteFingerprint: remoteFingerprint, configuration: configuration.dtls)
        } catch {
            throw .badFingerprint("\(error)")
        }
        try setUpCodec(n)
        negotiated = n
        sending = n.direction == .sendrecv || n.direction == .sendonly
        state = .connecting
        milestones.remoteDescriptionApplied = now
        if dtls?.role == .server { dtls?.start(now: now) }  // arms the handshake cap
        let candidates = n.remoteCandidates.compactMap(SDPBridge.iceCandidate)
        // Permissions on our relays for every remote candidate of the same family, now: the peer's
        // checks to our relayed address are dropped by the TURN server until they exist.
        for r in relays.indices where relays[r].candidate != nil {
            guard let relayed = relays[r].client.relayedAddress else { continue }
            for c in candidates {
                if let a = c.transportAddress, a.sameFamily(as: relayed) { relays[r].client.prepare(a, now: now) }
            }
        }
        ice.setRemoteIsLite(n.remoteICELite)
        ice.setRemoteDescription(credentials: n.remoteICE,
                                 candidates: candidates, now: now)
        iceDeadline = nil
        processICEEvents(now: now)
        // What came before the description, now that DTLS exists (same source checks as ever).
        let early = earlyDTLS
        earlyDTLS = []
        earlyDTLSBytes = 0
        for var e in early { e.bytes.withUnsafeMutableBytes { receive($0, from: e.source, now: now) } }
    }

    private func setUpCodec(_ n: NegotiatedAudio) throws(PeerError) {
        let clock = Int(n.codec.clockRate)
        let frameNanos = configuration.frameDuration.nanoseconds
        samplesPerFrame = Int(Int64(clock) * frameNanos / 1_000_000_000)
        packetizer = RTPPacketizer(ssrc: localEndpoint.ssrc, payloadType: n.codec.payloadType, clockRate: clock,
                                   initialSequenceNumber: UInt16.random(in: 0...UInt16.max, using: &random),
                                   initialTimestamp: UInt32.random(in: 0...UInt32.max, using: &random))
        var jitterConfig = configuration.jitter
        jitterConfig.clockRate = clock
        jitterConfig.frameDuration = configuration.frameDuration
        do {
            switch n.codec.codec {
            case .opus:
                var opus = configuration.opus
                opus.sampleRate = 48_000
                if let max = n.codec.maxAverageBitrate { opus.bitrate = min(opus.bitrate, max) }
                if let p = preparedOpus {
                    // Made when the session was created (off the setup path).
                    if p.encoder.configuration.bitrate != opus.bitrate { try p.encoder.setBitrate(opus.bitrate) }
                    encoder = p.encoder
                    decoder = p.decoder
                } else {
                    encoder = try OpusEncoder(opus)
                    decoder = try OpusDecoder(sampleRate: 48_000, channels: 1)
                }
                jitterConfig.codecHasFEC = true
            case .pcmu:
                encoder = G711Encoder(law: .ulaw)
                decoder = G711Decoder(law: .ulaw)
                jitterConfig.codecHasFEC = false
            case .pcma:
                encoder = G711Encoder(law: .alaw)
                decoder = G711Decoder(law: .alaw)
                jitterConfig.codecHasFEC = false
            }
        } catch {
            throw .codec("\(error)")
        }
        if let p = preparedOpus, p.jitter.configuration == jitterConfig {
            jitter = p.jitter
        } else {
            jitter = JitterBuffer(configuration: jitterConfig)
        }
        preparedOpus = nil
        if let te = n.telephoneEvent {
            dtmfSender = DTMFSender(configuration: .init(clockRate: Int(te.clockRate), packetInterval: configuration.frameDuration))
        }
    }

    /// The PCM format `sendAudio` expects and `pollFrame` produces.
    public var audioFormat: (sampleRate: Int, channels: Int) {
        (encoder?.sampleRate ?? 48_000, encoder?.channels ?? 1)
    }

    // MARK: - Outputs

    public func pollEvent() -> PeerEvent? { events.popFirst() }

    /// The next decoded (or concealed) frame, in playout order.
    public func pollFrame() -> DecodedFrame? { frames.popFirst() }

    /// Gives a polled frame's sample storage back for the next decoded frame (optional: a frame
    /// not given back is freed as usual; one still referenced elsewhere is copied on reuse).
    public func recycle(_ frame: consuming DecodedFrame) {
        recycle(samples: frame.samples)
    }

    /// As `recycle(_:)`, for samples of a frame that were passed on (echoed or bridged back out).
    public func recycle(samples: consuming [Int16]) {
        spareSamples = samples
    }

    /// Hands back the storage of a payload from `pollForwarded()` once it was sent on (the next
    /// forwarded payload is copied into it: nothing is allocated per forwarded packet).
    public func recycle(forwarded payload: consuming ForwardedPayload) {
        spareForwarded = payload.payload
    }

    /// An array for an outgoing datagram, with the storage of the last one sent when there is one
    /// (one spare is enough for the steady state: a packet per frame, sent before the next).
    func datagramStorage() -> [UInt8] {
        var a = spareDatagram.take() ?? []
        a.removeAll(keepingCapacity: true)
        a.reserveCapacity(packetScratch.count)
        return a
    }

    func reuseDatagram(_ bytes: consuming [UInt8]) {
        spareDatagram = bytes
    }

    /// ICE statistics (checks, milestones) for diagnostics.
    public var iceStatistics: ICEStatistics { ice.statistics }

    /// Closes DTLS (close_notify) and ICE.
    public func close(now: NIODeadline) {
        guard state != .closed else { return }
        dtls?.close()
        ice.close()
        iceDeadline = nil
        for i in relays.indices { relays[i].client.close(now: now) }
        state = .closed
        nextPlayout = nil
        nextRTCP = nil
    }

    func fail(_ error: PeerError) {
        guard state != .failed && state != .closed else { return }
        state = .failed
        nextPlayout = nil
        nextRTCP = nil
        events.append(.failed(error))
    }

    // MARK: - DatagramCore

    public func receive(_ datagram: UnsafeMutableRawBufferPointer, from source: SocketAddress, now: NIODeadline) {
        guard state != .closed else { return }
        clock = now
        if !relays.isEmpty, let r = relays.firstIndex(where: { !$0.client.transport.isStream && $0.client.server == source }) {
            receiveFromRelay(r, datagram, now: now)
            return
        }
        if configuration.relayOnly {
            // Only STUN answers of a configured STUN server are taken on the direct path.
            statistics.unknownDatagrams += 1
            return
        }
        receive(datagram, from: source, via: nil, now: now)
    }

    /// One message from TURN server `r` (a datagram, or a message framed from its stream).
    public func receiveFromRelay(_ r: Int, _ message: UnsafeMutableRawBufferPointer, now: NIODeadline) {
        guard relays.indices.contains(r), state != .closed else { return }
        clock = now
        switch relays[r].client.handleFromServer(UnsafeRawBufferPointer(message), now: now) {
        case .data(let peer, let range):
            receive(UnsafeMutableRawBufferPointer(rebasing: message[range]), from: peer.socketAddress, via: r, now: now)
        case .control:
            updateGathering(now: now)
        case .dropped:
            statistics.unknownDatagrams += 1
        }
    }

    /// A datagram from the peer at `source`, directly (`relay` nil) or through relay `relay`.
    func receive(_ datagram: UnsafeMutableRawBufferPointer, from source: SocketAddress, via relay: Int?, now: NIODeadline) {
        switch PacketDemux.classify(UnsafeRawBufferPointer(datagram)) {
        case .stun:
            if relay == nil, binding != nil, binding!.outcome == nil,
               binding!.handleDatagram(UnsafeRawBufferPointer(datagram), from: source, now: now) {
                updateGathering(now: now)
                return
            }
            guard let local = relay.map({ relays[$0].candidate }) ?? hostID(for: source) else { statistics.unknownDatagrams += 1; return }
            _ = ice.handleDatagram(UnsafeRawBufferPointer(datagram), from: source, localCandidate: local, now: now)
            iceDeadline = nil
            processICEEvents(now: now)
        case .dtls:
            guard let dtls else {
                if state == .offered, earlyDTLS.count < Self.earlyDatagramLimit.count,
                   earlyDTLSBytes + datagram.count <= Self.earlyDatagramLimit.bytes {
                    earlyDTLS.append((Array(UnsafeRawBufferPointer(datagram)), source))
                    earlyDTLSBytes += datagram.count
                    earlyDatagramsKept += 1
                } else {
                    statistics.unknownDatagrams += 1
                }
                return
            }
            // DTLS only from the ICE-selected address, or before a selection from an address ICE
            // knows (a candidate of the remote description or a peer-reflexive one learned from an
            // authenticated check): a stranger cannot take the media path over before ICE has chosen.
            if let destination = mediaDestination {
                guard destination == source, relay == mediaRelay else { statistics.unknownDatagrams += 1; return }
            } else {
                guard let from = TransportAddress(source), ice.remoteCandidates.contains(where: { $0.address == .ip(from) }) else {
                    statistics.unknownDatagrams += 1
                    return
                }
                mediaDestination = source
                mediaRelay = relay
            }
            // A client that has not started, or an association already released (the peer uses the
            // keys, so what arrives now is a late retransmission or a close_notify no longer read).
            if dtls.state == .idle && dtls.role == .client || dtls.isReleased { statistics.unknownDatagrams += 1; return }
            dtls.receive(UnsafeRawBufferPointer(datagram), now: now)
            processDTLSEvents(now: now)
        case .rtp:
            receiveRTP(datagram, now: now)
        case .rtcp:
            receiveRTCP(datagram, now: now)
        case .unknown:
            statistics.unknownDatagrams += 1
        }
    }

    public func pollTransmit(into buffer: inout ByteBuffer) -> SocketAddress? {
        while true {
            if binding != nil, let t = binding!.pollTransmit() {
                buffer.writeBytes(t.bytes)
                return t.destination
            }
            for i in relays.indices where !relays[i].client.transport.isStream {
                if let bytes = relays[i].client.pollTransmit() {
                    buffer.writeBytes(bytes)
                    return relays[i].client.server
                }
            }
            let next: (bytes: [UInt8], to: SocketAddress, relay: Int?)
            if let t = ice.pollTransmit() {
                iceDeadline = nil
                next = (t.bytes, t.destination, relayIndex(forCandidate: t.localCandidate))
            } else if let dtls, let to = mediaDestination, let d = dtls.pollTransmit() {
                next = (d, to, mediaRelay)
            } else if let m = outbox.popFirst() {
                if mediaRelay == nil, !configuration.relayOnly {
                    buffer.writeBytes(m.bytes)
                    reuseDatagram(m.bytes)
                    return m.to
                }
                next = (m.bytes, m.to, mediaRelay)
            } else {
                return nil
            }
            guard let r = next.relay else {
                if configuration.relayOnly { statistics.unknownDatagrams += 1; continue }
                buffer.writeBytes(next.bytes)
                return next.to
            }
            guard let peer = TransportAddress(next.to) else { continue }
            // Through the relay: framed straight into the buffer when the peer's channel is bound;
            // otherwise queued behind its ChannelBind (or, over TCP/TLS, written to the stream).
            if !relays[r].client.transport.isStream,
               next.bytes.withUnsafeBytes({ relays[r].client.frame($0, to: peer, into: &buffer) }) {
                return relays[r].client.server
            }
            relays[r].client.send(next.bytes, to: peer, now: clock)
        }
    }

    // MARK: - TURN over TCP/TLS (the shell owns the stream)

    public var streamRelays: [RelayStreamEndpoint] {
        relays.indices.filter { relays[$0].client.transport.isStream }.map {
            let r = relays[$0].server
            return RelayStreamEndpoint(relay: $0, server: r.address, tls: r.transport == .tls ? r.trust : nil, serverName: r.serverName)
        }
    }

    /// Bytes to write to relay `r`'s stream, nil when nothing is pending. Drain `pollTransmit`
    /// first: it moves what the peer is sent through a stream relay into that relay's queue.
    public func pollRelayStream(_ r: Int) -> [UInt8]? {
        guard relays.indices.contains(r), relays[r].client.transport.isStream else { return nil }
        return relays[r].client.pollTransmit()
    }

    /// Bytes read from relay `r`'s stream; complete messages are processed at once. A framing
    /// error (not TURN, or a message over the bound) ends the allocation.
    public func receiveRelayStream(_ r: Int, _ bytes: UnsafeRawBufferPointer, now: NIODeadline) {
        guard relays.indices.contains(r), relays[r].client.transport.isStream, state != .closed else { return }
        relays[r].framer.append(bytes)
        while let framed = relays[r].framer.next() {
            switch framed {
            case .message(var m):
                m.withUnsafeMutableBytes { receiveFromRelay(r, $0, now: now) }
            case .framingError:
                relayStreamFailed(r, reason: "not a TURN stream", now: now)
                return
            }
        }
    }

    /// The stream to relay `r` failed or closed: the allocation is gone.
    public func relayStreamFailed(_ r: Int, reason: String, now: NIODeadline) {
        guard relays.indices.contains(r) else { return }
        relays[r].client.streamFailed(reason)
        updateGathering(now: now)
    }

    /// The candidate pair in use.
    public var selectedPair: ICESelectedPair? { ice.selectedPair }

    /// The pair in use by candidate type, a relay with its transport to the TURN server:
    /// "relay/udp ↔ host".
    public var selectedPairDescription: String? {
        guard let p = ice.selectedPair else { return nil }
        var local = p.local.type.rawValue
        if let r = relayIndex(forCandidate: p.localCandidateID) { local += "/" + relays[r].client.transport.rawValue }
        return "\(local) ↔ \(p.remote.type.rawValue)"
    }

    /// Per TURN server: its transport and what the client counted.
    public var relayStatistics: [(transport: TURNTransport, state: TURNClient.State, statistics: TURNStatistics)] {
        relays.map { ($0.client.transport, $0.client.state, $0.client.statistics) }
    }

    /// Time from creating the session to each relayed candidate (the allocation's setup time).
    public var relayAllocationTimes: [TimeAmount] {
        relays.compactMap { r in r.client.allocatedAt.map { $0 - r.client.startedAt } }
    }

    public func handleTimeout(now: NIODeadline) {
        guard state != .closed else { return }
        clock = now
        if binding != nil { binding!.handleTimeout(now: now) }
        for i in relays.indices { relays[i].client.handleTimeout(now: now) }
        updateGathering(now: now)
        ice.handleTimeout(now: now)
        iceDeadline = nil
        processICEEvents(now: now)
        if let dtls, let d = dtls.nextDeadline(), now >= d {
            dtls.handleTimeout(now: now)
            processDTLSEvents(now: now)
        }
        if let p = nextPlayout, now >= p { playout(now: now) }
        if let r = nextRTCP, now >= r { sendRTCP(now: now) }
        if let d = stallDeadline, now >= d {
            stalled = true
            events.append(.pathStalled)
        }
    }

    /// When silence from a peer that should be sending becomes a stall (nil when not watching).
    var stallDeadline: NIODeadline? {
        guard !stalled, state == .connected, let timeout = configuration.stallTimeout, let direction = negotiated?.direction,
              direction == .sendrecv || direction == .recvonly,
              let last = lastRTPArrival ?? milestones.dtlsConnected else { return nil }
        return last + timeout
    }

    public func nextDeadline() -> NIODeadline? {
        guard state != .closed else { return nil }
        // Asked after every datagram: no collection of candidates is built (an allocation each).
        if iceDeadline == nil { iceDeadline = .some(ice.nextDeadline()) }
        assert(iceDeadline! == ice.nextDeadline(), "the ICE deadline was kept past a change of the agent")
        var best: NIODeadline? = iceDeadline!
        func consider(_ d: NIODeadline?) {
            if let d, best.map({ d < $0 }) ?? true { best = d }
        }
        consider(dtls?.nextDeadline())
        consider(nextPlayout)
        consider(nextRTCP)
        consider(binding?.nextDeadline())
        for r in relays { consider(r.client.nextDeadline()) }
        consider(stallDeadline)
        return best
    }

    // MARK: - ICE and DTLS progress

    func processICEEvents(now: NIODeadline) {
        while let e = ice.pollEvent() {
            iceDeadline = nil
            switch e {
            case .selectedPair(let pair):
                mediaDestination = pair.remoteAddress
                mediaRelay = relayIndex(forCandidate: pair.localCandidateID)
            case .connected:
                if milestones.iceConnected == nil {
                    milestones.iceConnected = now
                    events.append(.iceConnected)
                }
                // RFC 5763 §5: the active side sends the ClientHello once ICE works — no timer.
                if let dtls, dtls.role == .client, dtls.state == .idle {
                    dtls.start(now: now)
                    processDTLSEvents(now: now)
                }
            case .failed(let reason):
                fail(.ice(reason))
            case .consentLost:
                fail(.consentLost)
            case .peerReflexiveCandidate, .localPeerReflexiveCandidate, .roleChanged:
                break
            }
        }
    }

    func processDTLSEvents(now: NIODeadline) {
        guard let dtls else { return }
        while let e = dtls.pollEvent() {
            switch e {
            case .connected(let keys):
                do {
                    srtp = try SRTPSession(keys: keys)
                } catch {
                    fail(.srtp(error))
                    return
                }
                milestones.dtlsConnected = now
                state = .connected
                nextPlayout = nil
                nextRTCP = now + .milliseconds(500)
                events.append(.connected(keys.profile))
            case .failed(let error):
                fail(.dtls(error))
            case .closed:
                state = .closed
                nextPlayout = nil
                nextRTCP = nil
                events.append(.closed)
            }
        }
    }
}


extension PeerSession: SharedPortCore {
    /// The ICE username fragment in our SDP: Binding requests for this session carry it.
    public var localUsernameFragment: String { ice.localCredentials.ufrag }
}
