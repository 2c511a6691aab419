"""aiortc_verto_server.py - a minimal Verto *server* backed by aiortc, for testing our Swift client role.

Speaks Verto (JSON-RPC 2.0 over WebSocket) the way FreeSWITCH mod_verto does (docs/verto-protocol.md §2-4)
on 127.0.0.1, and terminates media with aiortc (loopback host candidate only, no ICE servers).

Usage:
  python aiortc_verto_server.py --port 0 --tone 660 --users 1000:pw,1001:pw [--max-seconds 60]
On start it prints {"listening": PORT} on stdout, then serves JSON-line commands on stdin.

Verto behaviour:
  * sessid: bound from params.sessid of the first message on the socket (else generated); "sessid" is
    added to every result object.
  * login: no/empty `login` -> -32000 Authentication Required; unknown user -> -32001 Login Incorrect;
    missing/wrong passwd -> -32001 Authentication Failure; success -> {"message":"logged in"} followed
    by a verto.clientReady request {"reattached_sessions":[]}. Any other method before login -> -32000.
  * verto.invite -> immediate {"message":"CALL CREATED","callID"}, then aiortc answers by destination:
      9196 echo (received audio is sent back), 9664 1000 Hz tone, 9198 early media (verto.media with SDP,
      1 s later verto.answer without SDP, echo), 9199 answer with tone then verto.bye after 3 s,
      9190 (negative test) sends verto.answer *before* the invite reply, anything else the --tone tone. verto.answer {callID, sdp} is a server request (integer id).
  * verto.answer (client answering a server invite) -> {} ; verto.info dtmf -> {"message":"SENT"};
    verto.modify hold|unhold|toggleHold -> {callID, action, holdState} (held = the server sends silence);
    verto.bye -> {callID, message:"CALL ENDED", cause, causeCode}; unknown callID -> -32002 CALL DOES NOT
    EXIST; verto.ping -> {"message":"PONG"}; unparseable JSON -> -32600 Invalid Request (id null);
    not a JSON-RPC 2.0 object -> -32600 Invalid message; unknown method -> -32601. Batches are answered
    with an array. Client responses (messages with result/error) are recorded, never answered.
  * Socket closed: its calls are closed (state "ended", cause DESTINATION_OUT_OF_ORDER).

Commands -> replies:
  {"op":"calls"} -> {"calls":[{"callID","destination","direction","state","digits","held","login",
                                "early_media","answered","ice","dtls","cause"}]}
  {"op":"stats","callID":X,"seconds":1[,"fresh":false,"timeout":s,"expect_hz":f]}
      -> {"dominant_hz","frames","power":{"440","660","1000"},"rms","seconds"}  (what the server receives)
  {"op":"wait_connected","callID":X,"timeout":10} -> {"connected","ice","dtls","waited"}
  {"op":"wait_answered","callID":X,"timeout":10}  -> {"answered":bool,"state":..}
  {"op":"wait_state","callID":X,"state":"ended","timeout":10} -> {"state":..,"ok":bool}
  {"op":"hangup","callID":X[,"cause":"NORMAL_CLEARING"]} -> {"ok":true} (server sends verto.bye)
  {"op":"invite","login":"1000","caller_id_number":"9000"[,"caller_id_name":..,"tone":hz,"echo":false,
         "fs_style":false]}
      -> {"callID":Y}    (server sends verto.invite with an aiortc offer to that logged-in user;
                          fs_style=true strips a=mid/BUNDLE/extmap and says RTP/SAVPF like FreeSWITCH,
                          and an answer without a=mid is then accepted)
  {"op":"logins"} -> {"logins":[{"login","sessid"}]}
  {"op":"sdp","callID":X} -> {"local","remote","local_summary","remote_summary"}
  {"op":"events"} -> {"events":[client requests/responses seen, SDP truncated]}
  {"op":"close"} -> {"ok":true}, then exit
"""
import argparse
import asyncio
import json
import sys
import time
import uuid

sys.dont_write_bytecode = True  # no __pycache__ next to the sources
import verto_harness_common as common  # noqa: E402
from aiortc import RTCSessionDescription
from verto_harness_common import EchoTrack, Receiver, Tone, log, new_peer_connection, truncate_sdp

import websockets
from websockets.asyncio.server import serve as ws_serve


class VertoError(Exception):
    def __init__(self, code, message, **extra):
        super().__init__(message)
        self.code = code
        self.message = message
        self.extra = extra


