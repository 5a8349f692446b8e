# shellcheck shell=bash
# Tecnativa's docker-socket-proxy environment: sockguard in its place with
# the same variables (CONTAINERS=1, ALLOW_START=1, SOCKET_PATH, LOG_LEVEL)
# and no rules of its own, against the real daemon.

cat >"$T/compat.yaml" <<YAML
listen:
  socket: $T/compat.sock
YAML
if SOCKET_PATH=$DOCKER_SOCK CONTAINERS=1 ALLOW_START=1 ALLOW_STOP=true \
	LOG_LEVEL=NOTICE SOCKGUARD_INSECURE_ALLOW_READ_EXFILTRATION=true \
	sg_start compat "$T/compat.yaml"; then
	check "compat: the mode and its variables are logged" \
		sh -c "grep '\"msg\":\"tecnativa compatibility mode active\"' '$T/compat.log' | grep -q 'CONTAINERS=on ALLOW_START=on ALLOW_STOP=on'"
	check "compat: SOCKET_PATH names the upstream" \
		sh -c "grep '\"sockguard started\"' '$T/compat.log' | grep -q 'unix://$DOCKER_SOCK'"
	check "compat: the started record names the log level LOG_LEVEL mapped to" \
		sh -c "grep '\"sockguard started\"' '$T/compat.log' | grep -q '\"log_level\":\"info\"'"
	# (notice is no level of sockguard's: it started, so it was mapped)
	quiet sgd compat version
	check "compat: LOG_LEVEL=NOTICE reads as info (requests are logged)" \
		wait_for 5 grep -q '"level":"INFO","msg":"request"' "$T/compat.log"
	check "compat: CONTAINERS=1 lets docker ps through" quiet sgd compat ps -a
	dk create --name cpt --network none bb:latest sleep 300 >/dev/null
	check "compat: ALLOW_START=1: docker start" quiet sgd compat start cpt
	check "compat: ALLOW_STOP=true: docker stop" quiet sgd compat stop -t 1 cpt
	check "compat: ALLOW_DELETE unset: docker rm is refused (403)" \
		sh -c "! DOCKER_HOST=unix://$T/compat.sock docker rm cpt 2>'$T/compat-rm.err' && grep -q 'request denied by sockguard policy' '$T/compat-rm.err'"
	check "compat: IMAGES unset: docker images is refused" \
		sh -c "! DOCKER_HOST=unix://$T/compat.sock docker images >/dev/null 2>&1"
	check "compat: POST unset: docker pause is refused" \
		sh -c "! DOCKER_HOST=unix://$T/compat.sock docker pause cpt >/dev/null 2>&1"
	dk rm -f cpt >/dev/null 2>&1
	sg_stop compat
else
	fail "compat: sockguard starts with Tecnativa's variables"
fi

# the startup probes judge the rules the variables make: CONTAINERS=1
# opens container logs and archives, which needs the acknowledgement
SOCKET_PATH=$DOCKER_SOCK CONTAINERS=1 "$SG" check -c "$T/compat.yaml" >"$T/compat-noack.out" 2>&1
rc=$?
check "compat: CONTAINERS=1 without the read-exfiltration acknowledgement is refused" \
	sh -c "[ $rc -eq 1 ] && grep 'env:CONTAINERS: error: ' '$T/compat-noack.out' | grep -q insecure_allow_read_exfiltration"
# match judges with the variables' rules, and says it does
out=$(SOCKET_PATH=$DOCKER_SOCK PING=0 "$SG" match -c "$T/compat.yaml" -X GET --path /_ping -o json 2>/dev/null)
check "compat: match reports compat mode (json) and PING=0 denies /_ping" \
	sh -c "echo '$out' | grep -q '\"compat_mode\":true' && echo '$out' | grep -q '\"decision\":\"deny\"'"
out=$(SOCKET_PATH=$DOCKER_SOCK PING= "$SG" match -c "$T/compat.yaml" -X GET --path /_ping 2>&1)
check "compat: an empty PING= is present, and off (text shows the mode)" \
	sh -c "echo '$out' | grep -q '^Mode: *tecnativa compatibility (PING=off)' && echo '$out' | grep -q 'Decision: *deny' && echo '$out' | grep -q 'unparseable boolean value'"
# rules of one's own win: the variables are ignored
printf 'rules:\n  - { match: { method: GET, path: /info }, action: allow }\n' >>"$T/compat.yaml"
SOCKET_PATH=$DOCKER_SOCK CONTAINERS=1 "$SG" check -c "$T/compat.yaml" >"$T/compat-own.out" 2>&1
rc=$?
check "compat: with rules in the config the variables change nothing" \
	sh -c "[ $rc -eq 0 ] && ! grep -q tecnativa '$T/compat-own.out' && grep -q 'rules (1)' '$T/compat-own.out'"

# the variables apply again on every reload: rules written into the file
# take over, and taking them out brings the variables' rules back
cat >"$T/cr.yaml" <<YAML
listen:
  socket: $T/cr.sock
upstream:
  socket: $DOCKER_SOCK
reload: { enabled: true, debounce: 50ms }
YAML
cr_gen() { raw cr -w 2000 "GET /health HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n" | grep -o '"generation":[0-9]*' | cut -d: -f2; }
cr_gen_is() { [ "$(cr_gen)" = "$1" ]; }
if CONTAINERS=1 SOCKGUARD_INSECURE_ALLOW_READ_EXFILTRATION=true sg_start cr "$T/cr.yaml"; then
	check "compat reload: CONTAINERS=1 in effect" quiet sgd cr ps
	cp "$T/cr.yaml" "$T/cr.plain"
	printf 'rules:\n  - { match: { method: GET, path: /info }, action: allow }\n' >>"$T/cr.yaml"
	check "compat reload: rules written into the file are applied" wait_for 10 cr_gen_is 2
	cr_status() { raw cr -w 2000 "GET $1 HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n" | head -1 | cut -d' ' -f2; }
	check "compat reload: ... and replace the variables' rules" \
		sh -c "[ '$(cr_status /v1.41/containers/json)' = 403 ] && [ '$(cr_status /v1.41/info)' = 200 ]"
	cp "$T/cr.plain" "$T/cr.yaml"
	check "compat reload: taking them out again is applied" wait_for 10 cr_gen_is 3
	check "compat reload: ... and the variables' rules are back" quiet sgd cr ps
	sg_stop cr
else
	fail "compat reload: sockguard starts"
fi
