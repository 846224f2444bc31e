//! sea-orm entities, one per table. Instants are `i64` microseconds since the epoch;
//! enums are short upper-case text; identifiers are only ever keyed hashes.

pub mod audit_record;
pub mod benchmark_group;
pub mod benchmark_import;
pub mod benchmark_member;
pub mod case;
pub mod contact;
pub mod feedback;
pub mod figure_month;
pub mod figure_rollup;
pub mod figure_state;
pub mod figure_unit;
pub mod idempotency;
pub mod identifier;
pub mod party;
pub mod processing_record;
pub mod tenant_settings;
