import NIOCore

/// Outgoing connectivity checks (RFC 8445 §6.1.4, §7.2): scheduling, retransmission, response
/// processing and nomination.
extension ICEAgent {
    /// Sends what is due now: queued triggered checks first (immediately), then at most one
    /// ordinary check per Ta (§6.1.4.2). The very first ordinary check leaves at once.
    mutating func runChecks(now: NIODeadline) {
        guard configuration.mode == .full, state == .checking || state == .connected || state == .failed,
              remoteCredentials != nil else { return }
        // Triggered checks (§7.3.1.4), in FIFO order.
        while !triggeredQueue.isEmpty {
            let p = triggeredQueue.removeFirst()
            guard pairs.indices.contains(p), pairs[p].triggeredPending else { continue }
            pairs[p].triggeredPending = false
            sendCheck(pair: p, now: now)
        }
        // Ordinary checks stop once a pair is selected.
        guard selected == nil, state == .checking, now >= nextOrdinaryCheck else { checkExhausted(); return }
        if let p = nextOrdinaryPair() {
            sendCheck(pair: p, now: now)
            nextOrdinaryCheck = now + configuration.pacing
        }
        checkExhausted()
    }

    /// Highest-priority Waiting pair; if none, unfreeze the best Frozen pair whose foundation has
    /// nothing Waiting or In-Progress (§6.1.4.2).
    func nextOrdinaryPair() -> Int? {
        var best: Int? = nil
        for i in pairs.indices where pairs[i].state == .waiting {
            if best == nil || pairs[i].priority > pairs[best!].priority { best = i }
        }
        if best != nil { return best }
        for i in pairs.indices where pairs[i].state == .frozen {
            let busy = pairs.contains { $0.foundation == pairs[i].foundation && ($0.state == .waiting || $0.state == .inProgress) }
            if !busy, best == nil || pairs[i].priority > pairs[best!].priority { best = i }
        }
        return best
    }

    /// The PRIORITY attribute value: the local candidate's priority recomputed with the
    /// peer-reflexive type preference (§7.1.1).
    func checkPriority(local: Int) -> UInt32 {
        let c = locals[local].candidate
        let localPreference = UInt16(truncatingIfNeeded: c.priority >> 8)
        return ICECandidate.priority(type: .prflx, localPreference: localPreference, component: c.component)
    }

    /// Builds and queues a Binding request on `pair` (§7.2.2). Controlling agents use aggressive
    /// nomination: USE-CANDIDATE on every check (as FreeSWITCH does; RFC 5245 §8.1.1.2).
    mutating func sendCheck(pair p: Int, now: NIODeadline, purpose: TransactionPurpose = .check) {
        guard let remote = remoteCredentials else { return }
        let controlling = role == .controlling
        let priority = checkPriority(local: pairs[p].local)
        var attributes: [STUNAttribute] = [.username(remote.ufrag + ":" + localCredentials.ufrag), .priority(priority)]
        attributes.append(controlling ? .iceControlling(tieBreaker) : .iceControlled(tieBreaker))
        if controlling { attributes.append(.useCandidate) }
        if let software = configuration.software { attributes.append(.software(software)) }
        let id = STUNTransactionID.random(using: &random)
        let message = STUNMessage(type: .bindingRequest, transactionID: id, attributes: attributes)
        guard let bytes = try? message.encode(password: remote.password) else { return }
        // Supersede an earlier transaction on the pair: it stops retransmitting, but a late
        // response to it is still accepted until it expires.
        if purpose == .check, let old = pairs[p].currentTransaction, var t = transactions[old], t.nextRetransmit != nil {
            t.nextRetransmit = nil
            t.expiresAt = now + configuration.maximumRTO
            transactions[old] = t
        }
        let retransmits = purpose == .check
        transactions[id] = Transaction(pair: p, bytes: bytes, sentAsControlling: controlling, useCandidate: controlling,
                                       priority: priority, purpose: purpose, transmissions: 1, rto: configuration.initialRTO,
                                       nextRetransmit: retransmits ? now + configuration.initialRTO : nil,
                                       expiresAt: now + (retransmits ? configuration.initialRTO : configuration.consentTimeout))
        if purpose == .check {
            pairs[p].currentTransaction = id
            if pairs[p].state != .succeeded { pairs[p].state = .inProgress }
            statistics.checksSent += 1
        } else {
            statistics.consentChecksSent += 1
        }
        pairs[p].lastCheckSentAt = now
        if statistics.firstCheckSentAt == nil { statistics.firstCheckSentAt = now }
        let local = locals[pairs[p].local]
        transmits.append(ICETransmit(bytes: bytes, destination: remotes[pairs[p].remote].socketAddress, localCandidate: local.id))
    }

