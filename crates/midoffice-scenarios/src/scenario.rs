//! The scenario file format of `shared/scenarios/README.md`, parsed strictly: an unknown
//! key, step kind, signal, outcome, channel, measure or expectation value, and a
//! duplicate key anywhere, refuse the whole file, so a typo can never pass silently.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;

use chrono::{DateTime, FixedOffset, NaiveDate};
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};

/// Why a scenario file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

/// Reads and parses one scenario file.
pub fn load(path: &Path) -> Result<Scenario, ParseError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ParseError(format!("cannot read {}: {e}", path.display())))?;
    parse(&text)
}

/// Parses the text of one scenario file.
pub fn parse(text: &str) -> Result<Scenario, ParseError> {
    // serde's derived structs refuse a repeated field, but maps (norm ids, channels)
    // would silently keep the last entry; serde_norway's own mapping type refuses
    // every duplicate key, so a first pass through it covers the whole document.
    serde_norway::from_str::<serde_norway::Value>(text).map_err(|e| ParseError(e.to_string()))?;
    let raw: RawScenario = serde_norway::from_str(text).map_err(|e| ParseError(e.to_string()))?;
    raw.validate()
}

/// One story: settings for its tenant and the steps to play.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    pub name: String,
    pub about: String,
    /// The tenant of every step that does not name its own.
    pub tenant: String,
    pub norms: Option<Vec<NormSpec>>,
    pub calendar: Option<CalendarSpec>,
    pub steps: Vec<Step>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    name: String,
    #[serde(default)]
    about: String,
    tenant: Option<String>,
    norms: Option<Vec<NormSpec>>,
    calendar: Option<CalendarSpec>,
    steps: Vec<Step>,
}

impl RawScenario {
    fn validate(self) -> Result<Scenario, ParseError> {
        if self.name.trim().is_empty() {
            return Err(ParseError("name: must not be empty".into()));
        }
        if self.steps.is_empty() {
            return Err(ParseError(
                "steps: a scenario needs at least one step".into(),
            ));
        }
        if let Some(tenant) = &self.tenant {
            non_empty("tenant", tenant)?;
        }
        if let Some(norms) = &self.norms {
            let mut ids = BTreeSet::new();
            for norm in norms {
                if !ids.insert(norm.id.as_str()) {
                    return Err(ParseError(format!(
                        "norms: norm id `{}` appears twice",
                        norm.id
                    )));
                }
            }
        }
        Ok(Scenario {
            name: self.name,
            about: self.about,
            tenant: self.tenant.unwrap_or_else(|| "default".to_string()),
            norms: self.norms,
            calendar: self.calendar,
            steps: self.steps,
        })
    }
}

fn non_empty(key: &str, value: &str) -> Result<(), ParseError> {
    if value.trim().is_empty() {
        Err(ParseError(format!("{key}: must not be empty")))
    } else {
        Ok(())
    }
}

// ---------------------------------------------------------------------------------
// Scalars

/// An instant written as RFC 3339 with an offset, e.g. `2026-03-02T09:00:00+01:00`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Time(pub DateTime<FixedOffset>);

impl<'de> Deserialize<'de> for Time {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(s.trim())
            .map(Time)
            .map_err(|e| {
                de::Error::custom(format!("`{s}` is not an RFC 3339 time with an offset: {e}"))
            })
    }
}

/// A calendar date written `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Day(pub NaiveDate);

impl<'de> Deserialize<'de> for Day {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let well_formed = s.len() == 10
            && s.bytes().enumerate().all(|(i, b)| {
                if i == 4 || i == 7 {
                    b == b'-'
                } else {
                    b.is_ascii_digit()
                }
            });
        match NaiveDate::parse_from_str(&s, "%Y-%m-%d") {
            Ok(date) if well_formed => Ok(Day(date)),
            _ => Err(de::Error::custom(format!(
                "`{s}` is not a date written YYYY-MM-DD"
            ))),
        }
    }
}

/// A norm threshold: `25s`, `10m`, `2h` (elapsed) or `2wd` (working days).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WithinSpec {
    Seconds(u64),
    WorkingDays(u32),
}

