// SPDX-License-Identifier: GPL-2.0

//! A byte ring holding whole VMBus packets, like one direction of a VMBus
//! channel ring: bounded by the ring size given to `open`, allocation-free
//! after creation. Safe code only.

use kernel::prelude::*;

/// Packets (each a multiple of 8 bytes, descriptor first) in a ring.
pub(crate) struct Ring {
    buf: KVVec<u8>,
    head: usize,
    len: usize,
}

impl Ring {
    /// An empty ring of `size` bytes (allocates; process context).
    pub(crate) fn new(size: usize) -> Result<Self> {
        Ok(Ring {
            buf: KVVec::from_elem(0u8, size, GFP_KERNEL)?,
            head: 0,
            len: 0,
        })
    }

    /// A ring of no capacity (before `open`, after `close`).
    pub(crate) fn empty() -> Self {
        Ring {
            buf: KVVec::new(),
            head: 0,
            len: 0,
        }
    }

    pub(crate) fn capacity(&self) -> usize {
        self.buf.len()
    }

    pub(crate) fn used(&self) -> usize {
        self.len
    }

    pub(crate) fn free(&self) -> usize {
        self.capacity() - self.len
    }

    /// Appends one packet; `Err(EAGAIN)` when it does not fit.
    pub(crate) fn push(&mut self, pkt: &[u8]) -> Result {
        let cap = self.capacity();
        if pkt.is_empty() || pkt.len() > self.free() {
            return Err(EAGAIN);
        }
        let mut tail = self.head + self.len;
        if tail >= cap {
            tail -= cap;
        }
        let first = pkt.len().min(cap - tail);
        self.buf[tail..tail + first].copy_from_slice(&pkt[..first]);
        self.buf[..pkt.len() - first].copy_from_slice(&pkt[first..]);
        self.len += pkt.len();
        Ok(())
    }

    fn peek_into(&self, out: &mut [u8]) {
        let cap = self.capacity();
        let first = out.len().min(cap - self.head);
        let n = out.len();
        out[..first].copy_from_slice(&self.buf[self.head..self.head + first]);
        out[first..].copy_from_slice(&self.buf[..n - first]);
    }

    /// Size of the next packet, 0 when empty.
    pub(crate) fn next_len(&self) -> usize {
        // Everything pushed is a multiple of 8 bytes, and the first 8 bytes
        // of a descriptor hold its `len8` (bytes 4..6).
        if self.len < 8 {
            return 0;
        }
        let mut d = [0u8; 8];
        self.peek_into(&mut d);
        // Framed by `len8`, as VMBus rings are. Host packets are built well
        // framed; a fault-injected one (`inject_raw`) may not be: one claiming
        // under 8 bytes still takes 8, so a bad `len8` can neither stall the
        // ring (0) nor hide a lone short packet from the reader, which must
        // see it to reject it; one claiming more than is queued takes what is
        // there.
        (usize::from(u16::from_le_bytes([d[4], d[5]])) * 8)
            .max(8)
            .min(self.len)
    }

    /// Copies the next packet into `out` and consumes it. Returns its
    /// size, 0 when empty, or `Err(n)` (kept) when `out` is shorter than n.
    pub(crate) fn pop(&mut self, out: &mut [u8]) -> core::result::Result<usize, usize> {
        let n = self.next_len();
        if n == 0 {
            return Ok(0);
        }
        if out.len() < n {
            return Err(n);
        }
        self.peek_into(&mut out[..n]);
        self.head += n;
        if self.head >= self.capacity() {
            self.head -= self.capacity();
        }
        self.len -= n;
        Ok(n)
    }

    /// Drops every queued packet.
    pub(crate) fn clear(&mut self) {
        self.head = 0;
        self.len = 0;
    }
}
