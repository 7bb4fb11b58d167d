# SPDX-License-Identifier: GPL-2.0
"""Robustness scenarios: a misbehaving simulated host, module removal under
traffic, the MTU range, lost completions and a host that never answers.

Registered with the same `@scenario` decorator as scenarios.py (which
imports this module at its end). The expected behaviour per fault class is
documented in docs/testing.md ("Robustness scenarios").
"""

import json
import re
import struct
import time
from typing import List, Optional, Tuple

from . import sim
from .guest import Guest, ping_summary
from .scenarios import (UDHCPC_SCRIPT, UPLINK_QEMU, VNIC_MAC, Context, check_clean,
                        check_console, ethtool_stats, scenario)

GATEWAY = '10.0.2.2'
REJECT = r'hv_netvsc_rs: dropped malformed '


# -- helpers -------------------------------------------------------------------

def uplink_name(g: Guest) -> str:
    g.sh('modprobe virtio_net')
    return g.sh("for d in /sys/class/net/*; do "
                "[ \"$(cat $d/address)\" = 52:54:00:00:00:fe ] && basename $d; done; true").strip()


def bring_up(g: Guest, v: sim.Vnic, up: str) -> Tuple[str, bool, str]:
    """Enables `v`, attaches the uplink, sets the interface up and runs DHCP.
    Returns (ifname, DHCP gave 10.0.2.15, output)."""
    v.enable()
    syn = v.netdev() or ''
    g.sh(f'ip link set {up} promisc on up')
    v.set_uplink(up)
    g.sh(f'ip link set {syn} up')
    g.sh(f"[ -x /tmp/udhcpc.sh ] || {{ printf '%s\\n' '#!/bin/sh' '{UDHCPC_SCRIPT}' > /tmp/udhcpc.sh; "
         f"chmod +x /tmp/udhcpc.sh; }}")
    rc, out = g.run(f'udhcpc -i {syn} -n -q -t 5 -T 2 -s /tmp/udhcpc.sh', timeout=60)
    ip = g.sh(f'ip -4 -br addr show {syn}')
    return syn, rc == 0 and '10.0.2.15/' in ip, out + ip


def start_vnic(ctx: Context, name: str, g: Guest) -> Tuple[sim.Vnic, str, str]:
    """The usual start: leak baseline, simulator and driver loaded, vNIC
    `vnic0` up on the QEMU uplink with DHCP (checked). Returns (vNIC,
    interface, uplink)."""
    g.leak_baseline()
    sim.load(g)
    up = uplink_name(g)
    v = sim.Vnic(g, 'vnic0', mac=VNIC_MAC, serial=1)
    syn, ok, out = bring_up(g, v, up)
    ctx.report.check(f'{name}: DHCP', ok, out)
    return v, syn, up


def ping_ok(g: Guest, count: int = 5, extra: str = '') -> Tuple[bool, str]:
    rc, out = g.run(f'ping -c {count} -i 0.2 -W 2 {extra} {GATEWAY}', timeout=60)
    return rc == 0 and ' 0% packet loss' in out, out


def ethtool_stats(g: Guest, ifname: str) -> dict:
    out = {}
    for line in g.sh(f'ethtool -S {ifname}').splitlines():
        k, _, val = line.strip().partition(':')
        try:
            out[k.strip()] = int(val)
        except ValueError:
            pass
    return out


def wait_lines(g: Guest, pattern: str, since: int, timeout: float = 10.0) -> List[str]:
    """Console lines since `since` matching `pattern`, waiting up to
    `timeout` for the first (the serial console lags under TCG)."""
    rx = re.compile(pattern)
    deadline = time.monotonic() + timeout
    while True:
        hits = [l for l in g.console_since(since) if rx.search(l)]
        if hits or time.monotonic() > deadline:
            return hits
        time.sleep(0.2)


def teardown(ctx: Context, name: str, g: Guest) -> None:
    sim.unload(g)
    rc, out = g.run('lsmod | grep -E "hv_netvsc_(rs|sim)"')
    ctx.report.check(f'{name}: driver and simulator unloaded', rc != 0, out)
    leaks = g.leaks()
    ctx.report.check(f'{name}: kmemleak finds nothing', not leaks, '\n'.join(leaks))


# -- raw host packets (docs/protocol.md) -----------------------------------------

def desc(ptype: int, offset8: int, len8: int, tid: int, flags: int = 0) -> bytes:
    return struct.pack('<HHHHQ', ptype, offset8, len8, flags, tid)


def pad8(b: bytes) -> bytes:
    return b + bytes(-len(b) % 8)


NVSP_SEND_RNDIS_PKT = 107


