# SPDX-License-Identifier: GPL-2.0
"""`make demo`: the story of "How Accelerated Networking works in Linux VMs",
end to end in a QEMU guest, narrated for a person.

The simulated Hyper-V host (hv_netvsc_sim.ko) stands in for Azure: it offers
a synthetic NIC, announces a VF serial, and bridges to QEMU's user network.
The VF is a real PCI NIC (virtio-net) hot-plugged over QMP into the PCIe slot
whose number is that serial, the way hv_pci presents Mellanox VFs on Azure.
"""

import os
import textwrap
import time

from .guest import Guest, ping_summary
from .scenarios_vf import (VF_QEMU, VNIC_MAC, add_vf, bring_up, del_vf, ifname_with_mac, service_in,
                           service_out)

LOG_PHRASES = ('VF slot', 'VF registering', 'joined to', 'Data path switched',
               'VF unregistering', 'synthetic NIC', 'host offloads')


def say(text: str) -> None:
    print('\n' + textwrap.fill(text, 78), flush=True)


def show(g: Guest, command: str, keep=None) -> str:
    rc, out = g.run(command)
    print(f'\n  guest# {command}')
    for line in out.rstrip('\n').splitlines():
        if keep is None or keep(line):
            print('    ' + line)
    if rc:
        print(f'    [exit status {rc}]')
    return out


def kernel_log(g: Guest, mark: int) -> int:
    for line in g.console_since(mark):
        if any(p in line for p in LOG_PHRASES):
            print('    dmesg: ' + line)
    return g.mark()


def run(kdir: str, modules: dict, workdir: str) -> int:
    say('Booting the project\'s Linux 7.3 test kernel in QEMU (TCG, q35, PCIe '
        'hot-plug). The simulated Hyper-V host module stands in for Azure.')
    with Guest(kdir, workdir, modules, qemu_args=VF_QEMU) as g:
        mark = g.mark()
        say('The host offers a synthetic NIC (MAC %s) whose VF serial is 1; '
            'hv_netvsc_rs binds it like a VMBus device and registers eth0 '
            '(addressed by DHCP through the host\'s virtual switch):' % VNIC_MAC)
        v, syn, _, _ = bring_up(g)
        mark = kernel_log(g, mark)
        show(g, f'ethtool -i {syn}', keep=lambda l: l.startswith(('driver', 'bus-info')))
        say('The host checksums and segments for the synthetic path (the stack '
            'hands it one large TCP send, the host cuts it); ethtool shows '
            'the offloads on:')
        show(g, f'ethtool -k {syn}', keep=lambda l: l.startswith(
            ('rx-checksumming', 'tx-checksumming', 'tcp-segmentation-offload')))

        say('Accelerated Networking: the host announces VF slot 1, then the VF '
            'appears as a PCI device in slot 1 (hot-plugged over QMP):')
        v.announce_vf()
        g.wait_console(r'VF slot 1 added', mark, 20)
        add_vf(g)
        g.wait_console(r'Data path switched to VF: ', mark, 60)
        mark = kernel_log(g, mark)
        say('The driver tells tools where the data path is, in sysfs:')
        show(g, f'cat /sys/class/net/{syn}/hv_netvsc/data_path')
        vf = ifname_with_mac(g, VNIC_MAC, exclude=syn)
        show(g, 'ip addr', keep=lambda l: not l.strip().startswith(('valid_lft', 'inet6 fe80')))
        say(f'The IP address is on {syn} only; {vf} carries SLAVE and has '
            f'{syn} as its master. The drivers tell them apart:')
        show(g, f'ethtool -i {syn}', keep=lambda l: l.startswith('driver'))
        show(g, f'ethtool -i {vf}', keep=lambda l: l.startswith('driver'))
        show(g, 'lspci')
        say('Applications keep using eth0; its traffic flows through the VF, '
            'as the vf_ counters show across a ping:')
        show(g, f'ethtool -S {syn} | grep " vf_"')
        show(g, 'ping -c 10 -i 0.2 10.0.2.2', keep=lambda l: 'packet' in l)
        show(g, f'ethtool -S {syn} | grep " vf_"')
        show(g, f'ethtool -l {vf}', keep=lambda l: 'Combined' in l or 'RX' in l)

        say('Host servicing: the VF is withdrawn and hot-unplugged while a paced '
            'ping (every 100 ms) is running. The data path falls back to the '
            'synthetic NIC:')
        g.sh('(ping -i 0.1 -c 150 -W 1 10.0.2.2 > /tmp/ping.out 2>&1 &)')
        time.sleep(2)
        service_out(g, v, mark)
        mark = kernel_log(g, mark)
        show(g, f'cat /sys/class/net/{syn}/hv_netvsc/data_path')
        time.sleep(3)
        say('Servicing is over: the host announces the VF again and it comes back '
            'in the same slot; the data path returns to it:')
        service_in(g, v, mark)
        mark = kernel_log(g, mark)
        show(g, f'cat /sys/class/net/{syn}/hv_netvsc/data_path')
        time.sleep(10)
        out = g.sh('cat /tmp/ping.out')
        counts = ping_summary(out)
        if counts:
            sent, got = counts
            say(f'The ping across the whole servicing event: {sent} sent, {got} '
                f'answered, {sent - got} lost.')
        show(g, f'ethtool -S {syn} | grep " vf_"')
        del_vf(g)
        g.wait_console(r'VF unregistering: ', mark, 60)
        v.disable()
        v.remove()
    splats = g.splats()
    say('No kernel warnings, oopses or lockdep reports from our code were seen.'
        if not splats else 'Kernel splats were seen:\n' + '\n'.join(splats))
    print(f'\nFull console log: {os.path.relpath(g.console_path)}')
    return 1 if splats else 0
