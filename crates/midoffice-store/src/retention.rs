//! Retention passes (DOMAIN.md "Privacy"): what `midoffice_domain::plan::retention`
//! decides, carried out for one tenant in batches, each its own write transaction, so
//! writes of the tenant are never held up for long.
//!
//! A pass walks the tenant's contacts that started before the horizon, oldest first
//! (`ix_contact_tenant_started`), a batch at a time; each batch loads its facts again
//! inside its write transaction, after the locks of the parties it deletes from (on
//! PostgreSQL, as every writer that changes a party's rows takes them: `lock`; the one
//! writer on SQLite), so a contact that just joined an old case keeps the case; and finds
//! the tenant's figure rollups current (`rollup`), else it deletes no contact, since one
//! whose tallies the rebuild has not summed yet would take its figures with it. Then the
//! sweeps of the domain's schedule (`plan::retention::schedule`: kept answers, the
//! processing log, audit records, kept dashboard answers) go, a batch at a time, by their own time: this file
//! only says which table and column each kind of row is.

use crate::convert::micros;
use crate::db::{self, db_err};
use crate::entity::{audit_record, contact, idempotency, processing_record};
use crate::{Store, StoreError, rollup, settings_in, write};
use midoffice_domain::plan::retention::{AgedRows, plan_retention, schedule};
use midoffice_domain::{Instant, TenantId};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, ExprTrait, Order, QueryFilter, QueryOrder,
    QuerySelect,
};
use uuid::Uuid;

/// Contacts looked at per batch (and so at most as many cases), and log or kept-answer
/// rows deleted per batch.
pub const RETENTION_BATCH: u64 = 500;

/// What one pass over a tenant deleted. Counts only: no personal data.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RetentionReport {
    /// The instant before which contacts went.
    pub horizon: Option<Instant>,
    pub cases: u64,
    pub contacts: u64,
    pub parties: u64,
    pub idempotency_records: u64,
    pub processing_records: u64,
    pub audit_records: u64,
    /// Events (`event`, with their deliveries) that happened before the horizon.
    pub events: u64,
    /// Dashboard figure answers kept in the database (`figure_answer`) of periods that
    /// ended before the horizon's day.
    pub figure_answers: u64,
    /// Write transactions it took.
    pub batches: u64,
    /// The longest of them, begin to commit: how long a write of the tenant waited for
    /// the pass at most.
    pub longest_batch: std::time::Duration,
    /// No contact was deleted because the tenant's figure rollups were not current (being
    /// rebuilt): a contact whose tallies are not in the rollups yet would take its
    /// figures with it. The next pass tries again.
    pub waited_for_figures: bool,
}

impl Store {
    /// The tenants with anything a retention pass may delete (contacts, kept answers,
    /// processing or audit records, kept figure answers), found with one index probe per tenant.
    pub async fn tenants_with_data(&self) -> Result<Vec<TenantId>, StoreError> {
        let mut all = std::collections::BTreeSet::new();
        for table in [
            "contact",
            "idempotency",
            "processing_record",
            "audit_record",
            "figure_answer",
        ] {
            let mut after: Option<String> = None;
            loop {
                let mut q = sea_orm::sea_query::Query::select();
                q.expr(Expr::col("tenant").min()).from(table);
                if let Some(a) = &after {
                    q.and_where(Expr::col("tenant").gt(a.as_str()));
                }
                let stmt = self.pools.backend.build(&q);
                let row = db::bounded(async {
                    self.pools.reader.query_one_raw(stmt).await.map_err(db_err)
                })
                .await?;
                let next: Option<String> = match row {
                    Some(r) => r.try_get_by_index(0).map_err(db_err)?,
                    None => None,
                };
                let Some(next) = next else { break };
                all.insert(next.clone());
                after = Some(next);
            }
        }
        Ok(all.iter().filter_map(|t| TenantId::parse(t).ok()).collect())
    }

