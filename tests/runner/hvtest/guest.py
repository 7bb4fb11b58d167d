# SPDX-License-Identifier: GPL-2.0
"""One QEMU guest: boot, command channel, QMP, console log, splat checks."""

import base64
import os
import re
import secrets
import shutil
import socket
import subprocess
import threading
import time
from typing import Dict, List, Optional, Sequence, Tuple

from . import initramfs
from .splat import find_splats

# Written into the guest's work directory when the guest stopped answering
# and QEMU's own monitor did not answer either: the emulator hung.
QEMU_HUNG = 'qemu-hung'

# The ACPI table that gives an emulated-host guest its VMBus device.
VMBUS_SSDT = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                          '..', '..', 'emu', 'vmbus-ssdt.asl')
# Kernel parameters of an emulated-host boot: the test kernel's hv_emu hooks
# (tests/kernel/patches), and SLUB sanity checks and red zones so that a
# double free is reported by the kernel.
HV_EMU_APPEND = 'hv_emu slub_debug=FZ'


def compile_vmbus_ssdt(workdir: str) -> str:
    """iasl the VMBus SSDT into `workdir`; the .aml path. `-f`: iasl rejects
    the 5-character _HID "VMBUS" that hv_vmbus matches unless forced."""
    base = os.path.join(workdir, 'vmbus')
    res = subprocess.run(['iasl', '-f', '-p', base, VMBUS_SSDT],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    aml = base + '.aml'
    if not os.path.isfile(aml):
        raise GuestError(f'iasl failed (rc {res.returncode}): {res.stdout.strip()}')
    return aml


_PING_SUMMARY = re.compile(r'(\d+) packets transmitted, (\d+) packets received')


def ping_summary(text: str) -> Optional[Tuple[int, int]]:
    """(sent, received) from the summary line of a ping's output, or None
    if it has none (the ping did not finish)."""
    m = _PING_SUMMARY.search(text)
    return (int(m.group(1)), int(m.group(2))) if m else None


class GuestError(Exception):
    """The guest did not behave: it did not boot, a command timed out, ..."""


class Guest:
    """A TCG q35 guest running the project's test kernel.

    ttyS0 is the kernel console, captured to `console.log` in the work
    directory; ttyS1 is the command channel served by the initramfs agent;
    QMP listens on a unix socket for hot-plug. Use as a context manager.
    """

    def __init__(self, kdir: str, workdir: str, modules: Dict[str, str],
                 append: str = '', smp: int = 2, memory: str = '1G',
                 qemu_args: Sequence[str] = (), boot_timeout: float = 180.0,
                 echo_console: bool = False, hv_emu: bool = False,
                 time_limit: Optional[float] = None):
        """`hv_emu`: boot with the emulated Hyper-V host (kernel parameter
        and VMBus SSDT). `time_limit`: QEMU is killed after that many
        seconds whatever the guest does (an emulated-host guest can wait
        for its host forever, and then even poweroff hangs)."""
        self.kdir = kdir
        self.workdir = os.path.abspath(workdir)
        # Set when the guest and QEMU's monitor both stopped answering.
        self.qemu_hung = False
        self.modules = modules
        self.append = append
        self.smp = smp
        self.memory = memory
        self.qemu_args = list(qemu_args)
        self.boot_timeout = boot_timeout
        self.echo_console = echo_console
        self.hv_emu = hv_emu
        self.time_limit = time_limit
        # Set when QEMU was killed on reaching time_limit.
        self.time_limit_hit = False
        self._limit_timer: Optional[threading.Timer] = None
        self.nonce = secrets.token_hex(6)
        self.console_path = os.path.join(self.workdir, 'console.log')
        self._cmd_sock: Optional[socket.socket] = None
        self._qmp = None
        self._proc: Optional[subprocess.Popen] = None
        self._buf = b''
        self._echoed = 0

    # -- lifecycle --------------------------------------------------------
    def __enter__(self) -> 'Guest':
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def _initramfs(self) -> str:
        extra = {f'/modules/{os.path.basename(p)}': p for p in self.modules.values()}
        return initramfs.build(os.path.join(self.workdir, 'initrd.gz'),
                               os.path.join(self.workdir, 'initramfs'),
                               os.path.join(self.kdir, 'modroot'), extra)

    def start(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)
        os.makedirs(self.workdir)
        initrd = self._initramfs()
        cmd_path = os.path.join(self.workdir, 'cmd.sock')
        self.qmp_path = os.path.join(self.workdir, 'qmp.sock')
        extra_args = []
        append = self.append
        if self.hv_emu:
            extra_args = ['-acpitable', 'file=' + compile_vmbus_ssdt(self.workdir)]
            append = f'{HV_EMU_APPEND} {append}'
        append = ' '.join(['console=ttyS0,115200', 'panic=-1', 'printk.time=1',
                           f'hvtest.nonce={self.nonce}', append]).strip()
        argv = [
            'qemu-system-x86_64', '-machine', 'q35', '-accel', 'tcg', '-cpu', 'max',
            '-smp', str(self.smp), '-m', self.memory, '-nodefaults', '-no-reboot',
            '-display', 'none',
            '-global', 'ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off',
            '-kernel', os.path.join(self.kdir, 'arch/x86/boot/bzImage'),
            '-initrd', initrd, '-append', append,
            '-chardev', f'file,id=con,path={self.console_path}', '-serial', 'chardev:con',
            '-chardev', f'socket,id=cmd,path={cmd_path},server=on,wait=on',
            '-serial', 'chardev:cmd',
            '-qmp', f'unix:{self.qmp_path},server=on,wait=off',
            *extra_args, *self.qemu_args,
        ]
        with open(os.path.join(self.workdir, 'qemu.cmdline'), 'w') as f:
            f.write(' '.join(argv) + '\n')
        self._proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                      stdout=open(os.path.join(self.workdir, 'qemu.out'), 'w'),
                                      stderr=subprocess.STDOUT)
        if self.time_limit is not None:
            self._limit_timer = threading.Timer(self.time_limit, self._time_limit_kill,
                                                (self._proc,))
            self._limit_timer.daemon = True
            self._limit_timer.start()
        deadline = time.monotonic() + 30
        while True:
            try:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(cmd_path)
                break
            except OSError:
                s.close()
                if self._proc.poll() is not None or time.monotonic() > deadline:
                    raise GuestError('QEMU did not start: ' + self._qemu_output())
                time.sleep(0.05)
        self._cmd_sock = s
        self._read_until(re.compile(rb'@@HVTEST-' + self.nonce.encode() + rb' READY\n'),
                         self.boot_timeout, 'boot')

    def _time_limit_kill(self, proc: subprocess.Popen) -> None:
        if proc.poll() is None:
            self.time_limit_hit = True
            proc.kill()

    def _qemu_output(self) -> str:
        try:
            with open(os.path.join(self.workdir, 'qemu.out')) as f:
                return f.read().strip()
        except OSError:
            return ''

    def stop(self, timeout: float = 60.0) -> None:
        """Power the guest off (cleanly if it answers) and reap QEMU."""
        if self._limit_timer is not None:
            self._limit_timer.cancel()
            self._limit_timer = None
        if self._proc is None:
            return
        try:
            if self._cmd_sock is not None and self._proc.poll() is None:
                self._cmd_sock.sendall(b'@@POWEROFF\n')
            self._proc.wait(timeout=timeout)
        except (OSError, subprocess.TimeoutExpired):
            try:
                self.qmp('quit')
            except Exception:  # QMP may be gone with the guest: kill below
                pass
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        finally:
            if self._qmp is not None:
                try:
                    self._qmp.close()
                except Exception:
                    pass
                self._qmp = None
            if self._cmd_sock is not None:
                self._cmd_sock.close()
                self._cmd_sock = None
            self._proc = None
            self._echo()

    def _monitor_status(self, timeout: float = 10.0) -> Optional[str]:
        """QEMU's answer to `query-status` (e.g. `running`), or None if its
        monitor does not answer within `timeout`. When the guest is silent
        this tells a hung emulator (no answer) from a hung guest."""
        answer: List[str] = []

        def ask() -> None:
            try:
                r = self.qmp('query-status')
                r = r.get('return', r) if isinstance(r, dict) else {}
                answer.append(str(r.get('status')))
            except Exception as e:  # a dead monitor is an answer too
                answer.append(f'error: {e}')

        t = threading.Thread(target=ask, daemon=True)
        t.start()
        t.join(timeout)
        return answer[0] if answer else None

    # -- command channel ----------------------------------------------------
    def _read_until(self, marker: re.Pattern, timeout: float, what: str) -> re.Match:
        assert self._cmd_sock is not None
        deadline = time.monotonic() + timeout
        while True:
            m = marker.search(self._buf)
            if m:
                return m
            left = deadline - time.monotonic()
            if left <= 0:
                monitor = self._monitor_status()
                if monitor is None:
                    # Nothing more can be asked of this QEMU (its monitor
                    # client is stuck too): every later command fails at once.
                    self.qemu_hung = True
                    with open(os.path.join(self.workdir, QEMU_HUNG), 'w') as f:
                        f.write(f'{what}: guest and QEMU monitor both silent\n')
                raise GuestError(f'{what}: no answer from the guest in {timeout:.0f} s '
                                 f'(QEMU monitor: {monitor or "no answer in 10 s"}); '
                                 f'console tail:\n' + '\n'.join(self.console()[-30:]))
            self._cmd_sock.settimeout(min(left, 0.5))
            try:
                data = self._cmd_sock.recv(65536)
            except socket.timeout:
                self._echo()
                continue
            if not data:
                raise GuestError(f'{what}: the guest closed the command channel; '
                                 f'console tail:\n' + '\n'.join(self.console()[-30:]))
            self._buf += data

    def run(self, command: str, timeout: float = 120.0) -> Tuple[int, str]:
        """Run one shell command line in the guest; return (status, output)."""
        if '\n' in command or not command.isascii():
            raise ValueError('one line of ASCII per command')
        assert self._cmd_sock is not None
        if self.qemu_hung:
            raise GuestError(f'{command}: QEMU hung earlier in this boot')
        done = re.compile(rb'@@HVTEST-' + self.nonce.encode() + rb' (?:RC=(\d+)|(GARBLED))\n')
        for _ in range(3):
            self._buf = b''
            try:
                self._cmd_sock.sendall(f'{len(command)}:{command}\n'.encode())
            except OSError as e:
                raise GuestError(f'`{command}`: the command channel is gone ({e}); '
                                 f'QEMU: {self._qemu_output()[-300:]}') from e
            m = self._read_until(done, timeout, command)
            out = self._buf[:m.start()].decode(errors='replace')
            self._buf = self._buf[m.end():]
            self._echo()
            if not m.group(2):
                return int(m.group(1)), out
        raise GuestError(f'`{command}`: the guest received it garbled three times')

    def sh(self, command: str, timeout: float = 120.0) -> str:
        """Run a command that must succeed; return its output."""
        rc, out = self.run(command, timeout)
        if rc != 0:
            raise GuestError(f'`{command}` exited {rc}:\n{out}')
        return out

    # -- QMP ------------------------------------------------------------------
    def qmp(self, command: str, **args):
        """Execute a QMP command (qemu.qmp's synchronous client)."""
        if self.qemu_hung:
            raise GuestError(f'{command}: QEMU hung earlier in this boot')
        if self._qmp is None:
            from qemu.qmp.legacy import QEMUMonitorProtocol
            self._qmp = QEMUMonitorProtocol(self.qmp_path)
            self._qmp.connect()
        return self._qmp.cmd(command, **args)

    def wait_device_deleted(self, dev_id: str, timeout: float = 60.0) -> None:
        """Waits until QEMU has finished unplugging `dev_id` (device_del only
        starts it: the guest must power the slot off first)."""
        deadline = time.monotonic() + timeout
        while True:
            names = {p['name'] for p in self.qmp('qom-list', path='/machine/peripheral')}
            if dev_id not in names:
                return
            if time.monotonic() > deadline:
                raise GuestError(f'{dev_id}: QEMU has not finished unplugging it after '
                                 f'{timeout:.0f} s')
            time.sleep(0.2)

    def write_file(self, path: str, text: str, mode: str = '644') -> None:
        """Writes `text` to `path` in the guest (any number of lines)."""
        data = base64.b64encode(text.encode()).decode()
        self.sh(f'echo {data} | base64 -d > {path} && chmod {mode} {path}')

    def qmp_getfd(self, fd: int, name: str):
        """Hand QEMU a file descriptor (SCM_RIGHTS over QMP) under `name`,
        for a later command's `fds=`/`fd=` argument."""
        self.qmp('query-status')  # connected
        self._qmp.send_fd_scm(fd)
        return self.qmp('getfd', fdname=name)

    # -- console ----------------------------------------------------------------
    def console(self) -> List[str]:
        try:
            with open(self.console_path, errors='replace') as f:
                return f.read().splitlines()
        except OSError:
            return []

    def _echo(self) -> None:
        if not self.echo_console:
            return
        lines = self.console()
        for line in lines[self._echoed:]:
            print('  | ' + line, flush=True)
        self._echoed = len(lines)

    def mark(self) -> int:
        """A position in the console log, for `console_since`."""
        return len(self.console())

    def console_since(self, mark: int) -> List[str]:
        return self.console()[mark:]

    def wait_console(self, pattern: str, since: int = 0, timeout: float = 30.0) -> str:
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            for line in self.console()[since:]:
                if rx.search(line):
                    return line
            if time.monotonic() > deadline:
                raise GuestError(f'console never showed /{pattern}/ in {timeout:.0f} s')
            time.sleep(0.1)

    def splats(self) -> List[str]:
        return find_splats(self.console())

    # -- kmemleak -----------------------------------------------------------------
    def leak_baseline(self) -> None:
        """Forget every allocation made so far (boot) as a leak candidate."""
        self.sh('echo clear > /sys/kernel/debug/kmemleak')

    def leaks(self) -> List[str]:
        """Scan for unreferenced objects since the baseline.

        kmemleak ignores objects younger than about 5 s, so wait first.
        """
        time.sleep(6)
        self.sh('echo scan > /sys/kernel/debug/kmemleak', timeout=300)
        out = self.sh('cat /sys/kernel/debug/kmemleak')
        return [line for line in out.splitlines() if line.startswith('unreferenced object')]
