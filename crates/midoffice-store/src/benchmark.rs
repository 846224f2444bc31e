//! The benchmark between organisations in the store (`docs/benchmark.md`): a tenant's
//! counts for a benchmark period, computed from its stored facts with the benchmark's
//! settings (`benchmark::settings_for`), with its registration completeness; and the
//! signed summaries imported from other deployments (`benchmark_import`).

use crate::benchmark_summary::{self, Summary};
use crate::convert::{instant, micros};
use crate::db::{self, db_err};
use crate::entity::{benchmark_import, contact};
use crate::rollup::load_figure_facts;
use crate::{Store, StoreError, settings_in};
use midoffice_domain::benchmark::{
    BenchmarkPeriod, Count, MetricRef, Registration, counts, settings_for,
};
use midoffice_domain::figures::{self, Filter};
use midoffice_domain::settings::BenchmarkSettings;
use midoffice_domain::{Code, Instant, TenantId};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, EntityTrait, IntoActiveModel, PaginatorTrait,
    QueryFilter,
};
use std::collections::BTreeMap;

/// A tenant's benchmark counts for a period, as known at an instant.
#[derive(Clone, Debug, PartialEq)]
pub struct BenchmarkCounts {
    pub period: BenchmarkPeriod,
    pub as_of: Instant,
    /// How the tenant takes part (its settings as read in the same transaction).
    pub taking_part: BenchmarkSettings,
    /// How complete its registration of the period's contacts is.
    pub registration: Registration,
    /// Counts of every metric of the registry, with the benchmark's norms and windows in
    /// the tenant's own calendar.
    pub counts: BTreeMap<MetricRef, Count>,
}

/// What an import did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Imported {
    /// No summary of this group, period and participant was kept: stored.
    Stored,
    /// It replaced the one kept, which was not newer.
    Replaced,
    /// The one kept is newer (a later `as_of`): kept, this one not stored.
    KeptNewer,
}

impl Store {
    /// The tenant's benchmark counts for `period` as known at `as_of`: from the facts of
    /// the period's contacts, with the benchmark's norms and windows in the tenant's own
    /// calendar (`benchmark::settings_for`), never from its rollups (built with its own
    /// settings); and its registration completeness, counted by the database over the
    /// same contacts. One read-only transaction on the figures' pool.
    #[tracing::instrument(name = "store.benchmark_counts", skip_all, fields(tenant = %tenant))]
    pub async fn benchmark_counts(
        &self,
        tenant: &TenantId,
        period: BenchmarkPeriod,
        as_of: Instant,
    ) -> Result<BenchmarkCounts, StoreError> {
        let (own, facts, registration) = db::bounded_figures(&self.pools, async |txn| {
            let result = async {
                let own = settings_in(&txn, tenant).await?;
                let settings = settings_for(&own);
                let window = figures::load_window(&period.period(as_of), &settings);
                let facts = load_figure_facts(&txn, tenant, window).await?;
                let registration = registration_in(&txn, tenant, window, as_of).await?;
                Ok((own, facts, registration))
            }
            .await;
            db::finish(txn, result).await
        })
        .await?;
        let computed = tokio::task::spawn_blocking(move || {
            let settings = settings_for(&own);
            let p = period.period(as_of);
            let f = figures::figures(&facts, &p, &Filter::default(), &settings);
            let norms = figures::thermometer(&facts, &p, &settings);
            let counts = counts(&f, &norms, own.benchmark.size);
            (own.benchmark, counts)
        })
        .await
        .map_err(|e| StoreError::Internal(format!("benchmark computation failed: {e}")))?;
        Ok(BenchmarkCounts {
            period,
            as_of,
            taking_part: computed.0,
            registration,
            counts: computed.1,
        })
    }

