# SPDX-License-Identifier: GPL-2.0
"""QEMU scenarios run by `make test`. Each boots its own guest."""

import datetime
import os
import re
import struct
import time
from typing import Callable, Dict, List, Optional, Tuple

from . import ktap
from .guest import QEMU_HUNG, Guest, GuestError
from .report import Report

SCENARIOS: List[Tuple[str, Callable]] = []
# Long soaks: run by `make soak` (`hvtest soak`) or by name, not by `make test`,
# which runs a shorter smoke version of each.
SOAKS: List[str] = []


def scenario(name: str, soak: bool = False):
    def register(fn):
        SCENARIOS.append((name, fn))
        if soak:
            SOAKS.append(name)
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


def check_console(r: Report, g: Guest, label: str, pattern: str, mark: int,
                  timeout: float) -> None:
    """One check: a console line matching `pattern` appears after `mark`
    within `timeout` seconds; the last console lines are shown if not."""
    try:
        g.wait_console(pattern, mark, timeout)
        r.check(label, True)
    except Exception as e:
        r.check(label, False, f'{e}\n' + '\n'.join(g.console_since(mark)[-30:]))


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
        # As upstream: a ring below 64 pages is raised, and says so.
        mark = g.mark()
        rc, out = g.run('insmod /modules/hv_netvsc_rs.ko ring_size=8 && rmmod hv_netvsc_rs')
        r.check('module-kunit: ring_size below 64 pages is raised, logged',
                rc == 0 and any('Increased ring_size to 64 (min allowed)' in l
                                for l in g.console_since(mark)),
                out + '\n'.join(g.console_since(mark)[-10:]))
        leaks = g.leaks()
        r.check('module-kunit: kmemleak finds nothing', not leaks, '\n'.join(leaks))
    check_clean(ctx, 'module-kunit', g)
    module_identity(ctx)


NIC_ALIAS = 'vmbus:635161f83edfc546913ff2d2f965ed0e'


def module_identity(ctx: Context) -> None:
    """What udev and modprobe see of the module, checked with the real kmod
    tools on the host: the alias of the synthetic NIC's class, which
    modprobe resolves to our module (beside upstream's hv_netvsc, which a
    user blacklists to switch)."""
    import shutil
    import subprocess
    import tempfile
    r = ctx.report
    ko = ctx.modules['hv_netvsc_rs']
    out = subprocess.run(['modinfo', '-F', 'alias', ko], capture_output=True, text=True)
    aliases = out.stdout.split()
    r.check(f'module-kunit: modinfo shows alias {NIC_ALIAS}', NIC_ALIAS in aliases,
            out.stdout + out.stderr)
    rel = open(os.path.join(ctx.kdir, '.hvn-kernelrelease')).read().strip()
    src = os.path.join(ctx.kdir, 'modroot', 'lib', 'modules', rel)
    with tempfile.TemporaryDirectory() as tmp:
        dst = os.path.join(tmp, 'lib', 'modules', rel)
        shutil.copytree(src, dst, symlinks=True)
        os.makedirs(os.path.join(dst, 'extra'), exist_ok=True)
        shutil.copy(ko, os.path.join(dst, 'extra'))
        dep = subprocess.run(['depmod', '-b', tmp, rel], capture_output=True, text=True)
        res = subprocess.run(['modprobe', '-d', tmp, '-S', rel, '-R', NIC_ALIAS],
                             capture_output=True, text=True)
        names = res.stdout.split()
        r.check('module-kunit: modprobe resolves the NIC class alias to hv_netvsc_rs '
                '(and upstream hv_netvsc)',
                dep.returncode == 0 and 'hv_netvsc_rs' in names and 'hv_netvsc' in names,
                dep.stderr + res.stdout + res.stderr)


@scenario('harness-catches-warn')
def harness_catches_warn(ctx: Context) -> None:
    """Negative control: a WARN in the guest must be reported as a splat.

    The module emits one only when asked (warn_on_load=1), which only this
    scenario does; a harness that missed it would pass broken drivers.
    """
    with ctx.guest('harness-catches-warn') as g:
        # The command channel survives orphans dying while the agent reads
        # the next line (their SIGCHLD once cut command lines short).
        garbled = []
        for _ in range(3):
            g.sh('for i in $(seq 10 3 99); do sleep 0.$i & done; true')
            for _ in range(20):
                rc, out = g.run('echo ' + 'x' * 60)
                if (rc, out) != (0, 'x' * 60 + '\n'):
                    garbled.append(f'{rc} {out!r}')
        ctx.report.check('harness: commands arrive whole while orphans exit',
                         not garbled, '\n'.join(garbled))
        g.sh('insmod /modules/hv_netvsc_rs.ko warn_on_load=1')
        g.sh('rmmod hv_netvsc_rs')
    splats = g.splats()
    ctx.report.check('harness: a WARN in the guest is detected as a splat',
                     any('WARNING:' in s and 'hv_netvsc_rs' in s for s in splats), '\n'.join(g.console()[-40:]))


