//! Figures kept as rollups (`midoffice_domain::rollup`), and the figure calls.
//!
//! Every write that changes a unit of the figures (a case with its contacts, or a
//! contact on no case) refreshes it in its own transaction ([`after_writes`]): the
//! unit's tallies are computed again from its facts as the write leaves them (its
//! plan's, or read back from the store), the difference with the
//! tallies it had (`figure_unit`) is added to the per-day and per-month sums
//! (`figure_rollup`, `figure_month`) and totals (`figure_day_total`,
//! `figure_month_total`), one batched upsert each, and the new tallies are kept. A figure call answers from the sums
//! when the tenant's rollups were built with its current settings (`figure_state`) and
//! `as_of` is at or after every stored event (the latest start and end of a contact);
//! otherwise from the facts of the period, as before. After a change of settings that
//! changes what the tallies depend on, [`Store::rebuild_figures`] refreshes every unit
//! in batches and records the new fingerprint.

use crate::convert::{instant, micros, now};
use crate::db::{self, db_err};
use crate::entity::{case, contact, figure_state, figure_unit};
use crate::facts::{self, CHUNK};
use crate::figure_cache::{For, PerPeriod, What};
use crate::{Store, StoreError, rows, settings_in};
use chrono::NaiveDate;
use midoffice_domain::figures::{FigureFacts, Figures, Filter, LoadWindow, NormResult, Period};
use midoffice_domain::plan::{Touched, UnitAfter, Write, touched_units};
use midoffice_domain::rollup::{
    self, Grain, Part, Path, RollupRow, Span, Tally, TallyKey, TallyKind, UnitFacts, day_number,
};
use midoffice_domain::settings::TenantSettings;
use midoffice_domain::{Code, TenantId};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    Statement, Value,
};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::{Arc, Mutex};
use uuid::Uuid;

/// Units refreshed per transaction of a rebuild.
pub const REBUILD_BATCH: u64 = 500;
/// Rows per upsert statement (11 values each, under SQLite's 999).
const UPSERT_ROWS: usize = 90;
/// Shards of the sums on PostgreSQL ([`shard_of`]).
pub const PG_SHARDS: u64 = 8;

/// The shard of the sum rows a unit's tallies go to: on PostgreSQL a stable hash of
/// the unit id modulo [`PG_SHARDS`], so writes of different units of one tenant and
/// day mostly upsert different rows and do not wait for each other's commit; on
/// SQLite (one writer, nothing to wait for) always 0, so its rows do not multiply.
/// A unit always adds to and takes from its own shard; the reads sum over the shards.
pub(crate) fn shard_of(backend: DbBackend, unit: Uuid) -> i16 {
    if backend != DbBackend::Postgres {
        return 0;
    }
    // FNV-1a over the id's bytes: the same on every build and platform.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in unit.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    i16::try_from(h % PG_SHARDS).unwrap_or(0)
}

/// Count differences of the sums, each in its unit's shard ([`shard_of`]).
type Deltas = BTreeMap<(i16, Tally), i64>;

/// Which sum tables [`add_sums`] writes: those with a shard column (m0009 on), or the
/// tables as m0008 left them (only its conversion writes those).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Sharded {
    Yes,
    BeforeM0009,
}

/// Which sums: every combination of dims (`figure_rollup`, `figure_month`), or the
/// totals with topic, department or both summed away (`figure_day_total`,
/// `figure_month_total`, each tally as `rollup::total_rows` counts it, in the parts of
/// `rollup::Part`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Sums {
    All,
    Totals,
}

/// Rows of sums to add: `(shard, day or month number, kind, key, n)`.
pub(crate) type SumRow = (i16, i64, TallyKind, TallyKey, i64);

/// Which computation answered a figure call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FigurePath {
    /// The per-day rollups.
    Rollups,
    /// The stored facts of the period (the reference computation).
    Facts,
}

/// A figure answer and the path that computed it.
#[derive(Clone, Debug, PartialEq)]
pub struct Answered<T> {
    pub answer: T,
    pub path: FigurePath,
}

/// A statement with `?` placeholders, numbered `$n` for PostgreSQL.
pub(crate) fn statement(backend: DbBackend, sql: &str, values: Vec<Value>) -> Statement {
    let sql = if backend == DbBackend::Postgres {
        let mut out = String::with_capacity(sql.len() + 16);
        let mut n = 0;
        for ch in sql.chars() {
            if ch == '?' {
                n += 1;
                out.push_str(&format!("${n}"));
            } else {
                out.push(ch);
            }
        }
        out
    } else {
        sql.to_owned()
    };
    Statement::from_sql_and_values(backend, sql, values)
}

/// After a plan's writes are saved, in the same transaction: every unit they touched is
/// refreshed, and a tenant without a figure state gets one (its rollups are kept from
/// its first contact on). `units` are the touched units as the plan leaves them
/// (`plan::units_after`), when it holds them all: their facts are taken from there
/// instead of being read again; otherwise (`None`: a merge, a satisfaction answer on a
/// case) they are read from the store, as a rebuild reads them.
pub async fn after_writes<C: ConnectionTrait>(
    c: &C,
    tenant: &TenantId,
    writes: &[Write],
    units: Option<&[UnitAfter]>,
    settings: &TenantSettings,
    states: &KnownStates,
) -> Result<(), StoreError> {
    let touched = touched_units(writes);
    if touched.is_empty() {
        return Ok(());
    }
    match units {
        Some(units) => refresh_from_plan(c, tenant, units, settings).await?,
        None => {
            let units = touched_ids(c, tenant, touched).await?;
            refresh(c, tenant, &units, settings).await?;
        }
    }
    ensure_state(c, tenant, settings, states).await
}

