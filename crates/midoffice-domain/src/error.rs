//! Errors of the rules, in words an agent understands, naming the field.

/// One invalid field of a request: its path and why. Paths are relative to the message
/// validated (`bsn`, `norms[0].target`); the API puts them under the request field that
/// holds that message, once ([`Violations::prefixed`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldViolation {
    pub field: String,
    pub description: String,
}

impl FieldViolation {
    /// A violation of `field` for `description`.
    pub fn new(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            description: description.into(),
        }
    }
}

/// Every invalid field of one request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Violations(pub Vec<FieldViolation>);

impl Violations {
    /// Adds a violation.
    pub fn add(&mut self, field: impl Into<String>, description: impl Into<String>) {
        self.0.push(FieldViolation::new(field, description));
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(value)` when empty, else the violations as an error.
    pub fn into_result<T>(self, value: T) -> Result<T, DomainError> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(DomainError::Invalid(self))
        }
    }

    /// Puts every field path under `prefix` (`bsn` becomes `identifiers.bsn`); a
    /// violation of the message itself (an empty path) becomes one of `prefix`.
    pub fn prefixed(self, prefix: &str) -> Self {
        let path = |field: String| match field.as_str() {
            "" => prefix.to_owned(),
            _ => format!("{prefix}.{field}"),
        };
        Violations(
            self.0
                .into_iter()
                .map(|v| FieldViolation::new(path(v.field), v.description))
                .collect(),
        )
    }

    /// One violation.
    pub fn one(field: impl Into<String>, description: impl Into<String>) -> Self {
        Violations(vec![FieldViolation::new(field, description)])
    }
}

impl std::fmt::Display for Violations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|v| format!("{}: {}", v.field, v.description))
            .collect();
        f.write_str(&parts.join("; "))
    }
}

/// What a request names that does not exist (NOT_FOUND). Each says what, never the
/// value asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Missing {
    /// No such contact of this tenant.
    #[error("no such contact")]
    Contact,
    /// No such case of this party.
    #[error("no such case of this party")]
    Case,
    /// No party has the identifiers given.
    #[error("no party has these identifiers")]
    Party,
}

/// A state the request does not fit (FAILED_PRECONDITION).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Precondition {
    /// A contact completes once.
    #[error("the contact is completed already")]
    ContactCompleted,
    /// A satisfaction answer is for a completed contact.
    #[error("a satisfaction answer can only be given for a completed contact")]
    ContactNotCompleted,
    /// An erasure must name one party.
    #[error("these identifiers lead to more than one party; give a strong identifier")]
    PartyAmbiguous,
    /// A retry of a request about a party erased since: its answer held personal data.
    #[error(
        "the party this request concerned was erased on request; its answer is gone and \
         the request is not carried out again"
    )]
    PartyErased,
    /// A retry whose kept answer showed contacts deleted since, at the end of their
    /// retention period: it can no longer be given whole.
    #[error(
        "the answer kept for this request showed contacts that were deleted at the end of \
         their retention period; the request is not carried out again"
    )]
    AnswerExpired,
}

/// Something that exists once and is there already (ALREADY_EXISTS).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Duplicate {
    /// One satisfaction answer per contact.
    #[error("this contact has a satisfaction answer already")]
    Feedback,
}

/// Why a rule refused a request.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// Invalid input (INVALID_ARGUMENT).
    #[error("invalid request: {0}")]
    Invalid(Violations),
    /// Unknown id (NOT_FOUND).
    #[error("not found: {0}")]
    NotFound(Missing),
    /// Wrong state (FAILED_PRECONDITION).
    #[error("failed precondition: {0}")]
    FailedPrecondition(Precondition),
    /// Duplicate (ALREADY_EXISTS).
    #[error("already exists: {0}")]
    AlreadyExists(Duplicate),
    /// An idempotency key sent before with another request (INVALID_ARGUMENT on
    /// `request_id`, AIP-155).
    #[error("invalid request: request_id: was used before for a different request")]
    RequestIdReused,
}

impl DomainError {
    /// An INVALID_ARGUMENT naming one field.
    pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> Self {
        DomainError::Invalid(Violations::one(field, description))
    }
}
