//! The benchmark between organisations in the store (`docs/benchmark.md`): a tenant's
//! counts for a benchmark period, computed from its stored facts with the benchmark's
//! settings (`benchmark::settings_for`), with its registration completeness; the
//! signed summaries imported from other deployments (`benchmark_import`); and the
//! fixed composition of a peer group per period (`benchmark_group`, `benchmark_member`).
//!
//! The benchmark's tables span tenants on purpose: a group's rows belong to the group,
//! not to a tenant (a local member's participant id is its tenant id).

use crate::benchmark_summary::{self, Summary};
use crate::bulk::{insert_statements, rows_per_statement};
use crate::convert::{instant, micros};
use crate::db::{self, Txn, db_err};
use crate::entity::{
    benchmark_group, benchmark_import, benchmark_member, contact, tenant_settings,
};
use crate::rollup::{load_figure_facts, statement};
use crate::{Store, StoreError, rows, settings_in};
use midoffice_domain::benchmark::{
    BenchmarkPeriod, Count, GroupPeriod, MetricRef, Origin, Participant, Registration,
    composable_from, compose_deadline, counts, members, named_now, settings_for,
};
use midoffice_domain::figures::{self, Filter};
use midoffice_domain::settings::BenchmarkSettings;
use midoffice_domain::{Code, Instant, TenantId};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect,
};
use std::collections::{BTreeMap, BTreeSet};

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
    /// same contacts. One read-only transaction on the figures' pool (for an export;
    /// a composition reads on the primary, `compose_benchmark_group`).
    #[tracing::instrument(name = "store.benchmark_counts", skip_all, fields(tenant = %tenant))]
    pub async fn benchmark_counts(
        &self,
        tenant: &TenantId,
        period: BenchmarkPeriod,
        as_of: Instant,
    ) -> Result<BenchmarkCounts, StoreError> {
        let loaded = db::bounded_figures(&self.pools, async |txn| {
            let result = counts_facts_in(&txn, tenant, period, as_of).await;
            db::finish(txn, result).await
        })
        .await?;
        compute_counts(period, as_of, loaded).await
    }

    /// [`Store::benchmark_counts`] read on the primary: what a composition, fixed
    /// forever, rests on (never a standby that may lag).
    async fn benchmark_counts_on_primary(
        &self,
        tenant: &TenantId,
        period: BenchmarkPeriod,
        as_of: Instant,
    ) -> Result<BenchmarkCounts, StoreError> {
        let loaded = db::bounded(async {
            let txn = self.pools.begin_read().await?;
            let result = counts_facts_in(&txn, tenant, period, as_of).await;
            db::finish(txn, result).await
        })
        .await?;
        compute_counts(period, as_of, loaded).await
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
        // Race-free without reading first: an insert that finds the key does nothing,
        // and then only a summary at least as new replaces the kept one (two imports of
        // the same key at once cannot both insert).
        db::bounded(async {
            let txn = self.pools.begin_write().await?;
            let result = async {
                let backend = txn.get_database_backend();
                let inserted = txn
                    .execute_raw(statement(
                        backend,
                        "INSERT INTO benchmark_import \
                         (peer_group, period, participant, as_of, line, signature, imported_at) \
                         VALUES (?, ?, ?, ?, ?, ?, ?) \
                         ON CONFLICT (peer_group, period, participant) DO NOTHING",
                        vec![
                            row.peer_group.as_str().into(),
                            row.period.as_str().into(),
                            row.participant.as_str().into(),
                            row.as_of.into(),
                            row.line.as_str().into(),
                            row.signature.as_str().into(),
                            row.imported_at.into(),
                        ],
                    ))
                    .await
                    .map_err(db_err)?;
                if inserted.rows_affected() == 1 {
                    return Ok(Imported::Stored);
                }
                let replaced = txn
                    .execute_raw(statement(
                        backend,
                        "UPDATE benchmark_import SET as_of = ?, line = ?, signature = ?, \
                         imported_at = ? \
                         WHERE peer_group = ? AND period = ? AND participant = ? AND as_of <= ?",
                        vec![
                            row.as_of.into(),
                            row.line.as_str().into(),
                            row.signature.as_str().into(),
                            row.imported_at.into(),
                            row.peer_group.as_str().into(),
                            row.period.as_str().into(),
                            row.participant.as_str().into(),
                            row.as_of.into(),
                        ],
                    ))
                    .await
                    .map_err(db_err)?;
                Ok(if replaced.rows_affected() == 1 {
                    Imported::Replaced
                } else {
                    Imported::KeptNewer
                })
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
            let result = imports_in(&txn, group, period).await;
            db::finish(txn, result).await
        })
        .await
    }
}

