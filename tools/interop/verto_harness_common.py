"""verto_harness_common.py - shared helpers for the aiortc Verto interop harnesses.

Imported by aiortc_verto_client.py and aiortc_verto_server.py (same directory). Provides:
  * the loopback-only aioice patch (aiortc gathers exactly one host candidate on 127.0.0.1),
  * Tone (a real-time paced sine track), EchoTrack (re-sends audio fed into it, paced, silence
    when starved or held), Receiver (consumes a remote track, keeps the last seconds of audio and
    computes the dominant frequency with an FFT as in aiortc_peer.py),
  * new_peer_connection(), transport_state(), sdp_summary(), truncate_sdp(),
  * serve_stdin(): the JSON-lines control loop (one JSON command per stdin line, exactly one JSON
    reply line on stdout, errors as {"error": "..."}, exit on EOF / {"op":"close"} / --max-seconds).
"""
import asyncio
import fractions
import json
import math
import os
import sys
import time

import aioice.ice

aioice.ice.get_host_addresses = lambda use_ipv4=True, use_ipv6=True: ["127.0.0.1"]

import numpy as np  # noqa: E402
from aiortc import RTCConfiguration, RTCPeerConnection  # noqa: E402
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError  # noqa: E402
from av import AudioFrame  # noqa: E402

RATE = 48000
SAMPLES = 960  # 20 ms at 48 kHz
KEEP_SECONDS = 5.0

# Q.850 names -> codes (the ones Verto uses, docs/verto-protocol.md section 2.3)
CAUSES = {
    "NORMAL_CLEARING": 16,
    "USER_BUSY": 17,
    "NO_ANSWER": 19,
    "CALL_REJECTED": 21,
    "DESTINATION_OUT_OF_ORDER": 27,
    "BEARERCAPABILITY_NOTAUTH": 57,
    "BEARERCAPABILITY_NOTAVAIL": 58,
    "INCOMPATIBLE_DESTINATION": 88,
    "INVALID_MSG_UNSPECIFIED": 95,
    "ORIGINATOR_CANCEL": 487,
    "LOSE_RACE": 502,
    "RECOVERY_ON_TIMER_EXPIRE": 605,
}


def log(*args):
    """Diagnostics go to stderr; stdout carries only protocol replies."""
    print(time.strftime("%H:%M:%S"), *args, file=sys.stderr, flush=True)


def _frame(pcm_int16, n):
    frame = AudioFrame.from_ndarray(pcm_int16.reshape(1, -1), format="s16", layout="mono")
    frame.sample_rate = RATE
    frame.pts = n * SAMPLES
    frame.time_base = fractions.Fraction(1, RATE)
    return frame


class _Paced(AudioStreamTrack):
    """Base for 48 kHz mono 20 ms frames paced in real time."""

    def __init__(self):
        super().__init__()
        self.n = 0
        self.t0 = None
        self.held = False  # when True, send digital silence (what a held server leg sounds like)

    async def _pace(self):
        if self.t0 is None:
            self.t0 = time.time()
        else:
            wait = self.t0 + self.n * SAMPLES / RATE - time.time()
            if wait > 0:
                await asyncio.sleep(wait)
            elif wait < -0.2:  # fell far behind (loop stall): resync rather than burst
                self.t0 = time.time() - self.n * SAMPLES / RATE

    def _emit(self, pcm):
        if self.held:
            pcm = np.zeros(SAMPLES, dtype=np.int16)
        frame = _frame(pcm, self.n)
        self.n += 1
        return frame


class Tone(_Paced):
    """48 kHz mono sine, 20 ms frames, paced in real time."""

    def __init__(self, hz):
        super().__init__()
        self.hz = float(hz)

    async def recv(self):
        await self._pace()
        t = (np.arange(SAMPLES) + self.n * SAMPLES) / RATE
        pcm = (8000 * np.sin(2 * math.pi * self.hz * t)).astype(np.int16)
        return self._emit(pcm)


class EchoTrack(_Paced):
    """Sends back whatever audio is fed to it (mono float samples at 48 kHz), paced in real time.
    Bounded buffer (0.3 s); silence when nothing has arrived yet."""

    MAX_BUFFER = int(0.3 * RATE)

    def __init__(self):
        super().__init__()
        self.buf = np.zeros(0, dtype=np.float64)

    def feed(self, mono):
        self.buf = np.concatenate([self.buf, mono])
        if len(self.buf) > self.MAX_BUFFER:
            self.buf = self.buf[-self.MAX_BUFFER:]

    async def recv(self):
        await self._pace()
        if len(self.buf) >= SAMPLES:
            chunk, self.buf = self.buf[:SAMPLES], self.buf[SAMPLES:]
        else:
            chunk = np.zeros(SAMPLES)
        pcm = np.clip(chunk, -32768, 32767).astype(np.int16)
        return self._emit(pcm)


