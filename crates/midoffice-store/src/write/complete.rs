//! A contact's completion, as the completion plan says.

use crate::StoreError;
use crate::convert::{micros, referral_columns};
use crate::db::db_err;
use crate::entity::contact;
use midoffice_domain::TenantId;
use midoffice_domain::command::completed_already;
use midoffice_domain::contact::Completion;
use sea_orm::{ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter};
use uuid::Uuid;

/// Stores a completion (and the case chosen at it). Only a contact not completed yet
/// is changed: under the tenant's write lock the plan saw it so, and should that ever
/// not hold, the domain's refusal of a second completion is the answer.
pub async fn complete_contact(
    txn: &DatabaseTransaction,
    tenant: &TenantId,
    contact_id: Uuid,
    case_id: Option<Uuid>,
    case_chosen_at_completion: bool,
    c: &Completion,
) -> Result<(), StoreError> {
    let (referred_kind, referred_value) = match c.referred_to.as_ref().map(referral_columns) {
        Some((k, v)) => (Some(k.to_owned()), Some(v)),
        None => (None, None),
    };
    let changes = contact::ActiveModel {
        case_id: Set(case_id),
        case_chosen_at_completion: Set(case_chosen_at_completion),
        ended_at: Set(Some(micros(c.ended_at))),
        answered_at: Set(c.answered_at.map(micros)),
        outcome: Set(Some(c.outcome.as_str().to_owned())),
        story: Set(c.story.clone()),
        completion_department: Set(c.department.as_ref().map(|d| d.as_str().to_owned())),
        completion_topic: Set(c.topic.as_ref().map(|t| t.as_str().to_owned())),
        referred_kind: Set(referred_kind),
        referred_value: Set(referred_value),
        due_at: Set(c.due_at.map(micros)),
        story_repeated: Set(Some(c.story_repeated)),
        ..Default::default()
    };
    let done = contact::Entity::update_many()
        .set(changes)
        .filter(contact::Column::Tenant.eq(tenant.as_str()))
        .filter(contact::Column::Id.eq(contact_id))
        .filter(contact::Column::EndedAt.is_null())
        .exec(txn)
        .await
        .map_err(db_err)?;
    match done.rows_affected {
        1 => Ok(()),
        _ => Err(completed_already().into()),
    }
}
