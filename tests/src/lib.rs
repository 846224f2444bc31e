//! The harness of the black-box tests in `tests/*.rs`: a real server on a real socket,
//! over a fresh database per test, talked to through the generated gRPC clients.
//!
//! [`database_test!`] declares a test as two, `<name>::sqlite` and `<name>::postgres`;
//! [`on_backend`] runs its body on a [`Backend`] over a fresh database of that kind (the
//! PostgreSQL one on the server `MIDOFFICE_TEST_DATABASE_URL` names, such as
//! `postgres://postgres@127.0.0.1:5432/postgres`) and cleans up even when the body
//! panics. Without that variable the PostgreSQL halves are reported `ignored`. Quiet by
//! default; `TEST_LOG=1` shows the server's logs.

pub mod http;

use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, Once};

use midoffice_api::pb::commitment_service_client::CommitmentServiceClient;
use midoffice_api::pb::contact_service_client::ContactServiceClient;
use midoffice_api::pb::figure_service_client::FigureServiceClient;
use midoffice_api::pb::party_service_client::PartyServiceClient;
use midoffice_api::pb::processing_log_service_client::ProcessingLogServiceClient;
use midoffice_api::pb::tenant_service_client::TenantServiceClient;
use midoffice_api::server::{AppState, RunningServer};
use midoffice_domain::identifier::Pseudonymiser;
use midoffice_scenarios::scratch::{ScratchDb, test_secret};
use midoffice_store::Store;
use tonic::transport::{Channel, ClientTlsConfig, Endpoint};

pub use midoffice_api::auth::Access;
pub use midoffice_api::server::Tls;

pub use midoffice_api::pb;
pub use midoffice_scenarios::database_test;
pub use midoffice_scenarios::scratch::TestDatabase;

/// The environment variable that names a PostgreSQL server to test against.
pub use midoffice_scenarios::scratch::DATABASE_URL_VAR;

/// The environment variable that, set to `1`, makes a missing [`DATABASE_URL_VAR`] fail
/// the tests instead of skipping PostgreSQL.
pub use midoffice_scenarios::scratch::REQUIRE_POSTGRES_VAR;

/// The metadata key that names the tenant of a call.
pub const TENANT_HEADER: &str = "x-tenant";

/// The tenant most tests act for.
pub const TENANT: &str = "gemeente-a";

/// Which database a backend runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
}

