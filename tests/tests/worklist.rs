//! The commitments worklist (`CommitmentService.ListCommitments`) over a real socket on
//! both backends: only open commitments, soonest due first (so overdue first), with the
//! case's topic, the department and the masked BSN; filtered by department; paged with
//! tokens that hold under concurrent writes (no commitment lost or repeated); another
//! tenant sees nothing and cannot use a token; invalid fields are named; the parties
//! shown are logged as processed.

use midoffice_tests::pb::{self, Channel};
use midoffice_tests::{
    Backend, TENANT, TestDatabase, assert_invalid, at, bsn, database_test, email, on_backend,
    request, start,
};
use std::collections::BTreeSet;
use std::sync::Arc;

/// Past due on the machine's clock (the server judges "overdue" now).
const PAST_DUE: &str = "2026-03-04T17:00:00+01:00";
/// Far ahead: pending.
const LATER: &str = "2099-01-05T17:00:00+01:00";
const EVEN_LATER: &str = "2099-02-05T17:00:00+01:00";

/// A recorded contact of citizen `citizen` on `topic` that ends `outcome` with a due
/// time (CALLBACK or HANDED_OFF: a commitment), handled by `department`. Answers its
/// contact and case ids.
#[expect(
    clippy::too_many_arguments,
    reason = "every part of a promise a test varies"
)]
async fn promise(
    b: &Backend,
    tenant: &str,
    citizen: impl Into<Citizen>,
    day: u32,
    topic: &str,
    outcome: pb::Outcome,
    due: &str,
    department: &str,
) -> (String, String) {
    let citizen = citizen.into();
    let started = format!("2026-03-{day:02}T09:00:00+01:00");
    let ended = format!("2026-03-{day:02}T09:10:00+01:00");
    let answer = b
        .contacts()
        .record_contact(request(
            tenant,
            pb::RecordContactRequest {
                request_id: String::new(),
                start: Some(start(Channel::Phone, &started, Some(citizen.ids), topic)),
                completion: Some(pb::ContactCompletion {
                    ended_at: Some(at(&ended)),
                    answered_at: Some(at(&started)),
                    outcome: outcome as i32,
                    story: "Wil teruggebeld worden.".into(),
                    department: department.into(),
                    due_at: Some(at(due)),
                    ..Default::default()
                }),
                context_seen: true,
            },
        ))
        .await
        .unwrap_or_else(|s| panic!("a promise: {s:?}"))
        .into_inner();
    let contact = answer.contact.expect("a contact");
    (contact.id, contact.case_id)
}

/// Who makes a promise: a BSN as text, or any identifiers.
struct Citizen {
    ids: pb::Identifiers,
}

impl From<&str> for Citizen {
    fn from(b: &str) -> Self {
        Citizen { ids: bsn(b) }
    }
}

impl From<pb::Identifiers> for Citizen {
    fn from(ids: pb::Identifiers) -> Self {
        Citizen { ids }
    }
}

/// A later outbound call on `case_id` that reaches the citizen: it fulfils the case's
/// commitments.
async fn call_back(b: &Backend, case_id: &str, day: u32) {
    let started = format!("2026-03-{day:02}T11:00:00+01:00");
    let ended = format!("2026-03-{day:02}T11:05:00+01:00");
    let mut s = start(Channel::Phone, &started, None, "");
    s.direction = pb::Direction::Outbound as i32;
    s.case_id = case_id.into();
    b.contacts()
        .record_contact(request(
            TENANT,
            pb::RecordContactRequest {
                request_id: String::new(),
                start: Some(s),
                completion: Some(pb::ContactCompletion {
                    ended_at: Some(at(&ended)),
                    answered_at: Some(at(&started)),
                    outcome: pb::Outcome::Referred as i32,
                    referred_to: Some(pb::ReferralTarget {
                        target: Some(pb::referral_target::Target::Organisation(
                            "belastingdienst".into(),
                        )),
                    }),
                    ..Default::default()
                }),
                context_seen: true,
            },
        ))
        .await
        .unwrap_or_else(|s| panic!("the call back: {s:?}"));
}

async fn page(
    b: &Backend,
    tenant: &str,
    department: &str,
    size: i32,
    token: &str,
) -> Result<pb::ListCommitmentsResponse, tonic::Status> {
    b.commitments()
        .list_commitments(request(
            tenant,
            pb::ListCommitmentsRequest {
                department: department.into(),
                page_size: size,
                page_token: token.into(),
            },
        ))
        .await
        .map(tonic::Response::into_inner)
}

