//! Plays every scenario file against a fresh server, on SQLite and on PostgreSQL: the
//! project's own (`tests/scenarios`) always, and the shared ones (`../shared/scenarios`,
//! or the folder `MIDOFFICE_SCENARIOS` names) when they are there (see
//! [`midoffice_scenarios::folders`]).

use std::path::PathBuf;

use midoffice_scenarios::database_test;
use midoffice_scenarios::folders::{project_folder, scenario_files, shared_folder};
use midoffice_scenarios::scratch::TestDatabase;

/// Plays every file of `dir` and asserts that all of them, and at least one, passed.
async fn all_pass(dir: PathBuf, database: TestDatabase) {
    let files = scenario_files(std::slice::from_ref(&dir)).len();
    let summary = midoffice_scenarios::play_paths(&[dir], database.postgres_url()).await;
    assert_eq!(summary.failed, 0, "on {database}: {summary:?}");
    assert_eq!(summary.passed, files, "on {database}: {summary:?}");
}

database_test!(
    project_scenarios_pass,
    flavor = "multi_thread",
    worker_threads = 2
);
async fn project_scenarios_pass(database: TestDatabase) {
    all_pass(project_folder(), database).await;
}

database_test!(
    shared_scenarios_pass,
    flavor = "multi_thread",
    worker_threads = 2
);
async fn shared_scenarios_pass(database: TestDatabase) {
    if let Some(shared) = shared_folder() {
        all_pass(shared, database).await;
    }
}
