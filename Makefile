# dpcache build.  `make` builds the release binaries; `make test` installs
# what is missing (scripts/deps.sh), then builds and runs every test.
#
# Build flavours, each in its own directory so that they never mix:
#   build/release  -O3, hot-path argument checks compiled out (binaries, perf)
#   build/debug    -O1 -DDPC_DEBUG (unit and black-box tests)
#   build/asan     debug + ASan/UBSan (unit and black-box tests again)
#   build/fuzz     clang libFuzzer targets (+ASan/UBSan)
# `make BUILD=dir FLAVOUR=debug|release|asan` picks one explicitly (helpers and
# CI can build side by side in different directories).

FLAVOUR ?= release
BUILD   ?= build/$(FLAVOUR)
CC      ?= cc
ifeq ($(origin CC),default)
CC := gcc
endif

PKGS_DPDK := libdpdk
PKGS_URCU := liburcu-qsbr liburcu-cds

# DPDK headers are system headers to us: their inline code is not held to
# our warning set (-Wconversion would flood otherwise).
DPDK_CFLAGS := $(shell pkg-config --cflags $(PKGS_DPDK) 2>/dev/null | sed 's/-I/-isystem /g')
DPDK_LIBS   := $(shell pkg-config --libs $(PKGS_DPDK) 2>/dev/null) -lrte_net_ring -lrte_net_memif -lrte_bus_vdev
URCU_LIBS   := $(shell pkg-config --libs $(PKGS_URCU) 2>/dev/null)
CMOCKA_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null)

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
        -Wpointer-arith -Wcast-align -Wwrite-strings -Wundef -Wvla \
        -Wconversion -Wno-sign-conversion -Wformat=2 -Wno-format-nonliteral
BASE_CFLAGS := -std=gnu11 -g -pthread -D_GNU_SOURCE -Iinclude -Ilib -Idataplane/engine \
        -march=corei7 -fno-strict-aliasing $(WARN)

ifeq ($(FLAVOUR),release)
OPT := -O3 -DNDEBUG
else ifeq ($(FLAVOUR),debug)
OPT := -O1 -DDPC_DEBUG -fno-omit-frame-pointer
else ifeq ($(FLAVOUR),asan)
OPT := -O1 -DDPC_DEBUG -fno-omit-frame-pointer -fsanitize=address,undefined \
       -fno-sanitize-recover=undefined
SAN_LDFLAGS := -fsanitize=address,undefined
else
$(error FLAVOUR must be release, debug or asan)
endif

CFLAGS  += $(BASE_CFLAGS) $(OPT) $(EXTRA_CFLAGS)
LDFLAGS += -pthread $(SAN_LDFLAGS)
LDLIBS  := $(URCU_LIBS) -lm

