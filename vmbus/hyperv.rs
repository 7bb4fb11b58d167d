// SPDX-License-Identifier: GPL-2.0

//! The Hyper-V implementation of [`Transport`]: a VMBus driver for the
//! network device class, over the kernel's VMBus C API (`linux/hyperv.h`,
//! `drivers/hv/`).
//!
//! [`Registration`] registers a `struct hv_driver` named `hv_netvsc`
//! ([`DRIVER_NAME`], as upstream's) matching [`HV_NIC_GUID`]; the id table
//! is the module's device table, so the module carries the alias udev loads
//! it by. For each synthetic NIC the bus offers, probe wraps the
//! device's primary channel in a [`HypervTransport`], creates the
//! [`NetvscDevice`] on it and keeps both in the device's driver data (a
//! [`Binding`]) until remove; the channel callback forwards host events to
//! [`NetvscDevice::on_event`]. This mirrors `external.rs`, where a provider
//! module hands the channel over instead.
//!
//! Without Hyper-V, `__vmbus_driver_register` fails with `ENODEV`
//! (`hv_vmbus_exists()` is false); the module then holds no registration and
//! serves only transports registered through `hvn_transport_register`.
//!
//! Decisions that differ from upstream `netvsc.c` (`netvsc_device_add`):
//!
//! - **Callback mode.** As upstream, `HV_CALL_ISR`: the callback runs in
//!   hard-IRQ context (under the channel's `sched_lock`) and only masks
//!   the host's interrupts ([`Transport::begin_read`]) and schedules NAPI
//!   ([`NetvscDevice::on_event`]); NAPI polls the ring and unmasks at the
//!   end ([`Transport::end_read`]), polling again when packets arrived in
//!   between. Before the interface exists (probe) the callback wakes the
//!   control request that waits, which drains the ring itself.
//! - **No requestor.** Upstream sets `next_request_id_callback` and
//!   `rqstor_size`, so the trans ids on the ring are indices into a table of
//!   guest pointers (skbs): a host cannot make the guest dereference a forged
//!   trans id. Our trans ids are opaque counters that the driver only
//!   compares with the request it waits for, so without a requestor
//!   `hv_ringbuffer_write()` writes them verbatim
//!   (`rqst_id == VMBUS_NO_RQSTOR`), completions come back with them
//!   unchanged, and no `VMBUS_RQST_*` mapping is needed. Completions we send
//!   (`VM_PKT_COMP`, flags 0) never go through the requestor anyway; they
//!   echo the host's trans id, as `netvsc_send_recv_completion()` does. The
//!   channel struct outlives driver bindings, so a requestor (or ISR mode)
//!   left by upstream `hv_netvsc` is cleared before every open, including
//!   the pointers to its arrays: `vmbus_close()` freed them without
//!   clearing them and would free them again at our close.
//! - **Largest inbound packet.** `hv_pkt_iter_first()` copies each packet
//!   into a per-channel buffer of `max_pkt_size` bytes and *truncates*
//!   longer ones, so it is set to upstream's `NETVSC_MAX_PKT_SIZE`
//!   ([`MAX_PKT_SIZE`]): a transfer-page packet with the most ranges
//!   (`NVSP_RSC_MAX`) plus an NVSP message with an indirection table.

use super::{PageRange, SharedBuffer, Transport};
use crate::bindings;
use crate::netvsc::NetvscDevice;
use core::ffi::{c_int, c_void};
use core::mem::{offset_of, size_of};
use core::ptr::{null_mut, NonNull};
use kernel::device::Device;
use kernel::error::to_result;
use kernel::prelude::*;
use kernel::sync::aref::ARef;
use kernel::sync::atomic::{Acquire, Atomic, Release};
use kernel::sync::{new_mutex, new_spinlock_irq, rcu, Arc, Mutex, SpinLockIrq};
use kernel::types::Opaque;

/// The network device class, `{f8615163-df3e-46c5-913f-f2d2f965ed0e}`, in
/// the byte order of `GUID_INIT` (first three fields little-endian), as
/// `HV_NIC_GUID` in `linux/hyperv.h`.
pub(crate) const HV_NIC_GUID: [u8; 16] = [
    0x63, 0x51, 0x61, 0xf8, 0x3e, 0xdf, 0xc5, 0x46, 0x91, 0x3f, 0xf2, 0xd2, 0xf9, 0x65, 0xed, 0x0e,
];

/// Upstream's `NETVSC_MAX_PKT_SIZE` (hyperv_net.h), the inbound packet size
/// the channel must accept untruncated.
const MAX_PKT_SIZE: u32 = (offset_of!(bindings::vmtransfer_page_packet_header, ranges)
    + bindings::NVSP_RSC_MAX as usize * size_of::<bindings::vmtransfer_page_range>()
    + size_of::<bindings::nvsp_message>()
    + size_of::<u32>() * bindings::VRSS_SEND_TAB_SIZE as usize) as u32;

