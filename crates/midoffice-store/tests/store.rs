//! The store against real databases: each test on SQLite and on PostgreSQL
//! (`database_test!`, see `common`).

mod common;

use common::*;
use midoffice_domain::contact::{Feedback, Outcome, ReferralTarget};
use midoffice_domain::figures::LoadWindow;
use midoffice_domain::settings::TenantSettings;
use midoffice_domain::view::PartyStatus;
use midoffice_domain::{DomainError, TenantId};
use midoffice_store::entity::{
    case, contact, feedback, idempotency, identifier, party, tenant_settings,
};
use midoffice_store::{ERASED_TEXT, Idempotency, Store, StoreError};
use sea_orm::EntityTrait;
use sea_orm_migration::MigratorTrait;

fn idem(key: &str, fingerprint: &str) -> Option<Idempotency> {
    Some(Idempotency {
        key: key.into(),
        fingerprint: fingerprint.into(),
    })
}

fn invalid_fields(e: StoreError) -> Vec<String> {
    match e {
        StoreError::Domain(DomainError::Invalid(v)) => v.0.into_iter().map(|f| f.field).collect(),
        other => panic!("expected INVALID_ARGUMENT, got {other:?}"),
    }
}

database_test!(migrations_run_and_run_again);
async fn migrations_run_and_run_again(backend: Backend) {
    on_backend!(backend, |db, store| {
        // A second connect runs the migrator again: nothing left to do, no error.
        let again = db.store().await;
        drop(again);
        let raw = db.raw().await;
        for table in [
            "tenant_settings",
            "party",
            "identifier",
            "\"case\"",
            "contact",
            "feedback",
            "idempotency",
        ] {
            assert_eq!(
                count(&raw, &format!("SELECT COUNT(*) FROM {table}")).await,
                0,
                "{table}"
            );
        }
        assert_eq!(
            count(&raw, "SELECT COUNT(*) FROM seaql_migrations").await,
            midoffice_store::migration::Migrator::migrations().len() as i64
        );
        // The partial unique index: a strong identifier cannot belong to two parties,
        // a weak one can.
        let t = tenant();
        let s1 = store
            .start_contact(&t, &caller(), start(vec![bsn(BSN_A)], None, 0), None)
            .await
            .unwrap();
        let s2 = store
            .start_contact(&t, &caller(), start(vec![bsn(BSN_B)], None, 1), None)
            .await
            .unwrap();
        let p2 = s2.context.party.id.unwrap();
        let backend = raw.get_database_backend();
        let dup = sea_orm::Statement::from_sql_and_values(
            backend,
            match backend {
                sea_orm::DbBackend::Postgres => {
                    "INSERT INTO identifier (tenant, kind, hash, party_id) VALUES ($1, $2, $3, $4)"
                }
                _ => "INSERT INTO identifier (tenant, kind, hash, party_id) VALUES (?, ?, ?, ?)",
            },
            [
                t.as_str().into(),
                "bsn".into(),
                bsn(BSN_A).hash.into(),
                p2.into(),
            ],
        );
        use sea_orm::ConnectionTrait;
        assert!(raw.execute_raw(dup).await.is_err(), "a BSN owned twice");
        let _ = s1;
    });
}

database_test!(processes_that_migrate_together_migrate_once);
/// Four processes' migrations at once on a new database (replicas starting together,
/// each with its `migrate` step): each succeeds, and each migration is applied by
/// exactly one of them.
async fn processes_that_migrate_together_migrate_once(backend: Backend) {
    let db = database(backend).await;
    let runs: Vec<_> = (0..4)
        .map(|_| {
            let url = db.url.clone();
            tokio::spawn(async move { midoffice_store::migrate_url(&url).await })
        })
        .collect();
    let mut applied = Vec::new();
    for run in runs {
        let names = run
            .await
            .unwrap()
            .unwrap_or_else(|f| panic!("a migration run failed: {:?}", f.error));
        applied.extend(names);
    }
    applied.sort();
    let known: Vec<String> = midoffice_store::migration::Migrator::migrations()
        .iter()
        .map(|m| m.name().to_owned())
        .collect();
    assert_eq!(applied, known, "each migration applied once");
    let store = db.store().await;
    drop(store);
}

#[tokio::test]
async fn an_in_memory_database_works_for_quick_runs() {
    let store = Store::connect("sqlite::memory:").await.unwrap();
    let t = tenant();
    let s = store
        .start_contact(
            &t,
            &caller(),
            start(vec![bsn(BSN_A)], Some("paspoort"), 0),
            None,
        )
        .await
        .unwrap();
    let read = store
        .get_contact(&t, &caller(), s.contact.contact.id, None)
        .await
        .unwrap();
    assert_eq!(read, s.contact);
}

database_test!(settings_default_then_replaced);
async fn settings_default_then_replaced(backend: Backend) {
    on_backend!(backend, |db, store| {
        let t = tenant();
        assert_eq!(store.settings(&t).await.unwrap(), TenantSettings::default());
        // Settings are validated once, where they are converted from the request
        // (`midoffice-api`); the store keeps what it is given.
        let mut good = TenantSettings {
            repeat_window_secs: 3 * 24 * 3600,
            ..TenantSettings::default()
        };
        good.norms.truncate(2);
        assert_eq!(
            store.replace_settings(&t, good.clone()).await.unwrap(),
            good
        );
        assert_eq!(store.settings(&t).await.unwrap(), good);
        good.channel_hop_window_secs = 3600;
        store.replace_settings(&t, good.clone()).await.unwrap();
        assert_eq!(store.settings(&t).await.unwrap(), good);
        // Another tenant still has the defaults.
        let other = midoffice_domain::TenantId::parse("andere-gemeente").unwrap();
        assert_eq!(
            store.settings(&other).await.unwrap(),
            TenantSettings::default()
        );
        let _ = &db;
    });
}

