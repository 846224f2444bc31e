//! `midoffice.v1.FigureService`: the thermometer and the dashboard, without personal
//! data.

use crate::auth::Rpc;
use crate::convert::figures::{filter, period, series, step};
use crate::convert::{collect, required, take};
use crate::error::ApiError;
use crate::pb;
use crate::server::AppState;
use chrono::Utc;
use midoffice_domain::Violations;
use midoffice_domain::contact::Channel;
use midoffice_domain::figures::{self, Filter};
use std::sync::Arc;
use tonic::{Request, Response, Status};
use tracing::debug;

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
        let answered = self
            .state
            .store
            .thermometer(&tenant, period, false)
            .await
            .map_err(ApiError::from)?;
        debug!(tenant = %tenant, path = ?answered.path, "GetThermometer answered");
        let mut norms = answered.answer;
        if call.public {
            // Without a dashboard credential: what the tenant publishes, as its public
            // page shows it; a tenant that publishes nothing answers as an unknown one.
            let settings = self
                .state
                .store
                .figure_settings(&tenant)
                .await
                .map_err(ApiError::from)?;
            norms =
                midoffice_domain::figures::shown_publicly(&settings, norms).ok_or_else(|| {
                    ApiError::Unauthenticated {
                        reason: crate::auth::NOT_PUBLISHED,
                        message: "this tenant publishes no thermometer: its figures need a \
                              credential with the dashboard role"
                            .to_owned(),
                    }
                })?;
        }
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
        let filter = collect(&mut v, filter(req.channel, &req.topic, &req.department));
        let (Some(period), Some(filter), true) = (period, filter, v.is_empty()) else {
            return Err(ApiError::from(v).into());
        };
        debug!(tenant = %tenant, from = %period.from, to = %period.to, "GetFigures");
        // Overall and per channel, from one read.
        let filters: Vec<Filter> = std::iter::once(filter.clone())
            .chain(Channel::ALL.into_iter().map(|channel| Filter {
                channel: Some(channel),
                ..filter.clone()
            }))
            .collect();
        let answered = self
            .state
            .store
            .figures(&tenant, period, filters, false)
            .await
            .map_err(ApiError::from)?;
        debug!(tenant = %tenant, path = ?answered.path, "GetFigures answered");
        let mut all = answered.answer.into_iter();
        let overall = all
            .next()
            .ok_or_else(|| ApiError::Internal("figures without the overall figures".into()))?;
        let by_channel: Vec<(Channel, figures::Figures)> =
            Channel::ALL.into_iter().zip(all).collect();
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

    async fn get_figure_series(
        &self,
        request: Request<pb::GetFigureSeriesRequest>,
    ) -> Result<Response<pb::GetFigureSeriesResponse>, Status> {
        let call = self
            .state
            .access
            .authorise(&request, Rpc::GetFigureSeries)?;
        let tenant = call.tenant;
        let req = request.into_inner();
        let now = Utc::now();
        let mut v = Violations::default();
        let period = collect(
            &mut v,
            required("period", req.period.as_ref(), |p| period(p, now)),
        );
        let step = take(step(req.step), "step", &mut v);
        let filter = collect(&mut v, filter(req.channel, &req.topic, &req.department));
        // The number of points is checked only once the period and the step are valid.
        let periods = match (period, step) {
            (Some(period), Some(step)) => collect(&mut v, series(period, step)),
            _ => None,
        };
        let (Some(periods), Some(filter), true) = (periods, filter, v.is_empty()) else {
            return Err(ApiError::from(v).into());
        };
        debug!(tenant = %tenant, points = periods.len(), "GetFigureSeries");
        let answered = self
            .state
            .store
            .figure_series(&tenant, periods, filter, false)
            .await
            .map_err(ApiError::from)?;
        debug!(tenant = %tenant, path = ?answered.path, "GetFigureSeries answered");
        Ok(Response::new(pb::GetFigureSeriesResponse {
            points: answered.answer.iter().map(pb::SeriesPoint::from).collect(),
        }))
    }
}