def qemu_assertion(ctx: Context, name: str) -> str:
    """QEMU's own fault in scenario `name`'s last boot: an assertion it
    aborted on (QEMU 10's TCG can hit `iotlb_to_section` after many PCI
    hot-plugs), or a hang of the emulator itself (the guest stopped
    answering and so did QEMU's monitor; see `Guest._monitor_status`).
    Not a fault of the guest."""
    try:
        with open(os.path.join(ctx.outdir, name, QEMU_HUNG)) as f:
            return 'QEMU hung: ' + f.read().strip()
    except OSError:
        pass
    try:
        with open(os.path.join(ctx.outdir, name, 'qemu.out')) as f:
            text = f.read()
    except OSError:
        return ''
    m = re.search(r'^qemu-system-\S+: .*Assertion .* failed\.$', text, re.M)
    return m.group(0) if m else ''


def run_all(ctx: Context, only: List[str]) -> None:
    """Run the scenarios named in `only`, or all but the long soaks."""
    whole = ctx.report
    for name, fn in SCENARIOS:
        if (name not in only) if only else (name in SOAKS):
            continue
        whole.section(f'scenario {name}')
        # A scenario whose QEMU aborted on its own assertion runs once more;
        # only the last attempt's checks count, every one of them as strict.
        for attempt in (1, 2):
            ctx.report = Report()
            try:
                fn(ctx)
            except GuestError as e:
                ctx.report.check(f'{name}: ran to completion', False, str(e))
            abort = qemu_assertion(ctx, name) if ctx.report.failed else ''
            if not abort or attempt == 2:
                break
            print(f'NOTE {name}: QEMU aborted ({abort}); this attempt is discarded '
                  f'and the scenario runs once more', flush=True)
        whole.merge(ctx.report)
    ctx.report = whole


# The uplink of the simulated vSwitch: a QEMU NIC on user networking, whose
# gateway is 10.0.2.2 and whose DHCP server hands out 10.0.2.15.
UPLINK_QEMU = ['-netdev', 'user,id=up0', '-device',
               'virtio-net-pci,netdev=up0,mac=52:54:00:00:00:fe']
VNIC_MAC = '00:15:5d:12:34:56'
FRIENDLY_NAME = 'Synthetic NIC 1'
UDHCPC_SCRIPT = ('case "$1" in bound|renew) ip addr flush dev $interface; '
                 'ip addr add $ip/${mask:-24} dev $interface; '
                 '[ -n "$router" ] && ip route replace default via ${router%% *}; esac')


def synthetic_guest(g: Guest):
    """Load driver and simulator, create vNIC 'vnic0' and bring up the
    uplink: returns (vnic, synthetic ifname, uplink ifname)."""
    from . import sim
    sim.load(g)
    v = sim.Vnic(g, 'vnic0', mac=VNIC_MAC, serial=1, friendly_name=FRIENDLY_NAME)
    v.enable()
    syn = v.netdev()
    g.sh('modprobe virtio_net')
    up = g.sh("for d in /sys/class/net/*; do "
              "[ \"$(cat $d/address)\" = 52:54:00:00:00:fe ] && basename $d; done; true").strip()
    # The uplink sees frames for the vNIC's MAC only in promiscuous mode.
    g.sh(f'ip link set {up} promisc on up')
    v.set_uplink(up)
    return v, syn, up


TRANSFER_MIB = 64


