//! Erasing a party on request: its identifiers no longer find it, the counts stay, and a
//! later contact with the same BSN is a new party. Unknown is NOT_FOUND; ambiguous is
//! FAILED_PRECONDITION and erases nothing.

use midoffice_tests::pb::{self, Channel, Outcome, PartyStatus};
use midoffice_tests::{
    Backend, TENANT, TestDatabase, assert_code, at, bsn, database_test, ids_of, on_backend,
    party_status, request, resolved, start,
};
use tonic::Code;

const SECRETS: &[&str] = &[
    "999990068",
    "999990081",
    "999990093",
    "999990111",
    "0611111111",
    "+31611111111",
];

async fn lookup(b: &Backend, ids: pb::Identifiers) -> (PartyStatus, String, usize) {
    let context = b.context(TENANT, ids).await;
    let id = context
        .party
        .as_ref()
        .map(|p| p.id.clone())
        .unwrap_or_default();
    (party_status(&context), id, context.active_cases.len())
}

fn erase(ids: pb::Identifiers) -> tonic::Request<pb::ErasePartyRequest> {
    request(
        TENANT,
        pb::ErasePartyRequest {
            identifiers: Some(ids),
        },
    )
}

database_test!(an_erased_party_is_gone_but_its_contacts_still_count);
async fn an_erased_party_is_gone_but_its_contacts_still_count(database: TestDatabase) {
    on_backend(database, |b| async move {
        let ids = pb::Identifiers {
            bsn: "999990068".into(),
            phone: "06-1111 2222".into(),
            email: "p.de.vries@example.nl".into(),
            ..Default::default()
        };
        let first = b
            .start(
                TENANT,
                start(
                    Channel::Phone,
                    "2026-03-02T09:00:00+01:00",
                    Some(ids.clone()),
                    "paspoort",
                ),
            )
            .await;
        let (c1, party_id, _) = ids_of(&first);
        b.complete(
            TENANT,
            &c1,
            resolved(
                "2026-03-02T09:00:10+01:00",
                "2026-03-02T09:04:00+01:00",
                "Uitleg paspoort.",
            ),
        )
        .await;
        let second = b
            .start(
                TENANT,
                start(
                    Channel::Counter,
                    "2026-03-03T10:00:00+01:00",
                    Some(bsn("999990068")),
                    "parkeervergunning",
                ),
            )
            .await;
        let (c2, _, _) = ids_of(&second);
        b.complete(
            TENANT,
            &c2,
            pb::ContactCompletion {
                outcome: Outcome::HandedOff as i32,
                ..resolved(
                    "2026-03-03T10:02:00+01:00",
                    "2026-03-03T10:10:00+01:00",
                    "Doorgezet naar parkeren.",
                )
            },
        )
        .await;
        // Someone else, who must not be touched.
        let other = b
            .start(
                TENANT,
                start(
                    Channel::Phone,
                    "2026-03-03T11:00:00+01:00",
                    Some(bsn("999990093")),
                    "paspoort",
                ),
            )
            .await;
        let (_, other_party, _) = ids_of(&other);

        let before = b.figures_2026(TENANT).await;
        assert_eq!((before.contacts, before.cases), (3, 3));
        // Active now: the handed-off case is open; the paspoort case was resolved in March.
        assert_eq!(
            lookup(&b, bsn("999990068")).await,
            (PartyStatus::Known, party_id.clone(), 1)
        );

        let erased = b
            .parties()
            .erase_party(erase(bsn("999990068")))
            .await
            .expect("EraseParty")
            .into_inner();
        assert_eq!(erased.party_id, party_id);
        assert_eq!(erased.contacts_erased, 2);

        // No identifier of the party finds anything any more.
        for ids in [
            bsn("999990068"),
            midoffice_tests::phone("0611112222"),
            midoffice_tests::email("P.de.Vries@example.nl"),
        ] {
            let (status, id, cases) = lookup(&b, ids.clone()).await;
            assert_eq!(
                status,
                PartyStatus::NotFound,
                "{ids:?} still finds the erased party"
            );
            assert!(id.is_empty() && cases == 0);
        }
        assert_code(
            b.parties().erase_party(erase(bsn("999990068"))).await,
            Code::NotFound,
            SECRETS,
        );

        // The counts stay; the other party is untouched.
        let after = b.figures_2026(TENANT).await;
        assert_eq!(
            (after.contacts, after.cases),
            (before.contacts, before.cases)
        );
        assert_eq!(lookup(&b, bsn("999990093")).await.1, other_party);

        // The contacts stay, without what the citizen told.
        for (c, story) in [(&c1, "Uitleg paspoort."), (&c2, "Doorgezet naar parkeren.")] {
            let stored = b.contact(TENANT, c).await;
            let completion = stored
                .completion
                .expect("an erased contact stays completed");
            assert!(
                !completion.story.contains(story),
                "an erased contact kept its story: {completion:?}"
            );
        }

        // The same BSN again is a new party, with none of the old cases.
        let again = b
            .start(
                TENANT,
                start(
                    Channel::Phone,
                    "2026-03-04T09:00:00+01:00",
                    Some(bsn("999990068")),
                    "paspoort",
                ),
            )
            .await;
        let (_, new_party, _) = ids_of(&again);
        let context = again.context.expect("a context");
        let party = context.party.expect("a party");
        assert_eq!(party.status, PartyStatus::New as i32);
        assert_ne!(new_party, party_id);
        assert!(
            context.active_cases.is_empty(),
            "the erased party's cases came back: {:?}",
            context.active_cases
        );
        let case = context.case.expect("a case");
        assert!(
            case.stories.is_empty(),
            "the erased party's stories came back: {:?}",
            case.stories
        );
        assert_eq!(b.figures_2026(TENANT).await.contacts, before.contacts + 1);
    })
    .await;
}

