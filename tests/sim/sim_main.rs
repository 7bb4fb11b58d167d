// SPDX-License-Identifier: GPL-2.0

//! hv_netvsc_sim: a simulated Hyper-V host for hv_netvsc_rs (TEST ONLY).
//!
//! Each directory made under `/sys/kernel/config/hv_netvsc_sim/` is one
//! synthetic vNIC whose host side this module plays: it answers NVSP and
//! RNDIS like Azure's host, carries data frames to and from an optional
//! uplink netdev, and injects faults on request. Writing `1` to `enable`
//! hands the vNIC to the driver through `hvn_transport_register()`. See
//! docs/simulator.md.
//!
//! `unsafe` lives in `glue` (and the generated `bindings`) only.

use core::sync::atomic::{AtomicU32, Ordering};

use kernel::configfs;
use kernel::configfs_attrs;
use kernel::page::PAGE_SIZE;
use kernel::prelude::*;
use kernel::str::{CStr, CString};
use kernel::sync::Arc;

mod bindings;
mod glue;
mod host;
mod ring;

/// The protocol core, the same source files as the driver's (an inline
/// module with a directory path, so the files' `super::` resolve here).
#[allow(dead_code, unreachable_pub, missing_docs, clippy::all)]
#[path = "../../drivers/proto/src"]
mod proto {
    pub(crate) mod error;
    pub(crate) mod nvsp;
    pub(crate) mod offload;
    pub(crate) mod rndis;
    pub(crate) mod vlan;
    pub(crate) mod vmbus;
    pub(crate) mod wire;
}

use host::{fmt_into, Host};
use proto::nvsp;

module! {
    type: HvNetvscSim,
    name: "hv_netvsc_sim",
    authors: ["hv-netvsc-rs developers"],
    description: "Simulated Hyper-V host for hv_netvsc_rs (test only)",
    license: "GPL",
}

#[pin_data]
struct HvNetvscSim {
    #[pin]
    config: configfs::Subsystem<Root>,
}

/// The netdev notifier that releases uplinks being unregistered.
struct Notifier;

impl Notifier {
    fn register() -> Result<Self> {
        glue::notifier_register()?;
        Ok(Notifier)
    }
}

impl Drop for Notifier {
    fn drop(&mut self) {
        glue::notifier_unregister();
    }
}

/// The subsystem's own data: the workqueue every vNIC's host runs on. It
/// is dropped after the subsystem is unregistered, when every vNIC is gone
/// (each pins the module).
struct Root {
    wq: glue::Wq,
    _notifier: Notifier,
    next_index: AtomicU32,
}

impl kernel::InPlaceModule for HvNetvscSim {
    fn init(_module: &'static ThisModule) -> impl PinInit<Self, Error> {
        let item_type = configfs_attrs! {
            container: configfs::Subsystem<Root>,
            data: Root,
            child: Vnic,
            attributes: [
                driver: 0,
            ],
        };
        let root = Notifier::register().and_then(|n| {
            Ok(Root {
                wq: glue::Wq::new()?,
                _notifier: n,
                next_index: AtomicU32::new(0),
            })
        });
        try_pin_init!(Self {
            config <- configfs::Subsystem::new(c"hv_netvsc_sim", item_type, root),
        })
    }
}

#[vtable]
impl configfs::GroupOperations for Root {
    type Child = Vnic;

