# SPDX-License-Identifier: GPL-2.0
"""`make bench`: packet rates through the synthetic path, as ratios to a veth
pair measured in the same guest and the same run (machines are noisy: only
ratios from one run mean something).

TX: kernel pktgen transmits on eth0 (the synthetic NIC): frames go through
the driver's send sections to the simulated host, which forwards them out
of its uplink. RX: pktgen transmits on one end of a veth pair whose other
end is the simulated host's uplink, addressed to the vNIC's MAC: the host
copies them into the receive buffer and the driver's NAPI poll delivers
them. The reference is a second veth pair: pktgen on one end, frames
counted on the other.

`run_vf` boots a second guest for the VF path: failover timing and loss
across a planned removal, and TX through eth0 on the VF against the VF
alone, beside the same ratio for upstream's net_failover on the same QEMU.
"""

import json
import os
import re
import time

from . import sim
from .guest import Guest, ping_summary

VNIC_MAC = '00:15:5d:be:nc:01'.replace('nc', '0c')
COUNT = 20000
SIZES = (60, 1514)  # Ethernet frame without FCS: 64 and 1518 on the wire


def _pktgen(g: Guest, dev: str, count: int, size: int, dst_mac: str) -> float:
    """Transmit `count` frames of `size` bytes on `dev`; pktgen's own pps."""
    ctl = '/proc/net/pktgen'
    g.sh(f'echo rem_device_all > {ctl}/kpktgend_0')
    g.sh(f'echo add_device {dev} > {ctl}/kpktgend_0')
    for cmd in (f'count {count}', f'pkt_size {size}', 'delay 0', 'clone_skb 0',
                f'dst_mac {dst_mac}', 'dst 10.0.2.99', 'flag NO_TIMESTAMP'):
        g.sh(f'echo "{cmd}" > {ctl}/{dev}')
    g.sh(f'echo start > {ctl}/pgctrl', timeout=600)
    out = g.sh(f'cat {ctl}/{dev}')
    m = re.search(r'(\d+)pps', out)
    if not m:
        raise RuntimeError(f'pktgen gave no rate:\n{out}')
    return float(m.group(1))


def _rx_rate(g: Guest, tx_dev: str, rx_dev: str, count: int, size: int, dst_mac: str) -> float:
    """Frames per second that arrive on `rx_dev` while pktgen sends on
    `tx_dev`; waits for the receiver to settle."""
    stat = f'/sys/class/net/{rx_dev}/statistics/rx_packets'
    before = int(g.sh(f'cat {stat}'))
    t0 = time.monotonic()
    _pktgen(g, tx_dev, count, size, dst_mac)
    last, now = -1, int(g.sh(f'cat {stat}'))
    while now != last:
        time.sleep(0.5)
        last, now = now, int(g.sh(f'cat {stat}'))
    secs = time.monotonic() - t0
    return (now - before) / secs, now - before


TCP_SECONDS = 5
TCP_MODES = (('TSO (LSOv2)', 'tx on tso on'), ('checksum only', 'tso off'),
             ('no offload', 'tx off'))


def _tcp_rates(g: Guest, syn: str, uplink_peer: str) -> list:
    """iperf3 from the guest's synthetic NIC to a peer namespace behind the
    simulated host's uplink, once per offload mode (`ethtool -K`): the
    stream's rate in Mbit/s and the host's work per mode."""
    g.sh('mkdir -p /run; mount -t tmpfs none /run 2>/dev/null; ip netns add peer; '
         f'ip link set {uplink_peer} netns peer; '
         f'ip -n peer addr add 10.9.0.2/24 dev {uplink_peer}; '
         f'ip -n peer link set {uplink_peer} up; ip -n peer link set lo up; '
         f'ip addr add 10.9.0.1/24 dev {syn}')
    rows = []
    for label, flags in TCP_MODES:
        g.sh(f'ethtool -K {syn} {flags}')
        g.sh('ip netns exec peer iperf3 -s -1 -D; sleep 1')
        out = g.sh(f'iperf3 -c 10.9.0.2 -t {TCP_SECONDS} -J', timeout=120)
        try:
            bps = json.loads(out)['end']['sum_received']['bits_per_second']
        except (ValueError, KeyError) as e:
            raise RuntimeError(f'iperf3 gave no rate ({e}):\n{out[-2000:]}')
        rows.append((label, bps / 1e6))
    g.sh(f'ethtool -K {syn} tx on tso on')
    return rows


