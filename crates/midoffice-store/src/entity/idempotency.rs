//! The first answer to a request with an idempotency key (AIP-155), with the party it
//! concerns so an erasure can take it away.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "idempotency")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub operation: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub key: String,
    pub fingerprint: String,
    /// The answer as JSON, in the store's own versioned format (`crate::rows::answers`).
    #[sea_orm(column_type = "Text")]
    pub response: String,
    pub created_at: i64,
    /// The party the answer concerns (after merges, an id that resolves to it).
    pub party_id: Option<Uuid>,
    /// When that party was erased on request: `fingerprint` and `response` are emptied,
    /// and a retry with this key is refused.
    pub erased_at: Option<i64>,
    /// The contact the answer is about (migration m0006; empty in older rows).
    pub contact_id: Option<Uuid>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
