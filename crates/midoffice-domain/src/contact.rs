//! Contacts as facts: what started, how it ended, and what is known of it at a moment.

use crate::{Code, Instant};
use uuid::Uuid;

/// The channel of a contact.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Channel {
    Phone,
    Counter,
    Web,
    Email,
}

impl Channel {
    /// Every channel, in a fixed order.
    pub const ALL: [Channel; 4] = [
        Channel::Phone,
        Channel::Counter,
        Channel::Web,
        Channel::Email,
    ];

    /// WEB is self-service; the others are assisted.
    pub fn is_assisted(self) -> bool {
        self != Channel::Web
    }

    /// Whether `answered_at` may default to the end time (written channels).
    pub fn answer_defaults_to_end(self) -> bool {
        matches!(self, Channel::Web | Channel::Email)
    }

    /// The name used in the API and in files.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Phone => "PHONE",
            Channel::Counter => "COUNTER",
            Channel::Web => "WEB",
            Channel::Email => "EMAIL",
        }
    }

    /// Parses the name used in the API and in files.
    pub fn parse(raw: &str) -> Option<Self> {
        Channel::ALL.into_iter().find(|c| c.as_str() == raw)
    }
}

/// Who started a contact.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    Inbound,
    Outbound,
}

impl Direction {
    /// Both directions.
    pub const ALL: [Direction; 2] = [Direction::Inbound, Direction::Outbound];

    /// The name used in the API and in files.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Inbound => "INBOUND",
            Direction::Outbound => "OUTBOUND",
        }
    }

    /// Parses the name used in the API and in files.
    pub fn parse(raw: &str) -> Option<Self> {
        Direction::ALL.into_iter().find(|d| d.as_str() == raw)
    }
}

/// How a contact ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    Resolved,
    Referred,
    HandedOff,
    Callback,
    Abandoned,
}

impl Outcome {
    /// Every outcome.
    pub const ALL: [Outcome; 5] = [
        Outcome::Resolved,
        Outcome::Referred,
        Outcome::HandedOff,
        Outcome::Callback,
        Outcome::Abandoned,
    ];

    /// Parses the name used in the API and in files.
    pub fn parse(raw: &str) -> Option<Self> {
        Outcome::ALL.into_iter().find(|o| o.as_str() == raw)
    }

    /// Whether the outcome is a promise (a commitment).
    pub fn is_commitment(self) -> bool {
        matches!(self, Outcome::HandedOff | Outcome::Callback)
    }

    /// The name used in the API and in files.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Resolved => "RESOLVED",
            Outcome::Referred => "REFERRED",
            Outcome::HandedOff => "HANDED_OFF",
            Outcome::Callback => "CALLBACK",
            Outcome::Abandoned => "ABANDONED",
        }
    }
}

/// Where a REFERRED contact sent the citizen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReferralTarget {
    Department(Code),
    Organisation(String),
    Channel(Channel),
}

/// How a contact ended, as stored. `due_at` is the effective due time of a commitment
/// (given, or the default computed at completion).
#[derive(Clone, Debug, PartialEq)]
pub struct Completion {
    pub ended_at: Instant,
    pub answered_at: Option<Instant>,
    pub outcome: Outcome,
    pub story: Option<String>,
    pub department: Option<Code>,
    pub topic: Option<Code>,
    pub referred_to: Option<ReferralTarget>,
    pub due_at: Option<Instant>,
    /// The channel reported that the citizen had to tell the story again.
    pub story_repeated: bool,
}

/// A blank story is no story: the text to keep and show, if any. Every place that keeps,
/// checks or shows a story asks this one function.
pub fn story(text: Option<&str>) -> Option<&str> {
    text.filter(|s| !s.trim().is_empty())
}

/// A satisfaction answer; it counts from its contact's end.
#[derive(Clone, Debug, PartialEq)]
pub struct Feedback {
    pub score: u8,
    pub effort: u8,
    pub story_repeated: bool,
    pub comment: Option<String>,
}

/// One contact as the rules see it.
#[derive(Clone, Debug, PartialEq)]
pub struct ContactFacts {
    pub id: Uuid,
    pub party_id: Option<Uuid>,
    pub case_id: Option<Uuid>,
    pub channel: Channel,
    pub direction: Direction,
    pub started_at: Instant,
    /// The topic given at start (or learned at completion, see `Completion::topic`).
    pub topic: Option<Code>,
    /// The department given at start.
    pub department: Option<Code>,
    /// The case was chosen only at completion, when the topic became known.
    pub case_chosen_at_completion: bool,
    /// Registered after the fact.
    pub recorded: bool,
    /// Whether the agent saw this product's context (true for live contacts).
    pub context_seen: bool,
    /// Stored as anonymous because its identifiers were ambiguous.
    pub ambiguous: bool,
    pub completion: Option<Completion>,
    pub feedback: Option<Feedback>,
}

impl ContactFacts {
    /// The completion if it was known at `t` (a completion is known from its end time).
    pub fn completion_known_at(&self, t: Instant) -> Option<&Completion> {
        self.completion.as_ref().filter(|e| e.ended_at <= t)
    }

    /// The outcome if known at `t`.
    pub fn outcome_at(&self, t: Instant) -> Option<Outcome> {
        self.completion_known_at(t).map(|e| e.outcome)
    }

    /// The contact's own topic: given at start, else learned at completion (if known at `t`).
    pub fn topic_at(&self, t: Instant) -> Option<&Code> {
        self.topic
            .as_ref()
            .or_else(|| self.completion_known_at(t).and_then(|e| e.topic.as_ref()))
    }

    /// The handling department (if known at `t`), else the one given at start.
    pub fn department_at(&self, t: Instant) -> Option<&Code> {
        self.completion_known_at(t)
            .and_then(|e| e.department.as_ref())
            .or(self.department.as_ref())
    }

    /// The case the contact belongs to as known at `t`: a case chosen at completion
    /// is not known before that completion.
    pub fn case_at(&self, t: Instant) -> Option<Uuid> {
        if self.case_chosen_at_completion && self.completion_known_at(t).is_none() {
            None
        } else {
            self.case_id
        }
    }

    /// The story, if the completion is known at `t` and has one.
    pub fn story_at(&self, t: Instant) -> Option<&str> {
        story(self.completion_known_at(t).and_then(|e| e.story.as_deref()))
    }

    /// Known at `t` not to have ended ABANDONED.
    pub fn known_not_abandoned_at(&self, t: Instant) -> bool {
        matches!(self.outcome_at(t), Some(o) if o != Outcome::Abandoned)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_parses_back_to_its_value() {
        for c in Channel::ALL {
            assert_eq!(Channel::parse(c.as_str()), Some(c));
        }
        for d in Direction::ALL {
            assert_eq!(Direction::parse(d.as_str()), Some(d));
        }
        for o in Outcome::ALL {
            assert_eq!(Outcome::parse(o.as_str()), Some(o));
        }
        assert_eq!(Outcome::parse("resolved"), None);
        assert_eq!(Direction::parse(""), None);
    }
}
