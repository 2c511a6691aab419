/// Sender report, RTCP packet type 200 (RFC 3550 §6.4.1).
public struct RTCPSenderReport: Sendable, Equatable {
    public var ssrc: UInt32
    /// Wallclock time when this report was sent.
    public var ntpTimestamp: NTPTimestamp
    /// The same instant in the RTP timestamp units of this source.
    public var rtpTimestamp: UInt32
    /// Packets sent since the start of transmission.
    public var packetCount: UInt32
    /// Payload octets sent since the start of transmission.
    public var octetCount: UInt32
    public var reportBlocks: [RTCPReportBlock]
    /// Profile-specific extension after the report blocks (kept verbatim; a multiple of 4 bytes).
    public var profileExtension: [UInt8]

    public init(ssrc: UInt32, ntpTimestamp: NTPTimestamp, rtpTimestamp: UInt32, packetCount: UInt32,
                octetCount: UInt32, reportBlocks: [RTCPReportBlock] = [], profileExtension: [UInt8] = []) {
        self.ssrc = ssrc
        self.ntpTimestamp = ntpTimestamp
        self.rtpTimestamp = rtpTimestamp
        self.packetCount = packetCount
        self.octetCount = octetCount
        self.reportBlocks = reportBlocks
        self.profileExtension = profileExtension
    }

    init(parsingBody b: UnsafeRawBufferPointer, count: Int) throws(RTPError) {
        let needed = 24 + count * RTCPReportBlock.length
        guard b.count >= needed else { throw .truncated(what: "RTCP SR", needed: needed + 4, available: b.count + 4) }
        ssrc = BE.u32(b, 0)
        ntpTimestamp = NTPTimestamp(seconds: BE.u32(b, 4), fraction: BE.u32(b, 8))
        rtpTimestamp = BE.u32(b, 12)
        packetCount = BE.u32(b, 16)
        octetCount = BE.u32(b, 20)
        reportBlocks = (0..<count).map { RTCPReportBlock.read(b, at: 24 + $0 * RTCPReportBlock.length) }
        profileExtension = Array(b[needed...])
    }

    var bodyLength: Int { 24 + reportBlocks.count * RTCPReportBlock.length + (profileExtension.count + 3) / 4 * 4 }

    func writeBody(_ b: UnsafeMutableRawBufferPointer, at o: Int) {
        BE.put32(b, o, ssrc)
        BE.put32(b, o + 4, ntpTimestamp.seconds)
        BE.put32(b, o + 8, ntpTimestamp.fraction)
        BE.put32(b, o + 12, rtpTimestamp)
        BE.put32(b, o + 16, packetCount)
        BE.put32(b, o + 20, octetCount)
        var p = o + 24
        for block in reportBlocks {
            block.write(b, at: p)
            p += RTCPReportBlock.length
        }
        for (i, byte) in profileExtension.enumerated() { b[p + i] = byte }
    }
}

/// Receiver report, RTCP packet type 201 (RFC 3550 §6.4.2).
public struct RTCPReceiverReport: Sendable, Equatable {
    /// SSRC of the packet's sender.
    public var ssrc: UInt32
    public var reportBlocks: [RTCPReportBlock]
    public var profileExtension: [UInt8]

    public init(ssrc: UInt32, reportBlocks: [RTCPReportBlock] = [], profileExtension: [UInt8] = []) {
        self.ssrc = ssrc
        self.reportBlocks = reportBlocks
        self.profileExtension = profileExtension
    }

    init(parsingBody b: UnsafeRawBufferPointer, count: Int) throws(RTPError) {
        let needed = 4 + count * RTCPReportBlock.length
        guard b.count >= needed else { throw .truncated(what: "RTCP RR", needed: needed + 4, available: b.count + 4) }
        ssrc = BE.u32(b, 0)
        reportBlocks = (0..<count).map { RTCPReportBlock.read(b, at: 4 + $0 * RTCPReportBlock.length) }
        profileExtension = Array(b[needed...])
    }

    var bodyLength: Int { 4 + reportBlocks.count * RTCPReportBlock.length + (profileExtension.count + 3) / 4 * 4 }

    func writeBody(_ b: UnsafeMutableRawBufferPointer, at o: Int) {
        BE.put32(b, o, ssrc)
        var p = o + 4
        for block in reportBlocks {
            block.write(b, at: p)
            p += RTCPReportBlock.length
        }
        for (i, byte) in profileExtension.enumerated() { b[p + i] = byte }
    }
}
