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

/// The tenant's rows of `E` whose `key` is one of `ids` go, a chunk at a time.
pub(super) async fn delete_in<E: EntityTrait>(
    txn: &DatabaseTransaction,
    tenant: (E::Column, &TenantId),
    key: E::Column,
    ids: &[Uuid],
) -> Result<(), StoreError> {
    for chunk in ids.chunks(CHUNK) {
        E::delete_many()
            .filter(tenant.0.eq(tenant.1.as_str()))
            .filter(key.is_in(chunk.iter().copied()))
            .exec(txn)
            .await
            .map_err(db_err)?;
    }
    Ok(())
}

/// The satisfaction answers of these contacts go.
pub async fn delete_feedback(
    txn: &DatabaseTransaction,
    tenant: &TenantId,
    contacts: &[Uuid],
) -> Result<(), StoreError> {
    use feedback::{Column, Entity};
    delete_in::<Entity>(txn, (Column::Tenant, tenant), Column::ContactId, contacts).await
}

/// The idempotency records kept for these contacts, and for these parties, go.
pub async fn delete_idempotency(
    txn: &DatabaseTransaction,
    tenant: &TenantId,
    contacts: &[Uuid],
    parties: &[Uuid],
) -> Result<(), StoreError> {
    use idempotency::{Column, Entity};
    delete_in::<Entity>(txn, (Column::Tenant, tenant), Column::ContactId, contacts).await?;
    delete_in::<Entity>(txn, (Column::Tenant, tenant), Column::PartyId, parties).await
}

/// The per-unit figure tallies of these units go; their contributions to the per-day
/// sums stay.
pub async fn delete_figure_units(
    txn: &DatabaseTransaction,
    tenant: &TenantId,
    units: &[Uuid],
) -> Result<(), StoreError> {
    use figure_unit::{Column, Entity};
    delete_in::<Entity>(txn, (Column::Tenant, tenant), Column::UnitId, units).await
}

/// These contacts go.
pub async fn delete_contacts(
    txn: &DatabaseTransaction,
    tenant: &TenantId,
    contacts: &[Uuid],
) -> Result<(), StoreError> {
    use contact::{Column, Entity};
    delete_in::<Entity>(txn, (Column::Tenant, tenant), Column::Id, contacts).await
}

/// These cases go.
pub async fn delete_cases(
    txn: &DatabaseTransaction,
    tenant: &TenantId,
    cases: &[Uuid],
) -> Result<(), StoreError> {
    use case::{Column, Entity};
    delete_in::<Entity>(txn, (Column::Tenant, tenant), Column::Id, cases).await
}

/// These parties go.
pub async fn delete_parties(
    txn: &DatabaseTransaction,
    tenant: &TenantId,
    parties: &[Uuid],
) -> Result<(), StoreError> {
    use party::{Column, Entity};
    delete_in::<Entity>(txn, (Column::Tenant, tenant), Column::Id, parties).await
}
