# SPDX-License-Identifier: GPL-2.0
"""Scenarios of the emulated Hyper-V host (tests/kernel/patches, docs/emulator.md)."""

import time
from typing import Optional

from . import ktap
from .guest import Guest
from .scenarios import Context, check_clean, scenario

UNEXPECTED = '/sys/module/hv_emu/parameters/unexpected'
DETECTED = 'Hypervisor detected: Microsoft Hyper-V'


def _read(g: Guest, path: str) -> str:
    rc, out = g.run(f'cat {path}')
    return out.strip() if rc == 0 else f'(rc {rc}) {out.strip()}'


@scenario('hv-emu-boot')
def hv_emu_boot(ctx: Context) -> None:
    """The test kernel's emulated-host hooks. Without `hv_emu` they are inert
    (no Hyper-V detected, nothing counted); with it Hyper-V is detected from
    the emulator's constants, boot runs Hyper-V's init through the hooks
    without one unhandled MSR or hypercall, the SSDT gives the VMBus ACPI
    device, and VMBus waits for an emulator instead of starting."""
    r = ctx.report
    with ctx.guest('hv-emu-boot/plain', time_limit=300) as g:
        con = g.console()
        r.check('hv-emu-boot: plain boot: the hooks are built in, nothing counted',
                _read(g, UNEXPECTED) == '0', _read(g, UNEXPECTED))
        r.check('hv-emu-boot: plain boot: no Hyper-V detected, no hv_emu line',
                not any(DETECTED in l or 'hv_emu:' in l for l in con),
                '\n'.join(l for l in con if 'yper' in l or 'hv_emu' in l))
    check_clean(ctx, 'hv-emu-boot: plain boot', g)
    with ctx.guest('hv-emu-boot/emu', hv_emu=True, time_limit=300) as g:
        con = g.console()
        r.check('hv-emu-boot: emulated host requested and detected',
                any('hv_emu: emulated Hyper-V host requested' in l for l in con)
                and any(DETECTED in l for l in con),
                '\n'.join(con[-40:]))
        # features HYPERCALL|VP_INDEX|SYNIC, priv POST_MESSAGES|SIGNAL_EVENTS,
        # hints DEPRECATING_AEOI_RECOMMENDED: nothing taken from CPUID.
        flags = 'privilege flags low 0x64, high 0x30, ext 0x0, hints 0x200, misc 0x0'
        r.check('hv-emu-boot: the emulator\'s feature set, not CPUID\'s',
                any(flags in l for l in con),
                '\n'.join(l for l in con if 'privilege flags' in l))
        r.check('hv-emu-boot: VMBus waits for an emulator',
                any('hv_emu: VMBus waits for an emulator' in l for l in con))
        r.check('hv-emu-boot: the SSDT gives the VMBUS ACPI device',
                g.run('test -e /sys/bus/acpi/devices/VMBUS:00')[0] == 0,
                g.run('ls /sys/bus/acpi/devices')[1])
        r.check('hv-emu-boot: no VMBus bus before an emulator starts it',
                g.run('test -e /sys/bus/vmbus')[0] != 0)
        r.check('hv-emu-boot: SLUB sanity checks on (slub_debug=FZ)',
                _read(g, '/sys/kernel/slab/kmalloc-64/sanity_checks') == '1',
                _read(g, '/sys/kernel/slab/kmalloc-64/sanity_checks'))
        r.check('hv-emu-boot: no unexpected MSR or hypercall',
                _read(g, UNEXPECTED) == '0', _read(g, UNEXPECTED))
    r.check('hv-emu-boot: guest powered off within its time limit', not g.time_limit_hit)
    check_clean(ctx, 'hv-emu-boot: emulated host', g)


HOST_PARAMS = '/sys/module/hv_emu_host/parameters'
NIC_CLASS = '{f8615163-df3e-46c5-913f-f2d2f965ed0e}'


def _version(v: int) -> str:
    return f'{v >> 16}.{v & 0xffff}'


def _stats(g: Guest) -> dict:
    """The host module's `stats` line as a dict of its name/value pairs."""
    words = _read(g, f'{HOST_PARAMS}/stats').split()
    return dict(zip(words[::2], words[1::2]))


# The VMBus versions Linux 7.3 offers, newest first (drivers/hv/connection.c),
# up to hv_vmbus.max_version.
GUEST_VERSIONS = [6 << 16, (5 << 16) | 3, (5 << 16) | 2, (5 << 16) | 1, 5 << 16,
                  (4 << 16) | 1, 4 << 16]


def _hyp_irqs(g: Guest) -> list:
    """Per-CPU counts of /proc/interrupts' HYP line (Hypervisor callback
    interrupts: sysvec_hyperv_callback, the SINT vector), [] if absent."""
    for line in g.run('cat /proc/interrupts')[1].splitlines():
        f = line.split()
        if f and f[0] == 'HYP:':
            return [int(x) for x in f[1:] if x.isdigit()]
    return []


def _kunit(ctx: Context, label: str, lines: list) -> None:
    """Each KUnit case the module ran at load (its hypercall input checks,
    its ring reader's and writer's checks)."""
    r = ctx.report
    res = ktap.parse(ctx.ksrc, lines)
    for case in res.cases:
        r.check(f'kunit {case.suite}.{case.name}', case.ok, case.status)
    for suite in ('hv_emu_host_hypercall', 'hv_emu_host_ring'):
        r.check(f'{label}: the KUnit suite {suite} ran',
                any(c.suite == suite for c in res.cases) and not res.errors, res.report)


