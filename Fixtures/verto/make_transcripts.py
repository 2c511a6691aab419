#!/usr/bin/env python3
"""Writes the Verto transcript fixtures (*.jsonl) of this folder. See PROVENANCE.md.

Every flow is written by us from docs/verto-protocol.md §4 (and §1.3, §1.6, §2.3, §3); nothing is copied
from a capture. Run from anywhere: python3 Fixtures/verto/make_transcripts.py
"""
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
S = "3f1c6a0e-8d2b-4c57-9e1a-5b7d2c4e6f80"      # the client's sessid
X = "a1b2c3d4-0000-4000-8000-000000000001"      # a client-originated call
B = "a1b2c3d4-0000-4000-8000-000000000002"      # a second client-originated call (consult leg)
Y = "b5e6f7a8-0000-4000-8000-000000000003"      # a server-originated call
LOGIN = "1008@example.test"
PASS = "secret-1008"


class T:
    def __init__(self, name, roles=("client", "server"), **meta):
        self.name = name
        self.lines = [dict(dir="meta", roles=list(roles), sessid=S, login=LOGIN, passwd=PASS, **meta)]
        self.cid = 0   # client request ids (login is 1)
        self.sid = 0   # server request ids (shared counter)
        self.t = 0

    def at(self, t):
        self.t = t
        return self

    def add(self, d, **kw):
        line = dict(dir=d, t=self.t)
        line.update(kw)
        self.lines.append(line)

    def c2s(self, method, params, conn=None, only=None):
        self.cid += 1
        m = {"jsonrpc": "2.0", "id": self.cid, "method": method, "params": params}
        self.add("c2s", msg=m, **opt(conn, only))
        return self.cid

    def c2s_raw(self, msg, conn=None, only=None):
        self.add("c2s", msg=msg, **opt(conn, only))

    def s2c(self, method, params, conn=None, only=None):
        self.sid += 1
        self.add("s2c", msg={"jsonrpc": "2.0", "id": self.sid, "method": method, "params": params}, **opt(conn, only))
        return self.sid

    def s2c_result(self, id, result, conn=None, only=None):
        self.add("s2c", msg={"jsonrpc": "2.0", "id": id, "result": result}, **opt(conn, only))

    def s2c_error(self, id, error, conn=None, only=None):
        self.add("s2c", msg={"jsonrpc": "2.0", "id": id, "error": error}, **opt(conn, only))

    def ack(self, id, method, conn=None, only=None):
        """The client's reply to a server request, as verto.js sends it."""
        self.add("c2s", msg={"jsonrpc": "2.0", "id": id, "result": {"method": method}}, **opt(conn, only))

    def app(self, side, do=None, expect=None, **args):
        line = dict(side=side)
        if do:
            line["do"] = do
            line["args"] = args
        if expect:
            line["expect"] = expect
        self.add("app", **line)

    def net(self, do, by=None, conn=None):
        line = dict(do=do)
        if by:
            line["by"] = by
        self.add("net", **line, **opt(conn, None))

    def login(self, conn=None, reattached=(), reoffers=(), reset=True):
        self.net("open", conn=conn)
        if reset:
            self.cid = 0
        id = self.c2s("login", {"login": LOGIN, "passwd": PASS, "sessid": S}, conn=conn)
        self.app("server", "auth.accept", user="1008")
        self.s2c_result(id, {"message": "logged in", "sessid": S}, conn=conn)
        self.app("client", expect="loggedIn")
        for callID, sdp, offer in reoffers:
            self.app("server", expect="reattachNeeded")
            self.app("server", "reattach", callID=callID, sdp=sdp)
            rid = self.s2c("verto.attach", offer, conn=conn)
            self.ack(rid, "verto.attach", conn=conn)
            self.app("client", expect="reattachOffer")
        self.s2c("verto.clientReady", {"reattached_sessions": list(reattached)}, conn=conn)
        self.app("client", expect="ready")

    def outbound_call(self, callID=X, dest="9196", answer=True):
        dp = {"callID": callID, "destination_number": dest, "caller_id_name": "Alice", "caller_id_number": "1008"}
        self.app("client", "invite", sdp="v=0 offer-" + callID[-1], **dp)
        id = self.c2s("verto.invite", {"sdp": "v=0 offer-" + callID[-1], "dialogParams": dp, "sessid": S})
        self.s2c_result(id, {"message": "CALL CREATED", "callID": callID, "sessid": S})
        self.app("server", expect="incomingCall")
        self.app("client", expect="callCreated")
        if answer:
            self.app("server", "answer", callID=callID, sdp="v=0 answer-" + callID[-1])
            rid = self.s2c("verto.answer", {"callID": callID, "sdp": "v=0 answer-" + callID[-1]})
            self.ack(rid, "verto.answer")
            self.app("client", expect="answered")

    def client_bye(self, callID=X, cause="NORMAL_CLEARING", code=16):
        self.app("client", "hangup", callID=callID, cause=cause)
        id = self.c2s("verto.bye", {"dialogParams": {"callID": callID}, "cause": cause, "causeCode": code, "sessid": S})
        self.app("client", expect="callEnded")
        self.s2c_result(id, {"callID": callID, "message": "CALL ENDED", "causeCode": code, "cause": cause, "sessid": S})
        self.app("server", expect="callEnded")

    def server_bye(self, callID, cause="NORMAL_CLEARING", code=16):
        self.app("server", "hangup", callID=callID, cause=cause)
        rid = self.s2c("verto.bye", {"callID": callID, "cause": cause, "causeCode": code})
        self.ack(rid, "verto.bye")
        self.app("client", expect="callEnded")

    def write(self):
        with open(os.path.join(HERE, self.name + ".jsonl"), "w") as f:
            for line in self.lines:
                f.write(json.dumps(line, separators=(",", ":")) + "\n")


