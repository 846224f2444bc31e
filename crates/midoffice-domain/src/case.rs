//! Cases: their status over time, choosing the case of a contact, and joining cases when
//! parties merge (DOMAIN.md "Finding the case").

use crate::command::MAX_CLOCK_SKEW_SECS;
use crate::contact::{ContactFacts, Outcome};
use crate::settings::TenantSettings;
use crate::{Code, DomainError, Instant};
use chrono::TimeDelta;
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

impl CaseFacts {
    /// The contacts that started before `t`, leaving out `exclude` (the contact being
    /// judged): what a contact starting at `t` can know of.
    pub fn earlier(&self, t: Instant, exclude: Option<Uuid>) -> Vec<&ContactFacts> {
        self.contacts
            .iter()
            .filter(|c| c.started_at < t && Some(c.id) != exclude)
            // A contact whose case was chosen at its completion was not on it before.
            .filter(|c| c.case_at(t).is_some())
            .collect()
    }
}

/// The status of a case at a moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CaseStatus {
    Open,
    Resolved { at: Instant },
}

/// The status given by `contacts` as known at `t`: a case is OPEN until a contact on it
/// completes RESOLVED (resolved at that contact's end); a later contact that does not
/// end ABANDONED makes it OPEN again from its start. Completions count from their end.
pub fn status_of<'a>(
    contacts: impl IntoIterator<Item = &'a ContactFacts>,
    t: Instant,
) -> CaseStatus {
    // (time, resolved?) events; at the same instant an opening wins over a resolution.
    let mut last: Option<(Instant, bool)> = None;
    for c in contacts {
        let Some(end) = c.end_known_at(t) else {
            continue;
        };
        let event = match end.outcome {
            Outcome::Resolved => (end.ended_at, true),
            Outcome::Abandoned => continue,
            _ => (c.started_at, false),
        };
        let later = match last {
            None => true,
            Some((at, resolved)) => event.0 > at || (event.0 == at && resolved && !event.1),
        };
        if later {
            last = Some(event);
        }
    }
    match last {
        Some((at, true)) => CaseStatus::Resolved { at },
        _ => CaseStatus::Open,
    }
}

/// The status of a case as known at `t`.
pub fn status_at(case: &CaseFacts, t: Instant) -> CaseStatus {
    status_of(&case.contacts, t)
}

/// Whether a status is active at `t`: open, or resolved less than the repeat window before.
pub fn status_is_active(status: CaseStatus, t: Instant, settings: &TenantSettings) -> bool {
    match status {
        CaseStatus::Open => true,
        CaseStatus::Resolved { at } => t - at < settings.repeat_window(),
    }
}

/// Whether a case is active at `t`: open, or resolved less than the repeat window before.
pub fn is_active_at(case: &CaseFacts, t: Instant, settings: &TenantSettings) -> bool {
    status_is_active(status_at(case, t), t, settings)
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
    New {
        topic: Option<Code>,
        reference: Option<String>,
    },
    /// Not yet: no topic, case or known reference (chosen at completion).
    Later,
}

/// Chooses the case of a contact of a known party that starts at `at`, among the
/// party's cases, when the choice is made at `decided_at` (the start, or the completion
/// for a contact that learns its topic then). `case_id` must belong to the party (else
/// NOT_FOUND on `case_id`).
pub fn choose(
    request: &CaseRequest,
    party_cases: &[CaseFacts],
    at: Instant,
    decided_at: Instant,
    settings: &TenantSettings,
) -> Result<CaseChoice, DomainError> {
    if let Some(id) = request.case_id {
        return party_cases
            .iter()
            .find(|c| c.id == id)
            .map(|c| CaseChoice::Existing(c.id))
            .ok_or_else(|| {
                DomainError::NotFound("start.case_id: no such case for this party".into())
            });
    }
    if let Some(reference) = &request.case_reference {
        if let Some(case) = party_cases
            .iter()
            .filter(|c| c.reference.as_deref() == Some(reference.as_str()))
            .min_by_key(|c| (c.created_at, c.id))
        {
            return Ok(CaseChoice::Existing(case.id));
        }
        return Ok(match &request.topic {
            Some(topic) => CaseChoice::New {
                topic: Some(topic.clone()),
                reference: Some(reference.clone()),
            },
            None => CaseChoice::Later,
        });
    }
    let Some(topic) = &request.topic else {
        return Ok(CaseChoice::Later);
    };
    // Of the cases with this topic that are open or resolved within the repeat window
    // (as of this contact's start), the one whose latest contact started last. A case
    // counts when it existed by the time the choice is made: a contact registered after
    // the fact is judged as of its own start, and a case opened later does not exist for
    // it. Another channel acting at the same moment may have stored its contact just
    // before or after: contacts within the clock tolerance count as the same moment.
    let horizon = decided_at.max(at) + TimeDelta::seconds(MAX_CLOCK_SKEW_SECS);
    let chosen = party_cases
        .iter()
        .filter(|c| c.topic.as_ref() == Some(topic))
        .filter_map(|c| {
            let latest = c
                .contacts
                .iter()
                .map(|x| x.started_at)
                .filter(|s| *s <= horizon)
                .max()?;
            status_is_active(status_at(c, at), at, settings).then_some((latest, c.created_at, c.id))
        })
        .max();
    Ok(match chosen {
        Some((_, _, id)) => CaseChoice::Existing(id),
        None => CaseChoice::New {
            topic: Some(topic.clone()),
            reference: None,
        },
    })
}

