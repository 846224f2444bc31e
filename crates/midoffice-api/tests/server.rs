//! The server over a real socket: standard services, error details, ordering of
//! errors, idempotency and tenant isolation. Each test has its own SQLite file.

use midoffice_api::pb;
use midoffice_api::pb::contact_service_client::ContactServiceClient;
use midoffice_api::pb::figure_service_client::FigureServiceClient;
use midoffice_api::pb::party_service_client::PartyServiceClient;
use midoffice_api::pb::tenant_service_client::TenantServiceClient;
use midoffice_api::server::{AppState, RunningServer, spawn};
use midoffice_domain::identifier::Pseudonymiser;
use midoffice_store::Store;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tonic::transport::Channel;
use tonic::{Code, Request, Status};
use tonic_types::StatusExt;

const BSN: &str = "111222333";

struct Server {
    running: RunningServer,
    channel: Channel,
    _dir: tempfile::TempDir,
}

async fn start() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/t.db?mode=rwc", dir.path().display());
    let store = Store::connect(&url).await.unwrap();
    let pseudonymiser = Pseudonymiser::new(b"a test secret that is long enough");
    let running = spawn(AppState {
        store,
        pseudonymiser,
        access: midoffice_api::auth::Access::development(),
        cors: Default::default(),
        benchmark: Default::default(),
    })
    .await
    .unwrap();
    let channel = Channel::from_shared(running.url())
        .unwrap()
        .connect()
        .await
        .unwrap();
    Server {
        running,
        channel,
        _dir: dir,
    }
}

fn now_ts() -> prost_types::Timestamp {
    let now = chrono::Utc::now();
    prost_types::Timestamp {
        seconds: now.timestamp() - 60,
        nanos: 0,
    }
}

fn later_ts(secs: i64) -> prost_types::Timestamp {
    let t = now_ts();
    prost_types::Timestamp {
        seconds: t.seconds + secs,
        nanos: 0,
    }
}

fn phone_start(bsn: &str) -> pb::ContactStart {
    pb::ContactStart {
        channel: pb::Channel::Phone as i32,
        started_at: Some(now_ts()),
        identifiers: Some(pb::Identifiers {
            bsn: bsn.into(),
            ..Default::default()
        }),
        topic: "parkeervergunning".into(),
        ..Default::default()
    }
}

fn resolved_end() -> pb::ContactCompletion {
    pb::ContactCompletion {
        ended_at: Some(later_ts(30)),
        answered_at: Some(later_ts(10)),
        outcome: pb::Outcome::Resolved as i32,
        story: "vraag over de vergunning".into(),
        ..Default::default()
    }
}

fn violations(status: &Status) -> Vec<String> {
    status
        .get_error_details()
        .bad_request()
        .map(|b| b.field_violations.iter().map(|f| f.field.clone()).collect())
        .unwrap_or_default()
}

fn with_tenant<T>(msg: T, tenant: &str) -> Request<T> {
    let mut req = Request::new(msg);
    req.metadata_mut()
        .insert("x-tenant", tenant.parse().unwrap());
    req
}

