/// A RIFF/WAVE file with 16-bit linear PCM (the CLI plays and records these), read from and written
/// to byte arrays. Reading accepts `WAVE_FORMAT_PCM` (1) and `WAVE_FORMAT_EXTENSIBLE` (0xFFFE) with
/// the PCM sub-format, skips unknown chunks (LIST, fact, …) honouring the RIFF pad byte after odd
/// sizes, and reports malformed files as `MediaError.malformedWAV` and other encodings as
/// `MediaError.unsupported`. A data chunk whose size is the streaming placeholder 0xFFFFFFFF
/// runs to the end of the file; a trailing partial frame is ignored.
public struct WAVFile: Sendable, Equatable {
    public var sampleRate: Int
    public var channels: Int
    /// Interleaved samples.
    public var samples: [Int16]

    public init(sampleRate: Int, channels: Int = 1, samples: [Int16]) {
        self.sampleRate = sampleRate
        self.channels = channels
        self.samples = samples
    }

    /// Samples per channel.
    public var frameCount: Int { channels > 0 ? samples.count / channels : 0 }

    public static let formatPCM: UInt16 = 1
    public static let formatExtensible: UInt16 = 0xFFFE

    private static func u16(_ b: [UInt8], _ o: Int) -> UInt16 { UInt16(b[o]) | UInt16(b[o + 1]) << 8 }
    private static func u32(_ b: [UInt8], _ o: Int) -> UInt32 {
        UInt32(b[o]) | UInt32(b[o + 1]) << 8 | UInt32(b[o + 2]) << 16 | UInt32(b[o + 3]) << 24
    }
    private static func tag(_ b: [UInt8], _ o: Int) -> String { String(decoding: b[o..<(o + 4)], as: UTF8.self) }

    public init(parsing bytes: [UInt8]) throws(MediaError) {
        guard bytes.count >= 12 else { throw .malformedWAV("shorter than the RIFF header", offset: 0) }
        guard Self.tag(bytes, 0) == "RIFF" else { throw .malformedWAV("no RIFF tag", offset: 0) }
        guard Self.tag(bytes, 8) == "WAVE" else { throw .malformedWAV("RIFF form is not WAVE", offset: 8) }
        // The RIFF size may be wrong in files written by streaming tools: walk to the real end.
        let end = bytes.count
        var o = 12
        var format: (channels: Int, rate: Int, blockAlign: Int)?
        var data: Range<Int>?
        while o + 8 <= end {
            let id = Self.tag(bytes, o)
            let size = Self.u32(bytes, o + 4)
            let bodyStart = o + 8
            let remaining = end - bodyStart
            if id == "data" {
                if UInt64(size) > UInt64(remaining) {
                    guard size == 0xFFFF_FFFF else {
                        throw .malformedWAV("data chunk of \(size) bytes, \(remaining) present", offset: o)
                    }
                    data = bodyStart..<end
                } else {
                    data = bodyStart..<(bodyStart + Int(size))
                }
                if format != nil { break }
            } else {
                guard UInt64(size) <= UInt64(remaining) else {
                    throw .malformedWAV("chunk '\(id)' of \(size) bytes, \(remaining) present", offset: o)
                }
                if id == "fmt " {
                    guard size >= 16 else { throw .malformedWAV("fmt chunk of \(size) bytes (at least 16)", offset: o) }
                    var tagValue = Self.u16(bytes, bodyStart)
                    let channels = Int(Self.u16(bytes, bodyStart + 2))
                    let rate = Int(Self.u32(bytes, bodyStart + 4))
                    let blockAlign = Int(Self.u16(bytes, bodyStart + 12))
                    let bits = Int(Self.u16(bytes, bodyStart + 14))
                    if tagValue == Self.formatExtensible {
                        guard size >= 40 else {
                            throw .malformedWAV("extensible fmt chunk of \(size) bytes (at least 40)", offset: o)
                        }
                        tagValue = Self.u16(bytes, bodyStart + 24)  // first 2 bytes of the sub-format GUID
                    }
                    guard tagValue == Self.formatPCM else { throw .unsupported("WAV format tag \(tagValue) (only PCM)") }
                    guard bits == 16 else { throw .unsupported("\(bits)-bit WAV samples (only 16-bit)") }
                    guard channels >= 1 else { throw .malformedWAV("\(channels) channels", offset: bodyStart + 2) }
                    guard rate >= 1 else { throw .malformedWAV("sample rate \(rate)", offset: bodyStart + 4) }
                    guard blockAlign == 2 * channels else {
                        throw .malformedWAV("block align \(blockAlign) for \(channels) 16-bit channels", offset: bodyStart + 12)
                    }
                    format = (channels, rate, blockAlign)
                    if data != nil { break }
                }
            }
            // Chunks are padded to an even size (RIFF).
            o = bodyStart + Int(size) + Int(size & 1)
        }
        guard let format else { throw .malformedWAV("no fmt chunk", offset: o) }
        guard let data else { throw .malformedWAV("no data chunk", offset: o) }
        let frames = data.count / format.blockAlign
        let count = frames * format.channels
        var samples = [Int16](repeating: 0, count: count)
        for i in 0..<count {
            samples[i] = Int16(bitPattern: Self.u16(bytes, data.lowerBound + 2 * i))
        }
        self.init(sampleRate: format.rate, channels: format.channels, samples: samples)
    }

    /// A canonical 44-byte-header PCM WAV file.
    public func serialize() -> [UInt8] {
        var out: [UInt8] = []
        let dataBytes = samples.count * 2
        out.reserveCapacity(44 + dataBytes + 1)
        func put16(_ v: UInt16) { out.append(UInt8(v & 0xFF)); out.append(UInt8(v >> 8)) }
        func put32(_ v: UInt32) { for s in stride(from: 0, to: 32, by: 8) { out.append(UInt8((v >> UInt32(s)) & 0xFF)) } }
        out += Array("RIFF".utf8)
        put32(UInt32(truncatingIfNeeded: 36 + dataBytes))
        out += Array("WAVEfmt ".utf8)
        put32(16)
        put16(Self.formatPCM)
        put16(UInt16(truncatingIfNeeded: channels))
        put32(UInt32(truncatingIfNeeded: sampleRate))
        put32(UInt32(truncatingIfNeeded: sampleRate * channels * 2))
        put16(UInt16(truncatingIfNeeded: channels * 2))
        put16(16)
        out += Array("data".utf8)
        put32(UInt32(truncatingIfNeeded: dataBytes))
        for s in samples { put16(UInt16(bitPattern: s)) }
        return out
    }
}