database_test!(a_bsn_makes_a_party_and_a_case_and_finds_them_again);
async fn a_bsn_makes_a_party_and_a_case_and_finds_them_again(backend: Backend) {
    on_backend!(backend, |db, store| {
        let t = tenant();
        let first = store
            .start_contact(
                &t,
                &caller(),
                start(vec![bsn(BSN_A)], Some("paspoort"), 0),
                None,
            )
            .await
            .unwrap();
        assert_eq!(first.context.party.status, PartyStatus::New);
        assert_eq!(first.context.party.bsn_masked.as_deref(), Some("******333"));
        let party_id = first.context.party.id.expect("a party");
        let case_id = first.contact.contact.case_id.expect("a case");
        assert_eq!(first.context.case.as_ref().map(|c| c.id), Some(case_id));
        assert_eq!(first.contact.contact.party_id, Some(party_id));

        store
            .complete_contact(
                &t,
                &caller(),
                first.contact.contact.id,
                Ok(end(Outcome::Referred, 0, 5, Some("wil een nieuw paspoort")).with_target()),
                None,
                now(),
            )
            .await
            .unwrap();

        let second = store
            .start_contact(
                &t,
                &caller(),
                start(vec![bsn(BSN_A)], Some("paspoort"), 60),
                None,
            )
            .await
            .unwrap();
        assert_eq!(second.context.party.status, PartyStatus::Known);
        assert_eq!(second.context.party.id, Some(party_id));
        assert_eq!(second.contact.contact.case_id, Some(case_id));
        let case = second.context.case.as_ref().expect("the case");
        assert_eq!(case.referral_count, 1);
        assert_eq!(case.stories.len(), 1);
        assert!(
            second.context.active_cases.is_empty(),
            "the chosen case is sent once, as `case`"
        );
        assert_eq!(second.context.active_case_count, 1);

        // A look-up finds the same party and stores nothing.
        let raw = db.raw().await;
        let contacts_before = count(&raw, "SELECT COUNT(*) FROM contact").await;
        let seen = store
            .lookup_context(&t, &caller(), vec![bsn(BSN_A)], at(120))
            .await
            .unwrap();
        assert_eq!(seen.party.status, PartyStatus::Known);
        assert_eq!(seen.party.id, Some(party_id));
        assert_eq!(seen.active_cases.len(), 1);
        assert_eq!(
            count(&raw, "SELECT COUNT(*) FROM contact").await,
            contacts_before
        );
        let unknown = store
            .lookup_context(&t, &caller(), vec![bsn(BSN_B)], at(120))
            .await
            .unwrap();
        assert_eq!(unknown.party.status, PartyStatus::NotFound);
        assert_eq!(count(&raw, "SELECT COUNT(*) FROM party").await, 1);
        // No identifiers (the API refuses them first) find nothing, and break nothing.
        let nothing = store
            .lookup_context(&t, &caller(), vec![], at(120))
            .await
            .unwrap();
        assert_eq!(nothing.party.status, PartyStatus::NotFound);
        assert!(nothing.active_cases.is_empty());

        // Another tenant never sees this party.
        let other = midoffice_domain::TenantId::parse("andere-gemeente").unwrap();
        let elsewhere = store
            .lookup_context(&other, &caller(), vec![bsn(BSN_A)], at(120))
            .await
            .unwrap();
        assert_eq!(elsewhere.party.status, PartyStatus::NotFound);
        assert!(matches!(
            store
                .get_contact(&other, &caller(), first.contact.contact.id, None)
                .await,
            Err(StoreError::Domain(DomainError::NotFound(_)))
        ));
    });
}

trait WithTarget {
    fn with_target(self) -> Self;
}

impl WithTarget for midoffice_domain::command::CompletionCommand {
    fn with_target(mut self) -> Self {
        self.referred_to = Some(ReferralTarget::Organisation("Belastingdienst".into()));
        self
    }
}

database_test!(weak_parties_merge_when_a_bsn_joins_them);
async fn weak_parties_merge_when_a_bsn_joins_them(backend: Backend) {
    on_backend!(backend, |db, store| {
        let t = tenant();
        let by_mail = store
            .start_contact(
                &t,
                &caller(),
                start(vec![email(EMAIL)], Some("afval"), 0),
                None,
            )
            .await
            .unwrap();
        let by_phone = store
            .start_contact(
                &t,
                &caller(),
                start(vec![phone(PHONE)], Some("afval"), 10),
                None,
            )
            .await
            .unwrap();
        let p1 = by_mail.context.party.id.unwrap();
        let p2 = by_phone.context.party.id.unwrap();
        assert_ne!(p1, p2);
        let c1 = by_mail.contact.contact.case_id.unwrap();
        let c2 = by_phone.contact.contact.case_id.unwrap();
        assert_ne!(c1, c2);

        // A look-up with both counts the cases of both, joined, and changes nothing.
        let seen = store
            .lookup_context(&t, &caller(), vec![email(EMAIL), phone(PHONE)], at(15))
            .await
            .unwrap();
        assert_eq!(seen.party.id, Some(p1));
        assert_eq!(seen.active_cases.len(), 1, "open cases of one topic join");
        let raw = db.raw().await;
        assert_eq!(
            count(
                &raw,
                "SELECT COUNT(*) FROM party WHERE merged_into IS NOT NULL"
            )
            .await,
            0
        );

        let joined = store
            .start_contact(
                &t,
                &caller(),
                start(
                    vec![bsn(BSN_A), email(EMAIL), phone(PHONE)],
                    Some("afval"),
                    20,
                ),
                None,
            )
            .await
            .unwrap();
        assert_eq!(joined.context.party.status, PartyStatus::Known);
        assert_eq!(
            joined.context.party.id,
            Some(p1),
            "the oldest party survives"
        );
        assert_eq!(
            joined.context.party.bsn_masked.as_deref(),
            Some("******333")
        );
        assert_eq!(joined.contact.contact.case_id, Some(c1));
        let case = joined.context.case.as_ref().unwrap();
        assert_eq!(case.id, c1);

        // The merged party's contact now belongs to the survivor and its case.
        let moved = store
            .get_contact(&t, &caller(), by_phone.contact.contact.id, None)
            .await
            .unwrap();
        assert_eq!(moved.contact.party_id, Some(p1));
        assert_eq!(moved.contact.case_id, Some(c1));

        // The phone alone now finds the survivor.
        let by_phone_again = store
            .lookup_context(&t, &caller(), vec![phone(PHONE)], at(30))
            .await
            .unwrap();
        assert_eq!(by_phone_again.party.id, Some(p1));

        // An old case id resolves to the case it joined.
        let mut via_old_case = start(vec![], None, 40);
        via_old_case.case_id = Some(c2);
        via_old_case.direction = midoffice_domain::contact::Direction::Outbound;
        let callback = store
            .start_contact(&t, &caller(), via_old_case, None)
            .await
            .unwrap();
        assert_eq!(callback.contact.contact.case_id, Some(c1));
        assert_eq!(callback.context.party.id, Some(p1));

        let p2_row = party::Entity::find_by_id(p2)
            .one(&raw)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(p2_row.merged_into, Some(p1));
        let c2_row = case::Entity::find_by_id(c2)
            .one(&raw)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(c2_row.merged_into, Some(c1));
        assert_eq!(count(&raw, "SELECT COUNT(*) FROM identifier").await, 3);
    });
}

