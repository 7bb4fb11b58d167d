// SPDX-License-Identifier: GPL-2.0
//! The data-path state machine of one synthetic NIC.
//!
//! Four states describe where the guest sends and whether a request to the
//! host is outstanding:
//!
//! | state | guest TX | host request outstanding |
//! | --- | --- | --- |
//! | [`State::Synthetic`] | synthetic | none |
//! | [`State::VfPending`] | synthetic | switch data path to VF |
//! | [`State::Vf`] | through the VF | none |
//! | [`State::SwitchingBack`] | synthetic | switch data path to synthetic |
//!
//! Beside the state the machine remembers the facts that decide where the
//! data path *should* be: the VF association the host announced (serial),
//! whether a VF is joined, and whether that VF is up with carrier. After
//! every event, when no request is outstanding, it compares "where it is"
//! with "where it should be" (VF joined, up, and associated) and asks the
//! host to switch if they differ. Only one request is outstanding at a
//! time; a completion that leaves the data path where it should not be
//! immediately triggers the opposite request (the flapping at boot).
//!
//! Guarantees (checked by the property tests):
//!
//! - The state becomes [`State::Vf`] only on a successful host completion
//!   of a switch-to-VF request, and [`Action::StartVfTx`] is emitted only
//!   then; [`Action::StopVfTx`] is emitted whenever `Vf` is left.
//! - [`Action::ReleaseVf`] is never emitted while transmitting through the
//!   VF: leaving `Vf` (stop TX, request switch to synthetic) comes first in
//!   the same action list. If a switch-to-VF is still outstanding when the
//!   VF goes away, its successful completion is followed at once by a
//!   switch back, and its failure too. Whenever the VF is gone while the
//!   host may still route to it (a switch back gave up, a switch to the VF
//!   timed out), one more switch-to-synthetic request is made, itself
//!   bounded by the retry limit.
//! - Failed or timed-out requests are retried at most
//!   [`MAX_SWITCH_RETRIES`] times, then the machine settles on
//!   `Synthetic` and does not try the VF again until it goes up again, is
//!   re-registered or re-announced.
//! - Events that make no sense in the current state change nothing and
//!   return an [`Ignored`] reason; nothing panics.

use super::ifname::IfName;
use super::log::{LogKind, LogLine};

/// Retries after the first attempt of a switch-data-path request.
pub const MAX_SWITCH_RETRIES: u8 = 3;
/// How long to wait for the host's completion of a switch request.
pub const SWITCH_TIMEOUT_MS: u32 = 10_000;
/// How long after "VF slot N added" (or after the VF went away while the
/// association stays) before warning once that the VF never appeared.
pub const VF_MISSING_TIMEOUT_MS: u32 = 60_000;
/// Capacity of an [`Actions`] list; no event produces more.
pub const MAX_ACTIONS: usize = 8;

/// Where the data path is, as seen by the guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Synthetic data path, nothing outstanding.
    Synthetic,
    /// Switch-to-VF requested, completion awaited; TX still synthetic.
    VfPending,
    /// Data path on the VF; TX goes through the VF.
    Vf,
    /// Switch-to-synthetic requested; TX already synthetic.
    SwitchingBack,
}

impl State {
    /// The state's own name: "synthetic", "vf-pending", "vf",
    /// "switching-back".
    pub const fn as_str(&self) -> &'static str {
        match self {
            State::Synthetic => "synthetic",
            State::VfPending => "vf-pending",
            State::Vf => "vf",
            State::SwitchingBack => "switching-back",
        }
    }

    /// Where packets go: "vf" in [`State::Vf`], else "synthetic". This is
    /// the value of the sysfs attribute `hv_netvsc/data_path`.
    pub fn data_path_str(&self) -> &'static str {
        // Both literals are ASCII, so this never falls back.
        self.data_path_cstr().to_str().unwrap_or("")
    }

    /// [`State::data_path_str`] with its NUL, for C.
    pub const fn data_path_cstr(&self) -> &'static core::ffi::CStr {
        match self {
            State::Vf => c"vf",
            _ => c"synthetic",
        }
    }
}

