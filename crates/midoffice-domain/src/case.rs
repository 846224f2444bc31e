//! Cases: their status over time, choosing the case of a contact, and joining cases when
//! parties merge (DOMAIN.md "Finding the case").

use crate::contact::{ContactFacts, Outcome};
use crate::settings::TenantSettings;
use crate::{Code, DomainError, Instant};
use uuid::Uuid;

/// A case with all its contacts (of today's party, after merges).
#[derive(Clone, Debug, PartialEq)]
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

/// What a case's status needs to know of a contact on it: when it started, how and
/// when it ended, and from when it is on the case. [`ContactFacts`] is one; a
/// [`ContactStatus`] is only this, read by the store for the cases a write does not
/// need in full (see `plan::start::Needs`).
pub trait OnCase {
    fn started_at(&self) -> Instant;
    /// Its end and outcome, if it ended (known from its end on).
    fn end(&self) -> Option<(Instant, Outcome)>;
    /// Its case was chosen only at its completion (so it is on it from its end).
    fn chosen_at_completion(&self) -> bool;

    /// Its end and outcome, if known at `t`.
    fn end_known_at(&self, t: Instant) -> Option<(Instant, Outcome)> {
        self.end().filter(|(ended_at, _)| *ended_at <= t)
    }

    /// Whether it is on its case at `t`.
    fn on_case_at(&self, t: Instant) -> bool {
        !self.chosen_at_completion() || self.end_known_at(t).is_some()
    }
}

impl OnCase for ContactFacts {
    fn started_at(&self) -> Instant {
        self.started_at
    }
    fn end(&self) -> Option<(Instant, Outcome)> {
        self.completion.as_ref().map(|e| (e.ended_at, e.outcome))
    }
    fn chosen_at_completion(&self) -> bool {
        self.case_chosen_at_completion
    }
    fn on_case_at(&self, t: Instant) -> bool {
        self.case_at(t).is_some()
    }
}

/// A contact on a case as its status sees it (see [`OnCase`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ContactStatus {
    pub started_at: Instant,
    pub end: Option<(Instant, Outcome)>,
    pub case_chosen_at_completion: bool,
}

impl OnCase for ContactStatus {
    fn started_at(&self) -> Instant {
        self.started_at
    }
    fn end(&self) -> Option<(Instant, Outcome)> {
        self.end
    }
    fn chosen_at_completion(&self) -> bool {
        self.case_chosen_at_completion
    }
}

impl From<&ContactFacts> for ContactStatus {
    fn from(c: &ContactFacts) -> Self {
        ContactStatus {
            started_at: c.started_at,
            end: c.end(),
            case_chosen_at_completion: c.case_chosen_at_completion,
        }
    }
}

/// The status of a case at a moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CaseStatus {
    Open,
    Resolved { at: Instant },
}

