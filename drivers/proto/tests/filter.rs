// SPDX-License-Identifier: GPL-2.0
//! The receive packet filter the driver programs for an interface mode.

use netvsc_proto::rndis::{self, RxFilterMode};

fn mode(promisc: bool, allmulti: bool, broadcast: bool, multicast_addrs: bool) -> RxFilterMode {
    RxFilterMode {
        promisc,
        allmulti,
        broadcast,
        multicast_addrs,
    }
}

#[test]
fn joined_groups_ask_for_all_multicast_never_the_list_bit() {
    // An up interface with IPv6 has joined groups (all-nodes, the
    // solicited-node groups): MULTICAST without a list would get none.
    let f = rndis::packet_filter(mode(false, false, true, true));
    assert_eq!(
        f,
        rndis::PACKET_TYPE_DIRECTED
            | rndis::PACKET_TYPE_BROADCAST
            | rndis::PACKET_TYPE_ALL_MULTICAST
    );
    for m in 0..16u8 {
        let f = rndis::packet_filter(mode(m & 1 != 0, m & 2 != 0, m & 4 != 0, m & 8 != 0));
        assert_eq!(f & rndis::PACKET_TYPE_MULTICAST, 0, "mode bits {m:#x}");
    }
}

#[test]
fn allmulti_without_groups_and_neither() {
    assert_eq!(
        rndis::packet_filter(mode(false, true, false, false)),
        rndis::PACKET_TYPE_DIRECTED | rndis::PACKET_TYPE_ALL_MULTICAST
    );
    assert_eq!(
        rndis::packet_filter(mode(false, false, true, false)),
        rndis::PACKET_TYPE_DIRECTED | rndis::PACKET_TYPE_BROADCAST
    );
    assert_eq!(
        rndis::packet_filter(mode(false, false, false, false)),
        rndis::PACKET_TYPE_DIRECTED
    );
}

#[test]
fn promiscuous_alone() {
    for m in 0..8u8 {
        assert_eq!(
            rndis::packet_filter(mode(true, m & 1 != 0, m & 2 != 0, m & 4 != 0)),
            rndis::PACKET_TYPE_PROMISCUOUS
        );
    }
}

#[test]
fn open_filter_is_upstreams() {
    assert_eq!(
        rndis::PACKET_FILTER_OPEN,
        rndis::PACKET_TYPE_DIRECTED
            | rndis::PACKET_TYPE_BROADCAST
            | rndis::PACKET_TYPE_ALL_MULTICAST
    );
}
