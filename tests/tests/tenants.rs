//! Tenants never see each other's data: parties, contacts, figures, settings and
//! idempotency keys are per tenant; a call without `x-tenant` acts for `default`.

use midoffice_tests::pb::{self, Channel, PartyStatus};
use midoffice_tests::{
    TestDatabase, assert_code, bsn, database_test, ids_of, on_backend, party_status, request,
    resolved, start,
};
use tonic::Code;

const A: &str = "gemeente-a";
const B: &str = "gemeente-b";
const SECRETS: &[&str] = &["999990056"];

fn party(context: &pb::Context) -> (PartyStatus, String) {
    let id = context
        .party
        .as_ref()
        .map(|p| p.id.clone())
        .unwrap_or_default();
    (party_status(context), id)
}

database_test!(a_contact_of_one_tenant_is_invisible_to_another);
async fn a_contact_of_one_tenant_is_invisible_to_another(database: TestDatabase) {
    on_backend(database, |b| async move {
        let s = start(
            Channel::Phone,
            "2026-03-02T09:00:00+01:00",
            Some(bsn("999990056")),
            "paspoort",
        );
        let started = b.start(A, s.clone()).await;
        let (contact_id, party_a, case_a) = ids_of(&started);

        // Tenant a finds the party; tenant b does not.
        let in_a = b.context(A, bsn("999990056")).await;
        assert_eq!(party(&in_a), (PartyStatus::Known, party_a.clone()));
        assert_eq!(in_a.active_cases.len(), 1);
        let in_b = b.context(B, bsn("999990056")).await;
        assert_eq!(
            party(&in_b).0,
            PartyStatus::NotFound,
            "tenant b sees a's party: {in_b:?}"
        );
        assert!(in_b.active_cases.is_empty() && in_b.case.is_none());
        assert_eq!(in_b.party.clone().unwrap_or_default().bsn_masked, "");

        // Reading, completing, answering or erasing from tenant b is NOT_FOUND.
        assert_code(
            b.contacts()
                .get_contact(request(
                    B,
                    pb::GetContactRequest {
                        contact_id: contact_id.clone(),
                    },
                ))
                .await,
            Code::NotFound,
            SECRETS,
        );
        assert_code(
            b.contacts()
                .complete_contact(request(
                    B,
                    pb::CompleteContactRequest {
                        request_id: String::new(),
                        contact_id: contact_id.clone(),
                        completion: Some(resolved(
                            "2026-03-02T09:00:10+01:00",
                            "2026-03-02T09:05:00+01:00",
                            "Uitgelegd.",
                        )),
                    },
                ))
                .await,
            Code::NotFound,
            SECRETS,
        );
        assert!(
            b.contact(A, &contact_id).await.completion.is_none(),
            "tenant b completed a's contact"
        );
        assert_code(
            b.parties()
                .erase_party(request(
                    B,
                    pb::ErasePartyRequest {
                        identifiers: Some(bsn("999990056")),
                    },
                ))
                .await,
            Code::NotFound,
            SECRETS,
        );
        assert_eq!(
            party(&b.context(A, bsn("999990056")).await),
            (PartyStatus::Known, party_a.clone())
        );

        // A contact on a's case from tenant b is NOT_FOUND.
        let on_case = pb::ContactStart {
            case_id: case_a.clone(),
            identifiers: None,
            direction: pb::Direction::Outbound as i32,
            ..s.clone()
        };
        assert_code(
            b.contacts()
                .start_contact(request(
                    B,
                    pb::StartContactRequest {
                        request_id: String::new(),
                        start: Some(on_case),
                    },
                ))
                .await,
            Code::NotFound,
            SECRETS,
        );

        // Figures of b count nothing of a.
        let figures_b = b.figures_2026(B).await;
        assert_eq!((figures_b.contacts, figures_b.cases), (0, 0));
        let figures_a = b.figures_2026(A).await;
        assert_eq!((figures_a.contacts, figures_a.cases), (1, 1));

        // The same BSN in tenant b is a new party of b's own.
        let in_b = b.start(B, s).await;
        let (_, party_b, case_b) = ids_of(&in_b);
        let seen = in_b.context.clone().expect("a context");
        assert_eq!(party(&seen).0, PartyStatus::New);
        assert!(
            seen.active_cases.is_empty(),
            "b's agent sees a's cases: {seen:?}"
        );
        assert_ne!(party_b, party_a);
        assert_ne!(case_b, case_a);
    })
    .await;
}

