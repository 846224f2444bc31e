//! What the API shows: the context (klantbeeld) and a contact, computed from facts.

use crate::case::{CaseFacts, CaseStatus, status_is_active, status_of};
use crate::contact::{Channel, ContactFacts, Outcome};
use crate::identifier::IdentifierKind;
use crate::party::PartySummary;
use crate::settings::TenantSettings;
use crate::signals::{self, Probe, Signal};
use crate::{Code, Instant};
use std::collections::BTreeSet;
use uuid::Uuid;

/// What the party is to the agent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PartyStatus {
    New,
    Known,
    Anonymous,
    Ambiguous,
    NotFound,
}

/// The party as shown: no identifier in clear text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartyView {
    pub status: PartyStatus,
    pub id: Option<Uuid>,
    pub bsn_masked: Option<String>,
    pub has_kvk: bool,
}

impl PartyView {
    /// A known party as shown: its masked BSN, or that it has a KvK number; never a hash.
    pub fn of(party: &PartySummary, status: PartyStatus) -> Self {
        let strong = party.strong.as_ref();
        let kind = strong.map(|k| k.kind);
        PartyView {
            status,
            id: Some(party.id),
            bsn_masked: strong
                .filter(|k| k.kind == IdentifierKind::Bsn)
                .and_then(|k| k.display.clone()),
            has_kvk: kind == Some(IdentifierKind::Kvk),
        }
    }

    /// A view without a party (anonymous, ambiguous, not found).
    pub fn without(status: PartyStatus) -> Self {
        PartyView {
            status,
            id: None,
            bsn_masked: None,
            has_kvk: false,
        }
    }
}

/// An earlier story on a case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoryView {
    pub contact_id: Uuid,
    pub channel: Channel,
    pub started_at: Instant,
    pub department: Option<Code>,
    pub outcome: Outcome,
    pub text: String,
}

/// An open commitment on a case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitmentView {
    pub contact_id: Uuid,
    pub kind: Outcome,
    pub promised_at: Instant,
    pub due_at: Instant,
    pub overdue: bool,
}

/// A case as the agent sees it at a moment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseView {
    pub id: Uuid,
    pub topic: Option<Code>,
    pub reference: Option<String>,
    pub status: CaseStatus,
    pub signals: BTreeSet<Signal>,
    pub referral_count: u32,
    /// Newest first.
    pub stories: Vec<StoryView>,
    pub open_commitments: Vec<CommitmentView>,
}

/// The context (klantbeeld).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContextView {
    pub party: PartyView,
    pub active_cases: Vec<CaseView>,
    pub case: Option<CaseView>,
    pub as_of: Instant,
}

/// A case as seen by a contact starting as `probe` says.
pub fn case_view(case: &CaseFacts, probe: &Probe, settings: &TenantSettings) -> CaseView {
    let t = probe.at;
    let earlier = case.earlier(t, probe.contact_id);
    let mut stories: Vec<StoryView> = earlier
        .iter()
        .filter_map(|c| {
            let text = c.story_at(t)?;
            Some(StoryView {
                contact_id: c.id,
                channel: c.channel,
                started_at: c.started_at,
                department: c.department_at(t).cloned(),
                outcome: c.outcome_at(t)?,
                text: text.to_owned(),
            })
        })
        .collect();
    stories.sort_by_key(|s| std::cmp::Reverse((s.started_at, s.contact_id)));
    let mut open_commitments: Vec<CommitmentView> = signals::commitments(case, t)
        .into_iter()
        .filter(|c| c.fulfilment.is_none() && Some(c.contact_id) != probe.contact_id)
        .map(|c| CommitmentView {
            contact_id: c.contact_id,
            kind: c.kind,
            promised_at: c.promised_at,
            due_at: c.due_at,
            overdue: c.due_at < t,
        })
        .collect();
    open_commitments.sort_by_key(|c| (c.due_at, c.contact_id));
    CaseView {
        id: case.id,
        topic: case.topic.clone(),
        reference: case.reference.clone(),
        status: status_of(earlier.iter().copied(), t),
        signals: signals::signals(case, probe, settings),
        referral_count: signals::referral_count(case, probe),
        stories,
        open_commitments,
    }
}

/// The context for a contact starting as `probe` says (or a look-up at `probe.at`):
/// the party's active cases from before it (each as seen by the probe), and the chosen
/// case, if any. `party_cases` are all of today's cases of the party.
pub fn context(
    party: PartyView,
    party_cases: &[CaseFacts],
    probe: &Probe,
    chosen_case: Option<Uuid>,
    settings: &TenantSettings,
) -> ContextView {
    let t = probe.at;
    let mut active: Vec<(&CaseFacts, Instant)> = party_cases
        .iter()
        .filter_map(|c| {
            let earlier = c.earlier(t, probe.contact_id);
            let latest = earlier.iter().map(|x| x.started_at).max()?;
            status_is_active(status_of(earlier.iter().copied(), t), t, settings)
                .then_some((c, latest))
        })
        .collect();
    // Most recent activity first.
    active.sort_by_key(|(case, latest)| std::cmp::Reverse((*latest, case.id)));
    ContextView {
        party,
        active_cases: active
            .into_iter()
            .map(|(c, _)| case_view(c, probe, settings))
            .collect(),
        case: chosen_case
            .and_then(|id| party_cases.iter().find(|c| c.id == id))
            .map(|c| case_view(c, probe, settings)),
        as_of: t,
    }
}

