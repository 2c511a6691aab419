internal import COpus
import NIOConcurrencyHelpers

/// libopus encoder and decoder states kept for the next call instead of destroyed.
///
/// Creating a state runs `opus_select_arch`, which executes `cpuid`; in a virtual machine each
/// `cpuid` traps to the hypervisor, and a profile of call setup on one showed about 6 % of a
/// server's CPU there. A state given back is reset (`OPUS_RESET_STATE`, which reuses the
/// architecture found at creation) and handed to the next encoder or decoder of the same rate,
/// channels and application, which then applies its own settings as a new one would.
enum OpusStatePool {
    struct Key: Hashable {
        let encoder: Bool
        let sampleRate: Int32
        let channels: Int32
        let application: Int32
    }

    /// States kept per key at most (an encoder's is about 44 KB, a decoder's 18 KB).
    static let capacity = 64

    private struct State: @unchecked Sendable {
        let pointer: OpaquePointer
    }
    private static let free = NIOLockedValueBox<[Key: [State]]>([:])

    static func take(_ key: Key) -> OpaquePointer? {
        free.withLockedValue { $0[key]?.popLast()?.pointer }
    }

    /// Keeps `state` (already reset) for a later `take`; false when the pool is full (then the
    /// caller destroys it).
    static func give(_ key: Key, _ state: OpaquePointer) -> Bool {
        free.withLockedValue { pool in
            guard pool[key, default: []].count < capacity else { return false }
            pool[key, default: []].append(State(pointer: state))
            return true
        }
    }
}
