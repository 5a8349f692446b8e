# tests/fuzz/fuzz.mk: libFuzzer harnesses (included by GNUmakefile).
#
#   make fuzz [FUZZ_SECONDS=60] [FUZZ_HARNESSES="fuzz_path fuzz_glob"]
#       build every harness with clang (ASan + UBSan + libFuzzer) into
#       $(O)/fuzz/, fuzz each for FUZZ_SECONDS on a copy of its seed
#       corpus; fails when any harness crashes, leaks or times out.
#       Harnesses are independent targets, so `make -j6 fuzz` runs them
#       side by side. Findings go to $(O)/fuzz/crashes/HARNESS/.
#   make fuzz-regress
#       run every harness once over tests/fuzz/corpus/HARNESS/* and
#       tests/fuzz/crashes/HARNESS/* (no mutation): the CI regression.
#   make fuzz-build
#       only build the harnesses.
#
# Needs clang with the libFuzzer runtime (Debian: clang, clang-14 and
# libclang-rt-14-dev, which ships libclang_rt.fuzzer-x86_64.a).

FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_FLAGS   ?=
FUZZ_OPT     ?= -O1 -g -fno-omit-frame-pointer
FUZZ_SAN     ?= address,undefined

FUZZ_SRC := tests/fuzz
FUZZ_DIR := $(O)/fuzz
FUZZ_ALL := $(patsubst $(FUZZ_SRC)/%.c,%,$(sort $(wildcard $(FUZZ_SRC)/fuzz_*.c)))
FUZZ_HARNESSES ?= $(FUZZ_ALL)
FUZZ_BINS := $(FUZZ_ALL:%=$(FUZZ_DIR)/%)

# No version stamps: they change every second and would force rebuilds.
FUZZ_CPPFLAGS := -Iinclude -I$(GEN) -D_POSIX_C_SOURCE=200809L \
	-D_DEFAULT_SOURCE -D_GNU_SOURCE
FUZZ_CFLAGS := $(WARN) $(FUZZ_OPT) -fsanitize=$(FUZZ_SAN) \
	-fno-sanitize-recover=all $(PKG_CFLAGS)
FUZZ_LIBS := $(LIBS)

# The whole library, instrumented; the archive lets each harness link
# only what it uses.
FUZZ_OBJS := $(LIB_SRCS:%.c=$(FUZZ_DIR)/obj/%.o) \
	$(GEN_SRCS:$(GEN)/%.c=$(FUZZ_DIR)/obj/gen/%.o)
FUZZ_LIB := $(FUZZ_DIR)/libsockguard_fuzz.a

# Per-harness extras: the config loader's open() is redirected to the
# harness (no file access); the glob harness may exceed the 4095-byte
# pattern limit.
FUZZ_LDFLAGS_fuzz_config := -Wl,--wrap=open -Wl,--wrap=open64
FUZZ_RUNFLAGS_fuzz_glob := -max_len=4200
FUZZ_RUNFLAGS_fuzz_http_req := -max_len=8192
# past 16 KiB of framing, where Go's allowance for tiny chunks runs out
FUZZ_RUNFLAGS_fuzz_chunked := -max_len=24576

.PHONY: fuzz fuzz-build fuzz-regress

fuzz-build: $(FUZZ_BINS)

$(FUZZ_DIR)/.opts: FORCE
	@mkdir -p $(@D)
	@echo '$(FUZZ_CC) $(FUZZ_OPT) $(FUZZ_SAN) $(EV)' | cmp -s - $@ || \
		echo '$(FUZZ_CC) $(FUZZ_OPT) $(FUZZ_SAN) $(EV)' >$@

FUZZ_COV := -fsanitize=fuzzer-no-link \
	-fsanitize-coverage-ignorelist=$(FUZZ_SRC)/coverage.ignore

$(FUZZ_DIR)/obj/%.o: %.c $(FUZZ_DIR)/.opts $(FUZZ_SRC)/coverage.ignore \
		| $(GEN_SRCS) $(GEN)/dsl_parse.h
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CPPFLAGS) $(FUZZ_CFLAGS) $(FUZZ_COV) \
		-MMD -MP -c -o $@ $<
$(FUZZ_DIR)/obj/gen/%.o: $(GEN)/%.c $(FUZZ_DIR)/.opts \
		$(FUZZ_SRC)/coverage.ignore | $(GEN)/dsl_parse.h
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CPPFLAGS) $(FUZZ_CFLAGS) $(FUZZ_COV) \
		-Wno-unused-function -MMD -MP -c -o $@ $<

