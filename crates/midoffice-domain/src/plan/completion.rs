//! A contact completes (DOMAIN.md "Starting, completing and recording a contact"), and a
//! contact is recorded after the fact (a start and a completion in one plan).

use super::start::{self, History, StartFacts};
use super::{UnitAfter, Write, units_after};
use crate::case::{self, CaseChoice, CaseFacts, CaseRequest};
use crate::command::{self, CompletionCommand, StartCommand};
use crate::contact::ContactFacts;
use crate::settings::TenantSettings;
use crate::view::{self, ContactView};
use crate::{DomainError, Instant, Violations};
use uuid::Uuid;

/// A contact as stored, with what a completion needs besides its facts.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredContact {
    /// With its feedback.
    pub facts: ContactFacts,
    /// The case reference given at its start.
    pub case_reference: Option<String>,
}

/// What a completion needs to know, loaded in the write transaction.
#[derive(Clone, Debug, PartialEq)]
pub struct CompletionFacts {
    /// The contact asked for, or none: unknown.
    pub contact: Option<StoredContact>,
    /// Today's cases of the contact's party, each with all its contacts (none without
    /// a party): at least those a completion needs (`start::Needs::of_completion`).
    pub party_cases: Vec<CaseFacts>,
    pub settings: TenantSettings,
    /// An id for a case the completion may make (UUIDv7, from the store).
    pub fresh_case: Uuid,
    /// The server clock: an end more than 5 minutes ahead of it is refused.
    pub now: Instant,
    /// The store's clock: when new rows are made.
    pub stored_at: Instant,
}

/// What a completion does and answers.
#[derive(Clone, Debug, PartialEq)]
pub struct CompletionPlan {
    /// In order.
    pub writes: Vec<Write>,
    /// The completed contact on its case.
    pub contact: ContactView,
    /// The party the completion concerns (the data subject), if any.
    pub subject: Option<Uuid>,
    /// The units of the figures its writes change, as it leaves them
    /// ([`super::units_after`]; `None`: the store reads them).
    pub units: Option<Vec<UnitAfter>>,
}

/// The refusal of an unknown contact.
pub fn contact_not_found() -> DomainError {
    DomainError::NotFound(crate::Missing::Contact)
}

/// A contact completes, checked in this order: an unknown contact is NOT_FOUND; a
/// completed one FAILED_PRECONDITION; then the fields (`asked` carries the violations
/// found at the edge, if any, named as the request names them, else the command) and
/// how they fit the contact (INVALID_ARGUMENT, paths relative to the completion: the API
/// puts them under the request field that holds it). A contact of a party without a case
/// gets its case now, chosen as of its start with what was known by its completion.
pub fn plan_completion(
    facts: &CompletionFacts,
    asked: Result<CompletionCommand, Violations>,
) -> Result<CompletionPlan, DomainError> {
    completion(facts, asked, History::Needed).map(|c| c.plan)
}

/// A completion (see [`plan_completion`]), looking at `history`.
pub(crate) fn completion(
    facts: &CompletionFacts,
    asked: Result<CompletionCommand, Violations>,
    history: History,
) -> Result<Completed, DomainError> {
    let Some(stored) = &facts.contact else {
        return Err(contact_not_found());
    };
    let contact = &stored.facts;
    command::check_not_completed(contact)?;
    let asked = asked.map_err(DomainError::Invalid)?;
    let has_party = contact.party_id.is_some();
    let case_topic = contact
        .case_id
        .and_then(|id| facts.party_cases.iter().find(|k| k.id == id))
        .and_then(|k| k.topic.as_ref());
    command::validate_completion(contact, case_topic, has_party, &asked, facts.now)
        .map_err(DomainError::Invalid)?;

    let mut writes = Vec::new();
    let mut cases = match history {
        History::Needed => start::Needs::of_completion(contact, stored.case_reference.as_deref())
            .select(&facts.party_cases, &facts.settings),
        History::All => facts.party_cases.clone(),
    };
    let (case_id, chosen_at_completion) = match (contact.party_id, contact.case_id) {
        (Some(party), None) => {
            let request = CaseRequest {
                case_id: None,
                case_reference: stored.case_reference.clone(),
                topic: asked.topic.clone().or_else(|| contact.topic.clone()),
            };
            let chosen = match case::choose(
                &request,
                &cases,
                contact.started_at,
                asked.ended_at,
                &facts.settings,
            )? {
                CaseChoice::Existing(id) => Some(id),
                CaseChoice::New { topic, reference } => {
                    writes.push(Write::CreateCase {
                        id: facts.fresh_case,
                        party,
                        topic: topic.clone(),
                        reference: reference.clone(),
                        created_at: facts.stored_at,
                    });
                    cases.push(CaseFacts {
                        id: facts.fresh_case,
                        party_id: party,
                        topic,
                        reference,
                        created_at: facts.stored_at,
                        contacts: Vec::new(),
                    });
                    Some(facts.fresh_case)
                }
                CaseChoice::Later => None,
            };
            (chosen, chosen.is_some())
        }
        _ => (contact.case_id, contact.case_chosen_at_completion),
    };

    let completion = command::stored_completion(contact, has_party, asked, &facts.settings);
    writes.push(Write::CompleteContact {
        contact_id: contact.id,
        case_id,
        case_chosen_at_completion: chosen_at_completion,
        completion: Box::new(completion.clone()),
    });
    let done = ContactFacts {
        case_id,
        case_chosen_at_completion: chosen_at_completion,
        completion: Some(completion),
        ..contact.clone()
    };
    for k in &mut cases {
        k.contacts.retain(|c| c.id != done.id);
    }
    let case = match cases.iter_mut().find(|k| Some(k.id) == case_id) {
        Some(k) => {
            k.contacts.push(done.clone());
            k.contacts.sort_by_key(|a| (a.started_at, a.id));
            Some(&*k)
        }
        None => None,
    };
    let contact = view::contact_view(&done, case, &facts.settings);
    Ok(Completed {
        plan: CompletionPlan {
            units: units_after(&writes, &cases, &[&done]),
            writes,
            contact,
            subject: done.party_id,
        },
        cases,
        done,
    })
}