/// The two values of NVSP's `active_datapath`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Path {
    /// `NVSP_DATAPATH_SYNTHETIC` (0).
    Synthetic,
    /// `NVSP_DATAPATH_VF` (1).
    Vf,
}

/// The machine's timers; the glue arms and cancels them on request and
/// feeds [`Event::Timeout`] when one fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Timer {
    /// Completion of the outstanding switch request.
    Switch,
    /// The announced VF has not appeared.
    VfMissing,
}

impl Timer {
    const fn index(self) -> usize {
        match self {
            Timer::Switch => 0,
            Timer::VfMissing => 1,
        }
    }
}

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Event {
    /// NVSP "send VF association" with `allocated = 1`.
    HostVfAssociation {
        /// The VF's serial (its PCI slot name).
        serial: u32,
    },
    /// NVSP "send VF association" with `allocated = 0`.
    HostVfWithdrawn {
        /// The serial in the message.
        serial: u32,
    },
    /// A VF candidate paired with this NIC ([`super::pairing::pair`]) at
    /// `NETDEV_REGISTER`; the glue is about to join it.
    VfRegistered {
        /// The VF's name.
        name: IfName,
    },
    /// Joining (rx_handler, master link) succeeded.
    VfJoined,
    /// Joining failed; the glue undid what it did.
    VfJoinFailed,
    /// A candidate's MAC matched this NIC but its slot is not the
    /// announced serial ([`super::pairing::NoPair::SerialMismatch`]).
    VfRefused {
        /// The candidate's name.
        name: IfName,
        /// Its slot, if the slot name was a number.
        slot: Option<u32>,
    },
    /// The joined VF was renamed (`NETDEV_CHANGENAME`).
    VfRenamed {
        /// Its new name.
        name: IfName,
    },
    /// The VF is running with carrier (`NETDEV_UP` / `NETDEV_CHANGE`).
    VfUp,
    /// The VF is down or lost carrier (`NETDEV_DOWN` / `NETDEV_CHANGE`).
    VfDown,
    /// The VF is about to go down (`NETDEV_GOING_DOWN`).
    VfGoingDown,
    /// The VF is being unregistered (`NETDEV_UNREGISTER`); the glue must
    /// release it before returning from the notifier.
    VfUnregistering,
    /// The host completed the outstanding switch request.
    SwitchCompleted {
        /// The completion's status was success.
        ok: bool,
    },
    /// The switch request could not be sent (ring full, channel error).
    SwitchSendFailed,
    /// A timer armed by [`Action::ArmTimer`] fired.
    Timeout(Timer),
    /// The synthetic NIC is being removed: give up the VF.
    SyntheticRemoving,
    /// The synthetic NIC closed and re-initialised its channel with the
    /// host (an MTU change): the host forgot the data path (it routes
    /// synthetically again) and any request outstanding on the old
    /// channel; its completion never comes. The VF and the association
    /// are kept (the host announces the same VF again after the new
    /// RNDIS initialisation, which is then a duplicate).
    ChannelReset,
}

/// What the glue must do, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Send NVSP `SWITCH_DATA_PATH` with this path, completion requested.
    SendSwitch(Path),
    /// Start transmitting through the VF.
    StartVfTx,
    /// Stop transmitting through the VF (before anything else in the list).
    StopVfTx,
    /// Join the VF: rx_handler, master upper link, `NETDEV_JOIN`; then
    /// feed [`Event::VfJoined`] or [`Event::VfJoinFailed`].
    JoinVf,
    /// Set the VF up as a slave: MTU, flags, address lists, open it if the
    /// synthetic NIC is running (the C driver's delayed `vf_takeover`).
    SetupVf,
    /// Release the VF: unregister rx_handler, unlink, drop the reference.
    ReleaseVf,
    /// (Re)arm a timer.
    ArmTimer {
        /// Which.
        timer: Timer,
        /// Delay in milliseconds.
        ms: u32,
    },
    /// Cancel a timer.
    CancelTimer(Timer),
    /// Print a line.
    Log(LogLine),
    /// Warn once that VF `serial` was announced but never appeared (see
    /// [`super::log::write_vf_missing`]).
    WarnVfMissing {
        /// The announced serial.
        serial: u32,
    },
}

