import CoreSupport
import NIOCore

/// Inbound frames on the server role (docs/verto-protocol.md §2.1 `process_input` / `process_jrpc`, §3.2).
extension VertoServerCore {
    /// One inbound text frame on `connection`.
    public mutating func receive(_ connection: VertoConnectionID, _ text: String, now: NIODeadline) {
        guard var c = connectionState(connection) else {
            noteBadInput(connection, .unknownConnection(connection.rawValue))
            return
        }
        // Any inbound frame resets the silence timer (§1.3).
        c.lastInbound = now
        c.nextPing = now + configuration.idlePingInterval
        setConnection(c)
        if !isAuthenticated(connection), text.utf8.count > configuration.maxMessageBytesBeforeLogin {
            // Checked before parsing: nothing large is parsed for a peer that has not logged in.
            let error = VertoError.payloadTooLarge(size: text.utf8.count, limit: configuration.maxMessageBytesBeforeLogin)
            noteBadInput(connection, error)
            send(connection, .error(id: .null, error: JSONRPCErrorObject(error)))
            disconnect(connection, now: now)
            return
        }
        if case .authenticating = c.auth {
            guard c.held.count < 16 else {
                noteBadInput(connection, .invalidMessage("more than 16 frames while the login is decided"))
                disconnect(connection, now: now)
                return
            }
            c.held.append(text)
            setConnection(c)
            return
        }
        switch JSONRPC.decode(text, maxBytes: configuration.maxMessageBytes) {
        case .failure(let f):
            noteBadInput(connection, f.error)
            send(connection, f.reply)
        case .success(.single(let m)):
            if let reply = handle(connection, m, now: now) { send(connection, reply) }
        case .success(.batch(let items)) where items.count > configuration.maxBatchRequests:
            let error = VertoError.invalidMessage("batch of \(items.count) requests (at most \(configuration.maxBatchRequests))")
            noteBadInput(connection, error)
            send(connection, .error(id: .null, error: JSONRPCErrorObject(error)))
        case .success(.batch(let items)):
            // §2.1: a batch gets an array of replies.
            var replies: [JSONValue] = []
            for item in items {
                switch item {
                case .success(let m):
                    if let r = handle(connection, m, now: now) { replies.append(r.json) }
                case .failure(let f):
                    noteBadInput(connection, f.error)
                    replies.append(f.reply.json)
                }
            }
            if !replies.isEmpty, connectionState(connection) != nil {
                sendRaw(connection, JSONCodec.serialize(.array(replies)))
            }
        }
    }

    /// Returns the immediate reply, or nil: responses from the client, deferred replies (login,
    /// transfer/replace/updateMedia), and the replies to `verto.invite` / `verto.attach`, which the
    /// handler queues itself so they precede the events and messages they cause (inside a batch
    /// those two replies therefore travel as single messages).
    private mutating func handle(_ connection: VertoConnectionID, _ message: JSONRPCMessage, now: NIODeadline) -> JSONRPCMessage? {
        switch message {
        case .result:
            return nil  // mod_verto ignores client replies (`process_jrpc_response` is empty, §1.3)
        case .error(let id, _):
            // A client "answering" with an error is a request without a method to mod_verto (§2.1).
            noteBadInput(connection, .unknownMethod(""))
            return .error(id: id, error: JSONRPCErrorObject(.unknownMethod("")))
        case .request(let r):
            do {
                let reply = try handleRequest(connection, r, now: now)
                // §2.1 echoParams: true(-ish) → requestParams = all params; any other value → that value.
                if let echo = r.params?["echoParams"], case .result(let id, .object(var o))? = reply {
                    let truthy = echo == .bool(true) || echo.scalarString?.lowercased() == "true"
                    o["requestParams"] = truthy ? .object(r.params ?? [:]) : echo
                    return .result(id: id, result: .object(o))
                }
                return reply
            } catch {
                noteBadInput(connection, error)
                return errorReply(connection, id: r.id ?? .null, error, callID: callIDHint(r.params))
            }
        }
    }

    private func callIDHint(_ params: JSONObject?) -> String? {
        params?.object("dialogParams")?.string("callID") ?? params?.string("callID")
    }

