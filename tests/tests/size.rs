//! Personal data that stays small: one citizen with 200 long contacts (stories near the
//! story limit, on eight matters), every write with a `request_id`. The database grows
//! by a bounded amount per contact that does not grow with the history, every kept
//! answer stays a few kilobytes, and every answer (start, record, completion, retries,
//! the context, each page of the history) stays under 1 MB. Paging goes through the
//! whole history, newest first, once.
//!
//! The sizes are printed (`--nocapture`), for the operators' documentation.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use midoffice_domain::limits::MAX_STORY_CHARS;
use midoffice_tests::pb::{self, Channel, Outcome};
use midoffice_tests::{
    Backend, Kind, TENANT, TestDatabase, assert_invalid, bsn, database_test, on_backend, request,
    start,
};
use prost::Message;
use sea_orm::{ConnectionTrait, Database, DbBackend, Statement};
use tonic_types::StatusExt;

const CITIZEN: &str = "999990019";
const CONTACTS: usize = 200;
const MEASURE_EVERY: usize = 50;
const ONE_MB: usize = 1_000_000;
/// Near the story limit, and counted in characters as the limit is.
const STORY_CHARS: usize = MAX_STORY_CHARS - 200;
const TOPICS: [&str; 8] = [
    "paspoort",
    "rijbewijs",
    "parkeervergunning",
    "afval",
    "belasting",
    "uitkering",
    "verhuizing",
    "subsidie",
];

/// A long story of letters and spaces only (nothing the masking would touch), different
/// for every contact so that no storage layer can share or compress it much.
fn long_story(n: usize) -> String {
    let mut state = (n as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let mut text = format!("Verhaal {n}: ");
    while text.chars().count() < STORY_CHARS {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let len = 2 + (state % 9) as usize;
        for i in 0..len {
            let letter = b'a' + ((state >> (5 * i)) % 26) as u8;
            text.push(letter as char);
        }
        text.push(' ');
    }
    text.chars().take(STORY_CHARS).collect()
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[track_caller]
fn under_1_mb(what: &str, message: &impl Message) -> usize {
    let len = message.encoded_len();
    assert!(len < ONE_MB, "{what}: {len} bytes, not under 1 MB");
    len
}

/// What the database holds now, in bytes: SQLite's pages in use (WAL included, as a
/// connection sees them), or PostgreSQL's tables with their indexes and TOAST after a
/// VACUUM (so that dead row versions left by completions do not count).
async fn database_bytes(b: &Backend) -> i64 {
    let db = Database::connect(b.db_url())
        .await
        .unwrap_or_else(|e| panic!("cannot connect to the test database: {e}"));
    let (backend, sql) = match b.kind {
        Kind::Sqlite => (
            DbBackend::Sqlite,
            "SELECT (p.page_count - f.freelist_count) * s.page_size AS bytes \
             FROM pragma_page_count() p, pragma_freelist_count() f, pragma_page_size() s",
        ),
        Kind::Postgres => {
            db.execute_unprepared("VACUUM").await.expect("VACUUM");
            (
                DbBackend::Postgres,
                "SELECT CAST(SUM(pg_total_relation_size(c.oid)) AS BIGINT) AS bytes \
                 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE n.nspname = 'public' AND c.relkind = 'r'",
            )
        }
    };
    let row = db
        .query_one_raw(Statement::from_string(backend, sql))
        .await
        .expect("the size query")
        .expect("a size");
    let bytes: i64 = row.try_get("", "bytes").expect("bytes");
    db.close().await.ok();
    bytes
}

/// The longest answer kept for an idempotency key, in bytes.
async fn longest_kept_answer(b: &Backend) -> i64 {
    let db = Database::connect(b.db_url()).await.expect("connect");
    let backend = db.get_database_backend();
    let row = db
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT CAST(MAX(LENGTH(response)) AS BIGINT) AS longest FROM idempotency",
        ))
        .await
        .expect("the length query")
        .expect("a length");
    let longest: i64 = row.try_get("", "longest").expect("longest");
    db.close().await.ok();
    longest
}

