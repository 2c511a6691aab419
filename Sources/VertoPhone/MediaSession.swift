import CoreSupport
import Foundation
import MediaCore
import MediaNIO
import NIOConcurrencyHelpers
import NIOCore
import PeerCore
import RTPCore
import SpeexDSP

/// Events of a media session.
public enum MediaEvent: Sendable, Equatable {
    /// ICE, DTLS and SRTP are up; audio flows.
    case connected
    /// A DTMF digit was received (RFC 4733 in RTP, or `verto.info` in the server role).
    case dtmf(String)
    case failed(String)
    case closed
    /// No audio arrived for `PeerSessionConfiguration.stallTimeout` while the far end should be
    /// sending: the network path is probably gone. The client role restarts ICE on its own
    /// (`VertoClientOptions.restartICEWhenStalled`).
    case pathStalled
    /// Audio arrives again (on the same path, or on the path an ICE restart found).
    case pathRecovered
}

/// Statistics of a media session, with the setup milestones.
public struct MediaStats: Sendable, Equatable {
    public var peer: PeerStatistics
    public var milestones: PeerMilestones
    public var sampleRate: Int
    public var codec: String
    /// The ICE candidate pair carrying the media, "local ↔ remote" by type, with the relay's
    /// transport to its TURN server: "host ↔ host", "relay/udp ↔ host", "relay/tls ↔ srflx"; nil
    /// before ICE selected a pair.
    public var candidatePair: String?
    /// Per TURN server: milliseconds from the session's creation to its relayed candidate.
    public var relayAllocationMs: [Double] = []
}

/// The audio of one call, handed to the application in both roles (`onNewWebRTCCall`): decoded PCM
/// frames in, frames out, tones and WAV files, recording, DTMF, mute, statistics.
///
/// The session owns a 20 ms send clock: each tick sends the next queued frame, else the current
/// `source` (silence by default). It survives a re-attach: the call layer swaps the underlying peer
/// connection and the application keeps the same object and streams.
public final class MediaSession: Sendable {
    public let callID: String
    package let eventLoop: EventLoop
    /// Decoded audio, in playout order, from the first access on (one stream per session: every
    /// access returns it). Until then nothing is kept, so a session whose audio goes elsewhere
    /// (echo, a bridge, `listen`, `onFrame`) holds no frames; once accessed it buffers up to 5 s
    /// that were not consumed yet (the newest kept).
    public var frames: AsyncStream<AudioFrame> {
        framesStream.withLockedValue { stream in
            if let stream { return stream }
            let (s, continuation) = AsyncStream.makeStream(of: AudioFrame.self, bufferingPolicy: .bufferingNewest(250))
            stream = s
            eventLoop.execute { [state] in state.value.setFrameContinuation(continuation) }
            return s
        }
    }
    private let framesStream = NIOLockedValueBox<AsyncStream<AudioFrame>?>(nil)
    /// Session events (connected, DTMF, failure, closed). Each access is a consumer of its own that
    /// receives every event since the session began, then the new ones; none is dropped.
    public var events: AsyncStream<MediaEvent> { eventHub.stream() }
    private let eventHub: EventHub<MediaEvent>
    /// Sample rate of the negotiated codec (48 kHz Opus, 8 kHz G.711). Written on the event loop,
    /// readable from any thread.
    public var sampleRate: Int { sampleRateBox.withLockedValue { $0 } }
    private let sampleRateBox: NIOLockedValueBox<Int>
    /// Everything that changes, confined to `eventLoop`.
    let state: NIOLoopBoundBox<MediaSessionState>

    init(callID: String, eventLoop: EventLoop) {
        self.callID = callID
        self.eventLoop = eventLoop
        let hub = EventHub<MediaEvent>(historyLimit: 1000)
        let rate = NIOLockedValueBox(48_000)
        eventHub = hub
        sampleRateBox = rate
        state = .makeBoxSendingValue(MediaSessionState(eventLoop: eventLoop, events: hub, sampleRate: rate),
                                     eventLoop: eventLoop)
    }

