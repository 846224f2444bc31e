//! `midoffice seed` fills a store that a server with the same secret serves coherently:
//! the real binary seeds a fresh database, then serves it, and the test looks through
//! gRPC: seeded citizens are found by their BSN with their cases, weak identities joined
//! to a BSN lead to the same party, the figures have every channel, referrals, answers
//! and follow-ups, and a second seed with the same `--random-seed` gives the same
//! figures.

use std::path::Path;
use std::process::{Command, Stdio};

use midoffice_tests::pb::figure_service_client::FigureServiceClient;
use midoffice_tests::pb::party_service_client::PartyServiceClient;
use midoffice_tests::pb::{self, Channel, PartyStatus};
use midoffice_tests::{TENANT, TestDatabase, at, database_test, date, request};

mod common;
use common::{channel, launch};

/// The secret both the seed and the server use.
fn secret() -> String {
    "ab".repeat(32)
}

/// The BSN of seeded citizen `i`, as `midoffice seed` documents it (docs/benchmarks.md):
/// `10000000 + 2i` with its eleven-test check digit, else the next number's.
fn seeded_bsn(i: usize) -> String {
    let base = 10_000_000 + 2 * i as u64;
    for prefix in [base, base + 1] {
        let s = format!("{prefix:08}");
        let sum: u64 = s
            .bytes()
            .zip((2..=9).rev())
            .map(|(b, w)| u64::from(b - b'0') * w)
            .sum();
        if sum % 11 < 10 {
            return format!("{s}{}", sum % 11);
        }
    }
    unreachable!()
}

/// The seed wrote the figure rollups itself: they answer at once (no rebuild), as the
/// facts do, for whole months, a month to a day, a week, and series.
async fn rollups_answer_as_the_facts_do(url: &str) {
    use chrono::NaiveDate;
    use midoffice_domain::figures::{Filter, Period};
    use midoffice_domain::rollup::Step;
    use midoffice_store::FigurePath;
    let store = midoffice_store::Store::connect(url)
        .await
        .expect("the store");
    let t = midoffice_domain::TenantId::parse(TENANT).unwrap();
    let day = |m, d| NaiveDate::from_ymd_opt(2026, m, d).unwrap();
    let as_of = chrono::Utc::now();
    for (from, to) in [
        (day(1, 1), day(12, 1)),
        (day(6, 1), day(7, 1)),
        (day(1, 1), day(6, 15)),
        (day(3, 2), day(3, 9)),
    ] {
        let p = Period { from, to, as_of };
        let fast = store.thermometer(&t, p, false).await.unwrap();
        assert_eq!(fast.path, FigurePath::Rollups, "{p:?}");
        assert_eq!(
            fast.answer,
            store.thermometer(&t, p, true).await.unwrap().answer
        );
        let filters = vec![
            Filter::default(),
            Filter {
                channel: Some(midoffice_domain::contact::Channel::Phone),
                ..Filter::default()
            },
        ];
        let fast = store.figures(&t, p, filters.clone(), false).await.unwrap();
        assert_eq!(fast.path, FigurePath::Rollups);
        assert_eq!(
            fast.answer,
            store.figures(&t, p, filters, true).await.unwrap().answer,
            "{p:?}"
        );
    }
    for (from, to, step) in [
        (day(3, 1), day(4, 1), Step::Day),
        (day(1, 1), day(12, 1), Step::Week),
        (day(1, 1), day(12, 1), Step::Month),
    ] {
        let periods = midoffice_domain::rollup::series_periods(from, to, step, as_of);
        let series = |slow| store.figure_series(&t, periods.clone(), Filter::default(), slow);
        let fast = series(false).await.unwrap();
        assert_eq!(fast.path, FigurePath::Rollups);
        assert_eq!(fast.answer, series(true).await.unwrap().answer, "{step:?}");
    }
}

/// Runs `midoffice seed` on `url` and returns what it printed on stderr.
fn seed(binary: &Path, url: &str, dir: &Path, random_seed: &str) -> String {
    let mut command = Command::new(binary);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("MIDOFFICE") {
            command.env_remove(name);
        }
    }
    let out = command
        .args(["seed", "--mode", "development", "--tenant", TENANT])
        .args(["--parties", "200", "--contacts", "2000"])
        .args(["--from", "2026-01-01", "--to", "2026-12-01"])
        .args(["--random-seed", random_seed])
        .arg("--database-url")
        .arg(url)
        .arg("--data-dir")
        .arg(dir.join("data"))
        .env("MIDOFFICE_SECRET", secret())
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("the midoffice binary runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "seed failed:\n{stderr}");
    stderr
}

/// The period the seed filled, as known at its end.
fn period() -> pb::Period {
    pb::Period {
        start_date: Some(date(2026, 1, 1)),
        end_date: Some(date(2026, 12, 1)),
        as_of: Some(at("2026-12-01T00:00:00Z")),
    }
}

