# strata — one Makefile, pkg-config for every dependency.
#
#   make              build build/strata (and the unit tests)
#   make test         include direction + unit + end-to-end tests (TAP through prove)
#   make check-includes  only the include direction (docs/architecture.md)
#   make SAN=1 test   the same under ASan+UBSan (objects in build-san/)
#   make bench        benchmarks (not part of the tests)
#   make fuzz         libFuzzer harnesses (clang)
#   make install      binary, man pages, bash completion (PREFIX=/usr/local, DESTDIR)
#   make deb          a Debian package from debian/ (dpkg-buildpackage -b -us -uc)
#
# Sources are discovered: src/<module>/*.c (and src/registry/<part>/*.c) form
# libstrata.a; src/cli/*.c form the binary; tests/unit/test_*.c are unit tests.

PKGS     := libcurl libmicrohttpd jansson yaml-0.1 libarchive libcrypto zlib \
            libisal libzstd sqlite3 libcrypt libseccomp libpq
CC       ?= cc
ifeq ($(origin CC),default)
CC       := cc
endif
OPT      ?= -O2
WARN     := -Wall -Wextra -Wformat=2 -Wstrict-prototypes -Wshadow=local \
            -Wno-missing-field-initializers $(WERROR)
# warnings are errors here and in CI; a distribution build (debian/rules) with
# other flags (_FORTIFY_SOURCE) keeps them as warnings
WERROR   ?= -Werror
CFLAGS   ?= $(OPT) -g
ALL_CFLAGS = -std=gnu11 $(WARN) $(CPPFLAGS) $(CFLAGS) -D_GNU_SOURCE -Isrc \
            $(shell pkg-config --cflags $(PKGS)) -MMD -MP
LIBS     := $(shell pkg-config --libs $(PKGS)) -lpthread

ifeq ($(SAN),1)
B        := build-san
ALL_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer \
              -fno-sanitize-recover=undefined
LDSAN    := -fsanitize=address,undefined
else
B        := build
LDSAN    :=
endif

VERSION  := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
GITREV   := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
ALL_CFLAGS += -DSTRATA_VERSION='"$(VERSION)"' -DSTRATA_GITREV='"$(GITREV)"'

