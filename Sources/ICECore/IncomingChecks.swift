import NIOCore

/// Incoming STUN (RFC 8445 §7.3; RFC 8489 §6.3): validation, answers, role conflicts,
/// peer-reflexive learning, triggered checks and nomination by the peer.
extension ICEAgent {
    /// Feeds one datagram that arrived on the socket of `localCandidate` from `source`.
    /// Non-STUN input is reported as `.notSTUN` (demultiplex with `STUN.isSTUN` first).
    public mutating func handleDatagram(_ bytes: UnsafeRawBufferPointer, from source: SocketAddress,
                                        localCandidate: ICELocalCandidateID, now: NIODeadline) -> ICEDatagramResult {
        guard state != .closed else { return .dropped(.closed) }
        let view: STUNMessageView
        do {
            view = try STUNMessageView(bytes)
        } catch {
            if case .notSTUN = error { statistics.notSTUN += 1; return .notSTUN }
            statistics.malformed += 1
            return .dropped(.malformed)
        }
        guard let src = TransportAddress(source) else { statistics.unexpectedSource += 1; return .dropped(.unexpectedSource) }
        guard localCandidate.rawValue >= 0, localCandidate.rawValue < locals.count else { return .dropped(.unknownLocalCandidate) }
        let local = locals[localCandidate.rawValue].base
        if view.verifyFingerprint() == false {
            statistics.badFingerprint += 1
            return .dropped(.badFingerprint)
        }
        guard view.type.method == .binding else { return .dropped(.unsupportedMessage) }
        switch view.type.messageClass {
        case .request:
            return handleRequest(view, from: src, socketAddress: source, local: local, now: now)
        case .successResponse, .errorResponse:
            guard configuration.mode == .full else { statistics.unmatchedResponses += 1; return .dropped(.unmatchedResponse) }
            return handleResponse(view, from: src, local: local, now: now)
        case .indication:
            return .handled  // Binding indications are keepalives (RFC 8445 §11): nothing to do.
        }
    }

    public mutating func handleDatagram(_ bytes: [UInt8], from source: SocketAddress, localCandidate: ICELocalCandidateID,
                                        now: NIODeadline) -> ICEDatagramResult {
        bytes.withUnsafeBytes { handleDatagram($0, from: source, localCandidate: localCandidate, now: now) }
    }

    /// The NIO shell's entry point: reads the buffer's readable bytes in place.
    public mutating func handleDatagram(_ buffer: ByteBuffer, from source: SocketAddress, localCandidate: ICELocalCandidateID,
                                        now: NIODeadline) -> ICEDatagramResult {
        buffer.withUnsafeReadableBytes { handleDatagram($0, from: source, localCandidate: localCandidate, now: now) }
    }

