/// The header fields of an RTP packet to send (RFC 3550 §5.1), serialized into a caller's buffer.
/// Without CSRCs and extension (the usual case) it allocates nothing.
public struct RTPHeader: Sendable, Equatable {
    public var marker: Bool
    public var payloadType: UInt8
    public var sequenceNumber: UInt16
    public var timestamp: UInt32
    public var ssrc: UInt32
    /// Contributing sources (at most 15).
    public var csrcs: [UInt32]
    /// Optional header extension (RFC 3550 §5.3.1).
    public var `extension`: RTPHeaderExtension?

    public init(marker: Bool = false, payloadType: UInt8, sequenceNumber: UInt16, timestamp: UInt32, ssrc: UInt32,
                csrcs: [UInt32] = [], extension: RTPHeaderExtension? = nil) {
        self.marker = marker
        self.payloadType = payloadType
        self.sequenceNumber = sequenceNumber
        self.timestamp = timestamp
        self.ssrc = ssrc
        self.csrcs = csrcs
        self.extension = `extension`
    }

    /// Bytes the header occupies when serialized.
    public var serializedLength: Int {
        12 + 4 * csrcs.count + (self.extension.map { 4 + ($0.data.count + 3) / 4 * 4 } ?? 0)
    }

    /// Writes the header at the start of `buffer`.
    /// - Parameter padding: when > 0, sets the P bit (the caller writes the padding, see `writePacket`).
    /// - Returns: the header length.
    @discardableResult
    public func write(into buffer: UnsafeMutableRawBufferPointer, padding: Bool = false) throws(RTPError) -> Int {
        guard csrcs.count <= 15 else { throw .invalidField("\(csrcs.count) CSRCs (at most 15)") }
        guard payloadType < 128 else { throw .invalidField("payload type \(payloadType) (at most 127)") }
        let length = serializedLength
        guard buffer.count >= length else { throw .bufferTooSmall(needed: length, available: buffer.count) }
        if let ext = self.extension, ext.data.count > 0xFFFF * 4 {
            throw .invalidField("header extension of \(ext.data.count) bytes")
        }
        buffer[0] = 0x80 | (padding ? 0x20 : 0) | (self.extension != nil ? 0x10 : 0) | UInt8(csrcs.count)
        buffer[1] = (marker ? 0x80 : 0) | payloadType
        BE.put16(buffer, 2, sequenceNumber)
        BE.put32(buffer, 4, timestamp)
        BE.put32(buffer, 8, ssrc)
        var o = 12
        for c in csrcs {
            BE.put32(buffer, o, c)
            o += 4
        }
        if let ext = self.extension {
            let words = (ext.data.count + 3) / 4
            BE.put16(buffer, o, ext.profile)
            BE.put16(buffer, o + 2, UInt16(words))
            o += 4
            for (i, byte) in ext.data.enumerated() { buffer[o + i] = byte }
            for i in ext.data.count..<(words * 4) { buffer[o + i] = 0 }
            o += words * 4
        }
        return o
    }

    /// Writes a whole packet: header, payload, then `paddingCount` bytes of padding (RFC 3550 §5.1;
    /// 0 for none, else 1...255, the last byte holding the count).
    /// - Returns: the packet length.
    public func writePacket(payload: UnsafeRawBufferPointer, paddingCount: Int = 0,
                            into buffer: UnsafeMutableRawBufferPointer) throws(RTPError) -> Int {
        guard (0...255).contains(paddingCount) else { throw .invalidField("padding count \(paddingCount)") }
        let total = serializedLength + payload.count + paddingCount
        guard buffer.count >= total else { throw .bufferTooSmall(needed: total, available: buffer.count) }
        let h = try write(into: buffer, padding: paddingCount > 0)
        if payload.count > 0 {
            UnsafeMutableRawBufferPointer(rebasing: buffer[h..<(h + payload.count)]).copyMemory(from: payload)
        }
        if paddingCount > 0 {
            let p = h + payload.count
            for i in p..<(total - 1) { buffer[i] = 0 }
            buffer[total - 1] = UInt8(paddingCount)
        }
        return total
    }

