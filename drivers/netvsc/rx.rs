// SPDX-License-Identifier: GPL-2.0

//! Receive: the channel drained in NAPI poll, frames from the receive
//! buffer into the stack, receive completions returned (retried when the
//! ring is full), flow control with the host's signals.

#![forbid(unsafe_code)]

use super::*;

impl NetvscDevice {
    /// The host signalled the channel: packets for us, or ring space we
    /// asked for. Any context, hard IRQ included (the Hyper-V transport's
    /// `HV_CALL_ISR` callback).
    pub(crate) fn on_event(&self) {
        if self.broken.load(Relaxed) != 0 {
            return;
        }
        {
            let ndev = self.ndev.lock();
            if let Some(i) = ndev.as_ref().filter(|i| i.polled) {
                // No more signals for new packets until the poll has looked
                // at the ring (`end_read` in `poll`), as upstream's
                // netvsc_channel_cb.
                self.transport.begin_read();
                i.reg.device().napi_schedule(0);
                return;
            }
        }
        // No interface yet (probe), any more (remove), or the channel is
        // being re-initialised: wake the control request waiting, which
        // drains the channel itself. This may run in any context (even with
        // interrupts off), so nothing more here.
        let mut c = self.ctrl.lock();
        c.kick = true;
        self.ctrl_wait.notify_all();
    }

    /// NAPI poll: drains host packets, handing frames to the stack, and
    /// sends what waited for ring space.
    pub(crate) fn poll(&self, dev: &net::Device<NetvscNic>, napi: &mut net::NapiPoll<'_>) -> u32 {
        let budget = napi.budget();
        let d = self.drain(Some(dev), Some(napi), budget);
        let work = d.delivered;
        Self::kick_failover(&dev.data().dev);
        self.wake_tx_on_space(dev, d.comps_waiting);
        if d.more {
            // Batch cap reached with packets left: poll again, do not wait
            // for another host signal.
            return budget;
        }
        if work < budget && napi.complete_done(work) {
            // Host interrupts on again. Packets that came while they were
            // masked are not signalled, and space the host freed before we
            // asked for it neither: look, and poll again for either.
            let pending = self.transport.end_read();
            if pending || self.space_awaited_and_free(d.comps_waiting) {
                self.transport.begin_read();
                dev.napi_schedule(0);
            }
        }
        work
    }

    /// Whether something waits for ring space (receive completions, as the
    /// drain left them, or a stopped TX queue) and the ring has it now.
    pub(super) fn space_awaited_and_free(&self, comps_waiting: bool) -> bool {
        let waiting = self.tx_space_wait.load(Relaxed) != 0 || comps_waiting;
        waiting && self.transport.write_avail() >= SEND_SPACE_WANTED
    }

    /// Wakes a TX queue stopped for ring space once the host made room;
    /// the space request stays for receive completions still waiting.
    pub(super) fn wake_tx_on_space(&self, dev: &net::Device<NetvscNic>, comps_waiting: bool) {
        if self.tx_space_wait.load(Relaxed) == 0 || self.transport.write_avail() < SEND_SPACE_WANTED
        {
            return;
        }
        self.tx_space_wait.store(0, Relaxed);
        if !comps_waiting {
            self.transport.want_write_space(0);
        }
        if dev.queue_stopped() {
            self.wake_queue.fetch_add(1, Relaxed);
            dev.wake_queue();
        }
    }

    /// A send found the ring full: asks the host to signal when space
    /// returns, then looks again (the host signals only when its reading
    /// crosses the mark, and it may have read everything already).
    /// Returns whether the space is there now.
    pub(super) fn await_space(&self) -> bool {
        self.transport.want_write_space(SEND_SPACE_WANTED);
        self.transport.write_avail() >= SEND_SPACE_WANTED
    }

