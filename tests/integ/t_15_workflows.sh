# shellcheck shell=bash
# Everyday docker CLI workflows through sockguard to the real daemon:
# TTYs and resizes, copying into containers, the classic builder, image
# load, tags, commits, volumes, waits and prunes.

cfg=$(write_cfg wf 'deny POST /session
deny POST /grpc
deny POST /moby.buildkit.v1.Control/**
allow * /**' "insecure_allow_read_exfiltration: true")
sg_start wf "$cfg" || { fail "workflows: sockguard starts"; return; }
wfd() { DOCKER_HOST="unix://$T/wf.sock" docker "$@"; }

# TTYs: run -it and exec -it under a pseudo-terminal; the CLI also sends
# the terminal's size (POST .../resize), which must reach the daemon
mark=$(dk_mark)
check "workflows: run -it under a terminal" \
	sh -c "DOCKER_HOST=unix://$T/wf.sock timeout 30 script -qec 'stty rows 37 cols 101; docker run -it --rm --network none bb:latest sh -c \"sleep 1; echo tty-\\\$((6*7))\"' /dev/null | tr -d '\r' | grep -aq tty-42"
check "workflows: ... its terminal size reached the daemon" \
	wait_for 5 dk_saw_since "$mark" "/resize?h=37&w=101"
wfd run -d --name wft --network none bb:latest sleep 300 >/dev/null
mark=$(dk_mark)
check "workflows: exec -it under a terminal" \
	sh -c "DOCKER_HOST=unix://$T/wf.sock timeout 30 script -qec 'stty rows 29 cols 77; docker exec -it wft sh -c \"sleep 1; echo tty-\\\$((6*8))\"' /dev/null | tr -d '\r' | grep -aq tty-48"
check "workflows: ... its terminal size reached the daemon" \
	wait_for 5 dk_saw_since "$mark" "/resize?h=29&w=77"
check "workflows: exec -it delivers typed input" \
	sh -c "printf 'echo typed-\$((40+2))\nexit\n' | DOCKER_HOST=unix://$T/wf.sock timeout 30 script -qec 'docker exec -it wft sh' /dev/null | tr -d '\r' | grep -q typed-42"

# large streams both ways at once through a hijacked attach: 20 MB in,
# the same 20 MB back out while still going in (backpressure on both
# sides, then the half-close)
head -c 20000000 /dev/urandom >"$T/big.bin"
check "workflows: run -i cat relays 20 MB both ways at once, byte for byte" \
	sh -c "DOCKER_HOST=unix://$T/wf.sock timeout 120 docker run -i --rm --network none bb:latest cat <'$T/big.bin' | cmp -s - '$T/big.bin'"
check "workflows: exec -i stores 20 MB of stdin whole" \
	sh -c "DOCKER_HOST=unix://$T/wf.sock timeout 120 docker exec -i wft sh -c 'cat > /big.bin' <'$T/big.bin' && [ \"\$(docker -H unix://$DOCKER_SOCK exec wft sh -c 'md5sum /big.bin' | cut -d' ' -f1)\" = \"\$(md5sum <'$T/big.bin' | cut -d' ' -f1)\" ]"

# docker cp in both directions: HEAD and PUT archive with a tar body
head -c 300000 /dev/urandom >"$T/cp-in.bin"
check "workflows: docker cp into a container" quiet wfd cp "$T/cp-in.bin" wft:/in.bin
check "workflows: ... arrives byte for byte" \
	sh -c "[ \"\$(docker -H unix://$DOCKER_SOCK exec wft sh -c \"md5sum /in.bin\" | cut -d' ' -f1)\" = \"\$(md5sum <'$T/cp-in.bin' | cut -d' ' -f1)\" ]"
wfd cp wft:/in.bin "$T/cp-out.bin" 2>/dev/null
check "workflows: ... and back out" cmp -s "$T/cp-in.bin" "$T/cp-out.bin"

# the classic builder: the context goes up as the request body, the
# progress comes back as a stream
mkdir -p "$T/ctx"
printf 'FROM bb:latest\nCOPY payload /payload\nRUN wc -c /payload > /size\n' >"$T/ctx/Dockerfile"
head -c 2000000 /dev/urandom >"$T/ctx/payload"
check "workflows: docker build (classic builder) with a 2 MB context" \
	sh -c "DOCKER_HOST=unix://$T/wf.sock DOCKER_BUILDKIT=0 timeout 120 docker build -q --network none -t wf-built:1 '$T/ctx' >'$T/build.out' 2>&1"
check "workflows: ... the image holds the context" \
	sh -c "docker -H unix://$DOCKER_SOCK run --rm --network none wf-built:1 cat /size | grep -q '^2000000 '"

# a build sends every stored registry login in one header,
# X-Registry-Config: with many registries it outgrows 32 KiB
mkdir -p "$T/manyauth"
{
	printf '{"auths":{'
	for i in $(seq 60); do
		[ "$i" -gt 1 ] && printf ','
		printf '"reg%d.example:5000":{"auth":"%s"}' "$i" \
			"$(printf 'user%d:%s' "$i" "$(head -c 1500 /dev/urandom | base64 -w0)" | base64 -w0)"
	done
	printf '}}\n'
} >"$T/manyauth/config.json"
check "workflows: docker build with 60 registry logins stored (a 230 KB head)" \
	sh -c "DOCKER_CONFIG='$T/manyauth' DOCKER_HOST=unix://$T/wf.sock DOCKER_BUILDKIT=0 timeout 120 docker build -q --network none -t wf-built:2 '$T/ctx' >'$T/build2.out' 2>&1"
check "workflows: ... the image holds the context" \
	sh -c "docker -H unix://$DOCKER_SOCK run --rm --network none wf-built:2 cat /size | grep -q '^2000000 '"
dk rmi wf-built:2 >/dev/null 2>&1

# save and load: a large body up (POST /images/load)
dk save wf-built:1 >"$T/wf.tar"
dk rmi wf-built:1 >/dev/null
check "workflows: docker load of a saved image" \
	sh -c "DOCKER_HOST=unix://$T/wf.sock timeout 120 docker load -i '$T/wf.tar' | grep -q 'wf-built:1'"
check "workflows: ... the loaded image runs" \
	sh -c "docker -H unix://$DOCKER_SOCK run --rm --network none wf-built:1 cat /size | grep -q '^2000000 '"

# tags, commits, image removal
check "workflows: docker tag" quiet wfd tag wf-built:1 wf-built:alias
check "workflows: docker commit" sh -c "DOCKER_HOST=unix://$T/wf.sock docker commit -m note wft wf-committed:1 | grep -q sha256"
check "workflows: docker rmi" quiet wfd rmi wf-built:alias wf-committed:1

# volumes: create, use, inspect, remove
check "workflows: docker volume create" quiet wfd volume create wf-vol
check "workflows: a container writes into the volume" \
	wfd run --rm --network none -v wf-vol:/v bb:latest sh -c 'echo in-volume > /v/f'
check "workflows: ... and another reads it" \
	sh -c "DOCKER_HOST=unix://$T/wf.sock docker run --rm --network none -v wf-vol:/v bb:latest cat /v/f | grep -qx in-volume"
check "workflows: docker volume ls and inspect" \
	sh -c "DOCKER_HOST=unix://$T/wf.sock docker volume inspect wf-vol --format '{{.Name}}' | grep -qx wf-vol"
check "workflows: docker volume rm" quiet wfd volume rm wf-vol

# wait: the exit code of a container that ends later
cid=$(wfd run -d --network none bb:latest sh -c 'sleep 1; exit 7')
check "workflows: docker wait returns the exit code" \
	sh -c "[ \"\$(DOCKER_HOST=unix://$T/wf.sock timeout 30 docker wait $cid)\" = 7 ]"
check "workflows: docker container prune" \
	sh -c "DOCKER_HOST=unix://$T/wf.sock docker container prune -f | grep -q $cid"
check "workflows: docker system df" sh -c "DOCKER_HOST=unix://$T/wf.sock docker system df | grep -q Images"
check "workflows: docker inspect, top and diff" \
	sh -c "wfx() { DOCKER_HOST=unix://$T/wf.sock docker \"\$@\"; }; wfx inspect wft >/dev/null && wfx top wft | grep -q sleep && wfx diff wft | grep -q /in.bin"
check "workflows: docker stop then start" sh -c "DOCKER_HOST=unix://$T/wf.sock docker stop -t 1 wft >/dev/null && DOCKER_HOST=unix://$T/wf.sock docker start wft >/dev/null"
check "workflows: docker rename and rm -f" sh -c "DOCKER_HOST=unix://$T/wf.sock docker rename wft wft2 && DOCKER_HOST=unix://$T/wf.sock docker rm -f wft2 >/dev/null"
dk rmi wf-built:1 >/dev/null 2>&1
check "workflows: no request failed in the proxy (no 502/504 logged)" \
	sh -c "! grep -E '\"status\":50[24]' '$T/wf.log'"

# BuildKit tunnels (POST /session, /grpc upgrading to h2c) are relayed
# unseen once insecure_accept_opaque_buildkit_tunnels acknowledges it: the
# 101 comes through, then HTTP/2 both ways (the daemon acknowledges the
# SETTINGS frame sent through the tunnel)
cfg=$(write_cfg bk 'allow GET /_ping
allow POST /session
allow POST /grpc
deny * /**' 'insecure_accept_opaque_buildkit_tunnels: true')
if sg_start bk "$cfg"; then
	UP='Upgrade: h2c\r\nConnection: Upgrade\r\nContent-Length: 0\r\n'
	SETTINGS='\x00\x00\x00\x04\x00\x00\x00\x00\x00'
	ACK='000000040100000000'
	raw bk -w 2000 -p 300 "POST /v1.41/grpc HTTP/1.1\r\nHost: d\r\n${UP}\r\n" \
		"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n${SETTINGS}" >"$T/bk-grpc.out"
	check "buildkit: POST /grpc upgrades to h2c through sockguard (101)" \
		sh -c "head -1 '$T/bk-grpc.out' | grep -q '^HTTP/1.1 101 ' && grep -qi '^Upgrade: h2c' '$T/bk-grpc.out'"
	check "buildkit: ... and the daemon's gRPC server acknowledges our SETTINGS" \
		sh -c "od -An -tx1 '$T/bk-grpc.out' | tr -d ' \n' | grep -q '$ACK'"
	raw bk -w 2000 -p 300 "POST /v1.41/session HTTP/1.1\r\nHost: d\r\n${UP}X-Docker-Expose-Session-Uuid: sgtest\r\nX-Docker-Expose-Session-Name: sgtest\r\nX-Docker-Expose-Session-Sharedkey: sgtest\r\n\r\n" \
		"${SETTINGS}" >"$T/bk-session.out"
	check "buildkit: POST /session upgrades, the daemon opens HTTP/2 as the client" \
		sh -c "head -1 '$T/bk-session.out' | grep -q '^HTTP/1.1 101 ' && grep -aq '^PRI \* HTTP/2.0' '$T/bk-session.out'"
	check "buildkit: ... and acknowledges our SETTINGS" \
		sh -c "od -An -tx1 '$T/bk-session.out' | tr -d ' \n' | grep -q '$ACK'"
	# a real call to the daemon's BuildKit controller over the tunnel
	"$SGTOOLS/sggrpc" -u "$DOCKER_SOCK" -P /v1.41 /moby.buildkit.v1.Control/ListWorkers \
		>"$T/bk-direct.out" 2>"$T/bk-direct.err"
	"$SGTOOLS/sggrpc" -u "$T/bk.sock" -P /v1.41 /moby.buildkit.v1.Control/ListWorkers \
		>"$T/bk-lw.out" 2>"$T/bk-lw.err"
	rc=$?
	check "buildkit: a gRPC call (Control/ListWorkers) through the tunnel succeeds" \
		sh -c "[ $rc -eq 0 ] && grep -q 'status=200 grpc-status=0' '$T/bk-lw.err' && grep -q linux '$T/bk-lw.out'"
	check "buildkit: ... with the daemon's own answer" cmp -s "$T/bk-direct.out" "$T/bk-lw.out"
	"$SGTOOLS/sggrpc" -u "$T/wf.sock" -P /v1.41 /moby.buildkit.v1.Control/ListWorkers \
		>/dev/null 2>"$T/bk-wf.err"
	rc=$?
	check "buildkit: rules that deny /grpc refuse the upgrade (403)" \
		sh -c "[ $rc -eq 2 ] && grep -q '^HTTP/1.1 403 ' '$T/bk-wf.err'"
	check "buildkit: the tunnels are logged as 101" \
		wait_for 5 sh -c "[ \$(grep '\"status\":101' '$T/bk.log' | grep -c '\"normalized_path\":\"/\(grpc\|session\)\"') -eq 3 ]"
	sg_stop bk
else
	fail "buildkit: sockguard starts"
fi
