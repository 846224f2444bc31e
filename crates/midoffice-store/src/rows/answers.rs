//! The answers kept for idempotency keys, as stored in `idempotency.response`.
//!
//! Version 1: `{"v": 1, "answer": {"kind": "STARTED" | "CONTACT" | "FEEDBACK", ...}}`,
//! the whole answer as it was given. The row says its kind, so a reader need not trust
//! the operation it is filed under.
//!
//! Version 2: the same, with the context as it is bounded since (`view::context`): a
//! case holds its newest stories and soonest open commitments with the counts of all
//! (`story_count`, `open_commitment_count`), the context the count of active cases
//! (`active_case_count`) and never the chosen case among them. A story shown in the
//! context is kept by reference: its contact, channel, start, department and outcome,
//! without its text (`"text": null`); the store reads the text back from the contact's
//! row when it replays the answer (a completed contact's story never changes; it is
//! only erased, and then the answer is refused). So an answer row holds no earlier
//! story and stays a few kilobytes, whatever the citizen's history: storage per contact
//! is constant. A retry answers exactly the first answer.
//!
//! Rows of version 1 are read through an upgrade to version 2: a case's counts are the
//! lengths of its lists (those rows held every story), the active cases are as they
//! were (the chosen case among them, as then answered), and their stories keep the
//! text they hold.

use super::names_v1::ChannelV1;
use super::{
    RowError, Stamp, Tag, code, code_opt, from_value, legacy, parse, stored_names, text_of,
    to_text, version_of,
};
use crate::Started;
use midoffice_domain::case::CaseStatus;
use midoffice_domain::contact::{Completion, ContactFacts, Feedback, ReferralTarget};
use midoffice_domain::view::{
    CaseView, CommitmentView, ContactView, ContextView, PartyView, StoryView,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use uuid::Uuid;

/// Every version an answer row was ever written in, oldest first; the last is written.
pub const VERSIONS: [u64; 3] = [0, 1, 2];

/// An answer kept for an idempotency key, as read back.
#[derive(Clone, Debug, PartialEq)]
pub enum Answer {
    /// The answer to a start or a record.
    Started(Box<Started>),
    /// The answer to a completion.
    Contact(Box<ContactView>),
    /// The answer to a satisfaction answer.
    Feedback(Feedback),
}

/// The kind of an answer: a row of version 0 does not say it, its operation does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AnswerKind {
    Started,
    Contact,
    Feedback,
}

impl Answer {
    /// The kind of this answer.
    pub fn kind(&self) -> AnswerKind {
        match self {
            Answer::Started(_) => AnswerKind::Started,
            Answer::Contact(_) => AnswerKind::Contact,
            Answer::Feedback(_) => AnswerKind::Feedback,
        }
    }
}

/// A type whose values are kept as idempotent answers.
pub trait Kept: Sized {
    /// The kind of answer this type is.
    const KIND: AnswerKind;
    /// The row to store for this answer, in the current version.
    fn encode(&self) -> Result<String, RowError>;
    /// This answer out of a decoded row, if the row holds this kind.
    fn from_answer(answer: Answer) -> Option<Self>;

    /// The stories of this answer kept by reference, whose text the store reads back
    /// from their contacts' rows (an empty text: a story shown is never blank).
    fn stories_by_reference(&mut self) -> Vec<&mut StoryView> {
        Vec::new()
    }

    /// Reads a row of any version that should hold this kind of answer.
    fn decode(text: &str) -> Result<Self, RowError> {
        let answer = decode(text, Self::KIND)?;
        let kind = answer.kind();
        Self::from_answer(answer).ok_or_else(|| {
            RowError::new(format!(
                "a {kind:?} answer where {:?} was expected",
                Self::KIND
            ))
        })
    }
}

