//! Connecting, error mapping and transactions.
//!
//! SQLite has one writer: every write transaction goes through a pool of exactly one
//! connection and begins `IMMEDIATE`, so writes are serialised and a read-then-write
//! transaction can never fail with "database is locked"; reads use a separate pool.
//! WAL with `synchronous=NORMAL` survives a crash of the process, but the last
//! transactions before a power loss may be lost.
//!
//! PostgreSQL: one pool; a write transaction locks what it acts on (its request, the
//! identifiers given, the parties they lead to: see `lock`), so writes for different
//! citizens of one tenant run side by side while two channels acting on one citizen at
//! the same moment are serialised (no two parties for one BSN, no two open cases for
//! one matter). A write that meets another in an order that could deadlock is rolled
//! back and run again ([`Attempts`]).
//!
//! Figures (dashboards) read through a small pool of their own ([`Pools::figures`]), so
//! a storm of them cannot take the connections contact calls need.
//!
//! A stalled database answers UNAVAILABLE within seconds, not after the caller's
//! patience: a connection is waited for at most [`ACQUIRE_TIMEOUT`]; on PostgreSQL a
//! statement runs at most [`STATEMENT_TIMEOUT`] and waits for a lock (the advisory
//! locks of a write included) at most [`LOCK_TIMEOUT`]; on SQLite a write waits for the
//! write lock at most [`BUSY_TIMEOUT`]. Those are the database's own limits: when the
//! database itself is frozen, or the network to it falls silent, nothing answers
//! them, so every transaction of the store (and every read outside one) runs under
//! [`bounded`]: after [`CLIENT_TIMEOUT`] it is abandoned (its connection rolls back
//! when it is next used, or is closed) and answers UNAVAILABLE.

use crate::StoreError;
use crate::dburl::sqlite_path;
use crate::migration::Migrator;
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    AccessMode, ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction,
    DbBackend, DbErr, IsolationLevel, RuntimeErr, SqliteTransactionMode, Statement,
    TransactionOptions, TransactionTrait,
};
use sea_orm_migration::MigratorTrait;
use std::cell::Cell;
use std::time::Duration;

/// How long a caller waits for a pooled connection (or a new connection) before
/// UNAVAILABLE.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);
/// PostgreSQL: the longest one statement may run (`statement_timeout`).
pub const STATEMENT_TIMEOUT: Duration = Duration::from_secs(10);
/// PostgreSQL: the longest a statement waits for a lock (`lock_timeout`), the advisory
/// locks of a write included.
pub const LOCK_TIMEOUT: Duration = Duration::from_secs(5);
/// SQLite: the longest a write waits for the database's write lock (`busy_timeout`).
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest one store transaction (a connection, its statements, the commit) may
/// take, measured on this side of the connection: the statement timeout and a margin
/// for the rest. Below the API's 30 s limit of a call, so a stalled database answers
/// UNAVAILABLE rather than DEADLINE_EXCEEDED.
pub const CLIENT_TIMEOUT: Duration = STATEMENT_TIMEOUT.saturating_add(Duration::from_secs(5));

/// Runs one store transaction (or read) under [`CLIENT_TIMEOUT`]: when it has not
/// finished by then it is dropped, which abandons its transaction (rolled back, never
/// committed by this call), and the answer is UNAVAILABLE. The one place the client
/// side bounds the database.
pub async fn bounded<T>(
    work: impl Future<Output = Result<T, StoreError>>,
) -> Result<T, StoreError> {
    let work = CONFLICT.scope(Cell::new(false), work);
    match tokio::time::timeout(CLIENT_TIMEOUT, work).await {
        Ok(result) => result,
        Err(_) => {
            tracing::warn!(
                timeout_ms = CLIENT_TIMEOUT.as_millis() as u64,
                "database unavailable: no answer in time"
            );
            Err(StoreError::Unavailable(
                "the database did not answer in time".into(),
            ))
        }
    }
}
tokio::task_local! {
    /// Set when the transaction running under [`bounded`] failed in a way that running
    /// it again may cure: PostgreSQL found a deadlock (40P01) or a serialisation failure
    /// (40001), or a lock another writer holds was needed out of order (`lock`).
    static CONFLICT: Cell<bool>;
}