    fn make_group(&self, name: &CStr) -> Result<impl PinInit<configfs::Group<Vnic>, Error>> {
        let tpe = configfs_attrs! {
            container: configfs::Group<Vnic>,
            data: Vnic,
            attributes: [
                mac: 0,
                serial: 1,
                max_nvsp_version: 2,
                mtu_max: 3,
                link: 4,
                enable: 5,
                uplink: 6,
                stats: 7,
                recv_section_size: 8,
                vf: 9,
                drop_completions: 10,
                inject: 11,
                inject_raw: 12,
                link_speed: 13,
                inject_rndis: 14,
                drop_init: 15,
                friendly_name: 16,
                mac_change: 17,
                rescind: 18,
                hold_completions: 19,
                offloads: 20,
                gpadl_teardown_fail: 21,
                ring_limit: 22,
                hold_ring: 23,
                network_change: 24,
                transport: 25,
            ],
        };
        if name.to_bytes().len() > 15 {
            return Err(ENAMETOOLONG);
        }
        let index = self.next_index.fetch_add(1, Ordering::Relaxed);
        let host = Host::new(CString::try_from(name)?, index, self.wq.raw())?;
        Ok(configfs::Group::new(
            name.try_into()?,
            tpe,
            try_pin_init!(Vnic { host }),
        ))
    }
}

#[vtable]
impl configfs::AttributeOperations<0> for Root {
    type Data = Root;

    fn show(_d: &Root, page: &mut [u8; PAGE_SIZE]) -> Result<usize> {
        let present = match glue::Syms::get() {
            Ok(mut s) => {
                s.put();
                true
            }
            Err(_) => false,
        };
        show_fmt(
            page,
            format_args!("{}\n", if present { "present" } else { "absent" }),
        )
    }
}

/// One vNIC (a configfs directory).
#[pin_data(PinnedDrop)]
struct Vnic {
    host: Arc<Host>,
}

#[pinned_drop]
impl PinnedDrop for Vnic {
    fn drop(self: Pin<&mut Self>) {
        self.host.shutdown();
    }
}

// -- parsing helpers ---------------------------------------------------------

fn trim(b: &[u8]) -> &[u8] {
    let s = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    let e = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(s, |e| e + 1);
    &b[s..e.max(s)]
}

fn parse_u64(b: &[u8]) -> Result<u64> {
    let b = trim(b);
    let (digits, radix) = match b {
        [b'0', b'x' | b'X', rest @ ..] => (rest, 16),
        _ => (b, 10),
    };
    if digits.is_empty() || digits.len() > 20 {
        return Err(EINVAL);
    }
    let mut v: u64 = 0;
    for &c in digits {
        let d = (c as char).to_digit(radix).ok_or(EINVAL)?;
        v = v
            .checked_mul(u64::from(radix))
            .and_then(|v| v.checked_add(u64::from(d)))
            .ok_or(ERANGE)?;
    }
    Ok(v)
}

fn parse_u32(b: &[u8]) -> Result<u32> {
    u32::try_from(parse_u64(b)?).map_err(|_| ERANGE)
}

fn parse_bool(b: &[u8]) -> Result<bool> {
    match trim(b) {
        b"1" | b"y" | b"Y" | b"on" => Ok(true),
        b"0" | b"n" | b"N" | b"off" => Ok(false),
        _ => Err(EINVAL),
    }
}

fn parse_mac(b: &[u8]) -> Result<[u8; 6]> {
    let b = trim(b);
    if b.len() != 17 {
        return Err(EINVAL);
    }
    let mut mac = [0u8; 6];
    for (i, m) in mac.iter_mut().enumerate() {
        let hex = |c: u8| (c as char).to_digit(16).ok_or(EINVAL);
        if i > 0 && b[i * 3 - 1] != b':' {
            return Err(EINVAL);
        }
        *m = (hex(b[i * 3])? * 16 + hex(b[i * 3 + 1])?) as u8;
    }
    if mac[0] & 1 != 0 || mac == [0; 6] {
        return Err(EINVAL);
    }
    Ok(mac)
}

/// NVSP versions by their usual names ("6.1", "5", ...) or raw value.
fn parse_nvsp_version(b: &[u8]) -> Result<u32> {
    let v = match trim(b) {
        b"1" => nvsp::VERSION_1,
        b"2" => nvsp::VERSION_2,
        b"4" => nvsp::VERSION_4,
        b"5" => nvsp::VERSION_5,
        b"6" => nvsp::VERSION_6,
        b"6.1" => nvsp::VERSION_61,
        other => parse_u32(other)?,
    };
    if nvsp::is_known_version(v) {
        Ok(v)
    } else {
        Err(EINVAL)
    }
}

