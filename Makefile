# brook - one non-recursive Makefile for the whole tree.
#
#   make            build brookd, brook, libbrook and the test/bench programs into build/
#   make run        install missing Debian packages, build, start brookd on its defaults
#                   (ARGS="..." passes flags to brookd)
#   make test       install missing Debian packages, build with ASan+UBSan, run every test
#   make bench      build and run the benchmark suite (bench/run; BENCH_QUICK=1 for a smoke run)
#   make fuzz       build the libFuzzer targets with clang and run each FUZZ_SECONDS
#   make compile_commands.json   the compilation database for clangd and other tools (bear)
#
# SANITIZE=address,undefined builds into build/san/ with -fno-sanitize-recover=all;
# SANITIZE=thread into build/tsan/ (make tsan-build: what tests/tsan/run.sh runs).
# CI=true (as CI sets it) or WERROR=1 turns warnings into errors.

CC       ?= cc
.DEFAULT_GOAL := all # not the first rule below (a module archive)
Q        := $(if $(V),,@)# V=1 shows whole command lines
PKGS     := libevent libevent_openssl openssl fuse3 zlib liblz4 libzstd jansson
PKGS_OPT := cmocka rdkafka

BUILD    := build
ifneq ($(SANITIZE),)
BUILD    := $(if $(findstring thread,$(SANITIZE)),build/tsan,build/san)
SANFLAGS := -fsanitize=$(SANITIZE) -fno-sanitize-recover=all -fno-omit-frame-pointer
endif

WARN := -Wall -Wextra -Wno-unused-parameter -Wmissing-prototypes -Wstrict-prototypes -Wvla \
        -Wwrite-strings -Wshadow -Wpointer-arith -Wold-style-definition -Wformat=2 \
        -Wno-format-nonliteral -Wundef -Wcast-function-type
ifneq ($(filter true 1,$(CI) $(WERROR)),)
WARN += -Werror
endif

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CMOCKA     := $(shell pkg-config --libs cmocka 2>/dev/null) -lsnappy # libsnappy: a reference for tests
RDKAFKA    := $(shell pkg-config --libs rdkafka 2>/dev/null)

OPT      ?= -O2
CFLAGS   ?= $(OPT) -g
ALL_CFLAGS  = -std=gnu11 -D_GNU_SOURCE -I. $(WARN) $(PKG_CFLAGS) $(SANFLAGS) $(CFLAGS) -MMD -MP
ALL_LDFLAGS = -Wl,--as-needed $(SANFLAGS) $(LDFLAGS)
LIBS        = $(PKG_LIBS) -lpthread -lm

