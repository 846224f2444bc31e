//! Persistence for the midoffice: sea-orm entities and migrations that run unchanged on
//! SQLite and PostgreSQL, and the transactions that load the facts a rule needs, let
//! `midoffice-domain` decide, and save what it decided.
//!
//! The [`Store`] is the one narrow interface the API uses.
//!
//! Every write has one shape: load the facts (`facts`), let one function of
//! `midoffice_domain::plan` return the plan, save its writes (`write`) in the same
//! transaction, and answer with what the plan computed. A look-up is the same plan as a
//! start, not saved.
//!
//! Module map: [`entity`] (tables), [`migration`] (schema), [`bulk`] (a seed's plans saved
//! with multi-row inserts), `db` (pools, transactions,
//! error mapping, running a conflicted write again), `lock` (what a write locks on
//! PostgreSQL), `facts` (loading; `facts::query`, the look-ups, and `plans`, their
//! plans), `write` (saving a plan, one file per seam),
//! `idempotency` (AIP-155 keys), `worklist` (the open commitments), `convert` (rows to facts), [`rows`] (the versioned JSON
//! formats of settings and kept answers), `dburl` (the SQLite file of a database URL,
//! and URLs with their password masked).

use midoffice_domain::command::{CompletionCommand, StartCommand};
use midoffice_domain::contact::{Channel, Feedback};
use midoffice_domain::figures::{FigureFacts, LoadWindow};
use midoffice_domain::identifier::IdentKey;
use midoffice_domain::plan::{Write, completion, erase, feedback as feedback_plan, start};
use midoffice_domain::processing::{Processing, ProcessingKind, ProcessingStatus, processing};
use midoffice_domain::settings::TenantSettings;
use midoffice_domain::view::{self, ContactView, ContextView};
use midoffice_domain::{DomainError, Instant, Missing, TenantId, Violations};
use uuid::Uuid;

/// Runs `$body` (with `$txn`, the transaction, and `$locks`, the locks it takes) in a
/// write transaction of `$store` under `db::bounded`: committed when it answers `Ok`,
/// rolled back otherwise, and run again from the start (a fresh transaction, no locks
/// held) after a conflict, at most `db::WRITE_ATTEMPTS` times in all. The body resets
/// whatever it reports besides its answer, since a run that conflicted may have set it.
/// A macro, not a function taking an async closure: the future of such a closure is
/// not `Send` for every lifetime of its arguments ("implementation of `Send` is not
/// general enough"), and the API's futures must be `Send`.
macro_rules! in_write {
    ($store:expr, |$txn:ident, $locks:ident| $body:block) => {
        $crate::db::bounded(async {
            let mut attempts = $crate::db::Attempts::default();
            loop {
                let txn = $store.pools.begin_write().await?;
                let mut locks = $crate::lock::Locks::new(&$store.pools);
                let result = async {
                    let $txn = &txn;
                    let $locks = &mut locks;
                    $body
                }
                .await;
                let result = $crate::db::finish(txn, result).await;
                if !attempts.again(&result) {
                    break result;
                }
            }
        })
        .await
    };
}

/// Runs `$body` (with `$txn`, the transaction) as a logged read of `$store` under
/// `db::bounded` (`Pools::begin_logged_read`): committed when it answers `Ok`, rolled
/// back otherwise. The body sets `$planned` to the processing it logged and `$refused`
/// to the one of a refusal after the data subject was known; on a failure they go to
/// [`Store::log_after_failure`]. A macro for the reason `in_write!` is one.
macro_rules! in_logged_read {
    ($store:expr, $tenant:expr, $caller:expr, |$txn:ident, $planned:ident, $refused:ident| $body:block) => {{
        // Not every read has a refusal to log.
        #[allow(unused_mut)]
        let (mut $planned, mut $refused): (
            Option<midoffice_domain::processing::Processing>,
            Option<midoffice_domain::processing::Processing>,
        ) = (None, None);
        let result = $crate::db::bounded(async {
            let txn = $store.pools.begin_logged_read().await?;
            let result = async {
                let $txn = &txn;
                $body
            }
            .await;
            $crate::db::finish(txn, result).await
        })
        .await;
        $store
            .log_after_failure($tenant, $caller, &result, $planned, $refused)
            .await;
        result
    }};
}

mod benchmark;
pub mod benchmark_summary;
pub mod bulk;
mod convert;
mod db;
mod dburl;
pub mod entity;
mod events;
mod facts;
mod figure_cache;
mod idempotency;
mod lock;
pub mod migration;
mod plans;
pub mod processing_log;
mod retention;
mod rollup;
pub mod rows;
mod worklist;
mod write;

use convert::{micros, trunc};
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QuerySelect};

pub use benchmark::{BenchmarkCounts, ComposedGroup, GroupState, Imported};
pub use db::{
    ACQUIRE_TIMEOUT, BUSY_TIMEOUT, FIGURE_CONNECTIONS, LOCK_TIMEOUT, MigrationFailure,
    POSTGRES_CONNECTIONS, STATEMENT_TIMEOUT, migrate_url,
};
pub use dburl::{redact_url, sqlite_path};
pub use events::Delivery;
pub use lock::{identifier_lock_key, party_lock_key};
/// What replaces the story of a contact of an erased party.
pub use midoffice_domain::plan::erase::ERASED_STORY as ERASED_TEXT;
pub use processing_log::{AuditRecord, Caller, Cursor, Listing, Page, ProcessingRecord};
pub use retention::{RETENTION_BATCH, RetentionReport};
pub use rollup::{Answered, FigurePath, REBUILD_BATCH};
pub use worklist::CommitmentPage;

/// How a call names the party whose contacts it pages through.
#[derive(Clone, Debug)]
pub enum PartyAsked {
    /// The party these identifiers lead to (at least one).
    Identifiers(Vec<IdentKey>),
    /// The party of this id.
    Id(Uuid),
}

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A rule refused the request.
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// The caller's credential is limited to other channels than the stored contact's
    /// (checked in the operation's transaction, before anything is read or changed).
    #[error("the credential may not act for contacts of channel {}", .0.as_str())]
    ChannelNotGranted(Channel),
    /// The database cannot be reached or is overloaded; the caller may retry.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// Anything else; details are logged, not shown to clients.
    #[error("store error: {0}")]
    Internal(String),
    /// The database holds migrations this binary does not know (these names): a newer
    /// midoffice migrated it. Nothing was applied or written.
    #[error(
        "the database was migrated by a newer midoffice: it holds the migration(s) {} that \
         this midoffice does not know; run a newer midoffice (nothing was changed)",
        .0.join(", ")
    )]
    NewerDatabase(Vec<String>),
}

