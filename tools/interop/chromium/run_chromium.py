#!/usr/bin/env python3
"""run_chromium.py - run verto_test_page.html in headless Chromium against a Verto server.

Launches headless Chromium (fake capture device playing a generated tone WAV), opens the page with
the given Verto parameters, polls window.vertoResult over the Chrome DevTools Protocol (plain
WebSocket, no selenium/chromedriver), prints ONE JSON line with the result and exits
0 on success (call established and a dominant frequency measured, within --expect-hz if given),
1 on failure, 2 on harness errors (Chromium missing, did not start...). Chromium is always killed.

Example:
  python run_chromium.py --url ws://127.0.0.1:8082/ --login 1001@127.0.0.1 --password pw \
      --mode call --destination 9196 --tone 440 --timeout 30 --expect-hz 440
"""
import argparse
import asyncio
import json
import math
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import wave

import websockets

HERE = os.path.dirname(os.path.abspath(__file__))
PAGE = os.path.join(HERE, "verto_test_page.html")


def find_chromium(explicit):
    for c in [explicit, os.environ.get("CHROMIUM"), "/usr/lib/chromium/chromium",
              shutil.which("chromium"), shutil.which("chromium-browser"),
              shutil.which("google-chrome"), shutil.which("google-chrome-stable")]:
        if c and os.path.isfile(c) and os.access(c, os.X_OK):
            return c
    return None


def write_tone_wav(path, hz, seconds=5.0, rate=48000, amplitude=0.5):
    """48 kHz mono 16-bit PCM sine. Chromium loops the file; an integral number of periods in the
    file keeps the loop point click-free (exact for integral hz * seconds)."""
    n = int(round(seconds * rate))
    periods = round(hz * n / rate)
    if periods > 0:  # stretch the frequency a hair so the file holds whole periods
        hz_eff = periods * rate / n
    else:
        hz_eff = hz
    peak = int(amplitude * 32767)
    frames = bytearray()
    for i in range(n):
        frames += struct.pack("<h", int(peak * math.sin(2 * math.pi * hz_eff * i / rate)))
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(bytes(frames))


def chromium_flags(user_data_dir, wav):
    return [
        "--headless=new",
        "--no-sandbox",                               # we run as root in CI
        "--user-data-dir=" + user_data_dir,
        "--remote-debugging-port=0",                  # port written to DevToolsActivePort
        "--remote-debugging-address=127.0.0.1",
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        "--use-file-for-fake-audio-capture=" + wav,   # looped
        "--allow-loopback-in-peer-connection",        # offer 127.0.0.1 host candidates
        "--disable-features=WebRtcHideLocalIpsWithMdns",
        "--autoplay-policy=no-user-gesture-required",
        "--allow-file-access-from-files",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-default-apps",
        "--disable-extensions",
        "--disable-breakpad",
        "--metrics-recording-only",
        "--password-store=basic",
        "--use-mock-keychain",
        "--disable-background-timer-throttling",
        "--disable-renderer-backgrounding",
        "--disable-backgrounding-occluded-windows",
        "about:blank",
    ]


class CDP:
    """Minimal Chrome DevTools Protocol client over one page-target WebSocket."""

    def __init__(self, ws):
        self.ws = ws
        self.next_id = 1
        self.waiters = {}
        self.events = []
        self.reader = asyncio.ensure_future(self._read())

    async def _read(self):
        try:
            async for raw in self.ws:
                msg = json.loads(raw)
                if "id" in msg and msg["id"] in self.waiters:
                    self.waiters.pop(msg["id"]).set_result(msg)
                elif "method" in msg:
                    self.events.append(msg)
                    if len(self.events) > 200:
                        del self.events[:100]
        except Exception:
            pass
        for f in self.waiters.values():
            if not f.done():
                f.set_exception(ConnectionError("DevTools connection closed"))

    async def send(self, method, params=None, timeout=10):
        i = self.next_id
        self.next_id += 1
        fut = asyncio.get_running_loop().create_future()
        self.waiters[i] = fut
        await self.ws.send(json.dumps({"id": i, "method": method, "params": params or {}}))
        msg = await asyncio.wait_for(fut, timeout)
        if "error" in msg:
            raise RuntimeError("%s: %s" % (method, msg["error"]))
        return msg.get("result", {})

    async def evaluate(self, expression, timeout=10):
        r = await self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                 "awaitPromise": True}, timeout)
        if "exceptionDetails" in r:
            raise RuntimeError("evaluate: %s" % r["exceptionDetails"].get("text"))
        return r.get("result", {}).get("value")

    async def close(self):
        self.reader.cancel()
        try:
            await self.ws.close()
        except Exception:
            pass


def console_lines(events, limit=20):
    out = []
    for e in events:
        if e.get("method") == "Runtime.exceptionThrown":
            d = e["params"]["exceptionDetails"]
            out.append("exception: %s %s" % (d.get("text"), (d.get("exception") or {}).get("description", "")))
        elif e.get("method") == "Runtime.consoleAPICalled":
            args = [str(a.get("value", a.get("description", ""))) for a in e["params"].get("args", [])]
            out.append("console.%s: %s" % (e["params"].get("type"), " ".join(args)))
    return out[-limit:]


