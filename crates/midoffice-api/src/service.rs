//! The gRPC services: each call reads its tenant, converts and validates the request,
//! asks the store, and converts the answer back.
//!
//! Every invalid field is answered with INVALID_ARGUMENT and a field violation; nothing
//! on a request path unwraps. Requests are logged at debug with the tenant and ids only:
//! never an identifier, a story or a comment.

use crate::convert::command::{end_command, feedback, lookup, required_identifiers, start_command};
use crate::convert::figures::{filter, period};
use crate::convert::{idempotency, required_id};
use crate::error::ApiError;
use crate::pb;
use crate::server::AppState;
use crate::tenant::tenant_of;
use chrono::Utc;
use midoffice_domain::contact::Channel;
use midoffice_domain::figures::{self, FigureFacts, Filter, Period};
use midoffice_domain::settings::TenantSettings;
use midoffice_domain::view::ContextView;
use midoffice_domain::{DomainError, TenantId, Violations};
use midoffice_store::StoreError;
use std::sync::Arc;
use tonic::{Request, Response, Status};
use tracing::{debug, info};
use uuid::Uuid;

/// The fields of a contact's start, as the store may name them without a prefix.
const START_FIELDS: &[&str] = &[
    "channel",
    "direction",
    "started_at",
    "identifiers",
    "case_id",
    "case_reference",
];
/// The fields of a contact's end, as `validate_completion` names them (relative to the end).
const END_FIELDS: &[&str] = &[
    "ended_at",
    "answered_at",
    "outcome",
    "story",
    "department",
    "topic",
    "referred_to",
    "due_at",
    "story_repeated",
];

/// Which message of a request the store's unprefixed field names belong to.
#[derive(Clone, Copy)]
enum Fields {
    Start,
    End,
    StartAndEnd,
}

/// Gives the store's field violations their full path in the request (`end.answered_at`
/// rather than `answered_at`), whichever way the store names them.
fn qualify(e: StoreError, fields: Fields) -> ApiError {
    let StoreError::Domain(DomainError::Invalid(v)) = e else {
        return ApiError::from(e);
    };
    let qualified =
        v.0.into_iter()
            .map(|mut f| {
                let root = f.field.split(['.', '[']).next().unwrap_or_default();
                let in_start = START_FIELDS.contains(&root);
                let in_end = END_FIELDS.contains(&root);
                let prefix = match fields {
                    Fields::Start if in_start || in_end => Some("start"),
                    Fields::End if in_end => Some("end"),
                    Fields::StartAndEnd if in_end => Some("end"),
                    Fields::StartAndEnd if in_start => Some("start"),
                    _ => None,
                };
                if let Some(prefix) = prefix {
                    f.field = format!("{prefix}.{}", f.field);
                }
                f
            })
            .collect();
    ApiError::from(Violations(qualified))
}

/// Puts every field under `prefix` unless it is there already (the store may name
/// fields either way).
fn under(prefix: &str, v: Violations) -> Violations {
    let dotted = format!("{prefix}.");
    Violations(
        v.0.into_iter()
            .map(|mut f| {
                if f.field != prefix && !f.field.starts_with(&dotted) {
                    f.field = format!("{dotted}{}", f.field);
                }
                f
            })
            .collect(),
    )
}

/// Adds the violations of `r` to `v`; the value when there were none.
fn collect<T>(v: &mut Violations, r: Result<T, Violations>) -> Option<T> {
    match r {
        Ok(t) => Some(t),
        Err(e) => {
            v.0.extend(e.0);
            None
        }
    }
}

/// A started or recorded contact as answered: the context shown to the agent is a
/// processing of personal data, so it is logged.
fn shown(
    tenant: &TenantId,
    started: &midoffice_store::Started,
) -> (Option<pb::Contact>, Option<pb::Context>) {
    let contact_id = started.contact.contact.id;
    debug!(tenant = %tenant, %contact_id, "contact started");
    log_context_read(tenant, &started.context, Some(contact_id));
    (
        Some(pb::Contact::from(&started.contact)),
        Some(pb::Context::from(&started.context)),
    )
}

