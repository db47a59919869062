# early-vfio — build, test, install.
#   make            the binary (dynamic, Debian's libpci/libkmod/libinih)
#   make check      every test, installing what they need (as root)
#   make demo       boot a VM and show devices moving to vfio-pci
#   make install    DESTDIR=... PREFIX=/usr (the static binary; STATIC=no: the dynamic one)
#   make deb        .cache/deb/early-vfio_VERSION_ARCH.deb with dpkg-buildpackage, then lintian;
#                   install it with apt install ./.cache/deb/early-vfio_*.deb
VERSION   := 0.1.0
PREFIX    ?= /usr
SBINDIR   ?= $(PREFIX)/sbin
MANDIR    ?= $(PREFIX)/share/man
ITDIR     ?= $(PREFIX)/share/initramfs-tools
DRACUTDIR ?= $(PREFIX)/lib/dracut/modules.d
SYSCONFDIR ?= /etc
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR ?= $(PREFIX)/share/zsh/vendor-completions
UDEVRULESDIR ?= /lib/udev/rules.d
SYSTEMDUNITDIR ?= /lib/systemd/system

CC        ?= cc
PKG_CONFIG ?= pkg-config
PKGS      := libpci libkmod inih
PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS  := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null || echo -lpci -lkmod -linih)
WARN      := -Wall -Wextra -Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes
# CFLAGS, CPPFLAGS and LDFLAGS are the user's alone (debian/rules passes dpkg-buildflags'
# hardening flags through them), from the environment or the command line, set or appended to
# (`make CFLAGS+=-fanalyzer`). The project's own flags are EVFIO_*FLAGS, which come first: a
# later -O, -g or -D in the user's flags wins. _FORTIFY_SOURCE=2 unless the user's flags set it.
EVFIO_CPPFLAGS := -D_GNU_SOURCE -Iinclude $(PKG_CFLAGS) -DEVFIO_VERSION='"$(VERSION)"' \
                  $(if $(findstring _FORTIFY_SOURCE,$(CPPFLAGS) $(CFLAGS)),,-D_FORTIFY_SOURCE=2)
EVFIO_CFLAGS   := -std=c11 -O2 -g $(WARN)
EVFIO_LDFLAGS  := -Wl,-z,relro,-z,now
ifeq ($(CI),true)
EVFIO_CFLAGS   += -Werror
endif
# the sanitizers of early-vfio-asan and the unit tests; debian/rules builds the unit tests with
# SAN= (ASan aborts when fakeroot, faketime or eatmydata is preloaded)
SAN       ?= -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
COMPILE   = $(CC) $(EVFIO_CPPFLAGS) $(CPPFLAGS) $(EVFIO_CFLAGS) $(CFLAGS)

LIB_SRC   := src/sysfs.c src/clock.c src/log.c src/selector.c src/config.c \
             src/pci.c src/modules.c src/protect.c src/record.c src/safety.c src/vfio.c \
             src/nvme.c src/identify.c src/moving.c src/bind.c src/commands.c src/boot.c \
             src/output.c src/initramfs.c src/inventory.c src/list.c \
             src/confedit.c src/add.c src/apply.c src/pve.c src/esp.c src/sriov-conf.c src/sriov.c
SRC       := $(LIB_SRC) src/main.c
HDR       := include/early-vfio.h

.PHONY: fuzz check-fuzz all asan check check-unit check-integration check-vm check-lint \
        deps demo install clean bench bench-vm check-bench deb check-deps check-package \
        check-analyzer

all: early-vfio

# config.c names every error "file:line" from the line number libinih passes
# its handler, which it does only when built with INI_HANDLER_LINENO (Debian's
# is): run a small parse against the libinih this build links, once per build
# of the check, and stop with a clear message when the lines are wrong
INIH_CHECK := .cache/inih-lineno.ok
$(INIH_CHECK): scripts/check-inih-lineno.c
	@mkdir -p .cache
	@$(CC) $(EVFIO_CPPFLAGS) $(CPPFLAGS) $(CFLAGS) $(EVFIO_LDFLAGS) $(LDFLAGS) -o .cache/check-inih-lineno $< $(PKG_LIBS) && \
	  .cache/check-inih-lineno || { echo "error: this libinih does not pass line numbers" \
	  "to its handler (it was built without -DINI_HANDLER_LINENO=1); early-vfio needs" \
	  "them for its file:line messages: use Debian's libinih-dev, or build inih with" \
	  "-Dwith_INI_HANDLER_LINENO=true (meson) or -DINI_HANDLER_LINENO=1" >&2; exit 1; }
	@touch $@

