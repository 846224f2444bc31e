//! Experiment: a transaction shaped like a StartContact (BEGIN IMMEDIATE, five indexed
//! SELECTs, five INSERTs, COMMIT) at 16 concurrent tasks on a 2-thread runtime, through
//! sea-orm over sqlx-sqlite (each statement sent to the connection's own thread) and inline on
//! the calling task (rusqlite behind an async mutex). `cargo run --release -p
//! midoffice-store --example sqlite_hops -- SECONDS`; results in docs/benchmarks.md.
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DbBackend, SqliteTransactionMode, Statement,
    TransactionOptions, TransactionTrait, Value,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

const SCHEMA: &[&str] = &[
    "CREATE TABLE party (id blob PRIMARY KEY, tenant text NOT NULL, created_at integer NOT NULL, merged_into blob)",
    "CREATE TABLE identifier (tenant text NOT NULL, kind text NOT NULL, hash text NOT NULL, party_id blob NOT NULL, PRIMARY KEY (tenant, kind, hash))",
    "CREATE TABLE \"case\" (id blob PRIMARY KEY, tenant text NOT NULL, party_id blob, topic text, status text, opened_at integer)",
    "CREATE INDEX ix_case_tenant_party ON \"case\"(tenant, party_id)",
    "CREATE TABLE contact (id blob PRIMARY KEY, tenant text NOT NULL, party_id blob, case_id blob, channel text, started_at integer, story text, created_at integer)",
    "CREATE INDEX ix_contact_tenant_case ON contact(tenant, case_id)",
    "CREATE INDEX ix_contact_tenant_party ON contact(tenant, party_id)",
    "CREATE TABLE idempotency (tenant text NOT NULL, operation text NOT NULL, key text NOT NULL, response text, party_id blob, PRIMARY KEY (tenant, operation, key))",
    "CREATE TABLE processing_record (id blob PRIMARY KEY, tenant text, subject blob, at integer, activity text)",
    "CREATE TABLE audit_record (id blob PRIMARY KEY, tenant text, at integer, what text)",
];

fn uuid(n: u64) -> Vec<u8> {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&n.to_be_bytes());
    b[8..].copy_from_slice(&(n.wrapping_mul(0x9E37_79B9_7F4A_7C15)).to_be_bytes());
    b.to_vec()
}

fn setup(path: &str) {
    let _ = std::fs::remove_file(path);
    let c = rusqlite::Connection::open(path).unwrap();
    c.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;")
        .unwrap();
    for s in SCHEMA {
        c.execute(s, []).unwrap();
    }
    c.execute_batch("BEGIN").unwrap();
    for p in 0..10_000u64 {
        c.execute(
            "INSERT INTO party VALUES (?1, 't', 1, NULL)",
            rusqlite::params![uuid(p)],
        )
        .unwrap();
        c.execute(
            "INSERT INTO identifier VALUES ('t', 'bsn', ?1, ?2)",
            rusqlite::params![format!("h{p}"), uuid(p)],
        )
        .unwrap();
        for k in 0..3u64 {
            let case = uuid(1_000_000 + p * 3 + k);
            c.execute(
                "INSERT INTO \"case\" VALUES (?1, 't', ?2, 'paspoort', 'open', 1)",
                rusqlite::params![case, uuid(p)],
            )
            .unwrap();
            c.execute(
                "INSERT INTO contact VALUES (?1, 't', ?2, ?3, 'phone', 1, 'een verhaal', 1)",
                rusqlite::params![uuid(5_000_000 + p * 3 + k), uuid(p), case],
            )
            .unwrap();
        }
    }
    c.execute_batch("COMMIT").unwrap();
}

// The statements of one transaction: (sql, params, is_query)
fn statements(n: u64) -> Vec<(&'static str, Vec<Value>, bool)> {
    let p = n % 10_000;
    let party = uuid(p);
    vec![
        (
            "SELECT response FROM idempotency WHERE tenant = ? AND operation = ? AND key = ?",
            vec!["t".into(), "start".into(), format!("k{n}").into()],
            true,
        ),
        (
            "SELECT party_id FROM identifier WHERE tenant = ? AND kind = ? AND hash = ?",
            vec!["t".into(), "bsn".into(), format!("h{p}").into()],
            true,
        ),
        (
            "SELECT id, tenant, created_at, merged_into FROM party WHERE id = ?",
            vec![party.clone().into()],
            true,
        ),
        (
            "SELECT id, party_id, topic, status, opened_at FROM \"case\" WHERE tenant = ? AND party_id = ?",
            vec!["t".into(), party.clone().into()],
            true,
        ),
        (
            "SELECT id, case_id, channel, started_at, story FROM contact WHERE tenant = ? AND party_id = ?",
            vec!["t".into(), party.clone().into()],
            true,
        ),
        (
            "INSERT INTO contact VALUES (?, 't', ?, NULL, 'phone', ?, NULL, ?)",
            vec![
                uuid(100_000_000 + n).into(),
                party.clone().into(),
                (n as i64).into(),
                (n as i64).into(),
            ],
            false,
        ),
        (
            "INSERT INTO processing_record VALUES (?, 't', ?, ?, 'urn:x')",
            vec![
                uuid(200_000_000 + n).into(),
                party.clone().into(),
                (n as i64).into(),
            ],
            false,
        ),
        (
            "INSERT INTO processing_record VALUES (?, 't', ?, ?, 'urn:y')",
            vec![
                uuid(300_000_000 + n).into(),
                party.clone().into(),
                (n as i64).into(),
            ],
            false,
        ),
        (
            "INSERT INTO audit_record VALUES (?, 't', ?, 'start')",
            vec![uuid(400_000_000 + n).into(), (n as i64).into()],
            false,
        ),
        (
            "INSERT INTO idempotency VALUES ('t', 'start', ?, '{\"a\":1}', ?)",
            vec![format!("k{n}").into(), party.into()],
            false,
        ),
    ]
}