async def wait_devtools(proc, user_data_dir, deadline):
    port_file = os.path.join(user_data_dir, "DevToolsActivePort")
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("chromium exited with code %s" % proc.returncode)
        try:
            with open(port_file) as f:
                lines = f.read().split()
            if lines:
                return int(lines[0])
        except (OSError, ValueError):
            pass
        await asyncio.sleep(0.05)
    raise RuntimeError("chromium did not open DevTools in time")


def http_json(url):
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.loads(r.read().decode())


async def run(args, proc, user_data_dir, page_url, started):
    deadline = started + args.timeout
    port = await wait_devtools(proc, user_data_dir, min(deadline, time.time() + 20))
    target = None
    while time.time() < deadline and target is None:
        try:
            for t in http_json("http://127.0.0.1:%d/json/list" % port):
                if t.get("type") == "page" and t.get("webSocketDebuggerUrl"):
                    target = t
                    break
        except OSError:
            pass
        if target is None:
            await asyncio.sleep(0.1)
    if target is None:
        raise RuntimeError("no page target")
    ws = await websockets.connect(target["webSocketDebuggerUrl"], max_size=64 * 1024 * 1024,
                                  ping_interval=None, open_timeout=10)
    cdp = CDP(ws)
    result = None
    hung_up = False
    try:
        await cdp.send("Runtime.enable")
        await cdp.send("Page.enable")
        await cdp.send("Page.navigate", {"url": page_url})
        while time.time() < deadline:
            await asyncio.sleep(0.2)
            try:
                text = await cdp.evaluate("JSON.stringify(window.vertoResult || null)",
                                          timeout=max(1, deadline - time.time()))
            except (RuntimeError, asyncio.TimeoutError):
                continue
            if not text:
                continue
            result = json.loads(text)
            if not isinstance(result, dict):
                # The page has not set window.vertoResult yet ("null"): poll again.
                result = None
                continue
            if not result.get("done"):
                continue
            if args.expect_bye and result.get("ok") and not result.get("byeReceived"):
                continue  # keep the call up until the server's verto.bye (bounded by --timeout)
            if args.hangup_after is not None and result.get("ok") and not hung_up:
                since = result.get("connectedAt")
                now_page = await cdp.evaluate("performance.now()/1000")
                # connectedAt is in page seconds since script start, close enough to performance.now()
                wait = max(0.0, (since or 0) + args.hangup_after - (now_page or 0))
                await asyncio.sleep(min(wait, max(0, deadline - time.time())))
                await cdp.evaluate("window.hangup().then(r => JSON.stringify(r))",
                                   timeout=max(1, deadline - time.time()))
                hung_up = True
                text = await cdp.evaluate("JSON.stringify(window.vertoResult)")
                result = json.loads(text)
            break
        if result is None or not result.get("done"):
            # timed out: take a last snapshot with stats
            try:
                await cdp.evaluate("window.collectStats ? window.collectStats() : 0", timeout=2)
                text = await cdp.evaluate("JSON.stringify(window.vertoResult || null)", timeout=2)
                result = json.loads(text) if text else None
            except Exception:
                pass
            if result is not None:
                result["error"] = result.get("error") or "timeout after %gs in state %s" % (args.timeout, result.get("state"))
            else:
                result = {"error": "timeout after %gs: page did not load" % args.timeout}
            result["timedOut"] = True
    finally:
        result = result or {}
        result["console"] = console_lines(cdp.events)
        await cdp.close()
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", required=True, help="Verto WebSocket URL, e.g. ws://127.0.0.1:8082/")
    ap.add_argument("--login", default="1001@127.0.0.1")
    ap.add_argument("--password", default="")
    ap.add_argument("--mode", choices=["call", "answer"], default="call")
    ap.add_argument("--destination", default="9196")
    ap.add_argument("--tone", type=float, default=440.0, help="fake capture tone (Hz)")
    ap.add_argument("--timeout", type=float, default=30.0, help="overall bound (s)")
    ap.add_argument("--hangup-after", type=float, default=None,
                    help="send verto.bye this many seconds after the call connected (after measuring)")
    ap.add_argument("--expect-bye", action="store_true",
                    help="after measuring, wait (within --timeout) for the server's verto.bye; fail without it")
    ap.add_argument("--expect-hz", type=float, default=None, help="fail unless dominantHz is within --tolerance")
    ap.add_argument("--tolerance", type=float, default=20.0)
    ap.add_argument("--candidates", choices=["loopback", "all"], default="loopback",
                    help="loopback: page sends only UDP 127.0.0.1 candidates; all: Chromium's full list")
    ap.add_argument("--measure-ms", type=int, default=1500)
    ap.add_argument("--page-param", action="append", default=[], metavar="K=V",
                    help="extra query parameter for the page (probe=0, echoBye=0, strict=0, ...)")
    ap.add_argument("--chromium", default=None, help="Chromium binary (default: auto)")
    ap.add_argument("--log-lines", type=int, default=15, help="page log lines in the output")
    ap.add_argument("--full-log", action="store_true", help="print the whole page log and Chromium stderr to stderr")
    args = ap.parse_args()

    started = time.time()
    out = {"ok": False}
    binary = find_chromium(args.chromium)
    if not binary:
        print(json.dumps({"ok": False, "error": "chromium not found (run install_chromium.sh)"}))
        return 2
    tmp = tempfile.mkdtemp(prefix="verto-chromium-")
    wav = os.path.join(tmp, "tone.wav")
    write_tone_wav(wav, args.tone)
    udd = os.path.join(tmp, "profile")
    os.mkdir(udd)
    query = {"url": args.url, "login": args.login, "password": args.password, "mode": args.mode,
             "destination": args.destination, "candidates": args.candidates, "measure": str(args.measure_ms),
             "measureTimeout": str(int(max(2000, args.timeout * 1000 - 3000)))}
    for kv in args.page_param:
        k, _, v = kv.partition("=")
        query[k] = v
    page_url = "file://" + urllib.parse.quote(PAGE) + "?" + urllib.parse.urlencode(query)

    stderr_path = os.path.join(tmp, "chromium.stderr")
    stderr_f = open(stderr_path, "wb")
    proc = subprocess.Popen([binary] + chromium_flags(udd, wav), stdin=subprocess.DEVNULL,
                            stdout=stderr_f, stderr=stderr_f, start_new_session=True)

    def kill_chromium():
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                proc.wait(3)
            except subprocess.TimeoutExpired:
                pass
        try:  # helpers (zygote, renderers) share the process group
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            proc.wait(3)
        except subprocess.TimeoutExpired:
            pass

    def on_signal(signum, frame):
        kill_chromium()
        shutil.rmtree(tmp, ignore_errors=True)
        sys.exit(128 + signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    code = 1
    try:
        try:
            res = asyncio.run(asyncio.wait_for(run(args, proc, udd, page_url, started), args.timeout + 15))
        except Exception as e:  # harness failure
            res = {"error": "harness: %s: %s" % (type(e).__name__, e)}
            code = 2
        ok = bool(res.get("ok")) and res.get("dominantHz") is not None
        if ok and args.expect_hz is not None and abs(res["dominantHz"] - args.expect_hz) > args.tolerance:
            ok = False
            res["error"] = "dominant %.1f Hz, expected %.1f +- %.1f" % (res["dominantHz"], args.expect_hz, args.tolerance)
        if ok and args.expect_bye and not res.get("byeReceived"):
            ok = False
            res["error"] = res.get("error") or "no verto.bye from the server"
        if ok and args.hangup_after is not None:
            br = res.get("byeResult") or {}
            if "result" not in br:
                ok = False
                res["error"] = "verto.bye failed: %s" % json.dumps(br)
        out = {
            "ok": ok,
            "mode": args.mode,
            "dominantHz": res.get("dominantHz"),
            "levelDb": res.get("levelDb"),
            "state": res.get("state"),
            "loggedIn": res.get("loggedIn"),
            "clientReady": res.get("clientReady"),
            "callID": res.get("callID"),
            "iceState": res.get("iceState"),
            "connectionState": res.get("connectionState"),
            "dtlsState": res.get("dtlsState"),
            "remoteSdpFrom": res.get("remoteSdpFrom"),
            "iceGatheringMs": res.get("iceGatheringMs"),
            "localCandidates": res.get("localCandidates"),
            "stats": res.get("stats"),
            "byeReceived": res.get("byeReceived"),
            "byeResult": res.get("byeResult"),
            "violations": res.get("violations"),
            "error": res.get("error"),
            "elapsed": round(time.time() - started, 2),
            "log": (res.get("log") or [])[-args.log_lines:],
        }
        if res.get("console"):
            out["console"] = res["console"]
        if res.get("timedOut"):
            out["timedOut"] = True
        if not ok and code != 2:
            code = 1
        elif ok:
            code = 0
        if args.full_log or not ok:
            try:
                with open(stderr_path, "rb") as f:
                    tail = f.read()[-3000:].decode("utf-8", "replace")
            except OSError:
                tail = ""
            if args.full_log:
                sys.stderr.write("\n".join(res.get("log") or []) + "\n--- chromium stderr ---\n" + tail + "\n")
            elif not ok:
                noise = ("dbus", "DBus", "Fontconfig", "gcm", "GCM", "ALSA", "pulse", "viz_main_impl")
                lines = [l for l in tail.strip().splitlines()[1:] if not any(n in l for n in noise)]
                out["chromiumStderrTail"] = lines[-8:]
    finally:
        kill_chromium()
        stderr_f.close()
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(out), flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
