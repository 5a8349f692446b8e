#!/usr/bin/env bash
# sockguard benchmark orchestration.
#
#   bench/run.sh full    every scenario, side by side against the mock
#                        daemon directly, sockguard, HAProxy with the
#                        Tecnativa config and HAProxy with upstream
#                        keep-alive; then the real dockerd (direct vs
#                        sockguard). Writes bench/results/latest.{json,md},
#                        bench/results/chart.png, bench/chart.png and
#                        BENCHMARKS.md.
#   bench/run.sh smoke   a few seconds: builds nothing, runs a tiny subset
#                        and fails only on request errors or a crash (never
#                        on speed). Needs neither dockerd nor haproxy (nor
#                        openssl: without it the TLS part is skipped).
#
# Environment: BENCH_SECONDS (measured seconds per run, default 5),
# BENCH_WARMUP (default 1), BENCH_ROUNDS (interleaved rounds of the req/s
# and MB/s scenarios, the median reported, default 3), BENCH_BUILD (tools
# dir, default build/bench),
# SOCKGUARD (binary, default ./sockguard), HAPROXY (default
# /usr/sbin/haproxy), BENCH_NO_DOCKERD=1 (skip the real-daemon part),
# BENCH_NO_DOC=1 (do not rewrite BENCHMARKS.md).
#
# Everything runs in a private temp dir; every process started here is
# stopped and the dir removed on exit, failure or interrupt.
set -uo pipefail

MODE=${1:-full}
case $MODE in full | smoke) ;; *)
	echo "usage: $0 [full|smoke]" >&2
	exit 2
	;;
esac

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
B=${BENCH_BUILD:-build/bench}
case $B in /*) ;; *) B=$ROOT/$B ;; esac
LG=$B/loadgen
MOCKD=$B/mockd
SG=${SOCKGUARD:-$ROOT/sockguard}
HAP=${HAPROXY:-/usr/sbin/haproxy}
SECS=${BENCH_SECONDS:-5}
WARM=${BENCH_WARMUP:-1}
ROUNDS=${BENCH_ROUNDS:-3}
OUT=$ROOT/bench/results

for f in "$LG" "$MOCKD" "$SG"; do
	if [ ! -x "$f" ]; then
		echo "bench: $f is missing; run 'make bench-tools sockguard' (or make bench)" >&2
		exit 2
	fi
done

T=$(mktemp -d /tmp/sgbench.XXXXXX)
declare -A PID=()	# name -> pid of every background process we started
DK_STARTED=0
FAILED=0
NOTES=()

log() { printf '%s\n' "$*" >&2; }
note() {
	NOTES+=("$*")
	log "NOTE: $*"
}

stop_one() {	# stop_one NAME: TERM, wait up to 5 s, then KILL
	local name=$1 pid=${PID[$1]:-} i
	[ -n "$pid" ] || return 0
	unset "PID[$name]"
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 50; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

cleanup() {
	local rc=$? n
	trap - EXIT INT TERM
	for n in "${!PID[@]}"; do
		[ "$n" = dockerd ] && continue
		stop_one "$n"
	done
	[ "$DK_STARTED" = 1 ] && dk_stop
	rm -rf "$T"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# wait_for SECONDS CMD...: poll a condition
wait_for() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@"; do
		[ "$SECONDS" -ge "$deadline" ] && return 1
		sleep 0.05
	done
}

# the connection limit: 1,000 idle + 200 active clients, three processes
ulimit -n "$(ulimit -Hn)" 2>/dev/null
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt 4096 ]; then
	note "open-file limit is $(ulimit -n); the 1,000-idle scenario may fail"
fi

# ---------------------------------------------------------------- processes

# probe SOCKET: one request answered (any status)
probe() { "$LG" -u "$1" -c 1 -d 0.05 -e any -q --fail-on-error >/dev/null 2>&1; }
# probe_tls HOST:PORT: the same over mutual TLS with the bench client cert
probe_tls() {
	"$LG" -a "$1" --tls "${TLS_CLIENT[@]}" -c 1 -d 0.05 -e any -q \
		--fail-on-error >/dev/null 2>&1
}

# gen_tls: a throwaway PKI in $T/tls (openssl CLI, EC P-256): ca.pem,
# server.{pem,key} (SAN IP:127.0.0.1, serverAuth; server-bundle.pem =
# cert + key for HAProxy), client.{pem,key} (clientAuth, CN bench-client)
TLS_CLIENT=()
gen_tls() {
	local d=$T/tls n
	command -v openssl >/dev/null || { TLS_WHY="the openssl CLI is not installed"; return 1; }
	mkdir -p "$d"
	printf '%s\n' 'basicConstraints=critical,CA:FALSE' \
		'keyUsage=critical,digitalSignature' \
		'extendedKeyUsage=serverAuth' 'subjectAltName=IP:127.0.0.1' >"$d/server.ext"
	printf '%s\n' 'basicConstraints=critical,CA:FALSE' \
		'keyUsage=critical,digitalSignature' \
		'extendedKeyUsage=clientAuth' >"$d/client.ext"
	if ! (
		for n in ca server client; do
			openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
				-out "$d/$n.key" || exit 1
		done
		openssl req -x509 -new -key "$d/ca.key" -days 2 \
			-subj "/CN=sockguard bench CA" \
			-addext basicConstraints=critical,CA:TRUE \
			-addext keyUsage=critical,keyCertSign,cRLSign -out "$d/ca.pem" || exit 1
		for n in server client; do
			openssl req -new -key "$d/$n.key" -subj "/CN=bench-$n" \
				-out "$d/$n.csr" || exit 1
			openssl x509 -req -in "$d/$n.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" \
				-set_serial "$((RANDOM * 32768 + RANDOM))" -days 2 \
				-extfile "$d/$n.ext" -out "$d/$n.pem" || exit 1
		done
		openssl verify -CAfile "$d/ca.pem" -purpose sslserver "$d/server.pem" &&
			openssl verify -CAfile "$d/ca.pem" -purpose sslclient "$d/client.pem"
	) >"$d/log" 2>&1; then
		TLS_WHY="certificate generation failed: $(tail -2 "$d/log" | tr '\n' ' ')"
		return 1
	fi
	cat "$d/server.pem" "$d/server.key" >"$d/server-bundle.pem"
	TLS_CLIENT=(--cert "$d/client.pem" --key "$d/client.key" --cacert "$d/ca.pem")
}

# free_port: a TCP port on 127.0.0.1 that nothing listens on right now
free_port() {
	local p i
	for ((i = 0; i < 100; i++)); do
		p=$((20000 + RANDOM % 20000))
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return 0; }
	done
	echo "$p"
}

start_mock() {	# start_mock NAME SOCKET
	"$MOCKD" -s "$2" -q >"$T/$1.out" 2>&1 &
	PID[$1]=$!
	if ! wait_for 10 probe "$2"; then
		log "bench: mock daemon $1 did not start:"
		cat "$T/$1.out" >&2
		return 1
	fi
}

# write_sg_cfg NAME UPSTREAM_SOCKET [TLS_HOST:PORT]
write_sg_cfg() {
	local listen="  socket: $T/$1.sock"
	[ -n "${3:-}" ] && listen="  address: $3
  tls:
    cert_file: $T/tls/server.pem
    key_file: $T/tls/server.key
    client_ca_file: $T/tls/ca.pem"
	cat >"$T/$1.yaml" <<YAML
# generated by bench/run.sh: the benchmark policy, access log on
listen:
$listen
upstream:
  socket: $2
log:
  access_log: true
  output: $T/$1.log
health:
  enabled: false
insecure_allow_read_exfiltration: true
rules:
  - { match: { method: GET, path: /_ping }, action: allow }
  - { match: { method: GET, path: /containers/json }, action: allow }
  - { match: { method: GET, path: /events }, action: allow }
  - { match: { method: GET, path: /bigbody }, action: allow }
  - { match: { method: POST, path: "/containers/*/attach" }, action: allow }
  - { match: { method: "*", path: "/**" }, action: deny }
YAML
}

sg_started() { grep -q '"sockguard started"' "$T/$1.log" 2>/dev/null; }

start_sg() {	# start_sg NAME UPSTREAM_SOCKET [TLS_HOST:PORT]
	local up
	write_sg_cfg "$1" "$2" "${3:-}"
	: >"$T/$1.log"
	"$SG" run -c "$T/$1.yaml" >"$T/$1.out" 2>&1 &
	PID[$1]=$!
	if [ -n "${3:-}" ]; then up=(probe_tls "$3"); else up=(probe "$T/$1.sock"); fi
	if ! wait_for 10 sg_started "$1" || ! wait_for 5 "${up[@]}"; then
		log "bench: sockguard $1 did not start:"
		cat "$T/$1.out" "$T/$1.log" >&2
		return 1
	fi
	RSS_FRESH[$1]=$(rss_kb "${PID[$1]}")
}

start_haproxy() {	# start_haproxy NAME CONFIG [VAR=VALUE...]
	local name=$1 cfg=$2
	shift 2
	env SGB_LISTEN="$T/$name.sock" SGB_UPSTREAM="$T/mock.sock" "$@" \
		"$HAP" -db -f "$cfg" >"$T/$name.log" 2>&1 &
	PID[$name]=$!
	if ! wait_for 10 probe "$T/$name.sock"; then
		log "bench: haproxy $name did not start:"
		cat "$T/$name.log" >&2
		return 1
	fi
	RSS_FRESH[$name]=$(rss_kb "${PID[$name]}")
}

