# shellcheck shell=bash
# Smuggling and evasion, table-driven over raw sockets. sockguard fronts
# a RECORDING upstream (tests/tools/sgrecord.c) that logs every request
# it receives, head and body, byte for byte. Each vector asserts the
# statuses sockguard answers AND exactly what reached the upstream
# (usually nothing). Then SPEC 2.6.3's evasion table, and a differential
# check of `sockguard match` against the running proxy on random paths.

SGRECORD=$SGTOOLS/sgrecord
REC=$T/rec.log
: >"$REC"
"$SGRECORD" -l "$T/rec.sock" -o "$REC" >"$T/rec.out" 2>&1 &
S_RECPID=$!
SG_PIDS+=("$S_RECPID") # stopped by lib.sh's cleanup if the run is interrupted
if ! wait_for 5 contains "$T/rec.out" "listening"; then
	fail "smuggle: the recording upstream starts"
	kill "$S_RECPID" 2>/dev/null
	return
fi

# s_cfg NAME RULES [EXTRA_YAML]: an instance in front of the recorder
s_cfg() {
	printf '%s\n' "$2" >"$T/$1.rules"
	cat >"$T/$1.yaml" <<YAML
listen:
  socket: $T/$1.sock
upstream:
  socket: $T/rec.sock
rules_file: $1.rules
${3:-}
YAML
	echo "$T/$1.yaml"
}

rec_mark() { wc -l <"$REC"; }
# rec_since MARK: what the upstream received after MARK, one request a
# line, without the connection number and the per-request ids
rec_since() {
	tail -n +"$(($1 + 1))" "$REC" | sed -E 's/^conn=[0-9]+ head=//; s/^conn=[0-9]+ //;
		s/X-Request-Id: [0-9a-f]{32}\\r\\n//;
		s/traceparent: 00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}\\r\\n//'
}
# the status codes of every response in a byte stream, comma-separated
statuses() { grep -ao 'HTTP/1\.1 [0-9][0-9][0-9] ' | cut -c10-12 | paste -sd, -; }
# lines A B ...: the arguments joined by newlines
lines() { printf '%s\n' "$@"; }

# vec NAME STATUSES RECORDS DATA...: DATA (sgraw escapes) on one
# connection to instance $S_INST; sockguard's answers must carry exactly
# STATUSES (comma list, "" for none) and the upstream must have received
# exactly RECORDS (one request a line, sgrecord's escaped form).
S_INST=smg
S_OPTS=
vec() {
	local name=$1 want=$2 rec=$3 m got gotrec
	shift 3
	m=$(rec_mark)
	# shellcheck disable=SC2086 # S_OPTS: extra sgraw options, split
	got=$("$SGRAW" -u "$T/$S_INST.sock" -w 1500 $S_OPTS "$@" | statuses)
	gotrec=$(rec_since "$m")
	if [ "$got" = "$want" ] && [ "$gotrec" = "$rec" ]; then
		pass "smuggle: $name"
	else
		fail "smuggle: $name"
		echo "#   statuses: want [$want] got [$got]"
		echo "#   upstream want: [$rec]"
		echo "#   upstream got:  [$(printf '%s' "$gotrec" | cut -c1-400)]"
	fi
}

