//! `midoffice demo` fills an empty tenant that the thermometer shows at once: the real
//! binary fills a fresh store (on SQLite the default one of a data folder, as `serve`
//! uses it), then the test opens the store: every kind of norm has items in the quarter,
//! the norms not met carry an explanation, every channel has contacts, the calendar has
//! the organisation's closing days, the rollups answer without a rebuild; and a second
//! run into the same tenant is refused. And in the README's order: a server serves the
//! data folder (and has read the demo tenant's settings), the demo fills it beside the
//! server, and the server's page and GetTenantSettings show the demo without a restart.
//! An ignored test, `browser_on_the_demo`, serves
//! the demo's store with the real binary and runs the browser checks of the managers'
//! dashboard and the public thermometer on it (`tests/browser`; `.ci/run` runs it).

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Output, Stdio};

use midoffice_domain::TenantId;
use midoffice_domain::calendar::Calendar;
use midoffice_domain::contact::Channel;
use midoffice_domain::figures::{Filter, NormStatus, Period};
use midoffice_store::{FigurePath, Store};
use midoffice_tests::pb::party_service_client::PartyServiceClient;
use midoffice_tests::pb::tenant_service_client::TenantServiceClient;
use midoffice_tests::{TestDatabase, bsn, database_test, request};

mod common;

/// The tenant the demo fills by default.
const DEMO: &str = "demo";

/// Runs `midoffice demo` on the data folder `dir/data`, or on `url` when given.
fn demo(binary: &Path, dir: &Path, url: Option<&str>) -> Output {
    let mut command = Command::new(binary);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("MIDOFFICE") {
            command.env_remove(name);
        }
    }
    command
        .args(["demo", "--mode", "development", "--contacts", "1500"])
        .arg("--data-dir")
        .arg(dir.join("data"));
    if let Some(url) = url {
        command.arg("--database-url").arg(url);
    }
    command
        .env("MIDOFFICE_SECRET", "ab".repeat(32))
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("the midoffice binary runs")
}