/// The name the driver registers under on the VMBus bus: upstream's, which
/// tools read from `/sys/bus/vmbus/drivers` and a device's `driver` link
/// (cloud-init among them), and which prefixes the device's log lines
/// (`hv_netvsc <instance-guid> eth0: ...`). The driver core refuses a second
/// driver of the same name on the bus, so ours and upstream's exclude each
/// other.
pub(crate) const DRIVER_NAME: &CStr = c"hv_netvsc";

/// The id table: the network class, then the all-zero terminator.
///
/// Exported under the name modpost looks for (`__mod_device_table__`,
/// module, bus type `vmbus`, table), as `MODULE_DEVICE_TABLE(vmbus, ...)`
/// does in C: modpost turns it into the module alias
/// `vmbus:635161f83edfc546913ff2d2f965ed0e`, by which udev loads us for a
/// synthetic NIC.
#[export_name = "__mod_device_table__kmod_hv_netvsc_rs__vmbus__hvn_id_table"]
static ID_TABLE: [bindings::hv_vmbus_device_id; 2] = [
    bindings::hv_vmbus_device_id {
        guid: bindings::guid_t { b: HV_NIC_GUID },
        driver_data: 0,
    },
    bindings::hv_vmbus_device_id {
        guid: bindings::guid_t { b: [0; 16] },
        driver_data: 0,
    },
];

/// The driver's registration with the VMBus bus.
///
/// # Invariants
///
/// `drv` holds a `struct hv_driver` registered with `__vmbus_driver_register`
/// (successfully: a failed registration never yields a `Registration`); it
/// stays registered, at this address, until drop unregisters it.
#[pin_data(PinnedDrop)]
pub(crate) struct Registration {
    #[pin]
    drv: Opaque<bindings::hv_driver>,
}

// SAFETY: After registration only the driver core touches `drv` (under its
// own locks); the Rust side only passes its address to
// `vmbus_driver_unregister`, which may be done from any thread.
unsafe impl Send for Registration {}
// SAFETY: `&Registration` gives no access to `drv` at all.
unsafe impl Sync for Registration {}

impl Registration {
    /// Registers the driver as [`DRIVER_NAME`] for module `M`. `ENODEV`
    /// means there is no VMBus (not running on Hyper-V); `EBUSY` that a
    /// driver of that name is registered already (upstream's `hv_netvsc`),
    /// which is logged.
    pub(crate) fn new<M: kernel::ModuleMetadata>() -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            drv <- Opaque::try_ffi_init(|drv: *mut bindings::hv_driver| {
                let name = DRIVER_NAME;
                // SAFETY: `drv` points to memory for a `struct hv_driver`
                // that the initialiser owns; the helper zeroes it and sets
                // the fields. `name` and `ID_TABLE` are `'static`; the
                // callbacks have the signatures `struct hv_driver` wants.
                unsafe {
                    bindings::hvn_vmbus_driver_init(
                        drv,
                        name.as_char_ptr(),
                        ID_TABLE.as_ptr(),
                        Some(probe_callback),
                        Some(remove_callback),
                    )
                };
                // SAFETY: `drv` is initialised and pinned (it lives in the
                // pinned `Registration` until drop unregisters it).
                // `THIS_MODULE` is this module, which outlives the
                // registration; `name` is `'static`.
                // INVARIANT: on success `drv` is registered; on failure the
                // initialiser fails and no `Registration` exists.
                let r = to_result(unsafe {
                    bindings::__vmbus_driver_register(
                        drv,
                        M::THIS_MODULE.as_ptr().cast(),
                        M::NAME.as_char_ptr(),
                    )
                });
                if matches!(r, Err(e) if e == EBUSY) {
                    pr_err!(
                        "a VMBus driver named {} is registered already (upstream's hv_netvsc module?): unload or blacklist it first (docs/architecture.md, \"Switching from the C driver\")\n",
                        name
                    );
                }
                r
            }),
        }? Error)
    }
}

/// The ring size the driver opens channels with, from `ring_size` in 4 KiB
/// pages, as upstream's `netvsc_drv_init`: at least 64 pages (logged when
/// raised), then `VMBUS_RING_SIZE` (the ring's header added where the
/// payload is small, page-aligned).
pub(crate) fn ring_bytes(pages: u32) -> u32 {
    const MIN_PAGES: u32 = 64;
    let pages = if pages < MIN_PAGES {
        pr_info!("Increased ring_size to {} (min allowed)\n", MIN_PAGES);
        MIN_PAGES
    } else {
        pages
    };
    // A ring of more than 4 GiB is not a ring VMBus can describe.
    let payload = pages.saturating_mul(4096) & !0xfff_u32;
    // SAFETY: A pure computation on its argument.
    unsafe { bindings::hvn_vmbus_ring_size(payload) }
}

