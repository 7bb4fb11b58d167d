# SPDX-License-Identifier: GPL-2.0
"""The kernel's own NIC driver selftests (tools/testing/selftests/drivers/net)
against our driver, with netdevsim as the positive control, in one guest.

The tests are the 7.3 source's, built and installed by kselftest's own
`install` (scripts/build-ksft.sh: the suites, their helper programs and BPF
objects, the YNL library and specs), cached beside the kernel build. They
run inside a chroot into the host's own file system shared read-only over
virtio-9p: the payload they need (Python 3 with PyYAML, bash, socat, iputils
ping, iperf3, udevadm) is the host's, installed by scripts/setup.sh, so
nothing is copied into the initramfs and every tool is the real one. The guest's /proc, /sys,
/dev, /run, /tmp and its own /lib/modules are mounted into the chroot.

Our driver: NETIF=eth0 (the simulated vNIC) with REMOTE_TYPE=netns, the
remote being the peer of the simulated vSwitch's uplink veth in namespace
`remote`. The control: the same files with no NETIF, which the suite runs
against netdevsim devices it makes itself. Every case's result is compared
with tests/ksft/expectations.txt: an unexpected pass, failure or skip is a
failure of the run.
"""

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

from . import ktap, sim
from .guest import Guest
from .report import Report
from .scenarios import scenario

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
EXPECTATIONS = os.path.join(TOP, 'tests', 'ksft', 'expectations.txt')

# The files `make ksft` runs, relative to tools/testing/selftests.
FULL = ['drivers/net/ping.py', 'drivers/net/stats.py', 'drivers/net/queues.py',
        'drivers/net/napi_id.py', 'drivers/net/ring_reconfig.py', 'drivers/net/macsec.py',
        'drivers/net/hw/csum.py']
# Files the control does not run: hw/ suites refuse netdevsim themselves
# ("Test does not work on netdevsim", before any TAP).
HW_ONLY = {f for f in FULL if f.startswith('drivers/net/hw/')}
# The smoke subset inside `make test`: a few minutes under TCG.
SMOKE = ['drivers/net/ping.py']

VNIC_MAC = '00:15:5d:00:00:01'
# Documentation ranges (RFC 5737, RFC 3849), as the suite's README suggests.
ENV_OURS = {
    'NETIF': 'eth0',
    'LOCAL_V4': '192.0.2.1', 'REMOTE_V4': '192.0.2.2',
    'LOCAL_V6': '2001:db8:1::1', 'REMOTE_V6': '2001:db8:1::2',
    'REMOTE_TYPE': 'netns', 'REMOTE_ARGS': 'remote',
}
# The suite's own pacing for slow machines (longer timeouts, fewer rounds).
ENV_COMMON = {'KSFT_MACHINE_SLOW': 'yes'}
# The runner's own Python first (with PyYAML, scripts/setup.sh), then the
# system's tools.
CHROOT_PATH = (os.path.dirname(os.path.realpath(sys.executable))
               + ':/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin')
# One test file's time limit in the guest (TCG, Python over 9p).
FILE_TIMEOUT = 900.0


@dataclass
class Expect:
    result: str  # pass, fail, skip, xfail
    why: str


def load_expectations(path: str = EXPECTATIONS) -> Dict[Tuple[str, str], Expect]:
    """`<target> <case> <pass|fail|skip|xfail> [why]` per line; lines
    starting with `#` are comments.
    `target` is `ours` or `netdevsim`; `case` is `<file>:<case name>`, the
    file relative to tools/testing/selftests."""
    out: Dict[Tuple[str, str], Expect] = {}
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith('#'):
                continue
            parts = line.split(None, 3)
            if len(parts) < 3 or parts[0] not in ('ours', 'netdevsim') \
                    or parts[2] not in ('pass', 'fail', 'skip', 'xfail'):
                raise ValueError(f'{path}:{n}: cannot parse {line!r}')
            out[(parts[0], parts[1])] = Expect(parts[2], parts[3] if len(parts) > 3 else '')
    return out


def case_result(c: ktap.CaseResult) -> str:
    if c.ok:
        return 'pass'
    return 'skip' if c.skipped else 'fail'


