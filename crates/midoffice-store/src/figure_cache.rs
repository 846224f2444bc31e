//! Figure answers kept in memory per period, exact: a dashboard series or a
//! thermometer trend computes only the periods whose days changed since they were
//! last computed.
//!
//! An answer for one period (a day, a week, a month; one filter's dashboard figures, or
//! the thermometer) is kept with what it was computed under ([`Basis`]): the rollups'
//! fingerprint and generation (`figure_state`) and the sum of the change counters of
//! the period's days (`figure_day_version`, m0012), which every write that changes a
//! day's sums raises in its own transaction (`rollup::add_to_rollups`). A later call
//! reads the counters first, then the rows of the periods it does not hold, in one read
//! transaction: a write that commits between the two makes the kept basis older than the
//! counters, never newer, so a kept answer is never stale. The counters only rise, so an
//! equal sum means no day of the period changed.
//!
//! A period that must be computed again (one of its days changed: the current week,
//! after every write) does not read all its days again: the rows of each recent day
//! (the [`RECENT_DAYS`] before `as_of`'s day, that day and the next, as a tenant's
//! local day may be ahead of UTC's) are kept per scope under that day's counter, with
//! the exact answer seconds read for the day so far, and only the days whose counter
//! moved are read ([`FigureCache::rows_of`]).
//!
//! Dashboard figures from the rollups do not depend on `as_of`; a thermometer does (an
//! item still pending counts as missed once its deadline passes): it is kept with the
//! `as_of` it was computed at and `rollup::pending_until`, and with the settings it was
//! judged by (titles, targets and explanations are not in the fingerprint).
//!
//! Each process keeps its own ([`CAPACITY`] dashboard answers and [`THERMOMETERS`]
//! thermometers, each apart, so that anonymous readers of the public page asking many
//! periods cannot push the dashboards' answers out; of a kind that is full, the least
//! recently used half is dropped); several servers on one database each check the
//! shared counters, so none answers from a stale copy.
//!
//! Dashboard figures are also kept in the database (`figure_answer`, m0017), so that a
//! restarted process or another replica answers a period any process computed before
//! without reading its sums. A period not in memory is looked up there in the same read
//! transaction, after the counters (so a kept row is never newer than the counters it
//! is checked against), and used when its basis equals the current one and its body
//! can be read (`rows::figure_answer`); it is then kept in memory too. The periods
//! computed are written afterwards, beside the answer (a spawned task: a read never
//! waits for the writer), in one write transaction that replaces rows of an older
//! basis; a failure is logged and changes no answer. A period that holds today (or a
//! later day) in the tenant's calendar is not written: nearly every write changes its
//! basis, so its row would be rewritten after almost every write and rarely read.
//! A thermometer depends on `as_of` (an item still pending counts as missed once its
//! deadline passes) and on titles, targets and explanations the fingerprint leaves out:
//! it is written only for a settled period (`rollup::Settled`: no item pending past
//! `as_of`), as each norm's counts with the instant after which they hold, and read
//! only by a reader after that instant, judged under the reader's settings
//! (`rows::thermometer_answer`).
//!
//! `serve` also computes answers ahead of any reader (`Store::keep_figure_series`,
//! `Store::keep_thermometers`: written before they return, nothing kept in memory).

use crate::db;
use crate::db::db_err;
use crate::rollup::{Scope, day_versions, path_of, span_rows, statement};
use crate::{Store, StoreError, settings_in};
use chrono::NaiveDate;
use midoffice_domain::figures::{Figures, Filter, NormResult, Period};
use midoffice_domain::rollup::{
    self, Grain, Path, RollupRow, SecondsAt, Span, TallyKind, day_number,
};
use midoffice_domain::settings::TenantSettings;
use midoffice_domain::{Instant, TenantId};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// How many period answers a process keeps.
pub const CAPACITY: usize = 20_000;
/// How many thermometer period answers a process keeps.
pub const THERMOMETERS: usize = 5_000;

/// What is kept for a period.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum What {
    /// Dashboard figures with a filter (channel, topic, department; `""`: any).
    Figures(String, String, String),
    Thermometer,
}

impl What {
    /// The `what` of a `figure_answer` row: the filter's channel, topic and department
    /// joined by `/` (none of them holds one), or `thermometer`.
    fn stored(&self) -> String {
        match self {
            What::Figures(channel, topic, department) => {
                format!("{channel}/{topic}/{department}")
            }
            What::Thermometer => "thermometer".to_owned(),
        }
    }

