//! Conversions between rows and domain facts: instants as microseconds, enums as short
//! text, codes checked again on the way out.

use crate::StoreError;
use crate::entity::{contact, feedback, party};
use chrono::{DateTime, SubsecRound};
use midoffice_domain::contact::{
    Channel, Completion, ContactFacts, Direction, Feedback, Outcome, ReferralTarget,
};
use midoffice_domain::identifier::{IdentKey, IdentifierKind};
use midoffice_domain::party::PartySummary;
use midoffice_domain::{Code, Instant};

/// An instant as stored: microseconds since the epoch.
pub fn micros(t: Instant) -> i64 {
    t.timestamp_micros()
}

/// A stored instant.
pub fn instant(us: i64) -> Result<Instant, StoreError> {
    DateTime::from_timestamp_micros(us).ok_or_else(|| corrupt("an instant out of range"))
}

/// An instant at the precision the store keeps, so answers equal what is read back later.
pub fn trunc(t: Instant) -> Instant {
    t.trunc_subsecs(6)
}

/// The wall clock at the store's precision.
pub fn now() -> Instant {
    trunc(chrono::Utc::now())
}

/// A stored value that cannot be read: the data is damaged, not the request.
pub fn corrupt(what: &str) -> StoreError {
    tracing::error!(what, "unreadable row in the store");
    StoreError::Internal(format!("unreadable stored data: {what}"))
}

pub fn direction_str(d: Direction) -> &'static str {
    d.as_str()
}

fn direction(raw: &str) -> Result<Direction, StoreError> {
    Direction::parse(raw).ok_or_else(|| corrupt("contact.direction"))
}

pub fn outcome(raw: &str) -> Result<Outcome, StoreError> {
    Outcome::parse(raw).ok_or_else(|| corrupt("contact.outcome"))
}

pub fn code(raw: Option<&str>, what: &str) -> Result<Option<Code>, StoreError> {
    raw.map(|r| Code::parse(r).map_err(|_| corrupt(what)))
        .transpose()
}

/// The stored kind of a referral to another organisation.
pub const ORGANISATION: &str = "ORGANISATION";

/// A referral target as `(kind, value)` columns.
pub fn referral_columns(t: &ReferralTarget) -> (&'static str, String) {
    match t {
        ReferralTarget::Department(c) => ("DEPARTMENT", c.as_str().to_owned()),
        ReferralTarget::Organisation(o) => (ORGANISATION, o.clone()),
        ReferralTarget::Channel(c) => ("CHANNEL", c.as_str().to_owned()),
    }
}

fn referral(kind: Option<&str>, value: Option<&str>) -> Result<Option<ReferralTarget>, StoreError> {
    let Some(kind) = kind else { return Ok(None) };
    let value = value.unwrap_or_default();
    let target = match kind {
        "DEPARTMENT" => ReferralTarget::Department(
            Code::parse(value).map_err(|_| corrupt("contact.referred_value"))?,
        ),
        ORGANISATION => ReferralTarget::Organisation(value.to_owned()),
        "CHANNEL" => ReferralTarget::Channel(
            Channel::parse(value).ok_or_else(|| corrupt("contact.referred_value"))?,
        ),
        _ => return Err(corrupt("contact.referred_kind")),
    };
    Ok(Some(target))
}

/// A feedback row as the domain's answer.
pub fn feedback_facts(row: &feedback::Model) -> Result<Feedback, StoreError> {
    Ok(Feedback {
        score: u8::try_from(row.score).map_err(|_| corrupt("feedback.score"))?,
        effort: u8::try_from(row.effort).map_err(|_| corrupt("feedback.effort"))?,
        story_repeated: row.story_repeated,
        comment: row.comment.clone(),
    })
}

/// A contact row (and its feedback) as facts.
pub fn contact_facts(
    row: &contact::Model,
    feedback: Option<Feedback>,
) -> Result<ContactFacts, StoreError> {
    let completion = match (row.ended_at, row.outcome.as_deref()) {
        (Some(ended_at), Some(o)) => Some(Completion {
            ended_at: instant(ended_at)?,
            answered_at: row.answered_at.map(instant).transpose()?,
            outcome: outcome(o)?,
            story: row.story.clone(),
            department: code(
                row.completion_department.as_deref(),
                "contact.end_department",
            )?,
            topic: code(row.completion_topic.as_deref(), "contact.end_topic")?,
            referred_to: referral(row.referred_kind.as_deref(), row.referred_value.as_deref())?,
            due_at: row.due_at.map(instant).transpose()?,
            story_repeated: row.story_repeated.unwrap_or(false),
        }),
        _ => None,
    };
    Ok(ContactFacts {
        id: row.id,
        party_id: row.party_id,
        case_id: row.case_id,
        channel: Channel::parse(&row.channel).ok_or_else(|| corrupt("contact.channel"))?,
        direction: direction(&row.direction)?,
        started_at: instant(row.started_at)?,
        topic: code(row.topic.as_deref(), "contact.topic")?,
        department: code(row.department.as_deref(), "contact.department")?,
        case_chosen_at_completion: row.case_chosen_at_completion,
        recorded: row.recorded,
        context_seen: row.context_seen,
        ambiguous: row.ambiguous,
        completion,
        feedback,
    })
}

/// The strong identifier of a party row, if it has one.
pub fn strong_key(row: &party::Model) -> Result<Option<IdentKey>, StoreError> {
    match (row.strong_kind.as_deref(), row.strong_hash.as_deref()) {
        (Some(kind), Some(hash)) => Ok(Some(IdentKey {
            kind: IdentifierKind::parse(kind).ok_or_else(|| corrupt("party.strong_kind"))?,
            hash: hash.to_owned(),
            display: row.strong_display.clone(),
        })),
        _ => Ok(None),
    }
}

/// A party row as resolution sees it.
pub fn party_summary(row: &party::Model) -> Result<PartySummary, StoreError> {
    Ok(PartySummary {
        id: row.id,
        created_at: instant(row.created_at)?,
        strong: strong_key(row)?,
    })
}
