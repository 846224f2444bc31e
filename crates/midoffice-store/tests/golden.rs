//! Golden rows: sample rows of every version the store ever wrote (`tests/golden/`),
//! decoded and checked field by field against the values they were written with.
//!
//! A change to a stored format that is not a new version with an upgrade (a renamed
//! field, a renamed enum name, a removed variant) makes these tests fail: rows of that
//! shape exist in databases and must stay readable.
//!
//! Where the files come from: `*-v0.json` are what the first release wrote, made by
//! running its `Store` once over the scenario below (the ids are the ones it generated).
//! Each later version's files are the same answers written by the code that introduced
//! that version (`write_golden_rows_of_the_current_version`, run once; it never
//! overwrites a file). The JSON is re-indented with sorted keys; it decodes the same.
//!
//! The scenario (tenant `gemeente-golden`, the settings of [`settings`]): a citizen with
//! a BSN calls about a passport (resolved), e-mails and then fills in a web form about a
//! parking permit (referred to a department, handed off), visits the counter (a callback
//! that will be overdue), abandons a call, then calls again (`start-known-party`; its
//! completion refers to an organisation) and gives feedback; a call without a topic
//! learns it at completion; an anonymous and an ambiguous start; an outbound call to a
//! business is recorded after the fact.

mod common;

use chrono::{DateTime, NaiveDate, Utc};
use midoffice_domain::calendar::{Calendar, HolidaySet};
use midoffice_domain::case::CaseStatus;
use midoffice_domain::contact::{
    Channel, Completion, ContactFacts, Direction, Feedback, Outcome, ReferralTarget,
};
use midoffice_domain::figures::{FigureCounts, Figures, ResponseTimes, Share};
use midoffice_domain::processing::ProcessingActivities;
use midoffice_domain::rollup;
use midoffice_domain::settings::{
    BenchmarkSettings, Measure, Norm, PublicPage, TenantSettings, Within,
};
use midoffice_domain::signals::Signal;
use midoffice_domain::view::{
    CaseView, CommitmentView, ContactView, ContextView, PartyStatus, PartyView, StoryView,
};
use midoffice_domain::{Code, DomainError, Instant, TenantId};
use midoffice_store::rows::answers::{self, Answer, AnswerKind, Kept};
use midoffice_store::rows::settings as settings_rows;
use midoffice_store::{Idempotency, Started, StoreError};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use uuid::Uuid;

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// The samples: `settings` and one answer per idempotency key of the scenario; an
/// answer's key starts with the operation it was kept for.
const SAMPLES: [&str; 24] = [
    "settings",
    "benchmark-member",
    "figure-unit",
    "figure-answer",
    "thermometer-answer",
    "settings-processing-activities",
    "settings-processing-activities-recording",
    "settings-retention",
    "settings-public-page",
    "settings-published",
    "settings-benchmark",
    "settings-design-tokens",
    "answer-start-known-party",
    "answer-start-anonymous",
    "answer-start-ambiguous",
    "answer-record-outbound",
    "answer-complete-resolved",
    "answer-complete-referred-department",
    "answer-complete-handed-off",
    "answer-complete-callback",
    "answer-complete-abandoned",
    "answer-complete-referred-organisation",
    "answer-complete-case-chosen-at-end",
    "answer-feedback-with-comment",
];

/// Every golden file, by sample and version.
fn golden_files() -> BTreeMap<(String, u64), String> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(golden_dir()).expect("tests/golden") {
        let path = entry.expect("a directory entry").path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        let stem = name
            .strip_suffix(".json")
            .unwrap_or_else(|| panic!("{name}: a golden row is a .json file"));
        let (sample, version) = stem
            .rsplit_once("-v")
            .unwrap_or_else(|| panic!("{name}: named <sample>-v<version>.json"));
        let version: u64 = version
            .parse()
            .unwrap_or_else(|_| panic!("{name}: version"));
        let text = std::fs::read_to_string(&path).expect("readable");
        out.insert((sample.to_owned(), version), text);
    }
    out
}

fn versions_of(sample: &str) -> &'static [u64] {
    if sample == "settings-processing-activities" {
        // Added compatibly within version 1, with the processing log.
        &[1]
    } else if sample == "settings-processing-activities-recording" {
        // `contact_recording` and `access_request` added compatibly within version 1
        // after it.
        &[1]
    } else if sample == "settings-retention" {
        // `retention_months` added compatibly within version 1.
        &[1]
    } else if sample == "settings-public-page" {
        // `public_page` added compatibly within version 1.
        &[1]
    } else if sample == "settings-published" {
        // `public_page.published` and a norm's `published` added compatibly within
        // version 1.
        &[1]
    } else if sample == "settings-benchmark" {
        // `benchmark` added compatibly within version 1.
        &[1]
    } else if sample == "settings-design-tokens" {
        // `public_page.design_tokens` added compatibly within version 1.
        &[1]
    } else if sample == "benchmark-member" {
        // `benchmark_member.line`: a summary line of the summary format's version 1.
        &[1]
    } else if sample == "settings" {
        &settings_rows::VERSIONS
    } else if sample == "figure-unit" {
        &midoffice_store::rows::figures::VERSIONS
    } else if sample == "figure-answer" {
        &midoffice_store::rows::figure_answer::VERSIONS
    } else if sample == "thermometer-answer" {
        &midoffice_store::rows::thermometer_answer::VERSIONS
    } else {
        &answers::VERSIONS
    }
}

/// The operation an answer sample was kept for, and so the kind of its answer.
fn operation(sample: &str) -> (&'static str, AnswerKind) {
    let key = sample.strip_prefix("answer-").expect("an answer sample");
    [
        ("start", AnswerKind::Started),
        ("record", AnswerKind::Started),
        ("complete", AnswerKind::Contact),
        ("feedback", AnswerKind::Feedback),
    ]
    .into_iter()
    .find(|(op, _)| key.starts_with(op))
    .unwrap_or_else(|| panic!("{sample}: no operation"))
}

fn key_of(sample: &str) -> &str {
    sample.strip_prefix("answer-").expect("an answer sample")
}

#[test]
fn every_version_has_golden_rows_of_every_sample_and_no_others() {
    let files = golden_files();
    for sample in SAMPLES {
        for v in versions_of(sample) {
            assert!(
                files.contains_key(&(sample.to_owned(), *v)),
                "tests/golden/{sample}-v{v}.json is missing: every version ever written \
                 keeps golden rows"
            );
        }
    }
    for (sample, v) in files.keys() {
        assert!(SAMPLES.contains(&sample.as_str()), "{sample}: not a sample");
        assert!(
            versions_of(sample).contains(v),
            "{sample}-v{v}.json: a version the store does not list as written"
        );
    }
}