fn nvsp_version_name(v: u32) -> &'static str {
    match v {
        nvsp::VERSION_1 => "1",
        nvsp::VERSION_2 => "2",
        nvsp::VERSION_4 => "4",
        nvsp::VERSION_5 => "5",
        nvsp::VERSION_6 => "6",
        nvsp::VERSION_61 => "6.1",
        _ => "none",
    }
}

fn show_fmt(page: &mut [u8; PAGE_SIZE], args: core::fmt::Arguments<'_>) -> Result<usize> {
    Ok(fmt_into(&mut page[..], args)?.len())
}

/// Runs `f` on the state if the vNIC is not enabled (config is fixed then).
fn when_disabled(v: &Vnic, f: impl FnOnce(&mut host::State)) -> Result {
    if v.host.is_enabled() {
        return Err(EBUSY);
    }
    f(&mut v.host.st.lock());
    Ok(())
}

// -- attributes -----------------------------------------------------------------

#[vtable]
impl configfs::AttributeOperations<0> for Vnic {
    type Data = Vnic;

    fn show(v: &Vnic, page: &mut [u8; PAGE_SIZE]) -> Result<usize> {
        let m = v.host.st.lock().cfg.mac;
        show_fmt(
            page,
            format_args!(
                "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}\n",
                m[0], m[1], m[2], m[3], m[4], m[5]
            ),
        )
    }

    fn store(v: &Vnic, page: &[u8]) -> Result {
        let mac = parse_mac(page)?;
        when_disabled(v, |st| {
            st.cfg.mac = mac;
            st.cur_mac = mac;
        })
    }
}

#[vtable]
impl configfs::AttributeOperations<1> for Vnic {
    type Data = Vnic;

    fn show(v: &Vnic, page: &mut [u8; PAGE_SIZE]) -> Result<usize> {
        let s = v.host.st.lock().cfg.serial;
        show_fmt(page, format_args!("{}\n", s))
    }

    fn store(v: &Vnic, page: &[u8]) -> Result {
        let s = parse_u32(page)?;
        v.host.st.lock().cfg.serial = s;
        Ok(())
    }
}

#[vtable]
impl configfs::AttributeOperations<2> for Vnic {
    type Data = Vnic;

    fn show(v: &Vnic, page: &mut [u8; PAGE_SIZE]) -> Result<usize> {
        let x = v.host.st.lock().cfg.max_nvsp;
        show_fmt(page, format_args!("{}\n", nvsp_version_name(x)))
    }

    fn store(v: &Vnic, page: &[u8]) -> Result {
        let x = parse_nvsp_version(page)?;
        when_disabled(v, |st| st.cfg.max_nvsp = x)
    }
}

#[vtable]
impl configfs::AttributeOperations<3> for Vnic {
    type Data = Vnic;

    fn show(v: &Vnic, page: &mut [u8; PAGE_SIZE]) -> Result<usize> {
        let x = v.host.st.lock().cfg.mtu_max;
        show_fmt(page, format_args!("{}\n", x))
    }

    fn store(v: &Vnic, page: &[u8]) -> Result {
        let x = parse_u32(page)?;
        // The largest NDIS MTU (frame with Ethernet header) the host takes.
        if !(host::DEFAULT_NDIS_MTU..=65535 + 14).contains(&x) {
            return Err(EINVAL);
        }
        when_disabled(v, |st| st.cfg.mtu_max = x)
    }
}

#[vtable]
impl configfs::AttributeOperations<4> for Vnic {
    type Data = Vnic;