# cpu_ticks PID: user + system clock ticks of the whole process (all threads)
CLK_TCK=$(getconf CLK_TCK 2>/dev/null || echo 100)
cpu_ticks() {
	local st
	[ "$1" != 0 ] && read -r st 2>/dev/null <"/proc/$1/stat" || return 0
	st=${st##*) }	# after "pid (comm) ": state is field 1, utime 12, stime 13
	awk '{print $12 + $13}' <<<"$st"
}

# main_ticks PID: the same for the main thread only (sockguard's event loop;
# its log writer and HAProxy's second thread are the rest)
main_ticks() {
	local st
	[ "$1" != 0 ] && read -r st 2>/dev/null <"/proc/$1/task/$1/stat" || return 0
	st=${st##*) }
	awk '{print $12 + $13}' <<<"$st"
}

# busy_ticks: the whole machine's non-idle clock ticks (every process, ours
# and anyone else's)
busy_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8; exit }' /proc/stat 2>/dev/null; }

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo -1; }

declare -A RSS_FRESH=()

# ------------------------------------------------------------------ results

declare -A RES=()	# "scenario|target" -> JSON line
declare -A TLS_ABORTS=()	# scenario -> handshakes abandoned at the run's end
SCENARIOS=()		# in run order
declare -A SCEN_DESC=() SCEN_METRIC=()
SG_ISSUES=()

# jnum JSON KEY: a top-level number (our own flat JSON)
jnum() {
	local v=${1#*\"$2\":}
	[ "$v" = "$1" ] && return 1
	printf '%s\n' "${v%%[,\}]*}"
}
jobj() {	# jobj JSON KEY: a flat object value
	local v=${1#*\"$2\":}
	[ "$v" = "$1" ] && return 1
	printf '%s\n' "${v%%\}*}}"
}
# jtot JSON KEY: a count summed over a scenario's rounds (rounds_KEY on the
# median line), else the run's own
jtot() { jnum "$1" "rounds_$2" || jnum "$1" "$2"; }

# check_sg NAME SCENARIO [ABORTS_OK]: crash and log check after a run
# through sockguard. ABORTS_OK: this many "tls handshake refused" warnings
# for a connection the client closed or reset mid-handshake are expected
# (a --new-conn run stops with up to one handshake in flight per client);
# beyond that they count as issues.
check_sg() {
	local name=$1 scen=$2 aborts_ok=${3:-0} pid=${PID[$1]:-} bad n aborts=0
	local abort_re='"level":"WARN","msg":"tls handshake refused".*"error":"(TLS connection closed during handshake|Connection reset by peer)"'
	[ -n "$pid" ] || return 1	# already reported
	# the access log is written in batches (flushed within 100 ms), and the
	# closes of a run's last connections are seen just after the client
	# exits: wait so their records count for this run, not the next one
	sleep 0.3
	if ! kill -0 "$pid" 2>/dev/null; then
		wait "$pid" 2>/dev/null
		local rc=$?
		SG_ISSUES+=("CRASH in $scen: sockguard $name exited (status $rc); last log lines: $(tail -q -n 5 "$T/$name.out" "$T/$name.log" 2>/dev/null | tr '\n' ' ')")
		log "!!! sockguard $name died during $scen (status $rc):"
		{ tail -n 20 "$T/$name.out"; tail -n 5 "$T/$name.log"; } | cut -c1-400 >&2
		unset "PID[$name]"
		FAILED=1
		return 1
	fi
	# error-level lines and warnings other than the expected denials; the
	# match is cut out of its line: a record may be spliced into another
	# (fixed-string greps first: the log can be ~1 GB of request records)
	bad=$({
		LC_ALL=C grep -F '"level":"ERROR"' "$T/$name.log"
		LC_ALL=C grep -F '"level":"WARN"' "$T/$name.log" |
			LC_ALL=C grep -vF '"level":"WARN","msg":"request_denied"'
		LC_ALL=C grep -F '{"level":"' "$T/$name.log"	# no "time": the drop notice
	} | awk '!seen[$0]++' |
		LC_ALL=C grep -oE '"level":"(ERROR|WARN)","msg":"[^"]*"[^{}]{0,200}' |
		grep -v '^"level":"WARN","msg":"request_denied"')
	if [ "$aborts_ok" -gt 0 ] && [ -n "$bad" ]; then
		aborts=$(printf '%s\n' "$bad" | LC_ALL=C grep -cE "$abort_re")
		if [ "$aborts" -le "$aborts_ok" ]; then
			bad=$(printf '%s\n' "$bad" | LC_ALL=C grep -vE "$abort_re")
			[ "$aborts" -gt 0 ] && TLS_ABORTS["$scen"]=$aborts
		fi
	fi
	if [ -n "$bad" ]; then
		local drops torn
		n=$(printf '%s\n' "$bad" | wc -l)
		drops=$(printf '%s\n' "$bad" | grep -o '"dropped_total":[0-9]*' | tail -1 | cut -d: -f2)
		# a record that does not start its own line (torn JSON line)
		torn=$(LC_ALL=C grep -c '.{"level":"' "$T/$name.log")
		msg="$scen: $n ERROR/WARN log record(s)"
		[ -n "$drops" ] && msg+="; access-log records DROPPED (\"log records dropped (log output too slow)\", dropped_total=$drops so far)"
		[ "$torn" != 0 ] && msg+="; $torn of them written into the middle of another record (torn JSON line)"
		msg+="; e.g. $(printf '%s\n' "$bad" | sort | uniq -c | sort -rn | head -3 | cut -c1-300 | tr '\n' ' ')"
		SG_ISSUES+=("$msg")
		log "!!! sockguard: $msg"
	fi
	: >"$T/$name.log"	# O_APPEND: truncating is safe, keeps /tmp small
	return 0
}

# run_lg SCENARIO TARGET SOCKET EXPECT [loadgen args...]
# SOCKET is a unix socket path, or tls://HOST:PORT (mutual TLS with the
# bench client certificate, the server verified against the bench CA)
# The CPU time of the serving process (RUN_PIDNAME, else the target's
# usual one) and of the mock over the run is added to the JSON line as
# proxy_cpu_s / mock_cpu_s / run_wall_s (warm-up included).
run_lg() {
	local scen=$1 target=$2 sock=$3 expect=$4 line rc ep
	local ppid=${PID[${RUN_PIDNAME:-${TPIDNAME[$2]:-none}}]:-0} mpid=${PID[mock]:-0}
	local p0 m0 w0 p1 m1 w1 c0 c1 t0 t1
	shift 4
	case $sock in
	tls://*) ep=(-a "${sock#tls://}" --tls "${TLS_CLIENT[@]}") ;;
	*) ep=(-u "$sock") ;;
	esac
	p0=$(cpu_ticks "$ppid") t0=$(main_ticks "$ppid") m0=$(cpu_ticks "$mpid") c0=$(busy_ticks) w0=$EPOCHREALTIME
	line=$("$LG" -s "$scen" -T "$target" "${ep[@]}" -e "$expect" "$@" 2>"$T/lg.err")
	rc=$?
	p1=$(cpu_ticks "$ppid") t1=$(main_ticks "$ppid") m1=$(cpu_ticks "$mpid") c1=$(busy_ticks) w1=$EPOCHREALTIME
	if [ -z "$line" ]; then
		log "!!! loadgen failed for $scen/$target (exit $rc): $(cat "$T/lg.err")"
		FAILED=1
		return 1
	fi
	if [ "$ppid" != 0 ] && [ -n "$p0" ] && [ -n "$p1" ]; then
		line=${line%\}}$(awk -v p0="$p0" -v p1="$p1" -v m0="$m0" -v m1="$m1" \
			-v w0="$w0" -v w1="$w1" -v hz="$CLK_TCK" -v c0="$c0" -v c1="$c1" \
			-v t0="$t0" -v t1="$t1" 'BEGIN {
			printf ",\"proxy_cpu_s\":%.2f", (p1 - p0) / hz
			if (t0 != "" && t1 != "") printf ",\"proxy_main_thread_cpu_s\":%.2f", (t1 - t0) / hz
			if (m0 != "" && m1 != "") printf ",\"mock_cpu_s\":%.2f", (m1 - m0) / hz
			if (c0 != "" && c1 != "") printf ",\"machine_busy_cpu_s\":%.2f", (c1 - c0) / hz
			printf ",\"run_wall_s\":%.3f}", w1 - w0 }')
	fi
	[ -n "${ROUND:-}" ] && line=${line%\}},\"round\":$ROUND}
	RES["$scen|$target"]=$line
	printf '%s\n' "$line" >>"$T/results.jsonl"
	summary "$line"
	return "$rc"
}