def _vmbus_emu_boot(ctx: Context, name: str, cap: Optional[int], nic: bool,
                    kunit: bool = False) -> None:
    """One emulated-host boot: insmod hv_emu_host (host versions capped at
    `cap`, one NIC offer if `nic`); the guest's newer offers are refused and
    VMBus connects at the first one within the cap; the bus shows the NIC
    offer or nothing; rmmod unloads VMBus."""
    r = ctx.report
    label = f'vmbus-emu: {name}'
    params = ' '.join(([f'max_version={cap}'] if cap is not None else [])
                      + (['nic_offers=1'] if nic else []))
    with ctx.guest(f'vmbus-emu/{name}', hv_emu=True, time_limit=420) as g:
        guest_max = int(_read(g, '/sys/module/hv_vmbus/parameters/max_version'))
        offered = [v for v in GUEST_VERSIONS if v <= guest_max]
        refused = [v for v in offered if cap is not None and v > cap]
        want_version = offered[len(refused)]
        g.leak_baseline()
        hyp0 = _hyp_irqs(g)
        mark = g.mark()
        t0 = time.monotonic()
        rc, out = g.run(f'insmod /modules/hv_emu_host.ko {params}'.strip(), timeout=200)
        took = time.monotonic() - t0
        con = g.console_since(mark)
        r.check(f'{label}: insmod hv_emu_host starts VMBus', rc == 0,
                out + '\n'.join(con[-30:]))
        if kunit:
            _kunit(ctx, label, con)
        lines = [l for l in con if 'Vmbus version:' in l]
        r.check(f'{label}: the guest negotiated VMBus {_version(want_version)} with the host',
                len(lines) == 1 and lines[0].endswith(f'Vmbus version:{_version(want_version)}'),
                '\n'.join(lines) or '\n'.join(con[-30:]))
        for v in refused:
            r.check(f'{label}: the host refused {_version(v)} first',
                    any(l.endswith(f'hv_emu_host: version {_version(v)} refused') for l in con),
                    '\n'.join(l for l in con if 'hv_emu_host' in l))
        st = _stats(g)
        r.check(f'{label}: the host is connected at that version, messages to VP 0',
                st.get('connected') == '1' and st.get('version') == _version(want_version)
                and st.get('target_vp') == '0', str(st))
        # INITIATE_CONTACT per version tried, REQUESTOFFERS; VERSION_RESPONSE
        # per version tried, the offers, ALLOFFERS_DELIVERED.
        tries = len(refused) + 1
        r.check(f'{label}: every guest message arrived, every host answer was delivered',
                st.get('posted') == str(tries + 1)
                and st.get('delivered') == str(tries + 1 + int(nic)), str(st))
        # Each delivery sent one IPI; two sent before the first was taken
        # make one interrupt, so at least one and at most one per message.
        hyp1 = _hyp_irqs(g)
        rose = [b - a for a, b in zip(hyp0, hyp1)]
        r.check(f'{label}: the messages came as Hypervisor callback interrupts on VP 0 only',
                len(rose) == len(hyp0) > 0 and 1 <= rose[0] <= int(st.get('delivered', 0))
                and not any(rose[1:]), f'HYP before {hyp0} after {hyp1}, {st}')
        r.check(f'{label}: no HvSignalEvent (no channel is open), no hypercall refused',
                st.get('signal') == '0' and st.get('rejected') == '0', str(st))
        if nic:
            # The offer and ALLOFFERS_DELIVERED are queued together: the
            # second meets the first in the slot, waits for its EOM.
            r.check(f'{label}: a busy slot got msg_pending, the guest EOM\'d, the next came',
                    int(st.get('pending', 0)) >= 1 and int(st.get('eom', 0)) >= 1, str(st))
        r.check(f'{label}: ALLOFFERS_DELIVERED ended the offer wait (no 60 s timeout)',
                not any('timed out waiting for all boot-time offers' in l for l in con)
                and took < 55, f'insmod took {took:.0f} s')
        r.check(f'{label}: /sys/bus/vmbus exists', g.run('test -d /sys/bus/vmbus')[0] == 0)
        devs = g.run('ls /sys/bus/vmbus/devices')[1].split()
        if nic:
            cls = [_read(g, f'/sys/bus/vmbus/devices/{d}/class_id') for d in devs]
            r.check(f'{label}: one vmbus device, of the synthetic NIC class',
                    cls == [NIC_CLASS], f'{devs} {cls}')
        else:
            r.check(f'{label}: no vmbus device (no offers)', devs == [], str(devs))
        r.check(f'{label}: no unexpected MSR or hypercall (hv_emu)',
                _read(g, UNEXPECTED) == '0', _read(g, UNEXPECTED))
        r.check(f'{label}: nothing unexpected at the host (hv_emu_host)',
                _read(g, f'{HOST_PARAMS}/unexpected') == '0',
                _read(g, f'{HOST_PARAMS}/unexpected'))
        mark = g.mark()
        rc, out = g.run('rmmod hv_emu_host', timeout=120)
        con = g.console_since(mark)
        r.check(f'{label}: rmmod unloads VMBus (UNLOAD answered) and the host',
                rc == 0 and any('hv_emu_host: guest unloads VMBus' in l for l in con)
                and any('hv_emu_host: stopped' in l for l in con)
                and g.run(f'test -e {HOST_PARAMS}')[0] != 0,
                out + '\n'.join(con[-20:]))
        r.check(f'{label}: still no unexpected MSR or hypercall after rmmod',
                _read(g, UNEXPECTED) == '0', _read(g, UNEXPECTED))
        leaks = g.leaks()
        r.check(f'{label}: kmemleak finds nothing', not leaks, '\n'.join(leaks[:10]))
    r.check(f'{label}: guest powered off within its time limit', not g.time_limit_hit)
    check_clean(ctx, label, g)