early-vfio: $(SRC) $(HDR) $(INIH_CHECK)
	$(COMPILE) $(EVFIO_LDFLAGS) $(LDFLAGS) -o $@ $(SRC) $(PKG_LIBS)

# ---- static binary: the one installed and copied into the initramfs -----
# STATIC=no installs the dynamic ./early-vfio instead (for distribution packagers).
STATIC        ?= yes
STATIC_DIR    := .cache/static
STATIC_CFLAGS := -I$(STATIC_DIR)/include -ffunction-sections -fdata-sections
STATIC_LDFLAGS := -static -L$(STATIC_DIR)/lib -Wl,--gc-sections
STATIC_LIBS   := -lpci -lkmod -linih -lzstd -llzma -lz
ifeq ($(STATIC),yes)
INSTALL_BIN   := early-vfio-static
else
INSTALL_BIN   := early-vfio
endif

static: early-vfio-static
# Building the libraries needs their Debian sources: `make deps` fetches them (apt-get source);
# from here the script only builds from what is already there (NO_APT=1) and says what is missing.
$(STATIC_DIR)/.stamp: scripts/build-static-deps.sh
	NO_APT=1 scripts/build-static-deps.sh
# the static headers come first: Debian's pci/config.h (from pkg-config's -I)
# enables DNS, hwdb and libkmod, which the static libpci is built without
early-vfio-static: $(SRC) $(HDR) $(STATIC_DIR)/.stamp
	@$(CC) $(STATIC_CFLAGS) $(EVFIO_CPPFLAGS) $(CPPFLAGS) $(CFLAGS) $(STATIC_LDFLAGS) \
	  $(EVFIO_LDFLAGS) $(LDFLAGS) -o .cache/check-inih-lineno-static \
	  scripts/check-inih-lineno.c $(STATIC_LIBS) && .cache/check-inih-lineno-static || \
	  { echo "error: the static libinih does not pass line numbers to its handler" \
	  "(INI_HANDLER_LINENO); see the check for the dynamic build above" >&2; exit 1; }
	$(CC) $(STATIC_CFLAGS) $(EVFIO_CPPFLAGS) $(CPPFLAGS) $(EVFIO_CFLAGS) $(CFLAGS) \
		$(STATIC_LDFLAGS) $(EVFIO_LDFLAGS) $(LDFLAGS) -o $@ $(SRC) $(STATIC_LIBS)

# ---- Debian package: .cache/deb/early-vfio_$(VERSION)_amd64.deb ---------
# dpkg-buildpackage -us -uc -b on a clean copy of the tree (what git tracks) in
# .cache/deb/early-vfio-$(VERSION), then lintian (no error, no warning); see debian/.
# The package ships the dynamic binary (debian/rules: STATIC=no), whatever STATIC says here.
DEB := .cache/deb/early-vfio_$(VERSION)_$(shell dpkg --print-architecture 2>/dev/null || echo amd64).deb
deb:
	scripts/deb/build.sh --lintian

# what a Debian maintainer's tools do with the package (scripts/deb/check-archive.sh):
# fakeroot debian/rules binary with the build-time tests, blhc on its log, dpkg-buildpackage -S
# in the built tree (only the tracked files packed), lintian -E --pedantic
check-package:
	scripts/deb/check-archive.sh

asan: early-vfio-asan
early-vfio-asan: $(SRC) $(HDR) $(INIH_CHECK)
	$(COMPILE) -O1 $(SAN) $(EVFIO_LDFLAGS) $(LDFLAGS) -o $@ $(SRC) $(PKG_LIBS)

# ---- tests -------------------------------------------------------------
UNIT_TESTS := tests/unit/test_selector tests/unit/test_config tests/unit/test_nvme \
              tests/unit/test_vfio tests/unit/test_confedit tests/unit/test_sriov

