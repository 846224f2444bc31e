//! A benchmark peer group's composition for one period (`crate::benchmark`): the row
//! exists once the group-period is composed, and from then on its membership
//! (`benchmark_member`) never changes. A group's row, not a tenant's.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "benchmark_group")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub peer_group: String,
    /// The period's key (`2026-03`, `2026-Q1`, `2026`).
    #[sea_orm(primary_key, auto_increment = false)]
    pub period: String,
    /// When it was composed, microseconds (whole seconds): the local members' `as_of`.
    pub composed_at: i64,
    /// How many members it has.
    pub members: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