/// Why an event changed nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ignored {
    /// The same association was announced again.
    DuplicateAssociation,
    /// A withdrawal without an association.
    NoAssociation,
    /// A VF event while no VF is joined.
    NoVf,
    /// `VfRegistered` while a VF is already joined or joining.
    VfAlreadyPresent,
    /// `VfJoined`/`VfJoinFailed` without a join in progress.
    NotJoining,
    /// The VF is already in the reported up/down state.
    NoChange,
    /// A completion or send failure with no request outstanding.
    NoSwitchPending,
    /// A timer event for a timer that is not armed.
    StaleTimer,
    /// The warning or note was already given.
    AlreadyReported,
    /// The missing-VF timer fired but the VF is there or the association
    /// is gone.
    NotMissing,
}

impl Ignored {
    /// A short, stable description.
    pub const fn as_str(&self) -> &'static str {
        match self {
            Ignored::DuplicateAssociation => "duplicate VF association",
            Ignored::NoAssociation => "no VF association to withdraw",
            Ignored::NoVf => "no VF joined",
            Ignored::VfAlreadyPresent => "a VF is already joined",
            Ignored::NotJoining => "no VF join in progress",
            Ignored::NoChange => "VF state unchanged",
            Ignored::NoSwitchPending => "no switch request outstanding",
            Ignored::StaleTimer => "timer not armed",
            Ignored::AlreadyReported => "already reported",
            Ignored::NotMissing => "VF not missing",
        }
    }
}

/// A bounded list of actions, in the order to perform them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actions {
    items: [Option<Action>; MAX_ACTIONS],
    len: usize,
    overflowed: bool,
}

impl Actions {
    const fn new() -> Actions {
        Actions {
            items: [None; MAX_ACTIONS],
            len: 0,
            overflowed: false,
        }
    }

    fn push(&mut self, a: Action) {
        match self.items.get_mut(self.len) {
            Some(slot) => {
                *slot = Some(a);
                self.len += 1;
            }
            None => self.overflowed = true,
        }
    }

    /// The actions in order.
    pub fn iter(&self) -> impl Iterator<Item = &Action> + '_ {
        self.items.iter().take(self.len).flatten()
    }

    /// Number of actions.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether an action was dropped for lack of room (a bug; never
    /// happens with [`MAX_ACTIONS`], which the tests check).
    pub fn overflowed(&self) -> bool {
        self.overflowed
    }
}

/// The result of one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// What to do, in order.
    pub actions: Actions,
    /// Why nothing changed, if the event was ignored.
    pub ignored: Option<Ignored>,
}

/// Whether a VF is attached to the NIC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VfPresence {
    /// None.
    Absent,
    /// Paired, join in progress.
    Joining,
    /// Joined (enslaved, rx_handler registered).
    Joined,
}

/// The data-path state machine of one synthetic NIC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataPath {
    state: State,
    /// Attempt number of the outstanding request (1 = first try).
    attempt: u8,
    assoc: Option<u32>,
    vf: VfPresence,
    vf_up: bool,
    vf_name: IfName,
    /// Name used in data-path lines: the VF the host path refers to.
    dp_name: IfName,
    /// `dp_name` follows renames of the joined VF.
    dp_tracks_vf: bool,
    gave_up: bool,
    /// A switch-to-VF was sent and no switch-to-synthetic has completed
    /// since: the host may be routing through the VF.
    host_may_be_vf: bool,
    /// A switch back ran out of retries; do not start another on our own.
    gave_up_back: bool,
    waiting_logged: bool,
    missing_warned: bool,
    mismatch_logged: bool,
    armed: [bool; 2],
}

impl Default for DataPath {
    fn default() -> Self {
        DataPath::new()
    }
}

