#!/usr/bin/env bash
# Integration suite: the real dockerd and the stock docker CLI through
# sockguard. Needs root (dockerd). Prints "N passed, N failed" at the end.
set -u
. "$(dirname "$0")/lib.sh"
trap cleanup EXIT

if [ "$(id -u)" != 0 ]; then
	echo "############################################################"
	echo "# SKIPPING the integration suite: dockerd needs root."
	echo "############################################################"
	echo "0 passed, 0 failed, 1 skipped"
	exit 0
fi
if ! dk_start; then
	echo "############################################################"
	echo "# The private dockerd could not start: integration FAILED."
	echo "############################################################"
	echo "0 passed, 1 failed"
	exit 1
fi

only=${1:-}
for f in "$(dirname "$0")"/t_*.sh; do
	case "$f" in *"$only"*) ;; *) continue ;; esac
	echo "# $(basename "$f")"
	. "$f"
	sg_stop_all
done

echo "$PASS passed, $FAIL failed, $SKIP skipped"
[ "$FAIL" -eq 0 ]
