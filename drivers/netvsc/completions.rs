// SPDX-License-Identifier: GPL-2.0

//! Receive completions that found the guest->host ring full.
//!
//! Every transfer-page packet the host sends holds receive sections until
//! the guest completes it; a completion that is not sent loses those
//! sections for good (upstream batches them in `multi_recv_comp` and keeps
//! NAPI polling until they go out). Here they wait in a FIFO sized to the
//! receive sections, so it cannot overflow for a host that keeps to its
//! buffer, and go out, oldest first, when the host signals ring space.

use kernel::prelude::*;

/// A completion to send: the host's transaction id and the status.
#[derive(Clone, Copy, Default)]
pub(super) struct Completion {
    pub(super) tid: u64,
    pub(super) status: u32,
}

/// A fixed-capacity FIFO of [`Completion`]s; never allocates after
/// [`Completions::with_capacity`].
#[derive(Default)]
pub(super) struct Completions {
    slots: KVVec<Completion>,
    head: usize,
    len: usize,
}

impl Completions {
    /// Room for `n` completions (process context).
    pub(super) fn with_capacity(n: usize) -> Result<Self> {
        Ok(Self {
            slots: KVVec::from_elem(Completion::default(), n, GFP_KERNEL)?,
            head: 0,
            len: 0,
        })
    }

    pub(super) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends `c`; false when full (the host sent more packets than it
    /// has receive sections).
    pub(super) fn push(&mut self, c: Completion) -> bool {
        let cap = self.slots.len();
        if self.len == cap {
            return false;
        }
        let mut tail = self.head + self.len;
        if tail >= cap {
            tail -= cap;
        }
        self.slots[tail] = c;
        self.len += 1;
        true
    }

    /// The oldest completion.
    pub(super) fn front(&self) -> Option<Completion> {
        (self.len != 0).then(|| self.slots[self.head])
    }

    /// Drops the oldest completion.
    pub(super) fn pop(&mut self) {
        if self.len != 0 {
            self.head += 1;
            if self.head == self.slots.len() {
                self.head = 0;
            }
            self.len -= 1;
        }
    }

    /// Forgets every completion (the channel they were for is gone).
    pub(super) fn clear(&mut self) {
        self.head = 0;
        self.len = 0;
    }

    pub(super) fn len(&self) -> usize {
        self.len
    }
}
