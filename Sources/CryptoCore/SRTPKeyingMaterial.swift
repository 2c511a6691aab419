/// SRTP protection profiles negotiated through DTLS use_srtp (RFC 5764 §4.1.2, RFC 7714 §14.2).
public enum SRTPProtectionProfile: UInt16, Sendable, CaseIterable, CustomStringConvertible {
    /// SRTP_AES128_CM_HMAC_SHA1_80 (RFC 5764 §4.1.2): the only profile FreeSWITCH offers.
    case aes128CMHMACSHA1_80 = 0x0001
    /// SRTP_AEAD_AES_128_GCM (RFC 7714 §14.2): preferred by browsers and by us.
    case aeadAES128GCM = 0x0007

    /// Master key length in bytes.
    public var keyLength: Int { 16 }
    /// Master salt length in bytes (RFC 5764 §4.1.2: 112 bits for CM; RFC 7714 §12: 96 bits for GCM).
    public var saltLength: Int { self == .aeadAES128GCM ? 12 : 14 }
    /// Authentication tag appended to each SRTP packet.
    public var tagLength: Int { self == .aeadAES128GCM ? 16 : 10 }

    public var description: String {
        switch self {
        case .aes128CMHMACSHA1_80: return "AES_CM_128_HMAC_SHA1_80"
        case .aeadAES128GCM: return "AEAD_AES_128_GCM"
        }
    }
}

/// The SRTP master keys and salts derived from a DTLS handshake (RFC 5764 §4.2), already assigned
/// to directions: `local*` protects what we send, `remote*` unprotects what we receive.
public struct SRTPKeyingMaterial: Sendable, Equatable {
    public let profile: SRTPProtectionProfile
    public let localMasterKey: [UInt8]
    public let localMasterSalt: [UInt8]
    public let remoteMasterKey: [UInt8]
    public let remoteMasterSalt: [UInt8]

    public init(profile: SRTPProtectionProfile, localMasterKey: [UInt8], localMasterSalt: [UInt8],
                remoteMasterKey: [UInt8], remoteMasterSalt: [UInt8]) {
        self.profile = profile
        self.localMasterKey = localMasterKey
        self.localMasterSalt = localMasterSalt
        self.remoteMasterKey = remoteMasterKey
        self.remoteMasterSalt = remoteMasterSalt
    }

    /// Splits the exporter output `client_key | server_key | client_salt | server_salt`
    /// (RFC 5764 §4.2) for the given role.
    public init(profile: SRTPProtectionProfile, exported: [UInt8], isClient: Bool) {
        let k = profile.keyLength, s = profile.saltLength
        precondition(exported.count == 2 * (k + s), "exporter output has the profile's length by construction")
        let clientKey = Array(exported[0..<k]), serverKey = Array(exported[k..<2 * k])
        let clientSalt = Array(exported[2 * k..<2 * k + s]), serverSalt = Array(exported[2 * k + s..<2 * k + 2 * s])
        self.profile = profile
        self.localMasterKey = isClient ? clientKey : serverKey
        self.localMasterSalt = isClient ? clientSalt : serverSalt
        self.remoteMasterKey = isClient ? serverKey : clientKey
        self.remoteMasterSalt = isClient ? serverSalt : clientSalt
    }

    /// The same material seen from the other end (for loopback tests).
    public var mirrored: SRTPKeyingMaterial {
        SRTPKeyingMaterial(profile: profile, localMasterKey: remoteMasterKey, localMasterSalt: remoteMasterSalt,
                           remoteMasterKey: localMasterKey, remoteMasterSalt: localMasterSalt)
    }
}
