// SPDX-License-Identifier: GPL-2.0

//! Probe and remove: the bring-up in the host's order (NVSP version,
//! NDIS, shared buffers, RNDIS, queries), the interface registered, and
//! the teardown in Hyper-V's order.

#![forbid(unsafe_code)]

use super::*;

impl NetvscDevice {
    /// Brings the device up with the host and registers `eth%d`. On error
    /// everything done so far is undone and the channel is closed.
    pub(crate) fn probe(this: &Arc<Self>) -> Result {
        let (info, alias) = {
            let mut setup = this.setup.lock();
            if let Err(e) = this.probe_locked(&mut setup, net::ETH_DATA_LEN) {
                this.teardown_locked(&mut setup);
                return Err(e);
            }
            (setup.info, setup.friendly_name.take())
        };
        match this.register_netdev(&info) {
            Ok(()) => {
                // The host's name for the NIC, as upstream: `ifalias`.
                if let (Some(a), Some(reg)) = (alias, this.registration()) {
                    if let Err(e) = reg.device().set_alias(&a) {
                        pr_warn!("friendly name not usable as ifalias: {:?}\n", e);
                    }
                }
                Ok(())
            }
            Err(e) => {
                pr_err!("registering the network interface failed: {:?}\n", e);
                this.teardown_locked(&mut this.setup.lock());
                Err(e)
            }
        }
    }

    pub(super) fn register_netdev(self: &Arc<Self>, info: &HostInfo) -> Result {
        // The host does not tell how large an MTU it takes: it configures
        // the NDIS MTU sent after INIT (renegotiated on every change, see
        // `renegotiate_mtu`) or falls back to 1514 when it refuses it. NVSP
        // 2 and later carry frames up to upstream's 65535 bytes; frames
        // beyond a send section go as GPA-direct pages.
        let max_mtu = if info.nvsp_version >= nvsp::VERSION_2 {
            MAX_FRAME - crate::bindings::ETH_HLEN
        } else {
            net::ETH_DATA_LEN
        };
        let mut config = net::Config::new(info.mac);
        config.parent = self.transport.parent();
        config.max_mtu = max_mtu;
        // What the host configured, if it is less than the usual 1500.
        config.mtu = match info.host_mtu {
            m if m >= net::ETH_MIN_MTU => m.min(net::ETH_DATA_LEN),
            _ => net::ETH_DATA_LEN,
        };
        config.napi_queues = 1;
        // Offloads the host does for us; the user may turn each off
        // (`ethtool -K`), and the stack then does the work itself.
        let plan = info.plan;
        let f = offload_features(&plan);
        // 802.1Q tags travel as per-packet info both ways (always on, as
        // upstream); VLAN devices on top get the offloads. Unlike upstream
        // the interface also filters: the host carries every VLAN, but a
        // joined VF filters in hardware and is given the VLAN ids.
        config.features = f | VLAN_FEATURES;
        config.hw_features = f;
        config.vlan_features = f;
        config.tso_max_size = plan.tso_max();
        let dev = self.clone();
        let reg = net::Registration::new(config, try_pin_init!(NetvscNic { dev } ? Error))?;
        let d = reg.device();
        let m = info.mac;
        pr_info!(
            "{}: synthetic NIC {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}, NVSP {:#x}, max MTU {}\n",
            d.name().as_cstr(),
            m[0],
            m[1],
            m[2],
            m[3],
            m[4],
            m[5],
            info.nvsp_version,
            max_mtu
        );
        match &info.offloads {
            Some(o) => pr_info!(
                "{}: host offloads: {}; in use: {}\n",
                d.name().as_cstr(),
                // The protocol core's summaries (core::fmt::Display).
                format_args!("{}", o),
                format_args!("{}", plan)
            ),
            None => pr_info!("{}: host offers no offloads\n", d.name().as_cstr()),
        }
        let vf_rx = Arc::new(net::VfRx::new(d)?, GFP_KERNEL)?;
        // From here on the channel is drained by NAPI, enabled for the life
        // of the interface (the host talks to us whether it is up or not).
        d.napi_enable(0)?;
        let reg = Arc::new(reg, GFP_KERNEL)?;
        let d = reg.device();
        let mut ndev = self.ndev.lock();
        // Link indications are applied by the poll from now on; this one
        // covers those seen before.
        self.apply_carrier(d);
        *ndev = Some(Iface {
            reg,
            vf_rx,
            polled: true,
        });
        drop(ndev);
        if crate::failover::add(self).is_err() {
            // Out of memory for the registry: works, without a VF.
            pr_warn!("VF failover unavailable for this NIC (out of memory)\n");
        }
        // Host events seen during probe (a VF association) are fed now.
        Self::kick_failover(self);
        // Packets that arrived before the switch are picked up now (bottom
        // halves off so the poll runs as soon as they are enabled again).
        let _bh = net::BhDisabled::new();
        self.on_event();
        Ok(())
    }

