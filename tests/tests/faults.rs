//! Under faults: a stalled database answers UNAVAILABLE within the store's timeouts and
//! a caller's deadline DEADLINE_EXCEEDED (not CANCELLED after 30 s), with nothing
//! half-stored; bytes that are not a request answer INVALID_ARGUMENT, and an oversized
//! message RESOURCE_EXHAUSTED, each with its ErrorInfo reason. Real stalls (a write lock
//! held by another connection) and raw bytes over a real socket.

use std::pin::Pin;

use http_body_util::Full;
use midoffice_domain::TenantId;
use midoffice_domain::identifier::{Identifier, IdentifierKind, Pseudonymiser};
use midoffice_scenarios::scratch::test_secret;
use midoffice_tests::pb::contact_service_client::ContactServiceClient;
use midoffice_tests::pb::figure_service_client::FigureServiceClient;
use midoffice_tests::pb::{self, Channel};
use midoffice_tests::{
    Backend, Kind, TENANT, TestDatabase, assert_code, bsn, database_test, on_backend, period_2026,
    request, start,
};
use sea_orm::sqlx::{self, Connection};
use tonic::Code;
use tonic::codegen::{Bytes, Service, http};
use tonic_types::StatusExt;

/// The ErrorInfo reason of a status.
fn reason(status: &tonic::Status) -> String {
    status
        .get_error_details()
        .error_info()
        .map(|i| i.reason.clone())
        .unwrap_or_else(|| panic!("no ErrorInfo in {status:?}"))
}

fn start_request(request_id: &str) -> pb::StartContactRequest {
    pb::StartContactRequest {
        request_id: request_id.to_owned(),
        start: Some(start(
            Channel::Phone,
            "2026-03-09T10:00:00+01:00",
            Some(bsn("999990032")),
            "parkeervergunning",
        )),
    }
}

/// Another connection holding what a write for the citizen of [`start_request`] needs:
/// SQLite's write lock (`BEGIN IMMEDIATE`), or on PostgreSQL the advisory lock of the
/// citizen's BSN.
enum HeldLock {
    Sqlite(rusqlite::Connection),
    Postgres(sqlx::PgConnection),
}

async fn hold_write_lock(b: &Backend) -> HeldLock {
    match b.kind {
        Kind::Sqlite => {
            let file = b.sqlite_file().expect("a SQLite file");
            let c = rusqlite::Connection::open(file).expect("a second SQLite connection");
            c.execute_batch("BEGIN IMMEDIATE").expect("the write lock");
            HeldLock::Sqlite(c)
        }
        Kind::Postgres => {
            let mut c = sqlx::PgConnection::connect(b.db_url())
                .await
                .expect("a second PostgreSQL connection");
            let tenant = TenantId::parse(TENANT).expect("a tenant id");
            let bsn = Identifier::parse(IdentifierKind::Bsn, "999990032").expect("a BSN");
            let key = Pseudonymiser::new(&test_secret()).key(&bsn);
            sqlx::query("SELECT pg_advisory_lock($1)")
                .bind(midoffice_store::identifier_lock_key(&tenant, &key))
                .execute(&mut c)
                .await
                .expect("the BSN's advisory lock");
            HeldLock::Postgres(c)
        }
    }
}

impl HeldLock {
    async fn release(self) {
        match self {
            HeldLock::Sqlite(c) => {
                c.execute_batch("ROLLBACK").expect("release the write lock");
                c.close().map_err(|(_, e)| e).expect("close");
            }
            HeldLock::Postgres(c) => c.close().await.expect("close (releases the lock)"),
        }
    }
}