/// What a tenant's benchmark counts are computed from: its settings, the facts of the
/// period's contacts (with the benchmark's settings) and its registration, read in one
/// transaction.
type CountsFacts = (
    midoffice_domain::settings::TenantSettings,
    figures::FigureFacts,
    Registration,
);

async fn counts_facts_in(
    txn: &Txn,
    tenant: &TenantId,
    period: BenchmarkPeriod,
    as_of: Instant,
) -> Result<CountsFacts, StoreError> {
    let own = settings_in(txn, tenant).await?;
    let settings = settings_for(&own);
    let window = figures::load_window(&period.period(as_of), &settings);
    let facts = load_figure_facts(txn, tenant, window).await?;
    let registration = registration_in(txn, tenant, window, as_of).await?;
    Ok((own, facts, registration))
}

/// The counts from what [`counts_facts_in`] read, computed off the async threads.
async fn compute_counts(
    period: BenchmarkPeriod,
    as_of: Instant,
    (own, facts, registration): CountsFacts,
) -> Result<BenchmarkCounts, StoreError> {
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

/// The summaries kept for a group and period: line, signature and when imported, by
/// participant.
async fn imports_in<C: ConnectionTrait>(
    c: &C,
    group: &Code,
    period: BenchmarkPeriod,
) -> Result<Vec<(String, String, Instant)>, StoreError> {
    let rows = benchmark_import::Entity::find()
        .filter(benchmark_import::Column::PeerGroup.eq(group.as_str()))
        .filter(benchmark_import::Column::Period.eq(period.key()))
        .all(c)
        .await
        .map_err(db_err)?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        out.push((r.line, r.signature, instant(r.imported_at)?));
    }
    out.sort();
    Ok(out)
}

/// A group's membership and its members' figures for a period, fixed when composed.
#[derive(Clone, Debug, PartialEq)]
pub struct ComposedGroup {
    pub group: GroupPeriod,
    pub composed_at: Instant,
    /// Every member's figures as fixed at composition, one per member id.
    pub participants: Vec<Participant>,
}

/// Whether a group-period is composed.
#[derive(Clone, Debug, PartialEq)]
pub enum GroupState {
    Composed(ComposedGroup),
    /// Not composed yet, and it may not be before this instant.
    NotYet {
        composable_from: Instant,
    },
    /// Never composed, and past the instant it could be (`benchmark::compose_deadline`):
    /// it never will be, so it is never filled with later members.
    TooLate {
        deadline: Instant,
    },
}

/// A stored line that does not read back: the store's own data is damaged.
fn unreadable_line(e: benchmark_summary::SummaryError) -> StoreError {
    StoreError::Internal(format!(
        "a stored benchmark summary line is unreadable: {e}"
    ))
}

