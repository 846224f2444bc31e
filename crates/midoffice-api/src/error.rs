//! The one mapping from errors to gRPC statuses (AIP-193).
//!
//! Invalid input answers INVALID_ARGUMENT with a `google.rpc.BadRequest` listing every
//! field violation. Store trouble answers UNAVAILABLE or INTERNAL with a generic message
//! and a reference; the details go to the log under that reference, never to the client.

use midoffice_domain::{DomainError, Violations};
use midoffice_store::StoreError;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, FieldViolation, StatusExt};
use uuid::Uuid;

/// Why a request failed, as the API answers it.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A rule refused the request.
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// The store cannot be reached or is overloaded; the detail is for the log only.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// Anything else; the detail is for the log only.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// An INVALID_ARGUMENT naming one field.
    pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> Self {
        ApiError::Domain(DomainError::invalid(field, description))
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
            StoreError::Unavailable(detail) => ApiError::Unavailable(detail),
            StoreError::Internal(detail) => ApiError::Internal(detail),
        }
    }
}

impl From<ApiError> for Status {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::Domain(e) => domain_status(e),
            ApiError::Unavailable(detail) => {
                let reference = Uuid::now_v7();
                tracing::warn!(%reference, error = %detail, "store unavailable");
                Status::unavailable(format!(
                    "the service is temporarily unavailable, try again later (reference {reference})"
                ))
            }
            ApiError::Internal(detail) => {
                let reference = Uuid::now_v7();
                tracing::error!(%reference, error = %detail, "internal error");
                Status::internal(format!("internal error (reference {reference})"))
            }
        }
    }
}

fn domain_status(e: DomainError) -> Status {
    match e {
        DomainError::Invalid(v) => invalid_status(v),
        DomainError::NotFound(msg) => Status::not_found(msg),
        DomainError::FailedPrecondition(msg) => Status::failed_precondition(msg),
        DomainError::AlreadyExists(msg) => Status::already_exists(msg),
        DomainError::RequestIdReused => invalid_status(Violations::one(
            "request_id",
            "was used before for a different request",
        )),
    }
}

/// INVALID_ARGUMENT with a BadRequest detail holding every field violation.
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
    Status::with_error_details(
        Code::InvalidArgument,
        message,
        ErrorDetails::with_bad_request(violations),
    )
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
        v.add("end.outcome", "is required");
        let s = status(StoreError::Domain(DomainError::Invalid(v)));
        assert_eq!(s.code(), Code::InvalidArgument);
        let details = s.get_error_details();
        let bad = details.bad_request().expect("a BadRequest detail");
        let fields: Vec<&str> = bad
            .field_violations
            .iter()
            .map(|f| f.field.as_str())
            .collect();
        assert_eq!(fields, ["start.topic", "end.outcome"]);
        assert_eq!(bad.field_violations[1].description, "is required");
        assert!(s.message().contains("start.topic"));
    }

    #[test]
    fn each_kind_maps_to_its_code() {
        let cases = [
            (
                StoreError::Domain(DomainError::NotFound("contact".into())),
                Code::NotFound,
            ),
            (
                StoreError::Domain(DomainError::FailedPrecondition("completed".into())),
                Code::FailedPrecondition,
            ),
            (
                StoreError::Domain(DomainError::AlreadyExists("feedback".into())),
                Code::AlreadyExists,
            ),
            (
                StoreError::Unavailable("pool timed out".into()),
                Code::Unavailable,
            ),
            (
                StoreError::Internal("syntax error near SELECT".into()),
                Code::Internal,
            ),
        ];
        for (e, code) in cases {
            assert_eq!(status(e).code(), code);
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
}
