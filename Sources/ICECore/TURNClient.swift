import CoreSupport
import NIOCore

/// How the client reaches its TURN server (RFC 8656 §3.1: UDP, TCP or TLS-over-TCP; the relayed
/// transport is UDP in every case).
public enum TURNTransport: String, Sendable, Hashable, CaseIterable {
    case udp, tcp, tls

    /// Over TCP and TLS messages are framed by the stream (§12.5) and nothing is retransmitted.
    public var isStream: Bool { self != .udp }
}

/// Why an allocation could not be made or kept.
public enum TURNError: Error, Sendable, Hashable, CustomStringConvertible {
    /// No answer within the bound.
    case timedOut
    /// 401 even with our credentials (wrong username or password), or the server asked for
    /// credentials and none were configured.
    case unauthorized
    /// Any other error response (RFC 8656 §19: 403, 437, 440, 441, 442, 486, 508, …).
    case rejected(code: Int, reason: String)
    /// A success response without XOR-RELAYED-ADDRESS.
    case noRelayedAddress
    /// The stream to the server broke or carried something that is not TURN.
    case transportFailed(String)

    public var description: String {
        switch self {
        case .timedOut: "the TURN server did not answer"
        case .unauthorized: "the TURN server refused the credentials (401)"
        case .rejected(let code, let reason): "the TURN server answered \(code) \(reason)"
        case .noRelayedAddress: "the TURN server's answer carried no relayed address"
        case .transportFailed(let why): "the connection to the TURN server failed: \(why)"
        }
    }
}

/// Counters of what the client dropped: nothing a server or a stranger sends is trusted before it
/// is matched and authenticated.
public struct TURNStatistics: Sendable, Hashable {
    public var requestsSent = 0
    public var retransmissions = 0
    public var channelDataSent = 0
    public var channelDataReceived = 0
    public var dataIndicationsReceived = 0
    public var malformed = 0
    public var unmatchedResponses = 0
    public var badIntegrity = 0
    public var unknownComprehensionRequired = 0
    public var unknownChannel = 0
    public var noPermission = 0
    public var queuedDropped = 0
    public var refreshes = 0
}

/// A sans-IO TURN client for one allocation (RFC 8656): Allocate with the long-term credential
/// mechanism (RFC 8489 §9.2, 401/438 handled), Refresh before the lifetime ends, ChannelBind per peer
/// (which also installs and refreshes the permission, §12), ChannelData both ways, Data
/// indications received, deallocation on `close`.
///
/// The owner gives every message from the server to `handleFromServer` and every datagram meant
/// for a peer through the relay to `send`; it drains `pollTransmit()` (bytes for the server: a
/// datagram over UDP, a stream write over TCP/TLS) and `pollEvent()`, and calls `handleTimeout`
/// at `nextDeadline()`. It never reads a clock; transaction ids come from the injected generator.
///
/// Data for a peer whose channel is still being bound is queued (bounded) and sent when the bind
/// succeeds, so a relayed ICE check leaves one round trip to the server later, not one RTO.
public struct TURNClient: Sendable {
    public enum Event: Sendable, Hashable {
        /// The allocation exists: advertise `relayed` with `ICEAgent.addRelayedCandidate`.
        case allocated(relayed: TransportAddress, mapped: TransportAddress?, lifetime: Int)
        /// The allocation failed or was lost (a failed refresh).
        case failed(TURNError)
    }

    public enum State: Sendable, Hashable {
        case allocating, allocated, failed, closed
    }

    /// What a message from the server carried.
    public enum Inbound: Sendable, Equatable {
        /// Application data relayed from `peer`, at `payload` in the buffer given.
        case data(peer: TransportAddress, payload: Range<Int>)
        /// A response to one of our requests (consumed).
        case control
        /// Dropped (counted in `statistics`).
        case dropped
    }

