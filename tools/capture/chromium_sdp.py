#!/usr/bin/env python3
"""Capture real SDPs from headless Chromium and check that Chromium accepts ours.

Serves a tiny page on 127.0.0.1 and launches Debian's `chromium` headless on it. The page:
  1. makes an audio offer (fake capture device) and waits for ICE gathering to finish,
     then has a second RTCPeerConnection answer it           -> chromium-offer.sdp, chromium-answer.sdp
  2. if Fixtures/sdp/vertophone-offer.sdp exists (SDPCore's own offer, a golden file written by
     its tests): sets it as remote offer and answers it      -> chromium-answer-to-vertophone-offer.sdp
  3. if Fixtures/sdp/vertophone-answer-to-chromium-offer.sdp exists (SDPCore's answer to
     chromium-offer.sdp): makes a fresh offer and applies that answer; prints whether Chromium accepts it.
No ICE servers are configured; host candidates stay mDNS-obfuscated as Chromium writes them by default.
chromium-offer.sdp / chromium-answer.sdp are only (re)written with --recapture or when missing, so that
the golden answer derived from the offer stays valid.

Usage (from the repository root; `apt-get install -y chromium` first):
    python3 tools/capture/chromium_sdp.py [--recapture]
"""
import http.server
import json
import os
import subprocess
import sys
import tempfile
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.normpath(os.path.join(HERE, "..", "..", "Fixtures", "sdp"))

PAGE = r"""<!doctype html><meta charset="utf-8"><title>sdp capture</title><script>
const post = (name, body) => fetch('/result/' + name, {method: 'POST', body});
const gathered = pc => new Promise(resolve => {
  if (pc.iceGatheringState === 'complete') return resolve();
  pc.addEventListener('icegatheringstatechange', () => { if (pc.iceGatheringState === 'complete') resolve(); });
  setTimeout(resolve, 5000);
});
async function audioTrack() {
  const s = await navigator.mediaDevices.getUserMedia({audio: true, video: false});
  return s.getAudioTracks()[0];
}
async function step(name, f) {
  try { await f(); } catch (e) { await post(name + '.error', String(e)); }
}
(async () => {
  const cfg = {iceServers: []};
  await step('capture', async () => {
    const a = new RTCPeerConnection(cfg), b = new RTCPeerConnection(cfg);
    a.addTrack(await audioTrack());
    await a.setLocalDescription(await a.createOffer());
    await gathered(a);
    await post('chromium-offer.sdp', a.localDescription.sdp);
    await b.setRemoteDescription(a.localDescription);
    b.addTrack(await audioTrack());
    await b.setLocalDescription(await b.createAnswer());
    await gathered(b);
    await post('chromium-answer.sdp', b.localDescription.sdp);
    await a.setRemoteDescription(b.localDescription);
    a.close(); b.close();
  });
  const ours = await (await fetch('/fixture/vertophone-offer.sdp')).text();
  if (ours) await step('answer-ours', async () => {
    const c = new RTCPeerConnection(cfg);
    await c.setRemoteDescription({type: 'offer', sdp: ours});
    c.getTransceivers().forEach(t => { t.direction = 'sendrecv'; });
    c.addTrack(await audioTrack());
    await c.setLocalDescription(await c.createAnswer());
    await gathered(c);
    await post('chromium-answer-to-vertophone-offer.sdp', c.localDescription.sdp);
    c.close();
  });
  const ourAnswer = await (await fetch('/fixture/vertophone-answer-to-chromium-offer.sdp')).text();
  if (ourAnswer) await step('apply-our-answer', async () => {
    const d = new RTCPeerConnection(cfg);
    d.addTrack(await audioTrack());
    await d.setLocalDescription(await d.createOffer());
    await d.setRemoteDescription({type: 'answer', sdp: ourAnswer});
    await post('apply-our-answer.ok', d.remoteDescription.sdp.length + ' bytes accepted');
    d.close();
  });
  await post('done', '');
})();
</script>"""


def main() -> int:
    recapture = "--recapture" in sys.argv
    results: dict[str, str] = {}
    done = threading.Event()

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            body = b""
            if self.path == "/":
                body = PAGE.encode()
            elif self.path.startswith("/fixture/"):
                path = os.path.join(OUT, os.path.basename(self.path))
                if os.path.exists(path):
                    body = open(path, "rb").read()
            self.send_response(200)
            self.send_header("Content-Type", "text/html" if self.path == "/" else "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):
            n = int(self.headers.get("Content-Length", "0"))
            name = self.path.rsplit("/", 1)[-1]
            results[name] = self.rfile.read(n).decode()
            self.send_response(204)
            self.end_headers()
            if name == "done":
                done.set()

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    with tempfile.TemporaryDirectory() as profile:
        browser = subprocess.Popen([
            "chromium", "--headless=new", "--no-sandbox", "--no-first-run", "--disable-gpu",
            f"--user-data-dir={profile}", "--allow-loopback-in-peer-connection",
            "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream", url,
        ], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            finished = done.wait(60)
        finally:
            browser.terminate()
            browser.wait(10)
    server.shutdown()
    if not finished:
        print("timed out waiting for the page", file=sys.stderr)
    version = subprocess.run(["chromium", "--version"], capture_output=True, text=True).stdout.strip()
    print(version)
    status = 0
    for name, body in sorted(results.items()):
        if name.endswith(".sdp"):
            path = os.path.join(OUT, name)
            if name in ("chromium-offer.sdp", "chromium-answer.sdp") and os.path.exists(path) and not recapture:
                print(f"kept {path} (use --recapture to replace)")
                continue
            with open(path, "w", newline="") as f:
                f.write(body)
            print(f"wrote {path} ({len(body)} bytes)")
        elif name != "done":
            print(f"{name}: {body}")
            if name.endswith(".error"):
                status = 1
    return status if finished else 2


if __name__ == "__main__":
    sys.exit(main())