summary() {
	local l=$1
	printf '  %-20s %-18s %11s req/s %9s MB/s  p50 %8s us  p99 %8s us  err %-5s closes %s %s\n' \
		"$(jstr "$l" scenario)" "$(jstr "$l" target)" "$(jnum "$l" rps)" \
		"$(jnum "$l" mb_per_s)" "$(jnum "$l" latency_p50_us)" \
		"$(jnum "$l" latency_p99_us)" "$(jnum "$l" error_requests)" \
		"$(jnum "$l" server_closes)" "$(jobj "$l" error_counts | sed 's/^{}$//')" >&2
}
jstr() {
	local v=${1#*\"$2\":\"}
	printf '%s\n' "${v%%\"*}"
}

# the targets of the main comparison: name -> socket
TARGETS=(direct sockguard)
declare -A TSOCK=([direct]=$T/mock.sock [sockguard]=$T/sockguard.sock)
declare -A TLABEL=([direct]="direct (mock)" [sockguard]="sockguard"
	[haproxy-tecnativa]="HAProxy Tecnativa" [haproxy-keepalive]="HAProxy keep-alive")
declare -A TPIDNAME=([direct]=mock [sockguard]=sockguard
	[haproxy-tecnativa]=haproxy-tecnativa [haproxy-keepalive]=haproxy-keepalive)

# scenario NAME METRIC DESCRIPTION EXPECT_PROXY EXPECT_DIRECT -- ARGS...
# runs ARGS against every target, side by side
# (ROUNDS interleaved rounds for req/s and MB/s scenarios: each target's
# figure is its median round)
scenario() {
	local name=$1 metric=$2 desc=$3 exp_proxy=$4 exp_direct=$5 t exp extra
	local rounds=1 r round
	local -A rl=()
	shift 6
	SCENARIOS+=("$name")
	SCEN_DESC[$name]=$desc
	SCEN_METRIC[$name]=$metric
	log "== $name: $desc"
	case $metric in rps | mbps) rounds=$ROUNDS ;; esac
	for ((r = 1; r <= rounds; r++)); do
		round=
		[ "$rounds" -gt 1 ] && round=$r && log "   round $r of $rounds"
		for t in "${TARGETS[@]}"; do
			exp=$exp_proxy
			[ "$t" = direct ] && exp=$exp_direct
			extra=()
			[ "$metric" = idle ] && extra=(--rss-pid "${PID[${TPIDNAME[$t]}]}")
			unset "RES[$name|$t]"
			ROUND=$round run_lg "$name" "$t" "${TSOCK[$t]}" "$exp" "$@" "${extra[@]}"
			[ -n "${RES["$name|$t"]:-}" ] && rl[$t]+=${RES["$name|$t"]}$'\n'
			[ "$t" = sockguard ] && check_sg sockguard "$name" || true
			if [ "$t" = sockguard ] && [ -z "${PID[sockguard]:-}" ]; then
				# crashed: bring it back for the remaining scenarios
				start_sg sockguard "$T/mock.sock" || return 1
			fi
		done
	done
	[ "$rounds" -gt 1 ] || return 0
	for t in "${TARGETS[@]}"; do
		[ -n "${rl[$t]:-}" ] || continue
		RES["$name|$t"]=$(median_line "$metric" "${rl[$t]}")
	done
}

