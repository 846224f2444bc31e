//! Every write has one shape: the store loads the facts (one `...Facts` struct per
//! write), ONE function here returns a plan, and the store saves the plan's [`Write`]s in
//! order, in the same transaction, deciding nothing. A plan also carries the answer,
//! computed in memory from the facts as the plan leaves them, so nothing is reloaded.
//!
//! - [`start::plan_start`]: finding the party (new, attach, merge and the cases that
//!   join), choosing the case, the contact; a look-up ([`start::plan_lookup`]) is the same
//!   plan, not saved, so it answers what a contact would do by construction.
//! - [`completion::plan_completion`]: NOT_FOUND, completes once, the fields, the case
//!   chosen at completion, the completion as stored; [`completion::plan_record`] is a
//!   start and a completion in one plan.
//! - [`erase::plan_erase`]: which parties go and which fields are cleared.
//! - [`feedback::plan_feedback`]: a satisfaction answer.
//! - [`retention::plan_retention`]: what one batch of a retention pass deletes (old
//!   cases whole, old contacts without a case, parties left with nothing).
//! - [`retry::plan_retry`]: a request with a key that came before (replay, refuse).
//!
//! A plan that processes personal data (a context shown, an erase) ends with
//! [`Write::LogProcessing`], naming its data subjects (`crate::processing`).
//!
//! New ids and the store's clock come in with the facts: the domain has no I/O and no
//! clock. The order of the writes is itself a rule (merge, then attach, then the case,
//! then the contact) and lives in the plan.

pub mod completion;
pub mod erase;
pub mod feedback;
pub mod retention;
pub mod retry;
pub mod settings;
pub mod start;

use crate::case::CaseFacts;
use crate::contact::{Completion, ContactFacts, Feedback};
use crate::identifier::IdentKey;
use crate::processing::Processing;
use crate::{Code, Instant};
use uuid::Uuid;

/// One change to the stored facts. The store carries each out as it says, in the order
/// of the plan.
#[derive(Clone, Debug, PartialEq)]
pub enum Write {
    /// A new party, with its strong identifier (if any) in its strong columns.
    CreateParty {
        id: Uuid,
        created_at: Instant,
        strong: Option<IdentKey>,
    },
    /// Party `from` merges into `into`: each `(from, into)` pair of `joins` joins a case
    /// of `from` into a case of `into` (its contacts move, its id resolves to the other);
    /// the rest of its cases, its contacts and its identifiers move to `into`, and its id
    /// (and every id that resolved to it) resolves to `into` from now on.
    MergeParty {
        from: Uuid,
        into: Uuid,
        joins: Vec<(Uuid, Uuid)>,
    },
    /// An identifier the party does not own yet.
    Attach { party: Uuid, key: IdentKey },
    /// The party's strong identifier (it had none).
    SetStrong { party: Uuid, key: IdentKey },
    /// A new case.
    CreateCase {
        id: Uuid,
        party: Uuid,
        topic: Option<Code>,
        reference: Option<String>,
        created_at: Instant,
    },
    /// A new contact (not completed).
    InsertContact {
        contact: Box<ContactFacts>,
        case_reference: Option<String>,
        created_at: Instant,
    },
    /// A contact completes (and, for a case chosen at completion, gets its case). Saved
    /// only if it has not completed meanwhile.
    CompleteContact {
        contact_id: Uuid,
        case_id: Option<Uuid>,
        case_chosen_at_completion: bool,
        completion: Box<Completion>,
    },
    /// A satisfaction answer.
    InsertFeedback {
        contact_id: Uuid,
        answer: Feedback,
        created_at: Instant,
    },
    /// Erasure and retention: these parties' identifiers go.
    DeleteIdentifiers { parties: Vec<Uuid> },
    /// Erasure: these parties lose their strong columns and are marked erased.
    MarkErased { parties: Vec<Uuid>, at: Instant },
    /// Erasure: the references of these parties' cases go.
    ClearCaseReferences { parties: Vec<Uuid> },
    /// Erasure: the stories of these parties' contacts are replaced by `marker`, so
    /// that a story existed stays known.
    ReplaceStories {
        parties: Vec<Uuid>,
        marker: &'static str,
    },
    /// Erasure: the case references given with these parties' contacts go.
    ClearContactCaseReferences { parties: Vec<Uuid> },
    /// Erasure: the organisations these parties' contacts were referred to go (the
    /// kind of target stays, so referral figures do not change).
    ClearOrganisationTargets { parties: Vec<Uuid> },
    /// Erasure: the comments of these contacts' satisfaction answers go.
    ClearFeedbackComments { contacts: Vec<Uuid> },
    /// Erasure: the answers kept for idempotency keys that concern these parties are
    /// emptied; the keys stay, marked erased at `at`.
    EmptyIdempotentAnswers { parties: Vec<Uuid>, at: Instant },
    /// Retention: the satisfaction answers of these contacts go.
    DeleteFeedback { contacts: Vec<Uuid> },
    /// Retention: the idempotency records kept for these contacts or these parties go.
    DeleteIdempotency {
        contacts: Vec<Uuid>,
        parties: Vec<Uuid>,
    },
    /// Retention: the per-unit figure tallies of these units (cases, contacts on no
    /// case) go; what they added to the per-day sums stays.
    DeleteFigureUnits { units: Vec<Uuid> },
    /// Retention: these contacts go (their satisfaction answers went before).
    DeleteContacts { contacts: Vec<Uuid> },
    /// Retention: these cases go (their contacts, and the cases merged into them, went
    /// before).
    DeleteCases { cases: Vec<Uuid> },
    /// Retention: these parties go (their identifiers, cases and contacts, and the
    /// parties merged into them, went before).
    DeleteParties { parties: Vec<Uuid> },
    /// The processing log: one record per data subject of this processing, in the same
    /// transaction as the processing (Logboek Dataverwerkingen). Always the plan's last
    /// write, so it is written only if every other write was.
    LogProcessing(Processing),
}

