//! `midoffice.v1.CommitmentService`: the worklist of open callbacks and hand-offs.

use super::processing_log::caller;
use crate::auth::Rpc;
use crate::convert::page::{commitment_query, next_commitment_token};
use crate::convert::timestamp;
use crate::error::ApiError;
use crate::pb;
use crate::server::AppState;
use chrono::Utc;
use std::sync::Arc;
use tonic::{Request, Response, Status};
use tracing::debug;

/// Commitments: the back office's worklist.
#[derive(Clone, Debug)]
pub struct CommitmentApi {
    state: Arc<AppState>,
}

impl CommitmentApi {
    /// The service over shared state.
    pub fn new(state: Arc<AppState>) -> Self {
        Self { state }
    }
}

#[tonic::async_trait]
impl pb::commitment_service_server::CommitmentService for CommitmentApi {
    async fn list_commitments(
        &self,
        request: Request<pb::ListCommitmentsRequest>,
    ) -> Result<Response<pb::ListCommitmentsResponse>, Status> {
        let call = self
            .state
            .access
            .authorise(&request, Rpc::ListCommitments)?;
        let caller = caller(&call);
        let tenant = call.tenant;
        let req = request.into_inner();
        let query =
            commitment_query(&req, &tenant, &self.state.pseudonymiser).map_err(ApiError::from)?;
        debug!(tenant = %tenant, size = query.size, "ListCommitments");
        let page = self
            .state
            .store
            .list_commitments(
                &tenant,
                &caller,
                query.department.as_ref(),
                query.after,
                query.size,
                Utc::now(),
            )
            .await
            .map_err(ApiError::from)?;
        let next_page_token = page
            .next
            .map(|cursor| {
                next_commitment_token(
                    &cursor,
                    &tenant,
                    query.department.as_ref(),
                    &self.state.pseudonymiser,
                )
            })
            .unwrap_or_default();
        Ok(Response::new(pb::ListCommitmentsResponse {
            commitments: page.items.iter().map(pb::WorklistItem::from).collect(),
            next_page_token,
            as_of: Some(timestamp(page.as_of)),
        }))
    }
}
