# shellcheck shell=bash
# Audit log, TCP listener, environment overlay, match and version CLI.

cat >"$T/aud.yaml" <<YAML
listen:
  socket: $T/aud.sock
upstream:
  socket: $DOCKER_SOCK
log:
  audit:
    enabled: true
    output: $T/audit.log
YAML
sg_start aud "$T/aud.yaml" || fail "audit: starts"
raw aud -w 2000 "GET /v1.41/containers/json HTTP/1.1\r\nHost: d\r\nX-Request-Id: client-abc\r\nConnection: close\r\n\r\n" >/dev/null
sg_stop aud
check "audit: one JSON event per request with the decision" \
	sh -c "grep '\"event_type\":\"http_request\"' '$T/audit.log' | grep '\"normalized_path\":\"/containers/json\"' | grep -q '\"decision\":\"deny\"'"
check "audit: the caller's X-Request-Id is kept as client_request_id" \
	sh -c "grep -q '\"client_request_id\":\"client-abc\"' '$T/audit.log'"

# TCP listener on loopback, text logs through the environment
PORT=$(free_port)
cat >"$T/tcp.yaml" <<YAML
listen:
  address: 127.0.0.1:$PORT
upstream:
  socket: $DOCKER_SOCK
YAML
SOCKGUARD_LOG_FORMAT=text "$SG" run -c "$T/tcp.yaml" >"$T/tcp.log" 2>&1 &
tp=$!
SG_PIDS+=("$tp")
if wait_for 10 grep -q 'msg="sockguard started"' "$T/tcp.log"; then
	r=$("$SGRAW" -t "127.0.0.1:$PORT" -w 2000 "GET /_ping HTTP/1.1\r\nHost: 127.0.0.1:$PORT\r\nConnection: close\r\n\r\n")
	check "tcp: loopback TCP listener serves" sh -c "printf '%s' '$r' | grep -q '^HTTP/1.1 200'"
	# DNS rebinding: a web page's own name as Host is refused on plain
	# TCP, addresses and localhost are answered; the connection stays up
	for h in "localhost:$PORT" "[::1]:$PORT" "127.0.0.1"; do
		r=$("$SGRAW" -t "127.0.0.1:$PORT" -w 2000 "GET /_ping HTTP/1.1\r\nHost: $h\r\nConnection: close\r\n\r\n")
		check "tcp: Host $h is answered" sh -c "printf '%s' '$r' | grep -q '^HTTP/1.1 200'"
	done
	for h in "rebind.example:$PORT" "docker" "127.0.0.1.nip.io:$PORT"; do
		r=$("$SGRAW" -t "127.0.0.1:$PORT" -w 2000 "GET /_ping HTTP/1.1\r\nHost: $h\r\n\r\nGET /_ping HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
		check "tcp: Host $h is refused (403, says how to connect), the next request answered" \
			sh -c "printf '%s' '$r' | grep -o 'HTTP/1.1 [0-9]*' | tr '\n' , | grep -qx 'HTTP/1.1 403,HTTP/1.1 200,' && printf '%s' '$r' | grep -q 'tcp://127.0.0.1:PORT'"
	done
	check "tcp: the refusals are logged as host_name_refused" \
		wait_for 5 sh -c "[ \$(grep -c 'reason_code=host_name_refused' '$T/tcp.log') -eq 3 ]"
	check "env: SOCKGUARD_LOG_FORMAT=text switches to logfmt" wait_for 5 grep -q 'level=INFO msg=request ' "$T/tcp.log"
	check "tcp: docker CLI over TCP" sh -c "DOCKER_HOST=tcp://127.0.0.1:$PORT docker version --format '{{.Server.APIVersion}}' | grep -q 1.41"
else
	fail "tcp: sockguard starts on a TCP listener"
fi
kill -TERM "$tp"
wait "$tp"
# ... unless the operator opts in: then the rules judge such requests
PORT2=$(free_port)
cat >"$T/tcpb.yaml" <<YAML
listen:
  address: 127.0.0.1:$PORT2
upstream:
  socket: $DOCKER_SOCK
insecure_allow_browser_requests: true
YAML
if sg_start tcpb "$T/tcpb.yaml"; then
	r=$("$SGRAW" -t "127.0.0.1:$PORT2" -w 2000 "GET /_ping HTTP/1.1\r\nHost: rebind.example:$PORT2\r\nConnection: close\r\n\r\n")
	check "tcp: insecure_allow_browser_requests answers a DNS-name Host" sh -c "printf '%s' '$r' | grep -q '^HTTP/1.1 200'"
	sg_stop tcpb
else
	fail "tcp: sockguard starts with insecure_allow_browser_requests"
fi

# a non-loopback plaintext listener is refused unless both acknowledgements are set
cat >"$T/wide.yaml" <<YAML
listen:
  address: 0.0.0.0:$PORT
  insecure_allow_plain_tcp: true
YAML
"$SG" check -c "$T/wide.yaml" >"$T/wide.out" 2>&1
check "tcp: non-loopback plaintext with one acknowledgement is refused" \
	sh -c "grep -q 'insecure_allow_unauthenticated_clients' '$T/wide.out'"

# ... with both, a listener on every address serves peers on other hosts
# by service name (a container network: Host is whatever name they used),
# while a loopback peer on it still needs an address or localhost as Host.
# Both ends run in a network namespace of the test's own whose lo also
# holds a non-loopback address: no packet leaves the namespace.
S_NS=sgt-$$
if ip netns add "$S_NS" 2>/dev/null &&
	ip netns exec "$S_NS" sh -c 'ip link set lo up && ip addr add 10.200.0.1/32 dev lo' 2>/dev/null; then
	WPORT=$(free_port)
	cat >"$T/wide2.yaml" <<YAML
listen:
  address: 0.0.0.0:$WPORT
  insecure_allow_plain_tcp: true
  insecure_allow_unauthenticated_clients: true
upstream:
  socket: $DOCKER_SOCK
YAML
	SG_PREFIX=(ip netns exec "$S_NS")
	if sg_start wide2 "$T/wide2.yaml"; then
		r=$(ip netns exec "$S_NS" "$SGRAW" -t "10.200.0.1:$WPORT" -w 2000 "GET /_ping HTTP/1.1\r\nHost: socket-proxy:$WPORT\r\nConnection: close\r\n\r\n")
		check "tcp: a peer on another address may name the listener by a service name" \
			sh -c "printf '%s' '$r' | grep -q '^HTTP/1.1 200'"
		r=$(ip netns exec "$S_NS" "$SGRAW" -t "127.0.0.1:$WPORT" -w 2000 "GET /_ping HTTP/1.1\r\nHost: socket-proxy:$WPORT\r\nConnection: close\r\n\r\n")
		check "tcp: ... a loopback peer may not (DNS rebinding from a local browser)" \
			sh -c "printf '%s' '$r' | grep -q '^HTTP/1.1 403'"
		check "tcp: ... and the start warns that it is plaintext and unauthenticated" \
			grep -q "warning: listen.address: listen serves the Docker API over plaintext TCP on 0.0.0.0:$WPORT without authenticating clients" "$T/wide2.log"
		sg_stop wide2
	else
		fail "tcp: sockguard starts on 0.0.0.0 with both acknowledgements"
	fi
	SG_PREFIX=()
	ip netns del "$S_NS"
else
	ip netns del "$S_NS" 2>/dev/null
	skip "tcp: no network namespace of our own to test a listener on every address in"
fi

# flags beat the environment, which beats the file
SOCKGUARD_RESPONSE_DENY_VERBOSITY=verbose "$SG" run -c "$T/aud.yaml" --deny-verbosity minimal >"$T/prec.log" 2>&1 &
pp=$!
SG_PIDS+=("$pp")
if wait_for 10 grep -q '"sockguard started"' "$T/prec.log"; then
	r=$(raw aud -w 2000 "GET /secrets HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n")
	check "precedence: --deny-verbosity beats SOCKGUARD_RESPONSE_DENY_VERBOSITY" \
		sh -c "printf '%s' '$r' | grep -q '{\"message\":\"request denied by sockguard policy\"}$'"
fi
kill -TERM "$pp"
wait "$pp"

# match and version
mcfg=$(write_cfg m 'allow GET,HEAD /_ping
allow GET /version
allow GET /info
allow GET /events
allow GET /images/json
allow * /containers/**
allow * /exec/**
deny * /**' "insecure_allow_read_exfiltration: true")
out=$("$SG" match -c "$mcfg" -X get --path '/v1.41/containers/json/../json' -o json 2>/dev/null)
check "match: json names the rule, the canonical path and the decision" \
	sh -c "echo '$out' | grep -q '\"normalized_path\":\"/containers/json\"' && echo '$out' | grep -q '\"decision\":\"allow\"' && echo '$out' | grep -q '\"index\":6'"
out=$("$SG" match -c "$mcfg" -X POST --path /build 2>/dev/null)
check "match: text shows a deny by the catch-all" \
	sh -c "echo '$out' | grep -q 'Decision: *deny' && echo '$out' | grep -q 'Matched rule: *#8'"
# what the proxy refuses after an allow, match says too: an API version
# below min_api_version (400 from the proxy)
out=$("$SG" match -c "$mcfg" -X GET --path /v1.23/containers/json -o json 2>/dev/null)
check "match: an allowed path below the minimum API version is a deny (api_version_too_old)" \
	sh -c "echo '$out' | grep -q '\"decision\":\"deny\"' && echo '$out' | grep -q '\"reason_code\":\"api_version_too_old\"'"
# a long path is shown whole, not cut at a fixed buffer
long="/$(head -c 12000 /dev/zero | tr '\0' a)"
"$SG" match -c "$mcfg" -X GET --path "$long" -o json >"$T/match-long.json" 2>/dev/null
check "match: json shows a 12 KB path whole" \
	python3 -c "import json,sys; d=json.load(open(sys.argv[1])); sys.exit(len(d['path']) != 12001 or len(d['normalized_path']) != 12001)" "$T/match-long.json"
check "version: json" sh -c "'$SG' version -o json | grep -q '\"version\":'"
check "help: every command has --help" sh -c "'$SG' run --help | grep -q usage && '$SG' check --help | grep -q usage && '$SG' match --help | grep -q usage"