def opt(conn, only):
    d = {}
    if conn is not None:
        d["conn"] = conn
    if only is not None:
        d["only"] = only
    return d


def login_good():
    t = T("01-login-good")
    t.login()
    t.write()


def login_bad_password():
    t = T("02-login-bad-password")
    t.net("open")
    t.cid = 0
    id = t.c2s("login", {"login": LOGIN, "passwd": PASS, "sessid": S})
    t.app("server", "auth.reject", message="Authentication Failure")
    t.s2c_error(id, {"message": "Authentication Failure", "code": -32001})
    t.app("client", expect="loginFailed")
    t.net("close", by="client")
    t.app("server", expect="connectionClosed")
    t.write()


def login_before():
    """§2.3 -32000 before login, and verto.js' sessid-only first login (§1.6, docs/testing.md item 1)."""
    t = T("03-method-before-login", roles=("server",))
    t.net("open")
    id = t.c2s("verto.invite", {"sdp": "v=0 offer-1", "dialogParams": {"callID": X}, "sessid": S})
    t.s2c_error(id, {"message": "Authentication Required", "code": -32000})
    id = t.c2s("verto.ping", {"sessid": S})
    t.s2c_error(id, {"message": "Authentication Required", "code": -32000})
    id = t.c2s("login", {"sessid": S})
    t.s2c_error(id, {"message": "Authentication Required", "code": -32000})
    t.at(20)
    id = t.c2s("login", {"login": LOGIN, "passwd": PASS, "sessid": S})
    t.app("server", "auth.accept", user="1008")
    t.s2c_result(id, {"message": "logged in", "sessid": S})
    t.s2c("verto.clientReady", {"reattached_sessions": []})
    t.write()


def outbound_call():
    t = T("04-outbound-call")
    t.login()
    t.at(1000)
    t.outbound_call()
    t.at(1600)
    t.app("server", "display", callID=X, display_name="Echo", display_number="9196")
    rid = t.s2c("verto.display", {"callID": X, "display_name": "Echo", "display_number": "9196"})
    t.ack(rid, "verto.display")
    t.app("client", expect="display")
    t.at(5000)
    t.client_bye()
    t.write()


def inbound_call():
    t = T("05-inbound-call")
    t.login()
    t.at(2000)
    t.app("server", "originate", callID=Y, sdp="v=0 offer-3", caller_id_name="Bob", caller_id_number="1010")
    rid = t.s2c("verto.invite", {"callID": Y, "sdp": "v=0 offer-3", "caller_id_name": "Bob", "caller_id_number": "1010",
                                 "display_direction": "outbound"})
    t.ack(rid, "verto.invite")
    t.app("client", expect="incomingCall")
    t.at(3000)
    t.app("client", "answer", callID=Y, sdp="v=0 answer-3")
    id = t.c2s("verto.answer", {"sdp": "v=0 answer-3", "dialogParams": {"callID": Y}, "sessid": S})
    t.s2c_result(id, {"sessid": S})
    t.app("server", expect="callAnswered")
    t.app("client", expect="answered")
    t.at(6000)
    t.client_bye(Y)
    t.write()