impl<'de> Deserialize<'de> for WithinSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let bad = || {
            de::Error::custom(format!(
                "`{s}` is not a threshold such as 25s, 10m, 2h or 2wd"
            ))
        };
        let split = s.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        let (digits, unit) = s.split_at(split);
        if digits.is_empty() {
            return Err(bad());
        }
        let n: u64 = digits.parse().map_err(|_| bad())?;
        let seconds = |factor: u64| {
            n.checked_mul(factor)
                .map(WithinSpec::Seconds)
                .ok_or_else(bad)
        };
        match unit {
            "s" => seconds(1),
            "m" => seconds(60),
            "h" => seconds(3600),
            "wd" => u32::try_from(n)
                .map(WithinSpec::WorkingDays)
                .map_err(|_| bad()),
            _ => Err(bad()),
        }
    }
}

/// A gRPC status code by its canonical name, such as `INVALID_ARGUMENT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorCode(pub tonic::Code);

/// The canonical name of a gRPC status code.
pub fn code_name(code: tonic::Code) -> &'static str {
    use tonic::Code::*;
    match code {
        Ok => "OK",
        Cancelled => "CANCELLED",
        Unknown => "UNKNOWN",
        InvalidArgument => "INVALID_ARGUMENT",
        DeadlineExceeded => "DEADLINE_EXCEEDED",
        NotFound => "NOT_FOUND",
        AlreadyExists => "ALREADY_EXISTS",
        PermissionDenied => "PERMISSION_DENIED",
        ResourceExhausted => "RESOURCE_EXHAUSTED",
        FailedPrecondition => "FAILED_PRECONDITION",
        Aborted => "ABORTED",
        OutOfRange => "OUT_OF_RANGE",
        Unimplemented => "UNIMPLEMENTED",
        Internal => "INTERNAL",
        Unavailable => "UNAVAILABLE",
        DataLoss => "DATA_LOSS",
        Unauthenticated => "UNAUTHENTICATED",
    }
}

const ERROR_CODES: &[tonic::Code] = &[
    tonic::Code::Cancelled,
    tonic::Code::Unknown,
    tonic::Code::InvalidArgument,
    tonic::Code::DeadlineExceeded,
    tonic::Code::NotFound,
    tonic::Code::AlreadyExists,
    tonic::Code::PermissionDenied,
    tonic::Code::ResourceExhausted,
    tonic::Code::FailedPrecondition,
    tonic::Code::Aborted,
    tonic::Code::OutOfRange,
    tonic::Code::Unimplemented,
    tonic::Code::Internal,
    tonic::Code::Unavailable,
    tonic::Code::DataLoss,
    tonic::Code::Unauthenticated,
];

impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        ERROR_CODES
            .iter()
            .find(|code| code_name(**code) == s)
            .map(|code| ErrorCode(*code))
            .ok_or_else(|| {
                let names: Vec<&str> = ERROR_CODES.iter().map(|c| code_name(*c)).collect();
                de::Error::custom(format!(
                    "unknown error code `{s}`, expected one of {}",
                    names.join(", ")
                ))
            })
    }
}

// ---------------------------------------------------------------------------------
// Names

/// A contact channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ChannelName {
    Phone,
    Counter,
    Web,
    Email,
}

/// Who started a contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DirectionName {
    Inbound,
    Outbound,
}

/// How a contact ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OutcomeName {
    Resolved,
    Referred,
    HandedOff,
    Callback,
    Abandoned,
}

/// A signal on a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SignalName {
    ReferredAgain,
    ReferralLoop,
    StoryAlreadyTold,
    RepeatContact,
    ChannelHop,
    CommitmentPending,
    CommitmentOverdue,
}

/// A norm's traffic light.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StatusName {
    Green,
    Amber,
    Red,
    NoData,
}

/// What a norm measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MeasureName {
    ResponseTime,
    FirstContactResolution,
    ReferredAtMost,
    StoryToldOnce,
    CommitmentOnTime,
}

/// A holiday set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum HolidaysName {
    Nl,
    Be,
}

// ---------------------------------------------------------------------------------
// Settings

/// A norm of the file's tenant.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NormSpec {
    pub id: String,
    pub title: Option<String>,
    pub measure: MeasureName,
    pub channel: Option<ChannelName>,
    pub within: Option<WithinSpec>,
    pub max: Option<u32>,
    pub target: f64,
    /// Shown on the thermometer when the norm is not green.
    pub explanation: Option<String>,
}