/// Records the reading of a party's context: a processing of personal data (DOMAIN.md
/// "Privacy"), in the shape of the Logboek Dataverwerkingen. Only ids, never identifiers.
fn log_context_read(tenant: &TenantId, context: &ContextView, contact_id: Option<Uuid>) {
    if let Some(party_id) = context.party.id {
        info!(
            target: "midoffice::dataverwerking",
            tenant = %tenant,
            activity = "klantbeeld-raadplegen",
            data_subject = %party_id,
            contact_id = %contact_id.map(|c| c.to_string()).unwrap_or_default(),
            "context read"
        );
    }
}

/// Runs a pure computation off the async workers: figures over a long period are CPU work.
async fn compute<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::Internal(format!("figure computation failed: {e}")))
}

/// Contacts: start, complete, record, read, and the satisfaction answer.
#[derive(Clone, Debug)]
pub struct ContactApi {
    state: Arc<AppState>,
}

impl ContactApi {
    /// The service over shared state.
    pub fn new(state: Arc<AppState>) -> Self {
        Self { state }
    }
}

#[tonic::async_trait]
impl pb::contact_service_server::ContactService for ContactApi {
    async fn start_contact(
        &self,
        request: Request<pb::StartContactRequest>,
    ) -> Result<Response<pb::StartContactResponse>, Status> {
        let tenant = tenant_of(request.metadata())?;
        let req = request.into_inner();
        let now = Utc::now();
        let mut v = Violations::default();
        let idem = collect(&mut v, idempotency(&req, &self.state.pseudonymiser)).flatten();
        let start = collect(
            &mut v,
            start_command(req.start.as_ref(), "start", &self.state.pseudonymiser, now),
        );
        let Some(start) = start.filter(|_| v.is_empty()) else {
            return Err(ApiError::from(v).into());
        };
        debug!(tenant = %tenant, idempotent = idem.is_some(), "StartContact");
        let started = self
            .state
            .store
            .start_contact(&tenant, start, idem)
            .await
            .map_err(|e| qualify(e, Fields::Start))?;
        let (contact, context) = shown(&tenant, &started);
        Ok(Response::new(pb::StartContactResponse { contact, context }))
    }

    async fn complete_contact(
        &self,
        request: Request<pb::CompleteContactRequest>,
    ) -> Result<Response<pb::CompleteContactResponse>, Status> {
        let tenant = tenant_of(request.metadata())?;
        let req = request.into_inner();
        let now = Utc::now();
        let contact_id = required_id(&req.contact_id, "contact_id").map_err(ApiError::from)?;
        debug!(tenant = %tenant, %contact_id, "CompleteContact");
        let mut v = Violations::default();
        let idem = collect(&mut v, idempotency(&req, &self.state.pseudonymiser)).flatten();
        let end = collect(&mut v, end_command(req.end.as_ref(), "end"));
        // An unknown contact and a second completion are answered before the fields
        // (DOMAIN.md): the domain's completion plan decides that order, so invalid
        // fields go to the store too (without the key, which may be what is invalid).
        let (completion, idem) = match end.filter(|_| v.is_empty()) {
            Some(end) => (Ok(end), idem),
            None => (Err(v), None),
        };
        let view = self
            .state
            .store
            .complete_contact(&tenant, contact_id, completion, idem, now)
            .await
            .map_err(|e| qualify(e, Fields::End))?;
        Ok(Response::new(pb::CompleteContactResponse {
            contact: Some(pb::Contact::from(&view)),
        }))
    }

    async fn record_contact(
        &self,
        request: Request<pb::RecordContactRequest>,
    ) -> Result<Response<pb::RecordContactResponse>, Status> {
        let tenant = tenant_of(request.metadata())?;
        let req = request.into_inner();
        let now = Utc::now();
        let mut v = Violations::default();
        let idem = collect(&mut v, idempotency(&req, &self.state.pseudonymiser)).flatten();
        let start = collect(
            &mut v,
            start_command(req.start.as_ref(), "start", &self.state.pseudonymiser, now),
        );
        let end = collect(&mut v, end_command(req.end.as_ref(), "end"));
        let (Some(start), Some(end), true) = (start, end, v.is_empty()) else {
            return Err(ApiError::from(v).into());
        };
        debug!(tenant = %tenant, idempotent = idem.is_some(), "RecordContact");
        let recorded = self
            .state
            .store
            .record_contact(&tenant, start, end, req.context_seen, idem, now)
            .await
            .map_err(|e| qualify(e, Fields::StartAndEnd))?;
        let (contact, context) = shown(&tenant, &recorded);
        Ok(Response::new(pb::RecordContactResponse {
            contact,
            context,
        }))
    }