    // MARK: - Engine side (on the event loop)

    /// Runs `body` with this session on its loop, as a task of the loop after those queued before
    /// (so calls made in turn are carried out in turn): the server role's signalling, on another
    /// loop, reaches a call's media only through this.
    func run(_ body: @escaping @Sendable (MediaSession) -> Void) {
        eventLoop.execute { body(self) }
    }

    /// Publishes the negotiated sample rate ahead of `attach` (which runs later, on the loop): the
    /// server role hands the session to the application as soon as its answer is ready.
    func announceSampleRate(_ rate: Int) { sampleRateBox.withLockedValue { $0 = rate } }

    /// Puts a (new) peer connection under this session, replacing the previous one (re-attach).
    func attach(_ driver: DatagramDriver<PeerSession>) { state.value.attach(driver) }
    var peer: DatagramDriver<PeerSession>? { state.value.driver }
    /// Runs `body` on the loop once the current peer connection is up (at once if it is).
    func whenConnected(_ body: @escaping () -> Void) { state.value.whenConnected(body) }
    func addObserver(_ observer: @escaping (AudioFrame) -> Void) { state.value.observers.append(observer) }
    /// A digit received through signalling (`verto.info`) in the server role.
    func receivedSignalledDigits(_ d: String) { state.value.receivedSignalledDigits(d) }
    func closeOnLoop() { state.value.close() }
    func setSourceOnLoop(_ source: MediaSource) { state.value.setSource(source) }
    /// Sends these Opus payloads in turn, one per 20 ms frame, in place of encoding the source
    /// while the call negotiated Opus (a load generator's phones: the frames are encoded once, as
    /// sipp plays a capture). Empty: encodes again.
    package func sendPreEncoded(_ payloads: [[UInt8]]) {
        eventLoop.execute { [state] in state.value.preEncoded = payloads }
    }
    /// Bridges this leg and `other` without transcoding when both negotiated the same codec on the
    /// same event loop; false (nothing changed) otherwise.
    func forwardOnLoop(with other: MediaSession) -> Bool {
        guard eventLoop === other.eventLoop, state.value.canForward(with: other.state.value) else { return false }
        state.value.forward(to: other.state.value)
        other.state.value.forward(to: state.value)
        return true
    }
    /// Digits received so far (RFC 4733 and `verto.info`), on the event loop.
    var digitsOnLoop: String { state.value.digits }
    /// Called on the loop when the current peer connection fails (ICE, DTLS, consent) or is not
    /// connected within `setupTimeout` of being attached. The call layer ends the call.
    var onFailure: ((String) -> Void)? {
        get { state.value.onFailure }
        set { state.value.onFailure = newValue }
    }
    /// Called on the loop when the current peer reports `.pathStalled`.
    var onPathStalled: (() -> Void)? {
        get { state.value.onPathStalled }
        set { state.value.onPathStalled = newValue }
    }
    /// Bound on ICE + DTLS for each attached peer connection (nil: none).
    var setupTimeout: TimeAmount? {
        get { state.value.setupTimeout }
        set { state.value.setupTimeout = newValue }
    }
}

