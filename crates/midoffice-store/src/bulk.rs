//! Bulk loading (`midoffice seed`): the same [`Write`]s the domain's plans return,
//! carried out in memory on a [`Batch`] of rows and then saved with multi-row inserts in
//! one large transaction ([`Store::save_bulk`]).
//!
//! A batch holds whole parties: every row it writes belongs to a party created in it (or
//! to no party, an anonymous contact), so a merge, a completion or a satisfaction answer
//! always changes rows that are still in memory, and the batch never needs to read the
//! database. A write that would reach outside the batch is refused
//! ([`BulkError::OutsideBatch`]), never carried out halfway. The facts a plan needs are
//! read from the batch's own rows by the same conversions the store uses
//! ([`Batch::start_facts`], [`Batch::completion_facts`], [`Batch::feedback_facts`]), so a
//! seeder can play one citizen's whole history through the plans before it is saved.
//!
//! Not carried out: [`Write::LogProcessing`] (a seed is not a processing of a real
//! person's data, so it logs nothing) and the writes of an erasure (refused).

use crate::convert::{
    contact_facts, feedback_facts as feedback_of_row, micros, party_summary, referral_columns,
};
use crate::db::{self, db_err};
use crate::entity::{case, contact, feedback, identifier, party};
use crate::facts::{case_of_row, contact_status};
use crate::lock::Locks;
use crate::rollup::unit_tallies;
use crate::{Store, StoreError};
use midoffice_domain::case::{CaseFacts, ContactStatus};
use midoffice_domain::contact::{Completion, ContactFacts, Feedback};
use midoffice_domain::identifier::IdentKey;
use midoffice_domain::party::KnownParties;
use midoffice_domain::plan::Write;
use midoffice_domain::plan::completion::{CompletionFacts, StoredContact};
use midoffice_domain::plan::feedback::FeedbackFacts;
use midoffice_domain::plan::start::{AskedCase, FreshIds, Needs, StartFacts};
use midoffice_domain::rollup::{Tally, UnitFacts};
use midoffice_domain::settings::TenantSettings;
use midoffice_domain::{Code, Instant, TenantId};
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DbBackend, EntityTrait, IntoActiveModel, QueryTrait,
    Statement,
};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use uuid::Uuid;

/// The most bind parameters in one statement: SQLite's limit (32766) and PostgreSQL's
/// (65535), with a margin.
const SQLITE_PARAMETERS: usize = 32_000;
const POSTGRES_PARAMETERS: usize = 65_000;

/// A figure unit's id and its tallies.
type Unit = (Uuid, BTreeMap<Tally, i64>);

/// Why a write cannot go into a batch (a bug of the caller, not bad input).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BulkError {
    /// The write changes a row this batch does not hold.
    #[error("a bulk {0} write refers to a row outside its batch")]
    OutsideBatch(&'static str),
    /// The write has no bulk form (an erasure).
    #[error("a bulk load does not carry out {0} writes")]
    Unsupported(&'static str),
}

impl From<BulkError> for StoreError {
    fn from(e: BulkError) -> Self {
        tracing::error!(error = %e, "bulk load refused a write");
        StoreError::Internal(e.to_string())
    }
}

/// Rows of whole parties, to be saved together by [`Store::save_bulk`].
#[derive(Clone, Debug, Default)]
pub struct Batch {
    tenant: String,
    parties: Vec<party::Model>,
    identifiers: Vec<identifier::Model>,
    cases: Vec<case::Model>,
    contacts: Vec<contact::Model>,
    feedback: Vec<feedback::Model>,
    /// The facts of each contact row (same index) as last read, until a write changes
    /// the row: a citizen's history is read back at every one of its contacts.
    facts: RefCell<Vec<Option<ContactFacts>>>,
}

/// How many rows of each table a batch holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BatchCounts {
    pub parties: usize,
    /// Parties not merged into another.
    pub live_parties: usize,
    pub identifiers: usize,
    pub cases: usize,
    /// Cases not joined into another.
    pub live_cases: usize,
    pub contacts: usize,
    pub feedback: usize,
}

impl std::ops::AddAssign for BatchCounts {
    fn add_assign(&mut self, o: Self) {
        self.parties += o.parties;
        self.live_parties += o.live_parties;
        self.identifiers += o.identifiers;
        self.cases += o.cases;
        self.live_cases += o.live_cases;
        self.contacts += o.contacts;
        self.feedback += o.feedback;
    }
}

