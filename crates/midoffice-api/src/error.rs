//! The one mapping from errors to gRPC statuses (AIP-193).
//!
//! Every status carries a `google.rpc.ErrorInfo`: a `reason` in UPPER_SNAKE_CASE that a
//! client may branch on, the domain [`ERROR_DOMAIN`], and metadata that names the
//! request field concerned or a log reference, never personal data. Invalid input
//! answers INVALID_ARGUMENT with a `google.rpc.BadRequest` listing every field
//! violation besides. Store trouble answers UNAVAILABLE or INTERNAL with a generic
//! message and a reference; the details go to the log under that reference, never to
//! the client.

use midoffice_domain::contact::Channel;
use midoffice_domain::{DomainError, Duplicate, Missing, Precondition, Violations};
use midoffice_store::StoreError;
use std::collections::HashMap;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, FieldViolation, StatusExt};
use uuid::Uuid;

/// The `domain` of every ErrorInfo: the name under which the reasons are defined.
pub const ERROR_DOMAIN: &str = "midoffice";

/// The reason of INVALID_ARGUMENT with field violations (see the BadRequest detail).
pub const INVALID_FIELDS: &str = "INVALID_FIELDS";
/// The reason of INVALID_ARGUMENT when the bytes are not a request: not protobuf of the
/// request's type, or not gRPC framing (a truncated frame, a bad compression flag).
pub const MALFORMED_MESSAGE: &str = "MALFORMED_MESSAGE";
/// The reason of RESOURCE_EXHAUSTED for a request over the largest message size.
pub const MESSAGE_TOO_LARGE: &str = "MESSAGE_TOO_LARGE";
/// The reason of RESOURCE_EXHAUSTED when the figure calls' budget stayed full.
pub const FIGURES_BUSY: &str = "FIGURES_BUSY";
/// The reason of RESOURCE_EXHAUSTED when the server's budget of calls stayed full.
pub const SERVER_BUSY: &str = "SERVER_BUSY";
/// The reason of DEADLINE_EXCEEDED: the caller's deadline (or the server's longest
/// call) passed before the answer.
pub const DEADLINE_EXCEEDED: &str = "DEADLINE_EXCEEDED";

/// Why a request failed, as the API answers it.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A rule refused the request.
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// A refusal about a field the call names otherwise than the refusal's usual field
    /// (a case id is `start.case_id` in a start, `case_id` in a listing).
    #[error("{error}")]
    RefusedAt {
        error: DomainError,
        field: &'static str,
    },
    /// The store cannot be reached or is overloaded; the detail is for the log only.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// Anything else; the detail is for the log only.
    #[error("internal error: {0}")]
    Internal(String),
    /// No credential, or one that is not valid (UNAUTHENTICATED). The message never
    /// holds the credential itself.
    #[error("{message}")]
    Unauthenticated {
        /// The ErrorInfo reason, such as `CREDENTIAL_MISSING`.
        reason: &'static str,
        message: String,
    },
    /// The request is valid but the state it needs is not there (FAILED_PRECONDITION),
    /// for a refusal the API decides itself (the benchmark's: not taking part, not
    /// composed yet, not a member).
    #[error("{message}")]
    Precondition {
        /// The ErrorInfo reason, such as `BENCHMARK_NOT_TAKING_PART`.
        reason: &'static str,
        /// The request field concerned, for the ErrorInfo metadata.
        field: &'static str,
        message: String,
    },
    /// A valid credential that may not do this (PERMISSION_DENIED).
    #[error("{message}")]
    PermissionDenied {
        /// The ErrorInfo reason, such as `ROLE_NOT_GRANTED`.
        reason: &'static str,
        message: String,
    },
}

impl ApiError {
    /// An INVALID_ARGUMENT naming one field.
    pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> Self {
        ApiError::Domain(DomainError::invalid(field, description))
    }

    /// PERMISSION_DENIED (`CHANNEL_NOT_GRANTED`): the credential is limited to other
    /// channels than `channel`.
    pub fn channel_not_granted(channel: Channel) -> Self {
        ApiError::PermissionDenied {
            reason: crate::auth::CHANNEL_NOT_GRANTED,
            message: format!(
                "this credential may not act for channel {}",
                channel.as_str()
            ),
        }
    }
}