def tcp_transfer(g: Guest, r: Report, name: str, ifname: str, mib: int = TRANSFER_MIB,
                 how: str = '') -> None:
    """A TCP stream (64 MiB by default) from the guest to a listener on the
    host machine arrives intact (SHA-256 compared), and the interface
    counters account for at least the payload."""
    from .hostnet import TcpSink
    size = mib << 20
    g.sh(f'dd if=/dev/urandom of=/tmp/blob bs=1M count={mib} 2>/dev/null')
    want = g.sh('sha256sum /tmp/blob').split()[0]
    before = int(g.sh(f'cat /sys/class/net/{ifname}/statistics/tx_bytes'))
    sink = TcpSink(size)
    t0 = time.monotonic()
    rc, out = g.run(f'nc 10.0.2.2 {sink.port} < /tmp/blob', timeout=600)
    sink.wait()
    secs = time.monotonic() - t0
    after = int(g.sh(f'cat /sys/class/net/{ifname}/statistics/tx_bytes'))
    g.sh('rm -f /tmp/blob')
    r.check(f'{name}: {mib} MiB TCP to the host arrives intact{how} '
            f'({size / secs / 1e6:.1f} MB/s under TCG)',
            sink.received == size and sink.sha256 == want,
            f'nc exit {rc} {out}; got {sink.received} bytes, sha {sink.sha256} want {want}, '
            f'error {sink.error}')
    r.check(f'{name}: tx_bytes accounts for the stream', after - before >= size,
            f'tx_bytes grew by {after - before}')


def ethtool_stats(g: Guest, ifname: str) -> Dict[str, int]:
    """`ethtool -S` as a dict."""
    return {k: int(n) for k, n in re.findall(r'^\s*(\w+): (\d+)$', g.sh(f'ethtool -S {ifname}'), re.M)}


def offload_counts(r: Report, name: str, mode: str, before: Dict[str, int],
                   after: Dict[str, int], host_before, host_after) -> None:
    """What a transfer in `mode` (TSO, checksum, software) must show in the
    driver's and the host's counters."""
    d = {k: after.get(k, 0) - before.get(k, 0) for k in after}
    h = {k: host_after[k] - host_before[k] for k in host_after if isinstance(host_after[k], int)}
    detail = f'driver {d}\nhost {h}'
    refused = h.get('tx_offload_refused', -1) == 0
    if mode == 'TSO':
        ok = (d['tx_lso'] > 0 and h['tx_lso'] == d['tx_lso']
              and h['tx_lso_segments'] > h['tx_lso'] and refused)
        what = 'sent as LSOv2, segmented by the host'
    elif mode == 'checksum':
        ok = (d['tx_lso'] == 0 and d['tx_checksum_offload'] > 0
              and h['tx_checksum_offload'] == d['tx_checksum_offload'] and refused)
        what = 'sent with checksums left to the host'
    else:
        ok = d['tx_lso'] == 0 and d['tx_checksum_offload'] == 0 and refused
        what = 'sent complete (no offload asked)'
    r.check(f'{name}: {mode}: the stream was {what}', ok, detail)
    rx_on = mode != 'software'
    r.check(f'{name}: {mode}: receive checksums ' + ('vouched for by the host are trusted'
                                                   if rx_on else 'are verified by the stack'),
            h['rx_checksum_good'] > 0 and (d['rx_checksum_offload'] > 0) == rx_on, detail)


def offload_modes(g: Guest, r: Report, name: str, v, syn: str) -> None:
    """`ethtool -K` takes each offload back: without TSO the stack
    segments and the host checksums; without transmit (and receive)
    checksum offload the stack does everything. Each stream arrives intact
    and the counters show who did the work."""
    for mode, flags in (('checksum', 'tso off'), ('software', 'tx off rx off')):
        rc, out = g.run(f'ethtool -K {syn} {flags}')
        before, host_before = ethtool_stats(g, syn), v.stats()
        tcp_transfer(g, r, name, syn, mib=8, how=f' with {flags}')
        offload_counts(r, name, mode, before, ethtool_stats(g, syn), host_before, v.stats())
    g.run(f'ethtool -K {syn} tx on rx on tso on')


def mac_change(g: Guest, r, name: str, v, syn: str) -> None:
    """The host takes a new MAC address and delivers to it; a host that
    refuses leaves the old address in place."""
    new = '00:15:5d:12:34:99'
    rc, out = g.run(f'ip link set {syn} address {new}')
    st = v.stats()
    addr = g.sh(f'cat /sys/class/net/{syn}/address').strip()
    r.check(f'{name}: a MAC change reaches the host', rc == 0 and addr == new
            and st.get('current_mac') == new, f'{out} address {addr} host {st.get("current_mac")}')
    # The gateway learns the new address from our next ARP request.
    rc, out = g.run(f'ip neigh flush dev {syn}; ping -c 5 -i 0.2 -W 2 10.0.2.2', timeout=30)
    r.check(f'{name}: traffic flows to the new MAC', rc == 0 and ' 0% packet loss' in out, out)
    v.write('mac_change', 0)
    rc, out = g.run(f'ip link set {syn} address 00:15:5d:12:34:98')
    addr = g.sh(f'cat /sys/class/net/{syn}/address').strip()
    r.check(f'{name}: a host that refuses a MAC change leaves the address as it was',
            rc != 0 and addr == new and v.stats().get('mac_refused') == 1, f'{rc} {out} {addr}')
    v.write('mac_change', 1)