cfg=$(s_cfg smg 'allow GET,HEAD /containers/json
allow POST /post/**
allow POST /containers/*/attach
deny * /**' 'insecure_allow_read_exfiltration: true')
if ! sg_start smg "$cfg"; then
	fail "smuggle: sockguard starts in front of the recorder"
	kill "$S_RECPID" 2>/dev/null
	return
fi

H='Host: d\r\n'
C='Connection: close\r\n'
# E ends a vector on a kept-alive connection: an allowed request that
# closes, proving the stream is still in sync; RE is what it records
E='GET /containers/json?end HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n'
RE='GET /containers/json?end HTTP/1.1\r\nHost: docker\r\n\r\n body='
# SM: an ALLOWED request hidden behind framing tricks; if it ever reached
# the upstream as a request the records would show it
SM='GET /containers/json?smuggled=1 HTTP/1.1\r\nHost: d\r\n\r\n'
SMLEN=$(printf '%b' "$SM" | wc -c)
SMHEX=$(printf '%x' "$SMLEN")
P='POST /post/a HTTP/1.1\r\nHost: d\r\n'
RP='POST /post/a HTTP/1.1\r\nHost: docker\r\n'
RCH="${RP}Transfer-Encoding: chunked\\r\\n\\r\\n body=5\\r\\nhello\\r\\n0\\r\\n\\r\\n"
GETJ='GET /containers/json HTTP/1.1\r\n'
RGETJ='GET /containers/json HTTP/1.1\r\nHost: docker\r\n\r\n body='

# HTTP/0.9 without the empty line: the head never completes -> 408 after
# the head timeout. Started first, checked at the end (it takes 5 s).
"$SGRAW" -u "$T/smg.sock" -w 8000 'GET /containers/json\r\n' >"$T/smg-09.out" &
S_09=$!

vec "baseline: an allowed GET is relayed with the canonical head" 200 "$RGETJ" "${GETJ}${H}${C}\r\n"
vec "baseline: Host is rewritten, hop-by-hop and Connection-named headers dropped" 200 \
	"GET /containers/json HTTP/1.1\\r\\nHost: docker\\r\\nX-Keep: 1\\r\\n\\r\\n body=" \
	"${GETJ}Host: evil.example\r\nConnection: close, X-Secret\r\nX-Secret: 1\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\nProxy-Authorization: Basic eA==\r\nX-Forwarded-For: 10.0.0.1\r\nForwarded: for=10.0.0.1\r\nX-Keep: 1\r\n\r\n"
# tracestate goes on only with a valid traceparent (SPEC 2.9.5)
TP='traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\n'
vec "trace: a valid traceparent takes its tracestate along" 200 \
	"GET /containers/json HTTP/1.1\\r\\nHost: docker\\r\\ntracestate: congo=t61rcWkgMzE\\r\\n\\r\\n body=" \
	"${GETJ}${H}${TP}tracestate: congo=t61rcWkgMzE\r\n${C}\r\n"
vec "trace: with an invalid traceparent the tracestate is dropped" 200 "$RGETJ" \
	"${GETJ}${H}traceparent: 00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01\r\ntracestate: congo=t61rcWkgMzE\r\n${C}\r\n"
vec "trace: with no traceparent the tracestate is dropped" 200 "$RGETJ" \
	"${GETJ}${H}tracestate: congo=t61rcWkgMzE\r\n${C}\r\n"
vec "baseline: a client X-Request-Id is replaced, never relayed" 200 "$RGETJ" \
	"${GETJ}${H}X-Request-Id: client-chosen\r\n${C}\r\n"

# ---- CL.TE, TE.CL, TE.TE ----
vec "CL.TE: Content-Length with Transfer-Encoding -> 400" 400 "" \
	"${P}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n$SM"
vec "TE.CL: Transfer-Encoding with Content-Length -> 400" 400 "" \
	"${P}Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n$SM"
vec "TE.TE: two Transfer-Encoding fields -> 400" 400 "" \
	"${P}Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n0\r\n\r\n$SM"
vec "TE.TE: chunked, identity -> 400" 400 "" \
	"${P}Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n$SM"
vec "TE.TE: identity, chunked -> 400" 400 "" \
	"${P}Transfer-Encoding: identity, chunked\r\n\r\n0\r\n\r\n$SM"
vec "TE.TE: chunked, chunked -> 400" 400 "" \
	"${P}Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n$SM"
vec "TE.TE: leading space on the first field line (obs-fold) -> 400" 400 "" \
	"POST /post/a HTTP/1.1\r\n Transfer-Encoding: chunked\r\n${H}\r\n0\r\n\r\n$SM"
vec "TE.TE: Transfer-Encoding folded onto a previous line -> 400" 400 "" \
	"${P}X-A: 1\r\n Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n$SM"
vec "TE.TE: space before the colon -> 400" 400 "" \
	"${P}Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n$SM"
vec "TE.TE: xchunked -> 400" 400 "" "${P}Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n$SM"
vec "TE.TE: chunkedx -> 400" 400 "" "${P}Transfer-Encoding: chunkedx\r\n\r\n0\r\n\r\n$SM"
vec "TE.TE: chunked with a parameter -> 400" 400 "" "${P}Transfer-Encoding: chunked;q=1\r\n\r\n0\r\n\r\n$SM"
vec "TE.TE: vertical tab after chunked -> 400" 400 "" "${P}Transfer-Encoding: chunked\x0b\r\n\r\n0\r\n\r\n$SM"
vec "TE: gzip (registered, not implemented) -> 501" 501 "" "${P}Transfer-Encoding: gzip\r\n\r\n0\r\n\r\n$SM"
vec "TE: upper-case CHUNKED is valid and relayed as sent" 200,200 \
	"$(lines "${RP}Transfer-Encoding: CHUNKED\\r\\n\\r\\n body=5\\r\\nhello\\r\\n0\\r\\n\\r\\n" "$RE")" \
	"${P}Transfer-Encoding: CHUNKED\r\n\r\n5\r\nhello\r\n0\r\n\r\n$E"
vec "TE: a tab before chunked is valid (OWS)" 200,200 "$(lines "$RCH" "$RE")" \
	"${P}Transfer-Encoding:\tchunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n$E"
vec "TE: extra spaces around chunked are valid (OWS)" 200,200 "$(lines "$RCH" "$RE")" \
	"${P}Transfer-Encoding:   chunked  \r\n\r\n5\r\nhello\r\n0\r\n\r\n$E"
vec "TE: Transfer_Encoding (underscore) is just a header: no body, the rest is a bad request" 200,400 \
	"${RP}Transfer_Encoding: chunked\\r\\n\\r\\n body=" \
	"${P}Transfer_Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n$SM"

# ---- Content-Length ----
vec "CL: duplicate, same value -> 400" 400 "" "${P}Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello$SM"
vec "CL: duplicate, different values -> 400" 400 "" "${P}Content-Length: 5\r\nContent-Length: 0\r\n\r\nhello$SM"
vec "CL: a list 5, 5 -> 400" 400 "" "${P}Content-Length: 5, 5\r\n\r\nhello$SM"
vec "CL: signed +5 -> 400" 400 "" "${P}Content-Length: +5\r\n\r\nhello$SM"
vec "CL: negative -> 400" 400 "" "${P}Content-Length: -5\r\n\r\nhello$SM"
vec "CL: hex 0x5 -> 400" 400 "" "${P}Content-Length: 0x5\r\n\r\nhello$SM"
vec "CL: inner space -> 400" 400 "" "${P}Content-Length: 5 5\r\n\r\nhello$SM"
vec "CL: empty -> 400" 400 "" "${P}Content-Length:\r\n\r\nhello$SM"
vec "CL: overflowing 2^64 -> 400" 400 "" "${P}Content-Length: 18446744073709551621\r\n\r\nhello$SM"
vec "CL: 2^63 (above int64) -> 400" 400 "" "${P}Content-Length: 9223372036854775808\r\n\r\nhello$SM"
vec "CL: leading zeros are valid" 200,200 \
	"$(lines "${RP}Content-Length: 005\\r\\n\\r\\n body=hello" "$RE")" \
	"${P}Content-Length: 005\r\n\r\nhello$E"
vec "CL: 19 digits of leading zeros are valid" 200,200 \
	"$(lines "${RP}Content-Length: 0000000000000000005\\r\\n\\r\\n body=hello" "$RE")" \
	"${P}Content-Length: 0000000000000000005\r\n\r\nhello$E"
vec "CL: a request inside a body stays body" 200,200 \
	"$(lines "${RP}Content-Length: $SMLEN\\r\\n\\r\\n body=$SM" "$RE")" \
	"${P}Content-Length: $SMLEN\r\n\r\n$SM$E"
# partial: the last record since MARK is an unfinished POST /post/a,
# cut, and nothing complete or smuggled came with it
partial_only() {
	local got
	got=$(rec_since "$1")
	[ "$(printf '%s\n' "$got" | grep -c .)" -eq 1 ] &&
		printf '%s' "$got" | grep -q '^partial=POST /post/a ' &&
		! printf '%s' "$got" | grep -q smuggled
}
m=$(rec_mark)
"$SGRAW" -u "$T/smg.sock" -w 300 "${P}Content-Length: 100\r\n\r\nshort" >/dev/null
check "CL: a body shorter than announced: the upstream sees it unfinished, then cut" \
	wait_for 3 partial_only "$m"

# ---- chunked bodies ----
TE='Transfer-Encoding: chunked\r\n\r\n'
vec "chunked: a request inside a chunk stays body" 200,200 \
	"$(lines "${RP}Transfer-Encoding: chunked\\r\\n\\r\\n body=$SMHEX\\r\\n$SM\\r\\n0\\r\\n\\r\\n" "$RE")" \
	"${P}${TE}$SMHEX\r\n$SM\r\n0\r\n\r\n$E"
vec "chunked: size overflow (18 hex digits) -> 400" 400 "" "${P}${TE}ffffffffffffffffff\r\nhello\r\n0\r\n\r\n$SM"
vec "chunked: size overflow (17 digits) -> 400" 400 "" "${P}${TE}10000000000000000\r\nhello\r\n0\r\n\r\n$SM"
vec "chunked: size 2^63 -> 400" 400 "" "${P}${TE}8000000000000000\r\nhello\r\n0\r\n\r\n$SM"
vec "chunked: negative size -> 400" 400 "" "${P}${TE}-5\r\nhello\r\n0\r\n\r\n$SM"
vec "chunked: 0x prefix -> 400" 400 "" "${P}${TE}0x5\r\nhello\r\n0\r\n\r\n$SM"
vec "chunked: empty size line -> 400" 400 "" "${P}${TE}\r\nhello\r\n0\r\n\r\n$SM"
vec "chunked: whitespace without an extension -> 400" 400 "" "${P}${TE}5 \r\nhello\r\n0\r\n\r\n$SM"
# RFC 9112 allows whitespace before ';', Go's reader (the daemon's) does
# not, and Go's limits hold: a size line under 4096 bytes with its CRLF,
# trailers of at most 4 KiB, framing that grows with the data
vec "chunked: whitespace before an extension -> 400" 400 "" "${P}${TE}5 ;a=1\r\nhello\r\n0\r\n\r\n$SM"
S_E4092=$(printf '%4092s' '' | tr ' ' e)
vec "chunked: a 4096-byte size line -> 400" 400 "" "${P}${TE}5;${S_E4092}\r\nhello\r\n0\r\n\r\n$SM"
S_TR=$(printf 'X-T: %s' "$(printf '%4090s' '' | tr ' ' v)")
vec "chunked: a trailer section over 4 KiB -> 400" 400 "" "${P}${TE}5\r\nhello\r\n0\r\n${S_TR}\r\n\r\n$SM"
S_CH=$(printf '1;%s\\r\\nX\\r\\n' "$(printf '%100s' '' | tr ' ' e)")
S_MANY=$(for _ in $(seq 187); do printf '%s' "$S_CH"; done)
vec "chunked: 1-byte chunks with 100-byte extensions -> 400 at the 187th" 400 "" "${P}${TE}${S_MANY}0\r\n\r\n$SM"
vec "chunked: bare LF after the size -> 400" 400 "" "${P}${TE}5\nhello\r\n0\r\n\r\n$SM"
vec "chunked: bare LF in an extension -> 400" 400 "" "${P}${TE}5;a\nhello\r\n0\r\n\r\n$SM"
vec "chunked: control byte in an extension -> 400" 400 "" "${P}${TE}5;a\x01\r\nhello\r\n0\r\n\r\n$SM"
vec "chunked: data longer than the size -> 400" 400 "" "${P}${TE}5\r\nhelloXX\r\n0\r\n\r\n$SM"
vec "chunked: malformed trailer -> 400" 400 "" "${P}${TE}5\r\nhello\r\n0\r\n: v\r\n\r\n$SM"
vec "chunked: bare LF in a trailer -> 400" 400 "" "${P}${TE}5\r\nhello\r\n0\r\nX-T: v\n\r\n$SM"
vec "chunked: valid extensions pass through verbatim" 200,200 \
	"$(lines "${RP}Transfer-Encoding: chunked\\r\\n\\r\\n body=5;name=value\\r\\nhello\\r\\n6;a=\"b c\"\\r\\n world\\r\\n0;last\\r\\n\\r\\n" "$RE")" \
	"${P}${TE}5;name=value\r\nhello\r\n6;a=\"b c\"\r\n world\r\n0;last\r\n\r\n$E"
vec "chunked: valid trailers pass through verbatim" 200,200 \
	"$(lines "${RP}Transfer-Encoding: chunked\\r\\n\\r\\n body=5\\r\\nhello\\r\\n0\\r\\nX-Trailer: yes\\r\\nX-Other: 2\\r\\n\\r\\n" "$RE")" \
	"${P}${TE}5\r\nhello\r\n0\r\nX-Trailer: yes\r\nX-Other: 2\r\n\r\n$E"
vec "chunked: leading zeros in a size are valid" 200,200 \
	"$(lines "${RP}Transfer-Encoding: chunked\\r\\n\\r\\n body=0005\\r\\nhello\\r\\n000\\r\\n\\r\\n" "$RE")" \
	"${P}${TE}0005\r\nhello\r\n000\r\n\r\n$E"

# a bad chunk that arrives after the head went upstream: the upstream
# sees an incomplete request and then the connection closes; never a
# complete request, never the smuggled one
m=$(rec_mark)
out=$("$SGRAW" -u "$T/smg.sock" -w 2000 -p 300 "${P}${TE}5\r\nhello\r\n" "zz\r\n0\r\n\r\n$SM")
echo "# a bad chunk after the head went upstream: sockguard answered $(printf '%s' "$out" | statuses)"
check "chunked: a bad chunk after the head went upstream: the client gets 400 and a close" \
	sh -c "[ '$(printf '%s' "$out" | statuses)' = 400 ]"
check "chunked: ... the upstream saw only an unfinished request, cut" \
	wait_for 3 partial_only "$m"

# ---- bare CR / LF, NUL and control bytes ----
vec "bare LF ending the request line -> 400" 400 "" "GET /containers/json HTTP/1.1\n${H}${C}\r\n"
vec "bare LF ending a field line -> 400" 400 "" "${GETJ}Host: d\n${C}\r\n"
vec "bare LF ending the head -> 400" 400 "" "${GETJ}${H}${C}\n"
vec "bare CR inside a field value -> 400" 400 "" "${GETJ}X: a\rb\r\n${H}${C}\r\n"
vec "bare CR in the request line -> 400" 400 "" "GET /containers/json\r HTTP/1.1\r\n${H}${C}\r\n"
vec "NUL in the target -> 400" 400 "" "GET /containers/json\0 HTTP/1.1\r\n${H}${C}\r\n"
vec "NUL in a field value -> 400" 400 "" "${GETJ}X: a\0b\r\n${H}${C}\r\n"
vec "NUL in a field name -> 400" 400 "" "${GETJ}X\0Y: 1\r\n${H}${C}\r\n"
vec "control byte 0x01 in a value -> 400" 400 "" "${GETJ}X: a\x01b\r\n${H}${C}\r\n"
vec "DEL 0x7f in a value -> 400" 400 "" "${GETJ}X: a\x7fb\r\n${H}${C}\r\n"
vec "ESC in a field name -> 400" 400 "" "${GETJ}X\x1bY: 1\r\n${H}${C}\r\n"
vec "obs-text (0xff) in a value is relayed verbatim" 200 \
	"GET /containers/json HTTP/1.1\\r\\nHost: docker\\r\\nX-O: a\\xffb\\r\\n\\r\\n body=" \
	"${GETJ}${H}X-O: a\xffb\r\n${C}\r\n"
vec "an empty line before the request line -> 400" 400 "" "\r\n${GETJ}${H}${C}\r\n"
vec "a space before the method -> 400" 400 "" " ${GETJ}${H}${C}\r\n"
vec "a tab as the request-line separator -> 400" 400 "" "GET\t/containers/json HTTP/1.1\r\n${H}${C}\r\n"
vec "two spaces in the request line -> 400" 400 "" "GET  /containers/json HTTP/1.1\r\n${H}${C}\r\n"

# ---- request targets and Host ----
vec "absolute-form target -> 400" 400 "" "GET http://docker/containers/json HTTP/1.1\r\n${H}${C}\r\n"
vec "absolute-form https target -> 400" 400 "" "GET https://docker:2376/containers/json HTTP/1.1\r\n${H}${C}\r\n"
vec "authority-form target (CONNECT) -> 400" 400 "" "CONNECT docker:2375 HTTP/1.1\r\n${H}${C}\r\n"
vec "asterisk-form target -> 400" 400 "" "OPTIONS * HTTP/1.1\r\n${H}${C}\r\n"
vec "a fragment in the target -> 400" 400 "" "GET /containers/json#x HTTP/1.1\r\n${H}${C}\r\n"
vec "a malformed percent-escape -> 400" 400 "" "GET /containers/%zzjson HTTP/1.1\r\n${H}${C}\r\n"
vec "a truncated percent-escape -> 400" 400 "" "GET /containers/json% HTTP/1.1\r\n${H}${C}\r\n"
vec "missing Host -> 400" 400 "" "${GETJ}${C}\r\n$E"
vec "duplicate Host -> 400" 400 "" "${GETJ}${H}${H}${C}\r\n"
vec "duplicate Host, different values and case -> 400" 400 "" "${GETJ}host: a\r\nHOST: b\r\n${C}\r\n"

# ---- sizes ----
vec "a request line over 1 MiB -> 431" 431 "" "GET /" "@1048576:a" " HTTP/1.1\r\n${H}${C}\r\n"
S_MANY=$(printf 'X: y\\r\\n%.0s' $(seq 10000))
vec "10,000 header fields -> 431" 431 "" "${GETJ}${H}${S_MANY}${C}\r\n"
S_101=$(printf 'X: y\\r\\n%.0s' $(seq 101))
vec "101 header fields (under the byte limit) -> 431" 431 "" "${GETJ}${H}${S_101}${C}\r\n"
S_98=$(printf 'X: y\\r\\n%.0s' $(seq 98))
vec "100 header fields are accepted" 200 \
	"GET /containers/json HTTP/1.1\\r\\nHost: docker\\r\\n$S_98\\r\\n body=" "${GETJ}${H}${S_98}${C}\r\n"

# ---- versions ----
vec "HTTP/1.0 -> 505" 505 "" "GET /containers/json HTTP/1.0\r\n${H}\r\n"
vec "HTTP/0.9 style request line with an empty line -> 400" 400 "" "GET /containers/json\r\n\r\n"
vec "HTTP/2 preface -> 505" 505 "" "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
vec "HTTP/1.2 -> 505" 505 "" "GET /containers/json HTTP/1.2\r\n${H}${C}\r\n"
vec "HTTP/9.9 -> 505" 505 "" "GET /containers/json HTTP/9.9\r\n${H}${C}\r\n"
vec "HTTP/1.10 -> 400" 400 "" "GET /containers/json HTTP/1.10\r\n${H}${C}\r\n"
vec "lower-case http/1.1 -> 400" 400 "" "GET /containers/json http/1.1\r\n${H}${C}\r\n"

# ---- methods, pipelining ----
vec "lower-case method matches the GET rule (SPEC 2.6.2), relayed as sent" 200,200 \
	"$(lines 'get /containers/json HTTP/1.1\r\nHost: docker\r\n\r\n body=' "$RE")" \
	"get /containers/json HTTP/1.1\r\n${H}\r\n$E"
vec "lower-case method of a denied one stays denied" 403,200 "$RE" \
	"post /containers/json HTTP/1.1\r\n${H}Content-Length: 0\r\n\r\n$E"
vec "unknown method: denied" 403,200 "$RE" "FOO /containers/json HTTP/1.1\r\n${H}\r\n$E"
vec "HEAD: the answer has no body, the next response is in sync" 200,200 \
	"$(lines 'HEAD /containers/json HTTP/1.1\r\nHost: docker\r\n\r\n body=' "$RE")" \
	"HEAD /containers/json HTTP/1.1\r\n${H}\r\n$E"
vec "a request pipelined behind a denied one: only the second reaches the upstream" 403,200 "$RE" \
	"GET /secret HTTP/1.1\r\n${H}\r\n$E"
vec "allowed, denied, allowed: only the allowed ones reach the upstream" 200,403,200 \
	"$(lines 'GET /containers/json?a=1 HTTP/1.1\r\nHost: docker\r\n\r\n body=' "$RE")" \
	"GET /containers/json?a=1 HTTP/1.1\r\n${H}\r\nGET /secret HTTP/1.1\r\n${H}\r\n$E"
vec "a denied request's Content-Length body is skipped, never parsed" 403,200 "$RE" \
	"POST /secret HTTP/1.1\r\n${H}Content-Length: $SMLEN\r\n\r\n$SM$E"
vec "a denied request's chunked body is skipped, never parsed" 403,200 "$RE" \
	"POST /secret HTTP/1.1\r\n${H}${TE}$SMHEX\r\n$SM\r\n0\r\n\r\n$E"
vec "a framing error closes the connection: the rest is never read" 400 "" \
	"${GETJ}${H}${H}\r\n$E"
S_OPTS="-p 300"
vec "Expect: 100-continue: interim 100, then the body; Expect not relayed" 100,200,200 \
	"$(lines "${RP}Content-Length: 5\\r\\n\\r\\n body=hello" "$RE")" \
	"${P}Expect: 100-continue\r\nContent-Length: 5\r\n\r\n" "hello$E"
S_OPTS=
vec "Expect: 100-continue with the body already sent: no interim answer" 200,200 \
	"$(lines "${RP}Content-Length: 5\\r\\n\\r\\n body=hello" "$RE")" \
	"${P}Expect: 100-continue\r\nContent-Length: 5\r\n\r\nhello$E"
# a local answer (here /health) to a request whose client waits for
# 100-continue: the body may never come, so the connection closes rather
# than take the next request for it
S_OPTS="-p 300"
vec "Expect: 100-continue answered locally: the connection closes" 200 "" \
	"GET /health HTTP/1.1\r\nHost: d\r\nExpect: 100-continue\r\nContent-Length: 41\r\n\r\n" "$E"
S_OPTS=
vec "an unknown expectation -> 417" 417 "" "${P}Expect: magic\r\nContent-Length: 5\r\n\r\nhello$E"

# ---- Connection header abuse ----
vec "Connection naming Host -> 400" 400 "" "${GETJ}${H}Connection: Host\r\n\r\n"
vec "Connection naming Content-Length -> 400" 400 "" "${P}Connection: Content-Length\r\nContent-Length: 5\r\n\r\nhello$SM"
vec "Connection naming Transfer-Encoding -> 400" 400 "" "${P}Connection: Transfer-Encoding\r\n${TE}0\r\n\r\n$SM"

# ---- upgrades ----
STREAM='\x01\x00\x00\x00\x00\x00\x00\x05hello'
vec "refused upgrade (policy) then raw stream bytes: nothing relayed" 403,400 "" \
	"POST /exec/abc/start HTTP/1.1\r\n${H}Connection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n$STREAM"
vec "refused upgrade (policy) then a denied request: judged, nothing relayed" 403,403 "" \
	"POST /exec/abc/start HTTP/1.1\r\n${H}Connection: Upgrade\r\nUpgrade: tcp\r\n\r\nGET /secret HTTP/1.1\r\n${H}${C}\r\n"
vec "refused upgrade (policy) then an allowed request: judged and relayed as a request" 403,200 "$RE" \
	"POST /exec/abc/start HTTP/1.1\r\n${H}Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n$E"
RATT='POST /containers/abc/attach?stream=1 HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n body='
vec "upgrade the daemon refuses (200, no 101) then a denied request: not tunnelled" 200,403 "$RATT" \
	"POST /containers/abc/attach?stream=1 HTTP/1.1\r\n${H}Connection: Upgrade\r\nUpgrade: tcp\r\n\r\nGET /secret HTTP/1.1\r\n${H}${C}\r\n"
vec "upgrade the daemon refuses then raw stream bytes: not tunnelled" 200,400 "$RATT" \
	"POST /containers/abc/attach?stream=1 HTTP/1.1\r\n${H}Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n$STREAM"
vec "Upgrade on a non-hijack endpoint is dropped" 200 "$RGETJ" \
	"${GETJ}${H}Connection: Upgrade\r\nUpgrade: websocket\r\n${C}\r\n"
vec "h2c upgrade attempt is dropped (HTTP2-Settings too: Connection names it)" 200 "$RGETJ" \
	"${GETJ}${H}Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n${C}\r\n"

# heads near the limits: the rebuilt head must never outgrow its buffer
# (each '"' in the path goes up as %22, so the path alone takes 33 KiB of
# it, and a long Upgrade value comes on top), and a pipelined head over
# 32 KiB is read whole into a buffer of its own, like a first one
s_rep() { printf "%*s" "$1" "" | tr ' ' "$2"; }
vec "a hijack head whose rebuilt form outgrows the buffer (long Upgrade) -> 431, nothing relayed" 431 "" \
	"POST /containers/$(s_rep 11000 '"')/attach HTTP/1.1\r\n${H}Connection: Upgrade\r\nUpgrade: $(s_rep 8000 A)\r\nContent-Length: 0\r\n\r\n"
vec "a pipelined head over 32 KiB is judged whole: denied (403), only the first request relayed" 200,403 "$RGETJ" \
	"${GETJ}${H}\r\nGET /containers/$(s_rep 32767 a)XYZ$(s_rep 1500 c) HTTP/1.1\r\n${H}\r\n"
vec "a pipelined 40 KB head that is allowed reaches the upstream byte for byte" 200,200 \
	"$(lines "$RGETJ" "GET /containers/json?big HTTP/1.1\r\nHost: docker\r\nX-Big: $(s_rep 40000 b)\r\n\r\n body=")" \
	"${GETJ}${H}\r\nGET /containers/json?big HTTP/1.1\r\n${H}X-Big: $(s_rep 40000 b)\r\n${C}\r\n"
# a refused request that announces a body and never sends it: answered,
# then closed within the head timeout rather than held open for good
"$SGRAW" -u "$T/smg.sock" -w 9000 \
	"POST /denied/owes-a-body HTTP/1.1\r\n${H}Content-Length: 100000\r\n\r\n" >"$T/owed.out"
rc=$?
check "a refused request whose announced body never comes: answered 403" \
	[ "$(statuses <"$T/owed.out")" = 403 ]
check "... then closed by sockguard (sgraw exit $rc; 3: still open after 9 s)" [ "$rc" = 0 ]
check "... and logged" wait_for 5 grep -q '"path":"/denied/owes-a-body"' "$T/smg.log"

# a path of 4,000 escaped newlines (8,000 bytes once escaped for the log,
# twice: path and normalized_path): the access record is cut, not its
# decision, and it stays one valid record
vec "a path of 4,000 %0a -> 403" 403 "" \
	"POST /$(s_rep 4000 X | sed 's/X/%0a/g') HTTP/1.1\r\n${H}${C}\r\n"
check "a record with long client-supplied fields keeps its decision and says it was cut" \
	wait_for 5 sh -c "grep -F '\"path\":\"/\\\\n\\\\n\\\\n' '$T/smg.log' | grep -F '\"decision\":\"deny\"' | grep -F '\"status\":403' | grep -qF '...\",\"request_id\":'"
check "a record with long client-supplied fields ends whole" \
	sh -c "grep -F '\"path\":\"/\\\\n\\\\n\\\\n' '$T/smg.log' | grep -q '\"truncated\":true}\$'"

wait "$S_09"
check "HTTP/0.9 request line alone: 408 at the head timeout, nothing relayed" \
	sh -c "head -1 '$T/smg-09.out' | grep -q '^HTTP/1.1 408 '"
check "smuggle: the smuggled request never reached the upstream as a request" \
	sh -c "! grep -q '^conn=[0-9]* head=GET /containers/json?smuggled=1' '$REC'"
sg_stop smg

# ---------------------------------------------------------------------
# SPEC 2.6.3's evasion table. Policy: only GET /containers/json (and a
# minimum API version of 0.0, so /v0/ and /v1/ are judged by the policy
# alone). Allowed targets reach the upstream with the canonical path
# (version prefix and query kept); denied ones never reach it.
cfg=$(s_cfg ev 'allow GET /containers/json
deny * /**' 'min_api_version: "0.0"')
if sg_start ev "$cfg"; then
	S_INST=ev
	ev_row() { # METHOD TARGET FORWARDED_TARGET|-
		if [ "$3" = - ]; then
			vec "evasion: $1 $2 -> denied" 403 "" "$1 $2 HTTP/1.1\r\n${H}${C}\r\n"
		elif [ "$3" = 400 ]; then
			vec "evasion: $1 $2 -> 400, not relayed" 400 "" "$1 $2 HTTP/1.1\r\n${H}${C}\r\n"
		else
			vec "evasion: $1 $2 -> allowed as $3" 200 \
				"$1 $3 HTTP/1.1\\r\\nHost: docker\\r\\n\\r\\n body=" "$1 $2 HTTP/1.1\r\n${H}${C}\r\n"
		fi
	}
	while read -r m t f; do
		[ -n "$m" ] && ev_row "$m" "$t" "$f"
	done <<'ROWS'
GET /containers/json /containers/json
GET /v1.45/containers/json /v1.45/containers/json
GET /v1/containers/json /v1/containers/json
GET /v9.99/containers/json /v9.99/containers/json
GET /v01.45/containers/json /v01.45/containers/json
GET /v0/containers/json /v0/containers/json
GET /v1.45.99/containers/json /v1.45.99/containers/json
GET /V1.45/containers/json -
GET /v/containers/json -
GET /v1.45.99.1/containers/json 400
GET /v1.40.0.1/containers/json 400
GET /v1.40./containers/json 400
GET /v1..41/containers/json 400
GET /v.1/containers/json 400
GET /v1.45-dev/containers/json 400
GET /v4x/containers/json 400
GET /v1,45/containers/json -
GET /vx/containers/json -
GET /v1.45/v1.46/containers/json -
GET /containers/json/ /containers/json
GET //containers/json /containers/json
GET ///containers/json /containers/json
GET /containers//json /containers/json
GET /containers////json /containers/json
GET /containers/./json /containers/json
GET /./containers/json /containers/json
GET /containers/json/../json /containers/json
GET /containers/create/../json /containers/json
GET /containers/json/../../../containers/json /containers/json
GET /containers/json/../create -
POST /containers/json/../create -
GET /containers/json/../../exec/abc/start -
GET /Containers/json -
GET /containers/JSON -
GET /containers/json;ignore=1 -
GET /containers;x/json -
GET /containers/json%00 -
GET /containers/json%20 -
GET /containers/json%09 -
GET /containers/json%0a -
GET /containers/json%0d -
GET /containers%5cjson -
GET /containers/%6a%73%6f%6e /containers/json
GET /containers%2Fjson /containers/json
GET /containers/%256a%2573%256f%256e -
GET /containers/%252e/json -
POST /containers/json/%2e%2e/create -
GET /containers/create/%2e%2e/json /containers/json
GET /containers/json?all=1 /containers/json?all=1
POST /containers/json -
ROWS
	# with the default minimum API version, /v1/ is refused before the
	# daemon too (400), not relayed
	sg_stop ev
else
	fail "evasion: sockguard starts"
fi
cfg=$(s_cfg evmin 'allow GET /containers/json
deny * /**')
if sg_start evmin "$cfg"; then
	S_INST=evmin
	vec "evasion: /v1/ below the default minimum API version -> 400, not relayed" 400 "" \
		"GET /v1/containers/json HTTP/1.1\r\n${H}${C}\r\n"
	vec "evasion: /v0/ below the default minimum API version -> 400, not relayed" 400 "" \
		"GET /v0/containers/json HTTP/1.1\r\n${H}${C}\r\n"
	sg_stop evmin
fi

# A version prefix in a form the rules do not strip (the daemon routes
# /v{version:[0-9.]+}/ and strips it) is refused before the rules: with a
# deny rule ahead of a broad allow, it must not slip past the deny.
cfg=$(s_cfg evodd 'deny POST /containers/*/exec
deny * /exec/**
allow * /**' 'insecure_allow_read_exfiltration: true
insecure_accept_opaque_buildkit_tunnels: true')
if sg_start evodd "$cfg"; then
	S_INST=evodd
	for v in v1.40.0.1 v1.40. v1.30..5 v1.41-rc1; do
		vec "evasion: POST /$v/containers/x/exec past a deny rule -> 400, not relayed" 400 "" \
			"POST /$v/containers/x/exec HTTP/1.1\r\n${H}Content-Length: 2\r\n${C}\r\n{}"
	done
	vec "evasion: POST /v1.40/containers/x/exec -> denied by the rule" 403 "" \
		"POST /v1.40/containers/x/exec HTTP/1.1\r\n${H}Content-Length: 2\r\n${C}\r\n{}"
	vec "evasion: POST /v1.23.0.1/containers/x/start with a body -> 400, not relayed" 400 "" \
		"POST /v1.23.0.1/containers/x/start HTTP/1.1\r\n${H}Content-Length: 2\r\n${C}\r\n{}"
	# the daemon routes /containers/{name:.*}/...: a name may span
	# segments (a link alias such as web/db), and the guards take it so
	vec "evasion: a body on POST /containers/web/db/start (a name with '/') -> 403, not relayed" 403 "" \
		"POST /v1.41/containers/web/db/start HTTP/1.1\r\n${H}Content-Length: 2\r\n${C}\r\n{}"
	# libpod's attach is a hijack too: its Upgrade goes up
	vec "libpod attach keeps its upgrade" 200,200 \
		"$(lines 'POST /v4.0.0/libpod/containers/abc/attach?stream=1 HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n body=' "$RE")" \
		"POST /v4.0.0/libpod/containers/abc/attach?stream=1 HTTP/1.1\r\n${H}Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n$E"
	sg_stop evodd
fi

# ---------------------------------------------------------------------
# Differential property check: for random paths built from a small
# alphabet of segments, `sockguard match` (given the decoded path, as the
# proxy decodes once itself) and the running proxy agree: allow <=> the
# recorder received the request, and then with match's canonical path.
S_PROP_RULES='allow GET /containers/json
allow GET /containers/*/json
allow GET /exec/*/json
deny GET /containers/exec/**
allow GET /v1.41/**
allow GET /json;x
allow GET /containers/**/;x
deny * /**'
cfg=$(s_cfg prop "$S_PROP_RULES")
if sg_start prop "$cfg"; then
	S_SEED=${SG_PROP_SEED:-20250701}
	RANDOM=$S_SEED
	S_ALPHA=(containers json .. . %2e %2F v1.41 exec "" ";x" %2e%2e "json;x")
	S_N=${SG_PROP_N:-300}
	s_paths=() s_want=() s_np=()
	s_req=()
	for i in $(seq "$S_N"); do
		p=""
		for _ in $(seq $((RANDOM % 6 + 1))); do
			p="$p/${S_ALPHA[RANDOM % ${#S_ALPHA[@]}]}"
		done
		[ $((RANDOM % 4)) -eq 0 ] && p="/v1.41$p"
		s_paths[i]=$p
		dec=$(printf '%b' "${p//%/\\x}")
		mj=$("$SG" match -c "$cfg" -X GET --path "$dec" -o json 2>&1)
		case "$mj" in
		*'"decision":"allow"'*) s_want[i]=allow ;;
		*'"decision":"deny"'*) s_want[i]=deny ;;
		*) s_want[i]="error: $mj" ;;
		esac
		s_np[i]=$(printf '%s' "$mj" | sed -n 's/.*"normalized_path":"\([^"]*\)".*/\1/p')
		s_req+=("GET $p?i=$i HTTP/1.1\r\n${H}\r\n")
	done
	s_req+=("$E")
	m=$(rec_mark)
	out=$("$SGRAW" -u "$T/prop.sock" -w 3000 "${s_req[@]}")
	IFS=, read -r -a s_st <<<"$(printf '%s' "$out" | statuses)"
	rec_since "$m" | sed -n 's/^GET \([^?]*\)?i=\([0-9]*\) HTTP.*/\2 \1/p' >"$T/prop.got"
	bad=0 nallow=0
	for i in $(seq "$S_N"); do
		st=${s_st[i - 1]:-none}
		fwd=$(sed -n "s/^$i //p" "$T/prop.got")
		if [ "${s_want[i]}" = allow ]; then
			nallow=$((nallow + 1))
			# the forwarded path minus one version prefix is match's NP
			np=$(printf '%s' "$fwd" | sed -E 's#^/v[0-9]+(\.[0-9]+){0,2}/#/#')
			[ "$fwd" = /v1.41 ] && np=$fwd
			if [ "$st" != 200 ] || [ -z "$fwd" ] || [ "$np" != "${s_np[i]}" ]; then
				bad=$((bad + 1))
				[ "$bad" -le 5 ] && echo "#   ${s_paths[i]}: match allows (np ${s_np[i]}), proxy answered $st, upstream got [$fwd]"
			fi
		else
			if [ "$st" = 200 ] || [ -n "$fwd" ] || [ "${s_want[i]}" != deny ]; then
				bad=$((bad + 1))
				[ "$bad" -le 5 ] && echo "#   ${s_paths[i]}: match says ${s_want[i]}, proxy answered $st, upstream got [$fwd]"
			fi
		fi
	done
	echo "# property: $S_N random paths (seed $S_SEED, SG_PROP_SEED to change), $nallow allowed"
	check "property: all $S_N answered on one kept-alive connection" [ "${#s_st[@]}" -eq $((S_N + 1)) ]
	check "property: the policy decided both ways (not a vacuous check)" \
		sh -c "[ $nallow -ge 10 ] && [ $nallow -le $((S_N - 10)) ]"
	check "property: match and the running proxy agree on every path ($bad disagreements)" [ "$bad" -eq 0 ]
	sg_stop prop
else
	fail "property: sockguard starts"
fi

kill "$S_RECPID" 2>/dev/null
wait "$S_RECPID" 2>/dev/null

# An upstream that sends more than it framed: the bytes after a response
# must never answer a later request (response desync). The connection that
# carried them is not reused, whether they came with the response or
# later, while it sat idle in the pool (then sockguard drops it at once).
J_EVIL='HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nEVIL'
J_REQ='GET /containers/json HTTP/1.1\r\nHost: x\r\n\r\n'
# j_conns NAME: the upstream connection number of each request, in order
j_conns() { sed -n 's/^conn=\([0-9]*\) head=.*/\1/p' "$T/$1.rec"; }
# j_clean TEXT: TEXT holds nothing of the unframed response
j_clean() { ! printf '%s' "$1" | grep -q EVIL; }
# j_up NAME [SGRECORD OPTIONS]: a recorder on $T/NAME.up and an instance
# NAME in front of it
j_up() {
	local name=$1
	shift
	rm -f "$T/$name.out"
	"$SGRECORD" -l "$T/$name.up" -o "$T/$name.rec" "$@" >"$T/$name.out" 2>&1 &
	J_UPPID=$!
	SG_PIDS+=("$J_UPPID")
	wait_for 5 contains "$T/$name.out" "listening" || return 1
	cat >"$T/$name.yaml" <<YAML
listen:
  socket: $T/$name.sock
upstream:
  socket: $T/$name.up
${J_RT:+  request_timeout: $J_RT}
insecure_allow_read_exfiltration: true
rules:
  - { match: { method: GET, path: /containers/json }, action: allow }
  - { match: { method: POST, path: /post/** }, action: allow }
  - { match: { method: POST, path: /containers/*/attach }, action: allow }
YAML
	sg_start "$name" "$T/$name.yaml"
}
if j_up junk1 -j "$J_EVIL"; then
	out=$("$SGRAW" -u "$T/junk1.sock" -w 300 -p 100 "$J_REQ" "$J_REQ")
	out2=$("$SGRAW" -u "$T/junk1.sock" -w 300 "$J_REQ")
	check "junk after a response: both requests on one connection answered 200" \
		[ "$(printf '%s' "$out" | statuses)" = 200,200 ]
	check "junk after a response: a new client connection is answered 200" \
		[ "$(printf '%s' "$out2" | statuses)" = 200 ]
	check "junk after a response: no client ever sees the unframed bytes" \
		j_clean "$out$out2"
	check "junk after a response: every request went on a fresh upstream connection" \
		[ "$(j_conns junk1 | sort -u | wc -l)" -eq 3 ]
	sg_stop junk1
else
	fail "junk after a response: recorder and sockguard start"
fi
if j_up junk2 -j "$J_EVIL" -J 30; then
	out=$("$SGRAW" -u "$T/junk2.sock" -w 200 "$J_REQ")
	check "junk on an idle upstream connection: the first request is answered 200" \
		[ "$(printf '%s' "$out" | statuses)" = 200 ]
	jc=$(j_conns junk2)
	check "junk on an idle upstream connection: the upstream sends it" \
		wait_for 5 contains "$T/junk2.out" "junk $jc"
	check "junk on an idle upstream connection: sockguard closes that connection" \
		wait_for 5 contains "$T/junk2.out" "close $jc"
	out2=$("$SGRAW" -u "$T/junk2.sock" -w 200 "$J_REQ")
	check "junk on an idle upstream connection: the next request is answered 200" \
		[ "$(printf '%s' "$out2" | statuses)" = 200 ]
	check "junk on an idle upstream connection: the unframed bytes reach no client" \
		j_clean "$out$out2"
	check "junk on an idle upstream connection: the next request went on a new one" \
		[ "$(j_conns junk2 | sort -u | wc -l)" -eq 2 ]
	sg_stop junk2
else
	fail "junk on an idle upstream connection: recorder and sockguard start"
fi

# An upstream that answers before it read the request body. A response
# can then end while part of the body has not gone up yet: that
# connection must not go back to the pool, where the rest of the body
# would lead the next request (and an origin that discards an unread
# body after answering would take that request's head for body). Whether
# it happens depends on how much the socket takes (the recorder reads not
# a byte of the body before it answers), so the body sizes sweep a range
# around a unix socket's buffer; a size "hits" when the client
# connection stays open (the whole body was read from the client) while
# the upstream did not get it all before the answer.
if j_up early1 -e 300; then
	hits=0 bad=0
	for sz in $(seq 163840 8192 294912); do
		m=$(wc -l <"$T/early1.rec")
		"$SGRAW" -u "$T/early1.sock" -w 400 \
			"POST /post/a HTTP/1.1\r\nHost: d\r\nContent-Length: $sz\r\n\r\n" "@$sz:B" >"$T/early1.a"
		rc=$?
		"$SGRAW" -u "$T/early1.sock" -w 1500 \
			"GET /containers/json?second HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n" >"$T/early1.b"
		wait_for 5 grep -q 'head=GET /containers/json?second' "$T/early1.rec"
		new=$(tail -n +"$((m + 1))" "$T/early1.rec")
		echo "#   early answer: body $sz: client exit $rc, answers $(statuses <"$T/early1.a")/$(statuses <"$T/early1.b")"
		if [ "$rc" = 3 ] && [ "$(statuses <"$T/early1.a")" = 200 ] &&
			! printf '%s' "$new" | grep -q "^conn=[0-9]* head=POST /post/a.* body=B*\$"; then
			hits=$((hits + 1))
			# the second request must arrive as a request of its own,
			# and never inside the first one's body
			printf '%s\n' "$new" | grep -q '^conn=[0-9]* head=GET /containers/json?second' || bad=$((bad + 1))
			printf '%s\n' "$new" | grep '/post/a' | grep -q 'json?second' && bad=$((bad + 1))
		fi
		[ "$(statuses <"$T/early1.b")" = 200 ] || bad=$((bad + 1))
	done
	check "early answer: some body size left part of the request unsent when the response ended ($hits of 17)" \
		[ "$hits" -gt 0 ]
	check "early answer: that connection was not reused; the next request went up on its own ($bad bad)" \
		[ "$bad" = 0 ]
	sg_stop early1
else
	fail "early answer: recorder and sockguard start"
fi

# The same with a hijack: the daemon answers 101 before it read the
# request body. The tunnel starts once the body went up, and the client's
# stream bytes after it reach the daemon (they are not judged as HTTP, and
# the connection is not dropped).
A101='HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n'
if j_up early2 -e 300 -a "$A101"; then
	"$SGRAW" -u "$T/early2.sock" -w 1500 -P 1000 \
		"POST /containers/abc/attach?stream=1&stdin=1 HTTP/1.1\r\nHost: d\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 300000\r\n\r\n" \
		"@300000:B" "stdin-for-the-container" >"$T/early2.out"
	check "early 101: the client gets the 101 and nothing else" \
		[ "$(statuses <"$T/early2.out")" = 101 ]
	sg_stop early2
	check "early 101: the stream bytes after the body reached the daemon" \
		wait_for 5 grep -q 'stdin-for-the-container' "$T/early2.rec"
else
	fail "early 101: recorder and sockguard start"
fi

# A daemon head that sockguard refuses (a 101 to a request that asked for
# no upgrade; a chunked body whose first size line is bad): the client gets
# a 502 that says so, with its request ID, not a bare close, and the log
# shows that 502, not the daemon's status
B101='HTTP/1.1 101 Switching Protocols\r\nUpgrade: tcp\r\nConnection: Upgrade\r\n\r\n'
if j_up bad101 -r "$B101"; then
	out=$("$SGRAW" -u "$T/bad101.sock" -w 2000 "$J_REQ")
	check "refused daemon head (101 to a GET): the client gets a 502 (got $(printf '%s' "$out" | statuses))" \
		sh -c "[ '$(printf '%s' "$out" | statuses)' = 502 ] && printf '%s' '$out' | grep -qi '^X-Request-Id: '"
	check "refused daemon head (101 to a GET): logged as 502" \
		wait_for 5 sh -c "grep '\"msg\":\"request\"' '$T/bad101.log' | grep -q '\"status\":502'"
	sg_stop bad101
else
	fail "refused daemon head: recorder and sockguard start"
fi
# interim (1xx) heads before the answer: five are passed over, as Go's
# client does; a sixth is a daemon that may never stop, refused with 502
I100='HTTP/1.1 100 Continue\r\n\r\n'
R200='HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'
# j_answer NAME WANT LABEL RESPONSE: a recorder that answers RESPONSE to
# a request; the client must see the statuses WANT
j_answer() {
	local name=$1 want=$2 label=$3 out
	if j_up "$name" -r "$4"; then
		out=$("$SGRAW" -u "$T/$name.sock" -w 2000 "$J_REQ")
		check "$label (got $(printf '%s' "$out" | statuses))" \
			[ "$(printf '%s' "$out" | statuses)" = "$want" ]
		sg_stop "$name"
	else
		fail "$label: recorder and sockguard start"
	fi
}
j_answer int5 200 "five interim heads, then the answer: relayed as 200" \
	"$I100$I100$I100$I100$I100$R200"
j_answer int6 502 "six interim heads: refused with 502" \
	"$I100$I100$I100$I100$I100$I100$R200"
j_answer badck 502 "refused daemon body start (bad chunk size with the head): the client gets a 502" \
	'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n'

# An upstream that sends part of a chunked body and closes, the bytes and
# the close reaching sockguard together (it is stopped meanwhile), so one
# readiness report carries both: the read that takes the bytes is short,
# and no later report says end of file. The client must still see its
# response end at once, not wait for a timeout.
C_CUT='HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n'
if j_up cut1 -r "$C_CUT" -H; then
	"$SGRAW" -u "$T/cut1.sock" -w 5000 "$J_REQ" >"$T/cut1.resp" &
	rp=$!
	wait_for 5 grep -q 'head=GET /containers/json' "$T/cut1.rec"
	cc=$(sed -n 's/^conn=\([0-9]*\) head=GET \/containers\/json.*/\1/p' "$T/cut1.rec" | head -1)
	spid=$(cat "$T/cut1.pid")
	kill -STOP "$spid"
	kill -USR1 "$J_UPPID"
	wait_for 5 contains "$T/cut1.out" "close $cc"
	kill -CONT "$spid"
	wait "$rp"
	rc=$?
	check "cut with its close in one report: the client's connection ends at once (sgraw exit $rc; 3: it waited 5 s)" \
		[ "$rc" = 0 ]
	check "cut with its close in one report: the client got the bytes that came" \
		grep -q hello "$T/cut1.resp"
	check "cut with its close in one report: logged as upstream_response_truncated" \
		wait_for 5 contains "$T/cut1.log" '"reason_code":"upstream_response_truncated"'
	sg_stop cut1
else
	fail "cut with its close in one report: recorder and sockguard start"
fi

# Expect: 100-continue, the 100 passed on, then the request deadline:
# the client gets its 504 after the interim 100, not a bare close
if J_RT=1s j_up exp1 -H; then
	out=$("$SGRAW" -u "$T/exp1.sock" -w 4000 -p 300 \
		'POST /post/a HTTP/1.1\r\nHost: d\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n' '{}')
	check "expect: the request deadline after the 100 still answers 504 (got $(printf '%s' "$out" | statuses))" \
		[ "$(printf '%s' "$out" | statuses)" = 100,504 ]
	check "expect: ... the body had gone up whole" \
		wait_for 5 grep -q 'body={}' "$T/exp1.rec"
	sg_stop exp1
else
	fail "expect: recorder and sockguard start"
fi

# The same on the client side: a request and the client's shutdown that
# sockguard finds together must be answered, and the connection then
# closed at once, not left open until the idle timeout.
if j_up half1; then
	spid=$(cat "$T/half1.pid")
	kill -STOP "$spid"
	"$SGRAW" -u "$T/half1.sock" -s -m -w 5000 "$J_REQ" >"$T/half1.resp" 2>"$T/half1.err" &
	rp=$!
	wait_for 5 contains "$T/half1.err" sent
	kill -CONT "$spid"
	wait "$rp"
	rc=$?
	check "half-close with the request in one report: answered 200" \
		[ "$(statuses <"$T/half1.resp")" = 200 ]
	check "half-close with the request in one report: then closed at once (sgraw exit $rc; 3: it waited 5 s)" \
		[ "$rc" = 0 ]
	sg_stop half1
else
	fail "half-close with the request in one report: recorder and sockguard start"
fi
