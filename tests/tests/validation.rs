//! Every refused request names its field in a `BadRequest` violation, never echoes an
//! identifier, and stores nothing. NOT_FOUND and FAILED_PRECONDITION come before the
//! fields; one satisfaction answer per completed contact.

use midoffice_tests::pb::{self, Channel, Outcome, PartyStatus, referral_target};
use midoffice_tests::{
    Backend, TENANT, assert_code, assert_invalid, assert_invalid_including, at, bsn, date, ids_of,
    on_every_backend, request, resolved, start,
};
use tonic::Code;

/// Every identifier any request of this file carries; no answer may contain one.
/// (The short invalid values `12345678` and `12345` are left out: they occur by chance
/// in the example UUID of a message.)
const SECRETS: &[&str] = &["999990018", "999990019", "999990032", "jan@@example"];

const T0: &str = "2026-03-02T09:00:00+01:00";

fn start_request(s: pb::ContactStart) -> pb::StartContactRequest {
    pb::StartContactRequest {
        request_id: String::new(),
        start: Some(s),
    }
}

fn complete_request(contact_id: &str, end: pb::ContactEnd) -> pb::CompleteContactRequest {
    pb::CompleteContactRequest {
        request_id: String::new(),
        contact_id: contact_id.to_owned(),
        end: Some(end),
    }
}

fn feedback(contact_id: &str, score: u32, effort: u32) -> pb::SubmitFeedbackRequest {
    pb::SubmitFeedbackRequest {
        request_id: String::new(),
        contact_id: contact_id.to_owned(),
        score,
        effort,
        story_repeated: false,
        comment: String::new(),
    }
}

fn end(outcome: Outcome, answered_at: Option<&str>, ended_at: &str, story: &str) -> pb::ContactEnd {
    pb::ContactEnd {
        ended_at: Some(at(ended_at)),
        answered_at: answered_at.map(at),
        outcome: outcome as i32,
        story: story.to_owned(),
        ..Default::default()
    }
}

/// The party status GetContext answers for `ids` in `tenant`.
async fn lookup(b: &Backend, tenant: &str, ids: pb::Identifiers) -> PartyStatus {
    let context = b
        .parties()
        .get_context(request(
            tenant,
            pb::GetContextRequest {
                identifiers: Some(ids),
                as_of: None,
            },
        ))
        .await
        .expect("GetContext")
        .into_inner()
        .context
        .expect("a context");
    let status = context.party.map(|p| p.status).unwrap_or_default();
    PartyStatus::try_from(status).unwrap_or(PartyStatus::Unspecified)
}

