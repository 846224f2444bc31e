//! Saving a plan: each [`Write`] of a domain plan carried out as it says, in the plan's
//! order, inside the caller's transaction. Nothing here decides a rule: which parties
//! merge, which cases join, which case a contact gets and which fields an erasure
//! clears all come from `midoffice_domain::plan`.
//!
//! One file per seam: `start` (parties, identifiers, cases, contacts), `merge`,
//! `complete`, `feedback`, `erase`, `retention`.

mod complete;
mod erase;
mod feedback;
mod merge;
mod retention;
mod start;

pub(crate) use start::contact_row;

use crate::StoreError;
use crate::processing_log::{self, Caller};
use midoffice_domain::TenantId;
use midoffice_domain::plan::Write;
use midoffice_domain::processing::ProcessingStatus;
use sea_orm::DatabaseTransaction;

/// Carries out `writes` in order. `caller` is the call a processing of personal data
/// ([`Write::LogProcessing`]) is logged under; a plan that logs without one is a bug, and
/// refused whole.
pub async fn save(
    txn: &DatabaseTransaction,
    tenant: &TenantId,
    caller: Option<&Caller>,
    writes: &[Write],
) -> Result<(), StoreError> {
    for w in writes {
        match w {
            Write::CreateParty {
                id,
                created_at,
                strong,
            } => start::create_party(txn, tenant, *id, *created_at, strong.as_ref()).await?,
            Write::MergeParty { from, into, joins } => {
                merge::merge_party(txn, tenant, *from, *into, joins).await?;
            }
            Write::Attach { party, key } => start::attach(txn, tenant, *party, key).await?,
            Write::SetStrong { party, key } => start::set_strong(txn, tenant, *party, key).await?,
            Write::CreateCase {
                id,
                party,
                topic,
                reference,
                created_at,
            } => {
                start::create_case(
                    txn,
                    tenant,
                    *id,
                    *party,
                    topic.as_ref(),
                    reference.as_deref(),
                    *created_at,
                )
                .await?;
            }
            Write::InsertContact {
                contact,
                case_reference,
                created_at,
            } => {
                start::insert_contact(txn, tenant, contact, case_reference.as_deref(), *created_at)
                    .await?;
            }
            Write::CompleteContact {
                contact_id,
                case_id,
                case_chosen_at_completion,
                completion,
            } => {
                complete::complete_contact(
                    txn,
                    tenant,
                    *contact_id,
                    *case_id,
                    *case_chosen_at_completion,
                    completion,
                )
                .await?;
            }
            Write::InsertFeedback {
                contact_id,
                answer,
                created_at,
            } => feedback::insert(txn, tenant, *contact_id, answer, *created_at).await?,
            Write::DeleteIdentifiers { parties } => {
                erase::delete_identifiers(txn, tenant, parties).await?;
            }
            Write::MarkErased { parties, at } => {
                erase::mark_erased(txn, tenant, parties, *at).await?;
            }
            Write::ClearCaseReferences { parties } => {
                erase::clear_case_references(txn, tenant, parties).await?;
            }
            Write::ReplaceStories { parties, marker } => {
                erase::replace_stories(txn, tenant, parties, marker).await?;
            }
            Write::ClearContactCaseReferences { parties } => {
                erase::clear_contact_case_references(txn, tenant, parties).await?;
            }
            Write::ClearOrganisationTargets { parties } => {
                erase::clear_organisation_targets(txn, tenant, parties).await?;
            }
            Write::ClearFeedbackComments { contacts } => {
                erase::clear_feedback_comments(txn, tenant, contacts).await?;
            }
            Write::EmptyIdempotentAnswers { parties, at } => {
                crate::idempotency::erase(txn, tenant, parties, *at).await?;
            }
            Write::DeleteFeedback { contacts } => {
                retention::delete_feedback(txn, tenant, contacts).await?;
            }
            Write::DeleteIdempotency { contacts, parties } => {
                retention::delete_idempotency(txn, tenant, contacts, parties).await?;
            }
            Write::DeleteFigureUnits { units } => {
                retention::delete_figure_units(txn, tenant, units).await?;
            }
            Write::DeleteContacts { contacts } => {
                retention::delete_contacts(txn, tenant, contacts).await?;
            }
            Write::DeleteCases { cases } => retention::delete_cases(txn, tenant, cases).await?,
            Write::DeleteParties { parties } => {
                retention::delete_parties(txn, tenant, parties).await?;
            }
            Write::LogProcessing(processing) => {
                let caller = caller.ok_or_else(|| {
                    tracing::error!("a processing without its call: not saved");
                    StoreError::Internal("a processing without its call".into())
                })?;
                processing_log::write(txn, tenant, caller, processing, ProcessingStatus::Ok)
                    .await?;
            }
        }
    }
    Ok(())
}