def early_media():
    t = T("06-early-media")
    t.login()
    t.at(1000)
    t.outbound_call(dest="9198", answer=False)
    t.at(1200)
    t.app("server", "media", callID=X, sdp="v=0 answer-1")
    rid = t.s2c("verto.media", {"callID": X, "sdp": "v=0 answer-1"})
    t.ack(rid, "verto.media")
    t.app("client", expect="earlyMedia")
    t.at(3200)
    t.app("server", "answer", callID=X)
    rid = t.s2c("verto.answer", {"callID": X})
    t.ack(rid, "verto.answer")
    t.app("client", expect="answered")
    t.at(4000)
    t.client_bye()
    t.write()


def hold_unhold():
    t = T("07-hold-unhold")
    t.login()
    t.at(1000)
    t.outbound_call()
    t.at(2000)
    t.app("client", "hold", callID=X)
    id = t.c2s("verto.modify", {"action": "hold", "dialogParams": {"callID": X}, "sessid": S})
    t.at(2250)
    t.s2c_result(id, {"callID": X, "action": "hold", "holdState": "held", "sessid": S})
    t.app("server", expect="holdChanged")
    t.app("client", expect="holdStateChanged")
    t.at(4000)
    t.app("client", "unhold", callID=X)
    id = t.c2s("verto.modify", {"action": "unhold", "dialogParams": {"callID": X}, "sessid": S})
    t.at(4250)
    t.s2c_result(id, {"callID": X, "action": "unhold", "holdState": "active", "sessid": S})
    t.app("server", expect="holdChanged")
    t.app("client", expect="holdStateChanged")
    t.at(5000)
    t.client_bye()
    t.write()


def dtmf():
    t = T("08-dtmf")
    t.login()
    t.at(1000)
    t.outbound_call(dest="9197")
    for i, d in enumerate("1234#"):
        t.at(2000 + 300 * i)
        t.app("client", "dtmf", callID=X, digits=d)
        id = t.c2s("verto.info", {"dtmf": d, "dialogParams": {"callID": X}, "sessid": S})
        t.s2c_result(id, {"message": "SENT", "sessid": S})
        t.app("server", expect="dtmf")
    t.at(4000)
    t.client_bye()
    t.write()


def blind_transfer():
    t = T("09-blind-transfer")
    t.login()
    t.at(1000)
    t.outbound_call()
    t.at(3000)
    t.app("client", "transfer", callID=X, destination="1010")
    id = t.c2s("verto.modify", {"action": "transfer", "destination": "1010", "dialogParams": {"callID": X}, "sessid": S})
    t.app("server", expect="modifyRequested")
    t.app("server", "completeModify", callID=X, result={"message": "CALL TRANSFERRED"})
    t.s2c_result(id, {"callID": X, "action": "transfer", "message": "CALL TRANSFERRED", "holdState": "active", "sessid": S})
    t.app("client", expect="modifyResult")
    t.at(3100)
    t.server_bye(X)
    t.write()


def attended_transfer():
    t = T("10-attended-transfer")
    t.login()
    t.at(1000)
    t.outbound_call(X, dest="1010")
    t.at(2000)
    t.app("client", "hold", callID=X)
    id = t.c2s("verto.modify", {"action": "hold", "dialogParams": {"callID": X}, "sessid": S})
    t.s2c_result(id, {"callID": X, "action": "hold", "holdState": "held", "sessid": S})
    t.app("client", expect="holdStateChanged")
    t.at(3000)
    t.outbound_call(B, dest="1011")
    t.at(6000)
    t.app("client", "replace", callID=X, replaceCallID=B)
    id = t.c2s("verto.modify", {"action": "replace", "replaceCallID": B, "dialogParams": {"callID": X}, "sessid": S})
    t.app("server", expect="modifyRequested")
    # E7[B]: mod_verto has reported failure although the transfer happened; the byes are the truth.
    t.app("server", "completeModify", callID=X, error="transfer failed", code=-32002)
    t.s2c_error(id, {"callID": X, "action": "replace", "holdState": "held", "message": "transfer failed", "code": -32002})
    t.app("client", expect="requestFailed")
    t.at(6100)
    t.server_bye(B)
    t.server_bye(X)
    t.write()


def reconnect_attach():
    t = T("11-reconnect-attach", clientConns=[1, 2])
    t.login()
    t.at(1000)
    t.outbound_call()
    t.at(10000)
    t.net("close", by="network")
    t.app("server", expect="callDetached")
    t.app("client", expect="disconnected")
    t.at(11000)   # first reconnect after reconnectInitialDelay = 1 s (jitter 0 in replays)
    offer = {"callID": X, "sdp": "v=0 reoffer-1", "caller_id_name": "Alice", "caller_id_number": "1008",
             "callee_id_number": "9196", "display_direction": "inbound"}
    t.login(conn=2, reattached=[X], reoffers=[(X, "v=0 reoffer-1", offer)], reset=False)
    t.at(11500)
    t.app("client", "attach", callID=X, sdp="v=0 reanswer-1")
    id = t.c2s("verto.attach", {"sdp": "v=0 reanswer-1", "dialogParams": {"callID": X}, "sessid": S}, conn=2)
    t.s2c_result(id, {"sessid": S}, conn=2)
    t.app("server", expect="callReattached")
    t.app("client", expect="reattached")
    t.at(20000)
    t.client_bye_conn2()
    t.write()


