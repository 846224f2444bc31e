//! A tenant's benchmark counts through the real store on SQLite and PostgreSQL: equal
//! to the domain's computation over the same contacts with the benchmark's settings
//! (`benchmark::settings_for`), whatever the tenant's own windows; the registration
//! counted by the database as the domain counts it; other tenants' contacts left out.
//!
//! Groups composed per period: their figures equal a direct computation over the
//! members' own counts and imported summaries; every disclosure rule holds on them; the
//! membership is fixed (nothing joins after, nothing is stored before it is due nor
//! after its deadline); whether a member is named is taken when read; an imported
//! summary of a tenant of this deployment never makes it a member; four composers at
//! once make one composition, and imports of one summary at once all succeed.

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

// ---- Groups composed per period: fixed membership, figures, disclosure, races. ----

use midoffice_domain::Code;
use midoffice_domain::benchmark::{
    Count, Disclosure, GroupValue, Own, Participant, composable_from, compose_deadline,
    group_figures, metrics, own_view,
};
use midoffice_domain::contact::ReferralTarget;
use midoffice_store::benchmark_summary::Summary;
use midoffice_store::{ComposedGroup, GroupState, Imported};
use std::collections::{BTreeMap, BTreeSet};

/// A tenant taking part in `group` with `size` inhabitants.
async fn take_part(store: &Store, t: &TenantId, group: &str, size: u64) {
    let mut s = TenantSettings::default();
    s.benchmark.opted_in = true;
    s.benchmark.size = size;
    s.benchmark.peer_group = Some(code(group));
    store.replace_settings(t, s).await.unwrap();
}

/// `n` contacts of `t`, each of its own citizen, a minute apart from `first`: the first
/// `referred` of them referred on, the rest resolved.
async fn seed(store: &Store, t: &TenantId, first: i64, n: i64, referred: i64) {
    for i in 0..n {
        let minute = first + i;
        let who = email(&format!("burger{}@example.nl", first + i));
        let id = Box::pin(store.start_contact(
            t,
            &caller(),
            start(vec![who], Some("paspoort"), minute),
            None,
        ))
        .await
        .unwrap()
        .contact
        .contact
        .id;
        let mut e = end(Outcome::Resolved, minute, minute, None);
        if i < referred {
            e.outcome = Outcome::Referred;
            e.referred_to = Some(ReferralTarget::Channel(Channel::Web));
        }
        Box::pin(store.complete_contact(t, &caller(), id, Ok(e), None, now()))
            .await
            .unwrap();
    }
}

/// Keeps a summary as if its signature had been verified (the store takes the
/// signature as given; the CLI's tests check real ones).
async fn import(store: &Store, summary: &Summary) -> Imported {
    store
        .import_benchmark_summary(summary, "c2ln", now())
        .await
        .unwrap()
}

/// A summary of participant `id` in `group` for `period`: every metric with `items`
/// items, `met_per_mille`‰ of them met (and the volumes over `size`).
fn summary(
    id: &str,
    group: &str,
    period: BenchmarkPeriod,
    as_of: Instant,
    registration: Registration,
    items: u64,
    met_per_mille: u64,
) -> Summary {
    let size = 10_000 + 1000 * met_per_mille;
    Summary {
        participant: code(id),
        group: code(group),
        period,
        as_of: chrono::DateTime::from_timestamp(as_of.timestamp(), 0).unwrap(),
        size,
        named: met_per_mille.is_multiple_of(2),
        registration,
        counts: metrics()
            .iter()
            .map(|m| {
                let count = match m.unit {
                    midoffice_domain::benchmark::Unit::PerThousandInhabitants => Count {
                        numerator: items,
                        denominator: size,
                        items,
                    },
                    midoffice_domain::benchmark::Unit::Mean { .. } => Count {
                        numerator: items * (1 + met_per_mille % 5),
                        denominator: items,
                        items,
                    },
                    midoffice_domain::benchmark::Unit::Share => Count {
                        numerator: items * met_per_mille / 1000,
                        denominator: items,
                        items,
                    },
                };
                (m.reference(), count)
            })
            .collect(),
    }
}

const COMPLETE: Registration = Registration {
    contacts: 1000,
    anonymous: 100,
    without_outcome: 10,
};