#[tokio::test]
async fn invalid_starts_name_their_field_and_store_nothing() {
    on_every_backend(|b| async move {
        let phone_bsn =
            |ids: pb::Identifiers, topic: &str| start(Channel::Phone, T0, Some(ids), topic);
        let cases: Vec<(&str, pb::ContactStart)> = vec![
            (
                "start.identifiers.bsn",
                phone_bsn(bsn("999990018"), "paspoort"),
            ),
            (
                "start.identifiers.kvk",
                phone_bsn(
                    pb::Identifiers {
                        bsn: "999990019".into(),
                        kvk: "12345678".into(),
                        ..Default::default()
                    },
                    "paspoort",
                ),
            ),
            (
                "start.identifiers.email",
                start(
                    Channel::Email,
                    T0,
                    Some(midoffice_tests::email("jan@@example")),
                    "paspoort",
                ),
            ),
            (
                "start.identifiers.phone",
                phone_bsn(midoffice_tests::phone("12345"), "paspoort"),
            ),
            (
                "start.topic",
                phone_bsn(bsn("999990019"), "Paspoort Aanvragen"),
            ),
            (
                "start.started_at",
                start(
                    Channel::Phone,
                    "2099-01-01T09:00:00+01:00",
                    Some(bsn("999990019")),
                    "paspoort",
                ),
            ),
            (
                "start.started_at",
                pb::ContactStart {
                    started_at: None,
                    ..phone_bsn(bsn("999990019"), "paspoort")
                },
            ),
            (
                "start.channel",
                pb::ContactStart {
                    channel: Channel::Unspecified as i32,
                    ..phone_bsn(bsn("999990019"), "paspoort")
                },
            ),
            (
                "start.department",
                pb::ContactStart {
                    department: "KCC!".into(),
                    ..phone_bsn(bsn("999990019"), "paspoort")
                },
            ),
        ];
        for (field, s) in cases {
            assert_invalid(
                b.contacts()
                    .start_contact(request(TENANT, start_request(s.clone())))
                    .await,
                field,
                SECRETS,
            );
            // The same start, registered after the fact, is refused on the same field
            // (and possibly on end fields that depend on it).
            assert_invalid_including(
                b.contacts()
                    .record_contact(request(
                        TENANT,
                        pb::RecordContactRequest {
                            request_id: String::new(),
                            start: Some(s),
                            end: Some(resolved(
                                "2026-03-02T09:00:10+01:00",
                                "2026-03-02T09:05:00+01:00",
                                "Uitgelegd.",
                            )),
                            context_seen: true,
                        },
                    ))
                    .await,
                field,
                SECRETS,
            );
            assert_eq!(
                b.contact_count(TENANT).await,
                0,
                "a start refused on {field} was stored"
            );
            assert_eq!(
                b.figures_2026(TENANT).await.cases,
                0,
                "a case was stored after {field}"
            );
        }
        // The valid BSN of the refused starts made no party either.
        assert_eq!(
            lookup(&b, TENANT, bsn("999990019")).await,
            PartyStatus::NotFound
        );
    })
    .await;
}

