//! Replicas are stateless: two `midoffice serve` processes (the real binary) on one
//! PostgreSQL database serve any call. Writers on both, at once, act on the same
//! citizens (the same BSNs, e-mail addresses and phone numbers from both processes,
//! weak parties merged into strong ones), each contact started on one process and
//! completed (resolved or referred, the same matter) on the other. Then it must hold:
//! one party per citizen, one case per matter, every contact readable on the process
//! that did not write it, and figures whose counts equal what the two processes
//! acknowledged, the same from either. A figure series one process keeps in memory
//! shows a contact the other wrote next.
//!
//! PostgreSQL only (SQLite is one file for one server): ignored without
//! `MIDOFFICE_TEST_DATABASE_URL`, failing without it under `MIDOFFICE_REQUIRE_POSTGRES=1`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use midoffice_tests::pb::contact_service_client::ContactServiceClient;
use midoffice_tests::pb::{self, Channel, PartyStatus, referral_target};
use midoffice_tests::{
    TestDatabase, bsn, citizen_identifiers, citizen_identifiers_apart, contact_on, context_on,
    figures_2026_on, party_status, request, resolved, start, valid_bsns,
};
use tokio::sync::Barrier;

mod common;
use common::{channel, launch, monthly_contacts, on_scratch_postgres};

/// The tenant of this test.
const TENANT: &str = "gemeente-r";
/// Writers, half of them starting on each process.
const WRITERS: usize = 8;
/// Rounds per writer: a shared citizen's contact and the writer's own citizen's.
const ROUNDS: usize = 6;
/// Citizens every writer acts on.
const CITIZENS: usize = 4;
/// The matter of the shared citizens' contacts.
const TOPIC: &str = "paspoort";

/// One acknowledged contact: whose, started on which process, and whether it was
/// referred.
struct Made {
    shared: bool,
    citizen: usize,
    id: String,
    started_on: usize,
    referred: bool,
}

/// Starts a contact on `starter`, completes it on `completer` (referred to a
/// department, or resolved); answers the contact's id.
async fn start_here_complete_there(
    starter: &mut ContactServiceClient<tonic::transport::Channel>,
    completer: &mut ContactServiceClient<tonic::transport::Channel>,
    s: pb::ContactStart,
    referred: bool,
) -> String {
    let contact = starter
        .start_contact(request(
            TENANT,
            pb::StartContactRequest {
                request_id: String::new(),
                start: Some(s),
            },
        ))
        .await
        .unwrap_or_else(|s| panic!("a concurrent start failed: {s:?}"))
        .into_inner()
        .contact
        .expect("a start answers its contact");
    let mut completion = resolved(
        "2026-03-09T10:01:00+01:00",
        "2026-03-09T10:05:00+01:00",
        "Vraag over een paspoort.",
    );
    if referred {
        completion.outcome = pb::Outcome::Referred as i32;
        completion.referred_to = Some(pb::ReferralTarget {
            target: Some(referral_target::Target::Department("burgerzaken".into())),
        });
    }
    completer
        .complete_contact(request(
            TENANT,
            pb::CompleteContactRequest {
                request_id: String::new(),
                contact_id: contact.id.clone(),
                completion: Some(completion),
            },
        ))
        .await
        .unwrap_or_else(|s| panic!("a completion on the other process failed: {s:?}"));
    contact.id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(postgres_skipped, ignore = "no MIDOFFICE_TEST_DATABASE_URL")]
async fn two_processes_on_one_postgresql_keep_one_party_per_citizen_and_counts_that_add_up() {
    let TestDatabase::Postgres(base_url) = TestDatabase::postgres() else {
        unreachable!("TestDatabase::postgres is PostgreSQL");
    };
    on_scratch_postgres(&base_url, |url, _| two_processes(url)).await;
}