database_test!(a_merge_judges_open_cases_as_known_at_its_instant_and_a_look_up_predicts_it);
async fn a_merge_judges_open_cases_as_known_at_its_instant_and_a_look_up_predicts_it(
    backend: Backend,
) {
    on_backend!(backend, |db, store| {
        let t = tenant();
        // By e-mail: a case resolved at minute 10. By phone: an open case of the same topic.
        let by_mail = store
            .start_contact(
                &t,
                &caller(),
                start(vec![email(EMAIL)], Some("afval"), 0),
                None,
            )
            .await
            .unwrap();
        store
            .complete_contact(
                &t,
                &caller(),
                by_mail.contact.contact.id,
                Ok(end(Outcome::Resolved, 0, 10, None)),
                None,
                now(),
            )
            .await
            .unwrap();
        let by_phone = store
            .start_contact(
                &t,
                &caller(),
                start(vec![phone(PHONE)], Some("afval"), 5),
                None,
            )
            .await
            .unwrap();
        let mail_case = by_mail.contact.contact.case_id.unwrap();
        let phone_case = by_phone.contact.contact.case_id.unwrap();

        // As of minute 30 the e-mail is known to have resolved its case: the look-up
        // predicts that the phone's case stays apart; both show.
        let ids = vec![email(EMAIL), phone(PHONE)];
        let mut both = vec![mail_case, phone_case];
        both.sort();
        let seen = store
            .lookup_context(&t, &caller(), ids.clone(), at(30))
            .await
            .unwrap();
        let mut shown: Vec<_> = seen.active_cases.iter().map(|k| k.id).collect();
        shown.sort();
        assert_eq!(shown, both);
        // As of minute 7 the e-mail was in progress, so its case was OPEN: the phone's
        // case would join it and counts once.
        let seen = store
            .lookup_context(&t, &caller(), ids.clone(), at(7))
            .await
            .unwrap();
        let shown: Vec<_> = seen.active_cases.iter().map(|k| k.id).collect();
        assert_eq!(shown, vec![mail_case]);

        // A contact back-dated to minute 7 merges as the look-up said, whatever the wall
        // clock: judged as known at its start.
        let joined = store
            .start_contact(&t, &caller(), start(ids.clone(), None, 7), None)
            .await
            .unwrap();
        assert_eq!(joined.context.party.id, by_mail.context.party.id);
        let raw = db.raw().await;
        assert_eq!(
            count(
                &raw,
                "SELECT COUNT(*) FROM \"case\" WHERE merged_into IS NOT NULL"
            )
            .await,
            1
        );
        let stored: Vec<_> = joined.context.active_cases.iter().map(|k| k.id).collect();
        assert_eq!(stored, vec![mail_case]);
    });
}

database_test!(a_merge_does_not_depend_on_the_wall_clock);
async fn a_merge_does_not_depend_on_the_wall_clock(backend: Backend) {
    on_backend!(backend, |db, store| {
        let t = tenant();
        // Resolved at an end a few minutes ahead of the server clock (within the
        // tolerance): judged by the wall clock it would still be open, and join.
        let ahead = (now() - at(0)).num_minutes() + 3;
        let by_mail = store
            .start_contact(
                &t,
                &caller(),
                start(vec![email(EMAIL)], Some("afval"), 0),
                None,
            )
            .await
            .unwrap();
        store
            .complete_contact(
                &t,
                &caller(),
                by_mail.contact.contact.id,
                Ok(end(Outcome::Resolved, 0, ahead, None)),
                None,
                now(),
            )
            .await
            .unwrap();
        store
            .start_contact(
                &t,
                &caller(),
                start(vec![phone(PHONE)], Some("afval"), 5),
                None,
            )
            .await
            .unwrap();
        // A contact that merges, started just after that end (also ahead of the clock):
        // judged as known at its start, the case is resolved and does not join.
        let ids = vec![email(EMAIL), phone(PHONE)];
        let seen = store
            .lookup_context(&t, &caller(), ids.clone(), at(ahead + 1))
            .await
            .unwrap();
        assert_eq!(
            seen.active_cases.len(),
            2,
            "the resolved case does not join"
        );
        let joined = store
            .start_contact(&t, &caller(), start(ids, None, ahead + 1), None)
            .await
            .unwrap();
        assert_eq!(joined.context.active_cases.len(), 2);
        let raw = db.raw().await;
        assert_eq!(
            count(
                &raw,
                "SELECT COUNT(*) FROM \"case\" WHERE merged_into IS NOT NULL"
            )
            .await,
            0
        );
    });
}

database_test!(a_look_up_joins_open_cases_exactly_as_the_contact_then_does);
async fn a_look_up_joins_open_cases_exactly_as_the_contact_then_does(backend: Backend) {
    on_backend!(backend, |db, store| {
        let t = tenant();
        let by_mail = store
            .start_contact(
                &t,
                &caller(),
                start(vec![email(EMAIL)], Some("afval"), 0),
                None,
            )
            .await
            .unwrap();
        let by_phone = store
            .start_contact(
                &t,
                &caller(),
                start(vec![phone(PHONE)], Some("afval"), 5),
                None,
            )
            .await
            .unwrap();
        // The phone case ends REFERRED at minute 20 (still open); a look-up as of
        // minute 6 already joins it, as the contact will.
        store
            .complete_contact(
                &t,
                &caller(),
                by_phone.contact.contact.id,
                Ok(end(Outcome::Referred, 5, 20, Some("verhaal")).with_target()),
                None,
                now(),
            )
            .await
            .unwrap();
        let ids = vec![email(EMAIL), phone(PHONE)];
        let seen = store
            .lookup_context(&t, &caller(), ids.clone(), at(6))
            .await
            .unwrap();
        let mail_case = by_mail.contact.contact.case_id.unwrap();
        let shown: Vec<_> = seen.active_cases.iter().map(|k| k.id).collect();
        assert_eq!(shown, [mail_case]);
        let joined = store
            .start_contact(&t, &caller(), start(ids, None, 6), None)
            .await
            .unwrap();
        let stored: Vec<_> = joined.context.active_cases.iter().map(|k| k.id).collect();
        assert_eq!(stored, shown);
        let moved = store
            .get_contact(&t, &caller(), by_phone.contact.contact.id, None)
            .await
            .unwrap();
        assert_eq!(moved.contact.case_id, Some(mail_case));
        let _ = &db;
    });
}

