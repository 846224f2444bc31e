//! Persistence for the midoffice: sea-orm entities and migrations that run unchanged on
//! SQLite and PostgreSQL, and the transactions that load the facts a rule needs, let
//! `midoffice-domain` decide, and save what it decided.
//!
//! The [`Store`] is the one narrow interface the API uses.
//!
//! Module map: [`entity`] (tables), [`migration`] (schema), `db` (pools, transactions,
//! error mapping), `facts` (loading), `ops` (the work inside a write transaction),
//! `idempotency` (AIP-155 keys), `convert` (rows to facts), [`rows`] (the versioned JSON
//! formats of settings and kept answers), `dburl` (the SQLite file of a database URL,
//! and URLs with their password masked).

use midoffice_domain::command::{EndCommand, StartCommand};
use midoffice_domain::contact::Feedback;
use midoffice_domain::figures::{FigureFacts, LoadWindow};
use midoffice_domain::identifier::IdentKey;
use midoffice_domain::settings::TenantSettings;
use midoffice_domain::view::{self, ContactView, ContextView};
use midoffice_domain::{DomainError, Instant, TenantId};
use uuid::Uuid;

mod convert;
mod db;
mod dburl;
pub mod entity;
mod facts;
mod idempotency;
pub mod migration;
mod ops;
pub mod rows;

use convert::{micros, trunc};
use midoffice_domain::contact::Direction;
use midoffice_domain::signals::Probe;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QuerySelect,
};
use std::collections::BTreeMap;

pub use dburl::{redact_url, sqlite_path};
pub use ops::ERASED_TEXT;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A rule refused the request.
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// The database cannot be reached or is overloaded; the caller may retry.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// Anything else; details are logged, not shown to clients.
    #[error("store error: {0}")]
    Internal(String),
}

/// An idempotency key (AIP-155) with the fingerprint of the request it came with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Idempotency {
    pub key: String,
    /// A hash of the whole request except the key; the same key with another
    /// fingerprint is INVALID_ARGUMENT on `request_id`.
    pub fingerprint: String,
}

/// The answer to a start or a record.
#[derive(Clone, Debug, PartialEq)]
pub struct Started {
    pub contact: ContactView,
    pub context: ContextView,
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
}

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

fn trunc_end(mut e: EndCommand) -> EndCommand {
    e.ended_at = trunc(e.ended_at);
    e.answered_at = e.answered_at.map(trunc);
    e.due_at = e.due_at.map(trunc);
    e
}

