# SPDX-License-Identifier: GPL-2.0
"""hvtest command line: `test`, `soak`, `demo`, `bench`, `boot`, `ktap`."""

import argparse
import os
import re
import subprocess
import sys
import unittest

from . import ktap
from .guest import Guest
from .report import Report
from .scenarios import SCENARIOS, SOAKS, Context, run_all

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
OUT = os.path.join(TOP, 'out')


def modules() -> dict:
    """The built modules the guest gets under /modules.

    The production module is required; the test-only simulated host and
    emulated Hyper-V host (and its NIC device model) are included when they
    were built.
    """
    mods = {'hv_netvsc_rs': os.path.join(TOP, 'hv_netvsc_rs.ko')}
    if not os.path.exists(mods['hv_netvsc_rs']):
        sys.exit(f"hvtest: {mods['hv_netvsc_rs']} is missing: run `make modules` first")
    for name in ('hv_netvsc_sim', 'hv_emu_host', 'hv_emu_nic_model'):
        path = os.path.join(TOP, name + '.ko')
        if os.path.exists(path):
            mods[name] = path
    return mods


def cargo_tests(report: Report) -> None:
    """Run the host workspace's tests; count them from cargo's own summaries."""
    report.section('cargo test (host)')
    proc = subprocess.run(['cargo', 'test', '--workspace', '--color', 'never'], cwd=TOP,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    passed = failed = 0
    seen = False
    for line in proc.stdout.splitlines():
        m = re.match(r'test result: \w+\. (\d+) passed; (\d+) failed', line)
        if m:
            seen = True
            passed += int(m.group(1))
            failed += int(m.group(2))
        if line.startswith('test ') and not line.endswith(' ok'):
            print(line)
    print(f'cargo: {passed} passed, {failed} failed (exit {proc.returncode})')
    if proc.returncode != 0 and failed == 0:
        print(proc.stdout[-4000:])
        failed = 1
    if not seen:
        failed = max(failed, 1)
    report.add('cargo test', passed, failed)


def runner_unit_tests(report: Report) -> None:
    """The runner's own tests (KTAP and splat recognition) must hold first."""
    report.section('runner unit tests')
    suite = unittest.defaultTestLoader.discover(os.path.join(TOP, 'tests', 'runner'),
                                                pattern='test_*.py',
                                                top_level_dir=os.path.join(TOP, 'tests', 'runner'))
    result = unittest.TextTestRunner(stream=sys.stdout, verbosity=1).run(suite)
    failed = len(result.failures) + len(result.errors)
    report.add('runner unit tests', result.testsRun - failed - len(result.skipped), failed,
               len(result.skipped))


def cmd_test(args) -> int:
    report = Report()
    os.environ['HVTEST_KSRC'] = args.ksrc
    if not args.scenario:
        cargo_tests(report)
        runner_unit_tests(report)
    ctx = Context(args.kdir, args.ksrc, modules(), os.path.join(OUT, 'test'), report,
                  args.verbose)
    run_all(ctx, args.scenario)
    return report.finish()


def cmd_soak(args) -> int:
    report = Report()
    os.environ['HVTEST_KSRC'] = args.ksrc
    ctx = Context(args.kdir, args.ksrc, modules(), os.path.join(OUT, 'soak'), report,
                  args.verbose)
    run_all(ctx, SOAKS)
    return report.finish()


def cmd_ksft(args) -> int:
    from . import ksft
    report = ksft.main(args.kdir, args.ksrc, modules(), os.path.join(OUT, 'ksft'), args.smoke)
    return report.finish()


def cmd_demo(args) -> int:
    from . import demo
    return demo.run(args.kdir, modules(), os.path.join(OUT, 'demo'))


def cmd_bench(args) -> int:
    from . import bench
    rc = bench.run(args.kdir, modules(), os.path.join(OUT, 'bench'))
    return bench.run_vf(args.kdir, modules(), os.path.join(OUT, 'bench-vf')) or rc


def cmd_boot(args) -> int:
    """Boot, run the given commands, print their output, power off."""
    with Guest(args.kdir, os.path.join(OUT, 'boot'), modules(), echo_console=args.verbose) as g:
        for c in args.commands:
            rc, out = g.run(c)
            print(f'$ {c}\n{out}[exit {rc}]')
    splats = g.splats()
    for s in splats:
        print('SPLAT: ' + s)
    return 1 if splats else 0


def cmd_ktap(args) -> int:
    with open(args.log, errors='replace') as f:
        res = ktap.parse(args.ksrc, f.read().splitlines())
    print(res.report)
    print(f'{res.passed} passed, {res.failed} failed')
    return 1 if res.failed else 0


def main() -> int:
    p = argparse.ArgumentParser(prog='hvtest', description=__doc__)
    p.add_argument('--kdir', required=True, help='kernel object tree (bzImage, modroot)')
    p.add_argument('-v', '--verbose', action='store_true', help='echo the guest console')
    sub = p.add_subparsers(dest='cmd', required=True)
    t = sub.add_parser('test', help='the whole suite; ends with "N passed, N failed"')
    t.add_argument('scenario', nargs='*',
                   help='only these QEMU scenarios (skips host tests): '
                   + ', '.join(n for n, _ in SCENARIOS))
    t.set_defaults(fn=cmd_test)
    sub.add_parser('soak', help='the long soaks (' + ', '.join(SOAKS) + '); '
                   'ends with "N passed, N failed"').set_defaults(fn=cmd_soak)
    k = sub.add_parser('ksft', help='the kernel\'s NIC driver selftests against our driver '
                       'and netdevsim; ends with "N passed, N failed"')
    k.add_argument('--smoke', action='store_true', help='only the smoke subset')
    k.set_defaults(fn=cmd_ksft)
    sub.add_parser('demo', help='the narrated demo').set_defaults(fn=cmd_demo)
    sub.add_parser('bench', help='packet rates as ratios to veth').set_defaults(fn=cmd_bench)
    b = sub.add_parser('boot', help='boot and run commands in the guest')
    b.add_argument('commands', nargs='*')
    b.set_defaults(fn=cmd_boot)
    k = sub.add_parser('ktap', help='parse a console log with kunit_parser')
    k.add_argument('log')
    k.set_defaults(fn=cmd_ktap)
    args = p.parse_args()
    unknown = set(getattr(args, 'scenario', None) or ()) - {n for n, _ in SCENARIOS}
    if unknown:
        p.error('unknown scenario: ' + ', '.join(sorted(unknown)))
    args.kdir = os.path.abspath(args.kdir)
    args.ksrc = os.path.realpath(os.path.join(args.kdir, 'source'))
    return args.fn(args)


if __name__ == '__main__':
    sys.exit(main())