database_test!(a_case_of_another_party_is_not_found_and_nothing_is_stored);
async fn a_case_of_another_party_is_not_found_and_nothing_is_stored(backend: Backend) {
    on_backend!(backend, |db, store| {
        let t = tenant();
        let a = store
            .start_contact(
                &t,
                &caller(),
                start(vec![bsn(BSN_A)], Some("paspoort"), 0),
                None,
            )
            .await
            .unwrap();
        let raw = db.raw().await;
        let before = count(&raw, "SELECT COUNT(*) FROM party").await;
        let mut s = start(vec![bsn(BSN_B)], None, 5);
        s.case_id = a.contact.contact.case_id;
        let e = store
            .start_contact(&t, &caller(), s, None)
            .await
            .unwrap_err();
        match e {
            StoreError::Domain(DomainError::NotFound(m)) => {
                assert_eq!(m, midoffice_domain::Missing::Case)
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            count(&raw, "SELECT COUNT(*) FROM party").await,
            before,
            "rolled back"
        );
        let mut s = start(vec![], None, 5);
        s.case_id = Some(uuid::Uuid::now_v7());
        assert!(matches!(
            store.start_contact(&t, &caller(), s, None).await,
            Err(StoreError::Domain(DomainError::NotFound(_)))
        ));
    });
}

database_test!(a_shared_email_is_ambiguous_and_stored_as_anonymous);
async fn a_shared_email_is_ambiguous_and_stored_as_anonymous(backend: Backend) {
    on_backend!(backend, |db, store| {
        let t = tenant();
        store
            .start_contact(
                &t,
                &caller(),
                start(vec![bsn(BSN_A), email(EMAIL)], None, 0),
                None,
            )
            .await
            .unwrap();
        store
            .start_contact(
                &t,
                &caller(),
                start(vec![bsn(BSN_B), email(EMAIL)], None, 1),
                None,
            )
            .await
            .unwrap();
        let s = store
            .start_contact(
                &t,
                &caller(),
                start(vec![email(EMAIL)], Some("afval"), 2),
                None,
            )
            .await
            .unwrap();
        assert_eq!(s.context.party.status, PartyStatus::Ambiguous);
        assert_eq!(s.context.party.id, None);
        assert!(s.contact.contact.ambiguous);
        assert_eq!(s.contact.contact.party_id, None);
        assert_eq!(s.contact.contact.case_id, None);
        let anonymous = store
            .start_contact(&t, &caller(), start(vec![], Some("afval"), 3), None)
            .await
            .unwrap();
        assert_eq!(anonymous.context.party.status, PartyStatus::Anonymous);
        assert!(!anonymous.contact.contact.ambiguous);
        let e = store
            .erase_party(&t, &caller(), vec![email(EMAIL)])
            .await
            .unwrap_err();
        assert!(
            matches!(e, StoreError::Domain(DomainError::FailedPrecondition(_))),
            "{e:?}"
        );
        let raw = db.raw().await;
        assert_eq!(count(&raw, "SELECT COUNT(*) FROM party").await, 2);
    });
}

/// Ten channels start a contact for one citizen at the same moment.
async fn ten_at_once(store: &Store) -> Vec<midoffice_store::Started> {
    let t = tenant();
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let store: Store = store.clone();
        let t = t.clone();
        tasks.push(tokio::spawn(async move {
            let s = start(vec![bsn(BSN_A), phone(PHONE)], Some("parkeervergunning"), 0);
            store.start_contact(&t, &caller(), s, None).await
        }));
    }
    let mut out = Vec::new();
    for task in tasks {
        out.push(
            task.await
                .expect("the task ran")
                .expect("the start succeeded"),
        );
    }
    out
}

database_test!(concurrent_starts_for_one_bsn_make_one_party);
async fn concurrent_starts_for_one_bsn_make_one_party(backend: Backend) {
    on_backend!(backend, |db, store| {
        let started = ten_at_once(&store).await;
        let parties: std::collections::BTreeSet<_> = started
            .iter()
            .map(|s| s.context.party.id.unwrap())
            .collect();
        assert_eq!(parties.len(), 1);
        assert_eq!(
            started
                .iter()
                .filter(|s| s.context.party.status == PartyStatus::New)
                .count(),
            1
        );
        let raw = db.raw().await;
        assert_eq!(count(&raw, "SELECT COUNT(*) FROM party").await, 1);
        assert_eq!(count(&raw, "SELECT COUNT(*) FROM contact").await, 10);
        assert_eq!(count(&raw, "SELECT COUNT(*) FROM identifier").await, 2);
    });
}

database_test!(concurrent_starts_for_one_matter_make_one_open_case);
async fn concurrent_starts_for_one_matter_make_one_open_case(backend: Backend) {
    on_backend!(backend, |db, store| {
        let started = ten_at_once(&store).await;
        let cases: std::collections::BTreeSet<_> = started
            .iter()
            .map(|s| s.contact.contact.case_id.unwrap())
            .collect();
        assert_eq!(cases.len(), 1);
        let raw = db.raw().await;
        assert_eq!(count(&raw, "SELECT COUNT(*) FROM \"case\"").await, 1);
    });
}

database_test!(an_idempotent_retry_returns_the_same_answer_and_creates_nothing);
async fn an_idempotent_retry_returns_the_same_answer_and_creates_nothing(backend: Backend) {
    on_backend!(backend, |db, store| {
        let t = tenant();
        let s = start(vec![bsn(BSN_A)], Some("paspoort"), 0);
        let first = store
            .start_contact(&t, &caller(), s.clone(), idem("k-1", "f-1"))
            .await
            .unwrap();
        let again = store
            .start_contact(&t, &caller(), s.clone(), idem("k-1", "f-1"))
            .await
            .unwrap();
        assert_eq!(first, again);
        let raw = db.raw().await;
        assert_eq!(count(&raw, "SELECT COUNT(*) FROM contact").await, 1);
        assert_eq!(count(&raw, "SELECT COUNT(*) FROM party").await, 1);
        let e = store
            .start_contact(&t, &caller(), s.clone(), idem("k-1", "other"))
            .await
            .unwrap_err();
        assert!(
            matches!(e, StoreError::Domain(DomainError::RequestIdReused)),
            "{e:?}"
        );

        let id = first.contact.contact.id;
        let e1 = end(Outcome::Resolved, 0, 3, Some("geholpen"));
        let done = store
            .complete_contact(&t, &caller(), id, Ok(e1.clone()), idem("c-1", "g-1"), now())
            .await
            .unwrap();
        let done_again = store
            .complete_contact(&t, &caller(), id, Ok(e1.clone()), idem("c-1", "g-1"), now())
            .await
            .unwrap();
        assert_eq!(done, done_again);
        let twice = store
            .complete_contact(&t, &caller(), id, Ok(e1.clone()), None, now())
            .await
            .unwrap_err();
        assert!(
            matches!(
                twice,
                StoreError::Domain(DomainError::FailedPrecondition(_))
            ),
            "{twice:?}"
        );

        let fb = Feedback {
            score: 4,
            effort: 2,
            story_repeated: false,
            comment: Some("prima".into()),
        };
        let a = store
            .submit_feedback(&t, &caller(), id, fb.clone(), idem("f-1", "h-1"))
            .await
            .unwrap();
        let b = store
            .submit_feedback(&t, &caller(), id, fb.clone(), idem("f-1", "h-1"))
            .await
            .unwrap();
        assert_eq!(a, b);
        assert_eq!(count(&raw, "SELECT COUNT(*) FROM feedback").await, 1);

        let rec_start = start(vec![bsn(BSN_B)], Some("afval"), 10);
        let rec_end = end(Outcome::Resolved, 10, 12, Some("container"));
        let r1 = store
            .record_contact(
                &t,
                &caller(),
                rec_start.clone(),
                rec_end.clone(),
                false,
                idem("r-1", "x"),
                now(),
            )
            .await
            .unwrap();
        let r2 = store
            .record_contact(
                &t,
                &caller(),
                rec_start,
                rec_end,
                false,
                idem("r-1", "x"),
                now(),
            )
            .await
            .unwrap();
        assert_eq!(r1, r2);
        assert_eq!(count(&raw, "SELECT COUNT(*) FROM contact").await, 2);
        // The same key for another operation is another key.
        let other_op = store
            .start_contact(&t, &caller(), start(vec![], None, 20), idem("r-1", "y"))
            .await;
        assert!(other_op.is_ok());
    });
}

