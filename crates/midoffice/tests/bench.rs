//! `midoffice bench` against a real server on a real socket: the real binary drives a
//! test server briefly, closed loop with the mixed blend and open loop with figures,
//! and writes its JSON report. The report has its shape, every call it made succeeded
//! (on the server and on the empty-handler baseline), and every RPC of the mix was
//! called. No timing is asserted: the figures themselves belong to benchmarks.
//!
//! Cargo builds the binary for this test (`CARGO_BIN_EXE_midoffice`).

use std::path::Path;
use std::process::{Command, Stdio};

use midoffice_tests::{TestDatabase, database_test, on_backend};
use serde_json::Value;

/// Runs `midoffice bench` with `args` against `url`; returns the JSON report.
fn bench(url: &str, dir: &Path, name: &str, args: &[&str]) -> Value {
    let json = dir.join(format!("{name}.json"));
    let output = Command::new(env!("CARGO_BIN_EXE_midoffice"))
        .arg("bench")
        .args(["--endpoint", url])
        .args(args)
        .arg("--json")
        .arg(&json)
        .env_remove("MIDOFFICE_BENCH_API_KEY")
        .stdin(Stdio::null())
        .output()
        .expect("the midoffice binary runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "bench {name} failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    assert!(
        stdout.contains("p99 ms") && stdout.contains("ratio"),
        "no table on stdout:\n{stdout}"
    );
    let text = std::fs::read_to_string(&json).expect("the JSON report was written");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}):\n{text}"))
}

/// Every RPC of `side` answered `ok` calls (more than none), none failed, and its
/// latencies are ordered.
fn check_side(report: &Value, side: &str, rpcs: &[&str]) {
    let calls = &report[side]["rpcs"];
    assert!(calls.is_object(), "{side} has no rpcs: {report:#}");
    for rpc in rpcs {
        let r = &calls[*rpc];
        let ok = r["ok"]
            .as_u64()
            .unwrap_or_else(|| panic!("{side} {rpc} has no ok count: {report:#}"));
        assert!(ok > 0, "{side} {rpc}: no call succeeded: {report:#}");
        assert_eq!(r["failed"], 0, "{side} {rpc} had failures: {report:#}");
        assert!(r["ok_per_second"].as_f64().is_some_and(|v| v > 0.0));
        let l = &r["latency_ms"];
        let q = |k: &str| {
            l[k].as_f64()
                .unwrap_or_else(|| panic!("{side} {rpc} latency {k} missing: {report:#}"))
        };
        assert!(q("p50") > 0.0);
        assert!(q("p50") <= q("p90") && q("p90") <= q("p99") && q("p99") <= q("max"));
    }
    assert_eq!(
        report[side]["not_sent"], 0,
        "{side} left operations unsent: {report:#}"
    );
}

database_test!(
    bench_drives_a_server_and_its_baseline,
    flavor = "multi_thread",
    worker_threads = 2
);
async fn bench_drives_a_server_and_its_baseline(database: TestDatabase) {
    on_backend(database, |b| async move {
        let dir = tempfile::tempdir().expect("a temp folder");
        let url = b.url().to_owned();
        let path = dir.path().to_owned();
        let (mixed, figures) = tokio::task::spawn_blocking(move || {
            let mixed = bench(
                &url,
                &path,
                "mixed",
                &[
                    "--mix",
                    "mixed",
                    "--concurrency",
                    "4",
                    "--duration",
                    "2s",
                    "--warmup",
                    "200ms",
                    "--known",
                    "20",
                    "--citizens",
                    "200",
                ],
            );
            let figures = bench(
                &url,
                &path,
                "figures",
                &[
                    "--mix",
                    "figures",
                    "--rate",
                    "20",
                    "--duration",
                    "1s",
                    "--warmup",
                    "0s",
                    "--no-baseline",
                ],
            );
            (mixed, figures)
        })
        .await
        .expect("the bench runs");

        assert_eq!(mixed["mix"], "mixed");
        assert_eq!(mixed["loop"], "closed");
        assert_eq!(mixed["concurrency"], 4);
        assert_eq!(mixed["known"], 20);
        let writes_and_reads = [
            "StartContact",
            "CompleteContact",
            "RecordContact",
            "GetContext",
        ];
        check_side(&mixed, "server", &writes_and_reads);
        check_side(&mixed, "baseline", &writes_and_reads);
        for rpc in writes_and_reads {
            let ratio = mixed["ratio_to_baseline"][rpc].as_f64();
            assert!(
                ratio.is_some_and(|r| r > 0.0),
                "{rpc} has no ratio to the baseline: {mixed:#}"
            );
        }
        // Whatever figure calls the blend made succeeded too.
        for side in ["server", "baseline"] {
            for rpc in ["GetThermometer", "GetFigures"] {
                let failed = &mixed[side]["rpcs"][rpc]["failed"];
                assert!(
                    failed.is_null() || failed == 0,
                    "{side} {rpc} failed: {mixed:#}"
                );
            }
        }

        assert_eq!(figures["loop"], "open");
        assert_eq!(figures["rate"], 20.0);
        assert!(figures["baseline"].is_null());
        check_side(&figures, "server", &["GetThermometer", "GetFigures"]);
    })
    .await;
}
