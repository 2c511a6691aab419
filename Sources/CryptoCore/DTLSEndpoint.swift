internal import COpenSSL
import NIOCore

/// Configuration of a DTLS endpoint.
public struct DTLSConfiguration: Sendable {
    /// Largest datagram the handshake may emit; flights are fragmented to fit (RFC 6347 §4.1.1.1).
    public var mtu: Int
    /// First retransmission timeout (RFC 6347 §4.2.4.1 suggests 1 s; on an ICE-validated path we
    /// start at 100 ms). It doubles on each expiry up to 4 s.
    public var initialRetransmitTimeout: TimeAmount
    /// The handshake fails when it has not completed this long after `start`.
    public var handshakeTimeout: TimeAmount

    public init(mtu: Int = 1200, initialRetransmitTimeout: TimeAmount = .milliseconds(100),
                handshakeTimeout: TimeAmount = .seconds(30)) {
        self.mtu = mtu
        self.initialRetransmitTimeout = initialRetransmitTimeout
        self.handshakeTimeout = handshakeTimeout
    }
}

/// What a DTLS endpoint reports to its owner.
public enum DTLSEvent: Sendable, Equatable {
    /// Handshake complete, peer certificate verified against the signalled fingerprint, SRTP keys
    /// exported (RFC 5764 §4.2).
    case connected(SRTPKeyingMaterial)
    /// The handshake or the association failed; no keys were or will be produced.
    case failed(CryptoError)
    /// The peer closed the association (close_notify).
    case closed
}

/// One DTLS 1.2 association with use_srtp, sans-IO: datagrams in, datagrams and events out.
///
/// Usage: `start(now:)`, then for every received DTLS datagram `receive(_:now:)`; after each input
/// drain `pollTransmit()` and `pollEvent()`, and arm one timer at `nextDeadline()` that calls
/// `handleTimeout(now:)`. OpenSSL's retransmission timer reads its own clock (docs/architecture.md's
/// known exception): the deadline reported is `now + remaining`.
///
/// Not thread-safe; owned by one peer session.
public final class DTLSEndpoint {
    public enum Role: Sendable, Equatable {
        /// Sends the ClientHello (SDP `a=setup:active`).
        case client
        /// Waits for the ClientHello (SDP `a=setup:passive`).
        case server
    }

    public enum State: Sendable, Equatable {
        case idle
        case handshaking
        case connected
        case failed
        case closed
    }

    public let role: Role
    public let remoteFingerprint: DTLSFingerprint
    public let configuration: DTLSConfiguration
    public private(set) var state: State = .idle
    /// The negotiated cipher suite and SRTP profile, once connected.
    public private(set) var cipherSuite: String?
    public private(set) var srtpProfile: SRTPProtectionProfile?

    private let identity: DTLSIdentity
    /// The OpenSSL association; nil once released (`releaseAssociation()`).
    private var handle: OpaquePointer?
    private var events: [DTLSEvent] = []
    private var handshakeDeadline: NIODeadline?
    private var retransmitDeadline: NIODeadline?
    private var scratch = [UInt8](repeating: 0, count: 2048)

    /// - Parameters:
    ///   - identity: our certificate (normally `DTLSIdentity.shared`).
    ///   - remoteFingerprint: the peer's `a=fingerprint`; the handshake fails unless the peer's
    ///     certificate matches it (RFC 5763 §5, RFC 8122 §5).
    public init(identity: DTLSIdentity = .shared, role: Role, remoteFingerprint: DTLSFingerprint,
                configuration: DTLSConfiguration = DTLSConfiguration()) throws {
        guard DTLSFingerprint.digestLength(remoteFingerprint.algorithm) != nil else {
            throw CryptoError.unsupportedFingerprintAlgorithm(remoteFingerprint.algorithm)
        }
        let timeoutUS = UInt32(clamping: max(1000, configuration.initialRetransmitTimeout.nanoseconds / 1000))
        guard let h = copenssl_dtls_new(identity.handle, role == .server ? 1 : 0, Int32(configuration.mtu), timeoutUS) else {
            throw CryptoError.fromQueue("copenssl_dtls_new")
        }
        self.identity = identity
        self.handle = h
        self.role = role
        self.remoteFingerprint = remoteFingerprint
        self.configuration = configuration
        self.scratch = [UInt8](repeating: 0, count: max(2048, configuration.mtu + 64))
    }

    deinit { if let handle { copenssl_dtls_free(handle) } }

    /// True once `releaseAssociation()` freed the OpenSSL state: the keys were exported and are in
    /// use, and DTLS has nothing left to do.
    public var isReleased: Bool { handle == nil }

    /// Frees the association's OpenSSL state (the SSL object with its record and handshake buffers,
    /// about 50 KB) once both sides use the exported keys. Call it when the peer's first
    /// authenticated SRTP or SRTCP packet arrives: the peer has then completed the handshake, so it
    /// retransmits no flight that would need an answer (RFC 6347 §4.2.4). What DTLS would still do
    /// is given up: a close_notify from the peer is no longer read (its datagrams are dropped; the
    /// call ends by signalling, or consent freshness, RFC 7675) and `close()` sends none.
    public func releaseAssociation() {
        guard state == .connected, let h = handle else { return }
        copenssl_dtls_free(h)
        handle = nil
        scratch = []
    }

    /// Starts the handshake: a client queues its ClientHello; a server starts waiting. The
    /// handshake cap starts now.
    public func start(now: NIODeadline) {
        guard state == .idle else { return }
        state = .handshaking
        handshakeDeadline = now + configuration.handshakeTimeout
        if role == .client, let handle {
            apply(copenssl_dtls_handshake(handle), now: now)
        }
    }