    pub(crate) fn figures(filter: &Filter) -> Self {
        What::Figures(
            filter
                .channel
                .map(|c| c.as_str().to_owned())
                .unwrap_or_default(),
            filter
                .topic
                .as_ref()
                .map(|c| c.as_str().to_owned())
                .unwrap_or_default(),
            filter
                .department
                .as_ref()
                .map(|c| c.as_str().to_owned())
                .unwrap_or_default(),
        )
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Key {
    tenant: String,
    what: What,
    from: NaiveDate,
    to: NaiveDate,
}

/// What an answer was computed under.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Basis {
    fingerprint: String,
    generation: i64,
    /// The sum of the change counters of the period's days.
    versions: i64,
}

/// A kept answer.
#[derive(Clone, Debug)]
pub(crate) enum Value {
    Figures(Figures),
    Norms {
        results: Vec<NormResult>,
        settings: Arc<TenantSettings>,
        as_of: Instant,
        until: Option<Instant>,
    },
}

struct Entry {
    basis: Basis,
    value: Value,
    used: u64,
}

#[derive(Default)]
struct Inner {
    map: HashMap<Key, Entry>,
    tick: u64,
    /// Periods answered from memory since the start.
    hits: u64,
    /// How many of the kept answers are thermometers.
    thermometers: usize,
}

/// The answers a process keeps.
#[derive(Default)]
pub(crate) struct FigureCache {
    inner: Mutex<Inner>,
    /// The rows of recent days.
    days: Mutex<DayInner>,
    /// Periods answered from `figure_answer` since the start.
    stored_hits: AtomicU64,
    /// Answers written to `figure_answer` since the start.
    stored_writes: AtomicU64,
}

impl std::fmt::Debug for FigureCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FigureCache")
            .field("kept", &self.len())
            .finish()
    }
}

/// Under what a kept value is looked up or kept.
pub(crate) struct Context<'a> {
    settings: &'a Arc<TenantSettings>,
    as_of: Instant,
    /// For a value kept now: until when it holds as `as_of` moves on.
    until: Option<Instant>,
}

/// A per-period answer the cache can keep.
pub(crate) trait Kept: Clone + Send + 'static {
    #[doc(hidden)]
    fn wrap(self, ctx: &Context<'_>) -> Value;
    #[doc(hidden)]
    fn unwrap(value: &Value, ctx: &Context<'_>) -> Option<Self>;
    /// Whether an answer depends on `as_of` (an item still pending counts as missed
    /// once its deadline passed): then only a settled period is kept in
    /// `figure_answer` (`rollup::Settled`), with the instant after which it holds.
    #[doc(hidden)]
    const AS_OF: bool = false;
    /// Whether anything at all was counted in the answer.
    #[doc(hidden)]
    fn counted(&self) -> bool {
        true
    }
    /// The `figure_answer.body` of an answer that holds at every `as_of` after
    /// `after` (for an answer that does not depend on `as_of`, always `None`).
    #[doc(hidden)]
    fn encode(&self, after: Option<Instant>) -> Option<String>;
    /// An answer from its `figure_answer.body` for a reader under `ctx`: `None` when
    /// the row cannot be read, `Some(None)` when it does not answer at `ctx`'s `as_of`
    /// (or under its settings).
    #[doc(hidden)]
    fn decode(text: &str, ctx: &Context<'_>) -> Option<Option<Self>>;
}

impl Kept for Figures {
    fn wrap(self, _: &Context<'_>) -> Value {
        Value::Figures(self)
    }

    fn unwrap(value: &Value, _: &Context<'_>) -> Option<Self> {
        match value {
            Value::Figures(f) => Some(f.clone()),
            Value::Norms { .. } => None,
        }
    }

    fn encode(&self, _: Option<Instant>) -> Option<String> {
        crate::rows::figure_answer::encode(self).ok()
    }

    fn counted(&self) -> bool {
        crate::rows::figure_answer::worth_keeping(self)
    }

    fn decode(text: &str, _: &Context<'_>) -> Option<Option<Self>> {
        crate::rows::figure_answer::decode(text).ok().map(Some)
    }
}

impl Kept for Vec<NormResult> {
    fn wrap(self, ctx: &Context<'_>) -> Value {
        Value::Norms {
            results: self,
            settings: ctx.settings.clone(),
            as_of: ctx.as_of,
            until: ctx.until,
        }
    }

    fn unwrap(value: &Value, ctx: &Context<'_>) -> Option<Self> {
        match value {
            Value::Norms {
                results,
                settings,
                as_of,
                until,
            } if **settings == **ctx.settings
                && *as_of <= ctx.as_of
                && until.is_none_or(|u| ctx.as_of <= u) =>
            {
                Some(results.clone())
            }
            _ => None,
        }
    }

    const AS_OF: bool = true;

    fn encode(&self, after: Option<Instant>) -> Option<String> {
        crate::rows::thermometer_answer::encode(self, after).ok()
    }

    fn decode(text: &str, ctx: &Context<'_>) -> Option<Option<Self>> {
        let counts = crate::rows::thermometer_answer::decode(text).ok()?;
        Some(
            counts
                .after
                .is_none_or(|after| after < ctx.as_of)
                .then(|| counts.judged(ctx.settings))
                .flatten(),
        )
    }
}

impl FigureCache {
    fn get<U: Kept>(&self, key: &Key, basis: &Basis, ctx: &Context<'_>) -> Option<U> {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.tick += 1;
        let tick = inner.tick;
        let entry = inner.map.get_mut(key)?;
        if entry.basis != *basis {
            return None;
        }
        let value = U::unwrap(&entry.value, ctx)?;
        entry.used = tick;
        inner.hits += 1;
        Some(value)
    }

    fn put(&self, key: Key, basis: Basis, value: Value) {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let thermometer = key.what == What::Thermometer;
        let same_kind = |k: &Key| (k.what == What::Thermometer) == thermometer;
        let (kept, cap) = if thermometer {
            (inner.thermometers, THERMOMETERS)
        } else {
            (inner.map.len() - inner.thermometers, CAPACITY)
        };
        if kept >= cap && !inner.map.contains_key(&key) {
            // Drop the least recently used half of this kind.
            let mut used: Vec<u64> = inner
                .map
                .iter()
                .filter(|(k, _)| same_kind(k))
                .map(|(_, e)| e.used)
                .collect();
            let middle = used.len() / 2;
            let (_, cut, _) = used.select_nth_unstable(middle);
            let cut = *cut;
            inner.map.retain(|k, e| !same_kind(k) || e.used > cut);
            inner.thermometers = inner
                .map
                .keys()
                .filter(|k| k.what == What::Thermometer)
                .count();
        }
        inner.tick += 1;
        let used = inner.tick;
        let new = inner
            .map
            .insert(key, Entry { basis, value, used })
            .is_none();
        if new && thermometer {
            inner.thermometers += 1;
        }
    }

    /// How many periods were answered from memory since the start.
    pub(crate) fn hits(&self) -> u64 {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).hits
    }

    /// How many answers are kept.
    pub(crate) fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .map
            .len()
    }
}