tests/unit/test_%: tests/unit/test_%.c $(LIB_SRC) $(HDR)
	$(COMPILE) -O1 $(SAN) $(EVFIO_LDFLAGS) $(LDFLAGS) -o $@ $< $(LIB_SRC) $(PKG_LIBS) -lcmocka

# nvme.c against a simulated controller: the test provides the vfio.c accessors
NVME_TEST_SRC := src/nvme.c src/selector.c src/sysfs.c src/clock.c src/config.c src/sriov-conf.c \
                 src/log.c
tests/unit/test_nvme: tests/unit/test_nvme.c $(NVME_TEST_SRC) $(HDR)
	$(COMPILE) -O1 $(SAN) $(EVFIO_LDFLAGS) $(LDFLAGS) -o $@ $< $(NVME_TEST_SRC) $(PKG_LIBS) -lcmocka

check-unit: $(UNIT_TESTS)
	@set -e; for t in $(UNIT_TESTS); do echo "== $$t"; ./$$t; done

tests/fakesys/fakekernel.so: tests/fakesys/fakekernel.c
	$(CC) -std=c11 -Wall -Wextra -Werror -fPIC -shared -o $@ $< -ldl

check-integration: early-vfio-asan tests/fakesys/fakekernel.so
	tests/fakesys/selftest.sh tests/fakesys/fakekernel.so
	FAKEKERNEL=tests/fakesys/fakekernel.so tests/integration/run.sh ./early-vfio-asan

check-vm: early-vfio
	tests/vm/run.sh

# no prerequisite: demo.sh installs the packages first, then builds
demo:
	scripts/demo.sh

bench: all
	tests/bench/run.sh

# not in make check (~10 min of TCG boots): the boot cost of early-vfio against the seed's
# init-top script and no early binding (tests/bench/vm-bench.sh; EVFIO_VM_CACHE as for check-vm)
bench-vm: all early-vfio-static
	tests/bench/vm-bench.sh

check-bench: all early-vfio-static
	tests/bench/check.sh ./early-vfio
	tests/bench/size.sh ./early-vfio-static

# the only targets that run apt-get: packages, then the static libraries' Debian sources
deps:
	scripts/install-deps.sh
	scripts/build-static-deps.sh

check: deps
	$(MAKE) CI=true all
	$(MAKE) CI=true check-lint
	$(MAKE) CI=true check-deps
	$(MAKE) CI=true check-analyzer
	$(MAKE) CI=true check-unit
	$(MAKE) CI=true check-fuzz
	$(MAKE) CI=true check-integration
	$(MAKE) CI=true check-bench
	CI=true DEB_BUILD_OPTIONS=nocheck scripts/deb/build.sh --lintian --integration --reproducible
	$(MAKE) CI=true check-package
	$(MAKE) CI=true EVFIO_VM_DEB=$(CURDIR)/$(DEB) check-vm

# make deps leaves /etc/apt as it was (the static libraries' sources come through a private
# apt configuration): tests/deps/apt.sh, with stand-ins for apt-get and apt-cache (offline)
check-deps:
	tests/deps/apt.sh

# `make CFLAGS+=-fanalyzer` as a user types it, in a copy of the tree (./early-vfio stays as
# make check built it): it must build with the project's flags kept; gcc's analyzer warnings
# are printed, not errors (CI= : gcc 12 reports append() in config.c, a false positive)
check-analyzer:
	rm -rf .cache/analyzer && mkdir -p .cache/analyzer/tree
	git ls-files -z | tar --null -T - -cf - | tar -xf - -C .cache/analyzer/tree
	$(MAKE) -C .cache/analyzer/tree CI= CFLAGS+=-fanalyzer early-vfio >.cache/analyzer/build.log 2>&1 || \
		{ tail -n 30 .cache/analyzer/build.log; echo "make CFLAGS+=-fanalyzer failed"; exit 1; }
	grep -q -- '-std=c11 .*-fanalyzer' .cache/analyzer/build.log || \
		{ echo "make CFLAGS+=-fanalyzer: the project's flags or -fanalyzer missing"; exit 1; }
	@grep 'warning:' .cache/analyzer/build.log || true
	@echo "make CFLAGS+=-fanalyzer: built, $$(grep -c 'warning:' .cache/analyzer/build.log) analyzer warnings"