#[pinned_drop]
impl PinnedDrop for Registration {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: `drv` is registered (type invariant). Unregistering
        // removes every device bound to it (our remove callback runs for
        // each) before it returns.
        unsafe { bindings::vmbus_driver_unregister(self.drv.get()) };
    }
}

/// What a bound `hv_device` keeps in its driver data.
///
/// The device holds the reference of the binding to the NIC; the transport
/// is kept too so that remove can close the channel itself whatever the
/// driver logic did, before the binding is freed.
struct Binding {
    dev: Arc<NetvscDevice>,
    transport: Arc<HypervTransport>,
}

/// `hv_driver.probe`.
///
/// # Safety
///
/// Called by the VMBus core with a valid `hv_device` that is being bound to
/// our driver, in process context.
unsafe extern "C" fn probe_callback(
    hdev: *mut bindings::hv_device,
    _id: *const bindings::hv_vmbus_device_id,
) -> c_int {
    // SAFETY: As this function's own contract.
    match unsafe { probe(hdev) } {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// # Safety
///
/// As for [`probe_callback`].
unsafe fn probe(hdev: *mut bindings::hv_device) -> Result {
    let hdev = NonNull::new(hdev).ok_or(EINVAL)?;
    // SAFETY: `hdev` is a valid device being bound (caller's contract).
    let transport = unsafe { HypervTransport::new(hdev) }?;
    let dev = NetvscDevice::new(transport.clone())?;
    let binding = KBox::new(
        Binding {
            dev: dev.clone(),
            transport,
        },
        GFP_KERNEL,
    )?;
    // Events may arrive as soon as the channel is open (during probe), so
    // the driver data is set first; it owns the binding until remove.
    let raw = KBox::into_raw(binding);
    // SAFETY: `hdev` is valid; its driver data is ours while we are bound.
    unsafe { bindings::hvn_hv_set_drvdata(hdev.as_ptr(), raw.cast()) };
    if let Err(e) = NetvscDevice::probe(&dev) {
        // SAFETY: `raw` is the live binding stored just above; it is only
        // freed below.
        let binding = unsafe { &*raw };
        // Probe undoes itself and closes the channel; closing again is a
        // no-op then, and makes sure no callback can still run.
        binding.transport.shutdown();
        // SAFETY: `hdev` is valid; the channel is closed, so no callback
        // reads the driver data any more.
        unsafe { bindings::hvn_hv_set_drvdata(hdev.as_ptr(), null_mut()) };
        // SAFETY: `raw` came from `KBox::into_raw` above and nothing else
        // refers to it now (the only other reader, the callback, is gone).
        drop(unsafe { KBox::from_raw(raw) });
        return Err(e);
    }
    Ok(())
}

/// `hv_driver.remove`.
///
/// # Safety
///
/// Called by the VMBus core with a valid `hv_device` bound to our driver
/// (probe succeeded), in process context.
unsafe extern "C" fn remove_callback(hdev: *mut bindings::hv_device) {
    // SAFETY: `hdev` is valid (caller's contract).
    let raw = unsafe { bindings::hvn_hv_get_drvdata(hdev) }.cast::<Binding>();
    if raw.is_null() {
        return;
    }
    {
        // SAFETY: Probe stored a live binding there; only this function
        // frees it. The channel callback may hold a shared reference to it
        // concurrently, so only a shared one is taken until it is closed.
        let binding = unsafe { &*raw };
        NetvscDevice::remove(&binding.dev);
        // After this no callback runs (vmbus_close() waits for it), and
        // the transport's last reference may go in any context.
        binding.transport.shutdown();
    }
    // SAFETY: `hdev` is valid; nothing reads the driver data any more.
    unsafe { bindings::hvn_hv_set_drvdata(hdev, null_mut()) };
    // SAFETY: `raw` came from `KBox::into_raw` in probe, and the channel is
    // closed: no other reference to the binding exists.
    drop(unsafe { KBox::from_raw(raw) });
}

/// The channel callback given to `vmbus_open`: host packets are pending.
///
/// # Safety
///
/// `context` is the `hv_device` whose primary channel was opened by
/// [`HypervTransport::open`]. The VMBus core calls this only while the
/// channel is open, in hard-IRQ context (`HV_CALL_ISR`).
unsafe extern "C" fn channel_callback(context: *mut c_void) {
    let hdev = context.cast::<bindings::hv_device>();
    // SAFETY: The `hv_device` is alive while its channel is open: the
    // transport that opened it holds a reference on its `struct device`
    // and closes the channel before releasing it.
    let raw = unsafe { bindings::hvn_hv_get_drvdata(hdev) }.cast::<Binding>();
    if raw.is_null() {
        return;
    }
    // SAFETY: The channel is opened only by `NetvscDevice::probe` through the
    // transport of this very binding, after probe stored the binding in the
    // driver data (the store happens before `vmbus_open`, which publishes
    // the callback with locks and a host round trip). Probe failure and
    // remove close the channel before they clear the driver data and free
    // the binding, and `vmbus_close()` returns only after a running
    // callback finished (`vmbus_chan_sched()` calls it under `sched_lock`,
    // under which `vmbus_close()` clears the callback pointer). So the
    // binding outlives this borrow.
    let binding = unsafe { &*raw };
    binding.dev.on_event();
}

/// A `struct vmbus_gpadl`, kept from establish to teardown.
struct Gpadl(bindings::vmbus_gpadl);

// SAFETY: The struct only records a handle, a size and the buffer's address
// for `vmbus_teardown_gpadl`; it may be passed back from any thread.
unsafe impl Send for Gpadl {}

/// The primary channel of a bound `hv_device`, seen through [`Transport`].
///
/// Sends, receives and `write_avail` touch the ring buffers, which exist
/// only while the channel is open; they run under the RCU read lock and
/// check `io` first. `close` clears `io` and waits for a grace period
/// before `vmbus_close` frees the rings, so none is in flight then.
///
/// # Invariants
///
/// - `hdev` points to a valid `hv_device` and `channel` to its primary
///   channel for as long as `dev` (a reference on the `hv_device`'s
///   embedded `struct device`, whose release frees both) is held, i.e. for
///   the lifetime of `self`.
/// - `io` is true only between a successful `vmbus_open` and the start of
///   `close`; the rings are initialised whenever it is true, and
///   `vmbus_close` is called only after `io` was cleared and an RCU grace
///   period passed.
/// - `gpadls` holds exactly the GPADLs established by this transport and
///   not yet torn down; `gpadl_count` is its length.
///
/// Dropping the last reference sleeps only when the channel is still open
/// or GPADLs are left, which [`HypervTransport::shutdown`] (called by
/// remove and by a failed probe, in process context) rules out: the NIC
/// may hold the last reference anywhere, even in atomic context.
#[pin_data(PinnedDrop)]
pub(crate) struct HypervTransport {
    hdev: NonNull<bindings::hv_device>,
    channel: NonNull<bindings::vmbus_channel>,
    dev: ARef<Device>,
    instance: [u8; 16],
    io: Atomic<bool>,
    /// Whether the channel is open; serialises open and close.
    #[pin]
    opened: Mutex<bool>,
    /// `vmbus_recvpacket_raw` must not run concurrently on one channel.
    #[pin]
    rx: SpinLockIrq<()>,
    #[pin]
    gpadls: Mutex<KVec<Gpadl>>,
    gpadl_count: Atomic<u32>,
}

// SAFETY: The pointers refer to kernel objects kept alive by `dev` (type
// invariant); the VMBus functions called through them may be called from
// any thread, with the serialisation the fields provide.
unsafe impl Send for HypervTransport {}
// SAFETY: As above: concurrent sends are serialised by the outbound ring
// lock in the VMBus core, receives by `rx`, open/close and GPADLs by their
// mutexes, and ring access against close by RCU.
unsafe impl Sync for HypervTransport {}

impl HypervTransport {
    /// Wraps the primary channel of `hdev`.
    ///
    /// # Safety
    ///
    /// `hdev` must be valid for the duration of the call (it is during
    /// probe).
    unsafe fn new(hdev: NonNull<bindings::hv_device>) -> Result<Arc<Self>> {
        // SAFETY: `hdev` is valid (caller's contract).
        let channel = unsafe { bindings::hvn_hv_device_channel(hdev.as_ptr()) };
        let channel = NonNull::new(channel).ok_or(ENODEV)?;
        // SAFETY: `hdev` is valid and its `device` is registered, so its
        // refcount is non-zero; `ARef::from` takes a reference of our own.
        let dev: &Device =
            unsafe { Device::from_raw(bindings::hvn_hv_device_dev(hdev.as_ptr()).cast()) };
        let dev = ARef::from(dev);
        let mut guid = bindings::guid_t::default();
        // SAFETY: `hdev` is valid; `guid` is writable.
        unsafe { bindings::hvn_hv_device_instance(hdev.as_ptr(), &mut guid) };
        Arc::pin_init(
            // INVARIANT: `dev` now holds the reference that keeps `hdev`
            // and `channel` alive; nothing is open and no GPADL exists.
            try_pin_init!(Self {
                hdev,
                channel,
                dev,
                instance: guid.b,
                io: Atomic::new(false),
                opened <- new_mutex!(false),
                rx <- new_spinlock_irq!(()),
                gpadls <- new_mutex!(KVec::new()),
                gpadl_count: Atomic::new(0),
            }? Error),
            GFP_KERNEL,
        )
    }

    fn chan(&self) -> *mut bindings::vmbus_channel {
        self.channel.as_ptr()
    }

    /// Sends one in-band or completion packet.
    fn send_packet(&self, payload: &[u8], trans_id: u64, ty: u32, flags: u32) -> Result {
        let len = u32::try_from(payload.len()).map_err(|_| EMSGSIZE)?;
        let _rcu = rcu::read_lock();
        if !self.io.load(Acquire) {
            return Err(EBADF);
        }
        // SAFETY: `io` is set under the RCU read lock, so the channel is
        // open and its rings stay allocated until the lock is dropped (type
        // invariant). The payload is only read (copied into the ring), for
        // `len` bytes, during the call. Never sleeps.
        to_result(unsafe {
            bindings::vmbus_sendpacket(
                self.chan(),
                payload.as_ptr().cast_mut().cast(),
                len,
                trans_id,
                ty,
                flags,
            )
        })
    }
}

impl Transport for HypervTransport {
    fn open(&self, ring_size: u32) -> Result {
        let mut opened = self.opened.lock();
        if *opened {
            return Err(EBUSY);
        }
        // SAFETY: The channel is valid (type invariant) and not open, so
        // nothing else reads the fields the helper sets.
        unsafe { bindings::hvn_vmbus_channel_prepare(self.chan(), MAX_PKT_SIZE) };
        // SAFETY: The channel is valid and closed. The callback and its
        // context (the `hv_device`) stay valid while the channel is open:
        // `self` keeps the device alive and closes the channel (at the
        // latest in drop) before letting it go; see `channel_callback` for
        // the driver data it reads. `vmbus_open` rejects ring sizes that
        // are not page multiples (EINVAL).
        to_result(unsafe {
            bindings::vmbus_open(
                self.chan(),
                ring_size,
                ring_size,
                null_mut(),
                0,
                Some(channel_callback),
                self.hdev.as_ptr().cast(),
            )
        })?;
        *opened = true;
        // INVARIANT: `vmbus_open` succeeded, the rings are initialised.
        self.io.store(true, Release);
        Ok(())
    }

    fn close(&self) {
        let mut opened = self.opened.lock();
        if !*opened {
            return;
        }
        // INVARIANT: Clear `io`, then wait until every reader that may have
        // seen it set has left its RCU read-side section: afterwards nobody
        // but the channel callback touches the rings, and `vmbus_close`
        // stops that itself before freeing them.
        // A host packet arriving in this window makes the callback schedule
        // a poll that finds nothing to read (`recv` says `Ok(0)` once `io`
        // is clear, `end_read` that nothing is pending); the packet is
        // dropped with the channel, which the driver is tearing down anyway.
        self.io.store(false, Release);
        rcu::synchronize_rcu();
        // SAFETY: The channel is valid and open (type invariant); no ring
        // access from us is in flight (above). `vmbus_close` waits for a
        // running callback and disconnects it before it returns. Process
        // context (it sleeps), as `Transport::close` requires.
        unsafe { bindings::vmbus_close(self.chan()) };
        *opened = false;
    }

    fn send_inband(&self, payload: &[u8], trans_id: u64, completion: bool) -> Result {
        let flags = if completion {
            bindings::VMBUS_DATA_PACKET_FLAG_COMPLETION_REQUESTED
        } else {
            0
        };
        self.send_packet(
            payload,
            trans_id,
            bindings::vmbus_packet_type_VM_PKT_DATA_INBAND,
            flags,
        )
    }

    fn send_completion(&self, payload: &[u8], trans_id: u64) -> Result {
        self.send_packet(
            payload,
            trans_id,
            bindings::vmbus_packet_type_VM_PKT_COMP,
            0,
        )
    }

    fn send_gpa_direct(&self, payload: &[u8], pages: &[PageRange], trans_id: u64) -> Result {
        const MAX: usize = bindings::MAX_PAGE_BUFFER_COUNT as usize;
        let len = u32::try_from(payload.len()).map_err(|_| EMSGSIZE)?;
        if pages.is_empty() || pages.len() > MAX {
            return Err(EMSGSIZE);
        }
        let mut pb = [bindings::hv_page_buffer::default(); MAX];
        for (dst, p) in pb.iter_mut().zip(pages) {
            *dst = bindings::hv_page_buffer {
                len: p.len,
                offset: p.offset,
                pfn: p.pfn,
            };
        }
        let _rcu = rcu::read_lock();
        if !self.io.load(Acquire) {
            return Err(EBADF);
        }
        // SAFETY: The channel is open and stays so while the RCU read lock
        // is held (as in `send_packet`). `pb` holds `pages.len()` entries;
        // the helper validates them, builds the descriptor (on its stack or
        // GFP_ATOMIC) and only reads `payload`. Never sleeps.
        to_result(unsafe {
            bindings::hvn_vmbus_send_gpa_direct(
                self.chan(),
                pb.as_ptr(),
                pages.len() as u32,
                payload.as_ptr().cast_mut().cast(),
                len,
                trans_id,
            )
        })
    }

    fn recv(&self, buf: &mut [u8]) -> Result<usize> {
        let cap = u32::try_from(buf.len()).unwrap_or(u32::MAX);
        if cap == 0 {
            return Err(EINVAL);
        }
        let _rcu = rcu::read_lock();
        if !self.io.load(Acquire) {
            // A closed channel has nothing pending, and never will.
            return Ok(0);
        }
        let _rx = self.rx.lock();
        let mut actual = 0u32;
        let mut request_id = 0u64;
        // SAFETY: The channel is open while the RCU read lock is held (as in
        // `send_packet`), `rx` serialises readers of the inbound ring, and
        // `buf` is writable for `cap` bytes, `actual` and `request_id` for
        // their types, during the call. Never sleeps.
        let rc = unsafe {
            bindings::vmbus_recvpacket_raw(
                self.chan(),
                buf.as_mut_ptr().cast(),
                cap,
                &mut actual,
                &mut request_id,
            )
        };
        // hv_ringbuffer_read(): 0 with *actual = 0 when the ring is empty;
        // -ENOBUFS when the packet does not fit, which it leaves in the ring
        // (the read index is not advanced); the trait calls that EMSGSIZE.
        if rc == ENOBUFS.to_errno() {
            return Err(EMSGSIZE);
        }
        to_result(rc)?;
        let n = actual as usize;
        // The kernel copied at most `cap` bytes; anything else is a bug.
        if n > buf.len() {
            return Err(EIO);
        }
        Ok(n)
    }

    fn write_avail(&self) -> u32 {
        let _rcu = rcu::read_lock();
        if !self.io.load(Acquire) {
            return 0;
        }
        // SAFETY: The channel is open while the RCU read lock is held (as in
        // `send_packet`); the helper only reads the outbound ring indices.
        unsafe { bindings::hvn_vmbus_write_avail(self.chan()) }
    }

    fn want_write_space(&self, bytes: u32) {
        let _rcu = rcu::read_lock();
        if !self.io.load(Acquire) {
            return;
        }
        // SAFETY: The channel is open while the RCU read lock is held (as in
        // `send_packet`); the helper writes the outbound ring's
        // `pending_send_sz` and the channel's ring-full counters under the
        // ring lock.
        unsafe { bindings::hvn_vmbus_set_pending_send_size(self.chan(), bytes) }
    }

    fn begin_read(&self) {
        let _rcu = rcu::read_lock();
        if !self.io.load(Acquire) {
            return;
        }
        // SAFETY: The channel is open while the RCU read lock is held; the
        // helper sets the inbound ring's `interrupt_mask`.
        unsafe { bindings::hvn_vmbus_begin_read(self.chan()) }
    }

    fn end_read(&self) -> bool {
        let _rcu = rcu::read_lock();
        if !self.io.load(Acquire) {
            // Closed: nothing ever will be pending.
            return false;
        }
        // SAFETY: The channel is open while the RCU read lock is held; the
        // helper clears the inbound ring's `interrupt_mask` and reads its
        // indices.
        unsafe { bindings::hvn_vmbus_end_read(self.chan()) != 0 }
    }

    fn establish_gpadl(&self, buf: &SharedBuffer) -> Result<u32> {
        let size = u32::try_from(buf.len()).map_err(|_| EINVAL)?;
        let mut gpadls = self.gpadls.lock();
        // Room first, so that a GPADL made is never lost for want of memory.
        gpadls.reserve(1, GFP_KERNEL)?;
        let mut g = Gpadl(bindings::vmbus_gpadl::default());
        // SAFETY: The channel is valid (type invariant). `buf` is a
        // page-aligned vmalloc buffer of `size` bytes (SharedBuffer's
        // invariant) that its owner keeps allocated until the GPADL is torn
        // down (the contract of `Transport::establish_gpadl`). `g.0` is
        // writable; the kernel keeps no pointer to it. Process context.
        to_result(unsafe {
            bindings::vmbus_establish_gpadl(self.chan(), buf.as_ptr().cast(), size, &mut g.0)
        })?;
        let handle = g.0.gpadl_handle;
        // INVARIANT: the new GPADL is recorded.
        if gpadls.push_within_capacity(g).is_err() {
            // Unreachable: capacity was reserved under the same lock.
            pr_err!("GPADL {} could not be recorded\n", handle);
            return Err(ENOMEM);
        }
        self.gpadl_count.store(gpadls.len() as u32, Release);
        Ok(handle)
    }

    fn teardown_gpadl(&self, gpadl: u32) -> Result {
        let mut gpadls = self.gpadls.lock();
        let i = gpadls
            .iter()
            .position(|g| g.0.gpadl_handle == gpadl)
            .ok_or(ENOENT)?;
        // INVARIANT: the GPADL leaves the list whatever the outcome: a
        // failed teardown cannot be retried meaningfully.
        let mut g = gpadls.remove(i).map_err(|_| EINVAL)?;
        self.gpadl_count.store(gpadls.len() as u32, Release);
        // SAFETY: The channel is valid (type invariant); `g` is a GPADL this
        // transport established and has not torn down (it was in the list).
        // Process context.
        to_result(unsafe { bindings::vmbus_teardown_gpadl(self.chan(), &mut g.0) })
    }

    fn parent(&self) -> Option<&Device> {
        Some(&self.dev)
    }

    fn instance_id(&self) -> [u8; 16] {
        self.instance
    }
}

impl HypervTransport {
    /// Closes the channel and tears down what GPADLs the driver left (it
    /// tears its own down in remove; this catches one that did not).
    /// Process context: remove, a failed probe.
    fn shutdown(&self) {
        self.close();
        let mut gpadls = self.gpadls.lock();
        for mut g in core::mem::take(&mut *gpadls) {
            pr_warn!(
                "GPADL {} left at unbind; tearing it down\n",
                g.0.gpadl_handle
            );
            // SAFETY: As in `teardown_gpadl`.
            let _ = unsafe { bindings::vmbus_teardown_gpadl(self.chan(), &mut g.0) };
        }
        self.gpadl_count.store(0, Release);
    }
}

#[pinned_drop]
impl PinnedDrop for HypervTransport {
    fn drop(self: Pin<&mut Self>) {
        // Remove and a failed probe shut the transport down in process
        // context; then nothing here sleeps, whichever context drops the
        // last reference.
        if !self.io.load(Acquire) && self.gpadl_count.load(Acquire) == 0 {
            return;
        }
        pr_err!("channel dropped without shutdown; closing it now\n");
        self.shutdown();
    }
}

#[kernel::macros::kunit_tests(hv_netvsc_rs_hyperv)]
mod tests {
    use super::*;

    #[test]
    fn id_table_matches_c() {
        let mut c = bindings::guid_t::default();
        // SAFETY: `c` is writable.
        unsafe { bindings::hvn_hv_nic_guid(&mut c) };
        assert_eq!(ID_TABLE[0].guid.b, c.b);
        assert_eq!(ID_TABLE[0].driver_data, 0);
        // The terminator is all zeroes.
        assert_eq!(ID_TABLE[1].guid.b, [0u8; 16]);
        assert_eq!(ID_TABLE[1].driver_data, 0);
    }

    #[test]
    fn layouts_match_c() {
        // SAFETY: The probes take no arguments and return constants.
        let (id, gpadl, drv) = unsafe {
            (
                bindings::hvn_sizeof_hv_vmbus_device_id(),
                bindings::hvn_sizeof_vmbus_gpadl(),
                bindings::hvn_sizeof_hv_driver(),
            )
        };
        assert_eq!(size_of::<bindings::hv_vmbus_device_id>(), id);
        assert_eq!(size_of::<bindings::vmbus_gpadl>(), gpadl);
        assert_eq!(size_of::<bindings::hv_driver>(), drv);
    }

    #[test]
    fn max_pkt_size_is_upstreams() {
        // Transfer-page header (24) + 562 ranges (8 each) + NVSP message +
        // a 16-entry indirection table, as NETVSC_MAX_PKT_SIZE.
        let expect = 24 + 562 * 8 + size_of::<bindings::nvsp_message>() + 16 * 4;
        assert_eq!(MAX_PKT_SIZE as usize, expect);
        assert!(MAX_PKT_SIZE as usize > 4096);
    }

    #[test]
    fn mpb_descriptor_layout() {
        let pages = [
            bindings::hv_page_buffer {
                len: 100,
                offset: 4000,
                pfn: 0x1000,
            },
            bindings::hv_page_buffer {
                len: 64,
                offset: 0,
                pfn: 0x2000,
            },
        ];
        // SAFETY: `pages` holds two entries.
        let size = unsafe { bindings::hvn_vmbus_mpb_desc_size(pages.as_ptr(), 2) };
        // Header 24; first range crosses a page: 8 + 2 pfns; second 8 + 1.
        assert_eq!(size, 24 + (8 + 16) + (8 + 8));
        let mut buf = [0u64; 8];
        // SAFETY: `buf` is 64 bytes, 8-byte aligned, at least `size`.
        unsafe { bindings::hvn_vmbus_mpb_fill(buf.as_mut_ptr().cast(), pages.as_ptr(), 2) };
        let word = |i: usize| buf[i];
        // rangecount (upper half of the third word; reserved is the lower).
        assert_eq!(word(2) >> 32, 2);
        // First range: len 100, offset 4000, pfns 0x1000 and 0x1001.
        assert_eq!(word(3), 100 | (4000 << 32));
        assert_eq!((word(4), word(5)), (0x1000, 0x1001));
        // Second range: len 64, offset 0, pfn 0x2000.
        assert_eq!(word(6), 64);
        assert_eq!(word(7), 0x2000);

        // Rejected: no ranges, an empty range, an offset past the page.
        // SAFETY: The counts do not exceed the array.
        unsafe {
            assert!(bindings::hvn_vmbus_mpb_desc_size(pages.as_ptr(), 0) < 0);
            let bad = [bindings::hv_page_buffer {
                len: 0,
                offset: 0,
                pfn: 1,
            }];
            assert!(bindings::hvn_vmbus_mpb_desc_size(bad.as_ptr(), 1) < 0);
            let bad = [bindings::hv_page_buffer {
                len: 1,
                offset: 4096,
                pfn: 1,
            }];
            assert!(bindings::hvn_vmbus_mpb_desc_size(bad.as_ptr(), 1) < 0);
        }
    }

    #[test]
    fn prepare_forgets_a_previous_requestor() {
        // A channel as upstream hv_netvsc leaves it after its close: a
        // requestor size, and the pointers to the arrays `vmbus_close()`
        // freed. Preparing it for us must clear both, or our close frees
        // the arrays again.
        let size = size_of::<bindings::vmbus_channel>();
        // SAFETY: The probes take no arguments and return constants.
        let (rq, rqsize) = unsafe {
            (
                bindings::hvn_offsetof_vmbus_channel_requestor(),
                bindings::hvn_offsetof_vmbus_channel_rqstor_size(),
            )
        };
        assert!(rq % 8 == 0 && rq + 16 <= size && rqsize + 4 <= size);
        let mut words = KVec::from_elem(0u64, size.div_ceil(8), GFP_KERNEL).unwrap();
        // `struct vmbus_requestor` starts with `u64 *req_arr` and
        // `unsigned long *req_bitmap`.
        words[rq / 8] = 0xdead_0000;
        words[rq / 8 + 1] = 0xdead_1000;
        let bytes = (0x80u32).to_ne_bytes();
        let base = words.as_mut_ptr().cast::<u8>();
        // SAFETY: `rqsize + 4 <= size` (checked above), inside `words`.
        unsafe { core::ptr::copy_nonoverlapping(bytes.as_ptr(), base.add(rqsize), 4) };
        // SAFETY: `words` is zeroed memory of the size and alignment of a
        // `struct vmbus_channel` that no one else uses; the helper only
        // stores plain fields (callback mode, requestor, max packet size).
        unsafe { bindings::hvn_vmbus_channel_prepare(base.cast(), MAX_PKT_SIZE) };
        assert_eq!((words[rq / 8], words[rq / 8 + 1]), (0, 0));
        let mut after = [0u8; 4];
        // SAFETY: As above.
        unsafe { core::ptr::copy_nonoverlapping(base.add(rqsize), after.as_mut_ptr(), 4) };
        assert_eq!(u32::from_ne_bytes(after), 0);
    }

    #[test]
    fn ring_bytes_as_upstream() {
        // 64 pages at least; large rings need no header adjustment.
        assert_eq!(ring_bytes(128), 128 * 4096);
        assert_eq!(ring_bytes(64), 64 * 4096);
        assert_eq!(ring_bytes(1), 64 * 4096);
        assert_eq!(ring_bytes(0), 64 * 4096);
        assert_eq!(ring_bytes(u32::MAX) % 4096, 0);
    }

    #[test]
    fn registration_without_vmbus_is_enodev() {
        // SAFETY: No arguments; reads a flag of the VMBus core.
        if unsafe { bindings::hv_vmbus_exists() } {
            // On Hyper-V the module's own registration holds the name.
            return;
        }
        let r = KBox::pin_init(Registration::new::<crate::HvNetvsc>(), GFP_KERNEL);
        assert!(matches!(r, Err(e) if e == ENODEV));
    }
}