/// A media session's state: the peer driver, the 20 ms send clock, sources, recording, listeners,
/// observers. Confined to its event loop (not Sendable): `MediaSession` holds it in a
/// `NIOLoopBoundBox` and hops to the loop for every application call.
final class MediaSessionState {
    let eventLoop: EventLoop
    /// Set once the application takes `frames`.
    private var frameContinuation: AsyncStream<AudioFrame>.Continuation?
    private let eventHub: EventHub<MediaEvent>
    private let sampleRateBox: NIOLockedValueBox<Int>
    private(set) var driver: DatagramDriver<PeerSession>?
    /// The 20 ms send clock (a scheduled callback: re-arming it allocates nothing).
    private lazy var ticker = DeadlineTimer(loop: eventLoop) { [weak self] in self?.clockFired() }
    /// The frame being sent, reused for every frame that is not a received one echoed back.
    private var framePCM: [Int16] = []
    /// A bridge without transcoding: where this leg's received payloads go, and whose payloads this
    /// leg sends (in place of its own clock's frames).
    private weak var forwardTarget: MediaSessionState?
    private weak var forwardSource: MediaSessionState?
    /// When the next 20 ms frame is due. Absolute deadlines, not a fixed delay after each run: a
    /// fixed delay adds the tick's own run time to every period (measured: 48.2 frames/s instead
    /// of 50) and drops the ticks of a stall, so the peer's jitter buffer runs dry.
    private var nextTick: NIODeadline?
    private var queue = CircularBuffer<[Int16]>()
    /// Opus payloads sent in turn instead of encoding (`MediaSession.sendPreEncoded`).
    var preEncoded: [[UInt8]] = [] { didSet { preEncodedCursor = 0 } }
    private var preEncodedCursor = 0
    private var source: MediaSource = .silence
    private var tone: ToneGenerator?
    private var sampleCursor = 0
    private var recording: [Int16]?
    private var muted = false
    private var closed = false
    private var connectedOnce = false
    /// Digits received on this session (RFC 4733 and `verto.info`), in order.
    private(set) var digits = ""
    /// Pending `listen` calls: samples collected from the moment each was made.
    var listeners: [(needed: Int, samples: [Int16], promise: EventLoopPromise<[Int16]>)] = []
    /// In-process observers (echo, bridges, applications).
    var observers: [(AudioFrame) -> Void] = []
    /// Quality streams (`quality(every:)`): their timers and continuations, by id.
    private var qualityStreams: [Int: QualityStream] = [:]
    private struct QualityStream {
        var task: RepeatedTask?
        let continuation: AsyncStream<CallQuality>.Continuation
        var mark: QualityMark
        let interval: Duration
    }
    private var nextQualityStream = 0
    /// Received audio energy and sample count so far, while a quality stream runs.
    private var receivedEnergy = 0.0
    private var receivedSamples = 0
    /// The negotiated rate, read here without a lock on every 20 ms tick and published to
    /// `MediaSession.sampleRate` (for other threads) when it changes.
    var sampleRate = 48_000 {
        didSet { if sampleRate != oldValue { sampleRateBox.withLockedValue { [sampleRate] in $0 = sampleRate } } }
    }
    var onFailure: ((String) -> Void)?
    var onPathStalled: (() -> Void)?
    /// An audio device's clock pulls the playout (see `MediaSession.pullPlayoutFrame`).
    var playoutPulled = false
    /// Bound on ICE + DTLS for each attached peer connection (nil: none).
    var setupTimeout: TimeAmount?
    private var setupDeadline: Scheduled<Void>?
    private var peerConnected = false
    private var connectedWaiters: [() -> Void] = []
    /// What this session's current peer connection has added to the media counters so far.
    private var counterMark = MediaCounterMark()
    private var setupRecorded = false
    private var ticksSinceFlush = 0

    init(eventLoop: EventLoop, events: EventHub<MediaEvent>, sampleRate: NIOLockedValueBox<Int>) {
        self.eventLoop = eventLoop
        self.eventHub = events
        self.sampleRateBox = sampleRate
    }

    func attach(_ driver: DatagramDriver<PeerSession>) {
        eventLoop.preconditionInEventLoop()
        if let old = self.driver, old !== driver {
            old.withCoreOnLoop { counterMark.flush($0.statistics) }
            _ = old.close()
        }
        if self.driver !== driver {
            counterMark = MediaCounterMark()
            setupRecorded = false
        }
        self.driver = driver
        driver.afterInput = { [weak self] core in self?.drainPeer(core) }
        driver.withCoreOnLoop { [playoutPulled, forwarding = forwardTarget != nil] core in
            sampleRate = core.audioFormat.sampleRate
            core.playoutPulled = playoutPulled
            core.forwardsPayloads = forwarding
        }
        // The send clock starts when the peer connects (`.connected`): before that every frame would
        // be dropped, and a server with many calls setting up would spend a tick per call every 20 ms.
        peerConnected = false
        setupDeadline?.cancel()
        if let setupTimeout {
            setupDeadline = eventLoop.assumeIsolated().scheduleTask(in: setupTimeout) { [weak self] in
                guard let self, !self.closed, !self.peerConnected else { return }
                self.onFailure?("media not connected within \(setupTimeout)")
            }
        }
    }

