//! Requests as the wire carries them: the scenario's names and values turned into the
//! generated protobuf messages. A contact's start and its completion are each built in
//! one place, from what a `start`, `complete` or `record` step says about them.

use midoffice_api::pb;

use crate::scenario::{
    CalendarSpec, ChannelName, CompleteStep, Day, DirectionName, HolidaysName, MeasureName,
    NormSpec, OutcomeName, RecordStep, SignalName, StartStep, StatusName, TargetSpec, Time,
    WithinSpec,
};

pub(super) fn timestamp(time: &Time) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: time.0.timestamp(),
        nanos: time.0.timestamp_subsec_nanos() as i32,
    }
}

pub(super) fn opt_timestamp(time: &Option<Time>) -> Option<prost_types::Timestamp> {
    time.as_ref().map(timestamp)
}

pub(super) fn date(day: &Day) -> pb::Date {
    use chrono::Datelike;
    pb::Date {
        year: day.0.year(),
        month: day.0.month() as i32,
        day: day.0.day() as i32,
    }
}

pub(super) fn channel(name: ChannelName) -> pb::Channel {
    match name {
        ChannelName::Phone => pb::Channel::Phone,
        ChannelName::Counter => pb::Channel::Counter,
        ChannelName::Web => pb::Channel::Web,
        ChannelName::Email => pb::Channel::Email,
    }
}

pub(super) fn opt_channel(name: Option<ChannelName>) -> i32 {
    name.map(channel).unwrap_or(pb::Channel::Unspecified) as i32
}

pub(super) fn direction(name: Option<DirectionName>) -> i32 {
    match name {
        None | Some(DirectionName::Inbound) => pb::Direction::Inbound as i32,
        Some(DirectionName::Outbound) => pb::Direction::Outbound as i32,
    }
}

pub(super) fn outcome(name: Option<OutcomeName>) -> i32 {
    let outcome = match name {
        None => pb::Outcome::Unspecified,
        Some(OutcomeName::Resolved) => pb::Outcome::Resolved,
        Some(OutcomeName::Referred) => pb::Outcome::Referred,
        Some(OutcomeName::HandedOff) => pb::Outcome::HandedOff,
        Some(OutcomeName::Callback) => pb::Outcome::Callback,
        Some(OutcomeName::Abandoned) => pb::Outcome::Abandoned,
    };
    outcome as i32
}

pub(super) fn signal(name: SignalName) -> pb::Signal {
    match name {
        SignalName::ReferredAgain => pb::Signal::ReferredAgain,
        SignalName::ReferralLoop => pb::Signal::ReferralLoop,
        SignalName::StoryAlreadyTold => pb::Signal::StoryAlreadyTold,
        SignalName::RepeatContact => pb::Signal::RepeatContact,
        SignalName::ChannelHop => pb::Signal::ChannelHop,
        SignalName::CommitmentPending => pb::Signal::CommitmentPending,
        SignalName::CommitmentOverdue => pb::Signal::CommitmentOverdue,
    }
}

pub(super) fn status(name: StatusName) -> pb::NormStatus {
    match name {
        StatusName::Green => pb::NormStatus::Green,
        StatusName::Amber => pb::NormStatus::Amber,
        StatusName::Red => pb::NormStatus::Red,
        StatusName::NoData => pb::NormStatus::NoData,
    }
}

pub(super) fn target(spec: &Option<TargetSpec>) -> Option<pb::ReferralTarget> {
    use pb::referral_target::Target;
    spec.as_ref().map(|t| pb::ReferralTarget {
        target: Some(match t {
            TargetSpec::Department(d) => Target::Department(d.clone()),
            TargetSpec::Organisation(o) => Target::Organisation(o.clone()),
            TargetSpec::Channel(c) => Target::Channel(channel(*c) as i32),
        }),
    })
}

pub(super) fn identifiers(
    bsn: &Option<String>,
    kvk: &Option<String>,
    email: &Option<String>,
    phone: &Option<String>,
) -> pb::Identifiers {
    pb::Identifiers {
        bsn: bsn.clone().unwrap_or_default(),
        kvk: kvk.clone().unwrap_or_default(),
        email: email.clone().unwrap_or_default(),
        phone: phone.clone().unwrap_or_default(),
    }
}

fn within(spec: WithinSpec) -> pb::Within {
    use pb::within::Within;
    pb::Within {
        within: Some(match spec {
            WithinSpec::Seconds(s) => Within::Elapsed(prost_types::Duration {
                seconds: i64::try_from(s).unwrap_or(i64::MAX),
                nanos: 0,
            }),
            WithinSpec::WorkingDays(d) => Within::WorkingDays(d),
        }),
    }
}

/// A norm of the file as the API's measure oneof. The file's flat keys (`channel`,
/// `within`, `max`) go into the measure that has them; a key the measure does not have
/// is not sent (the file format is checked when it is parsed, not here).
pub(super) fn norm(spec: &NormSpec) -> pb::Norm {
    use pb::measure::{self as kind, Kind};
    let within = spec.within.map(within);
    let kind = match spec.measure {
        MeasureName::ResponseTime => Kind::ResponseTime(kind::ResponseTime {
            channel: opt_channel(spec.channel),
            within,
        }),
        MeasureName::FirstContactResolution => {
            Kind::FirstContactResolution(kind::FirstContactResolution {})
        }
        MeasureName::ReferredAtMost => Kind::ReferredAtMost(kind::ReferredAtMost {
            max: spec.max.unwrap_or(0),
        }),
        MeasureName::StoryToldOnce => Kind::StoryToldOnce(kind::StoryToldOnce {}),
        MeasureName::CommitmentOnTime => Kind::CommitmentOnTime(kind::CommitmentOnTime { within }),
    };
    pb::Norm {
        id: spec.id.clone(),
        title: spec.title.clone().unwrap_or_default(),
        measure: Some(pb::Measure { kind: Some(kind) }),
        target: spec.target,
        explanation: spec.explanation.clone().unwrap_or_default(),
        // The files do not choose: absent is published.
        published: None,
    }
}

