//! `midoffice.v1.PartyService`: the context without a contact, and erasure on request.

use super::processing_log::caller;
use crate::auth::Rpc;
use crate::convert::command::{lookup, required_identifiers};
use crate::convert::nested;
use crate::convert::page::{contact_query, next_token};
use crate::error::ApiError;
use crate::pb;
use crate::server::AppState;
use chrono::Utc;
use midoffice_domain::{DomainError, Missing};
use std::sync::Arc;
use tonic::{Request, Response, Status};
use tracing::debug;

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
        let caller = caller(&call);
        let tenant = call.tenant;
        let req = request.into_inner();
        let (identifiers, as_of) =
            lookup(&req, &self.state.pseudonymiser, Utc::now()).map_err(ApiError::from)?;
        debug!(tenant = %tenant, "GetContext");
        let context = self
            .state
            .store
            .lookup_context(&tenant, &caller, identifiers, as_of)
            .await
            .map_err(ApiError::from)?;
        Ok(Response::new(pb::GetContextResponse {
            context: Some(pb::Context::from(&context)),
        }))
    }

    async fn list_party_contacts(
        &self,
        request: Request<pb::ListPartyContactsRequest>,
    ) -> Result<Response<pb::ListPartyContactsResponse>, Status> {
        let call = self
            .state
            .access
            .authorise(&request, Rpc::ListPartyContacts)?;
        let caller = caller(&call);
        let tenant = call.tenant;
        let req = request.into_inner();
        let query =
            contact_query(&req, &tenant, &self.state.pseudonymiser).map_err(ApiError::from)?;
        debug!(tenant = %tenant, size = query.size, "ListPartyContacts");
        let page = self
            .state
            .store
            .list_party_contacts(
                &tenant,
                &caller,
                query.party.clone(),
                query.case_id,
                query.after,
                query.size,
                Utc::now(),
            )
            .await
            .map_err(|e| match ApiError::from(e) {
                ApiError::Domain(error @ DomainError::NotFound(Missing::Case)) => {
                    ApiError::RefusedAt {
                        error,
                        field: "case_id",
                    }
                }
                other => other,
            })?;
        let next_page_token = page
            .next
            .map(|cursor| {
                next_token(
                    &cursor,
                    &tenant,
                    &query.party,
                    query.case_id,
                    &self.state.pseudonymiser,
                )
            })
            .unwrap_or_default();
        Ok(Response::new(pb::ListPartyContactsResponse {
            party: Some(pb::Party::from(&page.party)),
            contacts: page.contacts.iter().map(pb::Contact::from).collect(),
            next_page_token,
        }))
    }

    async fn erase_party(
        &self,
        request: Request<pb::ErasePartyRequest>,
    ) -> Result<Response<pb::ErasePartyResponse>, Status> {
        let call = self.state.access.authorise(&request, Rpc::EraseParty)?;
        let caller = caller(&call);
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
            .erase_party(&tenant, &caller, identifiers)
            .await
            .map_err(ApiError::from)?;
        Ok(Response::new(pb::ErasePartyResponse {
            party_id: erased.party_id.to_string(),
            contacts_erased: erased.contacts_erased,
        }))
    }
}
