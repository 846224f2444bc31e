//! Signals, commitments and telling the story again (DOMAIN.md "Signals",
//! "Telling the story again", and commitments).

use crate::case::CaseFacts;
use crate::contact::{Channel, ContactFacts, Direction, Outcome};
use crate::settings::TenantSettings;
use crate::{Code, Instant};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use uuid::Uuid;

/// A fact about a case the agent must act on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Signal {
    ReferredAgain,
    ReferralLoop,
    StoryAlreadyTold,
    RepeatContact,
    ChannelHop,
    CommitmentPending,
    CommitmentOverdue,
}

impl Signal {
    /// Every signal.
    pub const ALL: [Signal; 7] = [
        Signal::ReferredAgain,
        Signal::ReferralLoop,
        Signal::StoryAlreadyTold,
        Signal::RepeatContact,
        Signal::ChannelHop,
        Signal::CommitmentPending,
        Signal::CommitmentOverdue,
    ];

    /// The name used in the API and in files.
    pub fn as_str(self) -> &'static str {
        match self {
            Signal::ReferredAgain => "REFERRED_AGAIN",
            Signal::ReferralLoop => "REFERRAL_LOOP",
            Signal::StoryAlreadyTold => "STORY_ALREADY_TOLD",
            Signal::RepeatContact => "REPEAT_CONTACT",
            Signal::ChannelHop => "CHANNEL_HOP",
            Signal::CommitmentPending => "COMMITMENT_PENDING",
            Signal::CommitmentOverdue => "COMMITMENT_OVERDUE",
        }
    }
}

/// A contact as the signals see it at its start: where known, its channel, direction
/// and department. A look-up without a contact has no channel and no department.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Probe {
    /// The contact's id, if it is stored (so it is not counted as earlier than itself).
    pub contact_id: Option<Uuid>,
    pub at: Instant,
    pub channel: Option<Channel>,
    pub direction: Direction,
    pub department: Option<Code>,
}

impl Probe {
    /// The probe of a stored contact.
    pub fn of(contact: &ContactFacts) -> Self {
        Probe {
            contact_id: Some(contact.id),
            at: contact.started_at,
            channel: Some(contact.channel),
            direction: contact.direction,
            department: contact.department.clone(),
        }
    }
}

/// The signals of a case for a contact starting as `probe` says, computed from the
/// contacts on the case that started before it, with the completions known by then.
pub fn signals(case: &CaseFacts, probe: &Probe, settings: &TenantSettings) -> BTreeSet<Signal> {
    let _ = (case, probe, settings);
    todo!()
}

/// How many earlier contacts on the case (known at the probe's start) ended REFERRED.
pub fn referral_count(case: &CaseFacts, at: Instant, exclude: Option<Uuid>) -> u32 {
    let _ = (case, at, exclude);
    todo!()
}

/// A promise made in a contact.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Commitment {
    pub contact_id: Uuid,
    pub kind: Outcome,
    /// When the promise was made: the promising contact's end.
    pub promised_at: Instant,
    pub due_at: Instant,
    /// The fulfilling contact, known from its end.
    pub fulfilment: Option<Fulfilment>,
}

/// The contact that fulfilled a commitment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fulfilment {
    pub contact_id: Uuid,
    pub started_at: Instant,
    /// Known from this moment (the fulfilling contact's end).
    pub known_at: Instant,
}

impl Commitment {
    /// Fulfilled as known at `t`.
    pub fn fulfilled_at(&self, t: Instant) -> Option<&Fulfilment> {
        self.fulfilment.as_ref().filter(|f| f.known_at <= t)
    }

    /// Fulfilled on time (as known at `t`): the fulfilling contact started by the due time.
    pub fn on_time_at(&self, t: Instant) -> bool {
        self.fulfilled_at(t).is_some_and(|f| f.started_at <= self.due_at)
    }
}

/// The commitments of a case known at `t` (made by completions ended by `t`), each with
/// its fulfilment if there is one (check [`Commitment::fulfilled_at`] for `t`).
pub fn commitments(case: &CaseFacts, t: Instant) -> Vec<Commitment> {
    let _ = (case, t);
    todo!()
}

/// Whether `contact` (on `case`) is a follow-up: not ABANDONED (known at `t`), and
/// the case had an earlier contact known by its start not to have ended ABANDONED.
pub fn is_follow_up(case: &CaseFacts, contact: &ContactFacts, t: Instant) -> bool {
    let _ = (case, contact, t);
    todo!()
}

/// Whether a follow-up made the citizen tell the story again, as known at `t`.
pub fn story_repeated(case: &CaseFacts, contact: &ContactFacts, t: Instant) -> bool {
    let _ = (case, contact, t);
    todo!()
}
