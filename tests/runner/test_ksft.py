# SPDX-License-Identifier: GPL-2.0
"""Tests of `make ksft`'s verdicts: how a selftest's TAP output and the
expectations file are read."""

import os
import tempfile
import unittest

from hvtest import ksft

KSRC = os.environ.get('HVTEST_KSRC', '')

# What a kselftest Python file prints (net/lib/py/ksft.py).
OUTPUT = '''\
# Interface: eth0, driver: hv_netvsc
TAP version 13
1..4
ok 1 ping.test_default_v4
not ok 2 ping.test_tcp
ok 3 ping.test_xdp_native_sb # SKIP device does not support native-XDP
ok 4 ping.test_nsim_only # XFAIL Test only works on netdevsim
# Totals: pass:1 fail:1 xfail:1 xpass:0 skip:1 error:0
'''

# The file died before its first case.
CRASHED = '''\
Traceback (most recent call last):
  File "./ping.py", line 241, in <module>
FileNotFoundError: [Errno 2] No such file or directory: 'udevadm'
'''


class Expectations(unittest.TestCase):
    def load(self, text: str):
        with tempfile.NamedTemporaryFile('w', suffix='.txt', delete=False) as f:
            f.write(text)
        try:
            return ksft.load_expectations(f.name)
        finally:
            os.unlink(f.name)

    def test_lines(self):
        e = self.load('# comment\n\nours drivers/net/ping.py:ping.test_tcp fail no # in why\n'
                      'netdevsim drivers/net/ping.py:ping.test_tcp pass\n')
        self.assertEqual(e[('ours', 'drivers/net/ping.py:ping.test_tcp')].result, 'fail')
        self.assertEqual(e[('ours', 'drivers/net/ping.py:ping.test_tcp')].why, 'no # in why')
        self.assertEqual(e[('netdevsim', 'drivers/net/ping.py:ping.test_tcp')].why, '')

    def test_bad_lines_refused(self):
        for bad in ('ours ping.py:x passed\n', 'upstream ping.py:x pass\n', 'ours pass\n'):
            with self.assertRaises(ValueError, msg=bad):
                self.load(bad)

    def test_the_project_file_parses(self):
        e = ksft.load_expectations()
        self.assertTrue(all(k[1].split(':', 1)[0] in ksft.FULL for k in e), 'a case of no run file')
        self.assertTrue(all(f in ksft.FULL for f in ksft.SMOKE))


@unittest.skipUnless(KSRC, 'HVTEST_KSRC (the kernel source) not set')
class Results(unittest.TestCase):
    def test_each_case_with_its_result(self):
        cases, problem = ksft.results(KSRC, 'drivers/net/ping.py', OUTPUT)
        self.assertEqual(problem, '')
        self.assertEqual(cases, [('drivers/net/ping.py:ping.test_default_v4', 'pass'),
                                 ('drivers/net/ping.py:ping.test_tcp', 'fail'),
                                 ('drivers/net/ping.py:ping.test_xdp_native_sb', 'skip'),
                                 ('drivers/net/ping.py:ping.test_nsim_only', 'xfail')])

    def test_no_tap_is_a_problem(self):
        cases, problem = ksft.results(KSRC, 'drivers/net/ping.py', CRASHED)
        self.assertEqual(cases, [])
        self.assertEqual(problem, 'no TAP output')


if __name__ == '__main__':
    unittest.main()
