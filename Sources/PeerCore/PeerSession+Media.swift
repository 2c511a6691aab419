import CoreSupport
import MediaCore
import NIOCore
import OpusCodec
import RTPCore
import SRTPCore

extension PeerSession {
    // MARK: - Sending (RFC 3550 §5, RFC 3551 §4.1 marker rule, RFC 4733 events)

    /// Sends one frame of PCM (`audioFormat`, normally 20 ms). Frames offered before the session is
    /// connected are dropped and counted. While a DTMF event is being sent the frame is replaced by
    /// telephone-event packets (RFC 4733 §2.5.1).
    public func sendAudio(_ pcm: UnsafeBufferPointer<Int16>, now: NIODeadline) {
        guard state == .connected, let srtp, let destination = mediaDestination, var packetizer, let encoder else {
            statistics.framesDroppedBeforeConnected += 1
            return
        }
        defer { self.packetizer = packetizer }
        let samples = pcm.count / max(1, encoder.channels) * encoder.rtpClockRate / max(1, encoder.sampleRate)
        guard sending else {
            packetizer.skipSilence(samples: samples)
            return
        }
        if dtmfSender != nil, let te = negotiated?.telephoneEvent,
           case .event(let event) = dtmfSender!.tick(mediaTimestamp: packetizer.timestamp) {
            var payload = [UInt8](repeating: 0, count: TelephoneEvent.length)
            _ = payload.withUnsafeMutableBytes { try? event.event.write(into: $0) }
            if event.event.isEnd { statistics.dtmfSent += 1 }
            for _ in 0..<event.transmissions {
                let header = packetizer.nextEventHeader(payloadType: te.payloadType, timestamp: event.timestamp, marker: event.marker)
                enqueueRTP(header: header, payload: payload, srtp: srtp, to: destination, now: now)
            }
            packetizer.advance(samples: samples)
            return
        }
        let length: Int
        do {
            length = try payloadScratch.withUnsafeMutableBytes { try encoder.encode(pcm: pcm, into: $0) }
        } catch {
            packetizer.skipSilence(samples: samples)
            return
        }
        // A 1–2 byte Opus frame is DTX silence (RFC 6716 §3.1): not sent; the next packet starts a talkspurt.
        if length <= 2, encoder is OpusEncoder {
            packetizer.skipSilence(samples: samples)
            return
        }
        let header = packetizer.nextAudioHeader(samples: samples, payloadLength: length)
        enqueueRTP(header: header, payload: payloadScratch[0..<length], srtp: srtp, to: destination, now: now)
    }

    /// Array convenience.
    public func sendAudio(_ pcm: [Int16], now: NIODeadline) {
        pcm.withUnsafeBufferPointer { sendAudio($0, now: now) }
    }

    /// Queues DTMF digits as RFC 4733 events (sent in place of audio by the next `sendAudio` calls).
    public func sendDTMF(_ digits: [DTMFDigit], duration: TimeAmount? = nil) throws(PeerError) {
        guard dtmfSender != nil else { throw .invalidState("telephone-event was not negotiated") }
        for d in digits { dtmfSender!.enqueue(d, duration: duration) }
    }

    /// Whether RFC 4733 DTMF can be sent on this session.
    public var canSendDTMF: Bool { dtmfSender != nil }

    private func enqueueRTP<C: Collection<UInt8>>(header: RTPHeader, payload: C, srtp: SRTPSession, to: SocketAddress,
                                                  now: NIODeadline) {
        let total = header.serializedLength + payload.count
        guard total + SRTPContext.maxTrailer <= packetScratch.count else { return }
        let n: Int? = packetScratch.withUnsafeMutableBytes { buf -> Int? in
            guard let h = try? header.write(into: buf) else { return nil }
            var o = h
            for b in payload { buf[o] = b; o += 1 }
            return try? srtp.outbound.protectRTP(buf, length: o)
        }
        guard let n else { return }
        var datagram = datagramStorage()
        datagram.append(contentsOf: packetScratch[0..<n])
        outbox.append((datagram, to))
        statistics.packetsSent += 1
        statistics.bytesSent += total
        if milestones.firstRTPSent == nil { milestones.firstRTPSent = now }
    }

