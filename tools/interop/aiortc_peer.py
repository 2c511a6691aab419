"""aiortc_peer.py - an independent WebRTC audio peer (aiortc) driven over stdin/stdout JSON lines.

Used by the Swift interop tests: the test exchanges SDP with this process, both ends send a tone,
and each end reports the dominant frequency it received. aiortc is restricted to 127.0.0.1 and
given no ICE servers (docs/testing.md). Bounded: exits on EOF, on {"op":"close"}, or after --max-seconds.

Commands (one JSON object per line on stdin), each answered with one JSON line on stdout:
  {"op":"offer"}                      -> {"sdp": <aiortc offer, candidates included>}
  {"op":"answer","sdp":<remote offer>} -> {"sdp": <aiortc answer>}
  {"op":"remote","sdp":<remote answer>} -> {"ok": true}
  {"op":"wait_connected","timeout":s} -> {"ice": state, "dtls": state, "connected": bool}
  {"op":"stats","seconds":s[,"expect_hz":f,"timeout":s]}
                                      -> {"dominant_hz": f, "frames": n, "power": {hz: relative}}
  {"op":"close"}                      -> {"ok": true}, then exit
Usage: python aiortc_peer.py --tone 660 [--max-seconds 30]
"""
import argparse
import asyncio
import json
import sys
import time

# The loopback-only aioice patch, the paced Tone track and the constants are shared with the Verto
# harnesses (same directory).
from verto_harness_common import RATE, Tone  # noqa: E402  (applies the aioice patch on import)

import numpy as np  # noqa: E402
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription  # noqa: E402
from aiortc.mediastreams import MediaStreamError  # noqa: E402


class Peer:
    def __init__(self, hz):
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.pc.addTrack(Tone(hz))
        self.received = []  # mono float samples at 48 kHz
        self.frames = 0

        @self.pc.on("track")
        def on_track(track):
            asyncio.ensure_future(self.consume(track))

    async def consume(self, track):
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            self.frames += 1
            data = frame.to_ndarray().astype(np.float64)
            channels = len(frame.layout.channels)
            mono = data.reshape(-1, channels).mean(axis=1) if channels > 1 else data.reshape(-1)
            self.received.append(mono)
            if len(self.received) > 250:
                self.received = self.received[-250:]

    def transports(self):
        ice, dtls = "new", "new"
        for t in self.pc.getTransceivers():
            d = t.sender.transport
            if d is not None:
                dtls = d.state
                ice = d.transport.state
        return ice, dtls

    def stats(self, seconds):
        if not self.received:
            return {"dominant_hz": 0, "frames": self.frames, "power": {}}
        x = np.concatenate(self.received)[-int(seconds * RATE):]
        x = x - x.mean()
        spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
        freqs = np.fft.rfftfreq(len(x), 1 / RATE)
        total = float((spectrum ** 2).sum()) or 1.0
        dominant = float(freqs[int(spectrum.argmax())])
        power = {}
        for hz in (440, 660, 1000):
            band = (freqs > hz - 15) & (freqs < hz + 15)
            power[str(hz)] = float((spectrum[band] ** 2).sum()) / total
        return {"dominant_hz": dominant, "frames": self.frames, "power": power}


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tone", type=float, default=660)
    ap.add_argument("--max-seconds", type=float, default=30)
    args = ap.parse_args()
    peer = Peer(args.tone)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    deadline = time.time() + args.max_seconds

    def reply(obj):
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()

    while time.time() < deadline:
        try:
            line = await asyncio.wait_for(reader.readline(), timeout=max(0.1, deadline - time.time()))
        except asyncio.TimeoutError:
            break
        if not line:
            break
        cmd = json.loads(line)
        op = cmd.get("op")
        try:
            if op == "offer":
                await peer.pc.setLocalDescription(await peer.pc.createOffer())
                reply({"sdp": peer.pc.localDescription.sdp})
            elif op == "answer":
                await peer.pc.setRemoteDescription(RTCSessionDescription(cmd["sdp"], "offer"))
                await peer.pc.setLocalDescription(await peer.pc.createAnswer())
                reply({"sdp": peer.pc.localDescription.sdp})
            elif op == "remote":
                await peer.pc.setRemoteDescription(RTCSessionDescription(cmd["sdp"], "answer"))
                reply({"ok": True})
            elif op == "wait_connected":
                end = time.time() + float(cmd.get("timeout", 10))
                while time.time() < end and peer.transports()[1] not in ("connected", "failed"):
                    await asyncio.sleep(0.01)
                ice, dtls = peer.transports()
                reply({"ice": ice, "dtls": dtls, "connected": dtls == "connected"})
            elif op == "stats":
                seconds = float(cmd.get("seconds", 0.5))
                if cmd.get("expect_hz") is None:
                    reply(peer.stats(seconds))
                else:
                    # Windows of `seconds` as audio arrives, until one is dominated by expect_hz.
                    expect, end = float(cmd["expect_hz"]), time.time() + float(cmd.get("timeout", 15))
                    while True:
                        r = peer.stats(seconds)
                        if abs(r["dominant_hz"] - expect) < 5 or time.time() >= end:
                            break
                        await asyncio.sleep(seconds / 2)
                    reply(r)
            elif op == "close":
                await peer.pc.close()
                reply({"ok": True})
                return
            else:
                reply({"error": "unknown op %r" % op})
        except Exception as e:  # report, keep serving
            reply({"error": "%s: %s" % (type(e).__name__, e)})
    await peer.pc.close()


if __name__ == "__main__":
    asyncio.run(main())