# --- modules: each directory is one static archive --------------------------------
MODULES := lib proto store auth fs console broker client remote
define module_rules
$(1)_SRC := $$(filter-out $(1)/main.c,$$(wildcard $(1)/*.c))
$(1)_OBJ := $$(patsubst %.c,$(BUILD)/%.o,$$($(1)_SRC))
$(BUILD)/$(1).a: $$($(1)_OBJ)
	@mkdir -p $$(@D)
	$(Q)rm -f $$@ && ar rcs $$@ $$^
endef
$(foreach m,$(MODULES),$(eval $(call module_rules,$(m))))

# server side links broker, console, fs, auth, store, proto, lib; the client side client, proto,
# lib, and for `brook mount` the view's core (fs.a without its store backend) and remote.a
SERVER_A := $(BUILD)/broker.a $(BUILD)/console.a $(BUILD)/fs.a $(BUILD)/auth.a $(BUILD)/store.a \
            $(BUILD)/proto.a \
            $(BUILD)/lib.a
CLIENT_A := $(BUILD)/client.a $(BUILD)/proto.a $(BUILD)/lib.a

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

# --- programs ------------------------------------------------------------------------
PROGRAMS :=
ifneq ($(wildcard broker/main.c),)
PROGRAMS += $(BUILD)/brookd
$(BUILD)/brookd: $(BUILD)/broker/main.o $(SERVER_A)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)
endif
CLI_SRC := $(wildcard client/cli/*.c)
ifneq ($(CLI_SRC),)
PROGRAMS += $(BUILD)/brook
$(BUILD)/brook: $(patsubst %.c,$(BUILD)/%.o,$(CLI_SRC)) $(BUILD)/remote.a $(BUILD)/fs.a $(CLIENT_A)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)
endif

# --- libbrook: the client library, static and shared, with its pkg-config file -----------
LIBBROOK_OBJ := $(client_OBJ) $(proto_OBJ) $(lib_OBJ)
PIC_OBJ      := $(patsubst $(BUILD)/%,$(BUILD)/so/%,$(LIBBROOK_OBJ))
ifneq ($(wildcard client/brook.h),)
PROGRAMS += $(BUILD)/libbrook.a $(BUILD)/libbrook.so $(BUILD)/brook.pc
endif
$(BUILD)/libbrook.a: $(LIBBROOK_OBJ)
	$(Q)rm -f $@ && ar rcs $@ $^
# hidden visibility: libbrook.so exports only what brook.h marks BROOK_API (tests/cli/exports.sh)
$(BUILD)/so/%.o: %.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC -fPIC $<")
	$(Q)$(CC) $(ALL_CFLAGS) -fPIC -fvisibility=hidden -c -o $@ $<
$(BUILD)/libbrook.so: $(PIC_OBJ) client/brook.h # brook.h decides what is exported
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -shared -Wl,-soname,libbrook.so.0 -o $@ $(filter %.o,$^) \
		$(shell pkg-config --libs zlib liblz4 libzstd openssl 2>/dev/null) -lpthread
# regenerated every time: it names PREFIX, which may differ from one make to the next
.PHONY: $(BUILD)/brook.pc
$(BUILD)/brook.pc:
	@mkdir -p $(@D)
	@printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$${prefix}/lib' 'includedir=$${prefix}/include' '' \
		'Name: brook' 'Description: client library for brook and other Kafka-protocol brokers' \
		'Version: $(VERSION)' 'Libs: -L$${libdir} -lbrook' \
		'Libs.private: $(shell pkg-config --libs zlib liblz4 libzstd openssl 2>/dev/null) -lpthread' \
		'Cflags: -I$${includedir}' >$@

# --- install ---------------------------------------------------------------------------------
PREFIX  ?= /usr/local
VERSION := $(shell sed -n 's/^.define BROOK_VERSION "\(.*\)"$$/\1/p' lib/version.h)
DESTDIR ?=
.PHONY: install
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig \
		$(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/share/man/man1 \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions
	install -m 755 $(BUILD)/brookd $(DESTDIR)$(PREFIX)/bin/
	$(if $(CLI_SRC),install -m 755 $(BUILD)/brook $(DESTDIR)$(PREFIX)/bin/)
	$(if $(wildcard client/brook.h),install -m 644 $(BUILD)/libbrook.a $(DESTDIR)$(PREFIX)/lib/)
	$(if $(wildcard client/brook.h),install -m 755 $(BUILD)/libbrook.so \
		$(DESTDIR)$(PREFIX)/lib/libbrook.so.0)
	$(if $(wildcard client/brook.h),ln -sf libbrook.so.0 $(DESTDIR)$(PREFIX)/lib/libbrook.so)
	$(if $(wildcard client/brook.h),install -m 644 client/brook.h $(DESTDIR)$(PREFIX)/include/)
	$(if $(wildcard client/brook.h),install -m 644 $(BUILD)/brook.pc \
		$(DESTDIR)$(PREFIX)/lib/pkgconfig/)
	$(foreach m,$(wildcard docs/man/*.1),install -m 644 $(m) $(DESTDIR)$(PREFIX)/share/man/man1/;)
	$(if $(wildcard client/completion.bash),install -m 644 client/completion.bash \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/brook)

# --- tests -----------------------------------------------------------------------------
# tests/unit/test_X.c -> build/tests/test_X (cmocka, linked against every server module)
UNIT_SRC   := $(wildcard tests/unit/test_*.c)
UNIT_BIN   := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
UNIT_HELP  := $(patsubst %.c,$(BUILD)/%.o,$(filter-out $(UNIT_SRC),$(wildcard tests/unit/*.c)))
$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(UNIT_HELP) $(SERVER_A) $(BUILD)/client.a
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(SERVER_A) $(LIBS) $(CMOCKA)

# programs under tests/<suite>/*.c (other than unit/ and fuzz/) each build one binary
# (client.a first: libbrook needs proto and lib, which the server archives bring)
TOOL_SUITES := compat crash integration fuse
TOOL_SRC := $(foreach d,$(TOOL_SUITES),$(wildcard tests/$(d)/*.c))
TOOL_BIN := $(patsubst tests/%.c,$(BUILD)/tests/%,$(TOOL_SRC))
define tool_rule
$(BUILD)/tests/$(1)/%: $(BUILD)/tests/$(1)/%.o $(SERVER_A) $(BUILD)/client.a
	@$$(if $(Q),echo "  LINK    $$@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $$@ $$< $(BUILD)/client.a $(SERVER_A) $(LIBS) $(RDKAFKA)
endef
$(foreach d,$(TOOL_SUITES),$(eval $(call tool_rule,$(d))))
.SECONDARY:

BENCH_SRC := $(wildcard bench/*.c)
BENCH_BIN := $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRC))
$(BUILD)/bench/%: $(BUILD)/bench/%.o $(SERVER_A) $(BUILD)/client.a
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $< $(SERVER_A) $(BUILD)/client.a $(LIBS) $(RDKAFKA) $(shell pkg-config --libs libnats 2>/dev/null)

# --- top-level targets -------------------------------------------------------------------
.PHONY: all run test check unit bench bench-build fuzz deps clean format hdr-check build-all

all: $(PROGRAMS)

deps:
	@scripts/deps

# make run ARGS="-o num.partitions=3": ARGS go to brookd
run: deps
	@$(MAKE) --no-print-directory all
	scripts/run $(ARGS)

test: deps
	@$(MAKE) --no-print-directory SANITIZE=address,undefined check

# builds everything the tests need in this configuration, then runs tests/run
check: build-all tsan-build
	BUILD=$(BUILD) tests/run

# everything check builds in this configuration; scripts/check-clang builds it with clang
build-all: $(PROGRAMS) $(UNIT_BIN) $(TOOL_BIN) hdr-check

unit: $(UNIT_BIN)
	@for t in $(UNIT_BIN); do $$t || exit 1; done

bench-build: $(PROGRAMS) $(BENCH_BIN)

bench:
	@scripts/deps bench
	@$(MAKE) --no-print-directory bench-build
	BUILD=$(BUILD) bench/run

# every header compiles on its own (Git's hdr-check) - a module's private.h too: it is
# included first by every file of its module, so it must carry its own includes. A
# header compiled alone uses none of its static inline functions: clang would say so.
HDRS := $(foreach m,$(MODULES),$(wildcard $(m)/*.h))
HDR_OK := $(patsubst %.h,$(BUILD)/hdr/%.ok,$(HDRS))
hdr-check: $(HDR_OK)
$(BUILD)/hdr/%.ok: %.h
	@mkdir -p $(@D)
	@$(CC) -std=gnu11 -D_GNU_SOURCE -I. $(WARN) -Wno-unused-function $(PKG_CFLAGS) \
		-fsyntax-only -x c $< && touch $@

format:
	git clang-format

# proto/kafka_msgs.[ch] are generated from proto/kafka.schema, and committed; edit the
# schema (or the generator) and make writes them again (tests/integration/
# gen_kafka_uptodate.sh checks that what is committed is what the generator makes)
proto/kafka_msgs.c proto/kafka_msgs.h &: proto/kafka.schema scripts/gen_kafka.py
	@echo "  GEN     proto/kafka_msgs.c proto/kafka_msgs.h"
	$(Q)python3 scripts/gen_kafka.py

# the compilation database (compile_commands.json at the top) of a build from
# scratch in build/cdb with this configuration's flags, recorded by bear
.PHONY: compile_commands.json
compile_commands.json:
	rm -rf build/cdb
	bear --output $@ -- $(MAKE) --no-print-directory BUILD=build/cdb build-all

# the ThreadSanitizer build of the programs tests/tsan/run.sh runs ($(CC) with
# -fsanitize=thread; libevent and libfuse need no suppressions, see tests/tsan.supp)
TSAN_PROGRAMS := brookd brook tests/test_store tests/test_fs tests/test_store_txn
.PHONY: tsan-build
tsan-build:
	@$(MAKE) --no-print-directory SANITIZE=thread $(addprefix build/tsan/,$(TSAN_PROGRAMS))

clean:
	rm -rf build

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# --- reliability: fuzzing, crash loop, faults, hostile load (docs/reliability.md) --------
#   make fuzz FUZZ_SECONDS=N   build the libFuzzer targets (tests/fuzz/) with clang and run
#                              each N seconds, two at a time; corpora grow in $(FUZZ_BUILD)/work
#                              (tests/fuzz/run; make test runs tests/fuzz/short.sh, 30 s each,
#                              five at a time)
#   make fuzz-seeds            write the committed seed corpora again (tests/fuzz/make-seeds)
#   make crash CYCLES=N        the crash loop (tests/crash/loop.sh, then its transactional
#                              phase tests/crash/txn_loop.sh) for N kill -9 cycles each
#   make hostile               hostile load against a live brookd, full sizes: 10^6 mutated
#                              frames (from HOSTILE_FRAMES), 10 000 idle connections, fd-limit
#                              churn, 1 000 slowloris clients (tests/integration/hostile_load.sh;
#                              a short run of it is part of make test)
# The library sources are compiled again with clang and coverage instrumentation for the
# fuzz targets; tests/fuzz/api.c is compiled once per Kafka API (-DFUZZ_API=...).
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
CYCLES       ?= 100
HOSTILE_FRAMES ?= tests/data/kafka
FUZZ_BUILD   := $(BUILD)/fuzz
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS   = -std=gnu11 -D_GNU_SOURCE -I. -g -O1 $(WARN) $(PKG_CFLAGS) $(FUZZ_SAN) -MMD -MP
FUZZ_MODS    := lib proto store auth fs
FUZZ_APIS    := $(shell sed -n 's/^ *KAFKA_API_\([A-Z_]*\) = [0-9]*,$$/\1/p' proto/kafka_msgs.h \
                  2>/dev/null | tr A-Z a-z)
FUZZ_ONE     := $(patsubst tests/fuzz/%.c,%,$(filter-out tests/fuzz/api.c tests/fuzz/seeds.c,\
                  $(wildcard tests/fuzz/*.c)))
FUZZ_BIN     := $(addprefix $(FUZZ_BUILD)/,$(FUZZ_ONE) $(addprefix api_,$(FUZZ_APIS)))
FUZZ_A       := $(FUZZ_BUILD)/fs.a $(FUZZ_BUILD)/auth.a $(FUZZ_BUILD)/store.a $(FUZZ_BUILD)/proto.a \
                $(FUZZ_BUILD)/lib.a

define fuzz_module_rule
$(FUZZ_BUILD)/$(1).a: $$(patsubst %.c,$(FUZZ_BUILD)/obj/%.o,$$($(1)_SRC))
	$(Q)rm -f $$@ && ar rcs $$@ $$^
endef
$(foreach m,$(FUZZ_MODS),$(eval $(call fuzz_module_rule,$(m))))

$(FUZZ_BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  FUZZCC  $<")
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<
$(FUZZ_BUILD)/obj/tests/fuzz/api_%.o: tests/fuzz/api.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  FUZZCC  $< ($*)")
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link \
		-DFUZZ_API=KAFKA_API_$$(echo $* | tr a-z A-Z) -c -o $@ $<
$(FUZZ_BUILD)/%: $(FUZZ_BUILD)/obj/tests/fuzz/%.o $(FUZZ_A)
	@$(if $(Q),echo "  FUZZLD  $@")
	$(Q)$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $< $(FUZZ_A) $(PKG_LIBS) -lpthread -lm
# the seed generator is an ordinary program (tests/fuzz/seeds.c): make fuzz-seeds
# (with the hand-written Kafka bodies of the codec tests)
FUZZ_FIXTURES := $(FUZZ_BUILD)/obj/tests/unit/kafka_fixtures.o \
                 $(FUZZ_BUILD)/obj/tests/unit/kafka_fixture_notation.o
$(FUZZ_BUILD)/seeds: $(FUZZ_BUILD)/obj/tests/fuzz/seeds.o $(FUZZ_FIXTURES) $(FUZZ_A)
	$(Q)$(FUZZ_CC) $(FUZZ_SAN) -o $@ $< $(FUZZ_FIXTURES) $(FUZZ_A) $(PKG_LIBS) -lpthread -lm

# brookd with a fault-injecting sysio table, for tests/crash/faults.sh (tests/crash/faultd.c)
$(BUILD)/tests/crash/brookd_main.o: broker/main.c
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -Dmain=brookd_main -Wno-missing-prototypes -c -o $@ $<
$(BUILD)/tests/crash/faultd: $(BUILD)/tests/crash/faultd.o $(BUILD)/tests/crash/brookd_main.o \
		$(SERVER_A)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $(filter %.o,$^) $(SERVER_A) $(LIBS)

.PHONY: fuzz fuzz-build fuzz-seeds crash hostile
fuzz-build: $(FUZZ_BIN)
fuzz: fuzz-build
	BUILD=$(BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_WORK=$(FUZZ_BUILD)/work tests/fuzz/run
fuzz-seeds: $(FUZZ_BUILD)/seeds $(BUILD)/brookd
	BUILD=$(BUILD) tests/fuzz/make-seeds
crash: $(BUILD)/brookd $(BUILD)/tests/crash/crashloop $(BUILD)/tests/crash/txn_crash
	BUILD=$(BUILD) CYCLES=$(CYCLES) tests/crash/loop.sh
	BUILD=$(BUILD) CYCLES=$(CYCLES) tests/crash/txn_loop.sh
hostile: $(BUILD)/brookd $(BUILD)/tests/integration/hostile_load
	BUILD=$(BUILD) HOSTILE=full HOSTILE_FRAMES=$(abspath $(HOSTILE_FRAMES)) \
		tests/integration/hostile_load.sh
ifneq ($(and $(wildcard tests/fuzz/api.c),$(shell command -v $(FUZZ_CC) 2>/dev/null)),)
check: fuzz-build
endif