/// The ids of the units touched: a case, a contact on its own, and for a contact
/// (`Touched::Contact`) itself and its case, read from the store.
async fn touched_ids<C: ConnectionTrait>(
    c: &C,
    tenant: &TenantId,
    touched: Vec<Touched>,
) -> Result<Vec<Uuid>, StoreError> {
    let mut units = BTreeSet::new();
    let mut contacts = Vec::new();
    for t in touched {
        match t {
            Touched::Case(id) | Touched::Caseless(id) => {
                units.insert(id);
            }
            Touched::Contact(id) => {
                units.insert(id);
                contacts.push(id);
            }
        }
    }
    for chunk in contacts.chunks(CHUNK) {
        let cases: Vec<Option<Uuid>> = contact::Entity::find()
            .select_only()
            .column(contact::Column::CaseId)
            .filter(contact::Column::Tenant.eq(tenant.as_str()))
            .filter(contact::Column::Id.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(c)
            .await
            .map_err(db_err)?;
        units.extend(cases.into_iter().flatten());
    }
    Ok(units.into_iter().collect())
}

/// Tallies of units, by unit id.
type UnitTallies = BTreeMap<Uuid, BTreeMap<Tally, i64>>;

/// A unit's tallies, counted (`rollup::tallies`): the one computation of them, for a
/// refresh from the store, from a plan, and for a bulk load.
pub(crate) fn unit_tallies(unit: UnitFacts<'_>, settings: &TenantSettings) -> BTreeMap<Tally, i64> {
    rollup::counted(rollup::tallies(unit, settings))
}

/// Refreshes the units a plan's writes touched from the plan's own facts after its
/// writes ([`after_writes`]). Their old tallies still come from `figure_unit`, locked on
/// PostgreSQL as in [`refresh`]; the facts need no lock of their own here: every write
/// that changes a unit holds the lock of its party (or of its anonymous contact) from
/// before it loaded them to its commit.
async fn refresh_from_plan<C: ConnectionTrait>(
    c: &C,
    tenant: &TenantId,
    units: &[UnitAfter],
    settings: &TenantSettings,
) -> Result<(), StoreError> {
    let ids: Vec<Uuid> = units.iter().map(UnitAfter::id).collect();
    let old = stored_units(c, tenant, &ids).await?;
    let mut new: UnitTallies = BTreeMap::new();
    for unit in units {
        let facts = match unit {
            UnitAfter::Case(k) => UnitFacts::Case(k),
            UnitAfter::Contact(contact) => UnitFacts::Contact(contact),
            UnitAfter::NoUnit(_) => continue,
        };
        new.insert(unit.id(), unit_tallies(facts, settings));
    }
    if cfg!(debug_assertions) {
        // Debug builds (the tests) check the plan against the store: the units read
        // back after the writes must give the same tallies.
        let read = read_units(c, tenant, &ids, settings).await?;
        let nonempty = |m: &UnitTallies| -> UnitTallies {
            m.iter()
                .filter(|(_, t)| !t.is_empty())
                .map(|(id, t)| (*id, t.clone()))
                .collect()
        };
        if nonempty(&read) != nonempty(&new) {
            tracing::error!(
                ?ids,
                "the figure units a plan left differ from those read back after its writes"
            );
            return Err(StoreError::Internal(
                "figure units of a plan differ from the store".into(),
            ));
        }
    }
    save_refreshed(c, tenant, &ids, &old, &new).await
}

/// Refreshes these units (case ids or contact ids; one that no longer is a unit, a case
/// merged away or a contact now on a case, loses its contributions).
pub async fn refresh<C: ConnectionTrait>(
    c: &C,
    tenant: &TenantId,
    units: &[Uuid],
    settings: &TenantSettings,
) -> Result<(), StoreError> {
    // The units' rows first, locked on PostgreSQL (writes of one unit hold the lock of
    // its party, a rebuild does not): the facts read after them are the latest.
    let old = stored_units(c, tenant, units).await?;
    let new = read_units(c, tenant, units, settings).await?;
    save_refreshed(c, tenant, units, &old, &new).await
}

/// The tallies kept for these units (`figure_unit`), locked on PostgreSQL.
async fn stored_units<C: ConnectionTrait>(
    c: &C,
    tenant: &TenantId,
    units: &[Uuid],
) -> Result<UnitTallies, StoreError> {
    let mut old: UnitTallies = BTreeMap::new();
    for chunk in units.chunks(CHUNK) {
        let mut q = figure_unit::Entity::find()
            .filter(figure_unit::Column::Tenant.eq(tenant.as_str()))
            .filter(figure_unit::Column::UnitId.is_in(chunk.iter().copied()))
            .order_by_asc(figure_unit::Column::UnitId);
        if c.get_database_backend() == DbBackend::Postgres {
            q = q.lock_exclusive();
        }
        let stored = q.all(c).await.map_err(db_err)?;
        for row in stored {
            let tallies = rows::figures::decode(&row.tallies)
                .map_err(|e| rows::unreadable("figure_unit.tallies", &e))?;
            old.insert(row.unit_id, tallies);
        }
    }
    Ok(old)
}

/// The tallies of these units as the store holds them now: each live case with its
/// contacts, each contact on no case (ids that are neither have none).
async fn read_units<C: ConnectionTrait>(
    c: &C,
    tenant: &TenantId,
    units: &[Uuid],
    settings: &TenantSettings,
) -> Result<UnitTallies, StoreError> {
    let t = tenant.as_str();
    let mut case_rows = Vec::new();
    for chunk in units.chunks(CHUNK) {
        // Merged cases are left out after reading, not in the statement: with SQLite's
        // sampled statistics, `merged_into IS NULL` was planned on
        // `ix_case_merged_into`, a read of every live case of the store.
        case_rows.extend(
            case::Entity::find()
                .filter(case::Column::Tenant.eq(t))
                .filter(case::Column::Id.is_in(chunk.iter().copied()))
                .all(c)
                .await
                .map_err(db_err)?
                .into_iter()
                .filter(|k| k.merged_into.is_none()),
        );
    }
    let cases = facts::cases_with_contacts(c, tenant, case_rows).await?;
    let live_cases: BTreeSet<Uuid> = cases.iter().map(|k| k.id).collect();
    let rest: Vec<Uuid> = units
        .iter()
        .copied()
        .filter(|u| !live_cases.contains(u))
        .collect();
    let mut contact_rows = Vec::new();
    for chunk in rest.chunks(CHUNK) {
        contact_rows.extend(
            contact::Entity::find()
                .filter(contact::Column::Tenant.eq(t))
                .filter(contact::Column::Id.is_in(chunk.iter().copied()))
                .filter(contact::Column::CaseId.is_null())
                .all(c)
                .await
                .map_err(db_err)?,
        );
    }
    let contacts = facts::contacts_as_facts(c, tenant, &contact_rows).await?;
    let mut new: UnitTallies = BTreeMap::new();
    for case in &cases {
        new.insert(case.id, unit_tallies(UnitFacts::Case(case), settings));
    }
    for contact in &contacts {
        new.insert(
            contact.id,
            unit_tallies(UnitFacts::Contact(contact), settings),
        );
    }
    Ok(new)
}

/// Adds the difference between the units' `old` and `new` tallies to the sums, and
/// keeps the new tallies (a unit with none loses its row).
async fn save_refreshed<C: ConnectionTrait>(
    c: &C,
    tenant: &TenantId,
    units: &[Uuid],
    old: &UnitTallies,
    new: &UnitTallies,
) -> Result<(), StoreError> {
    let empty = BTreeMap::new();
    let backend = c.get_database_backend();
    let mut delta: Deltas = BTreeMap::new();
    let mut keep = Vec::new();
    let mut gone = Vec::new();
    for id in units {
        let before = old.get(id).unwrap_or(&empty);
        let after = new.get(id).unwrap_or(&empty);
        if before == after {
            continue;
        }
        let shard = shard_of(backend, *id);
        for (tally, d) in rollup::difference(before, after) {
            *delta.entry((shard, tally)).or_insert(0) += d;
        }
        if after.is_empty() {
            gone.push(*id);
        } else {
            keep.push((*id, encode_unit(after)?));
        }
    }
    delta.retain(|_, d| *d != 0);
    add_to_rollups(c, tenant, &delta).await?;
    save_units(c, tenant, &keep).await?;
    for chunk in gone.chunks(CHUNK) {
        figure_unit::Entity::delete_many()
            .filter(figure_unit::Column::Tenant.eq(tenant.as_str()))
            .filter(figure_unit::Column::UnitId.is_in(chunk.iter().copied()))
            .exec(c)
            .await
            .map_err(db_err)?;
    }
    Ok(())
}

/// Keeps units' tallies (`figure_unit`, encoded rows).
async fn save_units<C: ConnectionTrait>(
    c: &C,
    tenant: &TenantId,
    units: &[(Uuid, String)],
) -> Result<(), StoreError> {
    let backend = c.get_database_backend();
    for chunk in units.chunks(UPSERT_ROWS) {
        let mut sql = String::from("INSERT INTO figure_unit (tenant, unit_id, tallies) VALUES ");
        let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * 3);
        for (i, (id, text)) in chunk.iter().enumerate() {
            sql.push_str(if i == 0 { "(?, ?, ?)" } else { ", (?, ?, ?)" });
            values.extend([tenant.as_str().into(), (*id).into(), text.clone().into()]);
        }
        sql.push_str(" ON CONFLICT (tenant, unit_id) DO UPDATE SET tallies = excluded.tallies");
        c.execute_raw(statement(backend, &sql, values))
            .await
            .map_err(db_err)?;
    }
    Ok(())
}

fn encode_unit(tallies: &BTreeMap<Tally, i64>) -> Result<String, StoreError> {
    rows::figures::encode(tallies).map_err(|e| {
        tracing::error!(error = %e, "cannot write a figure unit row");
        StoreError::Internal("cannot store the figure tallies".into())
    })
}

/// The figures of new units written without the store's writes (a bulk load): each
/// unit's tallies kept, their sums added, and a figure state for a tenant without one.
/// The units must be new (no tallies kept yet).
pub(crate) async fn add_new_units<C: ConnectionTrait>(
    c: &C,
    tenant: &TenantId,
    units: &[(Uuid, BTreeMap<Tally, i64>)],
    settings: &TenantSettings,
    states: &KnownStates,
) -> Result<(), StoreError> {
    let backend = c.get_database_backend();
    let mut sums: Deltas = BTreeMap::new();
    let mut keep = Vec::with_capacity(units.len());
    for (id, tallies) in units {
        if tallies.is_empty() {
            continue;
        }
        keep.push((*id, encode_unit(tallies)?));
        let shard = shard_of(backend, *id);
        for (t, n) in tallies {
            *sums.entry((shard, t.clone())).or_insert(0) += n;
        }
    }
    add_to_rollups(c, tenant, &sums).await?;
    save_units(c, tenant, &keep).await?;
    ensure_state(c, tenant, settings, states).await
}

