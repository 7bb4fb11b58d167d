# SPDX-License-Identifier: GPL-2.0
"""Accelerated Networking scenarios: a VF hot-plugged over QMP into the PCIe
slot whose number is the serial the simulated host announces."""

import os
import re
import time
from typing import Dict, Tuple

from . import sim
from .guest import Guest, ping_summary
from .hostnet import TcpSink, private_tap_fds
from .scenarios import (Context, UDHCPC_SCRIPT, check_clean, check_console, ethtool_stats,
                        scenario)
from .scenarios_vlan import GUEST_IP, PEER_IP, VID, add_guest_vlan, add_vlan_peer

VNIC_MAC = '00:15:5d:00:0f:01'
UPLINK_MAC = '52:54:00:00:00:fe'
# One QEMU user network behind a hub: the simulated host's uplink and the VF
# reach the same gateway, so connections survive data-path switches.
VF_QEMU = [
    '-netdev', 'user,id=u0', '-netdev', 'hubport,id=hp0,hubid=0,netdev=u0',
    '-netdev', 'hubport,id=hp1,hubid=0', '-netdev', 'hubport,id=hp2,hubid=0',
    '-netdev', 'hubport,id=hp3,hubid=0',
    '-device', f'virtio-net-pci,netdev=hp1,mac={UPLINK_MAC}',
    '-device', 'pcie-root-port,id=rp1,chassis=1,slot=1',
    '-device', 'pcie-root-port,id=rp2,chassis=2,slot=2',
]
# vf-hotplug's tagged peer: a NIC on the same hub, its VLAN interface in
# namespace `peer` (the hub carries tags; QEMU's user network ignores them).
PEER_MAC = '52:54:00:00:00:fd'
VF_QEMU_PEER = VF_QEMU + ['-netdev', 'hubport,id=hp4,hubid=0',
                          '-device', f'virtio-net-pci,netdev=hp4,mac={PEER_MAC}']
IFF_SLAVE = 0x800
# A uevent listener (busybox `uevent`) that records each new net device's
# flags as read from sysfs when its "add" event arrives.
UEVENT_SCRIPT = ('[ "$SUBSYSTEM" = net ] && [ "$ACTION" = add ] && '
                 'echo "$INTERFACE $(cat /sys/class/net/$INTERFACE/flags)" >> /tmp/ue.log')
SEED_ORDER = ['VF slot 1 added', 'VF registering: ', 'joined to eth0',
              'Data path switched to VF: ', 'Data path switched from VF: ',
              'VF unregistering: ', 'VF slot 1 removed']


def ifname_with_mac(g: Guest, mac: str, exclude: str = '') -> str:
    out = g.sh('for d in /sys/class/net/*; do echo "$(basename $d) $(cat $d/address)"; done')
    for line in out.splitlines():
        name, _, addr = line.partition(' ')
        if addr.strip() == mac and name != exclude:
            return name
    return ''


def bring_up(g: Guest, load_driver: bool = True):
    """Driver (unless already loaded) and simulator loaded, vNIC 'vnic0'
    (serial 1) registered and up, the simulated host's uplink attached, DHCP
    run on it. Returns (vnic, synthetic ifname, udhcpc status, output)."""
    sim.load(g, driver=load_driver)
    v = sim.Vnic(g, 'vnic0', mac=VNIC_MAC, serial=1)
    v.enable()
    syn = v.netdev()
    g.sh('modprobe virtio_net')
    up = ifname_with_mac(g, UPLINK_MAC)
    g.sh(f'ip link set {up} promisc on up')
    v.set_uplink(up)
    g.sh(f'ip link set {syn} up')
    g.sh(f"printf '%s\\n' '#!/bin/sh' '{UDHCPC_SCRIPT}' > /tmp/udhcpc.sh; chmod +x /tmp/udhcpc.sh")
    rc, out = g.run(f'udhcpc -i {syn} -n -q -t 5 -T 2 -s /tmp/udhcpc.sh', timeout=60)
    return v, syn, rc, out


def add_vf(g: Guest, bus: str = 'rp1', dev_id: str = 'vf1', netdev: str = 'hp2',
           mac: str = VNIC_MAC, driver: str = 'virtio-net-pci', **props) -> None:
    """Hot-plug a VF (a QEMU NIC, virtio-net by default) into root port
    `bus`, waiting for QEMU to finish an earlier unplug of the same id
    (device_del is asynchronous). `props` are further device properties."""
    deadline = time.monotonic() + 30
    while True:
        try:
            g.qmp('device_add', driver=driver, bus=bus, id=dev_id,
                  netdev=netdev, mac=mac, **props)
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def del_vf(g: Guest, dev_id: str = 'vf1') -> None:
    """Hot-unplug `dev_id` (an attention-button press), retried while QEMU
    refuses because the guest's hot-plug controller is busy: pciehp blinks
    the slot's power indicator while it powers the slot on, which can still
    be the case when the VF's driver has already bound and joined.

    A busy slot can also be one the guest is powering off by itself: QEMU
    signals a hot-add as presence change plus attention button, and when
    pciehp happens to take the button after it has powered the new card on,
    it starts the five-second power-off of a button press. The unplug we
    asked for then happens without us; the device disappearing while we
    wait is success, not an error."""
    deadline = time.monotonic() + 30
    refused = False
    while True:
        try:
            g.qmp('device_del', id=dev_id)
            return
        except Exception as e:
            if refused and 'not found' in str(e):
                return
            if 'busy' not in str(e) or time.monotonic() > deadline:
                raise
            refused = True
            time.sleep(0.5)


