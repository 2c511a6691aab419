/// ITU-T G.711 companding: μ-law (PCMU, RTP payload type 0) and A-law (PCMA, payload type 8),
/// 8 kHz mono, one byte per sample (RFC 3551 §4.5.14). The conversions follow the reference
/// algorithm of the ITU-T G.191 software tools / Sun's public-domain g711.c on 16-bit linear PCM:
/// μ-law works on the 14 most significant bits with a bias of 0x84, A-law on the 13 most
/// significant bits with even bits inverted (XOR 0x55).
public enum G711 {
    /// Encodes one linear sample to μ-law.
    @inlinable
    public static func ulaw(fromLinear sample: Int16) -> UInt8 {
        let bias: Int32 = 0x84
        let clip: Int32 = 8159
        var pcm = Int32(sample) >> 2
        var mask: Int32
        if pcm < 0 {
            pcm = -pcm
            mask = 0x7F
        } else {
            mask = 0xFF
        }
        if pcm > clip { pcm = clip }
        pcm += bias >> 2
        let seg = segment(pcm, ends: ulawSegmentEnds)
        if seg >= 8 { return UInt8(truncatingIfNeeded: 0x7F ^ mask) }
        let u = Int32(seg << 4) | ((pcm >> Int32(seg + 1)) & 0x0F)
        mask &= 0xFF
        return UInt8(truncatingIfNeeded: u ^ mask)
    }

    /// Decodes one μ-law byte to linear.
    @inlinable
    public static func linear(fromULaw byte: UInt8) -> Int16 {
        let u = Int32(~byte)
        var t = ((u & 0x0F) << 3) + 0x84
        t <<= (u & 0x70) >> 4
        return Int16((u & 0x80) != 0 ? (0x84 - t) : (t - 0x84))
    }

    /// Encodes one linear sample to A-law.
    @inlinable
    public static func alaw(fromLinear sample: Int16) -> UInt8 {
        var pcm = Int32(sample) >> 3
        let mask: Int32
        if pcm >= 0 {
            mask = 0xD5
        } else {
            mask = 0x55
            pcm = -pcm - 1
        }
        let seg = segment(pcm, ends: alawSegmentEnds)
        if seg >= 8 { return UInt8(truncatingIfNeeded: 0x7F ^ mask) }
        var a = Int32(seg << 4)
        a |= seg < 2 ? (pcm >> 1) & 0x0F : (pcm >> Int32(seg)) & 0x0F
        return UInt8(truncatingIfNeeded: a ^ mask)
    }

    /// Decodes one A-law byte to linear.
    @inlinable
    public static func linear(fromALaw byte: UInt8) -> Int16 {
        let a = Int32(byte ^ 0x55)
        var t = (a & 0x0F) << 4
        let seg = (a & 0x70) >> 4
        switch seg {
        case 0: t += 8
        case 1: t += 0x108
        default:
            t += 0x108
            t <<= seg - 1
        }
        return Int16((a & 0x80) != 0 ? t : -t)
    }

    @usableFromInline static let ulawSegmentEnds: (Int32, Int32, Int32, Int32, Int32, Int32, Int32, Int32) =
        (0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF)
    @usableFromInline static let alawSegmentEnds: (Int32, Int32, Int32, Int32, Int32, Int32, Int32, Int32) =
        (0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF)

    @inlinable
    static func segment(_ v: Int32, ends: (Int32, Int32, Int32, Int32, Int32, Int32, Int32, Int32)) -> Int {
        if v <= ends.0 { return 0 }
        if v <= ends.1 { return 1 }
        if v <= ends.2 { return 2 }
        if v <= ends.3 { return 3 }
        if v <= ends.4 { return 4 }
        if v <= ends.5 { return 5 }
        if v <= ends.6 { return 6 }
        if v <= ends.7 { return 7 }
        return 8
    }

    /// RTP static payload types (RFC 3551 Table 4).
    public static let pcmuPayloadType: UInt8 = 0
    public static let pcmaPayloadType: UInt8 = 8
}

/// The G.711 law a codec instance uses.
public enum G711Law: Sendable, Equatable {
    case ulaw
    case alaw

    public var payloadType: UInt8 { self == .ulaw ? G711.pcmuPayloadType : G711.pcmaPayloadType }

    @inlinable
    func encode(_ s: Int16) -> UInt8 { self == .ulaw ? G711.ulaw(fromLinear: s) : G711.alaw(fromLinear: s) }
    @inlinable
    func decode(_ b: UInt8) -> Int16 { self == .ulaw ? G711.linear(fromULaw: b) : G711.linear(fromALaw: b) }
}

/// G.711 encoder (PCMU or PCMA): 8 kHz mono PCM in, one byte per sample out. Stateless.
public final class G711Encoder: AudioEncoder, Sendable {
    public let law: G711Law
    public var sampleRate: Int { 8000 }
    public var channels: Int { 1 }
    public var rtpClockRate: Int { 8000 }

    public init(law: G711Law) {
        self.law = law
    }

    public func encode(pcm: UnsafeBufferPointer<Int16>, into output: UnsafeMutableRawBufferPointer) throws -> Int {
        guard output.count >= pcm.count else { throw MediaError.bufferTooSmall(needed: pcm.count, available: output.count) }
        for i in 0..<pcm.count { output[i] = law.encode(pcm[i]) }
        return pcm.count
    }
}

/// G.711 decoder (PCMU or PCMA) with simple loss concealment: the last decoded frame is repeated
/// with the gain halved for each consecutive lost frame, then silence after 3 (not the G.711
/// Appendix I algorithm). G.711 has no FEC: `recover` conceals.
public final class G711Decoder: AudioDecoder {
    public let law: G711Law
    public var sampleRate: Int { 8000 }
    public var channels: Int { 1 }

    /// Up to 60 ms of history for concealment, allocated once.
    private var last: [Int16] = [Int16](repeating: 0, count: 480)
    private var lastCount = 0
    private var consecutiveLost = 0

    public init(law: G711Law) {
        self.law = law
    }

    public func decode(payload: UnsafeRawBufferPointer, into pcm: UnsafeMutableBufferPointer<Int16>) throws -> Int {
        guard pcm.count >= payload.count else { throw MediaError.bufferTooSmall(needed: payload.count, available: pcm.count) }
        for i in 0..<payload.count { pcm[i] = law.decode(payload[i]) }
        lastCount = min(payload.count, last.count)
        for i in 0..<lastCount { last[i] = pcm[payload.count - lastCount + i] }
        consecutiveLost = 0
        return payload.count
    }

    public func conceal(samplesPerChannel: Int, into pcm: UnsafeMutableBufferPointer<Int16>) throws -> Int {
        guard pcm.count >= samplesPerChannel else {
            throw MediaError.bufferTooSmall(needed: samplesPerChannel, available: pcm.count)
        }
        consecutiveLost += 1
        let shift = consecutiveLost  // gain 1/2, 1/4, 1/8, then silence
        for i in 0..<samplesPerChannel {
            pcm[i] = (lastCount == 0 || consecutiveLost > 3) ? 0 : last[i % lastCount] >> Int16(shift)
        }
        return samplesPerChannel
    }
}
