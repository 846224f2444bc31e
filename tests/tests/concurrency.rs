//! Concurrent starts for the same citizen, each on its own connection and released at
//! the same moment, end in one party and one case: the store must serialise party and
//! case resolution, on SQLite and on PostgreSQL.

use std::collections::BTreeSet;
use std::sync::Arc;

use midoffice_tests::pb::contact_service_client::ContactServiceClient;
use midoffice_tests::pb::{self, Channel, PartyStatus};
use midoffice_tests::{Backend, TestDatabase, bsn, database_test, on_backend, request, start};
use tokio::sync::Barrier;

/// Calls per channel.
const PER_CHANNEL: usize = 8;
const CHANNELS: [Channel; 2] = [Channel::Phone, Channel::Counter];

/// Starts `starts` all at once, each on a new connection, and returns every answer.
async fn start_all_at_once(
    b: &Backend,
    tenant: &'static str,
    starts: Vec<pb::ContactStart>,
) -> Vec<pb::StartContactResponse> {
    let barrier = Arc::new(Barrier::new(starts.len()));
    let mut tasks = Vec::new();
    for s in starts {
        // Connect before the barrier, so the calls themselves go out together.
        let mut client = ContactServiceClient::new(b.new_channel().await);
        let barrier = Arc::clone(&barrier);
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            client
                .start_contact(request(
                    tenant,
                    pb::StartContactRequest {
                        request_id: String::new(),
                        start: Some(s),
                    },
                ))
                .await
        }));
    }
    let mut answers = Vec::new();
    for task in tasks {
        let answer = task.await.expect("a start task panicked");
        answers.push(
            answer
                .unwrap_or_else(|s| panic!("a concurrent start failed: {s:?}"))
                .into_inner(),
        );
    }
    answers
}

fn contacts(answers: &[pb::StartContactResponse]) -> Vec<pb::Contact> {
    answers
        .iter()
        .map(|a| a.contact.clone().expect("an answer without a contact"))
        .collect()
}

database_test!(
    concurrent_starts_for_one_bsn_make_one_party_and_one_case,
    flavor = "multi_thread",
    worker_threads = 4
);
async fn concurrent_starts_for_one_bsn_make_one_party_and_one_case(database: TestDatabase) {
    on_backend(database, |b| async move {
        let tenant = "gemeente-a";
        let starts = CHANNELS
            .iter()
            .flat_map(|channel| {
                (0..PER_CHANNEL).map(|_| {
                    start(
                        *channel,
                        "2026-03-09T10:00:00+01:00",
                        Some(bsn("999990032")),
                        "parkeervergunning",
                    )
                })
            })
            .collect();
        let answers = start_all_at_once(&b, tenant, starts).await;
        let contacts = contacts(&answers);

        let ids: BTreeSet<_> = contacts.iter().map(|c| c.id.clone()).collect();
        let parties: BTreeSet<_> = contacts.iter().map(|c| c.party_id.clone()).collect();
        let cases: BTreeSet<_> = contacts.iter().map(|c| c.case_id.clone()).collect();
        assert_eq!(ids.len(), 2 * PER_CHANNEL, "every start is its own contact");
        assert_eq!(parties.len(), 1, "one citizen, one party: {parties:?}");
        assert!(
            parties.iter().all(|p| !p.is_empty()),
            "a BSN contact has a party"
        );
        assert!(
            cases.iter().all(|c| !c.is_empty()),
            "a contact with a topic has a case"
        );

        let new = answers
            .iter()
            .filter(|a| party_status(a) == PartyStatus::New)
            .count();
        assert_eq!(
            new, 1,
            "exactly one start made the party; the others found it"
        );

        let figures = b.figures_2026(tenant).await;
        assert_eq!(figures.contacts, (2 * PER_CHANNEL) as u64);
        // Last, so everything above is checked first: the starts at the same moment
        // must share the case the first of them opened.
        assert_eq!(cases.len(), 1, "one matter, one case: {cases:?}");
        assert_eq!(figures.cases, 1);
    })
    .await;
}