impl Batch {
    /// An empty batch for a tenant.
    pub fn new(tenant: &TenantId) -> Self {
        Batch {
            tenant: tenant.as_str().to_owned(),
            ..Batch::default()
        }
    }

    /// The rows it holds, by table.
    pub fn counts(&self) -> BatchCounts {
        BatchCounts {
            parties: self.parties.len(),
            live_parties: self
                .parties
                .iter()
                .filter(|p| p.merged_into.is_none())
                .count(),
            identifiers: self.identifiers.len(),
            cases: self.cases.len(),
            live_cases: self
                .cases
                .iter()
                .filter(|k| k.merged_into.is_none())
                .count(),
            contacts: self.contacts.len(),
            feedback: self.feedback.len(),
        }
    }

    /// How many contacts it holds.
    pub fn contact_count(&self) -> usize {
        self.contacts.len()
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.parties.is_empty() && self.contacts.is_empty()
    }

    /// Moves the rows of `other` (of the same tenant) into this batch.
    pub fn append(&mut self, mut other: Batch) {
        self.parties.append(&mut other.parties);
        self.identifiers.append(&mut other.identifiers);
        self.cases.append(&mut other.cases);
        self.contacts.append(&mut other.contacts);
        self.facts.get_mut().append(other.facts.get_mut());
        self.feedback.append(&mut other.feedback);
    }

    fn has_party(&self, id: Uuid) -> bool {
        self.parties.iter().any(|p| p.id == id)
    }

    /// A contact row to change (its facts are read again next time).
    fn contact_mut(&mut self, id: Uuid) -> Option<&mut contact::Model> {
        let i = self.contacts.iter().position(|c| c.id == id)?;
        if let Some(f) = self.facts.get_mut().get_mut(i) {
            *f = None;
        }
        self.contacts.get_mut(i)
    }

    /// Carries out a plan's writes on the batch's rows, in order, as `write::save` does
    /// in the database. Nothing is changed when a write is refused.
    pub fn apply(&mut self, writes: &[Write]) -> Result<(), BulkError> {
        // Refused before anything changes: a plan is carried out whole or not at all.
        self.check(writes)?;
        for w in writes {
            self.apply_one(w)?;
        }
        Ok(())
    }

    /// Whether every write of a plan stays inside the batch (with the rows the plan's
    /// earlier writes make).
    fn check(&self, writes: &[Write]) -> Result<(), BulkError> {
        let mut parties: Vec<Uuid> = Vec::new();
        let mut contacts: Vec<Uuid> = Vec::new();
        let party = |id: &Uuid, made: &[Uuid]| made.contains(id) || self.has_party(*id);
        for w in writes {
            let inside = match w {
                Write::CreateParty { id, .. } => {
                    parties.push(*id);
                    true
                }
                Write::MergeParty { from, into, .. } => {
                    party(from, &parties) && party(into, &parties)
                }
                Write::Attach { party: p, .. }
                | Write::SetStrong { party: p, .. }
                | Write::CreateCase { party: p, .. } => party(p, &parties),
                Write::InsertContact { contact, .. } => {
                    contacts.push(contact.id);
                    contact.party_id.is_none_or(|p| party(&p, &parties))
                }
                Write::CompleteContact { contact_id: c, .. }
                | Write::InsertFeedback { contact_id: c, .. } => {
                    contacts.contains(c) || self.contacts.iter().any(|r| r.id == *c)
                }
                Write::LogProcessing(_) => true,
                _ => return Err(BulkError::Unsupported("erasure")),
            };
            if !inside {
                return Err(BulkError::OutsideBatch(write_name(w)));
            }
        }
        Ok(())
    }

