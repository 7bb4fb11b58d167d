#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Install everything this project needs on a Debian 12 (bookworm) machine, as
# root, idempotently. Newer suites are added pinned low so that no unrelated
# system package is upgraded: only what we name explicitly comes from them.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/env.sh"

log() { printf '[setup] %s\n' "$*" >&2; }

if [ "$(id -u)" != 0 ]; then
	log "must run as root (apt-get install, /etc/apt changes)"
	exit 1
fi

# --- apt sources -----------------------------------------------------------
src=/etc/apt/sources.list.d/hv-netvsc-rs.sources
pref=/etc/apt/preferences.d/hv-netvsc-rs
want_src='Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian
Suites: trixie-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg'
# trixie-backports is only ever used with `apt-get download`; pinning it to 1
# keeps `apt-get install` from ever choosing it. bookworm-backports stays at
# its usual 100 so only packages named with -t come from it.
want_pref='Package: *
Pin: release n=trixie-backports
Pin-Priority: 1

Package: *
Pin: release n=bookworm-backports
Pin-Priority: 100'
changed=0
if [ "$(cat "$src" 2>/dev/null)" != "$want_src" ]; then
	printf '%s\n' "$want_src" >"$src"
	changed=1
fi
if [ "$(cat "$pref" 2>/dev/null)" != "$want_pref" ]; then
	printf '%s\n' "$want_pref" >"$pref"
	changed=1
fi

# --- Debian packages ---------------------------------------------------------
pkgs=(clang-19 lld-19 llvm-19 libclang-19-dev flex bison bc libelf-dev
	libssl-dev cpio busybox-static make gcc xz-utils kmod iproute2 ethtool
	iperf3 pciutils python3 acpica-tools socat iputils-ping udev rsync)
bpo_pkgs=(qemu-system-x86)
missing=()
for p in "${pkgs[@]}" "${bpo_pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$p")
done
if [ "$changed" = 1 ] || [ ${#missing[@]} -gt 0 ] ||
	! apt-cache policy linux-source-7.3 2>/dev/null | grep -q trixie-backports; then
	log "apt-get update"
	apt-get update -qq
fi
if [ ${#missing[@]} -gt 0 ]; then
	log "installing: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
	apt-get install -y -qq --no-install-recommends -t bookworm-backports \
		"${bpo_pkgs[@]}" >/dev/null
fi

# --- Rust pieces -------------------------------------------------------------
if ! rustup component list --installed 2>/dev/null | grep -q '^rust-src'; then
	log "rustup component add rust-src"
	rustup component add rust-src
fi
if ! command -v bindgen >/dev/null ||
	[ "$(bindgen --version 2>/dev/null | awk '{print $2}')" != "$BINDGEN_VERSION" ]; then
	log "cargo install bindgen-cli $BINDGEN_VERSION"
	LIBCLANG_PATH=/usr/lib/llvm-19/lib cargo install -q bindgen-cli \
		--version "$BINDGEN_VERSION" --locked
fi

# --- Python tooling for the QEMU runner (QMP client) ---------------------------
if ! python3 -c 'import qemu.qmp' 2>/dev/null; then
	log "pip install qemu.qmp"
	python3 -m pip install -q "qemu.qmp==$QEMU_QMP_VERSION"
fi
# The kernel selftests' YNL library reads its netlink specs with PyYAML (the
# guest runs this Python, shared over 9p: `make ksft`, docs/testing.md).
if ! python3 -c 'import yaml' 2>/dev/null; then
	log "pip install PyYAML"
	python3 -m pip install -q "PyYAML==$PYYAML_VERSION"
fi

# --- Linux source ------------------------------------------------------------
mkdir -p "$HVN_CACHE"
if [ ! -f "$KSRC/.hvn-unpacked" ]; then
	log "fetching linux-source-$KSERIES from trixie-backports"
	tmp=$(mktemp -d "$HVN_CACHE/dl.XXXXXX")
	chmod 755 "$tmp" # apt's download sandbox user must be able to write there
	chown _apt "$tmp" 2>/dev/null || true
	(cd "$tmp" && apt-get download -qq -t trixie-backports "linux-source-$KSERIES")
	deb=$(ls "$tmp"/linux-source-"$KSERIES"_*.deb)
	dpkg-deb -x "$deb" "$tmp/x"
	rm -rf "$KSRC"
	mkdir -p "$KSRC"
	tar -C "$KSRC" --strip-components=1 -xf "$tmp"/x/usr/src/linux-source-"$KSERIES".tar.xz
	make -s -C "$KSRC" kernelversion >"$KSRC/.hvn-version"
	touch "$KSRC/.hvn-unpacked"
	rm -rf "$tmp"
fi
log "ready: Linux $(cat "$KSRC/.hvn-version") in $KSRC"
