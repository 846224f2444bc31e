//! A minimal HTTP/1.1 client for the pages (the thermometer and the dashboard), served
//! beside gRPC or on their own address: one request per fresh connection, the whole
//! answer read.

use crate::Backend;
use std::io::{Read, Write};

/// An HTTP answer.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Answer {
    /// The first header of this name (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Sends one HTTP/1.1 request with `extra` header lines (each ending in `\r\n`) on a
/// fresh connection to where `b` serves its pages ([`Backend::pages_addr`]) and reads
/// the whole answer.
pub async fn send_with(b: &Backend, method: &str, target: &str, extra: &str) -> Answer {
    send_to(b.pages_addr(), method, target, extra).await
}

/// [`send_with`] to the address `addr` (`127.0.0.1:PORT`), whatever it serves.
pub async fn send_to(addr: &str, method: &str, target: &str, extra: &str) -> Answer {
    send_body(addr, method, target, extra, None).await
}

/// A POST of a form (`application/x-www-form-urlencoded`) to `addr` with `extra`
/// header lines.
pub async fn post_form(addr: &str, target: &str, extra: &str, form: &str) -> Answer {
    let extra = format!("{extra}Content-Type: application/x-www-form-urlencoded\r\n");
    send_body(addr, "POST", target, &extra, Some(form.as_bytes())).await
}

/// [`send_to`] with a body (sent with its `Content-Length`; say its type in `extra`).
pub async fn send_body(
    addr: &str,
    method: &str,
    target: &str,
    extra: &str,
    body: Option<&[u8]>,
) -> Answer {
    let addr = addr.to_owned();
    let length = body.map_or(String::new(), |b| {
        format!("Content-Length: {}\r\n", b.len())
    });
    let mut text = format!(
        "{method} {target} HTTP/1.1\r\nHost: {addr}\r\nAccept: */*\r\n{extra}{length}Connection: close\r\n\r\n"
    )
    .into_bytes();
    text.extend_from_slice(body.unwrap_or_default());
    let raw = tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(&addr).expect("connect");
        s.write_all(&text).expect("write");
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).expect("read");
        raw
    })
    .await
    .expect("the request task");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("an HTTP head");
    let head = String::from_utf8(raw[..split].to_vec()).expect("an ASCII head");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().expect("a status line");
    assert!(status_line.starts_with("HTTP/1.1 "), "{status_line}");
    let status = status_line[9..12].parse().expect("a status code");
    let headers: Vec<(String, String)> = lines
        .map(|l| {
            let (n, v) = l.split_once(':').expect("a header");
            (n.trim().to_owned(), v.trim().to_owned())
        })
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(n, v)| n.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    if chunked {
        body = dechunk(&body);
    }
    Answer {
        status,
        headers,
        body: String::from_utf8(body).expect("a UTF-8 body"),
    }
}

/// [`send_with`] without extra headers.
pub async fn send(b: &Backend, method: &str, target: &str) -> Answer {
    send_with(b, method, target, "").await
}

/// A GET.
pub async fn get(b: &Backend, target: &str) -> Answer {
    send(b, "GET", target).await
}

/// A GET with `extra` header lines.
pub async fn get_with(b: &Backend, target: &str, extra: &str) -> Answer {
    send_with(b, "GET", target, extra).await
}

fn dechunk(mut rest: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let end = rest.windows(2).position(|w| w == b"\r\n").expect("a size");
        let size = usize::from_str_radix(std::str::from_utf8(&rest[..end]).unwrap().trim(), 16)
            .expect("a hex size");
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&rest[end + 2..end + 2 + size]);
        rest = &rest[end + 4 + size..];
    }
}
