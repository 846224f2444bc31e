//! `midoffice.v1.PartyService`: the context without a contact, and erasure on request.

use super::log_context_read;
use crate::auth::Rpc;
use crate::convert::command::{lookup, required_identifiers};
use crate::convert::nested;
use crate::error::ApiError;
use crate::pb;
use crate::server::AppState;
use chrono::Utc;
use std::sync::Arc;
use tonic::{Request, Response, Status};
use tracing::{debug, info};

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
        let call = self.state.access.authorise(&request, Rpc::GetContext)?;
        let tenant = call.tenant;
        let req = request.into_inner();
        let (identifiers, as_of) =
            lookup(&req, &self.state.pseudonymiser, Utc::now()).map_err(ApiError::from)?;
        debug!(tenant = %tenant, "GetContext");
        let context = self
            .state
            .store
            .lookup_context(&tenant, identifiers, as_of)
            .await
            .map_err(ApiError::from)?;
        log_context_read(&tenant, &context, None);
        Ok(Response::new(pb::GetContextResponse {
            context: Some(pb::Context::from(&context)),
        }))
    }

    async fn erase_party(
        &self,
        request: Request<pb::ErasePartyRequest>,
    ) -> Result<Response<pb::ErasePartyResponse>, Status> {
        let call = self.state.access.authorise(&request, Rpc::EraseParty)?;
        let tenant = call.tenant;
        let req = request.into_inner();
        let identifiers = nested(
            "identifiers",
            required_identifiers(req.identifiers.as_ref(), &self.state.pseudonymiser),
        )
        .map_err(ApiError::from)?;
        debug!(tenant = %tenant, "EraseParty");
        let erased = self
            .state
            .store
            .erase_party(&tenant, identifiers)
            .await
            .map_err(ApiError::from)?;
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