def service_out(g: Guest, v, mark: int, dev_id: str = 'vf1', serial: int = 1) -> None:
    """Host servicing, first half: the VF is hot-unplugged, then withdrawn."""
    del_vf(g, dev_id)
    g.wait_console(r'VF unregistering: ', mark, 60)
    v.withdraw_vf()
    g.wait_console(rf'VF slot {serial} removed', mark, 20)


def service_in(g: Guest, v, mark: int, **vf) -> None:
    """Host servicing, second half: the VF is announced again and
    hot-plugged; returns once the data path is on it."""
    v.announce_vf()
    add_vf(g, **vf)
    g.wait_console(r'Data path switched to VF: ', mark, 60)


def data_path(g: Guest, syn: str) -> str:
    """The driver's own account: /sys/class/net/<syn>/hv_netvsc/data_path."""
    rc, out = g.run(f'cat /sys/class/net/{syn}/hv_netvsc/data_path')
    return out.strip() if rc == 0 else f'(unreadable: {out.strip()})'


def unload(g: Guest, r, name: str, v) -> None:
    """Remove the vNIC, unload simulator and driver; kmemleak finds nothing."""
    v.disable()
    v.remove()
    g.sh('rmmod hv_netvsc_sim; rmmod hv_netvsc_rs')
    leaks = g.leaks()
    r.check(f'{name}: kmemleak finds nothing', not leaks, '\n'.join(leaks))


def ifname_with_mac_in(g: Guest, ns: str, mac: str, exclude: str = '') -> str:
    """`ifname_with_mac` in network namespace `ns`."""
    out = g.sh(f"ip netns exec {ns} sh -c 'for d in /sys/class/net/*; do "
               f"echo \"$(basename $d) $(cat $d/address)\"; done'")
    for line in out.splitlines():
        n, _, addr = line.partition(' ')
        if addr.strip() == mac and n != exclude:
            return n
    return ''


MQ_QUEUES = 2


def vf_queue_tx(g: Guest, pre: str, vf: str) -> Tuple[Dict[int, int], str]:
    """Per-queue transmit counters of a virtio-net VF from `ethtool -S`,
    and the raw output: packets where the driver lists them, otherwise
    its notifications to the device per queue (`tx<N>_kicks`: 7.3's
    virtio-net reports per-queue packets only through netlink qstats)."""
    out = g.sh(f'{pre}ethtool -S {vf}')
    for pat in (r'^\s*tx_queue_(\d+)_packets: (\d+)$', r'^\s*tx(\d+)_kicks: (\d+)$'):
        found = {int(q): int(n) for q, n in re.findall(pat, out, re.M)}
        if found:
            return found, out
    return {}, out


