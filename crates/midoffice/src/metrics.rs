//! The domain figures as OpenTelemetry gauges, for the current month of each tenant's
//! calendar: per norm (share, met, items, target, status), per channel (contacts,
//! answered, answer-time percentiles) and per tenant (contacts, cases, first-contact
//! resolution, repeat-story, referral and repeat-contact rates, cases referred more than
//! once, channel hops, satisfaction and effort): every number of the managers'
//! dashboard.
//!
//! A background task reads them from the store every interval (the thermometer and
//! the dashboard figures, from the rollups: milliseconds per tenant) and keeps the last
//! values; the gauges' callbacks only read those, so an export never waits on the
//! store. Runs only while metrics are exported (an OTLP endpoint is configured).
//!
//! No personal data: the only labels are the tenant id, the norm id and its measure's
//! kind, and the channel's name. The sets are bounded: at most [`MAX_TENANTS`] tenants
//! (the first in name order; a warning says when more were left out), the norms a
//! tenant's settings allow (capped by their validation), four channels.

use chrono::{Datelike, NaiveDate};
use midoffice_domain::TenantId;
use midoffice_domain::contact::Channel;
use midoffice_domain::figures::{Figures, Filter, NormResult, NormStatus, Period};
use midoffice_store::Store;
use opentelemetry::KeyValue;
use opentelemetry::metrics::ObservableGauge;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::sync::watch;

/// The most tenants whose figures are exported.
pub const MAX_TENANTS: u64 = 1000;

/// A norm's status as a number, higher is better: 3 green, 2 amber, 1 red, 0 no data.
pub fn status_number(status: NormStatus) -> u64 {
    match status {
        NormStatus::Green => 3,
        NormStatus::Amber => 2,
        NormStatus::Red => 1,
        NormStatus::NoData => 0,
    }
}

/// One observation: a value with its labels.
type Point = (f64, Vec<KeyValue>);

/// The last values read, per gauge.
#[derive(Default, Debug)]
struct Snapshot {
    norm_share: Vec<Point>,
    norm_met: Vec<Point>,
    norm_items: Vec<Point>,
    norm_target: Vec<Point>,
    norm_status: Vec<Point>,
    channel_contacts: Vec<Point>,
    channel_answered: Vec<Point>,
    channel_p50: Vec<Point>,
    channel_p90: Vec<Point>,
    contacts: Vec<Point>,
    cases: Vec<Point>,
    cases_referred_more_than_once: Vec<Point>,
    first_contact_resolution: Vec<Point>,
    repeat_story_rate: Vec<Point>,
    repeat_contact_rate: Vec<Point>,
    referral_rate: Vec<Point>,
    channel_hops: Vec<Point>,
    satisfaction: Vec<Point>,
    effort: Vec<Point>,
}

type Shared = Arc<RwLock<Snapshot>>;

/// The gauges; they observe as long as this lives.
pub struct DomainGauges {
    _gauges: Vec<ObservableGauge<f64>>,
    shared: Shared,
}

/// One gauge: its name, unit, description and which values it shows.
struct Gauge {
    name: &'static str,
    unit: &'static str,
    description: &'static str,
    pick: fn(&Snapshot) -> &Vec<Point>,
}

