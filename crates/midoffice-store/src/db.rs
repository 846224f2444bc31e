//! Connecting, error mapping and transactions.
//!
//! SQLite has one writer: every write transaction goes through a pool of exactly one
//! connection and begins `IMMEDIATE`, so writes are serialised and a read-then-write
//! transaction can never fail with "database is locked"; reads use a separate pool.
//! WAL with `synchronous=NORMAL` survives a crash of the process, but the last
//! transactions before a power loss may be lost.
//!
//! SQLite runs on the caller's thread (sea-orm's rusqlite driver, patched in: see
//! vendor/sea-orm/PATCH.md), not on a worker thread per connection as with sqlx: a
//! statement is a function call, not two channel messages and two thread wake-ups.
//! The driver's connection is not a pool: it is one rusqlite connection that spins
//! while a transaction holds it. So [`Pool`] lends each connection to one caller at a
//! time, waiting for it asynchronously ([`ACQUIRE_TIMEOUT`] at most): a transaction
//! ([`Txn`]) keeps its connection until it ends, and nothing reaches a connection
//! outside [`Pool`]. A statement that waits for SQLite's file lock (held by another
//! process, for at most [`BUSY_TIMEOUT`]) waits on the tokio worker running it.
//!
//! PostgreSQL: one pool; a write transaction locks what it acts on (its request, the
//! identifiers given, the parties they lead to: see `lock`), so writes for different
//! citizens of one tenant run side by side while two channels acting on one citizen at
//! the same moment are serialised (no two parties for one BSN, no two open cases for
//! one matter). A write that meets another in an order that could deadlock is rolled
//! back and run again ([`Attempts`]).
//!
//! Figures (dashboards) read through a small pool of their own ([`Pools::figures`]), so
//! a storm of them cannot take the connections contact calls need. On PostgreSQL that
//! pool may connect to a hot standby instead of the primary (`database.read_url`,
//! [`connect_with`]): figure reads are read-only transactions that write nothing, not
//! even the kept answers' basis, which lives in the process; every write, and every read
//! that decides a write ([`Pools::begin_read`]), stays on the primary.
//!
//! A stalled database answers UNAVAILABLE within seconds, not after the caller's
//! patience: a connection is waited for at most [`ACQUIRE_TIMEOUT`]; on PostgreSQL a
//! statement runs at most [`STATEMENT_TIMEOUT`] and waits for a lock (the advisory
//! locks of a write included) at most [`LOCK_TIMEOUT`]; on SQLite a write waits for the
//! write lock at most [`BUSY_TIMEOUT`]. Those are the database's own limits: when the
//! database itself is frozen, or the network to it falls silent, nothing answers
//! them, so every transaction of the store (and every read outside one) runs under
//! [`bounded`]: after [`CLIENT_TIMEOUT`] it is abandoned (its connection rolls back
//! when it is next used, or is closed) and answers UNAVAILABLE. SQLite runs on the
//! caller's thread, where a statement never yields to that timer: its reader and
//! figures connections carry the same bound as a deadline that SQLite's progress
//! handler checks (the statement is interrupted, UNAVAILABLE), and figure reads run
//! under [`bounded_figures`], which frees the runtime thread's other tasks meanwhile.

use crate::StoreError;
use crate::dburl::sqlite_path;
use crate::migration::Migrator;
use sea_orm::{
    AccessMode, ConnAcquireErr, ConnectOptions, ConnectionTrait, Database, DatabaseConnection,
    DatabaseTransaction, DbBackend, DbErr, ExecResult, IsolationLevel, QueryResult, RuntimeErr,
    RusqliteSharedConnection, SqliteTransactionMode, Statement, TransactionOptions,
    TransactionTrait,
};
use sea_orm_migration::MigratorTrait;
use std::cell::Cell;
use std::ops::Deref;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How long a caller waits for a pooled connection (or a new connection) before
/// UNAVAILABLE.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);
/// PostgreSQL: the longest one statement may run (`statement_timeout`).
pub const STATEMENT_TIMEOUT: Duration = Duration::from_secs(10);
/// PostgreSQL: the longest a statement waits for a lock (`lock_timeout`), the advisory
/// locks of a write included.
pub const LOCK_TIMEOUT: Duration = Duration::from_secs(5);
/// SQLite: the longest a write waits for the database's write lock (held by another
/// process: `midoffice retention run`, `seed`).
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// SQLite: how long one statement waits for a lock inside SQLite (`busy_timeout`) while
/// serving. SQLite sleeps on the calling thread, a tokio worker: so briefly, and a write
/// waits for the write lock between tries of `BEGIN IMMEDIATE` asleep in tokio
/// ([`SQLITE_BEGIN_RETRY`]), where a caller's deadline can end the wait. (Migrations at
/// start wait up to [`BUSY_TIMEOUT`] inside SQLite.)
const SQLITE_BUSY_WAIT: Duration = Duration::from_millis(50);
/// SQLite: the pause between tries of `BEGIN IMMEDIATE` while another process holds
/// the write lock.
const SQLITE_BEGIN_RETRY: Duration = Duration::from_millis(20);
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
    bounded_until(tokio::time::Instant::now() + CLIENT_TIMEOUT, work).await
}