database_test!(completing_chooses_a_late_case_and_refuses_what_does_not_fit);
async fn completing_chooses_a_late_case_and_refuses_what_does_not_fit(backend: Backend) {
    on_backend!(backend, |db, store| {
        let t = tenant();
        let s = store
            .start_contact(&t, &caller(), start(vec![bsn(BSN_A)], None, 0), None)
            .await
            .unwrap();
        assert_eq!(s.contact.contact.case_id, None);
        let id = s.contact.contact.id;

        let missing = store
            .complete_contact(
                &t,
                &caller(),
                uuid::Uuid::now_v7(),
                Ok(end(Outcome::Resolved, 0, 1, None)),
                None,
                now(),
            )
            .await
            .unwrap_err();
        assert!(matches!(
            missing,
            StoreError::Domain(DomainError::NotFound(_))
        ));

        // No topic anywhere: INVALID_ARGUMENT on topic (of the completion), nothing changes.
        let e = store
            .complete_contact(
                &t,
                &caller(),
                id,
                Ok(end(Outcome::Resolved, 0, 5, Some("x"))),
                None,
                now(),
            )
            .await
            .unwrap_err();
        assert_eq!(invalid_fields(e), ["topic"]);
        let mut late = end(Outcome::Resolved, 0, 5, Some("over de vergunning"));
        late.topic = Some(code("parkeervergunning"));
        let done = store
            .complete_contact(&t, &caller(), id, Ok(late), None, now())
            .await
            .unwrap();
        assert!(done.contact.case_chosen_at_completion);
        let case_id = done.contact.case_id.expect("chosen at completion");
        assert_eq!(
            done.contact.completion.as_ref().map(|e| e.outcome),
            Some(Outcome::Resolved)
        );
        assert_eq!(
            store.get_contact(&t, &caller(), id, None).await.unwrap(),
            done
        );

        // A callback gets a default due time; a later contact sees the commitment.
        let s2 = store
            .start_contact(
                &t,
                &caller(),
                start(vec![bsn(BSN_A)], Some("parkeervergunning"), 60),
                None,
            )
            .await
            .unwrap();
        assert_eq!(s2.contact.contact.case_id, Some(case_id));
        let cb = store
            .complete_contact(
                &t,
                &caller(),
                s2.contact.contact.id,
                Ok(end(Outcome::Callback, 60, 65, Some("belt terug"))),
                None,
                now(),
            )
            .await
            .unwrap();
        assert!(
            cb.contact
                .completion
                .as_ref()
                .and_then(|e| e.due_at)
                .is_some()
        );
        let s3 = store
            .start_contact(
                &t,
                &caller(),
                start(vec![bsn(BSN_A)], Some("parkeervergunning"), 70),
                None,
            )
            .await
            .unwrap();
        let case = s3.context.case.as_ref().unwrap();
        assert_eq!(case.open_commitments.len(), 1);
        assert_eq!(case.stories.len(), 2);

        let raw = db.raw().await;
        let row = contact::Entity::find_by_id(id)
            .one(&raw)
            .await
            .unwrap()
            .unwrap();
        assert!(row.case_chosen_at_completion);
    });
}

database_test!(a_record_that_does_not_fit_stores_nothing);
async fn a_record_that_does_not_fit_stores_nothing(backend: Backend) {
    on_backend!(backend, |db, store| {
        let t = tenant();
        let s = start(vec![bsn(BSN_A), email(EMAIL)], Some("paspoort"), 30);
        let bad = end(Outcome::Resolved, 30, 10, Some("te vroeg"));
        let e = store
            .record_contact(&t, &caller(), s.clone(), bad, true, None, now())
            .await
            .unwrap_err();
        let fields = invalid_fields(e);
        assert!(fields.iter().any(|f| f == "ended_at"), "{fields:?}");
        let raw = db.raw().await;
        for table in ["party", "identifier", "\"case\"", "contact"] {
            assert_eq!(
                count(&raw, &format!("SELECT COUNT(*) FROM {table}")).await,
                0,
                "{table}"
            );
        }
        let good = end(Outcome::Resolved, 30, 40, Some("geholpen"));
        let r = store
            .record_contact(&t, &caller(), s, good, false, None, now())
            .await
            .unwrap();
        assert!(r.contact.contact.recorded);
        assert!(!r.contact.contact.context_seen);
        assert!(r.contact.contact.completion.is_some());
        assert_eq!(r.context.party.status, PartyStatus::New);
        // The context is as of the start: the case had nothing yet.
        assert!(
            r.context
                .case
                .as_ref()
                .is_some_and(|c| c.stories.is_empty())
        );
    });
}

database_test!(feedback_needs_a_completed_contact_once_with_valid_numbers);
async fn feedback_needs_a_completed_contact_once_with_valid_numbers(backend: Backend) {
    on_backend!(backend, |db, store| {
        let t = tenant();
        let s = store
            .start_contact(&t, &caller(), start(vec![], Some("afval"), 0), None)
            .await
            .unwrap();
        let id = s.contact.contact.id;
        let fb = Feedback {
            score: 5,
            effort: 1,
            story_repeated: true,
            comment: None,
        };
        let e = store
            .submit_feedback(&t, &caller(), id, fb.clone(), None)
            .await
            .unwrap_err();
        assert!(matches!(
            e,
            StoreError::Domain(DomainError::FailedPrecondition(_))
        ));
        store
            .complete_contact(
                &t,
                &caller(),
                id,
                Ok(end(Outcome::Resolved, 0, 2, None)),
                None,
                now(),
            )
            .await
            .unwrap();
        let bad = Feedback {
            score: 9,
            effort: 0,
            story_repeated: false,
            comment: Some("x".repeat(2001)),
        };
        let e = store
            .submit_feedback(&t, &caller(), id, bad, None)
            .await
            .unwrap_err();
        assert_eq!(invalid_fields(e), ["score", "effort", "comment"]);
        assert_eq!(
            store
                .submit_feedback(&t, &caller(), id, fb.clone(), None)
                .await
                .unwrap(),
            fb
        );
        let e = store
            .submit_feedback(&t, &caller(), id, fb.clone(), None)
            .await
            .unwrap_err();
        assert!(matches!(
            e,
            StoreError::Domain(DomainError::AlreadyExists(_))
        ));
        let view = store.get_contact(&t, &caller(), id, None).await.unwrap();
        assert_eq!(view.contact.feedback, Some(fb));
        let missing = store
            .submit_feedback(
                &t,
                &caller(),
                uuid::Uuid::now_v7(),
                Feedback {
                    score: 3,
                    effort: 3,
                    story_repeated: false,
                    comment: None,
                },
                None,
            )
            .await;
        assert!(matches!(
            missing,
            Err(StoreError::Domain(DomainError::NotFound(_)))
        ));
        let _ = &db;
    });
}