impl DataPath {
    /// A NIC without VF or association, on the synthetic path.
    pub const fn new() -> DataPath {
        DataPath {
            state: State::Synthetic,
            attempt: 0,
            assoc: None,
            vf: VfPresence::Absent,
            vf_up: false,
            vf_name: IfName::EMPTY,
            dp_name: IfName::EMPTY,
            dp_tracks_vf: false,
            gave_up: false,
            host_may_be_vf: false,
            gave_up_back: false,
            waiting_logged: false,
            missing_warned: false,
            mismatch_logged: false,
            armed: [false; 2],
        }
    }

    /// The current state.
    pub const fn state(&self) -> State {
        self.state
    }

    /// The announced VF serial, if any (for [`super::pairing::SynthNic`]).
    pub const fn serial(&self) -> Option<u32> {
        self.assoc
    }

    /// Whether a VF is joined or joining (for [`super::pairing::SynthNic`]).
    pub const fn has_vf(&self) -> bool {
        !matches!(self.vf, VfPresence::Absent)
    }

    /// VF presence.
    pub const fn vf(&self) -> VfPresence {
        self.vf
    }

    /// Whether the joined VF is up with carrier.
    pub const fn vf_up(&self) -> bool {
        self.vf_up
    }

    /// The joined VF's name (empty if none).
    pub const fn vf_name(&self) -> IfName {
        self.vf_name
    }

    /// Whether TX goes through the VF ([`State::Vf`]).
    pub const fn tx_via_vf(&self) -> bool {
        matches!(self.state, State::Vf)
    }

    /// Whether a timer is armed.
    pub const fn timer_armed(&self, t: Timer) -> bool {
        self.armed[t.index()]
    }

    /// Feeds one event; returns the actions to perform, in order.
    pub fn handle(&mut self, ev: Event) -> Outcome {
        let mut out = Actions::new();
        let ignored = self.step(ev, &mut out).err();
        Outcome {
            actions: out,
            ignored,
        }
    }

    fn want_vf(&self) -> bool {
        matches!(self.vf, VfPresence::Joined) && self.vf_up && self.assoc.is_some()
    }

    fn log(&self, out: &mut Actions, kind: LogKind, vf: IfName) {
        out.push(Action::Log(LogLine { kind, vf }));
    }

    fn arm(&mut self, out: &mut Actions, timer: Timer, ms: u32) {
        self.armed[timer.index()] = true;
        out.push(Action::ArmTimer { timer, ms });
    }

    fn cancel(&mut self, out: &mut Actions, timer: Timer) {
        if self.armed[timer.index()] {
            self.armed[timer.index()] = false;
            out.push(Action::CancelTimer(timer));
        }
    }

    fn send(&mut self, out: &mut Actions, path: Path, attempt: u8) {
        self.attempt = attempt;
        if path == Path::Vf {
            self.host_may_be_vf = true;
        }
        self.state = match path {
            Path::Vf => State::VfPending,
            Path::Synthetic => State::SwitchingBack,
        };
        out.push(Action::SendSwitch(path));
        self.arm(out, Timer::Switch, SWITCH_TIMEOUT_MS);
    }

    /// Moves toward where the data path should be, if nothing is pending.
    fn reconcile(&mut self, out: &mut Actions) {
        match self.state {
            State::Synthetic => {
                if self.want_vf() && !self.gave_up {
                    self.dp_name = self.vf_name;
                    self.dp_tracks_vf = true;
                    self.send(out, Path::Vf, 1);
                } else if matches!(self.vf, VfPresence::Absent)
                    && self.host_may_be_vf
                    && !self.gave_up_back
                {
                    // The VF is gone but the host may still route to it
                    // (a switch back gave up, or a switch to it timed out).
                    self.send(out, Path::Synthetic, 1);
                } else if matches!(self.vf, VfPresence::Joined)
                    && self.vf_up
                    && self.assoc.is_none()
                    && !self.waiting_logged
                {
                    self.waiting_logged = true;
                    self.log(out, LogKind::WaitingForAssociation, IfName::EMPTY);
                }
            }
            State::Vf => {
                if !self.want_vf() {
                    out.push(Action::StopVfTx);
                    self.send(out, Path::Synthetic, 1);
                }
            }
            State::VfPending | State::SwitchingBack => {}
        }
    }