    /// Opens the channel and sets everything up with the host for an MTU
    /// of `mtu` (without the Ethernet header).
    pub(super) fn probe_locked(&self, s: &mut Setup, mtu: u32) -> Result {
        self.transport.open(RING_BYTES.load(Relaxed))?;
        s.opened = true;

        let version = self.negotiate()?;
        s.info.nvsp_version = version;
        let mtu = mtu.checked_add(crate::bindings::ETH_HLEN).ok_or(EINVAL)?;
        if version >= nvsp::VERSION_2 {
            let mut caps = nvsp::CAP_IEEE8021Q;
            if version >= nvsp::VERSION_5 {
                caps |= nvsp::CAP_SRIOV | nvsp::CAP_TEAMING;
            }
            self.send_nvsp(&nvsp::Message::SendNdisConfig {
                mtu,
                capabilities: caps,
            })?;
        }
        let (major, minor) = if version > nvsp::VERSION_4 {
            NDIS_6_30
        } else {
            NDIS_6_1
        };
        self.send_nvsp(&nvsp::Message::SendNdisVersion { major, minor })?;

        // Receive buffer: the host carves it into sections and tells us how.
        let recv_size = if version <= nvsp::VERSION_2 {
            RECV_BUF_SIZE_LEGACY
        } else {
            RECV_BUF_SIZE
        };
        let recv = Arc::new(SharedBuffer::new(recv_size)?, GFP_KERNEL)?;
        let gpadl = self.transport.establish_gpadl(&recv)?;
        s.recv_gpadl = Some(gpadl);
        s.recv_buf = Some(recv.clone());
        let reply = self.request_nvsp(&nvsp::Message::SendRecvBuf {
            gpadl_handle: gpadl,
            id: pkt::RECEIVE_BUFFER_ID,
        })?;
        match nvsp::Message::parse(&reply.0[..reply.1], nvsp::Direction::HostToGuest) {
            Ok(nvsp::Message::SendRecvBufComplete { status, sections }) => {
                if status != nvsp::STATUS_SUCCESS {
                    pr_err!("host refused the receive buffer (status {})\n", status);
                    return Err(EIO);
                }
                let sec = sections.get(0).ok_or(EPROTO)?;
                let used = u64::from(sec.sub_alloc_size) * u64::from(sec.num_sub_allocs);
                let end = u64::from(sec.offset) + used;
                if sec.sub_alloc_size == 0 || sec.num_sub_allocs == 0 || end > recv.len() as u64 {
                    pr_err!("host described a receive buffer section outside the buffer\n");
                    return Err(EPROTO);
                }
                s.info.recv_section_size = sec.sub_alloc_size;
                s.info.recv_sections = sec.num_sub_allocs;
            }
            Ok(_) => return Err(EPROTO),
            Err(e) => return Err(self.bad_reply("receive buffer completion", e)),
        }
        let comps = Completions::with_capacity(s.info.recv_sections as usize)?;
        let old = {
            let _bh = net::BhDisabled::new();
            let mut rx = self.rx.lock();
            rx.recv_buf = Some(recv);
            core::mem::replace(&mut rx.comps, comps)
        };
        // Freed outside the lock (vfree may sleep).
        drop(old);

        // Send buffer: the host chooses the section size.
        let send = Arc::new(SharedBuffer::new(SEND_BUF_SIZE)?, GFP_KERNEL)?;
        let gpadl = self.transport.establish_gpadl(&send)?;
        s.send_gpadl = Some(gpadl);
        s.send_buf = Some(send.clone());
        let reply = self.request_nvsp(&nvsp::Message::SendSendBuf {
            gpadl_handle: gpadl,
            id: SEND_BUF_ID,
        })?;
        match nvsp::Message::parse(&reply.0[..reply.1], nvsp::Direction::HostToGuest) {
            Ok(nvsp::Message::SendSendBufComplete {
                status,
                section_size,
            }) => {
                if status != nvsp::STATUS_SUCCESS {
                    pr_err!("host refused the send buffer (status {})\n", status);
                    return Err(EIO);
                }
                if section_size == 0 || section_size as usize > send.len() {
                    pr_err!("host chose an invalid send section size {}\n", section_size);
                    return Err(EPROTO);
                }
                s.info.send_section_size = section_size;
                s.info.send_sections = (send.len() / section_size as usize) as u32;
                if s.info.send_sections < 2 {
                    pr_err!("host's send sections leave none for data\n");
                    return Err(EPROTO);
                }
            }
            Ok(_) => return Err(EPROTO),
            Err(e) => return Err(self.bad_reply("send buffer completion", e)),
        }

        {
            // Every section but the last (control's) is free for data.
            let data = s.info.send_sections - 1;
            let words = data.div_ceil(64) as usize;
            let mut free = KVec::with_capacity(words, GFP_KERNEL)?;
            for w in 0..words as u32 {
                let bits = (data - w * 64).min(64);
                free.push(
                    if bits == 64 {
                        u64::MAX
                    } else {
                        (1u64 << bits) - 1
                    },
                    GFP_KERNEL,
                )?;
            }
            let large = Arc::new(
                SharedBuffer::new(LARGE_SLOT_SIZE * LARGE_SLOTS as usize)?,
                GFP_KERNEL,
            )?;
            let old = {
                let mut tx = self.tx.lock();
                tx.buf = Some(send.clone());
                tx.section_size = s.info.send_section_size;
                tx.free = free;
                tx.large_free = (1 << LARGE_SLOTS) - 1;
                tx.large.replace(large)
            };
            // None after a teardown; dropped (vfree) outside the lock anyway.
            drop(old);
        }

        // RNDIS on top.
        let init = rndis::Message::Init(rndis::InitRequest {
            req_id: self.next_req.fetch_add(1, Relaxed),
            major: rndis::MAJOR_VERSION,
            minor: rndis::MINOR_VERSION,
            max_xfer_size: 0x4000,
        });
        let (buf, len) = self.request_rndis(s, &init)?;
        match rndis::Message::parse(&buf[..len]) {
            Ok(rndis::Message::InitComplete(c)) if c.status == rndis::STATUS_SUCCESS => {
                s.rndis_up = true;
            }
            Ok(rndis::Message::InitComplete(c)) => {
                pr_err!("RNDIS initialisation failed (status {:#x})\n", c.status);
                return Err(EIO);
            }
            Ok(_) => return Err(EPROTO),
            Err(e) => return Err(self.bad_reply("RNDIS init completion", e)),
        }

        let mac = self.query(s, rndis::OID_802_3_PERMANENT_ADDRESS)?;
        if mac.1 != 6 {
            pr_err!("host gave a MAC address of {} bytes\n", mac.1);
            return Err(EPROTO);
        }
        s.info.mac.copy_from_slice(&mac.0[..6]);
        s.info.host_mtu = self.query_u32(s, rndis::OID_GEN_MAXIMUM_FRAME_SIZE)?;
        let link = self.query_u32(s, rndis::OID_GEN_MEDIA_CONNECT_STATUS)?;
        // NDIS media state: 0 connected, 1 disconnected.
        self.ctrl.lock().link_up = link == 0;
        // As upstream: hosts from NVSP 5 tell the speed; an error leaves it
        // unknown.
        if s.info.nvsp_version >= nvsp::VERSION_5 {
            if let Some((buf, len)) = self.query_opt(s, rndis::OID_GEN_LINK_SPEED)? {
                match reply_u32(&buf, len) {
                    Some(v) => self.set_speed(v),
                    None => pr_warn!("host answered the link speed with {} bytes\n", len),
                }
            }
        }
        s.friendly_name = self.friendly_name(s)?;
        s.info.offloads = self.offload_caps(s)?;
        s.info.plan = match &s.info.offloads {
            Some(caps) => self.set_offloads(s, caps)?,
            None => OffloadPlan::default(),
        };
        self.tx.lock().plan = s.info.plan;
        Ok(())
    }

