#!/usr/bin/env bash
# Installs the Debian packages sockguard needs to build and test, when
# they are missing. Build: a C compiler, make, pkg-config, re2c, bison,
# libyaml, OpenSSL, Check. Tests: docker.io (dockerd + CLI),
# busybox-static (the test image), openssl, curl, iproute2 (ss),
# libnghttp2-dev (a gRPC test client), strace; clang +
# libFuzzer for fuzzing, valgrind, haproxy + gnuplot for benchmarks.
set -eu
need=()
have_cmd() { command -v "$1" >/dev/null 2>&1; }
have_pc() { pkg-config --exists "$1" 2>/dev/null; }

have_cmd cc || need+=(gcc)
have_cmd make || need+=(make)
have_cmd pkg-config || need+=(pkg-config)
have_cmd re2c || need+=(re2c)
have_cmd bison || need+=(bison)
have_cmd git || need+=(git)
have_pc yaml-0.1 || need+=(libyaml-dev)
have_pc openssl || need+=(libssl-dev)
have_pc check || need+=(check)
# check's pkg-config file links -lsubunit
[ -e /usr/lib/x86_64-linux-gnu/libsubunit.so ] || ls /usr/lib/*/libsubunit.so >/dev/null 2>&1 || need+=(libsubunit-dev)
have_cmd dockerd || need+=(docker.io)
have_cmd busybox || need+=(busybox-static)
have_cmd openssl || need+=(openssl)
have_cmd curl || need+=(curl)
have_cmd ss || need+=(iproute2)
# tests/tools/sggrpc: HTTP/2 for the BuildKit tunnel test
have_pc libnghttp2 || need+=(libnghttp2-dev)
# fuzzing (make fuzz): clang with the libFuzzer runtime
have_cmd clang || need+=(clang)
ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1 ||
	need+=(libclang-rt-14-dev)
# benchmarks (make bench): HAProxy side by side, gnuplot for the chart
have_cmd haproxy || [ -x /usr/sbin/haproxy ] || need+=(haproxy)
have_cmd gnuplot || need+=(gnuplot-nox)
have_cmd valgrind || need+=(valgrind)
# a test widens a race window by delaying a system call
have_cmd strace || need+=(strace)

if [ ${#need[@]} -eq 0 ]; then
	echo "deps: everything is installed"
	exit 0
fi
echo "deps: installing ${need[*]}"
SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
