# mtgt build. `make` builds build/tgtd, build/tgtadm, build/tgt-admin.
# `make test` installs what is missing, builds, and runs every test;
# `make run` installs, builds and starts tgtd with a demo target.

# Compile jobs of the builds `make test` and its parts run (every core).
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

BUILD ?= build
CC ?= gcc
SAN ?=
OPT ?= -O2
CFLAGS_BASE = -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -g $(OPT) \
	-Isrc -pthread -MMD -MP
CFLAGS_SAN = $(if $(SAN),-fsanitize=$(SAN) -fno-omit-frame-pointer,)
CFLAGS += $(CFLAGS_BASE) $(CFLAGS_SAN)
LDFLAGS += -pthread $(CFLAGS_SAN)
LIBS = -luring -lisal -lcrypto

LAYERS = common event iscsi scsi backing target mgmt
LIB_SRCS = $(sort $(foreach d,$(LAYERS),$(wildcard src/$(d)/*.c)))
LIB_OBJS = $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
# Code shared by the CLI programs (management client, targets.conf
# parser, ...): every src/tools/*.c except the programs' main files.
TOOL_MAINS = src/tools/tgtadm.c src/tools/tgt-admin.c
TOOLS_SRCS = $(filter-out $(TOOL_MAINS),$(sort $(wildcard src/tools/*.c)))
TOOLS_OBJS = $(TOOLS_SRCS:%.c=$(BUILD)/obj/%.o)
UNIT_SRCS = $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS = $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
# Shared fixtures of the unit tests (tests/unit/*.c that are not tests).
UNIT_SUPPORT = $(filter-out $(UNIT_SRCS),$(wildcard tests/unit/*.c))
UNIT_SUPPORT_OBJS = $(UNIT_SUPPORT:%.c=$(BUILD)/obj/%.o)
TOOL_BINS = $(patsubst tests/tools/%.c,$(BUILD)/tests/%,\
	$(wildcard tests/tools/iscsi-*.c))

# libFuzzer harnesses (tests/fuzz/fuzz_*.c), built only in build-fuzz.
FUZZ_SRCS = $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS = $(FUZZ_SRCS:tests/fuzz/%.c=$(BUILD)/fuzz/%)

PROGS = $(BUILD)/tgtd $(BUILD)/tgtadm $(BUILD)/tgt-admin

.PHONY: all deps test unit integration asan-test tsan-test run clean \
	fuzzers fuzz fuzz-smoke valgrind-test soak
.SECONDARY:
all: $(PROGS) $(UNIT_BINS) $(TOOL_BINS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/libmtgt.a: $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/libtools.a: $(TOOLS_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/tgtd: $(BUILD)/obj/src/tgtd.o $(BUILD)/libmtgt.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tgtadm: $(BUILD)/obj/src/tools/tgtadm.o $(BUILD)/libtools.a $(BUILD)/libmtgt.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tgt-admin: $(BUILD)/obj/src/tools/tgt-admin.o $(BUILD)/libtools.a \
		$(BUILD)/libmtgt.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(UNIT_SUPPORT_OBJS) \
		$(BUILD)/libtools.a $(BUILD)/libmtgt.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS) -lcmocka

# Test tools are libiscsi clients: built without -Isrc, whose iscsi/
# headers would shadow libiscsi's.
$(BUILD)/tests/iscsi-%: tests/tools/iscsi-%.c
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -Isrc,$(CFLAGS)) $(LDFLAGS) -o $@ $< -liscsi

# Fuzz harnesses reuse the unit-test fixtures (tests/unit/*.h).
$(BUILD)/obj/tests/fuzz/%.o: CFLAGS += -Itests/unit
$(BUILD)/fuzz/%: $(BUILD)/obj/tests/fuzz/%.o $(UNIT_SUPPORT_OBJS) \
		$(BUILD)/libtools.a $(BUILD)/libmtgt.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(LIBS) -lcmocka
fuzzers: $(FUZZ_BINS)

deps:
	@scripts/install-deps.sh

unit: all
	@scripts/run-unit-tests.sh $(BUILD)

integration: all
	@BUILD=$(BUILD) tests/integration/run-all.sh

# The whole suite again under AddressSanitizer + UndefinedBehaviorSanitizer.
asan-test:
	$(MAKE) -j$(JOBS) BUILD=build-asan SAN=address,undefined OPT=-O1 all
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	 scripts/run-unit-tests.sh build-asan
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	 BUILD=build-asan tests/integration/run-all.sh

# The per-target thread tests again under ThreadSanitizer: any report in
# the daemon's log fails them. halt_on_error=0 lets every race of a run be
# reported. Suppressions: none (tests/stress/tsan.supp is used only if it
# exists; every entry there must say why it is not a bug of ours).
TSAN_SUPP = $(wildcard tests/stress/tsan.supp)
tsan-test:
	$(MAKE) -j$(JOBS) BUILD=build-tsan SAN=thread OPT=-O1 all
	@TSAN_OPTIONS="halt_on_error=0 second_deadlock_stack=1$(if \
	 $(TSAN_SUPP), suppressions=$(abspath $(TSAN_SUPP)))" \
	 STRESS_DURATION=$${STRESS_DURATION:-30} BUILD=build-tsan \
	 tests/integration/run-all.sh test_threads.sh test_stress.sh

# The daemon under Valgrind memcheck for the integration tests that cover
# most of its code without long loads (part of `make test`, about 30 s).
# Any memory error or definite leak is in the daemon's log ("ERROR
# SUMMARY: N") and makes it exit 99 on SIGTERM: either fails the test.
# io_uring reads are declared to memcheck (src/backing/kernel_filled.h).
VALGRIND_TESTS ?= test_basic.sh test_chap.sh test_reservations.sh \
	test_tmf.sh test_digests.sh test_tgtadm_cli.sh
VALGRIND = valgrind --error-exitcode=99 --leak-check=full \
	--errors-for-leak-kinds=definite --num-callers=30
valgrind-test: all
	@TGTD_CHECKER="$(VALGRIND)" START_TIMEOUT=120 STOP_TIMEOUT=120 \
	 BUILD=$(BUILD) tests/integration/run-all.sh $(VALGRIND_TESTS)

# Soak (not in `make test`): SOAK_MINUTES (default 30) of verified I/O,
# abrupt disconnects, management changes and kill -9 restarts; summary
# in $(BUILD)/soak-summary.txt. See tests/soak/soak.sh.
soak: all
	@BUILD=$(BUILD) tests/soak/soak.sh

test: deps
	$(MAKE) -j$(JOBS) all
	$(MAKE) unit
	$(MAKE) integration
	$(MAKE) asan-test
	$(MAKE) tsan-test
	$(MAKE) valgrind-test
	$(MAKE) fuzz-smoke

# Fuzzing with libFuzzer (clang) under ASan+UBSan. `make fuzz-smoke` (part
# of `make test`) replays every saved regression input and fuzzes each
# harness briefly from the seed corpus; `make fuzz` fuzzes each for
# FUZZ_SECONDS (default 600). New corpus entries stay in build-fuzz/.
FUZZ_MAKE = $(MAKE) -j$(JOBS) BUILD=build-fuzz CC=clang OPT=-O1 \
	SAN=fuzzer-no-link,address,undefined
fuzz-smoke:
	$(FUZZ_MAKE) fuzzers
	@tests/fuzz/run.sh build-fuzz $${FUZZ_SECONDS:-10}
fuzz:
	$(FUZZ_MAKE) fuzzers
	@tests/fuzz/run.sh build-fuzz $${FUZZ_SECONDS:-600}

run: deps all
	@scripts/run-demo.sh $(BUILD)

# Benchmark against Debian's tgtd in the same run (measurements, not
# assertions): prints a table and writes bench/RESULTS.md. See bench/bench.py.
.PHONY: bench
bench: all
	@BUILD=$(BUILD) bench/run.sh

clean:
	rm -rf build build-asan build-tsan build-fuzz

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
