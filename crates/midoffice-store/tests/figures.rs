//! Figures from the rollups against figures from the facts, through the real store on
//! SQLite and PostgreSQL: random event streams (starts, completions, late recordings,
//! merges by a weak identifier meeting a strong one, feedback, erasures, settings
//! replaced and rebuilt), then for random periods and filters the rollups' answer must
//! equal the reference computation's, exactly.

mod common;

use chrono::{Datelike, Duration, Months, NaiveDate};
use common::*;
use midoffice_domain::command::{CompletionCommand, StartCommand};
use midoffice_domain::contact::{Channel, Direction, Feedback, Outcome, ReferralTarget};
use midoffice_domain::figures::{Figures, Filter, Period};
use midoffice_domain::identifier::IdentKey;
use midoffice_domain::rollup::{self, Step, TallyKind};
use midoffice_domain::settings::{Measure, Norm, TenantSettings, Within};
use midoffice_domain::{Code, TenantId};
use midoffice_store::rows::figure_answer;
use midoffice_store::{FigurePath, Store};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement, TransactionTrait};
use uuid::Uuid;

/// A valid BSN (eleven test) from a number.
fn bsn_of(n: u64) -> String {
    for bump in 0..100 {
        let digits: Vec<u64> = format!("{:08}", (n * 7919 + bump) % 100_000_000)
            .bytes()
            .map(|b| u64::from(b - b'0'))
            .collect();
        let sum: u64 = digits.iter().zip((2..=9).rev()).map(|(d, w)| d * w).sum();
        let check = sum % 11;
        if check < 10 && digits.iter().any(|d| *d != 0) {
            return format!(
                "{}{check}",
                digits.iter().map(u64::to_string).collect::<String>()
            );
        }
    }
    unreachable!("a BSN within 100 tries")
}

/// A citizen's identifiers: a BSN and an e-mail address.
fn citizen(n: u64) -> (IdentKey, IdentKey) {
    (bsn(&bsn_of(n + 1)), email(&format!("burger{n}@example.nl")))
}

const TOPICS: [&str; 3] = ["paspoort", "afval", "wmo"];
const DEPARTMENTS: [&str; 2] = ["kcc", "burgerzaken"];
/// The last minute an event may have: `at(LAST)` is before now.
const LAST: i64 = 2 * 24 * 60 - 10;

fn identifiers(rng: &mut Rng) -> Vec<IdentKey> {
    if rng.chance(15) {
        return Vec::new();
    }
    let (strong, weak) = citizen(rng.below(6));
    match rng.below(4) {
        0 => vec![strong],
        1 | 2 => vec![weak],
        _ => vec![weak, strong],
    }
}

fn start_command(rng: &mut Rng, minute: i64) -> StartCommand {
    StartCommand {
        channel: rng.pick(&Channel::ALL),
        direction: if rng.chance(80) {
            Direction::Inbound
        } else {
            Direction::Outbound
        },
        started_at: at(minute),
        identifiers: identifiers(rng),
        topic: rng.chance(60).then(|| code(rng.pick(&TOPICS))),
        case_id: None,
        case_reference: None,
        department: rng.chance(50).then(|| code(rng.pick(&DEPARTMENTS))),
    }
}

fn completion(rng: &mut Rng, start: i64, topic: Option<&Code>) -> CompletionCommand {
    let outcome = rng.pick(&Outcome::ALL);
    let end = (start + rng.pick(&[0, 1, 5, 30, 600, 1500])).min(LAST);
    let abandoned = outcome == Outcome::Abandoned;
    let answered = start + rng.below((end - start + 1) as u64) as i64;
    CompletionCommand {
        ended_at: at(end) - Duration::seconds(if end > start { rng.below(50) as i64 } else { 0 }),
        answered_at: (!abandoned).then(|| at(answered)),
        outcome,
        story: (!abandoned && rng.chance(50)).then(|| "Burger belde over de aanvraag.".into()),
        department: rng.chance(50).then(|| code(rng.pick(&DEPARTMENTS))),
        topic: match topic {
            Some(t) => Some(t.clone()),
            None => (!abandoned || rng.chance(50)).then(|| code(rng.pick(&TOPICS))),
        },
        referred_to: (outcome == Outcome::Referred)
            .then(|| ReferralTarget::Department(code(rng.pick(&DEPARTMENTS)))),
        due_at: (outcome.is_commitment() && rng.chance(50))
            .then(|| at(end + rng.pick(&[5, 60, 600]))),
        story_repeated: rng.chance(20),
    }
}

/// What a stream did, to check it did enough.
#[derive(Debug, Default)]
struct Done {
    started: u32,
    completed: u32,
    recorded: u32,
    feedback: u32,
    erased: u32,
    refused: u32,
}

/// A citizen known by e-mail only and one known by BSN only, each with an open case on
/// one topic, then a contact with both: the parties merge and the cases join; the
/// joined case is referred twice.
async fn join_cases(store: &Store, t: &TenantId) {
    let (strong, weak) = citizen(100);
    for (minute, ids) in [(10, vec![weak.clone()]), (20, vec![strong.clone()])] {
        let s = StartCommand {
            identifiers: ids,
            ..start(vec![], Some("paspoort"), minute)
        };
        let started = store.start_contact(t, &caller(), s, None).await.unwrap();
        let mut e = end(Outcome::Referred, minute, minute + 5, Some("Doorverwezen."));
        e.referred_to = Some(ReferralTarget::Department(code("burgerzaken")));
        store
            .complete_contact(t, &caller(), started.contact.contact.id, Ok(e), None, now())
            .await
            .unwrap();
    }
    let both = StartCommand {
        identifiers: vec![weak, strong],
        ..start(vec![], Some("paspoort"), 40)
    };
    store.start_contact(t, &caller(), both, None).await.unwrap();
}

/// Plays `events` random events against the store.
async fn play(store: &Store, t: &TenantId, seed: u64, events: u32) -> Done {
    let mut rng = Rng(seed | 1);
    let mut done = Done::default();
    let mut open: Vec<(Uuid, i64, Option<Code>)> = Vec::new();
    let mut completed: Vec<Uuid> = Vec::new();
    for _ in 0..events {
        match rng.below(100) {
            0..40 => {
                let minute = rng.below(LAST as u64 - 60) as i64;
                let s = start_command(&mut rng, minute);
                let topic = s.topic.clone();
                match store.start_contact(t, &caller(), s, None).await {
                    Ok(started) => {
                        done.started += 1;
                        open.push((started.contact.contact.id, minute, topic));
                    }
                    Err(_) => done.refused += 1,
                }
            }
            40..70 if !open.is_empty() => {
                let i = rng.below(open.len() as u64) as usize;
                let (id, minute, topic) = open.swap_remove(i);
                let e = completion(&mut rng, minute, topic.as_ref());
                match store
                    .complete_contact(t, &caller(), id, Ok(e), None, now())
                    .await
                {
                    Ok(_) => {
                        done.completed += 1;
                        completed.push(id);
                    }
                    Err(_) => done.refused += 1,
                }
            }
            70..85 => {
                // Registered after the fact, at a time before much of what is stored.
                let minute = rng.below(LAST as u64 - 60) as i64;
                let s = start_command(&mut rng, minute);
                let e = completion(&mut rng, minute, s.topic.as_ref());
                let seen = rng.chance(50);
                match store
                    .record_contact(t, &caller(), s, e, seen, None, now())
                    .await
                {
                    Ok(r) => {
                        done.recorded += 1;
                        completed.push(r.contact.contact.id);
                    }
                    Err(_) => done.refused += 1,
                }
            }
            85..95 if !completed.is_empty() => {
                let id = rng.pick(&completed);
                let f = Feedback {
                    score: 1 + rng.below(5) as u8,
                    effort: 1 + rng.below(7) as u8,
                    story_repeated: rng.chance(30),
                    comment: None,
                };
                match store.submit_feedback(t, &caller(), id, f, None).await {
                    Ok(_) => done.feedback += 1,
                    Err(_) => done.refused += 1,
                }
            }
            95..97 => {
                let (strong, _) = citizen(rng.below(6));
                match store.erase_party(t, &caller(), vec![strong]).await {
                    Ok(_) => done.erased += 1,
                    Err(_) => done.refused += 1,
                }
            }
            _ => {}
        }
    }
    done
}

