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
check "tls: docker ps over the TLS listener" quiet tlsd "$CERTS/client" ps
t_run() { tlsd "$CERTS/client" run --rm --network none bb:latest echo tls-listener | grep -qx tls-listener; }
check "tls: docker run --rm over TLS" t_run
tlsd "$CERTS/client" run -d --name tl --network none bb:latest sh -c 'i=0; while true; do echo t$i; i=$((i+1)); sleep 0.2; done' >/dev/null
tlsd "$CERTS/client" logs -f tl >"$T/tl-logs.out" 2>&1 &
tlp=$!
check "tls: logs -f over the TLS listener" wait_for 15 contains "$T/tl-logs.out" "t5"
kill "$tlp" 2>/dev/null
{ wait "$tlp"; } 2>/dev/null
t_exec() { echo via-tls | tlsd "$CERTS/client" exec -i tl sh -c 'cat; echo after' | tr '\n' , | grep -qx 'via-tls,after,'; }
check "tls: exec -i over the TLS listener (stdin EOF, output after it)" t_exec
# 20 MB in and the same 20 MB back out at once over TLS (both relays
# must wait for room and retry their TLS writes), then the half-close
head -c 20000000 /dev/urandom >"$T/tls-big.bin"
t_big() { tlsd "$CERTS/client" run -i --rm --network none bb:latest cat <"$T/tls-big.bin" | cmp -s - "$T/tls-big.bin"; }
check "tls: run -i cat relays 20 MB both ways at once over TLS, byte for byte" t_big
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

# session resumption: none. A client that stores a session and offers it
# on its next connection (curl does) gets a full handshake every time,
# with its certificate verified again
out=$(curl -sS -m 20 --cacert "$CERTS/ca.pem" --cert "$CERTS/client/cert.pem" \
	--key "$CERTS/client/key.pem" -H 'Connection: close' -w '[%{http_code}]' \
	"https://127.0.0.1:$TLS_PORT/_ping" "https://127.0.0.1:$TLS_PORT/_ping" \
	"https://127.0.0.1:$TLS_PORT/_ping" 2>&1)
check "tls: curl, three connections in a row (it would resume): three answers" \
	[ "$out" = 'OK[200]OK[200]OK[200]' ]
rm -f "$T/sess.pem"
out=$(printf 'GET /_ping HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n' | timeout 10 openssl s_client \
	-ign_eof -connect "127.0.0.1:$TLS_PORT" -CAfile "$CERTS/ca.pem" -cert "$CERTS/client/cert.pem" \
	-key "$CERTS/client/key.pem" -sess_out "$T/sess.pem" 2>&1)
check "tls: the listener issues no session ticket (nothing to resume)" \
	sh -c "printf '%s' \"\$1\" | grep -q 'HTTP/1.1 200' && [ ! -s '$T/sess.pem' ]" _ "$out"
# a ticket from another server (openssl s_server, same certificate) offered
# without a client certificate: no resumption, so still refused
SESS_PORT=$(free_port)
timeout 20 openssl s_server -accept "127.0.0.1:$SESS_PORT" -naccept 1 -www -cert "$CERTS/server-cert.pem" \
	-key "$CERTS/server-key.pem" >"$T/s_server.log" 2>&1 &
ssp=$!
wait_for 5 contains "$T/s_server.log" ACCEPT
printf 'GET / HTTP/1.0\r\n\r\n' | timeout 10 openssl s_client -ign_eof -connect "127.0.0.1:$SESS_PORT" \
	-CAfile "$CERTS/ca.pem" -sess_out "$T/sess-other.pem" >/dev/null 2>&1
kill "$ssp" 2>/dev/null
{ wait "$ssp"; } 2>/dev/null
if [ -s "$T/sess-other.pem" ]; then
	out=$(printf 'GET /_ping HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n' | timeout 10 openssl s_client \
		-ign_eof -connect "127.0.0.1:$TLS_PORT" -CAfile "$CERTS/ca.pem" -sess_in "$T/sess-other.pem" 2>&1)
	check "tls: an offered session ticket does not stand in for the client certificate" \
		hasnt "$out" 'HTTP/1.1'
