//! The JSON API (`/api/v1/`, `docs/api/json.md`) over a real socket with a plain
//! HTTP/1.1 client, on both backends: the OpenAPI document is served without a
//! credential and validates (openapi-spec-validator); every operation of the route
//! table answers as its gRPC twin (the same request through gRPC and through JSON, the
//! JSON answer equal to the gRPC answer transcoded); errors are problem documents with
//! the gRPC call's own status, reason and field names (400, 401, 403, 404, 405, 415);
//! CORS preflights are answered for a configured origin and refused for another.

use midoffice_api::auth::{AccessConfig, ApiKey, Grant, Role, key_hash, new_key};
use midoffice_api::json::routes::ROUTES;
use midoffice_api::json::{Cors, http_status};
use midoffice_domain::TenantId;
use midoffice_tests::http::{Answer, send_body};
use midoffice_tests::pb::{self, Channel};
use midoffice_tests::{
    Access, Backend, Setup, TENANT, TestDatabase, at, bsn, database_test, on_backend,
    on_backend_with, period_2026, request, resolved, start,
};
use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage};
use serde_json::{Value, json};
use std::io::Write as _;
use std::process::{Command, Stdio};
use tonic_types::StatusExt;

/// Set to `1`, a missing openapi-spec-validator fails the check (as `CI` does).
const REQUIRE_TOOLS_VAR: &str = "MIDOFFICE_REQUIRE_DEPLOY_TOOLS";
const ORIGIN: &str = "https://kcc.example.nl";

fn pool() -> DescriptorPool {
    DescriptorPool::decode(pb::FILE_DESCRIPTOR_SET).expect("the descriptor set")
}

/// `msg` (of the protobuf type `name`, without `midoffice.v1.`) in the proto3 JSON
/// mapping, as the transcoder's library writes it.
fn to_json<M: Message>(name: &str, msg: &M) -> Value {
    let desc = pool()
        .get_message_by_name(&format!("midoffice.v1.{name}"))
        .unwrap_or_else(|| panic!("no message {name}"));
    let dynamic = DynamicMessage::decode(desc, msg.encode_to_vec().as_slice()).expect("decodes");
    serde_json::to_value(&dynamic).expect("serialises")
}

/// One JSON request to `b`'s gRPC port; `auth` is a header line or empty.
async fn call(b: &Backend, method: &str, target: &str, auth: &str, body: Option<&Value>) -> Answer {
    let body = body.map(|v| v.to_string().into_bytes());
    let mut extra = format!("x-tenant: {TENANT}\r\n{auth}");
    if body.is_some() {
        extra.push_str("Content-Type: application/json\r\n");
    }
    send_body(b.addr(), method, target, &extra, body.as_deref()).await
}

