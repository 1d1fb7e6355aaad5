# rapidbridge - see README.md. Every output goes under $(BUILD) (default build/).
#
#   make            the daemon, the simulator and the CLI in build/
#   make run        the bridge with a simulated robot, live in the terminal
#   make test       every test, plain and under ASan+UBSan (in $(BUILD)/san), plus fuzz corpus replay
#                   and the service under a real systemd (check-systemd)
#   make check      every suite and the install check, this build only (make unit, make e2e: a half)
#   make fuzz       libFuzzer on each harness for FUZZ_SECONDS (clang, in $(BUILD)/fuzz)
#   make bench      benchmarks that print numbers
#   make soak       the daemon under load for SOAK_SECONDS; fails if RSS or fds grow
#   make install    install under PREFIX (default /usr/local); also uninstall, check-install
#   make replay-update  rewrite tests/replay/*.golden (see tests/replay/README.md)
#   make clean      remove $(BUILD)
#
# Knobs: CC (default gcc), CFLAGS (replaces the default -O2 -g), CPPFLAGS,
# LDFLAGS, BUILD, SAN=1 (ASan+UBSan), PKG_CONFIG, FUZZ_CC, FUZZ_CFLAGS.

SHELL   := /bin/bash
BUILD   ?= build
SAN     ?=
FUZZ_SECONDS ?= 60
SOAK_SECONDS ?= 600

# --- compiler and flags --------------------------------------------------------
# As in redis's Makefile, the project's own flags are always applied and the
# user's CFLAGS, CPPFLAGS and LDFLAGS are added to them: CFLAGS only replaces
# the optimisation and debug default (make CFLAGS=-O0). CC has a built-in
# default (cc) in GNU make, so `CC ?= gcc` would never apply: gcc is chosen
# only when CC was not set on the command line or in the environment.
ifeq ($(origin CC),default)
CC      := gcc
endif
ifeq ($(SAN),1)
CFLAGS  ?= -O1 -g
else
CFLAGS  ?= -O2 -g
endif
STD     := -std=c17 -D_GNU_SOURCE -Iprotocol -Ibridge -MMD -MP
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2
ifeq ($(SAN),1)
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
endif

# Libraries, by pkg-config name. The tests also link TEST_PKGS. libev-dev
# ships no .pc file on Debian 12: a package pkg-config does not know is linked
# as PKG_FALLBACK_<name> says, and without a fallback the build stops at once
# with its name.
PKG_CONFIG ?= pkg-config
PKGS      := jansson libmosquitto libev libsystemd openssl libwebsockets
TEST_PKGS := cmocka
PKG_FALLBACK_libev := -lev

pkgs_pc   := $(foreach p,$(PKGS) $(TEST_PKGS),$(shell $(PKG_CONFIG) --exists $(p) 2>/dev/null && echo $(p)))
pkgs_nopc := $(filter-out $(pkgs_pc),$(PKGS) $(TEST_PKGS))
# $(call pkg_flags,--cflags|--libs,PACKAGES)
pkg_flags = $(if $(filter $(2),$(pkgs_pc)),$(shell $(PKG_CONFIG) $(1) $(filter $(2),$(pkgs_pc))))
pkg_fallback = $(foreach p,$(filter $(1),$(pkgs_nopc)),$(PKG_FALLBACK_$(p)))
# In a recipe: stop when a package this target needs is neither known nor has a fallback.
need_pkgs = $(if $(strip $(foreach p,$(filter $(1),$(pkgs_nopc)),$(if $(PKG_FALLBACK_$(p)),,$(p)))),\
  $(error pkg-config does not know $(strip $(foreach p,$(filter $(1),$(pkgs_nopc)),$(if $(PKG_FALLBACK_$(p)),,$(p))))\
  (on Debian 12: bash .ci/deps)))

PKG_CFLAGS := $(call pkg_flags,--cflags,$(PKGS) $(TEST_PKGS))
LIBS       := $(strip $(call pkg_flags,--libs,$(PKGS)) $(call pkg_fallback,$(PKGS)) -lm)
TESTLIBS   := $(strip $(LIBS) $(call pkg_flags,--libs,$(TEST_PKGS)) $(call pkg_fallback,$(TEST_PKGS)))

