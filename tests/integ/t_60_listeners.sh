# shellcheck shell=bash
# TLS 1.3 mTLS listener, multiple listeners, client identity -> profile,
# listener admission, rollout modes.

chmod 755 "$T" # unprivileged test clients must reach the sockets
SGFWD_BIN=$SGTOOLS/sgfwd
TLS_PORT=$(free_port)
tlsd() { # docker CLI over TLS with the client certificate in DIR (a hang fails)
	local dir=$1
	shift
	timeout 60 docker -H "tcp://127.0.0.1:$TLS_PORT" --tlsverify --tlscacert "$CERTS/ca.pem" \
		--tlscert "$dir/cert.pem" --tlskey "$dir/key.pem" "$@"
}
has() { printf '%s' "$1" | grep -q -- "$2"; }
hasnt() { ! printf '%s' "$1" | grep -q -- "$2"; }
first_line_has() { printf '%s' "$1" | head -1 | grep -q -- "$2"; }
tls_raw() { # CERTDIR REQUEST: HTTP over TLS with openssl s_client
	printf '%b' "$2" | timeout 10 openssl s_client -quiet -connect "127.0.0.1:$TLS_PORT" \
		-CAfile "$CERTS/ca.pem" -cert "$1/cert.pem" -key "$1/key.pem" 2>/dev/null
}

cat >"$T/ml.yaml" <<YAML
listeners:
  - name: ci
    socket: $T/ml.sock
    socket_mode: "0660"
    socket_gid: 65534
    allowed_profiles: [ci]
  - name: ops
    address: 127.0.0.1:$TLS_PORT
    tls:
      cert_file: $CERTS/server-cert.pem
      key_file: $CERTS/server-key.pem
      client_ca_file: $CERTS/ca.pem
      common_names: [sockguard, ops-client]
    allowed_profiles: [ops, audited]
upstream:
  socket: $DOCKER_SOCK
