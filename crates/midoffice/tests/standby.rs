//! Figures from a hot standby (`database.read_url`): a real PostgreSQL standby of the
//! test server, made on loopback with `pg_basebackup -R` and run from a temp folder,
//! under the real binary. The figures (GetFigures, GetFigureSeries, GetThermometer) come
//! from the standby: with its replay paused, contacts written meanwhile are on the
//! primary and not in the figures, until replay resumes. Writes never go there: they
//! succeed while the standby is read-only and paused, and the server logs no error.
//! The standby is stopped and its folder deleted when the test ends, failed or not.
//!
//! Needs PostgreSQL (`MIDOFFICE_TEST_DATABASE_URL`, on this machine: the standby is a
//! local process), its server binaries (`postgres`, `pg_ctl`, `pg_basebackup`), a
//! primary that allows replication connections from 127.0.0.1 (`.ci/run` adds the
//! pg_hba.conf line) and, when run as root, `runuser` to run the standby as the
//! `postgres` user. Without these it says why and passes as skipped, unless
//! `MIDOFFICE_REQUIRE_POSTGRES=1`, where it fails.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use midoffice_tests::pb::contact_service_client::ContactServiceClient;
use midoffice_tests::pb::figure_service_client::FigureServiceClient;
use midoffice_tests::pb::{self, Channel};
use midoffice_tests::{
    REQUIRE_POSTGRES_VAR, TENANT, TestDatabase, bsn, date, figures_2026_on, request, resolved,
    start, valid_bsns,
};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement};

mod common;
use common::{channel, free_port, launch_with_env, monthly_contacts, on_scratch_postgres};

/// The OS user PostgreSQL runs as when the test runs as root (root cannot run it).
const DB_USER: &str = "postgres";

/// The primary's settings a hot standby must match or exceed, or it refuses to start.
const AT_LEAST_THE_PRIMARYS: [&str; 5] = [
    "max_connections",
    "max_worker_processes",
    "max_wal_senders",
    "max_prepared_transactions",
    "max_locks_per_transaction",
];

/// Ends the test as skipped (said on stderr), or fails it under
/// `MIDOFFICE_REQUIRE_POSTGRES=1`.
fn skip(reason: &str) {
    if std::env::var(REQUIRE_POSTGRES_VAR).is_ok_and(|v| v.trim() == "1") {
        panic!("the standby test cannot run ({REQUIRE_POSTGRES_VAR}=1): {reason}");
    }
    eprintln!("SKIPPED: the standby test: {reason}");
}

