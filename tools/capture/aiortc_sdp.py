#!/usr/bin/env python3
"""Capture real SDPs from aiortc (an independent WebRTC stack) and check that aiortc accepts ours.

1. Makes an audio-only offer from one RTCPeerConnection and the answer of a second one, with no ICE
   servers and host candidates on 127.0.0.1 only          -> aiortc-offer.sdp, aiortc-answer.sdp
   (only written when missing or with --recapture, because tests pin their values).
2. If Fixtures/sdp/vertophone-offer.sdp exists (SDPCore's golden offer): aiortc answers it
                                                          -> aiortc-answer-to-vertophone-offer.sdp
3. If Fixtures/sdp/vertophone-answer-to-aiortc-offer.sdp exists (SDPCore's golden answer to
   aiortc-offer.sdp): a fresh aiortc offer gets it as remote answer; prints whether aiortc accepts it.

Usage (from the repository root):
    python3 -m venv .venv && .venv/bin/pip install aiortc
    .venv/bin/python tools/capture/aiortc_sdp.py [--recapture]
"""
import asyncio
import os
import sys

import aioice.ice
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack

# Stay on loopback: aioice enumerates every interface unless told otherwise.
aioice.ice.get_host_addresses = lambda use_ipv4=True, use_ipv6=True: ["127.0.0.1"]

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.normpath(os.path.join(HERE, "..", "..", "Fixtures", "sdp"))
CONFIG = RTCConfiguration(iceServers=[])


def write(name: str, sdp: str, keep_existing: bool = False) -> None:
    path = os.path.join(OUT, name)
    if keep_existing and os.path.exists(path):
        print(f"kept {path} (use --recapture to replace)")
        return
    with open(path, "w", newline="") as f:
        f.write(sdp)
    print(f"wrote {path} ({len(sdp)} bytes)")


def read(name: str):
    path = os.path.join(OUT, name)
    return open(path, newline="").read() if os.path.exists(path) else None


async def capture(recapture: bool) -> int:
    status = 0
    caller = RTCPeerConnection(configuration=CONFIG)
    callee = RTCPeerConnection(configuration=CONFIG)
    try:
        caller.addTrack(AudioStreamTrack())
        await caller.setLocalDescription(await caller.createOffer())  # gathers (aiortc does not trickle)
        await callee.setRemoteDescription(caller.localDescription)
        callee.addTrack(AudioStreamTrack())
        await callee.setLocalDescription(await callee.createAnswer())
        await caller.setRemoteDescription(callee.localDescription)
        write("aiortc-offer.sdp", caller.localDescription.sdp, keep_existing=not recapture)
        write("aiortc-answer.sdp", callee.localDescription.sdp, keep_existing=not recapture)
    finally:
        await caller.close()
        await callee.close()

    ours = read("vertophone-offer.sdp")
    if ours:
        pc = RTCPeerConnection(configuration=CONFIG)
        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=ours, type="offer"))
            pc.addTrack(AudioStreamTrack())
            await pc.setLocalDescription(await pc.createAnswer())
            write("aiortc-answer-to-vertophone-offer.sdp", pc.localDescription.sdp)
        except Exception as e:  # report and fail, keep going
            print(f"aiortc rejected our offer: {e!r}")
            status = 1
        finally:
            await pc.close()

    our_answer = read("vertophone-answer-to-aiortc-offer.sdp")
    if our_answer:
        pc = RTCPeerConnection(configuration=CONFIG)
        try:
            pc.addTrack(AudioStreamTrack())
            await pc.setLocalDescription(await pc.createOffer())
            await pc.setRemoteDescription(RTCSessionDescription(sdp=our_answer, type="answer"))
            print(f"aiortc accepted our answer ({len(our_answer)} bytes)")
        except Exception as e:
            print(f"aiortc rejected our answer: {e!r}")
            status = 1
        finally:
            await pc.close()
    return status


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    sys.exit(asyncio.run(capture("--recapture" in sys.argv)))
