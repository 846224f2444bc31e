//! What the API shows: the context (klantbeeld) and a contact, computed from facts.

use crate::case::{CaseFacts, CaseStatus, status_is_active, status_of};
use crate::contact::{Channel, ContactFacts, Outcome};
use crate::identifier::IdentifierKind;
use crate::limits::{MAX_CASES_SHOWN, MAX_COMMITMENTS_SHOWN, MAX_STORIES_SHOWN};
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
    /// Newest first, at most [`MAX_STORIES_SHOWN`].
    pub stories: Vec<StoryView>,
    /// How many earlier stories the case has in all, shown or not.
    pub story_count: u32,
    /// Soonest due first, at most [`MAX_COMMITMENTS_SHOWN`].
    pub open_commitments: Vec<CommitmentView>,
    /// How many open commitments the case has in all, shown or not.
    pub open_commitment_count: u32,
}

/// The context (klantbeeld).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContextView {
    pub party: PartyView,
    /// Most recent activity first, at most [`MAX_CASES_SHOWN`], never the chosen case
    /// (it is `case`).
    pub active_cases: Vec<CaseView>,
    /// How many active cases the party has in all, the chosen case included when it is
    /// one of them.
    pub active_case_count: u32,
    pub case: Option<CaseView>,
    pub as_of: Instant,
}

/// The commitments made on `case` that are not fulfilled as known at `t`, soonest due
/// first (ties: by the promising contact), each overdue once its due time is before `t`.
pub fn open_commitments(case: &CaseFacts, t: Instant) -> Vec<CommitmentView> {
    let mut open: Vec<CommitmentView> = signals::commitments(case, t)
        .into_iter()
        .filter(|c| c.fulfilment.is_none())
        .map(|c| CommitmentView {
            contact_id: c.contact_id,
            kind: c.kind,
            promised_at: c.promised_at,
            due_at: c.due_at,
            overdue: c.due_at < t,
        })
        .collect();
    open.sort_by_key(|c| (c.due_at, c.contact_id));
    open
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
    let story_count = count(stories.len());
    stories.truncate(MAX_STORIES_SHOWN);
    let mut open_commitments = open_commitments(case, t);
    open_commitments.retain(|c| Some(c.contact_id) != probe.contact_id);
    let open_commitment_count = count(open_commitments.len());
    open_commitments.truncate(MAX_COMMITMENTS_SHOWN);
    CaseView {
        id: case.id,
        topic: case.topic.clone(),
        reference: case.reference.clone(),
        status: status_of(earlier.iter().copied(), t),
        signals: signals::signals(case, probe, settings),
        referral_count: signals::referral_count(case, probe),
        stories,
        story_count,
        open_commitments,
        open_commitment_count,
    }
}

/// A length as a count in an answer; no list here comes near `u32::MAX`.
fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The context for a contact starting as `probe` says (or a look-up at `probe.at`):
/// the party's active cases from before it (each as seen by the probe), and the chosen
/// case, if any. `party_cases` are all of today's cases of the party.
///
/// The context is bounded, so that a citizen with a long history can still be served:
/// the most recent [`MAX_CASES_SHOWN`] active cases besides the chosen one (which is sent
/// once, as `case`), each with its newest [`MAX_STORIES_SHOWN`] stories and soonest
/// [`MAX_COMMITMENTS_SHOWN`] open commitments, and the counts of all of them.
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
    let active_case_count = count(active.len());
    ContextView {
        party,
        active_cases: active
            .into_iter()
            .filter(|(c, _)| Some(c.id) != chosen_case)
            .take(MAX_CASES_SHOWN)
            .map(|(c, _)| case_view(c, probe, settings))
            .collect(),
        active_case_count,
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

/// Where a page of a party's contacts ends: the last contact shown. The next page holds
/// the contacts that come after it, newest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ContactCursor {
    pub started_at: Instant,
    pub contact_id: Uuid,
}

/// One page of a party's contacts, newest first.
#[derive(Clone, Debug, PartialEq)]
pub struct ContactPage {
    /// The party the identifiers lead to.
    pub party: PartyView,
    /// At most the page size, each with the signals of its case as of its start.
    pub contacts: Vec<ContactView>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<ContactCursor>,
}

