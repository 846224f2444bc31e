//! An erasure's writes: each clears what the erase plan names, for the parties (or
//! contacts) it names, in chunks that fit an IN list.

use crate::StoreError;
use crate::convert::{ORGANISATION, micros};
use crate::db::db_err;
use crate::entity::{case, contact, feedback, identifier, party};
use crate::facts::CHUNK;
use midoffice_domain::{Instant, TenantId};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, Condition, DatabaseTransaction, EntityTrait, QueryFilter};
use uuid::Uuid;

fn none() -> Expr {
    Expr::value(Option::<String>::None)
}

/// The identifier rows of these parties go.
pub async fn delete_identifiers(
    txn: &DatabaseTransaction,
    tenant: &TenantId,
    parties: &[Uuid],
) -> Result<(), StoreError> {
    use identifier::{Column, Entity};
    super::retention::delete_in::<Entity>(txn, (Column::Tenant, tenant), Column::PartyId, parties)
        .await
}

/// The tenant's rows of `E` whose `key` is one of `ids` (and that `only` selects)
/// get `set`, a chunk at a time.
async fn update_in<E: EntityTrait>(
    txn: &DatabaseTransaction,
    tenant: (E::Column, &TenantId),
    key: E::Column,
    ids: &[Uuid],
    set: &[(E::Column, Expr)],
    only: Option<Condition>,
) -> Result<(), StoreError> {
    for chunk in ids.chunks(CHUNK) {
        let mut update = E::update_many();
        for (column, value) in set {
            update = update.col_expr(*column, value.clone());
        }
        let mut update = update
            .filter(tenant.0.eq(tenant.1.as_str()))
            .filter(key.is_in(chunk.iter().copied()));
        if let Some(only) = &only {
            update = update.filter(only.clone());
        }
        update.exec(txn).await.map_err(db_err)?;
    }
    Ok(())
}

/// These parties lose their strong columns and are marked erased at `at`.
pub async fn mark_erased(
    txn: &DatabaseTransaction,
    tenant: &TenantId,
    parties: &[Uuid],
    at: Instant,
) -> Result<(), StoreError> {
    use party::{Column, Entity};
    let set = [
        (Column::StrongKind, none()),
        (Column::StrongHash, none()),
        (Column::StrongDisplay, none()),
        (Column::ErasedAt, Expr::value(micros(at))),
    ];
    update_in::<Entity>(
        txn,
        (Column::Tenant, tenant),
        Column::Id,
        parties,
        &set,
        None,
    )
    .await
}

/// The references of these parties' cases go.
pub async fn clear_case_references(
    txn: &DatabaseTransaction,
    tenant: &TenantId,
    parties: &[Uuid],
) -> Result<(), StoreError> {
    use case::{Column, Entity};
    let set = [(Column::Reference, none())];
    update_in::<Entity>(
        txn,
        (Column::Tenant, tenant),
        Column::PartyId,
        parties,
        &set,
        None,
    )
    .await
}

/// The stories of these parties' contacts become `marker`.
pub async fn replace_stories(
    txn: &DatabaseTransaction,
    tenant: &TenantId,
    parties: &[Uuid],
    marker: &str,
) -> Result<(), StoreError> {
    use contact::{Column, Entity};
    let set = [(Column::Story, Expr::value(marker))];
    let only = Condition::all().add(Column::Story.is_not_null());
    update_in::<Entity>(
        txn,
        (Column::Tenant, tenant),
        Column::PartyId,
        parties,
        &set,
        Some(only),
    )
    .await
}

/// The case references given with these parties' contacts go.
pub async fn clear_contact_case_references(
    txn: &DatabaseTransaction,
    tenant: &TenantId,
    parties: &[Uuid],
) -> Result<(), StoreError> {
    use contact::{Column, Entity};
    let set = [(Column::CaseReference, none())];
    update_in::<Entity>(
        txn,
        (Column::Tenant, tenant),
        Column::PartyId,
        parties,
        &set,
        None,
    )
    .await
}

/// The organisations these parties' contacts were referred to go; the kind stays.
pub async fn clear_organisation_targets(
    txn: &DatabaseTransaction,
    tenant: &TenantId,
    parties: &[Uuid],
) -> Result<(), StoreError> {
    use contact::{Column, Entity};
    let set = [(Column::ReferredValue, none())];
    let only = Condition::all().add(Column::ReferredKind.eq(ORGANISATION));
    update_in::<Entity>(
        txn,
        (Column::Tenant, tenant),
        Column::PartyId,
        parties,
        &set,
        Some(only),
    )
    .await
}

/// The comments of these contacts' satisfaction answers go.
pub async fn clear_feedback_comments(
    txn: &DatabaseTransaction,
    tenant: &TenantId,
    contacts: &[Uuid],
) -> Result<(), StoreError> {
    use feedback::{Column, Entity};
    let set = [(Column::Comment, none())];
    update_in::<Entity>(
        txn,
        (Column::Tenant, tenant),
        Column::ContactId,
        contacts,
        &set,
        None,
    )
    .await
}
