//! The store's own formats for what it keeps as JSON in one column: a tenant's settings
//! (`tenant_settings.settings`) and the answers kept for idempotency keys
//! (`idempotency.response`), and the figure rows (`figure_unit.tallies`,
//! `figure_answer.body`).
//!
//! Each format is a set of row types that belong to the store, with explicit names
//! (`#[serde(rename)]` on every field and variant) and a version tag `"v"`, converted
//! by hand from and to the domain's types. A domain type never derives serde: renaming
//! one of its fields changes a conversion here, not what is stored.
//!
//! Rules for changing a format:
//! - A row type of a version that was ever released never changes. Golden rows of every
//!   version (`tests/golden/`) are decoded and checked field by field by `tests/golden.rs`;
//!   a change that would strand stored rows fails there.
//! - A new format is a new version: new row types, a `From` upgrade from the previous
//!   version, a reader that accepts every version ever written, and golden rows of it.
//!   Rows of older versions are read through the chain of upgrades, and a migration may
//!   rewrite them (as `m0002_versioned_rows` does for version 0).
//!
//! Version 0 (`legacy`) is what the first release wrote: serde of the domain types, no
//! version tag.

pub mod answers;
pub mod figure_answer;
pub mod figures;
mod legacy;
pub mod settings;
pub mod thermometer_answer;

use chrono::{DateTime, SecondsFormat, Utc};
use midoffice_domain::{Code, Instant};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A stored row that cannot be read. The message names the place, never a stored value
/// (a row can hold a story or a comment).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RowError(String);

impl RowError {
    fn new(what: impl Into<String>) -> Self {
        RowError(what.into())
    }

    /// A JSON error without the value it met: serde's message can quote the row (a
    /// story, a comment). A missing or unknown field is named, as keys are no data.
    fn json(e: &serde_json::Error) -> Self {
        let message = e.to_string();
        let names_a_key = ["missing field `", "unknown field `"]
            .iter()
            .any(|start| message.starts_with(start));
        let what = if names_a_key {
            message
                .split_once(", expected")
                .map_or(message.as_str(), |(head, _)| head)
                .to_owned()
        } else {
            format!("{:?} error", e.classify())
        };
        if e.line() == 0 {
            RowError(what)
        } else {
            RowError(format!("{what} at line {} column {}", e.line(), e.column()))
        }
    }
}

/// The version of a row: its `"v"`, or 0 for a row written before rows had versions.
fn version_of(value: &serde_json::Value) -> Result<u64, RowError> {
    let object = value
        .as_object()
        .ok_or_else(|| RowError::new("a row is not a JSON object"))?;
    match object.get("v") {
        None => Ok(0),
        Some(v) => v
            .as_u64()
            .ok_or_else(|| RowError::new("the version \"v\" is not a number")),
    }
}

fn parse(text: &str) -> Result<serde_json::Value, RowError> {
    serde_json::from_str(text).map_err(|e| RowError::json(&e))
}

fn from_value<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> Result<T, RowError> {
    serde_json::from_value(value).map_err(|e| RowError::json(&e))
}

fn to_text<T: Serialize>(row: &T) -> Result<String, RowError> {
    serde_json::to_string(row).map_err(|e| RowError::json(&e))
}

/// The version tag `"v": N` of a row type: writes `N`, reads only `N`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Tag<const N: u8>;

impl<const N: u8> Serialize for Tag<N> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(N)
    }
}

impl<'de, const N: u8> Deserialize<'de> for Tag<N> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let n = u8::deserialize(d)?;
        if n == N {
            Ok(Tag)
        } else {
            Err(D::Error::custom(format!(
                "version {n} where {N} was expected"
            )))
        }
    }
}

/// An instant as stored: RFC 3339 in UTC (`2025-03-04T08:30:00Z`, with a fraction
/// only when there is one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Stamp(pub Instant);

impl Serialize for Stamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.to_rfc3339_opts(SecondsFormat::AutoSi, true))
    }
}

impl<'de> Deserialize<'de> for Stamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|t| Stamp(t.with_timezone(&Utc)))
            .map_err(|_| D::Error::custom("an instant that is not RFC 3339"))
    }
}

