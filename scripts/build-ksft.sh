#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Build (or reuse) the kernel's NIC driver selftests for `make ksft`: the
# drivers/net suites and their helper programs and BPF objects, installed
# with the YNL library and specs (kselftest's own `install`), cached in
# $HVN_CACHE next to the kernel build they belong to. Prints the install
# directory on stdout.
#   --print-dir   only print where it is (or would be); build nothing
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/env.sh"
log() { printf '[ksft] %s\n' "$*" >&2; }
kdir=$("$here/build-kernel.sh" --print-kdir)
out="$kdir-ksft"
if [ "${1:-}" = --print-dir ]; then echo "$out"; exit 0; fi
if [ -f "$out/.hvn-built" ]; then
	echo "$out"
	exit 0
fi
[ -f "$kdir/.hvn-built" ] || kdir=$("$here/build-kernel.sh")
src=$(realpath "$kdir/source")
log "building the drivers/net selftests into $out"
start=$(date +%s)
rm -rf "$out" "$out.build"
# The UAPI headers the helpers compile against (kselftest looks in the
# object tree's usr/include).
make -s -C "$src" O="$kdir" LLVM="$LLVM_SUFFIX" headers >/dev/null
make -s -C "$src/tools/testing/selftests" O="$out.build" LLVM="$LLVM_SUFFIX" \
	CLANG="clang$LLVM_SUFFIX" KHDR_INCLUDES="-isystem $kdir/usr/include" \
	TARGETS="net/lib drivers/net drivers/net/hw" \
	install INSTALL_PATH="$out" >"$out.log" 2>&1 ||
	{ tail -30 "$out.log" >&2; log "failed (whole log: $out.log)"; exit 1; }
rm -rf "$out.build"
touch "$out/.hvn-built"
log "built in $(( $(date +%s) - start )) s"
echo "$out"
