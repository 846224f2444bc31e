//! The runner against a small scripted fake of the four services, over a real socket:
//! it proves the wiring (tenant metadata, refs, ids, expectations, failure messages)
//! without the real server and store.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use midoffice_api::pb;
use pb::contact_service_server::{ContactService, ContactServiceServer};
use pb::figure_service_server::{FigureService, FigureServiceServer};
use pb::party_service_server::{PartyService, PartyServiceServer};
use pb::tenant_service_server::{TenantService, TenantServiceServer};
use tonic::{Request, Response, Status};

use super::{Clients, Failure, play};

#[derive(Default)]
struct State {
    next: u32,
    /// (tenant, contact id) -> contact
    contacts: HashMap<(String, String), pb::Contact>,
    /// (tenant, request id) -> contact id
    requests: HashMap<(String, String), String>,
    settings: HashMap<String, pb::TenantSettings>,
}

#[derive(Clone, Default)]
struct Fake(Arc<Mutex<State>>);

fn tenant<T>(request: &Request<T>) -> Result<String, Status> {
    request
        .metadata()
        .get("x-tenant")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .ok_or_else(|| Status::unauthenticated("x-tenant missing"))
}

fn party_of(ids: &pb::Identifiers) -> String {
    if !ids.bsn.is_empty() {
        format!("p-{}", ids.bsn)
    } else {
        String::new()
    }
}

impl Fake {
    fn start(
        &self,
        tenant: String,
        request_id: String,
        start: pb::ContactStart,
    ) -> Result<(pb::Contact, pb::Context), Status> {
        let ids = start.identifiers.unwrap_or_default();
        if ids.bsn == "bad" {
            return Err(Status::invalid_argument("identifiers.bsn: not a BSN"));
        }
        let mut state = self.0.lock().unwrap();
        if !request_id.is_empty()
            && let Some(id) = state.requests.get(&(tenant.clone(), request_id.clone()))
        {
            let contact = state.contacts[&(tenant.clone(), id.clone())].clone();
            return Ok((contact.clone(), context_for(&state, &tenant, &contact)));
        }
        state.next += 1;
        let id = format!("k{}", state.next);
        let party_id = party_of(&ids);
        let case_id = if !start.case_id.is_empty() {
            start.case_id.clone()
        } else if !party_id.is_empty() && !start.topic.is_empty() {
            format!("case-{party_id}-{}", start.topic)
        } else {
            String::new()
        };
        let contact = pb::Contact {
            id: id.clone(),
            party_id,
            case_id,
            topic: start.topic,
            ..Default::default()
        };
        let context = context_for(&state, &tenant, &contact);
        state
            .contacts
            .insert((tenant.clone(), id.clone()), contact.clone());
        if !request_id.is_empty() {
            state.requests.insert((tenant, request_id), id);
        }
        Ok((contact, context))
    }
}

/// The context as the contact's start shows it: earlier contacts on its case are stories.
fn context_for(state: &State, tenant: &str, contact: &pb::Contact) -> pb::Context {
    let party = if contact.party_id.is_empty() {
        pb::Party {
            status: pb::PartyStatus::Anonymous as i32,
            ..Default::default()
        }
    } else {
        pb::Party {
            status: pb::PartyStatus::Known as i32,
            id: contact.party_id.clone(),
            ..Default::default()
        }
    };
    let earlier = state
        .contacts
        .iter()
        .filter(|((t, id), c)| {
            t == tenant
                && *id != contact.id
                && !c.case_id.is_empty()
                && c.case_id == contact.case_id
        })
        .count();
    let case = (!contact.case_id.is_empty()).then(|| pb::Case {
        id: contact.case_id.clone(),
        signals: if earlier > 0 {
            vec![pb::Signal::StoryAlreadyTold as i32]
        } else {
            vec![]
        },
        stories: vec![pb::Story::default(); earlier],
        ..Default::default()
    });
    pb::Context {
        party: Some(party),
        case,
        ..Default::default()
    }
}

#[tonic::async_trait]
impl ContactService for Fake {
    async fn start_contact(
        &self,
        request: Request<pb::StartContactRequest>,
    ) -> Result<Response<pb::StartContactResponse>, Status> {
        let tenant = tenant(&request)?;
        let r = request.into_inner();
        let (contact, context) = self.start(tenant, r.request_id, r.start.unwrap_or_default())?;
        Ok(Response::new(pb::StartContactResponse {
            contact: Some(contact),
            context: Some(context),
        }))
    }