    // MARK: - Receiving

    func receiveRTP(_ datagram: UnsafeMutableRawBufferPointer, now: NIODeadline) {
        // The codec's fields are read in place: binding `negotiated` would copy the whole
        // description (a retain per field) for every packet.
        guard let srtp, let payloadType = negotiated?.codec.payloadType else { statistics.unknownDatagrams += 1; return }
        let length: Int
        do { length = try srtp.inbound.unprotectRTP(datagram, length: datagram.count) } catch {
            statistics.srtpFailures += 1
            return
        }
        releaseDTLSOnceThePeerUsesTheKeys()
        let bytes = UnsafeRawBufferPointer(rebasing: datagram[0..<length])
        guard let packet = try? RTPPacket(parsing: bytes) else { statistics.malformed += 1; return }
        statistics.packetsReceived += 1
        statistics.bytesReceived += length
        lastRTPArrival = now
        if stalled {
            stalled = false
            events.append(.pathRecovered)
        }
        if milestones.firstRTPReceived == nil { milestones.firstRTPReceived = now }

        if let te = negotiated?.telephoneEvent?.payloadType, packet.payloadType == te {
            guard let event = try? TelephoneEvent(parsing: UnsafeRawBufferPointer(rebasing: bytes[packet.payloadRange])) else {
                statistics.malformed += 1
                return
            }
            // Keep the jitter buffer's sequence accounting: event packets are not lost audio.
            jitter?.insertNonAudio(sequenceNumber: packet.sequenceNumber, ssrc: packet.ssrc, now: now)
            if let d = dtmfReceiver.receive(event, timestamp: packet.timestamp, marker: packet.marker) {
                statistics.dtmfReceived += 1
                events.append(.dtmf(d.digit))
            }
            return
        }
        guard packet.payloadType == payloadType, let jitter else { statistics.malformed += 1; return }
        if receiveStats == nil || receiveStats?.ssrc != packet.ssrc {
            receiveStats = ReceiveStatistics(ssrc: packet.ssrc, clockRate: Int(negotiated?.codec.clockRate ?? 48_000))
        }
        _ = receiveStats?.record(sequenceNumber: packet.sequenceNumber, timestamp: packet.timestamp, arrival: now)
        if forwardsPayloads {
            forward(packet, in: bytes)
            return
        }
        jitter.insert(packet, in: bytes, now: now)
        // No prefetch: the first packet is decoded at once, then playout ticks every frame —
        // unless an audio device's clock pulls the frames (`playoutPulled`).
        if nextPlayout == nil && !playoutPulled { playout(now: now) }
    }

    /// One frame of playout now, for an owner whose audio device's clock sets the pace
    /// (`playoutPulled`): the jitter buffer decodes, conceals or waits exactly as on the timer,
    /// so a device clock that runs slow or fast against the sender's is absorbed by the buffer's
    /// own shrinking (a frame dropped) and concealment. The frame (if any) is in `pollFrame()`.
    public func pullPlayout(now: NIODeadline) {
        guard playoutPulled, state == .connected else { return }
        playout(now: now)
        nextPlayout = nil
    }