    fn show(v: &Vnic, page: &mut [u8; PAGE_SIZE]) -> Result<usize> {
        let x = v.host.st.lock().cfg.link_up;
        show_fmt(page, format_args!("{}\n", u8::from(x)))
    }

    fn store(v: &Vnic, page: &[u8]) -> Result {
        v.host.set_link(parse_bool(page)?);
        Ok(())
    }
}

#[vtable]
impl configfs::AttributeOperations<5> for Vnic {
    type Data = Vnic;

    fn show(v: &Vnic, page: &mut [u8; PAGE_SIZE]) -> Result<usize> {
        show_fmt(page, format_args!("{}\n", u8::from(v.host.is_enabled())))
    }

    fn store(v: &Vnic, page: &[u8]) -> Result {
        if parse_bool(page)? {
            v.host.enable()
        } else {
            v.host.disable();
            Ok(())
        }
    }
}

#[vtable]
impl configfs::AttributeOperations<6> for Vnic {
    type Data = Vnic;

    fn show(v: &Vnic, page: &mut [u8; PAGE_SIZE]) -> Result<usize> {
        let n = v.host.uplink_name(&mut page[..PAGE_SIZE - 1]);
        page[n] = b'\n';
        Ok(n + 1)
    }

    fn store(v: &Vnic, page: &[u8]) -> Result {
        let name = trim(page);
        if name.is_empty() {
            return v.host.set_uplink(None);
        }
        if name.len() >= 16 || name.contains(&0) {
            return Err(EINVAL);
        }
        let mut buf = [0u8; 17];
        buf[..name.len()].copy_from_slice(name);
        let c = CStr::from_bytes_with_nul(&buf[..=name.len()]).map_err(|_| EINVAL)?;
        v.host.set_uplink(Some(CString::try_from(c)?))
    }
}

#[vtable]
impl configfs::AttributeOperations<7> for Vnic {
    type Data = Vnic;

