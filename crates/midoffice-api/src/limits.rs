//! What one server holds at most, and what a caller sees when it is reached
//! (`docs/operations/limits.md` has the numbers and the client's side).
//!
//! - **Budgets.** Figure calls (dashboards) run at most [`FIGURE_CALLS`] at a time, and
//!   every other call at most [`OTHER_CALLS`]; a call waits for its budget at most
//!   [`FIGURE_WAIT`] or [`OTHER_WAIT`] (and never past its deadline), then answers
//!   RESOURCE_EXHAUSTED. A storm of dashboards so fills only its own budget (and its
//!   own database connections, see the store), and agents' contact calls keep theirs.
//! - **Deadlines.** A call ends just before the caller's `grpc-timeout` (see
//!   [`ahead_of_caller`]) or after [`LONGEST_CALL`], whichever is first, with
//!   DEADLINE_EXCEEDED; the work in progress is dropped (its transaction rolls back).
//! - **Bad bytes.** What tonic's framing decoder answers INTERNAL or OUT_OF_RANGE about a
//!   request (a truncated frame, a bad compression flag, a length over
//!   [`MAX_MESSAGE_BYTES`]) is rewritten into INVALID_ARGUMENT (reason
//!   `MALFORMED_MESSAGE`) or RESOURCE_EXHAUSTED (reason `MESSAGE_TOO_LARGE`); invalid
//!   protobuf is mapped where it is decoded ([`crate::codec`]).
//! - **Memory.** At most [`MAX_CONNECTIONS`] connections are accepted (more wait in the
//!   kernel's backlog); each holds at most [`CONNECTION_WINDOW`] bytes that no call has
//!   read yet (HTTP/2 flow control) and [`MAX_HEADER_LIST_BYTES`] of headers a stream,
//!   or on HTTP/1 (gRPC-Web) at most [`HTTP1_READ_BUFFER`]; a running call holds at
//!   most one message of [`MAX_MESSAGE_BYTES`] and its decoded form. See
//!   [`REQUEST_MEMORY_BOUND`].
//!   The JSON API reads bodies before its calls reach these budgets; it has a bound
//!   of its own ([`crate::json::JSON_CALLS`] bodies of [`crate::json::MAX_BODY_BYTES`]).

use crate::error::{
    FIGURES_BUSY, SERVER_BUSY, busy_status, deadline_status, malformed_status, too_large_status,
};
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio_stream::wrappers::ReceiverStream;
use tonic::Code;
use tonic::body::Body;
use tonic::codegen::http;
use tonic::transport::server::{Connected, TcpConnectInfo};

/// The largest request message, in bytes. The largest valid request is a tenant's
/// settings with every norm at its longest (about 0.9 MB, see `midoffice_domain::limits`).
pub const MAX_MESSAGE_BYTES: usize = 1024 * 1024;
/// Figure calls running at one time (each holds one connection of the figures' own pool).
pub const FIGURE_CALLS: usize = 4;
/// How long a figure call waits for the figures' budget before RESOURCE_EXHAUSTED.
pub const FIGURE_WAIT: Duration = Duration::from_secs(2);
/// Other calls running at one time.
pub const OTHER_CALLS: usize = 64;
/// How long another call waits for its budget before RESOURCE_EXHAUSTED.
pub const OTHER_WAIT: Duration = Duration::from_secs(5);
/// The longest any call may take; a shorter `grpc-timeout` of the caller wins.
pub const LONGEST_CALL: Duration = Duration::from_secs(30);
/// Connections served at one time.
pub const MAX_CONNECTIONS: usize = 256;
/// Concurrent requests (HTTP/2 streams) per connection; any more are refused at once.
pub const STREAMS_PER_CONNECTION: u32 = 64;
/// Bytes a connection may have received and not yet handed to a call (HTTP/2 window).
pub const CONNECTION_WINDOW: u32 = 256 * 1024;
/// Bytes one stream may have received and not yet handed to its call.
pub const STREAM_WINDOW: u32 = 64 * 1024;
/// The largest header list (HTTP/2 `SETTINGS_MAX_HEADER_LIST_SIZE`, names and values
/// decoded plus 32 bytes an entry) of one request; more is refused before any call
/// begins. Room for a long bearer token and trace headers.
pub const MAX_HEADER_LIST_BYTES: u32 = 16 * 1024;
/// The most an HTTP/1 connection (gRPC-Web) buffers while it reads a request's head and
/// body: hyper's default read buffer limit (8 KiB + 100 × 4 KiB), which tonic keeps.
pub const HTTP1_READ_BUFFER: usize = 8192 + 4096 * 100;
/// What one connection holds of requests no call has read yet: on HTTP/2 its window
/// and the headers of each of its streams, on HTTP/1 its read buffer (a connection is
/// one or the other).
pub const CONNECTION_HOLDS: usize = {
    let http2 = CONNECTION_WINDOW as usize
        + STREAMS_PER_CONNECTION as usize * MAX_HEADER_LIST_BYTES as usize;
    if http2 > HTTP1_READ_BUFFER {
        http2
    } else {
        HTTP1_READ_BUFFER
    }
};
/// The request memory the server holds at most, in bytes: what every connection holds
/// ([`CONNECTION_HOLDS`]), plus a message and its decoded form for every running call.
/// With the numbers above: 256 × (256 KiB + 64 × 16 KiB) + 68 × 2 MiB = 320 MiB +
/// 136 MiB = 456 MiB. (Answers are bounded by the API's own limits, under 1 MB each.)
pub const REQUEST_MEMORY_BOUND: usize =
    MAX_CONNECTIONS * CONNECTION_HOLDS + (FIGURE_CALLS + OTHER_CALLS) * 2 * MAX_MESSAGE_BYTES;

