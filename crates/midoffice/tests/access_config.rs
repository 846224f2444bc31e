//! The binary and its credentials: without any it serves loopback only and says how to
//! configure one; the entry `midoffice key new` prints works as configuration, and the
//! key it printed opens the API while no key does not. In production it needs TLS (or
//! the operator's word that a proxy terminates it) and an OTLP collector reached over
//! TLS or on loopback.

mod common;

use midoffice_api::pb;
use midoffice_api::pb::figure_service_client::FigureServiceClient;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A secret for the tests, from the environment (never the data folder in production).
const SECRET: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

fn midoffice(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_midoffice"));
    cmd.env_clear()
        .env("RUST_LOG", "info")
        .env("MIDOFFICE_SECRET", SECRET)
        .current_dir(dir)
        .stdin(Stdio::null());
    cmd
}

#[test]
fn without_credentials_only_loopback_is_served_and_the_refusal_says_how_to_configure() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        vec!["--listen", "0.0.0.0:0", "--mode", "development"],
        vec!["--listen", "[::]:0", "--mode", "development"],
        vec!["--listen", "127.0.0.1:0", "--mode", "production"],
        // Loopback behind a proxy serves whoever reaches the proxy.
        vec![
            "--listen",
            "127.0.0.1:0",
            "--mode",
            "development",
            "--tls-terminated-by-proxy",
        ],
    ] {
        let out = midoffice(dir.path())
            .args(["serve", "--data-dir", "data"])
            .args(&args)
            .output()
            .unwrap();
        assert!(
            !out.status.success(),
            "{args:?} started without credentials"
        );
        let text = common::said(&out);
        for needed in [
            "no credentials",
            "loopback",
            "midoffice key new",
            "[access.oidc]",
        ] {
            assert!(
                text.contains(needed),
                "{args:?}: {needed} missing in {text}"
            );
        }
    }
}

fn key_new(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_midoffice"))
        .env_clear()
        .args(["key", "new"])
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn key_new_refuses_what_the_configuration_would_refuse() {
    for args in [
        vec!["--name", "x", "--tenant", "Gemeente A", "--role", "channel"],
        vec!["--name", "x", "--tenant", "gemeente-a", "--role", "root"],
        vec![
            "--name",
            "x",
            "--tenant",
            "gemeente-a",
            "--role",
            "channel",
            "--channel",
            "fax",
        ],
        vec!["--name", "x", "--role", "channel"],
    ] {
        let out = key_new(&args);
        assert!(!out.status.success(), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?} printed a key");
    }
}

/// Kills the server when the test ends, however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn the_printed_key_and_entry_work_as_configuration() {
    let out = key_new(&[
        "--name",
        "dashboard-kcc",
        "--tenant",
        "gemeente-a",
        "--role",
        "dashboard",
    ]);
    assert!(out.status.success(), "{}", common::said(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    let key = text
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("mo_"))
        .expect("the key")
        .to_owned();
    let entry = &text[text.find("[[access.keys]]").expect("the entry")..];
    assert!(!entry.contains(&key), "the entry holds the key itself");

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("midoffice.toml"), entry).unwrap();
    let mut child = midoffice(dir.path())
        .args(["serve", "--data-dir", "data", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let running = Running(child);
    // The address comes in the log line that says the server is serving.
    let (tx, rx) = std::sync::mpsc::channel();
    for stream in [
        Box::new(stdout) as Box<dyn std::io::Read + Send>,
        Box::new(stderr),
    ] {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut log = String::new();
    let addr = loop {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|_| panic!("the server did not say where it serves:\n{log}"));
        log.push_str(&line);
        log.push('\n');
        if let Some(rest) = line.split("listen=").nth(1) {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    assert!(!log.contains(&key), "the log shows the key");

    let mut figures = FigureServiceClient::connect(format!("http://{addr}"))
        .await
        .unwrap();
    let request = |key: Option<&str>| {
        let mut r = tonic::Request::new(pb::GetFiguresRequest {
            period: Some(pb::Period {
                start_date: Some(pb::Date {
                    year: 2026,
                    month: 1,
                    day: 1,
                }),
                end_date: Some(pb::Date {
                    year: 2027,
                    month: 1,
                    day: 1,
                }),
                as_of: None,
            }),
            ..Default::default()
        });
        if let Some(key) = key {
            r.metadata_mut()
                .insert("authorization", format!("Bearer {key}").parse().unwrap());
        }
        r
    };
    figures.get_figures(request(Some(&key))).await.unwrap();
    let refused = figures.get_figures(request(None)).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Unauthenticated);
    drop(running);
}

/// Starts the server and waits for the line that says where it serves; the log so far.
fn serving(mut cmd: Command) -> (Running, String) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let running = Running(child);
    let (tx, rx) = std::sync::mpsc::channel();
    for stream in [
        Box::new(stdout) as Box<dyn std::io::Read + Send>,
        Box::new(stderr),
    ] {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut log = String::new();
    loop {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|_| panic!("the server did not start serving:\n{log}"));
        log.push_str(&line);
        log.push('\n');
        if line.contains("listen=") {
            return (running, log);
        }
    }
}

/// A configuration with one API key (by a hash; no call is made with it).
const ONE_KEY: &str = r#"
[[access.keys]]
name = "kcc"
sha256 = "0000000000000000000000000000000000000000000000000000000000000000"
tenants = ["gemeente-a"]
roles = ["channel"]
"#;

#[test]
fn production_refuses_to_serve_without_tls_unless_a_proxy_terminates_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("midoffice.toml"), ONE_KEY).unwrap();
    let args = [
        "serve",
        "--data-dir",
        "data",
        "--listen",
        "127.0.0.1:0",
        "--mode",
        "production",
    ];
    let out = midoffice(dir.path()).args(args).output().unwrap();
    assert!(!out.status.success(), "production started without TLS");
    let text = common::said(&out);
    for needed in ["without TLS", "[tls]", "server.tls_terminated_by_proxy"] {
        assert!(text.contains(needed), "{needed} missing in {text}");
    }

    let mut cmd = midoffice(dir.path());
    cmd.args(args)
        .env("MIDOFFICE__SERVER__TLS_TERMINATED_BY_PROXY", "true");
    let (running, log) = serving(cmd);
    assert!(log.contains("tls_terminated_by_proxy"), "{log}");
    drop(running);

    // Development on loopback needs neither.
    let mut cmd = midoffice(dir.path());
    cmd.args(["serve", "--data-dir", "data", "--listen", "127.0.0.1:0"]);
    drop(serving(cmd));
}