#[test]
fn golden_settings_of_every_version_read_as_written() {
    for ((sample, v), text) in golden_files() {
        if sample != "settings" {
            continue;
        }
        let read = settings_rows::decode(&text)
            .unwrap_or_else(|e| panic!("settings-v{v}.json no longer reads: {e}"));
        let expected = settings();
        // Field by field, so a failure names the field.
        assert_eq!(read.repeat_window_secs, expected.repeat_window_secs, "v{v}");
        assert_eq!(
            read.channel_hop_window_secs, expected.channel_hop_window_secs,
            "v{v}"
        );
        assert_eq!(read.calendar.time_zone, expected.calendar.time_zone, "v{v}");
        assert_eq!(read.calendar.holidays, expected.calendar.holidays, "v{v}");
        assert_eq!(
            read.calendar.closing_days, expected.calendar.closing_days,
            "v{v}"
        );
        assert_eq!(read.norms.len(), expected.norms.len(), "v{v}");
        for (i, (r, e)) in read.norms.iter().zip(&expected.norms).enumerate() {
            assert_eq!(r.id, e.id, "v{v} norms[{i}].id");
            assert_eq!(r.title, e.title, "v{v} norms[{i}].title");
            assert_eq!(r.measure, e.measure, "v{v} norms[{i}].measure");
            assert_eq!(r.target_percent, e.target_percent, "v{v} norms[{i}].target");
            assert_eq!(r.explanation, e.explanation, "v{v} norms[{i}].explanation");
        }
        assert_eq!(read, expected, "v{v}");
    }
}

#[test]
fn golden_answers_of_every_version_read_as_written() {
    let mut read_any = false;
    for ((sample, v), text) in golden_files() {
        if !sample.starts_with("answer-") {
            continue;
        }
        let (_, kind) = operation(&sample);
        let read = answers::decode(&text, kind)
            .unwrap_or_else(|e| panic!("{sample}-v{v}.json no longer reads: {e}"));
        let mut expected = answer(key_of(&sample));
        if v >= 2 {
            // Since version 2 a shown story is kept by reference: the row has no text,
            // the store reads it back from the contact's row when it replays.
            if let Answer::Started(s) = &mut expected {
                let context = &mut s.context;
                for case in context
                    .active_cases
                    .iter_mut()
                    .chain(context.case.iter_mut())
                {
                    for story in &mut case.stories {
                        story.text.clear();
                    }
                }
            }
        }
        match (&read, &expected) {
            (Answer::Started(r), Answer::Started(e)) => {
                assert_eq!(
                    r.contact.contact, e.contact.contact,
                    "{sample}-v{v} contact"
                );
                assert_eq!(
                    r.contact.signals, e.contact.signals,
                    "{sample}-v{v} signals"
                );
                assert_eq!(r.context.party, e.context.party, "{sample}-v{v} party");
                assert_eq!(r.context.as_of, e.context.as_of, "{sample}-v{v} as_of");
                assert_eq!(r.context.case, e.context.case, "{sample}-v{v} case");
                assert_eq!(
                    r.context.active_cases, e.context.active_cases,
                    "{sample}-v{v} active cases"
                );
            }
            (Answer::Contact(r), Answer::Contact(e)) => {
                assert_eq!(
                    r.contact.completion, e.contact.completion,
                    "{sample}-v{v} completion"
                );
                assert_eq!(r.contact, e.contact, "{sample}-v{v} contact");
                assert_eq!(r.signals, e.signals, "{sample}-v{v} signals");
            }
            _ => {}
        }
        assert_eq!(read, expected, "{sample}-v{v}");
        read_any = true;
    }
    assert!(read_any);
}

/// The tallies of the `figure-unit` sample: a contact tally counted twice and an entry
/// without a previous contact.
fn figure_unit() -> BTreeMap<rollup::Tally, i64> {
    let day = chrono::NaiveDate::from_ymd_opt(2025, 3, 4).unwrap();
    let contact = rollup::Tally {
        kind: rollup::TallyKind::Contact,
        day,
        key: rollup::TallyKey {
            channel: "PHONE".into(),
            topic: "paspoort".into(),
            department: "kcc".into(),
            a: rollup::FLAG_HAS_CASE | rollup::FLAG_COMPLETED,
            b: 0,
            c: 0,
        },
    };
    let entry = rollup::Tally {
        kind: rollup::TallyKind::Entry,
        day,
        key: rollup::TallyKey {
            channel: String::new(),
            topic: "paspoort".into(),
            department: String::new(),
            a: rollup::BY_TOPIC + 8,
            b: rollup::NO_DAY,
            // The first-contact item on the entry's own day, met (version 1 stored the
            // day number: `day_number(day) * 2 + 1`).
            c: rollup::relation(day, day) * 2 + 1,
        },
    };
    BTreeMap::from([(contact, 2), (entry, 1)])
}

#[test]
fn golden_figure_units_of_every_version_read_as_written() {
    let files = golden_files();
    for v in midoffice_store::rows::figures::VERSIONS {
        let text = &files[&("figure-unit".to_owned(), v)];
        assert_eq!(
            midoffice_store::rows::figures::decode(text).unwrap(),
            figure_unit(),
            "figure-unit-v{v}"
        );
    }
    let current = files[&("figure-unit".to_owned(), 2)].trim();
    assert_eq!(
        midoffice_store::rows::figures::encode(&figure_unit()).unwrap(),
        current,
        "the current version writes its golden row"
    );
}

/// The figures of the `figure-answer` sample: ratios with and without a value (ratios
/// whose decimal form would round), two channels' response times.
fn figure_answer() -> Figures {
    let share = |met, items| Share { met, items };
    Figures {
        contacts: 7,
        cases: 5,
        first_contact_resolution: Some(2.0 / 3.0),
        repeat_contact_rate: None,
        referral_rate: Some(0.1),
        cases_referred_more_than_once: 1,
        repeat_story_rate: Some(1.0),
        channel_hops: 2,
        response_times: vec![
            ResponseTimes {
                channel: Channel::Email,
                answered: 3,
                p50_seconds: 3600,
                p90_seconds: 86_400,
            },
            ResponseTimes {
                channel: Channel::Phone,
                answered: 4,
                p50_seconds: 20,
                p90_seconds: 95,
            },
        ],
        satisfaction_score: Some(13.0 / 3.0),
        effort_score: None,
        counts: FigureCounts {
            first_contact_resolution: share(2, 3),
            repeat_contacts: share(0, 0),
            referrals: share(1, 10),
            repeated_stories: share(1, 1),
            answers: 3,
            score_sum: 13,
            effort_sum: 0,
        },
    }
}

#[test]
fn golden_figure_answers_of_every_version_read_as_written() {
    use midoffice_store::rows::figure_answer;
    let files = golden_files();
    for v in figure_answer::VERSIONS {
        let text = &files[&("figure-answer".to_owned(), v)];
        assert_eq!(
            figure_answer::decode(text).unwrap(),
            figure_answer(),
            "figure-answer-v{v}"
        );
    }
    let v = *figure_answer::VERSIONS.last().unwrap();
    let json = |text: &str| serde_json::from_str::<serde_json::Value>(text).unwrap();
    assert_eq!(
        json(&figure_answer::encode(&figure_answer()).unwrap()),
        json(&files[&("figure-answer".to_owned(), v)]),
        "the current version writes its golden row"
    );
}