    fn apply_one(&mut self, w: &Write) -> Result<(), BulkError> {
        let tenant = self.tenant.clone();
        match w {
            Write::CreateParty {
                id,
                created_at,
                strong,
            } => self.parties.push(party::Model {
                id: *id,
                tenant,
                created_at: micros(*created_at),
                strong_kind: strong.as_ref().map(|k| k.kind.as_str().to_owned()),
                strong_hash: strong.as_ref().map(|k| k.hash.clone()),
                strong_display: strong.as_ref().and_then(|k| k.display.clone()),
                merged_into: None,
                erased_at: None,
            }),
            Write::MergeParty { from, into, joins } => self.merge(*from, *into, joins)?,
            Write::Attach { party, key } => {
                if !self.has_party(*party) {
                    return Err(BulkError::OutsideBatch("attach"));
                }
                self.identifiers.push(identifier::Model {
                    tenant,
                    kind: key.kind.as_str().to_owned(),
                    hash: key.hash.clone(),
                    party_id: *party,
                });
            }
            Write::SetStrong { party, key } => {
                let row = self
                    .parties
                    .iter_mut()
                    .find(|p| p.id == *party)
                    .ok_or(BulkError::OutsideBatch("set strong"))?;
                row.strong_kind = Some(key.kind.as_str().to_owned());
                row.strong_hash = Some(key.hash.clone());
                row.strong_display = key.display.clone();
            }
            Write::CreateCase {
                id,
                party,
                topic,
                reference,
                created_at,
            } => {
                if !self.has_party(*party) {
                    return Err(BulkError::OutsideBatch("create case"));
                }
                self.cases.push(case::Model {
                    id: *id,
                    tenant,
                    party_id: *party,
                    topic: topic.as_ref().map(|t| t.as_str().to_owned()),
                    reference: reference.clone(),
                    created_at: micros(*created_at),
                    merged_into: None,
                });
            }
            Write::InsertContact {
                contact,
                case_reference,
                created_at,
            } => {
                if contact.party_id.is_some_and(|p| !self.has_party(p)) {
                    return Err(BulkError::OutsideBatch("insert contact"));
                }
                self.contacts
                    .push(contact_row(&tenant, contact, case_reference, *created_at));
                self.facts.get_mut().push(None);
            }
            Write::CompleteContact {
                contact_id,
                case_id,
                case_chosen_at_completion,
                completion,
            } => {
                let row = self
                    .contact_mut(*contact_id)
                    .ok_or(BulkError::OutsideBatch("complete contact"))?;
                complete_row(row, *case_id, *case_chosen_at_completion, completion);
            }
            Write::InsertFeedback {
                contact_id,
                answer,
                created_at,
            } => {
                if self.contact_mut(*contact_id).is_none() {
                    return Err(BulkError::OutsideBatch("feedback"));
                }
                self.feedback.push(feedback::Model {
                    contact_id: *contact_id,
                    tenant,
                    score: i32::from(answer.score),
                    effort: i32::from(answer.effort),
                    story_repeated: answer.story_repeated,
                    comment: answer.comment.clone(),
                    created_at: micros(*created_at),
                });
            }
            // Not a processing of a real person's data: a seed logs nothing.
            Write::LogProcessing(_) => {}
            Write::DeleteIdentifiers { .. }
            | Write::MarkErased { .. }
            | Write::ClearCaseReferences { .. }
            | Write::ReplaceStories { .. }
            | Write::ClearContactCaseReferences { .. }
            | Write::ClearOrganisationTargets { .. }
            | Write::ClearFeedbackComments { .. }
            | Write::EmptyIdempotentAnswers { .. } => {
                return Err(BulkError::Unsupported("erasure"));
            }
            Write::DeleteFeedback { .. }
            | Write::DeleteFigureUnits { .. }
            | Write::DeleteIdempotency { .. }
            | Write::DeleteContacts { .. }
            | Write::DeleteCases { .. }
            | Write::DeleteParties { .. } => {
                return Err(BulkError::Unsupported("retention"));
            }
        }
        Ok(())
    }

    /// `write::merge::merge_party` on the batch's rows.
    fn merge(&mut self, from: Uuid, into: Uuid, joins: &[(Uuid, Uuid)]) -> Result<(), BulkError> {
        if !self.has_party(from) || !self.has_party(into) {
            return Err(BulkError::OutsideBatch("merge"));
        }
        // Contacts move: read every one again.
        self.facts.get_mut().iter_mut().for_each(|f| *f = None);
        for (from_case, into_case) in joins {
            for c in &mut self.contacts {
                if c.case_id == Some(*from_case) {
                    c.case_id = Some(*into_case);
                }
            }
            for k in &mut self.cases {
                if k.id == *from_case || k.merged_into == Some(*from_case) {
                    k.merged_into = Some(*into_case);
                }
            }
        }
        for k in &mut self.cases {
            if k.party_id == from {
                k.party_id = into;
            }
        }
        for c in &mut self.contacts {
            if c.party_id == Some(from) {
                c.party_id = Some(into);
            }
        }
        let have: BTreeSet<(String, String)> = self
            .identifiers
            .iter()
            .filter(|r| r.party_id == into)
            .map(|r| (r.kind.clone(), r.hash.clone()))
            .collect();
        self.identifiers
            .retain(|r| r.party_id != from || !have.contains(&(r.kind.clone(), r.hash.clone())));
        for r in &mut self.identifiers {
            if r.party_id == from {
                r.party_id = into;
            }
        }
        for p in &mut self.parties {
            if p.id == from || p.merged_into == Some(from) {
                p.merged_into = Some(into);
            }
        }
        Ok(())
    }
}