/// An idempotency key (AIP-155) with the fingerprint of the request it came with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Idempotency {
    pub key: String,
    /// A hash of the whole request except the key; the same key with another
    /// fingerprint is INVALID_ARGUMENT on `request_id`.
    pub fingerprint: String,
}

impl Store {
    /// A plan's writes saved, and the figure units they touch refreshed (from `units`,
    /// the plan's own, when it holds them all: `rollup::after_writes`).
    async fn save_writes(
        &self,
        txn: &sea_orm::DatabaseTransaction,
        tenant: &TenantId,
        caller: Option<&Caller>,
        writes: &[Write],
        units: Option<&[midoffice_domain::plan::UnitAfter]>,
        settings: &TenantSettings,
    ) -> Result<(), StoreError> {
        write::save(txn, tenant, caller, writes).await?;
        rollup::after_writes(txn, tenant, writes, units, settings, &self.figure_states).await?;
        events::after_writes(self, txn, tenant, writes, units).await
    }

    /// A start's or a record's plan carried out: its writes saved, the figure units
    /// they touch refreshed, and the answer kept under the request id (if any).
    #[expect(
        clippy::too_many_arguments,
        reason = "the plan, and the call, request and settings it is saved under"
    )]
    async fn save_started(
        &self,
        txn: &sea_orm::DatabaseTransaction,
        tenant: &TenantId,
        caller: &Caller,
        settings: &TenantSettings,
        operation: &str,
        idem: Option<&Idempotency>,
        plan: start::StartPlan,
    ) -> Result<Started, StoreError> {
        self.save_writes(
            txn,
            tenant,
            Some(caller),
            &plan.writes,
            plan.units.as_deref(),
            settings,
        )
        .await?;
        let answer = Started {
            contact: plan.contact,
            context: plan.context,
        };
        idempotency::remember(
            txn,
            tenant,
            operation,
            idem,
            &answer,
            plan.subject,
            answer.contact.contact.id,
        )
        .await?;
        Ok(answer)
    }
}

/// The answer to a start or a record.
#[derive(Clone, Debug, PartialEq)]
pub struct Started {
    pub contact: ContactView,
    pub context: ContextView,
}

/// Whose processing records to list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DataSubject {
    /// The party these identifiers lead to (keyed hashes, as every request gives them).
    Identifiers(Vec<IdentKey>),
    /// A party id: the `data_subject_id` of a record (also of an erased party).
    Party(Uuid),
}

/// The answer to an erasure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Erased {
    pub party_id: Uuid,
    pub contacts_erased: u32,
}

/// The store.
#[derive(Clone, Debug)]
pub struct Store {
    pools: db::Pools,
    /// Tenant settings kept in memory with the version of their row, checked by every
    /// transaction that uses them (`Store::settings_of`): another process may change
    /// them (`midoffice demo` beside a running server on SQLite, another server on the
    /// same PostgreSQL).
    settings: std::sync::Arc<SettingsCache>,
    /// The tenants whose figure state row is known to exist (`rollup::KnownStates`).
    figure_states: std::sync::Arc<rollup::KnownStates>,
    /// Figure answers per period kept in memory (`figure_cache`).
    figure_cache: std::sync::Arc<figure_cache::FigureCache>,
    /// The event subscribers' names per tenant (`events`).
    subscribers: std::sync::Arc<events::Subscribers>,
}

/// Tenant settings read before, by tenant, each with its row's version
/// (`tenant_settings.updated_at`, which every replacement moves forward: see
/// [`next_settings_version`]; `None`: no row, the defaults). Only ever used after the
/// caller's transaction read the row's version and found it the same, so what is kept
/// can be old but is never used when old, whoever changed the row.
#[derive(Debug, Default)]
struct SettingsCache {
    by_tenant: std::sync::Mutex<KeptSettings>,
}

/// By tenant: the version of the row read and the settings it held.
type KeptSettings = std::collections::HashMap<String, (Option<i64>, TenantSettings)>;