LIB_SRC  := $(sort $(filter-out src/cli/%,$(wildcard src/*/*.c src/*/*/*.c)))
CLI_SRC  := $(sort $(wildcard src/cli/*.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(B)/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(B)/%.o)
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
# the longest files start first, so that none of them starts last and keeps
# one of prove's two jobs running alone at the end (CI has 2 cores)
E2E_SLOW := t7130 t8013 t8020 t7110 t7124 t7125 t7126 t8030 t7100 t7123 t9004 t7122
E2E_ALL  := $(sort $(wildcard tests/e2e/t[0-9]*.sh))
E2E_HEAD := $(foreach t,$(E2E_SLOW),$(filter tests/e2e/$(t)-%,$(E2E_ALL)))
E2E      := $(E2E_HEAD) $(filter-out $(E2E_HEAD),$(E2E_ALL))

.PHONY: all test check check-includes slow-python man install uninstall deb unit e2e bench fuzz clean install-deps
all: $(B)/strata $(UNIT_BIN)

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC $<"; $(CC) $(ALL_CFLAGS) -c -o $@ $<

$(B)/libstrata.a: $(LIB_OBJ)
	@rm -f $@
	@echo "  AR $@"; ar rcs $@ $^

$(B)/strata: $(CLI_OBJ) $(B)/libstrata.a
	@echo "  LD $@"; $(CC) $(LDFLAGS) $(LDSAN) -o $@ $(CLI_OBJ) $(B)/libstrata.a $(LIBS)

$(B)/tests/%: tests/unit/%.c $(B)/libstrata.a tests/unit/tap.h
	@mkdir -p $(dir $@)
	@echo "  CCLD $@"; $(CC) $(filter-out -MMD -MP,$(ALL_CFLAGS)) -Itests/unit $(LDFLAGS) $(LDSAN) -o $@ $< $(B)/libstrata.a $(LIBS)

# The include direction of docs/architecture.md ("Include direction").
check-includes:
	scripts/check-includes

# The test command: the include check, every unit test binary and every
# end-to-end script, as TAP, each file under tests/run-test's time limit
# ($$STRATA_TEST_TIMEOUT, 600 s). SLOW_PYTHON=SECS puts a python3 first on
# PATH that sleeps SECS before starting the real one (like a version-manager
# shim): a test racing a process start then fails instead of passing by luck.
SLOW_PYTHON ?=
TEST_PATH := $(if $(SLOW_PYTHON),$(CURDIR)/$(B)/slow-python:,)$(PATH)
test: all check-includes $(if $(SLOW_PYTHON),slow-python)
	PATH="$(TEST_PATH)" STRATA_BIN=$(CURDIR)/$(B)/strata STRATA_BUILD=$(CURDIR)/$(B) \
	  prove -j2 --timer --failures --comments --exec tests/run-test $(UNIT_BIN) $(E2E)

slow-python:
	@mkdir -p $(B)/slow-python
	@printf '#!/bin/sh\nsleep %s\nexec %s "$$@"\n' "$(SLOW_PYTHON)" "$$(command -v python3)" >$(B)/slow-python/python3
	@chmod +x $(B)/slow-python/python3

# What CI runs: the include check, the suite, then the suite again under
# ASan+UBSan with a python3 that takes 1.5 s to start (no test may race a
# process start).
check: check-includes
	$(MAKE) test
	$(MAKE) SAN=1 SLOW_PYTHON=1.5 test

unit: all
	prove --exec tests/run-test $(UNIT_BIN)

e2e: all
	STRATA_BIN=$(CURDIR)/$(B)/strata STRATA_BUILD=$(CURDIR)/$(B) prove --timer --exec tests/run-test $(E2E)

bench: all
	STRATA_BIN=$(CURDIR)/$(B)/strata bench/run-all

FUZZ_SRC := $(sort $(wildcard fuzz/fuzz_*.c))
FUZZ_BIN := $(FUZZ_SRC:fuzz/%.c=build-fuzz/%)
LIB_SRC_FUZZ := $(LIB_SRC)
fuzz: $(FUZZ_BIN)
build-fuzz/%: fuzz/%.c $(LIB_SRC)
	@mkdir -p build-fuzz
	clang -std=gnu11 -g -O1 -D_GNU_SOURCE -Isrc $(shell pkg-config --cflags $(PKGS)) \
	  -DSTRATA_VERSION='"fuzz"' -DSTRATA_GITREV='"fuzz"' \
	  -fsanitize=fuzzer,address,undefined -o $@ $< $(LIB_SRC) $(LIBS)

# Man pages for every verb, from the --help text (scripts/gen-man, help2man).
man: $(B)/man/strata.1
$(B)/man/strata.1: $(B)/strata scripts/gen-man $(wildcard docs/man/*.h2m)
	@rm -rf $(B)/man
	@echo "  MAN $(B)/man"; scripts/gen-man $(CURDIR)/$(B)/strata $(B)/man $(VERSION)

# make install [PREFIX=/usr/local] [DESTDIR=]: the binary, the man pages,
# bash completion.
PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
MANDIR  ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
install: $(B)/strata man
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(BASHCOMPDIR)
	install -m 0755 $(B)/strata $(DESTDIR)$(BINDIR)/strata
	install -m 0644 $(B)/man/*.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 contrib/completion/strata.bash $(DESTDIR)$(BASHCOMPDIR)/strata

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/strata $(DESTDIR)$(BASHCOMPDIR)/strata $(DESTDIR)$(MANDIR)/man1/strata.1 \
	  $(DESTDIR)$(MANDIR)/man1/strata-*.1

# A Debian package from the tree (debian/): ../strata_VERSION_ARCH.deb
deb:
	dpkg-buildpackage -b -us -uc

install-deps:
	scripts/install-deps

clean:
	rm -rf build build-san build-fuzz

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d)
