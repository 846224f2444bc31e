//! Which events a write produces (issue 10, "Events"): a contact completes, a
//! commitment is made, falls overdue or is fulfilled. Decided here from the plan's
//! writes and the units as the plan leaves them ([`crate::plan::UnitAfter`]), so the
//! store only keeps what this answers (in its outbox, in the write's transaction).
//!
//! An event carries no personal data: ids, codes (channel, outcome, topic,
//! department), the due time and instants; never a story, an identifier or a name.
//! Each event names one thing (its `subject`) and happens once per kind and subject:
//! the store keeps only the first of a kind for a subject.

use crate::case::CaseFacts;
use crate::contact::{Channel, ContactFacts, Direction, Outcome};
use crate::plan::{UnitAfter, Write};
use crate::signals;
use crate::{Code, Instant};
use uuid::Uuid;

/// The kinds of events, each a CloudEvents `type` in reverse-DNS form.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum EventKind {
    /// A contact was completed (its subject: the contact).
    ContactCompleted,
    /// A completion promised a callback or a hand-off with a due time (its subject:
    /// the promising contact, which is the commitment's id).
    CommitmentMade,
    /// An open commitment passed its due time (found by a periodic pass).
    CommitmentOverdue,
    /// A later contact on the case fulfilled the commitment (DOMAIN.md).
    CommitmentFulfilled,
}

impl EventKind {
    /// Every kind.
    pub const ALL: [EventKind; 4] = [
        EventKind::ContactCompleted,
        EventKind::CommitmentMade,
        EventKind::CommitmentOverdue,
        EventKind::CommitmentFulfilled,
    ];

    /// The CloudEvents `type`.
    pub fn type_name(self) -> &'static str {
        match self {
            EventKind::ContactCompleted => "nl.midoffice.contact.completed",
            EventKind::CommitmentMade => "nl.midoffice.commitment.made",
            EventKind::CommitmentOverdue => "nl.midoffice.commitment.overdue",
            EventKind::CommitmentFulfilled => "nl.midoffice.commitment.fulfilled",
        }
    }

    /// The kind of a `type`, if it is one.
    pub fn of_type(name: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.type_name() == name)
    }
}

/// What an event says, beside its kind, subject and time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventData {
    /// A completed contact.
    Contact {
        contact_id: Uuid,
        party_id: Option<Uuid>,
        case_id: Option<Uuid>,
        channel: Channel,
        direction: Direction,
        outcome: Outcome,
        topic: Option<Code>,
        department: Option<Code>,
        ended_at: Instant,
    },
    /// A commitment, as it stands for this event.
    Commitment {
        /// The promising contact.
        commitment_id: Uuid,
        party_id: Option<Uuid>,
        case_id: Uuid,
        /// `CALLBACK` or `HANDED_OFF`.
        kind: Outcome,
        due_at: Instant,
        /// The department the promise was made for (the completion's, else the start's).
        department: Option<Code>,
        /// The fulfilling contact and whether it started by the due time (fulfilled only).
        fulfilled_by: Option<Uuid>,
        on_time: Option<bool>,
    },
}

/// One event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub kind: EventKind,
    /// The contact (or commitment) it is about.
    pub subject: Uuid,
    /// When it happened: the completion's end, a commitment's due time (overdue), the
    /// fulfilling contact's end (fulfilled).
    pub time: Instant,
    pub data: EventData,
}

/// The events of a write: for each contact it completes (in the plan's order), the
/// completion, the commitment it makes (if any) and the commitments of its case it
/// fulfils. `units` are the units as the plan leaves them (`plan::units_after`, or read
/// back by the store after the writes); a completed contact absent from them makes no
/// events (it cannot be: every completion touches its unit).
pub fn of_writes(writes: &[Write], units: &[UnitAfter]) -> Vec<Event> {
    let mut out = Vec::new();
    for w in writes {
        let Write::CompleteContact { contact_id, .. } = w else {
            continue;
        };
        let found = units.iter().find_map(|u| match u {
            UnitAfter::Case(k) => k
                .contacts
                .iter()
                .find(|c| c.id == *contact_id)
                .map(|c| (c, Some(k))),
            UnitAfter::Contact(c) if c.id == *contact_id => Some((c, None)),
            _ => None,
        });
        if let Some((contact, case)) = found {
            out.extend(of_completion(contact, case));
        }
    }
    out
}

