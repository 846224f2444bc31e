//! A party (klant): a person or a business. Its strong identifier is kept only as a
//! keyed hash and, for a BSN, the masked display form.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "party")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant: String,
    pub created_at: i64,
    pub strong_kind: Option<String>,
    pub strong_hash: Option<String>,
    pub strong_display: Option<String>,
    /// Set when this party was merged into another; its id then resolves to that one.
    pub merged_into: Option<Uuid>,
    pub erased_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