    /// Turns on with the host what we use of its capabilities
    /// (`OID_TCP_OFFLOAD_PARAMETERS`). A host that refuses leaves every
    /// offload off: the stack then does checksums and segmentation.
    pub(super) fn set_offloads(&self, s: &Setup, caps: &rndis::OffloadCaps) -> Result<OffloadPlan> {
        let plan = OffloadPlan::new(caps, s.info.nvsp_version);
        let mut info = [0u8; offload::OFFLOAD_PARAMETERS_SIZE];
        let size = OffloadPlan::params_size(s.info.nvsp_version);
        let n = plan
            .params_for(s.info.nvsp_version)
            .build(&mut info, size)
            .map_err(|_| EINVAL)?;
        match self.set_status(s, rndis::OID_TCP_OFFLOAD_PARAMETERS, &info[..n])? {
            rndis::STATUS_SUCCESS => Ok(plan),
            status => {
                pr_warn!(
                    "host refused the offload parameters (status {:#x}); offloads stay off\n",
                    status
                );
                Ok(OffloadPlan::default())
            }
        }
    }

    /// The host's offload capabilities (`OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES`).
    /// A host that does not support the OID offers none; one whose answer
    /// does not parse is logged and treated the same.
    pub(super) fn offload_caps(&self, s: &Setup) -> Result<Option<rndis::OffloadCaps>> {
        let Some((buf, len)) = self.query_opt(s, rndis::OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES)?
        else {
            return Ok(None);
        };
        match rndis::OffloadCaps::parse(&buf[..len]) {
            Ok(c) => Ok(Some(c)),
            Err(e) => {
                pr_warn!("host's offload capabilities ignored: {}\n", e.as_str());
                Ok(None)
            }
        }
    }