else
	fail "tls: openssl s_server hands out a session ticket to offer"
fi

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

# subjects a CN selector must not take for "admin": two CNs (Go reads the
# last, a C reader may read the first), one multi-valued RDN (admin sorts
# first in its DER SET), and a NUL byte inside the CN (written as
# adminZ.evil, the byte patched in the DER, then signed again by the CA)
cn_sign() { # DIR: DIR/req.csr -> DIR/cert.pem, a client certificate of the test CA
	openssl x509 -req -in "$1/req.csr" -CA "$CERTS/ca.pem" -CAkey "$CERTS/ca-key.pem" \
		-CAcreateserial -out "$1/cert.pem" -days 2 -sha256 -extfile "$CERTS/client.ext" 2>/dev/null
}
cn_cert() { # NAME SUBJECT [REQ FLAGS...]
	local d=$T/cn/$1 subj=$2
	shift 2
	mkdir -p "$d"
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$d/key.pem" 2>/dev/null &&
		openssl req -new -key "$d/key.pem" -out "$d/req.csr" -subj "$subj" "$@" 2>/dev/null &&
		cn_sign "$d"
}
cn_cert admin /CN=admin
cn_cert two /CN=admin/CN=low
cn_cert mv /CN=admin+CN=lowest -multivalue-rdn
cn_cert nul /CN=adminZ.evil &&
	openssl x509 -in "$T/cn/nul/cert.pem" -outform DER |
	LC_ALL=C sed 's/adminZ\.evil/admin\x00.evil/' >"$T/cn/nul/patched.der" &&
	openssl x509 -inform DER -in "$T/cn/nul/patched.der" -x509toreq -key "$T/cn/nul/key.pem" \
		-out "$T/cn/nul/req.csr" 2>/dev/null && cn_sign "$T/cn/nul"
