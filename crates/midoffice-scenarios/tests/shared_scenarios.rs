//! Plays every shared scenario, and every scenario committed in `tests/scenarios`,
//! against a fresh server, on SQLite and, when `MIDOFFICE_TEST_DATABASE_URL` is set, on
//! PostgreSQL.

use std::path::{Path, PathBuf};

use midoffice_scenarios::scratch::test_postgres_url;

fn shared_folder() -> PathBuf {
    match std::env::var_os("MIDOFFICE_SCENARIOS") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/scenarios"),
    }
}

/// The project's own scenarios, beside the shared ones.
fn project_folder() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/scenarios")
}

fn file_count(dir: &Path) -> usize {
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

/// Plays every file of `dir` and asserts that all of them, and at least one, passed.
async fn all_pass(dir: PathBuf, database_url: Option<&str>) {
    let files = file_count(&dir);
    assert!(files > 0, "no scenario files in {}", dir.display());
    let summary = midoffice_scenarios::play_paths(&[dir], database_url).await;
    assert_eq!(summary.failed, 0, "{summary:?}");
    assert_eq!(summary.passed, files, "{summary:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_scenarios_pass_on_sqlite() {
    all_pass(shared_folder(), None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_scenarios_pass_on_postgres() {
    let Some(url) = test_postgres_url() else {
        return;
    };
    all_pass(shared_folder(), Some(&url)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn project_scenarios_pass_on_sqlite() {
    all_pass(project_folder(), None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn project_scenarios_pass_on_postgres() {
    let Some(url) = test_postgres_url() else {
        return;
    };
    all_pass(project_folder(), Some(&url)).await;
}
