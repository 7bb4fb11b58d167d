# SPDX-License-Identifier: GPL-2.0
"""Recognise kernel splats (WARN, BUG, Oops, lockdep, KASAN, leaks...) in a log."""

import re
from typing import Iterable, List

# Each pattern marks a line that must never appear in a clean run.
_PATTERNS = [
    r'------------\[ cut here \]------------',
    # WARN() as 7.x prints it ("WARNING: file:line at sym, CPU#n: comm/pid")
    # and as older kernels did ("WARNING: CPU: n PID: n at ..."); lockdep's
    # reports start with "WARNING:" too.
    r'(?:^|\] )WARNING: ',
    r'\bBUG: ',
    # SLUB debugging (slub_debug=FZ): "BUG kmalloc-64 (Not tainted): Object
    # already free", "... Redzone overwritten", ...
    r'\bBUG [\w.:-]+ \((?:Not tainted|Tainted)',
    # The emulated Hyper-V host saw an MSR or hypercall nobody handles
    # (hv_emu), or a guest action its host module did not expect.
    r'hv_emu(?:_host)?: unexpected ',
    r'kernel BUG at ',
    r'\bOops: ',
    r'general protection fault',
    r'Kernel panic - not syncing',
    r'\bKASAN: ',
    r'\bUBSAN: ',
    r'possible circular locking dependency detected',
    r'possible recursive locking detected',
    r'inconsistent lock state',
    r'suspicious RCU usage',
    r'bad unlock balance detected',
    r'\brefcount_t: ',
    r'list_(add|del) corruption',
    r'unreferenced object 0x[0-9a-f]+',
    r'kmemleak: \d+ new suspected memory leaks',
    r'rust_panic|panicked at ',
    r'INFO: task .* blocked for more than \d+ seconds',
    r'unregister_netdevice: waiting for .* to become free',
]
_SPLAT = re.compile('|'.join(f'(?:{p})' for p in _PATTERNS))


# Known reports from kernel code outside this project, recognised by every
# frame of their lock chain: (name, words that must all appear in the report,
# words none of which may appear). Linux 7.3's PCIe native hot-plug reports
# a lock-order cycle between pci_rescan_remove_lock and the slot's
# reset_lock in pciehp_configure_device on every hot-add; it involves no
# code of ours. Each entry is a known upstream issue, never one of ours.
KNOWN = [
    ('pciehp lock order (Linux 7.3, upstream)',
     ('possible circular locking dependency', 'pci_rescan_remove_lock',
      'reset_lock', 'pciehp_configure_device'),
     ('hv_netvsc', 'hvn_', 'netvsc')),
]
_REPORT_LINES = 80


# Lines of a report that name code or locks: stack frames ("fn+0x1/0x2")
# and lock descriptors ("(name){+.+.}"). Other lines in the window may be
# unrelated messages printed meanwhile by other CPUs.
_FRAME_OR_LOCK = re.compile(r'\w\+0x[0-9a-f]+/0x[0-9a-f]+|\(\S+\)\{')


def _known(block: List[str]) -> str:
    text = '\n'.join(block)
    code = '\n'.join(line for line in block if _FRAME_OR_LOCK.search(line))
    for name, need, never in KNOWN:
        if all(w in text for w in need) and not any(w in code for w in never):
            return name
    return ''


def find_splats(lines: Iterable[str]) -> List[str]:
    """Return the lines of `lines` that show a kernel splat, in order.

    A lockdep report that is one of the KNOWN upstream issues (judged on
    the report's following lines) is left out.
    """
    lines = [line.rstrip('\n') for line in lines]
    out = []
    skip_until = -1
    for i, line in enumerate(lines):
        if i <= skip_until or not _SPLAT.search(line):
            continue
        if 'WARNING: possible' in line and _known(lines[i:i + _REPORT_LINES]):
            # Skip the whole report: until its stack backtrace ends.
            end = next((j for j in range(i, min(len(lines), i + 200))
                        if '</TASK>' in lines[j]), i)
            skip_until = end
            continue
        out.append(line)
    return out
