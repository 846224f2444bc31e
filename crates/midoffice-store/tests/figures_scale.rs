//! A measurement, not a test (ignored; timing belongs in benchmarks): a store filled
//! with `MIDOFFICE_SCALE_CONTACTS` contacts (default 300,000) over a year, written as
//! rows (as a bulk load does), the rollups rebuilt, then a month's thermometer and
//! figures from the facts and from the rollups, and the public page's read (a month and
//! the three before it, `Store::thermometer_trend`), each timed. Run:
//!
//! ```text
//! cargo test -p midoffice-store --test figures_scale -- --ignored --nocapture
//! ```
//!
//! On PostgreSQL with `MIDOFFICE_SCALE_BACKEND=postgres` (and the test database URL).
//!
//! `figures_of_a_seeded_store` and `dashboard_reads_of_a_seeded_store` measure a store
//! `midoffice seed` filled (its rollups written by the seed), read-only;
//! `current_periods_after_writes_of_a_seeded_store` writes contacts to today in it (use
//! a copy) and measures the current views read after each:
//!
//! ```text
//! MIDOFFICE_SCALE_URL=sqlite://data/midoffice.db MIDOFFICE_SCALE_TENANT=default \
//!   cargo test --release -p midoffice-store --test figures_scale \
//!   figures_of_a_seeded_store -- --ignored --nocapture
//! ```

mod common;

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use common::*;
use midoffice_domain::contact::Channel;
use midoffice_domain::figures::{Filter, Period};
use midoffice_store::entity::{case, contact, feedback, party};
use midoffice_store::{FigurePath, StoreError};
use sea_orm::{EntityTrait, IntoActiveModel, TransactionTrait};
use std::time::Instant as Clock;
use uuid::Uuid;

const TOPICS: [&str; 12] = [
    "paspoort",
    "rijbewijs",
    "afval",
    "parkeren",
    "wmo",
    "bijstand",
    "belastingen",
    "verhuizing",
    "geboorte",
    "overlijden",
    "bouwvergunning",
    "schuldhulp",
];
const DEPARTMENTS: [&str; 6] = [
    "kcc",
    "burgerzaken",
    "wmo",
    "werk-en-inkomen",
    "belastingen",
    "vth",
];
const OUTCOMES: [&str; 5] = [
    "RESOLVED",
    "RESOLVED",
    "REFERRED",
    "HANDED_OFF",
    "ABANDONED",
];

