//! The steps: one struct per kind, read strictly.

use super::*;

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

pub(super) const ACTIONS: &[&str] = &[
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

pub(super) struct StepVisitor;

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

pub(super) fn check_refs(action: &Action) -> Result<(), String> {
    if let Some(r) = action.contact_ref()
        && r.trim().is_empty()
    {
        return Err(format!("{}: ref must not be empty", action.kind()));
    }
    Ok(())
}
