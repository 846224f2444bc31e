//! Conversions between the protobuf messages and the domain types.
//!
//! Inbound, every invalid field is collected as a [`FieldViolation`], so one answer
//! tells the caller everything that is wrong. A conversion names fields relative to the
//! message it converts (`outcome`, `norms[0].target`); the request field holding that
//! message is put in front once, by [`nested`] or [`required`], where the service knows
//! the request's shape (`completion.outcome`, `settings.norms[0].target`).
//! Outbound conversions cannot fail.
//!
//! [`FieldViolation`]: midoffice_domain::FieldViolation

pub mod benchmark;
pub mod command;
pub mod figures;
pub mod page;
pub mod settings;
pub mod view;

use crate::pb;
use chrono::{DateTime, NaiveDate};
use midoffice_domain::contact::{Channel, Direction, Outcome};
use midoffice_domain::identifier::{IdentKey, Pseudonymiser, parse_identifiers};
use midoffice_domain::limits::{MAX_REQUEST_ID_CHARS, YEARS};
use midoffice_domain::text::check_text;
use midoffice_domain::{Code, Instant, Violations};
use midoffice_store::Idempotency;
use uuid::Uuid;

/// The first second accepted in a timestamp: 1970-01-01T00:00:00Z, the start of
/// [`YEARS`]. A contact centre has no events before it, and refusing them keeps every
/// later computation in range.
const MIN_TIMESTAMP_SECS: i64 = 0;
/// The last second of [`YEARS`], also the last a `google.protobuf.Timestamp` may hold:
/// 9999-12-31T23:59:59Z.
const MAX_TIMESTAMP_SECS: i64 = 253_402_300_799;

/// Puts the violations of a message under the request field that holds it
/// (`identifiers` + `bsn` = `identifiers.bsn`): the one place a path gets its prefix.
pub fn nested<T>(field: &str, result: Result<T, Violations>) -> Result<T, Violations> {
    result.map_err(|v| v.prefixed(field))
}

/// A required message field: `is required` when unset, else converted with `convert`
/// and its violations put under `field`.
pub fn required<'a, M, T>(
    field: &str,
    message: Option<&'a M>,
    convert: impl FnOnce(&'a M) -> Result<T, Violations>,
) -> Result<T, Violations> {
    match message {
        None => Err(Violations::one(field, "is required")),
        Some(m) => nested(field, convert(m)),
    }
}

/// Adds the violations of `result` to `v`; the value when there were none.
pub fn collect<T>(v: &mut Violations, result: Result<T, Violations>) -> Option<T> {
    match result {
        Ok(t) => Some(t),
        Err(e) => {
            v.0.extend(e.0);
            None
        }
    }
}

/// Keeps `Ok` values and records an `Err` as a violation of `field`.
pub(crate) fn take<T>(
    result: Result<T, String>,
    field: impl Into<String>,
    v: &mut Violations,
) -> Option<T> {
    match result {
        Ok(value) => Some(value),
        Err(why) => {
            v.add(field, why);
            None
        }
    }
}

/// An instant from a protobuf timestamp, refusing values outside 1970..=9999.
pub fn instant(ts: &prost_types::Timestamp) -> Result<Instant, String> {
    let nanos = u32::try_from(ts.nanos).ok().filter(|n| *n < 1_000_000_000);
    match nanos {
        Some(nanos) if (MIN_TIMESTAMP_SECS..=MAX_TIMESTAMP_SECS).contains(&ts.seconds) => {
            DateTime::from_timestamp(ts.seconds, nanos)
                .ok_or_else(|| "is not a valid timestamp".to_owned())
        }
        _ => Err("is not a valid timestamp (between 1970 and 9999)".into()),
    }
}

/// A required instant; records a violation of `field` when it is missing or invalid.
pub(crate) fn required_instant(
    ts: Option<&prost_types::Timestamp>,
    field: &str,
    v: &mut Violations,
) -> Option<Instant> {
    match ts {
        None => {
            v.add(field, "is required");
            None
        }
        Some(ts) => take(instant(ts), field, v),
    }
}

/// An optional instant: `Ok(None)` when unset; records a violation when invalid.
pub(crate) fn optional_instant(
    ts: Option<&prost_types::Timestamp>,
    field: &str,
    v: &mut Violations,
) -> Result<Option<Instant>, ()> {
    match ts {
        None => Ok(None),
        Some(ts) => take(instant(ts), field, v).map(Some).ok_or(()),
    }
}

