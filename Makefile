# rapidbridge - see README.md. Every output goes under $(BUILD).
#
#   make            the daemon, the simulator and the CLI in build/
#   make run        the bridge with a simulated robot, live in the terminal
#   make test       every test, plain and under ASan+UBSan, plus fuzz corpus replay
#   make fuzz       libFuzzer on each harness for FUZZ_SECONDS (clang)
#   make bench      benchmarks that print numbers
#   make clean

SHELL   := /bin/bash
BUILD   ?= build
CC      ?= gcc
SAN     ?=
FUZZ_SECONDS ?= 60

WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2
CFLAGS  ?= -O2
CFLAGS  += -std=c17 -D_GNU_SOURCE -g $(WARN) -MMD -MP -Iprotocol -Ibridge
ifeq ($(SAN),1)
CFLAGS  += -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=address,undefined
endif
LIBS    := -ljansson -lev -lm
TESTLIBS := $(LIBS) -lcmocka

PROTO_SRC  := $(wildcard protocol/*.c)
BRIDGE_SRC := $(filter-out bridge/main.c,$(wildcard bridge/*.c))
SIM_SRC    := $(wildcard tests/sim/*.c)
CLI_SRC    := $(wildcard bridge/cli/*.c)
UNIT_SRC   := $(wildcard tests/unit/test_*.c)
E2E_SRC    := $(wildcard tests/e2e/e2e_*.c)
E2E_LIB    := $(filter-out $(E2E_SRC),$(wildcard tests/e2e/*.c))
BENCH_SRC  := $(wildcard tests/bench/bench_*.c)

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
PROTO_OBJ  := $(call obj,$(PROTO_SRC))
BRIDGE_OBJ := $(call obj,$(BRIDGE_SRC))

DAEMON  := $(BUILD)/rapidbridge
SIM     := $(BUILD)/robot-sim
CLI     := $(BUILD)/rapidbridge-cli
UNITS   := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
E2ES    := $(patsubst tests/e2e/%.c,$(BUILD)/tests/%,$(E2E_SRC))
BENCHES := $(patsubst tests/bench/%.c,$(BUILD)/bench/%,$(BENCH_SRC))

.SECONDARY:
.PHONY: all run test check unit e2e fuzz fuzz-build fuzz-replay bench clean
all: $(DAEMON) $(SIM) $(CLI)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(DAEMON): $(call obj,bridge/main.c) $(BRIDGE_OBJ) $(PROTO_OBJ)
	$(CC) $(LDFLAGS) $^ $(LIBS) -o $@
$(SIM): $(call obj,$(SIM_SRC)) $(PROTO_OBJ)
	$(CC) $(LDFLAGS) $^ $(LIBS) -o $@
$(CLI): $(call obj,$(CLI_SRC)) $(PROTO_OBJ)
	$(CC) $(LDFLAGS) $^ $(LIBS) -o $@

$(BUILD)/tests/test_%: $(call obj,tests/unit/test_%.c) $(BRIDGE_OBJ) $(PROTO_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ $(TESTLIBS) -o $@
$(BUILD)/tests/e2e_%: $(call obj,tests/e2e/e2e_%.c) $(call obj,$(E2E_LIB)) $(PROTO_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ $(TESTLIBS) -o $@
$(BUILD)/bench/bench_%: $(call obj,tests/bench/bench_%.c) $(BRIDGE_OBJ) $(PROTO_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ $(LIBS) -o $@

# Runs every test binary of this build, reports all, fails if any failed.
check: all $(UNITS) $(E2ES)
	@RB_BIN=$(abspath $(DAEMON)) RB_SIM=$(abspath $(SIM)) RB_CLI=$(abspath $(CLI)) \
	  bash tests/run-tests.sh $(UNITS) $(E2ES)

test:
	$(MAKE) check
	$(MAKE) check BUILD=build/san SAN=1
	$(MAKE) fuzz-replay

# --- fuzzing (clang + libFuzzer) -------------------------------------------
FUZZ_SRC  := $(wildcard tests/fuzz/fuzz_*.c)
FUZZERS   := $(patsubst tests/fuzz/%.c,build/fuzz/%,$(FUZZ_SRC))
FUZZFLAGS := -std=c17 -D_GNU_SOURCE -g -O1 -Iprotocol -Ibridge -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(PROTO_SRC) $(BRIDGE_SRC)
	@mkdir -p $(dir $@)
	clang $(FUZZFLAGS) $^ $(LIBS) -o $@
fuzz-build: $(FUZZERS)
fuzz-replay: fuzz-build
	@for f in $(FUZZERS); do n=$$(basename $$f); \
	  echo "replaying corpus of $$n"; \
	  $$f -runs=0 tests/fuzz/corpus/$$n || exit 1; done
fuzz: fuzz-build
	@for f in $(FUZZERS); do n=$$(basename $$f); mkdir -p build/fuzz/corpus-$$n; \
	  echo "fuzzing $$n for $(FUZZ_SECONDS) s"; \
	  $$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 -artifact_prefix=build/fuzz/ \
	      build/fuzz/corpus-$$n tests/fuzz/corpus/$$n 2>&1 | grep -E "stat::number_of_executed_units|ERROR|SUMMARY|invariant broken|Test unit written" ; \
	  test $${PIPESTATUS[0]} -eq 0 || exit 1; done

# --- the rest ----------------------------------------------------------------
bench: all $(BENCHES)
	@for b in $(BENCHES); do RB_BIN=$(abspath $(DAEMON)) $$b || exit 1; done

run: all
	@bash tests/sim/demo.sh $(BUILD)

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
