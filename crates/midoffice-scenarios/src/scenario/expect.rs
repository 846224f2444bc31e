//! Expectations: what a step's answer must be. Only the keys given are checked.

use super::*;

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

    pub(super) fn parse(action: &Action, value: serde_norway::Value) -> Result<Expect, String> {
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
pub(super) fn typed<T: serde::de::DeserializeOwned>(
    value: serde_norway::Value,
) -> Result<T, String> {
    let text = serde_norway::to_string(&value).map_err(|e| e.to_string())?;
    serde_norway::from_str(&text).map_err(|e| {
        let message = e.to_string();
        match (e.location(), message.rfind(" at line ")) {
            (Some(_), Some(cut)) => message[..cut].to_string(),
            _ => message,
        }
    })
}

pub(super) fn key_list(value: &serde_norway::Value) -> String {
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

pub(super) fn parse_same_as(s: &str) -> Option<String> {
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
pub(super) fn nullable<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<f64>>, D::Error> {
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
