// SPDX-License-Identifier: GPL-2.0
//! State-machine sequences from the seed document (boot, flapping, host
//! servicing) and the edges around them.

use failover_core::datapath::{
    Action, DataPath, Event, Ignored, Path, State, Timer, MAX_SWITCH_RETRIES, SWITCH_TIMEOUT_MS,
    VF_MISSING_TIMEOUT_MS,
};
use failover_core::ifname::IfName;
use failover_core::log::{write_vf_missing, LogDevice, LogKind};

/// Drives the machine and records what the glue would print and do.
struct Glue {
    dp: DataPath,
    log: Vec<String>,
    did: Vec<Action>,
}

impl Glue {
    fn new() -> Glue {
        Glue {
            dp: DataPath::new(),
            log: Vec::new(),
            did: Vec::new(),
        }
    }

    fn ev(&mut self, e: Event) -> Vec<Action> {
        let out = self.dp.handle(e);
        assert!(!out.actions.overflowed());
        let acts: Vec<Action> = out.actions.iter().copied().collect();
        for a in &acts {
            match a {
                Action::Log(l) => {
                    let dev = match l.device() {
                        LogDevice::Synthetic => "eth0".to_string(),
                        LogDevice::Vf => l.vf.to_string(),
                    };
                    self.log.push(format!("{dev}: {}", l.display("eth0")));
                }
                Action::WarnVfMissing { serial } => {
                    let mut s = String::new();
                    write_vf_missing(&mut s, *serial, "mlx4_core, mlx5_core or mana").unwrap();
                    self.log.push(format!("eth0: {s}"));
                }
                _ => {}
            }
        }
        self.did.extend(acts.iter().copied());
        acts
    }

    fn ignored(&mut self, e: Event) -> Ignored {
        let out = self.dp.handle(e);
        assert!(
            out.actions.is_empty(),
            "ignored event produced actions: {e:?}"
        );
        out.ignored.expect("event was not ignored")
    }

    fn take_log(&mut self) -> Vec<String> {
        std::mem::take(&mut self.log)
    }
}

fn name(s: &str) -> IfName {
    IfName::new(s)
}

fn ok() -> Event {
    Event::SwitchCompleted { ok: true }
}

#[test]
fn boot_added_registering_joined_switched() {
    let mut g = Glue::new();
    assert_eq!(g.dp.state().data_path_str(), "synthetic");
    let a = g.ev(Event::HostVfAssociation { serial: 1 });
    assert!(a.contains(&Action::ArmTimer {
        timer: Timer::VfMissing,
        ms: VF_MISSING_TIMEOUT_MS
    }));
    let a = g.ev(Event::VfRegistered { name: name("eth1") });
    assert!(a.contains(&Action::JoinVf));
    let a = g.ev(Event::VfJoined);
    assert!(a.contains(&Action::SetupVf));
    assert!(a.contains(&Action::CancelTimer(Timer::VfMissing)));
    g.ev(Event::VfRenamed {
        name: name("enP53091s1np0"),
    });
    let a = g.ev(Event::VfUp);
    assert_eq!(
        a,
        vec![
            Action::SendSwitch(Path::Vf),
            Action::ArmTimer {
                timer: Timer::Switch,
                ms: SWITCH_TIMEOUT_MS
            }
        ]
    );
    assert_eq!(g.dp.state(), State::VfPending);
    assert_eq!(g.dp.state().data_path_str(), "synthetic");
    assert!(!g.dp.tx_via_vf());
    let a = g.ev(ok());
    assert!(a.contains(&Action::StartVfTx));
    assert_eq!(g.dp.state(), State::Vf);
    assert_eq!(g.dp.state().data_path_str(), "vf");
    assert_eq!(
        g.take_log(),
        [
            "eth0: VF slot 1 added",
            "eth0: VF registering: eth1",
            "eth1: joined to eth0",
            "eth0: Data path switched to VF: enP53091s1np0",
        ]
    );
}

fn boot_to_vf(g: &mut Glue) {
    g.ev(Event::HostVfAssociation { serial: 1 });
    g.ev(Event::VfRegistered { name: name("eth1") });
    g.ev(Event::VfJoined);
    g.ev(Event::VfRenamed {
        name: name("enP53091s1np0"),
    });
    g.ev(Event::VfUp);
    g.ev(ok());
    assert_eq!(g.dp.state(), State::Vf);
    g.take_log();
}