/// Every page of the worklist, `size` at a time: the items in order and the pages.
async fn all_pages(b: &Backend, department: &str, size: i32) -> (Vec<pb::WorklistItem>, usize) {
    let (mut items, mut token, mut pages) = (Vec::new(), String::new(), 0);
    loop {
        let p = page(b, TENANT, department, size, &token)
            .await
            .unwrap_or_else(|s| panic!("page {pages}: {s:?}"));
        pages += 1;
        assert!(p.commitments.len() <= usize::try_from(size).unwrap());
        items.extend(p.commitments);
        if p.next_page_token.is_empty() {
            return (items, pages);
        }
        token = p.next_page_token;
    }
}

fn promising(item: &pb::WorklistItem) -> &str {
    &item.commitment.as_ref().expect("a commitment").contact_id
}

database_test!(the_worklist_shows_open_commitments_overdue_first_by_department);
async fn the_worklist_shows_open_commitments_overdue_first_by_department(database: TestDatabase) {
    on_backend(database, |b| async move {
        let (later, _) = promise(
            &b,
            TENANT,
            "999990019",
            2,
            "afvalinzameling",
            pb::Outcome::Callback,
            LATER,
            "wijkteam",
        )
        .await;
        let (overdue, _) = promise(
            &b,
            TENANT,
            "999990068",
            3,
            "paspoort",
            pb::Outcome::HandedOff,
            PAST_DUE,
            "burgerzaken",
        )
        .await;
        let (kept, kept_case) = promise(
            &b,
            TENANT,
            "999990044",
            2,
            "parkeren",
            pb::Outcome::Callback,
            PAST_DUE,
            "wijkteam",
        )
        .await;
        let (even_later, _) = promise(
            &b,
            TENANT,
            "999990056",
            2,
            "afvalinzameling",
            pb::Outcome::Callback,
            EVEN_LATER,
            "wijkteam",
        )
        .await;
        // The callback of the third citizen is made: no longer on the worklist.
        call_back(&b, &kept_case, 5).await;

        let all = page(&b, TENANT, "", 0, "").await.expect("the worklist");
        let order: Vec<&str> = all.commitments.iter().map(promising).collect();
        assert_eq!(order, [&overdue, &later, &even_later], "{all:?}");
        assert!(!order.contains(&kept.as_str()));
        assert!(all.next_page_token.is_empty());
        assert!(all.as_of.is_some());
        let first = &all.commitments[0];
        let c = first.commitment.as_ref().unwrap();
        assert!(c.overdue);
        assert_eq!(c.kind, pb::CommitmentKind::HandedOff as i32);
        assert_eq!(c.due_at, Some(at(PAST_DUE)));
        assert_eq!(first.topic, "paspoort");
        assert_eq!(first.department, "burgerzaken");
        let party = first.party.as_ref().expect("a party");
        assert_eq!(party.bsn_masked, "******068");
        assert!(!party.id.is_empty());
        let second = &all.commitments[1];
        assert!(!second.commitment.as_ref().unwrap().overdue);
        assert_eq!(
            second.commitment.as_ref().unwrap().kind,
            pb::CommitmentKind::Callback as i32
        );
        assert_eq!(second.topic, "afvalinzameling");
        // Nothing in the answer is a BSN in clear text.
        assert!(!format!("{all:?}").contains("999990"));

        // From the worklist to the party's history, by its id: the promise is there.
        let history = b
            .parties()
            .list_party_contacts(request(
                TENANT,
                pb::ListPartyContactsRequest {
                    party_id: party.id.clone(),
                    page_size: 1,
                    ..Default::default()
                },
            ))
            .await
            .expect("the history by party id")
            .into_inner();
        assert_eq!(history.party.as_ref().unwrap().bsn_masked, "******068");
        assert_eq!(history.contacts.len(), 1);
        assert_eq!(history.contacts[0].id, overdue);
        assert!(history.next_page_token.is_empty());
        let by_id = |party_id: &str, ids: Option<pb::Identifiers>, token: &str| {
            let b = Arc::clone(&b);
            let (party_id, token) = (party_id.to_owned(), token.to_owned());
            async move {
                b.parties()
                    .list_party_contacts(request(
                        TENANT,
                        pb::ListPartyContactsRequest {
                            party_id,
                            identifiers: ids,
                            page_token: token,
                            ..Default::default()
                        },
                    ))
                    .await
            }
        };
        assert_invalid(
            by_id(&party.id, Some(bsn("999990068")), "").await,
            "identifiers",
            &["999990068"],
        );
        assert_invalid(by_id("no-uuid", None, "").await, "party_id", &[]);
        let unknown = by_id("0190c8a0-7e1b-7c3a-9f00-0123456789ab", None, "").await;
        assert_eq!(unknown.unwrap_err().code(), tonic::Code::NotFound);

        // By department: only the wijkteam's, in the same order.
        let wijkteam = page(&b, TENANT, "wijkteam", 0, "").await.unwrap();
        let order: Vec<&str> = wijkteam.commitments.iter().map(promising).collect();
        assert_eq!(order, [&later, &even_later]);
        let none = page(&b, TENANT, "vergunningen", 0, "").await.unwrap();
        assert!(none.commitments.is_empty() && none.next_page_token.is_empty());

        // Page by page: the same items, each once.
        let (paged, pages) = all_pages(&b, "", 1).await;
        assert_eq!(pages, 3);
        let order: Vec<&str> = paged.iter().map(promising).collect();
        assert_eq!(order, [&overdue, &later, &even_later]);

        // Each page showed its parties: logged as processed (a context read), with an
        // audit record of the call.
        let audit = b
            .processing_log()
            .list_audit_records(request(
                TENANT,
                pb::ListAuditRecordsRequest {
                    page_size: 1000,
                    ..Default::default()
                },
            ))
            .await
            .unwrap()
            .into_inner();
        let worklist_reads = audit
            .records
            .iter()
            .filter(|r| r.operation == "ListCommitments")
            .count();
        assert!(worklist_reads >= 3, "{audit:?}");
        let records = b
            .processing_log()
            .list_processing_records(request(
                TENANT,
                pb::ListProcessingRecordsRequest {
                    identifiers: Some(bsn("999990068")),
                    page_size: 1000,
                    ..Default::default()
                },
            ))
            .await
            .unwrap()
            .into_inner();
        let trace_ids: BTreeSet<&str> = audit
            .records
            .iter()
            .filter(|r| r.operation == "ListCommitments")
            .map(|r| r.trace_id.as_str())
            .collect();
        assert!(
            records
                .records
                .iter()
                .any(|r| trace_ids.contains(r.trace_id.as_str())),
            "no processing record of the worklist for the party shown: {records:?}"
        );
    })
    .await;
}