def run(kdir: str, modules: dict, workdir: str) -> int:
    rows = []
    with Guest(kdir, workdir, modules) as g:
        sim.load(g)
        v = sim.Vnic(g, 'bench0', mac=VNIC_MAC, serial=1)
        v.enable()
        syn = v.netdev()
        g.sh('modprobe veth; modprobe pktgen')
        g.sh('ip link add upA type veth peer name upB; ip link add refA type veth peer name refB')
        for d in ('upA', 'upB', 'refA', 'refB', syn):
            g.sh(f'ip link set {d} up')
        g.sh('ip link set upB promisc on')
        v.set_uplink('upB')
        g.sh('sleep 1')
        for size in SIZES:
            tx_syn = _pktgen(g, syn, COUNT, size, '52:54:00:00:00:01')
            tx_ref = _pktgen(g, 'refA', COUNT, size, '52:54:00:00:00:01')
            rows.append((f'TX {size + 4}B', tx_syn, tx_ref))
            rx_syn, n_syn = _rx_rate(g, 'upA', syn, COUNT, size, VNIC_MAC)
            refb = g.sh('cat /sys/class/net/refB/address').strip()
            rx_ref, n_ref = _rx_rate(g, 'refA', 'refB', COUNT, size, refb)
            rows.append((f'RX {size + 4}B', rx_syn, rx_ref))
            print(f'  (RX {size + 4}B: {n_syn} of {COUNT} frames reached {syn}, '
                  f'{n_ref} reached refB)')
        tcp = _tcp_rates(g, syn, 'upA')
        stats = v.stats()
        v.disable()
        v.remove()
    splats = g.splats()
    print('\nPackets per second under QEMU TCG, one run (ratios are what count):')
    print(f'{"path":<10} {"synthetic":>12} {"veth":>12} {"ratio":>8}')
    for name, a, b in rows:
        print(f'{name:<10} {a:>12.0f} {b:>12.0f} {a / b if b else 0:>8.3f}')
    base = tcp[-1][1]
    print(f'\nTCP stream {syn} -> peer behind the host\'s uplink, iperf3 {TCP_SECONDS} s each '
          '(Mbit/s; ratio to no offload):')
    for name, mbps in tcp:
        print(f'{name:<14} {mbps:>10.1f} {mbps / base if base else 0:>8.2f}')
    print(f'\nsimulated host: {stats}')
    for s in splats:
        print('SPLAT: ' + s)
    return 1 if splats else 0


# -- the VF path ------------------------------------------------------------------

NF_MAC = '52:54:00:00:0f:0f'
# Our VF (e1000e, slot 1) as in the VF scenarios, plus upstream's failover
# pair on the same QEMU: a virtio-net STANDBY device and an e1000e primary
# that QEMU plugs once the guest acknowledges the STANDBY feature.
BENCH_VF_QEMU = [
    '-netdev', 'hubport,id=hp4,hubid=0', '-netdev', 'hubport,id=hp5,hubid=0',
    '-device', 'pcie-root-port,id=rp3,chassis=3,slot=3',
    '-device', 'pcie-root-port,id=rp4,chassis=4,slot=4',
    '-device', f'virtio-net-pci,netdev=hp4,id=standby0,failover=on,mac={NF_MAC},bus=rp3',
    '-device', f'e1000e,netdev=hp5,id=primary0,failover_pair_id=standby0,mac={NF_MAC},bus=rp4',
]
VF_COUNT = 20000
PING_INTERVAL = 0.01


