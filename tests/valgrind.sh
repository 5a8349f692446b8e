#!/usr/bin/env bash
# A representative slice of the integration flow with sockguard under
# valgrind (make valgrind): the docker CLI (ps, run --rm, exec -i,
# logs -f, events), raw requests (pipelining, denials, malformed heads,
# bodies, a slow head, a client dying mid-upload), /health, a reload,
# then SIGTERM. Fails on any invalid access or definitely/indirectly
# lost block (valgrind's exit status 99), on a crash, or on a non-zero
# exit. The offline commands (check, match, diff) run under valgrind
# too. Needs root (dockerd) and valgrind.
set -u
. "$(dirname "$0")/integ/lib.sh"
trap cleanup EXIT

VALGRIND=${VALGRIND:-valgrind}
# shellcheck disable=SC2054 # the commas are inside option values
VG=("$VALGRIND" --leak-check=full --errors-for-leak-kinds=definite,indirect
	--error-exitcode=99 --track-fds=no --show-leak-kinds=definite,indirect
	--num-callers=30)

if [ "$(id -u)" != 0 ]; then
	echo "valgrind: SKIPPED: dockerd needs root"
	exit 0
fi
command -v "$VALGRIND" >/dev/null || { echo "valgrind: not installed" >&2; exit 1; }
dk_start || { echo "valgrind: FAIL: the private dockerd did not start" >&2; exit 1; }