database_test!(
    a_stalled_database_is_unavailable_and_a_deadline_is_deadline_exceeded,
    flavor = "multi_thread",
    worker_threads = 2
);
async fn a_stalled_database_is_unavailable_and_a_deadline_is_deadline_exceeded(
    database: TestDatabase,
) {
    on_backend(database, |b| async move {
        let lock = hold_write_lock(&b).await;

        // Without a deadline: the store gives up waiting (busy or lock timeout).
        let answer = b
            .contacts()
            .start_contact(request(TENANT, start_request("stalled-1")))
            .await;
        let status = assert_code(answer, Code::Unavailable, &["999990032"]);
        assert_eq!(reason(&status), "STORE_UNAVAILABLE");

        // With the caller's deadline shorter than the store's timeouts (5 s).
        // The server answers a tenth ahead of the deadline (here 200 ms), so its answer
        // comes before the client's own timer even on a busy machine.
        let mut call = request(TENANT, start_request("stalled-2"));
        call.metadata_mut()
            .insert("grpc-timeout", "2S".parse().expect("a header value"));
        let answer = b.contacts().start_contact(call).await;
        let status = assert_code(answer, Code::DeadlineExceeded, &["999990032"]);
        assert_eq!(reason(&status), "DEADLINE_EXCEEDED");

        // Figures read through their own connections and do not wait for writers.
        assert_eq!(b.contact_count(TENANT).await, 0, "nothing half-stored");

        lock.release().await;

        // The same requests, retried, are carried out once each.
        for id in ["stalled-1", "stalled-2", "stalled-1"] {
            b.contacts()
                .start_contact(request(TENANT, start_request(id)))
                .await
                .unwrap_or_else(|s| panic!("the retry of {id} failed: {s:?}"));
        }
        assert_eq!(b.contact_count(TENANT).await, 2);
    })
    .await;
}

database_test!(
    writers_and_readers_progress_together_and_a_locked_write_lets_reads_go_on,
    flavor = "multi_thread",
    worker_threads = 1
);
/// One worker thread runs the server and the callers: on SQLite every statement runs on
/// the thread of its call, so a wait that blocked the thread (SQLite's own busy wait)
/// would stop every other call until it ended.
async fn writers_and_readers_progress_together_and_a_locked_write_lets_reads_go_on(
    database: TestDatabase,
) {
    on_backend(database, |b| async move {
        const WRITERS: usize = 2;
        const WRITES: usize = 10;
        const READERS: usize = 8;
        const READS: usize = 10;
        // Two writers and eight readers at once, each caller on a connection of its own.
        let mut callers = Vec::new();
        for w in 0..WRITERS {
            let mut client = ContactServiceClient::new(b.new_channel().await);
            callers.push(tokio::spawn(async move {
                for i in 0..WRITES {
                    let start = pb::StartContactRequest {
                        request_id: format!("writer-{w}-{i}"),
                        start: Some(start(
                            Channel::Counter,
                            "2026-03-09T11:00:00+01:00",
                            None,
                            "paspoort",
                        )),
                    };
                    client
                        .start_contact(request(TENANT, start))
                        .await
                        .unwrap_or_else(|s| panic!("writer {w}, start {i}: {s:?}"));
                }
            }));
        }
        for r in 0..READERS {
            let mut client = FigureServiceClient::new(b.new_channel().await);
            callers.push(tokio::spawn(async move {
                for i in 0..READS {
                    let ask = pb::GetFiguresRequest {
                        period: Some(period_2026()),
                        ..Default::default()
                    };
                    client
                        .get_figures(request(TENANT, ask))
                        .await
                        .unwrap_or_else(|s| panic!("reader {r}, read {i}: {s:?}"));
                }
            }));
        }
        for caller in callers {
            caller.await.expect("a caller panicked");
        }
        assert_eq!(
            b.contact_count(TENANT).await,
            (WRITERS * WRITES) as u64,
            "every write stored once"
        );

        // A write waiting for a lock another process holds: reads are answered while it
        // waits, and it answers UNAVAILABLE within the store's bound.
        let lock = hold_write_lock(&b).await;
        let mut client = ContactServiceClient::new(b.new_channel().await);
        let write = tokio::spawn(async move {
            client
                .start_contact(request(TENANT, start_request("locked-1")))
                .await
        });
        let mut reads_meanwhile = 0;
        while !write.is_finished() {
            assert_eq!(b.contact_count(TENANT).await, (WRITERS * WRITES) as u64);
            reads_meanwhile += 1;
        }
        let answer = write.await.expect("the write's task");
        let status = assert_code(answer, Code::Unavailable, &["999990032"]);
        assert_eq!(reason(&status), "STORE_UNAVAILABLE");
        // The write waits up to five seconds; a read takes milliseconds. Had the wait
        // held the one thread, no read would have been answered before it ended (one
        // at most, sent before it began).
        assert!(
            reads_meanwhile >= 5,
            "only {reads_meanwhile} reads answered while a write waited for a lock"
        );
        lock.release().await;
        b.contacts()
            .start_contact(request(TENANT, start_request("locked-1")))
            .await
            .expect("the write, retried after the lock was released");
    })
    .await;
}