pub(super) fn calendar(spec: &CalendarSpec) -> pb::Calendar {
    let holidays = match spec.holidays {
        None => pb::HolidaySet::Unspecified,
        Some(HolidaysName::Nl) => pb::HolidaySet::Nl,
        Some(HolidaysName::Be) => pb::HolidaySet::Be,
    };
    pb::Calendar {
        time_zone: spec.time_zone.clone().unwrap_or_default(),
        holidays: holidays as i32,
        closing_days: spec.closing_days.iter().flatten().map(date).collect(),
    }
}

/// What a step says about how a contact began (`start` and `record` steps).
pub(super) struct StartParts<'a> {
    pub at: &'a Option<Time>,
    pub channel: Option<ChannelName>,
    pub direction: Option<DirectionName>,
    pub bsn: &'a Option<String>,
    pub kvk: &'a Option<String>,
    pub email: &'a Option<String>,
    pub phone: &'a Option<String>,
    pub topic: &'a Option<String>,
    pub department: &'a Option<String>,
    pub case_reference: &'a Option<String>,
}

/// What a step says about how a contact was completed (`complete` and `record` steps).
pub(super) struct CompletionParts<'a> {
    pub at: &'a Option<Time>,
    pub answered_at: &'a Option<Time>,
    pub outcome: Option<OutcomeName>,
    pub story: &'a Option<String>,
    pub department: &'a Option<String>,
    pub topic: &'a Option<String>,
    pub referred_to: &'a Option<TargetSpec>,
    pub due: &'a Option<Time>,
    pub repeated_story: Option<bool>,
}

/// The one builder of a contact's start; `case_id` is the case `case_of` named, if any.
pub(super) fn contact_start(p: StartParts<'_>, case_id: String) -> pb::ContactStart {
    pb::ContactStart {
        channel: opt_channel(p.channel),
        direction: direction(p.direction),
        started_at: opt_timestamp(p.at),
        identifiers: Some(identifiers(p.bsn, p.kvk, p.email, p.phone)),
        topic: p.topic.clone().unwrap_or_default(),
        case_id,
        case_reference: p.case_reference.clone().unwrap_or_default(),
        department: p.department.clone().unwrap_or_default(),
    }
}

/// The one builder of a contact's completion.
pub(super) fn contact_completion(p: CompletionParts<'_>) -> pb::ContactCompletion {
    pb::ContactCompletion {
        ended_at: opt_timestamp(p.at),
        answered_at: opt_timestamp(p.answered_at),
        outcome: outcome(p.outcome),
        story: p.story.clone().unwrap_or_default(),
        department: p.department.clone().unwrap_or_default(),
        topic: p.topic.clone().unwrap_or_default(),
        referred_to: target(p.referred_to),
        due_at: opt_timestamp(p.due),
        story_repeated: p.repeated_story.unwrap_or(false),
    }
}

impl<'a> From<&'a StartStep> for StartParts<'a> {
    fn from(s: &'a StartStep) -> Self {
        StartParts {
            at: &s.at,
            channel: s.channel,
            direction: s.direction,
            bsn: &s.bsn,
            kvk: &s.kvk,
            email: &s.email,
            phone: &s.phone,
            topic: &s.topic,
            department: &s.department,
            case_reference: &s.case_reference,
        }
    }
}

impl<'a> From<&'a CompleteStep> for CompletionParts<'a> {
    fn from(s: &'a CompleteStep) -> Self {
        CompletionParts {
            at: &s.at,
            answered_at: &s.answered_at,
            outcome: s.outcome,
            story: &s.story,
            department: &s.department,
            topic: &s.topic,
            referred_to: &s.referred_to,
            due: &s.due,
            repeated_story: s.repeated_story,
        }
    }
}

/// A record step's start and completion. It has one `department` (the one that took
/// and handled the contact) for both, and its topic is the start's.
pub(super) fn record_parts(s: &RecordStep) -> (StartParts<'_>, CompletionParts<'_>) {
    const NONE: &Option<String> = &None;
    let start = StartParts {
        at: &s.started_at,
        channel: s.channel,
        direction: s.direction,
        bsn: &s.bsn,
        kvk: &s.kvk,
        email: &s.email,
        phone: &s.phone,
        topic: &s.topic,
        department: &s.department,
        case_reference: &s.case_reference,
    };
    let completion = CompletionParts {
        at: &s.at,
        answered_at: &s.answered_at,
        outcome: s.outcome,
        story: &s.story,
        department: &s.department,
        topic: NONE,
        referred_to: &s.referred_to,
        due: &s.due,
        repeated_story: s.repeated_story,
    };
    (start, completion)
}

/// A period of figures; `start_date` and `end_date` (exclusive) are the file's `from`
/// and `to`.
pub(super) fn period(from: &Option<Day>, to: &Option<Day>, as_of: &Option<Time>) -> pb::Period {
    pb::Period {
        start_date: from.as_ref().map(date),
        end_date: to.as_ref().map(date),
        as_of: opt_timestamp(as_of),
    }
}
