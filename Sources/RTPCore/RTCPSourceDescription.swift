/// Source description, RTCP packet type 202 (RFC 3550 §6.5): chunks of items per source.
public struct RTCPSourceDescription: Sendable, Equatable {
    public struct Chunk: Sendable, Equatable {
        public var ssrc: UInt32
        public var items: [RTCPSDESItem]

        public init(ssrc: UInt32, items: [RTCPSDESItem]) {
            self.ssrc = ssrc
            self.items = items
        }

        /// The CNAME item's text, if any (RFC 3550 §6.5.1).
        public var cname: String? { items.first { $0.type == RTCPSDESItem.cname }?.text }

        /// ssrc + items + the null terminator, padded to 32 bits (RFC 3550 §6.5).
        var length: Int { (4 + items.reduce(0) { $0 + 2 + min($1.value.count, 255) } + 1 + 3) / 4 * 4 }
    }

    public var chunks: [Chunk]

    public init(chunks: [Chunk]) {
        self.chunks = chunks
    }

    /// The usual single-chunk SDES with a CNAME.
    public init(ssrc: UInt32, cname: String) {
        self.chunks = [Chunk(ssrc: ssrc, items: [RTCPSDESItem(type: RTCPSDESItem.cname, text: cname)])]
    }

    init(parsingBody b: UnsafeRawBufferPointer, count: Int) throws(RTPError) {
        var chunks: [Chunk] = []
        var o = 0
        for _ in 0..<count {
            guard o + 4 <= b.count else { throw .truncated(what: "RTCP SDES chunk", needed: o + 8, available: b.count + 4) }
            let ssrc = BE.u32(b, o)
            o += 4
            var items: [RTCPSDESItem] = []
            while true {
                guard o < b.count else { throw .invalidRTCP("SDES chunk without a terminating null item") }
                let type = b[o]
                if type == 0 {
                    // The list ends with a null octet; then pad to the next 32-bit boundary.
                    o = (o + 1 + 3) / 4 * 4
                    break
                }
                guard o + 2 <= b.count else { throw .truncated(what: "RTCP SDES item", needed: o + 6, available: b.count + 4) }
                let len = Int(b[o + 1])
                guard o + 2 + len <= b.count else {
                    throw .truncated(what: "RTCP SDES item", needed: o + 2 + len + 4, available: b.count + 4)
                }
                items.append(RTCPSDESItem(type: type, value: Array(b[(o + 2)..<(o + 2 + len)])))
                o += 2 + len
            }
            chunks.append(Chunk(ssrc: ssrc, items: items))
        }
        guard o <= b.count else { throw .truncated(what: "RTCP SDES padding", needed: o + 4, available: b.count + 4) }
        self.chunks = chunks
    }

    var bodyLength: Int { chunks.reduce(0) { $0 + $1.length } }

    func writeBody(_ b: UnsafeMutableRawBufferPointer, at o: Int) {
        var p = o
        for chunk in chunks {
            let start = p
            BE.put32(b, p, chunk.ssrc)
            p += 4
            for item in chunk.items {
                b[p] = item.type
                b[p + 1] = UInt8(min(item.value.count, 255))
                for (i, byte) in item.value.prefix(255).enumerated() { b[p + 2 + i] = byte }
                p += 2 + min(item.value.count, 255)
            }
            p = start + chunk.length  // null terminator and padding are already zero
        }
    }
}

/// One SDES item (RFC 3550 §6.5): a type and up to 255 bytes of UTF-8 text.
public struct RTCPSDESItem: Sendable, Equatable {
    public var type: UInt8
    /// The value bytes (values longer than 255 bytes are truncated when written).
    public var value: [UInt8]

    public init(type: UInt8, value: [UInt8]) {
        self.type = type
        self.value = value
    }

    public init(type: UInt8, text: String) {
        self.init(type: type, value: Array(text.utf8.prefix(255)))
    }

    /// The value as text (invalid UTF-8 is repaired).
    public var text: String { String(decoding: value, as: UTF8.self) }

    public static let cname: UInt8 = 1
    public static let name: UInt8 = 2
    public static let email: UInt8 = 3
    public static let phone: UInt8 = 4
    public static let location: UInt8 = 5
    public static let tool: UInt8 = 6
    public static let note: UInt8 = 7
    public static let priv: UInt8 = 8
}
