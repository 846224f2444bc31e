//! Finding the party (DOMAIN.md "Finding the party").

use crate::identifier::IdentKey;
use crate::Instant;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use uuid::Uuid;

/// A party as resolution needs it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartySummary {
    pub id: Uuid,
    /// When it was created; "oldest" means created first (ties: smaller id).
    pub created_at: Instant,
    /// Its strong identifier, if it has one.
    pub strong: Option<IdentKey>,
}

/// What the store knows about the identifiers of a request: for each given identifier
/// (by kind and hash), the live parties that own it; and a summary of each such party.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KnownParties {
    /// Keyed by `(kind, hash)` of a given identifier: its owners (empty or absent if unknown).
    pub owners: BTreeMap<IdentKey, Vec<Uuid>>,
    pub parties: BTreeMap<Uuid, PartySummary>,
}

/// The chosen party.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PartyChoice {
    /// An existing party.
    Existing(Uuid),
    /// A new party is to be made.
    New,
}

/// What to do with the parties of a contact.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartyPlan {
    pub party: PartyChoice,
    /// Identifiers given that the chosen party does not own yet: attach them to it.
    pub attach: Vec<IdentKey>,
    /// Parties to merge into the chosen one (their identifiers, cases and contacts
    /// move; their ids keep resolving to it). Oldest first.
    pub merge: Vec<Uuid>,
}

/// The outcome of finding the party.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resolution {
    /// No identifiers: the contact is anonymous.
    Anonymous,
    /// The identifiers do not lead to one party: stored as anonymous, the agent asks for
    /// a strong identifier.
    Ambiguous,
    /// A party (existing or new), with what to attach and merge.
    Party(PartyPlan),
}

/// Finds the party for the identifiers `given` (already valid, at most one strong).
pub fn resolve(given: &[IdentKey], known: &KnownParties) -> Resolution {
    let _ = (given, known);
    todo!()
}