def friendly_name_default(g: Guest, r, name: str, v) -> None:
    """Hyper-V names a NIC nobody named "Network Adapter": that is no
    alias (as upstream), while any other name, a longer one that starts
    the same included, still is. Leaves the vNIC disabled."""
    for offered, want in (('Network Adapter', ''), ('Network Adapter 2', 'Network Adapter 2')):
        v.write('friendly_name', offered)
        v.enable()
        ifname = v.netdev() or 'eth0'
        alias = g.sh(f'cat /sys/class/net/{ifname}/ifalias').strip()
        v.disable()
        what = 'leaves the ifalias empty' if not want else 'becomes the ifalias'
        r.check(f'{name}: the host\'s friendly name "{offered}" {what}',
                alias == want, f'{ifname}: ifalias {alias!r}')
    v.write('friendly_name', FRIENDLY_NAME)


# RNDIS packet filter bits (NDIS_PACKET_TYPE_*).
PACKET_TYPE_DIRECTED, PACKET_TYPE_MULTICAST = 0x1, 0x2
PACKET_TYPE_ALL_MULTICAST, PACKET_TYPE_BROADCAST = 0x4, 0x8
LOCKDEP_CLASSES = ('&qdisc_xmit_lock_key', '&dev_addr_list_lock_key', '&dev_instance_lock_key')


def lockdep_classes(g: Guest) -> int:
    """How many lock classes /proc/lockdep lists under the names that
    `netdev_lockdep_set_classes` gives (one set per driver using it)."""
    out = g.sh('cat /proc/lockdep')
    return sum(1 for l in out.splitlines()
               if any(re.search(re.escape(n) + r'(#\d+)?(/\d+)?$', l) for n in LOCKDEP_CLASSES))


def snmp6(g: Guest, key: str, ns: str = '') -> int:
    pre = f'ip netns exec {ns} ' if ns else ''
    out = g.sh(f'{pre}cat /proc/net/snmp6')
    m = re.search(rf'^{key}\s+(\d+)$', out, re.M)
    return int(m.group(1)) if m else -1