    mutating func handleRequest(_ view: STUNMessageView, from src: TransportAddress, socketAddress: SocketAddress,
                                local: Int, now: NIODeadline) -> ICEDatagramResult {
        statistics.requestsReceived += 1
        // RFC 8489 §9.1.3: no USERNAME or MESSAGE-INTEGRITY → 400; wrong user or MAC → 401,
        // both without MESSAGE-INTEGRITY. Checked before anything allocates.
        guard view.usernameRange != nil, view.integrityOffset != nil else {
            statistics.badRequests += 1
            return answerError(400, to: view, destination: socketAddress, local: local, authenticated: false)
        }
        var ufrag = localCredentials.ufrag
        let userOK = ufrag.withUTF8 { view.usernamePrefixEquals(UnsafeRawBufferPointer($0)) }
        var password = localCredentials.password
        guard userOK, password.withUTF8({ view.verifyIntegrity(key: UnsafeRawBufferPointer($0)) }) else {
            statistics.unauthorized += 1
            return answerError(401, to: view, destination: socketAddress, local: local, authenticated: false)
        }
        // RFC 8445 §7.3: the part after the colon is the peer's ufrag, once we know it.
        if let remote = remoteCredentials {
            var expected = localCredentials.ufrag + ":" + remote.ufrag
            guard expected.withUTF8({ view.usernameEquals(UnsafeRawBufferPointer($0)) }) else {
                statistics.unauthorized += 1
                return answerError(401, to: view, destination: socketAddress, local: local, authenticated: false)
            }
        }
        guard let message = try? view.decode() else {
            statistics.badRequests += 1
            return answerError(400, to: view, destination: socketAddress, local: local, authenticated: true)
        }
        // RFC 8489 §6.3.1: unknown comprehension-required attributes → 420 listing them.
        let unknown = message.unknownComprehensionRequired
        if !unknown.isEmpty {
            statistics.unknownAttributeRequests += 1
            return answerError(420, to: view, destination: socketAddress, local: local, authenticated: true,
                               extra: [.unknownAttributes(unknown)])
        }
        // RFC 8445 §7.1.1: PRIORITY is mandatory in checks.
        guard let priority = message.priority else {
            statistics.badRequests += 1
            return answerError(400, to: view, destination: socketAddress, local: local, authenticated: true)
        }
        // §7.3.1.1 role conflict (full agents; a lite agent is always controlled).
        if configuration.mode == .full {
            if role == .controlling, let theirs = message.iceControlling {
                statistics.roleConflicts += 1
                if tieBreaker >= theirs {
                    return answerError(487, to: view, destination: socketAddress, local: local, authenticated: true)
                }
                switchRole(to: .controlled)
            } else if role == .controlled, let theirs = message.iceControlled {
                statistics.roleConflicts += 1
                if tieBreaker >= theirs {
                    switchRole(to: .controlling)
                } else {
                    return answerError(487, to: view, destination: socketAddress, local: local, authenticated: true)
                }
            }
        }
        // §7.3.1.2: success response with XOR-MAPPED-ADDRESS = source.
        var attributes: [STUNAttribute] = [.xorMappedAddress(src)]
        if let software = configuration.software { attributes.append(.software(software)) }
        respond(STUNMessage(type: .bindingSuccess, transactionID: view.transactionID, attributes: attributes),
                authenticated: true, destination: socketAddress, local: local)
        statistics.successResponsesSent += 1
        if state == .new { startChecking(now: now) }

        let r = learnRemote(src, socketAddress: socketAddress, priority: priority)
        guard let r, let p = formPair(local: local, remote: r) else { return .handled }
        if configuration.mode == .lite {
            liteSelect(pair: p, useCandidate: message.useCandidate, now: now)
            return .handled
        }
        // §7.3.1.4 triggered check.
        switch pairs[p].state {
        case .succeeded:
            break
        case .inProgress:
            // The peer is evidently ready now; if our check went out a while ago (maybe dropped
            // because the peer did not have our credentials yet), check again at once.
            if let last = pairs[p].lastCheckSentAt, now - last < configuration.pacing { break }
            enqueueTriggered(p)
        case .waiting, .frozen, .failed:
            enqueueTriggered(p)
        }
        // §7.3.1.5 nomination by the controlling peer.
        if message.useCandidate && role == .controlled {
            if pairs[p].state == .succeeded {
                pairs[p].nominated = true
                updateSelection(now: now)
            } else {
                pairs[p].nominateOnSuccess = true
            }
        }
        runChecks(now: now)
        return .handled
    }

    /// Finds the remote candidate with this transport address, or learns it as peer-reflexive
    /// (§7.3.1.3: priority from the request's PRIORITY, a fresh foundation).
    mutating func learnRemote(_ address: TransportAddress, socketAddress: SocketAddress, priority: UInt32) -> Int? {
        if let r = remotes.firstIndex(where: { $0.address == address }) { return r }
        guard remotes.count < configuration.maximumRemoteCandidates else { return nil }
        prflxCounter += 1
        let candidate = ICECandidate(foundation: "prflx\(prflxCounter)", priority: priority, address: address, type: .prflx)
        remotes.append(RemoteEntry(candidate: candidate, address: address, socketAddress: socketAddress))
        statistics.peerReflexiveLearned += 1
        emit(.peerReflexiveCandidate(candidate))
        return remotes.count - 1
    }

    /// Lite agent (RFC 8445 §2.5, §8.2): the pair a check arrived on is valid; USE-CANDIDATE
    /// nominates it. Optionally the first valid pair is selected provisionally.
    mutating func liteSelect(pair p: Int, useCandidate: Bool, now: NIODeadline) {
        pairs[p].state = .succeeded
        if useCandidate {
            let wasNominated = pairs[p].nominated
            pairs[p].nominated = true
            if selected != p || !wasNominated {
                selectedProvisional = false
                select(p, now: now)
            }
        } else if selected == nil, configuration.liteProvisionalSelection {
            selectedProvisional = true
            select(p, now: now)
        }
        if selected == p { markConsent(now: now) }
    }

    @discardableResult
    mutating func answerError(_ code: Int, to view: STUNMessageView, destination: SocketAddress, local: Int,
                              authenticated: Bool, extra: [STUNAttribute] = []) -> ICEDatagramResult {
        let message = STUNMessage(type: .bindingError, transactionID: view.transactionID,
                                  attributes: [.errorCode(code: code, reason: STUNAttribute.reasonPhrase(for: code))] + extra)
        respond(message, authenticated: authenticated, destination: destination, local: local)
        statistics.errorResponsesSent += 1
        return .answeredWithError(code)
    }

    mutating func respond(_ message: STUNMessage, authenticated: Bool, destination: SocketAddress, local: Int) {
        guard let bytes = try? message.encode(password: authenticated ? localCredentials.password : nil) else { return }
        transmits.append(ICETransmit(bytes: bytes, destination: destination, localCandidate: locals[local].id))
    }
}
