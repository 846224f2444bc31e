//! The role matrix: every RPC of every `midoffice.v1` service, walked from the compiled
//! descriptor (so a new RPC without a row here fails), called with a key of each role,
//! with no credential and with a credential of another tenant, on both backends.
//! Exactly the cells of [`ALLOWED`] get through; every other cell is refused with its
//! code and reason. The table is this test's own, not `Rpc::role`.
//!
//! An allowed cell sends a valid request that works on the store (an RPC without one
//! in [`valid_request`] sends an empty request, which must at least reach validation).
//!
//! A second walk takes the key of another tenant on its own tenant and points it at
//! tenant A's data: A's contact ids, A's citizen's BSN for a context, a history, an
//! erasure and the processing log. It finds nothing, and A is as it was.

use midoffice_api::auth::{AccessConfig, ApiKey, Grant, Role, key_hash, new_key};
use midoffice_domain::TenantId;
use midoffice_tests::pb::{self, Channel};
use midoffice_tests::{
    Access, Setup, TENANT, TestDatabase, at, bsn, database_test, on_backend_with, party_status,
    period_2026, resolved, start,
};
use prost::Message;
use prost_reflect::DescriptorPool;
use std::collections::BTreeMap;
use tonic::Code;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::transport::Channel as GrpcChannel;
use tonic_types::StatusExt;

/// Who may call what: `(Service/Method, roles)`; `PUBLIC` needs no credential.
/// Adding an RPC is one line here.
const ALLOWED: &[(&str, Who)] = &[
    ("ContactService/StartContact", Roles(&[R::Channel])),
    ("ContactService/CompleteContact", Roles(&[R::Channel])),
    ("ContactService/RecordContact", Roles(&[R::Channel])),
    ("ContactService/GetContact", Roles(&[R::Channel])),
    ("ContactService/SubmitFeedback", Roles(&[R::Channel])),
    ("PartyService/GetContext", Roles(&[R::Channel])),
    ("PartyService/ListPartyContacts", Roles(&[R::Channel])),
    ("PartyService/EraseParty", Roles(&[R::Admin])),
    ("CommitmentService/ListCommitments", Roles(&[R::Channel])),
    ("TenantService/GetTenantSettings", Roles(&[R::Admin])),
    ("TenantService/ReplaceTenantSettings", Roles(&[R::Admin])),
    ("FigureService/GetThermometer", Public),
    ("FigureService/GetFigures", Roles(&[R::Dashboard])),
    ("FigureService/GetFigureSeries", Roles(&[R::Dashboard])),
    ("BenchmarkService/GetBenchmark", Roles(&[R::Dashboard])),
    (
        "ProcessingLogService/ListProcessingRecords",
        Roles(&[R::Privacy]),
    ),
    (
        "ProcessingLogService/ListAuditRecords",
        Roles(&[R::Privacy]),
    ),
];

/// The roles of the test's own table (not the server's `Role`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum R {
    Channel,
    Dashboard,
    Admin,
    Privacy,
}

#[derive(Clone, Copy, Debug)]
enum Who {
    Public,
    Roles(&'static [R]),
}
use Who::{Public, Roles};

/// Who calls in a cell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Caller {
    Role(R),
    Nobody,
    /// A key of another tenant holding every role.
    Foreign,
}

const CALLERS: [Caller; 6] = [
    Caller::Role(R::Channel),
    Caller::Role(R::Dashboard),
    Caller::Role(R::Admin),
    Caller::Role(R::Privacy),
    Caller::Nobody,
    Caller::Foreign,
];

const FOREIGN_TENANT: &str = "gemeente-b";

struct Keys {
    by_caller: Vec<(Caller, String)>,
}

