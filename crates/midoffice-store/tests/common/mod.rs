//! Real databases for the store tests: each test runs twice ([`database_test!`]), on a
//! fresh SQLite file and on a freshly created PostgreSQL database on the server of
//! `MIDOFFICE_TEST_DATABASE_URL`, which is dropped again at the end (also when the test
//! fails).

#![allow(dead_code)]

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use midoffice_domain::command::{CompletionCommand, StartCommand};
use midoffice_domain::contact::{Channel, Direction, Outcome};
use midoffice_domain::identifier::{IdentKey, Identifier, IdentifierKind, Pseudonymiser};
use midoffice_domain::{Code, TenantId};
use midoffice_store::Store;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};

/// The variable naming a PostgreSQL server (any database on it) for the tests.
pub const PG_ENV: &str = "MIDOFFICE_TEST_DATABASE_URL";

/// One database for one test.
pub struct TestDb {
    pub backend: &'static str,
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    /// The server URL and the name of the database to drop at the end.
    pg: Option<(String, String)>,
}

/// The database one half of a [`database_test!`] runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A fresh database of `backend`. PostgreSQL needs [`PG_ENV`]: a PostgreSQL half that
/// runs fails rather than pass without it.
pub async fn database(backend: Backend) -> TestDb {
    match backend {
        Backend::Sqlite => sqlite(),
        Backend::Postgres => match std::env::var(PG_ENV) {
            Ok(url) if !url.trim().is_empty() => postgres(url.trim()).await,
            _ => panic!(
                "{PG_ENV} is not set, so this PostgreSQL test cannot run. Set it (such as \
                 postgres://postgres@127.0.0.1:5432/postgres); or build the tests with \
                 neither it nor MIDOFFICE_REQUIRE_POSTGRES=1 set, and `cargo test` reports \
                 the PostgreSQL tests as ignored"
            ),
        },
    }
}

fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().expect("a temporary directory");
    // A directory that does not exist yet: connect must create it.
    let path = dir.path().join("data").join("midoffice.db");
    TestDb {
        backend: "sqlite",
        url: format!("sqlite://{}?mode=rwc", path.display()),
        _dir: Some(dir),
        pg: None,
    }
}

/// `url` with its database name replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority_start..].find('/') {
        Some(i) => &base[..authority_start + i],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

async fn postgres(server: &str) -> TestDb {
    let name = format!("midoffice_t_{}", uuid::Uuid::now_v7().simple());
    let admin = Database::connect(server)
        .await
        .expect("PostgreSQL reachable");
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create a test database");
    admin.close().await.ok();
    TestDb {
        backend: "postgres",
        url: with_database(server, &name),
        _dir: None,
        pg: Some((server.to_owned(), name)),
    }
}

impl TestDb {
    /// A store on this database (migrated).
    pub async fn store(&self) -> Store {
        Store::connect(&self.url)
            .await
            .expect("connect and migrate")
    }

    /// A plain connection, to look at what the store wrote.
    pub async fn raw(&self) -> DatabaseConnection {
        Database::connect(&self.url).await.expect("connect")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((server, name)) = self.pg.take() else {
            return;
        };
        // Drop runs outside any runtime guarantee (and during a panic): use a thread with
        // its own runtime.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                if let Ok(admin) = Database::connect(server.as_str()).await {
                    let _ = admin
                        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .await;
                    let _ = admin.close().await;
                }
            });
        })
        .join();
    }
}

/// Declares a test as two: `<name>::sqlite` and `<name>::postgres`, each calling
/// `async fn <name>(Backend)`. Without [`PG_ENV`] when the tests were built, the build
/// script (`tests/build.rs` of the repository) sets `cfg(postgres_skipped)` and the
/// PostgreSQL half is reported `ignored`, not a bare `ok`.
#[macro_export]
macro_rules! database_test {
    ($name:ident) => {
        mod $name {
            #[::tokio::test]
            async fn sqlite() {
                super::$name($crate::common::Backend::Sqlite).await;
            }

            #[::tokio::test]
            #[cfg_attr(postgres_skipped, ignore = "no MIDOFFICE_TEST_DATABASE_URL")]
            async fn postgres() {
                super::$name($crate::common::Backend::Postgres).await;
            }
        }
    };
}