    private func restartClock() {
        ticker.cancel()
        let now = eventLoop.now
        nextTick = now
        // Due now, run as the loop's next task (not inside the caller, which may be draining the peer).
        ticker.arm(now)
    }

    /// Sends every frame that is due (at most a few after a stall: later ones are skipped, not
    /// sent in a burst), then arms the timer for the next deadline.
    private func clockFired() {
        guard !closed, var due = nextTick else { return }
        let now = eventLoop.now
        if forwardSource != nil {
            // A bridge without transcoding sends the other leg's payloads as they come, no frames
            // of this clock: it only looks again in a second (the end of forwarding restarts it
            // at once, `resumeClock`), instead of a timer every 20 ms for nothing.
            nextTick = now + .seconds(1)
            ticker.arm(nextTick)
            return
        }
        let period = TimeAmount.milliseconds(20)
        if now - due > period * 5 { due = now - period * 2 }  // too far behind: catch up on the last 3 only
        while due <= now {
            tick()
            due = due + period
        }
        nextTick = due
        ticker.arm(due)
    }

    func whenConnected(_ body: @escaping () -> Void) {
        eventLoop.preconditionInEventLoop()
        if peerConnected { body() } else { connectedWaiters.append(body) }
    }

    func receivedSignalledDigits(_ d: String) {
        eventLoop.preconditionInEventLoop()
        for c in d {
            digits.append(c)
            eventHub.yield(.dtmf(String(c)))
        }
    }

    func close() {
        eventLoop.preconditionInEventLoop()
        guard !closed else { return }
        unlinkForwarding()
        closed = true
        ticker.cancel()
        nextTick = nil
        setupDeadline?.cancel()
        setupDeadline = nil
        connectedWaiters = []
        if let driver {
            driver.withCoreOnLoop { counterMark.flush($0.statistics); $0.close(now: eventLoop.now) }
            _ = driver.close()
        }
        driver = nil
        for l in listeners { l.promise.fail(VertoPhoneError.invalidState("media session closed")) }
        listeners = []
        eventHub.yield(.closed)
        eventHub.finish()
        for (_, q) in qualityStreams {
            q.task?.cancel()
            q.continuation.finish()
        }
        qualityStreams = [:]
        frameContinuation?.finish()
    }

    private func drainPeer(_ core: PeerSession) {
        // The negotiated codec's rate, as soon as the offer/answer settled it (not only at connect).
        let rate = core.audioFormat.sampleRate
        if rate != sampleRate { sampleRate = rate }
        while let e = core.pollEvent() {
            switch e {
            case .connected:
                sampleRate = core.audioFormat.sampleRate
                if !connectedOnce { connectedOnce = true }
                peerConnected = true
                setupDeadline?.cancel()
                setupDeadline = nil
                let waiters = connectedWaiters
                connectedWaiters = []
                waiters.forEach { $0() }
                eventHub.yield(.connected)
                // No timer on the setup path (docs/performance.md §4): the first frame leaves now and
                // the 20 ms send clock is re-phased to this moment.
                restartClock()
            case .dtmf(let d):
                digits.append(d.description)
                eventHub.yield(.dtmf(d.description))
            case .failed(let err):
                eventHub.yield(.failed("\(err)"))
                onFailure?("\(err)")
            case .closed:
                // A clean close_notify comes with a hangup, whose verto.bye may still be on its way:
                // not a failure of the call (if no bye follows, consent freshness fails in 30 s).
                eventHub.yield(.failed("peer closed DTLS"))
            case .pathStalled:
                eventHub.yield(.pathStalled)
                onPathStalled?()
            case .pathRecovered:
                eventHub.yield(.pathRecovered)
            case .iceConnected, .gatheringComplete:
                break
            }
        }
        while let p = core.pollForwarded() {
            forwardTarget?.sendForwarded(p)
            core.recycle(forwarded: p)
        }
        while let f = core.pollFrame() {
            if !qualityStreams.isEmpty {
                var e = 0.0
                for s in f.samples { e += Double(s) * Double(s) }
                receivedEnergy += e
                receivedSamples += f.samples.count
            }
            let frame = AudioFrame(samples: f.samples, sampleRate: f.sampleRate, channels: f.channels, timestamp: f.timestamp)
            recording?.append(contentsOf: f.samples)
            if !listeners.isEmpty {
                for i in listeners.indices { listeners[i].samples += f.samples }
                let done = listeners.filter { $0.samples.count >= $0.needed }
                listeners.removeAll { $0.samples.count >= $0.needed }
                for l in done { l.promise.succeed(l.samples) }
            }
            if source == .echo {
                if queue.count >= 10 { _ = queue.popFirst() }
                queue.append(f.samples)
            }
            for o in observers { o(frame) }
            frameContinuation?.yield(frame)
            core.recycle(f)
        }
        if !setupRecorded, core.milestones.firstFrameDecoded != nil {
            setupRecorded = true
            EngineMetrics.recordSetup(core.milestones)
        }
    }