fn json_of(a: &Answer) -> Value {
    serde_json::from_str(&a.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", a.body))
}

/// Asserts that the JSON answer `a` is the gRPC answer `grpc` transcoded: the same
/// message, or the same error as a problem (HTTP status, ErrorInfo reason).
#[track_caller]
fn assert_twin(what: &str, grpc: Result<Value, tonic::Status>, a: &Answer) {
    assert_eq!(a.header("api-version"), Some("1.0.0"), "{what}");
    match grpc {
        Ok(expected) => {
            assert_eq!(a.status, 200, "{what}: {}", a.body);
            assert_eq!(a.header("content-type"), Some("application/json"), "{what}");
            assert_eq!(json_of(a), expected, "{what}");
        }
        Err(status) => {
            assert_eq!(
                a.status,
                http_status(status.code()).as_u16(),
                "{what}: {status:?} vs {}",
                a.body
            );
            let problem = json_of(a);
            let reason = status.get_details_error_info().map(|i| i.reason);
            assert_eq!(problem["code"].as_str(), reason.as_deref(), "{what}");
        }
    }
}

fn ok<M: Message>(
    name: &str,
    r: Result<tonic::Response<M>, tonic::Status>,
) -> Result<Value, tonic::Status> {
    r.map(|r| to_json(name, &r.into_inner()))
}

database_test!(the_openapi_document_is_served_without_a_credential_and_validates);
async fn the_openapi_document_is_served_without_a_credential_and_validates(database: TestDatabase) {
    let (_, access) = keys();
    let setup = Setup {
        access,
        ..Setup::default()
    };
    on_backend_with(database, setup, |b| async move {
        let a = send_body(b.addr(), "GET", "/api/v1/openapi.json", "", None).await;
        assert_eq!(a.status, 200, "{}", a.body);
        assert_eq!(a.header("api-version"), Some("1.0.0"));
        let doc = json_of(&a);
        assert_eq!(doc["openapi"], "3.0.3");
        assert_eq!(doc["info"]["version"], "1.0.0");
        assert!(doc["info"]["contact"]["name"].is_string());
        // Every route of the table is an operation, and nothing else is.
        let mut operations = 0;
        for route in &ROUTES {
            let path = format!("/api/v1{}", route.path);
            let op = &doc["paths"][&path][route.method.as_str().to_ascii_lowercase()];
            assert_eq!(
                op["x-grpc-method"],
                format!("{}/{}", route.service, route.rpc),
                "{path}"
            );
            operations += 1;
        }
        let documented: usize = doc["paths"]
            .as_object()
            .unwrap()
            .values()
            .map(|p| p.as_object().unwrap().len())
            .sum();
        assert_eq!(
            documented,
            operations + 1,
            "the table's operations and the document's own"
        );
        // camelCase fields, enums as names.
        let start = &doc["components"]["schemas"]["ContactStart"]["properties"];
        assert!(start["startedAt"].is_object(), "{start}");
        assert!(
            doc["components"]["schemas"]["Channel"]["enum"]
                .as_array()
                .unwrap()
                .contains(&json!("CHANNEL_PHONE"))
        );
        validate(&a.body);
    })
    .await;
}

/// Runs openapi-spec-validator on `document`; skipped (said on stderr) when it is not
/// installed, unless CI or [`REQUIRE_TOOLS_VAR`] asks for it.
fn validate(document: &str) {
    let required = std::env::var_os("CI").is_some()
        || std::env::var(REQUIRE_TOOLS_VAR).is_ok_and(|v| v.trim() == "1");
    let probe = Command::new("python3")
        .args(["-c", "import openapi_spec_validator"])
        .stdin(Stdio::null())
        .output();
    if !probe.as_ref().is_ok_and(|o| o.status.success()) {
        assert!(
            !required,
            "openapi-spec-validator is not installed (pip install openapi-spec-validator, as \
             .ci/run does), and CI or {REQUIRE_TOOLS_VAR}=1 asks for the check"
        );
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: openapi-spec-validator is not installed, so the OpenAPI document was \
             not validated (pip install openapi-spec-validator)"
        );
        return;
    }
    let dir = tempfile::tempdir().expect("a temporary folder");
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, document).expect("written");
    let out = Command::new("python3")
        .args(["-m", "openapi_spec_validator"])
        .arg(&file)
        .stdin(Stdio::null())
        .output()
        .expect("openapi-spec-validator runs");
    assert!(
        out.status.success(),
        "the OpenAPI document does not validate:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

database_test!(every_operation_answers_as_its_grpc_twin);
async fn every_operation_answers_as_its_grpc_twin(database: TestDatabase) {
    on_backend(database, |b| async move {
        const BSN: &str = "999990019";
        // StartContact: written by hand in the JSON names, the same as the request's
        // transcoding; the JSON call with the request id replays the gRPC call's answer.
        let start_req = pb::StartContactRequest {
            request_id: "json-start-1".into(),
            start: Some(start(
                Channel::Phone,
                "2026-03-02T09:00:00Z",
                Some(bsn(BSN)),
                "paspoort",
            )),
        };
        let body = json!({
            "requestId": "json-start-1",
            "start": {
                "channel": "CHANNEL_PHONE",
                "direction": "DIRECTION_INBOUND",
                "startedAt": "2026-03-02T09:00:00Z",
                "identifiers": {"bsn": BSN},
                "topic": "paspoort"
            }
        });
        assert_eq!(to_json("StartContactRequest", &start_req), body);
        let grpc = b.contacts().start_contact(request(TENANT, start_req)).await;
        let contact_id = midoffice_tests::ids_of(grpc.as_ref().unwrap().get_ref()).0;
        let a = call(&b, "POST", "/api/v1/contacts", "", Some(&body)).await;
        assert_twin("StartContact", ok("StartContactResponse", grpc), &a);

        let grpc = b
            .contacts()
            .get_contact(request(
                TENANT,
                pb::GetContactRequest {
                    contact_id: contact_id.clone(),
                },
            ))
            .await;
        let a = call(
            &b,
            "GET",
            &format!("/api/v1/contacts/{contact_id}"),
            "",
            None,
        )
        .await;
        assert_twin("GetContact", ok("GetContactResponse", grpc), &a);

        let complete = pb::CompleteContactRequest {
            request_id: "json-complete-1".into(),
            contact_id: contact_id.clone(),
            completion: Some(resolved(
                "2026-03-02T09:01:00Z",
                "2026-03-02T09:05:00Z",
                "Paspoort aangevraagd.",
            )),
        };
        let mut body = to_json("CompleteContactRequest", &complete);
        body.as_object_mut().unwrap().remove("contactId");
        let grpc = b
            .contacts()
            .complete_contact(request(TENANT, complete))
            .await;
        let a = call(
            &b,
            "POST",
            &format!("/api/v1/contacts/{contact_id}/completion"),
            "",
            Some(&body),
        )
        .await;
        assert_twin("CompleteContact", ok("CompleteContactResponse", grpc), &a);

        let feedback = pb::SubmitFeedbackRequest {
            request_id: "json-feedback-1".into(),
            contact_id: contact_id.clone(),
            score: 4,
            effort: 2,
            ..Default::default()
        };
        let mut body = to_json("SubmitFeedbackRequest", &feedback);
        body.as_object_mut().unwrap().remove("contactId");
        let grpc = b
            .contacts()
            .submit_feedback(request(TENANT, feedback))
            .await;
        let a = call(
            &b,
            "POST",
            &format!("/api/v1/contacts/{contact_id}/feedback"),
            "",
            Some(&body),
        )
        .await;
        assert_twin("SubmitFeedback", ok("SubmitFeedbackResponse", grpc), &a);

        let record = pb::RecordContactRequest {
            request_id: "json-record-1".into(),
            start: Some(start(
                Channel::Web,
                "2026-03-03T10:00:00Z",
                Some(bsn(BSN)),
                "paspoort",
            )),
            completion: Some(pb::ContactCompletion {
                ended_at: Some(at("2026-03-03T10:10:00Z")),
                answered_at: Some(at("2026-03-03T10:00:00Z")),
                outcome: pb::Outcome::Callback as i32,
                story: "Wil teruggebeld worden.".into(),
                department: "burgerzaken".into(),
                due_at: Some(at("2099-01-05T17:00:00Z")),
                ..Default::default()
            }),
            context_seen: true,
        };
        let body = to_json("RecordContactRequest", &record);
        let grpc = b.contacts().record_contact(request(TENANT, record)).await;
        let a = call(&b, "POST", "/api/v1/recorded-contacts", "", Some(&body)).await;
        assert_twin("RecordContact", ok("RecordContactResponse", grpc), &a);

        let context = pb::GetContextRequest {
            identifiers: Some(bsn(BSN)),
            as_of: Some(at("2026-06-01T00:00:00Z")),
        };
        let body = to_json("GetContextRequest", &context);
        let grpc = b.parties().get_context(request(TENANT, context)).await;
        let a = call(&b, "POST", "/api/v1/contexts/_zoek", "", Some(&body)).await;
        assert_twin("GetContext", ok("GetContextResponse", grpc), &a);

        let list = pb::ListPartyContactsRequest {
            identifiers: Some(bsn(BSN)),
            page_size: 1,
            ..Default::default()
        };
        let body = to_json("ListPartyContactsRequest", &list);
        let grpc = b.parties().list_party_contacts(request(TENANT, list)).await;
        assert!(!grpc.as_ref().unwrap().get_ref().next_page_token.is_empty());
        let a = call(&b, "POST", "/api/v1/party-contacts/_zoek", "", Some(&body)).await;
        assert_twin(
            "ListPartyContacts",
            ok("ListPartyContactsResponse", grpc),
            &a,
        );

        let grpc = b
            .commitments()
            .list_commitments(request(
                TENANT,
                pb::ListCommitmentsRequest {
                    department: "burgerzaken".into(),
                    page_size: 10,
                    ..Default::default()
                },
            ))
            .await;
        assert_eq!(grpc.as_ref().unwrap().get_ref().commitments.len(), 1);
        let a = call(
            &b,
            "GET",
            "/api/v1/commitments?department=burgerzaken&pageSize=10",
            "",
            None,
        )
        .await;
        // Each read as of the moment of its call: the rest is the same.
        let mut expected = ok("ListCommitmentsResponse", grpc).unwrap();
        let mut answer = json_of(&a);
        for v in [&mut expected, &mut answer] {
            let as_of = v.as_object_mut().unwrap().remove("asOf").unwrap();
            assert!(chrono::DateTime::parse_from_rfc3339(as_of.as_str().unwrap()).is_ok());
        }
        let a = Answer {
            body: answer.to_string(),
            ..a
        };
        assert_twin("ListCommitments", Ok(expected), &a);

        let grpc = b
            .tenants()
            .get_tenant_settings(request(TENANT, pb::GetTenantSettingsRequest {}))
            .await;
        let settings = grpc.as_ref().unwrap().get_ref().settings.clone().unwrap();
        let a = call(&b, "GET", "/api/v1/tenant-settings", "", None).await;
        assert_twin(
            "GetTenantSettings",
            ok("GetTenantSettingsResponse", grpc),
            &a,
        );
        let body = to_json("TenantSettings", &settings);
        let grpc = b
            .tenants()
            .replace_tenant_settings(request(
                TENANT,
                pb::ReplaceTenantSettingsRequest {
                    settings: Some(settings),
                },
            ))
            .await;
        let a = call(&b, "PUT", "/api/v1/tenant-settings", "", Some(&body)).await;
        assert_twin(
            "ReplaceTenantSettings",
            ok("ReplaceTenantSettingsResponse", grpc),
            &a,
        );

        let period = "period.startDate.year=2026&period.startDate.month=1&period.startDate.day=1\
                      &period.endDate.year=2027&period.endDate.month=1&period.endDate.day=1\
                      &period.asOf=2026-12-31T00:00:00Z";
        let mut p = period_2026();
        p.as_of = Some(at("2026-12-31T00:00:00Z"));
        let grpc = b
            .figures()
            .get_thermometer(request(
                TENANT,
                pb::GetThermometerRequest { period: Some(p) },
            ))
            .await;
        let a = call(
            &b,
            "GET",
            &format!("/api/v1/thermometer?{period}"),
            "",
            None,
        )
        .await;
        assert_twin("GetThermometer", ok("GetThermometerResponse", grpc), &a);
        let grpc = b
            .figures()
            .get_figures(request(
                TENANT,
                pb::GetFiguresRequest {
                    period: Some(p),
                    channel: Channel::Phone as i32,
                    ..Default::default()
                },
            ))
            .await;
        assert!(grpc.is_ok(), "{grpc:?}");
        let a = call(
            &b,
            "GET",
            &format!("/api/v1/figures?{period}&channel=CHANNEL_PHONE"),
            "",
            None,
        )
        .await;
        assert_twin("GetFigures", ok("GetFiguresResponse", grpc), &a);
        let grpc = b
            .figures()
            .get_figure_series(request(
                TENANT,
                pb::GetFigureSeriesRequest {
                    period: Some(p),
                    step: pb::SeriesStep::Month as i32,
                    ..Default::default()
                },
            ))
            .await;
        assert!(grpc.is_ok(), "{grpc:?}");
        let a = call(
            &b,
            "GET",
            &format!("/api/v1/figure-series?{period}&step=SERIES_STEP_MONTH"),
            "",
            None,
        )
        .await;
        assert_twin("GetFigureSeries", ok("GetFigureSeriesResponse", grpc), &a);

        // The logs, up to a moment after every record so far and before either call,
        // so neither call's own records are in them: the next whole second (the end
        // is given in seconds; truncating now would leave out this second's records).
        let until = (chrono::Utc::now() + chrono::Duration::seconds(1))
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
        let processing = pb::ListProcessingRecordsRequest {
            identifiers: Some(bsn(BSN)),
            end_time: Some(at(&until)),
            page_size: 50,
            ..Default::default()
        };
        let body = to_json("ListProcessingRecordsRequest", &processing);
        let grpc = b
            .processing_log()
            .list_processing_records(request(TENANT, processing))
            .await;
        assert!(!grpc.as_ref().unwrap().get_ref().records.is_empty());
        let a = call(
            &b,
            "POST",
            "/api/v1/processing-records/_zoek",
            "",
            Some(&body),
        )
        .await;
        assert_twin(
            "ListProcessingRecords",
            ok("ListProcessingRecordsResponse", grpc),
            &a,
        );
        let grpc = b
            .processing_log()
            .list_audit_records(request(
                TENANT,
                pb::ListAuditRecordsRequest {
                    end_time: Some(at(&until)),
                    page_size: 50,
                    ..Default::default()
                },
            ))
            .await;
        assert!(!grpc.as_ref().unwrap().get_ref().records.is_empty());
        let a = call(
            &b,
            "GET",
            &format!("/api/v1/audit-records?endTime={until}&pageSize=50"),
            "",
            None,
        )
        .await;
        assert_twin("ListAuditRecords", ok("ListAuditRecordsResponse", grpc), &a);

        // EraseParty cannot run twice on one party: two parties alike, one erased each way.
        for other in ["999990032", "999990044"] {
            b.start(
                TENANT,
                start(
                    Channel::Counter,
                    "2026-03-04T09:00:00Z",
                    Some(bsn(other)),
                    "afval",
                ),
            )
            .await;
        }
        let grpc = b
            .parties()
            .erase_party(request(
                TENANT,
                pb::ErasePartyRequest {
                    identifiers: Some(bsn("999990032")),
                },
            ))
            .await;
        let a = call(
            &b,
            "POST",
            "/api/v1/party-erasures",
            "",
            Some(&json!({"identifiers": {"bsn": "999990044"}})),
        )
        .await;
        let mut expected = ok("ErasePartyResponse", grpc).unwrap();
        let mut answer = json_of(&a);
        assert_eq!(a.status, 200, "{}", a.body);
        assert!(answer["partyId"].is_string(), "{answer}");
        expected.as_object_mut().unwrap().remove("partyId");
        answer.as_object_mut().unwrap().remove("partyId");
        assert_eq!(answer, expected, "EraseParty");
        assert_eq!(answer["contactsErased"], 1);

        // Without CORS configured, no browser on another origin is let in.
        let a = send_body(
            b.addr(),
            "OPTIONS",
            "/api/v1/contacts",
            &format!("Origin: {ORIGIN}\r\nAccess-Control-Request-Method: POST\r\n"),
            None,
        )
        .await;
        assert_eq!(a.status, 403);
        assert_eq!(a.header("access-control-allow-origin"), None);
    })
    .await;
}

/// Keys for a channel and a dashboard of [`TENANT`].
fn keys() -> ([String; 2], Access) {
    let mut config = AccessConfig::default();
    let mut out = Vec::new();
    for role in [Role::Channel, Role::Dashboard] {
        let key = new_key().unwrap();
        config.keys.push(ApiKey {
            name: role.as_str().into(),
            sha256: key_hash(&key),
            grant: Grant {
                tenants: vec![TenantId::parse(TENANT).unwrap()],
                roles: vec![role],
                channels: None,
            },
        });
        out.push(key);
    }
    (out.try_into().unwrap(), Access::configured(config))
}

#[track_caller]
fn assert_problem(a: &Answer, status: u16, code: Option<&str>, field: Option<&str>) -> Value {
    assert_eq!(a.status, status, "{}", a.body);
    assert_eq!(
        a.header("content-type"),
        Some("application/problem+json"),
        "{}",
        a.body
    );
    assert_eq!(a.header("api-version"), Some("1.0.0"));
    let p = json_of(a);
    assert_eq!(p["status"], status);
    assert_eq!(p["code"].as_str(), code, "{p}");
    if let Some(field) = field {
        let names: Vec<&str> = p["invalidParams"]
            .as_array()
            .unwrap_or_else(|| panic!("no invalidParams: {p}"))
            .iter()
            .map(|i| i["name"].as_str().unwrap())
            .collect();
        assert!(names.contains(&field), "{field} in {names:?}");
    }
    p
}

database_test!(errors_are_problems_with_the_grpc_calls_status_and_field_names);
async fn errors_are_problems_with_the_grpc_calls_status_and_field_names(database: TestDatabase) {
    let ([channel, dashboard], access) = keys();
    let setup = Setup {
        access,
        ..Setup::default()
    };
    on_backend_with(database, setup, |b| async move {
        let channel = format!("Authorization: Bearer {channel}\r\n");
        let dashboard = format!("Authorization: Bearer {dashboard}\r\n");
        let good = json!({"start": {
            "channel": "CHANNEL_PHONE", "direction": "DIRECTION_INBOUND",
            "startedAt": "2026-03-02T09:00:00Z"
        }});
        let a = call(&b, "POST", "/api/v1/contacts", "", Some(&good)).await;
        assert_problem(&a, 401, Some("CREDENTIAL_MISSING"), None);
        assert_eq!(a.header("www-authenticate"), Some("Bearer"));
        let a = call(&b, "POST", "/api/v1/contacts", &dashboard, Some(&good)).await;
        assert_problem(&a, 403, Some("ROLE_NOT_GRANTED"), None);
        let a = call(&b, "POST", "/api/v1/contacts", &channel, Some(&good)).await;
        assert_eq!(a.status, 200, "{}", a.body);
        let contact_id = json_of(&a)["contact"]["id"].as_str().unwrap().to_owned();

        // A field the service refuses: named in the JSON names, its value not echoed.
        let mut bad_bsn = good.clone();
        bad_bsn["start"]["identifiers"] = json!({"bsn": "123456789"});
        let a = call(&b, "POST", "/api/v1/contacts", &channel, Some(&bad_bsn)).await;
        assert_problem(
            &a,
            400,
            Some("INVALID_FIELDS"),
            Some("start.identifiers.bsn"),
        );
        assert!(!a.body.contains("123456789"), "{}", a.body);
        let mut late = good.clone();
        late["start"]["startedAt"] = json!("2999-01-01T00:00:00Z");
        let a = call(&b, "POST", "/api/v1/contacts", &channel, Some(&late)).await;
        assert_problem(&a, 400, Some("INVALID_FIELDS"), Some("start.startedAt"));
        // Fields the transcoder refuses: unknown, of the wrong type, not JSON at all.
        let mut unknown = good.clone();
        unknown["start"]["chanel"] = json!("CHANNEL_PHONE");
        let a = call(&b, "POST", "/api/v1/contacts", &channel, Some(&unknown)).await;
        assert_problem(&a, 400, Some("INVALID_FIELDS"), Some("start.chanel"));
        let mut typed = good.clone();
        typed["start"]["identifiers"] = json!({"bsn": 999990019});
        let a = call(&b, "POST", "/api/v1/contacts", &channel, Some(&typed)).await;
        assert_problem(
            &a,
            400,
            Some("INVALID_FIELDS"),
            Some("start.identifiers.bsn"),
        );
        assert!(!a.body.contains("999990019"), "{}", a.body);
        let a = send_body(
            b.addr(),
            "POST",
            "/api/v1/contacts",
            &format!("{channel}Content-Type: application/json\r\n"),
            Some(b"{\"start\": "),
        )
        .await;
        assert_problem(&a, 400, Some("INVALID_FIELDS"), Some("body"));
        let a = send_body(
            b.addr(),
            "POST",
            "/api/v1/contacts",
            &format!("{channel}Content-Type: text/plain\r\n"),
            Some(good.to_string().as_bytes()),
        )
        .await;
        assert_problem(&a, 415, None, None);
        // Path and query parameters are fields too.
        let a = call(&b, "GET", "/api/v1/contacts/not-an-id", &channel, None).await;
        assert_problem(&a, 400, Some("INVALID_FIELDS"), Some("contactId"));
        let a = call(&b, "GET", "/api/v1/commitments?pageSise=5", &channel, None).await;
        assert_problem(&a, 400, Some("INVALID_FIELDS"), Some("pageSise"));
        let a = call(&b, "GET", "/api/v1/commitments?pageSize=-1", &channel, None).await;
        assert_problem(&a, 400, Some("INVALID_FIELDS"), Some("pageSize"));
        let a = call(
            &b,
            "POST",
            &format!("/api/v1/contacts/{contact_id}/completion"),
            &channel,
            Some(&json!({"contactId": contact_id})),
        )
        .await;
        assert_problem(&a, 400, Some("INVALID_FIELDS"), Some("contactId"));
        // Not here: no such resource, a trailing slash, another method.
        let a = call(&b, "GET", "/api/v1/citizens", &channel, None).await;
        assert_problem(&a, 404, None, None);
        let a = call(&b, "GET", "/api/v1/contacts/", &channel, None).await;
        assert_problem(&a, 404, None, None);
        let a = call(
            &b,
            "DELETE",
            &format!("/api/v1/contacts/{contact_id}"),
            &channel,
            None,
        )
        .await;
        assert_problem(&a, 405, None, None);
        assert_eq!(a.header("allow"), Some("GET"));
        // gRPC still answers beside it.
        let s = b
            .contacts()
            .get_contact(request(TENANT, pb::GetContactRequest { contact_id }))
            .await
            .unwrap_err();
        assert_eq!(s.code(), tonic::Code::Unauthenticated);
    })
    .await;
}

database_test!(cors_preflights_are_answered_for_a_configured_origin_only);
async fn cors_preflights_are_answered_for_a_configured_origin_only(database: TestDatabase) {
    let setup = Setup {
        cors: Cors::new(vec![ORIGIN.into()]).unwrap(),
        ..Setup::default()
    };
    on_backend_with(database, setup, |b| async move {
        let preflight = |origin: &str| {
            format!(
                "Origin: {origin}\r\nAccess-Control-Request-Method: POST\r\n\
                 Access-Control-Request-Headers: content-type, x-tenant\r\n"
            )
        };
        let a = send_body(
            b.addr(),
            "OPTIONS",
            "/api/v1/contacts",
            &preflight(ORIGIN),
            None,
        )
        .await;
        assert_eq!(a.status, 204, "{}", a.body);
        assert_eq!(a.header("access-control-allow-origin"), Some(ORIGIN));
        assert!(
            a.header("access-control-allow-methods")
                .unwrap()
                .contains("POST")
        );
        let allowed = a.header("access-control-allow-headers").unwrap();
        assert!(
            allowed.contains("content-type") && allowed.contains("x-tenant"),
            "{allowed}"
        );
        let a = send_body(
            b.addr(),
            "OPTIONS",
            "/api/v1/contacts",
            &preflight("https://evil.example"),
            None,
        )
        .await;
        assert_eq!(a.status, 403, "{}", a.body);
        assert_eq!(a.header("access-control-allow-origin"), None);
        // The answer itself: the allowed origin may read it and its API-Version.
        let a = send_body(
            b.addr(),
            "GET",
            "/api/v1/tenant-settings",
            &format!("Origin: {ORIGIN}\r\nx-tenant: {TENANT}\r\n"),
            None,
        )
        .await;
        assert_eq!(a.status, 200, "{}", a.body);
        assert_eq!(a.header("access-control-allow-origin"), Some(ORIGIN));
        assert_eq!(
            a.header("access-control-expose-headers"),
            Some("API-Version")
        );
        let a = send_body(
            b.addr(),
            "GET",
            "/api/v1/tenant-settings",
            "Origin: https://evil.example\r\n",
            None,
        )
        .await;
        assert_eq!(a.header("access-control-allow-origin"), None);
    })
    .await;
}