/// A protobuf timestamp from an instant.
pub fn timestamp(t: Instant) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        // Below 10^9 by construction, so it fits an i32.
        nanos: i32::try_from(t.timestamp_subsec_nanos()).unwrap_or(0),
    }
}

/// A calendar date from a protobuf date, refusing impossible dates and years outside
/// 1970..=9999.
pub fn date(d: &pb::Date) -> Result<NaiveDate, String> {
    let month = u32::try_from(d.month).ok();
    let day = u32::try_from(d.day).ok();
    match (month, day) {
        (Some(month), Some(day)) if YEARS.contains(&d.year) => {
            NaiveDate::from_ymd_opt(d.year, month, day)
        }
        _ => None,
    }
    .ok_or_else(|| {
        "is not a valid date (year 1970 to 9999, month 1 to 12, a day of that month)".into()
    })
}

/// A protobuf date from a calendar date.
pub fn pb_date(d: NaiveDate) -> pb::Date {
    use chrono::Datelike;
    pb::Date {
        year: d.year(),
        // Months and days are small, so they fit an i32.
        month: i32::try_from(d.month()).unwrap_or(0),
        day: i32::try_from(d.day()).unwrap_or(0),
    }
}

/// A required channel: UNSPECIFIED and unknown values are refused.
pub fn channel(raw: i32) -> Result<Channel, String> {
    optional_channel(raw)?.ok_or_else(|| "is required: PHONE, COUNTER, WEB or EMAIL".into())
}

/// An optional channel: UNSPECIFIED is absent; unknown values are refused.
pub fn optional_channel(raw: i32) -> Result<Option<Channel>, String> {
    match pb::Channel::try_from(raw) {
        Ok(pb::Channel::Unspecified) => Ok(None),
        Ok(pb::Channel::Phone) => Ok(Some(Channel::Phone)),
        Ok(pb::Channel::Counter) => Ok(Some(Channel::Counter)),
        Ok(pb::Channel::Web) => Ok(Some(Channel::Web)),
        Ok(pb::Channel::Email) => Ok(Some(Channel::Email)),
        Err(_) => Err("is not a known channel: PHONE, COUNTER, WEB or EMAIL".into()),
    }
}

/// A direction: UNSPECIFIED is INBOUND; unknown values are refused.
pub fn direction(raw: i32) -> Result<Direction, String> {
    match pb::Direction::try_from(raw) {
        Ok(pb::Direction::Unspecified | pb::Direction::Inbound) => Ok(Direction::Inbound),
        Ok(pb::Direction::Outbound) => Ok(Direction::Outbound),
        Err(_) => Err("is not a known direction: INBOUND or OUTBOUND".into()),
    }
}

/// A required outcome: UNSPECIFIED and unknown values are refused.
pub fn outcome(raw: i32) -> Result<Outcome, String> {
    match pb::Outcome::try_from(raw) {
        Ok(pb::Outcome::Resolved) => Ok(Outcome::Resolved),
        Ok(pb::Outcome::Referred) => Ok(Outcome::Referred),
        Ok(pb::Outcome::HandedOff) => Ok(Outcome::HandedOff),
        Ok(pb::Outcome::Callback) => Ok(Outcome::Callback),
        Ok(pb::Outcome::Abandoned) => Ok(Outcome::Abandoned),
        Ok(pb::Outcome::Unspecified) => {
            Err("is required: RESOLVED, REFERRED, HANDED_OFF, CALLBACK or ABANDONED".into())
        }
        Err(_) => Err(
            "is not a known outcome: RESOLVED, REFERRED, HANDED_OFF, CALLBACK or ABANDONED".into(),
        ),
    }
}

impl From<Channel> for pb::Channel {
    fn from(c: Channel) -> Self {
        match c {
            Channel::Phone => pb::Channel::Phone,
            Channel::Counter => pb::Channel::Counter,
            Channel::Web => pb::Channel::Web,
            Channel::Email => pb::Channel::Email,
        }
    }
}

impl From<Direction> for pb::Direction {
    fn from(d: Direction) -> Self {
        match d {
            Direction::Inbound => pb::Direction::Inbound,
            Direction::Outbound => pb::Direction::Outbound,
        }
    }
}

