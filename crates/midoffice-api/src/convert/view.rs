//! Domain views to protobuf: the context (klantbeeld), cases and contacts. They carry
//! no identifier in clear text, only a masked BSN.

use super::timestamp;
use crate::pb;
use midoffice_domain::case::CaseStatus;
use midoffice_domain::contact::{Completion, ContactFacts, Outcome, ReferralTarget};
use midoffice_domain::signals::Signal;
use midoffice_domain::view::{
    CaseView, CommitmentView, ContactView, ContextView, PartyStatus, PartyView, StoryView,
    WorklistItem,
};
use std::collections::BTreeSet;
use uuid::Uuid;

fn id(u: Option<Uuid>) -> String {
    u.map(|u| u.to_string()).unwrap_or_default()
}

impl From<Signal> for pb::Signal {
    fn from(s: Signal) -> Self {
        match s {
            Signal::ReferredAgain => pb::Signal::ReferredAgain,
            Signal::ReferralLoop => pb::Signal::ReferralLoop,
            Signal::StoryAlreadyTold => pb::Signal::StoryAlreadyTold,
            Signal::RepeatContact => pb::Signal::RepeatContact,
            Signal::ChannelHop => pb::Signal::ChannelHop,
            Signal::CommitmentPending => pb::Signal::CommitmentPending,
            Signal::CommitmentOverdue => pb::Signal::CommitmentOverdue,
        }
    }
}

fn signals(s: &BTreeSet<Signal>) -> Vec<i32> {
    s.iter().map(|s| pb::Signal::from(*s) as i32).collect()
}

impl From<PartyStatus> for pb::PartyStatus {
    fn from(s: PartyStatus) -> Self {
        match s {
            PartyStatus::New => pb::PartyStatus::New,
            PartyStatus::Known => pb::PartyStatus::Known,
            PartyStatus::Anonymous => pb::PartyStatus::Anonymous,
            PartyStatus::Ambiguous => pb::PartyStatus::Ambiguous,
            PartyStatus::NotFound => pb::PartyStatus::NotFound,
        }
    }
}

impl From<&PartyView> for pb::Party {
    fn from(p: &PartyView) -> Self {
        pb::Party {
            status: pb::PartyStatus::from(p.status) as i32,
            id: id(p.id),
            bsn_masked: p.bsn_masked.clone().unwrap_or_default(),
            has_kvk: p.has_kvk,
        }
    }
}

impl From<&StoryView> for pb::Story {
    fn from(s: &StoryView) -> Self {
        pb::Story {
            contact_id: s.contact_id.to_string(),
            channel: pb::Channel::from(s.channel) as i32,
            started_at: Some(timestamp(s.started_at)),
            department: s
                .department
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            outcome: pb::Outcome::from(s.outcome) as i32,
            text: s.text.clone(),
        }
    }
}

fn commitment_kind(o: Outcome) -> pb::CommitmentKind {
    match o {
        Outcome::Callback => pb::CommitmentKind::Callback,
        Outcome::HandedOff => pb::CommitmentKind::HandedOff,
        Outcome::Resolved | Outcome::Referred | Outcome::Abandoned => {
            pb::CommitmentKind::Unspecified
        }
    }
}

impl From<&CommitmentView> for pb::Commitment {
    fn from(c: &CommitmentView) -> Self {
        pb::Commitment {
            contact_id: c.contact_id.to_string(),
            kind: commitment_kind(c.kind) as i32,
            promised_at: Some(timestamp(c.promised_at)),
            due_at: Some(timestamp(c.due_at)),
            overdue: c.overdue,
        }
    }
}

/// An item of the commitments worklist.
impl From<&WorklistItem> for pb::WorklistItem {
    fn from(i: &WorklistItem) -> Self {
        pb::WorklistItem {
            commitment: Some(pb::Commitment::from(&i.commitment)),
            case_id: i.case_id.to_string(),
            topic: i
                .topic
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            department: i
                .department
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            party: Some(pb::Party::from(&i.party)),
        }
    }
}

impl From<&CaseView> for pb::Case {
    fn from(c: &CaseView) -> Self {
        let (status, resolved_at) = match c.status {
            CaseStatus::Open => (pb::CaseStatus::Open, None),
            CaseStatus::Resolved { at } => (pb::CaseStatus::Resolved, Some(timestamp(at))),
        };
        pb::Case {
            id: c.id.to_string(),
            topic: c
                .topic
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            reference: c.reference.clone().unwrap_or_default(),
            status: status as i32,
            resolved_at,
            signals: signals(&c.signals),
            referral_count: c.referral_count,
            stories: c.stories.iter().map(pb::Story::from).collect(),
            open_commitments: c
                .open_commitments
                .iter()
                .map(pb::Commitment::from)
                .collect(),
            story_count: c.story_count,
            open_commitment_count: c.open_commitment_count,
        }
    }
}

impl From<&ContextView> for pb::Context {
    fn from(c: &ContextView) -> Self {
        pb::Context {
            party: Some(pb::Party::from(&c.party)),
            active_cases: c.active_cases.iter().map(pb::Case::from).collect(),
            case: c.case.as_ref().map(pb::Case::from),
            as_of: Some(timestamp(c.as_of)),
            active_case_count: c.active_case_count,
        }
    }
}