# median_line METRIC LINES: the run with the median figure (the lower of
# the two middle ones for an even count), with every round's figure and
# the error, setup-error and close counts summed over the rounds added
median_line() {
	local key=rps l v i=0 n mid pick e=0 se=0 cl=0 vals=""
	local -a ls=() vs=()
	[ "$1" = mbps ] && key=mb_per_s
	while IFS= read -r l; do
		[ -n "$l" ] || continue
		v=$(jnum "$l" "$key") || continue
		ls+=("$l")
		vs+=("$v")
		vals+=${vals:+,}$v
		e=$((e + $(jnum "$l" error_requests || echo 0)))
		se=$((se + $(jnum "$l" setup_errors || echo 0)))
		cl=$((cl + $(jnum "$l" server_closes || echo 0)))
	done <<<"$2"
	n=${#ls[@]}
	[ "$n" -gt 0 ] || return 0
	mid=$(((n - 1) / 2))
	pick=$(for ((i = 0; i < n; i++)); do printf '%s %d\n' "${vs[$i]}" "$i"; done |
		sort -g -k1,1 | sed -n "$((mid + 1))p" | cut -d' ' -f2)
	l=${ls[$pick]}
	printf '%s,"rounds":%d,"round_values":[%s],"rounds_error_requests":%d,"rounds_setup_errors":%d,"rounds_server_closes":%d}\n' \
		"${l%\}}" "$n" "$vals" "$e" "$se" "$cl"
}

# ------------------------------------------------------------ dockerd part
# A private dockerd, the recipe of tests/integ/lib.sh (dk_start).
DK=$T/dk
DOCKER_SOCK=$DK/docker.sock
dk() { docker -H "unix://$DOCKER_SOCK" "$@"; }
dk_ping() { curl -sf --unix-socket "$DOCKER_SOCK" http://docker/_ping -o /dev/null; }

dk_start() {
	mkdir -p "$DK"
	if ! command -v dockerd >/dev/null; then
		DK_WHY="dockerd is not installed (apt-get install docker.io)"
		return 1
	fi
	if ! command -v curl >/dev/null; then
		DK_WHY="curl is not installed"
		return 1
	fi
	dockerd --host "unix://$DOCKER_SOCK" \
		--data-root "$DK/data" --exec-root "$DK/exec" \
		--pidfile "$DK/docker.pid" --iptables=false --ip6tables=false \
		--bridge=none --storage-driver=vfs >"$DK/dockerd.log" 2>&1 &
	PID[dockerd]=$!
	DK_STARTED=1
	if ! wait_for 60 dk_ping; then
		DK_WHY="dockerd did not become ready: $(tail -3 "$DK/dockerd.log" | tr '\n' ' ')"
		return 1
	fi
	# a few containers so that /containers/json has something to list
	if command -v docker >/dev/null && command -v busybox >/dev/null; then
		mkdir -p "$DK/rootfs/bin"
		cp "$(command -v busybox)" "$DK/rootfs/bin/busybox"
		ln -sf busybox "$DK/rootfs/bin/sleep"
		tar -C "$DK/rootfs" -cf "$DK/bb.tar" . &&
			dk import "$DK/bb.tar" bb:latest >/dev/null &&
			for i in 1 2 3 4 5; do
				dk create --name "bench$i" --network none \
					--label com.example.bench=true bb:latest sleep 1 >/dev/null
			done
	else
		note "docker CLI or busybox missing: the real daemon lists no containers"
	fi
	return 0
}

dk_stop() {
	local pid
	DK_STARTED=0
	if [ -f "$DK/docker.pid" ]; then
		pid=$(cat "$DK/docker.pid")
		command -v docker >/dev/null &&
			dk ps -aq 2>/dev/null | xargs -r docker -H "unix://$DOCKER_SOCK" rm -f >/dev/null 2>&1
		kill "$pid" 2>/dev/null
		wait_for 30 test ! -e "$DK/docker.pid" || kill -9 "$pid" 2>/dev/null
	fi
	if [ -n "${PID[dockerd]:-}" ]; then
		kill "${PID[dockerd]}" 2>/dev/null
		wait "${PID[dockerd]}" 2>/dev/null
		unset "PID[dockerd]"
	fi
	# vfs layers are plain directories; nothing stays mounted
	rm -rf "$DK" 2>/dev/null
}

# ==================================================================== smoke
if [ "$MODE" = smoke ]; then
	log "bench-smoke: tools in $B, sockguard $SG"
	start_mock mock "$T/mock.sock" || exit 1
	start_sg sockguard "$T/mock.sock" || exit 1
	rc=0
	fail() {
		log "bench-smoke: FAIL: $*"
		rc=1
	}
	sm() {	# sm NAME TARGET EXPECT ARGS...
		local n=$1 t=$2 e=$3
		shift 3
		run_lg "$n" "$t" "${TSOCK[$t]:-$T/$t.sock}" "$e" --fail-on-error "$@" ||
			fail "$n against $t: errors (see the line above)"
		if [ "$t" = sockguard ] && ! check_sg sockguard "$n"; then
			fail "sockguard crashed in $n"
			start_sg sockguard "$T/mock.sock" || exit 1
		fi
	}
	sm allow_ping_c10 direct 2xx -c 10 -d 1 -p /_ping
	sm allow_ping_c10 sockguard 2xx -c 10 -d 1 -p /_ping
	sm allow_containers_c10 sockguard 2xx -c 10 -d 0.5 -p /v1.41/containers/json
	sm deny_exec_c10 sockguard 403 -c 10 -d 1 -X POST -p /exec/x/start \
		-b '{"Detach":false,"Tty":false}'
	l=${RES[deny_exec_c10|sockguard]:-}
	if [ -n "$l" ] && [ "$(jnum "$l" server_closes)" != 0 ]; then
		log "bench-smoke: WARNING: sockguard closed $(jnum "$l" server_closes) connection(s) after a deny (it should keep them open)"
	fi
	sm hijack_echo_c2 direct 101 -M echo -c 2 -d 0.5 -p '/containers/bench/attach?stream=1&stdin=1&stdout=1'
	sm hijack_echo_c2 sockguard 101 -M echo -c 2 -d 0.5 -p '/containers/bench/attach?stream=1&stdin=1&stdout=1'
	sm hijack_stream_c1 sockguard 101 -M stream -c 1 -d 0.5 --expect-bytes 8388608 \
		-p '/containers/bench/attach?stream=1&stdout=1&bench_bytes=8388608'
	sm events_tick_c2 sockguard 2xx -c 2 -d 0.5 -p '/events?interval_ms=10&count=3'
	sm chunked_stream_c1 sockguard 2xx -c 1 -d 0.5 -p '/events?bench_bytes=8388608'
	# the TLS listener (mutual TLS with a generated PKI): keep-alive, then a
	# new connection (full handshake) per request
	if gen_tls; then
		TLS_SG_PORT=$(free_port)
		if start_sg sockguard-tls "$T/mock.sock" "127.0.0.1:$TLS_SG_PORT"; then
			for n in tls_ping_c10 tls_handshake_c10; do
				extra=()
				[ "$n" = tls_handshake_c10 ] && extra=(--new-conn)
				RUN_PIDNAME=sockguard-tls run_lg "$n" sockguard "tls://127.0.0.1:$TLS_SG_PORT" 2xx \
					--fail-on-error -c 10 -d 0.5 -p /_ping "${extra[@]}" ||
					fail "$n against sockguard: errors (see the line above)"
				check_sg sockguard-tls "$n" "$(( ${#extra[@]} ? 10 : 0 ))" ||
					fail "sockguard (TLS listener) crashed in $n"
			done
			stop_one sockguard-tls
		else
			fail "sockguard did not start with a TLS listener"
		fi
	else
		log "bench-smoke: NOTE: TLS part skipped: $TLS_WHY"
	fi
	if [ -x "$HAP" ]; then
		for v in tecnativa keepalive; do
			if start_haproxy "haproxy-$v" "$ROOT/bench/haproxy-$v.cfg"; then
				sm allow_ping_c10 "haproxy-$v" 2xx -c 10 -d 0.5 -p /_ping
				sm deny_exec_c10 "haproxy-$v" 403 -c 10 -d 0.5 -X POST -p /exec/x/start \
					-b '{"Detach":false,"Tty":false}'
				stop_one "haproxy-$v"
			else
				fail "haproxy-$v did not start with bench/haproxy-$v.cfg"
			fi
		done
	else
		log "bench-smoke: NOTE: $HAP not found, HAProxy parts skipped"
	fi
	if [ -n "${PID[sockguard]:-}" ] && ! kill -0 "${PID[sockguard]}" 2>/dev/null; then
		fail "sockguard is gone"
	fi
	stop_one sockguard
	mkdir -p "$OUT"
	cp "$T/results.jsonl" "$OUT/smoke.jsonl" 2>/dev/null
	[ "$FAILED" = 1 ] && rc=1
	if [ "$rc" = 0 ]; then
		log "bench-smoke: ok (no errors, no crash; speed is not checked)"
	else
		log "bench-smoke: FAILED"
	fi
	exit "$rc"
fi

# ===================================================================== full
log "bench: ${SECS}s per run after ${WARM}s warm-up, $ROUNDS round(s); temp dir $T"
start_mock mock "$T/mock.sock" || exit 1
start_sg sockguard "$T/mock.sock" || exit 1
HAVE_HAP=0
if [ -x "$HAP" ]; then
	if start_haproxy haproxy-tecnativa "$ROOT/bench/haproxy-tecnativa.cfg" &&
		start_haproxy haproxy-keepalive "$ROOT/bench/haproxy-keepalive.cfg"; then
		HAVE_HAP=1
		TARGETS+=(haproxy-tecnativa haproxy-keepalive)
		TSOCK[haproxy-tecnativa]=$T/haproxy-tecnativa.sock
		TSOCK[haproxy-keepalive]=$T/haproxy-keepalive.sock
	else
		note "HAProxy did not start; its columns are empty"
	fi
else
	note "$HAP not found: HAProxy columns skipped"
fi

LGT=(-d "$SECS" -w "$WARM")
clients() { if [ "$1" = 1 ]; then echo "1 client"; else echo "$1 clients"; fi; }
BODY='{"Detach":false,"Tty":false}'
for c in 1 10 50 200 1000; do
	scenario "allow_ping_c$c" rps "GET /_ping, $(clients "$c")" 2xx 2xx -- \
		"${LGT[@]}" -c "$c" -p /_ping
done
for c in 1 10 50 200; do
	scenario "allow_containers_c$c" rps "GET /v1.41/containers/json (~2 KiB), $(clients "$c")" 2xx 2xx -- \
		"${LGT[@]}" -c "$c" -p /v1.41/containers/json
done
for c in 10 200; do
	scenario "deny_exec_c$c" rps "POST /exec/x/start denied (403; the mock answers 204), $(clients "$c")" 403 2xx -- \
		"${LGT[@]}" -c "$c" -X POST -p /exec/x/start -b "$BODY"
done
# memory: first let every process settle after the 200-client runs (sockguard
# returns unused exchange buffers to the system after a second), so "before
# the idle test" is an idle figure; RSS with the 1,000 idle connections open
# is sampled 0.2 s after they were answered and again IDLE_SETTLE s later
IDLE_SETTLE=2.5
sleep "$IDLE_SETTLE"
scenario idle1000_ping_c10 idle "1,000 idle keep-alive connections + 10 clients GET /_ping" 2xx 2xx -- \
	"${LGT[@]}" -c 10 -i 1000 -p /_ping --idle-settle "$IDLE_SETTLE"
scenario hijack_echo_c10 rps "hijacked attach (Upgrade: tcp -> 101), 64-byte echo round trips, 10 streams" 101 101 -- \
	"${LGT[@]}" -M echo -c 10 --echo-size 64 -p '/containers/bench/attach?stream=1&stdin=1&stdout=1'
STREAM=268435456
scenario hijack_stream_c1 mbps "hijacked attach, 256 MiB raw stream per upgrade, 1 stream" 101 101 -- \
	"${LGT[@]}" -M stream -c 1 --expect-bytes $STREAM -t 0 \
	-p "/containers/bench/attach?stream=1&stdout=1&bench_bytes=$STREAM"
scenario chunked_stream_c1 mbps "GET /events, 256 MiB chunked body (64 KiB chunks), 1 client" 2xx 2xx -- \
	"${LGT[@]}" -c 1 -t 0 -p "/events?bench_bytes=$STREAM"
scenario bigbody_c1 mbps "GET /bigbody, 256 MiB Content-Length body, 1 client" 2xx 2xx -- \
	"${LGT[@]}" -c 1 -t 0 -p "/bigbody?size=$STREAM"

# ------------------------------------------------------- memory, fresh
# The RSS targets on a fresh instance: at start, then with 1,000 idle
# keep-alive connections + 10 active clients (the idle1000 scenario above
# measures the long-running instance, after every other scenario).
if start_sg sockguard-mem "$T/mock.sock"; then
	log "== mem_idle1000_fresh: a fresh sockguard, 1,000 idle keep-alive connections + 10 clients"
	RUN_PIDNAME=sockguard-mem run_lg mem_idle1000_fresh sockguard "$T/sockguard-mem.sock" 2xx "${LGT[@]}" \
		-c 10 -i 1000 -p /_ping --rss-pid "${PID[sockguard-mem]}" --idle-settle "$IDLE_SETTLE"
	check_sg sockguard-mem mem_idle1000_fresh
	RSS_FRESH[sockguard-mem-end]=$(rss_kb "${PID[sockguard-mem]:-0}")
	stop_one sockguard-mem
else
	note "a fresh sockguard for the memory check did not start"
fi

# -------------------------------------------------------------------- TLS
# sockguard's TLS listener against HAProxy keep-alive terminating TLS the
# same way (TLS 1.3 only, ALPN http/1.1, client certificate required from
# the bench CA; see haproxy-keepalive.cfg), one after the other per
# scenario. The load generator presents the bench client certificate and
# verifies the server's (CA + IP SAN). A separate instance of each (the
# plain ones idle meanwhile); the TLS columns are labelled sockguard and
# HAProxy keep-alive.
TLS_SCEN=(tls_handshake_c10 tls_ping_c10 tls_ping_c50)
SCEN_DESC[tls_handshake_c10]="TLS 1.3 + client cert, new connection per request (full handshake, no resumption) + GET /_ping, 10 clients"
SCEN_DESC[tls_ping_c10]="GET /_ping over TLS 1.3 keep-alive (client cert), 10 clients"
SCEN_DESC[tls_ping_c50]="GET /_ping over TLS 1.3 keep-alive (client cert), 50 clients"
for s in "${TLS_SCEN[@]}"; do SCEN_METRIC[$s]=rps; done
declare -A TLS_EP=() TLS_PIDNAME=([sockguard]=sockguard-tls [haproxy-keepalive]=haproxy-tls)
TLS_NOCERT=()
TLS_SG_PORT=
if gen_tls; then
	TLS_SG_PORT=$(free_port)
	if start_sg sockguard-tls "$T/mock.sock" "127.0.0.1:$TLS_SG_PORT"; then
		TLS_EP[sockguard]=tls://127.0.0.1:$TLS_SG_PORT
	else
		note "sockguard with a TLS listener did not start: its TLS rows are empty"
	fi
	if [ "$HAVE_HAP" = 1 ]; then
		p=$(free_port)
		[ "$p" = "$TLS_SG_PORT" ] && p=$(free_port)
		if start_haproxy haproxy-tls "$ROOT/bench/haproxy-keepalive.cfg" \
			SGB_TLS_BIND="127.0.0.1:$p" SGB_TLS_CERT="$T/tls/server-bundle.pem" \
			SGB_TLS_CA="$T/tls/ca.pem" && wait_for 5 probe_tls "127.0.0.1:$p"; then
			TLS_EP[haproxy-keepalive]=tls://127.0.0.1:$p
		else
			note "HAProxy with TLS did not start: its TLS rows are empty"
		fi
	fi
	# both must refuse a client without a certificate (nothing answered)
	for t in sockguard haproxy-keepalive; do
		[ -n "${TLS_EP[$t]:-}" ] || continue
		l=$("$LG" -a "${TLS_EP[$t]#tls://}" --tls -c 2 -d 0.3 -q -e any 2>/dev/null)
		TLS_NOCERT+=("${TLABEL[$t]}: $(jnum "$l" ok_requests) answered, $(jnum "$l" error_requests) refused")
	done
	[ -n "${PID[sockguard-tls]:-}" ] && : >"$T/sockguard-tls.log"	# the refusals
	for s in "${TLS_SCEN[@]}"; do
		log "== $s: ${SCEN_DESC[$s]}"
		c=${s##*_c}
		extra=()
		[ "$s" = tls_handshake_c10 ] && extra=(--new-conn)
		for t in sockguard haproxy-keepalive; do
			[ -n "${TLS_EP[$t]:-}" ] || continue
			RUN_PIDNAME=${TLS_PIDNAME[$t]} run_lg "$s" "$t" "${TLS_EP[$t]}" 2xx "${LGT[@]}" -c "$c" -p /_ping \
				"${extra[@]}" --rss-pid "${PID[${TLS_PIDNAME[$t]}]:-0}"
			if [ "$t" = sockguard ]; then
				# a --new-conn run ends with up to one handshake per
				# client in flight, which the server logs as refused
				check_sg sockguard-tls "$s" "$(( ${#extra[@]} ? c : 0 ))" || true
				if [ -z "${PID[sockguard-tls]:-}" ]; then
					start_sg sockguard-tls "$T/mock.sock" "127.0.0.1:$TLS_SG_PORT" ||
						unset "TLS_EP[sockguard]"
				fi
			fi
		done
	done
	stop_one sockguard-tls
	stop_one haproxy-tls
else
	note "TLS scenarios skipped: ${TLS_WHY:-?}"
fi
[ "$HAVE_HAP" = 1 ] || note "TLS: no HAProxy, so no TLS reference"

# ---------------------------------------------------------------- dockerd
DK_SCEN=(dockerd_containers_c1 dockerd_containers_c10)
DK_OK=0
if [ "${BENCH_NO_DOCKERD:-0}" = 1 ]; then
	note "real dockerd part skipped (BENCH_NO_DOCKERD=1)"
elif dk_start; then
	if start_sg sockguard-dk "$DOCKER_SOCK"; then
		DK_OK=1
		# the daemon's own API version (Debian's docker.io 20.10 is 1.41)
		DK_HDRS=$(curl -sI --unix-socket "$DOCKER_SOCK" http://docker/_ping | tr -d '\r')
		DK_API=$(printf '%s\n' "$DK_HDRS" | awk -F': *' 'tolower($1) == "api-version" {print $2}')
		DK_VER=$(printf '%s\n' "$DK_HDRS" | awk -F': *' 'tolower($1) == "server" {print $2}')
		DK_API=${DK_API:-1.41}
		DK_NCONT=$(curl -s --unix-socket "$DOCKER_SOCK" "http://docker/v$DK_API/containers/json?all=1" | grep -o '"Id":' | wc -l)
		for c in 1 10; do
			s=dockerd_containers_c$c
			SCEN_DESC[$s]="real dockerd, GET /v$DK_API/containers/json?all=1 ($DK_NCONT containers), $(clients "$c")"
			SCEN_METRIC[$s]=rps
			log "== $s: ${SCEN_DESC[$s]}"
			run_lg "$s" dockerd "$DOCKER_SOCK" 2xx "${LGT[@]}" -c "$c" -p "/v$DK_API/containers/json?all=1"
			RUN_PIDNAME=sockguard-dk run_lg "$s" sockguard "$T/sockguard-dk.sock" 2xx "${LGT[@]}" -c "$c" -p "/v$DK_API/containers/json?all=1"
			check_sg sockguard-dk "$s"
		done
		stop_one sockguard-dk
	else
		note "sockguard in front of dockerd did not start"
	fi
else
	note "!!! REAL DOCKERD PART SKIPPED: ${DK_WHY:-unknown reason} !!!"
fi
[ "$DK_STARTED" = 1 ] && dk_stop

# final sockguard state
check_sg sockguard end || true
SG_RSS_END=$(rss_kb "${PID[sockguard]:-0}")

# ================================================================= report
mkdir -p "$OUT"
DATE=$(date -u +%Y-%m-%dT%H:%M:%SZ)
CPU_MODEL=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
NCPU=$(nproc)
KERNEL=$(uname -r)
MEM=$(awk '/^MemTotal:/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)
SG_VER=$("$SG" version 2>/dev/null | head -1)
HAP_VER=$([ -x "$HAP" ] && "$HAP" -v 2>/dev/null | head -1 | awk '{print $3}')
GIT_REV=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)

json_esc() { printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g' | tr -d '\n\r\t'; }
{
	printf '{"generated":"%s","mode":"full","bench_seconds":%s,"warmup_seconds":%s,\n' "$DATE" "$SECS" "$WARM"
	printf ' "machine":{"cpus":%s,"cpu_model":"%s","kernel":"%s","memory":"%s"},\n' \
		"$NCPU" "$(json_esc "$CPU_MODEL")" "$(json_esc "$KERNEL")" "$MEM"
	printf ' "versions":{"sockguard":"%s","git":"%s","haproxy":"%s"},\n' \
		"$(json_esc "$SG_VER")" "$(json_esc "$GIT_REV")" "$(json_esc "$HAP_VER")"
	printf ' "sockguard_rss_kb":{"fresh":%s,"end":%s},\n' "${RSS_FRESH[sockguard]:--1}" "${SG_RSS_END:--1}"
	printf ' "notes":['
	sep=
	for n in "${NOTES[@]}"; do printf '%s"%s"' "$sep" "$(json_esc "$n")"; sep=,; done
	printf '],\n "sockguard_issues":['
	sep=
	for n in "${SG_ISSUES[@]}"; do printf '%s"%s"' "$sep" "$(json_esc "$n")"; sep=,; done
	printf '],\n "results":[\n'
	sed '$!s/$/,/' "$T/results.jsonl"
	printf ']}\n'
} >"$OUT/latest.json"

# number formatting
fmt() {	# fmt METRIC VALUE
	[ -z "$2" ] && { echo "–"; return; }
	awk -v m="$1" -v v="$2" 'BEGIN {
		if (m == "mbps") { printf "%.0f MB/s", v; exit }
		if (v >= 1000) printf "%.1fk", v / 1000; else printf "%.0f", v }'
}
ratio() { [ -n "$1" ] && [ -n "$2" ] && awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "–" }' || echo "–"; }
val() {	# val SCENARIO TARGET -> the headline number
	local l=${RES["$1|$2"]:-}
	[ -n "$l" ] || return 0
	if [ "${SCEN_METRIC[$1]}" = mbps ]; then jnum "$l" mb_per_s; else jnum "$l" rps; fi
}
cell() { fmt "${SCEN_METRIC[$1]}" "$(val "$1" "$2")"; }
errs() {	# errs SCENARIO TARGET -> "" or " (N errors)"
	local l=${RES["$1|$2"]:-} e
	[ -n "$l" ] || return 0
	e=$(jtot "$l" error_requests)
	[ "$e" != 0 ] && printf ' ⚠%s err' "$e"
}

# ------------------------------------------------ report: TLS, targets, CPU
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "" && b != "" && a != "–" && a + 0 >= b + 0) }'; }
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "" && b != "" && a + 0 <= b + 0) }'; }
mib() { [ -n "$1" ] && [ "$1" != -1 ] && awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }' || echo "–"; }
join_by() { local IFS=$1; shift; printf '%s' "$*"; }
joinbr() { local IFS=$'\x1f'; printf '%s' "$*" | sed 's/\x1f/<br>/g'; }