/// A unit of the figures a write changes (`crate::rollup`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Touched {
    /// This case (also one that merged away: its contributions go).
    Case(Uuid),
    /// This contact as a unit of its own: on no case, or no longer (its contributions
    /// as a contact on no case go).
    Caseless(Uuid),
    /// The unit this contact belongs to now, whichever it is (its case, or itself).
    Contact(Uuid),
}

/// The units of the figures that `writes` change, each once. Erasure changes none: the
/// counts stay (a story becomes the erased marker, and a story it stays; the kind of a
/// referral target stays). Retention changes none either: a deleted unit's
/// contributions stay in the per-day sums ("figures already derived stay"), and its own
/// tallies go with it ([`Write::DeleteFigureUnits`]), so no refresh can subtract them.
pub fn touched_units(writes: &[Write]) -> Vec<Touched> {
    let mut out = Vec::new();
    for w in writes {
        match w {
            Write::MergeParty { joins, .. } => {
                for (from, into) in joins {
                    out.push(Touched::Case(*from));
                    out.push(Touched::Case(*into));
                }
            }
            Write::InsertContact { contact, .. } => out.push(match contact.case_id {
                Some(case) => Touched::Case(case),
                None => Touched::Caseless(contact.id),
            }),
            Write::CompleteContact {
                contact_id,
                case_id,
                ..
            } => {
                // A contact whose case was chosen now leaves its unit for the case's.
                out.push(Touched::Caseless(*contact_id));
                out.extend(case_id.map(Touched::Case));
            }
            Write::InsertFeedback { contact_id, .. } => out.push(Touched::Contact(*contact_id)),
            Write::CreateParty { .. }
            | Write::Attach { .. }
            | Write::SetStrong { .. }
            | Write::CreateCase { .. }
            | Write::DeleteIdentifiers { .. }
            | Write::MarkErased { .. }
            | Write::ClearCaseReferences { .. }
            | Write::ReplaceStories { .. }
            | Write::ClearContactCaseReferences { .. }
            | Write::ClearOrganisationTargets { .. }
            | Write::ClearFeedbackComments { .. }
            | Write::EmptyIdempotentAnswers { .. }
            | Write::DeleteFeedback { .. }
            | Write::DeleteIdempotency { .. }
            | Write::DeleteFigureUnits { .. }
            | Write::DeleteContacts { .. }
            | Write::DeleteCases { .. }
            | Write::DeleteParties { .. }
            | Write::LogProcessing(_) => {}
        }
    }
    out.sort();
    out.dedup();
    out
}