fn micros(t: chrono::DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

#[tokio::test]
#[ignore = "a measurement: run by hand, see the module docs"]
async fn a_month_of_figures_at_scale() {
    let n: u64 = std::env::var("MIDOFFICE_SCALE_CONTACTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300_000);
    let backend = match std::env::var("MIDOFFICE_SCALE_BACKEND").as_deref() {
        Ok("postgres") => Backend::Postgres,
        _ => Backend::Sqlite,
    };
    let db = database(backend).await;
    let store = db.store().await;
    let raw = db.raw().await;
    let t = tenant();
    let year = Utc.with_ymd_and_hms(2025, 1, 1, 8, 0, 0).unwrap();
    let mut rng = Rng(42);

    let clock = Clock::now();
    let mut written = 0u64;
    while written < n {
        let txn = raw.begin().await.unwrap();
        let (mut parties, mut cases, mut contacts, mut answers) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        while written < n && contacts.len() < 2_000 {
            let day = rng.below(365) as i64;
            let first = year + Duration::days(day) + Duration::seconds(rng.below(9 * 3600) as i64);
            let anonymous = rng.chance(15);
            let (party_id, case_id) = if anonymous {
                (None, None)
            } else {
                let p = Uuid::now_v7();
                let k = Uuid::now_v7();
                parties.push(party::Model {
                    id: p,
                    tenant: t.as_str().into(),
                    created_at: micros(first),
                    strong_kind: None,
                    strong_hash: None,
                    strong_display: None,
                    merged_into: None,
                    erased_at: None,
                });
                cases.push(case::Model {
                    id: k,
                    tenant: t.as_str().into(),
                    party_id: p,
                    topic: Some(TOPICS[rng.below(12) as usize].into()),
                    reference: None,
                    created_at: micros(first),
                    merged_into: None,
                });
                (Some(p), Some(k))
            };
            let on_case = if anonymous { 1 } else { 1 + rng.below(4) };
            let mut start = first;
            for _ in 0..on_case {
                let id = Uuid::now_v7();
                let channel = Channel::ALL[rng.below(4) as usize];
                let outcome = OUTCOMES[rng.below(5) as usize];
                let abandoned = outcome == "ABANDONED";
                let length = 30 + rng.below(1200) as i64;
                let ended = start + Duration::seconds(length);
                let answered = start + Duration::seconds(rng.below(length as u64) as i64);
                contacts.push(contact::Model {
                    id,
                    tenant: t.as_str().into(),
                    party_id,
                    case_id,
                    ambiguous: false,
                    channel: channel.as_str().into(),
                    direction: if rng.chance(85) {
                        "INBOUND"
                    } else {
                        "OUTBOUND"
                    }
                    .into(),
                    started_at: micros(start),
                    topic: (!anonymous || rng.chance(50))
                        .then(|| TOPICS[rng.below(12) as usize].into()),
                    department: rng
                        .chance(60)
                        .then(|| DEPARTMENTS[rng.below(6) as usize].into()),
                    case_reference: None,
                    case_chosen_at_completion: false,
                    recorded: rng.chance(10),
                    context_seen: true,
                    ended_at: Some(micros(ended)),
                    answered_at: (!abandoned).then(|| micros(answered)),
                    outcome: Some(outcome.into()),
                    story: (!abandoned && rng.chance(60)).then(|| "Vraag over de aanvraag.".into()),
                    completion_department: rng
                        .chance(50)
                        .then(|| DEPARTMENTS[rng.below(6) as usize].into()),
                    completion_topic: None,
                    referred_kind: (outcome == "REFERRED").then(|| "DEPARTMENT".into()),
                    referred_value: (outcome == "REFERRED").then(|| "kcc".into()),
                    due_at: (outcome == "HANDED_OFF" && case_id.is_some())
                        .then(|| micros(ended + Duration::days(5))),
                    story_repeated: Some(rng.chance(15)),
                    created_at: micros(start),
                });
                if !abandoned && rng.chance(10) {
                    answers.push(feedback::Model {
                        contact_id: id,
                        tenant: t.as_str().into(),
                        score: 1 + rng.below(5) as i32,
                        effort: 1 + rng.below(7) as i32,
                        story_repeated: rng.chance(20),
                        comment: None,
                        created_at: micros(ended),
                    });
                }
                written += 1;
                start = ended + Duration::seconds(rng.below(4 * 86_400) as i64);
            }
        }
        for chunk in parties.chunks(100) {
            party::Entity::insert_many(chunk.iter().cloned().map(|m| m.into_active_model()))
                .exec_without_returning(&txn)
                .await
                .unwrap();
        }
        for chunk in cases.chunks(100) {
            case::Entity::insert_many(chunk.iter().cloned().map(|m| m.into_active_model()))
                .exec_without_returning(&txn)
                .await
                .unwrap();
        }
        for chunk in contacts.chunks(30) {
            contact::Entity::insert_many(chunk.iter().cloned().map(|m| m.into_active_model()))
                .exec_without_returning(&txn)
                .await
                .unwrap();
        }
        for chunk in answers.chunks(100) {
            feedback::Entity::insert_many(chunk.iter().cloned().map(|m| m.into_active_model()))
                .exec_without_returning(&txn)
                .await
                .unwrap();
        }
        txn.commit().await.unwrap();
    }
    eprintln!("loaded {n} contacts as rows in {:.1?}", clock.elapsed());

    let clock = Clock::now();
    assert!(store.rebuild_figures(&t).await.unwrap());
    eprintln!("rebuild_figures: {:.1?}", clock.elapsed());
    if backend == Backend::Sqlite {
        use sea_orm::ConnectionTrait;
        raw.execute_unprepared("ANALYZE").await.unwrap();
    }

    {
        use sea_orm::ConnectionTrait;
        for sql in [
            "SELECT COUNT(*) FROM figure_rollup",
            "SELECT COUNT(*) FROM figure_month",
            "SELECT COUNT(*) FROM figure_rollup WHERE tenant = 'gemeente-test' AND day >= 739403 AND day < 739433",
            "SELECT MAX(ended_at) FROM contact WHERE tenant = 'gemeente-test'",
            "SELECT MAX(started_at) FROM contact WHERE tenant = 'gemeente-test'",
        ] {
            let clock = Clock::now();
            let r = raw
                .query_one_raw(sea_orm::Statement::from_string(
                    raw.get_database_backend(),
                    sql.to_owned(),
                ))
                .await
                .unwrap()
                .unwrap();
            let v: Option<i64> = r.try_get_by_index(0).unwrap();
            eprintln!("{sql}: {v:?} in {:.1?}", clock.elapsed());
        }
    }
    let month = Period {
        from: NaiveDate::from_ymd_opt(2025, 6, 1).unwrap(),
        to: NaiveDate::from_ymd_opt(2025, 7, 1).unwrap(),
        as_of: Utc::now(),
    };
    let year_period = Period {
        from: NaiveDate::from_ymd_opt(2025, 1, 1).unwrap(),
        to: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
        as_of: Utc::now(),
    };
    let filters = |f: Filter| -> Vec<Filter> {
        std::iter::once(f.clone())
            .chain(Channel::ALL.map(|channel| Filter {
                channel: Some(channel),
                ..f.clone()
            }))
            .collect()
    };
    let topic = Filter {
        topic: Some(code("paspoort")),
        department: Some(code("kcc")),
        ..Filter::default()
    };
    for (name, p) in [("month", month), ("year", year_period)] {
        for from_facts in [true, false] {
            // The facts of a long period may not fit in a call's time: say so and go on.
            let clock = Clock::now();
            let th = store.thermometer(&t, p, from_facts).await;
            let th_time = clock.elapsed();
            let clock = Clock::now();
            let fig = store
                .figures(&t, p, filters(Filter::default()), from_facts)
                .await;
            let fig_time = clock.elapsed();
            let clock = Clock::now();
            let filtered = store
                .figures(&t, p, filters(topic.clone()), from_facts)
                .await;
            let filtered_time = clock.elapsed();
            eprintln!(
                "{name} ({}): thermometer {th_time:.1?} (ok {}), GetFigures overall+4 channels \
                 {fig_time:.1?} (ok {}), topic+department {filtered_time:.1?} (ok {}); contacts {:?}",
                if from_facts { "facts" } else { "rollups" },
                th.as_ref()
                    .is_ok_and(|a| (a.path == FigurePath::Facts) == from_facts),
                fig.is_ok(),
                filtered.is_ok(),
                fig.as_ref().ok().map(|f| f.answer[0].contacts),
            );
        }
    }
    // The answers agree.
    let fast = store
        .figures(&t, month, filters(Filter::default()), false)
        .await
        .unwrap();
    let slow = store
        .figures(&t, month, filters(Filter::default()), true)
        .await
        .unwrap();
    assert_eq!(fast.answer, slow.answer);
    let fast = store.thermometer(&t, month, false).await.unwrap();
    let slow = store.thermometer(&t, month, true).await.unwrap();
    assert_eq!(fast.answer, slow.answer);
    // The public page's read: the month and the three before it, with the settings.
    let (trend, med, max) = timed(5, || store.thermometer_trend(&t, page_periods(month))).await;
    let trend = trend.unwrap();
    eprintln!(
        "public page (month + 3 before): {med:.1?} (max {max:.1?}) path {:?}",
        trend.path
    );
    assert_eq!(trend.answer.1[0], fast.answer);
}

/// The periods the public thermometer page reads for a month: it and the 3 before it.
fn page_periods(month: Period) -> Vec<Period> {
    (0..4)
        .map(|k| Period {
            from: month.from - chrono::Months::new(k),
            to: month.to - chrono::Months::new(k),
            as_of: month.as_of,
        })
        .collect()
}

/// Times a call `runs` times; the median and the slowest.
async fn timed<T, F: std::future::Future<Output = T>>(
    runs: usize,
    mut call: impl FnMut() -> F,
) -> (T, std::time::Duration, std::time::Duration) {
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..runs {
        let clock = Clock::now();
        last = Some(call().await);
        times.push(clock.elapsed());
    }
    times.sort();
    (
        last.unwrap(),
        times[times.len() / 2],
        times[times.len() - 1],
    )
}

#[tokio::test]
#[ignore = "a measurement of a seeded store: run by hand, see the module docs"]
async fn figures_of_a_seeded_store() {
    use midoffice_domain::rollup::Step;
    use sea_orm::ConnectionTrait;
    let url = std::env::var("MIDOFFICE_SCALE_URL").expect("MIDOFFICE_SCALE_URL");
    let tenant = midoffice_domain::TenantId::parse(
        &std::env::var("MIDOFFICE_SCALE_TENANT").unwrap_or_else(|_| "default".into()),
    )
    .unwrap();
    let store = midoffice_store::Store::connect(&url).await.unwrap();
    let raw = sea_orm::Database::connect(&url).await.unwrap();
    let t = tenant.as_str();
    // A count, or None where the statement fails (a table not there yet).
    let counted = |sql: String| {
        let raw = &raw;
        async move {
            let r = raw
                .query_one_raw(sea_orm::Statement::from_string(
                    raw.get_database_backend(),
                    sql,
                ))
                .await
                .ok()??;
            r.try_get_by_index::<i64>(0).ok()
        }
    };
    let one = |sql: String| {
        let counted = &counted;
        async move { counted(sql).await.expect("a count") }
    };
    let contacts = one(format!("SELECT COUNT(*) FROM contact WHERE tenant = '{t}'")).await;
    let days = one(format!(
        "SELECT COUNT(*) FROM figure_rollup WHERE tenant = '{t}'"
    ))
    .await;
    let months = one(format!(
        "SELECT COUNT(*) FROM figure_month WHERE tenant = '{t}'"
    ))
    .await;
    let units = one(format!(
        "SELECT COUNT(*) FROM figure_unit WHERE tenant = '{t}'"
    ))
    .await;
    eprintln!(
        "{contacts} contacts; day rows {days} ({:.2} per contact), month rows {months} ({:.3} per contact), unit rows {units}",
        days as f64 / contacts as f64,
        months as f64 / contacts as f64
    );
    let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
    let month = Period {
        from: d(2026, 6, 1),
        to: d(2026, 7, 1),
        as_of: Utc::now(),
    };
    let year = Period {
        from: d(2025, 12, 1),
        to: d(2026, 12, 1),
        as_of: Utc::now(),
    };
    let week = Period {
        from: d(2026, 6, 8),
        to: d(2026, 6, 15),
        as_of: Utc::now(),
    };
    let mn = midoffice_domain::rollup::month_number(month.from);
    let dn = midoffice_domain::rollup::day_number(month.from);
    let dt = midoffice_domain::rollup::day_number(month.to);
    eprintln!(
        "rows of June 2026: month rows {}, day rows {}",
        one(format!(
            "SELECT COUNT(*) FROM figure_month WHERE tenant = '{t}' AND month = {mn}"
        ))
        .await,
        one(format!(
            "SELECT COUNT(*) FROM figure_rollup WHERE tenant = '{t}' AND day >= {dn} AND day < {dt}"
        ))
        .await
    );
    for kind in [1, 2, 3, 4, 5, 6] {
        eprintln!(
            "  June month rows of kind {kind}: {}",
            one(format!("SELECT COUNT(*) FROM figure_month WHERE tenant = '{t}' AND month = {mn} AND kind = {kind}")).await
        );
    }
    eprintln!(
        "  June month rows of exact seconds (kinds 100+): {}",
        one(format!("SELECT COUNT(*) FROM figure_month WHERE tenant = '{t}' AND month = {mn} AND kind >= 100")).await
    );
    // The totals (migration m0010; absent before it).
    for (table, column, from, to) in [
        ("figure_day_total", "day", dn, dt),
        ("figure_month_total", "month", mn, mn + 1),
    ] {
        if let Some(all) =
            counted(format!("SELECT COUNT(*) FROM {table} WHERE tenant = '{t}'")).await
        {
            let june = counted(format!(
                "SELECT COUNT(*) FROM {table} WHERE tenant = '{t}' AND {column} >= {from} AND {column} < {to}"
            ))
            .await
            .unwrap_or_default();
            eprintln!("{table}: {all} rows, {june} of June 2026");
        }
    }
    let with_channels = |f: Filter| -> Vec<Filter> {
        std::iter::once(f.clone())
            .chain(Channel::ALL.map(|channel| Filter {
                channel: Some(channel),
                ..f.clone()
            }))
            .collect()
    };
    let topic = || Some(code("paspoort"));
    let department = || Some(code("kcc"));
    // MIDOFFICE_SCALE_SERIES_ONLY: only the series (to profile them).
    let series_only = std::env::var_os("MIDOFFICE_SCALE_SERIES_ONLY").is_some();
    let calls = if series_only {
        Vec::new()
    } else {
        vec![("week", week), ("month", month), ("year", year)]
    };
    for (name, p) in calls {
        let (th, med, max) = timed(5, || store.thermometer(&tenant, p, false)).await;
        let th = th.unwrap();
        eprintln!(
            "{name}: thermometer {med:.1?} (max {max:.1?}) path {:?}",
            th.path
        );
        if name == "month" {
            let (page, med, max) =
                timed(5, || store.thermometer_trend(&tenant, page_periods(p))).await;
            eprintln!(
                "month: public page (month + 3 before) {med:.1?} (max {max:.1?}) path {:?}",
                page.unwrap().path
            );
        }
        for (label, f) in [
            ("overall + 4 channels", with_channels(Filter::default())),
            (
                "channel phone",
                vec![Filter {
                    channel: Some(Channel::Phone),
                    ..Filter::default()
                }],
            ),
            (
                "topic",
                vec![Filter {
                    topic: topic(),
                    ..Filter::default()
                }],
            ),
            (
                "department",
                vec![Filter {
                    department: department(),
                    ..Filter::default()
                }],
            ),
            (
                "topic + 4 channels",
                with_channels(Filter {
                    topic: topic(),
                    ..Filter::default()
                }),
            ),
            (
                "department + 4 channels",
                with_channels(Filter {
                    department: department(),
                    ..Filter::default()
                }),
            ),
            (
                "topic + department + 4 channels",
                with_channels(Filter {
                    topic: topic(),
                    department: department(),
                    ..Filter::default()
                }),
            ),
        ] {
            let (r, med, max) = timed(5, || store.figures(&tenant, p, f.clone(), false)).await;
            let r = r.unwrap();
            eprintln!(
                "{name}: GetFigures {label}: {med:.1?} (max {max:.1?}) path {:?}, contacts {}",
                r.path, r.answer[0].contacts
            );
        }
    }
    // The seeded year (`midoffice seed` with a fixed period 2025-12-01..2026-12-01).
    let phone = Filter {
        channel: Some(Channel::Phone),
        ..Filter::default()
    };
    for (label, step, filter) in [
        ("12-month daily series", Step::Day, Filter::default()),
        (
            "12-month daily series, channel phone",
            Step::Day,
            phone.clone(),
        ),
        (
            "12-month daily series, one department",
            Step::Day,
            Filter {
                department: department(),
                ..Filter::default()
            },
        ),
        ("12-month weekly series", Step::Week, Filter::default()),
        ("12-month monthly series", Step::Month, Filter::default()),
        ("12-month monthly series, channel phone", Step::Month, phone),
    ] {
        let periods =
            midoffice_domain::rollup::series_periods(year.from, year.to, step, Utc::now());
        let (r, med, max) = timed(3, || {
            store.figure_series(&tenant, periods.clone(), filter.clone(), false)
        })
        .await;
        match r {
            Ok(r) => eprintln!(
                "{label}: {med:.1?} (max {max:.1?}) path {:?}, {} periods",
                r.path,
                r.answer.len()
            ),
            // Past the store's bound (a large store on a loaded machine) is a
            // measurement; any other failure of the fast path is a fault.
            Err(e @ StoreError::Unavailable(_)) => {
                eprintln!("{label}: {med:.1?} (max {max:.1?}) failed: {e}")
            }
            Err(e) => panic!("{label}: {e}"),
        }
    }
    if series_only {
        return;
    }
    // The reference, once, for a month (and that both agree); under a heavy load of
    // the machine it may exceed the store's bound.
    let clock = Clock::now();
    match store.thermometer(&tenant, month, true).await {
        Ok(slow) => {
            eprintln!("month thermometer from the facts: {:.1?}", clock.elapsed());
            let fast = store.thermometer(&tenant, month, false).await.unwrap();
            assert_eq!(slow.answer, fast.answer);
        }
        Err(e) => eprintln!("month thermometer from the facts: {e}"),
    }
    let clock = Clock::now();
    let f = with_channels(Filter::default());
    match store.figures(&tenant, month, f.clone(), true).await {
        Ok(slow) => {
            eprintln!(
                "month GetFigures overall + 4 channels from the facts: {:.1?}",
                clock.elapsed()
            );
            let fast = store.figures(&tenant, month, f, false).await.unwrap();
            assert_eq!(slow.answer, fast.answer);
        }
        Err(e) => eprintln!("month GetFigures overall + 4 channels from the facts: {e}"),
    }
}

/// The dashboard's series of these periods overall and per channel, at once (as
/// `/dashboard/{tenant}` reads them), all answered from the rollups: how long it took.
async fn dashboard_series(
    store: &midoffice_store::Store,
    tenant: &midoffice_domain::TenantId,
    periods: &[Period],
) -> std::time::Duration {
    let clock = Clock::now();
    let channels = Channel::ALL.map(|channel| {
        store.figure_series(
            tenant,
            periods.to_vec(),
            Filter {
                channel: Some(channel),
                ..Filter::default()
            },
            false,
        )
    });
    let [a, b, c, e] = channels;
    let (overall, a, b, c, e) = tokio::join!(
        store.figure_series(tenant, periods.to_vec(), Filter::default(), false),
        a,
        b,
        c,
        e,
    );
    let took = clock.elapsed();
    for r in [&overall, &a, &b, &c, &e] {
        assert_eq!(r.as_ref().unwrap().path, FigurePath::Rollups);
    }
    took
}

#[tokio::test]
#[ignore = "a measurement of a seeded store: run by hand, see the module docs"]
async fn dashboard_reads_of_a_seeded_store() {
    use midoffice_domain::rollup::{Step, series_periods};
    let url = std::env::var("MIDOFFICE_SCALE_URL").expect("MIDOFFICE_SCALE_URL");
    let tenant = midoffice_domain::TenantId::parse(
        &std::env::var("MIDOFFICE_SCALE_TENANT").unwrap_or_else(|_| "default".into()),
    )
    .unwrap();
    let store = midoffice_store::Store::connect(&url).await.unwrap();
    let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
    // What `/dashboard/{tenant}` reads for a period and step: the series overall and per
    // channel and the thermometer of the last (at most 13) periods, at once.
    let page = |from: NaiveDate, to: NaiveDate, step: Step| {
        let store = &store;
        let tenant = &tenant;
        async move {
            let periods = series_periods(from, to, step, Utc::now());
            let recent = periods[periods.len().saturating_sub(13)..].to_vec();
            let clock = Clock::now();
            let (_, norms) = tokio::join!(
                dashboard_series(store, tenant, &periods),
                store.thermometer_trend(tenant, recent)
            );
            let took = clock.elapsed();
            norms.unwrap();
            (took, periods.len())
        }
    };
    for (label, from, to, step) in [
        (
            "one week (what a write to its days costs)",
            d(2026, 11, 23),
            d(2026, 11, 30),
            Step::Week,
        ),
        (
            "November 2026 by week (the default view)",
            d(2026, 11, 1),
            d(2026, 12, 1),
            Step::Week,
        ),
        (
            "September to November by week",
            d(2026, 9, 1),
            d(2026, 12, 1),
            Step::Week,
        ),
        ("November by day", d(2026, 11, 1), d(2026, 12, 1), Step::Day),
        (
            "the year by month",
            d(2025, 12, 1),
            d(2026, 12, 1),
            Step::Month,
        ),
        (
            "the year by week",
            d(2025, 12, 1),
            d(2026, 12, 1),
            Step::Week,
        ),
        ("the year by day", d(2025, 12, 1), d(2026, 12, 1), Step::Day),
    ] {
        let hits = store.kept_figure_hits();
        let (cold, n) = page(from, to, step).await;
        let mut warm = Vec::new();
        for _ in 0..5 {
            warm.push(page(from, to, step).await.0);
        }
        warm.sort();
        eprintln!(
            "dashboard, {label} ({n} points): first {cold:.1?}, then {:.2?} (max {:.2?}); {} periods from memory",
            warm[2],
            warm[4],
            store.kept_figure_hits() - hits
        );
    }
    let month = Period {
        from: d(2026, 11, 1),
        to: d(2026, 12, 1),
        as_of: Utc::now(),
    };
    let (_, med, max) = timed(5, || store.thermometer_trend(&tenant, page_periods(month))).await;
    eprintln!("public page's read (November + 3 months before): {med:.2?} (max {max:.2?})");
}

#[tokio::test]
#[ignore = "a measurement of a seeded store: run by hand, see the module docs"]
/// The views that hold today, read again after each write to today (a contact
/// started and completed on the seeded store, which this measurement changes): the
/// dashboard's current month by week (whose current week is computed again, the rows
/// of its earlier recent days kept in memory) and the public page's read of the current
/// month (its month's rows read again).
async fn current_periods_after_writes_of_a_seeded_store() {
    use chrono::Datelike;
    use midoffice_domain::rollup::{Step, series_periods};
    let url = std::env::var("MIDOFFICE_SCALE_URL").expect("MIDOFFICE_SCALE_URL");
    let tenant = midoffice_domain::TenantId::parse(
        &std::env::var("MIDOFFICE_SCALE_TENANT").unwrap_or_else(|_| "default".into()),
    )
    .unwrap();
    let store = midoffice_store::Store::connect(&url).await.unwrap();
    let today = Utc::now().date_naive();
    let month_start = today.with_day(1).unwrap();
    let next_month = month_start + chrono::Months::new(1);
    let dashboard = || {
        let store = &store;
        let tenant = &tenant;
        async move {
            let periods = series_periods(month_start, next_month, Step::Week, Utc::now());
            dashboard_series(store, tenant, &periods).await
        }
    };
    let public = || {
        let store = &store;
        let tenant = &tenant;
        async move {
            let month = Period {
                from: month_start,
                to: next_month,
                as_of: Utc::now(),
            };
            let clock = Clock::now();
            store
                .thermometer_trend(tenant, page_periods(month))
                .await
                .unwrap();
            clock.elapsed()
        }
    };
    let write = || {
        let store = &store;
        let tenant = &tenant;
        async move {
            let minute = 2 * 24 * 60 - 2;
            let started = store
                .start_contact(
                    tenant,
                    &caller(),
                    start(vec![bsn(BSN_A)], Some("paspoort"), minute),
                    None,
                )
                .await
                .unwrap();
            store
                .complete_contact(
                    tenant,
                    &caller(),
                    started.contact.contact.id,
                    Ok(end(
                        midoffice_domain::contact::Outcome::Resolved,
                        minute,
                        minute + 1,
                        None,
                    )),
                    None,
                    Utc::now(),
                )
                .await
                .unwrap();
        }
    };
    // A week whose last day is today (the current week on a Sunday).
    let week = || {
        let store = &store;
        let tenant = &tenant;
        async move {
            let period = Period {
                from: today - Duration::days(6),
                to: today + Duration::days(1),
                as_of: Utc::now(),
            };
            dashboard_series(store, tenant, &[period]).await
        }
    };
    let first_week = week().await;
    let first_dashboard = dashboard().await;
    let first_public = public().await;
    let (mut dash, mut weeks, mut page) = (Vec::new(), Vec::new(), Vec::new());
    let days = store.kept_day_hits();
    for _ in 0..5 {
        write().await;
        dash.push(dashboard().await);
        weeks.push(week().await);
        page.push(public().await);
    }
    dash.sort();
    weeks.sort();
    page.sort();
    eprintln!(
        "the current month by week: first {first_dashboard:.1?}; after a write to today {:.1?} (max {:.1?})",
        dash[2], dash[4],
    );
    eprintln!(
        "the seven days up to today: first {first_week:.1?}; after a write to today {:.1?} (max {:.1?}); {} recent days' rows from memory in all",
        weeks[2],
        weeks[4],
        store.kept_day_hits() - days
    );
    eprintln!(
        "the public page's read of the current month: first {first_public:.1?}; after a write to today {:.1?} (max {:.1?})",
        page[2], page[4]
    );
}

#[tokio::test]
#[ignore = "a measurement of a seeded store: run by hand, see the module docs"]
/// The first read after a restart (a new `Store`) of a dashboard view computed before
/// it: computed again from the sums (no kept answer in `figure_answer`: what a restart
/// cost before m0017) against read from the answers the earlier store kept. Each view
/// is the dashboard's five series (overall and per channel) of the quarter
/// `MIDOFFICE_SCALE_FROM`..`MIDOFFICE_SCALE_TO` (default 2026-09-01..2026-12-01) by day
/// and by week, three rounds each. Deletes the tenant's `figure_answer` rows (nothing
/// else) of the store it reads.
async fn a_restart_reads_kept_answers_of_a_seeded_store() {
    use midoffice_domain::rollup::{Step, series_periods};
    use sea_orm::ConnectionTrait;
    let url = std::env::var("MIDOFFICE_SCALE_URL").expect("MIDOFFICE_SCALE_URL");
    let tenant = midoffice_domain::TenantId::parse(
        &std::env::var("MIDOFFICE_SCALE_TENANT").unwrap_or_else(|_| "default".into()),
    )
    .unwrap();
    let day = |name: &str, default: &str| {
        NaiveDate::parse_from_str(
            &std::env::var(name).unwrap_or_else(|_| default.into()),
            "%Y-%m-%d",
        )
        .unwrap()
    };
    let from = day("MIDOFFICE_SCALE_FROM", "2026-09-01");
    let to = day("MIDOFFICE_SCALE_TO", "2026-12-01");
    let raw = sea_orm::Database::connect(&url).await.unwrap();
    for (label, step) in [("by day", Step::Day), ("by week", Step::Week)] {
        let periods = series_periods(from, to, step, Utc::now());
        let answers = 5 * periods.len() as u64;
        let (mut computed, mut kept, mut norms) = (Vec::new(), Vec::new(), Vec::new());
        let mut written = 0;
        for _ in 0..3 {
            raw.execute_unprepared(&format!(
                "DELETE FROM figure_answer WHERE tenant = '{}'",
                tenant.as_str()
            ))
            .await
            .unwrap();
            // Before: a restarted store finds nothing kept and computes every period.
            let before = midoffice_store::Store::connect(&url).await.unwrap();
            computed.push(dashboard_series(&before, &tenant, &periods).await);
            // Written beside the answers (not those with nothing counted): until the
            // count stops moving.
            written = 0;
            for _ in 0..100 {
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                let now = before.stored_figure_writes();
                if now > 0 && now == written {
                    break;
                }
                written = now;
            }
            assert!(written > 0 && written <= answers, "{written} kept");
            // Now: another restarted store reads them.
            let after = midoffice_store::Store::connect(&url).await.unwrap();
            kept.push(dashboard_series(&after, &tenant, &periods).await);
            assert_eq!(
                after.stored_figure_hits(),
                written,
                "all kept from the table"
            );
            assert_eq!(after.stored_figure_writes(), 0, "nothing computed");
            // The page's norms trend beside them stays in memory only: computed.
            let recent = periods[periods.len().saturating_sub(13)..].to_vec();
            let clock = Clock::now();
            after.thermometer_trend(&tenant, recent).await.unwrap();
            norms.push(clock.elapsed());
        }
        computed.sort();
        kept.sort();
        norms.sort();
        eprintln!(
            "the quarter {label} ({} points, {answers} answers, {written} kept): after a restart, computed \
             {:.1?} (runs {computed:.1?}); from figure_answer {:.2?} (runs {kept:.2?}); the \
             norms trend beside it (computed) {:.1?}",
            periods.len(),
            computed[1],
            kept[1],
            norms[1],
        );
    }
    let rows: i64 = raw
        .query_one_raw(sea_orm::Statement::from_string(
            raw.get_database_backend(),
            format!(
                "SELECT COUNT(*) FROM figure_answer WHERE tenant = '{}'",
                tenant.as_str()
            ),
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get_by_index(0)
        .unwrap();
    eprintln!("figure_answer rows of the tenant: {rows}");
}
