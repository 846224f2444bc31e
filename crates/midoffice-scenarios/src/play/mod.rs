//! Plays one parsed scenario through the generated gRPC clients and checks every
//! expectation a step states, stopping at the first step whose answer differs.
//!
//! One module per kind of step, as the services: `contacts` (start, complete, record,
//! feedback), `parties` (context, erase), `figures` (metrics, thermometer) and
//! `settings` (the file's norms and calendar); `wire` builds the requests and `check`
//! compares the answers.

mod check;
mod contacts;
mod figures;
mod parties;
mod settings;
mod wire;

use std::collections::{HashMap, HashSet};

use midoffice_api::pb;
use midoffice_api::pb::contact_service_client::ContactServiceClient;
use midoffice_api::pb::figure_service_client::FigureServiceClient;
use midoffice_api::pb::party_service_client::PartyServiceClient;
use midoffice_api::pb::tenant_service_client::TenantServiceClient;
use tonic::transport::Channel;

use crate::scenario::{Action, Expect, Scenario, Step, code_name};

/// Where a scenario stopped.
#[derive(Debug)]
pub(crate) struct Failure {
    /// 1-based step number and its label (`start c3`); `None` for the tenant settings.
    pub step: Option<(usize, String)>,
    /// One line per differing key.
    pub messages: Vec<String>,
}

type Checked = Result<(), Vec<String>>;

/// The clients of one server, all on one connection.
#[derive(Clone)]
pub(crate) struct Clients {
    contacts: ContactServiceClient<Channel>,
    parties: PartyServiceClient<Channel>,
    tenants: TenantServiceClient<Channel>,
    figures: FigureServiceClient<Channel>,
}

impl Clients {
    pub(crate) fn new(channel: Channel) -> Self {
        Clients {
            contacts: ContactServiceClient::new(channel.clone()),
            parties: PartyServiceClient::new(channel.clone()),
            tenants: TenantServiceClient::new(channel.clone()),
            figures: FigureServiceClient::new(channel),
        }
    }
}

/// A contact a step named with `ref`.
#[derive(Debug, Clone)]
struct Known {
    contact_id: String,
    /// The tenant the contact was made for; look-ups of it use this tenant.
    tenant: String,
}

struct Player {
    clients: Clients,
    refs: HashMap<String, Known>,
    /// Every party and case id any step has shown so far, for `new`.
    seen_parties: HashSet<String>,
    seen_cases: HashSet<String>,
}

/// Plays every step of `scenario`; answers the number of steps played.
pub(crate) async fn play(scenario: &Scenario, clients: Clients) -> Result<usize, Failure> {
    let mut player = Player {
        clients,
        refs: HashMap::new(),
        seen_parties: HashSet::new(),
        seen_cases: HashSet::new(),
    };
    player
        .apply_settings(scenario)
        .await
        .map_err(|messages| Failure {
            step: None,
            messages,
        })?;
    for (i, step) in scenario.steps.iter().enumerate() {
        let tenant = step.tenant.as_deref().unwrap_or(&scenario.tenant);
        player
            .step(step, tenant)
            .await
            .map_err(|messages| Failure {
                step: Some((i + 1, step.action.label())),
                messages,
            })?;
    }
    Ok(scenario.steps.len())
}

fn request<T>(tenant: &str, message: T) -> Result<tonic::Request<T>, Vec<String>> {
    let mut request = tonic::Request::new(message);
    let value = tenant.parse().map_err(|_| {
        vec![format!(
            "tenant `{tenant}` cannot be sent as x-tenant metadata"
        )]
    })?;
    request.metadata_mut().insert("x-tenant", value);
    Ok(request)
}

fn failed(status: &tonic::Status) -> String {
    format!("{}: {}", code_name(status.code()), status.message())
}

