#!/usr/bin/env bash
# test_harnesses.sh - self-test: aiortc_verto_client.py against aiortc_verto_server.py on 127.0.0.1.
#
# Checks: method before login (-32000), malformed JSON (-32600), wrong password (-32001), good login
# (+ verto.clientReady); call 9196 (echo: client hears its own 660 Hz, server hears 660 Hz); DTMF 1234#
# recorded by the server; hold/unhold (holdState held/active, silence while held); hangup (CALL ENDED/16);
# call 9664 (client hears 1000 Hz); call 9198 (verto.media then verto.answer without SDP); call 9199
# (server verto.bye after 3 s); 9190 (answer before the invite reply is flagged); inbound call (server
# invite -> wait_incoming -> answer -> audio both ways -> server hangup -> wait_bye); inbound call with a
# FreeSWITCH-style offer (no a=mid/BUNDLE, RTP/SAVPF), hung up by the client. Every wait is bounded.
# Exit status 0 only if every check passed.
#
# Usage: tools/interop/test_harnesses.sh        (PYTHON=... to override the interpreter, KEEP=1 keeps logs)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
PY=${PYTHON:-$HERE/../../.venv/bin/python}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/verto-harness.XXXXXX")
PIDS=()
PASS=0
FAIL=0
FAILED=()

cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null
    done
    sleep 0.2
    for pid in "${PIDS[@]}"; do
        kill -9 "$pid" 2>/dev/null
    done
    if [ "${KEEP:-0}" = 1 ] || [ "$FAIL" -gt 0 ]; then
        echo "logs kept in $WORK"
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT
trap "" PIPE  # a dead harness must make checks fail, not kill this script

# start NAME CMD... : runs CMD with stdin/stdout on FIFOs; sets W_NAME / R_NAME fds
start() {
    local name=$1
    shift
    mkfifo "$WORK/$name.in" "$WORK/$name.out"
    "$@" <"$WORK/$name.in" >"$WORK/$name.out" 2>"$WORK/$name.err" &
    PIDS+=($!)
    local w r
    exec {w}>"$WORK/$name.in"
    exec {r}<"$WORK/$name.out"
    printf -v "W_$name" '%s' "$w"
    printf -v "R_$name" '%s' "$r"
}

# rpc NAME JSON [TIMEOUT] : sends one command, reads one reply line into $R (empty on timeout/EOF)
rpc() {
    local name=$1 cmd=$2 t=${3:-30} w r
    w=W_$name
    r=R_$name
    R=""
    echo "$cmd" >&"${!w}" 2>/dev/null || { echo "  [$name] write failed (process gone?)"; return 1; }
    if ! IFS= read -r -t "$t" R <&"${!r}"; then
        R=""
        echo "  [$name] no reply within ${t}s to: $cmd"
        return 1
    fi
    return 0
}

# jget JSON PYEXPR : evaluates a Python expression over r (the parsed reply) and prints it
jget() {
    "$PY" -c 'import json,sys; r=json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$1" "$2" 2>/dev/null
}

# check DESCRIPTION PYEXPR : asserts a Python expression over r (the last reply $R)
check() {
    local desc=$1 expr=$2
    if [ -n "$R" ] && "$PY" -c 'import json,sys; r=json.loads(sys.argv[1]); sys.exit(0 if eval(sys.argv[2]) else 1)' "$R" "$expr" 2>/dev/null; then
        PASS=$((PASS + 1))
        echo "PASS  $desc"
    else
        FAIL=$((FAIL + 1))
        FAILED+=("$desc")
        echo "FAIL  $desc"
        echo "      expected: $expr"
        echo "      reply:    ${R:0:600}"
    fi
}

near() { echo "abs(r['dominant_hz'] - $1) <= 15 and r['power'].get('$1', 1) > 0.5"; }

T0=$(date +%s)
echo "== aiortc Verto harness self-test ($WORK)"

# ---------------------------------------------------------------- server
start S "$PY" "$HERE/aiortc_verto_server.py" --port 0 --tone 660 --users 1000:pw,1001:pw --max-seconds 120
if ! IFS= read -r -t 20 R <&"$R_S"; then
    echo "FAIL  server did not print {\"listening\": PORT}"; FAIL=1; cat "$WORK/S.err"; exit 1