fn other_settings() -> TenantSettings {
    let mut s = TenantSettings {
        repeat_window_secs: 3600,
        channel_hop_window_secs: 600,
        ..TenantSettings::default()
    };
    s.norms.push(Norm {
        id: code("mail-binnen-een-uur"),
        title: "E-mail binnen een uur".into(),
        measure: Measure::ResponseTime {
            channel: Channel::Email,
            within: Within::Elapsed(3600),
        },
        target_percent: 70,
        explanation: None,
        published: true,
    });
    s.norms.push(Norm {
        id: code("hooguit-een-keer"),
        title: "Hooguit één keer doorverwezen".into(),
        measure: Measure::ReferredAtMost { max: 1 },
        target_percent: 90,
        explanation: None,
        published: true,
    });
    s
}

fn random_filter(rng: &mut Rng) -> Filter {
    Filter {
        channel: rng.chance(30).then(|| rng.pick(&Channel::ALL)),
        topic: rng.chance(40).then(|| code(rng.pick(&TOPICS))),
        department: rng.chance(40).then(|| code(rng.pick(&DEPARTMENTS))),
    }
}

/// Random periods around the stream's days, all as known now: a few days, or whole
/// months (read from the per-month rows), or from the first of a month to a day.
fn periods(rng: &mut Rng, n: usize) -> Vec<Period> {
    let first: NaiveDate = (at(0) - Duration::days(1)).date_naive();
    let month = first.with_day(1).unwrap();
    (0..n)
        .map(|_| {
            let (from, to) = match rng.below(4) {
                0 => (month, month + Months::new(1 + rng.below(2) as u32)),
                1 => (
                    month - Months::new(rng.below(2) as u32),
                    first + Duration::days(40 + rng.below(3) as i64),
                ),
                _ => {
                    let from = first + Duration::days(rng.below(4) as i64);
                    (from, from + Duration::days(1 + rng.below(3) as i64))
                }
            };
            Period {
                from,
                to,
                as_of: now(),
            }
        })
        .collect()
}

/// Both paths for these periods: the rollups must answer, and equal the facts.
async fn same_answers(store: &Store, t: &TenantId, rng: &mut Rng, periods: &[Period]) {
    for p in periods {
        let fast = store.thermometer(t, *p, false).await.unwrap();
        let slow = store.thermometer(t, *p, true).await.unwrap();
        assert_eq!(fast.path, FigurePath::Rollups);
        assert_eq!(slow.path, FigurePath::Facts);
        assert_eq!(fast.answer, slow.answer, "thermometer {p:?}");
        let filter = random_filter(rng);
        let filters: Vec<Filter> = std::iter::once(filter.clone())
            .chain(Channel::ALL.map(|channel| Filter {
                channel: Some(channel),
                ..filter.clone()
            }))
            .chain([Filter::default()])
            .collect();
        // As GetFigures asks (the filter's topic and department narrow the read), and
        // with the unfiltered figures beside them (they do not).
        for filters in [filters[..5].to_vec(), filters] {
            let fast = store.figures(t, *p, filters.clone(), false).await.unwrap();
            let slow = store.figures(t, *p, filters.clone(), true).await.unwrap();
            assert_eq!(fast.path, FigurePath::Rollups);
            assert_eq!(fast.answer, slow.answer, "figures {p:?} {filters:?}");
        }
        // Unfiltered and by channel only: read from the totals.
        let plain: Vec<Filter> = std::iter::once(Filter::default())
            .chain(Channel::ALL.map(|channel| Filter {
                channel: Some(channel),
                ..Filter::default()
            }))
            .collect();
        let fast = store.figures(t, *p, plain.clone(), false).await.unwrap();
        let slow = store.figures(t, *p, plain.clone(), true).await.unwrap();
        assert_eq!(fast.path, FigurePath::Rollups);
        assert_eq!(fast.answer, slow.answer, "figures {p:?} {plain:?}");
        // The series over the period, by day, week and month, read once (from the
        // full sums or the part of the totals the filter's dims choose).
        for step in [Step::Day, Step::Week, Step::Month] {
            let filter = random_filter(rng);
            let periods = rollup::series_periods(p.from, p.to, step, p.as_of);
            let fast = store
                .figure_series(t, periods.clone(), filter.clone(), false)
                .await
                .unwrap();
            let slow = store
                .figure_series(t, periods, filter.clone(), true)
                .await
                .unwrap();
            assert_eq!(fast.path, FigurePath::Rollups);
            assert_eq!(slow.path, FigurePath::Facts);
            assert_eq!(fast.answer, slow.answer, "series {p:?} {step:?} {filter:?}");
        }
    }
}

/// The sum tables, per day and per month.
const SUMS: [(&str, &str); 2] = [("figure_rollup", "day"), ("figure_month", "month")];
/// The totals (m0010, and their parts from m0011), per day and per month.
const TOTALS: [(&str, &str); 2] = [("figure_day_total", "day"), ("figure_month_total", "month")];

type SumKey = (String, i64, i64, String, String, String, i64, i64, i64, i64);

/// Every rollup key with a count, per day and per month, summed over the shards, in
/// key order.
async fn rollups(raw: &DatabaseConnection) -> Vec<SumKey> {
    sums_of(raw, SUMS).await
}

/// Every key of the totals with a count, in each shard (on PostgreSQL a unit adds to
/// the totals of its own shard), in key order.
async fn totals(raw: &DatabaseConnection) -> Vec<(SumKey, i64)> {
    sums_in(raw, TOTALS, true).await
}

/// Every key of these tables with a count, summed over the shards, in key order.
async fn sums_of(raw: &DatabaseConnection, tables: [(&str, &str); 2]) -> Vec<SumKey> {
    sums_in(raw, tables, false)
        .await
        .into_iter()
        .map(|(key, _)| key)
        .collect()
}

/// Every key of these tables with a count, with its shard when `by_shard` (else 0 and
/// summed over the shards), in key order.
async fn sums_in(
    raw: &DatabaseConnection,
    tables: [(&str, &str); 2],
    by_shard: bool,
) -> Vec<(SumKey, i64)> {
    let (shard, grouped) = if by_shard {
        ("CAST(shard AS BIGINT)", ", shard")
    } else {
        ("CAST(0 AS BIGINT)", "")
    };
    let mut out = Vec::new();
    for (table, column) in tables {
        let rows = raw
            .query_all_raw(Statement::from_string(
                raw.get_database_backend(),
                format!(
                    "SELECT CAST({column} AS BIGINT), CAST(kind AS BIGINT), channel, topic, \
                     department, a, b, c, CAST(SUM(n) AS BIGINT), {shard} FROM {table} \
                     GROUP BY {column}, kind, channel, topic, department, a, b, c{grouped} \
                     HAVING SUM(n) <> 0 \
                     ORDER BY {column}, kind, channel, topic, department, a, b, c{grouped}"
                ),
            ))
            .await
            .unwrap();
        out.extend(rows.iter().map(|r| {
            (
                (
                    table.to_owned(),
                    r.try_get_by_index(0).unwrap(),
                    r.try_get_by_index(1).unwrap(),
                    r.try_get_by_index(2).unwrap(),
                    r.try_get_by_index(3).unwrap(),
                    r.try_get_by_index(4).unwrap(),
                    r.try_get_by_index(5).unwrap(),
                    r.try_get_by_index(6).unwrap(),
                    r.try_get_by_index(7).unwrap(),
                    r.try_get_by_index(8).unwrap(),
                ),
                r.try_get_by_index(9).unwrap(),
            )
        }));
    }
    out
}

async fn exec(raw: &DatabaseConnection, sql: &str) {
    raw.execute_unprepared(sql).await.unwrap();
}