/// Whether this process runs as root.
fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// `program` as a command of the PostgreSQL OS user: through `runuser` as root, else as
/// this user.
fn as_db_user(program: &Path, root: bool) -> Command {
    if root {
        let mut c = Command::new("runuser");
        c.args(["-u", DB_USER, "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

/// Runs `command`; its output when it fails.
fn run(mut command: Command) -> Result<(), String> {
    let out = command
        .output()
        .map_err(|e| format!("{command:?} did not start: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{command:?} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

async fn scalar(db: &DatabaseConnection, sql: &str) -> String {
    db.query_one_raw(Statement::from_string(DbBackend::Postgres, sql))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .expect("a row")
        .try_get_by_index::<String>(0)
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// The folder of the primary's server binaries (`postgres`, `pg_ctl`): Debian's
/// `/usr/lib/postgresql/<major>/bin`, else what `pg_config --bindir` says.
fn server_binaries(major: &str) -> Option<PathBuf> {
    let has_all = |d: &Path| {
        ["postgres", "pg_ctl", "pg_basebackup"]
            .iter()
            .all(|b| d.join(b).is_file())
    };
    let debian = PathBuf::from(format!("/usr/lib/postgresql/{major}/bin"));
    if has_all(&debian) {
        return Some(debian);
    }
    let out = Command::new("pg_config").arg("--bindir").output().ok()?;
    let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    has_all(&dir).then_some(dir)
}

/// A hot standby running from a temp folder; stopped, and the folder deleted, when
/// dropped.
struct Standby {
    dir: tempfile::TempDir,
    bin: PathBuf,
    root: bool,
    port: u16,
}

impl Standby {
    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The standby's URL for database `name`.
    fn url(&self, name: &str) -> String {
        format!("postgres://{DB_USER}@127.0.0.1:{}/{name}", self.port)
    }

    /// A base backup of the primary at `primary_url` (`-R`: it follows the primary),
    /// started on a free loopback port.
    async fn start(primary_url: &str, bin: PathBuf, root: bool) -> Result<Standby, String> {
        let dir = tempfile::Builder::new()
            .prefix("midoffice-standby-")
            .tempdir()
            .map_err(|e| format!("a temp folder: {e}"))?;
        if root {
            run({
                let mut c = Command::new("chown");
                c.arg(format!("{DB_USER}:")).arg(dir.path());
                c
            })?;
        }
        let standby = Standby {
            dir,
            bin,
            root,
            port: free_port(),
        };
        let primary = Database::connect(primary_url)
            .await
            .map_err(|e| format!("the primary: {e}"))?;
        let mut conf = format!(
            "port = {}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{}'\n\
             hot_standby = on\nshared_buffers = 16MB\n",
            standby.port,
            standby.dir.path().display()
        );
        for name in AT_LEAST_THE_PRIMARYS {
            let value = scalar(&primary, &format!("SELECT current_setting('{name}')")).await;
            conf.push_str(&format!("{name} = {value}\n"));
        }
        let _ = primary.close().await;
        run({
            let mut c = as_db_user(&standby.bin.join("pg_basebackup"), root);
            c.args(["-d", primary_url, "-D"])
                .arg(standby.data())
                .args(["-R", "-X", "stream", "-c", "fast"]);
            c
        })?;
        // Debian keeps the primary's configuration outside its data folder: the copy
        // has none, so the standby gets its own (beside postgresql.auto.conf, where
        // `-R` put the primary's address).
        let write = |file: &str, text: &str| {
            std::fs::write(standby.data().join(file), text)
                .map_err(|e| format!("cannot write the standby's {file}: {e}"))
        };
        write("postgresql.conf", &conf)?;
        write(
            "pg_hba.conf",
            "local all all trust\nhost all all 127.0.0.1/32 trust\n",
        )?;
        if root {
            run({
                let mut c = Command::new("chown");
                c.args(["-R", &format!("{DB_USER}:")]).arg(standby.data());
                c
            })?;
        }
        run({
            let mut c = as_db_user(&standby.bin.join("pg_ctl"), root);
            c.arg("-D")
                .arg(standby.data())
                .arg("-l")
                .arg(standby.dir.path().join("standby.log"))
                .args(["-w", "-t", "120", "start"]);
            c
        })
        .map_err(|e| {
            let log =
                std::fs::read_to_string(standby.dir.path().join("standby.log")).unwrap_or_default();
            format!("{e}\nthe standby's log:\n{log}")
        })?;
        Ok(standby)
    }
}

impl Drop for Standby {
    fn drop(&mut self) {
        let mut c = as_db_user(&self.bin.join("pg_ctl"), self.root);
        c.arg("-D")
            .arg(self.data())
            .args(["-m", "immediate", "-w", "stop"]);
        if let Err(e) = run(c) {
            eprintln!("warning: the standby did not stop: {e}");
        }
        // The folder goes with `dir`.
    }
}

/// Records a resolved contact for a new citizen.
async fn record(client: &mut ContactServiceClient<tonic::transport::Channel>, citizen: &str) {
    client
        .record_contact(request(
            TENANT,
            pb::RecordContactRequest {
                request_id: String::new(),
                start: Some(start(
                    Channel::Phone,
                    "2026-03-09T10:00:00+01:00",
                    Some(bsn(citizen)),
                    "paspoort",
                )),
                completion: Some(resolved(
                    "2026-03-09T10:01:00+01:00",
                    "2026-03-09T10:05:00+01:00",
                    "Geholpen.",
                )),
                context_seen: false,
            },
        ))
        .await
        .unwrap_or_else(|s| panic!("a write failed while figures read from the standby: {s:?}"));
}

/// The thermometer of March: every norm's items and met, as answered.
async fn thermometer(channel: tonic::transport::Channel) -> Vec<(u64, u64)> {
    FigureServiceClient::new(channel)
        .get_thermometer(request(
            TENANT,
            pb::GetThermometerRequest {
                period: Some(pb::Period {
                    start_date: Some(date(2026, 3, 1)),
                    end_date: Some(date(2026, 4, 1)),
                    as_of: None,
                }),
            },
        ))
        .await
        .unwrap_or_else(|s| panic!("GetThermometer failed: {s:?}"))
        .into_inner()
        .norms
        .iter()
        .map(|n| (n.items, n.met))
        .collect()
}

/// Waits (at most two minutes: replay on a busy machine) until the standby behind
/// `control` has replayed all the primary at `primary_url` has written so far.
async fn until_replayed(primary_url: &str, control: &DatabaseConnection) {
    let primary = Database::connect(primary_url).await.expect("the primary");
    let written = scalar(&primary, "SELECT pg_current_wal_lsn()::text").await;
    let _ = primary.close().await;
    let replayed = format!("SELECT (pg_last_wal_replay_lsn() >= '{written}'::pg_lsn)::text");
    for _ in 0..1200 {
        if scalar(control, &replayed).await == "true" {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the standby did not replay up to {written}");
}

/// Waits (at most two minutes: replay on a busy machine) until the figures read
/// `contacts`.
async fn until_figures_show(channel: &tonic::transport::Channel, contacts: u64) {
    for _ in 0..1200 {
        if figures_2026_on(channel.clone(), TENANT).await.contacts == contacts {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the figures never showed {contacts} contacts");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(postgres_skipped, ignore = "no MIDOFFICE_TEST_DATABASE_URL")]
async fn figures_come_from_the_standby_and_writes_never_go_there() {
    let TestDatabase::Postgres(base_url) = TestDatabase::postgres() else {
        unreachable!("TestDatabase::postgres is PostgreSQL");
    };
    let root = is_root();
    if root && Command::new("runuser").arg("--help").output().is_err() {
        return skip("running as root without runuser to start PostgreSQL as postgres");
    }
    let admin = Database::connect(&base_url)
        .await
        .unwrap_or_else(|e| panic!("the test server: {e}"));
    let major = scalar(
        &admin,
        "SELECT (current_setting('server_version_num')::int / 10000)::text",
    )
    .await;
    let wal_level = scalar(&admin, "SELECT current_setting('wal_level')").await;
    let senders = scalar(&admin, "SELECT current_setting('max_wal_senders')").await;
    let _ = admin.close().await;
    let Some(bin) = server_binaries(&major) else {
        return skip(&format!(
            "no PostgreSQL {major} server binaries (postgres, pg_ctl, pg_basebackup) in \
             /usr/lib/postgresql/{major}/bin or pg_config --bindir"
        ));
    };
    if wal_level == "minimal" || senders == "0" {
        return skip(&format!(
            "the test server cannot feed a standby (wal_level = {wal_level}, \
             max_wal_senders = {senders}; needs replica and at least 1)"
        ));
    }

    let base = base_url.clone();
    on_scratch_postgres(&base_url, move |url, name| {
        on_a_standby(base, url, name, bin, root)
    })
    .await;
}

/// The test on the scratch database `name` (at `url`) of the server at `base_url`.
async fn on_a_standby(base_url: String, url: String, name: String, bin: PathBuf, root: bool) {
    // Made after the database, so the copy has it from the start.
    let standby = match Standby::start(&base_url, bin, root).await {
        Ok(s) => s,
        Err(e) if e.contains("pg_hba.conf") => {
            return skip(&format!(
                "the test server refuses replication connections from 127.0.0.1 \
                 (.ci/run adds `host replication all 127.0.0.1/32 trust` to \
                 pg_hba.conf): {e}"
            ));
        }
        Err(e) => panic!("the standby did not start: {e}"),
    };
    let control = Database::connect(standby.url("postgres"))
        .await
        .unwrap_or_else(|e| panic!("the standby: {e}"));
    assert_eq!(
        scalar(&control, "SELECT pg_is_in_recovery()::text").await,
        "true",
        "the standby is in recovery"
    );

    let dir = tempfile::tempdir().expect("a temp folder");
    let read_url = standby.url(&name);
    let server = launch_with_env(
        Path::new(env!("CARGO_BIN_EXE_midoffice")),
        &url,
        dir.path(),
        &[("MIDOFFICE__DATABASE__READ_URL", &read_url)],
    )
    .await;
    // The server has migrated the primary: figures read from the standby once it has
    // the tables too.
    until_replayed(&url, &control).await;
    let channel = channel(&server.url).await;
    let mut contacts = ContactServiceClient::new(channel.clone());
    let citizens = valid_bsns(0, 3);

    // A first contact, replayed on the standby in time.
    record(&mut contacts, &citizens[0]).await;
    until_figures_show(&channel, 1).await;
    // The figure reads are the standby's sessions on the database.
    let sessions = scalar(
        &control,
        &format!(
            "SELECT count(*)::text FROM pg_stat_activity WHERE datname = '{name}' \
             AND backend_type = 'client backend'"
        ),
    )
    .await;
    assert_ne!(sessions, "0", "no connection of the server on the standby");

    // Replay paused: what is written now is on the primary only.
    control
        .execute_unprepared("SELECT pg_wal_replay_pause()")
        .await
        .expect("replay paused");
    for _ in 0..600 {
        if scalar(&control, "SELECT pg_get_wal_replay_pause_state()").await == "paused" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        scalar(&control, "SELECT pg_get_wal_replay_pause_state()").await,
        "paused"
    );
    let series_before = monthly_contacts(channel.clone(), TENANT).await[2];
    let thermometer_before = thermometer(channel.clone()).await;
    assert_eq!(series_before, 1);
    record(&mut contacts, &citizens[1]).await;
    record(&mut contacts, &citizens[2]).await;
    let primary = Database::connect(&url).await.expect("the primary");
    assert_eq!(
        scalar(&primary, "SELECT count(*)::text FROM contact").await,
        "3",
        "the writes are on the primary"
    );
    let _ = primary.close().await;
    assert_eq!(
        figures_2026_on(channel.clone(), TENANT).await.contacts,
        1,
        "figures read where replay is paused show only the first contact"
    );
    assert_eq!(monthly_contacts(channel.clone(), TENANT).await[2], 1);
    assert_eq!(thermometer(channel.clone()).await, thermometer_before);

    // Replay resumed: the figures catch up, the kept series with them.
    control
        .execute_unprepared("SELECT pg_wal_replay_resume()")
        .await
        .expect("replay resumed");
    until_figures_show(&channel, 3).await;
    assert_eq!(monthly_contacts(channel.clone(), TENANT).await[2], 3);
    let items = |t: &[(u64, u64)]| t.iter().map(|(items, _)| items).sum::<u64>();
    assert!(
        items(&thermometer(channel.clone()).await) > items(&thermometer_before),
        "the thermometer counts the new contacts"
    );
    let _ = control.close().await;

    drop(server);
    let log = std::fs::read_to_string(dir.path().join("server.log")).unwrap_or_default();
    for refused in ["read-only", "ERROR", "database error"] {
        assert!(
            !log.contains(refused),
            "the server logged {refused:?}:\n{log}"
        );
    }
    drop(standby);
}
