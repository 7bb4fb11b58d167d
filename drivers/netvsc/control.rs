// SPDX-License-Identifier: GPL-2.0

//! Control requests: NVSP and RNDIS requests sent, their completions
//! awaited (one at a time, under the setup lock), RNDIS queries and sets.

#![forbid(unsafe_code)]

use super::*;

impl NetvscDevice {
    pub(super) fn tid(&self) -> u64 {
        self.next_tid.fetch_add(1, Relaxed)
    }

    pub(super) fn bad_reply(&self, what: &str, e: crate::proto::error::Error) -> Error {
        pr_err!("malformed {} from host: {}\n", what, e.as_str());
        EPROTO
    }

    pub(super) fn send_nvsp(&self, msg: &nvsp::Message<'_>) -> Result {
        let mut buf = [0u8; nvsp::MESSAGE_SIZE_V61];
        let len = msg.build(&mut buf).map_err(|_| EINVAL)?;
        self.transport.send_inband(&buf[..len], self.tid(), false)
    }

    /// Sends `msg` asking for a completion and returns the completion's
    /// payload (copied).
    pub(super) fn request_nvsp(&self, msg: &nvsp::Message<'_>) -> Result<([u8; MAX_REPLY], usize)> {
        let mut buf = [0u8; nvsp::MESSAGE_SIZE_V61];
        let len = msg.build(&mut buf).map_err(|_| EINVAL)?;
        let tid = self.tid();
        self.arm(Pending::Completion { tid });
        if let Err(e) = self.transport.send_inband(&buf[..len], tid, true) {
            self.arm(Pending::None);
            return Err(e);
        }
        self.wait()
    }

    /// Sends an RNDIS control message through the control send section and
    /// returns the host's RNDIS reply (copied).
    pub(super) fn request_rndis(
        &self,
        s: &Setup,
        msg: &rndis::Message<'_>,
    ) -> Result<([u8; MAX_REPLY], usize)> {
        let (req_id, reply) = match msg {
            rndis::Message::Init(r) => (r.req_id, true),
            rndis::Message::Query(r) | rndis::Message::Set(r) => (r.req_id, true),
            // No RNDIS reply: only the NVSP completion of the send.
            rndis::Message::Halt { req_id } => (*req_id, false),
            _ => return Err(EINVAL),
        };
        let send = s.send_buf.as_ref().ok_or(EINVAL)?;
        let mut buf = [0u8; 256];
        let len = msg.build(&mut buf).map_err(|_| EINVAL)?;
        // The last send section is reserved for control messages, which are
        // serialised by the setup lock.
        let section = s.info.send_sections.checked_sub(1).ok_or(EINVAL)?;
        let offset = section as usize * s.info.send_section_size as usize;
        if len > s.info.send_section_size as usize {
            return Err(EMSGSIZE);
        }
        send.write(offset, &buf[..len])?;
        let tid = self.tid();
        self.arm(if reply {
            Pending::Rndis {
                tid,
                req_id,
                completed: false,
                replied: false,
            }
        } else {
            Pending::Completion { tid }
        });
        let nv = nvsp::Message::SendRndisPacket {
            channel_type: nvsp::CHANNEL_TYPE_CONTROL,
            section_index: section,
            section_size: len as u32,
        };
        let mut nb = [0u8; nvsp::MESSAGE_SIZE_V61];
        let nlen = nv.build(&mut nb).map_err(|_| EINVAL)?;
        if let Err(e) = self.transport.send_inband(&nb[..nlen], tid, true) {
            self.arm(Pending::None);
            return Err(e);
        }
        if !reply {
            // Waited for with the data sends, see `quiesce`.
            return Ok(([0; MAX_REPLY], 0));
        }
        self.wait()
    }

    /// Queries `oid`; `None` if the host answers with an error status (an
    /// optional OID it does not support).
    pub(super) fn query_opt(
        &self,
        s: &Setup,
        oid: u32,
    ) -> Result<Option<([u8; MAX_REPLY], usize)>> {
        match self.query_status(s, oid)? {
            Ok(reply) => Ok(Some(reply)),
            Err(_) => Ok(None),
        }
    }