#[test]
fn production_refuses_a_plain_otlp_endpoint_off_loopback_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("midoffice.toml"), ONE_KEY).unwrap();
    let args = [
        "serve",
        "--data-dir",
        "data",
        "--listen",
        "127.0.0.1:0",
        "--mode",
        "production",
        "--tls-terminated-by-proxy",
        "false",
    ];
    let out = midoffice(dir.path())
        .args(args)
        .args(["--otlp-endpoint", "http://collector.invalid:4317"])
        .output()
        .unwrap();
    assert!(!out.status.success(), "exported in clear in production");
    let text = common::said(&out);
    assert!(
        text.contains("OTLP endpoint") && text.contains("telemetry.otlp_plaintext"),
        "{text}"
    );
    // Refused before anything else is checked: the TLS refusal does not come first.
    assert!(!text.contains("without TLS"), "{text}");
    // An https:// collector is built over TLS (it need not answer for the server to
    // start); the server's own TLS is left to a proxy here.
    let mut cmd = midoffice(dir.path());
    cmd.args(["serve", "--data-dir", "data", "--listen", "127.0.0.1:0"])
        .args(["--mode", "production", "--tls-terminated-by-proxy"])
        .args(["--otlp-endpoint", "https://collector.invalid:4317"]);
    drop(serving(cmd));
}

#[tokio::test]
async fn the_pages_address_is_checked_and_then_serves_the_pages_apart() {
    let dir = tempfile::tempdir().unwrap();
    let serve = ["serve", "--data-dir", "data", "--listen", "127.0.0.1:0"];
    // A value that is no address is refused, naming where it came from.
    let out = midoffice(dir.path())
        .args(serve)
        .args(["--pages-listen", "localhost:8080"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        common::said(&out).contains("--pages-listen"),
        "{}",
        common::said(&out)
    );
    let out = midoffice(dir.path())
        .args(serve)
        .env("MIDOFFICE__SERVER__PAGES_LISTEN", "8080")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        common::said(&out).contains("MIDOFFICE__SERVER__PAGES_LISTEN"),
        "{}",
        common::said(&out)
    );
    // Without credentials the pages stay on loopback, as the gRPC port does.
    let out = midoffice(dir.path())
        .args(serve)
        .args(["--pages-listen", "0.0.0.0:0", "--mode", "development"])
        .output()
        .unwrap();
    assert!(!out.status.success(), "the pages were served to others");
    let text = common::said(&out);
    assert!(
        text.contains("server.pages_listen") && text.contains("no credentials"),
        "{text}"
    );

    // Served: the pages on their address, 404 on the gRPC port.
    let mut child = midoffice(dir.path())
        .args(serve)
        .args(["--pages-listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let running = Running(child);
    let (tx, rx) = std::sync::mpsc::channel();
    for stream in [
        Box::new(stdout) as Box<dyn std::io::Read + Send>,
        Box::new(stderr),
    ] {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut log = String::new();
    let value = |line: &str, key: &str| {
        line.split(key)
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .map(str::to_owned)
    };
    let (mut grpc, mut pages) = (None, None);
    while grpc.is_none() || pages.is_none() {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|_| panic!("the server did not say where it serves:\n{log}"));
        log.push_str(&line);
        log.push('\n');
        grpc = grpc.or_else(|| value(&line, " listen="));
        pages = pages.or_else(|| value(&line, " pages="));
    }
    let (grpc, pages) = (grpc.unwrap(), pages.unwrap());
    assert_ne!(grpc, pages);
    // The dashboard (open to loopback in development) on the pages' address only.
    let a = midoffice_tests::http::send_to(&pages, "GET", "/dashboard/gemeente-a.csv", "").await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(a.body.contains("contacts"), "{}", a.body);
    let a = midoffice_tests::http::send_to(&grpc, "GET", "/dashboard/gemeente-a.csv", "").await;
    assert_eq!(a.status, 404, "{}", a.body);
    let a = midoffice_tests::http::send_to(&pages, "GET", "/", "").await;
    assert_eq!(a.status, 404, "{}", a.body);
    drop(running);
}