impl Store {
    /// The group's composition for the period; composes it first when it is due
    /// (`composable_from(period, grace_days) <= now < compose_deadline(period,
    /// grace_days)`) and not composed yet. Past the deadline it stores nothing.
    ///
    /// The members (`benchmark::members`) are the local tenants taking part in `group`
    /// at that moment (their counts as known at the composition's instant, whole
    /// seconds) and the summaries imported for the group and period, less any of a
    /// tenant of this deployment. Every read is on the primary: the counts first, a
    /// read transaction each; one write transaction then inserts the group's row (the
    /// key makes it happen once: a second composer's insert does nothing, and its
    /// members are dropped) and the members. From then on the membership never
    /// changes; whether a member is named is taken when read ([`Store::benchmark_group`]).
    #[tracing::instrument(name = "store.compose_benchmark_group", skip_all, fields(group = %group.as_str(), period = %period.key()))]
    pub async fn compose_benchmark_group(
        &self,
        group: &Code,
        period: BenchmarkPeriod,
        now: Instant,
        grace_days: u32,
    ) -> Result<GroupState, StoreError> {
        if let Some(done) = self.benchmark_group(group, period).await? {
            return Ok(GroupState::Composed(done));
        }
        let from = composable_from(period, grace_days);
        if now < from {
            return Ok(GroupState::NotYet {
                composable_from: from,
            });
        }
        let deadline = compose_deadline(period, grace_days);
        if now >= deadline {
            return Ok(GroupState::TooLate { deadline });
        }
        // A summary line carries whole seconds; the local members' `as_of` is this.
        let composed_at =
            chrono::DateTime::from_timestamp(now.timestamp(), 0).ok_or_else(|| {
                StoreError::Internal("the composition's instant is out of range".into())
            })?;
        let (tenants, imports) = db::bounded(async {
            let txn = self.pools.begin_read().await?;
            let result = async {
                let tenants = local_tenants(&txn).await?;
                let imports = imports_in(&txn, group, period).await?;
                Ok((tenants, imports))
            }
            .await;
            db::finish(txn, result).await
        })
        .await?;
        let mut imported = Vec::with_capacity(imports.len());
        for (line, _, _) in imports {
            let summary = benchmark_summary::parse_canonical(&line).map_err(unreadable_line)?;
            imported.push((summary.participant, line));
        }
        let mut locals = Vec::new();
        for (id, settings) in &tenants {
            if settings.taking_part_in() != Some(group) {
                continue;
            }
            let Ok(tenant) = TenantId::parse(id.as_str()) else {
                continue;
            };
            let counts =
                Box::pin(self.benchmark_counts_on_primary(&tenant, period, composed_at)).await?;
            // Its settings as read with its counts: it may have left the group meanwhile.
            let part = &counts.taking_part;
            if part.taking_part_in() != Some(group) {
                continue;
            }
            let summary = Summary {
                participant: id.clone(),
                group: group.clone(),
                period,
                as_of: composed_at,
                size: part.size,
                named: part.named,
                registration: counts.registration,
                counts: counts.counts,
            };
            locals.push((id.clone(), benchmark_summary::canonical(&summary)));
        }
        let ids: BTreeSet<Code> = tenants.into_keys().collect();
        let composition = members(locals, imported, &ids);
        for id in &composition.dropped {
            tracing::warn!(
                participant = %id.as_str(),
                "an imported benchmark summary of a tenant of this deployment is left out"
            );
        }
        let key = period.key();
        let count = i32::try_from(composition.members.len())
            .map_err(|_| StoreError::Internal("too many benchmark members".into()))?;
        let rows: Vec<benchmark_member::Model> = composition
            .members
            .into_iter()
            .map(|(id, (origin, line))| benchmark_member::Model {
                peer_group: group.as_str().to_owned(),
                period: key.clone(),
                participant: id.as_str().to_owned(),
                origin: match origin {
                    Origin::Local => benchmark_member::LOCAL,
                    Origin::Imported => benchmark_member::IMPORTED,
                }
                .to_owned(),
                line,
            })
            .collect();
        let ours = db::bounded(async {
            let txn = self.pools.begin_write().await?;
            let result = insert_composition(&txn, group, &key, composed_at, count, rows).await;
            db::finish(txn, result).await
        })
        .await?;
        if ours {
            tracing::info!(members = count, "benchmark group composed");
        } else {
            tracing::debug!("benchmark group composed by another meanwhile; theirs is kept");
        }
        self.benchmark_group(group, period)
            .await?
            .map(GroupState::Composed)
            .ok_or_else(|| StoreError::Internal("a composed benchmark group is gone".into()))
    }