    /// RFC 8489 §6.2.1 retransmissions with a doubling RTO capped at `maximumRTO`; after
    /// `maximumTransmissions` and one more RTO the check fails (§7.2.5.2.4 analogue).
    mutating func retransmit(now: NIODeadline) {
        var expired: [STUNTransactionID] = []
        // Deterministic order (Dictionary order is per-process random): by due time, then pair.
        let due = transactions.filter { (_, t) in (t.nextRetransmit ?? t.expiresAt) <= now }
            .sorted { ($0.value.nextRetransmit ?? $0.value.expiresAt, $0.value.pair) < ($1.value.nextRetransmit ?? $1.value.expiresAt, $1.value.pair) }
        for (id, t) in due {
            if let due = t.nextRetransmit {
                guard now >= due else { continue }
                if t.transmissions >= configuration.maximumTransmissions {
                    expired.append(id)
                    if pairs.indices.contains(t.pair), pairs[t.pair].currentTransaction == id, pairs[t.pair].state == .inProgress {
                        pairs[t.pair].state = .failed
                    }
                    continue
                }
                var u = t
                u.transmissions += 1
                u.rto = min(u.rto * 2, configuration.maximumRTO)
                u.nextRetransmit = now + u.rto
                u.expiresAt = now + u.rto
                transactions[id] = u
                statistics.retransmissions += 1
                let p = pairs[t.pair]
                transmits.append(ICETransmit(bytes: t.bytes, destination: remotes[p.remote].socketAddress, localCandidate: locals[p.local].id))
            } else if now >= t.expiresAt {
                expired.append(id)
            }
        }
        for id in expired { transactions[id] = nil }
    }

    /// Fails ICE when every pair failed and nothing is pending (the checklist is Failed, §6.1.2.1).
    mutating func checkExhausted() {
        guard selected == nil, state == .checking, !pairs.isEmpty else { return }
        let alive = pairs.contains { $0.state != .failed || $0.triggeredPending }
        if !alive && transactions.values.allSatisfy({ $0.nextRetransmit == nil }) { fail(.allPairsFailed) }
    }

    /// Processes a success or error response (§7.2.5). The view is already framed and its
    /// FINGERPRINT checked.
    mutating func handleResponse(_ view: STUNMessageView, from source: TransportAddress, local: Int,
                                 now: NIODeadline) -> ICEDatagramResult {
        guard let t = transactions[view.transactionID] else {
            statistics.unmatchedResponses += 1
            return .dropped(.unmatchedResponse)
        }
        // §7.2.5.1 via RFC 8489 §9.1.4: responses are authenticated with the password the request used.
        guard let remote = remoteCredentials, view.verifyIntegrity(password: remote.password) else {
            statistics.badIntegrity += 1
            return .dropped(.badIntegrity)
        }
        guard let message = try? view.decode() else {
            statistics.malformed += 1
            return .dropped(.malformed)
        }
        transactions[view.transactionID] = nil
        let p = t.pair
        guard pairs.indices.contains(p) else { return .handled }

        if view.type.messageClass == .errorResponse {
            statistics.errorResponsesReceived += 1
            if message.errorCode?.code == 487 {
                // §7.2.5.1: switch role if we still hold the role the request was sent with,
                // then retry the pair as a triggered check.
                statistics.roleConflicts += 1
                if t.sentAsControlling == (role == .controlling) {
                    switchRole(to: t.sentAsControlling ? .controlled : .controlling)
                }
                if t.purpose == .check { enqueueTriggered(p) }
                runChecks(now: now)
            } else if t.purpose == .check && pairs[p].state != .succeeded {
                pairs[p].state = .failed
                checkExhausted()
            }
            return .handled
        }

        statistics.successResponsesReceived += 1
        // §7.2.5.2.1: the response must come from where the request went, to the same socket.
        let pair = pairs[p]
        guard source == remotes[pair.remote].address, locals[local].base == pair.local else {
            statistics.unexpectedSource += 1
            if t.purpose == .check && pair.state != .succeeded { pairs[p].state = .failed }
            checkExhausted()
            return .dropped(.unexpectedSource)
        }
        if let mapped = message.xorMappedAddress ?? message.mappedAddress { learnLocalPeerReflexive(mapped, base: pair.local, priority: t.priority) }
        if selected == p { markConsent(now: now) }
        if pairs[p].state != .succeeded {
            pairs[p].state = .succeeded
            // §7.2.5.3.3: unfreeze pairs with the same foundation.
            for i in pairs.indices where pairs[i].state == .frozen && pairs[i].foundation == pair.foundation {
                pairs[i].state = .waiting
            }
        }
        if (t.useCandidate && t.sentAsControlling && role == .controlling) || pairs[p].nominateOnSuccess {
            pairs[p].nominated = true
        } else if role == .controlling, selected == nil {
            // The check went out while we were controlled (our role changed since): check again,
            // now with USE-CANDIDATE, to nominate the pair.
            enqueueTriggered(p)
        }
        updateSelection(now: now)
        runChecks(now: now)
        return .handled
    }

