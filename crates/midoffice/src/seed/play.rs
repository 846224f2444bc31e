//! Playing planned contacts through the domain's plans, in time order, as a server
//! would: each start, completion, record and satisfaction answer is decided by
//! `midoffice_domain::plan` with facts read from the citizen's own batch of rows, and
//! the plan's writes go into that batch.

use super::rng::Rng;
use super::shape::Planned;
use midoffice_domain::command::{CompletionCommand, StartCommand};
use midoffice_domain::plan::completion::{RecordFacts, plan_completion, plan_record};
use midoffice_domain::plan::feedback::plan_feedback;
use midoffice_domain::plan::start::{FreshIds, Needs, plan_start};
use midoffice_domain::settings::TenantSettings;
use midoffice_domain::{DomainError, Instant, TenantId};
use midoffice_store::StoreError;
use midoffice_store::bulk::Batch;
use std::collections::BTreeMap;
use uuid::Uuid;

/// What was refused along the way (a planned contact the rules did not accept), by
/// reason: a seed that the rules refuse is a bug of the seed.
#[derive(Debug, Default)]
pub struct Refusals {
    pub by_reason: BTreeMap<String, u64>,
}

impl Refusals {
    fn add(&mut self, what: &str, e: &DomainError) {
        let reason = format!("{what}: {e}");
        *self.by_reason.entry(reason).or_default() += 1;
    }

    pub fn total(&self) -> u64 {
        self.by_reason.values().sum()
    }
}

/// One event of a history.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Step {
    Start,
    Complete,
    Record,
    Feedback,
}

/// The player of one tenant's histories.
pub struct Player<'a> {
    pub tenant: &'a TenantId,
    pub settings: &'a TenantSettings,
}

/// A UUIDv7 at `t` with random bits from the seed's generator (deterministic).
fn id_at(rng: &mut Rng, t: Instant) -> Uuid {
    let ms = u64::try_from(t.timestamp_millis()).unwrap_or(0);
    uuid::Builder::from_unix_timestamp_millis(ms, &rng.bytes10()).into_uuid()
}

impl Player<'_> {
    /// Plays `history` (one citizen's contacts, or one anonymous contact) and returns
    /// the batch of rows it made.
    pub fn play(
        &self,
        rng: &mut Rng,
        history: &[Planned],
        refusals: &mut Refusals,
    ) -> Result<Batch, StoreError> {
        let mut batch = Batch::new(self.tenant);
        let mut events: Vec<(Instant, Step, usize)> = Vec::with_capacity(history.len() * 2);
        for (i, p) in history.iter().enumerate() {
            match p.recorded {
                Some((at, _)) => events.push((at, Step::Record, i)),
                None => {
                    events.push((p.start, Step::Start, i));
                    events.push((p.end, Step::Complete, i));
                }
            }
            if let Some((at, _)) = &p.feedback {
                events.push((*at, Step::Feedback, i));
            }
        }
        events.sort();
        let mut contact_of: Vec<Option<Uuid>> = vec![None; history.len()];
        let mut case_of: Vec<Option<Uuid>> = vec![None; history.len()];
        for (at, step, i) in events {
            let p = &history[i];
            match step {
                Step::Start => {
                    let start = self.start_command(p, &case_of);
                    let fresh = FreshIds {
                        party: id_at(rng, at),
                        case: id_at(rng, at),
                        contact: id_at(rng, at),
                    };
                    let facts = batch.start_facts(
                        &start.identifiers,
                        start.case_id,
                        &Needs::of_start(&start),
                        self.settings.clone(),
                        fresh,
                        at,
                    )?;
                    match plan_start(&facts, &start, false, true) {
                        Ok(plan) => {
                            batch.apply(&plan.writes)?;
                            contact_of[i] = Some(fresh.contact);
                            case_of[i] = plan.contact.contact.case_id;
                        }
                        Err(e) => refusals.add("start", &e),
                    }
                }
                Step::Complete => {
                    let Some(contact) = contact_of[i] else {
                        continue;
                    };
                    let facts = batch.completion_facts(
                        contact,
                        self.settings.clone(),
                        id_at(rng, at),
                        at,
                        at,
                    )?;
                    match plan_completion(&facts, Ok(completion_command(p))) {
                        Ok(plan) => {
                            batch.apply(&plan.writes)?;
                            case_of[i] = plan.contact.contact.case_id;
                        }
                        Err(e) => {
                            refusals.add("completion", &e);
                            contact_of[i] = None;
                        }
                    }
                }
                Step::Record => {
                    let start = self.start_command(p, &case_of);
                    let context_seen = p.recorded.is_some_and(|(_, seen)| seen);
                    let fresh = FreshIds {
                        party: id_at(rng, at),
                        case: id_at(rng, at),
                        contact: id_at(rng, p.start),
                    };
                    let facts = RecordFacts {
                        start: batch.start_facts(
                            &start.identifiers,
                            start.case_id,
                            &Needs::of_start(&start),
                            self.settings.clone(),
                            fresh,
                            at,
                        )?,
                        fresh_case: id_at(rng, at),
                        now: at,
                    };
                    match plan_record(&facts, &start, completion_command(p), context_seen) {
                        Ok(plan) => {
                            batch.apply(&plan.writes)?;
                            contact_of[i] = Some(fresh.contact);
                            case_of[i] = plan.contact.contact.case_id;
                        }
                        Err(e) => refusals.add("record", &e),
                    }
                }
                Step::Feedback => {
                    let (Some(contact), Some((_, answer))) = (contact_of[i], &p.feedback) else {
                        continue;
                    };
                    let facts = batch.feedback_facts(contact, at)?;
                    match plan_feedback(&facts, answer) {
                        Ok(plan) => batch.apply(&plan.writes)?,
                        Err(e) => refusals.add("feedback", &e),
                    }
                }
            }
        }
        Ok(batch)
    }

    /// The start a channel sends: from the case when it is started from one that is
    /// known by then (an outbound callback), else with the citizen's identifiers.
    fn start_command(&self, p: &Planned, case_of: &[Option<Uuid>]) -> StartCommand {
        let case_id = p.case_of.and_then(|i| case_of.get(i).copied().flatten());
        StartCommand {
            channel: p.channel,
            direction: p.direction,
            started_at: p.start,
            identifiers: if case_id.is_some() {
                Vec::new()
            } else {
                p.identifiers.clone()
            },
            topic: p.topic_at_start.clone(),
            case_id,
            case_reference: p.case_reference.clone(),
            department: p.department_at_start.clone(),
        }
    }
}

/// The completion a channel sends.
fn completion_command(p: &Planned) -> CompletionCommand {
    CompletionCommand {
        ended_at: p.end,
        answered_at: p.answered,
        outcome: p.outcome,
        story: p.story.clone(),
        department: p.department.clone(),
        topic: p.topic_at_end.clone(),
        referred_to: p.referred_to.clone(),
        due_at: None,
        story_repeated: p.story_repeated,
    }
}
