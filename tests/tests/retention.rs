//! Retention (DOMAIN.md "Privacy", docs/operations/retention.md): contacts recorded
//! through the API with past times, a pass at a given `now`, and the tables read
//! directly: no row of a deleted contact remains anywhere (contact, case, feedback,
//! identifier, party, idempotency, figure_unit), recent ones are untouched, and an old
//! OPEN case that got a new contact is kept whole; GetThermometer and GetFigures of the
//! old and the recent year (default `as_of`) answer the same before and after.

use midoffice_domain::TenantId;
use midoffice_store::entity::{
    audit_record, case, contact, feedback, figure_unit, idempotency, identifier, party,
    processing_record,
};
use midoffice_store::{RetentionReport, Store};
use midoffice_tests::pb::{self, Channel, Outcome};
use midoffice_tests::{Backend, TENANT, bsn, database_test, date, on_backend, request, resolved};
use sea_orm::prelude::Uuid;
use sea_orm::{ColumnTrait, Database, DatabaseConnection, EntityTrait, QueryFilter};
use std::collections::BTreeSet;

/// The tenant keeps contacts 12 months; the pass runs on 1 September 2025, so the
/// horizon is 1 September 2024, 00:00 in Amsterdam.
const MONTHS: u32 = 12;
const NOW: &str = "2025-09-01T12:00:00Z";

fn ids(bsn_: &str, phone: &str, email: &str) -> pb::Identifiers {
    pb::Identifiers {
        bsn: bsn_.into(),
        phone: phone.into(),
        email: email.into(),
        ..Default::default()
    }
}

/// Records an inbound contact that ended `outcome` a few minutes after `started`.
async fn record(
    b: &Backend,
    key: &str,
    channel: Channel,
    started: &str,
    who: Option<pb::Identifiers>,
    topic: &str,
    outcome: Outcome,
) -> pb::Contact {
    let start_at = chrono::DateTime::parse_from_rfc3339(started).expect("an instant");
    let later = |m: i64| (start_at + chrono::TimeDelta::minutes(m)).to_rfc3339();
    let mut completion = resolved(&later(1), &later(6), "Verhaal van de burger.");
    completion.outcome = outcome as i32;
    b.record(
        TENANT,
        pb::RecordContactRequest {
            request_id: key.into(),
            start: Some(midoffice_tests::start(channel, started, who, topic)),
            completion: Some(completion),
            context_seen: true,
        },
    )
    .await
}

fn uuid(text: &str) -> Uuid {
    Uuid::parse_str(text).unwrap_or_else(|_| panic!("not a uuid: {text:?}"))
}

/// Every id of a table of the tenant, read directly.
struct Tables {
    contacts: BTreeSet<Uuid>,
    cases: BTreeSet<Uuid>,
    parties: BTreeSet<Uuid>,
    identifier_parties: BTreeSet<Uuid>,
    feedback: BTreeSet<Uuid>,
    idempotency_keys: BTreeSet<String>,
    idempotency_contacts: BTreeSet<Uuid>,
    idempotency_parties: BTreeSet<Uuid>,
    processing_records: usize,
    audit_records: usize,
    figure_units: BTreeSet<Uuid>,
}

/// The tenant's rows of a table, read directly.
async fn rows<E: EntityTrait>(db: &DatabaseConnection, tenant: E::Column) -> Vec<E::Model> {
    E::find()
        .filter(tenant.eq(TENANT))
        .all(db)
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", E::default().table_name()))
}

