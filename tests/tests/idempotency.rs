//! Idempotency keys (AIP-155): a retried request with the same `request_id` returns the
//! first answer and stores nothing more; the same key with another request is
//! INVALID_ARGUMENT on `request_id`.

use midoffice_tests::pb::{self, Channel, Outcome};
use midoffice_tests::{
    TENANT, TestDatabase, assert_invalid, bsn, database_test, on_backend, request, resolved, start,
};

const BSNS: &[&str] = &["999990019", "999990032", "999990044"];

database_test!(a_retried_start_returns_the_same_contact_and_stores_nothing_more);
async fn a_retried_start_returns_the_same_contact_and_stores_nothing_more(database: TestDatabase) {
    on_backend(database, |b| async move {
        let first_request = pb::StartContactRequest {
            request_id: "start-1".into(),
            start: Some(start(
                Channel::Phone,
                "2026-03-02T09:00:00+01:00",
                Some(bsn("999990019")),
                "paspoort",
            )),
        };
        let first = b
            .contacts()
            .start_contact(request(TENANT, first_request.clone()))
            .await
            .expect("the first start")
            .into_inner();
        let retry = b
            .contacts()
            .start_contact(request(TENANT, first_request.clone()))
            .await
            .expect("the retried start")
            .into_inner();
        assert_eq!(retry, first, "a retry must give the first answer unchanged");
        assert_eq!(b.contact_count(TENANT).await, 1);
        assert_eq!(b.figures_2026(TENANT).await.cases, 1);

        // The same key with another request (another topic) is refused on `request_id`.
        let mut other = first_request.clone();
        if let Some(s) = other.start.as_mut() {
            s.topic = "rijbewijs".into();
        }
        assert_invalid(
            b.contacts().start_contact(request(TENANT, other)).await,
            "request_id",
            BSNS,
        );
        assert_eq!(
            b.contact_count(TENANT).await,
            1,
            "a refused retry stored a contact"
        );
        assert_eq!(
            b.figures_2026(TENANT).await.cases,
            1,
            "a refused retry stored a case"
        );

        // The same start a minute later under another key is a new contact on the same
        // case.
        let mut again = first_request.clone();
        again.request_id = "start-2".into();
        if let Some(s) = again.start.as_mut() {
            s.started_at = Some(midoffice_tests::at("2026-03-02T09:01:00+01:00"));
        }
        let second = b
            .contacts()
            .start_contact(request(TENANT, again))
            .await
            .expect("a start with a new key")
            .into_inner();
        let (first_id, first_party, first_case) = midoffice_tests::ids_of(&first);
        let (second_id, second_party, second_case) = midoffice_tests::ids_of(&second);
        assert_ne!(second_id, first_id);
        assert_eq!((second_party, second_case), (first_party, first_case));
        assert_eq!(b.contact_count(TENANT).await, 2);
    })
    .await;
}

database_test!(a_retried_record_returns_the_same_contact_and_stores_nothing_more);
async fn a_retried_record_returns_the_same_contact_and_stores_nothing_more(database: TestDatabase) {
    on_backend(database, |b| async move {
        let first_request = pb::RecordContactRequest {
            request_id: "record-1".into(),
            start: Some(start(
                Channel::Counter,
                "2026-03-03T10:00:00+01:00",
                Some(bsn("999990032")),
                "parkeervergunning",
            )),
            completion: Some(resolved(
                "2026-03-03T10:04:00+01:00",
                "2026-03-03T10:15:00+01:00",
                "Bewonersvergunning aangevraagd.",
            )),
            context_seen: true,
        };
        let first = b
            .contacts()
            .record_contact(request(TENANT, first_request.clone()))
            .await
            .expect("the first record")
            .into_inner();
        let retry = b
            .contacts()
            .record_contact(request(TENANT, first_request.clone()))
            .await
            .expect("the retried record")
            .into_inner();
        assert_eq!(retry, first, "a retry must give the first answer unchanged");
        assert_eq!(b.contact_count(TENANT).await, 1);

        let mut other = first_request.clone();
        other.context_seen = false;
        assert_invalid(
            b.contacts().record_contact(request(TENANT, other)).await,
            "request_id",
            BSNS,
        );
        assert_eq!(
            b.contact_count(TENANT).await,
            1,
            "a refused retry stored a contact"
        );
        let contact = first.contact.expect("a record answers with its contact");
        let stored = b.contact(TENANT, &contact.id).await;
        assert!(
            stored.context_seen,
            "a refused retry changed the stored contact"
        );
        assert!(stored.recorded);
    })
    .await;
}