impl From<Outcome> for pb::Outcome {
    fn from(o: Outcome) -> Self {
        match o {
            Outcome::Resolved => pb::Outcome::Resolved,
            Outcome::Referred => pb::Outcome::Referred,
            Outcome::HandedOff => pb::Outcome::HandedOff,
            Outcome::Callback => pb::Outcome::Callback,
            Outcome::Abandoned => pb::Outcome::Abandoned,
        }
    }
}

/// An optional code (topic, department): empty is absent.
pub(crate) fn optional_code(
    raw: &str,
    field: &str,
    v: &mut Violations,
) -> Result<Option<Code>, ()> {
    take(Code::parse_optional(raw), field, v).ok_or(())
}

/// A required UUID. The error never echoes the value (it might be anything).
pub fn uuid(raw: &str) -> Result<Uuid, String> {
    if raw.is_empty() {
        return Err("is required".into());
    }
    Uuid::parse_str(raw)
        .map_err(|_| "must be a UUID such as 0190c8a0-7e1b-7c3a-9f00-0123456789ab".into())
}

/// An optional UUID: empty is absent.
pub fn optional_uuid(raw: &str) -> Result<Option<Uuid>, String> {
    if raw.is_empty() {
        Ok(None)
    } else {
        uuid(raw).map(Some)
    }
}

/// A required id field of a request (`contact_id`) as a violation list.
pub fn required_id(raw: &str, field: &str) -> Result<Uuid, Violations> {
    uuid(raw).map_err(|why| Violations::one(field, why))
}

/// The identifiers of a request, parsed, normalised and keyed. Violations name `bsn`
/// and so on; the clear values are dropped here.
pub fn identifier_keys(
    ids: &pb::Identifiers,
    pseudonymiser: &Pseudonymiser,
) -> Result<Vec<IdentKey>, Violations> {
    let parsed = parse_identifiers(&ids.bsn, &ids.kvk, &ids.email, &ids.phone)?;
    Ok(parsed.iter().map(|id| pseudonymiser.key(id)).collect())
}

/// A request that carries an idempotency key (AIP-155).
pub trait IdempotentRequest: prost::Message + Clone {
    /// The operation's name, part of the fingerprint so one key cannot match two kinds
    /// of request.
    const OPERATION: &'static str;
    /// The `request_id` field.
    fn request_id_mut(&mut self) -> &mut String;
}

macro_rules! idempotent {
    ($($ty:ident => $op:literal),* $(,)?) => {$(
        impl IdempotentRequest for pb::$ty {
            const OPERATION: &'static str = $op;
            fn request_id_mut(&mut self) -> &mut String {
                &mut self.request_id
            }
        }
    )*};
}

idempotent! {
    StartContactRequest => "StartContact",
    CompleteContactRequest => "CompleteContact",
    RecordContactRequest => "RecordContact",
    SubmitFeedbackRequest => "SubmitFeedback",
}