    /// The outstanding request failed or timed out: retry or give up.
    fn failed(&mut self, out: &mut Actions) {
        let path = match self.state {
            State::VfPending => Path::Vf,
            _ => Path::Synthetic,
        };
        if self.attempt <= MAX_SWITCH_RETRIES {
            let next = self.attempt.saturating_add(1);
            self.send(out, path, next);
            return;
        }
        self.cancel(out, Timer::Switch);
        self.state = State::Synthetic;
        self.attempt = 0;
        let kind = match path {
            Path::Vf => {
                self.gave_up = true;
                LogKind::SwitchToVfFailed
            }
            Path::Synthetic => {
                self.gave_up_back = true;
                LogKind::SwitchFromVfFailed
            }
        };
        self.log(out, kind, self.dp_name);
        self.reconcile(out);
    }

    /// Lets go of the VF; leaves `Vf` first if needed.
    fn release(&mut self, out: &mut Actions) {
        self.vf_up = false;
        // Joined but gone from the host's point of view: leave Vf first.
        let was = self.vf;
        self.vf = VfPresence::Absent;
        // Letting go of the VF is worth one more switch back even if an
        // earlier one gave up (reconcile sends it when the host may still
        // be on the VF).
        self.gave_up_back = false;
        self.reconcile(out);
        if !matches!(was, VfPresence::Absent) {
            self.log(out, LogKind::VfUnregistering, self.vf_name);
            out.push(Action::ReleaseVf);
        }
        self.dp_tracks_vf = false;
    }