def rndis_packet(ppi: bytes, ppi_off: Optional[int] = None, frame: bytes = bytes(14)) -> bytes:
    """An RNDIS_MSG_PACKET with a PPI area `ppi` (offsets from byte 8)."""
    body = 36
    p_off = body if ppi_off is None else ppi_off
    d_off = body + len(ppi)
    total = 8 + d_off + len(frame)
    hdr = struct.pack('<IIIIIIIIIII', 1, total, d_off, len(frame), 0, 0, 0,
                      p_off, len(ppi), 0, 0)
    return hdr + ppi + frame


# (label, attribute, bytes, expected log text)
# Injected packets whose len8 claims more than they hold.
SWALLOWS = {'len8 past end'}

RAW: List[Tuple[str, str, bytes, str]] = [
    ('truncated descriptor', 'inject_raw',
     struct.pack('<HHHH', 6, 2, 1, 0), 'VMBus packet from host: input truncated'),
    ('len8 past end', 'inject_raw',
     desc(6, 2, 8, 0x11) + struct.pack('<II', 0x1234, 0),
     'VMBus packet from host: length field exceeds available bytes'),
    ('descriptor offset inside header', 'inject_raw',
     desc(6, 1, 3, 0x12) + struct.pack('<II', 0x1234, 0),
     'VMBus packet from host: offset inside header'),
    ('descriptor offset past end', 'inject_raw',
     desc(6, 4, 3, 0x13) + struct.pack('<II', 0x1234, 0),
     'VMBus packet from host: offset past end'),
    ('too many transfer-page ranges', 'inject_raw',
     desc(7, 3, 5, 0x5349_4d00_0000_fffe) + struct.pack('<HBBI', 0xcafe, 0, 0, 1000)
     + struct.pack('<IIII', NVSP_SEND_RNDIS_PKT, 0, 0xffffffff, 0),
     'VMBus packet from host: too many ranges'),
    ('unknown NVSP type', 'inject_raw',
     desc(6, 2, 3, 0x14) + struct.pack('<II', 0x4321, 0),
     'NVSP message from host: unknown message type'),
    ('zero-size PPI', 'inject_rndis',
     rndis_packet(struct.pack('<III', 0, 0, 12)),
     'RNDIS message from host: per-packet-info entry of size 0'),
    ('PPI entry offset inside its header', 'inject_rndis',
     rndis_packet(struct.pack('<IIII', 16, 0, 4, 0)),
     'RNDIS message from host: per-packet-info offset inside its header'),
    ('PPI entry offset past its end', 'inject_rndis',
     rndis_packet(struct.pack('<IIII', 16, 0, 20, 0)),
     'RNDIS message from host: per-packet-info offset past entry end'),
    ('PPI area offset inside packet header', 'inject_rndis',
     rndis_packet(struct.pack('<IIII', 16, 0, 12, 0), ppi_off=8),
     'RNDIS message from host: offset inside header'),
]

# What each named class must produce in the log.
CLASS_LOG = {
    'bad_version': 'completion from host: no request with transaction id 0x0 ',
    'unknown_nvsp': 'NVSP message from host: unknown message type',
    'short_nvsp': 'NVSP message from host: input truncated',
    'stray_completion': 'completion from host: no request with transaction id 0xdeadbeef',
    'rndis_overlong': 'RNDIS message from host: length field exceeds available bytes',
    'rndis_bad_offset': 'RNDIS message from host: offset inside header',
    'xfer_out_of_range': 'VMBus packet from host: range out of bounds',
}


# -- 1. malformed-host --------------------------------------------------------------