    /// §7.2.5.3.1: an XOR-MAPPED-ADDRESS matching no local candidate is a local peer-reflexive
    /// candidate. It is recorded and reported; checks keep leaving from its base (the same socket),
    /// so the valid pair is tracked on the base pair.
    mutating func learnLocalPeerReflexive(_ mapped: TransportAddress, base: Int, priority: UInt32) {
        guard !locals.contains(where: { $0.address == mapped }) else { return }
        let candidate = ICECandidate(foundation: foundation(type: .prflx, base: locals[base].address), priority: priority,
                                     address: mapped, type: .prflx, relatedAddress: locals[base].address)
        locals.append(LocalEntry(id: ICELocalCandidateID(locals.count), candidate: candidate, address: mapped, base: base))
        emit(.localPeerReflexiveCandidate(candidate))
    }

    mutating func enqueueTriggered(_ p: Int) {
        if pairs[p].state == .failed || pairs[p].state == .frozen { pairs[p].state = .waiting }
        guard !pairs[p].triggeredPending else { return }
        pairs[p].triggeredPending = true
        triggeredQueue.append(p)
    }

    mutating func switchRole(to newRole: ICERole) {
        guard role != newRole, configuration.mode == .full else { return }
        role = newRole
        for i in pairs.indices { pairs[i].priority = pairPriority(local: pairs[i].local, remote: pairs[i].remote) }
        emit(.roleChanged(newRole))
        // Newly controlling with a pair that already works: nominate it right away.
        if newRole == .controlling, selected == nil {
            var best: Int? = nil
            for i in pairs.indices where pairs[i].state == .succeeded && !pairs[i].nominated {
                if best == nil || pairs[i].priority > pairs[best!].priority { best = i }
            }
            if let best { enqueueTriggered(best) }
        }
    }

    /// Selects the highest-priority nominated, succeeded pair (§8.1.1); reports changes.
    mutating func updateSelection(now: NIODeadline) {
        var best: Int? = nil
        for i in pairs.indices where pairs[i].nominated && pairs[i].state == .succeeded {
            if best == nil || pairs[i].priority > pairs[best!].priority { best = i }
        }
        guard let best, best != selected else { return }
        select(best, now: now)
    }

    mutating func select(_ p: Int, now: NIODeadline) {
        let first = selected == nil
        selected = p
        emit(.selectedPair(selectedPairValue(p)))
        if first {
            statistics.selectedAt = now
            consent.start(now: now, configuration: configuration, random: &random, sendsChecks: configuration.mode == .full)
            statistics.lastConsentAt = now
            if state != .connected && state != .closed {
                state = .connected
                failedReported = false
                emit(.connected)
            }
        }
    }
}
