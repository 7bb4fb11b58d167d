#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Build (or reuse) the test kernel: Linux $KSERIES from Debian's source package,
# `make tinyconfig` plus tests/kernel/hv-netvsc-rs.config, with the test-only
# patch series tests/kernel/patches/*.patch applied to a copy of the source
# (hard-linked; $KSRC itself stays pristine for reading). The object tree is
# cached in $HVN_CACHE keyed on kernel version, fragment, patches and
# toolchain, so a warm run costs a second. Prints the object-tree path (KDIR)
# on stdout.
#   --print-kdir   only print where the tree is (or would be); build nothing
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
. "$here/env.sh"
frag="$top/tests/kernel/hv-netvsc-rs.config"
patches=$(ls "$top"/tests/kernel/patches/*.patch 2>/dev/null | sort || true)
log() { printf '[kernel] %s\n' "$*" >&2; }

[ -f "$KSRC/.hvn-version" ] || { log "no kernel source: run scripts/setup.sh"; exit 1; }
kver=$(cat "$KSRC/.hvn-version")
pkey=$(cat /dev/null $patches | sha256sum | cut -c1-12)
key=$( { echo "$kver"; cat "$frag"; echo "patches $pkey"; rustc --version; clang$LLVM_SUFFIX --version | head -1;
	bindgen --version; } | sha256sum | cut -c1-12)
kout="$HVN_CACHE/kbuild-$kver-$key"
if [ "${1:-}" = --print-kdir ]; then echo "$kout"; exit 0; fi
if [ -f "$kout/.hvn-built" ]; then
	log "cached: $kout"
	echo "$kout"
	exit 0
fi

# The patched source: a hard-linked copy of $KSRC (patch(1) replaces the files
# it changes rather than writing through the links), one per patch series.
psrc="$HVN_CACHE/linux-$kver-patched-$pkey"
if [ ! -f "$psrc/.hvn-patched" ]; then
	log "applying $(echo "$patches" | grep -c . || true) test patch(es) to a copy of $KSRC"
	rm -rf "$psrc"
	cp -al "$KSRC" "$psrc"
	for p in $patches; do
		patch -s -p1 -d "$psrc" --no-backup-if-mismatch <"$p" || { log "patch failed: $p"; exit 1; }
	done
	touch "$psrc/.hvn-patched"
fi
KSRC=$psrc

jobs=$(( $(nproc) + 1 ))
log "cold build of $kver into $kout (-j$jobs; about 10 minutes on 2 cores)"
start=$(date +%s)
rm -rf "$kout"
mkdir -p "$kout"
mk() { make -s -C "$KSRC" O="$kout" LLVM="$LLVM_SUFFIX" "$@"; }
mk tinyconfig >/dev/null
"$KSRC/scripts/kconfig/merge_config.sh" -m -O "$kout" "$kout/.config" "$frag" >/dev/null
mk olddefconfig >/dev/null
# Every option of the fragment must have survived olddefconfig: a silently
# dropped dependency would otherwise give a kernel that tests nothing.
bad=0
while IFS= read -r line; do
	case "$line" in CONFIG_*=n) opt=${line%%=*}
		grep -q "^$opt=" "$kout/.config" && { log "not disabled: $line"; bad=1; } ;;
	CONFIG_*) grep -qx "$line" "$kout/.config" || { log "dropped by Kconfig: $line"; bad=1; } ;;
	esac
done <"$frag"
[ "$bad" = 0 ] || exit 1
mk -j"$jobs" bzImage modules
rm -rf "$kout/modroot"
mk INSTALL_MOD_PATH="$kout/modroot" modules_install >/dev/null
echo "$kver" >"$kout/.hvn-kernelrelease"
make -s -C "$KSRC" O="$kout" LLVM="$LLVM_SUFFIX" kernelrelease >"$kout/.hvn-kernelrelease"
touch "$kout/.hvn-built"
log "built in $(( $(date +%s) - start )) s"
echo "$kout"