tls_details() {
	local t l parts=()
	for t in sockguard haproxy-keepalive; do
		l=${RES["tls_ping_c10|$t"]:-}
		case $l in *'"tls_version":"'*)
			parts+=("${TLABEL[$t]} $(jstr "$l" tls_version), $(jstr "$l" tls_cipher), ALPN $(jstr "$l" tls_alpn)") ;;
		esac
	done
	[ "${#parts[@]}" -gt 0 ] || return 0
	echo "TLS rows: separate TLS instances of sockguard (\`listen.tls\`) and of HAProxy"
	echo "keep-alive (the same config plus a TLS \`bind\`), both TLS 1.3 only, ALPN"
	echo "http/1.1, client certificate required (a CA, server and client certificates"
	echo "generated per run, EC P-256). The load generator presents the client"
	echo "certificate, verifies the server's (CA and IP SAN) and keeps no session, so"
	echo "every handshake is a full one. \`tls_handshake_c10\` opens a new connection"
	echo "for every request, which the client closes after the response; its latency"
	echo "runs from \`connect()\` to the response's last byte."
	echo "Negotiated: $(join_by ';' "${parts[@]}" | sed 's/;/; /g')."
	[ "${#TLS_NOCERT[@]}" -gt 0 ] &&
		echo "A client without a certificate: $(join_by ';' "${TLS_NOCERT[@]}" | sed 's/;/; /g')."
	if [ "${#TLS_ABORTS[@]}" -gt 0 ]; then
		local k a=()
		for k in "${!TLS_ABORTS[@]}"; do a+=("${TLS_ABORTS[$k]} in \`$k\`"); done
		echo "sockguard logged \"tls handshake refused\" (client closed or reset"
		echo "mid-handshake) for the connections the load generator abandoned when it"
		echo "stopped: $(join_by ';' "${a[@]}" | sed 's/;/; /g') (at most one per client is expected; not errors)."
	fi
}