/// The path of StartContact.
const START_CONTACT: &str = "/midoffice.v1.ContactService/StartContact";

/// One gRPC frame: the compression flag, the length the prefix claims, the bytes.
fn frame(flag: u8, claimed_len: u32, bytes: &[u8]) -> Vec<u8> {
    let mut f = vec![flag];
    f.extend_from_slice(&claimed_len.to_be_bytes());
    f.extend_from_slice(bytes);
    f
}

/// Sends `body` as the whole request body of a call to `path` on a connection of its
/// own, and returns the status the server answered (from the headers of a
/// trailers-only answer, or from the trailers).
async fn raw_call(b: &Backend, path: &str, body: Vec<u8>) -> tonic::Status {
    let mut channel = b.new_channel().await;
    let call = http::Request::builder()
        .method("POST")
        .uri(format!("{}{path}", b.url()))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .header("x-tenant", TENANT)
        .body(tonic::body::Body::new(Full::new(Bytes::from(body))))
        .expect("a request");
    std::future::poll_fn(|cx| channel.poll_ready(cx))
        .await
        .expect("the channel is ready");
    let response = channel.call(call).await.expect("an HTTP answer");
    if let Some(status) = tonic::Status::from_header_map(response.headers()) {
        return status;
    }
    let mut body = response.into_body();
    loop {
        let frame =
            std::future::poll_fn(|cx| tonic::codegen::Body::poll_frame(Pin::new(&mut body), cx))
                .await;
        match frame {
            Some(Ok(frame)) => {
                if let Ok(trailers) = frame.into_trailers() {
                    return tonic::Status::from_header_map(&trailers)
                        .expect("trailers with a grpc-status");
                }
            }
            Some(Err(e)) => panic!("the answer broke off: {e:?}"),
            None => panic!("an answer without a status"),
        }
    }
}

database_test!(bad_bytes_are_invalid_argument_and_too_many_resource_exhausted);
async fn bad_bytes_are_invalid_argument_and_too_many_resource_exhausted(database: TestDatabase) {
    on_backend(database, |b| async move {
        // Field 1 (request_id, a string) sent as a varint; then a tag that never ends.
        let wrong_wire_type = [0x08, 0x01];
        let endless_varint = [0xff, 0xff, 0xff, 0xff];
        let cases: Vec<(&str, Vec<u8>, Code, &str)> = vec![
            (
                "a wrong wire type",
                frame(0, 2, &wrong_wire_type),
                Code::InvalidArgument,
                "MALFORMED_MESSAGE",
            ),
            (
                "a varint that never ends",
                frame(0, 4, &endless_varint),
                Code::InvalidArgument,
                "MALFORMED_MESSAGE",
            ),
            (
                "a frame shorter than its prefix says",
                frame(0, 100, &[0x0a, 0x02, b'a']),
                Code::InvalidArgument,
                "MALFORMED_MESSAGE",
            ),
            (
                "half a prefix",
                vec![0, 0, 0],
                Code::InvalidArgument,
                "MALFORMED_MESSAGE",
            ),
            (
                "no message at all",
                Vec::new(),
                Code::InvalidArgument,
                "MALFORMED_MESSAGE",
            ),
            (
                "compression flag 7",
                frame(7, 2, &[0x0a, 0x00]),
                Code::InvalidArgument,
                "MALFORMED_MESSAGE",
            ),
            (
                "compressed without grpc-encoding",
                frame(1, 2, &[0x0a, 0x00]),
                Code::InvalidArgument,
                "MALFORMED_MESSAGE",
            ),
            (
                "a prefix claiming 2 MiB",
                frame(0, 2 * 1024 * 1024, &[0x0a, 0x00]),
                Code::ResourceExhausted,
                "MESSAGE_TOO_LARGE",
            ),
            (
                "a prefix claiming 4 GiB",
                frame(0, u32::MAX, &[]),
                Code::ResourceExhausted,
                "MESSAGE_TOO_LARGE",
            ),
        ];
        for (what, body, code, why) in cases {
            let status = raw_call(&b, START_CONTACT, body).await;
            assert_eq!(status.code(), code, "{what}: {status:?}");
            assert_eq!(reason(&status), why, "{what}: {status:?}");
        }

        // A real message over the limit: a request id of 1.5 MB.
        let mut big = start_request("");
        big.request_id = "x".repeat(1_500_000);
        let answer = b.contacts().start_contact(request(TENANT, big)).await;
        let status = assert_code(answer, Code::ResourceExhausted, &[]);
        assert_eq!(reason(&status), "MESSAGE_TOO_LARGE");

        // Nothing was stored, and the server still answers.
        assert_eq!(b.contact_count(TENANT).await, 0);
        b.contacts()
            .start_contact(request(TENANT, start_request("after-bad-bytes")))
            .await
            .expect("a valid call after the bad ones");
        assert_eq!(b.contact_count(TENANT).await, 1);
    })
    .await;
}

