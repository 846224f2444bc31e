//! Idempotency keys (AIP-155): the first answer is kept with the request's fingerprint,
//! inside the same transaction as the work, and returned unchanged on a retry.

use crate::convert::{corrupt, micros, now};
use crate::db::db_err;
use crate::entity::idempotency;
use crate::{Idempotency, StoreError};
use midoffice_domain::{DomainError, TenantId};
use sea_orm::{ConnectionTrait, EntityTrait, IntoActiveModel};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The stored answer for this key, if the same request came before; INVALID_ARGUMENT on
/// `request_id` if the key came with another request.
pub async fn replay<T: DeserializeOwned, C: ConnectionTrait>(
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
    match row {
        None => Ok(None),
        Some(r) if r.fingerprint == idem.fingerprint => serde_json::from_str(&r.response)
            .map(Some)
            .map_err(|_| corrupt("idempotency.response")),
        Some(_) => Err(DomainError::invalid(
            "request_id",
            "was used before for a different request",
        )
        .into()),
    }
}

/// Keeps the answer for this key.
pub async fn remember<T: Serialize, C: ConnectionTrait>(
    c: &C,
    tenant: &TenantId,
    operation: &str,
    idem: Option<&Idempotency>,
    answer: &T,
) -> Result<(), StoreError> {
    let Some(idem) = idem else { return Ok(()) };
    let response = serde_json::to_string(answer).map_err(|e| {
        tracing::error!(error = %e, "cannot serialise an answer");
        StoreError::Internal("cannot keep the answer".into())
    })?;
    let row = idempotency::Model {
        tenant: tenant.as_str().to_owned(),
        operation: operation.to_owned(),
        key: idem.key.clone(),
        fingerprint: idem.fingerprint.clone(),
        response,
        created_at: micros(now()),
    };
    idempotency::Entity::insert(row.into_active_model())
        .exec_without_returning(c)
        .await
        .map_err(db_err)?;
    Ok(())
}