async fn settings_in<C: ConnectionTrait>(
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

impl Store {
    /// Connects to `url` (`sqlite://path?mode=rwc` or `postgres://...`) and runs the
    /// migrations. SQLite runs in WAL mode with one writer connection.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        Ok(Store {
            pools: db::connect(url).await?,
        })
    }

    /// A tenant's settings (the defaults until an admin replaced them).
    pub async fn settings(&self, tenant: &TenantId) -> Result<TenantSettings, StoreError> {
        settings_in(&self.pools.reader, tenant).await
    }

    /// Replaces a tenant's settings.
    pub async fn replace_settings(
        &self,
        tenant: &TenantId,
        settings: TenantSettings,
    ) -> Result<TenantSettings, StoreError> {
        let json = rows::settings::encode(&settings).map_err(|e| {
            tracing::error!(error = %e, "cannot write the settings row");
            StoreError::Internal("cannot store the settings".into())
        })?;
        let txn = self.pools.begin_write(tenant).await?;
        let result = async {
            use entity::tenant_settings as ts;
            let row = ts::Model {
                tenant: tenant.as_str().to_owned(),
                settings: json,
                updated_at: micros(convert::now()),
            };
            let exists = ts::Entity::find_by_id(row.tenant.clone())
                .one(&txn)
                .await
                .map_err(db::db_err)?
                .is_some();
            if exists {
                ts::Entity::update(row.into_active_model().reset_all())
                    .exec(&txn)
                    .await
                    .map_err(db::db_err)?;
            } else {
                ts::Entity::insert(row.into_active_model())
                    .exec_without_returning(&txn)
                    .await
                    .map_err(db::db_err)?;
            }
            Ok(settings)
        }
        .await;
        db::finish(txn, result).await
    }

    /// A contact begins: find the party, merge, choose the case and store the contact,
    /// in one transaction; answer with the contact and its context.
    pub async fn start_contact(
        &self,
        tenant: &TenantId,
        start: StartCommand,
        idempotency: Option<Idempotency>,
    ) -> Result<Started, StoreError> {
        let start = trunc_start(start);
        let idem = idempotency.as_ref();
        let txn = self.pools.begin_write(tenant).await?;
        let result = async {
            if let Some(answer) = idempotency::replay(&txn, tenant, OP_START, idem).await? {
                return Ok(answer);
            }
            let settings = settings_in(&txn, tenant).await?;
            let done = ops::start(&txn, tenant, &start, &settings, false, true).await?;
            let contact = view::contact_view(&done.contact, done.case.as_ref(), &settings);
            let answer = Started {
                contact,
                context: done.context,
            };
            let party = answer.contact.contact.party_id;
            idempotency::remember(&txn, tenant, OP_START, idem, &answer, party).await?;
            Ok(answer)
        }
        .await;
        db::finish(txn, result).await
    }

    /// The contact as stored now (NOT_FOUND if unknown).
    pub async fn get_contact(
        &self,
        tenant: &TenantId,
        id: Uuid,
    ) -> Result<ContactView, StoreError> {
        let txn = self.pools.begin_read().await?;
        let result = async {
            let row = facts::contact_row(&txn, tenant, id)
                .await?
                .ok_or_else(ops::contact_not_found)?;
            let settings = settings_in(&txn, tenant).await?;
            let contact = facts::contact_with_feedback(&txn, tenant, &row).await?;
            ops::contact_view(&txn, tenant, &contact, &settings).await
        }
        .await;
        db::finish(txn, result).await
    }

    /// A contact ends. NOT_FOUND, then FAILED_PRECONDITION if completed already, are
    /// checked before the fields. `now` is the server clock.
    pub async fn complete_contact(
        &self,
        tenant: &TenantId,
        id: Uuid,
        end: EndCommand,
        idempotency: Option<Idempotency>,
        now: Instant,
    ) -> Result<ContactView, StoreError> {
        let end = trunc_end(end);
        let idem = idempotency.as_ref();
        let txn = self.pools.begin_write(tenant).await?;
        let result = async {
            if let Some(answer) = idempotency::replay(&txn, tenant, OP_COMPLETE, idem).await? {
                return Ok(answer);
            }
            let settings = settings_in(&txn, tenant).await?;
            let contact = ops::complete_by_id(&txn, tenant, id, end, now, &settings).await?;
            let answer = ops::contact_view(&txn, tenant, &contact, &settings).await?;
            let party = answer.contact.party_id;
            idempotency::remember(&txn, tenant, OP_COMPLETE, idem, &answer, party).await?;
            Ok(answer)
        }
        .await;
        db::finish(txn, result).await
    }

    /// Start and complete in one transaction, for a contact registered after the fact.
    pub async fn record_contact(
        &self,
        tenant: &TenantId,
        start: StartCommand,
        end: EndCommand,
        context_seen: bool,
        idempotency: Option<Idempotency>,
        now: Instant,
    ) -> Result<Started, StoreError> {
        let start = trunc_start(start);
        let end = trunc_end(end);
        let idem = idempotency.as_ref();
        let txn = self.pools.begin_write(tenant).await?;
        let result = async {
            if let Some(answer) = idempotency::replay(&txn, tenant, OP_RECORD, idem).await? {
                return Ok(answer);
            }
            let settings = settings_in(&txn, tenant).await?;
            // Everything happens in this transaction: an end that does not fit the
            // contact fails below and rolls the start back with it, so nothing is stored.
            let done = ops::start(&txn, tenant, &start, &settings, true, context_seen).await?;
            let contact =
                ops::complete_by_id(&txn, tenant, done.contact.id, end, now, &settings).await?;
            let contact = ops::contact_view(&txn, tenant, &contact, &settings).await?;
            let answer = Started {
                contact,
                context: done.context,
            };
            let party = answer.contact.contact.party_id;
            idempotency::remember(&txn, tenant, OP_RECORD, idem, &answer, party).await?;
            Ok(answer)
        }
        .await;
        db::finish(txn, result).await
    }

    /// The context of the party these identifiers lead to, as of `as_of`. Stores nothing.
    /// No identifiers find nothing (the API refuses an empty look-up before this).
    pub async fn lookup_context(
        &self,
        tenant: &TenantId,
        identifiers: Vec<IdentKey>,
        as_of: Instant,
    ) -> Result<ContextView, StoreError> {
        let probe = Probe {
            contact_id: None,
            at: as_of,
            channel: None,
            direction: Direction::Inbound,
            department: None,
        };
        let txn = self.pools.begin_read().await?;
        let result = async {
            let settings = settings_in(&txn, tenant).await?;
            ops::lookup(&txn, tenant, &identifiers, &probe, &settings).await
        }
        .await;
        db::finish(txn, result).await
    }

    /// A satisfaction answer for a completed contact; one per contact.
    pub async fn submit_feedback(
        &self,
        tenant: &TenantId,
        contact_id: Uuid,
        feedback: Feedback,
        idempotency: Option<Idempotency>,
    ) -> Result<Feedback, StoreError> {
        let idem = idempotency.as_ref();
        let txn = self.pools.begin_write(tenant).await?;
        let result = async {
            if let Some(answer) = idempotency::replay(&txn, tenant, OP_FEEDBACK, idem).await? {
                return Ok(answer);
            }
            let (answer, party) = ops::feedback(&txn, tenant, contact_id, &feedback).await?;
            idempotency::remember(&txn, tenant, OP_FEEDBACK, idem, &answer, party).await?;
            Ok(answer)
        }
        .await;
        db::finish(txn, result).await
    }

    /// Erases the party these identifiers lead to, with every answer kept for an
    /// idempotency key that concerns it. No identifiers find nobody: NOT_FOUND (the API
    /// refuses an empty erasure before this).
    pub async fn erase_party(
        &self,
        tenant: &TenantId,
        identifiers: Vec<IdentKey>,
    ) -> Result<Erased, StoreError> {
        let txn = self.pools.begin_write(tenant).await?;
        let result = ops::erase(&txn, tenant, &identifiers).await;
        db::finish(txn, result).await
    }

    /// The facts the figures of a period need.
    pub async fn figure_facts(
        &self,
        tenant: &TenantId,
        window: LoadWindow,
    ) -> Result<FigureFacts, StoreError> {
        use entity::contact;
        let txn = self.pools.begin_read().await?;
        let result = async {
            let t = tenant.as_str();
            let rows = contact::Entity::find()
                .filter(contact::Column::Tenant.eq(t))
                .filter(contact::Column::StartedAt.gte(micros(window.starts_from)))
                .filter(contact::Column::StartedAt.lt(micros(window.starts_to)))
                .all(&txn)
                .await
                .map_err(db::db_err)?;
            let due: Vec<Option<Uuid>> = contact::Entity::find()
                .select_only()
                .column(contact::Column::CaseId)
                .filter(contact::Column::Tenant.eq(t))
                .filter(contact::Column::DueAt.gt(micros(window.due_after)))
                .filter(contact::Column::DueAt.lte(micros(window.due_until)))
                .filter(contact::Column::CaseId.is_not_null())
                .into_tuple()
                .all(&txn)
                .await
                .map_err(db::db_err)?;
            let case_ids: std::collections::BTreeSet<Uuid> = rows
                .iter()
                .filter_map(|r| r.case_id)
                .chain(due.into_iter().flatten())
                .collect();
            let case_ids: Vec<Uuid> = case_ids.into_iter().collect();
            let cases = facts::cases_by_id(&txn, tenant, &case_ids).await?;
            let contacts = facts::contacts_as_facts(&txn, tenant, &rows).await?;
            Ok(FigureFacts {
                contacts,
                cases: cases
                    .into_iter()
                    .map(|k| (k.id, k))
                    .collect::<BTreeMap<_, _>>(),
            })
        }
        .await;
        db::finish(txn, result).await
    }
}
