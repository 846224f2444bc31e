//! Who did a processing: the credential's subject of the call, linked to its processing
//! record by trace and span id (the same ids).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_record")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub trace_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub span_id: String,
    /// The RPC that was called.
    pub operation: String,
    /// The credential's subject (an API key's name, a token's `sub`).
    pub actor: String,
    pub at: i64,
    /// The contact the processing was for, if any (added by m0004).
    pub contact_id: Option<Uuid>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