    async fn get_contact(
        &self,
        request: Request<pb::GetContactRequest>,
    ) -> Result<Response<pb::GetContactResponse>, Status> {
        let tenant = tenant_of(request.metadata())?;
        let req = request.into_inner();
        let contact_id = required_id(&req.contact_id, "contact_id").map_err(ApiError::from)?;
        debug!(tenant = %tenant, %contact_id, "GetContact");
        let view = self
            .state
            .store
            .get_contact(&tenant, contact_id)
            .await
            .map_err(ApiError::from)?;
        Ok(Response::new(pb::GetContactResponse {
            contact: Some(pb::Contact::from(&view)),
        }))
    }

    async fn submit_feedback(
        &self,
        request: Request<pb::SubmitFeedbackRequest>,
    ) -> Result<Response<pb::SubmitFeedbackResponse>, Status> {
        let tenant = tenant_of(request.metadata())?;
        let req = request.into_inner();
        let mut v = Violations::default();
        let contact_id = collect(&mut v, required_id(&req.contact_id, "contact_id"));
        let idem = collect(&mut v, idempotency(&req, &self.state.pseudonymiser)).flatten();
        let answer = collect(&mut v, feedback(&req));
        let (Some(contact_id), Some(answer), true) = (contact_id, answer, v.is_empty()) else {
            return Err(ApiError::from(v).into());
        };
        debug!(tenant = %tenant, %contact_id, "SubmitFeedback");
        let answer = self
            .state
            .store
            .submit_feedback(&tenant, contact_id, answer, idem)
            .await
            .map_err(ApiError::from)?;
        Ok(Response::new(pb::SubmitFeedbackResponse {
            contact_id: contact_id.to_string(),
            score: u32::from(answer.score),
            effort: u32::from(answer.effort),
            story_repeated: answer.story_repeated,
        }))
    }
}

/// Parties: the context without a contact, and erasure on request.
#[derive(Clone, Debug)]
pub struct PartyApi {
    state: Arc<AppState>,
}

impl PartyApi {
    /// The service over shared state.
    pub fn new(state: Arc<AppState>) -> Self {
        Self { state }
    }
}

#[tonic::async_trait]
impl pb::party_service_server::PartyService for PartyApi {
    async fn get_context(
        &self,
        request: Request<pb::GetContextRequest>,
    ) -> Result<Response<pb::GetContextResponse>, Status> {
        let tenant = tenant_of(request.metadata())?;
        let req = request.into_inner();
        let (identifiers, as_of) =
            lookup(&req, &self.state.pseudonymiser, Utc::now()).map_err(ApiError::from)?;
        debug!(tenant = %tenant, "GetContext");
        let context = self
            .state
            .store
            .lookup_context(&tenant, identifiers, as_of)
            .await
            .map_err(qualify_identifiers)?;
        log_context_read(&tenant, &context, None);
        Ok(Response::new(pb::GetContextResponse {
            context: Some(pb::Context::from(&context)),
        }))
    }

    async fn erase_party(
        &self,
        request: Request<pb::ErasePartyRequest>,
    ) -> Result<Response<pb::ErasePartyResponse>, Status> {
        let tenant = tenant_of(request.metadata())?;
        let req = request.into_inner();
        let identifiers = required_identifiers(
            req.identifiers.as_ref(),
            "identifiers",
            &self.state.pseudonymiser,
        )
        .map_err(ApiError::from)?;
        debug!(tenant = %tenant, "EraseParty");
        let erased = self
            .state
            .store
            .erase_party(&tenant, identifiers)
            .await
            .map_err(qualify_identifiers)?;
        info!(
            target: "midoffice::dataverwerking",
            tenant = %tenant,
            activity = "partij-wissen",
            data_subject = %erased.party_id,
            contacts_erased = erased.contacts_erased,
            "party erased"
        );
        Ok(Response::new(pb::ErasePartyResponse {
            party_id: erased.party_id.to_string(),
            contacts_erased: erased.contacts_erased,
        }))
    }
}