/// The path prefix of the figure service's calls.
const FIGURES_PATH: &str = "/midoffice.v1.FigureService/";
/// The path prefix of the benchmark service's calls: figures too, in the same budget.
const BENCHMARK_PATH: &str = "/midoffice.v1.BenchmarkService/";
/// The gRPC health service's calls (the probes): in no budget.
const HEALTH_PATH: &str = "/grpc.health.v1.Health/";

/// The budgets shared by every connection of one server.
#[derive(Clone, Debug)]
pub struct Budgets {
    figures: Arc<Semaphore>,
    other: Arc<Semaphore>,
}

impl Default for Budgets {
    fn default() -> Self {
        Self {
            figures: Arc::new(Semaphore::new(FIGURE_CALLS)),
            other: Arc::new(Semaphore::new(OTHER_CALLS)),
        }
    }
}

/// The tower layer that puts every call under its budget and deadline, and rewrites
/// the decoder's statuses about bad bytes (see the module docs).
#[derive(Clone, Debug, Default)]
pub struct GuardLayer {
    budgets: Budgets,
}

impl<S> tower_layer::Layer<S> for GuardLayer {
    type Service = Guard<S>;
    fn layer(&self, inner: S) -> Guard<S> {
        Guard {
            inner,
            budgets: self.budgets.clone(),
        }
    }
}

/// See [`GuardLayer`].
#[derive(Clone, Debug)]
pub struct Guard<S> {
    inner: S,
    budgets: Budgets,
}