impl SettingsCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, KeptSettings> {
        self.by_tenant.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The version kept for `tenant` (the one a transaction asks the row to differ
    /// from), or `None` when nothing is kept.
    fn version(&self, tenant: &TenantId) -> Option<Option<i64>> {
        self.lock().get(tenant.as_str()).map(|(v, _)| *v)
    }

    /// The settings kept for `tenant` if they are of `version`.
    fn get(&self, tenant: &TenantId, version: Option<i64>) -> Option<TenantSettings> {
        self.lock()
            .get(tenant.as_str())
            .filter(|(v, _)| *v == version)
            .map(|(_, s)| s.clone())
    }

    fn keep(&self, tenant: &TenantId, version: Option<i64>, settings: &TenantSettings) {
        self.lock()
            .insert(tenant.as_str().to_owned(), (version, settings.clone()));
    }
}

/// The version a replacement gives a settings row: its time in microseconds, but always
/// past the version it replaces (a clock that went back, or another process's clock
/// ahead), so a row never returns to a version a cache may hold.
fn next_settings_version(before: Option<i64>, now: i64) -> i64 {
    match before {
        Some(b) if b >= now => b.saturating_add(1),
        _ => now,
    }
}

/// A tenant's settings row in one statement by primary key: its version, and its
/// settings unless the version is `known` (then `NULL`: the caller keeps them).
const SETTINGS_UNLESS_KNOWN: &str = "SELECT updated_at, \
     CASE WHEN updated_at = ? THEN NULL ELSE settings END AS settings \
     FROM tenant_settings WHERE tenant = ?";

/// The operation names under which idempotency keys are kept.
const OP_START: &str = "start";
const OP_COMPLETE: &str = "complete";
const OP_RECORD: &str = "record";
const OP_FEEDBACK: &str = "feedback";

/// Instants at the precision the store keeps (microseconds), so an answer equals what
/// a later read returns.
fn trunc_start(mut s: StartCommand) -> StartCommand {
    s.started_at = trunc(s.started_at);
    s
}

fn trunc_completion(mut e: CompletionCommand) -> CompletionCommand {
    e.ended_at = trunc(e.ended_at);
    e.answered_at = e.answered_at.map(trunc);
    e.due_at = e.due_at.map(trunc);
    e
}

pub(crate) async fn settings_in<C: ConnectionTrait>(
    c: &C,
    tenant: &TenantId,
) -> Result<TenantSettings, StoreError> {
    let row = entity::tenant_settings::Entity::find_by_id(tenant.as_str().to_owned())
        .one(c)
        .await
        .map_err(db::db_err)?;
    match row {
        None => Ok(TenantSettings::default()),
        Some(r) => rows::settings::decode(&r.settings)
            .map_err(|e| rows::unreadable("tenant_settings.settings", &e)),
    }
}

/// Refuses ([`StoreError::ChannelNotGranted`]) a stored contact whose channel `channels`
/// does not hold; an unknown contact passes, for the plan to answer NOT_FOUND.
async fn check_channel<C: ConnectionTrait>(
    c: &C,
    tenant: &TenantId,
    contact_id: Uuid,
    channels: Option<&[Channel]>,
) -> Result<(), StoreError> {
    let Some(allowed) = channels else {
        return Ok(());
    };
    let Some(row) = facts::contact_row(c, tenant, contact_id).await? else {
        return Ok(());
    };
    let channel =
        Channel::parse(&row.channel).ok_or_else(|| convert::corrupt("contact.channel"))?;
    if allowed.contains(&channel) {
        Ok(())
    } else {
        Err(StoreError::ChannelNotGranted(channel))
    }
}

/// [`check_channel`] for a contact recording: a contact of a channel not granted is
/// refused after the contact (and its party) was found, so its party's record is
/// answered for `refused` (logged `Unset`), as GetContact does.
async fn check_recording_channel<C: ConnectionTrait>(
    c: &C,
    tenant: &TenantId,
    contact_id: Uuid,
    channels: Option<&[Channel]>,
    refused: &mut Option<Processing>,
) -> Result<(), StoreError> {
    let checked = check_channel(c, tenant, contact_id, channels).await;
    if let Err(StoreError::ChannelNotGranted(_)) = &checked {
        let party = facts::contact_row(c, tenant, contact_id)
            .await?
            .and_then(|r| r.party_id);
        let settings = settings_in(c, tenant).await?;
        *refused = processing(&settings, ProcessingKind::ContactRecording, party)
            .map(|p| p.for_contact(contact_id));
    }
    checked
}

/// The processing a plan's writes log, if any.
fn logged(writes: &[Write]) -> Option<Processing> {
    writes.iter().find_map(|w| match w {
        Write::LogProcessing(p) => Some(p.clone()),
        _ => None,
    })
}

/// Logs a read of personal data: the one call a read (a contact, a party's history)
/// makes, inside its write transaction, with the parties it showed. Answers the
/// processing, for [`Store::log_after_failure`] should the commit fail.
async fn log_read(
    txn: &sea_orm::DatabaseTransaction,
    tenant: &TenantId,
    caller: &Caller,
    settings: &TenantSettings,
    kind: ProcessingKind,
    subjects: impl IntoIterator<Item = Uuid>,
    contact: Option<Uuid>,
) -> Result<Option<Processing>, StoreError> {
    let writes: Vec<Write> = processing(settings, kind, subjects)
        .map(|p| Processing { contact, ..p })
        .map(Write::LogProcessing)
        .into_iter()
        .collect();
    write::save(txn, tenant, Some(caller), &writes).await?;
    Ok(logged(&writes))
}

/// A kept answer replayed shows its context again: that is a processing of the party it
/// shows, logged like the first.
async fn log_replayed<C: ConnectionTrait>(
    c: &C,
    tenant: &TenantId,
    caller: &Caller,
    answer: &Started,
) -> Result<(), StoreError> {
    let settings = settings_in(c, tenant).await?;
    if let Some(p) = processing(
        &settings,
        ProcessingKind::ContextRead,
        answer.context.party.id,
    )
    .map(|p| p.for_contact(answer.contact.contact.id))
    {
        processing_log::write(c, tenant, caller, &p, ProcessingStatus::Ok).await?;
    }
    Ok(())
}

/// A kept answer of a completion or a satisfaction answer replayed answers the contact
/// again: a contact recording of the party it was kept for, logged like the first.
async fn log_replayed_recording<C: ConnectionTrait>(
    c: &C,
    tenant: &TenantId,
    caller: &Caller,
    operation: &str,
    idem: Option<&Idempotency>,
    contact: Uuid,
) -> Result<(), StoreError> {
    let Some(idem) = idem else { return Ok(()) };
    let subject = idempotency::kept_party(c, tenant, operation, &idem.key).await?;
    let settings = settings_in(c, tenant).await?;
    if let Some(p) = processing(&settings, ProcessingKind::ContactRecording, subject)
        .map(|p| p.for_contact(contact))
    {
        processing_log::write(c, tenant, caller, &p, ProcessingStatus::Ok).await?;
    }
    Ok(())
}

impl Store {
    /// After a processing did not answer: a technical failure of a planned processing is
    /// logged `Error`, a refused input whose data subject was known `Unset`. The
    /// processing's own transaction is gone, so these are written in one of their own,
    /// best effort: if that fails too, the failure is logged (without the subject).
    async fn log_after_failure<T>(
        &self,
        tenant: &TenantId,
        caller: &Caller,
        result: &Result<T, StoreError>,
        planned: Option<Processing>,
        refused: Option<Processing>,
    ) {
        let (processing, status) = match result {
            Ok(_) => return,
            Err(StoreError::Domain(_) | StoreError::ChannelNotGranted(_)) => {
                (refused, ProcessingStatus::Unset)
            }
            Err(
                StoreError::Internal(_) | StoreError::Unavailable(_) | StoreError::NewerDatabase(_),
            ) => (planned, ProcessingStatus::Error),
        };
        let Some(processing) = processing else {
            return;
        };
        let written = db::bounded(async {
            let txn = self.pools.begin_write().await?;
            let r = processing_log::write(&txn, tenant, caller, &processing, status).await;
            db::finish(txn, r).await
        })
        .await;
        if let Err(e) = written {
            tracing::error!(
                tenant = %tenant,
                status = status.as_str(),
                error = %e,
                "processing log record could not be written after a failed processing"
            );
        }
    }

    /// Connects to `url` (`sqlite://path?mode=rwc` or `postgres://...`) and runs the
    /// migrations. SQLite runs in WAL mode with one writer connection.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        Store::connect_with(url, None).await
    }

