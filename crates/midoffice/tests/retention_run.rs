//! `midoffice retention run`: the real binary, on the database of a server that
//! recorded a contact, deletes it as of a later instant and prints the counts per tenant.

use midoffice_tests::pb::{self, Channel};
use midoffice_tests::{TENANT, bsn, database_test, on_backend, request, resolved, start};
use std::process::{Command, Stdio};

fn run(db_url: &str, as_of: &str) -> (bool, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_midoffice"))
        .env_clear()
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .args([
            "retention",
            "run",
            "--database-url",
            db_url,
            "--as-of",
            as_of,
        ])
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

database_test!(a_pass_run_from_the_command_line_deletes_and_says_what);
async fn a_pass_run_from_the_command_line_deletes_and_says_what(
    database: midoffice_tests::TestDatabase,
) {
    on_backend(database, |b| async move {
        let id = b
            .record(
                TENANT,
                pb::RecordContactRequest {
                    request_id: "cli-1".into(),
                    start: Some(start(
                        Channel::Phone,
                        "2025-03-03T09:00:00+01:00",
                        Some(bsn("999990019")),
                        "paspoort",
                    )),
                    completion: Some(resolved(
                        "2025-03-03T09:00:10+01:00",
                        "2025-03-03T09:04:00+01:00",
                        "Paspoort verlopen.",
                    )),
                    context_seen: true,
                },
            )
            .await
            .id;
        let url = b.db_url().to_owned();
        // Before the horizon reaches it: nothing goes.
        let (ok, out, err) = run(&url, "2026-03-03T00:00:00Z");
        assert!(ok, "{out}{err}");
        assert!(out.contains(&format!("{TENANT}\t0\t0\t0\t")), "{out}");
        // 24 months (the default) after the day it started: it goes with its case,
        // its party and the answer kept for its key.
        let (ok, out, err) = run(&url, "2027-03-04T00:00:00Z");
        assert!(ok, "{out}{err}");
        assert!(out.starts_with("tenant\tcases\tcontacts\tparties"), "{out}");
        assert!(out.contains(&format!("{TENANT}\t1\t1\t1\t")), "{out}");
        let gone = b
            .contacts()
            .get_contact(request(
                TENANT,
                pb::GetContactRequest {
                    contact_id: id.clone(),
                },
            ))
            .await
            .expect_err("the contact is gone");
        assert_eq!(gone.code(), tonic::Code::NotFound);
        let (ok, _, err) = run(&url, "yesterday");
        assert!(!ok && err.contains("--as-of"), "{err}");
    })
    .await;
}
