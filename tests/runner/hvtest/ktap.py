# SPDX-License-Identifier: GPL-2.0
"""KTAP parsing with the kernel's own tools/testing/kunit/kunit_parser."""

import io
import os
import sys
from dataclasses import dataclass, field
from typing import Iterable, List


def _import_parser(ksrc: str):
    path = os.path.join(ksrc, 'tools', 'testing', 'kunit')
    if path not in sys.path:
        sys.path.insert(0, path)
    import kunit_parser  # noqa: E402  (from the kernel source tree)
    import kunit_printer  # noqa: E402
    return kunit_parser, kunit_printer


@dataclass
class CaseResult:
    suite: str
    name: str
    status: str

    @property
    def ok(self) -> bool:
        return self.status == 'SUCCESS'

    @property
    def skipped(self) -> bool:
        return self.status == 'SKIPPED'


@dataclass
class KtapResult:
    cases: List[CaseResult] = field(default_factory=list)
    errors: int = 0
    report: str = ''

    @property
    def passed(self) -> int:
        return sum(1 for c in self.cases if c.ok)

    @property
    def skipped(self) -> int:
        return sum(1 for c in self.cases if c.skipped)

    @property
    def failed(self) -> int:
        return sum(1 for c in self.cases if not (c.ok or c.skipped)) + self.errors


def parse(ksrc: str, lines: Iterable[str]) -> KtapResult:
    """Parse one KTAP block (the first found in `lines`).

    Every leaf test case becomes a CaseResult. Parse errors, crashed suites
    and a missing or empty block count as failures: a suite that did not run
    is never a pass.
    """
    kunit_parser, kunit_printer = _import_parser(ksrc)
    out = io.StringIO()
    printer = kunit_printer.Printer(output=out)
    test = kunit_parser.parse_run_tests(list(lines), printer)
    result = KtapResult(report=out.getvalue())
    status = kunit_parser.TestStatus

    def walk(t, suite):
        if t.subtests:
            for sub in t.subtests:
                walk(sub, t.name)
            return
        result.cases.append(CaseResult(suite, t.name, t.status.name))

    for suite in test.subtests:
        walk(suite, test.name)
    result.errors = test.counts.errors
    if test.status in (status.FAILURE_TO_PARSE_TESTS, status.NO_TESTS) or not result.cases:
        result.errors = max(result.errors, 1)
    return result
