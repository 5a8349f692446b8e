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
	r=$("$SGRAW" -t "127.0.0.1:$PORT" -w 2000 "GET /_ping HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n")
	check "tcp: loopback TCP listener serves" sh -c "printf '%s' '$r' | grep -q '^HTTP/1.1 200'"
	check "env: SOCKGUARD_LOG_FORMAT=text switches to logfmt" wait_for 5 grep -q 'level=INFO msg=request ' "$T/tcp.log"
	check "tcp: docker CLI over TCP" sh -c "DOCKER_HOST=tcp://127.0.0.1:$PORT docker version --format '{{.Server.APIVersion}}' | grep -q 1.41"
else
	fail "tcp: sockguard starts on a TCP listener"
fi
kill -TERM "$tp"
wait "$tp"

# a non-loopback plaintext listener is refused unless both acknowledgements are set
cat >"$T/wide.yaml" <<YAML
listen:
  address: 0.0.0.0:$PORT
  insecure_allow_plain_tcp: true
YAML
"$SG" check -c "$T/wide.yaml" >"$T/wide.out" 2>&1
check "tcp: non-loopback plaintext with one acknowledgement is refused" \
	sh -c "grep -q 'insecure_allow_unauthenticated_clients' '$T/wide.out'"

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
out=$("$SG" match -c "$mcfg" -X get --path '/v1.41/containers/json/../json' -o json)
check "match: json names the rule, the canonical path and the decision" \
	sh -c "echo '$out' | grep -q '\"normalized_path\":\"/containers/json\"' && echo '$out' | grep -q '\"decision\":\"allow\"' && echo '$out' | grep -q '\"index\":6'"
out=$("$SG" match -c "$mcfg" -X POST --path /build)
check "match: text shows a deny by the catch-all" \
	sh -c "echo '$out' | grep -q 'Decision: *deny' && echo '$out' | grep -q 'Matched rule: *#8'"
check "version: json" sh -c "'$SG' version -o json | grep -q '\"version\":'"
check "help: every command has --help" sh -c "'$SG' run --help | grep -q usage && '$SG' check --help | grep -q usage && '$SG' match --help | grep -q usage"
