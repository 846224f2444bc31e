//! `server.max_connection_age_seconds`: past its age a client's connection is told to go
//! (HTTP/2 GOAWAY), so a client opens a new one, which a load balancer may send to a
//! replica added since; a gRPC client carries on over its new connection. The real
//! binary, on SQLite, spoken to over a raw HTTP/2 connection to see the frame itself.

use std::path::Path;
use std::time::Duration;

use midoffice_scenarios::ScratchDb;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

mod common;
use common::{channel, launch_with_env};

/// HTTP/2 frame types (RFC 9113, section 6).
const SETTINGS: u8 = 0x4;
const GOAWAY: u8 = 0x7;
/// The SETTINGS flag that acknowledges the peer's settings.
const ACK: u8 = 0x1;

/// A frame header: length, type, flags, stream 0.
fn frame(kind: u8, flags: u8) -> [u8; 9] {
    [0, 0, 0, kind, flags, 0, 0, 0, 0]
}

/// Opens an HTTP/2 connection (prior knowledge) to `addr`, answers the server's
/// settings, and reads frames until a GOAWAY (`true`) or the end of the connection
/// (`false`).
async fn goaway_before_close(addr: &str) -> bool {
    let mut tcp = TcpStream::connect(addr).await.expect("a connection");
    tcp.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        .await
        .expect("the preface");
    tcp.write_all(&frame(SETTINGS, 0))
        .await
        .expect("our settings");
    loop {
        let mut header = [0u8; 9];
        if tcp.read_exact(&mut header).await.is_err() {
            return false;
        }
        let length =
            usize::from(header[0]) << 16 | usize::from(header[1]) << 8 | usize::from(header[2]);
        let mut payload = vec![0u8; length];
        if tcp.read_exact(&mut payload).await.is_err() {
            return false;
        }
        match header[3] {
            GOAWAY => return true,
            SETTINGS if header[4] & ACK == 0 => {
                // Unacknowledged settings would end the connection after a while too.
                let _ = tcp.write_all(&frame(SETTINGS, ACK)).await;
            }
            _ => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_past_its_age_is_told_to_go_and_a_client_carries_on() {
    let db = ScratchDb::sqlite().await.expect("a scratch database");
    let dir = tempfile::tempdir().expect("a temp folder");
    let server = launch_with_env(
        Path::new(env!("CARGO_BIN_EXE_midoffice")),
        &db.url,
        dir.path(),
        &[("MIDOFFICE__SERVER__MAX_CONNECTION_AGE_SECONDS", "1")],
    )
    .await;
    let addr = server.url.trim_start_matches("http://").to_owned();
    // A bound on the wait only (the age is a second): a server that never sends GOAWAY
    // fails here rather than hanging.
    let told = tokio::time::timeout(Duration::from_secs(60), goaway_before_close(&addr))
        .await
        .expect("the connection neither got a GOAWAY nor ended within a minute");
    assert!(told, "the connection ended without a GOAWAY");

    // A gRPC client's calls go on across its connection's age: it connects again.
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel(&server.url).await);
    for _ in 0..3 {
        health
            .check(tonic_health::pb::HealthCheckRequest::default())
            .await
            .expect("a call on a connection past its age, or on the next one");
        tokio::time::sleep(Duration::from_millis(1500)).await;
    }
}
