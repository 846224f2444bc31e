//! The event outbox on both backends (`database_test!`, see `common`): events are kept
//! in their write's transaction and only for tenants with subscribers; a refused write
//! keeps none; two dispatchers claiming at once never take the same delivery; a claim
//! keeps others off until it ends; delivered rows go, failed ones stay and are counted.

mod common;

use common::*;
use midoffice_domain::contact::Outcome;
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
