//! A member of a composed benchmark group-period, with its figures as fixed at
//! composition: the canonical summary line (`benchmark_summary::canonical`) of a local
//! tenant's counts (its participant id is its tenant id) or of an imported summary.
//! Counts only, no personal data. A group's row, not a tenant's. The line is the
//! summary format's version 1, kept forever (golden sample
//! `tests/golden/benchmark-member-v1.json`): a later summary version must keep a
//! reader for version 1 lines. Its `named` is what the member chose at composition;
//! whether it is named is taken when read (`Store::benchmark_group`).

use sea_orm::entity::prelude::*;

/// `origin` of a local tenant's figures.
pub const LOCAL: &str = "local";
/// `origin` of an imported summary's figures.
pub const IMPORTED: &str = "imported";

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "benchmark_member")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub peer_group: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub period: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub participant: String,
    /// [`LOCAL`] or [`IMPORTED`].
    pub origin: String,
    #[sea_orm(column_type = "Text")]
    pub line: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