    /// [`Store::connect`], with the figure reads (GetFigures, GetFigureSeries,
    /// GetThermometer, the pages, the domain metrics) on `figures_url` when it is given:
    /// a PostgreSQL hot standby of `url` (`database.read_url`). Writes, and the reads that
    /// decide writes, stay on `url`.
    pub async fn connect_with(url: &str, figures_url: Option<&str>) -> Result<Store, StoreError> {
        let pools = db::connect_with(url, figures_url).await?;
        Ok(Store {
            pools,
            settings: Default::default(),
            figure_states: Default::default(),
            figure_cache: Default::default(),
            subscribers: Default::default(),
        })
    }

    /// A tenant's settings through `c` (a transaction of the caller): one statement that
    /// reads the row's version (a primary-key look-up of one integer) and the settings
    /// only when they are not the ones kept in memory, so no transaction decodes them
    /// again and none uses settings another process (or this one) has replaced since.
    /// On SQLite a write transaction holds the one write lock and a read transaction its
    /// snapshot; on PostgreSQL a write holds the settings' shared lock (`lock.rs`): the
    /// version read is the one that stays in force until the transaction ends.
    async fn settings_of<C: ConnectionTrait>(
        &self,
        c: &C,
        tenant: &TenantId,
    ) -> Result<TenantSettings, StoreError> {
        let known = self.settings.version(tenant).flatten();
        let row = c
            .query_one_raw(rollup::statement(
                c.get_database_backend(),
                SETTINGS_UNLESS_KNOWN,
                vec![known.into(), tenant.as_str().into()],
            ))
            .await
            .map_err(db::db_err)?;
        let (version, json) = match &row {
            None => (None, None),
            Some(r) => (
                Some(r.try_get::<i64>("", "updated_at").map_err(db::db_err)?),
                r.try_get::<Option<String>>("", "settings")
                    .map_err(db::db_err)?,
            ),
        };
        if let Some(kept) = self.settings.get(tenant, version) {
            return Ok(kept);
        }
        let settings = match json {
            None if version.is_none() => TenantSettings::default(),
            // Kept settings of this version were dropped meanwhile (another call kept
            // another version): read them whole.
            None => settings_in(c, tenant).await?,
            Some(json) => rows::settings::decode(&json)
                .map_err(|e| rows::unreadable("tenant_settings.settings", &e))?,
        };
        self.settings.keep(tenant, version, &settings);
        Ok(settings)
    }

    /// A tenant's settings (the defaults until an admin replaced them), as stored: read
    /// from the database, not from the write path's memory.
    #[tracing::instrument(name = "store.settings", skip_all, fields(tenant = %tenant))]
    pub async fn settings(&self, tenant: &TenantId) -> Result<TenantSettings, StoreError> {
        db::bounded(settings_in(&self.pools.reader, tenant)).await
    }

    /// A tenant's settings, read through the figures' own pool (for figure calls).
    pub async fn figure_settings(&self, tenant: &TenantId) -> Result<TenantSettings, StoreError> {
        db::bounded(settings_in(&self.pools.figures, tenant)).await
    }

    /// The tenants that have stored settings.
    pub async fn tenants_with_settings(&self) -> Result<Vec<TenantId>, StoreError> {
        let rows = entity::tenant_settings::Entity::find()
            .select_only()
            .column(entity::tenant_settings::Column::Tenant)
            .into_tuple()
            .all(&self.pools.reader);
        let rows: Vec<String> = db::bounded(async { rows.await.map_err(db::db_err) }).await?;
        Ok(rows
            .iter()
            .filter_map(|t| TenantId::parse(t).ok())
            .collect())
    }

    /// Whether the tenant has any contact (`midoffice demo` fills only an empty tenant).
    pub async fn has_contacts(&self, tenant: &TenantId) -> Result<bool, StoreError> {
        use sea_orm::{ColumnTrait, QueryFilter};
        let row = entity::contact::Entity::find()
            .select_only()
            .column(entity::contact::Column::Id)
            .filter(entity::contact::Column::Tenant.eq(tenant.as_str()))
            .limit(1)
            .into_tuple::<Uuid>()
            .one(&self.pools.reader);
        db::bounded(async { row.await.map_err(db::db_err) })
            .await
            .map(|r| r.is_some())
    }

    /// Replaces a tenant's settings.
    #[tracing::instrument(name = "store.replace_settings", skip_all, fields(tenant = %tenant))]
    pub async fn replace_settings(
        &self,
        tenant: &TenantId,
        settings: TenantSettings,
    ) -> Result<TenantSettings, StoreError> {
        // Validated at the edge; the plan masks what is stored.
        let settings = midoffice_domain::plan::settings::plan_settings(settings);
        let json = rows::settings::encode(&settings).map_err(|e| {
            tracing::error!(error = %e, "cannot write the settings row");
            StoreError::Internal("cannot store the settings".into())
        })?;
        // Nothing kept is forgotten: the next transaction that reads the settings reads
        // the new version, and with it the new settings, in this process as in any other.
        in_write!(self, |txn, locks| {
            locks.settings(txn, tenant).await?;
            use entity::tenant_settings as ts;
            let before = settings_in(txn, tenant).await?;
            rollup::settings_replaced(txn, tenant, &before, &settings).await?;
            let version_before = ts::Entity::find_by_id(tenant.as_str().to_owned())
                .select_only()
                .column(ts::Column::UpdatedAt)
                .into_tuple::<i64>()
                .one(txn)
                .await
                .map_err(db::db_err)?;
            let row = ts::Model {
                tenant: tenant.as_str().to_owned(),
                settings: json.clone(),
                updated_at: next_settings_version(version_before, micros(convert::now())),
            };
            if version_before.is_some() {
                ts::Entity::update(row.into_active_model().reset_all())
                    .exec(txn)
                    .await
                    .map_err(db::db_err)?;
            } else {
                ts::Entity::insert(row.into_active_model())
                    .exec_without_returning(txn)
                    .await
                    .map_err(db::db_err)?;
            }
            Ok(settings.clone())
        })
    }