database_test!(
    the_demo_fills_a_quarter_the_thermometer_shows_and_refuses_a_filled_tenant,
    flavor = "multi_thread",
    worker_threads = 2
);
async fn the_demo_fills_a_quarter_the_thermometer_shows_and_refuses_a_filled_tenant(
    database: TestDatabase,
) {
    let binary = Path::new(env!("CARGO_BIN_EXE_midoffice"));
    let dir = tempfile::tempdir().expect("a temp folder");
    let scratch = match &database {
        TestDatabase::Sqlite => None,
        TestDatabase::Postgres(_) => Some(
            database
                .scratch()
                .await
                .unwrap_or_else(|e| panic!("a scratch database on {database}: {e}")),
        ),
    };
    let given = scratch.as_ref().map(|s| s.url.clone());
    let out = demo(binary, dir.path(), given.as_deref());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "demo failed:\n{stderr}\n{stdout}");
    assert!(stderr.contains("refused by the rules: 0"), "{stderr}");
    assert!(stdout.contains("midoffice serve --data-dir"), "{stdout}");
    assert!(
        stdout.contains("http://127.0.0.1:50051/thermometer/demo"),
        "{stdout}"
    );

    let url = given.clone().unwrap_or_else(|| {
        format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("data").join("midoffice.db").display()
        )
    });
    {
        let store = Store::connect(&url).await.expect("the store");
        let tenant = TenantId::parse(DEMO).unwrap();
        let settings = store.settings(&tenant).await.unwrap();
        assert_eq!(
            settings.public_page.display_name.as_deref(),
            Some("Gemeente Voorbeeld"),
            "the page's name"
        );
        assert!(
            settings.public_page.published,
            "the demo publishes its page"
        );
        assert!(
            !settings.calendar.closing_days.is_empty(),
            "closing days beside the public holidays"
        );
        assert!(store.figures_current(&tenant).await.unwrap(), "no rebuild");

        // The demo's quarter: the last three whole months and this one up to today.
        let now = chrono::Utc::now();
        let today = Calendar::default().local_date(now);
        let first = chrono::Datelike::with_day(&today, 1).unwrap();
        let from = first.checked_sub_months(chrono::Months::new(3)).unwrap();
        let period = Period {
            from,
            to: today.succ_opt().unwrap(),
            as_of: now,
        };
        let thermometer = store.thermometer(&tenant, period, false).await.unwrap();
        assert_eq!(thermometer.path, FigurePath::Rollups);
        let norms = thermometer.answer;
        let kinds = [
            "response_time",
            "first_contact_resolution",
            "referred_at_most",
            "story_told_once",
            "commitment_on_time",
        ];
        for kind in kinds {
            assert!(
                norms
                    .iter()
                    .any(|n| n.measure.as_str() == kind && n.items > 0),
                "no items for {kind}: {norms:?}"
            );
        }
        let missed: Vec<_> = norms
            .iter()
            .filter(|n| matches!(n.status, NormStatus::Amber | NormStatus::Red))
            .collect();
        assert!(!missed.is_empty(), "some norm not met: {norms:?}");
        for n in missed {
            assert!(
                n.explanation.as_ref().is_some_and(|e| e.len() > 40),
                "{} is not met and has no explanation",
                n.norm_id.as_str()
            );
        }

        let mut total = 0;
        for channel in Channel::ALL {
            let filter = Filter {
                channel: Some(channel),
                ..Filter::default()
            };
            let figures = store
                .figures(&tenant, period, vec![filter], false)
                .await
                .unwrap()
                .answer;
            assert!(figures[0].contacts > 0, "no {channel:?} contacts");
            total += figures[0].contacts;
        }
        assert_eq!(total, 1500);

        // What the demo promises to show: referrals and loops, stories told again,
        // repeats, channel hops, callbacks kept and missed, satisfaction answers.
        let all = store
            .figures(&tenant, period, vec![Filter::default()], false)
            .await
            .unwrap()
            .answer
            .remove(0);
        assert!(
            all.referral_rate.is_some_and(|r| r > 0.0),
            "referrals: {all:?}"
        );
        assert!(all.cases_referred_more_than_once > 0, "loops: {all:?}");
        assert!(
            all.repeat_story_rate.is_some_and(|r| r > 0.0),
            "stories again: {all:?}"
        );
        assert!(
            all.repeat_contact_rate.is_some_and(|r| r > 0.0),
            "repeats: {all:?}"
        );
        assert!(all.channel_hops > 0, "channel hops: {all:?}");
        assert!(all.satisfaction_score.is_some(), "satisfaction: {all:?}");
        assert!(all.effort_score.is_some(), "effort: {all:?}");
        let callbacks = norms
            .iter()
            .find(|n| n.measure.as_str() == "commitment_on_time")
            .expect("the callback norm");
        assert!(
            callbacks.met > 0 && callbacks.met < callbacks.items,
            "callbacks kept and missed: {callbacks:?}"
        );
    }

    // A second demo into the same tenant: refused, nothing added.
    let again = demo(binary, dir.path(), given.as_deref());
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(!again.status.success(), "a filled tenant is refused");
    assert!(stderr.contains("has contacts already"), "{stderr}");
    assert!(stderr.contains("--tenant"), "{stderr}");
    if let Some(scratch) = scratch {
        scratch.drop_db().await;
    }
}

