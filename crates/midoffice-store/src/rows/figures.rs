//! The tallies of one unit of the figures as stored in `figure_unit.tallies`.
//!
//! Version 1: `{"v": 1, "tallies": [[kind, day, "channel", "topic", "department", a, b,
//! c, count], ...]}`: each distinct tally once with how many times the unit has it;
//! `kind` is the code of `rollup::TallyKind`, `day` the day number of
//! `rollup::day_number` (days since 1 January of year 1); an entry's `b` and `c` hold
//! day numbers (the previous contact's day, the first-contact item's day × 2 + met).
//!
//! Version 2: the same layout; an entry's `b` and `c` hold relations to its day
//! (`rollup::relation`), an answer's `a` its bucket, beside a `Seconds` tally with the
//! seconds. A version 1 row is read by converting its tallies (`rollup::from_v1`):
//! their days and seconds are known, so the conversion is exact.

use super::{RowError, Tag, from_value, parse, to_text, version_of};
use midoffice_domain::rollup::{Tally, TallyKey, TallyKind, day_from_number, day_number, from_v1};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Every version a unit row was ever written in, oldest first; the last is written.
pub const VERSIONS: [u64; 2] = [1, 2];

/// One distinct tally and its count, versions 1 and 2.
type TallyV1 = (i16, i64, String, String, String, i64, i64, i64, i64);

/// A unit's tallies, version 2.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct UnitRowV2 {
    #[serde(rename = "v")]
    version: Tag<2>,
    #[serde(rename = "tallies")]
    tallies: Vec<TallyV1>,
}

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
    to_text(&UnitRowV2 {
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
    let (tallies, day_numbers) = match version_of(&value)? {
        1 => (from_value::<UnitRowV1>(value)?.tallies, true),
        2 => (from_value::<UnitRowV2>(value)?.tallies, false),
        v => {
            return Err(RowError::new(format!(
                "figure tallies of version {v}, which this release does not know"
            )));
        }
    };
    let mut out = BTreeMap::new();
    for (kind, day, channel, topic, department, a, b, c, n) in tallies {
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
        if day_numbers {
            for t in from_v1(&tally).ok_or_else(|| RowError::new("a tally day out of range"))? {
                *out.entry(t).or_insert(0) += n;
            }
        } else {
            *out.entry(tally).or_insert(0) += n;
        }
    }
    Ok(out)
}