/// A stored row that cannot be read: the data is damaged (or newer than this release),
/// not the request.
pub(crate) fn unreadable(column: &str, e: &RowError) -> crate::StoreError {
    tracing::error!(column, error = %e, "a stored row cannot be read");
    crate::StoreError::Internal(format!("unreadable stored data: {column}"))
}

fn code(raw: String, field: &str) -> Result<Code, RowError> {
    Code::parse(&raw).map_err(|_| RowError::new(format!("{field} is not a code")))
}

fn code_opt(raw: Option<String>, field: &str) -> Result<Option<Code>, RowError> {
    raw.map(|r| code(r, field)).transpose()
}

fn text_of(c: &Code) -> String {
    c.as_str().to_owned()
}

/// Declares a row enum of unit variants with explicit stored names, and its conversions
/// from and to the domain enum whose variants have the same Rust names (a domain
/// variant added or renamed fails to compile here, never silently).
macro_rules! stored_names {
    ($(#[$meta:meta])* $row:ident <=> $domain:path { $($variant:ident = $name:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
        pub enum $row {
            $(#[serde(rename = $name)] $variant),+
        }

        impl From<$domain> for $row {
            fn from(value: $domain) -> Self {
                use $domain as D;
                match value {
                    $(D::$variant => $row::$variant),+
                }
            }
        }

        impl From<$row> for $domain {
            fn from(value: $row) -> Self {
                use $domain as D;
                match value {
                    $($row::$variant => D::$variant),+
                }
            }
        }
    };
}
pub(crate) use stored_names;

/// Names of version 1, shared by the settings and the answers.
pub(crate) mod names_v1 {
    stored_names! {
        /// A channel.
        ChannelV1 <=> midoffice_domain::contact::Channel {
            Phone = "PHONE",
            Counter = "COUNTER",
            Web = "WEB",
            Email = "EMAIL",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tag_reads_only_its_own_version() {
        assert_eq!(serde_json::to_string(&Tag::<1>).unwrap(), "1");
        assert!(serde_json::from_str::<Tag<1>>("1").is_ok());
        assert!(serde_json::from_str::<Tag<1>>("2").is_err());
    }

    #[test]
    fn a_stamp_is_rfc3339_in_utc_and_keeps_microseconds() {
        let t = DateTime::parse_from_rfc3339("2025-03-04T09:30:00.123456+01:00")
            .unwrap()
            .with_timezone(&Utc);
        let text = serde_json::to_string(&Stamp(t)).unwrap();
        assert_eq!(text, "\"2025-03-04T08:30:00.123456Z\"");
        assert_eq!(serde_json::from_str::<Stamp>(&text).unwrap(), Stamp(t));
        assert!(serde_json::from_str::<Stamp>("\"4 maart\"").is_err());
    }

    #[test]
    fn versions_are_read_from_v_and_absent_means_zero() {
        assert_eq!(version_of(&parse(r#"{"norms": []}"#).unwrap()), Ok(0));
        assert_eq!(version_of(&parse(r#"{"v": 1}"#).unwrap()), Ok(1));
        assert!(version_of(&parse(r#"{"v": "1"}"#).unwrap()).is_err());
        assert!(version_of(&parse("[]").unwrap()).is_err());
    }

    #[test]
    fn a_json_error_does_not_quote_the_row_but_names_a_key() {
        let e = serde_json::from_str::<u8>("\"geheim verhaal\"").unwrap_err();
        let message = RowError::json(&e).to_string();
        assert!(!message.contains("geheim"), "{message}");
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Row {
            story: String,
        }
        let e = serde_json::from_str::<Row>(r#"{"verhaal": "geheim"}"#).unwrap_err();
        let message = RowError::json(&e).to_string();
        assert!(message.starts_with("unknown field `verhaal`"), "{message}");
        assert!(!message.contains("geheim"), "{message}");
        let e = serde_json::from_value::<Row>(serde_json::json!({})).unwrap_err();
        assert_eq!(RowError::json(&e).to_string(), "missing field `story`");
    }
}