def mq_vf_in_netns(g: Guest, r, name: str, v, syn: str, ns: str) -> None:
    """With `syn` in namespace `ns`, the VF is serviced out and a
    multi-queue one (virtio-net, 2 queue pairs on a tap of the runner's
    own, in a namespace of its own) hot-plugged: it registers in the
    initial namespace, is moved into `ns` and joins there. Then traffic to
    32 destinations through `syn` leaves on more than one of its queues:
    the VF picks them itself (XPS cleared on it, as on a VF without XPS
    maps such as MANA, so the flow hash decides)."""
    service_out(g, v, g.mark())
    fds = private_tap_fds(MQ_QUEUES)
    try:
        for i, fd in enumerate(fds):
            g.qmp_getfd(fd, f'mqfd{i}')
    finally:
        for fd in fds:
            os.close(fd)
    g.qmp('netdev_add', type='tap', id='mq0',
          fds=':'.join(f'mqfd{i}' for i in range(MQ_QUEUES)), vhost=False)
    back = g.mark()
    v.announce_vf()
    add_vf(g, netdev='mq0', mq=True, vectors=2 * MQ_QUEUES + 2)
    label = (f'{name}: a VF hot-plugged while {syn} lives in {ns} is moved into {ns}, '
             f'enslaved there, and carries the data path')
    try:
        g.wait_console(r'Data path switched to VF: ', back, 60)
    except Exception as e:
        r.check(label, False, f'{e}\n' + '\n'.join(g.console_since(back)[-30:]))
        return
    outside = ifname_with_mac(g, VNIC_MAC)
    vf = ifname_with_mac_in(g, ns, VNIC_MAC, exclude=syn)
    links = g.sh(f'ip -n {ns} -d link show')
    dp = g.sh(f'ip netns exec {ns} cat /sys/class/net/{syn}/hv_netvsc/data_path').strip()
    moved = any('Moved VF to namespace with: ' in l for l in g.console_since(back))
    r.check(label, not outside and bool(vf) and f'master {syn}' in links and 'SLAVE' in links
            and dp == 'vf' and moved,
            f'VF outside {ns}: {outside!r}\n{links}\ndata_path {dp}\n'
            + '\n'.join(g.console_since(back)[-20:]))
    # The VF's queues, wherever it is (in the initial namespace on a driver
    # that does not move it).
    pre = f'ip netns exec {ns} ' if vf else ''
    vf = vf or outside
    g.sh(f"{pre}sh -c 'for q in /sys/class/net/{vf}/queues/tx-*; do echo 0 > $q/xps_cpus; done'")
    chans = g.sh(f'{pre}ethtool -l {vf}')
    g.sh(f'ip -n {ns} addr add 192.0.2.1/24 dev {syn}; '
         f'ip -n {ns} neigh replace 192.0.2.2 lladdr 02:00:00:00:00:02 dev {syn} nud permanent; '
         f'ip -n {ns} route add 198.51.100.0/24 via 192.0.2.2')
    before, _ = vf_queue_tx(g, pre, vf)
    g.run(f"ip netns exec {ns} sh -c 'for i in $(seq 1 32); do "
          f"ping -c 2 -i 0.3 -W 1 198.51.100.$i >/dev/null 2>&1 & done; wait'", timeout=120)
    after, raw = vf_queue_tx(g, pre, vf)
    delta = {q: after[q] - before.get(q, 0) for q in after}
    used = [q for q, d in delta.items() if d >= 2]
    r.check(f'{name}: traffic through {syn} leaves on more than one of the VF\'s '
            f'{MQ_QUEUES} queues, as the VF picks them (per queue {delta})',
            len(used) >= 2, f'{chans}\n{raw}')


def vf_counters(g: Guest, dev: str) -> dict:
    return {k: v for k, v in ethtool_stats(g, dev).items() if k.startswith('vf_')}


def vf_vlan_table(g: Guest, dev_id: str = 'vf1'):
    """The VLAN ids QEMU's virtio-net VF `dev_id` accepts (query-rx-filter).
    QEMU starts with every id allowed; the guest driver's VLAN_DEL (from
    vlan_vid_del on the VF) clears one."""
    resp = g.qmp('query-rx-filter', name=dev_id)
    filt = resp.get('return', resp) if isinstance(resp, dict) else resp
    entry = filt[0] if isinstance(filt, list) and filt else {}
    return entry.get('vlan'), set(entry.get('vlan-table', []))


def vlan_ping(r, g: Guest, v, syn: str, label: str, via_vf: bool = True) -> None:
    """Pings both ways between the VLAN interface over `syn` and the tagged
    peer. On the VF path through the VF (its counters rise), not the host
    (no tagged guest frame reaches it); on the synthetic path through the
    host, the tags as 802.1Q info, out on its (virtio) uplink."""
    before, hb = vf_counters(g, syn), v.stats()
    rc, out = g.run(f'ping -c 10 -i 0.2 -W 2 {PEER_IP}', timeout=60)
    rc2, out2 = g.run(f'ip netns exec peer ping -c 10 -i 0.2 -W 2 {GUEST_IP}', timeout=60)
    after, ha = vf_counters(g, syn), v.stats()
    tx = after.get('vf_tx_packets', 0) - before.get('vf_tx_packets', 0)
    rx = after.get('vf_rx_packets', 0) - before.get('vf_rx_packets', 0)
    htx, hrx = ha['tx_vlan'] - hb['tx_vlan'], ha['rx_vlan'] - hb['rx_vlan']
    pinged = rc == 0 and ' 0% packet loss' in out and rc2 == 0 and ' 0% packet loss' in out2
    if via_vf:
        r.check(f'{label} a VLAN interface over {syn} reaches the tagged peer both ways '
                f'through the VF (vf_tx +{tx}, vf_rx +{rx})',
                pinged and tx >= 20 and rx >= 20 and htx == 0,
                f'{out}\n{out2}\nhost tx_vlan +{htx}')

    else:
        r.check(f'{label} a VLAN interface over {syn} reaches the tagged peer both ways '
                f'through the host (tx_vlan +{htx}, rx_vlan +{hrx})',
                pinged and htx >= 20 and hrx >= 20
                and ha['tx_vlan_inline'] == hb['tx_vlan_inline'],
                f'{out}\n{out2}\nhost {hb} -> {ha}')