/// How many days before `as_of`'s day (and that day) a day's rows are kept for: the days
/// of the periods still being written to (the current week and month, and the days a
/// late completion or answer changes), which are computed again after each write.
pub const RECENT_DAYS: i64 = 62;
/// How many rows of recent days a process keeps at most (over all tenants and scopes).
pub const DAY_ROWS: usize = 500_000;

/// The rows of one day for one scope, as read from the sums, with the exact answer
/// seconds read for it so far (per bucket kind).
struct DayEntry {
    basis: Basis,
    rows: Arc<Vec<RollupRow>>,
    seconds: HashMap<TallyKind, Arc<Vec<RollupRow>>>,
    used: u64,
}

impl DayEntry {
    /// What the entry counts against [`DAY_ROWS`]: its rows, and at least one (a day
    /// without rows is kept too).
    fn len(&self) -> usize {
        (self.rows.len() + self.seconds.values().map(|r| r.len()).sum::<usize>()).max(1)
    }
}

#[derive(Default)]
struct DayInner {
    map: HashMap<(String, What, i64), DayEntry>,
    tick: u64,
    /// Rows held in `map`.
    rows: usize,
    /// Days whose rows were taken from memory since the start.
    hits: u64,
}

/// A day's rows, and its exact answer seconds read so far per bucket kind.
type DayRows = (Arc<Vec<RollupRow>>, HashMap<TallyKind, Arc<Vec<RollupRow>>>);

/// What the rows of a day are kept under.
pub(crate) struct DayBasis<'a> {
    pub tenant: &'a str,
    pub what: &'a What,
    pub fingerprint: &'a str,
    pub generation: i64,
    pub versions: &'a std::collections::BTreeMap<i64, i64>,
    /// The days kept: from `as_of`'s day (in UTC) back [`RECENT_DAYS`], and the next
    /// (a tenant's local day may be ahead); no later day, so that nobody can fill
    /// memory with days to come.
    pub recent: std::ops::RangeInclusive<i64>,
}

impl DayBasis<'_> {
    fn recent(&self, day: i64) -> bool {
        self.recent.contains(&day)
    }

    fn of(&self, day: i64) -> Basis {
        Basis {
            fingerprint: self.fingerprint.to_owned(),
            generation: self.generation,
            versions: self.versions.get(&day).copied().unwrap_or(0),
        }
    }

    fn key(&self, day: i64) -> (String, What, i64) {
        (self.tenant.to_owned(), self.what.clone(), day)
    }
}

/// Consecutive day numbers as day spans.
fn day_spans(days: impl IntoIterator<Item = i64>) -> Vec<Span> {
    let mut out: Vec<Span> = Vec::new();
    for d in days {
        match out.last_mut() {
            Some(last) if last.to == d => last.to = d + 1,
            _ => out.push(Span {
                grain: Grain::Day,
                from: d,
                to: d + 1,
            }),
        }
    }
    out
}