    async fn complete_contact(
        &self,
        request: Request<pb::CompleteContactRequest>,
    ) -> Result<Response<pb::CompleteContactResponse>, Status> {
        let tenant = tenant(&request)?;
        let r = request.into_inner();
        let mut state = self.0.lock().unwrap();
        let contact = state
            .contacts
            .get_mut(&(tenant, r.contact_id))
            .ok_or_else(|| Status::not_found("contact_id: unknown"))?;
        if contact.completion.is_some() {
            return Err(Status::failed_precondition("completed already"));
        }
        let end = r.end.unwrap_or_default();
        contact.completion = Some(pb::Completion {
            outcome: end.outcome,
            ..Default::default()
        });
        Ok(Response::new(pb::CompleteContactResponse {
            contact: Some(contact.clone()),
        }))
    }

    async fn record_contact(
        &self,
        request: Request<pb::RecordContactRequest>,
    ) -> Result<Response<pb::RecordContactResponse>, Status> {
        let tenant = tenant(&request)?;
        let r = request.into_inner();
        let (contact, context) = self.start(tenant, r.request_id, r.start.unwrap_or_default())?;
        Ok(Response::new(pb::RecordContactResponse {
            contact: Some(contact),
            context: Some(context),
        }))
    }

    async fn get_contact(
        &self,
        request: Request<pb::GetContactRequest>,
    ) -> Result<Response<pb::GetContactResponse>, Status> {
        let tenant = tenant(&request)?;
        let state = self.0.lock().unwrap();
        let contact = state
            .contacts
            .get(&(tenant, request.into_inner().contact_id))
            .cloned()
            .ok_or_else(|| Status::not_found("contact_id: unknown"))?;
        Ok(Response::new(pb::GetContactResponse {
            contact: Some(contact),
        }))
    }

    async fn submit_feedback(
        &self,
        request: Request<pb::SubmitFeedbackRequest>,
    ) -> Result<Response<pb::SubmitFeedbackResponse>, Status> {
        tenant(&request)?;
        let r = request.into_inner();
        if !(1..=5).contains(&r.score) {
            return Err(Status::invalid_argument("score: 1 to 5"));
        }
        Ok(Response::new(pb::SubmitFeedbackResponse {
            contact_id: r.contact_id,
            ..Default::default()
        }))
    }
}

#[tonic::async_trait]
impl PartyService for Fake {
    async fn get_context(
        &self,
        request: Request<pb::GetContextRequest>,
    ) -> Result<Response<pb::GetContextResponse>, Status> {
        let tenant = tenant(&request)?;
        let party_id = party_of(&request.into_inner().identifiers.unwrap_or_default());
        let state = self.0.lock().unwrap();
        let mut cases: Vec<String> = state
            .contacts
            .iter()
            .filter(|((t, _), c)| {
                *t == tenant
                    && !party_id.is_empty()
                    && c.party_id == party_id
                    && !c.case_id.is_empty()
            })
            .map(|(_, c)| c.case_id.clone())
            .collect();
        cases.sort();
        cases.dedup();
        let party = if cases.is_empty() {
            pb::Party {
                status: pb::PartyStatus::NotFound as i32,
                ..Default::default()
            }
        } else {
            pb::Party {
                status: pb::PartyStatus::Known as i32,
                id: party_id,
                ..Default::default()
            }
        };
        let active_cases = cases
            .into_iter()
            .map(|id| pb::Case {
                id,
                status: pb::CaseStatus::Open as i32,
                open_commitments: vec![pb::Commitment {
                    overdue: false,
                    ..Default::default()
                }],
                ..Default::default()
            })
            .collect();
        let context = pb::Context {
            party: Some(party),
            active_cases,
            ..Default::default()
        };
        Ok(Response::new(pb::GetContextResponse {
            context: Some(context),
        }))
    }

    async fn erase_party(
        &self,
        request: Request<pb::ErasePartyRequest>,
    ) -> Result<Response<pb::ErasePartyResponse>, Status> {
        tenant(&request)?;
        let party_id = party_of(&request.into_inner().identifiers.unwrap_or_default());
        Ok(Response::new(pb::ErasePartyResponse {
            party_id,
            contacts_erased: 0,
        }))
    }
}