    /// Keeps a summary whose signature was verified (`benchmark_summary::verify`), under
    /// its group, period and participant: stored when none is kept, replacing the kept
    /// one unless that one is newer (a later `as_of`). `signature` is the signature as
    /// the summary carried it (standard base64).
    #[tracing::instrument(name = "store.import_benchmark_summary", skip_all, fields(group = %summary.group.as_str()))]
    pub async fn import_benchmark_summary(
        &self,
        summary: &Summary,
        signature: &str,
        imported_at: Instant,
    ) -> Result<Imported, StoreError> {
        let row = benchmark_import::Model {
            peer_group: summary.group.as_str().to_owned(),
            period: summary.period.key(),
            participant: summary.participant.as_str().to_owned(),
            as_of: micros(summary.as_of),
            line: benchmark_summary::canonical(summary),
            signature: signature.to_owned(),
            imported_at: micros(imported_at),
        };
        db::bounded(async {
            let txn = self.pools.begin_write().await?;
            let result = async {
                let kept = benchmark_import::Entity::find_by_id((
                    row.peer_group.clone(),
                    row.period.clone(),
                    row.participant.clone(),
                ))
                .one(&txn)
                .await
                .map_err(db_err)?;
                match kept {
                    None => {
                        benchmark_import::Entity::insert(row.into_active_model())
                            .exec_without_returning(&txn)
                            .await
                            .map_err(db_err)?;
                        Ok(Imported::Stored)
                    }
                    Some(k) if k.as_of > row.as_of => Ok(Imported::KeptNewer),
                    Some(_) => {
                        benchmark_import::Entity::update(row.into_active_model().reset_all())
                            .exec(&txn)
                            .await
                            .map_err(db_err)?;
                        Ok(Imported::Replaced)
                    }
                }
            }
            .await;
            db::finish(txn, result).await
        })
        .await
    }

    /// The summaries kept for a group and period, by participant: each one's canonical
    /// line and signature, as verified when imported.
    #[tracing::instrument(name = "store.benchmark_imports", skip_all, fields(group = %group.as_str()))]
    pub async fn benchmark_imports(
        &self,
        group: &Code,
        period: BenchmarkPeriod,
    ) -> Result<Vec<(String, String, Instant)>, StoreError> {
        db::bounded_figures(&self.pools, async |txn| {
            let result = async {
                let rows = benchmark_import::Entity::find()
                    .filter(benchmark_import::Column::PeerGroup.eq(group.as_str()))
                    .filter(benchmark_import::Column::Period.eq(period.key()))
                    .all(&txn)
                    .await
                    .map_err(db_err)?;
                let mut out = Vec::with_capacity(rows.len());
                for r in rows {
                    out.push((r.line, r.signature, instant(r.imported_at)?));
                }
                out.sort();
                Ok(out)
            }
            .await;
            db::finish(txn, result).await
        })
        .await
    }
}

/// The registration of the contacts that started in the window and by `as_of`:
/// counted by the database (the tenant's index on the start leads).
async fn registration_in<C: sea_orm::ConnectionTrait>(
    c: &C,
    tenant: &TenantId,
    window: figures::LoadWindow,
    as_of: Instant,
) -> Result<Registration, StoreError> {
    let until = micros(as_of);
    let base = || {
        contact::Entity::find()
            .filter(contact::Column::Tenant.eq(tenant.as_str()))
            .filter(contact::Column::StartedAt.gte(micros(window.starts_from)))
            .filter(contact::Column::StartedAt.lt(micros(window.starts_to)))
            .filter(contact::Column::StartedAt.lte(until))
    };
    let contacts = base().count(c).await.map_err(db_err)?;
    let anonymous = base()
        .filter(contact::Column::PartyId.is_null())
        .count(c)
        .await
        .map_err(db_err)?;
    // No outcome as known at `as_of`: not completed, or completed after it.
    let without_outcome = base()
        .filter(
            Condition::any()
                .add(contact::Column::Outcome.is_null())
                .add(contact::Column::EndedAt.is_null())
                .add(contact::Column::EndedAt.gt(until)),
        )
        .count(c)
        .await
        .map_err(db_err)?;
    Ok(Registration {
        contacts,
        anonymous,
        without_outcome,
    })
}