/// Every domain gauge.
const GAUGES: [Gauge; 19] = [
    Gauge {
        name: "midoffice.norm.share",
        unit: "1",
        description: "Share of a norm's items that met it, this month (0..1; absent without items)",
        pick: |s| &s.norm_share,
    },
    Gauge {
        name: "midoffice.norm.met",
        unit: "{item}",
        description: "Items that met the norm, this month",
        pick: |s| &s.norm_met,
    },
    Gauge {
        name: "midoffice.norm.items",
        unit: "{item}",
        description: "Items the norm judged, this month",
        pick: |s| &s.norm_items,
    },
    Gauge {
        name: "midoffice.norm.target",
        unit: "1",
        description: "The norm's target share (0..1)",
        pick: |s| &s.norm_target,
    },
    Gauge {
        name: "midoffice.norm.status",
        unit: "{status}",
        description: "The norm's status this month: 3 green, 2 amber, 1 red, 0 no data",
        pick: |s| &s.norm_status,
    },
    Gauge {
        name: "midoffice.channel.contacts",
        unit: "{contact}",
        description: "Contacts started on the channel, this month",
        pick: |s| &s.channel_contacts,
    },
    Gauge {
        name: "midoffice.channel.answered",
        unit: "{contact}",
        description: "Inbound contacts answered on the channel, this month",
        pick: |s| &s.channel_answered,
    },
    Gauge {
        name: "midoffice.channel.answer_time.p50",
        unit: "s",
        description: "Median time to answer on the channel, this month",
        pick: |s| &s.channel_p50,
    },
    Gauge {
        name: "midoffice.channel.answer_time.p90",
        unit: "s",
        description: "90th percentile of the time to answer on the channel, this month",
        pick: |s| &s.channel_p90,
    },
    Gauge {
        name: "midoffice.contacts",
        unit: "{contact}",
        description: "Contacts started this month",
        pick: |s| &s.contacts,
    },
    Gauge {
        name: "midoffice.cases",
        unit: "{case}",
        description: "Cases with a contact started this month",
        pick: |s| &s.cases,
    },
    Gauge {
        name: "midoffice.cases_referred_more_than_once",
        unit: "{case}",
        description: "Cases with a contact started this month that were referred more than once in all",
        pick: |s| &s.cases_referred_more_than_once,
    },
    Gauge {
        name: "midoffice.first_contact_resolution",
        unit: "1",
        description: "Share of cases resolved in their first contact, this month",
        pick: |s| &s.first_contact_resolution,
    },
    Gauge {
        name: "midoffice.repeat_story_rate",
        unit: "1",
        description: "Share of follow-ups in which the citizen told the story again, this month",
        pick: |s| &s.repeat_story_rate,
    },
    Gauge {
        name: "midoffice.repeat_contact_rate",
        unit: "1",
        description: "Share of contacts on a case that repeat a recent contact, this month",
        pick: |s| &s.repeat_contact_rate,
    },
    Gauge {
        name: "midoffice.referral_rate",
        unit: "1",
        description: "Share of completed contacts that referred the citizen elsewhere, this month",
        pick: |s| &s.referral_rate,
    },
    Gauge {
        name: "midoffice.channel_hops",
        unit: "{hop}",
        description: "Contacts that came on another channel than the case's previous one, this month",
        pick: |s| &s.channel_hops,
    },
    Gauge {
        name: "midoffice.satisfaction",
        unit: "{score}",
        description: "Mean satisfaction score this month",
        pick: |s| &s.satisfaction,
    },
    Gauge {
        name: "midoffice.effort",
        unit: "{score}",
        description: "Mean effort score this month (1..7, the citizen's effort as they answered it)",
        pick: |s| &s.effort,
    },
];

/// Registers the gauges on the global meter; they read what [`run`] last stored.
pub fn register() -> DomainGauges {
    let meter = opentelemetry::global::meter("midoffice");
    let shared = Shared::default();
    let gauges = GAUGES
        .iter()
        .map(|g| {
            let shared = shared.clone();
            let pick = g.pick;
            meter
                .f64_observable_gauge(g.name)
                .with_unit(g.unit)
                .with_description(g.description)
                .with_callback(move |observer| {
                    // A poisoned lock only means a refresh panicked: its values are whole.
                    let snapshot = shared.read().unwrap_or_else(|e| e.into_inner());
                    for (value, labels) in pick(&snapshot) {
                        observer.observe(*value, labels);
                    }
                })
                .build()
        })
        .collect();
    DomainGauges {
        _gauges: gauges,
        shared,
    }
}

/// The first and the day after the last day of `today`'s month.
fn month_of(today: NaiveDate) -> Option<(NaiveDate, NaiveDate)> {
    let from = today.with_day(1)?;
    let to = from.checked_add_months(chrono::Months::new(1))?;
    Some((from, to))
}