/// The tenants whose `figure_state` row this process has seen: once a write found the
/// row there (its insert did nothing), no later write of the tenant tries again. Rows of
/// `figure_state` are never deleted (a change of settings, a rebuild and a bulk load
/// update them in place; no retention, erasure or migration removes one), so "seen"
/// stays true for as long as the database does.
#[derive(Debug, Default)]
pub(crate) struct KnownStates(Mutex<HashSet<String>>);

impl KnownStates {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn holds(&self, tenant: &TenantId) -> bool {
        self.lock().contains(tenant.as_str())
    }

    fn seen(&self, tenant: &TenantId) {
        self.lock().insert(tenant.as_str().to_owned());
    }
}

/// A tenant without a figure state gets one (its rollups are kept from its first
/// contact on). Written until a write finds the row already there (committed by an
/// earlier transaction: an insert of this transaction, which may still roll back, is
/// not remembered); from then on not tried again in this process ([`KnownStates`]).
async fn ensure_state<C: ConnectionTrait>(
    c: &C,
    tenant: &TenantId,
    settings: &TenantSettings,
    states: &KnownStates,
) -> Result<(), StoreError> {
    if states.holds(tenant) {
        return Ok(());
    }
    let done = c
        .execute_raw(statement(
            c.get_database_backend(),
            "INSERT INTO figure_state (tenant, fingerprint, generation, rebuilt_at) \
         VALUES (?, ?, 0, ?) ON CONFLICT (tenant) DO NOTHING",
            vec![
                tenant.as_str().into(),
                rollup::fingerprint(settings).into(),
                micros(now()).into(),
            ],
        ))
        .await
        .map_err(db_err)?;
    if done.rows_affected() == 0 {
        states.seen(tenant);
    }
    Ok(())
}

/// Adds count differences to the per-day sums and to the per-month sums
/// (`rollup::month_row`), and the same to the per-day and per-month totals
/// (`rollup::total_rows`), each in its shard (rows that fall to 0 stay; a shard's row
/// may be below 0 where a unit's tallies were added in another shard before m0009):
/// one batched upsert per table.
async fn add_to_rollups<C: ConnectionTrait>(
    c: &C,
    tenant: &TenantId,
    delta: &Deltas,
) -> Result<(), StoreError> {
    let mut totals: Deltas = BTreeMap::new();
    for ((s, t), n) in delta {
        for total in rollup::total_rows(t) {
            *totals.entry((*s, total)).or_insert(0) += n;
        }
    }
    totals.retain(|_, n| *n != 0);
    let t = tenant.as_str();
    for (sums, delta) in [(Sums::All, delta), (Sums::Totals, &totals)] {
        let days: Vec<SumRow> = delta
            .iter()
            .map(|((s, t), n)| (*s, day_number(t.day), t.kind, t.key.clone(), *n))
            .collect();
        add_sums(c, t, Grain::Day, sums, &days, Sharded::Yes).await?;
        add_sums(
            c,
            t,
            Grain::Month,
            sums,
            &month_sums(delta.iter().map(|((s, t), n)| (*s, t, *n))),
            Sharded::Yes,
        )
        .await?;
    }
    // The days' change counters last: their rows are held for the shortest time.
    let days: BTreeSet<(i16, i64)> = delta
        .keys()
        .map(|(s, tally)| (*s, day_number(tally.day)))
        .collect();
    changed_days(c, t, &days).await?;
    Ok(())
}

/// Adds one to the change counter of each of these days (shard, day number) of the
/// tenant (`figure_day_version`, m0012), in the transaction that changes their sums:
/// a figure answer kept for a run of days (`crate::figure_cache`) is exact while the
/// counters of its days stay as they were when it was computed.
async fn changed_days<C: ConnectionTrait>(
    c: &C,
    tenant: &str,
    days: &BTreeSet<(i16, i64)>,
) -> Result<(), StoreError> {
    let backend = c.get_database_backend();
    let days: Vec<&(i16, i64)> = days.iter().collect();
    for chunk in days.chunks(UPSERT_ROWS) {
        let mut sql =
            String::from("INSERT INTO figure_day_version (tenant, day, shard, version) VALUES ");
        let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * 3);
        for (i, (shard, day)) in chunk.iter().enumerate() {
            sql.push_str(if i == 0 {
                "(?, ?, ?, 1)"
            } else {
                ", (?, ?, ?, 1)"
            });
            let day = i32::try_from(*day)
                .map_err(|_| StoreError::Internal("a figure day out of range".into()))?;
            values.extend([tenant.into(), day.into(), (*shard).into()]);
        }
        sql.push_str(
            " ON CONFLICT (tenant, day, shard) DO UPDATE SET \
             version = figure_day_version.version + 1",
        );
        c.execute_raw(statement(backend, &sql, values))
            .await
            .map_err(db_err)?;
    }
    Ok(())
}

/// The change counters of the tenant's days in `[from, to)` (day numbers), summed
/// over their shards; days never changed are absent (0).
pub(crate) async fn day_versions<C: ConnectionTrait>(
    c: &C,
    tenant: &TenantId,
    from: i64,
    to: i64,
) -> Result<BTreeMap<i64, i64>, StoreError> {
    let rows = c
        .query_all_raw(statement(
            c.get_database_backend(),
            "SELECT CAST(day AS BIGINT), CAST(SUM(version) AS BIGINT) FROM figure_day_version \
             WHERE tenant = ? AND day >= ? AND day < ? GROUP BY day",
            vec![tenant.as_str().into(), from.into(), to.into()],
        ))
        .await
        .map_err(db_err)?;
    let mut out = BTreeMap::new();
    for r in rows {
        let day: i64 = r.try_get_by_index(0).map_err(db_err)?;
        let version: i64 = r.try_get_by_index(1).map_err(db_err)?;
        out.insert(day, version);
    }
    Ok(out)
}

/// Day-row differences `(shard, tally, n)` summed into month rows of the same shard.
pub(crate) fn month_sums<'a>(rows: impl IntoIterator<Item = (i16, &'a Tally, i64)>) -> Vec<SumRow> {
    let mut months: BTreeMap<(i16, i64, TallyKind, TallyKey), i64> = BTreeMap::new();
    for (s, t, n) in rows {
        let (month, key) = rollup::month_row(t);
        *months.entry((s, month, t.kind, key)).or_insert(0) += n;
    }
    months
        .into_iter()
        .filter(|(_, n)| *n != 0)
        .map(|((s, m, kind, key), n)| (s, m, kind, key, n))
        .collect()
}

/// The table and its day or month column.
pub(crate) fn table_of(grain: Grain, sums: Sums) -> (&'static str, &'static str) {
    match (grain, sums) {
        (Grain::Day, Sums::All) => ("figure_rollup", "day"),
        (Grain::Month, Sums::All) => ("figure_month", "month"),
        (Grain::Day, Sums::Totals) => ("figure_day_total", "day"),
        (Grain::Month, Sums::Totals) => ("figure_month_total", "month"),
    }
}

/// Adds counts to per-day or per-month sums or totals ([`SumRow`]; the shard is left
/// out of tables from before m0009).
pub(crate) async fn add_sums<C: ConnectionTrait>(
    c: &C,
    tenant: &str,
    grain: Grain,
    sums: Sums,
    rows: &[SumRow],
    sharded: Sharded,
) -> Result<(), StoreError> {
    let backend = c.get_database_backend();
    let (table, column) = table_of(grain, sums);
    let (shard_column, shard_value) = match sharded {
        Sharded::Yes => (", shard", ", ?"),
        Sharded::BeforeM0009 => ("", ""),
    };
    for chunk in rows.chunks(UPSERT_ROWS) {
        let mut sql = format!(
            "INSERT INTO {table} (tenant, {column}, kind, channel, topic, department, a, b, c{shard_column}, n) VALUES "
        );
        let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * 11);
        for (i, (shard, at, kind, key, n)) in chunk.iter().enumerate() {
            sql.push_str(if i == 0 { "" } else { ", " });
            sql.push_str(&format!("(?, ?, ?, ?, ?, ?, ?, ?, ?{shard_value}, ?)"));
            let at = i32::try_from(*at)
                .map_err(|_| StoreError::Internal("a figure day out of range".into()))?;
            values.extend([
                tenant.into(),
                at.into(),
                kind.code().into(),
                key.channel.clone().into(),
                key.topic.clone().into(),
                key.department.clone().into(),
                key.a.into(),
                key.b.into(),
                key.c.into(),
            ]);
            if sharded == Sharded::Yes {
                values.push((*shard).into());
            }
            values.push((*n).into());
        }
        sql.push_str(&format!(
            " ON CONFLICT (tenant, {column}, kind, channel, topic, department, a, b, c{shard_column}) \
             DO UPDATE SET n = {table}.n + excluded.n"
        ));
        c.execute_raw(statement(backend, &sql, values))
            .await
            .map_err(db_err)?;
    }
    Ok(())
}