def enter_host_share(g: Guest) -> None:
    """Mount the host's file system read-only at /host with the guest's
    pseudo file systems, /run and /tmp inside. Kernel modules come from
    the initramfs: the kernel's own module requests run its modprobe there,
    and the ones the tests use are loaded before (`run`)."""
    g.sh('mkdir -p /host && mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144 '
         'hostshare /host')
    # Recursive binds: network namespaces (/run/netns), debugfs, devpts.
    for d in ('proc', 'sys', 'dev', 'run', 'tmp'):
        g.sh(f'mount -o rbind /{d} /host/{d}')


def in_chroot(command: str, env: Dict[str, str]) -> str:
    """A guest command line running `command` under bash in the host share."""
    assigns = ' '.join(f'{k}={shlex.quote(v)}' for k, v in {
        'PATH': CHROOT_PATH, 'HOME': '/root', 'TERM': 'dumb', **env}.items())
    return f'chroot /host /usr/bin/env -i {assigns} /bin/bash -c {shlex.quote(command)}'


def set_up_ours(g: Guest):
    """eth0 on the simulated host, its uplink a veth whose peer is the
    suite's remote in namespace `remote`; addresses without DAD, a large MTU
    and no autoconfiguration on the remote."""
    sim.load(g)
    g.sh('mkdir -p /run && mount -t tmpfs none /run && ip netns add remote && ip link add hvup type veth peer name hvpeer '
         '&& ip link set hvpeer netns remote && ip link set hvup mtu 9000 promisc on up')
    v = sim.Vnic(g, 'vnic0', mac=VNIC_MAC, serial=1)
    v.enable()
    syn = v.netdev() or ''
    v.set_uplink('hvup')
    r = 'ip netns exec remote'
    g.sh(f'{r} sysctl -qw net.ipv6.conf.all.accept_ra=0 net.ipv6.conf.default.accept_ra=0 '
         f'net.ipv6.conf.all.autoconf=0 net.ipv6.conf.default.autoconf=0')
    g.sh(f'ip -n remote link set lo up && ip -n remote link set hvpeer mtu 9000 up && '
         f'ip -n remote addr add {ENV_OURS["REMOTE_V4"]}/24 dev hvpeer && '
         f'ip -n remote addr add {ENV_OURS["REMOTE_V6"]}/64 dev hvpeer nodad')
    # The suites take interfaces down and up (stats.py): their IPv6
    # addresses must survive it, as the suite's lab setups keep them.
    g.sh(f'sysctl -qw net.ipv6.conf.{syn}.keep_addr_on_down=1 && '
         f'ip netns exec remote sysctl -qw net.ipv6.conf.hvpeer.keep_addr_on_down=1')
    g.sh(f'ip link set {syn} up && ip addr add {ENV_OURS["LOCAL_V4"]}/24 dev {syn} && '
         f'ip addr add {ENV_OURS["LOCAL_V6"]}/64 dev {syn} nodad')
    g.sh(f'ping -c 1 -W 5 {ENV_OURS["REMOTE_V4"]}')
    return v, syn


def installed() -> str:
    """The installed selftests (built on first use)."""
    return subprocess.run([os.path.join(TOP, 'scripts', 'build-ksft.sh')], check=True,
                          stdout=subprocess.PIPE, text=True).stdout.strip()


def run_file(g: Guest, tree: str, rel: str, env: Dict[str, str]) -> Tuple[int, str]:
    """Runs one installed selftest file; returns its exit status and output."""
    d, f = os.path.split(os.path.join(tree, rel))
    rc, out = g.run(in_chroot(f'cd {shlex.quote(d)} && ./{f}', {**ENV_COMMON, **env}),
                    timeout=FILE_TIMEOUT)
    return rc, out