/// Association, VF registered, joined and up: the switch to it is asked.
fn to_vf_pending(g: &mut Glue) {
    g.ev(Event::HostVfAssociation { serial: 1 });
    g.ev(Event::VfRegistered { name: name("eth1") });
    g.ev(Event::VfJoined);
    g.ev(Event::VfUp);
    assert_eq!(g.dp.state(), State::VfPending);
}

#[test]
fn boot_flapping() {
    let mut g = Glue::new();
    boot_to_vf(&mut g);
    for _ in 0..2 {
        let a = g.ev(Event::VfDown);
        assert_eq!(a[0], Action::StopVfTx);
        assert_eq!(a[1], Action::SendSwitch(Path::Synthetic));
        g.ev(ok());
        assert_eq!(g.dp.state(), State::Synthetic);
        // UP followed by CHANGE: the second report changes nothing.
        g.ev(Event::VfUp);
        assert_eq!(g.ignored(Event::VfUp), Ignored::NoChange);
        g.ev(ok());
        assert_eq!(g.dp.state(), State::Vf);
    }
    let from = "eth0: Data path switched from VF: enP53091s1np0";
    let to = "eth0: Data path switched to VF: enP53091s1np0";
    assert_eq!(g.take_log(), [from, to, from, to]);
}

#[test]
fn servicing_remove_and_readd() {
    let mut g = Glue::new();
    boot_to_vf(&mut g);
    g.ev(Event::VfGoingDown);
    assert_eq!(g.dp.state(), State::SwitchingBack);
    g.ev(ok());
    assert_eq!(g.ignored(Event::VfDown), Ignored::NoChange);
    let a = g.ev(Event::VfUnregistering);
    assert!(a.contains(&Action::ReleaseVf));
    assert!(!a.contains(&Action::SendSwitch(Path::Synthetic)));
    g.ev(Event::HostVfWithdrawn { serial: 1 });
    assert!(!g.dp.timer_armed(Timer::VfMissing));
    assert_eq!(
        g.take_log(),
        [
            "eth0: Data path switched from VF: enP53091s1np0",
            "eth0: VF unregistering: enP53091s1np0",
            "eth0: VF slot 1 removed",
        ]
    );
    // Added back.
    g.ev(Event::HostVfAssociation { serial: 1 });
    g.ev(Event::VfRegistered { name: name("eth1") });
    g.ev(Event::VfJoined);
    g.ev(Event::VfRenamed {
        name: name("enP53091s1np0"),
    });
    g.ev(Event::VfUp);
    g.ev(ok());
    assert_eq!(g.dp.state(), State::Vf);
    assert_eq!(
        g.take_log(),
        [
            "eth0: VF slot 1 added",
            "eth0: VF registering: eth1",
            "eth1: joined to eth0",
            "eth0: Data path switched to VF: enP53091s1np0",
        ]
    );
}

#[test]
fn unregister_while_on_vf_switches_back_first() {
    let mut g = Glue::new();
    boot_to_vf(&mut g);
    let a = g.ev(Event::VfUnregistering);
    let pos = |x: &Action| a.iter().position(|y| y == x).unwrap();
    assert!(pos(&Action::StopVfTx) < pos(&Action::SendSwitch(Path::Synthetic)));
    assert!(pos(&Action::SendSwitch(Path::Synthetic)) < pos(&Action::ReleaseVf));
    assert_eq!(g.dp.state(), State::SwitchingBack);
    g.ev(ok());
    assert_eq!(g.dp.state(), State::Synthetic);
    assert_eq!(
        g.take_log(),
        [
            "eth0: VF unregistering: enP53091s1np0",
            "eth0: Data path switched from VF: enP53091s1np0",
        ]
    );
}

#[test]
fn no_vf_without_successful_completion() {
    let mut g = Glue::new();
    g.ev(Event::HostVfAssociation { serial: 1 });
    g.ev(Event::VfRegistered { name: name("eth1") });
    g.ev(Event::VfJoined);
    g.ev(Event::VfUp);
    for _ in 0..MAX_SWITCH_RETRIES {
        let a = g.ev(Event::SwitchCompleted { ok: false });
        assert!(a.contains(&Action::SendSwitch(Path::Vf)));
        assert_eq!(g.dp.state(), State::VfPending);
    }
    let a = g.ev(Event::Timeout(Timer::Switch));
    assert!(!a.contains(&Action::SendSwitch(Path::Vf)));
    assert_eq!(g.dp.state(), State::Synthetic);
    assert!(!g.did.contains(&Action::StartVfTx));
    assert_eq!(
        g.take_log().last().unwrap(),
        "eth0: Data path failed to switch to VF: eth1"
    );
    // Gave up: a late completion is stale, nothing retries until the VF
    // goes up again.
    assert_eq!(g.ignored(ok()), Ignored::NoSwitchPending);
    assert_eq!(
        g.ignored(Event::Timeout(Timer::Switch)),
        Ignored::StaleTimer
    );
    g.ev(Event::VfDown);
    let a = g.ev(Event::VfUp);
    assert!(a.contains(&Action::SendSwitch(Path::Vf)));
}

