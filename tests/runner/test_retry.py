# SPDX-License-Identifier: GPL-2.0
"""The one case in which a scenario runs again: QEMU itself failed (it
aborted on its own assertion, or hung: guest and monitor both silent). Any
other failure, or a second QEMU fault, counts as it is."""

import contextlib
import io
import os
import tempfile
import unittest

from hvtest import scenarios
from hvtest.guest import GuestError
from hvtest.report import Report

ABORT = ("qemu-system-x86_64: system/physmem.c:2678: iotlb_to_section: "
         "Assertion `section_index < d->map.sections_nb' failed.\n")


class Ctx:
    def __init__(self, outdir):
        self.outdir = outdir
        self.report = Report()


class RetryTest(unittest.TestCase):
    def run_one(self, qemu_out_per_attempt, hung_per_attempt=None):
        calls = []
        with tempfile.TemporaryDirectory() as d:
            os.makedirs(os.path.join(d, 'sc'))
            ctx = Ctx(d)

            def sc(c):
                calls.append(1)
                with open(os.path.join(d, 'sc', 'qemu.out'), 'w') as f:
                    f.write(qemu_out_per_attempt[len(calls) - 1])
                hung = os.path.join(d, 'sc', 'qemu-hung')
                if hung_per_attempt and hung_per_attempt[len(calls) - 1]:
                    with open(hung, 'w') as f:
                        f.write('kill: guest and QEMU monitor both silent\n')
                elif os.path.exists(hung):
                    os.remove(hung)  # Guest.start empties its directory
                c.report.check('sc: step', False)
                raise GuestError('channel gone')

            saved = scenarios.SCENARIOS
            scenarios.SCENARIOS = [('sc', sc)]
            try:
                # The fake scenario's FAIL lines stay out of the real log.
                with contextlib.redirect_stdout(io.StringIO()):
                    scenarios.run_all(ctx, [])
            finally:
                scenarios.SCENARIOS = saved
            return len(calls), ctx.report

    def test_qemu_abort_reruns_once_and_counts_the_last_attempt(self):
        calls, report = self.run_one([ABORT, ABORT])
        self.assertEqual(calls, 2)
        self.assertEqual((report.passed, report.failed), (0, 2))

    def test_qemu_hang_reruns_once(self):
        calls, report = self.run_one(['', ''], hung_per_attempt=[True, False])
        self.assertEqual(calls, 2)
        self.assertEqual((report.passed, report.failed), (0, 2))

    def test_other_failures_do_not_rerun(self):
        calls, report = self.run_one(['qemu-system-x86_64: warning: netdev hp2 has no peer\n'])
        self.assertEqual(calls, 1)
        self.assertEqual((report.passed, report.failed), (0, 2))


if __name__ == '__main__':
    unittest.main()


class FakeMonitor:
    """A QMP monitor that answers device_del from a script of outcomes."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.calls = 0

    def qmp(self, command, **args):
        self.calls += 1
        answer = self.answers.pop(0)
        if answer:
            raise GuestError(answer)


class DelVfTest(unittest.TestCase):
    BUSY = 'Hot-unplug failed: guest is busy (power indicator blinking)'

    def setUp(self):
        from hvtest import scenarios_vf
        self.del_vf = scenarios_vf.del_vf
        self.sleep = scenarios_vf.time.sleep
        scenarios_vf.time.sleep = lambda s: None
        self.addCleanup(setattr, scenarios_vf.time, 'sleep', self.sleep)

    def test_busy_is_retried(self):
        m = FakeMonitor(self.BUSY, self.BUSY, None)
        self.del_vf(m)
        self.assertEqual(m.calls, 3)

    def test_gone_while_busy_is_done(self):
        m = FakeMonitor(self.BUSY, "Device 'vf1' not found")
        self.del_vf(m)
        self.assertEqual(m.calls, 2)

    def test_gone_at_once_is_an_error(self):
        with self.assertRaises(GuestError):
            self.del_vf(FakeMonitor("Device 'vf1' not found"))