/// The `thermometer-answer` sample: two norms' counts, one of them with no items, kept
/// after a deadline that passed.
#[test]
fn golden_thermometer_answers_of_every_version_read_as_written() {
    use midoffice_store::rows::thermometer_answer::{self, ThermometerCounts};
    let files = golden_files();
    let after = chrono::DateTime::from_timestamp_micros(1_780_000_000_123_456).unwrap();
    let want = ThermometerCounts {
        norms: vec![
            (Code::parse("telefoon-30s").unwrap(), 3, 4),
            (Code::parse("terugbellen").unwrap(), 0, 0),
        ],
        after: Some(after),
    };
    for v in thermometer_answer::VERSIONS {
        let text = &files[&("thermometer-answer".to_owned(), v)];
        assert_eq!(
            thermometer_answer::decode(text).unwrap(),
            want,
            "thermometer-answer-v{v}"
        );
    }
    // Written from the norms' lines: only their ids and counts are kept.
    let settings = TenantSettings::default();
    let lines: Vec<_> = want
        .norms
        .iter()
        .map(|(id, met, items)| {
            let mut norm = settings.norms[0].clone();
            norm.id = id.clone();
            midoffice_domain::figures::norm_result(&norm, *met, *items)
        })
        .collect();
    let v = *thermometer_answer::VERSIONS.last().unwrap();
    let json = |text: &str| serde_json::from_str::<serde_json::Value>(text).unwrap();
    assert_eq!(
        json(&thermometer_answer::encode(&lines, Some(after)).unwrap()),
        json(&files[&("thermometer-answer".to_owned(), v)]),
        "the current version writes its golden row"
    );
}

#[test]
fn a_row_of_one_kind_is_not_read_as_another() {
    let files = golden_files();
    for v in answers::VERSIONS {
        let started = &files[&("answer-start-known-party".to_owned(), v)];
        assert!(<Started as Kept>::decode(started).is_ok(), "v{v}");
        assert!(<ContactView as Kept>::decode(started).is_err(), "v{v}");
        assert!(<Feedback as Kept>::decode(started).is_err(), "v{v}");
    }
}

/// The current version writes exactly its golden rows: what is written now is what the
/// golden files say, field for field.
#[test]
fn the_current_version_writes_its_golden_rows() {
    let files = golden_files();
    let json = |text: &str| serde_json::from_str::<serde_json::Value>(text).unwrap();
    let v = *settings_rows::VERSIONS.last().unwrap();
    let written = settings_rows::encode(&settings()).unwrap();
    assert_eq!(
        json(&written),
        json(&files[&("settings".to_owned(), v)]),
        "settings-v{v}.json"
    );
    let v = *answers::VERSIONS.last().unwrap();
    for sample in SAMPLES.iter().filter(|s| s.starts_with("answer-")) {
        let written = encode(&answer(key_of(sample)));
        assert_eq!(
            json(&written),
            json(&files[&(sample.to_string(), v)]),
            "{sample}-v{v}.json"
        );
    }
}

fn encode(answer: &Answer) -> String {
    match answer {
        Answer::Started(s) => s.encode(),
        Answer::Contact(c) => c.encode(),
        Answer::Feedback(f) => f.encode(),
    }
    .unwrap()
}

/// Writes the golden rows of the current version that do not exist yet, from the newest
/// golden rows there are, through the current reading and writing code. Run once when
/// a version is added: `cargo test -p midoffice-store --test golden -- --ignored`.
#[test]
#[ignore = "writes tests/golden; run once when a stored format gets a new version"]
fn write_golden_rows_of_the_current_version() {
    let files = golden_files();
    let pretty = |text: &str| {
        let value: serde_json::Value = serde_json::from_str(text).unwrap();
        serde_json::to_string_pretty(&value).unwrap() + "\n"
    };
    for sample in SAMPLES {
        let current = *versions_of(sample).last().unwrap();
        let path = golden_dir().join(format!("{sample}-v{current}.json"));
        if path.exists() {
            continue;
        }
        let (_, newest) = files
            .iter()
            .filter(|((s, _), _)| s == sample)
            .max_by_key(|((_, v), _)| *v)
            .unwrap_or_else(|| panic!("{sample}: no golden row to start from"));
        let written = if sample == "settings" {
            settings_rows::encode(&settings_rows::decode(newest).unwrap()).unwrap()
        } else if sample == "figure-unit" {
            let rows = midoffice_store::rows::figures::decode(newest).unwrap();
            midoffice_store::rows::figures::encode(&rows).unwrap()
        } else if sample == "figure-answer" {
            let figures = midoffice_store::rows::figure_answer::decode(newest).unwrap();
            midoffice_store::rows::figure_answer::encode(&figures).unwrap()
        } else {
            encode(&answers::decode(newest, operation(sample).1).unwrap())
        };
        std::fs::write(&path, pretty(&written)).unwrap();
        eprintln!("wrote {}", path.display());
    }
}

// A database of the first release.

const TENANT: &str = "gemeente-golden";

/// `sql` written with `?` placeholders, for this backend.
fn statement(raw: &DatabaseConnection, sql: &str, values: Vec<sea_orm::Value>) -> Statement {
    let backend = raw.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => {
            let mut n = 0;
            sql.chars()
                .map(|ch| {
                    if ch == '?' {
                        n += 1;
                        format!("${n}")
                    } else {
                        ch.to_string()
                    }
                })
                .collect()
        }
        _ => sql.to_owned(),
    };
    Statement::from_sql_and_values(backend, sql, values)
}

