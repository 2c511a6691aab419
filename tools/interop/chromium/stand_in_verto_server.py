#!/usr/bin/env python3
"""stand_in_verto_server.py - a minimal Verto server (websockets + aiortc) on 127.0.0.1.

Only used to validate verto_test_page.html / run_chromium.py; the real target is `vertophone serve`.
Behaves like mod_verto where the page can tell:
  login      {sessid} only -> -32000; wrong password -> -32001; else result + verto.clientReady (~100 ms later)
  other methods before login -> -32000
  verto.invite -> result CALL CREATED, then by destination_number:
      9196  answer (verto.answer with SDP) + echo the browser's audio
      9664  answer + endless tone (--tone, default 1000 Hz)
      9198  early media: verto.media with SDP + echo, 2 s later verto.answer without SDP
      9199  answer + echo, server verto.bye after 3 s (NORMAL_CLEARING)
      other verto.bye NO_ROUTE_DESTINATION
  verto.answer (to our invite) -> result; verto.bye -> CALL ENDED result (unknown call: -32002)
  --call-browser: once a browser logged in, originate verto.invite (aiortc offer, caller_id_*,
      display_direction "outbound") sending --tone, and report the frequency heard from the browser.
Output: JSON lines on stdout: first {"listening": PORT}, then events, e.g.
  {"event":"heard","callID":...,"dominant_hz":440.0,...}. Exits after --max-seconds.
"""
import argparse
import asyncio
import fractions
import json
import math
import sys
import time
import uuid

import aioice.ice

aioice.ice.get_host_addresses = lambda use_ipv4=True, use_ipv6=True: ["127.0.0.1"]

import numpy as np  # noqa: E402
import websockets  # noqa: E402
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription  # noqa: E402
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError, MediaStreamTrack  # noqa: E402
from av import AudioFrame  # noqa: E402

try:
    from websockets.asyncio.server import serve
except ImportError:  # websockets < 13
    serve = websockets.serve

RATE = 48000
SAMPLES = 960


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


class Tone(AudioStreamTrack):
    """48 kHz mono sine, 20 ms frames, paced in real time."""

    def __init__(self, hz):
        super().__init__()
        self.hz = hz
        self.n = 0
        self.t0 = None

    async def recv(self):
        if self.t0 is None:
            self.t0 = time.time()
        else:
            wait = self.t0 + self.n * SAMPLES / RATE - time.time()
            if wait > 0:
                await asyncio.sleep(wait)
        t = (np.arange(SAMPLES) + self.n * SAMPLES) / RATE
        pcm = (8000 * np.sin(2 * math.pi * self.hz * t)).astype(np.int16).reshape(1, -1)
        frame = AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
        frame.sample_rate = RATE
        frame.pts = self.n * SAMPLES
        frame.time_base = fractions.Fraction(1, RATE)
        self.n += 1
        return frame


class Recorder:
    """Keeps the last few seconds of received audio as mono float samples."""

    def __init__(self):
        self.chunks = []
        self.rate = RATE
        self.frames = 0

    def add(self, frame):
        self.frames += 1
        data = frame.to_ndarray().astype(np.float64)
        channels = len(frame.layout.channels)
        mono = data.reshape(-1, channels).mean(axis=1) if channels > 1 else data.reshape(-1)
        self.rate = frame.sample_rate or RATE
        self.chunks.append(mono)
        if len(self.chunks) > 250:
            del self.chunks[:-250]

    def dominant(self, seconds):
        if not self.chunks:
            return 0.0, -200.0
        x = np.concatenate(self.chunks)[-int(seconds * self.rate):]
        x = x - x.mean()
        rms = float(np.sqrt((x ** 2).mean())) / 32768.0
        spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
        freqs = np.fft.rfftfreq(len(x), 1 / self.rate)
        spectrum[freqs < 50] = 0
        return float(freqs[int(spectrum.argmax())]), 20 * math.log10(rms + 1e-12)