/// The caller's `grpc-timeout` (gRPC over HTTP/2: up to 8 digits and a unit); `None`
/// when absent or not understood (then only [`LONGEST_CALL`] applies).
fn grpc_timeout(headers: &http::HeaderMap) -> Option<Duration> {
    let value = headers.get("grpc-timeout")?.to_str().ok()?;
    let (digits, unit) = value.split_at(value.len().checked_sub(1)?);
    if digits.is_empty() || digits.len() > 8 {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n.saturating_mul(3600)),
        "M" => Duration::from_secs(n.saturating_mul(60)),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

/// How much earlier than the caller's deadline the server gives up: a tenth of it,
/// between 5 ms and 1 s. tonic's own `grpc-timeout` timer (outside every layer) would
/// answer CANCELLED, and the caller's own timer fires at the deadline, counted from
/// before the request travelled: answering ahead of both, the caller gets our
/// DEADLINE_EXCEEDED with its reason. Work the caller will not wait for is no use.
fn ahead_of_caller(deadline: Duration) -> Duration {
    (deadline / 10).clamp(Duration::from_millis(5), Duration::from_secs(1))
}

/// A status about the request's bytes that tonic's decoder answered, as we answer it.
fn rewrite(status: &tonic::Status) -> Option<tonic::Status> {
    let message = status.message();
    match status.code() {
        Code::OutOfRange if message.starts_with("Error, decoded message length too large") => {
            Some(too_large_status(MAX_MESSAGE_BYTES))
        }
        Code::ResourceExhausted if message.starts_with("Error decompressing: size limit") => {
            Some(too_large_status(MAX_MESSAGE_BYTES))
        }
        Code::Internal
            if message.starts_with("protocol error: received message with")
                || message.starts_with("Unexpected EOF decoding stream")
                || message.starts_with("Missing request message")
                || message.starts_with("Error decompressing") =>
        {
            // tonic's texts name a flag or a length, never request data.
            Some(malformed_status(message))
        }
        _ => None,
    }
}

/// Rewrites a trailers-only error answer (the status in the headers) whose status
/// [`rewrite`] knows.
fn rewrite_response(response: http::Response<Body>) -> http::Response<Body> {
    let Some(status) = tonic::Status::from_header_map(response.headers()) else {
        return response;
    };
    if status.code() == Code::Ok {
        return response;
    }
    match rewrite(&status) {
        Some(ours) => {
            tracing::debug!(code = ?status.code(), message = status.message(), "bad request bytes");
            ours.into_http()
        }
        None => response,
    }
}

impl<S, B> tower_service::Service<http::Request<B>> for Guard<S>
where
    S: tower_service::Service<http::Request<B>, Response = http::Response<Body>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    B: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future =
        Pin<Box<dyn std::future::Future<Output = Result<Self::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        // The service that was ready is the one that is called (tower's contract).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let timeout = grpc_timeout(request.headers())
            .map(|t| t.saturating_sub(ahead_of_caller(t)))
            .map_or(LONGEST_CALL, |t| t.min(LONGEST_CALL));
        if request.uri().path().starts_with(HEALTH_PATH) {
            // A probe asks whether the process serves, not for a place among the calls:
            // it takes none, so that a busy server is not restarted as a broken one.
            return Box::pin(async move {
                match tokio::time::timeout(timeout, inner.call(request)).await {
                    Ok(answer) => answer.map(rewrite_response),
                    Err(_) => Ok(deadline_status(timeout).into_http()),
                }
            });
        }
        let (budget, wait, reason) = if [FIGURES_PATH, BENCHMARK_PATH]
            .iter()
            .any(|p| request.uri().path().starts_with(p))
        {
            (self.budgets.figures.clone(), FIGURE_WAIT, FIGURES_BUSY)
        } else {
            (self.budgets.other.clone(), OTHER_WAIT, SERVER_BUSY)
        };
        Box::pin(async move {
            let call = async {
                let _permit = match tokio::time::timeout(wait, budget.acquire_owned()).await {
                    Ok(Ok(permit)) => permit,
                    // The semaphores are never closed; a closed one counts as full.
                    Ok(Err(_)) | Err(_) => {
                        tracing::warn!(reason, "a call's budget stayed full");
                        return Ok(busy_status(reason, wait).into_http());
                    }
                };
                inner.call(request).await.map(rewrite_response)
            };
            match tokio::time::timeout(timeout, call).await {
                Ok(answer) => answer,
                Err(_) => Ok(deadline_status(timeout).into_http()),
            }
        })
    }
}

/// An accepted connection holding one of the [`MAX_CONNECTIONS`] places until it closes.
#[derive(Debug)]
pub struct CappedStream {
    stream: TcpStream,
    _place: OwnedSemaphorePermit,
}

impl Connected for CappedStream {
    type ConnectInfo = TcpConnectInfo;
    fn connect_info(&self) -> TcpConnectInfo {
        self.stream.connect_info()
    }
}

impl AsyncRead for CappedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for CappedStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

/// The connections of `listener`, at most [`MAX_CONNECTIONS`] open at a time: the next
/// is accepted only when one has closed (meanwhile it waits in the kernel's backlog).
/// Accepting stops when the returned stream is dropped.
pub fn capped_incoming(listener: TcpListener) -> ReceiverStream<io::Result<CappedStream>> {
    capped_incoming_in(listener, connection_places())
}

/// The [`MAX_CONNECTIONS`] places of one server, to share between its listeners (the
/// gRPC port and the pages' own address), so that the memory bound holds for both.
pub fn connection_places() -> Arc<Semaphore> {
    Arc::new(Semaphore::new(MAX_CONNECTIONS))
}

