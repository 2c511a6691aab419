"""aiortc_verto_client.py - aiortc as a Verto *client* (behaves like a browser running verto.js).

Connects to a Verto server over WebSocket (no subprotocol), logs in the verto.js way (first `login`
with only {sessid}, expecting -32000, then `login` with credentials), places and answers calls with
aiortc (non-trickle SDP, loopback host candidate only, a sine tone as the microphone), and reports
what it hears (FFT dominant frequency). Driven by JSON lines on stdin, one JSON reply line on stdout.

Usage:
  python aiortc_verto_client.py --url ws://127.0.0.1:PORT/ --login 1001@127.0.0.1 --password PW \
      [--tone 660] [--max-seconds 60] [--no-deflate]

Commands -> replies (every command gets exactly one line; failures are {"error": "..."}):
  {"op":"login"[,"login":..,"password":..,"timeout":10]}
      -> {"ok":true,"sessid":S,"result":{login result},"client_ready":bool,"prelogin_code":-32000}
         or {"error":"login failed: -32001 Authentication Failure","code":-32001}
  {"op":"connect"}                        -> {"ok":true,"sessid":S}   (WebSocket only, no login)
  {"op":"request","method":M,"params":{..}[,"timeout":10]}
      -> {"reply": <the whole JSON-RPC response>}            (raw request; sessid added to params)
  {"op":"send_raw","text":"..."[,"timeout":2]} -> {"reply": <first response that arrives or null>}
  {"op":"call","destination":"9196"[,"wait":"answer"|"media","timeout":10,"caller_id_number":..,
         "caller_id_name":..]}
      -> {"callID":X,"early_media":bool,"answered":bool,"created":{invite result}}
         plus "error" if the server hung up, no answer came in time, aiortc rejected the SDP, no SDP
         came at all, or verto.media/verto.answer arrived before the verto.invite reply
  {"op":"wait_answered","callID":X,"timeout":10} -> {"answered":bool,"early_media":bool}
  {"op":"wait_connected","callID":X,"timeout":10} -> {"connected":bool,"ice":..,"dtls":..,"waited":s}
  {"op":"stats","callID":X,"seconds":1.0[,"fresh":false,"timeout":s,"expect_hz":f]}
      -> {"dominant_hz":f,"frames":n,"power":{"440":..,"660":..,"1000":..},"rms":r,"seconds":s}
  {"op":"dtmf","callID":X,"digits":"1234#"}      -> {"ok":true,"result":{..}}  (verto.info)
  {"op":"hold"|"unhold","callID":X}              -> {"ok":true,"result":{..,"holdState":..}}
  {"op":"hangup","callID":X[,"cause":"NORMAL_CLEARING"]} -> {"ok":true,"result":{..}} (verto.bye)
  {"op":"wait_incoming","timeout":10}
      -> {"callID":Y,"caller_id_number":..,"caller_id_name":..,"display_direction":..,"params":{..}}
  {"op":"answer","callID":Y}                     -> {"ok":true,"result":{..}} (verto.answer)
  {"op":"wait_bye","callID":X,"timeout":10}      -> {"cause":..,"causeCode":..}
  {"op":"sdp","callID":X}                        -> {"local":sdp,"remote":sdp}
  {"op":"events"}                                -> {"events":[{"method":..,"params":{..},"t":..}]}
  {"op":"close"}                                 -> {"ok":true}, then exit
Errors from the server are reported as {"error":"<code> <message>","code":<code>,"reply":{..}}.
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
from verto_harness_common import Receiver, Tone, log, new_peer_connection, truncate_sdp

import websockets
from websockets.asyncio.client import connect as ws_connect

NO_REPLY = ("verto.clientReady", "verto.event", "verto.punt")


class RpcError(Exception):
    def __init__(self, reply):
        err = reply.get("error") or {}
        self.code = err.get("code") if isinstance(err, dict) else None
        self.msg = err.get("message") if isinstance(err, dict) else str(err)
        self.reply = reply
        super().__init__("%s %s" % (self.code, self.msg))

    def as_reply(self, prefix=""):
        return {"error": prefix + str(self), "code": self.code, "reply": self.reply}


class Call:
    def __init__(self, call_id, direction, tone):
        self.call_id = call_id
        self.direction = direction  # "outbound" (we invited) / "inbound" (server invited us)
        self.pc = new_peer_connection()
        self.pc.addTrack(Tone(tone))
        self.rx = Receiver()
        self.remote_sdp = None
        self.early_media = asyncio.Event()
        self.answered = asyncio.Event()
        self.bye = asyncio.Event()
        self.bye_params = None
        self.invite_params = None
        self.sdp_error = None
        self.invite_rid = None  # id of our verto.invite request (outbound calls)
        self.invite_replied = False
        self.order_violation = None  # server message that arrived before the verto.invite reply

        @self.pc.on("track")
        def on_track(track):
            if track.kind == "audio":
                self.rx.start(track)

    async def close(self):
        try:
            await asyncio.wait_for(self.pc.close(), timeout=3)
        except Exception as e:  # noqa: BLE001
            log("pc close:", e)


class VertoClient:
    def __init__(self, args):
        self.args = args
        self.ws = None
        self.reader_task = None
        self.sessid = str(uuid.uuid4())
        self.next_id = 1
        self.pending = {}
        self.stray = asyncio.Queue()  # responses with unknown ids (e.g. to send_raw)
        self.events = []
        self.calls = {}
        self.incoming = []  # callIDs of server invites not yet returned by wait_incoming
        self.incoming_cv = asyncio.Condition()
        self.client_ready = asyncio.Event()
        self.logged_in = False

    # ---------------------------------------------------------------- transport
    async def connect(self):
        if self.ws is not None and self.reader_task is not None and not self.reader_task.done():
            return
        self.ws = await ws_connect(
            self.args.url,
            ping_interval=None,  # FreeSWITCH never answers WS pings; browsers don't send them
            open_timeout=10,
            max_size=2 ** 20,
            compression=None if self.args.no_deflate else "deflate",
        )
        self.reader_task = asyncio.ensure_future(self.read_loop())

    async def send(self, obj):
        await self.ws.send(json.dumps(obj))

    async def request(self, method, params, timeout=10.0):
        """Send a JSON-RPC request (sessid added to params like verto.js); return the whole reply."""
        await self.connect()
        rid = self.next_id
        self.next_id += 1
        params = dict(params)
        params.setdefault("sessid", self.sessid)
        fut = asyncio.get_running_loop().create_future()
        self.pending[rid] = fut
        await self.send({"jsonrpc": "2.0", "method": method, "params": params, "id": rid})
        try:
            return await asyncio.wait_for(fut, timeout=timeout)
        finally:
            self.pending.pop(rid, None)

    async def call_method(self, method, params, timeout=10.0):
        reply = await self.request(method, params, timeout)
        if "error" in reply:
            raise RpcError(reply)
        return reply.get("result")

    async def read_loop(self):
        try:
            async for text in self.ws:
                try:
                    msg = json.loads(text)
                except ValueError:
                    log("non-JSON frame from server:", str(text)[:200])
                    continue
                for m in msg if isinstance(msg, list) else [msg]:
                    if isinstance(m, dict):
                        try:
                            await self.on_message(m)
                        except Exception as e:  # noqa: BLE001
                            log("handling %s failed: %s: %s" % (m.get("method"), type(e).__name__, e))
        except websockets.ConnectionClosed as e:
            log("websocket closed:", e)
        except Exception as e:  # noqa: BLE001
            log("read loop error:", type(e).__name__, e)
        finally:
            for fut in self.pending.values():
                if not fut.done():
                    fut.set_exception(ConnectionError("websocket closed"))

    async def on_message(self, m):
        if "method" not in m:  # a response
            for c in self.calls.values():
                if c.invite_rid is not None and c.invite_rid == m.get("id"):
                    c.invite_replied = True
            fut = self.pending.get(m.get("id"))
            if fut is not None and not fut.done():
                fut.set_result(m)
            else:
                await self.stray.put(m)
            return
        method = m.get("method")
        params = m.get("params") if isinstance(m.get("params"), dict) else {}
        self.events.append({"method": method, "params": truncate_sdp(params), "t": round(time.time(), 3)})
        log("<-", method, json.dumps(truncate_sdp(params))[:300])
        # verto.js replies to every server request with a truthy id, except these three
        if m.get("id") and method not in NO_REPLY:
            await self.send({"jsonrpc": "2.0", "id": m["id"], "result": {"method": method}})
        call_id = params.get("callID")
        call = self.calls.get(call_id)
        if call is not None and call.direction == "outbound" and not call.invite_replied \
                and method in ("verto.media", "verto.answer") and call.order_violation is None:
            call.order_violation = method  # verto.js hangs up in this case (docs/testing.md)
        if method == "verto.clientReady":
            self.client_ready.set()
        elif method in ("verto.media", "verto.answer") and call is not None:
            sdp = params.get("sdp")
            if sdp and call.remote_sdp is None:  # the first SDP received is final
                call.remote_sdp = sdp
                try:
                    await call.pc.setRemoteDescription(RTCSessionDescription(sdp, "answer"))
                except Exception as e:  # noqa: BLE001
                    call.sdp_error = "%s: %s" % (type(e).__name__, e)
                    log("applying remote SDP failed:", call.sdp_error)
            if method == "verto.media":
                call.early_media.set()
            else:
                call.answered.set()
        elif method == "verto.invite" and call_id:
            if call_id not in self.calls:
                call = Call(call_id, "inbound", self.args.tone)
                call.invite_params = params
                call.remote_sdp = params.get("sdp")
                self.calls[call_id] = call
                async with self.incoming_cv:
                    self.incoming.append(call_id)
                    self.incoming_cv.notify_all()
        elif method == "verto.bye" and call is not None:
            call.bye_params = params
            call.bye.set()
            asyncio.ensure_future(call.close())

    # ---------------------------------------------------------------- helpers
    def get_call(self, cmd):
        call_id = cmd.get("callID")
        if call_id is None and len(self.calls) == 1:
            call_id = next(iter(self.calls))
        call = self.calls.get(call_id)
        if call is None:
            raise KeyError("unknown callID %r" % call_id)
        return call

    async def do_login(self, cmd):
        timeout = float(cmd.get("timeout", 10))
        await self.connect()
        self.client_ready.clear()
        # 1) verto.js: login with only the sessid first; the server must answer -32000
        first = await self.request("login", {"sessid": self.sessid}, timeout)
        pre_code = first.get("error", {}).get("code") if isinstance(first.get("error"), dict) else None
        if "result" in first:
            log("pre-login {sessid} unexpectedly succeeded")
        elif pre_code != -32000:
            # verto.js would wait forever here; report it
            return {"error": "pre-login {sessid} got %s instead of -32000" % pre_code, "code": pre_code,
                    "reply": first}
        # 2) the credentialed login (verto.js also sends empty loginParams / userVariables)
        reply = await self.request(
            "login",
            {
                "login": cmd.get("login", self.args.login),
                "passwd": cmd.get("password", self.args.password),
                "loginParams": {},
                "userVariables": {},
                "sessid": self.sessid,
            },
            timeout,
        )
        if "error" in reply:
            return RpcError(reply).as_reply("login failed: ")
        result = reply.get("result") or {}
        if isinstance(result, dict) and result.get("sessid") and result["sessid"] != self.sessid:
            log("server changed sessid to", result["sessid"])
            self.sessid = result["sessid"]
        self.logged_in = True
        try:
            await asyncio.wait_for(self.client_ready.wait(), timeout=float(cmd.get("client_ready_timeout", 2)))
        except asyncio.TimeoutError:
            pass
        return {"ok": True, "sessid": self.sessid, "result": result,
                "client_ready": self.client_ready.is_set(), "prelogin_code": pre_code}

    async def do_call(self, cmd):
        timeout = float(cmd.get("timeout", 10))
        dest = str(cmd.get("destination", "9196"))
        call_id = str(uuid.uuid4())
        call = Call(call_id, "outbound", self.args.tone)
        self.calls[call_id] = call
        t0 = time.time()
        await call.pc.setLocalDescription(await call.pc.createOffer())  # aiortc gathers fully here
        user = self.args.login.split("@")[0]
        dialog = {
            "callID": call_id,
            "destination_number": dest,
            "caller_id_name": cmd.get("caller_id_name", "aiortc " + user),
            "caller_id_number": cmd.get("caller_id_number", user),
            "remote_caller_id_name": "Outbound Call",
            "remote_caller_id_number": dest,
            "login": self.args.login,
            "useVideo": False,
            "useStereo": False,
            "screenShare": False,
            "dedEnc": False,
            "mirrorInput": False,
            "tag": "aiortc-" + call_id[:8],
            "localTag": None,
        }
        await self.connect()
        call.invite_rid = self.next_id  # request() takes this id next
        try:
            created = await self.call_method(
                "verto.invite", {"sdp": call.pc.localDescription.sdp, "dialogParams": dialog}, timeout)
        except RpcError as e:
            await call.close()
            return e.as_reply("verto.invite failed: ")
        remaining = max(0.1, timeout - (time.time() - t0))
        waiters = [asyncio.ensure_future(call.answered.wait()), asyncio.ensure_future(call.bye.wait())]
        if cmd.get("wait") == "media":
            waiters.append(asyncio.ensure_future(call.early_media.wait()))
        await asyncio.wait(waiters, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
        for w in waiters:
            w.cancel()
        out = {"callID": call_id, "early_media": call.early_media.is_set(), "answered": call.answered.is_set(),
               "created": created}
        if call.order_violation:
            out["error"] = "%s arrived before the verto.invite reply (verto.js would hang up)" % call.order_violation
        elif call.sdp_error:
            out["error"] = "remote SDP rejected by aiortc: " + call.sdp_error
        elif call.bye.is_set():
            out["error"] = "call ended by server: %s" % json.dumps(call.bye_params)
        elif not (call.answered.is_set() or (cmd.get("wait") == "media" and call.early_media.is_set())):
            out["error"] = "no verto.answer%s within %.1f s" % (
                "/verto.media" if cmd.get("wait") == "media" else "", timeout)
        elif call.remote_sdp is None:
            out["error"] = "answered without any SDP (neither verto.media nor verto.answer carried one)"
        return out

    async def do_answer(self, cmd):
        call = self.get_call(cmd)
        if call.direction != "inbound" or not call.remote_sdp:
            raise ValueError("call %s is not an incoming call with an offer" % call.call_id)
        await call.pc.setRemoteDescription(RTCSessionDescription(call.remote_sdp, "offer"))
        await call.pc.setLocalDescription(await call.pc.createAnswer())
        user = self.args.login.split("@")[0]
        dialog = {"callID": call.call_id, "callee_id_name": "aiortc " + user, "callee_id_number": user}
        try:
            result = await self.call_method(
                "verto.answer", {"sdp": call.pc.localDescription.sdp, "dialogParams": dialog},
                float(cmd.get("timeout", 10)))
        except RpcError as e:
            return e.as_reply("verto.answer failed: ")
        call.answered.set()
        return {"ok": True, "result": result}

    async def simple(self, method, params, cmd):
        try:
            result = await self.call_method(method, params, float(cmd.get("timeout", 10)))
        except RpcError as e:
            return e.as_reply(method + " failed: ")
        return {"ok": True, "result": result}

    # ---------------------------------------------------------------- dispatcher
    async def handle(self, cmd):
        op = cmd.get("op")
        if op == "login":
            return await self.do_login(cmd)
        if op == "connect":
            await self.connect()
            return {"ok": True, "sessid": self.sessid}
        if op == "request":
            return {"reply": await self.request(cmd["method"], cmd.get("params") or {},
                                                float(cmd.get("timeout", 10)))}
        if op == "send_raw":
            await self.connect()
            while not self.stray.empty():
                self.stray.get_nowait()
            await self.ws.send(cmd["text"])
            try:
                return {"reply": await asyncio.wait_for(self.stray.get(), float(cmd.get("timeout", 2)))}
            except asyncio.TimeoutError:
                return {"reply": None}
        if op == "call":
            return await self.do_call(cmd)
        if op == "wait_answered":
            call = self.get_call(cmd)
            try:
                await asyncio.wait_for(call.answered.wait(), float(cmd.get("timeout", 10)))
            except asyncio.TimeoutError:
                pass
            return {"answered": call.answered.is_set(), "early_media": call.early_media.is_set()}
        if op == "wait_connected":
            return await common.wait_connected(self.get_call(cmd).pc, cmd.get("timeout", 10))
        if op == "stats":
            return await self.get_call(cmd).rx.stats(cmd.get("seconds", 1.0), bool(cmd.get("fresh")),
                                                     cmd.get("timeout"), cmd.get("expect_hz"))
        if op == "dtmf":
            call = self.get_call(cmd)
            return await self.simple("verto.info", {"dtmf": str(cmd["digits"]),
                                                    "dialogParams": {"callID": call.call_id}}, cmd)
        if op in ("hold", "unhold", "toggleHold"):
            call = self.get_call(cmd)
            return await self.simple("verto.modify", {"action": op, "dialogParams": {"callID": call.call_id}}, cmd)
        if op == "hangup":
            call = self.get_call(cmd)
            cause = cmd.get("cause", "NORMAL_CLEARING")
            out = await self.simple("verto.bye", {"cause": cause, "dialogParams": {"callID": call.call_id}}, cmd)
            await call.close()
            return out
        if op == "wait_incoming":
            async with self.incoming_cv:
                await asyncio.wait_for(self.incoming_cv.wait_for(lambda: self.incoming),
                                       float(cmd.get("timeout", 10)))
                call_id = self.incoming.pop(0)
            p = self.calls[call_id].invite_params
            return {"callID": call_id, "caller_id_number": p.get("caller_id_number"),
                    "caller_id_name": p.get("caller_id_name"), "display_direction": p.get("display_direction"),
                    "params": truncate_sdp(p)}
        if op == "answer":
            return await self.do_answer(cmd)
        if op == "wait_bye":
            call = self.get_call(cmd)
            try:
                await asyncio.wait_for(call.bye.wait(), float(cmd.get("timeout", 10)))
            except asyncio.TimeoutError:
                return {"error": "no verto.bye for %s within %s s" % (call.call_id, cmd.get("timeout", 10))}
            return {"cause": call.bye_params.get("cause"), "causeCode": call.bye_params.get("causeCode")}
        if op == "sdp":
            call = self.get_call(cmd)
            local = call.pc.localDescription.sdp if call.pc.localDescription else None
            return {"local": local, "remote": call.remote_sdp,
                    "local_summary": common.sdp_summary(local), "remote_summary": common.sdp_summary(call.remote_sdp)}
        if op == "events":
            return {"events": self.events}
        if op == "close":
            await self.cleanup()
            return {"ok": True, "_exit": True}
        return {"error": "unknown op %r" % op}

    async def cleanup(self):
        for call in list(self.calls.values()):
            await call.close()
        if self.ws is not None:
            try:
                await asyncio.wait_for(self.ws.close(), timeout=2)
            except Exception:  # noqa: BLE001
                pass


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--login", required=True, help="user@domain")
    ap.add_argument("--password", required=True)
    ap.add_argument("--tone", type=float, default=660)
    ap.add_argument("--max-seconds", type=float, default=60)
    ap.add_argument("--no-deflate", action="store_true", help="do not offer permessage-deflate")
    args = ap.parse_args()
    client = VertoClient(args)
    await common.serve_stdin(client.handle, args.max_seconds, client.cleanup)


if __name__ == "__main__":
    asyncio.run(main())