impl FigureCache {
    /// The rows of these spans (each row on its own day or month) for a plan, with the
    /// exact answer seconds its periods need: the rows of a recent day whose change
    /// counter did not move are taken from memory, the others read in `c` (one
    /// statement per run of days, as before) and, for recent days, kept. The rows are
    /// those [`span_rows`] returns for the whole spans: a day's rows do not depend on
    /// the other days read with it.
    pub(crate) async fn rows_of<C: sea_orm::ConnectionTrait, U>(
        &self,
        c: &C,
        tenant: &TenantId,
        spans: &[Span],
        plan: &PerPeriod<U>,
        asked: &[Period],
        days: &DayBasis<'_>,
    ) -> Result<Vec<RollupRow>, StoreError> {
        let months: Vec<Span> = spans
            .iter()
            .filter(|s| s.grain == Grain::Month)
            .copied()
            .collect();
        let all_days: Vec<i64> = spans
            .iter()
            .filter(|s| s.grain == Grain::Day)
            .flat_map(|s| s.from..s.to)
            .collect();
        // Days kept, by day: their rows and seconds.
        let mut held: HashMap<i64, DayRows> = HashMap::new();
        {
            let mut inner = self.days.lock().unwrap_or_else(|p| p.into_inner());
            inner.tick += 1;
            let tick = inner.tick;
            let mut hits = 0;
            for d in all_days.iter().filter(|d| days.recent(**d)) {
                if let Some(e) = inner.map.get_mut(&days.key(*d))
                    && e.basis == days.of(*d)
                {
                    e.used = tick;
                    held.insert(*d, (e.rows.clone(), e.seconds.clone()));
                    hits += 1;
                }
            }
            inner.hits += hits;
        }
        let to_read: Vec<i64> = all_days
            .iter()
            .copied()
            .filter(|d| !held.contains_key(d))
            .collect();
        let mut read_spans = day_spans(to_read.iter().copied());
        read_spans.extend(months.iter().copied());
        let mut rows = if read_spans.is_empty() {
            Vec::new()
        } else {
            span_rows(c, tenant, &read_spans, &plan.scope, true, None).await?
        };
        // The rows read of recent days, by day, to keep.
        let mut fresh: HashMap<i64, Vec<RollupRow>> = to_read
            .iter()
            .filter(|d| days.recent(**d))
            .map(|d| (*d, Vec::new()))
            .collect();
        for r in &rows {
            if r.grain == Grain::Day
                && let Some(v) = fresh.get_mut(&r.at)
            {
                v.push(r.clone());
            }
        }
        for (kept, _) in held.values() {
            rows.extend(kept.iter().cloned());
        }
        let mut fresh: HashMap<i64, DayRows> = fresh
            .into_iter()
            .map(|(d, r)| (d, (Arc::new(r), HashMap::new())))
            .collect();
        if let Some(wanted) = &plan.seconds {
            let at = wanted(&rows, asked);
            // Seconds of a day kept (or just read) with that kind: from memory; the
            // others read.
            let mut read_at = rollup::SecondsAt::new();
            let mut seconds = Vec::new();
            for (kind, ats) in &at {
                for (grain, a) in ats {
                    let known = (*grain == Grain::Day)
                        .then(|| held.get(a).and_then(|(_, s)| s.get(kind)))
                        .flatten();
                    match known {
                        Some(r) => seconds.extend(r.iter().cloned()),
                        None => {
                            read_at.entry(*kind).or_default().insert((*grain, *a));
                        }
                    }
                }
            }
            if !read_at.is_empty() {
                let scope = plan.scope.seconds(read_at.keys().copied().collect());
                let read = span_rows(c, tenant, spans, &scope, true, Some(&read_at)).await?;
                // Each recent day's seconds of each kind read (maybe none), to keep.
                for (kind, ats) in &read_at {
                    for (grain, a) in ats {
                        if *grain != Grain::Day || !days.recent(*a) {
                            continue;
                        }
                        let mine: Vec<RollupRow> = read
                            .iter()
                            .filter(|r| r.kind == *kind && r.grain == Grain::Day && r.at == *a)
                            .cloned()
                            .collect();
                        let mine = Arc::new(mine);
                        if let Some((_, s)) = fresh.get_mut(a) {
                            s.insert(*kind, mine);
                        } else if let Some((r, s)) = held.get(a) {
                            let mut s = s.clone();
                            s.insert(*kind, mine);
                            fresh.insert(*a, (r.clone(), s));
                        }
                    }
                }
                seconds.extend(read);
            }
            rows.extend(seconds);
        }
        self.keep_days(days, fresh);
        Ok(rows)
    }

    /// Keeps the rows of these days (as read under `days`).
    fn keep_days(&self, days: &DayBasis<'_>, fresh: HashMap<i64, DayRows>) {
        if fresh.is_empty() {
            return;
        }
        let mut inner = self.days.lock().unwrap_or_else(|p| p.into_inner());
        for (d, (rows, seconds)) in fresh {
            inner.tick += 1;
            let entry = DayEntry {
                basis: days.of(d),
                rows,
                seconds,
                used: inner.tick,
            };
            let added = entry.len();
            if let Some(old) = inner.map.insert(days.key(d), entry) {
                inner.rows -= old.len();
            }
            inner.rows += added;
        }
        // Over the bound: drop the least recently used half of the days, until under it.
        while inner.rows > DAY_ROWS && !inner.map.is_empty() {
            let mut used: Vec<u64> = inner.map.values().map(|e| e.used).collect();
            let middle = used.len() / 2;
            let (_, cut, _) = used.select_nth_unstable(middle);
            let cut = *cut;
            inner.map.retain(|_, e| e.used > cut);
            inner.rows = inner.map.values().map(DayEntry::len).sum();
        }
    }

