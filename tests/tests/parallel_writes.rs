//! Writes of one tenant run side by side and still never make two parties for one
//! identifier, two open cases for one matter, or lose a merge: many writers at once on
//! different citizens of one tenant and on the same citizens (weak identifiers merged
//! into strong ones while other writers use them), then the counts must add up.
//!
//! The closed-loop benchmark of StartContact + CompleteContact at 8, 16 and 32
//! concurrent callers is here too (ignored by default; timing belongs there):
//!
//! ```text
//! MIDOFFICE_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
//!   cargo test --release -p midoffice-tests --test parallel_writes -- --ignored --nocapture
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use midoffice_tests::pb::contact_service_client::ContactServiceClient;
use midoffice_tests::pb::{self, Channel, PartyStatus};
use midoffice_tests::{
    Backend, TestDatabase, bsn, citizen_identifiers, citizen_identifiers_apart, database_test,
    on_backend, party_status, request, resolved, start, valid_bsns,
};
use tokio::sync::Barrier;

/// Starts a contact and completes it; answers the start's contact.
async fn start_and_complete(
    client: &mut ContactServiceClient<tonic::transport::Channel>,
    tenant: &str,
    s: pb::ContactStart,
) -> Result<pb::Contact, tonic::Status> {
    let started = client
        .start_contact(request(
            tenant,
            pb::StartContactRequest {
                request_id: String::new(),
                start: Some(s),
            },
        ))
        .await?
        .into_inner();
    let contact = started.contact.expect("a start answers its contact");
    client
        .complete_contact(request(
            tenant,
            pb::CompleteContactRequest {
                request_id: String::new(),
                contact_id: contact.id.clone(),
                completion: Some(resolved(
                    "2026-03-09T10:01:00+01:00",
                    "2026-03-09T10:05:00+01:00",
                    "Geholpen.",
                )),
            },
        ))
        .await?;
    Ok(contact)
}

/// Citizens per group, and what each writer does.
const CITIZENS: usize = 6;
const WRITERS: usize = 24;
const ROUNDS: usize = 4;

