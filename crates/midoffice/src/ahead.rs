//! Dashboard answers computed ahead of any reader (docs/operations/figures.md,
//! "Answers computed ahead"): every day, ISO week (and parts of weeks) and calendar
//! month of the last [`rollup::KEPT_MONTHS`] months (fewer when the tenant's retention keeps
//! less) that has ended, the thermometer (when settled) and the
//! figures for no filter, each channel, and each topic and department that had
//! contacts (alone and with each channel), so that a dashboard view or public page nobody opened before reads kept
//! answers instead of computing them from the sums on its first view.
//!
//! A pass computes only what `figure_answer` does not hold under the current basis:
//! on a store that kept up, the days changed since the last pass (a late recording, an
//! answer to a survey, a case continued), and each new day, week and month.

use chrono::{DateTime, Utc};
use midoffice_domain::TenantId;
use midoffice_domain::contact::Channel;
use midoffice_domain::figures::{Filter, Period};
use midoffice_domain::rollup::{self, Step, WeekParts};
use midoffice_store::{Store, StoreError};
use std::time::Duration;
use tracing::info;

/// How often a pass runs after the first.
pub const AHEAD_EVERY: Duration = Duration::from_secs(3600);
/// How many tenants a pass covers (in name order, as the start-up's warm-up).
pub const AHEAD_TENANTS: u64 = 250;
/// How many topics and how many departments per tenant get their own answers.
pub const AHEAD_CODES: u64 = 50;

/// The days one store call's periods span at most (one read transaction each), except
/// a month's or several months' periods, which read month rows.
const CHUNK_DAYS: i64 = 35;

/// The periods of one step (in order of their first day) in runs for one store call
/// each, the newest first: a run spans at most [`CHUNK_DAYS`] days, or is the months.
fn runs(step: Step, periods: &[Period]) -> Vec<&[Period]> {
    if periods.is_empty() {
        return Vec::new();
    }
    if step == Step::Month {
        return vec![periods];
    }
    let mut out = Vec::new();
    let mut end = periods.len();
    while end > 0 {
        let last = periods[end - 1].to;
        let mut start = end - 1;
        while start > 0 && (last - periods[start - 1].from).num_days() <= CHUNK_DAYS {
            start -= 1;
        }
        out.push(&periods[start..end]);
        end = start;
    }
    out
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
/// topic and department of its contacts in the months kept, alone and with each
/// channel (the dashboard's series of a topic or department).
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
    let codes = topics
        .into_iter()
        .map(|t| Filter {
            topic: Some(t),
            ..Filter::default()
        })
        .chain(departments.into_iter().map(|d| Filter {
            department: Some(d),
            ..Filter::default()
        }));
    // The dashboard filtered by a topic or department shows it per channel too.
    for code in codes {
        out.extend(Channel::ALL.iter().map(|c| Filter {
            channel: Some(*c),
            ..code.clone()
        }));
        out.push(code);
    }
    Ok(out)
}

/// A tenant's pass: the newest periods first, as a restarted reader most likely asks
/// them. How many answers were computed. Each store call takes the moment it is made
/// as `as_of` (the rollups answer only an `as_of` after every stored event, and the
/// tenant takes contacts while the pass runs); a call that fails is logged and the
/// pass goes on with the next.
pub async fn tenant_pass(
    store: &Store,
    tenant: &TenantId,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let settings = store.figure_settings(tenant).await?;
    let today = settings.calendar.local_date(now);
    let months = rollup::kept_months(settings.retention_months);
    // Every part of every week for the views with no filter or a channel (the
    // dashboard's five series, its norms), the parts at months for the others.
    let every = rollup::kept_periods(today, months, now, WeekParts::Every);
    let at_months = rollup::kept_periods(today, months, now, WeekParts::AtMonths);
    let mut done = TenantDone::default();
    // The thermometers first: the dashboard's norms and the public page read them.
    for (step, periods) in &every {
        for run in runs(*step, periods) {
            if done.given_up() {
                break;
            }
            let run = at_now(run);
            done.add(store.keep_thermometers(tenant, &run).await);
        }
    }
    for filter in filters(store, tenant, &at_months).await? {
        let kept = if filter.topic.is_none() && filter.department.is_none() {
            &every
        } else {
            &at_months
        };
        for (step, periods) in kept {
            for run in runs(*step, periods) {
                if done.given_up() {
                    break;
                }
                let run = at_now(run);
                done.add(store.keep_figure_series(tenant, &run, &filter).await);
            }
        }
    }
    if done.not_answered > 0 || done.failed > 0 {
        tracing::warn!(
            tenant = %tenant,
            calls = done.calls,
            not_answered = done.not_answered,
            failed = done.failed,
            error = done.error.as_deref().unwrap_or(""),
            "some dashboard answers were not computed ahead (settings being rebuilt, \
             events ahead of the clock, or errors); tried again at the next pass"
        );
    }
    Ok(done.computed)
}

