# breakglass build. One library of every module, one CLI binary, one cmocka binary per
# unit-test file, one libFuzzer binary per fuzz target. New files are picked up by
# wildcard: adding a module or a test needs no edit here. Modules live in src/LAYER/, and
# a module's variants (the store's backends) one level deeper, src/LAYER/MODULE/.
#
#   make            release build (build/release/breakglass)
#   make check      installs what is missing, builds with ASan+UBSan, runs every test
#   make demo       installs, builds, walks through an incident against local dynalite
#   make bench      benchmarks (bench/REPORT.md explains them)
#   make fuzz       builds the libFuzzer targets (make fuzz-run FUZZ_SECONDS=60 runs them)
#   make format     clang-format every source file

# V=1 shows full compiler command lines.
ifeq ($(V),1)
Q =
else
Q = @
endif

SANITIZE ?= 0
ifeq ($(SANITIZE),1)
BUILD ?= build/asan
SAN_FLAGS = -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
OPT = -O1
else
BUILD ?= build/release
SAN_FLAGS =
OPT = -O2 -D_FORTIFY_SOURCE=2
endif

CC ?= cc
VERSION := $(shell cat VERSION)
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
PKGS = libcurl libssl libcrypto jansson yaml-0.1 sqlite3 liboath libqrencode zlib relp
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
WARN = -Wall -Wextra -Wpedantic -Werror -Wformat=2 -Wshadow -Wvla -Wpointer-arith -Wstrict-prototypes \
       -Wmissing-prototypes -Wno-unused-parameter
CFLAGS ?= $(OPT) -g
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -DBG_VERSION='"$(VERSION)"' $(WARN) -fstack-protector-strong -fPIC $(SAN_FLAGS) \
             $(CFLAGS) -Isrc $(PKG_CFLAGS)
LDFLAGS_ALL = $(SAN_FLAGS) $(LDFLAGS) $(PKG_LIBS) -lhttp_parser -lpthread