database_test!(erasing_a_party_keeps_counts_and_forgets_personal_data);
async fn erasing_a_party_keeps_counts_and_forgets_personal_data(backend: Backend) {
    on_backend!(backend, |db, store| {
        let t = tenant();
        let mut s = start(vec![bsn(BSN_A), email(EMAIL)], Some("schuldhulp"), 0);
        s.case_reference = Some("Z-2026-001".into());
        let first = store
            .start_contact(&t, &caller(), s, idem("s-1", "f-s1"))
            .await
            .unwrap();
        let id = first.contact.contact.id;
        let referred = end(Outcome::Referred, 0, 5, Some("heeft schulden")).with_target();
        store
            .complete_contact(
                &t,
                &caller(),
                id,
                Ok(referred.clone()),
                idem("c-1", "f-c1"),
                now(),
            )
            .await
            .unwrap();
        let answer = Feedback {
            score: 2,
            effort: 6,
            story_repeated: true,
            comment: Some("mijn naam is Jan".into()),
        };
        store
            .submit_feedback(&t, &caller(), id, answer.clone(), idem("f-1", "f-f1"))
            .await
            .unwrap();
        // A second contact whose answer shows the first one's story and the masked BSN.
        let second = start(vec![bsn(BSN_A)], Some("schuldhulp"), 10);
        let told = store
            .start_contact(&t, &caller(), second.clone(), idem("s-2", "f-s2"))
            .await
            .unwrap();
        assert_eq!(told.context.party.bsn_masked.as_deref(), Some("******333"));
        // Someone else's kept answer must survive the erasure.
        let other = start(vec![bsn(BSN_B)], Some("afval"), 20);
        let other_first = store
            .start_contact(&t, &caller(), other.clone(), idem("s-3", "f-s3"))
            .await
            .unwrap();
        let window = LoadWindow {
            starts_from: at(-60),
            starts_to: at(60),
            due_after: at(-60),
            due_until: at(60),
        };
        let before = store.figure_facts(&t, window).await.unwrap();

        let e = store
            .erase_party(&t, &caller(), vec![email("nobody@example.nl")])
            .await
            .unwrap_err();
        assert!(matches!(e, StoreError::Domain(DomainError::NotFound(_))));
        // No identifiers (the API refuses them first) find nobody.
        let e = store.erase_party(&t, &caller(), vec![]).await.unwrap_err();
        assert!(matches!(e, StoreError::Domain(DomainError::NotFound(_))));
        let erased = store
            .erase_party(&t, &caller(), vec![bsn(BSN_A)])
            .await
            .unwrap();
        assert_eq!(erased.party_id, first.context.party.id.unwrap());
        assert_eq!(erased.contacts_erased, 2);

        // A retry of any request about the erased party is refused, not answered from
        // what was kept and not run again; someone else's retry still replays.
        let refused = |e: StoreError| {
            assert!(
                matches!(
                    &e,
                    StoreError::Domain(DomainError::FailedPrecondition(
                        midoffice_domain::Precondition::PartyErased
                    ))
                ),
                "{e:?}"
            );
        };
        refused(
            store
                .start_contact(&t, &caller(), second.clone(), idem("s-2", "f-s2"))
                .await
                .unwrap_err(),
        );
        refused(
            store
                .complete_contact(&t, &caller(), id, Ok(referred), idem("c-1", "f-c1"), now())
                .await
                .unwrap_err(),
        );
        refused(
            store
                .submit_feedback(&t, &caller(), id, answer, idem("f-1", "f-f1"))
                .await
                .unwrap_err(),
        );
        assert_eq!(
            store
                .start_contact(&t, &caller(), other, idem("s-3", "f-s3"))
                .await
                .unwrap(),
            other_first
        );

        let after = store.figure_facts(&t, window).await.unwrap();
        assert_eq!(after.contacts.len(), before.contacts.len());
        assert_eq!(after.cases.len(), before.cases.len());
        let c = after.contacts.iter().find(|c| c.id == id).unwrap();
        let e = c.completion.as_ref().unwrap();
        assert_eq!(e.story.as_deref(), Some(ERASED_TEXT));
        assert_eq!(e.outcome, Outcome::Referred);
        assert_eq!(
            c.feedback.as_ref().map(|f| (f.score, f.comment.clone())),
            Some((2, None))
        );
        assert!(after.cases.values().all(|k| k.reference.is_none()));

        let gone = store
            .lookup_context(&t, &caller(), vec![bsn(BSN_A)], at(30))
            .await
            .unwrap();
        assert_eq!(gone.party.status, PartyStatus::NotFound);
        let raw = db.raw().await;
        // Only the other party's identifier is left.
        assert_eq!(count(&raw, "SELECT COUNT(*) FROM identifier").await, 1);
        assert_eq!(
            count(
                &raw,
                "SELECT COUNT(*) FROM idempotency WHERE erased_at IS NOT NULL \
                 AND response = '' AND fingerprint = '' AND party_id IS NULL"
            )
            .await,
            4
        );
        // Every field that held something of the erased party, compared exactly: a
        // substring of a dump of all rows can turn up by chance inside a random id.
        let erased_party = erased.party_id;
        let parties = party::Entity::find().all(&raw).await.unwrap();
        let p = parties.iter().find(|p| p.id == erased_party).unwrap();
        assert_eq!(
            (&p.strong_kind, &p.strong_hash, &p.strong_display),
            (&None, &None, &None),
            "the erased party keeps its BSN"
        );
        assert!(p.erased_at.is_some());
        assert!(
            parties.iter().all(
                |p| p.strong_hash.as_deref() != Some(bsn(BSN_A).hash.as_str())
                    && p.strong_display.as_deref() != Some("******333")
            ),
            "{parties:?}"
        );
        let identifiers = identifier::Entity::find().all(&raw).await.unwrap();
        assert_eq!(
            identifiers.iter().map(|i| &i.hash).collect::<Vec<_>>(),
            [&bsn(BSN_B).hash],
            "only the other party's identifier is left"
        );
        let cases = case::Entity::find().all(&raw).await.unwrap();
        assert!(cases.iter().all(|k| k.reference.is_none()), "{cases:?}");
        let contacts = contact::Entity::find().all(&raw).await.unwrap();
        let first_row = contacts.iter().find(|c| c.id == id).unwrap();
        assert_eq!(first_row.story.as_deref(), Some(ERASED_TEXT));
        assert_eq!(first_row.referred_value, None);
        for c in &contacts {
            assert_eq!(c.case_reference, None, "{c:?}");
            assert!(
                c.story.is_none() || c.story.as_deref() == Some(ERASED_TEXT),
                "{c:?}"
            );
        }
        let feedback = feedback::Entity::find().all(&raw).await.unwrap();
        assert!(feedback.iter().all(|f| f.comment.is_none()), "{feedback:?}");
        // The kept answers of the erased party are emptied; the other party's stays and
        // shows nothing of the erased one.
        let kept: std::collections::BTreeMap<String, (String, String)> =
            idempotency::Entity::find()
                .all(&raw)
                .await
                .unwrap()
                .into_iter()
                .map(|r| (r.key, (r.fingerprint, r.response)))
                .collect();
        assert_eq!(
            kept.keys().map(String::as_str).collect::<Vec<_>>(),
            ["c-1", "f-1", "s-1", "s-2", "s-3"]
        );
        for key in ["c-1", "f-1", "s-1", "s-2"] {
            assert_eq!(kept[key], (String::new(), String::new()), "{key}");
        }
        let (fingerprint, response) = &kept["s-3"];
        assert_eq!(fingerprint, "f-s3");
        for secret in [
            "heeft schulden",
            "Z-2026-001",
            "mijn naam is Jan",
            "******333",
        ] {
            assert!(!response.contains(secret), "{secret} in {response}");
        }
        // A new contact with the same BSN is a new party.
        let again = store
            .start_contact(&t, &caller(), start(vec![bsn(BSN_A)], None, 40), None)
            .await
            .unwrap();
        assert_eq!(again.context.party.status, PartyStatus::New);
    });
}

