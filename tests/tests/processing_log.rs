//! The processing log (Logboek Dataverwerkingen 1.0), one test per rule of the standard,
//! over a real socket on both backends: one record per data subject (child spans when
//! there are several), the caller's `traceparent` continued, no sampling, written in the
//! processing's own transaction (a refused processing leaves no `Ok` record), the status
//! rules, no user identity and no identifier in the record, the audit record linked by
//! span id, the tenant's activity URIs, and the privacy officer's listings.

use midoffice_api::auth::{AccessConfig, ApiKey, Grant, Role, key_hash, new_key};
use midoffice_domain::TenantId;
use midoffice_domain::contact::Channel as DomainChannel;
use midoffice_tests::pb::{self, Channel};
use midoffice_tests::{
    Access, Backend, Setup, TENANT, TestDatabase, at, bsn, database_test, email, ids_of,
    on_backend, on_backend_with, phone, request, resolved, start, violated_fields,
};

/// Asserts INVALID_ARGUMENT naming exactly `fields` (in order), with nothing of `BSN`.
#[track_caller]
fn assert_invalid<T: std::fmt::Debug>(result: Result<T, tonic::Status>, fields: &[&str]) {
    let status = result.expect_err("expected INVALID_ARGUMENT");
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    assert_eq!(violated_fields(&status), fields, "{status:?}");
    assert!(!format!("{status:?}").contains(BSN));
}

const BSN: &str = "999990068";
const ACCESS_REQUEST: &str = "midoffice access request";
const CALLER_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";

async fn records(b: &Backend, req: pb::ListProcessingRecordsRequest) -> Vec<pb::ProcessingRecord> {
    let mut all = Vec::new();
    let mut req = req;
    loop {
        let page = b
            .processing_log()
            .list_processing_records(request(TENANT, req.clone()))
            .await
            .unwrap_or_else(|s| panic!("ListProcessingRecords failed: {s:?}"))
            .into_inner();
        // The privacy officer's own listings are logged too (an access request, tested
        // on its own below); the other tests count the processings they made.
        all.extend(
            page.records
                .into_iter()
                .filter(|r| r.name != ACCESS_REQUEST),
        );
        if page.next_page_token.is_empty() {
            return all;
        }
        req.page_token = page.next_page_token;
    }
}

async fn of(b: &Backend, ids: pb::Identifiers) -> Vec<pb::ProcessingRecord> {
    records(
        b,
        pb::ListProcessingRecordsRequest {
            identifiers: Some(ids),
            ..Default::default()
        },
    )
    .await
}

async fn everyone(b: &Backend) -> Vec<pb::ProcessingRecord> {
    records(b, pb::ListProcessingRecordsRequest::default()).await
}

fn ok(r: &pb::ProcessingRecord) -> bool {
    r.status == pb::ProcessingStatus::Ok as i32
}

fn with_traceparent<T>(msg: T) -> tonic::Request<T> {
    let mut r = request(TENANT, msg);
    r.metadata_mut().insert(
        "traceparent",
        format!("00-{CALLER_TRACE}-{CALLER_SPAN}-01")
            .parse()
            .unwrap(),
    );
    r
}

async fn start_bsn(b: &Backend, minute: u32) -> pb::StartContactResponse {
    b.start(
        TENANT,
        start(
            Channel::Phone,
            &format!("2026-03-02T09:{minute:02}:00+01:00"),
            Some(bsn(BSN)),
            "paspoort",
        ),
    )
    .await
}