@scenario('vf-hotplug')
def vf_hotplug(ctx: Context) -> None:
    """The seed document's story: VF announced and hot-added into slot 1,
    enslaved, data path switched; removed (servicing) with traffic running,
    back on synthetic; log lines in the seed's order."""
    r = ctx.report
    name = 'vf-hotplug'
    with ctx.guest(name, qemu_args=VF_QEMU_PEER) as g:
        g.leak_baseline()
        v, syn, rc, out = bring_up(g)
        r.check(f'{name}: DHCP on {syn}', rc == 0, out)
        add_vlan_peer(g, ifname_with_mac(g, PEER_MAC))
        mark = g.mark()

        v.announce_vf()
        g.wait_console(r'VF slot 1 added', mark, 20)

        # The right MAC in the wrong slot (2, not the announced 1): left alone.
        g.qmp('device_add', driver='virtio-net-pci', bus='rp2', id='vfx', netdev='hp3',
              mac=VNIC_MAC)
        line = g.wait_console(r'is not VF slot 1', mark, 60)
        wrong = ifname_with_mac(g, VNIC_MAC, exclude=syn)
        link = g.sh(f'ip -d link show {wrong}') if wrong else ''
        r.check(f'{name}: a VF with the MAC in slot 2 is not enslaved',
                bool(wrong) and 'SLAVE' not in link and 'master' not in link, line + '\n' + link)
        del_vf(g, 'vfx')
        g.sh(f'for i in $(seq 100); do [ -e /sys/class/net/{wrong} ] || exit 0; sleep 0.2; done; exit 1')

        g.sh(f"printf '%s\\n' '#!/bin/sh' '{UEVENT_SCRIPT}' > /tmp/ue.sh; chmod +x /tmp/ue.sh; "
             ': > /tmp/ue.log; (uevent /tmp/ue.sh >/dev/null 2>&1 &)')
        # The VF tells its own link speed (virtio-net's speed/duplex
        # properties): eth0 reports it while the VF is joined, as upstream.
        g.qmp('device_add', driver='virtio-net-pci', bus='rp1', id='vf1', netdev='hp2',
              mac=VNIC_MAC, speed=25000, duplex='full')
        try:
            g.wait_console(r'Data path switched to VF: ', mark, 60)
        except Exception as e:  # reported below with the console
            r.check(f'{name}: data path switched to the VF', False,
                    f'{e}\n' + '\n'.join(g.console_since(mark)[-40:]))
            return
        vf = ifname_with_mac(g, VNIC_MAC, exclude=syn)
        link = g.sh(f'ip -d link show {vf}')
        r.check(f'{name}: VF {vf} is a SLAVE of {syn}',
                'SLAVE' in link and f'master {syn}' in link, link)
        addrs = g.sh(f'ip -4 -br addr show {vf}; ip -6 -br addr show {vf} scope global')
        r.check(f'{name}: no address on the VF', addrs.strip() in ('', f'{vf} UP'), addrs)
        ue = g.sh('cat /tmp/ue.log')
        flags = [int(f, 16) for n, f in (l.split() for l in ue.splitlines() if l.strip())
                 if n == vf]
        r.check(f'{name}: a uevent listener sees IFF_SLAVE on the VF\'s "add" event',
                bool(flags) and all(f & IFF_SLAVE for f in flags), ue)
        # An MTU change re-initialises the channel (the host takes the NDIS
        # MTU only after INIT); the new channel routes synthetically until
        # the driver switches the data path to the VF again.
        mtu_mark = g.mark()
        g.sh(f'ip link set {syn} mtu 1400')
        vf_mtu = g.sh(f'cat /sys/class/net/{vf}/mtu').strip()
        r.check(f'{name}: an MTU change on {syn} reaches the VF', vf_mtu == '1400', vf_mtu)
        st = v.stats()
        # 1414 is below the smallest NDIS MTU: the host keeps 1514, which
        # carries 1400.
        switched = [l for l in g.console_since(mtu_mark) if 'Data path switched to VF: ' in l]
        r.check(f'{name}: after the channel reset the data path is on the VF again '
                '(switched anew; driver and host agree)',
                data_path(g, syn) == 'vf' and st.get('data_path') == 'vf'
                and st.get('ndis_mtu') == 1514 and len(switched) == 1,
                '\n'.join(g.console_since(mtu_mark)[-20:]) + f'\nhost: {st}')
        g.sh(f'ip link set {syn} mtu 1500')
        st = v.stats()
        r.check(f'{name}: back to MTU 1500 (NDIS 1514), still on the VF',
                st.get('ndis_mtu') == 1514 and st.get('data_path') == 'vf'
                and data_path(g, syn) == 'vf', str(st))
        # MAC address and receive mode follow eth0 onto the VF.
        g.sh(f'ip link set {syn} address 00:15:5d:00:0f:99')
        vf_mac = g.sh(f'cat /sys/class/net/{vf}/address').strip()
        r.check(f'{name}: a MAC change on {syn} reaches the VF and the host',
                vf_mac == '00:15:5d:00:0f:99'
                and v.stats().get('current_mac') == '00:15:5d:00:0f:99', vf_mac)
        g.sh(f'ip link set {syn} address {VNIC_MAC}; ip neigh flush dev {syn}')
        g.sh(f'ip link set {syn} promisc on; ip maddr add 01:00:5e:01:02:03 dev {syn}')
        promisc = g.sh(f'ip -d link show {vf}')
        maddr = g.sh(f'ip maddr show dev {vf}')
        r.check(f'{name}: promiscuous mode on {syn} reaches the VF',
                re.search(r'promiscuity [1-9]', promisc) is not None, promisc)
        r.check(f'{name}: a multicast address on {syn} reaches the VF',
                '01:00:5e:01:02:03' in maddr, maddr)
        g.sh(f'ip link set {syn} promisc off; ip maddr del 01:00:5e:01:02:03 dev {syn}')
        promisc = g.sh(f'ip -d link show {vf}')
        maddr = g.sh(f'ip maddr show dev {vf}')
        r.check(f'{name}: ... and leaves it again',
                'promiscuity 0' in promisc and '01:00:5e:01:02:03' not in maddr,
                promisc + maddr)
        eth = g.sh(f'ethtool {syn}')
        speed = g.sh(f'cat /sys/class/net/{syn}/speed 2>&1; true').strip()
        r.check(f'{name}: while the VF is joined, ethtool {syn} and sysfs show the VF\'s speed '
                '(25000, full duplex)',
                'Speed: 25000Mb/s' in eth and 'Duplex: Full' in eth and speed == '25000',
                f'{eth}\nsysfs: {speed}')
        # As upstream, eth0's ethtool -s is the VF's while it is joined.
        rc, out = g.run(f'ethtool -s {syn} speed 10000 duplex half 2>&1')
        vf_eth, eth = g.sh(f'ethtool {vf}'), g.sh(f'ethtool {syn}')
        g.run(f'ethtool -s {syn} speed 25000 duplex full')
        r.check(f'{name}: ethtool -s {syn} speed 10000 duplex half sets the joined VF\'s',
                rc == 0 and all('Speed: 10000Mb/s' in x and 'Duplex: Half' in x
                                for x in (vf_eth, eth)), f'{out}\n{vf}: {vf_eth}\n{syn}: {eth}')
        drv = g.sh(f'ethtool -i {vf}')
        r.check(f'{name}: VF keeps its own driver', 'driver: virtio_net' in drv, drv)
        rc, out = g.run(f'ethtool -l {vf} && ethtool -L {vf} combined 1')
        r.check(f'{name}: ethtool -l/-L work on the enslaved VF itself',
                rc == 0 and 'Combined:' in out, out)
        before = vf_counters(g, syn)
        host_rx = v.stats()['rx_frames']
        rc, out = g.run('ping -c 20 -i 0.2 -W 2 10.0.2.2', timeout=60)
        after = vf_counters(g, syn)
        host_rx = v.stats()['rx_frames'] - host_rx
        r.check(f'{name}: on the VF path the host delivers no unicast synthetically '
                f'({host_rx} frames, broadcast/multicast only)', host_rx < 20, str(host_rx))
        r.check(f'{name}: ping over the VF path, 0% loss', rc == 0 and ' 0% packet loss' in out, out)
        r.check(f'{name}: vf_tx_packets rises with traffic',
                after.get('vf_tx_packets', 0) - before.get('vf_tx_packets', 0) >= 20,
                f'{before} -> {after}')
        r.check(f'{name}: vf_rx_packets rises with traffic',
                after.get('vf_rx_packets', 0) > before.get('vf_rx_packets', 0),
                f'{before} -> {after}')
        dp = data_path(g, syn)
        r.check(f'{name}: hv_netvsc/data_path reads "vf"', dp == 'vf', dp)
        # 802.1Q over the VF: the VLAN interface over eth0 reaches the tagged
        # peer through the VF, which tags in its own way and filters VLANs
        # (it was given VLAN 10 when it was added on eth0).
        vdev = add_guest_vlan(g, syn)
        vlan_ping(r, g, v, syn, f'{name}: on the VF path')

        # Host servicing under load: a paced TCP stream and a paced ping run
        # while the VF is unplugged, withdrawn, announced and plugged back.
        chunk, chunks = 256 << 10, 48
        g.sh(f'dd if=/dev/urandom of=/tmp/blob bs={chunk} count={chunks} 2>/dev/null')
        want = g.sh('sha256sum /tmp/blob').split()[0]
        sink = TcpSink(chunk * chunks, timeout=240)
        g.sh(f'((for i in $(seq 0 {chunks - 1}); do dd if=/tmp/blob bs={chunk} skip=$i count=1 '
             f'2>/dev/null; sleep 0.3; done | nc 10.0.2.2 {sink.port}) >/dev/null 2>&1 &)')
        g.sh('(ping -i 0.1 -c 250 -W 1 10.0.2.2 > /tmp/ping.out 2>&1 &)')
        time.sleep(2)
        service_out(g, v, mark)
        dp = data_path(g, syn)
        r.check(f'{name}: data_path reads "synthetic" while the VF is away', dp == 'synthetic', dp)
        rc, out = g.run('ping -c 3 -i 0.3 -W 2 10.0.2.2', timeout=30)
        r.check(f'{name}: synthetic path works while the VF is away', rc == 0, out)
        vlan_ping(r, g, v, syn, f'{name}: on the synthetic path', via_vf=False)
        speed = g.sh(f'cat /sys/class/net/{syn}/speed 2>&1; true').strip()
        r.check(f'{name}: with the VF gone, {syn} shows the host\'s speed again (10000)',
                speed == '10000', speed)
        back = g.mark()
        service_in(g, v, back)
        r.check(f'{name}: data path back on the VF after servicing',
                data_path(g, syn) == 'vf', '\n'.join(g.console_since(back)[-20:]))
        # The new VF took the VLAN ids of eth0 when it joined.
        vlan_ping(r, g, v, syn, f'{name}: on the VF plugged back')
        # The VLAN's id reached the VF (given at join, as each VLAN added on
        # eth0 is): deleting the VLAN takes it out of the VF's filter.
        g.sh(f'ip link del {vdev}')
        mode, table = vf_vlan_table(g)
        r.check(f'{name}: deleting the VLAN on {syn} takes VLAN {VID} out of the VF\'s filter '
                '(QEMU query-rx-filter)',
                mode == 'normal' and VID not in table and VID + 1 in table,
                f'{mode} {len(table)} ids, {VID} in: {VID in table}')
        sink.wait()
        r.check(f'{name}: a TCP stream survives VF removal and re-add, data intact '
                f'({sink.received >> 20} MiB, SHA-256)',
                sink.received == chunk * chunks and sink.sha256 == want,
                f'got {sink.received} bytes, sha {sink.sha256} want {want}, error {sink.error}')
        ping = g.sh('for i in $(seq 60); do grep -q "packets transmitted" /tmp/ping.out && break; '
                    'sleep 0.5; done; cat /tmp/ping.out')
        counts = ping_summary(ping)
        sent, got = counts or (0, 0)
        r.check(f'{name}: paced ping across servicing: {sent - got} of {sent} lost',
                counts is not None and got >= sent * 0.8, ping)
        g.sh('rm -f /tmp/blob')

        # eth0 moved to another namespace takes the VF along; it pairs again
        # there and takes the data path once eth0 is up.
        ns = g.mark()
        g.sh(f'mkdir -p /run; mount -t tmpfs none /run 2>/dev/null; ip netns add ns1; '
             f'ip link set {syn} netns ns1')
        try:
            g.wait_console(r'Moved VF to namespace with: ', ns, 30)
            g.sh(f'ip -n ns1 link set {syn} up')
            g.wait_console(r'Data path switched to VF: ', ns, 60)
        except Exception as e:
            r.check(f'{name}: the VF follows {syn} into another namespace', False,
                    f'{e}\n' + '\n'.join(g.console_since(ns)[-30:]))
        else:
            links = g.sh('ip -n ns1 -d link show')
            here = g.sh('ip -br link show')
            dp = g.sh(f'ip netns exec ns1 cat /sys/class/net/{syn}/hv_netvsc/data_path').strip()
            r.check(f'{name}: the VF follows {syn} into another namespace and joins it there',
                    f'master {syn}' in links and 'SLAVE' in links and VNIC_MAC not in
                    g.sh('cat /sys/class/net/*/address') and dp == 'vf', f'{links}\n{here}\n{dp}')

        mq_vf_in_netns(g, r, name, v, syn, 'ns1')

        lines = g.console_since(mark)
        pos = []
        for phrase in SEED_ORDER:
            idx = next((i for i, l in enumerate(lines) if phrase in l), -1)
            pos.append(idx)
        r.check(f'{name}: kernel log tells the seed\'s story in order',
                all(p >= 0 for p in pos) and pos == sorted(pos),
                '\n'.join(l for l in lines if any(p in l for p in SEED_ORDER)))
        unload(g, r, name, v)
    check_clean(ctx, name, g)