#[test]
fn send_failure_retries_then_settles_synthetic_when_switching_back() {
    let mut g = Glue::new();
    boot_to_vf(&mut g);
    g.ev(Event::VfDown);
    for _ in 0..MAX_SWITCH_RETRIES {
        g.ev(Event::SwitchSendFailed);
        assert_eq!(g.dp.state(), State::SwitchingBack);
    }
    g.ev(Event::SwitchSendFailed);
    assert_eq!(g.dp.state(), State::Synthetic);
    assert!(!g.dp.timer_armed(Timer::Switch));
    assert_eq!(
        g.take_log(),
        ["eth0: Data path failed to switch from VF: enP53091s1np0"]
    );
}

#[test]
fn vf_up_before_association_waits() {
    let mut g = Glue::new();
    g.ev(Event::VfRegistered { name: name("eth1") });
    g.ev(Event::VfJoined);
    let a = g.ev(Event::VfUp);
    assert!(!a.iter().any(|a| matches!(a, Action::SendSwitch(_))));
    g.ev(Event::VfDown);
    g.ev(Event::VfUp);
    let a = g.ev(Event::HostVfAssociation { serial: 4 });
    assert!(a.contains(&Action::SendSwitch(Path::Vf)));
    // No missing timer: the VF is already there.
    assert!(!a.iter().any(|a| matches!(
        a,
        Action::ArmTimer {
            timer: Timer::VfMissing,
            ..
        }
    )));
    g.ev(ok());
    assert_eq!(
        g.take_log(),
        [
            "eth0: VF registering: eth1",
            "eth1: joined to eth0",
            "eth0: Waiting for the VF association from host",
            "eth0: VF slot 4 added",
            "eth0: Data path switched to VF: eth1",
        ]
    );
}

#[test]
fn withdrawal_while_on_vf_switches_back() {
    let mut g = Glue::new();
    boot_to_vf(&mut g);
    let a = g.ev(Event::HostVfWithdrawn { serial: 1 });
    assert_eq!(a[1], Action::StopVfTx);
    assert_eq!(a[2], Action::SendSwitch(Path::Synthetic));
    g.ev(ok());
    assert_eq!(g.dp.state(), State::Synthetic);
}

#[test]
fn vf_goes_away_while_switch_to_vf_pending() {
    let mut g = Glue::new();
    to_vf_pending(&mut g);
    let a = g.ev(Event::VfUnregistering);
    assert!(a.contains(&Action::ReleaseVf));
    let a = g.ev(ok());
    assert!(!a.contains(&Action::StartVfTx));
    assert!(a.contains(&Action::SendSwitch(Path::Synthetic)));
    g.ev(ok());
    assert_eq!(g.dp.state(), State::Synthetic);
    assert!(!g.did.contains(&Action::StartVfTx));
}

#[test]
fn vf_missing_warns_once_with_serial() {
    let mut g = Glue::new();
    g.ev(Event::HostVfAssociation { serial: 7 });
    let a = g.ev(Event::Timeout(Timer::VfMissing));
    assert_eq!(a, vec![Action::WarnVfMissing { serial: 7 }]);
    assert_eq!(
        g.ignored(Event::Timeout(Timer::VfMissing)),
        Ignored::StaleTimer
    );
    let log = g.take_log();
    assert!(log[1].contains("VF slot 7 was announced"), "{log:?}");
    assert!(log[1].contains("mlx4_core, mlx5_core or mana"));
    // VF appears, leaves again: the association is the same, no new warning.
    g.ev(Event::VfRegistered { name: name("eth1") });
    g.ev(Event::VfJoined);
    g.ev(Event::VfUnregistering);
    assert!(!g.dp.timer_armed(Timer::VfMissing));
    // A new association warns again.
    g.ev(Event::HostVfWithdrawn { serial: 7 });
    g.ev(Event::HostVfAssociation { serial: 7 });
    let a = g.ev(Event::Timeout(Timer::VfMissing));
    assert_eq!(a, vec![Action::WarnVfMissing { serial: 7 }]);
}