/// A TCP proxy between a server and PostgreSQL that can fall silent: once armed, the
/// first message from the server that contains `trigger` (a `BEGIN`: the connection has
/// already been taken from the pool) pauses it, and then no byte goes either way on
/// any connection until [`StallingProxy::resume`]. What was read during the pause is
/// held and forwarded after it, as a network that drops nothing but stalls.
struct StallingProxy {
    addr: std::net::SocketAddr,
    state: std::sync::Arc<ProxyState>,
    task: tokio::task::JoinHandle<()>,
}

struct ProxyState {
    paused: tokio::sync::watch::Sender<bool>,
    trigger: std::sync::Mutex<Option<&'static [u8]>>,
}

impl ProxyState {
    async fn running(&self) {
        let mut paused = self.paused.subscribe();
        let _ = paused.wait_for(|p| !*p).await;
    }

    /// Pauses when `bytes` (from the server to PostgreSQL) are what it was armed for.
    fn check(&self, bytes: &[u8]) {
        let mut trigger = self.trigger.lock().unwrap_or_else(|e| e.into_inner());
        if trigger.is_some_and(|t| bytes.windows(t.len()).any(|w| w == t)) {
            *trigger = None;
            self.paused.send_replace(true);
        }
    }
}

impl StallingProxy {
    async fn start(target: std::net::SocketAddr) -> StallingProxy {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .expect("a port for the proxy");
        let addr = listener.local_addr().expect("the proxy's address");
        let state = std::sync::Arc::new(ProxyState {
            paused: tokio::sync::watch::Sender::new(false),
            trigger: std::sync::Mutex::new(None),
        });
        let accepting = std::sync::Arc::clone(&state);
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = tokio::net::TcpStream::connect(target).await else {
                    continue;
                };
                let (cr, cw) = client.into_split();
                let (sr, sw) = server.into_split();
                tokio::spawn(pump(cr, sw, std::sync::Arc::clone(&accepting), true));
                tokio::spawn(pump(sr, cw, std::sync::Arc::clone(&accepting), false));
            }
        });
        StallingProxy { addr, state, task }
    }

    /// The next message to PostgreSQL containing `trigger` stalls every connection.
    fn arm(&self, trigger: &'static [u8]) {
        *self.state.trigger.lock().unwrap_or_else(|e| e.into_inner()) = Some(trigger);
    }

    fn is_paused(&self) -> bool {
        *self.state.paused.borrow()
    }

    fn resume(&self) {
        self.state.paused.send_replace(false);
    }
}

impl Drop for StallingProxy {
    fn drop(&mut self) {
        self.resume();
        self.task.abort();
    }
}

/// Forwards one direction of a proxied connection, standing still while paused.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    state: std::sync::Arc<ProxyState>,
    to_database: bool,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        state.running().await;
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if to_database {
            state.check(&buf[..n]);
        }
        state.running().await;
        if to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}

/// The host and port of a PostgreSQL URL (`postgres://user@host:port/db`), and the
/// URL with them replaced by `addr`.
fn split_host(db_url: &str) -> (&str, &str, &str) {
    let (head, rest) = db_url.rsplit_once('@').expect("a URL with a user");
    let (host_port, path) = rest.split_once('/').expect("a URL with a database");
    (head, host_port, path)
}