database_test!(one_citizen_with_200_long_contacts_grows_linearly_and_every_answer_stays_small);
async fn one_citizen_with_200_long_contacts_grows_linearly_and_every_answer_stays_small(
    database: TestDatabase,
) {
    on_backend(database, |b| async move {
        let first_day = Utc::now() - Duration::days(CONTACTS as i64 + 10);
        let mut sizes = vec![(0usize, database_bytes(&b).await)];
        let mut largest = 0usize;
        let mut chosen_case = String::new();
        for n in 0..CONTACTS {
            let t = first_day + Duration::days(n as i64) + Duration::hours(9);
            let topic = TOPICS[n % TOPICS.len()];
            let contact_start = start(Channel::Phone, &rfc3339(t), Some(bsn(CITIZEN)), topic);
            // Callbacks keep their cases open (active), so each of the eight cases gathers
            // 25 stories and 25 open commitments: the context has the most to show.
            let outcome = Outcome::Callback;
            let completion = pb::ContactCompletion {
                ended_at: Some(midoffice_tests::at(&rfc3339(t + Duration::minutes(20)))),
                answered_at: Some(midoffice_tests::at(&rfc3339(t))),
                outcome: outcome as i32,
                story: long_story(n),
                ..Default::default()
            };
            if n % 10 == 9 {
                let record = pb::RecordContactRequest {
                    request_id: format!("record-{n}"),
                    start: Some(contact_start),
                    completion: Some(completion),
                    context_seen: false,
                };
                let answer = b
                    .contacts()
                    .record_contact(request(TENANT, record.clone()))
                    .await
                    .unwrap_or_else(|s| panic!("RecordContact {n}: {s:?}"))
                    .into_inner();
                largest = largest.max(under_1_mb("RecordContact", &answer));
                let retry = b
                    .contacts()
                    .record_contact(request(TENANT, record))
                    .await
                    .expect("a retried record")
                    .into_inner();
                assert_eq!(retry, answer, "a retried record answers as the first");
            } else {
                let start_request = pb::StartContactRequest {
                    request_id: format!("start-{n}"),
                    start: Some(contact_start),
                };
                let started = b
                    .contacts()
                    .start_contact(request(TENANT, start_request.clone()))
                    .await
                    .unwrap_or_else(|s| panic!("StartContact {n}: {s:?}"))
                    .into_inner();
                largest = largest.max(under_1_mb("StartContact", &started));
                if n % 25 == 24 {
                    // The kept answer holds its stories by reference: the retry reads
                    // them back and answers exactly as the first time.
                    let retry = b
                        .contacts()
                        .start_contact(request(TENANT, start_request))
                        .await
                        .expect("a retried start")
                        .into_inner();
                    assert_eq!(retry, started, "a retried start answers as the first");
                    let context = started.context.as_ref().expect("a context");
                    let stories: Vec<&pb::Story> = context
                        .active_cases
                        .iter()
                        .chain(context.case.iter())
                        .flat_map(|c| c.stories.iter())
                        .collect();
                    assert!(
                        !stories.is_empty() && stories.iter().all(|s| s.text.len() >= STORY_CHARS),
                        "the retry shows the earlier stories whole"
                    );
                }
                let contact = started.contact.expect("a contact");
                chosen_case.clone_from(&contact.case_id);
                let complete = pb::CompleteContactRequest {
                    request_id: format!("complete-{n}"),
                    contact_id: contact.id.clone(),
                    completion: Some(completion),
                };
                let completed = b
                    .contacts()
                    .complete_contact(request(TENANT, complete.clone()))
                    .await
                    .unwrap_or_else(|s| panic!("CompleteContact {n}: {s:?}"))
                    .into_inner();
                largest = largest.max(under_1_mb("CompleteContact", &completed));
                if n % 25 == 24 {
                    let retry = b
                        .contacts()
                        .complete_contact(request(TENANT, complete))
                        .await
                        .expect("a retried completion")
                        .into_inner();
                    assert_eq!(retry, completed);
                }
            }
            if (n + 1) % MEASURE_EVERY == 0 {
                sizes.push((n + 1, database_bytes(&b).await));
            }
        }

        // The last start's context is bounded, and says what it leaves out.
        let context = b.context(TENANT, bsn(CITIZEN)).await;
        largest = largest.max(under_1_mb("GetContext", &context));
        assert_eq!(context.active_case_count as usize, TOPICS.len());
        assert_eq!(context.active_cases.len(), 5, "the most recent five");
        for case in &context.active_cases {
            assert_eq!(case.stories.len(), 3, "the newest three");
            assert_eq!(case.story_count as usize, CONTACTS / TOPICS.len());
            assert_eq!(case.open_commitments.len(), 10, "the soonest ten");
            assert_eq!(case.open_commitment_count as usize, CONTACTS / TOPICS.len());
        }

        // Paging: every contact once, newest first, each page under 1 MB.
        let mut seen = Vec::new();
        let mut token = String::new();
        let mut pages = 0;
        let mut party: Option<pb::Party>;
        loop {
            let page = b
                .parties()
                .list_party_contacts(request(
                    TENANT,
                    pb::ListPartyContactsRequest {
                        identifiers: Some(bsn(CITIZEN)),
                        page_size: 1000,
                        page_token: token.clone(),
                        ..Default::default()
                    },
                ))
                .await
                .unwrap_or_else(|s| panic!("ListPartyContacts page {pages}: {s:?}"))
                .into_inner();
            largest = largest.max(under_1_mb("ListPartyContacts", &page));
            assert!(
                page.contacts.len() <= 20,
                "a page_size above 20 is read as 20"
            );
            party = page.party.clone();
            seen.extend(page.contacts.iter().map(|c| {
                let started = c.started_at.expect("started_at");
                let story = c.completion.as_ref().map(|e| e.story.len()).unwrap_or(0);
                assert!(story >= STORY_CHARS, "the page holds the whole story");
                ((started.seconds, started.nanos), c.id.clone())
            }));
            pages += 1;
            if page.next_page_token.is_empty() {
                break;
            }
            token = page.next_page_token;
        }
        assert_eq!(pages, CONTACTS / 20);
        assert_eq!(seen.len(), CONTACTS, "every contact of the party");
        let distinct: BTreeSet<&String> = seen.iter().map(|(_, id)| id).collect();
        assert_eq!(distinct.len(), CONTACTS, "no contact twice");
        assert!(seen.windows(2).all(|w| w[0].0 >= w[1].0), "newest first");
        assert!(party.is_some_and(|p| !p.id.is_empty()));

        // One case only.
        let one_case = b
            .parties()
            .list_party_contacts(request(
                TENANT,
                pb::ListPartyContactsRequest {
                    identifiers: Some(bsn(CITIZEN)),
                    case_id: chosen_case.clone(),
                    page_size: 5,
                    ..Default::default()
                },
            ))
            .await
            .expect("one case")
            .into_inner();
        assert_eq!(one_case.contacts.len(), 5);
        assert!(one_case.contacts.iter().all(|c| c.case_id == chosen_case));

        // A token is good only for the request it came with.
        let first = b
            .parties()
            .list_party_contacts(request(
                TENANT,
                pb::ListPartyContactsRequest {
                    identifiers: Some(bsn(CITIZEN)),
                    page_size: 2,
                    ..Default::default()
                },
            ))
            .await
            .expect("a first page")
            .into_inner();
        let list = |ids: pb::Identifiers, case_id: &str, token: &str, page_size: i32| {
            let mut parties = b.parties();
            let req = pb::ListPartyContactsRequest {
                identifiers: Some(ids),
                case_id: case_id.to_owned(),
                page_size,
                page_token: token.to_owned(),
                ..Default::default()
            };
            async move { parties.list_party_contacts(request(TENANT, req)).await }
        };
        let changed = first.next_page_token.replacen('1', "2", 1);
        for bad in [changed.as_str(), "not-a-token", "1.2.3"] {
            assert_invalid(
                list(bsn(CITIZEN), "", bad, 2).await,
                "page_token",
                &[CITIZEN],
            );
        }
        assert_invalid(
            list(bsn(CITIZEN), &chosen_case, &first.next_page_token, 2).await,
            "page_token",
            &[CITIZEN],
        );
        assert_invalid(
            list(bsn("999990032"), "", &first.next_page_token, 2).await,
            "page_token",
            &[CITIZEN],
        );
        assert_invalid(
            list(bsn(CITIZEN), "", "", -1).await,
            "page_size",
            &[CITIZEN],
        );
        assert_invalid(
            list(bsn(CITIZEN), "not-a-uuid", "", 2).await,
            "case_id",
            &[CITIZEN],
        );
        let status = list(bsn("999990032"), "", "", 2).await.expect_err("nobody");
        assert_eq!(status.code(), tonic::Code::NotFound);
        // A case that is not the citizen's: NOT_FOUND, naming this request's field.
        let other_case = "01a24b94-3b3a-75ca-82d0-d6823645bf07";
        let status = list(bsn(CITIZEN), other_case, "", 2)
            .await
            .expect_err("not a case of the party");
        assert_eq!(status.code(), tonic::Code::NotFound);
        let info = status.get_details_error_info().expect("an ErrorInfo");
        assert_eq!(info.reason, "CASE_NOT_FOUND");
        assert_eq!(
            info.metadata.get("field").map(String::as_str),
            Some("case_id")
        );

        // Growth per contact: the same from the first 50 to the last, and bounded.
        let longest = longest_kept_answer(&b).await;
        let growth: Vec<i64> = sizes
            .windows(2)
            .map(|w| (w[1].1 - w[0].1) / (w[1].0 - w[0].0) as i64)
            .collect();
        eprintln!(
            "size test on {:?}: database bytes after contacts {:?}; growth per contact {:?} \
             bytes; longest kept answer {longest} bytes; largest answer {largest} bytes",
            b.kind, sizes, growth
        );
        // A completion or record keeps its own story; the stories it showed are kept
        // by reference, and the rest of the context is bounded.
        assert!(
            longest < STORY_CHARS as i64 + 16 * 1024,
            "a kept answer holds more than its own story and a bounded context: {longest} bytes"
        );
        let story_bytes = STORY_CHARS as i64;
        for (i, g) in growth.iter().enumerate() {
            assert!(
                *g < 8 * story_bytes,
                "block {i}: {g} bytes per contact, more than a bounded multiple of the story"
            );
        }
        let first_block = growth[0].max(story_bytes);
        for (i, g) in growth.iter().enumerate().skip(1) {
            assert!(
                *g <= first_block * 3 / 2,
                "block {i}: {g} bytes per contact against {first_block} for the first 50: \
                 storage per contact grows with the history"
            );
        }
    })
    .await;
}