    public struct Configuration: Sendable, Hashable {
        /// First retransmission over UDP (RFC 8489 §6.2.1), doubling.
        public var initialRTO: TimeAmount = .milliseconds(100)
        /// Allocation must succeed within this (candidates are gathered before the SDP is written).
        public var allocationTimeout: TimeAmount = .seconds(3)
        /// Other requests (refresh, channel bind) give up after this.
        public var requestTimeout: TimeAmount = .seconds(8)
        /// Asked-for allocation lifetime (RFC 8656 §7.2: the server may shorten it).
        public var lifetime: Int = 600
        /// Channel bindings (and with them the permission, 300 s) are refreshed this often.
        public var channelRefresh: TimeAmount = .seconds(240)
        /// Datagrams queued per peer while its channel is being bound.
        public var maximumQueuedPerPeer = 16
        /// SOFTWARE attribute; nil omits it.
        public var software: String?
        public init() {}
    }

    struct Pending: Sendable {
        enum Kind: Sendable, Hashable {
            case allocate, refresh(lifetime: Int), channelBind(UInt16, TransportAddress)
            var method: STUNMethod {
                switch self {
                case .allocate: .allocate
                case .refresh: .refresh
                case .channelBind: .channelBind
                }
            }
        }
        var kind: Kind
        var bytes: [UInt8]
        var rto: TimeAmount
        var nextRetransmit: NIODeadline?
        var giveUpAt: NIODeadline
        var attempts: Int  // 401/438 retries
    }

    struct Channel: Sendable {
        var number: UInt16
        var bound: Bool
        var queue: [[UInt8]]
        var refreshAt: NIODeadline?
    }

    public let server: SocketAddress
    public let transport: TURNTransport
    public let configuration: Configuration
    public private(set) var state: State = .allocating
    public private(set) var relayedAddress: TransportAddress?
    public private(set) var mappedAddress: TransportAddress?
    public private(set) var statistics = TURNStatistics()
    /// When the allocation was made (setup-time figure).
    public private(set) var allocatedAt: NIODeadline?
    public let startedAt: NIODeadline

    let credentials: TURNCredentials?
    var realm: String?
    var nonce: [UInt8]?
    var key: [UInt8]?
    var random: AnyRandomSource
    var pending: [STUNTransactionID: Pending] = [:]
    var channels: [TransportAddress: Channel] = [:]
    var peersByChannel: [UInt16: TransportAddress] = [:]
    var nextChannel: UInt16 = ChannelData.channelRange.lowerBound
    var refreshAt: NIODeadline?
    var transmits = CircularBuffer<[UInt8]>()
    var events = CircularBuffer<Event>()

    /// Starts allocating at once (the first Allocate, without credentials, RFC 8656 §7.1, is in
    /// `pollTransmit()`).
    public init(server: SocketAddress, transport: TURNTransport = .udp, credentials: TURNCredentials?,
                configuration: Configuration = Configuration(), random: AnyRandomSource, now: NIODeadline) {
        self.server = server
        self.transport = transport
        self.credentials = credentials
        self.configuration = configuration
        self.random = random
        self.startedAt = now
        sendRequest(.allocate, now: now, giveUpAt: now + configuration.allocationTimeout, attempts: 0)
    }

    // MARK: - Outputs

    public mutating func pollTransmit() -> [UInt8]? { transmits.popFirst() }
    public mutating func pollEvent() -> Event? { events.popFirst() }

    public func nextDeadline() -> NIODeadline? {
        guard state != .closed, state != .failed else { return nil }
        var next: NIODeadline? = refreshAt
        func consider(_ d: NIODeadline?) { if let d, next == nil || d < next! { next = d } }
        for p in pending.values { consider(p.nextRetransmit.map { min($0, p.giveUpAt) } ?? p.giveUpAt) }
        for c in channels.values { consider(c.refreshAt) }
        return next
    }

    // MARK: - Sending through the relay