@scenario('vmbus-emu')
def vmbus_emu(ctx: Context) -> None:
    """The real hv_vmbus against the emulated host module (tests/emu,
    docs/emulator.md): SynIC set up through the module, VMBus version
    negotiated by messages posted with HvPostMessage and delivered into
    the SynIC message page with an IPI, offers requested and completed,
    unloaded on rmmod. A second boot caps the host at 5.2 so the guest's
    first two offers are refused, and makes one synthetic NIC offer."""
    if 'hv_emu_host' not in ctx.modules:
        ctx.report.check('vmbus-emu: hv_emu_host.ko was built', False,
                         'needs a kernel with CONFIG_HYPERV_EMU')
        return
    _vmbus_emu_boot(ctx, 'newest', None, nic=False, kunit=True)
    _vmbus_emu_boot(ctx, 'capped', (5 << 16) | 2, nic=True)


DRV = '/sys/bus/vmbus/drivers/hv_netvsc'
ALREADY = 'a VMBus driver named hv_netvsc is registered already'


@scenario('vmbus-emu-drivers')
def vmbus_emu_drivers(ctx: Context) -> None:
    """Our module and upstream hv_netvsc on the real VMBus stack, against
    the emulated host with one NIC offered (issue 9 items 1-3): the host
    sets up GPADLs, opens the channel, reads our NVSP INIT from the ring
    but does not answer it (`nvsp_init_reply=0`), so our
    probe runs vmbus_open, times out at NVSP INIT and closes; upstream's
    open is refused (it would wait for NVSP forever). Ours is loaded
    after the offer, so its probe runs inside module init; it registers as
    `hv_netvsc` with the NIC class alias; it refuses to load beside
    upstream; and it binds after upstream used the channel without freeing
    upstream's requestor again (slub_debug=FZ)."""
    r = ctx.report
    name = 'vmbus-emu-drivers'
    if 'hv_emu_host' not in ctx.modules:
        r.check(f'{name}: hv_emu_host.ko was built', False, 'needs a kernel with CONFIG_HYPERV_EMU')
        return
    with ctx.guest(name, hv_emu=True, time_limit=600) as g:
        g.leak_baseline()
        rc, out = g.run('insmod /modules/hv_emu_host.ko nic_offers=1', timeout=200)
        r.check(f'{name}: VMBus up with one NIC offered', rc == 0
                and len(g.run('ls /sys/bus/vmbus/devices')[1].split()) == 1, out)
        dev = g.run('ls /sys/bus/vmbus/devices')[1].split()[0]

        # Ours, loaded after the offer: probe runs inside insmod.
        mark = g.mark()
        rc, out = g.run('insmod /modules/hv_netvsc_rs.ko', timeout=120)
        con = g.console_since(mark)
        r.check(f'{name}: insmod hv_netvsc_rs with the NIC already offered', rc == 0,
                out + '\n'.join(con[-20:]))
        probe = [l for l in con if f'{dev}: probe with driver hv_netvsc failed' in l]
        r.check(f'{name}: its probe ran from module init (vmbus_open, NVSP INIT timed out, closed)',
                bool(probe) and any('host did not answer a control request' in l for l in con)
                and any('hv_emu_host: channel 1 opened' in l for l in con)
                and any('hv_emu_host: channel 1 closed' in l for l in con),
                '\n'.join(con[-30:]))
        st = _stats(g)
        r.check(f'{name}: the host read our first NVSP INIT from the ring and left it '
                f'unanswered (nvsp_init_reply=0)',
                [v for v, _ in _inits(con, 'read')] == [_nvsp_versions(ctx.ksrc)[0]]
                and st.get('pkt_read') == '1' and st.get('pkt_written') == '0'
                and st.get('ring_error') == '0', f'{_inits(con, "read")} {st}')
        r.check(f'{name}: ... every GPADL it made torn down',
                st.get('open') == '1' and st.get('close') == '1'
                and st.get('gpadl_created') == st.get('gpadl_torndown') != '0', str(st))
        r.check(f'{name}: the VMBus driver is named hv_netvsc and is ours',
                g.run(f'readlink {DRV}/module')[1].strip().endswith('/hv_netvsc_rs'),
                g.run(f'ls -l {DRV}')[1])
        modalias = _read(g, f'/sys/bus/vmbus/devices/{dev}/modalias')
        from .scenarios import NIC_ALIAS
        r.check(f'{name}: the device\'s modalias is the alias our module carries',
                modalias == NIC_ALIAS, modalias)
        rc, out = g.run('rmmod hv_netvsc_rs', timeout=60)
        r.check(f'{name}: rmmod hv_netvsc_rs', rc == 0, out)

        # Upstream's driver on the same channel (the host refuses its open:
        # upstream waits for NVSP INIT's answer without a timeout, and this
        # host leaves it unanswered with nvsp_init_reply=0; vmbus-emu-rings
        # has it refused instead), then ours beside it.
        g.sh(f'echo 1 > {HOST_PARAMS}/open_status')
        mark = g.mark()
        rc, out = g.run('modprobe hv_netvsc', timeout=180)
        con = g.console_since(mark)
        st = _stats(g)
        r.check(f'{name}: upstream hv_netvsc probes the same channel (open refused, cleaned up)',
                rc == 0 and st.get('open') == '1'
                and any(f'{dev}: probe with driver hv_netvsc failed' in l for l in con)
                and st.get('gpadl_created') == st.get('gpadl_torndown'),
                f'{out} {st}\n' + '\n'.join(con[-20:]))
        g.sh(f'echo 0 > {HOST_PARAMS}/open_status')
        mark = g.mark()
        rc, out = g.run('insmod /modules/hv_netvsc_rs.ko', timeout=60)
        con = g.console_since(mark)
        r.check(f'{name}: ours refuses to load beside upstream, saying why',
                rc != 0 and any(ALREADY in l for l in con), out + '\n'.join(con[-10:]))
        rc, out = g.run('rmmod hv_netvsc', timeout=60)
        r.check(f'{name}: rmmod hv_netvsc', rc == 0, out)

        # Ours after upstream used the channel: upstream's requestor arrays
        # were freed when its open failed, and left in the channel; ours
        # must not free them again (SLUB reports it with slub_debug=FZ).
        mark = g.mark()
        rc, out = g.run('insmod /modules/hv_netvsc_rs.ko && rmmod hv_netvsc_rs', timeout=120)
        con = g.console_since(mark)
        st = _stats(g)
        r.check(f'{name}: ours probes after upstream and unloads, no double free',
                rc == 0 and st.get('open') == '2' and st.get('close') == '2'
                and not any('BUG ' in l or 'double free' in l.lower() for l in con),
                f'{out} {st}\n' + '\n'.join(con[-20:]))
        r.check(f'{name}: every GPADL torn down',
                st.get('gpadl_created') == st.get('gpadl_torndown'), str(st))
        r.check(f'{name}: nothing unexpected at the host, no unhandled MSR or hypercall',
                _read(g, f'{HOST_PARAMS}/unexpected') == '0' and _read(g, UNEXPECTED) == '0',
                f'{_read(g, f"{HOST_PARAMS}/unexpected")} {_read(g, UNEXPECTED)}')
        rc, out = g.run('rmmod hv_emu_host', timeout=120)
        r.check(f'{name}: rmmod hv_emu_host', rc == 0, out)
        leaks = g.leaks()
        r.check(f'{name}: kmemleak finds nothing', not leaks, '\n'.join(leaks[:10]))
    r.check(f'{name}: guest powered off within its time limit', not g.time_limit_hit)
    check_clean(ctx, name, g)


