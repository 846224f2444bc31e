//! An erasure's writes: each clears what the erase plan names, for the parties (or
//! contacts) it names, in chunks that fit an IN list.

use crate::StoreError;
use crate::convert::{ORGANISATION, micros};
use crate::db::db_err;
use crate::entity::{case, contact, feedback, identifier, party};
use crate::facts::CHUNK;
use midoffice_domain::{Instant, TenantId};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter};
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

/// These parties lose their strong columns and are marked erased at `at`.
pub async fn mark_erased(
    txn: &DatabaseTransaction,
    tenant: &TenantId,
    parties: &[Uuid],
    at: Instant,
) -> Result<(), StoreError> {
    for chunk in parties.chunks(CHUNK) {
        party::Entity::update_many()
            .col_expr(party::Column::StrongKind, none())
            .col_expr(party::Column::StrongHash, none())
            .col_expr(party::Column::StrongDisplay, none())
            .col_expr(party::Column::ErasedAt, Expr::value(micros(at)))
            .filter(party::Column::Tenant.eq(tenant.as_str()))
            .filter(party::Column::Id.is_in(chunk.iter().copied()))
            .exec(txn)
            .await
            .map_err(db_err)?;
    }
    Ok(())
}

/// The references of these parties' cases go.
pub async fn clear_case_references(
    txn: &DatabaseTransaction,
    tenant: &TenantId,
    parties: &[Uuid],
) -> Result<(), StoreError> {
    for chunk in parties.chunks(CHUNK) {
        case::Entity::update_many()
            .col_expr(case::Column::Reference, none())
            .filter(case::Column::Tenant.eq(tenant.as_str()))
            .filter(case::Column::PartyId.is_in(chunk.iter().copied()))
            .exec(txn)
            .await
            .map_err(db_err)?;
    }
    Ok(())
}

/// The stories of these parties' contacts become `marker`.
pub async fn replace_stories(
    txn: &DatabaseTransaction,
    tenant: &TenantId,
    parties: &[Uuid],
    marker: &str,
) -> Result<(), StoreError> {
    for chunk in parties.chunks(CHUNK) {
        contact::Entity::update_many()
            .col_expr(contact::Column::Story, Expr::value(marker))
            .filter(contact::Column::Tenant.eq(tenant.as_str()))
            .filter(contact::Column::PartyId.is_in(chunk.iter().copied()))
            .filter(contact::Column::Story.is_not_null())
            .exec(txn)
            .await
            .map_err(db_err)?;
    }
    Ok(())
}

/// The case references given with these parties' contacts go.
pub async fn clear_contact_case_references(
    txn: &DatabaseTransaction,
    tenant: &TenantId,
    parties: &[Uuid],
) -> Result<(), StoreError> {
    for chunk in parties.chunks(CHUNK) {
        contact::Entity::update_many()
            .col_expr(contact::Column::CaseReference, none())
            .filter(contact::Column::Tenant.eq(tenant.as_str()))
            .filter(contact::Column::PartyId.is_in(chunk.iter().copied()))
            .exec(txn)
            .await
            .map_err(db_err)?;
    }
    Ok(())
}

/// The organisations these parties' contacts were referred to go; the kind stays.
pub async fn clear_organisation_targets(
    txn: &DatabaseTransaction,
    tenant: &TenantId,
    parties: &[Uuid],
) -> Result<(), StoreError> {
    for chunk in parties.chunks(CHUNK) {
        contact::Entity::update_many()
            .col_expr(contact::Column::ReferredValue, none())
            .filter(contact::Column::Tenant.eq(tenant.as_str()))
            .filter(contact::Column::PartyId.is_in(chunk.iter().copied()))
            .filter(contact::Column::ReferredKind.eq(ORGANISATION))
            .exec(txn)
            .await
            .map_err(db_err)?;
    }
    Ok(())
}

/// The comments of these contacts' satisfaction answers go.
pub async fn clear_feedback_comments(
    txn: &DatabaseTransaction,
    tenant: &TenantId,
    contacts: &[Uuid],
) -> Result<(), StoreError> {
    for chunk in contacts.chunks(CHUNK) {
        feedback::Entity::update_many()
            .col_expr(feedback::Column::Comment, none())
            .filter(feedback::Column::Tenant.eq(tenant.as_str()))
            .filter(feedback::Column::ContactId.is_in(chunk.iter().copied()))
            .exec(txn)
            .await
            .map_err(db_err)?;
    }
    Ok(())
}