/// Runs `$body` on a fresh database of `$backend`, with `$db` and `$store` bound.
#[macro_export]
macro_rules! on_backend {
    ($backend:expr, |$db:ident, $store:ident| $body:block) => {{
        let $db = $crate::common::database($backend).await;
        let $store = $db.store().await;
        $body
    }};
}

/// The call a test's processing is logged under.
pub fn caller() -> midoffice_store::Caller {
    midoffice_store::Caller {
        trace_id: [7; 16],
        span_id: uuid::Uuid::now_v7().as_bytes()[8..].try_into().unwrap(),
        parent_span_id: None,
        operation: "test",
        actor: "store test".into(),
        started_at: chrono::Utc::now(),
    }
}

pub fn tenant() -> TenantId {
    TenantId::parse("gemeente-test").expect("a tenant code")
}

pub fn code(s: &str) -> Code {
    Code::parse(s).expect("a code")
}

fn pseudonymiser() -> Pseudonymiser {
    Pseudonymiser::new(b"test-secret")
}

pub fn key(kind: IdentifierKind, raw: &str) -> IdentKey {
    pseudonymiser().key(&Identifier::parse(kind, raw).expect("a valid identifier"))
}

/// Valid BSNs (eleven test).
pub const BSN_A: &str = "111222333";
pub const BSN_B: &str = "123456782";
pub const EMAIL: &str = "jan.jansen@example.nl";
pub const PHONE: &str = "06 12345678";
pub const PHONE_E164: &str = "+31612345678";

pub fn bsn(raw: &str) -> IdentKey {
    key(IdentifierKind::Bsn, raw)
}
pub fn email(raw: &str) -> IdentKey {
    key(IdentifierKind::Email, raw)
}
pub fn phone(raw: &str) -> IdentKey {
    key(IdentifierKind::Phone, raw)
}

/// A fixed point two days ago, whole seconds: every event of a test is relative to it.
pub fn base() -> DateTime<Utc> {
    (Utc::now() - TimeDelta::days(2))
        .duration_trunc(TimeDelta::seconds(1))
        .expect("truncate")
}

pub fn at(minutes: i64) -> DateTime<Utc> {
    base_fixed() + TimeDelta::minutes(minutes)
}

/// The base of this process (stable within one test run).
fn base_fixed() -> DateTime<Utc> {
    static BASE: std::sync::OnceLock<DateTime<Utc>> = std::sync::OnceLock::new();
    *BASE.get_or_init(base)
}

pub fn start(ids: Vec<IdentKey>, topic: Option<&str>, minute: i64) -> StartCommand {
    StartCommand {
        channel: Channel::Phone,
        direction: Direction::Inbound,
        started_at: at(minute),
        identifiers: ids,
        topic: topic.map(code),
        case_id: None,
        case_reference: None,
        department: None,
    }
}

pub fn end(
    outcome: Outcome,
    start_minute: i64,
    end_minute: i64,
    story: Option<&str>,
) -> CompletionCommand {
    CompletionCommand {
        ended_at: at(end_minute),
        answered_at: (outcome != Outcome::Abandoned).then(|| at(start_minute)),
        outcome,
        story: story.map(str::to_owned),
        department: None,
        topic: None,
        referred_to: None,
        due_at: None,
        story_repeated: false,
    }
}

pub fn now() -> DateTime<Utc> {
    Utc::now()
}

/// A count from raw SQL (the first column of the first row).
pub async fn count(db: &DatabaseConnection, sql: &str) -> i64 {
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            sql.to_owned(),
        ))
        .await
        .expect("query")
        .expect("a row");
    row.try_get_by_index::<i64>(0).expect("a count")
}

/// A small deterministic generator for the figure tests (the seed names a stream).
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    pub fn pick<T: Clone>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize].clone()
    }
}