database_test!(figure_facts_load_the_window_and_whole_cases);
async fn figure_facts_load_the_window_and_whole_cases(backend: Backend) {
    on_backend!(backend, |db, store| {
        let t = tenant();
        // A case with a contact before the window and one inside it; an anonymous contact
        // inside; a contact after the window.
        let a = store
            .start_contact(
                &t,
                &caller(),
                start(vec![bsn(BSN_A)], Some("paspoort"), 0),
                None,
            )
            .await
            .unwrap();
        store
            .complete_contact(
                &t,
                &caller(),
                a.contact.contact.id,
                Ok(end(Outcome::Callback, 0, 5, None)),
                None,
                now(),
            )
            .await
            .unwrap();
        let b = store
            .start_contact(
                &t,
                &caller(),
                start(vec![bsn(BSN_A)], Some("paspoort"), 100),
                None,
            )
            .await
            .unwrap();
        store
            .start_contact(&t, &caller(), start(vec![], Some("afval"), 110), None)
            .await
            .unwrap();
        store
            .start_contact(
                &t,
                &caller(),
                start(vec![bsn(BSN_B)], Some("afval"), 300),
                None,
            )
            .await
            .unwrap();
        let window = LoadWindow {
            starts_from: at(60),
            starts_to: at(200),
            due_after: at(60),
            due_until: at(200),
        };
        let facts = store.figure_facts(&t, window).await.unwrap();
        assert_eq!(facts.contacts.len(), 2);
        assert_eq!(facts.cases.len(), 1);
        let case = &facts.cases[&b.contact.contact.case_id.unwrap()];
        assert_eq!(case.contacts.len(), 2, "the whole case");

        // A case with only a commitment due in the window is loaded too.
        let due_window = LoadWindow {
            starts_from: at(400),
            starts_to: at(500),
            due_after: at(0),
            due_until: at(60 * 24 * 30),
        };
        let due = store.figure_facts(&t, due_window).await.unwrap();
        assert!(due.contacts.is_empty());
        assert_eq!(due.cases.len(), 1);
        let _ = &db;
    });
}

/// Every stored value of every table, as text.
async fn dump_everything(raw: &sea_orm::DatabaseConnection) -> String {
    format!(
        "{:?}{:?}{:?}{:?}{:?}{:?}{:?}",
        tenant_settings::Entity::find().all(raw).await.unwrap(),
        party::Entity::find().all(raw).await.unwrap(),
        identifier::Entity::find().all(raw).await.unwrap(),
        case::Entity::find().all(raw).await.unwrap(),
        contact::Entity::find().all(raw).await.unwrap(),
        feedback::Entity::find().all(raw).await.unwrap(),
        idempotency::Entity::find().all(raw).await.unwrap(),
    )
}

database_test!(no_identifier_is_stored_in_clear_text);
async fn no_identifier_is_stored_in_clear_text(backend: Backend) {
    on_backend!(backend, |db, store| {
        let t = tenant();
        let s = start(
            vec![bsn(BSN_A), email(EMAIL), phone(PHONE)],
            Some("paspoort"),
            0,
        );
        let first = store
            .start_contact(&t, &caller(), s.clone(), idem("k", "f"))
            .await
            .unwrap();
        store
            .complete_contact(
                &t,
                &caller(),
                first.contact.contact.id,
                Ok(end(Outcome::Resolved, 0, 5, Some("aanvraag"))),
                idem("c", "f"),
                now(),
            )
            .await
            .unwrap();
        store
            .record_contact(
                &t,
                &caller(),
                start(vec![bsn(BSN_A)], Some("paspoort"), 30),
                end(Outcome::Resolved, 30, 35, None),
                true,
                idem("r", "f"),
                now(),
            )
            .await
            .unwrap();
        store
            .lookup_context(&t, &caller(), vec![phone(PHONE)], at(40))
            .await
            .unwrap();

        let raw = db.raw().await;
        let dump = dump_everything(&raw).await;
        for clear in [BSN_A, EMAIL, PHONE, PHONE_E164, "612345678"] {
            assert!(!dump.contains(clear), "{clear} stored in clear text");
        }
        // The masked display is the only BSN-like text.
        assert!(dump.contains("******333"));

        if db.backend == "sqlite" {
            // Nothing in the files either (indexes, WAL, free pages included).
            drop(raw);
            drop(store);
            let path = db
                .url
                .trim_start_matches("sqlite://")
                .split('?')
                .next()
                .unwrap()
                .to_owned();
            let mut bytes = Vec::new();
            for suffix in ["", "-wal"] {
                if let Ok(b) = std::fs::read(format!("{path}{suffix}")) {
                    bytes.extend(b);
                }
            }
            assert!(!bytes.is_empty());
            for clear in [BSN_A, EMAIL, PHONE_E164] {
                assert!(
                    !bytes.windows(clear.len()).any(|w| w == clear.as_bytes()),
                    "{clear} in the database file"
                );
            }
        }
    });
}

/// The API serves these from tonic handlers: their futures must be `Send`.
#[allow(dead_code, clippy::let_underscore_future)]
fn futures_are_send(store: &Store, t: &midoffice_domain::TenantId) {
    fn send<T: Send>(_: T) {}
    send(store.start_contact(t, &caller(), start(vec![], None, 0), None));
    send(store.complete_contact(
        t,
        &caller(),
        uuid::Uuid::nil(),
        Ok(end(Outcome::Resolved, 0, 1, None)),
        None,
        now(),
    ));
    send(store.record_contact(
        t,
        &caller(),
        start(vec![], None, 0),
        end(Outcome::Resolved, 0, 1, None),
        true,
        None,
        now(),
    ));
    send(store.lookup_context(t, &caller(), vec![], now()));
    send(store.get_contact(t, &caller(), uuid::Uuid::nil(), None));
    send(store.erase_party(t, &caller(), vec![]));
    send(store.submit_feedback(
        t,
        &caller(),
        uuid::Uuid::nil(),
        Feedback {
            score: 1,
            effort: 1,
            story_repeated: false,
            comment: None,
        },
        None,
    ));
    send(store.figure_facts(
        t,
        LoadWindow {
            starts_from: now(),
            starts_to: now(),
            due_after: now(),
            due_until: now(),
        },
    ));
    send(store.settings(t));
    send(store.replace_settings(t, TenantSettings::default()));
    send(Store::connect("sqlite::memory:"));
}

