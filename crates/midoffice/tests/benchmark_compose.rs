//! `serve` composes the benchmark's groups by itself: the real binary, started on the
//! database of a server whose tenant takes part and which holds an imported summary of
//! another group, composes at start every month, quarter and year that is due and
//! within its window for both groups, the missed earlier month too (SQLite, and
//! PostgreSQL when the URL is set).

mod common;

use midoffice_domain::Code;
use midoffice_domain::benchmark::{
    BenchmarkPeriod, Registration, composable_periods, latest_composable,
};
use midoffice_store::benchmark_summary::Summary;
use midoffice_tests::pb;
use midoffice_tests::{TENANT, database_test, on_backend};
use std::path::Path;
use std::time::Duration;

database_test!(serve_composes_the_due_periods_of_every_group_at_start);
async fn serve_composes_the_due_periods_of_every_group_at_start(
    database: midoffice_tests::TestDatabase,
) {
    on_backend(database, |b| async move {
        b.change_settings(TENANT, |s| {
            s.benchmark = Some(pb::BenchmarkParticipation {
                opted_in: true,
                size: 20_000,
                peer_group: "g-serve".into(),
                ..Default::default()
            });
        })
        .await;
        let db = b.db_url().to_owned();
        let store = midoffice_store::Store::connect(&db).await.unwrap();
        let now = chrono::Utc::now();
        let due = latest_composable(now, 7);
        // A summary of another deployment's participant, for a group with no local
        // tenant, of the month before the latest due one (never composed: missed while
        // no server ran): its group is composed too, that month included.
        let missed = due[0].previous();
        let imported = Summary {
            participant: Code::parse("extern-a").unwrap(),
            group: Code::parse("g-elders").unwrap(),
            period: missed,
            as_of: chrono::DateTime::from_timestamp(now.timestamp(), 0).unwrap(),
            size: 50_000,
            named: false,
            registration: Registration::default(),
            counts: Default::default(),
        };
        store
            .import_benchmark_summary(&imported, "c2ln", now)
            .await
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let _server =
            common::launch(Path::new(env!("CARGO_BIN_EXE_midoffice")), &db, dir.path()).await;

        let mut want: Vec<BenchmarkPeriod> = composable_periods(now, 7);
        want.sort();
        // The latest month and quarter are always in their window (92 days is at least
        // a quarter); the latest year only in its first 92 days.
        assert!(want.contains(&missed) && want.contains(&due[0]) && want.contains(&due[1]));
        let periods = |group: &'static str| {
            let store = store.clone();
            async move {
                let mut got: Vec<BenchmarkPeriod> = store
                    .benchmark_periods(&Code::parse(group).unwrap())
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|(p, _)| p)
                    .collect();
                got.sort();
                got
            }
        };
        let mut waited = 0;
        while (periods("g-serve").await != want || periods("g-elders").await != want)
            && waited < 300
        {
            tokio::time::sleep(Duration::from_millis(100)).await;
            waited += 1;
        }
        assert_eq!(periods("g-serve").await, want);
        assert_eq!(periods("g-elders").await, want);
        let month = store
            .benchmark_group(&Code::parse("g-elders").unwrap(), missed)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            month
                .group
                .members()
                .iter()
                .map(|m| m.as_str())
                .collect::<Vec<_>>(),
            ["extern-a"]
        );
        let local = store
            .benchmark_group(&Code::parse("g-serve").unwrap(), due[1])
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            local
                .group
                .members()
                .iter()
                .map(|m| m.as_str())
                .collect::<Vec<_>>(),
            [TENANT]
        );
    })
    .await;
}