    func playout(now: NIODeadline) {
        guard let jitter, let decoder else { return }
        let step = configuration.frameDuration
        if let p = nextPlayout, now - p < .milliseconds(200) {
            nextPlayout = p + step
        } else {
            nextPlayout = now + step
        }
        let perChannel = jitter.configuration.samplesPerFrame * decoder.sampleRate / max(1, jitter.configuration.clockRate)
        // `.wait` covers underruns, DTX gaps and losses seen while nothing later was buffered
        // (MediaCore's playout model); `.conceal`/`.recover` come once the buffer holds later packets.
        let result = jitter.playout(now: now)
        func decode() throws -> (Int, DecodedFrame.Origin, UInt32)? {
            try pcmScratch.withUnsafeMutableBufferPointer { pcm -> (Int, DecodedFrame.Origin, UInt32)? in
                switch result {
                case .decode(let f):
                    let n = try jitter.withPayload(of: f) { try decoder.decode(payload: $0, into: pcm) }
                    return (n, .decoded, f.timestamp)
                case .recover(let next):
                    let n = try jitter.withPayload(of: next) { try decoder.recover(samplesPerChannel: perChannel, fromNext: $0, into: pcm) }
                    return (n, .recovered, next.timestamp &- UInt32(jitter.configuration.samplesPerFrame))
                case .conceal(let ts):
                    return (try decoder.conceal(samplesPerChannel: perChannel, into: pcm), .concealed, ts)
                case .wait:
                    return nil
                }
            }
        }
        let decoded: (Int, DecodedFrame.Origin, UInt32)?
        do {
            decoded = try decode()
        } catch where pcmScratch.count < Self.largestDecodedFrame {
            // A packet longer than the scratch holds (it starts at one 20 ms stereo frame): the
            // decoder refuses before decoding, so grow once to the largest and decode again.
            pcmScratch = [Int16](repeating: 0, count: Self.largestDecodedFrame)
            do { decoded = try decode() } catch {
                statistics.malformed += 1
                decoded = nil
            }
        } catch {
            statistics.malformed += 1
            decoded = nil
        }
        guard let (n, origin, ts) = decoded, n > 0 else { return }
        switch origin {
        case .decoded:
            statistics.framesDecoded += 1
            if milestones.firstFrameDecoded == nil { milestones.firstFrameDecoded = now }
        case .concealed: statistics.framesConcealed += 1
        case .recovered: statistics.framesRecovered += 1
        }
        if frames.count >= maxQueuedFrames, let dropped = frames.popFirst() { recycle(dropped) }
        var samples = spareSamples.take() ?? []
        samples.removeAll(keepingCapacity: true)
        samples.reserveCapacity(n * decoder.channels)
        samples.append(contentsOf: pcmScratch[0..<(n * decoder.channels)])
        frames.append(DecodedFrame(samples: samples, sampleRate: decoder.sampleRate, channels: decoder.channels, timestamp: ts, origin: origin))
    }

    // MARK: - Forwarding (a bridge without transcoding)

    private func forward(_ packet: RTPPacket, in bytes: UnsafeRawBufferPointer) {
        var gap = 0
        if let last = lastForwardedTimestamp {
            let d = Int(Int32(bitPattern: packet.timestamp &- last))
            // A late or repeated packet: its moment has passed (no jitter buffer here to reorder).
            guard d > 0 else { return }
            gap = d
        }
        lastForwardedTimestamp = packet.timestamp
        if forwarded.count >= 16 { _ = forwarded.popFirst() }
        var payload = spareForwarded.take() ?? []
        payload.removeAll(keepingCapacity: true)
        payload.append(contentsOf: bytes[packet.payloadRange])
        forwarded.append(ForwardedPayload(payload: payload, gap: gap, marker: packet.marker))
        statistics.payloadsForwardedOut += 1
    }

    /// The next payload received while `forwardsPayloads` is on.
    public func pollForwarded() -> ForwardedPayload? { forwarded.popFirst() }

    /// Sends a payload another session of the same codec received (`pollForwarded`), under this
    /// session's SSRC, sequence numbers and timestamps (the gap between payloads kept): the bridge
    /// forwards without decoding or encoding. Nothing is sent before connected or while not sending.
    public func sendEncoded(_ p: ForwardedPayload, now: NIODeadline) {
        guard state == .connected, let srtp, let destination = mediaDestination, var packetizer,
              let frame = jitter?.configuration.samplesPerFrame else {
            statistics.framesDroppedBeforeConnected += 1
            return
        }
        defer { self.packetizer = packetizer }
        guard sending else {
            packetizer.skipSilence(samples: max(p.gap, frame))
            return
        }
        // The packetizer moved one frame on after the previous payload; the rest of the gap is
        // silence (DTX) or loss.
        if sentEncoded, p.gap > frame || p.marker {
            if p.marker { packetizer.skipSilence(samples: max(0, p.gap - frame)) } else { packetizer.advance(samples: p.gap - frame) }
        }
        sentEncoded = true
        let header = packetizer.nextAudioHeader(samples: frame, payloadLength: p.payload.count)
        enqueueRTP(header: header, payload: p.payload, srtp: srtp, to: destination, now: now)
        statistics.payloadsForwardedIn += 1
    }