    private func tick() {
        // (Not while a bridge forwards the other leg's payloads into this one: `clockFired` idles.)
        guard let driver, !closed else { return }
        let count = sampleRate / 50
        if !preEncoded.isEmpty, !muted, sendsPreEncoded(driver) { return }
        // A received frame queued to go back (echo, a bridge, a device) is sent as it is and its
        // storage handed back to the peer for the next decoded frame; everything else is made in
        // `framePCM`. Nothing is allocated per frame.
        let queued = queue.popFirst()
        let sendQueued = queued.map { $0.count == count && !muted } ?? false
        if !sendQueued {
            if framePCM.count != count { framePCM = [Int16](repeating: 0, count: count) }
            framePCM.withUnsafeMutableBufferPointer { pcm in
                if muted {
                    pcm.update(repeating: 0)
                } else if let queued {
                    let n = min(count, queued.count)
                    for i in 0..<n { pcm[i] = queued[i] }
                    for i in n..<count { pcm[i] = 0 }
                } else {
                    switch source {
                    case .silence, .echo:
                        pcm.update(repeating: 0)
                    case .tone:
                        if tone != nil { tone!.fill(pcm) } else { pcm.update(repeating: 0) }
                    case .samples(let s, let loop):
                        for i in 0..<count {
                            if sampleCursor >= s.count {
                                guard loop, !s.isEmpty else {
                                    for j in i..<count { pcm[j] = 0 }
                                    break
                                }
                                sampleCursor = 0
                            }
                            pcm[i] = s[sampleCursor]
                            sampleCursor += 1
                        }
                    }
                }
            }
        }
        let now = eventLoop.now
        ticksSinceFlush += 1
        let flush = ticksSinceFlush >= 50  // the media counters grow once a second
        if flush { ticksSinceFlush = 0 }
        driver.withCoreOnLoop { core in
            if sendQueued, let queued {
                core.sendAudio(queued, now: now)
                core.recycle(samples: queued)
            } else {
                core.sendAudio(framePCM, now: now)
            }
            if flush { counterMark.flush(core.statistics) }
        }
    }

    /// Sends the next pre-encoded payload when the call negotiated Opus; false otherwise.
    private func sendsPreEncoded(_ driver: DatagramDriver<PeerSession>) -> Bool {
        let payload = preEncoded[preEncodedCursor]
        let now = eventLoop.now
        var sent = false
        let flush = ticksSinceFlush + 1 >= 50
        driver.withCoreOnLoop { core in
            guard let codec = core.negotiated?.codec, codec.codec == .opus else { return }
            core.sendEncoded(ForwardedPayload(payload: payload, gap: Int(codec.clockRate) / 50, marker: false), now: now)
            sent = true
            if flush { counterMark.flush(core.statistics) }
        }
        guard sent else { return false }
        preEncodedCursor = (preEncodedCursor + 1) % preEncoded.count
        ticksSinceFlush = flush ? 0 : ticksSinceFlush + 1
        return true
    }