async fn exec(raw: &DatabaseConnection, sql: &str, values: Vec<sea_orm::Value>) {
    raw.execute_raw(statement(raw, sql, values))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

async fn insert_answer(raw: &DatabaseConnection, tenant: &str, op: &str, key: &str, text: &str) {
    exec(
        raw,
        "INSERT INTO idempotency (tenant, operation, key, fingerprint, response, created_at, \
         party_id, erased_at) VALUES (?, ?, ?, ?, ?, ?, NULL, NULL)",
        vec![
            tenant.into(),
            op.into(),
            key.into(),
            format!("fp-{key}").into(),
            text.into(),
            1_741_000_000_000_000_i64.into(),
        ],
    )
    .await;
}

async fn raw_text(raw: &DatabaseConnection, sql: &str, values: Vec<sea_orm::Value>) -> String {
    let row = raw
        .query_one_raw(statement(raw, sql, values))
        .await
        .unwrap()
        .expect("a row");
    row.try_get_by_index::<String>(0).unwrap()
}

fn idem(key: &str) -> Option<Idempotency> {
    Some(Idempotency {
        key: key.into(),
        fingerprint: format!("fp-{key}"),
    })
}

/// Replays a kept answer through the store: the command itself does not matter, the
/// key and fingerprint do.
async fn replay(
    store: &midoffice_store::Store,
    t: &TenantId,
    sample: &str,
) -> Result<Answer, StoreError> {
    let key = key_of(sample);
    let any_start = common::start(vec![], None, 0);
    let any_end = common::end(Outcome::Resolved, 0, 1, None);
    Ok(match operation(sample).0 {
        "start" => Answer::Started(Box::new(
            store
                .start_contact(t, &common::caller(), any_start, idem(key))
                .await?,
        )),
        "record" => Answer::Started(Box::new(
            store
                .record_contact(
                    t,
                    &common::caller(),
                    any_start,
                    any_end,
                    true,
                    idem(key),
                    common::now(),
                )
                .await?,
        )),
        "complete" => Answer::Contact(Box::new(
            store
                .complete_contact(
                    t,
                    &common::caller(),
                    Uuid::now_v7(),
                    Ok(any_end),
                    idem(key),
                    common::now(),
                )
                .await?,
        )),
        "feedback" => Answer::Feedback(
            store
                .submit_feedback(
                    t,
                    &common::caller(),
                    Uuid::now_v7(),
                    Feedback {
                        score: 5,
                        effort: 1,
                        story_repeated: false,
                        comment: None,
                    },
                    idem(key),
                )
                .await?,
        ),
        other => unreachable!("{other}"),
    })
}

database_test!(a_database_of_the_first_release_is_migrated_and_answers_as_before);
async fn a_database_of_the_first_release_is_migrated_and_answers_as_before(
    backend: common::Backend,
) {
    use sea_orm_migration::MigratorTrait;
    let files = golden_files();
    let v0 = |sample: &str| files[&(sample.to_owned(), 0)].clone();
    // `m0002_versioned_rows` rewrites version 0 into version 1, whatever came later;
    // later versions are read through their upgrades.
    let current = |sample: &str| {
        serde_json::from_str::<serde_json::Value>(&files[&(sample.to_owned(), 1)]).unwrap()
    };
    let db = common::database(backend).await;
    if let Some(dir) =
        midoffice_store::sqlite_path(&db.url).and_then(|p| p.parent().map(Path::to_path_buf))
    {
        std::fs::create_dir_all(dir).unwrap();
    }
    let raw = db.raw().await;
    // The first release's schema and rows, written with plain SQL.
    midoffice_store::migration::Migrator::up(&raw, Some(1))
        .await
        .unwrap();
    exec(
        &raw,
        "INSERT INTO tenant_settings (tenant, settings, updated_at) VALUES (?, ?, ?)",
        vec![
            TENANT.into(),
            v0("settings").into(),
            1_741_000_000_000_000_i64.into(),
        ],
    )
    .await;
    for sample in SAMPLES.iter().filter(|s| s.starts_with("answer-")) {
        insert_answer(
            &raw,
            TENANT,
            operation(sample).0,
            key_of(sample),
            &v0(sample),
        )
        .await;
    }
    // An answer of an erased party: emptied, to be refused rather than replayed.
    exec(
        &raw,
        "INSERT INTO idempotency (tenant, operation, key, fingerprint, response, created_at, \
         party_id, erased_at) VALUES (?, 'start', 'start-erased', '', '', ?, NULL, ?)",
        vec![
            TENANT.into(),
            1_741_000_000_000_000_i64.into(),
            1_742_000_000_000_000_i64.into(),
        ],
    )
    .await;

    // The new release starts on it: the migration rewrites every row.
    let store = db.store().await;
    assert_eq!(
        common::count(&raw, "SELECT COUNT(*) FROM seaql_migrations").await,
        i64::try_from(
            <midoffice_store::migration::Migrator as sea_orm_migration::MigratorTrait>::migrations(
            )
            .len()
        )
        .unwrap(),
        "every migration ran"
    );
    let json = |text: String| serde_json::from_str::<serde_json::Value>(&text).unwrap();
    let stored = raw_text(
        &raw,
        "SELECT settings FROM tenant_settings WHERE tenant = ?",
        vec![TENANT.into()],
    )
    .await;
    assert_eq!(json(stored), current("settings"), "settings rewritten");
    for sample in SAMPLES.iter().filter(|s| s.starts_with("answer-")) {
        let stored = raw_text(
            &raw,
            "SELECT response FROM idempotency WHERE tenant = ? AND operation = ? AND key = ?",
            vec![
                TENANT.into(),
                operation(sample).0.into(),
                key_of(sample).into(),
            ],
        )
        .await;
        assert_eq!(json(stored), current(sample), "{sample} rewritten");
    }

    // And the store answers as the first release did.
    let t = TenantId::parse(TENANT).unwrap();
    assert_eq!(store.settings(&t).await.unwrap(), settings());
    for sample in SAMPLES.iter().filter(|s| s.starts_with("answer-")) {
        let got = replay(&store, &t, sample).await.unwrap();
        assert_eq!(got, answer(key_of(sample)), "{sample} replayed");
    }
    // Same key, other request: refused; an erased party's answer: refused.
    let other = store
        .start_contact(
            &t,
            &common::caller(),
            common::start(vec![], None, 0),
            Some(Idempotency {
                key: "start-known-party".into(),
                fingerprint: "another request".into(),
            }),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&other, StoreError::Domain(DomainError::RequestIdReused)),
        "{other:?}"
    );
    let erased = replay(&store, &t, "answer-start-erased").await.unwrap_err();
    assert!(
        matches!(
            erased,
            StoreError::Domain(DomainError::FailedPrecondition(
                midoffice_domain::Precondition::PartyErased
            ))
        ),
        "{erased:?}"
    );

    // A first-release instance still running during a rolling upgrade may write
    // version 0 rows after the migration: they read too.
    exec(
        &raw,
        "INSERT INTO tenant_settings (tenant, settings, updated_at) VALUES (?, ?, ?)",
        vec![
            "gemeente-later".into(),
            v0("settings").into(),
            1_743_000_000_000_000_i64.into(),
        ],
    )
    .await;
    insert_answer(
        &raw,
        "gemeente-later",
        "feedback",
        "feedback-with-comment",
        &v0("answer-feedback-with-comment"),
    )
    .await;
    let later = TenantId::parse("gemeente-later").unwrap();
    assert_eq!(store.settings(&later).await.unwrap(), settings());
    assert_eq!(
        replay(&store, &later, "answer-feedback-with-comment")
            .await
            .unwrap(),
        answer("feedback-with-comment")
    );

    // A row that cannot be read is INTERNAL, and says nothing of its content.
    exec(
        &raw,
        "UPDATE tenant_settings SET settings = ? WHERE tenant = ?",
        vec![
            r#"{"v": 1, "norms": "geheim"}"#.into(),
            "gemeente-later".into(),
        ],
    )
    .await;
    let e = store.settings(&later).await.unwrap_err();
    assert!(
        matches!(&e, StoreError::Internal(m) if !m.contains("geheim")),
        "{e:?}"
    );
}

// The values the golden rows were written with.