async fn two_processes(url: String) {
    let binary = Path::new(env!("CARGO_BIN_EXE_midoffice"));
    let dirs = [
        tempfile::tempdir().expect("a temp folder"),
        tempfile::tempdir().expect("a temp folder"),
    ];
    // One after the other: the first migrates the new database, the second finds it
    // up to date.
    let first = launch(binary, &url, dirs[0].path()).await;
    let second = launch(binary, &url, dirs[1].path()).await;
    let urls = [first.url.clone(), second.url.clone()];

    let shared = valid_bsns(0, CITIZENS);
    let own = valid_bsns(50_000, WRITERS);
    let barrier = Arc::new(Barrier::new(WRITERS));
    let mut tasks = Vec::new();
    for (w, mine) in own.iter().cloned().enumerate() {
        // Writer `w` starts on process `(w / CITIZENS) % 2` and completes on the other:
        // the two writers that act on one citizen in a round (`w` and `w + CITIZENS`)
        // start on different processes, so first contacts for one BSN race across them.
        let here = (w / CITIZENS) % 2;
        let mut clients = [
            ContactServiceClient::new(channel(&urls[0]).await),
            ContactServiceClient::new(channel(&urls[1]).await),
        ];
        let (barrier, shared) = (Arc::clone(&barrier), shared.clone());
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let [a, b] = &mut clients;
            let (starter, completer) = if here == 0 { (a, b) } else { (b, a) };
            let mut made = Vec::new();
            for round in 0..ROUNDS {
                let c = (w + round) % CITIZENS;
                // As in parallel_writes: the six ways of giving a citizen's identifiers
                // in turn, so weak parties are made on one process and merged into the
                // BSN's party by a write on the other.
                let given = citizen_identifiers(&shared[c], c, w + 2 * round);
                let referred = (w + round) % 3 == 0;
                let s = start(
                    Channel::Phone,
                    "2026-03-09T10:00:00+01:00",
                    Some(given),
                    TOPIC,
                );
                let id = start_here_complete_there(starter, completer, s, referred).await;
                made.push(Made {
                    shared: true,
                    citizen: c,
                    id,
                    started_on: here,
                    referred,
                });
                // The writer's own citizen, started on the other process this time.
                let s = start(
                    Channel::Counter,
                    "2026-03-09T10:00:00+01:00",
                    Some(bsn(&mine)),
                    "parkeervergunning",
                );
                let id = start_here_complete_there(completer, starter, s, false).await;
                made.push(Made {
                    shared: false,
                    citizen: w,
                    id,
                    started_on: 1 - here,
                    referred: false,
                });
            }
            made
        }));
    }
    let mut made = Vec::new();
    for t in tasks {
        made.extend(t.await.expect("a writer panicked"));
    }
    assert_eq!(made.len(), 2 * WRITERS * ROUNDS);
    let channels = [channel(&urls[0]).await, channel(&urls[1]).await];

    // Every identifier of a shared citizen leads to one known party, the same on both
    // processes, and no two citizens share one.
    let mut shared_parties = BTreeMap::new();
    for (c, number) in shared.iter().enumerate() {
        let mut found = BTreeSet::new();
        for given in citizen_identifiers_apart(number, c) {
            for ch in &channels {
                let context = context_on(ch.clone(), TENANT, given.clone()).await;
                assert_eq!(party_status(&context), PartyStatus::Known, "citizen {c}");
                found.insert(context.party.expect("a party").id);
            }
        }
        assert_eq!(found.len(), 1, "one citizen, one party: {found:?}");
        shared_parties.insert(found.into_iter().next().expect("a party"), c);
    }
    assert_eq!(shared_parties.len(), CITIZENS, "two citizens share a party");

    // Each contact, read on the process that did not start it, is on its citizen's
    // party and on that party's one case of the matter.
    let mut cases_of: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut own_parties = BTreeSet::new();
    for m in &made {
        let stored = contact_on(channels[1 - m.started_on].clone(), TENANT, &m.id).await;
        assert!(!stored.ambiguous, "no contact is ambiguous: {stored:?}");
        if m.shared {
            assert_eq!(
                shared_parties.get(&stored.party_id),
                Some(&m.citizen),
                "a contact lost in a merge, or on another citizen's party"
            );
        } else {
            own_parties.insert(stored.party_id.clone());
        }
        cases_of
            .entry(stored.party_id)
            .or_default()
            .insert(stored.case_id);
    }
    assert_eq!(own_parties.len(), WRITERS, "one party per own citizen");
    for (party, cases) in &cases_of {
        assert_eq!(cases.len(), 1, "one matter, one case on {party}: {cases:?}");
    }

    // The counts add up to what the two processes acknowledged, the same on both.
    let referred = made.iter().filter(|m| m.referred).count();
    let mut referrals_per_citizen = BTreeMap::new();
    for m in made.iter().filter(|m| m.referred) {
        *referrals_per_citizen.entry(m.citizen).or_insert(0) += 1;
    }
    let referred_more_than_once = referrals_per_citizen.values().filter(|n| **n > 1).count();
    let on_first = figures_2026_on(channels[0].clone(), TENANT).await;
    let on_second = figures_2026_on(channels[1].clone(), TENANT).await;
    assert_eq!(
        on_first, on_second,
        "the two processes answer other figures"
    );
    assert_eq!(on_first.contacts, made.len() as u64);
    assert_eq!(on_first.cases, (CITIZENS + WRITERS) as u64);
    let rate = on_first.referral_rate.expect("a referral rate");
    let expected = referred as f64 / made.len() as f64;
    assert!(
        (rate - expected).abs() < 1e-9,
        "referral rate {rate}, expected {referred}/{} = {expected}",
        made.len()
    );
    assert_eq!(
        on_first.cases_referred_more_than_once, referred_more_than_once as u64,
        "cases referred more than once"
    );

    // A series the first process keeps in memory shows a contact the second writes
    // next: each process checks the shared day counters, not only its own writes.
    let before = monthly_contacts(channels[0].clone(), TENANT).await;
    assert_eq!(before[2], made.len() as u64, "March: {before:?}");
    let mut on_second = ContactServiceClient::new(channels[1].clone());
    let mut again = ContactServiceClient::new(channels[1].clone());
    let s = start(
        Channel::Email,
        "2026-03-09T10:00:00+01:00",
        Some(bsn(&shared[0])),
        TOPIC,
    );
    start_here_complete_there(&mut on_second, &mut again, s, false).await;
    let after = monthly_contacts(channels[0].clone(), TENANT).await;
    assert_eq!(
        after[2],
        before[2] + 1,
        "the kept March is stale: {after:?}"
    );
    assert_eq!(after[..2], before[..2]);

    drop((first, second));
}
