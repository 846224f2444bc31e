//! The scenario file format of `shared/scenarios/README.md`, parsed strictly: an unknown
//! key, step kind, signal, outcome, channel, measure or expectation value, and a
//! duplicate key anywhere, refuse the whole file, so a typo can never pass silently.

//!
//! One module per part of a file: `scalars` (times, dates, thresholds, status codes),
//! `names` (channels, outcomes, signals, ...), `settings` (norms and calendar), `steps`
//! (one struct per kind of step) and `expect` (what a step's answer must be).

mod expect;
mod names;
mod scalars;
mod settings;
mod steps;

pub use expect::*;
pub use names::*;
pub use scalars::*;
pub use settings::*;
pub use steps::*;

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
pub(super) struct RawScenario {
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

pub(super) fn non_empty(key: &str, value: &str) -> Result<(), ParseError> {
    if value.trim().is_empty() {
        Err(ParseError(format!("{key}: must not be empty")))
    } else {
        Ok(())
    }
}
