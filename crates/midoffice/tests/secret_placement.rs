//! The binary keeps the identifier secret out of the data folder outside development:
//! started for production with the default secret file (inside the data folder), it
//! refuses to start and says how to configure the secret; started with the defaults
//! (loopback, SQLite: development), it generates the secret in the data folder.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn midoffice(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_midoffice"));
    // No configuration from the environment of the test run or a local file.
    cmd.env_clear()
        .env("RUST_LOG", "info")
        .current_dir(dir)
        .stdin(Stdio::null());
    cmd
}

#[test]
fn production_refuses_a_secret_in_the_data_folder_and_says_how_to_configure_it() {
    let dir = tempfile::tempdir().expect("a scratch folder");
    for args in [
        // Inferred: a non-loopback address is production.
        vec!["--listen", "0.0.0.0:0"],
        // Set explicitly.
        vec!["--listen", "127.0.0.1:0", "--mode", "production"],
    ] {
        let out = midoffice(dir.path())
            .args(["serve", "--data-dir", "data"])
            .args(&args)
            .output()
            .expect("run midoffice");
        assert!(!out.status.success(), "{args:?} started");
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        for needed in ["MIDOFFICE_SECRET", "secret.file", "data"] {
            assert!(said.contains(needed), "{args:?}: {said}");
        }
        assert!(
            !dir.path().join("data").join("secret.key").exists(),
            "{args:?}: a secret was generated in the data folder"
        );
    }
}

#[test]
fn development_is_the_default_and_generates_the_secret_in_the_data_folder() {
    let dir = tempfile::tempdir().expect("a scratch folder");
    let mut child = midoffice(dir.path())
        .args(["serve", "--data-dir", "data", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start midoffice");
    let secret = dir.path().join("data").join("secret.key");
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut exited = None;
    while !secret.exists() && Instant::now() < deadline {
        if let Some(status) = child.try_wait().expect("poll midoffice") {
            exited = Some(status);
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let still_running = child.try_wait().expect("poll midoffice").is_none();
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(exited, None, "midoffice stopped in development");
    assert!(still_running, "midoffice stopped in development");
    assert!(
        secret.exists(),
        "no secret was generated in the data folder"
    );
}
