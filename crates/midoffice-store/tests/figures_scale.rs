//! A measurement, not a test (ignored; timing belongs in benchmarks): a store filled
//! with `MIDOFFICE_SCALE_CONTACTS` contacts (default 300,000) over a year, written as
//! rows (as a bulk load does), the rollups rebuilt, then a month's thermometer and
//! figures from the facts and from the rollups, each timed. Run:
//!
//! ```text
//! cargo test -p midoffice-store --test figures_scale -- --ignored --nocapture
//! ```
//!
//! On PostgreSQL with `MIDOFFICE_SCALE_BACKEND=postgres` (and the test database URL).

mod common;

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use common::*;
use midoffice_domain::contact::Channel;
use midoffice_domain::figures::{Filter, Period};
use midoffice_store::FigurePath;
use midoffice_store::entity::{case, contact, feedback, party};
use sea_orm::{EntityTrait, IntoActiveModel, TransactionTrait};
use std::time::Instant as Clock;
use uuid::Uuid;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

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
            "SELECT COUNT(*) FROM figure_rollup WHERE tenant = 'gemeente-test' AND day >= 739403 AND day < 739433",
            "SELECT COUNT(*) FROM figure_rollup WHERE tenant = 'gemeente-test' AND day >= 739403 AND day < 739433 AND (kind <> 6 OR b < 739403)",
            "SELECT COUNT(*) FROM (SELECT kind, channel, topic, department, a, CASE WHEN kind = 6 THEN 0 ELSE b END AS bb, CASE WHEN kind = 6 THEN (CASE WHEN c >= 1478806 AND c < 1478866 THEN c % 2 ELSE -1 END) ELSE c END AS cc, CAST(SUM(n) AS BIGINT) FROM figure_rollup WHERE tenant = 'gemeente-test' AND day >= 739403 AND day < 739433 AND (kind <> 6 OR b < 739403) GROUP BY kind, channel, topic, department, a, bb, cc) AS x",
            "SELECT COUNT(*) FROM (SELECT kind, channel, topic, department, a, CASE WHEN kind = 6 THEN 0 ELSE b END AS bb, CASE WHEN kind = 6 THEN (CASE WHEN c >= 1478806 AND c < 1478866 THEN c % 2 ELSE -1 END) ELSE c END AS cc, CAST(SUM(n) AS BIGINT) FROM figure_rollup WHERE tenant = 'gemeente-test' AND day >= 739403 AND day < 739433 AND (kind <> 6 OR b < 739403) GROUP BY kind, channel, topic, department, a, bb, cc) AS x WHERE kind = 3",
            "SELECT COUNT(*) FROM (SELECT kind, channel, topic, department, a, CASE WHEN kind = 6 THEN 0 ELSE b END AS bb, CASE WHEN kind = 6 THEN (CASE WHEN c >= 1478806 AND c < 1478866 THEN c % 2 ELSE -1 END) ELSE c END AS cc, CAST(SUM(n) AS BIGINT) FROM figure_rollup WHERE tenant = 'gemeente-test' AND day >= 739403 AND day < 739433 AND (kind <> 6 OR b < 739403) GROUP BY kind, channel, topic, department, a, bb, cc) AS x WHERE kind = 6",
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
}
