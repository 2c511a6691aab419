/// Randomness is an argument (docs/architecture.md, house rule 2): cores take a generator instead of
/// reading a global source, so tests replay exactly with a seed.

/// A small, fast, deterministic generator (SplitMix64). For tests and simulations only: it is not
/// cryptographically secure. Production code passes `SystemRandom`.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) {
        self.state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The operating system's cryptographically secure generator, as a value that can be stored in a
/// core (`SystemRandomNumberGenerator` itself is fine too; this alias keeps call sites uniform).
public typealias SystemRandom = SystemRandomNumberGenerator

/// A type-erased, sendable random source a core can own.
public struct AnyRandomSource: RandomNumberGenerator, Sendable {
    private var seeded: SeededGenerator?
    private var system = SystemRandomNumberGenerator()

    /// Secure randomness from the operating system.
    public static var system: AnyRandomSource { AnyRandomSource(seeded: nil) }

    /// Deterministic randomness for tests and simulations.
    public static func seeded(_ seed: UInt64) -> AnyRandomSource { AnyRandomSource(seeded: SeededGenerator(seed: seed)) }

    private init(seeded: SeededGenerator?) {
        self.seeded = seeded
    }

    public mutating func next() -> UInt64 {
        if seeded != nil { return seeded!.next() }
        return system.next()
    }

    /// A source for a sub-component: the operating system's when this one is, else a seeded one
    /// drawn from this (simulations stay reproducible; production never falls back to SplitMix64).
    public mutating func split() -> AnyRandomSource {
        seeded == nil ? .system : .seeded(next())
    }

    /// True when the numbers come from the operating system's secure generator.
    public var isSystem: Bool { seeded == nil }
}