@scenario('vf-present-at-probe')
def vf_present_at_probe(ctx: Context) -> None:
    """A VF that exists before the synthetic NIC is enslaved at probe (MAC
    pairing while no serial is announced), takes the data path once the
    host announces it, and unloading the driver releases it to work alone."""
    r = ctx.report
    name = 'vf-present-at-probe'
    qemu = VF_QEMU + ['-device', f'virtio-net-pci,bus=rp1,id=vf1,netdev=hp2,mac={VNIC_MAC}']
    with ctx.guest(name, qemu_args=qemu) as g:
        g.leak_baseline()
        g.sh('modprobe virtio_net')
        vf = ifname_with_mac(g, VNIC_MAC)
        g.sh(f'ip link set {vf} up')
        mark = g.mark()
        sim.load(g)
        v = sim.Vnic(g, 'vnic0', mac=VNIC_MAC, serial=1)
        v.enable()
        syn = ifname_with_mac(g, VNIC_MAC, exclude=vf)
        g.sh(f'ip link set {syn} up')
        g.wait_console(r'joined to ', mark, 30)
        link = g.sh(f'ip -d link show {vf}')
        r.check(f'{name}: the existing VF {vf} is enslaved at probe',
                'SLAVE' in link and f'master {syn}' in link, link)
        v.announce_vf()
        check_console(r, g, f'{name}: data path switched once the host announced it',
                      r'Data path switched to VF: ', mark, 60)
        v.disable()
        g.wait_console(r'VF unregistering: |Data path switched from VF: ', mark, 30)
        v.remove()
        g.sh('rmmod hv_netvsc_sim; rmmod hv_netvsc_rs')
        link = g.sh(f'ip -d link show {vf}')
        r.check(f'{name}: unloading releases the VF', 'SLAVE' not in link and 'master' not in link,
                link)
        g.sh(f'ip link set {vf} up; ip addr add 10.0.2.15/24 dev {vf}; sleep 1')
        rc, out = g.run('ping -c 5 -W 2 10.0.2.2', timeout=30)
        r.check(f'{name}: the released VF works standalone', rc == 0, out)
        leaks = g.leaks()
        r.check(f'{name}: kmemleak finds nothing', not leaks, '\n'.join(leaks))
    check_clean(ctx, name, g)