def _nvsp_versions(ksrc: str) -> list:
    """The NVSP versions upstream's netvsc_connect_vsp() tries, in its order
    (newest first: it walks `ver_list` backwards), as numbers, read from
    the kernel source (netvsc.c's list, hyperv_net.h's values)."""
    import os
    import re
    hv = os.path.join(ksrc, 'drivers', 'net', 'hyperv')
    with open(os.path.join(hv, 'netvsc.c')) as f:
        m = re.search(r'static const u32 ver_list\[\] = \{(.*?)\};', f.read(), re.S)
    names = re.findall(r'NVSP_PROTOCOL_VERSION_\w+', m.group(1)) if m else []
    with open(os.path.join(hv, 'hyperv_net.h')) as f:
        defs = dict(re.findall(r'#define\s+(NVSP_PROTOCOL_VERSION_\w+)\s+(0x[0-9a-fA-F]+|\d+)\b',
                              f.read()))
    return [int(defs[n], 0) for n in reversed(names) if n in defs]


def _inits(con: list, what: str) -> list:
    """(version, transaction) of each `NVSP INIT ... refused` line (what =
    'refused') or each `... read, not answered` line (transaction None)."""
    import re
    out = []
    for l in con:
        m = re.search(r'hv_emu_host: relid 1: NVSP INIT (0x[0-9a-f]+) '
                      r'(refused \(transaction (\d+)\)|read, not answered)', l)
        if m and m.group(2).startswith(what):
            out.append((int(m.group(1), 16), int(m.group(3)) if m.group(3) else None))
    return out