subject() { openssl x509 -in "$T/cn/$1/cert.pem" -noout -subject -nameopt oneline 2>&1; }
cn_certs_ok() {
	[ "$(subject two)" = 'subject=CN = admin, CN = low' ] &&
		[ "$(subject mv)" = 'subject=CN = admin + CN = lowest' ] &&
		[ "$(subject nul)" = 'subject=CN = admin\00.evil' ] &&
		openssl verify -CAfile "$CERTS/ca.pem" "$T"/cn/*/cert.pem >/dev/null 2>&1
}
check "cn: test certificates with two CNs, a multi-valued RDN and a NUL byte" cn_certs_ok
CN_SEL=$(free_port)
CN_PROF=$(free_port)
cat >"$T/cn.yaml" <<YAML
listeners:
  - name: sel
    address: 127.0.0.1:$CN_SEL
    tls:
      cert_file: $CERTS/server-cert.pem
      key_file: $CERTS/server-key.pem
      client_ca_file: $CERTS/ca.pem
      common_names: [admin]
    allowed_profiles: ["*"]
  - name: prof
    address: 127.0.0.1:$CN_PROF
    tls:
      cert_file: $CERTS/server-cert.pem
      key_file: $CERTS/server-key.pem
      client_ca_file: $CERTS/ca.pem
    allowed_profiles: [admin]
upstream:
  socket: $DOCKER_SOCK
clients:
  client_certificate_profiles:
    - profile: admin
      common_names: [admin]
  profiles:
    - name: admin
      rules:
        - { match: { method: "GET,HEAD", path: /_ping }, action: allow }
        - { match: { method: "*", path: "/**" }, action: deny }
YAML
"$SG" run -c "$T/cn.yaml" >"$T/cn.log" 2>&1 &
cnp=$!
SG_PIDS+=("$cnp")
cn_ping() { # PORT NAME: GET /_ping with the certificate in $T/cn/NAME
	printf 'GET /_ping HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n' | timeout 10 openssl s_client -quiet \
		-connect "127.0.0.1:$1" -CAfile "$CERTS/ca.pem" -cert "$T/cn/$2/cert.pem" \
		-key "$T/cn/$2/key.pem" 2>/dev/null
}
if wait_for 15 grep -qs '"sockguard started"' "$T/cn.log"; then
	out=$(cn_ping "$CN_SEL" admin)
	check "cn: a listener selecting CN admin serves CN=admin" has "$out" 'HTTP/1.1 200'
	for c in two mv nul; do
		out=$(cn_ping "$CN_SEL" $c)
		check "cn: ... and refuses the handshake of $(subject $c)" \
			hasnt "$out" 'HTTP/1.1'
	done
	out=$(cn_ping "$CN_PROF" admin)
	check "cn: a profile selecting CN admin takes CN=admin" first_line_has "$out" '^HTTP/1.1 200'
	for c in two mv nul; do
		out=$(cn_ping "$CN_PROF" $c)
		check "cn: ... and not $(subject $c) (listener admission 403)" \
			sh -c "printf '%s' \"\$1\" | head -1 | grep -q '^HTTP/1.1 403' && printf '%s' \"\$1\" | grep -q 'client profile not allowed'" _ "$out"
	done
	# the log shows every CN, escaped, never a shortened one
	check "cn: a NUL byte in the CN is logged escaped" \
		wait_for 5 sh -c "grep '\"listener_name\":\"prof\"' '$T/cn.log' | grep -qF '\"client_cert_cn\":\"admin\\\\x00.evil\"'"
	check "cn: two CNs are both logged" \
		wait_for 5 sh -c "grep '\"listener_name\":\"prof\"' '$T/cn.log' | grep -qF '\"client_cert_cn\":\"admin\\\\,low\"'"
	check "cn: only the two CN=admin requests were logged as CN admin" \
		sh -c "[ \$(grep -c '\"client_cert_cn\":\"admin\"' '$T/cn.log') -eq 2 ]"
else
	fail "cn: the CN selector listeners start"
	cat "$T/cn.log"
fi
kill -TERM "$cnp"
wait "$cnp"

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
{ wait "$busyp"; } 2>/dev/null

# A unix client whose peer credentials cannot be read (a shim makes
# SO_PEERCRED fail) is not guessed into a profile while
# unix_peer_profiles are configured: 502, before the rules
if ldd "$SG" 2>/dev/null | grep -q libasan; then
	skip "nocred: the credential shim cannot load into a sanitized build"
else
	cat >"$T/nocred.yaml" <<YAML
listen:
  socket: $T/nocred.sock
upstream:
  socket: $DOCKER_SOCK
clients:
  unix_peer_profiles:
    - { profile: root, uids: [0] }
  default_profile: anyone
  profiles:
    - name: root
      rules:
        - { match: { method: GET, path: /_ping }, action: allow }
    - name: anyone
      rules:
        - { match: { method: GET, path: /_ping }, action: allow }
YAML
	if LD_PRELOAD=$SGTOOLS/nocred.so sg_start nocred "$T/nocred.yaml"; then
		r=$(raw nocred -w 3000 "GET /_ping HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n")
		check "nocred: unreadable peer credentials get 502 with profiles by uid" \
			sh -c "printf '%s' '$r' | head -1 | grep -q '^HTTP/1.1 502 ' && printf '%s' '$r' | grep -q 'client identity lookup failed'"
		check "nocred: ... logged with the reason" \
			wait_for 5 sh -c "grep -q 'peer credentials unreadable' '$T/nocred.log' && grep -q '\"reason_code\":\"client_identity_lookup_failed\"' '$T/nocred.log'"
		sg_stop nocred
	else
		fail "nocred: sockguard starts"
	fi
	cfg=$(write_cfg nocred2 'allow GET /_ping')
	if LD_PRELOAD=$SGTOOLS/nocred.so sg_start nocred2 "$cfg"; then
		r=$(raw nocred2 -w 3000 "GET /_ping HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n")
		check "nocred: ... without unix_peer_profiles they are not needed (200)" \
			sh -c "printf '%s' '$r' | head -1 | grep -q '^HTTP/1.1 200 '"
		sg_stop nocred2
	else
		fail "nocred: sockguard starts (no profiles)"
	fi
fi
