//! `midoffice.v1.BenchmarkService`: a tenant's figures beside its peer group's, for a
//! period whose group is composed (`docs/benchmark.md`). No personal data.

use crate::auth::Rpc;
use crate::convert::benchmark::{ask, response};
use crate::error::ApiError;
use crate::pb;
use crate::server::AppState;
use chrono::Utc;
use midoffice_domain::Code;
use midoffice_domain::benchmark::{Disclosure, own_view};
use midoffice_store::GroupState;
use std::sync::Arc;
use tonic::{Request, Response, Status};
use tracing::debug;

/// FAILED_PRECONDITION: the tenant does not take part in the benchmark.
pub const NOT_TAKING_PART: &str = "BENCHMARK_NOT_TAKING_PART";
/// FAILED_PRECONDITION: the period's group is not composed yet (the period is not over,
/// or its grace has not passed); the metadata says from when.
pub const NOT_COMPOSED: &str = "BENCHMARK_NOT_COMPOSED";
/// FAILED_PRECONDITION: the period's group was never composed and its window to be
/// composed has passed (`benchmark::compose_deadline`): it never will be.
pub const TOO_LATE: &str = "BENCHMARK_TOO_LATE";
/// FAILED_PRECONDITION: the tenant is not a member of the period's fixed group (it
/// joined later, or asks for another group).
pub const NOT_A_MEMBER: &str = "BENCHMARK_NOT_A_MEMBER";

/// How a deployment runs the benchmark: its disclosure rules and how many days after a
/// period's end its groups are composed (so late registrations are in).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BenchmarkOptions {
    pub disclosure: Disclosure,
    pub grace_days: u32,
}

pub use midoffice_domain::benchmark::DEFAULT_GRACE_DAYS;

impl Default for BenchmarkOptions {
    fn default() -> Self {
        Self {
            disclosure: Disclosure::default(),
            grace_days: DEFAULT_GRACE_DAYS,
        }
    }
}

/// The benchmark for the dashboard credential.
#[derive(Clone, Debug)]
pub struct BenchmarkApi {
    state: Arc<AppState>,
}

impl BenchmarkApi {
    /// The service over shared state.
    pub fn new(state: Arc<AppState>) -> Self {
        Self { state }
    }
}

#[tonic::async_trait]
impl pb::benchmark_service_server::BenchmarkService for BenchmarkApi {
    async fn get_benchmark(
        &self,
        request: Request<pb::GetBenchmarkRequest>,
    ) -> Result<Response<pb::GetBenchmarkResponse>, Status> {
        let call = self.state.access.authorise(&request, Rpc::GetBenchmark)?;
        let tenant = call.tenant;
        let asked = ask(request.get_ref()).map_err(ApiError::from)?;
        let store = &self.state.store;
        let options = self.state.benchmark;
        let taking_part = store
            .figure_settings(&tenant)
            .await
            .map_err(ApiError::from)?
            .benchmark;
        let Some(own_group) = taking_part.taking_part_in().cloned() else {
            return Err(ApiError::Precondition {
                reason: NOT_TAKING_PART,
                field: "period",
                message: "this tenant does not take part in the benchmark: its settings' \
                          benchmark needs opted_in, a size and a peer group"
                    .to_owned(),
            }
            .into());
        };
        let group = asked.peer_group.unwrap_or_else(|| own_group.clone());
        let period = asked.period;
        debug!(tenant = %tenant, group = %group.as_str(), period = %period.key(), "GetBenchmark");
        // Only the tenant's own group may be composed by its call (when due); another
        // group (one it was a member of before) is only read, so no caller composes a
        // group of its choosing, or at a moment of its choosing.
        let state = if group == own_group {
            store
                .compose_benchmark_group(&group, period, Utc::now(), options.grace_days)
                .await
                .map_err(ApiError::from)?
        } else {
            match store
                .benchmark_group(&group, period)
                .await
                .map_err(ApiError::from)?
            {
                Some(c) => GroupState::Composed(c),
                None => {
                    return Err(ApiError::Precondition {
                        reason: NOT_A_MEMBER,
                        field: "peer_group",
                        message: format!(
                            "the group {} of {} is not composed, and this tenant's call \
                             composes only its own group ({})",
                            group.as_str(),
                            period.key(),
                            own_group.as_str()
                        ),
                    }
                    .into());
                }
            }
        };
        let composed = match state {
            GroupState::Composed(c) => c,
            GroupState::NotYet { composable_from } => {
                return Err(ApiError::Precondition {
                    reason: NOT_COMPOSED,
                    field: "period",
                    message: format!(
                        "the group {} of {} is composed from {} on, once the period is \
                         over and late registrations are in",
                        group.as_str(),
                        period.key(),
                        composable_from.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                    ),
                }
                .into());
            }
            GroupState::TooLate { deadline } => {
                return Err(ApiError::Precondition {
                    reason: TOO_LATE,
                    field: "period",
                    message: format!(
                        "the group {} of {} was never composed and no longer will be: a \
                         group-period may be composed until {}, so that it is not filled \
                         with later members",
                        group.as_str(),
                        period.key(),
                        deadline.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                    ),
                }
                .into());
            }
        };
        let me = Code::parse(tenant.as_str()).map_err(ApiError::Internal)?;
        let view = own_view(
            &composed.group,
            &composed.participants,
            &options.disclosure,
            &me,
        )
        .ok_or_else(|| ApiError::Precondition {
            reason: NOT_A_MEMBER,
            field: "peer_group",
            message: format!(
                "this tenant is not a member of the group {} of {}: a group's membership \
                 is taken when the period's group is composed (after the period's end and \
                 the grace) and then fixed: a tenant that joined after that is not in it",
                group.as_str(),
                period.key()
            ),
        })?;
        Ok(Response::new(response(
            &group,
            period,
            composed.composed_at,
            &view,
        )))
    }
}