    /// How many days' rows were taken from memory since the start.
    pub(crate) fn day_hits(&self) -> u64 {
        self.days.lock().unwrap_or_else(|p| p.into_inner()).hits
    }
}

/// The exact answer seconds to read beside the rows of these periods.
pub(crate) type SecondsOf = Arc<dyn Fn(&[RollupRow], &[Period]) -> SecondsAt + Send + Sync>;

/// Each period's answer from its rows (each on its own day or month).
pub(crate) type Compute<U> =
    Arc<dyn Fn(&[RollupRow], &[Period], &TenantSettings) -> Option<Vec<U>> + Send + Sync>;

/// How a per-period answer is read and computed.
pub(crate) struct PerPeriod<U> {
    pub what: What,
    pub scope: Scope,
    pub seconds: Option<SecondsOf>,
    pub compute: Compute<U>,
}

/// For whom answers are computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum For {
    /// A caller waiting for them: kept in memory too, written to the table beside.
    Reader,
    /// Ahead of any reader, for the table only (`Store::keep_figure_series`).
    Table,
}

/// A period not kept: its key, itself, and the basis it is computed under.
type Missing = (Key, Period, Basis);

/// An answer to keep in `figure_answer`: its days (day numbers, `to` exclusive), basis
/// and body.
struct Stored {
    from: i64,
    to: i64,
    basis: Basis,
    body: String,
}

/// Rows per statement of [`upsert_answers`] (nine values each).
const UPSERT_ROWS: usize = 500;

/// The kept answers (basis and body; without `bodies` an empty body) of a tenant's
/// `what` whose first day is one of the missing periods' range of first days, by first
/// and next day: one range of the key.
async fn stored_answers<C: sea_orm::ConnectionTrait>(
    c: &C,
    tenant: &TenantId,
    what: &str,
    missing: &[Missing],
    bodies: bool,
) -> Result<HashMap<(i64, i64), (Basis, String)>, StoreError> {
    let froms = missing.iter().map(|(k, _, _)| day_number(k.from));
    let (Some(first), Some(last)) = (froms.clone().min(), froms.max()) else {
        return Ok(HashMap::new());
    };
    let rows = c
        .query_all_raw(statement(
            c.get_database_backend(),
            &format!(
                "SELECT CAST(from_day AS BIGINT), CAST(to_day AS BIGINT), fingerprint, \
                 CAST(generation AS BIGINT), CAST(versions AS BIGINT), {} FROM figure_answer \
                 WHERE tenant = ? AND what = ? AND from_day >= ? AND from_day <= ?",
                if bodies { "body" } else { "''" }
            ),
            vec![
                tenant.as_str().into(),
                what.into(),
                first.into(),
                last.into(),
            ],
        ))
        .await
        .map_err(db_err)?;
    let mut out = HashMap::with_capacity(rows.len());
    for r in rows {
        let from: i64 = r.try_get_by_index(0).map_err(db_err)?;
        let to: i64 = r.try_get_by_index(1).map_err(db_err)?;
        let basis = Basis {
            fingerprint: r.try_get_by_index(2).map_err(db_err)?,
            generation: r.try_get_by_index(3).map_err(db_err)?,
            versions: r.try_get_by_index(4).map_err(db_err)?,
        };
        let body: String = r.try_get_by_index(5).map_err(db_err)?;
        out.insert((from, to), (basis, body));
    }
    Ok(out)
}

/// Inserts the answers, or replaces a kept row unless it holds the same fingerprint
/// and a later basis (another process computed it after the counters moved on), or
/// the same basis and the same body.
async fn upsert_answers<C: sea_orm::ConnectionTrait>(
    c: &C,
    tenant: &TenantId,
    what: &str,
    answers: &[Stored],
) -> Result<(), StoreError> {
    let now = crate::convert::micros(chrono::Utc::now());
    for chunk in answers.chunks(UPSERT_ROWS) {
        let mut sql = String::from(
            "INSERT INTO figure_answer (tenant, what, from_day, to_day, fingerprint, \
             generation, versions, body, computed_at) VALUES ",
        );
        let mut values: Vec<sea_orm::Value> = Vec::with_capacity(chunk.len() * 9);
        for (i, a) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str("(?, ?, ?, ?, ?, ?, ?, ?, ?)");
            values.extend([
                tenant.as_str().into(),
                what.into(),
                a.from.into(),
                a.to.into(),
                a.basis.fingerprint.as_str().into(),
                a.basis.generation.into(),
                a.basis.versions.into(),
                a.body.as_str().into(),
                now.into(),
            ]);
        }
        sql.push_str(
            " ON CONFLICT (tenant, what, from_day, to_day) DO UPDATE SET \
             fingerprint = excluded.fingerprint, generation = excluded.generation, \
             versions = excluded.versions, body = excluded.body, \
             computed_at = excluded.computed_at \
             WHERE figure_answer.fingerprint <> excluded.fingerprint \
             OR figure_answer.generation < excluded.generation \
             OR (figure_answer.generation = excluded.generation \
             AND (figure_answer.versions < excluded.versions \
             OR (figure_answer.versions = excluded.versions \
             AND figure_answer.body <> excluded.body)))",
        );
        c.execute_raw(statement(c.get_database_backend(), &sql, values))
            .await
            .map_err(db_err)?;
    }
    Ok(())
}