def receive_filter(g: Guest, r: Report, name: str, v, syn: str) -> None:
    """Multicast over the synthetic path, with the uplink now a veth whose
    peer lives in a namespace: IPv6 neighbour discovery both ways and a
    group the guest joined. The simulated host applies NDIS semantics
    (multicast needs ALL_MULTICAST: MULTICAST alone asks for the members
    of a multicast list the synthetic NIC never sets, so none)."""
    st = v.stats()
    f = st['packet_filter']
    r.check(f'{name}: receive filter is directed, broadcast and all-multicast (as upstream), '
            f'never MULTICAST without a list',
            f == PACKET_TYPE_DIRECTED | PACKET_TYPE_BROADCAST | PACKET_TYPE_ALL_MULTICAST,
            f'packet_filter {f:#x}')
    g.sh('mkdir -p /run; mount -t tmpfs none /run 2>/dev/null; modprobe veth; ip netns add peer; '
         'ip link add hvup type veth peer name hvpeer; ip link set hvpeer netns peer; '
         'ip link set hvup promisc on up; ip -n peer link set hvpeer up; '
         'ip -n peer addr add fd00:77::1/64 dev hvpeer nodad')
    v.set_uplink('')
    v.set_uplink('hvup')
    g.sh(f'ip addr add fd00:77::2/64 dev {syn} nodad')
    filtered = v.stats()['rx_filtered']
    # The guest resolves the peer (its neighbour solicitation goes to the
    # peer's solicited-node group), then the peer resolves the guest: its
    # solicitation reaches the guest only as multicast.
    rc, out = g.run('ping -6 -c 3 -W 2 fd00:77::1', timeout=30)
    r.check(f'{name}: IPv6 ping from the guest to the uplink peer (neighbour discovery)',
            rc == 0 and ' 0% packet loss' in out, out)
    g.sh(f'ip -n peer neigh flush dev hvpeer; ip neigh flush dev {syn}')
    ns_before = snmp6(g, 'Icmp6InNeighborSolicits')
    rc, out = g.run('ip netns exec peer ping -6 -c 3 -W 2 fd00:77::2', timeout=30)
    ns_got = snmp6(g, 'Icmp6InNeighborSolicits') - ns_before
    r.check(f'{name}: IPv6 ping from the uplink peer to the guest: the peer\'s multicast '
            f'neighbour solicitation reaches the guest ({ns_got} received)',
            rc == 0 and ' 0% packet loss' in out and ns_got > 0, out)
    # A group the guest joined: the peer pings it, the guest answers.
    g.sh(f'ip -6 addr add ff05::77:1/128 dev {syn} autojoin')
    echos = snmp6(g, 'Icmp6InEchos')
    rc, out = g.run('ip netns exec peer ping -6 -c 3 -W 2 -I hvpeer ff05::77:1', timeout=30)
    got = snmp6(g, 'Icmp6InEchos') - echos
    st = v.stats()
    r.check(f'{name}: frames to a multicast group the guest joined reach it '
            f'({got} of 3 echo requests)', got >= 3,
            f'{out}\nrx_filtered {filtered} -> {st["rx_filtered"]}')
    g.sh(f'ip -6 addr del ff05::77:1/128 dev {syn}')
    r.check(f'{name}: the host filtered none of it (rx_filtered unchanged)',
            st['rx_filtered'] == filtered, f'rx_filtered {filtered} -> {st["rx_filtered"]}')
    # Down, the filter is 0: the host passes nothing, and counts it.
    g.sh(f'ip link set {syn} down')
    g.run('ip netns exec peer ping -6 -c 2 -W 1 -I hvpeer ff02::1', timeout=20)
    st = v.stats()
    r.check(f'{name}: with {syn} down (filter 0) the host passes no frame and counts them '
            f'in rx_filtered', st['packet_filter'] == 0 and st['rx_filtered'] > filtered,
            f'packet_filter {st["packet_filter"]:#x} rx_filtered {filtered} -> '
            f'{st["rx_filtered"]}')
    g.sh(f'ip link set {syn} up')
    v.set_uplink('')


def link_speed_checks(r, name: str, g: Guest, v, syn: str) -> None:
    """OID_GEN_LINK_SPEED at bring-up (the sim's default 10 Gbit/s, in
    100 bps units), ethtool and sysfs as upstream (speed, full duplex,
    port Other), a LINK_SPEED_CHANGE followed, a short one refused."""
    def sysfs(*attrs: str) -> str:
        paths = ' '.join(f'/sys/class/net/{syn}/{x}' for x in attrs)
        return g.sh(f'cat {paths} 2>&1; true').strip()

    eth = g.sh(f'ethtool {syn}')
    r.check(f'{name}: ethtool shows the host\'s link speed, full duplex, port Other',
            all(x in eth for x in ('Speed: 10000Mb/s', 'Duplex: Full', 'Port: Other')), eth)
    speed = sysfs('speed')
    r.check(f'{name}: /sys/class/net/{syn}/speed is 10000', speed == '10000', speed)
    mark = len(g.console_since(0))
    v.write('link_speed', 250_000_000)
    g.sh('sleep 1')
    speed = sysfs('speed')
    r.check(f'{name}: a LINK_SPEED_CHANGE to 25 Gbit/s is followed', speed == '25000', speed)
    # A LINK_SPEED_CHANGE whose status buffer is 2 bytes, not a u32.
    short = struct.pack('<IIIII', 7, 22, 0x40010013, 2, 12) + b'\x10\x27'
    v.write('inject_rndis', short.hex())
    g.sh('sleep 1')
    speed = sysfs('speed')
    log = g.console_since(mark)
    r.check(f'{name}: a LINK_SPEED_CHANGE with a short status buffer is refused, logged',
            speed == '25000' and any('dropped malformed RNDIS message' in l
                                     and 'length field smaller' in l for l in log),
            speed + '\n' + '\n'.join(log[-10:]))
    # As a virtual device upstream: speed and duplex may be set, nothing else.
    rc, out = g.run(f'ethtool -s {syn} speed 1000 duplex half 2>&1')
    got = sysfs('speed', 'duplex').split()
    r.check(f'{name}: ethtool -s sets speed 1000 and half duplex',
            rc == 0 and got == ['1000', 'half'], f'{out}\n{got}')
    refused = []
    for args in ('autoneg on', 'port tp', 'speed 100 port tp'):
        rc, out = g.run(f'ethtool -s {syn} {args} 2>&1')
        if rc == 0 or 'Invalid argument' not in out:
            refused.append(f'{args}: rc {rc} {out}')
    got = sysfs('speed', 'duplex').split()
    r.check(f'{name}: ethtool -s with autoneg or another port is refused (EINVAL), settings kept',
            not refused and got == ['1000', 'half'], '\n'.join(refused) + f'\n{got}')
    g.run(f'ethtool -s {syn} speed 10000 duplex full')
    v.write('link_speed', 100_000_000)
    g.sh('sleep 1')