database_test!(idempotency_keys_belong_to_one_tenant);
async fn idempotency_keys_belong_to_one_tenant(database: TestDatabase) {
    on_backend(database, |b| async move {
        let same = pb::StartContactRequest {
            request_id: "retry-me".into(),
            start: Some(start(
                Channel::Phone,
                "2026-03-02T09:00:00+01:00",
                Some(bsn("999990056")),
                "paspoort",
            )),
        };
        let in_a = b
            .contacts()
            .start_contact(request(A, same.clone()))
            .await
            .expect("start in a")
            .into_inner();
        let in_b = b
            .contacts()
            .start_contact(request(B, same))
            .await
            .expect("the same key in another tenant is another request")
            .into_inner();
        let (contact_a, party_a, _) = ids_of(&in_a);
        let (contact_b, party_b, _) = ids_of(&in_b);
        assert_ne!(contact_b, contact_a, "tenant b got tenant a's answer");
        assert_ne!(party_b, party_a);
        assert_eq!(b.contact_count(A).await, 1);
        assert_eq!(b.contact_count(B).await, 1);
    })
    .await;
}

database_test!(settings_replaced_in_one_tenant_leave_the_other_alone);
async fn settings_replaced_in_one_tenant_leave_the_other_alone(database: TestDatabase) {
    on_backend(database, |b| async move {
        let defaults_b = b.settings(B).await;
        let defaults_a = b.settings(A).await;
        assert_eq!(
            defaults_a, defaults_b,
            "two new tenants have the same defaults"
        );

        let mut replaced = defaults_a.clone();
        replaced.norms.retain(|n| n.id == "phone-answered");
        assert_eq!(replaced.norms.len(), 1, "phone-answered is a default norm");
        replaced.norms[0].target = 0.9;
        replaced.norms[0].explanation = "We werven extra medewerkers.".into();
        if let Some(calendar) = replaced.calendar.as_mut() {
            calendar.closing_days = vec![midoffice_tests::date(2026, 4, 3)];
        }
        b.tenants()
            .replace_tenant_settings(request(
                A,
                pb::ReplaceTenantSettingsRequest {
                    settings: Some(replaced),
                },
            ))
            .await
            .expect("ReplaceTenantSettings in a");

        let now_a = b.settings(A).await;
        assert_eq!(now_a.norms.len(), 1);
        assert_eq!(now_a.norms[0].id, "phone-answered");
        assert!(
            (now_a.norms[0].target - 0.9).abs() < 1e-9,
            "{:?}",
            now_a.norms[0]
        );
        assert_eq!(
            b.settings(B).await,
            defaults_b,
            "replacing a's settings changed b's"
        );

        // The thermometers follow: a has one norm, b the eight defaults.
        let period = pb::Period {
            start_date: Some(midoffice_tests::date(2026, 3, 1)),
            end_date: Some(midoffice_tests::date(2026, 4, 1)),
            as_of: None,
        };
        for (tenant, norms) in [(A, 1), (B, defaults_b.norms.len())] {
            let thermometer = b
                .figures()
                .get_thermometer(request(
                    tenant,
                    pb::GetThermometerRequest {
                        period: Some(period),
                    },
                ))
                .await
                .expect("GetThermometer")
                .into_inner();
            assert_eq!(thermometer.norms.len(), norms, "thermometer of {tenant}");
        }
    })
    .await;
}

database_test!(a_call_without_x_tenant_acts_for_the_default_tenant);
async fn a_call_without_x_tenant_acts_for_the_default_tenant(database: TestDatabase) {
    on_backend(database, |b| async move {
        let s = start(
            Channel::Web,
            "2026-03-02T20:00:00+01:00",
            Some(bsn("999990056")),
            "afvalinzameling",
        );
        let answer = b
            .contacts()
            .start_contact(tonic::Request::new(pb::StartContactRequest {
                request_id: String::new(),
                start: Some(s),
            }))
            .await
            .expect("a start without x-tenant")
            .into_inner();
        let (contact_id, party_id, _) = ids_of(&answer);

        // Found without a header and with `x-tenant: default`; not in another tenant.
        let plain = b
            .contacts()
            .get_contact(tonic::Request::new(pb::GetContactRequest {
                contact_id: contact_id.clone(),
            }))
            .await
            .expect("GetContact without x-tenant")
            .into_inner()
            .contact
            .expect("a contact");
        assert_eq!(plain.party_id, party_id);
        assert_eq!(b.contact("default", &contact_id).await.party_id, party_id);
        assert_code(
            b.contacts()
                .get_contact(request(
                    A,
                    pb::GetContactRequest {
                        contact_id: contact_id.clone(),
                    },
                ))
                .await,
            Code::NotFound,
            SECRETS,
        );
        assert_eq!(
            party(&b.context("default", bsn("999990056")).await),
            (PartyStatus::Known, party_id)
        );
        assert_eq!(b.contact_count("default").await, 1);
        assert_eq!(b.contact_count(A).await, 0);
    })
    .await;
}