/// Notes a conflict of the transaction running now (see [`Attempts`]).
pub fn note_conflict() {
    // Outside `bounded` (never in the store) there is no attempt to run again.
    let _ = CONFLICT.try_with(|c| c.set(true));
}

/// How many times a write transaction runs at most when it conflicts with another.
pub const WRITE_ATTEMPTS: u32 = 4;

/// The attempts of one write transaction under [`bounded`]: a transaction that failed
/// after a conflict ([`note_conflict`]) has been rolled back, and runs again from the
/// start (fresh facts, fresh locks), at most [`WRITE_ATTEMPTS`] times in all; any other
/// outcome is the answer.
#[derive(Debug, Default)]
pub struct Attempts {
    made: u32,
}

impl Attempts {
    /// Whether the transaction that ended with `result` runs again.
    pub fn again<T>(&mut self, result: &Result<T, StoreError>) -> bool {
        self.made += 1;
        let conflicted = CONFLICT.try_with(|c| c.replace(false)).unwrap_or(false);
        if result.is_err() && conflicted && self.made < WRITE_ATTEMPTS {
            tracing::debug!(attempt = self.made, "write conflicted: running it again");
            true
        } else {
            false
        }
    }
}

/// Readers on SQLite.
const SQLITE_READERS: u32 = 4;
/// Connections to PostgreSQL for everything but figures.
pub const POSTGRES_CONNECTIONS: u32 = 10;
/// Connections for figures (on SQLite: read connections of their own). As many as the
/// API lets figure calls run at once, so they wait on the API's budget, not here.
pub const FIGURE_CONNECTIONS: u32 = 4;

/// The pools of a store.
#[derive(Clone, Debug)]
pub struct Pools {
    pub writer: DatabaseConnection,
    pub reader: DatabaseConnection,
    /// Figures only: a pool of their own, so dashboards cannot starve contact calls.
    pub figures: DatabaseConnection,
    pub backend: DbBackend,
}

/// Maps a database error: a pool timeout or a lost connection is UNAVAILABLE (the
/// caller may retry), anything else INTERNAL. Details go to the log only; they never
/// contain identifier values (only hashes are stored) and statements are not logged.
pub fn db_err(e: DbErr) -> StoreError {
    if is_conflict(&e) {
        note_conflict();
    }
    if is_transient(&e) {
        tracing::warn!(error = %e, "database unavailable");
        StoreError::Unavailable("the database is busy or cannot be reached".into())
    } else {
        tracing::error!(error = %e, "database error");
        StoreError::Internal("database error".into())
    }
}

/// PostgreSQL found a deadlock or a serialisation failure: running the transaction
/// again may succeed.
fn is_conflict(e: &DbErr) -> bool {
    match e {
        DbErr::Exec(RuntimeErr::SqlxError(s)) | DbErr::Query(RuntimeErr::SqlxError(s)) => {
            matches!(s.as_ref(), sea_orm::sqlx::Error::Database(d)
                if d.code().is_some_and(|c| matches!(c.as_ref(), "40P01" | "40001")))
        }
        _ => false,
    }
}

fn is_transient(e: &DbErr) -> bool {
    match e {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(s)) | DbErr::Query(RuntimeErr::SqlxError(s)) => {
            use sea_orm::sqlx::Error as X;
            match s.as_ref() {
                X::PoolTimedOut | X::PoolClosed | X::Io(_) | X::WorkerCrashed => true,
                X::Database(d) => d.code().is_some_and(|c| {
                    // SQLite BUSY/LOCKED (and extended codes); PostgreSQL serialisation
                    // failure, deadlock, lock not available (lock_timeout), statement
                    // cancelled (statement_timeout), shutdown, too many connections.
                    let c = c.as_ref();
                    matches!(c, "5" | "6" | "261" | "517" | "262")
                        || matches!(
                            c,
                            "40001" | "40P01" | "55P03" | "57014" | "57P01" | "57P03" | "53300"
                        )
                }),
                _ => false,
            }
        }
        _ => false,
    }
}