fn norm_labels(tenant: &TenantId, norm: &NormResult) -> Vec<KeyValue> {
    vec![
        KeyValue::new("tenant", tenant.as_str().to_owned()),
        KeyValue::new("norm_id", norm.norm_id.as_str().to_owned()),
        KeyValue::new("measure", norm.measure.as_str()),
    ]
}

/// Reads one tenant's figures of this month into `out`.
async fn read_tenant(
    store: &Store,
    tenant: &TenantId,
    now: midoffice_domain::Instant,
    out: &mut Snapshot,
) -> Result<(), midoffice_store::StoreError> {
    let settings = store.figure_settings(tenant).await?;
    let Some((from, to)) = month_of(settings.calendar.local_date(now)) else {
        return Ok(());
    };
    let period = Period {
        from,
        to,
        as_of: now,
    };
    let norms = store.thermometer(tenant, period, false).await?.answer;
    let mut filters = vec![Filter::default()];
    filters.extend(Channel::ALL.map(|c| Filter {
        channel: Some(c),
        ..Filter::default()
    }));
    let figures = store.figures(tenant, period, filters, false).await?.answer;

    let t = || KeyValue::new("tenant", tenant.as_str().to_owned());
    for norm in &norms {
        let labels = norm_labels(tenant, norm);
        if let Some(share) = norm.share() {
            out.norm_share.push((share, labels.clone()));
        }
        out.norm_met.push((norm.met as f64, labels.clone()));
        out.norm_items.push((norm.items as f64, labels.clone()));
        out.norm_target
            .push((f64::from(norm.target_percent) / 100.0, labels.clone()));
        out.norm_status
            .push((status_number(norm.status) as f64, labels));
    }
    let Some((all, by_channel)) = figures.split_first() else {
        return Ok(());
    };
    for (channel, f) in Channel::ALL.iter().zip(by_channel) {
        let labels = vec![t(), KeyValue::new("channel", channel.as_str())];
        out.channel_contacts.push((f.contacts as f64, labels));
    }
    // Every field by name: a figure added to `Figures` does not compile here until it
    // is exported (or said not to be).
    let Figures {
        contacts,
        cases,
        first_contact_resolution,
        repeat_contact_rate,
        referral_rate,
        cases_referred_more_than_once,
        repeat_story_rate,
        channel_hops,
        response_times,
        satisfaction_score,
        effort_score,
        // The counts behind the ratios: exported as the ratios above.
        counts: _,
    } = all;
    for r in response_times {
        let labels = vec![t(), KeyValue::new("channel", r.channel.as_str())];
        out.channel_answered
            .push((r.answered as f64, labels.clone()));
        if r.answered > 0 {
            out.channel_p50.push((r.p50_seconds as f64, labels.clone()));
            out.channel_p90.push((r.p90_seconds as f64, labels));
        }
    }
    for (count, into) in [
        (contacts, &mut out.contacts),
        (cases, &mut out.cases),
        (
            cases_referred_more_than_once,
            &mut out.cases_referred_more_than_once,
        ),
        (channel_hops, &mut out.channel_hops),
    ] {
        into.push((*count as f64, vec![t()]));
    }
    for (value, into) in [
        (first_contact_resolution, &mut out.first_contact_resolution),
        (repeat_story_rate, &mut out.repeat_story_rate),
        (repeat_contact_rate, &mut out.repeat_contact_rate),
        (referral_rate, &mut out.referral_rate),
        (satisfaction_score, &mut out.satisfaction),
        (effort_score, &mut out.effort),
    ] {
        // A ratio or mean with nothing to divide by is absent, never 0.
        if let Some(v) = value {
            into.push((*v, vec![t()]));
        }
    }
    Ok(())
}