/// The file's tenant's calendar.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalendarSpec {
    pub time_zone: Option<String>,
    pub holidays: Option<HolidaysName>,
    pub closing_days: Option<Vec<Day>>,
}

// ---------------------------------------------------------------------------------
// Steps

/// One step: an action, the tenant it acts for, and what its answer must be.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub action: Action,
    /// Overrides the file's tenant for this step.
    pub tenant: Option<String>,
    pub expect: Expect,
}

/// What a step does.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Start(StartStep),
    Complete(CompleteStep),
    Record(RecordStep),
    Context(ContextStep),
    Feedback(FeedbackStep),
    Erase(EraseStep),
    Metrics(MetricsStep),
    Thermometer(ThermometerStep),
}

impl Action {
    /// The step's kind as written in the file.
    pub fn kind(&self) -> &'static str {
        match self {
            Action::Start(_) => "start",
            Action::Complete(_) => "complete",
            Action::Record(_) => "record",
            Action::Context(_) => "context",
            Action::Feedback(_) => "feedback",
            Action::Erase(_) => "erase",
            Action::Metrics(_) => "metrics",
            Action::Thermometer(_) => "thermometer",
        }
    }

    /// The contact the step names, if any.
    pub fn contact_ref(&self) -> Option<&str> {
        match self {
            Action::Start(s) => Some(&s.contact),
            Action::Complete(s) => Some(&s.contact),
            Action::Record(s) => Some(&s.contact),
            Action::Feedback(s) => Some(&s.contact),
            _ => None,
        }
    }

    /// How failures name the step: `start c3`, `metrics`.
    pub fn label(&self) -> String {
        match self.contact_ref() {
            Some(r) => format!("{} {r}", self.kind()),
            None => self.kind().to_string(),
        }
    }
}

const ACTIONS: &[&str] = &[
    "start",
    "complete",
    "record",
    "context",
    "feedback",
    "erase",
    "metrics",
    "thermometer",
];

/// Where a REFERRED contact sent the citizen: exactly one of the three.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetSpec {
    Department(String),
    Organisation(String),
    Channel(ChannelName),
}

impl<'de> Deserialize<'de> for TargetSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Raw {
            department: Option<String>,
            organisation: Option<String>,
            channel: Option<ChannelName>,
        }
        let raw = Raw::deserialize(d)?;
        match (raw.department, raw.organisation, raw.channel) {
            (Some(d), None, None) => Ok(TargetSpec::Department(d)),
            (None, Some(o), None) => Ok(TargetSpec::Organisation(o)),
            (None, None, Some(c)) => Ok(TargetSpec::Channel(c)),
            _ => Err(de::Error::custom(
                "referred_to: give exactly one of department, organisation, channel",
            )),
        }
    }
}

/// `start`: a contact begins.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartStep {
    #[serde(rename = "ref")]
    pub contact: String,
    pub at: Option<Time>,
    pub channel: Option<ChannelName>,
    pub direction: Option<DirectionName>,
    pub bsn: Option<String>,
    pub kvk: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub topic: Option<String>,
    pub department: Option<String>,
    pub case_of: Option<String>,
    pub case_reference: Option<String>,
    pub request_id: Option<String>,
}

/// `complete`: a contact ends.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompleteStep {
    #[serde(rename = "ref")]
    pub contact: String,
    pub at: Option<Time>,
    pub answered_at: Option<Time>,
    pub outcome: Option<OutcomeName>,
    pub referred_to: Option<TargetSpec>,
    pub story: Option<String>,
    pub department: Option<String>,
    pub due: Option<Time>,
    pub repeated_story: Option<bool>,
    pub topic: Option<String>,
}

/// `record`: a contact registered after the fact.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordStep {
    #[serde(rename = "ref")]
    pub contact: String,
    pub started_at: Option<Time>,
    pub at: Option<Time>,
    pub channel: Option<ChannelName>,
    pub direction: Option<DirectionName>,
    pub bsn: Option<String>,
    pub kvk: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub topic: Option<String>,
    pub department: Option<String>,
    pub case_of: Option<String>,
    pub case_reference: Option<String>,
    pub request_id: Option<String>,
    pub answered_at: Option<Time>,
    pub outcome: Option<OutcomeName>,
    pub referred_to: Option<TargetSpec>,
    pub story: Option<String>,
    pub due: Option<Time>,
    pub repeated_story: Option<bool>,
    #[serde(default)]
    pub context_seen: bool,
}