fn sqlite_options(url: &str, connections: u32, in_memory: bool) -> ConnectOptions {
    let mut opt = ConnectOptions::new(url);
    if in_memory {
        // The database lives as long as its one connection: never recycle it.
        opt.idle_timeout(None).max_lifetime(None);
    }
    opt.max_connections(connections)
        .min_connections(1)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_timeout(ACQUIRE_TIMEOUT)
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|o| {
            o.create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(BUSY_TIMEOUT)
                // Deleted and overwritten content is zeroed in the page (and freed
                // pages are zeroed), so an erased party's text leaves no copy in the
                // file once its page is checkpointed (see [`Pools::scrub_after_erase`]).
                .pragma("secure_delete", "ON")
                // 8 MiB of page cache per connection instead of SQLite's 2 MB: the
                // indexes a write walks stay in memory (nine connections: 72 MiB at most).
                .pragma("cache_size", "-8192")
                // `PRAGMA optimize` samples at most this many rows per index, so
                // gathering statistics stays quick on a large store.
                .pragma("analysis_limit", "1000")
        });
    opt
}

/// A PostgreSQL pool of `connections`, each with the statement and lock timeouts set
/// when it connects (startup parameters: no extra round trip).
fn postgres_options(url: &str, connections: u32) -> ConnectOptions {
    let mut opt = ConnectOptions::new(url);
    opt.max_connections(connections)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_timeout(ACQUIRE_TIMEOUT)
        .sqlx_logging(false)
        .map_sqlx_postgres_opts(|o| {
            o.options([
                (
                    "statement_timeout",
                    format!("{}ms", STATEMENT_TIMEOUT.as_millis()),
                ),
                ("lock_timeout", format!("{}ms", LOCK_TIMEOUT.as_millis())),
            ])
        });
    opt
}

/// Connects and migrates.
pub async fn connect(url: &str) -> Result<Pools, StoreError> {
    let pools = if url.starts_with("sqlite:") {
        let file = sqlite_path(url);
        if let Some(parent) = file.as_deref().and_then(std::path::Path::parent)
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(parent).map_err(|e| {
                tracing::error!(error = %e, "cannot create the database directory");
                StoreError::Unavailable("cannot create the database directory".into())
            })?;
        }
        let writer = Database::connect(sqlite_options(url, 1, file.is_none()))
            .await
            .map_err(db_err)?;
        Migrator::up(&writer, None).await.map_err(db_err)?;
        optimize(&writer, OPTIMIZE_AT_OPEN).await;
        spawn_periodic_optimize(writer.clone());
        // An in-memory database exists once per connection: read through the writer.
        let reader = if file.is_some() {
            Database::connect(sqlite_options(url, SQLITE_READERS, false))
                .await
                .map_err(db_err)?
        } else {
            writer.clone()
        };
        // Figures read through their own connections too (the in-memory database has
        // only the one).
        let figures = if file.is_some() {
            Database::connect(sqlite_options(url, FIGURE_CONNECTIONS, false))
                .await
                .map_err(db_err)?
        } else {
            writer.clone()
        };
        Pools {
            writer,
            reader,
            figures,
            backend: DbBackend::Sqlite,
        }
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        let db = Database::connect(postgres_options(url, POSTGRES_CONNECTIONS))
            .await
            .map_err(db_err)?;
        Migrator::up(&db, None).await.map_err(db_err)?;
        let figures = Database::connect(postgres_options(url, FIGURE_CONNECTIONS))
            .await
            .map_err(db_err)?;
        Pools {
            writer: db.clone(),
            reader: db,
            figures,
            backend: DbBackend::Postgres,
        }
    } else {
        return Err(StoreError::Internal(
            "the database URL must start with sqlite: or postgres:".into(),
        ));
    };
    Ok(pools)
}

/// SQLite gathers no planner statistics by itself: without them a query on a large
/// store may be planned on a worse index (a thermometer over 200,000 contacts went from
/// 3.4 s to 0.8 s after one ANALYZE). `PRAGMA optimize` analyses the tables whose
/// statistics are missing or stale, bounded by `analysis_limit`; at open with 0x10002
/// (every table, as SQLite recommends for a connection that stays open), then every
/// [`OPTIMIZE_EVERY`].
const OPTIMIZE_AT_OPEN: &str = "PRAGMA optimize=0x10002";
/// How often the writer runs `PRAGMA optimize` on SQLite.
pub const OPTIMIZE_EVERY: Duration = Duration::from_secs(3600);