database_test!(rollups_answer_as_the_facts_do);
async fn rollups_answer_as_the_facts_do(backend: Backend) {
    on_backend!(backend, |db, store| {
        let t = tenant();
        let raw = db.raw().await;
        join_cases(&store, &t).await;
        assert_eq!(
            count(
                &raw,
                "SELECT COUNT(*) FROM \"case\" WHERE merged_into IS NOT NULL"
            )
            .await,
            1,
            "a case joined another"
        );
        for seed in [11, 2026] {
            let done = play(&store, &t, seed, 150).await;
            assert!(
                done.started > 20 && done.completed > 10 && done.recorded > 5 && done.feedback > 2,
                "the stream did too little: {done:?}"
            );
            let mut rng = Rng(seed * 31 + 7);
            let ps = periods(&mut rng, 4);
            same_answers(&store, &t, &mut rng, &ps).await;
        }

        // Kept write by write, the rollups and the totals are what a rebuild from the
        // facts makes.
        let kept = rollups(&raw).await;
        let kept_totals = totals(&raw).await;
        assert!(!kept.is_empty() && !kept_totals.is_empty());
        let response = i64::from(TallyKind::Response.code());
        let overall_keys = sums_of(&raw, TOTALS)
            .await
            .iter()
            .filter(|k| k.5.is_empty() && (k.4.is_empty() || k.2 == response))
            .count();
        assert!(
            overall_keys < kept.len(),
            "the overall totals hold fewer keys: {overall_keys} of {}",
            kept.len()
        );
        for (table, _) in SUMS.into_iter().chain(TOTALS) {
            exec(&raw, &format!("DELETE FROM {table}")).await;
        }
        exec(&raw, "DELETE FROM figure_unit").await;
        assert!(store.rebuild_figures(&t).await.unwrap());
        assert_eq!(rollups(&raw).await, kept, "rebuilt from the facts");
        assert_eq!(
            totals(&raw).await,
            kept_totals,
            "totals rebuilt from the facts"
        );

        // New settings: from the facts until the rebuild, then from the rollups again.
        store.replace_settings(&t, other_settings()).await.unwrap();
        assert!(!store.figures_current(&t).await.unwrap());
        let p = periods(&mut Rng(5), 1)[0];
        let before = store.thermometer(&t, p, false).await.unwrap();
        assert_eq!(
            before.path,
            FigurePath::Facts,
            "stale rollups do not answer"
        );
        play(&store, &t, 77, 60).await;
        assert!(store.rebuild_figures(&t).await.unwrap());
        assert!(store.figures_current(&t).await.unwrap());
        let mut rng = Rng(99);
        let ps = periods(&mut rng, 4);
        same_answers(&store, &t, &mut rng, &ps).await;
    });
}

database_test!(a_settings_change_answers_from_the_facts_until_the_rebuild);
async fn a_settings_change_answers_from_the_facts_until_the_rebuild(backend: Backend) {
    on_backend!(backend, |_db, store| {
        let t = tenant();
        play(&store, &t, 3, 80).await;
        let p = Period {
            from: (at(0) - Duration::days(1)).date_naive(),
            to: (at(0) + Duration::days(3)).date_naive(),
            as_of: now(),
        };
        let fast = store.thermometer(&t, p, false).await.unwrap();
        assert_eq!(fast.path, FigurePath::Rollups);

        // The public page's read answers from the rollups only: the page before it and
        // the one after it (most recent first, as the page asks).
        let before = Period {
            from: p.from - Duration::days(4),
            to: p.from,
            ..p
        };
        let trend = store.thermometer_trend(&t, vec![p, before]).await.unwrap();
        assert_eq!(trend.path, FigurePath::Rollups);
        assert_eq!(trend.answer.1[0], fast.answer);
        assert_eq!(
            trend.answer.1[1],
            store.thermometer(&t, before, true).await.unwrap().answer
        );

        store.replace_settings(&t, other_settings()).await.unwrap();
        let stale = store.thermometer(&t, p, false).await.unwrap();
        assert_eq!(stale.path, FigurePath::Facts);
        assert_ne!(stale.answer, fast.answer, "the new norms count");
        // Not the public page's read: that is never computed from the facts.
        assert!(matches!(
            store.thermometer_trend(&t, vec![p, before]).await,
            Err(midoffice_store::StoreError::Unavailable(_))
        ));
        // Writes meanwhile keep their units current with the new settings.
        play(&store, &t, 4, 30).await;
        assert_eq!(
            store.thermometer(&t, p, false).await.unwrap().path,
            FigurePath::Facts
        );

        assert!(store.rebuild_stale_figures(&t).await.unwrap());
        let rebuilt = store.thermometer(&t, p, false).await.unwrap();
        let reference = store.thermometer(&t, p, true).await.unwrap();
        assert_eq!(rebuilt.path, FigurePath::Rollups);
        assert_eq!(rebuilt.answer, reference.answer);
        // Explanations only: what the tallies depend on is the same, nothing to rebuild.
        let mut explained = other_settings();
        explained.norms[0].explanation = Some("Wij nemen mensen aan.".into());
        store.replace_settings(&t, explained).await.unwrap();
        assert!(store.figures_current(&t).await.unwrap());
    });
}

database_test!(an_as_of_before_the_latest_event_answers_from_the_facts);
async fn an_as_of_before_the_latest_event_answers_from_the_facts(backend: Backend) {
    on_backend!(backend, |_db, store| {
        let t = tenant();
        play(&store, &t, 8, 60).await;
        let p = Period {
            from: (at(0) - Duration::days(1)).date_naive(),
            to: (at(0) + Duration::days(3)).date_naive(),
            as_of: at(60),
        };
        let earlier = store
            .figures(&t, p, vec![Filter::default()], false)
            .await
            .unwrap();
        assert_eq!(earlier.path, FigurePath::Facts);
        let reference = store
            .figures(&t, p, vec![Filter::default()], true)
            .await
            .unwrap();
        assert_eq!(earlier.answer, reference.answer);
    });
}

database_test!(an_erasure_leaves_every_count);
async fn an_erasure_leaves_every_count(backend: Backend) {
    on_backend!(backend, |db, store| {
        let t = tenant();
        let raw = db.raw().await;
        play(&store, &t, 21, 150).await;
        let before = rollups(&raw).await;
        let mut erased = 0;
        for n in 0..6 {
            let (strong, _) = citizen(n);
            if store.erase_party(&t, &caller(), vec![strong]).await.is_ok() {
                erased += 1;
            }
        }
        assert!(erased > 0, "someone to erase");
        assert_eq!(rollups(&raw).await, before, "counts stay");
        // The erased facts give the same tallies: a refresh of every unit changes nothing.
        assert!(store.rebuild_figures(&t).await.unwrap());
        assert_eq!(
            rollups(&raw).await,
            before,
            "a refresh after the erasure is a no-op"
        );
    });
}

/// A stored relation (`rollup::relation`) of an entry on day `day` back to the day
/// number it names; only days back or forward occur in these two-day streams.
fn v1_day(day: i64, rel: i64) -> i64 {
    if rel < 0 {
        -(rel + 1)
    } else {
        assert!(
            rel <= rollup::REL_DAYS,
            "a stream of two days has no month relations"
        );
        day - rel
    }
}

/// A tally of today's rules as the first rules stored it (the inverse of
/// `rollup::from_v1`): entries with day numbers, an answer with its seconds under
/// kind `Answer` (its bucket count gone); `None` for a bucket count.
fn as_v1(day: i64, kind: i64, mut key: (i64, i64, i64)) -> Option<(i64, (i64, i64, i64))> {
    let entry = i64::from(TallyKind::Entry.code());
    let answer = i64::from(TallyKind::Answer.code());
    if kind == entry {
        if key.1 != rollup::NO_DAY {
            key.1 = v1_day(day, key.1);
        }
        if key.2 != rollup::NO_DAY {
            key.2 = v1_day(day, key.2.div_euclid(2)) * 2 + key.2.rem_euclid(2);
        }
        Some((kind, key))
    } else if kind == answer {
        None
    } else if kind >= 100 {
        Some((answer, key))
    } else {
        Some((kind, key))
    }
}

/// Turns the sum tables back into what they were before migration m0009: no shard
/// column, each key's sum over its shards, m0009 not run.
async fn before_shards(raw: &DatabaseConnection) {
    let postgres = raw.get_database_backend() == sea_orm::DbBackend::Postgres;
    // The column types of m0005 and m0008 (PostgreSQL's cached statements of the
    // connection must see the same result types).
    for (table, column) in [("figure_rollup", "day"), ("figure_month", "month")] {
        let key = format!("tenant, {column}, kind, channel, topic, department, a, b, c");
        exec(
            raw,
            &format!(
                "CREATE TABLE {table}_v0 (tenant VARCHAR NOT NULL, {column} INTEGER NOT NULL, \
                 kind SMALLINT NOT NULL, channel VARCHAR NOT NULL, topic VARCHAR NOT NULL, \
                 department VARCHAR NOT NULL, a BIGINT NOT NULL, b BIGINT NOT NULL, \
                 c BIGINT NOT NULL, n BIGINT NOT NULL, PRIMARY KEY ({key}))"
            ),
        )
        .await;
        exec(
            raw,
            &format!(
                "INSERT INTO {table}_v0 ({key}, n) SELECT {key}, SUM(n) FROM {table} \
                 GROUP BY {key}"
            ),
        )
        .await;
        exec(raw, &format!("DROP TABLE {table}")).await;
        exec(raw, &format!("ALTER TABLE {table}_v0 RENAME TO {table}")).await;
        if postgres {
            exec(
                raw,
                &format!("ALTER TABLE {table} RENAME CONSTRAINT {table}_v0_pkey TO {table}_pkey"),
            )
            .await;
        }
    }
    exec(
        raw,
        "DELETE FROM seaql_migrations WHERE version = 'm0009_figure_shards'",
    )
    .await;
}