    /// Feeds one received datagram (first byte 20–63 per RFC 7983 §7).
    public func receive(_ datagram: UnsafeRawBufferPointer, now: NIODeadline) {
        switch state {
        case .idle:
            // A server may see the ClientHello before its owner called start.
            start(now: now)
        case .failed, .closed:
            return
        case .handshaking, .connected:
            break
        }
        guard let handle else { return }
        let rc = datagram.withMemoryRebound(to: UInt8.self) { copenssl_dtls_feed(handle, $0.baseAddress, $0.count) }
        apply(rc, now: now)
    }

    /// Convenience for arrays.
    public func receive(_ datagram: [UInt8], now: NIODeadline) {
        datagram.withUnsafeBytes { receive($0, now: now) }
    }

    /// Drives retransmission and the handshake cap.
    public func handleTimeout(now: NIODeadline) {
        guard state == .handshaking else { return }
        if let cap = handshakeDeadline, now >= cap {
            fail(.handshakeTimeout(seconds: configuration.handshakeTimeout.nanoseconds / 1_000_000_000))
            return
        }
        if let r = retransmitDeadline, now >= r, let handle {
            apply(copenssl_dtls_handle_timeout(handle), now: now)
        }
    }

    /// The next outgoing datagram, if any.
    public func pollTransmit() -> [UInt8]? {
        guard let handle else { return nil }
        let n = scratch.withUnsafeMutableBufferPointer { copenssl_dtls_pop(handle, $0.baseAddress, $0.count) }
        return n > 0 ? Array(scratch.prefix(Int(n))) : nil
    }

    /// The next event, if any.
    public func pollEvent() -> DTLSEvent? {
        events.isEmpty ? nil : events.removeFirst()
    }

    /// When `handleTimeout` must be called next, or nil when nothing is timed.
    public func nextDeadline() -> NIODeadline? {
        guard state == .handshaking else { return nil }
        switch (retransmitDeadline, handshakeDeadline) {
        case let (r?, h?): return min(r, h)
        case let (r?, nil): return r
        case let (nil, h): return h
        }
    }

    /// Sends close_notify (RFC 5246 §7.2.1) and stops.
    public func close() {
        guard state == .connected || state == .handshaking else { return }
        if let handle { copenssl_dtls_shutdown(handle) }
        state = .closed
    }

    /// The last alert sent or received, for diagnostics ("" when none).
    public var lastAlert: String { handle.map { String(cString: copenssl_dtls_alert($0)) } ?? "" }

    // MARK: - internals

    private func apply(_ rc: Int32, now: NIODeadline) {
        guard handle != nil else { return }
        switch rc {
        case Int32(COPENSSL_DTLS_WANT):
            updateRetransmit(now: now)
        case Int32(COPENSSL_DTLS_DONE):
            if state == .handshaking { completeHandshake() }
        case Int32(COPENSSL_DTLS_CLOSED):
            if state == .handshaking || state == .connected {
                state = .closed
                events.append(.closed)
            }
        default:
            let alert = lastAlert
            let queue = CryptoError.drainedErrors()
            fail(.handshakeFailed(detail: alert.isEmpty ? queue : "\(alert); \(queue)"))
        }
    }

    private func updateRetransmit(now: NIODeadline) {
        guard let handle else { return }
        let us = copenssl_dtls_timeout_us(handle)
        retransmitDeadline = us >= 0 ? now + .microseconds(us) : nil
    }

    private func completeHandshake() {
        guard let handle else { return }
        retransmitDeadline = nil
        // RFC 5763 §5 / RFC 8122 §5: the certificate must match the signalled fingerprint.
        var digest = [UInt8](repeating: 0, count: 64)
        let n = copenssl_dtls_peer_fingerprint(handle, remoteFingerprint.algorithm, &digest, digest.count)
        guard n > 0 else { fail(.noPeerCertificate); return }
        let actual = Array(digest.prefix(Int(n)))
        let equal = actual.count == remoteFingerprint.bytes.count
            && copenssl_memcmp(actual, remoteFingerprint.bytes, actual.count) == 0
        guard equal else {
            fail(.fingerprintMismatch(algorithm: remoteFingerprint.algorithm, expected: remoteFingerprint.hex,
                                      actual: DTLSFingerprint(algorithm: remoteFingerprint.algorithm, bytes: actual).hex))
            return
        }
        guard let profile = SRTPProtectionProfile(rawValue: UInt16(clamping: copenssl_dtls_srtp_profile(handle))) else {
            fail(.noSRTPProfile)
            return
        }
        var exported = [UInt8](repeating: 0, count: 2 * (profile.keyLength + profile.saltLength))
        guard copenssl_dtls_export_srtp(handle, &exported, exported.count) == 1 else {
            fail(CryptoError.fromQueue("SSL_export_keying_material"))
            return
        }
        cipherSuite = String(cString: copenssl_dtls_cipher(handle))
        srtpProfile = profile
        state = .connected
        handshakeDeadline = nil
        events.append(.connected(SRTPKeyingMaterial(profile: profile, exported: exported, isClient: role == .client)))
        for i in exported.indices { exported[i] = 0 }
    }

    private func fail(_ error: CryptoError) {
        guard state != .failed else { return }
        state = .failed
        retransmitDeadline = nil
        handshakeDeadline = nil
        events.append(.failed(error))
    }
}