insecure_allow_read_exfiltration: true
clients:
  client_certificate_profiles:
    - profile: audited
      uri_sans: [spiffe://sockguard.test/ops]
    - profile: ops
      common_names: [sockguard]
  unix_peer_profiles:
    - profile: ci
      uids: [0]
    - profile: ops
      uids: [65534]
  profiles:
    - name: ci
      rules:
        - { match: { method: "GET,HEAD", path: /_ping }, action: allow }
        - { match: { method: GET, path: /version }, action: allow }
        - { match: { method: GET, path: "/containers/json" }, action: allow }
        - { match: { method: GET, path: /info }, action: deny, reason: "ci may not read info" }
        - { match: { method: "*", path: "/**" }, action: deny }
    - name: ops
      rules:
        - { match: { method: "GET,HEAD", path: /_ping }, action: allow }
        - { match: { method: GET, path: /version }, action: allow }
        - { match: { method: GET, path: /info }, action: allow }
        - { match: { method: "*", path: "/containers/**" }, action: allow }
        - { match: { method: "*", path: "/exec/**" }, action: allow }
        - { match: { method: "*", path: "/**" }, action: deny }
    - name: audited
      mode: audit
      rules:
        - { match: { method: "GET,HEAD", path: /_ping }, action: allow }
        - { match: { method: "*", path: "/**" }, action: deny }
YAML
"$SG" run -c "$T/ml.yaml" >"$T/ml.log" 2>&1 &
mlp=$!
SG_PIDS+=("$mlp")
if ! wait_for 15 grep -qs '"sockguard started"' "$T/ml.log"; then
	fail "listeners: sockguard starts with a unix and a TLS listener"
	cat "$T/ml.log"
	return
fi

# the stock docker CLI over mutual TLS, relaying to the real daemon
check "tls: docker ps over the TLS listener" tlsd "$CERTS/client" ps
t_run() { tlsd "$CERTS/client" run --rm --network none bb:latest echo tls-listener | grep -qx tls-listener; }
check "tls: docker run --rm over TLS" t_run
tlsd "$CERTS/client" run -d --name tl --network none bb:latest sh -c 'i=0; while true; do echo t$i; i=$((i+1)); sleep 0.2; done' >/dev/null
tlsd "$CERTS/client" logs -f tl >"$T/tl-logs.out" 2>&1 &
tlp=$!
check "tls: logs -f over the TLS listener" wait_for 15 contains "$T/tl-logs.out" "t5"
kill "$tlp" 2>/dev/null
wait "$tlp" 2>/dev/null
t_exec() { echo via-tls | tlsd "$CERTS/client" exec -i tl sh -c 'cat; echo after' | tr '\n' , | grep -qx 'via-tls,after,'; }
check "tls: exec -i over the TLS listener (stdin EOF, output after it)" t_exec
# a large body to a reader that starts late (TLS writes that must wait
# and be retried) arrives byte for byte
d=$(timeout 60 docker -H "unix://$DOCKER_SOCK" export tl | sha256sum)
p=$(tlsd "$CERTS/client" export tl | { sleep 1; sha256sum; })
check "tls: docker export over TLS to a late reader is byte-identical" \
	sh -c "[ '$d' = '$p' ] && [ '$d' != '$(sha256sum </dev/null)' ]"
# three requests in one TLS write: all answered, in order, without
# waiting for more bytes (OpenSSL may read them all ahead at once)
out=$(tls_raw "$CERTS/client" 'GET /_ping?pipe=1 HTTP/1.1\r\nHost: d\r\n\r\nGET /version HTTP/1.1\r\nHost: d\r\n\r\nGET /_ping?pipe=3 HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n')
check "tls: three pipelined requests in one write get three answers" \
	[ "$(printf '%s' "$out" | grep -o 'HTTP/1.1 200' | wc -l)" = 3 ]
check "tls: ... the /version one in the middle" \
	sh -c "printf '%s' \"\$1\" | grep -q '\"ApiVersion\"'" _ "$out"
tlsd "$CERTS/client" rm -f tl >/dev/null

# refusals: no HTTP answer, nothing reaches the daemon
mark=$(dk_mark)
out=$(printf 'GET /v1.41/containers/json?refused=nocert HTTP/1.1\r\nHost: d\r\n\r\n' |
	timeout 10 openssl s_client -quiet -connect "127.0.0.1:$TLS_PORT" -CAfile "$CERTS/ca.pem" 2>&1)
check "tls: no client certificate is refused" hasnt "$out" 'HTTP/1.1'

t_other() { ! tlsd "$CERTS/otherclient" ps >/dev/null 2>&1; }
check "tls: a certificate from another CA is refused" t_other
out=$(printf 'GET /_ping HTTP/1.1\r\nHost: d\r\n\r\n' | timeout 10 openssl s_client -quiet -tls1_2 \
	-connect "127.0.0.1:$TLS_PORT" -CAfile "$CERTS/ca.pem" -cert "$CERTS/client/cert.pem" \
	-key "$CERTS/client/key.pem" 2>&1)
check "tls: a TLS 1.2-only client is refused" hasnt "$out" 'HTTP/1.1 200'
out=$("$SGRAW" -t "127.0.0.1:$TLS_PORT" -w 3000 "GET /_ping HTTP/1.1\r\nHost: d\r\n\r\n" | tr -d '\0')
check "tls: plaintext HTTP to the TLS port gets no HTTP answer" hasnt "$out" 'HTTP/1.1 200'
check "tls: refused handshakes never reached the daemon" \
	sh -c "! tail -n +$((mark + 1)) '$DK/dockerd.log' | grep Calling | grep -q 'refused=nocert'"
check "tls: refusals are logged" wait_for 5 contains "$T/ml.log" "tls handshake refused"

# a valid certificate outside the selectors: a listener admitting only CN ops-client
cat >"$T/sel.yaml" <<YAML
listen:
  address: 127.0.0.1:$(free_port)
  tls:
    cert_file: $CERTS/server-cert.pem
    key_file: $CERTS/server-key.pem
    client_ca_file: $CERTS/ca.pem
    common_names: [ops-client]
upstream:
  socket: $DOCKER_SOCK
YAML
SELPORT=$(sed -n 's/^  address: 127.0.0.1:\([0-9]*\)$/\1/p' "$T/sel.yaml")
"$SG" run -c "$T/sel.yaml" >"$T/sel.log" 2>&1 &
selp=$!
SG_PIDS+=("$selp")
if wait_for 15 grep -qs '"sockguard started"' "$T/sel.log"; then
	out=$(printf 'GET /_ping HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n' | timeout 10 openssl s_client -quiet \
		-connect "127.0.0.1:$SELPORT" -CAfile "$CERTS/ca.pem" -cert "$CERTS/client/cert.pem" \
		-key "$CERTS/client/key.pem" 2>&1)
	check "tls: a valid certificate outside the selectors is refused" hasnt "$out" 'HTTP/1.1 200'
	out=$(printf 'GET /_ping HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n' | timeout 10 openssl s_client -quiet \
		-connect "127.0.0.1:$SELPORT" -CAfile "$CERTS/ca.pem" -cert "$CERTS/client2/cert.pem" \
		-key "$CERTS/client2/key.pem" 2>&1)
	check "tls: ... and a certificate inside them is served" has "$out" 'HTTP/1.1 200'
else
	fail "tls: selector listener starts"
	cat "$T/sel.log"
fi
kill -TERM "$selp"
wait "$selp"

# two listeners, two profiles: the same request decided differently
r=$(raw ml -w 3000 "GET /info HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n")
check "profiles: GET /info denied on the unix listener (profile ci)" first_line_has "$r" '^HTTP/1.1 403'
out=$(tls_raw "$CERTS/client" 'GET /info HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n')
check "profiles: GET /info allowed on the TLS listener (profile ops)" first_line_has "$out" '^HTTP/1.1 200'
check "profiles: the access log names listener, profile and identity" \
	wait_for 5 sh -c "grep '\"msg\":\"request_denied\"' '$T/ml.log' | grep '\"path\":\"/info\"' | grep '\"listener_name\":\"ci\"' | grep '\"profile\":\"ci\"' | grep -q '\"peer_uid\":0'"
check "profiles: ... the certificate identity on the TLS listener" \
	wait_for 5 sh -c "grep '\"listener_name\":\"ops\"' '$T/ml.log' | grep '\"profile\":\"ops\"' | grep -q '\"client_cert_cn\":\"sockguard\"'"

# unix peer profiles: root (ci) and an unprivileged uid (ops) get different answers
if command -v setpriv >/dev/null; then
	r=$(setpriv --reuid 65534 --regid 65534 --clear-groups "$SGRAW" -u "$T/ml.sock" -w 3000 \
		"GET /_ping HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n")
	adm() { first_line_has "$r" '^HTTP/1.1 403' && has "$r" 'client profile not allowed on this listener'; }
	check "admission: an unprivileged uid (profile ops) gets the listener-admission 403 on ci" adm
	r=$(raw ml -w 3000 "GET /_ping HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n")
	check "admission: root (profile ci) is admitted on ci" first_line_has "$r" '^HTTP/1.1 200'
	check "admission: the refusal is logged with its reason code" \
		wait_for 5 sh -c "grep 'listener_profile_not_allowed' '$T/ml.log' | grep -q '\"peer_uid\":65534'"
else
	skip "admission: setpriv not available"
fi

# audit mode: a denied request goes through and is logged would_deny
mark=$(dk_mark)
out=$(tls_raw "$CERTS/client2" 'GET /v1.41/info?audit=1 HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n')
check "audit: a request the audited profile denies still goes through" first_line_has "$out" '^HTTP/1.1 200'
check "audit: ... reaching the daemon" dk_saw_since "$mark" "info?audit=1"
check "audit: ... logged as would_deny with the rule that would deny it" \
	wait_for 5 sh -c "grep '\"msg\":\"request_would_deny\"' '$T/ml.log' | grep '\"profile\":\"audited\"' | grep '\"rollout_mode\":\"audit\"' | grep -q '\"rule\":1'"
kill -TERM "$mlp"
wait "$mlp"

# all listeners are bound or none: a failed bind undoes the others, exit 1
BUSY=$(free_port)
"$SGFWD_BIN" -l "127.0.0.1:$BUSY" -u "$DOCKER_SOCK" >"$T/busy.log" 2>&1 &
busyp=$!
wait_for 5 contains "$T/busy.log" "listening"
cat >"$T/aon.yaml" <<YAML
listeners:
  - name: first
    socket: $T/aon.sock
    allowed_profiles: ["*"]
  - name: second
    address: 127.0.0.1:$BUSY
    allowed_profiles: ["*"]
upstream:
  socket: $DOCKER_SOCK
YAML
"$SG" run -c "$T/aon.yaml" >"$T/aon.log" 2>&1
rc=$?
check "listeners: a failed bind exits 1" [ "$rc" -eq 1 ]
check "listeners: ... naming the address" contains "$T/aon.log" "127.0.0.1:$BUSY"
check "listeners: ... and the listener already bound is undone" test ! -e "$T/aon.sock"
kill -KILL "$busyp" 2>/dev/null
wait "$busyp" 2>/dev/null