fn default_settings() -> pb::TenantSettings {
    pb::TenantSettings {
        norms: vec![pb::Norm {
            id: "default-norm".into(),
            ..Default::default()
        }],
        calendar: Some(pb::Calendar {
            time_zone: "Europe/Amsterdam".into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[tonic::async_trait]
impl TenantService for Fake {
    async fn get_tenant_settings(
        &self,
        request: Request<pb::GetTenantSettingsRequest>,
    ) -> Result<Response<pb::GetTenantSettingsResponse>, Status> {
        let tenant = tenant(&request)?;
        let state = self.0.lock().unwrap();
        let settings = state
            .settings
            .get(&tenant)
            .cloned()
            .unwrap_or_else(default_settings);
        Ok(Response::new(pb::GetTenantSettingsResponse {
            settings: Some(settings),
        }))
    }

    async fn replace_tenant_settings(
        &self,
        request: Request<pb::ReplaceTenantSettingsRequest>,
    ) -> Result<Response<pb::ReplaceTenantSettingsResponse>, Status> {
        let tenant = tenant(&request)?;
        let settings = request.into_inner().settings.unwrap_or_default();
        self.0
            .lock()
            .unwrap()
            .settings
            .insert(tenant, settings.clone());
        Ok(Response::new(pb::ReplaceTenantSettingsResponse {
            settings: Some(settings),
        }))
    }
}

#[tonic::async_trait]
impl FigureService for Fake {
    async fn get_thermometer(
        &self,
        request: Request<pb::GetThermometerRequest>,
    ) -> Result<Response<pb::GetThermometerResponse>, Status> {
        let tenant = tenant(&request)?;
        let state = self.0.lock().unwrap();
        let settings = state
            .settings
            .get(&tenant)
            .cloned()
            .unwrap_or_else(default_settings);
        let norms = settings
            .norms
            .iter()
            .map(|n| pb::NormResult {
                norm_id: n.id.clone(),
                status: pb::NormStatus::NoData as i32,
                // The fake shows the calendar's time zone as the title, to check it arrived.
                title: settings.calendar.clone().unwrap_or_default().time_zone,
                ..Default::default()
            })
            .collect();
        Ok(Response::new(pb::GetThermometerResponse { norms }))
    }

    async fn get_figures(
        &self,
        request: Request<pb::GetFiguresRequest>,
    ) -> Result<Response<pb::GetFiguresResponse>, Status> {
        let tenant = tenant(&request)?;
        let r = request.into_inner();
        if r.period.and_then(|p| p.from).is_none() {
            return Err(Status::invalid_argument("period.from: required"));
        }
        let state = self.0.lock().unwrap();
        let contacts = state.contacts.keys().filter(|(t, _)| *t == tenant).count() as u64;
        let figures = pb::Figures {
            contacts,
            referral_rate: Some(2.0 / 3.0),
            response_times: vec![pb::ResponseTime {
                channel: pb::Channel::Phone as i32,
                answered: 2,
                p50_seconds: 15,
                p90_seconds: 22,
            }],
            ..Default::default()
        };
        Ok(Response::new(pb::GetFiguresResponse {
            figures: Some(figures),
            by_channel: vec![],
        }))
    }
}

/// Starts the fake on a free port and answers clients connected to it.
async fn fake() -> (Fake, Clients) {
    let fake = Fake::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = tonic::transport::Server::builder()
        .add_service(ContactServiceServer::new(fake.clone()))
        .add_service(PartyServiceServer::new(fake.clone()))
        .add_service(TenantServiceServer::new(fake.clone()))
        .add_service(FigureServiceServer::new(fake.clone()));
    tokio::spawn(router.serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)));
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    (fake, Clients::new(channel))
}

async fn run(text: &str) -> Result<usize, Failure> {
    let scenario = crate::scenario::parse(text).unwrap();
    let (_fake, clients) = fake().await;
    play(&scenario, clients).await
}

const T: &str = "\"2026-03-02T09:00:00+01:00\"";

#[tokio::test]
async fn a_story_that_matches_passes() {
    let text = format!(
        r#"
name: fake
tenant: t1
norms:
  - {{id: phone-answered, measure: response_time, channel: PHONE, within: 25s, target: 0.8}}
calendar: {{time_zone: Europe/Brussels, holidays: BE, closing_days: ["2026-04-03"]}}
steps:
  - start: {{ref: c1, at: {T}, channel: PHONE, bsn: "1", topic: a, request_id: r1}}
    expect: {{party: new, case: new, signals: [], referral_count: 0, stories: 0, active_cases: 0}}
  - start: {{ref: c1, at: {T}, channel: PHONE, bsn: "1", topic: a, request_id: r1}}
    expect: {{contact: same_as c1, party: same_as c1, case: same_as c1}}
  - start: {{ref: c2, at: {T}, channel: PHONE, bsn: "1", topic: a}}
    expect: {{party: same_as c1, case: same_as c1, signals: [STORY_ALREADY_TOLD], stories: 1}}
  - start: {{ref: c3, at: {T}, channel: PHONE, bsn: "1", topic: b}}
    expect: {{party: same_as c1, case: new}}
  - start: {{ref: x1, at: {T}, channel: PHONE, bsn: bad, topic: b}}
    expect: {{error: INVALID_ARGUMENT}}
  - complete: {{ref: c1, at: {T}, outcome: RESOLVED}}
  - complete: {{ref: c1, at: {T}, outcome: RESOLVED}}
    expect: {{error: FAILED_PRECONDITION}}
  - record: {{ref: a1, started_at: {T}, at: {T}, channel: WEB, topic: a, outcome: RESOLVED}}
    expect: {{party: anonymous, case: none, signals: [], stories: 0}}
  - start: {{ref: c4, at: {T}, channel: PHONE, direction: OUTBOUND, case_of: c3}}
    expect: {{case: same_as c3, party: anonymous}}
  - start: {{ref: d1, at: {T}, channel: PHONE, bsn: "2", topic: a}}
    expect: {{party: new, case: new}}
  - context: {{at: {T}, bsn: "1"}}
    expect: {{party: same_as c1, open_cases: 2, active_cases: 2, commitments_pending: 2, commitments_overdue: 0}}
  - context: {{at: {T}, bsn: "9"}}
    expect: {{party: none}}
  - feedback: {{ref: c1, score: 4, effort: 2, repeated_story: false}}
  - feedback: {{ref: c1, score: 6, effort: 2}}
    expect: {{error: INVALID_ARGUMENT}}
  - erase: {{bsn: "1"}}
  - metrics: {{from: "2026-03-01", to: "2026-04-01", as_of: {T}}}
    expect: {{contacts: 6, referral_rate: 0.6667, first_contact_resolution: null, response_time_p50: {{PHONE: 15}}, response_time_p90: {{PHONE: 22}}}}
  - metrics: {{to: "2026-04-01"}}
    expect: {{error: INVALID_ARGUMENT}}
  - thermometer: {{from: "2026-03-01", to: "2026-04-01"}}
    expect: {{phone-answered: {{status: NO_DATA, items: 0, share: null}}}}
  - thermometer: {{from: "2026-03-01", to: "2026-04-01"}}
    tenant: t2
    expect: {{default-norm: {{status: NO_DATA}}}}
  - start: {{ref: e1, at: {T}, channel: PHONE, bsn: "1", topic: a}}
    tenant: t2
    expect: {{party: same_as c1, case: same_as c1}}
"#
    );
    match run(&text).await {
        Ok(steps) => assert_eq!(steps, 20),
        Err(failure) => panic!("{failure:?}"),
    }
}

async fn first_failure(steps: &str) -> (Option<(usize, String)>, Vec<String>) {
    let text = format!(
        "name: fake\nsteps:\n  - start: {{ref: c1, at: {T}, channel: PHONE, bsn: \"1\", topic: a}}\n{steps}"
    );
    match run(&text).await {
        Ok(n) => panic!("expected a failure, all {n} steps passed"),
        Err(failure) => (failure.step, failure.messages),
    }
}

#[tokio::test]
async fn a_differing_answer_names_the_step_and_the_key_and_stops_the_file() {
    let (step, messages) = first_failure(&format!(
        "  - start: {{ref: c2, at: {T}, channel: PHONE, bsn: \"1\", topic: a}}\n    expect: {{signals: [REFERRED_AGAIN, STORY_ALREADY_TOLD], stories: 1, referral_count: 1}}\n  - start: {{ref: c3, at: {T}, channel: PHONE, bsn: bad}}\n"
    ))
    .await;
    assert_eq!(step, Some((2, "start c2".to_string())));
    assert_eq!(
        messages,
        [
            "signals: expected [REFERRED_AGAIN, STORY_ALREADY_TOLD], got [STORY_ALREADY_TOLD]",
            "referral_count: expected 1, got 0"
        ]
    );
}

#[tokio::test]
async fn new_refuses_an_id_seen_before() {
    let (step, messages) = first_failure(&format!(
        "  - start: {{ref: c2, at: {T}, channel: PHONE, bsn: \"1\", topic: a}}\n    expect: {{party: new, case: new}}\n"
    ))
    .await;
    assert_eq!(step, Some((2, "start c2".to_string())));
    assert_eq!(
        messages,
        [
            "party: expected new, got p-1 which an earlier step already had",
            "case: expected new, got case-p-1-a which an earlier step already had"
        ]
    );
}

#[tokio::test]
async fn errors_are_judged_both_ways() {
    let (_, messages) = first_failure(&format!(
        "  - start: {{ref: c2, at: {T}, channel: PHONE, bsn: \"2\", topic: a}}\n    expect: {{error: INVALID_ARGUMENT}}\n"
    ))
    .await;
    assert_eq!(
        messages,
        ["error: expected INVALID_ARGUMENT, but the call succeeded"]
    );
    let (_, messages) = first_failure(&format!(
        "  - start: {{ref: c2, at: {T}, channel: PHONE, bsn: bad}}\n"
    ))
    .await;
    assert_eq!(
        messages,
        ["the call failed: INVALID_ARGUMENT: identifiers.bsn: not a BSN"]
    );
    let (_, messages) = first_failure(&format!(
        "  - complete: {{ref: c1, at: {T}, outcome: RESOLVED}}\n  - complete: {{ref: c1, at: {T}, outcome: RESOLVED}}\n    expect: {{error: NOT_FOUND}}\n"
    ))
    .await;
    assert_eq!(
        messages,
        ["error: expected NOT_FOUND, got FAILED_PRECONDITION: completed already"]
    );
}

#[tokio::test]
async fn a_failed_start_registers_nothing_and_unknown_refs_fail() {
    let (step, messages) = first_failure(&format!(
        "  - start: {{ref: x1, at: {T}, channel: PHONE, bsn: bad}}\n    expect: {{error: INVALID_ARGUMENT}}\n  - complete: {{ref: x1, at: {T}, outcome: RESOLVED}}\n"
    ))
    .await;
    assert_eq!(step, Some((3, "complete x1".to_string())));
    assert_eq!(
        messages,
        ["unknown ref `x1`: no earlier start or record step made that contact"]
    );
    let (_, messages) = first_failure(&format!(
        "  - start: {{ref: c2, at: {T}, channel: PHONE, bsn: \"1\", topic: a}}\n    expect: {{party: same_as nobody}}\n"
    ))
    .await;
    assert_eq!(
        messages,
        ["party: unknown ref `nobody`: no earlier start or record step made that contact"]
    );
}

#[tokio::test]
async fn a_missing_norm_and_a_wrong_figure_fail() {
    let (_, messages) = first_failure(
        "  - thermometer: {from: \"2026-03-01\", to: \"2026-04-01\"}\n    expect: {phone-answered: {status: GREEN}}\n",
    )
    .await;
    assert_eq!(
        messages,
        ["phone-answered: the thermometer has no such norm (it has: default-norm)"]
    );
    let (step, messages) = first_failure(
        "  - metrics: {from: \"2026-03-01\", to: \"2026-04-01\"}\n    expect: {contacts: 2, referral_rate: 0.66, response_time_p90: {PHONE: 22, EMAIL: 9}}\n",
    )
    .await;
    assert_eq!(step, Some((2, "metrics".to_string())));
    assert_eq!(
        messages,
        [
            "contacts: expected 2, got 1",
            "referral_rate: expected 0.66, got 0.6666666666666666",
            "response_time_p90: EMAIL: expected 9, but the figures have no response time for EMAIL"
        ]
    );
}

#[tokio::test]
async fn a_ref_cannot_name_two_contacts() {
    let (_, messages) = first_failure(&format!(
        "  - start: {{ref: c1, at: {T}, channel: PHONE, bsn: \"2\", topic: a}}\n"
    ))
    .await;
    assert_eq!(
        messages,
        ["ref c1 already names contact k1, this step made contact k2"]
    );
}

#[tokio::test]
async fn settings_reach_the_files_tenant_only() {
    let text = "name: fake\ntenant: t1\ncalendar: {time_zone: Europe/Brussels}\nsteps:\n  - thermometer: {from: \"2026-03-01\", to: \"2026-04-01\"}\n    expect: {default-norm: {items: 0}}\n";
    let scenario = crate::scenario::parse(text).unwrap();
    let (fake, clients) = fake().await;
    play(&scenario, clients).await.unwrap();
    let state = fake.0.lock().unwrap();
    let settings = &state.settings["t1"];
    // Only the calendar was given: the norms stay the tenant's own.
    assert_eq!(settings.norms.len(), 1);
    assert_eq!(settings.norms[0].id, "default-norm");
    let calendar = settings.calendar.clone().unwrap();
    assert_eq!(calendar.time_zone, "Europe/Brussels");
    assert_eq!(state.settings.len(), 1);
}