@scenario('vmbus-emu-rings')
def vmbus_emu_rings(ctx: Context) -> None:
    """The emulated host reads and writes the NIC channel's rings: with
    `nvsp_init_reply=1` it reads each NVSP INIT from the guest's outbound
    ring on the guest's HvSignalEvent and answers it with an INIT_COMPLETE
    of status NVSP_STAT_FAIL, a completion packet written into the inbound
    ring with the request's transaction id and signalled through the SIEFP
    page and the SINT's vector. Ours fails its probe at once (well under its
    10 s control timeout) saying the host accepts none of its versions;
    upstream hv_netvsc, which waits for each answer without a timeout,
    tries every version of its list, gets a refusal for each and fails its
    probe cleanly. Each closes the channel and tears every GPADL down."""
    r = ctx.report
    name = 'vmbus-emu-rings'
    if 'hv_emu_host' not in ctx.modules:
        r.check(f'{name}: hv_emu_host.ko was built', False, 'needs a kernel with CONFIG_HYPERV_EMU')
        return
    upstream_versions = _nvsp_versions(ctx.ksrc)
    r.check(f'{name}: upstream\'s NVSP version list read from netvsc.c',
            len(upstream_versions) >= 2, str(upstream_versions))
    with ctx.guest(name, hv_emu=True, time_limit=600) as g:
        g.leak_baseline()
        rc, out = g.run('insmod /modules/hv_emu_host.ko nic_offers=1 nvsp_init_reply=1',
                        timeout=200)
        devs = g.run('ls /sys/bus/vmbus/devices')[1].split()
        r.check(f'{name}: VMBus up with one NIC offered', rc == 0 and len(devs) == 1, out)
        nets0 = g.run('ls /sys/class/net')[1].split()

        # Ours: six INITs refused at once, the probe gives up, no timeout.
        mark = g.mark()
        t0 = time.monotonic()
        rc, out = g.run('insmod /modules/hv_netvsc_rs.ko', timeout=120)
        took = time.monotonic() - t0
        con = g.console_since(mark)
        st = _stats(g)
        ours = _inits(con, 'refused')
        r.check(f'{name}: insmod hv_netvsc_rs', rc == 0, out + '\n'.join(con[-20:]))
        r.check(f'{name}: ours reports the refusal ("host accepts none of our NVSP versions"), '
                f'no control timeout',
                any('hv_netvsc_rs: host accepts none of our NVSP versions' in l for l in con)
                and not any('host did not answer a control request' in l for l in con),
                '\n'.join(con[-30:]))
        r.check(f'{name}: ... promptly (insmod well under the 10 s timeout)', took < 6,
                f'insmod took {took:.1f} s')
        r.check(f'{name}: the host read and refused each of our INITs, newest first, '
                f'the same versions as upstream\'s list',
                [v for v, _ in ours] == upstream_versions
                and st.get('nvsp_init') == str(len(ours)),
                f'{ours} {upstream_versions} {st}')
        r.check(f'{name}: each refusal carried its request\'s transaction id (all distinct)',
                len(ours) > 0 and len({t for _, t in ours}) == len(ours), str(ours))
        r.check(f'{name}: ring counters: every guest packet read, every answer written and '
                f'signalled, no ring error',
                int(st.get('pkt_read', -1)) == len(ours)
                and int(st.get('pkt_written', -1)) == len(ours)
                and int(st.get('guest_signal', -1)) >= 1
                and int(st.get('chan_signal', -1)) >= 1
                and st.get('ring_error') == '0' and st.get('ring_full') == '0', str(st))
        r.check(f'{name}: ours opened and closed the channel, every GPADL torn down',
                st.get('open') == '1' and st.get('close') == '1'
                and st.get('gpadl_created') == st.get('gpadl_torndown') != '0', str(st))
        rc, out = g.run('rmmod hv_netvsc_rs', timeout=60)
        r.check(f'{name}: rmmod hv_netvsc_rs', rc == 0, out)

        # Upstream: it waits for each INIT's answer without a timeout; a
        # refusal for each version of its list and it fails its probe.
        mark = g.mark()
        t0 = time.monotonic()
        rc, out = g.run('modprobe hv_netvsc', timeout=180)
        took = time.monotonic() - t0
        con = g.console_since(mark)
        st1 = _stats(g)
        up = _inits(con, 'refused')
        r.check(f'{name}: modprobe hv_netvsc returns (no wait for an answer that never comes)',
                rc == 0 and took < 60, f'rc {rc} {took:.1f} s {out}\n' + '\n'.join(con[-20:]))
        r.check(f'{name}: upstream tried every version of its list, newest first, each refused',
                [v for v, _ in up] == upstream_versions
                and int(st1.get('nvsp_init', 0)) - int(st.get('nvsp_init', 0)) == len(up),
                f'{up} {upstream_versions} {st1}')
        r.check(f'{name}: upstream\'s probe failed cleanly (EPROTO, no interface)',
                any(f'{devs[0]}: probe with driver hv_netvsc failed with error -71' in l
                    for l in con)
                and g.run('ls /sys/class/net')[1].split() == nets0,
                '\n'.join(con[-20:]) + g.run('ls /sys/class/net')[1])
        r.check(f'{name}: upstream opened and closed the channel, every GPADL torn down',
                st1.get('open') == '2' and st1.get('close') == '2'
                and st1.get('gpadl_created') == st1.get('gpadl_torndown'), str(st1))
        r.check(f'{name}: ring counters after upstream: no ring error, nothing left unread',
                int(st1.get('pkt_read', -1)) == int(st1.get('nvsp_init', -2))
                and int(st1.get('pkt_written', -1)) == int(st1.get('nvsp_init', -2))
                and st1.get('ring_error') == '0', str(st1))
        rc, out = g.run('rmmod hv_netvsc', timeout=60)
        r.check(f'{name}: rmmod hv_netvsc', rc == 0, out)

        # The API (tests/emu/hv_emu_host.h): a device model in another
        # module offers a second NIC at runtime and refuses INIT itself.
        model = '/sys/module/hv_emu_nic_model/parameters/stats'
        if 'hv_emu_nic_model' not in ctx.modules:
            r.check(f'{name}: hv_emu_nic_model.ko was built', False, str(ctx.modules))
        else:
            mark = g.mark()
            rc, out = g.run('insmod /modules/hv_emu_nic_model.ko', timeout=60)
            time.sleep(2)
            con = g.console_since(mark)
            devs2 = g.run('ls /sys/bus/vmbus/devices')[1].split()
            new = [d for d in devs2 if d not in devs]
            cls = [_read(g, f'/sys/bus/vmbus/devices/{d}/class_id') for d in new]
            r.check(f'{name}: a device model offers a NIC at runtime (relid 2, a second '
                    f'vmbus device of the NIC class)',
                    rc == 0 and cls == [NIC_CLASS]
                    and any('hv_emu_nic_model: offered a NIC, relid 2' in l for l in con),
                    f'{out} {devs2} {cls}\n' + '\n'.join(con[-10:]))
            mark = g.mark()
            rc, out = g.run('insmod /modules/hv_netvsc_rs.ko', timeout=120)
            con = g.console_since(mark)
            ms = dict(zip(_read(g, model).split()[::2], _read(g, model).split()[1::2]))
            r.check(f'{name}: ours probes both NICs; the model saw the open, our '
                    f'{len(upstream_versions)} INITs, refused each through '
                    f'hv_emu_chan_send(), and the close',
                    rc == 0 and sum('host accepts none of our NVSP versions' in l
                                    for l in con) == 2
                    and ms.get('opened') == '1' and ms.get('closed') == '1'
                    and ms.get('inits') == str(len(upstream_versions))
                    and ms.get('refused') == ms.get('inits') == ms.get('packets'),
                    f'{ms}\n' + '\n'.join(con[-30:]))
            rc, out = g.run('rmmod hv_netvsc_rs', timeout=60)
            r.check(f'{name}: rmmod hv_netvsc_rs (two devices)', rc == 0, out)
            mark = g.mark()
            rc, out = g.run('rmmod hv_emu_nic_model', timeout=60)
            con = g.console_since(mark)
            st2 = _stats(g)
            r.check(f'{name}: rmmod of the model rescinds its channel, the guest releases '
                    f'the relid, the device goes',
                    rc == 0 and any('hv_emu_nic_model: removed relid 2: 0' in l for l in con)
                    and st2.get('rescind') == '1' and st2.get('released') == '1'
                    and g.run('ls /sys/bus/vmbus/devices')[1].split() == devs
                    and st2.get('gpadl_created') == st2.get('gpadl_torndown'),
                    f'{out} {st2}\n' + '\n'.join(con[-10:]))
        r.check(f'{name}: nothing unexpected at the host, no unhandled MSR or hypercall',
                _read(g, f'{HOST_PARAMS}/unexpected') == '0' and _read(g, UNEXPECTED) == '0',
                f'{_read(g, f"{HOST_PARAMS}/unexpected")} {_read(g, UNEXPECTED)}')
        rc, out = g.run('rmmod hv_emu_host', timeout=120)
        r.check(f'{name}: rmmod hv_emu_host', rc == 0, out)
        leaks = g.leaks()
        r.check(f'{name}: kmemleak finds nothing', not leaks, '\n'.join(leaks[:10]))
    r.check(f'{name}: guest powered off within its time limit', not g.time_limit_hit)
    check_clean(ctx, name, g)


