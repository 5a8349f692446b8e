# shellcheck shell=bash
# Helpers for the integration suite: a private dockerd (the recipe in the
# design notes), sockguard instances, assertions. Sourced by run.sh.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SG=${SG:-$ROOT/sockguard}
SGTOOLS=${SGTOOLS:-$ROOT/build/tools}
SGRAW=$SGTOOLS/sgraw
T=$(mktemp -d /tmp/sgt.XXXXXX)
DK=$T/dk
DOCKER_SOCK=$DK/docker.sock
PASS=0
FAIL=0
SKIP=0
SG_PIDS=()
SG_PREFIX=() # a command sg_start runs sockguard under (ip netns exec NS)

pass() { PASS=$((PASS + 1)); echo "ok - $*"; }
fail() { FAIL=$((FAIL + 1)); echo "not ok - $*"; }
skip() { SKIP=$((SKIP + 1)); echo "skip - $*"; }

# check NAME CMD...: pass when CMD succeeds
check() {
	local name=$1
	shift
	if "$@"; then pass "$name"; else fail "$name"; fi
}

# quiet CMD...: CMD with its standard output dropped (for check)
quiet() { "$@" >/dev/null; }

# wait_for SECONDS CMD...: poll a condition (never a fixed sleep)
wait_for() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@"; do
		[ "$SECONDS" -ge "$deadline" ] && return 1
		sleep 0.05
	done
}

# contains FILE PATTERN (fixed string)
contains() { grep -qF -- "$2" "$1"; }
lacks() { ! grep -qF -- "$2" "$1"; }

dk() { docker -H "unix://$DOCKER_SOCK" "$@"; }

