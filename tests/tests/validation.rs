//! Every refused request names its field in a `BadRequest` violation, never echoes an
//! identifier, and stores nothing. NOT_FOUND and FAILED_PRECONDITION come before the
//! fields; one satisfaction answer per completed contact. Free text with control
//! characters (NUL above all, which PostgreSQL cannot store) is INVALID_ARGUMENT on
//! every backend, never INTERNAL.

use midoffice_tests::pb::{self, Channel, Outcome, PartyStatus, referral_target};
use midoffice_tests::{
    Backend, TENANT, TestDatabase, assert_code, assert_invalid, assert_invalid_including, at, bsn,
    database_test, date, ids_of, on_backend, party_status, request, resolved, start,
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

fn complete_request(contact_id: &str, end: pb::ContactCompletion) -> pb::CompleteContactRequest {
    pb::CompleteContactRequest {
        request_id: String::new(),
        contact_id: contact_id.to_owned(),
        completion: Some(end),
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

fn end(
    outcome: Outcome,
    answered_at: Option<&str>,
    ended_at: &str,
    story: &str,
) -> pb::ContactCompletion {
    pb::ContactCompletion {
        ended_at: Some(at(ended_at)),
        answered_at: answered_at.map(at),
        outcome: outcome as i32,
        story: story.to_owned(),
        ..Default::default()
    }
}

/// The party status GetContext answers for `ids` in `tenant`.
async fn lookup(b: &Backend, tenant: &str, ids: pb::Identifiers) -> PartyStatus {
    party_status(&b.context(tenant, ids).await)
}

database_test!(invalid_starts_name_their_field_and_store_nothing);
async fn invalid_starts_name_their_field_and_store_nothing(database: TestDatabase) {
    on_backend(database, |b| async move {
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
            (
                "start.direction",
                pb::ContactStart {
                    direction: 9,
                    ..phone_bsn(bsn("999990019"), "paspoort")
                },
            ),
            (
                "start.case_id",
                pb::ContactStart {
                    case_id: "zaak-999990019".into(),
                    ..phone_bsn(bsn("999990019"), "paspoort")
                },
            ),
            (
                "start.case_reference",
                pb::ContactStart {
                    case_reference: "Z".repeat(201),
                    ..phone_bsn(bsn("999990019"), "paspoort")
                },
            ),
            (
                "start.case_reference",
                pb::ContactStart {
                    case_reference: "Z-2026-\0-999990019".into(),
                    ..phone_bsn(bsn("999990019"), "paspoort")
                },
            ),
            (
                "start.case_reference",
                pb::ContactStart {
                    case_reference: "Z-2026-\u{1b}[2J".into(),
                    ..phone_bsn(bsn("999990019"), "paspoort")
                },
            ),
            (
                "start.case_reference",
                pb::ContactStart {
                    case_reference: "\u{85}Z-2026-1".into(),
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
                            completion: Some(resolved(
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

database_test!(invalid_completions_name_their_field_and_change_nothing);
async fn invalid_completions_name_their_field_and_change_nothing(database: TestDatabase) {
    on_backend(database, |b| async move {
        let started = b
            .start(
                TENANT,
                start(Channel::Phone, T0, Some(bsn("999990019")), "paspoort"),
            )
            .await;
        let (c1, _, _) = ids_of(&started);
        let answered = Some("2026-03-02T09:00:10+01:00");
        let ended = "2026-03-02T09:05:00+01:00";

        let refused: Vec<(&str, pb::ContactCompletion)> = vec![
            (
                "completion.referred_to",
                end(Outcome::Referred, answered, ended, "Wil een paspoort."),
            ),
            (
                "completion.referred_to",
                pb::ContactCompletion {
                    referred_to: Some(pb::ReferralTarget {
                        target: Some(referral_target::Target::Department("burgerzaken".into())),
                    }),
                    ..end(Outcome::Resolved, answered, ended, "Uitgelegd.")
                },
            ),
            (
                "completion.story",
                end(Outcome::Abandoned, None, ended, "Er was geen gesprek."),
            ),
            (
                "completion.answered_at",
                end(Outcome::Abandoned, answered, ended, ""),
            ),
            (
                "completion.ended_at",
                end(Outcome::Abandoned, None, "2026-03-02T08:55:00+01:00", ""),
            ),
            (
                "completion.ended_at",
                end(
                    Outcome::Resolved,
                    answered,
                    "2099-01-01T09:00:00+01:00",
                    "Uitgelegd.",
                ),
            ),
            (
                "completion.answered_at",
                end(
                    Outcome::Resolved,
                    None,
                    ended,
                    "Telefoon zonder opnametijd.",
                ),
            ),
            (
                "completion.answered_at",
                end(
                    Outcome::Resolved,
                    Some("2026-03-02T08:59:00+01:00"),
                    ended,
                    "Opgenomen voor het begin.",
                ),
            ),
            (
                "completion.answered_at",
                end(
                    Outcome::Resolved,
                    Some("2026-03-02T09:06:00+01:00"),
                    ended,
                    "Opgenomen na het einde.",
                ),
            ),
            (
                "completion.topic",
                pb::ContactCompletion {
                    topic: "rijbewijs".into(),
                    ..end(Outcome::Resolved, answered, ended, "Uitgelegd.")
                },
            ),
            (
                "completion.due_at",
                pb::ContactCompletion {
                    due_at: Some(at("2026-03-03T17:00:00+01:00")),
                    ..end(Outcome::Resolved, answered, ended, "Uitgelegd.")
                },
            ),
            (
                "completion.outcome",
                end(Outcome::Unspecified, answered, ended, "Uitgelegd."),
            ),
            (
                "completion.department",
                pb::ContactCompletion {
                    department: "Burger Zaken".into(),
                    ..end(Outcome::Resolved, answered, ended, "Uitgelegd.")
                },
            ),
            (
                "completion.ended_at",
                pb::ContactCompletion {
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
            "completion.topic",
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
            "completion.outcome",
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

database_test!(unknown_contacts_and_second_completions_are_refused_before_the_fields);
async fn unknown_contacts_and_second_completions_are_refused_before_the_fields(
    database: TestDatabase,
) {
    on_backend(database, |b| async move {
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

database_test!(feedback_needs_a_completed_contact_a_valid_answer_and_comes_once);
async fn feedback_needs_a_completed_contact_a_valid_answer_and_comes_once(database: TestDatabase) {
    on_backend(database, |b| async move {
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

database_test!(an_invalid_tenant_is_refused_on_x_tenant);
async fn an_invalid_tenant_is_refused_on_x_tenant(database: TestDatabase) {
    on_backend(database, |b| async move {
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

database_test!(figure_periods_must_run_forward);
async fn figure_periods_must_run_forward(database: TestDatabase) {
    on_backend(database, |b| async move {
        for (from, to) in [
            (date(2026, 4, 1), date(2026, 3, 1)),
            (date(2026, 3, 1), date(2026, 3, 1)),
        ] {
            let period = pb::Period {
                start_date: Some(from),
                end_date: Some(to),
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
                "period.end_date",
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
                "period.end_date",
                SECRETS,
            );
        }
    })
    .await;
}

database_test!(figure_periods_must_be_real_dates);
async fn figure_periods_must_be_real_dates(database: TestDatabase) {
    on_backend(database, |b| async move {
        let impossible = pb::Period {
            start_date: Some(date(2026, 2, 30)),
            end_date: Some(date(2026, 4, 1)),
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
            "period.start_date",
            SECRETS,
        );
    })
    .await;
}

database_test!(a_target_that_is_not_a_fraction_is_refused_and_the_settings_stay);
async fn a_target_that_is_not_a_fraction_is_refused_and_the_settings_stay(database: TestDatabase) {
    on_backend(database, |b| async move {
        let before = b.settings(TENANT).await;
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
        let after = b.settings(TENANT).await;
        assert_eq!(after, before, "refused settings were stored");
    })
    .await;
}

/// Control characters other than tab, line feed and carriage return, as a channel might
/// pass them on: NUL (which PostgreSQL refuses in text), BEL, ESC, DEL and a C1 control.
const CONTROLS: [&str; 5] = ["\0", "\u{7}", "\u{1b}", "\u{7f}", "\u{9b}"];

/// `text` with a control character in it, and an identifier that must not be echoed.
fn with_control(control: &str) -> String {
    format!("Burger met bsn 999990019 belde{control} over zijn paspoort.")
}

fn record_request(s: pb::ContactStart, e: pb::ContactCompletion) -> pb::RecordContactRequest {
    pb::RecordContactRequest {
        request_id: String::new(),
        start: Some(s),
        completion: Some(e),
        context_seen: true,
    }
}

database_test!(control_characters_in_free_text_are_refused_and_store_nothing);
async fn control_characters_in_free_text_are_refused_and_store_nothing(database: TestDatabase) {
    on_backend(database, |b| async move {
        let answered = "2026-03-02T09:00:10+01:00";
        let ended = "2026-03-02T09:05:00+01:00";
        let valid_start = || start(Channel::Phone, T0, Some(bsn("999990019")), "paspoort");
        let valid_end = || resolved(answered, ended, "Uitgelegd.");

        // Starts: the idempotency key (control characters, too long).
        let mut keys: Vec<String> = CONTROLS.iter().map(|c| format!("sleutel{c}1")).collect();
        keys.push("k".repeat(101));
        for key in &keys {
            let refused = pb::StartContactRequest {
                request_id: key.clone(),
                start: Some(valid_start()),
            };
            assert_invalid(
                b.contacts().start_contact(request(TENANT, refused)).await,
                "request_id",
                SECRETS,
            );
            assert_eq!(
                b.contact_count(TENANT).await,
                0,
                "a start with {key:?} was stored"
            );
        }

        // Contacts registered after the fact: every free-text field of start and end.
        let organisation = |name: String| {
            Some(pb::ReferralTarget {
                target: Some(referral_target::Target::Organisation(name)),
            })
        };
        let mut records: Vec<(&str, pb::RecordContactRequest)> = Vec::new();
        for control in CONTROLS {
            records.push((
                "completion.story",
                record_request(
                    valid_start(),
                    pb::ContactCompletion {
                        story: with_control(control),
                        ..valid_end()
                    },
                ),
            ));
            records.push((
                "start.case_reference",
                record_request(
                    pb::ContactStart {
                        case_reference: format!("Z-2026{control}-1"),
                        ..valid_start()
                    },
                    valid_end(),
                ),
            ));
            records.push((
                "completion.referred_to.organisation",
                record_request(
                    valid_start(),
                    pb::ContactCompletion {
                        outcome: Outcome::Referred as i32,
                        referred_to: organisation(format!("UWV{control}")),
                        ..valid_end()
                    },
                ),
            ));
            records.push((
                "request_id",
                pb::RecordContactRequest {
                    request_id: format!("sleutel{control}"),
                    ..record_request(valid_start(), valid_end())
                },
            ));
        }
        for (field, refused) in records {
            assert_invalid(
                b.contacts().record_contact(request(TENANT, refused)).await,
                field,
                SECRETS,
            );
            assert_eq!(
                b.contact_count(TENANT).await,
                0,
                "a record refused on {field} was stored"
            );
        }
        assert_eq!(
            lookup(&b, TENANT, bsn("999990019")).await,
            PartyStatus::NotFound
        );

        // Completions of a started contact: story, organisation, idempotency key.
        let (c1, _, _) = ids_of(&b.start(TENANT, valid_start()).await);
        let mut completions: Vec<(&str, pb::CompleteContactRequest)> = Vec::new();
        for control in CONTROLS {
            let story = pb::ContactCompletion {
                story: with_control(control),
                ..valid_end()
            };
            completions.push(("completion.story", complete_request(&c1, story)));
            let referred = pb::ContactCompletion {
                outcome: Outcome::Referred as i32,
                referred_to: organisation(format!("Belastingdienst{control}")),
                ..valid_end()
            };
            completions.push((
                "completion.referred_to.organisation",
                complete_request(&c1, referred),
            ));
            completions.push((
                "request_id",
                pb::CompleteContactRequest {
                    request_id: format!("sleutel{control}"),
                    ..complete_request(&c1, valid_end())
                },
            ));
        }
        completions.push((
            "completion.story",
            complete_request(
                &c1,
                pb::ContactCompletion {
                    story: "x".repeat(10_001),
                    ..valid_end()
                },
            ),
        ));
        for (field, refused) in completions {
            assert_invalid(
                b.contacts()
                    .complete_contact(request(TENANT, refused))
                    .await,
                field,
                SECRETS,
            );
            assert!(
                b.contact(TENANT, &c1).await.completion.is_none(),
                "a completion refused on {field} was stored"
            );
        }

        // Line breaks and tabs are text: stored and read back as given.
        let story = "Regel 1\r\nRegel 2\n\tingesprongen";
        let done = b
            .complete(TENANT, &c1, resolved(answered, ended, story))
            .await;
        assert_eq!(done.completion.expect("completed").story, story);

        // Satisfaction answers: the comment and the idempotency key.
        let mut answers: Vec<(&str, pb::SubmitFeedbackRequest)> = Vec::new();
        for control in CONTROLS {
            answers.push((
                "comment",
                pb::SubmitFeedbackRequest {
                    comment: with_control(control),
                    ..feedback(&c1, 4, 2)
                },
            ));
            answers.push((
                "request_id",
                pb::SubmitFeedbackRequest {
                    request_id: format!("sleutel{control}"),
                    ..feedback(&c1, 4, 2)
                },
            ));
        }
        for (field, refused) in answers {
            assert_invalid(
                b.contacts().submit_feedback(request(TENANT, refused)).await,
                field,
                SECRETS,
            );
            assert_eq!(
                b.figures_2026(TENANT).await.satisfaction_score,
                None,
                "feedback refused on {field} was stored"
            );
        }
        b.contacts()
            .submit_feedback(request(
                TENANT,
                pb::SubmitFeedbackRequest {
                    comment: "Snel geholpen.\r\nDank!".into(),
                    ..feedback(&c1, 4, 2)
                },
            ))
            .await
            .expect("a comment with a line break is text");
        assert_eq!(b.figures_2026(TENANT).await.satisfaction_score, Some(4.0));
        assert_eq!(b.contact_count(TENANT).await, 1);
    })
    .await;
}

database_test!(figure_filters_name_their_field);
async fn figure_filters_name_their_field(database: TestDatabase) {
    on_backend(database, |b| async move {
        let filtered = |channel: i32, topic: &str, department: &str| pb::GetFiguresRequest {
            period: Some(midoffice_tests::period_2026()),
            channel,
            topic: topic.to_owned(),
            department: department.to_owned(),
        };
        for (field, refused) in [
            ("channel", filtered(42, "", "")),
            ("channel", filtered(-1, "", "")),
            ("topic", filtered(0, "Paspoort!", "")),
            ("topic", filtered(0, "paspoort\0", "")),
            ("department", filtered(0, "", "KCC")),
            (
                "department",
                filtered(Channel::Phone as i32, "paspoort", "kcc_1"),
            ),
        ] {
            assert_invalid(
                b.figures().get_figures(request(TENANT, refused)).await,
                field,
                SECRETS,
            );
        }
        assert_eq!(b.contact_count(TENANT).await, 0);
    })
    .await;
}

database_test!(invalid_settings_name_their_field_and_change_nothing);
async fn invalid_settings_name_their_field_and_change_nothing(database: TestDatabase) {
    on_backend(database, |b| async move {
        let before = b.settings(TENANT).await;
        let changed = |change: &dyn Fn(&mut pb::TenantSettings)| {
            let mut s = before.clone();
            change(&mut s);
            s
        };
        fn calendar(s: &mut pb::TenantSettings) -> &mut pb::Calendar {
            s.calendar.get_or_insert_with(Default::default)
        }
        let refused: Vec<(&str, pb::TenantSettings)> = vec![
            (
                "settings.calendar.time_zone",
                changed(&|s| calendar(s).time_zone = "Europe/Utrecht".into()),
            ),
            (
                "settings.calendar.time_zone",
                changed(&|s| calendar(s).time_zone = "Europe/Amsterdam\0".into()),
            ),
            (
                "settings.calendar.holidays",
                changed(&|s| calendar(s).holidays = 7),
            ),
            (
                "settings.calendar.closing_days[0]",
                changed(&|s| calendar(s).closing_days = vec![date(2026, 2, 30)]),
            ),
            (
                "settings.norms[0].measure",
                changed(&|s| s.norms[0].measure = None),
            ),
            (
                "settings.norms[0].measure",
                changed(&|s| s.norms[0].measure = Some(pb::Measure { kind: None })),
            ),
            (
                "settings.norms[0].measure.response_time.channel",
                changed(&|s| {
                    if let Some(pb::measure::Kind::ResponseTime(r)) =
                        s.norms[0].measure.as_mut().and_then(|m| m.kind.as_mut())
                    {
                        r.channel = pb::Channel::Unspecified as i32;
                    }
                }),
            ),
            (
                "settings.norms[1].id",
                changed(&|s| s.norms[1].id = s.norms[0].id.clone()),
            ),
            (
                "settings.norms[0].target",
                changed(&|s| s.norms[0].target = 1.5),
            ),
            (
                "settings.norms[0].title",
                changed(&|s| s.norms[0].title = "Telefoon\0opgenomen".into()),
            ),
            (
                "settings.norms[2].title",
                changed(&|s| s.norms[2].title = "Balie\u{1b}[2J".into()),
            ),
            (
                "settings.norms[1].explanation",
                changed(&|s| s.norms[1].explanation = "Drukte\0.".into()),
            ),
            (
                "settings.norms[3].explanation",
                changed(&|s| s.norms[3].explanation = "Drukte\u{85}.".into()),
            ),
        ];
        for (field, settings) in refused {
            assert_invalid(
                b.tenants()
                    .replace_tenant_settings(request(
                        TENANT,
                        pb::ReplaceTenantSettingsRequest {
                            settings: Some(settings),
                        },
                    ))
                    .await,
                field,
                SECRETS,
            );
            assert_eq!(
                b.settings(TENANT).await,
                before,
                "settings refused on {field} were stored"
            );
        }

        // Line breaks in an explanation are text.
        let accepted = changed(&|s| s.norms[0].explanation = "Drukte.\r\nWe werven.".into());
        let stored = b
            .tenants()
            .replace_tenant_settings(request(
                TENANT,
                pb::ReplaceTenantSettingsRequest {
                    settings: Some(accepted.clone()),
                },
            ))
            .await
            .expect("an explanation with a line break")
            .into_inner()
            .settings
            .expect("settings");
        assert_eq!(stored.norms[0].explanation, accepted.norms[0].explanation);
    })
    .await;
}

database_test!(look_ups_and_erasures_need_an_identifier);
async fn look_ups_and_erasures_need_an_identifier(database: TestDatabase) {
    on_backend(database, |b| async move {
        b.start(
            TENANT,
            start(Channel::Phone, T0, Some(bsn("999990019")), "paspoort"),
        )
        .await;
        for ids in [None, Some(pb::Identifiers::default())] {
            assert_invalid(
                b.parties()
                    .get_context(request(
                        TENANT,
                        pb::GetContextRequest {
                            identifiers: ids.clone(),
                            as_of: None,
                        },
                    ))
                    .await,
                "identifiers",
                SECRETS,
            );
            assert_invalid(
                b.parties()
                    .erase_party(request(TENANT, pb::ErasePartyRequest { identifiers: ids }))
                    .await,
                "identifiers",
                SECRETS,
            );
        }
        assert_eq!(
            lookup(&b, TENANT, bsn("999990019")).await,
            PartyStatus::Known
        );
        assert_eq!(b.contact_count(TENANT).await, 1);
    })
    .await;
}
