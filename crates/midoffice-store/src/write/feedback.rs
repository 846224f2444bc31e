//! A satisfaction answer, as the feedback plan says.

use crate::StoreError;
use crate::convert::micros;
use crate::db::db_err;
use crate::entity::feedback;
use midoffice_domain::contact::Feedback;
use midoffice_domain::{Instant, TenantId};
use sea_orm::{DatabaseTransaction, EntityTrait, IntoActiveModel};
use uuid::Uuid;

/// Stores an answer.
pub async fn insert(
    txn: &DatabaseTransaction,
    tenant: &TenantId,
    contact_id: Uuid,
    answer: &Feedback,
    created_at: Instant,
) -> Result<(), StoreError> {
    let row = feedback::Model {
        contact_id,
        tenant: tenant.as_str().to_owned(),
        score: i32::from(answer.score),
        effort: i32::from(answer.effort),
        story_repeated: answer.story_repeated,
        comment: answer.comment.clone(),
        created_at: micros(created_at),
    };
    feedback::Entity::insert(row.into_active_model())
        .exec_without_returning(txn)
        .await
        .map_err(db_err)?;
    Ok(())
}