FINAL_CFLAGS  := $(strip $(STD) $(WARN) $(CFLAGS) $(SANFLAGS) $(PKG_CFLAGS) $(CPPFLAGS))
FINAL_LDFLAGS := $(strip $(LDFLAGS) $(SANFLAGS))

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
.DELETE_ON_ERROR:
.PHONY: all run test check replay-update unit e2e fuzz fuzz-build fuzz-replay bench soak clean FORCE
all: $(DAEMON) $(SIM) $(CLI)

# Everything is rebuilt when the compiler or a flag changes (make CFLAGS=-O0
# after a plain make): the objects depend on this file, rewritten only then.
FLAGS_FILE := $(BUILD)/flags
$(FLAGS_FILE): FORCE
	@mkdir -p $(@D)
	@f='$(subst ','\'',$(CC) $(FINAL_CFLAGS) | $(FINAL_LDFLAGS) | $(TESTLIBS) | $(WWWDIR))'; \
	  [ "$$f" = "$$(cat $@ 2>/dev/null)" ] || printf '%s\n' "$$f" >$@

# Where the daemon looks for the operator page unless http_root says otherwise.
$(BUILD)/obj/bridge/web.o: FINAL_CFLAGS += -DRB_WWWDIR='"$(WWWDIR)"'

# The packages an object needs; the test suites also need TEST_PKGS (cmocka).
NEED_PKGS := $(PKGS)
$(BUILD)/obj/tests/unit/%.o $(BUILD)/obj/tests/e2e/%.o: NEED_PKGS := $(PKGS) $(TEST_PKGS)
$(BUILD)/obj/%.o: %.c $(FLAGS_FILE)
	$(call need_pkgs,$(NEED_PKGS))
	@mkdir -p $(dir $@)
	$(CC) $(FINAL_CFLAGS) -c $< -o $@

$(DAEMON): $(call obj,bridge/main.c) $(BRIDGE_OBJ) $(PROTO_OBJ)
	$(CC) $(FINAL_LDFLAGS) $^ $(LIBS) -o $@
$(SIM): $(call obj,$(SIM_SRC)) $(PROTO_OBJ)
	$(CC) $(FINAL_LDFLAGS) $^ $(LIBS) -o $@
$(CLI): $(call obj,$(CLI_SRC)) $(PROTO_OBJ)
	$(CC) $(FINAL_LDFLAGS) $^ $(LIBS) -o $@