/// [`capped_incoming`], each connection taking one of `places`.
pub fn capped_incoming_in(
    listener: TcpListener,
    places: Arc<Semaphore>,
) -> ReceiverStream<io::Result<CappedStream>> {
    let (tx, rx) = mpsc::channel(1);
    tokio::spawn(async move {
        loop {
            let place = tokio::select! {
                place = places.clone().acquire_owned() => match place {
                    Ok(place) => place,
                    Err(_) => return,
                },
                () = tx.closed() => return,
            };
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                () = tx.closed() => return,
            };
            let item = accepted.map(|(stream, _)| {
                if let Err(e) = stream.set_nodelay(true) {
                    tracing::debug!(error = %e, "cannot set TCP_NODELAY");
                }
                CappedStream {
                    stream,
                    _place: place,
                }
            });
            if let Err(e) = &item {
                // A failed accept (out of file descriptors) is logged; tonic goes on.
                tracing::warn!(error = %e, "accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
            if tx.send(item).await.is_err() {
                return;
            }
        }
    });
    ReceiverStream::new(rx)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower_service::Service as _;

    /// A service that answers every call at once.
    #[derive(Clone)]
    struct Answers;

    impl tower_service::Service<http::Request<()>> for Answers {
        type Response = http::Response<Body>;
        type Error = std::convert::Infallible;
        type Future = std::future::Ready<Result<http::Response<Body>, Self::Error>>;

        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, _: http::Request<()>) -> Self::Future {
            std::future::ready(Ok(http::Response::new(Body::empty())))
        }
    }

    #[tokio::test]
    async fn a_probe_is_answered_when_every_place_is_taken() {
        let layer = GuardLayer::default();
        let held = layer
            .budgets
            .other
            .clone()
            .acquire_many_owned(OTHER_CALLS as u32)
            .await
            .unwrap();
        let mut guard = tower_layer::Layer::layer(&layer, Answers);
        let call = |path: &str| http::Request::builder().uri(path).body(()).unwrap();
        let probe = guard
            .call(call("/grpc.health.v1.Health/Check"))
            .await
            .unwrap();
        assert!(probe.headers().get("grpc-status").is_none(), "answered");
        let busy = guard
            .call(call("/midoffice.v1.ContactService/StartContact"))
            .await
            .unwrap();
        assert_eq!(
            busy.headers()
                .get("grpc-status")
                .map(|v| v.to_str().unwrap()),
            Some("8"),
            "another call waits for a place, then RESOURCE_EXHAUSTED"
        );
        drop(held);
    }

    fn headers(value: &str) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        h.insert("grpc-timeout", value.parse().expect("a header value"));
        h
    }

    #[test]
    fn grpc_timeout_units() {
        assert_eq!(
            grpc_timeout(&headers("250m")),
            Some(Duration::from_millis(250))
        );
        assert_eq!(grpc_timeout(&headers("3S")), Some(Duration::from_secs(3)));
        assert_eq!(grpc_timeout(&headers("2M")), Some(Duration::from_secs(120)));
        assert_eq!(
            grpc_timeout(&headers("1H")),
            Some(Duration::from_secs(3600))
        );
        assert_eq!(grpc_timeout(&headers("7u")), Some(Duration::from_micros(7)));
        assert_eq!(grpc_timeout(&headers("9n")), Some(Duration::from_nanos(9)));
        for bad in ["", "m", "123456789S", "5x", "-1S", "1.5S"] {
            assert_eq!(grpc_timeout(&headers(bad)), None, "{bad:?}");
        }
    }

    #[test]
    fn the_server_gives_up_a_little_before_the_caller() {
        assert_eq!(
            ahead_of_caller(Duration::from_millis(10)),
            Duration::from_millis(5)
        );
        assert_eq!(
            ahead_of_caller(Duration::from_secs(2)),
            Duration::from_millis(200)
        );
        assert_eq!(
            ahead_of_caller(Duration::from_secs(60)),
            Duration::from_secs(1)
        );
    }

    #[test]
    fn decoder_statuses_become_ours() {
        let too_long = tonic::Status::out_of_range(
            "Error, decoded message length too large: found 9 bytes, the limit is: 1 bytes",
        );
        assert_eq!(
            rewrite(&too_long).map(|s| s.code()),
            Some(Code::ResourceExhausted)
        );
        let flag = tonic::Status::internal(
            "protocol error: received message with invalid compression flag: 7",
        );
        assert_eq!(
            rewrite(&flag).map(|s| s.code()),
            Some(Code::InvalidArgument)
        );
        let eof = tonic::Status::internal("Unexpected EOF decoding stream.");
        assert_eq!(rewrite(&eof).map(|s| s.code()), Some(Code::InvalidArgument));
        // Our own INTERNAL stays INTERNAL.
        let ours = tonic::Status::internal("internal error (reference x)");
        assert!(rewrite(&ours).is_none());
    }

    #[test]
    fn the_memory_bound_is_the_documented_number() {
        // An HTTP/2 connection (window and a full header list on every stream) holds
        // more than an HTTP/1 one (its read buffer).
        assert_eq!(CONNECTION_HOLDS, 256 * 1024 + 64 * 16 * 1024);
        const { assert!(HTTP1_READ_BUFFER < CONNECTION_HOLDS) };
        assert_eq!(REQUEST_MEMORY_BOUND, 456 * 1024 * 1024);
    }
}
