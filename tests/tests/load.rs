//! Dashboards do not starve agents: while a storm of GetFigures calls runs, agents'
//! StartContact calls all succeed, and every figure call either answers or is refused
//! RESOURCE_EXHAUSTED (`FIGURES_BUSY`) after its bounded wait, never anything else.
//!
//! The same storm, larger and on PostgreSQL, is a benchmark that prints latencies
//! (ignored by default; timing belongs there, not in assertions):
//!
//! ```text
//! MIDOFFICE_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
//!   cargo test --release -p midoffice-tests --test load -- --ignored --nocapture
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use midoffice_tests::pb::contact_service_client::ContactServiceClient;
use midoffice_tests::pb::figure_service_client::FigureServiceClient;
use midoffice_tests::pb::{self, Channel};
use midoffice_tests::{
    Backend, TENANT, TestDatabase, bsn, database_test, on_backend, period_2026, request, resolved,
    start, valid_bsns,
};
use tonic::Code;
use tonic_types::StatusExt;

/// Records `n` completed contacts over a few connections.
async fn seed(b: &Backend, n: usize) {
    let citizens = Arc::new(valid_bsns(0, 200));
    let mut tasks = Vec::new();
    for worker in 0..4 {
        let mut client = ContactServiceClient::new(b.new_channel().await);
        let citizens = Arc::clone(&citizens);
        tasks.push(tokio::spawn(async move {
            for i in (worker..n).step_by(4) {
                let day = 2 + i % 25;
                let hour = 8 + i % 9;
                let at = |m: u32| format!("2026-03-{day:02}T{hour:02}:{m:02}:00+01:00");
                client
                    .record_contact(request(
                        TENANT,
                        pb::RecordContactRequest {
                            request_id: format!("seed-{i}"),
                            start: Some(start(
                                Channel::Phone,
                                &at(0),
                                Some(bsn(&citizens[i % citizens.len()])),
                                "parkeervergunning",
                            )),
                            completion: Some(resolved(&at(2), &at(9), "Geholpen.")),
                            context_seen: false,
                        },
                    ))
                    .await
                    .unwrap_or_else(|s| panic!("seeding contact {i} failed: {s:?}"));
            }
        }));
    }
    for t in tasks {
        t.await.expect("a seeding task panicked");
    }
}

/// What a storm measured.
#[derive(Debug, Default)]
struct Report {
    figures_ok: usize,
    figures_busy: usize,
    /// Any other answer to a figure call: (code, message).
    figures_other: Vec<(Code, String)>,
    figures_ms: Vec<u128>,
    starts_ms: Vec<u128>,
    /// Failed starts: (code, message).
    starts_failed: Vec<(Code, String)>,
}

fn percentile(sorted: &[u128], p: f64) -> u128 {
    if sorted.is_empty() {
        return 0;
    }
    let at = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[at.min(sorted.len() - 1)]
}

/// `figure_calls` GetFigures at once over 4 connections, while one agent starts
/// `starts` contacts one after another on a connection of its own.
async fn storm(b: &Backend, figure_calls: usize, starts: usize) -> Report {
    let mut channels = Vec::new();
    for _ in 0..4 {
        channels.push(b.new_channel().await);
    }
    let mut figure_tasks = Vec::new();
    for i in 0..figure_calls {
        let mut client = FigureServiceClient::new(channels[i % channels.len()].clone());
        figure_tasks.push(tokio::spawn(async move {
            let began = Instant::now();
            let answer = client
                .get_figures(request(
                    TENANT,
                    pb::GetFiguresRequest {
                        period: Some(period_2026()),
                        ..Default::default()
                    },
                ))
                .await;
            (began.elapsed(), answer.map(|_| ()))
        }));
    }
    // Let the storm begin before the agent calls.
    tokio::time::sleep(Duration::from_millis(20)).await;
    let mut report = Report::default();
    let mut agent = ContactServiceClient::new(b.new_channel().await);
    let citizens = valid_bsns(0, starts);
    for (i, citizen) in citizens.iter().enumerate() {
        let began = Instant::now();
        let answer = agent
            .start_contact(request(
                TENANT,
                pb::StartContactRequest {
                    request_id: format!("agent-{i}"),
                    start: Some(start(
                        Channel::Phone,
                        "2026-04-01T10:00:00+02:00",
                        Some(bsn(citizen)),
                        "parkeervergunning",
                    )),
                },
            ))
            .await;
        report.starts_ms.push(began.elapsed().as_millis());
        if let Err(s) = answer {
            report
                .starts_failed
                .push((s.code(), s.message().to_owned()));
        }
    }
    for t in figure_tasks {
        let (took, answer) = t.await.expect("a figure task panicked");
        report.figures_ms.push(took.as_millis());
        match answer {
            Ok(()) => report.figures_ok += 1,
            Err(s)
                if s.code() == Code::ResourceExhausted
                    && s.get_error_details()
                        .error_info()
                        .is_some_and(|i| i.reason == "FIGURES_BUSY") =>
            {
                report.figures_busy += 1
            }
            Err(s) => report
                .figures_other
                .push((s.code(), s.message().to_owned())),
        }
    }
    report.figures_ms.sort_unstable();
    report.starts_ms.sort_unstable();
    report
}

database_test!(
    a_figure_storm_leaves_contact_calls_their_budget,
    flavor = "multi_thread",
    worker_threads = 2
);
async fn a_figure_storm_leaves_contact_calls_their_budget(database: TestDatabase) {
    on_backend(database, |b| async move {
        seed(&b, 40).await;
        let report = storm(&b, 200, 10).await;
        assert!(
            report.starts_failed.is_empty(),
            "agents' starts failed during the storm: {:?}",
            report.starts_failed
        );
        assert!(
            report.figures_other.is_empty(),
            "figure calls answered other than OK or FIGURES_BUSY: {:?}",
            report.figures_other
        );
        assert_eq!(report.figures_ok + report.figures_busy, 200);
        assert!(
            report.figures_ok > 0,
            "no figure call was served: {report:?}"
        );
    })
    .await;
}

/// The benchmark (see the module docs): 5,000 contacts, 200 concurrent GetFigures, 30
/// StartContact calls of one agent meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: run with --ignored --nocapture, on PostgreSQL"]
async fn bench_figure_storm_on_postgres() {
    on_backend(TestDatabase::postgres(), |b| async move {
        let began = Instant::now();
        seed(&b, 5000).await;
        println!("seeded 5000 contacts in {} ms", began.elapsed().as_millis());
        let began = Instant::now();
        let r = storm(&b, 200, 30).await;
        println!("storm of 200 GetFigures took {} ms", began.elapsed().as_millis());
        println!(
            "GetFigures: {} ok, {} FIGURES_BUSY, {} other {:?}; latency p50 {} ms, p95 {} ms, max {} ms",
            r.figures_ok,
            r.figures_busy,
            r.figures_other.len(),
            r.figures_other.iter().take(3).collect::<Vec<_>>(),
            percentile(&r.figures_ms, 0.5),
            percentile(&r.figures_ms, 0.95),
            percentile(&r.figures_ms, 1.0),
        );
        println!(
            "StartContact meanwhile: {} calls, {} failed {:?}; latency p50 {} ms, p95 {} ms, max {} ms",
            r.starts_ms.len(),
            r.starts_failed.len(),
            r.starts_failed.iter().take(3).collect::<Vec<_>>(),
            percentile(&r.starts_ms, 0.5),
            percentile(&r.starts_ms, 0.95),
            percentile(&r.starts_ms, 1.0),
        );
    })
    .await;
}
