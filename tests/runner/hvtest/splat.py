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


def find_splats(lines: Iterable[str]) -> List[str]:
    """Return the lines of `lines` that show a kernel splat, in order."""
    return [line.rstrip('\n') for line in lines if _SPLAT.search(line)]