/// The name of a write in errors.
fn write_name(w: &Write) -> &'static str {
    match w {
        Write::CreateParty { .. } => "create party",
        Write::MergeParty { .. } => "merge",
        Write::Attach { .. } => "attach",
        Write::SetStrong { .. } => "set strong",
        Write::CreateCase { .. } => "create case",
        Write::InsertContact { .. } => "insert contact",
        Write::CompleteContact { .. } => "complete contact",
        Write::InsertFeedback { .. } => "feedback",
        _ => "other",
    }
}

/// A contact row as `write::start::insert_contact` makes it, completed as
/// `write::complete::complete_contact` would when the facts hold a completion.
fn contact_row(
    tenant: &str,
    c: &ContactFacts,
    case_reference: &Option<String>,
    created_at: Instant,
) -> contact::Model {
    let mut row = crate::write::contact_row(tenant, c, case_reference.as_deref(), created_at);
    if let Some(done) = &c.completion {
        complete_row(&mut row, c.case_id, c.case_chosen_at_completion, done);
    }
    row
}

/// `write::complete::complete_contact` on a row.
fn complete_row(
    row: &mut contact::Model,
    case_id: Option<Uuid>,
    case_chosen_at_completion: bool,
    c: &Completion,
) {
    let (referred_kind, referred_value) = match c.referred_to.as_ref().map(referral_columns) {
        Some((k, v)) => (Some(k.to_owned()), Some(v)),
        None => (None, None),
    };
    row.case_id = case_id;
    row.case_chosen_at_completion = case_chosen_at_completion;
    row.ended_at = Some(micros(c.ended_at));
    row.answered_at = c.answered_at.map(micros);
    row.outcome = Some(c.outcome.as_str().to_owned());
    row.story = c.story.clone();
    row.completion_department = c.department.as_ref().map(|d| d.as_str().to_owned());
    row.completion_topic = c.topic.as_ref().map(|t| t.as_str().to_owned());
    row.referred_kind = referred_kind;
    row.referred_value = referred_value;
    row.due_at = c.due_at.map(micros);
    row.story_repeated = Some(c.story_repeated);
}

/// Reading facts from a batch's rows, as `facts` reads them from the database.
impl Batch {
    fn party_row(&self, id: Uuid) -> Option<&party::Model> {
        let row = self.parties.iter().find(|p| p.id == id)?;
        match row.merged_into {
            // Merges point straight at the survivor.
            Some(next) => self.parties.iter().find(|p| p.id == next),
            None => Some(row),
        }
    }

    fn case_row(&self, id: Uuid) -> Option<&case::Model> {
        let row = self.cases.iter().find(|k| k.id == id)?;
        match row.merged_into {
            Some(next) => self.cases.iter().find(|k| k.id == next),
            None => Some(row),
        }
    }

    fn feedback_for(&self, contact_id: Uuid) -> Result<Option<Feedback>, StoreError> {
        self.feedback
            .iter()
            .find(|f| f.contact_id == contact_id)
            .map(feedback_of_row)
            .transpose()
    }

    /// The facts of contact row `i`.
    fn contact_as_facts(&self, i: usize) -> Result<ContactFacts, StoreError> {
        if let Some(Some(known)) = self.facts.borrow().get(i) {
            return Ok(known.clone());
        }
        let row = &self.contacts[i];
        let facts = contact_facts(row, self.feedback_for(row.id)?)?;
        if let Some(slot) = self.facts.borrow_mut().get_mut(i) {
            *slot = Some(facts.clone());
        }
        Ok(facts)
    }

    /// The status of contact row `i` (`facts::needed_cases` reads the same columns).
    fn contact_status(&self, i: usize) -> Result<ContactStatus, StoreError> {
        let row = &self.contacts[i];
        contact_status(
            row.started_at,
            row.ended_at,
            row.outcome.as_deref(),
            row.case_chosen_at_completion,
        )
    }