/// The idempotency of a request: `None` without a `request_id`; else the key with the
/// fingerprint of the request without it, so the same key with another request can be
/// refused. The request may hold a BSN, so the fingerprint is keyed with the deployment
/// secret (an unkeyed hash of it could be brute-forced).
pub fn idempotency<R: IdempotentRequest>(
    request: &R,
    pseudonymiser: &Pseudonymiser,
) -> Result<Option<Idempotency>, Violations> {
    let mut rest = request.clone();
    let key = std::mem::take(rest.request_id_mut());
    if key.is_empty() {
        return Ok(None);
    }
    check_text(&key, MAX_REQUEST_ID_CHARS).map_err(|why| Violations::one("request_id", why))?;
    Ok(Some(Idempotency {
        key,
        fingerprint: pseudonymiser.fingerprint(R::OPERATION, &rest.encode_to_vec()),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(v: &Violations) -> Vec<&str> {
        v.0.iter().map(|f| f.field.as_str()).collect()
    }

    #[test]
    fn timestamps_round_trip_and_refuse_out_of_range() {
        let ts = prost_types::Timestamp {
            seconds: 1_700_000_000,
            nanos: 123_000_000,
        };
        let t = instant(&ts).unwrap();
        assert_eq!(timestamp(t), ts);
        assert!(
            instant(&prost_types::Timestamp {
                seconds: -1,
                nanos: 0
            })
            .is_err()
        );
        assert!(
            instant(&prost_types::Timestamp {
                seconds: 0,
                nanos: -1
            })
            .is_err()
        );
        assert!(
            instant(&prost_types::Timestamp {
                seconds: 0,
                nanos: 1_000_000_000
            })
            .is_err()
        );
        assert!(
            instant(&prost_types::Timestamp {
                seconds: i64::MAX,
                nanos: 0
            })
            .is_err()
        );
    }

    #[test]
    fn dates_must_exist() {
        assert!(
            date(&pb::Date {
                year: 2024,
                month: 2,
                day: 29
            })
            .is_ok()
        );
        assert!(
            date(&pb::Date {
                year: 2023,
                month: 2,
                day: 29
            })
            .is_err()
        );
        assert!(
            date(&pb::Date {
                year: 2024,
                month: -1,
                day: 1
            })
            .is_err()
        );
        assert!(
            date(&pb::Date {
                year: 0,
                month: 1,
                day: 1
            })
            .is_err()
        );
        let d = NaiveDate::from_ymd_opt(2025, 4, 18).unwrap();
        assert_eq!(date(&pb_date(d)), Ok(d));
    }

    #[test]
    fn enums_refuse_unspecified_and_unknown_values() {
        assert_eq!(channel(pb::Channel::Phone as i32), Ok(Channel::Phone));
        assert!(channel(0).is_err());
        assert!(channel(99).is_err());
        assert_eq!(optional_channel(0), Ok(None));
        assert_eq!(direction(0), Ok(Direction::Inbound));
        assert!(direction(7).is_err());
        assert!(outcome(0).is_err());
        assert_eq!(
            outcome(pb::Outcome::Abandoned as i32),
            Ok(Outcome::Abandoned)
        );
    }

    #[test]
    fn identifiers_are_keyed_and_violations_get_the_path_once() {
        let p = Pseudonymiser::new(b"a test secret of some length");
        let mut v = Violations::default();
        let ids = pb::Identifiers {
            bsn: "111222333".into(),
            email: "A@Example.nl ".into(),
            ..Default::default()
        };
        let keys = identifier_keys(&ids, &p).unwrap();
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[0].display.as_deref(), Some("******333"));
        assert!(!keys[0].hash.contains("111222333"));

        let bad = pb::Identifiers {
            bsn: "123456789".into(),
            phone: "abc".into(),
            ..Default::default()
        };
        v.0.extend(
            nested("start.identifiers", identifier_keys(&bad, &p))
                .unwrap_err()
                .0,
        );
        assert_eq!(
            fields(&v),
            ["start.identifiers.bsn", "start.identifiers.phone"]
        );
        assert!(!v.to_string().contains("123456789"));
    }

    #[test]
    fn idempotency_fingerprints_the_request_without_its_key() {
        let p = Pseudonymiser::new(b"test secret");
        let mut a = pb::SubmitFeedbackRequest {
            request_id: "k1".into(),
            contact_id: Uuid::nil().to_string(),
            score: 4,
            ..Default::default()
        };
        let first = idempotency(&a, &p).unwrap().unwrap();
        assert_eq!(first.key, "k1");
        a.request_id = "k2".into();
        assert_eq!(
            idempotency(&a, &p).unwrap().unwrap().fingerprint,
            first.fingerprint
        );
        a.score = 5;
        assert_ne!(
            idempotency(&a, &p).unwrap().unwrap().fingerprint,
            first.fingerprint
        );
        // Keyed: another deployment's secret gives another fingerprint.
        assert_ne!(
            idempotency(&a, &Pseudonymiser::new(b"other"))
                .unwrap()
                .unwrap()
                .fingerprint,
            idempotency(&a, &p).unwrap().unwrap().fingerprint
        );
        a.request_id.clear();
        assert_eq!(idempotency(&a, &p).unwrap(), None);
        a.request_id = "x".repeat(101);
        assert_eq!(fields(&idempotency(&a, &p).unwrap_err()), ["request_id"]);
        a.request_id = "k1\0".into();
        assert_eq!(fields(&idempotency(&a, &p).unwrap_err()), ["request_id"]);
    }

    #[test]
    fn uuids_are_checked_without_echoing_the_value() {
        assert!(uuid(&Uuid::nil().to_string()).is_ok());
        let why = uuid("111222333").unwrap_err();
        assert!(!why.contains("111222333"));
        assert_eq!(optional_uuid(""), Ok(None));
    }
}
