//! Parties, identifiers, cases and contacts as a start (or a completion) plans them.

use crate::StoreError;
use crate::convert::{direction_str, micros};
use crate::db::db_err;
use crate::entity::{case, contact, identifier, party};
use midoffice_domain::contact::ContactFacts;
use midoffice_domain::identifier::IdentKey;
use midoffice_domain::{Code, Instant, TenantId};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseTransaction, EntityTrait, IntoActiveModel, QueryFilter};
use uuid::Uuid;

/// A new party.
pub async fn create_party(
    txn: &DatabaseTransaction,
    tenant: &TenantId,
    id: Uuid,
    created_at: Instant,
    strong: Option<&IdentKey>,
) -> Result<(), StoreError> {
    let row = party::Model {
        id,
        tenant: tenant.as_str().to_owned(),
        created_at: micros(created_at),
        strong_kind: strong.map(|k| k.kind.as_str().to_owned()),
        strong_hash: strong.map(|k| k.hash.clone()),
        strong_display: strong.and_then(|k| k.display.clone()),
        merged_into: None,
        erased_at: None,
    };
    party::Entity::insert(row.into_active_model())
        .exec_without_returning(txn)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// An identifier row for a party (the plan attaches only what it does not own).
pub async fn attach(
    txn: &DatabaseTransaction,
    tenant: &TenantId,
    party_id: Uuid,
    key: &IdentKey,
) -> Result<(), StoreError> {
    let row = identifier::Model {
        tenant: tenant.as_str().to_owned(),
        kind: key.kind.as_str().to_owned(),
        hash: key.hash.clone(),
        party_id,
    };
    identifier::Entity::insert(row.into_active_model())
        .exec_without_returning(txn)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// Fills a party's strong columns.
pub async fn set_strong(
    txn: &DatabaseTransaction,
    tenant: &TenantId,
    party_id: Uuid,
    key: &IdentKey,
) -> Result<(), StoreError> {
    party::Entity::update_many()
        .col_expr(party::Column::StrongKind, Expr::value(key.kind.as_str()))
        .col_expr(party::Column::StrongHash, Expr::value(key.hash.clone()))
        .col_expr(
            party::Column::StrongDisplay,
            Expr::value(key.display.clone()),
        )
        .filter(party::Column::Tenant.eq(tenant.as_str()))
        .filter(party::Column::Id.eq(party_id))
        .exec(txn)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// A new case.
pub async fn create_case(
    txn: &DatabaseTransaction,
    tenant: &TenantId,
    id: Uuid,
    party_id: Uuid,
    topic: Option<&Code>,
    reference: Option<&str>,
    created_at: Instant,
) -> Result<(), StoreError> {
    let row = case::Model {
        id,
        tenant: tenant.as_str().to_owned(),
        party_id,
        topic: topic.map(|t| t.as_str().to_owned()),
        reference: reference.map(str::to_owned),
        created_at: micros(created_at),
        merged_into: None,
    };
    case::Entity::insert(row.into_active_model())
        .exec_without_returning(txn)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// A new contact, not completed.
pub async fn insert_contact(
    txn: &DatabaseTransaction,
    tenant: &TenantId,
    c: &ContactFacts,
    case_reference: Option<&str>,
    created_at: Instant,
) -> Result<(), StoreError> {
    let row = contact_row(tenant.as_str(), c, case_reference, created_at);
    contact::Entity::insert(row.into_active_model())
        .exec_without_returning(txn)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// The row of a new contact, not completed (the store's and a bulk load's).
pub fn contact_row(
    tenant: &str,
    c: &ContactFacts,
    case_reference: Option<&str>,
    created_at: Instant,
) -> contact::Model {
    contact::Model {
        id: c.id,
        tenant: tenant.to_owned(),
        party_id: c.party_id,
        case_id: c.case_id,
        ambiguous: c.ambiguous,
        channel: c.channel.as_str().to_owned(),
        direction: direction_str(c.direction).to_owned(),
        started_at: micros(c.started_at),
        topic: c.topic.as_ref().map(|t| t.as_str().to_owned()),
        department: c.department.as_ref().map(|d| d.as_str().to_owned()),
        case_reference: case_reference.map(str::to_owned),
        case_chosen_at_completion: c.case_chosen_at_completion,
        recorded: c.recorded,
        context_seen: c.context_seen,
        ended_at: None,
        answered_at: None,
        outcome: None,
        story: None,
        completion_department: None,
        completion_topic: None,
        referred_kind: None,
        referred_value: None,
        due_at: None,
        story_repeated: None,
        created_at: micros(created_at),
    }
}
