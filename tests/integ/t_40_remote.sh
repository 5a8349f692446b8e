# shellcheck shell=bash
# Remote upstreams (the seed document): TCP + mTLS to the real dockerd,
# TLS failures at startup, insecure opt-ins, DOCKER_* drop-in, failover
# between two addresses of the same daemon.

SGFWD=$SGTOOLS/sgfwd
FWD_PIDS=()
RULES_REM='allow GET,HEAD /_ping
allow GET /version
allow GET /info
allow GET /images/json
allow * /containers/**
allow * /exec/**
deny * /**'

# write_cfg_up NAME UPSTREAM_YAML [EXTRA_YAML]
write_cfg_up() {
	local name=$1 up=$2 extra=${3:-}
	printf '%s\n' "$RULES_REM" >"$T/$name.rules"
	cat >"$T/$name.yaml" <<YAML
listen:
  socket: $T/$name.sock
upstream:
$up
rules_file: $name.rules
insecure_allow_read_exfiltration: true
$extra
YAML
	echo "$T/$name.yaml"
}

tls_ep() { # ADDRESS [EXTRA_TLS_LINES] -> an endpoint item with the test mTLS files
	cat <<YAML
    - address: $1
      tls:
        ca_file: $CERTS/ca.pem
        cert_file: $CERTS/client/cert.pem
        key_file: $CERTS/client/key.pem
${2:-}
YAML
}

# fwd_start NAME LISTEN TARGET_OPT TARGET: a killable forwarder
fwd_start() {
	rm -f "$T/fwd-$1.log"
	"$SGFWD" -l "$2" "$3" "$4" >"$T/fwd-$1.log" 2>&1 &
	echo $! >"$T/fwd-$1.pid"
	FWD_PIDS+=($!)
	wait_for 5 contains "$T/fwd-$1.log" "listening"
}
fwd_stop() {
	kill -KILL "$(cat "$T/fwd-$1.pid")" 2>/dev/null
	{ wait "$(cat "$T/fwd-$1.pid")"; } 2>/dev/null # no "Killed" job notice
}
fwd_accepts() { grep -c '^accept' "$T/fwd-$1.log"; }

# mock_start NAME: the mock daemon on $T/NAME.sock, its pid in MOCK_PID
mock_start() {
	"$SGMOCKD" -s "$T/$1.sock" -q >"$T/$1.out" 2>&1 &
	MOCK_PID=$!
	wait_for 10 test -S "$T/$1.sock"
}

# sg_fails NAME CONFIG: startup must fail; the log is $T/NAME.log
sg_fails() {
	local env=()
	"$SG" run -c "$2" >"$T/$1.log" 2>&1
	[ $? -eq 1 ]
}

health() { raw "$1" -w 3000 "GET /health HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n"; }

# ---- a single remote daemon over mutual TLS ----
cfg=$(write_cfg_up mtls "  endpoints:
$(tls_ep "tcp://127.0.0.1:$DK_TLS_PORT")")
if sg_start mtls "$cfg"; then
	check "mtls: docker ps through sockguard over mTLS" quiet sgd mtls ps
	check "mtls: docker run --rm" sh -c "DOCKER_HOST=unix://$T/mtls.sock docker run --rm --network none bb:latest echo over-mtls | grep -qx over-mtls"
	sgd mtls run -d --name mt --network none bb:latest sh -c 'i=0; while true; do echo m$i; i=$((i+1)); sleep 0.2; done' >/dev/null
	DOCKER_HOST=unix://$T/mtls.sock docker logs -f mt >"$T/mtls-logs.out" 2>&1 &
	lp=$!
	check "mtls: logs -f streams over mTLS" wait_for 15 contains "$T/mtls-logs.out" "m5"
	kill "$lp" 2>/dev/null
	{ wait "$lp"; } 2>/dev/null
	check "mtls: exec -i with stdin EOF over mTLS" \
		sh -c "echo tls-in | DOCKER_HOST=unix://$T/mtls.sock docker exec -i mt sh -c 'cat; echo done' | tr '\n' , | grep -qx 'tls-in,done,'"
	sgd mtls rm -f mt >/dev/null
	h=$(health mtls)
	check "mtls: /health reports the endpoint healthy and active" \
		sh -c "printf '%s' '$h' | grep -qF '\"address\":\"tcp://127.0.0.1:$DK_TLS_PORT\",\"health\":\"healthy\",\"active\":true'"
	sg_stop mtls
else
	fail "mtls: sockguard starts against the TLS daemon"
fi

# ---- startup refusals that name the endpoint and the cause ----
cfg=$(write_cfg_up badca "  endpoints:
    - address: tcp://127.0.0.1:$DK_TLS_PORT
      tls:
        ca_file: $CERTS/other/ca.pem
        cert_file: $CERTS/client/cert.pem
        key_file: $CERTS/client/key.pem")
check "tls: a wrong CA refuses startup" sg_fails badca "$cfg"
check "tls: ... naming the endpoint and the verify failure" \
	sh -c "grep -q 'tcp://127.0.0.1:$DK_TLS_PORT' '$T/badca.log' && grep -q 'certificate verify failed' '$T/badca.log'"

cfg=$(write_cfg_up badname "  endpoints:
$(tls_ep "tcp://127.0.0.1:$DK_TLS_PORT" "        server_name: wrong.internal")")
check "tls: a wrong server_name refuses startup" sg_fails badname "$cfg"
check "tls: ... saying the name does not match" \
	sh -c "grep -q 'tcp://127.0.0.1:$DK_TLS_PORT' '$T/badname.log' && grep -qi 'hostname mismatch\|verify failed' '$T/badname.log'"

cfg=$(write_cfg_up nocert "  endpoints:
    - address: tcp://127.0.0.1:$DK_TLS_PORT
      tls:
        ca_file: $CERTS/ca.pem")
check "tls: no client certificate refuses startup" sg_fails nocert "$cfg"
check "tls: ... naming the endpoint and the TLS alert" \
	sh -c "grep -q 'tcp://127.0.0.1:$DK_TLS_PORT' '$T/nocert.log' && grep -qi 'certificate\|alert\|handshake' '$T/nocert.log'"

# an address the certificate does not name: only server_name makes it verify
SNI_PORT=$(free_port)
fwd_start sni "127.0.0.2:$SNI_PORT" -t "127.0.0.1:$DK_TLS_PORT"
cfg=$(write_cfg_up sni0 "  endpoints:
$(tls_ep "tcp://127.0.0.2:$SNI_PORT")")
check "tls: an address outside the certificate's names is refused" sg_fails sni0 "$cfg"
cfg=$(write_cfg_up sni "  endpoints:
$(tls_ep "tcp://127.0.0.2:$SNI_PORT" "        server_name: dockerd.internal")")
if sg_start sni "$cfg"; then
	check "tls: server_name override makes that address verify" quiet sgd sni ps
	sg_stop sni
else
	fail "tls: server_name override makes that address verify"
fi

# a server certificate naming the server only in its subject CN (no SAN):
# refused, the CN is never read as a host name (as Go)
CNO=$T/cnonly
mkdir -p "$CNO"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$CNO/key.pem" 2>/dev/null
openssl req -new -key "$CNO/key.pem" -out "$CNO/req.csr" -subj /CN=dockerd.internal 2>/dev/null
printf 'extendedKeyUsage=serverAuth\n' >"$CNO/ext"
openssl x509 -req -in "$CNO/req.csr" -CA "$CERTS/ca.pem" -CAkey "$CERTS/ca-key.pem" -CAcreateserial \
	-out "$CNO/cert.pem" -days 2 -sha256 -extfile "$CNO/ext" 2>/dev/null
CNO_PORT=$(free_port)
timeout 60 openssl s_server -accept "127.0.0.1:$CNO_PORT" -www -cert "$CNO/cert.pem" -key "$CNO/key.pem" \
	-CAfile "$CERTS/ca.pem" >"$T/cnonly-server.log" 2>&1 &
cnop=$!
FWD_PIDS+=("$cnop")
if wait_for 5 contains "$T/cnonly-server.log" ACCEPT; then
	cfg=$(write_cfg_up cnonly "  endpoints:
$(tls_ep "tcp://127.0.0.1:$CNO_PORT" "        server_name: dockerd.internal")")
	# bounded: a sockguard that accepts the certificate starts and stays up
	cno_fails() { timeout 20 "$SG" run -c "$1" >"$T/cnonly.log" 2>&1; [ $? -eq 1 ]; }
	check "tls: a server certificate with the name only in its CN (no SAN) refuses startup" \
		cno_fails "$cfg"
	check "tls: ... as a host name mismatch" \
		sh -c "grep -q 'tcp://127.0.0.1:$CNO_PORT' '$T/cnonly.log' && grep -q 'hostname mismatch' '$T/cnonly.log'"
else
	fail "tls: openssl s_server with a CN-only certificate starts"
fi
kill "$cnop" 2>/dev/null
{ wait "$cnop"; } 2>/dev/null

# ---- insecure opt-ins work, and warn ----
cfg=$(write_cfg_up skip "  endpoints:
    - address: tcp://127.0.0.1:$DK_TLS_PORT
      insecure_skip_tls_verify: true
      tls:
        ca_file: $CERTS/other/ca.pem
        cert_file: $CERTS/client/cert.pem
        key_file: $CERTS/client/key.pem")
if sg_start skip "$cfg"; then
	check "insecure: skip-verify connects despite an unrelated CA" quiet sgd skip ps
	check "insecure: skip-verify warns" wait_for 5 contains "$T/skip.log" "not verified"
	sg_stop skip
else
	fail "insecure: skip-verify starts"
fi
PLAIN_PORT=$(free_port)
fwd_start plain "127.0.0.1:$PLAIN_PORT" -u "$DOCKER_SOCK"
cfg=$(write_cfg_up plain "  endpoints:
    - address: tcp://127.0.0.1:$PLAIN_PORT
      insecure_allow_plain_tcp: true")
if sg_start plain "$cfg"; then
	check "insecure: plaintext TCP endpoint works" quiet sgd plain ps
	check "insecure: plaintext TCP warns" wait_for 5 contains "$T/plain.log" "plaintext TCP"
	sg_stop plain
else
	fail "insecure: plaintext TCP starts"
fi
cfg=$(write_cfg_up plain0 "  endpoints:
    - address: tcp://127.0.0.1:$PLAIN_PORT")
"$SG" check -c "$cfg" >"$T/plain0.out" 2>&1
check "insecure: tcp without TLS or the acknowledgement is a config error" \
	sh -c "grep -q 'insecure_allow_plain_tcp' '$T/plain0.out'"

# ---- DOCKER_* drop-in: the seed's four cases and the precedence ----
write_env_cfg() { # NAME [UPSTREAM_YAML]
	printf '%s\n' "$RULES_REM" >"$T/$1.rules"
	printf 'listen:\n  socket: %s\nrules_file: %s.rules\ninsecure_allow_read_exfiltration: true\n%s\n' \
		"$T/$1.sock" "$1" "${2:-}" >"$T/$1.yaml"
	echo "$T/$1.yaml"
}
started_upstream() { grep '"sockguard started"' "$T/$1.log" | grep -qF "\"upstream\":\"$2\""; }

cfg=$(write_env_cfg denv1)
DOCKER_HOST=tcp://127.0.0.1:$DK_TLS_PORT DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=$CERTS/client \
	sg_start denv1 "$cfg" && check "docker-env: verify + cert path = verified mTLS" quiet sgd denv1 ps ||
	fail "docker-env: verify + cert path starts"
check "docker-env: logs that it uses DOCKER_HOST" wait_for 5 contains "$T/denv1.log" "using remote upstream from DOCKER_HOST"
sg_stop denv1

cfg=$(write_env_cfg denv2)
DOCKER_HOST=tcp://127.0.0.1:$DK_TLS_PORT DOCKER_TLS_VERIFY=1 "$SG" run -c "$cfg" >"$T/denv2.log" 2>&1
rc=$?
check "docker-env: verify without cert path checks system roots (test CA is not one)" \
	sh -c "[ $rc -eq 1 ] && grep -q 'certificate verify failed' '$T/denv2.log'"

cfg=$(write_env_cfg denv3)
DOCKER_HOST=tcp://127.0.0.1:$DK_TLS_PORT DOCKER_CERT_PATH=$CERTS/otherclient \
	"$SG" run -c "$cfg" >"$T/denv3.log" 2>&1 &
p3=$!
SG_PIDS+=("$p3")
echo "$p3" >"$T/denv3.pid"
# otherclient holds an unrelated CA and a client cert the daemon rejects:
# the server cert is not verified (no verify error), the daemon refuses us
wait "$p3"
check "docker-env: cert path without verify skips server verification" \
	sh -c "! grep -q 'certificate verify failed' '$T/denv3.log' && grep -q 'not verified' '$T/denv3.log'"
mkdir -p "$T/skipdir" && cp "$CERTS/client/cert.pem" "$CERTS/client/key.pem" "$T/skipdir/" &&
	cp "$CERTS/other/ca.pem" "$T/skipdir/ca.pem"
cfg=$(write_env_cfg denv3b)
DOCKER_HOST=tcp://127.0.0.1:$DK_TLS_PORT DOCKER_CERT_PATH=$T/skipdir \
	sg_start denv3b "$cfg" && check "docker-env: ... and presents the client certificate" quiet sgd denv3b ps ||
	fail "docker-env: cert path without verify starts"
sg_stop denv3b

cfg=$(write_env_cfg denv4)
DOCKER_HOST=tcp://127.0.0.1:$PLAIN_PORT sg_start denv4 "$cfg" &&
	check "docker-env: neither = plaintext TCP" quiet sgd denv4 ps || fail "docker-env: plaintext starts"
check "docker-env: plaintext warns" wait_for 5 contains "$T/denv4.log" "plaintext"
sg_stop denv4

cfg=$(write_env_cfg prec1 "upstream:
  endpoints:
    - address: unix://$DOCKER_SOCK")
DOCKER_HOST=tcp://127.0.0.1:$PLAIN_PORT sg_start prec1 "$cfg"
check "docker-env: upstream.endpoints beats DOCKER_HOST" started_upstream prec1 "unix://$DOCKER_SOCK"
sg_stop prec1
cfg=$(write_env_cfg prec2 "upstream:
  socket: $DOCKER_SOCK")
DOCKER_HOST=tcp://127.0.0.1:$PLAIN_PORT sg_start prec2 "$cfg"
check "docker-env: DOCKER_HOST beats upstream.socket" started_upstream prec2 "tcp://127.0.0.1:$PLAIN_PORT"
sg_stop prec2
cfg=$(write_env_cfg prec3 "upstream:
  socket: $DOCKER_SOCK")
DOCKER_HOST=unix:///nonexistent.sock sg_start prec3 "$cfg"
check "docker-env: a unix:// DOCKER_HOST falls through to upstream.socket" started_upstream prec3 "unix://$DOCKER_SOCK"
sg_stop prec3

# ---- failover: two addresses of the same daemon, the first killable ----
FO_PORT=$(free_port)
fwd_start fo "127.0.0.1:$FO_PORT" -t "127.0.0.1:$DK_TLS_PORT"
cfg=$(write_cfg_up fo "  endpoints:
$(tls_ep "tcp://127.0.0.1:$FO_PORT")
$(tls_ep "tcp://127.0.0.1:$DK_TLS_PORT")
  failover:
    health_interval: 1s
    health_timeout: 1s")
"$SG" check -c "$cfg" >"$T/fo-check.out" 2>&1
check "failover: check explains the same-daemon constraint" \
	sh -c "grep -qi 'same' '$T/fo-check.out' && grep -qi 'daemon' '$T/fo-check.out'"
if sg_start fo "$cfg"; then
	active_is() { health fo | grep -qF "\"address\":\"$1\",\"health\":\"healthy\",\"active\":true"; }
	check "failover: traffic uses the first endpoint" active_is "tcp://127.0.0.1:$FO_PORT"
	before=$(fwd_accepts fo)
	sgd fo ps >/dev/null
	check "failover: ... through the forwarder" sh -c "[ \$(grep -c '^accept' '$T/fwd-fo.log') -gt $before ] || grep -q 'accept' '$T/fwd-fo.log'"
	check "failover: no warning about different daemons (same daemon)" lacks "$T/fo.log" "different Docker daemons"

	# a request in flight at the kill: POST /wait on a short-lived container
	cid=$(sgd fo run -d --network none bb:latest sleep 3)
	mark=$(dk_mark)
	raw fo -w 15000 "POST /v1.41/containers/$cid/wait HTTP/1.1\r\nHost: d\r\nContent-Length: 0\r\n\r\n" >"$T/fo-wait.out" &
	wp=$!
	wait_for 10 dk_saw_since "$mark" "/containers/$cid/wait"
	t0=$(date +%s%N)
	fwd_stop fo
	wait "$wp"
	echo "# in-flight request ended after $((($(date +%s%N) - t0) / 1000000)) ms"
	check "failover: the in-flight request gets an error (cut, no StatusCode)" \
		sh -c "! grep -q StatusCode '$T/fo-wait.out'"
	check "failover: the daemon saw the in-flight request once" \
		sh -c "[ \$(tail -n +$((mark + 1)) '$DK/dockerd.log' | grep Calling | grep -c '/containers/$cid/wait') -eq 1 ]"
	ok_ping() { raw fo -w 2000 "GET /_ping HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n" | grep -q '^HTTP/1.1 200'; }
	if wait_for 10 ok_ping; then
		t1=$(date +%s%N)
		ms=$(((t1 - t0) / 1000000))
		echo "# failover: endpoint loss to first request served by the standby: ${ms} ms (health_interval 1s, health_timeout 1s)"
		check "failover: the standby serves within health_interval + health_timeout" [ "$ms" -le 2000 ]
	else
		fail "failover: the standby serves requests"
	fi
	check "failover: the standby is active now" active_is "tcp://127.0.0.1:$DK_TLS_PORT"
	check "failover: the health transition was logged" \
		wait_for 5 sh -c "grep 'upstream endpoint health changed' '$T/fo.log' | grep -q '\"to\":\"unhealthy\"'"
	fwd_start fo "127.0.0.1:$FO_PORT" -t "127.0.0.1:$DK_TLS_PORT"
	check "failover: after restart traffic returns to the first endpoint" \
		wait_for 5 active_is "tcp://127.0.0.1:$FO_PORT"
	n0=$(fwd_accepts fo)
	sgd fo ps >/dev/null
	check "failover: ... and requests go through it again" sh -c "[ \$(grep -c '^accept' '$T/fwd-fo.log') -gt $n0 ]"
	sg_stop fo
else
	fail "failover: sockguard starts with two endpoints"
fi

# negative interval: startup probe only, no probe traffic afterwards
cfg=$(write_cfg_up foneg "  endpoints:
$(tls_ep "tcp://127.0.0.1:$FO_PORT")
$(tls_ep "tcp://127.0.0.1:$DK_TLS_PORT")
  failover:
    health_interval: -1s")
nb=$(fwd_accepts fo)
if sg_start foneg "$cfg"; then
	n0=$(fwd_accepts fo)
	check "failover: the startup probe ran even with a negative interval" [ "$n0" -gt "$nb" ]
	# an observation window, not a wait for a condition: nothing may come,
	# not even for a /health asked when the startup result is over 2 s old
	sleep 2.2
	h=$(health foneg)
	check "failover: /health reports the startup probe's result" \
		grep -qF "\"address\":\"tcp://127.0.0.1:$FO_PORT\",\"health\":\"healthy\",\"active\":true" <<<"$h"
	sleep 0.5
	check "failover: a negative interval sends no probe traffic after startup (nor for /health)" [ "$(fwd_accepts fo)" -eq "$n0" ]
	sg_stop foneg
else
	fail "failover: starts with a negative interval"
fi
# ---- endpoints that front different daemons: the startup warning ----
# The real dockerd and the mock (whose /info names another engine and
# which keeps even an HTTP/1.0 connection open): the warning names both
# engines, and reading /info ends at its Content-Length, not at the
# health timeout.
if [ -x "${SGMOCKD:-}" ]; then
	mock_start dd-mock
	DD_MOCK=$MOCK_PID
	cfg=$(write_cfg_up dd "  endpoints:
    - address: unix://$DOCKER_SOCK
    - address: unix://$T/dd-mock.sock
  failover:
    health_timeout: 8s")
	t0=$(date +%s%N)
	if sg_start dd "$cfg"; then
		ms=$((($(date +%s%N) - t0) / 1000000))
		check "different daemons: the startup warning names both engines" \
			sh -c "grep 'different Docker daemons' '$T/dd.log' | grep -q '\"engine_id_b\":\"MOCK:ENGINE:0001\"' && grep 'different Docker daemons' '$T/dd.log' | grep -q '\"engine_id_a\":\"[A-Za-z0-9]'"
		check "different daemons: /info ends at its length, not at the 8 s timeout (started in ${ms} ms)" \
			[ "$ms" -lt 6000 ]
		sg_stop dd
	else
		fail "different daemons: sockguard starts"
	fi
	kill "$DD_MOCK" 2>/dev/null
	wait "$DD_MOCK" 2>/dev/null
else
	fail "different daemons: the mock daemon (SGMOCKD) is missing"
fi

# Expect: 100-continue and an upstream that fails after the 100 went out
# (the TCP connect succeeds, then the connection closes before any
# answer): the client still gets its 502 after the interim 100, not a
# bare close
EXP_PORT=$(free_port)
fwd_start exp "127.0.0.1:$EXP_PORT" -u "$DOCKER_SOCK"
cfg=$(write_cfg_up exp "  endpoints:
    - address: tcp://127.0.0.1:$EXP_PORT
      insecure_allow_plain_tcp: true")
if sg_start exp "$cfg"; then
	fwd_stop exp
	fwd_start exp "127.0.0.1:$EXP_PORT" -u "$T/exp-nothing.sock"
	raw exp -w 5000 "POST /v1.41/containers/create HTTP/1.1\r\nHost: d\r\nExpect: 100-continue\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n" >"$T/exp.out"
	check "expect: an upstream failing after 100 Continue still answers 502" \
		sh -c "grep -q '^HTTP/1.1 502 ' '$T/exp.out' && grep -q 'upstream Docker socket unreachable' '$T/exp.out'"
	check "expect: ... after the interim 100" \
		sh -c "head -1 '$T/exp.out' | grep -q '^HTTP/1.1 100 Continue'"
	sg_stop exp
else
	fail "expect: sockguard starts"
fi

# Startup probes run in parallel: the active endpoint is the first
# healthy one in list order, chosen once from all the results, even when
# the standby (a unix socket, no handshake) answers first
cfg=$(write_cfg_up order "  endpoints:
$(tls_ep "tcp://127.0.0.1:$DK_TLS_PORT")
    - address: unix://$DOCKER_SOCK")
if sg_start order "$cfg"; then
	check "startup order: the first endpoint in the list is active" \
		started_upstream order "tcp://127.0.0.1:$DK_TLS_PORT"
	check "startup order: no active-endpoint change logged while the probes came in" \
		sh -c "! grep -q 'upstream active endpoint changed' '$T/order.log'"
	sg_stop order
else
	fail "startup order: sockguard starts"
fi

# A unix socket listed in upstream.endpoints gets the probing machinery
# even alone (the seed): its loss and its return are logged with no
# request coming in
if [ -x "${SGMOCKD:-}" ]; then
	mock_start one-mock
	ONE_MOCK=$MOCK_PID
	cfg=$(write_cfg_up one "  endpoints:
    - address: unix://$T/one-mock.sock
  failover:
    health_interval: 200ms")
	if sg_start one "$cfg"; then
		kill "$ONE_MOCK"
		wait "$ONE_MOCK" 2>/dev/null
		check "one unix endpoint: its loss is logged with no request" \
			wait_for 5 sh -c "grep 'upstream endpoint health changed' '$T/one.log' | grep -q '\"healthy\":false'"
		mock_start one-mock
		ONE_MOCK=$MOCK_PID
		check "one unix endpoint: ... and so is its return" \
			wait_for 5 sh -c "grep 'upstream endpoint health changed' '$T/one.log' | tail -1 | grep -q '\"healthy\":true'"
		sg_stop one
	else
		fail "one unix endpoint: sockguard starts"
	fi
	kill "$ONE_MOCK" 2>/dev/null
	wait "$ONE_MOCK" 2>/dev/null
else
	fail "one unix endpoint: the mock daemon (SGMOCKD) is missing"
fi

for p in "${FWD_PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