# every shell script: those with a #! line, and those sourced that name their shell in a
# "# shellcheck shell=" directive (hooks/early-vfio-build.sh, the tests' libraries)
check-lint:
	shellcheck -x $$(grep -lE '^(#!.*(ba|da)?sh|# shellcheck shell=)' $$(git ls-files hooks scripts tests .ci debian) 2>/dev/null)
	shellcheck -s bash conf/completion/early-vfio.bash

install: $(INSTALL_BIN)
	install -D -m 0755 $(INSTALL_BIN) $(DESTDIR)$(SBINDIR)/early-vfio
	install -D -m 0755 hooks/initramfs-tools/hook $(DESTDIR)$(ITDIR)/hooks/early-vfio
	install -D -m 0755 hooks/initramfs-tools/init-top $(DESTDIR)$(ITDIR)/scripts/init-top/early-vfio
	install -D -m 0755 hooks/initramfs-tools/post-update $(DESTDIR)$(SYSCONFDIR)/initramfs/post-update.d/early-vfio
	install -D -m 0644 hooks/early-vfio-build.sh $(DESTDIR)$(PREFIX)/share/early-vfio/early-vfio-build.sh
	install -D -m 0755 hooks/dracut/90early-vfio/module-setup.sh $(DESTDIR)$(DRACUTDIR)/90early-vfio/module-setup.sh
	install -D -m 0755 hooks/dracut/90early-vfio/early-vfio.sh $(DESTDIR)$(DRACUTDIR)/90early-vfio/early-vfio.sh
	install -D -m 0644 src/early-vfio.8 $(DESTDIR)$(MANDIR)/man8/early-vfio.8
	install -D -m 0644 src/early-vfio.conf.5 $(DESTDIR)$(MANDIR)/man5/early-vfio.conf.5
	install -D -m 0644 conf/completion/early-vfio.bash $(DESTDIR)$(BASHCOMPDIR)/early-vfio
	install -D -m 0644 conf/completion/_early-vfio $(DESTDIR)$(ZSHCOMPDIR)/_early-vfio
	install -D -m 0644 conf/udev/60-early-vfio-vfs.rules $(DESTDIR)$(UDEVRULESDIR)/60-early-vfio-vfs.rules
	install -D -m 0644 conf/systemd/early-vfio-vfs@.service $(DESTDIR)$(SYSTEMDUNITDIR)/early-vfio-vfs@.service
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/early-vfio.conf ]; then \
		echo "keeping existing $(DESTDIR)$(SYSCONFDIR)/early-vfio.conf"; \
	else \
		install -D -m 0644 conf/early-vfio.conf $(DESTDIR)$(SYSCONFDIR)/early-vfio.conf; \
	fi

clean:
	rm -f early-vfio early-vfio-asan early-vfio-static $(UNIT_TESTS) tests/fakesys/*.so

# ---- fuzzing (libFuzzer, clang) ----------------------------------------
FUZZ_SECONDS ?= 60
tests/fuzz/fuzz_config: tests/fuzz/fuzz_config.c $(LIB_SRC) $(HDR)
	clang $(EVFIO_CPPFLAGS) $(CPPFLAGS) $(filter-out -Wformat=2,$(EVFIO_CFLAGS) $(CFLAGS)) -O1 -g \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -o $@ $< $(LIB_SRC) $(PKG_LIBS)

# make check's smoke run: the seeds plus 30 s of new inputs (clang, -Werror as in CI)
check-fuzz:
	$(MAKE) fuzz FUZZ_SECONDS=30

# A bounded run over the seed corpus (copied, so the checked-in seeds stay as they are).
fuzz: tests/fuzz/fuzz_config
	mkdir -p .cache/fuzz/corpus && cp -n tests/fuzz/corpus/* .cache/fuzz/corpus/
	tests/fuzz/fuzz_config -max_total_time=$(FUZZ_SECONDS) -max_len=4096 \
		-print_final_stats=1 .cache/fuzz/corpus
