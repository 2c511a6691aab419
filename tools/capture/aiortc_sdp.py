#!/usr/bin/env python3
"""Capture real SDPs from aiortc (an independent WebRTC stack) for SDPCore's fixtures.

Makes an audio-only offer from one RTCPeerConnection and the answer of a second one, with no ICE
servers and host candidates on 127.0.0.1 only, and writes them as
Fixtures/sdp/aiortc-offer.sdp and Fixtures/sdp/aiortc-answer.sdp (CRLF, exactly as aiortc emits).

Usage (from the repository root):
    python3 -m venv .venv && .venv/bin/pip install aiortc
    .venv/bin/python tools/capture/aiortc_sdp.py [output-dir]
"""
import asyncio
import os
import sys

import aioice.ice
from aiortc import RTCConfiguration, RTCPeerConnection
from aiortc.mediastreams import AudioStreamTrack

# Stay on loopback: aioice enumerates every interface unless told otherwise.
aioice.ice.get_host_addresses = lambda use_ipv4=True, use_ipv6=True: ["127.0.0.1"]


async def capture(out_dir: str) -> None:
    config = RTCConfiguration(iceServers=[])
    caller = RTCPeerConnection(configuration=config)
    callee = RTCPeerConnection(configuration=config)
    try:
        caller.addTrack(AudioStreamTrack())
        offer = await caller.createOffer()
        await caller.setLocalDescription(offer)  # gathers candidates (no trickle in aiortc)
        await callee.setRemoteDescription(caller.localDescription)
        callee.addTrack(AudioStreamTrack())
        answer = await callee.createAnswer()
        await callee.setLocalDescription(answer)
        await caller.setRemoteDescription(callee.localDescription)
        os.makedirs(out_dir, exist_ok=True)
        for name, desc in (("aiortc-offer.sdp", caller.localDescription),
                           ("aiortc-answer.sdp", callee.localDescription)):
            path = os.path.join(out_dir, name)
            with open(path, "w", newline="") as f:
                f.write(desc.sdp)
            print(f"wrote {path} ({desc.type}, {len(desc.sdp)} bytes)")
    finally:
        await caller.close()
        await callee.close()


if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    default_out = os.path.join(here, "..", "..", "Fixtures", "sdp")
    asyncio.run(capture(os.path.normpath(sys.argv[1] if len(sys.argv) > 1 else default_out)))