fi
check "server prints listening port" "r['listening'] > 0"
PORT=$(jget "$R" "r['listening']")
URL="ws://127.0.0.1:$PORT/"

# ---------------------------------------------------------------- bad client (errors)
start B "$PY" "$HERE/aiortc_verto_client.py" --url "$URL" --login 1001@127.0.0.1 --password wrong --max-seconds 60
rpc B '{"op":"connect"}' 15
check "client connects" "r.get('ok') is True"
rpc B '{"op":"request","method":"verto.ping","params":{}}' 10
check "method before login -> -32000" "r['reply']['error']['code'] == -32000"
rpc B '{"op":"send_raw","text":"this is not json"}' 10
check "malformed JSON -> -32600 with id null" "r['reply']['error']['code'] == -32600 and r['reply']['id'] is None"
rpc B '{"op":"login"}' 15
check "wrong password -> -32001" "r.get('code') == -32001 and '-32001' in r['error']"
rpc B '{"op":"close"}' 10

# ---------------------------------------------------------------- client A (1001, 660 Hz)
start A "$PY" "$HERE/aiortc_verto_client.py" --url "$URL" --login 1001@127.0.0.1 --password pw --tone 660 --max-seconds 110
rpc A '{"op":"login"}' 15
check "login ok (pre-login -32000, logged in, clientReady)" \
    "r.get('ok') and r['prelogin_code'] == -32000 and r['result']['message'] == 'logged in' and r['result']['sessid'] == r['sessid'] and r['client_ready']"

# call 9196: echo
rpc A '{"op":"call","destination":"9196","timeout":10}' 15
check "call 9196 answered" "r.get('answered') is True and r['created']['message'] == 'CALL CREATED' and 'error' not in r"
C1=$(jget "$R" "r.get('callID')")
rpc A "{\"op\":\"wait_connected\",\"callID\":\"$C1\",\"timeout\":10}" 15
check "9196 ICE+DTLS connected" "r['connected'] is True"
rpc A "{\"op\":\"stats\",\"callID\":\"$C1\",\"seconds\":1.0,\"fresh\":true}" 15
check "9196 client hears its own 660 Hz (echo)" "$(near 660)"
rpc S "{\"op\":\"stats\",\"callID\":\"$C1\",\"seconds\":1.0}" 15
check "9196 server hears the client's 660 Hz" "$(near 660)"
rpc A "{\"op\":\"dtmf\",\"callID\":\"$C1\",\"digits\":\"1234#\"}" 10
check "dtmf verto.info -> SENT" "r['result']['message'] == 'SENT'"
rpc S '{"op":"calls"}' 10
check "server recorded DTMF 1234#" "[c['digits'] for c in r['calls'] if c['callID'] == '$C1'] == ['1234#']"
rpc A "{\"op\":\"hold\",\"callID\":\"$C1\"}" 10
check "hold -> holdState held" "r['result']['holdState'] == 'held' and r['result']['action'] == 'hold' and r['result']['callID'] == '$C1'"
sleep 0.5
rpc A "{\"op\":\"stats\",\"callID\":\"$C1\",\"seconds\":0.5,\"fresh\":true}" 10
check "held: client receives silence" "r['rms'] < 50"
rpc A "{\"op\":\"unhold\",\"callID\":\"$C1\"}" 10
check "unhold -> holdState active" "r['result']['holdState'] == 'active'"
sleep 0.5
rpc A "{\"op\":\"stats\",\"callID\":\"$C1\",\"seconds\":0.5,\"fresh\":true}" 10
check "unheld: 660 Hz echo again" "$(near 660)"
rpc A "{\"op\":\"hangup\",\"callID\":\"$C1\"}" 10
check "hangup -> CALL ENDED NORMAL_CLEARING/16" "r['result']['message'] == 'CALL ENDED' and r['result']['causeCode'] == 16 and r['result']['cause'] == 'NORMAL_CLEARING'"
rpc S "{\"op\":\"wait_state\",\"callID\":\"$C1\",\"state\":\"ended\",\"timeout\":5}" 10
check "server call 9196 ended" "r['ok']"
rpc A "{\"op\":\"hangup\",\"callID\":\"$C1\"}" 10
check "bye for an ended call -> -32002 CALL DOES NOT EXIST" "r.get('code') == -32002 and 'CALL DOES NOT EXIST' in r['error']"