async fn figures(url: &str, channel_filter: Channel) -> pb::Figures {
    FigureServiceClient::new(channel(url).await)
        .get_figures(request(
            TENANT,
            pb::GetFiguresRequest {
                period: Some(period()),
                channel: channel_filter as i32,
                ..Default::default()
            },
        ))
        .await
        .unwrap_or_else(|s| panic!("GetFigures failed: {s:?}"))
        .into_inner()
        .figures
        .expect("figures")
}

async fn context(url: &str, ids: pb::Identifiers) -> pb::Context {
    PartyServiceClient::new(channel(url).await)
        .get_context(request(
            TENANT,
            pb::GetContextRequest {
                identifiers: Some(ids),
                as_of: Some(at("2026-12-01T00:00:00Z")),
            },
        ))
        .await
        .unwrap_or_else(|s| panic!("GetContext failed: {s:?}"))
        .into_inner()
        .context
        .expect("a context")
}

database_test!(
    a_seeded_store_is_coherent_through_grpc_and_the_same_seed_gives_the_same_figures,
    flavor = "multi_thread",
    worker_threads = 2
);
async fn a_seeded_store_is_coherent_through_grpc_and_the_same_seed_gives_the_same_figures(
    database: TestDatabase,
) {
    let binary = Path::new(env!("CARGO_BIN_EXE_midoffice"));
    let db = database
        .scratch()
        .await
        .unwrap_or_else(|e| panic!("a scratch database on {database}: {e}"));
    let dir = tempfile::tempdir().expect("a temp folder");
    let printed = seed(binary, &db.url, dir.path(), "7");
    assert!(
        printed.contains("refused by the rules: 0"),
        "every planned contact passes the rules:\n{printed}"
    );
    assert!(printed.contains(": 2000 contacts"), "{printed}");
    rollups_answer_as_the_facts_do(&db.url).await;

    let server = launch(binary, &db.url, dir.path()).await;
    let url = server.url.clone();

    // Seeded citizens are found by their BSN, with their cases.
    let mut known = 0;
    let mut with_cases = 0;
    let mut joined = 0;
    for i in 0..200 {
        let seen = context(&url, midoffice_tests::bsn(&seeded_bsn(i))).await;
        let party = seen.party.clone().expect("a party");
        if party.status() != PartyStatus::Known {
            continue;
        }
        known += 1;
        assert!(party.bsn_masked.ends_with(&seeded_bsn(i)[6..]));
        if seen.active_case_count > 0 {
            with_cases += 1;
            assert!(!seen.active_cases.is_empty());
        }
        // A phone number used before the BSN was given leads to the same party now.
        let by_phone = context(&url, midoffice_tests::phone(&format!("06{i:08}"))).await;
        if by_phone.party.is_some_and(|p| p.id == party.id) {
            joined += 1;
        }
    }
    assert!(known > 80, "{known} of 200 citizens known by a BSN");
    assert!(with_cases > 20, "{with_cases} with active cases");
    assert!(
        joined > 10,
        "{joined} phone numbers joined to a BSN's party"
    );

    // The shape: every channel, referrals, loops of referral, answers, follow-ups.
    let all = figures(&url, Channel::Unspecified).await;
    assert_eq!(all.contacts, 2000);
    assert!(all.cases > 500, "{all:?}");
    assert!(
        all.referral_rate.is_some_and(|r| r > 0.05 && r < 0.3),
        "{all:?}"
    );
    assert!(all.cases_referred_more_than_once > 0, "{all:?}");
    assert!(all.repeat_story_rate.is_some_and(|r| r > 0.0), "{all:?}");
    assert!(
        all.first_contact_resolution.is_some_and(|r| r > 0.3),
        "{all:?}"
    );
    assert!(all.satisfaction_score.is_some(), "{all:?}");
    assert!(all.channel_hops > 0, "{all:?}");
    let mut by_channel = Vec::new();
    for c in [
        Channel::Phone,
        Channel::Counter,
        Channel::Email,
        Channel::Web,
    ] {
        let f = figures(&url, c).await;
        assert!(f.contacts > 0, "no {c:?} contacts");
        by_channel.push(f.contacts);
    }
    assert_eq!(by_channel.iter().sum::<u64>(), 2000);
    assert!(
        by_channel[0] > by_channel[1] && by_channel[0] > by_channel[3],
        "the phone most: {by_channel:?}"
    );
    drop(server);

    // The same seed into another fresh database: the same figures.
    let again = database
        .scratch()
        .await
        .unwrap_or_else(|e| panic!("a scratch database on {database}: {e}"));
    let dir2 = tempfile::tempdir().expect("a temp folder");
    seed(binary, &again.url, dir2.path(), "7");
    let server = launch(binary, &again.url, dir2.path()).await;
    assert_eq!(figures(&server.url, Channel::Unspecified).await, all);
    drop(server);

    // Another seed: other figures.
    let other = database
        .scratch()
        .await
        .unwrap_or_else(|e| panic!("a scratch database on {database}: {e}"));
    let dir3 = tempfile::tempdir().expect("a temp folder");
    seed(binary, &other.url, dir3.path(), "8");
    let server = launch(binary, &other.url, dir3.path()).await;
    assert_ne!(figures(&server.url, Channel::Unspecified).await, all);
}