# targets_md: the targets of the issue, met / not met, from this run only
targets_md() {
	local s r a b v ok parts l best bn e tot io
	echo "Each target as the issue states it, judged on this run's numbers only"
	echo "(ratios are side by side on the same noisy machine; ✓ / ✗ per measurement)."
	echo
	echo "| target | measured in this run | verdict |"
	echo "|---|---|---|"
	verdict() { if [ "$1" = 1 ]; then echo "**met**"; elif [ "$1" = 2 ]; then echo "not measured"; else echo "**not met**"; fi; }
	mark() { if [ "$1" = 1 ]; then echo "✓"; else echo "✗"; fi; }

	# 1. allow path
	parts=() ok=1
	for s in allow_ping_c10 allow_ping_c50 allow_containers_c10 allow_containers_c50; do
		if [ -z "${RES["$s|sockguard"]:-}" ] || [ -z "${RES["$s|haproxy-keepalive"]:-}" ]; then ok=2; continue; fi
		r=$(ratio "$(val "$s" sockguard)" "$(val "$s" haproxy-keepalive)")
		a=$(jnum "${RES["$s|sockguard"]}" latency_p99_us)
		b=$(jnum "${RES["$s|haproxy-keepalive"]}" latency_p99_us)
		if ge "$r" 1.3 && le "$a" "$b"; then v=1; else v=0; [ "$ok" = 1 ] && ok=0; fi
		parts+=("$(mark $v) \`$s\` ${r}×, p99 $(printf '%.0f' "$a") vs $(printf '%.0f' "$b") µs")
	done
	echo "| allow path ≥ 1.3× HAProxy keep-alive at 10 and 50 clients, p99 no worse | $(joinbr "${parts[@]}") | $(verdict $ok) |"

	# 2. deny, connection kept open: against the faster HAProxy variant
	parts=() ok=1
	for s in deny_exec_c10 deny_exec_c200; do
		if [ -z "${RES["$s|sockguard"]:-}" ] || [ -z "${RES["$s|haproxy-keepalive"]:-}" ]; then ok=2; continue; fi
		best=haproxy-keepalive
		if [ -n "${RES["$s|haproxy-tecnativa"]:-}" ] && ! ge "$(val "$s" haproxy-keepalive)" "$(val "$s" haproxy-tecnativa)"; then
			best=haproxy-tecnativa
		fi
		r=$(ratio "$(val "$s" sockguard)" "$(val "$s" "$best")")
		bn=$(jtot "${RES["$s|sockguard"]}" server_closes)
		if ge "$r" 1.2 && [ "$bn" = 0 ]; then v=1; else v=0; [ "$ok" = 1 ] && ok=0; fi
		parts+=("$(mark $v) \`$s\` ${r}× the faster HAProxy (${TLABEL[$best]}; keep-alive $(ratio "$(val "$s" sockguard)" "$(val "$s" haproxy-keepalive)")×, Tecnativa $(ratio "$(val "$s" sockguard)" "$(val "$s" haproxy-tecnativa)")×), $([ "$bn" = 0 ] && echo "connections kept open" || echo "$bn connections closed")")
	done
	echo "| deny ≥ 1.2× HAProxy, client connection kept open | $(joinbr "${parts[@]}") | $(verdict $ok) |"

	# 3. streams
	parts=() ok=1
	for s in hijack_stream_c1 chunked_stream_c1 bigbody_c1; do
		if [ -z "${RES["$s|sockguard"]:-}" ] || [ -z "${RES["$s|direct"]:-}" ]; then ok=2; continue; fi
		r=$(ratio "$(val "$s" sockguard)" "$(val "$s" direct)")
		if ge "$r" 0.9; then v=1; else v=0; [ "$ok" = 1 ] && ok=0; fi
		parts+=("$(mark $v) \`$s\` ${r}× ($(cell "$s" sockguard) vs $(cell "$s" direct))")
	done
	echo "| stream throughput ≥ 0.9× direct | $(joinbr "${parts[@]}") | $(verdict $ok) |"

	# 4. RSS idle
	parts=() ok=1
	rss_part() {	# rss_part LIMIT_KB KB LABEL
		if [ -z "$2" ] || [ "$2" = -1 ]; then return; fi
		if le "$2" "$1"; then v=1; else v=0; [ "$ok" = 1 ] && ok=0; fi
		parts+=("$(mark $v) $(mib "$2") $3")
	}
	rss_part 8192 "${RSS_FRESH[sockguard]:-}" "at start (the main instance)"
	rss_part 8192 "${RSS_FRESH[sockguard-mem]:-}" "at start (a second fresh instance)"
	l=${RES["idle1000_ping_c10|sockguard"]:-}
	[ -n "$l" ] && rss_part 8192 "$(jnum "$l" rss_start_kb)" "idle after the earlier load scenarios (no connection open, ${IDLE_SETTLE:-?} s after the last run)"
	rss_part 8192 "${SG_RSS_END:-}" "idle at the end of the whole run"
	[ "${#parts[@]}" = 0 ] && ok=2
	echo "| RSS ≤ 8 MiB idle | $(joinbr "${parts[@]}") | $(verdict $ok) |"

	# 5. RSS with 1,000 keep-alive connections
	parts=() ok=1
	for s in mem_idle1000_fresh idle1000_ping_c10; do
		l=${RES["$s|sockguard"]:-}
		[ -n "$l" ] || continue
		a="fresh instance"
		[ "$s" = idle1000_ping_c10 ] && a="long-running instance"
		rss_part 16384 "$(jnum "$l" rss_idle_kb)" "$a, 1,000 idle connections open (${IDLE_SETTLE:-?} s after their requests)"
		rss_part 16384 "$(jnum "$l" rss_max_kb)" "$a, peak with 1,000 idle + 10 active"
		# not judged: the burst of 1,000 simultaneous first requests
		parts+=("(not judged: $(mib "$(jnum "$l" rss_idle_early_kb)") $a 0.2 s after the 1,000 simultaneous first requests, exchange buffers not yet returned)")
	done
	[ "${#parts[@]}" = 0 ] && ok=2
	echo "| RSS ≤ 16 MiB with 1,000 keep-alive connections | $(joinbr "${parts[@]}") | $(verdict $ok) |"

	# 6. zero errors at 200 and 1,000 clients
	parts=() ok=1
	for s in allow_ping_c200 allow_containers_c200 deny_exec_c200 allow_ping_c1000 idle1000_ping_c10 mem_idle1000_fresh; do
		l=${RES["$s|sockguard"]:-}
		[ -n "$l" ] || { ok=2; continue; }
		tot=$(($(jtot "$l" error_requests) + $(jtot "$l" setup_errors)))
		io=
		if [ "$(jnum "$l" idle_connections)" != 0 ]; then
			io=", $(jnum "$l" idle_ok)/$(jnum "$l" idle_connections) idle connections answered, $(jnum "$l" idle_open_at_end) still open at the end"
		fi
		if [ "$tot" = 0 ]; then v=1; else v=0; [ "$ok" = 1 ] && ok=0; fi
		parts+=("$(mark $v) \`$s\` $tot errors$io")
	done
	# a crash or ERROR/WARN log line (e.g. dropped access-log records) during
	# those runs fails it too; issues in other scenarios are only pointed to
	local iss=0 other=0 n sc
	for n in "${SG_ISSUES[@]}"; do
		sc=${n#CRASH in }
		sc=${sc%%:*}
		case " allow_ping_c200 allow_containers_c200 deny_exec_c200 allow_ping_c1000 idle1000_ping_c10 mem_idle1000_fresh " in
		*" $sc "*) iss=$((iss + 1)) ;;
		*) other=$((other + 1)) ;;
		esac
	done
	if [ "$iss" -gt 0 ]; then
		parts+=("✗ $iss sockguard issue(s) in these runs (crash or ERROR/WARN log lines, see Errors)")
		ok=0
	fi
	[ "$other" -gt 0 ] && parts+=("(not judged here: $other sockguard issue(s) in other scenarios, see Errors)")
	echo "| zero errors at 200 and 1,000 clients | $(joinbr "${parts[@]}") | $(verdict $ok) |"
}

# where_time_md: CPU per process per run (from /proc and the loadgen's rusage)
where_time_md() {
	local s t l w pc mc lc
	echo "The load generator, the proxy and the mock daemon share the $NCPU CPUs and"
	echo "nothing is pinned. **sockguard is single-threaded**: one epoll loop does all"
	echo "the proxying (at most one core), plus a writer thread that only writes the"
	echo "batched access log. **HAProxy runs 2 threads** (\`nbthread 2\` in the keep-alive"
	echo "config, one per CPU by default in the Tecnativa one), so it can use both"
	echo "cores — the same cores the load generator and the mock need. Whatever a"
	echo "proxy spends is taken from the other two, so at 10 clients and more the"
	echo "numbers measure the whole machine's CPU per request rather than the proxy"
	echo "alone. TLS adds the"
	echo "client side of every handshake to the load generator (an ECDHE key share, a"
	echo "signature, the server's chain to verify), so the handshake rows are bounded by"
	echo "the client as much as by the server."
	echo
	echo "CPU use over each run (warm-up included), as average cores busy (CPU seconds"
	echo "÷ wall seconds). \"Machine\" is every process on the box, so the difference"
	echo "to the three before it is other work on this shared machine. The last column"
	echo "is the proxy's own CPU time per request (per MB for the stream row), the"
	echo "figure least disturbed by the noise."
	echo
	echo "The two columns after it add the mock's and the load generator's CPU to"
	echo "the proxy's (the whole cost of one request on this box) and turn that into"
	echo "a ceiling: the rate at which all $NCPU cores would be busy. More proxy"
	echo "threads can only use the idle cores, so no proxy gets past its ceiling"
	echo "here without spending less per request."
	echo
	echo "| scenario | target | proxy cores (main thread + other threads) | mock cores | load generator cores | machine cores busy (of $NCPU) | proxy CPU µs / request | proxy + mock + load generator CPU µs / request | ceiling with all $NCPU cores busy |"
	echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
	for s in allow_ping_c10 allow_ping_c50 allow_containers_c50 allow_ping_c200 deny_exec_c200 hijack_stream_c1 chunked_stream_c1 bigbody_c1 tls_ping_c50 tls_handshake_c10; do
		for t in sockguard haproxy-keepalive; do
			l=${RES["$s|$t"]:-}
			case $l in *'"proxy_cpu_s"'*) ;; *) continue ;; esac
			awk -v s="$s" -v t="${TLABEL[$t]}" -v pc="$(jnum "$l" proxy_cpu_s)" \
				-v mc="$(jnum "$l" mock_cpu_s)" -v lc="$(jnum "$l" lg_cpu_s)" \
				-v lw="$(jnum "$l" lg_wall_s)" -v w="$(jnum "$l" run_wall_s)" \
				-v rps="$(jnum "$l" rps)" -v d="$(jnum "$l" duration_seconds)" \
				-v wu="$(jnum "$l" warmup_seconds)" -v mb="$(jnum "$l" mb_per_s)" \
				-v bc="$(jnum "$l" machine_busy_cpu_s)" -v metric="${SCEN_METRIC[$s]}" \
				-v tc="$(jnum "$l" proxy_main_thread_cpu_s)" \
				-v ceil="$(ceiling_of "$l" "${SCEN_METRIC[$s]}")" 'BEGIN {
				if (w <= 0) exit
				n = rps * (d + wu)
				if (metric == "mbps") n = mb * (d + wu)
				if (lw <= 0) lw = w
				us = "–"
				if (n > 0) us = sprintf("%.1f", pc * 1e6 / n)
				if (metric == "mbps") us = us " per MB"
				bm = "–"
				if (bc != "") bm = sprintf("%.2f", bc / w)
				pcs = sprintf("%.2f", pc / w)
				ot = pc - tc
				if (ot < 0) ot = 0 # separate tick counts can cross
				if (tc != "") pcs = pcs sprintf(" (%.2f + %.2f)", tc / w, ot / w)
				all = "–"; top = "–"
				if (ceil != "") {
					all = sprintf("%.1f", (pc + mc + lc) * 1e6 / n)
					if (metric == "mbps") {
						all = all " per MB"
						top = sprintf("%.0f MB/s", ceil)
					} else {
						top = sprintf("%.1fk", ceil / 1000)
					}
				}
				printf "| `%s` | %s | %s | %.2f | %.2f | %s | %s | %s | %s |\n", s, t,
					pcs, mc / w, lc / lw, bm, us, all, top }'
		done
	done
	echo
	ceiling_md
}