/// The events of one completed contact on its case (if any).
pub fn of_completion(contact: &ContactFacts, case: Option<&CaseFacts>) -> Vec<Event> {
    let Some(end) = &contact.completion else {
        return Vec::new();
    };
    let mut out = vec![Event {
        kind: EventKind::ContactCompleted,
        subject: contact.id,
        time: end.ended_at,
        data: EventData::Contact {
            contact_id: contact.id,
            party_id: contact.party_id,
            case_id: contact.case_id,
            channel: contact.channel,
            direction: contact.direction,
            outcome: end.outcome,
            topic: end.topic.clone().or_else(|| contact.topic.clone()),
            department: end
                .department
                .clone()
                .or_else(|| contact.department.clone()),
            ended_at: end.ended_at,
        },
    }];
    let Some(case) = case else {
        return out;
    };
    for c in signals::commitments(case, end.ended_at) {
        if c.contact_id == contact.id {
            out.push(commitment_event(
                EventKind::CommitmentMade,
                case,
                &c,
                end.ended_at,
            ));
        }
        if c.fulfilment.as_ref().map(|f| f.contact_id) == Some(contact.id) {
            out.push(commitment_event(
                EventKind::CommitmentFulfilled,
                case,
                &c,
                end.ended_at,
            ));
        }
    }
    out
}

/// The overdue events of `case` at `now`: one for each of its commitments that is open
/// (`view::open_commitments`, as the worklist says) and whose due time has passed.
pub fn overdue(case: &CaseFacts, now: Instant) -> Vec<Event> {
    let open: Vec<Uuid> = crate::view::open_commitments(case, now)
        .into_iter()
        .filter(|c| c.overdue)
        .map(|c| c.contact_id)
        .collect();
    signals::commitments(case, now)
        .iter()
        .filter(|c| open.contains(&c.contact_id))
        .map(|c| commitment_event(EventKind::CommitmentOverdue, case, c, c.due_at))
        .collect()
}

