//! The event outbox on both backends (`database_test!`, see `common`): events are kept
//! in their write's transaction and only for tenants with subscribers; a refused write
//! keeps none; two dispatchers claiming at once never take the same delivery; a claim
//! keeps others off until it ends; delivered rows go, failed ones stay and are counted;
//! a removed subscriber's deliveries are not claimed and stand in no one's way; only
//! commitments with a made event fall overdue.

mod common;

use common::*;
use midoffice_domain::contact::Outcome;
use sea_orm::ConnectionTrait;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

database_test!(events_are_kept_with_their_write_and_claimed_once);
async fn events_are_kept_with_their_write_and_claimed_once(backend: Backend) {
    on_backend!(backend, |db, store| {
        let t = tenant();
        let raw = db.raw().await;
        // No subscribers: nothing is kept.
        store
            .record_contact(
                &t,
                &caller(),
                start(vec![bsn(BSN_A)], Some("paspoort"), 0),
                end(Outcome::Resolved, 0, 5, None),
                true,
                None,
                now(),
            )
            .await
            .unwrap();
        assert_eq!(count(&raw, "SELECT COUNT(*) FROM event").await, 0);

        store.set_event_subscribers(BTreeMap::from([(
            t.as_str().to_owned(),
            vec!["crm".to_owned(), "archief".to_owned()],
        )]));
        for i in 0..6 {
            let minute = 10 + i * 10;
            store
                .record_contact(
                    &t,
                    &caller(),
                    start(vec![bsn(BSN_B)], Some("afval"), minute),
                    end(Outcome::Resolved, minute, minute + 5, Some("klaar")),
                    true,
                    None,
                    now(),
                )
                .await
                .unwrap();
        }
        // A refused write keeps nothing.
        store
            .record_contact(
                &t,
                &caller(),
                start(vec![bsn(BSN_B)], Some("afval"), 100),
                end(Outcome::Resolved, 100, 90, None),
                true,
                None,
                now(),
            )
            .await
            .unwrap_err();
        assert_eq!(count(&raw, "SELECT COUNT(*) FROM event").await, 6);
        assert_eq!(count(&raw, "SELECT COUNT(*) FROM event_delivery").await, 12);

        // Two dispatchers at once: between them every delivery, none twice.
        // A lease past the retry below, so what is claimed stays claimed then.
        let lease = Duration::from_secs(2 * 3600);
        let (a, b) = tokio::join!(
            store.claim_deliveries(&t, 8, now(), lease),
            store.claim_deliveries(&t, 8, now(), lease)
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        let key = |d: &midoffice_store::Delivery| (d.subscriber.clone(), d.event_id);
        let ka: BTreeSet<_> = a.iter().map(key).collect();
        let kb: BTreeSet<_> = b.iter().map(key).collect();
        assert!(ka.is_disjoint(&kb), "one delivery claimed twice");
        assert_eq!(ka.len() + kb.len(), 12);
        // Claimed: no one else takes them now.
        assert!(
            store
                .claim_deliveries(&t, 20, now(), lease)
                .await
                .unwrap()
                .is_empty()
        );
        let all: Vec<_> = a.into_iter().chain(b).collect();
        // Delivered: gone. Failed for now: back later. Given up: kept, counted.
        // Released: free at once.
        store.delivery_done(&all[0]).await.unwrap();
        let later = now() + chrono::TimeDelta::hours(1);
        store
            .delivery_failed(&all[1], Some(later), now())
            .await
            .unwrap();
        store.delivery_failed(&all[2], None, now()).await.unwrap();
        store.delivery_released(&all[3]).await.unwrap();
        assert_eq!(count(&raw, "SELECT COUNT(*) FROM event_delivery").await, 11);
        assert_eq!(store.failed_deliveries(&t).await.unwrap(), 1);
        let again = store.claim_deliveries(&t, 20, now(), lease).await.unwrap();
        assert_eq!(again.iter().map(key).collect::<Vec<_>>(), [key(&all[3])]);
        let retried = store
            .claim_deliveries(&t, 20, later + chrono::TimeDelta::seconds(1), lease)
            .await
            .unwrap();
        assert_eq!(retried.iter().map(key).collect::<Vec<_>>(), [key(&all[1])]);
        assert_eq!(retried[0].attempts, 1);
        assert_eq!(retried[0].event_id, all[1].event_id, "the same id again");
    });
}

/// A callback of `id` at `minute`, due two hours later (in the past: `at` is two days ago).
async fn callback(store: &midoffice_store::Store, id: &str, minute: i64) -> uuid::Uuid {
    let mut done = end(Outcome::Callback, minute, minute + 5, Some("belt terug"));
    done.due_at = Some(at(minute + 120));
    store
        .record_contact(
            &tenant(),
            &caller(),
            start(vec![bsn(id)], Some("afval"), minute),
            done,
            true,
            None,
            now(),
        )
        .await
        .unwrap()
        .contact
        .contact
        .id
}

database_test!(only_commitments_made_with_subscribers_fall_overdue);
async fn only_commitments_made_with_subscribers_fall_overdue(backend: Backend) {
    on_backend!(backend, |db, store| {
        let t = tenant();
        let raw = db.raw().await;
        // Made while the tenant had no subscribers: no made event, so no overdue one.
        callback(&store, BSN_A, 0).await;
        store.set_event_subscribers(BTreeMap::from([(
            t.as_str().to_owned(),
            vec!["crm".to_owned()],
        )]));
        let made = callback(&store, BSN_B, 10).await;
        assert_eq!(store.keep_overdue_events(&t, now()).await.unwrap(), 1);
        let overdue = raw
            .query_all_raw(sea_orm::Statement::from_string(
                raw.get_database_backend(),
                "SELECT subject FROM event WHERE event_type = 'nl.midoffice.commitment.overdue'",
            ))
            .await
            .unwrap();
        let subjects: Vec<uuid::Uuid> = overdue
            .iter()
            .map(|r| r.try_get("", "subject").unwrap())
            .collect();
        assert_eq!(subjects, [made]);
        // Once only.
        assert_eq!(store.keep_overdue_events(&t, now()).await.unwrap(), 0);
    });
}

database_test!(deliveries_of_a_removed_subscriber_wait_aside);
async fn deliveries_of_a_removed_subscriber_wait_aside(backend: Backend) {
    on_backend!(backend, |_db, store| {
        let t = tenant();
        let lease = Duration::from_secs(60);
        let names = |n: &[&str]| {
            BTreeMap::from([(
                t.as_str().to_owned(),
                n.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>(),
            )])
        };
        // Three older deliveries of a subscriber then removed, more than a batch of two.
        store.set_event_subscribers(names(&["gone"]));
        for i in 0..3 {
            let minute = i * 10;
            store
                .record_contact(
                    &t,
                    &caller(),
                    start(vec![bsn(BSN_A)], Some("afval"), minute),
                    end(Outcome::Resolved, minute, minute + 5, None),
                    true,
                    None,
                    now(),
                )
                .await
                .unwrap();
        }
        store.set_event_subscribers(names(&["crm"]));
        store
            .record_contact(
                &t,
                &caller(),
                start(vec![bsn(BSN_B)], Some("afval"), 100),
                end(Outcome::Resolved, 100, 105, None),
                true,
                None,
                now(),
            )
            .await
            .unwrap();
        // The configured one's delivery is claimed; the removed one's are not.
        let claimed = store.claim_deliveries(&t, 2, now(), lease).await.unwrap();
        let to: Vec<&str> = claimed.iter().map(|d| d.subscriber.as_str()).collect();
        assert_eq!(to, ["crm"]);
        // Back again: its deliveries are there for it.
        store.set_event_subscribers(names(&["gone", "crm"]));
        let claimed = store.claim_deliveries(&t, 10, now(), lease).await.unwrap();
        let to: Vec<&str> = claimed.iter().map(|d| d.subscriber.as_str()).collect();
        assert_eq!(to, ["gone", "gone", "gone"]);
    });
}
