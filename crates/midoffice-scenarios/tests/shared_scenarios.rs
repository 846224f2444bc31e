//! Plays every shared scenario against a fresh server, on SQLite and, when
//! `MIDOFFICE_TEST_DATABASE_URL` is set, on PostgreSQL.

use std::path::PathBuf;

fn shared_folder() -> PathBuf {
    match std::env::var_os("MIDOFFICE_SCENARIOS") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/scenarios"),
    }
}

fn file_count(dir: &PathBuf) -> usize {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "yaml" || x == "yml")
        })
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_scenarios_pass_on_sqlite() {
    let dir = shared_folder();
    let files = file_count(&dir);
    let summary = midoffice_scenarios::play_paths(&[dir], None).await;
    assert_eq!(summary.failed, 0, "{summary:?}");
    assert_eq!(summary.passed, files, "{summary:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_scenarios_pass_on_postgres() {
    let url = match std::env::var("MIDOFFICE_TEST_DATABASE_URL") {
        Ok(url) if !url.trim().is_empty() => url.trim().to_string(),
        _ => {
            println!("skipped on PostgreSQL: MIDOFFICE_TEST_DATABASE_URL not set");
            return;
        }
    };
    let dir = shared_folder();
    let files = file_count(&dir);
    let summary = midoffice_scenarios::play_paths(&[dir], Some(&url)).await;
    assert_eq!(summary.failed, 0, "{summary:?}");
    assert_eq!(summary.passed, files, "{summary:?}");
}