/// A page of the contacts on `cases` (a party's cases, or one of them), newest first
/// (by start, then id), after `after`, at most `size` of them.
pub fn contact_page(
    party: PartyView,
    cases: &[&CaseFacts],
    after: Option<ContactCursor>,
    size: usize,
    settings: &TenantSettings,
) -> ContactPage {
    let key = |c: &ContactFacts| (c.started_at, c.id);
    let mut all: Vec<(&ContactFacts, &CaseFacts)> = cases
        .iter()
        .flat_map(|case| case.contacts.iter().map(move |c| (c, *case)))
        .filter(|(c, _)| after.is_none_or(|a| key(c) < (a.started_at, a.contact_id)))
        .collect();
    all.sort_by_key(|(c, _)| std::cmp::Reverse(key(c)));
    let more = all.len() > size;
    all.truncate(size);
    let next = if more {
        all.last().map(|(c, _)| ContactCursor {
            started_at: c.started_at,
            contact_id: c.id,
        })
    } else {
        None
    };
    ContactPage {
        party,
        contacts: all
            .into_iter()
            .map(|(c, case)| contact_view(c, Some(case), settings))
            .collect(),
        next,
    }
}

/// Where a page of the commitments worklist ends: the last commitment shown. The next
/// page holds those due after it (ties: by the promising contact's id).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CommitmentCursor {
    pub due_at: Instant,
    pub contact_id: Uuid,
}

/// One open commitment as the back office's worklist shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorklistItem {
    pub commitment: CommitmentView,
    pub case_id: Uuid,
    /// The case's topic.
    pub topic: Option<Code>,
    /// The promising contact's department as known at the page's moment.
    pub department: Option<Code>,
    pub party: PartyView,
}

impl WorklistItem {
    /// The position of this item in the worklist's order.
    pub fn cursor(&self) -> CommitmentCursor {
        CommitmentCursor {
            due_at: self.commitment.due_at,
            contact_id: self.commitment.contact_id,
        }
    }
}