    func errorReply(_ connection: VertoConnectionID, id: JSONRPCID, _ error: VertoError, callID: String?) -> JSONRPCMessage {
        var data = JSONObject()
        switch error {
        case .unknownCall, .invalidTransition, .missingField, .wrongType, .duplicateCall:
            if let callID { data["callID"] = .string(callID) }
        default: break
        }
        return .error(id: id, error: JSONRPCErrorObject(error, context: data))
    }

    private mutating func handleRequest(_ connection: VertoConnectionID, _ r: JSONRPCRequest, now: NIODeadline) throws(VertoError) -> JSONRPCMessage? {
        let id = r.id ?? .null
        guard let conn = connectionState(connection) else { return nil }
        let user: VertoUser?
        if case .authenticated(let u) = conn.auth { user = u } else { user = nil }

        // §2.3: any method before a successful login → -32000; `login` without `login` → -32000
        // (verto.js's sessid-only first login, docs/testing.md item 1).
        if r.method == VertoMethod.login.rawValue {
            let req: VertoClientRequest
            do {
                req = try VertoClientRequest.decode(method: r.method, params: r.params)
            } catch {
                // Wrong-typed credentials are an authentication failure (§2.3 -32001), not a call error.
                noteBadInput(connection, error)
                return .error(id: id, error: JSONRPCErrorObject(code: VertoErrorCode.authFailed, message: "Missing or improper credentials"))
            }
            guard case .login(let params) = req else { return nil }
            guard params.hasCredentials else {
                return .error(id: id, error: JSONRPCErrorObject(.notLoggedIn(operation: "login")))
            }
            if case .authenticating = conn.auth {
                return .error(id: id, error: JSONRPCErrorObject(code: VertoErrorCode.authFailed, message: "Login in progress"))
            }
            var c = conn
            c.auth = .authenticating(id)
            setConnection(c)
            log.info("login", metadata: ["connection": "\(connection)", "login": "\(params)"])
            emit(.authenticate(LoginRequest(connection: connection, requestID: id, params: params)))
            return nil
        }
        guard let user, let sessid = conn.sessid else {
            return .error(id: id, error: JSONRPCErrorObject(.notLoggedIn(operation: r.method)))
        }
        guard let method = VertoMethod(name: r.method), method.isClientToServer else {
            throw .unknownMethod(r.method)
        }
        guard user.permits(method: r.method) else { throw .permissionDenied(method: r.method) }

        let request = try VertoClientRequest.decode(method: r.method, params: r.params)
        switch request {
        case .login:
            return nil  // handled above
        case .invite(let p): return try invite(connection, id: id, sessid: sessid, p)
        case .answer(let p): return try clientAnswer(connection, id: id, p)
        case .attach(let p): return try clientAttach(connection, id: id, p, now: now)
        case .bye(let p): return try clientBye(connection, id: id, p)
        case .modify(let p): return try clientModify(connection, id: id, p)
        case .info(let p):
            // Digits reach only a call of this connection's session: another session's call is
            // treated as unknown (no error, §3.2.6, and nothing is delivered).
            if let callID = p.dialogParams?.callID, let dtmf = p.dtmf, (try? ownedCall(connection, callID)) != nil {
                emit(.dtmf(callID: callID, digits: dtmf))
                return resultMessage(connection, id: id, ["message": "SENT"])
            }
            if let msg = p.msg {
                guard msg["to"]?.stringValue != nil, msg["body"]?.stringValue != nil else {
                    // §2.2: chat without to/body is an error without code.
                    return .error(id: id, error: JSONRPCErrorObject(code: nil, message: "Invalid params"))
                }
                emit(.info(connection: connection, params: p))
                return resultMessage(connection, id: id, ["message": "SENT"])
            }
            if p.dtmf == nil { emit(.info(connection: connection, params: p)) }
            // An unknown callID is not an error (§3.2.6).
            return resultMessage(connection, id: id, [:])
        case .subscribe(let p): return subscribe(connection, id: id, user: user, sessid: sessid, p)
        case .unsubscribe(let p): return unsubscribe(connection, id: id, p)
        case .broadcast(let p):
            emit(.broadcast(connection: connection, params: p))
            return resultMessage(connection, id: id, [:])
        case .ping:
            return resultMessage(connection, id: id, ["message": "PONG"])
        case .echo(let p):
            return resultMessage(connection, id: id, p)
        case .jsapi, .fsapi:
            // No FreeSWITCH API behind this server: refused even when granted (§2.3 -32602).
            return .error(id: id, error: JSONRPCErrorObject(code: VertoErrorCode.permissionDenied, message: "Permission Denied"))
        }
    }