    /// Consumes host packets until the ring is empty, `budget` frames went
    /// up the stack, or a bounded batch was served (a host that keeps the
    /// ring full is served in turns).
    pub(super) fn drain(
        &self,
        dev: Option<&net::Device<NetvscNic>>,
        napi: Option<&mut net::NapiPoll<'_>>,
        budget: u32,
    ) -> Drained {
        let mut rx = self.rx.lock();
        let mut more = true;
        let Rx {
            pkt,
            range,
            recv_buf,
            comps,
        } = &mut *rx;
        self.retry_completions(comps);
        let mut sink = Sink {
            dev,
            napi,
            comps,
            delivered: 0,
        };
        for _ in 0..256 {
            if sink.delivered >= budget {
                break;
            }
            let n = match self.transport.recv(pkt) {
                Ok(0) => {
                    more = false;
                    break;
                }
                Ok(n) => n,
                Err(e) => {
                    // A packet we cannot take stays in the ring forever:
                    // stop serving this host rather than spin on it.
                    pr_err!("cannot receive from host ({:?}); device disabled\n", e);
                    self.broken.store(1, Relaxed);
                    more = false;
                    break;
                }
            };
            self.handle_packet(&pkt[..n], range, recv_buf.as_deref(), &mut sink);
        }
        Drained {
            delivered: sink.delivered,
            more,
            comps_waiting: !sink.comps.is_empty(),
        }
    }

    pub(super) fn handle_packet(
        &self,
        bytes: &[u8],
        range: &mut [u8],
        recv: Option<&SharedBuffer>,
        sink: &mut Sink<'_, '_>,
    ) {
        let recv_len = recv.map_or(0, |r| r.len() as u32);
        let p = match pkt::Packet::parse_checked(bytes, recv_len, MAX_RANGE as u32) {
            Ok(p) => p,
            Err(e) => {
                self.bad("VMBus packet", e);
                // A transfer-page packet with a sound descriptor but bad
                // ranges still holds host receive sections: complete it
                // (as failed) so the host can reuse them.
                if let Ok(d) = pkt::Descriptor::parse(bytes) {
                    if d.packet_type == pkt::PacketType::DataUsingXferPages {
                        self.complete_xfer(sink.comps, d.trans_id, nvsp::STATUS_FAIL);
                    }
                }
                return;
            }
        };
        match p.kind {
            pkt::PacketKind::Completion if p.desc.trans_id & !0xffff_ffff == TX_TAG => {
                self.on_tx_completion(p.desc.trans_id, p.payload, sink.dev)
            }
            pkt::PacketKind::Completion => self.on_completion(p.desc.trans_id, p.payload),
            pkt::PacketKind::TransferPages(tp) if tp.xfer_pageset_id != pkt::RECEIVE_BUFFER_ID => {
                // Only our receive buffer is a transfer page set the host
                // may name; its ranges mean nothing in any other.
                self.reject(
                    "transfer-page packet",
                    format_args!(
                        "names page set {:#x}, not the receive buffer {:#x}",
                        tp.xfer_pageset_id,
                        pkt::RECEIVE_BUFFER_ID
                    ),
                    REJECT_PAGESET,
                );
                self.complete_xfer(sink.comps, p.desc.trans_id, nvsp::STATUS_FAIL);
            }
            pkt::PacketKind::TransferPages(tp) => {
                let status = match (
                    recv,
                    nvsp::Message::parse(p.payload, nvsp::Direction::HostToGuest),
                ) {
                    (Some(recv), Ok(nvsp::Message::SendRndisPacket { .. })) => {
                        let mut ok = true;
                        for r in tp.ranges() {
                            let Some(dst) = range.get_mut(..r.byte_count as usize) else {
                                ok = false;
                                continue;
                            };
                            if recv.read(r.byte_offset as usize, dst).is_err() {
                                ok = false;
                                continue;
                            }
                            ok &= self.on_rndis(dst, sink);
                        }
                        if ok {
                            nvsp::STATUS_SUCCESS
                        } else {
                            nvsp::STATUS_FAIL
                        }
                    }
                    (_, Err(e)) => {
                        self.bad("NVSP message in transfer-page packet", e);
                        nvsp::STATUS_FAIL
                    }
                    _ => nvsp::STATUS_FAIL,
                };
                // Always complete, so the host can reuse its sections.
                self.complete_xfer(sink.comps, p.desc.trans_id, status);
            }
            pkt::PacketKind::Inband => {
                match nvsp::Message::parse(p.payload, nvsp::Direction::HostToGuest) {
                    Ok(nvsp::Message::VfAssociation { allocated, serial }) => {
                        use crate::failover_core::datapath::Event;
                        self.host_event(if allocated {
                            Event::HostVfAssociation { serial }
                        } else {
                            Event::HostVfWithdrawn { serial }
                        });
                    }
                    Ok(nvsp::Message::SendIndirectionTable(_)) => {}
                    Ok(_) => {}
                    Err(e) => self.bad("NVSP message", e),
                }
            }
            pkt::PacketKind::GpaDirect(_) => {
                self.bad("packet", crate::proto::error::Error::UnexpectedMessage)
            }
        }
    }

