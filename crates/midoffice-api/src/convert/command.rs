//! Requests to domain commands: a contact's start and completion, a satisfaction
//! answer, and a look-up. Only syntax is checked here, free text included (no control
//! characters, see `midoffice_domain::text`); how a completion fits its contact is
//! decided by `midoffice_domain::command::validate_completion` in the domain's
//! completion plan.
//!
//! Field paths are relative to the message converted (`channel`, `referred_to.channel`);
//! the service puts them under the request field that holds the message, once
//! ([`super::nested`]).

use super::{
    channel, collect, direction, identifier_keys, nested, optional_code, optional_instant,
    optional_uuid, outcome, required_instant, take,
};
use crate::pb;
use midoffice_domain::command::{CompletionCommand, StartCommand, check_not_future};
use midoffice_domain::contact::{Feedback, ReferralTarget, story};
use midoffice_domain::identifier::{IdentKey, Pseudonymiser};
use midoffice_domain::limits::{MAX_REFERENCE_CHARS, MAX_STORY_CHARS};
use midoffice_domain::text::{check_characters, check_text};
use midoffice_domain::{Code, Instant, Violations};

/// A contact's start as a command. `now` is the server clock: a start more than 5
/// minutes ahead of it is refused.
pub fn start_command(
    start: &pb::ContactStart,
    pseudonymiser: &Pseudonymiser,
    now: Instant,
) -> Result<StartCommand, Violations> {
    let mut v = Violations::default();
    let channel = take(channel(start.channel), "channel", &mut v);
    let direction = take(direction(start.direction), "direction", &mut v);
    let started_at = required_instant(start.started_at.as_ref(), "started_at", &mut v);
    if let Some(t) = started_at {
        check_not_future(t, now, "started_at", &mut v);
    }
    let identifiers = match start.identifiers.as_ref() {
        None => Vec::new(),
        Some(ids) => collect(
            &mut v,
            nested("identifiers", identifier_keys(ids, pseudonymiser)),
        )
        .unwrap_or_default(),
    };
    let topic = optional_code(&start.topic, "topic", &mut v);
    let department = optional_code(&start.department, "department", &mut v);
    let case_id = take(optional_uuid(&start.case_id), "case_id", &mut v);
    let case_reference = take(reference(&start.case_reference), "case_reference", &mut v);

    match (
        channel,
        direction,
        started_at,
        topic,
        department,
        case_id,
        case_reference,
    ) {
        (
            Some(channel),
            Some(direction),
            Some(started_at),
            Ok(topic),
            Ok(department),
            Some(case_id),
            Some(case_reference),
        ) if v.is_empty() => Ok(StartCommand {
            channel,
            direction,
            started_at,
            identifiers,
            topic,
            case_id,
            case_reference,
            department,
        }),
        _ => Err(v),
    }
}

/// A case reference: no control characters (not even in the spaces around it, which
/// go), blank is absent, at most 200 characters.
fn reference(raw: &str) -> Result<Option<String>, String> {
    check_characters(raw)?;
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        Ok(None)
    } else {
        check_text(trimmed, MAX_REFERENCE_CHARS).map(|()| Some(trimmed.to_owned()))
    }
}

/// A contact's completion as a command.
impl TryFrom<&pb::ContactCompletion> for CompletionCommand {
    type Error = Violations;

    fn try_from(end: &pb::ContactCompletion) -> Result<Self, Self::Error> {
        let mut v = Violations::default();
        let ended_at = required_instant(end.ended_at.as_ref(), "ended_at", &mut v);
        let answered_at = optional_instant(end.answered_at.as_ref(), "answered_at", &mut v);
        let due_at = optional_instant(end.due_at.as_ref(), "due_at", &mut v);
        let outcome = take(outcome(end.outcome), "outcome", &mut v);
        let department = optional_code(&end.department, "department", &mut v);
        let topic = optional_code(&end.topic, "topic", &mut v);
        let referred_to = referral_target(end.referred_to.as_ref(), &mut v);
        if let Err(why) = check_text(&end.story, MAX_STORY_CHARS) {
            v.add("story", why);
        }
        let story = story(Some(&end.story)).map(str::to_owned);

        match (
            ended_at,
            answered_at,
            due_at,
            outcome,
            department,
            topic,
            referred_to,
        ) {
            (
                Some(ended_at),
                Ok(answered_at),
                Ok(due_at),
                Some(outcome),
                Ok(department),
                Ok(topic),
                Ok(referred_to),
            ) if v.is_empty() => Ok(CompletionCommand {
                ended_at,
                answered_at,
                outcome,
                story,
                department,
                topic,
                referred_to,
                due_at,
                story_repeated: end.story_repeated,
            }),
            _ => Err(v),
        }
    }
}