    fn show(v: &Vnic, page: &mut [u8; PAGE_SIZE]) -> Result<usize> {
        let enabled = v.host.is_enabled();
        let st = v.host.st.lock();
        let s = st.stats;
        let (rh, rg, cap) = st.ring_use();
        let vf = st.vf_announced.map_or(-1i64, i64::from);
        let n = show_fmt(
            page,
            format_args!(
                "enabled {}\nopen {}\nnvsp_version {}\nndis_version {}.{}\nndis_mtu {}\n\
                 ndis_capabilities {:#x}\nrndis_initialized {}\npacket_filter {:#x}\n\
                 data_path {}\nvf_serial_announced {}\nuplink {}\nring_size {}\n\
                 ring_to_host_bytes {}\nring_to_guest_bytes {}\nrecv_sections {}\n\
                 sections_in_use {}\ncompletions_pending {}\nguest_packets {}\n\
                 host_packets {}\ntx_frames {}\ntx_bytes {}\ntx_uplink {}\n\
                 tx_uplink_errors {}\nrx_frames {}\nrx_bytes {}\nrx_dropped {}\n\
                 rndis_control {}\nbad_packets {}\nbad_completions {}\nring_full {}\n\
                 no_section {}\ndropped_completions {}\nrx_while_vf {}\nmac_changes {}\n\
                 mac_refused {}\ncurrent_mac {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}\n\
                 held_completions {}\ntx_over_mtu {}\nrx_over_mtu {}\nndis_mtu_refused {}\n",
                u8::from(enabled),
                u8::from(st.is_open()),
                nvsp_version_name(st.nvsp_version),
                st.ndis_version.0,
                st.ndis_version.1,
                st.ndis_mtu,
                st.ndis_caps,
                u8::from(st.rndis_ready),
                st.packet_filter,
                if st.data_path_vf { "vf" } else { "synthetic" },
                vf,
                u8::from(st.has_uplink()),
                cap,
                rh,
                rg,
                st.sections_total(),
                st.sections_in_use(),
                st.sections_in_use(),
                s.guest_packets,
                s.host_packets,
                s.tx_frames,
                s.tx_bytes,
                s.tx_uplink,
                s.tx_uplink_errors,
                s.rx_frames,
                s.rx_bytes,
                s.rx_dropped,
                s.rndis_ctrl,
                s.bad_packets,
                s.bad_completions,
                s.ring_full,
                s.no_section,
                s.dropped_completions,
                s.rx_while_vf,
                s.mac_changes,
                s.mac_refused,
                st.cur_mac[0],
                st.cur_mac[1],
                st.cur_mac[2],
                st.cur_mac[3],
                st.cur_mac[4],
                st.cur_mac[5],
                s.held_completions,
                s.tx_over_mtu,
                s.rx_over_mtu,
                s.ndis_mtu_refused,
            ),
        )?;
        let more = fmt_into(
            &mut page[n..],
            format_args!(
                "offload_params {}\noffload_params_refused {}\ntx_checksum_offload {}\n\
                 tx_lso {}\ntx_lso_segments {}\ntx_offload_refused {}\nrx_checksum_good {}\n\
                 rx_checksum_bad {}\nteardown_errors {}\ngpadl_teardown_failed {}\n\
                 rx_filtered {}\n",
                s.offload_params,
                s.offload_params_refused,
                s.tx_checksum_offload,
                s.tx_lso,
                s.tx_lso_segments,
                s.tx_offload_refused,
                s.rx_checksum_good,
                s.rx_checksum_bad,
                s.teardown_errors,
                s.gpadl_teardown_failed,
                s.rx_filtered,
            ),
        )?
        .len();
        let vlan = fmt_into(
            &mut page[n + more..],
            format_args!(
                "tx_vlan {}\nrx_vlan {}\ntx_vlan_refused {}\ntx_vlan_inline {}\n\
                 rx_vlan_dropped {}\nlink_speed_queries {}\nnetwork_changes {}\n",
                s.tx_vlan,
                s.rx_vlan,
                s.tx_vlan_refused,
                s.tx_vlan_inline,
                s.rx_vlan_dropped,
                s.link_speed_queries,
                s.network_changes,
            ),
        )?
        .len();
        let flow = fmt_into(
            &mut page[n + more + vlan..],
            format_args!(
                "guest_ring_full {}\nspace_signals {}\nmasked_signals {}\n",
                s.guest_ring_full, s.space_signals, s.masked_signals,
            ),
        )?;
        Ok(n + more + vlan + flow.len())
    }
}

#[vtable]
impl configfs::AttributeOperations<8> for Vnic {
    type Data = Vnic;

    fn show(v: &Vnic, page: &mut [u8; PAGE_SIZE]) -> Result<usize> {
        let x = v.host.st.lock().cfg.recv_section_size;
        show_fmt(page, format_args!("{}\n", x))
    }

    fn store(v: &Vnic, page: &[u8]) -> Result {
        let x = parse_u32(page)?;
        if !(1728..=65536).contains(&x) || x % 8 != 0 {
            return Err(EINVAL);
        }
        when_disabled(v, |st| st.cfg.recv_section_size = x)
    }
}

#[vtable]
impl configfs::AttributeOperations<9> for Vnic {
    type Data = Vnic;

    fn show(v: &Vnic, page: &mut [u8; PAGE_SIZE]) -> Result<usize> {
        let x = v.host.st.lock().vf_announced;
        show_fmt(page, format_args!("{}\n", u8::from(x.is_some())))
    }

    fn store(v: &Vnic, page: &[u8]) -> Result {
        let serial = if parse_bool(page)? {
            Some(v.host.st.lock().cfg.serial)
        } else {
            None
        };
        v.host.vf_association(serial)
    }
}

#[vtable]
impl configfs::AttributeOperations<10> for Vnic {
    type Data = Vnic;