database_test!(
    pages_hold_under_concurrent_writes,
    flavor = "multi_thread",
    worker_threads = 2
);
async fn pages_hold_under_concurrent_writes(database: TestDatabase) {
    on_backend(database, |b| async move {
        // 24 open commitments, some overdue, some pending, on two departments.
        let mut expected = BTreeSet::new();
        for i in 0..24u32 {
            let citizen = email(&format!("burger{i}@example.nl"));
            let due = if i % 3 == 0 {
                format!("2026-04-{:02}T17:00:00+02:00", 10 + i % 9)
            } else {
                format!("2099-0{}-{:02}T17:00:00+01:00", 1 + i % 5, 1 + i % 27)
            };
            let department = if i % 2 == 0 { "wijkteam" } else { "kcc" };
            let (id, _) = promise(
                &b,
                TENANT,
                citizen,
                2 + i % 20,
                "afvalinzameling",
                pb::Outcome::Callback,
                &due,
                department,
            )
            .await;
            expected.insert(id);
        }
        // Meanwhile: new commitments due before and after any page's position, and
        // other citizens' contacts, written until the pages are read.
        let writer = {
            let b = Arc::clone(&b);
            tokio::spawn(async move {
                let mut made = Vec::new();
                for i in 0..30u32 {
                    let citizen = email(&format!("inwoner{i}@example.nl"));
                    let due = if i % 2 == 0 {
                        format!("2026-04-{:02}T08:00:00+02:00", 25 + i % 3)
                    } else {
                        format!("2099-0{}-{:02}T08:00:00+01:00", 1 + i % 5, 2 + i % 25)
                    };
                    let (id, _) = promise(
                        &b,
                        TENANT,
                        citizen,
                        20 + i % 8,
                        "paspoort",
                        pb::Outcome::HandedOff,
                        &due,
                        "kcc",
                    )
                    .await;
                    made.push(id);
                }
                made
            })
        };
        let (items, pages) = all_pages(&b, "", 5).await;
        let made = writer.await.expect("the writer");
        assert!(pages >= 5);
        let shown: Vec<&str> = items.iter().map(promising).collect();
        let unique: BTreeSet<&str> = shown.iter().copied().collect();
        assert_eq!(unique.len(), shown.len(), "an item was repeated: {shown:?}");
        for id in &expected {
            assert!(unique.contains(id.as_str()), "{id} was lost across pages");
        }
        // Whatever else was shown was written meanwhile.
        for id in &unique {
            assert!(
                expected.contains(*id) || made.iter().any(|m| m == id),
                "{id} is no commitment"
            );
        }
        // In order across the pages: soonest due first.
        let due: Vec<(i64, &str)> = items
            .iter()
            .map(|i| {
                let c = i.commitment.as_ref().unwrap();
                (c.due_at.as_ref().unwrap().seconds, c.contact_id.as_str())
            })
            .collect();
        let mut sorted = due.clone();
        sorted.sort_by_key(|(s, _)| *s);
        assert_eq!(
            due.iter().map(|d| d.0).collect::<Vec<_>>(),
            sorted.iter().map(|d| d.0).collect::<Vec<_>>()
        );
        // After the writes, the whole list is every commitment once, by department too.
        let (after, _) = all_pages(&b, "", 7).await;
        assert_eq!(after.len(), expected.len() + made.len());
        let (kcc, _) = all_pages(&b, "kcc", 4).await;
        assert_eq!(kcc.len(), 12 + made.len());
        assert!(kcc.iter().all(|i| i.department == "kcc"));
    })
    .await;
}