    /// Completes a host transfer-page packet, returning its sections. A
    /// completion the ring has no room for waits (behind any older one)
    /// until the host signals space: it is never dropped.
    pub(super) fn complete_xfer(&self, comps: &mut Completions, tid: u64, status: u32) {
        let c = Completion { tid, status };
        if comps.is_empty() {
            match self.send_rx_completion(c) {
                Err(e) if e == EAGAIN => {}
                // Sent, or the channel is gone (and its sections with it).
                _ => return,
            }
        }
        self.rx_comp_busy.fetch_add(1, Relaxed);
        if !comps.push(c) {
            // More packets outstanding than the host has sections.
            return self.reject(
                "transfer-page packet",
                format_args!("more than {} receive completions outstanding", comps.len()),
                REJECT_COMPLETIONS,
            );
        }
        if comps.len() == 1 && self.await_space() {
            self.retry_completions(comps);
        }
    }

    /// Sends waiting receive completions, oldest first, while the ring
    /// takes them.
    pub(super) fn retry_completions(&self, comps: &mut Completions) {
        if comps.is_empty() {
            return;
        }
        while let Some(c) = comps.front() {
            match self.send_rx_completion(c) {
                Ok(()) => comps.pop(),
                Err(e) if e == EAGAIN => {
                    self.await_space();
                    return;
                }
                Err(_) => comps.clear(),
            }
        }
        // All out: the space request was theirs, unless TX waits too.
        if self.tx_space_wait.load(Relaxed) == 0 {
            self.transport.want_write_space(0);
        }
    }

    pub(super) fn send_rx_completion(&self, c: Completion) -> Result {
        let mut buf = [0u8; nvsp::MESSAGE_SIZE_V61];
        let len = (nvsp::Message::SendRndisPacketComplete { status: c.status })
            .build(&mut buf)
            .map_err(|_| EINVAL)?;
        self.transport.send_completion(&buf[..len], c.tid)
    }

    pub(super) fn on_completion(&self, tid: u64, payload: &[u8]) {
        if tid == SWITCH_TID {
            // The host acknowledges a data-path switch; a failure status, if
            // it sends one, fails it.
            let ok = !matches!(
                nvsp::Message::parse(payload, nvsp::Direction::HostToGuest),
                Ok(nvsp::Message::SendRndisPacketComplete { status }) if status != nvsp::STATUS_SUCCESS
            );
            let mut c = self.ctrl.lock();
            c.switch_result = Some(ok);
            self.ctrl_wait.notify_all();
            return;
        }
        let mut c = self.ctrl.lock();
        match c.pending {
            Pending::Completion { tid: want } if want == tid => {
                let n = payload.len().min(MAX_REPLY);
                c.reply[..n].copy_from_slice(&payload[..n]);
                c.reply_len = n;
                c.pending = Pending::None;
                self.ctrl_wait.notify_all();
            }
            Pending::Rndis {
                tid: want,
                req_id,
                replied,
                ..
            } if want == tid => {
                match nvsp::Message::parse(payload, nvsp::Direction::HostToGuest) {
                    Ok(nvsp::Message::SendRndisPacketComplete { status })
                        if status == nvsp::STATUS_SUCCESS => {}
                    _ => c.failed = true,
                }
                c.pending = Pending::Rndis {
                    tid,
                    req_id,
                    completed: true,
                    replied,
                };
                self.ctrl_wait.notify_all();
            }
            _ => {
                // Not "invalid in this direction": a completion is expected
                // from the host, just not for this id (a stray or a late one
                // whose request already timed out).
                drop(c);
                self.reject(
                    "completion",
                    format_args!("no request with transaction id {:#x} is pending", tid),
                    REJECT_UNKNOWN_TID,
                );
            }
        }
    }

