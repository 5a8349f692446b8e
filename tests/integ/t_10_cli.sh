# shellcheck shell=bash
# The stock docker CLI through sockguard to the real daemon.

RULES_OPEN='# what the CLI tests need, then default deny
allow GET,HEAD /_ping
allow GET /version
allow GET /info
allow GET /events
allow GET /images/json
allow * /containers/**
allow * /exec/**
deny * /**'
cfg=$(write_cfg cli "$RULES_OPEN" "insecure_allow_read_exfiltration: true")
sg_start cli "$cfg" || { fail "cli: sockguard starts"; return; }

check "cli: docker version reaches the daemon" \
	sh -c "DOCKER_HOST=unix://$T/cli.sock docker version --format '{{.Server.Version}}' | grep -q ."
check "cli: docker info" sh -c "DOCKER_HOST=unix://$T/cli.sock docker info --format '{{.ID}}' | grep -q ."
check "cli: docker ps" quiet sgd cli ps
check "cli: docker images lists the test image" sh -c "DOCKER_HOST=unix://$T/cli.sock docker images | grep -q bb"
check "cli: docker run --rm echo" sh -c "DOCKER_HOST=unix://$T/cli.sock docker run --rm --network none bb:latest echo hi-through-proxy | grep -qx hi-through-proxy"
check "cli: docker run -i with stdin" sh -c "echo piped-in | DOCKER_HOST=unix://$T/cli.sock docker run -i --rm --network none bb:latest cat | grep -qx piped-in"

# run -d + logs -f: lines arrive while the container is still running
sgd cli run -d --name ticker --network none bb:latest \
	sh -c 'i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.2; done' >/dev/null
DOCKER_HOST=unix://$T/cli.sock docker logs -f ticker >"$T/logs-f.out" 2>&1 &
logs_pid=$!
check "cli: logs -f streams lines while the container runs" \
	wait_for 15 contains "$T/logs-f.out" "tick 5"
check "cli: logs -f is still following" kill -0 "$logs_pid"
n1=$(wc -l <"$T/logs-f.out")
check "cli: logs -f keeps delivering" wait_for 10 sh -c "[ \$(wc -l <'$T/logs-f.out') -gt $((n1 + 2)) ]"
kill "$logs_pid" 2>/dev/null
wait "$logs_pid" 2>/dev/null

check "cli: docker stats --no-stream" sh -c "DOCKER_HOST=unix://$T/cli.sock docker stats --no-stream ticker | grep -q ticker"
DOCKER_HOST=unix://$T/cli.sock docker stats --format '{{.Name}} {{.PIDs}}' ticker >"$T/stats.out" 2>&1 &
stp=$!
check "cli: docker stats streams repeated samples" \
	wait_for 15 sh -c "[ \$(grep -c ticker '$T/stats.out') -ge 2 ]"
# docker stats ignores SIGTERM; the group also takes the "Killed" notice
{ kill -KILL "$stp"; wait "$stp"; } 2>/dev/null

# the pre-upgrade API form of attach: 200, then a raw stream
# (the stream's frame headers hold NUL bytes, which a shell variable drops)
r=$(timeout 3 "$SGRAW" -u "$T/cli.sock" -w 3000 "POST /v1.41/containers/ticker/attach?stream=1&stdout=1 HTTP/1.1\r\nHost: d\r\nContent-Length: 0\r\n\r\n" | tr -d '\000')
check "cli: attach without Upgrade gets 200 and the raw stream" \
	sh -c "printf '%s' '$r' | head -1 | grep -q '^HTTP/1.1 200' && printf '%s' '$r' | grep -q 'tick'"

# attach over a websocket: the protocol switch reaches the daemon, its 101
# (with the key's accept value) comes back, and then the frames
WS='Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n'
timeout 10 "$SGRAW" -u "$T/cli.sock" -w 5000 "GET /v1.41/containers/ticker/attach/ws?logs=1&stream=0&stdout=1 HTTP/1.1\r\nHost: d\r\n$WS\r\n" >"$T/ws-logs.out"
check "cli: attach/ws switches to a websocket (101, accept value)" \
	sh -c "head -1 '$T/ws-logs.out' | grep -q '^HTTP/1.1 101' && grep -qi '^Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=' '$T/ws-logs.out'"
check "cli: attach/ws delivers the logged output as frames and ends" \
	sh -c "grep -a -q 'tick 1' '$T/ws-logs.out'"
"$SGRAW" -u "$T/cli.sock" -w 30000 "GET /v1.41/containers/ticker/attach/ws?stream=1&stdout=1 HTTP/1.1\r\nHost: d\r\n$WS\r\n" >"$T/ws-live.out" &
ws_pid=$!
check "cli: attach/ws streams live output" \
	wait_for 15 sh -c "grep -a -c 'tick' '$T/ws-live.out' | grep -qv '^[01]$'"
kill "$ws_pid" 2>/dev/null
wait "$ws_pid" 2>/dev/null
check "cli: attach/ws is logged as a protocol switch" \
	wait_for 5 sh -c "grep '\"path\":\"/v1.41/containers/ticker/attach/ws' '$T/cli.log' | grep -q '\"status\":101'"
# stdin over a websocket writes to the container: where the rules allow
# it (POST .../attach too) typed input reaches the container's stdin ...
sgd cli run -di --name wsin --network none bb:latest cat >/dev/null
timeout 10 "$SGRAW" -u "$T/cli.sock" -w 2000 -p 300 "GET /v1.41/containers/wsin/attach/ws?stream=1&stdin=1&stdout=1 HTTP/1.1\r\nHost: d\r\n$WS\r\n" '\x81\x8b\0\0\0\0ws-stdin-1\n' >"$T/ws-in.out"
check "cli: attach/ws with stdin: typed input comes back from cat" \
	sh -c "head -1 '$T/ws-in.out' | grep -q '^HTTP/1.1 101' && grep -a -q 'ws-stdin-1' '$T/ws-in.out'"
# ... and below API 1.42 the daemon attaches stdin whatever the query
# says (this daemon speaks 1.41): stdin=0 still delivers typed input
timeout 10 "$SGRAW" -u "$T/cli.sock" -w 2000 -p 300 "GET /v1.41/containers/wsin/attach/ws?stream=1&stdin=0&stdout=1 HTTP/1.1\r\nHost: d\r\n$WS\r\n" '\x81\x8b\0\0\0\0ws-stdin-2\n' >"$T/ws-in0.out"
check "cli: attach/ws below API 1.42 takes stdin even with stdin=0" \
	sh -c "head -1 '$T/ws-in0.out' | grep -q '^HTTP/1.1 101' && grep -a -q 'ws-stdin-2' '$T/ws-in0.out'"
# so a policy that allows only GETs under /containers/ refuses a
# websocket attach below 1.42 or without a version, and from 1.42 on
# whenever the query could ask for stdin, however it is spelled
cfg=$(write_cfg wsro 'allow GET,HEAD /_ping
allow GET /containers/**
deny * /**' "insecure_allow_read_exfiltration: true
response:
  deny_verbosity: verbose")
if sg_start wsro "$cfg"; then
	mark=$(dk_mark)
	for t in "/v1.41/containers/wsin/attach/ws?stream=1&stdout=1&stdin=0" \
		"/v1.30/containers/wsin/attach/ws?stream=1&stdout=1" \
		"/containers/wsin/attach/ws?stream=1&stdout=1&stdin=0" \
		"/v1.42/containers/wsin/attach/ws?stream=1&stdout=1&stdin=1" \
		"/v1.42/containers/wsin/attach/ws?stdin=true" \
		"/v1.42/containers/wsin/attach/ws?STDIN=1" \
		"/v1.42/containers/wsin/attach/ws?std%69n=1" \
		"/v1.42/containers/wsin/attach/ws?stdin=%31" \
		"/v1.42/containers/wsin/attach/ws?stdin=+1+" \
		"/v1.42/containers/wsin/attach/ws?stdin=0&stdin=1" \
		"/v1.42/containers/wsin/attach/ws?a=0;stdin=1" \
		"/v1.42/containers/wsin/attach/ws?stdin=%zz"; do
		"$SGRAW" -u "$T/wsro.sock" -w 500 "GET $t HTTP/1.1\r\nHost: d\r\n$WS\r\n" >"$T/wsro.out"
		check "cli: GET-only policy: GET $t is refused (403, names the rule to add)" \
			sh -c "head -1 '$T/wsro.out' | grep -q '^HTTP/1.1 403' && grep -q 'POST /containers/{id}/attach' '$T/wsro.out'"
	done
	check "cli: GET-only policy: the refused attaches never reached the daemon" \
		sh -c "! (tail -n +$((mark + 1)) '$DK/dockerd.log' | grep Calling | grep -q attach/ws)"
	# from 1.42 on with stdin off the guard lets it through: this 1.41
	# daemon then answers itself (version too new), not sockguard
	for q in "stdin=0" "stdin=no" "stdin=" "stdin" "stdinx=1"; do
		"$SGRAW" -u "$T/wsro.sock" -w 1500 "GET /v1.42/containers/ticker/attach/ws?stream=1&stdout=1&$q HTTP/1.1\r\nHost: d\r\n$WS\r\n" >"$T/wsro.out"
		check "cli: GET-only policy: /v1.42/ attach/ws?...&$q (no stdin) goes to the daemon" \
			sh -c "head -1 '$T/wsro.out' | grep -q '^HTTP/1.1 400' && grep -q 'too new' '$T/wsro.out'"
	done
	check "cli: GET-only policy: the refusal is logged with its reason code" \
		wait_for 5 contains "$T/wsro.log" '"reason_code":"attach_stdin_not_allowed"'
	sg_stop wsro
else
	fail "cli: wsro: sockguard starts"
fi

check "cli: exec" sh -c "DOCKER_HOST=unix://$T/cli.sock docker exec ticker echo exec-ok | grep -qx exec-ok"
check "cli: exec -i delivers stdin and EOF" sh -c "printf 'line1\nline2\n' | DOCKER_HOST=unix://$T/cli.sock docker exec -i ticker cat | tr '\n' , | grep -qx 'line1,line2,'"
check "cli: exec -i output after stdin EOF still arrives (half-close)" \
	sh -c "echo in | DOCKER_HOST=unix://$T/cli.sock docker exec -i ticker sh -c 'cat; echo after-eof' | grep -qx after-eof"

# attach: output of a running container reaches the attached client
sgd cli run -d --name att --network none bb:latest \
	sh -c 'sleep 1; for i in 1 2 3 4 5; do echo att$i; sleep 0.2; done' >/dev/null
check "cli: attach receives the container's output" \
	sh -c "DOCKER_HOST=unix://$T/cli.sock timeout 20 docker attach att | grep -q att5"

# events: an event arrives for a container created meanwhile
mark=$(dk_mark)
DOCKER_HOST=unix://$T/cli.sock docker events --filter type=container \
	--format '{{.Action}} {{.Actor.Attributes.name}}' >"$T/events.out" 2>&1 &
ev_pid=$!
wait_for 10 dk_saw_since "$mark" "/events"
sgd cli create --name evtarget --network none bb:latest true >/dev/null
check "cli: events stream delivers an event for a new container" \
	wait_for 15 contains "$T/events.out" "create evtarget"
kill "$ev_pid" 2>/dev/null
wait "$ev_pid" 2>/dev/null

# An attach whose client goes away for good while the container keeps
# running (the daemon keeps its side open): the tunnel ends at once, is
# logged, and costs no CPU meanwhile (the hangup must not be reported to
# an idle loop again and again)
hid=$(sgd cli run -d --network none bb:latest sleep 120)
sgpid=$(cat "$T/cli.pid")
"$SGRAW" -u "$T/cli.sock" -w 500 "POST /v1.41/containers/$hid/attach?stream=1&stdin=1&stdout=1&stderr=1 HTTP/1.1\r\nHost: d\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n" >"$T/hup.out"
t0=$(awk '{print $14+$15}' "/proc/$sgpid/stat")
check "cli: an attach whose client hung up is logged at once (the tunnel ended)" \
	wait_for 3 sh -c "grep '\"path\":\"/v1.41/containers/$hid/attach' '$T/cli.log' | grep -q '\"status\":101'"
sleep 1 # a window to measure CPU over, not a wait for a condition
t1=$(awk '{print $14+$15}' "/proc/$sgpid/stat")
check "cli: ... and the proxy stays idle after the hangup ($((t1 - t0)) ticks in about a second)" \
	[ $((t1 - t0)) -lt 30 ]
sgd cli rm -f "$hid" >/dev/null

check "cli: rm -f" quiet sgd cli rm -f ticker att evtarget wsin
check "cli: containers are gone" sh -c "! DOCKER_HOST=unix://$T/cli.sock docker ps -a --format '{{.Names}}' | grep -q ticker"

# a denied operation: sockguard's message, and the daemon never sees it
cfg=$(write_cfg strict 'deny POST /containers/**/exec "exec is not allowed"
allow GET,HEAD /_ping
allow GET /version
allow * /containers/**
deny * /**' "insecure_allow_read_exfiltration: true
response:
  deny_verbosity: verbose")
sg_start strict "$cfg" || { fail "strict: sockguard starts"; return; }
sgd strict run -d --name victim --network none bb:latest sleep 60 >/dev/null
mark=$(dk_mark)
out=$(sgd strict exec victim echo nope 2>&1)
check "deny: docker exec prints sockguard's 403 message" \
	sh -c "echo '$out' | grep -q 'request denied by sockguard policy'"
r=$(raw strict -w 3000 "POST /v1.41/containers/victim/exec HTTP/1.1\r\nHost: d\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}")
check "deny: verbose deny body names method, path and reason" \
	sh -c "printf '%s' '$r' | grep -qF '\"method\":\"POST\",\"path\":\"/v1.41/containers/victim/exec\",\"reason\":\"exec is not allowed\"'"
r=$(raw strict -w 3000 "POST /v1.40.0.1/containers/victim/exec HTTP/1.1\r\nHost: d\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: 24\r\n\r\n{\"Cmd\":[\"echo\",\"pwned\"]}")
check "deny: a version prefix the daemon strips but the rules would not (/v1.40.0.1/) gets 400" \
	sh -c "printf '%s' '$r' | head -1 | grep -q '^HTTP/1.1 400 '"
check "deny: the daemon never saw the exec request" \
	sh -c "! tail -n +$((mark + 1)) '$DK/dockerd.log' | grep Calling | grep -q '/exec'"
check "deny: access log records the denial with its rule" \
	wait_for 5 sh -c "grep '\"msg\":\"request_denied\"' '$T/strict.log' | grep '/exec' | grep -q '\"rule\":0'"
check "deny: images are denied by the default-deny tail" \
	sh -c "! DOCKER_HOST=unix://$T/strict.sock docker images 2>&1 | grep -q REPOSITORY"
sgd strict rm -f victim >/dev/null

# a config read from a pipe (bash <(...), /dev/stdin) is the file's
# content, not an empty file that would load the built-in defaults
cat >"$T/piped.yaml" <<YAML
listen:
  socket: $T/piped.sock
upstream:
  socket: $DOCKER_SOCK
rules:
  - match: {method: GET, path: /_ping}
    action: allow
YAML
"$SG" check -c <(cat "$T/piped.yaml") >"$T/piped.out" 2>&1
check "check -c <(cat file): validates the file's listener, not the defaults" \
	sh -c "grep -qF 'listener default: unix $T/piped.sock' '$T/piped.out' && ! grep -q '127.0.0.1:2375' '$T/piped.out'"
check "check -c <(cat file): the file's rules, located in the pipe" \
	grep -qE 'allow GET +/_ping +\(/dev/fd/[0-9]+:6\)' "$T/piped.out"
check "check -c /dev/stdin reads the config from a pipe on stdin" \
	sh -c "cat '$T/piped.yaml' | '$SG' check -c /dev/stdin | grep -qF 'listener default: unix $T/piped.sock'"
printf 'rules:\n  - match: {method: "POST PUT", path: /x}\n    action: deny\n' \
	>"$T/piped-bad.yaml"
"$SG" check -q -c <(cat "$T/piped-bad.yaml") >"$T/piped-bad.out" 2>&1
echo "rc=$?" >>"$T/piped-bad.out"
check "check -c <(cat file): errors in the piped config fail the check" \
	sh -c "grep -q 'is not an HTTP method name' '$T/piped-bad.out' && grep -qx 'rc=1' '$T/piped-bad.out'"