/// A running server over its own fresh database, with a connected channel.
pub struct Backend {
    /// The database under the server.
    pub kind: Kind,
    url: String,
    /// The pages' own address, when they have one.
    pages_addr: Option<String>,
    db_url: String,
    channel: Channel,
    client_tls: Option<ClientTlsConfig>,
    server: Mutex<Option<RunningServer>>,
    db: Mutex<Option<ScratchDb>>,
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backend")
            .field("kind", &self.kind)
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// Runs `test` on a server over a fresh database of `database` (one half of a
/// [`database_test!`]), and cleans up (server stopped, PostgreSQL database dropped)
/// whatever the outcome; a failure says which database it happened on.
pub async fn on_backend<F, Fut>(database: TestDatabase, test: F)
where
    F: FnOnce(Arc<Backend>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    on_backend_with(database, Setup::default(), test).await;
}

/// How the server of a test is started: development access without TLS by default.
#[derive(Debug, Default)]
pub struct Setup {
    /// How calls are authenticated.
    pub access: Access,
    /// The origins allowed to call the JSON API from a browser (CORS).
    pub cors: midoffice_api::json::Cors,
    /// TLS on the server.
    pub tls: Option<Tls>,
    /// How the shared channel connects when the server has TLS (CA, client identity).
    pub client_tls: Option<ClientTlsConfig>,
    /// The pages (thermometer, dashboard) on a second address of their own
    /// ([`Backend::pages_addr`]) instead of the gRPC port.
    pub pages_apart: bool,
}

/// [`on_backend`] with a server started as `setup` says (configured access, TLS).
pub async fn on_backend_with<F, Fut>(database: TestDatabase, setup: Setup, test: F)
where
    F: FnOnce(Arc<Backend>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    init_logging();
    let db = database
        .scratch()
        .await
        .unwrap_or_else(|e| panic!("cannot make a scratch database on {database}: {e}"));
    let kind = match database {
        TestDatabase::Sqlite => Kind::Sqlite,
        TestDatabase::Postgres(_) => Kind::Postgres,
    };
    let backend = Arc::new(Backend::launch(kind, db, setup).await);
    // Run on its own task, so a panic comes back as a value and clean-up still runs.
    let outcome = tokio::spawn(test(Arc::clone(&backend))).await;
    backend.finish().await;
    if let Err(e) = outcome {
        eprintln!("the test failed on {database}");
        match e.try_into_panic() {
            Ok(payload) => std::panic::resume_unwind(payload),
            Err(e) => panic!("the test did not finish on {database}: {e}"),
        }
    }
}

impl Backend {
    async fn launch(kind: Kind, db: ScratchDb, setup: Setup) -> Backend {
        let store = Store::connect(&db.url)
            .await
            .unwrap_or_else(|e| panic!("Store::connect on {kind:?} failed: {e}"));
        let pseudonymiser = Pseudonymiser::new(&test_secret());
        let tls = setup.tls.is_some();
        let server = midoffice_api::server::spawn_on(
            AppState {
                store,
                pseudonymiser,
                access: setup.access,
                cors: setup.cors,
                benchmark: Default::default(),
            },
            setup.tls,
            setup.pages_apart,
        )
        .await
        .unwrap_or_else(|e| panic!("the server did not start on {kind:?}: {e}"));
        let url = if tls {
            format!("https://localhost:{}", server.addr.port())
        } else {
            server.url()
        };
        let channel = connect_with(&url, setup.client_tls.clone()).await;
        let pages_addr = server.pages_addr.map(|a| a.to_string());
        Backend {
            kind,
            url,
            pages_addr,
            db_url: db.url.clone(),
            channel,
            client_tls: setup.client_tls,
            server: Mutex::new(Some(server)),
            db: Mutex::new(Some(db)),
        }
    }

    /// The server's base URL, `http://127.0.0.1:PORT` (`https://localhost:PORT` with TLS).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The server's socket address, `127.0.0.1:PORT`.
    pub fn addr(&self) -> &str {
        self.url
            .trim_start_matches("http://")
            .trim_start_matches("https://")
    }

    /// Where the pages are served: their own address when the setup gave them one,
    /// else the gRPC port's ([`Backend::addr`]).
    pub fn pages_addr(&self) -> &str {
        self.pages_addr.as_deref().unwrap_or_else(|| self.addr())
    }

    /// The URL of the database under the server.
    pub fn db_url(&self) -> &str {
        &self.db_url
    }

    /// The SQLite database file; `None` on PostgreSQL.
    pub fn sqlite_file(&self) -> Option<PathBuf> {
        let rest = self.db_url.strip_prefix("sqlite://")?;
        let path = rest.split('?').next().unwrap_or(rest);
        Some(PathBuf::from(path))
    }

    /// The shared channel (one HTTP/2 connection).
    pub fn channel(&self) -> Channel {
        self.channel.clone()
    }

    /// A new connection of its own, for calls that must not share one.
    pub async fn new_channel(&self) -> Channel {
        connect_with(&self.url, self.client_tls.clone()).await
    }

    /// A contact client on the shared channel.
    pub fn contacts(&self) -> ContactServiceClient<Channel> {
        ContactServiceClient::new(self.channel())
    }

    /// A party client on the shared channel.
    pub fn parties(&self) -> PartyServiceClient<Channel> {
        PartyServiceClient::new(self.channel())
    }

    /// A commitment (worklist) client on the shared channel.
    pub fn commitments(&self) -> CommitmentServiceClient<Channel> {
        CommitmentServiceClient::new(self.channel())
    }

    /// A tenant client on the shared channel.
    pub fn tenants(&self) -> TenantServiceClient<Channel> {
        TenantServiceClient::new(self.channel())
    }

