# SPDX-License-Identifier: GPL-2.0
"""802.1Q over the synthetic path: a VLAN interface over eth0 reaches a
tagged peer behind the simulated host, which carries the tags as per-packet
info (as Hyper-V's vSwitch does) and puts them on its uplink."""

import json
import struct

from . import sim
from .guest import Guest
from .scenarios import VNIC_MAC, Context, check_clean, ethtool_stats, scenario
from .scenarios_robust import rndis_packet

VID = 10
PEER_IP = '192.168.78.1'
GUEST_IP = '192.168.78.2'
PPI_8021Q = 6


def add_vlan_peer(g: Guest, lower: str) -> None:
    """Namespace `peer` (made if missing) gets `lower` (a netdev of the
    initial namespace) with a VLAN `VID` interface `peer.V` on it holding
    PEER_IP."""
    g.sh('mkdir -p /run; mount -t tmpfs none /run 2>/dev/null; modprobe 8021q; '
         '[ -e /run/netns/peer ] || ip netns add peer')
    g.sh(f'ip link set {lower} netns peer && ip -n peer link set {lower} up '
         f'&& ip -n peer link add link {lower} name peer.{VID} type vlan id {VID} '
         f'&& ip -n peer addr add {PEER_IP}/24 dev peer.{VID} '
         f'&& ip -n peer link set peer.{VID} up')


def add_guest_vlan(g: Guest, syn: str) -> str:
    """The VLAN interface `<syn>.V` over eth0 with GUEST_IP; its name."""
    dev = f'{syn}.{VID}'
    g.sh(f'ip link add link {syn} name {dev} type vlan id {VID} '
         f'&& ip addr add {GUEST_IP}/24 dev {dev} && ip link set {dev} up')
    return dev


def peer_rx_packets(g: Guest) -> int:
    return int(g.sh(f'ip netns exec peer cat /sys/class/net/peer.{VID}/statistics/rx_packets'))


def delta(after: dict, before: dict) -> dict:
    return {k: after[k] - before.get(k, 0) for k in after if isinstance(after[k], int)}


def pktgen_tagged(g: Guest, dev: str, count: int, vid: int, dst_mac: str) -> str:
    """`count` UDP frames with an inline 802.1Q header (pktgen's vlan_id puts
    it in the frame, with skb->protocol 802.1Q, as an AF_PACKET send
    does); returns pktgen's report."""
    ctl = '/proc/net/pktgen'
    g.sh('modprobe pktgen')
    g.sh(f'echo rem_device_all > {ctl}/kpktgend_0')
    g.sh(f'echo add_device {dev} > {ctl}/kpktgend_0')
    for cmd in (f'count {count}', 'pkt_size 200', 'delay 200000', 'clone_skb 0',
                f'dst_mac {dst_mac}', f'dst {PEER_IP}', f'vlan_id {vid}', 'vlan_p 3',
                'flag NO_TIMESTAMP'):
        g.sh(f'echo "{cmd}" > {ctl}/{dev}')
    g.sh(f'echo start > {ctl}/pgctrl', timeout=120)
    out = g.sh(f'cat {ctl}/{dev}')
    g.sh(f'echo rem_device_all > {ctl}/kpktgend_0')
    return out


def iperf_to_peer(g: Guest, v, syn: str, args: str):
    """A 2 s iperf3 stream between the guest and the tagged peer (`-R`: peer
    to guest): exit code, bytes received, and the host's and the driver's
    counter deltas over it."""
    g.sh('ip netns exec peer iperf3 -s -1 -D; sleep 1')
    hb, db = v.stats(), ethtool_stats(g, syn)
    rc, out = g.run(f'iperf3 -c {PEER_IP} {args} -t 2 -J', timeout=60)
    h, d = delta(v.stats(), hb), delta(ethtool_stats(g, syn), db)
    try:
        got = json.loads(out)['end']['sum_received']['bytes']
    except (ValueError, KeyError):
        got = 0
    return rc, got, h, d, out