# ceiling_of LINE METRIC: the rate (req/s, or MB/s for mbps) at which the
# proxy's, the mock's and the load generator's measured CPU per request
# would keep every core busy; nothing without CPU figures
ceiling_of() {
	awk -v pc="$(jnum "$1" proxy_cpu_s)" -v mc="$(jnum "$1" mock_cpu_s)" \
		-v lc="$(jnum "$1" lg_cpu_s)" -v rps="$(jnum "$1" rps)" \
		-v mb="$(jnum "$1" mb_per_s)" -v metric="$2" \
		-v d="$(jnum "$1" duration_seconds)" -v wu="$(jnum "$1" warmup_seconds)" \
		-v ncpu="$NCPU" 'BEGIN { n = rps * (d + wu)
			if (metric == "mbps") n = mb * (d + wu)
			t = pc + mc + lc
			if (n > 0 && t > 0) printf "%.3f", ncpu * n / t }'
}

# ceiling_md: for the 50-client allow rows, how far sockguard could go on
# this machine at its measured cost per request, against the target
ceiling_md() {
	local s l h c
	echo "The allow target at 50 clients against these ceilings (the most any number"
	echo "of sockguard threads could reach at its measured cost per request):"
	echo
	for s in allow_ping_c50 allow_containers_c50; do
		l=${RES["$s|sockguard"]:-}
		h=$(val "$s" haproxy-keepalive)
		case $l in *'"proxy_cpu_s"'*) ;; *) continue ;; esac
		[ -n "$h" ] || continue
		c=$(ceiling_of "$l" rps)
		[ -n "$c" ] || continue
		c=$(printf '%.0f' "$c")
		echo "- \`$s\`: sockguard measured $(fmt rps "$(val "$s" sockguard)"), $(ratio "$(val "$s" sockguard)" "$h")× HAProxy keep-alive; its ceiling here is $(fmt rps "$c"), $(ratio "$c" "$h")× HAProxy keep-alive's measured $(fmt rps "$h") (the target is 1.3×)."
	done
}

ALLT=(direct sockguard haproxy-tecnativa haproxy-keepalive)
MD=$OUT/latest.md
{
	echo "### Throughput (req/s; MB/s for the stream rows) — higher is better"
	echo
	echo "| scenario | direct (mock) | **sockguard** | HAProxy Tecnativa | HAProxy keep-alive | sockguard ÷ HAProxy keep-alive | sockguard ÷ direct |"
	echo "|---|---:|---:|---:|---:|---:|---:|"
	for s in "${SCENARIOS[@]}"; do
		row="| ${SCEN_DESC[$s]} \`$s\`"
		for t in "${ALLT[@]}"; do
			if [ "$t" = sockguard ]; then
				row+=" | **$(cell "$s" "$t")**$(errs "$s" "$t")"
			else
				row+=" | $(cell "$s" "$t")$(errs "$s" "$t")"
			fi
		done
		row+=" | $(ratio "$(val "$s" sockguard)" "$(val "$s" haproxy-keepalive)") | $(ratio "$(val "$s" sockguard)" "$(val "$s" direct)") |"
		echo "$row"
	done
	for s in "${TLS_SCEN[@]}"; do
		echo "| ${SCEN_DESC[$s]} \`$s\` | n/a | **$(cell "$s" sockguard)**$(errs "$s" sockguard) | – (no TLS) | $(cell "$s" haproxy-keepalive)$(errs "$s" haproxy-keepalive) | $(ratio "$(val "$s" sockguard)" "$(val "$s" haproxy-keepalive)") | – |"
	done
	echo
	tls_details
	echo
	echo "### Latency p50 / p99 (µs)"
	echo
	echo "| scenario | direct (mock) | **sockguard** | HAProxy Tecnativa | HAProxy keep-alive |"
	echo "|---|---:|---:|---:|---:|"
	for s in "${SCENARIOS[@]}" "${TLS_SCEN[@]}"; do
		[ "${SCEN_METRIC[$s]}" = mbps ] && continue
		row="| \`$s\`"
		for t in "${ALLT[@]}"; do
			l=${RES["$s|$t"]:-}
			if [ -n "$l" ]; then
				row+=" | $(jnum "$l" latency_p50_us) / $(jnum "$l" latency_p99_us)"
			else
				row+=" | –"
			fi
		done
		echo "$row |"
	done
	echo
	echo "### Denied requests: does the client connection stay open?"
	echo
	echo "| scenario | target | 403s | connects during the run | connections closed by the proxy | kept open |"
	echo "|---|---|---:|---:|---:|---|"
	for s in deny_exec_c10 deny_exec_c200; do
		for t in sockguard haproxy-tecnativa haproxy-keepalive; do
			l=${RES["$s|$t"]:-}
			[ -n "$l" ] || continue
			n403=$(jobj "$l" status_code_counts | grep -o '"403":[0-9]*' | cut -d: -f2)
			cl=$(jtot "$l" server_closes)
			ko=yes
			[ "$cl" != 0 ] && ko="no ($cl closes)"
			echo "| \`$s\` | ${TLABEL[$t]} | ${n403:-0} | $(jnum "$l" connects) | $cl | $ko |"
		done
	done
	echo
	echo "### Memory (VmRSS, KiB) with 1,000 idle keep-alive connections + 10 active clients"
	echo
	echo "| target | at start, no traffic yet | before the idle test (idle, after the earlier runs) | 1,000 idle connections open: 0.2 s after their requests | … ${IDLE_SETTLE:-?} s later | peak under load (1,000 idle + 10 active) | req/s with 1,000 idle |"
	echo "|---|---:|---:|---:|---:|---:|---:|"
	for t in sockguard haproxy-tecnativa haproxy-keepalive; do
		l=${RES["idle1000_ping_c10|$t"]:-}
		[ -n "$l" ] || continue
		echo "| ${TLABEL[$t]} | ${RSS_FRESH[$t]:-–} | $(jnum "$l" rss_start_kb) | $(jnum "$l" rss_idle_early_kb) | $(jnum "$l" rss_idle_kb) | $(jnum "$l" rss_max_kb) | $(fmt rps "$(jnum "$l" rps)") |"
	done
	l=${RES["mem_idle1000_fresh|sockguard"]:-}
	[ -n "$l" ] && echo "| sockguard, a fresh instance (\`mem_idle1000_fresh\`) | ${RSS_FRESH[sockguard-mem]:-–} | $(jnum "$l" rss_start_kb) | $(jnum "$l" rss_idle_early_kb) | $(jnum "$l" rss_idle_kb) | $(jnum "$l" rss_max_kb) | $(fmt rps "$(jnum "$l" rps)") |"
	echo
	echo "The first three rows are the instances that ran every scenario above"
	echo "(\"before the idle test\" is after all the earlier load and ${IDLE_SETTLE:-?} s of"
	echo "rest); the last is a new sockguard that only ran this test. The"
	echo "1,000 idle connections each send one request at once when they open: 0.2 s"
	echo "later sockguard still holds the exchange buffers of that burst, which it"
	echo "returns to the system after a second unused (hence the later column)."
	a=${RES["tls_ping_c50|sockguard"]:-} b=${RES["tls_ping_c50|haproxy-keepalive"]:-}
	if [ -n "$a$b" ]; then
		echo "Peak RSS during \`tls_ping_c50\` (50 TLS keep-alive connections, separate"
		echo "TLS instances): sockguard $([ -n "$a" ] && jnum "$a" rss_max_kb || echo –) KiB,"
		echo "HAProxy keep-alive $([ -n "$b" ] && jnum "$b" rss_max_kb || echo –) KiB."
	fi
	echo
	echo "### Real dockerd ${DK_VER:-}: GET /containers/json"
	echo
	if [ "$DK_OK" = 1 ]; then
		echo "| scenario | dockerd direct | **sockguard** | sockguard ÷ direct | p50 / p99 µs direct | p50 / p99 µs sockguard |"
		echo "|---|---:|---:|---:|---:|---:|"
		for s in "${DK_SCEN[@]}"; do
			a=${RES["$s|dockerd"]:-}
			b=${RES["$s|sockguard"]:-}
			echo "| ${SCEN_DESC[$s]} \`$s\` | $(fmt rps "$(jnum "$a" rps)")$(errs "$s" dockerd) | **$(fmt rps "$(jnum "$b" rps)")**$(errs "$s" sockguard) | $(ratio "$(jnum "$b" rps)" "$(jnum "$a" rps)") | $(jnum "$a" latency_p50_us) / $(jnum "$a" latency_p99_us) | $(jnum "$b" latency_p50_us) / $(jnum "$b" latency_p99_us) |"
		done
	else
		echo "**Skipped** — the private dockerd could not be used (see notes)."
	fi
	echo
	echo "### Errors"
	echo
	any=0
	for k in "${!RES[@]}"; do
		l=${RES[$k]}
		e=$(jobj "$l" error_counts)
		if [ "$e" != "{}" ]; then
			echo "- \`${k%%|*}\` via ${k#*|}: $e"
			any=1
		fi
	done | sort
	if [ "${#SG_ISSUES[@]}" -gt 0 ]; then
		for n in "${SG_ISSUES[@]}"; do echo "- sockguard: $(printf '%s' "$n" | cut -c1-600)"; done
	fi
	if ! grep -q . <(for k in "${!RES[@]}"; do [ "$(jobj "${RES[$k]}" error_counts)" != "{}" ] && echo x; done) &&
		[ "${#SG_ISSUES[@]}" -eq 0 ]; then
		echo "None: every request of every run got the expected status, no connection errors, no sockguard crash, no ERROR/WARN log line besides the denials."
	fi
	if [ "${#NOTES[@]}" -gt 0 ]; then
		echo
		echo "### Notes"
		echo
		for n in "${NOTES[@]}"; do echo "- $n"; done
	fi
} >"$OUT/tables.md"
targets_md >"$OUT/targets.md"
where_time_md >"$OUT/where.md"
{
	cat "$OUT/tables.md"
	echo
	echo "### Targets"
	echo
	cat "$OUT/targets.md"
	echo
	echo "### Where the time goes"
	echo
	cat "$OUT/where.md"
} >"$MD"