@scenario('vf-missing')
def vf_missing(ctx: Context) -> None:
    """The host announces a VF that never appears (no VF driver in the
    image, as the seed warns): one warning naming the serial and the VF
    families expected, the data path stays synthetic and traffic flows."""
    r = ctx.report
    name = 'vf-missing'
    with ctx.guest(name, qemu_args=VF_QEMU) as g:
        g.leak_baseline()
        g.sh('insmod /modules/hv_netvsc_rs.ko vf_missing_ms=3000')
        v, syn, rc, out = bring_up(g, load_driver=False)
        r.check(f'{name}: DHCP on {syn}', rc == 0, out)
        mark = g.mark()
        v.announce_vf()
        try:
            line = g.wait_console(r'VF slot 1 was announced but no matching VF appeared', mark, 30)
            r.check(f'{name}: warned once with the serial and the expected drivers',
                    'mlx4_core, mlx5_core or mana' in line, line)
        except Exception as e:
            r.check(f'{name}: warned once with the serial and the expected drivers', False, str(e))
        time.sleep(4)
        n = sum('no matching VF appeared' in l for l in g.console_since(mark))
        r.check(f'{name}: the warning is given once', n == 1, f'{n} warnings')
        r.check(f'{name}: the host still routes synthetic',
                v.stats().get('data_path') == 'synthetic', str(v.stats().get('data_path')))
        dp = data_path(g, syn)
        r.check(f'{name}: hv_netvsc/data_path reads "synthetic"', dp == 'synthetic', dp)
        rc, out = g.run('ping -c 5 -W 2 10.0.2.2', timeout=30)
        r.check(f'{name}: traffic flows on the synthetic path', rc == 0, out)
        unload(g, r, name, v)
    check_clean(ctx, name, g)