async fn optimize(writer: &DatabaseConnection, pragma: &str) {
    if let Err(e) = writer
        .execute_raw(Statement::from_string(DbBackend::Sqlite, pragma))
        .await
    {
        tracing::warn!(error = %e, "PRAGMA optimize failed; planner statistics may be stale");
    }
}

/// Runs `PRAGMA optimize` on the writer every [`OPTIMIZE_EVERY`] while the runtime runs.
fn spawn_periodic_optimize(writer: DatabaseConnection) {
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        runtime.spawn(async move {
            let mut every = tokio::time::interval(OPTIMIZE_EVERY);
            every.tick().await;
            loop {
                every.tick().await;
                optimize(&writer, "PRAGMA optimize").await;
            }
        });
    }
}

impl Pools {
    /// Begins a write transaction. SQLite: `IMMEDIATE` on the one writer connection, so
    /// writes are serialised. PostgreSQL: `READ COMMITTED`, each statement seeing what
    /// committed before it; the write then locks what it acts on (`lock::Locks`) before
    /// it loads the facts.
    pub async fn begin_write(&self) -> Result<DatabaseTransaction, StoreError> {
        match self.backend {
            DbBackend::Postgres => self.writer.begin().await.map_err(db_err),
            _ => self
                .writer
                .begin_with_options(TransactionOptions {
                    sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                    ..TransactionOptions::default()
                })
                .await
                .map_err(db_err),
        }
    }

    /// Begins a read that is logged (the processing log): one consistent snapshot, able
    /// to insert its records. On PostgreSQL without locks (the records are inserts under
    /// fresh keys, no read-then-write), so reads run side by side; SQLite has one
    /// writer, so it is a write transaction there.
    pub async fn begin_logged_read(&self) -> Result<DatabaseTransaction, StoreError> {
        match self.backend {
            DbBackend::Postgres => self
                .writer
                .begin_with_config(
                    Some(IsolationLevel::RepeatableRead),
                    Some(AccessMode::ReadWrite),
                )
                .await
                .map_err(db_err),
            _ => self.begin_write().await,
        }
    }

    /// Begins a read transaction: one consistent snapshot for all its queries.
    pub async fn begin_read(&self) -> Result<DatabaseTransaction, StoreError> {
        self.begin_read_on(&self.reader).await
    }

    /// Begins a read transaction on the figures' own pool.
    pub async fn begin_figures_read(&self) -> Result<DatabaseTransaction, StoreError> {
        self.begin_read_on(&self.figures).await
    }

    async fn begin_read_on(
        &self,
        pool: &DatabaseConnection,
    ) -> Result<DatabaseTransaction, StoreError> {
        match self.backend {
            DbBackend::Postgres => pool
                .begin_with_config(
                    Some(IsolationLevel::RepeatableRead),
                    Some(AccessMode::ReadOnly),
                )
                .await
                .map_err(db_err),
            _ => pool.begin().await.map_err(db_err),
        }
    }
}

/// The rewrite of each table an erasure changes, after it on PostgreSQL.
const REWRITE_ERASED_TABLES: [&str; 6] = [
    "VACUUM FULL party",
    "VACUUM FULL identifier",
    "VACUUM FULL \"case\"",
    "VACUUM FULL contact",
    "VACUUM FULL feedback",
    "VACUUM FULL idempotency",
];

/// How long the rewrite of one table after an erasure waits for its lock before it
/// gives up (and logs that the old copies stay until the next rewrite).
const SCRUB_LOCK_TIMEOUT: &str = "SET lock_timeout = '5s'";

/// The transactions, other than this one, that began before a moment and hold a
/// snapshot: `VACUUM FULL` copies the old row versions such a snapshot may still see
/// ("recently dead") into the new files. Of every database on the server, not only
/// this one: some (a `CREATE DATABASE` copying its template) hold back the horizon of
/// all databases.
const OLDER_SNAPSHOTS: &str = "SELECT count(*) FROM pg_stat_activity \
     WHERE pid <> pg_backend_pid() \
     AND backend_xmin IS NOT NULL AND xact_start < $1::timestamptz";

