import CoreMetrics
import NIOCore
import PeerCore

/// The engine's metrics, through swift-metrics (whatever backend the application bootstraps;
/// `vertophone serve --metrics` exports them for Prometheus). Names and labels:
///
/// - `verto_server_calls_active`, `verto_server_sessions_active` (gauges)
/// - `verto_server_calls_started_total{direction="inbound|outbound"}`,
///   `verto_server_calls_ended_total{cause="NORMAL_CLEARING|…"}`,
///   `verto_server_login_failures_total`, `verto_server_login_throttled_total`,
///   `verto_server_bad_input_total` (counters)
/// - `verto_media_setup_seconds{phase="ice|dtls|first_frame"}` (timers; `ice` from the remote
///   description to ICE connected, `dtls` from ICE to DTLS connected, `first_frame` from the remote
///   description to the first decoded frame)
/// - `verto_media_packets_total{direction="sent|received"}`, `verto_media_bytes_total{direction}`,
///   `verto_media_packets_lost_total`, `verto_media_srtp_failures_total`,
///   `verto_media_frames_concealed_total` (counters, both roles)
enum EngineMetrics {
    static let callsActive = Gauge(label: "verto_server_calls_active")
    static let sessionsActive = Gauge(label: "verto_server_sessions_active")
    static let inboundCalls = Counter(label: "verto_server_calls_started_total", dimensions: [("direction", "inbound")])
    static let outboundCalls = Counter(label: "verto_server_calls_started_total", dimensions: [("direction", "outbound")])

    static func callEnded(cause: String) {
        Counter(label: "verto_server_calls_ended_total", dimensions: [("cause", cause)]).increment()
    }

    static let setupICE = Timer(label: "verto_media_setup_seconds", dimensions: [("phase", "ice")])
    static let setupDTLS = Timer(label: "verto_media_setup_seconds", dimensions: [("phase", "dtls")])
    static let setupFirstFrame = Timer(label: "verto_media_setup_seconds", dimensions: [("phase", "first_frame")])
    static let packetsSent = Counter(label: "verto_media_packets_total", dimensions: [("direction", "sent")])
    static let packetsReceived = Counter(label: "verto_media_packets_total", dimensions: [("direction", "received")])
    static let bytesSent = Counter(label: "verto_media_bytes_total", dimensions: [("direction", "sent")])
    static let bytesReceived = Counter(label: "verto_media_bytes_total", dimensions: [("direction", "received")])
    static let packetsLost = Counter(label: "verto_media_packets_lost_total")
    static let srtpFailures = Counter(label: "verto_media_srtp_failures_total")
    static let framesConcealed = Counter(label: "verto_media_frames_concealed_total")

    /// Records the setup phases of one peer connection, once its first frame is decoded.
    static func recordSetup(_ m: PeerMilestones) {
        func record(_ timer: Timer, from a: NIODeadline?, to b: NIODeadline?) {
            if let a, let b, b >= a { timer.recordNanoseconds((b - a).nanoseconds) }
        }
        record(setupICE, from: m.remoteDescriptionApplied, to: m.iceConnected)
        record(setupDTLS, from: m.iceConnected, to: m.dtlsConnected)
        record(setupFirstFrame, from: m.remoteDescriptionApplied, to: m.firstFrameDecoded)
    }
}

/// What a media session has already added to the media counters, so each flush adds the growth
/// since the last one.
struct MediaCounterMark {
    var packetsSent = 0, packetsReceived = 0, bytesSent = 0, bytesReceived = 0
    var packetsLost = 0, srtpFailures = 0, framesConcealed = 0

    mutating func flush(_ s: PeerStatistics) {
        func add(_ counter: Counter, _ mark: inout Int, _ now: Int) {
            if now > mark { counter.increment(by: Int64(now - mark)) }
            mark = max(mark, now)
        }
        add(EngineMetrics.packetsSent, &packetsSent, s.packetsSent)
        add(EngineMetrics.packetsReceived, &packetsReceived, s.packetsReceived)
        add(EngineMetrics.bytesSent, &bytesSent, s.bytesSent)
        add(EngineMetrics.bytesReceived, &bytesReceived, s.bytesReceived)
        add(EngineMetrics.packetsLost, &packetsLost, Int(s.packetsLost))
        add(EngineMetrics.srtpFailures, &srtpFailures, s.srtpFailures)
        add(EngineMetrics.framesConcealed, &framesConcealed, s.framesConcealed)
    }
}