impl Kept for Started {
    const KIND: AnswerKind = AnswerKind::Started;
    fn stories_by_reference(&mut self) -> Vec<&mut StoryView> {
        let context = &mut self.context;
        context
            .active_cases
            .iter_mut()
            .chain(context.case.iter_mut())
            .flat_map(|c| c.stories.iter_mut())
            .filter(|s| s.text.is_empty())
            .collect()
    }
    fn encode(&self) -> Result<String, RowError> {
        to_text(&AnswerRowV2::new(AnswerV2::Started {
            contact: Box::new((&self.contact).into()),
            context: Box::new((&self.context).into()),
        }))
    }
    fn from_answer(answer: Answer) -> Option<Self> {
        match answer {
            Answer::Started(s) => Some(*s),
            _ => None,
        }
    }
}

impl Kept for ContactView {
    const KIND: AnswerKind = AnswerKind::Contact;
    fn encode(&self) -> Result<String, RowError> {
        to_text(&AnswerRowV2::new(AnswerV2::Contact {
            contact: Box::new(self.into()),
        }))
    }
    fn from_answer(answer: Answer) -> Option<Self> {
        match answer {
            Answer::Contact(c) => Some(*c),
            _ => None,
        }
    }
}

impl Kept for Feedback {
    const KIND: AnswerKind = AnswerKind::Feedback;
    fn encode(&self) -> Result<String, RowError> {
        to_text(&AnswerRowV2::new(AnswerV2::Feedback {
            feedback: self.into(),
        }))
    }
    fn from_answer(answer: Answer) -> Option<Self> {
        match answer {
            Answer::Feedback(f) => Some(f),
            _ => None,
        }
    }
}

/// Reads an answer row of any version; `kind` is what a row of version 0 holds (it
/// does not say).
pub fn decode(text: &str, kind: AnswerKind) -> Result<Answer, RowError> {
    read(text, kind)?.answer.try_into()
}

fn read(text: &str, kind: AnswerKind) -> Result<AnswerRowV2, RowError> {
    let value = parse(text)?;
    match version_of(&value)? {
        0 => legacy::answer_v0(value, kind).map(Into::into),
        1 => from_value::<AnswerRowV1>(value).map(Into::into),
        2 => from_value(value),
        v => Err(RowError::new(format!(
            "an answer of version {v}, which this release does not know"
        ))),
    }
}

/// A row of version 0 holding `kind` rewritten in version 1; `None` if the row is not
/// of version 0. For the migration `m0002_versioned_rows`: it never writes a later
/// version.
pub(crate) fn upgrade_v0(text: &str, kind: AnswerKind) -> Result<Option<String>, RowError> {
    let value = parse(text)?;
    if version_of(&value)? != 0 {
        return Ok(None);
    }
    to_text(&legacy::answer_v0(value, kind)?).map(Some)
}

/// An answer row, version 1.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AnswerRowV1 {
    #[serde(rename = "v")]
    pub version: Tag<1>,
    #[serde(rename = "answer")]
    pub answer: AnswerV1,
}

impl AnswerRowV1 {
    pub fn new(answer: AnswerV1) -> Self {
        AnswerRowV1 {
            version: Tag,
            answer,
        }
    }
}

/// The answer itself, version 1.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", deny_unknown_fields)]
pub(crate) enum AnswerV1 {
    #[serde(rename = "STARTED")]
    Started {
        #[serde(rename = "contact")]
        contact: Box<ContactViewV1>,
        #[serde(rename = "context")]
        context: Box<ContextV1>,
    },
    #[serde(rename = "CONTACT")]
    Contact {
        #[serde(rename = "contact")]
        contact: Box<ContactViewV1>,
    },
    #[serde(rename = "FEEDBACK")]
    Feedback {
        #[serde(rename = "feedback")]
        feedback: FeedbackV1,
    },
}

/// An answer row, version 2.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AnswerRowV2 {
    #[serde(rename = "v")]
    pub version: Tag<2>,
    #[serde(rename = "answer")]
    pub answer: AnswerV2,
}

impl AnswerRowV2 {
    pub fn new(answer: AnswerV2) -> Self {
        AnswerRowV2 {
            version: Tag,
            answer,
        }
    }
}