def _client_bye_conn2(self):
    self.app("client", "hangup", callID=X, cause="NORMAL_CLEARING")
    id = self.c2s("verto.bye", {"dialogParams": {"callID": X}, "cause": "NORMAL_CLEARING", "causeCode": 16, "sessid": S}, conn=2)
    self.s2c_result(id, {"callID": X, "message": "CALL ENDED", "causeCode": 16, "cause": "NORMAL_CLEARING", "sessid": S}, conn=2)
    self.app("server", expect="callEnded")


T.client_bye_conn2 = _client_bye_conn2


def remote_hangup():
    t = T("12-remote-hangup")
    t.login()
    t.at(2000)
    t.app("server", "originate", callID=Y, sdp="v=0 offer-3", caller_id_name="Bob", caller_id_number="1010")
    rid = t.s2c("verto.invite", {"callID": Y, "sdp": "v=0 offer-3", "caller_id_name": "Bob", "caller_id_number": "1010",
                                 "display_direction": "outbound"})
    t.ack(rid, "verto.invite")
    t.at(3000)
    t.app("client", "answer", callID=Y, sdp="v=0 answer-3")
    id = t.c2s("verto.answer", {"sdp": "v=0 answer-3", "dialogParams": {"callID": Y}, "sessid": S})
    t.s2c_result(id, {"sessid": S})
    t.at(8000)
    t.server_bye(Y, "NORMAL_CLEARING", 16)
    t.app("server", expect="callEnded")
    # verto.js then sends its own verto.bye for the dead call (docs/testing.md browser item 6); ours does not.
    t.at(8050)
    t.cid += 1
    t.c2s_raw({"jsonrpc": "2.0", "id": t.cid, "method": "verto.bye",
               "params": {"dialogParams": {"callID": Y}, "cause": "NORMAL_CLEARING", "causeCode": 16, "sessid": S}}, only="server")
    t.s2c_error(t.cid, {"callID": Y, "message": "CALL DOES NOT EXIST", "code": -32002}, only="server")
    t.write()


def punt():
    t = T("13-punt")
    t.login()
    t.at(1000)
    t.outbound_call()
    t.at(5000)
    # A second connection (another tab sharing the sessid) logs in: the old one is punted (§1.6, §4.10).
    t.net("open", conn=2)
    t.add("c2s", msg={"jsonrpc": "2.0", "id": 1, "method": "login",
                      "params": {"login": LOGIN, "passwd": PASS, "sessid": S}}, conn=2)
    t.app("server", "auth.accept", user="1008")
    t.s2c("verto.punt", {})
    t.net("close", by="both")
    t.app("client", expect="punted")
    t.app("server", expect="callDetached")
    t.s2c_result(1, {"message": "logged in", "sessid": S}, conn=2)
    t.app("server", expect="reattachNeeded")
    t.app("server", "reattach", callID=X, sdp="v=0 reoffer-1")
    t.s2c("verto.attach", {"callID": X, "sdp": "v=0 reoffer-1", "caller_id_name": "Alice", "caller_id_number": "1008",
                           "callee_id_number": "9196", "display_direction": "inbound"}, conn=2)
    t.s2c("verto.clientReady", {"reattached_sessions": [X]}, conn=2)
    t.write()


def server_ping():
    t = T("14-server-ping", clientKeepaliveMs=60000, sernoEpochOffset=1700000000)
    t.login()
    t.at(30000)   # 30 s of client silence since the login at t=0 (§1.3)
    rid = t.s2c("verto.ping", {"serno": 1700000030})
    t.ack(rid, "verto.ping")
    t.at(60000)   # the ack was inbound traffic: the next ping comes 30 s after it
    rid = t.s2c("verto.ping", {"serno": 1700000060})
    t.ack(rid, "verto.ping")
    t.write()


for f in (login_good, login_bad_password, login_before, outbound_call, inbound_call, early_media, hold_unhold, dtmf,
          blind_transfer, attended_transfer, reconnect_attach, remote_hangup, punt, server_ping):
    f()