    /// Serializes a whole packet into a new array (convenience for tests and tools).
    public func serialize(payload: [UInt8], paddingCount: Int = 0) throws(RTPError) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: serializedLength + payload.count + paddingCount)
        let result: Result<Int, RTPError> = out.withUnsafeMutableBytes { buf in
            payload.withUnsafeBytes { p in
                do throws(RTPError) { return .success(try writePacket(payload: p, paddingCount: paddingCount, into: buf)) }
                catch { return .failure(error) }
            }
        }
        _ = try result.get()
        return out
    }
}

/// A header extension block (RFC 3550 §5.3.1): the profile word and data (zero-padded to 32 bits
/// when written).
public struct RTPHeaderExtension: Sendable, Equatable {
    public var profile: UInt16
    public var data: [UInt8]

    public init(profile: UInt16, data: [UInt8]) {
        self.profile = profile
        self.data = data
    }

    /// Builds an RFC 8285 §4.2 one-byte-header block (ids 1...14, 1...16 bytes each).
    public static func oneByte(_ elements: [(id: UInt8, data: [UInt8])]) throws(RTPError) -> RTPHeaderExtension {
        var data: [UInt8] = []
        for e in elements {
            guard (1...14).contains(e.id), (1...16).contains(e.data.count) else {
                throw .invalidField("one-byte extension element id \(e.id) with \(e.data.count) bytes")
            }
            data.append(e.id << 4 | UInt8(e.data.count - 1))
            data += e.data
        }
        while data.count % 4 != 0 { data.append(0) }
        return RTPHeaderExtension(profile: RTPExtensionElement.oneByteProfile, data: data)
    }

    /// Builds an RFC 8285 §4.3 two-byte-header block (ids 1...255, 0...255 bytes each).
    public static func twoByte(_ elements: [(id: UInt8, data: [UInt8])], appBits: UInt8 = 0) throws(RTPError)
        -> RTPHeaderExtension
    {
        var data: [UInt8] = []
        for e in elements {
            guard e.id >= 1, e.data.count <= 255 else {
                throw .invalidField("two-byte extension element id \(e.id) with \(e.data.count) bytes")
            }
            data.append(e.id)
            data.append(UInt8(e.data.count))
            data += e.data
        }
        while data.count % 4 != 0 { data.append(0) }
        return RTPHeaderExtension(profile: 0x1000 | UInt16(appBits & 0x0F), data: data)
    }
}

extension RTPPacket {
    /// Rewrites fixed-header fields of the packet in `bytes` in place (a relay or bridge changing SSRC,
    /// sequence number, timestamp, payload type or marker without re-serializing; RFC 3550 §5.1
    /// offsets). Fields left nil are kept. Allocation-free.
    /// - Throws: `RTPError.truncated` or `.badVersion` when `bytes` is not an RTP packet.
    public static func rewrite(_ bytes: UnsafeMutableRawBufferPointer, marker: Bool? = nil, payloadType: UInt8? = nil,
                               sequenceNumber: UInt16? = nil, timestamp: UInt32? = nil, ssrc: UInt32? = nil) throws(RTPError) {
        guard bytes.count >= 12 else { throw .truncated(what: "RTP fixed header", needed: 12, available: bytes.count) }
        guard bytes[0] >> 6 == 2 else { throw .badVersion(Int(bytes[0] >> 6)) }
        if let payloadType {
            guard payloadType < 128 else { throw .invalidField("payload type \(payloadType) (at most 127)") }
            bytes[1] = (bytes[1] & 0x80) | payloadType
        }
        if let marker { bytes[1] = (bytes[1] & 0x7F) | (marker ? 0x80 : 0) }
        if let sequenceNumber { BE.put16(bytes, 2, sequenceNumber) }
        if let timestamp { BE.put32(bytes, 4, timestamp) }
        if let ssrc { BE.put32(bytes, 8, ssrc) }
    }
}