def _paired(g: Guest, stacked: str, alone: str, rounds: int = 3):
    """TX pps of `stacked` and `alone`, measured alternately `rounds` times;
    the medians (TCG rates drift from one second to the next)."""
    a, b = [], []
    for _ in range(rounds):
        a.append(_pktgen(g, stacked, VF_COUNT, 60, '52:54:00:00:00:01'))
        b.append(_pktgen(g, alone, VF_COUNT, 60, '52:54:00:00:00:01'))
    return sorted(a)[rounds // 2], sorted(b)[rounds // 2]


def _stamp(line: str) -> float:
    m = re.match(r'\[\s*(\d+\.\d+)\]', line)
    return float(m.group(1)) if m else 0.0


def _driver_of(g: Guest, dev: str) -> str:
    out = g.sh(f'ethtool -i {dev}')
    m = re.search(r'^driver: (\S+)', out, re.M)
    return m.group(1) if m else ''


def run_vf(kdir: str, modules: dict, workdir: str) -> int:
    """Loss and synthetic-only time across a planned VF removal; TX pps
    through eth0 on the VF path against the VF alone; the same ratio for
    upstream's net_failover master against its primary."""
    from .scenarios_vf import (VF_QEMU, VNIC_MAC as VF_MAC, add_vf, bring_up,
                               del_vf, ifname_with_mac, service_out)
    with Guest(kdir, workdir, modules, qemu_args=VF_QEMU + BENCH_VF_QEMU) as g:
        g.sh('modprobe pktgen; modprobe e1000e')
        v, syn, rc, out = bring_up(g)
        if rc != 0:
            raise RuntimeError(f'DHCP on {syn} failed:\n{out}')
        v.announce_vf()
        mark = g.mark()
        add_vf(g, driver='e1000e')
        switched = g.wait_console(r'Data path switched to VF: ', mark, 60)
        plug_to_vf = _stamp(switched) - _stamp(g.wait_console(r'VF registering: ', mark))

        # Planned removal and immediate re-add under a 100 pps ping.
        g.sh(f'(ping -i {PING_INTERVAL} -W 1 10.0.2.2 > /tmp/bench-ping.out 2>&1 & '
             'echo $! > /tmp/bench-ping.pid)')
        time.sleep(2)
        out_mark = g.mark()
        service_out(g, v, out_mark)
        v.announce_vf()
        add_vf(g, driver='e1000e')
        line_back = g.wait_console(r'Data path switched to VF: ', out_mark, 60)
        line_from = g.wait_console(r'Data path switched from VF: ', out_mark)
        synthetic_secs = _stamp(line_back) - _stamp(line_from)
        time.sleep(2)
        g.sh('kill -INT $(cat /tmp/bench-ping.pid); sleep 1')
        ping = g.sh('cat /tmp/bench-ping.out')
        sent, got = ping_summary(ping) or (0, 0)
        vf = ifname_with_mac(g, VF_MAC, exclude=syn)

        # TX: eth0 on the VF path vs the VF itself.
        tx_syn, tx_vf = _paired(g, syn, vf)

        # Upstream: the net_failover master vs its e1000e primary.
        master = primary = ''
        for line in g.sh('ls /sys/class/net').split():
            if line == 'lo':
                continue
            if g.sh(f'cat /sys/class/net/{line}/address').strip() != NF_MAC:
                continue
            drv = _driver_of(g, line)
            if drv == 'net_failover':
                master = line
            elif drv == 'e1000e':
                primary = line
        tx_nf = tx_primary = 0.0
        if master and primary:
            g.sh(f'ip link set {master} up; sleep 3')
            tx_nf, tx_primary = _paired(g, master, primary)
        counters = g.sh(f'ethtool -S {syn} | grep " vf_"')
        del_vf(g)
        g.wait_console(r'VF unregistering: ', out_mark, 60)
        v.disable()
        v.remove()
    splats = g.splats()
    print('\nVF path under QEMU TCG, one run:')
    print(f'  VF registered -> data path on the VF: {plug_to_vf:.3f} s')
    print(f'  planned removal and immediate re-add: {sent - got} of {sent} pings lost '
          f'(every {PING_INTERVAL * 1000:.0f} ms); data path synthetic for {synthetic_secs:.3f} s')
    print(f'{"64B TX pps (median of 3)":<34} {"stacked":>10} {"alone":>10} {"ratio":>7}')
    print(f'{"ours: eth0 on the VF / e1000e VF":<34} {tx_syn:>10.0f} {tx_vf:>10.0f} '
          f'{tx_syn / tx_vf if tx_vf else 0:>7.3f}')
    if master and primary:
        print(f'{"net_failover master / e1000e":<34} {tx_nf:>10.0f} {tx_primary:>10.0f} '
              f'{tx_nf / tx_primary if tx_primary else 0:>7.3f}')
    else:
        print('  upstream net_failover pair not found (QEMU did not plug the primary)')
    print(counters)
    for s in splats:
        print('SPLAT: ' + s)
    return 1 if splats or not (master and primary) else 0
