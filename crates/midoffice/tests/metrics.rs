//! Metrics over OTLP: the real binary, its OTLP endpoint a real MetricsService receiver
//! on loopback and an export every second. After a few contacts (two citizens, one case
//! referred twice, two satisfaction answers) the receiver sees the RPC duration of
//! StartContact (with its status code) and the domain gauges labelled with the tenant,
//! the dashboard's counts and means with the values of those contacts, and no
//! identifier of a citizen anywhere in what it received.
//!
//! Cargo builds the binary for this test (`CARGO_BIN_EXE_midoffice`).

use midoffice_tests::pb::contact_service_client::ContactServiceClient;
use midoffice_tests::pb::{self, Channel, Outcome, referral_target};
use midoffice_tests::{TENANT, bsn, request, resolved, start};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{Metric, metric, number_data_point};
use std::path::Path;
use std::time::Duration;

mod common;
use common::{Received, channel, launch_with_env, otlp_receiver};

/// What the receiver's metrics service got.
type Receiver = Received<ExportMetricsServiceRequest>;

fn text(kv: &KeyValue) -> Option<String> {
    match kv.value.as_ref()?.value.as_ref()? {
        any_value::Value::StringValue(s) => Some(s.clone()),
        any_value::Value::IntValue(i) => Some(i.to_string()),
        _ => None,
    }
}

/// Each data point's attributes (key -> value as text) of the metric.
fn points(metric: &Metric) -> Vec<Vec<(String, String)>> {
    let attrs = |a: &[KeyValue]| {
        a.iter()
            .filter_map(|kv| Some((kv.key.clone(), text(kv)?)))
            .collect::<Vec<_>>()
    };
    match &metric.data {
        Some(metric::Data::Histogram(h)) => {
            h.data_points.iter().map(|p| attrs(&p.attributes)).collect()
        }
        Some(metric::Data::Gauge(g)) => {
            g.data_points.iter().map(|p| attrs(&p.attributes)).collect()
        }
        Some(metric::Data::Sum(s)) => s.data_points.iter().map(|p| attrs(&p.attributes)).collect(),
        _ => Vec::new(),
    }
}

/// Every data point of `name` received so far.
fn received(receiver: &Receiver, name: &str) -> Vec<Vec<(String, String)>> {
    let requests = receiver.requests.lock().expect("the receiver's lock");
    requests
        .iter()
        .flat_map(|r| &r.resource_metrics)
        .flat_map(|r| &r.scope_metrics)
        .flat_map(|s| &s.metrics)
        .filter(|m| m.name == name)
        .flat_map(points)
        .collect()
}

/// The values of the gauge `name` in the last export that holds it, each with its
/// attributes (key -> value as text).
fn last_gauge(receiver: &Receiver, name: &str) -> Vec<(Vec<(String, String)>, f64)> {
    let requests = receiver.requests.lock().expect("the receiver's lock");
    let last = requests.iter().rev().find_map(|r| {
        r.resource_metrics
            .iter()
            .flat_map(|r| &r.scope_metrics)
            .flat_map(|s| &s.metrics)
            .find(|m| m.name == name)
    });
    let Some(Metric {
        data: Some(metric::Data::Gauge(gauge)),
        ..
    }) = last
    else {
        return Vec::new();
    };
    gauge
        .data_points
        .iter()
        .filter_map(|p| {
            let value = match p.value? {
                number_data_point::Value::AsDouble(v) => v,
                number_data_point::Value::AsInt(i) => i as f64,
            };
            let attrs = p
                .attributes
                .iter()
                .filter_map(|kv| Some((kv.key.clone(), text(kv)?)))
                .collect();
            Some((attrs, value))
        })
        .collect()
}

/// The tenant's value of the gauge `name` in the last export that holds it.
fn tenant_value(receiver: &Receiver, name: &str) -> Option<f64> {
    last_gauge(receiver, name)
        .into_iter()
        .find(|(attrs, _)| has(attrs, "tenant", TENANT))
        .map(|(_, v)| v)
}