def _wait_netdev(g: Guest, dev: str, secs: int = 60) -> str:
    """The net interface of VMBus device `dev` once it appears ('' if not)."""
    return g.sh(f'for i in $(seq {secs * 5}); do n=$(ls /sys/bus/vmbus/devices/{dev}/net 2>/dev/null);'
                f' [ -n "$n" ] && break; sleep 0.2; done; echo $n', timeout=secs + 30).strip()


def _emu_synthetic_traffic(g: Guest, r, name: str, who: str, ifname: str) -> None:
    """DHCP through the vNIC's uplink, then ping the gateway."""
    from .scenarios import UDHCPC_SCRIPT
    g.sh(f'ip link set {ifname} up')
    g.sh(f"printf '%s\\n' '#!/bin/sh' '{UDHCPC_SCRIPT}' > /tmp/udhcpc.sh; chmod +x /tmp/udhcpc.sh")
    rc, out = g.run(f'udhcpc -i {ifname} -n -q -t 5 -T 2 -s /tmp/udhcpc.sh', timeout=90)
    ip = g.sh(f'ip -4 -br addr show {ifname}')
    r.check(f'{name}: {who}: DHCP through the uplink gives 10.0.2.15',
            rc == 0 and '10.0.2.15/' in ip, out + ip)
    rc, out = g.run('ping -c 20 -i 0.2 -W 2 10.0.2.2', timeout=90)
    r.check(f'{name}: {who}: ping gateway, 0% loss', rc == 0 and ' 0% packet loss' in out, out)


