# Benchmarks (included by GNUmakefile). `make bench` runs the full
# side-by-side comparison (mock direct, sockguard, HAProxy Tecnativa-style,
# HAProxy keep-alive) and rewrites BENCHMARKS.md; `make bench-smoke` is a
# few-second correctness run for CI that fails only on errors or crashes.
# BENCH_SECONDS (default 5) sets the measured seconds per scenario.
BENCH_O      := $(O)/bench
BENCH_CFLAGS := -std=c11 -O2 -Wall -Wextra
BENCH_SSL    := $(shell $(PKG_CONFIG) --cflags --libs openssl 2>/dev/null || echo -lssl -lcrypto)
BENCH_TOOLS  := $(BENCH_O)/loadgen $(BENCH_O)/mockd

.PHONY: bench bench-smoke bench-tools
bench-tools: $(BENCH_TOOLS)

$(BENCH_O)/loadgen: bench/loadgen.c bench/bench.mk
	@mkdir -p $(@D)
	$(CC) $(BENCH_CFLAGS) -o $@ $< $(BENCH_SSL)

$(BENCH_O)/mockd: bench/mockd.c bench/bench.mk
	@mkdir -p $(@D)
	$(CC) $(BENCH_CFLAGS) -o $@ $< -lpthread

bench: sockguard $(BENCH_TOOLS)
	BENCH_SECONDS=$${BENCH_SECONDS:-5} BENCH_BUILD=$(BENCH_O) bash bench/run.sh full

bench-smoke: sockguard $(BENCH_TOOLS)
	BENCH_BUILD=$(BENCH_O) bash bench/run.sh smoke