fn has(point: &[(String, String)], key: &str, value: &str) -> bool {
    point.iter().any(|(k, v)| k == key && v == value)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_otlp_receiver_sees_rpc_durations_and_the_domain_gauges() {
    // The receiver.
    let otlp = otlp_receiver().await;
    let receiver = otlp.metrics.clone();

    // midoffice, exporting every second (./midoffice.toml in its working folder).
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("midoffice.toml"),
        "[telemetry]\nmetrics_interval_seconds = 1\n",
    )
    .unwrap();
    let db = format!("sqlite://{}/m.db?mode=rwc", dir.path().display());
    let endpoint = otlp.endpoint.clone();
    let server = launch_with_env(
        Path::new(env!("CARGO_BIN_EXE_midoffice")),
        &db,
        dir.path(),
        &[("MIDOFFICE__TELEMETRY__OTLP_ENDPOINT", &endpoint)],
    )
    .await;

    // A few contacts this month, one of them refused (a bad BSN): three of one citizen
    // on one case, referred twice then resolved, and one of another citizen, resolved;
    // a satisfaction answer on the first and on the last.
    let mut contacts = ContactServiceClient::new(channel(&server.url).await);
    let now = chrono::Utc::now() - chrono::Duration::minutes(5);
    let citizen = "111222333";
    let other = "999990019";
    let mut ids = Vec::new();
    for (i, who) in [citizen, citizen, citizen, other].into_iter().enumerate() {
        let started = now + chrono::Duration::seconds(i as i64 * 30);
        let answer = contacts
            .start_contact(request(
                TENANT,
                pb::StartContactRequest {
                    request_id: format!("metrics-{i}"),
                    start: Some(start(
                        Channel::Phone,
                        &started.to_rfc3339(),
                        Some(bsn(who)),
                        "paspoort",
                    )),
                },
            ))
            .await
            .expect("a contact starts")
            .into_inner();
        let id = answer.contact.expect("the contact").id;
        let mut completion = resolved(
            &(started + chrono::Duration::seconds(10)).to_rfc3339(),
            &(started + chrono::Duration::seconds(20)).to_rfc3339(),
            "Paspoort kwijt.",
        );
        if i < 2 {
            completion.outcome = Outcome::Referred as i32;
            completion.referred_to = Some(pb::ReferralTarget {
                target: Some(referral_target::Target::Department("burgerzaken".into())),
            });
        }
        contacts
            .complete_contact(request(
                TENANT,
                pb::CompleteContactRequest {
                    request_id: String::new(),
                    contact_id: id.clone(),
                    completion: Some(completion),
                },
            ))
            .await
            .expect("the contact completes");
        ids.push(id);
    }
    for (id, score, effort) in [(&ids[0], 4, 2), (&ids[3], 2, 5)] {
        contacts
            .submit_feedback(request(
                TENANT,
                pb::SubmitFeedbackRequest {
                    contact_id: id.clone(),
                    score,
                    effort,
                    ..Default::default()
                },
            ))
            .await
            .expect("a satisfaction answer");
    }
    let refused = contacts
        .start_contact(request(
            TENANT,
            pb::StartContactRequest {
                request_id: "metrics-bad".into(),
                start: Some(start(
                    Channel::Phone,
                    &now.to_rfc3339(),
                    Some(bsn("123456789")),
                    "paspoort",
                )),
            },
        ))
        .await;
    assert_eq!(refused.unwrap_err().code(), tonic::Code::InvalidArgument);

    // Wait for an export that has it all.
    let start_contact = |p: &Vec<(String, String)>| {
        has(p, "rpc.service", "midoffice.v1.ContactService") && has(p, "rpc.method", "StartContact")
    };
    // Four contacts on two cases, one of them referred more than once; two of the four
    // completed contacts referred; satisfaction (4 + 2) / 2, effort (2 + 5) / 2.
    let expected = [
        ("midoffice.contacts", 4.0),
        ("midoffice.cases", 2.0),
        ("midoffice.cases_referred_more_than_once", 1.0),
        ("midoffice.referral_rate", 0.5),
        ("midoffice.satisfaction", 3.0),
        ("midoffice.effort", 3.5),
    ];
    let mut seen = false;
    for _ in 0..300 {
        let rpc = received(&receiver, "rpc.server.call.duration");
        let ok = rpc
            .iter()
            .any(|p| start_contact(p) && has(p, "rpc.grpc.status_code", "0"));
        let invalid = rpc
            .iter()
            .any(|p| start_contact(p) && has(p, "rpc.grpc.status_code", "3"));
        let contacts = received(&receiver, "midoffice.channel.contacts")
            .iter()
            .any(|p| has(p, "tenant", TENANT) && has(p, "channel", "PHONE"));
        let norms = received(&receiver, "midoffice.norm.items")
            .iter()
            .any(|p| has(p, "tenant", TENANT) && p.iter().any(|(k, _)| k == "norm_id"));
        let store = !received(&receiver, "midoffice.store.begin.duration").is_empty()
            && received(&receiver, "midoffice.store.transaction.duration")
                .iter()
                .any(|p| has(p, "kind", "write") && has(p, "outcome", "commit"));
        // The dashboard's numbers, once the refresh has read every contact above.
        let figures = expected
            .iter()
            .all(|(name, value)| tenant_value(&receiver, name) == Some(*value));
        if ok && invalid && contacts && norms && store && figures {
            seen = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let got: Vec<_> = expected
        .iter()
        .map(|(name, _)| (*name, tenant_value(&receiver, name)))
        .collect();
    let all = format!("{:?}", receiver.requests.lock().unwrap());
    assert!(
        seen,
        "the receiver did not see every metric within 30 s; the figures were {got:?}, \
         expected {expected:?}; it got: {}",
        &all[..all.len().min(4000)]
    );
    for secret in [citizen, other, "123456789"] {
        assert!(!all.contains(secret), "a BSN reached the metrics");
    }
    drop(server);
}