$(FUZZ_LIB): $(FUZZ_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(FUZZ_DIR)/fuzz_%: $(FUZZ_SRC)/fuzz_%.c $(FUZZ_SRC)/fuzz_util.h $(FUZZ_LIB)
	$(FUZZ_CC) $(FUZZ_CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer \
		$(FUZZ_LDFLAGS_fuzz_$*) -o $@ $< $(FUZZ_LIB) $(FUZZ_LIBS)

# One target per harness: fuzz a fresh copy of the seed corpus (nothing
# is ever written into the repository), record pass/fail, never stop the
# others. `fuzz` then fails if any failed.
FUZZ_RUNS := $(FUZZ_HARNESSES:%=fuzz-run-%)
.PHONY: $(FUZZ_RUNS)
$(FUZZ_RUNS): fuzz-run-%: $(FUZZ_DIR)/%
	@rm -rf $(FUZZ_DIR)/corpus/$* $(FUZZ_DIR)/status/$*
	@mkdir -p $(FUZZ_DIR)/corpus/$* $(FUZZ_DIR)/crashes/$* \
		$(FUZZ_DIR)/log $(FUZZ_DIR)/status
	@if [ -d $(FUZZ_SRC)/corpus/$* ]; then \
		cp $(FUZZ_SRC)/corpus/$*/* $(FUZZ_DIR)/corpus/$*/ 2>/dev/null; :; fi
	@dict=; [ -f $(FUZZ_SRC)/$*.dict ] && dict=-dict=$(FUZZ_SRC)/$*.dict; \
	echo "fuzz $*: $(FUZZ_SECONDS)s"; \
	if $(FUZZ_DIR)/$* $(FUZZ_DIR)/corpus/$* $$dict \
		-max_total_time=$(FUZZ_SECONDS) -timeout=10 \
		-print_final_stats=1 \
		-artifact_prefix=$(FUZZ_DIR)/crashes/$*/ \
		$(FUZZ_RUNFLAGS_$*) $(FUZZ_FLAGS) \
		>$(FUZZ_DIR)/log/$*.log 2>&1; then \
		echo ok >$(FUZZ_DIR)/status/$*; \
		echo "fuzz $*: ok, $$(sed -n \
		's/^stat::number_of_executed_units: *//p' \
		$(FUZZ_DIR)/log/$*.log) runs, $$(sed -n \
		's/^stat::average_exec_per_sec: *//p' \
		$(FUZZ_DIR)/log/$*.log) exec/s"; \
	else \
		echo fail >$(FUZZ_DIR)/status/$*; \
		echo "fuzz $*: FAILED (log $(FUZZ_DIR)/log/$*.log," \
			"inputs in $(FUZZ_DIR)/crashes/$*/)"; \
		grep -E 'ERROR|SUMMARY|invariant failed|  at |Test unit written' \
			$(FUZZ_DIR)/log/$*.log | head -20; \
	fi

fuzz: $(FUZZ_RUNS)
	@bad=; for h in $(FUZZ_HARNESSES); do \
		[ "$$(cat $(FUZZ_DIR)/status/$$h 2>/dev/null)" = ok ] || \
			bad="$$bad $$h"; done; \
	if [ -n "$$bad" ]; then echo "fuzz: FAILED:$$bad"; exit 1; fi; \
	echo "fuzz: all $(words $(FUZZ_HARNESSES)) harnesses ok"

# Each harness runs every seed and every saved crash once; a crash that
# is not fixed yet fails this target.
fuzz-regress: $(FUZZ_HARNESSES:%=$(FUZZ_DIR)/%)
	@bad=; for h in $(FUZZ_HARNESSES); do \
		files=$$(find $(FUZZ_SRC)/corpus/$$h $(FUZZ_SRC)/crashes/$$h \
			-type f 2>/dev/null | sort); \
		[ -n "$$files" ] || continue; \
		n=$$(echo "$$files" | wc -l); \
		if $(FUZZ_DIR)/$$h -runs=1 $$files \
			>$(FUZZ_DIR)/regress-$$h.log 2>&1; then \
			echo "fuzz-regress $$h: $$n inputs ok"; \
		else \
			echo "fuzz-regress $$h: FAILED (log" \
				"$(FUZZ_DIR)/regress-$$h.log)"; \
			grep -E 'Running:|ERROR|SUMMARY|invariant failed|  at ' \
				$(FUZZ_DIR)/regress-$$h.log | tail -8; \
			bad="$$bad $$h"; \
		fi; done; \
	if [ -n "$$bad" ]; then echo "fuzz-regress: FAILED:$$bad"; exit 1; fi

-include $(FUZZ_OBJS:.o=.d)
