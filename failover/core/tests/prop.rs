// SPDX-License-Identifier: GPL-2.0
//! Property tests: the slot parser accepts exactly canonical decimal, the
//! pairing rule holds for random tables, and every random event sequence
//! keeps the state machine's invariants.

use failover_core::datapath::{Action, DataPath, Event, Path, State, Timer, MAX_SWITCH_RETRIES};
use failover_core::ifname::IfName;
use failover_core::log::LogKind;
use failover_core::pairing::{pair, NoPair, PairedBy, Pairing, SynthNic, VfCandidate};
use failover_core::slot::parse_slot_name;
use proptest::prelude::*;

fn cfg() -> ProptestConfig {
    ProptestConfig {
        cases: 1024,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(cfg())]

    #[test]
    fn slot_roundtrip(n in any::<u32>()) {
        prop_assert_eq!(parse_slot_name(n.to_string().as_bytes()), Ok(n));
    }

    #[test]
    fn slot_accepts_only_canonical(bytes in proptest::collection::vec(
        prop_oneof![Just(b'0'), Just(b'1'), Just(b'9'), Just(b'+'), Just(b'a'), any::<u8>()], 0..14)) {
        if let Ok(v) = parse_slot_name(&bytes) {
            prop_assert_eq!(v.to_string().into_bytes(), bytes);
        }
    }
}

const MACS: [[u8; 6]; 3] = [
    [0, 0x0d, 0x3a, 0, 0, 1],
    [0, 0x0d, 0x3a, 0, 0, 2],
    [0, 0x0d, 0x3a, 0, 0, 3],
];
const SLOTS: [&str; 6] = ["1", "2", "3", "01", "", "x"];

fn any_nic() -> impl Strategy<Value = SynthNic> {
    (0usize..3, proptest::option::of(1u32..4), any::<bool>()).prop_map(|(m, serial, has_vf)| {
        SynthNic {
            mac: MACS[m],
            serial,
            has_vf,
        }
    })
}

proptest! {
    #![proptest_config(cfg())]

    #[test]
    fn pairing_rule(nics in proptest::collection::vec(any_nic(), 0..5),
                    m in 0usize..3, s in proptest::option::of(0usize..6)) {
        let slot_name = s.map(|i| SLOTS[i].as_bytes());
        let c = VfCandidate { perm_mac: MACS[m], dev_mac: MACS[m], slot_name };
        let slot = slot_name.map(parse_slot_name);
        let exact = |n: &SynthNic| n.mac == MACS[m] && n.serial.is_some() && slot == n.serial.map(Ok);
        match pair(nics.iter().copied(), &c) {
            Pairing::Paired { nic, by } => {
                let n = nics[nic];
                prop_assert!(!n.has_vf);
                prop_assert_eq!(n.mac, MACS[m]);
                match by {
                    PairedBy::SerialAndMac => {
                        prop_assert!(exact(&n));
                        prop_assert!(!nics[..nic].iter().any(|x| exact(x) && !x.has_vf));
                    }
                    PairedBy::MacOnly => {
                        prop_assert_eq!(n.serial, None);
                        prop_assert!(!nics.iter().any(|x| exact(x) && !x.has_vf));
                    }
                }
            }
            Pairing::NotPaired(NoPair::SerialMismatch { nic, serial, slot: got }) => {
                let n = nics[nic];
                prop_assert_eq!(n.mac, MACS[m]);
                prop_assert_eq!(n.serial, Some(serial));
                prop_assert_eq!(got, slot);
                prop_assert!(got != Some(Ok(serial)));
                prop_assert!(!nics.iter().any(|x| x.mac == MACS[m] && x.serial.is_none() && !x.has_vf));
            }
            Pairing::NotPaired(NoPair::AlreadyHasVf { nic }) => {
                prop_assert!(nics[nic].has_vf);
                prop_assert_eq!(nics[nic].mac, MACS[m]);
            }
            Pairing::NotPaired(NoPair::NoMacMatch) => {
                prop_assert!(!nics.iter().any(|x| x.mac == MACS[m]));
            }
        }
    }
}

fn any_event() -> impl Strategy<Value = Event> {
    let names = ["eth1", "enP1s1np0", "eth2"];
    prop_oneof![
        1 => (1u32..3).prop_map(|serial| Event::HostVfAssociation { serial }),
        1 => (1u32..3).prop_map(|serial| Event::HostVfWithdrawn { serial }),
        1 => (0usize..3).prop_map(move |i| Event::VfRegistered { name: IfName::new(names[i]) }),
        3 => Just(Event::VfJoined),
        1 => Just(Event::VfJoinFailed),
        1 => (0usize..3, proptest::option::of(0u32..3))
            .prop_map(move |(i, slot)| Event::VfRefused { name: IfName::new(names[i]), slot }),
        1 => (0usize..3).prop_map(move |i| Event::VfRenamed { name: IfName::new(names[i]) }),
        4 => Just(Event::VfUp),
        2 => Just(Event::VfDown),
        2 => Just(Event::VfGoingDown),
        2 => Just(Event::VfUnregistering),
        5 => any::<bool>().prop_map(|ok| Event::SwitchCompleted { ok }),
        1 => Just(Event::SwitchSendFailed),
        1 => Just(Event::Timeout(Timer::Switch)),
        1 => Just(Event::Timeout(Timer::VfMissing)),
        1 => Just(Event::SyntheticRemoving),
        1 => Just(Event::ChannelReset),
    ]
}