#[tokio::test]
async fn invalid_completions_name_their_field_and_change_nothing() {
    on_every_backend(|b| async move {
        let started = b
            .start(
                TENANT,
                start(Channel::Phone, T0, Some(bsn("999990019")), "paspoort"),
            )
            .await;
        let (c1, _, _) = ids_of(&started);
        let answered = Some("2026-03-02T09:00:10+01:00");
        let ended = "2026-03-02T09:05:00+01:00";

        let refused: Vec<(&str, pb::ContactEnd)> = vec![
            (
                "end.referred_to",
                end(Outcome::Referred, answered, ended, "Wil een paspoort."),
            ),
            (
                "end.referred_to",
                pb::ContactEnd {
                    referred_to: Some(pb::ReferralTarget {
                        target: Some(referral_target::Target::Department("burgerzaken".into())),
                    }),
                    ..end(Outcome::Resolved, answered, ended, "Uitgelegd.")
                },
            ),
            (
                "end.story",
                end(Outcome::Abandoned, None, ended, "Er was geen gesprek."),
            ),
            (
                "end.answered_at",
                end(Outcome::Abandoned, answered, ended, ""),
            ),
            (
                "end.ended_at",
                end(Outcome::Abandoned, None, "2026-03-02T08:55:00+01:00", ""),
            ),
            (
                "end.ended_at",
                end(
                    Outcome::Resolved,
                    answered,
                    "2099-01-01T09:00:00+01:00",
                    "Uitgelegd.",
                ),
            ),
            (
                "end.answered_at",
                end(
                    Outcome::Resolved,
                    None,
                    ended,
                    "Telefoon zonder opnametijd.",
                ),
            ),
            (
                "end.answered_at",
                end(
                    Outcome::Resolved,
                    Some("2026-03-02T08:59:00+01:00"),
                    ended,
                    "Opgenomen voor het begin.",
                ),
            ),
            (
                "end.answered_at",
                end(
                    Outcome::Resolved,
                    Some("2026-03-02T09:06:00+01:00"),
                    ended,
                    "Opgenomen na het einde.",
                ),
            ),
            (
                "end.topic",
                pb::ContactEnd {
                    topic: "rijbewijs".into(),
                    ..end(Outcome::Resolved, answered, ended, "Uitgelegd.")
                },
            ),
            (
                "end.due_at",
                pb::ContactEnd {
                    due_at: Some(at("2026-03-03T17:00:00+01:00")),
                    ..end(Outcome::Resolved, answered, ended, "Uitgelegd.")
                },
            ),
            (
                "end.outcome",
                end(Outcome::Unspecified, answered, ended, "Uitgelegd."),
            ),
            (
                "end.department",
                pb::ContactEnd {
                    department: "Burger Zaken".into(),
                    ..end(Outcome::Resolved, answered, ended, "Uitgelegd.")
                },
            ),
            (
                "end.ended_at",
                pb::ContactEnd {
                    ended_at: None,
                    ..end(Outcome::Resolved, answered, ended, "Uitgelegd.")
                },
            ),
        ];
        for (field, e) in refused {
            assert_invalid(
                b.contacts()
                    .complete_contact(request(TENANT, complete_request(&c1, e)))
                    .await,
                field,
                SECRETS,
            );
            let stored = b.contact(TENANT, &c1).await;
            assert!(
                stored.completion.is_none(),
                "a completion refused on {field} was stored"
            );
            assert_eq!(b.contact_count(TENANT).await, 1);
        }

        // A contact without a topic cannot complete with an outcome but ABANDONED.
        let untopical = b
            .start(
                TENANT,
                start(Channel::Phone, T0, Some(bsn("999990032")), ""),
            )
            .await;
        let (c2, _, _) = ids_of(&untopical);
        assert_invalid(
            b.contacts()
                .complete_contact(request(
                    TENANT,
                    complete_request(&c2, end(Outcome::Resolved, answered, ended, "Uitgelegd.")),
                ))
                .await,
            "end.topic",
            SECRETS,
        );
        assert!(b.contact(TENANT, &c2).await.completion.is_none());

        // A callback needs someone to call: an anonymous contact cannot end CALLBACK.
        let anonymous = b
            .start(TENANT, start(Channel::Phone, T0, None, "paspoort"))
            .await;
        let (c3, _, _) = ids_of(&anonymous);
        assert_invalid(
            b.contacts()
                .complete_contact(request(
                    TENANT,
                    complete_request(&c3, end(Outcome::Callback, answered, ended, "Belt terug.")),
                ))
                .await,
            "end.outcome",
            SECRETS,
        );
        assert!(b.contact(TENANT, &c3).await.completion.is_none());
        assert_eq!(b.contact_count(TENANT).await, 3);

        // After all that, a valid completion is accepted as the first and only one.
        let done = b
            .complete(
                TENANT,
                &c1,
                end(
                    Outcome::Resolved,
                    answered,
                    ended,
                    "Uitgelegd hoe een paspoort aan te vragen.",
                ),
            )
            .await;
        let completion = done.completion.expect("completed");
        assert_eq!(
            completion.story,
            "Uitgelegd hoe een paspoort aan te vragen."
        );
        assert_eq!(
            b.figures_2026(TENANT).await.first_contact_resolution,
            Some(1.0)
        );
    })
    .await;
}