/// The answer itself, version 2: a start's context is bounded ([`ContextV2`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", deny_unknown_fields)]
pub(crate) enum AnswerV2 {
    #[serde(rename = "STARTED")]
    Started {
        #[serde(rename = "contact")]
        contact: Box<ContactViewV1>,
        #[serde(rename = "context")]
        context: Box<ContextV2>,
    },
    #[serde(rename = "CONTACT")]
    Contact {
        #[serde(rename = "contact")]
        contact: Box<ContactViewV1>,
    },
    #[serde(rename = "FEEDBACK")]
    Feedback {
        #[serde(rename = "feedback")]
        feedback: FeedbackV1,
    },
}

/// The bounded context, version 2.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ContextV2 {
    #[serde(rename = "party")]
    pub party: PartyV1,
    #[serde(rename = "active_cases")]
    pub active_cases: Vec<CaseV2>,
    #[serde(rename = "active_case_count")]
    pub active_case_count: u32,
    #[serde(rename = "case")]
    pub case: Option<CaseV2>,
    #[serde(rename = "as_of")]
    pub as_of: Stamp,
}

/// A case as shown, version 2: its newest stories and soonest commitments, with counts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CaseV2 {
    #[serde(rename = "id")]
    pub id: Uuid,
    #[serde(rename = "topic")]
    pub topic: Option<String>,
    #[serde(rename = "reference")]
    pub reference: Option<String>,
    #[serde(rename = "status")]
    pub status: CaseStatusV1,
    #[serde(rename = "signals")]
    pub signals: Vec<SignalV1>,
    #[serde(rename = "referral_count")]
    pub referral_count: u32,
    #[serde(rename = "stories")]
    pub stories: Vec<StoryV2>,
    #[serde(rename = "story_count")]
    pub story_count: u32,
    #[serde(rename = "open_commitments")]
    pub open_commitments: Vec<CommitmentV1>,
    #[serde(rename = "open_commitment_count")]
    pub open_commitment_count: u32,
}

/// An earlier story, version 2: by reference (`text` null, read back from the contact's
/// row), or with its text (a row upgraded from version 1).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StoryV2 {
    #[serde(rename = "contact_id")]
    pub contact_id: Uuid,
    #[serde(rename = "channel")]
    pub channel: ChannelV1,
    #[serde(rename = "started_at")]
    pub started_at: Stamp,
    #[serde(rename = "department")]
    pub department: Option<String>,
    #[serde(rename = "outcome")]
    pub outcome: OutcomeV1,
    #[serde(rename = "text")]
    pub text: Option<String>,
}

impl From<StoryV1> for StoryV2 {
    fn from(s: StoryV1) -> Self {
        StoryV2 {
            contact_id: s.contact_id,
            channel: s.channel,
            started_at: s.started_at,
            department: s.department,
            outcome: s.outcome,
            text: Some(s.text),
        }
    }
}

/// A length as a stored count.
fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

// Version 1 -> version 2.

impl From<AnswerRowV1> for AnswerRowV2 {
    fn from(row: AnswerRowV1) -> Self {
        AnswerRowV2::new(match row.answer {
            AnswerV1::Started { contact, context } => AnswerV2::Started {
                contact,
                context: Box::new((*context).into()),
            },
            AnswerV1::Contact { contact } => AnswerV2::Contact { contact },
            AnswerV1::Feedback { feedback } => AnswerV2::Feedback { feedback },
        })
    }
}

impl From<ContextV1> for ContextV2 {
    fn from(c: ContextV1) -> Self {
        ContextV2 {
            party: c.party,
            active_case_count: count(c.active_cases.len()),
            active_cases: c.active_cases.into_iter().map(Into::into).collect(),
            case: c.case.map(Into::into),
            as_of: c.as_of,
        }
    }
}

impl From<CaseV1> for CaseV2 {
    fn from(c: CaseV1) -> Self {
        CaseV2 {
            id: c.id,
            topic: c.topic,
            reference: c.reference,
            status: c.status,
            signals: c.signals,
            referral_count: c.referral_count,
            story_count: count(c.stories.len()),
            stories: c.stories.into_iter().map(Into::into).collect(),
            open_commitment_count: count(c.open_commitments.len()),
            open_commitments: c.open_commitments,
        }
    }
}