/// The demo's data in headless Chromium: `midoffice demo` fills a fresh SQLite store,
/// the real binary serves it (development mode: the dashboard is open to loopback), and
/// `tests/browser/dashboard.mjs` checks the managers' dashboard of the last three whole
/// months by week (axe-core: no WCAG 2.1 A/AA violation; no sideways scrolling of the
/// page at 320 and 1280 px; charts and tables within the width or scrolling in their own
/// box; a visible focus), then `thermometer.mjs` the public page of last month.
/// Screenshots go to `demo/` in `target/browser-artifacts` (or `THERMOMETER_ARTIFACTS`).
/// Ignored by default, as it needs Chromium and `npm ci` in `tests/browser`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Chromium and the npm packages of tests/browser; .ci/run runs it"]
async fn browser_on_the_demo() {
    let binary = Path::new(env!("CARGO_BIN_EXE_midoffice"));
    let dir = tempfile::tempdir().expect("a temp folder");
    let out = demo(binary, dir.path(), None);
    assert!(
        out.status.success(),
        "demo failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("data").join("midoffice.db").display()
    );
    let server = common::launch(binary, &url, dir.path()).await;

    // The last three whole months of the demo's quarter, and the last of them.
    let today = Calendar::default().local_date(chrono::Utc::now());
    let first = chrono::Datelike::with_day(&today, 1).unwrap();
    let from = first.checked_sub_months(chrono::Months::new(3)).unwrap();
    let last_month = first.checked_sub_months(chrono::Months::new(1)).unwrap();
    let to = first.pred_opt().unwrap();

    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let artifacts = std::env::var("THERMOMETER_ARTIFACTS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| root.join("target/browser-artifacts"))
        .join("demo");
    for (script, page, query) in [
        (
            "dashboard.mjs",
            "dashboard",
            format!("from={from}&to={to}&step=week"),
        ),
        (
            "thermometer.mjs",
            "thermometer",
            format!("from={last_month}&to={to}"),
        ),
    ] {
        let script = root.join("tests/browser").join(script);
        let url = format!("{}/{page}/{DEMO}", server.url);
        let artifacts = artifacts.clone();
        let status = tokio::task::spawn_blocking(move || {
            Command::new("node")
                .arg(script)
                .arg(url)
                .arg(query)
                .arg(artifacts)
                .status()
        })
        .await
        .expect("the browser task")
        .expect("node runs");
        assert!(
            status.success(),
            "the {page} browser checks failed: {status}"
        );
    }
    drop(server);
}

/// The body of `GET path` from the server at `url` (`http://127.0.0.1:PORT`), with its
/// status line.
fn page(url: &str, path: &str) -> (String, String) {
    let addr = url.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("write");
    let mut raw = String::new();
    s.read_to_string(&mut raw).expect("read");
    let status = raw.lines().next().unwrap_or_default().to_owned();
    (status, raw)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_beside_a_running_server_shows_on_its_page_without_a_restart() {
    let binary = Path::new(env!("CARGO_BIN_EXE_midoffice"));
    let dir = tempfile::tempdir().expect("a temp folder");
    let db = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("data").join("midoffice.db").display()
    );
    let server = common::launch(binary, &db, dir.path()).await;
    // The server reads the demo tenant's settings (the defaults) before the demo runs.
    let channel = common::channel(&server.url).await;
    PartyServiceClient::new(channel.clone())
        .get_context(request(
            DEMO,
            midoffice_tests::pb::GetContextRequest {
                identifiers: Some(bsn("999990019")),
                as_of: None,
            },
        ))
        .await
        .expect("a look-up in the empty tenant");
    // Not published yet: the page is the answer for an unknown tenant.
    let (status, before) = page(&server.url, "/thermometer/demo");
    assert!(status.contains(" 404 "), "{status}");
    assert!(!before.contains("Gemeente Voorbeeld"), "{before}");

    let binary_path = binary.to_owned();
    let folder = dir.path().to_owned();
    let out = tokio::task::spawn_blocking(move || demo(&binary_path, &folder, None))
        .await
        .expect("the demo ran");
    assert!(
        out.status.success(),
        "demo failed beside a server:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let (status, after) = page(&server.url, "/thermometer/demo");
    assert!(status.contains(" 200 "), "{status}\n{after}");
    assert!(
        after.contains("Gemeente Voorbeeld"),
        "the page's name: {after}"
    );
    let settings = TenantServiceClient::new(channel)
        .get_tenant_settings(request(
            DEMO,
            midoffice_tests::pb::GetTenantSettingsRequest {},
        ))
        .await
        .expect("GetTenantSettings")
        .into_inner()
        .settings
        .expect("settings");
    assert!(
        settings.norms.iter().any(|n| !n.explanation.is_empty()),
        "the demo's explanations: {settings:?}"
    );
    let closing_days = settings
        .calendar
        .map(|c| c.closing_days.len())
        .unwrap_or_default();
    assert!(closing_days > 0, "the demo's closing days");
}
