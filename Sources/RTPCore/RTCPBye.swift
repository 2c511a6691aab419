/// Goodbye, RTCP packet type 203 (RFC 3550 §6.6): sources leaving, with an optional reason.
public struct RTCPBye: Sendable, Equatable {
    public var sources: [UInt32]
    /// The reason bytes (UTF-8, at most 255), nil when absent.
    public var reason: [UInt8]?

    public init(sources: [UInt32], reason: String? = nil) {
        self.sources = sources
        self.reason = reason.map { Array($0.utf8.prefix(255)) }
    }

    public init(sources: [UInt32], reasonBytes: [UInt8]?) {
        self.sources = sources
        self.reason = reasonBytes
    }

    /// The reason as text (invalid UTF-8 is repaired).
    public var reasonText: String? { reason.map { String(decoding: $0, as: UTF8.self) } }

    init(parsingBody b: UnsafeRawBufferPointer, count: Int) throws(RTPError) {
        let needed = 4 * count
        guard b.count >= needed else { throw .truncated(what: "RTCP BYE", needed: needed + 4, available: b.count + 4) }
        sources = (0..<count).map { BE.u32(b, 4 * $0) }
        if b.count > needed {
            let len = Int(b[needed])
            guard needed + 1 + len <= b.count else {
                throw .truncated(what: "RTCP BYE reason", needed: needed + 1 + len + 4, available: b.count + 4)
            }
            reason = Array(b[(needed + 1)..<(needed + 1 + len)])
        } else {
            reason = nil
        }
    }

    var bodyLength: Int { 4 * sources.count + (reason.map { (1 + min($0.count, 255) + 3) / 4 * 4 } ?? 0) }

    func writeBody(_ b: UnsafeMutableRawBufferPointer, at o: Int) {
        for (i, s) in sources.enumerated() { BE.put32(b, o + 4 * i, s) }
        if let reason {
            let p = o + 4 * sources.count
            let bytes = reason.prefix(255)
            b[p] = UInt8(bytes.count)
            for (i, byte) in bytes.enumerated() { b[p + 1 + i] = byte }
        }
    }
}
