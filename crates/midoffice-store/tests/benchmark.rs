//! A tenant's benchmark counts through the real store on SQLite and PostgreSQL: equal
//! to the domain's computation over the same contacts with the benchmark's settings
//! (`benchmark::settings_for`), whatever the tenant's own windows; the registration
//! counted by the database as the domain counts it; other tenants' contacts left out.

mod common;

use chrono::Datelike;
use common::*;
use midoffice_domain::benchmark::{BenchmarkPeriod, MetricRef, Registration, counts, settings_for};
use midoffice_domain::contact::{Channel, Outcome};
use midoffice_domain::figures::{Filter, Period};
use midoffice_domain::settings::TenantSettings;
use midoffice_domain::{Instant, TenantId};
use midoffice_store::Store;

/// The reference: the domain's figures and thermometer over the stored facts, computed
/// by the store from the facts only, with the tenant's settings replaced by the
/// benchmark's (what `benchmark_counts` must give without replacing anything).
async fn reference(
    store: &Store,
    t: &TenantId,
    own: &TenantSettings,
    period: BenchmarkPeriod,
    as_of: Instant,
) -> std::collections::BTreeMap<MetricRef, midoffice_domain::benchmark::Count> {
    store.replace_settings(t, settings_for(own)).await.unwrap();
    let p: Period = period.period(as_of);
    let f = store
        .figures(t, p, vec![Filter::default()], true)
        .await
        .unwrap()
        .answer
        .remove(0);
    let norms = store.thermometer(t, p, true).await.unwrap().answer;
    store.replace_settings(t, own.clone()).await.unwrap();
    counts(&f, &norms, own.benchmark.size)
}

database_test!(benchmark_counts_equal_the_domain_computation);
async fn benchmark_counts_equal_the_domain_computation(backend: Backend) {
    on_backend!(backend, |_db, store| {
        let t = tenant();
        let mut own = TenantSettings {
            // The tenant's own channel-hop window (1 hour) is not the benchmark's (48 h).
            channel_hop_window_secs: 3600,
            ..TenantSettings::default()
        };
        own.benchmark.opted_in = true;
        own.benchmark.size = 20_000;
        own.benchmark.peer_group = Some(code("g4-plus"));
        store.replace_settings(&t, own.clone()).await.unwrap();

        let started = |ids, minute| {
            let store = &store;
            let t = &t;
            Box::pin(async move {
                store
                    .start_contact(t, &caller(), start(ids, Some("paspoort"), minute), None)
                    .await
                    .unwrap()
                    .contact
                    .contact
                    .id
            })
        };
        let complete = |id, e| {
            let store = &store;
            let t = &t;
            Box::pin(async move {
                store
                    .complete_contact(t, &caller(), id, Ok(e), None, now())
                    .await
                    .unwrap();
            })
        };
        // A citizen writes on the web, is to be called back and comes to the counter
        // three hours later: a channel hop within the benchmark's 48 hours, not within
        // the tenant's hour.
        let mut web = start(vec![bsn(BSN_A)], Some("paspoort"), 10);
        web.channel = Channel::Web;
        let c1 = Box::pin(store.start_contact(&t, &caller(), web, None))
            .await
            .unwrap()
            .contact
            .contact
            .id;
        complete(c1, end(Outcome::Callback, 10, 15, Some("paspoort kwijt"))).await;
        let mut again = start(vec![bsn(BSN_A)], Some("paspoort"), 190);
        again.channel = Channel::Counter;
        let c2 = Box::pin(store.start_contact(&t, &caller(), again, None))
            .await
            .unwrap()
            .contact
            .contact
            .id;
        complete(c2, end(Outcome::Resolved, 190, 200, None)).await;
        // Anonymous and abandoned.
        let c3 = started(vec![], 300).await;
        complete(c3, end(Outcome::Abandoned, 300, 301, None)).await;
        // Left open: no outcome.
        started(vec![bsn(BSN_B)], 400).await;
        // Completed after the earlier `as_of` below.
        let c5 = started(vec![email(EMAIL)], 500).await;
        complete(c5, end(Outcome::Resolved, 500, 700, None)).await;
        // Started after the earlier `as_of` (and left open).
        started(vec![phone(PHONE)], 800).await;
        // Another tenant's contact counts for that tenant only.
        let other = TenantId::parse("gemeente-ander").unwrap();
        Box::pin(store.start_contact(&other, &caller(), start(vec![], None, 20), None))
            .await
            .unwrap();

        let period = BenchmarkPeriod::Year {
            year: own.calendar.local_date(at(0)).year(),
        };
        let later = now();
        let earlier = at(600);
        for (as_of, registration) in [
            (
                later,
                Registration {
                    contacts: 6,
                    anonymous: 1,
                    without_outcome: 2,
                },
            ),
            (
                earlier,
                Registration {
                    contacts: 5,
                    anonymous: 1,
                    without_outcome: 2,
                },
            ),
        ] {
            let got = Box::pin(store.benchmark_counts(&t, period, as_of))
                .await
                .unwrap();
            assert_eq!(got.registration, registration, "as of {as_of}");
            assert_eq!(got.taking_part, own.benchmark);
            assert_eq!(got.period, period);
            let expected = Box::pin(reference(&store, &t, &own, period, as_of)).await;
            assert_eq!(got.counts, expected, "as of {as_of}");
        }

        let got = store.benchmark_counts(&t, period, later).await.unwrap();
        let get = |id: &str| {
            got.counts[&MetricRef {
                id: id.into(),
                version: 1,
            }]
        };
        assert_eq!(get("contacts-per-1000").numerator, 6);
        assert_eq!(get("contacts-per-1000").denominator, 20_000);
        // The channel hop counts with the benchmark's window, not the tenant's own.
        assert_eq!(get("channel-hop-rate").numerator, 1);
        let mine = store
            .figures(&t, period.period(later), vec![Filter::default()], true)
            .await
            .unwrap()
            .answer
            .remove(0);
        assert_eq!(mine.channel_hops, 0);

        let theirs = store.benchmark_counts(&other, period, later).await.unwrap();
        assert_eq!(
            theirs.registration,
            Registration {
                contacts: 1,
                anonymous: 1,
                without_outcome: 1,
            }
        );
        assert_eq!(theirs.taking_part, Default::default());
    });
}
