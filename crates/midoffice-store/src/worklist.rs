//! The commitments worklist (`ListCommitments`): a tenant's open callbacks and
//! hand-offs, soonest due first, a page at a time.
//!
//! A commitment is not stored as a row of its own: it is the completion of a contact
//! that ended `CALLBACK` or `HANDED_OFF` with a due time (`contact.due_at`), open until
//! a later contact on its case fulfils it (`signals::commitments`). The read walks the
//! tenant's commitments in due order on the index `(tenant, due_at)`, after the page
//! token's position; a `NOT EXISTS` on the index `(tenant, case_id)` leaves out those a
//! later contact already fulfilled, so the walk does not read them. That condition only
//! narrows the candidates: each candidate's case is then read with its contacts and the
//! domain decides whether it is open and what the worklist shows
//! (`view::worklist_item`), as the context does for the same case.

use crate::db::db_err;
use crate::entity::{contact, party};
use crate::facts::{self, CHUNK};
use crate::processing_log::Caller;
use crate::{Store, StoreError, convert, log_read};
use midoffice_domain::contact::{Direction, Outcome};
use midoffice_domain::processing::ProcessingKind;
use midoffice_domain::view::{self, CommitmentCursor, WorklistItem};
use midoffice_domain::{Code, Instant, TenantId};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Select};
use std::collections::{BTreeMap, BTreeSet};
use uuid::Uuid;

/// One page of the worklist.
#[derive(Clone, Debug, PartialEq)]
pub struct CommitmentPage {
    /// At most the page size, soonest due first.
    pub items: Vec<WorklistItem>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<CommitmentCursor>,
    /// The moment the page was judged at (overdue or not).
    pub as_of: Instant,
}

/// The candidates of a page: the tenant's contacts that made a commitment known at
/// `as_of` (of `department`, if asked) after `after` in the order (due time, id), that
/// no later contact on the case fulfilled by `as_of`, at most `limit`. Their open-ness
/// is decided by the domain on the case; this only keeps the walk off fulfilled ones.
pub(crate) fn candidates(
    tenant: &TenantId,
    department: Option<&Code>,
    after: Option<CommitmentCursor>,
    as_of: Instant,
    limit: u64,
) -> Select<contact::Entity> {
    let now = convert::micros(as_of);
    let f = Alias::new("f");
    let fulfils = Query::select()
        .expr(Expr::val(1))
        .from_as(contact::Entity, f.clone())
        .and_where(
            Expr::col((f.clone(), contact::Column::Tenant))
                .equals((contact::Entity, contact::Column::Tenant)),
        )
        .and_where(
            Expr::col((f.clone(), contact::Column::CaseId))
                .equals((contact::Entity, contact::Column::CaseId)),
        )
        .and_where(
            Expr::col((f.clone(), contact::Column::StartedAt))
                .gt(Expr::col((contact::Entity, contact::Column::EndedAt))),
        )
        // `+ 0`: a condition no index serves, so neither planner walks the tenant's
        // range of the index on `ended_at` instead of the case's contacts.
        .and_where(
            Expr::col((f.clone(), contact::Column::EndedAt))
                .add(0)
                .lte(now),
        )
        .and_where(
            Expr::col((f.clone(), contact::Column::Outcome))
                .eq(Outcome::Resolved.as_str())
                .or(Expr::col((f.clone(), contact::Column::Direction))
                    .eq(Direction::Outbound.as_str())
                    .and(
                        Expr::col((f.clone(), contact::Column::Outcome))
                            .ne(Outcome::Abandoned.as_str()),
                    )),
        )
        .to_owned();
    let mut q = contact::Entity::find()
        .filter(contact::Column::Tenant.eq(tenant.as_str()))
        .filter(contact::Column::DueAt.is_not_null())
        .filter(contact::Column::CaseId.is_not_null())
        .filter(
            contact::Column::Outcome
                .is_in([Outcome::Callback.as_str(), Outcome::HandedOff.as_str()]),
        )
        .filter(Expr::exists(fulfils).not());
    if let Some(d) = department {
        q = q.filter(
            Expr::expr(
                Expr::col(contact::Column::CompletionDepartment)
                    .if_null(Expr::col(contact::Column::Department)),
            )
            .eq(d.as_str()),
        );
    }
    if let Some(a) = after {
        let due = convert::micros(a.due_at);
        // A range of the index on the due time, then the ties after the position.
        q = q.filter(contact::Column::DueAt.gte(due)).filter(
            Expr::col(contact::Column::DueAt)
                .gt(due)
                .or(Expr::col(contact::Column::Id).gt(a.contact_id)),
        );
    }
    q.order_by_asc(contact::Column::DueAt)
        .order_by_asc(contact::Column::Id)
        .limit(limit)
}

