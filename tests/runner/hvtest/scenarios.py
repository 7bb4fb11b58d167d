"""QEMU scenarios run by `make test`. Each boots its own guest."""

import os
import re
from typing import Callable, Dict, List, Tuple

from . import ktap
from .guest import Guest, GuestError
from .report import Report

SCENARIOS: List[Tuple[str, Callable]] = []


def scenario(name: str):
    def register(fn):
        SCENARIOS.append((name, fn))
        return fn
    return register


class Context:
    def __init__(self, kdir: str, ksrc: str, modules: Dict[str, str], outdir: str,
                 report: Report, verbose: bool):
        self.kdir = kdir
        self.ksrc = ksrc
        self.modules = modules
        self.outdir = outdir
        self.report = report
        self.verbose = verbose

    def guest(self, name: str, **kw) -> Guest:
        return Guest(self.kdir, os.path.join(self.outdir, name), self.modules,
                     echo_console=self.verbose, **kw)


def check_clean(ctx: Context, name: str, guest: Guest) -> None:
    splats = guest.splats()
    ctx.report.check(f'{name}: no kernel splat', not splats, '\n'.join(splats[:20]))


@scenario('module-kunit')
def module_kunit(ctx: Context) -> None:
    """Load the production module: its KUnit suites pass, it unloads, no leak."""
    r = ctx.report
    with ctx.guest('module-kunit') as g:
        g.leak_baseline()
        mark = g.mark()
        rc, out = g.run('insmod /modules/hv_netvsc_rs.ko')
        r.check('module-kunit: insmod hv_netvsc_rs.ko', rc == 0, out)
        res = ktap.parse(ctx.ksrc, g.console_since(mark))
        for case in res.cases:
            if case.skipped:
                r.skipped += 1
                print(f'skip kunit {case.suite}.{case.name}')
            else:
                r.check(f'kunit {case.suite}.{case.name}', case.ok, case.status)
        if res.errors:
            r.check('module-kunit: KTAP parsed without errors', False, res.report)
        r.check('module-kunit: driver says it loaded',
                any(re.search(r'hv_netvsc_rs: loaded$', l) for l in g.console_since(mark)))
        rc, out = g.run('rmmod hv_netvsc_rs')
        r.check('module-kunit: rmmod', rc == 0, out)
        leaks = g.leaks()
        r.check('module-kunit: kmemleak finds nothing', not leaks, '\n'.join(leaks))
    check_clean(ctx, 'module-kunit', g)


@scenario('harness-catches-warn')
def harness_catches_warn(ctx: Context) -> None:
    """Negative control: a WARN in the guest must be reported as a splat.

    The module emits one only when asked (warn_on_load=1), which only this
    scenario does; a harness that missed it would pass broken drivers.
    """
    with ctx.guest('harness-catches-warn') as g:
        g.sh('insmod /modules/hv_netvsc_rs.ko warn_on_load=1')
        g.sh('rmmod hv_netvsc_rs')
    splats = g.splats()
    ctx.report.check('harness: a WARN in the guest is detected as a splat',
                     any('WARNING:' in s and 'hv_netvsc_rs' in s for s in splats), '\n'.join(g.console()[-40:]))


def run_all(ctx: Context, only: List[str]) -> None:
    for name, fn in SCENARIOS:
        if only and name not in only:
            continue
        ctx.report.section(f'scenario {name}')
        try:
            fn(ctx)
        except GuestError as e:
            ctx.report.check(f'{name}: ran to completion', False, str(e))