/// A unit of the figures that a plan's writes change ([`touched_units`]), as the plan
/// leaves it: the facts the store's refresh would read back after saving the writes,
/// taken from the plan instead (it has just decided on them).
#[derive(Clone, Debug, PartialEq)]
pub enum UnitAfter {
    /// A case with all its contacts.
    Case(CaseFacts),
    /// A contact on no case.
    Contact(ContactFacts),
    /// This id is no unit any more: a contact that was on no case and is now on one.
    NoUnit(Uuid),
}

impl UnitAfter {
    /// The unit's id (a case id or a contact id).
    pub fn id(&self) -> Uuid {
        match self {
            UnitAfter::Case(k) => k.id,
            UnitAfter::Contact(c) => c.id,
            UnitAfter::NoUnit(id) => *id,
        }
    }
}

/// Every unit `writes` change ([`touched_units`]) as the plan leaves them, from the
/// plan's own facts after its writes: `cases`, each with all its contacts, and
/// `contacts`, the contacts it wrote. `None` when the plan does not hold one of them
/// whole (a merge moves cases and contacts the plan need not hold; a satisfaction
/// answer of a contact on a case holds no case): the store then reads them.
pub fn units_after(
    writes: &[Write],
    cases: &[CaseFacts],
    contacts: &[&ContactFacts],
) -> Option<Vec<UnitAfter>> {
    if writes.iter().any(|w| matches!(w, Write::MergeParty { .. })) {
        return None;
    }
    let case = |id: Uuid| {
        cases
            .iter()
            .find(|k| k.id == id)
            .cloned()
            .map(UnitAfter::Case)
    };
    let contact = |id: Uuid| contacts.iter().copied().find(|c| c.id == id);
    touched_units(writes)
        .into_iter()
        .map(|t| match t {
            Touched::Case(id) => case(id),
            Touched::Caseless(id) => contact(id).map(|c| match c.case_id {
                None => UnitAfter::Contact(c.clone()),
                Some(_) => UnitAfter::NoUnit(id),
            }),
            Touched::Contact(id) => match contact(id)?.case_id {
                None => contact(id).cloned().map(UnitAfter::Contact),
                Some(k) => case(k),
            },
        })
        .collect()
}

#[cfg(test)]
mod touched_tests {
    use super::*;

    #[test]
    fn writes_name_the_units_they_change() {
        let id = |n| Uuid::from_u128(n);
        let writes = [
            Write::MergeParty {
                from: id(1),
                into: id(2),
                joins: vec![(id(10), id(20))],
            },
            Write::CompleteContact {
                contact_id: id(5),
                case_id: Some(id(20)),
                case_chosen_at_completion: true,
                completion: Box::new(Completion {
                    ended_at: chrono::DateTime::UNIX_EPOCH,
                    answered_at: None,
                    outcome: crate::contact::Outcome::Abandoned,
                    story: None,
                    department: None,
                    topic: None,
                    referred_to: None,
                    due_at: None,
                    story_repeated: false,
                }),
            },
            Write::MarkErased {
                parties: vec![id(1)],
                at: chrono::DateTime::UNIX_EPOCH,
            },
        ];
        assert_eq!(
            touched_units(&writes),
            vec![
                Touched::Case(id(10)),
                Touched::Case(id(20)),
                Touched::Caseless(id(5)),
            ]
        );
        assert_eq!(
            units_after(&writes, &[], &[]),
            None,
            "a merge moves what the plan need not hold: the store reads it"
        );
    }

    #[test]
    fn a_satisfaction_answer_knows_its_unit_only_on_no_case() {
        use crate::case::tests::{case, contact};
        let answer = Feedback {
            score: 4,
            effort: 2,
            story_repeated: false,
            comment: None,
        };
        let writes = [Write::InsertFeedback {
            contact_id: Uuid::from_u128(1),
            answer: answer.clone(),
            created_at: chrono::DateTime::UNIX_EPOCH,
        }];
        let mut alone = contact(1, 0);
        alone.case_id = None;
        alone.feedback = Some(answer);
        assert_eq!(
            units_after(&writes, &[], &[&alone]),
            Some(vec![UnitAfter::Contact(alone.clone())])
        );
        let on_case = contact(1, 0);
        assert_eq!(units_after(&writes, &[], &[&on_case]), None);
        let k = case(500, "paspoort", 0, vec![on_case.clone()]);
        assert_eq!(
            units_after(&writes, std::slice::from_ref(&k), &[&on_case]),
            Some(vec![UnitAfter::Case(k)])
        );
    }
}
