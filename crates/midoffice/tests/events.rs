//! Events to webhook subscribers, black-box: the real binary with `[events]` in its
//! configuration file, and webhook receivers on loopback (a small HTTP/1.1 server in
//! this test). On SQLite and on PostgreSQL.
//!
//! While the receiver of tenant A accepts only `contact.completed` events (500 to the
//! rest), contacts are recorded (a callback that stays open and falls overdue, a
//! callback that a later outbound call fulfils, a refused record), and one of tenant B;
//! once some were accepted and every rejected one was tried twice (so the attempts
//! before are stored) the server is killed with its deliveries pending, the receiver
//! answers 200 from then on, and a second server on the same database delivers: each
//! expected event arrives accepted exactly once (by id: none accepted before the
//! restart comes again), the events rejected before arrive again with the same id,
//! every signature verifies,
//! the envelope is the NL GOV CloudEvents profile's, nothing else arrives (not the
//! refused write's, not the other tenant's), and no body holds a BSN, e-mail address or
//! phone number.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use midoffice_tests::pb::{self, Channel};
use midoffice_tests::{TestDatabase, at, bsn, request, start};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

mod common;
use common::{channel, launch_with_env, on_scratch_postgres};

const TENANT_A: &str = "gemeente-ev-a";
const TENANT_B: &str = "gemeente-ev-b";
const SECRET_A: &str = "secret-of-tenant-a-0123456789";
const SECRET_B: &str = "secret-of-tenant-b-0123456789";
const BSN_A: &str = "999990019";
const BSN_C: &str = "999990020";
const EMAIL: &str = "burger@example.nl";
const PHONE: &str = "0612345678";
/// The one type a picky receiver accepts.
const COMPLETED: &str = "nl.midoffice.contact.completed";

/// One request a receiver got, and whether it accepted it.
#[derive(Clone, Debug)]
struct Got {
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
    accepted: bool,
}

/// A webhook receiver on loopback: while `picky`, answers 200 to `contact.completed`
/// events and 500 to the others; else 200.
#[derive(Clone)]
struct Receiver {
    url: String,
    picky: Arc<AtomicBool>,
    got: Arc<Mutex<Vec<Got>>>,
}

impl Receiver {
    async fn start(picky: bool) -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hooks", listener.local_addr().unwrap());
        let r = Receiver {
            url,
            picky: Arc::new(AtomicBool::new(picky)),
            got: Arc::default(),
        };
        let me = r.clone();
        tokio::spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    return;
                };
                let me = me.clone();
                tokio::spawn(async move { me.serve(socket).await });
            }
        });
        r
    }

    async fn serve(&self, mut socket: tokio::net::TcpStream) {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i;
            }
            match socket.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        let mut headers = BTreeMap::new();
        for line in head.lines().skip(1) {
            if let Some((k, v)) = line.split_once(':') {
                headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
            }
        }
        let first = head.lines().next().unwrap_or_default().to_owned();
        headers.insert(":request".into(), first);
        let length: usize = headers
            .get("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut body = buf[head_end + 4..].to_vec();
        while body.len() < length {
            match socket.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => body.extend_from_slice(&chunk[..n]),
            }
        }
        let mut got = Got {
            headers,
            body,
            accepted: true,
        };
        got.accepted = !self.picky.load(Ordering::SeqCst) || key_of(&got).0.0 == COMPLETED;
        let accepted = got.accepted;
        self.got.lock().unwrap().push(got);
        let status = if accepted {
            "200 OK"
        } else {
            "500 Internal Server Error"
        };
        let _ = socket
            .write_all(
                format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                    .as_bytes(),
            )
            .await;
        let _ = socket.shutdown().await;
    }

    fn all(&self) -> Vec<Got> {
        self.got.lock().unwrap().clone()
    }
}

/// An event as received: (type, subject) and its id.
fn key_of(g: &Got) -> ((String, String), String) {
    let v: serde_json::Value = serde_json::from_slice(&g.body).expect("a JSON body");
    (
        (
            v["type"].as_str().unwrap_or_default().to_owned(),
            v["subject"].as_str().unwrap_or_default().to_owned(),
        ),
        v["id"].as_str().unwrap_or_default().to_owned(),
    )
}