impl From<Violations> for ApiError {
    fn from(v: Violations) -> Self {
        ApiError::Domain(DomainError::Invalid(v))
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Domain(e) => ApiError::Domain(e),
            StoreError::ChannelNotGranted(channel) => ApiError::channel_not_granted(channel),
            StoreError::Unavailable(detail) => ApiError::Unavailable(detail),
            StoreError::Internal(detail) => ApiError::Internal(detail),
            StoreError::NewerDatabase(names) => ApiError::Internal(format!(
                "the database is newer than this midoffice: {}",
                names.join(", ")
            )),
        }
    }
}

impl From<ApiError> for Status {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::Domain(e) => domain_status(e, None),
            ApiError::RefusedAt { error, field } => domain_status(error, Some(field)),
            ApiError::Unavailable(detail) => {
                let reference = Uuid::now_v7();
                tracing::warn!(%reference, error = %detail, "store unavailable");
                status(
                    Code::Unavailable,
                    "STORE_UNAVAILABLE",
                    format!(
                        "the service is temporarily unavailable, try again later (reference {reference})"
                    ),
                    reference_metadata(reference),
                )
            }
            ApiError::Unauthenticated { reason, message } => {
                status(Code::Unauthenticated, reason, message, HashMap::new())
            }
            ApiError::PermissionDenied { reason, message } => {
                status(Code::PermissionDenied, reason, message, HashMap::new())
            }
            ApiError::Precondition {
                reason,
                field,
                message,
            } => status(
                Code::FailedPrecondition,
                reason,
                format!("{field}: {message}"),
                field_metadata(field),
            ),
            ApiError::Internal(detail) => {
                let reference = Uuid::now_v7();
                tracing::error!(%reference, error = %detail, "internal error");
                status(
                    Code::Internal,
                    "INTERNAL_ERROR",
                    format!("internal error (reference {reference})"),
                    reference_metadata(reference),
                )
            }
        }
    }
}

/// The code, the reason and the request field of every refusal: one exhaustive match,
/// so a new kind of refusal does not compile until it has its reason.
fn domain_status(e: DomainError, field_named: Option<&str>) -> Status {
    let (code, reason, field, why) = match e {
        DomainError::Invalid(v) => return invalid_status(v),
        DomainError::RequestIdReused => {
            let mut details = ErrorDetails::with_bad_request(vec![FieldViolation::new(
                "request_id",
                "was used before for a different request",
            )]);
            details.set_error_info(
                "REQUEST_ID_REUSED",
                ERROR_DOMAIN,
                field_metadata("request_id"),
            );
            return Status::with_error_details(
                Code::InvalidArgument,
                "request_id: was used before for a different request",
                details,
            );
        }
        DomainError::NotFound(m) => {
            let (reason, field) = match m {
                Missing::Contact => ("CONTACT_NOT_FOUND", "contact_id"),
                Missing::Case => ("CASE_NOT_FOUND", "start.case_id"),
                Missing::Party => ("PARTY_NOT_FOUND", "identifiers"),
            };
            (Code::NotFound, reason, field, m.to_string())
        }
        DomainError::FailedPrecondition(p) => {
            let (reason, field) = match p {
                Precondition::ContactCompleted => ("CONTACT_ALREADY_COMPLETED", "contact_id"),
                Precondition::ContactNotCompleted => ("CONTACT_NOT_COMPLETED", "contact_id"),
                Precondition::PartyAmbiguous => ("PARTY_AMBIGUOUS", "identifiers"),
                Precondition::PartyErased => ("PARTY_ERASED", "request_id"),
                Precondition::AnswerExpired => ("ANSWER_EXPIRED", "request_id"),
            };
            (Code::FailedPrecondition, reason, field, p.to_string())
        }
        DomainError::AlreadyExists(d) => {
            let (reason, field) = match d {
                Duplicate::Feedback => ("FEEDBACK_ALREADY_GIVEN", "contact_id"),
            };
            (Code::AlreadyExists, reason, field, d.to_string())
        }
    };
    let field = field_named.unwrap_or(field);
    status(
        code,
        reason,
        format!("{field}: {why}"),
        field_metadata(field),
    )
}

/// ErrorInfo metadata naming the request field concerned.
fn field_metadata(field: &str) -> HashMap<String, String> {
    HashMap::from([("field".to_owned(), field.to_owned())])
}

/// ErrorInfo metadata with the reference under which the detail was logged.
fn reference_metadata(reference: Uuid) -> HashMap<String, String> {
    HashMap::from([("reference".to_owned(), reference.to_string())])
}

