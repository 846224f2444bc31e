//! What the API shows: the context (klantbeeld) and a contact, computed from facts.

use crate::case::{status_is_active, status_of, CaseFacts, CaseStatus};
use crate::contact::{Channel, ContactFacts, Outcome};
use crate::settings::TenantSettings;
use crate::signals::{self, Probe, Signal};
use crate::{Code, Instant};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use uuid::Uuid;

/// What the party is to the agent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PartyStatus {
    New,
    Known,
    Anonymous,
    Ambiguous,
    NotFound,
}

/// The party as shown: no identifier in clear text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartyView {
    pub status: PartyStatus,
    pub id: Option<Uuid>,
    pub bsn_masked: Option<String>,
    pub has_kvk: bool,
}

impl PartyView {
    /// A view without a party (anonymous, ambiguous, not found).
    pub fn without(status: PartyStatus) -> Self {
        PartyView { status, id: None, bsn_masked: None, has_kvk: false }
    }
}

/// An earlier story on a case.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoryView {
    pub contact_id: Uuid,
    pub channel: Channel,
    pub started_at: Instant,
    pub department: Option<Code>,
    pub outcome: Outcome,
    pub text: String,
}

/// An open commitment on a case.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitmentView {
    pub contact_id: Uuid,
    pub kind: Outcome,
    pub promised_at: Instant,
    pub due_at: Instant,
    pub overdue: bool,
}

/// A case as the agent sees it at a moment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseView {
    pub id: Uuid,
    pub topic: Option<Code>,
    pub reference: Option<String>,
    pub status: CaseStatus,
    pub signals: BTreeSet<Signal>,
    pub referral_count: u32,
    /// Newest first.
    pub stories: Vec<StoryView>,
    pub open_commitments: Vec<CommitmentView>,
}

/// The context (klantbeeld).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContextView {
    pub party: PartyView,
    pub active_cases: Vec<CaseView>,
    pub case: Option<CaseView>,
    pub as_of: Instant,
}

/// A case as seen by a contact starting as `probe` says.
pub fn case_view(case: &CaseFacts, probe: &Probe, settings: &TenantSettings) -> CaseView {
    let t = probe.at;
    let earlier = case.earlier(t, probe.contact_id);
    let mut stories: Vec<StoryView> = earlier
        .iter()
        .filter_map(|c| {
            let text = c.story_at(t)?;
            Some(StoryView {
                contact_id: c.id,
                channel: c.channel,
                started_at: c.started_at,
                department: c.department_at(t).cloned(),
                outcome: c.outcome_at(t)?,
                text: text.to_owned(),
            })
        })
        .collect();
    stories.sort_by(|a, b| (b.started_at, b.contact_id).cmp(&(a.started_at, a.contact_id)));
    let mut open_commitments: Vec<CommitmentView> = signals::commitments(case, t)
        .into_iter()
        .filter(|c| c.fulfilment.is_none() && Some(c.contact_id) != probe.contact_id)
        .map(|c| CommitmentView {
            contact_id: c.contact_id,
            kind: c.kind,
            promised_at: c.promised_at,
            due_at: c.due_at,
            overdue: c.due_at < t,
        })
        .collect();
    open_commitments.sort_by_key(|c| (c.due_at, c.contact_id));
    CaseView {
        id: case.id,
        topic: case.topic.clone(),
        reference: case.reference.clone(),
        status: status_of(earlier.iter().copied(), t),
        signals: signals::signals(case, probe, settings),
        referral_count: u32::try_from(
            earlier.iter().filter(|c| c.outcome_at(t) == Some(Outcome::Referred)).count(),
        )
        .unwrap_or(u32::MAX),
        stories,
        open_commitments,
    }
}

/// The context for a contact starting as `probe` says (or a look-up at `probe.at`):
/// the party's active cases from before it (each as seen by the probe), and the chosen
/// case, if any. `party_cases` are all of today's cases of the party.
pub fn context(
    party: PartyView,
    party_cases: &[CaseFacts],
    probe: &Probe,
    chosen_case: Option<Uuid>,
    settings: &TenantSettings,
) -> ContextView {
    let t = probe.at;
    let mut active: Vec<(&CaseFacts, Instant)> = party_cases
        .iter()
        .filter_map(|c| {
            let earlier = c.earlier(t, probe.contact_id);
            let latest = earlier.iter().map(|x| x.started_at).max()?;
            status_is_active(status_of(earlier.iter().copied(), t), t, settings).then_some((c, latest))
        })
        .collect();
    // Most recent activity first.
    active.sort_by(|a, b| (b.1, b.0.id).cmp(&(a.1, a.0.id)));
    ContextView {
        party,
        active_cases: active.into_iter().map(|(c, _)| case_view(c, probe, settings)).collect(),
        case: chosen_case
            .and_then(|id| party_cases.iter().find(|c| c.id == id))
            .map(|c| case_view(c, probe, settings)),
        as_of: t,
    }
}

/// A contact with its signals (as of its start, on the case it belongs to now).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ContactView {
    pub contact: ContactFacts,
    pub signals: BTreeSet<Signal>,
}

/// The view of a stored contact; `case` is the case it belongs to now, if any.
pub fn contact_view(contact: &ContactFacts, case: Option<&CaseFacts>, settings: &TenantSettings) -> ContactView {
    let signals = match (contact.case_id, case) {
        (Some(id), Some(case)) if case.id == id => signals::signals(case, &Probe::of(contact), settings),
        _ => BTreeSet::new(),
    };
    ContactView { contact: contact.clone(), signals }
}