/// Identifier violations from the store (`bsn`) get their request path (`identifiers.bsn`).
fn qualify_identifiers(e: StoreError) -> ApiError {
    let StoreError::Domain(DomainError::Invalid(v)) = e else {
        return ApiError::from(e);
    };
    let qualified =
        v.0.into_iter()
            .map(|mut f| {
                if ["bsn", "kvk", "email", "phone"].contains(&f.field.as_str()) {
                    f.field = format!("identifiers.{}", f.field);
                }
                f
            })
            .collect();
    ApiError::from(Violations(qualified))
}

/// Tenant settings: norms with explanations, calendar and windows.
#[derive(Clone, Debug)]
pub struct TenantApi {
    state: Arc<AppState>,
}

impl TenantApi {
    /// The service over shared state.
    pub fn new(state: Arc<AppState>) -> Self {
        Self { state }
    }
}

#[tonic::async_trait]
impl pb::tenant_service_server::TenantService for TenantApi {
    async fn get_tenant_settings(
        &self,
        request: Request<pb::GetTenantSettingsRequest>,
    ) -> Result<Response<pb::GetTenantSettingsResponse>, Status> {
        let tenant = tenant_of(request.metadata())?;
        debug!(tenant = %tenant, "GetTenantSettings");
        let settings = self
            .state
            .store
            .settings(&tenant)
            .await
            .map_err(ApiError::from)?;
        Ok(Response::new(pb::GetTenantSettingsResponse {
            settings: Some(pb::TenantSettings::from(&settings)),
        }))
    }

    async fn replace_tenant_settings(
        &self,
        request: Request<pb::ReplaceTenantSettingsRequest>,
    ) -> Result<Response<pb::ReplaceTenantSettingsResponse>, Status> {
        let tenant = tenant_of(request.metadata())?;
        let req = request.into_inner();
        let Some(proto) = req.settings.as_ref() else {
            return Err(ApiError::invalid("settings", "is required").into());
        };
        let settings =
            TenantSettings::try_from(proto).map_err(|v| ApiError::from(v.prefixed("settings")))?;
        debug!(tenant = %tenant, norms = settings.norms.len(), "ReplaceTenantSettings");
        let stored = self
            .state
            .store
            .replace_settings(&tenant, settings)
            .await
            .map_err(|e| match e {
                StoreError::Domain(DomainError::Invalid(v)) => ApiError::from(under("settings", v)),
                other => ApiError::from(other),
            })?;
        info!(tenant = %tenant, norms = stored.norms.len(), "tenant settings replaced");
        Ok(Response::new(pb::ReplaceTenantSettingsResponse {
            settings: Some(pb::TenantSettings::from(&stored)),
        }))
    }
}

/// Figures without personal data: the thermometer and the dashboard.
#[derive(Clone, Debug)]
pub struct FigureApi {
    state: Arc<AppState>,
}

impl FigureApi {
    /// The service over shared state.
    pub fn new(state: Arc<AppState>) -> Self {
        Self { state }
    }

    /// The tenant's settings and the facts of a period.
    async fn facts(
        &self,
        tenant: &TenantId,
        period: &Period,
    ) -> Result<(TenantSettings, FigureFacts), ApiError> {
        let settings = self.state.store.settings(tenant).await?;
        let window = figures::load_window(period, &settings);
        let facts = self.state.store.figure_facts(tenant, window).await?;
        Ok((settings, facts))
    }
}