VNIC2_MAC = '00:15:5d:00:0f:02'


@scenario('vf-two-nics')
def vf_two_nics(ctx: Context) -> None:
    """Two vNICs (serials 1 and 2) and two VFs (virtio-net, e1000e)
    hot-plugged into slots 1 and 2, each with its vNIC's MAC: each VF pairs
    with the vNIC whose serial is its slot, and removing one VF leaves the
    other NIC on its VF."""
    r = ctx.report
    name = 'vf-two-nics'
    with ctx.guest(name, qemu_args=VF_QEMU) as g:
        g.leak_baseline()
        sim.load(g)
        g.sh('modprobe virtio_net')
        nics = []
        for vnic, mac, serial in (('vnic0', VNIC_MAC, 1), ('vnic1', VNIC2_MAC, 2)):
            v = sim.Vnic(g, vnic, mac=mac, serial=serial)
            v.enable()
            syn = v.netdev()
            g.sh(f'ip link set {syn} up')
            v.announce_vf()
            nics.append((v, syn, mac, serial))
        mark = g.mark()
        # Slot 2 first: pairing must go by serial, not by arrival order. The
        # second VF is an e1000e: any PCI NIC goes through the same path.
        g.sh('modprobe e1000e')
        add_vf(g, bus='rp2', dev_id='vf2', netdev='hp3', mac=VNIC2_MAC, driver='e1000e')
        add_vf(g, bus='rp1', dev_id='vf1', netdev='hp2', mac=VNIC_MAC)
        try:
            for _ in range(60):
                if sum('Data path switched to VF: ' in l for l in g.console_since(mark)) >= 2:
                    break
                time.sleep(1)
            for v, syn, mac, serial in nics:
                vf = ifname_with_mac(g, mac, exclude=syn)
                link = g.sh(f'ip -d link show {vf}') if vf else '(no VF)'
                dp = data_path(g, syn)
                r.check(f'{name}: the VF in slot {serial} joins {syn} and carries its data path',
                        f'master {syn}' in link and 'SLAVE' in link and dp == 'vf',
                        f'{link}\ndata_path {dp}\n' + '\n'.join(g.console_since(mark)[-20:]))
            other = g.mark()
            service_out(g, nics[1][0], other, dev_id='vf2', serial=2)
            r.check(f'{name}: removing the slot 2 VF moves only {nics[1][1]} back',
                    data_path(g, nics[1][1]) == 'synthetic' and data_path(g, nics[0][1]) == 'vf',
                    '\n'.join(g.console_since(other)[-20:]))
        finally:
            for v, *_ in nics:
                v.disable()
                v.remove()
        g.sh('rmmod hv_netvsc_sim; rmmod hv_netvsc_rs')
        leaks = g.leaks()
        r.check(f'{name}: kmemleak finds nothing', not leaks, '\n'.join(leaks))
    check_clean(ctx, name, g)


