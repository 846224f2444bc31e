//! `midoffice.v1.TenantService`: norms with explanations, calendar and windows.

use crate::auth::Rpc;
use crate::convert::required;
use crate::error::ApiError;
use crate::pb;
use crate::server::AppState;
use midoffice_domain::settings::TenantSettings;
use std::sync::Arc;
use tonic::{Request, Response, Status};
use tracing::{debug, info};

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
        let call = self
            .state
            .access
            .authorise(&request, Rpc::GetTenantSettings)?;
        let tenant = call.tenant;
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
        let call = self
            .state
            .access
            .authorise(&request, Rpc::ReplaceTenantSettings)?;
        let tenant = call.tenant;
        let req = request.into_inner();
        // Converted and validated once, here (`TenantSettings::validate` runs inside
        // the conversion); the store keeps what it is given.
        let settings = required("settings", req.settings.as_ref(), TenantSettings::try_from)
            .map_err(ApiError::from)?;
        debug!(tenant = %tenant, norms = settings.norms.len(), "ReplaceTenantSettings");
        let stored = self
            .state
            .store
            .replace_settings(&tenant, settings)
            .await
            .map_err(ApiError::from)?;
        info!(tenant = %tenant, norms = stored.norms.len(), "tenant settings replaced");
        // Figures come from the facts until the rollups are rebuilt with these settings.
        let store = self.state.store.clone();
        tokio::spawn(async move {
            match store.rebuild_stale_figures(&tenant).await {
                Ok(current) => info!(tenant = %tenant, current, "figure rollups rebuilt"),
                Err(e) => {
                    tracing::warn!(tenant = %tenant, error = %e, "figure rollups not rebuilt")
                }
            }
        });
        Ok(Response::new(pb::ReplaceTenantSettingsResponse {
            settings: Some(pb::TenantSettings::from(&stored)),
        }))
    }
}