    fn show(v: &Vnic, page: &mut [u8; PAGE_SIZE]) -> Result<usize> {
        let x = v.host.st.lock().drop_completions;
        show_fmt(page, format_args!("{}\n", x))
    }

    fn store(v: &Vnic, page: &[u8]) -> Result {
        let x = parse_u32(page)?;
        v.host.st.lock().drop_completions = x;
        Ok(())
    }
}

#[vtable]
impl configfs::AttributeOperations<11> for Vnic {
    type Data = Vnic;

    fn show(_v: &Vnic, page: &mut [u8; PAGE_SIZE]) -> Result<usize> {
        show_fmt(
            page,
            format_args!(
                "bad_version unknown_nvsp short_nvsp stray_completion rndis_overlong \
                 rndis_bad_offset xfer_out_of_range\n"
            ),
        )
    }

    fn store(v: &Vnic, page: &[u8]) -> Result {
        v.host.inject_class(trim(page))
    }
}

#[vtable]
impl configfs::AttributeOperations<12> for Vnic {
    type Data = Vnic;

    fn show(_v: &Vnic, page: &mut [u8; PAGE_SIZE]) -> Result<usize> {
        show_fmt(page, format_args!("\n"))
    }

    fn store(v: &Vnic, page: &[u8]) -> Result {
        let mut pkt = [0u8; 1024];
        let n = parse_hex(page, &mut pkt)?;
        v.host.inject_raw(&pkt[..n])
    }
}

/// Hex bytes (spaces and `:` ignored) into `out`; returns the count.
fn parse_hex(page: &[u8], out: &mut [u8]) -> Result<usize> {
    let mut n = 0;
    let mut hi: Option<u8> = None;
    for &c in trim(page) {
        if c.is_ascii_whitespace() || c == b':' {
            continue;
        }
        let d = (c as char).to_digit(16).ok_or(EINVAL)? as u8;
        match hi.take() {
            None => hi = Some(d),
            Some(h) => {
                *out.get_mut(n).ok_or(E2BIG)? = h * 16 + d;
                n += 1;
            }
        }
    }
    if hi.is_some() {
        return Err(EINVAL);
    }
    Ok(n)
}

/// `inject_rndis`: raw RNDIS bytes delivered in a receive section.
#[vtable]
impl configfs::AttributeOperations<14> for Vnic {
    type Data = Vnic;

    fn show(_v: &Vnic, page: &mut [u8; PAGE_SIZE]) -> Result<usize> {
        show_fmt(page, format_args!("\n"))
    }

    fn store(v: &Vnic, page: &[u8]) -> Result {
        let mut msg = [0u8; 1024];
        let n = parse_hex(page, &mut msg)?;
        if n == 0 {
            return Err(EINVAL);
        }
        v.host.inject_rndis(&msg[..n])
    }
}

/// `drop_init`: NVSP INIT messages the host leaves unanswered.
#[vtable]
impl configfs::AttributeOperations<15> for Vnic {
    type Data = Vnic;

    fn show(v: &Vnic, page: &mut [u8; PAGE_SIZE]) -> Result<usize> {
        let x = v.host.st.lock().drop_init;
        show_fmt(page, format_args!("{}\n", x))
    }

    fn store(v: &Vnic, page: &[u8]) -> Result {
        let x = parse_u32(page)?;
        v.host.st.lock().drop_init = x;
        Ok(())
    }
}

/// `gpadl_teardown_fail`: GPADL teardowns the host fails (keeping the
/// mapping), for the next N.
#[vtable]
impl configfs::AttributeOperations<21> for Vnic {
    type Data = Vnic;

    fn show(v: &Vnic, page: &mut [u8; PAGE_SIZE]) -> Result<usize> {
        let x = v.host.st.lock().gpadl_teardown_fail;
        show_fmt(page, format_args!("{}\n", x))
    }

    fn store(v: &Vnic, page: &[u8]) -> Result {
        let x = parse_u32(page)?;
        v.host.st.lock().gpadl_teardown_fail = x;
        Ok(())
    }
}