/// A completion with the contact and the party's cases as it leaves them.
pub(crate) struct Completed {
    pub plan: CompletionPlan,
    pub cases: Vec<CaseFacts>,
    pub done: ContactFacts,
}

/// What a recorded contact needs to know: a start's facts, and for its completion an
/// id for a case it may make and the server clock.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordFacts {
    pub start: StartFacts,
    pub fresh_case: Uuid,
    /// The server clock.
    pub now: Instant,
}

/// What a contact registered after the fact makes: the same as a start's plan (its
/// writes in order, the start's then the completion's; the completed contact; the context
/// as of its start; the data subject).
pub type RecordPlan = super::start::StartPlan;

/// A contact registered after the fact: its start, then its completion judged against
/// the contact as the start leaves it; a completion that does not fit refuses the whole.
pub fn plan_record(
    facts: &RecordFacts,
    start: &StartCommand,
    completion: CompletionCommand,
    context_seen: bool,
) -> Result<RecordPlan, DomainError> {
    record(facts, start, completion, context_seen, History::Needed)
}

/// A recorded contact (see [`plan_record`]), looking at `history`.
pub(crate) fn record(
    facts: &RecordFacts,
    start: &StartCommand,
    completion: CompletionCommand,
    context_seen: bool,
    history: History,
) -> Result<RecordPlan, DomainError> {
    let started = start::start(&facts.start, start, true, context_seen, history)?;
    let completing = CompletionFacts {
        contact: Some(StoredContact {
            facts: started.contact,
            case_reference: started.case_reference,
        }),
        party_cases: started.cases,
        settings: facts.start.settings.clone(),
        fresh_case: facts.fresh_case,
        now: facts.now,
        stored_at: facts.start.stored_at,
    };
    let completed = self::completion(&completing, Ok(completion), history)?;
    let mut writes = started.plan.writes;
    writes.extend(completed.plan.writes);
    // The units of both parts, as the completion leaves them.
    let units = units_after(&writes, &completed.cases, &[&completed.done]);
    Ok(RecordPlan {
        writes,
        contact: completed.plan.contact,
        context: started.plan.context,
        subject: completed.plan.subject,
        units,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Code;
    use crate::case::tests::{case, contact, ended, t};
    use crate::contact::Outcome;

    fn end(outcome: Outcome, at: i64) -> CompletionCommand {
        CompletionCommand {
            ended_at: t(at),
            answered_at: (outcome != Outcome::Abandoned).then(|| t(at)),
            outcome,
            story: Some("  ".into()),
            department: None,
            topic: None,
            referred_to: None,
            due_at: None,
            story_repeated: false,
        }
    }

    fn facts(c: Option<ContactFacts>, cases: Vec<CaseFacts>) -> CompletionFacts {
        CompletionFacts {
            contact: c.map(|facts| StoredContact {
                facts,
                case_reference: None,
            }),
            party_cases: cases,
            settings: TenantSettings::default(),
            fresh_case: Uuid::from_u128(9002),
            now: t(10_000),
            stored_at: t(10_000),
        }
    }

    #[test]
    fn unknown_then_completed_then_the_fields_in_that_order() {
        let edge = Violations::one("completion.outcome", "is required");
        assert!(matches!(
            plan_completion(&facts(None, vec![]), Err(edge.clone())),
            Err(DomainError::NotFound(_))
        ));
        let done = ended(contact(1, 0), 5, Outcome::Resolved);
        assert!(matches!(
            plan_completion(&facts(Some(done), vec![]), Err(edge.clone())),
            Err(DomainError::FailedPrecondition(_))
        ));
        assert_eq!(
            plan_completion(&facts(Some(contact(1, 0)), vec![]), Err(edge.clone())),
            Err(DomainError::Invalid(edge))
        );
        let mut untopical = contact(1, 0);
        untopical.topic = None;
        untopical.case_id = None;
        match plan_completion(
            &facts(Some(untopical), vec![]),
            Ok(end(Outcome::Resolved, 5)),
        ) {
            Err(DomainError::Invalid(v)) => assert_eq!(v.0[0].field, "topic"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_case_is_chosen_at_completion_and_the_answer_shows_it() {
        let mut late = contact(2, 60);
        late.case_id = None;
        late.topic = None;
        let cases = vec![case(
            500,
            "paspoort",
            0,
            vec![ended(contact(1, 0), 5, Outcome::Referred)],
        )];
        let mut e = end(Outcome::Resolved, 65);
        e.topic = Some(Code::parse("paspoort").unwrap());
        let plan = plan_completion(&facts(Some(late), cases), Ok(e)).unwrap();
        assert_eq!(plan.contact.contact.case_id, Some(Uuid::from_u128(500)));
        assert!(plan.contact.contact.case_chosen_at_completion);
        assert_eq!(
            plan.contact.contact.completion.as_ref().unwrap().story,
            None,
            "a blank story is no story"
        );
        assert!(!plan.contact.signals.is_empty(), "signals as of its start");
        assert_eq!(plan.writes.len(), 1);

        let mut fresh = contact(3, 60);
        fresh.case_id = None;
        let plan =
            plan_completion(&facts(Some(fresh), vec![]), Ok(end(Outcome::Resolved, 65))).unwrap();
        assert!(matches!(plan.writes[0], Write::CreateCase { .. }));
        assert_eq!(plan.contact.contact.case_id, Some(Uuid::from_u128(9002)));
    }

    #[test]
    fn the_units_a_completion_changes_are_as_it_leaves_them() {
        // Chosen at completion: the contact is no unit of its own any more, and the
        // case holds both contacts, the completed one completed.
        let mut late = contact(2, 60);
        late.case_id = None;
        let earlier = ended(contact(1, 0), 5, Outcome::Referred);
        let cases = vec![case(500, "paspoort", 0, vec![earlier.clone()])];
        let plan =
            plan_completion(&facts(Some(late), cases), Ok(end(Outcome::Resolved, 65))).unwrap();
        let units = plan.units.expect("the plan holds the units it changes");
        assert_eq!(units.len(), 2);
        assert_eq!(units[1], UnitAfter::NoUnit(Uuid::from_u128(2)));
        let UnitAfter::Case(k) = &units[0] else {
            panic!("{units:?}")
        };
        assert_eq!(k.id, Uuid::from_u128(500));
        assert_eq!(k.contacts.len(), 2);
        assert_eq!(k.contacts[0], earlier);
        assert_eq!(k.contacts[1].id, Uuid::from_u128(2));
        assert!(k.contacts[1].completion.is_some());

        // An anonymous contact stays a unit of its own, completed.
        let mut alone = contact(3, 60);
        alone.case_id = None;
        alone.party_id = None;
        let plan =
            plan_completion(&facts(Some(alone), vec![]), Ok(end(Outcome::Resolved, 65))).unwrap();
        match plan.units.as_deref() {
            Some([UnitAfter::Contact(c)]) => {
                assert_eq!(c.id, Uuid::from_u128(3));
                assert!(c.completion.is_some());
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_record_is_a_start_then_a_completion_and_a_misfit_refuses_both() {
        use super::super::start::{AskedCase, FreshIds};
        use crate::command::StartCommand;
        use crate::contact::{Channel, Direction};
        use crate::identifier::{IdentKey, IdentifierKind};
        let facts = RecordFacts {
            start: StartFacts {
                known: Default::default(),
                asked_case: AskedCase::NotAsked,
                cases: Default::default(),
                settings: TenantSettings::default(),
                fresh: FreshIds {
                    party: Uuid::from_u128(9001),
                    case: Uuid::from_u128(9002),
                    contact: Uuid::from_u128(9003),
                },
                stored_at: t(1000),
            },
            fresh_case: Uuid::from_u128(9004),
            now: t(1000),
        };
        let start = StartCommand {
            channel: Channel::Counter,
            direction: Direction::Inbound,
            started_at: t(30),
            identifiers: vec![IdentKey {
                kind: IdentifierKind::Email,
                hash: "e".into(),
                display: None,
            }],
            topic: Some(Code::parse("paspoort").unwrap()),
            case_id: None,
            case_reference: None,
            department: None,
        };
        let mut early = end(Outcome::Resolved, 10);
        early.answered_at = None;
        match plan_record(&facts, &start, early, false) {
            Err(DomainError::Invalid(v)) => {
                assert!(v.0.iter().any(|f| f.field == "ended_at"), "{v}");
            }
            other => panic!("{other:?}"),
        }
        let plan = plan_record(&facts, &start, end(Outcome::Resolved, 40), false).unwrap();
        assert!(matches!(
            plan.writes.last(),
            Some(Write::CompleteContact { .. })
        ));
        assert!(plan.contact.contact.recorded && !plan.contact.contact.context_seen);
        assert_eq!(plan.contact.contact.case_id, Some(Uuid::from_u128(9002)));
        assert!(plan.contact.contact.completion.is_some());
        // The context is as of the start: the case had nothing yet.
        assert!(
            plan.context
                .case
                .as_ref()
                .is_some_and(|k| k.stories.is_empty())
        );
        assert_eq!(plan.subject, Some(Uuid::from_u128(9001)));
    }
}
