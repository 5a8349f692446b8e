# shellcheck shell=bash
# Large response bodies. Through the real daemon: docker export, docker
# save and docker cp give the same bytes as without the proxy. Through the
# bench mock daemon (framing the real daemon never produces: 64 KiB
# chunks, multi-MiB Content-Length bodies, which sockguard splices kernel
# to kernel): byte-exact bodies, keep-alive after a spliced body, bodies
# cut by the upstream, and a client leaving mid-body.

sha() { sha256sum | cut -d' ' -f1; }
NOTHING=$(sha </dev/null)
# same A B: equal digests of something (two failed downloads are equal too)
same() { [ "$1" = "$2" ] && [ "$1" != "$NOTHING" ]; }
# bodies_upstream SOCKET OUT CMD...: starts a test upstream and waits for
# its socket; its pid is in UPID
bodies_upstream() {
	local sock=$1 out=$2
	shift 2
	"$@" >"$out" 2>&1 &
	UPID=$!
	SG_PIDS+=("$UPID")
	wait_for 10 test -S "$sock"
}
# bodies_config FILE LISTEN UPSTREAM PATH...: GET PATH allowed, the rest denied
bodies_config() {
	local f=$1 p
	{
		printf 'listen:\n  socket: %s\nupstream:\n  socket: %s\n' "$2" "$3"
		printf 'insecure_allow_read_exfiltration: true\nrules:\n'
		shift 3
		for p in "$@"; do
			printf '  - { match: { method: GET, path: %s }, action: allow }\n' "$p"
		done
		printf '  - { match: { method: "*", path: "/**" }, action: deny }\n'
	} >"$f"
}