/// The type-7 quantile, written out again here so the test does not lean on the
/// helper it checks.
fn q7(values: &[f64], p: f64) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let h = (v.len() - 1) as f64 * p;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(v.len() - 1);
    v[lo] + (h - lo as f64) * (v[hi] - v[lo])
}

fn due(period: BenchmarkPeriod) -> Instant {
    composable_from(period, 7) + chrono::TimeDelta::hours(1)
}

fn composed(state: GroupState) -> ComposedGroup {
    match state {
        GroupState::Composed(c) => c,
        GroupState::NotYet { composable_from } => {
            panic!("not composed: not before {composable_from}")
        }
        GroupState::TooLate { deadline } => panic!("not composed: too late since {deadline}"),
    }
}

fn this_year() -> BenchmarkPeriod {
    BenchmarkPeriod::Year {
        year: TenantSettings::default().calendar.local_date(at(0)).year(),
    }
}

database_test!(a_composed_groups_figures_equal_a_direct_computation);
async fn a_composed_groups_figures_equal_a_direct_computation(backend: Backend) {
    on_backend!(backend, |_db, store| {
        let period = this_year();
        let group = code("g-direct");
        // Three local tenants taking part, with enough contacts to contribute.
        let locals: Vec<(TenantId, u64)> = [
            ("gemeente-l1", 31),
            ("gemeente-l2", 36),
            ("gemeente-l3", 40),
        ]
        .iter()
        .enumerate()
        .map(|(i, (t, n))| (TenantId::parse(t).unwrap(), *n + i as u64))
        .collect();
        for (i, (t, n)) in locals.iter().enumerate() {
            take_part(&store, t, "g-direct", 20_000 + 5_000 * i as u64).await;
            Box::pin(seed(
                &store,
                t,
                1000 * i as i64,
                *n as i64,
                3 * i as i64 + 2,
            ))
            .await;
        }
        // Not members: another group's tenant, and a tenant not taking part.
        let elsewhere = TenantId::parse("gemeente-elders").unwrap();
        take_part(&store, &elsewhere, "g-other", 30_000).await;
        Box::pin(seed(&store, &elsewhere, 2100, 2, 0)).await;
        let not_in = TenantId::parse("gemeente-niet").unwrap();
        Box::pin(seed(&store, &not_in, 2200, 2, 0)).await;
        // Imported summaries: four of the group, one flagged, one of another period,
        // and one naming a local tenant (the local one wins).
        let as_of = due(period) - chrono::TimeDelta::days(3);
        let mut imported = Vec::new();
        for (i, per_mille) in [120, 340, 80, 560].into_iter().enumerate() {
            imported.push(summary(
                &format!("extern-{i}"),
                "g-direct",
                period,
                as_of,
                COMPLETE,
                40 + i as u64,
                per_mille,
            ));
        }
        let flagged = Registration {
            contacts: 100,
            anonymous: 60,
            without_outcome: 0,
        };
        imported.push(summary(
            "extern-vlag",
            "g-direct",
            period,
            as_of,
            flagged,
            50,
            990,
        ));
        for s in &imported {
            assert_eq!(
                store
                    .import_benchmark_summary(s, "c2ln", now())
                    .await
                    .unwrap(),
                Imported::Stored
            );
        }
        let other_period = BenchmarkPeriod::Year { year: 2001 };
        import(
            &store,
            &summary(
                "extern-oud",
                "g-direct",
                other_period,
                as_of,
                COMPLETE,
                40,
                500,
            ),
        )
        .await;
        import(
            &store,
            &summary("gemeente-l1", "g-direct", period, as_of, COMPLETE, 99, 900),
        )
        .await;

        let got = composed(
            Box::pin(store.compose_benchmark_group(&group, period, due(period), 7))
                .await
                .unwrap(),
        );
        let composed_at = got.composed_at;
        assert_eq!(composed_at.timestamp_subsec_nanos(), 0, "whole seconds");
        assert!(
            composed_at <= due(period) && composed_at > due(period) - chrono::TimeDelta::seconds(1)
        );
        let expected_members: BTreeSet<Code> = locals
            .iter()
            .map(|(t, _)| code(t.as_str()))
            .chain(imported.iter().map(|s| s.participant.clone()))
            .collect();
        assert_eq!(got.group.members(), &expected_members);
        assert_eq!(got.group.group(), &group);
        assert_eq!(got.group.period(), period);
        assert_eq!(got.participants.len(), expected_members.len());

        // Each participant's figures, taken directly: the locals' own counts as known at
        // the composition, the imports as imported.
        let mut direct: BTreeMap<Code, Participant> = BTreeMap::new();
        for (i, (t, n)) in locals.iter().enumerate() {
            let c = Box::pin(store.benchmark_counts(t, period, composed_at))
                .await
                .unwrap();
            assert_eq!(c.registration.contacts, *n);
            direct.insert(
                code(t.as_str()),
                Participant {
                    id: code(t.as_str()),
                    size: 20_000 + 5_000 * i as u64,
                    named: false,
                    registration: c.registration,
                    counts: c.counts,
                },
            );
        }
        for s in &imported {
            direct.insert(s.participant.clone(), s.participant());
        }
        for p in &got.participants {
            assert_eq!(Some(p), direct.get(&p.id), "{}", p.id.as_str());
        }

        let rules = Disclosure::default();
        let figures = group_figures(&got.group, &got.participants, &rules);
        assert_eq!(figures.participants, expected_members.len());
        let mut shown = 0;
        for f in &figures.figures {
            let min = if f.metric.id == "satisfaction" {
                50
            } else {
                30
            };
            let values: Vec<f64> = direct
                .values()
                .filter(|p| p.registration.anonymous * 2 <= p.registration.contacts)
                .filter_map(|p| {
                    let c = p.counts[&f.metric.reference()];
                    let v = c.numerator as f64 / c.denominator as f64;
                    let v = if f.metric.id.ends_with("-per-1000") {
                        1000.0 * v
                    } else {
                        v
                    };
                    (c.items >= min && c.denominator > 0).then_some(v)
                })
                .collect();
            match f.value {
                GroupValue::Shown {
                    contributors,
                    quartiles,
                } => {
                    shown += 1;
                    assert_eq!(contributors, values.len(), "{}", f.metric.id);
                    for (q, p) in [
                        (quartiles.q1, 0.25),
                        (quartiles.median, 0.5),
                        (quartiles.q3, 0.75),
                    ] {
                        assert!((q - q7(&values, p)).abs() < 1e-9, "{} at {p}", f.metric.id);
                    }
                }
                GroupValue::Withheld => assert!(values.len() < 5, "{}: {values:?}", f.metric.id),
            }
        }
        // Locals and imports together make groups of at least 5 for some metrics.
        assert!(shown > 0);
        let contacts = figures
            .figures
            .iter()
            .find(|f| f.metric.id == "contacts-per-1000")
            .unwrap();
        assert!(
            matches!(
                contacts.value,
                GroupValue::Shown {
                    contributors: 7,
                    ..
                }
            ),
            "{contacts:?}"
        );

        // Read back without composing: the same; the periods list it.
        assert_eq!(
            store.benchmark_group(&group, period).await.unwrap(),
            Some(got.clone())
        );
        assert_eq!(
            store.benchmark_periods(&group).await.unwrap(),
            vec![(period, composed_at)]
        );
        assert_eq!(
            store.benchmark_groups().await.unwrap(),
            [code("g-direct"), code("g-other")].into_iter().collect()
        );
    });
}