    func setFrameContinuation(_ continuation: AsyncStream<AudioFrame>.Continuation) {
        if closed { continuation.finish() } else { frameContinuation = continuation }
    }

    func enqueue(_ frame: [Int16]) {
        // A device's capture keeps its own pace: a short queue, so drift cannot build up latency.
        if queue.count >= (playoutPulled ? 3 : 50) { _ = queue.popFirst() }
        queue.append(frame)
    }

    func setPlayoutPulled(_ on: Bool) {
        playoutPulled = on
        driver?.withCoreOnLoop { $0.playoutPulled = on }
    }

    /// One frame of playout now; it reaches the observers when the peer is drained (before this returns).
    func pullPlayout() {
        guard playoutPulled, let driver else { return }
        driver.withCoreOnLoop { [now = eventLoop.now] in $0.pullPlayout(now: now) }
    }

    // MARK: - A bridge without transcoding

    /// The other leg's codec is this one's: payloads can pass between them undecoded.
    func canForward(with other: MediaSessionState) -> Bool {
        guard let a = driver, let b = other.driver, a.eventLoop === b.eventLoop, !closed, !other.closed else { return false }
        let mine = a.withCoreOnLoop { $0.negotiated?.codec }, theirs = b.withCoreOnLoop { $0.negotiated?.codec }
        guard let mine, let theirs else { return false }
        return mine.codec == theirs.codec && mine.clockRate == theirs.clockRate && mine.channels == theirs.channels
    }

    /// What this leg receives goes to `other` as it is (no decode here, no encode there).
    func forward(to other: MediaSessionState) {
        forwardTarget = other
        other.forwardSource = self
        driver?.withCoreOnLoop { $0.forwardsPayloads = true }
    }

    /// Ends forwarding from and into this leg (a new source, a transfer, the end of the call).
    func unlinkForwarding() {
        if let t = forwardTarget, t.forwardSource === self {
            t.forwardSource = nil
            t.resumeClock()
        }
        forwardTarget = nil
        if let s = forwardSource, s.forwardTarget === self {
            s.forwardTarget = nil
            s.driver?.withCoreOnLoop { $0.forwardsPayloads = false }
        }
        let wasForwarded = forwardSource != nil
        forwardSource = nil
        driver?.withCoreOnLoop { $0.forwardsPayloads = false }
        if wasForwarded { resumeClock() }
    }

    /// The send clock back at 20 ms after forwarding into this leg ended (it idles meanwhile).
    private func resumeClock() {
        guard !closed, nextTick != nil else { return }
        restartClock()
    }

    func sendForwarded(_ p: ForwardedPayload) {
        guard !closed, !muted, let driver else { return }
        let now = eventLoop.now
        // Sending raises no event and decodes nothing: the socket is written, this session's own
        // bookkeeping (`drainPeer`) is skipped.
        driver.sendOnLoop { $0.sendEncoded(p, now: now) }
    }

    func setSource(_ source: MediaSource) {
        unlinkForwarding()
        self.source = source
        sampleCursor = 0
        if case .tone(let f, let a) = source {
            tone = ToneGenerator(frequencies: f, amplitude: a, sampleRate: sampleRate)
        } else {
            tone = nil
        }
    }

    func startRecording() { recording = [] }

    func stopRecording() -> [Int16] {
        defer { recording = nil }
        return recording ?? []
    }

    func setMuted(_ on: Bool) { muted = on }

    func sendRFC4733(_ digits: String) -> Bool {
        guard let driver else { return false }
        return driver.withCoreOnLoop { core -> Bool in
            guard core.canSendDTMF else { return false }
            let ds = digits.compactMap { DTMFDigit(character: $0) }
            return (try? core.sendDTMF(ds)) != nil
        }
    }