# call 9664: 1 kHz tone
rpc A '{"op":"call","destination":"9664","timeout":10}' 15
check "call 9664 answered" "r.get('answered') is True and 'error' not in r"
C2=$(jget "$R" "r.get('callID')")
rpc A "{\"op\":\"wait_connected\",\"callID\":\"$C2\",\"timeout\":10}" 15
check "9664 connected" "r['connected'] is True"
rpc A "{\"op\":\"stats\",\"callID\":\"$C2\",\"seconds\":1.0,\"fresh\":true}" 15
check "9664 client hears 1000 Hz" "$(near 1000)"
rpc S "{\"op\":\"stats\",\"callID\":\"$C2\",\"seconds\":1.0}" 15
check "9664 server hears the client's 660 Hz" "$(near 660)"
rpc A "{\"op\":\"hangup\",\"callID\":\"$C2\"}" 10
check "9664 hangup" "r['result']['causeCode'] == 16"

# call 9198: early media (verto.media with SDP, verto.answer without)
rpc A '{"op":"call","destination":"9198","timeout":10}' 15
check "call 9198 early media then answered" "r.get('early_media') is True and r.get('answered') is True and 'error' not in r"
C3=$(jget "$R" "r.get('callID')")
rpc A "{\"op\":\"stats\",\"callID\":\"$C3\",\"seconds\":1.0,\"fresh\":true}" 15
check "9198 client hears 660 Hz echo" "$(near 660)"
rpc A '{"op":"events"}' 10
check "9198 verto.media carried SDP, verto.answer none" \
    "[('sdp' in e['params']) for e in r['events'] if e['params'].get('callID') == '$C3' and e['method'] in ('verto.media','verto.answer')] == [True, False]"
rpc A "{\"op\":\"hangup\",\"callID\":\"$C3\"}" 10
check "9198 hangup" "r['result']['causeCode'] == 16"

# call 9199: server hangs up after 3 s
rpc A '{"op":"call","destination":"9199","timeout":10}' 15
check "call 9199 answered" "r.get('answered') is True"
C4=$(jget "$R" "r.get('callID')")
rpc A "{\"op\":\"wait_bye\",\"callID\":\"$C4\",\"timeout\":8}" 12
check "9199 server verto.bye NORMAL_CLEARING/16" "r.get('cause') == 'NORMAL_CLEARING' and r.get('causeCode') == 16"

# negative test: a server that sends verto.answer before the verto.invite reply must be flagged
rpc A '{"op":"call","destination":"9190","timeout":10}' 15
check "answer before invite reply is reported as an error" "'before the verto.invite reply' in r.get('error', '')"
C5=$(jget "$R" "r.get('callID')")
rpc A "{\"op\":\"hangup\",\"callID\":\"$C5\"}" 10

# ---------------------------------------------------------------- inbound call to client C (1000, 440 Hz)
start C "$PY" "$HERE/aiortc_verto_client.py" --url "$URL" --login 1000@127.0.0.1 --password pw --tone 440 --max-seconds 60
rpc C '{"op":"login"}' 15
check "client 1000 logged in" "r.get('ok') is True"
rpc S '{"op":"invite","login":"1000","caller_id_number":"9000","caller_id_name":"Harness"}' 15
check "server invite sent" "len(r.get('callID', '')) == 36"
CI=$(jget "$R" "r.get('callID')")
rpc C '{"op":"wait_incoming","timeout":10}' 15
check "client sees verto.invite (callID, caller id, display_direction)" \
    "r['callID'] == '$CI' and r['caller_id_number'] == '9000' and r['caller_id_name'] == 'Harness' and r['display_direction'] == 'outbound'"