database_test!(every_disclosure_rule_holds_on_a_composed_group);
async fn every_disclosure_rule_holds_on_a_composed_group(backend: Backend) {
    on_backend!(backend, |_db, store| {
        let period = BenchmarkPeriod::Month {
            year: 2025,
            month: 3,
        };
        let group = code("g-rules");
        let as_of = at(0);
        // Four complete participants on 30 items each; a fifth on 29; a sixth flagged
        // (60 % anonymous) on 30.
        let flagged = Registration {
            contacts: 100,
            anonymous: 60,
            without_outcome: 0,
        };
        let mut all = Vec::new();
        for (i, per_mille) in [100, 300, 500, 700].into_iter().enumerate() {
            all.push(summary(
                &format!("p{i}"),
                "g-rules",
                period,
                as_of,
                COMPLETE,
                30,
                per_mille,
            ));
        }
        all.push(summary("p-29", "g-rules", period, as_of, COMPLETE, 29, 900));
        all.push(summary(
            "p-vlag", "g-rules", period, as_of, flagged, 30, 950,
        ));
        for s in &all {
            import(&store, s).await;
        }
        let got = composed(
            store
                .compose_benchmark_group(&group, period, due(period), 7)
                .await
                .unwrap(),
        );
        assert_eq!(
            got.group.members().len(),
            6,
            "the flagged one is still a member"
        );
        let rules = Disclosure::default();
        let figures = group_figures(&got.group, &got.participants, &rules);
        assert_eq!(figures.participants, 6);
        let referral = figures
            .figures
            .iter()
            .find(|f| f.metric.id == "referral-rate")
            .unwrap();
        // Four contribute (29 items is too few, the flagged one is left out): nothing shown.
        assert_eq!(referral.value, GroupValue::Withheld);

        // With a fifth participant on exactly 30 items, in a group of its own, it shows.
        let other = BenchmarkPeriod::Month {
            year: 2025,
            month: 4,
        };
        for (i, per_mille) in [100, 300, 500, 700, 900].into_iter().enumerate() {
            import(
                &store,
                &summary(
                    &format!("p{i}"),
                    "g-rules",
                    other,
                    as_of,
                    COMPLETE,
                    30,
                    per_mille,
                ),
            )
            .await;
        }
        import(
            &store,
            &summary("p-vlag", "g-rules", other, as_of, flagged, 30, 10),
        )
        .await;
        let five = composed(
            store
                .compose_benchmark_group(&group, other, due(other), 7)
                .await
                .unwrap(),
        );
        let figures = group_figures(&five.group, &five.participants, &rules);
        let referral = figures
            .figures
            .iter()
            .find(|f| f.metric.id == "referral-rate")
            .unwrap();
        match referral.value {
            GroupValue::Shown {
                contributors,
                quartiles,
            } => {
                assert_eq!(contributors, 5, "the flagged one does not contribute");
                // 0.1, 0.3, 0.5, 0.7, 0.9: the flagged one's 0.0 would move Q1 to 0.15.
                assert!((quartiles.q1 - 0.3).abs() < 1e-9, "{quartiles:?}");
                assert!((quartiles.median - 0.5).abs() < 1e-9, "{quartiles:?}");
            }
            GroupValue::Withheld => panic!("five on 30 items are shown"),
        }

        // The one on 29 items sees its value withheld, the flagged one sees its own
        // value, why it is flagged, and no position.
        let mine = own_view(&got.group, &got.participants, &rules, &code("p-29")).unwrap();
        let r = mine
            .figures
            .iter()
            .find(|f| f.metric.id == "referral-rate")
            .unwrap();
        assert_eq!(r.own, Own::TooFewItems { items: 29, min: 30 });
        assert_eq!(r.position, None);
        let theirs = own_view(&five.group, &five.participants, &rules, &code("p-vlag")).unwrap();
        assert!(!theirs.flags.is_empty());
        assert!(theirs.figures.iter().all(|f| f.position.is_none()));
        let r = theirs
            .figures
            .iter()
            .find(|f| f.metric.id == "referral-rate")
            .unwrap();
        assert!(matches!(r.own, Own::Shown { .. }));
        let p0 = own_view(&five.group, &five.participants, &rules, &code("p0")).unwrap();
        let r = p0
            .figures
            .iter()
            .find(|f| f.metric.id == "referral-rate")
            .unwrap();
        assert!(r.position.is_some());
    });
}