    fn step(&mut self, ev: Event, out: &mut Actions) -> Result<(), Ignored> {
        match ev {
            Event::HostVfAssociation { serial } => {
                if self.assoc == Some(serial) {
                    return Err(Ignored::DuplicateAssociation);
                }
                self.assoc = Some(serial);
                self.missing_warned = false;
                self.mismatch_logged = false;
                self.gave_up = false;
                self.log(out, LogKind::VfSlotAdded { slot: serial }, IfName::EMPTY);
                if !self.has_vf() {
                    self.arm(out, Timer::VfMissing, VF_MISSING_TIMEOUT_MS);
                }
                self.reconcile(out);
            }
            Event::HostVfWithdrawn { serial } => {
                if self.assoc.is_none() {
                    return Err(Ignored::NoAssociation);
                }
                self.assoc = None;
                self.log(out, LogKind::VfSlotRemoved { slot: serial }, IfName::EMPTY);
                self.cancel(out, Timer::VfMissing);
                self.reconcile(out);
            }
            Event::VfRegistered { name } => {
                if self.has_vf() {
                    return Err(Ignored::VfAlreadyPresent);
                }
                self.vf = VfPresence::Joining;
                self.vf_name = name;
                self.vf_up = false;
                self.gave_up = false;
                self.waiting_logged = false;
                self.log(out, LogKind::VfRegistering, name);
                out.push(Action::JoinVf);
            }
            Event::VfJoined => {
                if !matches!(self.vf, VfPresence::Joining) {
                    return Err(Ignored::NotJoining);
                }
                self.vf = VfPresence::Joined;
                self.log(out, LogKind::JoinedTo, self.vf_name);
                self.cancel(out, Timer::VfMissing);
                out.push(Action::SetupVf);
                self.reconcile(out);
            }
            Event::VfJoinFailed => {
                if !matches!(self.vf, VfPresence::Joining) {
                    return Err(Ignored::NotJoining);
                }
                self.vf = VfPresence::Absent;
                self.vf_up = false;
                if self.assoc.is_some() && !self.missing_warned {
                    self.arm(out, Timer::VfMissing, VF_MISSING_TIMEOUT_MS);
                }
            }
            Event::VfRefused { name, slot } => {
                let serial = self.assoc.ok_or(Ignored::NoAssociation)?;
                if self.mismatch_logged {
                    return Err(Ignored::AlreadyReported);
                }
                self.mismatch_logged = true;
                self.log(out, LogKind::SerialMismatch { serial, slot }, name);
            }
            Event::VfRenamed { name } => {
                if !self.has_vf() {
                    return Err(Ignored::NoVf);
                }
                self.vf_name = name;
                if self.dp_tracks_vf {
                    self.dp_name = name;
                }
            }
            Event::VfUp => {
                if !self.has_vf() {
                    return Err(Ignored::NoVf);
                }
                if self.vf_up {
                    return Err(Ignored::NoChange);
                }
                self.vf_up = true;
                self.gave_up = false;
                self.reconcile(out);
            }
            Event::VfDown | Event::VfGoingDown => {
                if !self.has_vf() {
                    return Err(Ignored::NoVf);
                }
                if !self.vf_up {
                    return Err(Ignored::NoChange);
                }
                self.vf_up = false;
                self.reconcile(out);
            }
            Event::VfUnregistering => {
                if !self.has_vf() {
                    return Err(Ignored::NoVf);
                }
                self.release(out);
                if self.assoc.is_some() && !self.missing_warned {
                    self.arm(out, Timer::VfMissing, VF_MISSING_TIMEOUT_MS);
                }
            }
            Event::SyntheticRemoving => {
                self.release(out);
                self.cancel(out, Timer::VfMissing);
            }
            Event::ChannelReset => {
                if matches!(self.state, State::Vf) {
                    out.push(Action::StopVfTx);
                }
                self.cancel(out, Timer::Switch);
                self.state = State::Synthetic;
                self.attempt = 0;
                // A new channel starts on the synthetic path: nothing is
                // routed through the VF, and earlier give-ups were about
                // the old channel.
                self.host_may_be_vf = false;
                self.gave_up = false;
                self.gave_up_back = false;
                self.reconcile(out);
            }
            Event::SwitchCompleted { ok } => match self.state {
                State::Synthetic | State::Vf => return Err(Ignored::NoSwitchPending),
                State::VfPending if ok => {
                    self.cancel(out, Timer::Switch);
                    self.attempt = 0;
                    self.log(out, LogKind::SwitchedToVf, self.dp_name);
                    if self.want_vf() {
                        self.state = State::Vf;
                        out.push(Action::StartVfTx);
                    } else {
                        self.send(out, Path::Synthetic, 1);
                    }
                }
                State::SwitchingBack if ok => {
                    self.cancel(out, Timer::Switch);
                    self.attempt = 0;
                    self.host_may_be_vf = false;
                    self.gave_up_back = false;
                    self.state = State::Synthetic;
                    self.log(out, LogKind::SwitchedFromVf, self.dp_name);
                    self.reconcile(out);
                }
                State::VfPending | State::SwitchingBack => self.failed(out),
            },
            Event::SwitchSendFailed => match self.state {
                State::Synthetic | State::Vf => return Err(Ignored::NoSwitchPending),
                State::VfPending | State::SwitchingBack => self.failed(out),
            },
            Event::Timeout(timer) => {
                if !self.armed[timer.index()] {
                    return Err(Ignored::StaleTimer);
                }
                self.armed[timer.index()] = false;
                match timer {
                    Timer::Switch => match self.state {
                        State::VfPending | State::SwitchingBack => self.failed(out),
                        State::Synthetic | State::Vf => return Err(Ignored::NoSwitchPending),
                    },
                    Timer::VfMissing => {
                        let serial = match self.assoc {
                            Some(s) if !self.has_vf() => s,
                            _ => return Err(Ignored::NotMissing),
                        };
                        if self.missing_warned {
                            return Err(Ignored::AlreadyReported);
                        }
                        self.missing_warned = true;
                        out.push(Action::WarnVfMissing { serial });
                    }
                }
            }
        }
        Ok(())
    }
}
