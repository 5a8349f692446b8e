# shellcheck shell=bash
# Hot reload: rules change under load without a failed request; streams
# survive; immutable fields, broken files and deleted files are refused
# while the old config keeps serving; request_timeout applies live.

RL=$T/rl.yaml
# rl_write FILE INFO_ACTION [EXTRA] [UPSTREAM_EXTRA]: the reload test config
rl_write() {
	cat >"$1" <<YAML
listen:
  socket: $T/rl.sock
upstream:
  socket: $DOCKER_SOCK
${4:-}
reload:
  enabled: true
  debounce: 50ms
insecure_allow_read_exfiltration: true
rules:
  - { match: { method: "GET,HEAD", path: /_ping }, action: allow }
  - { match: { method: GET, path: /version }, action: allow }
  - { match: { method: GET, path: /events }, action: allow }
  - { match: { method: GET, path: /info }, action: $2 }
  - { match: { method: "*", path: "/containers/**" }, action: allow }
  - { match: { method: "*", path: "/exec/**" }, action: allow }
  - { match: { method: "*", path: "/**" }, action: deny }
${3:-}
YAML
}
generation() { raw rl -w 2000 "GET /health HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n" | grep -o '"generation":[0-9]*' | cut -d: -f2; }
gen_is() { [ "$(generation)" = "$1" ]; }
result_count() { grep -c "\"result\":\"$1\"" "$T/rl.log"; }
info_status() { raw rl -w 2000 "GET /info HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n" | head -1 | cut -d' ' -f2; }

rl_write "$RL" allow
sg_start rl "$RL" || { fail "reload: starts"; return; }
check "reload: generation 1 at startup" gen_is 1
sha=$(sha256sum "$RL" | cut -d' ' -f1)
check "reload: /health reports the SHA-256 of the config bytes" \
	sh -c "raw() { '$SGRAW' -u '$T/rl.sock' \"\$@\"; }; raw -w 2000 'GET /health HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n' | grep -q '\"config_sha256\":\"$sha\"'"