/// The commitment the contact `contact_id` made on `case` (of `party`) as the worklist
/// shows it at `t`; `None` when it made none or it is fulfilled as known at `t`, or
/// when `department` is asked and the promising contact's is another, or when the party
/// was erased on request (`party_erased`): nobody is called back who asked to be
/// forgotten, and the back office could not reach them anyway (its contacts stay,
/// without personal data, for the counts).
pub fn worklist_item(
    case: &CaseFacts,
    party: &PartySummary,
    party_erased: bool,
    contact_id: Uuid,
    department: Option<&Code>,
    t: Instant,
) -> Option<WorklistItem> {
    if party_erased {
        return None;
    }
    let commitment = open_commitments(case, t)
        .into_iter()
        .find(|c| c.contact_id == contact_id)?;
    let promising = case.contacts.iter().find(|c| c.id == contact_id)?;
    let shown_department = promising.department_at(t).cloned();
    if department.is_some_and(|d| shown_department.as_ref() != Some(d)) {
        return None;
    }
    Some(WorklistItem {
        commitment,
        case_id: case.id,
        topic: case.topic.clone(),
        department: shown_department,
        party: PartyView::of(party, PartyStatus::Known),
    })
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

    #[test]
    fn a_long_history_is_bounded_with_counts_and_the_chosen_case_is_sent_once() {
        let s = TenantSettings::default();
        // One case with 12 earlier stories and 15 unkept callbacks, seven more open
        // cases, each with one story; then a call on the first case.
        let mut history = Vec::new();
        for n in 0..12u128 {
            history.push(told(
                ended(
                    contact(n + 1, n as i64 * 10),
                    n as i64 * 10 + 5,
                    Outcome::Resolved,
                ),
                &format!("verhaal {n}"),
            ));
        }
        for n in 0..15u128 {
            let mut promise = ended(
                contact(100 + n, 200 + n as i64),
                201 + n as i64,
                Outcome::Callback,
            );
            promise.completion.as_mut().unwrap().due_at = Some(t(DAY + n as i64));
            history.push(promise);
        }
        let mut cases = vec![case(1, "a", 0, history)];
        for n in 0..7u128 {
            let mut c = told(
                ended(
                    contact(300 + n, 300 + n as i64),
                    301 + n as i64,
                    Outcome::Callback,
                ),
                "ander",
            );
            c.completion.as_mut().unwrap().due_at = Some(t(10 * DAY));
            cases.push(case(10 + n, "b", 0, vec![c]));
        }
        let call = contact(999, 2 * DAY);
        let ctx = context(
            known(),
            &cases,
            &Probe::of(&call),
            Some(Uuid::from_u128(1)),
            &s,
        );
        assert_eq!(
            ctx.active_case_count, 8,
            "all active cases, the chosen one included"
        );
        assert_eq!(ctx.active_cases.len(), MAX_CASES_SHOWN);
        assert!(
            ctx.active_cases.iter().all(|c| c.id != Uuid::from_u128(1)),
            "the chosen case is not listed again"
        );
        let ids: Vec<u128> = ctx.active_cases.iter().map(|c| c.id.as_u128()).collect();
        assert_eq!(
            ids,
            vec![16, 15, 14, 13, 12],
            "the most recent active cases"
        );
        let chosen = ctx.case.expect("chosen case");
        assert_eq!(chosen.story_count, 12);
        let texts: Vec<&str> = chosen.stories.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(
            texts,
            vec!["verhaal 11", "verhaal 10", "verhaal 9"],
            "the newest"
        );
        assert_eq!(chosen.open_commitment_count, 15);
        assert_eq!(chosen.open_commitments.len(), MAX_COMMITMENTS_SHOWN);
        assert_eq!(
            chosen.open_commitments[0].contact_id,
            Uuid::from_u128(100),
            "soonest due first"
        );
        // A short history is shown whole: the counts equal what is listed.
        let short = &ctx.active_cases[0];
        assert_eq!((short.story_count, short.stories.len()), (1, 1));
        assert_eq!(
            (short.open_commitment_count, short.open_commitments.len()),
            (1, 1)
        );
    }

    #[test]
    fn pages_go_through_every_contact_newest_first_once() {
        let s = TenantSettings::default();
        // Two cases, contacts interleaved in time; two start at the same minute.
        let a = case(
            1,
            "a",
            0,
            (0..5u128).map(|n| contact(n + 1, n as i64 * 2)).collect(),
        );
        let mut b = case(
            2,
            "b",
            0,
            (0..4u128)
                .map(|n| contact(n + 10, n as i64 * 2 + 1))
                .collect(),
        );
        b.contacts.push(contact(20, 8));
        let mut seen = Vec::new();
        let mut after = None;
        let mut pages = 0;
        loop {
            let page = contact_page(known(), &[&a, &b], after, 3, &s);
            assert!(page.contacts.len() <= 3);
            seen.extend(
                page.contacts
                    .iter()
                    .map(|v| (v.contact.started_at, v.contact.id)),
            );
            pages += 1;
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        assert_eq!(pages, 4, "10 contacts in pages of 3");
        let mut expected = seen.clone();
        expected.sort_by_key(|k| std::cmp::Reverse(*k));
        expected.dedup();
        assert_eq!(seen, expected, "newest first, none twice");
        assert_eq!(seen.len(), 10, "none left out");
        assert_eq!(
            seen[0].1,
            Uuid::from_u128(20),
            "the same minute: the larger id first"
        );
        // One case only.
        let only = contact_page(known(), &[&b], None, 10, &s);
        assert_eq!(only.contacts.len(), 5);
        assert!(
            only.next.is_none(),
            "a page that holds the rest is the last"
        );
    }

    #[test]
    fn the_worklist_shows_an_open_commitment_until_a_later_contact_fulfils_it() {
        let mut promise = ended(contact(1, 0), 10, Outcome::Callback);
        let e = promise.completion.as_mut().unwrap();
        e.due_at = Some(t(DAY));
        e.department = Some(Code::parse("wijkteam").unwrap());
        let party = PartySummary {
            id: Uuid::from_u128(1000),
            created_at: t(0),
            strong: None,
        };
        let wijkteam = Code::parse("wijkteam").unwrap();
        let kcc = Code::parse("kcc").unwrap();
        let open = case(500, "afval", 0, vec![promise.clone()]);
        let item =
            worklist_item(&open, &party, false, Uuid::from_u128(1), None, t(2 * DAY)).unwrap();
        assert!(item.commitment.overdue);
        assert_eq!(item.department.as_ref(), Some(&wijkteam));
        assert_eq!(item.topic, Some(Code::parse("afval").unwrap()));
        assert_eq!(item.party.id, Some(party.id));
        assert_eq!(item.cursor().due_at, t(DAY));
        // Not yet due: shown, not overdue; another department: left out.
        let pending = worklist_item(
            &open,
            &party,
            false,
            Uuid::from_u128(1),
            Some(&wijkteam),
            t(60),
        );
        assert!(!pending.unwrap().commitment.overdue);
        assert_eq!(
            worklist_item(&open, &party, false, Uuid::from_u128(1), Some(&kcc), t(60)),
            None
        );
        // A party erased on request is called back no more.
        assert_eq!(
            worklist_item(&open, &party, true, Uuid::from_u128(1), None, t(60)),
            None
        );
        // A contact that made no commitment is no item.
        assert_eq!(
            worklist_item(&open, &party, false, Uuid::from_u128(2), None, t(60)),
            None
        );
        // An outbound call back fulfils it, from the call's end on.
        let mut back = ended(contact(2, 100), 110, Outcome::Referred);
        back.direction = Direction::Outbound;
        let kept = case(500, "afval", 0, vec![promise, back]);
        assert!(worklist_item(&kept, &party, false, Uuid::from_u128(1), None, t(105)).is_some());
        assert_eq!(
            worklist_item(&kept, &party, false, Uuid::from_u128(1), None, t(110)),
            None
        );
    }
}
