//! The gRPC services, one module per service as in `proto/midoffice/v1/`: each call
//! reads its tenant, converts and validates the request, asks the store, and converts
//! the answer back.
//!
//! Every invalid field is answered with INVALID_ARGUMENT and a field violation whose
//! path the service gives once, where it knows the request's shape; nothing on a
//! request path unwraps. Requests are logged at debug with the tenant and ids only:
//! never an identifier, a story or a comment.

mod benchmark;
mod commitments;
mod contacts;
mod figures;
mod parties;
mod processing_log;
mod tenants;

pub use benchmark::{
    BenchmarkApi, BenchmarkOptions, DEFAULT_GRACE_DAYS, NOT_A_MEMBER, NOT_COMPOSED,
    NOT_TAKING_PART, TOO_LATE,
};
pub use commitments::CommitmentApi;
pub use contacts::ContactApi;
pub use figures::FigureApi;
pub use parties::PartyApi;
pub use processing_log::ProcessingLogApi;
pub use tenants::TenantApi;

use crate::error::ApiError;
use midoffice_domain::DomainError;
use midoffice_store::StoreError;

/// A store error, with the field violations of the message the store checked (the
/// domain names them relative to it) put under the request field `field` that holds it.
fn under(field: &str, e: StoreError) -> ApiError {
    match e {
        StoreError::Domain(DomainError::Invalid(v)) => ApiError::from(v.prefixed(field)),
        other => ApiError::from(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use midoffice_domain::Violations;

    #[test]
    fn store_violations_get_the_request_field_once() {
        let mut v = Violations::default();
        v.add("answered_at", "why");
        v.add("referred_to.organisation", "why");
        let e = under("completion", StoreError::Domain(DomainError::Invalid(v)));
        let ApiError::Domain(DomainError::Invalid(v)) = e else {
            panic!("not invalid: {e:?}");
        };
        let fields: Vec<&str> = v.0.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "completion.answered_at",
                "completion.referred_to.organisation"
            ]
        );
    }

    #[test]
    fn other_store_errors_pass_unchanged() {
        let e = under(
            "completion",
            StoreError::Domain(DomainError::RequestIdReused),
        );
        assert!(matches!(e, ApiError::Domain(DomainError::RequestIdReused)));
    }
}
