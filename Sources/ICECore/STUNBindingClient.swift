import CoreSupport
import NIOCore

/// A sans-IO STUN Binding client (RFC 8489 §6.2.1, §7) for gathering one server-reflexive
/// candidate (RFC 8445 §5.1.1.2), with a *bounded* wait (docs/performance.md: gathering from a STUN
/// server is opt-in and bounded). It shares the host candidate's socket; the owner offers it
/// every STUN response arriving there until `result` is set.
public struct STUNBindingClient: Sendable {
    public enum Outcome: Sendable, Hashable {
        /// The server saw us at this address: advertise it with `ICEAgent.addServerReflexiveCandidate`.
        case mapped(TransportAddress)
        /// No answer within the bound.
        case timedOut
        /// The server answered with an error code.
        case error(code: Int)
    }

    public let server: SocketAddress
    public let localCandidate: ICELocalCandidateID
    public let transactionID: STUNTransactionID
    public private(set) var outcome: Outcome?
    public private(set) var transmissions = 0

    let request: [UInt8]
    let giveUpAt: NIODeadline
    var rto: TimeAmount
    var nextRetransmit: NIODeadline?
    var pending: ICETransmit?

    /// Sends the first request at once (available from `pollTransmit()`), retransmits with a
    /// doubling RTO starting at `initialRTO`, and gives up at `now + maximumWait`.
    public init(server: SocketAddress, localCandidate: ICELocalCandidateID, now: NIODeadline,
                random: inout AnyRandomSource, initialRTO: TimeAmount = .milliseconds(100),
                maximumWait: TimeAmount = .milliseconds(500), software: String? = nil) {
        self.server = server
        self.localCandidate = localCandidate
        self.transactionID = .random(using: &random)
        var attributes: [STUNAttribute] = []
        if let software { attributes.append(.software(software)) }
        let message = STUNMessage(type: .bindingRequest, transactionID: transactionID, attributes: attributes)
        self.request = (try? message.encode(fingerprint: true)) ?? []
        self.giveUpAt = now + maximumWait
        self.rto = initialRTO
        self.nextRetransmit = now + initialRTO
        self.pending = ICETransmit(bytes: request, destination: server, localCandidate: localCandidate)
        self.transmissions = 1
    }

    public mutating func pollTransmit() -> ICETransmit? {
        defer { pending = nil }
        return pending
    }

    public func nextDeadline() -> NIODeadline? {
        guard outcome == nil, let next = nextRetransmit else { return nil }
        return min(next, giveUpAt)
    }

    public mutating func handleTimeout(now: NIODeadline) {
        guard outcome == nil else { return }
        if now >= giveUpAt {
            outcome = .timedOut
            nextRetransmit = nil
            return
        }
        if let next = nextRetransmit, now >= next {
            rto = rto * 2
            nextRetransmit = now + rto
            transmissions += 1
            pending = ICETransmit(bytes: request, destination: server, localCandidate: localCandidate)
        }
    }

    /// Offers a datagram; returns true when it was this client's response (consumed).
    public mutating func handleDatagram(_ bytes: UnsafeRawBufferPointer, from source: SocketAddress, now: NIODeadline) -> Bool {
        guard outcome == nil, let view = try? STUNMessageView(bytes), view.transactionID == transactionID,
              view.type.method == .binding, view.type.messageClass == .successResponse || view.type.messageClass == .errorResponse,
              view.verifyFingerprint() != false, let message = try? view.decode() else { return false }
        if view.type.messageClass == .errorResponse {
            outcome = .error(code: message.errorCode?.code ?? 0)
        } else if let mapped = message.xorMappedAddress ?? message.mappedAddress {
            outcome = .mapped(mapped)
        } else {
            return false
        }
        nextRetransmit = nil
        return true
    }

    public mutating func handleDatagram(_ bytes: [UInt8], from source: SocketAddress, now: NIODeadline) -> Bool {
        bytes.withUnsafeBytes { handleDatagram($0, from: source, now: now) }
    }
}
