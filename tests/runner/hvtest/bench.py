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
"""

import os
import re
import time

from . import sim
from .guest import Guest

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
        stats = v.stats()
        v.disable()
        v.remove()
    splats = g.splats()
    print('\nPackets per second under QEMU TCG, one run (ratios are what count):')
    print(f'{"path":<10} {"synthetic":>12} {"veth":>12} {"ratio":>8}')
    for name, a, b in rows:
        print(f'{name:<10} {a:>12.0f} {b:>12.0f} {a / b if b else 0:>8.3f}')
    print(f'\nsimulated host: {stats}')
    for s in splats:
        print('SPLAT: ' + s)
    return 1 if splats else 0
