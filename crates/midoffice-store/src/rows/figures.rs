//! The tallies of one unit of the figures as stored in `figure_unit.tallies`.
//!
//! Version 1: `{"v": 1, "tallies": [[kind, day, "channel", "topic", "department", a, b,
//! c, count], ...]}`: each distinct tally once with how many times the unit has it;
//! `kind` is the code of `rollup::TallyKind`, `day` the day number of
//! `rollup::day_number` (days since 1 January of year 1).

use super::{RowError, Tag, from_value, parse, to_text, version_of};
use midoffice_domain::rollup::{Tally, TallyKey, TallyKind, day_from_number, day_number};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Every version a unit row was ever written in, oldest first; the last is written.
pub const VERSIONS: [u64; 1] = [1];

/// One distinct tally and its count, version 1.
type TallyV1 = (i16, i64, String, String, String, i64, i64, i64, i64);

/// A unit's tallies, version 1.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct UnitRowV1 {
    #[serde(rename = "v")]
    version: Tag<1>,
    #[serde(rename = "tallies")]
    tallies: Vec<TallyV1>,
}

/// The row to store for a unit's tallies (counted).
pub fn encode(tallies: &BTreeMap<Tally, i64>) -> Result<String, RowError> {
    to_text(&UnitRowV1 {
        version: Tag,
        tallies: tallies
            .iter()
            .map(|(t, n)| {
                (
                    t.kind.code(),
                    day_number(t.day),
                    t.key.channel.clone(),
                    t.key.topic.clone(),
                    t.key.department.clone(),
                    t.key.a,
                    t.key.b,
                    t.key.c,
                    *n,
                )
            })
            .collect(),
    })
}

/// Reads a unit row of any version.
pub fn decode(text: &str) -> Result<BTreeMap<Tally, i64>, RowError> {
    let value = parse(text)?;
    let row: UnitRowV1 = match version_of(&value)? {
        1 => from_value(value)?,
        v => {
            return Err(RowError::new(format!(
                "figure tallies of version {v}, which this release does not know"
            )));
        }
    };
    let mut out = BTreeMap::new();
    for (kind, day, channel, topic, department, a, b, c, n) in row.tallies {
        let kind = TallyKind::from_code(i64::from(kind))
            .ok_or_else(|| RowError::new("a tally of an unknown kind"))?;
        let day = day_from_number(day).ok_or_else(|| RowError::new("a tally day out of range"))?;
        let tally = Tally {
            kind,
            day,
            key: TallyKey {
                channel,
                topic,
                department,
                a,
                b,
                c,
            },
        };
        *out.entry(tally).or_insert(0) += n;
    }
    Ok(out)
}