    /// A processing-log client on the shared channel.
    pub fn processing_log(&self) -> ProcessingLogServiceClient<Channel> {
        ProcessingLogServiceClient::new(self.channel())
    }

    /// A figure client on the shared channel.
    pub fn figures(&self) -> FigureServiceClient<Channel> {
        FigureServiceClient::new(self.channel())
    }

    /// The dashboard figures of `tenant` over the whole of 2026, as known now.
    pub async fn figures_2026(&self, tenant: &str) -> pb::Figures {
        figures_2026_on(self.channel(), tenant).await
    }

    /// How many contacts `tenant` has in 2026.
    pub async fn contact_count(&self, tenant: &str) -> u64 {
        self.figures_2026(tenant).await.contacts
    }

    /// The contact `id` of `tenant`, as stored now; panics on an error.
    pub async fn contact(&self, tenant: &str, id: &str) -> pb::Contact {
        contact_on(self.channel(), tenant, id).await
    }

    /// The context GetContext answers for `ids` in `tenant`, as of now; panics on an
    /// error.
    pub async fn context(&self, tenant: &str, ids: pb::Identifiers) -> pb::Context {
        context_on(self.channel(), tenant, ids).await
    }

    /// Starts a contact and panics on an error.
    pub async fn start(&self, tenant: &str, start: pb::ContactStart) -> pb::StartContactResponse {
        self.contacts()
            .start_contact(request(
                tenant,
                pb::StartContactRequest {
                    request_id: String::new(),
                    start: Some(start),
                },
            ))
            .await
            .unwrap_or_else(|s| panic!("StartContact failed: {s:?}"))
            .into_inner()
    }

    /// Completes a contact and panics on an error.
    pub async fn complete(
        &self,
        tenant: &str,
        contact_id: &str,
        completion: pb::ContactCompletion,
    ) -> pb::Contact {
        self.contacts()
            .complete_contact(request(
                tenant,
                pb::CompleteContactRequest {
                    request_id: String::new(),
                    contact_id: contact_id.to_owned(),
                    completion: Some(completion),
                },
            ))
            .await
            .unwrap_or_else(|s| panic!("CompleteContact failed: {s:?}"))
            .into_inner()
            .contact
            .expect("CompleteContact answered without a contact")
    }

    /// The settings of `tenant` as GetTenantSettings answers them; panics on an error.
    pub async fn settings(&self, tenant: &str) -> pb::TenantSettings {
        self.tenants()
            .get_tenant_settings(request(tenant, pb::GetTenantSettingsRequest {}))
            .await
            .unwrap_or_else(|s| panic!("GetTenantSettings in {tenant} failed: {s:?}"))
            .into_inner()
            .settings
            .expect("GetTenantSettings answered without settings")
    }

    /// Changes the settings of `tenant` as `change` says (ReplaceTenantSettings with
    /// the stored ones changed); panics on an error.
    pub async fn change_settings(
        &self,
        tenant: &str,
        change: impl FnOnce(&mut pb::TenantSettings),
    ) {
        let mut settings = self.settings(tenant).await;
        change(&mut settings);
        self.tenants()
            .replace_tenant_settings(request(
                tenant,
                pb::ReplaceTenantSettingsRequest {
                    settings: Some(settings),
                },
            ))
            .await
            .unwrap_or_else(|s| panic!("ReplaceTenantSettings in {tenant} failed: {s:?}"));
    }

    /// Records a contact after the fact and panics on an error.
    pub async fn record(&self, tenant: &str, record: pb::RecordContactRequest) -> pb::Contact {
        let key = record.request_id.clone();
        self.contacts()
            .record_contact(request(tenant, record))
            .await
            .unwrap_or_else(|s| panic!("RecordContact {key} failed: {s:?}"))
            .into_inner()
            .contact
            .expect("RecordContact answered without a contact")
    }

    /// Stops the server (idempotent). The database stays until [`Backend::finish`].
    pub async fn stop_server(&self) {
        let server = self.server.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(server) = server {
            server.stop().await;
        }
    }

