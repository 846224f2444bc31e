//! `serve` computes dashboard answers ahead of any reader: the real binary, started on
//! a database with a month of contacts, writes to `figure_answer` every day, ISO
//! week and month of its window that has ended, for no filter and each channel, and for
//! the topic and department of the contacts; a view then reads them all from there
//! (SQLite, and PostgreSQL when the URL is set).

mod common;

use chrono::{Duration as Days, Utc};
use midoffice_domain::figures::{Filter, Period};
use midoffice_domain::rollup::{KEPT_MONTHS, Step, WeekParts, day_number, kept_periods};
use midoffice_domain::{Code, TenantId};
use midoffice_store::Store;
use midoffice_tests::pb;
use midoffice_tests::{TENANT, database_test, on_backend};
use sea_orm::{ConnectionTrait, Database, Statement};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

/// The periods (first day, next day) kept per `what` (`channel/topic/department`) of
/// the tenant.
async fn kept_per_filter(
    db: &sea_orm::DatabaseConnection,
) -> BTreeMap<String, BTreeSet<(i64, i64)>> {
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            format!(
                "SELECT what, CAST(from_day AS BIGINT), CAST(to_day AS BIGINT) \
                 FROM figure_answer WHERE tenant = '{TENANT}'"
            ),
        ))
        .await
        .unwrap();
    let mut out: BTreeMap<String, BTreeSet<(i64, i64)>> = BTreeMap::new();
    for r in rows {
        out.entry(r.try_get_by_index::<String>(0).unwrap())
            .or_default()
            .insert((
                r.try_get_by_index::<i64>(1).unwrap(),
                r.try_get_by_index::<i64>(2).unwrap(),
            ));
    }
    out
}

database_test!(serve_computes_dashboard_answers_ahead_at_start);
async fn serve_computes_dashboard_answers_ahead_at_start(database: midoffice_tests::TestDatabase) {
    on_backend(database, |b| async move {
        // A contact every other day over the last month, by phone and on the web.
        let now = Utc::now();
        for k in 1..=15 {
            let day = (now - Days::days(2 * k)).date_naive();
            let channel = if k % 2 == 0 {
                pb::Channel::Phone
            } else {
                pb::Channel::Web
            };
            let mut start =
                midoffice_tests::start(channel, &format!("{day}T09:00:00Z"), None, "afval");
            start.department = "kcc".into();
            b.record(
                TENANT,
                pb::RecordContactRequest {
                    request_id: String::new(),
                    start: Some(start),
                    completion: Some(midoffice_tests::resolved(
                        &format!("{day}T09:00:30Z"),
                        &format!("{day}T09:05:00Z"),
                        "Vraag.",
                    )),
                    context_seen: false,
                },
            )
            .await;
        }
        let url = b.db_url().to_owned();
        let raw = Database::connect(url.as_str()).await.unwrap();
        let store = Store::connect(&url).await.unwrap();
        let tenant = TenantId::parse(TENANT).unwrap();
        let calendar = store.figure_settings(&tenant).await.unwrap().calendar;
        let kept_at = |at: chrono::DateTime<Utc>| {
            kept_periods(calendar.local_date(at), KEPT_MONTHS, at, WeekParts::Every)
        };
        assert!(
            kept_per_filter(&raw).await.is_empty(),
            "nothing kept before"
        );

        let dir = tempfile::tempdir().unwrap();
        let _server =
            common::launch(Path::new(env!("CARGO_BIN_EXE_midoffice")), &url, dir.path()).await;
        // Every period of the window for no filter and each channel (the test's own
        // periods, at the start or, past a midnight, now).
        let periods = |k: Vec<(Step, Vec<Period>)>| -> BTreeSet<(i64, i64)> {
            k.iter()
                .flat_map(|(_, p)| p)
                .map(|p| (day_number(p.from), day_number(p.to)))
                .collect()
        };
        let wanted = [periods(kept_at(now)), periods(kept_at(Utc::now()))];
        assert!(
            wanted[0].len() > 400,
            "13 months of days, their weeks and months"
        );
        let filters = ["//", "PHONE//", "WEB//", "COUNTER//", "EMAIL//"];
        let done = |got: &BTreeMap<String, BTreeSet<(i64, i64)>>| {
            filters.iter().chain(&["thermometer"]).all(|f| {
                got.get(*f)
                    .is_some_and(|kept| wanted.iter().any(|w| w.is_subset(kept)))
            }) && [
                ("/afval/", 15),
                ("//kcc", 15),
                ("PHONE/afval/", 7),
                ("WEB//kcc", 8),
            ]
            .iter()
            .all(|(f, n)| got.get(*f).is_some_and(|k| k.len() > *n))
        };
        let mut waited = 0;
        let mut got = kept_per_filter(&raw).await;
        while waited < 1200 && !done(&got) {
            tokio::time::sleep(Duration::from_millis(100)).await;
            waited += 1;
            got = kept_per_filter(&raw).await;
        }
        for f in filters {
            let kept = got.get(f).cloned().unwrap_or_default();
            assert!(
                wanted.iter().any(|w| w.is_subset(&kept)),
                "{f}: {} of the window's {} periods kept",
                wanted[0].intersection(&kept).count(),
                wanted[0].len()
            );
        }
        // The thermometers (all settled: every contact was answered).
        let thermometers = got.get("thermometer").cloned().unwrap_or_default();
        assert!(
            wanted.iter().any(|w| w.is_subset(&thermometers)),
            "thermometer: {} of the window's {} periods kept",
            wanted[0].intersection(&thermometers).count(),
            wanted[0].len()
        );
        // A topic's or department's periods with anything counted: the 15 days, and the
        // weeks and months holding them; with a channel, that channel's 7 or 8 days and
        // theirs.
        for (f, least) in [
            ("/afval/", 15),
            ("//kcc", 15),
            ("PHONE/afval/", 7),
            ("WEB//kcc", 8),
        ] {
            let n = got.get(f).map_or(0, BTreeSet::len);
            assert!(n > least, "{f}: {n} periods kept");
        }

        // A view of the window's months and a topic's days reads them from the table.
        let kept = kept_at(now);
        let hits = store.stored_figure_hits();
        for (filter, step) in [
            (Filter::default(), Step::Month),
            (
                Filter {
                    topic: Some(Code::parse("afval").unwrap()),
                    ..Filter::default()
                },
                Step::Week,
            ),
        ] {
            let periods = kept
                .iter()
                .find(|(s, _)| *s == step)
                .map(|(_, p)| p.clone())
                .unwrap();
            let answer = store
                .figure_series(&tenant, periods, filter, false)
                .await
                .unwrap();
            assert!(answer.answer.iter().any(|(_, f)| f.contacts > 0));
        }
        assert!(store.stored_figure_hits() > hits, "read from the table");
    })
    .await;
}