/// A status with an ErrorInfo detail.
fn status(code: Code, reason: &str, message: String, metadata: HashMap<String, String>) -> Status {
    Status::with_error_details(
        code,
        message,
        ErrorDetails::with_error_info(reason, ERROR_DOMAIN, metadata),
    )
}

/// INVALID_ARGUMENT for bytes that are not a request (reason [`MALFORMED_MESSAGE`]).
/// `detail` comes from the decoder (a field number, a wire type, a framing fault) and
/// never holds request data.
pub fn malformed_status(detail: &str) -> Status {
    status(
        Code::InvalidArgument,
        MALFORMED_MESSAGE,
        format!("the request is not a valid message: {detail}"),
        HashMap::new(),
    )
}

/// RESOURCE_EXHAUSTED for a request over `limit` bytes (reason [`MESSAGE_TOO_LARGE`]).
pub fn too_large_status(limit: usize) -> Status {
    status(
        Code::ResourceExhausted,
        MESSAGE_TOO_LARGE,
        format!("the request is larger than {limit} bytes"),
        HashMap::from([("limit".to_owned(), limit.to_string())]),
    )
}

/// RESOURCE_EXHAUSTED when a budget of calls stayed full for `waited`: the caller may
/// retry with back-off.
pub fn busy_status(reason: &str, waited: std::time::Duration) -> Status {
    status(
        Code::ResourceExhausted,
        reason,
        format!(
            "too many calls in progress, try again later (waited {} ms)",
            waited.as_millis()
        ),
        HashMap::new(),
    )
}

/// DEADLINE_EXCEEDED after `after` (reason [`DEADLINE_EXCEEDED`]); what the call did
/// meanwhile was rolled back unless it had committed.
pub fn deadline_status(after: std::time::Duration) -> Status {
    status(
        Code::DeadlineExceeded,
        DEADLINE_EXCEEDED,
        format!("the deadline of {} ms passed", after.as_millis()),
        HashMap::new(),
    )
}