    /// One retention pass over a tenant as of `now` (see the module docs). `exporting`:
    /// the processing log is exported over OTLP (the schedule then keeps what the
    /// collector has not acknowledged).
    pub async fn retention_pass(
        &self,
        tenant: &TenantId,
        now: Instant,
        exporting: bool,
    ) -> Result<RetentionReport, StoreError> {
        let settings = self.settings(tenant).await?;
        let plan = schedule(&settings, now, exporting);
        let before = plan.contacts_before;
        let mut report = RetentionReport {
            horizon: Some(before),
            ..RetentionReport::default()
        };
        let mut cursor: Option<(i64, Uuid)> = None;
        loop {
            let page = self.old_contacts(tenant, before, cursor).await?;
            let Some(last) = page.last() else { break };
            cursor = Some(*last);
            let candidates: Vec<Uuid> = page.iter().map(|(_, id)| *id).collect();
            let began = std::time::Instant::now();
            let counts = in_write!(self, |txn, locks| {
                // Settings again, in the transaction, as every write reads them
                // (under their shared lock, as every write).
                locks.reads_settings(txn, tenant).await?;
                let settings = settings_in(txn, tenant).await?;
                if !rollup::rollups_current(txn, tenant, &settings).await? {
                    return Ok(None);
                }
                let facts = locks
                    .load_retention(txn, tenant, &candidates, &settings, now)
                    .await?;
                let plan = plan_retention(&facts);
                write::save(txn, tenant, None, &plan.writes).await?;
                Ok(Some(plan.counts))
            })?;
            let Some(counts) = counts else {
                report.waited_for_figures = true;
                break;
            };
            report.longest_batch = report.longest_batch.max(began.elapsed());
            report.batches += 1;
            report.cases += counts.cases;
            report.contacts += counts.contacts;
            report.parties += counts.parties;
            if (page.len() as u64) < RETENTION_BATCH {
                break;
            }
        }
        let t = tenant.as_str();
        for sweep in plan.sweeps {
            let before = micros(sweep.before);
            match sweep.rows {
                AgedRows::KeptAnswers => {
                    use idempotency::{Column, Entity};
                    let old = Column::Tenant.eq(t).and(Column::CreatedAt.lt(before));
                    report.idempotency_records += self
                        .sweep::<Entity>(old, Column::CreatedAt, &mut report)
                        .await?;
                }
                AgedRows::ProcessingRecords { exported_only } => {
                    use processing_record::{Column, Entity};
                    let mut old = Column::Tenant.eq(t).and(Column::StartTime.lt(before));
                    if exported_only {
                        old = old.and(Column::ExportedAt.is_not_null());
                    }
                    report.processing_records += self
                        .sweep::<Entity>(old, Column::StartTime, &mut report)
                        .await?;
                }
                AgedRows::AuditRecords => {
                    use audit_record::{Column, Entity};
                    let p = processing_record::Entity;
                    let theirs = sea_orm::sea_query::Query::select()
                        .expr(Expr::val(1))
                        .from(p)
                        .and_where(
                            Expr::col((p, processing_record::Column::Tenant))
                                .equals((Entity, Column::Tenant)),
                        )
                        .and_where(
                            Expr::col((p, processing_record::Column::TraceId))
                                .equals((Entity, Column::TraceId)),
                        )
                        .and_where(
                            Expr::col((p, processing_record::Column::SpanId))
                                .equals((Entity, Column::SpanId)),
                        )
                        .to_owned();
                    let old = Column::Tenant
                        .eq(t)
                        .and(Column::At.lt(before))
                        .and(Expr::not_exists(theirs));
                    report.audit_records +=
                        self.sweep::<Entity>(old, Column::At, &mut report).await?;
                }
                AgedRows::FigureAnswers => {
                    // The horizon is 00:00 local on its day: a period whose day after
                    // its last (`to_day`) is at most that day ended before it.
                    let day = settings.calendar.local_date(sweep.before);
                    report.figure_answers +=
                        self.sweep_figure_answers(tenant, day, &mut report).await?;
                }
            }
        }
        report.events = self
            .sweep_events(tenant, plan.contacts_before, &mut report)
            .await?;
        Ok(report)
    }

    /// The tenant's kept dashboard answers (`figure_answer`) of periods whose day after
    /// their last is at most `until`, a batch at a time, each its own write
    /// transaction. The sums they were computed from stay: such a period asked again is
    /// computed and kept again.
    async fn sweep_figure_answers(
        &self,
        tenant: &TenantId,
        until: chrono::NaiveDate,
        report: &mut RetentionReport,
    ) -> Result<u64, StoreError> {
        let day = midoffice_domain::rollup::day_number(until);
        let t = tenant.as_str();
        let mut total = 0;
        loop {
            let began = std::time::Instant::now();
            let n = db::bounded(async {
                let txn = self.pools.begin_write().await?;
                let result = txn
                    .execute_raw(rollup::statement(
                        txn.get_database_backend(),
                        "DELETE FROM figure_answer WHERE tenant = ? AND to_day <= ? \
                         AND (what, from_day, to_day) IN (SELECT what, from_day, to_day \
                         FROM figure_answer WHERE tenant = ? AND to_day <= ? LIMIT ?)",
                        vec![
                            t.into(),
                            day.into(),
                            t.into(),
                            day.into(),
                            (RETENTION_BATCH as i64).into(),
                        ],
                    ))
                    .await
                    .map(|r| r.rows_affected())
                    .map_err(db_err);
                db::finish(txn, result).await
            })
            .await?;
            report.longest_batch = report.longest_batch.max(began.elapsed());
            report.batches += 1;
            total += n;
            if n < RETENTION_BATCH {
                return Ok(total);
            }
        }
    }