class EchoTrack(MediaStreamTrack):
    """Returns the browser's own frames (echo) and records them."""
    kind = "audio"

    def __init__(self, source, recorder):
        super().__init__()
        self.source = source
        self.recorder = recorder

    async def recv(self):
        frame = await self.source.recv()
        self.recorder.add(frame)
        return frame


class Call:
    def __init__(self, conn, call_id, direction, destination):
        self.conn = conn
        self.call_id = call_id
        self.direction = direction
        self.destination = destination
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.recorder = Recorder()
        self.tasks = []
        self.closed = False

    def transports(self):
        ice, dtls = "new", "new"
        for t in self.pc.getTransceivers():
            d = t.sender.transport
            if d is not None:
                dtls = d.state
                ice = d.transport.state
        return ice, dtls

    async def consume(self, track):
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            self.recorder.add(frame)

    async def report_heard(self, seconds=1.5):
        """Once connected, wait for `seconds` of audio and emit the dominant frequency heard."""
        end = time.time() + 20
        while time.time() < end and self.transports()[1] not in ("connected", "failed", "closed"):
            await asyncio.sleep(0.05)
        ice, dtls = self.transports()
        emit({"event": "media", "callID": self.call_id, "ice": ice, "dtls": dtls})
        if dtls != "connected":
            return
        start_frames = self.recorder.frames
        end = time.time() + 15
        while time.time() < end and self.recorder.frames - start_frames < int(seconds * 50) + 10:
            await asyncio.sleep(0.1)
        hz, db = self.recorder.dominant(seconds)
        emit({"event": "heard", "callID": self.call_id, "direction": self.direction,
              "destination": self.destination, "dominant_hz": round(hz, 1), "level_db": round(db, 1),
              "frames": self.recorder.frames})

    def spawn(self, coro):
        self.tasks.append(asyncio.ensure_future(coro))

    async def close(self):
        if self.closed:
            return
        self.closed = True
        for t in self.tasks:
            t.cancel()
        await self.pc.close()