/// The periods of a run as known now.
fn at_now(run: &[Period]) -> Vec<Period> {
    let as_of = Utc::now();
    run.iter().map(|p| Period { as_of, ..*p }).collect()
}

/// What a tenant's store calls did.
#[derive(Default)]
struct TenantDone {
    calls: usize,
    computed: usize,
    /// Calls the rollups did not answer.
    not_answered: usize,
    failed: usize,
    /// Failed calls since the last that did not fail.
    failed_in_a_row: usize,
    /// The first error.
    error: Option<String>,
}

/// Failed calls in a row after which a tenant's pass gives up (the database is down,
/// say): the next pass tries again.
const GIVE_UP_AFTER: usize = 3;

impl TenantDone {
    fn add(&mut self, result: Result<Option<usize>, StoreError>) {
        self.calls += 1;
        match result {
            Ok(Some(n)) => {
                self.computed += n;
                self.failed_in_a_row = 0;
            }
            Ok(None) => {
                self.not_answered += 1;
                self.failed_in_a_row = 0;
            }
            Err(e) => {
                self.failed += 1;
                self.failed_in_a_row += 1;
                self.error.get_or_insert_with(|| e.to_string());
            }
        }
    }

    /// Whether the pass gives the tenant up ([`GIVE_UP_AFTER`] failures in a row).
    fn given_up(&self) -> bool {
        self.failed_in_a_row >= GIVE_UP_AFTER
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, TimeZone};

    #[test]
    fn no_period_no_run_and_three_failures_in_a_row_give_up() {
        assert!(runs(Step::Month, &[]).is_empty());
        assert!(runs(Step::Day, &[]).is_empty());
        let mut done = TenantDone::default();
        let failed = || Err(StoreError::Internal("down".into()));
        done.add(failed());
        done.add(failed());
        done.add(Ok(Some(1)));
        done.add(failed());
        done.add(failed());
        assert!(!done.given_up(), "not in a row");
        done.add(failed());
        assert!(done.given_up());
        assert_eq!((done.calls, done.failed, done.computed), (6, 5, 1));
        assert_eq!(done.error.as_deref(), Some("store error: down"));
    }

    #[test]
    fn runs_span_at_most_the_chunk_newest_first_and_cover_every_period_once() {
        let as_of = Utc.with_ymd_and_hms(2026, 12, 7, 10, 0, 0).unwrap();
        let today = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
        for (step, periods) in
            rollup::kept_periods(today, rollup::KEPT_MONTHS, as_of, WeekParts::Every)
        {
            let runs = runs(step, &periods);
            let joined: Vec<Period> = runs.iter().rev().flat_map(|r| r.iter().copied()).collect();
            assert_eq!(joined, periods, "{step:?}");
            assert!(
                runs.windows(2).all(|w| w[0][0].from >= w[1][0].from),
                "newest first"
            );
            if step != Step::Month {
                for run in runs {
                    let first = run.iter().map(|p| p.from).min().unwrap();
                    let last = run.iter().map(|p| p.to).max().unwrap();
                    assert!((last - first).num_days() <= CHUNK_DAYS + 7, "{run:?}");
                }
            }
        }
    }
}