/// The referral target: unset (or an empty oneof) is absent; a department must be a
/// code, a channel must be named. An organisation must be text without control
/// characters; its length is checked by the domain.
fn referral_target(
    target: Option<&pb::ReferralTarget>,
    v: &mut Violations,
) -> Result<Option<ReferralTarget>, ()> {
    use pb::referral_target::Target;
    match target.and_then(|t| t.target.as_ref()) {
        None => Ok(None),
        Some(Target::Department(raw)) => take(Code::parse(raw), "referred_to.department", v)
            .map(|c| Some(ReferralTarget::Department(c)))
            .ok_or(()),
        Some(Target::Organisation(raw)) => {
            take(check_characters(raw), "referred_to.organisation", v)
                .map(|()| Some(ReferralTarget::Organisation(raw.trim().to_owned())))
                .ok_or(())
        }
        Some(Target::Channel(raw)) => take(channel(*raw), "referred_to.channel", v)
            .map(|c| Some(ReferralTarget::Channel(c)))
            .ok_or(()),
    }
}

/// A satisfaction answer. Scores and the comment's length are passed through for the
/// store to check after the state checks; a value above 255 becomes 255, which it
/// refuses. A comment with control characters is refused here: it cannot be stored.
pub fn feedback(req: &pb::SubmitFeedbackRequest) -> Result<Feedback, Violations> {
    check_characters(&req.comment).map_err(|why| Violations::one("comment", why))?;
    let saturate = |x: u32| u8::try_from(x).unwrap_or(u8::MAX);
    Ok(Feedback {
        score: saturate(req.score),
        effort: saturate(req.effort),
        story_repeated: req.story_repeated,
        comment: (!req.comment.trim().is_empty()).then(|| req.comment.clone()),
    })
}

/// Identifiers that must lead to a party (a look-up, an erasure): at least one. An
/// unset message is no identifiers.
pub fn required_identifiers(
    ids: Option<&pb::Identifiers>,
    pseudonymiser: &Pseudonymiser,
) -> Result<Vec<IdentKey>, Violations> {
    let keys = match ids {
        None => Vec::new(),
        Some(ids) => identifier_keys(ids, pseudonymiser)?,
    };
    if keys.is_empty() {
        return Err(Violations::one(
            "",
            "give at least one of bsn, kvk, email or phone",
        ));
    }
    Ok(keys)
}

