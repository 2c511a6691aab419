internal import CSRTP
import CryptoCore

/// libsrtp2 is initialised once per process (a global `let` is initialised lazily and thread-safely).
/// `srtp_init` runs the crypto kernel's self-tests (milliseconds): `SRTPLibrary.initialize()` lets an
/// engine pay that at start-up instead of on its first call's setup path.
let srtpLibraryStatus: UInt32 = srtp_init().rawValue

/// One direction of SRTP/SRTCP (RFC 3711) over libsrtp2: protects what we send, or unprotects what
/// we receive, in place in the caller's buffer.
///
/// Per-packet calls allocate nothing. The buffer must have room after the packet for the trailer:
/// `profile.tagLength` bytes for SRTP, `profile.tagLength + 4` (the SRTCP index, RFC 3711 §3.4) for
/// SRTCP; `SRTPContext.maxTrailer` always suffices.
///
/// Not thread-safe: owned by one peer session.
public final class SRTPContext {
    public enum Direction: Sendable {
        case outbound
        case inbound
    }

    /// Headroom that always suffices after a packet.
    public static let maxTrailer = 16 + 4

    public let profile: SRTPProtectionProfile
    public let direction: Direction
    private var session: srtp_t?

    /// - Parameters:
    ///   - key: master key (16 bytes) and `salt` master salt (14 bytes for AES-CM, 12 for GCM).
    ///   - replayWindow: RFC 3711 §3.3.2 replay window in packets (64…32768).
    public init(profile: SRTPProtectionProfile, key: [UInt8], salt: [UInt8], direction: Direction,
                replayWindow: Int = 1024) throws(SRTPError) {
        guard srtpLibraryStatus == srtp_err_status_ok.rawValue else {
            throw .library(function: "srtp_init", status: Int32(bitPattern: srtpLibraryStatus))
        }
        guard key.count == profile.keyLength else { throw .badKey("master key must be \(profile.keyLength) bytes, got \(key.count)") }
        guard salt.count == profile.saltLength else { throw .badKey("master salt must be \(profile.saltLength) bytes, got \(salt.count)") }
        self.profile = profile
        self.direction = direction

        var policy = srtp_policy_t()
        switch profile {
        case .aes128CMHMACSHA1_80:
            // RFC 3711 §5 defaults = AES_CM_128_HMAC_SHA1_80 for RTP and RTCP.
            srtp_crypto_policy_set_rtp_default(&policy.rtp)
            srtp_crypto_policy_set_rtcp_default(&policy.rtcp)
        case .aeadAES128GCM:
            // RFC 7714 §14.2: AEAD_AES_128_GCM, 16-byte tag, for RTP and RTCP.
            srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtp)
            srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtcp)
        }
        policy.ssrc.type = direction == .outbound ? ssrc_any_outbound : ssrc_any_inbound
        policy.window_size = UInt(max(64, min(32768, replayWindow)))
        policy.allow_repeat_tx = 0
        var keySalt = key + salt
        var created: srtp_t? = nil
        let status = keySalt.withUnsafeMutableBufferPointer { ks -> srtp_err_status_t in
            policy.key = ks.baseAddress
            return srtp_create(&created, &policy)
        }
        for i in keySalt.indices { keySalt[i] = 0 }
        guard status == srtp_err_status_ok, let created else {
            throw SRTPError.from(status, "srtp_create", length: 0)
        }
        self.session = created
    }

    deinit {
        if let session { srtp_dealloc(session) }
    }

    /// Protects the RTP packet `buffer[0..<length]` in place (RFC 3711 §3.3 / RFC 7714 §8).
    /// - Returns: the SRTP packet length.
    @inline(__always)
    public func protectRTP(_ buffer: UnsafeMutableRawBufferPointer, length: Int) throws(SRTPError) -> Int {
        try run(buffer, length: length, trailer: profile.tagLength, srtp_protect, "srtp_protect")
    }

    /// Unprotects the SRTP packet `buffer[0..<length]` in place. - Returns: the RTP packet length.
    @inline(__always)
    public func unprotectRTP(_ buffer: UnsafeMutableRawBufferPointer, length: Int) throws(SRTPError) -> Int {
        try run(buffer, length: length, trailer: 0, srtp_unprotect, "srtp_unprotect")
    }

    /// Protects an RTCP compound packet in place (RFC 3711 §3.4). - Returns: the SRTCP length.
    public func protectRTCP(_ buffer: UnsafeMutableRawBufferPointer, length: Int) throws(SRTPError) -> Int {
        try run(buffer, length: length, trailer: profile.tagLength + 4, srtp_protect_rtcp, "srtp_protect_rtcp")
    }

    /// Unprotects an SRTCP packet in place. - Returns: the RTCP length.
    public func unprotectRTCP(_ buffer: UnsafeMutableRawBufferPointer, length: Int) throws(SRTPError) -> Int {
        try run(buffer, length: length, trailer: 0, srtp_unprotect_rtcp, "srtp_unprotect_rtcp")
    }

    /// Array conveniences (allocate; for tests and tools, not the hot path).
    public func protectRTP(_ packet: [UInt8]) throws(SRTPError) -> [UInt8] { try arrayRun(packet, rtcp: false, protect: true) }
    public func unprotectRTP(_ packet: [UInt8]) throws(SRTPError) -> [UInt8] { try arrayRun(packet, rtcp: false, protect: false) }
    public func protectRTCP(_ packet: [UInt8]) throws(SRTPError) -> [UInt8] { try arrayRun(packet, rtcp: true, protect: true) }
    public func unprotectRTCP(_ packet: [UInt8]) throws(SRTPError) -> [UInt8] { try arrayRun(packet, rtcp: true, protect: false) }

    private func arrayRun(_ packet: [UInt8], rtcp: Bool, protect: Bool) throws(SRTPError) -> [UInt8] {
        var buf = packet + [UInt8](repeating: 0, count: SRTPContext.maxTrailer)
        let result = buf.withUnsafeMutableBytes { b -> Result<Int, SRTPError> in
            do throws(SRTPError) {
                switch (rtcp, protect) {
                case (false, true): return .success(try protectRTP(b, length: packet.count))
                case (false, false): return .success(try unprotectRTP(b, length: packet.count))
                case (true, true): return .success(try protectRTCP(b, length: packet.count))
                case (true, false): return .success(try unprotectRTCP(b, length: packet.count))
                }
            } catch { return .failure(error) }
        }
        let n = try result.get()
        return Array(buf.prefix(n))
    }

    @inline(__always)
    private func run(_ buffer: UnsafeMutableRawBufferPointer, length: Int, trailer: Int,
                     _ f: (srtp_t?, UnsafeMutableRawPointer?, UnsafeMutablePointer<Int32>?) -> srtp_err_status_t,
                     _ name: String) throws(SRTPError) -> Int {
        // RFC 3550 §5.1: an RTP header is at least 12 bytes; an RTCP header 8.
        guard length >= 8, length <= buffer.count - trailer, length <= Int(Int32.max) else {
            throw .badLength(length)
        }
        var len = Int32(length)
        let status = f(session, buffer.baseAddress, &len)
        guard status == srtp_err_status_ok else { throw SRTPError.from(status, name, length: length) }
        return Int(len)
    }
}

/// Both directions of one media stream, keyed from a DTLS handshake (RFC 5764 §4.2).
public final class SRTPSession {
    public let outbound: SRTPContext
    public let inbound: SRTPContext

    public init(keys: SRTPKeyingMaterial, replayWindow: Int = 1024) throws(SRTPError) {
        outbound = try SRTPContext(profile: keys.profile, key: keys.localMasterKey, salt: keys.localMasterSalt,
                                   direction: .outbound, replayWindow: replayWindow)
        inbound = try SRTPContext(profile: keys.profile, key: keys.remoteMasterKey, salt: keys.remoteMasterSalt,
                                  direction: .inbound, replayWindow: replayWindow)
    }
}
