//! Persistence for the midoffice: sea-orm entities and migrations that run unchanged on
//! SQLite and PostgreSQL, and the transactions that load the facts a rule needs, let
//! `midoffice-domain` decide, and save what it decided.
//!
//! The [`Store`] is the one narrow interface the API uses.
//!
//! SKELETON: the public signatures are fixed; bodies to be written.

use midoffice_domain::command::{EndCommand, StartCommand};
use midoffice_domain::contact::Feedback;
use midoffice_domain::figures::{FigureFacts, LoadWindow};
use midoffice_domain::identifier::IdentKey;
use midoffice_domain::settings::TenantSettings;
use midoffice_domain::view::{ContactView, ContextView};
use midoffice_domain::{DomainError, Instant, TenantId};
use uuid::Uuid;

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
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Started {
    pub contact: ContactView,
    pub context: ContextView,
}

/// The answer to an erasure.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Erased {
    pub party_id: Uuid,
    pub contacts_erased: u32,
}

/// The store.
#[derive(Clone, Debug)]
pub struct Store {}

impl Store {
    /// Connects to `url` (`sqlite://path?mode=rwc` or `postgres://...`) and runs the
    /// migrations. SQLite runs in WAL mode with one writer connection.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        let _ = url;
        todo!()
    }

    /// A tenant's settings (the defaults until an admin replaced them).
    pub async fn settings(&self, tenant: &TenantId) -> Result<TenantSettings, StoreError> {
        let _ = tenant;
        todo!()
    }

    /// Replaces a tenant's settings.
    pub async fn replace_settings(
        &self,
        tenant: &TenantId,
        settings: TenantSettings,
    ) -> Result<TenantSettings, StoreError> {
        let _ = (tenant, settings);
        todo!()
    }

    /// A contact begins: find the party, merge, choose the case and store the contact,
    /// in one transaction; answer with the contact and its context.
    pub async fn start_contact(
        &self,
        tenant: &TenantId,
        start: StartCommand,
        idempotency: Option<Idempotency>,
    ) -> Result<Started, StoreError> {
        let _ = (tenant, start, idempotency);
        todo!()
    }

    /// The contact as stored now (NOT_FOUND if unknown).
    pub async fn get_contact(&self, tenant: &TenantId, id: Uuid) -> Result<ContactView, StoreError> {
        let _ = (tenant, id);
        todo!()
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
        let _ = (tenant, id, end, idempotency, now);
        todo!()
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
        let _ = (tenant, start, end, context_seen, idempotency, now);
        todo!()
    }

    /// The context of the party these identifiers lead to, as of `as_of`. Stores nothing.
    pub async fn lookup_context(
        &self,
        tenant: &TenantId,
        identifiers: Vec<IdentKey>,
        as_of: Instant,
    ) -> Result<ContextView, StoreError> {
        let _ = (tenant, identifiers, as_of);
        todo!()
    }

    /// A satisfaction answer for a completed contact; one per contact.
    pub async fn submit_feedback(
        &self,
        tenant: &TenantId,
        contact_id: Uuid,
        feedback: Feedback,
        idempotency: Option<Idempotency>,
    ) -> Result<Feedback, StoreError> {
        let _ = (tenant, contact_id, feedback, idempotency);
        todo!()
    }

    /// Erases the party these identifiers lead to.
    pub async fn erase_party(
        &self,
        tenant: &TenantId,
        identifiers: Vec<IdentKey>,
    ) -> Result<Erased, StoreError> {
        let _ = (tenant, identifiers);
        todo!()
    }

    /// The facts the figures of a period need.
    pub async fn figure_facts(
        &self,
        tenant: &TenantId,
        window: LoadWindow,
    ) -> Result<FigureFacts, StoreError> {
        let _ = (tenant, window);
        todo!()
    }
}
