//! Cases: their status over time, choosing the case of a contact, and joining cases when
//! parties merge (DOMAIN.md "Finding the case").

use crate::contact::ContactFacts;
use crate::settings::TenantSettings;
use crate::{Code, DomainError, Instant};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A case with all its contacts (of today's party, after merges).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CaseFacts {
    pub id: Uuid,
    pub party_id: Uuid,
    /// The topic of the contact that opened it.
    pub topic: Option<Code>,
    pub reference: Option<String>,
    /// "Oldest" means created first (ties: smaller id).
    pub created_at: Instant,
    pub contacts: Vec<ContactFacts>,
}

/// The status of a case at a moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CaseStatus {
    Open,
    Resolved { at: Instant },
}

/// The status of a case as known at `t`.
pub fn status_at(case: &CaseFacts, t: Instant) -> CaseStatus {
    let _ = (case, t);
    todo!()
}

/// Whether a case is active at `t`: open, or resolved less than the repeat window before.
pub fn is_active_at(case: &CaseFacts, t: Instant, settings: &TenantSettings) -> bool {
    let _ = (case, t, settings);
    todo!()
}

/// What a contact asks for when its case is chosen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseRequest {
    pub case_id: Option<Uuid>,
    pub case_reference: Option<String>,
    pub topic: Option<Code>,
}

/// The chosen case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CaseChoice {
    /// The contact belongs to this existing case.
    Existing(Uuid),
    /// A new case is to be made with this topic and reference.
    New { topic: Option<Code>, reference: Option<String> },
    /// Not yet: no topic, case or known reference (chosen at completion).
    Later,
}

/// Chooses the case of a contact of a known party that starts at `at`, among the
/// party's cases. `case_id` must belong to the party (else NOT_FOUND on `case_id`).
pub fn choose(
    request: &CaseRequest,
    party_cases: &[CaseFacts],
    at: Instant,
    settings: &TenantSettings,
) -> Result<CaseChoice, DomainError> {
    let _ = (request, party_cases, at, settings);
    todo!()
}

/// When parties merge at `at`: each OPEN case of a merged-in party joins the surviving
/// party's oldest OPEN case with the same topic, if it has one; cases with a reference
/// never merge. Returns `(from, into)` pairs.
pub fn merge_plan(
    survivor_cases: &[CaseFacts],
    merged_cases: &[CaseFacts],
    at: Instant,
) -> Vec<(Uuid, Uuid)> {
    let _ = (survivor_cases, merged_cases, at);
    todo!()
}