    // MARK: - Call methods

    private mutating func invite(_ connection: VertoConnectionID, id: JSONRPCID, sessid: String, _ p: CallSDPParams) throws(VertoError) -> JSONRPCMessage? {
        let callID = p.dialogParams.callID
        guard callRecord(callID) == nil else {
            // §3.2.2: duplicate UUID → channel creation fails → -32002 CALL ERROR with cause.
            let cause = HangupCause.incompatibleDestination
            return .error(id: id, error: JSONRPCErrorObject(code: VertoErrorCode.sessionError, message: "Cannot create channel",
                                                            data: ["callID": .string(callID), "cause": .string(cause.name), "causeCode": .int(cause.code)]))
        }
        guard admitsCall(for: sessid) else {
            let cause = HangupCause.callRejected
            return .error(id: id, error: JSONRPCErrorObject(code: VertoErrorCode.sessionError, message: "Too many calls",
                                                            data: ["callID": .string(callID), "cause": .string(cause.name), "causeCode": .int(cause.code)]))
        }
        var d = VertoDialog(callID: callID, direction: .clientOriginated)
        d.dialogParams = p.dialogParams
        d.recoverCall = p.dialogParams.recoverCall ?? true
        try d.apply(.invite)
        setCall(callID, Call(dialog: d, sessid: sessid))
        // The reply is queued before the event, so CALL CREATED precedes any answer/media the
        // application sends in response (docs/testing.md browser item 4).
        let reply = resultMessage(connection, id: id, ["message": "CALL CREATED", "callID": .string(callID)])
        send(connection, reply)
        emit(.incomingCall(connection: connection, sessid: sessid, params: p))
        return nil
    }

    private mutating func ownedCall(_ connection: VertoConnectionID, _ callID: String) throws(VertoError) -> Call {
        guard let call = callRecord(callID), boundConnection(call.sessid) == connection else {
            throw .unknownCall(callID: callID)
        }
        return call
    }

    private mutating func clientAnswer(_ connection: VertoConnectionID, id: JSONRPCID, _ p: CallSDPParams) throws(VertoError) -> JSONRPCMessage {
        let callID = p.dialogParams.callID
        var call = try ownedCall(connection, callID)
        guard call.dialog.direction == .serverOriginated else {
            throw .invalidTransition(callID: callID, from: call.dialog.state, event: "answer")
        }
        guard let sdp = p.sdp, !sdp.isEmpty else { throw .missingField(method: VertoMethod.answer.rawValue, field: "sdp") }
        try call.dialog.apply(.answer)
        setCall(callID, call)
        emit(.callAnswered(callID: callID, sdp: sdp, dialogParams: p.dialogParams))
        return resultMessage(connection, id: id, [:])
    }

    private mutating func clientAttach(_ connection: VertoConnectionID, id: JSONRPCID, _ p: CallSDPParams, now: NIODeadline) throws(VertoError) -> JSONRPCMessage? {
        let callID = p.dialogParams.callID
        var call = try ownedCall(connection, callID)
        guard call.dialog.state == .recovering, call.reoffered else {
            if !call.dialog.state.isAnswered {
                // §2.3 side effect: attach on an unanswered call hangs it up (27).
                let err = VertoError.invalidTransition(callID: callID, from: call.dialog.state, event: "attach")
                endCall(callID, cause: .destinationOutOfOrder, reason: .failed(err), notify: false)
                throw err
            }
            throw .invalidTransition(callID: callID, from: call.dialog.state, event: "attach")
        }
        try call.dialog.apply(.reattach)
        call.detachDeadline = nil
        setCall(callID, call)
        emit(.callReattached(callID: callID, sdp: p.sdp ?? ""))
        let reply = resultMessage(connection, id: id, [:])
        send(connection, reply)
        // §1.6: after a successful attach the server re-sends the last display.
        if let display = call.dialog.lastDisplay { sendRequest(connection, .display(display)) }
        return nil
    }