    func stats() -> MediaStats? {
        guard let driver else { return nil }
        return driver.withCoreOnLoop { core in
            MediaStats(peer: core.statistics, milestones: core.milestones, sampleRate: core.audioFormat.sampleRate,
                       codec: core.negotiated.map { $0.codec.codec.encodingName } ?? "",
                       candidatePair: core.selectedPairDescription,
                       relayAllocationMs: core.relayAllocationTimes.map { Double($0.nanoseconds) / 1e6 })
        }
    }

    func listen(seconds: Double, promise: EventLoopPromise<[Int16]>) {
        listeners.append((Int(seconds * Double(sampleRate)), [], promise))
    }

    /// One interval of quality stream `id`.
    private func reportQuality(_ id: Int) {
        guard var stream = qualityStreams[id], let driver else { return }
        let q = driver.withCoreOnLoop { core -> CallQuality in
            let codec: EModel.Codec = core.negotiated?.codec.codec == .opus ? .opus : .g711
            return stream.mark.next(core.statistics, clockRate: Int(core.negotiated?.codec.clockRate ?? 48_000), codec: codec,
                                    energy: receivedEnergy, samples: receivedSamples, interval: stream.interval)
        }
        qualityStreams[id] = stream
        stream.continuation.yield(q)
    }

    /// A new quality stream reporting every `amount`; its id (nil once the session closed).
    func addQualityStream(_ continuation: AsyncStream<CallQuality>.Continuation, interval: Duration, amount: TimeAmount) -> Int? {
        guard !closed else { return nil }
        let id = nextQualityStream
        nextQualityStream += 1
        var mark = QualityMark()
        if let driver { driver.withCoreOnLoop { mark.statistics = $0.statistics } }
        mark.energy = receivedEnergy
        mark.samples = receivedSamples
        qualityStreams[id] = QualityStream(task: nil, continuation: continuation, mark: mark, interval: interval)
        // The repeated task's closure must be Sendable: it reaches this state through the loop-bound box.
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        qualityStreams[id]?.task = eventLoop.scheduleRepeatedTask(initialDelay: amount, delay: amount) { _ in
            bound.value.reportQuality(id)
        }
        return id
    }

    func removeQualityStream(_ id: Int) { qualityStreams.removeValue(forKey: id)?.task?.cancel() }
}

// MARK: - Application API (any thread)

extension MediaSession {
    /// Queues one frame to send (at `sampleRate`, 20 ms). Queued frames take precedence over `source`.
    public func send(_ frame: [Int16]) {
        eventLoop.execute { [state] in state.value.enqueue(frame) }
    }

    /// Calls `body` with every decoded frame, in playout order, on the media's event loop (keep it
    /// short: copy the samples out).
    public func onFrame(_ body: @escaping @Sendable (AudioFrame) -> Void) {
        eventLoop.execute { [state] in state.value.observers.append(body) }
    }

    /// For an audio device: `true` hands the playout clock to the device, which then calls
    /// `pullPlayoutFrame()` whenever it needs a frame (no engine timer in between); `false` gives
    /// it back to the engine's 20 ms timer.
    public func setPlayoutPulled(_ on: Bool) {
        eventLoop.execute { [state] in state.value.setPlayoutPulled(on) }
    }

    /// Produces the next playout frame now from the jitter buffer (decoded, concealed, or nothing
    /// while it waits) and hands it to the `onFrame` observers before returning. Blocks the calling
    /// thread — a device's — for one hop to the media's event loop; never call it on an event loop.
    public func pullPlayoutFrame(timeout: Duration = .milliseconds(40)) {
        // Bounded: a busy or stopped loop costs the device one frame of silence, never a hang.
        let done = DispatchSemaphore(value: 0)
        eventLoop.execute { [state] in
            state.value.pullPlayout()
            done.signal()
        }
        _ = done.wait(timeout: .now() + .nanoseconds(Int(timeout.components.attoseconds / 1_000_000_000) + Int(timeout.components.seconds) * 1_000_000_000))
    }

    /// What to send when no frames are queued.
    public func setSource(_ source: MediaSource) {
        eventLoop.execute { [state] in state.value.setSource(source) }
    }