/// One refresh: every tenant's figures read afresh, then swapped in at once. A tenant
/// whose figures cannot be read keeps none this round (logged), the others are kept.
async fn refresh(store: &Store, gauges: &DomainGauges) {
    let started = std::time::Instant::now();
    let tenants = match store.figure_tenants(MAX_TENANTS + 1).await {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!(error = %e, "metrics: cannot list the tenants with figures");
            return;
        }
    };
    if tenants.len() as u64 > MAX_TENANTS {
        tracing::warn!(
            max = MAX_TENANTS,
            "metrics: more tenants have figures than are exported; the first in name \
             order are"
        );
    }
    let now = chrono::Utc::now();
    let mut next = Snapshot::default();
    for tenant in tenants.iter().take(MAX_TENANTS as usize) {
        if let Err(e) = read_tenant(store, tenant, now, &mut next).await {
            tracing::warn!(tenant = %tenant, error = %e, "metrics: figures not read");
        }
    }
    *gauges.shared.write().unwrap_or_else(|e| e.into_inner()) = next;
    tracing::debug!(
        tenants = tenants.len(),
        millis = started.elapsed().as_millis() as u64,
        "metrics: domain figures refreshed"
    );
}

/// Refreshes the gauges' values every `interval` until `stop` turns true.
pub async fn run(
    store: Store,
    gauges: DomainGauges,
    interval: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => refresh(&store, &gauges).await,
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() {
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_month_is_from_its_first_to_the_next_first() {
        let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(
            month_of(d(2026, 12, 7)),
            Some((d(2026, 12, 1), d(2027, 1, 1)))
        );
        assert_eq!(
            month_of(d(2026, 2, 28)),
            Some((d(2026, 2, 1), d(2026, 3, 1)))
        );
    }

    #[test]
    fn higher_status_numbers_are_better() {
        let order = [
            NormStatus::NoData,
            NormStatus::Red,
            NormStatus::Amber,
            NormStatus::Green,
        ];
        for (i, s) in order.into_iter().enumerate() {
            assert_eq!(status_number(s), i as u64);
        }
    }

    /// The name the Collector's Prometheus exporter gives a gauge: dots to
    /// underscores, the unit as a suffix (`s`: seconds, `1`: ratio, `{…}`: none).
    fn prometheus_name(name: &str, unit: &str) -> String {
        let base = name.replace('.', "_");
        match unit {
            "s" => format!("{base}_seconds"),
            "1" => format!("{base}_ratio"),
            _ => base,
        }
    }

    #[test]
    fn the_dashboard_is_json_and_queries_every_exported_domain_metric_and_no_other() {
        let text = include_str!("../../../deploy/grafana/dashboards/midoffice.json");
        let dashboard: serde_json::Value = serde_json::from_str(text).unwrap();
        let mut known: Vec<String> = GAUGES
            .iter()
            .map(|g| prometheus_name(g.name, g.unit))
            .collect();
        known.push("rpc_server_call_duration_seconds".into());
        known.push("midoffice_store_begin_duration_seconds".into());
        known.push("midoffice_store_transaction_duration_seconds".into());
        let mut exprs = Vec::new();
        fn walk(v: &serde_json::Value, out: &mut Vec<String>) {
            match v {
                serde_json::Value::Object(m) => {
                    for (k, v) in m {
                        match (k.as_str(), v) {
                            ("expr" | "definition", serde_json::Value::String(s)) => {
                                out.push(s.clone())
                            }
                            _ => walk(v, out),
                        }
                    }
                }
                serde_json::Value::Array(a) => a.iter().for_each(|v| walk(v, out)),
                _ => {}
            }
        }
        walk(&dashboard, &mut exprs);
        assert!(exprs.len() > 10, "{exprs:?}");
        for expr in &exprs {
            let words = expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'));
            for word in words.filter(|w| {
                (w.starts_with("midoffice_") || w.starts_with("rpc_server")) && !w.is_empty()
            }) {
                let metric = ["_bucket", "_count", "_sum"]
                    .iter()
                    .find_map(|s| word.strip_suffix(s))
                    .unwrap_or(word);
                assert!(known.iter().any(|k| k == metric), "{metric} in {expr}");
            }
        }
        // And every domain gauge is drawn (or, for the contacts, lists the tenants).
        for gauge in &GAUGES {
            let metric = prometheus_name(gauge.name, gauge.unit);
            let drawn = exprs.iter().any(|e| {
                e.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .any(|w| w == metric)
            });
            assert!(drawn, "{metric} is exported but not on the dashboard");
        }
    }
}