impl Keys {
    fn make() -> (Keys, Access) {
        let mut by_caller = Vec::new();
        let mut config = AccessConfig::default();
        let role = |r: R| match r {
            R::Channel => Role::Channel,
            R::Dashboard => Role::Dashboard,
            R::Admin => Role::Admin,
            R::Privacy => Role::Privacy,
        };
        for caller in CALLERS {
            let (tenant, roles) = match caller {
                Caller::Role(r) => (TENANT, vec![role(r)]),
                Caller::Foreign => (FOREIGN_TENANT, Role::ALL.to_vec()),
                Caller::Nobody => continue,
            };
            let key = new_key().unwrap();
            config.keys.push(ApiKey {
                name: format!("{caller:?}"),
                sha256: key_hash(&key),
                grant: Grant {
                    tenants: vec![TenantId::parse(tenant).unwrap()],
                    roles,
                    channels: None,
                },
            });
            by_caller.push((caller, key));
        }
        (Keys { by_caller }, Access::configured(config))
    }

    fn key(&self, caller: Caller) -> Option<&str> {
        self.by_caller
            .iter()
            .find(|(c, _)| *c == caller)
            .map(|(_, k)| k.as_str())
    }
}

/// Sends and receives message bytes as they are.
#[derive(Clone, Copy, Default)]
struct Raw;

impl Codec for Raw {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = Raw;
    type Decoder = Raw;
    fn encoder(&mut self) -> Raw {
        Raw
    }
    fn decoder(&mut self) -> Raw {
        Raw
    }
}

