//! What a channel asks: start and end a contact; and the rules that check an end
//! against the contact it ends (DOMAIN.md "Starting, completing and recording").

use crate::contact::{Channel, Direction};
use crate::contact::{Completion, ContactFacts, Outcome, ReferralTarget, story};
use crate::identifier::IdentKey;
use crate::limits::{MAX_CLOCK_SKEW_SECS, MAX_REFERENCE_CHARS};
use crate::settings::{DEFAULT_HANDOFF_WORKING_DAYS, TenantSettings, Within};
use crate::{Code, DomainError, Instant, Violations};
use chrono::TimeDelta;
use uuid::Uuid;

/// A contact begins. Identifiers are valid and keyed already (at most one strong).
#[derive(Clone, Debug, PartialEq)]
pub struct StartCommand {
    pub channel: Channel,
    pub direction: Direction,
    pub started_at: Instant,
    pub identifiers: Vec<IdentKey>,
    pub topic: Option<Code>,
    pub case_id: Option<Uuid>,
    pub case_reference: Option<String>,
    pub department: Option<Code>,
}

/// A contact ends, as the channel reports it.
#[derive(Clone, Debug, PartialEq)]
pub struct CompletionCommand {
    pub ended_at: Instant,
    pub answered_at: Option<Instant>,
    pub outcome: Outcome,
    pub story: Option<String>,
    pub department: Option<Code>,
    pub topic: Option<Code>,
    pub referred_to: Option<ReferralTarget>,
    pub due_at: Option<Instant>,
    pub story_repeated: bool,
}

/// Refuses an event more than 5 minutes ahead of `now`, naming `field`.
pub fn check_not_future(t: Instant, now: Instant, field: &str, v: &mut Violations) {
    if t > now + TimeDelta::seconds(MAX_CLOCK_SKEW_SECS) {
        v.add(field, "lies more than 5 minutes in the future");
    }
}

/// A contact completes once: a second completion is FAILED_PRECONDITION (checked before
/// the fields of the end).
pub fn check_not_completed(contact: &ContactFacts) -> Result<(), DomainError> {
    if contact.completion.is_some() {
        Err(completed_already())
    } else {
        Ok(())
    }
}

/// The refusal of a second completion.
pub fn completed_already() -> DomainError {
    DomainError::FailedPrecondition(crate::Precondition::ContactCompleted)
}

/// Checks an end against the contact it ends. `case_topic` is the topic of the case
/// the contact is on, if any; `has_party` whether the contact has a known party.
/// Field names are relative to the end (`answered_at`, `referred_to`, ...).
pub fn validate_completion(
    contact: &ContactFacts,
    case_topic: Option<&Code>,
    has_party: bool,
    end: &CompletionCommand,
    now: Instant,
) -> Result<(), Violations> {
    let mut v = Violations::default();
    check_not_future(end.ended_at, now, "ended_at", &mut v);
    if end.ended_at < contact.started_at {
        v.add("ended_at", "lies before the contact started");
    }
    let abandoned = end.outcome == Outcome::Abandoned;
    if let Some(answered) = end.answered_at {
        if abandoned {
            v.add("answered_at", "an ABANDONED contact was never answered");
        } else if answered < contact.started_at || answered > end.ended_at {
            v.add(
                "answered_at",
                "must lie between the start and the end of the contact",
            );
        }
    } else if !abandoned && !contact.channel.answer_defaults_to_end() {
        v.add(
            "answered_at",
            format!(
                "is required for {} unless ABANDONED",
                contact.channel.as_str()
            ),
        );
    }
    if abandoned && story(end.story.as_deref()).is_some() {
        v.add("story", "an ABANDONED contact has no story");
    }
    if let (Some(given), Some(at_start)) = (&end.topic, &contact.topic)
        && given != at_start
    {
        v.add("topic", "differs from the topic given at start");
    }
    let has_topic = end.topic.is_some() || contact.topic.is_some() || case_topic.is_some();
    if !abandoned && !has_topic {
        v.add(
            "topic",
            format!("is required to complete {}", end.outcome.as_str()),
        );
    }
    match (&end.referred_to, end.outcome) {
        (None, Outcome::Referred) => v.add(
            "referred_to",
            "REFERRED needs one target: a department, organisation or channel",
        ),
        (Some(_), o) if o != Outcome::Referred => v.add(
            "referred_to",
            format!("a target is only for REFERRED, not {}", o.as_str()),
        ),
        (Some(ReferralTarget::Organisation(org)), _)
            if org.trim().is_empty() || org.chars().count() > MAX_REFERENCE_CHARS =>
        {
            v.add(
                "referred_to.organisation",
                format!("must be 1 to {MAX_REFERENCE_CHARS} characters"),
            );
        }
        _ => {}
    }
    if let Some(due) = end.due_at {
        if !end.outcome.is_commitment() {
            v.add(
                "due_at",
                format!(
                    "a due time is only for CALLBACK and HANDED_OFF, not {}",
                    end.outcome.as_str()
                ),
            );
        } else if due < end.ended_at {
            v.add("due_at", "lies before the promise was made");
        }
    }
    if end.outcome == Outcome::Callback && !has_party {
        v.add(
            "outcome",
            "a CALLBACK needs a known party to call back: give a strong identifier",
        );
    }
    if v.is_empty() { Ok(()) } else { Err(v) }
}