database_test!(a_retried_completion_returns_the_first_answer_and_changes_nothing);
async fn a_retried_completion_returns_the_first_answer_and_changes_nothing(database: TestDatabase) {
    on_backend(database, |b| async move {
        let started = b
            .start(
                TENANT,
                start(
                    Channel::Phone,
                    "2026-03-04T11:00:00+01:00",
                    Some(bsn("999990044")),
                    "afvalinzameling",
                ),
            )
            .await;
        let (contact_id, _, _) = midoffice_tests::ids_of(&started);
        let first_request = pb::CompleteContactRequest {
            request_id: "complete-1".into(),
            contact_id: contact_id.clone(),
            completion: Some(resolved(
                "2026-03-04T11:00:20+01:00",
                "2026-03-04T11:05:00+01:00",
                "Container wordt vervangen.",
            )),
        };
        let first = b
            .contacts()
            .complete_contact(request(TENANT, first_request.clone()))
            .await
            .expect("the first completion")
            .into_inner();
        // A retry is not a second completion: it gets the first answer, not
        // FAILED_PRECONDITION.
        let retry = b
            .contacts()
            .complete_contact(request(TENANT, first_request.clone()))
            .await
            .expect("the retried completion")
            .into_inner();
        assert_eq!(retry, first, "a retry must give the first answer unchanged");

        let mut other = first_request.clone();
        if let Some(end) = other.completion.as_mut() {
            end.story = "Een ander verhaal.".into();
            end.outcome = Outcome::HandedOff as i32;
        }
        assert_invalid(
            b.contacts().complete_contact(request(TENANT, other)).await,
            "request_id",
            BSNS,
        );
        let stored = b.contact(TENANT, &contact_id).await;
        let completion = stored.completion.expect("the contact is completed");
        assert_eq!(completion.story, "Container wordt vervangen.");
        assert_eq!(completion.outcome, Outcome::Resolved as i32);
        assert_eq!(b.contact_count(TENANT).await, 1);
    })
    .await;
}

database_test!(a_retried_feedback_returns_the_first_answer_and_stores_one);
async fn a_retried_feedback_returns_the_first_answer_and_stores_one(database: TestDatabase) {
    on_backend(database, |b| async move {
        let started = b
            .start(
                TENANT,
                start(
                    Channel::Phone,
                    "2026-03-05T14:00:00+01:00",
                    Some(bsn("999990019")),
                    "paspoort",
                ),
            )
            .await;
        let (contact_id, _, _) = midoffice_tests::ids_of(&started);
        b.complete(
            TENANT,
            &contact_id,
            resolved(
                "2026-03-05T14:00:15+01:00",
                "2026-03-05T14:06:00+01:00",
                "Afspraak gemaakt.",
            ),
        )
        .await;
        let first_request = pb::SubmitFeedbackRequest {
            request_id: "feedback-1".into(),
            contact_id: contact_id.clone(),
            score: 4,
            effort: 2,
            story_repeated: false,
            comment: "Vriendelijk geholpen.".into(),
        };
        let first = b
            .contacts()
            .submit_feedback(request(TENANT, first_request.clone()))
            .await
            .expect("the first feedback")
            .into_inner();
        let retry = b
            .contacts()
            .submit_feedback(request(TENANT, first_request.clone()))
            .await
            .expect("a retried feedback is not ALREADY_EXISTS")
            .into_inner();
        assert_eq!(retry, first, "a retry must give the first answer unchanged");

        let mut other = first_request.clone();
        other.score = 1;
        assert_invalid(
            b.contacts().submit_feedback(request(TENANT, other)).await,
            "request_id",
            BSNS,
        );
        let figures = b.figures_2026(TENANT).await;
        assert_eq!(figures.satisfaction_score, Some(4.0));
        assert_eq!(figures.effort_score, Some(2.0));
    })
    .await;
}
