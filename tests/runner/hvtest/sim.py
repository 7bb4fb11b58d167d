# SPDX-License-Identifier: GPL-2.0
"""Helpers for scenarios that drive the simulated Hyper-V host
(hv_netvsc_sim.ko) through its configfs interface in a guest.

    from hvtest import sim
    sim.load(g)                                   # insmod driver + simulator
    v = sim.Vnic(g, 'vnic0', mac='00:15:5d:00:00:01', serial=3)
    v.enable()                                    # driver probes it
    assert v.stats()['rndis_initialized'] == 1
    v.set_link(False); v.announce_vf(); v.disable(); v.remove()

See docs/simulator.md for every attribute.
"""

import shlex
from typing import Dict, Optional, Union

ROOT = '/sys/kernel/config/hv_netvsc_sim'
MODULES = '/modules'


def load(g, driver: bool = True) -> None:
    """insmod hv_netvsc_rs (unless driver=False) and hv_netvsc_sim."""
    if driver:
        g.sh(f'insmod {MODULES}/hv_netvsc_rs.ko')
    g.sh(f'insmod {MODULES}/hv_netvsc_sim.ko')


def unload(g, driver: bool = True) -> None:
    """rmdir every vNIC, then rmmod the simulator (and the driver)."""
    g.sh(f'for d in {ROOT}/*/; do [ -d "$d" ] && rmdir "$d"; done; true')
    g.sh('rmmod hv_netvsc_sim')
    if driver:
        g.sh('rmmod hv_netvsc_rs')


def driver_present(g) -> bool:
    """True when the driver's transport entry points can be found."""
    return g.sh(f'cat {ROOT}/driver').strip() == 'present'


def _parse_stats(text: str) -> Dict[str, Union[int, str]]:
    out: Dict[str, Union[int, str]] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        key, _, val = line.partition(' ')
        val = val.strip()
        try:
            out[key] = int(val, 0)
        except ValueError:
            out[key] = val
    return out


class Vnic:
    """One simulated vNIC: /sys/kernel/config/hv_netvsc_sim/<name>/.

    Keyword arguments given to the constructor are written to the
    attributes of the same name before anything else (mac, serial,
    max_nvsp_version, mtu_max, recv_section_size, link, link_speed, uplink).
    """

    def __init__(self, g, name: str, create: bool = True, **attrs):
        self.g = g
        self.name = name
        self.path = f'{ROOT}/{name}'
        if create:
            g.sh(f'mkdir {self.path}')
        for k, v in attrs.items():
            self.write(k, v)

    # -- raw access ----------------------------------------------------------
    def write(self, attr: str, value) -> None:
        """Write an attribute; raises GuestError on a non-zero exit."""
        if isinstance(value, bool):
            value = int(value)
        self.g.sh(f'echo {shlex.quote(str(value))} > {self.path}/{attr}')

    def try_write(self, attr: str, value) -> int:
        """Write an attribute; returns the shell's exit status."""
        if isinstance(value, bool):
            value = int(value)
        rc, _ = self.g.run(f'echo {shlex.quote(str(value))} > {self.path}/{attr}')
        return rc

    def read(self, attr: str) -> str:
        return self.g.sh(f'cat {self.path}/{attr}').strip()

    def stats(self) -> Dict[str, Union[int, str]]:
        """The `stats` attribute as a dict (numbers as int)."""
        return _parse_stats(self.g.sh(f'cat {self.path}/stats'))

    # -- actions -----------------------------------------------------------------
    def enable(self) -> None:
        self.write('enable', 1)

    def try_enable(self) -> int:
        return self.try_write('enable', 1)

    def disable(self) -> None:
        self.write('enable', 0)

    def set_link(self, up: bool) -> None:
        self.write('link', 1 if up else 0)

    def set_uplink(self, ifname: Optional[str]) -> None:
        self.write('uplink', ifname or '')

    def announce_vf(self, serial: Optional[int] = None) -> None:
        """Send NVSP VF association (allocated) with `serial` (default: the
        `serial` attribute)."""
        if serial is not None:
            self.write('serial', serial)
        self.write('vf', 1)

    def withdraw_vf(self) -> None:
        self.write('vf', 0)

    def drop_completions(self, n: int) -> None:
        """Do not complete the next n guest RNDIS packets."""
        self.write('drop_completions', n)

    def inject(self, cls: str) -> None:
        """Send one malformed host message of a named class (see
        `cat inject`)."""
        self.write('inject', cls)

    def inject_raw(self, data: Union[bytes, str]) -> None:
        """Queue a raw host->guest VMBus packet (descriptor first)."""
        if isinstance(data, (bytes, bytearray)):
            data = data.hex()
        self.write('inject_raw', data)

    def remove(self) -> None:
        """rmdir (unregisters first if enabled)."""
        self.g.sh(f'rmdir {self.path}')

    def netdev(self) -> Optional[str]:
        """The guest interface carrying this vNIC's MAC, if any."""
        mac = self.read('mac').lower()
        out = self.g.sh('for i in /sys/class/net/*; do '
                        'echo "$(basename $i) $(cat $i/address)"; done')
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[1].lower() == mac:
                return parts[0]
        return None
