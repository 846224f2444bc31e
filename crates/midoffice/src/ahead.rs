//! Dashboard answers computed ahead of any reader (docs/operations/figures.md,
//! "Answers computed ahead"): every day, whole ISO week and calendar month of the last
//! [`KEPT_MONTHS`] months that has ended, the thermometer (when settled) and the
//! figures for no filter, each channel, and each topic and department that had
//! contacts, so that a dashboard view or public page nobody opened before reads kept
//! answers instead of computing them from the sums on its first view.
//!
//! A pass computes only what `figure_answer` does not hold under the current basis:
//! on a store that kept up, the days changed since the last pass (a late recording, an
//! answer to a survey, a case continued), and each new day, week and month.

use chrono::{DateTime, Utc};
use midoffice_domain::TenantId;
use midoffice_domain::contact::Channel;
use midoffice_domain::figures::{Filter, Period};
use midoffice_domain::rollup::{self, KEPT_MONTHS, Step};
use midoffice_store::{Store, StoreError};
use std::time::Duration;
use tracing::info;

/// How often a pass runs after the first.
pub const AHEAD_EVERY: Duration = Duration::from_secs(3600);
/// How many tenants a pass covers (in name order, as the start-up's warm-up).
pub const AHEAD_TENANTS: u64 = 250;
/// How many topics and how many departments per tenant get their own answers.
pub const AHEAD_CODES: u64 = 50;

/// Periods per store call, by step: one read transaction each (about a month of days).
fn chunk(step: Step) -> usize {
    match step {
        Step::Day => 31,
        Step::Week => 5,
        Step::Month => 13,
    }
}

/// What a pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Done {
    pub tenants: usize,
    /// Period answers computed and written (the rest were kept already).
    pub computed: usize,
}

/// Runs [`pass`] now and then every [`AHEAD_EVERY`], until `stop` turns true.
pub async fn run(store: Store, mut stop: tokio::sync::watch::Receiver<bool>) {
    loop {
        if *stop.borrow() {
            break;
        }
        let started = std::time::Instant::now();
        tokio::select! {
            done = pass(&store, Utc::now()) => info!(
                tenants = done.tenants,
                computed = done.computed,
                ms = started.elapsed().as_millis() as u64,
                "dashboard answers computed ahead"
            ),
            _ = stop.changed() => break,
        }
        tokio::select! {
            () = tokio::time::sleep(AHEAD_EVERY) => {}
            _ = stop.changed() => {}
        }
    }
}

/// One pass over the tenants with contacts (at most [`AHEAD_TENANTS`]); a tenant that
/// fails is logged and left for the next pass.
pub async fn pass(store: &Store, now: DateTime<Utc>) -> Done {
    let tenants = match store.figure_tenants(AHEAD_TENANTS).await {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!(error = %e, "cannot list the tenants to compute answers ahead");
            return Done::default();
        }
    };
    let mut done = Done::default();
    for tenant in &tenants {
        match tenant_pass(store, tenant, now).await {
            Ok(n) => {
                done.tenants += 1;
                done.computed += n;
            }
            Err(e) => tracing::warn!(
                tenant = %tenant,
                error = %e,
                "dashboard answers not computed ahead; tried again at the next pass"
            ),
        }
    }
    done
}

/// The filters a tenant's answers are computed ahead for: none, each channel, and each
/// topic and department of its contacts in the months kept.
async fn filters(
    store: &Store,
    tenant: &TenantId,
    kept: &[(Step, Vec<Period>)],
) -> Result<Vec<Filter>, StoreError> {
    let mut out = vec![Filter::default()];
    out.extend(Channel::ALL.iter().map(|c| Filter {
        channel: Some(*c),
        ..Filter::default()
    }));
    let all = kept.iter().flat_map(|(_, p)| p);
    let (Some(first), Some(last)) = (all.clone().map(|p| p.from).min(), all.map(|p| p.to).max())
    else {
        return Ok(out);
    };
    let months = rollup::month_number(first)..rollup::month_number(last) + 1;
    let (topics, departments) = store.figure_codes(tenant, months, AHEAD_CODES).await?;
    out.extend(topics.into_iter().map(|t| Filter {
        topic: Some(t),
        ..Filter::default()
    }));
    out.extend(departments.into_iter().map(|d| Filter {
        department: Some(d),
        ..Filter::default()
    }));
    Ok(out)
}

/// A tenant's pass: the newest periods first, as a restarted reader most likely asks
/// them. How many answers were computed.
pub async fn tenant_pass(
    store: &Store,
    tenant: &TenantId,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let settings = store.figure_settings(tenant).await?;
    let today = settings.calendar.local_date(now);
    let kept = rollup::kept_periods(today, KEPT_MONTHS, now);
    let mut computed = 0;
    // The thermometers first: the dashboard's norms and the public page read them.
    for (step, periods) in &kept {
        for part in periods.rchunks(chunk(*step)) {
            computed += store.keep_thermometers(tenant, part).await?;
        }
    }
    for filter in filters(store, tenant, &kept).await? {
        for (step, periods) in &kept {
            for part in periods.rchunks(chunk(*step)) {
                computed += store.keep_figure_series(tenant, part, &filter).await?;
            }
        }
    }
    Ok(computed)
}