database_test!(erasing_nobody_is_not_found_and_erasing_by_a_shared_phone_is_refused);
async fn erasing_nobody_is_not_found_and_erasing_by_a_shared_phone_is_refused(
    database: TestDatabase,
) {
    on_backend(database, |b| async move {
        assert_code(
            b.parties().erase_party(erase(bsn("999990081"))).await,
            Code::NotFound,
            SECRETS,
        );
        assert_code(
            b.parties()
                .erase_party(erase(midoffice_tests::phone("0611111111")))
                .await,
            Code::NotFound,
            SECRETS,
        );

        // Two citizens with different BSNs give the same phone number: it is shared.
        let mut parties = Vec::new();
        for (i, citizen) in ["999990093", "999990111"].into_iter().enumerate() {
            let ids = pb::Identifiers {
                bsn: citizen.into(),
                phone: "06 1111 1111".into(),
                ..Default::default()
            };
            let s = pb::ContactStart {
                started_at: Some(at(&format!("2026-03-0{}T09:00:00+01:00", i + 2))),
                ..start(
                    Channel::Phone,
                    "2026-03-02T09:00:00+01:00",
                    Some(ids),
                    "paspoort",
                )
            };
            parties.push(ids_of(&b.start(TENANT, s).await).1);
        }
        assert_ne!(parties[0], parties[1], "different BSNs are never one party");
        assert_eq!(
            lookup(&b, midoffice_tests::phone("+31611111111")).await.0,
            PartyStatus::Ambiguous
        );

        assert_code(
            b.parties()
                .erase_party(erase(midoffice_tests::phone("0611111111")))
                .await,
            Code::FailedPrecondition,
            SECRETS,
        );
        // Nothing was erased.
        assert_eq!(lookup(&b, bsn("999990093")).await.1, parties[0]);
        assert_eq!(lookup(&b, bsn("999990111")).await.1, parties[1]);
        assert_eq!(
            lookup(&b, midoffice_tests::phone("+31611111111")).await.0,
            PartyStatus::Ambiguous
        );
    })
    .await;
}

database_test!(a_retry_after_erasure_returns_no_personal_data_and_runs_nothing_again);
async fn a_retry_after_erasure_returns_no_personal_data_and_runs_nothing_again(
    database: TestDatabase,
) {
    on_backend(database, |b| async move {
        const STORY: &str = "Mijn uitkering is gestopt na de verhuizing.";
        const MASKED: &str = "******019";
        let secrets = [STORY, MASKED, "999990019"];
        let first = b
            .start(
                TENANT,
                start(
                    Channel::Phone,
                    "2026-03-02T09:00:00+01:00",
                    Some(bsn("999990019")),
                    "uitkering",
                ),
            )
            .await;
        let (c1, party_id, _) = ids_of(&first);
        let complete_c1 = pb::CompleteContactRequest {
            request_id: "c1".into(),
            contact_id: c1.clone(),
            completion: Some(resolved(
                "2026-03-02T09:00:10+01:00",
                "2026-03-02T09:05:00+01:00",
                STORY,
            )),
        };
        let completed = b
            .contacts()
            .complete_contact(request(TENANT, complete_c1.clone()))
            .await
            .expect("CompleteContact")
            .into_inner();
        assert!(format!("{completed:?}").contains(STORY));

        let start_r2 = pb::StartContactRequest {
            request_id: "r2".into(),
            start: Some(start(
                Channel::Counter,
                "2026-03-03T10:00:00+01:00",
                Some(bsn("999990019")),
                "uitkering",
            )),
        };
        let told = b
            .contacts()
            .start_contact(request(TENANT, start_r2.clone()))
            .await
            .expect("StartContact r2")
            .into_inner();
        // Before the erasure the answer shows the story and the masked BSN, and a retry
        // returns it unchanged.
        let shown = format!("{told:?}");
        assert!(shown.contains(STORY) && shown.contains(MASKED), "{shown}");
        let retried = b
            .contacts()
            .start_contact(request(TENANT, start_r2.clone()))
            .await
            .expect("StartContact r2 again")
            .into_inner();
        assert_eq!(retried, told);
        let contacts_before = b.contact_count(TENANT).await;

        let erased = b
            .parties()
            .erase_party(erase(bsn("999990019")))
            .await
            .expect("EraseParty")
            .into_inner();
        assert_eq!(erased.party_id, party_id);

        // The retries are refused: not answered from what was kept, and not run again
        // (which would store the erased citizen's BSN anew and count the contact twice).
        let status = assert_code(
            b.contacts()
                .start_contact(request(TENANT, start_r2.clone()))
                .await,
            Code::FailedPrecondition,
            &secrets,
        );
        assert!(status.message().contains("request_id"), "{status:?}");
        assert_code(
            b.contacts()
                .complete_contact(request(TENANT, complete_c1))
                .await,
            Code::FailedPrecondition,
            &secrets,
        );
        assert_eq!(b.contact_count(TENANT).await, contacts_before);
        let (status, _, _) = lookup(&b, bsn("999990019")).await;
        assert_eq!(
            status,
            PartyStatus::NotFound,
            "the retry made the party again"
        );
    })
    .await;
}