database_test!(
    many_writers_on_different_and_the_same_citizens_keep_one_party_and_one_open_case,
    flavor = "multi_thread",
    worker_threads = 4
);
async fn many_writers_on_different_and_the_same_citizens_keep_one_party_and_one_open_case(
    database: TestDatabase,
) {
    on_backend(database, |b| async move {
        let tenant = "gemeente-p";
        // Shared citizens: each known by a BSN, an e-mail address and a phone number.
        // Writers use every combination, so weak-only parties are made and then merged
        // into the BSN's party while other writers act on them. Own citizens: one per
        // writer, by BSN only, so writers of different citizens run side by side.
        let shared = valid_bsns(0, CITIZENS);
        let own = valid_bsns(50_000, WRITERS);
        let barrier = Arc::new(Barrier::new(WRITERS));
        let mut tasks = Vec::new();
        for (w, mine) in own.iter().cloned().enumerate() {
            let mut client = ContactServiceClient::new(b.new_channel().await);
            let barrier = Arc::clone(&barrier);
            let shared = shared.clone();
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                let mut made = Vec::new();
                for round in 0..ROUNDS {
                    let c = (w + round) % CITIZENS;
                    // Rotates over the six ways of giving a citizen's identifiers; each
                    // citizen gets four of them (those from its own number on), which
                    // together link all three whatever the order they are carried out in.
                    let given = citizen_identifiers(&shared[c], c, w + 2 * round);
                    let channel = if w % 2 == 0 {
                        Channel::Phone
                    } else {
                        Channel::Counter
                    };
                    let s = start(
                        channel,
                        "2026-03-09T10:00:00+01:00",
                        Some(given),
                        "paspoort",
                    );
                    made.push((
                        "shared",
                        c,
                        start_and_complete(&mut client, tenant, s).await,
                    ));
                    let s = start(
                        channel,
                        "2026-03-09T10:00:00+01:00",
                        Some(bsn(&mine)),
                        "parkeervergunning",
                    );
                    made.push(("own", w, start_and_complete(&mut client, tenant, s).await));
                }
                made
            }));
        }
        let mut made = Vec::new();
        for t in tasks {
            for (group, c, answer) in t.await.expect("a writer panicked") {
                let contact = answer.unwrap_or_else(|s| panic!("a concurrent write failed: {s:?}"));
                made.push((group, c, contact));
            }
        }
        assert_eq!(made.len(), 2 * WRITERS * ROUNDS);

        // Every BSN, e-mail address and phone number leads to one known party, the
        // same for the three identifiers of one citizen, and no two citizens share one.
        let mut shared_parties = BTreeSet::new();
        for (c, number) in shared.iter().enumerate() {
            let mut found = BTreeSet::new();
            for given in citizen_identifiers_apart(number, c) {
                let context = b.context(tenant, given).await;
                assert_eq!(party_status(&context), PartyStatus::Known, "citizen {c}");
                found.insert(context.party.expect("a party").id);
            }
            assert_eq!(found.len(), 1, "one citizen, one party: {found:?}");
            shared_parties.extend(found);
        }
        assert_eq!(shared_parties.len(), CITIZENS, "two citizens share a party");

        // Every contact, as stored now (after every merge), is on its citizen's party
        // and on that party's one case of the topic.
        let mut cases_of: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut own_parties = BTreeSet::new();
        for (group, c, contact) in &made {
            let stored = b.contact(tenant, &contact.id).await;
            assert!(!stored.ambiguous, "no contact is ambiguous: {stored:?}");
            assert!(!stored.party_id.is_empty(), "every contact has a party");
            if *group == "shared" {
                assert!(shared_parties.contains(&stored.party_id));
                let again = b
                    .context(tenant, bsn(&shared[*c]))
                    .await
                    .party
                    .expect("a party")
                    .id;
                assert_eq!(stored.party_id, again, "a contact lost in a merge");
            } else {
                own_parties.insert(stored.party_id.clone());
            }
            cases_of
                .entry(stored.party_id.clone())
                .or_default()
                .insert(stored.case_id.clone());
        }
        assert_eq!(own_parties.len(), WRITERS, "one party per own citizen");
        for (party, cases) in &cases_of {
            assert_eq!(cases.len(), 1, "one matter, one case on {party}: {cases:?}");
        }
        let figures = b.figures_2026(tenant).await;
        assert_eq!(figures.contacts, (2 * WRITERS * ROUNDS) as u64);
        assert_eq!(figures.cases, (CITIZENS + WRITERS) as u64);
    })
    .await;
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let at = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[at.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

/// `concurrency` callers, each on a connection of its own, start and complete contacts
/// of returning citizens (a pool of 4,000) one after another for `run`.
async fn closed_loop(b: &Backend, concurrency: usize, run: Duration, citizens: Arc<Vec<String>>) {
    let mut tasks = Vec::new();
    let began = Instant::now();
    for w in 0..concurrency {
        let mut client = ContactServiceClient::new(b.new_channel().await);
        let citizens = Arc::clone(&citizens);
        tasks.push(tokio::spawn(async move {
            let mut starts = Vec::new();
            let mut completes = Vec::new();
            let mut failed = 0usize;
            let mut i = w;
            while began.elapsed() < run {
                let s = start(
                    Channel::Phone,
                    "2026-03-09T10:00:00+01:00",
                    Some(bsn(&citizens[i % citizens.len()])),
                    "parkeervergunning",
                );
                i += concurrency;
                let t = Instant::now();
                let answer = client
                    .start_contact(request(
                        "gemeente-bench",
                        pb::StartContactRequest {
                            request_id: String::new(),
                            start: Some(s),
                        },
                    ))
                    .await;
                starts.push(t.elapsed());
                let Ok(answer) = answer else {
                    failed += 1;
                    continue;
                };
                let id = answer.into_inner().contact.expect("a contact").id;
                let t = Instant::now();
                let answer = client
                    .complete_contact(request(
                        "gemeente-bench",
                        pb::CompleteContactRequest {
                            request_id: String::new(),
                            contact_id: id,
                            completion: Some(resolved(
                                "2026-03-09T10:01:00+01:00",
                                "2026-03-09T10:05:00+01:00",
                                "Geholpen.",
                            )),
                        },
                    ))
                    .await;
                completes.push(t.elapsed());
                failed += usize::from(answer.is_err());
            }
            (starts, completes, failed)
        }));
    }
    let (mut starts, mut completes, mut failed) = (Vec::new(), Vec::new(), 0);
    for t in tasks {
        let (s, c, f) = t.await.expect("a caller panicked");
        starts.extend(s);
        completes.extend(c);
        failed += f;
    }
    let took = began.elapsed().as_secs_f64();
    starts.sort_unstable();
    completes.sort_unstable();
    println!(
        "concurrency {concurrency:>2}: {:>6.0} RPC/s ({:>5.0} start+complete pairs/s), {failed} failed; \
         StartContact p50 {:.1} ms p99 {:.1} ms; CompleteContact p50 {:.1} ms p99 {:.1} ms",
        (starts.len() + completes.len()) as f64 / took,
        completes.len() as f64 / took,
        percentile(&starts, 0.5),
        percentile(&starts, 0.99),
        percentile(&completes, 0.5),
        percentile(&completes, 0.99),
    );
}

/// The benchmark (see the module docs): 10 s of each concurrency, one server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: run with --ignored --nocapture, on PostgreSQL"]
async fn bench_start_complete_closed_loop_on_postgres() {
    on_backend(TestDatabase::postgres(), |b| async move {
        let citizens = Arc::new(valid_bsns(0, 4000));
        let run = Duration::from_secs(
            std::env::var("BENCH_SECONDS")
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(10),
        );
        for concurrency in [8, 16, 32] {
            closed_loop(&b, concurrency, run, Arc::clone(&citizens)).await;
        }
    })
    .await;
}