async fn tables(db: &DatabaseConnection) -> Tables {
    let contacts = rows::<contact::Entity>(db, contact::Column::Tenant).await;
    let cases = rows::<case::Entity>(db, case::Column::Tenant).await;
    let parties = rows::<party::Entity>(db, party::Column::Tenant).await;
    let identifiers = rows::<identifier::Entity>(db, identifier::Column::Tenant).await;
    let feedback = rows::<feedback::Entity>(db, feedback::Column::Tenant).await;
    let kept = rows::<idempotency::Entity>(db, idempotency::Column::Tenant).await;
    let processing = rows::<processing_record::Entity>(db, processing_record::Column::Tenant).await;
    let audit = rows::<audit_record::Entity>(db, audit_record::Column::Tenant).await;
    let units = rows::<figure_unit::Entity>(db, figure_unit::Column::Tenant).await;
    Tables {
        figure_units: units.iter().map(|r| r.unit_id).collect(),
        contacts: contacts.iter().map(|r| r.id).collect(),
        cases: cases.iter().map(|r| r.id).collect(),
        parties: parties.iter().map(|r| r.id).collect(),
        identifier_parties: identifiers.iter().map(|r| r.party_id).collect(),
        feedback: feedback.iter().map(|r| r.contact_id).collect(),
        idempotency_keys: kept.iter().map(|r| r.key.clone()).collect(),
        idempotency_contacts: kept.iter().filter_map(|r| r.contact_id).collect(),
        idempotency_parties: kept.iter().filter_map(|r| r.party_id).collect(),
        processing_records: processing.len(),
        audit_records: audit.len(),
    }
}

/// The thermometer and the figures (overall, of a topic, of a channel) of 2024 and of
/// 2025, as known now.
async fn figures(b: &Backend) -> (Vec<pb::GetThermometerResponse>, Vec<pb::GetFiguresResponse>) {
    let (mut thermometers, mut figures) = (Vec::new(), Vec::new());
    for year in [2024, 2025] {
        let period = pb::Period {
            start_date: Some(date(year, 1, 1)),
            end_date: Some(date(year + 1, 1, 1)),
            as_of: None,
        };
        thermometers.push(
            b.figures()
                .get_thermometer(request(
                    TENANT,
                    pb::GetThermometerRequest {
                        period: Some(period),
                    },
                ))
                .await
                .expect("GetThermometer")
                .into_inner(),
        );
        for (channel, topic) in [(0, ""), (0, "afval"), (Channel::Phone as i32, "")] {
            figures.push(
                b.figures()
                    .get_figures(request(
                        TENANT,
                        pb::GetFiguresRequest {
                            period: Some(period),
                            channel,
                            topic: topic.into(),
                            department: String::new(),
                        },
                    ))
                    .await
                    .expect("GetFigures")
                    .into_inner(),
            );
        }
    }
    (thermometers, figures)
}

async fn pass(b: &Backend, now: chrono::DateTime<chrono::Utc>) -> RetentionReport {
    pass_exporting(b, now, false).await
}

/// A pass; `exporting`: as a server that exports the processing log over OTLP runs it.
async fn pass_exporting(
    b: &Backend,
    now: chrono::DateTime<chrono::Utc>,
    exporting: bool,
) -> RetentionReport {
    let store = Store::connect(b.db_url()).await.expect("a second store");
    let tenants = store.tenants_with_data().await.expect("tenants");
    let tenant = TenantId::parse(TENANT).unwrap();
    assert!(tenants.contains(&tenant), "{tenants:?}");
    store
        .retention_pass(&tenant, now, exporting)
        .await
        .expect("a retention pass")
}