#[tokio::test]
async fn health_reflection_and_grpc_web_are_served() {
    let s = start().await;
    let mut health = tonic_health::pb::health_client::HealthClient::new(s.channel.clone());
    for service in [
        "",
        "midoffice.v1.ContactService",
        "midoffice.v1.FigureService",
        "midoffice.v1.BenchmarkService",
    ] {
        let answer = health
            .check(tonic_health::pb::HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            answer.status,
            tonic_health::pb::health_check_response::ServingStatus::Serving as i32
        );
    }

    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
    let mut reflection = ServerReflectionClient::new(s.channel.clone());
    let requests = [
        MessageRequest::ListServices(String::new()),
        MessageRequest::FileContainingSymbol("midoffice.v1.ContactService".into()),
    ]
    .map(|m| ServerReflectionRequest {
        host: String::new(),
        message_request: Some(m),
    });
    let mut answers = reflection
        .server_reflection_info(tokio_stream::iter(requests))
        .await
        .unwrap()
        .into_inner();
    let Some(MessageResponse::ListServicesResponse(list)) =
        answers.message().await.unwrap().unwrap().message_response
    else {
        panic!("no service list")
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    for name in [
        "midoffice.v1.ContactService",
        "midoffice.v1.PartyService",
        "midoffice.v1.TenantService",
        "midoffice.v1.FigureService",
        "midoffice.v1.BenchmarkService",
        "grpc.health.v1.Health",
    ] {
        assert!(
            names.iter().any(|n| n == name),
            "{name} missing from {names:?}"
        );
    }
    let Some(MessageResponse::FileDescriptorResponse(files)) =
        answers.message().await.unwrap().unwrap().message_response
    else {
        panic!("no file for the symbol")
    };
    assert!(!files.file_descriptor_proto.is_empty());

    let mut alpha =
        tonic_reflection::pb::v1alpha::server_reflection_client::ServerReflectionClient::new(
            s.channel.clone(),
        );
    let request = tonic_reflection::pb::v1alpha::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(
            tonic_reflection::pb::v1alpha::server_reflection_request::MessageRequest::ListServices(
                String::new(),
            ),
        ),
    };
    let mut answers = alpha
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    assert!(answers.message().await.unwrap().is_some());

    // gRPC-Web over plain HTTP/1.1: an empty HealthCheckRequest in one frame.
    let mut tcp = tokio::net::TcpStream::connect(s.running.addr)
        .await
        .unwrap();
    let body = [0u8, 0, 0, 0, 0];
    let head = format!(
        "POST /grpc.health.v1.Health/Check HTTP/1.1\r\nhost: {}\r\ncontent-type: application/grpc-web+proto\r\nx-grpc-web: 1\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        s.running.addr,
        body.len()
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    tcp.write_all(&body).await.unwrap();
    let mut answer = Vec::new();
    tcp.read_to_end(&mut answer).await.unwrap();
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.contains("application/grpc-web"), "{text}");
    assert!(
        text.contains("grpc-status:0") || text.contains("grpc-status: 0"),
        "{text}"
    );

    s.running.stop().await;
}