/// The status given by `contacts` as known at `t`: a case is OPEN until a contact on it
/// completes RESOLVED (resolved at that contact's end); a later contact that does not
/// end ABANDONED makes it OPEN again from its start. Judged with what is known at `t`:
/// a completion counts from its end, and a contact that started before `t` and is still
/// in progress then counts as not ABANDONED (it is not known to end so), once it is on
/// the case (a contact whose case is chosen at completion is not on it before that). A
/// contact known by `t` to have ended ABANDONED does not count.
pub fn status_of<'a, C: OnCase + 'a>(
    contacts: impl IntoIterator<Item = &'a C>,
    t: Instant,
) -> CaseStatus {
    // (time, resolved?) events; at the same instant an opening wins over a resolution.
    let mut last: Option<(Instant, bool)> = None;
    for c in contacts {
        let event = match c.end_known_at(t) {
            Some((ended_at, outcome)) => match outcome {
                Outcome::Resolved => (ended_at, true),
                Outcome::Abandoned => continue,
                _ => (c.started_at(), false),
            },
            None if c.started_at() < t && c.on_case_at(t) => (c.started_at(), false),
            None => continue,
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

/// When a contact came onto its case: its start, or its completion for a contact whose
/// case was chosen then.
fn joined_at(contact: &ContactFacts) -> Option<Instant> {
    if contact.case_chosen_at_completion {
        contact.completion.as_ref().map(|e| e.ended_at)
    } else {
        Some(contact.started_at)
    }
}

/// When a case was opened, as its contacts tell: the first moment a contact came onto
/// it. `None` for a case without contacts (left after retention), which no choice takes.
fn opened_at(case: &CaseFacts) -> Option<Instant> {
    case.contacts.iter().filter_map(joined_at).min()
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
/// NOT_FOUND on `case_id`). A case opened before `at` is judged as of `at`; one opened
/// from `at` up to `decided_at` is a candidate too; one opened later does not exist yet
/// for this contact.
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
            .ok_or(DomainError::NotFound(crate::Missing::Case));
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
    // Of the cases with this topic, those opened before this contact started count when
    // they were open or resolved within the repeat window as of that start; those another
    // contact opened since then, up to the moment of choosing (the completion, for a
    // topic learned then), count too. Of these, the one whose latest contact started
    // last, looking at the contacts on it by the moment of choosing.
    let chosen = party_cases
        .iter()
        .filter(|c| c.topic.as_ref() == Some(topic))
        .filter_map(|c| {
            let opened = opened_at(c)?;
            let candidate = if opened < at {
                status_is_active(status_at(c, at), at, settings)
            } else {
                opened <= decided_at
            };
            if !candidate {
                return None;
            }
            let latest = c
                .contacts
                .iter()
                .filter(|x| joined_at(x).is_some_and(|j| j <= decided_at))
                .map(|x| x.started_at)
                .max()?;
            Some((latest, c.created_at, c.id))
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

/// When parties merge: each OPEN case (as known at `at`: the start of the contact that
/// merges, or the time of a look-up that predicts the merge) of a merged-in party joins the surviving party's oldest OPEN case with the same topic, if
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
    use crate::contact::{Channel, Completion, Direction};
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
            case_chosen_at_completion: false,
            recorded: false,
            context_seen: true,
            ambiguous: false,
            completion: None,
            feedback: None,
        }
    }

    pub fn ended(mut c: ContactFacts, end: i64, outcome: Outcome) -> ContactFacts {
        c.completion = Some(Completion {
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
        // Not yet started: not known at all.
        assert_eq!(status_at(&c2, t(60)), CaseStatus::Resolved { at: t(5) });
        // In progress: not known to end ABANDONED, so it reopens from its start.
        assert_eq!(status_at(&c2, t(65)), CaseStatus::Open);
        assert_eq!(status_at(&c2, t(70)), CaseStatus::Open);
        let mut c3 = c.clone();
        c3.contacts
            .push(ended(contact(3, 60), 61, Outcome::Abandoned));
        // Open while in progress; once known to have ended ABANDONED, it never counted.
        assert_eq!(
            status_at(&c3, t(60) + TimeDelta::seconds(30)),
            CaseStatus::Open
        );
        assert_eq!(status_at(&c3, t(61)), CaseStatus::Resolved { at: t(5) });
        assert_eq!(status_at(&c3, t(100)), CaseStatus::Resolved { at: t(5) });
    }

    #[test]
    fn a_contact_in_progress_reopens_from_its_start_as_known_at_the_instant() {
        // Resolved on day 0; an e-mail on day 5 stays unanswered until day 12.
        let resolved = ended(contact(1, 0), 5, Outcome::Resolved);
        let mut mail = ended(contact(2, 5 * DAY), 12 * DAY, Outcome::Resolved);
        mail.channel = crate::contact::Channel::Email;
        let c = case(1, "paspoort", 0, vec![resolved.clone(), mail.clone()]);
        // On day 9 the e-mail is in progress: OPEN, so active past the window.
        assert_eq!(status_at(&c, t(9 * DAY)), CaseStatus::Open);
        assert!(is_active_at(&c, t(9 * DAY), &TenantSettings::default()));
        // Once answered it is resolved at its end.
        assert_eq!(
            status_at(&c, t(12 * DAY)),
            CaseStatus::Resolved { at: t(12 * DAY) }
        );
        // A contact in progress that started before a later resolution does not reopen
        // the case after it.
        let early = contact(3, 1);
        let resolving = ended(contact(4, 2), 10, Outcome::Resolved);
        let overlap = case(2, "paspoort", 0, vec![early, resolving]);
        assert_eq!(status_at(&overlap, t(5)), CaseStatus::Open);
        assert_eq!(
            status_at(&overlap, t(20)),
            CaseStatus::Resolved { at: t(10) }
        );
        // A contact whose case is chosen at its completion is not on the case before.
        let mut later = ended(contact(5, 60), 70, Outcome::Referred);
        later.case_chosen_at_completion = true;
        let chosen_late = case(3, "paspoort", 0, vec![resolved, later]);
        assert_eq!(
            status_at(&chosen_late, t(65)),
            CaseStatus::Resolved { at: t(5) }
        );
        assert_eq!(status_at(&chosen_late, t(70)), CaseStatus::Open);
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
        // Judged as of its start, even a minute before the other case was opened: that
        // case did not exist yet (no clock tolerance: the text judges as of the start).
        assert!(matches!(
            choose(&req("huurtoeslag"), &later, t(99), t(99), &s),
            Ok(CaseChoice::New { .. })
        ));
        // A case opened at the very instant this contact starts is a candidate.
        assert_eq!(
            choose(&req("huurtoeslag"), &later, t(100), t(100), &s),
            Ok(CaseChoice::Existing(Uuid::from_u128(1)))
        );
        // A topic learned at completion joins a case opened during the contact.
        assert_eq!(
            choose(&req("huurtoeslag"), &later, t(50), t(120), &s),
            Ok(CaseChoice::Existing(Uuid::from_u128(1)))
        );
    }

    #[test]
    fn choose_by_topic_counts_a_contact_in_progress() {
        let s = TenantSettings::default();
        // Resolved on day 0; an e-mail about it on day 5 is still unanswered on day 9.
        let cases = vec![case(
            1,
            "paspoort",
            0,
            vec![
                ended(contact(1, 0), 5, Outcome::Resolved),
                contact(2, 5 * DAY),
            ],
        )];
        assert_eq!(
            choose(&req("paspoort"), &cases, t(9 * DAY), t(9 * DAY), &s),
            Ok(CaseChoice::Existing(Uuid::from_u128(1)))
        );
        // Had the e-mail been known by then to have ended ABANDONED, it would not count.
        let abandoned = vec![case(
            1,
            "paspoort",
            0,
            vec![
                ended(contact(1, 0), 5, Outcome::Resolved),
                ended(contact(2, 5 * DAY), 5 * DAY + 1, Outcome::Abandoned),
            ],
        )];
        assert!(matches!(
            choose(&req("paspoort"), &abandoned, t(9 * DAY), t(9 * DAY), &s),
            Ok(CaseChoice::New { .. })
        ));
    }

    #[test]
    fn choose_at_completion_judges_older_cases_as_of_the_start() {
        let s = TenantSettings::default();
        // Resolved at minute 5: active until 5 + 7 days (exclusive).
        let cases = vec![case(
            1,
            "afval",
            0,
            vec![ended(contact(1, 0), 5, Outcome::Resolved)],
        )];
        let edge = 5 + 7 * DAY;
        // Started within the window, completed after it: still that case.
        assert_eq!(
            choose(&req("afval"), &cases, t(edge - 1), t(edge + 60), &s),
            Ok(CaseChoice::Existing(Uuid::from_u128(1)))
        );
        // Started at the window's end: a new case, whenever it completes.
        assert!(matches!(
            choose(&req("afval"), &cases, t(edge), t(edge + 1), &s),
            Ok(CaseChoice::New { .. })
        ));
        // A case reopened during the contact was not opened since its start: still new.
        let mut reopened = cases.clone();
        reopened[0]
            .contacts
            .push(ended(contact(2, edge + 10), edge + 20, Outcome::Referred));
        assert!(matches!(
            choose(&req("afval"), &reopened, t(edge), t(edge + 30), &s),
            Ok(CaseChoice::New { .. })
        ));
    }

    #[test]
    fn choose_at_completion_takes_a_case_opened_since_the_start_up_to_the_completion() {
        let s = TenantSettings::default();
        // Our contact starts at minute 100 without a topic and completes at minute 200.
        let opened_during = case(1, "wmo", 150, vec![contact(1, 150)]);
        assert_eq!(
            choose(&req("wmo"), &[opened_during], t(100), t(200), &s),
            Ok(CaseChoice::Existing(Uuid::from_u128(1)))
        );
        // Opened (and even resolved) during the contact: a candidate too.
        let resolved_during = case(
            1,
            "wmo",
            150,
            vec![ended(contact(1, 150), 160, Outcome::Resolved)],
        );
        assert_eq!(
            choose(&req("wmo"), &[resolved_during], t(100), t(200), &s),
            Ok(CaseChoice::Existing(Uuid::from_u128(1)))
        );
        // Opened after the completion: does not exist yet for this contact.
        let opened_after = case(1, "wmo", 250, vec![contact(1, 250)]);
        assert!(matches!(
            choose(&req("wmo"), &[opened_after], t(100), t(200), &s),
            Ok(CaseChoice::New { .. })
        ));
        // A case opened by a contact that learned its topic at completion counts from
        // that completion, not from that contact's start.
        let mut learned = ended(contact(1, 50), 220, Outcome::Referred);
        learned.case_chosen_at_completion = true;
        let learned_later = case(1, "wmo", 220, vec![learned.clone()]);
        assert!(matches!(
            choose(&req("wmo"), &[learned_later], t(100), t(200), &s),
            Ok(CaseChoice::New { .. })
        ));
        learned.completion.as_mut().unwrap().ended_at = t(180);
        let learned_during = case(1, "wmo", 180, vec![learned]);
        assert_eq!(
            choose(&req("wmo"), &[learned_during], t(100), t(200), &s),
            Ok(CaseChoice::Existing(Uuid::from_u128(1)))
        );
    }

    #[test]
    fn choose_at_completion_looks_at_contacts_started_by_the_completion() {
        let s = TenantSettings::default();
        // Two open cases; case 2's newest contact started after our completion (200), so
        // by then case 1's contact at 120 is the latest.
        let cases = vec![
            case(1, "wmo", 0, vec![contact(1, 10), contact(2, 120)]),
            case(2, "wmo", 1, vec![contact(3, 20), contact(4, 300)]),
        ];
        assert_eq!(
            choose(&req("wmo"), &cases, t(100), t(200), &s),
            Ok(CaseChoice::Existing(Uuid::from_u128(1)))
        );
        assert_eq!(
            choose(&req("wmo"), &cases, t(100), t(400), &s),
            Ok(CaseChoice::Existing(Uuid::from_u128(2)))
        );
        // At a start, only the contacts started by then count.
        assert_eq!(
            choose(&req("wmo"), &cases, t(100), t(100), &s),
            Ok(CaseChoice::Existing(Uuid::from_u128(2)))
        );
    }

    #[test]
    fn merging_judges_open_as_known_at_the_merge() {
        // The merged-in case was resolved at minute 50 by a contact that started at 30.
        let survivor = vec![case(1, "afval", 0, vec![contact(1, 0)])];
        let merged = vec![case(
            10,
            "afval",
            0,
            vec![ended(contact(10, 30), 50, Outcome::Resolved)],
        )];
        let joined = vec![(Uuid::from_u128(10), Uuid::from_u128(1))];
        // Merged at 40: the resolving contact was still in progress, so the case was OPEN.
        assert_eq!(merge_plan(&survivor, &merged, t(40)), joined);
        // Merged at 60: resolved, so it stays apart.
        assert_eq!(merge_plan(&survivor, &merged, t(60)), vec![]);
        // The survivor's case counts the same way: resolved by 60, reopened by a contact
        // in progress at 70.
        let mut survivor = vec![case(
            1,
            "afval",
            0,
            vec![ended(contact(1, 0), 5, Outcome::Resolved)],
        )];
        let open_merged = vec![case(10, "afval", 0, vec![contact(10, 30)])];
        assert_eq!(merge_plan(&survivor, &open_merged, t(60)), vec![]);
        survivor[0].contacts.push(contact(2, 65));
        assert_eq!(merge_plan(&survivor, &open_merged, t(70)), joined);
        // Until it is known to have ended ABANDONED.
        survivor[0].contacts[1] = ended(contact(2, 65), 66, Outcome::Abandoned);
        assert_eq!(merge_plan(&survivor, &open_merged, t(70)), vec![]);
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