/// INVALID_ARGUMENT with a BadRequest detail holding every field violation, and an
/// ErrorInfo with the reason [`INVALID_FIELDS`].
pub fn invalid_status(v: Violations) -> Status {
    let message = if v.is_empty() {
        "invalid request".to_owned()
    } else {
        format!("invalid request: {v}")
    };
    let violations: Vec<FieldViolation> =
        v.0.into_iter()
            .map(|f| FieldViolation::new(f.field, f.description))
            .collect();
    let mut details = ErrorDetails::with_bad_request(violations);
    // The fields are in the BadRequest detail; the ErrorInfo only says why.
    details.set_error_info(INVALID_FIELDS, ERROR_DOMAIN, HashMap::new());
    Status::with_error_details(Code::InvalidArgument, message, details)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(e: StoreError) -> Status {
        Status::from(ApiError::from(e))
    }

    #[test]
    fn invalid_input_carries_bad_request_field_violations() {
        let mut v = Violations::default();
        v.add("start.topic", "must be a code");
        v.add("completion.outcome", "is required");
        let s = status(StoreError::Domain(DomainError::Invalid(v)));
        assert_eq!(s.code(), Code::InvalidArgument);
        let details = s.get_error_details();
        let bad = details.bad_request().expect("a BadRequest detail");
        let fields: Vec<&str> = bad
            .field_violations
            .iter()
            .map(|f| f.field.as_str())
            .collect();
        assert_eq!(fields, ["start.topic", "completion.outcome"]);
        assert_eq!(bad.field_violations[1].description, "is required");
        assert!(s.message().contains("start.topic"));
        assert_eq!(
            details.error_info().map(|i| i.reason.as_str()),
            Some(INVALID_FIELDS)
        );
    }

    /// The reason, domain and `field` metadata of a status's ErrorInfo.
    fn info(s: &Status) -> (String, String, Option<String>) {
        let details = s.get_error_details();
        let info = details.error_info().expect("an ErrorInfo detail");
        (
            info.reason.clone(),
            info.domain.clone(),
            info.metadata.get("field").cloned(),
        )
    }

    #[test]
    fn every_kind_has_its_code_and_reason() {
        use DomainError as D;
        let cases = [
            (
                D::invalid("x", "why"),
                Code::InvalidArgument,
                "INVALID_FIELDS",
                None,
            ),
            (
                D::RequestIdReused,
                Code::InvalidArgument,
                "REQUEST_ID_REUSED",
                Some("request_id"),
            ),
            (
                D::NotFound(Missing::Contact),
                Code::NotFound,
                "CONTACT_NOT_FOUND",
                Some("contact_id"),
            ),
            (
                D::NotFound(Missing::Case),
                Code::NotFound,
                "CASE_NOT_FOUND",
                Some("start.case_id"),
            ),
            (
                D::NotFound(Missing::Party),
                Code::NotFound,
                "PARTY_NOT_FOUND",
                Some("identifiers"),
            ),
            (
                D::FailedPrecondition(Precondition::ContactCompleted),
                Code::FailedPrecondition,
                "CONTACT_ALREADY_COMPLETED",
                Some("contact_id"),
            ),
            (
                D::FailedPrecondition(Precondition::ContactNotCompleted),
                Code::FailedPrecondition,
                "CONTACT_NOT_COMPLETED",
                Some("contact_id"),
            ),
            (
                D::FailedPrecondition(Precondition::PartyAmbiguous),
                Code::FailedPrecondition,
                "PARTY_AMBIGUOUS",
                Some("identifiers"),
            ),
            (
                D::FailedPrecondition(Precondition::PartyErased),
                Code::FailedPrecondition,
                "PARTY_ERASED",
                Some("request_id"),
            ),
            (
                D::FailedPrecondition(Precondition::AnswerExpired),
                Code::FailedPrecondition,
                "ANSWER_EXPIRED",
                Some("request_id"),
            ),
            (
                D::AlreadyExists(Duplicate::Feedback),
                Code::AlreadyExists,
                "FEEDBACK_ALREADY_GIVEN",
                Some("contact_id"),
            ),
        ];
        for (e, code, reason, field) in cases {
            let s = status(StoreError::Domain(e));
            assert_eq!(s.code(), code, "{reason}");
            assert_eq!(
                info(&s),
                (reason.into(), ERROR_DOMAIN.into(), field.map(String::from))
            );
            if let Some(field) = field {
                assert!(s.message().starts_with(&format!("{field}: ")), "{s:?}");
            }
        }
        for (e, code, reason) in [
            (
                StoreError::Unavailable("pool timed out".into()),
                Code::Unavailable,
                "STORE_UNAVAILABLE",
            ),
            (
                StoreError::Internal("syntax error near SELECT".into()),
                Code::Internal,
                "INTERNAL_ERROR",
            ),
        ] {
            let s = status(e);
            assert_eq!(s.code(), code);
            let details = s.get_error_details();
            let info = details.error_info().expect("an ErrorInfo detail");
            assert_eq!(
                (info.reason.as_str(), info.domain.as_str()),
                (reason, ERROR_DOMAIN)
            );
            // The reference in the metadata is the one in the message, for the log.
            let reference = &info.metadata["reference"];
            assert!(s.message().contains(reference.as_str()), "{s:?}");
        }
    }

    #[test]
    fn internal_details_stay_out_of_the_answer() {
        let s = status(StoreError::Internal(
            "constraint parties_hash_key violated".into(),
        ));
        assert!(!s.message().contains("parties_hash_key"));
        assert!(s.message().starts_with("internal error (reference "));
        let s = status(StoreError::Unavailable(
            "connection refused to db:5432".into(),
        ));
        assert!(!s.message().contains("5432"));
    }

    #[test]
    fn refused_access_has_its_code_and_reason() {
        for (e, code, reason) in [
            (
                ApiError::Unauthenticated {
                    reason: "CREDENTIAL_MISSING",
                    message: "needs a credential".into(),
                },
                Code::Unauthenticated,
                "CREDENTIAL_MISSING",
            ),
            (
                ApiError::PermissionDenied {
                    reason: "ROLE_NOT_GRANTED",
                    message: "needs the role admin".into(),
                },
                Code::PermissionDenied,
                "ROLE_NOT_GRANTED",
            ),
        ] {
            let s = Status::from(e);
            assert_eq!(s.code(), code);
            let details = s.get_error_details();
            let info = details.error_info().expect("an ErrorInfo detail");
            assert_eq!(
                (info.reason.as_str(), info.domain.as_str()),
                (reason, ERROR_DOMAIN)
            );
        }
    }
}