impl Pools {
    /// After an erasure has committed: remove the old copies of what it cleared from
    /// the database files.
    ///
    /// - SQLite: with `secure_delete` the database pages hold no old content, but the
    ///   write-ahead log still holds the page images from before the erasure. A
    ///   `wal_checkpoint(TRUNCATE)` copies the newest pages into the database and empties
    ///   the log file. A reader in the middle of a transaction can keep it from
    ///   finishing (after the busy timeout): that is logged, and the next erasure (or
    ///   SQLite's own checkpoint at 1000 pages, or closing) completes it.
    /// - PostgreSQL: the erased rows' old versions stay as dead tuples until a VACUUM,
    ///   and a plain VACUUM only marks their space free: the bytes stay in the page until
    ///   it is reused (measured: a case reference and an identifier hash were still in
    ///   the relation files after one). `VACUUM FULL` rewrites each table the erasure
    ///   changed into new files, one table at a time; each holds an exclusive lock on
    ///   its table while it is rewritten, waiting at most 5 seconds for it.
    ///   A transaction that was open before the erasure (a reader, an autovacuum
    ///   ANALYZE) keeps the old versions alive, so the rewrite first waits up to 5
    ///   seconds for those to end; the write-ahead log (`pg_wal`) and backups keep them until they are recycled
    ///   (see the README).
    ///
    /// The erasure itself has committed: a failure here is logged, not answered.
    pub async fn scrub_after_erase(&self) {
        match self.backend {
            DbBackend::Postgres => {
                if let Err(e) = self.rewrite_erased_tables().await {
                    tracing::warn!(
                        error = %e,
                        "rewriting the tables after an erasure failed: old copies of the \
                         erased data stay in the relation files until the next VACUUM FULL"
                    );
                }
            }
            _ => {
                let checkpoint =
                    Statement::from_string(DbBackend::Sqlite, "PRAGMA wal_checkpoint(TRUNCATE)");
                match self.writer.query_one_raw(checkpoint).await {
                    Ok(Some(row)) => {
                        let busy: i64 = row.try_get_by_index(0).unwrap_or(1);
                        if busy != 0 {
                            tracing::warn!(
                                "the WAL checkpoint after an erasure could not finish: \
                                 a reader was busy; the next checkpoint completes it"
                            );
                        }
                    }
                    Ok(None) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "the WAL checkpoint after an erasure failed")
                    }
                }
            }
        }
    }
}

impl Pools {
    /// `VACUUM FULL` of the tables an erasure changes, on one connection with a lock
    /// timeout (VACUUM cannot run inside a transaction).
    async fn rewrite_erased_tables(&self) -> Result<(), sea_orm::sqlx::Error> {
        use sea_orm::sqlx::Executor;
        let mut conn = self.writer.get_postgres_connection_pool().acquire().await?;
        conn.execute(SCRUB_LOCK_TIMEOUT).await?;
        // Rewriting a large table may take longer than one call's statement may.
        conn.execute("SET statement_timeout = 0").await?;
        // A transaction open since before the erasure (a reader, an autovacuum ANALYZE)
        // keeps the old versions alive: wait for those, at most 5 seconds.
        let since: String = sea_orm::sqlx::query_scalar("SELECT clock_timestamp()::text")
            .fetch_one(&mut *conn)
            .await?;
        let mut waited = 0;
        loop {
            let older: i64 = sea_orm::sqlx::query_scalar(OLDER_SNAPSHOTS)
                .bind(&since)
                .fetch_one(&mut *conn)
                .await?;
            if older == 0 {
                break;
            }
            if waited == 100 {
                tracing::warn!(
                    "a transaction older than the erasure is still open: its old copies \
                     may stay in the relation files until the next VACUUM FULL"
                );
                break;
            }
            waited += 1;
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let mut result = Ok(());
        for rewrite in REWRITE_ERASED_TABLES {
            if let Err(e) = conn.execute(rewrite).await {
                result = Err(e);
                break;
            }
        }
        conn.execute("RESET lock_timeout").await?;
        conn.execute("RESET statement_timeout").await?;
        result.map(|_| ())
    }
}

/// Commits on success, rolls back on failure.
pub async fn finish<T>(
    txn: DatabaseTransaction,
    result: Result<T, StoreError>,
) -> Result<T, StoreError> {
    match result {
        Ok(v) => {
            txn.commit().await.map_err(db_err)?;
            Ok(v)
        }
        Err(e) => {
            if let Err(re) = txn.rollback().await {
                tracing::error!(error = %re, "rollback failed");
            }
            Err(e)
        }
    }
}
