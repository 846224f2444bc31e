//! A party merging into another, as the start plan says.

use crate::StoreError;
use crate::db::db_err;
use crate::entity::{case, contact, identifier, party};
use midoffice_domain::TenantId;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseTransaction, EntityTrait, IntoActiveModel, QueryFilter};
use std::collections::BTreeSet;
use uuid::Uuid;

/// Merges party `from` into `into`: the `(from, into)` case pairs of `joins` join (the
/// contacts move, and every id that resolved to the joined case resolves to the other),
/// the rest of its cases, its contacts and its identifiers move, and its id (and every
/// id that resolved to it) resolves to `into` from now on.
pub async fn merge_party(
    txn: &DatabaseTransaction,
    tenant: &TenantId,
    from: Uuid,
    into: Uuid,
    joins: &[(Uuid, Uuid)],
) -> Result<(), StoreError> {
    let t = tenant.as_str();
    for (from_case, into_case) in joins {
        contact::Entity::update_many()
            .col_expr(contact::Column::CaseId, Expr::value(*into_case))
            .filter(contact::Column::Tenant.eq(t))
            .filter(contact::Column::CaseId.eq(*from_case))
            .exec(txn)
            .await
            .map_err(db_err)?;
        // Two statements, not `id = ? OR merged_into = ?`: SQLite plans that OR on
        // the tenant prefix alone (a scan of the tenant's cases), each half on its index.
        for joined in [case::Column::MergedInto, case::Column::Id] {
            case::Entity::update_many()
                .col_expr(case::Column::MergedInto, Expr::value(*into_case))
                .filter(case::Column::Tenant.eq(t))
                .filter(joined.eq(*from_case))
                .exec(txn)
                .await
                .map_err(db_err)?;
        }
    }
    case::Entity::update_many()
        .col_expr(case::Column::PartyId, Expr::value(into))
        .filter(case::Column::Tenant.eq(t))
        .filter(case::Column::PartyId.eq(from))
        .exec(txn)
        .await
        .map_err(db_err)?;
    contact::Entity::update_many()
        .col_expr(contact::Column::PartyId, Expr::value(into))
        .filter(contact::Column::Tenant.eq(t))
        .filter(contact::Column::PartyId.eq(from))
        .exec(txn)
        .await
        .map_err(db_err)?;
    move_identifiers(txn, tenant, from, into).await?;
    // Two updates, each on its own index (the primary key, `merged_into`): an OR of the
    // two is planned by SQLite as a scan of the tenant's parties.
    for column in [party::Column::MergedInto, party::Column::Id] {
        party::Entity::update_many()
            .col_expr(party::Column::MergedInto, Expr::value(into))
            .filter(party::Column::Tenant.eq(t))
            .filter(column.eq(from))
            .exec(txn)
            .await
            .map_err(db_err)?;
    }
    Ok(())
}

/// Moves the identifier rows of `from` to `into`; one that `into` has already stays
/// one row (the primary key holds the party).
async fn move_identifiers(
    txn: &DatabaseTransaction,
    tenant: &TenantId,
    from: Uuid,
    into: Uuid,
) -> Result<(), StoreError> {
    let t = tenant.as_str();
    let moving = identifier::Entity::find()
        .filter(identifier::Column::Tenant.eq(t))
        .filter(identifier::Column::PartyId.eq(from))
        .all(txn)
        .await
        .map_err(db_err)?;
    let have: BTreeSet<(String, String)> = identifier::Entity::find()
        .filter(identifier::Column::Tenant.eq(t))
        .filter(identifier::Column::PartyId.eq(into))
        .all(txn)
        .await
        .map_err(db_err)?
        .into_iter()
        .map(|r| (r.kind, r.hash))
        .collect();
    identifier::Entity::delete_many()
        .filter(identifier::Column::Tenant.eq(t))
        .filter(identifier::Column::PartyId.eq(from))
        .exec(txn)
        .await
        .map_err(db_err)?;
    for r in moving
        .into_iter()
        .filter(|r| !have.contains(&(r.kind.clone(), r.hash.clone())))
    {
        let row = identifier::Model {
            party_id: into,
            ..r
        };
        identifier::Entity::insert(row.into_active_model())
            .exec_without_returning(txn)
            .await
            .map_err(db_err)?;
    }
    Ok(())
}