# ---- the real daemon
bcfg=$(write_cfg bodies 'allow GET /_ping
allow HEAD /_ping
allow GET /version
allow GET /containers/*/json
allow GET /containers/*/export
allow * /containers/*/archive
allow GET /images/get
allow GET /images/*/get
deny * /**' "insecure_allow_read_exfiltration: true")
if sg_start bodies "$bcfg"; then
	cid=$(dk create --network none bb:latest true)
	d=$(dk export "$cid" | sha)
	p=$(sgd bodies export "$cid" | sha)
	check "bodies: docker export through sockguard is byte-identical" \
		same "$d" "$p"
	d=$(dk save bb:latest | sha)
	p=$(sgd bodies save bb:latest | sha)
	check "bodies: docker save through sockguard is byte-identical" \
		same "$d" "$p"
	d=$(dk cp "$cid:/bin/busybox" - | sha)
	p=$(sgd bodies cp "$cid:/bin/busybox" - | sha)
	check "bodies: docker cp out of a container is byte-identical" \
		same "$d" "$p"
	dk rm -f "$cid" >/dev/null
	sg_stop bodies
else
	fail "bodies: sockguard starts"
fi

# ---- the mock daemon
if [ -x "${SGMOCKD:-}" ]; then
	bodies_upstream "$T/mockd.sock" "$T/mockd.out" \
		"$SGMOCKD" -s "$T/mockd.sock" -q
	MPID=$UPID
	bodies_config "$T/mbody.yaml" "$T/mbody.sock" "$T/mockd.sock" \
		/_ping /bigbody /events
	if sg_start mbody "$T/mbody.yaml"; then
		M=8388608
		for u in "bigbody?size=$M" "bigbody?size=300000" \
			"events?bench_bytes=$M"; do
			d=$(curl -s --raw --unix-socket "$T/mockd.sock" "http://d/$u" | sha)
			p=$(curl -s --raw --unix-socket "$T/mbody.sock" "http://d/$u" | sha)
			check "bodies: /$u is byte-identical through sockguard (raw framing)" \
				same "$d" "$p"
		done
		# three requests on one client connection: the connection is
		# reused after each spliced body
		n=$(curl -s --raw --unix-socket "$T/mbody.sock" \
			"http://d/bigbody?size=$M" -o "$T/b1" \
			"http://d/events?bench_bytes=$M" -o "$T/b2" \
			"http://d/_ping" -o "$T/b3" -w '%{num_connects}')
		check "bodies: one connection carries two spliced bodies and a ping" \
			[ "$n" = 100 ]
		check "bodies: each of the three arrived whole" sh -c \
			"[ \$(stat -c %s '$T/b1') = $M ] && [ \$(stat -c %s '$T/b2') -gt $M ] && [ \$(cat '$T/b3') = OK ]"

		# the upstream cuts a spliced Content-Length body
		curl -s --max-time 20 --unix-socket "$T/mbody.sock" \
			"http://d/bigbody?size=$M&cut=1048576" -o "$T/cut1"
		rc=$?
		check "bodies: a cut Content-Length body reaches the client as cut (curl 18)" \
			[ "$rc" = 18 ]
		check "bodies: the cut is logged as a truncated upstream response" \
			wait_for 5 contains "$T/mbody.log" '"reason_code":"upstream_response_truncated"'
		# the upstream cuts a spliced chunked body (no last chunk)
		curl -s --max-time 20 --unix-socket "$T/mbody.sock" \
			"http://d/events?bench_bytes=$M&cut=20" -o "$T/cut2"
		rc=$?
		check "bodies: a chunked body cut before its last chunk fails at the client" \
			[ "$rc" = 18 ]
		if [ "$rc" != 18 ]; then
			echo "#   curl exit $rc after $(stat -c %s "$T/cut2" 2>/dev/null) bytes; sockguard's last records:"
			tail -n 3 "$T/mbody.log" | cut -c1-400 | sed 's/^/#   /'
		fi
		r=$(curl -s --unix-socket "$T/mbody.sock" http://d/_ping)
		check "bodies: sockguard serves on after the cuts" [ "$r" = OK ]

		# a spliced body to a client that stopped reading: its socket
		# queues more than the default send buffer (512 KiB asked for,
		# doubled by the kernel, capped by net.core.wmem_max)
		pid=$(cat "$T/mbody.pid")
		wmax=$(cat /proc/sys/net/core/wmem_max)
		[ "$wmax" -gt 524288 ] && wmax=524288
		curl -s --max-time 30 --unix-socket "$T/mbody.sock" \
			"http://d/bigbody?size=268435456" |
			{ head -c 2000000 >/dev/null; exec sleep 30; } &
		stall=$!
		check "bodies: a spliced body's client socket gets the larger send buffer (tb$((2 * wmax)))" \
			wait_for 10 sh -c "ss -xmp | grep -F 'pid=$pid,' | grep -q 'tb$((2 * wmax)),'"
		kill "$stall" 2>/dev/null
		{ wait "$stall"; } 2>/dev/null

		# 70 clients that stop reading: 64 get the enlarged buffers,
		# the rest splice through the defaults (the memory they can pin
		# is bounded)
		fdb=$(find "/proc/$pid/fd" -mindepth 1 -maxdepth 1 | wc -l)
		stalls=()
		for _ in $(seq 70); do
			curl -s --max-time 60 --unix-socket "$T/mbody.sock" \
				"http://d/bigbody?size=268435456" |
				{ head -c 100000 >/dev/null; exec sleep 60; } &
			stalls+=($!)
		done
		# four descriptors each (client, upstream, the pipe's two ends)
		wait_for 20 sh -c "[ \$(find /proc/$pid/fd -mindepth 1 -maxdepth 1 | wc -l) -ge $((fdb + 280)) ]"
		big=$(ss -xmp | grep -F "pid=$pid," | grep -c "tb$((2 * wmax)),")
		check "bodies: of 70 stalled spliced bodies, 64 get the enlarged buffers (got $big)" \
			[ "$big" -eq 64 ]
		# the readers go; each curl then fails on its next write
		kill "${stalls[@]}" 2>/dev/null
		{ wait "${stalls[@]}"; } 2>/dev/null

		# a client leaving mid-body: no descriptor is left behind and
		# the loop does not spin on the dead connection
		fds0=$(find "/proc/$pid/fd" -mindepth 1 -maxdepth 1 | wc -l)
		curl -s --max-time 20 --unix-socket "$T/mbody.sock" \
			"http://d/bigbody?size=268435456" | head -c 2000000 >/dev/null
		curl -s --max-time 20 --unix-socket "$T/mbody.sock" \
			"http://d/events?bench_bytes=268435456" | head -c 2000000 >/dev/null
		check "bodies: descriptors return to their count after clients left mid-body" \
			wait_for 5 sh -c "[ \$(find /proc/$pid/fd -mindepth 1 -maxdepth 1 | wc -l) -le $fds0 ]"
		t0=$(awk '{print $14 + $15}' "/proc/$pid/stat")
		sleep 1 # the measurement window, not a wait
		t1=$(awk '{print $14 + $15}' "/proc/$pid/stat")
		check "bodies: idle afterwards (under 10% of a CPU over 1 s: $((t1 - t0)) ticks)" \
			[ $((t1 - t0)) -lt 10 ]
		r=$(curl -s --unix-socket "$T/mbody.sock" http://d/_ping)
		check "bodies: and serves on" [ "$r" = OK ]
		sg_stop mbody
	else
		fail "bodies: sockguard in front of the mock daemon starts"
	fi
	kill "$MPID" 2>/dev/null
	wait "$MPID" 2>/dev/null
else
	fail "bodies: the mock daemon (SGMOCKD) is missing"
fi

# ---- chunk framing torn across the upstream's writes
# sgchunks writes each chunk's data with the CRLF after it and the next
# size line cut short, and the rest 5 ms later: a proxy that keeps up
# finds an incomplete size line at every chunk boundary. The body must
# arrive whole, and still be spliced: sockguard reads only the pieces of
# the size lines (read(2) and its peeks count in rchar; splice does not).
bodies_upstream "$T/chunks.sock" "$T/sgchunks.out" \
	"$SGTOOLS/sgchunks" -l "$T/chunks.sock" -n 64 -s 262144 -w 5
CPID=$UPID
bodies_config "$T/chunks.yaml" "$T/chunksg.sock" "$T/chunks.sock" /torn
if sg_start chunks "$T/chunks.yaml"; then
	pid=$(cat "$T/chunks.pid")
	d=$(curl -s --max-time 30 --raw --unix-socket "$T/chunks.sock" http://d/torn | sha)
	r0=$(awk '/^rchar/ {print $2}' "/proc/$pid/io")
	p=$(curl -s --max-time 30 --raw --unix-socket "$T/chunksg.sock" http://d/torn | sha)
	r1=$(awk '/^rchar/ {print $2}' "/proc/$pid/io")
	check "bodies: a chunked body whose size lines come in pieces is byte-identical" \
		same "$d" "$p"
	check "bodies: and is still spliced (read $((r1 - r0)) bytes of 16 MiB, under 1 MiB)" \
		[ $((r1 - r0)) -lt 1048576 ]
	n=$(curl -s --max-time 30 --unix-socket "$T/chunksg.sock" \
		http://d/torn -o /dev/null http://d/torn -o "$T/torn2" \
		-w '%{num_connects}')
	check "bodies: two torn chunked bodies in a row on one connection, the second whole" \
		sh -c "[ '$n' = 10 ] && [ \$(stat -c %s '$T/torn2') = 16777216 ]"
	sg_stop chunks
else
	fail "bodies: sockguard in front of sgchunks starts"
fi
kill "$CPID" 2>/dev/null
wait "$CPID" 2>/dev/null