    /// Today's cases of a party that `needs` names (`Needs::wants`, as
    /// `facts::needed_cases` selects them in the database), each with all its contacts,
    /// oldest first. The party's contacts are found in one pass over the batch.
    fn party_cases(
        &self,
        party_id: Uuid,
        needs: &Needs,
        settings: &TenantSettings,
    ) -> Result<Vec<CaseFacts>, StoreError> {
        let mut cases: Vec<(&case::Model, Vec<usize>)> = self
            .cases
            .iter()
            .filter(|k| k.party_id == party_id && k.merged_into.is_none())
            .map(|k| (k, Vec::new()))
            .collect();
        if cases.is_empty() {
            return Ok(Vec::new());
        }
        let index: HashMap<Uuid, usize> = cases
            .iter()
            .enumerate()
            .map(|(j, (k, _))| (k.id, j))
            .collect();
        for (i, c) in self.contacts.iter().enumerate() {
            if let Some(&j) = c.case_id.as_ref().and_then(|id| index.get(id)) {
                cases[j].1.push(i);
            }
        }
        let mut out = Vec::new();
        for (k, members) in cases {
            let status = members
                .iter()
                .map(|&i| self.contact_status(i))
                .collect::<Result<Vec<_>, _>>()?;
            if !needs.wants(k.id, k.reference.as_deref(), &status, settings) {
                continue;
            }
            let mut contacts = members
                .iter()
                .map(|&i| self.contact_as_facts(i))
                .collect::<Result<Vec<_>, _>>()?;
            contacts.sort_by_key(|a| (a.started_at, a.id));
            out.push(case_of_row(k.clone(), contacts)?);
        }
        out.sort_by_key(|a| (a.created_at, a.id));
        Ok(out)
    }

    fn known_parties(&self, given: &[IdentKey]) -> Result<KnownParties, StoreError> {
        let mut known = KnownParties::default();
        for k in given {
            let mut owners: Vec<Uuid> = self
                .identifiers
                .iter()
                .filter(|r| r.kind == k.kind.as_str() && r.hash == k.hash)
                .map(|r| r.party_id)
                .filter(|p| {
                    self.parties
                        .iter()
                        .any(|q| q.id == *p && q.merged_into.is_none() && q.erased_at.is_none())
                })
                .collect();
            owners.sort();
            owners.dedup();
            for p in &owners {
                if let Some(row) = self.parties.iter().find(|q| q.id == *p) {
                    known.parties.insert(*p, party_summary(row)?);
                }
            }
            known.owners.insert(k.clone(), owners);
        }
        Ok(known)
    }

    /// What a start needs (`facts::load_start`), read from this batch: the cases
    /// `needs` names (`Needs::of_start` of the start, as the store reads them).
    pub fn start_facts(
        &self,
        identifiers: &[IdentKey],
        case_id: Option<Uuid>,
        needs: &Needs,
        settings: TenantSettings,
        fresh: FreshIds,
        stored_at: Instant,
    ) -> Result<StartFacts, StoreError> {
        let known = self.known_parties(identifiers)?;
        let asked_case = match case_id {
            None => AskedCase::NotAsked,
            Some(id) => match self.case_row(id) {
                None => AskedCase::Unknown,
                Some(k) => {
                    let owner = self
                        .party_row(k.party_id)
                        .ok_or_else(|| crate::convert::corrupt("case.party_id"))?;
                    AskedCase::Found {
                        case_id: k.id,
                        party: party_summary(owner)?,
                    }
                }
            },
        };
        let mut parties: BTreeSet<Uuid> = known.parties.keys().copied().collect();
        if let AskedCase::Found { party, .. } = &asked_case {
            parties.insert(party.id);
        }
        let mut cases = std::collections::BTreeMap::new();
        for p in parties {
            cases.insert(p, self.party_cases(p, needs, &settings)?);
        }
        Ok(StartFacts {
            known,
            asked_case,
            cases,
            settings,
            fresh,
            stored_at,
        })
    }

