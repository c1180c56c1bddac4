#!/bin/bash
# The control API on a unix socket: status/pause/resume/stop through the CLI and through raw HTTP
# (curl --unix-socket); pause really stops the guest's counter; garbage, truncated, huge and
# concurrent requests leave the VM running; ls lists VMs and cleans stale sockets.
. "$(dirname "$0")/lib.sh"
set -e
require_kvm
command -v curl >/dev/null || fail "curl is needed (apt-get install curl)"
export XDG_RUNTIME_DIR=$TMP/run
mkdir -p "$XDG_RUNTIME_DIR"
SOCK=$TMP/vm.sock

"$MVMM" run --api-sock "$SOCK" --cmdline "test=count count_ms=120000" >"$TMP/vm.out" 2>"$TMP/vm.err" </dev/null &
VMPID=$!
cleanup_vm() { kill "$VMPID" 2>/dev/null || true; wait "$VMPID" 2>/dev/null || true; }
trap 'cleanup_vm; rm -rf "$TMP"' EXIT
for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.05; done
[ -S "$SOCK" ] || fail "API socket not created"
[ "$(stat -c %a "$SOCK")" = 600 ] || fail "API socket mode is $(stat -c %a "$SOCK"), want 600"

count() { grep -c '^count: ' "$TMP/vm.out" || true; }
http() {	# http METHOD PATH [BODY] -> prints "STATUS BODY"
	local args=(-s -o "$TMP/resp" -w '%{http_code}' --unix-socket "$SOCK" -X "$1")
	[ $# -ge 3 ] && args+=(-H 'Content-Type: application/json' --data-binary "$3")
	local code
	code=$(curl "${args[@]}" "http://localhost$2")
	echo "$code $(cat "$TMP/resp" 2>/dev/null)"
}
alive() { kill -0 "$VMPID" 2>/dev/null || fail "the VM died ($*)"; }

# Status through the CLI and raw HTTP.
"$MVMM" status "$SOCK" | grep -q '^state: *running' || fail "mvmm status does not say running"
"$MVMM" status --json "$SOCK" | grep -q '"state":"running"' || fail "status --json"
r=$(http GET /vm); [ "${r%% *}" = 200 ] || fail "GET /vm: $r"
echo "$r" | grep -q '"pid":'"$VMPID" || fail "GET /vm pid: $r"
pass "status via CLI and HTTP"

# Pause through the CLI: the counter must stop; resume: it must go on.
for _ in $(seq 100); do [ "$(count)" -ge 3 ] && break; sleep 0.05; done
"$MVMM" pause "$SOCK" || fail "mvmm pause"
sleep 0.2
a=$(count); sleep 0.5; b=$(count)
[ "$a" = "$b" ] || fail "guest counted while paused ($a -> $b)"
r=$(http GET /vm); echo "$r" | grep -q '"state":"paused"' || fail "state after pause: $r"
"$MVMM" resume "$SOCK" || fail "mvmm resume"
sleep 0.5; c=$(count)
[ "$c" -gt "$b" ] || fail "guest did not continue after resume ($b -> $c)"
pass "CLI pause stops the guest's counter ($a = $b), resume continues it ($c)"

# The same through raw HTTP.
r=$(http PUT /vm/pause); [ "${r%% *}" = 204 ] || fail "PUT /vm/pause: $r"
a=$(count); sleep 0.4; b=$(count)
[ "$a" = "$b" ] || fail "guest counted while paused via HTTP ($a -> $b)"
r=$(http PUT /vm/resume '{}'); [ "${r%% *}" = 204 ] || fail "PUT /vm/resume: $r"
sleep 0.3; c=$(count); [ "$c" -gt "$b" ] || fail "no progress after HTTP resume"
pass "HTTP pause/resume"

# Bad requests: 4xx with a JSON error naming the problem, the VM unaffected.
r=$(http PUT /vm/pause '{"bogus":1}'); [ "${r%% *}" = 400 ] && echo "$r" | grep -q bogus || fail "unknown field: $r"
r=$(http PUT /vm/pause '{not json'); [ "${r%% *}" = 400 ] || fail "malformed JSON: $r"
r=$(http GET /nope); [ "${r%% *}" = 404 ] || fail "unknown path: $r"
r=$(http DELETE /vm); [ "${r%% *}" = 405 ] || fail "wrong method: $r"
head -c 200000 /dev/zero | tr '\0' 'a' >"$TMP/huge"
r=$(http PUT /vm/pause "@$TMP/huge"); [ "${r%% *}" = 413 ] || fail "huge body: $r"
# Raw garbage and a truncated request straight onto the socket.
if command -v socat >/dev/null; then
	printf 'GARBAGE\r\n\r\n' | timeout 5 socat - "UNIX-CONNECT:$SOCK" >/dev/null 2>&1 || true
	printf 'PUT /vm/pause HTTP/1.1\r\nContent-Length: 100\r\n\r\n{"a"' | timeout 2 socat - "UNIX-CONNECT:$SOCK" >/dev/null 2>&1 || true
fi
python3 - "$SOCK" <<'PY' 2>/dev/null || true
import socket, sys
for payload in (b"\x00\xff" * 1000, b"GET /vm HTTP/1.1\r\nHost: x\r\n" + b"X: " + b"y" * 100000 + b"\r\n\r\n", b"PUT /vm/pause HTTP/1.1\r\nContent-Length: 5\r\n\r\n{"):
    s = socket.socket(socket.AF_UNIX); s.settimeout(3); s.connect(sys.argv[1])
    try:
        s.sendall(payload); s.shutdown(socket.SHUT_WR); s.recv(4096)
    except Exception: pass
    s.close()
PY
alive "bad requests"
r=$(http GET /vm); echo "$r" | grep -q '"state":"running"' || fail "VM not running after bad requests: $r"
pass "bad, garbage, truncated and huge requests rejected; VM unaffected"

# Concurrent requests.
pids=()
for i in $(seq 40); do http GET /metrics >"$TMP/m$i" & pids+=($!); done
wait "${pids[@]}" || true
for i in $(seq 40); do grep -q '^200 ' "$TMP/m$i" || fail "concurrent GET /metrics #$i: $(cat "$TMP/m$i")"; done
alive "concurrent requests"
pass "40 concurrent requests answered"

# Wrong state: resume a running VM is a no-op (204); stop, then pause -> the process is gone.
"$MVMM" stop "$SOCK" || fail "mvmm stop"
set +e
wait "$VMPID"; rc=$?
set -e
[ "$rc" = 0 ] || fail "mvmm run after stop exited $rc"
[ ! -e "$SOCK" ] || fail "socket not removed after stop"
set +e
"$MVMM" pause "$SOCK" 2>"$TMP/gone.err"; rc=$?
set -e
[ "$rc" = 74 ] || fail "pause of a gone VM: exit $rc, want 74"
pass "stop ends mvmm run with 0 and removes the socket; a gone VM gives 74"

# mvmm ls: named VMs in the runtime dir, JSON output, stale sockets cleaned.
"$MVMM" run --name alpha --cmdline "test=count count_ms=60000" >/dev/null 2>&1 </dev/null &
P2=$!
for _ in $(seq 100); do [ -S "$XDG_RUNTIME_DIR/mvmm/alpha.sock" ] && break; sleep 0.05; done
python3 -c "import socket; s=socket.socket(socket.AF_UNIX); s.bind('$XDG_RUNTIME_DIR/mvmm/stale.sock')"
"$MVMM" ls >"$TMP/ls.out" 2>"$TMP/ls.err"
grep -q "^alpha .*running .*$P2" "$TMP/ls.out" || { cat "$TMP/ls.out"; fail "ls does not list alpha"; }
grep -q "removed stale socket .*stale.sock" "$TMP/ls.err" || fail "ls did not clean the stale socket"
[ ! -e "$XDG_RUNTIME_DIR/mvmm/stale.sock" ] || fail "stale socket still there"
"$MVMM" ls --json | grep -q '"name":"alpha"' || fail "ls --json"
"$MVMM" status alpha | grep -q running || fail "status by name"
"$MVMM" stop alpha
wait "$P2" || fail "alpha did not exit 0"
pass "ls lists named VMs (text and JSON), removes stale sockets; status/stop by name"