async fn postgres_addr(db_url: &str) -> std::net::SocketAddr {
    let (_, host_port, _) = split_host(db_url);
    tokio::net::lookup_host(host_port)
        .await
        .expect("PostgreSQL's address")
        .next()
        .expect("an address")
}

fn proxied(db_url: &str, addr: std::net::SocketAddr) -> String {
    let (head, _, path) = split_host(db_url);
    // Without TLS, so the proxy sees what it waits for.
    let join = if path.contains('?') { '&' } else { '?' };
    format!("{head}@{addr}/{path}{join}sslmode=disable")
}

/// PostgreSQL only: a frozen network exists only between a server and PostgreSQL; SQLite
/// is a file in the process (its stalls are the write lock, tested above). Without
/// PostgreSQL configured it is listed as ignored, like every PostgreSQL half.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(postgres_skipped, ignore = "no MIDOFFICE_TEST_DATABASE_URL")]
async fn a_silent_postgresql_answers_unavailable_before_the_call_limit_and_then_serves_again() {
    on_backend(TestDatabase::postgres(), |b| async move {
        assert_eq!(b.kind, Kind::Postgres);
        // A second server over the same database, connected through the proxy.
        let target = postgres_addr(b.db_url()).await;
        let proxy = StallingProxy::start(target).await;
        let proxied_url = proxied(b.db_url(), proxy.addr);
        let store = midoffice_store::Store::connect(&proxied_url)
            .await
            .expect("a store through the proxy");
        let server = midoffice_api::server::spawn(midoffice_api::server::AppState {
            store,
            pseudonymiser: midoffice_domain::identifier::Pseudonymiser::new(
                &midoffice_scenarios::scratch::test_secret(),
            ),
            access: midoffice_tests::Access::default(),
            cors: Default::default(),
            benchmark: Default::default(),
        })
        .await
        .expect("a server through the proxy");
        let channel = tonic::transport::Endpoint::from_shared(server.url())
            .expect("a URL")
            .connect()
            .await
            .expect("a channel to the second server");
        let mut contacts = pb::contact_service_client::ContactServiceClient::new(channel);

        // The network falls silent once the write's transaction has begun: no error,
        // no answer. Without a bound of its own the call would wait for the API's 30 s
        // limit (DEADLINE_EXCEEDED).
        proxy.arm(b"BEGIN");
        let answer = contacts
            .start_contact(request(TENANT, start_request("silent-1")))
            .await;
        assert!(
            proxy.is_paused(),
            "the write reached the database's silence: {answer:?}"
        );
        let status = assert_code(answer, Code::Unavailable, &["999990032"]);
        assert_eq!(reason(&status), "STORE_UNAVAILABLE");

        // The network comes back: nothing of the abandoned write was stored.
        proxy.resume();
        assert_eq!(b.contact_count(TENANT).await, 0, "nothing half-stored");

        // And the server through the proxy serves again: the retry is carried out once.
        for _ in 0..2 {
            contacts
                .start_contact(request(TENANT, start_request("silent-1")))
                .await
                .unwrap_or_else(|s| panic!("the retry failed: {s:?}"));
        }
        assert_eq!(b.contact_count(TENANT).await, 1);
        server.stop().await;
    })
    .await;
}

database_test!(a_header_list_over_16_kib_is_refused_and_the_connection_serves_on);
async fn a_header_list_over_16_kib_is_refused_and_the_connection_serves_on(database: TestDatabase) {
    on_backend(database, |b| async move {
        let mut call = request(TENANT, start_request("headers-1"));
        call.metadata_mut().insert(
            "x-padding",
            "a".repeat(20 * 1024).parse().expect("a header value"),
        );
        let answer = b.contacts().start_contact(call).await;
        assert!(answer.is_err(), "a 20 KiB header was accepted: {answer:?}");
        // Within the limit: served (on the same channel).
        let mut call = request(TENANT, start_request("headers-2"));
        call.metadata_mut().insert(
            "x-padding",
            "a".repeat(8 * 1024).parse().expect("a header value"),
        );
        b.contacts()
            .start_contact(call)
            .await
            .unwrap_or_else(|s| panic!("an 8 KiB header was refused: {s:?}"));
        assert_eq!(
            b.contact_count(TENANT).await,
            1,
            "only the call within the limit"
        );
    })
    .await;
}