fn commitment_event(
    kind: EventKind,
    case: &CaseFacts,
    c: &signals::Commitment,
    time: Instant,
) -> Event {
    let promising = case.contacts.iter().find(|p| p.id == c.contact_id);
    let department = promising.and_then(|p| {
        p.completion
            .as_ref()
            .and_then(|e| e.department.clone())
            .or_else(|| p.department.clone())
    });
    let fulfilled = c
        .fulfilment
        .as_ref()
        .filter(|_| kind == EventKind::CommitmentFulfilled);
    Event {
        kind,
        subject: c.contact_id,
        time,
        data: EventData::Commitment {
            commitment_id: c.contact_id,
            party_id: Some(case.party_id),
            case_id: case.id,
            kind: c.kind,
            due_at: c.due_at,
            department,
            fulfilled_by: fulfilled.map(|f| f.contact_id),
            on_time: fulfilled.map(|_| c.on_time()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::tests::{case, contact, ended, t};
    use crate::contact::Completion;

    const DAY: i64 = 24 * 60;

    fn promised(n: u128, start: i64, end: i64, due: i64) -> ContactFacts {
        let mut c = ended(contact(n, start), end, Outcome::Callback);
        if let Some(e) = c.completion.as_mut() {
            e.due_at = Some(t(due));
            e.department = Some(Code::parse("burgerzaken").unwrap());
        }
        c
    }

    fn complete(c: &ContactFacts) -> Write {
        Write::CompleteContact {
            contact_id: c.id,
            case_id: c.case_id,
            case_chosen_at_completion: false,
            completion: Box::new(c.completion.clone().unwrap()),
        }
    }

    fn kinds(events: &[Event]) -> Vec<(EventKind, u128)> {
        events
            .iter()
            .map(|e| (e.kind, e.subject.as_u128()))
            .collect()
    }

    #[test]
    fn a_callback_completes_a_contact_and_makes_a_commitment() {
        let c = promised(1, 0, 10, DAY);
        let k = case(500, "paspoort", 0, vec![c.clone()]);
        let events = of_writes(&[complete(&c)], &[UnitAfter::Case(k)]);
        assert_eq!(
            kinds(&events),
            [
                (EventKind::ContactCompleted, 1),
                (EventKind::CommitmentMade, 1)
            ]
        );
        let EventData::Commitment {
            due_at,
            department,
            kind,
            fulfilled_by,
            ..
        } = &events[1].data
        else {
            panic!("a commitment's data")
        };
        assert_eq!(*due_at, t(DAY));
        assert_eq!(department.as_ref().map(Code::as_str), Some("burgerzaken"));
        assert_eq!((*kind, *fulfilled_by), (Outcome::Callback, None));
        assert_eq!(events[1].time, t(10));
    }

    #[test]
    fn a_resolved_later_contact_fulfils_the_commitment_on_time_or_late() {
        for (start, on_time) in [(60, true), (DAY + 1, false)] {
            let p = promised(1, 0, 10, DAY);
            let f = ended(contact(2, start), start + 5, Outcome::Resolved);
            let k = case(500, "paspoort", 0, vec![p, f.clone()]);
            let events = of_writes(&[complete(&f)], &[UnitAfter::Case(k)]);
            assert_eq!(
                kinds(&events),
                [
                    (EventKind::ContactCompleted, 2),
                    (EventKind::CommitmentFulfilled, 1)
                ]
            );
            let EventData::Commitment {
                fulfilled_by,
                on_time: said,
                ..
            } = &events[1].data
            else {
                panic!("a commitment's data")
            };
            assert_eq!(*fulfilled_by, Some(Uuid::from_u128(2)));
            assert_eq!(*said, Some(on_time));
            assert_eq!(events[1].time, t(start + 5));
        }
    }

    #[test]
    fn an_inbound_contact_that_does_not_resolve_fulfils_nothing() {
        let p = promised(1, 0, 10, DAY);
        let f = ended(contact(2, 60), 65, Outcome::Referred);
        let k = case(500, "paspoort", 0, vec![p, f.clone()]);
        let events = of_writes(&[complete(&f)], &[UnitAfter::Case(k)]);
        assert_eq!(kinds(&events), [(EventKind::ContactCompleted, 2)]);
    }

    #[test]
    fn a_contact_on_no_case_only_completes_and_other_writes_make_nothing() {
        let mut c = ended(contact(3, 0), 5, Outcome::Resolved);
        c.case_id = None;
        let events = of_writes(&[complete(&c)], &[UnitAfter::Contact(c.clone())]);
        assert_eq!(kinds(&events), [(EventKind::ContactCompleted, 3)]);
        let other = Write::MarkErased {
            parties: vec![Uuid::from_u128(1000)],
            at: t(0),
        };
        assert!(of_writes(&[other], &[UnitAfter::Contact(c)]).is_empty());
    }

    #[test]
    fn an_open_commitment_is_overdue_once_its_due_time_passed_and_not_when_fulfilled() {
        let p = promised(1, 0, 10, DAY);
        let k = case(500, "paspoort", 0, vec![p.clone()]);
        assert!(overdue(&k, t(DAY)).is_empty(), "due, not yet overdue");
        let events = overdue(&k, t(DAY + 1));
        assert_eq!(kinds(&events), [(EventKind::CommitmentOverdue, 1)]);
        assert_eq!(events[0].time, t(DAY));
        let mut call = ended(contact(2, DAY + 30), DAY + 40, Outcome::Callback);
        call.direction = Direction::Outbound;
        let done = case(500, "paspoort", 0, vec![p, call]);
        assert!(overdue(&done, t(DAY + 60)).is_empty());
    }

    #[test]
    fn event_data_holds_no_story() {
        let mut c = promised(1, 0, 10, DAY);
        if let Some(Completion { story, .. }) = c.completion.as_mut() {
            *story = Some("Mijn BSN is 999990019".into());
        }
        let k = case(500, "paspoort", 0, vec![c.clone()]);
        let text = format!("{:?}", of_writes(&[complete(&c)], &[UnitAfter::Case(k)]));
        assert!(!text.contains("999990019"), "{text}");
    }

    #[test]
    fn types_are_reverse_dns_and_read_back() {
        for k in EventKind::ALL {
            assert!(k.type_name().starts_with("nl.midoffice."));
            assert_eq!(EventKind::of_type(k.type_name()), Some(k));
        }
        assert_eq!(EventKind::of_type("nl.midoffice.other"), None);
    }
}