@scenario('malformed-host')
def malformed_host(ctx: Context) -> None:
    """Every fault class of the simulator, plus crafted raw packets, into an
    up vNIC carrying traffic: each is rejected with a (rate-limited) log
    line and the device keeps working; no splat, no leak."""
    r = ctx.report
    name = 'malformed-host'
    with ctx.guest(name, qemu_args=UPLINK_QEMU) as g:
        g.leak_baseline()
        sim.load(g)
        v = sim.Vnic(g, 'vnic0', mac=VNIC_MAC, serial=1)
        up = uplink_name(g)
        syn, ok, out = bring_up(g, v, up)
        r.check(f'{name}: DHCP through the uplink', ok, out)
        ok, out = ping_ok(g)
        r.check(f'{name}: ping before faults', ok, out)
        # Traffic keeps flowing while faults arrive.
        background = f'(ping -q -i 0.05 -c 100000 -W 1 {GATEWAY} >/dev/null 2>&1 &)'
        g.sh(background)

        classes = v.read('inject').split()
        missing = sorted(set(CLASS_LOG) - set(classes))
        r.check(f'{name}: simulator lists the known classes', not missing, ' '.join(classes))
        cases = [(c, 'inject', c.encode(), CLASS_LOG.get(c, REJECT)) for c in classes]
        cases += RAW
        bad_before = ethtool_stats(g, syn).get('rx_bad_host_packets', 0)
        for label, attr, data, expect in cases:
            # A packet claiming more than was queued takes the packets queued
            # after it too (the ring frames by len8): inject it with no
            # traffic behind it, so that what the guest sees is only it (a
            # frame swallowed with it would also keep its receive section).
            quiet = label in SWALLOWS
            if quiet:
                g.sh('killall ping; sleep 0.5; true')
            mark = g.mark()
            if attr == 'inject':
                rc = v.try_write('inject', label)
            else:
                rc = v.try_write(attr, data.hex())
            r.check(f'{name}: [{label}] injected', rc == 0)
            hits = wait_lines(g, REJECT + '.*' + re.escape(expect), mark)
            r.check(f'{name}: [{label}] rejected with a log line',
                    bool(hits), '\n'.join(g.console_since(mark)[-10:]))
            if quiet:
                g.sh(background)
            ok, out = ping_ok(g, count=3)
            r.check(f'{name}: [{label}] device keeps working (ping 0% loss)', ok, out)
        bad_after = ethtool_stats(g, syn).get('rx_bad_host_packets', 0)
        r.check(f'{name}: rx_bad_host_packets counts every reject',
                bad_after - bad_before >= len(cases), f'{bad_before} -> {bad_after}')

        # Rate limit: the same class 100 times must not print 100 lines.
        mark = g.mark()
        g.sh(f'for i in $(seq 100); do echo unknown_nvsp > {v.path}/inject; done')
        time.sleep(2)
        lines = wait_lines(g, REJECT + 'NVSP message from host: unknown message type', mark)
        r.check(f'{name}: 100 injections of one class give 1..12 log lines',
                1 <= len(lines) <= 12, f'{len(lines)} lines')
        ok, out = ping_ok(g)
        r.check(f'{name}: ping after the flood', ok, out)

        g.sh('killall ping; true')
        st = v.stats()
        # Every host section came back (rndis_* and inject_rndis used real
        # ones; a lost completion would leak them).
        r.check(f'{name}: no receive section left in use', st['sections_in_use'] == 0, str(st))
        v.disable()
        r.check(f'{name}: vNIC disabled cleanly', v.netdev() is None)

        # Offload capabilities whose size claims more than the answer
        # holds: ignored with a warning, the NIC comes up without them; a
        # host without the OID offers none; one that refuses the
        # parameters leaves them off. Either way the stack does the work.
        for what, expect in (('malformed', "host's offload capabilities ignored: "
                              'length field exceeds available bytes'),
                             ('none', 'host offers no offloads'),
                             ('refused', 'host refused the offload parameters '
                              '(status 0xc00000bb); offloads stay off')):
            v.write('offloads', what)
            mark = g.mark()
            v.enable()
            dev = v.netdev()
            hits = [l for l in g.console_since(mark) if expect in l]
            feats = g.sh(f'ethtool -k {dev}') if dev else ''
            off = all(f'{k}: off' in feats for k in ('tx-checksumming',
                                                     'tcp-segmentation-offload'))
            r.check(f'{name}: offload answer "{what}": "{expect}", the NIC registers '
                    'without offloads', dev is not None and bool(hits) and off,
                    '\n'.join(g.console_since(mark)[-10:]) + '\n' + feats)
            v.disable()
        v.write('offloads', 'azure')
        teardown(ctx, name, g)
    check_clean(ctx, name, g)


# -- 2. rmmod-under-traffic ----------------------------------------------------------

TRAFFIC = (f'(while :; do ping -q -i 0.01 -c 500 -W 1 {GATEWAY}; sleep 0.1; done '
           '>/dev/null 2>&1 & echo $! > /tmp/traffic.pid)')


@scenario('rmmod-under-traffic')
def rmmod_under_traffic(ctx: Context) -> None:
    """Five times: with pings flowing, disable and remove the vNIC, unload
    simulator and driver, load them again; DHCP and ping work each time."""
    r = ctx.report
    name = 'rmmod-under-traffic'
    cycles = 5
    with ctx.guest(name, qemu_args=UPLINK_QEMU) as g:
        g.leak_baseline()
        up = uplink_name(g)
        for i in range(cycles):
            tag = f'{name}: cycle {i + 1}'
            sim.load(g)
            v = sim.Vnic(g, 'vnic0', mac=VNIC_MAC, serial=1)
            syn, ok, out = bring_up(g, v, up)
            r.check(f'{tag}: DHCP', ok, out)
            ok, out = ping_ok(g, count=3)
            r.check(f'{tag}: ping 0% loss', ok, out)
            g.sh(TRAFFIC)
            a = v.stats()
            time.sleep(1.0)
            b = v.stats()
            r.check(f'{tag}: traffic flowing both ways before removal',
                    b['tx_frames'] > a['tx_frames'] and b['rx_frames'] > a['rx_frames'],
                    f"tx {a['tx_frames']}->{b['tx_frames']} rx {a['rx_frames']}->{b['rx_frames']}")
            t0 = time.monotonic()
            rc, out = g.run(f'echo 0 > {v.path}/enable', timeout=60)
            r.check(f'{tag}: disable under traffic', rc == 0 and time.monotonic() - t0 < 15, out)
            r.check(f'{tag}: {syn} is gone', v.netdev() is None)
            rc, out = g.run(f'rmdir {v.path} && rmmod hv_netvsc_sim && rmmod hv_netvsc_rs')
            r.check(f'{tag}: rmdir, rmmod simulator and driver', rc == 0, out)
            g.sh('kill $(cat /tmp/traffic.pid) 2>/dev/null; killall ping 2>/dev/null; true')
        rc, out = g.run('lsmod | grep -E "hv_netvsc_(rs|sim)"')
        r.check(f'{name}: nothing left loaded', rc != 0, out)
        leaks = g.leaks()
        r.check(f'{name}: kmemleak finds nothing', not leaks, '\n'.join(leaks))
    check_clean(ctx, name, g)


