//! Version 0: the rows the first release wrote, serde JSON of its domain types, with no
//! version tag. Read only, and only to upgrade them to version 1.
//!
//! FROZEN: these types mirror, name for name, what serde derived from the domain types
//! of that release (enum variants by their Rust names, `{"Elapsed": 30}`,
//! `{"Resolved": {"at": ..}}`). Rows of this shape exist in databases; never change a
//! name here (the golden rows `tests/golden/*-v0.json` pin them).

use super::answers::{
    AnswerKind, AnswerRowV1, AnswerV1, CaseStatusV1, CaseV1, CommitmentV1, CompletionV1, ContactV1,
    ContactViewV1, ContextV1, DirectionV1, FeedbackV1, OutcomeV1, PartyStatusV1, PartyV1,
    ReferralV1, SignalV1, StoryV1,
};
use super::names_v1::ChannelV1;
use super::settings::{CalendarV1, HolidaysV1, MeasureV1, NormV1, SettingsRowV1, WithinV1};
use super::{RowError, Stamp, Tag, from_value};
use serde::Deserialize;
use uuid::Uuid;

/// An enum of version 0 (variants by their Rust names) and its upgrade to the version 1
/// enum with the same variants.
macro_rules! names_v0 {
    ($v0:ident => $v1:ident { $($variant:ident),+ $(,)? }) => {
        #[derive(Clone, Copy, Debug, Deserialize)]
        pub(super) enum $v0 {
            $($variant),+
        }

        impl From<$v0> for $v1 {
            fn from(value: $v0) -> Self {
                match value {
                    $($v0::$variant => $v1::$variant),+
                }
            }
        }
    };
}

names_v0!(ChannelV0 => ChannelV1 { Phone, Counter, Web, Email });
names_v0!(HolidaySetV0 => HolidaysV1 { Nl, Be });
names_v0!(DirectionV0 => DirectionV1 { Inbound, Outbound });
names_v0!(OutcomeV0 => OutcomeV1 { Resolved, Referred, HandedOff, Callback, Abandoned });
names_v0!(SignalV0 => SignalV1 {
    ReferredAgain,
    ReferralLoop,
    StoryAlreadyTold,
    RepeatContact,
    ChannelHop,
    CommitmentPending,
    CommitmentOverdue,
});
names_v0!(PartyStatusV0 => PartyStatusV1 { New, Known, Anonymous, Ambiguous, NotFound });

