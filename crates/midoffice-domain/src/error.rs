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

/// Why a rule refused a request.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// Invalid input (INVALID_ARGUMENT).
    #[error("invalid request: {0}")]
    Invalid(Violations),
    /// Unknown id (NOT_FOUND).
    #[error("not found: {0}")]
    NotFound(String),
    /// Wrong state (FAILED_PRECONDITION).
    #[error("failed precondition: {0}")]
    FailedPrecondition(String),
    /// Duplicate (ALREADY_EXISTS).
    #[error("already exists: {0}")]
    AlreadyExists(String),
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
