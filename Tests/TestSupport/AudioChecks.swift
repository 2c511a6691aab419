import Foundation
import MediaCore
import VertoPhone

/// Audio checked by content: which of the test tones dominates received audio (Goertzel), for
/// every suite that listens to a call.

/// The tones the suites send or expect: 425 Hz ringback (our server), our 440/660/880 Hz tones, 1 kHz.
public let testToneFrequencies: [Double] = [425, 440, 660, 880, 1000]

/// The dominant candidate frequency of a block (nil for silence, noise or anything else).
public func dominantFrequency(_ pcm: [Int16], rate: Int = 48_000, among: [Double] = testToneFrequencies) -> Double? {
    GoertzelDetector(sampleRate: rate).dominantFrequency(among: among, in: pcm)
}

/// The dominant candidate frequency of each `window`-sample block of `pcm`, stepped by `step`.
public func windowedTones(_ pcm: [Int16], window: Int, step: Int, among: [Double] = testToneFrequencies,
                          rate: Int = 48_000) -> [Double?] {
    guard window > 0, step > 0, pcm.count >= window else { return [] }
    return stride(from: 0, through: pcm.count - window, by: step).map {
        dominantFrequency(Array(pcm[$0..<$0 + window]), rate: rate, among: among)
    }
}

/// True when `frequency` dominates some 0.5 s window (stepped by 0.25 s) of `pcm`.
public func dominatesSomeWindow(_ pcm: [Int16], _ frequency: Double, among: [Double] = testToneFrequencies,
                                rate: Int = 48_000) -> Bool {
    windowedTones(pcm, window: rate / 2, step: rate / 4, among: among, rate: rate).contains(frequency)
}

/// The tone that dominates more than half of the quarter-second windows of `pcm` (nil when none
/// does). Windows, not one long block: a concealed or dropped frame shifts the tone's phase, and
/// over a whole second the parts before and after such a shift can cancel in the Goertzel sum
/// although each part is plainly the tone.
public func majorityTone(_ pcm: [Int16], among: [Double] = testToneFrequencies, rate: Int = 48_000) -> Double? {
    let verdicts = windowedTones(pcm, window: rate / 4, step: rate / 4, among: among, rate: rate)
    let counts = Dictionary(grouping: verdicts.compactMap { $0 }, by: { $0 }).mapValues(\.count)
    guard let (f, n) = counts.max(by: { $0.value < $1.value }), n * 2 > verdicts.count else { return nil }
    return f
}

/// The next `seconds` of received audio (counted in samples, so a slow machine only makes it wait
/// longer) and the dominant frequency of its second half; nil and no samples when nothing arrives
/// within `timeout` (a held call may carry no audio at all).
public func sample(_ media: MediaSession, seconds: Double = 0.5, timeout: Duration = .seconds(10)) async throws -> (Double?, [Int16]) {
    let pcm: [Int16]
    do {
        pcm = try await media.listen(seconds: seconds, timeout: timeout)
    } catch VertoPhoneError.timeout {
        return (nil, [])
    }
    let rate = try await media.stats()?.sampleRate ?? 48_000
    return (dominantFrequency(Array(pcm.suffix(pcm.count / 2)), rate: rate), pcm)
}

/// Listens in half-second windows until `frequency` dominates one, for at most `within`
/// (media setup included). Returns `frequency` once heard, else the last dominant frequency (nil
/// for silence), so `#expect(try await hear(…) == 440)` shows what was heard instead.
public func hear(_ frequency: Double, on media: MediaSession, within: Duration = .seconds(15)) async throws -> Double? {
    let deadline = ContinuousClock.now + within
    var last: Double?
    repeat {
        let left = deadline - ContinuousClock.now
        (last, _) = try await sample(media, timeout: max(left, .milliseconds(600)))
        if last == frequency { return frequency }
    } while ContinuousClock.now < deadline
    return last
}

/// True when `frequency` dominates some half-second window received within `within`.
public func hears(_ media: MediaSession, _ frequency: Double, within: Duration = .seconds(15)) async throws -> Bool {
    try await hear(frequency, on: media, within: within) == frequency
}

/// True once a half-second window is *not* dominated by `frequency` (or no audio comes at all),
/// within `within`: the tone has stopped (audio already in flight when it stopped may still
/// arrive first, which a fixed pause would have to guess).
public func stops(_ frequency: Double, on media: MediaSession, within: Duration = .seconds(15)) async throws -> Bool {
    let deadline = ContinuousClock.now + within
    repeat {
        if try await sample(media).0 != frequency { return true }
    } while ContinuousClock.now < deadline
    return false
}