database_test!(a_technical_failure_after_the_plan_is_logged_error_and_never_ok);
async fn a_technical_failure_after_the_plan_is_logged_error_and_never_ok(backend: Backend) {
    on_backend!(backend, |db, store| {
        use sea_orm::ConnectionTrait;
        let t = tenant();
        let raw = db.raw().await;
        // The contact's insert fails as a full disk would: after the plan, inside its
        // transaction.
        let (install, remove) = match backend {
            Backend::Sqlite => (
                vec![
                    "CREATE TRIGGER fail_contact BEFORE INSERT ON contact \
                     BEGIN SELECT RAISE(ABORT, 'simulated failure'); END",
                ],
                "DROP TRIGGER fail_contact",
            ),
            Backend::Postgres => (
                vec![
                    "CREATE FUNCTION fail_contact() RETURNS trigger AS $$ \
                     BEGIN RAISE EXCEPTION 'simulated failure'; END $$ LANGUAGE plpgsql",
                    "CREATE TRIGGER fail_contact BEFORE INSERT ON contact \
                     FOR EACH ROW EXECUTE FUNCTION fail_contact()",
                ],
                "DROP TRIGGER fail_contact ON contact",
            ),
        };
        for sql in install {
            raw.execute_unprepared(sql).await.unwrap();
        }
        let failed = store
            .start_contact(&t, &caller(), start(vec![bsn(BSN_A)], None, 0), None)
            .await;
        assert!(
            matches!(
                failed,
                Err(StoreError::Internal(_) | StoreError::Unavailable(_))
            ),
            "{failed:?}"
        );
        let status = |s: &'static str| {
            let raw = &raw;
            async move {
                count(
                    raw,
                    &format!("SELECT COUNT(*) FROM processing_record WHERE status = '{s}'"),
                )
                .await
            }
        };
        // Nothing of the processing was stored, and its record says it failed.
        assert_eq!(count(&raw, "SELECT COUNT(*) FROM party").await, 0);
        assert_eq!(status("Ok").await, 0);
        assert_eq!(status("Error").await, 1);
        assert_eq!(count(&raw, "SELECT COUNT(*) FROM audit_record").await, 1);

        raw.execute_unprepared(remove).await.unwrap();
        store
            .start_contact(&t, &caller(), start(vec![bsn(BSN_A)], None, 1), None)
            .await
            .unwrap();
        assert_eq!(status("Ok").await, 1);
        assert_eq!(status("Error").await, 1);
    });
}

database_test!(a_processing_and_its_record_share_one_transaction);
async fn a_processing_and_its_record_share_one_transaction(backend: Backend) {
    on_backend!(backend, |db, store| {
        use sea_orm::ConnectionTrait;
        let t = tenant();
        let raw = db.raw().await;
        // A contact to complete, started (and logged) before the failure is installed.
        let started = store
            .start_contact(
                &t,
                &caller(),
                start(vec![bsn(BSN_A)], Some("afval"), 0),
                None,
            )
            .await
            .unwrap();
        let contact_id = started.contact.contact.id;
        let records = count(&raw, "SELECT COUNT(*) FROM processing_record").await;
        assert_eq!(records, 1);
        // The processing record's insert fails, as a full disk would: after the
        // processing's own writes, inside its transaction.
        let (install, remove) = match backend {
            Backend::Sqlite => (
                vec![
                    "CREATE TRIGGER fail_record BEFORE INSERT ON processing_record \
                     BEGIN SELECT RAISE(ABORT, 'simulated failure'); END",
                ],
                "DROP TRIGGER fail_record",
            ),
            Backend::Postgres => (
                vec![
                    "CREATE FUNCTION fail_record() RETURNS trigger AS $$ \
                     BEGIN RAISE EXCEPTION 'simulated failure'; END $$ LANGUAGE plpgsql",
                    "CREATE TRIGGER fail_record BEFORE INSERT ON processing_record \
                     FOR EACH ROW EXECUTE FUNCTION fail_record()",
                ],
                "DROP TRIGGER fail_record ON processing_record",
            ),
        };
        for sql in install {
            raw.execute_unprepared(sql).await.unwrap();
        }
        fn technical<T>(r: &Result<T, StoreError>) -> bool {
            matches!(r, Err(StoreError::Internal(_) | StoreError::Unavailable(_)))
        }
        // A start of another citizen: answered with an error, nothing of it stored.
        let failed = store
            .start_contact(
                &t,
                &caller(),
                start(vec![bsn(BSN_B)], None, 1),
                idem("s-2", "g"),
            )
            .await;
        assert!(technical(&failed), "{failed:?}");
        assert_eq!(count(&raw, "SELECT COUNT(*) FROM party").await, 1);
        assert_eq!(count(&raw, "SELECT COUNT(*) FROM contact").await, 1);
        assert_eq!(count(&raw, "SELECT COUNT(*) FROM idempotency").await, 0);
        // A completion: answered with an error, the contact not completed.
        let failed = store
            .complete_contact(
                &t,
                &caller(),
                contact_id,
                Ok(end(Outcome::Resolved, 0, 1, Some("verhaal"))),
                idem("c-1", "g"),
                now(),
            )
            .await;
        assert!(technical(&failed), "{failed:?}");
        assert_eq!(
            count(
                &raw,
                "SELECT COUNT(*) FROM contact WHERE ended_at IS NOT NULL"
            )
            .await,
            0
        );
        assert_eq!(count(&raw, "SELECT COUNT(*) FROM idempotency").await, 0);
        // No record either (the best-effort Error record failed the same way), and no
        // audit record without its record.
        assert_eq!(
            count(&raw, "SELECT COUNT(*) FROM processing_record").await,
            records
        );
        assert_eq!(
            count(&raw, "SELECT COUNT(*) FROM audit_record").await,
            records
        );

        raw.execute_unprepared(remove).await.unwrap();
        store
            .complete_contact(
                &t,
                &caller(),
                contact_id,
                Ok(end(Outcome::Resolved, 0, 1, Some("verhaal"))),
                idem("c-1", "g"),
                now(),
            )
            .await
            .unwrap();
        assert_eq!(
            count(
                &raw,
                "SELECT COUNT(*) FROM contact WHERE ended_at IS NOT NULL"
            )
            .await,
            1
        );
    });
}

database_test!(the_tenants_with_figures_are_those_with_contacts_in_name_order_capped);
async fn the_tenants_with_figures_are_those_with_contacts_in_name_order_capped(backend: Backend) {
    on_backend!(backend, |_db, store| {
        assert!(store.figure_tenants(10).await.unwrap().is_empty());
        let names = ["gemeente-c", "gemeente-a", "gemeente-b"];
        for (i, name) in names.iter().enumerate() {
            let t = TenantId::parse(name).unwrap();
            // Two contacts for one tenant: it is still listed once.
            for minute in [0, 1] {
                store
                    .start_contact(
                        &t,
                        &caller(),
                        start(vec![bsn(BSN_A)], None, i as i64 * 10 + minute),
                        None,
                    )
                    .await
                    .unwrap();
            }
        }
        // Settings alone do not make a tenant with figures.
        store
            .replace_settings(
                &TenantId::parse("gemeente-0").unwrap(),
                TenantSettings::default(),
            )
            .await
            .unwrap();
        let listed = |v: Vec<TenantId>| v.iter().map(|t| t.as_str().to_owned()).collect::<Vec<_>>();
        assert_eq!(
            listed(store.figure_tenants(10).await.unwrap()),
            ["gemeente-a", "gemeente-b", "gemeente-c"]
        );
        assert_eq!(
            listed(store.figure_tenants(2).await.unwrap()),
            ["gemeente-a", "gemeente-b"]
        );
    });
}
