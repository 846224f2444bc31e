//! Signals, commitments and telling the story again (DOMAIN.md "Signals",
//! "Telling the story again", and commitments).

use crate::case::{CaseFacts, CaseStatus, status_of};
use crate::contact::{Channel, ContactFacts, Direction, Outcome};
use crate::settings::TenantSettings;
use crate::{Code, Instant};
use std::collections::BTreeSet;
use uuid::Uuid;

/// A fact about a case the agent must act on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Signal {
    ReferredAgain,
    ReferralLoop,
    StoryAlreadyTold,
    RepeatContact,
    ChannelHop,
    CommitmentPending,
    CommitmentOverdue,
}

impl Signal {
    /// Every signal.
    pub const ALL: [Signal; 7] = [
        Signal::ReferredAgain,
        Signal::ReferralLoop,
        Signal::StoryAlreadyTold,
        Signal::RepeatContact,
        Signal::ChannelHop,
        Signal::CommitmentPending,
        Signal::CommitmentOverdue,
    ];

    /// The name used in the API and in files.
    pub fn as_str(self) -> &'static str {
        match self {
            Signal::ReferredAgain => "REFERRED_AGAIN",
            Signal::ReferralLoop => "REFERRAL_LOOP",
            Signal::StoryAlreadyTold => "STORY_ALREADY_TOLD",
            Signal::RepeatContact => "REPEAT_CONTACT",
            Signal::ChannelHop => "CHANNEL_HOP",
            Signal::CommitmentPending => "COMMITMENT_PENDING",
            Signal::CommitmentOverdue => "COMMITMENT_OVERDUE",
        }
    }
}

/// A contact as the signals see it at its start: where known, its channel, direction
/// and department. A look-up without a contact has no channel and no department.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Probe {
    /// The contact's id, if it is stored (so it is not counted as earlier than itself).
    pub contact_id: Option<Uuid>,
    pub at: Instant,
    pub channel: Option<Channel>,
    pub direction: Direction,
    pub department: Option<Code>,
}

impl Probe {
    /// The probe of a stored contact.
    pub fn of(contact: &ContactFacts) -> Self {
        Probe {
            contact_id: Some(contact.id),
            at: contact.started_at,
            channel: Some(contact.channel),
            direction: contact.direction,
            department: contact.department.clone(),
        }
    }
}

/// The signals of a case for a contact starting as `probe` says, computed from the
/// contacts on the case that started before it, with the completions known by then.
pub fn signals(case: &CaseFacts, probe: &Probe, settings: &TenantSettings) -> BTreeSet<Signal> {
    let t = probe.at;
    let earlier = case.earlier(t, probe.contact_id);
    let mut out = BTreeSet::new();
    let referred: Vec<&&ContactFacts> = earlier
        .iter()
        .filter(|c| c.outcome_at(t) == Some(Outcome::Referred))
        .collect();
    if !referred.is_empty() {
        out.insert(Signal::ReferredAgain);
    }
    if let Some(department) = &probe.department
        && referred
            .iter()
            .any(|c| c.department_at(t) == Some(department))
    {
        out.insert(Signal::ReferralLoop);
    }
    if earlier.iter().any(|c| c.story_at(t).is_some()) {
        out.insert(Signal::StoryAlreadyTold);
    }
    if probe.direction == Direction::Inbound {
        if let CaseStatus::Resolved { at } = status_of(earlier.iter().copied(), t)
            && t - at < settings.repeat_window()
        {
            out.insert(Signal::RepeatContact);
        }
        if probe.channel.is_some_and(Channel::is_assisted)
            && earlier.iter().any(|c| {
                c.channel == Channel::Web && t - c.started_at < settings.channel_hop_window()
            })
        {
            out.insert(Signal::ChannelHop);
        }
    }
    for commitment in commitments_of(&earlier, t) {
        if commitment.fulfilment.is_none() {
            out.insert(if commitment.due_at < t {
                Signal::CommitmentOverdue
            } else {
                Signal::CommitmentPending
            });
        }
    }
    out
}

/// The referral count a contact starting as `probe` says is shown: the earlier contacts
/// on the case known by then to have ended REFERRED.
pub fn referral_count(case: &CaseFacts, probe: &Probe) -> u32 {
    let n = case
        .earlier(probe.at, probe.contact_id)
        .iter()
        .filter(|c| c.outcome_at(probe.at) == Some(Outcome::Referred))
        .count();
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// A promise made in a contact.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Commitment {
    pub contact_id: Uuid,
    pub kind: Outcome,
    /// When the promise was made: the promising contact's end.
    pub promised_at: Instant,
    pub due_at: Instant,
    /// The fulfilling contact, as known when the commitments were computed.
    pub fulfilment: Option<Fulfilment>,
}

