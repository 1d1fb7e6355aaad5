# rapidbridge - see README.md. Every output goes under $(BUILD).
#
#   make            the daemon, the simulator and the CLI in build/
#   make run        the bridge with a simulated robot, live in the terminal
#   make test       every test, plain and under ASan+UBSan, plus fuzz corpus replay
#   make fuzz       libFuzzer on each harness for FUZZ_SECONDS (clang)
#   make bench      benchmarks that print numbers
#   make soak       the daemon under load for SOAK_SECONDS; fails if RSS or fds grow
#   make install    install under PREFIX (default /usr/local); also uninstall, check-install
#   make replay-update  rewrite tests/replay/*.golden (see tests/replay/README.md)
#   make clean

SHELL   := /bin/bash
BUILD   ?= build
CC      ?= gcc
SAN     ?=
FUZZ_SECONDS ?= 60
SOAK_SECONDS ?= 600

WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2
CFLAGS  ?= -O2
CFLAGS  += -std=c17 -D_GNU_SOURCE -g $(WARN) -MMD -MP -Iprotocol -Ibridge
ifeq ($(SAN),1)
CFLAGS  += -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=address,undefined
endif
LIBS    := -ljansson -lev -lmosquitto -lm
TESTLIBS := $(LIBS) -lcmocka

