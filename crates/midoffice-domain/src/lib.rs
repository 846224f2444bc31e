//! The rules of the midoffice (see `shared/spec/DOMAIN.md`), as pure functions over
//! plain data. No I/O, no async, no generated types: the store loads facts, these
//! functions decide, the store saves the decision.

pub mod benchmark;
pub mod calendar;
pub mod case;
pub mod code;
pub mod command;
pub mod contact;
pub mod error;
pub mod events;
pub mod feedback;
pub mod figures;
pub mod identifier;
pub mod limits;
pub mod mask;
pub mod party;
pub mod plan;
pub mod processing;
pub mod rollup;
pub mod settings;
pub mod signals;
pub mod text;
pub mod view;

/// An instant on the time line. Every event carries the time it happened.
pub type Instant = chrono::DateTime<chrono::Utc>;

pub use code::{Code, TenantId};
pub use error::{DomainError, Duplicate, FieldViolation, Missing, Precondition, Violations};