    /// One RNDIS message from the receive buffer. Returns false when it was
    /// malformed.
    pub(super) fn on_rndis(&self, msg: &[u8], sink: &mut Sink<'_, '_>) -> bool {
        let m = match rndis::Message::parse(msg) {
            Ok(m) => m,
            Err(e) => {
                self.bad("RNDIS message", e);
                return false;
            }
        };
        let req_id = match m {
            rndis::Message::InitComplete(c) => c.req_id,
            rndis::Message::QueryComplete(c) => c.req_id,
            rndis::Message::SetComplete(c) | rndis::Message::KeepaliveComplete(c) => c.req_id,
            rndis::Message::Indicate(ind) => {
                if let Some(v) = ind.link_speed() {
                    self.set_speed(v);
                }
                match ind.status {
                    rndis::STATUS_MEDIA_CONNECT => self.set_link(true, sink.dev),
                    rndis::STATUS_MEDIA_DISCONNECT => self.set_link(false, sink.dev),
                    rndis::STATUS_NETWORK_CHANGE => self.network_change(sink.dev),
                    _ => {}
                }
                return true;
            }
            rndis::Message::Packet(p) => {
                let tag = match p.info.vlan.map(vlan::Tag::from_info) {
                    None => None,
                    Some(Ok(t)) => Some(t),
                    Some(Err(e)) => {
                        self.bad("802.1Q info", e);
                        return false;
                    }
                };
                self.receive(p.data, p.info.checksum, tag, sink);
                return true;
            }
            _ => {
                self.bad(
                    "RNDIS message",
                    crate::proto::error::Error::UnexpectedMessage,
                );
                return false;
            }
        };
        let mut c = self.ctrl.lock();
        match c.pending {
            Pending::Rndis {
                tid,
                req_id: want,
                completed,
                ..
            } if want == req_id => {
                let n = msg.len().min(MAX_REPLY);
                c.reply[..n].copy_from_slice(&msg[..n]);
                c.reply_len = n;
                c.pending = Pending::Rndis {
                    tid,
                    req_id,
                    completed,
                    replied: true,
                };
                self.ctrl_wait.notify_all();
                true
            }
            _ => {
                drop(c);
                self.bad(
                    "RNDIS completion",
                    crate::proto::error::Error::UnexpectedMessage,
                );
                false
            }
        }
    }

    /// One received frame into the stack (through NAPI); checksums the
    /// host vouched for are not verified again (unless the user turned
    /// receive checksum offload off).
    pub(super) fn receive(
        &self,
        frame: &[u8],
        csum: Option<rndis::ChecksumInfo>,
        tag: Option<vlan::Tag>,
        sink: &mut Sink<'_, '_>,
    ) {
        let (Some(d), Some(napi)) = (sink.dev, sink.napi.as_deref_mut()) else {
            self.rx_dropped.fetch_add(1, Relaxed);
            return;
        };
        let Ok(len) = u32::try_from(frame.len()) else {
            self.rx_dropped.fetch_add(1, Relaxed);
            return;
        };
        if !d.is_running() {
            self.rx_dropped.fetch_add(1, Relaxed);
            return;
        }
        let verified = csum.is_some_and(offload::rx_checksum_good)
            && d.features().contains(net::Features::RXCSUM);
        let delivered = napi.alloc_skb(len).and_then(|mut skb| {
            skb.put_data(frame)?;
            if verified {
                skb.set_csum_unnecessary();
                self.rx_checksum_offload.fetch_add(1, Relaxed);
            }
            // The host stripped the tag: it goes up out of band, as from
            // a NIC that strips tags (NETIF_F_HW_VLAN_CTAG_RX).
            if let Some(t) = tag {
                skb.put_vlan_ctag(t.tci());
                self.rx_vlan.fetch_add(1, Relaxed);
            }
            napi.receive(skb)
        });
        sink.delivered += 1;
        if delivered.is_ok() {
            self.rx_packets.fetch_add(1, Relaxed);
            self.rx_bytes.fetch_add(u64::from(len), Relaxed);
        } else {
            self.rx_dropped.fetch_add(1, Relaxed);
        }
    }
}