// Settings.

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SettingsV0 {
    norms: Vec<NormV0>,
    calendar: CalendarV0,
    repeat_window_secs: i64,
    channel_hop_window_secs: i64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NormV0 {
    id: String,
    title: String,
    measure: MeasureV0,
    target_percent: u32,
    explanation: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
enum MeasureV0 {
    ResponseTime {
        channel: ChannelV0,
        within: WithinV0,
    },
    FirstContactResolution,
    ReferredAtMost {
        max: u32,
    },
    StoryToldOnce,
    CommitmentOnTime {
        within: Option<WithinV0>,
    },
}

#[derive(Clone, Copy, Debug, Deserialize)]
enum WithinV0 {
    Elapsed(i64),
    WorkingDays(u32),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CalendarV0 {
    time_zone: String,
    holidays: HolidaySetV0,
    closing_days: Vec<String>,
}

impl From<WithinV0> for WithinV1 {
    fn from(w: WithinV0) -> Self {
        match w {
            WithinV0::Elapsed(s) => WithinV1::Seconds(s),
            WithinV0::WorkingDays(d) => WithinV1::WorkingDays(d),
        }
    }
}

impl From<SettingsV0> for SettingsRowV1 {
    fn from(s: SettingsV0) -> Self {
        SettingsRowV1 {
            version: Tag,
            norms: s
                .norms
                .into_iter()
                .map(|n| NormV1 {
                    id: n.id,
                    title: n.title,
                    measure: match n.measure {
                        MeasureV0::ResponseTime { channel, within } => MeasureV1::ResponseTime {
                            channel: channel.into(),
                            within: within.into(),
                        },
                        MeasureV0::FirstContactResolution => MeasureV1::FirstContactResolution {},
                        MeasureV0::ReferredAtMost { max } => MeasureV1::ReferredAtMost { max },
                        MeasureV0::StoryToldOnce => MeasureV1::StoryToldOnce {},
                        MeasureV0::CommitmentOnTime { within } => MeasureV1::CommitmentOnTime {
                            within: within.map(Into::into),
                        },
                    },
                    target_percent: n.target_percent,
                    explanation: n.explanation,
                    // Every norm was public before publishing was a choice.
                    published: None,
                })
                .collect(),
            calendar: CalendarV1 {
                time_zone: s.calendar.time_zone,
                holidays: s.calendar.holidays.into(),
                closing_days: s.calendar.closing_days,
            },
            repeat_window_secs: s.repeat_window_secs,
            channel_hop_window_secs: s.channel_hop_window_secs,
            processing_activities: None,
            retention_months: None,
            public_page: None,
            benchmark: None,
        }
    }
}

// Answers: a start or record kept `Started`, a completion `ContactView`, a satisfaction
// answer `Feedback`.

/// A row of version 0 holding `kind`, upgraded to version 1.
pub(super) fn answer_v0(
    value: serde_json::Value,
    kind: AnswerKind,
) -> Result<AnswerRowV1, RowError> {
    let answer = match kind {
        AnswerKind::Started => {
            let s: StartedV0 = from_value(value)?;
            AnswerV1::Started {
                contact: Box::new(s.contact.into()),
                context: Box::new(s.context.into()),
            }
        }
        AnswerKind::Contact => AnswerV1::Contact {
            contact: Box::new(from_value::<ContactViewV0>(value)?.into()),
        },
        AnswerKind::Feedback => AnswerV1::Feedback {
            feedback: from_value::<FeedbackV0>(value)?.into(),
        },
    };
    Ok(AnswerRowV1::new(answer))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StartedV0 {
    contact: ContactViewV0,
    context: ContextViewV0,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ContactViewV0 {
    contact: ContactFactsV0,
    signals: Vec<SignalV0>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ContactFactsV0 {
    id: Uuid,
    party_id: Option<Uuid>,
    case_id: Option<Uuid>,
    channel: ChannelV0,
    direction: DirectionV0,
    started_at: Stamp,
    topic: Option<String>,
    department: Option<String>,
    case_chosen_at_end: bool,
    recorded: bool,
    context_seen: bool,
    ambiguous: bool,
    end: Option<EndV0>,
    feedback: Option<FeedbackV0>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EndV0 {
    ended_at: Stamp,
    answered_at: Option<Stamp>,
    outcome: OutcomeV0,
    story: Option<String>,
    department: Option<String>,
    topic: Option<String>,
    referred_to: Option<ReferralTargetV0>,
    due_at: Option<Stamp>,
    story_repeated: bool,
}

#[derive(Debug, Deserialize)]
enum ReferralTargetV0 {
    Department(String),
    Organisation(String),
    Channel(ChannelV0),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FeedbackV0 {
    score: u8,
    effort: u8,
    story_repeated: bool,
    comment: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ContextViewV0 {
    party: PartyViewV0,
    active_cases: Vec<CaseViewV0>,
    case: Option<CaseViewV0>,
    as_of: Stamp,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PartyViewV0 {
    status: PartyStatusV0,
    id: Option<Uuid>,
    bsn_masked: Option<String>,
    has_kvk: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseViewV0 {
    id: Uuid,
    topic: Option<String>,
    reference: Option<String>,
    status: CaseStatusV0,
    signals: Vec<SignalV0>,
    referral_count: u32,
    stories: Vec<StoryViewV0>,
    open_commitments: Vec<CommitmentViewV0>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
enum CaseStatusV0 {
    Open,
    Resolved { at: Stamp },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoryViewV0 {
    contact_id: Uuid,
    channel: ChannelV0,
    started_at: Stamp,
    department: Option<String>,
    outcome: OutcomeV0,
    text: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CommitmentViewV0 {
    contact_id: Uuid,
    kind: OutcomeV0,
    promised_at: Stamp,
    due_at: Stamp,
    overdue: bool,
}

fn signals(s: Vec<SignalV0>) -> Vec<SignalV1> {
    s.into_iter().map(Into::into).collect()
}

impl From<ContactViewV0> for ContactViewV1 {
    fn from(v: ContactViewV0) -> Self {
        let c = v.contact;
        ContactViewV1 {
            contact: ContactV1 {
                id: c.id,
                party_id: c.party_id,
                case_id: c.case_id,
                channel: c.channel.into(),
                direction: c.direction.into(),
                started_at: c.started_at,
                topic: c.topic,
                department: c.department,
                case_chosen_at_end: c.case_chosen_at_end,
                recorded: c.recorded,
                context_seen: c.context_seen,
                ambiguous: c.ambiguous,
                completion: c.end.map(|e| CompletionV1 {
                    ended_at: e.ended_at,
                    answered_at: e.answered_at,
                    outcome: e.outcome.into(),
                    story: e.story,
                    department: e.department,
                    topic: e.topic,
                    referred_to: e.referred_to.map(|t| match t {
                        ReferralTargetV0::Department(d) => ReferralV1::Department(d),
                        ReferralTargetV0::Organisation(o) => ReferralV1::Organisation(o),
                        ReferralTargetV0::Channel(c) => ReferralV1::Channel(c.into()),
                    }),
                    due_at: e.due_at,
                    story_repeated: e.story_repeated,
                }),
                feedback: c.feedback.map(Into::into),
            },
            signals: signals(v.signals),
        }
    }
}

impl From<FeedbackV0> for FeedbackV1 {
    fn from(f: FeedbackV0) -> Self {
        FeedbackV1 {
            score: f.score,
            effort: f.effort,
            story_repeated: f.story_repeated,
            comment: f.comment,
        }
    }
}

impl From<ContextViewV0> for ContextV1 {
    fn from(c: ContextViewV0) -> Self {
        ContextV1 {
            party: PartyV1 {
                status: c.party.status.into(),
                id: c.party.id,
                bsn_masked: c.party.bsn_masked,
                has_kvk: c.party.has_kvk,
            },
            active_cases: c.active_cases.into_iter().map(Into::into).collect(),
            case: c.case.map(Into::into),
            as_of: c.as_of,
        }
    }
}

impl From<CaseViewV0> for CaseV1 {
    fn from(c: CaseViewV0) -> Self {
        CaseV1 {
            id: c.id,
            topic: c.topic,
            reference: c.reference,
            status: match c.status {
                CaseStatusV0::Open => CaseStatusV1::Open {},
                CaseStatusV0::Resolved { at } => CaseStatusV1::Resolved { at },
            },
            signals: signals(c.signals),
            referral_count: c.referral_count,
            stories: c
                .stories
                .into_iter()
                .map(|s| StoryV1 {
                    contact_id: s.contact_id,
                    channel: s.channel.into(),
                    started_at: s.started_at,
                    department: s.department,
                    outcome: s.outcome.into(),
                    text: s.text,
                })
                .collect(),
            open_commitments: c
                .open_commitments
                .into_iter()
                .map(|k| CommitmentV1 {
                    contact_id: k.contact_id,
                    kind: k.kind.into(),
                    promised_at: k.promised_at,
                    due_at: k.due_at,
                    overdue: k.overdue,
                })
                .collect(),
        }
    }
}