    /// What a completion needs (`facts::load_completion`), read from this batch.
    pub fn completion_facts(
        &self,
        contact_id: Uuid,
        settings: TenantSettings,
        fresh_case: Uuid,
        now: Instant,
        stored_at: Instant,
    ) -> Result<CompletionFacts, StoreError> {
        let (contact, party_cases) = match self.contacts.iter().position(|c| c.id == contact_id) {
            None => (None, Vec::new()),
            Some(i) => {
                let row = &self.contacts[i];
                let mut facts = self.contact_as_facts(i)?;
                let party = row.party_id.and_then(|p| self.party_row(p)).map(|p| p.id);
                facts.party_id = party.or(facts.party_id);
                let needs = Needs::of_completion(&facts, row.case_reference.as_deref());
                let cases = match facts.party_id {
                    Some(p) => self.party_cases(p, &needs, &settings)?,
                    None => Vec::new(),
                };
                let stored = StoredContact {
                    facts,
                    case_reference: row.case_reference.clone(),
                };
                (Some(stored), cases)
            }
        };
        Ok(CompletionFacts {
            contact,
            party_cases,
            settings,
            fresh_case,
            now,
            stored_at,
        })
    }

    /// What a satisfaction answer needs (`facts::load_feedback`), read from this batch.
    pub fn feedback_facts(
        &self,
        contact_id: Uuid,
        stored_at: Instant,
    ) -> Result<FeedbackFacts, StoreError> {
        let contact = match self.contacts.iter().position(|c| c.id == contact_id) {
            Some(i) => Some(self.contact_as_facts(i)?),
            None => None,
        };
        Ok(FeedbackFacts { contact, stored_at })
    }

    /// The figure units of this batch (its cases not joined into another, each with its
    /// contacts, and its contacts on no case) with their tallies (`rollup::tallies`).
    /// The facts kept for the plans are moved out, not copied: the batch is being
    /// saved.
    fn figure_units(&mut self, settings: &TenantSettings) -> Result<Vec<Unit>, StoreError> {
        let mut kept = std::mem::take(self.facts.get_mut());
        let answers: HashMap<Uuid, &feedback::Model> =
            self.feedback.iter().map(|f| (f.contact_id, f)).collect();
        let mut on_case: HashMap<Uuid, Vec<ContactFacts>> = HashMap::new();
        let mut out = Vec::new();
        for (i, row) in self.contacts.iter().enumerate() {
            let facts = match kept.get_mut(i).and_then(Option::take) {
                Some(known) => known,
                None => contact_facts(
                    row,
                    answers
                        .get(&row.id)
                        .map(|f| feedback_of_row(f))
                        .transpose()?,
                )?,
            };
            match row.case_id {
                Some(case) => on_case.entry(case).or_default().push(facts),
                None => out.push((row.id, unit_tallies(UnitFacts::Contact(&facts), settings))),
            }
        }
        for k in self.cases.iter().filter(|k| k.merged_into.is_none()) {
            let mut contacts = on_case.remove(&k.id).unwrap_or_default();
            contacts.sort_by_key(|a| (a.started_at, a.id));
            let case = case_of_row(k.clone(), contacts)?;
            out.push((k.id, unit_tallies(UnitFacts::Case(&case), settings)));
        }
        Ok(out)
    }

    /// The topic code of a case of this batch, as stored.
    pub fn case_topic(&self, case_id: Uuid) -> Option<Code> {
        self.case_row(case_id)
            .and_then(|k| k.topic.as_deref())
            .and_then(|t| Code::parse(t).ok())
    }
}

/// The multi-row insert statements of `rows`, at most `per_statement` rows each.
pub(crate) fn insert_statements<A>(
    backend: DbBackend,
    rows: Vec<<A::Entity as EntityTrait>::Model>,
    per_statement: usize,
    out: &mut Vec<Statement>,
) where
    A: ActiveModelTrait + Send,
    <A::Entity as EntityTrait>::Model: IntoActiveModel<A>,
{
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<A> = rows
            .by_ref()
            .take(per_statement)
            .map(IntoActiveModel::into_active_model)
            .collect();
        out.push(<A::Entity as EntityTrait>::insert_many(chunk).build(backend));
    }
}

/// Rows per statement for a table of `columns` columns on `backend`.
pub(crate) fn rows_per_statement(backend: DbBackend, columns: usize) -> usize {
    let limit = match backend {
        DbBackend::Postgres => POSTGRES_PARAMETERS,
        _ => SQLITE_PARAMETERS,
    };
    (limit / columns).max(1)
}

/// A batch made ready to save ([`Batch::prepare`]): its figure units tallied and its
/// insert statements built, so that the CPU work of both can run on another thread
/// while the previous batch is being saved ([`Store::save_prepared`]).
pub struct Prepared {
    tenant: TenantId,
    counts: BatchCounts,
    /// The settings the units were tallied with.
    settings: TenantSettings,
    inserts: Vec<Statement>,
    units: Vec<Unit>,
}

