# SPDX-License-Identifier: GPL-2.0
"""Host-side peers for guest traffic, reached from the guest through QEMU
user networking (guest 10.0.2.2 is the host's loopback)."""

import ctypes
import fcntl
import hashlib
import os
import socket
import struct
import threading
from typing import List, Optional


class TcpSink:
    """Accepts one connection on 127.0.0.1, reads exactly `expected` bytes,
    then closes; records their SHA-256. Bounded in time and size."""

    def __init__(self, expected: int, timeout: float = 300.0):
        self.expected = expected
        self.timeout = timeout
        self.received = 0
        self.sha256: Optional[str] = None
        self.error: Optional[str] = None
        self._srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._srv.bind(('127.0.0.1', 0))
        self._srv.listen(1)
        self._srv.settimeout(timeout)
        self.port = self._srv.getsockname()[1]
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        h = hashlib.sha256()
        try:
            conn, _ = self._srv.accept()
            with conn:
                conn.settimeout(self.timeout)
                while self.received < self.expected:
                    data = conn.recv(min(1 << 20, self.expected - self.received))
                    if not data:
                        break
                    h.update(data)
                    self.received += len(data)
            self.sha256 = h.hexdigest()
        except OSError as e:
            self.error = str(e)
        finally:
            self._srv.close()

    def wait(self) -> None:
        self._thread.join(self.timeout + 5)


CLONE_NEWNET = 0x40000000
TUNSETIFF = 0x400454ca
IFF_TAP, IFF_NO_PI, IFF_MULTI_QUEUE = 0x0002, 0x1000, 0x0100


def private_tap_fds(queues: int, name: str = 'hvtmq0') -> List[int]:
    """A multi-queue tap device in a network namespace of its own, made for
    this and reachable only through the returned file descriptors (one per
    queue): a backend for a multi-queue QEMU NIC whose frames go nowhere
    (the tap is down, in a namespace with nothing else). The namespace
    lives while the descriptors do. Needs root (CAP_SYS_ADMIN, NET_ADMIN).

    Only the calling thread enters the new namespace, and it goes back to
    its own before returning."""
    libc = ctypes.CDLL(None, use_errno=True)
    own = os.open('/proc/thread-self/ns/net', os.O_RDONLY)
    fds: List[int] = []
    try:
        if libc.unshare(CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), 'unshare(CLONE_NEWNET)')
        try:
            ifr = struct.pack('16sH22x', name.encode(), IFF_TAP | IFF_NO_PI | IFF_MULTI_QUEUE)
            for _ in range(queues):
                fd = os.open('/dev/net/tun', os.O_RDWR | os.O_CLOEXEC)
                fds.append(fd)
                fcntl.ioctl(fd, TUNSETIFF, ifr)
        finally:
            if libc.setns(own, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), 'setns back to our own namespace')
    except BaseException:
        for fd in fds:
            os.close(fd)
        raise
    finally:
        os.close(own)
    return fds
