//! The settings fingerprint (`rollup::fingerprint`) a tenant's rollups were last rebuilt
//! with (`""`: stale); the rollups answer only while it is the fingerprint of the
//! current settings. `generation` rises with every change of the fingerprint, so a
//! rebuild that a change overtook does not record its own. A tenant without a row has
//! had its rollups kept since its first contact.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "figure_state")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant: String,
    pub fingerprint: String,
    pub generation: i64,
    pub rebuilt_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