impl Batch {
    /// Tallies the batch's figure units under `settings` (`rollup::tallies`, as a
    /// refresh would) and builds its multi-row inserts for `backend` (thousands of rows
    /// per statement, within the backend's bind-parameter limit; each table's full
    /// statements have the same text, so the driver prepares them once). Rows go in
    /// primary-key order, so consecutive rows land in neighbouring B-tree pages;
    /// parties and cases that were merged go after those they point to, for the
    /// foreign keys. Pure CPU: no database.
    pub fn prepare(
        mut self,
        settings: &TenantSettings,
        backend: DbBackend,
    ) -> Result<Prepared, StoreError> {
        let counts = self.counts();
        let tenant = TenantId::parse(&self.tenant)
            .map_err(|_| StoreError::Internal("a batch of an invalid tenant".into()))?;
        let units = self.figure_units(settings)?;
        let Batch {
            mut parties,
            mut identifiers,
            mut cases,
            mut contacts,
            mut feedback,
            ..
        } = self;
        parties.sort_by_key(|p| (p.merged_into.is_some(), p.id));
        cases.sort_by_key(|k| (k.merged_into.is_some(), k.id));
        identifiers.sort_by(|a, b| (&a.kind, &a.hash).cmp(&(&b.kind, &b.hash)));
        contacts.sort_by_key(|c| c.id);
        feedback.sort_by_key(|f| f.contact_id);
        let per = |columns| rows_per_statement(backend, columns);
        let mut inserts = Vec::new();
        insert_statements::<party::ActiveModel>(backend, parties, per(8), &mut inserts);
        insert_statements::<identifier::ActiveModel>(backend, identifiers, per(4), &mut inserts);
        insert_statements::<case::ActiveModel>(backend, cases, per(7), &mut inserts);
        insert_statements::<contact::ActiveModel>(backend, contacts, per(25), &mut inserts);
        insert_statements::<feedback::ActiveModel>(backend, feedback, per(7), &mut inserts);
        Ok(Prepared {
            tenant,
            counts,
            settings: settings.clone(),
            inserts,
            units,
        })
    }
}

impl Store {
    /// The database backend, for [`Batch::prepare`].
    pub fn backend(&self) -> DbBackend {
        self.pools.backend
    }

    /// Saves a batch in one write transaction ([`Batch::prepare`], then
    /// [`Store::save_prepared`]) under the tenant's current settings. Not bounded by the
    /// store's per-call timeout: a batch is large.
    pub async fn save_bulk(&self, batch: Batch) -> Result<BatchCounts, StoreError> {
        let tenant_id = TenantId::parse(&batch.tenant)
            .map_err(|_| StoreError::Internal("a batch of an invalid tenant".into()))?;
        let settings = self.settings(&tenant_id).await?;
        self.save_prepared(&batch.prepare(&settings, self.pools.backend)?)
            .await
    }

    /// Saves a prepared batch in one write transaction: its inserts, then its figure
    /// units and their sums. Borrowed, so that a batch that failed as UNAVAILABLE (rolled
    /// back whole) can be saved again.
    pub async fn save_prepared(&self, prepared: &Prepared) -> Result<BatchCounts, StoreError> {
        let Prepared {
            tenant,
            counts,
            settings,
            inserts,
            units,
        } = prepared;
        let txn = self.pools.begin_write().await?;
        let result = async {
            for insert in inserts {
                txn.execute_raw(insert.clone()).await.map_err(db_err)?;
            }
            // The batch's units are new and whole (a batch holds whole parties): their
            // tallies, computed as a refresh would, are added as they are. They were
            // computed before the transaction, so the settings are read again under the
            // shared settings lock (as every write holds it): when a replacement came in
            // between, the rollups are marked stale and the rebuild counts the batch.
            Locks::new(&self.pools).reads_settings(&txn, tenant).await?;
            let now = crate::settings_in(&txn, tenant).await?;
            crate::rollup::add_new_units(&txn, tenant, units, settings, &self.figure_states)
                .await?;
            if crate::rollup::tallied_differently(settings, &now) {
                crate::rollup::mark_stale(&txn, tenant).await?;
            }
            Ok(())
        }
        .await;
        db::finish(txn, result).await?;
        Ok(*counts)
    }

