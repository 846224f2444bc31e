//! `midoffice.v1.ContactService`: start, complete, record, read, and the satisfaction
//! answer.

use super::processing_log::caller;
use super::under;
use crate::auth::Rpc;
use crate::convert::command::{feedback, start_command};
use crate::convert::{IdempotentRequest, collect, idempotency, required, required_id};
use crate::error::ApiError;
use crate::pb;
use crate::server::AppState;
use chrono::Utc;
use midoffice_domain::Instant;
use midoffice_domain::command::{CompletionCommand, StartCommand};
use midoffice_domain::{TenantId, Violations};
use midoffice_store::Idempotency;
use std::sync::Arc;
use tonic::{Request, Response, Status};
use tracing::debug;

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

    /// The idempotency key and the start of a request that starts a contact
    /// (StartContact, RecordContact); every invalid field is collected in `v`.
    fn key_and_start<R: IdempotentRequest>(
        &self,
        req: &R,
        start: Option<&pb::ContactStart>,
        now: Instant,
        v: &mut Violations,
    ) -> (Option<Idempotency>, Option<StartCommand>) {
        let pseudonymiser = &self.state.pseudonymiser;
        let idem = collect(v, idempotency(req, pseudonymiser)).flatten();
        let start = collect(
            v,
            required("start", start, |s| start_command(s, pseudonymiser, now)),
        );
        (idem, start)
    }
}

/// A started or recorded contact as answered (the store logged the context shown in the
/// processing log, in the same transaction).
fn shown(
    tenant: &TenantId,
    started: &midoffice_store::Started,
) -> (Option<pb::Contact>, Option<pb::Context>) {
    let contact_id = started.contact.contact.id;
    debug!(tenant = %tenant, %contact_id, "contact started");
    (
        Some(pb::Contact::from(&started.contact)),
        Some(pb::Context::from(&started.context)),
    )
}

#[tonic::async_trait]
impl pb::contact_service_server::ContactService for ContactApi {
    async fn start_contact(
        &self,
        request: Request<pb::StartContactRequest>,
    ) -> Result<Response<pb::StartContactResponse>, Status> {
        let call = self.state.access.authorise(&request, Rpc::StartContact)?;
        let caller = caller(&call);
        let tenant = call.tenant.clone();
        let req = request.into_inner();
        let now = Utc::now();
        let mut v = Violations::default();
        let (idem, start) = self.key_and_start(&req, req.start.as_ref(), now, &mut v);
        let Some(start) = start.filter(|_| v.is_empty()) else {
            return Err(ApiError::from(v).into());
        };
        call.check_channel(start.channel)?;
        debug!(tenant = %tenant, idempotent = idem.is_some(), "StartContact");
        let started = self
            .state
            .store
            .start_contact(&tenant, &caller, start, idem)
            .await
            .map_err(ApiError::from)?;
        let (contact, context) = shown(&tenant, &started);
        Ok(Response::new(pb::StartContactResponse { contact, context }))
    }

    async fn complete_contact(
        &self,
        request: Request<pb::CompleteContactRequest>,
    ) -> Result<Response<pb::CompleteContactResponse>, Status> {
        let call = self
            .state
            .access
            .authorise(&request, Rpc::CompleteContact)?;
        let caller = caller(&call);
        let tenant = call.tenant.clone();
        let channels = call.channels.as_deref();
        let req = request.into_inner();
        let now = Utc::now();
        let contact_id = required_id(&req.contact_id, "contact_id").map_err(ApiError::from)?;
        debug!(tenant = %tenant, %contact_id, "CompleteContact");
        let mut v = Violations::default();
        let idem = collect(&mut v, idempotency(&req, &self.state.pseudonymiser)).flatten();
        let completion = collect(
            &mut v,
            required(
                "completion",
                req.completion.as_ref(),
                CompletionCommand::try_from,
            ),
        );
        // An unknown contact and a second completion are answered before the fields
        // (DOMAIN.md): the domain's completion plan decides that order, so invalid
        // fields go to the store too (without the key, which may be what is invalid),
        // already named as the request names them. A credential limited to some
        // channels completes only their contacts: the store checks the stored contact's
        // channel first, in its transaction (PERMISSION_DENIED `CHANNEL_NOT_GRANTED`).
        let view = match completion.filter(|_| v.is_empty()) {
            Some(completion) => self
                .state
                .store
                .complete_contact_within(
                    &tenant,
                    &caller,
                    contact_id,
                    channels,
                    Ok(completion),
                    idem,
                    now,
                )
                .await
                .map_err(|e| under("completion", e))?,
            None => self
                .state
                .store
                .complete_contact_within(&tenant, &caller, contact_id, channels, Err(v), None, now)
                .await
                .map_err(ApiError::from)?,
        };
        Ok(Response::new(pb::CompleteContactResponse {
            contact: Some(pb::Contact::from(&view)),
        }))
    }

    async fn record_contact(
        &self,
        request: Request<pb::RecordContactRequest>,
    ) -> Result<Response<pb::RecordContactResponse>, Status> {
        let call = self.state.access.authorise(&request, Rpc::RecordContact)?;
        let caller = caller(&call);
        let tenant = call.tenant.clone();
        let req = request.into_inner();
        let now = Utc::now();
        let mut v = Violations::default();
        let (idem, start) = self.key_and_start(&req, req.start.as_ref(), now, &mut v);
        let completion = collect(
            &mut v,
            required(
                "completion",
                req.completion.as_ref(),
                CompletionCommand::try_from,
            ),
        );
        let (Some(start), Some(completion), true) = (start, completion, v.is_empty()) else {
            return Err(ApiError::from(v).into());
        };
        call.check_channel(start.channel)?;
        debug!(tenant = %tenant, idempotent = idem.is_some(), "RecordContact");
        let recorded = self
            .state
            .store
            .record_contact(
                &tenant,
                &caller,
                start,
                completion,
                req.context_seen,
                idem,
                now,
            )
            .await
            .map_err(|e| under("completion", e))?;
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
        let call = self.state.access.authorise(&request, Rpc::GetContact)?;
        let caller = caller(&call);
        let tenant = call.tenant.clone();
        let req = request.into_inner();
        let contact_id = required_id(&req.contact_id, "contact_id").map_err(ApiError::from)?;
        debug!(tenant = %tenant, %contact_id, "GetContact");
        // A credential limited to some channels reads only their contacts; the store
        // checks it with the read, so a refused read is logged as refused.
        let view = self
            .state
            .store
            .get_contact(&tenant, &caller, contact_id, call.channels.as_deref())
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
        let call = self.state.access.authorise(&request, Rpc::SubmitFeedback)?;
        let caller = caller(&call);
        let tenant = call.tenant.clone();
        let req = request.into_inner();
        let mut v = Violations::default();
        let contact_id = collect(&mut v, required_id(&req.contact_id, "contact_id"));
        let idem = collect(&mut v, idempotency(&req, &self.state.pseudonymiser)).flatten();
        let answer = collect(&mut v, feedback(&req));
        let (Some(contact_id), Some(answer), true) = (contact_id, answer, v.is_empty()) else {
            return Err(ApiError::from(v).into());
        };
        debug!(tenant = %tenant, %contact_id, "SubmitFeedback");
        // The domain names the answer's fields as the request does (`score`, `comment`).
        // A credential limited to some channels answers only for their contacts: the
        // store checks the stored contact's channel in its transaction.
        let answer = self
            .state
            .store
            .submit_feedback_within(
                &tenant,
                &caller,
                contact_id,
                call.channels.as_deref(),
                answer,
                idem,
            )
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