impl Store {
    /// How many figure periods this process answered from memory (a dashboard series
    /// or thermometer trend period whose days had not changed), since it started.
    pub fn kept_figure_hits(&self) -> u64 {
        self.figure_cache.hits()
    }

    /// How many figure periods this process answered from the answers kept in the
    /// database (`figure_answer`: computed before by any process, its days unchanged
    /// since), since it started.
    pub fn stored_figure_hits(&self) -> u64 {
        self.figure_cache.stored_hits.load(Ordering::Relaxed)
    }

    /// How many figure period answers this process wrote to `figure_answer` since it
    /// started (they are written after the answer, beside it).
    pub fn stored_figure_writes(&self) -> u64 {
        self.figure_cache.stored_writes.load(Ordering::Relaxed)
    }

    /// Writes freshly computed answers to `figure_answer` in one short write
    /// transaction, replacing rows of an older basis; a failure is logged, never
    /// returned: the answers were given already and are computed again when needed.
    async fn keep_answers(&self, tenant: &TenantId, what: &str, answers: Vec<Stored>) {
        let n = answers.len() as u64;
        let result = db::bounded(async {
            let txn = self.pools.begin_write().await?;
            let result = upsert_answers(&txn, tenant, what, &answers).await;
            db::finish(txn, result).await
        })
        .await;
        match result {
            Ok(()) => {
                self.figure_cache
                    .stored_writes
                    .fetch_add(n, Ordering::Relaxed);
            }
            Err(e) => tracing::warn!(
                tenant = %tenant,
                answers = n,
                error = %e,
                "figure answers not kept in the database"
            ),
        }
    }

    /// How many recent days' rows this process took from memory for a period it
    /// computed again (a period holding a day that changed), since it started.
    pub fn kept_day_hits(&self) -> u64 {
        self.figure_cache.day_hits()
    }

    /// Each period's answer from the rollups, the kept ones from memory and the others
    /// computed from their rows (and kept), with the settings they were judged by; all
    /// read in one transaction. `None` when the rollups do not answer (the caller
    /// computes from the facts, or refuses).
    pub(crate) async fn per_period<U: Kept>(
        &self,
        tenant: &TenantId,
        periods: &[Period],
        plan: PerPeriod<U>,
    ) -> Result<Option<(TenantSettings, Vec<U>)>, StoreError> {
        Ok(self
            .answers(tenant, periods, plan, For::Reader)
            .await?
            .map(|(settings, answers, _)| (settings, answers)))
    }