fn t(s: &str) -> Instant {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn c(s: &str) -> Code {
    Code::parse(s).unwrap()
}

fn id(s: &str) -> Uuid {
    Uuid::parse_str(s).unwrap()
}

/// The settings of the scenario: every measure, both kinds of threshold, a calendar
/// that is not the default one, closing days, norms with and without an explanation.
fn settings() -> TenantSettings {
    let norm = |id: &str, title: &str, measure, target, explanation: Option<&str>| Norm {
        id: c(id),
        title: title.into(),
        measure,
        target_percent: target,
        explanation: explanation.map(str::to_owned),
        published: true,
    };
    TenantSettings {
        norms: vec![
            norm(
                "telefoon-30s",
                "Telefoon binnen 30 seconden opgenomen",
                Measure::ResponseTime {
                    channel: Channel::Phone,
                    within: Within::Elapsed(30),
                },
                80,
                Some("Op maandagochtend is het druk; we zetten extra mensen in."),
            ),
            norm(
                "email-2-werkdagen",
                "E-mail binnen 2 werkdagen beantwoord",
                Measure::ResponseTime {
                    channel: Channel::Email,
                    within: Within::WorkingDays(2),
                },
                90,
                None,
            ),
            norm(
                "eerste-contact",
                "In een keer geholpen",
                Measure::FirstContactResolution,
                70,
                Some("Vergunningen vragen vaak een tweede contact."),
            ),
            norm(
                "hooguit-een-keer-doorverwezen",
                "Hooguit een keer doorverwezen",
                Measure::ReferredAtMost { max: 1 },
                95,
                None,
            ),
            norm(
                "verhaal-een-keer",
                "Uw verhaal maar een keer vertellen",
                Measure::StoryToldOnce,
                85,
                Some("We lezen eerdere verhalen voor we opnemen."),
            ),
            norm(
                "terugbellen-op-tijd",
                "Terugbellen binnen een werkdag",
                Measure::CommitmentOnTime {
                    within: Some(Within::WorkingDays(1)),
                },
                90,
                None,
            ),
            norm(
                "afspraken-nakomen",
                "Afspraken nakomen",
                Measure::CommitmentOnTime { within: None },
                100,
                Some("Elke gemiste afspraak bespreken we in het team."),
            ),
        ],
        calendar: Calendar {
            time_zone: chrono_tz::Europe::Brussels,
            holidays: HolidaySet::Be,
            closing_days: [(2025, 12, 24), (2025, 12, 31)]
                .into_iter()
                .map(|(y, m, d)| NaiveDate::from_ymd_opt(y, m, d).unwrap())
                .collect(),
        },
        repeat_window_secs: 5 * 24 * 3600,
        channel_hop_window_secs: 24 * 3600,
        processing_activities: ProcessingActivities::default(),
        retention_months: 24,
        public_page: PublicPage::default(),
        benchmark: BenchmarkSettings::default(),
    }
}

/// The settings of the scenario with processing-activity URIs for two of the three kinds.
fn settings_with_activities() -> TenantSettings {
    TenantSettings {
        processing_activities: ProcessingActivities {
            context_read: Some("https://register.gemeente.example/verwerkingen/klantbeeld".into()),
            contact_read: None,
            erase: Some("urn:gemeente-example:va:wissen-op-verzoek".into()),
            contact_recording: None,
            access_request: None,
        },
        ..settings()
    }
}

/// As [`settings_with_activities`], with the contact recording's and the access
/// request's URIs too.
fn settings_with_recording_activity() -> TenantSettings {
    let mut s = settings_with_activities();
    s.processing_activities.contact_recording =
        Some("https://register.gemeente.example/verwerkingen/contactregistratie".into());
    s.processing_activities.access_request =
        Some("https://register.gemeente.example/verwerkingen/inzageverzoek".into());
    s
}

/// `contact_recording` and `access_request` (optional fields added to version 1 later) read and writes as
/// its golden row; the rows written before it (above) read without it.
#[test]
fn settings_with_a_contact_recording_activity_read_and_write_their_golden_row() {
    let files = golden_files();
    let text = &files[&("settings-processing-activities-recording".to_owned(), 1)];
    assert_eq!(
        settings_rows::decode(text).unwrap(),
        settings_with_recording_activity()
    );
    let json = |text: &str| serde_json::from_str::<serde_json::Value>(text).unwrap();
    assert_eq!(
        json(&settings_rows::encode(&settings_with_recording_activity()).unwrap()),
        json(text)
    );
}

/// `retention_months` (an optional field added to version 1 with retention) reads and
/// writes as its golden row; every older row reads as the default, 24 months.
#[test]
fn settings_with_a_retention_period_read_and_write_their_golden_row() {
    let files = golden_files();
    let text = &files[&("settings-retention".to_owned(), 1)];
    let with = TenantSettings {
        retention_months: 60,
        ..settings()
    };
    assert_eq!(settings_rows::decode(text).unwrap(), with);
    let json = |text: &str| serde_json::from_str::<serde_json::Value>(text).unwrap();
    assert_eq!(json(&settings_rows::encode(&with).unwrap()), json(text));
    for ((sample, v), text) in &files {
        if sample.starts_with("settings") && sample != "settings-retention" {
            let read = settings_rows::decode(text).unwrap();
            assert_eq!(read.retention_months, 24, "{sample}-v{v}");
        }
    }
}

/// `public_page` (an optional field added to version 1 with the public thermometer
/// page) reads and writes as its golden row; every older row reads as no public page.
#[test]
fn settings_with_a_public_page_read_and_write_their_golden_row() {
    let files = golden_files();
    let text = &files[&("settings-public-page".to_owned(), 1)];
    let with = TenantSettings {
        public_page: PublicPage {
            published: false,
            display_name: Some("Gemeente Golden".into()),
            logo_url: Some("https://www.gemeente-golden.example/logo.svg".into()),
            accessibility_statement_url: Some(
                "https://www.toegankelijkheidsverklaring.nl/register/12345".into(),
            ),
            primary_colour: Some("#01689b".into()),
            design_tokens: BTreeMap::new(),
        },
        ..settings()
    };
    assert_eq!(settings_rows::decode(text).unwrap(), with);
    let json = |text: &str| serde_json::from_str::<serde_json::Value>(text).unwrap();
    assert_eq!(json(&settings_rows::encode(&with).unwrap()), json(text));
    for ((sample, v), text) in &files {
        if sample.starts_with("settings")
            && ![
                "settings-public-page",
                "settings-published",
                "settings-design-tokens",
            ]
            .contains(&sample.as_str())
        {
            let read = settings_rows::decode(text).unwrap();
            assert_eq!(read.public_page, PublicPage::default(), "{sample}-v{v}");
        }
    }
}

/// `public_page.design_tokens` (an optional field added to version 1: the tenant's
/// theme) reads and writes as its golden row; every other row reads as no tokens set and
/// writes none.
#[test]
fn settings_with_design_tokens_read_and_write_their_golden_row() {
    let files = golden_files();
    let text = &files[&("settings-design-tokens".to_owned(), 1)];
    let with = TenantSettings {
        public_page: PublicPage {
            published: false,
            display_name: Some("Gemeente Golden".into()),
            logo_url: Some("https://www.gemeente-golden.example/logo.svg".into()),
            accessibility_statement_url: Some(
                "https://www.toegankelijkheidsverklaring.nl/register/12345".into(),
            ),
            primary_colour: None,
            design_tokens: [
                ("font-family", "\"Gemeente Sans\",Arial,sans-serif"),
                ("primary-color", "#01689b"),
                ("text-color", "#000000"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        },
        ..settings()
    };
    assert_eq!(settings_rows::decode(text).unwrap(), with);
    let json = |text: &str| serde_json::from_str::<serde_json::Value>(text).unwrap();
    assert_eq!(json(&settings_rows::encode(&with).unwrap()), json(text));
    for ((sample, v), text) in &files {
        if sample.starts_with("settings") && sample != "settings-design-tokens" {
            let read = settings_rows::decode(text).unwrap();
            assert!(read.public_page.design_tokens.is_empty(), "{sample}-v{v}");
            let written = json(&settings_rows::encode(&read).unwrap());
            assert!(
                written["public_page"].get("design_tokens").is_none(),
                "{sample}-v{v}"
            );
        }
    }
}

/// `published` (optional fields added to version 1 with opt-in publishing: the page's,
/// absent is false; a norm's, absent is true) reads and writes as its golden row; every
/// older row reads as a page not published with every norm published, so a tenant's
/// norms stay public once it publishes its page.
#[test]
fn settings_with_publishing_read_and_write_their_golden_row() {
    let files = golden_files();
    let text = &files[&("settings-published".to_owned(), 1)];
    let mut with = TenantSettings {
        public_page: PublicPage {
            published: true,
            display_name: Some("Gemeente Golden".into()),
            ..PublicPage::default()
        },
        ..settings()
    };
    with.norms[1].published = false;
    with.norms[6].published = false;
    assert_eq!(settings_rows::decode(text).unwrap(), with);
    let json = |text: &str| serde_json::from_str::<serde_json::Value>(text).unwrap();
    assert_eq!(json(&settings_rows::encode(&with).unwrap()), json(text));
    // Only what differs from the default is written.
    let row = json(text);
    assert_eq!(row["public_page"]["published"], true);
    assert_eq!(row["norms"][1]["published"], false);
    assert!(row["norms"][0].get("published").is_none(), "{row}");
    for ((sample, v), text) in &files {
        if sample.starts_with("settings") && sample != "settings-published" {
            let read = settings_rows::decode(text).unwrap();
            assert!(!read.public_page.published, "{sample}-v{v}");
            assert!(read.norms.iter().all(|n| n.published), "{sample}-v{v}");
            let row = json(text);
            assert!(!row.to_string().contains("published"), "{sample}-v{v}");
        }
    }
}

/// `benchmark` (an optional field added to version 1 with the benchmark between
/// organisations) reads and writes as its golden row; every older row reads as not
/// taking part.
#[test]
fn settings_with_benchmark_participation_read_and_write_their_golden_row() {
    let files = golden_files();
    let text = &files[&("settings-benchmark".to_owned(), 1)];
    let with = TenantSettings {
        benchmark: BenchmarkSettings {
            opted_in: true,
            size: 81_000,
            stated_population: false,
            peer_group: Some(c("g4-plus")),
            named: true,
        },
        ..settings()
    };
    assert_eq!(settings_rows::decode(text).unwrap(), with);
    let json = |text: &str| serde_json::from_str::<serde_json::Value>(text).unwrap();
    assert_eq!(json(&settings_rows::encode(&with).unwrap()), json(text));
    // Only what differs from the default is written.
    let row = json(text);
    assert!(row["benchmark"].get("stated_population").is_none(), "{row}");
    for ((sample, v), text) in &files {
        if sample.starts_with("settings") && sample != "settings-benchmark" {
            let read = settings_rows::decode(text).unwrap();
            assert_eq!(
                read.benchmark,
                BenchmarkSettings::default(),
                "{sample}-v{v}"
            );
            assert!(json(text).get("benchmark").is_none(), "{sample}-v{v}");
        }
    }
    // A peer group that is not a code does not read.
    let bad = text.replace("g4-plus", "G4 Plus");
    assert!(settings_rows::decode(&bad).is_err());
}

/// Settings with processing-activity URIs (an optional field of version 1) read as
/// written, and are written exactly as their golden row; rows without it (every older
/// row) read as the defaults, as the other settings test shows.
#[test]
fn settings_with_processing_activities_read_and_write_their_golden_row() {
    let files = golden_files();
    let text = &files[&("settings-processing-activities".to_owned(), 1)];
    assert_eq!(
        settings_rows::decode(text).unwrap(),
        settings_with_activities()
    );
    let json = |text: &str| serde_json::from_str::<serde_json::Value>(text).unwrap();
    assert_eq!(
        json(&settings_rows::encode(&settings_with_activities()).unwrap()),
        json(text)
    );
    let plain = &files[&("settings".to_owned(), 1)];
    assert_eq!(
        settings_rows::decode(plain).unwrap().processing_activities,
        ProcessingActivities::default()
    );
}

const PARTY_A: &str = "01a24b60-e746-73dd-8229-33f264ad1b68";
const PARTY_KVK: &str = "01a24b60-e77d-7038-b1e8-044185b30669";
const CASE_PARKING: &str = "01a24b60-e75b-7091-a48b-764fe9fe0b8e";
const CASE_PASSPORT: &str = "01a24b60-e747-71fb-b621-71489f6d3f5f";
const CASE_KVK: &str = "01a24b60-e77d-7038-b1e8-04423d419af8";
const C_RESOLVED: &str = "01a24b60-e748-72ef-b4a3-b1f5d2abe9ee";
const C_REFERRED: &str = "01a24b60-e75b-7091-a48b-76505a665110";
const C_HANDED_OFF: &str = "01a24b60-e75f-77b8-ac64-9056e8c1c359";
const C_CALLBACK: &str = "01a24b60-e764-7645-83c5-061994d48633";
const C_ABANDONED: &str = "01a24b60-e769-76e6-b8b7-2b3ec2fd4514";
const C_AGAIN: &str = "01a24b60-e76e-70aa-b7b1-3b152e34ef04";
const C_LATE_TOPIC: &str = "01a24b60-e774-777d-9e6c-bcaa8a9939f7";
const C_ANONYMOUS: &str = "01a24b60-e778-71f2-bea2-ae8e2e65e855";
const C_AMBIGUOUS: &str = "01a24b60-e77b-77a3-8d6d-d13153297122";
const C_RECORDED: &str = "01a24b60-e77d-7038-b1e8-04434da5e87c";

const PARKING: &str = "parkeervergunning";

/// A live inbound contact as started.
fn contact(
    contact_id: &str,
    ids: Option<(&str, &str)>,
    channel: Channel,
    started: &str,
    topic: Option<&str>,
    department: Option<&str>,
) -> ContactFacts {
    ContactFacts {
        id: id(contact_id),
        party_id: ids.map(|(p, _)| id(p)),
        case_id: ids.map(|(_, k)| id(k)),
        channel,
        direction: Direction::Inbound,
        started_at: t(started),
        topic: topic.map(c),
        department: department.map(c),
        case_chosen_at_completion: false,
        recorded: false,
        context_seen: true,
        ambiguous: false,
        completion: None,
        feedback: None,
    }
}

fn end(outcome: Outcome, ended: &str, answered: Option<&str>, story: Option<&str>) -> Completion {
    Completion {
        ended_at: t(ended),
        answered_at: answered.map(t),
        outcome,
        story: story.map(str::to_owned),
        department: None,
        topic: None,
        referred_to: None,
        due_at: None,
        story_repeated: false,
    }
}

fn completed(mut contact: ContactFacts, end: Completion, signals: &[Signal]) -> Answer {
    contact.completion = Some(end);
    Answer::Contact(Box::new(ContactView {
        contact,
        signals: signals.iter().copied().collect(),
    }))
}

fn story(
    contact_id: &str,
    channel: Channel,
    started: &str,
    department: &str,
    outcome: Outcome,
    text: &str,
) -> StoryView {
    StoryView {
        contact_id: id(contact_id),
        channel,
        started_at: t(started),
        department: Some(c(department)),
        outcome,
        text: text.into(),
    }
}

fn no_party(status: PartyStatus, contact: ContactFacts) -> Answer {
    let as_of = contact.started_at;
    Answer::Started(Box::new(Started {
        contact: ContactView {
            contact,
            signals: Default::default(),
        },
        context: ContextView {
            party: PartyView::without(status),
            active_cases: vec![],
            active_case_count: 0,
            case: None,
            as_of,
        },
    }))
}

const ALL_OF_PARKING: [Signal; 6] = [
    Signal::ReferredAgain,
    Signal::ReferralLoop,
    Signal::StoryAlreadyTold,
    Signal::ChannelHop,
    Signal::CommitmentPending,
    Signal::CommitmentOverdue,
];
const S_RESOLVED: &str = "Paspoort kwijt; nieuwe aanvraag uitgelegd.";
const S_REFERRED: &str = "Vraagt naar een parkeervergunning voor de binnenstad.";
const S_HANDED_OFF: &str = "Formulier ingevuld; overgedragen aan vergunningen.";
const S_CALLBACK: &str = "Terugbellen over de wachtlijst.";

/// The answer kept under `key`.
fn answer(key: &str) -> Answer {
    let a = Some((PARTY_A, CASE_PARKING));
    match key {
        "complete-resolved" => completed(
            contact(
                C_RESOLVED,
                Some((PARTY_A, CASE_PASSPORT)),
                Channel::Phone,
                "2025-03-03T08:00:00Z",
                Some("paspoort"),
                Some("kcc"),
            ),
            end(
                Outcome::Resolved,
                "2025-03-03T08:05:00Z",
                Some("2025-03-03T08:00:15Z"),
                Some(S_RESOLVED),
            ),
            &[],
        ),
        "complete-referred-department" => completed(
            contact(
                C_REFERRED,
                a,
                Channel::Email,
                "2025-03-03T09:00:00Z",
                Some(PARKING),
                Some("kcc"),
            ),
            Completion {
                referred_to: Some(ReferralTarget::Department(c("vergunningen"))),
                ..end(
                    Outcome::Referred,
                    "2025-03-03T09:30:00Z",
                    Some("2025-03-03T09:30:00Z"),
                    Some(S_REFERRED),
                )
            },
            &[],
        ),
        "complete-handed-off" => completed(
            contact(
                C_HANDED_OFF,
                a,
                Channel::Web,
                "2025-03-03T10:00:00Z",
                Some(PARKING),
                None,
            ),
            Completion {
                department: Some(c("vergunningen")),
                due_at: Some(t("2025-03-10T12:00:00Z")),
                ..end(
                    Outcome::HandedOff,
                    "2025-03-03T10:05:00Z",
                    Some("2025-03-03T10:05:00Z"),
                    Some(S_HANDED_OFF),
                )
            },
            &[Signal::ReferredAgain, Signal::StoryAlreadyTold],
        ),
        "complete-callback" => completed(
            contact(
                C_CALLBACK,
                a,
                Channel::Counter,
                "2025-03-03T13:00:00Z",
                Some(PARKING),
                Some("balie"),
            ),
            Completion {
                due_at: Some(t("2025-03-04T08:00:00Z")),
                ..end(
                    Outcome::Callback,
                    "2025-03-03T13:10:00Z",
                    Some("2025-03-03T13:01:00Z"),
                    Some(S_CALLBACK),
                )
            },
            &[
                Signal::ReferredAgain,
                Signal::StoryAlreadyTold,
                Signal::ChannelHop,
                Signal::CommitmentPending,
            ],
        ),
        "complete-abandoned" => completed(
            contact(
                C_ABANDONED,
                a,
                Channel::Phone,
                "2025-03-04T08:00:00Z",
                Some(PARKING),
                None,
            ),
            end(Outcome::Abandoned, "2025-03-04T08:01:00Z", None, None),
            &[
                Signal::ReferredAgain,
                Signal::StoryAlreadyTold,
                Signal::ChannelHop,
                Signal::CommitmentPending,
            ],
        ),
        "complete-referred-organisation" => completed(
            contact(
                C_AGAIN,
                a,
                Channel::Phone,
                "2025-03-04T08:30:00Z",
                Some(PARKING),
                Some("kcc"),
            ),
            Completion {
                department: Some(c("vergunningen")),
                topic: Some(c(PARKING)),
                referred_to: Some(ReferralTarget::Organisation("RDW".into())),
                story_repeated: true,
                ..end(
                    Outcome::Referred,
                    "2025-03-04T08:40:00Z",
                    Some("2025-03-04T08:30:10Z"),
                    Some("Derde keer over de vergunning; kenteken loopt via de RDW."),
                )
            },
            &ALL_OF_PARKING,
        ),
        "complete-case-chosen-at-end" => completed(
            ContactFacts {
                case_chosen_at_completion: true,
                ..contact(
                    C_LATE_TOPIC,
                    Some((PARTY_A, CASE_PASSPORT)),
                    Channel::Phone,
                    "2025-03-04T09:00:00Z",
                    None,
                    None,
                )
            },
            Completion {
                topic: Some(c("paspoort")),
                ..end(
                    Outcome::Resolved,
                    "2025-03-04T09:05:00Z",
                    Some("2025-03-04T09:00:05Z"),
                    Some("Afspraak voor de aanvraag gemaakt."),
                )
            },
            &[Signal::StoryAlreadyTold, Signal::RepeatContact],
        ),
        "feedback-with-comment" => Answer::Feedback(Feedback {
            score: 2,
            effort: 4,
            story_repeated: true,
            comment: Some("Ik moest alles opnieuw vertellen.".into()),
        }),
        "start-known-party" => {
            let parking = CaseView {
                id: id(CASE_PARKING),
                topic: Some(c(PARKING)),
                reference: None,
                status: CaseStatus::Open,
                signals: ALL_OF_PARKING.into_iter().collect(),
                referral_count: 1,
                stories: vec![
                    story(
                        C_CALLBACK,
                        Channel::Counter,
                        "2025-03-03T13:00:00Z",
                        "balie",
                        Outcome::Callback,
                        S_CALLBACK,
                    ),
                    story(
                        C_HANDED_OFF,
                        Channel::Web,
                        "2025-03-03T10:00:00Z",
                        "vergunningen",
                        Outcome::HandedOff,
                        S_HANDED_OFF,
                    ),
                    story(
                        C_REFERRED,
                        Channel::Email,
                        "2025-03-03T09:00:00Z",
                        "kcc",
                        Outcome::Referred,
                        S_REFERRED,
                    ),
                ],
                story_count: 3,
                open_commitments: vec![
                    CommitmentView {
                        contact_id: id(C_CALLBACK),
                        kind: Outcome::Callback,
                        promised_at: t("2025-03-03T13:10:00Z"),
                        due_at: t("2025-03-04T08:00:00Z"),
                        overdue: true,
                    },
                    CommitmentView {
                        contact_id: id(C_HANDED_OFF),
                        kind: Outcome::HandedOff,
                        promised_at: t("2025-03-03T10:05:00Z"),
                        due_at: t("2025-03-10T12:00:00Z"),
                        overdue: false,
                    },
                ],
                open_commitment_count: 2,
            };
            let passport = CaseView {
                id: id(CASE_PASSPORT),
                topic: Some(c("paspoort")),
                reference: None,
                status: CaseStatus::Resolved {
                    at: t("2025-03-03T08:05:00Z"),
                },
                signals: [Signal::StoryAlreadyTold, Signal::RepeatContact]
                    .into_iter()
                    .collect(),
                referral_count: 0,
                stories: vec![story(
                    C_RESOLVED,
                    Channel::Phone,
                    "2025-03-03T08:00:00Z",
                    "kcc",
                    Outcome::Resolved,
                    S_RESOLVED,
                )],
                story_count: 1,
                open_commitments: vec![],
                open_commitment_count: 0,
            };
            Answer::Started(Box::new(Started {
                contact: ContactView {
                    contact: contact(
                        C_AGAIN,
                        a,
                        Channel::Phone,
                        "2025-03-04T08:30:00Z",
                        Some(PARKING),
                        Some("kcc"),
                    ),
                    signals: ALL_OF_PARKING.into_iter().collect(),
                },
                context: ContextView {
                    party: PartyView {
                        status: PartyStatus::Known,
                        id: Some(id(PARTY_A)),
                        bsn_masked: Some("******333".into()),
                        has_kvk: false,
                    },
                    // Before version 2 the chosen case was listed among the active
                    // cases too; a retry answers as it was answered.
                    active_cases: vec![parking.clone(), passport],
                    active_case_count: 2,
                    case: Some(parking),
                    as_of: t("2025-03-04T08:30:00Z"),
                },
            }))
        }
        "start-anonymous" => no_party(
            PartyStatus::Anonymous,
            contact(
                C_ANONYMOUS,
                None,
                Channel::Counter,
                "2025-03-04T09:30:00Z",
                None,
                None,
            ),
        ),
        "start-ambiguous" => no_party(
            PartyStatus::Ambiguous,
            ContactFacts {
                ambiguous: true,
                ..contact(
                    C_AMBIGUOUS,
                    None,
                    Channel::Phone,
                    "2025-03-04T09:45:00Z",
                    Some("afval"),
                    None,
                )
            },
        ),
        "record-outbound" => Answer::Started(Box::new(Started {
            contact: ContactView {
                contact: ContactFacts {
                    direction: Direction::Outbound,
                    recorded: true,
                    context_seen: false,
                    completion: Some(Completion {
                        department: Some(c("afval")),
                        referred_to: Some(ReferralTarget::Channel(Channel::Counter)),
                        ..end(
                            Outcome::Referred,
                            "2025-03-04T10:20:00Z",
                            Some("2025-03-04T10:00:30Z"),
                            Some("Teruggebeld; wil de container persoonlijk omruilen."),
                        )
                    }),
                    ..contact(
                        C_RECORDED,
                        Some((PARTY_KVK, CASE_KVK)),
                        Channel::Phone,
                        "2025-03-04T10:00:00Z",
                        Some("bedrijfsafval"),
                        Some("kcc"),
                    )
                },
                signals: Default::default(),
            },
            context: ContextView {
                party: PartyView {
                    status: PartyStatus::New,
                    id: Some(id(PARTY_KVK)),
                    bsn_masked: None,
                    has_kvk: true,
                },
                active_cases: vec![],
                active_case_count: 0,
                case: Some(CaseView {
                    id: id(CASE_KVK),
                    topic: Some(c("bedrijfsafval")),
                    reference: Some("Z-2025-0042".into()),
                    status: CaseStatus::Open,
                    signals: Default::default(),
                    referral_count: 0,
                    stories: vec![],
                    story_count: 0,
                    open_commitments: vec![],
                    open_commitment_count: 0,
                }),
                as_of: t("2025-03-04T10:00:00Z"),
            },
        })),
        other => panic!("no expected answer for {other}"),
    }
}

/// The figures of the golden member line (`benchmark-member-v1.json`).
fn member_summary() -> midoffice_store::benchmark_summary::Summary {
    use midoffice_domain::benchmark::{BenchmarkPeriod, Count, MetricRef, Registration};
    let count = |numerator, denominator, items| Count {
        numerator,
        denominator,
        items,
    };
    let metric = |id: &str| MetricRef {
        id: id.to_owned(),
        version: 1,
    };
    midoffice_store::benchmark_summary::Summary {
        participant: c("gemeente-golden"),
        group: c("g4-plus"),
        period: BenchmarkPeriod::Quarter {
            year: 2026,
            quarter: 1,
        },
        as_of: t("2026-04-09T00:00:00Z"),
        size: 81_000,
        named: true,
        registration: Registration {
            contacts: 12_000,
            anonymous: 3_000,
            without_outcome: 120,
        },
        counts: BTreeMap::from([
            (metric("cases-per-1000"), count(4_100, 81_000, 12_000)),
            (metric("phone-answered-20s"), count(5_300, 6_000, 6_000)),
            (metric("satisfaction"), count(820, 200, 200)),
        ]),
    }
}

/// A stored member line (`benchmark_member.line`, the canonical line of the summary
/// format's version 1) is kept for good: a composed group is never composed again. It
/// reads back as the participant it was written for, and the current build writes the
/// same line. A future summary version must keep a reader for version 1 lines, or the
/// compositions stored so far no longer read.
#[test]
fn a_stored_benchmark_member_line_of_version_1_reads_as_written() {
    use midoffice_store::benchmark_summary::{canonical, parse_canonical};
    let files = golden_files();
    let text = &files[&("benchmark-member".to_owned(), 1)];
    let line = text.strip_suffix('\n').unwrap_or(text);
    let expected = member_summary();
    let read = parse_canonical(line).unwrap();
    assert_eq!(read, expected);
    let p = read.participant();
    assert_eq!(p.id, c("gemeente-golden"));
    assert_eq!(p.size, 81_000);
    assert!(p.named);
    assert_eq!(p.registration, expected.registration);
    assert_eq!(p.counts, expected.counts);
    assert_eq!(canonical(&expected), line);
}