/// A contact with its signals, version 1.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ContactViewV1 {
    #[serde(rename = "contact")]
    pub contact: ContactV1,
    #[serde(rename = "signals")]
    pub signals: Vec<SignalV1>,
}

/// A contact, version 1.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ContactV1 {
    #[serde(rename = "id")]
    pub id: Uuid,
    #[serde(rename = "party_id")]
    pub party_id: Option<Uuid>,
    #[serde(rename = "case_id")]
    pub case_id: Option<Uuid>,
    #[serde(rename = "channel")]
    pub channel: ChannelV1,
    #[serde(rename = "direction")]
    pub direction: DirectionV1,
    #[serde(rename = "started_at")]
    pub started_at: Stamp,
    #[serde(rename = "topic")]
    pub topic: Option<String>,
    #[serde(rename = "department")]
    pub department: Option<String>,
    #[serde(rename = "case_chosen_at_completion")]
    pub case_chosen_at_end: bool,
    #[serde(rename = "recorded")]
    pub recorded: bool,
    #[serde(rename = "context_seen")]
    pub context_seen: bool,
    #[serde(rename = "ambiguous")]
    pub ambiguous: bool,
    #[serde(rename = "completion")]
    pub completion: Option<CompletionV1>,
    #[serde(rename = "feedback")]
    pub feedback: Option<FeedbackV1>,
}

/// How a contact completed, version 1.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CompletionV1 {
    #[serde(rename = "ended_at")]
    pub ended_at: Stamp,
    #[serde(rename = "answered_at")]
    pub answered_at: Option<Stamp>,
    #[serde(rename = "outcome")]
    pub outcome: OutcomeV1,
    #[serde(rename = "story")]
    pub story: Option<String>,
    #[serde(rename = "department")]
    pub department: Option<String>,
    #[serde(rename = "topic")]
    pub topic: Option<String>,
    #[serde(rename = "referred_to")]
    pub referred_to: Option<ReferralV1>,
    #[serde(rename = "due_at")]
    pub due_at: Option<Stamp>,
    #[serde(rename = "story_repeated")]
    pub story_repeated: bool,
}

/// Where a REFERRED contact sent the citizen, version 1: `{"department": code}`,
/// `{"organisation": text}` or `{"channel": name}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) enum ReferralV1 {
    #[serde(rename = "department")]
    Department(String),
    #[serde(rename = "organisation")]
    Organisation(String),
    #[serde(rename = "channel")]
    Channel(ChannelV1),
}

/// A satisfaction answer, version 1.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FeedbackV1 {
    #[serde(rename = "score")]
    pub score: u8,
    #[serde(rename = "effort")]
    pub effort: u8,
    #[serde(rename = "story_repeated")]
    pub story_repeated: bool,
    #[serde(rename = "comment")]
    pub comment: Option<String>,
}

/// The context, version 1.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ContextV1 {
    #[serde(rename = "party")]
    pub party: PartyV1,
    #[serde(rename = "active_cases")]
    pub active_cases: Vec<CaseV1>,
    #[serde(rename = "case")]
    pub case: Option<CaseV1>,
    #[serde(rename = "as_of")]
    pub as_of: Stamp,
}

/// The party as shown, version 1 (a BSN only masked).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PartyV1 {
    #[serde(rename = "status")]
    pub status: PartyStatusV1,
    #[serde(rename = "id")]
    pub id: Option<Uuid>,
    #[serde(rename = "bsn_masked")]
    pub bsn_masked: Option<String>,
    #[serde(rename = "has_kvk")]
    pub has_kvk: bool,
}

/// A case as shown, version 1.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CaseV1 {
    #[serde(rename = "id")]
    pub id: Uuid,
    #[serde(rename = "topic")]
    pub topic: Option<String>,
    #[serde(rename = "reference")]
    pub reference: Option<String>,
    #[serde(rename = "status")]
    pub status: CaseStatusV1,
    #[serde(rename = "signals")]
    pub signals: Vec<SignalV1>,
    #[serde(rename = "referral_count")]
    pub referral_count: u32,
    #[serde(rename = "stories")]
    pub stories: Vec<StoryV1>,
    #[serde(rename = "open_commitments")]
    pub open_commitments: Vec<CommitmentV1>,
}