/// `friendly_name`: the NIC's name the host reports (printable ASCII, at
/// most 64 bytes; empty: the host has none). Read at probe.
#[vtable]
impl configfs::AttributeOperations<16> for Vnic {
    type Data = Vnic;

    fn show(v: &Vnic, page: &mut [u8; PAGE_SIZE]) -> Result<usize> {
        let st = v.host.st.lock();
        let name = &st.cfg.friendly_name[..st.cfg.friendly_len];
        let text = core::str::from_utf8(name).unwrap_or("");
        show_fmt(page, format_args!("{}\n", text))
    }

    fn store(v: &Vnic, page: &[u8]) -> Result {
        let name = page.strip_suffix(b"\n").unwrap_or(page);
        if name.len() > host::FRIENDLY_NAME_MAX || !name.iter().all(|c| (0x20..0x7f).contains(c)) {
            return Err(EINVAL);
        }
        when_disabled(v, |st| {
            st.cfg.friendly_name[..name.len()].copy_from_slice(name);
            st.cfg.friendly_len = name.len();
        })
    }
}

/// `mac_change`: whether the host accepts the guest's MAC address changes.
#[vtable]
impl configfs::AttributeOperations<17> for Vnic {
    type Data = Vnic;

    fn show(v: &Vnic, page: &mut [u8; PAGE_SIZE]) -> Result<usize> {
        let x = v.host.st.lock().cfg.mac_change;
        show_fmt(page, format_args!("{}\n", u8::from(x)))
    }

    fn store(v: &Vnic, page: &[u8]) -> Result {
        let x = parse_bool(page)?;
        v.host.st.lock().cfg.mac_change = x;
        Ok(())
    }
}

/// `rescind`: write 1 to rescind the channel (sends fail with `ENODEV`,
/// then the device is removed, the driver's remove running inside the
/// write). Reads 1 while rescinded.
#[vtable]
impl configfs::AttributeOperations<18> for Vnic {
    type Data = Vnic;

    fn show(v: &Vnic, page: &mut [u8; PAGE_SIZE]) -> Result<usize> {
        let x = v.host.st.lock().rescinded;
        show_fmt(page, format_args!("{}\n", u8::from(x)))
    }

    fn store(v: &Vnic, page: &[u8]) -> Result {
        if !parse_bool(page)? {
            return Err(EINVAL);
        }
        v.host.rescind();
        Ok(())
    }
}

/// `hold_completions`: `1` holds back the completions of guest packets (a
/// slow host), `0` sends every held one, in order.
#[vtable]
impl configfs::AttributeOperations<19> for Vnic {
    type Data = Vnic;

    fn show(v: &Vnic, page: &mut [u8; PAGE_SIZE]) -> Result<usize> {
        let x = v.host.st.lock().hold_completions;
        show_fmt(page, format_args!("{}\n", u8::from(x)))
    }

    fn store(v: &Vnic, page: &[u8]) -> Result {
        v.host.hold_completions(parse_bool(page)?);
        Ok(())
    }
}

/// `offloads`: what the host answers to OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES
/// (`azure`, `none`, `malformed`), or `refused`: Azure's answer, but the
/// guest's OID_TCP_OFFLOAD_PARAMETERS are refused. Any time: the guest sees
/// it at its next query (probe, a channel reset).
#[vtable]
impl configfs::AttributeOperations<20> for Vnic {
    type Data = Vnic;

    fn show(v: &Vnic, page: &mut [u8; PAGE_SIZE]) -> Result<usize> {
        let x = v.host.st.lock().cfg.offloads;
        show_fmt(page, format_args!("{}\n", x.as_str()))
    }

