#!/bin/bash
# selftest.sh - validate the Chromium interop harness against the stand-in Verto server (aiortc).
# Scenarios: call 9196 (echo, 440 Hz back), call 9664 (1000 Hz), call 9198 (early media),
# call 9199 (server hangs up), hangup by the page, wrong password, and mode=answer (server calls the
# browser with 660 Hz and must hear the browser's 440 Hz). Exits non-zero on the first failure.
# Env: PYTHON (default: <repo>/.venv/bin/python), RUNS (default 1: repeat the whole suite).
set -u
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
RUNS="${RUNS:-1}"
PW="selftest-pw"
TMP="$(mktemp -d /tmp/verto-chromium-selftest.XXXXXX)"
SERVER_PIDS=()

cleanup() {
    for pid in "${SERVER_PIDS[@]}"; do
        kill "$pid" 2>/dev/null
    done
    for pid in "${SERVER_PIDS[@]}"; do
        wait "$pid" 2>/dev/null
    done
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$HERE/install_chromium.sh" || { echo "selftest: chromium unavailable" >&2; exit 2; }

# start_server LOGFILE ARGS... -> sets PORT
start_server() {
    local log="$1"; shift
    "$PY" "$HERE/stand_in_verto_server.py" --password "$PW" --max-seconds 300 "$@" >"$log" 2>&1 &
    SERVER_PIDS+=("$!")
    PORT=""
    for _ in $(seq 1 100); do
        PORT="$(head -1 "$log" 2>/dev/null | sed -n 's/^{"listening": \([0-9]*\)}$/\1/p')"
        [ -n "$PORT" ] && return 0
        sleep 0.1
    done
    echo "selftest: stand-in server did not start:" >&2
    cat "$log" >&2
    exit 2
}

FAILS=0
# check NAME EXPECTED_RC RUN_CHROMIUM_ARGS...
check() {
    local name="$1" want="$2"; shift 2
    local out rc
    out="$("$PY" "$HERE/run_chromium.py" --login 1001@127.0.0.1 "$@")"
    rc=$?
    local summary
    summary="$(printf '%s' "$out" | "$PY" -c 'import json,sys
d=json.loads(sys.stdin.read() or "{}")
print("hz=%s state=%s ice=%s elapsed=%ss error=%s" % (d.get("dominantHz"), d.get("state"), d.get("iceState"), d.get("elapsed"), d.get("error")))' 2>/dev/null)"
    if [ "$rc" = "$want" ]; then
        echo "PASS $name: rc=$rc $summary"
    else
        echo "FAIL $name: rc=$rc (want $want) $summary"
        echo "$out"
        FAILS=$((FAILS + 1))
    fi
    LAST_OUT="$out"
}

start_server "$TMP/server.log"
CALL_PORT="$PORT"
start_server "$TMP/server_cb.log" --call-browser --tone 660
CB_PORT="$PORT"
URL="ws://127.0.0.1:$CALL_PORT/"

for run in $(seq 1 "$RUNS"); do
    echo "--- run $run/$RUNS"
    check "call 9196 echo"        0 --url "$URL" --password "$PW" --mode call --destination 9196 --tone 440 --expect-hz 440 --timeout 30
    check "call 9664 tone"        0 --url "$URL" --password "$PW" --mode call --destination 9664 --tone 440 --expect-hz 1000 --timeout 30
    check "call 9198 early media" 0 --url "$URL" --password "$PW" --mode call --destination 9198 --tone 523 --expect-hz 523 --timeout 30
    check "call 9199 server bye"  0 --url "$URL" --password "$PW" --mode call --destination 9199 --tone 440 --expect-hz 440 --expect-bye --timeout 30
    check "call 9196 hangup"      0 --url "$URL" --password "$PW" --mode call --destination 9196 --tone 440 --expect-hz 440 --hangup-after 2 --timeout 30
    check "wrong password"        1 --url "$URL" --password wrong --mode call --destination 9196 --timeout 15
    if ! printf '%s' "$LAST_OUT" | grep -q -- '-32001'; then
        echo "FAIL wrong password: no -32001 in the output"; FAILS=$((FAILS + 1))
    fi

    before="$(grep -c '"event": "heard"' "$TMP/server_cb.log")"
    check "answer (server calls)" 0 --url "ws://127.0.0.1:$CB_PORT/" --password "$PW" --mode answer --tone 440 --expect-hz 660 --hangup-after 3 --timeout 30
    # the stand-in must have heard the browser's 440 Hz
    heard=""
    for _ in $(seq 1 50); do
        if [ "$(grep -c '"event": "heard"' "$TMP/server_cb.log")" -gt "$before" ]; then
            heard="$(grep '"event": "heard"' "$TMP/server_cb.log" | tail -1)"
            break
        fi
        sleep 0.1
    done
    if [ -n "$heard" ] && printf '%s' "$heard" | "$PY" -c 'import json,sys; d=json.loads(sys.stdin.read()); sys.exit(0 if abs(d["dominant_hz"]-440)<=20 else 1)'; then
        echo "PASS answer: server heard $(printf '%s' "$heard" | "$PY" -c 'import json,sys; print(json.loads(sys.stdin.read())["dominant_hz"])') Hz"
    else
        echo "FAIL answer: server did not hear 440 Hz: ${heard:-no heard event}"
        tail -20 "$TMP/server_cb.log"
        FAILS=$((FAILS + 1))
    fi
    [ "$FAILS" -eq 0 ] || break
done

if [ "$FAILS" -ne 0 ]; then
    echo "selftest: $FAILS failure(s)"
    echo "--- stand-in server log (tail)"; tail -20 "$TMP/server.log"
    exit 1
fi
echo "selftest: all passed ($RUNS run(s))"
