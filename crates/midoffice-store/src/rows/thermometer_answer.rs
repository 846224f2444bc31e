//! One period's thermometer as kept in `figure_answer.body` (`what` = `thermometer`),
//! so that any process answers a period that any process computed before
//! (`crate::figure_cache`).
//!
//! Version 1: `{"v": 1, "m": [[norm id, met, items], ...], "after": microseconds or
//! null}`: each norm's counts, and the instant after which they hold (the latest
//! deadline of an item that counted as missed because it passed; `null`: none). Only a
//! settled period is kept (no item pending with a later deadline), so the counts are
//! the same at every moment after `after`. Titles, targets, statuses and explanations
//! are not kept: they are the tenant's current settings', applied when the row is read
//! (`figures::norm_result`), as a period computed anew would.
//!
//! A kept answer is a cache, not a record: a row this release cannot read is computed
//! again and replaced.

use super::{RowError, Tag, from_value, parse, to_text, version_of};
use midoffice_domain::figures::{NormResult, norm_result};
use midoffice_domain::settings::TenantSettings;
use midoffice_domain::{Code, Instant};
use serde::{Deserialize, Serialize};

/// Every version a thermometer answer row was ever written in, oldest first; the last
/// is written.
pub const VERSIONS: [u64; 1] = [1];

/// A period's thermometer counts, version 1.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThermometerAnswerV1 {
    #[serde(rename = "v")]
    version: Tag<1>,
    #[serde(rename = "m")]
    norms: Vec<(String, u64, u64)>,
    #[serde(rename = "after")]
    after: Option<i64>,
}

/// A thermometer answer as read: each norm's met and items, and the instant after
/// which they hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThermometerCounts {
    pub norms: Vec<(Code, u64, u64)>,
    pub after: Option<Instant>,
}

impl ThermometerCounts {
    /// The thermometer under these settings: every norm's line from its kept counts;
    /// `None` when a norm has none kept (the settings' norms changed).
    pub fn judged(&self, settings: &TenantSettings) -> Option<Vec<NormResult>> {
        settings
            .norms
            .iter()
            .map(|norm| {
                let (_, met, items) = self.norms.iter().find(|(id, _, _)| *id == norm.id)?;
                Some(norm_result(norm, *met, *items))
            })
            .collect()
    }
}

/// The row to store for a period's thermometer that holds after `after`.
pub fn encode(results: &[NormResult], after: Option<Instant>) -> Result<String, RowError> {
    to_text(&ThermometerAnswerV1 {
        version: Tag,
        norms: results
            .iter()
            .map(|r| (r.norm_id.as_str().to_owned(), r.met, r.items))
            .collect(),
        after: after.map(|t| t.timestamp_micros()),
    })
}

/// Reads a thermometer answer row of any version.
pub fn decode(text: &str) -> Result<ThermometerCounts, RowError> {
    let value = parse(text)?;
    let row = match version_of(&value)? {
        1 => from_value::<ThermometerAnswerV1>(value)?,
        v => {
            return Err(RowError::new(format!(
                "a thermometer answer of version {v}, which this release does not know"
            )));
        }
    };
    let norms = row
        .norms
        .into_iter()
        .map(|(id, met, items)| {
            Code::parse(&id)
                .map(|id| (id, met, items))
                .map_err(|_| RowError::new("a thermometer answer's norm id is not a code"))
        })
        .collect::<Result<_, _>>()?;
    let after = match row.after {
        None => None,
        Some(m) => Some(
            chrono::DateTime::from_timestamp_micros(m)
                .ok_or_else(|| RowError::new("a thermometer answer's \"after\" is out of range"))?,
        ),
    };
    Ok(ThermometerCounts { norms, after })
}
