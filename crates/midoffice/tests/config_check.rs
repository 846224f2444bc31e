//! `midoffice config check FILE` on the real binary: every shipped example
//! configuration passes; a broken file fails naming the key; the effective settings
//! are printed with where they came from, and no secret is shown (the database
//! password, the secret file's content, the API key hashes).

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};

/// A secret for the tests, from the environment, as a deployment gives it.
const SECRET: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

fn check(dir: &Path, file: &Path, env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_midoffice"))
        .env_clear()
        .env("MIDOFFICE_SECRET", SECRET)
        .envs(env.iter().copied())
        .args(["config", "check"])
        .arg(file)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("the binary runs")
}

#[test]
fn every_shipped_example_configuration_passes() {
    let deploy = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy");
    let examples = common::files(&deploy, &["toml"]);
    assert!(
        !examples.is_empty(),
        "no example under {}",
        deploy.display()
    );
    for example in examples {
        let dir = tempfile::tempdir().expect("a temp folder");
        let out = check(dir.path(), &example, &[]);
        let text = common::said(&out);
        assert!(out.status.success(), "{}: {text}", example.display());
        assert!(text.contains("server.listen = "), "{text}");
        assert!(text.contains(": valid"), "{text}");
        // Checked without connecting: no database was created.
        assert!(
            !dir.path().join("data").exists(),
            "config check created the data folder"
        );
    }
}

#[test]
fn a_broken_file_fails_naming_the_key() {
    let dir = tempfile::tempdir().expect("a temp folder");
    for (text, key) in [
        ("[server]\nlisten = \"not an address\"\n", "server.listen"),
        ("[server]\nlistn = \"127.0.0.1:1\"\n", "listn"),
        ("[server]\nmode = \"staging\"\n", "server.mode"),
        (
            "[telemetry]\nmetrics_interval_seconds = 0\n",
            "telemetry.metrics_interval_seconds",
        ),
        (
            "[[events.subscribers]]\ntenant = \"gemeente-a\"\nname = \"crm\"\n\
             url = \"http://crm.example.nl/hooks\"\nsecret_env = \"HOOK\"\n",
            "https://",
        ),
        (
            "[[events.subscribers]]\ntenant = \"gemeente-a\"\nname = \"crm\"\n\
             url = \"https://crm.example.nl/hooks\"\nsecret = \"inline\"\n",
            "secret",
        ),
        ("[events]\nmax_attempts = 0\n", "events.max_attempts"),
        (
            "[benchmark]\nmin_participants = 4\n",
            "benchmark.min_participants must be at least 5",
        ),
        (
            "[benchmark]\ncompose_after_days = 400\n",
            "benchmark.compose_after_days",
        ),
        // Valid alone, refused by serve: no credentials off loopback.
        ("[server]\nlisten = \"0.0.0.0:50051\"\n", "no credentials"),
    ] {
        let file = dir.path().join("broken.toml");
        std::fs::write(&file, text).expect("the file is written");
        let out = check(dir.path(), &file, &[]);
        let said = common::said(&out);
        assert_eq!(out.status.code(), Some(1), "{text} passed: {said}");
        assert!(said.contains(key), "{key} missing in {said}");
    }
    // A subscriber whose secret is in the environment passes; the secret is not shown.
    let file = dir.path().join("events.toml");
    std::fs::write(
        &file,
        "[[events.subscribers]]\ntenant = \"gemeente-a\"\nname = \"crm\"\n\
         url = \"https://crm.example.nl/hooks\"\nsecret_env = \"HOOK\"\n",
    )
    .expect("the file is written");
    let out = check(dir.path(), &file, &[("HOOK", "a-hook-secret-of-20-bytes")]);
    let said = common::said(&out);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("events.subscribers: 1"), "{said}");
    assert!(!said.contains("a-hook-secret"), "{said}");
    // The benchmark's disclosure rules: the floors unless the file asks for more.
    assert!(
        said.contains(
            "benchmark.min_participants = 5, min_contacts = 30, min_answers = 50, \
             compose_after_days = 7"
        ),
        "{said}"
    );
    let out = check(dir.path(), &file, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", common::said(&out));
    assert!(
        common::said(&out).contains("HOOK"),
        "{}",
        common::said(&out)
    );
    let missing = check(dir.path(), &dir.path().join("absent.toml"), &[]);
    assert_eq!(missing.status.code(), Some(1), "{}", common::said(&missing));
}

#[test]
fn the_effective_settings_show_their_origin_and_no_secret() {
    let dir = tempfile::tempdir().expect("a temp folder");
    let key_hash = "5f".repeat(32);
    let secret_content = "0123456789abcdef".repeat(4);
    let secret_file = dir.path().join("secret.key");
    std::fs::write(&secret_file, &secret_content).expect("the secret is written");
    let file = dir.path().join("midoffice.toml");
    std::fs::write(
        &file,
        format!(
            "[server]\nmode = \"development\"\n\
             [database]\nurl = \"postgres://midoffice:FilePassw0rd@db.example.invalid:5432/midoffice\"\n\
             read_url = \"postgres://midoffice:ReadPassw0rd@standby.example.invalid/midoffice\"\n\
             [secret]\nfile = \"{}\"\n\
             [[access.keys]]\nname = \"kcc-telefonie\"\nsha256 = \"{key_hash}\"\n\
             tenants = [\"gemeente-a\"]\nroles = [\"channel\"]\n",
            secret_file.display()
        ),
    )
    .expect("the file is written");

    // From the file; the secret from the file (MIDOFFICE_SECRET empty is unset).
    let out = check(dir.path(), &file, &[("MIDOFFICE_SECRET", "")]);
    let text = common::said(&out);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("database.url = postgres://midoffice:***@db.example.invalid:5432/midoffice"),
        "{text}"
    );
    assert!(text.contains("database.url in "), "no origin: {text}");
    assert!(
        text.contains(
            "database.read_url = postgres://midoffice:***@standby.example.invalid/midoffice"
        ),
        "{text}"
    );
    assert!(
        text.contains("server.listen = 127.0.0.1:50051  (default)"),
        "{text}"
    );
    assert!(text.contains("access.keys: 1"), "{text}");
    assert!(text.contains("kcc-telefonie"), "{text}");
    for secret in [
        "FilePassw0rd",
        "ReadPassw0rd",
        key_hash.as_str(),
        secret_content.as_str(),
    ] {
        assert!(!text.contains(secret), "{secret} shown: {text}");
    }

    // The environment overrides the file, and says so; its password is masked too.
    let out = check(
        dir.path(),
        &file,
        &[(
            "MIDOFFICE__DATABASE__URL",
            "postgres://midoffice:EnvPassw0rd@db2.example.invalid/midoffice?password=QueryPassw0rd",
        )],
    );
    let text = common::said(&out);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("(MIDOFFICE__DATABASE__URL)"), "{text}");
    assert!(text.contains("db2.example.invalid"), "{text}");
    assert!(text.contains("from MIDOFFICE_SECRET (not shown)"), "{text}");
    for secret in ["FilePassw0rd", "EnvPassw0rd", "QueryPassw0rd", SECRET] {
        assert!(!text.contains(secret), "{secret} shown: {text}");
    }
}