/// The tenants with contacts, one index seek each (see [`Store::figure_tenants`]).
const FIGURE_TENANTS: &str = "WITH RECURSIVE t(tenant) AS ( \
       SELECT MIN(tenant) FROM contact \
       UNION ALL \
       SELECT (SELECT MIN(c.tenant) FROM contact c WHERE c.tenant > t.tenant) \
       FROM t WHERE t.tenant IS NOT NULL) \
     SELECT tenant FROM t WHERE tenant IS NOT NULL LIMIT ?";

/// The fingerprint the tenant's rollups were built with (`None`: no figure state,
/// kept since the first contact) and the latest instant of any stored event of the
/// tenant (a contact's start or end), in one statement.
///
/// Each `MAX` reads one entry at the end of the tenant's part of an index that leads
/// with the tenant (`ix_contact_tenant_started`, `ix_contact_tenant_ended`), not the
/// tenant's contacts. Checked: SQLite's plan is `SEARCH contact USING COVERING INDEX
/// ix_contact_tenant_started (tenant=?)` and the same on `ix_contact_tenant_ended`
/// (EXPLAIN QUERY PLAN; the bytecode seeks the last entry and steps once),
/// PostgreSQL's a `Limit` over an `Index Only Scan Backward` of each, `Index Cond:
/// (tenant = $n) AND (… IS NOT NULL)` (EXPLAIN, generic plan too). The state is one
/// row, by its primary key.
async fn state_and_latest_event<C: ConnectionTrait>(
    c: &C,
    tenant: &TenantId,
) -> Result<(Option<String>, i64, Option<i64>), StoreError> {
    let row = c
        .query_one_raw(statement(
            c.get_database_backend(),
            LATEST_EVENT_AND_STATE,
            vec![
                tenant.as_str().into(),
                tenant.as_str().into(),
                tenant.as_str().into(),
                tenant.as_str().into(),
            ],
        ))
        .await
        .map_err(db_err)?
        .ok_or_else(|| StoreError::Internal("no row for the figure state".into()))?;
    let fingerprint: Option<String> = row.try_get("", "fingerprint").map_err(db_err)?;
    let generation: Option<i64> = row.try_get("", "generation").map_err(db_err)?;
    let started: Option<i64> = row.try_get("", "started").map_err(db_err)?;
    let ended: Option<i64> = row.try_get("", "ended").map_err(db_err)?;
    Ok((fingerprint, generation.unwrap_or(0), started.max(ended)))
}

/// [`state_and_latest_event`]'s statement.
const LATEST_EVENT_AND_STATE: &str = "SELECT \
     (SELECT fingerprint FROM figure_state WHERE tenant = ?) AS fingerprint, \
     (SELECT CAST(generation AS BIGINT) FROM figure_state WHERE tenant = ?) AS generation, \
     (SELECT MAX(started_at) FROM contact WHERE tenant = ?) AS started, \
     (SELECT MAX(ended_at) FROM contact WHERE tenant = ?) AS ended";

/// Whether rollups built with this fingerprint (`None`: no figure state) answer for
/// these settings.
fn current(fingerprint: Option<&str>, settings: &TenantSettings) -> bool {
    fingerprint.is_none_or(|f| f == rollup::fingerprint(settings))
}

/// Whether the tenant's rollups were built with these settings.
pub(crate) async fn rollups_current<C: ConnectionTrait>(
    c: &C,
    tenant: &TenantId,
    settings: &TenantSettings,
) -> Result<bool, StoreError> {
    let state = figure_state::Entity::find_by_id(tenant.as_str().to_owned())
        .one(c)
        .await
        .map_err(db_err)?;
    Ok(current(
        state.as_ref().map(|s| s.fingerprint.as_str()),
        settings,
    ))
}

/// Which computation answers these periods (`rollup::series_path`, one period or a
/// series): the tenant's figure state and latest event, read in the call's transaction
/// in one statement.
pub(crate) async fn path_of<C: ConnectionTrait>(
    c: &C,
    tenant: &TenantId,
    settings: &TenantSettings,
    periods: &[Period],
) -> Result<(Path, i64), StoreError> {
    let (fingerprint, generation, latest) = state_and_latest_event(c, tenant).await?;
    if !current(fingerprint.as_deref(), settings) {
        return Ok((Path::Facts, generation));
    }
    let latest = match latest {
        Some(us) => Some(instant(us)?),
        None => None,
    };
    Ok((rollup::series_path(periods, true, latest), generation))
}

/// Which rollup rows a figure call reads: the kinds other than entries it needs, with
/// only the dims a filter of the call fixes (the others summed away by the database),
/// and the entries of each filter's own dims; when every filter of the call names the
/// same topic or department, only rows of it (others cannot match; the domain filters
/// again).
#[derive(Clone, Debug)]
pub struct Scope {
    /// Kinds other than [`TallyKind::Entry`].
    pub kinds: Vec<TallyKind>,
    /// The dims (channel, topic, department; `""` where a filter leaves one open) of
    /// the entries a filter counts: an entry of the subset a filter fixes holds exactly
    /// these dims (`rollup::subset_of`), so each is read by its key.
    pub entries: Vec<(String, String, String)>,
    /// Which of channel, topic and department some filter fixes: rows keep these
    /// dims; the others are summed over (answer times always keep their channel, the
    /// norm and channel of a response item stay).
    pub keep: (bool, bool, bool),
    pub topic: Option<String>,
    pub department: Option<String>,
    /// The part of the totals that answers every filter of the call
    /// (`rollup::totals_part`): the rows are read from it, one range of the key per day
    /// (or month) and kind, with the dims no filter fixes already summed away; `None`:
    /// from the full sums.
    pub part: Option<Part>,
}

impl Scope {
    /// The thermometer's rows: unfiltered.
    pub fn thermometer() -> Self {
        Scope {
            kinds: vec![
                TallyKind::Contact,
                TallyKind::Response,
                TallyKind::Commitment,
            ],
            entries: vec![Default::default()],
            keep: (false, false, false),
            topic: None,
            department: None,
            part: rollup::totals_part(&[]),
        }
    }

    /// The rows of a dashboard call with these filters.
    pub fn of(filters: &[midoffice_domain::figures::Filter]) -> Self {
        let shared = |get: fn(&midoffice_domain::figures::Filter) -> Option<&Code>| {
            let first = filters.first().and_then(get)?;
            filters
                .iter()
                .all(|f| get(f) == Some(first))
                .then(|| first.as_str().to_owned())
        };
        let code = |c: Option<&Code>| c.map(|c| c.as_str().to_owned()).unwrap_or_default();
        let mut entries: Vec<(String, String, String)> = filters
            .iter()
            .map(|f| {
                (
                    f.channel.map(|c| c.as_str().to_owned()).unwrap_or_default(),
                    code(f.topic.as_ref()),
                    code(f.department.as_ref()),
                )
            })
            .collect();
        entries.sort_unstable();
        entries.dedup();
        Scope {
            kinds: vec![TallyKind::Contact, TallyKind::Answer, TallyKind::Feedback],
            entries,
            keep: (
                filters.iter().any(|f| f.channel.is_some()),
                filters.iter().any(|f| f.topic.is_some()),
                filters.iter().any(|f| f.department.is_some()),
            ),
            topic: shared(|f| f.topic.as_ref()),
            department: shared(|f| f.department.as_ref()),
            part: rollup::totals_part(filters),
        }
    }

    /// The exact answer seconds of these buckets, for the filters of this scope.
    pub(crate) fn seconds(&self, kinds: Vec<TallyKind>) -> Self {
        Scope {
            kinds,
            entries: Vec::new(),
            ..self.clone()
        }
    }
}