@scenario('vlan')
def vlan(ctx: Context) -> None:
    """eth0 offers 802.1Q offloads; a VLAN interface over it reaches a
    tagged peer behind a veth uplink both ways (ping, TCP with TSO), the
    tags travelling as per-packet info; an inline tag from a raw send is
    moved into the info; VLAN id 4095 is refused both ways."""
    r = ctx.report
    name = 'vlan'
    with ctx.guest(name) as g:
        g.leak_baseline()
        sim.load(g)
        g.sh('modprobe veth; ip link add hvup type veth peer name hvpeer '
             '&& ip link set hvup promisc on up')
        add_vlan_peer(g, 'hvpeer')
        v = sim.Vnic(g, 'vnic0', mac=VNIC_MAC, serial=1)
        v.enable()
        syn = v.netdev() or ''
        v.set_uplink('hvup')
        g.sh(f'ip link set {syn} up')
        feats = g.sh(f'ethtool -k {syn}')
        r.check(f'{name}: {syn} offers 802.1Q tag insertion, stripping and VLAN filtering',
                all(f'{k}: on [fixed]' in feats for k in (
                    'tx-vlan-offload', 'rx-vlan-offload', 'rx-vlan-filter')), feats)
        dev = add_guest_vlan(g, syn)
        vfeats = g.sh(f'ethtool -k {dev}')

        # Ping both ways over VLAN 10: tags as info, none inline.
        hb, db = v.stats(), ethtool_stats(g, syn)
        rc, out = g.run(f'ping -c 10 -i 0.2 -W 2 {PEER_IP}', timeout=60)
        rc2, out2 = g.run(f'ip netns exec peer ping -c 10 -i 0.2 -W 2 {GUEST_IP}', timeout=60)
        # Tagged neighbour traffic goes on in the background, so deltas
        # read at two moments cannot match exactly: compare totals (both
        # sides count from zero, the vNIC was enabled once), after the frame
        # the host has just put in the ring (or the driver has just sent)
        # was taken by the other side.
        for _ in range(10):
            ht, dt = v.stats(), ethtool_stats(g, syn)
            if all(dt.get(k, 0) == ht.get(k) for k in ('rx_vlan', 'tx_vlan')):
                break
            g.sh('sleep 0.5')
        h, d = delta(ht, hb), delta(dt, db)
        r.check(f'{name}: ping {dev} -> tagged peer, 0% loss', rc == 0 and ' 0% packet loss' in out,
                out)
        r.check(f'{name}: ping tagged peer -> {dev}, 0% loss',
                rc2 == 0 and ' 0% packet loss' in out2, out2)
        r.check(f'{name}: the tags travel as 802.1Q info both ways, none inline '
                f'(host tx_vlan +{h.get("tx_vlan")}, rx_vlan +{h.get("rx_vlan")})',
                h.get('tx_vlan', 0) >= 20 and h.get('rx_vlan', 0) >= 20
                and h.get('tx_vlan_inline', -1) == 0 and h.get('tx_vlan_refused', -1) == 0
                and h.get('rx_vlan_dropped', -1) == 0
                and all(dt.get(k, 0) == ht.get(k) for k in ('rx_vlan', 'tx_vlan')),
                f'host {h}\ndriver {d}\nhost totals {ht}\ndriver totals {dt}')

        # TCP both ways: the VLAN interface inherits the offloads
        # (vlan_features), so its TSO sends reach the host as LSOv2 with a tag.
        rc, sent, h, d, out = iperf_to_peer(g, v, syn, '')
        r.check(f'{name}: a TCP stream {dev} -> peer ({sent >> 10} KiB) goes as tagged LSOv2 '
                'sends the host segments',
                rc == 0 and sent > (1 << 20) and d.get('tx_lso', 0) > 0
                and h.get('tx_lso') == d['tx_lso'] and h.get('tx_vlan', 0) >= d['tx_lso']
                and h.get('tx_offload_refused', -1) == 0 and h.get('tx_vlan_inline', -1) == 0,
                f'rc {rc}\nhost {h}\ndriver {d}\n{vfeats}\n{out[-800:]}')
        rc, got, h, d, out = iperf_to_peer(g, v, syn, '-R')
        r.check(f'{name}: a TCP stream peer -> {dev} ({got >> 10} KiB) arrives tagged as '
                'info, checksums trusted',
                rc == 0 and got > (1 << 20) and h.get('rx_vlan', 0) > 100
                and d.get('rx_vlan') == h['rx_vlan'] and d.get('rx_checksum_offload', 0) > 100,
                f'rc {rc}\nhost {h}\ndriver {d}\n{out[-800:]}')

        # A raw send with the 802.1Q header in the frame: moved into the
        # info (as upstream does for AF_PACKET), the peer's VLAN gets it.
        peer_mac = g.sh('ip netns exec peer cat /sys/class/net/hvpeer/address').strip()
        hb, db, pb = v.stats(), ethtool_stats(g, syn), peer_rx_packets(g)
        report = pktgen_tagged(g, syn, 200, VID, peer_mac)
        g.sh('sleep 1')
        h, d, p = delta(v.stats(), hb), delta(ethtool_stats(g, syn), db), peer_rx_packets(g) - pb
        r.check(f'{name}: 200 frames with an inline 802.1Q header go as 802.1Q info and reach '
                f'the peer\'s VLAN ({p})',
                h.get('tx_vlan', 0) >= 200 and h.get('tx_vlan_inline', -1) == 0 and p >= 200
                and d.get('vlan_error', -1) == 0,
                f'host {h}\ndriver {d}\npeer +{p}\n{report}')
        # VLAN id 4095 is reserved (802.1Q): not sent.
        hb, db = v.stats(), ethtool_stats(g, syn)
        report = pktgen_tagged(g, syn, 20, 4095, peer_mac)
        h, d = delta(v.stats(), hb), delta(ethtool_stats(g, syn), db)
        r.check(f'{name}: frames tagged with VLAN id 4095 are dropped by the driver (vlan_error)',
                d.get('vlan_error', 0) == 20 and h.get('tx_vlan_inline', -1) == 0
                and h.get('tx_vlan', -1) <= 4,
                f'host {h}\ndriver {d}\n{report}')

        # A host's 802.1Q info with VLAN id 4095 or a reserved bit set is
        # malformed: dropped, counted, logged.
        db = ethtool_stats(g, syn)
        mark = g.mark()
        for value in (0xfff << 4, (1 << 16) | (VID << 4)):
            v.write('inject_rndis', rndis_packet(struct.pack('<IIII', 16, PPI_8021Q, 12, value)).hex())
        g.sh('sleep 1')
        d = delta(ethtool_stats(g, syn), db)
        lines = [l for l in g.console_since(mark)
                 if 'dropped malformed 802.1Q info from host: invalid field value' in l]
        r.check(f'{name}: host 802.1Q info with VLAN id 4095 or a reserved bit is rejected',
                d.get('rx_bad_host_packets') == 2 and len(lines) == 2,
                f'driver {d}\n' + '\n'.join(g.console_since(mark)[-10:]))

        v.disable()
        v.remove()
        g.sh('rmmod hv_netvsc_sim; rmmod hv_netvsc_rs')
        leaks = g.leaks()
        r.check(f'{name}: kmemleak finds nothing', not leaks, '\n'.join(leaks))
    check_clean(ctx, name, g)