#[test]
fn vf_missing_timer_cancelled_when_vf_joins() {
    let mut g = Glue::new();
    g.ev(Event::HostVfAssociation { serial: 7 });
    g.ev(Event::VfRegistered { name: name("eth1") });
    g.ev(Event::VfJoined);
    assert_eq!(
        g.ignored(Event::Timeout(Timer::VfMissing)),
        Ignored::StaleTimer
    );
}

#[test]
fn serial_mismatch_logged_once() {
    let mut g = Glue::new();
    g.ev(Event::HostVfAssociation { serial: 1 });
    g.take_log();
    g.ev(Event::VfRefused {
        name: name("eth2"),
        slot: Some(2),
    });
    assert_eq!(
        g.ignored(Event::VfRefused {
            name: name("eth2"),
            slot: Some(2)
        }),
        Ignored::AlreadyReported
    );
    assert_eq!(
        g.take_log(),
        ["eth0: VF eth2 in slot 2 is not VF slot 1; not pairing it"]
    );
    let out = g.dp.handle(Event::VfRefused {
        name: name("eth2"),
        slot: None,
    });
    assert_eq!(out.ignored, Some(Ignored::AlreadyReported));
}

#[test]
fn invalid_combinations_are_explicit_noops() {
    let mut g = Glue::new();
    assert_eq!(g.ignored(Event::VfUp), Ignored::NoVf);
    assert_eq!(g.ignored(Event::VfDown), Ignored::NoVf);
    assert_eq!(g.ignored(Event::VfGoingDown), Ignored::NoVf);
    assert_eq!(g.ignored(Event::VfUnregistering), Ignored::NoVf);
    assert_eq!(
        g.ignored(Event::VfRenamed { name: name("x") }),
        Ignored::NoVf
    );
    assert_eq!(g.ignored(Event::VfJoined), Ignored::NotJoining);
    assert_eq!(g.ignored(Event::VfJoinFailed), Ignored::NotJoining);
    assert_eq!(g.ignored(ok()), Ignored::NoSwitchPending);
    assert_eq!(g.ignored(Event::SwitchSendFailed), Ignored::NoSwitchPending);
    assert_eq!(
        g.ignored(Event::Timeout(Timer::Switch)),
        Ignored::StaleTimer
    );
    assert_eq!(
        g.ignored(Event::HostVfWithdrawn { serial: 1 }),
        Ignored::NoAssociation
    );
    assert_eq!(
        g.ignored(Event::VfRefused {
            name: name("x"),
            slot: None
        }),
        Ignored::NoAssociation
    );
    g.ev(Event::HostVfAssociation { serial: 1 });
    assert_eq!(
        g.ignored(Event::HostVfAssociation { serial: 1 }),
        Ignored::DuplicateAssociation
    );
    g.ev(Event::VfRegistered { name: name("eth1") });
    assert_eq!(
        g.ignored(Event::VfRegistered { name: name("eth9") }),
        Ignored::VfAlreadyPresent
    );
    assert!(!Ignored::NotMissing.as_str().is_empty());
}

#[test]
fn join_failure_leaves_no_vf() {
    let mut g = Glue::new();
    g.ev(Event::HostVfAssociation { serial: 1 });
    g.ev(Event::VfRegistered { name: name("eth1") });
    g.ev(Event::VfJoinFailed);
    assert!(!g.dp.has_vf());
    assert!(g.dp.timer_armed(Timer::VfMissing));
    assert!(!g.did.contains(&Action::ReleaseVf));
}

#[test]
fn synthetic_removal_releases_vf_after_switching_back() {
    let mut g = Glue::new();
    boot_to_vf(&mut g);
    let a = g.ev(Event::SyntheticRemoving);
    assert_eq!(a[0], Action::StopVfTx);
    assert_eq!(a[1], Action::SendSwitch(Path::Synthetic));
    assert!(a.contains(&Action::ReleaseVf));
    assert!(!g.dp.timer_armed(Timer::VfMissing));
}