/// Turns the store's rollups back into what the first tally rules kept: per-day rows
/// and unit rows of version 1, no per-month rows, migrations m0008 and m0009 not run.
async fn back_to_v1(raw: &DatabaseConnection) {
    let backend = raw.get_database_backend();
    before_shards(raw).await;
    let rows = rollups(raw).await;
    exec(raw, "DELETE FROM figure_rollup").await;
    for (table, day, kind, channel, topic, department, a, b, c, n) in rows {
        if table != "figure_rollup" {
            continue;
        }
        let Some((kind, (a, b, c))) = as_v1(day, kind, (a, b, c)) else {
            continue;
        };
        let sql = "INSERT INTO figure_rollup (tenant, day, kind, channel, topic, department, a, b, c, n) \
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
        raw.execute_raw(Statement::from_sql_and_values(
            backend,
            if backend == sea_orm::DbBackend::Sqlite {
                sql.replace('$', "?")
            } else {
                sql.to_owned()
            },
            [
                tenant().as_str().into(),
                (day as i32).into(),
                (kind as i16).into(),
                channel.into(),
                topic.into(),
                department.into(),
                a.into(),
                b.into(),
                c.into(),
                n.into(),
            ],
        ))
        .await
        .unwrap();
    }
    let units = raw
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT unit_id, tallies FROM figure_unit",
        ))
        .await
        .unwrap();
    for u in units {
        let id: Uuid = u.try_get_by_index(0).unwrap();
        let text: String = u.try_get_by_index(1).unwrap();
        let tallies = midoffice_store::rows::figures::decode(&text).unwrap();
        let v1: Vec<serde_json::Value> = tallies
            .iter()
            .filter_map(|(t, n)| {
                let day = rollup::day_number(t.day);
                let (kind, (a, b, c)) =
                    as_v1(day, i64::from(t.kind.code()), (t.key.a, t.key.b, t.key.c))?;
                Some(serde_json::json!([
                    kind,
                    day,
                    t.key.channel,
                    t.key.topic,
                    t.key.department,
                    a,
                    b,
                    c,
                    n
                ]))
            })
            .collect();
        let text = serde_json::json!({"v": 1, "tallies": v1}).to_string();
        let sql = "UPDATE figure_unit SET tallies = $1 WHERE unit_id = $2";
        raw.execute_raw(Statement::from_sql_and_values(
            backend,
            if backend == sea_orm::DbBackend::Sqlite {
                sql.replace("$1", "?").replace("$2", "?")
            } else {
                sql.to_owned()
            },
            [text.into(), id.into()],
        ))
        .await
        .unwrap();
    }
    exec(raw, "DROP TABLE figure_month").await;
    exec(
        raw,
        "DELETE FROM seaql_migrations WHERE version = 'm0008_figure_months'",
    )
    .await;
}

database_test!(the_migration_converts_rollups_of_the_first_tally_rules);
async fn the_migration_converts_rollups_of_the_first_tally_rules(backend: Backend) {
    on_backend!(backend, |db, store| {
        use sea_orm_migration::MigratorTrait;
        let t = tenant();
        let raw = db.raw().await;
        play(&store, &t, 41, 150).await;
        let current = rollups(&raw).await;
        back_to_v1(&raw).await;
        assert!(
            count(
                &raw,
                "SELECT COUNT(*) FROM figure_unit WHERE tallies LIKE '%\"v\":1}'"
            )
            .await
                > 0,
            "unit rows of version 1"
        );
        midoffice_store::migration::Migrator::up(&raw, None)
            .await
            .unwrap();
        assert_eq!(rollups(&raw).await, current, "converted exactly");
        // Unit rows of version 1 read as today's tallies: a refresh of every unit
        // changes nothing, and the rollups answer as the facts do.
        assert!(store.rebuild_figures(&t).await.unwrap());
        assert_eq!(rollups(&raw).await, current);
        let mut rng = Rng(41);
        let ps = periods(&mut rng, 3);
        same_answers(&store, &t, &mut rng, &ps).await;
    });
}

database_test!(the_migration_to_shards_keeps_every_sum);
async fn the_migration_to_shards_keeps_every_sum(backend: Backend) {
    on_backend!(backend, |db, store| {
        use sea_orm_migration::MigratorTrait;
        let t = tenant();
        let raw = db.raw().await;
        play(&store, &t, 43, 150).await;
        let current = rollups(&raw).await;
        before_shards(&raw).await;
        assert_eq!(rollups(&raw).await, current, "summed over the shards");
        midoffice_store::migration::Migrator::up(&raw, None)
            .await
            .unwrap();
        assert_eq!(
            count(&raw, "SELECT COUNT(*) FROM figure_rollup WHERE shard <> 0").await
                + count(&raw, "SELECT COUNT(*) FROM figure_month WHERE shard <> 0").await,
            0,
            "every stored row in shard 0"
        );
        assert_eq!(rollups(&raw).await, current, "every sum kept");
        // Writes after it take units' old tallies from their own shards (on PostgreSQL
        // a row of a shard may fall below 0) and the sums still answer as the facts.
        play(&store, &t, 44, 100).await;
        let mut rng = Rng(43);
        let ps = periods(&mut rng, 3);
        same_answers(&store, &t, &mut rng, &ps).await;
        let kept = rollups(&raw).await;
        assert!(store.rebuild_figures(&t).await.unwrap());
        assert_eq!(
            rollups(&raw).await,
            kept,
            "a refresh of every unit changes nothing"
        );
    });
}

database_test!(units_add_to_their_own_shard);
async fn units_add_to_their_own_shard(backend: Backend) {
    on_backend!(backend, |db, store| {
        let t = tenant();
        let raw = db.raw().await;
        play(&store, &t, 45, 150).await;
        // The most shards any one day's (or month's) rows of one key are spread over,
        // and the most shards of one day.
        let mut spread = Vec::new();
        for (table, column) in [("figure_rollup", "day"), ("figure_month", "month")] {
            spread.push(
                count(
                    &raw,
                    &format!(
                        "SELECT CAST(COALESCE(MAX(k), 0) AS BIGINT) FROM (SELECT COUNT(DISTINCT shard) AS k \
                         FROM {table} GROUP BY {column}) AS x"
                    ),
                )
                .await,
            );
            spread.push(
                count(
                    &raw,
                    &format!(
                        "SELECT CAST(COALESCE(MAX(k), 0) AS BIGINT) FROM (SELECT COUNT(DISTINCT shard) AS k \
                         FROM {table} GROUP BY tenant, {column}, kind, channel, topic, \
                         department, a, b, c) AS x"
                    ),
                )
                .await,
            );
        }
        let shards = count(
            &raw,
            "SELECT CAST(COALESCE(MAX(shard), 0) AS BIGINT) FROM figure_rollup",
        )
        .await;
        if backend == Backend::Postgres {
            assert!(
                spread.iter().all(|k| *k > 1),
                "writes of different citizens go to different shards: {spread:?}"
            );
            assert!(shards < 8, "8 shards");
        } else {
            assert_eq!(spread, vec![1, 1, 1, 1], "one shard on SQLite");
            assert_eq!(shards, 0);
        }
        let mut rng = Rng(45);
        let ps = periods(&mut rng, 4);
        same_answers(&store, &t, &mut rng, &ps).await;
    });
}

