#!/usr/bin/env bash
# Runs sockguard on examples/sockguard.yaml in front of the Docker daemon
# at /var/run/docker.sock. Without a daemon there, starts a private one
# (the same recipe the tests use) and fronts that, stopping it on exit.
set -eu
cd "$(dirname "$0")/.."
CFG=${SOCKGUARD_CONFIG:-examples/sockguard.yaml}
UP=/var/run/docker.sock
D=

stop_private() {
	[ -n "$D" ] || return 0
	if [ -f "$D/docker.pid" ]; then
		kill "$(cat "$D/docker.pid")" 2>/dev/null || true
		for _ in $(seq 100); do [ -e "$D/docker.pid" ] || break; sleep 0.1; done
	fi
	rm -rf "$D"
}

if ! curl -sf --max-time 3 --unix-socket "$UP" http://docker/_ping >/dev/null 2>&1; then
	if ! command -v dockerd >/dev/null; then
		echo "no Docker daemon at $UP and no dockerd to start (run: make deps)" >&2
		exit 1
	fi
	D=$(mktemp -d /tmp/sockguard-dockerd.XXXXXX)
	echo "no Docker daemon at $UP: starting a private dockerd in $D"
	dockerd --host "unix://$D/docker.sock" --data-root "$D/data" \
		--exec-root "$D/exec" --pidfile "$D/docker.pid" \
		--iptables=false --ip6tables=false --bridge=none \
		--storage-driver=vfs >"$D/dockerd.log" 2>&1 &
	trap stop_private EXIT
	for _ in $(seq 300); do
		curl -sf --unix-socket "$D/docker.sock" http://docker/_ping >/dev/null 2>&1 && break
		sleep 0.1
	done
	UP=$D/docker.sock
fi

LISTEN=$(./sockguard check -c "$CFG" | sed -n 's/^listener [^:]*: \(unix\|tcp\) \([^ ]*\).*/\1 \2/p' | head -1)
case "$LISTEN" in
unix\ *) HOSTLINE="DOCKER_HOST=unix://${LISTEN#unix }" ;;
*) HOSTLINE="DOCKER_HOST=tcp://${LISTEN#tcp }" ;;
esac
echo "sockguard fronts $UP; point a Docker client at it with:"
echo
echo "    export $HOSTLINE"
echo
./sockguard run -c "$CFG" --upstream-socket "$UP" &
SG=$!
trap 'kill -TERM $SG 2>/dev/null; wait $SG; stop_private' EXIT
trap 'kill -TERM $SG 2>/dev/null' INT TERM
wait $SG || true