#[test]
fn names_and_strings() {
    let n = IfName::new("a-very-long-interface-name");
    assert_eq!(n.as_bytes(), b"a-very-long-int");
    assert_eq!(IfName::from_bytes(b"eth1\0junk").to_string(), "eth1");
    assert_eq!(IfName::from_bytes(b"e\xfft h").to_string(), "e?t?h");
    assert!(IfName::default().is_empty());
    assert_eq!(format!("{:?}", name("eth0")), "IfName(\"eth0\")");
    assert_eq!(State::VfPending.as_str(), "vf-pending");
    assert_eq!(State::SwitchingBack.as_str(), "switching-back");
    assert_eq!(State::SwitchingBack.data_path_str(), "synthetic");
    let l = failover_core::log::LogLine {
        kind: LogKind::JoinedTo,
        vf: name("eth1"),
    };
    assert_eq!(l.device(), LogDevice::Vf);
}

#[test]
fn release_after_failed_switch_back_asks_host_once_more() {
    let mut g = Glue::new();
    boot_to_vf(&mut g);
    g.ev(Event::VfDown);
    for _ in 0..=MAX_SWITCH_RETRIES {
        g.ev(Event::SwitchCompleted { ok: false });
    }
    assert_eq!(g.dp.state(), State::Synthetic);
    let a = g.ev(Event::VfUnregistering);
    let send = a
        .iter()
        .position(|x| *x == Action::SendSwitch(Path::Synthetic))
        .unwrap();
    let rel = a.iter().position(|x| *x == Action::ReleaseVf).unwrap();
    assert!(send < rel);
    g.ev(ok());
    assert_eq!(g.dp.state(), State::Synthetic);
}

#[test]
fn data_path_text_is_vf_only_in_vf_state() {
    for (s, text) in [
        (State::Synthetic, "synthetic"),
        (State::VfPending, "synthetic"),
        (State::Vf, "vf"),
        (State::SwitchingBack, "synthetic"),
    ] {
        assert_eq!(s.data_path_str(), text);
        assert_eq!(s.data_path_cstr().to_str(), Ok(text));
    }
}

#[test]
fn channel_reset_on_vf_takes_the_data_path_again() {
    let mut g = Glue::new();
    boot_to_vf(&mut g);
    let a = g.ev(Event::ChannelReset);
    assert_eq!(
        a,
        vec![
            Action::StopVfTx,
            Action::SendSwitch(Path::Vf),
            Action::ArmTimer {
                timer: Timer::Switch,
                ms: SWITCH_TIMEOUT_MS
            },
        ]
    );
    assert_eq!(g.dp.state(), State::VfPending);
    // The host announces the same VF after the new RNDIS initialisation.
    assert_eq!(
        g.ignored(Event::HostVfAssociation { serial: 1 }),
        Ignored::DuplicateAssociation
    );
    let a = g.ev(ok());
    assert!(a.contains(&Action::StartVfTx));
    assert_eq!(g.dp.state(), State::Vf);
    assert_eq!(
        g.take_log(),
        vec!["eth0: Data path switched to VF: enP53091s1np0"]
    );
}

#[test]
fn channel_reset_forgets_the_request_of_the_old_channel() {
    let mut g = Glue::new();
    to_vf_pending(&mut g);
    // Reset while the switch is outstanding: a fresh first attempt.
    let a = g.ev(Event::ChannelReset);
    assert_eq!(a[0], Action::CancelTimer(Timer::Switch));
    assert_eq!(a[1], Action::SendSwitch(Path::Vf));
    assert!(!a.contains(&Action::StopVfTx));
    // Going down while a switch back is outstanding, then a reset: the new
    // channel is synthetic already, nothing more to ask.
    g.ev(ok());
    g.ev(Event::VfDown);
    assert_eq!(g.dp.state(), State::SwitchingBack);
    let a = g.ev(Event::ChannelReset);
    assert_eq!(a, vec![Action::CancelTimer(Timer::Switch)]);
    assert_eq!(g.dp.state(), State::Synthetic);
    assert!(!g.dp.timer_armed(Timer::Switch));
}

#[test]
fn channel_reset_without_vf_changes_nothing_visible() {
    let mut g = Glue::new();
    assert!(g.ev(Event::ChannelReset).is_empty());
    g.ev(Event::HostVfAssociation { serial: 2 });
    assert!(g.ev(Event::ChannelReset).is_empty());
    assert_eq!(g.dp.serial(), Some(2));
    assert_eq!(g.dp.state(), State::Synthetic);
}