/// [`bounded`] with the instant it ends at.
async fn bounded_until<T>(
    until: tokio::time::Instant,
    work: impl Future<Output = Result<T, StoreError>>,
) -> Result<T, StoreError> {
    let work = CONFLICT.scope(Cell::new(false), work);
    match tokio::time::timeout_at(until, work).await {
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

/// A figure read, which may take seconds, under [`bounded`]: a read transaction on
/// the figures' own pool, waited for asynchronously, then `work` on it (which ends
/// it: [`finish`]). On SQLite (which runs on the caller's thread) the tokio worker
/// hands its other tasks to another thread while `work` runs (`block_in_place`), so a
/// dashboard's call cannot hold up contact calls; a call queueing for a connection
/// holds no thread. On a one-thread runtime (some tests) it runs in place.
pub async fn bounded_figures<T, F>(
    pools: &Pools,
    work: impl FnOnce(Txn) -> F,
) -> Result<T, StoreError>
where
    F: Future<Output = Result<T, StoreError>>,
{
    use tokio::runtime::{Handle, RuntimeFlavor};
    // One bound for the wait and the work together, as `bounded` gives one call.
    let until = tokio::time::Instant::now() + CLIENT_TIMEOUT;
    let txn = bounded_until(until, pools.begin_figures_read()).await?;
    if pools.backend == DbBackend::Sqlite
        && Handle::try_current().is_ok_and(|h| h.runtime_flavor() == RuntimeFlavor::MultiThread)
    {
        tokio::task::block_in_place(|| Handle::current().block_on(bounded_until(until, work(txn))))
    } else {
        bounded_until(until, work(txn)).await
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
    pub writer: Pool,
    pub reader: Pool,
    /// Figures only: a pool of their own, so dashboards cannot starve contact calls;
    /// on a hot standby when one is configured ([`connect_with`]). Nothing that writes,
    /// or decides a write, reads through it.
    pub figures: Pool,
    pub backend: DbBackend,
}

/// Where statements go: a sqlx pool (PostgreSQL), or SQLite connections lent to one
/// caller at a time. A statement outside a transaction borrows a connection for itself.
#[derive(Clone, Debug)]
pub enum Pool {
    Sqlx(DatabaseConnection),
    Sqlite(Arc<SqliteConnections>),
}

/// SQLite connections and a permit for each: a caller holds a permit while it uses a
/// connection, so no two callers reach one (the driver would spin on it).
#[derive(Debug)]
pub struct SqliteConnections {
    idle: Mutex<Vec<SqliteConn>>,
    permits: Arc<Semaphore>,
    /// The file the connections are open on, to open one anew ([`Lent`]'s drop);
    /// `None`: an in-memory database, which a new connection would not reach.
    file: Option<std::path::PathBuf>,
    /// How long a caller may use a connection of this pool before SQLite interrupts
    /// its statement ([`CLIENT_TIMEOUT`] for readers; none for the writer, whose
    /// migrations, bulk loads and rebuild batches may run longer).
    bound: Option<Duration>,
}

/// One SQLite connection and the instant after which its statements are interrupted
/// ([`deadline_micros`]; 0: none). SQLite runs on the caller's thread and a statement
/// never yields, so [`bounded`]'s timer cannot end it: SQLite's progress handler
/// checks this deadline every few thousand instructions instead, and the statement
/// fails with SQLITE_INTERRUPT (UNAVAILABLE).
#[derive(Debug)]
struct SqliteConn {
    conn: DatabaseConnection,
    /// The same connection, for what only the driver tells (`is_autocommit`).
    shared: RusqliteSharedConnection,
    deadline: Arc<AtomicU64>,
}

/// Microseconds since the first call in this process (never 0), for the deadlines.
fn deadline_micros(after: Duration) -> u64 {
    static EPOCH: LazyLock<std::time::Instant> = LazyLock::new(std::time::Instant::now);
    (EPOCH.elapsed() + after).as_micros() as u64 + 1
}

/// A SQLite connection lent to one caller; back to its pool when dropped, in
/// autocommit mode ([`SqliteConnections::settled`]).
struct Lent {
    conn: Option<SqliteConn>,
    from: Arc<SqliteConnections>,
    permit: Option<OwnedSemaphorePermit>,
}

impl SqliteConnections {
    fn new(
        conns: Vec<SqliteConn>,
        file: Option<&std::path::Path>,
        bound: Option<Duration>,
    ) -> Arc<SqliteConnections> {
        Arc::new(SqliteConnections {
            permits: Arc::new(Semaphore::new(conns.len())),
            idle: Mutex::new(conns),
            file: file.map(std::path::Path::to_path_buf),
            bound,
        })
    }

    /// A connection coming back, as it may be lent again: one still inside a
    /// transaction (its rollback failed, or a caller began one by statement) would
    /// hand that transaction to the next caller, so it is rolled back, or else closed
    /// and opened anew. `None` when no connection can take its place (an in-memory
    /// database cannot be opened again): the pool has one fewer.
    fn settled(&self, conn: SqliteConn) -> Option<SqliteConn> {
        if conn.shared.is_autocommit() == Some(true) {
            return Some(conn);
        }
        tracing::warn!("a SQLite connection came back inside a transaction: rolling it back");
        if conn.shared.is_autocommit().is_some()
            && conn.shared.execute_unprepared("ROLLBACK").is_ok()
            && conn.shared.is_autocommit() == Some(true)
        {
            return Some(conn);
        }
        drop(conn);
        let Some(file) = &self.file else {
            tracing::warn!(
                "a SQLite connection to an in-memory database could not be rolled back: \
                 it is closed, and its pool has one connection fewer"
            );
            return None;
        };
        tracing::warn!("a SQLite connection could not be rolled back: it is opened anew");
        match open_connection(Some(file), SQLITE_BUSY_WAIT) {
            Ok(fresh) => Some(fresh),
            Err(_) => {
                tracing::warn!(
                    "a SQLite connection could not be opened anew: its pool has one \
                     connection fewer"
                );
                None
            }
        }
    }

    /// Waits (at most [`ACQUIRE_TIMEOUT`]) for a connection of its own.
    async fn lend(self: &Arc<Self>) -> Result<Lent, DbErr> {
        let permit =
            match tokio::time::timeout(ACQUIRE_TIMEOUT, Arc::clone(&self.permits).acquire_owned())
                .await
            {
                Ok(Ok(permit)) => permit,
                Ok(Err(_)) => {
                    return Err(DbErr::ConnectionAcquire(ConnAcquireErr::ConnectionClosed));
                }
                Err(_) => return Err(DbErr::ConnectionAcquire(ConnAcquireErr::Timeout)),
            };
        // A permit is held for each connection out, so one is idle.
        let conn = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop()
            .ok_or(DbErr::ConnectionAcquire(ConnAcquireErr::ConnectionClosed))?;
        if let Some(bound) = self.bound {
            conn.deadline
                .store(deadline_micros(bound), Ordering::Relaxed);
        }
        Ok(Lent {
            conn: Some(conn),
            from: Arc::clone(self),
            permit: Some(permit),
        })
    }
}

impl Deref for Lent {
    type Target = DatabaseConnection;
    fn deref(&self) -> &DatabaseConnection {
        &self
            .conn
            .as_ref()
            .expect("a lent connection until it is dropped")
            .conn
    }
}

impl Drop for Lent {
    fn drop(&mut self) {
        // Back before the permit is released (fields drop after this).
        if let Some(conn) = self.conn.take() {
            conn.deadline.store(0, Ordering::Relaxed);
            match self.from.settled(conn) {
                Some(conn) => self
                    .from
                    .idle
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(conn),
                // No connection to give back: neither is its permit.
                None => {
                    if let Some(permit) = self.permit.take() {
                        permit.forget();
                    }
                }
            }
        }
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for Pool {
    fn get_database_backend(&self) -> DbBackend {
        match self {
            Pool::Sqlx(db) => db.get_database_backend(),
            Pool::Sqlite(_) => DbBackend::Sqlite,
        }
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        match self {
            Pool::Sqlx(db) => db.execute_raw(stmt).await,
            Pool::Sqlite(c) => c.lend().await?.execute_raw(stmt).await,
        }
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        match self {
            Pool::Sqlx(db) => db.execute_unprepared(sql).await,
            Pool::Sqlite(c) => c.lend().await?.execute_unprepared(sql).await,
        }
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        match self {
            Pool::Sqlx(db) => db.query_one_raw(stmt).await,
            Pool::Sqlite(c) => c.lend().await?.query_one_raw(stmt).await,
        }
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        match self {
            Pool::Sqlx(db) => db.query_all_raw(stmt).await,
            Pool::Sqlite(c) => c.lend().await?.query_all_raw(stmt).await,
        }
    }
}

impl Pool {
    /// Begins a transaction, which keeps its connection until it ends.
    async fn begin(&self, how: Begin) -> Result<Txn, DbErr> {
        match self {
            Pool::Sqlx(db) => Ok(Txn {
                began: None,
                txn: how.on(db).await?,
                _lent: None,
            }),
            Pool::Sqlite(c) => {
                let lent = c.lend().await?;
                let give_up = tokio::time::Instant::now() + BUSY_TIMEOUT;
                let txn = loop {
                    match how.on(&lent).await {
                        Err(e)
                            if sqlite_busy(&e)
                                && matches!(how, Begin::SqliteImmediate)
                                && tokio::time::Instant::now() < give_up =>
                        {
                            tokio::time::sleep(SQLITE_BEGIN_RETRY).await
                        }
                        begun => break begun?,
                    }
                };
                Ok(Txn {
                    txn,
                    _lent: Some(lent),
                    began: None,
                })
            }
        }
    }
}

/// How a transaction begins.
#[derive(Clone, Copy)]
enum Begin {
    /// The database's default (SQLite `DEFERRED`).
    Default,
    SqliteImmediate,
    Postgres(IsolationLevel, AccessMode),
}

impl Begin {
    async fn on(self, db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
        match self {
            Begin::Default => db.begin().await,
            Begin::SqliteImmediate => {
                db.begin_with_options(TransactionOptions {
                    sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                    ..TransactionOptions::default()
                })
                .await
            }
            Begin::Postgres(isolation, access) => {
                db.begin_with_config(Some(isolation), Some(access)).await
            }
        }
    }
}

/// A store transaction: a [`DatabaseTransaction`] and, on SQLite, the connection lent
/// to it (released after the transaction has ended: committed, rolled back, or rolled
/// back when dropped).
pub struct Txn {
    // Dropped first: a transaction not ended rolls back on its connection...
    txn: DatabaseTransaction,
    // ...which then goes back to its pool.
    _lent: Option<Lent>,
    /// Its kind and when it began, for [`transaction_latency`] (set by the timed begins).
    began: Option<(&'static str, std::time::Instant)>,
}

/// A transaction on a pooled connection (PostgreSQL, tests): nothing lent.
impl From<DatabaseTransaction> for Txn {
    fn from(txn: DatabaseTransaction) -> Txn {
        Txn {
            txn,
            _lent: None,
            began: None,
        }
    }
}

impl Deref for Txn {
    type Target = DatabaseTransaction;
    fn deref(&self) -> &DatabaseTransaction {
        &self.txn
    }
}

impl std::fmt::Debug for Txn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Txn").finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for Txn {
    fn get_database_backend(&self) -> DbBackend {
        self.txn.get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        self.txn.execute_raw(stmt).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.txn.execute_unprepared(sql).await
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        self.txn.query_one_raw(stmt).await
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        self.txn.query_all_raw(stmt).await
    }

    fn support_returning(&self) -> bool {
        self.txn.support_returning()
    }
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

/// SQLite's file was busy or locked (by another connection or process) past the busy
/// timeout.
fn sqlite_busy(e: &DbErr) -> bool {
    match e {
        DbErr::Exec(RuntimeErr::Rusqlite(r)) | DbErr::Query(RuntimeErr::Rusqlite(r)) => {
            matches!(r.as_ref(), rusqlite::Error::SqliteFailure(f, _)
                if matches!(f.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked))
        }
        _ => false,
    }
}

/// A SQLite statement ran past its connection's deadline and was interrupted.
fn sqlite_interrupted(e: &DbErr) -> bool {
    match e {
        DbErr::Exec(RuntimeErr::Rusqlite(r)) | DbErr::Query(RuntimeErr::Rusqlite(r)) => {
            matches!(r.as_ref(), rusqlite::Error::SqliteFailure(f, _)
                if f.code == rusqlite::ErrorCode::OperationInterrupted)
        }
        _ => false,
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
        _ if sqlite_busy(e) || sqlite_interrupted(e) => true,
        DbErr::Exec(RuntimeErr::SqlxError(s)) | DbErr::Query(RuntimeErr::SqlxError(s)) => {
            use sea_orm::sqlx::Error as X;
            match s.as_ref() {
                X::PoolTimedOut | X::PoolClosed | X::Io(_) | X::WorkerCrashed => true,
                X::Database(d) => d.code().is_some_and(|c| {
                    // PostgreSQL serialisation failure, deadlock, lock not available
                    // (lock_timeout), statement cancelled (statement_timeout), shutdown,
                    // too many connections.
                    matches!(
                        c.as_ref(),
                        "40001" | "40P01" | "55P03" | "57014" | "57P01" | "57P03" | "53300"
                    )
                }),
                _ => false,
            }
        }
        _ => false,
    }
}

/// The page cache of every SQLite connection: 8 MiB instead of SQLite's 2 MB, so the
/// indexes a write walks stay in memory (nine connections: 72 MiB at most). Also what a
/// bulk load's writer returns to.
pub(crate) const SQLITE_CACHE_SIZE: &str = "PRAGMA cache_size = -8192";

/// The settings of every SQLite connection, after opening it (and [`SQLITE_CACHE_SIZE`]).
const SQLITE_PRAGMAS: &str = "
    PRAGMA journal_mode = WAL;
    PRAGMA synchronous = NORMAL;
    PRAGMA foreign_keys = ON;
    -- Deleted and overwritten content is zeroed in the page (and freed pages are
    -- zeroed), so an erased party's text leaves no copy in the file once its page is
    -- checkpointed (see Pools::scrub_after_erase).
    PRAGMA secure_delete = ON;
    -- `PRAGMA optimize` samples at most this many rows per index, so gathering
    -- statistics stays quick on a large store.
    PRAGMA analysis_limit = 1000;
";

/// Prepared statements kept per SQLite connection (rusqlite's default is 16, fewer
/// than the distinct statements of one write; sqlx kept 100).
const SQLITE_STATEMENT_CACHE: usize = 100;

/// How many SQLite virtual-machine steps pass between two looks at a connection's
/// deadline (a look is a clock read: about a microsecond per few thousand steps).
const SQLITE_PROGRESS_STEPS: i32 = 4000;

/// Opens `connections` SQLite connections to `file` (created if missing), or one to a
/// new in-memory database when `file` is `None`.
fn open_sqlite(
    file: Option<&std::path::Path>,
    connections: u32,
    busy: Duration,
    bound: Option<Duration>,
) -> Result<Arc<SqliteConnections>, DbErr> {
    let conns = (0..connections)
        .map(|_| open_connection(file, busy))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(SqliteConnections::new(conns, file, bound))
}

/// Opens one SQLite connection to `file` (created if missing), or to a new in-memory
/// database, with the settings every connection has.
fn open_connection(file: Option<&std::path::Path>, busy: Duration) -> Result<SqliteConn, DbErr> {
    let conn_err = |e: rusqlite::Error| DbErr::Conn(RuntimeErr::Rusqlite(Arc::new(e)));
    let c = match file {
        Some(f) => rusqlite::Connection::open(f),
        None => rusqlite::Connection::open_in_memory(),
    }
    .map_err(conn_err)?;
    c.busy_timeout(busy).map_err(conn_err)?;
    c.set_prepared_statement_cache_capacity(SQLITE_STATEMENT_CACHE);
    c.execute_batch(SQLITE_PRAGMAS).map_err(conn_err)?;
    c.execute_batch(SQLITE_CACHE_SIZE).map_err(conn_err)?;
    let deadline = Arc::new(AtomicU64::new(0));
    let due = Arc::clone(&deadline);
    c.progress_handler(
        SQLITE_PROGRESS_STEPS,
        Some(move || {
            let at = due.load(Ordering::Relaxed);
            at != 0 && deadline_micros(Duration::ZERO) > at
        }),
    )
    .map_err(conn_err)?;
    let shared = RusqliteSharedConnection::from(c);
    Ok(SqliteConn {
        conn: shared.clone().into(),
        shared,
        deadline,
    })
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

/// The migrations recorded in the database (`seaql_migrations`), none when the table
/// does not exist yet (a new database); nothing is created.
async fn recorded_migrations<C: ConnectionTrait>(conn: &C) -> Result<Vec<String>, StoreError> {
    let backend = conn.get_database_backend();
    let exists = match backend {
        DbBackend::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'seaql_migrations'"
        }
        _ => {
            "SELECT c.relname AS name FROM pg_catalog.pg_class c \
              WHERE c.relname = 'seaql_migrations' AND c.relkind IN ('r', 'p') \
              AND pg_catalog.pg_table_is_visible(c.oid)"
        }
    };
    if conn
        .query_one_raw(Statement::from_string(backend, exists))
        .await
        .map_err(db_err)?
        .is_none()
    {
        return Ok(Vec::new());
    }
    conn.query_all_raw(Statement::from_string(
        backend,
        "SELECT version FROM seaql_migrations ORDER BY version",
    ))
    .await
    .map_err(db_err)?
    .iter()
    .map(|row| row.try_get::<String>("", "version").map_err(db_err))
    .collect()
}

/// The migrations this binary knows, oldest first.
fn known_migrations() -> Vec<String> {
    Migrator::migrations()
        .iter()
        .map(|m| m.name().to_owned())
        .collect()
}

/// A migration run that stopped: the migrations applied before it stopped, and why.
#[derive(Debug)]
pub struct MigrationFailure {
    /// The migrations applied before the failure, oldest first.
    pub applied: Vec<String>,
    /// Why it stopped: [`StoreError::NewerDatabase`] when the database holds migrations
    /// this binary does not know (then nothing was applied).
    pub error: StoreError,
}

/// Refuses a database newer than this binary (a migration recorded in
/// `seaql_migrations` that [`Migrator`] does not know: nothing is applied or written),
/// then applies the pending migrations one at a time and returns their names, oldest
/// first (empty when none were pending).
pub(crate) async fn migrate<'c, C>(conn: &'c C) -> Result<Vec<String>, MigrationFailure>
where
    C: ConnectionTrait,
    &'c C: sea_orm_migration::IntoSchemaManagerConnection<'c>,
{
    let failed = |applied: &[String], error| MigrationFailure {
        applied: applied.to_vec(),
        error,
    };
    let known = known_migrations();
    let recorded = recorded_migrations(conn)
        .await
        .map_err(|e| failed(&[], e))?;
    let unknown: Vec<String> = recorded
        .iter()
        .filter(|v| !known.contains(v))
        .cloned()
        .collect();
    if !unknown.is_empty() {
        return Err(failed(&[], StoreError::NewerDatabase(unknown)));
    }
    let mut applied = Vec::new();
    for name in known.into_iter().filter(|k| !recorded.contains(k)) {
        // One step at a time, so a failure names the migration that failed and the
        // ones applied before it.
        if let Err(e) = Migrator::up(conn, Some(1)).await {
            tracing::error!(migration = %name, "migration failed");
            return Err(failed(&applied, db_err(e)));
        }
        tracing::info!(migration = %name, "migration applied");
        applied.push(name);
    }
    Ok(applied)
}

/// The two keys of the session advisory lock the migrations of a PostgreSQL database
/// run under. The two-key space of advisory locks is apart from the one-key space the
/// writes' locks use (`lock.rs`), so they never meet.
const MIGRATION_LOCK: (i32, i32) = (0x6d69_646f, 1);

/// [`migrate`] on PostgreSQL, on one session of its own that holds [`MIGRATION_LOCK`]
/// meanwhile: two processes that start together (two replicas, each with its `migrate`
/// init container) migrate one after the other, and the second finds nothing left to
/// do, rather than both creating the same table. The session has no statement or lock
/// timeout: building an index over a large table takes longer than a call may, and the
/// second process waits for the first however long it takes.
async fn migrate_postgres(url: &str) -> Result<Vec<String>, MigrationFailure> {
    let failed = |error| MigrationFailure {
        applied: Vec::new(),
        error,
    };
    let db = Database::connect(postgres_options(url, 1))
        .await
        .map_err(|e| failed(db_err(e)))?;
    let (a, b) = MIGRATION_LOCK;
    let locked = db
        .execute_unprepared(&format!(
            "SET statement_timeout = 0; SET lock_timeout = 0; SELECT pg_advisory_lock({a}, {b})"
        ))
        .await
        .map_err(|e| failed(db_err(e)));
    let result = match locked {
        Ok(_) => migrate(&db).await,
        Err(e) => Err(e),
    };
    // Closing the session releases the lock too; unlock first, so that a pool that
    // keeps the connection a moment longer does not hold the next process up.
    let _ = db
        .execute_unprepared(&format!("SELECT pg_advisory_unlock({a}, {b})"))
        .await;
    let _ = db.close().await;
    result
}

/// Connects to `url` with one connection and runs [`migrate`] on it, for `midoffice
/// migrate` (on PostgreSQL under the migration lock: [`migrate_postgres`]).
pub async fn migrate_url(url: &str) -> Result<Vec<String>, MigrationFailure> {
    let failed = |error| MigrationFailure {
        applied: Vec::new(),
        error,
    };
    if url.starts_with("sqlite:") {
        let file = sqlite_path(url);
        if let Some(parent) = file.as_deref().and_then(std::path::Path::parent)
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(parent).map_err(|e| {
                tracing::error!(error = %e, "cannot create the database directory");
                failed(StoreError::Unavailable(
                    "cannot create the database directory".into(),
                ))
            })?;
        }
        let writer =
            open_sqlite(file.as_deref(), 1, BUSY_TIMEOUT, None).map_err(|e| failed(db_err(e)))?;
        let conn = writer.lend().await.map_err(|e| failed(db_err(e)))?;
        migrate(&*conn).await
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        migrate_postgres(url).await
    } else {
        Err(failed(StoreError::Internal(
            "the database URL must start with sqlite: or postgres:".into(),
        )))
    }
}

/// Connects and migrates (refusing a database newer than this binary: [`migrate`]),
/// with the figures' pool on `figures_url` when it is given: a PostgreSQL
/// hot standby of the primary `url` (PostgreSQL too), read-only. Its transactions are
/// `REPEATABLE READ, READ ONLY`, which a standby serves; it shows what it has replayed,
/// so figures lag the primary by the standby's replay delay, consistently (one snapshot
/// per figure read, the kept answers' day counters included: see `figure_cache`).
pub async fn connect_with(url: &str, figures_url: Option<&str>) -> Result<Pools, StoreError> {
    let mut pools = connect_primary(url).await?;
    if let Some(figures_url) = figures_url {
        let postgres = |u: &str| u.starts_with("postgres:") || u.starts_with("postgresql:");
        if pools.backend != DbBackend::Postgres || !postgres(figures_url) {
            return Err(StoreError::Internal(
                "a read database for figures (database.read_url) needs PostgreSQL, both \
                 it and the primary database"
                    .into(),
            ));
        }
        let standby = Database::connect(postgres_options(figures_url, FIGURE_CONNECTIONS))
            .await
            .map_err(db_err)?;
        let recovering = standby
            .query_one_raw(Statement::from_string(
                DbBackend::Postgres,
                "SELECT pg_is_in_recovery() AS standby",
            ))
            .await
            .map_err(db_err)?
            .and_then(|row| row.try_get::<bool>("", "standby").ok());
        if recovering == Some(true) {
            tracing::info!("figures read from a hot standby (database.read_url)");
        } else {
            tracing::warn!(
                "database.read_url is not a server in recovery (a hot standby): figures \
                 read from it all the same; nothing is written there"
            );
        }
        pools.figures = Pool::Sqlx(standby);
    }
    Ok(pools)
}

/// [`connect_with`] on the primary alone.
async fn connect_primary(url: &str) -> Result<Pools, StoreError> {
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
        let writer = open_sqlite(file.as_deref(), 1, BUSY_TIMEOUT, None).map_err(db_err)?;
        {
            // The migrations run on the writer's connection, lent to them, waiting up to
            // BUSY_TIMEOUT inside SQLite for another process's write; then it serves.
            let conn = writer.lend().await.map_err(db_err)?;
            migrate(&*conn).await.map_err(|f| f.error)?;
            conn.execute_unprepared(&format!(
                "PRAGMA busy_timeout = {}",
                SQLITE_BUSY_WAIT.as_millis()
            ))
            .await
            .map_err(db_err)?;
        }
        let writer = Pool::Sqlite(writer);
        optimize(&writer, OPTIMIZE_AT_OPEN).await;
        spawn_periodic_optimize(writer.clone());
        // An in-memory database exists once per connection: read through the writer
        // (its one connection, lent to one caller at a time).
        let reader = match &file {
            Some(f) => Pool::Sqlite(
                open_sqlite(
                    Some(f),
                    SQLITE_READERS,
                    SQLITE_BUSY_WAIT,
                    Some(CLIENT_TIMEOUT),
                )
                .map_err(db_err)?,
            ),
            None => writer.clone(),
        };
        // Figures read through their own connections too (the in-memory database has
        // only the one).
        let figures = match &file {
            Some(f) => Pool::Sqlite(
                open_sqlite(
                    Some(f),
                    FIGURE_CONNECTIONS,
                    SQLITE_BUSY_WAIT,
                    Some(CLIENT_TIMEOUT),
                )
                .map_err(db_err)?,
            ),
            None => writer.clone(),
        };
        Pools {
            writer,
            reader,
            figures,
            backend: DbBackend::Sqlite,
        }
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        // First the migrations, on their own session under the migration lock.
        migrate_postgres(url).await.map_err(|f| f.error)?;
        let db = Database::connect(postgres_options(url, POSTGRES_CONNECTIONS))
            .await
            .map_err(db_err)?;
        let figures = Database::connect(postgres_options(url, FIGURE_CONNECTIONS))
            .await
            .map_err(db_err)?;
        Pools {
            writer: Pool::Sqlx(db.clone()),
            reader: Pool::Sqlx(db),
            figures: Pool::Sqlx(figures),
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

async fn optimize(writer: &Pool, pragma: &str) {
    if let Err(e) = writer
        .execute_raw(Statement::from_string(DbBackend::Sqlite, pragma))
        .await
    {
        tracing::warn!(error = %e, "PRAGMA optimize failed; planner statistics may be stale");
    }
}

/// Runs `PRAGMA optimize` on the writer every [`OPTIMIZE_EVERY`] while the runtime runs.
fn spawn_periodic_optimize(writer: Pool) {
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
    pub async fn begin_write(&self) -> Result<Txn, StoreError> {
        let how = match self.backend {
            DbBackend::Postgres => Begin::Default,
            _ => Begin::SqliteImmediate,
        };
        timed("write", async {
            self.writer.begin(how).await.map_err(db_err)
        })
        .await
    }

    /// Begins a read that is logged (the processing log): one consistent snapshot, able
    /// to insert its records. On PostgreSQL without locks (the records are inserts under
    /// fresh keys, no read-then-write), so reads run side by side; SQLite has one
    /// writer, so it is a write transaction there.
    pub async fn begin_logged_read(&self) -> Result<Txn, StoreError> {
        match self.backend {
            DbBackend::Postgres => {
                timed("logged_read", async {
                    self.writer
                        .begin(Begin::Postgres(
                            IsolationLevel::RepeatableRead,
                            AccessMode::ReadWrite,
                        ))
                        .await
                        .map_err(db_err)
                })
                .await
            }
            _ => self.begin_write().await,
        }
    }

    /// Begins a read transaction: one consistent snapshot for all its queries, on the
    /// primary (a read that decides a write reads here, never on a standby).
    pub async fn begin_read(&self) -> Result<Txn, StoreError> {
        timed("read", self.begin_read_on(&self.reader)).await
    }

    /// Begins a read transaction on the figures' own pool (a hot standby when one is
    /// configured): for figure answers only, which write nothing and decide no write.
    pub async fn begin_figures_read(&self) -> Result<Txn, StoreError> {
        timed("figures", self.begin_read_on(&self.figures)).await
    }

    async fn begin_read_on(&self, pool: &Pool) -> Result<Txn, StoreError> {
        let how = match self.backend {
            DbBackend::Postgres => {
                Begin::Postgres(IsolationLevel::RepeatableRead, AccessMode::ReadOnly)
            }
            _ => Begin::Default,
        };
        pool.begin(how).await.map_err(db_err)
    }
}

/// How long beginning a transaction took, by kind (`write`, `logged_read`, `read`,
/// `figures`): the wait for a pooled connection plus, on SQLite, for the one writer's
/// lock (`BEGIN IMMEDIATE`). Where the store's latency under load shows first, and
/// cheap: one clock read and one histogram record per transaction. A no-op until the
/// binary installs a meter provider (an OTLP endpoint is configured).
pub fn begin_latency() -> &'static opentelemetry::metrics::Histogram<f64> {
    static HISTOGRAM: std::sync::OnceLock<opentelemetry::metrics::Histogram<f64>> =
        std::sync::OnceLock::new();
    HISTOGRAM.get_or_init(|| {
        opentelemetry::global::meter("midoffice")
            .f64_histogram("midoffice.store.begin.duration")
            .with_unit("s")
            .with_description("Time to begin a store transaction (pool and write lock wait)")
            .with_boundaries(vec![
                0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                5.0,
            ])
            .build()
    })
}

/// How long a store transaction took from its begin to its end (commit or rollback
/// done), by kind (as [`begin_latency`]) and outcome (`commit`, `rollback`, `error`: the
/// commit failed): the store's latency as a call sees it, beside the wait to begin.
pub fn transaction_latency() -> &'static opentelemetry::metrics::Histogram<f64> {
    static HISTOGRAM: std::sync::OnceLock<opentelemetry::metrics::Histogram<f64>> =
        std::sync::OnceLock::new();
    HISTOGRAM.get_or_init(|| {
        opentelemetry::global::meter("midoffice")
            .f64_histogram("midoffice.store.transaction.duration")
            .with_unit("s")
            .with_description("Time of a store transaction, from its begin to its end")
            .with_boundaries(vec![
                0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                5.0,
            ])
            .build()
    })
}

async fn timed(
    kind: &'static str,
    begin: impl std::future::Future<Output = Result<Txn, StoreError>>,
) -> Result<Txn, StoreError> {
    let started = std::time::Instant::now();
    let result = begin.await;
    begin_latency().record(
        started.elapsed().as_secs_f64(),
        &[
            opentelemetry::KeyValue::new("kind", kind),
            opentelemetry::KeyValue::new("outcome", if result.is_ok() { "ok" } else { "error" }),
        ],
    );
    result.map(|mut txn| {
        txn.began = Some((kind, std::time::Instant::now()));
        txn
    })
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
        let Pool::Sqlx(writer) = &self.writer else {
            return Err(sea_orm::sqlx::Error::PoolClosed);
        };
        let mut conn = writer.get_postgres_connection_pool().acquire().await?;
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
    txn: impl Into<Txn>,
    result: Result<T, StoreError>,
) -> Result<T, StoreError> {
    // The connection goes back to its pool when `_lent` drops, after the end.
    let Txn { txn, _lent, began } = txn.into();
    let record = |outcome: &'static str| {
        if let Some((kind, at)) = began {
            transaction_latency().record(
                at.elapsed().as_secs_f64(),
                &[
                    opentelemetry::KeyValue::new("kind", kind),
                    opentelemetry::KeyValue::new("outcome", outcome),
                ],
            );
        }
    };
    match result {
        Ok(v) => {
            let committed = txn.commit().await.map_err(db_err);
            record(if committed.is_ok() { "commit" } else { "error" });
            committed?;
            Ok(v)
        }
        Err(e) => {
            if let Err(re) = txn.rollback().await {
                tracing::error!(error = %re, "rollback failed");
            }
            record("rollback");
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts to a billion: seconds of work inside one SQLite statement.
    const LONG: &str = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c \
                        WHERE x < 1000000000) SELECT count(*) FROM c";

    #[tokio::test]
    async fn a_sqlite_statement_past_its_connections_deadline_is_interrupted() {
        let pool = Pool::Sqlite(
            open_sqlite(None, 1, SQLITE_BUSY_WAIT, Some(Duration::from_millis(100)))
                .expect("an in-memory database"),
        );
        let started = std::time::Instant::now();
        let err = pool
            .query_one_raw(Statement::from_string(DbBackend::Sqlite, LONG))
            .await
            .expect_err("interrupted at its deadline");
        assert!(sqlite_interrupted(&err), "{err}");
        assert!(matches!(db_err(err), StoreError::Unavailable(_)));
        // Well before the count could finish (a bound, not a timing target).
        assert!(started.elapsed() < Duration::from_secs(30));
        // The next caller gets a fresh deadline: a short statement runs.
        let one = pool
            .query_one_raw(Statement::from_string(DbBackend::Sqlite, "SELECT 1 AS one"))
            .await
            .expect("a short statement after the interrupted one")
            .expect("a row");
        assert_eq!(one.try_get::<i64>("", "one").expect("one"), 1);
    }

    async fn count_of_t(lent: &Lent) -> i64 {
        lent.query_one_raw(Statement::from_string(
            DbBackend::Sqlite,
            "SELECT count(*) AS n FROM t",
        ))
        .await
        .expect("a count")
        .expect("a row")
        .try_get::<i64>("", "n")
        .expect("n")
    }

    fn autocommit(lent: &Lent) -> Option<bool> {
        lent.conn.as_ref().and_then(|c| c.shared.is_autocommit())
    }

    #[tokio::test]
    async fn a_connection_back_inside_a_transaction_is_rolled_back_before_it_is_lent_again() {
        let pool = open_sqlite(None, 1, SQLITE_BUSY_WAIT, None).expect("an in-memory database");
        {
            let lent = pool.lend().await.expect("a connection");
            lent.execute_unprepared("CREATE TABLE t (x INTEGER)")
                .await
                .expect("a table");
            lent.execute_unprepared("BEGIN").await.expect("begin");
            lent.execute_unprepared("INSERT INTO t VALUES (1)")
                .await
                .expect("an insert");
            assert_eq!(autocommit(&lent), Some(false));
            // Back to the pool inside its transaction.
        }
        let lent = pool.lend().await.expect("the connection again");
        assert_eq!(autocommit(&lent), Some(true));
        assert_eq!(count_of_t(&lent).await, 0, "the insert was rolled back");
        // A transaction begins on it (it would not inside another).
        lent.begin()
            .await
            .expect("a transaction begins")
            .rollback()
            .await
            .expect("and ends");
    }

    #[tokio::test]
    async fn a_connection_that_cannot_be_rolled_back_is_opened_anew() {
        let dir = tempfile::tempdir().expect("a folder");
        let file = dir.path().join("t.db");
        let pool = open_sqlite(Some(&file), 1, SQLITE_BUSY_WAIT, None).expect("a database file");
        {
            let lent = pool.lend().await.expect("a connection");
            lent.execute_unprepared("CREATE TABLE t (x INTEGER)")
                .await
                .expect("a table");
            let txn = lent.begin().await.expect("a transaction");
            txn.execute_unprepared("INSERT INTO t VALUES (1)")
                .await
                .expect("an insert");
            // The transaction never ends: it keeps its connection (the driver's loan),
            // so nothing can roll it back.
            std::mem::forget(txn);
            assert_eq!(autocommit(&lent), None);
        }
        let lent = pool.lend().await.expect("a connection again");
        assert_eq!(autocommit(&lent), Some(true), "a new connection");
        assert_eq!(
            count_of_t(&lent).await,
            0,
            "outside the transaction left open"
        );
    }

    #[tokio::test]
    async fn the_writer_has_no_deadline() {
        let pool = open_sqlite(None, 1, SQLITE_BUSY_WAIT, None).expect("an in-memory database");
        let lent = pool.lend().await.expect("a connection");
        assert_eq!(
            lent.conn
                .as_ref()
                .map(|c| c.deadline.load(Ordering::Relaxed)),
            Some(0)
        );
    }
}