# ---- the offline commands ----
cfg=$(write_cfg vg 'allow GET,HEAD /_ping
allow GET /version
allow GET /info
allow GET /events
allow GET /images/json
allow * /containers/**
allow * /exec/**
deny * /**' 'insecure_allow_read_exfiltration: true
reload:
  enabled: true
  debounce: 100ms
log:
  audit:
    enabled: true
    output: '"$T"'/audit.log')
cp "$T/vg.rules" "$T/vg-old.rules"
cp "$cfg" "$T/vg-old.yaml"
sed -i 's/vg.rules/vg-old.rules/' "$T/vg-old.yaml"
offline_ok=1
vg_offline() { # NAME ARGS...: the command must not make valgrind complain
	local name=$1 rc
	shift
	"${VG[@]}" --log-file="$T/vg-$name.log" "$SG" "$@" >"$T/vg-$name.out" 2>&1
	rc=$?
	if [ "$rc" -eq 99 ] || grep -q 'Invalid \(read\|write\|free\)\|uninitialised\|definitely lost: [1-9]\|indirectly lost: [1-9]' "$T/vg-$name.log"; then
		echo "valgrind: FAIL: sockguard $* (exit $rc):" >&2
		grep -A15 'Invalid\|uninitialised\|definitely lost\|indirectly lost' "$T/vg-$name.log" | head -60 >&2
		offline_ok=0
	else
		echo "ok - valgrind: sockguard $1 (exit $rc)"
	fi
}
vg_offline check check -c "$cfg" --print-rules
vg_offline match match -c "$cfg" -X GET --path /v1.41/containers/json/../json -o json
vg_offline matchtext match -c "$cfg" -X POST --path /build
printf 'listen:\n  sokcet: /x\nrules:\n  - match: { method: GET, path: "/a%%2e" }\n    action: maybe\n' >"$T/bad.yaml"
vg_offline badcheck check -c "$T/bad.yaml"
printf 'allow GET /version\n' >>"$T/vg.rules"
vg_offline diff diff "$T/vg-old.yaml" "$cfg"
vg_offline version version -o json

# ---- the daemon under valgrind ----
"${VG[@]}" --log-file="$T/vg-run.log" "$SG" run -c "$cfg" >"$T/vg.log" 2>&1 &
VGPID=$!
SG_PIDS+=("$VGPID")
if ! wait_for 60 grep -qs '"sockguard started"' "$T/vg.log"; then
	echo "valgrind: FAIL: sockguard did not start under valgrind" >&2
	cat "$T/vg.log" "$T/vg-run.log" >&2
	exit 1
fi
export DOCKER_HOST=unix://$T/vg.sock
n=0 bad=0
step() { # NAME CMD...: a step of the flow (valgrind is slow: generous timeouts)
	local name=$1
	shift
	n=$((n + 1))
	if "$@"; then echo "ok - valgrind flow: $name"; else bad=$((bad + 1)); echo "not ok - valgrind flow: $name"; fi
}
flow_ps() { docker ps >/dev/null; }
flow_run() { docker run --rm --network none bb:latest echo vg-hello | grep -qx vg-hello; }
flow_exec() {
	printf 'a\nb\n' | docker exec -i vgc cat | tr '\n' , | grep -qx 'a,b,'
}
flow_logs() {
	docker logs -f vgc >"$T/vg-logs.out" 2>&1 &
	local p=$!
	wait_for 30 grep -q 'tick 3' "$T/vg-logs.out"
	local rc=$?
	kill "$p" 2>/dev/null
	wait "$p" 2>/dev/null
	return "$rc"
}
flow_events() {
	docker events --filter type=container --format '{{.Action}} {{.Actor.Attributes.name}}' >"$T/vg-events.out" 2>&1 &
	local p=$!
	sleep 2 # let the stream open (the CLI gives no signal)
	dk create --name vgev --network none bb:latest true >/dev/null
	wait_for 30 grep -q 'create vgev' "$T/vg-events.out"
	local rc=$?
	kill "$p" 2>/dev/null
	wait "$p" 2>/dev/null
	dk rm -f vgev >/dev/null 2>&1
	return "$rc"
}
rawq() { raw vg -w 5000 "$@"; }
flow_raw() {
	local r
	r=$(rawq "GET /_ping HTTP/1.1\r\nHost: d\r\n\r\nGET /secret HTTP/1.1\r\nHost: d\r\n\r\nPOST /secret HTTP/1.1\r\nHost: d\r\nContent-Length: 5\r\n\r\nhelloPOST /secret HTTP/1.1\r\nHost: d\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\nGET /v1.41/version HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n")
	[ "$(printf '%s' "$r" | grep -ao 'HTTP/1.1 [0-9]*' | tr '\n' ,)" = 'HTTP/1.1 200,HTTP/1.1 403,HTTP/1.1 403,HTTP/1.1 403,HTTP/1.1 200,' ]
}
flow_malformed() {
	rawq "POST /_ping HTTP/1.1\r\nHost: d\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" | grep -q '^HTTP/1.1 400' &&
		rawq "GET /_ping HTTP/1.1\r\nHost: d\r\nX: a\0b\r\n\r\n" | grep -q '^HTTP/1.1 400' &&
		rawq "GET /_ping HTTP/1.0\r\n\r\n" | grep -q '^HTTP/1.1 505' &&
		rawq "GET /_ping HTTP/1.1\r\nHost: d\r\nConnection: close\r\nX-Big: " "@40000:a" "\r\n\r\n" | grep -q '^HTTP/1.1 200' &&
		rawq "GET /_ping HTTP/1.1\r\nHost: d\r\nX-Big: " "@1048576:a" "\r\n\r\n" | grep -q '^HTTP/1.1 431' &&
		rawq "GET /containers/%zz/json HTTP/1.1\r\nHost: d\r\n\r\n" | grep -q '^HTTP/1.1 400' &&
		rawq "GET /v1.12/version HTTP/1.1\r\nHost: d\r\n\r\n" | grep -q '^HTTP/1.1 400' &&
		rawq "POST /containers/x/start HTTP/1.1\r\nHost: d\r\nContent-Length: 2\r\n\r\n{}" | grep -q '^HTTP/1.1 403' &&
		rawq -p 300 "POST /containers/create HTTP/1.1\r\nHost: d\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n" "zz\r\n" | grep -q '^HTTP/1.1 [45]0'
}
flow_body() { # a chunked JSON body in two chunks
	local a='{"Image":"bb:latest",' b='"Cmd":["true"]}'
	rawq "POST /v1.41/containers/create?name=vgbody HTTP/1.1\r\nHost: d\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n$(printf '%x' ${#a})\r\n$a\r\n$(printf '%x' ${#b})\r\n$b\r\n0\r\n\r\n" | grep -q '^HTTP/1.1 201' &&
		dk rm -f vgbody >/dev/null
}
flow_client_dies() {
	"$SGRAW" -u "$T/vg.sock" -p 200 -w 10000 "POST /v1.41/containers/create HTTP/1.1\r\nHost: d\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{" "@10000:a" "@10000:a" "@10000:a" "@10000:a" >/dev/null &
	local p=$!
	sleep 0.5
	kill -KILL "$p"
	wait "$p" 2>/dev/null
	"$SGRAW" -u "$T/vg.sock" -w 10000 "GET /v1.41/events HTTP/1.1\r\nHost: d\r\n\r\n" >/dev/null &
	p=$!
	sleep 1
	kill -KILL "$p"
	wait "$p" 2>/dev/null
	return 0
}
flow_slow_head() {
	rawq -w 9000 "GET /_ping HTTP/1.1\r\n" | grep -q '^HTTP/1.1 408'
}
flow_health() {
	rawq "GET /health HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n" | grep -q '"status":"healthy"'
}
health_has() { rawq "GET /health HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n" | grep -qF "$1"; }
flow_reload() {
	printf 'deny GET /images/json "denied after the reload"\n' >"$T/vg.rules.new"
	cat "$T/vg.rules" >>"$T/vg.rules.new"
	mv "$T/vg.rules.new" "$T/vg.rules"
	wait_for 30 health_has '"generation":2,' &&
		kill -HUP "$VGPID" &&
		wait_for 30 health_has '"unchanged":1' &&
		! docker images >/dev/null 2>&1 && docker ps >/dev/null
}

dk run -d --name vgc --network none bb:latest \
	sh -c 'i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.2; done' >/dev/null
step "docker ps" flow_ps
step "docker run --rm" flow_run
step "docker exec -i" flow_exec
step "docker logs -f" flow_logs
step "docker events" flow_events
step "raw pipelined allow/deny with bodies" flow_raw
step "raw malformed requests" flow_malformed
step "raw chunked upload" flow_body
step "clients dying mid-upload and mid-stream" flow_client_dies
step "slow head gets 408" flow_slow_head
step "/health" flow_health
step "reload (file change, then SIGHUP)" flow_reload
step "served after the reload" flow_ps
dk rm -f vgc >/dev/null 2>&1

kill -TERM "$VGPID"
wait "$VGPID"
rc=$?
SG_PIDS=()
echo "valgrind: sockguard exited $rc"
grep -E 'ERROR SUMMARY|definitely lost|indirectly lost|possibly lost|still reachable' "$T/vg-run.log" | sed 's/^==[0-9]*== */valgrind: /'

# ---- remote endpoints: a plain TCP forwarder (killed mid-run: failover,
# probes) and the daemon's mutual-TLS port (OpenSSL paths) ----
FPORT=$(free_port)
"$SGTOOLS/sgfwd" -l "127.0.0.1:$FPORT" -u "$DOCKER_SOCK" >"$T/fwd.log" 2>&1 &
FWDPID=$!
SG_PIDS+=("$FWDPID")
wait_for 5 grep -q listening "$T/fwd.log"
cat >"$T/vgr.yaml" <<YAML
listen:
  socket: $T/vgr.sock
upstream:
  endpoints:
    - address: tcp://127.0.0.1:$FPORT
      insecure_allow_plain_tcp: true
    - address: tcp://127.0.0.1:$DK_TLS_PORT
      tls:
        ca_file: $CERTS/ca.pem
        cert_file: $CERTS/client/cert.pem
        key_file: $CERTS/client/key.pem
  failover:
    health_interval: 1s
    health_timeout: 1s
rules_file: vg.rules
insecure_allow_read_exfiltration: true
YAML
"${VG[@]}" --log-file="$T/vg-remote.log" "$SG" run -c "$T/vgr.yaml" >"$T/vgr.log" 2>&1 &
VGPID=$!
SG_PIDS+=("$VGPID")
rc2=1
if wait_for 60 grep -qs '"sockguard started"' "$T/vgr.log"; then
	export DOCKER_HOST=unix://$T/vgr.sock
	dk run -d --name vgc2 --network none bb:latest sleep 300 >/dev/null
	step "remote: docker ps through the forwarder" flow_ps
	step "remote: docker exec -i through the forwarder" sh -c "printf 'a\nb\n' | docker exec -i vgc2 cat | tr '\n' , | grep -qx 'a,b,'"
	kill -KILL "$FWDPID"
	{ wait "$FWDPID"; } 2>/dev/null
	tls_active() { raw vgr -w 5000 "GET /health HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n" | grep -qF "\"address\":\"tcp://127.0.0.1:$DK_TLS_PORT\",\"health\":\"healthy\",\"active\":true"; }
	step "remote: failover to the TLS endpoint" wait_for 30 tls_active
	step "remote: docker ps over mutual TLS" flow_ps
	step "remote: docker exec -i over mutual TLS" sh -c "printf 'a\nb\n' | docker exec -i vgc2 cat | tr '\n' , | grep -qx 'a,b,'"
	dk rm -f vgc2 >/dev/null 2>&1
	kill -TERM "$VGPID"
	wait "$VGPID"
	rc2=$?
else
	echo "valgrind: sockguard with remote endpoints did not start" >&2
	cat "$T/vgr.log" >&2
fi
kill -KILL "$FWDPID" 2>/dev/null
SG_PIDS=()
echo "valgrind: sockguard (remote endpoints) exited $rc2"
grep -E 'ERROR SUMMARY|definitely lost|indirectly lost|possibly lost|still reachable' "$T/vg-remote.log" | sed 's/^==[0-9]*== */valgrind: /'
fails=()
[ "$rc2" -eq 0 ] || fails+=("sockguard with remote endpoints exited $rc2 (99: valgrind found errors)")
if grep -q 'Invalid \(read\|write\|free\)\|uninitialised\|Mismatched free\|definitely lost: [1-9]\|indirectly lost: [1-9]' "$T/vg-remote.log"; then
	fails+=("valgrind reported errors (remote endpoints)")
	grep -v '^==[0-9]*== *$' "$T/vg-remote.log" | head -200 >&2
fi
[ "$offline_ok" -eq 1 ] || fails+=("the offline commands")
[ "$bad" -eq 0 ] || fails+=("$bad of $n flow steps failed")
[ "$rc" -eq 0 ] || fails+=("sockguard exited $rc (99: valgrind found errors)")
if grep -q 'Invalid \(read\|write\|free\)\|uninitialised\|Mismatched free\|definitely lost: [1-9]\|indirectly lost: [1-9]' "$T/vg-run.log"; then
	fails+=("valgrind reported errors")
fi
if [ "${#fails[@]}" -ne 0 ]; then
	for f in "${fails[@]}"; do echo "valgrind: FAIL: $f" >&2; done
	echo "---- valgrind log ----" >&2
	grep -v '^==[0-9]*== *$' "$T/vg-run.log" | head -200 >&2
	exit 1
fi
echo "valgrind: PASS: no invalid access, no definite or indirect leak"
