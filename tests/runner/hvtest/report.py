# SPDX-License-Identifier: GPL-2.0
"""Tally of every check in a run, printed as the closing `N passed, N failed`."""

import sys
from dataclasses import dataclass, field
from typing import List


@dataclass
class Report:
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    failures: List[str] = field(default_factory=list)

    def check(self, name: str, ok: bool, detail: str = '') -> bool:
        if ok:
            self.passed += 1
            print(f'ok   {name}', flush=True)
        else:
            self.failed += 1
            self.failures.append(name)
            print(f'FAIL {name}' + (f'\n     {detail}'.replace('\n', '\n     ') if detail else ''),
                  flush=True)
        return ok

    def add(self, source: str, passed: int, failed: int, skipped: int = 0) -> None:
        """Counts from another runner (cargo, unittest) that printed its own."""
        self.passed += passed
        self.failed += failed
        self.skipped += skipped
        if failed:
            self.failures.append(f'{source}: {failed} failed')

    def merge(self, other: 'Report') -> None:
        """Adds the counts and failures of `other` (already printed)."""
        self.passed += other.passed
        self.failed += other.failed
        self.skipped += other.skipped
        self.failures.extend(other.failures)

    def section(self, title: str) -> None:
        print(f'\n== {title}', flush=True)

    def closing_line(self) -> str:
        line = f'{self.passed} passed, {self.failed} failed'
        if self.skipped:
            line += f', {self.skipped} skipped'
        return line

    def finish(self) -> int:
        if self.failures:
            print('\nFailed:', file=sys.stdout)
            for f in self.failures:
                print(f'  - {f}')
        print()
        print(self.closing_line(), flush=True)
        return 1 if self.failed else 0
