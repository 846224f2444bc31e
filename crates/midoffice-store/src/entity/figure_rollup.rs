//! Per tenant and day, the sum of every unit's tallies under one key
//! (`midoffice_domain::rollup`): `n` is how many tallies; the other columns are the key.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "figure_rollup")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant: String,
    /// Days since 1 January of year 1 (the tenant's local date, `rollup::day_number`).
    #[sea_orm(primary_key, auto_increment = false)]
    pub day: i32,
    #[sea_orm(primary_key, auto_increment = false)]
    pub kind: i16,
    #[sea_orm(primary_key, auto_increment = false)]
    pub channel: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub topic: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub department: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub a: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub b: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub c: i64,
    /// The shard of the units that added to this row (`rollup::shard_of`); the sum of a
    /// key is the sum over its shards.
    #[sea_orm(primary_key, auto_increment = false)]
    pub shard: i16,
    pub n: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
