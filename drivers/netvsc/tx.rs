// SPDX-License-Identifier: GPL-2.0

//! Transmit: frames into send sections (or GPA-direct slots for large
//! ones), announced to the host, sections freed by its completions.

#![forbid(unsafe_code)]

use super::*;

impl Tx {
    pub(super) fn alloc_large(&mut self) -> Option<u32> {
        if self.large_free == 0 {
            return None;
        }
        let slot = self.large_free.trailing_zeros();
        self.large_free &= !(1 << slot);
        Some(slot)
    }

    /// Returns a large slot; false if it was not in use.
    pub(super) fn release_large(&mut self, slot: u32) -> bool {
        if slot >= LARGE_SLOTS || self.large_free & (1 << slot) != 0 {
            return false;
        }
        self.large_free |= 1 << slot;
        true
    }

    pub(super) fn alloc(&mut self) -> Option<u32> {
        for (i, w) in self.free.iter_mut().enumerate() {
            if *w != 0 {
                let bit = w.trailing_zeros();
                *w &= !(1u64 << bit);
                return u32::try_from(i * 64).ok()?.checked_add(bit);
            }
        }
        None
    }

    /// Sends the host has not completed: data sections and large slots in
    /// use (`data` is the number of data sections).
    pub(super) fn in_flight(&self, data: u32) -> u32 {
        let free: u32 = self.free.iter().map(|w| w.count_ones()).sum();
        let large = LARGE_SLOTS - (self.large_free & ((1 << LARGE_SLOTS) - 1)).count_ones();
        data.saturating_sub(free) + if self.large.is_some() { large } else { 0 }
    }

    /// Returns a section; false if it was not in use (a bogus completion).
    pub(super) fn release(&mut self, section: u32) -> bool {
        let (i, bit) = ((section / 64) as usize, section % 64);
        match self.free.get_mut(i) {
            Some(w) if *w & (1u64 << bit) == 0 => {
                *w |= 1u64 << bit;
                true
            }
            _ => false,
        }
    }
}

impl NetvscDevice {
    /// Sends one frame: RNDIS packet header and frame copied into a free
    /// send section, announced to the host, section freed by its completion.
    pub(super) fn xmit(&self, dev: &net::Device<NetvscNic>, skb: net::SkBuff) -> net::NetdevTx {
        let len = skb.len();
        let skb = self.vf_tx.with(|vf| match vf {
            Some(vf) if vf.is_running() && vf.carrier_ok() => {
                match vf.xmit(skb) {
                    Ok(()) => {
                        self.vf_tx_packets.fetch_add(1, Relaxed);
                        self.vf_tx_bytes.fetch_add(u64::from(len), Relaxed);
                    }
                    Err(_) => {
                        self.vf_tx_dropped.fetch_add(1, Relaxed);
                    }
                }
                None
            }
            _ => Some(skb),
        });
        let Some(skb) = skb else {
            return net::NetdevTx::Ok;
        };
        let meta = skb.tx_offloads();
        let hw_tag = skb.vlan_tag();
        let inline_tag = hw_tag.is_none() && skb.protocol() == vlan::ETH_P_8021Q;
        let mut tx = self.tx.lock();
        let Some(buf) = tx.buf.clone() else {
            skb.free();
            return net::NetdevTx::Ok;
        };
        let plan = tx.plan;
        // The frame is staged first: offloads edit headers in this copy,
        // never in the skb (which may be shared or cloned).
        let staged = match tx.scratch.get_mut(..len as usize) {
            Some(frame) => match skb.copy_bits(0, frame) {
                Ok(()) => Self::tx_stage(frame, meta, hw_tag, inline_tag, &plan),
                Err(_) => Err(TxDrop::Other),
            },
            None => Err(TxDrop::Other),
        };
        let mut hdr = [0u8; TX_HEADER_MAX];
        let built = staged.and_then(|st| {
            let mut info = st.offload.packet_info();
            info.vlan = st.tag.map(|t| t.info());
            match rndis::build_packet_header(&mut hdr, &info, st.len as u32) {
                Ok(n) => Ok((st, n)),
                Err(_) => Err(TxDrop::Other),
            }
        });
        let (st, hlen) = match built {
            Ok(b) => b,
            Err(why) => {
                drop(tx);
                match why {
                    TxDrop::Vlan => self.vlan_error.fetch_add(1, Relaxed),
                    TxDrop::Other => self.tx_too_big.fetch_add(1, Relaxed),
                };
                skb.free();
                return net::NetdevTx::Ok;
            }
        };
        let total = hlen + st.len;
        if total > tx.section_size as usize {
            return self.xmit_large(dev, tx, skb, &hdr[..hlen], st);
        }
        let Some(section) = tx.alloc() else {
            self.tx_busy.fetch_add(1, Relaxed);
            dev.stop_queue();
            return net::NetdevTx::Busy(skb);
        };
        let offset = section as usize * tx.section_size as usize;
        let frame = &tx.scratch[st.start..st.start + st.len];
        let staged =
            buf.write(offset, &hdr[..hlen]).is_ok() && buf.write(offset + hlen, frame).is_ok();
        if !staged {
            tx.release(section);
            self.tx_too_big.fetch_add(1, Relaxed);
            skb.free();
            return net::NetdevTx::Ok;
        }
        let msg = nvsp::Message::SendRndisPacket {
            channel_type: nvsp::CHANNEL_TYPE_DATA,
            section_index: section,
            section_size: total as u32,
        };
        let mut nb = [0u8; nvsp::MESSAGE_SIZE_V61];
        let sent = match msg.build(&mut nb) {
            Ok(n) => self
                .transport
                .send_inband(&nb[..n], TX_TAG | u64::from(section), true),
            Err(_) => Err(EINVAL),
        };
        self.sent(dev, tx, sent, skb, st, |tx| {
            tx.release(section);
        })
    }

