//! What the API shows: the context (klantbeeld) and a contact, computed from facts.

use crate::case::{CaseFacts, CaseStatus};
use crate::contact::{Channel, ContactFacts, Outcome};
use crate::settings::TenantSettings;
use crate::signals::{Probe, Signal};
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
    let _ = (case, probe, settings);
    todo!()
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
    let _ = (party, party_cases, probe, chosen_case, settings);
    todo!()
}

/// A contact with its signals (as of its start, on the case it belongs to now).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ContactView {
    pub contact: ContactFacts,
    pub signals: BTreeSet<Signal>,
}

/// The view of a stored contact; `case` is the case it belongs to now, if any.
pub fn contact_view(
    contact: &ContactFacts,
    case: Option<&CaseFacts>,
    settings: &TenantSettings,
) -> ContactView {
    let _ = (contact, case, settings);
    todo!()
}