# free_port: a TCP port on 127.0.0.1 nothing listens on
free_port() {
	local p
	for _ in $(seq 50); do
		p=$((20000 + RANDOM % 30000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

# mk_certs DIR: a CA, a daemon certificate for dockerd.internal and
# 127.0.0.1, a client certificate, and a second CA with its own client
# certificate. DIR/client holds ca.pem cert.pem key.pem (DOCKER_CERT_PATH).
mk_certs() {
	local d=$1 o="-days 2 -sha256"
	mkdir -p "$d/client" "$d/client2" "$d/other" "$d/otherclient"
	(
		cd "$d" || exit 1
		newkey() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
		newkey ca-key.pem
		openssl req -x509 -new -key ca-key.pem -out ca.pem $o -subj /CN=sockguard-test-ca 2>/dev/null
		newkey server-key.pem
		openssl req -new -key server-key.pem -out server.csr -subj /CN=dockerd.internal 2>/dev/null
		printf 'subjectAltName=DNS:dockerd.internal,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >server.ext
		openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial \
			-out server-cert.pem $o -extfile server.ext 2>/dev/null
		newkey client/key.pem
		openssl req -new -key client/key.pem -out client.csr -subj /CN=sockguard 2>/dev/null
		printf 'extendedKeyUsage=clientAuth\n' >client.ext
		openssl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial \
			-out client/cert.pem $o -extfile client.ext 2>/dev/null
		cp ca.pem client/ca.pem
		# a second client of the same CA: CN=ops-client, a SPIFFE URI SAN
		mkdir -p client2
		newkey client2/key.pem
		openssl req -new -key client2/key.pem -out client2.csr -subj /CN=ops-client 2>/dev/null
		printf 'extendedKeyUsage=clientAuth\nsubjectAltName=URI:spiffe://sockguard.test/ops\n' >client2.ext
		openssl x509 -req -in client2.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial \
			-out client2/cert.pem $o -extfile client2.ext 2>/dev/null
		cp ca.pem client2/ca.pem
		# a second, unrelated CA and a client certificate it signed
		newkey other/ca-key.pem
		openssl req -x509 -new -key other/ca-key.pem -out other/ca.pem $o -subj /CN=other-ca 2>/dev/null
		newkey otherclient/key.pem
		openssl req -new -key otherclient/key.pem -out other.csr -subj /CN=intruder 2>/dev/null
		openssl x509 -req -in other.csr -CA other/ca.pem -CAkey other/ca-key.pem -CAcreateserial \
			-out otherclient/cert.pem $o -extfile client.ext 2>/dev/null
		cp other/ca.pem otherclient/ca.pem
	)
	[ -s "$d/client/cert.pem" ] && [ -s "$d/server-cert.pem" ]
}

dk_start() {
	mkdir -p "$DK"
	if ! command -v dockerd >/dev/null; then
		echo "dockerd is not installed (apt-get install docker.io)" >&2
		return 1
	fi
	CERTS=$T/certs
	mk_certs "$CERTS" || { echo "could not make test certificates" >&2; return 1; }
	DK_TLS_PORT=$(free_port)
	dockerd --debug --host "unix://$DOCKER_SOCK" \
		--host "tcp://127.0.0.1:$DK_TLS_PORT" --tlsverify \
		--tlscacert "$CERTS/ca.pem" --tlscert "$CERTS/server-cert.pem" \
		--tlskey "$CERTS/server-key.pem" \
		--data-root "$DK/data" --exec-root "$DK/exec" \
		--pidfile "$DK/docker.pid" --iptables=false --ip6tables=false \
		--bridge=none --storage-driver=vfs >"$DK/dockerd.log" 2>&1 &
	echo $! >"$DK/dockerd.ppid"
	if ! wait_for 60 curl -sf --unix-socket "$DOCKER_SOCK" \
		http://docker/_ping -o /dev/null; then
		echo "dockerd did not become ready; last log lines:" >&2
		tail -20 "$DK/dockerd.log" >&2
		return 1
	fi
	mkdir -p "$DK/rootfs/bin"
	cp "$(command -v busybox)" "$DK/rootfs/bin/busybox"
	for c in sh echo cat sleep ls head true; do
		ln -sf busybox "$DK/rootfs/bin/$c"
	done
	tar -C "$DK/rootfs" -cf "$DK/bb.tar" . &&
		dk import "$DK/bb.tar" bb:latest >/dev/null
}

dk_stop() {
	local pid
	[ -f "$DK/docker.pid" ] || return 0
	pid=$(cat "$DK/docker.pid")
	# containers first, quickly, so the daemon stops promptly
	dk ps -aq 2>/dev/null | xargs -r docker -H "unix://$DOCKER_SOCK" \
		rm -f >/dev/null 2>&1
	kill "$pid" 2>/dev/null
	wait_for 30 test ! -e "$DK/docker.pid" || kill -9 "$pid" 2>/dev/null
	wait_for 10 sh -c "! kill -0 $pid 2>/dev/null"
}

# Marks the daemon log so later checks only look at what came after.
dk_mark() { wc -l <"$DK/dockerd.log"; }
# dk_saw_since MARK TEXT: the daemon logged an API call containing TEXT
dk_saw_since() {
	tail -n +"$(($1 + 1))" "$DK/dockerd.log" | grep "Calling" | grep -qF -- "$2"
}

# sg_start NAME CONFIG [ARGS...]: start sockguard, wait until it serves
sg_start() {
	local name=$1 cfg=$2
	shift 2
	# the background job truncates its log only once it runs: remove the
	# last instance's log first, or its "started" line could be read
	rm -f "$T/$name.log"
	# SG_PREFIX: a command to run it under (ip netns exec NS), if any
	"${SG_PREFIX[@]}" "$SG" run -c "$cfg" "$@" >"$T/$name.log" 2>&1 &
	local pid=$!
	echo "$pid" >"$T/$name.pid"
	SG_PIDS+=("$pid")
	if ! wait_for 10 grep -qs '"sockguard started"' "$T/$name.log"; then
		echo "sockguard $name did not start:" >&2
		cat "$T/$name.log" >&2
		return 1
	fi
}

sg_stop() {
	local pid
	pid=$(cat "$T/$1.pid" 2>/dev/null) || return 0
	kill -TERM "$pid" 2>/dev/null
	{ wait "$pid"; } 2>/dev/null
	return 0
}

sg_stop_all() {
	local p
	for p in "${SG_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${SG_PIDS[@]}"; do wait "$p" 2>/dev/null; done
	SG_PIDS=()
}

# write_cfg NAME RULES_DSL [EXTRA_YAML]: config with a unix listener
# $T/NAME.sock in front of the test daemon and rules from a DSL file.
write_cfg() {
	local name=$1 rules=$2 extra=${3:-}
	printf '%s\n' "$rules" >"$T/$name.rules"
	cat >"$T/$name.yaml" <<YAML
listen:
  socket: $T/$name.sock
upstream:
  socket: $DOCKER_SOCK
rules_file: $name.rules
$extra
YAML
	echo "$T/$name.yaml"
}

# raw NAME ARGS...: sgraw against instance NAME's socket
raw() {
	local name=$1
	shift
	"$SGRAW" -u "$T/$name.sock" "$@"
}

# sgd NAME ARGS...: docker CLI through instance NAME
sgd() {
	local name=$1
	shift
	DOCKER_HOST="unix://$T/$name.sock" docker "$@"
}

cleanup() {
	sg_stop_all
	dk_stop
	# SG_KEEP_TMP=1 keeps the logs and outputs for a look at a failure
	if [ -n "${SG_KEEP_TMP:-}" ]; then echo "# kept $T" >&2; else rm -rf "$T"; fi
}
