//! A retention batch's writes: each deletes the rows the retention plan names, in
//! chunks that fit an IN list. Dependants first, so no foreign key is ever left
//! dangling (the plan orders them).

use crate::StoreError;
use crate::db::db_err;
use crate::entity::{case, contact, feedback, figure_unit, idempotency, party};
use crate::facts::CHUNK;
use midoffice_domain::TenantId;
use sea_orm::{ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter};
use uuid::Uuid;

/// The satisfaction answers of these contacts go.
pub async fn delete_feedback(
    txn: &DatabaseTransaction,
    tenant: &TenantId,
    contacts: &[Uuid],
) -> Result<(), StoreError> {
    for chunk in contacts.chunks(CHUNK) {
        feedback::Entity::delete_many()
            .filter(feedback::Column::Tenant.eq(tenant.as_str()))
            .filter(feedback::Column::ContactId.is_in(chunk.iter().copied()))
            .exec(txn)
            .await
            .map_err(db_err)?;
    }
    Ok(())
}

/// The idempotency records kept for these contacts, and for these parties, go.
pub async fn delete_idempotency(
    txn: &DatabaseTransaction,
    tenant: &TenantId,
    contacts: &[Uuid],
    parties: &[Uuid],
) -> Result<(), StoreError> {
    for chunk in contacts.chunks(CHUNK) {
        idempotency::Entity::delete_many()
            .filter(idempotency::Column::Tenant.eq(tenant.as_str()))
            .filter(idempotency::Column::ContactId.is_in(chunk.iter().copied()))
            .exec(txn)
            .await
            .map_err(db_err)?;
    }
    for chunk in parties.chunks(CHUNK) {
        idempotency::Entity::delete_many()
            .filter(idempotency::Column::Tenant.eq(tenant.as_str()))
            .filter(idempotency::Column::PartyId.is_in(chunk.iter().copied()))
            .exec(txn)
            .await
            .map_err(db_err)?;
    }
    Ok(())
}

/// The per-unit figure tallies of these units go; their contributions to the per-day
/// sums stay.
pub async fn delete_figure_units(
    txn: &DatabaseTransaction,
    tenant: &TenantId,
    units: &[Uuid],
) -> Result<(), StoreError> {
    for chunk in units.chunks(CHUNK) {
        figure_unit::Entity::delete_many()
            .filter(figure_unit::Column::Tenant.eq(tenant.as_str()))
            .filter(figure_unit::Column::UnitId.is_in(chunk.iter().copied()))
            .exec(txn)
            .await
            .map_err(db_err)?;
    }
    Ok(())
}

/// These contacts go.
pub async fn delete_contacts(
    txn: &DatabaseTransaction,
    tenant: &TenantId,
    contacts: &[Uuid],
) -> Result<(), StoreError> {
    for chunk in contacts.chunks(CHUNK) {
        contact::Entity::delete_many()
            .filter(contact::Column::Tenant.eq(tenant.as_str()))
            .filter(contact::Column::Id.is_in(chunk.iter().copied()))
            .exec(txn)
            .await
            .map_err(db_err)?;
    }
    Ok(())
}

/// These cases go.
pub async fn delete_cases(
    txn: &DatabaseTransaction,
    tenant: &TenantId,
    cases: &[Uuid],
) -> Result<(), StoreError> {
    for chunk in cases.chunks(CHUNK) {
        case::Entity::delete_many()
            .filter(case::Column::Tenant.eq(tenant.as_str()))
            .filter(case::Column::Id.is_in(chunk.iter().copied()))
            .exec(txn)
            .await
            .map_err(db_err)?;
    }
    Ok(())
}

/// These parties go.
pub async fn delete_parties(
    txn: &DatabaseTransaction,
    tenant: &TenantId,
    parties: &[Uuid],
) -> Result<(), StoreError> {
    for chunk in parties.chunks(CHUNK) {
        party::Entity::delete_many()
            .filter(party::Column::Tenant.eq(tenant.as_str()))
            .filter(party::Column::Id.is_in(chunk.iter().copied()))
            .exec(txn)
            .await
            .map_err(db_err)?;
    }
    Ok(())
}