    /// Sends `payload` to `peer` through the relay: a ChannelData message when the peer's channel
    /// is bound, otherwise queued behind a ChannelBind that starts now.
    public mutating func send(_ payload: UnsafeRawBufferPointer, to peer: TransportAddress, now: NIODeadline) {
        guard state == .allocated, payload.count <= ChannelData.maximumPayload else { statistics.queuedDropped += 1; return }
        if let c = channels[peer], c.bound {
            transmits.append(frame(payload, channel: c.number))
            statistics.channelDataSent += 1
            return
        }
        prepare(peer, now: now)
        guard channels[peer] != nil, channels[peer]!.queue.count < configuration.maximumQueuedPerPeer else {
            statistics.queuedDropped += 1
            return
        }
        channels[peer]!.queue.append(Array(payload))
    }

    public mutating func send(_ payload: [UInt8], to peer: TransportAddress, now: NIODeadline) {
        payload.withUnsafeBytes { send($0, to: peer, now: now) }
    }

    mutating func advanceChannel() {
        nextChannel = nextChannel == ChannelData.channelRange.upperBound ? ChannelData.channelRange.lowerBound : nextChannel + 1
    }

    /// Writes the ChannelData framing of `payload` for a *bound* peer straight into `out` (no
    /// intermediate copy); false when the peer has no bound channel (use `send`).
    public mutating func frame(_ payload: UnsafeRawBufferPointer, to peer: TransportAddress, into out: inout ByteBuffer) -> Bool {
        guard state == .allocated, payload.count <= ChannelData.maximumPayload, let c = channels[peer], c.bound else { return false }
        // The 4-byte header written in place (no array per relayed packet), RFC 8656 §12.4.
        out.writeInteger(c.number)
        out.writeInteger(UInt16(payload.count))
        out.writeBytes(payload)
        if transport.isStream { out.writeRepeatingByte(0, count: (4 - payload.count % 4) % 4) }
        statistics.channelDataSent += 1
        return true
    }

    func frame(_ payload: UnsafeRawBufferPointer, channel: UInt16) -> [UInt8] {
        var out = ChannelData.header(channel: channel, length: payload.count)
        out.append(contentsOf: payload)
        if transport.isStream { out.append(contentsOf: repeatElement(0, count: (4 - payload.count % 4) % 4)) }
        return out
    }

    /// Installs a permission and channel for `peer` ahead of any data (ChannelBind now), so that
    /// what the peer sends to the relayed address gets through — a lite agent never sends first.
    public mutating func prepare(_ peer: TransportAddress, now: NIODeadline) {
        guard state == .allocated, channels[peer] == nil,
              peersByChannel.count <= Int(ChannelData.channelRange.upperBound - ChannelData.channelRange.lowerBound) else { return }
        // The next number not in use (the bound above guarantees there is one).
        while peersByChannel[nextChannel] != nil { advanceChannel() }
        let number = nextChannel
        advanceChannel()
        channels[peer] = Channel(number: number, bound: false, queue: [], refreshAt: nil)
        peersByChannel[number] = peer
        sendRequest(.channelBind(number, peer), now: now, giveUpAt: now + configuration.requestTimeout, attempts: 0)
    }

    /// Whether `peer` has a bound channel (data to it is framed at once).
    public func isBound(_ peer: TransportAddress) -> Bool { channels[peer]?.bound == true }

    // MARK: - Receiving from the server

