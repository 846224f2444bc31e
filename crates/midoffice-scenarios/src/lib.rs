//! The scenario runner: parses story files (format in `docs/scenarios.md`), plays each
//! against a freshly started in-process server through the generated gRPC client over a
//! real socket, and checks every expectation strictly.
//!
//! Each file gets an empty store of its own: a fresh SQLite file, or a freshly created
//! PostgreSQL database that is dropped afterwards ([`play_paths`]), or handed to the
//! caller to look into ([`play_paths_keeping`]).

pub mod folders;
mod play;
pub mod scenario;
pub mod scratch;

use std::path::{Path, PathBuf};
use std::time::Duration;

use midoffice_api::server::{AppState, spawn};
use midoffice_domain::identifier::Pseudonymiser;
use midoffice_store::Store;
use tonic::transport::Endpoint;

pub use scenario::{ParseError, Scenario, load, parse};
pub use scratch::{ScratchDb, test_secret};

/// How many files passed and failed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    pub passed: usize,
    pub failed: usize,
}

/// A call that takes longer than this fails the file instead of hanging the run.
const CALL_TIMEOUT: Duration = Duration::from_secs(60);

/// Plays scenario files and prints what differs.
///
/// For each path: a *.yaml/*.yml file, or a folder whose *.yaml files are played in name
/// order. Each file against an empty store: a fresh SQLite temp file, or with
/// `database_url` = Some("postgres://...") a freshly created uniquely named PostgreSQL
/// database (CREATE DATABASE via that URL, dropped afterwards). Prints each failure with
/// file, step number (1-based) and key, e.g. `FAIL 02-referred-again-and-loop.yaml step 5
/// (start c3): signals: expected [REFERRED_AGAIN, STORY_ALREADY_TOLD], got
/// [REFERRED_AGAIN]`, a line per passed file, and ends with the line `N passed, M failed`
/// (N, M = files). A file that cannot be parsed counts as failed with the reason; so does
/// a path that names no scenario file, or a folder without any.
pub async fn play_paths(paths: &[PathBuf], database_url: Option<&str>) -> Summary {
    play_all(paths, database_url, false).await.0
}

/// A scenario file played by [`play_paths_keeping`], with the database it left behind.
#[derive(Debug)]
pub struct PlayedFile {
    /// The scenario file.
    pub path: PathBuf,
    /// Whether every step of it passed.
    pub passed: bool,
    /// The database it was played on, its server stopped; the caller removes it with
    /// [`ScratchDb::drop_db`].
    pub db: ScratchDb,
}

/// Plays and prints as [`play_paths`] does, but keeps each file's database and hands it
/// back, so the caller can look at what the server stored (such as that no BSN is in it
/// in clear text). A file that got no database (it does not parse, or the database
/// could not be made) is only counted in the summary.
pub async fn play_paths_keeping(
    paths: &[PathBuf],
    database_url: Option<&str>,
) -> (Summary, Vec<PlayedFile>) {
    play_all(paths, database_url, true).await
}

async fn play_all(
    paths: &[PathBuf],
    database_url: Option<&str>,
    keep: bool,
) -> (Summary, Vec<PlayedFile>) {
    let mut summary = Summary::default();
    let mut kept = Vec::new();
    for entry in collect(paths) {
        let (result, played) = match entry {
            Entry::File(path) => {
                let (result, db) = play_file(&path, database_url).await;
                (result, db.map(|db| (path, db)))
            }
            Entry::Refused(lines) => (Err(lines), None),
        };
        let passed = result.is_ok();
        match result {
            Ok(line) => {
                println!("{line}");
                summary.passed += 1;
            }
            Err(lines) => {
                for line in lines {
                    println!("{line}");
                }
                summary.failed += 1;
            }
        }
        if let Some((path, db)) = played {
            if keep {
                kept.push(PlayedFile { path, passed, db });
            } else {
                db.drop_db().await;
            }
        }
    }
    println!("{} passed, {} failed", summary.passed, summary.failed);
    (summary, kept)
}

enum Entry {
    File(PathBuf),
    /// A path that names no scenario file; it counts as one failed file.
    Refused(Vec<String>),
}

fn is_scenario_file(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml")
    )
}