    /// A contact begins: find the party, merge, choose the case and store the contact,
    /// in one transaction; answer with the contact and its context.
    #[tracing::instrument(name = "store.start_contact", skip_all, fields(tenant = %tenant))]
    pub async fn start_contact(
        &self,
        tenant: &TenantId,
        caller: &Caller,
        start: StartCommand,
        idempotency: Option<Idempotency>,
    ) -> Result<Started, StoreError> {
        let start = trunc_start(start);
        let idem = idempotency.as_ref();
        let (mut planned, mut refused) = (None, None);
        let result = in_write!(self, |txn, locks| {
            (planned, refused) = (None, None);
            locks
                .request(txn, tenant, OP_START, idem, &start.identifiers)
                .await?;
            if let Some(answer) = idempotency::replay(txn, tenant, OP_START, idem).await? {
                log_replayed(txn, tenant, caller, &answer).await?;
                return Ok(answer);
            }
            let settings = self.settings_of(txn, tenant).await?;
            let facts = locks
                .load_start(
                    txn,
                    tenant,
                    &start.identifiers,
                    start.case_id,
                    &start::Needs::of_start(&start),
                    &settings,
                )
                .await?;
            let plan = match start::plan_start(&facts, &start, false, true) {
                Ok(plan) => plan,
                Err(e) => {
                    // Refused after the party was found (a case that is not its own,
                    // say): the party is logged `Unset`, as a refused record is.
                    refused = start::shown_processing(&facts, &start.identifiers, start.started_at)
                        .ok()
                        .flatten();
                    return Err(e.into());
                }
            };
            planned = logged(&plan.writes);
            self.save_started(txn, tenant, caller, &settings, OP_START, idem, plan)
                .await
        });
        self.log_after_failure(tenant, caller, &result, planned, refused)
            .await;
        result
    }

    /// The contact as stored now (NOT_FOUND if unknown); [`StoreError::ChannelNotGranted`]
    /// when `channels` (a credential limited to some channels) does not hold its channel,
    /// logged `Unset` like every refusal after the data subject was known.
    #[tracing::instrument(name = "store.get_contact", skip_all, fields(tenant = %tenant))]
    pub async fn get_contact(
        &self,
        tenant: &TenantId,
        caller: &Caller,
        id: Uuid,
        channels: Option<&[Channel]>,
    ) -> Result<ContactView, StoreError> {
        // The read is logged with it, in the same transaction.
        in_logged_read!(self, tenant, caller, |txn, planned, refused| {
            let row = facts::contact_row(txn, tenant, id)
                .await?
                .ok_or_else(|| StoreError::from(completion::contact_not_found()))?;
            let settings = self.settings_of(txn, tenant).await?;
            let contact = facts::contact_with_feedback(txn, tenant, &row).await?;
            if channels.is_some_and(|allowed| !allowed.contains(&contact.channel)) {
                // Refused after the data subject was known: logged `Unset`, not shown.
                refused = processing(&settings, ProcessingKind::ContactRead, contact.party_id)
                    .map(|p| p.for_contact(contact.id));
                return Err(StoreError::ChannelNotGranted(contact.channel));
            }
            let case = match contact.case_id {
                Some(id) => facts::case_facts(txn, tenant, id).await?,
                None => None,
            };
            let stored = case
                .as_ref()
                .and_then(|k| k.contacts.iter().find(|x| x.id == contact.id))
                .unwrap_or(&contact);
            planned = log_read(
                txn,
                tenant,
                caller,
                &settings,
                ProcessingKind::ContactRead,
                contact.party_id,
                Some(contact.id),
            )
            .await?;
            Ok(view::contact_view(stored, case.as_ref(), &settings))
        })
    }

    /// A contact completes. `completion` is the command, or the violations found in it
    /// at the edge: an unknown contact (NOT_FOUND) and a second completion
    /// (FAILED_PRECONDITION) are answered before the fields either way. `now` is the
    /// server clock. The completion records personal data about the contact's party and
    /// answers the contact: a contact recording, logged with it (also when a kept answer
    /// is replayed), `Unset` when refused after the contact was found.
    #[tracing::instrument(name = "store.complete_contact", skip_all, fields(tenant = %tenant))]
    pub async fn complete_contact(
        &self,
        tenant: &TenantId,
        caller: &Caller,
        id: Uuid,
        completion: Result<CompletionCommand, Violations>,
        idempotency: Option<Idempotency>,
        now: Instant,
    ) -> Result<ContactView, StoreError> {
        self.complete_contact_within(tenant, caller, id, None, completion, idempotency, now)
            .await
    }