# load: docker ps in a loop, and keep-alive raw requests in a loop
: >"$T/load-fail"
: >"$T/load-ok"
(
	while [ ! -e "$T/load-stop" ]; do
		if DOCKER_HOST=unix://$T/rl.sock docker ps >/dev/null 2>&1; then
			echo ok >>"$T/load-ok"
		else
			echo "docker ps failed" >>"$T/load-fail"
		fi
	done
) &
lp1=$!
(
	urls=()
	for _ in $(seq 20); do urls+=(-o /dev/null http://d/_ping); done
	while [ ! -e "$T/load-stop" ]; do
		curl -s --unix-socket "$T/rl.sock" -w '%{http_code}\n' "${urls[@]}" |
			grep -v '^200$' | sed 's/^/curl status /' >>"$T/load-fail"
	done
) &
lp2=$!

# an events stream and an exec -i session held open across every reload
mark=$(dk_mark)
DOCKER_HOST=unix://$T/rl.sock docker events --filter type=container \
	--format '{{.Action}} {{.Actor.Attributes.name}}' >"$T/rl-events.out" 2>&1 &
evp=$!
wait_for 10 dk_saw_since "$mark" "/events"
sgd rl run -d --name rlx --network none bb:latest sleep 600 >/dev/null
mkfifo "$T/rl-in"
DOCKER_HOST=unix://$T/rl.sock docker exec -i rlx sh -c 'while read l; do echo "got:$l"; done' \
	<"$T/rl-in" >"$T/rl-exec.out" 2>&1 &
exp=$!
exec 7>"$T/rl-in"

ok_all=true
for i in $(seq 1 20); do
	if [ $((i % 2)) -eq 1 ]; then want=403 act=deny; else want=200 act=allow; fi
	rl_write "$RL.tmp" "$act" "# change $i"
	if [ $((i % 3)) -eq 0 ]; then
		cat "$RL.tmp" >"$RL" # in-place write
		rm -f "$RL.tmp"
	else
		mv "$RL.tmp" "$RL" # editor-style rename-replace
	fi
	if ! wait_for 10 gen_is $((i + 1)); then
		ok_all=false
		echo "# reload $i was not applied (generation $(generation))"
		break
	fi
	got=$(info_status)
	if [ "$got" != "$want" ]; then
		ok_all=false
		echo "# after reload $i GET /info answered $got, expected $want"
	fi
	echo "line$i" >&7
done
check "reload: 20 rule changes applied, each effective for the next request" $ok_all
touch "$T/load-stop"
wait "$lp1" "$lp2"
check "reload: zero failed requests under load" sh -c "[ ! -s '$T/load-fail' ]"
[ -s "$T/load-fail" ] && head -5 "$T/load-fail"
check "reload: the load really ran" sh -c "[ \$(wc -l <'$T/load-ok') -ge 5 ]"
check "reload: the exec -i session survived every reload" \
	wait_for 10 sh -c "[ \$(grep -c '^got:line' '$T/rl-exec.out') -eq 20 ]"
exec 7>&-
wait "$exp"
check "reload: the exec -i session ends cleanly on stdin EOF" [ $? -eq 0 ]
sgd rl create --name rlafter --network none bb:latest true >/dev/null
check "reload: the events stream survived every reload" \
	wait_for 10 contains "$T/rl-events.out" "create rlafter"
kill "$evp" 2>/dev/null
{ wait "$evp"; } 2>/dev/null
check "reload: each applied reload logged its diff" \
	wait_for 5 sh -c "grep '\"msg\":\"config change\"' '$T/rl.log' | grep -q 'rules\\|rule 4\\|/info'"

g=$(generation)
# SIGHUP without a change
kill -HUP "$(cat "$T/rl.pid")"
check "reload: SIGHUP with no change is 'unchanged'" wait_for 10 sh -c "[ \$(grep -c '\"result\":\"unchanged\"' '$T/rl.log') -ge 1 ]"
check "reload: ... and the generation stays" gen_is "$g"
# a comment added: the same config in other bytes, so still unchanged,
# but /health reports the hash of the file as it is now
n=$(result_count unchanged)
printf '# a comment\n' >>"$RL"
sha=$(sha256sum "$RL" | cut -d' ' -f1)
check "reload: a comment-only edit is 'unchanged' ..." \
	wait_for 10 sh -c "[ \$(grep -c '\"result\":\"unchanged\"' '$T/rl.log') -gt $n ]"
check "reload: ... keeps the generation" gen_is "$g"
check "reload: ... and /health shows the SHA-256 of the file as it is now" \
	sh -c "'$SGRAW' -u '$T/rl.sock' -w 2000 'GET /health HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n' | grep -q '\"config_sha256\":\"$sha\"'"

# immutable fields are refused by name; the old config keeps serving
n=$(result_count rejected_immutable)
rl_write "$RL" allow "" "  failover:
    health_interval: 3s"
check "reload: changing upstream.failover.health_interval is refused" \
	wait_for 10 sh -c "[ \$(grep -c '\"result\":\"rejected_immutable\"' '$T/rl.log') -gt $n ]"
check "reload: ... naming the field and 'needs a restart'" \
	wait_for 5 sh -c "grep 'reload-immutable field changed' '$T/rl.log' | grep -q 'upstream.failover.health_interval.*needs a restart'"
n=$(result_count rejected_immutable)
rl_write "$RL" allow
sed -i "s|socket: $T/rl.sock|socket: $T/rl-other.sock|" "$RL"
check "reload: changing listen.socket is refused by name" \
	wait_for 10 sh -c "[ \$(grep -c '\"result\":\"rejected_immutable\"' '$T/rl.log') -gt $n ] && grep 'reload-immutable' '$T/rl.log' | grep -q 'listen.socket'"
n=$(result_count rejected_immutable)
rl_write "$RL" allow "" "  endpoints:
    - address: unix://$DOCKER_SOCK"
check "reload: changing upstream.endpoints is refused by name" \
	wait_for 10 sh -c "[ \$(grep -c '\"result\":\"rejected_immutable\"' '$T/rl.log') -gt $n ] && grep 'reload-immutable' '$T/rl.log' | grep -q 'upstream.endpoints'"
n=$(result_count rejected_immutable)
rl_write "$RL" allow "health:
  path: /hc"
check "reload: changing health.path is refused by name (the health block is reload-immutable)" \
	wait_for 10 sh -c "[ \$(grep -c '\"result\":\"rejected_immutable\"' '$T/rl.log') -gt $n ] && grep 'reload-immutable' '$T/rl.log' | grep -q 'health.path'"
check "reload: the old config still serves after refusals" gen_is "$g"

# broken YAML and a deleted file: refused, old config serving
n=$(result_count rejected_invalid)
printf 'rules: [ { match: \n' >"$RL"
check "reload: broken YAML is refused" wait_for 10 sh -c "[ \$(grep -c '\"result\":\"rejected_invalid\"' '$T/rl.log') -gt $n ]"
check "reload: ... with its location" wait_for 5 sh -c "grep 'config reload: invalid config' '$T/rl.log' | grep -q 'rl.yaml:'"
n=$(result_count rejected_unreadable)
: >"$RL"
check "reload: an emptied config file is refused (no fallback to defaults)" \
	wait_for 10 sh -c "[ \$(grep -c '\"result\":\"rejected_unreadable\"' '$T/rl.log') -gt $n ]"
check "reload: ... and the old rules still apply" [ "$(info_status)" = 200 ]
n=$(result_count rejected_invalid)
printf '# emptied down to a comment\n' >"$RL"
check "reload: a config emptied down to a comment is refused (no fallback to the default rules)" \
	wait_for 10 sh -c "[ \$(grep -c '\"result\":\"rejected_invalid\"' '$T/rl.log') -gt $n ] && grep -q 'built-in default rules; a reload does not replace' '$T/rl.log'"
check "reload: ... and the old rules still apply" [ "$(info_status)" = 200 ]
n=$(result_count rejected_unreadable)
rm -f "$RL"
check "reload: a deleted file is refused (no fallback to defaults)" \
	wait_for 10 sh -c "[ \$(grep -c '\"result\":\"rejected_unreadable\"' '$T/rl.log') -gt $n ]"
check "reload: ... and the old rules still apply" [ "$(info_status)" = 200 ]
n=$(result_count rejected_unreadable)
mkfifo "$RL"
kill -HUP "$(cat "$T/rl.pid")"
check "reload: a FIFO in the config's place is refused, not waited on" \
	wait_for 10 sh -c "[ \$(grep -c '\"result\":\"rejected_unreadable\"' '$T/rl.log') -gt $n ]"
check "reload: ... and requests are still answered" [ "$(info_status)" = 200 ]
rm -f "$RL"

# request_timeout is reload-mutable: a slow request now times out
rl_write "$RL.tmp" allow "" "  request_timeout: 1s"
mv "$RL.tmp" "$RL"
check "reload: request_timeout applies without a restart" wait_for 10 gen_is $((g + 1))
cid=$(sgd rl run -d --network none bb:latest sleep 600)
t0=$SECONDS
r=$(raw rl -w 15000 "POST /v1.41/containers/$cid/stop?t=10 HTTP/1.1\r\nHost: d\r\nContent-Length: 0\r\n\r\n")
check "reload: a slow request now gets 504 after the new timeout" \
	sh -c "printf '%s' '$r' | head -1 | grep -q '^HTTP/1.1 504' && printf '%s' '$r' | grep -q 'upstream request timed out' && [ $((SECONDS - t0)) -le 5 ]"
sgd rl rm -f rlx rlafter "$cid" >/dev/null 2>&1

# The rules file is watched where it was loaded from: here the config is
# given as a relative path with a directory (conf/sg.yaml) and names its
# rules file relative to itself. A reload that names another rules file
# moves the watch there, and the warnings of an applied reload are logged
# as they are at startup.
mkdir -p "$T/rf/conf/sub"
rf_cfg() {
	cat >"$T/rf/conf/sg.yaml.tmp" <<YAML
listen:
  socket: $T/rf.sock
upstream:
  socket: $DOCKER_SOCK
reload:
  enabled: true
  debounce: 50ms
rules_file: $1
YAML
	mv "$T/rf/conf/sg.yaml.tmp" "$T/rf/conf/sg.yaml"
}
rf_status() { raw rf -w 2000 "GET $1 HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n" | head -1 | cut -d' ' -f2; }
printf 'allow GET /_ping\ndeny * /**\n' >"$T/rf/conf/r.rules"
rf_cfg r.rules
pushd "$T/rf" >/dev/null || return
sg_start rf conf/sg.yaml
popd >/dev/null || return
check "rules file: denied before it changes" [ "$(rf_status /version)" = 403 ]
printf 'allow GET /_ping\nallow GET /version\ndeny * /**\n' >"$T/rf/conf/r.rules"
check "rules file: an edit of conf/r.rules (config given as conf/sg.yaml) is applied" \
	wait_for 10 sh -c "raw() { '$SGRAW' -u '$T/rf.sock' \"\$@\"; }; raw -w 2000 'GET /version HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n' | head -1 | grep -q ' 200 '"
printf 'allow GET /_ping\ndeny POST /images/*/push\ndeny * /**\n' >"$T/rf/conf/sub/other.rules"
rf_cfg sub/other.rules
check "rules file: a reload that names another rules file is applied" \
	wait_for 10 sh -c "grep -c '\"result\":\"applied\"' '$T/rf.log' | grep -q '^2\$'"
check "rules file: ... and its warnings are logged" \
	wait_for 5 sh -c "grep '\"msg\":\"config reload: warning\"' '$T/rf.log' | grep -q 'images'"
printf 'allow GET /_ping\nallow GET /info\ndeny * /**\n' >"$T/rf/conf/sub/other.rules"
check "rules file: an edit of the newly named rules file is applied" \
	wait_for 10 sh -c "raw() { '$SGRAW' -u '$T/rf.sock' \"\$@\"; }; raw -w 2000 'GET /info HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n' | head -1 | grep -q ' 200 '"
# the rules file's directory removed and made anew: watched again once
# it is back, and what it holds then is applied with no signal
rm -rf "$T/rf/conf/sub"
mkdir -p "$T/rf/conf/sub"
printf 'allow GET /_ping\ndeny * /**\n' >"$T/rf/conf/sub/other.rules"
check "rules file: its directory removed and made anew: the new file is applied" \
	wait_for 10 sh -c "raw() { '$SGRAW' -u '$T/rf.sock' \"\$@\"; }; raw -w 2000 'GET /info HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n' | head -1 | grep -q ' 403 '"
printf 'allow GET /_ping\nallow GET /version\ndeny * /**\n' >"$T/rf/conf/sub/other.rules"
check "rules file: ... and so is a later edit" \
	wait_for 10 sh -c "raw() { '$SGRAW' -u '$T/rf.sock' \"\$@\"; }; raw -w 2000 'GET /version HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n' | head -1 | grep -q ' 200 '"
# a FIFO in the rules file's place: refused on reload, not waited on
# (the event loop would stop until something wrote to it)
rm -f "$T/rf/conf/sub/other.rules"
mkfifo "$T/rf/conf/sub/other.rules"
kill -HUP "$(cat "$T/rf.pid")"
check "rules file: a FIFO in its place is refused on reload" \
	wait_for 10 grep -q 'not a regular file (a FIFO is read at startup only)' "$T/rf.log"
check "rules file: ... and requests are still answered" [ "$(rf_status /version)" = 200 ]
# a rules file that is gone: the load failed, the config did not
n=$(grep -c '"result":"rejected_unreadable"' "$T/rf.log")
rm -f "$T/rf/conf/sub/other.rules"
kill -HUP "$(cat "$T/rf.pid")"
check "rules file: a missing one on reload is counted as rejected_unreadable" \
	wait_for 10 sh -c "[ \$(grep -c '\"result\":\"rejected_unreadable\"' '$T/rf.log') -gt $n ] && grep -q 'cannot read rules file.*No such file' '$T/rf.log'"
check "rules file: ... and requests are still answered by the old rules" [ "$(rf_status /version)" = 200 ]
sg_stop rf

# A config mounted the way a Kubernetes ConfigMap is: the file is a
# symlink through "..data", and an update swaps that link (rename), never
# touching the file's own name. The swap reloads.
cm_cfg() { # DIR VERSION_ALLOW_ACTION
	mkdir -p "$T/cm/$1"
	cat >"$T/cm/$1/sg.yaml" <<YAML
listen:
  socket: $T/cm.sock
upstream:
  socket: $DOCKER_SOCK
reload:
  enabled: true
  debounce: 50ms
rules:
  - { match: { method: GET, path: /_ping }, action: allow }
  - { match: { method: GET, path: /version }, action: $2 }
  - { match: { method: "*", path: "/**" }, action: deny }
YAML
}
cm_status() { raw cm -w 2000 "GET /version HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n" | head -1 | cut -d' ' -f2; }
cm_cfg ..v1 deny
ln -s ..v1 "$T/cm/..data"
ln -s ..data/sg.yaml "$T/cm/sg.yaml"
if sg_start cm "$T/cm/sg.yaml"; then
	check "configmap: denied before the update" [ "$(cm_status)" = 403 ]
	cm_cfg ..v2 allow
	ln -s ..v2 "$T/cm/..data_tmp"
	mv -T "$T/cm/..data_tmp" "$T/cm/..data"
	check "configmap: swapping the ..data link applies the new config" \
		wait_for 10 sh -c "raw() { '$SGRAW' -u '$T/cm.sock' \"\$@\"; }; raw -w 2000 'GET /version HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n' | head -1 | grep -q ' 200 '"
	sg_stop cm
else
	fail "configmap: sockguard starts on a symlinked config"
fi

# sockguard diff, offline
cat >"$T/d1.yaml" <<'YAML'
response: { deny_verbosity: minimal }
rules:
  - { match: { method: GET, path: /_ping }, action: allow }
  - { match: { method: GET, path: /version }, action: allow }
  - { match: { method: GET, path: /info }, action: allow }
  - { match: { method: "*", path: "/**" }, action: deny }
YAML
cat >"$T/d2.yaml" <<'YAML'
response: { deny_verbosity: verbose }
rules:
  - { match: { method: GET, path: /version }, action: allow }
  - { match: { method: GET, path: /_ping }, action: allow }
  - { match: { method: GET, path: /events }, action: allow }
  - { match: { method: "*", path: "/**" }, action: deny }
YAML
"$SG" diff "$T/d1.yaml" "$T/d2.yaml" >"$T/diff.out" 2>&1
rc=$?
check "diff: different configs exit 1" [ "$rc" -eq 1 ]
check "diff: scalar change old -> new" grep -q '~ response.deny_verbosity: minimal -> verbose' "$T/diff.out"
check "diff: an inserted rule" grep -q '^+ rule 3: allow GET /events' "$T/diff.out"
check "diff: a deleted rule" grep -q '^- rule 3: allow GET /info' "$T/diff.out"
check "diff: a moved rule" grep -q '^> rule .*allow GET /' "$T/diff.out"
"$SG" diff "$T/d1.yaml" "$T/d1.yaml" >/dev/null 2>&1
check "diff: identical configs exit 0" [ $? -eq 0 ]
printf 'rules: [' >"$T/d3.yaml"
"$SG" diff "$T/d1.yaml" "$T/d3.yaml" >/dev/null 2>&1
check "diff: an invalid config exits 2" [ $? -eq 2 ]
sed 's/minimal/verbose/' "$T/d1.yaml" >"$T/d4.yaml"
printf 'listen:\n  socket: /tmp/other.sock\n' >>"$T/d4.yaml"
"$SG" diff "$T/d1.yaml" "$T/d4.yaml" >"$T/diff2.out" 2>&1
check "diff: marks changes that need a restart" grep -q 'listen.socket: .*(needs a restart)' "$T/diff2.out"
# what a live reload refuses, diff says it would refuse
printf '\n  \n' >"$T/d5.yaml"
"$SG" diff "$T/d1.yaml" "$T/d5.yaml" >"$T/diff3.out" 2>&1
rc=$?
check "diff: an empty NEW is a reload that would be refused (exit 1)" \
	sh -c "[ $rc -eq 1 ] && grep -q '^a reload would be refused: the new config file is empty' '$T/diff3.out'"
printf '# all rules gone\n' >"$T/d6.yaml"
"$SG" diff "$T/d1.yaml" "$T/d6.yaml" >"$T/diff4.out" 2>&1
rc=$?
check "diff: a NEW with no rules under an OLD with rules would be refused (exit 1)" \
	sh -c "[ $rc -eq 1 ] && grep -q '^a reload would be refused: the new config sets no rules' '$T/diff4.out'"