    fn store(v: &Vnic, page: &[u8]) -> Result {
        let x = match page.trim_ascii() {
            b"azure" => host::Offloads::Azure,
            b"none" => host::Offloads::None,
            b"malformed" => host::Offloads::Malformed,
            b"refused" => host::Offloads::Refused,
            _ => return Err(EINVAL),
        };
        // Read at the guest's next query and set (a new channel, say).
        v.host.st.lock().cfg.offloads = x;
        Ok(())
    }
}

#[vtable]
impl configfs::AttributeOperations<13> for Vnic {
    type Data = Vnic;

    fn show(v: &Vnic, page: &mut [u8; PAGE_SIZE]) -> Result<usize> {
        let x = v.host.st.lock().cfg.link_speed;
        show_fmt(page, format_args!("{}\n", x))
    }

    fn store(v: &Vnic, page: &[u8]) -> Result {
        v.host.set_link_speed(parse_u32(page)?);
        Ok(())
    }
}

/// `ring_limit`: small-ring mode, the bytes of the guest->host ring the
/// host lets the guest fill (`0`: all of it, the default; else at least
/// 8192). Any time; kept across channel resets.
#[vtable]
impl configfs::AttributeOperations<22> for Vnic {
    type Data = Vnic;

    fn show(v: &Vnic, page: &mut [u8; PAGE_SIZE]) -> Result<usize> {
        let x = v.host.st.lock().ring_limit;
        show_fmt(page, format_args!("{}\n", x))
    }

    fn store(v: &Vnic, page: &[u8]) -> Result {
        let x = parse_u32(page)?;
        if x != 0 && x < 8192 {
            return Err(EINVAL);
        }
        v.host.st.lock().ring_limit = x;
        Ok(())
    }
}

/// `network_change`: writing `1` indicates `RNDIS_STATUS_NETWORK_CHANGE`
/// to the initialised guest (the vNIC moved to another network); reads
/// how many were indicated.
#[vtable]
impl configfs::AttributeOperations<24> for Vnic {
    type Data = Vnic;

    fn show(v: &Vnic, page: &mut [u8; PAGE_SIZE]) -> Result<usize> {
        let x = v.host.st.lock().stats.network_changes;
        show_fmt(page, format_args!("{}\n", x))
    }

    fn store(v: &Vnic, page: &[u8]) -> Result {
        if !parse_bool(page)? {
            return Err(EINVAL);
        }
        v.host.network_change()
    }
}

/// `transport`: how the vNIC reaches the guest: `seam` (default; through
/// hv_netvsc_rs's `hvn_transport_register`) or `vmbus` (a VMBus channel
/// offered through the emulated host, hv_emu_host.ko, which any netvsc
/// driver binds through hv_vmbus). Only while disabled.
#[vtable]
impl configfs::AttributeOperations<25> for Vnic {
    type Data = Vnic;

    fn show(v: &Vnic, page: &mut [u8; PAGE_SIZE]) -> Result<usize> {
        let t = v.host.st.lock().transport;
        show_fmt(page, format_args!("{}\n", t.as_str()))
    }

    fn store(v: &Vnic, page: &[u8]) -> Result {
        let t = match trim(page) {
            b"seam" => host::Transport::Seam,
            b"vmbus" => host::Transport::Vmbus,
            _ => return Err(EINVAL),
        };
        when_disabled(v, |st| st.transport = t)
    }
}

/// `hold_ring`: `1` makes the host stop reading the guest->host ring (a
/// busy host), `0` resumes. Any time; kept across channel resets.
#[vtable]
impl configfs::AttributeOperations<23> for Vnic {
    type Data = Vnic;

    fn show(v: &Vnic, page: &mut [u8; PAGE_SIZE]) -> Result<usize> {
        let x = v.host.st.lock().hold_ring;
        show_fmt(page, format_args!("{}\n", u8::from(x)))
    }

    fn store(v: &Vnic, page: &[u8]) -> Result {
        v.host.hold_ring(v.host.clone(), parse_bool(page)?);
        Ok(())
    }
}