/// The end as stored: `answered_at` defaults to the end for e-mail and web (unless
/// ABANDONED); a commitment gets its due time (given, or the default counted from the
/// completion). An anonymous hand-off makes no commitment.
pub fn stored_completion(
    contact: &ContactFacts,
    has_party: bool,
    end: CompletionCommand,
    settings: &TenantSettings,
) -> Completion {
    let answered_at = match end.answered_at {
        Some(t) => Some(t),
        None if end.outcome != Outcome::Abandoned && contact.channel.answer_defaults_to_end() => {
            Some(end.ended_at)
        }
        None => None,
    };
    let due_at = match end.outcome {
        Outcome::Callback | Outcome::HandedOff if has_party => {
            Some(end.due_at.unwrap_or_else(|| {
                let within = if end.outcome == Outcome::Callback {
                    settings.callback_within()
                } else {
                    Within::WorkingDays(DEFAULT_HANDOFF_WORKING_DAYS)
                };
                within.deadline(&settings.calendar, end.ended_at)
            }))
        }
        _ => None,
    };
    Completion {
        ended_at: end.ended_at,
        answered_at,
        outcome: end.outcome,
        // Identifiers typed into the story are masked before it is stored.
        story: story(end.story.as_deref()).map(crate::mask::mask_identifiers),
        department: end.department,
        topic: end.topic,
        referred_to: end.referred_to,
        due_at,
        story_repeated: end.story_repeated,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::tests::{contact, t};
    use crate::contact::Channel;
    use crate::settings::{Measure, Norm};

    fn end(outcome: Outcome, at: i64) -> CompletionCommand {
        CompletionCommand {
            ended_at: t(at),
            answered_at: (outcome != Outcome::Abandoned).then(|| t(0)),
            outcome,
            story: None,
            department: None,
            topic: None,
            referred_to: None,
            due_at: None,
            story_repeated: false,
        }
    }

    fn fields(result: Result<(), Violations>) -> Vec<String> {
        result
            .err()
            .map(|v| v.0.into_iter().map(|f| f.field).collect())
            .unwrap_or_default()
    }

    fn check(c: &ContactFacts, e: &CompletionCommand) -> Vec<String> {
        fields(validate_completion(c, None, true, e, t(10_000)))
    }

    #[test]
    fn a_fitting_end_passes() {
        assert!(check(&contact(1, 0), &end(Outcome::Resolved, 5)).is_empty());
    }

    #[test]
    fn each_misfit_names_its_field() {
        let c = contact(1, 0);
        let mut e = end(Outcome::Referred, 5);
        assert_eq!(check(&c, &e), ["referred_to"]);
        e.outcome = Outcome::Resolved;
        e.referred_to = Some(ReferralTarget::Channel(Channel::Web));
        assert_eq!(check(&c, &e), ["referred_to"]);

        let mut e = end(Outcome::Abandoned, 5);
        e.story = Some("Er was geen gesprek.".into());
        e.answered_at = Some(t(1));
        assert_eq!(check(&c, &e), ["answered_at", "story"]);

        let mut e = end(Outcome::Resolved, 5);
        e.ended_at = t(-1);
        e.answered_at = Some(t(0));
        assert_eq!(check(&c, &e), ["ended_at", "answered_at"]);

        let mut e = end(Outcome::Resolved, 5);
        e.answered_at = Some(t(6));
        assert_eq!(check(&c, &e), ["answered_at"], "answered after the end");

        let mut e = end(Outcome::Resolved, 5);
        e.answered_at = None;
        assert_eq!(check(&c, &e), ["answered_at"], "required on the phone");
        let mut mail = contact(1, 0);
        mail.channel = Channel::Email;
        assert!(
            check(&mail, &e).is_empty(),
            "defaults to the end for e-mail"
        );

        let mut e = end(Outcome::Resolved, 5);
        e.due_at = Some(t(100));
        assert_eq!(check(&c, &e), ["due_at"]);
        let mut e = end(Outcome::Callback, 5);
        e.due_at = Some(t(4));
        assert_eq!(check(&c, &e), ["due_at"], "before the promise");

        let mut e = end(Outcome::Resolved, 5);
        e.topic = Some(Code::parse("rijbewijs").unwrap());
        assert_eq!(check(&c, &e), ["topic"], "differs from the start");

        let mut untopical = contact(1, 0);
        untopical.topic = None;
        assert_eq!(check(&untopical, &end(Outcome::Resolved, 5)), ["topic"]);
        assert!(check(&untopical, &end(Outcome::Abandoned, 5)).is_empty());
        let case_topic = Code::parse("paspoort").unwrap();
        assert!(
            fields(validate_completion(
                &untopical,
                Some(&case_topic),
                true,
                &end(Outcome::Resolved, 5),
                t(10_000)
            ))
            .is_empty()
        );

        assert_eq!(
            fields(validate_completion(
                &c,
                None,
                false,
                &end(Outcome::Callback, 5),
                t(10_000)
            )),
            ["outcome"],
            "a callback needs someone to call"
        );
        assert_eq!(
            fields(validate_completion(
                &c,
                None,
                true,
                &end(Outcome::Resolved, 5),
                t(-10)
            )),
            ["ended_at"],
            "more than 5 minutes ahead of the clock"
        );
    }

    #[test]
    fn stored_completion_fills_in_the_answer_and_due_times() {
        let s = TenantSettings::default();
        let mut mail = contact(1, 0);
        mail.channel = Channel::Email;
        let mut e = end(Outcome::Resolved, 30);
        e.answered_at = None;
        e.story = Some("  ".into());
        let f = stored_completion(&mail, true, e, &s);
        assert_eq!(f.answered_at, Some(t(30)));
        assert_eq!(f.story, None, "a blank story is no story");

        // t(0) is Monday 2 March 2026 01:00 in Amsterdam.
        let callback = stored_completion(&contact(1, 0), true, end(Outcome::Callback, 5), &s);
        assert_eq!(
            callback.due_at,
            Some(s.calendar.working_days_deadline(t(5), 1))
        );
        let handoff = stored_completion(&contact(1, 0), true, end(Outcome::HandedOff, 5), &s);
        assert_eq!(
            handoff.due_at,
            Some(s.calendar.working_days_deadline(t(5), 5))
        );
        let anonymous = stored_completion(&contact(1, 0), false, end(Outcome::HandedOff, 5), &s);
        assert_eq!(
            anonymous.due_at, None,
            "an anonymous hand-off makes no commitment"
        );

        let mut given = end(Outcome::Callback, 5);
        given.due_at = Some(t(90));
        assert_eq!(
            stored_completion(&contact(1, 0), true, given, &s).due_at,
            Some(t(90))
        );

        let hours = TenantSettings {
            norms: vec![Norm {
                id: Code::parse("terugbellen").unwrap(),
                title: "t".into(),
                measure: Measure::CommitmentOnTime {
                    within: Some(Within::Elapsed(4 * 3600)),
                },
                target_percent: 90,
                explanation: None,
                published: true,
            }],
            ..TenantSettings::default()
        };
        let callback = stored_completion(&contact(1, 0), true, end(Outcome::Callback, 5), &hours);
        assert_eq!(
            callback.due_at,
            Some(t(5 + 4 * 60)),
            "the norm's within, from the completion"
        );
    }

    #[test]
    fn a_contact_completes_once() {
        let mut c = contact(1, 0);
        assert_eq!(check_not_completed(&c), Ok(()));
        c.completion = Some(stored_completion(
            &c,
            true,
            end(Outcome::Resolved, 5),
            &TenantSettings::default(),
        ));
        assert!(matches!(
            check_not_completed(&c),
            Err(DomainError::FailedPrecondition(_))
        ));
    }
}
