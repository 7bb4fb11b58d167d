"""Host-side peers for guest traffic, reached from the guest through QEMU
user networking (guest 10.0.2.2 is the host's loopback)."""

import hashlib
import socket
import threading
from typing import Optional


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