impl Store {
    /// A page of the tenant's open commitments as known at `as_of` (of `department`, if
    /// given), soonest due first, after `after`, at most `size` (at least 1). Reading
    /// it shows each commitment's party (its masked BSN): a context read of each party
    /// shown, logged in the same transaction. Changes nothing else.
    pub async fn list_commitments(
        &self,
        tenant: &TenantId,
        caller: &Caller,
        department: Option<&Code>,
        after: Option<CommitmentCursor>,
        size: usize,
        as_of: Instant,
    ) -> Result<CommitmentPage, StoreError> {
        let size = size.max(1);
        in_logged_read!(self, tenant, caller, |txn, planned, refused| {
            let settings = self.settings_of(txn, tenant).await?;
            let mut items: Vec<WorklistItem> = Vec::new();
            let mut position = after;
            // One more than the page, to know whether a next page exists; again
            // from the last candidate while the domain turned candidates down.
            loop {
                let want = size + 1 - items.len();
                let rows = candidates(tenant, department, position, as_of, want as u64)
                    .all(txn)
                    .await
                    .map_err(db_err)?;
                let exhausted = rows.len() < want;
                let Some(last) = rows.last() else { break };
                position = Some(CommitmentCursor {
                    due_at: convert::instant(last.due_at.unwrap_or_default())?,
                    contact_id: last.id,
                });
                let case_ids: BTreeSet<Uuid> = rows.iter().filter_map(|r| r.case_id).collect();
                let case_ids: Vec<Uuid> = case_ids.into_iter().collect();
                let cases: BTreeMap<Uuid, _> = facts::cases_by_id(txn, tenant, &case_ids)
                    .await?
                    .into_iter()
                    .map(|k| (k.id, k))
                    .collect();
                let parties = parties_of(txn, tenant, cases.values().map(|k| k.party_id)).await?;
                for row in &rows {
                    let Some(case) = row.case_id.and_then(|id| cases.get(&id)) else {
                        continue;
                    };
                    let Some((party, erased)) = parties.get(&case.party_id) else {
                        continue;
                    };
                    items.extend(view::worklist_item(
                        case, party, *erased, row.id, department, as_of,
                    ));
                }
                if items.len() > size || exhausted {
                    break;
                }
            }
            let next = if items.len() > size {
                items.truncate(size);
                items.last().map(WorklistItem::cursor)
            } else {
                None
            };
            planned = log_read(
                txn,
                tenant,
                caller,
                &settings,
                ProcessingKind::ContextRead,
                items.iter().filter_map(|i| i.party.id),
                None,
            )
            .await?;
            Ok(CommitmentPage { items, next, as_of })
        })
    }
}

/// The rows of these parties (as stored: a case's party is never a merged one), by id,
/// each with whether it was erased on request.
async fn parties_of(
    txn: &sea_orm::DatabaseTransaction,
    tenant: &TenantId,
    ids: impl IntoIterator<Item = Uuid>,
) -> Result<BTreeMap<Uuid, (midoffice_domain::party::PartySummary, bool)>, StoreError> {
    let ids: Vec<Uuid> = ids
        .into_iter()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut out = BTreeMap::new();
    for chunk in ids.chunks(CHUNK) {
        for row in party::Entity::find()
            .filter(party::Column::Tenant.eq(tenant.as_str()))
            .filter(party::Column::Id.is_in(chunk.iter().copied()))
            .all(txn)
            .await
            .map_err(db_err)?
        {
            out.insert(
                row.id,
                (convert::party_summary(&row)?, row.erased_at.is_some()),
            );
        }
    }
    Ok(out)
}