class Receiver:
    """Consumes a remote audio track; keeps the last KEEP_SECONDS of mono audio."""

    def __init__(self, echo=None):
        self.chunks = []
        self.samples = 0  # samples currently held in chunks
        self.frames = 0
        self.echo = echo
        self.task = None

    def start(self, track):
        self.task = asyncio.ensure_future(self._consume(track))

    async def _consume(self, track):
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            except Exception as e:  # noqa: BLE001 - report and stop consuming
                log("receiver stopped:", type(e).__name__, e)
                return
            self.frames += 1
            data = frame.to_ndarray().astype(np.float64)
            channels = len(frame.layout.channels)
            mono = data.reshape(-1, channels).mean(axis=1) if channels > 1 else data.reshape(-1)
            if frame.sample_rate and frame.sample_rate != RATE:  # aiortc decodes to 48 kHz; be safe
                idx = np.arange(0, len(mono), frame.sample_rate / RATE)
                mono = np.interp(idx, np.arange(len(mono)), mono)
            self.chunks.append(mono)
            self.samples += len(mono)
            while self.chunks and self.samples - len(self.chunks[0]) >= KEEP_SECONDS * RATE:
                self.samples -= len(self.chunks.pop(0))
            if self.echo is not None:
                self.echo.feed(mono)

    def clear(self):
        self.chunks = []
        self.samples = 0

    async def stats(self, seconds=1.0, fresh=False, timeout=None, expect_hz=None):
        """Dominant frequency of the last `seconds` of received audio. With fresh=True the buffer is
        cleared first; in both cases waits (bounded by timeout) until `seconds` of audio are held.
        With expect_hz, listens to fresh windows of `seconds` until one is dominated by that frequency
        (within 5 Hz) or the timeout (default 15 s) passes, and reports the last window."""
        if expect_hz is not None:
            end = time.time() + (float(timeout) if timeout is not None else 15.0)
            while True:
                r = await self.stats(seconds, True, max(0.1, end - time.time()))
                if abs(r["dominant_hz"] - float(expect_hz)) < 5 or time.time() >= end:
                    return r
        seconds = max(0.05, min(float(seconds), KEEP_SECONDS))
        if fresh:
            self.clear()
        end = time.time() + (float(timeout) if timeout is not None else seconds + 5.0)
        need = int(seconds * RATE)
        while self.samples < need and time.time() < end:
            await asyncio.sleep(0.02)
        if not self.chunks:
            return {"dominant_hz": 0, "frames": self.frames, "power": {}, "rms": 0.0, "seconds": 0.0}
        x = np.concatenate(self.chunks)[-need:]
        rms = float(np.sqrt(np.mean(x ** 2)))
        x = x - x.mean()
        spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
        freqs = np.fft.rfftfreq(len(x), 1 / RATE)
        total = float((spectrum ** 2).sum()) or 1.0
        dominant = float(freqs[int(spectrum.argmax())]) if rms > 1.0 else 0.0
        power = {}
        for hz in (440, 660, 1000):
            band = (freqs > hz - 15) & (freqs < hz + 15)
            power[str(hz)] = round(float((spectrum[band] ** 2).sum()) / total, 4)
        return {
            "dominant_hz": round(dominant, 1),
            "frames": self.frames,
            "power": power,
            "rms": round(rms, 1),
            "seconds": round(len(x) / RATE, 3),
        }


def new_peer_connection():
    """aiortc peer connection with no ICE servers (loopback host candidate only, via the patch above)."""
    return RTCPeerConnection(RTCConfiguration(iceServers=[]))


def transport_state(pc):
    ice, dtls = "new", "new"
    for t in pc.getTransceivers():
        d = t.sender.transport
        if d is not None:
            dtls = d.state
            ice = d.transport.state
    return ice, dtls


async def wait_connected(pc, timeout):
    end = time.time() + float(timeout)
    t0 = time.time()
    while time.time() < end and transport_state(pc)[1] not in ("connected", "failed", "closed"):
        await asyncio.sleep(0.01)
    ice, dtls = transport_state(pc)
    return {"connected": dtls == "connected", "ice": ice, "dtls": dtls, "waited": round(time.time() - t0, 3)}


