//! Every error the API answers carries a `google.rpc.ErrorInfo` with a stable reason in
//! UPPER_SNAKE_CASE and the domain `midoffice`, besides the BadRequest field violations
//! of invalid input: each kind of refusal is provoked here over a real socket.

use midoffice_tests::pb::{self, Channel};
use midoffice_tests::{
    Backend, TENANT, TestDatabase, bsn, database_test, email, ids_of, on_backend, request,
};
use midoffice_tests::{resolved, start};
use tonic::Code;
use tonic_types::StatusExt;

const BSN_A: &str = "999990019";
const BSN_B: &str = "999990020";

/// Asserts the code, and the reason, domain and `field` metadata of the ErrorInfo; and
/// that nothing in the status repeats a BSN.
#[track_caller]
fn assert_reason<T: std::fmt::Debug>(
    result: Result<T, tonic::Status>,
    code: Code,
    reason: &str,
    field: Option<&str>,
) {
    let status = result.expect_err("the call should have failed");
    assert_eq!(status.code(), code, "{status:?}");
    let info = status
        .get_details_error_info()
        .unwrap_or_else(|| panic!("no ErrorInfo in {status:?}"));
    assert_eq!(info.reason, reason, "{status:?}");
    assert_eq!(info.domain, "midoffice");
    assert_eq!(info.metadata.get("field").map(String::as_str), field);
    let everything = format!("{status:?} {info:?}");
    for secret in [BSN_A, BSN_B] {
        assert!(!everything.contains(secret), "{everything}");
    }
}

fn start_request(
    request_id: &str,
    start: pb::ContactStart,
) -> tonic::Request<pb::StartContactRequest> {
    request(
        TENANT,
        pb::StartContactRequest {
            request_id: request_id.to_owned(),
            start: Some(start),
        },
    )
}

fn feedback(contact_id: &str) -> tonic::Request<pb::SubmitFeedbackRequest> {
    request(
        TENANT,
        pb::SubmitFeedbackRequest {
            contact_id: contact_id.to_owned(),
            score: 4,
            effort: 2,
            ..Default::default()
        },
    )
}

fn erase(ids: pb::Identifiers) -> tonic::Request<pb::ErasePartyRequest> {
    request(
        TENANT,
        pb::ErasePartyRequest {
            identifiers: Some(ids),
        },
    )
}

async fn every_kind(b: &Backend) {
    let mut contacts = b.contacts();
    let mut parties = b.parties();
    let phone = |bsn_: &str| {
        start(
            Channel::Phone,
            "2026-03-02T09:00:00+01:00",
            Some(bsn(bsn_)),
            "paspoort",
        )
    };

    // Invalid input: the field violations, and the reason INVALID_FIELDS.
    let answer = contacts
        .start_contact(request(TENANT, pb::StartContactRequest::default()))
        .await;
    let status = answer.as_ref().expect_err("no start");
    assert_eq!(
        status
            .get_details_bad_request()
            .map(|b| b.field_violations.len()),
        Some(1)
    );
    assert_reason(answer, Code::InvalidArgument, "INVALID_FIELDS", None);
    // A tenant that is not a code, too.
    let mut bad_tenant = request(TENANT, pb::GetTenantSettingsRequest {});
    bad_tenant
        .metadata_mut()
        .insert("x-tenant", "Gemeente A".parse().expect("metadata"));
    assert_reason(
        b.tenants().get_tenant_settings(bad_tenant).await,
        Code::InvalidArgument,
        "INVALID_FIELDS",
        None,
    );

    // An idempotency key reused for another request.
    let first = contacts
        .start_contact(start_request("k-1", phone(BSN_A)))
        .await
        .expect("a start")
        .into_inner();
    let (contact_a, _, _) = ids_of(&first);
    let other = start(
        Channel::Counter,
        "2026-03-02T09:00:00+01:00",
        Some(bsn(BSN_A)),
        "paspoort",
    );
    assert_reason(
        contacts.start_contact(start_request("k-1", other)).await,
        Code::InvalidArgument,
        "REQUEST_ID_REUSED",
        Some("request_id"),
    );

    // Unknown contact, case and party.
    let unknown = "0190c8a0-7e1b-7c3a-9f00-0123456789ab";
    assert_reason(
        contacts
            .get_contact(request(
                TENANT,
                pb::GetContactRequest {
                    contact_id: unknown.to_owned(),
                },
            ))
            .await,
        Code::NotFound,
        "CONTACT_NOT_FOUND",
        Some("contact_id"),
    );
    let on_unknown_case = pb::ContactStart {
        case_id: unknown.to_owned(),
        ..phone(BSN_A)
    };
    assert_reason(
        contacts
            .start_contact(start_request("", on_unknown_case))
            .await,
        Code::NotFound,
        "CASE_NOT_FOUND",
        Some("start.case_id"),
    );
    assert_reason(
        parties.erase_party(erase(bsn(BSN_B))).await,
        Code::NotFound,
        "PARTY_NOT_FOUND",
        Some("identifiers"),
    );

    // Feedback before completion; a second completion; a second answer.
    assert_reason(
        contacts.submit_feedback(feedback(&contact_a)).await,
        Code::FailedPrecondition,
        "CONTACT_NOT_COMPLETED",
        Some("contact_id"),
    );
    let done = resolved(
        "2026-03-02T09:00:10+01:00",
        "2026-03-02T09:04:00+01:00",
        "Paspoort aangevraagd.",
    );
    b.complete(TENANT, &contact_a, done.clone()).await;
    assert_reason(
        contacts
            .complete_contact(request(
                TENANT,
                pb::CompleteContactRequest {
                    request_id: String::new(),
                    contact_id: contact_a.clone(),
                    completion: Some(done),
                },
            ))
            .await,
        Code::FailedPrecondition,
        "CONTACT_ALREADY_COMPLETED",
        Some("contact_id"),
    );
    contacts
        .submit_feedback(feedback(&contact_a))
        .await
        .expect("the first answer");
    assert_reason(
        contacts.submit_feedback(feedback(&contact_a)).await,
        Code::AlreadyExists,
        "FEEDBACK_ALREADY_GIVEN",
        Some("contact_id"),
    );

    // Two citizens share an address: erasing by it alone is ambiguous.
    let shared = "gezin@example.nl";
    for (bsn_, hour) in [(BSN_A, "10"), (BSN_B, "11")] {
        let ids = pb::Identifiers {
            email: shared.to_owned(),
            ..bsn(bsn_)
        };
        let s = start(
            Channel::Email,
            &format!("2026-03-02T{hour}:00:00+01:00"),
            Some(ids),
            "afval",
        );
        b.start(TENANT, s).await;
    }
    assert_reason(
        parties.erase_party(erase(email(shared))).await,
        Code::FailedPrecondition,
        "PARTY_AMBIGUOUS",
        Some("identifiers"),
    );

    // A retry about a party erased since.
    parties
        .erase_party(erase(bsn(BSN_A)))
        .await
        .expect("the erasure");
    assert_reason(
        contacts
            .start_contact(start_request("k-1", phone(BSN_A)))
            .await,
        Code::FailedPrecondition,
        "PARTY_ERASED",
        Some("request_id"),
    );
}

database_test!(every_error_carries_error_info_with_its_reason);
async fn every_error_carries_error_info_with_its_reason(database: TestDatabase) {
    on_backend(database, |b| async move { every_kind(&b).await }).await;
}
