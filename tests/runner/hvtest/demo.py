"""`make demo`: the driver's story in a QEMU guest, narrated for a person."""

import os
import textwrap

from .guest import Guest


def say(text: str) -> None:
    print('\n' + textwrap.fill(text, 78), flush=True)


def show(g: Guest, command: str) -> str:
    rc, out = g.run(command)
    print(f'\n  guest# {command}')
    for line in out.rstrip('\n').splitlines():
        print('    ' + line)
    if rc:
        print(f'    [exit status {rc}]')
    return out


def run(kdir: str, modules: dict, workdir: str) -> int:
    say('Booting the project\'s Linux test kernel (Rust-enabled, KUnit, PCIe '
        'hot-plug) in QEMU with TCG on a q35 machine...')
    with Guest(kdir, workdir, modules) as g:
        show(g, 'uname -r')
        say('The production module, built out of tree against this kernel:')
        show(g, 'modinfo /modules/hv_netvsc_rs.ko')
        say('Loading it runs its KUnit suites (bindings layouts against the C '
            'compiler, net_device wrapper) and prints KTAP on the console:')
        mark = g.mark()
        show(g, 'insmod /modules/hv_netvsc_rs.ko')
        for line in g.console_since(mark):
            if 'hv_netvsc_rs' in line or 'ok ' in line or '# ' in line:
                print('    console: ' + line)
        show(g, 'lsmod')
        say('The PCI devices of the guest (VFs will be hot-plugged into PCIe '
            'root ports in later steps):')
        show(g, 'lspci')
        show(g, 'ip -br link')
        show(g, 'rmmod hv_netvsc_rs')
    splats = g.splats()
    say('No kernel warnings, oopses or lockdep reports were seen.' if not splats else
        'Kernel splats were seen:\n' + '\n'.join(splats))
    print(f'\nFull console log: {os.path.relpath(g.console_path)}')
    return 1 if splats else 0