impl From<&ReferralTarget> for pb::ReferralTarget {
    fn from(t: &ReferralTarget) -> Self {
        use pb::referral_target::Target;
        pb::ReferralTarget {
            target: Some(match t {
                ReferralTarget::Department(d) => Target::Department(d.to_string()),
                ReferralTarget::Organisation(o) => Target::Organisation(o.clone()),
                ReferralTarget::Channel(c) => Target::Channel(pb::Channel::from(*c) as i32),
            }),
        }
    }
}

impl From<&Completion> for pb::Completion {
    fn from(e: &Completion) -> Self {
        pb::Completion {
            ended_at: Some(timestamp(e.ended_at)),
            answered_at: e.answered_at.map(timestamp),
            outcome: pb::Outcome::from(e.outcome) as i32,
            story: e.story.clone().unwrap_or_default(),
            department: e
                .department
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            referred_to: e.referred_to.as_ref().map(pb::ReferralTarget::from),
            due_at: e.due_at.map(timestamp),
            story_repeated_reported: e.story_repeated,
        }
    }
}

/// A contact as stored: its topic is the one given at start, else the one learned at
/// completion.
fn contact(c: &ContactFacts, signal_set: &BTreeSet<Signal>) -> pb::Contact {
    let topic = c
        .topic
        .as_ref()
        .or_else(|| c.completion.as_ref().and_then(|e| e.topic.as_ref()));
    pb::Contact {
        id: c.id.to_string(),
        party_id: id(c.party_id),
        case_id: id(c.case_id),
        channel: pb::Channel::from(c.channel) as i32,
        direction: pb::Direction::from(c.direction) as i32,
        started_at: Some(timestamp(c.started_at)),
        topic: topic.map(ToString::to_string).unwrap_or_default(),
        department: c
            .department
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        completion: c.completion.as_ref().map(pb::Completion::from),
        signals: signals(signal_set),
        ambiguous: c.ambiguous,
        recorded: c.recorded,
        context_seen: c.context_seen,
    }
}

impl From<&ContactView> for pb::Contact {
    fn from(v: &ContactView) -> Self {
        contact(&v.contact, &v.signals)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use midoffice_domain::Code;
    use midoffice_domain::contact::{Channel, Direction};

    #[test]
    fn a_contact_shows_its_completion_and_signals() {
        let t = Utc.with_ymd_and_hms(2025, 3, 10, 9, 0, 0).unwrap();
        let facts = ContactFacts {
            id: Uuid::nil(),
            party_id: Some(Uuid::max()),
            case_id: None,
            channel: Channel::Email,
            direction: Direction::Outbound,
            started_at: t,
            topic: None,
            department: None,
            case_chosen_at_completion: true,
            recorded: true,
            context_seen: false,
            ambiguous: false,
            completion: Some(Completion {
                ended_at: t,
                answered_at: Some(t),
                outcome: Outcome::Referred,
                story: Some("verhaal".into()),
                department: Code::parse("kcc").ok(),
                topic: Code::parse("afval").ok(),
                referred_to: Some(ReferralTarget::Channel(Channel::Web)),
                due_at: None,
                story_repeated: true,
            }),
            feedback: None,
        };
        let view = ContactView {
            contact: facts,
            signals: [Signal::ChannelHop, Signal::ReferredAgain]
                .into_iter()
                .collect(),
        };
        let p = pb::Contact::from(&view);
        assert_eq!(p.party_id, Uuid::max().to_string());
        assert_eq!(p.case_id, "");
        assert_eq!(p.topic, "afval");
        assert_eq!(p.direction, pb::Direction::Outbound as i32);
        assert_eq!(
            p.signals,
            [
                pb::Signal::ReferredAgain as i32,
                pb::Signal::ChannelHop as i32
            ]
        );
        let c = p.completion.unwrap();
        assert_eq!(c.department, "kcc");
        assert!(c.story_repeated_reported);
        assert_eq!(
            c.referred_to.unwrap().target,
            Some(pb::referral_target::Target::Channel(
                pb::Channel::Web as i32
            ))
        );
    }

    #[test]
    fn a_resolved_case_carries_its_time() {
        let t = Utc.with_ymd_and_hms(2025, 3, 10, 9, 0, 0).unwrap();
        let case = CaseView {
            id: Uuid::nil(),
            topic: None,
            reference: None,
            status: CaseStatus::Resolved { at: t },
            signals: BTreeSet::new(),
            referral_count: 2,
            stories: vec![],
            story_count: 7,
            open_commitments: vec![],
            open_commitment_count: 0,
        };
        let p = pb::Case::from(&case);
        assert_eq!(p.story_count, 7, "the count of all stories, shown or not");
        assert_eq!(p.status, pb::CaseStatus::Resolved as i32);
        assert_eq!(p.resolved_at, Some(timestamp(t)));
        let ctx = ContextView {
            party: PartyView::without(PartyStatus::Ambiguous),
            active_cases: vec![],
            active_case_count: 1,
            case: Some(case),
            as_of: t,
        };
        let p = pb::Context::from(&ctx);
        assert_eq!(p.active_case_count, 1);
        assert_eq!(p.party.unwrap().status, pb::PartyStatus::Ambiguous as i32);
        assert!(p.case.is_some());
    }
}
