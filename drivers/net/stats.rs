// SPDX-License-Identifier: GPL-2.0

//! Interface statistics (`struct rtnl_link_stats64`).
//!
//! C header: [`include/uapi/linux/if_link.h`](srctree/include/uapi/linux/if_link.h).

use crate::bindings;

/// The statistics a driver reports from
/// [`Operations::get_stats64`](super::Operations::get_stats64); the fields
/// mean what they mean in `struct rtnl_link_stats64`. Fields left at zero
/// are reported as zero.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Stats64 {
    pub(crate) rx_packets: u64,
    pub(crate) tx_packets: u64,
    pub(crate) rx_bytes: u64,
    pub(crate) tx_bytes: u64,
    pub(crate) rx_errors: u64,
    pub(crate) tx_errors: u64,
    pub(crate) rx_dropped: u64,
    pub(crate) tx_dropped: u64,
    pub(crate) multicast: u64,
    pub(crate) collisions: u64,
    pub(crate) rx_length_errors: u64,
    pub(crate) rx_over_errors: u64,
    pub(crate) rx_crc_errors: u64,
    pub(crate) rx_frame_errors: u64,
    pub(crate) rx_fifo_errors: u64,
    pub(crate) rx_missed_errors: u64,
    pub(crate) tx_aborted_errors: u64,
    pub(crate) tx_carrier_errors: u64,
    pub(crate) tx_fifo_errors: u64,
    pub(crate) tx_heartbeat_errors: u64,
    pub(crate) tx_window_errors: u64,
    pub(crate) rx_compressed: u64,
    pub(crate) tx_compressed: u64,
    pub(crate) rx_nohandler: u64,
}

impl Stats64 {
    /// Copies the counters into the kernel's structure.
    pub(super) fn write_to(&self, out: &mut bindings::rtnl_link_stats64) {
        out.rx_packets = self.rx_packets;
        out.tx_packets = self.tx_packets;
        out.rx_bytes = self.rx_bytes;
        out.tx_bytes = self.tx_bytes;
        out.rx_errors = self.rx_errors;
        out.tx_errors = self.tx_errors;
        out.rx_dropped = self.rx_dropped;
        out.tx_dropped = self.tx_dropped;
        out.multicast = self.multicast;
        out.collisions = self.collisions;
        out.rx_length_errors = self.rx_length_errors;
        out.rx_over_errors = self.rx_over_errors;
        out.rx_crc_errors = self.rx_crc_errors;
        out.rx_frame_errors = self.rx_frame_errors;
        out.rx_fifo_errors = self.rx_fifo_errors;
        out.rx_missed_errors = self.rx_missed_errors;
        out.tx_aborted_errors = self.tx_aborted_errors;
        out.tx_carrier_errors = self.tx_carrier_errors;
        out.tx_fifo_errors = self.tx_fifo_errors;
        out.tx_heartbeat_errors = self.tx_heartbeat_errors;
        out.tx_window_errors = self.tx_window_errors;
        out.rx_compressed = self.rx_compressed;
        out.tx_compressed = self.tx_compressed;
        out.rx_nohandler = self.rx_nohandler;
    }

    /// Reads the counters from the kernel's structure.
    pub(super) fn from_raw(s: &bindings::rtnl_link_stats64) -> Self {
        Self {
            rx_packets: s.rx_packets,
            tx_packets: s.tx_packets,
            rx_bytes: s.rx_bytes,
            tx_bytes: s.tx_bytes,
            rx_errors: s.rx_errors,
            tx_errors: s.tx_errors,
            rx_dropped: s.rx_dropped,
            tx_dropped: s.tx_dropped,
            multicast: s.multicast,
            collisions: s.collisions,
            rx_length_errors: s.rx_length_errors,
            rx_over_errors: s.rx_over_errors,
            rx_crc_errors: s.rx_crc_errors,
            rx_frame_errors: s.rx_frame_errors,
            rx_fifo_errors: s.rx_fifo_errors,
            rx_missed_errors: s.rx_missed_errors,
            tx_aborted_errors: s.tx_aborted_errors,
            tx_carrier_errors: s.tx_carrier_errors,
            tx_fifo_errors: s.tx_fifo_errors,
            tx_heartbeat_errors: s.tx_heartbeat_errors,
            tx_window_errors: s.tx_window_errors,
            rx_compressed: s.rx_compressed,
            tx_compressed: s.tx_compressed,
            rx_nohandler: s.rx_nohandler,
        }
    }
}

/// One queue's counters for the netdev family's queue statistics
/// (`netdev_stat_ops`, `ip`/YNL `qstats-get`): packets and bytes, the two
/// every driver reports. The kernel leaves unreported what is not set.
///
/// C header: [`include/net/netdev_queues.h`](srctree/include/net/netdev_queues.h).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct QueueStats {
    pub(crate) packets: u64,
    pub(crate) bytes: u64,
}

impl QueueStats {
    pub(super) fn write_rx(&self, out: &mut bindings::netdev_queue_stats_rx) {
        out.packets = self.packets;
        out.bytes = self.bytes;
    }

    pub(super) fn write_tx(&self, out: &mut bindings::netdev_queue_stats_tx) {
        out.packets = self.packets;
        out.bytes = self.bytes;
    }
}
