# Long-running checks, not part of `make check` (included by GNUmakefile
# with `-include tests/soak.mk`).
#   make soak [SOAK_SECONDS=600]  mixed load, a reload every 10 s and a
#                                 failover every 30 s against a private
#                                 dockerd; fails on errors outside the
#                                 failover windows, crashes, RSS/fd growth
#   make valgrind                 a slice of the integration flow with
#                                 sockguard under valgrind; fails on any
#                                 invalid access or definite/indirect leak
.PHONY: soak valgrind
SOAK_SECONDS ?= 600

soak: $(BIN) $(TOOLS)
	SG=$(abspath $(BIN)) SGTOOLS=$(abspath $(O)/tools) \
		SOAK_SECONDS=$(SOAK_SECONDS) tests/soak.sh

valgrind: $(BIN) $(TOOLS)
	SG=$(abspath $(BIN)) SGTOOLS=$(abspath $(O)/tools) tests/valgrind.sh
