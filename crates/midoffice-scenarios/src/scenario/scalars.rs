//! Scalars: instants, dates, norm thresholds and gRPC status codes.

use super::*;

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

pub(super) const ERROR_CODES: &[tonic::Code] = &[
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