class ServerCall:
    def __init__(self, call_id, conn, destination, direction):
        self.call_id = call_id
        self.conn = conn
        self.destination = destination
        self.direction = direction  # "inbound" (client invited the server) / "outbound" (server invited)
        self.state = "new"
        self.digits = ""
        self.cause = None
        self.early_media = False
        self.answered = asyncio.Event()
        self.ended = asyncio.Event()
        self.pc = new_peer_connection()
        self.sender = None
        self.rx = None
        self.local_sdp = None  # the SDP as sent to the client
        self.remote_sdp = None  # the SDP as received from the client
        self.fs_style = False

    def setup_media(self, echo, tone_hz):
        self.sender = EchoTrack() if echo else Tone(tone_hz)
        self.rx = Receiver(echo=self.sender if echo else None)
        self.pc.addTrack(self.sender)

        @self.pc.on("track")
        def on_track(track):
            if track.kind == "audio":
                self.rx.start(track)

    @property
    def held(self):
        return bool(self.sender and self.sender.held)

    def info(self):
        ice, dtls = common.transport_state(self.pc)
        return {"callID": self.call_id, "destination": self.destination, "direction": self.direction,
                "state": self.state, "digits": self.digits, "held": self.held,
                "login": self.conn.login if self.conn else None, "early_media": self.early_media,
                "answered": self.answered.is_set(), "ice": ice, "dtls": dtls, "cause": self.cause}

    async def end(self, state, cause):
        if self.state in ("ended",):
            return
        self.state = state
        self.cause = cause
        self.ended.set()
        try:
            await asyncio.wait_for(self.pc.close(), timeout=3)
        except Exception as e:  # noqa: BLE001
            log("pc close:", e)


class Conn:
    def __init__(self, server, ws):
        self.server = server
        self.ws = ws
        self.sessid = None
        self.login = None  # user id once authenticated
        self.peer = "%s:%s" % ws.remote_address[:2] if ws.remote_address else "?"

    async def send(self, obj):
        try:
            await self.ws.send(json.dumps(obj))
        except websockets.ConnectionClosed:
            log("send on closed socket dropped:", obj.get("method") or obj.get("id"))