    /// Before a bulk load: on SQLite, the writer connection (only the load's own) keeps
    /// a large page cache, does not wait for the disk at each commit and does not look
    /// up each row's parents (foreign keys: a batch holds whole parties and refuses a
    /// write outside them, so its rows point only at rows of the same batch, inserted
    /// before them); the file stays in WAL mode. Nothing on PostgreSQL.
    pub async fn begin_bulk_load(&self) -> Result<(), StoreError> {
        self.writer_pragmas(&[
            "PRAGMA foreign_keys = OFF",
            "PRAGMA synchronous = OFF",
            "PRAGMA cache_size = -524288",
            "PRAGMA temp_store = MEMORY",
        ])
        .await
    }

    /// After a bulk load: the writer connection back to its normal settings, and the
    /// write-ahead log checkpointed into the database file.
    pub async fn end_bulk_load(&self) -> Result<(), StoreError> {
        self.writer_pragmas(&[
            "PRAGMA foreign_keys = ON",
            "PRAGMA synchronous = NORMAL",
            db::SQLITE_CACHE_SIZE,
            "PRAGMA temp_store = DEFAULT",
            "PRAGMA wal_checkpoint(TRUNCATE)",
        ])
        .await
    }

    async fn writer_pragmas(&self, pragmas: &[&str]) -> Result<(), StoreError> {
        if self.pools.backend != DbBackend::Sqlite {
            return Ok(());
        }
        for p in pragmas {
            self.pools
                .writer
                .query_all_raw(Statement::from_string(DbBackend::Sqlite, *p))
                .await
                .map_err(db_err)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use midoffice_domain::identifier::IdentifierKind;

    fn t(minute: i64) -> Instant {
        chrono::DateTime::from_timestamp(1_767_225_600 + minute * 60, 0).unwrap()
    }

    fn key(kind: IdentifierKind, hash: &str) -> IdentKey {
        IdentKey {
            kind,
            hash: hash.into(),
            display: None,
        }
    }

    #[test]
    fn a_merge_moves_cases_contacts_and_identifiers_as_the_store_does() {
        let tenant = TenantId::default_tenant();
        let mut b = Batch::new(&tenant);
        let (p1, p2) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let (k1, k2) = (Uuid::from_u128(10), Uuid::from_u128(20));
        let phone = key(IdentifierKind::Phone, "p");
        let topic = Code::parse("afval").ok();
        let mut writes = Vec::new();
        for (p, k, minute) in [(p1, k1, 0), (p2, k2, 5)] {
            writes.push(Write::CreateParty {
                id: p,
                created_at: t(minute),
                strong: None,
            });
            writes.push(Write::Attach {
                party: p,
                key: phone.clone(),
            });
            writes.push(Write::CreateCase {
                id: k,
                party: p,
                topic: topic.clone(),
                reference: None,
                created_at: t(minute),
            });
        }
        b.apply(&writes).unwrap();
        b.apply(&[Write::MergeParty {
            from: p2,
            into: p1,
            joins: vec![(k2, k1)],
        }])
        .unwrap();
        let c = b.counts();
        assert_eq!(
            (c.parties, c.live_parties, c.cases, c.live_cases),
            (2, 1, 2, 1)
        );
        assert_eq!(c.identifiers, 1, "the shared phone stays one row");
        let known = b.known_parties(std::slice::from_ref(&phone)).unwrap();
        assert_eq!(known.owners[&phone], vec![p1]);
        assert_eq!(b.case_row(k2).map(|k| k.id), Some(k1));
        assert_eq!(b.party_row(p2).map(|p| p.id), Some(p1));
    }

    #[test]
    fn a_write_outside_the_batch_is_refused_and_changes_nothing() {
        let tenant = TenantId::default_tenant();
        let mut b = Batch::new(&tenant);
        let writes = [
            Write::CreateParty {
                id: Uuid::from_u128(1),
                created_at: t(0),
                strong: None,
            },
            Write::Attach {
                party: Uuid::from_u128(9),
                key: key(IdentifierKind::Email, "e"),
            },
        ];
        assert_eq!(b.apply(&writes), Err(BulkError::OutsideBatch("attach")));
        assert!(b.is_empty());
        assert_eq!(
            b.apply(&[Write::DeleteIdentifiers { parties: vec![] }]),
            Err(BulkError::Unsupported("erasure"))
        );
    }
}
