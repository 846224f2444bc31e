//! The log of the real binary: JSON lines that carry the call's trace, an access line
//! per call and per page (method, status, duration, tenant; no identifier of a
//! citizen), and the log level changed on a running server by SIGHUP.
//!
//! Cargo builds the binary for this test (`CARGO_BIN_EXE_midoffice`).

use midoffice_tests::pb::contact_service_client::ContactServiceClient;
use midoffice_tests::pb::{self, Channel};
use midoffice_tests::{TENANT, request, start};
use serde_json::Value;
use std::path::Path;
use std::time::Duration;

mod common;
use common::{Server, channel, launch_with_env};

/// The caller's trace and span, as a frontend sends them in `traceparent`.
const TRACE: &str = "0af7651916cd43dd8448eb211c80319c";
const PARENT: &str = "b7ad6b7169203331";
const CITIZEN: &str = "999990019";
const PHONE: &str = "0612345678";

fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_midoffice"))
}

fn log_of(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("server.log")).unwrap_or_default()
}

/// Waits (up to 30 s) until the server's log holds `n` lines that `matches`; answers
/// the log.
async fn wait_for(dir: &Path, n: usize, matches: impl Fn(&str) -> bool) -> String {
    for _ in 0..300 {
        let log = log_of(dir);
        if log.lines().filter(|l| matches(l)).count() >= n {
            return log;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "the log did not get {n} such lines within 30 s:\n{}",
        log_of(dir)
    );
}

/// A contact start for `who`, with the caller's trace when `traced`.
async fn start_contact(
    contacts: &mut ContactServiceClient<tonic::transport::Channel>,
    id: &str,
    who: &str,
    traced: bool,
) -> Result<(), tonic::Status> {
    let mut call = request(
        TENANT,
        pb::StartContactRequest {
            request_id: id.to_owned(),
            start: Some(start(
                Channel::Phone,
                &chrono::Utc::now().to_rfc3339(),
                Some(pb::Identifiers {
                    bsn: who.to_owned(),
                    phone: PHONE.to_owned(),
                    ..Default::default()
                }),
                "paspoort",
            )),
        },
    );
    if traced {
        call.metadata_mut().insert(
            "traceparent",
            format!("00-{TRACE}-{PARENT}-01").parse().unwrap(),
        );
    }
    contacts.start_contact(call).await.map(|_| ())
}

fn sighup(server: &Server) {
    let status = std::process::Command::new("kill")
        .args(["-HUP", &server.child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill -HUP failed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_lines_carry_the_calls_trace_and_each_call_has_an_access_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/l.db?mode=rwc", dir.path().display());
    let server = launch_with_env(
        binary(),
        &db,
        dir.path(),
        // Only warnings and the access lines: the call's span, at info, is not logged
        // itself, yet every line within it still carries its trace.
        &[
            ("MIDOFFICE__LOG__FORMAT", "json"),
            ("MIDOFFICE__LOG__LEVEL", "warn,midoffice::access=info"),
        ],
    )
    .await;
    let mut contacts = ContactServiceClient::new(channel(&server.url).await);
    start_contact(&mut contacts, "log-1", CITIZEN, true)
        .await
        .expect("a contact starts");
    // A BSN that fails its check: refused, and not echoed in the log either.
    let refused = start_contact(&mut contacts, "log-2", "123456789", false).await;
    assert_eq!(refused.unwrap_err().code(), tonic::Code::InvalidArgument);
    // A page: not published, so 404, logged by its name (never its path).
    let addr = server.url.trim_start_matches("http://");
    let page =
        midoffice_tests::http::send_to(addr, "GET", &format!("/thermometer/{TENANT}"), "").await;
    assert_eq!(page.status, 404);

    let access = |l: &str| l.contains("midoffice::access") && !l.contains("grpc.health");
    let log = wait_for(dir.path(), 3, access).await;
    let lines: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let field = |l: &Value, k: &str| l.get(k).cloned().unwrap_or(Value::Null);
    let started: Vec<&Value> = lines
        .iter()
        .filter(|l| {
            field(l, "target") == "midoffice::access"
                && field(l, "rpc") == "midoffice.v1.ContactService/StartContact"
        })
        .collect();
    assert_eq!(started.len(), 2, "{log}");
    let ok = started
        .iter()
        .find(|l| field(l, "grpc_status") == 0)
        .unwrap_or_else(|| panic!("no OK access line: {log}"));
    assert_eq!(field(ok, "trace_id"), TRACE, "{ok}");
    let span_id = field(ok, "span_id");
    let span_id = span_id.as_str().expect("a span id");
    assert!(span_id.len() == 16 && span_id != PARENT, "{ok}");
    assert_eq!(field(ok, "tenant"), TENANT);
    assert_eq!(field(ok, "level"), "INFO");
    assert!(field(ok, "duration_ms").is_f64(), "{ok}");
    let bad = started
        .iter()
        .find(|l| field(l, "grpc_status") == 3)
        .unwrap_or_else(|| panic!("no INVALID_ARGUMENT access line: {log}"));
    // Its own trace: a call without traceparent starts one.
    assert_ne!(field(bad, "trace_id"), TRACE);
    assert!(
        field(bad, "trace_id")
            .as_str()
            .is_some_and(|t| t.len() == 32)
    );
    let page = lines
        .iter()
        .find(|l| field(l, "target") == "midoffice::access" && field(l, "page") == "thermometer")
        .unwrap_or_else(|| panic!("no access line of the page: {log}"));
    assert_eq!(field(page, "http_status"), 404);
    // Every line of the traced call carries its trace; no line holds the citizen.
    for line in &lines {
        if field(line, "span_id") == span_id {
            assert_eq!(field(line, "trace_id"), TRACE, "{line}");
        }
    }
    for secret in [CITIZEN, "123456789", PHONE, "06-12345678"] {
        assert!(!log.contains(secret), "{secret} is in the log:\n{log}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_configuration_file_sets_the_log_level() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("midoffice.toml");
    let level = |l: &str| std::fs::write(&config, format!("[log]\nlevel = \"{l}\"\n")).unwrap();
    level("info");
    let db = format!("sqlite://{}/l.db?mode=rwc", dir.path().display());
    let server = launch_with_env(binary(), &db, dir.path(), &[]).await;
    let mut contacts = ContactServiceClient::new(channel(&server.url).await);
    let debug = |l: &str| l.contains("DEBUG") && l.contains("contact started");
    let access = |l: &str| l.contains("midoffice::access") && l.contains("StartContact");
    start_contact(&mut contacts, "file-1", CITIZEN, false)
        .await
        .unwrap();
    let log = wait_for(dir.path(), 1, access).await;
    assert_eq!(log.lines().filter(|l| debug(l)).count(), 0, "{log}");
    // No signal: the file alone.
    level("info,midoffice_api=debug");
    wait_for(dir.path(), 1, |l| {
        l.contains("configuration file changed: log level set")
    })
    .await;
    start_contact(&mut contacts, "file-2", CITIZEN, false)
        .await
        .unwrap();
    let log = wait_for(dir.path(), 2, access).await;
    assert_eq!(log.lines().filter(|l| debug(l)).count(), 1, "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reads_the_log_level_again() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("midoffice.toml");
    let level = |l: &str| std::fs::write(&config, format!("[log]\nlevel = \"{l}\"\n")).unwrap();
    level("info");
    let db = format!("sqlite://{}/l.db?mode=rwc", dir.path().display());
    let server = launch_with_env(binary(), &db, dir.path(), &[]).await;
    let mut contacts = ContactServiceClient::new(channel(&server.url).await);
    // The handler's debug line, written before its answer leaves.
    let debug = |l: &str| l.contains("DEBUG") && l.contains("contact started");
    let access = |l: &str| l.contains("midoffice::access") && l.contains("StartContact");
    let set = |l: &str| l.contains("SIGHUP: log level set");

    start_contact(&mut contacts, "level-1", CITIZEN, false)
        .await
        .unwrap();
    let log = wait_for(dir.path(), 1, access).await;
    assert_eq!(log.lines().filter(|l| debug(l)).count(), 0, "{log}");

    level("info,midoffice_api=debug");
    sighup(&server);
    wait_for(dir.path(), 1, set).await;
    start_contact(&mut contacts, "level-2", CITIZEN, false)
        .await
        .unwrap();
    let log = wait_for(dir.path(), 2, access).await;
    assert_eq!(log.lines().filter(|l| debug(l)).count(), 1, "{log}");

    // Down to warnings: neither the debug line nor the access line.
    level("warn");
    sighup(&server);
    wait_for(dir.path(), 2, set).await;
    start_contact(&mut contacts, "level-3", CITIZEN, false)
        .await
        .unwrap();
    let log = log_of(dir.path());
    assert_eq!(log.lines().filter(|l| debug(l)).count(), 1, "{log}");
    assert_eq!(log.lines().filter(|l| access(l)).count(), 2, "{log}");

    // A level that does not parse keeps the one in force, and says so.
    level("midoffice_api=loud");
    sighup(&server);
    wait_for(dir.path(), 1, |l| l.contains("the log level is unchanged")).await;
    start_contact(&mut contacts, "level-4", CITIZEN, false)
        .await
        .unwrap();
    let log = log_of(dir.path());
    assert_eq!(log.lines().filter(|l| access(l)).count(), 2, "{log}");
    assert!(!log.contains(CITIZEN), "the BSN is in the log");
}