PROTO_SRC  := $(wildcard protocol/*.c)
BRIDGE_SRC := $(filter-out bridge/main.c,$(wildcard bridge/*.c))
SIM_SRC    := $(wildcard tests/sim/*.c)
CLI_SRC    := $(wildcard bridge/cli/*.c)
UNIT_SRC   := $(wildcard tests/unit/test_*.c)
E2E_SRC    := $(wildcard tests/e2e/e2e_*.c)
E2E_LIB    := $(filter-out $(E2E_SRC),$(wildcard tests/e2e/*.c))
BENCH_SRC  := $(wildcard tests/bench/bench_*.c)
BENCH_LIB  := $(filter-out $(BENCH_SRC),$(wildcard tests/bench/*.c))

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
.PHONY: all run test check replay-update unit e2e fuzz fuzz-build fuzz-replay bench soak clean
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
$(BUILD)/bench/bench_%: $(call obj,tests/bench/bench_%.c) $(call obj,$(BENCH_LIB)) $(BRIDGE_OBJ) $(PROTO_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ $(LIBS) -o $@

# Runs every test binary of this build, reports all, fails if any failed.
check: all $(UNITS) $(E2ES)
	@RB_BIN=$(abspath $(DAEMON)) RB_SIM=$(abspath $(SIM)) RB_CLI=$(abspath $(CLI)) \
	  RB_REPLAY_DIR=$(abspath tests/replay) bash tests/run-tests.sh $(UNITS) $(E2ES)

# Rewrites tests/replay/*.golden from what the daemon emits now (review the diff).
replay-update: all $(BUILD)/tests/e2e_replay
	@RB_BIN=$(abspath $(DAEMON)) RB_SIM=$(abspath $(SIM)) RB_REPLAY_DIR=$(abspath tests/replay) \
	  RB_REPLAY_UPDATE=1 $(BUILD)/tests/e2e_replay

test:
	$(MAKE) check
	$(MAKE) check BUILD=build/san SAN=1
	$(MAKE) fuzz-replay

# --- fuzzing (clang + libFuzzer) -------------------------------------------
FUZZ_SRC  := $(wildcard tests/fuzz/fuzz_*.c)
FUZZERS   := $(patsubst tests/fuzz/%.c,build/fuzz/%,$(FUZZ_SRC))
FUZZFLAGS := -std=c17 -D_GNU_SOURCE -g -O1 -Iprotocol -Ibridge -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(PROTO_SRC) $(BRIDGE_SRC)
	@mkdir -p $(dir $@)
	clang $(FUZZFLAGS) $(filter %.c,$^) $(LIBS) -o $@
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

# --- installation ------------------------------------------------------------
#   make install [PREFIX=/usr/local] [DESTDIR=]   see rapidbridge(8), FILES
#   make uninstall [PREFIX=...] [DESTDIR=]        the same files, except a changed bridge.json
#   make check-install                            install into a temporary DESTDIR and check it
# The configuration goes to /etc/rapidbridge whatever PREFIX is: that is the
# daemon's built-in default (DEFAULT_CONFIG in bridge/main.c). An existing
# bridge.json is never replaced; the shipped one then goes beside it as
# bridge.json.dist. The systemd unit is generated from
# config/rapidbridge.service.in with ExecStart in $(SBINDIR).
PREFIX  ?= /usr/local
DESTDIR ?=
SBINDIR  = $(PREFIX)/sbin
BINDIR   = $(PREFIX)/bin
MANDIR   = $(PREFIX)/share/man
DOCDIR   = $(PREFIX)/share/doc/rapidbridge
CONFDIR  = /etc/rapidbridge
# Debian keeps distribution units in /lib/systemd/system; systemd also reads
# /usr/local/lib/systemd/system, so any other PREFIX keeps them under it.
UNITDIR  = $(if $(filter /usr /usr/,$(PREFIX)),/lib/systemd/system,$(PREFIX)/lib/systemd/system)
INSTALL ?= install
MAN8    := bridge/man/rapidbridge.8
MAN5    := bridge/man/rapidbridge.json.5
DOCS    := config/cell-example.json protocol/PROTOCOL.md
SHIPPED_CONF := config/bridge.json

.PHONY: install uninstall check-install
install: all
	$(INSTALL) -d "$(DESTDIR)$(SBINDIR)" "$(DESTDIR)$(BINDIR)" "$(DESTDIR)$(MANDIR)/man8" \
	  "$(DESTDIR)$(MANDIR)/man5" "$(DESTDIR)$(DOCDIR)" "$(DESTDIR)$(UNITDIR)" "$(DESTDIR)$(CONFDIR)"
	$(INSTALL) -m 0755 $(DAEMON) "$(DESTDIR)$(SBINDIR)/rapidbridge"
	$(INSTALL) -m 0755 $(CLI) $(SIM) "$(DESTDIR)$(BINDIR)/"
	$(INSTALL) -m 0644 $(MAN8) "$(DESTDIR)$(MANDIR)/man8/"
	$(INSTALL) -m 0644 $(MAN5) "$(DESTDIR)$(MANDIR)/man5/"
	$(INSTALL) -m 0644 $(DOCS) "$(DESTDIR)$(DOCDIR)/"
	sed 's|@SBINDIR@|$(SBINDIR)|g' config/rapidbridge.service.in > "$(DESTDIR)$(UNITDIR)/rapidbridge.service"
	chmod 0644 "$(DESTDIR)$(UNITDIR)/rapidbridge.service"
	@if [ -e "$(DESTDIR)$(CONFDIR)/bridge.json" ]; then \
	  echo "$(INSTALL) -m 0644 $(SHIPPED_CONF) $(DESTDIR)$(CONFDIR)/bridge.json.dist  # bridge.json exists: kept"; \
	  $(INSTALL) -m 0644 $(SHIPPED_CONF) "$(DESTDIR)$(CONFDIR)/bridge.json.dist"; \
	else \
	  echo "$(INSTALL) -m 0644 $(SHIPPED_CONF) $(DESTDIR)$(CONFDIR)/bridge.json"; \
	  $(INSTALL) -m 0644 $(SHIPPED_CONF) "$(DESTDIR)$(CONFDIR)/bridge.json"; \
	fi
	@[ -n "$(DESTDIR)" ] || echo "to run the service: systemctl daemon-reload && systemctl enable --now rapidbridge"

# Leaves /etc/rapidbridge/bridge.json when it differs from the shipped one.
uninstall:
	rm -f "$(DESTDIR)$(SBINDIR)/rapidbridge" "$(DESTDIR)$(BINDIR)/rapidbridge-cli" \
	  "$(DESTDIR)$(BINDIR)/robot-sim" "$(DESTDIR)$(MANDIR)/man8/$(notdir $(MAN8))" \
	  "$(DESTDIR)$(MANDIR)/man5/$(notdir $(MAN5))" "$(DESTDIR)$(UNITDIR)/rapidbridge.service" \
	  $(foreach f,$(notdir $(DOCS)),"$(DESTDIR)$(DOCDIR)/$(f)") "$(DESTDIR)$(CONFDIR)/bridge.json.dist"
	rmdir "$(DESTDIR)$(DOCDIR)" 2>/dev/null || true
	@if cmp -s $(SHIPPED_CONF) "$(DESTDIR)$(CONFDIR)/bridge.json"; then \
	  echo "rm -f $(DESTDIR)$(CONFDIR)/bridge.json"; rm -f "$(DESTDIR)$(CONFDIR)/bridge.json"; \
	  rmdir "$(DESTDIR)$(CONFDIR)" 2>/dev/null || true; \
	elif [ -e "$(DESTDIR)$(CONFDIR)/bridge.json" ]; then \
	  echo "kept $(DESTDIR)$(CONFDIR)/bridge.json (changed locally)"; fi

# `make install` into temporary directories, checked file by file; one line per
# failure and a last line "install: N passed, M failed". The script is kept
# here, unexpanded by make ($(value ...)), and run by bash.
define check_install_sh
set -u
make=$1 build=$2
root=$(mktemp -d "${TMPDIR:-/tmp}/rb-install.XXXXXX") || exit 1
trap 'rm -rf "$root"' EXIT
pass=0 failed=0

# check NAME COMMAND...: one result; the command's output is shown only when it fails.
check() {
    local name=$1
    shift
    if "$@" >"$root/out" 2>&1; then
        pass=$((pass + 1))
    else
        failed=$((failed + 1))
        echo "install: FAIL: $name"
        sed 's/^/    /' "$root/out"
    fi
}
# quiet COMMAND...: succeeds when the command does and writes nothing to stderr.
quiet() {
    local err
    err=$("$@" 2>&1 >/dev/null) && [ -z "$err" ] || { printf '%s\n' "$err"; return 1; }
}
inst() { "$make" -s --no-print-directory BUILD="$build" "$@"; }
mode_is() { [ -f "$2" ] && [ "$(stat -c %a "$2")" = "$1" ] || { ls -l "$2"; return 1; }; }
no_files_but() {
    local d=$1 left
    shift
    left=$(cd "$d" && find . -type f | sort)
    [ "$left" = "$*" ] || { echo "files left:" $left "(want: $*)"; return 1; }
}
has_line() { grep -qxF -- "$2" "$1" || { echo "no line \"$2\" in $1:"; cat "$1"; return 1; }; }

# 1. PREFIX=/usr/local (the default)
a=$root/a p=$root/a/usr/local
check "make install" inst install DESTDIR="$a"
while read -r mode file; do
    check "$file mode $mode" mode_is "$mode" "$a$file"
done <<'EOF'
755 /usr/local/sbin/rapidbridge
755 /usr/local/bin/rapidbridge-cli
755 /usr/local/bin/robot-sim
644 /etc/rapidbridge/bridge.json
644 /usr/local/share/doc/rapidbridge/cell-example.json
644 /usr/local/share/doc/rapidbridge/PROTOCOL.md
644 /usr/local/share/man/man8/rapidbridge.8
644 /usr/local/share/man/man5/rapidbridge.json.5
644 /usr/local/lib/systemd/system/rapidbridge.service
EOF
unit=$p/lib/systemd/system/rapidbridge.service
check "installed bridge.json is config/bridge.json" cmp config/bridge.json "$a/etc/rapidbridge/bridge.json"
check "installed daemon runs" "$p/sbin/rapidbridge" --version
check "unit ExecStart in PREFIX" has_line "$unit" "ExecStart=/usr/local/sbin/rapidbridge -c /etc/rapidbridge/bridge.json"
check "unit has no @PLACEHOLDER@ left" bash -c '! grep -n "@[A-Z_]*@" "$1"' - "$unit"

# The unit as installed names /usr/local/sbin, absent here: verify a copy that
# points into DESTDIR, with the man pages of Documentation= looked up there.
if command -v systemd-analyze >/dev/null; then
    mkdir -p "$root/verify"
    sed "s|^ExecStart=/|ExecStart=$a/|" "$unit" >"$root/verify/rapidbridge.service"
    check "systemd-analyze verify rapidbridge.service" \
        quiet env MANPATH="$p/share/man" systemd-analyze verify "$root/verify/rapidbridge.service"
else
    echo "install: skipped systemd-analyze verify: systemd-analyze is not installed"
fi
for page in "$p/share/man/man8/rapidbridge.8" "$p/share/man/man5/rapidbridge.json.5"; do
    check "man -l $(basename "$page") without warnings" \
        quiet env MANWIDTH=80 man --warnings -l "$page"
    check "groff -man -ww $(basename "$page") without warnings" quiet groff -man -ww -z "$page"
done
check "man finds rapidbridge(8) under MANDIR" env MANPATH="$p/share/man" man -w 8 rapidbridge
check "man finds rapidbridge.json(5) under MANDIR" env MANPATH="$p/share/man" man -w 5 rapidbridge.json

# 2. Installing again keeps a changed configuration.
echo '{"comment": "changed locally"}' >"$a/etc/rapidbridge/bridge.json"
check "make install over a changed bridge.json" inst install DESTDIR="$a"
check "changed bridge.json kept" has_line "$a/etc/rapidbridge/bridge.json" '{"comment": "changed locally"}'
check "shipped one installed as bridge.json.dist" cmp config/bridge.json "$a/etc/rapidbridge/bridge.json.dist"

# 3. PREFIX=/usr: the unit goes to /lib/systemd/system.
b=$root/b
check "make install PREFIX=/usr" inst install DESTDIR="$b" PREFIX=/usr
check "PREFIX=/usr daemon in /usr/sbin" mode_is 755 "$b/usr/sbin/rapidbridge"
check "PREFIX=/usr unit ExecStart" \
    has_line "$b/lib/systemd/system/rapidbridge.service" "ExecStart=/usr/sbin/rapidbridge -c /etc/rapidbridge/bridge.json"

# 4. Uninstall removes everything but a changed configuration.
check "make uninstall" inst uninstall DESTDIR="$a"
check "uninstall leaves only the changed bridge.json" no_files_but "$a" ./etc/rapidbridge/bridge.json
check "make uninstall PREFIX=/usr" inst uninstall DESTDIR="$b" PREFIX=/usr
check "uninstall PREFIX=/usr leaves no file" no_files_but "$b"

echo "install: $pass passed, $failed failed"
[ "$failed" -eq 0 ]
endef

check-install: export RB_CHECK_INSTALL = $(value check_install_sh)
check-install: all
	@bash -c "$$RB_CHECK_INSTALL" check-install "$(MAKE)" "$(BUILD)"

# Every `make check` (plain and sanitizer builds) checks the installation too.
check: check-install

# The RAPID examples' names and string lengths, per task (tests/rapid/rapid_lint.py).
.PHONY: rapid-lint
rapid-lint:
	@python3 tests/rapid/rapid_lint.py
check: rapid-lint

# --- the rest ----------------------------------------------------------------
bench: all $(BENCHES)
	@for b in $(BENCHES); do RB_BIN=$(abspath $(DAEMON)) $$b || exit 1; done

# A robot at 1000 Hz, 50 watchers and client churn; samples VmRSS and open
# fds every 10 s (see tests/soak/soak.sh for the bounds and knobs).
soak: all
	@SOAK_SECONDS=$(SOAK_SECONDS) bash tests/soak/soak.sh $(BUILD)

run: all
	@bash tests/sim/demo.sh $(BUILD)

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