# ---- sources ---------------------------------------------------------------
# lib/               libdpcache.a: code every binary shares (codec, packets,
#                    hashing, histogram, ketama, stats layout, config table)
# dataplane/engine/  libdpcore.a: the cache engine, DPDK-free (table, store,
#                    request handler)
# dataplane/*.c      dpcached: the DPDK glue around the engine
# control/ctl*.c     dpcachectl;  control/cli.c: dpcache-cli
# perf/bench/*.c     dpcache-bench;  perf/*.c: one benchmark tool each
LIB_SRCS   := $(wildcard lib/*.c)
CORE_SRCS  := $(wildcard dataplane/engine/*.c)
DP_SRCS    := $(wildcard dataplane/*.c)
CTL_SRCS   := $(wildcard control/ctl*.c)
CLI_SRCS   := $(wildcard control/cli*.c)
BENCH_SRCS := $(wildcard perf/bench/*.c)
PERF_SRCS  := $(wildcard perf/*.c)
UNIT_SRCS  := $(wildcard tests/unit/test_*.c)
FUZZ_SRCS  := $(wildcard tests/fuzz/fuzz_*.c)

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

LIBDPC  := $(BUILD)/libdpcache.a
LIBCORE := $(BUILD)/libdpcore.a

BINS := $(BUILD)/bin/dpcached $(BUILD)/bin/dpcachectl $(BUILD)/bin/dpcache-cli \
        $(BUILD)/bin/dpcache-bench
BINS := $(filter-out $(if $(DP_SRCS),,$(BUILD)/bin/dpcached) \
                     $(if $(CTL_SRCS),,$(BUILD)/bin/dpcachectl) \
                     $(if $(CLI_SRCS),,$(BUILD)/bin/dpcache-cli) \
                     $(if $(BENCH_SRCS),,$(BUILD)/bin/dpcache-bench),$(BINS))
PERF_BINS := $(patsubst perf/%.c,$(BUILD)/bin/%,$(PERF_SRCS))
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))

.PHONY: all bins tests run test test-unit test-asan test-blackbox test-fuzz fuzz \
        check-style deps hugepages bench clean help
.DEFAULT_GOAL := all
# Keep object files of tests and tools (they would be deleted as intermediates).
.SECONDARY:
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

all: bins
bins: $(BINS) $(PERF_BINS)
tests: $(UNIT_BINS)

help:
	@echo "make            build release binaries into build/release/bin"
	@echo "make run        start dpcached on an embedded veth/namespace network (scripts/run.sh)"
	@echo "make test       install deps, build, run unit + ASan + fuzz + black-box tests + style check"
	@echo "make test-unit  unit tests (debug build)     make test-asan   unit + black-box under ASan/UBSan"
	@echo "make test-fuzz  bounded libFuzzer runs       make fuzz FUZZ_SECONDS=600   longer runs"
	@echo "make bench      perf/ benchmarks (see docs/performance.md)"
	@echo "make install    binaries, sample config, systemd units (PREFIX=/usr/local, DESTDIR=)"

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(DPDK_CFLAGS) -MMD -MP -c $< -o $@

$(LIBDPC): $(call obj,$(LIB_SRCS))
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(LIBCORE): $(call obj,$(CORE_SRCS))
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

LINK_ALL = $(LIBCORE) $(LIBDPC)

$(BUILD)/bin/dpcached: $(call obj,$(DP_SRCS)) $(LINK_ALL)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(DPDK_LIBS) $(LDLIBS)

$(BUILD)/bin/dpcachectl: $(call obj,$(CTL_SRCS)) $(LIBDPC)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/bin/dpcache-cli: $(call obj,$(CLI_SRCS)) $(LIBDPC)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/bin/dpcache-bench: $(call obj,$(BENCH_SRCS)) $(LINK_ALL)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(DPDK_LIBS) $(LDLIBS)

$(BUILD)/bin/%: $(BUILD)/obj/perf/%.o $(LINK_ALL)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(DPDK_LIBS) $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(LINK_ALL)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(DPDK_LIBS) $(LDLIBS)

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# ---- install ---------------------------------------------------------------
# `make install` / `make uninstall` (PREFIX=/usr/local, DESTDIR for staging):
# the binaries of $(BUILD), scripts/hugepages.sh as dpcache-hugepages, a
# sample dpcache.conf generated from the settings table (dist/gen-conf.c) and
# dpcache.env, systemd unit templates dpcached@.service and
# dpcache-metrics@.service (dist/*.in), docs/operations.md.  An existing
# dpcache.conf/.env is kept (the new ones go beside it as *.sample);
# uninstall removes them only if unchanged.  Checked by tests/blackbox/test_install.sh.
PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
SBINDIR    ?= $(PREFIX)/sbin
SYSCONFDIR ?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
UNITDIR    ?= $(PREFIX)/lib/systemd/system
DOCDIR     ?= $(PREFIX)/share/doc/dpcache
INSTALL    ?= install
DIST_UNITS := dpcached@.service dpcache-metrics@.service
DIST_OUT   := $(BUILD)/dist/dpcache.conf $(addprefix $(BUILD)/dist/,$(DIST_UNITS))
INST_BINS  := $(notdir $(BINS))
CONF_DIR    = $(DESTDIR)$(SYSCONFDIR)/dpcache

.PHONY: install uninstall dist FORCE

$(BUILD)/dist/gen-conf: $(BUILD)/obj/dist/gen-conf.o $(LIBDPC)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/dist/dpcache.conf: $(BUILD)/dist/gen-conf
	$< >$@

# Paths are baked in: rebuilt when PREFIX & co. change.
$(BUILD)/dist/paths: FORCE
	@mkdir -p $(dir $@)
	@echo "$(BINDIR) $(SBINDIR) $(SYSCONFDIR) $(DOCDIR)" | cmp -s - $@ || \
		echo "$(BINDIR) $(SBINDIR) $(SYSCONFDIR) $(DOCDIR)" >$@

$(BUILD)/dist/%.service: dist/%.service.in $(BUILD)/dist/paths
	sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SBINDIR@|$(SBINDIR)|g' \
	    -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' -e 's|@DOCDIR@|$(DOCDIR)|g' $< >$@

FORCE:

dist: $(DIST_OUT)

install: $(BINS) $(DIST_OUT)
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) $(CONF_DIR) $(DESTDIR)$(UNITDIR) \
		$(DESTDIR)$(DOCDIR)
	$(INSTALL) -m 0755 $(BINS) $(DESTDIR)$(BINDIR)/
	$(INSTALL) -m 0755 scripts/hugepages.sh $(DESTDIR)$(SBINDIR)/dpcache-hugepages
	$(INSTALL) -m 0644 $(addprefix $(BUILD)/dist/,$(DIST_UNITS)) $(DESTDIR)$(UNITDIR)/
	$(INSTALL) -m 0644 docs/operations.md $(DESTDIR)$(DOCDIR)/
	$(INSTALL) -m 0644 $(BUILD)/dist/dpcache.conf $(CONF_DIR)/dpcache.conf.sample
	$(INSTALL) -m 0644 dist/dpcache.env $(CONF_DIR)/dpcache.env.sample
	@for f in dpcache.conf dpcache.env; do \
		if [ -e $(CONF_DIR)/$$f ]; then echo "install: keeping $(CONF_DIR)/$$f"; \
		else echo "$(INSTALL) -m 0644 $(CONF_DIR)/$$f.sample $(CONF_DIR)/$$f"; \
			$(INSTALL) -m 0644 $(CONF_DIR)/$$f.sample $(CONF_DIR)/$$f; fi; \
	done

uninstall:
	rm -f $(addprefix $(DESTDIR)$(BINDIR)/,$(INST_BINS)) $(DESTDIR)$(SBINDIR)/dpcache-hugepages \
		$(addprefix $(DESTDIR)$(UNITDIR)/,$(DIST_UNITS)) $(DESTDIR)$(DOCDIR)/operations.md
	@for f in dpcache.conf dpcache.env; do \
		if [ -e $(CONF_DIR)/$$f ] && ! cmp -s $(CONF_DIR)/$$f $(CONF_DIR)/$$f.sample; then \
			echo "uninstall: keeping $(CONF_DIR)/$$f (changed)"; \
		else rm -f $(CONF_DIR)/$$f; fi; rm -f $(CONF_DIR)/$$f.sample; \
	done
	@rmdir $(CONF_DIR) $(DESTDIR)$(DOCDIR) 2>/dev/null || true
# ---- end of install ----------------------------------------------------------

# ---- tests -----------------------------------------------------------------
# `make test` is what CI runs (.ci/run).  Order: cheapest first.
test: deps
	$(MAKE) --no-print-directory check-style
	$(MAKE) --no-print-directory -j$(JOBS) FLAVOUR=release bins
	$(MAKE) --no-print-directory -j$(JOBS) FLAVOUR=debug bins tests
	$(MAKE) --no-print-directory FLAVOUR=debug test-unit
	$(MAKE) --no-print-directory -j$(JOBS) FLAVOUR=asan bins tests
	$(MAKE) --no-print-directory FLAVOUR=asan test-unit
	$(MAKE) --no-print-directory test-fuzz
	$(MAKE) --no-print-directory FLAVOUR=debug test-blackbox
	$(MAKE) --no-print-directory FLAVOUR=asan test-blackbox
	@echo "make test: all tests passed"

test-unit: tests
	@scripts/run-unit.sh $(BUILD)/tests

test-asan:
	$(MAKE) --no-print-directory FLAVOUR=asan test-unit
	$(MAKE) --no-print-directory FLAVOUR=asan test-blackbox

test-blackbox: bins
	@scripts/run-blackbox.sh $(BUILD)

FUZZ_SECONDS ?= 20
test-fuzz:
	@scripts/run-fuzz.sh $(FUZZ_SECONDS)
fuzz:
	@scripts/run-fuzz.sh $(if $(filter 20,$(FUZZ_SECONDS)),600,$(FUZZ_SECONDS))

check-style:
	@scripts/check-style.sh

deps:
	@scripts/deps.sh

hugepages:
	@scripts/hugepages.sh

run: deps
	$(MAKE) --no-print-directory -j$(JOBS) FLAVOUR=release bins
	@scripts/run.sh build/release

bench: deps
	$(MAKE) --no-print-directory -j$(JOBS) FLAVOUR=release bins
	@perf/run-all.sh build/release

clean:
	rm -rf build