    /// The tenant's events that happened before `before` go, with their deliveries
    /// (delivered ones are gone already; failed or pending ones this old go too), a
    /// batch at a time, each its own write transaction.
    async fn sweep_events(
        &self,
        tenant: &TenantId,
        before: Instant,
        report: &mut RetentionReport,
    ) -> Result<u64, StoreError> {
        let mut total = 0;
        loop {
            let began = std::time::Instant::now();
            let n = db::bounded(async {
                let txn = self.pools.begin_write().await?;
                let result =
                    crate::events::delete_before(&txn, tenant, before, RETENTION_BATCH).await;
                db::finish(txn, result).await
            })
            .await?;
            report.longest_batch = report.longest_batch.max(began.elapsed());
            report.batches += 1;
            total += n;
            if n < RETENTION_BATCH {
                return Ok(total);
            }
        }
    }

    /// The next contacts of the tenant that started before `before`, after `cursor` in
    /// (start, id) order, read outside any write transaction.
    async fn old_contacts(
        &self,
        tenant: &TenantId,
        before: Instant,
        cursor: Option<(i64, Uuid)>,
    ) -> Result<Vec<(i64, Uuid)>, StoreError> {
        let mut q = contact::Entity::find()
            .select_only()
            .column(contact::Column::StartedAt)
            .column(contact::Column::Id)
            .filter(contact::Column::Tenant.eq(tenant.as_str()))
            .filter(contact::Column::StartedAt.lt(micros(before)));
        if let Some((started, id)) = cursor {
            q = q.filter(
                Expr::tuple([
                    Expr::col(contact::Column::StartedAt),
                    Expr::col(contact::Column::Id),
                ])
                .gt(Expr::tuple([Expr::val(started), Expr::val(id)])),
            );
        }
        let q = q
            .order_by(contact::Column::StartedAt, Order::Asc)
            .order_by(contact::Column::Id, Order::Asc)
            .limit(RETENTION_BATCH)
            .into_tuple()
            .all(&self.pools.reader);
        db::bounded(async { q.await.map_err(db_err) }).await
    }

    /// Deletes the rows `which` selects, oldest (by `age`) first, about
    /// [`RETENTION_BATCH`] per write transaction (rows of the same instant as the
    /// batch's last go with it). Answers how many went.
    async fn sweep<E: EntityTrait>(
        &self,
        which: sea_orm::sea_query::SimpleExpr,
        age: E::Column,
        report: &mut RetentionReport,
    ) -> Result<u64, StoreError> {
        let mut deleted = 0;
        loop {
            let which = which.clone();
            let began = std::time::Instant::now();
            let (gone, more) = db::bounded(async {
                let txn = self.pools.begin_write().await?;
                let result = async {
                    // The age of the batch's last row: up to it goes now.
                    let last: Option<i64> = E::find()
                        .select_only()
                        .column(age)
                        .filter(which.clone())
                        .order_by(age, Order::Asc)
                        .offset(RETENTION_BATCH - 1)
                        .limit(1)
                        .into_tuple()
                        .one(&txn)
                        .await
                        .map_err(db_err)?;
                    let mut delete = E::delete_many().filter(which.clone());
                    if let Some(last) = last {
                        delete = delete.filter(age.lte(last));
                    }
                    let gone = delete.exec(&txn).await.map_err(db_err)?.rows_affected;
                    Ok((gone, last.is_some()))
                }
                .await;
                db::finish(txn, result).await
            })
            .await?;
            deleted += gone;
            report.batches += 1;
            report.longest_batch = report.longest_batch.max(began.elapsed());
            if !more {
                break;
            }
        }
        Ok(deleted)
    }
}
