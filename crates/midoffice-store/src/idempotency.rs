//! Idempotency keys (AIP-155): the first answer is kept with the request's fingerprint,
//! inside the same transaction as the work, and returned unchanged on a retry.
//!
//! An answer that concerns a party is kept with that party's id. Erasing the party
//! empties its answers (and their fingerprints) but keeps the keys: a retry of such a
//! request is refused with FAILED_PRECONDITION rather than run again, since running it
//! again would store the erased person's identifiers anew and count the contact twice.

use crate::convert::{micros, now};
use crate::db::db_err;
use crate::entity::{contact, idempotency};
use crate::facts::CHUNK;
use crate::rows::{self, answers::Kept};
use crate::{Idempotency, StoreError};
use midoffice_domain::contact::story;
use midoffice_domain::plan::retry::{KeptKey, Retry, plan_retry};
use midoffice_domain::{Instant, TenantId};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, QuerySelect,
};
use std::collections::HashMap;
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
        (Retry::Replay, Some(r)) => {
            let mut answer =
                T::decode(&r.response).map_err(|e| rows::unreadable("idempotency.response", &e))?;
            if !read_back_stories(c, tenant, &mut answer).await? {
                // A contact it showed is gone (retention): refused, not run again.
                plan_retry(Some(KeptKey::Expired), &idem.fingerprint)?;
            }
            Ok(Some(answer))
        }
        _ => Ok(None),
    }
}

/// The party a kept answer concerns (none for an anonymous contact, or no such key).
pub async fn kept_party<C: ConnectionTrait>(
    c: &C,
    tenant: &TenantId,
    operation: &str,
    key: &str,
) -> Result<Option<Uuid>, StoreError> {
    let row = idempotency::Entity::find_by_id((
        tenant.as_str().to_owned(),
        operation.to_owned(),
        key.to_owned(),
    ))
    .one(c)
    .await
    .map_err(db_err)?;
    Ok(row.and_then(|r| r.party_id))
}

/// Fills in the stories an answer keeps by reference, from their contacts' rows: the
/// story as it was shown, since a completed contact's story does not change (erasing
/// it empties the answers that showed it). `false` when a contact it showed is gone
/// (deleted at the end of its retention period).
async fn read_back_stories<T: Kept, C: ConnectionTrait>(
    c: &C,
    tenant: &TenantId,
    answer: &mut T,
) -> Result<bool, StoreError> {
    let mut wanted = answer.stories_by_reference();
    if wanted.is_empty() {
        return Ok(true);
    }
    let ids: Vec<Uuid> = wanted.iter().map(|s| s.contact_id).collect();
    let mut texts: HashMap<Uuid, String> = HashMap::new();
    let mut found: std::collections::HashSet<Uuid> = std::collections::HashSet::new();
    for chunk in ids.chunks(CHUNK) {
        let rows: Vec<(Uuid, Option<String>)> = contact::Entity::find()
            .select_only()
            .column(contact::Column::Id)
            .column(contact::Column::Story)
            .filter(contact::Column::Tenant.eq(tenant.as_str()))
            .filter(contact::Column::Id.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(c)
            .await
            .map_err(db_err)?;
        found.extend(rows.iter().map(|(id, _)| *id));
        texts.extend(
            rows.into_iter()
                .filter_map(|(id, text)| story(text.as_deref()).map(|t| (id, t.to_owned()))),
        );
    }
    if wanted.iter().any(|s| !found.contains(&s.contact_id)) {
        return Ok(false);
    }
    for shown in &mut wanted {
        match texts.get(&shown.contact_id) {
            Some(text) => shown.text.clone_from(text),
            None => {
                tracing::error!(contact_id = %shown.contact_id, "a kept answer shows a story that is gone");
                return Err(StoreError::Internal("cannot replay the answer".into()));
            }
        }
    }
    Ok(true)
}

/// Keeps the answer for this key; `party_id` is the party the answer concerns, if any,
/// and `contact_id` the contact (so retention deletes it with the contact).
pub async fn remember<T: Kept, C: ConnectionTrait>(
    c: &C,
    tenant: &TenantId,
    operation: &str,
    idem: Option<&Idempotency>,
    answer: &T,
    party_id: Option<Uuid>,
    contact_id: Uuid,
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
        contact_id: Some(contact_id),
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