/// A recorded contact of the citizen with BSN 999990019 that started at `started`.
async fn visit(b: &Backend, started: &str) -> String {
    let contact = b
        .record(
            TENANT,
            pb::RecordContactRequest {
                request_id: String::new(),
                start: Some(start(
                    Channel::Counter,
                    started,
                    Some(bsn("999990019")),
                    "paspoort",
                )),
                completion: Some(midoffice_tests::resolved(started, started, "Vraag.")),
                context_seen: true,
            },
        )
        .await;
    contact.id
}

database_test!(
    a_partys_history_pages_hold_under_concurrent_writes,
    flavor = "multi_thread",
    worker_threads = 2
);
/// ListPartyContacts by party id, a page at a time while the same citizen's contacts
/// are written (newer ones, and ones recorded afterwards with an older start): every
/// contact there before the first page is shown once, newest first, and whatever else
/// is shown was written meanwhile. Another tenant does not find the party.
async fn a_partys_history_pages_hold_under_concurrent_writes(database: TestDatabase) {
    on_backend(database, |b| async move {
        let mut before = BTreeSet::new();
        for i in 0..24u32 {
            let started = format!("2026-03-{:02}T{:02}:00:00+01:00", 2 + i % 20, 8 + i / 20);
            before.insert(visit(&b, &started).await);
        }
        let party_id = b
            .parties()
            .list_party_contacts(request(
                TENANT,
                pb::ListPartyContactsRequest {
                    identifiers: Some(bsn("999990019")),
                    page_size: 1,
                    ..Default::default()
                },
            ))
            .await
            .expect("the history by BSN")
            .into_inner()
            .party
            .expect("its party")
            .id;
        let writer = {
            let b = Arc::clone(&b);
            tokio::spawn(async move {
                let mut made = Vec::new();
                for i in 0..16u32 {
                    // Newer than all, and older than all (recorded afterwards).
                    let started = if i % 2 == 0 {
                        format!("2026-04-{:02}T10:00:00+02:00", 1 + i)
                    } else {
                        format!("2026-02-{:02}T10:00:00+01:00", 1 + i)
                    };
                    made.push(visit(&b, &started).await);
                }
                made
            })
        };
        let mut shown: Vec<((i64, i32), String)> = Vec::new();
        let mut token = String::new();
        loop {
            let page = b
                .parties()
                .list_party_contacts(request(
                    TENANT,
                    pb::ListPartyContactsRequest {
                        party_id: party_id.clone(),
                        page_size: 4,
                        page_token: token.clone(),
                        ..Default::default()
                    },
                ))
                .await
                .expect("a page of the history")
                .into_inner();
            shown.extend(page.contacts.iter().map(|c| {
                let s = c.started_at.expect("started_at");
                ((s.seconds, s.nanos), c.id.clone())
            }));
            if page.next_page_token.is_empty() {
                break;
            }
            token = page.next_page_token;
            tokio::task::yield_now().await;
        }
        let made = writer.await.expect("the writer");
        let ids: Vec<&String> = shown.iter().map(|(_, id)| id).collect();
        let unique: BTreeSet<&String> = ids.iter().copied().collect();
        assert_eq!(unique.len(), ids.len(), "a contact was repeated: {ids:?}");
        for id in &before {
            assert!(unique.contains(id), "{id} was lost across pages");
        }
        for id in &unique {
            assert!(
                before.contains(*id) || made.contains(*id),
                "{id} is not the party's"
            );
        }
        assert!(shown.windows(2).all(|w| w[0].0 >= w[1].0), "newest first");
        // Afterwards: every contact once.
        let mut all = 0;
        let mut token = String::new();
        loop {
            let page = b
                .parties()
                .list_party_contacts(request(
                    TENANT,
                    pb::ListPartyContactsRequest {
                        party_id: party_id.clone(),
                        page_token: token.clone(),
                        ..Default::default()
                    },
                ))
                .await
                .expect("a page")
                .into_inner();
            all += page.contacts.len();
            if page.next_page_token.is_empty() {
                break;
            }
            token = page.next_page_token;
        }
        assert_eq!(all, before.len() + made.len());
        // Another tenant does not know the party.
        let other = b
            .parties()
            .list_party_contacts(request(
                "gemeente-b",
                pb::ListPartyContactsRequest {
                    party_id: party_id.clone(),
                    ..Default::default()
                },
            ))
            .await;
        assert_eq!(other.unwrap_err().code(), tonic::Code::NotFound);
    })
    .await;
}