    /// One message from the server (a datagram from its address, or one framed message of the
    /// stream). Responses are matched by transaction id and authenticated with the long-term key
    /// before anything in them is used.
    public mutating func handleFromServer(_ bytes: UnsafeRawBufferPointer, now: NIODeadline) -> Inbound {
        guard state != .closed, let first = bytes.first else { return .dropped }
        if ChannelData.isChannelData(firstByte: first) {
            guard let (channel, payload) = ChannelData.parse(bytes) else { statistics.malformed += 1; return .dropped }
            // A channel whose bind is in flight counts: the server sends on it once it processed the bind.
            guard state == .allocated, let peer = peersByChannel[channel], channels[peer] != nil else {
                statistics.unknownChannel += 1
                return .dropped
            }
            statistics.channelDataReceived += 1
            return .data(peer: peer, payload: payload)
        }
        guard let view = try? STUNMessageView(bytes) else { statistics.malformed += 1; return .dropped }
        if view.type.messageClass == .indication {
            return handleIndication(view)
        }
        guard view.type.messageClass == .successResponse || view.type.messageClass == .errorResponse else {
            statistics.malformed += 1
            return .dropped
        }
        guard let request = pending[view.transactionID], request.kind.method == view.type.method else {
            statistics.unmatchedResponses += 1
            return .dropped
        }
        if view.verifyFingerprint() == false { statistics.malformed += 1; return .dropped }
        // RFC 8489 §9.2.4: once we sent credentials, a response must carry a valid MESSAGE-INTEGRITY
        // (a 401/438 naming a new nonce or realm is the exception: it cannot be signed with a key the
        // client does not have yet).
        guard let message = try? view.decode() else { statistics.malformed += 1; return .dropped }
        let code = message.errorCode?.code
        let isChallenge = view.type.messageClass == .errorResponse && (code == 401 || code == 438)
        if let key, !isChallenge {
            let ok = key.withUnsafeBytes { view.verifyIntegrity(key: $0) }
            guard ok else { statistics.badIntegrity += 1; return .dropped }
        }
        // §6.3.3: a response with an unknown comprehension-required attribute is unusable.
        if Self.hasUnknownComprehensionRequired(message) {
            // §6.3.3: the transaction fails.
            statistics.unknownComprehensionRequired += 1
            pending[view.transactionID] = nil
            failRequest(request, .rejected(code: 420, reason: "unknown comprehension-required attribute in the answer"))
            return .dropped
        }
        pending[view.transactionID] = nil
        if view.type.messageClass == .errorResponse {
            handleError(request, code: code ?? 0, reason: message.errorCode?.reason ?? "", message: message, now: now)
        } else {
            handleSuccess(request, message: message, transactionID: view.transactionID, now: now)
        }
        return .control
    }

    public mutating func handleFromServer(_ bytes: [UInt8], now: NIODeadline) -> Inbound {
        bytes.withUnsafeBytes { handleFromServer($0, now: now) }
    }