database_test!(
    concurrent_starts_with_a_phone_number_and_the_bsn_make_one_party_and_one_case,
    flavor = "multi_thread",
    worker_threads = 4
);
async fn concurrent_starts_with_a_phone_number_and_the_bsn_make_one_party_and_one_case(
    database: TestDatabase,
) {
    on_backend(database, |b| async move {
        let tenant = "gemeente-b";
        // Half know the citizen by phone only, half by phone and BSN, on two channels.
        let mut starts = Vec::new();
        for channel in CHANNELS {
            for i in 0..PER_CHANNEL {
                let ids = if i % 2 == 0 {
                    pb::Identifiers {
                        phone: "06 1234 5678".into(),
                        ..Default::default()
                    }
                } else {
                    pb::Identifiers {
                        bsn: "999990044".into(),
                        phone: "+31612345678".into(),
                        ..Default::default()
                    }
                };
                starts.push(start(
                    channel,
                    "2026-03-10T11:30:00+01:00",
                    Some(ids),
                    "paspoort",
                ));
            }
        }
        let answers = start_all_at_once(&b, tenant, starts).await;
        let contacts = contacts(&answers);

        let parties: BTreeSet<_> = contacts.iter().map(|c| c.party_id.clone()).collect();
        let cases: BTreeSet<_> = contacts.iter().map(|c| c.case_id.clone()).collect();
        assert_eq!(parties.len(), 1, "one citizen, one party: {parties:?}");
        assert!(
            contacts.iter().all(|c| !c.ambiguous),
            "nothing is ambiguous here"
        );

        // As stored now, too (after any merge).
        let party = parties.iter().next().cloned().unwrap_or_default();
        for c in &contacts {
            let stored = b.contact(tenant, &c.id).await;
            assert_eq!(stored.party_id, party);
        }

        // The BSN and the phone number both lead to that party.
        for ids in [
            bsn("999990044"),
            pb::Identifiers {
                phone: "0612345678".into(),
                ..Default::default()
            },
        ] {
            let context = b.context(tenant, ids).await;
            let found = context.party.expect("a party");
            assert_eq!(found.status, PartyStatus::Known as i32);
            assert_eq!(found.id, party);
            assert_eq!(found.bsn_masked, "******044");
        }

        let figures = b.figures_2026(tenant).await;
        assert_eq!(figures.contacts, (2 * PER_CHANNEL) as u64);
        // Last, so everything above is checked first.
        assert_eq!(cases.len(), 1, "one matter, one case: {cases:?}");
        assert_eq!(figures.cases, 1);
    })
    .await;
}

database_test!(
    concurrent_starts_all_join_the_case_an_earlier_contact_opened,
    flavor = "multi_thread",
    worker_threads = 4
);
async fn concurrent_starts_all_join_the_case_an_earlier_contact_opened(database: TestDatabase) {
    on_backend(database, |b| async move {
        let tenant = "gemeente-c";
        let first = b
            .start(
                tenant,
                start(
                    Channel::Web,
                    "2026-03-11T08:00:00+01:00",
                    Some(bsn("999990056")),
                    "bijstand",
                ),
            )
            .await;
        let (_, party, case) = midoffice_tests::ids_of(&first);
        let starts = CHANNELS
            .iter()
            .flat_map(|channel| {
                (0..PER_CHANNEL).map(|i| {
                    let ids = if i % 2 == 0 {
                        bsn("999990056")
                    } else {
                        pb::Identifiers {
                            bsn: "999990056".into(),
                            email: format!("aanvrager{i}@example.nl"),
                            ..Default::default()
                        }
                    };
                    start(*channel, "2026-03-11T09:00:00+01:00", Some(ids), "bijstand")
                })
            })
            .collect();
        let answers = start_all_at_once(&b, tenant, starts).await;
        for c in contacts(&answers) {
            assert_eq!(
                (c.party_id.as_str(), c.case_id.as_str()),
                (party.as_str(), case.as_str())
            );
            // Each saw the web contact before it: a channel hop on an assisted channel.
            let signals = &c.signals;
            assert!(
                signals.contains(&(pb::Signal::ChannelHop as i32)),
                "no CHANNEL_HOP after a web contact: {signals:?}"
            );
        }
        let figures = b.figures_2026(tenant).await;
        assert_eq!(figures.contacts, (2 * PER_CHANNEL + 1) as u64);
        assert_eq!(figures.cases, 1);
    })
    .await;
}

database_test!(
    concurrent_retries_with_one_request_id_make_one_contact,
    flavor = "multi_thread",
    worker_threads = 4
);
async fn concurrent_retries_with_one_request_id_make_one_contact(database: TestDatabase) {
    on_backend(database, |b| async move {
        let tenant = "gemeente-d";
        let request_id = "retried-by-a-flaky-network";
        let s = start(
            Channel::Phone,
            "2026-03-12T14:00:00+01:00",
            Some(bsn("999990068")),
            "wmo",
        );
        let barrier = Arc::new(Barrier::new(2 * PER_CHANNEL));
        let mut tasks = Vec::new();
        for _ in 0..2 * PER_CHANNEL {
            let mut client = ContactServiceClient::new(b.new_channel().await);
            let barrier = Arc::clone(&barrier);
            let message = pb::StartContactRequest {
                request_id: request_id.into(),
                start: Some(s.clone()),
            };
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                client.start_contact(request(tenant, message)).await
            }));
        }
        let mut answers = Vec::new();
        for task in tasks {
            let answer = task.await.expect("a start task panicked");
            answers.push(
                answer
                    .unwrap_or_else(|s| panic!("a concurrent retry failed: {s:?}"))
                    .into_inner(),
            );
        }
        let first = answers[0].clone();
        for answer in &answers {
            assert_eq!(answer, &first, "every retry gets the one answer");
        }
        let figures = b.figures_2026(tenant).await;
        assert_eq!(figures.contacts, 1);
        assert_eq!(figures.cases, 1);
    })
    .await;
}

fn party_status(answer: &pb::StartContactResponse) -> PartyStatus {
    let status = answer
        .context
        .as_ref()
        .and_then(|c| c.party.as_ref())
        .map(|p| p.status)
        .unwrap_or_default();
    PartyStatus::try_from(status).unwrap_or(PartyStatus::Unspecified)
}
