//! Migrations run by the real binary: `midoffice migrate` applies the pending ones and
//! says which, after which `serve` starts on the database; a database that holds a
//! migration this binary does not know (migrated by a newer midoffice) is refused by
//! `serve`, `migrate` and `retention run` alike, with a message naming it, and left as
//! it was.

mod common;

use midoffice_tests::{TestDatabase, database_test};
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// A secret for the tests, from the environment.
const SECRET: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

/// The name of a migration only a newer midoffice knows.
const FUTURE: &str = "m9999_from_a_newer_midoffice";

fn midoffice(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_midoffice"));
    cmd.env_clear()
        .env("RUST_LOG", "info")
        .env("MIDOFFICE_SECRET", SECRET)
        .current_dir(dir)
        .stdin(Stdio::null());
    cmd
}

fn migrate(dir: &Path, database_url: &str) -> Output {
    midoffice(dir)
        .args([
            "migrate",
            "--data-dir",
            "data",
            "--database-url",
            database_url,
        ])
        .output()
        .expect("the binary runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_on_a_fresh_data_dir_applies_every_migration_once_then_serve_starts() {
    let dir = tempfile::tempdir().expect("a temp folder");
    // No --database-url: the SQLite file in the data folder, as `serve` would use it.
    let out = midoffice(dir.path())
        .args(["migrate", "--data-dir", "data"])
        .output()
        .expect("the binary runs");
    let text = common::said(&out);
    assert!(out.status.success(), "migrate failed: {text}");
    for name in [
        "applied m0001_initial",
        "applied m0013_contact_case_started",
        "applied m0015_benchmark_import",
        "applied m0016_benchmark_group",
    ] {
        assert!(text.contains(name), "{name} missing in {text}");
    }
    assert!(text.contains("migration(s) applied"), "{text}");
    let file = dir.path().join("data").join("midoffice.db");
    assert!(file.is_file(), "no database at {}", file.display());

    let again = migrate(dir.path(), &format!("sqlite://{}?mode=rwc", file.display()));
    let text = common::said(&again);
    assert!(again.status.success(), "a second migrate failed: {text}");
    assert!(text.contains("no migration was pending"), "{text}");
    assert!(!text.contains("applied m0"), "{text}");

    let url = format!("sqlite://{}?mode=rwc", file.display());
    let _server =
        common::launch(Path::new(env!("CARGO_BIN_EXE_midoffice")), &url, dir.path()).await;
}

#[test]
fn migrate_on_an_unusable_database_url_fails_with_a_message() {
    let dir = tempfile::tempdir().expect("a temp folder");
    let out = migrate(dir.path(), "mysql://nobody:hunter22@127.0.0.1/none");
    let text = common::said(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("cannot migrate the database"), "{text}");
    assert!(text.contains("sqlite: or postgres:"), "{text}");
    assert!(!text.contains("hunter22"), "the password was shown: {text}");
}

/// The migrations recorded in the database, in name order.
async fn recorded(url: &str) -> Vec<String> {
    run_sql(url, None).await
}

/// Runs `insert` (if any) on the database of `url`, then answers the recorded
/// migrations.
async fn run_sql(url: &str, insert: Option<&str>) -> Vec<String> {
    const LIST: &str = "SELECT version FROM seaql_migrations ORDER BY version";
    if let Some(path) = midoffice_store::sqlite_path(url) {
        let conn = rusqlite::Connection::open(path).expect("the SQLite file opens");
        if let Some(sql) = insert {
            conn.execute_batch(sql).expect("the row is written");
        }
        let mut stmt = conn.prepare(LIST).expect("a statement");
        stmt.query_map([], |row| row.get::<_, String>(0))
            .expect("the rows")
            .map(|r| r.expect("a version"))
            .collect()
    } else {
        use sea_orm::ConnectionTrait;
        let db = sea_orm::Database::connect(url)
            .await
            .expect("PostgreSQL answers");
        if let Some(sql) = insert {
            db.execute_unprepared(sql)
                .await
                .expect("the row is written");
        }
        let rows = db
            .query_all_raw(sea_orm::Statement::from_string(
                db.get_database_backend(),
                LIST,
            ))
            .await
            .expect("the rows");
        let versions = rows
            .iter()
            .map(|r| r.try_get::<String>("", "version").expect("a version"))
            .collect();
        let _ = db.close().await;
        versions
    }
}

database_test!(
    a_database_migrated_by_a_newer_midoffice_is_refused_and_left_as_it_was,
    flavor = "multi_thread",
    worker_threads = 2
);
async fn a_database_migrated_by_a_newer_midoffice_is_refused_and_left_as_it_was(
    database: TestDatabase,
) {
    let dir = tempfile::tempdir().expect("a temp folder");
    let scratch = database
        .scratch()
        .await
        .unwrap_or_else(|e| panic!("a scratch database on {database}: {e}"));
    let url = scratch.url.clone();

    let out = migrate(dir.path(), &url);
    assert!(
        out.status.success(),
        "migrate failed: {}",
        common::said(&out)
    );
    let insert = format!(
        "INSERT INTO seaql_migrations (version, applied_at) VALUES ('{FUTURE}', 1893456000)"
    );
    let before = run_sql(&url, Some(&insert)).await;
    assert!(before.iter().any(|v| v == FUTURE), "{before:?}");

    let serve = [
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--mode",
        "development",
        "--data-dir",
        "data",
        "--database-url",
    ];
    let migrate_args = ["migrate", "--data-dir", "data", "--database-url"];
    let retention = [
        "retention",
        "run",
        "--mode",
        "development",
        "--data-dir",
        "data",
        "--database-url",
    ];
    for args in [&serve[..], &migrate_args[..], &retention[..]] {
        let out = midoffice(dir.path())
            .args(args)
            .arg(&url)
            .output()
            .expect("the binary runs");
        let text = common::said(&out);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{args:?} did not refuse: {text}"
        );
        for needed in [FUTURE, "newer midoffice", "nothing was changed"] {
            assert!(
                text.contains(needed),
                "{args:?}: {needed} missing in {text}"
            );
        }
    }
    assert_eq!(
        recorded(&url).await,
        before,
        "the refused database was changed"
    );
    scratch.drop_db().await;
}