$(BUILD)/tests/test_%: $(call obj,tests/unit/test_%.c) $(BRIDGE_OBJ) $(PROTO_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(FINAL_LDFLAGS) $^ $(TESTLIBS) -o $@
$(BUILD)/tests/e2e_%: $(call obj,tests/e2e/e2e_%.c) $(call obj,$(E2E_LIB)) $(PROTO_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(FINAL_LDFLAGS) $^ $(TESTLIBS) -o $@
$(BUILD)/bench/bench_%: $(call obj,tests/bench/bench_%.c) $(call obj,$(BENCH_LIB)) $(BRIDGE_OBJ) $(PROTO_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(FINAL_LDFLAGS) $^ $(LIBS) -o $@

# Runs every test binary of this build, reports all, fails if any failed;
# unit and e2e run one half. The e2e suites find the binaries through TEST_ENV.
TEST_ENV := RB_BIN=$(abspath $(DAEMON)) RB_SIM=$(abspath $(SIM)) RB_CLI=$(abspath $(CLI)) \
  RB_REPLAY_DIR=$(abspath tests/replay)
check: all $(UNITS) $(E2ES)
	@$(TEST_ENV) bash tests/run-tests.sh $(UNITS) $(E2ES)
unit: $(UNITS)
	@bash tests/run-tests.sh $(UNITS)
e2e: all $(E2ES)
	@$(TEST_ENV) bash tests/run-tests.sh $(E2ES)

# Rewrites tests/replay/*.golden from what the daemon emits now (review the diff).
replay-update: all $(BUILD)/tests/e2e_replay
	@$(TEST_ENV) RB_REPLAY_UPDATE=1 $(BUILD)/tests/e2e_replay

# The sanitizer build is a second tree, $(BUILD)/san.
test:
	$(MAKE) check
	$(MAKE) check-browser
	$(MAKE) check BUILD=$(BUILD)/san SAN=1
	$(MAKE) fuzz-replay
	$(MAKE) check-systemd

# The installed unit under a real systemd, booted in a container
# (tests/systemd/run-in-nspawn.sh); says why when this machine cannot.
.PHONY: check-systemd
check-systemd: all
	@bash tests/systemd/run-in-nspawn.sh $(BUILD)

# --- fuzzing (clang + libFuzzer) -------------------------------------------
# Always clang, whatever CC is, so the user's CFLAGS (meant for CC) are not
# used: FUZZ_CFLAGS replaces the fuzzers' optimisation and debug default.
# Each source is compiled once for all harnesses, with coverage
# instrumentation (fuzzer-no-link); the harnesses link libFuzzer's main.
FUZZ_CC     ?= clang
FUZZ_CFLAGS ?= -O1 -g
FUZZ_SAN    := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_FINAL_CFLAGS  := $(strip $(STD) $(WARN) $(FUZZ_CFLAGS) $(FUZZ_SAN) $(PKG_CFLAGS) $(CPPFLAGS))
FUZZ_FINAL_LDFLAGS := $(strip $(LDFLAGS) -fsanitize=fuzzer $(FUZZ_SAN))
FUZZ_SRC  := $(wildcard tests/fuzz/fuzz_*.c)
FUZZERS   := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRC))
fuzz_obj   = $(patsubst %.c,$(BUILD)/fuzz/obj/%.o,$(1))
FUZZ_FLAGS_FILE := $(BUILD)/fuzz/flags
$(FUZZ_FLAGS_FILE): FORCE
	@mkdir -p $(@D)
	@f='$(subst ','\'',$(FUZZ_CC) $(FUZZ_FINAL_CFLAGS) | $(FUZZ_FINAL_LDFLAGS) | $(LIBS))'; \
	  [ "$$f" = "$$(cat $@ 2>/dev/null)" ] || printf '%s\n' "$$f" >$@
$(BUILD)/fuzz/obj/%.o: %.c $(FUZZ_FLAGS_FILE)
	$(call need_pkgs,$(PKGS))
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FINAL_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@
$(BUILD)/fuzz/fuzz_%: $(call fuzz_obj,tests/fuzz/fuzz_%.c $(PROTO_SRC) $(BRIDGE_SRC))
	$(FUZZ_CC) $(FUZZ_FINAL_LDFLAGS) $^ $(LIBS) -o $@
fuzz-build: $(FUZZERS)
fuzz-replay: fuzz-build
	@for f in $(FUZZERS); do n=$$(basename $$f); \
	  echo "replaying corpus of $$n"; \
	  $$f -runs=0 tests/fuzz/corpus/$$n || exit 1; done
fuzz: fuzz-build
	@for f in $(FUZZERS); do n=$$(basename $$f); mkdir -p $(BUILD)/fuzz/corpus-$$n; \
	  echo "fuzzing $$n for $(FUZZ_SECONDS) s"; \
	  $$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 -artifact_prefix=$(BUILD)/fuzz/ \
	      $(BUILD)/fuzz/corpus-$$n tests/fuzz/corpus/$$n 2>&1 | grep -E "stat::number_of_executed_units|ERROR|SUMMARY|invariant broken|Test unit written" ; \
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
WWWDIR   = $(PREFIX)/share/rapidbridge/www
CONFDIR  = /etc/rapidbridge
# Debian keeps distribution units in /lib/systemd/system; systemd also reads
# /usr/local/lib/systemd/system, so any other PREFIX keeps them under it.
UNITDIR  = $(if $(filter /usr /usr/,$(PREFIX)),/lib/systemd/system,$(PREFIX)/lib/systemd/system)
INSTALL ?= install
MAN8    := bridge/man/rapidbridge.8
MAN5    := bridge/man/rapidbridge.json.5
DOCS    := config/cell-example.json protocol/PROTOCOL.md
SHIPPED_CONF := config/bridge.json
WWW     := bridge/www/index.html bridge/www/app.js bridge/www/style.css bridge/www/screenshot.png

