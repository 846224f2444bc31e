//! `midoffice.v1.FigureService`: the thermometer and the dashboard, without personal
//! data.

use crate::auth::Rpc;
use crate::convert::figures::{filter, period};
use crate::convert::{collect, required};
use crate::error::ApiError;
use crate::pb;
use crate::server::AppState;
use chrono::Utc;
use midoffice_domain::contact::Channel;
use midoffice_domain::figures::{self, FigureFacts, Filter, Period};
use midoffice_domain::settings::TenantSettings;
use midoffice_domain::{TenantId, Violations};
use std::sync::Arc;
use tonic::{Request, Response, Status};
use tracing::debug;

/// Runs a pure computation off the async workers: figures over a long period are CPU work.
async fn compute<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::Internal(format!("figure computation failed: {e}")))
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
        let settings = self.state.store.figure_settings(tenant).await?;
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
        let call = self.state.access.authorise(&request, Rpc::GetThermometer)?;
        let tenant = call.tenant;
        let req = request.into_inner();
        let now = Utc::now();
        let period =
            required("period", req.period.as_ref(), |p| period(p, now)).map_err(ApiError::from)?;
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
        let call = self.state.access.authorise(&request, Rpc::GetFigures)?;
        let tenant = call.tenant;
        let req = request.into_inner();
        let now = Utc::now();
        let mut v = Violations::default();
        let period = collect(
            &mut v,
            required("period", req.period.as_ref(), |p| period(p, now)),
        );
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