    /// The peer's first authenticated packet proves it finished the handshake: the OpenSSL state of
    /// the association (about 50 KB per call) is freed (`DTLSEndpoint.releaseAssociation`).
    @inline(__always)
    func releaseDTLSOnceThePeerUsesTheKeys() {
        if let dtls, !dtls.isReleased { dtls.releaseAssociation() }
    }

    // MARK: - RTCP (RFC 3550 §6)

    func receiveRTCP(_ datagram: UnsafeMutableRawBufferPointer, now: NIODeadline) {
        guard let srtp else { statistics.unknownDatagrams += 1; return }
        let length: Int
        do { length = try srtp.inbound.unprotectRTCP(datagram, length: datagram.count) } catch {
            statistics.srtpFailures += 1
            return
        }
        releaseDTLSOnceThePeerUsesTheKeys()
        guard let compound = try? RTCPCompoundPacket(parsing: UnsafeRawBufferPointer(rebasing: datagram[0..<length]),
                                                     requireReportFirst: false) else {
            statistics.malformed += 1
            return
        }
        statistics.rtcpReceived += 1
        let arrival = NTPTimestamp(now)
        for p in compound.packets {
            var blocks: [RTCPReportBlock] = []
            switch p {
            case .senderReport(let sr):
                if sr.ssrc == receiveStats?.ssrc { receiveStats?.receivedSenderReport(ntpTimestamp: sr.ntpTimestamp, arrival: now) }
                blocks = sr.reportBlocks
            case .receiverReport(let rr):
                blocks = rr.reportBlocks
            default:
                continue
            }
            for b in blocks where b.ssrc == localEndpoint.ssrc {
                statistics.remoteFractionLost = b.fractionLost
                statistics.remoteCumulativeLost = b.cumulativeLost
                if let rtt = b.roundTripTime(arrival: arrival) { statistics.roundTripTime = rtt }
            }
        }
    }

    func sendRTCP(now: NIODeadline) {
        // RFC 3550 §6.3.1: randomise the interval to [0.5, 1.5] × the nominal one.
        let nominal = configuration.rtcpInterval.nanoseconds
        nextRTCP = now + .nanoseconds(Int64.random(in: (nominal / 2)...(nominal * 3 / 2), using: &random))
        guard state == .connected, let srtp, let destination = mediaDestination else { return }
        var blocks: [RTCPReportBlock] = []
        if let b = receiveStats?.makeReportBlock(now: now) { blocks.append(b) }
        if let rs = receiveStats {
            statistics.packetsLost = rs.cumulativeLost
            statistics.jitter = rs.jitter
        }
        var packets: [RTCPPacket] = []
        if let p = packetizer, statistics.packetsSent > packetsSentAtLastReport {
            packets.append(.senderReport(RTCPSenderReport(ssrc: localEndpoint.ssrc, ntpTimestamp: NTPTimestamp(now),
                                                          rtpTimestamp: p.timestamp, packetCount: p.packetCount,
                                                          octetCount: p.octetCount, reportBlocks: blocks)))
        } else {
            packets.append(.receiverReport(RTCPReceiverReport(ssrc: localEndpoint.ssrc, reportBlocks: blocks)))
        }
        packetsSentAtLastReport = statistics.packetsSent
        packets.append(.sourceDescription(RTCPSourceDescription(ssrc: localEndpoint.ssrc, cname: localEndpoint.cname)))
        guard var bytes = try? RTCPCompoundPacket(packets).serialize() else { return }
        let plain = bytes.count
        bytes.append(contentsOf: repeatElement(0, count: SRTPContext.maxTrailer))
        guard let n = try? bytes.withUnsafeMutableBytes({ b throws(SRTPError) -> Int in try srtp.outbound.protectRTCP(b, length: plain) })
        else { return }
        outbox.append((Array(bytes[0..<n]), destination))
        statistics.rtcpSent += 1
    }
}