/// The contact that fulfilled a commitment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fulfilment {
    pub contact_id: Uuid,
    pub started_at: Instant,
    /// Known from this moment (the fulfilling contact's end).
    pub known_at: Instant,
}

impl Commitment {
    /// Fulfilled on time: the fulfilling contact started by the due time.
    pub fn on_time(&self) -> bool {
        self.fulfilment
            .as_ref()
            .is_some_and(|f| f.started_at <= self.due_at)
    }
}

/// The commitments of a case known at `t` (made by completions ended by `t`), each with
/// the fulfilment known at `t`.
pub fn commitments(case: &CaseFacts, t: Instant) -> Vec<Commitment> {
    let contacts: Vec<&ContactFacts> = case.contacts.iter().filter(|c| c.started_at <= t).collect();
    commitments_of(&contacts, t)
}

/// A commitment is fulfilled by the first contact on its case that starts after the
/// promising contact ended and either is OUTBOUND and not ABANDONED, or ends RESOLVED;
/// known from that contact's end.
fn commitments_of(contacts: &[&ContactFacts], t: Instant) -> Vec<Commitment> {
    let mut by_start: Vec<&ContactFacts> = contacts.to_vec();
    by_start.sort_by_key(|c| (c.started_at, c.id));
    contacts
        .iter()
        .filter_map(|c| {
            let end = c.completion_known_at(t)?;
            let due_at = end.due_at.filter(|_| end.outcome.is_commitment())?;
            let fulfilment = by_start
                .iter()
                .filter(|f| f.started_at > end.ended_at && f.id != c.id)
                .find(|f| match f.outcome_at(t) {
                    Some(Outcome::Resolved) => true,
                    Some(Outcome::Abandoned) | None => false,
                    Some(_) => f.direction == Direction::Outbound,
                })
                .and_then(|f| {
                    f.completion_known_at(t).map(|e| Fulfilment {
                        contact_id: f.id,
                        started_at: f.started_at,
                        known_at: e.ended_at,
                    })
                });
            Some(Commitment {
                contact_id: c.id,
                kind: end.outcome,
                promised_at: end.ended_at,
                due_at,
                fulfilment,
            })
        })
        .collect()
}

/// Whether `contact` (on `case`) is a follow-up, as known at `t`: it did not end
/// ABANDONED, and the case had an earlier contact (one that started before it) that did
/// not end ABANDONED either.
pub fn is_follow_up(case: &CaseFacts, contact: &ContactFacts, t: Instant) -> bool {
    contact.known_not_abandoned_at(t)
        && case
            .contacts
            .iter()
            .filter(|e| e.started_at < contact.started_at && e.id != contact.id)
            .any(|e| e.known_not_abandoned_at(t))
}