database_test!(the_migration_sums_the_totals_the_writes_make);
async fn the_migration_sums_the_totals_the_writes_make(backend: Backend) {
    on_backend!(backend, |db, store| {
        use sea_orm_migration::MigratorTrait;
        let t = tenant();
        let raw = db.raw().await;
        join_cases(&store, &t).await;
        play(&store, &t, 47, 150).await;
        let written = totals(&raw).await;
        let response = i64::from(TallyKind::Response.code());
        assert!(
            written
                .iter()
                .any(|(k, _)| k.2 == response && !k.4.is_empty()),
            "response items keep their norm"
        );
        // Each row in one part: overall (neither, or a response item's norm), a topic's
        // or a department's.
        assert!(
            written
                .iter()
                .all(|(k, _)| k.4.is_empty() || k.5.is_empty()),
            "never both a topic and a department"
        );
        assert!(
            written
                .iter()
                .any(|(k, _)| !k.4.is_empty() && k.2 != response),
            "a topic's part"
        );
        assert!(
            written.iter().any(|(k, _)| !k.5.is_empty()),
            "a department's part"
        );
        let mut rng = Rng(47);
        let ps = periods(&mut rng, 2);
        // The unfiltered figures, a topic alone and the thermometer read the totals, a
        // topic and a department together the sums. Over every day the play wrote to
        // (whatever the hour: a random period may hold only minutes of it).
        let p = Period {
            from: (at(0) - Duration::days(1)).date_naive(),
            to: (now() + Duration::days(1)).date_naive(),
            as_of: now(),
        };
        let by = |topic: Option<&str>, department: Option<&str>| {
            vec![Filter {
                topic: topic.map(code),
                department: department.map(code),
                ..Filter::default()
            }]
        };
        let (by_topic, by_both) = (
            by(Some("paspoort"), None),
            by(Some("paspoort"), Some("kcc")),
        );
        let all = store
            .figures(&t, p, vec![Filter::default()], true)
            .await
            .unwrap();
        let topic = store.figures(&t, p, by_topic.clone(), true).await.unwrap();
        let both = store.figures(&t, p, by_both.clone(), true).await.unwrap();
        assert!(all.answer[0].contacts > 0 && topic.answer[0].contacts > 0);
        for (table, _) in TOTALS {
            exec(&raw, &format!("DELETE FROM {table}")).await;
        }
        for filters in [vec![Filter::default()], by_topic] {
            let emptied = store.figures(&t, p, filters, false).await.unwrap();
            assert_eq!(emptied.path, FigurePath::Rollups);
            assert_eq!(emptied.answer[0].contacts, 0, "read from the totals");
        }
        let from_sums = store.figures(&t, p, by_both, false).await.unwrap();
        assert_eq!(from_sums.answer, both.answer, "read from the sums");

        // The store as m0009 left it (the sums as the same writes made them), migrated
        // by m0010 (the overall part) and m0011 (the topics' and departments' parts,
        // the tables made anew).
        for (table, _) in TOTALS {
            exec(&raw, &format!("DROP TABLE {table}")).await;
        }
        exec(
            &raw,
            "DELETE FROM seaql_migrations \
             WHERE version IN ('m0010_figure_totals', 'm0011_figure_total_parts')",
        )
        .await;
        midoffice_store::migration::Migrator::up(&raw, None)
            .await
            .unwrap();
        assert_eq!(totals(&raw).await, written, "summed as the writes add them");
        for (table, column) in SUMS.into_iter().chain(TOTALS) {
            assert_sum_key(&raw, table, column).await;
        }
        let back = store
            .figures(&t, p, vec![Filter::default()], false)
            .await
            .unwrap();
        assert_eq!(back.answer, all.answer);
        same_answers(&store, &t, &mut rng, &ps).await;
        // Writes after it add to the summed totals, and a refresh of every unit
        // changes nothing.
        play(&store, &t, 48, 80).await;
        let kept = totals(&raw).await;
        assert!(store.rebuild_figures(&t).await.unwrap());
        assert_eq!(totals(&raw).await, kept);
        let ps = periods(&mut rng, 2);
        same_answers(&store, &t, &mut rng, &ps).await;
    });
}

/// A sum table's primary key as m0011 makes it: topic and department before the
/// channel; on SQLite a `WITHOUT ROWID` table, on PostgreSQL a key named after its table.
async fn assert_sum_key(raw: &DatabaseConnection, table: &str, column: &str) {
    let backend = raw.get_database_backend();
    let sql = if backend == sea_orm::DbBackend::Sqlite {
        format!("SELECT name FROM pragma_table_info('{table}') WHERE pk > 0 ORDER BY pk")
    } else {
        format!(
            "SELECT CAST(a.attname AS TEXT) FROM pg_index i \
             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) \
             WHERE i.indrelid = '{table}'::regclass AND i.indisprimary \
             ORDER BY array_position(CAST(i.indkey AS int2[]), a.attnum)"
        )
    };
    let key: Vec<String> = raw
        .query_all_raw(Statement::from_string(backend, sql))
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get_by_index(0).unwrap())
        .collect();
    assert_eq!(
        key,
        [
            "tenant",
            column,
            "kind",
            "topic",
            "department",
            "channel",
            "a",
            "b",
            "c",
            "shard"
        ],
        "{table}"
    );
    if backend == sea_orm::DbBackend::Sqlite {
        let without_rowid = count(
            raw,
            &format!(
                "SELECT COUNT(*) FROM sqlite_master WHERE name = '{table}' \
                 AND sql LIKE '%WITHOUT ROWID'"
            ),
        )
        .await;
        assert_eq!(without_rowid, 1, "{table} is WITHOUT ROWID");
    } else {
        let named = count(
            raw,
            &format!(
                "SELECT COUNT(*) FROM pg_constraint \
                 WHERE conrelid = '{table}'::regclass AND contype = 'p' \
                 AND conname = '{table}_pkey'"
            ),
        )
        .await;
        assert_eq!(named, 1, "{table}'s key is {table}_pkey");
    }
}