    /// Stops the server and removes the database.
    pub async fn finish(&self) {
        self.stop_server().await;
        let db = self.db.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(db) = db {
            db.drop_db().await;
        }
    }
}

impl Drop for Backend {
    /// A backend dropped without [`Backend::finish`] (a test that panicked outside
    /// [`on_backend`]) still drops its PostgreSQL database: on a thread of its
    /// own with a small runtime, since `Drop` cannot await.
    fn drop(&mut self) {
        let db = self.db.get_mut().unwrap_or_else(|e| e.into_inner()).take();
        let Some(db) = db else {
            return;
        };
        if db.postgres_name().is_none() {
            return;
        }
        let dropped =
            std::thread::spawn(move || {
                match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime.block_on(db.drop_db()),
                    Err(e) => eprintln!("warning: cannot drop a scratch database: {e}"),
                }
            })
            .join();
        if dropped.is_err() {
            eprintln!("warning: dropping a scratch database panicked");
        }
    }
}

async fn connect_with(url: &str, tls: Option<ClientTlsConfig>) -> Channel {
    let mut endpoint =
        Endpoint::from_shared(url.to_owned()).unwrap_or_else(|e| panic!("not a URL: {url}: {e}"));
    if let Some(tls) = tls {
        endpoint = endpoint
            .tls_config(tls)
            .unwrap_or_else(|e| panic!("bad TLS configuration for {url}: {e}"));
    }
    endpoint
        .connect()
        .await
        .unwrap_or_else(|e| panic!("cannot connect to {url}: {e}"))
}

fn init_logging() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(
                    tracing_subscriber::EnvFilter::try_from_default_env()
                        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("debug")),
                )
                .with_test_writer()
                .try_init();
        }
    });
}

/// `msg` as a request for `tenant` (metadata `x-tenant`).
pub fn request<T>(tenant: &str, msg: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(msg);
    let value = tenant
        .parse()
        .unwrap_or_else(|e| panic!("{tenant:?} is not a metadata value: {e}"));
    request.metadata_mut().insert(TENANT_HEADER, value);
    request
}

/// A protobuf timestamp from an RFC 3339 time such as `2026-03-02T09:00:00+01:00`.
pub fn at(rfc3339: &str) -> prost_types::Timestamp {
    let t = chrono::DateTime::parse_from_rfc3339(rfc3339)
        .unwrap_or_else(|e| panic!("not an RFC 3339 time: {rfc3339}: {e}"));
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: i32::try_from(t.timestamp_subsec_nanos()).unwrap_or(0),
    }
}

/// A date.
pub fn date(year: i32, month: i32, day: i32) -> pb::Date {
    pb::Date { year, month, day }
}

/// The local dates of 2026, as known now.
pub fn period_2026() -> pb::Period {
    pb::Period {
        start_date: Some(date(2026, 1, 1)),
        end_date: Some(date(2027, 1, 1)),
        as_of: None,
    }
}

/// Valid BSNs (the eleven test) `9999xxxxx` from number `from` on, as many as asked.
pub fn valid_bsns(from: u32, n: usize) -> Vec<String> {
    (from..100_000u32)
        .map(|i| format!("9999{i:05}"))
        .filter(|s| {
            let d: Vec<i64> = s.bytes().map(|b| i64::from(b - b'0')).collect();
            let sum: i64 = (0..8).map(|k| d[k] * (9 - k as i64)).sum::<i64>() - d[8];
            sum % 11 == 0
        })
        .take(n)
        .collect()
}

/// The dashboard figures of `tenant` over the whole of 2026, as known now, asked over
/// `channel` (of any server).
pub async fn figures_2026_on(channel: Channel, tenant: &str) -> pb::Figures {
    FigureServiceClient::new(channel)
        .get_figures(request(
            tenant,
            pb::GetFiguresRequest {
                period: Some(period_2026()),
                ..Default::default()
            },
        ))
        .await
        .unwrap_or_else(|s| panic!("GetFigures failed: {s:?}"))
        .into_inner()
        .figures
        .expect("GetFigures answered without figures")
}