/// A case's status, version 1: `{"state": "OPEN"}` or `{"state": "RESOLVED", "at": ..}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", deny_unknown_fields)]
pub(crate) enum CaseStatusV1 {
    // An empty struct variant, not a unit variant: serde refuses unknown fields only there.
    #[serde(rename = "OPEN")]
    Open {},
    #[serde(rename = "RESOLVED")]
    Resolved {
        #[serde(rename = "at")]
        at: Stamp,
    },
}

/// An earlier story, version 1.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StoryV1 {
    #[serde(rename = "contact_id")]
    pub contact_id: Uuid,
    #[serde(rename = "channel")]
    pub channel: ChannelV1,
    #[serde(rename = "started_at")]
    pub started_at: Stamp,
    #[serde(rename = "department")]
    pub department: Option<String>,
    #[serde(rename = "outcome")]
    pub outcome: OutcomeV1,
    #[serde(rename = "text")]
    pub text: String,
}

/// An open commitment, version 1.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CommitmentV1 {
    #[serde(rename = "contact_id")]
    pub contact_id: Uuid,
    #[serde(rename = "kind")]
    pub kind: OutcomeV1,
    #[serde(rename = "promised_at")]
    pub promised_at: Stamp,
    #[serde(rename = "due_at")]
    pub due_at: Stamp,
    #[serde(rename = "overdue")]
    pub overdue: bool,
}

stored_names! {
    /// Who started a contact, version 1.
    DirectionV1 <=> midoffice_domain::contact::Direction {
        Inbound = "INBOUND",
        Outbound = "OUTBOUND",
    }
}

stored_names! {
    /// How a contact ended, version 1.
    OutcomeV1 <=> midoffice_domain::contact::Outcome {
        Resolved = "RESOLVED",
        Referred = "REFERRED",
        HandedOff = "HANDED_OFF",
        Callback = "CALLBACK",
        Abandoned = "ABANDONED",
    }
}

stored_names! {
    /// A signal, version 1.
    SignalV1 <=> midoffice_domain::signals::Signal {
        ReferredAgain = "REFERRED_AGAIN",
        ReferralLoop = "REFERRAL_LOOP",
        StoryAlreadyTold = "STORY_ALREADY_TOLD",
        RepeatContact = "REPEAT_CONTACT",
        ChannelHop = "CHANNEL_HOP",
        CommitmentPending = "COMMITMENT_PENDING",
        CommitmentOverdue = "COMMITMENT_OVERDUE",
    }
}

stored_names! {
    /// What the party is to the agent, version 1.
    PartyStatusV1 <=> midoffice_domain::view::PartyStatus {
        New = "NEW",
        Known = "KNOWN",
        Anonymous = "ANONYMOUS",
        Ambiguous = "AMBIGUOUS",
        NotFound = "NOT_FOUND",
    }
}

// Domain -> row.

fn signals_v1(signals: &BTreeSet<midoffice_domain::signals::Signal>) -> Vec<SignalV1> {
    signals.iter().map(|s| (*s).into()).collect()
}

impl From<&ContactView> for ContactViewV1 {
    fn from(v: &ContactView) -> Self {
        ContactViewV1 {
            contact: (&v.contact).into(),
            signals: signals_v1(&v.signals),
        }
    }
}

impl From<&ContactFacts> for ContactV1 {
    fn from(c: &ContactFacts) -> Self {
        ContactV1 {
            id: c.id,
            party_id: c.party_id,
            case_id: c.case_id,
            channel: c.channel.into(),
            direction: c.direction.into(),
            started_at: Stamp(c.started_at),
            topic: c.topic.as_ref().map(text_of),
            department: c.department.as_ref().map(text_of),
            case_chosen_at_end: c.case_chosen_at_completion,
            recorded: c.recorded,
            context_seen: c.context_seen,
            ambiguous: c.ambiguous,
            completion: c.completion.as_ref().map(Into::into),
            feedback: c.feedback.as_ref().map(Into::into),
        }
    }
}

