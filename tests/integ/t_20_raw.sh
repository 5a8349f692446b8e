# shellcheck shell=bash
# Raw HTTP through sockguard: pipelining, deny then allow on one
# connection, framing attacks that must never reach the daemon.

cfg=$(write_cfg raw 'allow GET,HEAD /_ping
allow GET /version
allow GET /containers/json
allow POST /containers/*/start
deny * /**')
sg_start raw "$cfg" || { fail "raw: sockguard starts"; return; }

H='Host: docker\r\n'
HC='Host: docker\r\nConnection: close\r\n'
r=$(raw raw -w 3000 "GET /_ping HTTP/1.1\r\n${H}\r\nGET /v1.41/version HTTP/1.1\r\n${HC}\r\n")
check "raw: two pipelined requests get two answers" \
	sh -c "[ \$(printf '%s' '$r' | grep -o 'HTTP/1.1 200 OK' | wc -l) -eq 2 ]"
check "raw: X-Request-Id on every response" \
	sh -c "[ \$(printf '%s' '$r' | grep -ci '^X-Request-Id: [0-9a-f]\{32\}') -eq 2 ]"

r=$(raw raw -w 3000 "GET /secrets HTTP/1.1\r\n${H}\r\nGET /_ping HTTP/1.1\r\n${HC}\r\n")
check "raw: a denied request then an allowed one on the same connection" \
	sh -c "printf '%s' '$r' | grep -o 'HTTP/1.1 [0-9]*' | tr '\n' , | grep -qx 'HTTP/1.1 403,HTTP/1.1 200,'"
check "raw: deny body is the minimal JSON" \
	sh -c "printf '%s' '$r' | grep -q '{\"message\":\"request denied by sockguard policy\"}'"

# web browsers: Origin or Sec-Fetch-* (which no Docker client sends)
# refuses even an allowed request, before it reaches the daemon; the
# next request on the connection is served
mark=$(dk_mark)
for bh in 'Origin: http://evil.example' 'Sec-Fetch-Mode: no-cors' 'sec-fetch-site: same-origin'; do
	r=$(raw raw -w 3000 "GET /v1.41/containers/json?browser=1 HTTP/1.1\r\n${H}${bh}\r\n\r\nGET /_ping HTTP/1.1\r\n${HC}\r\n")
	check "raw: a browser request ($bh) gets 403 and the next one 200" \
		sh -c "printf '%s' '$r' | grep -o 'HTTP/1.1 [0-9]*' | tr '\n' , | grep -qx 'HTTP/1.1 403,HTTP/1.1 200,' && printf '%s' '$r' | grep -q 'web browsers'"
done
check "raw: the browser requests never reached the daemon" \
	sh -c "! (tail -n +$((mark + 1)) '$DK/dockerd.log' | grep Calling | grep -q 'browser=1')"
check "raw: ... and are logged with their reason code" \
	wait_for 5 sh -c "[ \$(grep -c '\"reason_code\":\"browser_request_refused\"' '$T/raw.log') -eq 3 ]"
cfg=$(write_cfg rawb 'allow GET /containers/json
deny * /**' 'insecure_allow_browser_requests: true')
"$SG" check -c "$cfg" >"$T/rawb-check.out" 2>&1
check "raw: check warns about insecure_allow_browser_requests, with its line" \
	grep -q "rawb.yaml:[0-9]*:[0-9]*: warning: insecure_allow_browser_requests" "$T/rawb-check.out"
if sg_start rawb "$cfg"; then
	r=$(raw rawb -w 3000 "GET /v1.41/containers/json HTTP/1.1\r\n${HC}Origin: http://ui.example\r\n\r\n")
	check "raw: insecure_allow_browser_requests lets a browser request through to the rules" \
		sh -c "printf '%s' '$r' | head -1 | grep -q '^HTTP/1.1 200'"
	sg_stop rawb
else
	fail "raw: rawb: sockguard starts"
fi

r=$(raw raw -w 3000 "HEAD /_ping HTTP/1.1\r\n${HC}\r\n")
check "raw: HEAD /_ping" sh -c "printf '%s' '$r' | grep -q '^HTTP/1.1 200'"

r=$(raw raw -w 3000 "GET /containers/json HTTP/1.1\r\n${HC}\r\n")
check "raw: unversioned path" sh -c "printf '%s' '$r' | grep -q '^HTTP/1.1 200'"
r=$(raw raw -w 3000 "GET /v1.41/containers/json?all=1 HTTP/1.1\r\n${HC}\r\n")
check "raw: versioned path with a query" sh -c "printf '%s' '$r' | grep -q '^HTTP/1.1 200'"
r=$(raw raw -w 3000 "GET /v1.41/containers/./json/ HTTP/1.1\r\n${HC}\r\n")
check "raw: dot segments and trailing slash are canonicalised" \
	sh -c "printf '%s' '$r' | grep -q '^HTTP/1.1 200'"
mark=$(dk_mark)
r=$(raw raw -w 3000 "GET /v1.41/containers/json/../../exec/x/json HTTP/1.1\r\n${HC}\r\n")
check "raw: .. climbing to another endpoint is judged where it lands" \
	sh -c "printf '%s' '$r' | grep -q '^HTTP/1.1 403'"
r=$(raw raw -w 3000 "GET /v1.23/version HTTP/1.1\r\n${H}\r\n")
check "raw: API versions below the minimum get 400" \
	sh -c "printf '%s' '$r' | grep -q '^HTTP/1.1 400' && printf '%s' '$r' | grep -q 'below the minimum'"
r=$(raw raw -w 3000 "POST /v1.41/containers/abc/start HTTP/1.1\r\n${HC}Content-Type: application/json\r\nContent-Length: 22\r\n\r\n{\"Binds\":[\"/:/host\"]}\n")
check "raw: a body on container start is refused" \
	sh -c "printf '%s' '$r' | grep -q '^HTTP/1.1 403'"
check "raw: the refused start never reached the daemon" \
	sh -c "! tail -n +$((mark + 1)) '$DK/dockerd.log' | grep Calling | grep -q '/start'"

r=$(raw raw -w 3000 "GET /health HTTP/1.1\r\n${HC}\r\n")
check "raw: /health reports healthy with the listener" \
	sh -c "printf '%s' '$r' | grep -q '\"status\":\"healthy\"' && printf '%s' '$r' | grep -q '\"state\":\"serving\"'"

# smuggling and malformed heads: precise status, nothing reaches the daemon
mark=$(dk_mark)
smuggle() { # NAME EXPECTED_STATUS DATA
	local name=$1 want=$2 data=$3 out
	out=$(raw raw -w 3000 "$data")
	check "smuggle: $name -> $want" sh -c "printf '%s' '$out' | head -1 | grep -q '^HTTP/1.1 $want '"
}
SM='GET /containers/smuggled1/json HTTP/1.1\r\nHost: docker\r\n\r\n'
smuggle "CL.TE" 400 "POST /_ping HTTP/1.1\r\n${H}Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${SM}"
smuggle "TE.CL" 400 "POST /_ping HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n${SM}"
smuggle "TE chunked, identity" 400 "POST /_ping HTTP/1.1\r\n${H}Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n${SM}"
smuggle "space before colon" 400 "POST /_ping HTTP/1.1\r\n${H}Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n${SM}"
smuggle "xchunked" 400 "POST /_ping HTTP/1.1\r\n${H}Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n${SM}"
smuggle "duplicate Content-Length" 400 "POST /_ping HTTP/1.1\r\n${H}Content-Length: 0\r\nContent-Length: 0\r\n\r\n${SM}"
smuggle "signed Content-Length" 400 "POST /_ping HTTP/1.1\r\n${H}Content-Length: +5\r\n\r\n${SM}"
smuggle "overflowing Content-Length" 400 "POST /_ping HTTP/1.1\r\n${H}Content-Length: 99999999999999999999999\r\n\r\n${SM}"
smuggle "obs-fold" 400 "GET /_ping HTTP/1.1\r\n${H}X-A: a\r\n b\r\n\r\n${SM}"
smuggle "bare LF" 400 "GET /_ping HTTP/1.1\n${H}\r\n${SM}"
check "smuggle: a head refused before the rules is logged with rule -1, not rule 0" \
	wait_for 5 sh -c "grep 'bare CR, bare LF or NUL byte' '$T/raw.log' | grep -q '\"rule\":-1' && ! grep 'bare CR, bare LF or NUL byte' '$T/raw.log' | grep -q '\"rule\":0'"
smuggle "bare CR" 400 "GET /_ping HTTP/1.1\r\nX: a\rb\r\n${H}\r\n${SM}"
smuggle "NUL in header" 400 "GET /_ping HTTP/1.1\r\nX: a\0b\r\n${H}\r\n${SM}"
smuggle "absolute-form" 400 "GET http://docker/containers/smuggled1/json HTTP/1.1\r\n${H}\r\n"
smuggle "authority-form" 400 "CONNECT docker:2375 HTTP/1.1\r\n${H}\r\n"
smuggle "missing Host" 400 "GET /_ping HTTP/1.1\r\n\r\n${SM}"
smuggle "duplicate Host" 400 "GET /_ping HTTP/1.1\r\n${H}${H}\r\n${SM}"
smuggle "HTTP/1.0" 505 "GET /_ping HTTP/1.0\r\n\r\n"
smuggle "malformed percent-escape" 400 "GET /containers/%zz/json HTTP/1.1\r\n${H}\r\n"
smuggle "bad chunk size" 400 "POST /v1.41/containers/x/start HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nzz\r\n${SM}"
out=$(raw raw -w 3000 "GET /containers/smuggled1/json HTTP/1.1\r\n${H}X-Big: " "@1048576:a" "\r\n\r\n")
check "smuggle: head over 1 MiB -> 431" sh -c "printf '%s' '$out' | head -1 | grep -q '^HTTP/1.1 431 '"
check "smuggle: no smuggled request reached the daemon" \
	sh -c "! tail -n +$((mark + 1)) '$DK/dockerd.log' | grep Calling | grep -q smuggled1"

# a request body that hides a second request stays a body
mark=$(dk_mark)
body='GET /containers/smuggled2/json HTTP/1.1\r\nHost: docker\r\n\r\n'
r=$(raw raw -w 3000 "POST /containers/abc/start HTTP/1.1\r\n${H}Content-Length: 0\r\n\r\nGET /_ping HTTP/1.1\r\n${HC}\r\n")
check "raw: POST start without body is relayed, next pipelined request answered" \
	sh -c "[ \$(printf '%s' '$r' | grep -o 'HTTP/1.1 [0-9]' | wc -l) -eq 2 ]"

# More pipelined requests than the request buffer holds: sockguard stops
# reading while the buffer is full and resumes when it drains, and every
# request is answered in order (the bytes wait in the socket meanwhile)
pad=$(printf '%0150d' 0)
pl=()
for i in $(seq 399); do pl+=("GET /_ping?n=$i HTTP/1.1\r\n${H}X-Pad: $pad\r\n\r\n"); done
pl+=("GET /_ping?n=400 HTTP/1.1\r\n${HC}X-Pad: $pad\r\n\r\n")
raw raw -w 10000 "${pl[@]}" >"$T/pipe400.out"
prc=$?
check "raw: 400 pipelined requests (80 KB, over the 48 KiB buffer) get 400 answers" \
	[ "$(grep -ao 'HTTP/1.1 200 OK' "$T/pipe400.out" | wc -l)" -eq 400 ]
check "raw: ... and the connection closes after the last (Connection: close)" \
	[ "$prc" -eq 0 ]

# slowloris: a head that trickles in is cut at the head timeout while
# other clients are served
raw raw -w 9000 "GET /_ping HTTP/1.1\r\n" >"$T/slow.out" &
slow=$!
r=$(raw raw -w 3000 "GET /_ping HTTP/1.1\r\n${HC}\r\n")
check "slowloris: other clients are served meanwhile" sh -c "printf '%s' '$r' | grep -q '^HTTP/1.1 200'"
wait "$slow"
check "slowloris: an incomplete head gets 408 and the connection closes" \
	sh -c "head -1 '$T/slow.out' | grep -q '^HTTP/1.1 408'"

# Heads over 32 KiB (a build's X-Registry-Config naming many registries)
# move to a buffer of their own, up to the daemon's own limit of 1 MiB
mark=$(dk_mark)
r=$(raw raw -w 5000 "GET /v1.41/containers/json?bighead=1 HTTP/1.1\r\n${H}X-Big: " "@70000:a" "\r\n\r\nGET /_ping HTTP/1.1\r\n${HC}\r\n")
check "bighead: a 70 KB head is relayed and the next request answered" \
	sh -c "printf '%s' '$r' | grep -o 'HTTP/1.1 [0-9]*' | tr '\n' , | grep -qx 'HTTP/1.1 200,HTTP/1.1 200,'"
check "bighead: ... it reached the daemon" \
	sh -c "tail -n +$((mark + 1)) '$DK/dockerd.log' | grep Calling | grep -q 'bighead=1'"
r=$(raw raw -w 5000 "GET /_ping?n=1 HTTP/1.1\r\n${H}X-Big: " "@100000:b" "\r\n\r\nGET /_ping?n=2 HTTP/1.1\r\n${H}X-Big: " "@1000000:c" "\r\n\r\nGET /_ping?n=3 HTTP/1.1\r\n${H}X-Big: " "@60000:d" "\r\n\r\nGET /_ping?n=4 HTTP/1.1\r\n${HC}\r\n")
check "bighead: pipelined heads of 100 KB, 1 MB, 60 KB and a small one get four answers" \
	sh -c "printf '%s' '$r' | grep -o 'HTTP/1.1 [0-9]*' | tr '\n' , | grep -qx 'HTTP/1.1 200,HTTP/1.1 200,HTTP/1.1 200,HTTP/1.1 200,'"
# at most 32 such heads at once: of 40 unfinished ones 8 are told to
# retry, and so is one more while the 32 are held
"$SGTOOLS/sgslow" -u "$T/raw.sock" -n 40 -b 40200 -i 60000 -T 30 \
	"GET /_ping HTTP/1.1\r\n${H}X-Big: $(printf '%040000d' 0)" >"$T/bigslow.out" 2>&1 &
bspid=$!
check "bighead: of 40 large heads at once, 8 are refused and logged" \
	wait_for 10 sh -c "[ \$(grep -c 'request head of over 32 KiB from unix refused' '$T/raw.log') -eq 8 ]"
# refused before it was parsed: the record names no header, and none of
# a request the exchange served before
check "bighead: ... their access records carry no client request id" \
	sh -c "[ \$(grep -c '\"reason_code\":\"request_head_no_room\"' '$T/raw.log') -ge 8 ] &&
	    ! grep '\"reason_code\":\"request_head_no_room\"' '$T/raw.log' | grep -q client_request_id"
r=$(raw raw -w 3000 "GET /_ping HTTP/1.1\r\n${HC}X-Big: " "@40000:e" "\r\n\r\n")
check "bighead: ... and one more gets 503 with a reason" \
	sh -c "printf '%s' '$r' | head -1 | grep -q '^HTTP/1.1 503 ' && printf '%s' '$r' | grep -q 'retry'"
kill "$bspid" 2>/dev/null
{ wait "$bspid"; } 2>/dev/null
check "bighead: once they are gone a large head is served again" \
	wait_for 10 sh -c "'$SGRAW' -u '$T/raw.sock' -w 3000 'GET /_ping HTTP/1.1\r\n${HC}X-Big: ' '@40000:f' '\r\n\r\n' | head -1 | grep -q '^HTTP/1.1 200 '"

# 32 allowed streams whose heads were large hold their mappings for as
# long as they run; that must not refuse the next large head (the bound
# of 32 is on heads still being read)
cfg=$(write_cfg bigs 'allow GET,HEAD /_ping
allow GET /events
deny * /**')
if sg_start bigs "$cfg"; then
	bsp=()
	for i in $(seq 32); do
		raw bigs -w 20000 "GET /events HTTP/1.1\r\n${H}X-Big: " "@40000:a" "\r\n\r\n" >"$T/bigs$i.out" &
		bsp+=($!)
	done
	check "bighead: 32 event streams with 40 KB heads are all running" \
		wait_for 15 sh -c "[ \$(grep -l '^HTTP/1.1 200' '$T'/bigs*.out 2>/dev/null | wc -l) -eq 32 ]"
	r=$(raw bigs -w 3000 "GET /_ping HTTP/1.1\r\n${HC}X-Big: " "@40000:e" "\r\n\r\n")
	check "bighead: ... and a 33rd large head is still served (got $(printf '%s' "$r" | head -1 | tr -d '\r'))" \
		sh -c "printf '%s' '$r' | head -1 | grep -q '^HTTP/1.1 200 '"
	kill "${bsp[@]}" 2>/dev/null
	{ wait "${bsp[@]}"; } 2>/dev/null
	sg_stop bigs
else
	fail "bighead: sockguard starts for the stream test"
fi

check "raw: access log records are JSON with the canonical path" \
	wait_for 5 sh -c "grep '\"msg\":\"request\"' '$T/raw.log' | grep -q '\"normalized_path\":\"/containers/json\"'"