# A link watcher in the role of systemd-networkd or NetworkManager: it logs
# the interface's link messages and, when the carrier comes back after
# having gone, asks the DHCP client (busybox udhcpc, SIGUSR1) to renew.
NETMGR_SCRIPT = r'''#!/bin/dash
down=0
ip -ts monitor link | while IFS= read -r line; do
	case "$line" in *" $1: "*) ;; *) continue ;; esac
	echo "$line" >> /tmp/linkmon
	case "$line" in
	*NO-CARRIER*) down=1 ;;
	*LOWER_UP*) [ $down = 1 ] && { down=0; kill -USR1 $(cat /tmp/udhcpc.pid); } ;;
	esac
done
'''


def carrier_changes(g: Guest, syn: str) -> int:
    return int(g.sh(f'cat /sys/class/net/{syn}/carrier_changes').strip())


def bounce_secs(lines: List[str]) -> Optional[float]:
    """Seconds from the first NO-CARRIER to the next LOWER_UP in `ip -ts
    monitor` lines, if both are there."""
    def ts(line: str) -> Optional[float]:
        m = re.match(r'\[(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+)\]', line)
        return datetime.datetime.fromisoformat(m.group(1)).timestamp() if m else None
    off = next((ts(l) for l in lines if 'NO-CARRIER' in l), None)
    if off is None:
        return None
    on = next((ts(l) for l in lines if 'LOWER_UP' in l and (ts(l) or 0) >= off), None)
    return None if on is None else on - off


def network_change_checks(r, name: str, g: Guest, v, syn: str) -> None:
    """RNDIS_STATUS_NETWORK_CHANGE: the carrier goes off and comes back
    about 2 s later, as upstream, so that a link watcher renews the DHCP
    lease; more changes meanwhile make one bounce; without a link there is
    no carrier to bounce."""
    g.sh(f"printf '%s\\n' '#!/bin/sh' 'echo \"$1\" >> /tmp/dhcp.events' '{UDHCPC_SCRIPT}' "
         '> /tmp/udhcpc-log.sh; chmod +x /tmp/udhcpc-log.sh; rm -f /tmp/dhcp.events /tmp/linkmon')
    g.sh(f'(udhcpc -f -i {syn} -t 5 -T 2 -p /tmp/udhcpc.pid -s /tmp/udhcpc-log.sh '
         '> /tmp/udhcpc.out 2>&1 &)')
    g.write_file('/tmp/netmgr.sh', NETMGR_SCRIPT, '755')
    g.sh(f'(/tmp/netmgr.sh {syn} > /dev/null 2>&1 &)')
    g.sh('for i in $(seq 50); do grep -q bound /tmp/dhcp.events 2>/dev/null && break; '
         'sleep 0.2; done')
    g.sh('sleep 0.5')  # `ip monitor` is listening
    leased = g.sh('cat /tmp/dhcp.events').split()
    before = carrier_changes(g, syn)
    mark = g.mark()
    v.write('network_change', 1)
    g.sh('sleep 1')
    during = g.sh(f'cat /sys/class/net/{syn}/carrier').strip()
    g.sh(f'for i in $(seq 40); do [ "$(cat /sys/class/net/{syn}/carrier)" = 1 ] && break; '
         'sleep 0.2; done; sleep 1')
    after = carrier_changes(g, syn)
    mon = g.sh('cat /tmp/linkmon 2>/dev/null; true').splitlines()
    secs = bounce_secs(mon)
    r.check(f'{name}: a NETWORK_CHANGE takes the carrier off and on again after about 2 s',
            during == '0' and after == before + 2 and secs is not None and 1.5 <= secs <= 4,
            f'carrier during {during}, carrier_changes {before} -> {after}, '
            f'bounce {secs} s\n' + '\n'.join(mon[-6:] + g.console_since(mark)[-5:]))
    events = g.sh(f'for i in $(seq 25); do [ $(grep -c . /tmp/dhcp.events) -gt {len(leased)} ] '
                  '&& break; sleep 0.2; done; cat /tmp/dhcp.events').split()
    rc, out = g.run('ping -c 3 -W 2 10.0.2.2', timeout=30)
    r.check(f'{name}: the link watcher\'s DHCP client renewed its lease after the bounce',
            'bound' in leased and events[len(leased):len(leased) + 1] == ['renew'] and rc == 0,
            f'before {leased}, after {events}\n{out}')
    # Changes in quick succession: one bounce, the carrier back 2 s after the last.
    before = carrier_changes(g, syn)
    for _ in range(4):
        v.write('network_change', 1)
        g.sh('sleep 0.5')
    during = g.sh(f'cat /sys/class/net/{syn}/carrier').strip()
    g.sh('sleep 3')
    after = carrier_changes(g, syn)
    up = g.sh(f'cat /sys/class/net/{syn}/carrier').strip()
    r.check(f'{name}: four NETWORK_CHANGEs 0.5 s apart make one bounce',
            during == '0' and up == '1' and after == before + 2,
            f'carrier during {during} after {up}, carrier_changes {before} -> {after}')
    # No link: a network change does not bring the carrier up.
    v.set_link(False)
    g.sh('sleep 1')
    before = carrier_changes(g, syn)
    v.write('network_change', 1)
    g.sh('sleep 3')
    down = g.sh(f'cat /sys/class/net/{syn}/carrier').strip()
    after = carrier_changes(g, syn)
    v.set_link(True)
    g.sh('sleep 1')
    up = g.sh(f'cat /sys/class/net/{syn}/carrier').strip()
    r.check(f'{name}: a NETWORK_CHANGE with the link down leaves the carrier off; '
            'the link coming back brings it at once',
            down == '0' and after == before and up == '1',
            f'carrier {down} then {up}, carrier_changes {before} -> {after}')
    g.sh('kill $(cat /tmp/udhcpc.pid); pkill -f netmgr.sh; pkill -f "ip -ts monitor"; true')