/// `context`: look a party up.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContextStep {
    pub at: Option<Time>,
    pub bsn: Option<String>,
    pub kvk: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

/// `feedback`: a satisfaction answer.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedbackStep {
    #[serde(rename = "ref")]
    pub contact: String,
    pub score: Option<u32>,
    pub effort: Option<u32>,
    pub repeated_story: Option<bool>,
    pub comment: Option<String>,
}

/// `erase`: erase a party on request.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EraseStep {
    pub bsn: Option<String>,
    pub kvk: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

/// `metrics`: dashboard figures.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsStep {
    pub from: Option<Day>,
    pub to: Option<Day>,
    pub as_of: Option<Time>,
    pub channel: Option<ChannelName>,
    pub topic: Option<String>,
    pub department: Option<String>,
}

/// `thermometer`: the public service thermometer.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThermometerStep {
    pub from: Option<Day>,
    pub to: Option<Day>,
    pub as_of: Option<Time>,
}

impl<'de> Deserialize<'de> for Step {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(StepVisitor)
    }
}

struct StepVisitor;

impl<'de> Visitor<'de> for StepVisitor {
    type Value = Step;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a step: a map with one action key, an optional tenant and an optional expect")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Step, A::Error> {
        let mut action: Option<Action> = None;
        let mut tenant: Option<String> = None;
        let mut expect: Option<serde_norway::Value> = None;
        while let Some(key) = map.next_key::<String>()? {
            let parsed = match key.as_str() {
                "tenant" => {
                    if tenant.is_some() {
                        return Err(de::Error::custom("duplicate key `tenant`"));
                    }
                    let value: String = map.next_value()?;
                    if value.trim().is_empty() {
                        return Err(de::Error::custom("tenant: must not be empty"));
                    }
                    tenant = Some(value);
                    continue;
                }
                "expect" => {
                    if expect.is_some() {
                        return Err(de::Error::custom("duplicate key `expect`"));
                    }
                    expect = Some(map.next_value()?);
                    continue;
                }
                "start" => Action::Start(map.next_value()?),
                "complete" => Action::Complete(map.next_value()?),
                "record" => Action::Record(map.next_value()?),
                "context" => Action::Context(map.next_value()?),
                "feedback" => Action::Feedback(map.next_value()?),
                "erase" => Action::Erase(map.next_value()?),
                "metrics" => Action::Metrics(map.next_value()?),
                "thermometer" => Action::Thermometer(map.next_value()?),
                other => {
                    return Err(de::Error::custom(format!(
                        "unknown key `{other}` in a step; expected one of {}, tenant, expect",
                        ACTIONS.join(", ")
                    )));
                }
            };
            if let Some(first) = &action {
                return Err(de::Error::custom(format!(
                    "a step has exactly one action, this one has `{}` and `{key}`",
                    first.kind()
                )));
            }
            action = Some(parsed);
        }
        let action = action.ok_or_else(|| {
            de::Error::custom(format!(
                "a step needs one action key: one of {}",
                ACTIONS.join(", ")
            ))
        })?;
        check_refs(&action).map_err(de::Error::custom)?;
        let expect = match expect {
            None => Expect::Nothing,
            Some(value) => Expect::parse(&action, value)
                .map_err(|e| de::Error::custom(format!("{} step, expect: {e}", action.kind())))?,
        };
        Ok(Step {
            action,
            tenant,
            expect,
        })
    }
}