@scenario('emu-synthetic')
def emu_synthetic(ctx: Context) -> None:
    """The simulated netvsc host (hv_netvsc_sim, transport `vmbus`) on the
    emulated VMBus (issue 10 items 2 and 4): the vNIC is a VMBus channel of
    the synthetic NIC class offered through hv_emu_host, with nothing of
    our driver's seam in between. Our module binds it through hv_vmbus and
    vmbus/hyperv.rs, with the NVSP/RNDIS host reading and writing the real
    rings and the GPADL'd receive/send buffers: eth0 with the vNIC's MAC,
    DHCP and ping through QEMU's user network, a TCP stream; its rmmod
    tears down in Hyper-V's order. Then upstream hv_netvsc on the same
    vNIC: eth0, DHCP, ping. Then the vNIC's removal is a rescind."""
    from . import sim
    from .scenarios import UPLINK_QEMU, VNIC_MAC, FRIENDLY_NAME, tcp_transfer
    r = ctx.report
    name = 'emu-synthetic'
    for m in ('hv_emu_host', 'hv_netvsc_sim'):
        if m not in ctx.modules:
            r.check(f'{name}: {m}.ko was built', False, 'needs a kernel with CONFIG_HYPERV_EMU')
            return
    with ctx.guest(name, hv_emu=True, time_limit=1200, qemu_args=UPLINK_QEMU) as g:
        g.leak_baseline()
        rc, out = g.run('insmod /modules/hv_emu_host.ko', timeout=200)
        r.check(f'{name}: VMBus up, no built-in NIC offered', rc == 0
                and g.run('ls /sys/bus/vmbus/devices')[1].split() == [], out)
        g.sh(f'insmod {sim.MODULES}/hv_netvsc_sim.ko')
        v = sim.Vnic(g, 'vnic0', mac=VNIC_MAC, friendly_name=FRIENDLY_NAME, transport='vmbus')
        r.check(f'{name}: transport attribute reads back vmbus', v.read('transport') == 'vmbus',
                v.read('transport'))
        v.enable()
        g.sh('sleep 1')
        devs = g.run('ls /sys/bus/vmbus/devices')[1].split()
        r.check(f'{name}: enabling the vNIC offers one VMBus device', len(devs) == 1, str(devs))
        if len(devs) != 1:
            return
        dev = devs[0]
        cls = _read(g, f'/sys/bus/vmbus/devices/{dev}/class_id')
        r.check(f'{name}: of the synthetic NIC class',
                cls == '{f8615163-df3e-46c5-913f-f2d2f965ed0e}', cls)
        r.check(f'{name}: the simulator loaded without our driver',
                'hv_netvsc_rs' not in g.sh('cat /proc/modules'), g.sh('cat /proc/modules'))
        # Ours, through hv_vmbus and vmbus/hyperv.rs.
        mark = g.mark()
        rc, out = g.run('insmod /modules/hv_netvsc_rs.ko', timeout=120)
        syn = _wait_netdev(g, dev)
        con = g.console_since(mark)
        r.check(f'{name}: ours: insmod binds the offered vNIC, eth0 appears',
                rc == 0 and syn == 'eth0', f'{out} {syn!r}\n' + '\n'.join(con[-30:]))
        if syn != 'eth0':
            return
        r.check(f'{name}: ours: the VMBus driver is ours',
                g.run(f'readlink /sys/bus/vmbus/devices/{dev}/driver/module')[1].strip()
                .endswith('/hv_netvsc_rs'), '')
        addr = _read(g, f'/sys/class/net/{syn}/address')
        r.check(f'{name}: ours: MAC is the host\'s', addr == VNIC_MAC, addr)
        drv = g.sh(f'ethtool -i {syn}')
        r.check(f'{name}: ours: ethtool -i says hv_netvsc', 'driver: hv_netvsc\n' in drv, drv)
        # The uplink after ours took eth0 (as synthetic_guest does).
        g.sh('modprobe virtio_net')
        up = g.sh("for d in /sys/class/net/*; do "
                  "[ \"$(cat $d/address)\" = 52:54:00:00:00:fe ] && basename $d; done; true").strip()
        g.sh(f'ip link set {up} promisc on up')
        v.set_uplink(up)

        st = v.stats()
        r.check(f'{name}: ours: the host negotiated NVSP, RNDIS and both buffers over the rings',
                st['open'] == 1 and st['rndis_initialized'] == 1 and st['recv_sections'] > 0
                and st['bad_packets'] == 0, str(st))
        _emu_synthetic_traffic(g, r, name, 'ours', syn)
        tcp_transfer(g, r, name, syn, mib=16, how=' (ours, emulated VMBus)')
        # A busy host (hold_ring): the guest's packets stay in the real
        # outbound ring (the model says -EAGAIN) until the host reads again.
        busy = int(_stats(g).get('model_busy', 0))
        v.write('hold_ring', 1)
        rc, out = g.run('ping -c 3 -i 0.2 -W 1 10.0.2.2', timeout=30)
        held = int(_stats(g).get('model_busy', 0))
        v.write('hold_ring', 0)
        rc2, out2 = g.run('ping -c 10 -i 0.2 -W 2 10.0.2.2', timeout=60)
        r.check(f'{name}: ours: hold_ring leaves the guest\'s packets in the ring (no echo), '
                f'clearing it resumes reading (0% loss)',
                rc != 0 and held > busy and rc2 == 0 and ' 0% packet loss' in out2,
                f'model_busy {busy} -> {held}\n{out}\n{out2}')
        st = v.stats()
        r.check(f'{name}: ours: frames both ways through the receive and send buffers',
                st['tx_frames'] > 0 and st['rx_frames'] > 0 and st['tx_uplink'] > 0
                and st['bad_packets'] == 0 and st['bad_completions'] == 0, str(st))
        # The simulator's fault classes, written into the real inbound ring:
        # each rejected with its log line, the device keeps working (the
        # guest completes the out-of-range transfer-page packet, which the
        # host counts in bad_completions: checked above, before this).
        from .scenarios_robust import CLASS_LOG
        for cls, want in CLASS_LOG.items():
            mark = g.mark()
            rc, out = g.run(f'echo {cls} > {v.path}/inject; sleep 0.3')
            con = g.console_since(mark)
            r.check(f'{name}: ours: inject {cls} through the ring: rejected ({want.strip()})',
                    rc == 0 and any(want in l for l in con), out + '\n'.join(con[-10:]))
        rc, out = g.run('ping -c 10 -i 0.2 -W 2 10.0.2.2', timeout=60)
        r.check(f'{name}: ours: ping after the faults, 0% loss',
                rc == 0 and ' 0% packet loss' in out, out)
        est = _stats(g)
        print(f'{name}: host after ours: {est}')
        r.check(f'{name}: ours: every packet went through the rings (the host read and wrote '
                f'them), the guest was signalled, no ring error',
                int(est.get('pkt_read', 0)) >= st['guest_packets'] > 1000
                and int(est.get('pkt_written', 0)) >= st['host_packets'] > 1000
                and int(est.get('guest_signal', 0)) > 0 and est.get('ring_error') == '0',
                f'{est} {st}')
        mark = g.mark()
        rc, out = g.run('rmmod hv_netvsc_rs', timeout=120)
        st, est = v.stats(), _stats(g)
        r.check(f'{name}: ours: rmmod: RNDIS HALT, revokes, close, then GPADLs (Hyper-V\'s order)',
                rc == 0 and st['open'] == 0 and st['rndis_initialized'] == 0
                and st['teardown_errors'] == 0,
                f'{out} {st}\n' + '\n'.join(l for l in g.console_since(mark) if 'teardown' in l))
        r.check(f'{name}: ours: the host saw the close and every GPADL torn down',
                est.get('open') == est.get('close') == '1'
                and est.get('gpadl_created') == est.get('gpadl_torndown') != '0'
                and est.get('ring_error') == '0', str(est))

        # Upstream hv_netvsc against the same host.
        mark = g.mark()
        rc, out = g.run('modprobe hv_netvsc', timeout=180)
        syn = _wait_netdev(g, dev)
        con = g.console_since(mark)
        r.check(f'{name}: upstream: modprobe hv_netvsc binds the vNIC, eth0 appears',
                rc == 0 and syn == 'eth0', f'{out} {syn!r}\n' + '\n'.join(con[-30:]))
        if syn == 'eth0':
            r.check(f'{name}: upstream: the VMBus driver is upstream\'s',
                    g.run(f'readlink /sys/bus/vmbus/devices/{dev}/driver/module')[1].strip()
                    .endswith('/hv_netvsc'), '')
            addr = _read(g, f'/sys/class/net/{syn}/address')
            r.check(f'{name}: upstream: MAC is the host\'s', addr == VNIC_MAC, addr)
            _emu_synthetic_traffic(g, r, name, 'upstream', syn)
            tcp_transfer(g, r, name, syn, mib=16, how=' (upstream hv_netvsc, emulated VMBus)')
        mark = g.mark()
        rc, out = g.run('rmmod hv_netvsc', timeout=120)
        st, est = v.stats(), _stats(g)
        r.check(f'{name}: upstream: rmmod in Hyper-V\'s order, every GPADL torn down',
                rc == 0 and st['open'] == 0 and st['teardown_errors'] == 0
                and est.get('open') == est.get('close') == '2'
                and est.get('gpadl_created') == est.get('gpadl_torndown'),
                f'{out} {st} {est}\n' + '\n'.join(l for l in g.console_since(mark)
                                                 if 'teardown' in l))

        # The vNIC goes while ours has it open: a rescind of an open
        # channel (the host closes it at once), ours removes eth0 and lets
        # go, the relid and its GPADLs are released.
        rc, out = g.run('insmod /modules/hv_netvsc_rs.ko', timeout=120)
        syn = _wait_netdev(g, dev)
        g.sh(f'ip link set {syn} up; true')
        r.check(f'{name}: ours again: eth0', rc == 0 and syn == 'eth0', f'{out} {syn!r}')
        v.set_uplink('')
        mark = g.mark()
        v.remove()
        est = _stats(g)
        con = g.console_since(mark)
        r.check(f'{name}: removing the vNIC rescinds its open channel, ours lets go of it, '
                f'the guest releases the relid',
                est.get('rescind') == '1' and est.get('released') == '1'
                and est.get('open') == '3' and est.get('gpadl_created') == est.get('gpadl_torndown')
                and g.run('ls /sys/bus/vmbus/devices')[1].split() == []
                and g.run('ip link show eth0')[0] != 0, f'{est}\n' + '\n'.join(con[-20:]))
        rc, out = g.run('rmmod hv_netvsc_rs', timeout=60)
        r.check(f'{name}: rmmod hv_netvsc_rs after the rescind', rc == 0, out)
        rc, out = g.run('rmmod hv_netvsc_sim', timeout=60)
        r.check(f'{name}: rmmod hv_netvsc_sim', rc == 0, out)
        r.check(f'{name}: nothing unexpected at the host, no unhandled MSR or hypercall',
                _read(g, f'{HOST_PARAMS}/unexpected') == '0' and _read(g, UNEXPECTED) == '0',
                f'{_read(g, f"{HOST_PARAMS}/unexpected")} {_read(g, UNEXPECTED)}')
        rc, out = g.run('rmmod hv_emu_host', timeout=120)
        r.check(f'{name}: rmmod hv_emu_host', rc == 0, out)
        leaks = g.leaks()
        r.check(f'{name}: kmemleak finds nothing', not leaks, '\n'.join(leaks[:10]))
    r.check(f'{name}: guest powered off within its time limit', not g.time_limit_hit)
    check_clean(ctx, name, g)