/// The contact `id` of `tenant`, as stored now, asked over `channel` (of any server);
/// panics on an error.
pub async fn contact_on(channel: Channel, tenant: &str, id: &str) -> pb::Contact {
    ContactServiceClient::new(channel)
        .get_contact(request(
            tenant,
            pb::GetContactRequest {
                contact_id: id.to_owned(),
            },
        ))
        .await
        .unwrap_or_else(|s| panic!("GetContact {id} failed: {s:?}"))
        .into_inner()
        .contact
        .expect("GetContact answered without a contact")
}

/// The context GetContext answers for `ids` in `tenant`, as of now, asked over
/// `channel` (of any server); panics on an error.
pub async fn context_on(channel: Channel, tenant: &str, ids: pb::Identifiers) -> pb::Context {
    PartyServiceClient::new(channel)
        .get_context(request(
            tenant,
            pb::GetContextRequest {
                identifiers: Some(ids),
                as_of: None,
            },
        ))
        .await
        .unwrap_or_else(|s| panic!("GetContext in {tenant} failed: {s:?}"))
        .into_inner()
        .context
        .expect("GetContext answered without a context")
}

/// Identifiers with a BSN, an e-mail address and a phone number; empty ones are not
/// given.
pub fn identifiers(bsn: &str, email: &str, phone: &str) -> pb::Identifiers {
    pb::Identifiers {
        bsn: bsn.to_owned(),
        email: email.to_owned(),
        phone: phone.to_owned(),
        ..Default::default()
    }
}

/// Citizen `c` of the concurrency tests, known by `bsn`, an e-mail address and a phone
/// number of its own, given the `variant`-th way (mod 6): e-mail only, phone only,
/// e-mail + phone, BSN + e-mail, BSN + phone, all three. Any four variants in a row
/// link all three identifiers, whatever the order they are carried out in.
pub fn citizen_identifiers(bsn: &str, c: usize, variant: usize) -> pb::Identifiers {
    let (email, phone) = citizen_contact_points(c);
    match variant % 6 {
        0 => identifiers("", &email, ""),
        1 => identifiers("", "", &phone),
        2 => identifiers("", &email, &phone),
        3 => identifiers(bsn, &email, ""),
        4 => identifiers(bsn, "", &phone),
        _ => identifiers(bsn, &email, &phone),
    }
}

/// Each identifier of citizen `c` (see [`citizen_identifiers`]) on its own: the BSN,
/// the e-mail address, the phone number.
pub fn citizen_identifiers_apart(bsn: &str, c: usize) -> [pb::Identifiers; 3] {
    let (email, phone) = citizen_contact_points(c);
    [
        identifiers(bsn, "", ""),
        identifiers("", &email, ""),
        identifiers("", "", &phone),
    ]
}

/// The e-mail address and phone number of citizen `c`.
fn citizen_contact_points(c: usize) -> (String, String) {
    (format!("burger{c}@example.nl"), format!("06 1000 00{c:02}"))
}

/// Identifiers with only a BSN.
pub fn bsn(bsn: &str) -> pb::Identifiers {
    pb::Identifiers {
        bsn: bsn.to_owned(),
        ..Default::default()
    }
}

/// Identifiers with only a phone number.
pub fn phone(phone: &str) -> pb::Identifiers {
    pb::Identifiers {
        phone: phone.to_owned(),
        ..Default::default()
    }
}

/// Identifiers with only an e-mail address.
pub fn email(email: &str) -> pb::Identifiers {
    pb::Identifiers {
        email: email.to_owned(),
        ..Default::default()
    }
}

/// An inbound contact start; `ids` `None` is anonymous, an empty topic is none.
pub fn start(
    channel: pb::Channel,
    started_at: &str,
    ids: Option<pb::Identifiers>,
    topic: &str,
) -> pb::ContactStart {
    pb::ContactStart {
        channel: channel as i32,
        direction: pb::Direction::Inbound as i32,
        started_at: Some(at(started_at)),
        identifiers: ids,
        topic: topic.to_owned(),
        ..Default::default()
    }
}