    /// Read only: the composition if it was made (never composes; for public pages).
    /// The members' figures as fixed at composition; whether each is named as of now
    /// (`benchmark::named_now`: a local member by its current settings, an imported
    /// one by the summary kept of it for the group and period). One read transaction
    /// on the primary.
    #[tracing::instrument(name = "store.benchmark_group", skip_all, fields(group = %group.as_str(), period = %period.key()))]
    pub async fn benchmark_group(
        &self,
        group: &Code,
        period: BenchmarkPeriod,
    ) -> Result<Option<ComposedGroup>, StoreError> {
        let key = period.key();
        let found = db::bounded(async {
            let txn = self.pools.begin_read().await?;
            let result = async {
                let Some(row) =
                    benchmark_group::Entity::find_by_id((group.as_str().to_owned(), key.clone()))
                        .one(&txn)
                        .await
                        .map_err(db_err)?
                else {
                    return Ok(None);
                };
                let members = benchmark_member::Entity::find()
                    .filter(benchmark_member::Column::PeerGroup.eq(group.as_str()))
                    .filter(benchmark_member::Column::Period.eq(key.as_str()))
                    .all(&txn)
                    .await
                    .map_err(db_err)?;
                let locals: Vec<&str> = members
                    .iter()
                    .filter(|m| m.origin == benchmark_member::LOCAL)
                    .map(|m| m.participant.as_str())
                    .collect();
                let settings = tenant_settings::Entity::find()
                    .filter(tenant_settings::Column::Tenant.is_in(locals))
                    .all(&txn)
                    .await
                    .map_err(db_err)?;
                let imports = imports_in(&txn, group, period).await?;
                Ok(Some((row, members, settings, imports)))
            }
            .await;
            db::finish(txn, result).await
        })
        .await?;
        let Some((row, members, settings, imports)) = found else {
            return Ok(None);
        };
        let mut local = BTreeMap::new();
        for r in settings {
            let s = rows::settings::decode(&r.settings)
                .map_err(|e| rows::unreadable("tenant_settings.settings", &e))?;
            local.insert(r.tenant, s.benchmark);
        }
        let mut imported = BTreeMap::new();
        for (line, _, _) in imports {
            let summary = benchmark_summary::parse_canonical(&line).map_err(unreadable_line)?;
            imported.insert(summary.participant, summary.named);
        }
        let mut participants = Vec::with_capacity(members.len());
        for m in members {
            let summary = benchmark_summary::parse_canonical(&m.line).map_err(unreadable_line)?;
            let mut p = summary.participant();
            p.named = if m.origin == benchmark_member::LOCAL {
                named_now(Origin::Local, local.get(&m.participant), None)
            } else {
                named_now(Origin::Imported, None, imported.get(&p.id).copied())
            };
            participants.push(p);
        }
        participants.sort_by(|a, b| a.id.cmp(&b.id));
        let ids: BTreeSet<Code> = participants.iter().map(|p| p.id.clone()).collect();
        Ok(Some(ComposedGroup {
            group: GroupPeriod::fixed(group.clone(), period, ids),
            composed_at: instant(row.composed_at)?,
            participants,
        }))
    }