def results(ksrc: str, rel: str, out: str) -> Tuple[List[Tuple[str, str]], str]:
    """The cases of one file's TAP output as (`<rel>:<case>`, result), and
    a parse problem if there was one (no TAP, a crash)."""
    lines = out.splitlines()
    if not any(re.match(r'\s*(K?TAP version \d+)', l) for l in lines):
        return [], 'no TAP output'
    res = ktap.parse(ksrc, lines)
    name = rel
    # ksft's XFAIL ("ok N case # XFAIL why": a case for another kind of
    # device) is no pass of ours: kept apart.
    xfail = {m.group(1) for m in (re.match(r'\s*ok \d+ (\S+) # XFAIL', l) for l in lines) if m}
    cases = [(f'{name}:{c.name}', 'xfail' if c.name in xfail else case_result(c))
             for c in res.cases]
    return cases, ('' if not res.errors or cases else 'TAP parse error')


def run(g: Guest, ksrc: str, report: Report, files: List[str], outdir: str) -> None:
    """Runs `files` against our driver and against netdevsim and checks
    each case against the expectations."""
    expect = load_expectations()
    tree = installed()
    g.sh('modprobe -a netdevsim veth macsec 8021q')
    _, syn = set_up_ours(g)
    enter_host_share(g)
    seen = set()
    for target, env in (('ours', ENV_OURS), ('netdevsim', {})):
        if target == 'netdevsim':
            # The suite gives its netdevsim devices the same documentation
            # addresses: eth0 goes down (its routes with it) meanwhile.
            g.sh(f'ip link set {syn} down')
        for rel in files:
            if target == 'netdevsim' and rel in HW_ONLY:
                continue
            rc, out = run_file(g, tree, rel, env)
            with open(os.path.join(outdir, f'{target}-{os.path.basename(rel)}.log'), 'w') as f:
                f.write(out)
            cases, problem = results(ksrc, rel, out)
            name = os.path.basename(rel)
            report.check(f'ksft {target}: {name} ran and printed TAP ({len(cases)} cases)',
                         not problem, f'{problem} (exit {rc})\n{out[-1500:]}')
            for case, got in cases:
                seen.add((target, case))
                want = expect.get((target, case))
                why = f' ({want.why})' if want and want.why else ''
                label = f'ksft {target}: {case}: {got}{why}'
                detail = '' if want else 'no expectation for this case in tests/ksft/expectations.txt'
                if want and want.result != got:
                    detail = f'expected {want.result}{why}'
                report.check(label, want is not None and want.result == got,
                             detail + '\n' + case_log(out, case.split(':', 1)[1]))
    for (target, case), want in sorted(expect.items()):
        if case.split(':', 1)[0] in files and (target, case) not in seen:
            report.check(f'ksft {target}: {case} was run', False,
                         f'expected {want.result}, but the case did not appear')


def case_log(out: str, case: str, lines: int = 25) -> str:
    """The output lines printed before `case`'s result line."""
    text = out.splitlines()
    for i, line in enumerate(text):
        if re.match(rf'(not )?ok \d+ {re.escape(case)}\b', line):
            return '\n'.join(text[max(0, i - lines):i + 1])
    return ''


def guest(kdir: str, workdir: str, modules: Dict[str, str]) -> Guest:
    """A guest with the host's root shared read-only as 9p tag `hostshare`."""
    return Guest(kdir, workdir, modules, memory='2G', qemu_args=[
        '-fsdev', 'local,id=hostfs,path=/,security_model=none,readonly=on',
        '-device', 'virtio-9p-pci,fsdev=hostfs,mount_tag=hostshare'])


def main(kdir: str, ksrc: str, modules: Dict[str, str], outdir: str, smoke: bool,
         report: Optional[Report] = None) -> Report:
    report = report or Report()
    os.makedirs(outdir, exist_ok=True)
    name = 'ksft-smoke' if smoke else 'ksft'
    report.section(f'kernel selftests ({name})')
    with guest(kdir, os.path.join(outdir, name), modules) as g:
        run(g, ksrc, report, SMOKE if smoke else FULL, os.path.join(outdir, name))
    splats = g.splats()
    report.check(f'{name}: no kernel splat', not splats, '\n'.join(splats[:20]))
    return report


@scenario('ksft-smoke')
def ksft_smoke(ctx) -> None:
    """The smoke subset of `make ksft` inside `make test`."""
    main(ctx.kdir, ctx.ksrc, ctx.modules, ctx.outdir, True, ctx.report)