database_test!(every_measure_round_trips_through_its_oneof);
/// Each kind of measure goes in as its oneof member and comes back the same, through
/// the store, in GetTenantSettings and on the thermometer.
async fn every_measure_round_trips_through_its_oneof(database: TestDatabase) {
    use pb::measure::{self as kind, Kind};
    on_backend(database, |b| async move {
        let within = |w: pb::within::Within| Some(pb::Within { within: Some(w) });
        let kinds = [
            Kind::ResponseTime(kind::ResponseTime {
                channel: Channel::Email as i32,
                within: within(pb::within::Within::WorkingDays(3)),
            }),
            Kind::FirstContactResolution(kind::FirstContactResolution {}),
            Kind::ReferredAtMost(kind::ReferredAtMost { max: 1 }),
            Kind::StoryToldOnce(kind::StoryToldOnce {}),
            Kind::CommitmentOnTime(kind::CommitmentOnTime { within: None }),
            Kind::CommitmentOnTime(kind::CommitmentOnTime {
                within: within(pb::within::Within::Elapsed(prost_types::Duration {
                    seconds: 7200,
                    nanos: 0,
                })),
            }),
        ];
        let norms: Vec<pb::Norm> = kinds
            .into_iter()
            .enumerate()
            .map(|(i, k)| pb::Norm {
                id: format!("norm-{i}"),
                title: format!("Norm {i}"),
                measure: Some(pb::Measure { kind: Some(k) }),
                target: 0.75,
                explanation: String::new(),
                // Answered always; one norm held back from the public page.
                published: Some(i != 1),
            })
            .collect();
        let sent = pb::TenantSettings {
            norms: norms.clone(),
            ..b.settings(A).await
        };
        let stored = b
            .tenants()
            .replace_tenant_settings(request(
                A,
                pb::ReplaceTenantSettingsRequest {
                    settings: Some(sent.clone()),
                },
            ))
            .await
            .expect("ReplaceTenantSettings")
            .into_inner()
            .settings
            .expect("settings");
        assert_eq!(stored, sent);
        assert_eq!(b.settings(A).await.norms, norms);
        let thermometer = b
            .figures()
            .get_thermometer(request(
                A,
                pb::GetThermometerRequest {
                    period: Some(midoffice_tests::period_2026()),
                },
            ))
            .await
            .expect("GetThermometer")
            .into_inner();
        let measures: Vec<_> = thermometer.norms.into_iter().map(|n| n.measure).collect();
        let want: Vec<_> = norms.into_iter().map(|n| n.measure).collect();
        assert_eq!(measures, want);
    })
    .await;
}

database_test!(benchmark_participation_is_kept_per_tenant_and_validated);
async fn benchmark_participation_is_kept_per_tenant_and_validated(database: TestDatabase) {
    on_backend(database, |b| async move {
        let defaults = b.settings(A).await;
        assert_eq!(
            defaults.benchmark,
            Some(pb::BenchmarkParticipation::default()),
            "a new tenant does not take part"
        );
        let replace = |settings: pb::TenantSettings| {
            let b = &b;
            async move {
                b.tenants()
                    .replace_tenant_settings(request(
                        A,
                        pb::ReplaceTenantSettingsRequest {
                            settings: Some(settings),
                        },
                    ))
                    .await
            }
        };
        let taking_part = pb::BenchmarkParticipation {
            opted_in: true,
            size: 81_000,
            stated_population: false,
            peer_group: "g4-plus".into(),
            named: true,
        };
        let sent = pb::TenantSettings {
            benchmark: Some(taking_part.clone()),
            ..defaults.clone()
        };
        let stored = replace(sent.clone())
            .await
            .expect("ReplaceTenantSettings")
            .into_inner()
            .settings
            .expect("settings");
        assert_eq!(stored, sent);
        assert_eq!(b.settings(A).await.benchmark, Some(taking_part.clone()));
        assert_eq!(
            b.settings(B).await.benchmark,
            Some(pb::BenchmarkParticipation::default()),
            "b's settings unchanged"
        );

        // Taking part without a size or a peer group, a group that is not a code, a
        // size out of range: each refused by its field, and nothing changes.
        for (benchmark, field) in [
            (
                pb::BenchmarkParticipation {
                    size: 0,
                    ..taking_part.clone()
                },
                "settings.benchmark.size",
            ),
            (
                pb::BenchmarkParticipation {
                    peer_group: String::new(),
                    ..taking_part.clone()
                },
                "settings.benchmark.peer_group",
            ),
            (
                pb::BenchmarkParticipation {
                    peer_group: "G4 Plus".into(),
                    ..taking_part.clone()
                },
                "settings.benchmark.peer_group",
            ),
            (
                pb::BenchmarkParticipation {
                    size: 100_000_001,
                    ..taking_part.clone()
                },
                "settings.benchmark.size",
            ),
        ] {
            let result = replace(pb::TenantSettings {
                benchmark: Some(benchmark),
                ..defaults.clone()
            })
            .await;
            midoffice_tests::assert_invalid(result, field, &[]);
        }
        assert_eq!(b.settings(A).await.benchmark, Some(taking_part));

        // Absent is not taking part.
        replace(pb::TenantSettings {
            benchmark: None,
            ..defaults.clone()
        })
        .await
        .expect("ReplaceTenantSettings without benchmark");
        assert_eq!(
            b.settings(A).await.benchmark,
            Some(pb::BenchmarkParticipation::default())
        );
    })
    .await;
}