    /// The host's friendly name for the NIC (`OID_GEN_FRIENDLY_NAME`,
    /// UTF-16), as UTF-8. A host that has none, or only Hyper-V's default
    /// "Network Adapter", or one that does not decode or fit an alias,
    /// gives `None` (logged when it is malformed).
    pub(super) fn friendly_name(&self, s: &Setup) -> Result<Option<KVec<u8>>> {
        let Some((buf, len)) = self.query_opt(s, rndis::OID_GEN_FRIENDLY_NAME)? else {
            return Ok(None);
        };
        let mut name = [0u8; net::IFALIAS_MAX];
        match rndis::friendly_name_alias(&buf[..len], &mut name) {
            Ok(0) => Ok(None),
            Ok(n) => {
                let mut v = KVec::with_capacity(n, GFP_KERNEL)?;
                v.extend_from_slice(&name[..n], GFP_KERNEL)?;
                Ok(Some(v))
            }
            Err(e) => {
                pr_warn!("host's friendly name ignored: {}\n", e.as_str());
                Ok(None)
            }
        }
    }

    /// Tries the NVSP versions newest first; returns the one the host took.
    pub(super) fn negotiate(&self) -> Result<u32> {
        for &v in nvsp::GUEST_VERSIONS.iter() {
            let reply = self.request_nvsp(&nvsp::Message::Init {
                min_version: v,
                max_version: v,
            })?;
            match nvsp::Message::parse(&reply.0[..reply.1], nvsp::Direction::HostToGuest) {
                Ok(nvsp::Message::InitComplete { status, .. })
                    if status == nvsp::STATUS_SUCCESS =>
                {
                    return Ok(v);
                }
                Ok(nvsp::Message::InitComplete { .. }) => continue,
                Ok(_) => return Err(EPROTO),
                Err(e) => return Err(self.bad_reply("NVSP init completion", e)),
            }
        }
        pr_err!("host accepts none of our NVSP versions\n");
        Err(ENODEV)
    }