/// When parties merge: each OPEN case (as known at `at`, the moment of the merge) of a
/// merged-in party joins the surviving party's oldest OPEN case with the same topic, if
/// it has one; cases with a reference never merge. Returns `(from, into)` pairs.
pub fn merge_plan(
    survivor_cases: &[CaseFacts],
    merged_cases: &[CaseFacts],
    at: Instant,
) -> Vec<(Uuid, Uuid)> {
    let open_unreferenced = |c: &&CaseFacts| {
        c.reference.is_none() && c.topic.is_some() && status_at(c, at) == CaseStatus::Open
    };
    merged_cases
        .iter()
        .filter(open_unreferenced)
        .filter_map(|m| {
            survivor_cases
                .iter()
                .filter(open_unreferenced)
                .filter(|s| s.topic == m.topic)
                .min_by_key(|s| (s.created_at, s.id))
                .map(|s| (m.id, s.id))
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::contact::{Channel, Direction, End};
    use chrono::{TimeDelta, TimeZone, Utc};

    /// 2026-03-02 00:00 UTC plus `minutes`.
    pub fn t(minutes: i64) -> Instant {
        Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap() + TimeDelta::minutes(minutes)
    }

    pub fn contact(n: u128, start: i64) -> ContactFacts {
        ContactFacts {
            id: Uuid::from_u128(n),
            party_id: Some(Uuid::from_u128(1000)),
            case_id: Some(Uuid::from_u128(500)),
            channel: Channel::Phone,
            direction: Direction::Inbound,
            started_at: t(start),
            topic: Some(Code::parse("paspoort").unwrap()),
            department: None,
            case_chosen_at_end: false,
            recorded: false,
            context_seen: true,
            ambiguous: false,
            end: None,
            feedback: None,
        }
    }

    pub fn ended(mut c: ContactFacts, end: i64, outcome: Outcome) -> ContactFacts {
        c.end = Some(End {
            ended_at: t(end),
            answered_at: (outcome != Outcome::Abandoned).then_some(c.started_at),
            outcome,
            story: None,
            department: None,
            topic: None,
            referred_to: None,
            due_at: None,
            story_repeated: false,
        });
        c
    }

    pub fn case(n: u128, topic: &str, created: i64, contacts: Vec<ContactFacts>) -> CaseFacts {
        CaseFacts {
            id: Uuid::from_u128(n),
            party_id: Uuid::from_u128(1000),
            topic: Some(Code::parse(topic).unwrap()),
            reference: None,
            created_at: t(created),
            contacts,
        }
    }

    fn req(topic: &str) -> CaseRequest {
        CaseRequest {
            case_id: None,
            case_reference: None,
            topic: Some(Code::parse(topic).unwrap()),
        }
    }

    const DAY: i64 = 24 * 60;

    #[test]
    fn a_case_is_open_until_resolved_and_reopened_by_a_later_contact() {
        let c = case(
            1,
            "paspoort",
            0,
            vec![ended(contact(1, 0), 5, Outcome::Resolved)],
        );
        assert_eq!(status_at(&c, t(4)), CaseStatus::Open);
        assert_eq!(status_at(&c, t(5)), CaseStatus::Resolved { at: t(5) });
        let mut c2 = c.clone();
        c2.contacts
            .push(ended(contact(2, 60), 70, Outcome::Referred));
        // The referral is known from its end, and then reopens from its start.
        assert_eq!(status_at(&c2, t(65)), CaseStatus::Resolved { at: t(5) });
        assert_eq!(status_at(&c2, t(70)), CaseStatus::Open);
        let mut c3 = c.clone();
        c3.contacts
            .push(ended(contact(3, 60), 61, Outcome::Abandoned));
        assert_eq!(status_at(&c3, t(100)), CaseStatus::Resolved { at: t(5) });
    }

    #[test]
    fn active_means_open_or_resolved_strictly_less_than_the_window_ago() {
        let s = TenantSettings::default();
        let c = case(
            1,
            "paspoort",
            0,
            vec![ended(contact(1, 0), 5, Outcome::Resolved)],
        );
        assert!(is_active_at(&c, t(5 + 7 * DAY - 1), &s));
        assert!(!is_active_at(&c, t(5 + 7 * DAY), &s));
        assert!(is_active_at(
            &case(2, "x", 0, vec![contact(2, 0)]),
            t(100 * DAY),
            &s
        ));
    }

    #[test]
    fn choose_by_case_id_must_belong_to_the_party() {
        let s = TenantSettings::default();
        let cases = vec![case(1, "paspoort", 0, vec![contact(1, 0)])];
        let mut r = req("paspoort");
        r.case_id = Some(Uuid::from_u128(1));
        assert_eq!(
            choose(&r, &cases, t(10), t(10), &s),
            Ok(CaseChoice::Existing(Uuid::from_u128(1)))
        );
        r.case_id = Some(Uuid::from_u128(9));
        assert!(matches!(
            choose(&r, &cases, t(10), t(10), &s),
            Err(DomainError::NotFound(_))
        ));
    }

    #[test]
    fn choose_by_reference_finds_or_makes_that_case() {
        let s = TenantSettings::default();
        let mut referenced = case(
            1,
            "paspoort",
            0,
            vec![ended(contact(1, 0), 5, Outcome::Resolved)],
        );
        referenced.reference = Some("Z-1".into());
        let cases = vec![referenced];
        let mut r = req("paspoort");
        r.case_reference = Some("Z-1".into());
        // Even long after it was resolved.
        assert_eq!(
            choose(&r, &cases, t(60 * DAY), t(60 * DAY), &s),
            Ok(CaseChoice::Existing(Uuid::from_u128(1)))
        );
        r.case_reference = Some("Z-2".into());
        assert_eq!(
            choose(&r, &cases, t(10), t(10), &s),
            Ok(CaseChoice::New {
                topic: Some(Code::parse("paspoort").unwrap()),
                reference: Some("Z-2".into())
            })
        );
        r.topic = None;
        assert_eq!(choose(&r, &cases, t(10), t(10), &s), Ok(CaseChoice::Later));
    }

    #[test]
    fn choose_by_topic_takes_the_active_case_with_the_latest_contact() {
        let s = TenantSettings::default();
        let cases = vec![
            case(1, "paspoort", 0, vec![contact(1, 0)]),
            case(2, "paspoort", 1, vec![contact(2, 30)]),
            case(3, "rijbewijs", 2, vec![contact(3, 40)]),
        ];
        assert_eq!(
            choose(&req("paspoort"), &cases, t(50), t(50), &s),
            Ok(CaseChoice::Existing(Uuid::from_u128(2)))
        );
        assert_eq!(
            choose(&req("rijbewijs"), &cases, t(50), t(50), &s),
            Ok(CaseChoice::Existing(Uuid::from_u128(3)))
        );
        assert_eq!(
            choose(&req("wmo"), &cases, t(50), t(50), &s),
            Ok(CaseChoice::New {
                topic: Some(Code::parse("wmo").unwrap()),
                reference: None
            })
        );
        let no_topic = CaseRequest {
            case_id: None,
            case_reference: None,
            topic: None,
        };
        assert_eq!(
            choose(&no_topic, &cases, t(50), t(50), &s),
            Ok(CaseChoice::Later)
        );
    }

    #[test]
    fn choose_by_topic_skips_cases_resolved_a_window_ago_or_not_yet_existing() {
        let s = TenantSettings::default();
        let cases = vec![case(
            1,
            "huurtoeslag",
            0,
            vec![ended(contact(1, 0), 5, Outcome::Resolved)],
        )];
        assert_eq!(
            choose(&req("huurtoeslag"), &cases, t(3 * DAY), t(3 * DAY), &s),
            Ok(CaseChoice::Existing(Uuid::from_u128(1)))
        );
        assert!(matches!(
            choose(
                &req("huurtoeslag"),
                &cases,
                t(5 + 7 * DAY),
                t(5 + 7 * DAY),
                &s
            ),
            Ok(CaseChoice::New { .. })
        ));
        // A contact registered after the fact, well before the case existed: judged as of
        // its own start, when that case did not exist.
        let later = vec![case(1, "huurtoeslag", 0, vec![contact(1, 100)])];
        assert!(matches!(
            choose(&req("huurtoeslag"), &later, t(50), t(50), &s),
            Ok(CaseChoice::New { .. })
        ));
        // Another channel at (nearly) the same moment, whichever was stored first.
        assert_eq!(
            choose(&req("huurtoeslag"), &later, t(99), t(99), &s),
            Ok(CaseChoice::Existing(Uuid::from_u128(1)))
        );
        // A topic learned at completion joins a case opened during the contact.
        assert_eq!(
            choose(&req("huurtoeslag"), &later, t(50), t(120), &s),
            Ok(CaseChoice::Existing(Uuid::from_u128(1)))
        );
    }

    #[test]
    fn merging_joins_open_cases_with_the_same_topic_only() {
        let survivor = vec![
            case(1, "afval", 5, vec![contact(1, 5)]),
            case(2, "afval", 2, vec![contact(2, 2)]),
            case(
                3,
                "paspoort",
                0,
                vec![ended(contact(3, 0), 1, Outcome::Resolved)],
            ),
        ];
        let mut referenced = case(12, "afval", 0, vec![contact(12, 0)]);
        referenced.reference = Some("Z".into());
        let merged = vec![
            case(10, "afval", 0, vec![contact(10, 0)]),
            case(11, "paspoort", 0, vec![contact(11, 0)]),
            referenced,
            case(
                13,
                "afval",
                0,
                vec![ended(contact(13, 0), 1, Outcome::Resolved)],
            ),
        ];
        assert_eq!(
            merge_plan(&survivor, &merged, t(10)),
            vec![(Uuid::from_u128(10), Uuid::from_u128(2))]
        );
    }
}