database_test!(a_composed_group_is_fixed);
async fn a_composed_group_is_fixed(backend: Backend) {
    on_backend!(backend, |db, store| {
        let period = this_year();
        let group = code("g-vast");
        let t1 = TenantId::parse("gemeente-een").unwrap();
        take_part(&store, &t1, "g-vast", 10_000).await;
        Box::pin(seed(&store, &t1, 0, 2, 1)).await;
        let as_of = at(0);
        import(
            &store,
            &summary("extern-a", "g-vast", period, as_of, COMPLETE, 40, 200),
        )
        .await;

        // Before it is due: not composed, nothing stored.
        let from = composable_from(period, 7);
        let early = from - chrono::TimeDelta::seconds(1);
        assert_eq!(
            store
                .compose_benchmark_group(&group, period, early, 7)
                .await
                .unwrap(),
            GroupState::NotYet {
                composable_from: from
            }
        );
        assert_eq!(store.benchmark_group(&group, period).await.unwrap(), None);
        assert!(store.benchmark_periods(&group).await.unwrap().is_empty());
        let raw = db.raw().await;
        assert_eq!(count(&raw, "SELECT COUNT(*) FROM benchmark_group").await, 0);
        assert_eq!(
            count(&raw, "SELECT COUNT(*) FROM benchmark_member").await,
            0
        );

        let first = composed(
            Box::pin(store.compose_benchmark_group(&group, period, from, 7))
                .await
                .unwrap(),
        );
        assert_eq!(first.composed_at, from);
        let members = |c: &ComposedGroup| {
            c.group
                .members()
                .iter()
                .map(|m| m.as_str().to_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(members(&first), ["extern-a", "gemeente-een"]);

        // After: a tenant that opts in, a new import, a newer import of a member, the
        // member tenant leaving, more contacts: nothing changes.
        let t2 = TenantId::parse("gemeente-twee").unwrap();
        take_part(&store, &t2, "g-vast", 10_000).await;
        import(
            &store,
            &summary("extern-b", "g-vast", period, as_of, COMPLETE, 40, 300),
        )
        .await;
        assert_eq!(
            store
                .import_benchmark_summary(
                    &summary("extern-a", "g-vast", period, at(10), COMPLETE, 80, 900),
                    "c2ln",
                    now()
                )
                .await
                .unwrap(),
            Imported::Replaced
        );
        Box::pin(seed(&store, &t1, 100, 3, 0)).await;
        store
            .replace_settings(&t1, TenantSettings::default())
            .await
            .unwrap();
        let later = from + chrono::TimeDelta::days(40);
        let again = composed(
            Box::pin(store.compose_benchmark_group(&group, period, later, 7))
                .await
                .unwrap(),
        );
        assert_eq!(again, first);
        assert_eq!(
            store.benchmark_group(&group, period).await.unwrap(),
            Some(first.clone())
        );
        // The imports are still kept.
        assert_eq!(
            store.benchmark_imports(&group, period).await.unwrap().len(),
            2
        );

        // Periods: newest end first, then the longer.
        let mut composed_periods = vec![(period, first.composed_at)];
        for key in ["2025-11", "2025", "2025-Q4", "2025-12"] {
            let p = BenchmarkPeriod::parse(key).unwrap();
            let c = composed(
                Box::pin(store.compose_benchmark_group(&group, p, due(p), 7))
                    .await
                    .unwrap(),
            );
            composed_periods.push((p, c.composed_at));
        }
        let listed: Vec<String> = store
            .benchmark_periods(&group)
            .await
            .unwrap()
            .iter()
            .map(|(p, _)| p.key())
            .collect();
        assert_eq!(
            listed,
            [
                period.key().as_str(),
                "2025",
                "2025-Q4",
                "2025-12",
                "2025-11"
            ]
        );
        for (p, at) in store.benchmark_periods(&group).await.unwrap() {
            assert!(composed_periods.contains(&(p, at)));
        }
    });
}

database_test!(concurrent_compositions_make_one);
async fn concurrent_compositions_make_one(backend: Backend) {
    on_backend!(backend, |db, store| {
        let period = this_year();
        let group = code("g-race");
        for (i, name) in ["gemeente-r1", "gemeente-r2"].iter().enumerate() {
            let t = TenantId::parse(name).unwrap();
            take_part(&store, &t, "g-race", 10_000).await;
            Box::pin(seed(&store, &t, 100 * i as i64, 3, 1)).await;
        }
        import(
            &store,
            &summary("extern-r", "g-race", period, at(0), COMPLETE, 40, 200),
        )
        .await;
        // Four stores, as four processes would have (pools of their own), each at its
        // own instant: each finds nothing composed, computes, and races to insert.
        let stores = [
            db.store().await,
            db.store().await,
            db.store().await,
            db.store().await,
        ];
        let base = due(period);
        let go = |i: usize| {
            let s = stores[i].clone();
            let g = group.clone();
            tokio::spawn(async move {
                Box::pin(s.compose_benchmark_group(
                    &g,
                    period,
                    base + chrono::TimeDelta::seconds(i as i64),
                    7,
                ))
                .await
                .map(composed)
            })
        };
        let (a, b, c, d) = tokio::join!(go(0), go(1), go(2), go(3));
        let all: Vec<ComposedGroup> = [a, b, c, d]
            .into_iter()
            .map(|r| r.unwrap().unwrap())
            .collect();
        for c in &all {
            assert_eq!(c, &all[0]);
        }
        assert_eq!(all[0].group.members().len(), 3);
        let raw = db.raw().await;
        assert_eq!(count(&raw, "SELECT COUNT(*) FROM benchmark_group").await, 1);
        assert_eq!(
            count(&raw, "SELECT COUNT(*) FROM benchmark_member").await,
            3
        );
        assert_eq!(
            store.benchmark_group(&group, period).await.unwrap(),
            Some(all[0].clone())
        );
    });
}

database_test!(concurrent_imports_of_one_summary_do_not_fail);
async fn concurrent_imports_of_one_summary_do_not_fail(backend: Backend) {
    on_backend!(backend, |db, store| {
        let period = BenchmarkPeriod::Quarter {
            year: 2025,
            quarter: 1,
        };
        let stores: Vec<Store> = vec![
            db.store().await,
            db.store().await,
            db.store().await,
            store.clone(),
        ];
        let go = |i: usize| {
            let s = stores[i].clone();
            // As of different instants, the last the newest.
            let sum = summary(
                "extern-x",
                "g-import",
                period,
                at(i as i64 * 60),
                COMPLETE,
                40 + i as u64,
                100,
            );
            tokio::spawn(async move { s.import_benchmark_summary(&sum, "c2ln", now()).await })
        };
        let (a, b, c, d) = tokio::join!(go(0), go(1), go(2), go(3));
        let done: Vec<Imported> = [a, b, c, d]
            .into_iter()
            .map(|r| r.unwrap().unwrap())
            .collect();
        assert_eq!(
            done.iter().filter(|d| **d == Imported::Stored).count(),
            1,
            "{done:?}"
        );
        let kept = store
            .benchmark_imports(&code("g-import"), period)
            .await
            .unwrap();
        assert_eq!(kept.len(), 1);
        let newest = summary("extern-x", "g-import", period, at(180), COMPLETE, 43, 100);
        assert_eq!(
            kept[0].0,
            midoffice_store::benchmark_summary::canonical(&newest)
        );
        // Sequentially: older is not stored, equal replaces.
        let older = summary("extern-x", "g-import", period, at(0), COMPLETE, 40, 100);
        assert_eq!(
            store
                .import_benchmark_summary(&older, "c2ln", now())
                .await
                .unwrap(),
            Imported::KeptNewer
        );
        assert_eq!(
            store
                .import_benchmark_summary(&newest, "c2ln", now())
                .await
                .unwrap(),
            Imported::Replaced
        );
        let raw = db.raw().await;
        assert_eq!(
            count(&raw, "SELECT COUNT(*) FROM benchmark_import").await,
            1
        );
    });
}

database_test!(naming_is_taken_when_read_and_imports_of_local_tenants_are_left_out);
async fn naming_is_taken_when_read_and_imports_of_local_tenants_are_left_out(backend: Backend) {
    on_backend!(backend, |db, store| {
        let period = this_year();
        let group = code("g-naam");
        // A named local member; a tenant of this deployment that does not take part (it
        // exported once, and someone imported its summary here); another deployment's.
        let named = TenantId::parse("gemeente-genoemd").unwrap();
        let mut settings = TenantSettings::default();
        settings.benchmark.opted_in = true;
        settings.benchmark.size = 10_000;
        settings.benchmark.peer_group = Some(group.clone());
        settings.benchmark.named = true;
        store
            .replace_settings(&named, settings.clone())
            .await
            .unwrap();
        Box::pin(seed(&store, &named, 0, 2, 1)).await;
        let away = TenantId::parse("gemeente-weg").unwrap();
        store
            .replace_settings(&away, TenantSettings::default())
            .await
            .unwrap();
        for (id, per_mille) in [
            ("gemeente-weg", 200),
            ("gemeente-genoemd", 400),
            ("extern-n", 600),
        ] {
            import(
                &store,
                &summary(id, "g-naam", period, at(0), COMPLETE, 40, per_mille),
            )
            .await;
        }
        let first = composed(
            Box::pin(store.compose_benchmark_group(&group, period, due(period), 7))
                .await
                .unwrap(),
        );
        let named_ids = |c: &ComposedGroup| {
            c.participants
                .iter()
                .filter(|p| p.named)
                .map(|p| p.id.as_str().to_owned())
                .collect::<Vec<_>>()
        };
        let ids: Vec<&str> = first.group.members().iter().map(|m| m.as_str()).collect();
        assert_eq!(ids, ["extern-n", "gemeente-genoemd"]);
        assert_eq!(named_ids(&first), ["extern-n", "gemeente-genoemd"]);
        // The local tenant's own counts, not the summary imported of it.
        let raw = db.raw().await;
        assert_eq!(
            count(
                &raw,
                "SELECT COUNT(*) FROM benchmark_member WHERE participant = 'gemeente-genoemd' \
                 AND origin = 'local'"
            )
            .await,
            1
        );
        let figures = |c: &ComposedGroup| {
            c.participants
                .iter()
                .map(|p| (p.id.clone(), p.size, p.registration, p.counts.clone()))
                .collect::<Vec<_>>()
        };
        let read = || async {
            store
                .benchmark_group(&group, period)
                .await
                .unwrap()
                .unwrap()
        };

        // It withdraws its choice: no longer named, its figures as composed.
        settings.benchmark.named = false;
        store
            .replace_settings(&named, settings.clone())
            .await
            .unwrap();
        let now_read = read().await;
        assert_eq!(named_ids(&now_read), ["extern-n"]);
        assert_eq!(figures(&now_read), figures(&first));
        // And chooses to be named again later: named.
        settings.benchmark.named = true;
        store
            .replace_settings(&named, settings.clone())
            .await
            .unwrap();
        assert_eq!(named_ids(&read().await), ["extern-n", "gemeente-genoemd"]);
        // Named, but no longer taking part: named nowhere.
        settings.benchmark.opted_in = false;
        store
            .replace_settings(&named, settings.clone())
            .await
            .unwrap();
        assert_eq!(named_ids(&read().await), ["extern-n"]);
        // The imported member follows its newest kept summary; its figures stay.
        assert_eq!(
            store
                .import_benchmark_summary(
                    &summary("extern-n", "g-naam", period, at(10), COMPLETE, 80, 901),
                    "c2ln",
                    now()
                )
                .await
                .unwrap(),
            Imported::Replaced
        );
        let after = read().await;
        assert!(named_ids(&after).is_empty());
        assert_eq!(figures(&after), figures(&first));
        assert_eq!(after.composed_at, first.composed_at);
    });
}

database_test!(a_group_period_past_its_deadline_is_never_composed);
async fn a_group_period_past_its_deadline_is_never_composed(backend: Backend) {
    on_backend!(backend, |db, store| {
        let period = BenchmarkPeriod::parse("2001").unwrap();
        let group = code("g-laat");
        let t = TenantId::parse("gemeente-laat").unwrap();
        take_part(&store, &t, "g-laat", 10_000).await;
        let deadline = compose_deadline(period, 7);
        assert_eq!(
            deadline,
            composable_from(period, 7) + chrono::TimeDelta::days(92)
        );
        for late in [deadline, deadline + chrono::TimeDelta::days(9000)] {
            assert_eq!(
                store
                    .compose_benchmark_group(&group, period, late, 7)
                    .await
                    .unwrap(),
                GroupState::TooLate { deadline }
            );
        }
        assert_eq!(store.benchmark_group(&group, period).await.unwrap(), None);
        let raw = db.raw().await;
        assert_eq!(count(&raw, "SELECT COUNT(*) FROM benchmark_group").await, 0);
        assert_eq!(
            count(&raw, "SELECT COUNT(*) FROM benchmark_member").await,
            0
        );
        // A second before it: composed, and from then on read as composed even later.
        let last = deadline - chrono::TimeDelta::seconds(1);
        let c = composed(
            Box::pin(store.compose_benchmark_group(&group, period, last, 7))
                .await
                .unwrap(),
        );
        assert_eq!(c.composed_at, last);
        assert_eq!(
            composed(
                Box::pin(store.compose_benchmark_group(&group, period, deadline, 7))
                    .await
                    .unwrap()
            ),
            c
        );
    });
}