/// How many advisory locks of this database are waited for.
async fn lock_waiters(raw: &DatabaseConnection) -> i64 {
    count(
        raw,
        "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted \
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    .await
}

/// Until `n` advisory locks are waited for (at most 20 s: the test then fails).
async fn until_waiters(raw: &DatabaseConnection, n: i64) {
    for _ in 0..400 {
        if lock_waiters(raw).await >= n {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("{n} advisory locks were never waited for");
}

/// PostgreSQL only: a write that read the tenant's settings holds them (shared) until it
/// ends, so a replacement waits for it, and a rebuild after the replacement cannot be
/// overwritten with tallies of the old settings.
#[tokio::test]
#[cfg_attr(postgres_skipped, ignore = "no MIDOFFICE_TEST_DATABASE_URL")]
async fn a_settings_replacement_waits_for_the_writes_that_read_the_old_ones() {
    on_backend!(Backend::Postgres, |db, store| {
        let t = tenant();
        let raw = db.raw().await;
        let (strong, _) = citizen(1);
        // Resolved: under the default settings a contact two hours later repeats it
        // (repeat window 7 days), under the new ones (1 hour) it does not.
        let first = store
            .start_contact(
                &t,
                &caller(),
                start(vec![strong.clone()], Some("afval"), 10),
                None,
            )
            .await
            .unwrap();
        let party = first.context.party.id.expect("a party");
        store
            .complete_contact(
                &t,
                &caller(),
                first.contact.contact.id,
                Ok(end(Outcome::Resolved, 10, 15, Some("Opgelost."))),
                None,
                now(),
            )
            .await
            .unwrap();

        // Another writer holds the party, so the write below stops after reading the
        // settings, mid-transaction.
        let holder = raw.begin().await.unwrap();
        holder
            .execute_raw(Statement::from_sql_and_values(
                sea_orm::DbBackend::Postgres,
                "SELECT pg_advisory_xact_lock($1)",
                [midoffice_store::party_lock_key(&t, party).into()],
            ))
            .await
            .unwrap();
        let who = caller();
        let write = store.start_contact(
            &t,
            &who,
            start(vec![strong.clone()], Some("afval"), 135),
            None,
        );
        let meanwhile = async {
            until_waiters(&raw, 1).await;
            let replace = store.replace_settings(&t, other_settings());
            tokio::pin!(replace);
            // The replacement waits for the write (two waiters), or it commits at once
            // (and the rebuild runs before the write commits).
            let replaced_first = tokio::select! {
                r = &mut replace => {
                    r.unwrap();
                    store.rebuild_figures(&t).await.unwrap();
                    true
                }
                () = until_waiters(&raw, 2) => false,
            };
            holder.commit().await.unwrap();
            if !replaced_first {
                replace.await.unwrap();
            }
            replaced_first
        };
        let (written, replaced_first) = tokio::join!(write, meanwhile);
        written.unwrap();
        assert!(
            !replaced_first,
            "the replacement waited for the write that read the old settings"
        );

        assert!(store.rebuild_stale_figures(&t).await.unwrap());
        assert!(store.figures_current(&t).await.unwrap());
        let p = Period {
            from: (at(0) - Duration::days(1)).date_naive(),
            to: (at(0) + Duration::days(3)).date_naive(),
            as_of: now(),
        };
        let fast = store.thermometer(&t, p, false).await.unwrap();
        let reference = store.thermometer(&t, p, true).await.unwrap();
        assert_eq!(fast.path, FigurePath::Rollups);
        assert_eq!(fast.answer, reference.answer);
        let filters = vec![Filter::default()];
        let fast = store.figures(&t, p, filters.clone(), false).await.unwrap();
        let reference = store.figures(&t, p, filters, true).await.unwrap();
        assert_eq!(fast.path, FigurePath::Rollups);
        assert_eq!(fast.answer, reference.answer);
    });
}

database_test!(a_period_after_a_write_reads_only_its_changed_day);
/// A period computed again after a write to one of its days takes the rows of its
/// other recent days from memory (`figure_cache`, recent days' rows), and its answer
/// still equals the facts, for the dashboard and the thermometer.
async fn a_period_after_a_write_reads_only_its_changed_day(backend: Backend) {
    on_backend!(backend, |_db, store| {
        let t = tenant();
        // A day apart: two local days whatever the time zone.
        let contact = async |minute: i64, who: &str| {
            let started = store
                .start_contact(
                    &t,
                    &caller(),
                    start(vec![bsn(who)], Some("paspoort"), minute),
                    None,
                )
                .await
                .unwrap();
            store
                .complete_contact(
                    &t,
                    &caller(),
                    started.contact.contact.id,
                    Ok(end(Outcome::Resolved, minute, minute + 1, None)),
                    None,
                    now(),
                )
                .await
                .unwrap();
        };
        contact(0, BSN_A).await;
        contact(24 * 60, BSN_B).await;
        let period = Period {
            from: at(0).date_naive() - Duration::days(1),
            to: at(24 * 60).date_naive() + Duration::days(2),
            as_of: now(),
        };
        let read = async || {
            let series = store
                .figure_series(&t, vec![period], Filter::default(), false)
                .await
                .unwrap();
            let trend = store.thermometer_trend(&t, vec![period]).await.unwrap();
            assert_eq!(series.path, FigurePath::Rollups);
            let slow = store
                .figure_series(&t, vec![period], Filter::default(), true)
                .await
                .unwrap();
            assert_eq!(series.answer, slow.answer, "the series equals the facts");
            let slow = store.thermometer(&t, period, true).await.unwrap();
            assert_eq!(
                trend.answer.1[0], slow.answer,
                "the thermometer equals the facts"
            );
            series.answer[0].1.contacts
        };
        assert_eq!(read().await, 2);
        // Another contact on the second day only: the first day's rows (and the empty
        // days around) come from memory, for the series and for the thermometer.
        let days = store.kept_day_hits();
        contact(24 * 60, BSN_A).await;
        assert_eq!(read().await, 3);
        assert!(
            store.kept_day_hits() - days >= 2,
            "the unchanged days were read again"
        );
    });
}

database_test!(kept_answers_stay_exact_through_writes_and_time);
/// Series and thermometer trends kept per period in memory (`figure_cache`): a second
/// call with no write between is answered from memory for every period, and after more
/// writes on the same days (a period computed again from the rows of its unchanged
/// recent days kept in memory and those of its changed days read), or with a later
/// `as_of` that passes pending deadlines, every answer still equals the facts.
async fn kept_answers_stay_exact_through_writes_and_time(backend: Backend) {
    on_backend!(backend, |_db, store| {
        let t = tenant();
        let mut rng = Rng(808);
        let ps = periods(&mut rng, 3);
        for round in 0..3u64 {
            play(&store, &t, 500 + round, 50).await;
            for p in &ps {
                for step in [Step::Day, Step::Week, Step::Month] {
                    let filter = if round == 1 {
                        random_filter(&mut rng)
                    } else {
                        Filter::default()
                    };
                    let periods = rollup::series_periods(p.from, p.to, step, now());
                    let first = store
                        .figure_series(&t, periods.clone(), filter.clone(), false)
                        .await
                        .unwrap();
                    let hits = store.kept_figure_hits();
                    let again = store
                        .figure_series(&t, periods.clone(), filter.clone(), false)
                        .await
                        .unwrap();
                    assert_eq!(
                        store.kept_figure_hits() - hits,
                        periods.len() as u64,
                        "the second call is answered from memory"
                    );
                    let slow = store
                        .figure_series(&t, periods.clone(), filter.clone(), true)
                        .await
                        .unwrap();
                    assert_eq!(first.path, FigurePath::Rollups);
                    assert_eq!(
                        first.answer, slow.answer,
                        "series {p:?} {step:?} {filter:?}"
                    );
                    assert_eq!(again.answer, slow.answer, "kept {p:?} {step:?} {filter:?}");
                }
            }
        }
        // The thermometer trend as time moves on (commitments and answers still pending
        // count as missed once their deadline passed), twice at each moment.
        let mut moments = vec![now()];
        moments.extend([1, 3, 20, 45].map(|d| now() + Duration::days(d)));
        for as_of in moments {
            let trend: Vec<Period> = ps.iter().map(|p| Period { as_of, ..*p }).collect();
            for again in [false, true] {
                let hits = store.kept_figure_hits();
                let kept = store.thermometer_trend(&t, trend.clone()).await.unwrap();
                if again {
                    assert_eq!(
                        store.kept_figure_hits() - hits,
                        trend.len() as u64,
                        "the second trend at {as_of} is answered from memory"
                    );
                }
                for (p, results) in trend.iter().zip(&kept.answer.1) {
                    let slow = store.thermometer(&t, *p, true).await.unwrap();
                    assert_eq!(*results, slow.answer, "thermometer {p:?}");
                }
            }
        }
        // A title changes no tally, but the page shows it: not from memory.
        let mut settings = store.settings(&t).await.unwrap();
        settings.norms[0].title = "Anders gezegd".into();
        store.replace_settings(&t, settings).await.unwrap();
        let trend: Vec<Period> = ps.iter().map(|p| Period { as_of: now(), ..*p }).collect();
        let hits = store.kept_figure_hits();
        let kept = store.thermometer_trend(&t, trend.clone()).await.unwrap();
        assert_eq!(store.kept_figure_hits(), hits, "new settings, nothing kept");
        for (p, results) in trend.iter().zip(&kept.answer.1) {
            assert_eq!(results[0].title, "Anders gezegd");
            let slow = store.thermometer(&t, *p, true).await.unwrap();
            assert_eq!(*results, slow.answer, "thermometer {p:?}");
        }
    });
}

/// Waits until `store` has written at least `n` answers to `figure_answer` (it writes
/// them beside the answer, not before it).
async fn until_stored(store: &Store, n: u64) {
    for _ in 0..500 {
        if store.stored_figure_writes() >= n {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!(
        "{} answers written to figure_answer, {n} expected",
        store.stored_figure_writes()
    );
}

/// A phone call of citizen A about `paspoort`, started at minute 1 and resolved at 3.
async fn phone_call_at_minute_one(store: &Store, t: &TenantId) {
    let started = Box::pin(store.start_contact(
        t,
        &caller(),
        start(vec![bsn(BSN_A)], Some("paspoort"), 1),
        None,
    ))
    .await
    .unwrap();
    Box::pin(store.complete_contact(
        t,
        &caller(),
        started.contact.contact.id,
        Ok(end(Outcome::Resolved, 1, 3, None)),
        None,
        now(),
    ))
    .await
    .unwrap();
}

database_test!(answers_kept_in_the_database_serve_a_restarted_store_while_their_basis_holds);
/// Dashboard answers kept in `figure_answer`: a second store on the same database (a
/// restart, another replica) answers a period the first computed from its row alone
/// (shown by deleting the sums under it), until a write to one of its days, a settings
/// change and rebuild, or an unreadable row makes it compute the period again (equal to
/// the facts) and keep it anew; a retention pass removes the rows of old periods.
async fn answers_kept_in_the_database_serve_a_restarted_store_while_their_basis_holds(
    backend: Backend,
) {
    on_backend!(backend, |db, store| {
        let t = tenant();
        let raw = db.raw().await;
        Box::pin(play(&store, &t, 77, 80)).await;
        // Days before today in the tenant's calendar, whatever the hour: periods a store
        // keeps in the table (one holding today it does not).
        let d = at(0).date_naive();
        let (from, to) = (d - Duration::days(1), d + Duration::days(2));
        let phone = Filter {
            channel: Some(Channel::Phone),
            ..Filter::default()
        };
        let mut views: Vec<(Filter, Vec<Period>)> = Vec::new();
        for filter in [Filter::default(), phone] {
            for step in [Step::Day, Step::Week] {
                views.push((
                    filter.clone(),
                    rollup::series_periods(from, to, step, now()),
                ));
            }
            views.push((
                filter,
                vec![Period {
                    from,
                    to,
                    as_of: now(),
                }],
            ));
        }
        // A topic nobody uses: nothing counted, so not kept.
        let made_up = Filter {
            topic: Some(code("verzonnen")),
            ..Filter::default()
        };
        views.push((made_up, rollup::series_periods(from, to, Step::Day, now())));
        // Distinct periods (a view's period may be another's: answered from memory).
        let distinct: std::collections::BTreeSet<_> = views
            .iter()
            .flat_map(|(f, ps)| {
                ps.iter()
                    .map(|p| (f.channel, f.topic.clone(), p.from, p.to))
            })
            .collect();
        let all: u64 = views.iter().map(|(_, p)| p.len() as u64).sum();
        // The distinct periods kept in the table: of a topic filter only those with
        // anything counted.
        let worth = |answers: &Vec<Vec<(Period, Figures)>>| {
            let kept: std::collections::BTreeSet<_> = views
                .iter()
                .zip(answers)
                .flat_map(|((f, _), a)| {
                    a.iter()
                        .filter(|(_, figures)| {
                            f.topic.is_none() || figure_answer::worth_keeping(figures)
                        })
                        .map(|(p, _)| (f.channel, f.topic.clone(), p.from, p.to))
                })
                .collect();
            kept
        };
        // Every view, asserted equal to the facts; the periods answered from the table.
        let read = async |store: &Store| {
            let hits = store.stored_figure_hits();
            let mut answers = Vec::new();
            for (filter, periods) in &views {
                let fast =
                    Box::pin(store.figure_series(&t, periods.clone(), filter.clone(), false))
                        .await
                        .unwrap();
                assert_eq!(fast.path, FigurePath::Rollups);
                answers.push(fast.answer);
            }
            (answers, store.stored_figure_hits() - hits)
        };
        let facts = async |store: &Store| {
            let mut answers = Vec::new();
            for (filter, periods) in &views {
                let slow = Box::pin(store.figure_series(&t, periods.clone(), filter.clone(), true))
                    .await
                    .unwrap();
                answers.push(slow.answer);
            }
            answers
        };
        let rows = async || count(&raw, "SELECT COUNT(*) FROM figure_answer").await;

        let (first, hits) = read(&store).await;
        assert_eq!(hits, 0, "nothing kept yet");
        assert_eq!(first, facts(&store).await);
        let n = worth(&first).len() as u64;
        assert!(
            n > 0 && n < distinct.len() as u64,
            "the made-up topic's are not kept"
        );
        until_stored(&store, n).await;
        let kept = rows().await;
        assert_eq!(
            kept, n as i64,
            "a row per distinct period with anything counted"
        );

        // A restart: every period from the table, none computed.
        let second = db.store().await;
        let (again, hits) = Box::pin(read(&second)).await;
        assert_eq!(again, first);
        assert_eq!(hits, n, "every period from the table");
        assert_eq!(
            second.kept_figure_hits(),
            all - distinct.len() as u64,
            "only repeated periods"
        );
        assert_eq!(second.kept_day_hits(), 0);

        // A write to the first day: the periods holding it are computed again (equal to
        // the facts), the others still come from the table; what was computed replaces
        // its row.
        Box::pin(phone_call_at_minute_one(&second, &t)).await;
        let day = second
            .settings(&t)
            .await
            .unwrap()
            .calendar
            .local_date(at(1));
        let changed = worth(&first)
            .iter()
            .filter(|(_, _, from, to)| *from <= day && day < *to)
            .count() as u64;
        assert!(changed > 0);
        let third = db.store().await;
        let (after, hits) = read(&third).await;
        assert_eq!(
            hits,
            n - changed,
            "the periods holding the changed day computed again"
        );
        assert_ne!(after, first, "the new contact counts");
        assert_eq!(after, facts(&third).await);
        let n_after = worth(&after).len() as u64;
        until_stored(&third, n_after - (n - changed)).await;
        assert_eq!(rows().await, n_after as i64, "replaced, not added");
        let (kept_after, hits) = read(&db.store().await).await;
        assert_eq!((kept_after, hits), (after.clone(), n_after));

        // New settings, rebuilt: another fingerprint and generation, nothing from the table.
        Box::pin(store.replace_settings(&t, other_settings()))
            .await
            .unwrap();
        assert!(Box::pin(store.rebuild_stale_figures(&t)).await.unwrap());
        let fourth = db.store().await;
        let (rebuilt, hits) = read(&fourth).await;
        assert_eq!(hits, 0, "new settings, nothing from the table");
        assert_eq!(rebuilt, facts(&fourth).await);
        let n = worth(&rebuilt).len() as u64;
        until_stored(&fourth, n).await;

        // A row that cannot be read (another version, damaged) is computed again and
        // replaced.
        exec(&raw, "UPDATE figure_answer SET body = '{\"v\": 99}'").await;
        let fifth = db.store().await;
        let (read_again, hits) = read(&fifth).await;
        assert_eq!(hits, 0, "an unreadable row is not used");
        assert_eq!(read_again, rebuilt);
        until_stored(&fifth, n).await;

        // From the table alone: with the sums gone (which no store ever does without
        // raising the counters), a restarted store still answers every period as before.
        for table in [
            "figure_rollup",
            "figure_month",
            "figure_day_total",
            "figure_month_total",
        ] {
            exec(&raw, &format!("DELETE FROM {table}")).await;
        }
        let sixth = db.store().await;
        let (from_table, hits) = read(&sixth).await;
        assert_eq!(hits, n, "every period from the table");
        assert_eq!(from_table, rebuilt);
        assert!(from_table[0].iter().any(|(_, f)| f.contacts > 0));

        // Retention: the rows of periods before the horizon go (the sums stay, so such a
        // period asked again is computed and kept again).
        let kept = rows().await;
        let report = Box::pin(store.retention_pass(&t, now() + Duration::days(366 * 30), false))
            .await
            .unwrap();
        assert_eq!(report.figure_answers, kept as u64);
        assert_eq!(rows().await, 0);
    });
}

database_test!(answers_computed_ahead_are_read_by_a_later_view_and_only_changed_periods_again);
/// `Store::keep_figure_series` (the answers `serve` computes ahead): it writes to
/// `figure_answer` the periods the table does not hold under their basis, and nothing
/// to this process's memory; a later view (this store, or a restarted one) reads every
/// one of them from the table, equal to the facts; a second pass computes nothing, and
/// after a write only the periods holding the changed day.
async fn answers_computed_ahead_are_read_by_a_later_view_and_only_changed_periods_again(
    backend: Backend,
) {
    on_backend!(backend, |db, store| {
        let t = tenant();
        let raw = db.raw().await;
        Box::pin(play(&store, &t, 91, 60)).await;
        let as_of = now();
        let settings = store.settings(&t).await.unwrap();
        let today = settings.calendar.local_date(as_of);
        let kept = rollup::kept_periods(today, 1, as_of, rollup::WeekParts::AtMonths);
        let phone = Filter {
            channel: Some(Channel::Phone),
            ..Filter::default()
        };
        let filters = [Filter::default(), phone];
        let pass = async |store: &Store| {
            let mut computed = 0;
            for filter in &filters {
                for (_, periods) in &kept {
                    computed += Box::pin(store.keep_figure_series(&t, periods, filter))
                        .await
                        .unwrap()
                        .expect("the rollups answer");
                }
            }
            computed
        };
        let periods: usize = kept.iter().map(|(_, p)| p.len()).sum();
        assert!(
            periods > 30,
            "a month of days at least, its weeks and month"
        );
        let rows = async || count(&raw, "SELECT COUNT(*) FROM figure_answer").await;

        assert_eq!(pass(&store).await, 2 * periods, "everything computed");
        assert_eq!(
            rows().await,
            2 * periods as i64,
            "and written before returning"
        );
        assert_eq!(store.kept_figure_hits(), 0);
        assert_eq!(pass(&store).await, 0, "a second pass computes nothing");
        // A period asked twice in one call is written once (PostgreSQL refuses a
        // statement that upserts one row twice); no kept period has eight days.
        let eight = Period {
            from: today - Duration::days(9),
            to: today - Duration::days(1),
            as_of,
        };
        let twice = Box::pin(store.keep_figure_series(&t, &[eight, eight], &Filter::default()))
            .await
            .unwrap();
        assert_eq!(twice, Some(2));
        // Periods as known before the latest event: the rollups do not answer them, and
        // the call says so (the job then counts it as not answered, not as kept).
        let before = Period {
            as_of: at(0),
            ..eight
        };
        let refused = Box::pin(store.keep_figure_series(&t, &[before], &Filter::default()))
            .await
            .unwrap();
        assert_eq!(refused, None);
        assert_eq!(rows().await, 2 * periods as i64 + 1);
        // The job kept no day's rows in memory: a reader's period of eight other days
        // (recent ones, which a reader keeps) reads every day's rows from the database.
        let other = Period {
            from: today - Duration::days(10),
            to: today - Duration::days(2),
            as_of,
        };
        Box::pin(store.figure_series(&t, vec![other], Filter::default(), false))
            .await
            .unwrap();
        assert_eq!(store.kept_day_hits(), 0, "no day's rows from the job");
        // A reader's are kept: another eight days, seven of them read just before.
        let shifted = Period {
            from: other.from - Duration::days(1),
            to: other.to - Duration::days(1),
            as_of,
        };
        Box::pin(store.figure_series(&t, vec![shifted], Filter::default(), false))
            .await
            .unwrap();
        assert_eq!(store.kept_day_hits(), 7, "but a reader's are kept");

        // A view asks them: from the table, not from memory (the pass kept none there),
        // equal to the facts.
        let view = async |store: &Store| {
            let hits = store.stored_figure_hits();
            let mut counted = false;
            for filter in &filters {
                for (_, periods) in &kept {
                    let fast =
                        Box::pin(store.figure_series(&t, periods.clone(), filter.clone(), false))
                            .await
                            .unwrap();
                    let slow =
                        Box::pin(store.figure_series(&t, periods.clone(), filter.clone(), true))
                            .await
                            .unwrap();
                    assert_eq!(fast.path, FigurePath::Rollups);
                    assert_eq!(fast.answer, slow.answer);
                    counted |= fast.answer.iter().any(|(_, f)| f.contacts > 0);
                }
            }
            assert!(counted, "some periods hold contacts");
            store.stored_figure_hits() - hits
        };
        assert_eq!(view(&store).await, 2 * periods as u64);
        assert_eq!(
            view(&db.store().await).await,
            2 * periods as u64,
            "after a restart"
        );

        // A write to a kept day: the next pass computes the periods holding it, per filter
        // (the contact is by phone, so both filters' periods change).
        Box::pin(phone_call_at_minute_one(&store, &t)).await;
        let day = settings.calendar.local_date(at(1));
        let holding = kept
            .iter()
            .flat_map(|(_, p)| p)
            .filter(|p| p.from <= day && day < p.to)
            .count();
        assert!(holding > 0, "the day is kept");
        let again = pass(&store).await;
        assert!(
            again >= 2 * holding,
            "the periods holding the day, per filter: {again} < {}",
            2 * holding
        );
        assert_eq!(pass(&store).await, 0);
        assert_eq!(view(&db.store().await).await, 2 * periods as u64);
    });
}

database_test!(thermometers_kept_in_the_database_hold_only_when_settled);
/// Thermometer answers kept in `figure_answer` (`Store::keep_thermometers`, and beside
/// a trend): only a settled period is kept (no item pending past `as_of`), with the
/// instant after which it holds; a restarted store reads each from the table only for a
/// moment after that instant and under the current settings' titles, always equal to
/// the facts.
async fn thermometers_kept_in_the_database_hold_only_when_settled(backend: Backend) {
    on_backend!(backend, |db, store| {
        let t = tenant();
        let raw = db.raw().await;
        Box::pin(play(&store, &t, 57, 80)).await;
        let settings = store.settings(&t).await.unwrap();
        let at_moment = |as_of: chrono::DateTime<chrono::Utc>| -> Vec<Period> {
            let today = settings.calendar.local_date(now());
            rollup::kept_periods(today, 1, as_of, rollup::WeekParts::AtMonths)
                .into_iter()
                .flat_map(|(_, p)| p)
                .collect()
        };
        let rows = async || {
            count(
                &raw,
                "SELECT COUNT(*) FROM figure_answer WHERE what = 'thermometer'",
            )
            .await
        };
        // Each period from a restarted store, equal to the facts; how many from the table.
        let trend = async |periods: &[Period]| {
            let fresh = db.store().await;
            let kept = Box::pin(fresh.thermometer_trend(&t, periods.to_vec()))
                .await
                .unwrap();
            for (p, results) in periods.iter().zip(&kept.answer.1) {
                let slow = Box::pin(fresh.thermometer(&t, *p, true)).await.unwrap();
                assert_eq!(*results, slow.answer, "thermometer {p:?}");
            }
            fresh.stored_figure_hits()
        };

        let periods = at_moment(now());
        // A reader's trend writes none (the public page's readers must cause no writes),
        // while its figures are written beside the answer.
        Box::pin(store.thermometer_trend(&t, periods.clone()))
            .await
            .unwrap();
        Box::pin(store.figure_series(&t, periods.clone(), Filter::default(), false))
            .await
            .unwrap();
        until_stored(&store, 1).await;
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        assert_eq!(rows().await, 0, "a reader's thermometer is not written");
        let computed = Box::pin(store.keep_thermometers(&t, &periods))
            .await
            .unwrap();
        assert_eq!(computed, Some(periods.len()));
        let settled_now = rows().await;
        assert!(settled_now > 0, "the empty days are settled");
        assert_eq!(trend(&periods).await, settled_now as u64);

        // Forty-five days on every deadline has passed: every period is settled, and
        // those kept now hold for that moment too.
        let later = at_moment(now() + Duration::days(45));
        assert_eq!(
            Box::pin(store.keep_thermometers(&t, &later)).await.unwrap(),
            Some(later.len() - settled_now as usize),
            "the settled ones were kept already"
        );
        assert_eq!(rows().await, later.len() as i64);
        assert_eq!(trend(&later).await, later.len() as u64);
        // Now again: only a row that holds from before that moment is used (one kept
        // after a deadline that passed later is not).
        let t0 = periods[0].as_of;
        let bodies = raw
            .query_all_raw(Statement::from_string(
                raw.get_database_backend(),
                "SELECT body FROM figure_answer WHERE what = 'thermometer'",
            ))
            .await
            .unwrap();
        let afters: Vec<Option<chrono::DateTime<chrono::Utc>>> = bodies
            .iter()
            .map(|r| {
                let body: String = r.try_get_by_index(0).unwrap();
                midoffice_store::rows::thermometer_answer::decode(&body)
                    .unwrap()
                    .after
            })
            .collect();
        let usable = afters.iter().filter(|a| a.is_none_or(|a| a < t0)).count();
        assert!(
            (settled_now as usize) < periods.len() && usable < afters.len(),
            "some periods held items pending when first asked"
        );
        assert_eq!(
            trend(&periods).await,
            usable as u64,
            "only the rows that hold now"
        );

        // A title changes no tally: the kept counts are judged under the new one.
        let mut changed = settings.clone();
        changed.norms[0].title = "Anders gezegd".into();
        Box::pin(store.replace_settings(&t, changed)).await.unwrap();
        let fresh = db.store().await;
        let kept = Box::pin(fresh.thermometer_trend(&t, later.clone()))
            .await
            .unwrap();
        assert_eq!(fresh.stored_figure_hits(), later.len() as u64);
        assert!(kept.answer.1.iter().all(|r| r[0].title == "Anders gezegd"));

        // A row the job cannot read (another version, damaged) it computes again and
        // replaces (readers write no thermometers, so nobody else would).
        exec(
            &raw,
            "UPDATE figure_answer SET body = '{\"v\": 99}' WHERE what = 'thermometer'",
        )
        .await;
        assert_eq!(
            Box::pin(store.keep_thermometers(&t, &later)).await.unwrap(),
            Some(later.len())
        );
        assert_eq!(trend(&later).await, later.len() as u64);
    });
}