fn check_refs(action: &Action) -> Result<(), String> {
    if let Some(r) = action.contact_ref()
        && r.trim().is_empty()
    {
        return Err(format!("{}: ref must not be empty", action.kind()));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------
// Expectations

/// What a step's answer must be. Only the keys given are checked.
#[derive(Debug, Clone, PartialEq)]
pub enum Expect {
    /// No expectation: the call must succeed.
    Nothing,
    /// The call must fail with this code.
    Error(tonic::Code),
    /// For `start` and `record`.
    Contact(ContactExpect),
    /// For `context`.
    Context(ContextExpect),
    /// For `metrics`.
    Metrics(MetricsExpect),
    /// For `thermometer`: per norm id.
    Thermometer(BTreeMap<String, NormExpect>),
}

impl Expect {
    /// The code the call must fail with, if any.
    pub fn error(&self) -> Option<tonic::Code> {
        match self {
            Expect::Error(code) => Some(*code),
            _ => None,
        }
    }

    fn parse(action: &Action, value: serde_norway::Value) -> Result<Expect, String> {
        use serde_norway::Value;
        let mapping = match value {
            Value::Null => return Ok(Expect::Nothing),
            Value::Mapping(m) => m,
            other => return Err(format!("must be a map, got {other:?}")),
        };
        if let Some(code) = mapping.get("error") {
            // A thermometer may in principle have a norm called `error`; its value is a map.
            let is_norm = matches!(action, Action::Thermometer(_)) && code.is_mapping();
            if !is_norm {
                if mapping.len() != 1 {
                    return Err("`error` cannot be combined with other expectations".into());
                }
                let code: ErrorCode =
                    serde_norway::from_value(code.clone()).map_err(|e| format!("error: {e}"))?;
                return Ok(Expect::Error(code.0));
            }
        }
        let value = Value::Mapping(mapping);
        let expect = match action {
            Action::Start(_) | Action::Record(_) => {
                let e: ContactExpect = typed(value)?;
                if let Some(party @ PartyExpect::None) = &e.party {
                    return Err(format!("party: `{party}` is only for context steps"));
                }
                if e.signals
                    .as_ref()
                    .is_some_and(|s| s.len() != s.iter().collect::<BTreeSet<_>>().len())
                {
                    return Err("signals: a signal is listed twice".into());
                }
                Expect::Contact(e)
            }
            Action::Context(_) => {
                let e: ContextExpect = typed(value)?;
                if let Some(party @ PartyExpect::New) = &e.party {
                    return Err(format!(
                        "party: `{party}` is only for start and record steps (a look-up never makes a party)"
                    ));
                }
                Expect::Context(e)
            }
            Action::Metrics(_) => Expect::Metrics(typed(value)?),
            Action::Thermometer(_) => Expect::Thermometer(typed(value)?),
            Action::Complete(_) | Action::Feedback(_) | Action::Erase(_) => {
                return Err(format!(
                    "a {} step can only expect `error`; got {}",
                    action.kind(),
                    key_list(&value)
                ));
            }
        };
        Ok(expect)
    }
}

/// Reads an expectation of a known kind out of the buffered YAML. It goes through text
/// again (not `from_value`) so that messages keep the key path, such as `signals[1]:`;
/// the line numbers of that text would mislead, so they are cut and the caller adds
/// the step's own position.
fn typed<T: serde::de::DeserializeOwned>(value: serde_norway::Value) -> Result<T, String> {
    let text = serde_norway::to_string(&value).map_err(|e| e.to_string())?;
    serde_norway::from_str(&text).map_err(|e| {
        let message = e.to_string();
        match (e.location(), message.rfind(" at line ")) {
            (Some(_), Some(cut)) => message[..cut].to_string(),
            _ => message,
        }
    })
}

fn key_list(value: &serde_norway::Value) -> String {
    match value.as_mapping() {
        Some(m) if !m.is_empty() => m
            .keys()
            .map(|k| {
                k.as_str()
                    .map(|s| format!("`{s}`"))
                    .unwrap_or_else(|| format!("{k:?}"))
            })
            .collect::<Vec<_>>()
            .join(", "),
        _ => "nothing".into(),
    }
}

/// `party:` in an expectation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartyExpect {
    /// A party id no earlier step of the file showed.
    New,
    /// The party contact `<ref>` belongs to now.
    SameAs(String),
    Anonymous,
    Ambiguous,
    /// A look-up found nobody.
    None,
}

impl fmt::Display for PartyExpect {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            PartyExpect::New => f.write_str("new"),
            PartyExpect::SameAs(r) => write!(f, "same_as {r}"),
            PartyExpect::Anonymous => f.write_str("anonymous"),
            PartyExpect::Ambiguous => f.write_str("ambiguous"),
            PartyExpect::None => f.write_str("none"),
        }
    }
}