.PHONY: install uninstall check-install
install: all
	$(INSTALL) -d "$(DESTDIR)$(SBINDIR)" "$(DESTDIR)$(BINDIR)" "$(DESTDIR)$(MANDIR)/man8" \
	  "$(DESTDIR)$(MANDIR)/man5" "$(DESTDIR)$(DOCDIR)" "$(DESTDIR)$(UNITDIR)" "$(DESTDIR)$(CONFDIR)"
	$(INSTALL) -m 0755 $(DAEMON) "$(DESTDIR)$(SBINDIR)/rapidbridge"
	$(INSTALL) -m 0755 $(CLI) $(SIM) "$(DESTDIR)$(BINDIR)/"
	$(INSTALL) -m 0644 $(MAN8) "$(DESTDIR)$(MANDIR)/man8/"
	$(INSTALL) -m 0644 $(MAN5) "$(DESTDIR)$(MANDIR)/man5/"
	$(INSTALL) -m 0644 $(DOCS) "$(DESTDIR)$(DOCDIR)/"
	$(INSTALL) -d "$(DESTDIR)$(WWWDIR)"
	$(INSTALL) -m 0644 $(WWW) "$(DESTDIR)$(WWWDIR)/"
	sed 's|@SBINDIR@|$(SBINDIR)|g' config/rapidbridge.service.in > "$(DESTDIR)$(UNITDIR)/rapidbridge.service"
	chmod 0644 "$(DESTDIR)$(UNITDIR)/rapidbridge.service"
	$(INSTALL) -D -m 0644 config/rapidbridge.logrotate "$(DESTDIR)/etc/logrotate.d/rapidbridge"
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
	  $(foreach f,$(notdir $(DOCS)),"$(DESTDIR)$(DOCDIR)/$(f)") "$(DESTDIR)$(CONFDIR)/bridge.json.dist" \
	  "$(DESTDIR)/etc/logrotate.d/rapidbridge"
	rm -f $(foreach f,$(notdir $(WWW)),"$(DESTDIR)$(WWWDIR)/$(f)")
	rmdir "$(DESTDIR)$(WWWDIR)" "$(DESTDIR)$(PREFIX)/share/rapidbridge" 2>/dev/null || true
	rmdir "$(DESTDIR)$(DOCDIR)" 2>/dev/null || true
	@if cmp -s $(SHIPPED_CONF) "$(DESTDIR)$(CONFDIR)/bridge.json"; then \
	  echo "rm -f $(DESTDIR)$(CONFDIR)/bridge.json"; rm -f "$(DESTDIR)$(CONFDIR)/bridge.json"; \
	  rmdir "$(DESTDIR)$(CONFDIR)" 2>/dev/null || true; \
	elif [ -e "$(DESTDIR)$(CONFDIR)/bridge.json" ]; then \
	  echo "kept $(DESTDIR)$(CONFDIR)/bridge.json (changed locally)"; fi

# `make install` into temporary directories, checked file by file; one line per
# failure and a last line "install: N passed, M failed".
check-install: all
	@bash tests/install/check-install.sh "$(MAKE)" "$(BUILD)"

# Every `make check` (plain and sanitizer builds) checks the installation too.
check: check-install

# tests/web: /ws and /metrics with real clients (python3-websockets, the
# Prometheus parser) in every tree; the page in headless Chromium once per
# `make test` (check-browser). Each prints "NAME: N passed, M failed".
WEB_PY := /usr/bin/python3
.PHONY: check-web check-browser
check-web: all
	@$(TEST_ENV) bash tests/web/run.sh $(WEB_PY) tests/web/test_ws.py tests/web/test_metrics.py \
	  tests/web/test_https.py
check-browser: all
	@$(TEST_ENV) RB_WEB_SHOT=$(abspath $(BUILD))/web/operator.png \
	  bash tests/web/run.sh $(WEB_PY) tests/web/test_browser.py
check: check-web

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

# Everything under $(BUILD), the sanitizer tree and the fuzzers included.
clean:
	@case '$(BUILD)' in ''|/|.|./|..|../) echo "clean: refusing to remove BUILD=$(BUILD)"; exit 1;; esac
	rm -rf '$(BUILD)'

-include $(shell find $(BUILD)/obj $(BUILD)/fuzz/obj -name '*.d' 2>/dev/null)