/// The rollup rows of these spans ([`rollup::sum_period`], computed by the database,
/// with the dims no filter of the scope fixes summed over, and always the shards), of
/// the scope, from the part of the totals that answers it when one does
/// ([`Scope::part`]; the same rows, already summed over the dims no filter fixes, each
/// read with `rollup::in_part` as SQL): entries on
/// their own day or month, other kinds summed over each span unless `every_at` (a
/// series, which splits the rows by day or month). Every day or month of a span and
/// every kind is named (`IN` lists of numbers), so the database seeks each (day or
/// month, kind) of the key instead of reading every row of the span (the exact
/// seconds, most of a month's rows, are read only for the buckets asked), and each
/// filter's entries by their whole key.
///
/// With `only`, the kinds are read only on the days or months it names for each (the
/// exact seconds a call asks after reading its other rows).
pub(crate) async fn span_rows<C: ConnectionTrait>(
    c: &C,
    tenant: &TenantId,
    spans: &[Span],
    scope: &Scope,
    every_at: bool,
    only: Option<&rollup::SecondsAt>,
) -> Result<Vec<RollupRow>, StoreError> {
    let backend = c.get_database_backend();
    let entry = TallyKind::Entry.code();
    let codes = |kinds: &[TallyKind]| -> String {
        kinds
            .iter()
            .map(|k| k.code().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    // Dims a filter fixes stay; answer times keep their channel, response items their
    // channel and norm (in `topic`); every other dim is summed over.
    let (keep_channel, keep_topic, keep_department) = scope.keep;
    let answers = codes(&[
        TallyKind::Answer,
        TallyKind::Response,
        TallyKind::Commitment,
    ]);
    let channel = if keep_channel {
        "channel".to_owned()
    } else {
        format!("CASE WHEN kind IN ({answers}) OR kind >= 100 THEN channel ELSE '' END")
    };
    let topic = if keep_topic {
        "topic".to_owned()
    } else {
        format!(
            "CASE WHEN kind = {} THEN topic ELSE '' END",
            TallyKind::Response.code()
        )
    };
    let department = if keep_department { "department" } else { "''" };
    let mut narrower = String::new();
    let mut extra: Vec<Value> = Vec::new();
    if let Some(topic) = &scope.topic {
        narrower.push_str(" AND topic = ?");
        extra.push(topic.clone().into());
    }
    if let Some(department) = &scope.department {
        narrower.push_str(" AND department = ?");
        extra.push(department.clone().into());
    }
    // The rows of the part of the totals read (`rollup::in_part`), for kinds other than
    // a response item (whose rows are all overall, with their norm in `topic`: only
    // the thermometer reads them, always from the overall part).
    debug_assert!(
        !scope.kinds.contains(&TallyKind::Response)
            || matches!(scope.part, None | Some(Part::Overall)),
        "response items are read from the overall part only"
    );
    let in_part = match scope.part {
        None => "",
        Some(Part::Overall) => " AND topic = '' AND department = ''",
        Some(Part::Topic) => " AND department = '' AND topic <> ''",
        Some(Part::Department) => " AND topic = '' AND department <> ''",
    };
    let kinds: Vec<TallyKind> = scope
        .kinds
        .iter()
        .copied()
        .filter(|k| *k != TallyKind::Entry)
        .collect();
    let mut out = Vec::new();
    for span in spans {
        if span.to <= span.from {
            continue;
        }
        let sums = if scope.part.is_some() {
            Sums::Totals
        } else {
            Sums::All
        };
        let (table, column) = table_of(span.grain, sums);
        let list = |ats: &mut dyn Iterator<Item = i64>| {
            ats.map(|a| a.to_string()).collect::<Vec<_>>().join(", ")
        };
        let ats = list(&mut (span.from..span.to));
        // The kinds, each with the days or months it is read on (kinds read on the
        // same ones share a statement, but a response item's never another's: its
        // rows of the totals are all in the overall part).
        let mut reads: BTreeMap<(String, bool), Vec<TallyKind>> = BTreeMap::new();
        for kind in &kinds {
            let on = match only {
                None => ats.clone(),
                Some(only) => list(
                    &mut only
                        .get(kind)
                        .into_iter()
                        .flatten()
                        .filter(|(grain, at)| span.holds(*grain, *at))
                        .map(|(_, at)| *at),
                ),
            };
            if !on.is_empty() {
                reads
                    .entry((on, *kind == TallyKind::Response))
                    .or_default()
                    .push(*kind);
            }
        }
        let at = if every_at {
            column.to_owned()
        } else {
            span.from.to_string()
        };
        // Constants are not grouped by (PostgreSQL takes a number as a position).
        let mut group = vec!["kind", "ch", "tp"];
        if keep_department {
            group.push("dp");
        }
        group.extend(["a", "b", "c"]);
        if every_at {
            group.push("at_n");
        }
        let group = group.join(", ");
        let mut statements = Vec::new();
        for ((ats, response), kinds) in &reads {
            let in_part = if *response { "" } else { in_part };
            statements.push(statement(
                backend,
                &format!(
                    "SELECT CAST(kind AS BIGINT), {channel} AS ch, {topic} AS tp, \
                       {department} AS dp, a, b, c, CAST({at} AS BIGINT) AS at_n, \
                       CAST(SUM(n) AS BIGINT) \
                     FROM {table} \
                     WHERE tenant = ? AND {column} IN ({ats}) AND kind IN ({}){narrower}{in_part} \
                     GROUP BY {group}",
                    codes(kinds)
                ),
                std::iter::once(tenant.as_str().into())
                    .chain(extra.iter().cloned())
                    .collect(),
            ));
        }
        for (ch, tp, dp) in &scope.entries {
            statements.push(statement(
                backend,
                &format!(
                    "SELECT CAST(kind AS BIGINT), channel, topic, department, a, b, c, \
                       CAST({column} AS BIGINT), CAST(SUM(n) AS BIGINT) \
                     FROM {table} \
                     WHERE tenant = ? AND {column} IN ({ats}) AND kind = {entry} \
                       AND channel = ? AND topic = ? AND department = ? \
                     GROUP BY kind, channel, topic, department, a, b, c, {column}"
                ),
                vec![
                    tenant.as_str().into(),
                    ch.clone().into(),
                    tp.clone().into(),
                    dp.clone().into(),
                ],
            ));
        }
        for stmt in statements {
            let rows = c.query_all_raw(stmt).await.map_err(db_err)?;
            out.reserve(rows.len());
            for r in rows {
                let kind: i64 = r.try_get_by_index(0).map_err(db_err)?;
                let n: i64 = r.try_get_by_index(8).map_err(db_err)?;
                if n == 0 {
                    continue;
                }
                out.push(RollupRow {
                    kind: TallyKind::from_code(kind)
                        .ok_or_else(|| crate::convert::corrupt("figure_rollup.kind"))?,
                    grain: span.grain,
                    at: r.try_get_by_index(7).map_err(db_err)?,
                    key: TallyKey {
                        channel: r.try_get_by_index(1).map_err(db_err)?,
                        topic: r.try_get_by_index(2).map_err(db_err)?,
                        department: r.try_get_by_index(3).map_err(db_err)?,
                        a: r.try_get_by_index(4).map_err(db_err)?,
                        b: r.try_get_by_index(5).map_err(db_err)?,
                        c: r.try_get_by_index(6).map_err(db_err)?,
                    },
                    n,
                });
            }
        }
    }
    Ok(out)
}

/// The facts the figures of a period need (the reference computation's input).
pub async fn load_figure_facts<C: ConnectionTrait>(
    c: &C,
    tenant: &TenantId,
    window: LoadWindow,
) -> Result<FigureFacts, StoreError> {
    let t = tenant.as_str();
    let rows = contact::Entity::find()
        .filter(contact::Column::Tenant.eq(t))
        .filter(contact::Column::StartedAt.gte(micros(window.starts_from)))
        .filter(contact::Column::StartedAt.lt(micros(window.starts_to)))
        .all(c)
        .await
        .map_err(db_err)?;
    let due: Vec<Option<Uuid>> = contact::Entity::find()
        .select_only()
        .column(contact::Column::CaseId)
        .filter(contact::Column::Tenant.eq(t))
        .filter(contact::Column::DueAt.gt(micros(window.due_after)))
        .filter(contact::Column::DueAt.lte(micros(window.due_until)))
        .filter(contact::Column::CaseId.is_not_null())
        .into_tuple()
        .all(c)
        .await
        .map_err(db_err)?;
    let case_ids: BTreeSet<Uuid> = rows
        .iter()
        .filter_map(|r| r.case_id)
        .chain(due.into_iter().flatten())
        .collect();
    let case_ids: Vec<Uuid> = case_ids.into_iter().collect();
    let cases = facts::cases_by_id(c, tenant, &case_ids).await?;
    let contacts = facts::contacts_as_facts(c, tenant, &rows).await?;
    Ok(FigureFacts {
        contacts,
        cases: cases.into_iter().map(|k| (k.id, k)).collect(),
    })
}

/// The facts to load for these periods (one, or the run of a series).
fn load_window_of(periods: &[Period], settings: &TenantSettings) -> LoadWindow {
    // The periods in any order (a page's trend comes most recent first).
    let whole = Period {
        from: periods
            .iter()
            .map(|p| p.from)
            .min()
            .unwrap_or(NaiveDate::MIN),
        to: periods.iter().map(|p| p.to).max().unwrap_or(NaiveDate::MIN),
        as_of: periods.first().map_or_else(now, |p| p.as_of),
    };
    midoffice_domain::figures::load_window(&whole, settings)
}

/// What a figure call read: rollup rows, or the facts of the period.
enum Read {
    Rows(Vec<RollupRow>),
    Facts(FigureFacts),
}

/// Ids of one kind of unit after `after`, in id order, at most [`REBUILD_BATCH`].
async fn unit_ids_after<C: ConnectionTrait>(
    c: &C,
    tenant: &TenantId,
    phase: u8,
    after: Option<Uuid>,
) -> Result<Vec<Uuid>, StoreError> {
    let t = tenant.as_str();
    let ids = match phase {
        0 => {
            let mut q = case::Entity::find()
                .select_only()
                .column(case::Column::Id)
                .filter(case::Column::Tenant.eq(t))
                .filter(case::Column::MergedInto.is_null());
            if let Some(a) = after {
                q = q.filter(case::Column::Id.gt(a));
            }
            q.order_by_asc(case::Column::Id)
                .limit(REBUILD_BATCH)
                .into_tuple()
                .all(c)
                .await
        }
        1 => {
            let mut q = contact::Entity::find()
                .select_only()
                .column(contact::Column::Id)
                .filter(contact::Column::Tenant.eq(t))
                .filter(contact::Column::CaseId.is_null());
            if let Some(a) = after {
                q = q.filter(contact::Column::Id.gt(a));
            }
            q.order_by_asc(contact::Column::Id)
                .limit(REBUILD_BATCH)
                .into_tuple()
                .all(c)
                .await
        }
        _ => {
            let mut q = figure_unit::Entity::find()
                .select_only()
                .column(figure_unit::Column::UnitId)
                .filter(figure_unit::Column::Tenant.eq(t));
            if let Some(a) = after {
                q = q.filter(figure_unit::Column::UnitId.gt(a));
            }
            q.order_by_asc(figure_unit::Column::UnitId)
                .limit(REBUILD_BATCH)
                .into_tuple()
                .all(c)
                .await
        }
    };
    ids.map_err(db_err)
}

/// Of these stored unit ids, those that are no unit any more (a case merged away, a
/// contact now on a case, or gone).
async fn no_longer_units<C: ConnectionTrait>(
    c: &C,
    tenant: &TenantId,
    ids: &[Uuid],
) -> Result<Vec<Uuid>, StoreError> {
    let t = tenant.as_str();
    let cases: Vec<Uuid> = case::Entity::find()
        .select_only()
        .column(case::Column::Id)
        .filter(case::Column::Tenant.eq(t))
        .filter(case::Column::Id.is_in(ids.iter().copied()))
        .filter(case::Column::MergedInto.is_null())
        .into_tuple()
        .all(c)
        .await
        .map_err(db_err)?;
    let contacts: Vec<Uuid> = contact::Entity::find()
        .select_only()
        .column(contact::Column::Id)
        .filter(contact::Column::Tenant.eq(t))
        .filter(contact::Column::Id.is_in(ids.iter().copied()))
        .filter(contact::Column::CaseId.is_null())
        .into_tuple()
        .all(c)
        .await
        .map_err(db_err)?;
    let live: BTreeSet<Uuid> = cases.into_iter().chain(contacts).collect();
    Ok(ids.iter().copied().filter(|i| !live.contains(i)).collect())
}

/// What a figure call asks: its periods (one, or a series over a run of them), the
/// rollup rows it needs, and whether the rollups may answer.
struct Ask {
    periods: Vec<Period>,
    scope: Scope,
    allow_rollups: bool,
    /// Whether the facts may answer when the rollups do not; `false`: the call answers
    /// UNAVAILABLE instead (a public read must not cause that work).
    facts_allowed: bool,
    /// Rows on their own day or month for every kind (a series).
    every_at: bool,
    /// The exact answer seconds to read beside the rows (`rollup::seconds_wanted`).
    seconds: Option<Wanted>,
}

type Wanted = Arc<dyn Fn(&[RollupRow], &[Span]) -> rollup::SecondsAt + Send + Sync>;

type FromRows<T> = Arc<dyn Fn(&[RollupRow], &TenantSettings) -> Option<T> + Send + Sync>;
type FromFacts<T> = Arc<dyn Fn(&FigureFacts, &TenantSettings) -> T + Send + Sync>;

/// The settings a trend was judged by, and each period's norm results.
pub type Trend = (TenantSettings, Vec<Vec<NormResult>>);

impl Store {
    /// A figure answer: from the rollups when the domain's path says they answer it
    /// (`rollup::path`), else from the facts; computed off the async workers. Rows that
    /// cannot tell (never, for the spans the domain chooses) are answered from the facts.
    async fn figure_answer<T: Send + 'static>(
        &self,
        tenant: &TenantId,
        ask: Ask,
        from_rows: FromRows<T>,
        from_facts: FromFacts<T>,
    ) -> Result<Answered<T>, StoreError> {
        let mut allow = ask.allow_rollups;
        loop {
            let (settings, read) = db::bounded_figures(&self.pools, async |txn| {
                let result = async {
                    let settings = settings_in(&txn, tenant).await?;
                    let path = if allow {
                        path_of(&txn, tenant, &settings, &ask.periods).await?.0
                    } else {
                        Path::Facts
                    };
                    let read = match path {
                        Path::Rollups(spans) => {
                            let mut rows =
                                span_rows(&txn, tenant, &spans, &ask.scope, ask.every_at, None)
                                    .await?;
                            if let Some(wanted) = &ask.seconds {
                                let at = wanted(&rows, &spans);
                                if !at.is_empty() {
                                    let scope = ask.scope.seconds(at.keys().copied().collect());
                                    rows.extend(
                                        span_rows(
                                            &txn,
                                            tenant,
                                            &spans,
                                            &scope,
                                            ask.every_at,
                                            Some(&at),
                                        )
                                        .await?,
                                    );
                                }
                            }
                            Read::Rows(rows)
                        }
                        Path::Facts if !ask.facts_allowed => {
                            return Err(StoreError::Unavailable(
                                "the rollups do not answer these figures now (settings \
                                 being rebuilt, or an event ahead of the clock)"
                                    .into(),
                            ));
                        }
                        Path::Facts => {
                            let window = load_window_of(&ask.periods, &settings);
                            Read::Facts(load_figure_facts(&txn, tenant, window).await?)
                        }
                    };
                    Ok((settings, read))
                }
                .await;
                db::finish(txn, result).await
            })
            .await?;
            let (from_rows, from_facts) = (from_rows.clone(), from_facts.clone());
            let answered = tokio::task::spawn_blocking(move || match read {
                Read::Rows(rows) => from_rows(&rows, &settings).map(|answer| Answered {
                    answer,
                    path: FigurePath::Rollups,
                }),
                Read::Facts(facts) => Some(Answered {
                    answer: from_facts(&facts, &settings),
                    path: FigurePath::Facts,
                }),
            })
            .await
            .map_err(|e| StoreError::Internal(format!("figure computation failed: {e}")))?;
            match answered {
                Some(a) => return Ok(a),
                None if allow => {
                    tracing::warn!(
                        "figure rollups could not tell a period; answered from the facts"
                    );
                    allow = false;
                }
                None => {
                    return Err(StoreError::Internal("figure computation failed".into()));
                }
            }
        }
    }

    /// The thermometer of a period: from the rollups when they answer it, else from the
    /// facts (`from_facts_only`: always from the facts, the reference).
    #[tracing::instrument(name = "store.thermometer", skip_all, fields(tenant = %tenant))]
    pub async fn thermometer(
        &self,
        tenant: &TenantId,
        period: Period,
        from_facts_only: bool,
    ) -> Result<Answered<Vec<midoffice_domain::figures::NormResult>>, StoreError> {
        self.figure_answer(
            tenant,
            Ask {
                periods: vec![period],
                scope: Scope::thermometer(),
                allow_rollups: !from_facts_only,
                facts_allowed: true,
                every_at: false,
                seconds: None,
            },
            Arc::new(move |rows, settings| rollup::thermometer_from(rows, &period, settings)),
            Arc::new(move |facts, settings| {
                midoffice_domain::figures::thermometer(facts, &period, settings)
            }),
        )
        .await
    }

    /// The thermometer of each of `periods` (the public page's period and those before
    /// it, for the trend, in any order; all with one `as_of`) and the settings they were
    /// judged by, read in one transaction, from the rollups only: when they do not
    /// answer every period (settings being rebuilt, an event ahead of the clock, a
    /// period of another shape), UNAVAILABLE, never the facts (a public page must not
    /// cause that work).
    #[tracing::instrument(name = "store.thermometer_trend", skip_all, fields(tenant = %tenant))]
    pub async fn thermometer_trend(
        &self,
        tenant: &TenantId,
        periods: Vec<Period>,
    ) -> Result<Answered<Trend>, StoreError> {
        let kept = self
            .per_period(tenant, &periods, thermometer_plan())
            .await?;
        if let Some(answer) = kept {
            return Ok(Answered {
                answer,
                path: FigurePath::Rollups,
            });
        }
        let shared = Arc::new(periods.clone());
        let again = shared.clone();
        self.figure_answer(
            tenant,
            Ask {
                periods,
                scope: Scope::thermometer(),
                allow_rollups: true,
                facts_allowed: false,
                every_at: true,
                seconds: None,
            },
            Arc::new(move |rows, settings| {
                let each = rollup::thermometer_series_from(rows, &shared, settings)?;
                Some((settings.clone(), each))
            }),
            Arc::new(move |facts, settings| {
                let each = again
                    .iter()
                    .map(|p| midoffice_domain::figures::thermometer(facts, p, settings))
                    .collect();
                (settings.clone(), each)
            }),
        )
        .await
    }

    /// The dashboard figures of a period for each filter, read once: from the rollups
    /// when they answer it, else from the facts (`from_facts_only`: always from the
    /// facts, the reference).
    #[tracing::instrument(name = "store.figures", skip_all, fields(tenant = %tenant))]
    pub async fn figures(
        &self,
        tenant: &TenantId,
        period: Period,
        filters: Vec<Filter>,
        from_facts_only: bool,
    ) -> Result<Answered<Vec<Figures>>, StoreError> {
        let scope = Scope::of(&filters);
        let filters = Arc::new(filters);
        let again = filters.clone();
        let wanted = filters.clone();
        self.figure_answer(
            tenant,
            Ask {
                periods: vec![period],
                scope,
                allow_rollups: !from_facts_only,
                facts_allowed: true,
                every_at: false,
                seconds: Some(Arc::new(move |rows, spans| {
                    rollup::seconds_at(&rollup::seconds_wanted(rows, &wanted), spans)
                })),
            },
            Arc::new(move |rows, _| {
                filters
                    .iter()
                    .map(|f| rollup::figures_from(rows, &period, f))
                    .collect()
            }),
            Arc::new(move |facts, settings| {
                again
                    .iter()
                    .map(|f| midoffice_domain::figures::figures(facts, &period, f, settings))
                    .collect()
            }),
        )
        .await
    }

    /// The dashboard figures of each period of a series (`rollup::series_periods`: each
    /// day, ISO week or month of a run, all as known at one `as_of`) with a filter, read
    /// once: from the rollups when they answer every period, else from the facts
    /// (`from_facts_only`: always from the facts, the reference).
    #[tracing::instrument(name = "store.figure_series", skip_all, fields(tenant = %tenant))]
    pub async fn figure_series(
        &self,
        tenant: &TenantId,
        periods: Vec<Period>,
        filter: Filter,
        from_facts_only: bool,
    ) -> Result<Answered<Vec<(Period, Figures)>>, StoreError> {
        let scope = Scope::of(std::slice::from_ref(&filter));
        if !from_facts_only {
            let kept = self
                .per_period(tenant, &periods, series_plan(&filter))
                .await?;
            if let Some((_, figures)) = kept {
                return Ok(Answered {
                    answer: periods.iter().copied().zip(figures).collect(),
                    path: FigurePath::Rollups,
                });
            }
        }
        let shared = Arc::new((periods.clone(), filter));
        let again = shared.clone();
        let wanted = shared.clone();
        self.figure_answer(
            tenant,
            Ask {
                periods,
                scope,
                allow_rollups: !from_facts_only,
                facts_allowed: true,
                every_at: true,
                seconds: Some(Arc::new(move |rows, _| {
                    let (periods, filter) = &*wanted;
                    rollup::series_seconds_wanted(rows, periods, filter)
                })),
            },
            Arc::new(move |rows, _| {
                let (periods, filter) = &*shared;
                let figures = rollup::series_from(rows, periods, filter)?;
                Some(periods.iter().copied().zip(figures).collect())
            }),
            Arc::new(move |facts, settings| {
                let (periods, filter) = &*again;
                let figures =
                    midoffice_domain::figures::figure_series(facts, periods, filter, settings);
                periods.iter().copied().zip(figures).collect()
            }),
        )
        .await
    }

    /// Computes ahead of any reader the dashboard figures of these periods (as
    /// [`Store::figure_series`] from the rollups) that `figure_answer` does not hold under
    /// their current basis, and writes them there before returning, so a series that asks
    /// them later reads them instead of their rows. Nothing is kept in this process's
    /// memory. How many periods were computed (0: all were kept); `None` when the
    /// rollups do not answer these periods (settings being rebuilt, an event after the
    /// periods' `as_of`, a period they do not fit).
    #[tracing::instrument(name = "store.keep_figure_series", skip_all, fields(tenant = %tenant))]
    pub async fn keep_figure_series(
        &self,
        tenant: &TenantId,
        periods: &[Period],
        filter: &Filter,
    ) -> Result<Option<usize>, StoreError> {
        Ok(self
            .answers(tenant, periods, series_plan(filter), For::Table)
            .await?
            .map(|(_, _, computed)| computed))
    }

    /// [`Store::keep_figure_series`] for the thermometer of each period (as
    /// [`Store::thermometer_trend`]): only a settled period is written (no item pending
    /// past its `as_of`); a reader's thermometers are never written. How many periods
    /// were computed; `None` when the rollups do not answer.
    #[tracing::instrument(name = "store.keep_thermometers", skip_all, fields(tenant = %tenant))]
    pub async fn keep_thermometers(
        &self,
        tenant: &TenantId,
        periods: &[Period],
    ) -> Result<Option<usize>, StoreError> {
        Ok(self
            .answers(tenant, periods, thermometer_plan(), For::Table)
            .await?
            .map(|(_, _, computed)| computed))
    }

    /// Whether the tenant's rollups were built with its current settings. On the
    /// primary: it decides whether to rebuild (a standby may not show the latest
    /// settings yet).
    pub async fn figures_current(&self, tenant: &TenantId) -> Result<bool, StoreError> {
        db::bounded(async {
            let txn = self.pools.begin_read().await?;
            let result = async {
                let settings = settings_in(&txn, tenant).await?;
                rollups_current(&txn, tenant, &settings).await
            }
            .await;
            db::finish(txn, result).await
        })
        .await
    }

    /// The first `limit` tenants (in name order) that have contacts, hence figures: for
    /// the exported metrics. A loose index scan over `ix_contact_tenant_started` (each
    /// step seeks the next tenant), so it costs per tenant, not per contact.
    pub async fn figure_tenants(&self, limit: u64) -> Result<Vec<TenantId>, StoreError> {
        let rows = db::bounded(async {
            let c = &self.pools.reader;
            c.query_all_raw(statement(
                c.get_database_backend(),
                FIGURE_TENANTS,
                vec![i64::try_from(limit).unwrap_or(i64::MAX).into()],
            ))
            .await
            .map_err(db_err)
        })
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let tenant: String = r.try_get_by_index(0).map_err(db_err)?;
            if let Ok(tenant) = TenantId::parse(&tenant) {
                out.push(tenant);
            }
        }
        Ok(out)
    }

    /// The topics and the departments (at most `limit` of each, those with the most
    /// contacts first) of the contacts of these calendar months (`rollup::month_number`), from the contact
    /// tallies of the monthly totals' topic and department parts: the filters whose
    /// dashboard answers are worth computing ahead.
    pub async fn figure_codes(
        &self,
        tenant: &TenantId,
        months: std::ops::Range<i64>,
        limit: u64,
    ) -> Result<(Vec<Code>, Vec<Code>), StoreError> {
        let kind = i64::from(TallyKind::Contact.code());
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut out = (Vec::new(), Vec::new());
        for (column, other, found) in [
            ("topic", "department", &mut out.0),
            ("department", "topic", &mut out.1),
        ] {
            let rows = db::bounded(async {
                let c = &self.pools.reader;
                c.query_all_raw(statement(
                    c.get_database_backend(),
                    &format!(
                        "SELECT {column} FROM figure_month_total WHERE tenant = ? \
                         AND month >= ? AND month < ? AND kind = ? AND {column} <> '' \
                         AND {other} = '' GROUP BY {column} \
                         ORDER BY SUM(n) DESC, {column} LIMIT ?"
                    ),
                    vec![
                        tenant.as_str().into(),
                        months.start.into(),
                        months.end.into(),
                        kind.into(),
                        limit.into(),
                    ],
                ))
                .await
                .map_err(db_err)
            })
            .await?;
            for r in rows {
                let code: String = r.try_get_by_index(0).map_err(db_err)?;
                if let Ok(code) = Code::parse(&code) {
                    found.push(code);
                }
            }
        }
        Ok(out)
    }

    /// The tenants whose rollups are stale (settings changed, a store from before the
    /// rollups, other tally rules): for a rebuild at start-up.
    pub async fn stale_figure_tenants(&self) -> Result<Vec<TenantId>, StoreError> {
        let states: Vec<figure_state::Model> = db::bounded(async {
            figure_state::Entity::find()
                .all(&self.pools.reader)
                .await
                .map_err(db_err)
        })
        .await?;
        let mut out = Vec::new();
        for s in states {
            let Ok(tenant) = TenantId::parse(&s.tenant) else {
                continue;
            };
            let settings = self.settings(&tenant).await?;
            if s.fingerprint != rollup::fingerprint(&settings) {
                out.push(tenant);
            }
        }
        Ok(out)
    }

    /// Rebuilds the tenant's rollups if they are stale ([`Store::rebuild_figures`]);
    /// answers whether they are current afterwards.
    pub async fn rebuild_stale_figures(&self, tenant: &TenantId) -> Result<bool, StoreError> {
        if self.figures_current(tenant).await? {
            return Ok(true);
        }
        self.rebuild_figures(tenant).await
    }

    /// Refreshes every unit of the tenant's figures with its current settings, in
    /// batches of [`REBUILD_BATCH`] units (each its own write transaction), then records
    /// the settings' fingerprint so the rollups answer again. Until then the figures are
    /// computed from the facts. Answers whether it recorded; `false` when the settings
    /// changed or another rebuild started meanwhile (that one finishes the work). Writes
    /// go on meanwhile and keep their units current. A bulk load that writes rows
    /// without the store's writes calls this afterwards.
    #[tracing::instrument(name = "store.rebuild_figures", skip_all, fields(tenant = %tenant))]
    pub async fn rebuild_figures(&self, tenant: &TenantId) -> Result<bool, StoreError> {
        let (fingerprint, generation) = db::bounded(async {
            let txn = self.pools.begin_write().await?;
            let result = async {
                let settings = settings_in(&txn, tenant).await?;
                mark_stale(&txn, tenant).await?;
                let state = figure_state::Entity::find_by_id(tenant.as_str().to_owned())
                    .one(&txn)
                    .await
                    .map_err(db_err)?
                    .ok_or_else(|| StoreError::Internal("figure state not written".into()))?;
                Ok((rollup::fingerprint(&settings), state.generation))
            }
            .await;
            db::finish(txn, result).await
        })
        .await?;
        for phase in 0..3u8 {
            let mut after = None;
            loop {
                // A write transaction like any other (run again after a deadlock or a
                // serialisation failure, as the writes it meets on the same rows).
                let done = in_write!(self, |txn, locks| {
                    // Under the settings' shared lock, as every write that keeps
                    // tallies: no replacement commits while this batch refreshes.
                    locks.reads_settings(txn, tenant).await?;
                    let settings = settings_in(txn, tenant).await?;
                    if rollup::fingerprint(&settings) != fingerprint {
                        return Ok(None);
                    }
                    let ids = unit_ids_after(txn, tenant, phase, after).await?;
                    let Some(last) = ids.last().copied() else {
                        return Ok(Some(None));
                    };
                    let units = if phase == 2 {
                        no_longer_units(txn, tenant, &ids).await?
                    } else {
                        ids
                    };
                    refresh(txn, tenant, &units, &settings).await?;
                    Ok(Some(Some(last)))
                })?;
                match done {
                    None => return Ok(false),
                    Some(None) => break,
                    Some(Some(last)) => after = Some(last),
                }
            }
        }
        db::bounded(async {
            let txn = self.pools.begin_write().await?;
            let result = async {
                let settings = settings_in(&txn, tenant).await?;
                let state = figure_state::Entity::find_by_id(tenant.as_str().to_owned())
                    .one(&txn)
                    .await
                    .map_err(db_err)?;
                let same_generation = state.is_some_and(|s| s.generation == generation);
                if rollup::fingerprint(&settings) != fingerprint || !same_generation {
                    return Ok(false);
                }
                txn.execute_raw(statement(
                    txn.get_database_backend(),
                    "INSERT INTO figure_state (tenant, fingerprint, generation, rebuilt_at) \
                     VALUES (?, ?, ?, ?) ON CONFLICT (tenant) DO UPDATE SET \
                     fingerprint = excluded.fingerprint, rebuilt_at = excluded.rebuilt_at",
                    vec![
                        tenant.as_str().into(),
                        fingerprint.clone().into(),
                        generation.into(),
                        micros(now()).into(),
                    ],
                ))
                .await
                .map_err(db_err)?;
                Ok(true)
            }
            .await;
            db::finish(txn, result).await
        })
        .await
    }
}