    private mutating func clientBye(_ connection: VertoConnectionID, id: JSONRPCID, _ p: ByeParams) throws(VertoError) -> JSONRPCMessage {
        let callID = p.dialogParams.callID
        // After our verto.bye the browser sends its own: -32002 CALL DOES NOT EXIST (§4.9).
        _ = try ownedCall(connection, callID)
        let cause = p.hangupCause
        endCall(callID, cause: cause, reason: .clientHangup, notify: false)
        return resultMessage(connection, id: id, ["callID": .string(callID), "message": "CALL ENDED",
                                                  "causeCode": .int(cause.code), "cause": .string(cause.name)])
    }

    private mutating func clientModify(_ connection: VertoConnectionID, id: JSONRPCID, _ p: ModifyParams) throws(VertoError) -> JSONRPCMessage? {
        let callID = p.dialogParams.callID
        var call = try ownedCall(connection, callID)
        let event: DialogEvent
        switch p.action {
        case .hold: event = .hold
        case .unhold: event = .unhold
        case .toggleHold: event = .toggleHold
        default: event = .modify(p.action.rawValue)
        }
        do {
            try call.dialog.apply(event)
        } catch {
            if p.action == .updateMedia, !call.dialog.state.isAnswered {
                // §3.2.5: updateMedia on an unanswered call hangs it up.
                endCall(callID, cause: .destinationOutOfOrder, reason: .failed(error), notify: false)
            }
            return .error(id: id, error: JSONRPCErrorObject(error, context: ["callID": .string(callID), "action": .string(p.action.rawValue)]))
        }
        setCall(callID, call)
        let hold: HoldState = call.dialog.state == .held ? .held : .active
        switch p.action {
        case .hold, .unhold, .toggleHold:
            emit(.holdChanged(callID: callID, state: hold))
        case .videoRefresh:
            emit(.videoRefresh(callID: callID))
        case .transfer, .replace, .updateMedia:
            emit(.modifyRequested(ModifyRequest(connection: connection, requestID: id, params: p)))
            return nil
        }
        return resultMessage(connection, id: id, ["callID": .string(callID), "action": .string(p.action.rawValue),
                                                  "holdState": .string(hold.rawValue)])
    }

    // MARK: - Event channels (§3.2.8)

    private mutating func subscribe(_ connection: VertoConnectionID, id: JSONRPCID, user: VertoUser, sessid: String, _ p: SubscribeParams) -> JSONRPCMessage {
        guard var c = connectionState(connection) else { return .result(id: id, result: .object([:])) }
        var subscribed: [JSONValue] = [], unauthorized: [JSONValue] = [], already: [JSONValue] = []
        for ch in p.eventChannels {
            let ownsCall = callRecord(ch)?.sessid == sessid
            if !(user.permits(eventChannel: ch) || ownsCall) {
                unauthorized.append(.string(ch))
            } else if c.subscriptions.contains(ch) {
                already.append(.string(ch))
            } else {
                c.subscriptions.insert(ch)
                subscribed.append(.string(ch))
            }
        }
        setConnection(c)
        var o: JSONObject = [:]
        if !subscribed.isEmpty { o["subscribedChannels"] = .array(subscribed) }
        if !unauthorized.isEmpty { o["unauthorizedChannels"] = .array(unauthorized) }
        if !already.isEmpty { o["alreadySubscribedChannels"] = .array(already) }
        if subscribed.isEmpty {
            // §2.2: nothing new subscribed → the same object as an error without code.
            return .error(id: id, error: JSONRPCErrorObject(code: nil, message: "Subscription failed", data: o))
        }
        return resultMessage(connection, id: id, o)
    }

    private mutating func unsubscribe(_ connection: VertoConnectionID, id: JSONRPCID, _ p: SubscribeParams) -> JSONRPCMessage {
        guard var c = connectionState(connection) else { return .result(id: id, result: .object([:])) }
        var done: [JSONValue] = [], not: [JSONValue] = []
        for ch in p.eventChannels {
            if c.subscriptions.remove(ch) != nil { done.append(.string(ch)) } else { not.append(.string(ch)) }
        }
        setConnection(c)
        return resultMessage(connection, id: id, ["unsubscribedChannels": .array(done), "notSubscribedChannels": .array(not)])
    }
}
