//! `midoffice benchmark keygen|export|import`: the real binary on the database of a
//! server (SQLite, and PostgreSQL when the URL is set) that recorded contacts for a
//! tenant taking part. Export then import round-trips to the same stored line and
//! signature; a tampered byte, or a valid signature from another key, is refused with
//! nothing stored; a newer summary replaces, an older does not; one imported after its
//! group-period was composed is kept and said to be too late for the fixed membership;
//! exit codes and messages.

use midoffice_domain::Code;
use midoffice_domain::benchmark::BenchmarkPeriod;
use midoffice_tests::pb::{self, Channel};
use midoffice_tests::{TENANT, bsn, database_test, on_backend, resolved, start};
use std::path::Path;
use std::process::{Command, Stdio};

/// Runs the binary in `dir` with a clean environment: (success, stdout, stderr).
fn midoffice(dir: &Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_midoffice"))
        .env_clear()
        .current_dir(dir)
        .stdin(Stdio::null())
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A new key pair in `dir/name`: its public key.
fn keygen(dir: &Path, name: &str) -> String {
    let (ok, out, err) = midoffice(dir, &["benchmark", "keygen", "--private-key", name]);
    assert!(ok, "{out}{err}");
    out.trim().to_owned()
}

fn export(dir: &Path, db: &str, key: &str, as_of: &str) -> (bool, String, String) {
    midoffice(
        dir,
        &[
            "benchmark",
            "export",
            "--tenant",
            TENANT,
            "--period",
            "2025-Q1",
            "--key",
            key,
            "--as-of",
            as_of,
            "--database-url",
            db,
        ],
    )
}

fn import(dir: &Path, db: &str, files: &[&str]) -> (bool, String, String) {
    let mut args = vec![
        "benchmark",
        "import",
        "--config",
        "midoffice.toml",
        "--database-url",
        db,
    ];
    args.extend(files);
    midoffice(dir, &args)
}

/// The summaries kept for the group and period: (line, signature).
async fn kept(db: &str) -> Vec<(String, String)> {
    let store = midoffice_store::Store::connect(db).await.unwrap();
    store
        .benchmark_imports(
            &Code::parse("g4-plus").unwrap(),
            BenchmarkPeriod::parse("2025-Q1").unwrap(),
        )
        .await
        .unwrap()
        .into_iter()
        .map(|(line, signature, _)| (line, signature))
        .collect()
}

/// The summary file's two lines, without `ed25519 `.
/// The group and period the tests export and import: g4-plus, 2025-Q1.
fn g4_plus_q1() -> (Code, BenchmarkPeriod) {
    (
        Code::parse("g4-plus").unwrap(),
        BenchmarkPeriod::parse("2025-Q1").unwrap(),
    )
}

/// g4-plus for 2025-Q1 composed on `store` at the instant it falls due (grace 7 days).
async fn compose_when_due(store: &midoffice_store::Store) -> midoffice_store::ComposedGroup {
    let (group, q1) = g4_plus_q1();
    let due = midoffice_domain::benchmark::composable_from(q1, 7);
    match store
        .compose_benchmark_group(&group, q1, due, 7)
        .await
        .unwrap()
    {
        midoffice_store::GroupState::Composed(c) => c,
        other => panic!("not composed: {other:?}"),
    }
}

/// The ids of a composed group's members.
fn member_ids(composed: &midoffice_store::ComposedGroup) -> Vec<&str> {
    composed
        .group
        .members()
        .iter()
        .map(|m| m.as_str())
        .collect()
}

fn lines(text: &str) -> (String, String) {
    let (line, rest) = text.split_once('\n').unwrap();
    let sig = rest.trim_end().strip_prefix("ed25519 ").unwrap();
    (line.to_owned(), sig.to_owned())
}

database_test!(a_summary_exported_and_imported_is_kept_and_a_tampered_one_is_refused);
async fn a_summary_exported_and_imported_is_kept_and_a_tampered_one_is_refused(
    database: midoffice_tests::TestDatabase,
) {
    on_backend(database, |b| async move {
        for (i, day) in ["2025-02-03", "2025-02-04", "2025-03-05"]
            .iter()
            .enumerate()
        {
            b.record(
                TENANT,
                pb::RecordContactRequest {
                    request_id: format!("bench-{i}"),
                    start: Some(start(
                        Channel::Phone,
                        &format!("{day}T09:00:00+01:00"),
                        (i != 2).then(|| bsn("999990019")),
                        "paspoort",
                    )),
                    completion: Some(resolved(
                        &format!("{day}T09:00:10+01:00"),
                        &format!("{day}T09:04:00+01:00"),
                        "Paspoort verlopen.",
                    )),
                    context_seen: true,
                },
            )
            .await;
        }
        let db = b.db_url().to_owned();
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();

        // Not taking part yet: nothing is exported.
        let public = keygen(d, "own.key");
        let (ok, out, err) = export(d, &db, "own.key", "2025-04-02T03:00:00Z");
        assert!(!ok && out.is_empty(), "{out}{err}");
        assert!(err.contains("does not take part in the benchmark"), "{err}");

        b.change_settings(TENANT, |s| {
            s.benchmark = Some(pb::BenchmarkParticipation {
                opted_in: true,
                size: 20_000,
                peer_group: "g4-plus".into(),
                named: true,
                ..Default::default()
            });
        })
        .await;

        // keygen: the private key in a new file of mode 0600, never overwritten.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(d.join("own.key"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let (ok, _, err) = midoffice(d, &["benchmark", "keygen", "--private-key", "own.key"]);
        assert!(!ok && err.contains("cannot create own.key"), "{err}");
        let other_public = keygen(d, "other.key");
        assert_ne!(public, other_public);
        std::fs::write(
            d.join("midoffice.toml"),
            format!("[benchmark.participants]\n{TENANT} = \"{public}\"\n"),
        )
        .unwrap();

        // Export to stdout and to a file: the same signed summary.
        let (ok, summary, err) = export(d, &db, "own.key", "2025-04-02T03:00:00Z");
        assert!(ok, "{err}");
        assert!(
            summary.starts_with(&format!(
                "{{\"format\":\"midoffice-benchmark-summary\",\"version\":1,\
                 \"participant\":\"{TENANT}\",\"group\":\"g4-plus\",\"period\":\"2025-Q1\",\
                 \"as_of\":\"2025-04-02T03:00:00Z\",\"size\":20000,\"named\":true,\
                 \"registration\":{{\"contacts\":3,\"anonymous\":1,\"without_outcome\":0}}"
            )),
            "{summary}"
        );
        assert!(
            summary.contains(
                "{\"id\":\"contacts-per-1000\",\"version\":1,\"numerator\":3,\
                 \"denominator\":20000,\"items\":3}"
            ),
            "{summary}"
        );
        assert!(!summary.contains("999990019"));
        let (ok, out, err) = midoffice(
            d,
            &[
                "benchmark",
                "export",
                "--tenant",
                TENANT,
                "--period",
                "2025-Q1",
                "--key",
                "own.key",
                "--as-of",
                "2025-04-02T03:00:00Z",
                "--database-url",
                &db,
                "--out",
                "a.summary",
            ],
        );
        assert!(ok && out.is_empty(), "{out}{err}");
        assert_eq!(
            std::fs::read_to_string(d.join("a.summary")).unwrap(),
            summary
        );

        // Import: kept as exported.
        let (ok, out, err) = import(d, &db, &["a.summary"]);
        assert!(ok, "{out}{err}");
        assert!(
            out.contains(&format!(
                "a.summary: participant {TENANT}, group g4-plus, period 2025-Q1, as of \
                 2025-04-02T03:00:00Z: stored"
            )),
            "{out}"
        );
        assert_eq!(kept(&db).await, vec![lines(&summary)]);

        // One byte changed: refused, and nothing of the command kept (a valid newer
        // summary given with it included).
        let tampered = summary.replacen("\"contacts\":3", "\"contacts\":4", 1);
        assert_ne!(tampered, summary);
        std::fs::write(d.join("tampered.summary"), &tampered).unwrap();
        let (ok, newer, err) = export(d, &db, "own.key", "2025-04-03T03:00:00Z");
        assert!(ok, "{err}");
        std::fs::write(d.join("newer.summary"), &newer).unwrap();
        let (ok, out, err) = import(d, &db, &["newer.summary", "tampered.summary"]);
        assert!(!ok, "{out}{err}");
        assert!(
            err.contains(&format!(
                "tampered.summary: refused: the signature does not verify with participant \
                 {TENANT}'s public key"
            )),
            "{err}"
        );
        assert!(
            err.contains("nothing imported (1 of 2 file(s) refused)"),
            "{err}"
        );
        assert_eq!(kept(&db).await, vec![lines(&summary)]);

        // A valid signature, from another key than the participant's: refused.
        let (ok, foreign, err) = export(d, &db, "other.key", "2025-04-04T03:00:00Z");
        assert!(ok, "{err}");
        std::fs::write(d.join("foreign.summary"), &foreign).unwrap();
        let (ok, out, err) = import(d, &db, &["foreign.summary"]);
        assert!(!ok, "{out}{err}");
        assert!(err.contains("does not verify with participant"), "{err}");
        assert_eq!(kept(&db).await, vec![lines(&summary)]);

        // A newer summary replaces the one kept; an older one does not.
        let (ok, out, err) = import(d, &db, &["newer.summary"]);
        assert!(
            ok && out.contains("replaced the summary kept"),
            "{out}{err}"
        );
        assert_eq!(kept(&db).await, vec![lines(&newer)]);
        let (ok, out, err) = import(d, &db, &["a.summary"]);
        assert!(ok && out.contains("not stored"), "{out}{err}");
        assert_eq!(kept(&db).await, vec![lines(&newer)]);

        // Once the group-period is composed, a summary imported after is kept, and the
        // command says the membership is fixed; the composition does not change.
        let store = midoffice_store::Store::connect(&db).await.unwrap();
        let (group, q1) = g4_plus_q1();
        let composed = compose_when_due(&store).await;
        // The tenant is local here: its own counts, not its imported summary.
        assert_eq!(member_ids(&composed), [TENANT]);
        let (ok, latest, err) = export(d, &db, "own.key", "2025-04-05T03:00:00Z");
        assert!(ok, "{err}");
        std::fs::write(d.join("latest.summary"), &latest).unwrap();
        let (ok, out, err) = import(d, &db, &["latest.summary"]);
        assert!(ok, "{out}{err}");
        assert!(
            out.contains(
                "replaced the summary kept; the group g4-plus for 2025-Q1 was composed at \
                 2025-04-09T00:00:00Z, its membership is fixed"
            ),
            "{out}"
        );
        assert_eq!(kept(&db).await, vec![lines(&latest)]);
        assert_eq!(
            store.benchmark_group(&group, q1).await.unwrap(),
            Some(composed)
        );

        // Bad input: exit 1 with a message naming it.
        let (ok, _, err) = midoffice(
            d,
            &[
                "benchmark",
                "export",
                "--tenant",
                TENANT,
                "--period",
                "2025-Q5",
                "--key",
                "own.key",
                "--database-url",
                &db,
            ],
        );
        assert!(!ok && err.contains("--period must be"), "{err}");
        std::fs::write(d.join("bad.key"), "not a key").unwrap();
        let (ok, _, err) = export(d, &db, "bad.key", "2025-04-02T03:00:00Z");
        assert!(
            !ok && err.contains("bad.key: not an Ed25519 private key"),
            "{err}"
        );
        let elsewhere = tempfile::tempdir().unwrap();
        let file = d.join("a.summary");
        let (ok, _, err) = midoffice(
            elsewhere.path(),
            &[
                "benchmark",
                "import",
                "--database-url",
                &db,
                file.to_str().unwrap(),
            ],
        );
        assert!(!ok && err.contains("[benchmark.participants]"), "{err}");
        std::fs::write(
            d.join("midoffice.toml"),
            format!("[benchmark.participants]\n{TENANT} = \"bm90IGEga2V5\"\n"),
        )
        .unwrap();
        let (ok, _, err) = import(d, &db, &["a.summary"]);
        assert!(
            !ok && err.contains("benchmark.participants.gemeente-a"),
            "{err}"
        );
    })
    .await;
}

database_test!(a_summary_imported_into_another_deployment_makes_its_participant_a_member_there);
async fn a_summary_imported_into_another_deployment_makes_its_participant_a_member_there(
    database: midoffice_tests::TestDatabase,
) {
    let other = database.clone();
    on_backend(database, move |a| async move {
        // Deployment B: a database of its own, without the tenant of deployment A.
        let b_scratch = other
            .scratch()
            .await
            .unwrap_or_else(|e| panic!("no second database on {other}: {e}"));
        let b_db = b_scratch.url.clone();
        let outcome = tokio::spawn(across_deployments(a, b_db)).await;
        b_scratch.drop_db().await;
        if let Err(e) = outcome {
            std::panic::resume_unwind(e.into_panic());
        }
    })
    .await;
}

/// A's tenant takes part and exports its summary; B imports it and composes the group.
async fn across_deployments(a: std::sync::Arc<midoffice_tests::Backend>, b_db: String) {
    // Two contacts in the quarter (one anonymous), one after it.
    for (i, day) in ["2025-01-20", "2025-03-31", "2025-04-01"]
        .into_iter()
        .enumerate()
    {
        a.record(
            TENANT,
            pb::RecordContactRequest {
                request_id: format!("across-{i}"),
                start: Some(start(
                    Channel::Phone,
                    &format!("{day}T10:00:00+01:00"),
                    (i != 0).then(|| bsn("999990019")),
                    "paspoort",
                )),
                completion: Some(resolved(
                    &format!("{day}T10:00:10+01:00"),
                    &format!("{day}T10:03:00+01:00"),
                    "Paspoort verlopen.",
                )),
                context_seen: true,
            },
        )
        .await;
    }
    a.change_settings(TENANT, |s| {
        s.benchmark = Some(pb::BenchmarkParticipation {
            opted_in: true,
            size: 35_000,
            peer_group: "g4-plus".into(),
            named: false,
            ..Default::default()
        });
    })
    .await;
    let a_dir = tempfile::tempdir().unwrap();
    let public = keygen(a_dir.path(), "a.key");
    let (ok, summary, err) = export(a_dir.path(), a.db_url(), "a.key", "2025-04-03T08:00:00Z");
    assert!(ok, "{err}");
    let exported = midoffice_store::benchmark_summary::parse_canonical(&lines(&summary).0)
        .unwrap_or_else(|e| panic!("the export does not read back: {e}\n{summary}"));
    assert_eq!(exported.participant.as_str(), TENANT);
    assert_eq!(
        (
            exported.registration.contacts,
            exported.registration.anonymous
        ),
        (2, 1),
        "{summary}"
    );

    // B lists A's participant with A's public key; B has no tenant of that id.
    let b_dir = tempfile::tempdir().unwrap();
    let b = b_dir.path();
    std::fs::write(
        b.join("midoffice.toml"),
        format!("[benchmark.participants]\n{TENANT} = \"{public}\"\n"),
    )
    .unwrap();
    let b_store = midoffice_store::Store::connect(&b_db).await.unwrap();

    // A byte changed on the way: refused by B, nothing kept.
    let tampered = summary.replacen("\"size\":35000", "\"size\":35001", 1);
    assert_ne!(tampered, summary);
    std::fs::write(b.join("tampered.summary"), &tampered).unwrap();
    let (ok, out, err) = import(b, &b_db, &["tampered.summary"]);
    assert!(!ok, "{out}{err}");
    assert!(err.contains("does not verify with participant"), "{err}");
    assert_eq!(kept(&b_db).await, vec![]);

    // The summary as exported: stored by B.
    std::fs::write(b.join("a.summary"), &summary).unwrap();
    let (ok, out, err) = import(b, &b_db, &["a.summary"]);
    assert!(ok && out.contains(": stored"), "{out}{err}");
    assert_eq!(kept(&b_db).await, vec![lines(&summary)]);

    // B composes the group once the quarter is due: A's participant is a member, with
    // the counts of its summary (B has no local tenant of that id, so they can only
    // come from the import).
    let (group, q1) = g4_plus_q1();
    let composed = compose_when_due(&b_store).await;
    assert_eq!(member_ids(&composed), [TENANT]);
    assert_eq!(composed.participants, vec![exported.participant()]);
    assert_eq!(
        b_store.benchmark_group(&group, q1).await.unwrap(),
        Some(composed)
    );
}
