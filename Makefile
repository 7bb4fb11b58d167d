# SPDX-License-Identifier: GPL-2.0
#
# hv-netvsc-rs: the user-facing entry points.
#   make soak     the long soaks (make test runs their short versions)
#   make ksft     the kernel's NIC driver selftests (make test runs a smoke subset)
#   make demo     boot the test kernel in QEMU and show the driver at work
#   make test     cargo tests + runner tests + KUnit/QEMU scenarios; ends with
#                 "N passed, N failed"
#   make modules  build the modules against KDIR (default: the project's own
#                 cached test kernel; set KDIR to build against yours)
# kbuild itself reads ./Kbuild, not this file.

LLVM ?= -19
# The object tree of a Rust-enabled kernel. By default the project's own test
# kernel, built on first use by scripts/build-kernel.sh and cached outside the
# repository; override with e.g. KDIR=/lib/modules/$(uname -r)/build.
# (Evaluated lazily: on a fresh machine it is only known after `setup`.)
KDIR ?= $(shell scripts/build-kernel.sh --print-kdir 2>/dev/null)
PYTHON ?= python3
RUNNER := PYTHONPATH=$(CURDIR)/tests/runner $(PYTHON) -m hvtest
KBUILD = $(MAKE) -C $(KDIR) M=$(CURDIR) LLVM=$(LLVM)

.PHONY: all setup kernel modules clippy rustfmt rustfmtcheck test soak ksft demo bench fuzz clean

all: modules

setup:
	scripts/setup.sh

# Only the project's own kernel is built here; a user-supplied KDIR is used
# as it is.
kernel: setup
	@if [ "$(KDIR)" = "$$(scripts/build-kernel.sh --print-kdir)" ]; then \
		scripts/build-kernel.sh >/dev/null; fi

modules: kernel
	$(KBUILD) modules

clippy: kernel
	$(KBUILD) CLIPPY=1 modules

rustfmt:
	rustfmt --edition 2021 $(shell git ls-files --cached --others --exclude-standard '*.rs' | grep -v '^drivers/proto/fuzz/target')

rustfmtcheck:
	rustfmt --edition 2021 --check $(shell git ls-files --cached --others --exclude-standard '*.rs' | grep -v '^drivers/proto/fuzz/target')

test: modules
	$(RUNNER) --kdir $(KDIR) test

# Long soaks (e.g. 100 VF add/remove cycles); `make test` runs short versions.
soak: modules
	$(RUNNER) --kdir $(KDIR) soak

# The kernel's own NIC driver selftests, against our driver and netdevsim.
ksft: modules
	$(RUNNER) --kdir $(KDIR) ksft

demo: modules
	$(RUNNER) --kdir $(KDIR) demo

# Performance figures (ratios within one run); not part of `make test`.
bench: modules
	$(RUNNER) --kdir $(KDIR) bench

# Bounded fuzzing of the protocol core's parsers; figures in docs/fuzzing.md.
fuzz:
	scripts/fuzz.sh

clean:
	-[ -z "$(KDIR)" ] || $(KBUILD) clean
	rm -f drivers/bindings/bindings_generated.rs
	rm -rf out target