/// What the glue and a simulated host would observe.
#[derive(Default)]
struct Model {
    tx_via_vf: bool,
    host_path_vf: bool,
    outstanding: Option<Path>,
    sends_in_a_row: u32,
    warned: u32,
    /// The machine gave up switching back (host refused every attempt).
    gave_up_back: bool,
}

fn is_pending(s: State) -> bool {
    matches!(s, State::VfPending | State::SwitchingBack)
}

fn check(dp: &mut DataPath, m: &mut Model, ev: Event) -> Result<(), TestCaseError> {
    let before = dp.state();
    let out = dp.handle(ev);
    let after = dp.state();
    prop_assert!(!out.actions.overflowed());
    if out.ignored.is_some() {
        prop_assert!(out.actions.is_empty());
        prop_assert_eq!(before, after);
    }
    // A new channel: the host routes synthetically and forgot the request.
    if ev == Event::ChannelReset {
        m.host_path_vf = false;
        m.outstanding = None;
        m.sends_in_a_row = 0;
        m.gave_up_back = false;
    }
    // The simulated host applies a request when it completes it.
    if let (Event::SwitchCompleted { ok: true }, true) = (ev, is_pending(before)) {
        m.host_path_vf = m.outstanding == Some(Path::Vf);
        if !m.host_path_vf {
            m.gave_up_back = false;
        }
        m.outstanding = None;
        m.sends_in_a_row = 0;
    }
    if after == State::Vf && before != State::Vf {
        prop_assert_eq!(before, State::VfPending);
        prop_assert_eq!(ev, Event::SwitchCompleted { ok: true });
    }
    let acts: Vec<Action> = out.actions.iter().copied().collect();
    for (i, a) in acts.iter().enumerate() {
        match *a {
            Action::StartVfTx => {
                prop_assert_eq!(ev, Event::SwitchCompleted { ok: true });
                prop_assert_eq!(before, State::VfPending);
                prop_assert!(m.host_path_vf);
                m.tx_via_vf = true;
            }
            Action::StopVfTx => {
                prop_assert!(m.tx_via_vf);
                m.tx_via_vf = false;
            }
            Action::SendSwitch(p) => {
                if is_pending(before) {
                    let retry_or_flip = matches!(
                        ev,
                        Event::SwitchCompleted { .. }
                            | Event::SwitchSendFailed
                            | Event::Timeout(Timer::Switch)
                            | Event::ChannelReset
                    );
                    prop_assert!(retry_or_flip);
                }
                prop_assert_eq!(
                    acts.get(i + 1),
                    Some(&Action::ArmTimer {
                        timer: Timer::Switch,
                        ms: failover_core::datapath::SWITCH_TIMEOUT_MS,
                    })
                );
                if p == Path::Vf {
                    prop_assert!(!m.tx_via_vf);
                }
                // Retries of one request are bounded; a failure that
                // leads to the other path starts a fresh request.
                let failure = matches!(
                    ev,
                    Event::SwitchCompleted { ok: false }
                        | Event::SwitchSendFailed
                        | Event::Timeout(Timer::Switch)
                );
                if failure && is_pending(before) && m.outstanding == Some(p) {
                    m.sends_in_a_row += 1;
                } else {
                    m.sends_in_a_row = 1;
                }
                m.outstanding = Some(p);
                prop_assert!(m.sends_in_a_row <= 1 + u32::from(MAX_SWITCH_RETRIES));
            }
            Action::ReleaseVf => {
                prop_assert!(!m.tx_via_vf);
                // Switching back precedes release: the host is synthetic,
                // or a request is under way (a switch to synthetic, or a
                // switch to the VF whose completion, good or bad, is
                // followed by one; the final drain checks that).
                prop_assert!(!m.host_path_vf || m.outstanding.is_some());
            }
            Action::WarnVfMissing { .. } => m.warned += 1,
            Action::Log(l) if l.kind == LogKind::SwitchFromVfFailed => m.gave_up_back = true,
            _ => {}
        }
    }
    prop_assert_eq!(m.tx_via_vf, after == State::Vf);
    prop_assert_eq!(is_pending(after), dp.timer_armed(Timer::Switch));
    if !is_pending(after) {
        m.outstanding = None;
    }
    if after == State::Vf {
        prop_assert!(dp.vf_up() && dp.serial().is_some() && dp.has_vf());
    }
    Ok(())
}

proptest! {
    #![proptest_config(cfg())]

    #[test]
    fn random_sequences_keep_invariants(events in proptest::collection::vec(any_event(), 0..60)) {
        let mut dp = DataPath::new();
        let mut m = Model::default();
        for ev in events {
            check(&mut dp, &mut m, ev)?;
        }
        prop_assert!(m.warned <= 60);
        // Take the VF away and let the host complete everything: the data
        // path ends synthetic, with the VF released.
        check(&mut dp, &mut m, Event::VfUnregistering)?;
        for _ in 0..4 {
            check(&mut dp, &mut m, Event::SwitchCompleted { ok: true })?;
        }
        prop_assert_eq!(dp.state(), State::Synthetic);
        prop_assert!(!dp.has_vf());
        // Unless the host refused every switch back, it ends synthetic.
        prop_assert!(!m.host_path_vf || m.gave_up_back);
        prop_assert_eq!(dp.state().data_path_str(), "synthetic");
    }
}