# chart: req/s (top) and MB/s (bottom) per scenario per target
HAVE_CHART=0
if command -v gnuplot >/dev/null; then
	{
		echo "# scenario direct sockguard haproxy-tecnativa haproxy-keepalive"
		for s in "${SCENARIOS[@]}"; do
			[ "${SCEN_METRIC[$s]}" = mbps ] && continue
			row=$s
			for t in "${ALLT[@]}"; do v=$(val "$s" "$t"); row+=" ${v:-0}"; done
			echo "$row"
		done
	} >"$OUT/chart-rps.dat"
	{
		echo "# scenario direct sockguard haproxy-tecnativa haproxy-keepalive"
		for s in "${SCENARIOS[@]}"; do
			[ "${SCEN_METRIC[$s]}" = mbps ] || continue
			row=$s
			for t in "${ALLT[@]}"; do v=$(val "$s" "$t"); row+=" ${v:-0}"; done
			echo "$row"
		done
	} >"$OUT/chart-mbps.dat"
	{
		echo "# scenario sockguard haproxy-keepalive"
		for s in "${TLS_SCEN[@]}"; do
			v=$(val "$s" sockguard) w=$(val "$s" haproxy-keepalive)
			echo "$s ${v:-0} ${w:-0}"
		done
	} >"$OUT/chart-tls.dat"
	gnuplot <<GP 2>"$T/gnuplot.err" && HAVE_CHART=1
set terminal pngcairo size 1400,1250 font "sans,10"
set output "$OUT/chart.png"
set multiplot layout 3,1 title "sockguard benchmarks — $NCPU CPUs, $(json_esc "$CPU_MODEL"), ${SECS}s per run, median of $ROUNDS, $(date -u +%Y-%m-%d)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set grid ytics
set key outside top center horizontal
set yrange [0:*]
set xtics rotate by -25 noenhanced
set ylabel "requests/s (k)"
set title "request/response (req/s, round trips/s for hijack echo)"
set xrange [-0.6:$(($(grep -vc '^#' "$OUT/chart-rps.dat") - 1)).6]
plot "$OUT/chart-rps.dat" using (\$2/1000):xtic(1) title "direct (mock)" lc rgb "#9e9e9e", \
     "" using (\$3/1000) title "sockguard" lc rgb "#1565c0", \
     "" using (\$4/1000) title "HAProxy Tecnativa" lc rgb "#ef6c00", \
     "" using (\$5/1000) title "HAProxy keep-alive" lc rgb "#2e7d32"
set ylabel "requests/s (log scale)"
set title "TLS 1.3 with a client certificate (new connection per request, then keep-alive)"
set logscale y
set yrange [100:*]
set xtics rotate by 0
set xrange [-0.6:$((${#TLS_SCEN[@]} - 1)).6]
plot "$OUT/chart-tls.dat" using (\$2 > 0 ? \$2 : 1):xtic(1) title "sockguard" lc rgb "#1565c0", \
     "" using (\$3 > 0 ? \$3 : 1) title "HAProxy keep-alive" lc rgb "#2e7d32"
unset logscale y
set yrange [0:*]
set xtics rotate by -25
set ylabel "MB/s"
set title "streams (MB/s through one connection)"
set xrange [-0.6:$(($(grep -vc '^#' "$OUT/chart-mbps.dat") - 1)).6]
plot "$OUT/chart-mbps.dat" using 2:xtic(1) title "direct (mock)" lc rgb "#9e9e9e", \
     "" using 3 title "sockguard" lc rgb "#1565c0", \
     "" using 4 title "HAProxy Tecnativa" lc rgb "#ef6c00", \
     "" using 5 title "HAProxy keep-alive" lc rgb "#2e7d32"
unset multiplot
GP
	[ "$HAVE_CHART" = 1 ] || note "gnuplot failed: $(head -3 "$T/gnuplot.err" | tr '\n' ' ')"
else
	note "gnuplot not installed: no chart"
fi

log ""
cat "$MD" >&2
log ""
log "bench: wrote $OUT/latest.json, $MD${HAVE_CHART:+ and $OUT/chart.png}"

if [ "${BENCH_NO_DOC:-0}" != 1 ]; then
	[ "$HAVE_CHART" = 1 ] && cp "$OUT/chart.png" "$ROOT/bench/chart.png"
	{
		cat <<EOF
# Benchmarks

Generated by \`make bench\` (\`bench/run.sh full\`) on $DATE — rerun it to
refresh this file. Raw per-run JSON lines: \`bench/results/latest.json\`
(not committed).

**Machine:** $NCPU CPUs ($CPU_MODEL), Linux $KERNEL, $MEM RAM; shared and
noisy, so read the **ratios** (measured back to back in the same run)
rather than the absolute numbers. ${SG_VER:-sockguard ?} (git ${GIT_REV:-?}),
HAProxy ${HAP_VER:-not installed}.

## Setup

Everything runs on one machine and talks over unix sockets (TLS rows: TCP
on 127.0.0.1), and nothing is pinned: the load generator, the proxy and the
mock daemon share the $NCPU CPUs (see [where the time goes](#where-the-time-goes)).

- **direct (mock)** — \`bench/mockd.c\`, a single-threaded epoll mock of
  the Docker API with pre-built responses (\`GET /_ping\` → \`OK\`,
  \`GET /containers/json\` → 2 KiB JSON, writes → 204, hijack 101 + echo or
  raw stream, chunked \`/events\`, \`/bigbody\`). This is the ceiling.
- **sockguard** — \`./sockguard run\` with the access log **on** (to a
  file) and the policy: allow \`GET /_ping\`, \`GET /containers/json\`,
  \`GET /events\`, \`GET /bigbody\`, \`POST /containers/*/attach\`, deny the
  rest. Health endpoint off.
- **HAProxy Tecnativa** — \`bench/haproxy-tecnativa.cfg\`: HAProxy
  ${HAP_VER:-2.6} with the Tecnativa docker-socket-proxy setup
  (\`option http-server-close\`, regex path ACLs, \`http-request deny\`,
  httplog to stdout → a file), the same policy.
- **HAProxy keep-alive** — \`bench/haproxy-keepalive.cfg\`: the same with
  \`http-reuse always\`, \`nbthread 2\`, no \`http-server-close\`.
- **TLS** — a second sockguard with a TLS listener (\`listen.tls\`:
  TLS 1.3 only, ALPN http/1.1, client certificate required) and a second
  HAProxy keep-alive with the same TLS policy on its \`bind\`
  (\`ssl crt … ca-file … verify required ssl-min-ver TLSv1.3 alpn http/1.1\`);
  the harness generates a CA, a server certificate
  (\`subjectAltName=IP:127.0.0.1\`, serverAuth) and a client certificate
  (clientAuth), EC P-256, with the openssl CLI.
- **Load** — \`bench/loadgen.c\`: closed-loop keep-alive clients in one
  epoll process (unix, TCP or TLS), ${WARM}s warm-up then ${SECS}s measured
  per run; latency from the first byte written to the last byte read.
  The req/s and MB/s scenarios run ${ROUNDS} rounds, each round every
  target in turn, and each figure is that target's median round (its
  latency and CPU columns are from the same run); errors and closed
  connections are summed over all rounds.
  A run counts an error for any unexpected status, connection error, EOF
  mid-response or timeout. Over TLS it presents the client certificate
  and verifies the server's.

## Targets

EOF
		cat "$OUT/targets.md"
		cat <<EOF

## Results

![req/s and MB/s per scenario and proxy](bench/chart.png)

EOF
		cat "$OUT/tables.md"
		echo
		echo "## Where the time goes"
		echo
		cat "$OUT/where.md"
		cat <<'EOF'

## Reproduce

    make bench                     # everything, ~20 minutes, rewrites this file
    BENCH_SECONDS=20 make bench    # longer runs
    BENCH_ROUNDS=1 make bench      # one round per scenario, ~10 minutes
    make bench-smoke               # a few seconds; fails only on errors or a crash

Or by hand, e.g. 50 clients against any unix socket:

    make bench-tools
    build/bench/mockd -s /tmp/mock.sock &
    build/bench/loadgen -u /tmp/mock.sock -c 50 -d 10 -p /v1.41/containers/json
EOF
	} >"$ROOT/BENCHMARKS.md"
	log "bench: updated BENCHMARKS.md${HAVE_CHART:+ and bench/chart.png}"
fi

[ "${#SG_ISSUES[@]}" -gt 0 ] && log "bench: sockguard issues were seen — see 'Errors' above"
exit 0