# -- 3. mtu ----------------------------------------------------------------------------

def mtu_range(g: Guest, ifname: str) -> Tuple[int, int, str]:
    out = g.sh(f'ip -d link show {ifname}')
    lo = re.search(r'minmtu (\d+)', out)
    hi = re.search(r'maxmtu (\d+)', out)
    return (int(lo.group(1)) if lo else -1, int(hi.group(1)) if hi else -1, out)


def mtu_of(g: Guest, ifname: str) -> str:
    """The interface's MTU as sysfs shows it."""
    return g.sh(f'cat /sys/class/net/{ifname}/mtu').strip()


def large_ping(g: Guest, v: sim.Vnic, syn: str, size: int, count: int):
    """`count` pings of `size` bytes to the uplink's peer; returns (status,
    output, host stats before and after, ethtool -S before and after)."""
    before, tx_before = v.stats(), ethtool_stats(g, syn)
    rc, out = g.run(f'ping -c {count} -i 0.2 -W 2 -s {size} 192.168.77.1', timeout=60)
    return rc, out, before, v.stats(), tx_before, ethtool_stats(g, syn)


@scenario('mtu')
def mtu(ctx: Context) -> None:
    """The host takes the NDIS MTU only right after NVSP INIT, so an MTU
    change re-initialises the channel with the interface kept; the host
    enforces what was negotiated (frames beyond it are dropped both ways).
    A host whose limit is 4000 takes 3986 and refuses 3987 (the change
    fails, the old MTU stays with the host); the MAC set on the interface
    survives the reset. The default host (9216) carries 9000-byte frames,
    larger than a 6144-byte send section, as GPA-direct pages."""
    r = ctx.report
    name = 'mtu'
    with ctx.guest(name) as g:
        g.leak_baseline()
        sim.load(g)
        # The uplink is a veth whose peer lives in a namespace with MTU 4000
        # (QEMU's user network drops frames over 1514), so large frames make
        # the whole round trip: driver -> host -> uplink and back.
        g.sh('mkdir -p /run; mount -t tmpfs none /run 2>/dev/null; modprobe veth; ip netns add peer && ip link add hvup type veth peer name hvpeer '
             '&& ip link set hvpeer netns peer && ip link set hvup mtu 4000 promisc on up '
             '&& ip -n peer link set hvpeer mtu 4000 up '
             '&& ip -n peer addr add 192.168.77.1/24 dev hvpeer')
        v = sim.Vnic(g, 'vnic0', mac=VNIC_MAC, serial=1, mtu_max=4000)
        v.enable()
        syn = v.netdev() or ''
        v.set_uplink('hvup')
        g.sh(f'ip link set {syn} up && ip addr add 192.168.77.2/24 dev {syn}')
        lo, hi, out = mtu_range(g, syn)
        r.check(f'{name}: NVSP 5 host gives minmtu 68 maxmtu 65521 (as upstream)',
                (lo, hi) == (68, 65521), out)
        st = v.stats()
        r.check(f'{name}: probe negotiates MTU 1500 (NDIS MTU 1514)',
                mtu_of(g, syn) == '1500'
                and st.get('ndis_mtu') == 1514, str(st))
        # The host enforces the negotiated MTU: 3028-byte frames from the
        # peer do not reach a guest that negotiated 1514.
        g.run('ip netns exec peer ping -c 1 -W 2 192.168.77.2', timeout=15)
        before = v.stats()
        rc, out = g.run('ip netns exec peer ping -c 3 -W 1 -s 3000 192.168.77.2',
                        timeout=20)
        after = v.stats()
        r.check(f'{name}: the host drops frames beyond the negotiated MTU',
                rc != 0 and after['rx_over_mtu'] - before['rx_over_mtu'] >= 3,
                out + f"\nrx_over_mtu {before['rx_over_mtu']}->{after['rx_over_mtu']}")
        # A virtual peer (veth) hands the host whole TSO sends with their
        # checksums left undone; the host cuts and completes them as a wire
        # would, and the guest trusts the checksums it vouches for.
        g.sh('ip netns exec peer iperf3 -s -1 -D; sleep 1')
        before, hb = ethtool_stats(g, syn), v.stats()
        rc, out = g.run('iperf3 -c 192.168.77.1 -R -t 2 -J', timeout=60)
        after, ha = ethtool_stats(g, syn), v.stats()
        try:
            got = json.loads(out)['end']['sum_received']['bytes']
        except (ValueError, KeyError):
            got = 0
        r.check(f'{name}: a TCP stream from a peer sending TSO with partial checksums '
                f'arrives ({got >> 10} KiB), every checksum good and trusted',
                rc == 0 and got > (1 << 20) and ha['rx_checksum_bad'] == hb['rx_checksum_bad']
                and after['rx_checksum_offload'] - before['rx_checksum_offload'] > 100
                and ha['rx_over_mtu'] == hb['rx_over_mtu'],
                f'rc {rc} got {got}\ndriver {before} -> {after}\nhost {hb} -> {ha}\n{out[-1500:]}')
        # A new session whose host refuses the offload parameters: the
        # interface stops offering them (a stream still gets through, done
        # by the stack), and offers them again once a session takes them.
        v.write('offloads', 'refused')
        mark = g.mark()
        rc, out = g.run(f'ip link set {syn} mtu 2000')
        feats = g.sh(f'ethtool -k {syn}')
        g.sh('ip netns exec peer iperf3 -s -1 -D; sleep 1')
        before = ethtool_stats(g, syn)
        rc2, out2 = g.run('iperf3 -c 192.168.77.1 -t 2', timeout=60)
        after = ethtool_stats(g, syn)
        r.check(f'{name}: a new session refusing the offloads: they are withdrawn '
                '(ethtool -k), logged, and a stream is done by the stack',
                rc == 0 and rc2 == 0 and all(f'{k}: off' in feats for k in (
                    'tx-checksumming', 'tcp-segmentation-offload', 'rx-checksumming'))
                and any('offloads in use now: none' in l for l in g.console_since(mark))
                and after['tx_lso'] == before['tx_lso']
                and after['tx_checksum_offload'] == before['tx_checksum_offload'],
                f'{out}\n{feats}\n{out2[-600:]}\n' + '\n'.join(g.console_since(mark)[-8:]))
        v.write('offloads', 'azure')
        mark = g.mark()
        rc, out = g.run(f'ip link set {syn} mtu 1500')
        feats = g.sh(f'ethtool -k {syn}')
        r.check(f'{name}: the next session takes them: offered and on again',
                rc == 0 and all(f'{k}: on' in feats for k in (
                    'tx-checksumming', 'tcp-segmentation-offload', 'rx-checksumming'))
                and any('offloads in use now: tx checksum' in l for l in g.console_since(mark)),
                f'{out}\n{feats}\n' + '\n'.join(g.console_since(mark)[-8:]))
        # A MAC set on the interface belongs to the host's old session: the
        # new channel is given it again.
        g.sh(f'ip link set {syn} address 00:15:5d:00:0f:42')
        mark = g.mark()
        rc, out = g.run(f'ip link set {syn} mtu 3986')
        st = v.stats()
        r.check(f'{name}: mtu 3986 accepted, the host configured NDIS MTU 4000',
                rc == 0 and st.get('ndis_mtu') == 4000, out + str(st))
        r.check(f'{name}: the interface MAC survives the channel reset',
                st.get('current_mac') == '00:15:5d:00:0f:42', str(st))
        rc, out = g.run(f'ip link set {syn} mtu 3987')
        st = v.stats()
        r.check(f'{name}: mtu 3987 refused (the host fell back to 1514)',
                rc != 0 and st.get('ndis_mtu_refused') == 1, out + str(st))
        r.check(f'{name}: mtu stays 3986, the host has NDIS MTU 4000 again',
                mtu_of(g, syn) == '3986'
                and st.get('ndis_mtu') == 4000, str(st))
        check_console(r, g, f'{name}: the refusal is logged',
                      r'host refused MTU 3987 \(it configured 1500\); keeping 3986', mark, 10)
        g.sh(f'ip link set {syn} address {VNIC_MAC}; ip -n peer neigh flush dev hvpeer')
        rc, out, before, after, tx_before, tx_after = large_ping(g, v, syn, 3900, 3)
        r.check(f'{name}: ping -s 3900 through a 3986 MTU, 0% loss',
                rc == 0 and ' 0% packet loss' in out, out + str(after))
        r.check(f'{name}: large frames unfragmented both ways, none over the host MTU',
                after['tx_bytes'] - before['tx_bytes'] >= 3 * 3900
                and after['rx_bytes'] - before['rx_bytes'] >= 3 * 3900
                and after['tx_over_mtu'] == before['tx_over_mtu']
                and after['rx_over_mtu'] == before['rx_over_mtu'],
                f"tx {before['tx_bytes']}->{after['tx_bytes']} rx {before['rx_bytes']}->{after['rx_bytes']} {after}")
        r.check(f'{name}: no frame dropped as too big',
                tx_after.get('tx_too_big') == tx_before.get('tx_too_big'), str(tx_after))
        # Channel resets under traffic: transmissions and polls are stopped
        # around each one (the harness fails the run on any splat).
        g.sh('(ping -i 0.02 -c 400 -W 1 -s 1200 192.168.77.1 > /tmp/mtu-ping.log 2>&1 &)')
        changed = 0
        for m in (3000, 3986, 1500, 3986, 2000, 3986):
            rc, _ = g.run(f'ip link set {syn} mtu {m}')
            changed += rc == 0
            g.sh('sleep 0.3')
        g.sh('while pidof ping >/dev/null; do sleep 0.5; done', timeout=60)
        out = g.sh('cat /tmp/mtu-ping.log')
        sent, recv = ping_summary(out) or (0, 0)
        r.check(f'{name}: six MTU changes under a 50/s ping: all taken, the ping carries on '
                f'({sent - recv} of {sent} lost)',
                changed == 6 and sent == 400 and recv >= 300, out)
        rc, out = g.run('ping -c 3 -W 2 -s 3900 192.168.77.1', timeout=30)
        r.check(f'{name}: large frames still pass after the resets',
                rc == 0 and ' 0% packet loss' in out, out)
        # A host that does not answer the new channel's NVSP INIT: the
        # change fails after the control timeout and the old MTU's channel
        # is set up again.
        v.write('drop_init', 1)
        mark = g.mark()
        rc, out = g.run(f'ip link set {syn} mtu 3000', timeout=60)
        st = v.stats()
        fail_line = [l for l in g.console_since(mark)
                     if 're-initialising the channel for MTU 3000 failed' in l]
        r.check(f'{name}: a host silent on the new channel: the change fails, MTU 3986 and '
                'NDIS MTU 4000 are back',
                rc != 0 and bool(fail_line)
                and mtu_of(g, syn) == '3986'
                and st.get('ndis_mtu') == 4000 and st.get('open') == 1,
                out + '\n'.join(g.console_since(mark)[-10:]) + str(st))
        rc, out = g.run('ping -c 3 -W 2 -s 3900 192.168.77.1', timeout=30)
        r.check(f'{name}: ... and carries large frames again',
                rc == 0 and ' 0% packet loss' in out, out)
        v.disable()
        v.remove()

        # The default host takes NDIS MTUs up to 9216: 9000-byte frames go
        # out beyond one send section (6144 bytes) as GPA-direct pages.
        v = sim.Vnic(g, 'vnic1', mac=VNIC_MAC)
        v.enable()
        syn = v.netdev() or ''
        r.check(f'{name}: default mtu 1500',
                mtu_of(g, syn) == '1500')
        v.set_uplink('hvup')
        g.sh(f'ip link set hvup mtu 9000 && ip -n peer link set hvpeer mtu 9000 '
             f'&& ip link set {syn} mtu 9000 up && ip addr add 192.168.77.2/24 dev {syn}')
        st = v.stats()
        r.check(f'{name}: mtu 9000 negotiated (NDIS MTU 9014)', st.get('ndis_mtu') == 9014, str(st))
        rc, out, before, after, tx_before, tx_after = large_ping(g, v, syn, 8900, 5)
        r.check(f'{name}: ping -s 8900 through a 9000 MTU (frames beyond a send section), 0% loss',
                rc == 0 and ' 0% packet loss' in out, out + str(after))
        r.check(f'{name}: 8.9 KB frames leave whole, as GPA-direct pages',
                after['tx_bytes'] - before['tx_bytes'] >= 5 * 8900
                and tx_after.get('tx_too_big') == tx_before.get('tx_too_big'),
                f"host tx {before['tx_bytes']}->{after['tx_bytes']}; {tx_after}")
        rc, out = g.run(f'ip link set {syn} mtu 9203')
        r.check(f'{name}: mtu 9203 refused by a 9216 host, 9000 kept',
                rc != 0 and mtu_of(g, syn) == '9000'
                and v.stats().get('ndis_mtu') == 9014, out)
        v.disable()
        teardown(ctx, name, g)
    check_clean(ctx, name, g)


