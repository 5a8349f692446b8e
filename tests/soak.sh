#!/usr/bin/env bash
# Soak: sockguard under mixed load for SOAK_SECONDS (default 600) against
# a private dockerd, with a rule-changing reload every 10 s and a failover
# (the primary endpoint, a killable forwarder in front of the daemon, is
# killed and restarted 5 s later) every 30 s. Needs root (dockerd).
#
#   SOAK_SECONDS=600 tests/soak.sh      (make soak SOAK_SECONDS=...)
#
# Load: two curl keep-alive loops (GET /_ping, GET /containers/json),
# three `docker events` streams (restarted when they end), a
# `docker exec -i` session every 3 s.
# Fails (exit 1) on any error outside a failover window (a request or
# exec that fails, or an events stream that ends, within [kill - 1 s,
# kill + 3 s] is a "failover-window error", counted apart), on a crash, on
# a reload that is not applied, or when RSS or the open descriptor count
# grows beyond the margin (SOAK_RSS_MARGIN_KB, default 4096;
# SOAK_FD_MARGIN, default 8) between the start and the end of the run,
# both measured under load.
set -u
. "$(dirname "$0")/integ/lib.sh"

SOAK_SECONDS=${SOAK_SECONDS:-600}
SOAK_RSS_MARGIN_KB=${SOAK_RSS_MARGIN_KB:-4096}
SOAK_FD_MARGIN=${SOAK_FD_MARGIN:-8}
SOAK_PAUSE=${SOAK_PAUSE:-0.05} # between curl batches (20 requests each)
SGFWD=$SGTOOLS/sgfwd
SOAK_PIDS=()

soak_cleanup() {
	touch "$T/stop" 2>/dev/null
	local p
	for p in "${SOAK_PIDS[@]}" $(cat "$T"/evpid.* "$T/fwd.pid" 2>/dev/null); do
		kill -KILL "$p" 2>/dev/null
	done
	for p in "${SOAK_PIDS[@]}"; do wait "$p" 2>/dev/null; done
	cleanup
}
trap soak_cleanup EXIT

if [ "$(id -u)" != 0 ]; then
	echo "soak: SKIPPED: dockerd needs root"
	exit 0
fi
for t in "$SG" "$SGFWD" curl docker; do
	command -v "$t" >/dev/null || { echo "soak: missing $t" >&2; exit 1; }
done
echo "soak: starting a private dockerd"
dk_start || { echo "soak: FAIL: the private dockerd did not start" >&2; exit 1; }

now_ns() { date +%s%N; }
# nap SECONDS: sleep, but return 1 at once when the run is stopping
nap() {
	local i
	for i in $(seq "$1"); do
		[ -e "$T/stop" ] && return 1
		sleep 1
	done
	[ ! -e "$T/stop" ]
}
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null; }
nfds() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }

FPORT=$(free_port)
fwd_up() { # N: the Nth start of the forwarder
	"$SGFWD" -l "127.0.0.1:$FPORT" -u "$DOCKER_SOCK" >>"$T/fwd.log" 2>&1 &
	echo $! >"$T/fwd.pid"
	disown $! # killed from another subshell: no job notice, no wait
	wait_for 5 sh -c "[ \$(grep -c listening '$T/fwd.log') -ge $1 ]"
}
fwd_down() {
	local p
	p=$(cat "$T/fwd.pid")
	kill -KILL "$p" 2>/dev/null
	wait_for 5 sh -c "! kill -0 $p 2>/dev/null"
}
fwd_up 1 || { echo "soak: FAIL: the forwarder did not start" >&2; exit 1; }