database_test!(another_tenant_sees_nothing_and_cannot_use_a_token);
async fn another_tenant_sees_nothing_and_cannot_use_a_token(database: TestDatabase) {
    on_backend(database, |b| async move {
        for (i, citizen) in ["999990019", "999990068"].into_iter().enumerate() {
            promise(
                &b,
                TENANT,
                citizen,
                2 + u32::try_from(i).unwrap(),
                "paspoort",
                pb::Outcome::Callback,
                LATER,
                "kcc",
            )
            .await;
        }
        let a = page(&b, TENANT, "", 1, "").await.unwrap();
        assert_eq!(a.commitments.len(), 1);
        assert!(!a.next_page_token.is_empty());
        let other = "gemeente-b";
        let b_list = page(&b, other, "", 0, "").await.unwrap();
        assert!(b_list.commitments.is_empty() && b_list.next_page_token.is_empty());
        // A's token in B, or with another department: refused, naming the token.
        assert_invalid(
            page(&b, other, "", 1, &a.next_page_token).await,
            "page_token",
            &[],
        );
        assert_invalid(
            page(&b, TENANT, "kcc", 1, &a.next_page_token).await,
            "page_token",
            &[],
        );
        // And B's commitment is not A's.
        promise(
            &b,
            other,
            "999990044",
            4,
            "paspoort",
            pb::Outcome::Callback,
            LATER,
            "kcc",
        )
        .await;
        let (items, _) = all_pages(&b, "", 10).await;
        assert_eq!(items.len(), 2);
        assert!(
            items
                .iter()
                .all(|i| i.party.as_ref().unwrap().bsn_masked != "******044")
        );
    })
    .await;
}

database_test!(an_erased_partys_commitments_leave_the_worklist);
async fn an_erased_partys_commitments_leave_the_worklist(database: TestDatabase) {
    on_backend(database, |b| async move {
        for (i, citizen) in ["999990019", "999990068"].into_iter().enumerate() {
            promise(
                &b,
                TENANT,
                citizen,
                2 + u32::try_from(i).unwrap(),
                "paspoort",
                pb::Outcome::Callback,
                PAST_DUE,
                "kcc",
            )
            .await;
        }
        let (before, _) = all_pages(&b, "", 10).await;
        assert_eq!(before.len(), 2);
        b.parties()
            .erase_party(request(
                TENANT,
                pb::ErasePartyRequest {
                    identifiers: Some(bsn("999990068")),
                },
            ))
            .await
            .expect("EraseParty");
        let (after, _) = all_pages(&b, "", 10).await;
        assert_eq!(after.len(), 1, "{after:?}");
        assert_eq!(after[0].party.as_ref().unwrap().bsn_masked, "******019");
    })
    .await;
}

database_test!(invalid_fields_are_named);
async fn invalid_fields_are_named(database: TestDatabase) {
    on_backend(database, |b| async move {
        assert_invalid(page(&b, TENANT, "", -1, "").await, "page_size", &[]);
        assert_invalid(
            page(&b, TENANT, "Geen Code!", 0, "").await,
            "department",
            &[],
        );
        for bad in [
            "x",
            "1.2.3",
            "1770000000000000.0190c8a07e1b7c3a9f000123456789ab.00",
        ] {
            assert_invalid(page(&b, TENANT, "", 0, bad).await, "page_token", &[]);
        }
        // A page size over the largest is read as the largest.
        let p = page(&b, TENANT, "", 100_000, "").await.unwrap();
        assert!(p.commitments.is_empty());
    })
    .await;
}
