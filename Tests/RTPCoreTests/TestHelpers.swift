import CoreSupport
@testable import RTPCore

/// Bytes from a hex string with optional spaces (test vectors are written that way).
func hex(_ s: String) -> [UInt8] {
    guard let bytes = Hex.decode(s) else { fatalError("bad hex in test vector: \(s)") }
    return bytes
}

func parseRTP(_ bytes: [UInt8]) throws(RTPError) -> RTPPacket { try RTPPacket(parsing: bytes) }

/// A seeded generator for tests (SplitMix64 via CoreSupport).
typealias SeededRNG = SeededGenerator