impl From<&Completion> for CompletionV1 {
    fn from(e: &Completion) -> Self {
        CompletionV1 {
            ended_at: Stamp(e.ended_at),
            answered_at: e.answered_at.map(Stamp),
            outcome: e.outcome.into(),
            story: e.story.clone(),
            department: e.department.as_ref().map(text_of),
            topic: e.topic.as_ref().map(text_of),
            referred_to: e.referred_to.as_ref().map(|t| match t {
                ReferralTarget::Department(c) => ReferralV1::Department(text_of(c)),
                ReferralTarget::Organisation(o) => ReferralV1::Organisation(o.clone()),
                ReferralTarget::Channel(c) => ReferralV1::Channel((*c).into()),
            }),
            due_at: e.due_at.map(Stamp),
            story_repeated: e.story_repeated,
        }
    }
}

impl From<&Feedback> for FeedbackV1 {
    fn from(f: &Feedback) -> Self {
        FeedbackV1 {
            score: f.score,
            effort: f.effort,
            story_repeated: f.story_repeated,
            comment: f.comment.clone(),
        }
    }
}

impl From<&ContextView> for ContextV2 {
    fn from(c: &ContextView) -> Self {
        ContextV2 {
            party: PartyV1 {
                status: c.party.status.into(),
                id: c.party.id,
                bsn_masked: c.party.bsn_masked.clone(),
                has_kvk: c.party.has_kvk,
            },
            active_cases: c.active_cases.iter().map(Into::into).collect(),
            active_case_count: c.active_case_count,
            case: c.case.as_ref().map(Into::into),
            as_of: Stamp(c.as_of),
        }
    }
}

impl From<&CaseView> for CaseV2 {
    fn from(c: &CaseView) -> Self {
        CaseV2 {
            id: c.id,
            topic: c.topic.as_ref().map(text_of),
            reference: c.reference.clone(),
            status: match c.status {
                CaseStatus::Open => CaseStatusV1::Open {},
                CaseStatus::Resolved { at } => CaseStatusV1::Resolved { at: Stamp(at) },
            },
            signals: signals_v1(&c.signals),
            referral_count: c.referral_count,
            stories: c
                .stories
                .iter()
                .map(|s| StoryV2 {
                    contact_id: s.contact_id,
                    channel: s.channel.into(),
                    started_at: Stamp(s.started_at),
                    department: s.department.as_ref().map(text_of),
                    outcome: s.outcome.into(),
                    // By reference: the contact's row holds the text.
                    text: None,
                })
                .collect(),
            story_count: c.story_count,
            open_commitments: c
                .open_commitments
                .iter()
                .map(|k| CommitmentV1 {
                    contact_id: k.contact_id,
                    kind: k.kind.into(),
                    promised_at: Stamp(k.promised_at),
                    due_at: Stamp(k.due_at),
                    overdue: k.overdue,
                })
                .collect(),
            open_commitment_count: c.open_commitment_count,
        }
    }
}

// Row -> domain.

impl TryFrom<AnswerV2> for Answer {
    type Error = RowError;
    fn try_from(a: AnswerV2) -> Result<Self, RowError> {
        Ok(match a {
            AnswerV2::Started { contact, context } => Answer::Started(Box::new(Started {
                contact: (*contact).try_into()?,
                context: (*context).try_into()?,
            })),
            AnswerV2::Contact { contact } => Answer::Contact(Box::new((*contact).try_into()?)),
            AnswerV2::Feedback { feedback } => Answer::Feedback(feedback.into()),
        })
    }
}

impl TryFrom<ContactViewV1> for ContactView {
    type Error = RowError;
    fn try_from(v: ContactViewV1) -> Result<Self, RowError> {
        Ok(ContactView {
            contact: v.contact.try_into()?,
            signals: v.signals.into_iter().map(Into::into).collect(),
        })
    }
}