RULES_A='allow GET,HEAD /_ping
allow GET /version
allow GET /events
allow GET /containers/json
allow * /containers/*/exec
allow * /exec/**
allow GET /containers/*/json
deny * /**'
RULES_B="deny GET /images/json \"soak: generation B\"
$RULES_A"
printf '%s\n' "$RULES_A" >"$T/soak.rules"
cat >"$T/soak.yaml" <<YAML
listen:
  socket: $T/soak.sock
upstream:
  endpoints:
    - address: tcp://127.0.0.1:$FPORT
      insecure_allow_plain_tcp: true
    - address: unix://$DOCKER_SOCK
  failover:
    health_interval: 1s
    health_timeout: 1s
rules_file: soak.rules
insecure_allow_read_exfiltration: true
reload:
  enabled: true
  debounce: 100ms
YAML
sg_start soak "$T/soak.yaml" || { echo "soak: FAIL: sockguard did not start" >&2; exit 1; }
SGPID=$(cat "$T/soak.pid")
export DOCKER_HOST=unix://$T/soak.sock
dk run -d --name soakc --network none bb:latest sleep 100000 >/dev/null ||
	{ echo "soak: FAIL: cannot start the exec target container" >&2; exit 1; }

# ---- load generators; each writes one line per unit of work ----
curl_loop() { # ID: "START_NS END_NS TOTAL OK CODES..." per batch of 20
	local args=() i s e
	for i in $(seq 10); do
		args+=(-o /dev/null http://d/_ping -o /dev/null http://d/v1.41/containers/json)
	done
	while [ ! -e "$T/stop" ]; do
		s=$(now_ns)
		curl -s --unix-socket "$T/soak.sock" -w '%{http_code}\n' "${args[@]}" >"$T/batch.$1" 2>/dev/null
		e=$(now_ns)
		echo "$s $e $(grep -c . "$T/batch.$1") $(grep -c '^200$' "$T/batch.$1") $(grep -v '^200$' "$T/batch.$1" | sort | uniq -c | tr -s ' \n' ' ')" >>"$T/load.$1"
		sleep "$SOAK_PAUSE"
	done
}
events_loop() { # ID: "END_NS LINES" each time a stream ends
	local p
	while [ ! -e "$T/stop" ]; do
		docker events >>"$T/ev.$1.out" 2>&1 &
		p=$!
		echo "$p" >"$T/evpid.$1"
		wait "$p"
		[ -e "$T/stop" ] && break
		echo "$(now_ns) $(wc -l <"$T/ev.$1.out")" >>"$T/evend.$1"
		sleep 0.2
	done
}
exec_loop() { # "NS ok|fail" every 3 s
	local out
	while [ ! -e "$T/stop" ]; do
		out=$(echo "soak-$RANDOM" | timeout 20 docker exec -i soakc cat 2>&1)
		case "$out" in
		soak-*) echo "$(now_ns) ok" >>"$T/exec" ;;
		*) echo "$(now_ns) fail $out" | head -1 >>"$T/exec" ;;
		esac
		nap 3
	done
}
reload_loop() { # a rule change every 10 s: "NS A|B"
	local v=B
	while nap 10; do
		if [ "$v" = B ]; then
			printf '%s\n' "$RULES_B" >"$T/soak.rules.tmp"
		else
			printf '%s\n' "$RULES_A" >"$T/soak.rules.tmp"
		fi
		mv "$T/soak.rules.tmp" "$T/soak.rules"
		echo "$(now_ns) $v" >>"$T/reloads"
		[ "$v" = B ] && v=A || v=B
	done
}
failover_loop() { # every 30 s: kill the primary, restart it 5 s later
	local n=1
	while nap 30; do
		now_ns >>"$T/kills"
		fwd_down
		nap 5
		n=$((n + 1))
		fwd_up "$n" || echo "$(now_ns) forwarder restart failed" >>"$T/problems"
	done
}
sample_loop() { # "NS RSS_KB FDS" every 5 s
	while [ ! -e "$T/stop" ]; do
		echo "$(now_ns) $(rss_kb "$SGPID") $(nfds "$SGPID")" >>"$T/samples"
		nap 5
	done
}

echo "soak: $SOAK_SECONDS s of load, a reload every 10 s, a failover every 30 s"
T0=$(now_ns)
curl_loop 1 &
SOAK_PIDS+=($!)
curl_loop 2 &
SOAK_PIDS+=($!)
for i in 1 2 3; do
	events_loop "$i" &
	SOAK_PIDS+=($!)
done
exec_loop &
SOAK_PIDS+=($!)
reload_loop &
SOAK_PIDS+=($!)
failover_loop &
SOAK_PIDS+=($!)
sample_loop &
SOAK_PIDS+=($!)

crashed=0
end=$((SECONDS + SOAK_SECONDS))
next_report=$((SECONDS + 60))
while [ "$SECONDS" -lt "$end" ]; do
	if ! kill -0 "$SGPID" 2>/dev/null; then
		crashed=1
		break
	fi
	if [ "$SECONDS" -ge "$next_report" ]; then
		echo "soak: $((SECONDS - end + SOAK_SECONDS)) s: $(cat "$T"/load.* 2>/dev/null | awk '{t += $3} END {print t + 0}') requests, RSS $(rss_kb "$SGPID") kB, $(nfds "$SGPID") fds"
		next_report=$((SECONDS + 60))
	fi
	sleep 1
done
touch "$T/stop"
for p in $(cat "$T"/evpid.* 2>/dev/null); do kill "$p" 2>/dev/null; done
for p in "${SOAK_PIDS[@]}"; do wait "$p" 2>/dev/null; done
SOAK_PIDS=()
# the forwarder may be down if the run ended inside a failover pause
kill -0 "$(cat "$T/fwd.pid")" 2>/dev/null || fwd_up "$(($(grep -c listening "$T/fwd.log") + 1))"

# ---- analysis ----
# in_window NS: within [kill - 1 s, kill + 3 s] of some kill
KILLS=$(cat "$T/kills" 2>/dev/null)
in_window() {
	local k
	for k in $KILLS; do
		[ "$1" -ge $((k - 1000000000)) ] && [ "$1" -le $((k + 3000000000)) ] && return 0
	done
	return 1
}
# a batch [S, E] overlaps a window
batch_in_window() {
	local k
	for k in $KILLS; do
		[ "$2" -ge $((k - 1000000000)) ] && [ "$1" -le $((k + 3000000000)) ] && return 0
	done
	return 1
}
requests=0 errors=0 werrors=0
while read -r s e n ok codes; do
	requests=$((requests + n))
	bad=$((n - ok))
	[ "$n" -lt 20 ] && bad=$((bad + 20 - n)) # curl gave up on some URLs
	[ "$bad" -eq 0 ] && continue
	if batch_in_window "$s" "$e"; then
		werrors=$((werrors + bad))
	else
		errors=$((errors + bad))
		echo "soak: error outside a failover window: $bad of $n failed ($codes) at +$(((s - T0) / 1000000)) ms" >&2
	fi
done < <(cat "$T"/load.* 2>/dev/null)
# count FILE PATTERN: matching lines, 0 when FILE does not exist
count() { if [ -f "$1" ]; then grep -c -- "$2" "$1"; else echo 0; fi; }
exec_ok=$(count "$T/exec" ' ok$')
exec_fail=0
while read -r t rest; do
	if in_window "$t"; then
		werrors=$((werrors + 1))
	else
		exec_fail=$((exec_fail + 1))
		echo "soak: exec failed outside a failover window at +$(((t - T0) / 1000000)) ms: $rest" >&2
	fi
done < <(grep ' fail' "$T/exec" 2>/dev/null)
ev_ends=0 ev_bad=0
for f in "$T"/evend.*; do
	[ -e "$f" ] || continue
	while read -r t _; do
		ev_ends=$((ev_ends + 1))
		if ! in_window "$t"; then
			ev_bad=$((ev_bad + 1))
			echo "soak: an events stream ended outside a failover window at +$(((t - T0) / 1000000)) ms" >&2
		fi
	done <"$f"
done
ev_lines=$(cat "$T"/ev.*.out 2>/dev/null | grep -c .)
errors=$((errors + exec_fail + ev_bad))
failovers=$(count "$T/kills" .)
reloads=$(count "$T/reloads" .)
h=$("$SGRAW" -u "$T/soak.sock" -w 3000 "GET /health HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n")
applied=$(printf '%s' "$h" | sed -n 's/.*"applied":\([0-9]*\).*/\1/p')
rejected=$(printf '%s' "$h" | grep -o '"rejected_[a-z]*":[0-9]*' | awk -F: '{s += $2} END {print s + 0}')
# resources under load: the median of samples 2-4 against the last three
rss0=$(sed -n '2,4p' "$T/samples" | awk '{print $2}' | sort -n | sed -n 2p)
fd0=$(sed -n '2,4p' "$T/samples" | awk '{print $3}' | sort -n | sed -n 2p)
rss1=$(tail -3 "$T/samples" | awk '{print $2}' | sort -n | sed -n 2p)
fd1=$(tail -3 "$T/samples" | awk '{print $3}' | sort -n | sed -n 2p)
: "${rss0:=0}" "${fd0:=0}" "${rss1:=0}" "${fd1:=0}"
echo "soak: RSS samples (kB): $(awk '{printf "%s ", $2}' "$T/samples")"
echo "soak: fd samples: $(awk '{printf "%s ", $3}' "$T/samples")"