/// Records a contact: answers its id and case id, or the refusal.
async fn record(
    ch: &tonic::transport::Channel,
    tenant: &str,
    s: pb::ContactStart,
    completion: pb::ContactCompletion,
) -> Result<(String, String), tonic::Status> {
    let c = pb::contact_service_client::ContactServiceClient::new(ch.clone())
        .record_contact(request(
            tenant,
            pb::RecordContactRequest {
                request_id: String::new(),
                start: Some(s),
                completion: Some(completion),
                context_seen: true,
            },
        ))
        .await?
        .into_inner()
        .contact
        .expect("a contact");
    Ok((c.id, c.case_id))
}

fn completion(outcome: pb::Outcome, ended: &str, due: Option<&str>) -> pb::ContactCompletion {
    pb::ContactCompletion {
        ended_at: Some(at(ended)),
        answered_at: Some(at(ended)),
        outcome: outcome as i32,
        story: format!("Bel mij terug op {PHONE} of mail {EMAIL}, BSN {BSN_A}."),
        department: "burgerzaken".into(),
        due_at: due.map(at),
        ..Default::default()
    }
}

fn ty(name: &str) -> String {
    format!("nl.midoffice.{name}")
}

/// Waits (up to two minutes) until `done` holds of what `r` got.
async fn until(r: &Receiver, what: &str, done: impl Fn(&[Got]) -> bool) {
    for _ in 0..1200 {
        if done(&r.all()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let seen: Vec<_> = r.all().iter().map(|g| (key_of(g), g.accepted)).collect();
    panic!("{what}: not within two minutes; got {seen:?}");
}

async fn scenario(db_url: String) {
    let binary = Path::new(env!("CARGO_BIN_EXE_midoffice"));
    let dir = tempfile::tempdir().unwrap();
    let a = Receiver::start(true).await;
    let b = Receiver::start(false).await;
    let secret_file = dir.path().join("hook-a.secret");
    std::fs::write(&secret_file, format!("{SECRET_A}\n")).unwrap();
    let config = dir.path().join("midoffice.toml");
    std::fs::write(
        &config,
        format!(
            "[events]\nretry_initial_seconds = 1\nretry_max_seconds = 2\n\
             overdue_interval_seconds = 1\n\n\
             [[events.subscribers]]\ntenant = \"{TENANT_A}\"\nname = \"crm\"\n\
             url = \"{}\"\nsecret_file = \"{}\"\n\n\
             [[events.subscribers]]\ntenant = \"{TENANT_B}\"\nname = \"other\"\n\
             url = \"{}\"\nsecret_env = \"HOOK_B_SECRET\"\n",
            a.url,
            secret_file.display(),
            b.url
        ),
    )
    .unwrap();
    let config_path = config.display().to_string();
    let env = [
        ("MIDOFFICE_CONFIG", config_path.as_str()),
        ("HOOK_B_SECRET", SECRET_B),
    ];

    let server = launch_with_env(binary, &db_url, dir.path(), &env).await;
    let ch = channel(&server.url).await;
    // A callback that stays open: made, then overdue (its due time has passed).
    let (open_id, _) = record(
        &ch,
        TENANT_A,
        start(
            Channel::Phone,
            "2026-03-02T09:00:00+01:00",
            Some(bsn(BSN_A)),
            "paspoort",
        ),
        completion(
            pb::Outcome::Callback,
            "2026-03-02T09:10:00+01:00",
            Some("2026-03-03T17:00:00+01:00"),
        ),
    )
    .await
    .unwrap();
    // A callback due far ahead, fulfilled by an outbound call that reaches the citizen.
    let (kept_id, case_id) = record(
        &ch,
        TENANT_A,
        start(
            Channel::Phone,
            "2026-03-02T10:00:00+01:00",
            Some(bsn(BSN_C)),
            "afval",
        ),
        completion(
            pb::Outcome::Callback,
            "2026-03-02T10:10:00+01:00",
            Some("2099-03-03T17:00:00+01:00"),
        ),
    )
    .await
    .unwrap();
    let mut call = start(Channel::Phone, "2026-03-02T11:00:00+01:00", None, "");
    call.direction = pb::Direction::Outbound as i32;
    call.case_id = case_id;
    let (call_id, _) = record(
        &ch,
        TENANT_A,
        call,
        completion(pb::Outcome::Resolved, "2026-03-02T11:05:00+01:00", None),
    )
    .await
    .unwrap();
    // A refused write (a due time before the promise): nothing is kept, nothing sent.
    let refused = record(
        &ch,
        TENANT_A,
        start(
            Channel::Phone,
            "2026-03-02T12:00:00+01:00",
            Some(bsn(BSN_A)),
            "paspoort",
        ),
        completion(
            pb::Outcome::Callback,
            "2026-03-02T12:10:00+01:00",
            Some("2026-03-01T12:00:00+01:00"),
        ),
    )
    .await
    .expect_err("a due time before the promise is refused");
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);
    // Tenant B's contact.
    let (b_id, _) = record(
        &ch,
        TENANT_B,
        start(
            Channel::Counter,
            "2026-03-02T09:00:00+01:00",
            Some(bsn(BSN_A)),
            "paspoort",
        ),
        completion(pb::Outcome::Resolved, "2026-03-02T09:05:00+01:00", None),
    )
    .await
    .unwrap();

    let expected_a: BTreeSet<(String, String)> = [
        (ty("contact.completed"), open_id.clone()),
        (ty("commitment.made"), open_id.clone()),
        (ty("commitment.overdue"), open_id.clone()),
        (ty("contact.completed"), kept_id.clone()),
        (ty("commitment.made"), kept_id.clone()),
        (ty("contact.completed"), call_id.clone()),
        (ty("commitment.fulfilled"), kept_id.clone()),
    ]
    .into_iter()
    .collect();
    // Every event of A tried: the completions accepted, the others rejected and each
    // tried again (a retry is claimed after the batch of the attempt before ended, so
    // the deliveries accepted so far are stored as done). Then the server is killed
    // with the rejected deliveries pending.
    until(
        &a,
        "the completions of A accepted, the rest tried twice",
        |got| {
            expected_a.iter().all(|k| {
                let tries: Vec<bool> = got
                    .iter()
                    .filter(|g| key_of(g).0 == *k)
                    .map(|g| g.accepted)
                    .collect();
                if k.0 == COMPLETED {
                    tries == [true]
                } else {
                    tries.len() >= 2 && tries.iter().all(|ok| !ok)
                }
            })
        },
    )
    .await;
    let accepted_before = a.all().iter().filter(|g| g.accepted).count();
    assert_eq!(
        accepted_before, 3,
        "three completions accepted before the restart"
    );
    drop(server);
    a.picky.store(false, Ordering::SeqCst);

    let server = launch_with_env(binary, &db_url, dir.path(), &env).await;
    until(&a, "every event of A accepted", |got| {
        let accepted: BTreeSet<_> = got
            .iter()
            .filter(|g| g.accepted)
            .map(|g| key_of(g).0)
            .collect();
        expected_a.is_subset(&accepted)
    })
    .await;
    until(&b, "the event of B accepted", |got| {
        got.iter().any(|g| g.accepted)
    })
    .await;
    // One more overdue pass and a few more polls of the outbox: nothing more arrives.
    tokio::time::sleep(Duration::from_secs(3)).await;
    drop(server);

    let got_a = a.all();
    let mut accepted: BTreeMap<String, usize> = BTreeMap::new();
    let mut ids: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for g in &got_a {
        let (k, id) = key_of(g);
        ids.entry(k).or_default().insert(id.clone());
        if g.accepted {
            *accepted.entry(id).or_default() += 1;
        }
    }
    let kinds: BTreeSet<_> = ids.keys().cloned().collect();
    assert_eq!(kinds, expected_a, "A got exactly the expected events");
    for (k, set) in &ids {
        assert_eq!(set.len(), 1, "{k:?} kept one id across retries: {set:?}");
    }
    assert_eq!(accepted.len(), expected_a.len());
    assert!(
        accepted.values().all(|n| *n == 1),
        "each accepted once: {accepted:?}"
    );
    assert!(
        got_a.iter().any(|g| !g.accepted),
        "some were rejected first and came again"
    );

    let got_b = b.all();
    let b_kinds: Vec<_> = got_b.iter().map(|g| key_of(g).0).collect();
    assert_eq!(
        b_kinds,
        [(ty("contact.completed"), b_id.clone())],
        "B gets its own event only"
    );

    for (g, secret, tenant) in got_a
        .iter()
        .map(|g| (g, SECRET_A, TENANT_A))
        .chain(got_b.iter().map(|g| (g, SECRET_B, TENANT_B)))
    {
        let text = String::from_utf8_lossy(&g.body);
        for clear in [BSN_A, BSN_C, EMAIL, PHONE, "Bel mij"] {
            assert!(!text.contains(clear), "{clear} in an event: {text}");
        }
        assert!(g.headers[":request"].starts_with("POST /hooks HTTP/1.1"));
        assert_eq!(g.headers["content-type"], "application/cloudevents+json");
        let v: serde_json::Value = serde_json::from_slice(&g.body).unwrap();
        assert_eq!(v["specversion"], "1.0");
        assert_eq!(v["source"], format!("urn:nld:midoffice:{tenant}"));
        assert_eq!(v["datacontenttype"], "application/json");
        assert!(v["time"].as_str().is_some_and(|t| t.ends_with('Z')));
        assert!(v["data"].is_object());
        let id = v["id"].as_str().unwrap();
        assert_eq!(g.headers["webhook-id"], id);
        // Standard Webhooks: v1,<base64 HMAC-SHA256 of "id.timestamp.body">.
        let ts = &g.headers["webhook-timestamp"];
        let mut signed = format!("{id}.{ts}.").into_bytes();
        signed.extend_from_slice(&g.body);
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
        let sig = g.headers["webhook-signature"]
            .strip_prefix("v1,")
            .expect("a v1 signature");
        ring::hmac::verify(&key, &signed, &B64.decode(sig).unwrap())
            .unwrap_or_else(|_| panic!("the signature of {id} does not verify"));
    }
    // The overdue and the fulfilment say what the worklist would.
    let body_of = |kind: &str, subject: &str| -> serde_json::Value {
        let g = got_a
            .iter()
            .find(|g| key_of(g).0 == (ty(kind), subject.to_owned()))
            .unwrap();
        serde_json::from_slice(&g.body).unwrap()
    };
    let overdue = body_of("commitment.overdue", &open_id);
    assert_eq!(overdue["data"]["kind"], "CALLBACK");
    assert_eq!(overdue["data"]["department"], "burgerzaken");
    let fulfilled = body_of("commitment.fulfilled", &kept_id);
    assert_eq!(fulfilled["data"]["fulfilled_by_contact_id"], call_id);
    assert_eq!(fulfilled["data"]["on_time"], true);
    // The retention pass takes the events before the horizon with it (24 months after
    // March 2026), and runs cleanly over the outbox (with the server's configuration,
    // ./midoffice.toml, which it reads and checks as well).
    let out = std::process::Command::new(binary)
        .env_clear()
        .env("HOOK_B_SECRET", SECRET_B)
        .current_dir(dir.path())
        .args(["retention", "run", "--database-url", &db_url])
        .args(["--as-of", "2028-06-01T00:00:00Z"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", common::said(&out));
    let said = common::said(&out);
    assert!(said.contains(&format!("{TENANT_A}\t2\t3\t2\t")), "{said}");
    assert!(
        said.lines().next().is_some_and(|h| h.ends_with("\tevents")),
        "{said}"
    );
    assert!(said.contains("\t7\n"), "A's seven events go: {said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_on_sqlite_arrive_once_signed_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("events.db").display()
    );
    scenario(url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(postgres_skipped, ignore = "no MIDOFFICE_TEST_DATABASE_URL")]
async fn events_on_postgresql_arrive_once_signed_across_a_restart() {
    let TestDatabase::Postgres(base_url) = TestDatabase::postgres() else {
        unreachable!("TestDatabase::postgres is PostgreSQL");
    };
    on_scratch_postgres(&base_url, |url, _| scenario(url)).await;
}