#[tonic::async_trait]
impl pb::figure_service_server::FigureService for FigureApi {
    async fn get_thermometer(
        &self,
        request: Request<pb::GetThermometerRequest>,
    ) -> Result<Response<pb::GetThermometerResponse>, Status> {
        let tenant = tenant_of(request.metadata())?;
        let req = request.into_inner();
        let period = period(req.period.as_ref(), Utc::now()).map_err(ApiError::from)?;
        debug!(tenant = %tenant, from = %period.from, to = %period.to, "GetThermometer");
        let (settings, facts) = self.facts(&tenant, &period).await?;
        let norms = compute(move || figures::thermometer(&facts, &period, &settings)).await?;
        Ok(Response::new(pb::GetThermometerResponse {
            norms: norms.iter().map(pb::NormResult::from).collect(),
        }))
    }

    async fn get_figures(
        &self,
        request: Request<pb::GetFiguresRequest>,
    ) -> Result<Response<pb::GetFiguresResponse>, Status> {
        let tenant = tenant_of(request.metadata())?;
        let req = request.into_inner();
        let mut v = Violations::default();
        let period = collect(&mut v, period(req.period.as_ref(), Utc::now()));
        let filter = collect(&mut v, filter(&req));
        let (Some(period), Some(filter), true) = (period, filter, v.is_empty()) else {
            return Err(ApiError::from(v).into());
        };
        debug!(tenant = %tenant, from = %period.from, to = %period.to, "GetFigures");
        let (settings, facts) = self.facts(&tenant, &period).await?;
        let (overall, by_channel) = compute(move || {
            let overall = figures::figures(&facts, &period, &filter, &settings);
            let by_channel: Vec<(Channel, figures::Figures)> = Channel::ALL
                .into_iter()
                .map(|channel| {
                    let per_channel = Filter {
                        channel: Some(channel),
                        ..filter.clone()
                    };
                    (
                        channel,
                        figures::figures(&facts, &period, &per_channel, &settings),
                    )
                })
                .collect();
            (overall, by_channel)
        })
        .await?;
        Ok(Response::new(pb::GetFiguresResponse {
            figures: Some(pb::Figures::from(&overall)),
            by_channel: by_channel
                .iter()
                .map(|(channel, f)| pb::ChannelFigures {
                    channel: pb::Channel::from(*channel) as i32,
                    figures: Some(pb::Figures::from(f)),
                })
                .collect(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(e: ApiError) -> Vec<String> {
        match e {
            ApiError::Domain(DomainError::Invalid(v)) => v.0.into_iter().map(|f| f.field).collect(),
            other => panic!("not invalid: {other:?}"),
        }
    }

    fn store_invalid(names: &[&str]) -> StoreError {
        let mut v = Violations::default();
        for n in names {
            v.add(*n, "why");
        }
        StoreError::Domain(DomainError::Invalid(v))
    }

    #[test]
    fn store_violations_get_their_request_path() {
        let names = [
            "answered_at",
            "referred_to.organisation",
            "end.topic",
            "request_id",
            "case_id",
        ];
        assert_eq!(
            fields(qualify(store_invalid(&names), Fields::End)),
            [
                "end.answered_at",
                "end.referred_to.organisation",
                "end.topic",
                "request_id",
                "case_id"
            ]
        );
        assert_eq!(
            fields(qualify(store_invalid(&names), Fields::StartAndEnd)),
            [
                "end.answered_at",
                "end.referred_to.organisation",
                "end.topic",
                "request_id",
                "start.case_id"
            ]
        );
        assert_eq!(
            fields(qualify(store_invalid(&["topic", "case_id"]), Fields::Start)),
            ["start.topic", "start.case_id"]
        );
        assert_eq!(
            fields(qualify_identifiers(store_invalid(&["bsn"]))),
            ["identifiers.bsn"]
        );
    }

    #[test]
    fn settings_fields_are_prefixed_once() {
        let mut v = Violations::default();
        v.add("settings.norms[0].id", "why");
        v.add("repeat_window", "why");
        let fields: Vec<String> = under("settings", v)
            .0
            .into_iter()
            .map(|f| f.field)
            .collect();
        assert_eq!(fields, ["settings.norms[0].id", "settings.repeat_window"]);
    }

    #[test]
    fn other_store_errors_pass_unchanged() {
        let e = qualify(
            StoreError::Domain(DomainError::NotFound("contact".into())),
            Fields::End,
        );
        assert!(matches!(e, ApiError::Domain(DomainError::NotFound(_))));
    }
}