fn to_sql(v: &Value) -> rusqlite::types::Value {
    use rusqlite::types::Value as R;
    match v {
        Value::String(Some(s)) => R::Text(s.to_string()),
        Value::Bytes(Some(b)) => R::Blob(b.to_vec()),
        Value::BigInt(Some(i)) => R::Integer(*i),
        _ => R::Null,
    }
}

async fn run<F, Fut>(name: &str, secs: u64, tasks: usize, f: F)
where
    F: Fn(u64) -> Fut + Send + Sync + 'static + Clone,
    Fut: Future<Output = ()> + Send,
{
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let next = Arc::new(AtomicU64::new(0));
    let mut handles = vec![];
    let start = Instant::now();
    let cs0 = ctx_switches();
    let cpu0 = cpu_secs();
    for _ in 0..tasks {
        let (stop, count, next, f) = (stop.clone(), count.clone(), next.clone(), f.clone());
        handles.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let n = next.fetch_add(1, Ordering::Relaxed) + NBASE.load(Ordering::Relaxed);
                f(n).await;
                count.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(secs)).await;
    stop.store(true, Ordering::Relaxed);
    for h in handles {
        h.await.unwrap();
    }
    let el = start.elapsed().as_secs_f64();
    let n = count.load(Ordering::Relaxed);
    NBASE.fetch_add(next.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
    let cs = ctx_switches() - cs0;
    let cpu = cpu_secs() - cpu0;
    println!(
        "{name}: {n} txns in {el:.1}s = {:.0} txn/s, {:.0} µs wall/txn, {:.0} µs CPU/txn, {:.1} ctx switches/txn",
        n as f64 / el,
        el * 1e6 / n as f64,
        cpu * 1e6 / n as f64,
        cs as f64 / n as f64
    );
}

fn cpu_secs() -> f64 {
    // utime + stime of the process, in clock ticks (100 a second).
    let s = std::fs::read_to_string("/proc/self/stat").unwrap();
    let after = &s[s.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = after.split_whitespace().collect();
    (f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()) as f64 / 100.0
}

static NBASE: AtomicU64 = AtomicU64::new(0);

fn ctx_switches() -> u64 {
    let mut total = 0;
    for t in std::fs::read_dir("/proc/self/task").unwrap() {
        let s = std::fs::read_to_string(t.unwrap().path().join("status")).unwrap_or_default();
        for l in s.lines() {
            if l.starts_with("voluntary_ctxt_switches")
                || l.starts_with("nonvoluntary_ctxt_switches")
            {
                total += l.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap();
            }
        }
    }
    total
}

fn main() {
    let path = "/tmp/hops-exp.db";
    setup(path);
    let secs: u64 = std::env::args()
        .nth(1)
        .map(|s| s.parse().unwrap())
        .unwrap_or(5);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        // A: sea-orm over sqlx-sqlite, one writer connection.
        let mut opt = ConnectOptions::new(format!("sqlite://{path}?mode=rwc"));
        opt.max_connections(1)
            .min_connections(1)
            .sqlx_logging(false);
        let db = Database::connect(opt).await.unwrap();
        db.execute_unprepared("PRAGMA synchronous=NORMAL")
            .await
            .unwrap();
        let db = Arc::new(db);
        // B: rusqlite on the calling worker, behind an async mutex.
        let conn = rusqlite::Connection::open(path).unwrap();
        conn.execute_batch(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000",
        )
        .unwrap();
        conn.set_prepared_statement_cache_capacity(64);
        let conn = Arc::new(tokio::sync::Mutex::new(conn));
        for round in 0..3 {
            let d = db.clone();
            run(&format!("[{round}] sqlx (sea-orm)"), secs, 16, move |n| {
                let d = d.clone();
                async move {
                    let txn = d
                        .begin_with_options(TransactionOptions {
                            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                            ..Default::default()
                        })
                        .await
                        .unwrap();
                    for (sql, params, q) in statements(n) {
                        let st = Statement::from_sql_and_values(DbBackend::Sqlite, sql, params);
                        if q {
                            txn.query_all_raw(st).await.unwrap();
                        } else {
                            txn.execute_raw(st).await.unwrap();
                        }
                    }
                    txn.commit().await.unwrap();
                }
            })
            .await;
            let c = conn.clone();
            run(
                &format!("[{round}] inline (rusqlite)"),
                secs,
                16,
                move |n| {
                    let c = c.clone();
                    async move {
                        let stmts = statements(n);
                        let c = c.lock().await;
                        c.execute_batch("BEGIN IMMEDIATE").unwrap();
                        for (sql, params, q) in stmts {
                            let mut st = c.prepare_cached(sql).unwrap();
                            let ps: Vec<_> = params.iter().map(to_sql).collect();
                            if q {
                                let mut rows = st.query(rusqlite::params_from_iter(ps)).unwrap();
                                let ncol = rows.as_ref().unwrap().column_count();
                                while let Some(r) = rows.next().unwrap() {
                                    for i in 0..ncol {
                                        let _v: rusqlite::types::Value = r.get(i).unwrap();
                                    }
                                }
                            } else {
                                st.execute(rusqlite::params_from_iter(ps)).unwrap();
                            }
                        }
                        c.execute_batch("COMMIT").unwrap();
                    }
                },
            )
            .await;
        }
    });
}