/// A RESOLVED completion with a story, answered at `answered_at`.
pub fn resolved(answered_at: &str, ended_at: &str, story: &str) -> pb::ContactCompletion {
    pb::ContactCompletion {
        ended_at: Some(at(ended_at)),
        answered_at: Some(at(answered_at)),
        outcome: pb::Outcome::Resolved as i32,
        story: story.to_owned(),
        ..Default::default()
    }
}

/// The party status a context shows (`Unspecified` without a party or for an unknown
/// value).
pub fn party_status(context: &pb::Context) -> pb::PartyStatus {
    let status = context.party.as_ref().map(|p| p.status).unwrap_or_default();
    pb::PartyStatus::try_from(status).unwrap_or(pb::PartyStatus::Unspecified)
}

/// The ids of a start answer: (contact, party, case).
pub fn ids_of(answer: &pb::StartContactResponse) -> (String, String, String) {
    let contact = answer
        .contact
        .as_ref()
        .expect("an answer without a contact");
    (
        contact.id.clone(),
        contact.party_id.clone(),
        contact.case_id.clone(),
    )
}

/// The field paths of the `BadRequest` violations in `status`; empty when it has none.
pub fn violated_fields(status: &tonic::Status) -> Vec<String> {
    use tonic_types::StatusExt;
    status
        .get_details_bad_request()
        .map(|b| b.field_violations.into_iter().map(|v| v.field).collect())
        .unwrap_or_default()
}

/// Asserts that `result` failed with INVALID_ARGUMENT whose violations name exactly
/// `field`, and that neither its message nor its details echo any of `secrets`.
#[track_caller]
pub fn assert_invalid<T: std::fmt::Debug>(
    result: Result<T, tonic::Status>,
    field: &str,
    secrets: &[&str],
) -> tonic::Status {
    let status = match result {
        Ok(answer) => panic!("expected INVALID_ARGUMENT on {field}, got an answer: {answer:?}"),
        Err(status) => status,
    };
    assert_eq!(
        status.code(),
        tonic::Code::InvalidArgument,
        "expected INVALID_ARGUMENT on {field}: {status:?}"
    );
    assert_eq!(
        violated_fields(&status),
        [field],
        "violations of {status:?}"
    );
    assert_no_secret(&status, secrets);
    status
}

/// Asserts that `result` failed with INVALID_ARGUMENT whose violations include `field`
/// (others may come with it), and that nothing of it echoes any of `secrets`.
#[track_caller]
pub fn assert_invalid_including<T: std::fmt::Debug>(
    result: Result<T, tonic::Status>,
    field: &str,
    secrets: &[&str],
) -> tonic::Status {
    let status = assert_code(result, tonic::Code::InvalidArgument, secrets);
    let fields = violated_fields(&status);
    assert!(
        fields.iter().any(|f| f == field),
        "no violation of {field} in {status:?}"
    );
    status
}

/// Asserts that `result` failed with `code`, and that neither its message nor its
/// details echo any of `secrets`.
#[track_caller]
pub fn assert_code<T: std::fmt::Debug>(
    result: Result<T, tonic::Status>,
    code: tonic::Code,
    secrets: &[&str],
) -> tonic::Status {
    let status = match result {
        Ok(answer) => panic!("expected {code:?}, got an answer: {answer:?}"),
        Err(status) => status,
    };
    assert_eq!(status.code(), code, "unexpected status: {status:?}");
    assert_no_secret(&status, secrets);
    status
}

/// Asserts that no text of `status` (message, details, metadata) contains a secret.
#[track_caller]
pub fn assert_no_secret(status: &tonic::Status, secrets: &[&str]) {
    use tonic_types::StatusExt;
    let details = format!("{:?}", status.get_error_details());
    let raw = String::from_utf8_lossy(status.details()).into_owned();
    let metadata = format!("{:?}", status.metadata());
    for secret in secrets {
        for (what, text) in [
            ("message", status.message()),
            ("details", details.as_str()),
            ("raw details", raw.as_str()),
            ("metadata", metadata.as_str()),
        ] {
            assert!(
                !text.contains(secret),
                "the {what} of {status:?} contains {secret}"
            );
        }
    }
}
