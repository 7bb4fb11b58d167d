# SPDX-License-Identifier: GPL-2.0
"""Build the guest's initramfs: busybox, the real tools tests need, modules."""

import gzip
import os
import shutil
import subprocess
from typing import Dict, Iterable

# Host binaries copied with their shared libraries (the busybox applets of
# the same names lack what the scenarios use: ethtool netlink, ip -details...).
# Commands run under dash: Debian's static busybox shell prefers its own
# applets over PATH, which would shadow iproute2's ip and pciutils' lspci.
TOOLS = ['/bin/dash', '/usr/sbin/ip', '/usr/sbin/ethtool', '/usr/bin/iperf3', '/usr/bin/lspci']
DATA = ['/usr/share/misc/pci.ids']

INIT = r'''#!/bin/sh
# hvtest guest init: mount the pseudo file systems, then serve the command
# channel on ttyS1 until told to stop. The kernel console stays on ttyS0.
# Real tools (iproute2, ethtool...) in /usr before the busybox applets.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t debugfs debugfs /sys/kernel/debug
mount -t configfs configfs /sys/kernel/config
mount -t tmpfs tmp /tmp
ip link set lo up
nonce=$(sed -n 's/.*hvtest.nonce=\([0-9a-f]*\).*/\1/p' /proc/cmdline)
stty -F /dev/ttyS1 raw -echo
echo "hvtest: guest ready" >/dev/kmsg
# Not exec'd: this shell stays PID 1 and reaps the orphans that commands
# leave behind (background pings, daemons). Were the agent PID 1, their
# SIGCHLD would interrupt its `read` of the next command line, and ash
# restarts an interrupted read from scratch, dropping what it had read.
/bin/hvtest-agent "$nonce" </dev/ttyS1 >/dev/ttyS1 2>&1
'''

# One command per line in, framed as "<length>:<command>", its output and a
# completion marker with the exit status out. A line whose length does not
# match is not run: the agent answers GARBLED and the host sends it again.
# Commands never read the channel (stdin is /dev/null).
AGENT = r'''#!/bin/sh
nonce=$1
echo "@@HVTEST-$nonce READY"
while IFS= read -r line; do
	[ "$line" = "@@POWEROFF" ] && break
	n=${line%%:*}
	cmd=${line#*:}
	if [ "$n" != "${#cmd}" ]; then
		echo "@@HVTEST-$nonce GARBLED"
		continue
	fi
	/bin/dash -c "$cmd" </dev/null 2>&1
	echo "@@HVTEST-$nonce RC=$?"
done
sync
poweroff -f
'''


def _libs(binary: str) -> Iterable[str]:
    out = subprocess.run(['ldd', binary], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        parts = line.split()
        if '=>' in parts:
            path = parts[parts.index('=>') + 1]
            if path.startswith('/'):
                yield path
        elif parts and parts[0].startswith('/'):
            yield parts[0]


def _copy(src: str, root: str) -> None:
    dst = os.path.join(root, src.lstrip('/'))
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    shutil.copy2(os.path.realpath(src), dst)


def build(out_path: str, staging: str, modroot: str, extra: Dict[str, str]) -> str:
    """Write a gzip'd newc cpio to `out_path`.

    `modroot` is the kernel's modules_install tree (its lib/modules goes in
    as is); `extra` maps guest paths to host files (our modules, scripts).
    """
    shutil.rmtree(staging, ignore_errors=True)
    for d in ('bin', 'sbin', 'usr/bin', 'usr/sbin', 'proc', 'sys', 'dev', 'tmp',
              'etc', 'root', 'lib', 'var/run'):
        os.makedirs(os.path.join(staging, d), exist_ok=True)
    bb = shutil.which('busybox') or '/bin/busybox'
    shutil.copy2(bb, os.path.join(staging, 'bin/busybox'))
    applets = subprocess.run([bb, '--list-full'], capture_output=True, text=True,
                             check=True).stdout.split()
    for applet in applets:
        link = os.path.join(staging, applet)
        os.makedirs(os.path.dirname(link), exist_ok=True)
        if not os.path.lexists(link):
            os.symlink('/bin/busybox', link)
    for tool in TOOLS:
        for path in [tool, *_libs(tool)]:
            dst = os.path.join(staging, path.lstrip('/'))
            if os.path.lexists(dst):
                os.remove(dst)
            _copy(path, staging)
    for path in DATA:
        if os.path.exists(path):
            _copy(path, staging)
    if os.path.isdir(os.path.join(modroot, 'lib/modules')):
        shutil.copytree(os.path.join(modroot, 'lib/modules'),
                        os.path.join(staging, 'lib/modules'), symlinks=True)
    for guest, host in extra.items():
        dst = os.path.join(staging, guest.lstrip('/'))
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copy2(host, dst)
    for name, text in (('init', INIT), ('bin/hvtest-agent', AGENT)):
        path = os.path.join(staging, name)
        with open(path, 'w') as f:
            f.write(text)
        os.chmod(path, 0o755)
    with open(os.path.join(staging, 'etc/passwd'), 'w') as f:
        f.write('root:x:0:0:root:/root:/bin/sh\n')
    files = subprocess.run(['find', '.', '-mindepth', '1'], cwd=staging,
                           capture_output=True, check=True).stdout
    cpio = subprocess.run(['cpio', '--quiet', '-o', '-H', 'newc', '-R', '0:0'],
                          cwd=staging, input=files, capture_output=True, check=True).stdout
    with gzip.open(out_path, 'wb', compresslevel=1) as f:
        f.write(cpio)
    return out_path