    /// The periods composed for a group, with when, newest period first (by its dates'
    /// end, then longer periods first).
    #[tracing::instrument(name = "store.benchmark_periods", skip_all, fields(group = %group.as_str()))]
    pub async fn benchmark_periods(
        &self,
        group: &Code,
    ) -> Result<Vec<(BenchmarkPeriod, Instant)>, StoreError> {
        let rows = db::bounded(async {
            let txn = self.pools.begin_read().await?;
            let result = benchmark_group::Entity::find()
                .filter(benchmark_group::Column::PeerGroup.eq(group.as_str()))
                .all(&txn)
                .await
                .map_err(db_err);
            db::finish(txn, result).await
        })
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let period = BenchmarkPeriod::parse(&r.period).map_err(|e| {
                StoreError::Internal(format!("a stored benchmark period is unreadable: {e}"))
            })?;
            out.push((period, instant(r.composed_at)?));
        }
        out.sort_by_key(|(p, _)| {
            let (from, to) = p.dates();
            (std::cmp::Reverse(to), from)
        });
        Ok(out)
    }

    /// The peer groups a deployment composes: those of its tenants taking part, and
    /// those it holds imported summaries of.
    #[tracing::instrument(name = "store.benchmark_groups", skip_all)]
    pub async fn benchmark_groups(&self) -> Result<BTreeSet<Code>, StoreError> {
        db::bounded(async {
            let txn = self.pools.begin_read().await?;
            let result = async {
                let mut groups: BTreeSet<Code> = local_tenants(&txn)
                    .await?
                    .into_values()
                    .filter_map(|s| s.taking_part_in().cloned())
                    .collect();
                let imported: Vec<String> = benchmark_import::Entity::find()
                    .select_only()
                    .column(benchmark_import::Column::PeerGroup)
                    .distinct()
                    .into_tuple()
                    .all(&txn)
                    .await
                    .map_err(db_err)?;
                groups.extend(imported.iter().filter_map(|g| Code::parse(g).ok()));
                Ok(groups)
            }
            .await;
            db::finish(txn, result).await
        })
        .await
    }
}

/// Every tenant of this deployment with settings, by its id as a participant id, with
/// its benchmark settings as stored now. A tenant id that is not a valid participant
/// code is skipped (and logged): it cannot take part.
async fn local_tenants(txn: &Txn) -> Result<BTreeMap<Code, BenchmarkSettings>, StoreError> {
    let stored = tenant_settings::Entity::find()
        .all(txn)
        .await
        .map_err(db_err)?;
    let mut out = BTreeMap::new();
    for row in stored {
        let settings = rows::settings::decode(&row.settings)
            .map_err(|e| rows::unreadable("tenant_settings.settings", &e))?;
        match Code::parse(&row.tenant) {
            Ok(id) => {
                out.insert(id, settings.benchmark);
            }
            Err(_) => tracing::warn!(
                tenant = %row.tenant,
                "a tenant id that is not a valid benchmark participant code is skipped"
            ),
        }
    }
    Ok(out)
}

/// Inserts a composition, unless one is there: answers whether it was this one. The
/// group's row comes first, so a composer that finds another's (committed, or waited
/// for on PostgreSQL) inserts nothing.
async fn insert_composition(
    txn: &Txn,
    group: &Code,
    period: &str,
    composed_at: Instant,
    members: i32,
    rows: Vec<benchmark_member::Model>,
) -> Result<bool, StoreError> {
    let backend = txn.get_database_backend();
    let inserted = txn
        .execute_raw(statement(
            backend,
            "INSERT INTO benchmark_group (peer_group, period, composed_at, members) \
             VALUES (?, ?, ?, ?) ON CONFLICT (peer_group, period) DO NOTHING",
            vec![
                group.as_str().into(),
                period.into(),
                micros(composed_at).into(),
                members.into(),
            ],
        ))
        .await
        .map_err(db_err)?;
    if inserted.rows_affected() != 1 {
        return Ok(false);
    }
    let mut statements = Vec::new();
    insert_statements::<benchmark_member::ActiveModel>(
        backend,
        rows,
        rows_per_statement(backend, 5),
        &mut statements,
    );
    for s in statements {
        txn.execute_raw(s).await.map_err(db_err)?;
    }
    Ok(true)
}