database_test!(a_context_shown_is_one_record_of_its_party_without_identifier_or_user);
async fn a_context_shown_is_one_record_of_its_party_without_identifier_or_user(
    database: TestDatabase,
) {
    on_backend(database, |b| async move {
        let started = start_bsn(&b, 0).await;
        let (_, party, _) = ids_of(&started);
        let log = of(&b, bsn(BSN)).await;
        assert_eq!(log.len(), 1, "{log:?}");
        let r = &log[0];
        assert!(ok(r));
        assert_eq!(r.name, "midoffice context read");
        assert_eq!(r.data_subject_id, party);
        assert_eq!(r.data_subject_id_type, "midoffice-party-id");
        assert_eq!(
            r.processing_activity_id,
            "urn:midoffice:processing-activity:context-read"
        );
        assert_eq!(r.service_name, "midoffice");
        assert!(!r.service_version.is_empty());
        assert!(r.start_time.is_some() && r.end_time.is_some());
        // No identifier and no user identity anywhere in the record.
        let text = format!("{r:?}");
        for secret in [BSN, "development", "******068"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        // Who did it is in the audit record with the same span.
        let audit = b
            .processing_log()
            .list_audit_records(request(
                TENANT,
                pb::ListAuditRecordsRequest {
                    trace_id: r.trace_id.clone(),
                    span_id: r.span_id.clone(),
                    ..Default::default()
                },
            ))
            .await
            .unwrap()
            .into_inner()
            .records;
        assert_eq!(audit.len(), 1, "{audit:?}");
        assert_eq!(audit[0].span_id, r.span_id);
        assert_eq!(audit[0].operation, "StartContact");
        assert!(audit[0].actor.contains("development"), "{:?}", audit[0]);
        // For which contact: the one started.
        assert_eq!(audit[0].contact_id, ids_of(&started).0);
        // A look-up is about the party, not a contact.
        b.parties()
            .get_context(request(
                TENANT,
                pb::GetContextRequest {
                    identifiers: Some(bsn(BSN)),
                    as_of: None,
                },
            ))
            .await
            .unwrap();
        let lookups: Vec<_> = b
            .processing_log()
            .list_audit_records(request(TENANT, pb::ListAuditRecordsRequest::default()))
            .await
            .unwrap()
            .into_inner()
            .records
            .into_iter()
            .filter(|a| a.operation == "GetContext")
            .collect();
        assert_eq!(lookups.len(), 1);
        assert_eq!(lookups[0].contact_id, "");
    })
    .await;
}

database_test!(the_callers_traceparent_is_continued_and_without_one_a_trace_starts);
async fn the_callers_traceparent_is_continued_and_without_one_a_trace_starts(
    database: TestDatabase,
) {
    on_backend(database, |b| async move {
        start_bsn(&b, 0).await;
        b.parties()
            .get_context(with_traceparent(pb::GetContextRequest {
                identifiers: Some(bsn(BSN)),
                as_of: None,
            }))
            .await
            .unwrap();
        let log = of(&b, bsn(BSN)).await;
        assert_eq!(log.len(), 2);
        let (first, second) = (&log[0], &log[1]);
        // Without a traceparent: a trace of its own, no parent.
        assert_ne!(first.trace_id, CALLER_TRACE);
        assert_eq!(first.trace_id.len(), 32);
        assert_eq!(first.parent_span_id, "");
        // With one: the caller's trace, the caller's span as parent, a span of its own.
        assert_eq!(second.trace_id, CALLER_TRACE);
        assert_eq!(second.parent_span_id, CALLER_SPAN);
        assert_ne!(second.span_id, CALLER_SPAN);
        assert_eq!(second.span_id.len(), 16);
    })
    .await;
}

database_test!(a_start_that_merges_parties_logs_each_as_a_child_span_and_the_listing_finds_both);
async fn a_start_that_merges_parties_logs_each_as_a_child_span_and_the_listing_finds_both(
    database: TestDatabase,
) {
    on_backend(database, |b| async move {
        let mail = "p.de.vries@example.nl";
        let tel = "0611112222";
        let a = b
            .start(
                TENANT,
                start(
                    Channel::Email,
                    "2026-03-02T09:00:00+01:00",
                    Some(email(mail)),
                    "afval",
                ),
            )
            .await;
        let c = b
            .start(
                TENANT,
                start(
                    Channel::Phone,
                    "2026-03-02T09:05:00+01:00",
                    Some(phone(tel)),
                    "afval",
                ),
            )
            .await;
        let (_, party_a, _) = ids_of(&a);
        let (_, party_b, _) = ids_of(&c);
        assert_ne!(party_a, party_b);
        let both = pb::Identifiers {
            email: mail.into(),
            phone: tel.into(),
            ..Default::default()
        };
        b.contacts()
            .start_contact(with_traceparent(pb::StartContactRequest {
                request_id: String::new(),
                start: Some(start(
                    Channel::Phone,
                    "2026-03-02T09:10:00+01:00",
                    Some(both),
                    "afval",
                )),
            }))
            .await
            .unwrap();
        let merged: Vec<_> = everyone(&b)
            .await
            .into_iter()
            .filter(|r| r.trace_id == CALLER_TRACE)
            .collect();
        assert_eq!(merged.len(), 2, "one record per data subject: {merged:?}");
        let mut subjects: Vec<&str> = merged.iter().map(|r| r.data_subject_id.as_str()).collect();
        subjects.sort();
        let mut expected = [party_a.as_str(), party_b.as_str()];
        expected.sort();
        assert_eq!(subjects, expected);
        // Child spans of the call's span: one parent, two spans, neither the caller's.
        assert_eq!(merged[0].parent_span_id, merged[1].parent_span_id);
        assert_ne!(merged[0].span_id, merged[1].span_id);
        assert_ne!(merged[0].parent_span_id, CALLER_SPAN);
        // An access request by either identifier finds every record of the person,
        // also those written under the party merged away.
        for ids in [email(mail), phone(tel)] {
            assert_eq!(of(&b, ids).await.len(), 4);
        }
    })
    .await;
}

database_test!(no_sampling_every_processing_is_one_record);
async fn no_sampling_every_processing_is_one_record(database: TestDatabase) {
    on_backend(database, |b| async move {
        let started = start_bsn(&b, 0).await;
        let (contact, _, _) = ids_of(&started);
        const N: usize = 25;
        for _ in 0..N {
            b.context(TENANT, bsn(BSN)).await;
        }
        b.contact(TENANT, &contact).await;
        let log = of(&b, bsn(BSN)).await;
        assert_eq!(log.len(), 1 + N + 1);
        assert!(log.iter().all(ok));
        let reads = log
            .iter()
            .filter(|r| r.name == "midoffice contact read")
            .count();
        assert_eq!(reads, 1);
        // An unknown identifier shows nobody: nothing personal, nothing logged.
        b.context(TENANT, bsn("999990081")).await;
        assert_eq!(everyone(&b).await.len(), 1 + N + 1);
    })
    .await;
}

database_test!(a_refused_processing_leaves_no_ok_record_but_an_unset_one);
async fn a_refused_processing_leaves_no_ok_record_but_an_unset_one(database: TestDatabase) {
    on_backend(database, |b| async move {
        start_bsn(&b, 0).await;
        // Ends before it starts: the domain refuses the whole record.
        let refused = b
            .contacts()
            .record_contact(request(
                TENANT,
                pb::RecordContactRequest {
                    start: Some(start(
                        Channel::Phone,
                        "2026-03-02T10:00:00+01:00",
                        Some(bsn(BSN)),
                        "paspoort",
                    )),
                    completion: Some(resolved(
                        "2026-03-02T09:30:00+01:00",
                        "2026-03-02T09:40:00+01:00",
                        "te vroeg",
                    )),
                    context_seen: true,
                    ..Default::default()
                },
            ))
            .await;
        assert!(refused.is_err(), "{refused:?}");
        let log = of(&b, bsn(BSN)).await;
        let oks = log.iter().filter(|r| ok(r)).count();
        assert_eq!(oks, 1, "only the start that answered: {log:?}");
        let unset: Vec<_> = log
            .iter()
            .filter(|r| r.status == pb::ProcessingStatus::Unset as i32)
            .collect();
        assert_eq!(unset.len(), 1, "{log:?}");
        assert!(
            log.iter()
                .all(|r| r.status != pb::ProcessingStatus::Error as i32)
        );
        // Refused before a data subject was known (no identifiers valid): nothing.
        let before = everyone(&b).await.len();
        let _ = b
            .parties()
            .get_context(request(
                TENANT,
                pb::GetContextRequest {
                    identifiers: Some(bsn("123")),
                    as_of: None,
                },
            ))
            .await
            .unwrap_err();
        assert_eq!(everyone(&b).await.len(), before);
    })
    .await;
}

database_test!(the_activity_uri_comes_from_the_tenant_settings);
async fn the_activity_uri_comes_from_the_tenant_settings(database: TestDatabase) {
    on_backend(database, |b| async move {
        let mut settings = b.settings(TENANT).await;
        let uri = "https://register.gemeente.example/verwerkingen/klantbeeld";
        settings.processing_activities = Some(pb::ProcessingActivities {
            context_read: uri.into(),
            ..Default::default()
        });
        b.tenants()
            .replace_tenant_settings(request(
                TENANT,
                pb::ReplaceTenantSettingsRequest {
                    settings: Some(settings.clone()),
                },
            ))
            .await
            .unwrap();
        let started = start_bsn(&b, 0).await;
        let (contact, _, _) = ids_of(&started);
        b.contact(TENANT, &contact).await;
        let log = of(&b, bsn(BSN)).await;
        assert_eq!(log[0].processing_activity_id, uri);
        assert_eq!(
            log[1].processing_activity_id,
            "urn:midoffice:processing-activity:contact-read"
        );
        // Not a URI: refused, naming the field.
        settings.processing_activities = Some(pb::ProcessingActivities {
            erase: "verwerking 12".into(),
            ..Default::default()
        });
        assert_invalid(
            b.tenants()
                .replace_tenant_settings(request(
                    TENANT,
                    pb::ReplaceTenantSettingsRequest {
                        settings: Some(settings),
                    },
                ))
                .await,
            &["settings.processing_activities.erase"],
        );
    })
    .await;
}

database_test!(listings_by_period_page_without_gaps_or_repeats);
async fn listings_by_period_page_without_gaps_or_repeats(database: TestDatabase) {
    on_backend(database, |b| async move {
        start_bsn(&b, 0).await;
        for _ in 0..6 {
            b.context(TENANT, bsn(BSN)).await;
        }
        let all = everyone(&b).await;
        assert_eq!(all.len(), 7);
        let paged = records(
            &b,
            pb::ListProcessingRecordsRequest {
                page_size: 2,
                ..Default::default()
            },
        )
        .await;
        assert_eq!(paged, all);
        // A period: from the fourth record's start on.
        let from = all[3].start_time;
        let later = records(
            &b,
            pb::ListProcessingRecordsRequest {
                start_time: from,
                page_size: 3,
                ..Default::default()
            },
        )
        .await;
        assert!(later.len() >= 4 && later.len() <= 7, "{}", later.len());
        assert_eq!(later.last(), all.last());
        // A period before everything holds nothing.
        let none = records(
            &b,
            pb::ListProcessingRecordsRequest {
                start_time: Some(at("2000-01-01T00:00:00Z")),
                end_time: Some(at("2000-01-02T00:00:00Z")),
                ..Default::default()
            },
        )
        .await;
        assert!(none.is_empty());
    })
    .await;
}

database_test!(an_erase_is_logged_and_its_records_stay_findable_by_pseudonym);
async fn an_erase_is_logged_and_its_records_stay_findable_by_pseudonym(database: TestDatabase) {
    on_backend(database, |b| async move {
        let started = start_bsn(&b, 0).await;
        let (_, party, _) = ids_of(&started);
        let erased = b
            .parties()
            .erase_party(request(
                TENANT,
                pb::ErasePartyRequest {
                    identifiers: Some(bsn(BSN)),
                },
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(erased.party_id, party);
        // The identifier is gone, so it finds nothing any more ...
        assert!(of(&b, bsn(BSN)).await.is_empty());
        // ... but the pseudonym the erase answered finds the whole history.
        let log = records(
            &b,
            pb::ListProcessingRecordsRequest {
                data_subject_id: party.clone(),
                ..Default::default()
            },
        )
        .await;
        let names: Vec<&str> = log.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["midoffice context read", "midoffice party erase"]);
        assert!(log.iter().all(ok));
        assert_eq!(
            log[1].processing_activity_id,
            "urn:midoffice:processing-activity:erase"
        );
    })
    .await;
}

database_test!(every_bad_listing_field_is_named);
async fn every_bad_listing_field_is_named(database: TestDatabase) {
    on_backend(database, |b| async move {
        assert_invalid(
            b.processing_log()
                .list_processing_records(request(
                    TENANT,
                    pb::ListProcessingRecordsRequest {
                        identifiers: Some(bsn("123")),
                        data_subject_id: "not-a-uuid".into(),
                        start_time: Some(at("2026-03-02T00:00:00Z")),
                        end_time: Some(at("2026-03-01T00:00:00Z")),
                        page_size: -1,
                        page_token: "x".into(),
                    },
                ))
                .await,
            &[
                "identifiers.bsn",
                "data_subject_id",
                "data_subject_id",
                "end_time",
                "page_size",
                "page_token",
            ],
        );
        assert_invalid(
            b.processing_log()
                .list_audit_records(request(
                    TENANT,
                    pb::ListAuditRecordsRequest {
                        trace_id: "ZZ".into(),
                        span_id: "0000000000000000".into(),
                        ..Default::default()
                    },
                ))
                .await,
            &["trace_id", "span_id"],
        );
    })
    .await;
}

database_test!(a_page_of_a_partys_contacts_is_a_context_read_too);
async fn a_page_of_a_partys_contacts_is_a_context_read_too(database: TestDatabase) {
    on_backend(database, |b| async move {
        let started = start_bsn(&b, 0).await;
        let (_, party, _) = ids_of(&started);
        b.parties()
            .list_party_contacts(with_traceparent(pb::ListPartyContactsRequest {
                identifiers: Some(bsn(BSN)),
                ..Default::default()
            }))
            .await
            .unwrap();
        let log = of(&b, bsn(BSN)).await;
        assert_eq!(log.len(), 2, "{log:?}");
        assert_eq!(log[1].name, "midoffice context read");
        assert_eq!(log[1].data_subject_id, party);
        assert_eq!(log[1].trace_id, CALLER_TRACE);
        assert!(ok(&log[1]));
        let audit = b
            .processing_log()
            .list_audit_records(request(
                TENANT,
                pb::ListAuditRecordsRequest {
                    span_id: log[1].span_id.clone(),
                    ..Default::default()
                },
            ))
            .await
            .unwrap()
            .into_inner()
            .records;
        assert_eq!(audit.len(), 1);
        assert_eq!(audit[0].operation, "ListPartyContacts");
    })
    .await;
}

fn key(name: &str, key: &str, roles: &[Role], channels: Option<Vec<DomainChannel>>) -> ApiKey {
    ApiKey {
        name: name.to_owned(),
        sha256: key_hash(key),
        grant: Grant {
            tenants: vec![TenantId::parse(TENANT).unwrap()],
            roles: roles.to_vec(),
            channels,
        },
    }
}

fn as_key<T>(key: &str, msg: T) -> tonic::Request<T> {
    let mut r = tonic::Request::new(msg);
    r.metadata_mut()
        .insert("authorization", format!("Bearer {key}").parse().unwrap());
    r
}

database_test!(who_did_it_is_the_credential_in_the_audit_record_and_a_refused_read_is_unset);
async fn who_did_it_is_the_credential_in_the_audit_record_and_a_refused_read_is_unset(
    database: TestDatabase,
) {
    let (agent, phone_only, officer) = (new_key().unwrap(), new_key().unwrap(), new_key().unwrap());
    let access = Access::configured(AccessConfig {
        keys: vec![
            key("agent-web", &agent, &[Role::Channel], None),
            key(
                "agent-phone",
                &phone_only,
                &[Role::Channel],
                Some(vec![DomainChannel::Phone]),
            ),
            key("privacy-officer", &officer, &[Role::Privacy], None),
        ],
        ..Default::default()
    });
    let setup = Setup {
        access,
        ..Setup::default()
    };
    on_backend_with(database, setup, move |b| async move {
        let started = b
            .contacts()
            .start_contact(as_key(
                &agent,
                pb::StartContactRequest {
                    request_id: String::new(),
                    start: Some(start(
                        Channel::Web,
                        "2026-03-02T09:00:00+01:00",
                        Some(bsn(BSN)),
                        "paspoort",
                    )),
                },
            ))
            .await
            .unwrap()
            .into_inner();
        let (contact, party, _) = ids_of(&started);
        // A phone-only credential may not read a web contact: refused after the party
        // was known, so logged Unset, never Ok.
        let refused = b
            .contacts()
            .get_contact(as_key(
                &phone_only,
                pb::GetContactRequest {
                    contact_id: contact.clone(),
                },
            ))
            .await
            .expect_err("a web contact for a phone-only credential");
        assert_eq!(refused.code(), tonic::Code::PermissionDenied);
        // Nor answer for it: a contact recording refused after the contact was found.
        let refused = b
            .contacts()
            .submit_feedback(as_key(
                &phone_only,
                pb::SubmitFeedbackRequest {
                    contact_id: contact.clone(),
                    score: 4,
                    effort: 2,
                    ..Default::default()
                },
            ))
            .await
            .expect_err("a web contact for a phone-only credential");
        assert_eq!(refused.code(), tonic::Code::PermissionDenied);
        // The channel role cannot read the log; the privacy role can.
        let denied = b
            .processing_log()
            .list_processing_records(as_key(&agent, pb::ListProcessingRecordsRequest::default()))
            .await
            .expect_err("the log is for the privacy role");
        assert_eq!(denied.code(), tonic::Code::PermissionDenied);
        let log = b
            .processing_log()
            .list_processing_records(as_key(
                &officer,
                pb::ListProcessingRecordsRequest {
                    identifiers: Some(bsn(BSN)),
                    ..Default::default()
                },
            ))
            .await
            .unwrap()
            .into_inner()
            .records;
        assert_eq!(log.len(), 3, "{log:?}");
        assert!(ok(&log[0]));
        assert_eq!(log[1].name, "midoffice contact read");
        assert_eq!(log[2].name, "midoffice contact recording");
        for r in &log[1..] {
            assert_eq!(r.status, pb::ProcessingStatus::Unset as i32);
            assert_eq!(r.data_subject_id, party);
        }
        let mut actors = Vec::new();
        for r in &log {
            // The record itself names nobody.
            assert!(!format!("{r:?}").contains("agent"), "{r:?}");
            let audit = b
                .processing_log()
                .list_audit_records(as_key(
                    &officer,
                    pb::ListAuditRecordsRequest {
                        trace_id: r.trace_id.clone(),
                        span_id: r.span_id.clone(),
                        ..Default::default()
                    },
                ))
                .await
                .unwrap()
                .into_inner()
                .records;
            assert_eq!(audit.len(), 1);
            actors.push((audit[0].operation.clone(), audit[0].actor.clone()));
        }
        assert_eq!(
            actors,
            [
                ("StartContact".to_owned(), "key:agent-web".to_owned()),
                ("GetContact".to_owned(), "key:agent-phone".to_owned()),
                ("SubmitFeedback".to_owned(), "key:agent-phone".to_owned()),
            ]
        );
    })
    .await;
}

database_test!(an_access_request_by_a_shared_identifier_is_refused_never_another_citizens_records);
async fn an_access_request_by_a_shared_identifier_is_refused_never_another_citizens_records(
    database: TestDatabase,
) {
    use tonic_types::StatusExt;
    on_backend(database, |b| async move {
        // Two citizens share an address.
        let shared = "gezin@example.nl";
        let other_bsn = "999990019";
        let mut parties = Vec::new();
        for (bsn_, minute) in [(BSN, "00"), (other_bsn, "05")] {
            let ids = pb::Identifiers {
                email: shared.to_owned(),
                ..bsn(bsn_)
            };
            let s = start(
                Channel::Email,
                &format!("2026-03-02T09:{minute}:00+01:00"),
                Some(ids),
                "afval",
            );
            parties.push(ids_of(&b.start(TENANT, s).await).1);
        }
        assert_ne!(parties[0], parties[1]);
        // By the shared address alone: refused, naming the identifiers, listing nothing.
        let status = b
            .processing_log()
            .list_processing_records(request(
                TENANT,
                pb::ListProcessingRecordsRequest {
                    identifiers: Some(email(shared)),
                    ..Default::default()
                },
            ))
            .await
            .expect_err("a shared identifier must be refused");
        assert_eq!(status.code(), tonic::Code::FailedPrecondition, "{status:?}");
        let info = status.get_details_error_info().expect("ErrorInfo");
        assert_eq!(info.reason, "PARTY_AMBIGUOUS");
        assert_eq!(
            info.metadata.get("field").map(String::as_str),
            Some("identifiers")
        );
        // With a BSN too: that citizen's records only.
        for (i, bsn_) in [BSN, other_bsn].into_iter().enumerate() {
            let ids = pb::Identifiers {
                email: shared.to_owned(),
                ..bsn(bsn_)
            };
            let log = of(&b, ids).await;
            assert_eq!(log.len(), 1, "{log:?}");
            assert_eq!(log[0].data_subject_id, parties[i]);
        }
    })
    .await;
}

database_test!(a_completion_and_a_satisfaction_answer_are_contact_recordings_replays_too);
async fn a_completion_and_a_satisfaction_answer_are_contact_recordings_replays_too(
    database: TestDatabase,
) {
    on_backend(database, |b| async move {
        let started = start_bsn(&b, 0).await;
        let (contact_id, party, _) = ids_of(&started);
        let recordings = |log: Vec<pb::ProcessingRecord>| -> Vec<pb::ProcessingRecord> {
            log.into_iter()
                .filter(|r| r.name == "midoffice contact recording")
                .collect()
        };
        let complete = || {
            request(
                TENANT,
                pb::CompleteContactRequest {
                    request_id: "complete-1".into(),
                    contact_id: contact_id.clone(),
                    completion: Some(resolved(
                        "2026-03-02T09:00:10+01:00",
                        "2026-03-02T09:05:00+01:00",
                        "paspoort aangevraagd",
                    )),
                },
            )
        };
        // The completion, and its replay (the contact answered again).
        for _ in 0..2 {
            b.contacts().complete_contact(complete()).await.unwrap();
        }
        let feedback = || {
            request(
                TENANT,
                pb::SubmitFeedbackRequest {
                    request_id: "feedback-1".into(),
                    contact_id: contact_id.clone(),
                    score: 4,
                    effort: 2,
                    comment: "vriendelijk geholpen".into(),
                    ..Default::default()
                },
            )
        };
        for _ in 0..2 {
            b.contacts().submit_feedback(feedback()).await.unwrap();
        }
        // A second answer with another key is refused after the contact was found.
        let mut again = feedback();
        again.get_mut().request_id = "feedback-2".into();
        b.contacts().submit_feedback(again).await.unwrap_err();

        let log = recordings(of(&b, bsn(BSN)).await);
        assert_eq!(log.len(), 5, "{log:?}");
        assert!(log.iter().all(|r| r.data_subject_id == party));
        assert!(log.iter().all(|r| {
            r.processing_activity_id == "urn:midoffice:processing-activity:contact-recording"
        }));
        assert_eq!(log.iter().filter(|r| ok(r)).count(), 4, "{log:?}");
        assert_eq!(
            log.iter()
                .filter(|r| r.status == pb::ProcessingStatus::Unset as i32)
                .count(),
            1
        );
        // Who did it: the audit record of each, by RPC.
        let mut operations = Vec::new();
        for r in &log {
            let audit = b
                .processing_log()
                .list_audit_records(request(
                    TENANT,
                    pb::ListAuditRecordsRequest {
                        trace_id: r.trace_id.clone(),
                        span_id: r.span_id.clone(),
                        ..Default::default()
                    },
                ))
                .await
                .unwrap()
                .into_inner()
                .records;
            assert_eq!(audit.len(), 1);
            // For which contact.
            assert_eq!(audit[0].contact_id, contact_id);
            operations.push(audit[0].operation.clone());
        }
        operations.sort();
        assert_eq!(
            operations,
            [
                "CompleteContact",
                "CompleteContact",
                "SubmitFeedback",
                "SubmitFeedback",
                "SubmitFeedback"
            ]
        );
        // GetTenantSettings answers the URI in force for the kind.
        let settings = b.settings(TENANT).await;
        assert_eq!(
            settings
                .processing_activities
                .as_ref()
                .unwrap()
                .contact_recording,
            "urn:midoffice:processing-activity:contact-recording"
        );
    })
    .await;
}

database_test!(
    the_privacy_officers_listing_of_a_data_subject_is_itself_logged_with_an_audit_record
);
async fn the_privacy_officers_listing_of_a_data_subject_is_itself_logged_with_an_audit_record(
    database: TestDatabase,
) {
    on_backend(database, |b| async move {
        let started = start_bsn(&b, 0).await;
        let (_, party, _) = ids_of(&started);
        let list = |req: pb::ListProcessingRecordsRequest| {
            let b = b.clone();
            async move {
                b.processing_log()
                    .list_processing_records(request(TENANT, req))
                    .await
                    .unwrap()
                    .into_inner()
                    .records
            }
        };
        let by_bsn = pb::ListProcessingRecordsRequest {
            identifiers: Some(bsn(BSN)),
            ..Default::default()
        };
        let by_id = pb::ListProcessingRecordsRequest {
            data_subject_id: party.clone(),
            ..Default::default()
        };
        // The first listing shows the start only; it is logged after its page was read.
        assert_eq!(list(by_bsn.clone()).await.len(), 1);
        let after = list(by_id).await;
        let access: Vec<_> = after.iter().filter(|r| r.name == ACCESS_REQUEST).collect();
        assert_eq!(access.len(), 1, "{after:?}");
        let r = access[0];
        assert_eq!(r.data_subject_id, party);
        assert!(ok(r));
        assert_eq!(
            r.processing_activity_id,
            "urn:midoffice:processing-activity:access-request"
        );
        // Both listings are logged, each with an audit record of the privacy call.
        let all = list(by_bsn).await;
        let access: Vec<_> = all.iter().filter(|r| r.name == ACCESS_REQUEST).collect();
        assert_eq!(access.len(), 2, "{all:?}");
        for r in access {
            let audit = b
                .processing_log()
                .list_audit_records(request(
                    TENANT,
                    pb::ListAuditRecordsRequest {
                        trace_id: r.trace_id.clone(),
                        span_id: r.span_id.clone(),
                        ..Default::default()
                    },
                ))
                .await
                .unwrap()
                .into_inner()
                .records;
            assert_eq!(audit.len(), 1);
            assert_eq!(audit[0].operation, "ListProcessingRecords");
        }
        // A listing of everyone, and of identifiers nobody has, processes no one.
        let before = list(pb::ListProcessingRecordsRequest::default())
            .await
            .len();
        assert!(
            list(pb::ListProcessingRecordsRequest {
                identifiers: Some(bsn("999990019")),
                ..Default::default()
            })
            .await
            .is_empty()
        );
        assert_eq!(
            list(pb::ListProcessingRecordsRequest::default())
                .await
                .len(),
            before
        );
    })
    .await;
}

database_test!(a_start_refused_after_its_party_was_found_is_logged_unset);
async fn a_start_refused_after_its_party_was_found_is_logged_unset(database: TestDatabase) {
    on_backend(database, |b| async move {
        let started = start_bsn(&b, 0).await;
        let (_, party, _) = ids_of(&started);
        // A case that is not the party's: NOT_FOUND, after the party was found.
        let mut refused = start(
            Channel::Phone,
            "2026-03-02T09:10:00+01:00",
            Some(bsn(BSN)),
            "paspoort",
        );
        refused.case_id = "01a24b60-e75b-7091-a48b-764fe9fe0b8e".to_owned();
        let status = b
            .contacts()
            .start_contact(request(
                TENANT,
                pb::StartContactRequest {
                    request_id: String::new(),
                    start: Some(refused),
                },
            ))
            .await
            .expect_err("an unknown case");
        assert_eq!(status.code(), tonic::Code::NotFound, "{status:?}");
        let log = of(&b, bsn(BSN)).await;
        assert_eq!(log.len(), 2, "{log:?}");
        let unset: Vec<_> = log
            .iter()
            .filter(|r| r.status == pb::ProcessingStatus::Unset as i32)
            .collect();
        assert_eq!(unset.len(), 1, "{log:?}");
        assert_eq!(unset[0].data_subject_id, party);
        assert_eq!(unset[0].name, "midoffice context read");
        // Refused before any party was known (no such case, no identifiers): nothing.
        let before = everyone(&b).await.len();
        let mut anonymous = start(
            Channel::Phone,
            "2026-03-02T09:20:00+01:00",
            None,
            "paspoort",
        );
        anonymous.case_id = "01a24b60-e75b-7091-a48b-764fe9fe0b8e".to_owned();
        b.contacts()
            .start_contact(request(
                TENANT,
                pb::StartContactRequest {
                    request_id: String::new(),
                    start: Some(anonymous),
                },
            ))
            .await
            .expect_err("an unknown case");
        assert_eq!(everyone(&b).await.len(), before);
    })
    .await;
}

database_test!(a_page_of_contacts_refused_after_its_party_was_found_is_logged_unset);
async fn a_page_of_contacts_refused_after_its_party_was_found_is_logged_unset(
    database: TestDatabase,
) {
    on_backend(database, |b| async move {
        let started = start_bsn(&b, 0).await;
        let (_, party, _) = ids_of(&started);
        // A case that is not the party's: NOT_FOUND, after the party was found.
        let status = b
            .parties()
            .list_party_contacts(request(
                TENANT,
                pb::ListPartyContactsRequest {
                    identifiers: Some(bsn(BSN)),
                    case_id: "01a24b60-e75b-7091-a48b-764fe9fe0b8e".to_owned(),
                    ..Default::default()
                },
            ))
            .await
            .expect_err("a case that is not the party's");
        assert_eq!(status.code(), tonic::Code::NotFound, "{status:?}");
        let log = of(&b, bsn(BSN)).await;
        assert_eq!(log.len(), 2, "{log:?}");
        let unset: Vec<_> = log
            .iter()
            .filter(|r| r.status == pb::ProcessingStatus::Unset as i32)
            .collect();
        assert_eq!(unset.len(), 1, "{log:?}");
        assert_eq!(unset[0].data_subject_id, party);
        assert_eq!(unset[0].name, "midoffice context read");
        // Refused before any party was known (nobody has these identifiers): nothing.
        let before = everyone(&b).await.len();
        let status = b
            .parties()
            .list_party_contacts(request(
                TENANT,
                pb::ListPartyContactsRequest {
                    identifiers: Some(email("nobody@example.org")),
                    case_id: "01a24b60-e75b-7091-a48b-764fe9fe0b8e".to_owned(),
                    ..Default::default()
                },
            ))
            .await
            .expect_err("nobody");
        assert_eq!(status.code(), tonic::Code::NotFound, "{status:?}");
        assert_eq!(everyone(&b).await.len(), before);
    })
    .await;
}