    pub(super) fn query(&self, s: &Setup, oid: u32) -> Result<([u8; MAX_REPLY], usize)> {
        self.query_status(s, oid)?.map_err(|status| {
            pr_err!(
                "host failed query of OID {:#x} (status {:#x})\n",
                oid,
                status
            );
            EIO
        })
    }

    /// Queries `oid`: the answer, or the host's error status.
    pub(super) fn query_status(
        &self,
        s: &Setup,
        oid: u32,
    ) -> Result<core::result::Result<([u8; MAX_REPLY], usize), u32>> {
        let req_id = self.next_req.fetch_add(1, Relaxed);
        let q = rndis::Message::Query(rndis::OidRequest {
            req_id,
            oid,
            dev_vc_handle: 0,
            info: &[],
        });
        let (buf, len) = self.request_rndis(s, &q)?;
        match rndis::Message::parse(&buf[..len]) {
            Ok(rndis::Message::QueryComplete(c)) if c.status == rndis::STATUS_SUCCESS => {
                let mut out = [0u8; MAX_REPLY];
                let n = c.info.len().min(MAX_REPLY);
                out[..n].copy_from_slice(&c.info[..n]);
                Ok(Ok((out, n)))
            }
            Ok(rndis::Message::QueryComplete(c)) => Ok(Err(c.status)),
            Ok(_) => Err(EPROTO),
            Err(e) => Err(self.bad_reply("RNDIS query completion", e)),
        }
    }

    pub(super) fn query_u32(&self, s: &Setup, oid: u32) -> Result<u32> {
        let (buf, len) = self.query(s, oid)?;
        reply_u32(&buf, len).ok_or_else(|| {
            pr_err!("host answered OID {:#x} with {} bytes\n", oid, len);
            EPROTO
        })
    }

    pub(super) fn arm(&self, p: Pending) {
        let mut c = self.ctrl.lock();
        c.pending = p;
        c.failed = false;
        c.reply_len = 0;
    }

    /// Waits for the armed request to finish; returns the reply.
    pub(super) fn wait(&self) -> Result<([u8; MAX_REPLY], usize)> {
        let mut left = kernel::time::msecs_to_jiffies(CONTROL_TIMEOUT_MS);
        // Bounds the rounds spent on a host that keeps the ring busy
        // without ever answering (each round serves one batch).
        let mut rounds = 0u32;
        loop {
            // Before the interface exists (or while NAPI is off for a
            // channel reset) nobody polls the channel: the waiter drains it
            // itself, in process context, bottom halves off (the same lock
            // is taken by NAPI polls).
            let mut more = false;
            if !self.polled() {
                let _bh = net::BhDisabled::new();
                more = self.drain(None, None, u32::MAX).more;
            }
            rounds += 1;
            let mut c = self.ctrl.lock();
            // Nothing more is taken from a channel found unusable: fail now
            // rather than at the timeout.
            if self.broken.load(Relaxed) != 0 {
                c.pending = Pending::None;
                return Err(EIO);
            }
            let done = match c.pending {
                Pending::None => true,
                Pending::Completion { .. } => false,
                Pending::Rndis {
                    completed, replied, ..
                } => completed && replied,
            };
            if done || c.failed {
                c.pending = Pending::None;
                if c.failed {
                    return Err(EIO);
                }
                return Ok((c.reply, c.reply_len));
            }
            // Packets left, or an event since the drain above: drain again
            // before sleeping.
            if (core::mem::take(&mut c.kick) || more) && rounds < 10_000 {
                continue;
            }
            match self.ctrl_wait.wait_interruptible_timeout(&mut c, left) {
                CondVarTimeoutResult::Woken { jiffies } => left = jiffies,
                CondVarTimeoutResult::Timeout => {
                    c.pending = Pending::None;
                    pr_err!(
                        "host did not answer a control request in {} ms\n",
                        CONTROL_TIMEOUT_MS
                    );
                    return Err(ETIMEDOUT);
                }
                CondVarTimeoutResult::Signal { .. } => {
                    c.pending = Pending::None;
                    return Err(EINTR);
                }
            }
        }
    }