/// A contact with its signals (as of its start, on the case it belongs to now).
#[derive(Clone, Debug, PartialEq)]
pub struct ContactView {
    pub contact: ContactFacts,
    pub signals: BTreeSet<Signal>,
}

/// The view of a stored contact; `case` is the case it belongs to now, if any.
pub fn contact_view(
    contact: &ContactFacts,
    case: Option<&CaseFacts>,
    settings: &TenantSettings,
) -> ContactView {
    let signals = match (contact.case_id, case) {
        (Some(id), Some(case)) if case.id == id => {
            signals::signals(case, &Probe::of(contact), settings)
        }
        _ => BTreeSet::new(),
    };
    ContactView {
        contact: contact.clone(),
        signals,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::tests::{case, contact, ended, t};
    use crate::contact::Direction;

    const DAY: i64 = 24 * 60;

    fn told(mut c: ContactFacts, story: &str) -> ContactFacts {
        c.completion.as_mut().unwrap().story = Some(story.into());
        c
    }

    fn known() -> PartyView {
        PartyView {
            status: PartyStatus::Known,
            id: Some(Uuid::from_u128(1000)),
            bsn_masked: None,
            has_kvk: false,
        }
    }

    #[test]
    fn context_shows_active_cases_from_before_the_contact_and_the_chosen_case() {
        let s = TenantSettings::default();
        let mut promise = told(
            ended(contact(3, DAY), DAY + 5, Outcome::Callback),
            "belt terug",
        );
        promise.completion.as_mut().unwrap().due_at = Some(t(DAY + 60));
        let new_contact = contact(9, 2 * DAY);
        let cases = vec![
            // Resolved 2 days before: active.
            case(
                1,
                "a",
                0,
                vec![
                    told(ended(contact(1, 0), 5, Outcome::Resolved), "een"),
                    told(ended(contact(2, 10), 15, Outcome::Resolved), "twee"),
                ],
            ),
            // Open with an overdue callback.
            case(2, "b", 0, vec![promise]),
            // Resolved long ago: not active.
            case(
                3,
                "c",
                0,
                vec![ended(
                    contact(4, -10 * DAY),
                    -10 * DAY + 5,
                    Outcome::Resolved,
                )],
            ),
            // Opened by this contact: not "from before".
            case(4, "d", 0, vec![new_contact.clone()]),
        ];
        let probe = Probe::of(&new_contact);
        let ctx = context(known(), &cases, &probe, Some(Uuid::from_u128(4)), &s);
        let ids: Vec<u128> = ctx.active_cases.iter().map(|c| c.id.as_u128()).collect();
        assert_eq!(ids, vec![2, 1], "most recent activity first");
        let a = &ctx.active_cases[1];
        assert_eq!(a.status, CaseStatus::Resolved { at: t(15) });
        let texts: Vec<&str> = a.stories.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(texts, vec!["twee", "een"], "newest first");
        let b = &ctx.active_cases[0];
        assert_eq!(b.open_commitments.len(), 1);
        assert!(b.open_commitments[0].overdue);
        assert!(b.signals.contains(&Signal::CommitmentOverdue));
        let chosen = ctx.case.expect("chosen case");
        assert_eq!(chosen.id, Uuid::from_u128(4));
        assert!(chosen.stories.is_empty() && chosen.signals.is_empty());
        assert_eq!(ctx.as_of, t(2 * DAY));
    }

    #[test]
    fn a_case_with_a_contact_in_progress_is_active_and_open() {
        let s = TenantSettings::default();
        // Resolved 10 days ago, then an e-mail 9 days ago that is still unanswered.
        let mut mail = contact(2, DAY);
        mail.channel = Channel::Email;
        let cases = vec![case(
            1,
            "a",
            0,
            vec![
                told(ended(contact(1, 0), 5, Outcome::Resolved), "een"),
                mail,
            ],
        )];
        let call = contact(9, 10 * DAY);
        let ctx = context(known(), &cases, &Probe::of(&call), None, &s);
        assert_eq!(ctx.active_cases.len(), 1);
        assert_eq!(ctx.active_cases[0].status, CaseStatus::Open);
        assert_eq!(ctx.active_cases[0].stories.len(), 1);
        // Had the e-mail been answered RESOLVED a day later, the case would be resolved
        // 8 days before the call: no longer active.
        let mut answered = cases.clone();
        answered[0].contacts[1] = ended(contact(2, DAY), 2 * DAY, Outcome::Resolved);
        let ctx = context(known(), &answered, &Probe::of(&call), None, &s);
        assert!(ctx.active_cases.is_empty());
    }

    #[test]
    fn a_contact_view_has_the_signals_of_its_case_as_of_its_start() {
        let s = TenantSettings::default();
        let first = told(ended(contact(1, 0), 5, Outcome::Referred), "verhaal");
        let second = contact(2, 10);
        let c = case(500, "a", 0, vec![first.clone(), second.clone()]);
        let v = contact_view(&second, Some(&c), &s);
        assert_eq!(
            v.signals.into_iter().collect::<Vec<_>>(),
            vec![Signal::ReferredAgain, Signal::StoryAlreadyTold]
        );
        assert!(contact_view(&first, Some(&c), &s).signals.is_empty());
        let mut outbound = second.clone();
        outbound.direction = Direction::Outbound;
        assert!(contact_view(&outbound, None, &s).signals.is_empty());
    }
}