/// Whether a follow-up made the citizen tell the story again, as known at `t`: the
/// channel said so, it was recorded without the agent seeing the context, there was no
/// earlier story to read, or a satisfaction answer says so.
pub fn story_repeated(case: &CaseFacts, contact: &ContactFacts, t: Instant) -> bool {
    if !is_follow_up(case, contact, t) {
        return false;
    }
    let reported = contact
        .completion_known_at(t)
        .is_some_and(|e| e.story_repeated);
    let unseen = contact.recorded && !contact.context_seen;
    let nothing_to_read = !case
        .earlier(contact.started_at, Some(contact.id))
        .iter()
        .any(|e| e.story_at(contact.started_at).is_some());
    let surveyed = contact.feedback.as_ref().is_some_and(|f| f.story_repeated);
    reported || unseen || nothing_to_read || surveyed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::tests::{case, contact, ended, t};
    use crate::contact::Feedback;

    const DAY: i64 = 24 * 60;

    fn probe(at: i64) -> Probe {
        Probe {
            contact_id: None,
            at: t(at),
            channel: Some(Channel::Phone),
            direction: Direction::Inbound,
            department: None,
        }
    }

    fn with_story(mut c: ContactFacts, story: &str) -> ContactFacts {
        if let Some(end) = c.completion.as_mut() {
            end.story = Some(story.into());
        }
        c
    }

    fn referred_by(mut c: ContactFacts, department: &str) -> ContactFacts {
        c.department = Some(Code::parse(department).unwrap());
        c
    }

    fn sigs(case: &CaseFacts, p: &Probe) -> Vec<Signal> {
        signals(case, p, &TenantSettings::default())
            .into_iter()
            .collect()
    }

    #[test]
    fn referred_again_and_loop_come_from_earlier_referrals() {
        let c = case(
            1,
            "bijstand",
            0,
            vec![
                referred_by(ended(contact(1, 0), 8, Outcome::Referred), "kcc"),
                referred_by(
                    ended(contact(2, 9), 15, Outcome::Referred),
                    "werk-en-inkomen",
                ),
            ],
        );
        let mut p = probe(20);
        p.department = Some(Code::parse("schuldhulp").unwrap());
        assert_eq!(sigs(&c, &p), vec![Signal::ReferredAgain]);
        p.department = Some(Code::parse("werk-en-inkomen").unwrap());
        assert_eq!(
            sigs(&c, &p),
            vec![Signal::ReferredAgain, Signal::ReferralLoop]
        );
        assert_eq!(referral_count(&c, &probe(20)), 2);
        assert_eq!(referral_count(&c, &probe(12)), 1);
        // A referral not yet ended is not known.
        assert_eq!(sigs(&c, &probe(12)), vec![Signal::ReferredAgain]);
    }

    #[test]
    fn the_handling_department_counts_for_a_loop() {
        let mut first = ended(contact(1, 0), 8, Outcome::Referred);
        first.department = Some(Code::parse("kcc").unwrap());
        first.completion.as_mut().unwrap().department = Some(Code::parse("burgerzaken").unwrap());
        let c = case(1, "x", 0, vec![first]);
        let mut p = probe(20);
        p.department = Some(Code::parse("kcc").unwrap());
        assert_eq!(sigs(&c, &p), vec![Signal::ReferredAgain]);
        p.department = Some(Code::parse("burgerzaken").unwrap());
        assert_eq!(
            sigs(&c, &p),
            vec![Signal::ReferredAgain, Signal::ReferralLoop]
        );
    }

    #[test]
    fn story_already_told_needs_an_ended_contact_with_a_story() {
        let c = case(
            1,
            "x",
            0,
            vec![with_story(
                ended(contact(1, 0), 10, Outcome::HandedOff),
                "verhaal",
            )],
        );
        assert_eq!(sigs(&c, &probe(5)), Vec::<Signal>::new());
        assert!(sigs(&c, &probe(11)).contains(&Signal::StoryAlreadyTold));
    }

    #[test]
    fn repeat_contact_is_inbound_within_the_window_after_resolution() {
        let c = case(1, "x", 0, vec![ended(contact(1, 0), 5, Outcome::Resolved)]);
        assert_eq!(sigs(&c, &probe(3 * DAY)), vec![Signal::RepeatContact]);
        assert_eq!(sigs(&c, &probe(5 + 7 * DAY)), Vec::<Signal>::new());
        let mut out = probe(3 * DAY);
        out.direction = Direction::Outbound;
        assert_eq!(sigs(&c, &out), Vec::<Signal>::new());
    }

    #[test]
    fn a_contact_in_progress_means_no_repeat_contact() {
        // Resolved at minute 5; an e-mail started at minute 60 and is answered at 2 days.
        let mut mail = ended(contact(2, 60), 2 * DAY, Outcome::Resolved);
        mail.channel = Channel::Email;
        let c = case(
            1,
            "x",
            0,
            vec![ended(contact(1, 0), 5, Outcome::Resolved), mail.clone()],
        );
        // A phone call while the e-mail is unanswered: the case is open again, no repeat.
        assert_eq!(sigs(&c, &probe(DAY)), Vec::<Signal>::new());
        // After the e-mail is answered (RESOLVED) a new call is a repeat contact.
        assert_eq!(sigs(&c, &probe(3 * DAY)), vec![Signal::RepeatContact]);
        // An e-mail known by then to have been abandoned does not reopen the case.
        let gone = case(
            1,
            "x",
            0,
            vec![
                ended(contact(1, 0), 5, Outcome::Resolved),
                ended(contact(2, 60), 61, Outcome::Abandoned),
            ],
        );
        assert_eq!(sigs(&gone, &probe(DAY)), vec![Signal::RepeatContact]);
    }

    #[test]
    fn channel_hop_is_an_assisted_inbound_contact_soon_after_a_web_contact() {
        let mut web = ended(contact(1, 0), 10, Outcome::HandedOff);
        web.channel = Channel::Web;
        let c = case(1, "x", 0, vec![web]);
        let hop = sigs(&c, &probe(13 * 60));
        assert!(hop.contains(&Signal::ChannelHop));
        assert!(!sigs(&c, &probe(48 * 60)).contains(&Signal::ChannelHop));
        assert!(sigs(&c, &probe(48 * 60 - 1)).contains(&Signal::ChannelHop));
        let mut web_again = probe(60);
        web_again.channel = Some(Channel::Web);
        assert!(!sigs(&c, &web_again).contains(&Signal::ChannelHop));
    }

    fn promise(n: u128, start: i64, end: i64, due: i64) -> ContactFacts {
        let mut c = ended(contact(n, start), end, Outcome::Callback);
        c.completion.as_mut().unwrap().due_at = Some(t(due));
        c
    }

    #[test]
    fn commitments_are_pending_then_overdue_until_fulfilled() {
        let c = case(1, "x", 0, vec![promise(1, 0, 5, 100)]);
        assert_eq!(sigs(&c, &probe(50)), vec![Signal::CommitmentPending]);
        assert_eq!(sigs(&c, &probe(101)), vec![Signal::CommitmentOverdue]);
        // An inbound contact that ends RESOLVED fulfils it, known from its end.
        let mut fulfilled = c.clone();
        fulfilled
            .contacts
            .push(ended(contact(2, 60), 70, Outcome::Resolved));
        assert_eq!(
            sigs(&fulfilled, &probe(65)),
            vec![Signal::CommitmentPending]
        );
        assert!(!sigs(&fulfilled, &probe(80)).contains(&Signal::CommitmentPending));
        let list = commitments(&fulfilled, t(80));
        assert!(list[0].on_time());
        // An inbound referral does not fulfil; an outbound one does.
        let mut inbound = c.clone();
        inbound
            .contacts
            .push(ended(contact(3, 60), 70, Outcome::Referred));
        assert!(commitments(&inbound, t(80))[0].fulfilment.is_none());
        let mut outbound = c.clone();
        let mut call = ended(contact(3, 120), 130, Outcome::Referred);
        call.direction = Direction::Outbound;
        outbound.contacts.push(call);
        let list = commitments(&outbound, t(200));
        assert_eq!(
            list[0].fulfilment.as_ref().map(|f| f.contact_id),
            Some(Uuid::from_u128(3))
        );
        assert!(!list[0].on_time());
    }

    #[test]
    fn follow_ups_and_story_repeated() {
        let first = with_story(ended(contact(1, 0), 10, Outcome::HandedOff), "verhaal");
        let second = ended(contact(2, 20), 30, Outcome::Resolved);
        let c = case(1, "x", 0, vec![first.clone(), second.clone()]);
        assert!(!is_follow_up(&c, &first, t(100)));
        assert!(is_follow_up(&c, &second, t(100)));
        assert!(!is_follow_up(&c, &second, t(25)), "in progress");
        assert!(!story_repeated(&c, &second, t(100)));

        let mut said = second.clone();
        said.completion.as_mut().unwrap().story_repeated = true;
        assert!(story_repeated(
            &case(1, "x", 0, vec![first.clone(), said.clone()]),
            &said,
            t(100)
        ));

        let mut unseen = second.clone();
        unseen.recorded = true;
        unseen.context_seen = false;
        assert!(story_repeated(
            &case(1, "x", 0, vec![first.clone(), unseen.clone()]),
            &unseen,
            t(100)
        ));

        let mut surveyed = second.clone();
        surveyed.feedback = Some(Feedback {
            score: 2,
            effort: 6,
            story_repeated: true,
            comment: None,
        });
        assert!(story_repeated(
            &case(1, "x", 0, vec![first.clone(), surveyed.clone()]),
            &surveyed,
            t(100)
        ));

        let silent = ended(contact(1, 0), 10, Outcome::Referred);
        assert!(story_repeated(
            &case(1, "x", 0, vec![silent, second.clone()]),
            &second,
            t(100)
        ));

        // An earlier contact still open when the follow-up started counts once it ends;
        // its story was not there to read.
        let open_then = with_story(ended(contact(1, 0), 40, Outcome::Resolved), "later");
        let overlap = case(1, "x", 0, vec![open_then, second.clone()]);
        assert!(is_follow_up(&overlap, &second, t(100)));
        assert!(story_repeated(&overlap, &second, t(100)));
        assert!(!is_follow_up(&overlap, &second, t(35)), "not known yet");

        let abandoned = ended(contact(1, 0), 1, Outcome::Abandoned);
        assert!(!is_follow_up(
            &case(1, "x", 0, vec![abandoned, second.clone()]),
            &second,
            t(100)
        ));
    }
}
