"""Scenarios of the emulated Hyper-V host (tests/kernel/patches, docs/emulator.md)."""

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