fn parse_same_as(s: &str) -> Option<String> {
    let rest = s.strip_prefix("same_as ")?.trim();
    (!rest.is_empty() && !rest.contains(char::is_whitespace)).then(|| rest.to_string())
}

impl<'de> Deserialize<'de> for PartyExpect {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        match s.as_str() {
            "new" => Ok(PartyExpect::New),
            "anonymous" => Ok(PartyExpect::Anonymous),
            "ambiguous" => Ok(PartyExpect::Ambiguous),
            "none" => Ok(PartyExpect::None),
            _ => parse_same_as(&s).map(PartyExpect::SameAs).ok_or_else(|| {
                de::Error::custom(format!(
                    "party: unknown value `{s}`, expected new, same_as <ref>, anonymous, ambiguous or none"
                ))
            }),
        }
    }
}

/// `case:` in an expectation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaseExpect {
    New,
    SameAs(String),
    /// No case was chosen.
    None,
}

impl fmt::Display for CaseExpect {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            CaseExpect::New => f.write_str("new"),
            CaseExpect::SameAs(r) => write!(f, "same_as {r}"),
            CaseExpect::None => f.write_str("none"),
        }
    }
}

impl<'de> Deserialize<'de> for CaseExpect {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        match s.as_str() {
            "new" => Ok(CaseExpect::New),
            "none" => Ok(CaseExpect::None),
            _ => parse_same_as(&s).map(CaseExpect::SameAs).ok_or_else(|| {
                de::Error::custom(format!(
                    "case: unknown value `{s}`, expected new, same_as <ref> or none"
                ))
            }),
        }
    }
}

/// `contact: same_as <ref>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SameContact(pub String);

impl<'de> Deserialize<'de> for SameContact {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        parse_same_as(&s).map(SameContact).ok_or_else(|| {
            de::Error::custom(format!(
                "contact: unknown value `{s}`, expected same_as <ref>"
            ))
        })
    }
}

/// Expectations of a `start` or `record` step.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactExpect {
    pub party: Option<PartyExpect>,
    pub case: Option<CaseExpect>,
    pub contact: Option<SameContact>,
    pub signals: Option<Vec<SignalName>>,
    pub referral_count: Option<u32>,
    pub stories: Option<usize>,
    pub active_cases: Option<usize>,
}

/// Expectations of a `context` step.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContextExpect {
    pub party: Option<PartyExpect>,
    pub open_cases: Option<usize>,
    pub active_cases: Option<usize>,
    pub commitments_pending: Option<usize>,
    pub commitments_overdue: Option<usize>,
}

/// A ratio that may be `null` (nothing to divide by): missing = not checked.
fn nullable<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<f64>>, D::Error> {
    Option::<f64>::deserialize(d).map(Some)
}

/// Expectations of a `metrics` step.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsExpect {
    pub contacts: Option<u64>,
    pub cases: Option<u64>,
    #[serde(default, deserialize_with = "nullable")]
    pub first_contact_resolution: Option<Option<f64>>,
    #[serde(default, deserialize_with = "nullable")]
    pub repeat_contact_rate: Option<Option<f64>>,
    #[serde(default, deserialize_with = "nullable")]
    pub referral_rate: Option<Option<f64>>,
    pub cases_referred_more_than_once: Option<u64>,
    #[serde(default, deserialize_with = "nullable")]
    pub repeat_story_rate: Option<Option<f64>>,
    pub channel_hops: Option<u64>,
    #[serde(default, deserialize_with = "nullable")]
    pub satisfaction_score: Option<Option<f64>>,
    #[serde(default, deserialize_with = "nullable")]
    pub effort_score: Option<Option<f64>>,
    pub response_time_p50: Option<BTreeMap<ChannelName, u64>>,
    pub response_time_p90: Option<BTreeMap<ChannelName, u64>>,
}

/// Expectations of one norm on the thermometer.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NormExpect {
    pub status: Option<StatusName>,
    #[serde(default, deserialize_with = "nullable")]
    pub share: Option<Option<f64>>,
    pub items: Option<u64>,
}