#[tokio::test]
async fn unknown_contacts_and_second_completions_are_refused_before_the_fields() {
    on_every_backend(|b| async move {
        let unknown = "0190c8a0-7e1b-7c3a-9f00-0123456789ab";
        // Bad fields too (REFERRED without a target, an end before any start): the
        // unknown contact is what is wrong.
        let bad = end(
            Outcome::Referred,
            None,
            "2026-03-02T08:00:00+01:00",
            "Onbekend.",
        );
        assert_code(
            b.contacts()
                .complete_contact(request(TENANT, complete_request(unknown, bad.clone())))
                .await,
            Code::NotFound,
            SECRETS,
        );
        assert_code(
            b.contacts()
                .get_contact(request(
                    TENANT,
                    pb::GetContactRequest {
                        contact_id: unknown.into(),
                    },
                ))
                .await,
            Code::NotFound,
            SECRETS,
        );
        assert_code(
            b.contacts()
                .submit_feedback(request(TENANT, feedback(unknown, 4, 2)))
                .await,
            Code::NotFound,
            SECRETS,
        );
        // Not a UUID at all is a bad field, and the value is not echoed.
        assert_invalid(
            b.contacts()
                .get_contact(request(
                    TENANT,
                    pb::GetContactRequest {
                        contact_id: "999990019".into(),
                    },
                ))
                .await,
            "contact_id",
            SECRETS,
        );

        let started = b
            .start(
                TENANT,
                start(Channel::Phone, T0, Some(bsn("999990019")), "paspoort"),
            )
            .await;
        let (c1, _, _) = ids_of(&started);
        let first = end(
            Outcome::Resolved,
            Some("2026-03-02T09:00:10+01:00"),
            "2026-03-02T09:05:00+01:00",
            "Uitgelegd.",
        );
        b.complete(TENANT, &c1, first).await;
        let again = end(
            Outcome::Resolved,
            Some("2026-03-02T09:00:10+01:00"),
            "2026-03-02T09:06:00+01:00",
            "Tweede keer afronden.",
        );
        assert_code(
            b.contacts()
                .complete_contact(request(TENANT, complete_request(&c1, again)))
                .await,
            Code::FailedPrecondition,
            SECRETS,
        );
        assert_code(
            b.contacts()
                .complete_contact(request(TENANT, complete_request(&c1, bad)))
                .await,
            Code::FailedPrecondition,
            SECRETS,
        );
        let stored = b.contact(TENANT, &c1).await;
        assert_eq!(stored.completion.expect("completed").story, "Uitgelegd.");
    })
    .await;
}

#[tokio::test]
async fn feedback_needs_a_completed_contact_a_valid_answer_and_comes_once() {
    on_every_backend(|b| async move {
        let started = b
            .start(
                TENANT,
                start(Channel::Counter, T0, Some(bsn("999990032")), "paspoort"),
            )
            .await;
        let (c1, _, _) = ids_of(&started);
        assert_code(
            b.contacts()
                .submit_feedback(request(TENANT, feedback(&c1, 4, 2)))
                .await,
            Code::FailedPrecondition,
            SECRETS,
        );
        b.complete(
            TENANT,
            &c1,
            end(
                Outcome::Resolved,
                Some("2026-03-02T09:04:00+01:00"),
                "2026-03-02T09:12:00+01:00",
                "Paspoort aangevraagd.",
            ),
        )
        .await;
        for (field, score, effort) in [
            ("score", 6, 2),
            ("score", 0, 2),
            ("effort", 4, 8),
            ("effort", 4, 0),
        ] {
            assert_invalid(
                b.contacts()
                    .submit_feedback(request(TENANT, feedback(&c1, score, effort)))
                    .await,
                field,
                SECRETS,
            );
            let figures = b.figures_2026(TENANT).await;
            assert_eq!(
                figures.satisfaction_score, None,
                "feedback refused on {field} was stored"
            );
            assert_eq!(
                figures.effort_score, None,
                "feedback refused on {field} was stored"
            );
        }
        // Nothing of the refused answers was stored, so this one is the first.
        let answer = b
            .contacts()
            .submit_feedback(request(TENANT, feedback(&c1, 4, 2)))
            .await
            .expect("a valid feedback")
            .into_inner();
        assert_eq!((answer.score, answer.effort), (4, 2));
        assert_code(
            b.contacts()
                .submit_feedback(request(TENANT, feedback(&c1, 5, 1)))
                .await,
            Code::AlreadyExists,
            SECRETS,
        );
        let figures = b.figures_2026(TENANT).await;
        assert_eq!(figures.satisfaction_score, Some(4.0));
        assert_eq!(figures.effort_score, Some(2.0));
    })
    .await;
}