fn collect(paths: &[PathBuf]) -> Vec<Entry> {
    let mut entries = Vec::new();
    for path in paths {
        if path.is_dir() {
            let files = std::fs::read_dir(path).and_then(|dir| {
                let mut files = Vec::new();
                for item in dir {
                    let item = item?.path();
                    if item.is_file() && is_scenario_file(&item) {
                        files.push(item);
                    }
                }
                Ok(files)
            });
            match files {
                Ok(mut files) if !files.is_empty() => {
                    files.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
                    entries.extend(files.into_iter().map(Entry::File));
                }
                // An empty folder must not look like a green run.
                Ok(_) => entries.push(Entry::Refused(vec![format!(
                    "FAIL {}: no *.yaml scenario files in this folder",
                    path.display()
                )])),
                Err(e) => entries.push(Entry::Refused(vec![format!(
                    "FAIL {}: cannot read the folder: {e}",
                    path.display()
                )])),
            }
        } else if path.is_file() && is_scenario_file(path) {
            entries.push(Entry::File(path.clone()));
        } else if path.exists() {
            entries.push(Entry::Refused(vec![format!(
                "FAIL {}: not a .yaml or .yml file",
                path.display()
            )]));
        } else {
            entries.push(Entry::Refused(vec![format!(
                "FAIL {}: no such file or folder",
                path.display()
            )]));
        }
    }
    entries
}

/// Plays one file on a fresh database. The play runs in a task of its own, so that a
/// panic anywhere in the server or store fails that file instead of the whole run, and
/// the database still comes back. Answers the PASS line or the FAIL lines, and the
/// database when one was made.
async fn play_file(
    path: &Path,
    database_url: Option<&str>,
) -> (Result<String, Vec<String>>, Option<ScratchDb>) {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    let fail = |reason: String| vec![format!("FAIL {name}: {reason}")];
    let scenario = match load(path) {
        Ok(scenario) => scenario,
        Err(e) => return (Err(fail(format!("cannot parse: {e}"))), None),
    };
    let db = match database_url {
        Some(url) => ScratchDb::postgres(url).await,
        None => ScratchDb::sqlite().await.map_err(|e| e.to_string()),
    };
    let db = match db {
        Ok(db) => db,
        Err(e) => return (Err(fail(format!("cannot create the database: {e}"))), None),
    };
    let url = db.url.clone();
    let task_name = name.clone();
    let played = tokio::spawn(async move { run_on(&task_name, &scenario, &url).await }).await;
    let result = match played {
        Ok(Ok(steps)) => Ok(format!("PASS {name} ({steps} steps)")),
        Ok(Err(lines)) => Err(lines),
        Err(e) => {
            let reason = if e.is_panic() {
                let payload = e.into_panic();
                payload
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "(no message)".to_string())
            } else {
                e.to_string()
            };
            Err(fail(format!("the run panicked: {reason}")))
        }
    };
    (result, Some(db))
}

/// Starts a server on a store at `url`, plays the scenario against it, stops it.
async fn run_on(name: &str, scenario: &Scenario, url: &str) -> Result<usize, Vec<String>> {
    let fail = |reason: String| vec![format!("FAIL {name}: {reason}")];
    let store = Store::connect(url)
        .await
        .map_err(|e| fail(format!("cannot open the store: {e}")))?;
    let pseudonymiser = Pseudonymiser::new(&test_secret());
    let server = spawn(AppState {
        store,
        pseudonymiser,
        access: midoffice_api::auth::Access::development(),
        cors: Default::default(),
        benchmark: Default::default(),
    })
    .await
    .map_err(|e| fail(format!("cannot start the server: {e}")))?;
    let channel = match Endpoint::from_shared(server.url()) {
        Ok(endpoint) => {
            endpoint
                .timeout(CALL_TIMEOUT)
                .connect_timeout(CALL_TIMEOUT)
                .connect()
                .await
        }
        Err(e) => Err(e),
    };
    let result = match channel {
        Ok(channel) => play::play(scenario, play::Clients::new(channel))
            .await
            .map_err(|failure| {
                let place = match &failure.step {
                    Some((number, label)) => format!("step {number} ({label})"),
                    None => "(tenant settings)".to_string(),
                };
                failure
                    .messages
                    .iter()
                    .map(|m| format!("FAIL {name} {place}: {m}"))
                    .collect()
            }),
        Err(e) => Err(fail(format!(
            "cannot connect to the server at {}: {e}",
            server.url()
        ))),
    };
    server.stop().await;
    result
}