    /// Plays a tone until another source is set.
    public func playTone(_ frequency: Double, amplitude: Double = 0.3) {
        setSource(.tone(frequencies: [frequency], amplitude: amplitude))
    }

    /// Plays a WAV file (16-bit PCM, mono or stereo; resampled with an anti-aliasing filter, speexdsp's,
    /// if its rate differs).
    public func playWAV(at path: String, loop: Bool = false) throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let wav = try WAVFile(parsing: Array(data))
        let mono = wav.channels == 1 ? wav.samples : stride(from: 0, to: wav.samples.count, by: wav.channels).map { wav.samples[$0] }
        let rate = wav.sampleRate
        // Resampled here, on the caller's thread (not the media's loop, which carries every call on
        // it), to the codec's rate as known now: call it once the call is answered.
        let target = sampleRate
        let resampled = rate == target ? mono : try SpeexResampler.resample(mono, from: rate, to: target)
        eventLoop.execute { [state] in state.value.setSource(.samples(resampled, loop: loop)) }
    }

    /// Starts keeping received audio.
    public func startRecording() { eventLoop.execute { [state] in state.value.startRecording() } }

    /// Stops recording and returns the received PCM (at `sampleRate`).
    public func stopRecording() async throws -> [Int16] {
        try await eventLoop.submit { [state] in state.value.stopRecording() }.get()
    }

    /// Stops recording and writes a WAV file.
    public func stopRecording(toWAV path: String) async throws {
        let pcm = try await stopRecording()
        let bytes = WAVFile(sampleRate: sampleRate, channels: 1, samples: pcm).serialize()
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    /// Sends silence instead of the source while muted.
    public func setMuted(_ on: Bool) { eventLoop.execute { [state] in state.value.setMuted(on) } }

    /// Sends DTMF as RFC 4733 events when telephone-event was negotiated; returns false otherwise
    /// (the call layer then uses `verto.info`).
    public func sendRFC4733(_ digits: String) async throws -> Bool {
        try await eventLoop.submit { [state] in state.value.sendRFC4733(digits) }.get()
    }

    /// Digits received so far.
    public func receivedDigits() async throws -> String {
        try await eventLoop.submit { [state] in state.value.digits }.get()
    }

    public func stats() async throws -> MediaStats? {
        try await eventLoop.submit { [state] in state.value.stats() }.get()
    }

    public func close() {
        eventLoop.execute { [state] in state.value.close() }
    }

    /// The call's quality every `interval` (default 2 s) until the session closes: a new stream for
    /// each caller, so any number of consumers can watch the same call.
    public func quality(every interval: Duration = .seconds(2)) -> AsyncStream<CallQuality> {
        let (stream, continuation) = AsyncStream.makeStream(of: CallQuality.self, bufferingPolicy: .bufferingNewest(64))
        let amount = TimeAmount.nanoseconds(max(1_000_000, interval.components.seconds * 1_000_000_000
                                                + interval.components.attoseconds / 1_000_000_000))
        let state = self.state, loop = eventLoop
        loop.execute {
            guard let id = state.value.addQualityStream(continuation, interval: interval, amount: amount) else {
                continuation.finish()
                return
            }
            continuation.onTermination = { _ in loop.execute { state.value.removeQualityStream(id) } }
        }
        return stream
    }

    /// Collects `seconds` of audio received from now on (independent of `frames`, which buffers).
    public func listen(seconds: Double, timeout: Duration = .seconds(10)) async throws -> [Int16] {
        let promise = eventLoop.makePromise(of: [Int16].self)
        eventLoop.execute { [state] in state.value.listen(seconds: seconds, promise: promise) }
        let timer = eventLoop.scheduleTask(in: TimeAmount(timeout)) { promise.fail(VertoPhoneError.timeout("no audio within \(timeout)")) }
        defer { timer.cancel() }
        return try await promise.futureResult.get()
    }
}

extension DTMFDigit {
    /// `0-9 * # A-D`.
    public init?(character: Character) {
        guard let d = DTMFDigit.allCases.first(where: { $0.description == String(character).uppercased() }) else { return nil }
        self = d
    }
}