@scenario('synthetic-nic')
def synthetic_nic(ctx: Context) -> None:
    """The synthetic NIC against the simulated host: identity, link, DHCP,
    ping and a TCP transfer through the vSwitch uplink, teardown."""
    r = ctx.report
    name = 'synthetic-nic'
    with ctx.guest(name, qemu_args=UPLINK_QEMU) as g:
        g.leak_baseline()
        classes = lockdep_classes(g)
        v, syn, up = synthetic_guest(g)
        r.check(f'{name}: vNIC registers as eth0', syn == 'eth0', f'got {syn!r}')
        addr = g.sh(f'cat /sys/class/net/{syn}/address').strip()
        r.check(f'{name}: MAC is the host\'s', addr == VNIC_MAC, addr)
        drv = g.sh(f'ethtool -i {syn}')
        r.check(f'{name}: ethtool -i says hv_netvsc', 'driver: hv_netvsc\n' in drv, drv)
        alias = g.sh(f'cat /sys/class/net/{syn}/ifalias').strip()
        r.check(f'{name}: the host\'s friendly name is the ifalias', alias == FRIENDLY_NAME, alias)
        want = (f'{syn}: host offloads: tcp4 udp4 tcp6 udp6 checksum, LSOv2 v4 62780 v6 62780; '
                'in use: tx checksum tcp4 udp4 tcp6 udp6, rx checksum, TSO v4 v6 up to 62780')
        r.check(f'{name}: probe reads the host\'s offload capabilities and turns them on',
                any(want in l for l in g.console_since(0)),
                '\n'.join(l for l in g.console_since(0) if 'offload' in l))
        g.sh(f'ip link set {syn} up')
        g.sh('sleep 1')
        r.check(f'{name}: carrier up', g.sh(f'cat /sys/class/net/{syn}/carrier').strip() == '1')
        v.set_link(False)
        g.sh('sleep 1')
        r.check(f'{name}: host link down seen',
                g.sh(f'cat /sys/class/net/{syn}/carrier').strip() == '0')
        v.set_link(True)
        g.sh('sleep 1')
        r.check(f'{name}: host link up seen',
                g.sh(f'cat /sys/class/net/{syn}/carrier').strip() == '1')
        link_speed_checks(r, name, g, v, syn)

        g.sh(f"printf '%s\\n' '#!/bin/sh' '{UDHCPC_SCRIPT}' > /tmp/udhcpc.sh; chmod +x /tmp/udhcpc.sh")
        rc, out = g.run(f'udhcpc -i {syn} -n -q -t 5 -T 2 -s /tmp/udhcpc.sh', timeout=60)
        ip = g.sh(f'ip -4 -br addr show {syn}')
        r.check(f'{name}: DHCP through the uplink gives 10.0.2.15',
                rc == 0 and '10.0.2.15/' in ip, out + ip)
        rc, out = g.run('ping -c 20 -i 0.2 -W 2 10.0.2.2', timeout=60)
        r.check(f'{name}: ping gateway, 0% loss', rc == 0 and ' 0% packet loss' in out, out)
        network_change_checks(r, name, g, v, syn)
        now = lockdep_classes(g)
        r.check(f'{name}: {syn} has lock classes of its own (netdev_lockdep_set_classes)',
                now > classes, f'{classes} -> {now} classes named {LOCKDEP_CLASSES}')
        feats = g.sh(f'ethtool -k {syn}')
        r.check(f'{name}: ethtool -k shows checksum offload and TSO on',
                all(f'{k}: on' in feats for k in ('rx-checksumming', 'tx-checksumming',
                                                   'tcp-segmentation-offload', 'scatter-gather')),
                feats)
        before, host_before = ethtool_stats(g, syn), v.stats()
        tcp_transfer(g, r, name, syn)
        offload_counts(r, name, 'TSO', before, ethtool_stats(g, syn), host_before, v.stats())
        offload_modes(g, r, name, v, syn)
        stats = g.sh(f'ethtool -S {syn}')
        r.check(f'{name}: ethtool -S counts the traffic',
                re.search(r'^\s*tx_packets: [1-9]', stats, re.M) is not None
                and re.search(r'^\s*rx_packets: [1-9]', stats, re.M) is not None, stats)
        mac_change(g, r, name, v, syn)
        receive_filter(g, r, name, v, syn)
        mark = g.mark()
        v.disable()
        rc, out = g.run(f'ip link show {syn}')
        r.check(f'{name}: disabling the vNIC removes {syn}', rc != 0, out)
        st = v.stats()
        r.check(f'{name}: teardown in Hyper-V\'s order (RNDIS HALT, revoke, close, GPADLs)',
                st['teardown_errors'] == 0,
                '\n'.join(l for l in g.console_since(mark) if 'teardown' in l))
        friendly_name_default(g, r, name, v)
        # As upstream, only an NVSP 5+ host is asked for the link speed.
        v.write('max_nvsp_version', '4')
        asked = v.stats()['link_speed_queries']  # counted since the vNIC was made
        v.enable()
        ifname = v.netdev() or 'eth0'
        g.sh(f'ip link set {ifname} up')
        speed = g.sh(f'cat /sys/class/net/{ifname}/speed 2>&1; true').strip()
        eth = g.sh(f'ethtool {ifname} 2>&1; true')
        st = v.stats()
        v.disable()
        v.write('max_nvsp_version', '6.1')
        r.check(f'{name}: an NVSP 4 host is not asked OID_GEN_LINK_SPEED; speed unknown',
                str(st.get('nvsp_version')) == '4' and st['link_speed_queries'] == asked
                and speed == '-1' and 'Speed: Unknown!' in eth,
                f'nvsp {st.get("nvsp_version")} queries {asked} -> {st["link_speed_queries"]} '
                f'speed {speed}\n{eth}')
        # A host that keeps a GPADL mapped keeps its memory: the driver
        # says so and never frees it (kmemleak is told, see below).
        v.write('gpadl_teardown_fail', 1)
        v.enable()
        mark = g.mark()
        v.disable()
        r.check(f'{name}: a GPADL the host keeps keeps its pages',
                v.stats()['gpadl_teardown_failed'] == 1
                and any(re.search(r'GPADL \d+ teardown failed .*: its \d+ bytes stay allocated', l)
                        for l in g.console_since(mark)),
                '\n'.join(g.console_since(mark)[-10:]))
        v.remove()
        g.sh('rmmod hv_netvsc_sim')
        g.sh('rmmod hv_netvsc_rs')
        leaks = g.leaks()
        r.check(f'{name}: kmemleak finds nothing', not leaks, '\n'.join(leaks))
    check_clean(ctx, name, g)
from . import scenarios_robust  # noqa: E402,F401
from . import scenarios_vf  # noqa: E402,F401
from . import scenarios_vlan  # noqa: E402,F401
from . import scenarios_emu  # noqa: E402,F401
from . import ksft  # noqa: E402,F401