class Connection:
    server_ids = 1  # server-originated request ids: one counter for the process, never 0

    def __init__(self, ws, args):
        self.ws = ws
        self.args = args
        self.sessid = None
        self.login = None
        self.logged_in = False
        self.calls = {}
        self.peer = "%s:%s" % ws.remote_address[:2] if ws.remote_address else "?"

    async def send(self, obj):
        text = json.dumps(obj)
        if self.args.verbose:
            emit({"event": "send", "msg": text[:300]})
        await self.ws.send(text)

    async def reply(self, req_id, result=None, error=None):
        msg = {"jsonrpc": "2.0", "id": req_id}
        if error is not None:
            msg["error"] = error
        else:
            result = dict(result or {})
            if self.sessid:
                result["sessid"] = self.sessid
            msg["result"] = result
        await self.send(msg)

    async def request(self, method, params):
        i = Connection.server_ids
        Connection.server_ids += 1
        await self.send({"jsonrpc": "2.0", "id": i, "method": method, "params": params})

    async def run(self):
        emit({"event": "connected", "peer": self.peer})
        try:
            async for raw in self.ws:
                try:
                    msg = json.loads(raw)
                except ValueError:
                    await self.send({"jsonrpc": "2.0", "id": None,
                                     "error": {"code": -32600, "message": "Invalid Request"}})
                    continue
                if self.args.verbose:
                    emit({"event": "recv", "msg": raw[:300]})
                if not isinstance(msg, dict) or msg.get("jsonrpc") != "2.0":
                    await self.send({"jsonrpc": "2.0", "id": msg.get("id") if isinstance(msg, dict) else None,
                                     "error": {"code": -32600, "message": "Invalid message"}})
                    continue
                if "result" in msg or "error" in msg:
                    continue  # reply to one of our requests
                try:
                    await self.handle(msg.get("method"), msg.get("params") or {}, msg.get("id"))
                except websockets.ConnectionClosed:
                    raise
                except Exception as e:  # keep serving
                    emit({"event": "handler_error", "method": msg.get("method"), "error": "%s: %s" % (type(e).__name__, e)})
        except websockets.ConnectionClosed:
            pass
        finally:
            emit({"event": "disconnected", "peer": self.peer, "calls": list(self.calls)})
            for c in list(self.calls.values()):
                await c.close()
            self.calls.clear()

    async def handle(self, method, params, req_id):
        if method == "login":
            return await self.on_login(params, req_id)
        if not self.logged_in:
            return await self.reply(req_id, error={"code": -32000, "message": "Authentication Required"})
        if method == "verto.invite":
            return await self.on_invite(params, req_id)
        if method == "verto.answer":
            return await self.on_answer(params, req_id)
        if method == "verto.bye":
            return await self.on_bye(params, req_id)
        if method == "verto.ping":
            return await self.reply(req_id, {"message": "PONG"})
        if method in ("verto.modify", "verto.info", "verto.subscribe"):
            return await self.reply(req_id, {"message": "SENT"})
        await self.reply(req_id, error={"code": -32601, "message": "Invalid Method, Missing Method or Permission Denied"})

    async def on_login(self, params, req_id):
        if params.get("sessid"):
            self.sessid = params["sessid"]
        login = params.get("login") or ""
        if not login:
            emit({"event": "login", "stage": "probe", "sessid": self.sessid})
            return await self.reply(req_id, error={"code": -32000, "message": "Authentication Required"})
        if params.get("passwd") != self.args.password:
            emit({"event": "login", "stage": "failed", "login": login})
            return await self.reply(req_id, error={"code": -32001, "message": "Authentication Failure"})
        self.logged_in = True
        self.login = login
        self.sessid = self.sessid or str(uuid.uuid4())
        emit({"event": "login", "stage": "ok", "login": login, "sessid": self.sessid})
        await self.reply(req_id, {"message": "logged in"})
        await asyncio.sleep(0.1)
        await self.request("verto.clientReady", {"reattached_sessions": []})
        if self.args.call_browser:
            asyncio.ensure_future(self.call_browser())

    # ---- browser calls us
    async def on_invite(self, params, req_id):
        dp = params.get("dialogParams") or {}
        call_id = dp.get("callID")
        sdp = params.get("sdp")
        if not call_id or not sdp:
            return await self.reply(req_id, error={"code": -32002, "message": "CallID missing" if not call_id else "SDP missing"})
        if call_id in self.calls:
            return await self.reply(req_id, error={"code": -32002, "message": "CALL ERROR", "callID": call_id})
        dest = str(dp.get("destination_number") or "")
        call = Call(self, call_id, "inbound", dest)
        self.calls[call_id] = call
        emit({"event": "invite", "callID": call_id, "destination": dest,
              "caller_id_name": dp.get("caller_id_name"), "caller_id_number": dp.get("caller_id_number"),
              "candidates": [l[12:] for l in sdp.splitlines() if l.startswith("a=candidate:")]})
        await self.reply(req_id, {"message": "CALL CREATED", "callID": call_id})
        call.spawn(self.run_inbound(call, sdp))

    async def run_inbound(self, call, offer):
        dest = call.destination
        try:
            if dest not in ("9196", "9664", "9198", "9199"):
                await asyncio.sleep(0.2)
                await self.server_bye(call, "NO_ROUTE_DESTINATION", 3)
                return
            pc = call.pc
            if dest == "9664":
                pc.addTrack(Tone(self.args.tone))

                @pc.on("track")
                def on_track(track):
                    call.spawn(call.consume(track))
            else:
                @pc.on("track")
                def on_track(track):
                    pc.addTrack(EchoTrack(track, call.recorder))

            await pc.setRemoteDescription(RTCSessionDescription(offer, "offer"))
            await pc.setLocalDescription(await pc.createAnswer())
            answer = pc.localDescription.sdp
            await asyncio.sleep(0.05)
            if dest == "9198":
                await self.request("verto.media", {"callID": call.call_id, "sdp": answer})
                call.spawn(call.report_heard())
                await asyncio.sleep(2)
                await self.request("verto.answer", {"callID": call.call_id})
            else:
                await self.request("verto.answer", {"callID": call.call_id, "sdp": answer})
                call.spawn(call.report_heard())
            emit({"event": "answered", "callID": call.call_id, "destination": dest})
            if dest == "9199":
                await asyncio.sleep(3)
                await self.server_bye(call, "NORMAL_CLEARING", 16)
        except asyncio.CancelledError:
            raise
        except Exception as e:
            emit({"event": "call_error", "callID": call.call_id, "error": "%s: %s" % (type(e).__name__, e)})
            await self.server_bye(call, "INCOMPATIBLE_DESTINATION", 88)

    async def server_bye(self, call, cause, code):
        if call.call_id in self.calls:
            del self.calls[call.call_id]
            try:
                await self.request("verto.bye", {"callID": call.call_id, "cause": cause, "causeCode": code})
            except websockets.ConnectionClosed:
                pass
            emit({"event": "bye_sent", "callID": call.call_id, "cause": cause})
        asyncio.ensure_future(call.close())

    # ---- we call the browser
    async def call_browser(self):
        await asyncio.sleep(self.args.call_delay)
        call_id = str(uuid.uuid4())
        call = Call(self, call_id, "outbound", self.login)
        self.calls[call_id] = call
        call.pc.addTrack(Tone(self.args.tone))

        @call.pc.on("track")
        def on_track(track):
            call.spawn(call.consume(track))

        await call.pc.setLocalDescription(await call.pc.createOffer())
        await self.request("verto.invite", {
            "callID": call_id, "sdp": call.pc.localDescription.sdp,
            "caller_id_name": "Stand-in", "caller_id_number": "9000",
            "callee_id_name": "Outbound Call", "callee_id_number": self.login.split("@")[0],
            "display_direction": "outbound",
        })
        emit({"event": "invite_sent", "callID": call_id, "to": self.login})

    async def on_answer(self, params, req_id):
        dp = params.get("dialogParams") or {}
        call = self.calls.get(dp.get("callID"))
        if call is None or call.direction != "outbound":
            return await self.reply(req_id, error={"code": -32002, "message": "CALL DOES NOT EXIST"})
        sdp = params.get("sdp")
        if not sdp:
            return await self.reply(req_id, error={"code": -32002, "message": "SDP missing"})
        try:
            await call.pc.setRemoteDescription(RTCSessionDescription(sdp, "answer"))
        except Exception as e:
            await self.reply(req_id, error={"code": -32002, "message": "MEDIA ERROR", "detail": str(e)})
            return
        emit({"event": "browser_answered", "callID": call.call_id,
              "candidates": [l[12:] for l in sdp.splitlines() if l.startswith("a=candidate:")]})
        await self.reply(req_id, {})
        call.spawn(call.report_heard())

    async def on_bye(self, params, req_id):
        dp = params.get("dialogParams") or {}
        call_id = dp.get("callID")
        call = self.calls.pop(call_id, None)
        if call is None:
            emit({"event": "bye_unknown", "callID": call_id})
            return await self.reply(req_id, error={"code": -32002, "message": "CALL DOES NOT EXIST", "callID": call_id})
        emit({"event": "bye", "callID": call_id, "cause": params.get("cause")})
        await self.reply(req_id, {"callID": call_id, "message": "CALL ENDED", "cause": "NORMAL_CLEARING", "causeCode": 16})
        await call.close()


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0, help="0: pick a free port")
    ap.add_argument("--password", default="verto-test")
    ap.add_argument("--tone", type=float, default=1000.0, help="tone sent for 9664 and --call-browser")
    ap.add_argument("--call-browser", action="store_true", help="originate verto.invite to the logged-in browser")
    ap.add_argument("--call-delay", type=float, default=0.5)
    ap.add_argument("--max-seconds", type=float, default=120)
    ap.add_argument("--verbose", action="store_true", help="emit every message sent/received")
    args = ap.parse_args()

    async def handler(ws, *rest):
        await Connection(ws, args).run()

    async with serve(handler, "127.0.0.1", args.port, max_size=4 * 1024 * 1024) as server:
        port = list(server.sockets)[0].getsockname()[1]
        emit({"listening": port})
        await asyncio.sleep(args.max_seconds)
    emit({"event": "exit", "reason": "max-seconds"})


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
