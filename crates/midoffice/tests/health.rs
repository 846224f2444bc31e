//! `midoffice health` on the real binary against a real `serve`: SERVING for the
//! server and for each of its services (exit 0), an unknown service, a closed port and
//! an address with a scheme each refused (exit 1) with a line saying why.

mod common;

use midoffice_tests::{TestDatabase, database_test};
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn health(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_midoffice"))
        .env_clear()
        .arg("health")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("the binary runs")
}

database_test!(
    health_says_serving_for_a_running_server,
    flavor = "multi_thread",
    worker_threads = 2
);
async fn health_says_serving_for_a_running_server(database: TestDatabase) {
    let dir = tempfile::tempdir().expect("a temp folder");
    let scratch = database
        .scratch()
        .await
        .unwrap_or_else(|e| panic!("a scratch database on {database}: {e}"));
    let server = common::launch(
        Path::new(env!("CARGO_BIN_EXE_midoffice")),
        &scratch.url,
        dir.path(),
    )
    .await;
    let addr = server
        .url
        .strip_prefix("http://")
        .expect("an http:// URL")
        .to_owned();

    let out = health(&["--addr", &addr]);
    assert_eq!(out.status.code(), Some(0), "{}", common::said(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("{addr}: SERVING")
    );

    let out = health(&["--addr", &addr, "--service", "midoffice.v1.ContactService"]);
    assert_eq!(out.status.code(), Some(0), "{}", common::said(&out));

    let out = health(&["--addr", &addr, "--service", "midoffice.v1.NoSuchService"]);
    assert_eq!(out.status.code(), Some(1), "{}", common::said(&out));
    assert!(
        common::said(&out).contains("does not know this service"),
        "{}",
        common::said(&out)
    );
    assert!(out.stdout.is_empty(), "{}", common::said(&out));

    let out = health(&["--addr", &format!("http://{addr}")]);
    assert_eq!(out.status.code(), Some(1), "{}", common::said(&out));
    assert!(
        common::said(&out).contains("HOST:PORT"),
        "{}",
        common::said(&out)
    );
}

#[test]
fn health_fails_on_a_closed_port() {
    let addr = format!("127.0.0.1:{}", common::free_port());
    let out = health(&["--addr", &addr]);
    assert_eq!(out.status.code(), Some(1), "{}", common::said(&out));
    let text = common::said(&out);
    assert!(
        text.contains(&format!("midoffice health: {addr}: cannot connect")),
        "{text}"
    );
    assert!(out.stdout.is_empty(), "{text}");
}
