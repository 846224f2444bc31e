//! A benchmark summary imported from another deployment (`midoffice benchmark import`):
//! one per peer group, period and participant, the newest (by `as_of`) kept. Holds the
//! summary's canonical line and its signature as they were verified, so it can be
//! checked again; counts only, no personal data. A group's, not a tenant's.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "benchmark_import")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub peer_group: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub period: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub participant: String,
    /// The summary's `as_of`, microseconds.
    pub as_of: i64,
    #[sea_orm(column_type = "Text")]
    pub line: String,
    /// The signature, standard base64.
    pub signature: String,
    pub imported_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
