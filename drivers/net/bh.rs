// SPDX-License-Identifier: GPL-2.0

//! Bottom halves (softirqs) disabled on this CPU for a scope.

use crate::bindings;
use core::marker::PhantomData;

/// While this lives, softirqs do not run on this CPU: process-context code
/// can share a lock with softirq code (NAPI) without lockdep's "inconsistent
/// lock state". Not `Send`: it must be dropped on the CPU and task that made
/// it.
pub(crate) struct BhDisabled(PhantomData<*mut ()>);

impl BhDisabled {
    /// Disables bottom halves until the value is dropped.
    pub(crate) fn new() -> Self {
        // SAFETY: `local_bh_disable` may be called from any context that may
        // later call `local_bh_enable` (the drop below, same task).
        unsafe { bindings::hvn_local_bh_disable() };
        Self(PhantomData)
    }
}

impl Drop for BhDisabled {
    fn drop(&mut self) {
        // SAFETY: Paired with the disable in `new` on the same task (the
        // type is not `Send`).
        unsafe { bindings::hvn_local_bh_enable() };
    }
}