impl TryFrom<ContactV1> for ContactFacts {
    type Error = RowError;
    fn try_from(c: ContactV1) -> Result<Self, RowError> {
        Ok(ContactFacts {
            id: c.id,
            party_id: c.party_id,
            case_id: c.case_id,
            channel: c.channel.into(),
            direction: c.direction.into(),
            started_at: c.started_at.0,
            topic: code_opt(c.topic, "contact.topic")?,
            department: code_opt(c.department, "contact.department")?,
            case_chosen_at_completion: c.case_chosen_at_end,
            recorded: c.recorded,
            context_seen: c.context_seen,
            ambiguous: c.ambiguous,
            completion: c.completion.map(TryInto::try_into).transpose()?,
            feedback: c.feedback.map(Into::into),
        })
    }
}

impl TryFrom<CompletionV1> for Completion {
    type Error = RowError;
    fn try_from(e: CompletionV1) -> Result<Self, RowError> {
        Ok(Completion {
            ended_at: e.ended_at.0,
            answered_at: e.answered_at.map(|t| t.0),
            outcome: e.outcome.into(),
            story: e.story,
            department: code_opt(e.department, "completion.department")?,
            topic: code_opt(e.topic, "completion.topic")?,
            referred_to: e
                .referred_to
                .map(|t| {
                    Ok::<_, RowError>(match t {
                        ReferralV1::Department(c) => {
                            ReferralTarget::Department(code(c, "completion.referred_to")?)
                        }
                        ReferralV1::Organisation(o) => ReferralTarget::Organisation(o),
                        ReferralV1::Channel(c) => ReferralTarget::Channel(c.into()),
                    })
                })
                .transpose()?,
            due_at: e.due_at.map(|t| t.0),
            story_repeated: e.story_repeated,
        })
    }
}

impl From<FeedbackV1> for Feedback {
    fn from(f: FeedbackV1) -> Self {
        Feedback {
            score: f.score,
            effort: f.effort,
            story_repeated: f.story_repeated,
            comment: f.comment,
        }
    }
}

impl TryFrom<ContextV2> for ContextView {
    type Error = RowError;
    fn try_from(c: ContextV2) -> Result<Self, RowError> {
        Ok(ContextView {
            party: PartyView {
                status: c.party.status.into(),
                id: c.party.id,
                bsn_masked: c.party.bsn_masked,
                has_kvk: c.party.has_kvk,
            },
            active_cases: c
                .active_cases
                .into_iter()
                .map(TryInto::try_into)
                .collect::<Result<_, _>>()?,
            active_case_count: c.active_case_count,
            case: c.case.map(TryInto::try_into).transpose()?,
            as_of: c.as_of.0,
        })
    }
}

impl TryFrom<CaseV2> for CaseView {
    type Error = RowError;
    fn try_from(c: CaseV2) -> Result<Self, RowError> {
        Ok(CaseView {
            id: c.id,
            topic: code_opt(c.topic, "case.topic")?,
            reference: c.reference,
            status: match c.status {
                CaseStatusV1::Open {} => CaseStatus::Open,
                CaseStatusV1::Resolved { at } => CaseStatus::Resolved { at: at.0 },
            },
            signals: c.signals.into_iter().map(Into::into).collect(),
            referral_count: c.referral_count,
            stories: c
                .stories
                .into_iter()
                .map(|s| {
                    Ok(StoryView {
                        contact_id: s.contact_id,
                        channel: s.channel.into(),
                        started_at: s.started_at.0,
                        department: code_opt(s.department, "story.department")?,
                        outcome: s.outcome.into(),
                        // Empty: by reference, for the store to read back (a story
                        // shown is never blank).
                        text: s.text.unwrap_or_default(),
                    })
                })
                .collect::<Result<_, RowError>>()?,
            story_count: c.story_count,
            open_commitments: c
                .open_commitments
                .into_iter()
                .map(|k| CommitmentView {
                    contact_id: k.contact_id,
                    kind: k.kind.into(),
                    promised_at: k.promised_at.0,
                    due_at: k.due_at.0,
                    overdue: k.overdue,
                })
                .collect(),
            open_commitment_count: c.open_commitment_count,
        })
    }
}