rpc C "{\"op\":\"answer\",\"callID\":\"$CI\"}" 15
check "client verto.answer accepted" "r.get('ok') is True"
rpc S "{\"op\":\"wait_answered\",\"callID\":\"$CI\",\"timeout\":5}" 10
check "server sees the call answered" "r['answered'] is True"
rpc C "{\"op\":\"wait_connected\",\"callID\":\"$CI\",\"timeout\":10}" 15
check "inbound call connected" "r['connected'] is True"
rpc C "{\"op\":\"stats\",\"callID\":\"$CI\",\"seconds\":1.0,\"fresh\":true}" 15
check "inbound: client hears the server's 660 Hz" "$(near 660)"
rpc S "{\"op\":\"stats\",\"callID\":\"$CI\",\"seconds\":1.0,\"fresh\":true}" 15
check "inbound: server hears the client's 440 Hz" "$(near 440)"
rpc S "{\"op\":\"hangup\",\"callID\":\"$CI\"}" 10
check "server hangup" "r.get('ok') is True"
rpc C "{\"op\":\"wait_bye\",\"callID\":\"$CI\",\"timeout\":5}" 10
check "client gets verto.bye NORMAL_CLEARING/16" "r.get('cause') == 'NORMAL_CLEARING' and r.get('causeCode') == 16"

# second inbound call with a FreeSWITCH-style offer (no a=mid/BUNDLE, RTP/SAVPF); the client hangs up
rpc S '{"op":"invite","login":"1000","caller_id_number":"9001","fs_style":true}' 15
check "server FS-style invite sent" "len(r.get('callID', '')) == 36"
CJ=$(jget "$R" "r.get('callID')")
rpc S "{\"op\":\"sdp\",\"callID\":\"$CJ\"}" 10
check "FS-style offer has no a=mid/BUNDLE and says RTP/SAVPF" \
    "'a=mid:' not in r['local'] and 'BUNDLE' not in r['local'] and 'm=audio' in r['local'] and ' RTP/SAVPF ' in r['local']"
rpc C '{"op":"wait_incoming","timeout":10}' 15
check "client sees the FS-style invite" "r['callID'] == '$CJ' and r['caller_id_number'] == '9001'"
rpc C "{\"op\":\"answer\",\"callID\":\"$CJ\"}" 15
check "client answers the FS-style offer" "r.get('ok') is True"
rpc C "{\"op\":\"wait_connected\",\"callID\":\"$CJ\",\"timeout\":10}" 15
check "FS-style inbound call connected" "r['connected'] is True"
rpc C "{\"op\":\"stats\",\"callID\":\"$CJ\",\"seconds\":1.0,\"fresh\":true}" 15
check "FS-style inbound: client hears 660 Hz" "$(near 660)"
rpc S "{\"op\":\"stats\",\"callID\":\"$CJ\",\"seconds\":1.0,\"fresh\":true}" 15
check "FS-style inbound: server hears 440 Hz" "$(near 440)"
rpc C "{\"op\":\"hangup\",\"callID\":\"$CJ\"}" 10
check "client hangs up the inbound call -> CALL ENDED" "r['result']['message'] == 'CALL ENDED' and r['result']['callID'] == '$CJ'"
rpc S "{\"op\":\"wait_state\",\"callID\":\"$CJ\",\"state\":\"ended\",\"timeout\":5}" 10
check "server inbound call ended" "r['ok']"

# ---------------------------------------------------------------- shutdown
rpc A '{"op":"close"}' 10
check "client A closes" "r.get('ok') is True"
rpc C '{"op":"close"}' 10
rpc S '{"op":"close"}' 10
check "server closes" "r.get('ok') is True"

echo
echo "== summary: $PASS passed, $FAIL failed, $(( $(date +%s) - T0 )) s"
if [ "$FAIL" -gt 0 ]; then
    for f in "${FAILED[@]}"; do echo "   failed: $f"; done
    for n in S B A C; do
        [ -f "$WORK/$n.err" ] && { echo "--- stderr of $n (last 25 lines)"; tail -25 "$WORK/$n.err"; }
    done
    exit 1
fi
exit 0