    mutating func handleIndication(_ view: STUNMessageView) -> Inbound {
        guard state == .allocated else { statistics.noPermission += 1; return .dropped }
        guard view.type.method == .data, let message = try? view.decode(),
              let peerValue = message.otherValue(TURNAttribute.xorPeerAddress),
              let peer = TURNAttribute.decodeXORAddress(peerValue, transactionID: view.transactionID) else {
            statistics.malformed += 1
            return .dropped
        }
        // Data only from peers we installed a permission for (§10.3: the server enforces it too).
        guard channels[peer] != nil else { statistics.noPermission += 1; return .dropped }
        if Self.hasUnknownComprehensionRequired(message) {
            statistics.unknownComprehensionRequired += 1
            return .dropped
        }
        // Locate the DATA value in the buffer, so the payload is not copied.
        var offset = STUN.headerLength
        let bytes = view.bytes
        while offset + 4 <= bytes.count {
            let type = UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
            let length = Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])
            if type == TURNAttribute.data, offset + 4 + length <= bytes.count {
                statistics.dataIndicationsReceived += 1
                return .data(peer: peer, payload: (offset + 4)..<(offset + 4 + length))
            }
            offset += 4 + ((length + 3) & ~3)
        }
        statistics.malformed += 1
        return .dropped
    }

    mutating func handleSuccess(_ request: Pending, message: STUNMessage, transactionID: STUNTransactionID, now: NIODeadline) {
        switch request.kind {
        case .allocate:
            guard state == .allocating else { return }
            guard let value = message.otherValue(TURNAttribute.xorRelayedAddress),
                  let relayed = TURNAttribute.decodeXORAddress(value, transactionID: transactionID) else {
                fail(.noRelayedAddress)
                return
            }
            let lifetime = message.otherValue(TURNAttribute.lifetime).flatMap(Self.u32).map(Int.init) ?? configuration.lifetime
            relayedAddress = relayed
            mappedAddress = message.xorMappedAddress ?? message.mappedAddress
            state = .allocated
            allocatedAt = now
            scheduleRefresh(lifetime: lifetime, now: now)
            events.append(.allocated(relayed: relayed, mapped: mappedAddress, lifetime: lifetime))
        case .refresh(let asked):
            statistics.refreshes += 1
            if asked == 0 { return }
            let lifetime = message.otherValue(TURNAttribute.lifetime).flatMap(Self.u32).map(Int.init) ?? asked
            scheduleRefresh(lifetime: lifetime, now: now)
        case .channelBind(let number, let peer):
            guard var c = channels[peer], c.number == number else { return }
            c.bound = true
            c.refreshAt = now + configuration.channelRefresh
            let queue = c.queue
            c.queue = []
            channels[peer] = c
            for q in queue {
                transmits.append(q.withUnsafeBytes { frame($0, channel: number) })
                statistics.channelDataSent += 1
            }
        }
    }

    mutating func handleError(_ request: Pending, code: Int, reason: String, message: STUNMessage, now: NIODeadline) {
        // §9.2.5: 401 names the realm and nonce to use; 438 a fresh nonce. Retry once with them
        // (twice for a stale nonce); 401 after our credentials means they are wrong.
        if code == 401 || code == 438 {
            guard let credentials else { failRequest(request, .unauthorized); return }
            let newNonce = message.otherValue(TURNAttribute.nonce)
            let newRealm = message.otherString(TURNAttribute.realm)
            let hadKey = key != nil
            if let newRealm, newRealm != realm { realm = newRealm; key = credentials.key(realm: newRealm) }
            if let newNonce { nonce = newNonce }
            let retryable = code == 438 ? request.attempts < 3 : (!hadKey || request.attempts == 0) && request.attempts < 2
            guard retryable, key != nil, nonce != nil else { failRequest(request, .unauthorized); return }
            sendRequest(request.kind, now: now, giveUpAt: request.giveUpAt, attempts: request.attempts + 1)
            return
        }
        failRequest(request, .rejected(code: code, reason: reason))
    }

    mutating func failRequest(_ request: Pending, _ error: TURNError) {
        switch request.kind {
        case .allocate, .refresh:
            if case .refresh(0) = request.kind { return }
            fail(error)
        case .channelBind(let number, let peer):
            // The peer is unreachable through this relay; drop what waited for it.
            if let c = channels[peer], c.number == number {
                statistics.queuedDropped += c.queue.count
                channels[peer] = nil
                peersByChannel[number] = nil
            }
        }
    }

    mutating func fail(_ error: TURNError) {
        guard state != .failed, state != .closed else { return }
        state = .failed
        pending.removeAll()
        events.append(.failed(error))
    }

    /// RFC 8489 §6.3.3: an attribute in 0x0000–0x7FFF this client does not understand.
    static func hasUnknownComprehensionRequired(_ message: STUNMessage) -> Bool {
        message.attributes.contains {
            if case .other(let t, _) = $0, t < 0x8000, !TURNAttribute.isKnownComprehensionRequired(t) { return true }
            return false
        }
    }

    static func u32(_ v: [UInt8]) -> UInt32? {
        guard v.count == 4 else { return nil }
        return UInt32(v[0]) << 24 | UInt32(v[1]) << 16 | UInt32(v[2]) << 8 | UInt32(v[3])
    }

    mutating func scheduleRefresh(lifetime: Int, now: NIODeadline) {
        // Refresh a minute before expiry (or at half the lifetime when it is short).
        let seconds = lifetime > 120 ? lifetime - 60 : max(1, lifetime / 2)
        refreshAt = now + .seconds(Int64(seconds))
    }

    // MARK: - Timers

    public mutating func handleTimeout(now: NIODeadline) {
        guard state != .closed, state != .failed else { return }
        let due = pending.filter { now >= $0.value.giveUpAt || ($0.value.nextRetransmit.map { now >= $0 } ?? false) }
            .sorted { $0.value.giveUpAt < $1.value.giveUpAt }
        for (id, p) in due {
            if now >= p.giveUpAt {
                pending[id] = nil
                failRequest(p, .timedOut)
                if state == .failed { return }
                continue
            }
            var q = p
            q.rto = q.rto * 2
            q.nextRetransmit = now + q.rto
            pending[id] = q
            transmits.append(q.bytes)
            statistics.retransmissions += 1
        }
        if let r = refreshAt, now >= r, state == .allocated {
            refreshAt = nil
            sendRequest(.refresh(lifetime: configuration.lifetime), now: now, giveUpAt: now + configuration.requestTimeout, attempts: 0)
        }
        for (peer, c) in channels where c.bound {
            if let r = c.refreshAt, now >= r {
                channels[peer]!.refreshAt = nil
                sendRequest(.channelBind(c.number, peer), now: now, giveUpAt: now + configuration.requestTimeout, attempts: 0)
            }
        }
    }

    /// The stream to the server (TCP/TLS) closed or failed: the allocation is gone with it (§3.1).
    public mutating func streamFailed(_ reason: String) {
        fail(.transportFailed(reason))
    }

    /// Deallocates (Refresh with LIFETIME 0, §7.3, sent once, not awaited) and stops.
    public mutating func close(now: NIODeadline) {
        guard state != .closed else { return }
        if state == .allocated {
            sendRequest(.refresh(lifetime: 0), now: now, giveUpAt: now, attempts: 0)
        }
        pending.removeAll()
        state = .closed
    }

    // MARK: - Requests

    mutating func sendRequest(_ kind: Pending.Kind, now: NIODeadline, giveUpAt: NIODeadline, attempts: Int) {
        let id = STUNTransactionID.random(using: &random)
        var attributes: [STUNAttribute] = []
        let method: STUNMethod
        switch kind {
        case .allocate:
            method = .allocate
            // REQUESTED-TRANSPORT: UDP (17), RFC 8656 §7.1.
            attributes.append(.other(type: TURNAttribute.requestedTransport, value: [17, 0, 0, 0]))
            // A relay of the family we reach the server in (§7.2: IPv4 unless asked): a phone on an
            // IPv6 network gets an IPv6 relayed candidate.
            if case .v6 = server {
                attributes.append(.other(type: TURNAttribute.requestedAddressFamily, value: [0x02, 0, 0, 0]))
            }
            attributes.append(.other(type: TURNAttribute.lifetime, value: TURNAttribute.u32(UInt32(configuration.lifetime))))
        case .refresh(let lifetime):
            method = .refresh
            attributes.append(.other(type: TURNAttribute.lifetime, value: TURNAttribute.u32(UInt32(lifetime))))
        case .channelBind(let number, let peer):
            method = .channelBind
            attributes.append(.other(type: TURNAttribute.channelNumber, value: [UInt8(number >> 8), UInt8(truncatingIfNeeded: number), 0, 0]))
            attributes.append(TURNAttribute.xorAddress(TURNAttribute.xorPeerAddress, peer, transactionID: id))
        }
        if let software = configuration.software { attributes.append(.software(software)) }
        if key != nil, let realm, let nonce, let credentials {
            attributes.append(.username(credentials.username))
            attributes.append(.other(type: TURNAttribute.realm, value: Array(realm.utf8)))
            attributes.append(.other(type: TURNAttribute.nonce, value: nonce))
        }
        let message = STUNMessage(type: STUNMessageType(method: method, messageClass: .request), transactionID: id, attributes: attributes)
        guard let bytes = try? message.encode(integrityKey: key, fingerprint: true) else { return }
        let retransmits = !transport.isStream && giveUpAt > now
        pending[id] = Pending(kind: kind, bytes: bytes, rto: configuration.initialRTO,
                              nextRetransmit: retransmits ? now + configuration.initialRTO : nil, giveUpAt: giveUpAt, attempts: attempts)
        if giveUpAt <= now { pending[id] = nil }  // fire and forget (deallocation)
        transmits.append(bytes)
        statistics.requestsSent += 1
    }
}