    /// Prepares the staged copy `frame` of a send: its 802.1Q tag, which
    /// the host takes as per-packet info only (`hw_tag`, the stack's
    /// out-of-band tag, or with `inline` an 802.1Q header still in the
    /// frame, as raw sends such as `AF_PACKET` leave it: moved out of the
    /// copy, as upstream does), then its offloads.
    pub(super) fn tx_stage(
        frame: &mut [u8],
        mut meta: net::TxOffloads,
        hw_tag: Option<(u16, u16)>,
        inline: bool,
        plan: &OffloadPlan,
    ) -> core::result::Result<TxFrame, TxDrop> {
        let (tag, start) = match hw_tag {
            Some((proto, tci)) if proto == vlan::ETH_P_8021Q => {
                (Some(vlan::Tag::from_tci(tci).map_err(|_| TxDrop::Vlan)?), 0)
            }
            // Only 802.1Q is offered (no NETIF_F_HW_VLAN_STAG_TX).
            Some(_) => return Err(TxDrop::Vlan),
            None if inline => match vlan::strip_inline(frame) {
                Ok(Some(t)) => {
                    if let Some((cs, co)) = meta.csum {
                        // The checksum start moves with the data; one
                        // inside the Ethernet header or the tag is bogus.
                        let cs = cs
                            .checked_sub(vlan::VLAN_HLEN as u32)
                            .filter(|&cs| cs >= crate::bindings::ETH_HLEN)
                            .ok_or(TxDrop::Vlan)?;
                        meta.csum = Some((cs, co));
                    }
                    (Some(t), vlan::VLAN_HLEN)
                }
                Ok(None) => (None, 0),
                Err(_) => return Err(TxDrop::Vlan),
            },
            None => (None, 0),
        };
        let frame = frame.get_mut(start..).ok_or(TxDrop::Other)?;
        let len = frame.len();
        let offload = Self::tx_offload(frame, meta, plan).ok_or(TxDrop::Other)?;
        Ok(TxFrame {
            offload,
            tag,
            start,
            len,
        })
    }

    /// What the host is to do with a staged frame (its headers edited as
    /// the offload needs); `None` if the stack's request cannot be met (a
    /// segmentation send of a kind never offered, or inconsistent
    /// metadata), and the frame is dropped.
    pub(super) fn tx_offload(
        frame: &mut [u8],
        meta: net::TxOffloads,
        plan: &OffloadPlan,
    ) -> Option<TxOffload> {
        if meta.other_gso {
            return None;
        }
        let csum = match meta.csum {
            Some((start, off)) => Some((u16::try_from(start).ok()?, u16::try_from(off).ok()?)),
            None => None,
        };
        let m = offload::TxMeta {
            csum,
            tso: meta.tso,
        };
        offload::prepare_tx(frame, &m, plan).ok()
    }