database_test!(old_contacts_go_with_everything_of_theirs_recent_ones_stay);
async fn old_contacts_go_with_everything_of_theirs_recent_ones_stay(
    database: midoffice_tests::TestDatabase,
) {
    on_backend(database, |b| async move {
        assert_eq!(b.settings(TENANT).await.retention_months, 24, "the default");
        b.change_settings(TENANT, |s| s.retention_months = MONTHS)
            .await;

        // Party A: an old OPEN case (a callback) that a contact joined in 2025, and an
        // old resolved case with feedback.
        let a = ids("999990019", "", "");
        let a_open = record(
            &b,
            "a-open",
            Channel::Counter,
            "2024-02-01T10:00:00+01:00",
            Some(a.clone()),
            "parkeervergunning",
            Outcome::Callback,
        )
        .await;
        let a_old1 = record(
            &b,
            "a-old-1",
            Channel::Phone,
            "2024-03-04T09:00:00+01:00",
            Some(a.clone()),
            "paspoort",
            Outcome::Resolved,
        )
        .await;
        let a_old2 = record(
            &b,
            "a-old-2",
            Channel::Email,
            "2024-03-05T09:00:00+01:00",
            Some(a.clone()),
            "paspoort",
            Outcome::Resolved,
        )
        .await;
        assert_eq!(
            a_old1.case_id, a_old2.case_id,
            "one case: resolved less than a week before"
        );
        b.contacts()
            .submit_feedback(request(
                TENANT,
                pb::SubmitFeedbackRequest {
                    request_id: "a-old-1-feedback".into(),
                    contact_id: a_old1.id.clone(),
                    score: 4,
                    effort: 2,
                    story_repeated: false,
                    comment: "Snel geholpen.".into(),
                },
            ))
            .await
            .expect("feedback");
        let a_new = record(
            &b,
            "a-new",
            Channel::Phone,
            "2025-06-02T09:00:00+02:00",
            Some(a.clone()),
            "parkeervergunning",
            Outcome::Resolved,
        )
        .await;
        assert_eq!(
            a_new.case_id, a_open.case_id,
            "the new contact joined the old open case"
        );

        // Party B: only old contacts.
        let b_old = record(
            &b,
            "b-old",
            Channel::Phone,
            "2024-04-10T11:00:00+02:00",
            Some(bsn("999990032")),
            "afval",
            Outcome::Resolved,
        )
        .await;

        // Party D: two parties known by a phone number and an e-mail address alone, each
        // with an open case about a passport, merged when a contact gave a BSN with both.
        let d1 = record(
            &b,
            "d-1",
            Channel::Phone,
            "2024-01-10T09:00:00+01:00",
            Some(ids("", "0612345678", "")),
            "paspoort",
            Outcome::Callback,
        )
        .await;
        let d2 = record(
            &b,
            "d-2",
            Channel::Email,
            "2024-01-11T09:00:00+01:00",
            Some(ids("", "", "d@example.nl")),
            "paspoort",
            Outcome::Callback,
        )
        .await;
        assert_ne!(d1.party_id, d2.party_id);
        let d3 = record(
            &b,
            "d-3",
            Channel::Counter,
            "2024-01-20T09:00:00+01:00",
            Some(ids("999990044", "0612345678", "d@example.nl")),
            "paspoort",
            Outcome::Resolved,
        )
        .await;
        assert_eq!(
            d3.party_id, d1.party_id,
            "the oldest weak party got the BSN"
        );

        // Anonymous contacts, old and recent; party C, recent.
        let n_old = record(
            &b,
            "n-old",
            Channel::Web,
            "2024-05-01T20:00:00+02:00",
            None,
            "afval",
            Outcome::Resolved,
        )
        .await;
        let n_new = record(
            &b,
            "n-new",
            Channel::Web,
            "2025-07-01T20:00:00+02:00",
            None,
            "afval",
            Outcome::Resolved,
        )
        .await;
        let c_new = record(
            &b,
            "c-new",
            Channel::Phone,
            "2025-08-01T10:00:00+02:00",
            Some(ids("", "+31 6 2222 3333", "")),
            "afval",
            Outcome::Resolved,
        )
        .await;

        let db = Database::connect(b.db_url()).await.expect("the database");
        let before = tables(&db).await;
        let merged_case: Vec<Uuid> = case::Entity::find()
            .filter(case::Column::Tenant.eq(TENANT))
            .filter(case::Column::MergedInto.eq(uuid(&d3.case_id)))
            .all(&db)
            .await
            .expect("cases")
            .into_iter()
            .map(|c| c.id)
            .collect();
        assert_eq!(merged_case.len(), 1, "d-2's open case joined d-1's");
        let merged_party = uuid(&d2.party_id);
        assert!(before.parties.contains(&merged_party));
        assert!(before.feedback.contains(&uuid(&a_old1.id)));

        let figures_before = figures(&b).await;
        let counted = |f: &(Vec<pb::GetThermometerResponse>, Vec<pb::GetFiguresResponse>)| {
            f.1.iter()
                .map(|r| r.figures.as_ref().map_or(0, |f| f.contacts))
                .collect::<Vec<_>>()
        };
        // 2024: 8 old contacts (a-open among them); of them afval 2, by phone 3.
        // 2025: a-new, n-new, c-new.
        assert_eq!(counted(&figures_before), [8, 2, 3, 3, 2, 2]);

        let report = pass(&b, NOW.parse().unwrap()).await;
        assert!(!report.waited_for_figures);
        assert_eq!(
            (report.cases, report.contacts, report.parties),
            (3, 7, 2),
            "A's passport case, B's case and D's case; a-old-1, a-old-2, b-old, d-1, d-2, \
             d-3 and n-old; B and D (and the party merged into D): {report:?}"
        );
        let after = tables(&db).await;

        let gone_contacts: BTreeSet<Uuid> = [&a_old1, &a_old2, &b_old, &d1, &d2, &d3, &n_old]
            .iter()
            .map(|c| uuid(&c.id))
            .collect();
        let gone_cases: BTreeSet<Uuid> = [&a_old1, &b_old, &d3]
            .iter()
            .map(|c| uuid(&c.case_id))
            .chain(merged_case.iter().copied())
            .collect();
        let gone_parties: BTreeSet<Uuid> =
            [uuid(&b_old.party_id), uuid(&d1.party_id), merged_party]
                .into_iter()
                .collect();
        for c in &gone_contacts {
            assert!(before.contacts.contains(c));
            assert!(!after.contacts.contains(c), "contact {c} remains");
            assert!(!after.feedback.contains(c), "feedback of {c} remains");
            assert!(
                !after.idempotency_contacts.contains(c),
                "a kept answer of {c} remains"
            );
        }
        for k in &gone_cases {
            assert!(before.cases.contains(k));
            assert!(!after.cases.contains(k), "case {k} remains");
            assert!(
                !after.figure_units.contains(k),
                "the tallies of case {k} remain"
            );
        }
        assert!(before.figure_units.contains(&uuid(&n_old.id)));
        assert!(!after.figure_units.contains(&uuid(&n_old.id)));
        // The figures already derived stay, also through a rebuild of the rollups (which
        // refreshes every unit it still has tallies of).
        assert_eq!(
            figures(&b).await,
            figures_before,
            "figures changed by the pass"
        );
        let store = Store::connect(b.db_url()).await.expect("a second store");
        store
            .rebuild_figures(&TenantId::parse(TENANT).unwrap())
            .await
            .expect("a rebuild");
        assert_eq!(
            figures(&b).await,
            figures_before,
            "figures changed by a rebuild"
        );
        for p in &gone_parties {
            assert!(before.parties.contains(p));
            assert!(!after.parties.contains(p), "party {p} remains");
            assert!(
                !after.identifier_parties.contains(p),
                "identifiers of {p} remain"
            );
            assert!(
                !after.idempotency_parties.contains(p),
                "kept answers of {p} remain"
            );
        }
        for key in [
            "a-old-1",
            "a-old-2",
            "a-old-1-feedback",
            "b-old",
            "d-1",
            "d-2",
            "d-3",
            "n-old",
        ] {
            assert!(before.idempotency_keys.contains(key));
            assert!(
                !after.idempotency_keys.contains(key),
                "the key {key} remains"
            );
        }

        // What is recent stays, and so does the old contact of the case it joined.
        let kept: BTreeSet<Uuid> = [&a_open, &a_new, &n_new, &c_new]
            .iter()
            .map(|c| uuid(&c.id))
            .collect();
        assert_eq!(after.contacts, kept);
        assert_eq!(
            after.cases,
            [uuid(&a_open.case_id), uuid(&c_new.case_id)]
                .into_iter()
                .collect()
        );
        assert_eq!(
            after.parties,
            [uuid(&a_open.party_id), uuid(&c_new.party_id)]
                .into_iter()
                .collect()
        );
        assert_eq!(after.identifier_parties, after.parties);
        for key in ["a-open", "a-new", "n-new", "c-new"] {
            assert!(after.idempotency_keys.contains(key), "the key {key} went");
        }
        let kept_contact = b.contact(TENANT, &a_open.id).await;
        assert_eq!(kept_contact.case_id, a_open.case_id);
        // The processing log of this year stays (it was written now).
        assert_eq!(after.processing_records, before.processing_records);
        assert_eq!(after.audit_records, before.audit_records);
        // A retry of a deleted contact's record runs again as new: the key is gone.
        // A second pass at the same instant finds nothing more.
        let again = pass(&b, NOW.parse().unwrap()).await;
        assert_eq!((again.cases, again.contacts, again.parties), (0, 0, 0));
        assert_eq!(tables(&db).await.contacts, kept);

        // Years later everything goes: the recent contacts, their parties, every kept
        // answer and the processing log, all older than the horizon by then; with the
        // export on, a processing record only once the collector has it, and an audit
        // record only with its processing record.
        let later = chrono::Utc::now() + chrono::TimeDelta::days(400);
        let held = tables(&db).await;
        assert!(held.processing_records > 0, "the calls above were logged");
        let report = pass_exporting(&b, later, true).await;
        assert_eq!(
            (report.cases, report.contacts, report.parties),
            (2, 4, 2),
            "{report:?}"
        );
        assert_eq!(
            (report.processing_records, report.audit_records),
            (0, 0),
            "nothing was exported: {report:?}"
        );
        let unexported = tables(&db).await;
        assert_eq!(
            (unexported.processing_records, unexported.audit_records),
            (held.processing_records, held.audit_records)
        );
        let store = Store::connect(b.db_url()).await.expect("a second store");
        let records = store.unexported_records(10_000).await.expect("the outbox");
        assert_eq!(records.len(), held.processing_records);
        store.mark_exported(&records).await.expect("acknowledged");
        let report = pass_exporting(&b, later, true).await;
        assert_eq!(
            (report.processing_records, report.audit_records),
            (held.processing_records as u64, held.audit_records as u64),
            "{report:?}"
        );
        let empty = tables(&db).await;
        assert!(empty.contacts.is_empty() && empty.cases.is_empty() && empty.parties.is_empty());
        assert!(empty.identifier_parties.is_empty() && empty.feedback.is_empty());
        assert!(
            empty.idempotency_keys.is_empty(),
            "{:?}",
            empty.idempotency_keys
        );
        assert_eq!((empty.processing_records, empty.audit_records), (0, 0));
        assert!(empty.figure_units.is_empty());
        assert_eq!(
            figures(&b).await,
            figures_before,
            "figures changed by the pass"
        );
        db.close().await.ok();
    })
    .await;
}