#[tokio::test]
async fn an_invalid_tenant_is_refused_on_x_tenant() {
    on_every_backend(|b| async move {
        let s = start(Channel::Phone, T0, Some(bsn("999990019")), "paspoort");
        assert_invalid(
            b.contacts()
                .start_contact(request("Gemeente A", start_request(s.clone())))
                .await,
            "x-tenant",
            SECRETS,
        );
        assert_invalid(
            b.figures()
                .get_figures(request(
                    "gemeente_a",
                    pb::GetFiguresRequest {
                        period: Some(midoffice_tests::period_2026()),
                        ..Default::default()
                    },
                ))
                .await,
            "x-tenant",
            SECRETS,
        );
        assert_eq!(b.contact_count("default").await, 0);
        assert_eq!(b.contact_count(TENANT).await, 0);
        assert_eq!(
            lookup(&b, "default", bsn("999990019")).await,
            PartyStatus::NotFound
        );
    })
    .await;
}

#[tokio::test]
async fn figure_periods_must_run_forward() {
    on_every_backend(|b| async move {
        for (from, to) in [
            (date(2026, 4, 1), date(2026, 3, 1)),
            (date(2026, 3, 1), date(2026, 3, 1)),
        ] {
            let period = pb::Period {
                from: Some(from),
                to: Some(to),
                as_of: None,
            };
            assert_invalid(
                b.figures()
                    .get_figures(request(
                        TENANT,
                        pb::GetFiguresRequest {
                            period: Some(period),
                            ..Default::default()
                        },
                    ))
                    .await,
                "period.to",
                SECRETS,
            );
            assert_invalid(
                b.figures()
                    .get_thermometer(request(
                        TENANT,
                        pb::GetThermometerRequest {
                            period: Some(period),
                        },
                    ))
                    .await,
                "period.to",
                SECRETS,
            );
        }
    })
    .await;
}

#[tokio::test]
async fn figure_periods_must_be_real_dates() {
    on_every_backend(|b| async move {
        let impossible = pb::Period {
            from: Some(date(2026, 2, 30)),
            to: Some(date(2026, 4, 1)),
            as_of: None,
        };
        assert_invalid(
            b.figures()
                .get_figures(request(
                    TENANT,
                    pb::GetFiguresRequest {
                        period: Some(impossible),
                        ..Default::default()
                    },
                ))
                .await,
            "period.from",
            SECRETS,
        );
    })
    .await;
}

#[tokio::test]
async fn a_target_that_is_not_a_fraction_is_refused_and_the_settings_stay() {
    on_every_backend(|b| async move {
        let before = b
            .tenants()
            .get_tenant_settings(request(TENANT, pb::GetTenantSettingsRequest {}))
            .await
            .expect("GetTenantSettings")
            .into_inner()
            .settings
            .expect("settings");
        assert!(
            !before.norms.is_empty(),
            "a new tenant has the default norms"
        );
        let mut changed = before.clone();
        changed.norms[0].target = 1.5;
        changed.norms[0].explanation = "Dit mag niet bewaard worden.".into();
        let status = b
            .tenants()
            .replace_tenant_settings(request(
                TENANT,
                pb::ReplaceTenantSettingsRequest {
                    settings: Some(changed),
                },
            ))
            .await
            .expect_err("a target of 1.5 must be refused");
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        let fields = midoffice_tests::violated_fields(&status);
        assert!(
            !fields.is_empty() && fields.iter().all(|f| f.starts_with("settings.norms")),
            "violations should be under settings.norms: {fields:?}"
        );
        let after = b
            .tenants()
            .get_tenant_settings(request(TENANT, pb::GetTenantSettingsRequest {}))
            .await
            .expect("GetTenantSettings")
            .into_inner()
            .settings
            .expect("settings");
        assert_eq!(after, before, "refused settings were stored");
    })
    .await;
}