def truncate_sdp(obj, limit=60):
    """Deep copy of a JSON value with every "sdp" string shortened (for event logs)."""
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if k == "sdp" and isinstance(v, str):
                out[k] = v[:limit].replace("\r\n", "|") + ("...(%d chars)" % len(v) if len(v) > limit else "")
            else:
                out[k] = truncate_sdp(v, limit)
        return out
    if isinstance(obj, list):
        return [truncate_sdp(v, limit) for v in obj]
    return obj


def sdp_summary(sdp):
    """A few facts about an SDP, for reports: setup role, fingerprints, codecs, candidates."""
    lines = [ln.strip() for ln in (sdp or "").splitlines()]
    return {
        "setup": [ln.split(":", 1)[1] for ln in lines if ln.startswith("a=setup:")],
        "fingerprints": [ln.split(":", 1)[1].split(" ")[0] for ln in lines if ln.startswith("a=fingerprint:")],
        "codecs": [ln.split(" ", 1)[1] for ln in lines if ln.startswith("a=rtpmap:")],
        "candidates": len([ln for ln in lines if ln.startswith("a=candidate:")]),
        "m": [ln for ln in lines if ln.startswith("m=")],
    }


def fs_style_offer(sdp):
    """Make an aiortc offer look like a FreeSWITCH offer to a Verto client: no a=mid, no BUNDLE group,
    no a=extmap, profile RTP/SAVPF (docs/verto-protocol.md section 5.1, docs/testing.md)."""
    out = []
    for ln in sdp.split("\r\n"):
        if ln.startswith(("a=mid:", "a=group:BUNDLE", "a=extmap:")):
            continue
        if ln.startswith("m=audio") or ln.startswith("m=video"):
            ln = ln.replace("UDP/TLS/RTP/SAVPF", "RTP/SAVPF")
        out.append(ln)
    return "\r\n".join(out)


def add_missing_mids(sdp, mids):
    """aiortc rejects an answer whose m-sections carry no a=mid when its own offer had mids
    ("Media sections in answer do not match offer"). For answers to an fs_style offer (which a client
    may legitimately answer without a=mid) insert the mids of our offer, matched by position, and drop
    an empty "a=group:BUNDLE" line."""
    if "a=mid:" in sdp:
        return sdp
    out, i = [], 0
    for ln in sdp.split("\r\n"):
        if ln.strip() == "a=group:BUNDLE":
            continue
        out.append(ln)
        if ln.startswith("m=") and i < len(mids):
            out.append("a=mid:%s" % mids[i])
            i += 1
    return "\r\n".join(out)


def cause_code(cause, code=None):
    if code is not None:
        try:
            return int(code)
        except (TypeError, ValueError):
            pass
    return CAUSES.get(str(cause or "NORMAL_CLEARING"), 16)


def write_line(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


async def serve_stdin(handle, max_seconds, cleanup):
    """Run the JSON-lines control loop. `handle(cmd)` is an async function returning the reply dict;
    returning a dict with key "_exit" ends the loop after replying. Bounded by max_seconds; exits on EOF.
    Always calls `cleanup()` (bounded to 5 s) and then hard-exits the process."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=16 * 1024 * 1024)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)

    async def run():
        while True:
            line = await reader.readline()
            if not line:
                log("stdin EOF, exiting")
                return
            line = line.strip()
            if not line:
                continue
            try:
                cmd = json.loads(line)
                if not isinstance(cmd, dict):
                    raise ValueError("command must be a JSON object")
            except ValueError as e:
                write_line({"error": "bad command JSON: %s" % e})
                continue
            try:
                out = await handle(cmd)
            except asyncio.TimeoutError:
                out = {"error": "timeout in op %r" % cmd.get("op")}
            except Exception as e:  # noqa: BLE001 - report, keep serving
                out = {"error": "%s: %s" % (type(e).__name__, e)}
            exit_after = isinstance(out, dict) and out.pop("_exit", False)
            write_line(out)
            if exit_after:
                return

    try:
        await asyncio.wait_for(run(), timeout=max_seconds)
    except asyncio.TimeoutError:
        log("--max-seconds reached, exiting")
    try:
        await asyncio.wait_for(cleanup(), timeout=5)
    except Exception as e:  # noqa: BLE001
        log("cleanup:", type(e).__name__, e)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