    /// Whether NAPI drains the channel (see [`Iface::polled`]).
    pub(super) fn polled(&self) -> bool {
        self.ndev.lock().as_ref().is_some_and(|i| i.polled)
    }

    pub(super) fn set_polled(&self, polled: bool) {
        let mut ndev = self.ndev.lock();
        if let Some(i) = &mut *ndev {
            i.polled = polled;
        }
    }

    /// Programs the host's receive filter (`OID_GEN_CURRENT_PACKET_FILTER`).
    pub(crate) fn set_filter(&self, filter: u32) -> Result {
        self.rndis_set(rndis::OID_GEN_CURRENT_PACKET_FILTER, &filter.to_le_bytes())
    }

    /// Asks the host to use `mac` for this NIC (the `NetworkAddress`
    /// configuration parameter, as 12 hexadecimal digits).
    pub(crate) fn set_host_mac(&self, mac: &net::MacAddr) -> Result {
        let hex = rndis::mac_to_hex(mac);
        let hex = core::str::from_utf8(&hex).map_err(|_| EINVAL)?;
        let mut info = [0u8; 96];
        let n =
            rndis::ConfigParam::build_string(&mut info, rndis::CONFIG_PARAM_NETWORK_ADDRESS, hex)
                .map_err(|_| EINVAL)?;
        self.rndis_set(rndis::OID_GEN_RNDIS_CONFIG_PARAMETER, &info[..n])
    }

    /// One RNDIS set request, completion awaited: `EIO` if the host
    /// answers with an error status.
    pub(super) fn rndis_set(&self, oid: u32, info: &[u8]) -> Result {
        let s = self.setup.lock();
        if !s.opened {
            return Err(ENODEV);
        }
        match self.set_status(&s, oid, info)? {
            rndis::STATUS_SUCCESS => Ok(()),
            status => {
                pr_warn!("host refused RNDIS set {:#x}: status {:#x}\n", oid, status);
                Err(EIO)
            }
        }
    }

    /// One RNDIS set request on an open channel: the host's status.
    pub(super) fn set_status(&self, s: &Setup, oid: u32, info: &[u8]) -> Result<u32> {
        let req_id = self.next_req.fetch_add(1, Relaxed);
        let m = rndis::Message::Set(rndis::OidRequest {
            req_id,
            oid,
            dev_vc_handle: 0,
            info,
        });
        let (buf, len) = self.request_rndis(s, &m)?;
        match rndis::Message::parse(&buf[..len]) {
            Ok(rndis::Message::SetComplete(c)) => Ok(c.status),
            Ok(_) => Err(EPROTO),
            Err(e) => Err(self.bad_reply("RNDIS set completion", e)),
        }
    }

    pub(super) fn bad(&self, what: &str, e: crate::proto::error::Error) {
        self.reject(what, format_args!("{}", e.as_str()), e as usize);
    }

    /// Counts and logs a host packet dropped for `why`. Rate-limited per
    /// `key` (a protocol error kind or a `REJECT_*` reason): the first
    /// `REJECT_LOG_FIRST`, then every power of two, so a misbehaving host
    /// cannot flood the log while a new kind of fault is still reported.
    pub(super) fn reject(&self, what: &str, why: core::fmt::Arguments<'_>, key: usize) {
        let total = self.bad_packets.fetch_add(1, Relaxed) + 1;
        let n = self.rejects[key.min(REJECT_KEYS - 1)].fetch_add(1, Relaxed) + 1;
        if n <= REJECT_LOG_FIRST || n.is_power_of_two() {
            pr_warn!(
                "dropped malformed {} from host: {} ({} of this kind, {} in all)\n",
                what,
                why,
                n,
                total
            );
        }
    }
}
