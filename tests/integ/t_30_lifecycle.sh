# shellcheck shell=bash
# Process lifecycle: startup checks, signals, socket files, config errors.

cfg=$(write_cfg life 'allow GET /_ping
deny * /**')
sg_start life "$cfg" || { fail "life: sockguard starts"; return; }
check "life: socket file has mode 0600" sh -c "[ \$(stat -c %a '$T/life.sock') = 600 ]"

# a second instance must not steal the live socket
"$SG" run -c "$cfg" >"$T/life2.log" 2>&1
check "life: a live socket is not stolen" sh -c "grep -q 'actively serving another process' '$T/life2.log'"

pid=$(cat "$T/life.pid")
kill -TERM "$pid"
wait "$pid"
rc=$?
check "life: SIGTERM exits 0" [ "$rc" -eq 0 ]
check "life: the socket file is removed on exit" test ! -e "$T/life.sock"

# stale socket file (a crashed instance left it; nothing listens)
sg_start life "$cfg" || fail "life: restart"
kill -KILL "$(cat "$T/life.pid")"
wait "$(cat "$T/life.pid")" 2>/dev/null
check "life: SIGKILL leaves a stale socket file" test -S "$T/life.sock"
if sg_start life "$cfg"; then
	r=$(raw life -w 3000 "GET /_ping HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n")
	check "life: a stale socket file is replaced and serves" \
		sh -c "printf '%s' '$r' | grep -q '^HTTP/1.1 200'"
else
	fail "life: a stale socket file is replaced"
fi
sg_stop life

# max_connections: accepting pauses at the bound and resumes below it
cat >"$T/maxc.yaml" <<YAML
listen:
  socket: $T/maxc.sock
  max_connections: 2
upstream:
  socket: $DOCKER_SOCK
YAML
sg_start maxc "$T/maxc.yaml" || fail "maxc: starts"
raw maxc -w 4000 "GET /_ping HTTP/1.1\r\nHost: d\r\n\r\n" >"$T/maxc1.out" &
m1=$!
raw maxc -w 4000 "GET /_ping HTTP/1.1\r\nHost: d\r\n\r\n" >"$T/maxc2.out" &
m2=$!
wait_for 5 sh -c "grep -q 'HTTP/1.1 200' '$T/maxc1.out' && grep -q 'HTTP/1.1 200' '$T/maxc2.out'"
raw maxc -w 1000 "GET /_ping HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n" >"$T/maxc3.out"
check "maxc: a third connection waits while two are open" sh -c "! grep -q 'HTTP/1.1 200' '$T/maxc3.out'"
check "maxc: the bound is logged" wait_for 5 contains "$T/maxc.log" "max_connections (2) reached"
wait "$m1" "$m2"
r=$(raw maxc -w 3000 "GET /_ping HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n")
check "maxc: accepting resumes when connections close" sh -c "printf '%s' '$r' | grep -q '^HTTP/1.1 200'"
sg_stop maxc

# The socket file swapped for a symlink to another file between bind and
# the owner change (a directory others can write to; strace delays the
# return from bind to open the window): sockguard refuses to start, and
# the other file keeps its owner and mode
printf 'secret\n' >"$T/victim"
chmod 0600 "$T/victim"
cat >"$T/swap.yaml" <<YAML
listen:
  socket: $T/swap.sock
  socket_mode: "0660"
  socket_gid: 65534
upstream:
  socket: $DOCKER_SOCK
YAML
strace -o /dev/null -e trace=bind -e inject=bind:delay_exit=1500000 \
	"$SG" run -c "$T/swap.yaml" >"$T/swap.log" 2>&1 &
swp=$!
if wait_for 10 test -S "$T/swap.sock"; then
	rm -f "$T/swap.sock"
	ln -s "$T/victim" "$T/swap.sock"
	if wait_for 10 sh -c "! kill -0 $swp 2>/dev/null"; then
		wait "$swp"
		rc=$?
	else
		rc=running # it started: stop it (strace would leave it behind)
		pkill -f "run -c $T/swap.yaml"
		wait "$swp"
	fi
	check "socket swapped after bind: startup refused (exit $rc)" \
		sh -c "[ '$rc' = 1 ] && grep -q 'changed after bind' '$T/swap.log'"
	check "socket swapped after bind: the other file keeps owner and mode" \
		[ "$(stat -c '%u:%g %a' "$T/victim")" = "0:0 600" ]
else
	kill "$swp" 2>/dev/null
	fail "socket swapped after bind: the socket appears"
fi
rm -f "$T/swap.sock"

# max_connections is each listener's own: a full listener pauses alone
cat >"$T/maxl.yaml" <<YAML
listeners:
  - name: small
    socket: $T/maxl.sock
    max_connections: 1
    allowed_profiles: ["*"]
  - name: big
    socket: $T/maxl2.sock
    allowed_profiles: ["*"]
upstream:
  socket: $DOCKER_SOCK
YAML
sg_start maxl "$T/maxl.yaml" || fail "maxl: starts"
raw maxl -w 4000 "GET /_ping HTTP/1.1\r\nHost: d\r\n\r\n" >"$T/maxl1.out" &
m1=$!
wait_for 5 grep -q 'HTTP/1.1 200' "$T/maxl1.out"
r=$(raw maxl2 -w 2000 "GET /_ping HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n")
check "maxl: another listener serves while one is at its max_connections" sh -c "printf '%s' '$r' | grep -q '^HTTP/1.1 200'"
r=$(raw maxl2 -w 2000 "GET /health HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n")
check "health: listeners are listed by name (big before small, not in config order)" \
	sh -c "printf '%s' '$r' | grep -q '\"listeners\":\[{\"name\":\"big\",[^]]*{\"name\":\"small\"'"
raw maxl -w 1000 "GET /_ping HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n" >"$T/maxl3.out"
check "maxl: ... and the full one does not accept" sh -c "! grep -q 'HTTP/1.1 200' '$T/maxl3.out'"
check "maxl: the log names the full listener" wait_for 5 contains "$T/maxl.log" "max_connections (1) reached on unix:$T/maxl.sock"
wait "$m1"
r=$(raw maxl -w 3000 "GET /_ping HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n")
check "maxl: ... until its connection closes" sh -c "printf '%s' '$r' | grep -q '^HTTP/1.1 200'"
sg_stop maxl

# unreachable upstream at startup: clear error, exit 1
cat >"$T/noup.yaml" <<YAML
listen:
  socket: $T/noup.sock
upstream:
  socket: $T/does-not-exist.sock
YAML
"$SG" run -c "$T/noup.yaml" >"$T/noup.log" 2>&1
rc=$?
check "life: missing upstream socket fails startup with exit 1" [ "$rc" -eq 1 ]
check "life: ... naming the socket" contains "$T/noup.log" "upstream socket not found ($T/does-not-exist.sock)"

# sockguard check reports every error with file:line:col
cat >"$T/bad.yaml" <<'YAML'
listen:
  sokcet: /tmp/x.sock
  socket_mode: "0644"
log:
  level: loud
rules:
  - match: { method: GET, path: "/containers/%2e" }
    action: allow
YAML
"$SG" check -c "$T/bad.yaml" >"$T/bad.out" 2>&1
rc=$?
check "check: invalid config exits 1" [ "$rc" -eq 1 ]
check "check: unknown key with suggestion and location" \
	sh -c "grep -q 'bad.yaml:2:3: .*listen.sokcet.*listen.socket' '$T/bad.out'"
check "check: every error at once" sh -c "[ \$(grep -c 'error' '$T/bad.out') -ge 4 ]"
check "check: the shipped example config is valid" "$SG" check -q -c "$ROOT/examples/sockguard.yaml"

# BuildKit tunnels are opaque: rules that allow them need the
# acknowledgement, and with it check warns
cfg=$(write_cfg bk 'allow GET /_ping
allow * /**' 'insecure_allow_read_exfiltration: true')
"$SG" check -c "$cfg" >"$T/bk.out" 2>&1
rc=$?
check "check: rules that allow BuildKit tunnels need the acknowledgement (exit 1)" [ "$rc" -eq 1 ]
check "check: ... the error names the rule's line and the setting" \
	sh -c "grep 'bk.rules:2:' '$T/bk.out' | grep 'POST /session, POST /grpc' | grep -q 'insecure_accept_opaque_buildkit_tunnels: true'"
SOCKGUARD_INSECURE_ACCEPT_OPAQUE_BUILDKIT_TUNNELS=true "$SG" check -c "$cfg" >"$T/bk2.out" 2>&1
rc=$?
check "check: ... acknowledged through the environment it passes with a warning" \
	sh -c "[ $rc -eq 0 ] && grep -q 'warning: .*opaque HTTP/2 tunnels' '$T/bk2.out'"
