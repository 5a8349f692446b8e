# shellcheck shell=bash
# Fault injection against the real dockerd: slowloris, descriptor
# exhaustion, the daemon dying mid-response and mid-stream (a killable
# forwarder in front of it: killing it cuts every connection through it,
# like a daemon crash), clients dying mid-upload and mid-stream, SIGTERM
# with open streams (up to the 30 s drain bound), and a daemon restart.
# The restart comes last because it disturbs the daemon; the daemon is
# left running for the files after this one.

SGFWD=$SGTOOLS/sgfwd
SGSLOW=$SGTOOLS/sgslow
F_PIDS=() # helpers (forwarders, slow clients, streams) reaped at the end
# Background clients are started as simple commands ("$SGRAW", docker),
# never through a shell function, so that $! is the client itself and
# killing it really closes its connection.

# f_track PID...: reaped at the end of this file, and by lib.sh's
# cleanup (SG_PIDS) if the run is interrupted
f_track() {
	F_PIDS+=("$@")
	SG_PIDS+=("$@")
}
f_bg_done() { ! kill -0 "$1" 2>/dev/null; }
# ok_ping NAME: a fresh GET /_ping through instance NAME answers 200
ok_ping() {
	raw "$1" -w 2000 "GET /_ping HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n" |
		head -1 | grep -q '^HTTP/1.1 200'
}
nfds() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
now_ns() { date +%s%N; }
ms_since() { echo $((($(now_ns) - $1) / 1000000)); }
# ends_with_last_chunk FILE: the body after the head ends with a chunked
# last-chunk (0 CRLF CRLF), i.e. the response looks complete
ends_with_last_chunk() {
	local off
	off=$(LC_ALL=C awk '{ n += length($0) + 1 } $0 == "\r" { print n; exit }' "$1")
	[ -n "$off" ] || return 1
	tail -c +$((off + 1)) "$1" | od -An -tx1 | tr -d ' \n' | grep -qE '(^|0d0a)300d0a0d0a$'
}
# kv FILE KEY: KEY=VALUE from sgslow's summary line
kv() { tail -1 "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

f_fwd_start() { # NAME LISTEN TARGET_OPT TARGET
	"$SGFWD" -l "$2" "$3" "$4" >>"$T/fwd-$1.log" 2>&1 &
	echo $! >"$T/fwd-$1.pid"
	f_track "$!"
	wait_for 5 sh -c "[ \$(grep -c listening '$T/fwd-$1.log') -ge ${5:-1} ]"
}
f_fwd_kill() {
	kill -KILL "$(cat "$T/fwd-$1.pid")" 2>/dev/null
	{ wait "$(cat "$T/fwd-$1.pid")"; } 2>/dev/null # no "Killed" job notice
}

F_RULES='allow GET,HEAD /_ping
allow GET /version
allow GET /events
allow * /containers/**
allow * /exec/**
deny * /**'
F_EXTRA='insecure_allow_read_exfiltration: true'

# ---------------------------------------------------------------------
# Slowloris: 300 connections trickle a head at 1 byte/s; normal clients
# are served promptly meanwhile and the slow ones are cut at the 5 s head
# timeout with a 408. Three more send their first byte only after 4 s:
# the head timeout counts from the connection, so they are cut near 5 s
# too (not 5 s after their first byte).
cfg=$(write_cfg slow "$F_RULES" "$F_EXTRA")
if sg_start slow "$cfg"; then
	"$SGSLOW" -u "$T/slow.sock" -n 300 -i 1000 -b 1 -T 20 \
		'GET /_ping HTTP/1.1\r\nHost: d\r\n\r\n' >"$T/slow.out" &
	sp=$!
	"$SGSLOW" -u "$T/slow.sock" -n 3 -i 1000 -b 1 -d 4000 -T 20 \
		'GET /_ping HTTP/1.1\r\nHost: d\r\n\r\n' >"$T/slow-late.out" &
	sp2=$!
	f_track "$sp" "$sp2"
	check "slowloris: 300 slow clients are connected" \
		wait_for 10 grep -qx 'connected 300' "$T/slow.out"
	worst=0 okn=0
	for _ in 1 2 3 4 5; do
		t0=$(now_ns)
		ok_ping slow && okn=$((okn + 1))
		ms=$(ms_since "$t0")
		[ "$ms" -gt "$worst" ] && worst=$ms
	done
	echo "# slowloris: slowest of 5 normal requests during the attack: ${worst} ms"
	check "slowloris: normal requests are served while 300 slow heads trickle" [ "$okn" -eq 5 ]
	check "slowloris: ... each within 1 s" [ "$worst" -lt 1000 ]
	check "slowloris: ... and the slow clients were all still connected then" \
		sh -c "[ \$(grep -c . '$T/slow.out') -eq 1 ]"
	wait "$sp" "$sp2"
	echo "# slowloris: $(tail -1 "$T/slow.out")"
	check "slowloris: every slow client got 408 and was closed" \
		sh -c "[ '$(kv "$T/slow.out" closed)' = 300 ] && [ '$(kv "$T/slow.out" status_408)' = 300 ]"
	check "slowloris: ... 5 to 7.5 s after it connected" \
		sh -c "[ $(kv "$T/slow.out" close_ms_min) -ge 4900 ] && [ $(kv "$T/slow.out" close_ms_max) -le 7500 ]"
	echo "# slowloris, first byte after 4 s: $(tail -1 "$T/slow-late.out")"
	check "slowloris: a head whose first byte comes late is still cut within 7.5 s of connecting" \
		sh -c "[ '$(kv "$T/slow-late.out" closed)' = 3 ] && [ $(kv "$T/slow-late.out" close_ms_max) -le 7500 ]"
	check "slowloris: sockguard still serves afterwards" ok_ping slow
	sg_stop slow
else
	fail "slowloris: sockguard starts"
fi

# ---------------------------------------------------------------------
# Descriptor exhaustion: RLIMIT_NOFILE 64 (soft and hard, so the raise at
# start cannot escape it) and 200 idle clients. The daemon is reached as
# two endpoints (its socket and a link to it), probed every second: a
# probe that finds no descriptor left must not mark the daemon unhealthy
# (that is sockguard's shortage, not the daemon's).
printf '%s\n' "$F_RULES" >"$T/fdx.rules"
ln -sf "$DOCKER_SOCK" "$T/docker-link.sock"
cat >"$T/fdx.yaml" <<YAML
listen:
  socket: $T/fdx.sock
upstream:
  endpoints:
    - address: unix://$DOCKER_SOCK
    - address: unix://$T/docker-link.sock
  failover:
    health_interval: 1s
rules_file: fdx.rules
$F_EXTRA
YAML
cfg=$T/fdx.yaml
bash -c "ulimit -n 64 && exec '$SG' run -c '$cfg'" >"$T/fdx.log" 2>&1 &
fpid=$!
SG_PIDS+=("$fpid")
if wait_for 10 grep -qs '"sockguard started"' "$T/fdx.log"; then
	base=$(nfds "$fpid")
	"$SGSLOW" -u "$T/fdx.sock" -n 200 -H -T 30 >"$T/fdx-hold.out" &
	hp=$!
	f_track "$hp"
	wait_for 10 grep -q '^connected' "$T/fdx-hold.out"
	check "fd exhaustion: sockguard runs out of descriptors (logged)" \
		wait_for 5 grep -q 'Too many open files' "$T/fdx.log"
	# a measurement window, not a wait for a condition
	c0=$(cpu_ticks "$fpid")
	sleep 2
	c1=$(cpu_ticks "$fpid")
	hz=$(getconf CLK_TCK)
	echo "# fd exhaustion: sockguard used $(((c1 - c0) * 1000 / hz)) ms of CPU in 2 s with 200 clients over the limit"
	check "fd exhaustion: no busy spin (< 0.5 s CPU over 2 s)" [ $((c1 - c0)) -lt $((hz / 2)) ]
	check "fd exhaustion: no crash" kill -0 "$fpid"
	check "fd exhaustion: a health probe ran out of descriptors (logged as skipped)" \
		wait_for 5 grep -q 'health probe of .* skipped: connect: Too many open files' "$T/fdx.log"
	check "fd exhaustion: ... and did not mark the daemon unhealthy" \
		sh -c "! grep 'upstream endpoint health changed' '$T/fdx.log' | grep -q '\"to\":\"unhealthy\"'"
	kill "$hp" 2>/dev/null
	{ wait "$hp"; } 2>/dev/null
	check "fd exhaustion: a normal request succeeds once the clients are gone" wait_for 10 ok_ping fdx
	check "fd exhaustion: descriptors return to the baseline" \
		wait_for 10 sh -c "[ \$(find /proc/$fpid/fd -mindepth 1 -maxdepth 1 | wc -l) -le $((base + 2)) ]"

	# every accepted client sends a request at once: the upstream dials
	# run out of descriptors too
	"$SGSLOW" -u "$T/fdx.sock" -n 80 -b 1000 -d 300 -T 15 -v \
		'GET /_ping HTTP/1.1\r\nHost: d\r\n\r\n' >"$T/fdx-burst.out"
	echo "# fd exhaustion, 80 simultaneous requests: $(tail -1 "$T/fdx-burst.out")"
	check "fd exhaustion: 80 simultaneous requests: some dials ran out of descriptors" \
		grep -q 'stage":"dial' "$T/fdx.log"
	check "fd exhaustion: ... each client got 200, 502, or a close without an answer" \
		sh -c "! grep '^conn ' '$T/fdx-burst.out' | grep -v 'received 0: -\$' | grep -qv ': HTTP/1.1 [25]0[02]\$'"
	check "fd exhaustion: ... no crash" kill -0 "$fpid"
	check "fd exhaustion: served again afterwards" wait_for 10 ok_ping fdx
	h=$(raw fdx -w 2000 "GET /health HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n")
	check "fd exhaustion: /health reports the daemon healthy afterwards" \
		sh -c "printf '%s' '$h' | grep -q '\"health\":\"healthy\"'"
	kill -TERM "$fpid"
	wait "$fpid"
	check "fd exhaustion: SIGTERM still exits 0" [ $? -eq 0 ]
else
	fail "fd exhaustion: sockguard starts under ulimit -n 64"
	cat "$T/fdx.log"
fi

# ---------------------------------------------------------------------
# The daemon dies mid-response and mid-stream: sockguard reaches it
# through a forwarder; SIGKILL on the forwarder cuts every connection.
FPORT=$(free_port)
f_fwd_start dd "127.0.0.1:$FPORT" -u "$DOCKER_SOCK"
printf '%s\n' "$F_RULES" >"$T/dd.rules"
cat >"$T/dd.yaml" <<YAML
listen:
  socket: $T/dd.sock
upstream:
  endpoints:
    - address: tcp://127.0.0.1:$FPORT
      insecure_allow_plain_tcp: true
  failover:
    health_interval: 1s
    health_timeout: 1s
rules_file: dd.rules
insecure_allow_read_exfiltration: true
YAML
if sg_start dd "$T/dd.yaml"; then
	dk run -d --name fticker --network none bb:latest \
		sh -c 'i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.2; done' >/dev/null
	dk run -d --name fwaiter --network none bb:latest sleep 300 >/dev/null
	mark=$(dk_mark)
	DOCKER_HOST=unix://$T/dd.sock docker logs -f fticker >"$T/dd-logs.out" 2>&1 &
	lp=$!
	DOCKER_HOST=unix://$T/dd.sock docker events >"$T/dd-events.out" 2>&1 &
	ep=$!
	"$SGRAW" -u "$T/dd.sock" -w 30000 "GET /v1.41/events HTTP/1.1\r\nHost: d\r\n\r\n" >"$T/dd-rawev.out" &
	rp=$!
	"$SGRAW" -u "$T/dd.sock" -w 30000 "POST /v1.41/containers/fwaiter/wait HTTP/1.1\r\nHost: d\r\nContent-Length: 0\r\n\r\n" >"$T/dd-wait.out" &
	wp=$!
	chunks=()
	for _ in $(seq 60); do chunks+=("@10000:a"); done
	"$SGRAW" -u "$T/dd.sock" -p 200 -w 20000 "POST /v1.41/containers/create HTTP/1.1\r\nHost: d\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n{\"Image\":\"bb:latest\",\"Labels\":{\"x\":\"" "${chunks[@]}" >"$T/dd-upload.out" &
	upp=$!
	f_track "$lp" "$ep" "$rp" "$wp" "$upp"
	wait_for 15 contains "$T/dd-logs.out" "tick 3"
	wait_for 10 dk_saw_since "$mark" "/containers/create"
	wait_for 10 sh -c "[ \$(tail -n +$((mark + 1)) '$DK/dockerd.log' | grep Calling | grep -c '/events') -ge 2 ]"
	wait_for 10 dk_saw_since "$mark" "/containers/fwaiter/wait"
	wait_for 5 grep -q '^HTTP/1.1 200' "$T/dd-wait.out"
	dk create --name fevent --network none bb:latest true >/dev/null
	wait_for 5 contains "$T/dd-rawev.out" "fevent"
	check "daemon dies: four responses and an upload are in flight" \
		sh -c "kill -0 $lp && kill -0 $ep && kill -0 $rp && kill -0 $wp && kill -0 $upp"
	t0=$(now_ns)
	f_fwd_kill dd
	check "daemon dies: docker logs -f ends (no hang)" wait_for 5 f_bg_done "$lp"
	check "daemon dies: docker events ends (no hang)" wait_for 5 f_bg_done "$ep"
	check "daemon dies: a raw GET /events is cut" wait_for 5 f_bg_done "$rp"
	check "daemon dies: a POST /wait long-poll is cut" wait_for 5 f_bg_done "$wp"
	upload_cut() { wait_for 5 f_bg_done "$1" && head -1 "$2" | grep -q '^HTTP/1.1 502 '; }
	check "daemon dies: an upload in flight gets 502 and a close (no hang)" \
		upload_cut "$upp" "$T/dd-upload.out"
	echo "# daemon dies: all five clients saw the end $(ms_since "$t0") ms after the kill"
	check "daemon dies: the cut long-poll has its 200 head and no result" \
		sh -c "grep -q '^HTTP/1.1 200' '$T/dd-wait.out' && ! grep -q StatusCode '$T/dd-wait.out'"
	# a cut chunked stream must not be completed with a last-chunk
	cut_not_completed() {
		grep -q '^HTTP/1.1 200' "$1" && grep -q fevent "$1" && ! ends_with_last_chunk "$1"
	}
	check "daemon dies: a cut chunked response is not terminated as if complete" \
		cut_not_completed "$T/dd-rawev.out"
	# the writer thread flushes batches (up to SG_LOG_FLUSH_NS later)
	check "daemon dies: the access log says the responses were truncated" \
		wait_for 5 sh -c "[ \$(grep -c 'upstream_response_truncated' '$T/dd.log') -ge 3 ]"
	t0=$(now_ns)
	r=$(raw dd -w 5000 "GET /_ping HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n")
	ms=$(ms_since "$t0")
	check "daemon down: a new request gets 502 at once (${ms} ms), no hang" \
		sh -c "printf '%s' '$r' | head -1 | grep -q '^HTTP/1.1 502' && [ $ms -lt 2000 ]"
	f_fwd_start dd "127.0.0.1:$FPORT" -u "$DOCKER_SOCK" 2
	check "daemon back: requests succeed again" wait_for 10 ok_ping dd
	check "daemon back: docker ps through sockguard" sh -c "DOCKER_HOST=unix://$T/dd.sock docker ps >/dev/null"
	sg_stop dd
	dk rm -f fticker fwaiter fevent >/dev/null 2>&1
else
	fail "daemon dies: sockguard starts behind the forwarder"
fi
f_fwd_kill dd

# ---------------------------------------------------------------------
# Clients die mid-upload and mid-stream: sockguard closes its upstream
# side too (its descriptor count returns to the baseline).
cfg=$(write_cfg cd "$F_RULES" "$F_EXTRA")
if sg_start cd "$cfg"; then
	cpid=$(cat "$T/cd.pid")
	ok_ping cd >/dev/null
	base=$(nfds "$cpid")
	echo "# client dies: sockguard holds $base descriptors at rest"
	chunks=()
	for _ in $(seq 40); do chunks+=("@20000:a"); done
	mark=$(dk_mark)
	"$SGRAW" -u "$T/cd.sock" -p 250 -w 20000 "POST /v1.41/containers/create?name=cdup HTTP/1.1\r\nHost: d\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n{\"Image\":\"bb:latest\",\"Labels\":{\"x\":\"" "${chunks[@]}" >/dev/null &
	up=$!
	f_track "$up"
	check "client dies mid-upload: the upload reaches the daemon" \
		wait_for 10 dk_saw_since "$mark" "/containers/create"
	check "client dies mid-upload: sockguard holds a client and an upstream connection" \
		wait_for 5 sh -c "[ \$(find /proc/$cpid/fd -mindepth 1 -maxdepth 1 | wc -l) -ge $((base + 1)) ]"
	kill -KILL "$up"
	{ wait "$up"; } 2>/dev/null
	check "client dies mid-upload: both sides are closed (descriptors back to $base)" \
		wait_for 5 sh -c "[ \$(find /proc/$cpid/fd -mindepth 1 -maxdepth 1 | wc -l) -le $base ]"
	check "client dies mid-upload: logged as client_closed" \
		wait_for 5 sh -c "grep '/containers/create' '$T/cd.log' | grep -q client_closed"
	check "client dies mid-upload: no container was created" \
		sh -c "! docker -H unix://$DOCKER_SOCK ps -a --format '{{.Names}}' | grep -qx cdup"

	# the same with a chunked body
	mark=$(dk_mark)
	chunks=()
	for _ in $(seq 40); do chunks+=('4e20\r\n' "@20000:a" '\r\n'); done
	"$SGRAW" -u "$T/cd.sock" -p 100 -w 20000 "POST /v1.41/containers/create?name=cdup2 HTTP/1.1\r\nHost: d\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" "${chunks[@]}" >/dev/null &
	up=$!
	f_track "$up"
	wait_for 10 dk_saw_since "$mark" "/containers/create"
	wait_for 5 sh -c "[ \$(find /proc/$cpid/fd -mindepth 1 -maxdepth 1 | wc -l) -ge $((base + 1)) ]"
	kill -KILL "$up"
	{ wait "$up"; } 2>/dev/null
	check "client dies mid-chunked-upload: both sides are closed" \
		wait_for 5 sh -c "[ \$(find /proc/$cpid/fd -mindepth 1 -maxdepth 1 | wc -l) -le $base ]"

	# mid-stream: docker events, then a raw GET /events
	mark=$(dk_mark)
	DOCKER_HOST=unix://$T/cd.sock docker events >/dev/null 2>&1 &
	evp=$!
	f_track "$evp"
	wait_for 10 dk_saw_since "$mark" "/events"
	check "client dies mid-stream: the events stream holds its descriptors" \
		wait_for 5 sh -c "[ \$(find /proc/$cpid/fd -mindepth 1 -maxdepth 1 | wc -l) -ge $((base + 1)) ]"
	kill -KILL "$evp"
	{ wait "$evp"; } 2>/dev/null
	check "client dies mid-stream: docker events killed -> upstream closed too" \
		wait_for 5 sh -c "[ \$(find /proc/$cpid/fd -mindepth 1 -maxdepth 1 | wc -l) -le $base ]"
	mark=$(dk_mark)
	"$SGRAW" -u "$T/cd.sock" -w 60000 "GET /v1.41/events HTTP/1.1\r\nHost: d\r\n\r\n" >/dev/null &
	evp=$!
	f_track "$evp"
	wait_for 10 dk_saw_since "$mark" "/events"
	wait_for 5 sh -c "[ \$(find /proc/$cpid/fd -mindepth 1 -maxdepth 1 | wc -l) -ge $((base + 1)) ]"
	kill -KILL "$evp"
	{ wait "$evp"; } 2>/dev/null
	check "client dies mid-stream: raw events client killed -> upstream closed too" \
		wait_for 5 sh -c "[ \$(find /proc/$cpid/fd -mindepth 1 -maxdepth 1 | wc -l) -le $base ]"
	check "client dies: sockguard still serves" ok_ping cd
	sg_stop cd
	dk rm -f cdup cdup2 >/dev/null 2>&1
else
	fail "client dies: sockguard starts"
fi

# ---------------------------------------------------------------------
# SIGTERM with open streams: idle keep-alive connections close at once,
# the listener goes away, in-flight streams keep working during the
# drain, and sockguard exits 0 at the 30 s bound.
cfg=$(write_cfg term "$F_RULES" "$F_EXTRA")
if sg_start term "$cfg"; then
	tpid=$(cat "$T/term.pid")
	dk run -d --name tterm --network none bb:latest sleep 300 >/dev/null
	mark=$(dk_mark)
	DOCKER_HOST=unix://$T/term.sock docker events --filter type=container \
		--format '{{.Action}} {{.Actor.Attributes.name}}' >"$T/term-events.out" 2>&1 &
	tev=$!
	rm -f "$T/term-in"
	mkfifo "$T/term-in"
	exec {tin}<>"$T/term-in"
	DOCKER_HOST=unix://$T/term.sock docker exec -i tterm cat <"$T/term-in" >"$T/term-exec.out" 2>&1 &
	tex=$!
	"$SGRAW" -u "$T/term.sock" -w 60000 "GET /_ping HTTP/1.1\r\nHost: d\r\n\r\n" >"$T/term-idle.out" &
	tid=$!
	f_track "$tev" "$tex" "$tid"
	echo line1 >&"$tin"
	wait_for 10 dk_saw_since "$mark" "/events"
	wait_for 10 contains "$T/term-exec.out" "line1"
	wait_for 5 grep -q '^HTTP/1.1 200' "$T/term-idle.out"
	check "sigterm: an events stream, an exec -i session and an idle connection are open" \
		sh -c "kill -0 $tev && kill -0 $tex && kill -0 $tid && grep -q line1 '$T/term-exec.out'"
	t0=$(now_ns)
	kill -TERM "$tpid"
	wait_for 5 f_bg_done "$tid"
	ms=$(ms_since "$t0")
	check "sigterm: the idle keep-alive connection is closed at once (${ms} ms < 1 s)" \
		sh -c "! kill -0 $tid 2>/dev/null && [ $ms -lt 1000 ]"
	check "sigterm: the listening socket goes away" wait_for 2 test ! -e "$T/term.sock"
	echo line2 >&"$tin"
	check "sigterm: the exec -i session keeps working during the drain" \
		wait_for 5 contains "$T/term-exec.out" "line2"
	dk create --name tterm-new --network none bb:latest true >/dev/null
	check "sigterm: the events stream keeps delivering during the drain" \
		wait_for 5 contains "$T/term-events.out" "create tterm-new"
	wait "$tpid"
	rc=$?
	ms=$(ms_since "$t0")
	echo "# sigterm: sockguard exited $rc after ${ms} ms with two streams open"
	check "sigterm: exit status 0" [ "$rc" -eq 0 ]
	check "sigterm: exits at the drain bound (28-33 s), not before, not much after" \
		sh -c "[ $ms -ge 28000 ] && [ $ms -le 33000 ]"
	check "sigterm: the forced close is logged" contains "$T/term.log" "drain deadline reached; closing 2 open connection(s)"
	check "sigterm: the events stream cut at the bound has its access record (drain_deadline)" \
		sh -c "grep '\"reason_code\":\"drain_deadline\"' '$T/term.log' | grep -q '/events'"
	check "sigterm: ... and so has the exec -i session" \
		sh -c "grep '\"reason_code\":\"drain_deadline\"' '$T/term.log' | grep -q '/exec/.*/start'"
	check "sigterm: the streams' clients see the end" \
		wait_for 5 sh -c "! kill -0 $tev 2>/dev/null && ! kill -0 $tex 2>/dev/null"
	exec {tin}>&-
	dk rm -f tterm tterm-new >/dev/null 2>&1
else
	fail "sigterm: sockguard starts"
fi

# ---------------------------------------------------------------------
# A client that hangs up entirely (not a half-close) before its answer is
# whole: the exchange ends at once (logged client_closed), the daemon's
# connection is closed (the daemon sees it go), the descriptors come back
# and nothing spins. Two daemons that never finish: one that has not
# answered yet (held), one that stalls in the body of a large
# Content-Length response, which sockguard splices.
SGRECORD=$SGTOOLS/sgrecord
"$SGRECORD" -l "$T/stall-h.sock" -o "$T/stall-h.rec" -H >"$T/stall-h.out" 2>&1 &
f_track "$!"
"$SGRECORD" -l "$T/stall-b.sock" -o "$T/stall-b.rec" -k \
	-r 'HTTP/1.1 200 OK\r\nContent-Length: 10000000\r\n\r\nthe first bytes' >"$T/stall-b.out" 2>&1 &
f_track "$!"
hz=$(getconf CLK_TCK)
for w in h b; do
	if ! wait_for 5 grep -q listening "$T/stall-$w.out"; then
		fail "client gone ($w): the stalling daemon starts"
		continue
	fi
	cat >"$T/gone$w.yaml" <<YAML
listen:
  socket: $T/gone$w.sock
upstream:
  socket: $T/stall-$w.sock
rules:
  - { match: { method: GET, path: /containers/json }, action: allow }
YAML
	if sg_start "gone$w" "$T/gone$w.yaml"; then
		gpid=$(cat "$T/gone$w.pid")
		base=$(nfds "$gpid")
		closes=$(grep -c '^close' "$T/stall-$w.out")
		"$SGRAW" -u "$T/gone$w.sock" -w 500 "GET /containers/json HTTP/1.1\r\nHost: d\r\n\r\n" >"$T/gone$w.out"
		check "client gone ($w): the exchange ends at once, logged client_closed" \
			wait_for 3 grep -q '"reason_code":"client_closed"' "$T/gone$w.log"
		check "client gone ($w): ... the daemon's connection is closed" \
			wait_for 3 sh -c "[ \$(grep -c '^close' '$T/stall-$w.out') -gt $closes ]"
		check "client gone ($w): ... the descriptors are back to the baseline" \
			wait_for 3 sh -c "[ \$(find /proc/$gpid/fd -mindepth 1 -maxdepth 1 | wc -l) -le $base ]"
		# a measurement window, not a wait for a condition
		c0=$(cpu_ticks "$gpid")
		sleep 1
		c1=$(cpu_ticks "$gpid")
		check "client gone ($w): ... and nothing spins (< 0.2 s CPU over 1 s)" \
			[ $((c1 - c0)) -lt $((hz / 5)) ]
		sg_stop "gone$w"
	else
		fail "client gone ($w): sockguard starts"
	fi
done

# An answer still on its way when SIGTERM starts the drain goes out with
# Connection: close: a keep-alive client must not send its next request
# on a connection that is about to close. The held daemon of above
# answers when told (SIGUSR1), after the drain began.
if sg_start drain "$T/goneh.yaml" && wait_for 5 grep -q listening "$T/stall-h.out"; then
	dpid=$(cat "$T/drain.pid")
	held=$(grep -c '^held' "$T/stall-h.out")
	"$SGRAW" -u "$T/goneh.sock" -w 5000 "GET /containers/json HTTP/1.1\r\nHost: d\r\n\r\n" >"$T/drain.out" &
	drc=$!
	f_track "$drc"
	wait_for 5 sh -c "[ \$(grep -c '^held' '$T/stall-h.out') -gt $held ]"
	kill -TERM "$dpid"
	wait_for 5 grep -q '"shutting down on signal' "$T/drain.log"
	pkill -USR1 -f "sgrecord -l $T/stall-h.sock"
	wait_for 8 f_bg_done "$drc"
	check "drain: the answer in flight is relayed, with Connection: close" \
		sh -c "grep -q '^HTTP/1.1 200' '$T/drain.out' && grep -qi '^Connection: close' '$T/drain.out'"
	sg_stop drain
else
	fail "drain: sockguard starts in front of the held daemon"
fi

# ---------------------------------------------------------------------
# Daemon restart (last: it disturbs the daemon). Pooled connections to
# the old daemon are dead; the next request must not use them. While the
# daemon is down a request fails at once with 502 and the log says why.
dk_down() {
	local pid
	pid=$(cat "$DK/docker.pid")
	kill "$pid"
	wait_for 30 test ! -e "$DK/docker.pid" || kill -9 "$pid" 2>/dev/null
	wait_for 10 sh -c "! kill -0 $pid 2>/dev/null"
}
dk_up() { # the flags of lib.sh's dk_start; the log is appended (dk_mark)
	dockerd --debug --host "unix://$DOCKER_SOCK" \
		--host "tcp://127.0.0.1:$DK_TLS_PORT" --tlsverify \
		--tlscacert "$CERTS/ca.pem" --tlscert "$CERTS/server-cert.pem" \
		--tlskey "$CERTS/server-key.pem" \
		--data-root "$DK/data" --exec-root "$DK/exec" \
		--pidfile "$DK/docker.pid" --iptables=false --ip6tables=false \
		--bridge=none --storage-driver=vfs >>"$DK/dockerd.log" 2>&1 &
	echo $! >"$DK/dockerd.ppid"
	wait_for 60 curl -sf --unix-socket "$DOCKER_SOCK" http://docker/_ping -o /dev/null
}
cfg=$(write_cfg rs "$F_RULES" "$F_EXTRA")
cfg2=$(write_cfg rs2 "$F_RULES" "$F_EXTRA")
if sg_start rs "$cfg" && sg_start rs2 "$cfg2"; then
	# parallel clients leave idle upstream connections in the pool
	pp=()
	for _ in 1 2 3 4; do
		"$SGRAW" -u "$T/rs.sock" -w 2000 "GET /version HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n" >/dev/null &
		pp+=($!)
	done
	wait "${pp[@]}"
	mark=$(dk_mark)
	DOCKER_HOST=unix://$T/rs.sock docker events >/dev/null 2>&1 &
	rev=$!
	f_track "$rev"
	wait_for 10 dk_saw_since "$mark" "/events"
	dk ps -aq | xargs -r docker -H "unix://$DOCKER_SOCK" rm -f >/dev/null 2>&1
	t0=$(now_ns)
	dk_down
	check "daemon down: an open events stream ends with the daemon" wait_for 5 f_bg_done "$rev"
	t1=$(now_ns)
	r=$(raw rs2 -w 5000 "GET /v1.41/version HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n")
	ms=$(ms_since "$t1")
	check "daemon down: a request gets 502 at once (${ms} ms)" \
		sh -c "printf '%s' '$r' | head -1 | grep -q '^HTTP/1.1 502' && [ $ms -lt 2000 ]"
	check "daemon down: the log names the dial error" \
		wait_for 5 sh -c "grep '\"stage\":\"dial\"' '$T/rs2.log' | grep -q '\"error\":\"connect: '"
	if dk_up; then
		echo "# daemon restart took $(ms_since "$t0") ms"
		r=$(raw rs -w 5000 "GET /v1.41/version HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n")
		check "daemon restart: the first request afterwards succeeds" \
			sh -c "printf '%s' '$r' | head -1 | grep -q '^HTTP/1.1 200'"
		n=0
		for _ in 1 2 3 4 5; do ok_ping rs && n=$((n + 1)); done
		check "daemon restart: and the next five" [ "$n" -eq 5 ]
		check "daemon restart: docker ps through sockguard" sh -c "DOCKER_HOST=unix://$T/rs.sock docker ps >/dev/null"
		check "daemon restart: the test image survived" sh -c "docker -H unix://$DOCKER_SOCK images | grep -q bb"
		# rs2's failed dial marked the lone socket unhealthy, which
		# turns pooling off: its next successful dial says it is back
		r=$(raw rs2 -w 5000 "GET /v1.41/version HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n")
		check "daemon restart: a request after the failed dial succeeds" \
			sh -c "printf '%s' '$r' | head -1 | grep -q '^HTTP/1.1 200'"
		check "daemon restart: ... and marks the socket healthy again (no probe needed)" \
			wait_for 5 sh -c "grep 'upstream endpoint health changed' '$T/rs2.log' | grep -q '\"to\":\"unhealthy\"' && grep 'upstream endpoint health changed' '$T/rs2.log' | tail -1 | grep -q '\"to\":\"healthy\"'"
	else
		fail "daemon restart: dockerd came back"
	fi
	sg_stop rs
	sg_stop rs2
else
	fail "daemon restart: sockguard starts"
fi

for p in "${F_PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
for p in "${F_PIDS[@]}"; do wait "$p" 2>/dev/null; done
F_PIDS=()