    /// [`Store::per_period`] for a reader, or ahead of readers for the table: then the
    /// memory is neither asked nor filled, and the periods computed are written to
    /// `figure_answer` before this returns. With the answers, how many periods were
    /// computed from their rows.
    pub(crate) async fn answers<U: Kept>(
        &self,
        tenant: &TenantId,
        periods: &[Period],
        plan: PerPeriod<U>,
        asked_for: For,
    ) -> Result<Option<(TenantSettings, Vec<U>, usize)>, StoreError> {
        let reader = asked_for == For::Reader;
        let Some(as_of) = periods.first().map(|p| p.as_of) else {
            return Ok(None);
        };
        // One `as_of` for all (as every caller asks; a kept thermometer records it), and
        // no period that ends before it starts.
        if periods.iter().any(|p| p.as_of != as_of || p.to < p.from) {
            return Ok(None);
        }
        let cache = &self.figure_cache;
        let read = db::bounded_figures(&self.pools, async |txn| {
            let result = async {
                let settings = Arc::new(settings_in(&txn, tenant).await?);
                let (path, generation) = path_of(&txn, tenant, &settings, periods).await?;
                if !matches!(path, Path::Rollups(_)) {
                    return Ok(None);
                }
                // The counters before the rows (see the module's text).
                let from = periods.iter().map(|p| day_number(p.from)).min();
                let to = periods.iter().map(|p| day_number(p.to)).max();
                let versions = match (from, to) {
                    (Some(from), Some(to)) => day_versions(&txn, tenant, from, to).await?,
                    _ => Default::default(),
                };
                let fingerprint = rollup::fingerprint(&settings);
                let ctx = Context {
                    settings: &settings,
                    as_of,
                    until: None,
                };
                let mut kept: Vec<Option<U>> = Vec::with_capacity(periods.len());
                let mut missing: Vec<Missing> = Vec::new();
                for p in periods {
                    let basis = Basis {
                        fingerprint: fingerprint.clone(),
                        generation,
                        versions: versions
                            .range(day_number(p.from)..day_number(p.to))
                            .map(|(_, v)| *v)
                            .sum(),
                    };
                    let key = Key {
                        tenant: tenant.as_str().to_owned(),
                        what: plan.what.clone(),
                        from: p.from,
                        to: p.to,
                    };
                    let found = reader.then(|| cache.get::<U>(&key, &basis, &ctx)).flatten();
                    if found.is_none() {
                        missing.push((key, *p, basis));
                    }
                    kept.push(found);
                }
                // Of the periods not in memory, those kept in the table under this
                // basis (read after the counters, as the rows are).
                if !missing.is_empty() {
                    let what = plan.what.stored();
                    // The job needs only the basis of each, not the bodies, except of
                    // thermometers, which only it writes: one it cannot read it replaces.
                    let mut stored =
                        stored_answers(&txn, tenant, &what, &missing, reader || U::AS_OF).await?;
                    let mut still = Vec::with_capacity(missing.len());
                    let slots = kept.iter_mut().filter(|k| k.is_none());
                    for (slot, m) in slots.zip(missing) {
                        let (key, _, basis) = &m;
                        let row = stored
                            .remove(&(day_number(key.from), day_number(key.to)))
                            .filter(|(b, _)| b == basis);
                        if !reader {
                            // Kept under the current basis (and readable, if it is a
                            // thermometer): nothing to compute.
                            let kept = row.is_some_and(|(_, body)| {
                                !U::AS_OF || U::decode(&body, &ctx).is_some()
                            });
                            if !kept {
                                still.push(m);
                            }
                            continue;
                        }
                        let found = row.and_then(|(_, body)| {
                            let value = U::decode(&body, &ctx);
                            if value.is_none() {
                                tracing::warn!(
                                    tenant = %tenant,
                                    from = %key.from,
                                    to = %key.to,
                                    "a kept figure answer cannot be read: computed again"
                                );
                            }
                            value.flatten()
                        });
                        match found {
                            Some(value) => {
                                if reader {
                                    cache.put(key.clone(), basis.clone(), value.clone().wrap(&ctx));
                                    cache.stored_hits.fetch_add(1, Ordering::Relaxed);
                                }
                                *slot = Some(value);
                            }
                            None => still.push(m),
                        }
                    }
                    missing = still;
                }
                let mut rows = Vec::new();
                if !missing.is_empty() {
                    let asked: Vec<Period> = missing.iter().map(|m| m.1).collect();
                    let Some(spans) = rollup::series_spans(&asked) else {
                        return Ok(None);
                    };
                    let days = DayBasis {
                        tenant: tenant.as_str(),
                        what: &plan.what,
                        fingerprint: &fingerprint,
                        generation,
                        versions: &versions,
                        // The job keeps no day's rows in memory (none is recent to it).
                        recent: if reader {
                            let today = day_number(as_of.date_naive());
                            today - RECENT_DAYS..=today + 1
                        } else {
                            std::ops::RangeInclusive::new(1, 0)
                        },
                    };
                    rows = cache
                        .rows_of(&txn, tenant, &spans, &plan, &asked, &days)
                        .await?;
                }
                Ok(Some((settings, kept, missing, rows)))
            }
            .await;
            db::finish(txn, result).await
        })
        .await?;
        let Some((settings, mut kept, missing, rows)) = read else {
            return Ok(None);
        };
        let computed = missing.len();
        if !missing.is_empty() {
            let asked: Vec<Period> = missing.iter().map(|m| m.1).collect();
            let compute = plan.compute.clone();
            let for_compute = settings.clone();
            let computed = tokio::task::spawn_blocking(move || {
                let values = compute(&rows, &asked, &for_compute)?;
                // Which of them hold at every later moment, and after when.
                let settled = if U::AS_OF {
                    rollup::settled_each(&rows, &asked)?
                } else {
                    vec![rollup::Settled::After(None); asked.len()]
                };
                Some((values, settled, rollup::pending_until(&rows, as_of)))
            })
            .await
            .map_err(|e| StoreError::Internal(format!("figure computation failed: {e}")))?;
            let Some((values, settled, until)) = computed else {
                return Ok(None);
            };
            if values.len() != missing.len() || settled.len() != missing.len() {
                return Ok(None);
            }
            let ctx = Context {
                settings: &settings,
                as_of,
                until,
            };
            // Periods that end by today in the tenant's calendar go to the table too;
            // one that holds today (or a later day) changes with nearly every write.
            let today = settings.calendar.local_date(as_of.max(chrono::Utc::now()));
            let mut to_store = Vec::new();
            let mut listed = std::collections::HashSet::new();
            // A filter of a topic or department (any code a caller makes up) keeps only
            // answers with anything counted, so made-up codes add no rows.
            let by_code =
                matches!(&plan.what, What::Figures(_, t, d) if !t.is_empty() || !d.is_empty());
            let mut fresh = missing.into_iter().zip(values).zip(settled);
            for slot in kept.iter_mut().filter(|k| k.is_none()) {
                let Some((((key, _, basis), value), settled)) = fresh.next() else {
                    break;
                };
                let days = (day_number(key.from), day_number(key.to));
                // A reader's thermometer is not written: the public page's anonymous
                // readers must cause no writes; the job keeps the periods views ask.
                if !(reader && U::AS_OF)
                    && key.to <= today
                    // (The job's codes are the tenant's own: its empty periods are kept,
                    // or each pass would compute them again.)
                    && (!by_code || !reader || value.counted())
                    // A period asked twice is written once (one statement may not
                    // upsert a row twice).
                    && listed.insert(days)
                    && let rollup::Settled::After(after) = settled
                    && let Some(body) = value.encode(after)
                {
                    to_store.push(Stored {
                        from: days.0,
                        to: days.1,
                        basis: basis.clone(),
                        body,
                    });
                }
                if reader {
                    cache.put(key, basis, value.clone().wrap(&ctx));
                }
                *slot = Some(value);
            }
            if !to_store.is_empty() {
                let what = plan.what.stored();
                if reader {
                    // Best effort, beside the answer: a read never waits for the writer.
                    let store = self.clone();
                    let tenant = tenant.clone();
                    tokio::spawn(async move { store.keep_answers(&tenant, &what, to_store).await });
                } else {
                    self.keep_answers(tenant, &what, to_store).await;
                }
            }
        }
        if !reader {
            // The job asks no answers back; the periods kept already have none here.
            return Ok(Some((
                TenantSettings::clone(&settings),
                Vec::new(),
                computed,
            )));
        }
        let answers: Option<Vec<U>> = kept.into_iter().collect();
        Ok(answers.map(|a| (TenantSettings::clone(&settings), a, computed)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(what: What, day: u32) -> Key {
        let from = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap() + chrono::Days::new(day.into());
        Key {
            tenant: "t".into(),
            what,
            from,
            to: from + chrono::Days::new(1),
        }
    }

    fn basis() -> Basis {
        Basis {
            fingerprint: "f".into(),
            generation: 1,
            versions: 0,
        }
    }

    fn norms() -> Value {
        Value::Norms {
            results: Vec::new(),
            settings: Arc::new(TenantSettings::default()),
            as_of: chrono::DateTime::UNIX_EPOCH,
            until: None,
        }
    }

    #[test]
    fn recent_days_beyond_the_row_bound_drop_the_least_recently_used_and_no_later_day_is_kept() {
        let cache = FigureCache::default();
        let what = What::Thermometer;
        let versions = std::collections::BTreeMap::new();
        let days = DayBasis {
            tenant: "t",
            what: &what,
            fingerprint: "f",
            generation: 1,
            versions: &versions,
            recent: 100..=200,
        };
        assert!(days.recent(100) && days.recent(200));
        assert!(!days.recent(99) && !days.recent(201), "no day to come");
        let row = RollupRow {
            kind: TallyKind::Contact,
            grain: Grain::Day,
            at: 100,
            key: Default::default(),
            n: 1,
        };
        let half: DayRows = (Arc::new(vec![row; DAY_ROWS / 2]), HashMap::new());
        let keep = |day: i64, rows: &DayRows| {
            cache.keep_days(&days, HashMap::from([(day, rows.clone())]));
        };
        keep(100, &half);
        keep(101, &half);
        let inner = |f: &dyn Fn(&DayInner)| f(&cache.days.lock().unwrap());
        inner(&|i| assert_eq!(i.rows, DAY_ROWS, "at the bound, nothing dropped"));
        keep(102, &half);
        inner(&|i| {
            assert!(i.rows <= DAY_ROWS, "under the bound again: {}", i.rows);
            assert!(i.map.contains_key(&days.key(102)), "the newest stays");
            assert!(!i.map.contains_key(&days.key(100)), "the oldest goes");
        });
        // A day without rows counts too.
        let empty: DayRows = (Arc::new(Vec::new()), HashMap::new());
        keep(103, &empty);
        inner(&|i| assert_eq!(i.rows, DAY_ROWS / 2 + 1));
    }

    #[test]
    fn a_full_kind_drops_its_least_recently_used_half_and_leaves_the_other_kind() {
        let cache = FigureCache::default();
        let dash = || What::Figures(String::new(), String::new(), String::new());
        cache.put(key(dash(), 0), basis(), norms());
        let settings = Arc::new(TenantSettings::default());
        let ctx = Context {
            settings: &settings,
            as_of: chrono::Utc::now(),
            until: None,
        };
        for day in 0..THERMOMETERS as u32 {
            cache.put(key(What::Thermometer, day), basis(), norms());
        }
        // Day 1 used recently: it stays when the next one makes the kind overflow.
        assert!(
            cache
                .get::<Vec<NormResult>>(&key(What::Thermometer, 1), &basis(), &ctx)
                .is_some()
        );
        cache.put(key(What::Thermometer, 99_999), basis(), norms());
        let kept = cache.len();
        assert_eq!(
            kept,
            1 + THERMOMETERS / 2,
            "half of the thermometers, and the other kind"
        );
        let inner = cache.inner.lock().unwrap();
        assert!(
            inner.map.contains_key(&key(dash(), 0)),
            "the dashboard's answer stays"
        );
        assert!(
            inner.map.contains_key(&key(What::Thermometer, 1)),
            "recently used"
        );
        assert!(
            !inner.map.contains_key(&key(What::Thermometer, 0)),
            "least recently used"
        );
        assert_eq!(inner.thermometers, THERMOMETERS / 2);
    }
}
