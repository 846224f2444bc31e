//! Idempotency keys (AIP-155): the first answer is kept with the request's fingerprint,
//! inside the same transaction as the work, and returned unchanged on a retry.
//!
//! An answer that concerns a party is kept with that party's id. Erasing the party
//! empties its answers (and their fingerprints) but keeps the keys: a retry of such a
//! request is refused with FAILED_PRECONDITION rather than run again, since running it
//! again would store the erased person's identifiers anew and count the contact twice.

use crate::convert::{micros, now};
use crate::db::db_err;
use crate::entity::idempotency;
use crate::facts::CHUNK;
use crate::rows::{self, answers::Kept};
use crate::{Idempotency, StoreError};
use midoffice_domain::plan::retry::{KeptKey, Retry, plan_retry};
use midoffice_domain::{Instant, TenantId};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter};
use uuid::Uuid;

/// The stored answer for this key, if the same request came before; INVALID_ARGUMENT on
/// `request_id` if the key came with another request; FAILED_PRECONDITION if the party
/// the answer concerned was erased.
pub async fn replay<T: Kept, C: ConnectionTrait>(
    c: &C,
    tenant: &TenantId,
    operation: &str,
    idem: Option<&Idempotency>,
) -> Result<Option<T>, StoreError> {
    let Some(idem) = idem else { return Ok(None) };
    let row = idempotency::Entity::find_by_id((
        tenant.as_str().to_owned(),
        operation.to_owned(),
        idem.key.clone(),
    ))
    .one(c)
    .await
    .map_err(db_err)?;
    let kept = row.as_ref().map(|r| match r.erased_at {
        Some(_) => KeptKey::Erased,
        None => KeptKey::Answer {
            fingerprint: &r.fingerprint,
        },
    });
    match (plan_retry(kept, &idem.fingerprint)?, row) {
        (Retry::Replay, Some(r)) => T::decode(&r.response)
            .map(Some)
            .map_err(|e| rows::unreadable("idempotency.response", &e)),
        _ => Ok(None),
    }
}

/// Keeps the answer for this key; `party_id` is the party the answer concerns, if any.
pub async fn remember<T: Kept, C: ConnectionTrait>(
    c: &C,
    tenant: &TenantId,
    operation: &str,
    idem: Option<&Idempotency>,
    answer: &T,
    party_id: Option<Uuid>,
) -> Result<(), StoreError> {
    let Some(idem) = idem else { return Ok(()) };
    let response = answer.encode().map_err(|e| {
        tracing::error!(error = %e, "cannot write the answer row");
        StoreError::Internal("cannot keep the answer".into())
    })?;
    let row = idempotency::Model {
        tenant: tenant.as_str().to_owned(),
        operation: operation.to_owned(),
        key: idem.key.clone(),
        fingerprint: idem.fingerprint.clone(),
        response,
        created_at: micros(now()),
        party_id,
        erased_at: None,
    };
    idempotency::Entity::insert(row.into_active_model())
        .exec_without_returning(c)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// Empties the answers that concern these (erased) parties: answer, fingerprint and
/// party go; the key stays, marked erased at `at`.
pub async fn erase<C: ConnectionTrait>(
    c: &C,
    tenant: &TenantId,
    parties: &[Uuid],
    at: Instant,
) -> Result<(), StoreError> {
    for chunk in parties.chunks(CHUNK) {
        idempotency::Entity::update_many()
            .col_expr(idempotency::Column::Response, Expr::value(""))
            .col_expr(idempotency::Column::Fingerprint, Expr::value(""))
            .col_expr(
                idempotency::Column::PartyId,
                Expr::value(Option::<Uuid>::None),
            )
            .col_expr(idempotency::Column::ErasedAt, Expr::value(micros(at)))
            .filter(idempotency::Column::Tenant.eq(tenant.as_str()))
            .filter(idempotency::Column::PartyId.is_in(chunk.iter().copied()))
            .exec(c)
            .await
            .map_err(db_err)?;
    }
    Ok(())
}