#[tokio::test]
async fn invalid_requests_name_every_field_and_never_echo_a_bsn() {
    let s = start().await;
    let mut contacts = ContactServiceClient::new(s.channel.clone());
    let start = pb::ContactStart {
        channel: 0,
        topic: "Geen Code".into(),
        started_at: Some(later_ts(3600)),
        identifiers: Some(pb::Identifiers {
            bsn: "111222334".into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    let status = contacts
        .start_contact(pb::StartContactRequest {
            request_id: String::new(),
            start: Some(start),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(
        violations(&status),
        [
            "start.channel",
            "start.started_at",
            "start.identifiers.bsn",
            "start.topic"
        ]
    );
    assert!(!format!("{status:?}").contains("111222334"));

    let status = contacts
        .start_contact(with_tenant(
            pb::StartContactRequest {
                request_id: String::new(),
                start: Some(phone_start(BSN)),
            },
            "Gemeente A",
        ))
        .await
        .unwrap_err();
    assert_eq!(violations(&status), ["x-tenant"]);

    let status = contacts
        .get_contact(pb::GetContactRequest {
            contact_id: "nope".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(violations(&status), ["contact_id"]);

    let mut figures = FigureServiceClient::new(s.channel.clone());
    let status = figures
        .get_figures(pb::GetFiguresRequest {
            period: None,
            channel: 9,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(violations(&status), ["period", "channel"]);

    let mut tenants = TenantServiceClient::new(s.channel.clone());
    let mut settings = tenants
        .get_tenant_settings(pb::GetTenantSettingsRequest {})
        .await
        .unwrap()
        .into_inner()
        .settings
        .unwrap();
    settings.norms[0].target = 80.0;
    let status = tenants
        .replace_tenant_settings(pb::ReplaceTenantSettingsRequest {
            settings: Some(settings),
        })
        .await
        .unwrap_err();
    assert_eq!(violations(&status), ["settings.norms[0].target"]);

    let mut parties = PartyServiceClient::new(s.channel.clone());
    let status = parties
        .get_context(pb::GetContextRequest {
            identifiers: None,
            as_of: None,
        })
        .await
        .unwrap_err();
    assert_eq!(violations(&status), ["identifiers"]);
    s.running.stop().await;
}

#[tokio::test]
async fn completion_checks_the_contact_before_the_fields() {
    let s = start().await;
    let mut contacts = ContactServiceClient::new(s.channel.clone());
    let unknown = uuid::Uuid::now_v7().to_string();
    let no_outcome = pb::ContactCompletion {
        outcome: 0,
        ..resolved_end()
    };

    let status = contacts
        .complete_contact(pb::CompleteContactRequest {
            request_id: String::new(),
            contact_id: unknown,
            completion: Some(no_outcome.clone()),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);

    let started = contacts
        .start_contact(pb::StartContactRequest {
            request_id: String::new(),
            start: Some(phone_start(BSN)),
        })
        .await
        .unwrap()
        .into_inner();
    let id = started.contact.unwrap().id;

    let status = contacts
        .complete_contact(pb::CompleteContactRequest {
            request_id: String::new(),
            contact_id: id.clone(),
            completion: Some(no_outcome.clone()),
        })
        .await
        .unwrap_err();
    assert_eq!(violations(&status), ["completion.outcome"]);

    // A phone contact needs answered_at: the domain's rule, with the full path.
    let status = contacts
        .complete_contact(pb::CompleteContactRequest {
            request_id: String::new(),
            contact_id: id.clone(),
            completion: Some(pb::ContactCompletion {
                answered_at: None,
                ..resolved_end()
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(violations(&status), ["completion.answered_at"]);

    let done = contacts
        .complete_contact(pb::CompleteContactRequest {
            request_id: String::new(),
            contact_id: id.clone(),
            completion: Some(resolved_end()),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(done.contact.unwrap().completion.is_some());

    for end in [resolved_end(), no_outcome] {
        let status = contacts
            .complete_contact(pb::CompleteContactRequest {
                request_id: String::new(),
                contact_id: id.clone(),
                completion: Some(end),
            })
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::FailedPrecondition);
    }
    s.running.stop().await;
}

#[tokio::test]
async fn a_retried_start_returns_the_first_answer_and_tenants_are_apart() {
    let s = start().await;
    let mut contacts = ContactServiceClient::new(s.channel.clone());
    let request = pb::StartContactRequest {
        request_id: "retry-1".into(),
        start: Some(phone_start(BSN)),
    };
    let first = contacts
        .start_contact(request.clone())
        .await
        .unwrap()
        .into_inner();
    let again = contacts
        .start_contact(request.clone())
        .await
        .unwrap()
        .into_inner();
    let id = first.contact.as_ref().unwrap().id.clone();
    assert_eq!(again.contact.unwrap().id, id);
    let party = first.context.unwrap().party.unwrap();
    assert_eq!(party.bsn_masked, "******333");

    let mut other = request.clone();
    other.start.as_mut().unwrap().topic = "afval".into();
    let status = contacts.start_contact(other).await.unwrap_err();
    assert_eq!(violations(&status), ["request_id"]);

    let status = contacts
        .get_contact(with_tenant(
            pb::GetContactRequest {
                contact_id: id.clone(),
            },
            "gemeente-b",
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    let mut parties = PartyServiceClient::new(s.channel.clone());
    let context = parties
        .get_context(with_tenant(
            pb::GetContextRequest {
                identifiers: Some(pb::Identifiers {
                    bsn: BSN.into(),
                    ..Default::default()
                }),
                as_of: None,
            },
            "gemeente-b",
        ))
        .await
        .unwrap()
        .into_inner()
        .context
        .unwrap();
    assert_eq!(
        context.party.unwrap().status,
        pb::PartyStatus::NotFound as i32
    );
    s.running.stop().await;
}

#[tokio::test]
async fn settings_round_trip_and_figures_answer_per_channel() {
    let s = start().await;
    let mut tenants = TenantServiceClient::new(s.channel.clone());
    let settings = tenants
        .get_tenant_settings(pb::GetTenantSettingsRequest {})
        .await
        .unwrap()
        .into_inner()
        .settings
        .unwrap();
    assert_eq!(settings.norms.len(), 8);
    let replaced = tenants
        .replace_tenant_settings(pb::ReplaceTenantSettingsRequest {
            settings: Some(settings.clone()),
        })
        .await
        .unwrap()
        .into_inner()
        .settings
        .unwrap();
    assert_eq!(replaced, settings);

    let mut contacts = ContactServiceClient::new(s.channel.clone());
    contacts
        .record_contact(pb::RecordContactRequest {
            request_id: String::new(),
            start: Some(phone_start(BSN)),
            completion: Some(resolved_end()),
            context_seen: true,
        })
        .await
        .unwrap();

    let today = chrono::Utc::now().date_naive();
    let date = |d: chrono::NaiveDate| {
        use chrono::Datelike;
        pb::Date {
            year: d.year(),
            month: d.month() as i32,
            day: d.day() as i32,
        }
    };
    // The tenant's local date may be a day ahead of UTC's (Europe/Amsterdam after 23:00
    // UTC): the period reaches a day past it.
    let period = pb::Period {
        start_date: Some(date(today - chrono::Days::new(7))),
        end_date: Some(date(today + chrono::Days::new(2))),
        as_of: None,
    };
    let mut figures = FigureServiceClient::new(s.channel.clone());
    let thermometer = figures
        .get_thermometer(pb::GetThermometerRequest {
            period: Some(period),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(thermometer.norms.len(), 8);
    let answer = figures
        .get_figures(pb::GetFiguresRequest {
            period: Some(period),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(answer.figures.unwrap().contacts, 1);
    assert_eq!(answer.by_channel.len(), 4);
    let phone = &answer.by_channel[0];
    assert_eq!(phone.channel, pb::Channel::Phone as i32);
    assert_eq!(phone.figures.as_ref().unwrap().contacts, 1);
    assert_eq!(
        answer.by_channel[2].figures.as_ref().unwrap().referral_rate,
        None
    );
    s.running.stop().await;
}

#[tokio::test]
async fn extreme_input_is_answered_without_internal_errors() {
    let s = start().await;
    let mut contacts = ContactServiceClient::new(s.channel.clone());
    let mut figures = FigureServiceClient::new(s.channel.clone());
    let mut tenants = TenantServiceClient::new(s.channel.clone());
    let far = prost_types::Timestamp {
        seconds: 253_402_300_799,
        nanos: 999_999_999,
    };
    let epoch = prost_types::Timestamp {
        seconds: 0,
        nanos: 0,
    };
    let acceptable = |status: &Status| {
        !matches!(
            status.code(),
            Code::Internal | Code::Unknown | Code::Unavailable
        )
    };

    // Contacts at the edges of time, with far-away due times.
    let mut start = phone_start(BSN);
    start.started_at = Some(epoch);
    let started = contacts
        .start_contact(pb::StartContactRequest {
            request_id: String::new(),
            start: Some(start.clone()),
        })
        .await
        .unwrap()
        .into_inner();
    let id = started.contact.unwrap().id;
    for end in [
        pb::ContactCompletion {
            ended_at: Some(epoch),
            answered_at: Some(epoch),
            outcome: pb::Outcome::Callback as i32,
            due_at: Some(far),
            ..Default::default()
        },
        pb::ContactCompletion {
            ended_at: Some(far),
            outcome: pb::Outcome::HandedOff as i32,
            ..Default::default()
        },
    ] {
        let answer = contacts
            .record_contact(pb::RecordContactRequest {
                request_id: String::new(),
                start: Some(start.clone()),
                completion: Some(end.clone()),
                context_seen: false,
            })
            .await;
        if let Err(status) = &answer {
            assert!(acceptable(status), "{status:?}");
        }
        let answer = contacts
            .complete_contact(pb::CompleteContactRequest {
                request_id: "x".repeat(100),
                contact_id: id.clone(),
                completion: Some(end),
            })
            .await;
        if let Err(status) = &answer {
            assert!(acceptable(status), "{status:?}");
        }
    }

    // Periods at the edges of the calendar, with the longest thresholds.
    let mut settings = tenants
        .get_tenant_settings(pb::GetTenantSettingsRequest {})
        .await
        .unwrap()
        .into_inner()
        .settings
        .unwrap();
    // The third default norm is e-mail answered within 2 working days.
    let Some(pb::measure::Kind::ResponseTime(email)) = settings.norms[2]
        .measure
        .as_mut()
        .and_then(|m| m.kind.as_mut())
    else {
        panic!("the third default norm is a response time");
    };
    email.within = Some(pb::Within {
        within: Some(pb::within::Within::WorkingDays(250)),
    });
    settings.repeat_window = Some(prost_types::Duration {
        seconds: 366 * 24 * 3600,
        nanos: 0,
    });
    tenants
        .replace_tenant_settings(pb::ReplaceTenantSettingsRequest {
            settings: Some(settings),
        })
        .await
        .unwrap();
    for (from, to) in [
        ((1970, 1, 1), (1973, 1, 1)),
        ((9996, 12, 31), (9999, 12, 31)),
    ] {
        let period = pb::Period {
            start_date: Some(pb::Date {
                year: from.0,
                month: from.1,
                day: from.2,
            }),
            end_date: Some(pb::Date {
                year: to.0,
                month: to.1,
                day: to.2,
            }),
            as_of: None,
        };
        let answer = figures
            .get_thermometer(pb::GetThermometerRequest {
                period: Some(period),
            })
            .await;
        if let Err(status) = &answer {
            assert!(acceptable(status), "{status:?}");
        }
        let answer = figures
            .get_figures(pb::GetFiguresRequest {
                period: Some(period),
                ..Default::default()
            })
            .await;
        if let Err(status) = &answer {
            assert!(acceptable(status), "{status:?}");
        }
    }
    // Still serving.
    contacts
        .get_contact(pb::GetContactRequest { contact_id: id })
        .await
        .unwrap();
    s.running.stop().await;
}