    /// [`Store::complete_contact`] for a credential limited to `channels` (`None`: every
    /// channel): a contact of another channel is refused
    /// ([`StoreError::ChannelNotGranted`]) after an unknown one (NOT_FOUND) and before
    /// anything else, a replayed answer included.
    #[expect(
        clippy::too_many_arguments,
        reason = "the completion's own parts, and the call it is logged under"
    )]
    #[tracing::instrument(name = "store.complete_contact_within", skip_all, fields(tenant = %tenant))]
    pub async fn complete_contact_within(
        &self,
        tenant: &TenantId,
        caller: &Caller,
        id: Uuid,
        channels: Option<&[Channel]>,
        completion: Result<CompletionCommand, Violations>,
        idempotency: Option<Idempotency>,
        now: Instant,
    ) -> Result<ContactView, StoreError> {
        let completion = completion.map(trunc_completion);
        let idem = idempotency.as_ref();
        let (mut planned, mut refused) = (None, None);
        let result = in_write!(self, |txn, locks| {
            (planned, refused) = (None, None);
            locks.request(txn, tenant, OP_COMPLETE, idem, &[]).await?;
            check_recording_channel(txn, tenant, id, channels, &mut refused).await?;
            if let Some(answer) = idempotency::replay(txn, tenant, OP_COMPLETE, idem).await? {
                log_replayed_recording(txn, tenant, caller, OP_COMPLETE, idem, id).await?;
                return Ok(answer);
            }
            let settings = self.settings_of(txn, tenant).await?;
            let facts = locks
                .load_completion(txn, tenant, id, &settings, now)
                .await?;
            let subject = facts.contact.as_ref().and_then(|c| c.facts.party_id);
            let plan = match completion::plan_completion(&facts, completion.clone()) {
                Ok(plan) => plan,
                Err(e) => {
                    refused = processing(&settings, ProcessingKind::ContactRecording, subject)
                        .map(|p| p.for_contact(id));
                    return Err(e.into());
                }
            };
            self.save_writes(
                txn,
                tenant,
                None,
                &plan.writes,
                plan.units.as_deref(),
                &settings,
            )
            .await?;
            idempotency::remember(
                txn,
                tenant,
                OP_COMPLETE,
                idem,
                &plan.contact,
                plan.subject,
                id,
            )
            .await?;
            planned = log_read(
                txn,
                tenant,
                caller,
                &settings,
                ProcessingKind::ContactRecording,
                plan.subject,
                Some(id),
            )
            .await?;
            Ok(plan.contact)
        });
        self.log_after_failure(tenant, caller, &result, planned, refused)
            .await;
        result
    }

    /// Start and complete in one transaction, for a contact registered after the fact.
    #[expect(
        clippy::too_many_arguments,
        reason = "the start, the completion and how it was seen are the request's own parts"
    )]
    #[tracing::instrument(name = "store.record_contact", skip_all, fields(tenant = %tenant))]
    pub async fn record_contact(
        &self,
        tenant: &TenantId,
        caller: &Caller,
        start: StartCommand,
        completion: CompletionCommand,
        context_seen: bool,
        idempotency: Option<Idempotency>,
        now: Instant,
    ) -> Result<Started, StoreError> {
        let start = trunc_start(start);
        let completion = trunc_completion(completion);
        let idem = idempotency.as_ref();
        let (mut planned, mut refused) = (None, None);
        let result = in_write!(self, |txn, locks| {
            (planned, refused) = (None, None);
            locks
                .request(txn, tenant, OP_RECORD, idem, &start.identifiers)
                .await?;
            if let Some(answer) = idempotency::replay(txn, tenant, OP_RECORD, idem).await? {
                log_replayed(txn, tenant, caller, &answer).await?;
                return Ok(answer);
            }
            let settings = self.settings_of(txn, tenant).await?;
            let facts = completion::RecordFacts {
                start: locks
                    .load_start(
                        txn,
                        tenant,
                        &start.identifiers,
                        start.case_id,
                        &start::Needs::of_start(&start),
                        &settings,
                    )
                    .await?,
                fresh_case: Uuid::now_v7(),
                now,
            };
            // A completion that does not fit refuses the whole plan: nothing is stored,
            // and the party the start found is logged as refused (`Unset`).
            let plan =
                match completion::plan_record(&facts, &start, completion.clone(), context_seen) {
                    Ok(plan) => plan,
                    Err(e) => {
                        refused = start::plan_start(&facts.start, &start, true, context_seen)
                            .ok()
                            .and_then(|p| logged(&p.writes));
                        return Err(e.into());
                    }
                };
            planned = logged(&plan.writes);
            self.save_started(txn, tenant, caller, &settings, OP_RECORD, idem, plan)
                .await
        });
        self.log_after_failure(tenant, caller, &result, planned, refused)
            .await;
        result
    }

    /// The context of the party these identifiers lead to, as of `as_of`: the start plan
    /// of a contact with them, not saved. No identifiers find nothing (the API refuses an
    /// empty look-up before this).
    #[tracing::instrument(name = "store.lookup_context", skip_all, fields(tenant = %tenant))]
    pub async fn lookup_context(
        &self,
        tenant: &TenantId,
        caller: &Caller,
        identifiers: Vec<IdentKey>,
        as_of: Instant,
    ) -> Result<ContextView, StoreError> {
        let mut planned = None;
        let result = if self.pools.backend == sea_orm::DbBackend::Sqlite {
            // SQLite has one writer: the look-up reads on a reader connection (beside
            // other reads and the writer) and only its log records take the writer, in
            // a transaction of their own committed before the context is answered. A
            // failed log is an error, so no context is shown unlogged.
            let plan = db::bounded(async {
                let txn = self.pools.begin_read().await?;
                let result = self.plan_lookup(&txn, tenant, &identifiers, as_of).await;
                db::finish(txn, result).await
            })
            .await;
            match plan {
                Err(e) => Err(e),
                Ok(plan) => {
                    planned = logged(&plan.writes);
                    db::bounded(async {
                        let txn = self.pools.begin_write().await?;
                        let result = write::save(&txn, tenant, Some(caller), &plan.writes)
                            .await
                            .map(|()| plan.context);
                        db::finish(txn, result).await
                    })
                    .await
                }
            }
        } else {
            // The look-up is logged with it, in the same transaction.
            db::bounded(async {
                let txn = self.pools.begin_logged_read().await?;
                let result = async {
                    let plan = self.plan_lookup(&txn, tenant, &identifiers, as_of).await?;
                    planned = logged(&plan.writes);
                    write::save(&txn, tenant, Some(caller), &plan.writes).await?;
                    Ok(plan.context)
                }
                .await;
                db::finish(txn, result).await
            })
            .await
        };
        self.log_after_failure(tenant, caller, &result, planned, None)
            .await;
        result
    }

    /// The plan of a look-up (`start::plan_lookup`), from the facts it needs as of
    /// `as_of`, read in `txn`.
    async fn plan_lookup<C: ConnectionTrait>(
        &self,
        txn: &C,
        tenant: &TenantId,
        identifiers: &[IdentKey],
        as_of: Instant,
    ) -> Result<start::LookupPlan, StoreError> {
        let settings = self.settings_of(txn, tenant).await?;
        let needs = start::Needs::of_lookup(as_of);
        let facts =
            facts::load_start(txn, tenant, identifiers, None, Some(&needs), settings).await?;
        Ok(start::plan_lookup(&facts, identifiers, as_of)?)
    }

    /// A page of the contacts of the party asked for: the party these identifiers lead
    /// to (as a look-up at `as_of` finds it), or the party of this id (the one it was
    /// merged into, if it was; an erased one is NOT_FOUND); on one of its cases if
    /// `case_id` is given, newest first, after `after`, at most `size`. Changes nothing
    /// but the processing log.
    #[expect(
        clippy::too_many_arguments,
        reason = "the page's own parts, and the call it is logged under"
    )]
    #[tracing::instrument(name = "store.list_party_contacts", skip_all, fields(tenant = %tenant))]
    pub async fn list_party_contacts(
        &self,
        tenant: &TenantId,
        caller: &Caller,
        party: PartyAsked,
        case_id: Option<Uuid>,
        after: Option<view::ContactCursor>,
        size: usize,
        as_of: Instant,
    ) -> Result<view::ContactPage, StoreError> {
        let identifiers = match party {
            PartyAsked::Identifiers(identifiers) => identifiers,
            PartyAsked::Id(id) => {
                return self
                    .list_contacts_of_party(tenant, caller, id, case_id, after, size)
                    .await;
            }
        };
        // The page is a context read, logged with it in the same transaction.
        in_logged_read!(self, tenant, caller, |txn, planned, refused| {
            let settings = self.settings_of(txn, tenant).await?;
            // Every case: a page may reach back to the first contact.
            let facts = facts::load_start(txn, tenant, &identifiers, None, None, settings).await?;
            let page =
                match start::plan_contact_page(&facts, &identifiers, case_id, after, size, as_of) {
                    Ok(page) => page,
                    Err(e) => {
                        // Refused after the party was found (a case that is not its own):
                        // the party is logged `Unset`, as StartContact logs it.
                        refused = start::shown_processing(&facts, &identifiers, as_of)
                            .ok()
                            .flatten();
                        return Err(e.into());
                    }
                };
            // The parties shown: the party and those whose cases join it.
            let writes: Vec<Write> = start::shown_processing(&facts, &identifiers, as_of)?
                .map(Write::LogProcessing)
                .into_iter()
                .collect();
            write::save(txn, tenant, Some(caller), &writes).await?;
            planned = logged(&writes);
            Ok(page)
        })
    }

    /// [`Store::list_party_contacts`] of a party asked by its id.
    async fn list_contacts_of_party(
        &self,
        tenant: &TenantId,
        caller: &Caller,
        party_id: Uuid,
        case_id: Option<Uuid>,
        after: Option<view::ContactCursor>,
        size: usize,
    ) -> Result<view::ContactPage, StoreError> {
        in_logged_read!(self, tenant, caller, |txn, planned, refused| {
            let settings = self.settings_of(txn, tenant).await?;
            let row = facts::party_row(txn, tenant, party_id)
                .await?
                .filter(|p| p.erased_at.is_none())
                .ok_or(StoreError::Domain(DomainError::NotFound(Missing::Party)))?;
            let party = convert::party_summary(&row)?;
            let cases = facts::party_cases(txn, tenant, row.id).await?;
            let page = start::plan_party_page(&party, &cases, case_id, after, size, &settings)
                .inspect_err(|_| {
                    // Refused after the party was found: logged `Unset`.
                    refused = processing(&settings, ProcessingKind::ContextRead, [row.id]);
                })?;
            planned = log_read(
                txn,
                tenant,
                caller,
                &settings,
                ProcessingKind::ContextRead,
                [row.id],
                None,
            )
            .await?;
            Ok(page)
        })
    }

    /// A satisfaction answer for a completed contact; one per contact. The answer (a
    /// comment above all) is personal data about the contact's party: a contact
    /// recording, logged with it (also when a kept answer is replayed), `Unset` when
    /// refused after the contact was found.
    #[tracing::instrument(name = "store.submit_feedback", skip_all, fields(tenant = %tenant))]
    pub async fn submit_feedback(
        &self,
        tenant: &TenantId,
        caller: &Caller,
        contact_id: Uuid,
        feedback: Feedback,
        idempotency: Option<Idempotency>,
    ) -> Result<Feedback, StoreError> {
        self.submit_feedback_within(tenant, caller, contact_id, None, feedback, idempotency)
            .await
    }

    /// [`Store::submit_feedback`] for a credential limited to `channels` (`None`: every
    /// channel): feedback on a contact of another channel is refused
    /// ([`StoreError::ChannelNotGranted`]) after an unknown contact (NOT_FOUND) and
    /// before anything else, a replayed answer included.
    #[tracing::instrument(name = "store.submit_feedback_within", skip_all, fields(tenant = %tenant))]
    pub async fn submit_feedback_within(
        &self,
        tenant: &TenantId,
        caller: &Caller,
        contact_id: Uuid,
        channels: Option<&[Channel]>,
        feedback: Feedback,
        idempotency: Option<Idempotency>,
    ) -> Result<Feedback, StoreError> {
        let idem = idempotency.as_ref();
        let (mut planned, mut refused) = (None, None);
        let result = in_write!(self, |txn, locks| {
            (planned, refused) = (None, None);
            locks.request(txn, tenant, OP_FEEDBACK, idem, &[]).await?;
            check_recording_channel(txn, tenant, contact_id, channels, &mut refused).await?;
            if let Some(answer) = idempotency::replay(txn, tenant, OP_FEEDBACK, idem).await? {
                log_replayed_recording(txn, tenant, caller, OP_FEEDBACK, idem, contact_id).await?;
                return Ok(answer);
            }
            let settings = self.settings_of(txn, tenant).await?;
            let facts = locks.load_feedback(txn, tenant, contact_id).await?;
            let subject = facts.contact.as_ref().and_then(|c| c.party_id);
            let plan = match feedback_plan::plan_feedback(&facts, &feedback) {
                Ok(plan) => plan,
                Err(e) => {
                    refused = processing(&settings, ProcessingKind::ContactRecording, subject)
                        .map(|p| p.for_contact(contact_id));
                    return Err(e.into());
                }
            };
            self.save_writes(
                txn,
                tenant,
                None,
                &plan.writes,
                plan.units.as_deref(),
                &settings,
            )
            .await?;
            idempotency::remember(
                txn,
                tenant,
                OP_FEEDBACK,
                idem,
                &plan.answer,
                plan.subject,
                contact_id,
            )
            .await?;
            planned = log_read(
                txn,
                tenant,
                caller,
                &settings,
                ProcessingKind::ContactRecording,
                plan.subject,
                Some(contact_id),
            )
            .await?;
            Ok(plan.answer)
        });
        self.log_after_failure(tenant, caller, &result, planned, refused)
            .await;
        result
    }

    /// Erases the party these identifiers lead to, with every answer kept for an
    /// idempotency key that concerns it. No identifiers find nobody: NOT_FOUND (the API
    /// refuses an empty erasure before this).
    #[tracing::instrument(name = "store.erase_party", skip_all, fields(tenant = %tenant))]
    pub async fn erase_party(
        &self,
        tenant: &TenantId,
        caller: &Caller,
        identifiers: Vec<IdentKey>,
    ) -> Result<Erased, StoreError> {
        // On the heap: the erasure's future (locks, facts, plan, save, scrub) is large,
        // and in a debug build its span's wrapping took a caller's stack past 2 MiB.
        Box::pin(self.erase(tenant, caller, identifiers)).await
    }

    async fn erase(
        &self,
        tenant: &TenantId,
        caller: &Caller,
        identifiers: Vec<IdentKey>,
    ) -> Result<Erased, StoreError> {
        let mut planned = None;
        let result = in_write!(self, |txn, locks| {
            planned = None;
            locks
                .request(txn, tenant, "erase", None, &identifiers)
                .await?;
            let settings = self.settings_of(txn, tenant).await?;
            let facts = locks
                .load_erase(txn, tenant, &identifiers, &settings)
                .await?;
            let plan = erase::plan_erase(&facts, &identifiers)?;
            planned = logged(&plan.writes);
            write::save(txn, tenant, Some(caller), &plan.writes).await?;
            Ok(Erased {
                party_id: plan.party_id,
                contacts_erased: plan.contacts_erased,
            })
        });
        self.log_after_failure(tenant, caller, &result, planned, None)
            .await;
        let erased = result?;
        // Committed: now the old copies of what was cleared leave the files.
        self.pools.scrub_after_erase().await;
        Ok(erased)
    }

    /// A page of the processing log: of the data subject these identifiers lead to (the
    /// party and every party ever merged into it), of a party id (a `data_subject_id`
    /// of an earlier record), or of everyone, in `listing`'s period. Identifiers that
    /// find nobody (an erased party's are gone) list nothing; weak identifiers shared by
    /// more than one party are FAILED_PRECONDITION (`PartyAmbiguous`), never the records
    /// of every owner. Listing one data subject's records is itself a processing of
    /// that subject (an access request): logged with it, in the same transaction.
    #[tracing::instrument(name = "store.processing_records", skip_all, fields(tenant = %tenant))]
    pub async fn processing_records(
        &self,
        tenant: &TenantId,
        caller: &Caller,
        subject: Option<DataSubject>,
        mut listing: Listing,
    ) -> Result<Page<ProcessingRecord>, StoreError> {
        in_logged_read!(self, tenant, caller, |txn, planned, refused| {
            // The data subjects of the request (the survivors), and every party id
            // their records may be under.
            let mut asked = None;
            let (persons, families) = match subject {
                None => (Vec::new(), None),
                Some(DataSubject::Identifiers(ids)) => {
                    // One person, as an erasure finds them; shared identifiers refused.
                    let known = facts::known_parties(txn, tenant, &ids).await?;
                    let persons = midoffice_domain::processing::access_subjects(&ids, &known)?;
                    let mut all = Vec::new();
                    for p in &persons {
                        all.extend(facts::merged_family(txn, tenant, *p).await?);
                    }
                    (persons, Some(all))
                }
                Some(DataSubject::Party(id)) => {
                    // An unknown id lists only its own records (an erased party's).
                    asked = Some(id);
                    let survivor = facts::party_row(txn, tenant, id).await?.map(|p| p.id);
                    let family = facts::merged_family(txn, tenant, survivor.unwrap_or(id)).await?;
                    (survivor.into_iter().collect(), Some(family))
                }
            };
            let by_id = families.is_some();
            listing.subjects = families;
            let page = processing_log::list_records(txn, tenant, &listing).await?;
            // A known person, or an id with records (an erased party's): logged.
            let mut logged_subjects = persons;
            if logged_subjects.is_empty() && !page.items.is_empty() {
                logged_subjects.extend(asked);
            }
            if by_id {
                let settings = self.settings_of(txn, tenant).await?;
                planned = log_read(
                    txn,
                    tenant,
                    caller,
                    &settings,
                    ProcessingKind::AccessRequest,
                    logged_subjects,
                    None,
                )
                .await?;
            }
            Ok(page)
        })
    }

    /// A page of the audit records: of one trace (and span), or of `listing`'s period.
    #[tracing::instrument(name = "store.audit_records", skip_all, fields(tenant = %tenant))]
    pub async fn audit_records(
        &self,
        tenant: &TenantId,
        trace_id: Option<[u8; 16]>,
        span_id: Option<[u8; 8]>,
        listing: Listing,
    ) -> Result<Page<AuditRecord>, StoreError> {
        db::bounded(async {
            let txn = self.pools.begin_read().await?;
            let result =
                processing_log::list_audit(&txn, tenant, trace_id, span_id, &listing).await;
            db::finish(txn, result).await
        })
        .await
    }

    /// Up to `limit` processing records the OTLP collector has not acknowledged yet, of
    /// every tenant, oldest first (the outbox of the exporter).
    pub async fn unexported_records(
        &self,
        limit: u64,
    ) -> Result<Vec<ProcessingRecord>, StoreError> {
        db::bounded(async {
            let txn = self.pools.begin_read().await?;
            let result = processing_log::unexported(&txn, limit).await;
            db::finish(txn, result).await
        })
        .await
    }

    /// Marks records as acknowledged by the collector, one transaction per tenant.
    pub async fn mark_exported(&self, records: &[ProcessingRecord]) -> Result<(), StoreError> {
        let mut tenants: Vec<&TenantId> = records.iter().map(|r| &r.tenant).collect();
        tenants.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        tenants.dedup();
        let at = convert::now();
        for tenant in tenants {
            let mine: Vec<ProcessingRecord> = records
                .iter()
                .filter(|r| &r.tenant == tenant)
                .cloned()
                .collect();
            db::bounded(async {
                let txn = self.pools.begin_write().await?;
                let result = processing_log::mark_exported(&txn, &mine, at).await;
                db::finish(txn, result).await
            })
            .await?;
        }
        Ok(())
    }

    /// The facts the figures of a period need.
    pub async fn figure_facts(
        &self,
        tenant: &TenantId,
        window: LoadWindow,
    ) -> Result<FigureFacts, StoreError> {
        db::bounded_figures(&self.pools, async |txn| {
            let result = rollup::load_figure_facts(&txn, tenant, window).await;
            db::finish(txn, result).await
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::next_settings_version;

    #[test]
    fn a_settings_version_only_moves_forward() {
        assert_eq!(next_settings_version(None, 1_000), 1_000);
        assert_eq!(next_settings_version(Some(900), 1_000), 1_000);
        // The clock went back, or stood still: one past the row's version.
        assert_eq!(next_settings_version(Some(1_000), 1_000), 1_001);
        assert_eq!(next_settings_version(Some(5_000), 1_000), 5_001);
    }
}