fails=()
[ "$crashed" -eq 1 ] && fails+=("sockguard died during the run")
[ "$requests" -gt 0 ] || fails+=("no requests were made")
[ "$errors" -eq 0 ] || fails+=("$errors errors outside failover windows")
[ "$exec_ok" -gt 0 ] || fails+=("no exec session succeeded")
[ "$ev_lines" -gt 0 ] || fails+=("the events streams delivered nothing")
[ -s "$T/problems" ] && fails+=("$(cat "$T/problems")")
if [ "$reloads" -gt 0 ] && [ "${applied:-0}" -lt "$reloads" ]; then
	fails+=("reloads: $reloads rule changes but ${applied:-0} applied")
fi
[ "$rejected" -eq 0 ] || fails+=("$rejected reloads were rejected")
[ "$rss1" -le $((rss0 + SOAK_RSS_MARGIN_KB)) ] || fails+=("RSS grew from $rss0 to $rss1 kB")
[ "$fd1" -le $((fd0 + SOAK_FD_MARGIN)) ] || fails+=("descriptors grew from $fd0 to $fd1")

# a clean stop: no streams are open any more, so SIGTERM exits at once
if [ "$crashed" -eq 0 ]; then
	t1=$(now_ns)
	kill -TERM "$SGPID"
	wait "$SGPID"
	rc=$?
	ms=$((($(now_ns) - t1) / 1000000))
	SG_PIDS=() # lib.sh's cleanup: nothing left to stop
	[ "$rc" -eq 0 ] || fails+=("SIGTERM: exit status $rc")
	[ "$ms" -le 5000 ] || fails+=("SIGTERM took $ms ms with no stream open")
fi
grep -q '"level":"ERROR"' "$T/soak.log" &&
	echo "soak: sockguard logged $(grep -c '"level":"ERROR"' "$T/soak.log") ERROR records (dial failures at the kills are expected):" &&
	grep '"level":"ERROR"' "$T/soak.log" | sed 's/"time":"[^"]*",//; s/"request_id":"[^"]*",//' | sort | uniq -c | sort -rn | head -5

verdict=PASS
[ "${#fails[@]}" -eq 0 ] || verdict=FAIL
for f in "${fails[@]}"; do echo "soak: FAIL: $f" >&2; done
echo "soak: $verdict duration=${SOAK_SECONDS}s requests=$requests errors=$errors failover_window_errors=$werrors failovers=$failovers reloads=$reloads/${applied:-0}applied exec_ok=$exec_ok event_stream_restarts=$ev_ends event_lines=$ev_lines rss_kb=$rss0->$rss1 fds=$fd0->$fd1"
[ "$verdict" = PASS ]