class VertoServer:
    def __init__(self, args):
        self.args = args
        self.users = {}
        for item in filter(None, (args.users or "").split(",")):
            user, _, pw = item.partition(":")
            self.users[user.strip()] = pw
        self.conns = []
        self.calls = {}
        self.next_id = 1  # server-originated request ids (never 0: verto.js ignores falsy ids)
        self.events = []
        self.server = None

    # ---------------------------------------------------------------- websocket side
    async def request(self, conn, method, params):
        rid = self.next_id
        self.next_id += 1
        log("->", method, json.dumps(truncate_sdp(params))[:300])
        await conn.send({"jsonrpc": "2.0", "id": rid, "method": method, "params": params})
        return rid

    async def ws_handler(self, ws):
        conn = Conn(self, ws)
        self.conns.append(conn)
        log("connection from", conn.peer, "path", ws.request.path if ws.request else "?")
        try:
            async for text in ws:
                await self.on_text(conn, text)
        except websockets.ConnectionClosed:
            pass
        except Exception as e:  # noqa: BLE001
            log("connection handler error:", type(e).__name__, e)
        finally:
            log("connection closed", conn.peer, conn.login)
            self.conns.remove(conn)
            for call in list(self.calls.values()):
                if call.conn is conn and call.state != "ended":
                    await call.end("ended", "DESTINATION_OUT_OF_ORDER")

    async def on_text(self, conn, text):
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        try:
            msg = json.loads(text)
        except ValueError:
            self.events.append({"invalid": text[:200], "t": round(time.time(), 3)})
            await conn.send({"jsonrpc": "2.0", "id": None,
                             "error": {"code": -32600, "message": "Invalid Request"}})
            return
        if isinstance(msg, list):  # batch
            replies, afters = [], []
            for m in msg:
                reply, after = await self.process(conn, m)
                if reply is not None:
                    replies.append(reply)
                if after is not None:
                    afters.append(after)
            if replies:
                await conn.send(replies)
            for after in afters:
                asyncio.ensure_future(after)
            return
        reply, after = await self.process(conn, msg)
        if reply is not None:
            await conn.send(reply)  # the reply always goes out before anything `after` sends
        if after is not None:
            asyncio.ensure_future(after)

    async def process(self, conn, m):
        """Returns (reply or None, coroutine to run after the reply has been sent, or None)."""
        if not isinstance(m, dict) or m.get("jsonrpc") != "2.0":
            return ({"jsonrpc": "2.0", "id": m.get("id") if isinstance(m, dict) else None,
                     "error": {"code": -32600, "message": "Invalid message"}}, None)
        params = m.get("params") if isinstance(m.get("params"), dict) else {}
        rid = m.get("id")
        if "method" not in m and ("result" in m or "error" in m):  # a response to one of our requests
            self.events.append({"response": rid, "result": truncate_sdp(m.get("result")),
                                "error": m.get("error"), "t": round(time.time(), 3)})
            return None, None
        method = m.get("method")
        self.events.append({"method": method, "params": truncate_sdp(params), "id": rid,
                            "login": conn.login, "t": round(time.time(), 3)})
        log("<-", method, json.dumps(truncate_sdp(params))[:300])
        if conn.sessid is None:  # bind on the first message (FreeSWITCH <= 1.10.12 behaviour)
            conn.sessid = str(params.get("sessid") or uuid.uuid4())
        after = None
        try:
            if method == "login":
                result, after = self.do_login(conn, params)
            elif conn.login is None:
                raise VertoError(-32000, "Authentication Required")
            elif method == "verto.invite":
                result, after = await self.do_invite(conn, params)
            elif method == "verto.answer":
                result = await self.do_answer(conn, params)
            elif method == "verto.info":
                result = self.do_info(params)
            elif method == "verto.modify":
                result = self.do_modify(params)
            elif method == "verto.bye":
                result = await self.do_bye(params)
            elif method == "verto.ping":
                result = {"message": "PONG"}
            else:
                raise VertoError(-32601, "Invalid Method, Missing Method or Permission Denied")
        except VertoError as e:
            err = {"code": e.code, "message": e.message}
            err.update(e.extra)
            return {"jsonrpc": "2.0", "id": rid, "error": err}, None
        result = dict(result)
        result["sessid"] = conn.sessid
        return {"jsonrpc": "2.0", "id": rid, "result": result}, after

    # ---------------------------------------------------------------- Verto methods
    def do_login(self, conn, params):
        login = params.get("login")
        if not login:
            raise VertoError(-32000, "Authentication Required")
        user = str(login).split("@")[0]
        if user not in self.users:
            raise VertoError(-32001, "Login Incorrect")
        passwd = params.get("passwd")
        if passwd is None or passwd == "" or passwd != self.users[user]:
            raise VertoError(-32001, "Authentication Failure")
        conn.login = user
        log("login ok:", user, "sessid", conn.sessid)

        async def client_ready():
            await asyncio.sleep(0.05)  # FreeSWITCH writes queued server messages on a 50 ms poll
            await self.request(conn, "verto.clientReady", {"reattached_sessions": []})

        return {"message": "logged in"}, client_ready()

    @staticmethod
    def call_id_of(params):
        dialog = params.get("dialogParams")
        if not isinstance(dialog, dict):
            raise VertoError(-32002, "Dialog data missing")
        call_id = dialog.get("callID")
        if not call_id:
            raise VertoError(-32002, "CallID missing")
        return str(call_id), dialog

    def existing(self, call_id):
        call = self.calls.get(call_id)
        if call is None or call.state == "ended":
            raise VertoError(-32002, "CALL DOES NOT EXIST", callID=call_id)
        return call

    async def do_invite(self, conn, params):
        call_id, dialog = self.call_id_of(params)
        sdp = params.get("sdp")
        if not sdp:
            raise VertoError(-32002, "SDP missing", callID=call_id, cause="INVALID_MSG_UNSPECIFIED",
                             causeCode=95)
        if call_id in self.calls:
            raise VertoError(-32002, "Cannot create channel", callID=call_id, cause="INVALID_MSG_UNSPECIFIED",
                             causeCode=95)
        dest = str(dialog.get("destination_number") or "service")
        call = ServerCall(call_id, conn, dest, "inbound")
        call.remote_sdp = sdp
        self.calls[call_id] = call
        call.state = "created"
        if dest == "9190":  # deliberately wrong order: verto.answer before the invite reply (negative test)
            await self.answer_inbound(call)
            return {"message": "CALL CREATED", "callID": call_id}, None
        return {"message": "CALL CREATED", "callID": call_id}, self.answer_inbound(call)

    async def answer_inbound(self, call):
        try:
            dest = call.destination
            call.setup_media(echo=dest in ("9196", "9198"), tone_hz=1000 if dest == "9664" else self.args.tone)
            await call.pc.setRemoteDescription(RTCSessionDescription(call.remote_sdp, "offer"))
            await call.pc.setLocalDescription(await call.pc.createAnswer())
            call.local_sdp = call.pc.localDescription.sdp
            if call.state == "ended":
                return
            await asyncio.sleep(0.05)  # FreeSWITCH: server messages go out on the next 50 ms poll
            if dest == "9198":
                call.early_media = True
                call.state = "early"
                await self.request(call.conn, "verto.media", {"callID": call.call_id, "sdp": call.local_sdp})
                await asyncio.sleep(1.0)
                if call.state == "ended":
                    return
                call.state = "answered"
                call.answered.set()
                await self.request(call.conn, "verto.answer", {"callID": call.call_id})
            else:
                call.state = "answered"
                call.answered.set()
                await self.request(call.conn, "verto.answer", {"callID": call.call_id, "sdp": call.local_sdp})
            if dest == "9199":
                await asyncio.sleep(3.0)
                if call.state != "ended":
                    await self.hangup(call, "NORMAL_CLEARING")
        except Exception as e:  # noqa: BLE001 - the call fails like FreeSWITCH's media error path
            log("answering %s failed: %s: %s" % (call.call_id, type(e).__name__, e))
            if call.state != "ended":
                await self.hangup(call, "INCOMPATIBLE_DESTINATION")

    async def do_answer(self, conn, params):
        call_id, _ = self.call_id_of(params)
        call = self.existing(call_id)
        sdp = params.get("sdp")
        if not sdp:
            raise VertoError(-32002, "SDP missing", callID=call_id)
        if call.direction != "outbound" or call.answered.is_set():
            raise VertoError(-32002, "CALL DOES NOT EXIST", callID=call_id)
        if call.fs_style:
            sdp = common.add_missing_mids(sdp, [t.mid for t in call.pc.getTransceivers()])
        try:
            await call.pc.setRemoteDescription(RTCSessionDescription(sdp, "answer"))
        except Exception as e:  # noqa: BLE001
            log("client answer rejected:", type(e).__name__, e)
            raise VertoError(-32002, "CODEC ERROR", callID=call_id)
        call.remote_sdp = sdp
        call.state = "answered"
        call.answered.set()
        return {}

    def do_info(self, params):
        dialog = params.get("dialogParams") if isinstance(params.get("dialogParams"), dict) else {}
        call = self.calls.get(dialog.get("callID"))
        dtmf = params.get("dtmf")
        if dtmf is not None:
            if call is None:
                return {}  # FreeSWITCH: unknown callID is not an error, nothing happens
            call.digits += str(dtmf)
            return {"message": "SENT"}
        if params.get("msg") is not None:
            return {"message": "SENT"}
        return {}

    def do_modify(self, params):
        call_id, _ = self.call_id_of(params)
        action = params.get("action")
        if not action:
            raise VertoError(-32002, "action missing", callID=call_id)
        call = self.existing(call_id)
        if action in ("hold", "unhold", "toggleHold"):
            if not call.answered.is_set():
                raise VertoError(-32002, "Cannot hold a call that has not been answered.", callID=call_id)
            held = {"hold": True, "unhold": False, "toggleHold": not call.held}[action]
            call.sender.held = held
            call.state = "held" if held else "answered"
            return {"callID": call_id, "action": action, "holdState": "held" if held else "active"}
        if action == "transfer":
            raise VertoError(-32002, "call is not bridged", callID=call_id, action=action,
                             holdState="held" if call.held else "active")
        raise VertoError(-32002, "Unsupported action", callID=call_id, action=action,
                         holdState="held" if call.held else "active")

    async def do_bye(self, params):
        call_id, _ = self.call_id_of(params)
        call = self.existing(call_id)
        cause, code = params.get("cause"), None
        if cause not in common.CAUSES:  # no/unknown name: try causeCode, else NORMAL_CLEARING (16)
            names = {v: k for k, v in common.CAUSES.items()}
            try:
                code = int(params.get("causeCode"))
            except (TypeError, ValueError):
                code = 16
            cause = names.get(code, "NORMAL_CLEARING")
            code = common.CAUSES[cause]
        else:
            code = common.CAUSES[cause]
        await call.end("ended", cause)
        return {"callID": call_id, "message": "CALL ENDED", "cause": cause, "causeCode": code}

    # ---------------------------------------------------------------- server-originated actions
    async def hangup(self, call, cause="NORMAL_CLEARING"):
        await call.end("ended", cause)
        await self.request(call.conn, "verto.bye",
                           {"callID": call.call_id, "cause": cause, "causeCode": common.cause_code(cause)})

    async def invite(self, cmd):
        want = str(cmd.get("login", "")).split("@")[0]
        conn = next((c for c in reversed(self.conns) if c.login == want), None)
        if conn is None:
            raise KeyError("user %r is not logged in" % want)
        call_id = str(uuid.uuid4())
        call = ServerCall(call_id, conn, want, "outbound")
        self.calls[call_id] = call
        call.setup_media(echo=bool(cmd.get("echo")), tone_hz=float(cmd.get("tone", self.args.tone)))
        await call.pc.setLocalDescription(await call.pc.createOffer())
        call.local_sdp = call.pc.localDescription.sdp
        call.fs_style = bool(cmd.get("fs_style"))
        if call.fs_style:
            call.local_sdp = common.fs_style_offer(call.local_sdp)
        call.state = "ringing"
        number = str(cmd.get("caller_id_number", "9000"))
        await self.request(conn, "verto.invite", {
            "callID": call_id,
            "sdp": call.local_sdp,
            "caller_id_name": cmd.get("caller_id_name", "aiortc " + number),
            "caller_id_number": number,
            "callee_id_name": want,
            "callee_id_number": want,
            "display_direction": "outbound",
        })
        return {"callID": call_id}

    # ---------------------------------------------------------------- stdin commands
    def get_call(self, cmd):
        call = self.calls.get(cmd.get("callID"))
        if call is None:
            raise KeyError("unknown callID %r" % cmd.get("callID"))
        return call

    async def handle(self, cmd):
        op = cmd.get("op")
        if op == "calls":
            return {"calls": [c.info() for c in self.calls.values()]}
        if op == "stats":
            call = self.get_call(cmd)
            if call.rx is None:
                return {"error": "call has no media"}
            return await call.rx.stats(cmd.get("seconds", 1.0), bool(cmd.get("fresh")), cmd.get("timeout"),
                                       cmd.get("expect_hz"))
        if op == "wait_connected":
            return await common.wait_connected(self.get_call(cmd).pc, cmd.get("timeout", 10))
        if op == "wait_answered":
            call = self.get_call(cmd)
            try:
                await asyncio.wait_for(call.answered.wait(), float(cmd.get("timeout", 10)))
            except asyncio.TimeoutError:
                pass
            return {"answered": call.answered.is_set(), "state": call.state}
        if op == "wait_state":
            call = self.get_call(cmd)
            end = time.time() + float(cmd.get("timeout", 10))
            while call.state != cmd.get("state") and time.time() < end:
                await asyncio.sleep(0.02)
            return {"state": call.state, "ok": call.state == cmd.get("state"), "cause": call.cause}
        if op == "hangup":
            call = self.get_call(cmd)
            if call.state == "ended":
                return {"error": "call already ended"}
            await self.hangup(call, cmd.get("cause", "NORMAL_CLEARING"))
            return {"ok": True}
        if op == "invite":
            return await self.invite(cmd)
        if op == "logins":
            return {"logins": [{"login": c.login, "sessid": c.sessid} for c in self.conns]}
        if op == "sdp":
            call = self.get_call(cmd)
            return {"local": call.local_sdp, "remote": call.remote_sdp,
                    "local_summary": common.sdp_summary(call.local_sdp),
                    "remote_summary": common.sdp_summary(call.remote_sdp)}
        if op == "events":
            return {"events": self.events}
        if op == "close":
            await self.cleanup()
            return {"ok": True, "_exit": True}
        return {"error": "unknown op %r" % op}

    async def cleanup(self):
        for call in list(self.calls.values()):
            await call.end("ended", call.cause or "NORMAL_CLEARING")
        if self.server is not None:
            self.server.close()


def echo_subprotocol(connection, subprotocols):
    """libks copies a requested Sec-WebSocket-Protocol back unchanged (no negotiation)."""
    return subprotocols[0] if subprotocols else None


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--tone", type=float, default=660)
    ap.add_argument("--users", default="1000:pw,1001:pw")
    ap.add_argument("--max-seconds", type=float, default=60)
    args = ap.parse_args()
    srv = VertoServer(args)
    srv.server = await ws_serve(
        srv.ws_handler, "127.0.0.1", args.port,
        ping_interval=None,  # FreeSWITCH/libks sends no WebSocket pings
        compression=None,  # libks does not negotiate permessage-deflate
        max_size=1_000_000,
        select_subprotocol=echo_subprotocol,
    )
    port = srv.server.sockets[0].getsockname()[1]
    common.write_line({"listening": port})
    log("listening on 127.0.0.1:%d users=%s" % (port, ",".join(srv.users)))
    await common.serve_stdin(srv.handle, args.max_seconds, srv.cleanup)


if __name__ == "__main__":
    asyncio.run(main())