# `make test` runs the smoke version; `make soak` the long one.
SOAK_SMOKE_CYCLES = 20
SOAK_CYCLES = 100


@scenario('vf-soak')
def vf_soak(ctx: Context) -> None:
    """The soak's smoke version: 20 VF add/remove cycles under a paced ping."""
    soak(ctx, 'vf-soak', SOAK_SMOKE_CYCLES)


@scenario('vf-soak-long', soak=True)
def vf_soak_long(ctx: Context) -> None:
    """100 VF add/remove cycles under a paced ping (`make soak`)."""
    soak(ctx, 'vf-soak-long', SOAK_CYCLES)


def soak(ctx: Context, name: str, cycles: int) -> None:
    """`cycles` VF add/remove cycles under a paced ping: every add ends with
    the data path on the VF and every removal back on synthetic, and QEMU
    has finished the unplug before the next add; no splat, no leak, no
    refcount warning, and the ping loss over the whole run counted."""
    r = ctx.report
    with ctx.guest(name, qemu_args=VF_QEMU) as g:
        g.leak_baseline()
        v, syn, rc, out = bring_up(g)
        r.check(f'{name}: DHCP on {syn}', rc == 0, out)
        v.announce_vf()
        g.sh('(ping -i 0.2 -W 1 10.0.2.2 > /tmp/soak.out 2>&1 & echo $! > /tmp/soak.pid)')
        done, failure = 0, ''
        t0 = time.monotonic()
        for i in range(cycles):
            mark = g.mark()
            try:
                add_vf(g)
                g.wait_console(r'Data path switched to VF: ', mark, 60)
                del_vf(g)
                g.wait_console(r'VF unregistering: ', mark, 60)
                g.wait_console(r'Data path switched from VF: ', mark, 10)
                g.wait_device_deleted('vf1', 60)
            except Exception as e:
                failure = f'cycle {i + 1}: {e}\n' + '\n'.join(g.console_since(mark)[-30:])
                break
            done += 1
        secs = time.monotonic() - t0
        r.check(f'{name}: {done} of {cycles} add/remove cycles, each switching to the VF '
                f'and back ({secs:.0f} s)', done == cycles, failure)
        g.sh('kill -INT $(cat /tmp/soak.pid); sleep 1')
        ping = g.sh('cat /tmp/soak.out')
        counts = ping_summary(ping)
        sent, got = counts or (0, 0)
        r.check(f'{name}: ping across all cycles: {sent - got} of {sent} lost',
                counts is not None and got >= sent * 0.8, ping[-400:])
        rc, out = g.run('ping -c 3 -W 2 10.0.2.2', timeout=30)
        r.check(f'{name}: the synthetic path works after the soak', rc == 0, out)
        unload(g, r, name, v)
    check_clean(ctx, name, g)