/// A look-up: identifiers (at least one) and `as_of` (default now).
pub fn lookup(
    req: &pb::GetContextRequest,
    pseudonymiser: &Pseudonymiser,
    now: Instant,
) -> Result<(Vec<IdentKey>, Instant), Violations> {
    let mut v = Violations::default();
    let keys = collect(
        &mut v,
        nested(
            "identifiers",
            required_identifiers(req.identifiers.as_ref(), pseudonymiser),
        ),
    );
    let as_of = optional_instant(req.as_of.as_ref(), "as_of", &mut v);
    // `as_of` is the moment the context is judged at, not an event: it may lie ahead.
    let as_of = match as_of {
        Ok(Some(t)) => t,
        _ => now,
    };
    match keys {
        Some(keys) if v.is_empty() => Ok((keys, as_of)),
        _ => Err(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeDelta, TimeZone, Utc};
    use midoffice_domain::contact::{Channel, Direction, Outcome};

    fn fields(v: &Violations) -> Vec<&str> {
        v.0.iter().map(|f| f.field.as_str()).collect()
    }

    fn now() -> Instant {
        Utc.with_ymd_and_hms(2025, 3, 10, 9, 0, 0).unwrap()
    }

    fn ts(t: Instant) -> Option<prost_types::Timestamp> {
        Some(super::super::timestamp(t))
    }

    fn pseudonymiser() -> Pseudonymiser {
        Pseudonymiser::new(b"0123456789abcdef0123456789abcdef")
    }

    /// As the services convert a start: under the request field `start`.
    fn convert_start(s: Option<&pb::ContactStart>) -> Result<StartCommand, Violations> {
        super::super::required("start", s, |s| start_command(s, &pseudonymiser(), now()))
    }

    /// As the services convert a completion: under the request field `completion`.
    fn completion(c: Option<&pb::ContactCompletion>) -> Result<CompletionCommand, Violations> {
        super::super::required("completion", c, CompletionCommand::try_from)
    }

    fn valid_start() -> pb::ContactStart {
        pb::ContactStart {
            channel: pb::Channel::Phone as i32,
            direction: 0,
            started_at: ts(now() - TimeDelta::minutes(3)),
            identifiers: Some(pb::Identifiers {
                bsn: "111222333".into(),
                ..Default::default()
            }),
            topic: "parkeervergunning".into(),
            case_id: String::new(),
            case_reference: "  Z-2025-1 ".into(),
            department: "kcc".into(),
        }
    }

    #[test]
    fn a_valid_start_converts() {
        let cmd = convert_start(Some(&valid_start())).unwrap();
        assert_eq!(cmd.channel, Channel::Phone);
        assert_eq!(cmd.direction, Direction::Inbound);
        assert_eq!(cmd.identifiers.len(), 1);
        assert_eq!(
            cmd.topic.as_ref().map(Code::as_str),
            Some("parkeervergunning")
        );
        assert_eq!(cmd.case_reference.as_deref(), Some("Z-2025-1"));
        assert_eq!(cmd.case_id, None);
    }

    #[test]
    fn every_invalid_start_field_is_named() {
        let start = pb::ContactStart {
            channel: 0,
            direction: 9,
            started_at: ts(now() + TimeDelta::minutes(6)),
            identifiers: Some(pb::Identifiers {
                bsn: "111222334".into(),
                kvk: "1234".into(),
                ..Default::default()
            }),
            topic: "Paspoort Aanvragen".into(),
            case_id: "not-a-uuid".into(),
            case_reference: "x".repeat(201),
            department: "KCC".into(),
        };
        let v = convert_start(Some(&start)).unwrap_err();
        assert_eq!(
            fields(&v),
            [
                "start.channel",
                "start.direction",
                "start.started_at",
                "start.identifiers.bsn",
                "start.identifiers.kvk",
                "start.identifiers.kvk",
                "start.topic",
                "start.department",
                "start.case_id",
                "start.case_reference",
            ]
        );
        assert!(!v.to_string().contains("111222334"));
    }

    #[test]
    fn a_missing_start_or_start_time_is_named() {
        let v = convert_start(None).unwrap_err();
        assert_eq!(fields(&v), ["start"]);
        let start = pb::ContactStart {
            started_at: None,
            ..valid_start()
        };
        let v = convert_start(Some(&start)).unwrap_err();
        assert_eq!(fields(&v), ["start.started_at"]);
    }

    fn valid_completion() -> pb::ContactCompletion {
        pb::ContactCompletion {
            ended_at: ts(now()),
            answered_at: ts(now() - TimeDelta::minutes(2)),
            outcome: pb::Outcome::Referred as i32,
            story: "wil een vergunning".into(),
            department: "kcc".into(),
            topic: String::new(),
            referred_to: Some(pb::ReferralTarget {
                target: Some(pb::referral_target::Target::Department(
                    "vergunningen".into(),
                )),
            }),
            due_at: None,
            story_repeated: true,
        }
    }

    #[test]
    fn a_valid_completion_converts() {
        let end = completion(Some(&valid_completion())).unwrap();
        assert_eq!(end.outcome, Outcome::Referred);
        assert_eq!(
            end.referred_to,
            Some(ReferralTarget::Department(
                Code::parse("vergunningen").unwrap()
            ))
        );
        assert!(end.story_repeated);
        assert_eq!(end.topic, None);
    }

    #[test]
    fn every_invalid_completion_field_is_named() {
        let end = pb::ContactCompletion {
            ended_at: None,
            answered_at: Some(prost_types::Timestamp {
                seconds: 1,
                nanos: -5,
            }),
            outcome: 0,
            department: "Burgerzaken!".into(),
            topic: "-x".into(),
            referred_to: Some(pb::ReferralTarget {
                target: Some(pb::referral_target::Target::Channel(0)),
            }),
            due_at: Some(prost_types::Timestamp {
                seconds: -10,
                nanos: 0,
            }),
            story: "x".repeat(MAX_STORY_CHARS + 1),
            ..valid_completion()
        };
        let v = completion(Some(&end)).unwrap_err();
        assert_eq!(
            fields(&v),
            [
                "completion.ended_at",
                "completion.answered_at",
                "completion.due_at",
                "completion.outcome",
                "completion.department",
                "completion.topic",
                "completion.referred_to.channel",
                "completion.story",
            ]
        );
        assert_eq!(fields(&completion(None).unwrap_err()), ["completion"]);
    }

    #[test]
    fn control_characters_in_free_text_are_named_without_echoing_it() {
        let organisation = |name: &str| {
            Some(pb::ReferralTarget {
                target: Some(pb::referral_target::Target::Organisation(name.into())),
            })
        };
        let end = pb::ContactCompletion {
            story: "bsn 111222333\0".into(),
            referred_to: organisation("UWV\u{1b}"),
            ..valid_completion()
        };
        let v = completion(Some(&end)).unwrap_err();
        assert_eq!(
            fields(&v),
            ["completion.referred_to.organisation", "completion.story"]
        );
        assert!(!v.to_string().contains("111222333"));

        // Line breaks and tabs are text; a blank story is none.
        let end = pb::ContactCompletion {
            story: "Regel 1\r\nRegel 2\tklaar".into(),
            referred_to: organisation(" UWV "),
            ..valid_completion()
        };
        let cmd = completion(Some(&end)).unwrap();
        assert_eq!(cmd.story.as_deref(), Some("Regel 1\r\nRegel 2\tklaar"));
        assert_eq!(
            cmd.referred_to,
            Some(ReferralTarget::Organisation("UWV".into()))
        );
        let end = pb::ContactCompletion {
            story: " \n ".into(),
            ..valid_completion()
        };
        assert_eq!(completion(Some(&end)).unwrap().story, None);

        for reference in ["Z-2025\0-1", "\u{85}Z-2025-1", "Z-2025-1\u{7f}"] {
            let start = pb::ContactStart {
                case_reference: reference.into(),
                ..valid_start()
            };
            let v = convert_start(Some(&start)).unwrap_err();
            assert_eq!(fields(&v), ["start.case_reference"], "{reference:?}");
        }
    }

    #[test]
    fn feedback_scores_saturate() {
        let req = pb::SubmitFeedbackRequest {
            score: 300,
            effort: 7,
            comment: " ".into(),
            ..Default::default()
        };
        let f = feedback(&req).unwrap();
        assert_eq!((f.score, f.effort, f.comment), (255, 7, None));
        let req = pb::SubmitFeedbackRequest {
            comment: "Prima geholpen.\r\nDank!\t".into(),
            ..Default::default()
        };
        assert!(feedback(&req).unwrap().comment.is_some());
    }

    #[test]
    fn control_characters_in_a_comment_are_refused_without_echoing_it() {
        let req = pb::SubmitFeedbackRequest {
            comment: "mijn bsn is 111222333\0".into(),
            ..Default::default()
        };
        let v = feedback(&req).unwrap_err();
        assert_eq!(fields(&v), ["comment"]);
        assert!(!v.to_string().contains("111222333"));
    }

    #[test]
    fn a_lookup_needs_an_identifier_and_may_look_ahead() {
        let p = pseudonymiser();
        let req = pb::GetContextRequest {
            identifiers: None,
            as_of: ts(now() + TimeDelta::hours(1)),
        };
        let v = lookup(&req, &p, now()).unwrap_err();
        assert_eq!(fields(&v), ["identifiers"]);
        let req = pb::GetContextRequest {
            identifiers: Some(pb::Identifiers {
                email: "a@b.nl".into(),
                ..Default::default()
            }),
            as_of: None,
        };
        let (keys, as_of) = lookup(&req, &p, now()).unwrap();
        assert_eq!((keys.len(), as_of), (1, now()));
    }
}