    /// Accounts for a send: on success the skb is consumed; if the channel
    /// is full the buffer goes back (`release`) and the queue stops with
    /// the skb returned; any other error drops it.
    pub(super) fn sent(
        &self,
        dev: &net::Device<NetvscNic>,
        mut tx: kernel::sync::SpinLockIrqGuard<'_, Tx>,
        sent: Result,
        skb: net::SkBuff,
        st: TxFrame,
        release: impl FnOnce(&mut Tx),
    ) -> net::NetdevTx {
        match sent {
            Ok(()) => {
                drop(tx);
                if st.tag.is_some() {
                    self.tx_vlan.fetch_add(1, Relaxed);
                }
                match st.offload {
                    TxOffload::None => {}
                    TxOffload::Checksum(_) => {
                        self.tx_checksum_offload.fetch_add(1, Relaxed);
                    }
                    TxOffload::Lso(_) => {
                        self.tx_lso.fetch_add(1, Relaxed);
                    }
                }
                self.tx_packets.fetch_add(1, Relaxed);
                self.tx_bytes.fetch_add(u64::from(skb.len()), Relaxed);
                skb.consume();
                net::NetdevTx::Ok
            }
            Err(e) if e == EAGAIN => {
                // The ring is full, possibly of receive completions with
                // no send of ours outstanding: no send completion may come
                // to wake the queue, so the host is asked to signal space.
                release(&mut tx);
                drop(tx);
                self.tx_busy.fetch_add(1, Relaxed);
                self.stop_queue.fetch_add(1, Relaxed);
                dev.stop_queue();
                self.tx_space_wait.store(1, Relaxed);
                if self.await_space() {
                    // Freed meanwhile: the host will not signal it.
                    self.tx_space_wait.store(0, Relaxed);
                    self.wake_queue.fetch_add(1, Relaxed);
                    dev.wake_queue();
                }
                net::NetdevTx::Busy(skb)
            }
            Err(_) => {
                release(&mut tx);
                self.tx_too_big.fetch_add(1, Relaxed);
                skb.free();
                net::NetdevTx::Ok
            }
        }
    }

    /// Sends a frame too large for a send section: header and the staged
    /// frame are copied into a large slot, which the host reads as
    /// GPA-direct pages; its completion frees the slot.
    pub(super) fn xmit_large(
        &self,
        dev: &net::Device<NetvscNic>,
        mut tx: kernel::sync::SpinLockIrqGuard<'_, Tx>,
        skb: net::SkBuff,
        hdr: &[u8],
        st: TxFrame,
    ) -> net::NetdevTx {
        let len = st.len;
        if tx.large.is_none() {
            skb.free();
            return net::NetdevTx::Ok;
        }
        let Some(slot) = tx.alloc_large() else {
            self.tx_busy.fetch_add(1, Relaxed);
            dev.stop_queue();
            return net::NetdevTx::Busy(skb);
        };
        let offset = slot as usize * LARGE_SLOT_SIZE;
        let total = hdr.len() + len;
        let mut pages = [PageRange::default(); LARGE_SLOT_SIZE / 4096 + 1];
        // Borrowed, not cloned: the last reference is only ever dropped by
        // teardown, outside the lock (vfree may sleep).
        let Tx { large, scratch, .. } = &mut *tx;
        let (Some(large), Some(frame)) = (large.as_ref(), scratch.get(st.start..st.start + len))
        else {
            tx.release_large(slot);
            skb.free();
            return net::NetdevTx::Ok;
        };
        let staged = total <= LARGE_SLOT_SIZE
            && large.write(offset, hdr).is_ok()
            && large.write(offset + hdr.len(), frame).is_ok();
        let npages = match large.page_ranges(offset, total, &mut pages) {
            Ok(n) if staged => n,
            _ => {
                tx.release_large(slot);
                self.tx_too_big.fetch_add(1, Relaxed);
                skb.free();
                return net::NetdevTx::Ok;
            }
        };
        let msg = nvsp::Message::SendRndisPacket {
            channel_type: nvsp::CHANNEL_TYPE_DATA,
            section_index: nvsp::NO_SECTION,
            section_size: 0,
        };
        let mut nb = [0u8; nvsp::MESSAGE_SIZE_V61];
        let tid = TX_TAG | LARGE_TID_BIT | u64::from(slot);
        let sent = match msg.build(&mut nb) {
            Ok(n) => self
                .transport
                .send_gpa_direct(&nb[..n], &pages[..npages], tid),
            Err(_) => Err(EINVAL),
        };
        self.sent(dev, tx, sent, skb, st, |tx| {
            tx.release_large(slot);
        })
    }

    pub(super) fn on_tx_completion(
        &self,
        tid: u64,
        payload: &[u8],
        dev: Option<&net::Device<NetvscNic>>,
    ) {
        let low = tid & 0xffff_ffff;
        if low & LARGE_TID_BIT != 0 {
            let slot = (low & !LARGE_TID_BIT) as u32;
            if !self.tx.lock().release_large(slot) {
                return self.reject(
                    "send completion",
                    format_args!("large send slot {} is not in use", slot),
                    REJECT_FREE_SECTION,
                );
            }
        } else if !self.tx.lock().release(low as u32) {
            return self.reject(
                "send completion",
                format_args!("send section {} is not in use", low),
                REJECT_FREE_SECTION,
            );
        }
        match nvsp::Message::parse(payload, nvsp::Direction::HostToGuest) {
            Ok(nvsp::Message::SendRndisPacketComplete { status })
                if status == nvsp::STATUS_SUCCESS => {}
            Ok(_) => self.bad(
                "send completion",
                crate::proto::error::Error::UnexpectedMessage,
            ),
            Err(e) => self.bad("send completion", e),
        }
        if let Some(d) = dev {
            if d.queue_stopped() {
                d.wake_queue();
            }
        }
    }
}