/// In a settings replacement's transaction: when what the tallies depend on changes,
/// the tenant's rollups are stale (and a rebuild that started before does not record).
pub async fn settings_replaced<C: ConnectionTrait>(
    c: &C,
    tenant: &TenantId,
    before: &TenantSettings,
    after: &TenantSettings,
) -> Result<(), StoreError> {
    if !tallied_differently(before, after) {
        return Ok(());
    }
    mark_stale(c, tenant).await
}

/// Whether tallies made under `before` differ from those `after` makes.
pub(crate) fn tallied_differently(before: &TenantSettings, after: &TenantSettings) -> bool {
    rollup::fingerprint(before) != rollup::fingerprint(after)
}

/// The tenant's rollups no longer answer, and the generation rises.
pub(crate) async fn mark_stale<C: ConnectionTrait>(
    c: &C,
    tenant: &TenantId,
) -> Result<(), StoreError> {
    c.execute_raw(statement(
        c.get_database_backend(),
        "INSERT INTO figure_state (tenant, fingerprint, generation, rebuilt_at) \
         VALUES (?, '', 1, 0) ON CONFLICT (tenant) DO UPDATE SET \
         fingerprint = '', generation = figure_state.generation + 1",
        vec![tenant.as_str().into()],
    ))
    .await
    .map_err(db_err)?;
    Ok(())
}

/// How a dashboard series is read from the rollups and computed, per period.
fn series_plan(filter: &Filter) -> PerPeriod<Figures> {
    let (f1, f2) = (filter.clone(), filter.clone());
    PerPeriod {
        what: What::figures(filter),
        scope: Scope::of(std::slice::from_ref(filter)),
        seconds: Some(Arc::new(move |rows, periods| {
            rollup::series_seconds_wanted(rows, periods, &f1)
        })),
        compute: Arc::new(move |rows, periods, _| rollup::series_from(rows, periods, &f2)),
    }
}

/// How a thermometer is read from the rollups and computed, per period.
fn thermometer_plan() -> PerPeriod<Vec<NormResult>> {
    PerPeriod {
        what: What::Thermometer,
        scope: Scope::thermometer(),
        seconds: None,
        compute: Arc::new(|rows, periods, settings| {
            rollup::thermometer_series_from(rows, periods, settings)
        }),
    }
}