    /// Stops the host's use of the channel before teardown, as upstream's
    /// `rndis_filter_halt_device`: RNDIS HALT (no reply, only the send's
    /// completion), then a wait, bounded by [`QUIESCE_TIMEOUT_MS`], for the
    /// host to complete every send still outstanding. Nobody polls the
    /// channel now (the interface is gone, or NAPI is off for a reset), so
    /// the wait drains it itself.
    pub(super) fn quiesce(&self, s: &mut Setup) {
        if !core::mem::take(&mut s.rndis_up) {
            return;
        }
        let halt = rndis::Message::Halt {
            req_id: self.next_req.fetch_add(1, Relaxed),
        };
        if let Err(e) = self.request_rndis(s, &halt) {
            // A dead (rescinded) channel completes nothing: no wait.
            pr_warn!("RNDIS HALT not sent ({:?}); tearing down at once\n", e);
            return;
        }
        let data = s.info.send_sections.saturating_sub(1);
        let mut waited = 0;
        loop {
            if !self.polled() {
                let _bh = net::BhDisabled::new();
                self.drain(None, None, u32::MAX);
            }
            let sends = self.tx.lock().in_flight(data);
            let halt = !matches!(self.ctrl.lock().pending, Pending::None);
            if sends == 0 && !halt {
                return;
            }
            if waited >= QUIESCE_TIMEOUT_MS || self.broken.load(Relaxed) != 0 {
                pr_warn!(
                    "host left {} sends{} uncompleted after {} ms; tearing down anyway\n",
                    sends,
                    if halt { " and the HALT" } else { "" },
                    waited
                );
                self.arm(Pending::None);
                return;
            }
            kernel::time::delay::fsleep(kernel::time::Delta::from_millis(1));
            waited += 1;
        }
    }

    /// Undoes probe: halts RNDIS and waits for outstanding sends, revokes
    /// the buffers, closes the channel, then revokes the GPADLs (the host
    /// must not touch the memory once they are gone). A buffer whose GPADL
    /// the host did not let go of is never freed: the host may still write
    /// it (upstream leaks it too).
    pub(super) fn teardown_locked(&self, s: &mut Setup) {
        if s.opened {
            self.quiesce(s);
            if s.recv_gpadl.is_some() {
                let _ = self.send_nvsp(&nvsp::Message::RevokeRecvBuf {
                    id: pkt::RECEIVE_BUFFER_ID,
                });
            }
            if s.send_gpadl.is_some() {
                let _ = self.send_nvsp(&nvsp::Message::RevokeSendBuf { id: SEND_BUF_ID });
            }
            self.transport.close();
            s.opened = false;
        }
        for (g, buf) in [
            (s.recv_gpadl.take(), s.recv_buf.as_ref()),
            (s.send_gpadl.take(), s.send_buf.as_ref()),
        ] {
            let Some(g) = g else { continue };
            if let Err(e) = self.transport.teardown_gpadl(g) {
                let len = buf.map_or(0, |b| b.len());
                pr_err!(
                    "GPADL {} teardown failed ({:?}): its {} bytes stay allocated, the host may still write them\n",
                    g,
                    e,
                    len
                );
                if let Some(b) = buf {
                    b.keep_forever();
                }
            }
        }
        let comps = {
            let _bh = net::BhDisabled::new();
            let mut rx = self.rx.lock();
            rx.recv_buf = None;
            // The completions were for the host's sections of this channel.
            core::mem::take(&mut rx.comps)
        };
        // Freed outside the lock (vfree may sleep).
        drop(comps);
        {
            // The large buffer is the Tx's alone: freed (vfree, which may
            // sleep) after the lock is released.
            let large = {
                let mut tx = self.tx.lock();
                tx.buf = None;
                tx.free = KVec::new();
                tx.large_free = 0;
                tx.large.take()
            };
            drop(large);
        }
        s.recv_buf = None;
        s.send_buf = None;
    }

    /// Unbinds from the host: the reverse of [`NetvscDevice::probe`]. The
    /// interface goes first (no more opens, sends or filters), then the
    /// channel and buffers.
    pub(crate) fn remove(this: &Arc<Self>) {
        // The VF goes first: switch back, release (under RTNL).
        crate::failover::remove(this);
        // Taken under RTNL, so no failover work holds a reference after;
        // dropped outside it: unregistering sleeps and takes RTNL itself.
        let netdev = {
            let _rtnl = net::Rtnl::lock();
            this.ndev.lock().take()
        };
        drop(netdev);
        // Nothing arms it without the interface.
        if let Some(t) = this.network_change_timer.as_ref() {
            t.cancel_sync();
        }
        // No poll any more: teardown's requests drain the channel and need
        // the host's signals, which the last poll may have left masked.
        this.transport.end_read();
        this.set_vf_tx(None);
        let mut setup = this.setup.lock();
        this.teardown_locked(&mut setup);
    }
}