impl Encoder for Raw {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        use prost::bytes::BufMut;
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for Raw {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, tonic::Status> {
        use prost::bytes::Buf;
        let mut out = vec![0; src.remaining()];
        src.copy_to_slice(&mut out);
        Ok(Some(out))
    }
}

/// Calls `path` (`/midoffice.v1.Service/Method`) with `body`, as `key` for `TENANT`.
async fn call(
    channel: GrpcChannel,
    path: &str,
    body: Vec<u8>,
    key: Option<&str>,
) -> Result<Vec<u8>, tonic::Status> {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready()
        .await
        .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
    let mut request = tonic::Request::new(body);
    request
        .metadata_mut()
        .insert("x-tenant", TENANT.parse().unwrap());
    if let Some(key) = key {
        request
            .metadata_mut()
            .insert("authorization", format!("Bearer {key}").parse().unwrap());
    }
    let path = http::uri::PathAndQuery::try_from(path).unwrap();
    grpc.unary(request, path, Raw)
        .await
        .map(tonic::Response::into_inner)
}

fn reason(status: &tonic::Status) -> String {
    status
        .get_error_details()
        .error_info()
        .map(|i| i.reason.clone())
        .unwrap_or_default()
}

/// What the allowed cells of the contact RPCs act on, made with the channel key.
struct Fixture {
    open_contact: String,
    recorded_contact: String,
    settings: pb::TenantSettings,
}

async fn typed<T: Message + Default>(
    channel: GrpcChannel,
    path: &str,
    body: impl Message,
    key: &str,
) -> T {
    let bytes = call(channel, path, body.encode_to_vec(), Some(key))
        .await
        .unwrap_or_else(|s| panic!("{path} in the set-up: {s:?}"));
    T::decode(bytes.as_slice()).unwrap()
}

async fn fixture(channel: GrpcChannel, keys: &Keys) -> Fixture {
    let ch = keys.key(Caller::Role(R::Channel)).unwrap();
    let admin = keys.key(Caller::Role(R::Admin)).unwrap();
    // The tenant publishes its thermometer, so GetThermometer is public for anyone, and
    // takes part in the benchmark, so GetBenchmark has a group (of one) to answer.
    let shown: pb::GetTenantSettingsResponse = typed(
        channel.clone(),
        "/midoffice.v1.TenantService/GetTenantSettings",
        pb::GetTenantSettingsRequest {},
        admin,
    )
    .await;
    let mut settings = shown.settings.unwrap_or_default();
    settings.public_page.get_or_insert_default().published = true;
    settings.benchmark = Some(pb::BenchmarkParticipation {
        opted_in: true,
        size: 50_000,
        peer_group: "matrix".into(),
        ..Default::default()
    });
    let _: pb::ReplaceTenantSettingsResponse = typed(
        channel.clone(),
        "/midoffice.v1.TenantService/ReplaceTenantSettings",
        pb::ReplaceTenantSettingsRequest {
            settings: Some(settings),
        },
        admin,
    )
    .await;
    let started: pb::StartContactResponse = typed(
        channel.clone(),
        "/midoffice.v1.ContactService/StartContact",
        pb::StartContactRequest {
            request_id: String::new(),
            start: Some(start(
                Channel::Phone,
                "2026-03-02T09:00:00+01:00",
                Some(bsn("999990019")),
                "paspoort",
            )),
        },
        ch,
    )
    .await;
    let recorded: pb::RecordContactResponse = typed(
        channel.clone(),
        "/midoffice.v1.ContactService/RecordContact",
        record_request("2026-03-03T10:00:00+01:00", "999990032"),
        ch,
    )
    .await;
    // A party for the erase cell alone.
    let _: pb::StartContactResponse = typed(
        channel.clone(),
        "/midoffice.v1.ContactService/StartContact",
        pb::StartContactRequest {
            request_id: String::new(),
            start: Some(start(
                Channel::Counter,
                "2026-03-04T11:00:00+01:00",
                Some(bsn("999990044")),
                "paspoort",
            )),
        },
        ch,
    )
    .await;
    let settings: pb::GetTenantSettingsResponse = typed(
        channel,
        "/midoffice.v1.TenantService/GetTenantSettings",
        pb::GetTenantSettingsRequest {},
        admin,
    )
    .await;
    Fixture {
        open_contact: started.contact.unwrap().id,
        recorded_contact: recorded.contact.unwrap().id,
        settings: settings.settings.unwrap(),
    }
}

fn record_request(at: &str, bsn_value: &str) -> pb::RecordContactRequest {
    let end = at.replace("00+01:00", "30+01:00");
    pb::RecordContactRequest {
        request_id: String::new(),
        start: Some(start(Channel::Phone, at, Some(bsn(bsn_value)), "paspoort")),
        completion: Some(resolved(at, &end, "Paspoort aangevraagd.")),
        context_seen: true,
    }
}

/// A valid request for an RPC, working on the fixture; `None`: send an empty request.
fn valid_request(method: &str, f: &Fixture) -> Option<Vec<u8>> {
    let bytes = match method {
        "ContactService/StartContact" => pb::StartContactRequest {
            request_id: String::new(),
            start: Some(start(
                Channel::Web,
                "2026-03-05T09:00:00+01:00",
                Some(bsn("999990056")),
                "paspoort",
            )),
        }
        .encode_to_vec(),
        "ContactService/CompleteContact" => pb::CompleteContactRequest {
            request_id: String::new(),
            contact_id: f.open_contact.clone(),
            completion: Some(resolved(
                "2026-03-02T09:00:10+01:00",
                "2026-03-02T09:04:00+01:00",
                "Paspoort aangevraagd.",
            )),
        }
        .encode_to_vec(),
        "ContactService/RecordContact" => {
            record_request("2026-03-06T10:00:00+01:00", "999990068").encode_to_vec()
        }
        "ContactService/GetContact" => pb::GetContactRequest {
            contact_id: f.recorded_contact.clone(),
        }
        .encode_to_vec(),
        "ContactService/SubmitFeedback" => pb::SubmitFeedbackRequest {
            contact_id: f.recorded_contact.clone(),
            score: 4,
            effort: 2,
            ..Default::default()
        }
        .encode_to_vec(),
        "PartyService/GetContext" => pb::GetContextRequest {
            identifiers: Some(bsn("999990019")),
            as_of: None,
        }
        .encode_to_vec(),
        "PartyService/ListPartyContacts" => pb::ListPartyContactsRequest {
            identifiers: Some(bsn("999990019")),
            page_size: 10,
            ..Default::default()
        }
        .encode_to_vec(),
        "CommitmentService/ListCommitments" => pb::ListCommitmentsRequest {
            page_size: 10,
            ..Default::default()
        }
        .encode_to_vec(),
        "PartyService/EraseParty" => pb::ErasePartyRequest {
            identifiers: Some(bsn("999990044")),
        }
        .encode_to_vec(),
        "TenantService/GetTenantSettings" => pb::GetTenantSettingsRequest {}.encode_to_vec(),
        "TenantService/ReplaceTenantSettings" => pb::ReplaceTenantSettingsRequest {
            settings: Some(f.settings.clone()),
        }
        .encode_to_vec(),
        "FigureService/GetThermometer" => pb::GetThermometerRequest {
            period: Some(period_2026()),
        }
        .encode_to_vec(),
        "FigureService/GetFigures" => pb::GetFiguresRequest {
            period: Some(period_2026()),
            ..Default::default()
        }
        .encode_to_vec(),
        "FigureService/GetFigureSeries" => pb::GetFigureSeriesRequest {
            period: Some(period_2026()),
            step: pb::SeriesStep::Month as i32,
            ..Default::default()
        }
        .encode_to_vec(),
        "BenchmarkService/GetBenchmark" => pb::GetBenchmarkRequest {
            // The last month whose group is due today: composable whenever this runs.
            period: midoffice_domain::benchmark::latest_composable(
                chrono::Utc::now(),
                midoffice_domain::benchmark::DEFAULT_GRACE_DAYS,
            )[0]
            .key(),
            peer_group: String::new(),
        }
        .encode_to_vec(),
        "ProcessingLogService/ListProcessingRecords" => pb::ListProcessingRecordsRequest {
            identifiers: Some(bsn("999990019")),
            page_size: 10,
            ..Default::default()
        }
        .encode_to_vec(),
        "ProcessingLogService/ListAuditRecords" => pb::ListAuditRecordsRequest {
            page_size: 10,
            ..Default::default()
        }
        .encode_to_vec(),
        _ => return None,
    };
    Some(bytes)
}

/// Every RPC of `midoffice.v1`, as `Service/Method`, from the compiled descriptor.
fn every_rpc() -> Vec<String> {
    let pool = DescriptorPool::decode(pb::FILE_DESCRIPTOR_SET).expect("the descriptor set");
    let mut rpcs = Vec::new();
    for service in pool.services() {
        if service.package_name() != "midoffice.v1" {
            continue;
        }
        for method in service.methods() {
            rpcs.push(format!("{}/{}", service.name(), method.name()));
        }
    }
    assert!(rpcs.len() >= ALLOWED.len(), "too few RPCs: {rpcs:?}");
    rpcs
}

database_test!(every_rpc_lets_exactly_the_allowed_callers_through);
async fn every_rpc_lets_exactly_the_allowed_callers_through(database: TestDatabase) {
    let (keys, access) = Keys::make();
    let setup = Setup {
        access,
        ..Setup::default()
    };
    on_backend_with(database, setup, |b| async move {
        let table: BTreeMap<&str, Who> = ALLOWED.iter().copied().collect();
        let rpcs = every_rpc();
        for rpc in &rpcs {
            assert!(
                table.contains_key(rpc.as_str()),
                "{rpc} has no row in the role matrix (ALLOWED)"
            );
        }
        for row in table.keys() {
            assert!(
                rpcs.iter().any(|r| r == row),
                "{row} is in the table but not in the API"
            );
        }
        let f = fixture(b.channel(), &keys).await;
        let mut failures = Vec::new();
        let mut allowed_cells = 0;
        for rpc in &rpcs {
            let who = table[rpc.as_str()];
            let valid = valid_request(rpc, &f);
            for caller in CALLERS {
                let allowed = match (who, caller) {
                    (Public, _) => true,
                    (Roles(roles), Caller::Role(r)) => roles.contains(&r),
                    (Roles(_), _) => false,
                };
                let body = valid.clone().unwrap_or_default();
                let path = format!("/midoffice.v1.{rpc}");
                let got = call(b.channel(), &path, body, keys.key(caller)).await;
                let cell = format!("{rpc} × {caller:?}");
                match (allowed, &got) {
                    (true, Ok(_)) => allowed_cells += 1,
                    (true, Err(s)) if valid.is_none() && s.code() == Code::InvalidArgument => {
                        allowed_cells += 1
                    }
                    (true, Err(s)) => failures.push(format!("{cell}: allowed, got {s:?}")),
                    (false, Ok(_)) => failures.push(format!("{cell}: refused, got OK")),
                    (false, Err(s)) => {
                        let expected = match caller {
                            Caller::Nobody => (Code::Unauthenticated, "CREDENTIAL_MISSING"),
                            Caller::Foreign => (Code::PermissionDenied, "TENANT_NOT_GRANTED"),
                            Caller::Role(_) => (Code::PermissionDenied, "ROLE_NOT_GRANTED"),
                        };
                        if (s.code(), reason(s).as_str()) != expected {
                            failures.push(format!(
                                "{cell}: expected {expected:?}, got {:?} {}",
                                s.code(),
                                reason(s)
                            ));
                        }
                    }
                }
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
        let expected_allowed: usize = rpcs
            .iter()
            .map(|r| match table[r.as_str()] {
                Public => CALLERS.len(),
                Roles(roles) => roles.len(),
            })
            .sum();
        assert_eq!(allowed_cells, expected_allowed);
    })
    .await;
}

/// `msg` for `tenant`, with `key`.
fn as_key<T>(tenant: &str, key: &str, msg: T) -> tonic::Request<T> {
    let mut r = tonic::Request::new(msg);
    r.metadata_mut().insert("x-tenant", tenant.parse().unwrap());
    r.metadata_mut()
        .insert("authorization", format!("Bearer {key}").parse().unwrap());
    r
}

/// What tenant A holds, as A's own keys see it (the context at a fixed moment, so two
/// snapshots compare).
#[derive(Debug, PartialEq)]
struct SnapshotA {
    contexts: Vec<pb::Context>,
    contacts: Vec<pb::Contact>,
    histories: Vec<Vec<pb::Contact>>,
    figures: Option<pb::Figures>,
}

async fn snapshot_a(b: &midoffice_tests::Backend, keys: &Keys, f: &Fixture) -> SnapshotA {
    let ch = keys.key(Caller::Role(R::Channel)).unwrap();
    let dashboard = keys.key(Caller::Role(R::Dashboard)).unwrap();
    let mut snapshot = SnapshotA {
        contexts: Vec::new(),
        contacts: Vec::new(),
        histories: Vec::new(),
        figures: None,
    };
    for citizen in A_CITIZENS {
        let context = b
            .parties()
            .get_context(as_key(
                TENANT,
                ch,
                pb::GetContextRequest {
                    identifiers: Some(bsn(citizen)),
                    as_of: Some(at("2026-06-01T12:00:00+02:00")),
                },
            ))
            .await
            .unwrap()
            .into_inner();
        snapshot.contexts.push(context.context.unwrap());
        let history = b
            .parties()
            .list_party_contacts(as_key(
                TENANT,
                ch,
                pb::ListPartyContactsRequest {
                    identifiers: Some(bsn(citizen)),
                    page_size: 50,
                    ..Default::default()
                },
            ))
            .await
            .unwrap()
            .into_inner();
        snapshot.histories.push(history.contacts);
    }
    for id in [&f.open_contact, &f.recorded_contact] {
        let contact = b
            .contacts()
            .get_contact(as_key(
                TENANT,
                ch,
                pb::GetContactRequest {
                    contact_id: id.clone(),
                },
            ))
            .await
            .unwrap()
            .into_inner();
        snapshot.contacts.push(contact.contact.unwrap());
    }
    let figures = b
        .figures()
        .get_figures(as_key(
            TENANT,
            dashboard,
            pb::GetFiguresRequest {
                period: Some(period_2026()),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    snapshot.figures = figures.figures;
    snapshot
}

/// The citizens of tenant A's fixture.
const A_CITIZENS: [&str; 3] = ["999990019", "999990032", "999990044"];

database_test!(a_key_of_another_tenant_on_its_own_tenant_finds_nothing_of_tenant_a);
async fn a_key_of_another_tenant_on_its_own_tenant_finds_nothing_of_tenant_a(
    database: TestDatabase,
) {
    let (keys, access) = Keys::make();
    let setup = Setup {
        access,
        ..Setup::default()
    };
    on_backend_with(database, setup, |b| async move {
        let f = fixture(b.channel(), &keys).await;
        let before = snapshot_a(&b, &keys, &f).await;
        assert_eq!(before.contacts[0].completion, None, "the open contact");
        assert!(before.histories.iter().all(|h| !h.is_empty()));
        // Tenant B's key (every role), on tenant B, aimed at A's ids and citizens.
        let foreign = keys.key(Caller::Foreign).unwrap();
        fn in_b<T>(key: &str, msg: T) -> tonic::Request<T> {
            as_key(FOREIGN_TENANT, key, msg)
        }
        let mut failures = Vec::new();
        let mut expect_not_found = |what: &str, got: Result<(), tonic::Status>| match got {
            Err(s) if s.code() == Code::NotFound => {}
            other => failures.push(format!("{what}: expected NOT_FOUND, got {other:?}")),
        };
        for id in [&f.open_contact, &f.recorded_contact] {
            let got = b
                .contacts()
                .get_contact(in_b(
                    foreign,
                    pb::GetContactRequest {
                        contact_id: id.clone(),
                    },
                ))
                .await;
            expect_not_found("GetContact", got.map(drop));
        }
        let got = b
            .contacts()
            .complete_contact(in_b(
                foreign,
                pb::CompleteContactRequest {
                    request_id: String::new(),
                    contact_id: f.open_contact.clone(),
                    completion: Some(resolved(
                        "2026-03-02T09:00:10+01:00",
                        "2026-03-02T09:04:00+01:00",
                        "Overgenomen door een andere gemeente.",
                    )),
                },
            ))
            .await;
        expect_not_found("CompleteContact", got.map(drop));
        let got = b
            .contacts()
            .submit_feedback(in_b(
                foreign,
                pb::SubmitFeedbackRequest {
                    contact_id: f.recorded_contact.clone(),
                    score: 1,
                    effort: 7,
                    ..Default::default()
                },
            ))
            .await;
        expect_not_found("SubmitFeedback", got.map(drop));
        for citizen in A_CITIZENS {
            let got = b
                .parties()
                .list_party_contacts(in_b(
                    foreign,
                    pb::ListPartyContactsRequest {
                        identifiers: Some(bsn(citizen)),
                        page_size: 50,
                        ..Default::default()
                    },
                ))
                .await;
            expect_not_found("ListPartyContacts", got.map(drop));
            let got = b
                .parties()
                .erase_party(in_b(
                    foreign,
                    pb::ErasePartyRequest {
                        identifiers: Some(bsn(citizen)),
                    },
                ))
                .await;
            expect_not_found("EraseParty", got.map(drop));
        }
        // The context of A's citizen, asked in B: nobody, nothing.
        for citizen in A_CITIZENS {
            let context = b
                .parties()
                .get_context(in_b(
                    foreign,
                    pb::GetContextRequest {
                        identifiers: Some(bsn(citizen)),
                        as_of: None,
                    },
                ))
                .await
                .unwrap()
                .into_inner()
                .context
                .unwrap();
            assert_eq!(
                party_status(&context),
                pb::PartyStatus::NotFound,
                "{context:?}"
            );
            assert!(context.active_cases.is_empty() && context.case.is_none());
            assert_eq!(context.active_case_count, 0);
            // Nor does B's processing log know A's citizen.
            let records = b
                .processing_log()
                .list_processing_records(in_b(
                    foreign,
                    pb::ListProcessingRecordsRequest {
                        identifiers: Some(bsn(citizen)),
                        page_size: 50,
                        ..Default::default()
                    },
                ))
                .await
                .unwrap()
                .into_inner();
            assert!(records.records.is_empty(), "{records:?}");
        }
        let figures = b
            .figures()
            .get_figures(in_b(
                foreign,
                pb::GetFiguresRequest {
                    period: Some(period_2026()),
                    ..Default::default()
                },
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            figures.figures.unwrap().contacts,
            0,
            "B counts A's contacts"
        );
        let series = b
            .figures()
            .get_figure_series(in_b(
                foreign,
                pb::GetFigureSeriesRequest {
                    period: Some(period_2026()),
                    step: pb::SeriesStep::Month as i32,
                    ..Default::default()
                },
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(series.points.len(), 12);
        assert!(
            series
                .points
                .iter()
                .all(|p| p.figures.as_ref().is_some_and(|f| f.contacts == 0)),
            "B's series counts A's contacts"
        );
        assert!(failures.is_empty(), "{}", failures.join("\n"));

        // And A is as it was.
        assert_eq!(snapshot_a(&b, &keys, &f).await, before);
    })
    .await;
}