SRC_C := $(wildcard src/*/*.c src/*/*/*.c)
SRC_H := $(wildcard src/*/*.h src/*/*/*.h)
LIB_SRCS := $(sort $(filter-out src/cli/main.c,$(SRC_C)))
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
TEST_SRCS := $(sort $(wildcard tests/unit/test_*.c))
TEST_BINS := $(TEST_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_SRCS := $(sort $(wildcard fuzz/fuzz_*.c))
FUZZ_BINS := $(FUZZ_SRCS:fuzz/%.c=build/fuzz/%)
BENCH_SRCS := $(sort $(wildcard bench/*.c))
BENCH_BINS := $(BENCH_SRCS:bench/%.c=build/release/bench/%)

.PHONY: all deps check unit e2e fuzz fuzz-smoke fuzz-run demo bench format lint clean man \
	install uninstall
all: $(BUILD)/breakglass

deps:
	@bash scripts/install-deps.sh

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libbreakglass.a: $(LIB_OBJS)
	@rm -f $@
	@echo "  AR      $@"
	$(Q)ar rcs $@ $^

$(BUILD)/breakglass: $(BUILD)/src/cli/main.o $(BUILD)/libbreakglass.a
	@echo "  LD      $@"
	$(Q)$(CC) -o $@ $^ $(LDFLAGS_ALL)

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(BUILD)/libbreakglass.a
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) -o $@ $^ $(LDFLAGS_ALL) $(shell pkg-config --libs cmocka)

# A library's own leaks that breakglass cannot free (each explained in the file).
export LSAN_OPTIONS ?= suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0

# Unit tests run from the repository root so they can find ../shared/testdata.
unit: $(TEST_BINS)
	@set -e; for t in $(TEST_BINS); do echo "== $$t"; $$t; done

# Forbidden functions (unbounded or locale/overflow traps); see DESIGN.md conventions.
lint:
	@! grep -nE '\b(strcpy|strcat|sprintf|vsprintf|strtok|atoi|atol|atoll|gets|strncpy)\s*\(' \
		$(SRC_C) $(SRC_H) tests/unit/*.c fuzz/*.c bench/*.c 2>/dev/null \
		|| (echo "lint: banned function used (see DESIGN.md conventions)"; false)

# libFuzzer targets: clang, ASan+UBSan. The library is compiled once with coverage
# instrumentation (fuzzer-no-link) into an archive every target links, instead of once
# per target: 24 targets compiling ~100 files each took a third of `make check`.
FUZZ_SAN = address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS = -std=c11 -D_GNU_SOURCE -DBG_VERSION='"$(VERSION)"' -g -O1 -Isrc $(PKG_CFLAGS)
FUZZ_LIB_OBJS := $(LIB_SRCS:%.c=build/fuzz/obj/%.o)
build/fuzz/obj/%.o: %.c $(SRC_H)
	@mkdir -p $(dir $@)
	@echo "  FUZZCC  $<"
	$(Q)clang $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link,$(FUZZ_SAN) -c $< -o $@
build/fuzz/libbreakglass.a: $(FUZZ_LIB_OBJS)
	$(Q)rm -f $@
	$(Q)ar rcs $@ $^
build/fuzz/%: fuzz/%.c fuzz/fuzz.h build/fuzz/libbreakglass.a
	@mkdir -p build/fuzz
	@echo "  FUZZ    $@"
	$(Q)clang $(FUZZ_CFLAGS) -fsanitize=fuzzer,$(FUZZ_SAN) -o $@ $< build/fuzz/libbreakglass.a \
		$(PKG_LIBS) -lhttp_parser -lpthread
fuzz: $(FUZZ_BINS)

# A short bounded run of every fuzz target over its seed corpus (fuzz/seeds/NAME/).
FUZZ_SMOKE_RUNS ?= 200000
# ... or this many seconds, whichever comes first: a slow target (the report builder
# renders three formats per input) must not stretch `make check` past its budget.
FUZZ_SMOKE_SECONDS ?= 60
fuzz-smoke: $(FUZZ_BINS)
	@set -e; for f in $(FUZZ_BINS); do n=$$(basename $$f); mkdir -p build/fuzz/corpus-$$n; \
		echo "== $$n ($(FUZZ_SMOKE_RUNS) runs or $(FUZZ_SMOKE_SECONDS) s)"; \
		$$f -runs=$(FUZZ_SMOKE_RUNS) -max_total_time=$(FUZZ_SMOKE_SECONDS) -max_len=65536 \
			-artifact_prefix=build/fuzz/ \
			build/fuzz/corpus-$$n fuzz/seeds/$$n >build/fuzz/$$n.log 2>&1 \
			|| { tail -n 40 build/fuzz/$$n.log; echo "fuzz-smoke: $$n found a crash"; exit 1; }; \
		tail -n 1 build/fuzz/$$n.log; done

FUZZ_SECONDS ?= 60
fuzz-run: $(FUZZ_BINS)
	@set -e; for f in $(FUZZ_BINS); do n=$$(basename $$f); mkdir -p build/fuzz/corpus-$$n; \
		$$f -max_total_time=$(FUZZ_SECONDS) -max_len=65536 build/fuzz/corpus-$$n fuzz/seeds/$$n; done

e2e: $(BUILD)/breakglass
	BREAKGLASS_BIN=$(abspath $(BUILD)/breakglass) bash tests/e2e/run.sh

# The README's test command: everything, under AddressSanitizer and UBSan.
check: deps
	$(MAKE) SANITIZE=1 lint unit
	$(MAKE) fuzz-smoke
	$(MAKE) SANITIZE=1 e2e

demo: deps
	$(MAKE) SANITIZE=0
	BREAKGLASS_BIN=$(abspath build/release/breakglass) bash scripts/demo.sh

build/release/bench/%: bench/%.c build/release/libbreakglass.a
	@mkdir -p $(dir $@)
	@echo "  BENCH   $@"
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDFLAGS_ALL)
bench: deps
	$(MAKE) SANITIZE=0 build/release/breakglass $(BENCH_BINS)
	BREAKGLASS_BIN=$(abspath build/release/breakglass) bash bench/run.sh

# The man page is generated from the CLI's own help text (src/cli/help_pages.c) and
# committed; tests/e2e/test_help.sh fails when it is stale.
man: build/release/breakglass
	build/release/breakglass help --man > docs/breakglass.1

install: $(BUILD)/breakglass
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	install -m 0755 $(BUILD)/breakglass $(DESTDIR)$(BINDIR)/breakglass
	install -m 0644 docs/breakglass.1 $(DESTDIR)$(MANDIR)/man1/breakglass.1

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/breakglass $(DESTDIR)$(MANDIR)/man1/breakglass.1

format:
	clang-format -i $(SRC_C) $(SRC_H) tests/unit/*.c fuzz/*.c bench/*.c

clean:
	rm -rf build

-include $(LIB_OBJS:.o=.d) $(BUILD)/src/cli/main.d $(TEST_SRCS:tests/unit/%.c=$(BUILD)/tests/unit/%.d)