database_test!(a_retry_whose_answer_showed_a_deleted_contact_is_refused);
async fn a_retry_whose_answer_showed_a_deleted_contact_is_refused(
    database: midoffice_tests::TestDatabase,
) {
    on_backend(database, |b| async move {
        b.change_settings(TENANT, |s| s.retention_months = MONTHS)
            .await;
        let a = bsn("999990019");
        // An old case still open (a callback never made), then a recent contact about
        // something else: its context shows the old case and its story.
        let old = record(
            &b,
            "old",
            Channel::Phone,
            "2024-02-01T10:00:00+01:00",
            Some(a.clone()),
            "parkeervergunning",
            Outcome::Callback,
        )
        .await;
        let recent = pb::RecordContactRequest {
            request_id: "recent".into(),
            start: Some(midoffice_tests::start(
                Channel::Phone,
                "2025-08-01T10:00:00+02:00",
                Some(a.clone()),
                "afval",
            )),
            completion: Some(resolved(
                "2025-08-01T10:00:10+02:00",
                "2025-08-01T10:05:00+02:00",
                "Container niet geleegd.",
            )),
            context_seen: true,
        };
        let first = b
            .contacts()
            .record_contact(request(TENANT, recent.clone()))
            .await
            .expect("the recent record")
            .into_inner();
        let shown = first.context.as_ref().expect("a context");
        assert!(
            shown.active_cases.iter().any(|c| c.id == old.case_id),
            "the old open case is shown: {shown:?}"
        );
        let report = pass(&b, NOW.parse().unwrap()).await;
        assert_eq!((report.cases, report.contacts, report.parties), (1, 1, 0));
        let retried = b
            .contacts()
            .record_contact(request(TENANT, recent))
            .await
            .expect_err("the kept answer showed a deleted contact");
        assert_eq!(
            retried.code(),
            tonic::Code::FailedPrecondition,
            "{retried:?}"
        );
        use tonic_types::StatusExt;
        let info = retried.get_details_error_info().expect("ErrorInfo");
        assert_eq!(info.reason, "ANSWER_EXPIRED");
        // Nothing was run again: one contact of the party's is left.
        let db = Database::connect(b.db_url()).await.expect("the database");
        let left = tables(&db).await;
        assert_eq!(left.contacts.len(), 1);
        db.close().await.ok();
    })
    .await;
}