/// Turns a call's result into its answer, or nothing when it failed as expected.
fn settle<T>(
    result: Result<tonic::Response<T>, tonic::Status>,
    expect: &Expect,
) -> Result<Option<T>, Vec<String>> {
    match (result, expect.error()) {
        (Ok(response), None) => Ok(Some(response.into_inner())),
        (Ok(_), Some(code)) => Err(vec![format!(
            "error: expected {}, but the call succeeded",
            code_name(code)
        )]),
        (Err(status), Some(code)) if status.code() == code => Ok(None),
        (Err(status), Some(code)) => Err(vec![format!(
            "error: expected {}, got {}",
            code_name(code),
            failed(&status)
        )]),
        (Err(status), None) => Err(vec![format!("the call failed: {}", failed(&status))]),
    }
}

impl Player {
    async fn step(&mut self, step: &Step, tenant: &str) -> Checked {
        match &step.action {
            Action::Start(s) => self.start(s, step, tenant).await,
            Action::Complete(s) => self.complete(s, step, tenant).await,
            Action::Record(s) => self.record(s, step, tenant).await,
            Action::Feedback(s) => self.feedback(s, step, tenant).await,
            Action::Context(s) => self.context(s, step, tenant).await,
            Action::Erase(s) => self.erase(s, step, tenant).await,
            Action::Metrics(s) => self.metrics(s, step, tenant).await,
            Action::Thermometer(s) => self.thermometer(s, step, tenant).await,
        }
    }
    // --- refs and ids

    fn known(&self, contact_ref: &str) -> Result<Known, Vec<String>> {
        self.refs.get(contact_ref).cloned().ok_or_else(|| {
            vec![format!(
                "unknown ref `{contact_ref}`: no earlier start or record step made that contact"
            )]
        })
    }

    /// Contact `<ref>` as the server has it now, after any merge.
    async fn now(&mut self, contact_ref: &str) -> Result<pb::Contact, String> {
        let known = self.known(contact_ref).map_err(|m| m.join("; "))?;
        let message = pb::GetContactRequest {
            contact_id: known.contact_id.clone(),
        };
        let req = request(&known.tenant, message).map_err(|m| m.join("; "))?;
        let answer = self.clients.contacts.get_contact(req).await.map_err(|s| {
            format!(
                "GetContact for {contact_ref} ({}) failed: {}",
                known.contact_id,
                failed(&s)
            )
        })?;
        answer
            .into_inner()
            .contact
            .ok_or_else(|| format!("GetContact for {contact_ref} answered without a contact"))
    }

    async fn case_of(&mut self, case_of: &Option<String>) -> Result<String, Vec<String>> {
        let Some(contact_ref) = case_of else {
            return Ok(String::new());
        };
        let contact = self
            .now(contact_ref)
            .await
            .map_err(|m| vec![format!("case_of: {m}")])?;
        if contact.case_id.is_empty() {
            return Err(vec![format!("case_of: contact {contact_ref} has no case")]);
        }
        Ok(contact.case_id)
    }

    fn observe_party(&mut self, id: &str) {
        if !id.is_empty() {
            self.seen_parties.insert(id.to_string());
        }
    }

    fn observe_case(&mut self, id: &str) {
        if !id.is_empty() {
            self.seen_cases.insert(id.to_string());
        }
    }

    fn observe_contact(&mut self, contact: &pb::Contact) {
        self.observe_party(&contact.party_id);
        self.observe_case(&contact.case_id);
    }

    fn observe_context(&mut self, context: &pb::Context) {
        if let Some(party) = &context.party {
            self.observe_party(&party.id);
        }
        for case in context.active_cases.iter().chain(context.case.iter()) {
            self.observe_case(&case.id);
        }
    }

    /// Adds the current party and case of every earlier ref to the ids seen, so
    /// that `new` also refuses an id an earlier contact has only since a merge.
    async fn refresh_seen(&mut self) {
        let refs: Vec<String> = self.refs.keys().cloned().collect();
        for contact_ref in refs {
            if let Ok(contact) = self.now(&contact_ref).await {
                self.observe_contact(&contact);
            }
        }
    }
}

#[cfg(test)]
mod runner_tests;