# -- 4. host-faults -----------------------------------------------------------------------

@scenario('host-faults')
def host_faults(ctx: Context) -> None:
    """Completions held back stop the queue until they come; lost send
    completions keep their sections busy (bounded: the queue
    stops when none is left, remove reclaims everything); a channel rescinded
    under traffic is torn down in bounded time; a host that never
    answers NVSP INIT makes enable fail after the control timeout, leaving
    nothing registered."""
    r = ctx.report
    name = 'host-faults'
    with ctx.guest(name, qemu_args=UPLINK_QEMU) as g:
        v, syn, up = start_vnic(ctx, name, g)
        sections = int(re.search(r'TX:\s+(\d+)', g.sh(f'ethtool -g {syn}')).group(1))

        # A slow host holds completions back: the data sections run out and
        # the queue stops; the completions, once sent, wake it again.
        v.write('hold_completions', 1)
        s0 = ethtool_stats(g, syn)
        g.run(f'ping -q -c 300 -i 0.01 -W 1 {GATEWAY}', timeout=60)
        s1 = ethtool_stats(g, syn)
        held = v.stats()['held_completions']
        sent = s1['tx_packets'] - s0['tx_packets']
        r.check(f'{name}: with completions held the queue stops once the sections are used',
                0 < sent <= sections and s1['tx_busy'] > s0['tx_busy'] and held >= sent,
                f'sent {sent}, sections {sections}, held {held}, '
                f'tx_busy {s0["tx_busy"]}->{s1["tx_busy"]}')
        v.write('hold_completions', 0)
        ok, out = ping_ok(g)
        r.check(f'{name}: released completions wake the queue: ping 0% loss', ok, out)

        # A few lost completions: those sections stay busy, the rest carry on.
        v.drop_completions(20)
        g.run(f'ping -q -c 30 -i 0.05 -W 1 {GATEWAY}', timeout=60)
        st = v.stats()
        r.check(f'{name}: host dropped 20 completions', st['dropped_completions'] == 20, str(st))
        ok, out = ping_ok(g)
        r.check(f'{name}: ping still 0% loss with 20 sections lost', ok, out)

        # All of them lost: the data sections run out, the queue stops
        # (tx_busy) instead of overwriting sections the host may still read.
        v.drop_completions(1_000_000)
        s0 = ethtool_stats(g, syn)
        g.run(f'ping -q -c 300 -i 0.01 -W 1 {GATEWAY}', timeout=60)
        s1 = ethtool_stats(g, syn)
        sent = s1['tx_packets'] - s0['tx_packets']
        r.check(f'{name}: sends stop when the data sections are used up',
                0 < sent <= sections and s1['tx_busy'] > s0['tx_busy'],
                f'sent {sent}, data sections {sections - 21}, tx_busy {s0["tx_busy"]}->{s1["tx_busy"]}')
        rc, out = g.run(f'ping -c 2 -W 1 {GATEWAY}', timeout=30)
        r.check(f'{name}: stalled queue sends nothing more', rc != 0, out)
        # Remove does not wait for the host: it reclaims everything. Closing
        # the interface waits once for the (dropped) filter completion.
        t0 = time.monotonic()
        rc, out = g.run(f'echo 0 > {v.path}/enable', timeout=60)
        took = time.monotonic() - t0
        r.check(f'{name}: disable with sections outstanding completes in < 30 s',
                rc == 0 and took < 30, f'{took:.1f} s {out}')
        r.check(f'{name}: interface gone', v.netdev() is None)
        v.drop_completions(0)
        syn, ok, out = bring_up(g, v, up)
        r.check(f'{name}: re-enabled vNIC gets DHCP again', ok, out)
        ok, out = ping_ok(g)
        r.check(f'{name}: and pings 0% loss', ok, out)

        # The host rescinds the channel under traffic: every send fails from
        # then on, and the driver's remove must still finish and give back
        # every GPADL.
        g.sh(TRAFFIC)
        time.sleep(1)
        mark = g.mark()
        t0 = time.monotonic()
        rc, out = g.run(f'echo 1 > {v.path}/rescind', timeout=60)
        took = time.monotonic() - t0
        g.sh('kill $(cat /tmp/traffic.pid) 2>/dev/null; killall ping 2>/dev/null; true')
        r.check(f'{name}: a rescinded channel is torn down in bounded time (< 30 s)',
                rc == 0 and took < 30 and v.netdev() is None, f'{took:.1f} s {out}')
        left = [l for l in g.console_since(mark) if 'GPADL(s) established' in l]
        r.check(f'{name}: ... with every GPADL torn down', not left, '\n'.join(left))
        syn, ok, out = bring_up(g, v, up)
        r.check(f'{name}: the vNIC offered again after a rescind gets DHCP', ok, out)
        v.disable()

        # A host that never answers INIT: probe gives up after 10 s.
        v.write('drop_init', 1)
        mark = g.mark()
        t0 = time.monotonic()
        rc, out = g.run(f'echo 1 > {v.path}/enable', timeout=60)
        took = time.monotonic() - t0
        r.check(f'{name}: enable fails when INIT is never answered', rc != 0, out)
        r.check(f'{name}: ... in bounded time (10 s timeout, < 25 s)', 9 <= took < 25, f'{took:.1f} s')
        r.check(f'{name}: ... with the timeout logged',
                bool(wait_lines(g, r'hv_netvsc_rs: host did not answer a control request', mark)))
        st = v.stats()
        r.check(f'{name}: ... leaving nothing registered or open',
                st['enabled'] == 0 and st['open'] == 0 and v.netdev() is None, str(st))
        v.write('drop_init', 0)
        v.enable()
        r.check(f'{name}: enable works once the host answers', v.netdev() is not None)
        v.disable()
        teardown(ctx, name, g)
    check_clean(ctx, name, g)