/// How fast a pass deletes, and how long one batch holds the tenant's writes: 1,000
/// citizens known by a phone number, 4 old contacts each on 2 cases, every tenth with a
/// recent contact on one of them. Prints the figures; run with
/// `cargo test -p midoffice-tests --release --test retention -- --ignored --nocapture`.
async fn pass_speed(database: midoffice_tests::TestDatabase) {
    on_backend(database, |b| async move {
        b.change_settings(TENANT, |s| s.retention_months = MONTHS)
            .await;
        const CITIZENS: usize = 1000;
        let began = std::time::Instant::now();
        let mut tasks = Vec::new();
        for worker in 0..8 {
            let b = b.clone();
            tasks.push(tokio::spawn(async move {
                for i in (worker..CITIZENS).step_by(8) {
                    let who = ids("", &format!("06{:08}", 10_000_000 + i), "");
                    let day = 1 + (i % 28);
                    for (n, (month, topic)) in
                        [(1, "paspoort"), (2, "afval"), (3, "paspoort"), (4, "afval")]
                            .into_iter()
                            .enumerate()
                    {
                        let started = format!("2024-{month:02}-{day:02}T10:00:00+01:00");
                        let outcome = if n < 2 {
                            Outcome::Callback
                        } else {
                            Outcome::Resolved
                        };
                        record(
                            &b,
                            &format!("s-{i}-{n}"),
                            Channel::Phone,
                            &started,
                            Some(who.clone()),
                            topic,
                            outcome,
                        )
                        .await;
                    }
                    if i % 10 == 0 {
                        record(
                            &b,
                            &format!("s-{i}-new"),
                            Channel::Phone,
                            "2025-08-01T10:00:00+02:00",
                            Some(who.clone()),
                            "afval",
                            Outcome::Resolved,
                        )
                        .await;
                    }
                }
            }));
        }
        for t in tasks {
            t.await.expect("a recording worker");
        }
        let recorded = began.elapsed();
        let began = std::time::Instant::now();
        let report = pass(&b, NOW.parse().unwrap()).await;
        let took = began.elapsed();
        println!(
            "{:?}: recorded {} contacts in {:.1} s; pass: {} contacts, {} cases, {} parties \
             deleted in {:.2} s = {:.0} contacts/s, {} batches, longest batch {} ms",
            b.kind,
            CITIZENS * 4 + CITIZENS / 10,
            recorded.as_secs_f64(),
            report.contacts,
            report.cases,
            report.parties,
            took.as_secs_f64(),
            report.contacts as f64 / took.as_secs_f64(),
            report.batches,
            report.longest_batch.as_millis()
        );
        // Every old case goes (resolved in 2024; the recent contact made a new case),
        // and every party but the tenth citizens', which keep their recent case.
        assert_eq!(report.parties as usize, CITIZENS - CITIZENS / 10);
    })
    .await;
}

#[tokio::test]
#[ignore = "a measurement: run with --ignored --nocapture"]
async fn pass_speed_sqlite() {
    pass_speed(midoffice_tests::TestDatabase::Sqlite).await;
}

#[tokio::test]
#[ignore = "a measurement: run with --ignored --nocapture (needs MIDOFFICE_TEST_DATABASE_URL)"]
async fn pass_speed_postgres() {
    pass_speed(midoffice_tests::TestDatabase::postgres()).await;
}