# -- ring-flow -------------------------------------------------------------------

def inject_frames(g: Guest, v: sim.Vnic, n: int) -> int:
    """Has the host deliver `n` RNDIS data packets (frames to eth0's MAC
    of a local experimental ethertype, which the stack drops without an
    answer), each in a receive section; returns how many it took."""
    mac = bytes.fromhex(VNIC_MAC.replace(':', ''))
    frame = mac + bytes.fromhex('020000000001') + b'\x88\xb5' + bytes(46)
    hexmsg = rndis_packet(b'', frame=frame).hex()
    out = g.sh(f'i=0; while [ $i -lt {n} ]; do echo {hexmsg} > {v.path}/inject_rndis '
               f'2>/dev/null || break; i=$((i+1)); done; echo $i', timeout=300)
    return int(out.split()[-1])


@scenario('ring-flow')
def ring_flow(ctx: Context) -> None:
    """Flow control on a full guest->host ring (issue 9 item 7): with the
    host's ring small and not read, receive completions that find it full
    wait instead of being lost, a TX queue stopped with no send outstanding
    is woken by the host's ring-space signal, and under traffic on a small
    ring every receive section comes back and no packet stays unread."""
    r = ctx.report
    name = 'ring-flow'
    with ctx.guest(name, qemu_args=UPLINK_QEMU) as g:
        v, syn, up = start_vnic(ctx, name, g)
        g.sh(f'ping -c 1 -W 2 {GATEWAY} >/dev/null; true')

        # A busy host: it stops reading a guest->host ring of 8 KiB, then
        # delivers 1000 frames; their completions fill the ring.
        v.write('ring_limit', 8192)
        v.write('hold_ring', 1)
        n = inject_frames(g, v, 1000)
        st = v.stats()
        r.check(f'{name}: the host delivered 1000 frames with its ring held', n == 1000, f'{n}')
        r.check(f'{name}: ... and the guest found the ring full',
                st['guest_ring_full'] > 0, f'guest_ring_full {st["guest_ring_full"]}')
        s0 = ethtool_stats(g, syn)
        r.check(f'{name}: completions that met the full ring wait (rx_comp_busy)',
                s0.get('rx_comp_busy', 0) > 0, str(s0))
        # A send now finds the ring full with none of ours outstanding: only
        # the host's ring-space signal can wake the queue.
        g.run(f'ping -c 1 -W 1 {GATEWAY}', timeout=30)
        v.write('hold_ring', 0)
        time.sleep(2)
        st = v.stats()
        r.check(f'{name}: released, every receive section comes back (none lost)',
                st['sections_in_use'] == 0,
                f'sections_in_use {st["sections_in_use"]}, space_signals {st["space_signals"]}')
        r.check(f'{name}: ... announced by the host\'s ring-space signal',
                st['space_signals'] > 0, f'space_signals {st["space_signals"]}')
        ok, out = ping_ok(g)
        r.check(f'{name}: the TX queue stopped with nothing outstanding is woken: ping 0% loss',
                ok, out)
        s1 = ethtool_stats(g, syn)
        r.check(f'{name}: ... by the signal (wake_queue)', s1.get('wake_queue', 0) > 0, str(s1))

        # Traffic both ways on the small ring, read by the host.
        s0 = ethtool_stats(g, syn)
        g.run(f'ping -q -c 400 -i 0.005 -s 1200 -W 1 {GATEWAY}', timeout=120)
        n = inject_frames(g, v, 500)
        time.sleep(2)
        st = v.stats()
        r.check(f'{name}: after traffic on the small ring no section is outstanding',
                n == 500 and st['sections_in_use'] == 0,
                f'injected {n}, sections_in_use {st["sections_in_use"]}')
        r.check(f'{name}: ... no packet left unread in the host->guest ring',
                st['ring_to_guest_bytes'] == 0, f'ring_to_guest_bytes {st["ring_to_guest_bytes"]}')
        r.check(f'{name}: the guest masks signals while it polls (masked_signals)',
                st['masked_signals'] > 0, f'masked_signals {st["masked_signals"]}')
        ok, out = ping_ok(g)
        r.check(f'{name}: ping 0% loss after it', ok, out)
        v.write('ring_limit', 0)
        teardown(ctx, name, g)
    check_clean(ctx, name, g)
